"""The Train page: the core's training form (recipes, model, data, [train]) with the image plugin's tools
beside it — parameter counts, the learning-rate finder, k-fold cross-validation and the ensemble comparison."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.concepts import CONCEPTS
from dlstudio.gui.fields import ConceptButton
from dlstudio.gui.train_panel import TrainPanel
from dlstudio_images.data_settings import shared_data
from dlstudio_images.panels.folder_start import TRAIN_FOLDER_TOPIC, FolderStart
from dlstudio_images.panels.lr_box import LRFinderBox
from dlstudio_images.panels.studies import study_book


def count_parameters_for(studio: Any, spec: Any) -> tuple[int, int]:
    """(trainable, frozen) parameters of the spec's model, sized from its data's parameters."""
    from dlstudio.runs import build_model
    from dlstudio_images.models.transfer import count_parameters
    from dlstudio_images.session import data_hint

    info = data_hint(spec.data.id, spec.data.params)
    return count_parameters(build_model(studio, spec.model.id, spec.model.params, info).model)


class TrainPage(QWidget):
    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.panel = TrainPanel(context, family="images")
        self.counts = QLabel("—", wordWrap=True)
        self.counts.setObjectName("parameter_counts")
        self._count_job: Any = None
        self._count_timer = QTimer(self, singleShot=True, interval=600)
        self._count_timer.timeout.connect(self.update_counts)
        for source in (self.panel.model_box, self.panel.data_box):
            source.changed.connect(self._count_timer.start)
        #: The data definition this page shares with the Data page (what is previewed is what trains).
        self.data = shared_data(context)
        self._syncing = False
        self.panel.extra_problems.append(
            lambda: [f"Data page › {problem}" for problem in self.data.foreign_problems(self)])
        if self.data.data_id:
            self._data_changed()
        else:
            self._data_edited()
        self.panel.data_box.changed.connect(self._data_edited)
        stop = self.data.observe(self, self._data_changed)
        self.destroyed.connect(lambda *_: stop())

        size_box = QGroupBox("Model size")
        QVBoxLayout(size_box).addWidget(self.counts)
        self.lr_box = LRFinderBox(context, self.panel.current_spec)
        self.lr_box.use_lr.connect(self.use_lr)

        kfold_box = QGroupBox("Cross-validation")
        self.k_spin = QSpinBox(minimum=2, maximum=20, value=5)
        self.kfold_button = QPushButton("Run k folds")
        self.kfold_button.clicked.connect(self.start_kfold)
        row = QHBoxLayout()
        row.addWidget(QLabel("k"))
        row.addWidget(self.k_spin)
        row.addWidget(self.kfold_button, 1)
        self.kfold_concept = ConceptButton(CONCEPTS["kfold"])
        row.addWidget(self.kfold_concept)
        kfold_layout = QVBoxLayout(kfold_box)
        kfold_layout.addWidget(QLabel("Queue k runs of these settings, each holding out another fold "
                                      "(stratified) and reporting its accuracy on it at the last epoch; "
                                      "results on the Studies page.", wordWrap=True))
        kfold_layout.addLayout(row)

        ensemble_box = QGroupBox("Ensemble")
        self.ensemble_button = QPushButton("Compare backbones")
        self.ensemble_button.clicked.connect(self.start_ensemble)
        ensemble_layout = QVBoxLayout(ensemble_box)
        ensemble_layout.addWidget(QLabel("With 'Cached backbone features' and two or more backbones: train a head "
                                         "on each backbone alone and the ensemble on all.", wordWrap=True))
        ensemble_row = QHBoxLayout()
        ensemble_row.addWidget(self.ensemble_button, 1)
        self.ensemble_concept = ConceptButton(CONCEPTS["ensembles"])
        ensemble_row.addWidget(self.ensemble_concept)
        ensemble_layout.addLayout(ensemble_row)

        #: Shown when a run this page started completes: one click to its confusion matrix.
        self.finished_box = QGroupBox("Run finished")
        self.finished_label = QLabel(wordWrap=True)
        self.evaluate_button = QPushButton("Evaluate this run")
        self.evaluate_button.setObjectName("evaluate_this_run")
        self.evaluate_button.clicked.connect(self.evaluate_finished)
        finished_layout = QVBoxLayout(self.finished_box)
        finished_layout.addWidget(self.finished_label)
        finished_layout.addWidget(self.evaluate_button)
        self.finished_box.hide()
        self.finished_run = ""
        self._my_runs: set[str] = set()
        context.run_assigned.connect(self._assigned)
        context.run_finished.connect(self._finished)
        for source in (self.panel.model_box, self.panel.data_box):
            source.changed.connect(self.lr_box.clear)
        self.folder_start = FolderStart(context)
        self.folder_start.train_requested.connect(self.train_folder)
        context.message_posted.connect(self._message)
        # The tools each a tab, all in sight at the top of the column (not below a scroll).
        self.tools = QTabWidget()
        self.tools.setObjectName("train_tools")
        for box, title in ((self.lr_box, "LR finder"), (kfold_box, "k-fold"), (ensemble_box, "Ensembles")):
            box.setTitle("")
            box.setFlat(True)
            self.tools.addTab(box, title)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        for box in (self.finished_box, self.folder_start, size_box, self.tools):
            side_layout.addWidget(box)
        side_layout.addStretch(1)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(side)
        scroll.setMinimumWidth(300)
        scroll.setMaximumWidth(380)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.panel, 1)
        layout.addWidget(scroll)
        self._count_timer.start()

    def load_spec(self, spec: dict) -> bool:
        return self.panel.load_spec(spec)

    # -- the shared data definition -------------------------------------------------------------------
    def _data_edited(self) -> None:
        form = self.panel.data_box.form()
        if self._syncing or form is None:
            return
        self.data.set(self.panel.data_box.current_id(), form.current_values(), form.problems(), origin=self)

    def _data_changed(self) -> None:
        """Show the data another page set (the Data page's edits, a run loaded there)."""
        box = self.panel.data_box
        form = box.form()
        if box.current_id() == self.data.data_id and form is not None and (
                form.current_values() == self.data.params and not form.problems()):
            return
        self._syncing = True
        try:
            if not box.select(self.data.data_id, self.data.params):
                self.context.notify(f"the Train page has no dataset {self.data.data_id!r}", "warning")
        finally:
            self._syncing = False

    # -- parameter counts ------------------------------------------------------------------------------
    def update_counts(self) -> None:
        if self.context.is_shut_down():  # the window has closed: no thread may start now
            return
        try:
            spec = self.panel.current_spec()
        except Exception as exc:
            self.counts.setText(f"<span style='color:#b00'>{exc}</span>")
            return
        self.counts.setText("counting…")
        self._count_job = self.context.run_in_background(
            count_parameters_for, self.context.studio, spec, on_result=self._show_counts,
            on_error=lambda exc: self.counts.setText(f"<span style='color:#b00'>{exc}</span>"))

    def _show_counts(self, counts: tuple[int, int]) -> None:
        trainable, frozen = counts
        total = trainable + frozen
        share = f" ({trainable / total:.1%} of {total:,})" if frozen else ""
        self.counts.setText(f"<b>{trainable:,}</b> trainable parameters{share}<br><b>{frozen:,}</b> frozen")

    # -- a run of this page finished --------------------------------------------------------------------
    def _assigned(self, ticket: str, run_id: str) -> None:
        if ticket in self.panel.started_tickets:
            self._my_runs.add(run_id)

    def _finished(self, run_id: str, status: str, message: str) -> None:
        if run_id not in self._my_runs or status != "completed":
            return
        from dlstudio import runs

        info = runs.get_run(self.context.studio, run_id)
        best = f": best {info.monitor.replace('_', ' ')} {info.best_value:.3g}" if info.best_value is not None else ""
        self.finished_run = run_id
        self.finished_label.setText(f"“{info.name or info.model}” completed{best}.")
        self.finished_box.show()

    def evaluate_finished(self) -> None:
        """Show the Evaluate page with the run that just finished chosen and evaluated."""
        from dlstudio_images.panels.evaluate_page import EVALUATE_TOPIC

        if self.finished_run:
            self.context.post(EVALUATE_TOPIC, {"run_id": self.finished_run})

    def _message(self, topic: str, payload: dict) -> None:
        if topic == TRAIN_FOLDER_TOPIC and isinstance(payload.get("spec"), dict):
            self.context.show_panel("images.train")
            self.train_folder(payload["spec"])

    def train_folder(self, spec: dict) -> str | None:
        """Show the run chosen for a dropped folder in the form and start it."""
        from dlstudio.spec import RunSpec, SpecError

        try:
            full = RunSpec.from_dict(spec, source="the folder's recipe").to_dict()
        except SpecError as exc:
            self.context.show_error("Cannot train on this folder", str(exc))
            return None
        if not self.panel.load_spec(full):
            self.context.show_error("Cannot train on this folder", self.panel.refusal)
            return None
        return self.panel.start()

    # -- tools ---------------------------------------------------------------------------------------
    def use_lr(self, lr: float) -> None:
        self.panel.train_form.set_values({"lr": float(f"{lr:.3g}")})
        self.context.notify(f"learning rate set to {lr:.3g}")

    def _spec(self, title: str) -> Any:
        try:
            return self.panel.current_spec()
        except Exception as exc:
            self.context.show_error(title, str(exc))
            return None

    def start_kfold(self) -> None:
        from dlstudio_images.kfold import fold_specs

        spec = self._spec("Cannot start cross-validation")
        if spec is None:
            return
        k = self.k_spin.value()
        try:
            specs = fold_specs(spec, k)
        except ValueError as exc:
            self.context.show_error("Cannot start cross-validation", str(exc))
            return
        title = f"{k}-fold: {spec.run.name or spec.model.id}"
        if study_book(self.context).start("kfold", title, [(f"fold {i + 1}", s) for i, s in enumerate(specs)]):
            self.context.show_panel("images.studies")

    def start_ensemble(self) -> None:
        from dlstudio_images.ensemble import comparison_specs

        spec = self._spec("Cannot compare backbones")
        if spec is None:
            return
        try:
            labelled = comparison_specs(spec)
        except ValueError as exc:
            self.context.show_error("Cannot compare backbones", str(exc))
            return
        title = f"Ensemble: {', '.join(label for label, _ in labelled[:-1])}"
        if study_book(self.context).start("ensemble", title, labelled):
            self.context.show_panel("images.studies")


if __name__ == "__main__":
    from dlstudio_images.panels.stub import preview

    raise SystemExit(preview(TrainPage, (1300, 820)))
