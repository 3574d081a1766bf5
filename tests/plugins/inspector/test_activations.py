import time

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from dlstudio_inspector.activations import (
    COLORMAPS,
    as_maps,
    capture,
    colorize,
    grid,
    layer_choices,
    layer_grid,
    lut,
)
from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.sources import open_registered


def _no_hooks(model):
    return all(not m._forward_hooks for m in model.modules())


@pytest.fixture(scope="module")
def resnet():
    return torchvision.models.resnet18(weights=None).eval()


def test_capture_removes_its_hooks_and_keeps_the_output_before_an_inplace_relu(resnet):
    x = torch.randn(1, 3, 64, 64)
    out = capture(resnet, x, ["bn1", "relu"])
    assert _no_hooks(resnet)
    before = out["bn1"][0]
    assert before.shape == (1, 64, 32, 32)
    assert float(before.min()) < 0  # torchvision's ReLU is in place: without a copy this would be >= 0
    assert float(out["relu"][0].min()) >= 0
    # A shared module called several times: each call is kept.
    assert len(capture(resnet, x, ["layer1.0.relu"])["layer1.0.relu"]) == 2


def test_hooks_are_removed_when_the_forward_fails(resnet):
    with pytest.raises(InspectorError, match="expects"):
        capture(resnet, torch.randn(1, 1, 64, 64), ["conv1", "layer1"])
    assert _no_hooks(resnet)


def test_grid_of_64_maps_with_stats_and_relu_view(resnet):
    g = layer_grid(resnet, torch.randn(1, 3, 64, 64), "bn1")
    assert g.total == 64 and g.pages == 1 and len(g.cells) == 64 and len(g.stats) == 64
    _, x, y, w, h = g.cells[9]
    assert (w, h) == (32, 32)
    cell = g.values[y:y + h, x:x + w]
    assert np.nanmin(cell) == pytest.approx(0) and np.nanmax(cell) == pytest.approx(1)
    assert np.isnan(g.values).any()  # padding between cells
    assert any(s.min < 0 for s in g.stats)
    after = layer_grid(resnet, torch.randn(1, 3, 64, 64), "bn1", relu=True)
    assert all(s.min >= 0 for s in after.stats) and any(s.zeros > 0 for s in after.stats)
    assert _no_hooks(resnet)


def test_a_huge_layer_is_paged():
    maps = np.random.default_rng(0).normal(size=(600, 7, 7)).astype(np.float32)
    start = time.perf_counter()
    g = grid(maps, page=2, per_page=64)
    assert time.perf_counter() - start < 0.5
    assert g.pages == 10 and g.total == 600 and len(g.cells) == 64
    assert g.cells[0][0] == 128 and g.stats[0].index == 128
    last = grid(maps, page=99, per_page=64)  # clamped to the last page
    assert last.page == 9 and len(last.cells) == 600 - 9 * 64


def test_maps_of_sequences_and_vectors():
    assert as_maps(torch.zeros(2, 8, 5, 5)).shape == (8, 5, 5)
    assert as_maps(torch.zeros(2, 8, 30)).shape == (1, 8, 30)  # Conv1d / sequences: one C×L map
    assert as_maps(torch.zeros(2, 10)).shape == (1, 1, 10)
    lstm = (torch.zeros(12, 1, 16), (torch.zeros(2, 1, 16),) * 2)  # (seq, batch, hidden), (h, c)
    assert as_maps(lstm, batch=1).shape == (1, 12, 16)  # the whole sequence of the first sample


def test_colour_maps():
    for name in COLORMAPS:
        table = lut(name)
        assert table.shape == (256, 3) and table.dtype == np.uint8
    rgb = colorize(np.array([[0.0, 1.0, np.nan]]), "gray")
    assert rgb.tolist() == [[[0, 0, 0], [255, 255, 255], [40, 40, 40]]]
    with pytest.raises(InspectorError):
        lut("rainbow-unicorn")


def test_step_through_layers_in_execution_order(studio):
    opened = open_registered(studio, "tiny.cnn")
    names = layer_choices(opened.model, opened.sample())
    assert names == ["conv1", "conv2", "conv2_drop", "fc1", "fc2"]
    rnn = open_registered(studio, "tiny.rnn")
    assert layer_choices(rnn.model, rnn.sample()) == ["embedding", "rnn", "fc"]
    g = layer_grid(rnn.model, rnn.sample(), "embedding")
    assert g.total == 1 and g.values.shape == (12, 16)  # a sequence × features map
    assert layer_grid(rnn.model, rnn.sample(), "rnn").values.shape == (12, 16)
    assert _no_hooks(rnn.model)


def test_unknown_layer_is_explained():
    with pytest.raises(InspectorError, match="no layer 'nope'"):
        capture(nn.Sequential(nn.Linear(2, 2)), torch.zeros(1, 2), ["nope"])
