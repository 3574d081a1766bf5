import pytest
import torch
import torchvision

from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.featvis import maximise, run_to_end
from dlstudio_inspector.sources import open_registered


def test_activation_maximisation_yields_frames_and_raises_the_activation():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    frames, final = run_to_end(model, "layer1", 3, size=48, steps=24, every=6, lr=0.1)
    assert [f.step for f in frames] == [6, 12, 18, 24]
    assert final.image.shape == (48, 48, 3) and final.image.min() >= 0 and final.image.max() <= 1
    assert frames[-1].activation > frames[0].activation
    assert all(not m._forward_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_stopping_early_removes_the_hook(studio):
    opened = open_registered(studio, "tiny.cnn")
    gen = maximise(opened.model, "conv2", 0, data=opened.data, steps=100, every=1)
    next(gen)
    gen.close()  # what cancelling the background job does
    assert all(not m._forward_hooks for m in opened.model.modules())


def test_bad_requests(studio):
    opened = open_registered(studio, "tiny.cnn")
    with pytest.raises(InspectorError, match="channel 99"):
        run_to_end(opened.model, "conv2", 99, data=opened.data, steps=2)
    rnn = open_registered(studio, "tiny.rnn")
    with pytest.raises(InspectorError, match="token ids"):
        run_to_end(rnn.model, "rnn", 0, data=rnn.data, steps=2)


def test_any_image_size_works_when_later_layers_would_refuse_it(studio):
    opened = open_registered(studio, "tiny.cnn")  # fc1 after a flatten only fits 32 px inputs
    frames, final = run_to_end(opened.model, "conv2", 1, data=opened.data, size=64, steps=4, every=2)
    assert final.image.shape == (64, 64, 3) and len(frames) == 2
    assert all(not m._forward_hooks for m in opened.model.modules())
