"""A logger: each epoch's metrics as a row of ``metrics.csv`` in the run's folder, for a spreadsheet."""

from __future__ import annotations

import csv
from pathlib import Path

from dlstudio.engine import Callback


class CsvLog(Callback):
    """Rewrites the file at each epoch's end, so it is always complete (a run has a few hundred epochs at most)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_fit_start(self, state) -> None:
        # state.epoch is where the run starts: 0, or the epoch of the checkpoint a resumed run continues from.
        # Rows an interrupted attempt wrote after that epoch are trained again, so they go.
        self._write([row for row in self.rows() if int(row["epoch"]) <= state.epoch])

    def on_epoch_end(self, state, record) -> None:
        self._write([*self.rows(), {"epoch": record.epoch, "step": record.step, **record.metrics}])

    def rows(self) -> list[dict[str, str]]:
        """The rows written so far (the values as text)."""
        if not self.path.exists():
            return []
        with self.path.open(newline="", encoding="utf-8") as source:
            return list(csv.DictReader(source))

    def _write(self, rows: list[dict]) -> None:
        columns = list(dict.fromkeys(key for row in rows for key in row)) or ["epoch"]
        with self.path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, columns)
            writer.writeheader()
            writer.writerows(rows)
