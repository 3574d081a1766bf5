"""The GAN samples page: watch a DCGAN learn. The grid of samples from the run's fixed noise batch is shown
large, with a timeline to scrub back through the earlier grids; the discriminator's and generator's losses and
D(x), D(G(z)) beside it; the networks' sizes and the sample score when one was recorded.

It shows a finished run (picked from the list) or follows the GAN training now: the grids are re-listed when
the run reports an epoch and, throttled, while it trains (step grids arrive between epochs)."""

from __future__ import annotations

import html
import math
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from dlstudio import runs
from dlstudio.gui.widgets import RunPicker
from dlstudio_generative.panels.views import (
    ERROR_STYLE,
    HINT_STYLE,
    WARNING_STYLE,
    Curves,
    ImageView,
    Timeline,
    line_label,
    metric,
    save_png_dialog,
)

TASK = "gan"
#: The scorer's threshold (dlstudio_generative.gan.quality.COLLAPSE_SHARE): one class takes this share.
COLLAPSE_SHARE = 0.5
#: Without the top share recorded: this few classes covered counts as collapse.
FEW_CLASSES = 2
#: How often the grids of a run in progress are looked for (a folder listing: cheap).
POLL_MS = 1000


def parameter_counts(studio: Any, run_id: str) -> dict[str, int]:
    """Worker thread: the parameters of the run's generator and discriminator (from its newest checkpoint)."""
    loaded = runs.load_model(studio, run_id, "last")
    counts = getattr(loaded.model, "parameter_counts", None)
    if callable(counts):
        return dict(counts())
    return {part: sum(p.numel() for p in getattr(loaded.model, part).parameters())
            for part in ("generator", "discriminator") if hasattr(loaded.model, part)}


def collapse_warning(epoch: int, coverage: float | None, top_share: float | None,
                     collapsed: float | None = None) -> str:
    """What to say when a run's latest score shows mode collapse ("" when it does not).

    The run's own verdict (``sample_collapsed``: the scorer warned, which it does only once the samples had
    variety to lose, so blurry first epochs are no false alarm) decides when it was recorded; a run without it
    counts as collapsed when one class takes half the samples (``sample_top_share``) or two classes or fewer
    are drawn.
    """
    share = top_share is not None and math.isfinite(top_share)
    if collapsed is not None and math.isfinite(collapsed):
        if collapsed < 0.5:
            return ""
        what = f"{top_share:.0%} of the samples are one class" if share else "the samples are nearly all alike"
    elif share:
        if top_share < COLLAPSE_SHARE:
            return ""
        what = f"{top_share:.0%} of the samples are one class"
    elif coverage is not None and math.isfinite(coverage) and coverage <= FEW_CLASSES:
        what = f"only {coverage:.0f} class{'es' if coverage != 1 else ''} drawn"
    else:
        return ""
    return (f"⚠ Mode collapse at epoch {epoch}: {what}. The generator found a few pictures that fool the "
            "discriminator and draws little else; lower the learning rate or restart with another seed.")


def grids_of(run_dir: Any) -> list[tuple[tuple[str, int], Any]]:
    """The run's sample grids as timeline items ``((kind, number), path)`` in training order."""
    from dlstudio_generative.gan.grids import list_grids

    return [((kind, number), path) for kind, number, path in list_grids(run_dir)]


