"""The inspector's panel, driven as a user would (offscreen), on a context with a stand-in window."""

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import Qt

from dlstudio.checkpoints import save_checkpoint
from dlstudio.gui.context import StudioContext
from dlstudio_inspector.panels.main import InspectorPanel
from dlstudio_inspector.panels.preview import PreviewHost
from dlstudio_inspector.plugin import PANEL
from dlstudio_inspector.sources import open_registered
from tests.plugins.inspector.test_sources import _make_run, _meta
from tests.plugins.inspector.tiny_models import BookNet


@pytest.fixture
def panel(qtbot, studio):
    host = PreviewHost()
    context = StudioContext(studio, host)
    widget = InspectorPanel(context, PANEL)
    widget.host = host
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    yield widget
    widget.session.wait_idle()
    context.shutdown()


def idle(panel):
    assert panel.session.wait_idle(60_000), "a background job did not finish"


def open_model(panel, qtbot, model_id):
    bar = panel.source
    bar.set_kind("registered")
    bar.model_combo.setCurrentIndex(bar.model_combo.findData(model_id))
    qtbot.mouseClick(bar.open_button, Qt.MouseButton.LeftButton)
    idle(panel)
    assert panel.session.opened is not None and panel.session.opened.model_id == model_id


def no_hooks(panel):
    return all(not m._forward_hooks for m in panel.session.opened.model.modules())


def test_layer_table_of_an_opened_model(panel, qtbot):
    open_model(panel, qtbot, "tiny.resnet18")
    idle(panel)
    assert "Total parameters: 11,689,512" in panel.layers.totals.text()
    assert {"layer1", "layer4.1.conv2", "fc"} <= set(panel.layers._items)
    panel.layers.search_edit.setText("downsample")
    assert not panel.layers._items["layer2.0.downsample"].isHidden()
    assert panel.layers._items["layer1.0.conv1"].isHidden()
    assert no_hooks(panel) and not panel.host.errors


def test_graph_node_click_selects_the_layer(panel, qtbot):
    open_model(panel, qtbot, "tiny.resnet18")
    panel.tabs.setCurrentWidget(panel.graph)
    idle(panel)
    assert panel.graph.graph.traced and "8 merge points" in panel.graph.message.text()
    assert panel.graph.canvas.items_by_id
    node = next(i for i in panel.graph.canvas.items_by_id.values() if i.node.module == "layer3.0.conv1")
    panel.graph.canvas.centerOn(node)
    center = panel.graph.canvas.mapFromScene(node.sceneBoundingRect().center())
    qtbot.mouseClick(panel.graph.canvas.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert panel.tabs.currentWidget() is panel.layers
    idle(panel)
    assert panel.layers.tree.currentItem().data(0, Qt.ItemDataRole.UserRole) == "layer3.0.conv1"
    # Blocks collapse and expand.
    panel.tabs.setCurrentWidget(panel.graph)
    before = len(panel.graph.canvas.items_by_id)
    qtbot.mouseClick(panel.graph.collapse_button, Qt.MouseButton.LeftButton)
    assert len(panel.graph.canvas.items_by_id) < before
    group = next(n.node for n in panel.graph.canvas.items_by_id.values() if n.node.kind == "group")
    panel.graph._toggle(group)
    assert group.module not in panel.graph.collapsed


def test_activations_step_through_layers_and_page(panel, qtbot):
    open_model(panel, qtbot, "tiny.cnn")
    view = panel.activations
    panel.tabs.setCurrentWidget(view)
    idle(panel)
    assert view.layer_combo.currentData() == "conv1"
    assert view.maps.shape == (10, 28, 28) and view.image.image() is not None
    assert view.stats.rowCount() == 10
    qtbot.mouseClick(view.next_button, Qt.MouseButton.LeftButton)
    idle(panel)
    assert view.layer_combo.currentData() == "conv2" and view.maps.shape == (20, 10, 10)
    view.per_page.setCurrentIndex(0)  # 16 per page
    assert view.page_spin.maximum() == 2
    view.page_spin.setValue(2)
    assert view.current.cells[0][0] == 16 and len(view.current.cells) == 4
    view.relu_box.setChecked(True)
    assert all(s.min >= 0 for s in view.current.stats)
    assert "map 16" in view._cell_text(view.current.cells[0][1], view.current.cells[0][2])
    assert no_hooks(panel) and not panel.host.errors


def test_weights_attribution_and_activation_functions(panel, qtbot):
    open_model(panel, qtbot, "tiny.cnn")
    panel.tabs.setCurrentWidget(panel.weights)
    assert panel.weights.layer_combo.currentData() == "conv1"
    assert panel.weights.filters.image() is not None and "10 filters" in panel.weights.info.text()
    panel.tabs.setCurrentWidget(panel.attribution)
    idle(panel)
    assert panel.attribution.result is not None and panel.attribution.result.heat.shape == (32, 32)
    assert "Predicted" in panel.attribution.info.text()
    panel.attribution.method_combo.setCurrentIndex(panel.attribution.method_combo.findData("saliency"))
    idle(panel)
    assert panel.attribution.result.method == "saliency"
    panel.tabs.setCurrentWidget(panel.actfuncs)
    panel.actfuncs.boxes["gelu"].setChecked(True)
    assert "GELU" in panel.actfuncs.formula.text()
    assert no_hooks(panel) and not panel.host.errors


def test_feature_visualisation_runs_on_a_copy_and_stops(panel, qtbot):
    open_model(panel, qtbot, "tiny.cnn")
    view = panel.featvis
    panel.tabs.setCurrentWidget(view)
    view.steps_spin.setValue(400)
    view.size_spin.setValue(32)
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(view.values) >= 2 or view.job is None, timeout=30_000)
    assert len(view.values) >= 2, view.info.text()
    assert view.start_button.text() == "Stop"
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.job is None, timeout=30_000)
    assert view.start_button.text() == "Start" and len(view.values) < 400 // 6
    assert view.image.image() is not None
    assert no_hooks(panel)


