"""The generative plugin's GAN pages (pytest-qt): GAN samples (the timeline of grids, the curves, following a
run as it trains) and Play (resample, favourites, interpolation). One tiny DCGAN (width 8, two epochs on the
digits) is trained through the real runner for the whole module; the pages read it like any finished run."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QScrollArea

import dlstudio_generative.plugin as generative_plugin
from dlstudio import runs
from dlstudio.gui.context import RecordingHost, StudioContext
from dlstudio.plugins import module_candidate
from dlstudio.runner import Run, run_to_end
from dlstudio.spec import RunSpec
from dlstudio.studio import Studio

TIMEOUT = 60_000
TINY_GAN = {
    "run": {"name": "tiny gan", "task": "gan", "seed": 0, "device": "cpu"},
    "model": {"id": "generative.dcgan", "params": {"latent": 16, "width": 8}},
    "data": {"id": "generative.digits", "params": {"size": 32}},
    "train": {"epochs": 2, "batch_size": 256, "optimizer": "adam", "lr": 0.0002},
}


def open_studio(home):
    return Studio.open(home, [module_candidate("generative", generative_plugin)])


@pytest.fixture(scope="module")
def gan_home(tmp_path_factory):
    """A studio folder holding one finished two-epoch GAN run (trained once for the module)."""
    home = tmp_path_factory.mktemp("gan-home")
    run = Run(open_studio(home), RunSpec.from_dict(TINY_GAN))
    run_to_end(run)
    return home, run.run_id


@pytest.fixture
def context(qtbot, gan_home):
    ctx = StudioContext(open_studio(gan_home[0]), RecordingHost())
    yield ctx
    ctx.shutdown()


@pytest.fixture
def gan_run(gan_home):
    return gan_home[1]


def pixels(image) -> np.ndarray:
    from dlstudio_generative.panels.views import qimage_to_array

    return qimage_to_array(image).astype(int)


def png(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


# -- registration -------------------------------------------------------------------------------------------


def test_panels_register_without_qt_in_the_agreed_order():
    import subprocess
    import sys

    code = ("import sys; from dlstudio_generative.panels import panel_specs; s = panel_specs(); "
            "assert not any(m.startswith(('PySide6', 'pyqtgraph', 'torch')) for m in sys.modules), 'imported'; "
            "print(','.join(p.id for p in sorted(s, key=lambda p: p.order)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().split(",") == ["generative.style", "generative.train", "generative.gan",
                                             "generative.play"]


def test_every_page_fits_a_laptop_screen(qtbot, make_window, gan_home):
    """At 1280×800 each of our pages fits the room the window gives it: no scrolling, nothing cut off."""
    window = make_window(open_studio(gan_home[0]))
    window.resize(1280, 800)
    window.show()
    for panel_id in ("generative.style", "generative.gan", "generative.play"):
        assert window.show_panel(panel_id)
        page = window.panels[panel_id]
        area = window.family_pages["generative"].currentWidget().findChild(QScrollArea)
        if area is not None and area.widget() is page:  # a page in the window's scroll area: it needs no scrolling
            qtbot.waitUntil(lambda a=area, p=page: p.height() == a.viewport().height(), timeout=5_000)
            assert area.verticalScrollBar().maximum() == 0, panel_id
        # (A page that scrolls its own form is not put in another scroll area: its minimum below must fit.)
        assert page.minimumSizeHint().width() <= 1000 and page.minimumSizeHint().height() <= 560, panel_id


# -- GAN samples ------------------------------------------------------------------------------------------


def test_gan_page_timeline_holds_one_grid_per_epoch_and_scrubs_back(qtbot, context, gan_run):
    from dlstudio_generative.panels.gan_page import GanSamplesPage

    page = GanSamplesPage(context)
    qtbot.addWidget(page)
    assert page.runs.currentData() == gan_run
    run_dir = runs.get_run(context.studio, gan_run).run_dir
    grids = sorted((run_dir / "samples").glob("epoch_*.png"))
    assert len(grids) == 2
    assert [key for key, _ in page.timeline.items] == [("epoch", 1), ("epoch", 2)]
    # the newest grid is shown, at its own pixels
    assert np.array_equal(pixels(page.grid.image()), png(grids[1]))
    assert not np.array_equal(png(grids[0]), png(grids[1]))  # the generator changed between the epochs
    page.timeline.select(0)
    assert np.array_equal(pixels(page.grid.image()), png(grids[0]))
    assert "epoch 1" in page.timeline.label.text()
    # the curves are the recorded metrics, one point per epoch
    history = runs.read_metrics(context.studio, gan_run)
    assert page.losses.points["D loss"][1] == pytest.approx([h["train_d_loss"] for h in history])
    assert page.losses.points["G loss"][1] == pytest.approx([h["train_g_loss"] for h in history])
    assert page.odds.points["D(x)"][1] == pytest.approx([h["train_d_real"] for h in history])
    assert page.odds.points["D(G(z))"][1] == pytest.approx([h["train_d_fake"] for h in history])


def test_gan_page_shows_the_networks_sizes(qtbot, context, gan_run):
    from dlstudio_generative.panels.gan_page import GanSamplesPage

    page = GanSamplesPage(context)
    qtbot.addWidget(page)
    model = runs.load_model(context.studio, gan_run, "last").model
    generator = sum(p.numel() for p in model.generator.parameters())
    discriminator = sum(p.numel() for p in model.discriminator.parameters())
    qtbot.waitUntil(lambda: "parameters" in page.info.text(), timeout=TIMEOUT)
    assert f"Generator: {generator:,} parameters" in page.info.text()
    assert f"Discriminator: {discriminator:,} parameters" in page.info.text()


def test_gan_page_warns_when_the_score_says_collapsed(qtbot, context, gan_run):
    from dlstudio_generative.panels.gan_page import GanSamplesPage, collapse_warning

    page = GanSamplesPage(context)
    qtbot.addWidget(page)
    assert page.warning.isHidden()
    page._add_point(3, {"sample_score": 1.4, "sample_coverage": 1.0})
    assert not page.warning.isHidden() and "collapse" in page.warning.text()
    assert "Sample score 1.40" in page.info.text()
    page._add_point(4, {"sample_score": 7.9, "sample_coverage": 10.0})
    assert page.warning.isHidden()
    # with the top class's share recorded, the scorer's own rule (half the samples one class) decides
    assert collapse_warning(5, 6.0, 0.55) and not collapse_warning(5, 1.0, 0.3)
    # the run's own verdict wins: blurry early samples all read as one digit are no alarm, lost variety is
    assert not collapse_warning(2, 1.0, 1.0, collapsed=0.0)
    assert "100% of the samples are one class" in collapse_warning(30, 1.0, 1.0, collapsed=1.0)
    page._add_point(6, {"sample_score": 1.1, "sample_coverage": 1.0, "sample_top_share": 0.97,
                        "sample_collapsed": 0.0})
    assert page.warning.isHidden()


def test_gan_page_follows_a_run_as_it_trains(qtbot, make_window, make_studio):
    """In a real window: a GAN started from the Train page shows up on the GAN samples page while it trains,
    each epoch adding a grid to the timeline and a point to the curves."""
    window = make_window(make_studio(("generative", generative_plugin)))
    page = window.panels["generative.gan"]
    seen = []
    window.context.run_epoch.connect(lambda run_id, metrics: seen.append(len(page.timeline.items)))
    with qtbot.waitSignal(window.context.run_finished, timeout=TIMEOUT) as finished:
        assert window.context.start_run(RunSpec.from_dict(TINY_GAN)) is not None
    run_id, status, _ = finished.args
    assert status == "completed"
    assert page.run_id == run_id
    assert seen == [1, 2]  # by the time each epoch was reported, its grid was on the timeline
    assert len(page.losses.points["D loss"][0]) == 2
    assert page.grid.has_image()


# -- Play -------------------------------------------------------------------------------------------------


def resampled(qtbot, page, seed):
    page.seed.setValue(seed)
    page.drawn = None
    page.resample()
    qtbot.waitUntil(lambda: page.drawn is not None, timeout=TIMEOUT)
    return pixels(page.grid.image())


def test_play_resample_with_the_same_seed_gives_the_same_grid(qtbot, context, gan_run):
    from dlstudio_generative.gan.sampling import grid_image, load_generator, sample
    from dlstudio_generative.panels.play_page import PlayPage

    page = PlayPage(context)
    qtbot.addWidget(page)
    assert page.runs.currentData() == gan_run
    first = resampled(qtbot, page, 5)
    again = resampled(qtbot, page, 5)
    other = resampled(qtbot, page, 6)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    # what is shown is the generator's samples of that seed, drawn independently of the page
    gen = load_generator(context.studio, gan_run, "last")
    reference = np.asarray(grid_image(sample(gen, 64, 5), 8)).astype(int)
    assert first.shape == reference.shape
    assert np.abs(first - reference).max() <= 1


def test_play_click_keeps_the_sample_under_the_mouse(qtbot, context, gan_run):
    from PySide6.QtCore import QPoint, Qt

    from dlstudio_generative.panels.play_page import PlayPage
    from dlstudio_generative.panels.play_work import PADDING

    page = PlayPage(context)
    qtbot.addWidget(page)
    page.resize(1000, 560)
    page.show()
    resampled(qtbot, page, 3)
    drawn = page.drawn
    side, columns = drawn.side, drawn.columns
    # click the centre of the picture in row 2, column 3 (index 2 * 8 + 3 = 19) on the scaled view
    x, y = PADDING + 3 * (side + PADDING) + side / 2, PADDING + 2 * (side + PADDING) + side / 2
    pixmap = page.grid.pixmap()
    room = page.grid.contentsRect()
    scale = pixmap.width() / page.grid.image().width()
    left = room.x() + (room.width() - pixmap.width()) / 2
    top = room.y() + (room.height() - pixmap.height()) / 2
    qtbot.mouseClick(page.grid, Qt.MouseButton.LeftButton, pos=QPoint(int(left + x * scale), int(top + y * scale)))
    favourites = page.favourite_list()
    assert len(favourites) == 1 and favourites[0]["label"] == "seed 3 #20"
    # the favourite's picture is that cell of the grid, cut out independently
    cell = png_crop(drawn.grid, PADDING + 3 * (side + PADDING), PADDING + 2 * (side + PADDING), side)
    assert np.array_equal(np.asarray(favourites[0]["picture"]).astype(int), cell)
    assert page.favourites.count() == 1
    # kept in the plugin's shared state for the session, by run
    assert context.plugin_state("generative")["favourites"][gan_run] is favourites
    assert columns == 8


def png_crop(image, left, top, side):
    return np.asarray(image.crop((left, top, left + side, top + side))).astype(int)


def test_play_interpolation_strip_ends_at_the_two_favourites(qtbot, context, gan_run):
    from dlstudio_generative.panels.play_page import PlayPage

    page = PlayPage(context)
    qtbot.addWidget(page)
    resampled(qtbot, page, 1)
    page.keep(0)
    page.keep(9)
    first, second = page.favourite_list()
    page.ends[0].choose_favourite(0)
    page.ends[1].choose_favourite(1)
    page.steps.setValue(6)
    page.interpolate()
    qtbot.waitUntil(lambda: page.strip is not None, timeout=TIMEOUT)
    strip = page.strip
    assert len(strip.pictures) == 6
    side = strip.side
    # cut the strip's first and last cells out of the strip picture itself
    start = png_crop(strip.grid, 2, 2, side)
    end = png_crop(strip.grid, 2 + 5 * (side + 2), 2, side)
    assert np.abs(start - np.asarray(first["picture"]).astype(int)).max() <= 1
    assert np.abs(end - np.asarray(second["picture"]).astype(int)).max() <= 1
    # the middle is neither end: the walk goes somewhere
    middle = png_crop(strip.grid, 2 + 3 * (side + 2), 2, side)
    assert not np.array_equal(middle, start) and not np.array_equal(middle, end)
    # a seed end is that seed's latent point
    from dlstudio_generative.gan.sampling import latent_vectors

    page.ends[1].choice.setCurrentIndex(0)
    page.ends[1].seed.setValue(4)
    assert np.allclose(page.ends[1].vector(page.gen, page.favourite_list()),
                       latent_vectors(16, 1, 4)[0].numpy())


def test_play_without_a_run_says_what_to_do(qtbot, make_studio):
    from dlstudio_generative.panels.play_page import PlayPage

    ctx = StudioContext(make_studio(("generative", generative_plugin)), RecordingHost())
    page = PlayPage(ctx)
    qtbot.addWidget(page)
    assert not page.resample_button.isEnabled()
    page.resample()
    assert "Choose a finished GAN run" in page.status.text()
    ctx.shutdown()
