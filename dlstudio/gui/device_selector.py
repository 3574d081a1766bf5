"""The toolbar's device picker: CPU, every CUDA GPU by name with free/total memory, MPS where present."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QComboBox, QWidget


class DeviceSelector(QComboBox):
    device_changed = Signal(str)

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setMinimumContentsLength(28)
        self.setToolTip("Device for new runs (remembered)")
        self.addItem("detecting devices…", "cpu")
        self.setEnabled(False)
        self.currentIndexChanged.connect(self._changed)

    def populate(self) -> None:
        """List the devices (imports torch: call once the window is up)."""
        from dlstudio.engine.devices import list_devices

        remembered = str(self.settings.value("device", ""))
        self.blockSignals(True)
        self.clear()
        for info in list_devices():
            self.addItem(info.label, info.id)
            self.setItemData(self.count() - 1, info.label, role=3)  # tooltip
        index = self.findData(remembered)
        if index < 0:
            index = 1 if self.count() > 1 else 0  # prefer the first GPU when nothing was chosen yet
        self.setCurrentIndex(index)
        self.blockSignals(False)
        self.setEnabled(True)
        self.device_changed.emit(self.current())

    def current(self) -> str:
        return self.currentData() or "cpu"

    def _changed(self) -> None:
        self.settings.setValue("device", self.current())
        self.device_changed.emit(self.current())
