"""Where dlstudio's bundled resources are: the application icon and the task families' icons.

They live in the top-level ``resources/`` folder of the source tree, as the package ``dlstudio_resources``
(``resources/dlstudio_resources``), which the wheel ships with its package data. Qt-free: paths only.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: The source tree's copy, used when dlstudio runs from it (an editable install made before the folder existed,
#: or ``PYTHONPATH=.``), where ``dlstudio_resources`` is not importable.
_SOURCE_TREE = Path(__file__).resolve().parents[1] / "resources" / "dlstudio_resources"


def resources_dir() -> Path:
    """The folder holding ``icons/``; the installed package's when there is one."""
    try:
        spec = importlib.util.find_spec("dlstudio_resources")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return _SOURCE_TREE


def app_icon_path() -> Path:
    return resources_dir() / "icons" / "dlstudio.svg"


def family_icon_path(family_id: str) -> Path:
    """The icon of a built-in family; a third party's family gets the generic plugin icon."""
    path = resources_dir() / "icons" / "families" / f"{family_id}.svg"
    return path if path.is_file() else resources_dir() / "icons" / "families" / "plugin.svg"
