import subprocess
import sys
import textwrap

# In a fresh interpreter: which thread computes with how many threads is process-wide state.
SCRIPT = textwrap.dedent("""
    import threading
    import torch
    from dlstudio.gui.torch_threads import compute_threads, keep_gui_thread_serial, use_compute_threads

    torch.set_num_threads(2)
    keep_gui_thread_serial()
    seen = {}

    def worker():
        use_compute_threads()
        seen["worker"] = torch.get_num_threads()

    def other():  # a plugin's own thread, started before any worker
        seen["other"] = torch.get_num_threads()

    for target in (other, worker):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    print(torch.get_num_threads(), seen["worker"], seen["other"], compute_threads())
""")


def test_gui_thread_computes_serially_and_workers_use_every_core():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    gui, worker, other, compute = map(int, out.stdout.split())
    assert (gui, worker, other, compute) == (1, 2, 2, 2)
