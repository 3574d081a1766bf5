"""torchinfo's columns (input shape, kernel size, Param %) and memory estimate, against hand computations.

torchinfo's convention (``ModelStatistics``): "Forward/backward pass size" is 2 × the bytes output by every call
of a leaf layer with parameters; "Estimated Total Size" adds the input's bytes and the parameters' bytes.
"""

import importlib.util
import warnings

import pytest
import torch
from torch import nn

from dlstudio_inspector.summary import as_dict, format_table, summarize, totals_lines


def _tiny():
    # Conv 3→8 3×3 (224 params) on 3×10×10 → 8×8×8 (512 floats = 2,048 B); ReLU; MaxPool 2 → 8×4×4;
    # Flatten → 128; Linear 128→10 (1,290 params) → 10 floats = 40 B.
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(128, 10)).eval()


X = torch.zeros(1, 3, 10, 10)
PARAMS = 224 + 1_290
FORWARD_BACKWARD = 2 * (2_048 + 40)  # 4,176 B: only the layers with parameters (the ReLU's 2,048 B are not)
INPUT_BYTES = 300 * 4
TOTAL = INPUT_BYTES + FORWARD_BACKWARD + PARAMS * 4  # 1,200 + 4,176 + 6,056 = 11,432 B


def test_per_layer_input_shape_kernel_and_param_share():
    s = summarize(_tiny(), X)
    conv, relu, pool, _flat, fc = (s.row(str(i)) for i in range(5))
    assert conv.input_shape == (1, 3, 10, 10) and conv.output_shape == (1, 8, 8, 8)
    assert pool.input_shape == (1, 8, 8, 8) and fc.input_shape == (1, 128)
    assert conv.kernel_size == (3, 3) and pool.kernel_size == (2, 2) and fc.kernel_size is None
    assert conv.kernel_text == "3×3" and relu.kernel_text == ""
    assert conv.param_percent == pytest.approx(100 * 224 / PARAMS) and conv.percent_text == "14.80%"
    assert fc.percent_text == "85.20%" and relu.percent_text == "" and s.row("").param_percent == 100
    assert conv.output_bytes == 2_048 and relu.output_bytes == 2_048 and fc.output_bytes == 40


def test_memory_estimate_follows_torchinfo():
    s = summarize(_tiny(), X)
    assert s.input_bytes == INPUT_BYTES and s.param_bytes == PARAMS * 4
    assert s.forward_backward_bytes == FORWARD_BACKWARD and s.estimated_total_bytes == TOTAL
    text = "\n".join(totals_lines(s))
    assert "Forward/backward pass size: 0.00 MB" in text and "Estimated Total Size: 0.01 MB (11.2 KiB)" in text
    d = as_dict(s)
    assert d["forward_backward_bytes"] == FORWARD_BACKWARD and d["estimated_total_bytes"] == TOTAL
    assert d["layers"][1]["kernel_size"] == (3, 3) and d["layers"][1]["input_shape"] == (1, 3, 10, 10)


def test_a_shared_layer_counts_its_outputs_at_every_call():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return self.fc(self.fc(x))

    s = summarize(Twice().eval(), torch.zeros(2, 4))
    # Two calls, each 2×4 floats = 32 B: 64 B of activations, ×2 for their gradients.
    assert s.row("fc").calls == 2 and s.row("fc").output_bytes == 64 and s.forward_backward_bytes == 128
    assert s.estimated_total_bytes == 32 + 128 + 20 * 4


def test_the_text_table_shows_the_new_columns():
    lines = format_table(summarize(_tiny(), X)).splitlines()
    assert lines[0].split() == ["Layer", "Type", "Input", "shape", "Output", "shape", "Kernel", "Params", "Param",
                                "%", "Trainable", "Bytes", "FLOPs", "Mult-Adds"]
    conv = next(line for line in lines if line.startswith("0 "))
    assert conv.split()[:7] == ["0", "Conv2d", "1×3×10×10", "1×8×8×8", "3×3", "224", "14.80%"]


def test_torchscript_says_the_activation_memory_is_unknown():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.trace's deprecation notice
        scripted = torch.jit.trace(_tiny(), X)
    s = summarize(scripted, X)
    assert s.forward_backward_bytes is None and s.estimated_total_bytes is None
    assert any("Forward/backward pass size: unknown" in line for line in totals_lines(s))


def test_layers_view_shows_the_columns(qtbot):
    from dlstudio_inspector.panels.layers import COLUMNS, LayersView
    from dlstudio_inspector.panels.session import Session

    class Context:
        studio = None

    view = LayersView(Session(Context()))
    qtbot.addWidget(view)
    view.show_summary(summarize(_tiny(), X))
    item = view._items["0"]
    cells = {name: item.text(col) for col, name in enumerate(COLUMNS)}
    assert cells["Input shape"] == "1×3×10×10" and cells["Kernel"] == "3×3" and cells["Param %"] == "14.80%"
    assert "Estimated Total Size" in view.totals.text()


@pytest.mark.skipif(importlib.util.find_spec("torchinfo") is None, reason="torchinfo is not installed")
def test_against_torchinfo_itself():
    import torchinfo

    stats = torchinfo.summary(_tiny(), input_data=X, verbose=0)
    s = summarize(_tiny(), X)
    assert stats.total_output_bytes == s.forward_backward_bytes
    assert stats.total_input + stats.total_output_bytes + stats.total_param_bytes == s.estimated_total_bytes


def test_resnet18_matches_torchinfos_printed_summary():
    # torchinfo's printout for torchvision's resnet18 at 1×3×224×224, as widely reproduced in its users' docs:
    # "Input size (MB): 0.60 / Forward/backward pass size (MB): 39.75 / Params size (MB): 46.76 /
    # Estimated Total Size (MB): 87.11" (MB = 10⁶ bytes).
    import torchvision

    s = summarize(torchvision.models.resnet18(weights=None).eval(), torch.zeros(1, 3, 224, 224), flops=False)
    figures = [s.input_bytes, s.forward_backward_bytes, s.param_bytes, s.estimated_total_bytes]
    assert [round(b / 1e6, 2) for b in figures] == [0.60, 39.75, 46.76, 87.11]
    assert "Forward/backward pass size: 39.75 MB" in "\n".join(totals_lines(s))
