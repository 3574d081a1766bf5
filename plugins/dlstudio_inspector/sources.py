"""Where a model comes from: a registered architecture, a run's checkpoint, or a file.

Everything ends as an :class:`OpenedModel`, the "current model" every view works on: an ``nn.Module`` in
eval mode on the CPU, the data it was built for, and where it came from (so a run's model can be refreshed
from its latest checkpoint).
"""

from __future__ import annotations

import difflib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from dlstudio import runs
from dlstudio.contract import DataInfo
from dlstudio.params import param_defaults
from dlstudio.runs import CheckpointError
from dlstudio_inspector import trust
from dlstudio_inspector.common import InspectorError, quiet_torch
from dlstudio_inspector.inputs import guess_input_shape, run_forward, sample_input

if TYPE_CHECKING:
    from dlstudio.studio import Studio

CHECKPOINT_KINDS = runs.WEIGHTS
STATE_DICT_SUFFIXES = (".pt", ".pth", ".bin")
#: The extra file a TorchScript export writes (``torch.jit.save(..., _extra_files=...)``): the JSON of a
#: checkpoint's sidecar, of which ``input_shape`` (without the batch), ``input_kind``, ``classes`` and
#: ``preprocessing`` are read.
TORCHSCRIPT_META = "dlstudio.json"


class UntrustedCode(InspectorError):
    """A TorchScript file the user has not allowed to run: ``path`` and the ``digest`` of its bytes."""

    def __init__(self, path: Path, digest: str) -> None:
        super().__init__(
            f"{path.name} is a TorchScript file: it holds compiled code, and opening it runs that code (when it "
            "is loaded and on every forward pass). PyTorch does not consider TorchScript from untrusted sources "
            "safe, so it was not loaded. If you trust where it came from, open it again with --trust-torchscript "
            "(in the window, answer Yes when asked); otherwise ask for a .safetensors checkpoint instead.")
        self.path = path
        self.digest = digest


class NeedsArchitecture(InspectorError):
    """A bare state dict: the user must say which architecture it belongs to (``candidates`` fit it)."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


@dataclass
class OpenedModel:
    """The model the inspector's views work on."""

    model: nn.Module
    title: str
    data: DataInfo
    #: "registered", "run", "file" or "torchscript".
    kind: str
    #: Registered architecture id, when known (not for TorchScript files).
    model_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    run_id: str | None = None
    #: Which of the run's checkpoints ("best", "last", "final") and its epoch.
    checkpoint: str | None = None
    epoch: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def sample(self, batch: int = 1, seed: int = 0) -> torch.Tensor:
        """A random input batch of the right shape and dtype."""
        return sample_input(self.model, self.data, batch, seed=seed)

    @property
    def is_scripted(self) -> bool:
        return isinstance(self.model, torch.jit.ScriptModule)

    @property
    def origin(self) -> str:
        if self.kind == "run":
            return f"run {self.run_id} ({self.checkpoint}, epoch {self.epoch})"
        if self.path is not None:
            return str(self.path)
        return f"registered model {self.model_id}" if self.model_id else "built in memory"


def _prepare(model: nn.Module) -> nn.Module:
    return model.to("cpu").eval()


def _guarded_build(what: str, fn, *args: Any, **kwargs: Any):
    """Call a plugin's builder (through the runs API); its failures become messages, never tracebacks."""
    try:
        with quiet_torch():
            return fn(*args, **kwargs)
    except (CheckpointError, KeyError, InspectorError):
        raise
    except OSError as exc:  # urllib's URLError is an OSError: a download of pretrained weights failed
        raise InspectorError(
            f"{what} could not be built: {exc}. If it downloads pretrained weights, this machine may be offline: "
            f"open it without pretrained weights, or put the weights file in torch's cache "
            f"({torch.hub.get_dir()}/checkpoints)") from None
    except Exception as exc:  # a plugin's builder may raise anything
        raise InspectorError(f"{what} could not be built: {type(exc).__name__}: {exc}") from None


def open_registered(studio: Studio, model_id: str, params: Mapping[str, Any] | None = None,
                    data: DataInfo | None = None) -> OpenedModel:
    """A freshly initialised registered model, built for its ``default_data`` (or ``data``)."""
    loaded = _guarded_build(model_id, runs.build_model, studio, model_id, params, data)
    return OpenedModel(_prepare(loaded.model), loaded.spec.title, loaded.data, "registered", model_id=model_id,
                       params=dict(loaded.params), notes=["freshly initialised weights (not trained)"])


