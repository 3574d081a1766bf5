"""Ready-made runs: the offline digits demo (the app opens on it), the book's recipes, offline stand-ins."""

from __future__ import annotations

from typing import Any

from dlstudio.contract import RecipeSpec

DOGS_ROOT = "~/data/dogsandcats"
DOGS_NOTE = (
    "Kaggle's dogs-vs-cats (https://www.kaggle.com/c/dogs-vs-cats/data, train.zip, 25,000 images): unzip it, move "
    f"2,000 random images to valid/ and the rest to train/, each split into cat/ and dog/ folders, at {DOGS_ROOT} "
    "(or add --set data.params.root=\"PATH\"). Offline, try the 'shapes-…' recipes instead."
)
WEIGHTS_NOTE = (" ImageNet weights download on first use; offline, put torchvision's file (named in the error) "
                "in the torch hub cache, ~/.cache/torch/hub/checkpoints.")
IMAGENET_DATA = {"normalize": "imagenet", "channels": 3}


def _spec(model: str, model_params: dict, data: str, data_params: dict, **train: Any) -> dict[str, Any]:
    return {"model": {"id": model, "params": model_params}, "data": {"id": data, "params": data_params},
            "train": train}


def _features(backbones: list[str], size: int, weights: str = "imagenet", source: str = "images.folder",
              pooling: str = "book") -> dict[str, Any]:
    source_params = {"root": DOGS_ROOT, "size": size, **IMAGENET_DATA} if source == "images.folder" else {
        "size": size}
    return {"source": source, **source_params, "backbones": backbones, "weights": weights,
            "pooling": pooling}


