"""The Spirals panel, built over a studio holding only this plugin and a stand-in for the window."""

import pytest

pytest.importorskip("pytestqt")

from dlstudio.gui.context import StudioContext
from dlstudio.plugins import module_candidate
from dlstudio.studio import Studio

from dlstudio_hello import plugin


class FakeHost:
    """Implements dlstudio.gui.context.Host: records what the panel asks of the window."""

    def __init__(self):
        self.started = []

    def start_run(self, spec, resume_id):
        self.started.append(spec)
        return f"run-{len(self.started)}"

    def current_device(self):
        return "cpu"

    def is_running(self):
        return False

    def notify(self, text, level):
        pass

    def show_error(self, title, message, details):
        raise AssertionError(f"{title}: {message}")

    def show_panel(self, panel_id):
        return False


def test_train_queues_the_settings_shown(qtbot, tmp_path):
    studio = Studio.open(tmp_path, [module_candidate("hello", plugin)])
    host = FakeHost()
    panel = studio.registry.panels.get("hello.spirals").factory(StudioContext(studio, host))
    qtbot.addWidget(panel)
    panel.hidden.setValue(16)
    panel.epochs.setValue(3)
    panel.train_button.click()
    (spec,) = host.started
    assert (spec.model.id, spec.model.params["hidden"], spec.train.epochs) == ("hello.mlp", 16, 3)


def test_clone_accepts_only_runs_of_this_model(qtbot, tmp_path):
    studio = Studio.open(tmp_path, [module_candidate("hello", plugin)])
    panel = studio.registry.panels.get("hello.spirals").factory(StudioContext(studio, FakeHost()))
    qtbot.addWidget(panel)
    spec = studio.recipe_spec("hello-spirals", ["data.params.samples=300"]).to_dict()
    assert panel.load_spec(spec)
    assert panel.samples.value() == 300
    assert not panel.load_spec({"model": {"id": "other.net"}, "data": {"id": "hello.spirals"}})
