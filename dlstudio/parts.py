"""What a run spec names, resolved against the plugins' registry: the model, dataset and task specs with every
parameter validated and filled in. The runner prepares runs from it; the window checks a spec with it before
queueing or showing one, so both refuse with the same words."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from dlstudio.spec import SpecError, check_params

if TYPE_CHECKING:
    from dlstudio.spec import RunSpec
    from dlstudio.studio import Studio


class Parts(NamedTuple):
    """What a spec names, resolved against the registry, with every parameter validated and filled in."""

    model_spec: Any
    data_spec: Any
    task_spec: Any
    model_params: dict
    data_params: dict
    task_params: dict


def resolve_parts(studio: Studio, spec: RunSpec) -> Parts:
    """Model, dataset and task specs for ``spec``, with their parameters validated and filled in."""
    reg = studio.registry
    try:
        model_spec = reg.models.get(spec.model.id)
        data_spec = reg.datasets.get(spec.data.id)
        task_spec = reg.tasks.get(spec.run.task)
    except KeyError as exc:
        raise SpecError(str(exc.args[0])) from None
    for owner, kind in ((model_spec, "model"), (data_spec, "dataset")):
        if spec.run.task not in owner.tasks:
            raise SpecError(f"[{'model' if kind == 'model' else 'data'}] {owner.id} cannot be used for task "
                            f"{spec.run.task!r} (it supports {', '.join(owner.tasks)})")
    model_params = check_params("model.params", f"model {model_spec.id!r}", spec.model.params,
                                model_spec.defaults, model_spec.choices)
    data_params = check_params("data.params", f"dataset {data_spec.id!r}", spec.data.params,
                               data_spec.defaults, data_spec.choices)
    task_params = check_params("task.params", f"task {task_spec.id!r}", spec.task.params,
                               task_spec.defaults, task_spec.choices)
    for callback_id in spec.run.callbacks:
        try:
            callback = reg.callbacks.get(callback_id)
        except KeyError as exc:
            raise SpecError(f"[run] callbacks: {exc.args[0]}") from None
        if callback.tasks and spec.run.task not in callback.tasks:
            raise SpecError(f"[run] callbacks: {callback_id!r} does not apply to task {spec.run.task!r} "
                            f"(only to {', '.join(callback.tasks)})")
    return Parts(model_spec, data_spec, task_spec, model_params, data_params, task_params)


def metric_declarations(task_spec: Any) -> list[dict[str, Any]]:
    """The task's declared metrics as plain dicts (for records that cross threads and JSON)."""
    return [metric.as_dict() for metric in getattr(task_spec, "metrics", ())]