def recipe_specs() -> list[RecipeSpec]:
    folder = {"root": DOGS_ROOT, "size": 224, **IMAGENET_DATA}
    sgd_book = {"optimizer": "sgd", "lr": 0.01, "momentum": 0.5, "batch_size": 32}
    head_train = {"optimizer": "adam", "lr": 0.001, "batch_size": 64, "epochs": 10}
    r = RecipeSpec
    return [
        r("digits-cnn", "Digits CNN (offline demo)", family="images",
          spec=_spec("images.mnist_net", {"dropout": 0.25}, "images.digits", {"size": 28},
                     epochs=20, batch_size=32, optimizer="adam", lr=0.01, scheduler="onecycle"),
          description="The book's MNIST Net on scikit-learn's bundled digits, upsampled to 28×28 (dropout 0.25 "
                      "for this small set; Adam with a one-cycle schedule). No download; trains in seconds on a CPU.",
          reported_result="≥ 97 % validation accuracy (dlstudio's own target; about 98 %)"),
        r("book-mnist-cnn", "MNIST CNN (book ch. 5)", family="images",
          spec=_spec("images.mnist_net", {}, "images.mnist",
                     {"normalize": "custom", "mean": [0.1307], "std": [0.3081]}, epochs=20, **sgd_book),
          description="Chapter 5's Net on MNIST: SGD lr 0.01 momentum 0.5, batch 32, 20 epochs.",
          reported_result="98.9 % test accuracy",
          data_note="MNIST: switch the dataset's 'download' on (needs internet), or put the four MNIST files "
                    "(train-images-idx3-ubyte, ... or their .gz) in <dlstudio home>/cache/images.mnist/MNIST/raw."
                    " Offline, the 'digits-cnn' recipe trains the same Net on scikit-learn's digits."),
        r("book-dogscats-scratch", "Dogs vs cats from scratch (book ch. 5)", family="images",
          spec=_spec("images.dogscats_net", {}, "images.folder", folder, epochs=20, **sgd_book),
          description="The Net's convolutions and three linear layers at 224 px, trained from scratch: it "
                      "overfits (training loss falls while validation loss rises).",
          reported_result="~75 % validation accuracy", data_note=DOGS_NOTE),
        r("book-resnet18-transfer", "ResNet-18 transfer, StepLR (book ch. 3)", family="images",
          spec=_spec("images.resnet18", {"weights": "imagenet"}, "images.folder", folder, epochs=25,
                     batch_size=64, optimizer="sgd", lr=0.001, momentum=0.9, scheduler="step", step_size=7,
                     gamma=0.1),
          description="ImageNet ResNet-18, its fc replaced for two classes, the whole network fine-tuned; the "
                      "best validation epoch's weights are kept.",
          reported_result="87 % validation accuracy", data_note=DOGS_NOTE + WEIGHTS_NOTE),
        r("book-vgg16-transfer", "VGG-16 frozen features (book ch. 5)", family="images",
          spec=_spec("images.vgg16", {"weights": "imagenet", "freeze": "backbone", "dropout": 0.5},
                     "images.folder", folder, epochs=20, batch_size=32, optimizer="sgd", lr=0.0001, momentum=0.5),
          description="ImageNet VGG-16 with its features frozen; the classifier trains, its last layer replaced "
                      "for two classes.",
          reported_result="98.45 % validation accuracy", data_note=DOGS_NOTE + WEIGHTS_NOTE),
        r("book-vgg16-augmented", "VGG-16 frozen + augmentation (book ch. 5)", family="images",
          spec=_spec("images.vgg16", {"weights": "imagenet", "freeze": "backbone", "dropout": 0.2},
                     "images.folder", {**folder, "hflip": True, "rotation": 0.2}, epochs=2, batch_size=32,
                     optimizer="sgd", lr=0.0001, momentum=0.5),
          description="The book then lowers the classifier's dropout to 0.2 and adds random horizontal flips and "
                      "rotation; start from the previous recipe's checkpoint (model weights 'file') to continue it.",
          reported_result="about +0.1 % over 98.45 % in 2 epochs", data_note=DOGS_NOTE + WEIGHTS_NOTE),
        r("book-vgg16-features", "VGG-16 pre-convoluted features (book ch. 5)", family="images",
          spec=_spec("images.feature_head", {"head": "vgg16_classifier", "weights": "imagenet", "dropout": 0.5},
                     "images.features", _features(["vgg16"], 224), epochs=20, batch_size=32, optimizer="sgd",
                     lr=0.0001, momentum=0.5),
          description="vgg.features runs once over train and valid; VGG-16's classifier trains alone on the "
                      "cached 512×7×7 features: seconds per epoch instead of minutes.",
          reported_result="about 98 % validation accuracy, each epoch in seconds",
          data_note=DOGS_NOTE + WEIGHTS_NOTE),
        r("book-resnet34-features", "ResNet-34 features + linear (book ch. 8)", family="images",
          spec=_spec("images.feature_head", {}, "images.features", _features(["resnet34"], 299), **head_train),
          description="ImageNet ResNet-34 without its last layer, frozen, at 299 px; a linear layer on its "
                      "cached features.",
          reported_result="98 % train / 97 % validation accuracy", data_note=DOGS_NOTE + WEIGHTS_NOTE),
        r("book-inception-features", "Inception-v3 features + linear (book ch. 8)", family="images",
          spec=_spec("images.feature_head", {}, "images.features", _features(["inception_v3"], 299), **head_train),
          description="Inception-v3's Mixed_7c output (2048×8×8 = 131,072 values per image) at 299 px, cached; "
                      "a linear layer on it. Needs ~13 GB of memory for the full dataset's features.",
          reported_result="99 % train / 97.8 % validation accuracy", data_note=DOGS_NOTE + WEIGHTS_NOTE),
        r("book-densenet121-features", "DenseNet-121 features + linear (book ch. 8)", family="images",
          spec=_spec("images.feature_head", {}, "images.features", _features(["densenet121"], 299), **head_train),
          description="DenseNet-121's features (1024×9×9 at 299 px), cached; a linear layer on them.",
          reported_result="99 % train / 99 % validation accuracy", data_note=DOGS_NOTE + WEIGHTS_NOTE),
        r("book-ensemble", "Ensemble of ResNet-34, Inception-v3, DenseNet-121 (book ch. 8)", family="images",
          spec=_spec("images.ensemble_head", {}, "images.features",
                     _features(["resnet34", "inception_v3", "densenet121"], 299), **head_train),
          description="The three backbones' cached features, one linear layer each, summed, then a classifier "
                      "(the book's EnsembleModel). Costly, good for competitions.",
          reported_result="99.6 % train / 99.3 % validation accuracy", data_note=DOGS_NOTE + WEIGHTS_NOTE),
        r("shapes-scratch-cnn", "Shapes from scratch (offline stand-in)", family="images",
          spec=_spec("images.dogscats_net", {}, "images.shapes", {"size": 64}, epochs=15, batch_size=32,
                     optimizer="adam", lr=0.001),
          description="The book's dogs-vs-cats network trained from scratch on generated colour shapes at 64 px: "
                      "the offline stand-in for 'book-dogscats-scratch'. Like the book's, it overfits.",
          reported_result="about 68 % validation accuracy (dlstudio's own measurement)"),
        r("shapes-resnet18-transfer", "ResNet-18 on shapes, StepLR (offline stand-in)", family="images",
          spec=_spec("images.resnet18", {}, "images.shapes", {"size": 64}, epochs=10, batch_size=64,
                     optimizer="adam", lr=0.001, scheduler="step", step_size=7, gamma=0.1),
          description="The chapter 3 recipe on generated shapes at 64 px. Offline the weights are random, and "
                      "11 M parameters learnt from 1,200 images overfit badly — the reason for transfer learning. "
                      "Set model weights to 'imagenet' once the file is in the hub cache.",
          reported_result="about 55 % with random weights (dlstudio's own measurement)"),
        r("digits-features-ensemble", "Cached-feature ensemble on digits (offline stand-in)", family="images",
          spec=_spec("images.ensemble_head", {"dropout": 0.2}, "images.features",
                     {**_features(["resnet18", "mobilenet_v3_small", "densenet121"], 32, "random", "images.digits",
                                  "avg"), "channels": 3, "standardize": True},
                     epochs=15, batch_size=64, optimizer="adam", lr=0.001),
          description="The chapter 8 pipeline without downloads: three backbones (random weights) run once over "
                      "the digits at 32 px, their standardised features are cached, and the book's ensemble head "
                      "trains on them. Compare backbones alone and together from the Train page.",
          reported_result="≥ 95 % validation accuracy (dlstudio's own measurement)"),
    ]
