"""Every run writes TensorBoard events that TensorBoard itself reads back; the writer never holds up training."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from dlstudio import tensorboard_log
from dlstudio.engine.callbacks import Callback
from dlstudio.runner import Run
from tests.runs import demo_spec, drive, ended, metrics_by_epoch


def events_of(run_dir) -> EventAccumulator:
    accumulator = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "histograms": 0, "images": 0,
                                                                 "tensors": 0})
    accumulator.Reload()
    return accumulator


class DrawsAPicture(Callback):
    """Writes a picture into the run folder each epoch, as a GAN's sample grid or a confusion matrix is."""

    def __init__(self, run_dir_of) -> None:
        self.run_dir_of = run_dir_of

    def on_epoch_end(self, state, record):
        pixels = np.zeros((8, 12, 3), np.uint8)
        pixels[:, : record.epoch * 3] = 255  # a different picture each epoch
        folder = self.run_dir_of() / "samples"
        folder.mkdir(exist_ok=True)
        Image.fromarray(pixels).save(folder / "grid.png")
        state.log(f"sample after epoch {record.epoch}: the cat sat")


def test_a_run_writes_scalars_histograms_images_text_and_hparams(demo_studio):
    holder = {}
    run = Run(demo_studio, demo_spec(demo_studio, "train.epochs=3"),
              callbacks=[DrawsAPicture(lambda: demo_studio.store.run_dir(holder["run"].run_id))])
    holder["run"] = run
    assert ended(drive(run)).status == "completed"
    events = events_of(demo_studio.store.run_dir(run.run_id))

    stored = metrics_by_epoch(demo_studio, run.run_id)
    for name in ("train_loss", "valid_loss", "valid_accuracy"):  # each epoch's value, as the store has it
        logged = {e.step: e.value for e in events.Scalars(name)}
        assert logged == pytest.approx({epoch: m[name] for epoch, m in stored.items()})
    assert events.Scalars("batch/train_loss"), "no per-batch loss"
    model_params = ["1.weight", "1.bias", "3.weight", "3.bias"]  # the demo MLP's layers
    tags = events.Tags()
    assert sorted(tags["histograms"]) == sorted(f"weights/{p}" for p in model_params)
    assert [h.step for h in events.Histograms("weights/1.weight")] == [1, 2, 3]
    pictures = events.Images("images/samples/grid")
    assert [p.step for p in pictures] == [1, 2, 3]
    logged_text = events.Tensors("log/text_summary")
    assert b"the cat sat" in logged_text[0].tensor_proto.string_val[0]

    hparams = events.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(hparams["_hparams_/session_start_info"])
    assert start.session_start_info.hparams["train.lr"].number_value == pytest.approx(0.05)
    assert start.session_start_info.hparams["model.params.hidden"].number_value == 16
    final = {e.step: e.value for e in events.Scalars("hparam/valid_accuracy")}
    assert final == pytest.approx({3: stored[3]["valid_accuracy"]})


class GatedWriter:
    """A SummaryWriter stand-in that writes nothing until the gate opens (a writer stuck on a slow disk)."""

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate
        self.written: list[tuple] = []

    def __getattr__(self, name):
        def write(*args, **kwargs):
            self.gate.wait()
            self.written.append((name, args))
        return write

    def close(self):
        pass


class OpensTheGateAtTheEnd(Callback):
    """Runs before the logger: notes how far training got while the writer was stuck, then unsticks it."""

    def __init__(self, gate, writer_of) -> None:
        self.gate, self.writer_of = gate, writer_of
        self.steps_while_stuck = self.epochs_while_stuck = 0
        self.written_while_stuck: list = []

    def on_fit_end(self, state, status):
        self.steps_while_stuck, self.epochs_while_stuck = state.step, state.epoch
        self.written_while_stuck = list(self.writer_of().written)
        self.gate.set()


