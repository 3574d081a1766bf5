"""``dlstudio train SPEC --nproc N``: one run trained by N processes, started by torchrun.

The parent checks the spec (what cannot be distributed is refused before anything starts), then runs the real
``torch.distributed.run`` in a subprocess with :mod:`dlstudio.torchrun_worker` as each process's entry point.
Rank 0 writes the store and sends its progress records as marked lines on its standard output; the parent shows
them as a plain ``dlstudio train`` does. When a process fails, the run is marked failed with every failed rank
named, from torchrun's own record of its workers (exit codes, signals, error files).

Run as ``python -m dlstudio.distributed --report FILE -- TORCHRUN_ARGS`` it is that subprocess: torchrun's
``run`` with its failures written as JSON (torchrun itself only prints them as a framed text).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlstudio.engine.control import RunControl
    from dlstudio.runs import RunInfo
    from dlstudio.spec import RunSpec
    from dlstudio.studio import Studio

__all__ = ["DistributedRun", "Placement", "train_distributed"]


@dataclass(frozen=True)
class Placement:
    """Where the processes run: ``nproc`` on each of ``nnodes`` machines; this machine is ``node_rank``, and the
    machines meet at ``rdzv_endpoint`` (``host:port`` of node 0; one machine needs none)."""

    nproc: int = 1
    nnodes: int = 1
    node_rank: int = 0
    rdzv_endpoint: str | None = None

    @property
    def processes(self) -> int:
        return self.nproc * self.nnodes

    def torchrun_args(self) -> list[str]:
        args = [f"--nproc-per-node={self.nproc}", f"--nnodes={self.nnodes}"]
        if self.nnodes == 1 and not self.rdzv_endpoint:
            return [*args, "--standalone"]  # a free port on this machine
        if not self.rdzv_endpoint:
            raise ValueError("--nnodes above 1 needs --rdzv-endpoint HOST:PORT (the first machine's address)")
        return [*args, f"--node-rank={self.node_rank}", f"--rdzv-endpoint={self.rdzv_endpoint}"]


def train_distributed(studio: Studio, spec: RunSpec | Mapping[str, Any] | None = None, *,
                      placement: Placement | None = None, resume_id: str | None = None,
                      overrides: Sequence[str] = (), device: str | None = None, progress: bool = True,
                      json_lines: bool = False, plugin_modules: Sequence[str] = ()) -> RunInfo | None:
    """Train ``spec`` (or resume the run ``resume_id``) with several processes, printing rank 0's progress as
    ``dlstudio train`` does; the run as :func:`dlstudio.runs.get_run` describes it afterwards, or None on a machine
    other than the first whose processes ended well. Raises RunError when the processes failed before a run was
    stored (or on such a machine). See :class:`DistributedRun`."""
    from dlstudio import runs
    from dlstudio.errors import RunError

    run = DistributedRun(studio, spec, placement=placement, resume_id=resume_id, overrides=overrides,
                         device=device, plugin_modules=plugin_modules)
    printer = None
    if progress:
        from dlstudio.cli_progress import ProgressPrinter

        printer = ProgressPrinter(json_lines=json_lines)
    try:
        for record in run.records():
            if printer is not None:
                printer(record)
    finally:
        if printer is not None:
            printer.close()
    if run.failure and (run.run_id is None or run.placement.node_rank != 0):
        raise RunError(f"distributed run failed: {run.failure}")
    if run.run_id is None or run.placement.node_rank != 0:
        return None
    return runs.get_run(studio, run.run_id)


class DistributedRun:
    """A run trained by ``placement.processes`` processes (by default one per GPU the spec's device lists,
    ``cuda:0,1``), driven like a :class:`~dlstudio.runner.Run`: :meth:`records` yields rank 0's records, then,
    if a process failed, a :class:`FitEnded` saying which rank and how. ``control.cancel()`` reaches rank 0,
    which tells the others at their next step (pausing is not passed on). ``plugin_modules`` (``NAME=MODULE``)
    are loaded by every process besides the installed plugins. What cannot be distributed raises SpecError here,
    before anything starts."""

    def __init__(self, studio: Studio, spec: RunSpec | Mapping[str, Any] | None = None, *,
                 placement: Placement | None = None, resume_id: str | None = None, overrides: Sequence[str] = (),
                 device: str | None = None, control: RunControl | None = None,
                 plugin_modules: Sequence[str] = ()) -> None:
        from dlstudio.engine.control import RunControl
        from dlstudio.parts import resolve_parts
        from dlstudio.run_ranks import distributed_device, gpu_list, refuse_undistributable
        from dlstudio.runner import Run
        from dlstudio.spec import RunSpec, SpecError, toml_literal

        if (spec is None) == (resume_id is None):
            raise ValueError("give either a spec or a run to resume")
        if resume_id is not None:  # checked here as each process will (refused changes, a run still running...)
            checked = Run.resume(studio, resume_id, overrides=overrides, device=device).spec
        else:
            checked = spec if isinstance(spec, RunSpec) else RunSpec.from_dict(spec)
            changes = [*overrides, *([f"run.device={toml_literal(device)}"] if device else [])]
            checked = checked.with_overrides(changes) if changes else checked
        try:
            self.gpus = gpu_list(checked.run.device)
            if not self.gpus:  # (a listed GPU that is not here: its process says so, seeing only the listed ones)
                distributed_device(checked.run.device, (placement.nproc if placement else 1) - 1)
        except ValueError as exc:
            raise SpecError(f"[run] device: {exc}") from None
        if placement is None:
            placement = Placement(nproc=len(self.gpus) if self.gpus else 1)
        elif self.gpus and placement.nproc != len(self.gpus):
            raise SpecError(f"[run] device {checked.run.device!r} lists {len(self.gpus)} GPUs: one process each, "
                            f"not --nproc {placement.nproc}")
        refuse_undistributable(checked, placement.processes)
        resolve_parts(studio, checked)  # a spec each process would refuse is refused once, here
        try:
            self.placement_args = placement.torchrun_args()
        except ValueError as exc:
            raise SpecError(str(exc)) from None
        self.studio, self.spec, self.placement = studio, checked, placement
        self.resume_id, self.overrides, self.device = resume_id, list(overrides), device
        self.control = control or RunControl()
        self.plugin_modules = list(plugin_modules)
        self.run_id: str | None = resume_id
        #: Which processes failed and how, once :meth:`records` is done ("" when none did).
        self.failure = ""

    @property
    def processes(self) -> int:
        return self.placement.processes

    def records(self) -> Iterator[Any]:
        from dlstudio.engine.records import FitEnded, LogMessage
        from dlstudio.torchrun_worker import RECORD_MARK

        ended = None
        with tempfile.TemporaryDirectory(prefix="dlstudio-torchrun-") as scratch:
            folder = Path(scratch)
            report = folder / "torchrun.json"
            command = [sys.executable, "-m", "dlstudio.distributed", "--report", str(report), "--",
                       *self.placement_args, *self._worker_args(folder)]
            with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=self._environment(),
                                  bufsize=1) as process:
                stop_watching = threading.Event()
                threading.Thread(target=self._pass_on_cancel, args=(folder / "cancel", stop_watching),
                                 daemon=True).start()
                try:
                    assert process.stdout is not None
                    for line in process.stdout:
                        if not line.startswith(RECORD_MARK):  # the processes' own output
                            if line.strip():
                                yield LogMessage(line.rstrip("\n"))
                            continue
                        record = as_record(json.loads(line[len(RECORD_MARK):]))
                        if getattr(record, "kind", "") == "run_started":
                            self.run_id = record.run_id
                        elif isinstance(record, FitEnded):
                            ended = record
                        if record is not None:
                            yield record
                    returncode = process.wait()
                except BaseException:
                    # Ctrl+C reached torchrun too (one process group), which stops the processes: let it finish.
                    try:
                        process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        process.terminate()  # torchrun passes it on to every process
                        process.wait()
                    raise
                finally:
                    stop_watching.set()
            failures = _failures(report, folder)
        if returncode == 0 and (ended is not None or self.placement.node_rank != 0):
            return  # (another machine than the first has no rank 0 to report: its processes ended well)
        message = describe_failures(failures) or f"torchrun ended with exit status {returncode}"
        self.failure = message
        if self.run_id is not None and self.placement.node_rank == 0:
            _mark_failed(self.studio, self.run_id, message)
        if ended is None:
            yield FitEnded("failed", f"distributed run failed: {message}")
        else:
            yield LogMessage(f"after the run ended, {message}", "warning")

    def _worker_args(self, folder: Path) -> list[str]:
        args = ["-m", "dlstudio.torchrun_worker", "--failures", str(folder), "--cancel-file", str(folder / "cancel")]
        if self.resume_id is not None:
            args += ["--resume", self.resume_id, *[f"--set={o}" for o in self.overrides]]
            args += [f"--device={self.device}"] if self.device else []
        else:
            self.spec.save(folder / "spec.toml")
            args += ["--spec-file", str(folder / "spec.toml")]
        return args + [f"--plugin-module={m}" for m in self.plugin_modules]

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in self.gpus)
        # torchrun would set 1 thread a process and warn about it; share this machine's threads out instead.
        env.setdefault("LOGLEVEL", "ERROR")  # torchrun's notes on stopping processes: the failure says it all
        if "OMP_NUM_THREADS" not in env:
            import torch

            env["OMP_NUM_THREADS"] = str(max(1, torch.get_num_threads() // self.placement.nproc))
        return env

    def _pass_on_cancel(self, flag: Path, stop: threading.Event) -> None:
        """Rank 0 watches for ``flag``; it appears when this run's control is cancelled."""
        while not stop.wait(0.2):
            if self.control.cancelled:
                flag.touch()
                return


