import pytest
import torch
from safetensors.torch import save_file

from dlstudio.checkpoints import save_checkpoint
from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.sources import (
    NeedsArchitecture,
    open_file,
    open_registered,
    open_run,
    open_target,
    refresh,
)
from tests.plugins.inspector.tiny_models import BookNet


def _meta(opened, **more):
    return {"architecture": opened.model_id, "model_params": opened.params, "classes": list(opened.data.classes),
            "input_shape": list(opened.data.input_shape), "input_kind": opened.data.input_kind, **more}


def _make_run(studio, epochs=(1,), kinds=("best", "last")):
    store = studio.store
    run_id = store.create_run(name="cnn run", plugin="tiny", task="classification", model="tiny.cnn", dataset="d",
                              params={}, spec="", device="cpu", epochs=5, monitor="valid_loss")
    opened = open_registered(studio, "tiny.cnn")
    folder = store.run_dir(run_id) / "checkpoints"
    for epoch in epochs:
        for kind in kinds:
            path = save_checkpoint(folder / kind, opened.model.state_dict(), _meta(opened, epoch=epoch))
            store.add_artifact(run_id, kind, path, epoch)
    return run_id, opened


def test_registered_models_open_fresh_in_eval_mode(studio):
    opened = open_registered(studio, "tiny.cnn", {"hidden": 7})
    assert not opened.model.training and opened.model.fc1.out_features == 7
    assert opened.kind == "registered" and opened.data.input_shape == (3, 32, 32)
    with pytest.raises(KeyError, match=r"no model 'tiny.cnnn'.*Did you mean"):
        open_registered(studio, "tiny.cnnn")


def test_a_run_opens_at_its_best_or_last_checkpoint_and_refreshes(studio):
    run_id, original = _make_run(studio, epochs=(1,))
    opened = open_target(studio, f"run:{run_id}")
    assert opened.kind == "run" and opened.checkpoint == "best" and opened.epoch == 1
    x = opened.sample()
    assert torch.equal(opened.model(x), original.model(x))
    assert "run" in opened.origin and run_id in opened.origin
    last = open_run(studio, run_id, "last")
    assert refresh(studio, last) is None  # nothing new yet
    state = {k: v + 1 for k, v in original.model.state_dict().items()}
    path = save_checkpoint(studio.store.run_dir(run_id) / "checkpoints" / "last", state, _meta(original, epoch=2))
    studio.store.add_artifact(run_id, "last", path, 2)
    newer = refresh(studio, last)
    assert newer is not None and newer.epoch == 2
    assert torch.equal(newer.model.fc2.bias, original.model.fc2.bias + 1)
    with pytest.raises(InspectorError, match="no 'final' checkpoint"):
        open_run(studio, run_id, "final")


def test_a_run_without_checkpoints_and_an_unknown_run(studio):
    run_id = studio.store.create_run(name="x", plugin="t", task="c", model="tiny.cnn", dataset="d", params={},
                                     spec="", device="cpu", epochs=1, monitor="m")
    with pytest.raises(InspectorError, match="no checkpoint yet"):
        open_target(studio, f"run:{run_id}")
    with pytest.raises(KeyError, match="no run 'nope'"):
        open_target(studio, "run:nope")


def test_a_trained_run_from_the_runner_opens(make_studio):
    import dlstudio_inspector.plugin as inspector_plugin
    from dlstudio.runner import Run, run_to_end
    from dlstudio.spec import RunSpec
    from tests.fixture_plugins import demo_plugin

    studio = make_studio(("demo", demo_plugin), ("inspector", inspector_plugin))
    spec = RunSpec.from_dict({"model": {"id": "demo.mlp"}, "data": {"id": "demo.blobs"},
                              "train": {"epochs": 2, "batch_size": 64}, "run": {"device": "cpu"}})
    run = Run(studio, spec)
    run_to_end(run)
    opened = open_target(studio, f"run:{run.run_id}:last")
    assert opened.epoch == 2 and opened.data.input_shape == (4,)
    assert opened.model(opened.sample()).shape == (1, 3)


def test_safetensors_checkpoint_with_sidecar(studio, tmp_path):
    original = open_registered(studio, "tiny.rnn")
    save_checkpoint(tmp_path / "model", original.model.state_dict(), _meta(original))
    opened = open_file(studio, tmp_path / "model.safetensors")
    assert opened.model_id == "tiny.rnn" and opened.data.input_kind == "tokens"
    x = opened.sample()
    assert torch.equal(opened.model(x), original.model(x))
    assert open_file(studio, tmp_path / "model.json").model_id == "tiny.rnn"  # the sidecar works too


