"""Bad inputs are refused with a message that says what the file is and what to do (issue 12, item 8).

Expected key lists come from torch's own ``load_state_dict(strict=False)``, never from the code under test.
"""

import pickle
import warnings

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from safetensors.torch import save_file
from torch import nn

import dlstudio_images.plugin as images_plugin
import dlstudio_inspector.plugin as inspector_plugin
from dlstudio.checkpoints import load_checkpoint, load_torch_state_dict, save_checkpoint, save_train_state
from dlstudio.cli import build_parser, dispatch
from dlstudio.errors import CheckpointError
from dlstudio_images.data import folder
from dlstudio_images.data.params import FOLDER_DEFAULTS
from dlstudio_images.models import book
from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.inputs import load_input_file
from dlstudio_inspector.sources import NeedsArchitecture, open_file
from tests.plugins.images.factory import make_folder, write_image
from tests.plugins.inspector import tiny_models


@pytest.fixture
def images(make_studio):
    return make_studio(("images", images_plugin), ("inspector", inspector_plugin))


def cli(studio, *argv):
    parser = build_parser(studio, list(argv))
    return dispatch(parser.parse_args(list(argv)), studio)


def torch_misfit(model: nn.Module, state: dict) -> tuple[list[str], list[str]]:
    """(missing, unexpected) keys as torch itself reports them (shared names of another shape are neither:
    the model's own tensor stands in for them, or torch would stop at the first size mismatch)."""
    own = model.state_dict()
    result = model.load_state_dict({k: own.get(k, v) for k, v in state.items()}, strict=False)
    return list(result.missing_keys), list(result.unexpected_keys)


# -- a weights file of another architecture ------------------------------------------------------------


@pytest.mark.parametrize("with_sidecar", [False, True], ids=["state-dict", "dlstudio-checkpoint"])
def test_a_weights_file_of_another_architecture_says_which_keys_differ(images, tmp_path, capsys, with_sidecar):
    resnet = torchvision.models.resnet18(num_classes=10).state_dict()
    if with_sidecar:
        path = save_checkpoint(tmp_path / "r18", resnet, {"architecture": "images.resnet18"})
    else:
        path = tmp_path / "r18.pt"
        torch.save(resnet, path)
    status = cli(images, "train", "--recipe", "digits-cnn", "--set", f"model.params.weights_file={path}",
                 "--set", "train.epochs=1")
    err = capsys.readouterr().err
    assert status == 2
    missing, unexpected = torch_misfit(book.Net(1, 10, 28), resnet)
    assert f"{len(missing)} missing keys" in err and "fc2.weight" in err
    assert f"{len(unexpected)} unexpected keys" in err
    assert "conv1.weight: file (64, 3, 7, 7) vs model (10, 1, 5, 5)" in err  # same name, other shape
    assert "images.mnist_net" in err
    if with_sidecar:
        assert "checkpoint of images.resnet18" in err


def test_a_book_network_as_resnet_weights_names_the_keys(images, tmp_path):
    from dlstudio_images.models import torchvision_models as tvm
    from dlstudio_images.models.params import ARCHS

    net = book.Net(1, 10, 28)
    torch.save(net.state_dict(), tmp_path / "net.pt")
    params = {**tvm_params(), "weights": "file", "weights_file": str(tmp_path / "net.pt")}
    missing, unexpected = torch_misfit(torchvision.models.resnet18(), net.state_dict())
    info = images.registry.models.get("images.resnet18").default_data
    with pytest.raises(CheckpointError) as caught:
        tvm.build(ARCHS["resnet18"], params, info)
    text = str(caught.value)
    assert f"{len(missing)} missing keys" in text and f"{len(unexpected)} unexpected keys" in text
    assert "fc2.weight" in text and "images.resnet18" in text


def tvm_params():
    from dlstudio.params import param_defaults
    from dlstudio_images.models.params import ARCHS, defaults

    return param_defaults(defaults(ARCHS["resnet18"]))


# -- which architectures "fit" a bare state dict -------------------------------------------------------


def test_they_fit_means_names_and_shapes(make_studio, tmp_path):
    studio = make_studio(("inspector", inspector_plugin), ("tiny", tiny_models))
    wide = tiny_models.BookNet(4, hidden=70)  # tiny.cnn's names, but fc1/fc2 of another width
    torch.save(wide.state_dict(), tmp_path / "wide.pt")
    with pytest.raises(NeedsArchitecture) as caught:
        open_file(studio, tmp_path / "wide.pt")
    assert caught.value.candidates == []
    assert "They fit:" not in str(caught.value) and "fit no registered architecture" in str(caught.value)
    assert "fc1.weight: file (70, 500) vs model (50, 500)" in str(caught.value)


def test_a_head_of_other_width_does_not_fit_the_feature_head(images, tmp_path):
    torch.save({"fc.weight": torch.zeros(10, 2048), "fc.bias": torch.zeros(10)}, tmp_path / "head.pt")
    with pytest.raises(NeedsArchitecture) as caught:
        open_file(images, tmp_path / "head.pt")
    assert "images.feature_head" not in caught.value.candidates
    assert "They fit: images.feature_head" not in str(caught.value)