def test_compare_and_export(panel, qtbot, tmp_path):
    open_model(panel, qtbot, "tiny.cnn")
    panel.tabs.setCurrentWidget(panel.compare)
    qtbot.mouseClick(panel.compare.add_current, Qt.MouseButton.LeftButton)
    panel.compare.model_combo.setCurrentIndex(panel.compare.model_combo.findData("tiny.rnn"))
    qtbot.mouseClick(panel.compare.add_registered, Qt.MouseButton.LeftButton)
    idle(panel)
    assert panel.compare.table.columnCount() == 2
    panel.tabs.setCurrentWidget(panel.export)
    panel.export.format_combo.setCurrentText("onnx")
    panel.export.path_edit.setText(str(tmp_path / "cnn.onnx"))
    qtbot.mouseClick(panel.export.export_button, Qt.MouseButton.LeftButton)
    idle(panel)
    assert "outputs match" in panel.export.log.toPlainText() and (tmp_path / "cnn.onnx").exists()
    assert not panel.host.errors


def test_model_open_message_brings_the_panel_forward(panel, qtbot, studio, tmp_path):
    original = open_registered(studio, "tiny.rnn")
    save_checkpoint(tmp_path / "rnn", original.model.state_dict(), _meta(original))
    panel.context.post("model.open", {"path": str(tmp_path / "rnn.safetensors")})
    idle(panel)
    assert panel.host.shown == [PANEL]
    assert panel.session.opened.model_id == "tiny.rnn" and panel.session.x.dtype == torch.int64
    panel.context.post("other.topic", {"path": "x"})
    assert panel.host.shown == [PANEL]


def test_bad_files_and_a_state_dict_that_needs_an_architecture(panel, qtbot, tmp_path, monkeypatch):
    (tmp_path / "notes.txt").write_text("not a model")
    panel.source.open_path(tmp_path / "notes.txt")
    idle(panel)
    assert "not a model file" in panel.status.text() and panel.session.opened is None
    torch.save(BookNet(4).state_dict(), tmp_path / "w.pth")
    from PySide6.QtWidgets import QInputDialog

    asked = []

    def choose(_parent, _title, _label, items, *_args):
        asked.append(items)
        return items[0], True

    monkeypatch.setattr(QInputDialog, "getItem", choose)
    panel.open_dropped(str(tmp_path / "w.pth"))
    idle(panel)
    assert asked and asked[0][0] == "tiny.cnn  ✓ fits"
    idle(panel)
    assert panel.session.opened is not None and panel.session.opened.model_id == "tiny.cnn"
    assert not panel.host.errors


def test_dropped_image_becomes_the_input(panel, qtbot, tmp_path):
    open_model(panel, qtbot, "tiny.cnn")
    Image.fromarray(np.full((40, 40, 3), 200, dtype=np.uint8)).save(tmp_path / "grey.png")
    panel.open_dropped(str(tmp_path / "grey.png"))
    idle(panel)
    assert "grey.png" in panel.session.input_label and panel.session.x.shape == (1, 3, 32, 32)
    assert panel.source.input_combo.currentIndex() == 2


def test_following_a_training_run_reloads_its_latest_checkpoint(panel, qtbot, studio):
    run_id, original = _make_run(studio, epochs=(1,), kinds=("last",))
    panel.source.reload_lists()
    bar = panel.source
    bar.run_combo.setCurrentIndex(bar.run_combo.findData(run_id))
    bar.which_combo.setCurrentText("last")
    bar.set_kind("run")
    qtbot.mouseClick(bar.open_button, Qt.MouseButton.LeftButton)
    idle(panel)
    assert panel.session.opened.epoch == 1 and bar.follow_box.isEnabled()
    bar.follow_box.setChecked(True)
    path = save_checkpoint(studio.store.run_dir(run_id) / "checkpoints" / "last",
                           {k: v * 2 for k, v in original.model.state_dict().items()}, _meta(original, epoch=2))
    studio.store.add_artifact(run_id, "last", path, 2)
    panel.context.run_epoch.emit(run_id, {"epoch": 2})
    idle(panel)
    assert panel.session.opened.epoch == 2
    assert torch.equal(panel.session.opened.model.fc2.bias, original.model.fc2.bias * 2)


def test_the_page_has_the_new_views_and_opens_an_onnx_file_in_its_own(panel, qtbot, tmp_path):
    """Distributions, Projector and ONNX are tabs of the page; an .onnx file (not a PyTorch model) opened from the
    source bar goes to the ONNX view."""
    titles = [panel.tabs.tabText(i) for i in range(panel.tabs.count())]
    assert {"Distributions", "Projector", "ONNX"} <= set(titles)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3)).eval()
    path = tmp_path / "m.onnx"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter's deprecation notice
        torch.onnx.export(model, (torch.zeros(2, 3, 2, 2),), str(path), dynamo=False)
    panel.source.open_path(path)
    assert panel.tabs.currentWidget() is panel.onnx
    idle(panel)
    assert panel.onnx.nodes.rowCount() >= 2 and "runs in ONNX Runtime" in panel.onnx.runtime.text()
