"""dlstudio: point-and-click deep learning, built from plugins.

A plugin imports only what this module and :mod:`dlstudio.contract` export::

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
CONTRACT_VERSION = (1, 0)

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["CONTRACT_VERSION", "ENTRY_POINT_GROUP", "PROJECT_NAME", "__version__", "hookimpl"]
