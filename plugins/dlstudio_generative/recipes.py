"""Ready-made generative runs: the book's (chapter 7: style transfer with VGG-19, a DCGAN on CIFAR-10) with its
settings, and offline stand-ins that work out of the box on a 2-core CPU (random filter banks instead of VGG-19;
scikit-learn's digits and generated shapes instead of CIFAR-10)."""

from __future__ import annotations

from typing import Any

from dlstudio.contract import RecipeSpec

FAMILY = "generative"

VGG_NOTE = (
    "VGG-19's ImageNet weights (vgg19-dcbb9e9d.pth, 548 MB, from https://download.pytorch.org/models/): they "
    "download on first use when online; offline, put the file in torch's checkpoint folder (~/.cache/torch/hub/"
    "checkpoints/, or $TORCH_HOME/hub/checkpoints/) or set task.params.vgg_weights to where it is. Offline, "
    "'style-random-filters' paints with random filter banks instead."
)
CIFAR_NOTE = (
    "CIFAR-10 (cifar-10-python.tar.gz, 163 MB, from https://www.cs.toronto.edu/~kriz/): switch the dataset's "
    "'download' on (needs internet), or put the archive where the offline message says. Offline, "
    "'digits-dcgan' trains the same networks on scikit-learn's digits."
)

#: The book's optimiser for both networks: Adam, lr 0.0002, betas (0.5, 0.999) (beta1 is the task's).
BOOK_ADAM = {"optimizer": "adam", "lr": 0.0002}


def _gan(model: dict[str, Any], data: str, data_params: dict[str, Any], *, epochs: int, batch_size: int = 64,
         task_params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"run": {"task": "gan"}, "model": {"id": "generative.dcgan", "params": model},
            "data": {"id": data, "params": data_params},
            "task": {"params": {"beta1": 0.5, **(task_params or {})}},
            "train": {"epochs": epochs, "batch_size": batch_size, **BOOK_ADAM}}


def gan_recipes() -> list[RecipeSpec]:
    r = RecipeSpec
    return [
        r("book-cifar10-dcgan", "DCGAN on CIFAR-10 at 64×64 (book ch. 7)", family=FAMILY,
          spec=_gan({"latent": 100, "width": 64}, "generative.cifar10", {"size": 64}, epochs=25),
          description="The book's DCGAN: latent 100, generator 100→512→256→128→64→3 and discriminator "
                      "3→64→128→256→512→1 (kernel 4, BatchNorm, ReLU / LeakyReLU 0.2, Tanh / Sigmoid), N(0, 0.02) "
                      "init, binary cross-entropy, Adam lr 0.0002 betas (0.5, 0.999), batch 64; a grid of "
                      "samples from fixed noise after each epoch.",
          reported_result="the book shows sample grids that look like blurry CIFAR-10 objects after ~25 epochs",
          data_note=CIFAR_NOTE),
        r("digits-dcgan", "DCGAN on digits (offline)", family=FAMILY,
          spec=_gan({"latent": 100, "width": 32}, "generative.digits", {}, epochs=60),
          description="The book's networks with 32 channels instead of 64, on scikit-learn's 1,797 digits up-scaled "
                      "to 32×32: about 1.6 s an epoch on a 2-core CPU; the samples look like digits by about "
                      "epoch 60. Score them with a 'digits-scorer' run (task.params.scorer_run)."),
        r("shapes-dcgan", "DCGAN on generated shapes (offline)", family=FAMILY,
          spec=_gan({"latent": 100, "width": 32}, "generative.shapes", {"count": 2000}, epochs=30),
          description="Circles, squares and triangles in random colours on one fixed background colour (on "
                      "random backgrounds the discriminator wins and the generator collapses)."),
        r("digits-scorer", "Digits scorer for GAN samples (offline)", family=FAMILY,
          spec={"run": {"task": "classification"}, "model": {"id": "generative.digits-scorer"},
                "data": {"id": "generative.digits"},
                "train": {"epochs": 8, "batch_size": 64, "optimizer": "adam", "lr": 0.001}},
          description="A small CNN trained on the very digits a DCGAN learns from (32×32, [-1, 1]). Its run id "
                      "in a GAN's task.params.scorer_run scores the samples each epoch: an Inception-Score-like "
                      "number, the digits covered, and a warning when the samples collapse to one digit.",
          reported_result="about 98 % validation accuracy"),
    ]


def style_recipes() -> list[RecipeSpec]:
    from dlstudio_generative.style.spec import style_spec

    r = RecipeSpec
    return [
        r("style-random-filters", "Style transfer with random filters (offline)", family=FAMILY,
          spec=style_spec("sample:landscape", "sample:night-swirls", features="random-banks", size=128,
                          iterations=100, snapshot_every=5),
          description="Paints the bundled landscape in the colours and blob textures of the swirling night sky, "
                      "seen through banks of random filters at many sizes instead of a pretrained network: no "
                      "download, about 20 s on a 2-core CPU. It cannot copy brush strokes: the VGG-19 recipe can."),
        r("book-style-vgg19", "Neural style transfer with VGG-19 (book ch. 7)", family=FAMILY,
          spec=style_spec("sample:landscape", "sample:night-swirls", features="vgg19", size=512,
                          iterations=500, snapshot_every=50),
          description="The book's method: VGG-19 features, content loss on conv4_2, style loss on the Gram "
                      "matrices of conv1_1…conv5_1 (weights 1e3/C²), the image initialised from the content and "
                      "optimised with L-BFGS for 500 iterations at 512 px, shown every 50. Use a GPU, or lower "
                      "the size (data.params.size=256) on a CPU.",
          reported_result="the book shows the Tübingen photo painted in Starry Night's strokes",
          data_note=VGG_NOTE),
    ]


def recipe_specs() -> list[RecipeSpec]:
    return [*style_recipes(), *gan_recipes()]
