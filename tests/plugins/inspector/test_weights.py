import numpy as np
import pytest
import torch
import torchvision

from dlstudio.checkpoints import save_checkpoint
from dlstudio.engine.callbacks import layer_weight_norms
from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.sources import open_registered
from dlstudio_inspector.weights import (
    conv_layers,
    filter_grid,
    histogram,
    rgb_to_uint8,
    weight_layers,
    weight_norm_history,
)


def test_first_layer_of_an_rgb_model_is_drawn_in_colour():
    model = torchvision.models.resnet18(weights=None)
    fg = filter_grid(model, "conv1")
    assert fg.rgb and fg.shape == (64, 3, 7, 7)
    assert fg.values.ndim == 3 and fg.values.shape[2] == 3
    assert len(fg.grid.cells) == 64
    img = rgb_to_uint8(fg.values)
    assert img.dtype == np.uint8 and img.shape == fg.values.shape


def test_deeper_filters_as_maps_one_channel_or_mean_and_paged():
    model = torchvision.models.resnet18(weights=None)
    fg = filter_grid(model, "layer4.0.conv1", in_channel=5, per_page=64, page=3)
    assert not fg.rgb and fg.grid.total == 512 and fg.grid.pages == 8 and fg.grid.page == 3
    assert fg.note == "input channel 5"
    assert filter_grid(model, "layer1.0.conv1").note == "mean over input channels"
    with pytest.raises(InspectorError, match="input channels"):
        filter_grid(model, "layer1.0.conv1", in_channel=64)
    with pytest.raises(InspectorError, match="no convolution filters"):
        filter_grid(model, "fc")


def test_conv1d_filters_and_layer_lists(studio):
    model = torch.nn.Sequential(torch.nn.Conv1d(4, 6, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    fg = filter_grid(model, "0")
    assert fg.grid.total == 6 and fg.grid.cells[0][3:] == (3, 1)
    assert conv_layers(model) == ["0"] and weight_layers(model) == ["0", "2"]


def test_histogram_and_norms():
    model = torchvision.models.resnet18(weights=None)
    h = histogram(model, "fc", bins=30)
    assert h.counts.sum() == 512_000 and len(h.edges) == 31
    assert h.norm == pytest.approx(float(model.fc.weight.detach().norm()), rel=1e-5)
    norms = layer_weight_norms(model.state_dict())
    assert "conv1" in norms and "bn1" in norms and "fc" in norms
    assert norms["fc"] == pytest.approx(h.norm, rel=1e-5)


def _fake_run(studio, epochs_and_scales):
    """A run in the store whose 'last' checkpoint moves on epoch by epoch (as training does)."""
    store = studio.store
    run_id = store.create_run(name="t", plugin="tiny", task="classification", model="tiny.cnn", dataset="d",
                              params={}, spec="", device="cpu", epochs=5, monitor="valid_loss")
    opened = open_registered(studio, "tiny.cnn")
    meta = {"architecture": "tiny.cnn", "model_params": {"hidden": 50}, "input_shape": [3, 32, 32],
            "classes": list(opened.data.classes), "input_kind": "image"}
    folder = store.run_dir(run_id) / "checkpoints"
    for epoch, scale in epochs_and_scales:
        state = {k: v * scale for k, v in opened.model.state_dict().items()}
        path = save_checkpoint(folder / "last", state, {**meta, "epoch": epoch})
        store.add_artifact(run_id, "last", path, epoch)
        yield run_id, epoch


def test_weight_norms_across_a_runs_epochs_fill_in_as_it_trains(studio):
    history = None
    for run_id, _epoch in _fake_run(studio, [(1, 1.0), (2, 2.0), (3, 3.0)]):
        history = weight_norm_history(studio, run_id)  # what a refresh while training does
    assert history.epochs == [1, 2, 3]
    fc1 = history.norms["fc1"]
    assert fc1[1] == pytest.approx(2 * fc1[0], rel=1e-5) and fc1[2] == pytest.approx(3 * fc1[0], rel=1e-5)


def test_weight_norms_recorded_by_the_run_cover_every_epoch(studio):
    from dlstudio.runner import WEIGHT_NORMS_FILE

    *_, (run_id, _epoch) = _fake_run(studio, [(4, 1.0)])  # only one checkpoint on disk ...
    lines = [f'{{"epoch": {e}, "norms": {{"fc1": {e / 2}, "conv1": {e}}}}}' for e in (1, 2, 3, 4)]
    (studio.store.run_dir(run_id) / WEIGHT_NORMS_FILE).write_text("\n".join(lines), encoding="utf-8")
    history = weight_norm_history(studio, run_id)  # ... but the run wrote down every epoch's norms
    assert history.epochs == [1, 2, 3, 4]
    assert history.norms == {"fc1": [0.5, 1.0, 1.5, 2.0], "conv1": [1.0, 2.0, 3.0, 4.0]}
    assert history.notes == []


def test_an_old_run_resumed_since_shows_its_checkpoint_epochs_and_its_recorded_ones(studio):
    from dlstudio.runner import WEIGHT_NORMS_FILE

    *_, (run_id, _epoch) = _fake_run(studio, [(2, 1.0)])  # from before: only checkpoints, epoch 2 ...
    (studio.store.run_dir(run_id) / WEIGHT_NORMS_FILE).write_text(  # ... then resumed, recording 3 and 4
        '{"epoch": 3, "norms": {"fc1": 3.0}}\n{"epoch": 4, "norms": {"fc1": 4.0}}\n', encoding="utf-8")
    history = weight_norm_history(studio, run_id)
    assert history.epochs == [2, 3, 4]
    assert history.norms["fc1"][1:] == [3.0, 4.0]


def test_weight_norms_of_a_run_without_checkpoints(studio):
    run_id = studio.store.create_run(name="t", plugin="tiny", task="c", model="tiny.cnn", dataset="d", params={},
                                     spec="", device="cpu", epochs=1, monitor="m")
    with pytest.raises(InspectorError, match="no checkpoint"):
        weight_norm_history(studio, run_id)
    with pytest.raises(KeyError, match="no run"):
        weight_norm_history(studio, "nope")
