"""The host's own contributions, registered through the same hooks as any plugin."""

from __future__ import annotations

from dlstudio import hookimpl
from dlstudio.contract import TaskSpec


def _classification(ctx):
    from dlstudio.engine.classification import ClassificationTask

    return ClassificationTask(ctx)


@hookimpl
def dlstudio_register_tasks(register):
    register(TaskSpec(
        id="classification",
        title="Supervised classification",
        create=_classification,
        description="(inputs, labels) batches, cross-entropy loss, accuracy.",
    ))
