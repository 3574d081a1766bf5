"""The whole plugin contract: the hooks a dlstudio plugin may implement.

Every hook receives a ``register`` callback and calls it once per thing it contributes, with one of the
dataclasses from :mod:`dlstudio.contract`. The host validates each item, tags it with the plugin's name
and rejects what does not fit with a message shown in the Plugins dialog and ``dlstudio plugins``.
Hooks are called one plugin at a time, so a plugin whose hook raises is disabled without stopping
the others.

An implementation may leave out arguments it does not use (pluggy's opt-in arguments), so later
versions of this contract can pass more without breaking existing plugins.

Contract version: :data:`dlstudio.CONTRACT_VERSION` (1.1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

from dlstudio import PROJECT_NAME

if TYPE_CHECKING:
    from dlstudio.contract import (
        CallbackSpec,
        CommandSpec,
        DatasetSpec,
        FamilySpec,
        ModelSpec,
        PanelSpec,
        RecipeSpec,
        TaskSpec,
    )

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


# ---------------------------------------------------------------------------------------------------
# What the plugin offers in the window
# ---------------------------------------------------------------------------------------------------


@hookspec
def dlstudio_register_families(register: Callable[[FamilySpec], None]) -> None:
    """Register the task families (entries of the window's left-hand list) this plugin provides.

    :param register: call with a :class:`~dlstudio.contract.FamilySpec` for each family.
    """


@hookspec
def dlstudio_register_panels(register: Callable[[PanelSpec], None]) -> None:
    """Register the panels shown in a family's page.

    A panel's ``factory`` is only called by the GUI; import Qt inside it so that the plugin still
    loads headless (CLI, tests, CI without a display).

    :param register: call with a :class:`~dlstudio.contract.PanelSpec` for each panel.
    """


# ---------------------------------------------------------------------------------------------------
# What a run is made of
# ---------------------------------------------------------------------------------------------------


@hookspec
def dlstudio_register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register model architectures.

    :param register: call with a :class:`~dlstudio.contract.ModelSpec` for each architecture.
    """


@hookspec
def dlstudio_register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register datasets (data sources that turn parameters into train/valid splits).

    :param register: call with a :class:`~dlstudio.contract.DatasetSpec` for each dataset.
    """


@hookspec
def dlstudio_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Register training tasks: the step function that turns a batch into a weight update.

    The core registers ``classification`` this way; a language model (carried hidden state), a GAN
    (two optimisers) or style transfer (L-BFGS closure) is just another task.

    :param register: call with a :class:`~dlstudio.contract.TaskSpec` for each task.
    """


@hookspec
def dlstudio_register_callbacks(register: Callable[[CallbackSpec], None]) -> None:
    """Register callbacks and loggers that runs can use (e.g. a TensorBoard logger, a sample grid saver).

    A callback sees every event of the training loop (:class:`dlstudio.engine.Callback`); a run uses it
    when its spec names it in ``[run] callbacks``, or always when the spec says ``always=True``.

    :param register: call with a :class:`~dlstudio.contract.CallbackSpec` for each callback.
    """


@hookspec
def dlstudio_register_recipes(register: Callable[[RecipeSpec], None]) -> None:
    """Register ready-made run specs ("recipes"), e.g. the book's presets.

    :param register: call with a :class:`~dlstudio.contract.RecipeSpec` for each recipe.
    """


# ---------------------------------------------------------------------------------------------------
# Headless entry points
# ---------------------------------------------------------------------------------------------------


@hookspec
def dlstudio_register_commands(register: Callable[[CommandSpec], None]) -> None:
    """Register ``dlstudio <name>`` sub-commands of the command-line interface.

    :param register: call with a :class:`~dlstudio.contract.CommandSpec` for each command.
    """
