"""TensorBoard logging's cost per epoch, as a ratio to the same training without it (goal ≤ 1.02).

Side by side in one process: the engine trains the same small CNN on the same batches for a few epochs,
with and without the run's :class:`~dlstudio.tensorboard_log.TensorBoardLogger` (per-batch loss every
second, every epoch's metrics and weight histograms, hparams at the end: what every run writes), pairs
interleaved and their order alternated, so the machine's drifts hit both alike. Each side's time includes
the run's end, where the writer thread is waited for: the whole cost, not only the part on the hot path.
Beside wall time, two CPU-time ratios that other processes' load does not disturb: the training thread's
own (the hot path) and the whole process's (the writer thread's work included).

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

ROUNDS = 8
EPOCHS = 2
SAMPLES = 3000


def train(task, batches, log_dir: Path | None, epochs: int = EPOCHS) -> tuple[float, float, float]:
    """Seconds per epoch of an ``epochs``-epoch fit (wall, this thread's CPU, the process's CPU), with the
    TensorBoard logger when ``log_dir`` is given."""
    callbacks = [TensorBoardLogger(log_dir, hparams={"train.lr": 0.01})] if log_dir is not None else []
    wall, thread, process = time.perf_counter(), time.thread_time(), time.process_time()
    for _record in fit(task, batches, None, epochs=epochs, callbacks=callbacks, control=RunControl()):
        pass
    return ((time.perf_counter() - wall) / epochs, (time.thread_time() - thread) / epochs,
            (time.process_time() - process) / epochs)


#: Run lengths whose difference gives the cost of one more epoch, without the once-a-run costs (the event file
#: made, the hparams written, the writer waited for at the end), which a 2-epoch run spreads over two epochs.
SHORT, LONG = 2, 6


def marginal(task, batches, folder: Path) -> tuple[float, float, float]:
    """(cost of one more epoch with ÷ without events, once-a-run cost in seconds with events, same without)."""
    ratios, fixed_with, fixed_without = [], [], []
    for round_ in range(ROUNDS // 2):
        times = {}
        order = [(logged, epochs) for logged in (True, False) for epochs in (SHORT, LONG)]
        for logged, epochs in (order if round_ % 2 else order[::-1]):
            log_dir = folder / f"m-{round_}-{epochs}" if logged else None
            times[logged, epochs] = train(task, batches, log_dir, epochs)[0] * epochs
        per_epoch = {logged: (times[logged, LONG] - times[logged, SHORT]) / (LONG - SHORT) for logged in (True, False)}
        ratios.append(per_epoch[True] / per_epoch[False])
        fixed_with.append(times[True, SHORT] - SHORT * per_epoch[True])
        fixed_without.append(times[False, SHORT] - SHORT * per_epoch[False])
    return statistics.median(ratios), statistics.median(fixed_with), statistics.median(fixed_without)


def main() -> None:
    x, y = bench_plugin.random_images(SAMPLES)
    batches = make_batches(TensorDataset(x, y), 64, shuffle=True)
    info = DataInfo(input_shape=(1, 28, 28), classes=tuple("0123456789"))
    torch.manual_seed(0)
    task = ClassificationTask(TaskContext(bench_plugin.small_cnn(), info, TrainSection(lr=0.01), torch.device("cpu")))
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        train(task, batches, Path(folder) / "warm-up")  # imports TensorBoard: once per process, not per epoch
        warm_up = time.perf_counter() - started
        train(task, batches, None)
        ratios: list[list[float]] = [[], [], []]  # wall, training thread's CPU, process CPU
        logged, plain = [], []
        for round_ in range(ROUNDS):
            log_dir = Path(folder) / f"run-{round_}"
            if round_ % 2:
                with_tb, without = train(task, batches, log_dir), train(task, batches, None)
            else:
                without, with_tb = train(task, batches, None), train(task, batches, log_dir)
            for kind in range(3):
                ratios[kind].append(with_tb[kind] / without[kind])
            logged.append(with_tb[0])
            plain.append(without[0])
    print(f"TensorBoard logging, {ROUNDS} pairs of {EPOCHS}-epoch runs (small CNN, {len(batches)} batches/epoch, "
          f"{statistics.median(plain):.2f} s/epoch without)")
    for kind, what in enumerate(("epoch time (wall)", "training thread's CPU time", "process CPU time")):
        q1, median, q3 = statistics.quantiles(ratios[kind], n=4)
        best = f", best ÷ best {min(logged) / min(plain):.3f}" if kind == 0 else ""
        print(f"{what + ' with ÷ without TensorBoard events:':<62} {median:.3f}   (goal ≤ 1.02; quartiles "
              f"{q1:.3f}–{q3:.3f}{best})")
        ratio, fixed_with, fixed_without = marginal(task, batches, Path(folder))
    print(f"one more epoch with ÷ without TensorBoard events (from {SHORT}- and {LONG}-epoch runs): {ratio:.3f}   "
          f"(goal ≤ 1.02); once a run: {fixed_with * 1000:.0f} ms with events, {fixed_without * 1000:.0f} ms without")
    print(f"first run in a process also imports TensorBoard: {warm_up:.2f} s for its {EPOCHS} epochs "
          "(the import is on the writer thread)")


if __name__ == "__main__":
    main()
