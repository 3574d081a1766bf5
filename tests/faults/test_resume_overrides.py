"""Resuming with changed settings (issue 12, item 5): what can change on resume is applied and said, the
stored spec follows, and everything else is refused naming the key and why; never ignored in silence."""

from __future__ import annotations

import tomllib

import pytest

from dlstudio import launch
from dlstudio.cli import build_parser, dispatch
from dlstudio.engine import EpochEnd, FitStarted, LogMessage
from dlstudio.runner import Run
from dlstudio.spec import SpecError
from tests.runs import demo_spec, drive, interrupted_run, metrics_by_epoch


def cli_train(studio, *argv: str) -> int:
    """``dlstudio train ARGV`` against ``studio`` (the demo plugin's), in this process; its exit status."""
    return dispatch(build_parser(studio, ["train", *argv]).parse_args(["train", *argv]), studio)


def stored_spec(studio, run_id: str) -> dict:
    return tomllib.loads(studio.store.get(run_id).spec)


def spec_file(studio, run_id: str) -> dict:
    return tomllib.loads((studio.store.run_dir(run_id) / "spec.toml").read_text(encoding="utf-8"))


def lr_by_epoch(studio, run_id: str) -> dict[int, float]:
    return {epoch: values["lr"] for epoch, values in metrics_by_epoch(studio, run_id).items()}


# -- what can change ---------------------------------------------------------------------------------------


def test_set_epochs_on_resume_trains_to_the_new_length_not_the_planned_one(demo_studio, capsys):
    # The audit's case: a 20-epoch one-cycle run interrupted at epoch 2, resumed with train.epochs=3.
    run_id = interrupted_run(demo_studio, "train.epochs=20", "train.scheduler='onecycle'", after_epoch=2)
    assert cli_train(demo_studio, "--resume", run_id, "--set", "train.epochs=3") == 0
    row = demo_studio.store.get(run_id)
    assert (row.status, row.epochs_done, row.epochs) == ("completed", 3, 3)
    assert sorted(metrics_by_epoch(demo_studio, run_id)) == [1, 2, 3]
    assert stored_spec(demo_studio, run_id)["train"]["epochs"] == 3
    assert spec_file(demo_studio, run_id)["train"]["epochs"] == 3
    out = capsys.readouterr().out
    assert "[train] epochs: 20 → 3" in out
    assert "onecycle schedule is planned again over 3 epochs" in out  # how the shorter length applies


def test_training_longer_than_planned_equals_a_run_planned_that_long(demo_studio):
    # A completed 2-epoch run trained on to 4 is the run that was planned for 4 (constant LR): same numbers.
    run_id = interrupted_run(demo_studio, after_epoch=2)
    whole = Run(demo_studio, demo_spec(demo_studio, "train.epochs=4"))
    drive(whole)
    info = launch.train(demo_studio, resume_id=run_id, overrides=["train.epochs=4"], progress=False)
    assert (info.status, info.epochs_done, info.epochs) == ("completed", 4, 4)
    assert metrics_by_epoch(demo_studio, run_id) == metrics_by_epoch(demo_studio, whole.run_id)


def test_a_completed_run_can_be_trained_longer(demo_studio):
    run = Run(demo_studio, demo_spec(demo_studio))
    drive(run)
    records = drive(Run.resume(demo_studio, run.run_id, overrides=["train.epochs=3"]))
    assert [r.epoch for r in records if isinstance(r, EpochEnd)] == [3]
    assert demo_studio.store.get(run.run_id).epochs == 3


def test_a_new_lr_scales_the_remaining_schedule_and_says_how(demo_studio):
    overrides = ("train.epochs=4", "train.scheduler='step'", "train.step_size=1", "train.gamma=0.5")
    whole = Run(demo_studio, demo_spec(demo_studio, *overrides))
    drive(whole)
    run_id = interrupted_run(demo_studio, *overrides, after_epoch=2)
    records = drive(Run.resume(demo_studio, run_id, overrides=["train.lr=0.01"]))  # the recipe's is 0.05
    planned, resumed = lr_by_epoch(demo_studio, whole.run_id), lr_by_epoch(demo_studio, run_id)
    assert resumed[2] == planned[2]  # what was trained stays as it was
    for epoch in (3, 4):  # the step schedule goes on, a fifth as high
        assert resumed[epoch] == pytest.approx(planned[epoch] * 0.2, rel=1e-6)
    logs = [r.text for r in records if isinstance(r, LogMessage)]
    assert any("[train] lr: 0.05 → 0.01" in text and "multiplied by 0.2" in text for text in logs), logs
    assert stored_spec(demo_studio, run_id)["train"]["lr"] == 0.01


