import pickle
import urllib.error

import pytest
import torch

from dlstudio_images.data import torchvision_sets as tvs
from dlstudio_images.data.params import TORCHVISION_SETS, torchvision_defaults
from tests.plugins.images.factory import write_cifar, write_mnist

MNIST, FASHION, CIFAR = (TORCHVISION_SETS[k] for k in ("mnist", "fashion_mnist", "cifar10"))


def _params(source, root, **kw):
    return {**torchvision_defaults(source), "root": str(root), "normalize": "none", **kw}


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_idx_files_written_in_its_format(tmp_path, ctx, gz):
    write_mnist(tmp_path, gz=gz)
    bundle = tvs.load(MNIST, _params(MNIST, tmp_path), ctx)
    assert (len(bundle.train), len(bundle.valid)) == (40, 20)
    assert bundle.info.input_shape == (1, 28, 28)
    assert bundle.info.classes[0].startswith("0")
    x, y = bundle.train.tensors
    assert y[:10].tolist() == list(range(10))
    # the bright bar written for label 3 is at rows 8-9
    assert x[3, 0, 8:10, 4:24].mean() > 0.9 and x[3, 0, 20:22].mean() < 0.3


def test_fashion_mnist_has_its_own_folder_and_classes(tmp_path, ctx):
    write_mnist(tmp_path, folder="FashionMNIST/raw")
    bundle = tvs.load(FASHION, _params(FASHION, tmp_path, limit_train=25), ctx)
    assert len(bundle.train) == 25
    assert "Ankle boot" in bundle.info.classes


def test_cifar10_reads_pickled_batches_safely(tmp_path, ctx):
    write_cifar(tmp_path)
    bundle = tvs.load(CIFAR, _params(CIFAR, tmp_path), ctx)
    assert (len(bundle.train), len(bundle.valid)) == (50, 10)
    assert bundle.info.input_shape == (3, 32, 32)
    assert bundle.info.classes[:2] == ("airplane", "automobile")
    raw = pickle.loads((tmp_path / "cifar-10-batches-py" / "data_batch_1").read_bytes())
    first = torch.from_numpy(raw["data"][0].reshape(3, 32, 32)).float() / 255
    assert torch.allclose(bundle.train.tensors[0][0], first, atol=1e-6)


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_cifar_batch_that_would_run_code_is_refused(tmp_path, ctx):
    folder = write_cifar(tmp_path)
    (folder / "data_batch_3").write_bytes(pickle.dumps({"data": _Evil(), "labels": []}))
    with pytest.raises(ValueError, match=r"refused builtins\.print"):
        tvs.load(CIFAR, _params(CIFAR, tmp_path), ctx)


@pytest.mark.parametrize("source", [MNIST, FASHION, CIFAR], ids=lambda s: s.id)
def test_offline_without_the_files_says_where_to_put_them(tmp_path, ctx, source):
    with pytest.raises(ValueError) as info:
        tvs.load(source, _params(source, tmp_path), ctx)
    text = str(info.value)
    assert str(tmp_path / source.folder) in text and "download" in text and source.files[0] in text


def test_download_failing_offline_is_a_clear_message(tmp_path, ctx, monkeypatch):
    import torchvision.datasets.utils as tv_utils

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(tv_utils, "download_url", offline)
    monkeypatch.setattr(tv_utils, "download_and_extract_archive", offline)
    import torchvision.datasets.mnist as tv_mnist

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", offline)
    with pytest.raises(ValueError, match=r"could not download MNIST .*put train-images-idx3-ubyte"):
        tvs.load(MNIST, _params(MNIST, tmp_path, download=True), ctx)


def test_root_defaults_to_the_cache_folder(tmp_path, ctx):
    write_mnist(ctx.cache_dir)
    bundle = tvs.load(MNIST, {**torchvision_defaults(MNIST)}, ctx)
    assert len(bundle.train) == 40
