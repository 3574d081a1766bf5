"""TensorBoard logging's cost per epoch, as a ratio to the same training without it (goal ≤ 1.02).

Side by side in one process: the engine trains the same small CNN on the same batches for a few epochs,
with and without the run's :class:`~dlstudio.tensorboard_log.TensorBoardLogger` (per-batch loss every
second, every epoch's metrics and weight histograms, hparams at the end: what every run writes), pairs
interleaved and their order alternated, so the machine's drifts hit both alike. Each side's time includes
the run's end, where the writer thread is joined: the whole cost, not only the part on the hot path.

Run: ``.venv/bin/python bench/bench_tensorboard.py``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_plugin
import torch
from torch.utils.data import TensorDataset

from dlstudio.contract import DataInfo
from dlstudio.engine import RunControl, TaskContext, fit
from dlstudio.engine.classification import ClassificationTask
from dlstudio.engine.data import make_batches
from dlstudio.spec import TrainSection
from dlstudio.tensorboard_log import TensorBoardLogger

ROUNDS = 10
EPOCHS = 3


def train(task, batches, log_dir: Path | None) -> float:
    """Seconds per epoch of an ``EPOCHS``-epoch fit, with the TensorBoard logger when ``log_dir`` is given."""
    callbacks = [TensorBoardLogger(log_dir, hparams={"train.lr": 0.01})] if log_dir is not None else []
    started = time.perf_counter()
    for _record in fit(task, batches, None, epochs=EPOCHS, callbacks=callbacks, control=RunControl()):
        pass
    return (time.perf_counter() - started) / EPOCHS


def main() -> None:
    x, y = bench_plugin.random_images()
    batches = make_batches(TensorDataset(x, y), 64, shuffle=True)
    info = DataInfo(input_shape=(1, 28, 28), classes=tuple("0123456789"))
    torch.manual_seed(0)
    task = ClassificationTask(TaskContext(bench_plugin.small_cnn(), info, TrainSection(lr=0.01), torch.device("cpu")))
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        train(task, batches, Path(folder) / "warm-up")  # imports TensorBoard: once per process, not per epoch
        warm_up = time.perf_counter() - started
        train(task, batches, None)
        ratios, logged, plain = [], [], []
        for round_ in range(ROUNDS):
            log_dir = Path(folder) / f"run-{round_}"
            if round_ % 2:
                with_tb, without = train(task, batches, log_dir), train(task, batches, None)
            else:
                without, with_tb = train(task, batches, None), train(task, batches, log_dir)
            ratios.append(with_tb / without)
            logged.append(with_tb)
            plain.append(without)
    q1, median, q3 = statistics.quantiles(ratios, n=4)
    print(f"TensorBoard logging, {ROUNDS} pairs of {EPOCHS}-epoch runs (small CNN, {len(batches)} batches/epoch, "
          f"{statistics.median(plain):.2f} s/epoch without)")
    print(f"epoch time with ÷ without TensorBoard events: {median:.3f}   (goal ≤ 1.02; quartiles {q1:.3f}–{q3:.3f}, "
          f"best ÷ best {min(logged) / min(plain):.3f})")
    print(f"first run in a process also imports TensorBoard: {warm_up:.2f} s for its {EPOCHS} epochs "
          "(the import is on the writer thread)")


if __name__ == "__main__":
    main()
