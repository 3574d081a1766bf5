"""Forms as a person uses them (issue 14, items 3 and 4): paths dropped or browsed, labels in words, lists as
comma lists, fields that appear only when they apply, problems shown as they are typed, the wheel left to the
page. Each test checks what the user sees, against values written out by hand."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from dlstudio.gui.forms import ParamForm, link_forms, train_form_parts
from dlstudio.params import Param, param_problem


def make(qtbot, defaults, choices=None):
    widget = ParamForm(defaults, choices)
    qtbot.addWidget(widget)
    return widget


def label_of(form, key):
    return form.layout().labelForField(form.widget(key).parentWidget()).text()


def drop(widget, *paths):
    """Drop ``paths`` on ``widget`` as a file manager does: file:// URLs, and the same URLs as plain text."""
    mime = QMimeData()
    urls = [QUrl.fromLocalFile(str(path)) for path in paths]
    mime.setUrls(urls)
    mime.setText("\n".join(url.toString() for url in urls))
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(QPoint(2, 2), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    event = QDropEvent(QPointF(2, 2), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


# -- item 3: folders and files ---------------------------------------------------------------------------


def test_a_folder_dropped_on_a_plain_text_field_becomes_its_path_not_a_url(qtbot, tmp_path):
    # The images plugin's "root" is a bare "" default: a text field, where a drop used to insert file:///...
    form = make(qtbot, {"root": ""})
    assert drop(form.widget("root"), tmp_path)
    assert form.values() == {"root": str(tmp_path)}


def test_several_folders_dropped_on_a_folder_field_give_the_first(qtbot, tmp_path):
    first, second = tmp_path / "cats", tmp_path / "dogs"
    first.mkdir()
    second.mkdir()
    form = make(qtbot, {"root": Param("", kind="folder")})
    assert drop(form.widget("root"), first, second)
    assert form.widget("root").text() == str(first)


def test_every_path_parameter_has_a_browse_button(qtbot):
    form = make(qtbot, {"root": Param("", kind="folder"), "weights": Param("", kind="file"), "name": "x"})
    assert form.browse_button("root").text() == "Browse…"
    assert form.browse_button("weights").text() == "Browse…"
    with pytest.raises(KeyError):
        form.browse_button("name")


def test_an_empty_required_folder_asks_for_the_folder_by_its_title(qtbot, tmp_path):
    form = make(qtbot, {"root": Param("", kind="folder", required=True, title="Image folder")})
    problems = form.validate()
    assert problems == ["Image folder: empty: choose the image folder (Browse… or drop it on the field)"]
    assert "data.params" not in problems[0] and form.is_marked("root")
    drop(form.widget("root"), tmp_path)
    assert form.problems() == [] and not form.is_marked("root")


def test_required_must_be_a_bool():
    assert param_problem(Param("", kind="folder", required="yes")) == "required must be True or False, got 'yes'"
    assert param_problem(Param("", kind="folder", required=True)) == ""


# -- item 4: labels, lists, tooltips ---------------------------------------------------------------------


def test_labels_are_words_people_use(qtbot):
    form = make(qtbot, {"lr": 0.1, "amp": False, "hflip": False, "in_memory_mb": 512, "max_iou": 0.5,
                        "cpu_threads": 2, "image_size_px": 28})
    assert [label_of(form, key) for key in form.params] == [
        "Learning rate", "Mixed precision (AMP)", "Horizontal flip", "In-memory cache (MB)", "Maximum IoU",
        "CPU threads", "Image size (px)"]


def test_a_list_is_an_editable_comma_list(qtbot):
    form = make(qtbot, {"milestones": [], "sizes": [64, 32], "mean": [0.5, 0.25], "names": ["cat", "dog"]})
    assert [form.widget(key).text() for key in form.params] == ["", "64, 32", "0.5, 0.25", "cat, dog"]
    form.widget("milestones").setText("30, 60")
    form.widget("mean").setText("0.5, 1")  # a whole number in a list of floats is that float
    form.widget("names").setText("cat, dog, bird")
    assert form.values() == {"milestones": [30, 60], "sizes": [64, 32], "mean": [0.5, 1.0],
                             "names": ["cat", "dog", "bird"]}
    form.widget("sizes").setText("64, wide")
    assert form.problems() == ["Sizes: 'wide' is not a whole number (a comma list like 64, 32)"]


def test_choices_show_their_labels(qtbot):
    form = make(qtbot, {"channels": Param(0, choices=[0, 1, 3],
                                          choice_labels={0: "as stored", 1: "grey", 3: "colour"})})
    box = form.widget("channels")
    assert [box.itemText(i) for i in range(box.count())] == ["as stored", "grey", "colour"]
    box.setCurrentIndex(2)
    assert form.values() == {"channels": 3}


def test_every_train_field_and_label_has_a_tooltip_with_its_help(qtbot):
    basic, advanced, choices = train_form_parts()
    forms = [make(qtbot, basic, choices), make(qtbot, advanced, choices)]
    for form in forms:
        for key, param in form.params.items():
            assert param.help and param.help in form.widget(key).toolTip()
            label = form.layout().labelForField(form.widget(key).parentWidget())
            assert param.help in label.toolTip()


# -- item 4: fields that apply ---------------------------------------------------------------------------


@pytest.fixture
def train_forms(qtbot):
    basic, advanced, choices = train_form_parts()
    forms = make(qtbot, basic, choices), make(qtbot, advanced, choices)
    link_forms(*forms)
    for form in forms:
        form.show()
    return forms


def shown(forms):
    return {key for form in forms for key in form.params if form.is_shown(key)}


CONDITIONAL = {"momentum", "nesterov", "weight_decay", "step_size", "gamma", "milestones", "plateau_patience",
               "eval_every"}


@pytest.mark.parametrize(("optimizer", "scheduler", "steps", "expected"), [
    ("sgd", "none", 0, {"momentum", "nesterov", "weight_decay"}),
    ("adam", "onecycle", 0, {"weight_decay"}),
    ("adamw", "step", 0, {"weight_decay", "step_size", "gamma"}),
    ("sgd", "multistep", 0, {"momentum", "nesterov", "weight_decay", "milestones", "gamma"}),
    ("adam", "exponential", 0, {"weight_decay", "gamma"}),
    ("adam", "plateau", 0, {"weight_decay", "gamma", "plateau_patience"}),
    ("lbfgs", "cosine", 500, {"eval_every"}),
])
def test_only_the_fields_that_apply_are_shown(train_forms, optimizer, scheduler, steps, expected):
    basic, advanced = train_forms
    basic.set_values({"optimizer": optimizer, "scheduler": scheduler})
    advanced.set_values({"steps": steps})
    assert shown(train_forms) & CONDITIONAL == expected
    assert "epochs" in shown(train_forms) and "grad_clip" in shown(train_forms)


def test_a_field_appears_as_soon_as_its_choice_is_made(train_forms):
    basic, advanced = train_forms
    assert not advanced.is_shown("milestones")
    box = basic.widget("scheduler")
    box.setCurrentIndex(box.findData("multistep"))  # as a click does
    assert advanced.is_shown("milestones") and not advanced.is_shown("step_size")


def test_a_hidden_field_keeps_its_value_for_the_spec(train_forms):
    basic, _ = train_forms
    basic.set_values({"optimizer": "adam", "momentum": 0.5})
    assert not basic.is_shown("momentum") and basic.values()["momentum"] == 0.5


# -- item 4: problems as they are typed ------------------------------------------------------------------


def type_into(widget, text):
    widget.setFocus()
    line = widget.lineEdit() if hasattr(widget, "lineEdit") else widget
    line.selectAll()
    QTest.keyClicks(line, text)


def test_minus_three_epochs_is_marked_as_it_is_typed(qtbot):
    basic, _, choices = train_form_parts()
    form = make(qtbot, basic, choices)
    form.show()
    type_into(form.widget("epochs"), "-3")
    assert form.widget("epochs").value() == -3
    assert form.is_marked("epochs")
    assert form.error_text("epochs") == "-3 is below the minimum 1"
    type_into(form.widget("epochs"), "5")
    assert not form.is_marked("epochs") and form.error_text("epochs") == ""


def test_every_problem_is_shown_at_once_before_start(qtbot):
    basic, _, choices = train_form_parts()
    form = make(qtbot, basic, choices)
    form.show()
    type_into(form.widget("epochs"), "-3")
    type_into(form.widget("lr"), "1e")  # half a number: the validator lets it through, it is no number
    type_into(form.widget("batch_size"), "0")
    assert {key for key in form.params if form.is_marked(key)} == {"epochs", "lr", "batch_size"}
    assert form.validate() == ["Epochs: -3 is below the minimum 1", "Batch size: 0 is below the minimum 1",
                               "Learning rate: '1e' is not a number"]


def test_the_arrows_stay_within_the_range(qtbot):
    form = make(qtbot, {"epochs": Param(1, minimum=1, maximum=3)})
    spin = form.widget("epochs")
    spin.stepBy(-1)
    assert spin.value() == 1
    spin.stepBy(5)
    assert spin.value() == 3


# -- item 4: the wheel -----------------------------------------------------------------------------------


def wheel(widget):
    event = QWheelEvent(QPointF(5, 5), QPointF(widget.mapToGlobal(QPoint(5, 5))), QPoint(0, 0), QPoint(0, -120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def test_the_wheel_over_unfocused_train_fields_changes_nothing(qtbot):
    basic, _, choices = train_form_parts()
    form = make(qtbot, basic, choices)
    form.show()
    qtbot.waitExposed(form)
    before = form.values()
    for key in ("epochs", "batch_size", "optimizer", "scheduler"):
        assert not wheel(form.widget(key))  # ignored: it goes on to the scroll area holding the form
    assert form.values() == before
