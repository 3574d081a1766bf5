"""Opening ``.onnx`` files: the node table, totals, node panel and ONNX Runtime check, against torch and onnx."""

import json
import warnings

import onnx
import pytest
import torch
from onnx import TensorProto, helper
from torch import nn

from dlstudio.cli import build_parser
from dlstudio.gui.context import StudioContext
from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.onnx_model import OnnxGraphFile, load_onnx, run_check
from dlstudio_inspector.panels.onnx_view import OnnxView
from dlstudio_inspector.panels.preview import PreviewHost
from dlstudio_inspector.panels.session import Session
from dlstudio_inspector.sources import open_file


def tiny_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)).eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny conv net written by ``torch.onnx.export`` with a dynamic batch axis, and the net itself."""
    model = tiny_net()
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter's deprecation notice
        torch.onnx.export(model, (torch.randn(1, 1, 8, 8),), str(path), dynamo=False, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    return path, model


def broken_file(path):
    """A valid graph that cannot run: it reshapes 4 numbers into 3."""
    shape = helper.make_tensor("shape", TensorProto.INT64, [1], [3])
    node = helper.make_node("Reshape", ["x", "shape"], ["y"], name="bad_reshape")
    graph = helper.make_graph([node], "broken", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [shape])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_graph_matches_torch_and_onnx_own_reading(exported):
    path, model = exported
    graph = load_onnx(path)
    proto = onnx.load(str(path))
    assert [n.op_type for n in graph.nodes] == [n.op_type for n in proto.graph.node]
    assert graph.op_counts == {"Conv": 1, "Relu": 1, "Flatten": 1, "Gemm": 1}
    assert graph.parameters == sum(p.numel() for p in model.parameters()) == 475
    assert graph.opset == next(o.version for o in proto.opset_import if o.domain == "")
    assert graph.producer.startswith("pytorch")
    assert graph.inputs == {"input": ("batch", 1, 8, 8)}
    # inferred intermediate shapes agree with torch's own forward pass
    conv = graph.search("conv")[0]
    assert graph.shapes[conv.outputs[0]][1:] == tuple(model[0](torch.zeros(1, 1, 8, 8)).shape[1:])
    assert conv.attributes["kernel_shape"] == [3, 3]


def test_node_panel_weight_statistics_match_the_torch_tensors(exported):
    path, model = exported
    graph = load_onnx(path)
    gemm = graph.search("Gemm")
    assert len(gemm) == 1
    stats = {s.shape: s for s in graph.weights_of(gemm[0])}
    weight = model[3].weight.detach().double()
    w = stats[(3, 144)]
    assert w.min == pytest.approx(weight.min().item()) and w.max == pytest.approx(weight.max().item())
    assert w.mean == pytest.approx(weight.mean().item(), abs=1e-7)
    assert w.std == pytest.approx(weight.std(unbiased=False).item(), rel=1e-5)
    assert set(stats) == {(3, 144), (3,)}


def test_runs_in_onnx_runtime_at_a_dynamic_batch(exported):
    path, _ = exported
    check = run_check(load_onnx(path), batch=4)
    assert check.passed, check.message
    assert check.input_shapes == {"input": (4, 1, 8, 8)} and check.output_shapes == {"logits": (4, 3)}


def test_a_graph_that_does_not_run_says_so(tmp_path):
    check = run_check(load_onnx(broken_file(tmp_path / "broken.onnx")))
    assert not check.passed and "does not run in ONNX Runtime" in check.message


def test_the_inspectors_own_onnx_export_opens(tmp_path):
    from dlstudio_inspector.export import export_onnx

    model = tiny_net()
    result = export_onnx(model, torch.randn(1, 1, 8, 8), tmp_path / "own.onnx", other=torch.randn(2, 1, 8, 8))
    graph = load_onnx(result.path)
    assert graph.parameters == 475 and {"Conv", "Relu", "Gemm"} <= set(graph.op_counts)
    check = run_check(graph, batch=4)
    assert check.passed and list(check.output_shapes.values()) == [(4, 3)], check.message


def test_garbage_is_a_clear_message(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x80not a protobuf at all" * 10)
    with pytest.raises(InspectorError, match="not a readable ONNX file"):
        load_onnx(bad)


def test_pytorch_views_refuse_onnx_with_a_pointer(studio, exported):
    with pytest.raises(OnnxGraphFile, match="ONNX view"):
        open_file(studio, exported[0])


def run_cli(studio, *argv):
    args = build_parser(studio).parse_args(list(argv))
    return args.handler(args, studio)


def test_cli_prints_the_node_table(studio, exported, capsys, tmp_path):
    path, _ = exported
    assert run_cli(studio, "inspect", str(path)) == 0
    out = capsys.readouterr().out
    assert "Conv" in out and "Gemm" in out and "Parameters: 475" in out and "batch×4×6×6" in out
    assert "ONNX Runtime check: runs in ONNX Runtime" in out
    assert run_cli(studio, "inspect", str(path), "--json", "--batch", "2") == 0
    data = json.loads(capsys.readouterr().out)
    assert [n["op_type"] for n in data["nodes"]] == ["Conv", "Relu", "Flatten", "Gemm"]
    assert data["runtime_check"]["passed"] and "logits 2×3" in data["runtime_check"]["message"]
    assert run_cli(studio, "inspect", str(broken_file(tmp_path / "broken.onnx"))) == 1
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    assert run_cli(studio, "inspect", str(bad)) == 2
    assert "not a readable ONNX file" in capsys.readouterr().err


@pytest.fixture
def view(qtbot, studio):
    context = StudioContext(studio, PreviewHost())
    widget = OnnxView(Session(context))
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.session.wait_idle()
    context.shutdown()


def test_view_search_and_node_panel(view, exported, qtbot):
    path, model = exported
    view.open_path(path)
    assert view.session.wait_idle(30_000)
    assert view.nodes.rowCount() == 4 and "Parameters: 475" in view.totals.text()
    assert "runs in ONNX Runtime" in view.runtime.text()
    qtbot.keyClicks(view.search, "gemm")
    assert len(view.visible_nodes()) == 1 and "Gemm" in view.node_title.text()
    cells = {view.weights.item(r, 1).text(): view.weights.item(r, 3).text() for r in range(view.weights.rowCount())}
    assert cells["3×144"] == f"{model[3].weight.min().item():.4g}"
    view.search.clear()
    assert len(view.visible_nodes()) == 4
    view.select_node(view.graph.search("Conv")[0].label)
    attrs = {view.attributes.item(r, 0).text(): view.attributes.item(r, 1).text()
             for r in range(view.attributes.rowCount())}
    assert attrs["kernel_shape"] == "[3, 3]"


def test_view_shows_a_read_error(view, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    view.open_path(bad)
    assert view.session.wait_idle(30_000)
    assert "not a readable ONNX file" in view.title.text() and view.graph is None
