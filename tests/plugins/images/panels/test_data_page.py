from dlstudio_images.panels.data_page import DataPage
from tests.plugins.images.factory import make_folder

TIMEOUT = 60_000


def test_digits_preview_shows_samples_counts_and_computed_stats(qtbot, context):
    page = DataPage(context)
    qtbot.addWidget(page)
    page.load()
    qtbot.waitUntil(lambda: page.preview is not None, timeout=TIMEOUT)
    assert [name for name, _ in page.samples.rows] == list("0123456789")
    assert all(len(pixmaps) == 6 for _, pixmaps in page.samples.rows)
    assert sum(page.preview.train_counts) + sum(page.preview.valid_counts) == 1797
    assert "computed from the training set" in page.stats.text()
    assert not page.regenerate_button.isEnabled()  # nothing random to regenerate


def test_augmented_grid_regenerates(qtbot, context):
    page = DataPage(context)
    qtbot.addWidget(page)
    page.combo.setCurrentIndex(page.combo.findData("images.shapes"))
    page.form().set_values({"per_class": 10, "size": 32, "hflip": True, "rotation": 40.0})
    page.load()
    qtbot.waitUntil(lambda: page.preview is not None, timeout=TIMEOUT)
    assert page.regenerate_button.isEnabled()
    before = [pm.toImage() for pm in page.augmented.rows[0][1]]
    page.regenerate()
    after = [pm.toImage() for pm in page.augmented.rows[0][1]]
    assert before != after


def test_a_bad_folder_is_reported_in_the_page(qtbot, context, tmp_path):
    root = make_folder(tmp_path / "one", {"": {"cat": 3}})
    page = DataPage(context)
    qtbot.addWidget(page)
    page.combo.setCurrentIndex(page.combo.findData("images.folder"))
    page.form().set_values({"root": str(root), "size": 16})
    page.load()
    qtbot.waitUntil(lambda: "at least two classes" in page.status.text(), timeout=TIMEOUT)
    assert page.load_button.isEnabled()
