import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QFileDialog, QLabel, QSpinBox

from dlstudio.gui.forms import TRAIN_HELP, ParamForm, train_form_parts
from dlstudio.params import Param
from dlstudio.spec import SpecError


@pytest.fixture
def form(qtbot):
    widget = ParamForm({"epochs": 3, "lr": 0.1, "name": "run", "amp": False, "sizes": [64, 32],
                        "normalize": {"mean": [0.5], "std": [0.25]}, "pool": "avg"},
                       choices={"pool": ["avg", "max"]})
    qtbot.addWidget(widget)
    return widget


def make(qtbot, defaults, choices=None, **kwargs):
    widget = ParamForm(defaults, choices, **kwargs)
    qtbot.addWidget(widget)
    return widget


def label_of(form, key):
    return form.layout().labelForField(form.widget(key).parentWidget())


def test_each_type_gets_its_widget_and_values_come_back_typed(form):
    assert form.values() == {"epochs": 3, "lr": 0.1, "name": "run", "amp": False, "sizes": [64, 32],
                             "normalize": {"mean": [0.5], "std": [0.25]}, "pool": "avg"}
    assert form.widget("sizes").text() == "64, 32"  # a comma list, as a person types it
    assert form.widget("normalize").text() == "{ mean = [0.5], std = [0.25] }"


def test_set_values_round_trips_lists_and_tables(form):
    form.set_values({"sizes": [8], "normalize": {"mean": [0.1, 0.2]}, "pool": "max", "amp": True})
    values = form.values()
    assert (values["sizes"], values["normalize"], values["pool"], values["amp"]) == ([8], {"mean": [0.1, 0.2]},
                                                                                     "max", True)


@pytest.mark.parametrize(("key", "text", "message"), [
    ("sizes", "[64, ", "Sizes: '[64,' is not a list like [64, 32]"),
    ("sizes", "7, x", "Sizes: 'x' is not a whole number (a comma list like 64, 32)"),
    ("normalize", "mean = 1", "Normalize: 'mean = 1' is not a dict like { mean = [0.5], std = [0.25] }"),
    ("lr", "fast", "Learning rate: 'fast' is not a number"),
])
def test_bad_text_names_the_field(form, key, text, message):
    form.widget(key).setText(text)
    with pytest.raises(SpecError) as info:
        form.values()
    assert str(info.value) == message


# -- what a field shows ----------------------------------------------------------------------------------


def test_labels_read_like_language(qtbot):
    form = make(qtbot, {"lr": 0.1, "amp": False, "in_memory_mb": 256, "valid_fraction": 0.2,
                        "depth": Param(3, title="Network depth")})
    labels = {key: label_of(form, key).text() for key in form.params}
    assert labels == {"lr": "Learning rate", "amp": "Mixed precision (AMP)", "in_memory_mb": "In-memory cache (MB)",
                      "valid_fraction": "Validation fraction", "depth": "Network depth"}


def test_help_and_unit_are_in_the_tooltip_and_the_unit_follows_the_field(qtbot):
    form = make(qtbot, {"size": Param(32, help="Images are resized to this.", unit="px", minimum=8, maximum=512)})
    tip = form.widget("size").toolTip()
    assert "Images are resized to this." in tip and "px" in tip and "8" in tip and "512" in tip
    assert label_of(form, "size").toolTip() == tip
    row = form.widget("size").parentWidget()
    assert [label.text() for label in row.findChildren(QLabel) if label.isVisibleTo(row)] == ["px"]


def test_help_texts_given_to_the_form_still_show(qtbot):
    form = make(qtbot, {"size": 32}, help_texts={"size": "Pixels per side."})
    assert "Pixels per side." in form.widget("size").toolTip()


def test_an_integer_outside_its_range_is_shown_and_marked_never_clamped(qtbot):
    # Clamping 40 to 6 in silence would train something else than was asked: the field says why instead.
    form = make(qtbot, {"layers": Param(2, minimum=1, maximum=6)})
    spin = form.widget("layers")
    assert isinstance(spin, QSpinBox)
    spin.setValue(40)
    assert form.is_marked("layers") and form.error_text("layers") == "40 is above the maximum 6"
    with pytest.raises(SpecError, match=r"^Layers: 40 is above the maximum 6$"):
        form.values()


