"""Run specs: TOML round trip, and errors that name the key at fault."""

from __future__ import annotations

import tomllib

import pytest

from dlstudio.spec import RunSpec, SpecError, check_params, parse_value, toml_literal

FULL = {
    "run": {"name": "full", "task": "classification", "seed": 3, "device": "cpu"},
    "model": {"id": "demo.mlp", "weights": "w.safetensors", "params": {"hidden": 8, "act": "relu"}},
    "data": {"id": "demo.blobs", "params": {"samples": 64, "noise": 0.5, "nan": False, "sizes": [1, 2]}},
    "train": {"epochs": 2, "batch_size": 16, "optimizer": "adamw", "lr": 0.001, "scheduler": "multistep",
              "milestones": [1, 2], "gamma": 0.5, "weight_decay": 0.01, "early_stopping": 2, "keep_best": False},
}


def minimal(**sections) -> dict:
    return {"model": {"id": "m"}, "data": {"id": "d"}, **sections}


def error(raw) -> str:
    with pytest.raises(SpecError) as info:
        RunSpec.from_dict(raw)
    return str(info.value)


def test_toml_round_trip(tmp_path):
    spec = RunSpec.from_dict(FULL)
    assert spec.train.milestones == [1, 2] and spec.model.params == {"hidden": 8, "act": "relu"}
    assert RunSpec.from_dict(tomllib.loads(spec.to_toml())) == spec
    path = tmp_path / "run.toml"
    spec.save(path)
    loaded = RunSpec.load(path)
    assert loaded == spec
    assert loaded.to_dict() == spec.to_dict()
    assert loaded.to_dict()["train"]["lr"] == 0.001


def test_to_dict_is_a_copy():
    spec = RunSpec.from_dict(FULL)
    spec.to_dict()["model"]["params"]["hidden"] = 99
    assert spec.model.params["hidden"] == 8


def test_defaults_fill_in_what_a_spec_leaves_out():
    spec = RunSpec.from_dict(minimal())
    assert (spec.run.task, spec.run.seed, spec.run.device) == ("classification", 0, "auto")
    assert (spec.train.epochs, spec.train.optimizer, spec.train.scheduler) == (10, "sgd", "none")
    assert spec.model.params == {} and spec.model.weights == ""


def test_an_integer_is_accepted_for_a_float():
    spec = RunSpec.from_dict(minimal(train={"lr": 1}))
    assert spec.train.lr == 1.0 and isinstance(spec.train.lr, float)


def test_unknown_section_is_named_with_a_suggestion():
    message = error(minimal(trian={"epochs": 3}))
    assert "unknown section [trian] (did you mean 'train'?)" in message
    assert "sections are [run], [model], [data], [task], [train]" in message


def test_unknown_key_is_named_with_a_suggestion():
    assert error(minimal(train={"epoch": 3})) == "spec: [train] unknown key 'epoch' (did you mean 'epochs'?)"
    assert error(minimal(run={"sed": 3})).endswith("[run] unknown key 'sed' (did you mean 'seed'?)")
    assert error(minimal(train={"zzz": 3})) == "spec: [train] unknown key 'zzz'"


@pytest.mark.parametrize("section, key, value, expected", [
    ("train", "epochs", "ten", "[train] epochs: expected an integer, got 'ten'"),
    ("train", "epochs", 2.5, "[train] epochs: expected an integer, got 2.5"),
    ("train", "epochs", True, "[train] epochs: expected an integer, got True"),
    ("train", "lr", "fast", "[train] lr: expected a number, got 'fast'"),
    ("train", "nesterov", 1, "[train] nesterov: expected true or false, got 1"),
    ("train", "milestones", [1, "b"], "[train] milestones[1]: expected an integer, got 'b'"),
    ("train", "milestones", 3, "[train] milestones: expected a list, got 3"),
    ("run", "seed", "0", "[run] seed: expected an integer, got '0'"),
    ("run", "name", 5, "[run] name: expected a string, got 5"),
    ("model", "params", [1], "[model] params: expected a table, got [1]"),
])
def test_wrong_types_name_the_key(section, key, value, expected):
    raw = minimal()
    raw.setdefault(section, {})[key] = value
    assert error(raw) == expected


