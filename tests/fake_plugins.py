"""In-memory plugins for the plugin-loading tests: a model spec, a module with hooks, a loader."""

from __future__ import annotations

import types

from dlstudio import hookimpl
from dlstudio.contract import ModelSpec
from dlstudio.plugins import load_plugins, module_candidate


def build(params, info):
    raise AssertionError("not built in these tests")


def model(ident: str = "fake.model", **kwargs) -> ModelSpec:
    return ModelSpec(id=ident, title=kwargs.pop("title", "Fake model"), build=build, **kwargs)


def plugin(name: str = "fake", contract: int | None = None, **hooks) -> types.ModuleType:
    """An in-memory plugin module: ``models=lambda register: ...`` becomes ``dlstudio_register_models``."""
    module = types.ModuleType(name)
    if contract is not None:
        module.DLSTUDIO_CONTRACT = contract
    for kind, function in hooks.items():
        setattr(module, f"dlstudio_register_{kind}", hookimpl(function))
    return module


def registers(kind: str, *items, name: str = "fake") -> types.ModuleType:
    return plugin(name, **{kind: lambda register: [register(item) for item in items]})


def load(*plugins: tuple[str, object], disabled=()):
    registry, records = load_plugins([module_candidate(name, module) for name, module in plugins], disabled)
    return registry, {r.name: r for r in records}
