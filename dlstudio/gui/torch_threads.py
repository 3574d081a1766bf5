"""Which threads of the GUI process run PyTorch's parallel (OpenMP) CPU kernels.

libgomp gives every thread that enters a parallel region its own team of helper threads, kept for the
life of that thread. Once the GUI thread has one, libgomp counts more threads than cores and makes every
team spin far less before sleeping; training in the run thread then went ~15 % slower than the same run
in a fresh process (measured here on 2 cores; bench/bench_core.py (b) compares the two). So the GUI
thread computes serially (its tensor work is small: previews, summaries) and each worker thread asks
for the full count when it starts.
"""

from __future__ import annotations

import threading

_compute_threads: int | None = None


def keep_gui_thread_serial() -> None:
    """Call once, on the GUI thread, after importing torch and before it computes anything."""
    global _compute_threads
    import torch

    if _compute_threads is not None:
        return
    _compute_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    # set_num_threads also sets the default that threads started later read once, on their first
    # parallel op; set it back from a short-lived thread, so only this one stays serial.
    restore = threading.Thread(target=torch.set_num_threads, args=(_compute_threads,), name="torch-threads")
    restore.start()
    restore.join()


def use_compute_threads() -> None:
    """Call at the start of a worker thread's body: its torch ops use every core (whatever a plugin or
    the user set since)."""
    if _compute_threads is None:
        return
    import torch

    torch.set_num_threads(_compute_threads)


def compute_threads() -> int | None:
    """The intra-op thread count workers use (None before :func:`keep_gui_thread_serial`)."""
    return _compute_threads
