"""One process of a distributed run, as torchrun starts it (``python -m dlstudio.torchrun_worker ...``).

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK and the rendezvous; this joins the process group (NCCL on CUDA,
gloo on the CPU), trains its share of the run through the same :class:`~dlstudio.runner.Run` as
``dlstudio train``, and leaves. Rank 0 prints each progress record as one marked JSON line on its standard
output, which :mod:`dlstudio.distributed` (the ``dlstudio train --nproc`` parent) reads and shows.

Every worker leaves with ``destroy_process_group()`` then ``os._exit`` after flushing its output: measured
here, two gloo processes that return normally abort in the interpreter's exit in about one run in five (the
process group's threads outlive the interpreter), which torchrun would report as a crash of a run that
finished.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from typing import Any

#: Prefix of rank 0's record lines on its standard output (what is not marked passes through as it is).
RECORD_MARK = "\x1edlstudio-record "


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    # torchrun stops the processes with SIGTERM (Ctrl+C, another rank's failure): end as an interrupted run does,
    # the store saying so, rather than vanish mid-write.
    signal.signal(signal.SIGTERM, _interrupt)
    code = 1
    try:
        code = _train_reporting(args)
    except KeyboardInterrupt:
        print(f"dlstudio: rank {os.environ.get('RANK', '?')} interrupted", file=sys.stderr)
        code = 130
    except Exception as exc:
        from dlstudio.errors import USER_ERRORS

        if not isinstance(exc, USER_ERRORS):
            raise
        # what the user can fix: one line (the parent repeats it, naming the ranks), no traceback
        print(f"dlstudio: rank {os.environ.get('RANK', '?')}: {exc}", file=sys.stderr)
    finally:
        _leave(code)


def _train_reporting(args: argparse.Namespace) -> int:
    """:func:`_train_this_rank`, with the traceback of anything but a user's error or an interrupt printed."""
    from dlstudio.errors import USER_ERRORS

    try:
        return _train_this_rank(args)
    except (KeyboardInterrupt, *USER_ERRORS):
        raise
    except BaseException:  # whatever else ended this rank is reported with it, then the process leaves
        traceback.print_exc()
        return 1


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlstudio.torchrun_worker")
    parser.add_argument("--spec-file", help="the run spec (.toml) to train")
    parser.add_argument("--resume", metavar="RUN_ID", help="the stored run to resume")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--device", help="the resumed run's device (as --device of dlstudio train)")
    parser.add_argument("--plugin-module", action="append", default=[], metavar="NAME=MODULE",
                        help="load this module as a plugin besides the installed ones (the parent's studio was "
                             "opened with plugins given directly)")
    parser.add_argument("--failures", help="folder where a rank that fails writes rank-N.json")
    parser.add_argument("--cancel-file", help="rank 0 cancels the run when this file appears")
    return parser


def _train_this_rank(args: argparse.Namespace) -> int:
    # The error file torchrun reads (``TORCHELASTIC_ERROR_FILE``) is written by ``record`` for an exception here.
    from torch.distributed.elastic.multiprocessing.errors import record

    return record(_train)(args)


def _train(args: argparse.Namespace) -> int:
    import torch.distributed as dist

    from dlstudio.engine.control import RunControl
    from dlstudio.engine.distributed import Ranks
    from dlstudio.run_ranks import distributed_device
    from dlstudio.runner import Run, run_to_end
    from dlstudio.spec import RunSpec

    rank, world, local_rank = (int(os.environ[name]) for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    studio = _open_studio(args.plugin_module)
    spec = RunSpec.from_dict(_stored_spec(studio, args.resume)) if args.resume else RunSpec.load(args.spec_file)
    device = distributed_device(args.device or spec.run.device, local_rank)
    if device.startswith("cuda"):
        import torch

        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    ranks = Ranks(rank, world, local_rank, device)
    control = RunControl()
    if ranks.is_main and args.cancel_file:
        threading.Thread(target=_watch_cancel, args=(args.cancel_file, control), daemon=True).start()
    try:
        if args.resume:
            run = Run.resume(studio, args.resume, control=control, overrides=args.overrides, device=args.device,
                             ranks=ranks)
        else:
            run = Run(studio, spec, control=control, ranks=ranks)
        dist.barrier()  # every rank has read the stored run before rank 0 marks it running
        run_to_end(run, _emit if ranks.is_main else None)
    except BaseException as exc:
        _write_failure(args.failures, rank, exc)
        raise
    return 0  # the run ended, however (failed, cancelled): its record and the store say how


def _watch_cancel(path: str, control: Any) -> None:
    """Cancel the run once ``path`` exists (the parent's cancel); the ranks learn it at their next step."""
    while not control.cancelled:
        if os.path.exists(path):
            control.cancel()
            return
        time.sleep(0.2)


def _open_studio(plugin_modules: Sequence[str]) -> Any:
    from dlstudio.plugins import entry_point_candidates, module_candidate
    from dlstudio.studio import Studio

    if not plugin_modules:
        return Studio.open()
    import importlib

    given = []
    for item in plugin_modules:
        name, _, module = item.partition("=")
        given.append(module_candidate(name, importlib.import_module(module)))
    return Studio.open(candidates=[*entry_point_candidates(), *given])


def _stored_spec(studio: Any, run_id: str) -> dict:
    import tomllib

    return tomllib.loads(studio.store.get(run_id).spec)


def _emit(record: Any) -> None:
    """One record as a marked JSON line, for the parent to show."""
    payload = dataclasses.asdict(record) if dataclasses.is_dataclass(record) else {"kind": "unknown"}
    sys.stdout.write(RECORD_MARK + json.dumps(payload, default=str) + "\n")
    sys.stdout.flush()


def _write_failure(folder: str | None, rank: int, exc: BaseException) -> None:
    if not folder:
        return
    try:
        with open(os.path.join(folder, f"rank-{rank}.json"), "w", encoding="utf-8") as out:
            json.dump({"rank": rank, "error": f"{type(exc).__name__}: {exc}"}, out)
    except OSError:
        pass  # the parent still has torchrun's exit status of this rank


def _leave(code: int) -> None:
    """Flush, leave the process group, and end the process without the interpreter's shutdown (see above)."""
    import contextlib

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(Exception):
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    os._exit(code)


if __name__ == "__main__":
    main()
