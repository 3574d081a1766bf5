"""Evaluating a trained classifier: predictions on the validation split, confusion matrix, per-class precision /
recall / F1 (scikit-learn), the worst mistakes, and top-k probabilities for a new image ("try it")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset


def _logits(output: Any) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    return output.logits if hasattr(output, "logits") else output[0]


@torch.no_grad()
def predict(model: nn.Module, dataset: Dataset, batch_size: int = 256,
            device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Class probabilities ``[N, K]`` and labels ``[N]`` over ``dataset``, in order."""
    model = model.to(device).eval()
    if isinstance(dataset, TensorDataset):
        x, y = dataset.tensors[:2]
        batches: Any = ((x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(x), batch_size))
    else:
        batches = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    probs, labels = [], []
    for xb, yb in batches:
        probs.append(F.softmax(_logits(model(xb.to(device))).float(), dim=1).cpu())
        labels.append(torch.as_tensor(yb))
    return torch.cat(probs), torch.cat(labels).long()


@dataclass
class Evaluation:
    probs: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]

    @property
    def preds(self) -> torch.Tensor:
        return self.probs.argmax(1)

    @property
    def confidence(self) -> torch.Tensor:
        return self.probs.max(1).values

    @property
    def losses(self) -> torch.Tensor:
        """Cross-entropy of each sample."""
        return -self.probs.gather(1, self.labels.view(-1, 1)).squeeze(1).clamp_min(1e-12).log()

    @property
    def accuracy(self) -> float:
        return float((self.preds == self.labels).float().mean()) if len(self.labels) else float("nan")

    def confusion(self) -> np.ndarray:
        """Rows: true class; columns: predicted class."""
        from sklearn.metrics import confusion_matrix

        return confusion_matrix(self.labels.numpy(), self.preds.numpy(), labels=list(range(len(self.classes))))

    def report(self) -> list[dict[str, Any]]:
        """Precision, recall, F1 and support per class, then the macro average."""
        from sklearn.metrics import precision_recall_fscore_support

        ids = list(range(len(self.classes)))
        y, p = self.labels.numpy(), self.preds.numpy()
        prec, rec, f1, support = precision_recall_fscore_support(y, p, labels=ids, zero_division=0)
        rows = [{"class": self.classes[i], "precision": float(prec[i]), "recall": float(rec[i]),
                 "f1": float(f1[i]), "support": int(support[i])} for i in ids]
        mp, mr, mf, _ = precision_recall_fscore_support(y, p, labels=ids, average="macro", zero_division=0)
        rows.append({"class": "macro average", "precision": float(mp), "recall": float(mr), "f1": float(mf),
                     "support": int(support.sum())})
        return rows

    def cell(self, true: int, pred: int) -> list[int]:
        """Indices of the samples of class ``true`` predicted as ``pred`` (a confusion-matrix cell)."""
        return torch.nonzero((self.labels == true) & (self.preds == pred)).flatten().tolist()

    def worst(self, k: int = 16, mistakes_only: bool = True) -> list[dict[str, Any]]:
        """The ``k`` samples with the highest loss: index, true and predicted class, confidence, loss."""
        losses = self.losses
        order = torch.argsort(losses, descending=True).tolist()
        preds, conf = self.preds, self.confidence
        rows = []
        for i in order:
            if mistakes_only and preds[i] == self.labels[i]:
                continue
            rows.append({"index": i, "true": self.classes[int(self.labels[i])],
                         "pred": self.classes[int(preds[i])], "confidence": float(conf[i]),
                         "loss": float(losses[i])})
            if len(rows) == k:
                break
        return rows


def evaluate(model: nn.Module, dataset: Dataset, classes: Sequence[str], **kwargs: Any) -> Evaluation:
    probs, labels = predict(model, dataset, **kwargs)
    return Evaluation(probs, labels, tuple(classes))


@dataclass
class CheckpointEvaluation:
    """A checkpoint evaluated on the validation split of the data it was trained on."""

    path: str
    evaluation: Evaluation
    valid: Dataset
    extra: dict[str, Any] = field(default_factory=dict)
    input_kind: str = "image"
    model: nn.Module | None = None


def evaluate_checkpoint(studio: Any, path: str | Path, device: str = "cpu") -> CheckpointEvaluation:
    """Load a run's checkpoint and its dataset (same parameters and seed) and evaluate it."""
    from dlstudio.runs import load_model_file
    from dlstudio_images.session import load_data

    loaded = load_model_file(studio, path)
    spec = loaded.meta.get("spec") or {}
    data = spec.get("data") or {}
    if not data.get("id"):
        raise ValueError(f"{path} does not say which data it was trained on: it cannot be evaluated here")
    bundle = load_data(studio, data["id"], data.get("params", {}), int(spec.get("run", {}).get("seed", 0)))
    if bundle.valid is None or not len(bundle.valid):
        raise ValueError(f"dataset {data['id']!r} has no validation split to evaluate on")
    result = evaluate(loaded.model, bundle.valid, bundle.info.classes, device=device)
    return CheckpointEvaluation(str(path), result, bundle.valid, dict(bundle.info.extra), bundle.info.input_kind,
                                loaded.model)


def preprocess(image: Any, extra: Mapping[str, Any]) -> torch.Tensor:
    """A PIL image or an image file, prepared as the model's training data was: ``[1, C, H, W]``."""
    from PIL import Image
    from torchvision.transforms import v2

    from dlstudio_images.data.common import Pipeline

    size = extra.get("size") or [224, 224]
    channels = int(extra.get("channels") or 3)
    pipeline = Pipeline(size=int(size[0]), channels=channels, resize=extra.get("resize", "resize"),
                        mean=list(extra.get("mean") or []), std=list(extra.get("std") or []))
    if not isinstance(image, Image.Image):
        with Image.open(image) as img:
            image = img.convert("L" if channels == 1 else "RGB")
    else:
        image = image.convert("L" if channels == 1 else "RGB")
    return pipeline.eval_transform()(v2.functional.pil_to_tensor(image)).unsqueeze(0)


@torch.no_grad()
def top_k(model: nn.Module, x: torch.Tensor, classes: Sequence[str], k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` most probable classes of one prepared input ``[1, ...]`` with their probabilities."""
    model.eval()
    probs = F.softmax(_logits(model(x)).float(), dim=1)[0]
    values, idx = probs.topk(min(k, len(probs)))
    return [(classes[int(i)] if int(i) < len(classes) else str(int(i)), float(v)) for v, i in zip(values, idx)]
