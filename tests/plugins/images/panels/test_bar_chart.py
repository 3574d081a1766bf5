"""The images plugin's bar chart says it has no data instead of showing made-up axes."""

from dlstudio_images.panels.widgets import BarChart


def test_an_empty_bar_chart_says_so_and_a_filled_one_shows_its_axes(qtbot):
    chart = BarChart("Images per class")
    qtbot.addWidget(chart)
    assert chart.empty_note.empty and not chart.getAxis("left").isVisible()
    chart.set_bars(["0", "1"], [("train", [5, 7], (52, 120, 200))])
    assert not chart.empty_note.empty and chart.getAxis("left").isVisible()
    chart.set_bars([], [])
    assert chart.empty_note.empty
