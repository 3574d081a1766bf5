import urllib.error

import pytest
import torch

from dlstudio.checkpoints import CheckpointError, save_checkpoint
from dlstudio.contract import DataInfo
from dlstudio_images.models import torchvision_models as tvm
from dlstudio_images.models.params import ARCHS, defaults
from dlstudio_images.models.transfer import count_parameters


def _params(**kw):
    return {"weights": "random", "weights_file": "", "freeze": "none", "dropout": 0.0, **kw}


def _info(classes=3, channels=3, size=32):
    return DataInfo((channels, size, size), tuple(f"c{i}" for i in range(classes)))


@pytest.mark.parametrize("arch_id", ["resnet18", "densenet121", "mobilenet_v3_small", "efficientnet_b0",
                                     "inception_v3"])
def test_the_head_is_replaced_for_the_datas_classes(arch_id):
    arch = ARCHS[arch_id]
    size = max(arch.min_size, 32)
    model = tvm.build(arch, {**defaults(arch), "aux_logits": False}, _info(5, size=size))
    head = model.get_submodule(arch.head)
    assert head.out_features == 5
    model.eval()
    assert model(torch.randn(2, 3, size, size)).shape == (2, 5)


def test_inception_keeps_its_auxiliary_logits_at_299_pixels():
    arch = ARCHS["inception_v3"]
    with pytest.raises(ValueError, match="at least 299"):
        tvm.build(arch, defaults(arch), _info(5, size=128))
    model = tvm.build(arch, {**defaults(arch), "freeze": "mixed6"}, _info(5, size=299))
    out = model.train()(torch.randn(2, 3, 299, 299))
    assert out.logits.shape == (2, 5) and out.aux_logits.shape == (2, 5)


def test_freezing_the_backbone_or_up_to_a_block():
    arch = ARCHS["resnet18"]
    model = tvm.build(arch, _params(freeze="backbone"), _info())
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"fc.weight", "fc.bias"}
    assert count_parameters(model) == (512 * 3 + 3, 11_689_512 - 512 * 1000 - 1000)  # ResNet-18 less its fc

    model = tvm.build(arch, _params(freeze="layer2"), _info())
    frozen = {n.split(".")[0] for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {"conv1", "bn1", "layer1", "layer2"}
    # frozen batch norm keeps its statistics even when the model trains
    model.train()
    before = model.layer1[0].bn1.running_mean.clone()
    model(torch.randn(4, 3, 32, 32) * 5 + 3)
    assert torch.equal(model.layer1[0].bn1.running_mean, before)
    assert not torch.equal(model.layer3[0].bn1.running_mean, torch.zeros(128 * 2))


def test_vgg_backbone_freezing_leaves_the_classifier_trainable():
    arch = ARCHS["vgg16"]
    model = tvm.build(arch, _params(freeze="backbone", dropout=0.2), _info(2))
    assert all(not p.requires_grad for p in model.features.parameters())
    assert all(p.requires_grad for p in model.classifier.parameters())
    assert model.classifier[2].p == 0.2 and model.classifier[6].out_features == 2


def test_head_dropout_without_changing_the_state_dict_keys():
    arch = ARCHS["resnet18"]
    plain = tvm.build(arch, _params(), _info())
    dropped = tvm.build(arch, _params(dropout=0.9), _info())
    assert plain.state_dict().keys() == dropped.state_dict().keys()
    x = torch.randn(2, 3, 32, 32)
    dropped.train()
    dropped.bn1.eval()
    assert not torch.allclose(dropped(x), dropped(x))
    dropped.eval()
    assert torch.allclose(dropped(x), dropped(x))


def _fake_imagenet_file(arch, hub, monkeypatch, mutate=None):
    monkeypatch.setattr(torch.hub, "_hub_dir", str(hub))
    _, path = tvm.imagenet_file(arch)
    path.parent.mkdir(parents=True)
    torch.manual_seed(1)
    state = tvm.bare(arch, 1000).state_dict()
    torch.save(mutate(state) if mutate else state, path)
    return state


def test_imagenet_weights_come_from_the_torch_hub_cache(tmp_path, monkeypatch):
    arch = ARCHS["resnet18"]
    state = _fake_imagenet_file(arch, tmp_path / "hub", monkeypatch)
    model = tvm.build(arch, _params(weights="imagenet"), _info(4))
    assert torch.equal(model.layer4[1].conv2.weight, state["layer4.1.conv2.weight"])
    assert model.fc.out_features == 4
    grey = tvm.build(arch, _params(weights="imagenet"), _info(4, channels=1))
    assert torch.allclose(grey.conv1.weight, state["conv1.weight"].sum(1, keepdim=True))


def test_old_densenet_key_names_are_renamed(tmp_path, monkeypatch):
    def old_names(state):  # as in torchvision's file: 'norm.1' keys, no num_batches_tracked (PyTorch < 0.4.1)
        return {k.replace("norm1.", "norm.1.").replace("conv2.", "conv.2."): v for k, v in state.items()
                if not k.endswith("num_batches_tracked")}

    arch = ARCHS["densenet121"]
    state = _fake_imagenet_file(arch, tmp_path / "hub", monkeypatch, old_names)
    model = tvm.build(arch, _params(weights="imagenet"), _info(2))
    key = "features.denseblock1.denselayer1.norm1.weight"
    assert torch.equal(model.state_dict()[key], state[key])


def test_offline_without_imagenet_weights_names_the_file_and_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(ValueError) as info:
        tvm.build(ARCHS["resnet18"], _params(weights="imagenet"), _info())
    text = str(info.value)
    assert "resnet18-f37072fd.pth" in text and str(tmp_path / "hub" / "checkpoints") in text
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in text


def test_transfer_from_a_checkpoint_of_other_classes_and_channels(tmp_path):
    arch = ARCHS["resnet18"]
    source = tvm.build(arch, _params(), _info(7, channels=1))
    path = save_checkpoint(tmp_path / "pre", source.state_dict(), {"architecture": "images.resnet18"})
    model = tvm.build(arch, _params(weights="file", weights_file=str(path), freeze="backbone"), _info(2))
    assert torch.equal(model.layer3[0].conv1.weight, source.layer3[0].conv1.weight)
    assert model.conv1.weight.shape == (64, 3, 7, 7)
    assert torch.allclose(model.conv1.weight.sum(1), source.conv1.weight.sum(1), atol=1e-6)
    assert model.fc.out_features == 2
    with pytest.raises(CheckpointError, match=r"a checkpoint of images\.resnet18; the model is images\.resnet34"):
        tvm.build(ARCHS["resnet34"], _params(weights="file", weights_file=str(path)), _info())
    with pytest.raises(ValueError, match="weights_file"):
        tvm.build(arch, _params(weights="file"), _info())


def test_too_small_images_for_inception_are_refused():
    with pytest.raises(ValueError, match="at least 75"):
        tvm.build(ARCHS["inception_v3"], _params(), _info(size=64))


def test_every_architecture_declares_real_submodules():
    for arch in ARCHS.values():
        model = tvm.bare(arch, 10)
        names = dict(model.named_modules())
        for path in (arch.head, *arch.classifier, *arch.dropouts, *(m for _, g in arch.stages for m in g)):
            assert path in names, f"{arch.id}: {path}"
