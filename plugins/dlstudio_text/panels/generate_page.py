"""The Generate page: a finished language-model run writes on from a prompt — length, temperature and top-k
chosen here, a seed to get the same text again. Each generation is added to a list, so settings can be
compared side by side."""

from __future__ import annotations

import html
import re
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.widgets import RunPicker
from dlstudio_text.explore import RunModel, load_run

TASK = "language-model"


def write(loaded: RunModel, prompt: str, length: int, temperature: float, top_k: int, seed: int | None) -> str:
    """Worker-thread side: the text the run's model writes after ``prompt``."""
    from dlstudio_text.generate import generate

    return generate(loaded.model, loaded.encoder, prompt, length=length, temperature=temperature, top_k=top_k,
                    seed=seed)


class GeneratePage(QWidget):
    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.loaded: RunModel | None = None
        self.job: Any = None
        #: (prompt, written, settings line) of each generation, newest last.
        self.outputs: list[tuple[str, str, str]] = []

        self.runs = RunPicker(context, TASK)
        self.runs.currentIndexChanged.connect(lambda *_: self._run_changed())
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.runs.refresh)
        top = QHBoxLayout()
        top.addWidget(QLabel("Language-model run"))
        top.addWidget(self.runs, 1)
        top.addWidget(refresh)
        self.run_info = QLabel(wordWrap=True)
        self.run_info.setStyleSheet("color:#555")

        self.prompt = QLineEdit("the")
        self.prompt.setPlaceholderText("The start of the text (empty: a new line)")
        self.prompt.returnPressed.connect(self.generate)
        self.length = QSpinBox(minimum=1, maximum=2000, value=60, suffix=" tokens")
        self.temperature = QDoubleSpinBox(minimum=0.05, maximum=5.0, value=0.8, singleStep=0.1, decimals=2)
        self.temperature.setToolTip("Below 1: the likely tokens get likelier (safer text); above 1: "
                                    "flatter choices (more surprising text).")
        self.top_k = QSpinBox(minimum=0, maximum=100000, value=40)
        self.top_k.setSpecialValueText("0 (every token)")
        self.top_k.setToolTip("Sample among the k likeliest tokens only; 1 always takes the likeliest; 0 any.")
        self.seed = QSpinBox(minimum=-1, maximum=2**31 - 1, value=0)
        self.seed.setSpecialValueText("random")
        self.seed.setToolTip("The same seed and settings give the same text; 'random' (-1) a new one each time.")
        self.generate_button = QPushButton("Generate")
        self.generate_button.setObjectName("generate")
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(self.generate)
        clear = QPushButton("Clear")
        clear.clicked.connect(self.clear)

        prompt_row = QHBoxLayout()
        prompt_row.addWidget(QLabel("Prompt"))
        prompt_row.addWidget(self.prompt, 1)
        settings = QGroupBox("Settings")
        form = QFormLayout(settings)
        form.addRow("Length", self.length)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-k", self.top_k)
        form.addRow("Seed", self.seed)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button)
        buttons.addWidget(clear)
        form.addRow(buttons)
        settings.setMaximumWidth(320)
        self.status = QLabel(wordWrap=True)

        self.output = QTextBrowser()
        out_box = QGroupBox("Written (prompt in bold)")
        QVBoxLayout(out_box).addWidget(self.output)
        body = QHBoxLayout()
        side = QVBoxLayout()
        side.addWidget(settings)
        side.addWidget(self.status)
        side.addStretch(1)
        body.addLayout(side)
        body.addWidget(out_box, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.run_info)
        layout.addLayout(prompt_row)
        layout.addLayout(body, 1)
        self._run_changed()

    # -- the run --------------------------------------------------------------------------------------
    def _run_changed(self) -> None:
        self.loaded = None
        run_id = self.runs.currentData()
        self.generate_button.setEnabled(bool(run_id))
        if not run_id:
            self.run_info.setText("No finished language-model run yet: train one on the Train page (e.g. the "
                                  "recipe on the local corpus).")
        else:
            self.run_info.setText(f"Run {run_id}.")

    def generate(self) -> None:
        run_id = self.runs.currentData()
        if not run_id:
            self.context.show_error("Nothing to generate with", "choose a finished language-model run")
            return
        self.generate_button.setEnabled(False)
        self.status.setText("Writing…")
        studio, loaded = self.context.studio, self.loaded
        settings = (self.prompt.text(), self.length.value(), self.temperature.value(), self.top_k.value(),
                    None if self.seed.value() < 0 else self.seed.value())

        def work() -> tuple[RunModel, str]:  # a worker thread: plain values in and out
            model = loaded if loaded is not None and loaded.run_id == run_id else load_run(studio, run_id)
            return model, write(model, *settings)

        self.job = self.context.run_in_background(work, on_result=self._written, on_error=self._failed)

    def _written(self, result: tuple[RunModel, str]) -> None:
        loaded, text = result
        self.generate_button.setEnabled(True)
        if loaded.run_id == self.runs.currentData():
            self.loaded = loaded
            enc = loaded.encoder
            self.run_info.setText(f"Run {loaded.run_id}: its {loaded.weights} weights (epoch {loaded.epoch}); "
                                  f"{enc.tokenizer} tokeniser, {enc.vocab_size:,} tokens.")
        seed = "random" if self.seed.value() < 0 else str(self.seed.value())
        line = (f"{loaded.run_id} · {self.length.value()} tokens · temperature {self.temperature.value():.2f} · "
                f"top-k {self.top_k.value() or 'all'} · seed {seed}")
        self.outputs.append((self.prompt.text(), text, line))
        self.status.setText("Done.")
        self._show_outputs()

    def _failed(self, exc: BaseException) -> None:
        self.generate_button.setEnabled(True)
        self.status.setText(f"<span style='color:#b00'>{html.escape(str(exc))}</span>")
        self.context.show_error("Cannot generate", str(exc))

    def clear(self) -> None:
        self.outputs.clear()
        self._show_outputs()

    def _show_outputs(self) -> None:
        parts = []
        for prompt, text, line in reversed(self.outputs):
            joint = " " if prompt and text and not text[:1].isspace() and not prompt[-1:].isspace() else ""
            body = f"<b>{html.escape(prompt)}</b>{joint}{_written_html(text)}"
            parts.append(f"<p style='font-size:12pt; line-height:140%; margin-bottom:2px'>{body}</p>"
                         f"<p style='color:#888; margin-top:0'>{html.escape(line)}</p><hr>")
        self.output.setHtml("".join(parts))
        self.output.verticalScrollBar().setValue(0)
        self.output.setAlignment(Qt.AlignmentFlag.AlignLeft)


def _written_html(text: str) -> str:
    """Generated text for reading: each <eos> a line break, <unk> dimmed."""
    out = html.escape(text)
    out = re.sub(r"\s*&lt;eos&gt;\s*", "<br>", out).replace("\n", "<br>")
    return out.replace("&lt;unk&gt;", "<span style='color:#999'>&lt;unk&gt;</span>")


if __name__ == "__main__":
    from dlstudio_text.panels.stub import preview

    raise SystemExit(preview(GeneratePage))
