"""What the DCGAN part registers through the contract: the book's DCGAN and the digits scorer, four image
sources, the ``gan`` task, and the callbacks that draw sample grids and score samples.

Registering imports no torch: builders, loaders and factories import their modules when called, and the
parameter counts in the DCGAN's description are arithmetic (:func:`dcgan_parameter_counts`; a test checks them
against the built networks).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dlstudio.contract import (
    CallbackSpec,
    DataInfo,
    DatasetSpec,
    LoadContext,
    MetricSpec,
    ModelSpec,
    RunContext,
    TaskSpec,
)
from dlstudio.params import Param

FAMILY = "generative"
GAN = ("gan",)
IMAGE_SIZE = Param(32, choices=[32, 64], unit="px", help="Side of the square pictures (the DCGAN is built for 32 "
                                                          "or 64 px; the book uses 64 on CIFAR-10).")
DIGITS_DATA = DataInfo((1, 32, 32), tuple(str(d) for d in range(10)), "image", {"value_range": [-1.0, 1.0]})


# -- models ---------------------------------------------------------------------------------------------
DCGAN_PARAMS = {
    "latent": Param(100, minimum=1, maximum=1024, help="Length of the noise vector the generator turns into a "
                                                       "picture (the book: 100)."),
    "width": Param(32, minimum=4, maximum=512, help="Channels of the generator's last hidden layer and the "
                                                    "discriminator's first; the others are 2, 4 and 8 times it. "
                                                    "The book: 64; 32 trains the digits on a CPU in ~2 s an epoch."),
}
SCORER_PARAMS = {
    "width": Param(16, minimum=4, maximum=256, help="Filters of the first convolution (then 2× and 4×)."),
}


def dcgan_parameter_counts(latent: int, width: int, channels: int, image_size: int) -> dict[str, int]:
    """Parameters of the generator and discriminator, counted without building them (bias-free convolutions,
    BatchNorm's weight and bias)."""
    doublings = {32: 3, 64: 4}[image_size]
    widths = [width * 2 ** i for i in reversed(range(doublings))]  # generator: widest first
    generator = latent * widths[0] * 16 + 2 * widths[0]
    generator += sum(a * b * 16 + 2 * b for a, b in itertools.pairwise(widths))
    generator += widths[-1] * channels * 16
    rising = widths[::-1]
    discriminator = channels * rising[0] * 16
    discriminator += sum(a * b * 16 + 2 * b for a, b in itertools.pairwise(rising))
    discriminator += rising[-1] * 16
    return {"generator": generator, "discriminator": discriminator}


def _dcgan_description() -> str:
    ours = dcgan_parameter_counts(100, 32, 1, 32)
    book = dcgan_parameter_counts(100, 64, 3, 64)
    return ("Chapter 7's DCGAN: a generator of transposed convolutions (4×4 kernels, BatchNorm + ReLU, Tanh out) "
            "and a discriminator of strided convolutions (LeakyReLU 0.2, BatchNorm), weights N(0, 0.02). Both "
            "networks are one model and are checkpointed together. With the defaults on 32×32 digits: generator "
            f"{ours['generator']:,} and discriminator {ours['discriminator']:,} parameters; the book's (width 64, "
            f"64×64 RGB): {book['generator']:,} and {book['discriminator']:,}.")


def _build_dcgan(params: Mapping[str, Any], info: DataInfo) -> Any:
    from dlstudio_generative.gan.models import build_dcgan

    return build_dcgan(params, info)


def _build_scorer(params: Mapping[str, Any], info: DataInfo) -> Any:
    from dlstudio_generative.gan.models import build_digits_scorer

    return build_digits_scorer(params, info)


def model_specs() -> list[ModelSpec]:
    return [
        ModelSpec(id="generative.dcgan", title="DCGAN (book)", build=_build_dcgan, family=FAMILY, tasks=GAN,
                  defaults=DCGAN_PARAMS, description=_dcgan_description(), default_data=DIGITS_DATA),
        ModelSpec(id="generative.digits-scorer", title="Digits scorer (small CNN)", build=_build_scorer,
                  family=FAMILY, tasks=("classification",), defaults=SCORER_PARAMS, default_data=DIGITS_DATA,
                  description="A small CNN (three conv-BN-ReLU-pool blocks) for 32×32 digits. Train it on "
                              "generative.digits (classification, ~99% in a few epochs), then give its run to a "
                              "digits GAN's scorer_run: each epoch's samples get a score and a class coverage."),
    ]


# -- datasets -------------------------------------------------------------------------------------------
def _loader(name: str):
    def load(params: Mapping[str, Any], ctx: LoadContext) -> Any:
        from dlstudio_generative.gan import data

        return getattr(data, name)(params, ctx)

    load.__name__ = name
    return load


CIFAR_CLASSES = ["all", "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def dataset_specs() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            id="generative.digits", title="Digits 32×32 (scikit-learn, offline)", load=_loader("load_digits"),
            family=FAMILY, tasks=("gan", "classification"),
            defaults={"size": IMAGE_SIZE,
                      "valid_fraction": Param(0.15, minimum=0.05, maximum=0.5,
                                              help="Share held out for validation when a classifier (the "
                                                   "scorer) trains on it; a GAN uses every picture."),
                      "split_seed": Param(0, help="Seed of the classifier's train/validation split.")},
            description="scikit-learn's 1,797 handwritten digits (8×8, shipped with it: no download), up-scaled "
                        "bilinearly to 32×32, in [-1, 1]. A DCGAN of width 32 makes digit-like samples in about "
                        "60 epochs of ~2 s on a CPU. With labels, for the digits scorer.",
        ),
        DatasetSpec(
            id="generative.shapes", title="Shapes on a plain background (offline)", load=_loader("load_shapes"),
            family=FAMILY, tasks=GAN,
            defaults={"size": IMAGE_SIZE,
                      "count": Param(2000, minimum=64, maximum=100_000, help="Pictures generated."),
                      "background": Param("#202020", help="The one background colour of every picture (#rrggbb "
                                                         "or a name). Keep it fixed: with random backgrounds the "
                                                         "discriminator wins and the generator collapses."),
                      "shapes_per_image": Param(1, minimum=1, maximum=4, help="Shapes drawn in each picture."),
                      "generator_seed": Param(0, help="Seed of the drawing (the same seed, the same pictures).")},
            description="Circles, squares and triangles in bright random colours, sizes and places, drawn on one "
                        "fixed background colour. A fixed background matters: with random ones the "
                        "discriminator wins early and the generator collapses to one picture.",
        ),
        DatasetSpec(
            id="generative.image-folder", title="Folder of pictures", load=_loader("load_folder"),
            family=FAMILY, tasks=GAN,
            defaults={"root": Param("", kind="folder", help="The folder of pictures (sub-folders too; class "
                                                            "folders are ignored)."),
                      "size": IMAGE_SIZE,
                      "colour": Param("rgb", choices=["rgb", "greyscale"], help="Train on colour or grey pictures."),
                      "limit": Param(0, minimum=0, help="Use at most this many pictures (0: all).")},
            description="Every picture in a folder, scaled so its shorter side is the size and cropped to the "
                        "centre square. Files that are not pictures or cannot be read are skipped and listed in "
                        "the run log; a folder with fewer pictures than one batch is refused.",
        ),
        DatasetSpec(
            id="generative.cifar10", title="CIFAR-10 (book, download)", load=_loader("load_cifar10"),
            family=FAMILY, tasks=GAN,
            defaults={"size": Param(64, choices=[32, 64], unit="px", help="32: CIFAR's own size; 64: the book's "
                                                                          "(up-scaled bilinearly)."),
                      "download": Param(False, help="Download cifar-10-python.tar.gz (163 MB) if it is not in the "
                                                    "data cache."),
                      "only_class": Param("all", choices=CIFAR_CLASSES,
                                          help="Train on one class only (one kind of picture is learned much "
                                               "sooner than all ten)."),
                      "limit": Param(0, minimum=0, help="Use at most this many pictures (0: all 50,000 or 5,000).")},
            description="The book's data: CIFAR-10's 50,000 training pictures (torchvision). Offline, put "
                        "cifar-10-python.tar.gz in the dataset's cache folder (the message says which).",
        ),
    ]


