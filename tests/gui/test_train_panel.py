"""The generic Train panel: the task selector and its parameters, whole-form validation, clone."""

from __future__ import annotations

import pytest

from dlstudio import hookimpl
from dlstudio.contract import CallbackSpec, DatasetSpec, FamilySpec, ModelSpec, PanelSpec, TaskSpec
from dlstudio.gui.context import StudioContext
from dlstudio.gui.forms import TRAIN_HELP
from dlstudio.gui.train_panel import TrainPanel
from dlstudio.params import Param
from dlstudio.runner import Run, run_to_end
from dlstudio.spec import RunSpec
from tests.fixture_plugins.demo_plugin import build_mlp, load_blobs

#: (task id, params) of every task the test plugin created, in order.
CREATED: list[tuple[str, dict]] = []


def _task(task_id):
    def create(ctx):
        from dlstudio.engine.classification import ClassificationTask

        CREATED.append((task_id, dict(ctx.params)))
        return ClassificationTask(ctx)

    return create


BLOBS = {"samples": 80, "classes": 2, "features": 3, "noise": 1.0, "nan": False}


class TwoTasks:
    """Family "two": a model and a dataset trainable by two tasks, each with its own parameters; a second
    model and a second dataset for the cases where one task or none fits."""

    @hookimpl
    def dlstudio_register_families(self, register):
        register(FamilySpec(id="two", title="Two tasks"))

    @hookimpl
    def dlstudio_register_tasks(self, register):
        register(TaskSpec(id="two.smooth", title="Smoothed labels", create=_task("two.smooth"),
                          description="Cross-entropy against smoothed labels.",
                          defaults={"smoothing": Param(0.1, minimum=0.0, maximum=0.5, help="Share of the label "
                                                       "spread over the other classes.")}))
        register(TaskSpec(id="two.weighted", title="Weighted classes", create=_task("two.weighted"),
                          defaults={"weighting": Param("balanced", choices=["none", "balanced"]),
                                    "warmup_steps": Param(0, minimum=0, maximum=1000, unit="steps")}))

    @hookimpl
    def dlstudio_register_models(self, register):
        register(ModelSpec(id="two.mlp", title="MLP", build=build_mlp, family="two",
                           tasks=("two.smooth", "two.weighted"), defaults={"hidden": Param(8, minimum=1)}))
        register(ModelSpec(id="two.plain", title="Plain MLP", build=build_mlp, family="two",
                           defaults={"hidden": 8}))

    @hookimpl
    def dlstudio_register_datasets(self, register):
        register(DatasetSpec(id="two.blobs", title="Blobs", load=load_blobs, family="two", defaults=BLOBS,
                             tasks=("classification", "two.weighted", "two.smooth")))
        register(DatasetSpec(id="two.only", title="Blobs for smoothing", load=load_blobs, family="two",
                             defaults=BLOBS, tasks=("two.smooth",)))

    @hookimpl
    def dlstudio_register_callbacks(self, register):
        register(CallbackSpec(id="tab.events", title="Events", create=lambda context: None))

    @hookimpl
    def dlstudio_register_panels(self, register):
        register(PanelSpec(id="two.train", title="Train", family="two",
                           factory=lambda context: TrainPanel(context, family="two")))


class FakeHost:
    def __init__(self):
        self.started, self.errors, self.notes = [], [], []

    def start_run(self, spec, resume_id):
        self.started.append(spec)
        return f"ticket-{len(self.started)}"

    def current_device(self):
        return "cpu"

    def is_running(self):
        return False

    def notify(self, text, level):
        self.notes.append((level, text))

    def show_error(self, title, message, details=""):
        self.errors.append((title, message))

    def show_panel(self, panel_id):
        return True


@pytest.fixture
def studio(make_studio):
    return make_studio(("two", TwoTasks()))


@pytest.fixture
def host():
    return FakeHost()


@pytest.fixture
def panel(qtbot, studio, host):
    widget = TrainPanel(StudioContext(studio, host), family="two")
    qtbot.addWidget(widget)
    return widget


def choose(panel, model_id, data_id):
    panel.model_box.select(model_id, {})
    panel.data_box.select(data_id, {})


def offered(panel):
    combo = panel.task_box.combo
    return [combo.itemData(i) for i in range(combo.count())]


def full_spec(**task_params) -> dict:
    return {"run": {"name": "clone me", "task": "two.weighted", "seed": 7},
            "model": {"id": "two.mlp", "params": {"hidden": 5}},
            "data": {"id": "two.blobs", "params": {**BLOBS, "samples": 60}},
            "task": {"params": task_params},
            "train": {"epochs": 2, "batch_size": 16, "lr": 0.05, "optimizer": "adam", "amp": True}}


