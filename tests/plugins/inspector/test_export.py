import builtins

import onnx
import pytest
import torch

from dlstudio_inspector.export import ExportError, export, export_onnx
from dlstudio_inspector.sources import OpenedModel, open_file, open_registered
from tests.plugins.inspector.tiny_models import IMAGE, unsupported_model


@pytest.mark.parametrize("model_id", ["tiny.cnn", "tiny.rnn"])
def test_onnx_round_trip_matches(studio, tmp_path, model_id):
    opened = open_registered(studio, model_id)
    result = export(opened, "onnx", tmp_path / "m.onnx")
    assert result.path.exists() and result.size == result.path.stat().st_size > 0
    assert not list(tmp_path.glob("*.data"))  # one self-contained file
    assert result.opset and result.opset >= 17
    onnx.checker.check_model(onnx.load(str(result.path)))
    assert result.passed and result.max_abs_diff <= result.tolerance
    assert "outputs match" in result.describe() and "opset" in result.describe()


def test_onnx_is_verified_with_the_reference_evaluator_without_onnxruntime(studio, tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("not installed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    opened = open_registered(studio, "tiny.cnn")
    result = export(opened, "onnx", tmp_path / "m.onnx")
    assert result.verified_with.startswith("onnx reference evaluator") and result.passed


def test_torchscript_round_trip_then_reopen(studio, tmp_path):
    opened = open_registered(studio, "tiny.rnn")
    result = export(opened, "torchscript", tmp_path / "rnn.pt")
    assert result.passed and result.verified_with.startswith("torch.jit.load")
    again = open_file(studio, result.path, input_shape=(12,))
    assert again.kind == "torchscript"
    x = opened.sample()
    assert torch.allclose(again.model(x), opened.model(x))


def test_safetensors_round_trip_rebuilds_from_the_sidecar(studio, tmp_path):
    opened = open_registered(studio, "tiny.cnn", {"hidden": 9})
    result = export(opened, "safetensors", tmp_path / "cnn.safetensors", studio=studio)
    assert result.passed and result.max_abs_diff == 0 and "sidecar" in result.verified_with
    assert (tmp_path / "cnn.json").exists()
    again = open_file(studio, result.path)
    assert again.model.fc1.out_features == 9 and again.model_id == "tiny.cnn"


def test_export_of_an_unsupported_op_shows_the_exporters_reason(tmp_path):
    with pytest.raises(ExportError, match=r"refused this model.*No ONNX function found.*svd"):
        export_onnx(unsupported_model(), torch.randn(2, 4), tmp_path / "svd.onnx")
    assert not list(tmp_path.iterdir())  # nothing half-written is left behind


def test_export_with_an_input_of_the_wrong_shape_says_what_is_expected(studio, tmp_path):
    opened = open_registered(studio, "tiny.cnn")
    with pytest.raises(ExportError.__mro__[1], match="3 input channels"):
        export(opened, "onnx", tmp_path / "m.onnx", x=torch.randn(1, 1, 28, 28))
    with pytest.raises(ExportError.__mro__[1], match="unknown export format"):
        export(opened, "keras", tmp_path / "m.h5")


def test_an_unregistered_model_exports_its_weights_only(tmp_path):
    opened = OpenedModel(unsupported_model(), "svd", IMAGE, "file")
    opened.data = type(IMAGE)(input_shape=(4,), input_kind="vector")
    result = export(opened, "safetensors", tmp_path / "w")
    assert result.passed and result.path.name == "w.safetensors"
    assert any("weights only" in m for m in result.messages)


def test_a_torchscript_file_exports_to_onnx_with_the_torchscript_exporter(studio, tmp_path):
    opened = open_registered(studio, "tiny.cnn")
    export(opened, "torchscript", tmp_path / "cnn.pt")
    scripted = open_file(studio, tmp_path / "cnn.pt", input_shape=(3, 32, 32))
    result = export(scripted, "onnx", tmp_path / "cnn.onnx")
    assert result.passed and "TorchScript-based" in result.messages[0]