# -- task -----------------------------------------------------------------------------------------------
GAN_TASK_PARAMS = {
    "beta1": Param(0.5, minimum=0.0, maximum=0.999,
                   help="Adam's first-moment decay for both optimisers ([train] has no betas). The book and the "
                        "DCGAN paper: 0.5; torch's default 0.9 makes the two networks oscillate."),
    "grid_every": Param(0, minimum=0, unit="batches",
                        help="Also draw the sample grid every this many batches (0: after each epoch only). Each "
                             "grid costs one generator pass of 64 samples."),
    "scorer_run": Param("", help="The id of a finished generative.digits-scorer run (classification on "
                                 "generative.digits): each epoch scores 512 samples (sample_score, "
                                 "sample_coverage) and warns on mode collapse. Empty: no score."),
}


def _create_gan(ctx: Any) -> Any:
    from dlstudio_generative.gan.task import GanTask

    return GanTask(ctx)


def task_specs() -> list[TaskSpec]:
    return [
        TaskSpec(
            id="gan", title="GAN (generator against discriminator)", create=_create_gan, defaults=GAN_TASK_PARAMS,
            description="The book's DCGAN training: two optimisers (the spec's, with beta1; the book: Adam, "
                        "lr 0.0002, beta1 0.5), each with its own schedule. Each batch: the discriminator on "
                        "real pictures (label 1) and on the generator's (label 0), then the generator to make "
                        "the discriminator say 1. Binary cross-entropy on logits.",
            metrics=(
                MetricSpec("d_loss", "Discriminator loss", "", group="losses"),
                MetricSpec("g_loss", "Generator loss", "", group="losses"),
                MetricSpec("d_real", "D(x), real pictures", "", group="d"),
                MetricSpec("d_fake", "D(G(z)), generated", "", group="d"),
                MetricSpec("loss", "D + G loss", "", plot=False),
                MetricSpec("sample_score", "Sample score (digits)", "max", group="quality"),
                MetricSpec("sample_coverage", "Digits covered", "max", group="coverage"),
                MetricSpec("sample_top_share", "Share of the commonest digit", "min", group="coverage",
                           plot=False),
                MetricSpec("sample_collapsed", "Mode collapse (1: warned)", "min", group="coverage", plot=False),
            ),
        ),
    ]


