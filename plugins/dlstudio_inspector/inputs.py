"""Inputs for a model: a sample of the right shape and dtype, what the model expects, and files → tensors."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dlstudio.contract import DataInfo
from dlstudio_inspector.common import InspectorError, format_shape

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class FirstLayer:
    """What the input meets first, read from a module or a TorchScript module's weights."""

    name: str
    #: "embedding", "conv", "linear", "rnn" or "other".
    kind: str
    type: str
    #: Vocabulary (embedding), input channels (conv), features (linear, rnn).
    size: int = 0
    #: Spatial dimensions of a convolution (1, 2 or 3).
    dims: int = 0
    batch_first: bool = False


def _describe(name: str, module: nn.Module) -> FirstLayer | None:
    kind_name = getattr(module, "original_name", None) or type(module).__name__
    weight = dict(module.named_parameters(recurse=False)).get("weight")
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)) or kind_name in ("Embedding", "EmbeddingBag"):
        return FirstLayer(name, "embedding", kind_name, int(weight.shape[0]) if weight is not None else 0)
    if isinstance(module, nn.modules.conv._ConvNd):
        return FirstLayer(name, "conv", kind_name, module.in_channels, len(module.kernel_size))
    if kind_name.startswith("Conv") and weight is not None and weight.dim() >= 3:
        return FirstLayer(name, "conv", kind_name, int(weight.shape[1]), weight.dim() - 2)
    if isinstance(module, nn.Linear) or (kind_name == "Linear" and weight is not None):
        return FirstLayer(name, "linear", kind_name, int(weight.shape[1]))
    if isinstance(module, nn.RNNBase):
        return FirstLayer(name, "rnn", kind_name, module.input_size, batch_first=module.batch_first)
    if kind_name in ("LSTM", "GRU", "RNN"):
        w = dict(module.named_parameters(recurse=False)).get("weight_ih_l0")
        return FirstLayer(name, "rnn", kind_name, int(w.shape[1]) if w is not None else 0,
                          batch_first=_scripted_batch_first(module))
    return None


def _scripted_batch_first(module: nn.Module) -> bool:
    """A TorchScript LSTM/GRU/RNN keeps no ``batch_first`` attribute; its graph passes it to the kernel
    (``aten::lstm(input, hx, params, has_biases, layers, dropout, train, bidirectional, batch_first)``)."""
    graph = getattr(module, "graph", None)
    for node in graph.nodes() if graph is not None else ():
        if node.kind() in ("aten::lstm", "aten::gru", "aten::rnn_tanh", "aten::rnn_relu"):
            inputs = list(node.inputs())
            if len(inputs) > 8 and inputs[8].node().kind() == "prim::Constant":
                return bool(inputs[8].toIValue())
    return False


def first_layer(model: nn.Module) -> FirstLayer | None:
    """The first module (in definition order) that holds weights: what the input meets first, usually."""
    for name, module in model.named_modules():
        found = _describe(name, module)
        if found is not None:
            return found
    for name, module in model.named_modules():
        if any(True for _ in module.parameters(recurse=False)):
            return FirstLayer(name, "other", getattr(module, "original_name", None) or type(module).__name__)
    return None


def embedding_size(model: nn.Module) -> int | None:
    """Vocabulary size of the model's first embedding, if it starts with one."""
    found = first_layer(model)
    return found.size if found is not None and found.kind == "embedding" and found.size else None


def takes_tokens(model: nn.Module, data: DataInfo | None = None) -> bool:
    if data is not None and data.input_kind in ("tokens", "text"):
        return True
    found = first_layer(model)
    return found is not None and found.kind == "embedding"