def test_a_state_dict_asks_which_architecture_and_names_those_that_fit(studio, tmp_path):
    model = BookNet(4).eval()
    torch.save(model.state_dict(), tmp_path / "weights.pth")
    with pytest.raises(NeedsArchitecture, match=r"choose one\. They fit: tiny\.cnn") as caught:
        open_file(studio, tmp_path / "weights.pth")
    assert caught.value.candidates == ["tiny.cnn"]
    opened = open_file(studio, tmp_path / "weights.pth", architecture="tiny.cnn")
    x = opened.sample()
    assert torch.equal(opened.model(x), model(x))


def test_a_state_dict_that_fits_nothing_says_which_keys_differ(studio, tmp_path):
    torch.save({"encoder.weight": torch.zeros(3, 3), "conv1.weight": torch.zeros(10, 3, 5, 5)},
               tmp_path / "odd.pt")
    with pytest.raises(NeedsArchitecture, match=r"fit no registered architecture.*missing.*unexpected: encoder"):
        open_file(studio, tmp_path / "odd.pt")
    with pytest.raises(InspectorError, match=r"do not fit.*missing: conv1.bias.*unexpected: encoder.weight"):
        open_file(studio, tmp_path / "odd.pt", architecture="tiny.cnn")
    # Right keys, wrong class count: the shape mismatch is named.
    torch.save(BookNet(9).state_dict(), tmp_path / "nine.pt")
    with pytest.raises(InspectorError, match=r"shape mismatch: fc2.weight: file \(9, 50\) vs model \(4, 50\)"):
        open_file(studio, tmp_path / "nine.pt", architecture="tiny.cnn")


def test_files_that_are_not_models(studio, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InspectorError, match="not a model file"):
        open_file(studio, tmp_path / "notes.txt")
    (tmp_path / "junk.pt").write_bytes(b"\x00not a pickle at all")
    with pytest.raises(InspectorError, match="not a readable PyTorch file"):
        open_file(studio, tmp_path / "junk.pt")
    (tmp_path / "junk.safetensors").write_bytes(b"garbage")
    with pytest.raises(InspectorError, match="corrupt or truncated"):
        open_file(studio, tmp_path / "junk.safetensors")
    torch.save({"model": BookNet(4)}, tmp_path / "pickled.pt")  # a whole pickled module: refused, never run
    with pytest.raises(InspectorError, match=r"refused.*arbitrary code"):
        open_file(studio, tmp_path / "pickled.pt")
    save_file({"x": torch.zeros(2)}, tmp_path / "bare.safetensors")
    with pytest.raises(NeedsArchitecture):
        open_file(studio, tmp_path / "bare.safetensors")
    with pytest.raises(InspectorError, match="does not exist"):
        open_file(studio, tmp_path / "missing.pt")
    with pytest.raises(InspectorError, match="neither a file, a registered model"):
        open_target(studio, "no-such-thing")


def test_torchscript_files_open_with_a_guessed_input(studio, tmp_path):
    import warnings

    model = BookNet(4).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.trace(model, torch.randn(1, 3, 32, 32)), str(tmp_path / "net.pt"))
    opened = open_file(studio, tmp_path / "net.pt", input_shape=(3, 32, 32), trust_torchscript=True)
    assert opened.kind == "torchscript" and opened.is_scripted
    x = opened.sample()
    assert torch.allclose(opened.model(x), model(x))
    guessed = open_file(studio, tmp_path / "net.pt", trust_torchscript=True)
    assert guessed.data.input_shape == (3, 224, 224) and any("guessed" in n for n in guessed.notes)


def test_a_builder_that_needs_the_network_fails_with_a_clear_message(make_studio):
    import urllib.error

    from dlstudio import hookimpl
    from dlstudio.contract import DataInfo, ModelSpec

    class Offline:
        DLSTUDIO_CONTRACT = 1

        @hookimpl
        def dlstudio_register_models(self, register):
            def build(params, info):
                raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

            register(ModelSpec(id="net.pretrained", title="Pretrained", build=build,
                               default_data=DataInfo(input_shape=(3, 8, 8), classes=("a",))))

    studio = make_studio(("offline", Offline()))
    with pytest.raises(InspectorError, match=r"could not be built.*offline.*cache"):
        open_registered(studio, "net.pretrained")
