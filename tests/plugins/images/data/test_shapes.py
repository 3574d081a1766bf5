import pytest
import torch

from dlstudio_images.data import shapes
from dlstudio_images.data.params import SHAPES_DEFAULTS


def test_shapes_are_seeded_colour_images_n_per_class(ctx):
    params = {**SHAPES_DEFAULTS, "size": 24, "per_class": 10, "num_classes": 3, "normalize": "none"}
    a = shapes.prepare(params, ctx)
    b = shapes.prepare(params, ctx)
    assert a.classes == ("circle", "square", "triangle")
    assert torch.equal(a.train.tensor, b.train.tensor)
    assert len(a.train) + len(a.valid) == 30
    assert a.train.tensor.shape[1:] == (3, 24, 24)
    other = shapes.prepare(params, type(ctx)(cache_dir=ctx.cache_dir, seed=5))
    assert not torch.equal(a.train.tensor, other.train.tensor)


def test_images_vary_in_background_and_shape_colour():
    images, _ = shapes.shape_images(per_class=8, num_classes=2, size=32, seed=0)
    corners = images.tensor[:, :, 0, 0].float()  # mostly background
    assert corners.std(0).min() > 20
    # not blank: each image has at least two distinct colours
    assert all(len(torch.unique(img.reshape(3, -1), dim=1)) > 2 for img in images.tensor)


def test_bad_parameters_are_refused(ctx):
    with pytest.raises(ValueError, match="per_class"):
        shapes.prepare({**SHAPES_DEFAULTS, "per_class": 1}, ctx)
