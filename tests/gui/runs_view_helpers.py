"""Helpers for the Runs view tests: the table as text, clicks, answered questions."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from dlstudio.gui.runs_view import COLUMNS

RUN_TIMEOUT = 60_000


def column(view, name: str) -> list[str]:
    """The texts of one column, in the order the table shows its rows."""
    col = COLUMNS.index(name)
    return [view.proxy.index(row, col).data() for row in range(view.proxy.rowCount())]


def shown_ids(view) -> list[str]:
    return column(view, "Run")


def row_texts(view, run_id: str) -> dict[str, str]:
    row = shown_ids(view).index(run_id)
    return {name: view.proxy.index(row, col).data() for col, name in enumerate(COLUMNS)}


def row_centre(view, run_id: str):
    row = shown_ids(view).index(run_id)
    return view.table.visualRect(view.proxy.index(row, COLUMNS.index("Name"))).center()


def click_row(view, run_id: str, qtbot, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, modifier, row_centre(view, run_id))


def show_runs_page(window, qtbot) -> None:
    window.show()
    window.show_runs()
    qtbot.waitExposed(window.runs_view)


def curves(view) -> dict[str, tuple[list[float], list[float]]]:
    """The plotted series of the overlay, by legend name: (x, y)."""
    out = {}
    for item in view.plot.plotItem.listDataItems():
        x, y = item.getData()
        out[item.name()] = (list(x), list(y))
    return out


def answer_questions(monkeypatch, button) -> list[str]:
    """Make QMessageBox.question answer ``button``; returns the questions asked."""
    asked: list[str] = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        return button

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def click(view, key: str, qtbot) -> None:
    button = view.buttons[key]
    assert button.isEnabled(), f"the {key} button is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
