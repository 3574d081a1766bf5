"""Contract 2's proof: the task kinds that come next run through ``Run`` (spec → run → checkpoint →
resume) without any change to the core, written as a plugin against the contract alone
(``tests/fixture_plugins/kinds_plugin.py``). A resumed run must equal the uninterrupted one."""

from __future__ import annotations

import pytest
import torch

from dlstudio.engine import EpochEnd, FitEnded, FitStarted
from dlstudio.runner import Run, RunStarted
from dlstudio.spec import RunSpec, SpecError
from tests.fixture_plugins import kinds_plugin
from tests.runs import drive, ended, metrics_by_epoch


@pytest.fixture
def kinds_studio(make_studio):
    return make_studio(("kinds", kinds_plugin))


def spec(task, model, data, **train):
    return RunSpec.from_dict({"run": {"task": task, "device": "cpu"}, "model": {"id": model},
                              "data": {"id": data}, "train": train})


GAN = dict(task="gan", model="kinds.gan", data="kinds.ring", epochs=3, batch_size=16, lr=0.01,
           scheduler="step", step_size=1, gamma=0.5)
LM = dict(task="language-model", model="kinds.lm", data="kinds.tokens", epochs=3, batch_size=8, lr=0.01)
# Periods of 3 steps over passes of 4 batches: a period ends mid-pass, so a resume must pick up mid-pass.
GAN_STEPS = dict(task="gan", model="kinds.gan", data="kinds.ring", steps=9, eval_every=3, batch_size=16, lr=0.01,
                 scheduler="step", step_size=1, gamma=0.5)
STYLE = dict(task="style-transfer", model="kinds.canvas", data="kinds.pair", steps=6, eval_every=2, lr=0.5,
             keep_best=False)


def split(kind):
    kind = dict(kind)
    return spec(kind.pop("task"), kind.pop("model"), kind.pop("data"), **kind)


def interrupt_after(studio, run_spec, period):
    run = Run(studio, run_spec)
    records = run.records()
    for record in records:
        if isinstance(record, EpochEnd) and record.epoch == period:
            break
    records.close()
    assert studio.store.get(run.run_id).status == "interrupted"
    return run.run_id


def final_weights(studio, run_id):
    from dlstudio.runs import load_model

    return load_model(studio, run_id, "last").model.state_dict()


@pytest.mark.parametrize("kind", [GAN, LM, STYLE, GAN_STEPS],
                         ids=["gan", "language-model", "style-transfer", "gan-in-steps-mid-pass"])
def test_a_resumed_run_equals_the_uninterrupted_one(kinds_studio, kind):
    whole = Run(kinds_studio, split(kind))
    assert ended(drive(whole)).status == "completed"
    broken = interrupt_after(kinds_studio, split(kind), 1)
    resumed = drive(Run.resume(kinds_studio, broken))
    assert ended(resumed).status == "completed"
    assert next(r for r in resumed if isinstance(r, FitStarted)).start_epoch == 1
    assert metrics_by_epoch(kinds_studio, broken) == metrics_by_epoch(kinds_studio, whole.run_id)
    a, b = final_weights(kinds_studio, whole.run_id), final_weights(kinds_studio, broken)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_gan_steps_both_optimisers_and_schedules_each(kinds_studio):
    records = drive(Run(kinds_studio, split(GAN)))
    epochs = [r for r in records if isinstance(r, EpochEnd)]
    # A schedule per optimiser: both rates (each epoch's, as it trained) halve every epoch, the second
    # optimiser's too, not only the first's.
    assert [e.metrics["lr"] for e in epochs] == pytest.approx([0.01, 0.005, 0.0025])
    assert [e.metrics["lr_generator"] for e in epochs] == pytest.approx([0.01, 0.005, 0.0025])
    assert {"train_d_loss", "train_g_loss"} <= epochs[0].metrics.keys()
    assert not any(e.is_best for e in epochs)  # a GAN monitors nothing: no "best" epoch is invented
    declared = next(r for r in records if isinstance(r, RunStarted)).metrics
    assert [(m["name"], m["group"]) for m in declared] == [("d_loss", "gan"), ("g_loss", "gan"), ("loss", "loss")]


