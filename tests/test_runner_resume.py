"""Resuming: interrupted, killed, cancelled and damaged runs, and what they resume from."""

from __future__ import annotations

import errno
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dlstudio.checkpoints import read_sidecar
from dlstudio.engine import EpochEnd, FitStarted, LogMessage
from dlstudio.plugins import module_candidate
from dlstudio.runner import Run, RunError, read_weight_norms
from dlstudio.studio import Studio
from tests.fixture_plugins import demo_plugin
from tests.runs import TINY, demo_spec, drive, metrics_by_epoch

ROOT = Path(__file__).resolve().parents[1]


# -- resuming ----------------------------------------------------------------------------------------


def test_an_abandoned_run_is_interrupted_and_resumes_where_it_stopped(demo_studio):
    spec = demo_spec(demo_studio, "train.epochs=3")
    whole = Run(demo_studio, spec)
    drive(whole)

    broken = Run(demo_studio, spec)
    records = broken.records()
    for record in records:
        if isinstance(record, EpochEnd) and record.epoch == 1:
            break
    records.close()  # the consumer goes away mid-run (a crash of the GUI thread, a closed window)
    row = demo_studio.store.get(broken.run_id)
    assert (row.status, row.epochs_done) == ("interrupted", 1)

    resumed = drive(Run.resume(demo_studio, broken.run_id))
    assert any(isinstance(r, LogMessage) and r.text == f"resuming run {broken.run_id} after epoch 1" for r in resumed)
    started = next(r for r in resumed if isinstance(r, FitStarted))
    assert started.start_epoch == 1
    assert [r.epoch for r in resumed if isinstance(r, EpochEnd)] == [2, 3]
    row = demo_studio.store.get(broken.run_id)
    assert (row.status, row.epochs_done) == ("completed", 3)
    # Weights, optimiser, RNG and data order all continue: the same numbers as the uninterrupted run.
    assert metrics_by_epoch(demo_studio, broken.run_id) == metrics_by_epoch(demo_studio, whole.run_id)
    norms = read_weight_norms(demo_studio.store.run_dir(broken.run_id))
    assert norms == read_weight_norms(demo_studio.store.run_dir(whole.run_id))  # epoch 1's kept, 2–3 added
    assert sorted(norms) == [1, 2, 3]
    assert row.best_epoch == demo_studio.store.get(whole.run_id).best_epoch


KILLED_CHILD = textwrap.dedent("""
    import sys, time
    from dlstudio.engine import EpochEnd
    from dlstudio.plugins import module_candidate
    from dlstudio.runner import Run, RunStarted
    from dlstudio.studio import Studio
    from tests.fixture_plugins import demo_plugin

    studio = Studio.open(sys.argv[1], [module_candidate("demo", demo_plugin)])
    for record in Run(studio, studio.recipe_spec("demo-blobs", sys.argv[2:])).records():
        if isinstance(record, RunStarted):
            run_id = record.run_id
        if isinstance(record, EpochEnd) and record.epoch == 1:
            print(run_id, flush=True)  # epoch 1's checkpoint is on disk
            time.sleep(600)  # stand still in the middle of the run until killed
""")


def test_a_killed_process_leaves_an_interrupted_run_that_resumes(studio_home):
    overrides = [*TINY, "train.epochs=3"]
    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, str(studio_home), *overrides], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run_id = child.stdout.readline().strip()
        assert run_id, child.stderr.read() if child.poll() is not None else "no run id"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        child.stderr.close()

    studio = Studio.open(studio_home, [module_candidate("demo", demo_plugin)])
    row = studio.store.get(run_id)
    assert (row.status, row.epochs_done) == ("interrupted", 1)
    assert row.message.startswith("the process running it ended without finishing")
    assert row.resumable
    records = drive(Run.resume(studio, run_id))
    assert [r.epoch for r in records if isinstance(r, EpochEnd)] == [2, 3]
    row = studio.store.get(run_id)
    assert (row.status, row.epochs_done, row.epochs) == ("completed", 3, 3)
    assert sorted(metrics_by_epoch(studio, run_id)) == [1, 2, 3]

    whole = Run(studio, studio.recipe_spec("demo-blobs", overrides))
    drive(whole)
    resumed_metrics, whole_metrics = metrics_by_epoch(studio, run_id), metrics_by_epoch(studio, whole.run_id)
    for epoch in (1, 2, 3):
        assert resumed_metrics[epoch] == pytest.approx(whole_metrics[epoch], rel=1e-4)


def test_only_unfinished_runs_can_be_resumed(demo_studio):
    run = Run(demo_studio, demo_spec(demo_studio))
    drive(run)
    with pytest.raises(RunError, match=f"run {run.run_id} already trained all its 2 epochs"):
        Run.resume(demo_studio, run.run_id)
    demo_studio.store.set_status(run.run_id, "running")
    with pytest.raises(RunError, match="is running; only a finished or interrupted run can be resumed"):
        Run.resume(demo_studio, run.run_id)


def test_a_run_interrupted_before_its_first_checkpoint_starts_again(demo_studio):
    run = Run(demo_studio, demo_spec(demo_studio))
    records = run.records()
    for record in records:
        if isinstance(record, FitStarted):
            break
    records.close()
    assert demo_studio.store.get(run.run_id).status == "interrupted"
    resumed = drive(Run.resume(demo_studio, run.run_id))
    assert [r.epoch for r in resumed if isinstance(r, EpochEnd)] == [1, 2]
    assert demo_studio.store.get(run.run_id).status == "completed"


def test_a_damaged_checkpoint_makes_resume_fail_clearly(demo_studio):
    run = Run(demo_studio, demo_spec(demo_studio, "train.epochs=3"))
    records = run.records()
    for record in records:
        if isinstance(record, EpochEnd):
            break
    records.close()
    (demo_studio.store.run_dir(run.run_id) / "checkpoints" / "last-state-1.json").write_text("{")
    with pytest.raises(RunError, match=f"run {run.run_id} cannot be resumed: the training state"):
        drive(Run.resume(demo_studio, run.run_id))


def test_resume_never_pairs_weights_and_training_state_of_different_epochs(demo_studio, monkeypatch):
    import dlstudio.run_checkpoints

    real_save = dlstudio.run_checkpoints.save_checkpoint

    def disk_full_for_epoch_2_weights(stem, state, meta):
        if stem.name == "last" and meta["epoch"] == 2:
            raise OSError(errno.EIO, "Input/output error")
        return real_save(stem, state, meta)

    monkeypatch.setattr(dlstudio.run_checkpoints, "save_checkpoint", disk_full_for_epoch_2_weights)
    run = Run(demo_studio, demo_spec(demo_studio, "train.epochs=3"))
    records = run.records()
    for record in records:
        if isinstance(record, EpochEnd) and record.epoch == 2:
            break
    records.close()  # the process dies right after the failed save
    monkeypatch.undo()

    last = demo_studio.store.run_dir(run.run_id) / "checkpoints" / "last.safetensors"
    weights_epoch = read_sidecar(last)["epoch"]
    resumed = drive(Run.resume(demo_studio, run.run_id))
    started = next(r for r in resumed if isinstance(r, FitStarted))
    assert started.start_epoch == weights_epoch
