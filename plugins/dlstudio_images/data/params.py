"""What the image sources take and what they are — parameters with defaults and choices, titles and
descriptions — without torch: registering the datasets (``dlstudio --help``, ``dlstudio plugins``) reads
these, and only loading one imports torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dlstudio.params import Param

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

#: Preprocessing and augmentation parameters every image dataset takes (``size`` is overridden per source).
TRANSFORM_DEFAULTS: dict[str, Any] = {
    "size": 28,
    "channels": 0,
    "resize": "resize",
    "normalize": "computed",
    "mean": [],
    "std": [],
    "hflip": False,
    "rotation": 0.0,
    "color_jitter": 0.0,
    "random_resized_crop": False,
}
TRANSFORM_CHOICES: dict[str, list] = {
    "channels": [0, 1, 3],
    "resize": ["resize", "resize_crop"],
    "normalize": ["computed", "imagenet", "custom", "none"],
}
#: How a source without its own validation split is split (holdout), or which fold of k is held out.
SPLIT_DEFAULTS: dict[str, Any] = {"holdout": 0.2, "folds": 0, "fold": 0}
AUGMENT_KEYS = ("hflip", "rotation", "color_jitter", "random_resized_crop")

# -- scikit-learn's digits ---------------------------------------------------------------------------------
DIGITS_DEFAULTS: dict[str, Any] = {**TRANSFORM_DEFAULTS, "size": 28, **SPLIT_DEFAULTS}
DIGITS_DESCRIPTION = ("1,797 hand-written digits bundled with scikit-learn (8×8, upsampled to the model's size): "
                      "works offline, trains in seconds.")

# -- generated shapes --------------------------------------------------------------------------------------
SHAPES = ("circle", "square", "triangle", "star", "cross", "ring")
SHAPES_DEFAULTS: dict[str, Any] = {**TRANSFORM_DEFAULTS, "size": 64, "per_class": 300, "num_classes": 4,
                                   **SPLIT_DEFAULTS}
SHAPES_CHOICES = {**TRANSFORM_CHOICES, "num_classes": list(range(2, len(SHAPES) + 1))}
SHAPES_DESCRIPTION = ("Generated colour images of shapes (circle, square, triangle, star, cross, ring) at random "
                      "position, size, colour and background: an offline stand-in for dogs vs cats.")

# -- an image folder ---------------------------------------------------------------------------------------
FOLDER_ROOT = Param("", kind="folder", required=True, title="Image folder",
                    help="The folder of class folders (root/<class>/…, or root/train/<class> and root/valid/<class>): "
                         "Browse… or drop the folder on the field.")
FOLDER_DEFAULTS: dict[str, Any] = {"root": FOLDER_ROOT, **TRANSFORM_DEFAULTS, "size": 224, "channels": 3,
                                   **SPLIT_DEFAULTS, "in_memory_mb": 512}
FOLDER_DESCRIPTION = ("Images in class folders: root/train/<class> and root/valid/<class> (the book's layout), "
                      "or root/<class> split automatically (stratified, seeded). Images in folders nested inside a "
                      "class folder count for that class; hidden files (.DS_Store...) and unreadable files are "
                      "skipped, and the data messages list both.")


# -- torchvision's MNIST, Fashion-MNIST and CIFAR-10 -----------------------------------------------------------
@dataclass(frozen=True)
class TorchvisionSet:
    id: str
    title: str
    size: int
    url: str
    files: tuple[str, ...]
    folder: str


MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte")
CIFAR_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch",
               "batches.meta")
TORCHVISION_SETS = {s.id: s for s in (
    TorchvisionSet("mnist", "MNIST", 28, "https://ossci-datasets.s3.amazonaws.com/mnist/", MNIST_FILES,
                   "MNIST/raw"),
    TorchvisionSet("fashion_mnist", "Fashion-MNIST", 28,
                   "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", MNIST_FILES, "FashionMNIST/raw"),
    TorchvisionSet("cifar10", "CIFAR-10", 32, "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                   CIFAR_FILES, "cifar-10-batches-py"),
)}


def torchvision_defaults(source: TorchvisionSet) -> dict[str, Any]:
    return {"root": "", "download": False, "limit_train": 0, "limit_valid": 0, **TRANSFORM_DEFAULTS,
            "size": source.size, "holdout": SPLIT_DEFAULTS["holdout"], "folds": 0, "fold": 0}


def torchvision_description(source: TorchvisionSet) -> str:
    return (f"{source.title} (torchvision): the official training set for training, its test set for "
            "validation. Switch 'download' on to fetch it (needs internet).")
