import pytest
import torch
import torchvision

from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.sources import open_registered
from dlstudio_inspector.summary import format_table, search, summarize


def test_resnet18_at_1000_classes_has_11_689_512_parameters():
    model = torchvision.models.resnet18(weights=None).eval()
    summary = summarize(model, torch.randn(1, 3, 64, 64))  # the count does not depend on the image size
    assert summary.total_params == 11_689_512
    assert summary.trainable_params == 11_689_512 and summary.frozen_params == 0
    assert summary.row("fc").params == 513_000
    assert summary.row("layer1").output_shape == (1, 64, 16, 16)
    assert summary.output_shape == (1, 1000)
    assert summary.total_flops > 0 and summary.row("conv1").flops > 0
    # A block's FLOPs are the sum of its layers'.
    block = summary.row("layer1.0")
    assert block.flops == sum(summary.row(c).flops for c in block.children)


def test_cnn_shapes_dtypes_and_totals(studio):
    opened = open_registered(studio, "tiny.cnn")
    summary = summarize(opened.model, opened.sample(batch=2), opened.data)
    assert summary.input_shape == (2, 3, 32, 32) and summary.input_dtype == "float32"
    assert summary.row("conv1").output_shape == (2, 10, 28, 28)
    assert summary.row("conv2").output_shape == (2, 20, 10, 10)
    assert summary.row("fc1").output_shape == (2, 50)
    assert summary.output_shape == (2, 4)
    expected = sum(p.numel() for p in opened.model.parameters())
    assert summary.total_params == expected
    assert summary.param_bytes == expected * 4


def test_lstm_model_takes_token_ids_and_shows_tuple_outputs(studio):
    opened = open_registered(studio, "tiny.rnn")
    x = opened.sample(batch=3)
    assert x.dtype == torch.int64 and x.shape == (3, 12) and int(x.max()) < 50
    summary = summarize(opened.model, x, opened.data)
    assert summary.row("embedding").output_shape == (3, 12, 16)
    # LSTM returns (output, (h, c)): every shape is kept.
    assert summary.row("rnn").output_shape == ((12, 3, 16), ((2, 3, 16), (2, 3, 16)))
    assert summary.row("rnn").shape_text == "(12×3×16, (2×3×16, 2×3×16))"
    assert summary.output_shape == (3, 3)
    assert "int64" in format_table(summary)


def test_frozen_parameters_are_counted_apart():
    model = torchvision.models.resnet18(weights=None).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    model.fc = torch.nn.Linear(512, 2)
    summary = summarize(model, torch.randn(1, 3, 32, 32), flops=False)
    assert summary.trainable_params == 1026
    assert summary.frozen_params == 11_689_512 - 513_000
    assert summary.row("layer4").frozen == summary.row("layer4").params


def test_no_hook_is_left_behind_even_when_the_forward_fails():
    model = torchvision.models.resnet18(weights=None).eval()
    summarize(model, torch.randn(1, 3, 32, 32))
    with pytest.raises(InspectorError):
        summarize(model, torch.randn(1, 5, 32, 32))
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_wrong_input_shape_says_what_the_model_expects(studio):
    opened = open_registered(studio, "tiny.cnn")
    with pytest.raises(InspectorError, match=r"1×1×32×32.*3 input channels"):
        summarize(opened.model, torch.randn(1, 1, 32, 32), opened.data)
    rnn = open_registered(studio, "tiny.rnn")
    with pytest.raises(InspectorError, match="integer token ids"):
        summarize(rnn.model, torch.randn(1, 12), rnn.data)


def test_table_has_totals_and_search_keeps_ancestors():
    model = torchvision.models.resnet18(weights=None).eval()
    summary = summarize(model, torch.randn(1, 3, 32, 32))
    text = format_table(summary)
    assert "Total parameters: 11,689,512" in text and "FLOPs per forward pass" in text
    assert "layer1" in text and "downsample" in text
    hits = search(summary, "downsample.0")
    assert "layer2.0.downsample.0" in hits and "layer2.0" in hits and "layer2" in hits
    assert "layer1.0.conv1" not in hits
    assert len(format_table(summary, max_depth=1).splitlines()) < len(text.splitlines())


def test_recurrent_layers_flops_are_counted(studio):
    rnn = open_registered(studio, "tiny.rnn")
    summary = summarize(rnn.model, rnn.sample(batch=3), rnn.data)
    # 2 layers × 2·4 gates·16 hidden·(16 + 16)·12 steps·3 sequences
    assert summary.row("rnn").flops == 2 * (2 * 4 * 16 * 32 * 12 * 3)
    assert summary.total_flops == summary.row("rnn").flops + summary.row("fc").flops
    assert summary.row("").flops == summary.total_flops
    assert not summary.uncounted  # counted from the LSTM kernel itself, not estimated beside it
