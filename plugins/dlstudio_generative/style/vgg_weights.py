"""VGG-19's pretrained weights for style transfer: from a file the user picks, torch hub's cache, or the download.

Whatever the source, the weights are checked against VGG-19's 16 convolutions before use, and a file that does
not fit is refused with what was expected and what the file holds. Without a network the message names the file,
where it comes from and the folder torch looks in, so it can be brought in by hand.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from dlstudio_generative.style.layers import vgg19_conv_shapes

VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
VGG19_FILE = "vgg19-dcbb9e9d.pth"
VGG19_SIZE = "about 548 MB"


class WeightsError(ValueError):
    """VGG-19 weights that cannot be used (or found); the message says what to do."""


def hub_weights_path() -> Path:
    """Where torch hub keeps (and looks for) the downloaded VGG-19 weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE


def offline_message(reason: str) -> str:
    folder = hub_weights_path().parent
    return (f"VGG-19's pretrained weights are not on this machine and could not be downloaded ({reason}). "
            f"Download {VGG19_URL} ({VGG19_SIZE}) on a machine with internet and put {VGG19_FILE} in {folder} "
            "(the folder torch looks in), or choose the file as 'VGG-19 weights'. Without them, the random filter "
            "banks (features = random-banks) work offline.")


def vgg19_features_state(vgg_weights: str = "", *, report: Callable[[str], None] = print) -> dict[str, torch.Tensor]:
    """The state dict of VGG-19's ``features`` (keys ``"0.weight"`` …), checked.

    From ``vgg_weights`` when given, else torch hub's cache, else downloaded (into that cache).
    """
    if vgg_weights:
        path = Path(vgg_weights).expanduser()
        if not path.is_file():
            raise WeightsError(f"the VGG-19 weights file {path} does not exist")
        return features_state(read_weights_file(path), path.name)
    cached = hub_weights_path()
    if cached.is_file():
        try:
            return features_state(read_weights_file(cached), cached.name)
        except WeightsError as exc:
            raise WeightsError(f"{exc}. It is torch hub's copy in {cached.parent}: delete it to download it "
                               "again.") from None
    report(f"downloading VGG-19's pretrained weights ({VGG19_SIZE}) into {cached.parent}")
    from torchvision.models import VGG19_Weights

    try:
        raw = VGG19_Weights.IMAGENET1K_V1.get_state_dict(progress=True, check_hash=True, weights_only=True)
    except (OSError, TimeoutError) as exc:  # URLError and HTTPError are OSErrors
        raise WeightsError(offline_message(str(getattr(exc, "reason", None) or exc))) from None
    except RuntimeError as exc:  # a download that arrived damaged (torch checks the hash in its name)
        raise WeightsError(offline_message(f"the download was damaged: {exc}")) from None
    return features_state(raw, VGG19_FILE)


def read_weights_file(path: Path) -> Mapping[str, Any]:
    """The tensors in a ``.pth``/``.pt`` (read with ``weights_only=True``) or ``.safetensors`` file."""
    name = path.name
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsError(f"{name} is truncated or not a safetensors file ({exc})") from None
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" in str(exc).lower():
            raise WeightsError(f"{name} holds more than tensors (a whole pickled model?), which is not loaded for "
                               "safety: save the network's state_dict() instead") from None
        raise WeightsError(f"{name} is truncated or not a PyTorch weights file ({_first_line(exc)})") from None
    except (RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise WeightsError(f"{name} is truncated or not a PyTorch weights file ({_first_line(exc)})") from None
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]  # a training checkpoint that wraps the weights
    if not isinstance(loaded, Mapping):
        raise WeightsError(f"{name} holds a {type(loaded).__name__}, not a state dict of named tensors")
    return loaded


def features_state(raw: Mapping[str, Any], name: str) -> dict[str, torch.Tensor]:
    """``raw`` (torchvision's whole ``vgg19`` state dict, or that of its ``features``) as ``features``' own
    state dict, or :class:`WeightsError` saying what was expected and what ``raw`` holds."""
    tensors = {str(k).removeprefix("module."): v for k, v in raw.items() if isinstance(v, torch.Tensor)}
    if any(key.startswith("features.") for key in tensors):
        tensors = {key.removeprefix("features."): v for key, v in tensors.items() if key.startswith("features.")}
    expected = vgg19_conv_shapes()
    if any("running_mean" in key for key in tensors):
        raise WeightsError(f"{name} is VGG-19 with batch normalisation (vgg19_bn), a different network: "
                           f"{_expected(expected)}")
    missing = [key for key in expected if key not in tensors]
    if missing:
        raise WeightsError(f"{name} does not hold VGG-19's weights: {_expected(expected)}; this file has "
                           f"{_summary(tensors)}")
    for key, shape in expected.items():
        if tuple(tensors[key].shape) != shape:
            raise WeightsError(f"{name} does not hold VGG-19's weights: features.{key} is "
                               f"{_shape(tuple(tensors[key].shape))} in this file, VGG-19's is {_shape(shape)}")
        if not tensors[key].is_floating_point():
            raise WeightsError(f"{name}: features.{key} holds {tensors[key].dtype} values, not weights")
    return {key: tensors[key].float() for key in expected}


def _expected(expected: Mapping[str, tuple[int, ...]]) -> str:
    weights = [key for key in expected if key.endswith("weight")]
    first, last = weights[:2], weights[-1]
    shown = ", ".join(f"features.{key} {_shape(expected[key])}" for key in first)
    return f"expected VGG-19's {len(weights)} conv layers ({shown}, … features.{last} {_shape(expected[last])})"


def _summary(tensors: Mapping[str, torch.Tensor]) -> str:
    if not tensors:
        return "no tensors at all"
    shown = ", ".join(f"{key} {_shape(tuple(t.shape))}" for key, t in list(tensors.items())[:3])
    more = f" and {len(tensors) - 3} more" if len(tensors) > 3 else ""
    return f"{len(tensors)} tensors: {shown}{more}"


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape) or "a scalar"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
