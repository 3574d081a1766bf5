"""Pre-convoluted features (chapters 5 and 8): a frozen backbone runs once over the training and validation
images, the features are cached on disk, and only a head trains on them — seconds per epoch instead of
minutes. Several backbones' features side by side feed the book's ensemble."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from dlstudio.contract import DataBundle, DataInfo, LoadContext
from dlstudio_images import __version__
from dlstudio_images.data.catalog import BACKBONES
from dlstudio_images.data.common import AUGMENT_KEYS, make_dataset
from dlstudio_images.models.params import ARCHS, Arch
from dlstudio_images.models.torchvision_models import bare, imagenet_state
from dlstudio_images.models.transfer import adapt_input_channels, first_conv, load_transfer_state, with_bn_counters

#: The book's chapter 8 features: ResNet-34 without its last layer (pooled); Inception-v3's Mixed_7c and
#: DenseNet-121's features flattened; VGG-16's features flattened (chapter 5).
BOOK_POOLING = {"vgg16": "flatten", "vgg16_bn": "flatten", "densenet121": "flatten", "inception_v3": "flatten"}


def pooling_for(arch_id: str, pooling: str) -> str:
    return BOOK_POOLING.get(arch_id, "avg") if pooling == "book" else pooling


class _Call(nn.Module):
    def __init__(self, fn: Any) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


def extractor_from_model(arch: Arch, model: nn.Module, pooling: str) -> nn.Module:
    """The feature part of a torchvision classifier: everything before its classifier, pooled or flattened.

    ``flatten`` keeps the book's shapes (VGG-16 at 224 px: 512×7×7; DenseNet-121 and Inception-v3's Mixed_7c
    at 299 px: 1024×9×9 and 2048×8×8); ``avg`` averages each channel (one value per channel).
    """
    pool = [nn.AdaptiveAvgPool2d(1)] if pooling == "avg" else []
    if arch.id.startswith("resnet"):
        layers = [m for name, m in model.named_children() if name not in ("avgpool", "fc")]
    elif arch.id == "inception_v3":
        skip = ("AuxLogits", "avgpool", "dropout", "fc")
        layers = [_Call(model._transform_input)] + [m for n, m in model.named_children() if n not in skip]
    elif arch.id == "densenet121":
        layers = [model.features] + ([nn.ReLU()] if pooling == "avg" else [])
    else:  # VGG, MobileNet, EfficientNet
        layers = [model.features]
    body = nn.Sequential(*layers, *pool, nn.Flatten())
    body.eval()
    for p in body.parameters():
        p.requires_grad_(False)
    return body


def backbone(arch_id: str, weights: str, weights_file: str, channels: int, seed: int) -> nn.Module:
    """A torchvision network with the chosen weights and ``channels`` inputs (its head is not used)."""
    arch = ARCHS[arch_id]
    torch.manual_seed(seed)  # random weights: the same features for the same seed
    if weights == "file":
        weights = load_transfer_state(weights_file, f"images.{arch_id}")
        model = bare(arch, weights.size(f"{arch.head}.weight", 0, 1000), pretrained=True)
        conv_name, conv = first_conv(model)
        adapt_input_channels(model, weights.size(f"{conv_name}.weight", 1, conv.in_channels))
        weights.load_into(model)
    else:
        model = bare(arch, 1000, pretrained=weights == "imagenet")
        if weights == "imagenet":
            from dlstudio.runs import apply_weights

            apply_weights(model, with_bn_counters(model, imagenet_state(arch)), source=f"{arch.title} ImageNet weights")
    adapt_input_channels(model, channels)
    return model


def _batches(dataset: Dataset, batch_size: int) -> Any:
    if isinstance(dataset, TensorDataset):
        x, y = dataset.tensors
        return ((x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(x), batch_size))
    return DataLoader(dataset, batch_size=batch_size, shuffle=False)


@torch.no_grad()
def extract(body: nn.Module, dataset: Dataset, batch_size: int, device: torch.device) -> torch.Tensor:
    """Features of every sample of ``dataset``, in order, as one float32 CPU tensor."""
    body = body.to(device).eval()
    out = [body(x.to(device)).float().cpu() for x, _ in _batches(dataset, batch_size)]
    return torch.cat(out)


def cache_key(description: Mapping[str, Any]) -> str:
    text = json.dumps(description, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _file_identity(path: str) -> dict[str, Any]:
    p = Path(path).expanduser()
    stat = p.stat() if p.exists() else None
    return {"path": str(p.resolve()), "size": stat.st_size if stat else 0, "mtime": stat.st_mtime if stat else 0}


def cached_features(description: dict[str, Any], folder: Path, compute: Any, use_cache: bool,
                    ) -> tuple[dict[str, torch.Tensor], dict[str, Any], bool]:
    """Tensors from ``folder/<backbone>-<key>.safetensors``, or ``compute()`` them and save them there.

    Returns (tensors, info with "seconds" spent computing, whether they came from the cache).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save_file

    path = folder / f"{description['backbone']}-{cache_key(description)}.safetensors"
    sidecar = path.with_suffix(".json")
    if use_cache and path.exists() and sidecar.exists():
        try:
            return load_file(str(path)), json.loads(sidecar.read_text(encoding="utf-8")), True
        except (SafetensorError, OSError, ValueError):
            pass  # a damaged cache entry is recomputed
    started = time.perf_counter()
    tensors = compute()
    info = {**description, "seconds": time.perf_counter() - started, "path": str(path)}
    if use_cache:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp))
        tmp.replace(path)
        sidecar.write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
    return tensors, info, False


