"""Parameters with more to say than a default: help, unit, range, file/folder, choices (even data-dependent).

A model's, dataset's or task's ``defaults`` maps each parameter to its default, as a bare value
(``{"hidden": 32}``) or as a :class:`Param` (``{"dropout": Param(0.1, minimum=0.0, maximum=1.0)}``). Both
mean the same to a run: the spec's ``[model.params]`` (``[data.params]``, ``[task.params]``) is merged over
the plain defaults, checked, and handed to ``build``/``load``/the task as plain values. The helpers here
turn either form into one description, so the rest of dlstudio never looks at which one a plugin used.

Nothing here imports Qt, torch or the rest of dlstudio.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, replace
from typing import Any

#: Types a parameter's default may have: what a TOML spec file can hold.
TOML_TYPES = (bool, int, float, str, list, dict)
#: What ``Param.kind`` may be: a plain value, a file's path, a folder's path.
KINDS = ("", "file", "folder")

Choices = list | tuple | Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Param:
    """One parameter: its default and what a form and the spec check need to know about it.

    ``choices`` is a list of allowed values (a drop-down), or a callable that gets the parameter values
    (every key, merged over the defaults) and returns that list: choices that depend on the data, such
    as a CSV file's columns. A callable that raises says why there are no choices (shown to the user).
    """

    default: Any
    _: KW_ONLY
    #: A sentence or two shown as the field's tooltip.
    help: str = ""
    #: Shown after the field and in its tooltip ("px", "MB", "epochs").
    unit: str = ""
    #: Inclusive bounds of a number.
    minimum: int | float | None = None
    maximum: int | float | None = None
    #: "" for a plain value, "file" or "folder" for a path (a field with a Browse button).
    kind: str = ""
    #: The file dialog's filter for kind "file", e.g. "Images (*.png *.jpg);;All files (*)".
    file_filter: str = ""
    choices: Choices | None = None
    #: The field's label; empty: made from the key ("in_memory_mb" → "In-memory cache (MB)").
    title: str = ""
    #: An empty value is a problem the form shows before Start ("choose the image folder"): for a path or
    #: text the run cannot do without, or a list that must hold something.
    required: bool = False
    #: What the drop-down shows for some choices ({0: "as stored", 3: "colour"}); the others show themselves.
    choice_labels: Mapping[Any, str] | None = None
    #: Whether the field applies, given the parameter values (every key the form knows): a field that does
    #: not apply is hidden (its value is kept). A key the callable reads may be missing: then show the field.
    applies: Callable[[Mapping[str, Any]], bool] | None = None


def param_default(value: Any) -> Any:
    """The plain default of a ``defaults`` value, a bare value or a :class:`Param`."""
    return value.default if isinstance(value, Param) else value


def param_defaults(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` with every :class:`Param` replaced by its plain default: what a run's code receives."""
    return {key: param_default(value) for key, value in defaults.items()}


def describe(defaults: Mapping[str, Any], choices: Mapping[str, Any] | None = None) -> dict[str, Param]:
    """Every parameter as a :class:`Param`: bare values wrapped, the separate ``choices`` mapping folded in."""
    out = {}
    for key, value in defaults.items():
        param = value if isinstance(value, Param) else Param(value)
        if choices and key in choices and param.choices is None:
            param = replace(param, choices=choices[key])
        out[key] = param
    return out


def resolve_choices(param: Param, values: Mapping[str, Any]) -> list | None:
    """The allowed values of ``param`` given the parameter values (callable choices are called); None: any.

    Whatever a callable choices raises is passed on: the caller says which parameter it was for.
    """
    if param.choices is None:
        return None
    if callable(param.choices):
        return list(param.choices(dict(values)))
    return list(param.choices)


def range_problem(param: Param, value: Any) -> str:
    """Why ``value`` is outside ``param``'s range ("1.5 is above the maximum 1.0"), or "" when it is not."""
    if not _is_number(value):
        return ""
    if param.minimum is not None and value < param.minimum:
        return f"{value!r} is below the minimum {param.minimum!r}"
    if param.maximum is not None and value > param.maximum:
        return f"{value!r} is above the maximum {param.maximum!r}"
    return ""


def choice_problem(value: Any, options: list) -> str:
    """Why ``value`` is not among ``options``, or "" when it is."""
    return "" if value in options else f"{value!r} is not one of {list(options)}"


def empty_problem(param: Param, title: str, value: Any) -> str:
    """Why ``value`` is missing for a required ``param`` whose label is ``title``, or "" ("empty: choose the
    image folder (Browse… or drop it on the field)"): what to do, in the words of the form."""
    if not param.required or value not in ("", []):
        return ""
    what = title[:1].lower() + title[1:] if title[1:2].islower() else title
    if param.kind:
        if param.kind not in what.lower():
            what = f"{param.kind} for {what}"
        return f"empty: choose the {what} (Browse… or drop it on the field)"
    return f"empty: fill in the {what}"


