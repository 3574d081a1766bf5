import pytest
import torch

from dlstudio_images.data.common import (
    Images,
    TransformedImages,
    make_pipeline,
    prepare_images,
    split_indices,
    to_display,
)
from dlstudio_images.data.params import TRANSFORM_DEFAULTS


def _images(n_per_class=10, classes=3, size=8, channels=3):
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(classes).repeat_interleave(n_per_class)
    pixels = torch.randint(0, 256, (len(labels), channels, size, size), dtype=torch.uint8, generator=g)
    return Images(labels, tensor=pixels)


def test_kfold_indices_cover_every_sample_exactly_once_and_are_stratified():
    labels = torch.arange(4).repeat_interleave(15)
    seen = []
    for fold in range(5):
        train, valid = split_indices(labels, holdout=0.2, folds=5, fold=fold, seed=3)
        assert not set(train) & set(valid)
        assert len(train) + len(valid) == 60
        assert torch.bincount(labels[valid], minlength=4).tolist() == [3, 3, 3, 3]
        seen += valid
    assert sorted(seen) == list(range(60))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"folds": 1, "fold": 0}, "at least 2"),
    ({"folds": 3, "fold": 3}, "between 0 and 2"),
    ({"folds": 20, "fold": 0}, "images per class"),
    ({"holdout": 1.5}, "fraction"),
])
def test_bad_split_parameters_are_refused_clearly(kwargs, message):
    labels = torch.arange(3).repeat_interleave(10)
    args = {"holdout": 0.2, "folds": 0, "fold": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        split_indices(labels, seed=0, **args)


def test_augmentation_makes_random_variants_of_the_training_images_only():
    params = {**TRANSFORM_DEFAULTS, "size": 16, "hflip": True, "rotation": 30.0, "color_jitter": 0.4,
              "random_resized_crop": True, "normalize": "none"}
    prepared = prepare_images(_images(), None, ["a", "b", "c"], {**params, "holdout": 0.2}, seed=0)
    from dlstudio_images.data.common import build_bundle

    bundle = build_bundle(prepared)
    assert isinstance(bundle.train, TransformedImages)
    torch.manual_seed(0)
    first = bundle.train[0][0]
    different = any(not torch.equal(first, bundle.train[0][0]) for _ in range(5))
    assert different and first.shape == (3, 16, 16)
    # validation images are never augmented: one tensor, the same every time
    assert torch.equal(bundle.valid[0][0], bundle.valid[0][0])


def test_channels_are_converted_and_imagenet_needs_three():
    params = {**TRANSFORM_DEFAULTS, "size": 8, "channels": 3, "normalize": "imagenet"}
    pipeline = make_pipeline(params, native_channels=1)
    out = pipeline.eval_transform()(torch.zeros(1, 8, 8, dtype=torch.uint8))
    assert out.shape == (3, 8, 8)
    with pytest.raises(ValueError, match="3-channel"):
        make_pipeline({**params, "channels": 1}, native_channels=1)
    with pytest.raises(ValueError, match="one per channel"):
        make_pipeline({**params, "normalize": "custom", "mean": [0.5], "std": [0.5]}, native_channels=3)


def test_to_display_undoes_the_normalisation():
    params = {**TRANSFORM_DEFAULTS, "size": 8, "channels": 3, "normalize": "imagenet"}
    pipeline = make_pipeline(params, native_channels=3)
    raw = torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8)
    shown = to_display(pipeline.eval_transform()(raw), pipeline.describe())
    assert shown.shape == (8, 8, 3)
    assert (shown.permute(2, 0, 1).int() - raw.int()).abs().max() <= 1


def test_fewer_than_two_classes_or_an_empty_class_is_refused():
    images = _images(classes=2)
    with pytest.raises(ValueError, match="at least two classes"):
        prepare_images(Images(torch.zeros(5, dtype=torch.long), tensor=images.tensor[:5]), None, ["only"],
                       {**TRANSFORM_DEFAULTS, "holdout": 0.2}, 0)
    with pytest.raises(ValueError, match="class 'c' has no training images"):
        prepare_images(images, None, ["a", "b", "c"], {**TRANSFORM_DEFAULTS, "holdout": 0.2}, 0)
