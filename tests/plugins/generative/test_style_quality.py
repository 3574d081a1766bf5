"""What a user relies on from the offline default (random filter banks): the painting takes on the style's colours
while keeping the content's shapes. Measured with plain numpy, independently of the losses optimised: per-channel
colour statistics, and the correlation of edge maps."""

from __future__ import annotations

import numpy as np

import dlstudio_generative.plugin as generative_plugin
from dlstudio.contract import LoadContext
from dlstudio.runner import Run
from dlstudio.spec import RunSpec
from dlstudio_generative.style.data import load_style_pair
from dlstudio_generative.style.spec import style_spec, stylize_result_image


def colour_stats(rgb: np.ndarray) -> np.ndarray:
    """Mean and standard deviation of each channel: the palette, roughly."""
    return np.concatenate([rgb.mean(axis=(0, 1)), rgb.std(axis=(0, 1))])


def edges(rgb: np.ndarray) -> np.ndarray:
    """Gradient magnitude of the grey picture, by central differences."""
    grey = rgb.mean(axis=2)
    across, down = np.zeros_like(grey), np.zeros_like(grey)
    across[:, 1:-1] = grey[:, 2:] - grey[:, :-2]
    down[1:-1] = grey[2:] - grey[:-2]
    return np.hypot(across, down)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])




def test_the_result_takes_the_styles_colours_and_keeps_the_contents_edges(make_studio, one_thread, tmp_path):
    studio = make_studio(("generative", generative_plugin))
    content_ref, style_ref = "sample:skyline", "sample:mosaic"
    run = Run(studio, RunSpec.from_dict(style_spec(content_ref, style_ref, size=48, iterations=20,
                                                   snapshot_every=10, device="cpu")))
    assert list(run.records())[-1].status == "completed"

    result = np.asarray(stylize_result_image(studio.store.run_dir(run.run_id)), dtype=float) / 255
    pair = load_style_pair({"content": content_ref, "style": style_ref, "size": 48}, LoadContext(cache_dir=tmp_path))
    content, style = (t.permute(1, 2, 0).numpy().astype(float) for t in pair.train[0])
    assert result.shape == content.shape

    before = np.linalg.norm(colour_stats(content) - colour_stats(style))
    after = np.linalg.norm(colour_stats(result) - colour_stats(style))
    assert after < 0.6 * before  # the palette moved most of the way to the style's

    style_as_content = style[: content.shape[0], : content.shape[1]]
    assert abs(correlation(edges(style_as_content), edges(content))) < 0.2  # unrelated pictures: no correlation
    assert correlation(edges(result), edges(content)) > 0.5  # the skyline's edges are still there