def test_missing_sections_and_ids():
    assert error({"model": {"id": "m"}}) == "spec: missing section [data] (it needs at least an 'id')"
    assert error({"model": {"id": "m"}, "data": {}}) == "spec: [data] id is missing"
    assert error({"model": 3, "data": {"id": "d"}}) == "spec: [model] must be a table, got int"
    assert error([1, 2]) == "spec: expected a table of sections, got list"


@pytest.mark.parametrize("train, expected", [
    ({"epochs": 0}, "[train] epochs: must be at least 1, got 0"),
    ({"batch_size": -2}, "[train] batch_size: must be at least 1, got -2"),
    ({"lr": 0}, "[train] lr: must be positive, got 0.0"),
    ({"weight_decay": -0.1}, "[train] weight_decay: must not be negative, got -0.1"),
    ({"plateau_patience": -1}, "[train] plateau_patience: must not be negative, got -1"),
    ({"gamma": 0}, "[train] gamma: must be positive, got 0.0"),
    ({"optimizer": "adamx"}, "[train] optimizer: 'adamx' is not one of sgd, adam, adamw"),
    ({"scheduler": "cyclic"}, "[train] scheduler: 'cyclic' is not one of none, step, multistep"),
])
def test_values_out_of_range_are_refused(train, expected):
    assert error(minimal(train=train)).startswith(expected)


