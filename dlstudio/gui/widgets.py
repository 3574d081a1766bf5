"""Widgets a plugin's panels may use (part of the plugin contract since 2.1): a picker of finished runs."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget

from dlstudio import runs

__all__ = ["RunPicker"]


class RunPicker(QComboBox):
    """Finished runs of one task that saved weights, newest first; ``refresh()`` keeps the choice. The list
    follows the runs that finish while the page is open."""

    def __init__(self, context, task: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.task = task
        self.setMinimumWidth(360)
        self.refresh()
        context.run_finished.connect(lambda *_: self.refresh())

    def refresh(self) -> None:
        current = self.currentData()
        self.blockSignals(True)
        self.clear()
        for info in runs.list_runs(self.context.studio, task=self.task, status=runs.FINISHED_STATUSES):
            if not info.epochs_done:
                continue
            best = ""
            if info.best_value is not None:
                best = (f" — {info.best_value:.1%}" if "accuracy" in info.monitor
                        else f" — {info.monitor.replace('_', ' ')} {info.best_value:.3g}")
            self.addItem(f"{info.name or info.model}{best} ({info.id})", info.id)
        index = self.findData(current) if current else -1
        self.setCurrentIndex(index if index >= 0 else 0 if self.count() else -1)
        self.blockSignals(False)
        if self.currentData() != current:
            self.currentIndexChanged.emit(self.currentIndex())
