"""Image plugin benchmarks: ``python bench/bench_images.py`` measures each pair side by side and prints the ratio.

- time to 97 % validation accuracy on scikit-learn's digits: the ``digits-cnn`` recipe through dlstudio's runner
  vs a book-style loop (per-sample transforms through a DataLoader, the book's ``fit`` with its per-batch
  ``.item()``) — goal ≥ 3× faster. Both sides train the same Net (same dropout, same seed) on the same split
  with the same preprocessing, optimiser, learning rate, one-cycle schedule, batch size and epochs, all read from
  the recipe: the ratio measures the engine and its data path, not a choice of hyperparameters.
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


# -- the book's way: per-sample transforms, a DataLoader, fit() -- with the recipe's settings -------------


class DigitImages(Dataset):
    """One split's uint8 images ``[N, C, H, W]``, transformed one sample at a time as the book does."""

    def __init__(self, images, labels, transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.transform(self.images[i]), int(self.labels[i])


def fit(epoch: int, model, loader, optimizer, phase: str = "training", scheduler=None) -> tuple[float, float]:
    """The book's chapter 5 ``fit``, in current PyTorch (plus the recipe's per-batch one-cycle schedule)."""
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
            if scheduler is not None:
                scheduler.step()
    n = len(loader.dataset)
    return running_loss / n, running_correct / n


def book_time_to(target: float, spec: RunSpec, max_seconds: float) -> tuple[float | None, int, float]:
    """The recipe ``spec`` (the book's Net on digits, Adam, one-cycle) trained the book's way."""
    from dlstudio.contract import LoadContext
    from dlstudio_images.data import digits
    from dlstudio_images.data.params import DIGITS_DEFAULTS

    train_settings = spec.train
    if (spec.model.id, spec.data.id, train_settings.optimizer, train_settings.scheduler) != (
            "images.mnist_net", "images.digits", "adam", "onecycle"):
        raise SystemExit("the book-style loop mirrors the digits-cnn recipe (mnist_net, digits, adam, onecycle); "
                         "the recipe changed: update book_time_to to match it")
    started = time.perf_counter()
    # dlstudio's own split and preprocessing (same seed, same holdout, same normalisation), applied per sample
    prepared = digits.prepare({**DIGITS_DEFAULTS, **spec.data.params},
                              LoadContext(cache_dir=Path(tempfile.mkdtemp(prefix="bench-book-")), seed=spec.run.seed))
    transform = prepared.pipeline.eval_transform()
    train = DigitImages(prepared.train.tensor, prepared.train.labels, transform)
    valid = DigitImages(prepared.valid.tensor, prepared.valid.labels, transform)
    batch = train_settings.batch_size
    train_loader = DataLoader(train, batch_size=batch, shuffle=True)
    valid_loader = DataLoader(valid, batch_size=batch)
    torch.manual_seed(spec.run.seed)
    model = Net(size=prepared.pipeline.size, **spec.model.params)
    optimizer = torch.optim.Adam(model.parameters(), lr=train_settings.lr, weight_decay=train_settings.weight_decay)
    epochs = train_settings.epochs
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=train_settings.lr,
                                                    total_steps=epochs * len(train_loader))
    best = 0.0
    for epoch in range(1, epochs + 1):
        fit(epoch, model, train_loader, optimizer, scheduler=scheduler)
        _, accuracy = fit(epoch, model, valid_loader, optimizer, phase="validation")
        best = max(best, accuracy)
        if best >= target:
            return time.perf_counter() - started, epoch, best
        if time.perf_counter() - started > max_seconds:
            return None, epoch, best
    return None, epochs, best


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
    parser.add_argument("--book-max-seconds", type=float, default=600.0)
    parser.add_argument("--epochs", type=int, default=0,
                        help="train both sides this many epochs instead of the recipe's (a smoke run: 1 or 2)")
    parser.add_argument("--skip-features", action="store_true", help="only the digits comparison")
    args = parser.parse_args(argv)
    st = studio()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")

    spec = st.recipe_spec("digits-cnn", [f"train.epochs={args.epochs}"] if args.epochs else [])
    ours, our_epochs, our_best = dlstudio_time_to(TARGET, spec, st)
    theirs, their_epochs, their_best = book_time_to(TARGET, spec, args.book_max_seconds)
    print(f"digits, dlstudio digits-cnn recipe: {our_epochs} epochs, best {our_best:.2%}")
    print(f"digits, book-style loop:            {their_epochs} epochs, best {their_best:.2%}")
    ok = line("time to 97 % on digits", ours, theirs, 3)
    if args.skip_features:
        return 0 if ok else 1

    frozen, cached = feature_specs(epochs=3)
    cached_epoch = epoch_seconds(cached, st)  # first run computes and caches the features
    frozen_epoch = epoch_seconds(frozen, st)
    ok &= line("ResNet-18 epoch at 64 px, cached features vs frozen backbone", cached_epoch, frozen_epoch, 10)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
