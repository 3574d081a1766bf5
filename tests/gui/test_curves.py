"""Live curves: steady axes, and one plot per declared metric group so different scales never share an axis."""

import pytest

from dlstudio.gui.curve_metrics import nice_ceiling, split_metric, steady_y_range
from dlstudio.gui.curves import CurvesWidget


@pytest.mark.parametrize(("value", "ceiling"), [(0.93, 1.0), (1.0, 1.0), (1.2, 2.0), (2.3, 2.5), (3.1, 5.0),
                                                 (7.0, 10.0), (0.0042, 0.005), (230.0, 250.0)])
def test_nice_ceiling(value, ceiling):
    assert nice_ceiling(value) == pytest.approx(ceiling)


def test_steady_y_range_grows_only_when_data_leaves_it():
    first = steady_y_range(None, 0.4, 2.3)
    assert first == (0.0, 2.5)
    assert steady_y_range(first, 0.1, 2.4) is None  # still inside: the axis stays put
    assert steady_y_range(first, 0.1, 2.6) == (0.0, 5.0)
    assert steady_y_range(None, -0.3, 0.5) == (-0.5, 0.5)
    assert steady_y_range(None, 0.0, 0.0) == (0.0, 1.0)
    assert steady_y_range(None, float("nan"), 1.0) is None


@pytest.fixture
def curves(qtbot):
    widget = CurvesWidget()
    qtbot.addWidget(widget)
    widget.resize(800, 240)
    widget.show()
    return widget


def _x_range(plot):
    return tuple(plot.getViewBox().viewRange()[0])


def _y_range(plot):
    return tuple(plot.getViewBox().viewRange()[1])


def test_axes_hold_still_while_points_arrive(curves):
    curves.set_span(0, 10)
    curves.add_batch_loss(0.1, 2.2)
    curves.flush()
    x_before, y_before = _x_range(curves.loss_plot), _y_range(curves.loss_plot)
    assert x_before[0] <= 0 and x_before[1] >= 10
    assert y_before[0] <= 0 and 2.2 <= y_before[1] <= 2.6
    for step in range(2, 30):
        curves.add_batch_loss(step / 10, 2.2 - step / 20)
    curves.add_epoch(1, {"train_loss": 1.5, "valid_loss": 1.6, "valid_accuracy": 0.6, "lr": 0.01})
    curves.flush()
    assert _x_range(curves.loss_plot) == x_before
    assert _y_range(curves.loss_plot) == y_before
    assert set(curves._series) == {"batch_loss", "train_loss", "valid_loss", "valid_accuracy"}  # no lr curve
    curves.add_batch_loss(3.0, 7.0)  # a spike above the range: the axis grows to hold it
    curves.flush()
    assert _y_range(curves.loss_plot)[1] >= 7.0


def test_a_person_who_zooms_keeps_their_view_until_the_next_run(curves):
    curves.set_span(0, 5)
    curves.add_batch_loss(0.5, 1.0)
    curves.flush()
    view = curves.loss_plot.getViewBox()
    view.setYRange(0.2, 0.4, padding=0)
    view.sigRangeChangedManually.emit(view.state["mouseEnabled"])
    curves.add_batch_loss(1.0, 3.0)
    curves.flush()
    assert _y_range(curves.loss_plot) == pytest.approx((0.2, 0.4))
    curves.clear_curves()
    curves.add_batch_loss(0.5, 3.0)
    curves.flush()
    assert _y_range(curves.loss_plot)[1] >= 3.0


# -- declared metrics ---------------------------------------------------------------------------------
def declared(name, title="", unit="", group="", plot=True, direction="min"):
    """A metric declaration as the runner sends it (``MetricSpec.as_dict()``)."""
    return {"name": name, "title": title or name.replace("_", " "), "direction": direction, "unit": unit,
            "group": group or name, "plot": plot}


REGRESSION = [declared("loss", "Loss"), declared("mse", "MSE", unit="kg²"), declared("r2", "R²", direction="max"),
              declared("mae", "MAE", unit="kg", plot=False)]


def regression_epoch(curves, epoch, mse):
    curves.add_epoch(epoch, {"train_loss": mse, "valid_loss": mse * 1.1, "train_mse": mse, "valid_mse": mse * 1.1,
                             "train_r2": 0.9, "valid_r2": 0.85, "train_mae": mse ** 0.5, "lr": 0.01})


def _title(plot):
    return plot.titleLabel.text


def _y_label(plot):
    axis = plot.getAxis("left")
    return axis.labelText if axis.label.isVisible() else ""


def test_metrics_of_different_groups_get_their_own_plot_and_axis(curves):
    curves.set_metrics(REGRESSION)
    curves.set_span(0, 10)
    for epoch, mse in enumerate((4200.0, 3100.0, 2500.0), start=1):
        regression_epoch(curves, epoch, mse)
    curves.flush()
    mse_plot, r2_plot = curves.plot_for("valid_mse"), curves.plot_for("valid_r2")
    assert mse_plot is not r2_plot
    assert curves.plot_for("train_r2") is r2_plot  # train and valid of a metric share a plot
    assert _title(r2_plot) == "R²" and _title(mse_plot) == "MSE"
    assert _y_label(mse_plot) == "kg²"  # the unit on the axis
    assert _y_label(r2_plot) == ""
    # The R² reads 0..1 on its own axis instead of a flat line under an MSE in the thousands.
    assert _y_range(r2_plot)[1] <= 1.1
    assert _y_range(mse_plot)[1] >= 4620
    assert [_title(p) for p in curves.shown_plots()] == ["Loss", "MSE", "R²"]


