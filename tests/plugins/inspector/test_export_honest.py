"""Exports that tell the truth: the ONNX file takes any batch, a bare registered model is not exported as if it
were trained, and verification runs the file that was written (a tampered file fails it).

The references are independent of the exporter: ONNX Runtime on the written file, ``torch.jit.load`` and
``safetensors`` reading the written bytes, compared with the PyTorch model itself.
"""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import numpy_helper
from PySide6.QtCore import Qt
from torch import nn

import dlstudio.runs
from dlstudio_inspector.export import export
from dlstudio_inspector.panels.compare_export import ExportView
from dlstudio_inspector.sources import OpenedModel, open_file, open_registered
from tests.plugins.inspector.test_cli import run_cli
from tests.plugins.inspector.test_sources import _make_run
from tests.plugins.inspector.tiny_models import IMAGE, BookNet

# -- 1. a dynamic batch axis, verified at two batch sizes ----------------------------------------------------


def _run_onnxruntime(path, x: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]


@pytest.mark.parametrize("model_id", ["tiny.cnn", "tiny.rnn"])
def test_the_onnx_file_runs_at_batch_4_in_onnxruntime(studio, tmp_path, model_id):
    opened = open_registered(studio, model_id)
    result = export(opened, "onnx", tmp_path / "m.onnx", x=opened.sample(batch=1))
    for batch in (4, 7):  # 7: a size the export never saw
        x = opened.sample(batch=batch, seed=batch)
        with torch.no_grad():
            expected = opened.model(x).numpy()
        got = _run_onnxruntime(result.path, x)
        assert got.shape == expected.shape == (batch, len(opened.data.classes))
        np.testing.assert_allclose(got, expected, atol=1e-4)
    assert result.passed and "batch sizes 1 and 4" in result.describe()


def test_a_torchscript_model_exports_to_onnx_with_a_dynamic_batch_too(studio, tmp_path):
    export(open_registered(studio, "tiny.cnn"), "torchscript", tmp_path / "cnn.pt")
    scripted = open_file(studio, tmp_path / "cnn.pt", input_shape=(3, 32, 32))
    result = export(scripted, "onnx", tmp_path / "cnn.onnx")
    x = scripted.sample(batch=4, seed=4)
    with torch.no_grad():
        expected = scripted.model(x).numpy()
    np.testing.assert_allclose(_run_onnxruntime(result.path, x), expected, atol=1e-4)


