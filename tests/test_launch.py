"""``dlstudio.launch.train``: a plugin's command trains a spec to its end and gets the stored run back."""

from __future__ import annotations

import pytest

from dlstudio import launch, runs
from dlstudio.spec import SpecError
from tests.runs import demo_spec, interrupted_run, metrics_by_epoch


def test_a_spec_dict_trains_to_its_end_and_is_stored(demo_studio, capsys):
    spec = demo_spec(demo_studio).to_dict()
    info = launch.train(demo_studio, spec, progress=False)
    assert info.status == "completed" and info.epochs_done == 2
    assert runs.read_spec(demo_studio, info.id)["model"] == spec["model"]
    assert sorted(metrics_by_epoch(demo_studio, info.id)) == [1, 2]
    assert capsys.readouterr().out == ""  # progress=False prints nothing


def test_progress_prints_what_dlstudio_train_prints(demo_studio, capsys):
    info = launch.train(demo_studio, demo_spec(demo_studio), json_lines=True)
    out = capsys.readouterr().out
    assert f"\"run_id\": \"{info.id}\"" in out and "\"epoch\": 2" in out


def test_a_bad_spec_is_refused_before_anything_is_stored(demo_studio):
    spec = demo_spec(demo_studio).to_dict()
    spec["model"]["params"] = {"dropuot": 0.5}
    with pytest.raises(SpecError, match="dropuot"):
        launch.train(demo_studio, spec, progress=False)
    assert runs.list_runs(demo_studio) == []


def test_resume_continues_an_interrupted_run(demo_studio):
    run_id = interrupted_run(demo_studio, after_epoch=1)
    info = launch.train(demo_studio, resume_id=run_id, progress=False)
    assert (info.id, info.status, info.epochs_done) == (run_id, "completed", 2)


def test_spec_or_resume_not_both(demo_studio):
    with pytest.raises(ValueError, match="either"):
        launch.train(demo_studio)