def test_a_metric_declared_not_to_plot_is_hidden_until_picked_from_the_menu(curves):
    curves.set_metrics(REGRESSION)
    regression_epoch(curves, 1, 100.0)
    curves.flush()
    assert curves.plot_for("train_mae") is None
    assert "MAE" not in [_title(p) for p in curves.shown_plots()]
    curves.menu.aboutToShow.emit()
    entries = {action.text(): action for action in curves.menu.actions()}
    assert entries["MAE"].isChecked() is False and entries["R² (r2)"].isChecked() is True
    entries["MAE"].trigger()
    mae_plot = curves.plot_for("train_mae")
    assert _title(mae_plot) == "MAE" and _y_label(mae_plot) == "kg"
    assert mae_plot in curves.shown_plots()
    assert [item.yData.tolist() for item in mae_plot.listDataItems()] == [[10.0]]
    curves.set_shown("r2", False)  # and a plot whose metrics are all hidden goes
    assert [_title(p) for p in curves.shown_plots()] == ["Loss", "MSE", "MAE"]


def test_metrics_of_one_group_share_a_plot_told_apart_by_the_legend(curves):
    curves.set_metrics([declared("loss"), declared("mse", "MSE", group="error"),
                        declared("mae", "MAE", group="error")])
    curves.add_epoch(1, {"train_mse": 9.0, "valid_mse": 10.0, "valid_mae": 3.0})
    curves.flush()
    plot = curves.plot_for("valid_mae")
    assert plot is curves.plot_for("train_mse")
    assert _title(plot) == "MSE · MAE"
    assert [label.text for _, label in plot.legend.items] == ["train MSE", "valid MSE", "valid MAE"]


def test_a_declared_metric_the_task_never_reports_leaves_no_empty_plot(curves):
    """A GAN declares its sample score, reported only with a scorer: its plot shows until the first epoch (no
    jump when points come), then goes if that epoch brought none."""
    curves.set_metrics([declared("loss"), declared("d_loss", "D loss", group="gan"),
                        declared("sample_score", "Sample score", group="quality")])
    curves.flush()
    assert [_title(p) for p in curves.shown_plots()] == ["loss", "D loss", "Sample score"]
    curves.add_batch_loss(0.5, 2.0)  # the first epoch's batches: nothing moves yet
    curves.flush()
    assert len(curves.shown_plots()) == 3
    curves.add_epoch(1, {"train_loss": 1.5, "train_d_loss": 0.7})
    curves.flush()
    assert [_title(p) for p in curves.shown_plots()] == ["loss", "D loss"]
    curves.add_epoch(2, {"train_loss": 1.4, "train_d_loss": 0.6, "sample_score": 3.0})
    curves.flush()
    assert [_title(p) for p in curves.shown_plots()] == ["loss", "D loss", "Sample score"]


def test_undeclared_metrics_still_show_each_on_a_plot_of_its_own(curves):
    """A plugin older than declarations: losses with the running loss, accuracy as before, others alone."""
    curves.add_batch_loss(0.5, 2.0)
    curves.add_epoch(1, {"train_loss": 1.5, "valid_loss": 1.6, "train_accuracy": 0.5, "valid_accuracy": 0.6,
                         "valid_perplexity": 140.0, "g_loss": 3.0, "lr": 0.1, "lr_d": 0.2})
    curves.flush()
    assert [_title(p) for p in curves.shown_plots()] == ["Loss", "Accuracy", "perplexity"]
    assert curves.plot_for("g_loss") is curves.plot_for("batch_loss") is curves.loss_plot
    assert curves.plot_for("valid_accuracy") is not curves.plot_for("valid_perplexity")
    assert not any(name.startswith("lr") for name in curves._series)


def test_a_new_run_starts_from_the_loss_plot_alone(curves):
    curves.set_metrics(REGRESSION)
    regression_epoch(curves, 1, 100.0)
    curves.flush()
    curves.clear_curves()
    curves.flush()
    assert [_title(p) for p in curves.shown_plots()] == ["Loss"]
    assert curves.loss_plot.listDataItems() == []


def test_a_run_measured_in_steps_has_steps_on_every_x_axis(curves):
    curves.set_metrics(REGRESSION)
    curves.set_span(100, 300, "step")
    curves.add_batch_loss(140, 3000.0)
    regression_epoch(curves, 150, 2900.0)
    curves.flush()
    for plot in curves.shown_plots():
        assert plot.getAxis("bottom").labelText == "step"
        low, high = _x_range(plot)
        assert low <= 100 and 300 <= high < 310


@pytest.mark.parametrize(("name", "split"), [("valid_r2", ("valid", "r2")), ("train_d_loss", ("train", "d_loss")),
                                             ("perplexity", ("", "perplexity"))])
def test_split_metric(name, split):
    assert split_metric(name) == split
