"""Every benchmark, one after another: ``make bench``."""

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
status = 0
for script in ("bench_core.py", "bench_images.py", "bench_inspector.py", "bench_cli.py", "bench_text.py",
               "bench_style.py", "bench_gan.py", "bench_gui_latency.py", "bench_plugin_startup.py",
               "bench_distributed.py", "bench_tensorboard.py"):
    if (here / script).exists():
        print(f"\n=== {script}", flush=True)
        status |= subprocess.call([sys.executable, str(here / script)])
sys.exit(status)
