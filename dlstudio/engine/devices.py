"""Compute devices: discovery (names, memory) and resolution of the user's choice."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DeviceInfo:
    id: str  # "cpu", "cuda:0", "mps"
    name: str
    total_memory: int | None = None  # bytes
    free_memory: int | None = None

    @property
    def label(self) -> str:
        if self.total_memory is None:
            return f"{self.id} — {self.name}"
        gib = 1024**3
        free = f"{self.free_memory / gib:.1f} free / " if self.free_memory is not None else ""
        return f"{self.id} — {self.name} ({free}{self.total_memory / gib:.1f} GiB)"


def list_devices() -> list[DeviceInfo]:
    """Every device torch can use here: the CPU, each CUDA GPU, and MPS on Apple silicon."""
    import platform

    devices = [DeviceInfo("cpu", platform.processor() or platform.machine() or "CPU")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            try:
                free, total = torch.cuda.mem_get_info(i)
            except RuntimeError:
                free, total = None, props.total_memory
            devices.append(DeviceInfo(f"cuda:{i}", props.name, total, free))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(DeviceInfo("mps", "Apple Metal (MPS)"))
    return devices


def resolve_device(choice: str) -> torch.device:
    """``"auto"`` picks the first GPU, else the CPU; anything else must be a device that exists here."""
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda:0")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    if "," in choice:
        raise ValueError(f"{choice!r} lists several GPUs: such a run is trained by one process on each, which "
                         "`dlstudio train` (or dlstudio.launch.train) starts; one process trains on one device")
    available = [d.id for d in list_devices()]
    wanted = "cuda:0" if choice == "cuda" else choice
    if wanted not in available:
        raise ValueError(f"device {choice!r} is not available here; available: {', '.join(available)}")
    return torch.device(wanted)
