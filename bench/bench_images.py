"""Image plugin benchmarks: ``python bench/bench_images.py`` measures each pair side by side and prints the ratio.

- time to 97 % validation accuracy on scikit-learn's digits: the ``digits-cnn`` recipe through dlstudio's runner
  vs a book-style loop (per-sample transforms through a DataLoader, SGD lr 0.01 momentum 0.5, batch 32, the
  book's ``fit``) — goal ≥ 3× faster
- one training epoch of a head on cached ResNet-18 features vs one epoch of ResNet-18 with its backbone frozen
  (full forward pass), 64 px generated shapes — goal ≥ 10×
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

import dlstudio_images.plugin as images_plugin
from dlstudio.engine import EpochEnd
from dlstudio.plugins import module_candidate
from dlstudio.runner import Run
from dlstudio.spec import RunSpec
from dlstudio.studio import Studio
from dlstudio_images.models.book import Net

TARGET = 0.97


def studio() -> Studio:
    home = Path(tempfile.mkdtemp(prefix="bench-images-"))
    return Studio.open(home, [module_candidate("images", images_plugin)])


def dlstudio_time_to(target: float, spec: RunSpec, st: Studio) -> tuple[float | None, int, float]:
    """Seconds from the start of the run until an epoch reaches ``target`` (None if none did), epochs, best."""
    started = time.perf_counter()
    best, epochs = 0.0, 0
    for record in Run(st, spec).records():
        if isinstance(record, EpochEnd):
            epochs = record.epoch
            best = max(best, record.metrics.get("valid_accuracy", 0.0))
            if best >= target:
                return time.perf_counter() - started, epochs, best
    return None, epochs, best


# -- the book's way: per-sample transforms, a DataLoader, SGD 0.01/0.5, batch 32, fit() ----------------


class DigitImages(Dataset):
    def __init__(self, images, labels, transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def fit(epoch: int, model, loader, optimizer, phase: str = "training") -> tuple[float, float]:
    """The book's chapter 5 ``fit``, in current PyTorch."""
    model.train(phase == "training")
    running_loss, running_correct = 0.0, 0
    for data, target in loader:
        if phase == "training":
            optimizer.zero_grad()
        with torch.set_grad_enabled(phase == "training"):
            output = model(data)
            loss = F.nll_loss(output, target)
        running_loss += F.nll_loss(output, target, reduction="sum").item()
        preds = output.data.max(dim=1, keepdim=True)[1]
        running_correct += preds.eq(target.data.view_as(preds)).cpu().sum().item()
        if phase == "training":
            loss.backward()
            optimizer.step()
    n = len(loader.dataset)
    return running_loss / n, running_correct / n


def book_time_to(target: float, max_epochs: int, max_seconds: float) -> tuple[float | None, int, float]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from torchvision import transforms

    started = time.perf_counter()
    digits = load_digits()
    images = (digits.images * 255 / 16).round().astype("uint8")
    train_idx, valid_idx = train_test_split(range(len(images)), test_size=359, stratify=digits.target,
                                            random_state=0)
    transform = transforms.Compose([transforms.Resize((28, 28)), transforms.ToTensor(),
                                    transforms.Normalize((0.3056,), (0.3247,))])
    train = DigitImages(images[train_idx], digits.target[train_idx], transform)
    valid = DigitImages(images[valid_idx], digits.target[valid_idx], transform)
    train_loader = DataLoader(train, batch_size=32, shuffle=True)
    valid_loader = DataLoader(valid, batch_size=32)
    torch.manual_seed(0)
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    best = 0.0
    for epoch in range(1, max_epochs + 1):
        fit(epoch, model, train_loader, optimizer)
        _, accuracy = fit(epoch, model, valid_loader, optimizer, phase="validation")
        best = max(best, accuracy)
        if best >= target:
            return time.perf_counter() - started, epoch, best
        if time.perf_counter() - started > max_seconds:
            return None, epoch, best
    return None, max_epochs, best


# -- cached features vs frozen backbone ---------------------------------------------------------------------


def epoch_seconds(spec: RunSpec, st: Studio) -> float:
    times = [r.seconds for r in Run(st, spec).records() if isinstance(r, EpochEnd)]
    return statistics.median(times)


def feature_specs(epochs: int) -> tuple[RunSpec, RunSpec]:
    shapes = {"size": 64, "per_class": 150, "num_classes": 4}
    train = {"epochs": epochs, "batch_size": 64, "optimizer": "adam", "lr": 0.001}
    frozen = RunSpec.from_dict({"model": {"id": "images.resnet18", "params": {"freeze": "backbone"}},
                                "data": {"id": "images.shapes", "params": shapes}, "train": train})
    cached = RunSpec.from_dict({"model": {"id": "images.feature_head"},
                                "data": {"id": "images.features", "params": {
                                    "source": "images.shapes", **shapes, "backbones": ["resnet18"]}},
                                "train": train})
    return frozen, cached


def line(name: str, ours: float | None, theirs: float | None, goal: float, unit: str = "s") -> bool:
    if ours is None:
        print(f"{name}: dlstudio did not reach the target — FAIL")
        return False
    if theirs is None:
        print(f"{name}: dlstudio {ours:.2f} {unit}; baseline never reached it (ratio > its time budget)")
        return True
    ratio = theirs / ours
    verdict = "ok" if ratio >= goal else "BELOW GOAL"
    print(f"{name}: dlstudio {ours:.2f} {unit} vs baseline {theirs:.2f} {unit} → {ratio:.1f}× (goal ≥ {goal:g}×) "
          f"{verdict}")
    return ratio >= goal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book-max-epochs", type=int, default=100)
    parser.add_argument("--book-max-seconds", type=float, default=600.0)
    args = parser.parse_args(argv)
    st = studio()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")

    ours, our_epochs, our_best = dlstudio_time_to(TARGET, st.recipe_spec("digits-cnn"), st)
    theirs, their_epochs, their_best = book_time_to(TARGET, args.book_max_epochs, args.book_max_seconds)
    print(f"digits, dlstudio digits-cnn recipe: {our_epochs} epochs, best {our_best:.2%}")
    print(f"digits, book-style loop:            {their_epochs} epochs, best {their_best:.2%}")
    ok = line("time to 97 % on digits", ours, theirs, 3)

    frozen, cached = feature_specs(epochs=3)
    cached_epoch = epoch_seconds(cached, st)  # first run computes and caches the features
    frozen_epoch = epoch_seconds(frozen, st)
    ok &= line("ResNet-18 epoch at 64 px, cached features vs frozen backbone", cached_epoch, frozen_epoch, 10)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