def open_checkpoint(studio: Studio, path: str | Path, architecture: str | None = None,
                    data: DataInfo | None = None) -> OpenedModel:
    """A dlstudio checkpoint (safetensors + sidecar) or a ``.pt``/``.pth`` state dict (loaded safely)."""
    path = Path(path)
    if architecture is None and not runs.weights_meta(path).get("architecture"):
        state = runs.load_weights(path).state
        reports = fit_reports(studio, state)
        fits = [k for k, r in reports.items() if fits_exactly(r)]
        if fits:
            hint = f"They fit: {', '.join(fits)}."
        elif reports:
            closest = min(reports, key=lambda k: (len(reports[k]["missing"]) + len(reports[k]["unexpected"]),
                                                  len(reports[k]["shape"])))
            hint = (f"They fit no registered architecture; the closest is {closest} — "
                    f"{describe_misfit(reports[closest])}.")
        else:
            hint = "No registered architecture can be built to compare them with."
        raise NeedsArchitecture(
            f"{path.name} holds weights only ({len(state)} tensors) and does not say which architecture "
            f"they belong to; choose one. {hint}", fits)
    loaded = _guarded_build(architecture or str(path), runs.load_model_file, studio, path, architecture=architecture,
                            data=data)
    meta = loaded.meta
    title = f"{loaded.spec.title} — {path.name}"
    return OpenedModel(_prepare(loaded.model), title, loaded.data, "file", model_id=loaded.spec.id,
                       params=dict(loaded.params), path=path, epoch=meta.get("epoch"), meta=dict(meta),
                       run_id=meta.get("run_id"))


def is_torchscript(path: Path) -> bool:
    """A TorchScript archive is a zip holding compiled code (``code/``) besides its tensors."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any("/code/" in n or n.endswith("constants.pkl") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def open_torchscript(path: str | Path, input_shape: tuple[int, ...] | None = None, *,
                     trusted: bool = False) -> OpenedModel:
    """A TorchScript file (``torch.jit.load``), only if ``trusted`` or allowed in :mod:`trust` this session.

    Its code runs when it is loaded and on every forward pass, so without permission nothing is loaded and
    :class:`UntrustedCode` says why. The bytes checked are the bytes loaded (no swap in between).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InspectorError(f"{path} cannot be read ({exc.strerror})") from None
    sha256 = trust.digest(data)
    if not (trusted or trust.is_allowed(path, sha256)):
        raise UntrustedCode(path, sha256)
    extra = {TORCHSCRIPT_META: ""}
    try:
        with quiet_torch():
            model = torch.jit.load(io.BytesIO(data), map_location="cpu", _extra_files=extra)
    except (RuntimeError, ValueError, OSError) as exc:
        raise InspectorError(f"{path.name} is not a loadable TorchScript file ({str(exc).splitlines()[0]})") from None
    meta = _torchscript_meta(extra[TORCHSCRIPT_META])
    notes = ["TorchScript: per-layer output shapes and hooks are not available, only the model's output",
             "TorchScript runs its own code: opened because you trust this file"]
    written = tuple(meta.get("input_shape") or ())
    shape = tuple(input_shape or written) or guess_input_shape(model)
    kind = meta.get("input_kind") or ("tokens" if len(shape) == 1 and _starts_with_embedding(model)
                                      else "image" if len(shape) == 3 else "vector")
    info = DataInfo(input_shape=shape, input_kind=kind, classes=tuple(meta.get("classes") or ()),
                    extra=dict(meta.get("preprocessing") or {}))
    model = model.eval()
    if not (input_shape or written):
        notes.append(_guess_note(model, info))
    return OpenedModel(model, f"TorchScript — {path.name}", info, "torchscript", path=path, notes=notes,
                       meta=meta)


def _torchscript_meta(raw: bytes | str) -> dict[str, Any]:
    """What the export wrote into the file (:data:`TORCHSCRIPT_META`); empty when absent or unreadable, and
    without an ``input_shape`` that is not a list of positive integers (then the shape is guessed, and says so)."""
    if not raw:
        return {}
    try:
        meta = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(meta, dict):
        return {}
    shape = meta.get("input_shape")
    if not (isinstance(shape, list) and shape and all(isinstance(d, int) and d > 0 for d in shape)):
        meta.pop("input_shape", None)
    return meta