def source_params(params: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The source dataset and the parameters of it that ``params`` holds."""
    from dlstudio_images.data.catalog import source

    src = source(params["source"])
    sp = {key: params.get(key, default) for key, default in src.defaults.items()}
    for key, options in src.choices.items():
        if sp[key] not in options:
            raise ValueError(f"{key} {sp[key]!r} is not one of {options} for {src.title}")
    return src, sp


def _source_params(params: Mapping[str, Any], messages: list[str]) -> tuple[Any, dict[str, Any]]:
    src, sp = source_params(params)
    if any(sp.get(k) for k in AUGMENT_KEYS):
        sp.update(hflip=False, rotation=0.0, color_jitter=0.0, random_resized_crop=False)
        messages.append("augmentation is incompatible with cached features (each image's features are computed "
                        "once, so no random variation can reach the head): it was turned off")
    if params["weights"] == "imagenet" and (sp.get("normalize") != "imagenet" or sp.get("channels") != 3):
        sp.update(normalize="imagenet", channels=3)
        messages.append("ImageNet weights: the images are normalised with ImageNet's statistics, as 3 channels")
    return src, sp


def standardize(train: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Z-scores per feature from the training set: random or small backbones give features of wildly
    different scales, which a linear head learns from poorly."""
    mean, std = train.mean(0), train.std(0)
    std = torch.where(std > 1e-12, std, torch.ones_like(std))
    return (train - mean) / std, (valid - mean) / std


def load_features(params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
    from dlstudio.engine import resolve_device

    backbones = [str(b) for b in params["backbones"]]
    unknown = [b for b in backbones if b not in ARCHS]
    if not backbones or unknown:
        raise ValueError(f"backbones must name one or more of {', '.join(BACKBONES)}"
                         + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    if params["weights"] == "file" and len(backbones) != 1:
        raise ValueError("weights 'file' holds one network: use a single backbone with it")
    messages: list[str] = []
    src, sp = _source_params(params, messages)
    cache_dir = Path(ctx.cache_dir)
    prepared = src.prepare(sp, LoadContext(cache_dir=cache_dir.parent / src.id, seed=ctx.seed, report=ctx.report,
                                           device=ctx.device))
    messages.extend(prepared.messages)
    pipeline = prepared.pipeline
    device = resolve_device(ctx.device)
    train_ds = make_dataset(prepared.train, pipeline, train=False)
    valid_ds = make_dataset(prepared.valid, pipeline, train=False)
    parts: dict[str, list[torch.Tensor]] = {"train": [], "valid": []}
    dims, seconds = [], {}
    for name in backbones:
        weights = {"kind": params["weights"]}
        if params["weights"] == "file":
            weights.update(_file_identity(params["weights_file"]))
        description = {"backbone": name, "weights": weights, "pooling": pooling_for(name, params["pooling"]),
                       "source": src.id,
                       "source_params": sp, "seed": ctx.seed, "version": __version__,
                       "counts": [len(prepared.train), len(prepared.valid)]}

        def compute(name: str = name) -> dict[str, torch.Tensor]:
            ctx.report(f"computing {name} features of {len(train_ds) + len(valid_ds)} images")
            model = backbone(name, params["weights"], params["weights_file"], pipeline.channels, ctx.seed)
            body = extractor_from_model(ARCHS[name], model, pooling_for(name, params["pooling"]))
            bs = int(params["batch_size"])
            return {"train": extract(body, train_ds, bs, device), "valid": extract(body, valid_ds, bs, device)}

        tensors, info, hit = cached_features(description, cache_dir, compute, bool(params["cache"]))
        parts["train"].append(tensors["train"])
        parts["valid"].append(tensors["valid"])
        dims.append(int(tensors["train"].shape[1]))
        seconds[name] = round(float(info["seconds"]), 3)
        n = len(prepared.train) + len(prepared.valid)
        where = "loaded from the cache" if hit else ("cached in " + info["path"] if params["cache"] else "not cached")
        messages.append(f"{name} features ({dims[-1]} values per image): one full forward pass over {n} images "
                        f"took {seconds[name]:.2f} s; {where}. Each epoch now runs only the head.")
    train_x, valid_x = torch.cat(parts["train"], 1), torch.cat(parts["valid"], 1)
    if params["standardize"]:
        train_x, valid_x = standardize(train_x, valid_x)
        messages.append("features standardised with the training set's mean and std (per feature)")
    extra = {"feature_dims": dims, "backbones": backbones, "weights": params["weights"],
             "pooling": params["pooling"], "source": src.id, "forward_seconds": seconds,
             "images": pipeline.describe()}
    info = DataInfo((int(train_x.shape[1]),), prepared.classes, "features", extra)
    return DataBundle(TensorDataset(train_x, prepared.train.labels.clone()),
                      TensorDataset(valid_x, prepared.valid.labels.clone()), info, messages)
