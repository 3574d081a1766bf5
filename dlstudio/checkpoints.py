"""Checkpoints: safetensors weights plus a JSON sidecar, written atomically; loading never unpickles.

A checkpoint ``NAME`` is two files: ``NAME.safetensors`` (tensors) and ``NAME.json`` (architecture id,
plugin, classes, preprocessing, spec...). Each is written to a temporary file, flushed to disk and
renamed over the old one, so a crash or a full disk leaves the previous checkpoint intact.

Importing this module does not import torch (``CheckpointError`` is needed without it); the functions do.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError

from dlstudio.errors import CheckpointError, as_disk_full

if TYPE_CHECKING:
    import torch

FORMAT = "dlstudio-checkpoint/1"


def atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    """Write ``path`` through a temporary file in the same folder, then rename it into place.

    Whatever fails (a full disk: :class:`DiskFullError`), the file at ``path`` is the old one, whole.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise as_disk_full(exc, path.parent, str(path.name)) or exc from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        full = as_disk_full(exc, path.parent, str(path.name)) if isinstance(exc, OSError) else None
        if full is not None and full is not exc:
            raise full from None
        raise


def _tensors_for_saving(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses tensors sharing storage (tied weights); independent contiguous CPU copies fit.
    return {k: v.detach().to("cpu").clone().contiguous() for k, v in state.items()}


def save_checkpoint(stem: Path, state: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> Path:
    """Write ``stem.safetensors`` and ``stem.json``; return the weights path."""
    from safetensors.torch import save

    weights = stem.with_suffix(".safetensors")
    payload = save(_tensors_for_saving(state))
    atomic_write(weights, lambda fh: fh.write(payload))
    sidecar = {"format": FORMAT, **meta}
    text = json.dumps(sidecar, indent=2, default=str).encode()
    atomic_write(stem.with_suffix(".json"), lambda fh: fh.write(text))
    return weights


def read_sidecar(path: Path) -> dict[str, Any]:
    sidecar = Path(path).with_suffix(".json")
    if not sidecar.exists():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{sidecar} is not valid JSON ({exc}); the checkpoint's description is lost") from None
    return data if isinstance(data, dict) else {}


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and sidecar of a checkpoint (``.safetensors``) or a ``.pt``/``.pth`` state dict.

    What the file holds decides how it is read, not its name; a known format that is not a checkpoint
    (ONNX, TorchScript, a run's training state...) is refused with a message naming it.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist")
    head = _head(path)
    _refuse_other_formats(path, head)
    torch_file = head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")
    if path.suffix in (".pt", ".pth", ".bin") or (torch_file and not _is_safetensors(head)):
        return load_torch_state_dict(path), read_sidecar(path)
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path} is corrupt or truncated and cannot be loaded ({exc})") from None
    meta = read_sidecar(path)
    if "__dict__" in meta:  # the JSON half of save_train_state, beside a run's checkpoints
        raise CheckpointError(
            f"{path} is a run's training state (optimiser and scheduler), not model weights: use "
            f"{path.parent / 'best.safetensors'} or {path.parent / 'last.safetensors'} instead")
    return tensors, meta


# -- files that are not checkpoints ------------------------------------------------------------------


def _head(path: Path, size: int = 64) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError as exc:
        raise CheckpointError(f"{path} cannot be read ({exc.strerror})") from None


def _is_safetensors(head: bytes) -> bool:
    """safetensors: an 8-byte little-endian header length, then the JSON header."""
    return len(head) > 8 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") > 1


def _looks_like_onnx(head: bytes) -> bool:
    # An ONNX ModelProto opens with field 1 (ir_version, a small varint) then another field's tag.
    return (len(head) > 3 and head[0] == 0x08 and 1 <= head[1] <= 30
            and head[2] in (0x12, 0x1A, 0x22, 0x2A, 0x32, 0x3A, 0x42) and not _is_safetensors(head))


def _is_torchscript_zip(path: Path) -> bool:
    """A TorchScript archive is a zip holding compiled code (``code/``) besides its tensors."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any("/code/" in n or n.endswith("constants.pkl") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _refuse_other_formats(path: Path, head: bytes) -> None:
    """Name a known format that is not a checkpoint, instead of calling it corrupt."""
    what = None
    if head.startswith(b"PK\x03\x04") and _is_torchscript_zip(path):
        what = ("a TorchScript file, not a checkpoint: it holds code besides its weights, and dlstudio never runs "
                "a file's code to read weights. Save the model's state dict instead "
                "(torch.save(model.state_dict(), ...)), or open the file in the inspector, which asks first")
    elif path.suffix.lower() == ".onnx" or _looks_like_onnx(head):
        what = ("an ONNX file, not a checkpoint: dlstudio exports ONNX but cannot train from it. Use the "
                ".safetensors checkpoint (or .pt state dict) the model was exported from")
    elif head.startswith(b"\x89HDF\r\n\x1a\n"):
        what = ("an HDF5 file (Keras or TensorFlow weights), not a checkpoint: dlstudio reads .safetensors "
                "checkpoints and PyTorch state dicts")
    elif head.startswith(b"\x93NUMPY"):
        what = "a NumPy array (.npy), not a checkpoint: save the weights as a .safetensors file or a state dict"
    elif head.startswith(b"GGUF"):
        what = "a GGUF file (llama.cpp), not a checkpoint: dlstudio reads .safetensors checkpoints and state dicts"
    if what:
        raise CheckpointError(f"{path} is {what}")


def load_torch_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A ``.pt``/``.pth`` state dict, loaded with ``weights_only=True``: no code in the file runs."""
    import torch

    head = _head(path)
    _refuse_other_formats(path, head)
    # torch.save writes a zip archive (or, before 1.6, a pickle): anything else is not a PyTorch file,
    # and the weights-only unpickler would misreport it as holding unsafe objects.
    if not (head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")):
        raise CheckpointError(f"{path} is not a readable PyTorch file (not a zip archive or a pickle)")
    try:
        with warnings.catch_warnings():
            # torch's notes on the pickle ("Detected pickle protocol 4...") would come before our own message.
            warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not (head.startswith(b"PK\x03\x04") or _is_pickle_stream(path)):
            raise CheckpointError(
                f"{path} is not a checkpoint dlstudio can read: it starts like a pickle but its bytes are not a "
                "valid pickle stream (a damaged or unrelated file). Open a .safetensors checkpoint or a state dict "
                "saved with torch.save(model.state_dict(), ...)") from None
        raise CheckpointError(
            f"{path} was refused: it holds pickled Python objects, not just tensors, and loading it could "
            f"run arbitrary code. Re-save it as a state dict (torch.save(model.state_dict(), ...)). "
            f"Detail: {_unpickler_detail(exc)}"
        ) from None
    except Exception as exc:  # a damaged file fails in many ways (RuntimeError, EOFError, KeyError...)
        raise CheckpointError(f"{path} is not a readable PyTorch file ({type(exc).__name__}: {exc})") from None
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]  # a common training-script layout
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, not a state dict of tensors")
    return dict(obj)


def _is_pickle_stream(path: Path) -> bool:
    """Whether the file opens with a whole, well-formed pickle (opcodes parsed, nothing run or imported)."""
    import pickletools

    with open(path, "rb") as fh:
        data = fh.read(1 << 20)
    if len(data) < 2 or data[1] > pickle.HIGHEST_PROTOCOL:
        return False
    try:
        return any(op.name == "STOP" for op, _arg, _pos in pickletools.genops(data))
    except (ValueError, EOFError, UnicodeDecodeError):
        return False


def _unpickler_detail(exc: Exception) -> str:
    """The useful line of torch's weights-only error ("Unsupported global: GLOBAL io.open ..."), sans colour codes.

    Torch's own advice (re-run with ``weights_only=False``) is left out: it is the unsafe option.
    """
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    match = (re.search(r"WeightsUnpickler error:\s*([^\n]+)", text)
             or re.search(r"((?:Unsupported|Trying to load unsupported) [^\n]*)", text))
    if match:
        return match.group(1).split(". Please use")[0].strip()
    return "it names Python objects that a weights-only load does not allow"


def apply_weights(model: torch.nn.Module, state: Mapping[str, torch.Tensor], *, source: str = "") -> None:
    """Load ``state`` into ``model``, or say exactly which keys and shapes do not fit."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or mismatched:
        parts = []
        for label, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", mismatched)):
            if items:
                more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
                parts.append(f"{label}: {', '.join(items[:5])}{more}")
        where = f"{source} " if source else ""
        raise CheckpointError(f"the weights in {where}do not fit this architecture — " + "; ".join(parts))
    model.load_state_dict(state)


# -- training state (optimisers, schedulers) -------------------------------------------------------
# Optimiser state is a nested structure of tensors and numbers. Tensors go to safetensors under their
# path; the rest to JSON with placeholders, so resuming never needs pickle either.


def flatten_state(obj: Any, prefix: str = "", tensors: dict[str, torch.Tensor] | None = None) -> tuple[Any, dict]:
    import torch

    tensors = {} if tensors is None else tensors
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj
        return {"__tensor__": prefix}, tensors
    if isinstance(obj, Mapping):
        return {
            "__dict__": [[_key(k), flatten_state(v, f"{prefix}/{k}", tensors)[0]] for k, v in obj.items()]
        }, tensors
    if isinstance(obj, (list, tuple)):
        items = [flatten_state(v, f"{prefix}/{i}", tensors)[0] for i, v in enumerate(obj)]
        return ({"__tuple__": items} if isinstance(obj, tuple) else items), tensors
    return obj, tensors


def unflatten_state(obj: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__dict__" in obj:
            return {_unkey(k): unflatten_state(v, tensors) for k, v in obj["__dict__"]}
        if "__tuple__" in obj:
            return tuple(unflatten_state(v, tensors) for v in obj["__tuple__"])
    if isinstance(obj, list):
        return [unflatten_state(v, tensors) for v in obj]
    return obj


def _key(k: Any) -> Any:
    return {"int": k} if isinstance(k, int) else k


def _unkey(k: Any) -> Any:
    return k["int"] if isinstance(k, dict) else k


def save_train_state(stem: Path, state: Mapping[str, Any]) -> None:
    from safetensors.torch import save

    structure, tensors = flatten_state(state)
    payload = save(_tensors_for_saving(tensors)) if tensors else save({})
    atomic_write(stem.with_suffix(".safetensors"), lambda fh: fh.write(payload))
    text = json.dumps(structure).encode()
    atomic_write(stem.with_suffix(".json"), lambda fh: fh.write(text))


def load_train_state(stem: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(stem.with_suffix(".safetensors")))
        structure = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"the training state {stem} is missing or corrupt ({exc})") from None
    return unflatten_state(structure, tensors)
