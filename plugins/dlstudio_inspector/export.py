"""Export to ONNX, TorchScript or safetensors, each verified by running the exported model on the same input.

ONNX uses the dynamo exporter with ``external_data=False`` (one self-contained file), is checked with
``onnx.checker`` and run with onnxruntime when installed, else with onnx's reference evaluator.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from dlstudio import runs
from dlstudio.runs import CheckpointError
from dlstudio_inspector import trust
from dlstudio_inspector.common import InspectorError, flat_tensors, human_bytes, quiet_torch, strip_ansi

if TYPE_CHECKING:
    from dlstudio.studio import Studio
    from dlstudio_inspector.sources import OpenedModel

FORMATS = ("onnx", "torchscript", "safetensors")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt", "safetensors": ".safetensors"}


class ExportError(InspectorError):
    """The exporter refused the model; the message carries its reason."""


@dataclass
class ExportResult:
    format: str
    path: Path
    size: int
    #: Default-domain opset of an ONNX file.
    opset: int | None = None
    #: What ran the exported model for the check: "onnxruntime", "onnx reference evaluator", ...
    verified_with: str = ""
    max_abs_diff: float | None = None
    tolerance: float | None = None
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)
    #: Extra files written next to ``path`` (the safetensors sidecar).
    extra_files: list[Path] = field(default_factory=list)

    @property
    def passed(self) -> bool | None:
        if self.max_abs_diff is None:
            return None
        return self.max_abs_diff <= self.tolerance

    def describe(self) -> str:
        lines = [f"wrote {self.path} ({self.format}, {human_bytes(self.size)}"
                 + (f", opset {self.opset}" if self.opset else "") + f", {self.seconds:.1f} s)"]
        if self.max_abs_diff is not None:
            verdict = "outputs match" if self.passed else "OUTPUTS DIFFER"
            lines.append(f"verified with {self.verified_with}: {verdict}, max |difference| "
                         f"{self.max_abs_diff:.3g} (tolerance {self.tolerance:.1g})")
        lines += [f"note: {m}" for m in self.messages]
        return "\n".join(lines)


def exporter_reason(exc: BaseException) -> str:
    """The useful part of an exporter's error (the dynamo exporter wraps it in advice)."""
    text = strip_ansi(str(exc))
    if "## Exception summary" in text:
        text = text.split("## Exception summary", 1)[1].split("(Refer to the full stack trace", 1)[0]
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and ln.strip() != "⬆️"]
        text = " ← ".join(lines)
    return f"{type(exc).__name__}: {text.strip()[:1500]}"


def _tolerance(reference: list[torch.Tensor]) -> float:
    scale = max((float(t.abs().max()) for t in reference if t.numel() and t.is_floating_point()), default=1.0)
    return 1e-4 * max(1.0, scale)