def test_a_gan_refuses_early_stopping_it_cannot_judge(kinds_studio):
    with pytest.raises(SpecError, match="early_stopping: task 'gan' reports no metric"):
        drive(Run(kinds_studio, split({**GAN, "early_stopping": 2})))


def test_the_language_model_carries_its_hidden_state_through_each_pass(kinds_studio):
    run = Run(kinds_studio, split(LM))
    records = drive(run)
    assert ended(records).status == "completed"
    started = next(r for r in records if isinstance(r, FitStarted))
    assert started.train_batches == 0  # a stream without a length: nothing calls len() on it
    # Fresh state at the first window of each pass (train and valid), carried to every later window.
    trace = kinds_plugin.LANGUAGE_MODELS[-1].trace
    passes, current = [], None
    for phase, fresh in trace:
        if fresh:
            current = [phase]
            passes.append(current)
        else:
            assert current is not None and current[0] == phase
            current.append(phase)
    assert [p[0] for p in passes] == ["train", "valid"] * 3
    assert all(len(p) > 3 for p in passes)  # several windows per pass, each after the first carrying state
    epochs = [r for r in records if isinstance(r, EpochEnd)]
    assert epochs[-1].metrics["valid_perplexity"] < 12 * 0.6  # learns the stream (chance: the vocab, 12)


def test_the_language_model_window_length_is_a_task_parameter(kinds_studio):
    base = split(LM)
    records = drive(Run(kinds_studio, base.with_overrides(["task.params.bptt=12", "train.epochs=1"])))
    assert ended(records).status == "completed"
    windows = kinds_plugin.LANGUAGE_MODELS[-1].trace
    assert len([w for w in windows if w[0] == "train"]) == 1920 // 8 // 12  # 1,920 training tokens, 8 rows
    with pytest.raises(SpecError, match=r"\[task.params\] unknown key 'bpt'"):
        drive(Run(kinds_studio, base.with_overrides(["task.params.bpt=12"])))


def test_style_transfer_is_measured_in_steps_without_validation(kinds_studio):
    records = drive(Run(kinds_studio, split(STYLE)))
    started = next(r for r in records if isinstance(r, FitStarted))
    assert (started.unit, started.total_steps, started.period_steps, started.epochs) == ("step", 6, 2, 3)
    epochs = [r for r in records if isinstance(r, EpochEnd)]
    assert [e.step for e in epochs] == [2, 4, 6]
    assert all(not any(k.startswith("valid_") for k in e.metrics) for e in epochs)
    assert epochs[-1].metrics["train_loss"] < epochs[0].metrics["train_loss"]
    assert isinstance(records[-1], FitEnded)


def test_style_transfer_refuses_mixed_precision_it_cannot_scale(kinds_studio, monkeypatch):
    from dlstudio.engine.step import Stepper

    stepper = Stepper("cpu")
    stepper.amp = True  # as on CUDA
    with pytest.raises(ValueError, match="cannot scale the gradients of an optimiser that re-evaluates"):
        stepper.optimize_closure(torch.optim.LBFGS([torch.nn.Parameter(torch.zeros(1))]), lambda: torch.zeros(()))


def test_validation_in_the_middle_of_a_pass_leaves_training_its_own_state(kinds_studio):
    # 240 training windows a pass... here 1,920 tokens / 8 rows / 6 = 40 windows; periods of 15 end mid-pass.
    drive(Run(kinds_studio, split({**LM, "epochs": 1, "steps": 45, "eval_every": 15})))
    trace = kinds_plugin.LANGUAGE_MODELS[-1].trace
    after_validation = [trace[i + 1] for i in range(len(trace) - 1)
                        if trace[i][0] == "valid" and trace[i + 1][0] == "train"]
    assert after_validation and all(not fresh for _, fresh in after_validation[:2])  # carried, mid-pass
    first_valid = [fresh for i, (phase, fresh) in enumerate(trace) if phase == "valid" and trace[i - 1][0] == "train"]
    assert all(first_valid)  # and each validation starts afresh
