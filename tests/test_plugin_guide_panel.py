"""The guide's example plugin: its panel builds over a StudioContext and drives runs through it."""

from pathlib import Path

from PySide6.QtWidgets import QWidget

from dlstudio.gui.context import RecordingHost, StudioContext

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "dlstudio-hello-plugin"


def test_the_example_panel_builds_over_a_studio_context(qtbot, make_studio, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    from dlstudio_hello import plugin

    studio = make_studio(("hello", plugin))
    host = RecordingHost()
    context = StudioContext(studio, host)
    panel = studio.registry.panels.get("hello.spirals").factory(context)
    qtbot.addWidget(panel)
    assert isinstance(panel, QWidget)
    assert sum(len(item.getData()[0]) for item in panel.scatter) == 600  # the recipe's points are plotted

    panel.samples.setValue(200)
    assert sum(len(item.getData()[0]) for item in panel.scatter) == 200
    panel.train_button.click()
    assert host.errors == []
    (spec,) = host.started
    assert (spec.model.id, spec.data.id, spec.data.params["samples"]) == ("hello.mlp", "hello.spirals", 200)
    assert spec.model.params["layers"] == 3  # kept from the recipe although the panel has no widget for it

    context.run_started.emit("run-a", "hello")
    context.run_epoch.emit("run-a", {"epoch": 2, "valid_accuracy": 0.75})
    assert "epoch 2, accuracy 75.0%" in panel.status.text()
    context.run_started.emit("run-b", "someone-else")
    context.run_finished.emit("run-a", "completed", "")
    assert "run-a completed" in panel.status.text()

    clone = studio.recipe_spec("hello-spirals", ["model.params.hidden=7"]).to_dict()
    assert panel.load_spec(clone) and panel.hidden.value() == 7
    assert not panel.load_spec({"model": {"id": "demo.mlp"}, "data": {"id": "demo.blobs"}})

    generic = studio.registry.panels.get("hello.train").factory(context)
    qtbot.addWidget(generic)
    assert generic.load_spec(clone)
