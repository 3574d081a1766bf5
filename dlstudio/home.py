"""Where dlstudio keeps its files, and the few settings the headless core needs."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import platformdirs

HOME_ENV = "DLSTUDIO_HOME"
DISABLED_ENV = "DLSTUDIO_DISABLED_PLUGINS"


class HomeError(RuntimeError):
    """The data folder cannot be used."""


def studio_home() -> Path:
    """``$DLSTUDIO_HOME`` if set, else the platform's user data folder; created, and checked writable."""
    configured = os.environ.get(HOME_ENV)
    home = Path(configured).expanduser() if configured else Path(platformdirs.user_data_dir("dlstudio"))
    where = f"{HOME_ENV}={configured}" if configured else f"the data folder {home}"
    if home.exists() and not home.is_dir():  # checked first: mkdir would only say "File exists"
        raise HomeError(f"{where} is not a folder; set {HOME_ENV} to a writable folder")
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HomeError(f"{where} cannot be created ({exc.strerror}); set {HOME_ENV} to a writable folder") from None
    try:  # a probe of this process's own (a fixed name is unlinked by another process checking at once)
        with tempfile.TemporaryFile(dir=home):
            pass
    except OSError as exc:
        raise HomeError(f"{where} is not writable ({exc.strerror}); set {HOME_ENV} to a writable folder") from None
    return home


class Settings:
    """A small JSON file of settings the CLI and the GUI share (e.g. disabled plugins)."""

    def __init__(self, home: Path) -> None:
        self.path = home / "settings.json"

    def _stored_disabled(self, data: dict) -> set[str]:
        names = data.get("disabled_plugins", [])
        if isinstance(names, str):  # a hand-edited "disabled_plugins": "name" means that one plugin
            names = [names]
        return {str(n) for n in names} if isinstance(names, list) else set()

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)

    def disabled_plugins(self) -> set[str]:
        """Plugins disabled in the settings file plus those named in ``$DLSTUDIO_DISABLED_PLUGINS``."""
        stored = self._stored_disabled(self._read())
        from_env = {n.strip() for n in os.environ.get(DISABLED_ENV, "").split(",") if n.strip()}
        return stored | from_env

    def set_plugin_enabled(self, name: str, enabled: bool) -> None:
        data = self._read()
        disabled = self._stored_disabled(data)
        disabled.discard(name) if enabled else disabled.add(name)
        data["disabled_plugins"] = sorted(disabled)
        self._write(data)
