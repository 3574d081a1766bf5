"""Small Qt pieces the text pages share: texts as coloured tokens (HTML), bar charts and histograms, a table
model for a long token list. (The run picker is the core's, :class:`dlstudio.gui.widgets.RunPicker`.)"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from dlstudio.gui.widgets import EmptyNote

#: Backgrounds of known tokens (alternating, so neighbours are told apart), of an unknown token, and the
#: colour of text past fix_length.
TOKEN_BACKGROUNDS = ("#d6e6f7", "#fbe3c0")
UNKNOWN_BACKGROUND = "#f7b3b3"
UNKNOWN_TEXT = "#8a0000"
CUT_TEXT = "#a0a0a0"
TRAIN = (52, 120, 200)
VALID = (220, 110, 30)


def token_html(pieces: Sequence[tuple[str, int]]) -> str:
    """``(piece, kind)`` pieces (:func:`dlstudio_text.explore.marked`) as HTML: known tokens on alternating
    backgrounds, unknown ones red and underlined, those past fix_length grey."""
    out = []
    for text, kind in pieces:
        piece = html.escape(text).replace("\n", "<br>")
        if kind < 0:
            out.append(piece)
        elif kind == 2:
            out.append(f"<span style='background:{UNKNOWN_BACKGROUND};color:{UNKNOWN_TEXT};"
                       f"text-decoration:underline' title='unknown: read as &lt;unk&gt;'>{piece}</span>")
        elif kind == 3:
            out.append(f"<span style='color:{CUT_TEXT}'>{piece}</span>")
        else:
            out.append(f"<span style='background:{TOKEN_BACKGROUNDS[kind]}'>{piece}</span>")
    return "".join(out)


def legend_html(fix_length: int = 0) -> str:
    cut = f" &nbsp; <span style='color:{CUT_TEXT}'>past fix_length {fix_length}: never read</span>" \
        if fix_length else ""
    return (f"<span style='background:{TOKEN_BACKGROUNDS[0]}'>&nbsp;one token&nbsp;</span>"
            f"<span style='background:{TOKEN_BACKGROUNDS[1]}'>&nbsp;the next&nbsp;</span> &nbsp; "
            f"<span style='background:{UNKNOWN_BACKGROUND};color:{UNKNOWN_TEXT};text-decoration:underline'>"
            f"&nbsp;unknown (&lt;unk&gt;)&nbsp;</span>{cut}")


def contribution_colour(value: float, scale: float) -> QColor:
    """Green for a word that speaks for the predicted class, red for one against it; white for none."""
    v = 0.0 if scale <= 0 else float(np.clip(value / scale, -1, 1))
    if v >= 0:
        return QColor(int(255 - 150 * v), int(255 - 40 * v), int(255 - 150 * v))
    return QColor(255, int(255 + 150 * v), int(255 + 150 * v))


def shaded_html(pieces: Sequence[tuple[str, int]], contributions: Sequence[float], known: Sequence[bool]) -> str:
    """A sentence with each word's background shaded by its contribution (see :func:`contribution_colour`);
    unknown words underlined."""
    scale = max((abs(c) for c in contributions), default=0.0)
    out = []
    for text, index in pieces:
        piece = html.escape(text)
        if index < 0:
            out.append(piece)
            continue
        colour = contribution_colour(contributions[index], scale).name()
        style = f"background:{colour}"
        if not known[index]:
            style += f";text-decoration:underline;color:{UNKNOWN_TEXT}"
        out.append(f"<span style='{style}' title='{contributions[index]:+.3f}'>{piece}</span>")
    return "".join(out)


class BarChart(pg.PlotWidget):
    """Vertical bars with category labels, one series or several side by side."""

    def __init__(self, title: str = "", horizontal: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.horizontal = horizontal
        self.setTitle(title, color="#333")
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.showGrid(x=horizontal, y=not horizontal, alpha=0.2)
        self.setMinimumHeight(150)
        self.note = EmptyNote(self.getPlotItem())  # "no data yet" rather than a made-up 0–1 grid

    def set_bars(self, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float], tuple]]) -> None:
        self.clear()
        if self.plotItem.legend is None and len(series) > 1:
            self.addLegend(offset=(-10, 10))
        n = max(1, len(series))
        width = 0.8 / n
        for i, (name, values, colour) in enumerate(series):
            pos = np.arange(len(labels)) - 0.4 + width * (i + 0.5)
            brush = pg.mkBrush(*colour)
            if self.horizontal:
                bars = pg.BarGraphItem(x0=0, y=pos, height=width, width=list(values), brush=brush, name=name)
            else:
                bars = pg.BarGraphItem(x=pos, height=list(values), width=width, brush=brush, name=name)
            self.addItem(bars)
        self.getAxis("left" if self.horizontal else "bottom").setTicks([list(enumerate(labels))])
        if not self.horizontal and series:  # headroom above the bars for the legend
            top = max((max(values, default=0) for _, values, _ in series), default=0)
            self.setYRange(0, top * (1.3 if len(series) > 1 else 1.05) or 1, padding=0)
        if self.horizontal:
            self.getViewBox().invertY(True)
            self.setXRange(0, 1, padding=0.02)
        self.note.set_empty(not any(len(values) for _, values, _ in series))


class Histogram(pg.PlotWidget):
    """A histogram of counts over edges, with an optional vertical marker (fix_length)."""

    def __init__(self, title: str = "", x_label: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setTitle(title, color="#333")
        self.setLabel("bottom", x_label)
        self.setLabel("left", "texts")
        self.setMenuEnabled(False)
        self.hideButtons()
        self.showGrid(y=True, alpha=0.2)
        self.setMinimumHeight(150)
        self.note = EmptyNote(self.getPlotItem())

    def set_histogram(self, series: Sequence[tuple[str, np.ndarray, np.ndarray, tuple]], marker: float = 0,
                      marker_label: str = "") -> None:
        self.clear()
        if self.plotItem.legend is None and len(series) > 1:
            self.addLegend(offset=(-10, 10))
        for name, counts, edges, colour in series:
            if len(counts):
                self.plot(edges, counts, stepMode="center", fillLevel=0, brush=pg.mkBrush(*colour, 110),
                          pen=pg.mkPen(colour), name=name)
        if marker:
            line = pg.InfiniteLine(marker, angle=90, pen=pg.mkPen("#b00", width=2, style=Qt.PenStyle.DashLine),
                                   label=marker_label, labelOpts={"position": 0.9, "color": "#b00"})
            self.addItem(line)
        self.note.set_empty(not any(len(counts) for _, counts, _, _ in series))


class TokenTable(QAbstractTableModel):
    """Tokens by frequency: rank, token, count, cumulative coverage, kept in the vocabulary or not."""

    HEADERS = ("Rank", "Token", "Count", "Top-n coverage", "In vocabulary")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, int]] = []
        self.cumulative = np.zeros(0)
        self.kept: set[str] = set()

    def set_tokens(self, ranked: Sequence[tuple[str, int]], total: int, kept: set[str]) -> None:
        self.beginResetModel()
        self.rows = list(ranked)
        self.cumulative = np.cumsum([c for _, c in self.rows]) / max(1, total)
        self.kept = kept
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return len(self.HEADERS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        row, col = index.row(), index.column()
        token, count = self.rows[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return (f"{row + 1:,}", token.replace("\n", "\\n").replace(" ", "␣") if token.strip() == "" else token,
                    f"{count:,}", f"{self.cumulative[row]:.1%}", "yes" if token in self.kept else "no → <unk>")[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (0, 2, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and token not in self.kept:
            return QColor(UNKNOWN_TEXT)
        return None
