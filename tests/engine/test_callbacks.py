"""Callbacks: when the loop calls them, early stopping, restoring the best weights, checkpoints."""

from __future__ import annotations

import errno

import pytest
import torch

from dlstudio.engine import BestWeights, Checkpoint, EarlyStopping, LogMessage, WeightNorms, fit
from tests.engine.fakes import Recorder, ScriptedTask, batches, epoch_ends, last, regression


def run(task, *, epochs, callbacks, valid=True):
    data = regression(24)
    return list(fit(task, batches(data, 8), batches(data, 12) if valid else None, epochs=epochs,
                    callbacks=callbacks, report_interval=0))


def test_callback_points_are_called_in_order():
    recorder = Recorder()
    run(ScriptedTask(valid=[0.1, 0.2]), epochs=2, callbacks=[recorder])
    epoch = ["train_batch_end"] * 3
    assert recorder.calls == [
        ("fit_start", 0),
        ("epoch_start", 1), *[(c, 1) for c in epoch], ("epoch_end", 1),
        ("epoch_start", 2), *[(c, 2) for c in epoch], ("epoch_end", 2),
        ("fit_end", "completed"),
    ]


def test_on_fit_end_is_told_how_the_run_ended():
    recorder = Recorder()
    run(ScriptedTask(train=[float("nan")], valid=[0.1]), epochs=1, callbacks=[recorder])
    assert recorder.calls[-1] == ("fit_end", "failed")


def test_early_stopping_ends_the_run_after_patience_epochs_without_improvement():
    task = ScriptedTask(valid=[0.5, 0.6, 0.6, 0.55, 0.9, 0.9])
    records = run(task, epochs=6, callbacks=[EarlyStopping(2)])
    assert [e.epoch for e in epoch_ends(records)] == [1, 2, 3, 4]
    ended = last(records)
    assert ended.status == "stopped"
    assert ended.message == "early stopping: valid_score has not improved for 2 epochs (best 0.6 at epoch 2)"
    assert ended.best_epoch == 2


def test_early_stopping_does_not_stop_an_improving_run():
    records = run(ScriptedTask(valid=[0.1, 0.2, 0.3, 0.4]), epochs=4, callbacks=[EarlyStopping(1)])
    assert last(records).status == "completed" and len(epoch_ends(records)) == 4


class Snapshots(Recorder):
    """Copies of the weights at the end of each epoch (after the callbacks before it)."""

    def __init__(self) -> None:
        super().__init__()
        self.weights: dict[int, dict] = {}

    def on_epoch_end(self, state, record) -> None:
        self.weights[record.epoch] = {k: v.clone() for k, v in state.task.model.state_dict().items()}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_best_weights_are_restored_at_the_end():
    task = ScriptedTask(valid=[0.3, 0.8, 0.5])
    snapshots = Snapshots()
    records = run(task, epochs=3, callbacks=[BestWeights(), snapshots])
    assert not same(snapshots.weights[2], snapshots.weights[3])  # training moved on after the best epoch
    assert same(task.model.state_dict(), snapshots.weights[2])
    logs = [r.text for r in records if isinstance(r, LogMessage)]
    assert logs == ["restored the weights of epoch 2 (best valid_score)"]
    assert records.index(next(r for r in records if isinstance(r, LogMessage))) == len(records) - 2


def test_best_weights_leave_the_model_alone_when_the_last_epoch_is_best():
    task = ScriptedTask(valid=[0.3, 0.5, 0.8])
    snapshots = Snapshots()
    records = run(task, epochs=3, callbacks=[BestWeights(), snapshots])
    assert same(task.model.state_dict(), snapshots.weights[3])
    assert not any(isinstance(r, LogMessage) for r in records)


def test_best_weights_are_restored_after_a_failure_too():
    task = ScriptedTask(train=[1.0, 1.0, float("nan")], valid=[0.5, 0.4, 0.0])
    snapshots = Snapshots()
    records = run(task, epochs=3, callbacks=[BestWeights(), snapshots])
    assert last(records).status == "failed"
    assert same(task.model.state_dict(), snapshots.weights[1])


def test_checkpoint_is_saved_every_epoch():
    saved = []
    run(ScriptedTask(valid=[0.5, 0.4, 0.3]), epochs=3,
        callbacks=[Checkpoint(lambda state, record: saved.append((record.epoch, state.epoch)))])
    assert saved == [(1, 1), (2, 2), (3, 3)]


