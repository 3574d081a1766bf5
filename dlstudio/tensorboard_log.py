"""TensorBoard event files for every run, written off the training thread.

The training thread only puts plain numbers and NumPy arrays on a queue; one background thread owns the
:class:`torch.utils.tensorboard.SummaryWriter` and does everything slow (histograms, PNG decoding, file
writes). The queue is bounded and never waited on: when the writer falls behind, events are dropped and
counted, and the run's log says how many, so logging can slow nothing but itself.

Each run's events land in its own folder in the store, so ``tensorboard --logdir <store>/runs`` shows one
TensorBoard run per dlstudio run, named by its id. Turned off by ``"tensorboard": false`` in the data
folder's ``settings.json``, or ``DLSTUDIO_TENSORBOARD=0``.
"""

from __future__ import annotations

import json
import math
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from dlstudio.engine.callbacks import Callback

if TYPE_CHECKING:
    from dlstudio.engine.loop import FitState
    from dlstudio.engine.records import EpochEnd

ENV = "DLSTUDIO_TENSORBOARD"
SETTING = "tensorboard"
#: Events waiting for the writer; beyond this they are dropped (counted), never waited for.
QUEUE_LIMIT = 10_000
#: Embedding tables up to this many rows go to the projector at the run's end (bigger ones are not cheap).
EMBEDDING_ROWS = 50_000
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def tensorboard_enabled(home: Path) -> bool:
    """Whether runs write TensorBoard events: ``$DLSTUDIO_TENSORBOARD`` (0/false/no/off) wins over the
    data folder's ``settings.json`` key ``"tensorboard"``; on unless either says otherwise."""
    env = os.environ.get(ENV, "").strip().lower()
    if env:
        return env not in ("0", "false", "no", "off")
    try:
        data = json.loads((Path(home) / "settings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return not (isinstance(data, dict) and data.get(SETTING) is False)


def flat_hparams(spec: Mapping[str, Any]) -> dict[str, float | int | str | bool]:
    """A spec dict as TensorBoard's hparams want it: ``section.key`` -> a scalar (lists as text)."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, (bool, int, float, str)):
            out[prefix] = value
        elif value is not None:
            out[prefix] = str(value)

    walk("", spec)
    return out


#: Bins of each weight histogram.
HISTOGRAM_BINS = 64


def weight_histogram(param: torch.Tensor) -> tuple[tuple[float, ...], list[float], list[float]]:
    """A parameter's histogram, counted by torch where the parameter lives (``histc`` runs without the GIL):
    ((min, max, count, sum, sum of squares), bucket right edges, bucket counts). Measured: counting in the writer
    thread instead (numpy, Python) cost training 4 % more wall time than its own CPU time, by holding the GIL
    while the training thread waited for it."""
    values = param.detach().float().flatten()
    low, high = float(values.min()), float(values.max())
    if high <= low:  # one value: one bucket
        high = low + 1e-12
    counts = torch.histc(values, bins=HISTOGRAM_BINS, min=low, max=high)
    limits = torch.linspace(low, high, HISTOGRAM_BINS + 1)[1:]
    stats = (low, high, float(values.numel()), float(values.sum()), float((values * values).sum()))
    return stats, limits.tolist(), counts.cpu().tolist()


class TensorBoardLogger(Callback):
    """Scalars per epoch and (every ``batch_interval`` seconds) per batch, weight histograms per epoch, the
    run folder's new pictures (a GAN's sample grids, a confusion matrix) and messages (an LM's samples) per
    epoch, embedding tables for the projector and the hparams with the final metrics at the end."""

    def __init__(self, log_dir: Path, *, hparams: Mapping[str, Any] | None = None, batch_interval: float = 1.0,
                 histograms: bool = True, writer_factory: Callable[[str], Any] | None = None) -> None:
        self.log_dir = Path(log_dir)
        self.hparams = dict(hparams or {})
        self.batch_interval = batch_interval
        self.histograms = histograms
        self._writer_factory = writer_factory
        self._queue: queue.Queue = queue.Queue(QUEUE_LIMIT)
        self._thread: threading.Thread | None = None
        # Waited on at the run's end instead of Thread.join, which calls threading.current_thread(): on a
        # thread Python did not start (the window's run QThread) that leaves a _DummyThread behind for good.
        self._finished = threading.Event()
        self._last_batch = -math.inf
        self._last_metrics: dict[str, float] = {}
        self._seen_images: dict[Path, float] = {}
        self.dropped = 0
        self.error = ""

    # -- the training thread: enqueue only -----------------------------------------------------------
    def _put(self, *event: Any) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def on_fit_start(self, state: FitState) -> None:
        self._thread = threading.Thread(target=self._work, name="tensorboard-writer", daemon=True)
        self._thread.start()

    def on_train_batch_end(self, state: FitState) -> None:
        now = time.perf_counter()
        if now - self._last_batch < self.batch_interval or state.output is None:
            return
        self._last_batch = now
        sums, count = state.output.sums, state.output.count
        if "loss" in sums and count:
            self._put("scalar", "batch/train_loss", float(sums["loss"]) / count, state.step)  # one sync per interval

    def on_epoch_end(self, state: FitState, record: EpochEnd) -> None:
        for name, value in record.metrics.items():
            self._put("scalar", name, float(value), record.epoch)
        self._last_metrics = dict(record.metrics)
        if self.histograms:
            for name, param in state.task.model.named_parameters():
                if not isinstance(param, nn.parameter.UninitializedParameter):
                    self._put("histogram", name, *weight_histogram(param), record.epoch)
        messages = [m.text for m in state.messages]
        if messages:
            self._put("text", "log", "\n\n".join(messages), record.epoch)
        self._put("images", record.epoch)

    def on_fit_end(self, state: FitState, status: str) -> None:
        for name, module in state.task.model.named_modules():
            if isinstance(module, nn.Embedding) and module.num_embeddings <= EMBEDDING_ROWS:
                self._put("embedding", name or "embedding", module.weight.detach().to("cpu", copy=True).numpy(),
                          state.epoch)
        final = {f"hparam/{k}": float(v) for k, v in self._last_metrics.items() if math.isfinite(v)}
        if state.best_value is not None and math.isfinite(state.best_value):
            final["hparam/best"] = float(state.best_value)
        self._put("hparams", self.hparams, final, status, state.epoch)
        self._queue.put(("close",))  # the one wait: the thread is told to finish, never to keep up
        if self._thread is not None:
            self._finished.wait(timeout=30)
        if self.dropped:
            state.log(f"TensorBoard: {self.dropped} events were dropped because writing them fell behind", "warning")
        if self.error:
            state.log(f"TensorBoard events could not be written: {self.error}", "warning")

    # -- the writer thread ------------------------------------------------------------------------------
    def _work(self) -> None:
        writer = None
        try:
            writer = self._make_writer()
            while True:
                event = self._queue.get()
                if event[0] == "close":
                    break
                getattr(self, f"_write_{event[0]}")(writer, *event[1:])
        except Exception as exc:  # a logging failure must never fail the run: it is reported at its end
            self.error = f"{type(exc).__name__}: {exc}"
            self._discard_until_close()
        finally:
            try:
                if writer is not None:
                    writer.close()
            except Exception as exc:
                self.error = self.error or f"{type(exc).__name__}: {exc}"
            self._finished.set()

    def _discard_until_close(self) -> None:
        while self._queue.get()[0] != "close":
            pass

    def _make_writer(self) -> Any:
        if self._writer_factory is not None:
            return self._writer_factory(str(self.log_dir))
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(self.log_dir), flush_secs=10)
        self._quiet_tensorboards_thread(writer)
        return writer

    def _quiet_tensorboards_thread(self, writer: Any) -> None:
        """TensorBoard writes its file from a thread of its own and lets that thread's exception escape (a
        traceback on stderr when the disk fills, beside the run's one "the disk is full" message). Its error is
        recorded here instead, reported at the run's end like any of this logger's. (Python calls a thread's
        ``_invoke_excepthook`` with the exception current; where a future TensorBoard or Python differs, nothing
        changes but the traceback.)"""
        try:
            worker = writer._get_file_writer().event_writer._async_writer._worker
        except AttributeError:
            return
        if not isinstance(worker, threading.Thread) or not hasattr(worker, "_invoke_excepthook"):
            return

        def record(_thread: threading.Thread) -> None:
            exc = sys.exc_info()[1]
            self.error = self.error or f"{type(exc).__name__}: {exc}"

        worker._invoke_excepthook = record

    def _write_scalar(self, writer: Any, tag: str, value: float, step: int) -> None:
        writer.add_scalar(tag, value, step)

    def _write_histogram(self, writer: Any, name: str, stats: tuple[float, ...], limits: list[float],
                         counts: list[float], step: int) -> None:
        low, high, num, total, squares = stats
        writer.add_histogram_raw(f"weights/{name}", low, high, num, total, squares, limits, counts, step)

    def _write_text(self, writer: Any, tag: str, text: str, step: int) -> None:
        writer.add_text(tag, text, step)

    def _write_embedding(self, writer: Any, name: str, weights: np.ndarray, step: int) -> None:
        writer.add_embedding(weights, tag=name, global_step=step)

    def _write_images(self, writer: Any, step: int) -> None:
        """Pictures the run wrote or changed in its folder since the last epoch, each under its path."""
        from PIL import Image

        for path in sorted(self.log_dir.rglob("*")):
            if path.suffix.lower() not in _IMAGE_SUFFIXES or not path.is_file():
                continue
            mtime = path.stat().st_mtime
            if self._seen_images.get(path) == mtime:
                continue
            self._seen_images[path] = mtime
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))
            tag = "images/" + path.relative_to(self.log_dir).with_suffix("").as_posix()
            writer.add_image(tag, pixels, step, dataformats="HWC")

    def _write_hparams(self, writer: Any, hparams: dict, final: dict[str, float], status: str, step: int) -> None:
        from torch.utils.tensorboard.summary import hparams as hparams_summary

        # Into this run's own file (SummaryWriter.add_hparams would start a sub-run of its own).
        experiment, start, end = hparams_summary(hparams, final)
        for summary in (experiment, start, end):
            writer.file_writer.add_summary(summary)
        for tag, value in final.items():
            writer.add_scalar(tag, value, step)
        writer.add_text("status", status, step)


def run_logger(home: Path, run_dir: Path, spec: Mapping[str, Any], parts: Any = None) -> list[Callback]:
    """The run's TensorBoard callback, or none when the setting turns events off. Its hparams are the spec's,
    with the model's, data's and task's parameters as resolved (defaults filled in) when ``parts`` says."""
    if not tensorboard_enabled(home):
        return []
    resolved = {key: dict(value) if isinstance(value, Mapping) else value for key, value in spec.items()}
    if parts is not None:
        for section, params in (("model", parts.model_params), ("data", parts.data_params),
                                ("task", parts.task_params)):
            resolved.setdefault(section, {})["params"] = dict(params)
    return [TensorBoardLogger(run_dir, hparams=flat_hparams(resolved))]
