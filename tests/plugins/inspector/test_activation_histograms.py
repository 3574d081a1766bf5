"""Activation histograms (issue 13): the distribution of a layer's outputs over a batch, with exact zeros (dead
ReLUs) stated. References: numpy's histogram of the same values computed by hand, and channels made dead by
construction."""

import numpy as np
import torch
from torch import nn

from dlstudio_inspector.activations import layer_histogram
from tests.plugins.inspector.test_panels import idle, no_hooks, open_model, panel  # noqa: F401


def _net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)).eval()
    with torch.no_grad():  # channel 2 can never fire: zero weights, negative bias
        net[0].weight[2].zero_()
        net[0].bias[2] = -1.0
    return net


def test_histogram_counts_every_value_and_states_dead_relus():
    net, x = _net(), torch.randn(16, 1, 8, 8)
    hist = layer_histogram(net, x, "1", bins=20)
    by_hand = torch.relu(net[0](x)).detach().numpy().reshape(-1)
    expected, _edges = np.histogram(by_hand, bins=20, range=(by_hand.min(), by_hand.max()))
    assert hist.counts.tolist() == expected.tolist() and hist.values == by_hand.size == hist.counts.sum()
    assert hist.samples == 16 and hist.channels == 4 and hist.dead == 1
    assert abs(hist.zeros - float((by_hand == 0).mean())) < 1e-9 and hist.zeros >= 0.25
    before = layer_histogram(net, x, "0", bins=20)  # the conv's output before the ReLU: negatives, no zeros
    assert before.min < 0 and before.zeros < hist.zeros
    assert layer_histogram(net, x, "0", relu=True).zeros > 0.25
    assert all(not m._forward_hooks for m in net.modules())


def test_the_activations_view_draws_a_histogram_and_says_where_it_comes_from(panel, qtbot):  # noqa: F811
    open_model(panel, qtbot, "tiny.cnn")
    view = panel.activations
    panel.tabs.setCurrentWidget(view)
    idle(panel)
    view.hist_box.setChecked(True)
    idle(panel)
    assert view.hist_panel.isVisible() and view.histogram is not None
    assert view.histogram.values == int(np.prod(view.maps.shape)) * view.histogram.samples
    text = view.hist_info.text()
    assert "Exactly zero" in text and "dead on this batch" in text and "current input" in text, text
    view.relu_box.setChecked(True)
    idle(panel)
    assert view.histogram.min >= 0 and "after ReLU" in view.hist_info.text()
    assert no_hooks(panel) and not panel.host.errors