def test_checkpoint_every_n_epochs_also_saves_best_and_last_epochs():
    saved = []
    task = ScriptedTask(valid=[0.5, 0.4, 0.3, 0.9, 0.2, 0.1, 0.0])
    run(task, epochs=7, callbacks=[Checkpoint(lambda state, record: saved.append(record.epoch), every=3)])
    assert saved == [1, 3, 4, 6, 7]  # 1 and 4 are best epochs, 3 and 6 the schedule, 7 the last


def test_a_checkpoint_that_cannot_be_written_is_reported_and_training_goes_on():
    def save(state, record):
        if record.epoch == 2:
            raise OSError(errno.EIO, "Input/output error")

    records = run(ScriptedTask(valid=[0.5, 0.6, 0.7]), epochs=3, callbacks=[Checkpoint(save)])
    assert last(records).status == "completed" and len(epoch_ends(records)) == 3
    warnings = [r for r in records if isinstance(r, LogMessage)]
    assert len(warnings) == 1 and warnings[0].level == "warning"
    assert "could not save the checkpoint of epoch 2" in warnings[0].text
    assert "Input/output error" in warnings[0].text
    # The message comes right after the epoch it is about.
    assert records[records.index(warnings[0]) - 1].epoch == 2


def test_weight_norms_are_written_each_epoch_and_read_back(tmp_path):
    path = tmp_path / "norms.jsonl"
    task = ScriptedTask(valid=[0.1, 0.2, 0.3])
    norms_seen = []

    class Spy(WeightNorms):
        def on_epoch_end(self, state, record):
            norms_seen.append(float(task.model.weight.detach().norm()))
            super().on_epoch_end(state, record)

    run(task, epochs=3, callbacks=[Spy(path)])
    by_epoch = WeightNorms.read(path)
    assert sorted(by_epoch) == [1, 2, 3]
    assert [by_epoch[e]["(model)"] for e in (1, 2, 3)] == [pytest.approx(n, rel=1e-6) for n in norms_seen]


def test_a_resumed_run_rewrites_the_norms_it_keeps_and_drops_the_abandoned_epochs(tmp_path):
    path = tmp_path / "norms.jsonl"
    path.write_text('{"epoch": 1, "norms": {"fc": 1.0}}\n{"epoch": 2, "norms": {"fc": 2.0}}\n'
                    '{"epoch": 3, "norms": {"fc": 3.0}}\n{"epoch": 4, "no', encoding="utf-8")  # killed in epoch 4
    task = ScriptedTask(valid=[0.1, 0.2, 0.3, 0.4])
    data = regression(24)
    list(fit(task, batches(data, 8), batches(data, 12), epochs=4, start_epoch=2, callbacks=[WeightNorms(path)],
             report_interval=0))  # resumed from epoch 2's checkpoint
    by_epoch = WeightNorms.read(path)
    assert sorted(by_epoch) == [1, 2, 3, 4]
    assert by_epoch[1] == {"fc": 1.0} and by_epoch[2] == {"fc": 2.0}
    assert by_epoch[3] != {"fc": 3.0}  # the abandoned attempt's epoch 3 is gone
    assert all(line.startswith('{"epoch"') for line in path.read_text(encoding="utf-8").splitlines())


def test_weight_norms_tiny_values_keep_their_digits_and_lazy_layers_are_skipped():
    from torch import nn

    from dlstudio.engine.callbacks import layer_weight_norms

    model = nn.Sequential(nn.Linear(2, 2), nn.LazyLinear(3))
    with torch.no_grad():
        model[0].weight.fill_(2e-8)
    assert layer_weight_norms(model.state_dict()) == {"0": pytest.approx(4e-8, rel=1e-6)}


def test_weight_norms_reader_skips_a_cut_line_and_keeps_a_resumed_epochs_latest(tmp_path):
    path = tmp_path / "norms.jsonl"
    path.write_text('{"epoch": 1, "norms": {"fc": 1.0}}\n{"epoch": 2, "norms": {"fc": 2.0}}\n'
                    '{"epoch": 2, "norms": {"fc": 2.5}}\n{"epoch": 3, "no', encoding="utf-8")
    assert WeightNorms.read(path) == {1: {"fc": 1.0}, 2: {"fc": 2.5}}
    assert WeightNorms.read(tmp_path / "missing.jsonl") == {}
