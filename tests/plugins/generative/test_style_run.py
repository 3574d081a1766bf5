"""Style transfer through dlstudio's runner, as the panel and ``dlstudio train`` start it: the picture is painted
(loss down), snapshots and the result are written, checkpoints hold the picture and a bounded L-BFGS history, a
resumed run paints the same picture as an uninterrupted one, and failures say what happened."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import dlstudio_generative.plugin as generative_plugin
from dlstudio.engine import EpochEnd, FitEnded, LogMessage
from dlstudio.errors import RunError
from dlstudio.runner import Run
from dlstudio.runs import load_model
from dlstudio.spec import RunSpec
from dlstudio_generative.style.samples import sample_path
from dlstudio_generative.style.snapshots import latest_snapshot, list_snapshots, result_path
from dlstudio_generative.style.spec import style_spec as make_spec
from dlstudio_generative.style.spec import stylize_result_image
from dlstudio_generative.style.task import HISTORY_SIZE


@pytest.fixture
def studio(make_studio, one_thread):
    return make_studio(("generative", generative_plugin))


def spec(**kwargs) -> RunSpec:
    settings = {"size": 40, "iterations": 6, "snapshot_every": 3, "record_every": 3, "device": "cpu", **kwargs}
    content, style = settings.pop("content", "sample:landscape"), settings.pop("style", "sample:night-swirls")
    return RunSpec.from_dict(make_spec(content, style, **settings))


def drive(run: Run) -> list:
    return list(run.records())


def painted(studio, run_id) -> torch.Tensor:
    return load_model(studio, run_id, "last").model.image.detach()


def png(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int32)


def test_a_short_run_paints_and_leaves_its_pictures(studio):
    run = Run(studio, spec(iterations=6, snapshot_every=3))
    records = drive(run)
    assert records[-1].status == "completed"
    periods = [r for r in records if isinstance(r, EpochEnd)]
    assert [p.step for p in periods] == [3, 6]
    first, last = periods[0].metrics, periods[-1].metrics
    assert last["train_loss"] < 0.5 * first["train_loss"]
    assert last["train_style"] < first["train_style"]
    assert first["train_loss"] == pytest.approx(first["train_content"] + first["train_style"] + first["train_tv"])

    run_dir = studio.store.run_dir(run.run_id)
    assert [step for step, _ in list_snapshots(run_dir)] == [3, 6]
    image = painted(studio, run.run_id)
    assert image.shape == (1, 3, 30, 40)
    expected = (image[0].clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()
    assert np.array_equal(png(result_path(run_dir)), expected)  # the result is the final canvas, clamped
    assert np.array_equal(png(list_snapshots(run_dir)[-1][1]), expected)
    assert np.asarray(stylize_result_image(run_dir)).shape == (30, 40, 3)


def test_snapshots_come_every_few_iterations_and_at_each_period_end(studio):
    run = Run(studio, spec(iterations=7, snapshot_every=2, record_every=3))
    records = drive(run)
    assert [r.step for r in records if isinstance(r, EpochEnd)] == [3, 6, 7]
    run_dir = studio.store.run_dir(run.run_id)
    assert [step for step, _ in list_snapshots(run_dir)] == [2, 3, 4, 6, 7]
    assert latest_snapshot(run_dir)[0] == 7


def test_checkpoints_hold_the_picture_and_a_bounded_history(studio):
    run = Run(studio, spec(iterations=6, snapshot_every=3))
    drive(run)
    folder = studio.store.run_dir(run.run_id) / "checkpoints"
    values = 3 * 30 * 40 * 4  # bytes of the picture in float32
    assert load_model(studio, run.run_id, "last").model.state_dict().keys() == {"image"}
    assert (folder / "last.safetensors").stat().st_size < values + 4096
    states = list(folder.glob("last-state-*.safetensors"))
    assert len(states) == 1
    # L-BFGS keeps HISTORY_SIZE pairs of vectors, plus a few more (direction, previous gradient...).
    assert states[0].stat().st_size < (2 * HISTORY_SIZE + 6) * values


def test_a_resumed_run_paints_the_same_picture_as_an_uninterrupted_one(studio):
    settings = {"iterations": 9, "snapshot_every": 2, "record_every": 3}
    whole = Run(studio, spec(**settings))
    drive(whole)

    broken = Run(studio, spec(**settings))
    records = broken.records()
    for record in records:
        if isinstance(record, EpochEnd) and record.epoch == 1:
            break
    records.close()  # as if the window had been closed mid-run
    assert studio.store.get(broken.run_id).status == "interrupted"
    broken_dir = studio.store.run_dir(broken.run_id)
    # A killed attempt may have painted on past its last checkpoint (step 3): its pictures must not stay.
    Image.new("RGB", (40, 30)).save(broken_dir / "snapshots" / "step_000005.png")
    resumed = drive(Run.resume(studio, broken.run_id))
    assert resumed[-1].status == "completed"
    assert any(isinstance(r, LogMessage) and "resuming" in r.text for r in resumed)

    assert torch.equal(painted(studio, whole.run_id), painted(studio, broken.run_id))
    whole_dir = studio.store.run_dir(whole.run_id)
    assert [s for s, _ in list_snapshots(broken_dir)] == [s for s, _ in list_snapshots(whole_dir)] == [2, 3, 4, 6, 8, 9]
    for (_, a), (_, b) in zip(list_snapshots(whole_dir), list_snapshots(broken_dir), strict=True):
        assert np.array_equal(png(a), png(b))
    assert np.array_equal(png(result_path(whole_dir)), png(result_path(broken_dir)))


def content_at(size: tuple[int, int]) -> Image.Image:
    with Image.open(sample_path("landscape")) as image:
        return image.convert("RGB").resize(size, Image.Resampling.LANCZOS)


def test_keeping_the_colours_gives_the_result_the_contents_chroma(studio):
    def chroma(image: Image.Image) -> np.ndarray:
        return np.asarray(image.convert("YCbCr"), dtype=float)[..., 1:]

    plain, kept = Run(studio, spec()), Run(studio, spec(keep_colors=True))
    drive(plain), drive(kept)
    content = chroma(content_at((40, 30)))
    kept_error = np.abs(chroma(stylize_result_image(studio.store.run_dir(kept.run_id))) - content).mean()
    plain_error = np.abs(chroma(stylize_result_image(studio.store.run_dir(plain.run_id))) - content).mean()
    assert kept_error < 3 < plain_error


def test_a_loss_that_blows_up_stops_the_run_and_keeps_the_last_good_picture(studio):
    run = Run(studio, spec(iterations=6, snapshot_every=3, lr=1e20))
    records = drive(run)
    ended = records[-1]
    assert isinstance(ended, FitEnded) and ended.status == "failed"
    assert "the style-transfer loss became" in ended.message and "Lower [train] lr" in ended.message
    result = png(result_path(studio.store.run_dir(run.run_id)))
    content = np.asarray(content_at((40, 30)), dtype=np.int32)
    assert np.abs(result - content).max() <= 1  # the step that blew up is undone: the picture it started from


def test_vgg19_paints_with_a_users_weights_file(studio, tmp_path):
    import torchvision

    torch.manual_seed(0)
    path = tmp_path / "vgg19-features.pth"
    torch.save(torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"]).state_dict(), path)
    run = Run(studio, spec(features="vgg19", vgg_weights=str(path), size=32, iterations=2))
    records = drive(run)
    assert records[-1].status == "completed"
    assert run.spec.task.params["style_weight"] == 1.0  # the book's balance with its per-layer weights


def test_vgg19_without_weights_or_network_refuses_to_start_naming_the_file(studio, tmp_path, monkeypatch):
    import urllib.error

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    try:
        with pytest.raises(RunError, match=r"could not be set up: VGG-19's pretrained weights .* put "
                                           r"vgg19-dcbb9e9d\.pth in .*hub.checkpoints"):
            drive(Run(studio, spec(features="vgg19")))
    finally:
        torch.hub.set_dir(previous)


def test_bad_settings_are_refused_before_painting(studio):
    with pytest.raises(RunError, match="random-banks has no layer 'conv9_9'"):
        drive(Run(studio, spec(style_layers="conv9_9")))
    with pytest.raises(RunError, match=r"the style picture: .* does not exist"):
        drive(Run(studio, spec(style="/no/such/picture.png")))
    with pytest.raises(ValueError, match="style transfer has no parameter 'colour'"):
        make_spec("sample:landscape", "sample:mosaic", colour=True)