# -- files that are not checkpoints ----------------------------------------------------------------------


def write_onnx(path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    onnx.save(helper.make_model(graph, producer_name="pytorch"), str(path))
    return path


def test_an_onnx_file_is_named_not_called_corrupt(tmp_path):
    for name in ("model.onnx", "model.safetensors"):
        path = write_onnx(tmp_path / name)
        with pytest.raises(CheckpointError, match="an ONNX file, not a checkpoint") as caught:
            load_checkpoint(path)
        assert "corrupt" not in str(caught.value) and "cannot train from it" in str(caught.value)


def test_a_torchscript_file_as_weights_is_named_and_never_run(tmp_path, capfd):
    from tests.faults.test_torchscript_trust import MARK, save_chatty

    for name in ("net.pt", "net.safetensors"):
        path = save_chatty(tmp_path / name)
        with pytest.raises(CheckpointError, match="a TorchScript file, not a checkpoint"):
            load_checkpoint(path)
    assert MARK not in capfd.readouterr().out


def test_a_runs_training_state_is_not_taken_for_weights(tmp_path):
    opt = torch.optim.Adam(nn.Linear(2, 2).parameters())
    save_train_state(tmp_path / "last-state", {"optimizer": opt.state_dict(), "epoch": 3})
    with pytest.raises(CheckpointError, match=r"training state.*not model weights"):
        load_checkpoint(tmp_path / "last-state.safetensors")


def test_other_formats_are_named(tmp_path):
    (tmp_path / "keras.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    np.save(tmp_path / "arr.npy", np.zeros(3))
    with pytest.raises(CheckpointError, match="HDF5"):
        load_checkpoint(tmp_path / "keras.h5")
    with pytest.raises(CheckpointError, match="NumPy"):
        load_checkpoint(tmp_path / "arr.npy")
    save_file({"x": torch.zeros(2)}, tmp_path / "ok.safetensors")  # the real thing still loads
    assert torch.equal(load_checkpoint(tmp_path / "ok.safetensors")[0]["x"], torch.zeros(2))


# -- pickles are refused without torch's warnings first ----------------------------------------------------


class Evil:
    def __reduce__(self):
        return (print, ("pickle code ran",))


def test_pickle_refusals_come_without_torch_warnings(tmp_path, capfd):
    torch.save({"a": torch.zeros(2), "b": Evil()}, tmp_path / "zip.pt")
    torch.save({"b": Evil()}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False, pickle_protocol=4)
    with open(tmp_path / "raw.pt", "wb") as fh:
        pickle.dump({"b": Evil()}, fh, protocol=4)
    for name in ("zip.pt", "legacy.pt", "raw.pt"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(CheckpointError, match="refused"):
                load_torch_state_dict(tmp_path / name)
        assert [str(w.message)[:60] for w in caught] == [], name
    assert "pickle code ran" not in capfd.readouterr().out


# -- a decompression bomb as the inspector's input ---------------------------------------------------------


def test_a_decompression_bomb_input_is_refused_with_a_message(make_studio, tmp_path, monkeypatch):
    studio = make_studio(("inspector", inspector_plugin), ("tiny", tiny_models))
    from dlstudio_inspector.sources import open_registered

    opened = open_registered(studio, "tiny.cnn")
    Image.fromarray(np.zeros((64, 64, 3), dtype=np.uint8)).save(tmp_path / "bomb.png")
    Image.fromarray(np.zeros((48, 48, 3), dtype=np.uint8)).save(tmp_path / "big.png")
    # 64×64 is over twice the limit (PIL raises); 48×48 between once and twice (PIL only warns).
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1500)
    for name in ("bomb.png", "big.png"):
        with pytest.raises(InspectorError, match="decompression bomb"):
            load_input_file(tmp_path / name, opened.model, opened.data)


# -- what a class folder holds besides images ---------------------------------------------------------------


def test_hidden_files_and_nested_folders_are_counted_and_said(tmp_path, ctx):
    root = make_folder(tmp_path / "data", {"": {"cat": 4, "dog": 4}})
    (root / "cat" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(40))
    write_image(root / "cat" / ".thumbs" / "t.png", (0, 0, 0))  # inside a hidden folder
    write_image(root / "cat" / "more" / "deep.png", (220, 30, 30))  # a nested folder: counted
    write_image(root / "dog" / "a" / "b" / "deeper.png", (30, 200, 40))
    (root / "dog" / "notes.txt").write_text("not an image")
    bundle = folder.load({**FOLDER_DEFAULTS, "root": str(root), "size": 16, "normalize": "none"}, ctx)
    assert len(bundle.train) + len(bundle.valid) == 10  # 8 + the 2 nested, not the hidden ones
    text = "\n".join(bundle.messages)
    assert "10 images" in text
    assert "2 in nested folders" in text and "cat/more/deep.png" in text
    assert "skipped 2 hidden files" in text and ".DS_Store" in text and ".thumbs" in text
    assert "notes.txt: not an image" in text


@pytest.fixture
def ctx(tmp_path):
    from dlstudio.contract import LoadContext

    return LoadContext(cache_dir=tmp_path / "cache", seed=0, report=lambda _m: None)
