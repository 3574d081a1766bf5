import pytest

from dlstudio.gui.curves import CurvesWidget, nice_ceiling, steady_y_range


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
    curves.set_epoch_span(0, 10)
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
    curves.set_epoch_span(0, 5)
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