def lists_gpus(studio: Studio, spec: RunSpec | Mapping[str, Any] | None, resume_id: str | None,
               device: str | None) -> bool:
    """Whether the run's device lists several GPUs (``cuda:0,1``): a run of one process on each."""
    from dlstudio.run_ranks import gpu_list

    if device is None:
        if resume_id is not None:
            import tomllib

            try:
                device = str(tomllib.loads(studio.store.get(resume_id).spec).get("run", {}).get("device", ""))
            except KeyError:
                return False  # an unknown run: resuming it says so
        elif spec is not None:
            device = spec.run.device if hasattr(spec, "run") else str(dict(spec).get("run", {}).get("device", ""))
    try:
        return gpu_list(device or "") is not None
    except ValueError:
        return True  # the launcher says what is wrong with the list


def as_record(payload: Mapping[str, Any]) -> Any:
    """A record from its JSON form (as :mod:`dlstudio.torchrun_worker` writes it); None for an unknown kind."""
    from dlstudio.engine.records import BatchEnd, EpochEnd, FitEnded, FitStarted, LogMessage
    from dlstudio.runner import RunStarted

    kinds = {"run_started": RunStarted, "fit_started": FitStarted, "batch_end": BatchEnd, "epoch_end": EpochEnd,
             "log": LogMessage, "fit_ended": FitEnded}
    cls = kinds.get(str(payload.get("kind")))
    return cls(**payload) if cls is not None else None


