"""The GAN's data: digits up-scaled with their labels, shapes on one background, a folder with bad files and
too few pictures, and CIFAR-10's offline message."""

from __future__ import annotations

import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image

from dlstudio.contract import LoadContext
from dlstudio.params import param_defaults
from dlstudio_generative.gan.catalog import dataset_specs


def load(dataset_id, ctx=None, **params):
    spec = next(s for s in dataset_specs() if s.id == dataset_id)
    return spec.load({**param_defaults(spec.defaults), **params}, ctx or LoadContext(cache_dir="/nonexistent",
                                                                                    task="gan"))


def test_digits_are_sklearns_upscaled_to_32_in_minus_one_to_one_with_their_labels():
    from sklearn.datasets import load_digits

    reference = load_digits()
    bundle = load("generative.digits")
    images, labels = bundle.train.tensors
    assert images.shape == (1797, 1, 32, 32) and bundle.info.input_shape == (1, 32, 32)
    assert images.min() == -1.0 and images.max() <= 1.0 and images.max() > 0.99
    assert torch.equal(labels, torch.from_numpy(reference.target))
    assert bundle.info.classes == tuple("0123456789") and bundle.valid is None
    # The same as PIL's bilinear up-scaling of each 8×8 original (0..16), mapped to [-1, 1].
    for i in (0, 1, 100, 1796):
        small = Image.fromarray(reference.images[i].astype(np.float32) / 16, "F")
        expected = np.asarray(small.resize((32, 32), Image.Resampling.BILINEAR)) * 2 - 1
        assert np.abs(images[i, 0].numpy() - expected).max() < 1e-5


def test_digits_for_the_scorer_are_split_into_disjoint_train_and_validation():
    bundle = load("generative.digits", LoadContext(cache_dir="/nonexistent", task="classification"),
                  valid_fraction=0.2)
    train, valid = bundle.train.tensors[0], bundle.valid.tensors[0]
    assert len(train) + len(valid) == 1797 and len(valid) == round(1797 * 0.2)
    rows = {tuple(x.flatten().tolist()) for x in train[:, :, ::4, ::4]}
    assert sum(tuple(x.flatten().tolist()) in rows for x in valid[:, :, ::4, ::4]) < 10  # (a few true duplicates)


def test_shapes_keep_one_background_and_vary_the_shapes():
    bundle = load("generative.shapes", count=64, background="#102030")
    images = bundle.train.tensors[0]
    assert images.shape == (64, 3, 32, 32) and images.min() >= -1 and images.max() <= 1
    pixels = ((images + 1) * 127.5).round().to(torch.int64)
    border = torch.cat([pixels[:, :, 0], pixels[:, :, -1], pixels[:, :, :, 0], pixels[:, :, :, -1]], dim=2)
    assert (border.median(dim=2).values - torch.tensor([16, 32, 48])).abs().max() <= 1
    centres = pixels[:, :, 12:20, 12:20].float().mean(dim=(2, 3))
    assert centres.std(dim=0).min() > 20  # the shapes' colours differ from picture to picture
    assert set(bundle.train.tensors[1].tolist()) == {0, 1, 2}


def test_shapes_refuse_a_background_that_is_not_a_colour():
    with pytest.raises(ValueError, match="not a colour"):
        load("generative.shapes", count=64, background="sky-ish")


def write_pictures(folder, count):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):  # greyscale, transparent and palette pictures too, in class sub-folders
        mode = ("RGB", "L", "RGBA", "P")[i % 4]
        picture = Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).convert(mode)
        sub = folder / ("class_a" if i % 2 else "class_b")
        sub.mkdir(exist_ok=True)
        picture.save(sub / f"p{i}.png")


def test_a_folder_reads_pictures_in_subfolders_and_lists_the_files_it_skipped(tmp_path):
    write_pictures(tmp_path / "pics", 6)
    (tmp_path / "pics" / "notes.txt").write_text("not a picture")
    (tmp_path / "pics" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    ctx = LoadContext(cache_dir=tmp_path, task="gan", batch_size=4)
    bundle = load("generative.image-folder", ctx, root=str(tmp_path / "pics"), size=32)
    assert len(bundle.train) == 6
    image, _ = bundle.train[0]
    assert image.shape == (3, 32, 32) and image.min() >= -1 and image.max() <= 1
    skipped = next(m for m in bundle.messages if m.startswith("skipped"))
    assert "broken.png" in skipped and "notes.txt" in skipped and "2 file(s)" in skipped
    grey = load("generative.image-folder", ctx, root=str(tmp_path / "pics"), size=64, colour="greyscale")
    assert grey.info.input_shape == (1, 64, 64) and grey.train[0][0].shape == (1, 64, 64)


def test_a_folder_with_fewer_pictures_than_a_batch_is_refused_with_what_to_do(tmp_path):
    write_pictures(tmp_path / "few", 3)
    ctx = LoadContext(cache_dir=tmp_path, task="gan", batch_size=64)
    with pytest.raises(ValueError, match=r"3 usable picture\(s\), fewer than one batch of 64.*batch_size to 3"):
        load("generative.image-folder", ctx, root=str(tmp_path / "few"))
    with pytest.raises(ValueError, match="is not a folder"):
        load("generative.image-folder", ctx, root=str(tmp_path / "missing"))


def test_cifar_offline_names_the_archive_its_url_and_the_folder(tmp_path, monkeypatch):
    ctx = LoadContext(cache_dir=tmp_path / "cache", task="gan")
    with pytest.raises(ValueError) as refused:  # not asked to download: no network at all
        load("generative.cifar10", ctx)
    message = str(refused.value)
    assert "cifar-10-python.tar.gz" in message and str(tmp_path / "cache") in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in message

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)  # what torchvision downloads with
    with pytest.raises(ValueError, match=r"name resolution.*cifar-10-python\.tar\.gz in .*cache"):
        load("generative.cifar10", ctx, download=True)


def test_eight_bit_pictures_become_floats_and_are_resized_when_asked():
    from dlstudio_generative.gan.data import Uint8Images

    pixels = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
    pixels[0] = 255
    pixels[1, :, :, 16:] = 255  # left half black, right half white
    images = Uint8Images(pixels, torch.tensor([4, 7]), 64)
    white, label = images[0]
    assert white.shape == (3, 64, 64) and torch.equal(white, torch.ones(3, 64, 64)) and label == 4
    halves, _ = images[1]
    assert (halves[:, :, :31] == -1).all() and (halves[:, :, 33:] == 1).all()  # the edge stays where it was
