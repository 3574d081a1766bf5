"""dlstudio: point-and-click deep learning, built from plugins.

The public API a plugin may use (docs/plugins.md): this module (``hookimpl``), :mod:`dlstudio.hookspecs`
and :mod:`dlstudio.contract` (the contract), plus :mod:`dlstudio.spec` (run specs),
:mod:`dlstudio.engine` (tasks, the loop), :mod:`dlstudio.modelio` and :mod:`dlstudio.checkpoints`
(models and weights), :mod:`dlstudio.runner` (headless runs) and, inside panel factories only,
:mod:`dlstudio.gui.context`, :mod:`dlstudio.gui.background`, :mod:`dlstudio.gui.forms` and
:mod:`dlstudio.gui.train_panel`. Everything else is internal::

    from dlstudio import hookimpl
    from dlstudio.contract import ModelSpec, DatasetSpec, ...
"""

import pluggy

__version__ = "0.1.0"

#: Name of the pluggy project and prefix of every hook.
PROJECT_NAME = "dlstudio"
#: Entry-point group through which every plugin, built-in or third-party, is found.
ENTRY_POINT_GROUP = "dlstudio.plugins"
#: Version of the plugin contract (hookspecs + contract dataclasses). A plugin may declare the
#: major version it was written for as a module attribute ``DLSTUDIO_CONTRACT = 1``.
CONTRACT_VERSION = (1, 1)

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["CONTRACT_VERSION", "ENTRY_POINT_GROUP", "PROJECT_NAME", "__version__", "hookimpl"]
