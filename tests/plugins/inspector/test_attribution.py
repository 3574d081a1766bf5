import numpy as np
import pytest
import torch
import torchvision

from dlstudio_inspector.attribution import default_cam_layer, grad_cam, overlay, saliency
from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.sources import open_registered


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None, num_classes=5).eval()


def _clean(model):
    assert all(not m._forward_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_saliency_has_the_input_size_and_leaves_the_model_clean(resnet):
    x = torch.randn(1, 3, 64, 48)
    att = saliency(resnet, x, target=3)
    assert att.heat.shape == (64, 48) and att.target == 3 and att.method == "saliency"
    assert att.heat.min() >= 0 and att.heat.max() == pytest.approx(1)
    # Independent reference: |d score / d input| by plain autograd, max over channels, scaled by its peak.
    xr = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(resnet(xr)[0, 3], xr)
    ref = grad[0].abs().amax(0)
    assert np.allclose(att.heat, (ref / ref.max()).numpy(), atol=1e-5)
    assert 0 < att.probability < 1
    _clean(resnet)


def test_grad_cam_on_the_last_spatial_layer(resnet):
    x = torch.randn(1, 3, 64, 64)
    assert default_cam_layer(resnet, x) == "layer4"
    att = grad_cam(resnet, x)
    assert att.layer == "layer4" and att.heat.shape == (64, 64)
    assert att.target == int(resnet(x).argmax())
    _clean(resnet)
    # A conv layer followed by torchvision's in-place ReLU still works (the hook hands on a copy).
    att = grad_cam(resnet, x, layer="layer4.1.bn2", target=1)
    assert att.heat.shape == (64, 64) and att.target == 1
    _clean(resnet)


def test_bad_requests_are_explained(resnet, studio):
    x = torch.randn(1, 3, 64, 64)
    with pytest.raises(InspectorError, match="class 9 does not exist"):
        saliency(resnet, x, target=9)
    _clean(resnet)
    with pytest.raises(InspectorError, match=r"\(N, C, H, W\)"):
        grad_cam(resnet, x, layer="fc")
    _clean(resnet)
    rnn = open_registered(studio, "tiny.rnn")
    with pytest.raises(InspectorError, match="token ids"):
        saliency(rnn.model, rnn.sample())


def test_overlay_blends_image_and_heat():
    image = np.zeros((4, 4, 3), dtype=np.float32)
    out = overlay(image, np.ones((4, 4), dtype=np.float32), alpha=1.0, cmap="gray")
    assert out.dtype == np.uint8 and out.shape == (4, 4, 3) and (out == 255).all()
    assert overlay(np.zeros((4, 4)), np.zeros((4, 4))).shape == (4, 4, 3)