def test_a_float_outside_its_range_is_a_problem_naming_the_field(qtbot):
    form = make(qtbot, {"dropout": Param(0.1, minimum=0.0, maximum=1.0)})
    form.widget("dropout").setText("1.5")
    assert form.problems() == ["Dropout: 1.5 is above the maximum 1.0"]
    with pytest.raises(SpecError, match=r"^Dropout: 1.5 is above the maximum 1.0$"):
        form.values()


# -- files and folders -----------------------------------------------------------------------------------


def test_browse_puts_the_chosen_file_in_the_field(qtbot, monkeypatch, tmp_path):
    form = make(qtbot, {"csv": Param("", kind="file", file_filter="CSV files (*.csv)")})
    asked = []

    def fake_dialog(parent, title, start, file_filter):
        asked.append(file_filter)
        return str(tmp_path / "a.csv"), file_filter

    monkeypatch.setattr(QFileDialog, "getOpenFileName", fake_dialog)
    form.browse_button("csv").click()
    assert asked == ["CSV files (*.csv)"]
    assert form.values() == {"csv": str(tmp_path / "a.csv")}


def test_browse_for_a_folder_asks_for_a_folder(qtbot, monkeypatch, tmp_path):
    form = make(qtbot, {"root": Param("", kind="folder")})
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda parent, title, start: str(tmp_path))
    form.browse_button("root").click()
    assert form.values() == {"root": str(tmp_path)}