class GanSamplesPage(QWidget):
    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        #: The run shown, and whether it is the one training now.
        self.run_id = ""
        self.live = False
        #: The GAN run training now ("" when none).
        self.training_id = ""
        self.run_dir: Any = None
        self.counts_job: Any = None
        #: What the info line says: the run, its networks' parameter counts, its latest score.
        self._info: Any = None
        self._counts: dict[str, int] = {}
        self._counted = False
        self._score: tuple[int, float, float | None, float | None] | None = None

        self.runs = RunPicker(context, TASK)
        self.runs.currentIndexChanged.connect(lambda *_: self._picked())
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.runs.refresh)
        self.follow = QCheckBox("Follow the GAN training now")
        self.follow.setChecked(True)
        self.follow.setToolTip("When a GAN run starts, show its grids and curves as it trains")
        self.follow.toggled.connect(self._follow_toggled)
        top = QHBoxLayout()
        top.addWidget(QLabel("GAN run"))
        top.addWidget(self.runs, 1)
        top.addWidget(refresh)
        top.addWidget(self.follow)
        self.info = line_label(HINT_STYLE)
        self.warning = line_label(WARNING_STYLE)
        self.warning.hide()

        self.grid = ImageView("No sample grid yet: train a GAN on the Train page (e.g. the digits recipe), "
                              "or pick a finished run.", minimum=260)
        self.timeline = Timeline(self.grid, lambda _i, key: f"{key[0]} {key[1]}")
        self.save_button = QPushButton("Save PNG…")
        self.save_button.clicked.connect(self.save)
        under = QHBoxLayout()
        under.addWidget(self.timeline, 1)
        under.addWidget(self.save_button)
        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.addWidget(self.grid, 1)
        left_column.addLayout(under)

        self.losses = Curves("Losses", "epoch")
        self.odds = Curves("D(x) and D(G(z))", "epoch")
        self.odds.setYRange(0, 1, padding=0.02)
        self.odds.enableAutoRange(axis="y", enable=False)  # probabilities: always the whole 0 to 1
        self.odds.setToolTip("The discriminator's mean probability that a real image is real (D(x)) and that a "
                             "generated one is (D(G(z))). Near 0.5 both: a balanced game. D(x) → 1 and "
                             "D(G(z)) → 0: the discriminator wins and the generator stops learning.")
        right = QWidget()
        right_column = QVBoxLayout(right)
        right_column.setContentsMargins(0, 0, 0, 0)
        right_column.addWidget(self.losses, 1)
        right_column.addWidget(self.odds, 1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        split.setSizes([560, 400])

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.info)
        layout.addWidget(self.warning)
        layout.addWidget(split, 1)

        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self.refresh_grids)
        context.run_started.connect(self._run_started)
        context.run_epoch.connect(self._run_epoch)
        context.run_finished.connect(self._run_finished)
        self._picked()

    # -- which run ------------------------------------------------------------------------------------
    def show_run(self, run_id: str, live: bool = False) -> None:
        """Show ``run_id``: its grids, its recorded curves, its networks' sizes."""
        self.run_id, self.live = run_id, live
        self.losses.reset()
        self.odds.reset()
        self.warning.hide()
        self.timeline.follow = True
        self._info, self._counts, self._counted, self._score = None, {}, False, None
        if not run_id:
            self.info.setText("No finished GAN run yet: train one on the Train page (the digits recipe learns "
                              "on this computer in minutes).")
            self.timeline.set_items([])
            self.grid.clear_image()
            self.poll.stop()
            return
        try:
            info = runs.get_run(self.context.studio, run_id)
            history = runs.read_metrics(self.context.studio, run_id)
        except KeyError as exc:
            self._say_error(str(exc))
            return
        self.run_dir = info.run_dir
        self._describe(info)
        for record in history:
            self._add_point(record["epoch"], record)
        self.refresh_grids()
        if live:
            self.poll.start()
        else:
            self.poll.stop()
        self._count_parameters(run_id)

    def refresh_grids(self) -> None:
        """List the shown run's grids again (a new one is shown at once unless the user scrubbed back)."""
        if not self.run_id:
            return
        items = grids_of(self.run_dir)
        if [path for _, path in items] != [path for _, path in self.timeline.items]:
            self.timeline.set_items(items)

    def save(self) -> None:
        current = self.timeline.current()
        name = f"{self.run_id}-{current[0][0]}-{current[0][1]}.png" if current else "samples.png"
        try:
            path = save_png_dialog(self, self.grid.image(), "Save the grid as PNG", name)
        except OSError as exc:
            self.context.notify(str(exc), "error")
            return
        if path:
            self.context.notify(f"Saved {path}")

    # -- reactions ------------------------------------------------------------------------------------
    def _picked(self) -> None:
        run_id = self.runs.currentData() or ""
        if run_id == self.training_id and run_id:
            return
        self.show_run(run_id)

    def _follow_toggled(self, on: bool) -> None:
        if on and self.training_id:
            self.show_run(self.training_id, live=True)
        elif not on and self.live:
            self._picked()

    def _run_started(self, run_id: str, _plugin: str) -> None:
        try:
            task = runs.get_run(self.context.studio, run_id).task
        except KeyError:
            return
        if task != TASK:
            return
        self.training_id = run_id
        if self.follow.isChecked():
            self.show_run(run_id, live=True)

    def _run_epoch(self, run_id: str, metrics: dict) -> None:
        if not (self.live and run_id == self.run_id):
            return
        self._add_point(metrics.get("epoch", 0), metrics)
        self.refresh_grids()
        if not self._counted:
            self._count_parameters(run_id)  # the first checkpoint exists now

    def _run_finished(self, run_id: str, status: str, message: str) -> None:
        if run_id and run_id == self.training_id:
            self.training_id = ""
        if run_id and run_id == self.run_id and self.live:
            self.live = False
            self.poll.stop()
            self.refresh_grids()
            try:
                self._describe(runs.get_run(self.context.studio, run_id))
            except KeyError:
                pass

    # -- showing --------------------------------------------------------------------------------------
    def _add_point(self, epoch: Any, metrics: dict) -> None:
        x = float(epoch)
        self.losses.append(x, {"D loss": metric(metrics, "d_loss"), "G loss": metric(metrics, "g_loss")})
        self.odds.append(x, {"D(x)": metric(metrics, "d_real"), "D(G(z))": metric(metrics, "d_fake")})
        score, coverage = metric(metrics, "sample_score"), metric(metrics, "sample_coverage")
        if score is not None and math.isfinite(score):
            self._score = (int(x), score, coverage, metric(metrics, "sample_top_share"),
                           metric(metrics, "sample_collapsed"))
            self._show_score()

    def _describe(self, info: Any) -> None:
        self._info = info
        self._show_score()

    def _show_score(self) -> None:
        info = self._info
        if info is None:
            return
        state = "training now" if self.live else info.status
        parts = [f"Run {info.id} ({html.escape(info.name or info.model)}): {state}, epoch {info.epochs_done} of "
                 f"{info.epochs}, data {html.escape(info.dataset)}."]
        counts = self._counts
        if counts:
            parts.append(" · ".join(f"{part.capitalize()}: {n:,} parameters" for part, n in sorted(
                counts.items(), key=lambda item: item[0] != "generator")) + ".")
        score = self._score
        if score is not None:
            epoch, value, coverage, top_share, collapsed = score
            cover = f", {coverage:.0f} classes covered" if coverage is not None else ""
            parts.append(f"Sample score {value:.2f} at epoch {epoch}{cover} (from 1 to the number of classes, "
                         "10 for digits: higher is better).")
            warning = collapse_warning(epoch, coverage, top_share, collapsed)
            self.warning.setText(warning)
            self.warning.setVisible(bool(warning))
        self.info.setText(" ".join(parts))

    def _count_parameters(self, run_id: str) -> None:
        if not runs.artifacts(self.context.studio, run_id):
            return  # no checkpoint yet (before the first epoch ends)

        def counted(counts: dict[str, int]) -> None:
            if run_id == self.run_id:
                self._counts = counts
                self._show_score()

        self._counted = True  # asked: not again at every epoch
        self.counts_job = self.context.run_in_background(parameter_counts, self.context.studio, run_id,
                                                         on_result=counted, on_error=lambda exc: None)

    def _say_error(self, message: str) -> None:
        self.info.setText(f"<span style='{ERROR_STYLE}'>{html.escape(message)}</span>")


if __name__ == "__main__":
    from dlstudio_generative.panels.stub import preview

    raise SystemExit(preview(GanSamplesPage))
