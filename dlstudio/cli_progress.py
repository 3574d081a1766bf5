"""Progress output of ``dlstudio train``: a tqdm bar per epoch (per period of a run measured in steps), or
JSON lines with ``--json``."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from tqdm import tqdm

from dlstudio.engine import BatchEnd, EpochEnd, FitEnded, FitStarted, LogMessage


class ProgressPrinter:
    def __init__(self, json_lines: bool = False) -> None:
        self.json_lines = json_lines
        self.bar: tqdm | None = None
        self.train_batches = 0
        self.run_id = ""
        #: "epoch" or "step"; a run measured in steps reports periods as "step N/total".
        self.unit = "epoch"
        self.total_steps = 0
        # Batch records come a few times a second, so the bar opens at the first one; its clock must
        # start with the epoch, or the first rate shown is batches ÷ almost nothing.
        self._epoch_started = time.time()

    def __call__(self, record: Any) -> None:
        kind = getattr(record, "kind", "")
        if kind == "run_started":
            self.run_id = record.run_id
            self._say(f"run {record.run_id} on {record.device} — files in {record.run_dir}")
        elif isinstance(record, FitStarted):
            self.train_batches = record.train_batches
            self.unit, self.total_steps = record.unit, record.total_steps
            self._epoch_started = time.time()
        elif isinstance(record, LogMessage):
            self._say(record.text)
        elif isinstance(record, BatchEnd) and not self.json_lines and record.phase == "train":
            if self.bar is None:  # total None: a stream of unknown length, counted without a bar
                self.bar = tqdm(total=record.batches or None, desc=self._period(record.epoch), unit="batch",
                                file=sys.stderr, leave=False)
                self.bar.start_t = self._epoch_started
            self.bar.n = record.batch
            self.bar.set_postfix(loss=f"{record.loss:.4f}", refresh=False)
            self.bar.refresh()
        elif isinstance(record, EpochEnd):
            self._close_bar()
            self._epoch_started = time.time()
            if self.json_lines:
                print(json.dumps({"event": "epoch", "epoch": record.epoch, "epochs": record.epochs,
                                  "step": record.step, "seconds": round(record.seconds, 3), "best": record.is_best,
                                  **record.metrics}), flush=True)
            else:
                metrics = "  ".join(f"{k} {v:.4g}" for k, v in record.metrics.items())
                star = " *" if record.is_best else ""
                where = (f"step {record.step}/{self.total_steps}" if self.unit == "step"
                         else f"epoch {record.epoch}/{record.epochs}")
                print(f"{where}  {metrics}  ({record.seconds:.1f}s){star}", flush=True)
        elif isinstance(record, FitEnded):
            self._close_bar()
            if self.json_lines:
                print(json.dumps({"event": "summary", "run_id": self.run_id, "status": record.status,
                                  "message": record.message, "monitor": record.monitor,
                                  "best_epoch": record.best_epoch, "best_value": record.best_value}), flush=True)
            else:
                best = ""
                if record.best_value is not None and record.best_epoch is not None:  # a task may monitor nothing
                    at = (f"the period ending at step {min(record.best_epoch * self.period_steps(), self.total_steps)}"
                          if self.unit == "step" else f"epoch {record.best_epoch}")
                    best = f"best {record.monitor} {record.best_value:.4f} at {at}"
                print(f"{record.status}. {best} {record.message}".strip(), flush=True)

    def _period(self, epoch: int) -> str:
        if self.unit == "step":
            return f"steps to {min(epoch * self.period_steps(), self.total_steps)}"
        return f"epoch {epoch}"

    def period_steps(self) -> int:
        return self.train_batches or 1

    def _say(self, text: str) -> None:
        target = sys.stderr if self.json_lines else sys.stdout
        print(text, file=target, flush=True)

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def close(self) -> None:
        self._close_bar()