def guess_input_shape(model: nn.Module) -> tuple[int, ...]:
    """An input shape (without batch) for a model that does not say: from its first layer."""
    found = first_layer(model)
    if found is None:
        raise InspectorError("cannot guess the model's input: it has no layer with weights; give the input shape")
    if found.kind == "embedding":
        return (32,)
    if found.kind == "conv":
        spatial = {1: (128,), 2: (224, 224), 3: (16, 112, 112)}.get(found.dims, (224, 224))
        return (found.size, *spatial)
    if found.kind == "linear":
        return (found.size,)
    if found.kind == "rnn":
        return (32, found.size) if found.batch_first else (found.size,)
    raise InspectorError(f"cannot guess the input of a model starting with {found.type}; give the input shape")


def expected_input(model: nn.Module, data: DataInfo | None = None) -> str:
    """A sentence saying what the model expects, for error messages."""
    parts = []
    if data is not None and data.input_shape:
        kind = "token ids (integers)" if takes_tokens(model, data) else "float"
        parts.append(f"its data says each sample is {format_shape(tuple(data.input_shape))} ({kind})")
    found = first_layer(model)
    if found is not None:
        where = f"its first layer {found.name!r}"
        if found.kind == "embedding":
            parts.append(f"{where} is an embedding: integer token ids in [0, {found.size}), shape "
                         "(batch, sequence length)")
        elif found.kind == "conv":
            dims = ", ".join("HWD"[i] if found.dims > 1 else "L" for i in range(found.dims))
            parts.append(f"{where} is {found.type} with {found.size} input channels: float (batch, {found.size}, "
                         f"{dims})")
        elif found.kind == "linear":
            parts.append(f"{where} is Linear with {found.size} input features")
        elif found.kind == "rnn":
            order = "(batch, sequence, features)" if found.batch_first else "(sequence, batch, features)"
            parts.append(f"{where} is {found.type}: float {order}, {found.size} features")
    return "; ".join(parts) or "no description of its input is available"


def sample_input(model: nn.Module, data: DataInfo | None, batch: int = 1, *, seed: int = 0,
                 shape: Sequence[int] | None = None) -> torch.Tensor:
    """A random batch of the right shape and dtype: token ids for text models, N(0, 1) floats otherwise."""
    shape = tuple(shape) if shape else tuple(data.input_shape) if data is not None and data.input_shape else None
    if shape is None:
        shape = guess_input_shape(model)
    gen = torch.Generator().manual_seed(seed)
    if takes_tokens(model, data):
        vocab = embedding_size(model) or int((data.extra if data else {}).get("vocab_size", 100))
        return torch.randint(0, max(1, vocab), (batch, *shape), generator=gen)
    return torch.randn((batch, *shape), generator=gen)


def run_forward(model: nn.Module, x: torch.Tensor, data: DataInfo | None = None) -> Any:
    """``model(x)`` without gradients; a failure says what the model expects instead of a bare traceback."""
    try:
        with torch.no_grad():
            return model(x)
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        got = f"{format_shape(tuple(x.shape))} {str(x.dtype).replace('torch.', '')}"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InspectorError(
            f"the model cannot run on an input of shape {got}: {first}. It expects: {expected_input(model, data)}"
        ) from None


def parse_shape(text: str) -> tuple[int, ...]:
    """"3,224,224" or "3x224x224" → (3, 224, 224)."""
    try:
        dims = tuple(int(p) for p in text.replace("x", ",").replace("×", ",").split(",") if p.strip())
    except ValueError:
        raise InspectorError(f"input shape {text!r} is not a list of integers like 3,224,224") from None
    if not dims or any(d <= 0 for d in dims):
        raise InspectorError(f"input shape {text!r} must be positive integers like 3,224,224")
    return dims


def _norm_stats(extra: Mapping[str, Any]) -> tuple[list[float], list[float]] | None:
    for source in (extra, extra.get("normalize", {}) if isinstance(extra.get("normalize"), Mapping) else {}):
        mean, std = source.get("mean"), source.get("std")
        if mean is not None and std is not None:
            return list(np.atleast_1d(mean).astype(float)), list(np.atleast_1d(std).astype(float))
    return None


