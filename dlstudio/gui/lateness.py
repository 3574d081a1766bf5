"""How late the event loop is: a 10 ms timer whose ticks come late by however long the GUI thread was kept from
running (a long slot, a paint, the GIL held by another thread). ``dlstudio gui --report-startup`` and the
benchmarks use it; it costs ~100 tiny slots a second, so nothing uses it unless asked."""

from __future__ import annotations

import itertools
import json
import time

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 10


class LatenessProbe(QObject):
    """Ticks every ``INTERVAL_MS``; :meth:`stalls` gives how late each tick was (ms)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ticks: list[float] = []  # time.time() of each tick: comparable with another process's clock
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(lambda: self.ticks.append(time.time()))

    def start(self) -> None:
        self.ticks.clear()
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return self.stalls()

    def stalls(self) -> list[float]:
        return [max(0.0, (b - a) * 1000 - INTERVAL_MS) for a, b in itertools.pairwise(self.ticks)]


class StartupProbe(LatenessProbe):
    """Started as the window is shown; :meth:`report_after` prints, as one ``startup-probe {json}`` line, when
    the event loop first ran (the window responds), and the longest stall until then + ``ms``."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.shown = time.time()
        self.start()

    def report_after(self, ms: int) -> None:
        QTimer.singleShot(ms, self._report)

    def _report(self) -> None:
        stalls = self.stop()
        print("startup-probe " + json.dumps({
            "shown": self.shown,
            "first_tick": self.ticks[0] if self.ticks else None,
            "max_stall_ms": max(stalls, default=0.0),
            "stalls_over_100_ms": [round(s) for s in stalls if s > 100],
        }), flush=True)
