"""dlstudio: point-and-click deep learning, built from plugins.

The contract a plugin may use (docs/plugins.md, "What the contract is"): this module (``hookimpl``,
``CONTRACT_VERSION``), :mod:`dlstudio.hookspecs` and :mod:`dlstudio.contract`, :mod:`dlstudio.params`
(parameter types), :mod:`dlstudio.engine` (tasks, the Stepper, callbacks, records), :mod:`dlstudio.runs`
(finished runs, their models and weights files), :mod:`dlstudio.spec` (run specs), :mod:`dlstudio.errors`
(the errors a user can fix) and, inside panel factories only, :mod:`dlstudio.gui.context`,
:mod:`dlstudio.gui.forms` and :mod:`dlstudio.gui.train_panel`. Everything else is internal::

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
#: major version it was written for as a module attribute ``DLSTUDIO_CONTRACT = 2``.
CONTRACT_VERSION = (2, 1)
#: Earlier major versions whose plugins still load, with a warning that points at the migration guide.
COMPATIBLE_CONTRACTS = frozenset({1})

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["COMPATIBLE_CONTRACTS", "CONTRACT_VERSION", "ENTRY_POINT_GROUP", "PROJECT_NAME", "__version__", "hookimpl"]
