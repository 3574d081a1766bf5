"""Parameters declared with :class:`Param`: checked when registered, checked in a spec, plain values in a run."""

from __future__ import annotations

import pytest

from dlstudio import hookimpl
from dlstudio.contract import ContractError, DatasetSpec, ModelSpec, TaskSpec
from dlstudio.params import Param, describe, param_defaults, param_title
from dlstudio.plugins import load_plugins, module_candidate
from dlstudio.runner import Run, run_to_end
from dlstudio.spec import RunSpec, SpecError, check_params
from tests.fixture_plugins import demo_plugin


def build(params, info):
    raise AssertionError("not built here")


def model(defaults, choices=None) -> ModelSpec:
    return ModelSpec(id="m", title="M", build=build, defaults=defaults, choices=choices or {})


def contract_error(defaults, choices=None) -> str:
    with pytest.raises(ContractError) as info:
        model(defaults, choices).validate()
    return str(info.value)


def spec_error(params, defaults, choices=None, where="model.params") -> str:
    with pytest.raises(SpecError) as info:
        check_params(where, "model 'm'", params, defaults, choices)
    return str(info.value)


# -- registering ---------------------------------------------------------------------------------------


def test_bare_values_and_params_may_be_mixed_in_defaults():
    model({"hidden": 32, "dropout": Param(0.1, minimum=0.0, maximum=1.0, help="share of units dropped"),
           "csv": Param("", kind="file", file_filter="CSV files (*.csv)"),
           "target": Param("", choices=lambda values: []),
           "act": "relu"}, {"act": ["relu", "gelu"]}).validate()


@pytest.mark.parametrize("defaults, choices, expected", [
    ({"dropout": Param(1.5, maximum=1.0)}, None, "parameter 'dropout': default 1.5 is above the maximum 1.0"),
    ({"layers": Param(0, minimum=1)}, None, "parameter 'layers': default 0 is below the minimum 1"),
    ({"shape": Param((1, 2))}, None, "parameter 'shape': default must be bool, int, float, str, list or dict"),
    ({"root": Param("", kind="directory")}, None, "parameter 'root': kind must be one of '', 'file', 'folder'"),
    ({"root": Param(3, kind="folder")}, None, "parameter 'root': a folder parameter needs a string default"),
    ({"name": Param("x", minimum=1)}, None, "parameter 'name': minimum applies to numbers only"),
    ({"p": Param(0.5, minimum=1.0, maximum=0.0)}, None, "parameter 'p': minimum 1.0 is above maximum 0.0"),
    ({"p": Param(0.5, maximum=float("inf"))}, None, "parameter 'p': maximum must be a finite number"),
    ({"act": Param("tanh", choices=["relu"])}, None, "parameter 'act': choices must be a list holding its default"),
    ({"act": Param("relu", choices="relu")}, None, "parameter 'act': choices must be a list holding its default"),
    ({"act": Param("relu", choices=["relu"])}, {"act": ["relu"]}, "choices for 'act' are given twice"),
    ({"act": Param("tanh")}, {"act": ["relu"]}, "choices for 'act' must be a list holding its default"),
    ({"act": Param("relu", help=3)}, None, "parameter 'act': help must be a string, got int"),
])
def test_a_param_that_cannot_work_is_refused_when_registered(defaults, choices, expected):
    assert contract_error(defaults, choices).startswith(f"model 'm': {expected}")


def test_the_bare_value_message_is_unchanged():
    assert contract_error({"shape": (1, 2)}) == ("model 'm': default 'shape' must be bool, int, float, str, list or "
                                                 "dict (something a TOML spec can hold), got tuple")


def test_a_plugin_registering_a_bad_param_gets_a_warning_and_the_item_is_dropped():
    class Plugin:
        @hookimpl
        def dlstudio_register_tasks(self, register):
            register(TaskSpec(id="bad.task", title="Bad", create=build, defaults={"k": Param(5, maximum=3)}))
            register(TaskSpec(id="good.task", title="Good", create=build, defaults={"k": Param(2, maximum=3)}))

    registry, records = load_plugins([module_candidate("p", Plugin())])
    (record,) = [r for r in records if r.name == "p"]
    assert "good.task" in registry.tasks and "bad.task" not in registry.tasks
    assert any("task 'bad.task': parameter 'k': default 5 is above the maximum 3" in w for w in record.warnings)


# -- checking a spec's parameters ------------------------------------------------------------------------

DEFAULTS = {"hidden": 16, "dropout": Param(0.1, minimum=0.0, maximum=1.0), "layers": Param(2, minimum=1),
            "act": Param("relu", choices=["relu", "gelu"]), "bias": True}


def test_params_merge_into_plain_values_whatever_the_declaration():
    merged = check_params("model.params", "model 'm'", {"dropout": 1, "layers": 3}, DEFAULTS)
    assert merged == {"hidden": 16, "dropout": 1.0, "layers": 3, "act": "relu", "bias": True}
    assert not any(isinstance(v, Param) for v in merged.values())
    assert isinstance(merged["dropout"], float)


