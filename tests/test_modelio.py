"""Building registered models and loading them back from checkpoints."""

from __future__ import annotations

import types

import pytest
import torch

from dlstudio import hookimpl
from dlstudio.checkpoints import CheckpointError, save_checkpoint
from dlstudio.contract import DataInfo, ModelSpec
from dlstudio.modelio import build_model, data_info_from_meta, load_model
from dlstudio.spec import SpecError
from tests.fixture_plugins import demo_plugin

BLOBS = DataInfo(input_shape=(4,), classes=("a", "b", "c"), input_kind="vector", extra={"mean": [0.5]})


@pytest.fixture
def studio(make_studio):
    sized = types.ModuleType("sized")

    @hookimpl
    def dlstudio_register_models(register):
        register(ModelSpec(id="sized.mlp", title="MLP with default data", build=demo_plugin.build_mlp,
                           defaults={"hidden": 4}, default_data=DataInfo(input_shape=(2, 3), classes=("x", "y"))))

    sized.dlstudio_register_models = dlstudio_register_models
    return make_studio(("demo", demo_plugin), ("sized", sized))


def checkpoint_of(loaded, path, **meta):
    info = {"architecture": loaded.spec.id, "model_params": loaded.params, "classes": list(loaded.data.classes),
            "input_shape": list(loaded.data.input_shape), "input_kind": loaded.data.input_kind,
            "preprocessing": dict(loaded.data.extra), **meta}
    return save_checkpoint(path, loaded.model.state_dict(), info)


def test_build_merges_params_over_the_defaults(studio):
    loaded = build_model(studio, "demo.mlp", {"hidden": 5}, BLOBS)
    assert loaded.params == {"hidden": 5} and loaded.spec.plugin == "demo" and loaded.meta == {}
    assert (loaded.path, loaded.epoch, loaded.run_id, loaded.weights) == (None, None, None, "")
    assert loaded.model(torch.zeros(2, 4)).shape == (2, 3)
    assert loaded.model[1].out_features == 5


def test_build_uses_the_models_default_data(studio):
    loaded = build_model(studio, "sized.mlp")
    assert loaded.data.input_shape == (2, 3) and loaded.model(torch.zeros(1, 2, 3)).shape == (1, 2)


def test_build_errors(studio):
    with pytest.raises(SpecError, match=r"\[model.params\] unknown key 'hiden' for model 'demo.mlp'"):
        build_model(studio, "demo.mlp", {"hiden": 3}, BLOBS)
    with pytest.raises(ValueError, match="needs to know its data"):
        build_model(studio, "demo.mlp")
    with pytest.raises(KeyError, match=r"Did you mean 'demo\.mlp'"):
        build_model(studio, "demo.mpl", {}, BLOBS)


def test_a_checkpoint_loads_back_with_its_architecture_and_data(studio, tmp_path):
    original = build_model(studio, "demo.mlp", {"hidden": 6}, BLOBS)
    path = checkpoint_of(original, tmp_path / "best", epoch=2, run_id="20240101-000000-abcdef")
    loaded = load_model(studio, path)
    assert loaded.spec.id == "demo.mlp" and loaded.params == {"hidden": 6}
    assert loaded.data == BLOBS and loaded.meta["epoch"] == 2
    assert (loaded.path, loaded.epoch, loaded.run_id, loaded.weights) == (path, 2, "20240101-000000-abcdef", "")
    x = torch.randn(3, 4)
    assert torch.equal(loaded.model(x), original.model(x))


def test_a_bare_state_dict_needs_an_architecture(studio, tmp_path):
    original = build_model(studio, "demo.mlp", {}, BLOBS)
    torch.save(original.model.state_dict(), tmp_path / "weights.pt")
    with pytest.raises(CheckpointError, match="does not say which architecture it holds: choose one"):
        load_model(studio, tmp_path / "weights.pt")
    loaded = load_model(studio, tmp_path / "weights.pt", architecture="demo.mlp", data=BLOBS)
    x = torch.randn(3, 4)
    assert torch.equal(loaded.model(x), original.model(x)) and loaded.meta == {}
    assert (loaded.path, loaded.epoch, loaded.run_id) == (tmp_path / "weights.pt", None, None)


def test_weights_for_other_params_do_not_fit(studio, tmp_path):
    path = checkpoint_of(build_model(studio, "demo.mlp", {"hidden": 6}, BLOBS), tmp_path / "c")
    with pytest.raises(CheckpointError, match=r"1\.weight: file \(6, 4\) vs model \(9, 4\)"):
        load_model(studio, path, params={"hidden": 9})


def test_data_info_from_meta():
    info = data_info_from_meta({"input_shape": [1, 28, 28], "classes": ["0", "1"], "preprocessing": {"mean": 0.1}})
    assert info == DataInfo(input_shape=(1, 28, 28), classes=("0", "1"), input_kind="image", extra={"mean": 0.1})
    assert data_info_from_meta({}).input_shape == ()
