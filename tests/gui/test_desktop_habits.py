"""Desktop habits (issue 14, item 7): shortcuts, the Runs view's context menu and Delete key, the offline help,
remembered window state, and the device picker saying that no GPU was found."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QMessageBox

from dlstudio import hookimpl
from dlstudio.contract import FamilySpec, PanelSpec
from tests.fixture_plugins import demo_plugin
from tests.gui.runs_view_helpers import answer_questions, shown_ids
from tests.runs import finished_run, interrupted_run

RUN_TIMEOUT = 60_000
README = Path(__file__).resolve().parents[2] / "README.md"
CTRL = Qt.KeyboardModifier.ControlModifier


def shown(window, qtbot) -> None:
    """Shown and active: window shortcuts reach only the active window."""
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)


def press(window, key, modifier=Qt.KeyboardModifier.NoModifier, widget=None) -> None:
    QTest.keyClick(widget or window, key, modifier)


# -- shortcuts -----------------------------------------------------------------------------------------


def test_start_pause_resume_and_cancel_from_the_keyboard(demo_window, qtbot):
    window = demo_window
    shown(window, qtbot)
    panel = window.panels["demo.train"]
    assert window.current_panel() is panel
    panel.data_box.form().set_values({"samples": 20000})
    panel.train_form.set_values({"epochs": 200, "batch_size": 8})
    with qtbot.waitSignal(window.context.run_started, timeout=RUN_TIMEOUT) as started:
        press(window, Qt.Key.Key_Return, CTRL)
    run_id = started.args[0]
    press(window, Qt.Key.Key_P, CTRL)
    assert window.queue.paused
    press(window, Qt.Key.Key_P, CTRL)
    assert not window.queue.paused
    with qtbot.waitSignal(window.context.run_finished, timeout=RUN_TIMEOUT) as finished:
        press(window, Qt.Key.Key_Period, CTRL)
    assert finished.args[:2] == [run_id, "cancelled"]
    assert window.studio.store.get(run_id).status == "cancelled"


def test_start_on_a_page_without_a_start_button_says_so_and_starts_nothing(window_with_runs, qtbot):
    window, ids = window_with_runs
    shown(window, qtbot)
    window.show_runs()
    press(window, Qt.Key.Key_Return, CTRL)
    assert window.queue.pending() == 0 and not window.is_running()
    assert window.statusBar().currentMessage() == "this page has nothing to start"
    assert len(window.studio.store.list_runs()) == len(ids)


class _EvaluatePlugin:
    """A family whose second page is titled "Evaluate"."""

    @hookimpl
    def dlstudio_register_families(self, register):
        register(FamilySpec(id="judge", title="Judge", order=90))

    @hookimpl
    def dlstudio_register_panels(self, register):
        register(PanelSpec(id="judge.first", title="First", family="judge", order=1, factory=lambda c: QLabel("1")))
        register(PanelSpec(id="judge.evaluate", title="Evaluate", family="judge", order=2,
                           factory=lambda c: QLabel("evaluate")))


def test_ctrl_e_brings_the_evaluate_page_forward(make_window, make_studio, qtbot):
    window = make_window(make_judge_studio(make_studio))
    shown(window, qtbot)
    assert window.current_panel() is window.panels["demo.train"]
    press(window, Qt.Key.Key_E, CTRL)
    assert window.current_panel() is window.panels["judge.evaluate"]


def make_judge_studio(make_studio):
    import types

    module = types.ModuleType("judge_plugin")
    judge = _EvaluatePlugin()
    module.dlstudio_register_families = judge.dlstudio_register_families
    module.dlstudio_register_panels = judge.dlstudio_register_panels
    return make_studio(("demo", demo_plugin), ("judge", module))


def test_ctrl_e_without_an_evaluate_page_says_so(demo_window, qtbot):
    shown(demo_window, qtbot)
    press(demo_window, Qt.Key.Key_E, CTRL)
    assert demo_window.current_panel() is demo_window.panels["demo.train"]
    assert demo_window.statusBar().currentMessage() == "no loaded plugin has an Evaluate page"


def test_ctrl_o_opens_a_run_spec_in_the_panel_that_takes_it(make_window, demo_studio, qtbot, tmp_path, monkeypatch):
    run_id = finished_run(demo_studio, 'run.name="from a file"', "train.epochs=1", "train.lr=0.2",
                          "train.batch_size=8", "data.params.samples=60")
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(demo_studio.store.get(run_id).spec, encoding="utf-8")
    window = make_window(demo_studio)
    shown(window, qtbot)
    window.show_runs()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(spec_file), ""))
    press(window, Qt.Key.Key_O, CTRL)
    panel = window.panels["demo.train"]
    assert window.current_panel() is panel
    assert panel.name_edit.text() == "from a file"
    train = panel.train_form.values()
    assert (train["epochs"], train["lr"], train["batch_size"]) == (1, 0.2, 8)
    assert panel.data_box.form().values()["samples"] == 60
    assert window.errors == []


def test_opening_a_bad_spec_or_a_model_nobody_opens_is_explained(demo_window, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\nname=", encoding="utf-8")
    demo_window.open_path(str(bad))
    assert demo_window.errors[-1][0] == "Cannot open this run spec" and "not valid TOML" in demo_window.errors[-1][1]
    model = tmp_path / "model.pt"
    model.write_bytes(b"\0")
    demo_window.open_path(str(model))
    assert demo_window.errors[-1][0] == "Cannot open a model" and "inspector" in demo_window.errors[-1][1]
    demo_window.open_path(str(tmp_path / "missing.toml"))
    assert "does not exist" in demo_window.errors[-1][1]


def test_a_model_file_is_posted_to_the_panels_that_open_models(demo_window, tmp_path):
    posted = []
    demo_window.context.message_posted.connect(lambda topic, payload: posted.append((topic, payload)))
    model = tmp_path / "model.onnx"
    model.write_bytes(b"\0")
    demo_window.open_path(str(model))
    assert posted == [("model.open", {"path": str(model)})]


# -- the Runs view: Delete key and context menu --------------------------------------------------------


def focused_runs_table(window, qtbot, focus=None):
    shown(window, qtbot)
    window.show_runs()
    view = window.runs_view
    widget = focus or view.table
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)
    return view


def test_the_delete_key_deletes_the_selected_runs_after_asking(window_with_runs, qtbot, monkeypatch):
    window, ids = window_with_runs
    view = focused_runs_table(window, qtbot)
    view.select_ids([ids["beta"]])
    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.No)
    press(window, Qt.Key.Key_Delete, widget=view.table)
    assert len(asked) == 1 and asked[0].startswith("Delete 1 run(s)")
    assert sorted(r.id for r in window.studio.store.list_runs()) == sorted(ids.values())

    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.Yes)
    press(window, Qt.Key.Key_Delete, widget=view.table)
    assert len(asked) == 1
    assert sorted(r.id for r in window.studio.store.list_runs()) == sorted([ids["alpha"], ids["gamma"]])
    assert not window.studio.store.run_dir(ids["beta"]).exists()
    assert ids["beta"] not in shown_ids(view)

    # In the filter field the Delete key edits the text and deletes no run.
    view.select_ids([ids["gamma"]])
    focused_runs_table(window, qtbot, view.filter_edit)
    press(window, Qt.Key.Key_Delete, widget=view.filter_edit)
    assert len(asked) == 1 and len(window.studio.store.list_runs()) == 2


def menu_state(view) -> dict[str, bool]:
    menu = view.context_menu()
    return {a.text(): a.isEnabled() for a in menu.actions() if not a.isSeparator()}


def test_the_context_menu_enables_what_applies_to_the_selection(make_window, demo_studio, qtbot):
    done = finished_run(demo_studio, "train.epochs=1")
    other = finished_run(demo_studio, "train.epochs=1")
    unfinished = interrupted_run(demo_studio, "train.epochs=3")
    window = make_window(demo_studio)
    view = window.runs_view

    view.select_ids([done])
    assert menu_state(view) == {"Clone settings": True, "Resume": False,
                                "Evaluate this run": False,  # the demo family has no Evaluate page
                                "Export run spec…": True,
                                "Open in the inspector": False,  # nothing listens for model.open
                                "Open in TensorBoard": True, "Delete…": True}
    view.select_ids([unfinished])
    assert menu_state(view)["Resume"] is True
    view.select_ids([done, other])
    assert menu_state(view) == {"Clone settings": False, "Resume": False, "Evaluate this run": False,
                                "Export run spec…": False, "Open in the inspector": False,
                                "Open in TensorBoard": False, "Delete…": True}

    posted = []
    window.context.message_posted.connect(lambda topic, payload: posted.append((topic, payload)))
    view.select_ids([done])
    menu = view.context_menu()
    inspect = next(a for a in menu.actions() if a.text() == "Open in the inspector")
    assert inspect.isEnabled()
    inspect.trigger()
    assert posted == [("model.open", {"run_id": done})]

    # A run without a checkpoint cannot be opened, even with a listener.
    for path, _epoch in window.studio.store.artifacts(done).values():
        path.unlink()
    assert menu_state(view)["Open in the inspector"] is False


def test_the_context_menus_clone_reopens_the_run(window_with_runs, qtbot):
    window, ids = window_with_runs
    view = window.runs_view
    view.select_ids([ids["alpha"]])
    with qtbot.waitSignal(view.clone_requested) as cloned:
        next(a for a in view.context_menu().actions() if a.text() == "Clone settings").trigger()
    assert cloned.args[1]["train"]["lr"] == 0.2
    assert window.panels["demo.train"].train_form.values()["lr"] == 0.2


# -- help ----------------------------------------------------------------------------------------------


def readme_headings() -> list[str]:
    """The README's headings, read as Markdown (outside fenced code)."""
    found, fenced = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#{1,6}\s+(.*)", line)):
            found.append(m.group(1).strip())
    return found


