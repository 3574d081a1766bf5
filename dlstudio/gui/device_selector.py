"""The toolbar's device picker: CPU, every CUDA GPU by name with free/total memory, MPS where present; when
there is no GPU it says so plainly, with what was checked in its tooltip."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QComboBox, QWidget

NO_GPU_TEXT = "CPU only: no CUDA GPU or MPS found"


def gpu_checks() -> str:
    """What was looked at to find a GPU, one line each, in words a user can act on (imports torch)."""
    import os

    import torch

    lines = [f"PyTorch {torch.__version__}"]
    cuda_build = torch.version.cuda
    if cuda_build is None:
        lines.append("CUDA: this PyTorch build has no CUDA support (a CPU-only wheel)")
    else:
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        lines.append(f"CUDA {cuda_build}: torch.cuda.is_available() = {torch.cuda.is_available()}, "
                     f"{count} device(s) (is an NVIDIA driver installed?)")
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        lines.append(f"CUDA_VISIBLE_DEVICES = {visible!r}")
    mps = getattr(torch.backends, "mps", None)
    if mps is None:
        lines.append("MPS: not in this PyTorch build")
    else:
        lines.append(f"MPS (Apple silicon): built = {mps.is_built()}, available = {mps.is_available()}")
    return "\n".join(lines)


def several_gpus_item(gpus: list) -> tuple[str, str]:
    """The picker's text and tooltip for a run on ``gpus`` (``DeviceInfo`` each) together."""
    ids = ", ".join(info.id for info in gpus)
    label = f"{len(gpus)} GPUs ({ids}) — one process each"
    tip = (f"One run trained by {len(gpus)} processes, one on each of {ids} (torchrun, gradients averaged "
           "after every step); [train] batch_size is the batch of all of them together")
    return label, tip


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
        devices = list_devices()
        for info in devices:
            self.addItem(info.label, info.id)
            self.setItemData(self.count() - 1, info.label, role=3)  # tooltip
        gpus = [info for info in devices if info.id.startswith("cuda:")]
        for count in range(2, len(gpus) + 1):  # several GPUs: one process each, one run (torchrun, DDP)
            label, tip = several_gpus_item(gpus[:count])
            self.addItem(label, "cuda:" + ",".join(info.id.removeprefix("cuda:") for info in gpus[:count]))
            self.setItemData(self.count() - 1, tip, role=3)
        if len(devices) == 1:  # the CPU alone: say plainly that no GPU was found, and what was checked
            checked = gpu_checks()
            self.setItemText(0, NO_GPU_TEXT)
            self.setItemData(0, f"{devices[0].label}\n\n{checked}", role=3)
            self.setToolTip(f"{NO_GPU_TEXT}. Runs train on the CPU ({devices[0].name}).\n\nChecked:\n{checked}")
        else:
            self.setToolTip("Device for new runs (remembered)")
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
