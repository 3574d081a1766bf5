"""Train a run spec to its end in this process, as ``dlstudio train`` does. Part of the plugin contract.

A plugin's command (``dlstudio generative stylize ...``) builds a spec and hands it here, so its result is a
run like any other: stored with its spec, metrics and checkpoints, listed by ``dlstudio runs``, replayable
with ``dlstudio train``. ::

    from dlstudio import launch, runs

    info = launch.train(studio, {"run": {"task": "style-transfer"}, "model": {...}, "data": {...}})
    print(info.status, info.run_dir)

The window starts runs through its panel context instead (``context.start_run``), on its run thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlstudio.distributed import Placement
    from dlstudio.runs import RunInfo
    from dlstudio.spec import RunSpec
    from dlstudio.studio import Studio

__all__ = ["train"]


def train(studio: Studio, spec: RunSpec | Mapping[str, Any] | None = None, *, resume_id: str | None = None,
          overrides: Sequence[str] = (), device: str | None = None, progress: bool = True,
          json_lines: bool = False, placement: Placement | None = None) -> RunInfo | None:
    """Train ``spec`` (a :class:`~dlstudio.spec.RunSpec` or a dict shaped like a spec file), or resume the run
    ``resume_id``, to its end; returns the run as :func:`dlstudio.runs.get_run` describes it afterwards.

    ``overrides`` (``section.key=value``, as ``--set``) and ``device`` change the spec; when resuming, only
    what a resumed run can take (its length, device, learning rate...: :mod:`dlstudio.resume`), the rest is
    refused. ``progress`` prints what ``dlstudio train`` prints (a bar per epoch, or JSON lines with
    ``json_lines``). A spec that does not validate raises :class:`~dlstudio.spec.SpecError` before anything is
    stored; a run that fails while training is returned with status "failed" and its message.

    ``placement`` (:class:`dlstudio.distributed.Placement`) trains the run with several processes through
    torchrun (``dlstudio train --nproc N``): the same run, rank 0 writing it; None is returned on a machine other
    than the first of several, which has no run of its own to describe.
    """
    from dlstudio.distributed import lists_gpus

    if placement is not None or lists_gpus(studio, spec, resume_id, device):
        from dlstudio.distributed import train_distributed

        return train_distributed(studio, spec, placement=placement, resume_id=resume_id, overrides=overrides,
                                 device=device, progress=progress, json_lines=json_lines)
    from dlstudio import runs
    from dlstudio.runner import Run, run_to_end
    from dlstudio.spec import RunSpec, toml_literal

    if (spec is None) == (resume_id is None):
        raise ValueError("give either a spec or a run to resume")
    if resume_id is not None:
        run = Run.resume(studio, resume_id, overrides=overrides, device=device)
    else:
        spec = spec if isinstance(spec, RunSpec) else RunSpec.from_dict(spec)
        changes = [*overrides, *([f"run.device={toml_literal(device)}"] if device else [])]
        run = Run(studio, spec.with_overrides(changes) if changes else spec)
    printer = None
    if progress:
        from dlstudio.cli_progress import ProgressPrinter

        printer = ProgressPrinter(json_lines=json_lines)
    run_ids: list[str] = []

    def on_record(record: Any) -> None:
        if getattr(record, "kind", "") == "run_started":
            run_ids.append(record.run_id)
        if printer is not None:
            printer(record)

    try:
        run_to_end(run, on_record)
    finally:
        if printer is not None:
            printer.close()
    return runs.get_run(studio, run_ids[-1] if run_ids else resume_id)
