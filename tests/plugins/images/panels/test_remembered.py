"""A Train page's values come back on the next start; what no longer applies is dropped with a note."""

import shutil

from dlstudio_images.panels.stub import stub_context
from dlstudio_images.panels.train_page import TrainPage
from tests.plugins.images.factory import make_folder


def _restart(qtbot, studio_home):
    """A fresh context and Train page over the same studio home: the window started again."""
    context = stub_context(studio_home)
    page = TrainPage(context)
    qtbot.addWidget(page)
    return context, page


def test_values_set_come_back_after_a_restart(qtbot, context, studio_home, tmp_path):
    root = make_folder(tmp_path / "pets", {"": {"cat": 2, "dog": 2}})
    page = TrainPage(context)
    qtbot.addWidget(page)
    panel = page.panel
    panel.model_box.select("images.resnet18", {"freeze": "layer3", "dropout": 0.3})
    panel.data_box.select("images.folder", {"root": str(root), "size": 48, "rotation": 15.0})
    panel.train_form.set_values({"lr": 0.0042, "epochs": 7})
    panel.advanced_form.set_values({"early_stopping": 3})
    panel.name_edit.setText("pets, take 2")
    expected = panel.current_spec().to_dict()
    panel.memory.save()

    other, again = _restart(qtbot, studio_home)
    try:
        assert again.panel.current_spec().to_dict() == expected
        assert again.panel.memory.notes == []
        assert again.panel.recipe_combo.currentData() == ""
    finally:
        other.shutdown()


def test_a_remembered_recipe_comes_back_as_that_recipe(qtbot, context, studio_home):
    page = TrainPage(context)
    qtbot.addWidget(page)
    page.panel.recipe_combo.setCurrentIndex(page.panel.recipe_combo.findData("shapes-scratch-cnn"))
    qtbot.waitUntil(lambda: context.remembered("images.train") is not None)  # saved shortly after the change
    other, again = _restart(qtbot, studio_home)
    try:
        assert again.panel.recipe_combo.currentData() == "shapes-scratch-cnn"
        assert again.panel.name_edit.text() == page.panel.name_edit.text()
    finally:
        other.shutdown()


def test_a_folder_that_is_gone_is_dropped_with_a_note(qtbot, context, studio_home, tmp_path):
    root = make_folder(tmp_path / "pets", {"": {"cat": 2, "dog": 2}})
    page = TrainPage(context)
    qtbot.addWidget(page)
    page.panel.data_box.select("images.folder", {"root": str(root), "size": 40})
    page.panel.memory.save()
    shutil.rmtree(root)

    other, again = _restart(qtbot, studio_home)
    try:
        form = again.panel.data_box.form()
        assert again.panel.data_box.current_id() == "images.folder"
        assert form.current_values()["root"] == "" and form.current_values()["size"] == 40
        assert any(str(root) in note and "no longer exists" in note for note in again.panel.memory.notes)
        assert any("remembered settings" in text for text, level in other._host.notices if level == "warning")
        assert "Image folder" in "\n".join(again.panel.problems())  # Start says to choose it, not a stale path
    finally:
        other.shutdown()


def test_a_model_that_is_gone_is_dropped_with_a_note(qtbot, context, studio_home):
    page = TrainPage(context)
    qtbot.addWidget(page)
    page.panel.train_form.set_values({"epochs": 3})
    spec = page.panel.current_spec().to_dict()
    spec["model"] = {"id": "images.removed_net", "weights": "", "params": {"depth": 5}}
    context.remember("images.train", {"recipe": "", "spec": spec})

    other, again = _restart(qtbot, studio_home)
    try:
        assert again.panel.model_box.current_id() == "images.mnist_net"  # the default recipe's model
        assert any("'images.removed_net' is no longer available" in note for note in again.panel.memory.notes)
        assert again.panel.model_box.form().current_values() == {"dropout": 0.25, "weights_file": ""}  # recipe's
        assert again.panel.current_spec().train.epochs == 3  # what still applies is kept
    finally:
        other.shutdown()