def test_a_stuck_writer_never_holds_up_the_training_thread(demo_studio, monkeypatch):
    gate = threading.Event()
    writers: list[GatedWriter] = []

    def logger(home, run_dir, spec, parts=None):
        def factory(_path):
            writers.append(GatedWriter(gate))
            return writers[-1]
        return [tensorboard_log.TensorBoardLogger(run_dir, hparams={"x": 1}, batch_interval=0.0,
                                                  writer_factory=factory)]

    monkeypatch.setattr(tensorboard_log, "run_logger", logger)
    probe = OpensTheGateAtTheEnd(gate, lambda: writers[0])
    run = Run(demo_studio, demo_spec(demo_studio, "train.epochs=4"), callbacks=[probe])
    assert ended(drive(run)).status == "completed"

    assert probe.epochs_while_stuck == 4 and probe.steps_while_stuck == 4 * 4  # 64 samples, batches of 16
    assert probe.written_while_stuck == []
    scalars = [args[0] for name, args in writers[0].written if name == "add_scalar"]
    assert scalars.count("batch/train_loss") == 16  # every batch (interval 0), none dropped
    assert scalars.count("valid_accuracy") == 4


def test_the_setting_or_the_flag_turns_events_off(demo_studio, monkeypatch):
    demo_studio.home.mkdir(parents=True, exist_ok=True)
    (demo_studio.home / "settings.json").write_text('{"tensorboard": false}', encoding="utf-8")
    run = Run(demo_studio, demo_spec(demo_studio))
    drive(run)
    assert not list(demo_studio.store.run_dir(run.run_id).glob("events.out.tfevents.*"))

    (demo_studio.home / "settings.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv("DLSTUDIO_TENSORBOARD", "off")
    run = Run(demo_studio, demo_spec(demo_studio))
    drive(run)
    assert not list(demo_studio.store.run_dir(run.run_id).glob("events.out.tfevents.*"))

    monkeypatch.delenv("DLSTUDIO_TENSORBOARD")
    run = Run(demo_studio, demo_spec(demo_studio), events=False)  # a process that does not write the store
    drive(run)
    assert not list(demo_studio.store.run_dir(run.run_id).glob("events.out.tfevents.*"))
    run = Run(demo_studio, demo_spec(demo_studio))
    drive(run)
    assert list(demo_studio.store.run_dir(run.run_id).glob("events.out.tfevents.*"))


def test_a_model_with_an_embedding_table_goes_to_the_projector(tmp_path):
    from torch import nn

    class State:
        def __init__(self):
            self.task = type("T", (), {"model": nn.Sequential(nn.Embedding(10, 3), nn.Linear(3, 2))})()
            self.epoch, self.best_value, self.messages = 2, None, []

        def log(self, text, level="info"):
            self.messages.append(text)

    logger = tensorboard_log.TensorBoardLogger(tmp_path)
    state = State()
    logger.on_fit_start(state)
    logger.on_fit_end(state, "completed")
    assert state.messages == []
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "0:' in config
    tensors = next(tmp_path.glob("*/0/tensors.tsv")).read_text().splitlines()
    weights = state.task.model[0].weight.detach().numpy()
    assert np.allclose([[float(v) for v in line.split("\t")] for line in tensors], weights, atol=1e-5)


def test_a_weight_histogram_counts_as_numpy_does():
    import numpy as np
    import torch

    from dlstudio.tensorboard_log import HISTOGRAM_BINS, weight_histogram

    param = torch.nn.Parameter(torch.randn(300, 7, generator=torch.Generator().manual_seed(3)))
    (low, high, num, total, squares), limits, counts = weight_histogram(param)
    values = param.detach().numpy().ravel().astype(np.float64)
    expected, edges = np.histogram(values, bins=HISTOGRAM_BINS, range=(values.min(), values.max()))
    assert num == values.size and sum(counts) == values.size
    np.testing.assert_allclose(counts, expected, atol=1)  # float32 vs float64 at a bucket's edge: one value moves
    np.testing.assert_allclose(limits, edges[1:], rtol=1e-5)
    assert (low, high) == pytest.approx((values.min(), values.max()))
    assert (total, squares) == pytest.approx((values.sum(), (values ** 2).sum()), rel=1e-4)