def _failures(report: Path, folder: Path) -> list[dict[str, Any]]:
    """Each failed rank as torchrun saw it (exit code, signal), with the error its process wrote, if any."""
    try:
        failed = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        failed = []
    for failure in failed:
        try:
            written = json.loads((folder / f"rank-{failure['rank']}.json").read_text(encoding="utf-8"))
            failure["error"] = written.get("error", "")
        except (OSError, ValueError):
            pass
    return failed


#: A process's exit status when it was stopped (Ctrl+C, or torchrun stopping it because another process failed).
INTERRUPTED = 130


def describe_failures(failures: Sequence[Mapping[str, Any]]) -> str:
    """One clause per way the ranks failed, the first to fail first: ``rank 1 was killed by signal SIGKILL``, or
    ``ranks 0, 1 exited with status 1 (RunError: ...)`` when they failed alike."""
    stopped = [f for f in failures if f.get("exitcode") == INTERRUPTED]
    # A process torchrun stopped because another failed is not a cause: the other one says what happened.
    failed = [f for f in failures if f.get("exitcode") != INTERRUPTED] or stopped
    alike: dict[tuple[str, str], list[str]] = {}
    for failure in failed:
        code, signal_name = failure.get("exitcode"), failure.get("signal") or ""
        how = (f"killed by signal {signal_name}" if code is not None and code < 0 else f"exited with status {code}")
        alike.setdefault((how, failure.get("error") or ""), []).append(str(failure["rank"]))
    parts = []
    for (how, error), ranks in alike.items():
        who = f"rank {ranks[0]}" if len(ranks) == 1 else f"ranks {', '.join(sorted(ranks, key=int))}"
        verb = ("was " if len(ranks) == 1 else "were ") if how.startswith("killed") else ""
        parts.append(f"{who} {verb}{how}" + (f" ({error})" if error else ""))
    if stopped and failed is not stopped:
        parts.append("the other processes were stopped with it")
    return "; ".join(parts)


def _mark_failed(studio: Studio, run_id: str, message: str) -> None:
    """The run's end as the parent saw it: which rank failed, and how (what rank 0 recorded is kept when it had
    recorded a completed run's end)."""
    store = studio.store
    try:
        row = store.get(run_id)
    except KeyError:
        return
    if row.status in ("completed", "stopped"):
        return
    store.set_status(run_id, "failed", f"distributed run failed: {message}")


# -- the torchrun subprocess ------------------------------------------------------------------------------

def _torchrun(argv: Sequence[str]) -> int:
    """``torch.distributed.run`` on ``argv`` (after ``--report FILE --``), its failed ranks written to FILE."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    argv = list(argv)
    if argv[:1] != ["--report"] or "--" not in argv:
        print("usage: python -m dlstudio.distributed --report FILE -- TORCHRUN_ARGS", file=sys.stderr)
        return 2
    report = Path(argv[1])
    try:
        run(parse_args(argv[argv.index("--") + 1:]))
    except ChildFailedError as exc:
        first, _ = exc.get_first_failure()
        failed = [{"rank": rank, "local_rank": f.local_rank, "exitcode": f.exitcode,
                   "signal": f.signal_name() if f.exitcode < 0 else "", "first": rank == first}
                  for rank, f in sorted(exc.failures.items(), key=lambda item: item[0] != first)]
        report.write_text(json.dumps(failed), encoding="utf-8")
        return 1
    except (SignalException, KeyboardInterrupt):  # stopped (Ctrl+C): the processes were stopped with it
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(_torchrun(sys.argv[1:]))
