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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlstudio.runs import RunInfo
    from dlstudio.spec import RunSpec
    from dlstudio.studio import Studio

__all__ = ["Placement", "train_distributed"]


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


def train_distributed(studio: Studio, spec: RunSpec | Mapping[str, Any] | None = None, *, placement: Placement,
                      resume_id: str | None = None, overrides: Sequence[str] = (), device: str | None = None,
                      progress: bool = True, json_lines: bool = False,
                      plugin_modules: Sequence[str] = ()) -> RunInfo | None:
    """Train ``spec`` (or resume the run ``resume_id``) with ``placement.processes`` processes; the run as
    :func:`dlstudio.runs.get_run` describes it afterwards (None on a machine other than the first, or when no
    run was stored: the failure is printed). ``plugin_modules`` (``NAME=MODULE``) are loaded by every process
    besides the installed plugins. Raises SpecError for what cannot be distributed, before starting anything."""
    from dlstudio import runs
    from dlstudio.run_ranks import distributed_device, refuse_undistributable
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
    refuse_undistributable(checked, placement.processes)
    try:
        distributed_device(checked.run.device, placement.nproc - 1)
    except ValueError as exc:
        raise SpecError(f"[run] device: {exc}") from None
    try:
        placement_args = placement.torchrun_args()
    except ValueError as exc:
        raise SpecError(str(exc)) from None

    with tempfile.TemporaryDirectory(prefix="dlstudio-torchrun-") as scratch:
        folder = Path(scratch)
        worker = ["-m", "dlstudio.torchrun_worker", "--failures", str(folder)]
        if resume_id is not None:
            worker += ["--resume", resume_id, *[f"--set={o}" for o in overrides]]
            worker += [f"--device={device}"] if device else []
        else:
            checked.save(folder / "spec.toml")
            worker += ["--spec-file", str(folder / "spec.toml")]
        worker += [f"--plugin-module={m}" for m in plugin_modules]
        report = folder / "torchrun.json"
        command = [sys.executable, "-m", "dlstudio.distributed", "--report", str(report), "--",
                   *placement_args, *worker]
        watcher = _Watcher(progress, json_lines)
        returncode = watcher.follow(command, _environment(placement))
        failures = _failures(report, folder)
    run_id = watcher.run_id or resume_id
    if returncode != 0 or watcher.ended is None:
        message = describe_failures(failures) or f"torchrun ended with exit status {returncode}"
        if run_id is not None and placement.node_rank == 0:
            _mark_failed(studio, run_id, message)
        watcher.say_failed(message)
    if run_id is None or placement.node_rank != 0:
        return None
    return runs.get_run(studio, run_id)


def _environment(placement: Placement) -> dict[str, str]:
    env = dict(os.environ)
    # torchrun would set 1 thread a process and say so in a warning; share this machine's threads out instead.
    if "OMP_NUM_THREADS" not in env:
        import torch

        env["OMP_NUM_THREADS"] = str(max(1, torch.get_num_threads() // placement.nproc))
    return env


class _Watcher:
    """Runs the torchrun subprocess and shows rank 0's records as ``dlstudio train`` shows a run's."""

    def __init__(self, progress: bool, json_lines: bool) -> None:
        self.json_lines = json_lines
        self.printer = None
        if progress:
            from dlstudio.cli_progress import ProgressPrinter

            self.printer = ProgressPrinter(json_lines=json_lines)
        self.run_id: str | None = None
        self.ended: Any = None

    def follow(self, command: list[str], env: dict[str, str]) -> int:
        from dlstudio.torchrun_worker import RECORD_MARK

        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, bufsize=1) as process:
            try:
                assert process.stdout is not None
                for line in process.stdout:
                    if line.startswith(RECORD_MARK):
                        self._show(json.loads(line[len(RECORD_MARK):]))
                    elif self.printer is not None:  # the processes' own output: beside the records, not in JSON
                        print(line, end="", file=sys.stderr if self.json_lines else sys.stdout, flush=True)
                return process.wait()
            except BaseException:
                process.terminate()  # torchrun passes it on to every process
                process.wait()
                raise
            finally:
                if self.printer is not None:
                    self.printer.close()

    def _show(self, payload: dict[str, Any]) -> None:
        record = as_record(payload)
        if record is None:
            return
        if payload.get("kind") == "run_started":
            self.run_id = payload["run_id"]
        elif payload.get("kind") == "fit_ended":
            self.ended = record
        if self.printer is not None:
            self.printer(record)

    def say_failed(self, message: str) -> None:
        if self.printer is None:
            return
        if self.json_lines:
            print(json.dumps({"event": "summary", "run_id": self.run_id, "status": "failed", "message": message}),
                  flush=True)
        else:
            print(f"failed. {message}", flush=True)


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


def describe_failures(failures: Sequence[Mapping[str, Any]]) -> str:
    """One clause per failed rank, the first to fail first: ``rank 1 was killed by signal SIGKILL``."""
    parts = []
    for failure in failures:
        code, signal_name = failure.get("exitcode"), failure.get("signal") or ""
        how = (f"was killed by signal {signal_name}" if code is not None and code < 0
               else f"exited with status {code}")
        error = failure.get("error") or ""
        parts.append(f"rank {failure['rank']} {how}" + (f" ({error})" if error else ""))
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
    return 0


if __name__ == "__main__":
    raise SystemExit(_torchrun(sys.argv[1:]))
