"""Activation functions: tick some, move their parameters, see f and f' (autograd) change."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from dlstudio_inspector.actfuncs import ACTIVATIONS, curve

DEFAULT = ("sigmoid", "tanh", "relu", "leaky_relu")
PALETTE = ("#4c78a8", "#f58518", "#e45756", "#54a24b", "#b279a2", "#eeca3b", "#72b7b2", "#ff9da6", "#9d755d",
           "#17becf", "#bcbd22", "#bab0ac")


class ActivationFunctionsView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.boxes: dict[str, QCheckBox] = {}
        self.params: dict[tuple[str, str], QDoubleSpinBox] = {}
        side = QFormLayout()
        for name, act in ACTIVATIONS.items():
            box = QCheckBox(act.title)
            box.setChecked(name in DEFAULT)
            box.setToolTip(act.formula)
            box.toggled.connect(self.redraw)
            self.boxes[name] = box
            side.addRow(box)
            for pname, default in act.params.items():
                spin = QDoubleSpinBox(minimum=0.0, maximum=10.0, value=default, singleStep=0.01 if default < 0.1
                                      else 0.1, decimals=3)
                spin.valueChanged.connect(self.redraw)
                self.params[(name, pname)] = spin
                side.addRow(f"    {pname}", spin)
        self.lo = QDoubleSpinBox(minimum=-100, maximum=0, value=-5)
        self.hi = QDoubleSpinBox(minimum=0.1, maximum=100, value=5)
        for spin in (self.lo, self.hi):
            spin.valueChanged.connect(self.redraw)
        side.addRow("x from", self.lo)
        side.addRow("x to", self.hi)
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        side.addRow(self.formula)
        self.f_plot = pg.PlotWidget(title="f(x)")
        self.df_plot = pg.PlotWidget(title="f′(x) — by autograd")
        self.df_plot.setXLink(self.f_plot)
        for plot in (self.f_plot, self.df_plot):
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.addLegend(offset=(5, 5))
        plots = QVBoxLayout()
        plots.addWidget(self.f_plot, 1)
        plots.addWidget(self.df_plot, 1)
        side_widget = QWidget()
        side_widget.setLayout(side)
        # The list of functions and their parameters is taller than a laptop's page: it scrolls on its own.
        side_scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        side_scroll.setWidget(side_widget)
        side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side_scroll.setFixedWidth(280)
        layout = QHBoxLayout(self)
        layout.addWidget(side_scroll)
        layout.addLayout(plots, 1)
        self.redraw()

    def redraw(self) -> None:
        self.f_plot.clear()
        self.df_plot.clear()
        chosen = [n for n, b in self.boxes.items() if b.isChecked()]
        for i, name in enumerate(chosen):
            act = ACTIVATIONS[name]
            values = {p: self.params[(name, p)].value() for p in act.params}
            x, y, dy = curve(name, self.lo.value(), self.hi.value(), **values)
            # Dashed every other curve, so curves that coincide (ReLU and leaky ReLU for x > 0) both show.
            style = Qt.PenStyle.SolidLine if i % 2 == 0 else Qt.PenStyle.DashLine
            pen = pg.mkPen(PALETTE[list(ACTIVATIONS).index(name) % len(PALETTE)], width=2, style=style)
            self.f_plot.plot(x, y, pen=pen, name=act.title)
            self.df_plot.plot(x, dy, pen=pen, name=act.title)
        self.formula.setText("<br>".join(f"<b>{ACTIVATIONS[n].title}</b>: {ACTIVATIONS[n].formula}" for n in chosen))


if __name__ == "__main__":
    from dlstudio_inspector.panels.preview import preview

    raise SystemExit(preview(lambda _session: ActivationFunctionsView(), model=None))
