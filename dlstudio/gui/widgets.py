"""Widgets a plugin's panels may use (part of the plugin contract since 2.1): a picker of finished runs, and
plot parts that read right (a log axis labelled at its decades, a "no data yet" note)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget

from dlstudio import runs
from dlstudio.gui.chart_parts import DecadeAxis, EmptyNote, legend_to_emptiest_corner, log_plot_item

__all__ = ["DecadeAxis", "EmptyNote", "RunPicker", "legend_to_emptiest_corner", "log_plot_item"]


class RunPicker(QComboBox):
    """Finished runs of one task that saved weights, newest first, the newest completed one chosen; ``refresh()``
    keeps the choice. The list follows the runs that finish while the page is open."""

    def __init__(self, context, task: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.task = task
        self.setMinimumWidth(360)
        self.refresh()
        context.run_finished.connect(lambda *_: self.refresh())

    def choose(self, run_id: str) -> bool:
        """Select a run (it must be listed: finished, with weights); False if it is not."""
        self.refresh()
        index = self.findData(run_id)
        if index >= 0:
            self.setCurrentIndex(index)
        return index >= 0

    def refresh(self) -> None:
        current = self.currentData()
        self.blockSignals(True)
        self.clear()
        completed = -1
        for info in runs.list_runs(self.context.studio, task=self.task, status=runs.FINISHED_STATUSES):
            if not info.epochs_done:
                continue
            if completed < 0 and info.status == "completed":
                completed = self.count()
            best = ""
            if info.best_value is not None:
                best = (f" — {info.best_value:.1%}" if "accuracy" in info.monitor
                        else f" — {info.monitor.replace('_', ' ')} {info.best_value:.3g}")
            self.addItem(f"{info.name or info.model}{best} ({info.id})", info.id)
        index = self.findData(current) if current else -1
        # No choice yet: the newest run that completed (a cancelled one is rarely the one to look at).
        fallback = completed if completed >= 0 else 0 if self.count() else -1
        self.setCurrentIndex(index if index >= 0 else fallback)
        self.blockSignals(False)
        if self.currentData() != current:
            self.currentIndexChanged.emit(self.currentIndex())
