"""Feature visualisation on a trained digits CNN (issue 13): the optimised image for class k must be what the
model itself calls a k — its own softmax, the independent reference — far more than random noise is, and it
must be an image with structure, not a flat grey field."""

import numpy as np
import pytest
import torch

from dlstudio.contract import DataInfo
from dlstudio_inspector.featvis import run_to_end
from tests.plugins.inspector.trained_digits import train_digits


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A digits CNN trained through the real runner, with the data description it was trained on."""
    result = train_digits(tmp_path_factory.mktemp("home"))
    model = result.model.eval()
    return model, result


def _softmax(model, x):
    with torch.no_grad():
        return torch.softmax(model(x), dim=1)  # log-probabilities in, probabilities out


def test_the_image_for_each_class_is_that_class_to_the_model_and_not_flat(digits):
    model, result = digits
    data = DataInfo(input_shape=(1, 28, 28), classes=tuple(str(d) for d in range(10)), extra=result.extra)
    mean, std = float(data.extra["mean"][0]), float(data.extra["std"][0])
    rng = torch.Generator().manual_seed(1)
    noise = (torch.rand(16, 1, 28, 28, generator=rng) - mean) / std  # uniform pixels in [0, 1], normalised
    noise_p = _softmax(model, noise)
    torch.set_num_threads(1)
    for k in range(10):
        frames, final = run_to_end(model, "fc2", k, data=data, steps=96, every=32, lr=0.05)
        p = _softmax(model, final.input)[0]
        assert int(p.argmax()) == k, f"class {k}: the model calls the image a {int(p.argmax())} ({p.numpy().round(2)})"
        assert p[k] > 0.9 and p[k] > noise_p[:, k].mean() + 0.5, (k, float(p[k]), float(noise_p[:, k].mean()))
        start = run_to_end(model, "fc2", k, data=data, steps=1, every=1, lr=0.0)[1]
        # The optimisation starts from a near-flat image (spectrum of sd 0.01): the noise floor.
        assert final.image.std() > 0.1 and final.image.std() > 10 * start.image.std(), (k, final.image.std())
        assert frames[-1].activation > frames[0].activation


def _roughness(image):
    """Mean jump between neighbouring pixels relative to the image's contrast: high for pixel noise."""
    jumps = np.abs(np.diff(image, axis=0)).mean() + np.abs(np.diff(image, axis=1)).mean()
    return jumps / (image.std() + 1e-8)


def test_the_regularised_image_is_smoother_than_plain_pixel_ascent(digits):
    """What makes it readable: the Fourier parameterisation and random transforms remove the pixel noise that
    plain gradient ascent on the pixels leaves (the reference: the same optimiser without them)."""
    model, result = digits
    data = DataInfo(input_shape=(1, 28, 28), extra=result.extra)
    torch.set_num_threads(1)
    for k in (0, 3, 7):
        regularised = run_to_end(model, "fc2", k, data=data, steps=96, every=96)[1]
        plain = run_to_end(model, "fc2", k, data=data, steps=96, every=96, fourier=False, jitter=0, scale=0,
                           degrees=0)[1]
        assert _roughness(regularised.image) < 0.75 * _roughness(plain.image), k
