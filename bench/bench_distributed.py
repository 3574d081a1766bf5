"""Distributed training on the CPU, measured side by side in one run (the machine is noisy: compare, don't clock).

(a) throughput of one run trained by 2 gloo processes (torchrun) ÷ the same run in 1 process, same global batch
    and seed, epoch times after the first (torchrun's start is printed apart); the one process once with a
    process's share of the threads and once with all of them
(b) final weights of 10 steps in 2 processes and in 1: largest difference (the same batches: rounding only)

On a CPU the processes share the cores one process would use with its own threads, so (a) says what the split
costs or gains here (gradient all-reduce against threads that contend); on GPUs each process has its own device:
``bench/bench_distributed_cuda.py``.

Run: ``.venv/bin/python bench/bench_distributed.py`` (or ``make bench``).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The processes torchrun starts load the bench plugin too.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [sys.path[0], os.environ.get("PYTHONPATH", "")]))

import bench_plugin
import torch

from dlstudio.checkpoints import load_checkpoint
from dlstudio.distributed import DistributedRun, Placement
from dlstudio.engine.records import EpochEnd, FitEnded
from dlstudio.plugins import module_candidate
from dlstudio.runner import Run
from dlstudio.spec import RunSpec
from dlstudio.studio import Studio

ROUNDS = 3
EPOCHS = 3


def timed(run) -> tuple[list[float], float, str]:
    """Epoch seconds (first epoch left out: warm-up), wall seconds in all, and the run's status."""
    started = time.perf_counter()
    seconds, status = [], ""
    for record in run.records():
        if isinstance(record, EpochEnd):
            seconds.append(record.seconds)
        elif isinstance(record, FitEnded):
            status = record.status
    assert status == "completed", status
    return seconds[1:], time.perf_counter() - started, status


def _spec(device: str, nproc: int, epochs: int, samples: int) -> RunSpec:
    spec = RunSpec.from_dict(bench_plugin.spec_dict(epochs, batch_size=64 * nproc))
    return spec.with_overrides([f'run.device="{device}"', f"data.params.samples={samples}"])


def compare(device: str, nproc: int, rounds: int = ROUNDS, samples: int = 3000) -> int:
    """Print (a) and (b) for ``nproc`` processes on ``device`` ("cpu" or "cuda") against one process."""
    with tempfile.TemporaryDirectory() as home:
        os.environ["DLSTUDIO_HOME"] = home
        studio = Studio.open(Path(home), [module_candidate("bench", bench_plugin)])
        spec = _spec(device, nproc, EPOCHS, samples)
        threads = torch.get_num_threads()
        # Each process gets a share of this machine's threads (dlstudio.distributed sets OMP_NUM_THREADS so).
        share = max(1, threads // nproc)
        sides: dict[str, list[float]] = {f"1 process, {share} thread(s)": [], f"1 process, {threads} threads": [],
                                         f"{nproc} processes": []}
        starts = []
        for _ in range(rounds):  # adjacent, alternating, so drift in the machine's load hits every side
            for label, count in ((f"1 process, {share} thread(s)", share), (f"1 process, {threads} threads", threads)):
                torch.set_num_threads(count)
                epochs, _, _ = timed(Run(studio, spec))
                sides[label].append(statistics.median(epochs))
            torch.set_num_threads(threads)
            together = DistributedRun(studio, spec, placement=Placement(nproc=nproc),
                                      plugin_modules=["bench=bench_plugin"])
            epochs, wall, _ = timed(together)
            sides[f"{nproc} processes"].append(statistics.median(epochs))
            starts.append(wall - statistics.median(epochs) * EPOCHS)
        shared = sides[f"{nproc} processes"]
        print(f"epoch seconds ({device}, global batch {64 * nproc}, {samples} samples, median of {rounds}): "
              + "; ".join(f"{label} {statistics.median(values):.2f}" for label, values in sides.items()))
        for label, values in list(sides.items())[:2]:
            ratios = sorted(one / many for one, many in zip(values, shared, strict=True))
            print(f"(a) throughput, {nproc} processes ÷ {label}: median {statistics.median(ratios):.2f} "
                  f"(range {ratios[0]:.2f}–{ratios[-1]:.2f}; best-of ratio {min(values) / min(shared):.2f})")
        print(f"    torchrun start, process group and data loading: about {statistics.median(starts):.1f} s a run")
        return _same_weights(studio, device, nproc)


def _same_weights(studio: Studio, device: str, nproc: int) -> int:
    """(b): 10 steps of the same global batches in 1 and in ``nproc`` processes. (Over hundreds of steps on
    random labels the float rounding of a mean taken in parts grows, as any change of summation order does.)"""
    spec = _spec(device, nproc, 1, 10 * 64 * nproc)
    alone = Run(studio, spec)
    timed(alone)
    together = DistributedRun(studio, spec, placement=Placement(nproc=nproc), plugin_modules=["bench=bench_plugin"])
    timed(together)
    a, _ = load_checkpoint(studio.store.run_dir(alone.run_id) / "checkpoints" / "last.safetensors")
    b, _ = load_checkpoint(studio.store.run_dir(together.run_id) / "checkpoints" / "last.safetensors")
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    print(f"(b) final weights after 10 steps, {nproc} processes vs 1: largest difference {worst:.1e} (goal ≤ 1e-5)")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    print(f"torch {torch.__version__}, {os.cpu_count()} CPU cores, {torch.get_num_threads()} threads for 1 process")
    sys.exit(compare("cpu", 2))
