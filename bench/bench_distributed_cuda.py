"""The distributed check of ``bench_distributed.py`` on CUDA GPUs (NCCL, one process per GPU), where present.

(a) throughput of one run trained by N processes on N GPUs ÷ the same run on 1 GPU, same global batch and seed
(b) final weights of 10 steps in N processes and in 1: largest difference

Needs at least 2 CUDA GPUs; says so and exits 0 otherwise (it is not part of ``make bench`` on a CPU machine).

Run: ``.venv/bin/python bench/bench_distributed_cuda.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from bench_distributed import compare

if __name__ == "__main__":
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count < 2:
        print(f"skipped: a distributed run on CUDA needs at least 2 GPUs; {count} visible here "
              f"(torch {torch.__version__}, CUDA build {torch.version.cuda})")
        sys.exit(0)
    print(f"torch {torch.__version__}, {count} GPUs: {', '.join(torch.cuda.get_device_name(i) for i in range(count))}")
    # A larger data set than the CPU bench: a GPU's epoch must be long enough to time.
    sys.exit(compare("cuda", count, samples=60000))
