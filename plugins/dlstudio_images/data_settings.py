"""The one data definition the image pages share: the dataset and its parameters that the Data page previews
and the Train page trains on. Plain Python (no Qt): each page observes it and writes what its user edits,
so both always show — and the run's spec uses — exactly what was previewed."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

#: The key of the shared settings in the plugin's :meth:`StudioContext.plugin_state`.
STATE_KEY = "data_settings"


class DataSettings:
    """A dataset id, its parameter values, and the problems of the field that last set them (a value typed
    on one page that cannot be read is a problem of that page's form; the other page refuses to start
    while it stands instead of using another value)."""

    def __init__(self) -> None:
        self.data_id = ""
        self.params: dict[str, Any] = {}
        #: What is wrong with the values as the page that set them shows them ("Rotation: 'x' is not a number").
        self.problems: list[str] = []
        #: Which observer set the current values (its own problems are shown by its own form).
        self.origin: object | None = None
        self._observers: dict[int, tuple[object, Callable[[], None]]] = {}

    def observe(self, owner: object, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` after each change made by someone other than ``owner``; returns the
        function that stops it (a page calls it when it is destroyed)."""
        key = id(owner)
        self._observers[key] = (owner, callback)
        return lambda: self._observers.pop(key, None)

    def set(self, data_id: str, params: Mapping[str, Any], problems: list[str] | None = None,
            origin: object | None = None) -> bool:
        """Make ``data_id`` with ``params`` the data definition; True when it changed (observers told)."""
        params = copy.deepcopy(dict(params))
        problems = list(problems or [])
        if (data_id, params, problems) == (self.data_id, self.params, self.problems):
            return False
        self.data_id, self.params, self.problems, self.origin = data_id, params, problems, origin
        for owner, callback in list(self._observers.values()):
            if owner is not origin:
                callback()
        return True

    def foreign_problems(self, owner: object) -> list[str]:
        """The problems of values set by another page than ``owner`` (``owner``'s own form shows its own)."""
        return [] if self.origin is owner else list(self.problems)

    def snapshot(self) -> tuple[str, dict[str, Any]]:
        return self.data_id, copy.deepcopy(self.params)


def shared_data(context: Any) -> DataSettings:
    """The data definition every image page of this window shares."""
    state = context.plugin_state("images")
    if STATE_KEY not in state:
        state[STATE_KEY] = DataSettings()
    return state[STATE_KEY]
