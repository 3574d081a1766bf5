import json

import pytest
import torch

from dlstudio.cli import build_parser
from tests.plugins.inspector.tiny_models import BookNet


def run_cli(studio, *argv):
    args = build_parser(studio).parse_args(list(argv))
    return args.handler(args, studio)


def test_inspect_prints_the_layer_table_with_totals(studio, capsys):
    assert run_cli(studio, "inspect", "tiny.resnet18") == 0
    out = capsys.readouterr().out
    assert "Total parameters: 11,689,512" in out
    assert "layer4" in out and "BasicBlock" in out and "1×1000" in out and "297.12 MFLOPs" in out


def test_inspect_json_graph_and_depth(studio, capsys):
    assert run_cli(studio, "inspect", "tiny.rnn", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["input_dtype"] == "int64" and data["output_shape"] == [1, 3]
    assert run_cli(studio, "inspect", "tiny.resnet18", "--graph", "--depth", "1") == 0
    out = capsys.readouterr().out
    assert "8 × add" in out and "depth 18" in out and "layer1.0" not in out


def test_inspect_a_state_dict_asks_for_the_architecture(studio, tmp_path, capsys):
    torch.save(BookNet(4).state_dict(), tmp_path / "w.pth")
    assert run_cli(studio, "inspect", str(tmp_path / "w.pth")) == 2
    assert "choose one. They fit: tiny.cnn" in capsys.readouterr().err
    assert run_cli(studio, "inspect", str(tmp_path / "w.pth"), "--arch", "tiny.cnn") == 0
    assert "conv2_drop" in capsys.readouterr().out


def test_inspect_errors_are_messages_not_tracebacks(studio, tmp_path, capsys):
    assert run_cli(studio, "inspect", "nothing-here") == 2
    assert "neither a file, a registered model" in capsys.readouterr().err
    assert run_cli(studio, "inspect", "run:missing") == 2
    assert "no run 'missing'" in capsys.readouterr().err
    assert run_cli(studio, "inspect", "tiny.cnn", "--input-shape", "1,32,32") == 2
    assert "3 input channels" in capsys.readouterr().err
    assert run_cli(studio, "inspect", "tiny.cnn", "--input-shape", "a,b") == 2


@pytest.mark.parametrize("fmt,name", [("onnx", "m.onnx"), ("torchscript", "m.pt"), ("safetensors", "m.safetensors")])
def test_export_command(studio, tmp_path, capsys, fmt, name):
    assert run_cli(studio, "export", "tiny.cnn", "--untrained", "--format", fmt, "-o", str(tmp_path / name)) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / name}" in out and "outputs match" in out and "UNTRAINED" in out
    assert (tmp_path / name).exists()


def test_export_of_a_run(studio, tmp_path, capsys):
    from tests.plugins.inspector.test_sources import _make_run

    run_id, _ = _make_run(studio)
    assert run_cli(studio, "export", f"run:{run_id}", "-f", "onnx", "-o", str(tmp_path / "r.onnx")) == 0
    assert "outputs match" in capsys.readouterr().out
