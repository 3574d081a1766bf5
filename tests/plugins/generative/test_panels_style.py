"""The Style transfer page (pytest-qt): choosing pictures (samples, files, drag and drop, refusals), the spec
Start sends, the VGG-19 line and the random filters' limitation, and — in a real window with real short runs —
watching the picture being painted, stopping, and reopening a finished run."""

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

import dlstudio_generative.plugin as generative_plugin
from dlstudio import runs
from dlstudio.gui.context import RecordingHost, StudioContext

TIMEOUT = 60_000


@pytest.fixture
def context(qtbot, make_studio):
    ctx = StudioContext(make_studio(("generative", generative_plugin)), RecordingHost())
    yield ctx
    ctx.shutdown()


@pytest.fixture
def page(qtbot, context):
    from dlstudio_generative.panels.style_page import StylePage

    widget = StylePage(context)
    qtbot.addWidget(widget)
    return widget


@pytest.fixture
def picture_file(tmp_path):
    """A 40×30 RGB picture: a red square on blue."""
    pixels = np.zeros((30, 40, 3), np.uint8)
    pixels[..., 2] = 200
    pixels[5:20, 5:20] = (230, 30, 30)
    path = tmp_path / "mine.png"
    Image.fromarray(pixels, "RGB").save(path)
    return path