def _guess_note(model: nn.Module, data: DataInfo) -> str:
    """Say the shape is a guess, and whether the model runs on it (a forward pass with a random sample)."""
    shape = "×".join(map(str, data.input_shape))
    where = "set it with --input-shape (in the window: the Input shape field, then open the file again)"
    try:
        run_forward(model, sample_input(model, data), data)
    except InspectorError as exc:
        return f"input shape {shape} guessed from the first layer does not run ({exc}); {where}"
    return f"input shape {shape} guessed from the first layer (the file does not say it); if it is wrong, {where}"


def _starts_with_embedding(model: nn.Module) -> bool:
    from dlstudio_inspector.inputs import takes_tokens

    return takes_tokens(model)


def open_file(studio: Studio, path: str | Path, architecture: str | None = None,
              input_shape: tuple[int, ...] | None = None, *, trust_torchscript: bool = False) -> OpenedModel:
    """Any model file: TorchScript (run only if trusted: see :func:`open_torchscript`), a dlstudio checkpoint,
    or a state dict (which needs ``architecture``)."""
    path = Path(path)
    if not path.exists():
        raise InspectorError(f"{path} does not exist")
    if path.is_dir():
        raise InspectorError(f"{path} is a folder; choose a model file (.safetensors, .pt, .pth)")
    if path.suffix.lower() == ".onnx":  # an exported graph, not a PyTorch model: the ONNX view reads it
        from dlstudio_inspector.onnx_model import OnnxGraphFile

        raise OnnxGraphFile(path)
    if is_torchscript(path):
        return open_torchscript(path, input_shape, trusted=trust_torchscript)
    if path.suffix == ".json" and path.with_suffix(".safetensors").exists():
        path = path.with_suffix(".safetensors")
    if path.suffix not in (".safetensors", *STATE_DICT_SUFFIXES):
        raise InspectorError(f"{path.name} is not a model file: open a .safetensors checkpoint, a .pt/.pth "
                             "state dict, a TorchScript file or an .onnx graph")
    if path.suffix in STATE_DICT_SUFFIXES and not _looks_like_torch_file(path):
        raise InspectorError(f"{path.name} is not a readable PyTorch file: it is neither a torch.save zip archive "
                             "nor a pickle")
    data = None
    if input_shape:
        base = _default_data(studio, architecture) if architecture else None
        data = DataInfo(input_shape=tuple(input_shape), classes=base.classes if base else (),
                        input_kind=base.input_kind if base else "image", extra=dict(base.extra) if base else {})
    try:
        return open_checkpoint(studio, path, architecture, data)
    except CheckpointError as exc:
        raise InspectorError(str(exc)) from None


def _looks_like_torch_file(path: Path) -> bool:
    if zipfile.is_zipfile(path):
        return True
    with path.open("rb") as fh:
        return fh.read(1) == b"\x80"  # a pickle's protocol marker (torch.save's legacy format)


def _default_data(studio: Studio, model_id: str) -> DataInfo | None:
    return studio.registry.models.get(model_id).default_data


def open_run(studio: Studio, run_id: str, which: str | None = None) -> OpenedModel:
    """A run's model at its best (default), last or final checkpoint."""
    saved = runs.artifacts(studio, run_id)  # raises a clear KeyError for an unknown run
    if not saved:
        raise InspectorError(f"run {run_id} has no checkpoint yet (it saves one at the end of each epoch)")
    which = which or next(k for k in ("best", "final", "last") if k in saved)
    if which not in saved:
        raise InspectorError(f"run {run_id} has no {which!r} checkpoint; it has: {', '.join(sorted(saved))}")
    try:
        loaded = _guarded_build(f"run {run_id}", runs.load_model, studio, run_id, which)
    except CheckpointError as exc:
        raise InspectorError(f"run {run_id}: {exc}") from None
    info = runs.get_run(studio, run_id)
    title = f"{loaded.spec.title} — run {info.name or run_id}"
    return OpenedModel(_prepare(loaded.model), title, loaded.data, "run", model_id=loaded.spec.id,
                       params=dict(loaded.params), path=loaded.path, run_id=run_id, checkpoint=which,
                       epoch=loaded.epoch, meta=dict(loaded.meta))


def refresh(studio: Studio, opened: OpenedModel) -> OpenedModel | None:
    """The run's model at its latest checkpoint if it moved on since ``opened``; None otherwise."""
    if opened.kind != "run" or opened.run_id is None:
        return None
    last = runs.artifacts(studio, opened.run_id).get("last")
    if last is None or (last.epoch == opened.epoch and opened.checkpoint == "last"):
        return None
    return open_run(studio, opened.run_id, "last")


