"""What the style-transfer part registers through the contract: the canvas (the run's "model"), the picture pair
(its "dataset"), the L-BFGS task and the snapshots callback.

Describing them imports no torch: builders, loaders and factories import their modules when called.
"""

from __future__ import annotations

from typing import Any

from dlstudio.contract import CallbackSpec, DatasetSpec, MetricSpec, ModelSpec, RunContext, TaskSpec
from dlstudio.params import Param
from dlstudio_generative.images import IMAGE_FILTER
from dlstudio_generative.style.layers import FEATURES

FAMILY = "generative"
TASK = "style-transfer"
WEIGHTS_FILTER = "PyTorch weights (*.pth *.pt *.safetensors);;All files (*)"

TASK_PARAMS: dict[str, Param] = {
    "features": Param("random-banks", choices=list(FEATURES), title="Feature network",
                      help="The frozen network that sees content and style. random-banks: banks of random filters "
                           "(7 kernel sizes × 64), offline, in seconds; it carries over colours and blob-like "
                           "textures, not brush strokes. vgg19: the book's pretrained VGG-19 (a 548 MB download, "
                           "or the file below)."),
    "vgg_weights": Param("", kind="file", file_filter=WEIGHTS_FILTER, title="VGG-19 weights",
                         help="A file of torchvision's VGG-19 weights (vgg19-dcbb9e9d.pth, or its features' state "
                              "dict). Empty: torch's cache, else the download."),
    "content_layer": Param("", title="Content layers",
                           help="Layers whose responses the picture must keep, comma-separated. Empty: conv4_2 "
                                "for VGG-19 (the book), bank3 for the random banks."),
    "style_layers": Param("", title="Style layers",
                          help="Layers whose Gram matrices (textures) are copied, comma-separated. Empty: "
                               "conv1_1, conv2_1, conv3_1, conv4_1, conv5_1 for VGG-19 (the book); all seven "
                               "banks (bank3 … bank37) for the random banks."),
    "content_weight": Param(1.0, minimum=0.0, help="How much keeping the content counts."),
    "style_weight": Param(30.0, minimum=0.0,
                          help="How much copying the style counts. The random banks' style loss is relative "
                               "(each layer's error over the style's own): 30 balances it. VGG-19 uses the book's "
                               "per-layer weights (1000 / channels²): there 1 is the book's balance."),
    "tv_weight": Param(0.0, minimum=0.0, title="Total variation weight",
                       help="Smoothness: penalises differences between neighbouring pixels (speckle). 0: off."),
    "init": Param("content", choices=["content", "noise"], title="Start from",
                  help="The picture the painting starts from: the content (the book), or random noise."),
    "keep_colors": Param(False, title="Keep the content's colours",
                         help="Show and save the result with the content's colours and the painting's light and "
                              "texture (luminance-only transfer)."),
    "snapshot_every": Param(5, minimum=1, unit="iterations", title="Snapshot every",
                            help="How often the picture is saved for the live view and the strip of snapshots "
                                 "(a few milliseconds each). Metrics and checkpoints come every [train] "
                                 "eval_every iterations."),
    "seed": Param(0, minimum=0, help="Seed of the random filters and of a noise start: the same seed paints the "
                                     "same picture."),
}

DATA_PARAMS: dict[str, Param] = {
    "content": Param("sample:landscape", kind="file", file_filter=IMAGE_FILTER, title="Content picture",
                     help="The picture to repaint: a file, or a bundled sample as sample:<name> (landscape, "
                          "still-life, skyline)."),
    "style": Param("sample:night-swirls", kind="file", file_filter=IMAGE_FILTER, title="Style picture",
                   help="The picture whose colours and textures are copied: a file, or a sample "
                        "(night-swirls, mosaic, warm-waves, ink-hatching)."),
    "size": Param(128, minimum=32, maximum=2048, unit="px",
                  help="The longest side of the painting (the content is scaled to it; the style to the same "
                       "scale). 100 iterations at 128 px take 10–20 s on a 2-core CPU; time grows with the pixels."),
}


def _pair(params: Any, ctx: Any) -> Any:
    from dlstudio_generative.style.data import load_style_pair

    return load_style_pair(params, ctx)


def _canvas(params: Any, info: Any) -> Any:
    from dlstudio_generative.style.task import build_canvas

    return build_canvas(params, info)


def _task(ctx: Any) -> Any:
    from dlstudio_generative.style.task import StyleTransferTask

    return StyleTransferTask(ctx)


def _snapshots(run: RunContext) -> Any:
    from dlstudio_generative.style import snapshots

    return snapshots.create_snapshots(run)


def model_specs() -> list[ModelSpec]:
    return [ModelSpec(
        id="generative.canvas", title="Canvas (the picture being painted)", build=_canvas, family=FAMILY,
        tasks=(TASK,),
        description="No network: the picture itself is the only parameter, the size of the content picture. A "
                    "checkpoint holds the picture and nothing else.")]


def dataset_specs() -> list[DatasetSpec]:
    return [DatasetSpec(
        id="generative.style-pair", title="Content and style pictures", load=_pair, family=FAMILY, tasks=(TASK,),
        defaults=DATA_PARAMS,
        description="One content picture and one style picture (files, or the bundled samples), scaled to the "
                    "painting's size.")]


def task_specs() -> list[TaskSpec]:
    return [TaskSpec(
        id=TASK, title="Neural style transfer", create=_task, defaults=TASK_PARAMS,
        description="Paints the canvas with [train] optimizer = lbfgs as the book does (Gatys et al.; chapter "
                    "7): each step is one L-BFGS iteration, [train] steps the iterations, [train] lr its step "
                    "size; adam works too (lr ~0.02, more steps). Content loss on a deep layer's responses, "
                    "style loss on Gram matrices, optional total variation. Nothing is monitored: a stopped run "
                    "keeps its current picture.",
        metrics=(MetricSpec("loss", "Total loss", "min", group="losses"),
                 MetricSpec("content", "Content loss (weighted)", "min", group="losses"),
                 MetricSpec("style", "Style loss (weighted)", "min", group="losses"),
                 MetricSpec("tv", "Total variation (weighted)", "min", group="losses")))]


def callback_specs() -> list[CallbackSpec]:
    return [CallbackSpec(
        id="generative.snapshots", title="Painting snapshots", create=_snapshots, tasks=(TASK,), always=True,
        description="Saves the picture every [task.params] snapshot_every iterations and at each period's end "
                    "(snapshots/step_000010.png in the run's folder), and as the run ends, however it ends "
                    "(result.png).")]