def _compare(reference: Any, other: list[Any]) -> float:
    ref = [t.detach().float().cpu() for t in flat_tensors(reference)]
    got = [torch.as_tensor(np.asarray(o)).float() for o in other]
    if len(ref) != len(got):
        raise ExportError(f"the exported model returns {len(got)} outputs, the original {len(ref)}")
    diff = 0.0
    for i, (a, b) in enumerate(zip(ref, got)):
        if tuple(a.shape) != tuple(b.shape):
            raise ExportError(f"output {i}: exported shape {tuple(b.shape)} vs original {tuple(a.shape)}")
        if a.numel():
            diff = max(diff, float((a - b).abs().max()))
    return diff


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def _begin(model: torch.nn.Module, x: torch.Tensor, path: str | Path) -> tuple[Path, Path, float, torch.Tensor]:
    """What both exports start with: the folder, a temporary file beside the target, the clock, and the
    model's own output on ``x`` (what the exported file is checked against)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    model.eval()
    with torch.no_grad():
        reference = model(x)
    return path, _temporary(path), start, reference


def export_onnx(model: torch.nn.Module, x: torch.Tensor, path: str | Path, verify: bool = True) -> ExportResult:
    import onnx

    path, tmp, start, reference = _begin(model, x, path)
    scripted = isinstance(model, torch.jit.ScriptModule)
    try:
        with quiet_torch() as warned:
            if scripted:  # the dynamo exporter refuses ScriptModules; the TorchScript-based one takes them
                torch.onnx.export(model, (x,), str(tmp), dynamo=False, verbose=False)
            else:
                torch.onnx.export(model, (x,), str(tmp), dynamo=True, external_data=False, verbose=False)
    except Exception as exc:
        raise ExportError(f"the ONNX exporter refused this model — {exporter_reason(exc)}") from None
    finally:
        for leftover in (tmp.with_name(tmp.name + ".data"), tmp.with_suffix(".onnx.data")):
            leftover.unlink(missing_ok=True)
    try:
        proto = onnx.load(str(tmp))
        onnx.checker.check_model(proto)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"the exported ONNX file does not pass onnx.checker: {exc}") from None
    os.replace(tmp, path)
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    # An LSTM's flattened weights always trigger this note; it says nothing about the exported file.
    notes = [w for w in warned if "were assigned during export" not in w and "deprecated" not in w]
    if scripted:
        notes.insert(0, "a TorchScript model: exported with torch's TorchScript-based ONNX exporter (dynamo=False)")
    result = ExportResult("onnx", path, path.stat().st_size, opset=opset, messages=notes)
    if verify:
        outputs, result.verified_with = _run_onnx(path, proto, x)
        result.max_abs_diff = _compare(reference, outputs)
        result.tolerance = _tolerance(flat_tensors(reference))
    result.seconds = time.perf_counter() - start
    return result


def _run_onnx(path: Path, proto: Any, x: torch.Tensor) -> tuple[list[Any], str]:
    feed_value = x.detach().cpu().numpy()
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
    if ort is not None:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return session.run(None, {name: feed_value}), f"onnxruntime {ort.__version__}"
    from onnx.reference import ReferenceEvaluator

    evaluator = ReferenceEvaluator(proto)
    name = proto.graph.input[0].name
    return evaluator.run(None, {name: feed_value}), "onnx reference evaluator (onnxruntime is not installed)"


def export_torchscript(model: torch.nn.Module, x: torch.Tensor, path: str | Path, verify: bool = True
                       ) -> ExportResult:
    path, tmp, start, reference = _begin(model, x, path)
    try:
        with quiet_torch() as warned, torch.no_grad():
            scripted = model if isinstance(model, torch.jit.ScriptModule) else torch.jit.trace(model, (x,),
                                                                                              strict=False)
            torch.jit.save(scripted, str(tmp))
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"TorchScript tracing failed — {exporter_reason(exc)}") from None
    os.replace(tmp, path)
    # Traced here from a model already open, so its code is ours: reopening it this session needs no consent.
    trust.allow(path, trust.digest(path.read_bytes()))
    result = ExportResult("torchscript", path, path.stat().st_size,
                          messages=[w for w in warned if "deprecated" not in w])
    if verify:
        with quiet_torch(), torch.no_grad():
            loaded = torch.jit.load(str(path), map_location="cpu")
            outputs = flat_tensors(loaded(x))
        result.max_abs_diff = _compare(reference, outputs)
        result.tolerance = _tolerance(flat_tensors(reference))
        result.verified_with = "torch.jit.load"
    result.seconds = time.perf_counter() - start
    return result


def sidecar_meta(opened: OpenedModel) -> dict[str, Any]:
    """What :func:`dlstudio.runs.load_model_file` needs to rebuild the model from the safetensors file."""
    meta = {k: v for k, v in opened.meta.items() if k != "format"}
    data = opened.data
    meta.update({
        "input_shape": list(data.input_shape), "input_kind": data.input_kind, "classes": list(data.classes),
        "preprocessing": dict(data.extra), "exported_by": "dlstudio inspector", "exported_from": opened.origin,
    })
    if opened.model_id:
        meta.update({"architecture": opened.model_id, "model_params": dict(opened.params)})
    return meta


def export_safetensors(opened: OpenedModel, x: torch.Tensor, path: str | Path, studio: Studio | None = None,
                       verify: bool = True) -> ExportResult:
    start = time.perf_counter()
    model = opened.model.eval()
    with torch.no_grad():
        reference = model(x)
    weights = runs.save_weights(path, model.state_dict(), sidecar_meta(opened))
    result = ExportResult("safetensors", weights, weights.stat().st_size, extra_files=[weights.with_suffix(".json")])
    if not opened.model_id:
        result.messages.append("the architecture is not a registered model: the file holds the weights only")
    if verify:
        if studio is not None and opened.model_id:
            try:
                rebuilt = runs.load_model_file(studio, weights).model
            except CheckpointError as exc:
                raise ExportError(f"the exported file cannot be loaded back: {exc}") from None
            with torch.no_grad():
                outputs = flat_tensors(rebuilt(x))
            result.verified_with = "load_model (rebuilt from the sidecar)"
        else:
            state = runs.load_weights(weights).state
            own = model.state_dict()
            mismatch = [k for k in own if k not in state or not torch.equal(own[k].cpu(), state[k])]
            if mismatch:
                raise ExportError(f"tensors differ after reloading: {', '.join(mismatch[:5])}")
            with torch.no_grad():
                outputs = flat_tensors(model(x))
            result.verified_with = "reloaded tensors (identical to the model's)"
        result.max_abs_diff = _compare(reference, outputs)
        result.tolerance = _tolerance(flat_tensors(reference))
    result.seconds = time.perf_counter() - start
    return result


def export(opened: OpenedModel, fmt: str, path: str | Path, *, x: torch.Tensor | None = None,
           studio: Studio | None = None, verify: bool = True) -> ExportResult:
    """Export ``opened`` in ``fmt`` ("onnx", "torchscript" or "safetensors") and check the result."""
    if fmt not in FORMATS:
        raise InspectorError(f"unknown export format {fmt!r}; choose {', '.join(FORMATS)}")
    x = opened.sample() if x is None else x
    from dlstudio_inspector.inputs import run_forward

    run_forward(opened.model, x, opened.data)  # a wrong input fails here, with what the model expects
    if fmt == "onnx":
        return export_onnx(opened.model, x, path, verify)
    if fmt == "torchscript":
        return export_torchscript(opened.model, x, path, verify)
    return export_safetensors(opened, x, path, studio, verify)
