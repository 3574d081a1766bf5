import pytest
import torch
from torch.utils.data import TensorDataset

from dlstudio_images.data import folder
from dlstudio_images.data.common import TransformedImages
from dlstudio_images.data.params import FOLDER_DEFAULTS
from tests.plugins.images.factory import make_folder, write_image


def _params(root, **kw):
    return {**FOLDER_DEFAULTS, "root": str(root), "size": 16, "normalize": "none", **kw}


def test_book_layout_train_and_valid_folders(tmp_path, ctx):
    root = make_folder(tmp_path / "dogsandcats", {"train": {"cat": 6, "dog": 5}, "valid": {"cat": 3, "dog": 2}})
    bundle = folder.load(_params(root), ctx)
    assert bundle.info.classes == ("cat", "dog")
    assert (len(bundle.train), len(bundle.valid)) == (11, 5)
    assert bundle.info.input_shape == (3, 16, 16)
    assert torch.bincount(bundle.valid.tensors[1]).tolist() == [3, 2]
    # the red class (cat) is redder than the green one (dog) after loading: labels follow the folders
    x, y = bundle.train.tensors
    assert x[y == 0, 0].mean() > x[y == 1, 0].mean()


def test_class_folders_are_split_stratified_seeded_with_the_chosen_holdout(tmp_path, ctx):
    root = make_folder(tmp_path / "flat", {"": {"a": 10, "b": 10, "c": 10}})
    bundle = folder.load(_params(root, holdout=0.3), ctx)
    assert len(bundle.valid) == 9 and len(bundle.train) == 21
    assert torch.bincount(bundle.valid.tensors[1]).tolist() == [3, 3, 3]
    again = folder.load(_params(root, holdout=0.3), ctx)
    assert torch.equal(bundle.valid.tensors[0], again.valid.tensors[0])


def test_large_folders_are_read_per_sample_with_the_same_result(tmp_path, ctx):
    root = make_folder(tmp_path / "flat", {"": {"a": 4, "b": 4}})
    small = folder.load(_params(root), ctx)
    big = folder.load(_params(root, in_memory_mb=0), ctx)
    assert isinstance(small.valid, TensorDataset)
    assert isinstance(big.valid, TransformedImages)
    for i in range(len(big.valid)):
        assert torch.allclose(big.valid[i][0], small.valid.tensors[0][i], atol=1e-6)


def test_unreadable_files_are_skipped_and_reported(tmp_path, ctx):
    root = make_folder(tmp_path / "data", {"train": {"cat": 4, "dog": 4}, "valid": {"cat": 2, "dog": 2}})
    (root / "train/cat/empty.jpg").write_bytes(b"")
    (root / "train/dog/notes.txt").write_text("not an image")
    good = (root / "train/dog/dog1.jpeg").read_bytes()
    (root / "train/dog/truncated.jpg").write_bytes(good[: len(good) // 3])
    png = write_image(root / "valid/cat/whole.png", (200, 0, 0))
    (root / "valid/cat/cut.png").write_bytes(png.read_bytes()[:60])
    bundle = folder.load(_params(root), ctx)
    assert (len(bundle.train), len(bundle.valid)) == (8, 5)
    report = " ".join(bundle.messages)
    assert "skipped 4 unreadable files" in report
    for name in ("empty.jpg: empty file", "notes.txt: not an image", "truncated.jpg", "cut.png"):
        assert name in report


def test_a_long_list_of_skipped_files_goes_to_a_file(tmp_path, ctx):
    root = make_folder(tmp_path / "data", {"": {"a": 4, "b": 4}})
    for i in range(folder.LISTED + 5):
        (root / "a" / f"bad{i}.png").write_bytes(b"junk")
    bundle = folder.load(_params(root), ctx)
    text = next(m for m in bundle.messages if m.startswith("skipped"))
    assert f"skipped {folder.LISTED + 5} unreadable files" in text and "5 more" in text
    listing = text.rsplit("listed in ", 1)[1]
    with open(listing) as fh:
        assert len(fh.read().splitlines()) == folder.LISTED + 5


@pytest.mark.parametrize(("layout", "message"), [
    ({"": {"cat": 4}}, "at least two classes"),
    ({"train": {"cat": 4, "dog": 4}, "valid": {"cat": 2}}, "'dog' is in .* but not in"),
    ({"train": {"cat": 4}, "valid": {"cat": 2, "dog": 2}}, "'dog' is in .*valid but not in"),
    ({"": {"cat": 4, "dog": 0}}, "'dog' has no readable training images"),
])
def test_bad_folders_are_refused_before_training(tmp_path, ctx, layout, message):
    root = make_folder(tmp_path / "bad", layout)
    for split, classes in layout.items():
        for cls in classes:
            (root / split / cls).mkdir(parents=True, exist_ok=True)
    with pytest.raises(ValueError, match=message):
        folder.load(_params(root), ctx)


def test_a_class_of_only_corrupt_files_is_an_empty_class(tmp_path, ctx):
    root = make_folder(tmp_path / "bad", {"": {"cat": 4}})
    (root / "dog").mkdir()
    (root / "dog" / "x.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match=r"'dog' has no readable training images .*1 unreadable"):
        folder.load(_params(root), ctx)


def test_missing_or_unset_folders_say_what_to_do(tmp_path, ctx):
    with pytest.raises(ValueError, match="choose the image folder"):
        folder.load(_params(""), ctx)
    with pytest.raises(ValueError, match="does not exist"):
        folder.load(_params(tmp_path / "nowhere"), ctx)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no class folders"):
        folder.load(_params(tmp_path / "empty"), ctx)


def test_a_bad_folder_fails_the_run_with_a_run_error(tmp_path, studio):
    from dlstudio.runner import Run, RunError
    from dlstudio.spec import RunSpec

    root = make_folder(tmp_path / "bad", {"": {"cat": 4}})
    spec = RunSpec.from_dict({"model": {"id": "images.mnist_net"},
                              "data": {"id": "images.folder", "params": {"root": str(root), "size": 28}}})
    with pytest.raises(RunError, match="at least two classes"):
        list(Run(studio, spec).records())