def test_f1_opens_the_user_guide_offline_with_its_contents(demo_window, qtbot):
    shown(demo_window, qtbot)
    press(demo_window, Qt.Key.Key_F1)
    dialog = demo_window.help_dialog
    qtbot.waitExposed(dialog)
    expected = readme_headings()
    assert dialog.first_heading() == expected[0] == "dlstudio"
    top = [dialog.contents.topLevelItem(i).text(0) for i in range(dialog.contents.topLevelItemCount())]
    assert top == ["User guide (README)", "Writing plugins"]
    readme = dialog.contents.topLevelItem(0)

    def texts(item):
        return [item.text(0)] + [t for i in range(item.childCount()) for t in texts(item.child(i))]

    # Markdown-rendered heading texts drop inline markup (`code`, **bold**); compare on the words.
    def words(text):
        return re.sub(r"[`*_]", "", text)

    assert [words(t) for t in texts(readme)[1:]] == [words(h) for h in expected]
    last = readme.child(readme.childCount() - 1)
    dialog._item_chosen(last)
    assert dialog.browser.verticalScrollBar().value() > 0

    plugins = dialog.contents.topLevelItem(1)
    dialog._item_chosen(plugins)
    assert dialog.first_heading() == re.match(r"#\s+(.*)", (README.parent / "docs" / "plugins.md")
                                              .read_text(encoding="utf-8")).group(1).strip()
    dialog.browser.anchorClicked.emit(QUrl("https://example.org/page"))
    assert dialog.status.text() == "Not opened (the help works offline): https://example.org/page"
    assert "About dlstudio" in [a.text().replace("&", "") for a in demo_window.menuBar().actions()[-1].menu()
                                .actions()]