def param_problem(param: Param) -> str:
    """What is wrong with a plugin's :class:`Param` (checked when the plugin registers it), or ""."""
    default = param.default
    if isinstance(default, Param) or not isinstance(default, TOML_TYPES):
        return (f"default must be bool, int, float, str, list or dict (something a TOML spec can hold), "
                f"got {type(default).__name__}")
    for name in ("help", "unit", "file_filter", "title"):
        if not isinstance(getattr(param, name), str):
            return f"{name} must be a string, got {type(getattr(param, name)).__name__}"
    if param.kind not in KINDS:
        return f"kind must be one of {', '.join(repr(k) for k in KINDS)}, got {param.kind!r}"
    if param.kind and not isinstance(default, str):
        return f"a {param.kind} parameter needs a string default (a path), got {type(default).__name__}"
    for name in ("minimum", "maximum"):
        bound = getattr(param, name)
        if bound is None:
            continue
        if not _is_number(bound) or not math.isfinite(bound):
            return f"{name} must be a finite number, got {bound!r}"
        if not _is_number(default):
            return f"{name} applies to numbers only, and the default is {type(default).__name__}"
    if param.minimum is not None and param.maximum is not None and param.minimum > param.maximum:
        return f"minimum {param.minimum!r} is above maximum {param.maximum!r}"
    problem = range_problem(param, default)
    if problem:
        return f"default {problem}"
    if not isinstance(param.required, bool):
        return f"required must be True or False, got {param.required!r}"
    if param.required and not isinstance(default, (str, list)):
        return f"required applies to text, paths and lists only, and the default is {type(default).__name__}"
    if param.choice_labels is not None and not isinstance(param.choice_labels, Mapping):
        return f"choice_labels must map choices to labels, got {type(param.choice_labels).__name__}"
    if param.applies is not None and not callable(param.applies):
        return f"applies must be a function of the parameter values, got {type(param.applies).__name__}"
    options = param.choices
    if options is not None and not callable(options) and (
            not isinstance(options, (list, tuple)) or default not in options):
        return "choices must be a list holding its default, or a callable returning the list"
    return ""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- titles ------------------------------------------------------------------------------------------

#: Whole keys whose label is not their words in order.
TITLES = {
    "lr": "Learning rate",
    "amp": "Mixed precision (AMP)",
    "num_workers": "Data-loading workers",
    "num_classes": "Number of classes",
    "grad_clip": "Gradient clipping (max norm)",
    "channels_last": "Channels-last memory format",
    "keep_best": "Keep the best weights",
    "nesterov": "Nesterov momentum",
    "early_stopping": "Early-stopping patience",
    "eval_every": "Evaluate every",
    "valid_fraction": "Validation fraction",
    "hflip": "Horizontal flip",
    "vflip": "Vertical flip",
    "in_memory_mb": "In-memory cache (MB)",
}
#: Words spelled otherwise in a label: abbreviations in full, acronyms in capitals.
WORDS = {
    "lr": "learning rate", "amp": "AMP", "num": "number of", "dim": "dimension", "dims": "dimensions",
    "len": "length", "valid": "validation", "max": "maximum", "min": "minimum", "dir": "folder",
    "id": "ID", "ids": "IDs", "cpu": "CPU", "gpu": "GPU", "cuda": "CUDA", "rgb": "RGB", "csv": "CSV",
    "url": "URL", "onnx": "ONNX", "nan": "NaN", "mlp": "MLP", "cnn": "CNN", "rnn": "RNN", "lstm": "LSTM",
    "gru": "GRU", "gan": "GAN", "bptt": "BPTT", "ema": "EMA", "imagenet": "ImageNet", "hflip": "horizontal flip",
    "vflip": "vertical flip", "iou": "IoU", "auc": "AUC", "roc": "ROC", "mse": "MSE", "mae": "MAE",
    "bce": "BCE", "fps": "FPS", "ram": "RAM", "vram": "VRAM", "json": "JSON", "toml": "TOML", "png": "PNG",
    "jpeg": "JPEG", "svg": "SVG", "api": "API", "http": "HTTP", "vgg": "VGG", "resnet": "ResNet", "bn": "BN",
    "relu": "ReLU", "gelu": "GELU", "tv": "TV", "fid": "FID", "ssim": "SSIM",
    "psnr": "PSNR", "rng": "RNG", "dpi": "DPI",
}
#: Unit words that end a key: shown in brackets ("in_memory_mb" → "In memory (MB)").
UNIT_WORDS = {"mb": "MB", "gb": "GB", "kb": "KB", "px": "px", "ms": "ms", "pct": "%"}


def param_title(key: str, param: Param | None = None) -> str:
    """The label of a parameter: its ``title``, or the key in words, sentence-cased ("Learning rate")."""
    if param is not None and param.title:
        return param.title
    if key in TITLES:
        return TITLES[key]
    words = [w for w in key.split("_") if w]
    if not words:
        return key
    unit = ""
    if len(words) > 1 and words[-1].lower() in UNIT_WORDS:
        unit = f" ({UNIT_WORDS[words.pop().lower()]})"
    text = " ".join(WORDS.get(w.lower(), w) for w in words)
    return text[:1].upper() + text[1:] + unit