def test_a_new_lr_for_a_run_with_no_checkpoint_yet_is_simply_its_lr(demo_studio):
    run = Run(demo_studio, demo_spec(demo_studio))
    records = run.records()
    for record in records:
        if isinstance(record, FitStarted):
            break
    records.close()  # interrupted before its first checkpoint: the resume starts it again
    drive(Run.resume(demo_studio, run.run_id, overrides=["train.lr=0.01"]))
    assert lr_by_epoch(demo_studio, run.run_id) == {1: 0.01, 2: 0.01}


def test_device_and_loading_settings_apply_and_the_stored_spec_follows(demo_studio, capsys):
    run_id = interrupted_run(demo_studio, "train.epochs=3", after_epoch=1)
    assert cli_train(demo_studio, "--resume", run_id, "--device", "cpu", "--set", "train.checkpoint_every=2",
                     "--set", "train.early_stopping=5") == 0
    spec = stored_spec(demo_studio, run_id)
    assert spec["run"]["device"] == "cpu"
    assert (spec["train"]["checkpoint_every"], spec["train"]["early_stopping"]) == (2, 5)
    assert spec == spec_file(demo_studio, run_id)
    out = capsys.readouterr().out
    for change in ("[run] device: 'auto' → 'cpu'", "[train] checkpoint_every: 1 → 2", "[train] early_stopping: 0 → 5"):
        assert change in out


# -- what cannot ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("override, message", [
    ("model.params.hidden=8", "[model] params.hidden: changing the model of a run that has trained would mix "
                              "two runs; start a new run with --set or clone it"),
    ("data.params.noise=2.0", "[data] params.noise: changing the data"),
    ("train.batch_size=8", "[train] batch_size: "),
    ("train.optimizer='adam'", "[train] optimizer: "),
    ("run.seed=3", "[run] seed: "),
    ("train.scheduler='cosine'", "[train] scheduler: "),
])
def test_what_cannot_change_on_resume_is_refused_naming_the_key(demo_studio, override, message):
    run_id = interrupted_run(demo_studio, "train.epochs=3", after_epoch=1)
    before = demo_studio.store.get(run_id)
    with pytest.raises(SpecError) as refused:
        launch.train(demo_studio, resume_id=run_id, overrides=[override], progress=False)
    assert message in str(refused.value)
    assert "start a new run" in str(refused.value)
    after = demo_studio.store.get(run_id)
    assert (after.spec, after.status, after.epochs_done) == (before.spec, "interrupted", 1)  # nothing touched


def test_fewer_epochs_than_already_trained_is_refused(demo_studio, capsys):
    run_id = interrupted_run(demo_studio, "train.epochs=5", after_epoch=3)
    assert cli_train(demo_studio, "--resume", run_id, "--set", "train.epochs=2") == 2
    err = capsys.readouterr().err
    assert "dlstudio: [train] epochs: run" in err and "has trained 3 epochs already" in err
    assert demo_studio.store.get(run_id).epochs == 5


def test_a_step_measured_run_can_change_its_steps_but_not_below_those_done(demo_studio):
    steps = ("train.steps=12", "train.eval_every=4")
    run_id = interrupted_run(demo_studio, *steps, after_epoch=2)  # 8 steps done
    before = demo_studio.store.get(run_id).spec
    with pytest.raises(SpecError, match=r"\[train\] steps: .* has trained 8 steps already"):
        drive(Run.resume(demo_studio, run_id, overrides=["train.steps=8"]))
    assert demo_studio.store.get(run_id).spec == before
    records = drive(Run.resume(demo_studio, run_id, overrides=["train.steps=16"]))
    assert [r.epoch for r in records if isinstance(r, EpochEnd)] == [3, 4]
    assert demo_studio.store.get(run_id).epochs == 4


def test_the_cli_refuses_resume_with_a_spec_of_its_own(demo_studio, capsys, tmp_path):
    run_id = interrupted_run(demo_studio, after_epoch=1)
    assert cli_train(demo_studio, "--resume", run_id, "--recipe", "demo-blobs") == 2
    assert "--resume continues the stored run" in capsys.readouterr().err
    assert cli_train(demo_studio, "--resume", run_id, "--save-spec", str(tmp_path / "x.toml")) == 2
    assert not (tmp_path / "x.toml").exists()