# -- remembered state ----------------------------------------------------------------------------------


def test_window_size_and_splitters_are_remembered_across_launches(make_window, demo_studio, qtbot):
    first = make_window(demo_studio)
    shown(first, qtbot)
    first.resize(790, 590)  # within the offscreen screen (800×600)
    first.splitter.setSizes([240, 860])
    first.runs_view.splitter.setSizes([300, 200])
    families, runs = first.splitter.sizes(), first.runs_view.splitter.sizes()
    first.close()
    second = make_window(demo_studio)
    shown(second, qtbot)
    assert (second.width(), second.height()) == (790, 590)
    assert second.splitter.sizes() == families
    assert second.runs_view.splitter.sizes() == runs


# -- the device picker without a GPU -------------------------------------------------------------------


def test_without_a_gpu_the_device_picker_says_so_and_what_it_checked(make_window, demo_studio, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    window = make_window(demo_studio)
    picker = window.device_selector
    assert picker.count() == 1 and picker.current() == "cpu"
    assert picker.currentText() == "CPU only: no CUDA GPU or MPS found"
    tip = picker.toolTip()
    assert f"PyTorch {torch.__version__}" in tip
    assert ("no CUDA support" in tip) if torch.version.cuda is None else ("is_available() = False" in tip)
    assert "MPS" in tip and "available = False" in tip


def test_with_a_gpu_the_picker_does_not_claim_cpu_only(make_window, demo_studio, monkeypatch):
    from dlstudio.engine import devices

    fake = [devices.DeviceInfo("cpu", "CPU"), devices.DeviceInfo("cuda:0", "Fake GPU", 8 << 30, 6 << 30)]
    monkeypatch.setattr(devices, "list_devices", lambda: fake)
    picker = make_window(demo_studio).device_selector
    assert [picker.itemText(i) for i in range(picker.count())] == [d.label for d in fake]
    assert "CPU only" not in picker.toolTip()
