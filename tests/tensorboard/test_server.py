"""``dlstudio tensorboard``: TensorBoard started on the run store, each run one TensorBoard run."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pytest

from dlstudio import tensorboard_server
from dlstudio.cli import build_parser, dispatch
from dlstudio.runner import Run
from tests.runs import demo_spec, drive


@pytest.mark.slow
def test_tensorboard_serves_the_store_one_run_per_run_folder(demo_studio):
    run = Run(demo_studio, demo_spec(demo_studio))
    drive(run)
    server = tensorboard_server.start_tensorboard(demo_studio.store.runs_dir)
    try:
        assert tensorboard_server.start_tensorboard(demo_studio.store.runs_dir) is server  # reused, not a second
        with urllib.request.urlopen(f"{server.url}data/plugin/scalars/tags", timeout=30) as reply:
            tags = json.load(reply)
        assert "valid_accuracy" in tags[run.run_id]
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(server.url_for(run.run_id)).query)
        assert query["runFilter"] == [f"^{run.run_id}$"]
    finally:
        server.stop()
    assert not server.running()


def test_without_tensorboard_the_command_says_how_to_get_it(demo_studio, monkeypatch, capsys):
    monkeypatch.setattr(tensorboard_server, "tensorboard_installed", lambda: False)
    argv = ["tensorboard"]
    assert dispatch(build_parser(demo_studio, argv).parse_args(argv), demo_studio) == 2
    assert "pip install tensorboard" in capsys.readouterr().err