# -- choosing the task -----------------------------------------------------------------------------------


def test_the_tasks_that_fit_the_model_and_data_are_offered_with_their_form(panel):
    choose(panel, "two.mlp", "two.blobs")
    assert offered(panel) == ["two.smooth", "two.weighted"]
    assert panel.task_box.isVisibleTo(panel) and panel.task_box.combo.isVisibleTo(panel)
    panel.task_box.combo.setCurrentIndex(1)
    form = panel.task_box.form()
    assert form.isVisibleTo(panel) and list(form.params) == ["weighting", "warmup_steps"]
    form.set_values({"weighting": "none", "warmup_steps": 20})
    spec = panel.current_spec()
    assert spec.run.task == "two.weighted"
    assert spec.task.params == {"weighting": "none", "warmup_steps": 20}


def test_a_single_fitting_task_is_not_a_choice_but_its_parameters_are_shown(panel):
    choose(panel, "two.mlp", "two.only")
    assert offered(panel) == ["two.smooth"]
    assert not panel.task_box.combo.isVisibleTo(panel)
    assert panel.task_box.isVisibleTo(panel) and panel.task_box.form().isVisibleTo(panel)
    assert "Smoothed labels" in panel.task_box.title()
    assert panel.current_spec().task.params == {"smoothing": 0.1}


def test_a_single_task_without_parameters_hides_the_task_box(panel):
    choose(panel, "two.plain", "two.blobs")
    assert offered(panel) == ["classification"]
    assert not panel.task_box.isVisibleTo(panel)
    spec = panel.current_spec()
    assert (spec.run.task, spec.task.params) == ("classification", {})


def test_a_model_and_data_without_a_common_task_cannot_start(panel, host):
    choose(panel, "two.plain", "two.only")
    assert offered(panel) == []
    assert panel.task_box.isVisibleTo(panel) and "no registered task in common" in panel.task_box.description.text()
    assert panel.start() is None
    assert host.started == [] and "no registered task in common" in host.errors[-1][1]


def test_the_chosen_tasks_parameters_reach_the_task_as_plain_values(panel, host, studio):
    CREATED.clear()
    choose(panel, "two.mlp", "two.blobs")
    panel.task_box.form().set_values({"smoothing": 0.25})
    panel.train_form.set_values({"epochs": 1, "batch_size": 16})
    assert panel.start() == "ticket-1"
    (spec,) = host.started
    spec.run.device = "cpu"
    assert run_to_end(Run(studio, spec)).status == "completed"
    assert CREATED == [("two.smooth", {"smoothing": 0.25})]


# -- the whole form at once ------------------------------------------------------------------------------


def test_start_lists_every_problem_at_once_and_marks_the_fields(panel, host):
    choose(panel, "two.mlp", "two.blobs")
    panel.task_box.form().widget("smoothing").setText("0.9")
    panel.train_form.widget("lr").setText("fast")
    panel.advanced_form.widget("grad_clip").setText("-1")
    panel.data_box.form().widget("noise").setText("loud")
    assert panel.start() is None
    assert host.started == []
    ((title, message),) = host.errors  # one dialog, not one per problem
    assert title == "Cannot start the run"
    assert message.splitlines() == [
        "4 settings need fixing:",
        "• Data › Noise: 'loud' is not a number",
        "• Task › Smoothing: 0.9 is above the maximum 0.5",
        "• Training › Learning rate: 'fast' is not a number",
        "• Training › Gradient clipping (max norm): -1.0 is below the minimum 0",
    ]
    assert panel.task_box.form().is_marked("smoothing") and panel.train_form.is_marked("lr")
    assert panel.advanced_form.is_marked("grad_clip") and panel.advanced_box.isExpanded()
    assert not panel.train_form.is_marked("epochs")


# -- clone -----------------------------------------------------------------------------------------------


def test_load_spec_restores_the_task_and_its_parameters_exactly(panel):
    original = full_spec(weighting="none", warmup_steps=30)
    assert panel.load_spec(original)
    assert panel.task_box.current_id() == "two.weighted"
    shown = panel.current_spec().to_dict()
    expected = RunSpec.from_dict(original).to_dict()
    for section in ("model", "data", "task", "train"):
        assert shown[section] == expected[section]
    assert (shown["run"]["task"], shown["run"]["name"], shown["run"]["seed"]) == ("two.weighted", "clone me", 7)


