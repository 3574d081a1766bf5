"""The layer table's figures against independent references: torchvision's published numbers and hand counts."""

import io
import warnings

import pytest
import torch
import torchvision
from torch import nn

from dlstudio_inspector import summary as summary_module
from dlstudio_inspector.common import human_bytes
from dlstudio_inspector.inputs import first_layer, guess_input_shape
from dlstudio_inspector.summary import format_table, summarize, totals_lines
from tests.plugins.inspector.tiny_models import TextRnn

# torchvision's published figures (its model docs and ``Weights.meta``: "num_params", and "_ops", giga
# multiply-adds, which its docs call GFLOPS and torchinfo "Mult-Adds"), at 224 px, and how we show the latter.
PUBLISHED = [
    ("resnet18", 11_689_512, 1.814, "1.81 G Mult-Adds"),
    ("mobilenet_v3_small", 2_542_856, 0.057, "56.51 M Mult-Adds"),
]


@pytest.mark.parametrize(("name", "params", "gmacs", "shown"), PUBLISHED)
def test_params_and_mult_adds_match_the_published_figures(name, params, gmacs, shown):
    model = getattr(torchvision.models, name)(weights=None).eval()
    s = summarize(model, torch.zeros(1, 3, 224, 224))
    assert s.total_params == params
    assert round(s.total_macs / 1e9, 3) == gmacs
    assert s.total_flops == 2 * s.total_macs  # FLOPs counts a multiply and an add: 2 per multiply-add
    assert shown in "\n".join(totals_lines(s))


def test_sizes_are_labelled_in_the_unit_they_are_computed_in():
    # 11,689,512 float32 weights = 46,758,048 bytes = 44.59 MiB (46.76 MB): the label must say MiB.
    assert human_bytes(46_758_048) == "44.6 MiB"
    assert human_bytes(3 * 2**30) == "3.0 GiB" and human_bytes(2048) == "2.0 KiB" and human_bytes(12) == "12 B"
    s = summarize(torchvision.models.resnet18(weights=None).eval(), torch.zeros(1, 3, 32, 32), flops=False)
    weights = next(line for line in totals_lines(s) if line.startswith("Weights"))
    assert "44.6 MiB" in weights and " MB" not in weights


# -- recurrent layers: counted as the forward pass computes them ---------------------------------------------

# TextRnn(vocab 50, 3 classes, hidden 16) on 12 tokens: an LSTM (4 gates) of 2 layers, input 16, hidden 16:
# per layer and step 2·4·16·(16 + 16) = 4,096 FLOPs, × 12 steps × 2 layers = 98,304; the Linear 16→3: 2·16·3 = 96.
LSTM_FLOPS, LINEAR_FLOPS = 98_304, 96


def _text_rnn():
    torch.manual_seed(0)
    return TextRnn(50, 3, 16).eval(), torch.randint(0, 50, (1, 12))


def _traced(model, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        buffer = io.BytesIO()
        torch.jit.save(torch.jit.trace(model, x), buffer)
        return torch.jit.load(io.BytesIO(buffer.getvalue()))


def test_lstm_flops_are_counted_by_hand():
    model, x = _text_rnn()
    s = summarize(model, x)
    assert s.row("rnn").flops == LSTM_FLOPS and s.total_flops == LSTM_FLOPS + LINEAR_FLOPS
    assert s.total_macs == s.total_flops // 2


def test_torchscript_lstm_flops_are_counted_too():
    model, x = _text_rnn()
    s = summarize(_traced(model, x), x)
    assert s.total_flops == LSTM_FLOPS + LINEAR_FLOPS  # was 96: only the Linear
    assert not any("not counted" in n for n in s.notes)


def test_a_gru_is_counted_once():
    # batch_first bidirectional GRU, input 8, hidden 16, 3 gates, batch 2 × 5 steps, 2 directions:
    # 2·3·16·(8 + 16)·10·2 = 46,080 FLOPs (torch runs it as matrix products, which its counter sees).
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(8, 16, batch_first=True, bidirectional=True)

        def forward(self, x):
            return self.rnn(x)[0]

    s = summarize(Net().eval(), torch.randn(2, 5, 8))
    assert s.total_flops == 46_080 and s.row("rnn").flops == 46_080


def test_layers_whose_flops_cannot_be_counted_are_named_beside_the_total(monkeypatch):
    # As on a machine whose LSTM kernel the counter has no formula for (cuDNN's, say).
    monkeypatch.setattr(summary_module, "RECURRENT_FORMULAS", {})
    model, x = _text_rnn()
    for candidate in (model, _traced(model, x)):
        s = summarize(candidate, x)
        assert s.total_flops == LINEAR_FLOPS
        line = next(line for line in totals_lines(s) if line.startswith("FLOPs"))
        assert "not counted" in line and "rnn (LSTM)" in line


def test_the_guessed_input_of_a_torchscript_lstm_respects_batch_first():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(8, 16, batch_first=True)

        def forward(self, x):
            return self.rnn(x)[0]

    scripted = _traced(Net().eval(), torch.randn(2, 5, 8))
    assert first_layer(scripted).batch_first
    assert guess_input_shape(scripted) == guess_input_shape(Net()) == (32, 8)


def test_each_layer_shows_its_mult_adds_beside_its_flops():
    # Conv2d 3→8, 3×3, on 10×10: an 8×8×8 output, each value 3·3·3 = 27 multiply-adds: 13,824 (27,648 FLOPs).
    model = nn.Sequential(nn.Conv2d(3, 8, 3)).eval()
    table = format_table(summarize(model, torch.zeros(1, 3, 10, 10)))
    header, conv = table.splitlines()[0], next(line for line in table.splitlines() if line.startswith("0"))
    assert header.split()[-2:] == ["FLOPs", "Mult-Adds"]
    assert conv.split()[-4:] == ["27.65", "kFLOPs", "13.82", "k"]