# -- callbacks ------------------------------------------------------------------------------------------
def _spec_seed(run: RunContext) -> int:
    return int((run.spec.get("run") or {}).get("seed", 0))


def _sample_grid(run: RunContext) -> Any:
    from dlstudio_generative.gan.grids import SampleGrid

    return SampleGrid(run.run_dir, _spec_seed(run))


def _sample_score(run: RunContext) -> Any:
    scorer_run = str(((run.spec.get("task") or {}).get("params") or {}).get("scorer_run", "")).strip()
    if not scorer_run:
        return None
    from dlstudio_generative.gan.quality import ScoreSamples, load_scorer, load_scorer_file

    if scorer_run.endswith(".safetensors"):
        scorer = load_scorer_file(Path(scorer_run))
    elif run.studio is None:
        raise ValueError("scorer_run names a run, and this run was started without a studio to find it in: "
                         "give the scorer's .safetensors file instead")
    else:
        from dlstudio import runs

        try:
            scorer = load_scorer(run.studio, scorer_run)
        except runs.RunNotFound:
            raise ValueError(f"scorer_run {scorer_run!r}: there is no such run; give the id of a finished "
                             "generative.digits-scorer run on generative.digits (see dlstudio runs)") from None
    return ScoreSamples(scorer, _spec_seed(run))


def callback_specs() -> list[CallbackSpec]:
    return [
        CallbackSpec(id="generative.sample-grid", title="Sample grid each epoch", create=_sample_grid, tasks=GAN,
                     always=True,
                     description="A fixed batch of 64 noise vectors (seeded by the run) through the generator: "
                                 "samples/epoch_NNNN.png after each epoch, and samples/step_NNNNNN.png every "
                                 "[task.params] grid_every batches."),
        CallbackSpec(id="generative.sample-score", title="Score the samples (digits)", create=_sample_score,
                     tasks=GAN, always=True,
                     description="When [task.params] scorer_run names a digits-scorer run: 512 samples scored "
                                 "each epoch (sample_score, sample_coverage), a warning on mode collapse."),
    ]