def test_plateau_needs_a_gamma_below_one():
    assert "[train] gamma" in error(minimal(train={"scheduler": "plateau", "gamma": 1.5}))
    assert RunSpec.from_dict(minimal(train={"scheduler": "step", "gamma": 1.5})).train.gamma == 1.5


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        RunSpec.load(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nepochs = 3\n")
    with pytest.raises(SpecError, match=r"bad\.toml: not valid TOML"):
        RunSpec.load(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[model]\nid = "m"\n[data]\nid = "d"\n[train]\nepochs = "x"\n')
    with pytest.raises(SpecError, match=r"^\[train\] epochs: expected an integer, got 'x'$"):
        RunSpec.load(wrong)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[model]\nid = "m"\n[data]\nid = "d"\n[train]\nepoch = 3\n')
    with pytest.raises(SpecError, match=r"unknown\.toml: \[train\] unknown key 'epoch'"):
        RunSpec.load(unknown)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SpecError, match="cannot be read"):
        RunSpec.load(binary)


# -- overrides ---------------------------------------------------------------------------------------


def test_overrides_set_values_as_toml_literals():
    spec = RunSpec.from_dict(minimal())
    out = spec.with_overrides(["train.epochs=3", "train.lr=1e-3", "train.nesterov=true", "train.milestones=[2, 4]",
                               "run.device=cuda:0", 'run.name="a b"', "model.params.hidden=8",
                               "data.params.root=/data/x", " train.batch_size = 7 "])
    assert (out.train.epochs, out.train.lr, out.train.nesterov, out.train.milestones) == (3, 0.001, True, [2, 4])
    assert (out.run.device, out.run.name, out.train.batch_size) == ("cuda:0", "a b", 7)
    assert out.model.params == {"hidden": 8} and out.data.params == {"root": "/data/x"}
    assert spec.train.epochs == 10  # the original is untouched


@pytest.mark.parametrize("override, expected", [
    ("train.epoch=3", "--set train.epoch: [train] has no key 'epoch' (did you mean 'epochs'?)"),
    ("trian.epochs=3", "--set trian.epochs: unknown section [trian] (did you mean 'train'?)"),
    ("model.params=3", "--set model.params: set one parameter at a time, e.g. model.params.NAME=VALUE"),
    ("train.params=3", "--set train.params: [train] has no key 'params'"),
    ("train.lr.x=3", "--set train.lr.x: expected SECTION.KEY or model.params.KEY / data.params.KEY / task.params.KEY"),
    ("train.epochs", "--set 'train.epochs': expected KEY=VALUE, e.g. train.epochs=3"),
    ("train.epochs=ten", "[train] epochs: expected an integer, got 'ten'"),
    ("train.epochs=0", "[train] epochs: must be at least 1, got 0"),
])
def test_bad_overrides_say_what_is_wrong(override, expected):
    with pytest.raises(SpecError) as info:
        RunSpec.from_dict(minimal()).with_overrides([override])
    assert str(info.value) == expected


def test_parse_value():
    assert parse_value("3") == 3 and parse_value("0.5") == 0.5 and parse_value("false") is False
    assert parse_value('"3"') == "3" and parse_value("[1, 2]") == [1, 2] and parse_value("relu") == "relu"
    assert parse_value("") == ""


# -- model and data parameters -----------------------------------------------------------------------

DEFAULTS = {"hidden": 16, "dropout": 0.1, "act": "relu", "bias": True, "sizes": [1]}


def test_params_are_merged_over_the_defaults():
    merged = check_params("model.params", "model 'm'", {"hidden": 8, "dropout": 0}, DEFAULTS)
    assert merged == {**DEFAULTS, "hidden": 8, "dropout": 0.0}
    assert isinstance(merged["dropout"], float)


def test_an_unknown_param_names_the_key_and_the_known_ones():
    with pytest.raises(SpecError) as info:
        check_params("model.params", "model 'm'", {"hiden": 8}, DEFAULTS)
    assert str(info.value) == ("[model.params] unknown key 'hiden' for model 'm' (did you mean 'hidden'?); "
                               "known: hidden, dropout, act, bias, sizes")
    with pytest.raises(SpecError, match="known: none"):
        check_params("data.params", "dataset 'd'", {"x": 1}, {})


@pytest.mark.parametrize("params, expected", [
    ({"hidden": "8"}, "[model.params] hidden: expected an integer, got '8'"),
    ({"bias": 1}, "[model.params] bias: expected true or false, got 1"),
    ({"act": 3}, "[model.params] act: expected a string, got 3"),
    ({"act": "tanh"}, "[model.params] act: 'tanh' is not one of ['relu', 'gelu']"),
])
def test_param_types_and_choices_are_checked(params, expected):
    with pytest.raises(SpecError) as info:
        check_params("model.params", "model 'm'", params, DEFAULTS, {"act": ["relu", "gelu"]})
    assert str(info.value) == expected


def test_summary_lists_the_key_hyperparameters():
    spec = RunSpec.from_dict(minimal(train={"scheduler": "cosine", "weight_decay": 0.1, "epochs": 2}))
    assert spec.summary() == {"epochs": 2, "batch_size": 64, "optimizer": "sgd", "lr": 0.01, "scheduler": "cosine",
                              "weight_decay": 0.1}
    assert "scheduler" not in RunSpec.from_dict(minimal()).summary()


@pytest.mark.parametrize("value", [
    3, 1.5, True, "a \"quoted\" word", [0.485, 0.456, 0.406], [], {}, [{"a": 1}],
    {"mean": [0.5, 0.5], "odd key": {"é": 1}},
])
def test_toml_literal_is_one_line_that_parses_back(value):
    text = toml_literal(value)
    assert "\n" not in text
    assert parse_value(text) == value


def test_eval_every_without_steps_is_refused_not_ignored():
    with pytest.raises(SpecError, match=r"\[train\] eval_every: only a run measured in steps"):
        RunSpec.from_dict(minimal()).with_overrides(["train.eval_every=5"])
    spec = RunSpec.from_dict(minimal()).with_overrides(["train.steps=50", "train.eval_every=5"])
    assert (spec.train.steps, spec.train.eval_every) == (50, 5)
