"""The Spirals panel, built over a studio holding only this plugin and a stand-in for the window."""

import pytest

pytest.importorskip("pytestqt")

from dlstudio.gui.context import RecordingHost, StudioContext
from dlstudio.plugins import module_candidate
from dlstudio.studio import Studio

from dlstudio_hello import plugin


def test_train_queues_the_settings_shown(qtbot, tmp_path):
    studio = Studio.open(tmp_path, [module_candidate("hello", plugin)])
    host = RecordingHost()  # stands in for the window: records the runs the panel starts
    panel = studio.registry.panels.get("hello.spirals").factory(StudioContext(studio, host))
    qtbot.addWidget(panel)
    panel.hidden.setValue(16)
    panel.epochs.setValue(3)
    panel.train_button.click()
    assert host.errors == []
    (spec,) = host.started
    assert (spec.model.id, spec.model.params["hidden"], spec.train.epochs) == ("hello.mlp", 16, 3)


def test_the_fields_keep_to_the_declared_ranges(qtbot, tmp_path):
    studio = Studio.open(tmp_path, [module_candidate("hello", plugin)])
    panel = studio.registry.panels.get("hello.spirals").factory(StudioContext(studio, RecordingHost()))
    qtbot.addWidget(panel)
    panel.noise.setValue(5.0)
    panel.samples.setValue(1)
    assert (panel.noise.value(), panel.samples.value()) == (1.0, 10)  # the Params' maximum and minimum
    assert panel.samples.toolTip() == "Points in all, half on each arm."


def test_clone_accepts_only_runs_of_this_model(qtbot, tmp_path):
    studio = Studio.open(tmp_path, [module_candidate("hello", plugin)])
    panel = studio.registry.panels.get("hello.spirals").factory(StudioContext(studio, RecordingHost()))
    qtbot.addWidget(panel)
    spec = studio.recipe_spec("hello-spirals", ["data.params.samples=300"]).to_dict()
    assert panel.load_spec(spec)
    assert panel.samples.value() == 300
    assert not panel.load_spec({"model": {"id": "other.net"}, "data": {"id": "hello.spirals"}})
