"""The headless application object: data folder, settings, loaded plugins and run store together."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

from dlstudio.home import Settings, studio_home
from dlstudio.plugin_safety import LoadingMarker, safe_mode_requested
from dlstudio.plugins import Candidate, PluginRecord, Registry, entry_point_candidates, load_plugins
from dlstudio.spec import RunSpec, SpecError
from dlstudio.store import RunStore


class Studio:
    def __init__(self, home: Path, registry: Registry, plugins: list[PluginRecord]) -> None:
        self.home = home
        self.registry = registry
        self.plugins = plugins
        self.settings = Settings(home)

    @classmethod
    def open(cls, home: Path | None = None, candidates: Iterable[Candidate] | None = None) -> Studio:
        """Open the data folder and load the plugins (those installed, unless ``candidates`` is given)."""
        home = Path(home) if home is not None else studio_home()
        settings = Settings(home)
        found = entry_point_candidates() if candidates is None else list(candidates)
        # Safe mode and the crash-recovery marker: dlstudio/plugin_safety.py.
        registry, records = load_plugins(found, settings.disabled_plugins(), safe_mode=safe_mode_requested(),
                                         watch=LoadingMarker(home).watch)
        return cls(home, registry, records)

    @cached_property
    def store(self) -> RunStore:
        return RunStore(self.home)

    @property
    def cache_dir(self) -> Path:
        path = self.home / "cache"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def recipe_spec(self, recipe_id: str, overrides: list[str] = ()) -> RunSpec:
        try:
            recipe = self.registry.recipes.get(recipe_id)
        except KeyError as exc:
            raise SpecError(str(exc.args[0])) from None
        spec = RunSpec.from_dict(recipe.spec, source=f"recipe {recipe_id}")
        if not spec.run.name:
            spec.run.name = recipe.title
        return spec.with_overrides(list(overrides)) if overrides else spec

    def plugin_record(self, name: str) -> PluginRecord | None:
        return next((r for r in self.plugins if r.name == name), None)