@pytest.mark.parametrize("params, expected", [
    ({"dropout": 1.5}, "[model.params] dropout: 1.5 is above the maximum 1.0"),
    ({"dropout": -0.5}, "[model.params] dropout: -0.5 is below the minimum 0.0"),
    ({"layers": 0}, "[model.params] layers: 0 is below the minimum 1"),
    ({"act": "tanh"}, "[model.params] act: 'tanh' is not one of ['relu', 'gelu']"),
    ({"layers": "3"}, "[model.params] layers: expected an integer, got '3'"),
    ({"dropuot": 0.2}, "[model.params] unknown key 'dropuot' for model 'm' (did you mean 'dropout'?); "
                       "known: hidden, dropout, layers, act, bias"),
])
def test_ranges_choices_and_types_name_the_key(params, expected):
    assert spec_error(params, DEFAULTS) == expected


def test_the_range_is_inclusive():
    merged = check_params("model.params", "model 'm'", {"dropout": 1.0, "layers": 1}, DEFAULTS)
    assert (merged["dropout"], merged["layers"]) == (1.0, 1)


def columns_of(values):
    """Choices that depend on the data: the header of the CSV file the ``csv`` parameter names."""
    with open(values["csv"], encoding="utf-8") as f:
        return f.readline().strip().split(",")


CSV_DEFAULTS = {"csv": Param("", kind="file"), "target": Param("", choices=columns_of)}


def test_callable_choices_see_the_merged_params_and_check_the_value(tmp_path):
    table = tmp_path / "houses.csv"
    table.write_text("rooms,area,price\n3,80,200\n", encoding="utf-8")
    merged = check_params("data.params", "dataset 'd'", {"csv": str(table), "target": "price"}, CSV_DEFAULTS)
    assert merged == {"csv": str(table), "target": "price"}
    message = spec_error({"csv": str(table), "target": "cost"}, CSV_DEFAULTS, where="data.params")
    assert message == "[data.params] target: 'cost' is not one of ['rooms', 'area', 'price']"


def test_callable_choices_that_raise_name_the_parameter_and_why(tmp_path):
    missing = tmp_path / "nope.csv"
    message = spec_error({"csv": str(missing), "target": "price"}, CSV_DEFAULTS, where="data.params")
    assert message.startswith("[data.params] target: its choices could not be listed: FileNotFoundError: ")
    assert "nope.csv" in message


def test_a_separate_choices_mapping_still_applies_to_bare_values():
    assert spec_error({"act": "tanh"}, {"act": "relu"}, {"act": ["relu", "gelu"]}) == (
        "[model.params] act: 'tanh' is not one of ['relu', 'gelu']")
    assert describe({"act": "relu"}, {"act": ["relu", "gelu"]})["act"].choices == ["relu", "gelu"]
    assert param_defaults({"a": Param(1, maximum=3), "b": "x"}) == {"a": 1, "b": "x"}


# -- a run gets plain values -----------------------------------------------------------------------------

SEEN: dict[str, dict] = {}


def _build(params, info):
    SEEN["model"] = dict(params)
    return demo_plugin.build_mlp({"hidden": params["hidden"]}, info)


def _load(params, ctx):
    SEEN["data"] = dict(params)
    return demo_plugin.load_blobs({**params, "classes": 2, "features": 3, "nan": False}, ctx)


class ParamPlugin:
    @hookimpl
    def dlstudio_register_models(self, register):
        register(ModelSpec(id="pp.mlp", title="MLP", build=_build,
                           defaults={"hidden": Param(8, minimum=1, maximum=64, help="units", unit="units")}))

    @hookimpl
    def dlstudio_register_datasets(self, register):
        register(DatasetSpec(id="pp.blobs", title="Blobs", load=_load,
                             defaults={"samples": Param(60, minimum=10), "noise": Param(1.0, minimum=0.0)}))


def test_a_run_hands_plain_values_to_build_and_load(make_studio):
    SEEN.clear()
    studio = make_studio(("pp", ParamPlugin()))
    spec = RunSpec.from_dict({"run": {"device": "cpu"}, "model": {"id": "pp.mlp", "params": {"hidden": 4}},
                              "data": {"id": "pp.blobs"}, "train": {"epochs": 1, "batch_size": 16}})
    assert run_to_end(Run(studio, spec)).status == "completed"
    assert SEEN == {"model": {"hidden": 4}, "data": {"samples": 60, "noise": 1.0}}


def test_a_run_out_of_range_is_refused_before_it_trains(make_studio):
    studio = make_studio(("pp", ParamPlugin()))
    spec = RunSpec.from_dict({"run": {"device": "cpu"}, "model": {"id": "pp.mlp", "params": {"hidden": 100}},
                              "data": {"id": "pp.blobs"}})
    with pytest.raises(SpecError, match=r"^\[model.params\] hidden: 100 is above the maximum 64$"):
        run_to_end(Run(studio, spec))


# -- titles ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key, title", [
    ("lr", "Learning rate"),
    ("amp", "Mixed precision (AMP)"),
    ("in_memory_mb", "In-memory cache (MB)"),
    ("batch_size", "Batch size"),
    ("valid_fraction", "Validation fraction"),
    ("num_classes", "Number of classes"),
    ("max_len", "Maximum length"),
    ("csv_path", "CSV path"),
    ("hidden", "Hidden"),
])
def test_titles_read_like_language(key, title):
    assert param_title(key) == title


def test_a_params_own_title_wins():
    assert param_title("lr", Param(0.1, title="Step size")) == "Step size"