def image_to_tensor(image: Any, data: DataInfo | None, model: nn.Module | None = None) -> torch.Tensor:
    """A PIL image → a normalised (1, C, H, W) batch of the model's input size."""
    shape = tuple(data.input_shape) if data is not None and data.input_shape else None
    if shape is None and model is not None:
        shape = guess_input_shape(model)
    if shape is None or len(shape) != 3:
        raise InspectorError("an image can only be fed to a model taking (channels, height, width) images; "
                             f"this one takes {format_shape(shape) if shape else 'an unknown shape'}")
    channels, height, width = shape
    image = image.convert("L" if channels == 1 else "RGB").resize((width, height))
    array = np.asarray(image, dtype=np.float32) / 255.0
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    stats = _norm_stats(data.extra) if data is not None else None
    if stats is not None:
        mean, std = (np.asarray(s, dtype=np.float32).reshape(-1, 1, 1) for s in stats)
        array = (array - mean) / std
    return torch.from_numpy(np.ascontiguousarray(array))[None]


def tensor_to_image(x: torch.Tensor, data: DataInfo | None = None) -> np.ndarray:
    """A (C, H, W) or (1, C, H, W) input → a displayable float image in [0, 1], (H, W) or (H, W, 3)."""
    array = x.detach().float().cpu().numpy()
    array = array[0] if array.ndim == 4 else array
    stats = _norm_stats(data.extra) if data is not None else None
    if stats is not None and len(stats[0]) in (1, array.shape[0]):
        mean, std = (np.asarray(s, dtype=np.float32).reshape(-1, 1, 1) for s in stats)
        array = array * std + mean
    else:
        lo, hi = float(array.min()), float(array.max())
        array = (array - lo) / (hi - lo + 1e-12)
    array = np.clip(array, 0.0, 1.0)
    return array[0] if array.shape[0] != 3 else array.transpose(1, 2, 0)


def load_input_file(path: str | Path, model: nn.Module, data: DataInfo | None) -> torch.Tensor:
    """A batch of one from an image, a ``.npy`` array, or a text file of token ids."""
    path = Path(path)
    if not path.exists():
        raise InspectorError(f"{path} does not exist")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        if takes_tokens(model, data):
            raise InspectorError(f"{path.name} is an image, but this model takes token ids")
        from PIL import Image, UnidentifiedImageError

        try:
            with warnings.catch_warnings():
                # PIL only warns between its pixel limit and twice it; such a picture is refused all the same.
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(path) as image:
                    return image_to_tensor(image, data, model)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InspectorError(
                f"{path.name} is refused: it declares more than {Image.MAX_IMAGE_PIXELS / 1e6:g} million pixels, "
                "which could be a decompression bomb (a small file that fills the memory when decoded). Scale it "
                "down in an image editor first.") from None
        except (UnidentifiedImageError, OSError) as exc:
            raise InspectorError(f"{path.name} is not a readable image ({exc})") from None
    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise InspectorError(f"{path.name} is not a plain .npy array ({exc})") from None
        tensor = torch.from_numpy(np.ascontiguousarray(array))
        tensor = tensor.long() if takes_tokens(model, data) else tensor.float()
        expected = tuple(data.input_shape) if data is not None and data.input_shape else None
        return tensor[None] if expected is not None and tuple(tensor.shape) == expected else tensor
    if suffix == ".txt" and takes_tokens(model, data):
        try:
            ids = [int(t) for t in path.read_text(encoding="utf-8").split()]
        except ValueError:
            raise InspectorError(f"{path.name}: give token ids as whitespace-separated integers") from None
        return torch.tensor([ids], dtype=torch.long)
    raise InspectorError(f"{path.name}: use an image ({', '.join(IMAGE_SUFFIXES[:3])}...), a .npy array"
                         + (" or a .txt of token ids" if takes_tokens(model, data) else ""))
