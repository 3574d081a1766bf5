"""Drop a folder of class folders on the Train page, read the recipe chosen for it, press Train."""

import pytest

from dlstudio_images.panels.data_page import DataPage
from dlstudio_images.panels.train_page import TrainPage
from tests.gui.test_forms_people import drop
from tests.plugins.images.factory import train
from tests.plugins.images.test_folder_recipe import draw_shapes

TIMEOUT = 60_000


@pytest.mark.slow
def test_drop_a_folder_then_train_starts_a_run_of_that_folder(qtbot, context, host, tmp_path):
    root = draw_shapes(tmp_path / "shapes", per_class=8, size=40)
    page = TrainPage(context)
    qtbot.addWidget(page)
    start = page.folder_start
    assert not start.isHidden() and not start.train_button.isEnabled()
    assert drop(start, root)
    qtbot.waitUntil(lambda: start.train_button.isEnabled(), timeout=TIMEOUT)
    text = start.lines.text()
    assert "2 classes (circle 8, square 8)" in text and "cannot be downloaded offline" in text
    start.train_button.click()
    assert len(host.started) == 1 and host.errors == []
    spec = host.started[0]
    assert (spec.data.id, spec.data.params["root"]) == ("images.folder", str(root))
    assert spec.model.id == "images.mnist_net" and spec.data.params["hflip"] is True
    assert page.panel.current_spec() == spec  # the form shows what trains
    # ... and the spec trains: the runner reads the folder and learns the two shapes.
    quick = spec.to_dict()
    quick["train"]["epochs"] = 2
    _, ended = train(context.studio, quick)
    assert ended.status == "completed"


def test_a_bad_folder_dropped_says_what_is_wrong_and_trains_nothing(qtbot, context, host, tmp_path):
    root = tmp_path / "flat"
    root.mkdir()
    (root / "a.png").write_bytes(b"")
    page = TrainPage(context)
    qtbot.addWidget(page)
    drop(page.folder_start, root)
    qtbot.waitUntil(lambda: "no class folders" in page.folder_start.lines.text(), timeout=TIMEOUT)
    assert not page.folder_start.train_button.isEnabled() and host.started == []


def test_a_folder_dropped_on_the_data_page_trains_from_the_train_page(qtbot, context, host, tmp_path):
    root = draw_shapes(tmp_path / "shapes", per_class=4, size=40)
    train_page, data_page = TrainPage(context), DataPage(context)
    qtbot.addWidget(train_page)
    qtbot.addWidget(data_page)
    assert drop(data_page.folder_start, root)
    qtbot.waitUntil(lambda: data_page.folder_start.train_button.isEnabled(), timeout=TIMEOUT)
    data_page.folder_start.train_button.click()
    assert host.shown[-1] == "images.train"
    assert [spec.data.params["root"] for spec in host.started] == [str(root)]
    assert data_page.data_id() == "images.folder" and data_page.form().values()["root"] == str(root)
