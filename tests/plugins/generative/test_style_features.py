"""The frozen feature networks: VGG-19's layers named as torchvision numbers its modules, its weights from a file,
torch hub's cache or the download (and what is said when none works), and the seeded random filter banks."""

from __future__ import annotations

import re
import urllib.error

import pytest
import torch
import torchvision
from torch import nn

from dlstudio_generative.style import vgg_weights
from dlstudio_generative.style.features import RandomBanks, VGG19Features, build_features
from dlstudio_generative.style.layers import (
    BANK_KERNELS,
    default_layers,
    layer_names,
    parse_layers,
    vgg19_layer_names,
)
from dlstudio_generative.style.vgg_weights import (
    VGG19_FILE,
    VGG19_URL,
    WeightsError,
    features_state,
    vgg19_features_state,
)


def torchvision_vgg19(device: str = "meta") -> nn.Module:
    with torch.device(device):  # on "meta": the modules and shapes without allocating 548 MB
        return torchvision.models.vgg19(weights=None)


@pytest.fixture(scope="module")
def random_vgg_features():
    """The state dict of a randomly initialised torchvision VGG-19's ``features`` (what a user's file holds)."""
    torch.manual_seed(0)
    return torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"]).state_dict()


@pytest.fixture(scope="module")
def weights_file(random_vgg_features, tmp_path_factory):
    path = tmp_path_factory.mktemp("vgg") / "my-vgg19-features.pth"
    torch.save(random_vgg_features, path)
    return path


# -- layer names -------------------------------------------------------------------------------------------
def test_vgg_layer_names_match_torchvision_module_indices():
    modules = list(torchvision_vgg19().features)
    names = vgg19_layer_names()
    assert len(names) == len(modules) == 37
    block, convs_in_block = 1, 0
    for index, (name, module) in enumerate(zip(names, modules, strict=True)):
        if isinstance(module, nn.Conv2d):
            convs_in_block += 1
            assert name == f"conv{block}_{convs_in_block}", index
        elif isinstance(module, nn.ReLU):
            assert name == f"relu{block}_{convs_in_block}", index
        else:
            assert isinstance(module, nn.MaxPool2d) and name == f"pool{block}", index
            block, convs_in_block = block + 1, 0
    # The book's layers, at the indices the usual PyTorch code hooks.
    assert {names.index(n): n for n in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1")} == {
        0: "conv1_1", 5: "conv2_1", 10: "conv3_1", 19: "conv4_1", 21: "conv4_2", 28: "conv5_1"}
    assert modules[21].out_channels == 512 and modules[5].out_channels == 128