def _drop(widget, path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(QPoint(2, 2), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(QPointF(2, 2), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return enter.isAccepted(), drop.isAccepted()


def test_dropping_a_file_inserts_its_local_path_not_a_url(qtbot, tmp_path):
    image = tmp_path / "cat photo.png"
    image.write_bytes(b"png")
    form = make(qtbot, {"image": Param("", kind="file"), "root": Param("", kind="folder")})
    assert _drop(form.widget("image"), image) == (True, True)
    assert form.values()["image"] == str(image)
    assert _drop(form.widget("root"), tmp_path) == (True, True)
    assert form.values()["root"] == str(tmp_path)


def test_a_folder_field_refuses_a_dropped_file_and_a_file_field_a_folder(qtbot, tmp_path):
    image = tmp_path / "a.png"
    image.write_bytes(b"png")
    form = make(qtbot, {"image": Param("", kind="file"), "root": Param("", kind="folder")})
    assert _drop(form.widget("root"), image) == (False, False)
    assert _drop(form.widget("image"), tmp_path) == (False, False)
    assert form.values() == {"image": "", "root": ""}


# -- choices ---------------------------------------------------------------------------------------------


def columns_of(values):
    with open(values["csv"], encoding="utf-8") as f:
        return f.readline().strip().split(",")


def test_callable_choices_follow_the_field_they_depend_on(qtbot, tmp_path):
    houses, cars = tmp_path / "houses.csv", tmp_path / "cars.csv"
    houses.write_text("rooms,area,price\n", encoding="utf-8")
    cars.write_text("speed,weight\n", encoding="utf-8")
    form = make(qtbot, {"csv": Param(str(houses), kind="file"), "target": Param("", choices=columns_of)})
    box = form.widget("target")
    assert isinstance(box, QComboBox)
    assert [box.itemText(i) for i in range(box.count())] == ["rooms", "area", "price"]
    form.set_values({"target": "price"})
    form.widget("csv").setText(str(cars))
    assert [box.itemData(i) for i in range(box.count())] == ["speed", "weight", "price"]  # kept, marked
    assert form.problems() == ["Target: 'price' is not one of ['speed', 'weight']"]
    box.setCurrentIndex(1)
    assert form.values() == {"csv": str(cars), "target": "weight"}
    assert box.count() == 2  # the stale value is gone once another is chosen


def test_choices_that_cannot_be_listed_say_why_under_the_field(qtbot, tmp_path):
    form = make(qtbot, {"csv": Param(str(tmp_path / "nope.csv"), kind="file"),
                        "target": Param("price", choices=columns_of)})
    assert "FileNotFoundError" in form.error_text("target") and "nope.csv" in form.error_text("target")
    assert form.widget("target").currentData() == "price"
    (problem,) = form.problems()
    assert problem.startswith("Target: the choices could not be listed: FileNotFoundError")
    (tmp_path / "nope.csv").write_text("price,area\n", encoding="utf-8")
    assert form.validate() == []  # validating lists the choices again: the file is there now
    assert form.error_text("target") == ""
    assert form.values()["target"] == "price"


def test_a_value_outside_a_list_of_choices_is_shown_and_named(qtbot):
    form = make(qtbot, {"act": "relu"}, {"act": ["relu", "gelu"]})
    form.set_values({"act": "tanh"})
    assert form.widget("act").currentData() == "tanh"
    assert form.problems() == ["Act: 'tanh' is not one of ['relu', 'gelu']"]


# -- the whole form at once ------------------------------------------------------------------------------


def test_validate_lists_every_problem_and_marks_those_fields_only(qtbot):
    form = make(qtbot, {"dropout": Param(0.1, maximum=1.0), "lr": 0.1, "sizes": [1], "hidden": 8})
    form.widget("dropout").setText("2.0")
    form.widget("lr").setText("fast")
    form.widget("sizes").setText("[1,")
    problems = form.validate()
    assert problems == ["Dropout: 2.0 is above the maximum 1.0", "Learning rate: 'fast' is not a number",
                        "Sizes: '[1,' is not a list like [1]"]
    assert [key for key in form.params if form.is_marked(key)] == ["dropout", "lr", "sizes"]
    assert form.error_text("lr") == "'fast' is not a number"
    with pytest.raises(SpecError) as info:
        form.values()
    assert str(info.value).splitlines() == problems
    form.widget("lr").setText("0.5")  # fixing a field clears its mark
    assert not form.is_marked("lr") and form.error_text("lr") == ""
    assert form.is_marked("dropout")


# -- the mouse wheel -------------------------------------------------------------------------------------


def _wheel(widget):
    event = QWheelEvent(QPointF(5, 5), QPointF(widget.mapToGlobal(QPoint(5, 5))), QPoint(0, 0), QPoint(0, -120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def test_the_wheel_leaves_an_unfocused_field_alone_and_passes_on_to_the_page(qtbot, monkeypatch):
    # An ignored wheel event goes on to the parent widgets: the scroll area holding the form scrolls.
    form = make(qtbot, {"layers": Param(5, minimum=0, maximum=10), "act": "relu"}, {"act": ["relu", "gelu"]})
    form.show()
    qtbot.waitExposed(form)
    assert not _wheel(form.widget("layers"))
    assert not _wheel(form.widget("act"))
    assert form.values() == {"layers": 5, "act": "relu"}
    for key in ("layers", "act"):
        monkeypatch.setattr(form.widget(key), "hasFocus", lambda: True)
        assert _wheel(form.widget(key))
    assert form.values() == {"layers": 4, "act": "gelu"}


# -- [train] ---------------------------------------------------------------------------------------------


def test_every_train_key_has_help_and_a_label_in_words(qtbot):
    from dataclasses import fields

    from dlstudio.spec import TrainSection

    keys = [f.name for f in fields(TrainSection)]
    assert sorted(TRAIN_HELP) == sorted(keys)
    basic, advanced, choices = train_form_parts()
    form = make(qtbot, {**basic, **advanced}, choices)
    for key in keys:
        assert TRAIN_HELP[key] in form.widget(key).toolTip()
        label = label_of(form, key).text()
        assert label[0].isupper() and "_" not in label
    assert label_of(form, "lr").text() == "Learning rate"
    assert label_of(form, "num_workers").text() == "Data-loading workers"
    form.set_values({"epochs": 0, "steps": -1})
    assert form.problems() == ["Epochs: 0 is below the minimum 1", "Steps (instead of epochs): -1 is below the "
                                                                   "minimum 0"]
