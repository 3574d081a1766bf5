"""Distributed training on the CPU, measured side by side in one run (the machine is noisy: compare, don't clock).

(a) throughput of one run trained by 2 gloo processes (torchrun) ÷ the same run in 1 process,
    same global batch and seed; epoch times after the first (torchrun's start is printed apart)
(b) the two runs' final weights: largest difference (they train the same batches: float rounding only)

On a CPU the two processes share the cores the one process would use with its own threads, so (a) says what
distribution costs here (gradient all-reduce, the sharing of each step), not a speed-up; on GPUs each process
has its own device: ``bench/bench_distributed_cuda.py``.

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
EPOCHS = 4


def timed(run) -> tuple[list[float], float, str]:
    """Epoch seconds (first epoch left out: warm-up), wall seconds in all, and the run's status."""
    started = time.perf_counter()
    seconds, status = [], ""
    for record in run.records():
        if isinstance(record, EpochEnd):
            seconds.append(record.seconds)
        elif isinstance(record, FitEnded):
            status = record.status
    return seconds[1:], time.perf_counter() - started, status


def compare(device: str, nproc: int, rounds: int = ROUNDS, samples: int = bench_plugin.SAMPLES) -> int:
    """Print (a) and (b) for ``nproc`` processes on ``device`` ("cpu" or "cuda") against one process."""
    with tempfile.TemporaryDirectory() as home:
        os.environ["DLSTUDIO_HOME"] = home
        studio = Studio.open(Path(home), [module_candidate("bench", bench_plugin)])
        spec = RunSpec.from_dict(bench_plugin.spec_dict(EPOCHS, batch_size=64 * nproc))
        spec = spec.with_overrides([f'run.device="{device}"', f"data.params.samples={samples}"])
        single, shared, starts = [], [], []
        alone_id = shared_id = ""
        for _ in range(rounds):  # adjacent pairs, alternating, so drift in the machine's load hits both sides
            alone = Run(studio, spec)
            epochs, _, status = timed(alone)
            assert status == "completed", status
            single.append(statistics.median(epochs))
            alone_id = alone.run_id
            together = DistributedRun(studio, spec, placement=Placement(nproc=nproc),
                                      plugin_modules=["bench=bench_plugin"])
            epochs, wall, status = timed(together)
            assert status == "completed", status
            shared.append(statistics.median(epochs))
            starts.append(wall - sum(epochs) * (EPOCHS / max(1, len(epochs))))
            shared_id = together.run_id
        ratios = sorted(s / d for s, d in zip(single, shared, strict=True))
        print(f"(a) {nproc} processes ÷ 1 process, throughput ({device}, global batch {64 * nproc}, "
              f"{samples} samples): median {statistics.median(ratios):.2f} "
              f"(range {ratios[0]:.2f}–{ratios[-1]:.2f}; best-of ratio {min(single) / min(shared):.2f}); "
              f"epoch {statistics.median(single):.2f} s vs {statistics.median(shared):.2f} s; "
              f"torchrun start and data loading ≈ {statistics.median(starts):.1f} s a run")
        a, _ = load_checkpoint(studio.store.run_dir(alone_id) / "checkpoints" / "last.safetensors")
        b, _ = load_checkpoint(studio.store.run_dir(shared_id) / "checkpoints" / "last.safetensors")
        worst = max(float((a[k] - b[k]).abs().max()) for k in a)
        scale = max(float(a[k].abs().max()) for k in a)
        print(f"(b) final weights, {nproc} processes vs 1: largest difference {worst:.2e} (largest weight "
              f"{scale:.2f}) after {EPOCHS} epochs")
        return 0 if worst <= 1e-3 * max(scale, 1.0) else 1


if __name__ == "__main__":
    print(f"torch {torch.__version__}, {os.cpu_count()} CPU cores, {torch.get_num_threads()} threads for 1 process")
    sys.exit(compare("cpu", 2))