def test_layers_are_checked_by_name_with_the_defaults_when_empty():
    assert parse_layers("vgg19", "", "") == default_layers("vgg19") == (
        ("conv4_2",), ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"))
    assert parse_layers("random-banks", "", " bank3 , bank37 ") == (("bank3",), ("bank3", "bank37"))
    assert layer_names("random-banks") == tuple(f"bank{k}" for k in BANK_KERNELS)
    with pytest.raises(ValueError, match=r"style_layers: vgg19 has no layer 'conv6_1'; its layers are conv1_1"):
        parse_layers("vgg19", "", "conv1_1,conv6_1")
    with pytest.raises(ValueError, match=r"random-banks has no layer 'conv4_2' \(VGG-19's layers are named"):
        parse_layers("random-banks", "conv4_2", "")
    with pytest.raises(ValueError, match="named twice"):
        parse_layers("vgg19", "", "conv1_1,conv1_1")
    with pytest.raises(ValueError, match="unknown feature network 'alexnet'"):
        build_features("alexnet")


# -- VGG-19 --------------------------------------------------------------------------------------------------
def test_vgg_outputs_are_torchvisions_modules_on_normalised_input(random_vgg_features):
    reference = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"])
    reference.load_state_dict(random_vgg_features)
    ours = VGG19Features(random_vgg_features)
    image = torch.rand(1, 3, 32, 32)
    normalised = (image - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    out = ours(image, ["conv1_1", "relu1_1", "conv4_2"])
    with torch.no_grad():
        conv1_1 = reference[0](normalised)
        assert torch.allclose(out["conv1_1"], conv1_1, atol=1e-5)
        assert (out["conv1_1"] < 0).any()  # the convolution's own output, not overwritten by an in-place ReLU
        assert torch.allclose(out["relu1_1"], conv1_1.clamp(min=0), atol=1e-5)
        assert torch.allclose(out["conv4_2"], reference[:22](normalised), atol=1e-4)
    assert not any(p.requires_grad for p in ours.parameters())


def test_a_users_weights_file_loads(weights_file, random_vgg_features):
    state = vgg19_features_state(str(weights_file))
    assert state.keys() == random_vgg_features.keys()
    assert all(torch.equal(state[k], random_vgg_features[k]) for k in state)


def test_a_whole_vgg19_state_dict_is_accepted(random_vgg_features, tmp_path):
    # torchvision's vgg19().state_dict(): the features under "features.", and the classifier (left out here,
    # but for one small stand-in: writing the real 500 MB classifier would only slow the test).
    whole = {f"features.{k}": v for k, v in random_vgg_features.items()}
    whole["classifier.6.bias"] = torch.zeros(1000)
    path = tmp_path / "vgg19-whole.pth"
    torch.save(whole, path)
    state = vgg19_features_state(str(path))
    assert torch.equal(state["34.weight"], random_vgg_features["34.weight"])


def test_another_networks_weights_are_refused_saying_what_was_expected(tmp_path):
    resnet_like = {"conv1.weight": torch.zeros(64, 3, 7, 7), "bn1.weight": torch.zeros(64),
                   "fc.weight": torch.zeros(1000, 512), "fc.bias": torch.zeros(1000)}
    path = tmp_path / "resnet18.pth"
    torch.save(resnet_like, path)
    with pytest.raises(WeightsError) as caught:
        vgg19_features_state(str(path))
    message = str(caught.value)
    assert "resnet18.pth does not hold VGG-19's weights: expected VGG-19's 16 conv layers (features.0.weight " \
           "64×3×3×3, features.2.weight 64×64×3×3, … features.34.weight 512×512×3×3)" in message
    assert "this file has 4 tensors: conv1.weight 64×3×7×7, bn1.weight 64, fc.weight 1000×512 and 1 more" in message


def test_wrong_shapes_are_refused_naming_the_layer(random_vgg_features):
    narrow = dict(random_vgg_features)
    narrow["0.weight"] = torch.zeros(32, 3, 3, 3)
    with pytest.raises(WeightsError, match=r"features\.0\.weight is 32×3×3×3 in this file, VGG-19's is 64×3×3×3"):
        features_state(narrow, "narrow.pth")


def test_vgg19_with_batch_norm_is_refused_as_another_network():
    state = {k: torch.zeros(1) for k in torchvision_vgg19_bn_keys()}
    with pytest.raises(WeightsError, match=r"batch normalisation \(vgg19_bn\), a different network"):
        features_state(state, "vgg19_bn.pth")


def torchvision_vgg19_bn_keys() -> list[str]:
    with torch.device("meta"):
        return list(torchvision.models.vgg19_bn(weights=None).state_dict())


def test_a_truncated_weights_file_is_refused(tmp_path):
    whole = tmp_path / "whole.pth"
    torch.save({"0.weight": torch.randn(64, 3, 3, 3)}, whole)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(WeightsError, match=r"cut\.pth is truncated or not a PyTorch weights file"):
        vgg19_features_state(str(cut))


def test_a_pickled_model_is_not_unpickled(tmp_path):
    path = tmp_path / "model.pth"
    torch.save(nn.Linear(2, 2), path)  # a whole module: loading it would run arbitrary code
    with pytest.raises(WeightsError, match=r"holds more than tensors .* state_dict"):
        vgg19_features_state(str(path))
    with pytest.raises(WeightsError, match="does not exist"):
        vgg19_features_state(str(tmp_path / "absent.pth"))


# -- torch hub: cache and download ---------------------------------------------------------------------------
@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    yield tmp_path / "hub"
    torch.hub.set_dir(previous)


@pytest.fixture
def no_network(monkeypatch):
    tried = []

    def fail(url, dst, *args, **kwargs):
        tried.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fail)
    return tried


def test_without_a_file_or_network_the_message_names_the_file_url_and_folder(hub_dir, no_network):
    with pytest.raises(WeightsError) as caught:
        vgg19_features_state("", report=lambda text: None)
    message = str(caught.value)
    assert no_network == [VGG19_URL]  # the real download was tried
    assert VGG19_FILE == "vgg19-dcbb9e9d.pth"
    assert f"put vgg19-dcbb9e9d.pth in {hub_dir / 'checkpoints'} (the folder torch looks in)" in message
    assert VGG19_URL in message and "Temporary failure in name resolution" in message
    assert "random-banks" in message


def test_torch_hubs_cached_copy_is_used_without_downloading(hub_dir, no_network, weights_file):
    (hub_dir / "checkpoints").mkdir(parents=True)
    (hub_dir / "checkpoints" / VGG19_FILE).write_bytes(weights_file.read_bytes())
    state = vgg19_features_state("")
    assert no_network == [] and len(state) == 32
    assert vgg_weights.hub_weights_path() == hub_dir / "checkpoints" / VGG19_FILE


def test_a_damaged_cached_copy_says_where_it_is(hub_dir, no_network):
    (hub_dir / "checkpoints").mkdir(parents=True)
    (hub_dir / "checkpoints" / VGG19_FILE).write_bytes(b"PK\x03\x04 half a download")
    with pytest.raises(WeightsError, match=re.escape(f"torch hub's copy in {hub_dir / 'checkpoints'}: delete it")):
        vgg19_features_state("")


# -- random banks ----------------------------------------------------------------------------------------------
def test_random_banks_are_seeded_and_cover_the_kernel_sizes():
    image = torch.rand(1, 3, 40, 40)
    a, b, c = RandomBanks(seed=3), RandomBanks(seed=3), RandomBanks(seed=4)
    layers = a.layer_names
    assert layers == ("bank3", "bank5", "bank9", "bank15", "bank21", "bank29", "bank37")
    fa, fb, fc = a(image, layers), b(image, layers), c(image, layers)
    assert all(torch.equal(fa[n], fb[n]) for n in layers)
    assert not torch.equal(fa["bank3"], fc["bank3"])
    assert fa["bank3"].shape == (1, 64, 40, 40)  # small kernels at full resolution
    assert fa["bank37"].shape == (1, 64, 10, 10)  # the largest with a stride of 4
    assert all((f >= 0).all() for f in fa.values())  # after a ReLU
    assert list(a.parameters()) == [] and a.state_dict() == {}  # nothing to train, nothing to save
