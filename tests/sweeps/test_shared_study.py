"""Two processes sharing one journal file run one study: each trial once, all grouped under the sweep."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from dlstudio.sweep import open_storage
from dlstudio.sweep_store import SweepTable

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import sys
from pathlib import Path
from dlstudio.plugins import module_candidate
from dlstudio.studio import Studio
from dlstudio.sweep import SweepConfig, run_sweep
from dlstudio.sweep_params import parse_space
from tests.fixture_plugins import demo_plugin
from tests.runs import demo_spec

studio = Studio.open(Path(sys.argv[1]), [module_candidate("demo", demo_plugin)])
config = SweepConfig(parse_space(["train.lr=loguniform:0.001:0.1", "model.hidden=int:4:16:4"]), trials=2,
                     sampler="random", storage=sys.argv[2], study="shared", metric="valid_accuracy",
                     direction="max")
run_sweep(studio, demo_spec(studio), config)
"""


@pytest.mark.slow
def test_two_processes_sharing_a_journal_make_one_study(demo_studio, studio_home, tmp_path):
    journal = tmp_path / "shared" / "sweep.journal"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
           "DLSTUDIO_TENSORBOARD": "0"}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(studio_home), str(journal)], cwd=ROOT, env=env,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for worker in workers:
        _, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err[-3000:]

    study = optuna.load_study(study_name="shared", storage=open_storage(str(journal)))
    trials = study.get_trials()
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]  # one numbering: one study, not two
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    run_ids = {t.user_attrs["run_id"] for t in trials}
    assert len(run_ids) == 4
    grouped = SweepTable(demo_studio.store).trials("shared")
    assert {t.run_id for t in grouped} == run_ids
    assert {t.number for t in grouped} == {0, 1, 2, 3}