def open_target(studio: Studio, target: str, architecture: str | None = None,
                input_shape: tuple[int, ...] | None = None, *, trust_torchscript: bool = False) -> OpenedModel:
    """``MODEL_OR_FILE`` of the CLI: ``run:RUN_ID[:best|last|final]``, a registered model id, or a path."""
    if target.startswith("run:"):
        run_id, _, which = target[4:].partition(":")
        return open_run(studio, run_id, which or None)
    exists = _exists(target)
    model_id, note = (target, None) if target in studio.registry.models else _bare_model_id(studio, target)
    if model_id is not None and not exists:
        data = None
        if input_shape:
            base = _default_data(studio, model_id)
            data = DataInfo(input_shape=tuple(input_shape), classes=base.classes if base else (),
                            input_kind=base.input_kind if base else "image", extra=dict(base.extra) if base else {})
        opened = open_registered(studio, model_id, data=data)
        opened.notes.extend([note] if note else [])
        return opened
    if exists:
        return open_file(studio, target, architecture, input_shape, trust_torchscript=trust_torchscript)
    ids = sorted(studio.registry.models.ids())
    close = difflib.get_close_matches(target, ids, n=3) if len(target) < 200 else []
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    shown = target if len(target) <= 80 else f"{target[:60]}… ({len(target):,} characters)"
    raise InspectorError(f"{shown!r} is neither a file, a registered model nor run:RUN_ID.{hint} "
                         f"Known models: {', '.join(ids) or 'none'}")


def _exists(target: str) -> bool:
    """``Path.exists`` that answers False for a name the file system cannot hold (too long, a NUL byte)."""
    try:
        return Path(target).exists()
    except (OSError, ValueError):
        return False


def _bare_model_id(studio: Studio, name: str) -> tuple[str | None, str | None]:
    """``resnet18`` → ``images.resnet18`` when exactly one plugin registers that name; a note says which."""
    if _exists(name):
        return None, None
    matches = sorted(i for i in studio.registry.models.ids() if i.rpartition(".")[2] == name)
    if len(matches) > 1:
        raise InspectorError(f"{name!r} is registered by more than one plugin: {', '.join(matches)}; give the "
                             "full id")
    if matches:
        return matches[0], f"{name!r} taken as the registered model {matches[0]}"
    return None, None


# -- which architecture fits a bare state dict ------------------------------------------------------


def architecture_fit(studio: Studio, model_id: str, state: Mapping[str, torch.Tensor]) -> dict[str, list[str]]:
    """Keys of ``state`` that do not fit ``model_id`` built at its defaults: missing, unexpected, shape."""
    spec = studio.registry.models.get(model_id)
    if spec.default_data is None:
        return {"missing": ["(the model has no default data to be built with)"], "unexpected": [], "shape": []}
    try:
        with torch.device("meta"), quiet_torch():
            model = spec.build(param_defaults(spec.defaults), spec.default_data)
    except Exception:  # a builder that cannot run on the meta device: build it for real
        with quiet_torch():
            model = spec.build(param_defaults(spec.defaults), spec.default_data)
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    return {
        "missing": [k for k in own if k not in state],
        "unexpected": [k for k in state if k not in own],
        "shape": [f"{k}: file {tuple(state[k].shape)} vs model {own[k]}" for k in own
                  if k in state and tuple(state[k].shape) != own[k]],
    }


def fit_reports(studio: Studio, state: Mapping[str, torch.Tensor]) -> dict[str, dict[str, list[str]]]:
    """:func:`architecture_fit` for every registered model that can be built."""
    reports = {}
    for spec in studio.registry.models:
        try:
            reports[spec.id] = architecture_fit(studio, spec.id, state)
        except Exception:  # a plugin's builder failing must not stop the search
            continue
    return reports


def fits_exactly(report: Mapping[str, list[str]]) -> bool:
    """Same names *and* shapes: only then does opening the file with that architecture work."""
    return not (report["missing"] or report["unexpected"] or report["shape"])


def matching_architectures(studio: Studio, state: Mapping[str, torch.Tensor]) -> list[str]:
    """Registered models (built at their defaults) whose parameter names and shapes match ``state``."""
    return [k for k, r in fit_reports(studio, state).items() if fits_exactly(r)]


def describe_misfit(report: Mapping[str, list[str]], limit: int = 5) -> str:
    parts = []
    for label, key in (("missing", "missing"), ("unexpected", "unexpected"), ("shape mismatch", "shape")):
        items = report[key]
        if items:
            more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
            parts.append(f"{label}: {', '.join(items[:limit])}{more}")
    return "; ".join(parts) or "fits"