def drop(widget, *paths):
    """Send ``widget`` a real drop of local files, as a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)
    return event


def view_pixels(view):
    from dlstudio_generative.panels.views import qimage_to_array

    return qimage_to_array(view.image()).astype(int)


# -- pictures -------------------------------------------------------------------------------------------------


def test_a_dropped_picture_is_taken_with_its_size(page, picture_file):
    picker = page.controls.content
    event = drop(picker, picture_file)
    assert event.isAccepted()
    assert picker.reference() == str(picture_file)
    assert np.array_equal(view_pixels(picker.thumb), np.asarray(Image.open(picture_file)).astype(int))
    assert "40×30 px" in picker.info.text() and not picker.error_text()


def test_a_greyscale_picture_is_taken_with_a_note(page, tmp_path):
    path = tmp_path / "grey.png"
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8) * 4, (48, 1)), "L").save(path)
    picker = page.controls.style
    drop(picker, path)
    assert picker.reference() == str(path)
    assert "greyscale" in picker.info.text()
    grey = view_pixels(picker.thumb)
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])


def test_a_file_that_is_not_a_picture_is_refused_and_the_old_choice_kept(page, tmp_path, picture_file):
    picker = page.controls.content
    drop(picker, picture_file)
    before = view_pixels(picker.thumb)
    fake = tmp_path / "notes.png"
    fake.write_text("this is not a picture", encoding="utf-8")
    assert not picker.choose_file(fake)
    drop(picker, fake)
    assert picker.reference() == str(picture_file)
    assert "notes.png is not an image" in picker.error_text()
    assert "mine.png" in picker.info.text()  # says what is still used
    assert np.array_equal(view_pixels(picker.thumb), before)
    # a picture too small to paint is refused the same way
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (8, 8)).save(tiny)
    assert not picker.choose_file(tiny)
    assert "too small" in picker.error_text() and picker.reference() == str(picture_file)


def test_two_files_dropped_on_the_page_are_the_content_and_the_style(page, tmp_path, picture_file):
    other = tmp_path / "other.png"
    Image.new("RGB", (32, 32), (10, 200, 10)).save(other)
    assert drop(page, picture_file, other).isAccepted()
    assert page.controls.content.reference() == str(picture_file)
    assert page.controls.style.reference() == str(other)


def test_the_samples_are_offered_and_chosen_by_name(page):
    from dlstudio_generative.style.samples import SAMPLES

    picker = page.controls.style
    offered = [picker.combo.itemData(i) for i in range(picker.combo.count())]
    assert offered == sorted((f"sample:{n}" for n in SAMPLES), key=lambda r: SAMPLES[r[7:]].role != "style")
    picker.choose_sample("mosaic")
    assert picker.reference() == "sample:mosaic"
    expected = Image.open(SAMPLES["mosaic"].path).convert("RGB")
    assert picker.picture.size == expected.size or max(picker.picture.size) == 256


# -- the spec Start sends -------------------------------------------------------------------------------------


def test_start_sends_the_spec_of_the_chosen_settings(page, context, picture_file):
    from dlstudio.spec import RunSpec
    from dlstudio_generative.style.spec import style_spec

    controls = page.controls
    controls.content.choose_sample("skyline")
    controls.style.choose_file(picture_file)
    controls.size.setValue(64)
    controls.iterations.setValue(20)
    controls.snapshot_every.setValue(4)
    chosen = {"content_weight": 2.5, "style_weight": 12.0, "tv_weight": 0.001, "keep_colors": True, "seed": 7}
    chosen = {k: v for k, v in chosen.items() if k in controls.form.params}
    controls.form.set_values(chosen)
    page.start_button.click()
    host = context._host
    assert len(host.started) == 1, page.status.text()
    sent = host.started[0].to_dict()
    assert sent["run"]["task"] == "style-transfer"
    assert sent["train"]["steps"] == 20 and sent["task"]["params"]["snapshot_every"] == 4
    assert sent["data"]["params"]["content"] == "sample:skyline"
    assert sent["data"]["params"]["style"] == str(picture_file)
    assert sent["data"]["params"]["size"] == 64
    for key, value in chosen.items():
        assert sent["task"]["params"][key] == value, key
    # every other parameter is the form's default, as the task declares it
    expected = RunSpec.from_dict(style_spec("sample:skyline", str(picture_file), size=64, iterations=20,
                                            snapshot_every=4, **controls.form.values())).to_dict()
    assert sent == expected
    assert not page.start_button.isEnabled() and page.stop_button.isEnabled()
    page.stop_button.click()
    assert host.cancelled == ["run-1"]  # the ticket, before the run has an id


def test_cloning_a_run_shows_its_settings(page, picture_file):
    from dlstudio_generative.style.spec import style_spec

    raw = style_spec(str(picture_file), "sample:ink-hatching", size=96, iterations=40, snapshot_every=8,
                     style_weight=55.0, init="noise")
    assert page.load_spec(raw)
    controls = page.controls
    assert controls.content.reference() == str(picture_file)
    assert controls.style.reference() == "sample:ink-hatching"
    assert (controls.size.value(), controls.iterations.value(), controls.snapshot_every.value()) == (96, 40, 8)
    values = controls.form.values()
    assert values["style_weight"] == 55.0 and values["init"] == "noise"
    assert not page.load_spec({"run": {"task": "gan"}, "model": {"id": "generative.dcgan"}})


def test_start_refuses_unreadable_settings_with_a_message(page, context):
    form = page.controls.form
    form.widget("content_weight").setText("lots")
    form.widget("style_layers").setText("conv9_9")
    page.start_button.click()
    assert context._host.started == []
    assert "Cannot start" in page.status.text() and "lots" in page.status.text()
    assert form.is_marked("content_weight")
    form.widget("content_weight").setText("1.0")
    form.set_values({"features": "random-banks"})
    page.start_button.click()
    assert context._host.started == []
    assert "conv9_9" in page.status.text() and "bank3" in page.status.text()  # names the layers there are
    form.widget("style_layers").setText("bank5, bank9")
    page.start_button.click()
    assert len(context._host.started) == 1
    assert context._host.started[0].task.params["style_layers"] == "bank5, bank9"


def test_the_limitation_shows_with_random_filters_and_the_vgg_line_with_vgg(page, monkeypatch, tmp_path):
    from dlstudio_generative.style import vgg_weights
    from dlstudio_generative.style.layers import LIMITATION

    monkeypatch.setattr(vgg_weights, "hub_weights_path", lambda: tmp_path / "hub" / vgg_weights.VGG19_FILE)
    form = page.controls.form
    form.set_values({"features": "random-banks"})
    assert not page.controls.limitation.isHidden() and page.controls.limitation.text() == LIMITATION
    assert page.controls.vgg_line.isHidden()
    form.set_values({"features": "vgg19"})
    assert page.controls.limitation.isHidden()
    line = page.controls.vgg_line.text()
    assert vgg_weights.VGG19_FILE in line and str(tmp_path / "hub") in line


def test_the_style_weight_follows_the_feature_network_unless_the_user_chose_one(page):
    form = page.controls.form
    form.set_values({"features": "random-banks", "style_weight": 30.0})
    form.set_values({"features": "vgg19"})
    assert form.values()["style_weight"] == 1.0  # the book's, for VGG-19
    assert page.controls.spec()["task"]["params"]["style_weight"] == 1.0
    form.set_values({"features": "random-banks"})
    assert form.values()["style_weight"] == 30.0
    form.set_values({"style_weight": 12.5})
    form.set_values({"features": "vgg19"})
    assert form.values()["style_weight"] == 12.5  # the user's own is kept
    # a cloned spec is shown exactly, even a weight that is the other network's default
    spec = page.controls.spec()
    spec["task"]["params"].update(features="vgg19", style_weight=30.0)
    page.controls.load_values(spec)
    assert form.values()["features"] == "vgg19" and form.values()["style_weight"] == 30.0


def test_a_wrong_vgg_weights_file_is_refused_saying_what_was_expected(qtbot, page, tmp_path):
    import torch

    wrong = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(8, 3, 3, 3)}, wrong)
    page.controls.form.set_values({"features": "vgg19", "vgg_weights": str(wrong)})
    qtbot.waitUntil(lambda: "cannot be used" in page.controls.vgg_line.text(), timeout=TIMEOUT)
    assert "VGG-19" in page.controls.vgg_line.text() and "expected" in page.controls.vgg_line.text()


# -- real runs in a real window --------------------------------------------------------------------------------


def short_run(page, iterations, snapshot_every=2, size=32):
    page.controls.content.choose_sample("landscape")
    page.controls.style.choose_sample("warm-waves")
    page.controls.size.setValue(size)
    page.controls.iterations.setValue(iterations)
    page.controls.snapshot_every.setValue(snapshot_every)


@pytest.mark.slow  # a real window and a real (short) run: several seconds on a busy 2-core machine
def test_watching_a_short_run_paint(qtbot, make_window, make_studio):
    from dlstudio_generative.style.snapshots import list_snapshots, result_path

    window = make_window(make_studio(("generative", generative_plugin)))
    page = window.panels["generative.style"]
    short_run(page, iterations=22)  # two periods (of 20 and 2 iterations), a snapshot every 2
    live = []  # at each look at the run's folder while it paints: (snapshots listed, picture shown)
    curves = []  # the curve points after each period the run reported

    def refreshed():
        if page.painting and page.timeline.items:
            live.append((len(page.timeline.items), view_pixels(page.canvas)))

    page.poll.timeout.connect(refreshed)  # after the page's own refresh
    window.context.run_epoch.connect(lambda *_: curves.append(len(page.curves.points.get("total", ([],))[0])))
    with qtbot.waitSignal(window.context.run_finished, timeout=TIMEOUT) as finished:
        page.start_button.click()
    run_id, status, _ = finished.args
    assert status == "completed" and run_id == page.run_id
    assert page.runs.currentData() == run_id  # the list of earlier runs shows it as the one open
    run_dir = runs.get_run(window.context.studio, run_id).run_dir
    snapshots = list_snapshots(run_dir)
    assert [step for step, _ in snapshots] == list(range(2, 23, 2))
    # live: while it painted, the page showed the newest snapshot, and the curves grew with each period
    assert live, "no live update during the run"
    for listed, shown in live:
        newest = np.asarray(Image.open(snapshots[listed - 1][1]).convert("RGB")).astype(int)
        assert np.array_equal(shown, newest)
    assert [listed for listed, _ in live] == sorted(listed for listed, _ in live)
    assert curves == sorted(curves) and curves[0] < 11  # the curves grew while it painted
    # the strip holds each snapshot, then the result; scrubbing shows the snapshot's own pixels
    assert [key for key, _ in page.timeline.items] == [*range(2, 23, 2), "result"]
    page.timeline.select(1)
    assert np.array_equal(view_pixels(page.canvas), np.asarray(Image.open(snapshots[1][1]).convert("RGB")))
    # side by side: the result is the run's result.png
    result = np.asarray(Image.open(result_path(run_dir)).convert("RGB")).astype(int)
    assert np.array_equal(view_pixels(page.compare[2]), result)
    assert page.compare[0].has_image() and page.compare[1].has_image()
    # the curves are the losses of each snapshot's iteration, as the run's folder holds them (finer than its
    # records, one a period)
    written = [json.loads(line) for line in (run_dir / "snapshots" / "losses.jsonl").read_text().splitlines()]
    assert [p["step"] for p in written] == list(range(2, 23, 2))
    assert page.curves.points["total"][0] == [float(p["step"]) for p in written]
    assert page.curves.points["total"][1] == pytest.approx([p["loss"] for p in written])
    assert page.curves.points["style"][1] == pytest.approx([p["style"] for p in written])
    assert len(runs.read_metrics(window.context.studio, run_id)) == 2


def test_stop_cancels_the_run_and_keeps_the_picture(qtbot, make_window, make_studio):
    from dlstudio_generative.style.snapshots import result_path

    window = make_window(make_studio(("generative", generative_plugin)))
    page = window.panels["generative.style"]
    short_run(page, iterations=400)
    stopped = []  # stop as soon as the first snapshot is shown

    def first_snapshot():
        if page.painting and page.timeline.items and not stopped:
            stopped.append(page.timeline.items[0][0])
            page.stop_button.click()

    page.poll.timeout.connect(first_snapshot)
    with qtbot.waitSignal(window.context.run_finished, timeout=TIMEOUT) as finished:
        page.start_button.click()
    run_id, status, _ = finished.args
    assert status == "cancelled"
    run_dir = runs.get_run(window.context.studio, run_id).run_dir
    assert result_path(run_dir).is_file()
    assert page.timeline.items[-1][0] == "result"
    shown = view_pixels(page.canvas)
    assert np.array_equal(shown, np.asarray(Image.open(result_path(run_dir)).convert("RGB")).astype(int))
    assert "kept" in page.status.text()
    assert page.start_button.isEnabled() and not page.stop_button.isEnabled()
    # and reopening it on a fresh page shows the same snapshots and curves
    from dlstudio_generative.panels.style_page import StylePage

    again = StylePage(window.context)
    qtbot.addWidget(again)
    again.open_run(run_id)
    assert [p for _, p in again.timeline.items] == [p for _, p in page.timeline.items]
    assert again.curves.points == page.curves.points
