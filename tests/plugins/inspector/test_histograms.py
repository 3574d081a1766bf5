"""Weight and gradient histograms across epochs: recorded by a real run, checked against the weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import dlstudio_inspector.plugin as inspector_plugin
from dlstudio import runs
from dlstudio.runner import Run
from dlstudio_inspector.histograms import (
    FILE,
    MAX_BINS,
    Grid,
    HistogramsMissing,
    epoch_histograms,
    histogram_mean,
    layer_series,
    load_histograms,
)
from tests.fixture_plugins import demo_plugin
from tests.runs import drive, ended

EPOCHS = 3


@pytest.fixture
def trained(make_studio):
    """A real 3-epoch demo run with the inspector installed (its histogram callback is on by itself)."""
    studio = make_studio(("demo", demo_plugin), ("inspector", inspector_plugin))
    run = Run(studio, studio.recipe_spec("demo-blobs", ["data.params.samples=160", "train.batch_size=16",
                                                        f"train.epochs={EPOCHS}"]))
    assert ended(drive(run)).status == "completed"
    return studio, run.run_id


def test_a_run_records_one_histogram_per_epoch_and_tensor_matching_its_weights(trained):
    studio, run_id = trained
    run_dir = runs.get_run(studio, run_id).run_dir
    lines = [json.loads(line) for line in (run_dir / FILE).read_text().splitlines()]
    model = runs.load_model(studio, run_id, "last").model
    params = dict(model.named_parameters())
    # One record per epoch per parameter tensor, nothing else.
    assert sorted((r["epoch"], r["name"]) for r in lines) == sorted(
        (e, n) for e in range(1, EPOCHS + 1) for n in params)
    records = load_histograms(run_dir)
    for name, p in params.items():
        last = records[name][-1]
        assert last["epoch"] == EPOCHS
        w, g = last["weight"], last["grad"]
        # Counts sum to the number of values (independent reference: numel of the saved weights).
        assert sum(w["counts"]) == p.numel() == sum(g["counts"])
        # The last epoch's histogram describes the last checkpoint's weights: mean within a bin width.
        edges = w["origin"] + w["width"] * np.arange(w["first"], w["first"] + len(w["counts"]) + 1)
        values = p.detach().double().numpy().ravel()
        assert abs(histogram_mean(edges, np.asarray(w["counts"])) - values.mean()) <= w["width"]
        assert w["min"] == pytest.approx(values.min(), abs=1e-6) and w["max"] == pytest.approx(values.max(), abs=1e-6)
        # numpy bins the saved weights the same way (up to values on a bin edge in float32).
        reference, _ = np.histogram(values, bins=edges)
        assert np.abs(reference - np.asarray(w["counts"])).sum() <= 2
        # The gradients are there, and are not the weights.
        assert g["std"] > 0 and g["counts"] != w["counts"]
    # Bins are fixed per tensor: every epoch of a tensor is on the same grid (same origin and width).
    for name in params:
        assert len({(r["weight"]["origin"], r["weight"]["width"]) for r in records[name]}) == 1


def test_a_resumed_recorder_keeps_the_grids_and_widening_keeps_epochs_comparable(tmp_path):
    from dlstudio_inspector.histograms import HistogramRecorder

    model = torch.nn.Linear(10, 10)
    torch.nn.init.uniform_(model.weight, -1, 1)

    class State:
        task = type("T", (), {"model": model})()

    class Record:
        def __init__(self, epoch):
            self.epoch = epoch

    HistogramRecorder(tmp_path).on_epoch_end(State(), Record(1))
    epoch1 = model.weight.detach().double().numpy().ravel().copy()
    with torch.no_grad():
        model.weight[0, 0] = 40.0  # far out of the first range: the grid must grow, then coarsen
    HistogramRecorder(tmp_path, resumed=True).on_epoch_end(State(), Record(2))
    records = load_histograms(tmp_path)["weight"]
    first, second = records[0]["weight"], records[1]["weight"]
    assert second["origin"] == first["origin"]  # the resumed run went on with epoch 1's grid
    assert len(second["counts"]) <= MAX_BINS and second["width"] > first["width"]
    series = layer_series(records)
    assert series.epochs == [1, 2] and series.counts.sum(axis=1).tolist() == [100, 100]
    # The exact re-binning: epoch 1's counts, merged onto epoch 2's coarser bins, equal numpy's binning of
    # epoch 1's values on those bins; and 40 lands in the top bin.
    reference, _ = np.histogram(epoch1, bins=series.edges)
    assert np.abs(reference - series.counts[0]).sum() <= 2
    assert series.counts[1][-1] == 1 and series.edges[-2] <= 40 <= series.edges[-1]
    assert abs(histogram_mean(series.edges, series.counts[1]) - model.weight.detach().double().mean().item()) <= (
        series.edges[1] - series.edges[0])


def test_grid_growth_is_bounded_and_stays_aligned():
    grid = Grid.around(-1.0, 1.0)
    origin, width = grid.origin, grid.width
    grid.cover(-1000.0, 1000.0)
    assert grid.count <= MAX_BINS and grid.lo <= -1000 and grid.hi >= 1000
    ratio = grid.width / width
    assert ratio == 2 ** round(np.log2(ratio)) and grid.origin == origin
    constant = Grid.around(0.0, 0.0)
    assert constant.lo < 0 < constant.hi


def test_frozen_parameters_have_no_gradient_and_bad_values_are_counted():
    model = torch.nn.Linear(3, 2)
    model.bias.requires_grad_(False)
    model(torch.randn(4, 3)).sum().backward()
    with torch.no_grad():
        model.weight[0, 0] = float("nan")
    grids = {}
    by_name = {r["name"]: r for r in epoch_histograms(model, grids, 1)}
    assert by_name["bias"]["grad"] is None
    assert by_name["weight"]["weight"]["nonfinite"] == 1 and sum(by_name["weight"]["weight"]["counts"]) == 5
    with pytest.raises(HistogramsMissing, match="no recorded gradient"):
        layer_series([by_name["bias"]], "grad")


def test_a_run_without_histograms_says_so(tmp_path):
    with pytest.raises(HistogramsMissing, match="recorded no weight histograms"):
        load_histograms(tmp_path)


def test_the_view_shows_a_chosen_layers_epochs_and_follows_the_run(qtbot, trained):
    from dlstudio.gui.context import StudioContext
    from dlstudio_inspector.panels.histograms_view import HistogramsView
    from dlstudio_inspector.panels.preview import PreviewHost
    from dlstudio_inspector.panels.session import Session
    from dlstudio_inspector.sources import open_run

    studio, run_id = trained
    context = StudioContext(studio, PreviewHost())
    session = Session(context)
    view = HistogramsView(session)
    qtbot.addWidget(view)
    view.show()
    session.set_model(open_run(studio, run_id, "last"))
    assert session.wait_idle(30_000)
    model = runs.load_model(studio, run_id, "last").model
    assert [view.layer_combo.itemData(i) for i in range(view.layer_combo.count())] == [
        n for n, _p in model.named_parameters()]
    view.set_layer("3.weight", "grad")
    x, median = view.median.getData()
    assert x.tolist() == [1.0, 2.0, 3.0] and view.series.kind == "grad"
    view.set_layer("1.weight")
    image = view.image.image
    assert image.shape[0] == EPOCHS and image.shape[1] == len(view.series.edges) - 1
    # The median band at the last epoch is the trained weights' median, to within a bin.
    _x, median = view.median.getData()
    weights = model.get_submodule("1").weight.detach().numpy().ravel()
    assert abs(median[-1] - np.median(weights)) <= view.series.edges[1] - view.series.edges[0]
    # Live: a fourth epoch appended to the file shows at the run's next epoch signal.
    run_dir = runs.get_run(studio, run_id).run_dir
    lines = (run_dir / FILE).read_text().splitlines()
    extra = [json.loads(line) for line in lines if json.loads(line)["epoch"] == EPOCHS]
    with (run_dir / FILE).open("a") as out:
        out.writelines(json.dumps({**r, "epoch": EPOCHS + 1}) + "\n" for r in extra)
    context.run_epoch.emit(run_id, {"epoch": EPOCHS + 1})
    assert session.wait_idle(30_000)
    assert view.median.getData()[0].tolist() == [1.0, 2.0, 3.0, 4.0]
    context.shutdown()
