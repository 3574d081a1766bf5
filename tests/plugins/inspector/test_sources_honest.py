"""Opening models says what it did: a TorchScript file's own input shape, honest refusals, close model ids."""

import json
import os
import pickle
import random
import warnings

import pytest
import torch

from dlstudio import hookimpl
from dlstudio.contract import DataInfo, ModelSpec
from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.sources import open_file, open_target
from tests.plugins.inspector.tiny_models import BookNet

# The key and format the TorchScript export writes into the file (torch.jit.save's _extra_files): the same
# JSON as a safetensors checkpoint's sidecar (input_shape without the batch, input_kind, classes, preprocessing).
EXTRA = "dlstudio.json"


def _script(path, model, x, extra=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model.eval(), x)
        torch.jit.save(traced, str(path), _extra_files={EXTRA: json.dumps(extra)} if extra else {})
    return path


# -- item 3: a TorchScript file carries its input shape ----------------------------------------------------


def test_a_torchscript_file_opens_with_the_input_shape_written_into_it(studio, tmp_path):
    meta = {"input_shape": [3, 32, 32], "input_kind": "image", "classes": ["a", "b", "c", "d"],
            "preprocessing": {"mean": [0.5] * 3, "std": [0.25] * 3}}
    path = _script(tmp_path / "net.pt", BookNet(4), torch.randn(1, 3, 32, 32), meta)
    opened = open_file(studio, path, trust_torchscript=True)
    assert opened.data.input_shape == (3, 32, 32) and opened.data.classes == ("a", "b", "c", "d")
    assert opened.data.extra["mean"] == [0.5] * 3
    assert not any("guess" in n for n in opened.notes)
    assert opened.model(opened.sample()).shape == (1, 4)  # the shape read from the file runs
    given = open_file(studio, path, input_shape=(3, 40, 40), trust_torchscript=True)  # the user's word wins
    assert given.data.input_shape == (3, 40, 40)


@pytest.mark.parametrize("extra", [None, {"input_shape": ["3", "x"]}])  # none written, or nonsense
def test_a_guessed_shape_that_does_not_run_says_so(studio, tmp_path, extra):
    path = _script(tmp_path / "net.pt", BookNet(4), torch.randn(1, 3, 32, 32), extra)
    opened = open_file(studio, path, trust_torchscript=True)
    guess = next(n for n in opened.notes if "guess" in n)
    assert "does not run" in guess and "--input-shape" in guess and "Input shape field" in guess


def test_the_window_opens_a_torchscript_file_with_the_shape_typed_in(panel_factory, qtbot, tmp_path):
    from dlstudio_inspector import trust

    path = _script(tmp_path / "net.pt", BookNet(4), torch.randn(1, 3, 32, 32))
    trust.allow(path, trust.digest(path.read_bytes()))
    panel = panel_factory()
    bar = panel.source
    qtbot.keyClicks(bar.shape_edit, "3,32,32")
    bar.open_path(path)
    assert panel.session.wait_idle(60_000)
    opened = panel.session.opened
    assert opened is not None and opened.data.input_shape == (3, 32, 32)
    assert panel.session.input_label.startswith("random sample")
    assert tuple(panel.session.x.shape) == (1, 3, 32, 32)
    statuses = []
    panel.session.status.connect(statuses.append)
    bar.shape_edit.setText("3,a")
    bar.open_path(path)
    assert panel.session.wait_idle(60_000)
    assert "'3,a'" in statuses[-1] and panel.session.opened is opened  # refused, not opened with a guess


@pytest.fixture
def panel_factory(qtbot, studio):
    from dlstudio.gui.context import StudioContext
    from dlstudio_inspector.panels.main import InspectorPanel
    from dlstudio_inspector.panels.preview import PreviewHost
    from dlstudio_inspector.plugin import PANEL

    made = []

    def make():
        host = PreviewHost()
        context = StudioContext(studio, host)
        widget = InspectorPanel(context, PANEL)
        widget.host = host
        qtbot.addWidget(widget)
        widget.show()
        made.append((widget, context))
        return widget

    yield make
    for widget, context in made:
        widget.session.wait_idle()
        context.shutdown()


# -- item 8: messages -------------------------------------------------------------------------------------


def test_random_bytes_after_a_pickle_marker_are_not_called_pickled_objects(studio, tmp_path):
    path = tmp_path / "noise.pt"
    path.write_bytes(b"\x80" + random.Random(0).randbytes(4096))  # seeded: never a valid pickle by chance
    with pytest.raises(InspectorError) as refused:
        open_file(studio, path, architecture="tiny.cnn")
    message = str(refused.value)
    assert "pickled Python objects" not in message
    assert "not a checkpoint dlstudio can read" in message


class Payload:
    """Stands for any Python object in a pickle: unpickling it would import and run code."""


def test_a_pickle_is_refused_without_pointing_at_the_unsafe_option(studio, tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"weight": [1.0], "opener": os.getcwd}, protocol=2))  # a function: code
    with pytest.raises(InspectorError) as refused:
        open_file(studio, path, architecture="tiny.cnn")
    message = str(refused.value)
    assert "pickled Python objects" in message  # it really is one
    assert "weights_only" not in message and "likely succeed" not in message


def test_a_plain_pickle_with_a_protocol_header_is_called_a_pickle(studio, tmp_path):
    path = tmp_path / "old.pt"
    path.write_bytes(pickle.dumps(Payload(), protocol=2))
    with pytest.raises(InspectorError) as refused:
        open_file(studio, path, architecture="tiny.cnn")
    assert "pickled Python objects" in str(refused.value)


def test_a_very_long_model_id_is_refused_cleanly(studio):
    with pytest.raises(InspectorError, match="neither a file, a registered model"):
        open_target(studio, "x" * 20_000)


def test_a_typo_in_a_model_id_suggests_the_close_match(studio):
    with pytest.raises(InspectorError, match=r"Did you mean 'tiny\.cnn'"):
        open_target(studio, "tiny.cnm")


def test_a_bare_model_name_is_accepted_when_only_one_plugin_has_it(studio):
    opened = open_target(studio, "resnet18")
    assert opened.model_id == "tiny.resnet18"
    assert any("tiny.resnet18" in n for n in opened.notes)  # says which one it took


class OtherResnet:
    DLSTUDIO_CONTRACT = 2

    @hookimpl
    def dlstudio_register_models(self, register):
        register(ModelSpec(id="other.resnet18", title="Other", build=lambda p, d: torch.nn.Linear(2, 2),
                           default_data=DataInfo(input_shape=(2,), classes=("a", "b"))))


def test_a_bare_name_two_plugins_share_is_refused_with_both_ids(make_studio):
    import dlstudio_inspector.plugin as inspector_plugin
    from tests.plugins.inspector import tiny_models

    studio = make_studio(("inspector", inspector_plugin), ("tiny", tiny_models), ("other", OtherResnet()))
    with pytest.raises(InspectorError, match=r"other\.resnet18.*tiny\.resnet18|tiny\.resnet18.*other\.resnet18"):
        open_target(studio, "resnet18")