class FixedBatchOfTwo(nn.Module):
    """A model whose forward pass only works at batch 2 (it adds a [2, 3] tensor)."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = nn.Parameter(torch.arange(6.0).reshape(2, 3))

    def forward(self, x):
        return x + self.offset


def test_a_model_that_fixes_its_batch_is_exported_at_that_batch_and_says_so(tmp_path):
    opened = OpenedModel(FixedBatchOfTwo(), "fixed", type(IMAGE)(input_shape=(3,), input_kind="vector"), "file")
    result = export(opened, "onnx", tmp_path / "f.onnx", x=torch.randn(2, 3))
    assert result.passed
    assert any("batch of 2 only" in m for m in result.messages), result.messages
    dims = onnx.load(str(result.path)).graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_value == 2  # what the note says is what the file holds


# -- 2. a bare registered model is untrained: refused without --untrained, and said plainly ------------------


def test_cli_refuses_to_export_a_bare_registered_model_without_untrained(studio, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert run_cli(studio, "export", "tiny.cnn", "-f", "onnx", "-o", str(out)) == 2
    err = capsys.readouterr().err
    assert "random" in err and "--untrained" in err and "run:RUN_ID" in err
    assert not out.exists()


@pytest.mark.parametrize("fmt,name", [("onnx", "m.onnx"), ("torchscript", "m.pt"), ("safetensors", "m.safetensors")])
def test_cli_exports_an_untrained_model_when_asked_and_says_so(studio, tmp_path, capsys, fmt, name):
    assert run_cli(studio, "export", "tiny.cnn", "--untrained", "-f", fmt, "-o", str(tmp_path / name)) == 0
    out = capsys.readouterr().out
    assert "UNTRAINED" in out and "outputs match" in out


def test_an_untrained_safetensors_export_stays_untrained_when_exported_again(studio, tmp_path, capsys):
    assert run_cli(studio, "export", "tiny.cnn", "--untrained", "-f", "safetensors", "-o", str(tmp_path / "w")) == 0
    capsys.readouterr()
    assert run_cli(studio, "export", str(tmp_path / "w.safetensors"), "-f", "onnx", "-o", str(tmp_path / "w.onnx")) == 2
    assert "--untrained" in capsys.readouterr().err and not (tmp_path / "w.onnx").exists()


def test_a_run_is_exported_as_trained(studio, tmp_path, capsys):
    run_id, _ = _make_run(studio)
    assert run_cli(studio, "export", f"run:{run_id}", "-f", "onnx", "-o", str(tmp_path / "r.onnx")) == 0
    out = capsys.readouterr().out
    assert "outputs match" in out and "UNTRAINED" not in out


@pytest.fixture
def export_view(qtbot, studio):
    from dlstudio.gui.context import StudioContext
    from dlstudio_inspector.panels.preview import PreviewHost
    from dlstudio_inspector.panels.session import Session

    context = StudioContext(studio, PreviewHost())
    session = Session(context)
    view = ExportView(session)
    qtbot.addWidget(view)
    view.show()
    yield view
    session.wait_idle()
    context.shutdown()


def test_the_export_view_warns_before_and_after_exporting_an_untrained_model(export_view, qtbot, studio, tmp_path):
    session = export_view.session
    session.set_model(open_registered(studio, "tiny.cnn"))
    assert export_view.untrained_label.isVisible() and "random" in export_view.untrained_label.text()
    export_view.format_combo.setCurrentText("onnx")
    export_view.path_edit.setText(str(tmp_path / "cnn.onnx"))
    qtbot.mouseClick(export_view.export_button, Qt.MouseButton.LeftButton)
    assert session.wait_idle(60_000)
    assert "UNTRAINED" in export_view.log.toPlainText() and (tmp_path / "cnn.onnx").exists()
    run_id, _ = _make_run(studio)
    from dlstudio_inspector.sources import open_run

    session.set_model(open_run(studio, run_id))
    assert not export_view.untrained_label.isVisible()


# -- 3. verification runs the written file: a tampered file fails it -----------------------------------------


def _tamper_onnx(monkeypatch):
    real = torch.onnx.export

    def writer(model, args, f, *rest, **kwargs):
        out = real(model, args, f, *rest, **kwargs)
        proto = onnx.load(str(f))
        init = next(i for i in proto.graph.initializer if i.data_type == onnx.TensorProto.FLOAT and len(i.dims) > 1)
        init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) + 0.5, init.name))
        onnx.save(proto, str(f))
        return out

    monkeypatch.setattr(torch.onnx, "export", writer)


def _tamper_torchscript(monkeypatch):
    real = torch.jit.save

    def writer(module, f, *rest, **kwargs):
        real(module, f, *rest, **kwargs)
        copy = torch.jit.load(str(f))
        with torch.no_grad():
            next(p for p in copy.parameters() if p.dim() > 1).add_(0.5)
        real(copy, f, *rest, **kwargs)

    monkeypatch.setattr(torch.jit, "save", writer)


def _tamper_safetensors(monkeypatch):
    real = dlstudio.runs.save_weights

    def writer(path, state, meta):
        state = dict(state)
        name = next(k for k, v in state.items() if v.dim() > 1)
        state[name] = state[name] + 0.5
        return real(path, state, meta)

    monkeypatch.setattr(dlstudio.runs, "save_weights", writer)


TAMPER = {"onnx": _tamper_onnx, "torchscript": _tamper_torchscript, "safetensors": _tamper_safetensors}


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "safetensors"])
@pytest.mark.parametrize("registered", [True, False], ids=["registered", "unregistered"])
def test_a_tampered_file_fails_verification(studio, tmp_path, monkeypatch, fmt, registered):
    # Unregistered: an architecture no plugin registers, so only the written file can say whether it is right.
    opened = open_registered(studio, "tiny.cnn") if registered else OpenedModel(BookNet(4), "book net", IMAGE, "file")
    TAMPER[fmt](monkeypatch)
    result = export(opened, fmt, tmp_path / f"m.{fmt}", studio=studio)
    assert result.passed is False and "OUTPUTS DIFFER" in result.describe()
    assert result.max_abs_diff > result.tolerance


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "safetensors"])
def test_an_untampered_unregistered_export_verifies_from_the_file(tmp_path, fmt):
    opened = OpenedModel(BookNet(4), "book net", IMAGE, "file")
    result = export(opened, fmt, tmp_path / f"m.{fmt}")
    assert result.passed and "written file" in result.verified_with


def test_cli_exit_status_is_1_when_the_written_file_differs(studio, tmp_path, monkeypatch, capsys):
    run_id, _ = _make_run(studio)
    _tamper_onnx(monkeypatch)
    assert run_cli(studio, "export", f"run:{run_id}", "-f", "onnx", "-o", str(tmp_path / "r.onnx")) == 1
    assert "OUTPUTS DIFFER" in capsys.readouterr().out


def test_a_torchscript_export_reopens_with_its_own_input_shape(studio, tmp_path):
    """The window could not reopen its own TorchScript export: it guessed 1×224×224. The export now writes the
    input shape into the file, and opening reads it."""
    from dlstudio_inspector.sources import open_torchscript

    run_id, _ = _make_run(studio)
    opened = open_file(studio, next(iter(dlstudio.runs.artifacts(studio, run_id).values())).path)
    path = tmp_path / "m.pt"
    export(opened, "torchscript", path)
    reopened = open_torchscript(path)  # exported here this session: trusted
    assert tuple(reopened.data.input_shape) == tuple(opened.data.input_shape) != (1, 224, 224)
    assert list(reopened.data.classes) == list(opened.data.classes)