def test_load_spec_fills_task_parameters_a_spec_leaves_out_with_their_defaults(panel):
    assert panel.load_spec(full_spec(warmup_steps=30))
    assert panel.current_spec().task.params == {"weighting": "balanced", "warmup_steps": 30}


@pytest.mark.parametrize("change, reason", [
    ({"run": {"task": "classification"}}, "[model] two.mlp cannot be used for task 'classification' (it supports "
                                          "two.smooth, two.weighted)"),
    ({"run": {"task": "two.gan"}}, "no task 'two.gan' is registered"),
    ({"task": {"params": {"warmup": 3}}}, "[task.params] unknown key 'warmup' for task 'two.weighted' "
                                          "(did you mean 'warmup_steps'?)"),
    ({"task": {"params": {"warmup_steps": 5000}}}, "[task.params] warmup_steps: 5000 is above the maximum 1000"),
    ({"task": {"params": {"weighting": 1}}}, "[task.params] weighting: expected a string, got 1"),
    ({"model": {"id": "two.mlp", "params": {"hiden": 3}}}, "[model.params] unknown key 'hiden' for model "
                                                          "'two.mlp' (did you mean 'hidden'?)"),
])
def test_load_spec_refuses_what_it_cannot_show_and_says_why(panel, host, change, reason):
    choose(panel, "two.mlp", "two.only")
    spec = full_spec(weighting="none")
    for section, values in change.items():
        spec[section] = {**spec[section], **values}
    assert not panel.load_spec(spec)
    assert reason in panel.refusal
    assert reason in host.notes[-1][1]
    assert panel.data_box.current_id() == "two.only"  # nothing was half-loaded


def test_load_spec_of_another_panels_model_is_refused_silently(panel, host):
    spec = full_spec()
    spec["model"]["id"] = "demo.mlp"
    assert not panel.load_spec(spec)
    assert panel.refusal == "" and host.notes == []


def test_clone_in_the_window_lands_the_task_in_the_train_panel(make_window, studio):
    window = make_window(studio)
    window.clone_run("two", full_spec(weighting="none", warmup_steps=30))
    panel = window.panels["two.train"]
    assert panel.task_box.current_id() == "two.weighted"
    assert panel.current_spec().task.params == {"weighting": "none", "warmup_steps": 30}


# -- the [train] fields ----------------------------------------------------------------------------------


def test_train_labels_read_like_language_and_have_help(panel):
    def label(form, key):
        return form.layout().labelForField(form.widget(key).parentWidget()).text()

    assert [label(panel.train_form, key) for key in ("epochs", "batch_size", "lr", "weight_decay")] == [
        "Epochs", "Batch size", "Learning rate", "Weight decay"]
    assert [label(panel.advanced_form, key) for key in ("amp", "num_workers", "grad_clip", "eval_every")] == [
        "Mixed precision (AMP)", "Data-loading workers", "Gradient clipping (max norm)", "Evaluate every"]
    assert TRAIN_HELP["eval_every"] in panel.advanced_form.widget("eval_every").toolTip()


def test_settings_without_a_field_are_carried_and_shown_never_dropped(panel):
    original = full_spec(weighting="none")
    original["model"]["weights"] = "/data/pretrained.safetensors"
    original["run"]["callbacks"] = ["tab.events"]
    assert panel.load_spec(original)
    spec = panel.current_spec()
    assert spec.model.weights == "/data/pretrained.safetensors" and spec.run.callbacks == ["tab.events"]
    assert panel.carried_label.isVisibleTo(panel)
    assert "pretrained.safetensors" in panel.carried_label.text() and "tab.events" in panel.carried_label.text()
    # Weights belong to their architecture: choosing another model leaves them out (and says so no more).
    other = next(m for m in panel.model_box.items if m != "two.mlp")
    panel.model_box.select(other, {})
    assert panel.current_spec().model.weights == "" and "pretrained" not in panel.carried_label.text()


def test_the_scheduler_decides_which_advanced_fields_show(panel):
    """The two forms are linked: a schedule chosen in the basic form shows the advanced fields it reads."""
    panel.train_form.set_values({"scheduler": "multistep"})
    assert panel.advanced_form.is_shown("milestones") and not panel.advanced_form.is_shown("step_size")
    panel.train_form.set_values({"scheduler": "plateau"})
    assert panel.advanced_form.is_shown("plateau_patience") and not panel.advanced_form.is_shown("milestones")
    panel.train_form.set_values({"scheduler": "none"})
    assert not any(panel.advanced_form.is_shown(k) for k in ("milestones", "plateau_patience", "step_size"))
