"""Export to ONNX, TorchScript or safetensors, each verified by loading the written file back and running it.

ONNX uses the dynamo exporter with ``external_data=False`` (one self-contained file) and a dynamic batch axis,
is checked with ``onnx.checker`` and run with onnxruntime when installed, else with onnx's reference evaluator.
Every check runs the *written file* (never the model in memory) at two batch sizes against the PyTorch model.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from dlstudio import runs
from dlstudio.runs import CheckpointError
from dlstudio_inspector import trust
from dlstudio_inspector.common import InspectorError, flat_tensors, human_bytes, quiet_torch, strip_ansi
from dlstudio_inspector.sources import TORCHSCRIPT_META

if TYPE_CHECKING:
    from dlstudio.studio import Studio
    from dlstudio_inspector.sources import OpenedModel

FORMATS = ("onnx", "torchscript", "safetensors")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt", "safetensors": ".safetensors"}
#: The second batch size every export is verified at (1 when the given input already has a larger batch).
OTHER_BATCH = 4


class ExportError(InspectorError):
    """The exporter refused the model; the message carries its reason."""


@dataclass
class ExportResult:
    format: str
    path: Path
    size: int
    #: Default-domain opset of an ONNX file.
    opset: int | None = None
    #: What ran the written file for the check: "onnxruntime 1.x on the written file", ...
    verified_with: str = ""
    #: The batch sizes the written file was run at.
    verified_batches: list[int] = field(default_factory=list)
    max_abs_diff: float | None = None
    tolerance: float | None = None
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)
    #: Extra files written next to ``path`` (the safetensors sidecar).
    extra_files: list[Path] = field(default_factory=list)
    #: Why the exported weights are not trained ("" when they come from a run or a weights file).
    untrained: str = ""

    @property
    def passed(self) -> bool | None:
        if self.max_abs_diff is None:
            return None
        return self.max_abs_diff <= self.tolerance

    def describe(self) -> str:
        lines = [f"UNTRAINED: {self.untrained}"] if self.untrained else []
        lines.append(f"wrote {self.path} ({self.format}, {human_bytes(self.size)}"
                     + (f", opset {self.opset}" if self.opset else "") + f", {self.seconds:.1f} s)")
        if self.max_abs_diff is not None:
            verdict = "outputs match" if self.passed else "OUTPUTS DIFFER"
            lines.append(f"verified with {self.verified_with}{_batches_text(self.verified_batches)}: {verdict}, "
                         f"max |difference| {self.max_abs_diff:.3g} (tolerance {self.tolerance:.1g})")
        lines += [f"note: {m}" for m in self.messages]
        return "\n".join(lines)


def _batches_text(batches: list[int]) -> str:
    if not batches:
        return ""
    if len(batches) == 1:
        return f" at batch size {batches[0]}"
    return " at batch sizes " + ", ".join(map(str, batches[:-1])) + f" and {batches[-1]}"


def untrained_reason(opened: OpenedModel) -> str:
    """Why ``opened`` holds weights no training produced ("" for a run, a weights file or a TorchScript file)."""
    if opened.kind == "registered":
        pretrained = opened.params.get("weights")
        if pretrained not in (None, "", "random", "none"):
            return (f"{opened.model_id} was built fresh from its registered architecture (weights={pretrained}), "
                    "not trained in a run: only what those weights cover is pretrained, any new layer (such as a "
                    "new classifier head) holds random values")
        return (f"{opened.model_id} was built fresh from its registered architecture (no run, no weights file): its "
                "weights are new random values, different on every export, so its outputs mean nothing")
    earlier = opened.meta.get("untrained")
    if earlier:
        name = opened.path.name if opened.path else "this file"
        return f"{name} was exported from an untrained model ({earlier})"
    return ""


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


def other_batch_size(x: torch.Tensor) -> int:
    return OTHER_BATCH if x.shape[0] == 1 else 1


def _cycled(x: torch.Tensor, batch: int) -> torch.Tensor:
    """``x``'s samples repeated to ``batch`` rows: an input of another batch size with the same per-sample shape."""
    return x[torch.arange(batch) % x.shape[0]]


@dataclass
class _Checks:
    """The inputs an export is verified on, with the model's own outputs on them (what the file must give)."""

    inputs: list[torch.Tensor]
    references: list[Any]
    notes: list[str]

    @property
    def largest(self) -> int:
        """Which input to trace or export with: the largest batch (2 or more when there are two inputs), so the
        exporter cannot bake in a batch of 1."""
        return max(range(len(self.inputs)), key=lambda i: self.inputs[i].shape[0])

    @property
    def example(self) -> torch.Tensor:
        return self.inputs[self.largest]

    def keep_batch(self, batch: int) -> None:
        kept = [(x, r) for x, r in zip(self.inputs, self.references) if x.shape[0] == batch]
        self.inputs, self.references = [x for x, _ in kept], [r for _, r in kept]


def _checks(model: torch.nn.Module, x: torch.Tensor, other: torch.Tensor | None) -> _Checks:
    """The model's outputs on ``x`` and on an input of another batch size; if the model itself refuses the
    other batch size, the export is made (and checked) at ``x``'s batch only, and a note says so."""
    model.eval()
    other = _cycled(x, other_batch_size(x)) if other is None else other
    with torch.no_grad():
        reference = model(x)
        try:
            with quiet_torch():
                other_reference = model(other)
        except Exception as exc:  # the model's own code ties it to one batch size
            note = (f"the model itself runs at a batch of {x.shape[0]} only ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0][:200]}): the exported file takes a batch of {x.shape[0]} only")
            return _Checks([x], [reference], [note])
    return _Checks([x, other], [reference, other_reference], [])


def _verify(result: ExportResult, checks: _Checks, run: Callable[[torch.Tensor], list[Any]], how: str) -> None:
    """Run the written file (through ``run``) on every check input and record the largest difference."""
    diff, tolerance = 0.0, 0.0
    for x, reference in zip(checks.inputs, checks.references):
        try:
            outputs = run(x)
        except Exception as exc:
            raise ExportError(f"the written file fails at batch size {x.shape[0]} although the model runs there "
                              f"— {exporter_reason(exc)}") from None
        diff = max(diff, _compare(reference, outputs))
        tolerance = max(tolerance, _tolerance(flat_tensors(reference)))
    result.max_abs_diff, result.tolerance = diff, tolerance
    result.verified_with, result.verified_batches = how, [int(x.shape[0]) for x in checks.inputs]


def export_onnx(model: torch.nn.Module, x: torch.Tensor, path: str | Path, verify: bool = True, *,
                other: torch.Tensor | None = None) -> ExportResult:
    """Write ``model`` as ONNX with a dynamic batch axis and run the file at ``x``'s batch and at ``other``'s."""
    import onnx

    path, start = Path(path), time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    checks = _checks(model, x, other)
    dynamic = len(checks.inputs) > 1
    scripted = isinstance(model, torch.jit.ScriptModule)
    try:
        with quiet_torch() as warned:
            _write_onnx(model, checks, tmp, dynamic, scripted)
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
    fixed = _fixed_batch(proto)
    if dynamic and fixed is not None:  # the exporter specialised the batch: say so, and check only that size
        checks.notes.append(f"the exporter fixed the batch at {fixed} (the model's code ties it to that size): "
                            f"this ONNX file takes a batch of {fixed} only")
        checks.keep_batch(fixed)
    result = ExportResult("onnx", path, path.stat().st_size, opset=opset, messages=checks.notes + notes)
    if verify:
        run, engine = _onnx_runner(path, proto)
        _verify(result, checks, run, f"{engine} on the written file")
    result.seconds = time.perf_counter() - start
    return result


def _write_onnx(model: torch.nn.Module, checks: _Checks, tmp: Path, dynamic: bool, scripted: bool) -> None:
    example, reference = checks.example, checks.references[checks.largest]
    if not scripted:
        shapes = ({0: torch.export.Dim("batch")},) if dynamic else None
        torch.onnx.export(model, (example,), str(tmp), dynamo=True, external_data=False, verbose=False,
                          dynamic_shapes=shapes)
        return
    # The dynamo exporter refuses ScriptModules; the TorchScript-based one takes them, with named dynamic axes.
    outputs = flat_tensors(reference)
    names = [f"output{i}" for i in range(len(outputs))]
    axes = None
    if dynamic:
        axes = {"input": {0: "batch"}}
        axes.update({n: {0: "batch"} for n, t in zip(names, outputs) if t.dim() and t.shape[0] == example.shape[0]})
    torch.onnx.export(model, (example,), str(tmp), dynamo=False, verbose=False, input_names=["input"],
                      output_names=names, dynamic_axes=axes)


def _fixed_batch(proto: Any) -> int | None:
    """The batch size the ONNX file's first input is fixed at; None when its batch axis is dynamic."""
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    if not dims or not dims[0].HasField("dim_value"):
        return None
    return int(dims[0].dim_value)


def _onnx_runner(path: Path, proto: Any) -> tuple[Callable[[torch.Tensor], list[Any]], str]:
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
    if ort is not None:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return (lambda x: session.run(None, {name: x.detach().cpu().numpy()})), f"onnxruntime {ort.__version__}"
    from onnx.reference import ReferenceEvaluator

    evaluator = ReferenceEvaluator(proto)
    name = proto.graph.input[0].name
    return ((lambda x: evaluator.run(None, {name: x.detach().cpu().numpy()})),
            "onnx reference evaluator (onnxruntime is not installed)")


def export_torchscript(model: torch.nn.Module, x: torch.Tensor, path: str | Path, verify: bool = True, *,
                       other: torch.Tensor | None = None, meta: dict[str, Any] | None = None) -> ExportResult:
    """Trace ``model`` (at a batch of 2 or more) and run the written file at ``x``'s batch and at ``other``'s.

    ``meta`` (the input shape, kind, classes: :func:`sidecar_meta`) goes into the file itself, as the extra file
    ``dlstudio.json``, so the file reopens with its own input shape instead of a guess."""
    path, start = Path(path), time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    checks = _checks(model, x, other)
    try:
        with quiet_torch() as warned, torch.no_grad():
            scripted = model if isinstance(model, torch.jit.ScriptModule) else torch.jit.trace(
                model, (checks.example,), strict=False)
            extra = {TORCHSCRIPT_META: json.dumps(meta)} if meta else {}
            torch.jit.save(scripted, str(tmp), _extra_files=extra)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"TorchScript tracing failed — {exporter_reason(exc)}") from None
    os.replace(tmp, path)
    # Traced here from a model already open, so its code is ours: reopening it this session needs no consent.
    trust.allow(path, trust.digest(path.read_bytes()))
    result = ExportResult("torchscript", path, path.stat().st_size,
                          messages=checks.notes + [w for w in warned if "deprecated" not in w])
    if verify:
        with quiet_torch():
            loaded = torch.jit.load(str(path), map_location="cpu")

        def run(inp: torch.Tensor) -> list[Any]:
            with quiet_torch(), torch.no_grad():
                return flat_tensors(loaded(inp))

        _verify(result, checks, run, "torch.jit.load of the written file")
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
    untrained = untrained_reason(opened)
    if untrained:  # so a later export of this file says it too
        meta["untrained"] = opened.meta.get("untrained") or untrained
    return meta


def export_safetensors(opened: OpenedModel, x: torch.Tensor, path: str | Path, studio: Studio | None = None,
                       verify: bool = True, *, other: torch.Tensor | None = None) -> ExportResult:
    """Write the weights (and a sidecar), then load them back from the file into the architecture and run it."""
    start = time.perf_counter()
    model = opened.model.eval()
    checks = _checks(model, x, other)
    weights = runs.save_weights(path, model.state_dict(), sidecar_meta(opened))
    result = ExportResult("safetensors", weights, weights.stat().st_size, extra_files=[weights.with_suffix(".json")],
                          messages=list(checks.notes))
    if not opened.model_id:
        result.messages.append("the architecture is not a registered model: the file holds the weights only")
    if verify:
        state = runs.load_weights(weights).state
        own = model.state_dict()
        differ = [k for k in own if k in state and not torch.equal(own[k].cpu(), state[k])]
        if differ:
            result.messages.append(f"tensors in the file that differ from the model's: {', '.join(differ[:5])}")
        if studio is not None and opened.model_id:
            try:
                rebuilt = runs.load_model_file(studio, weights).model
            except CheckpointError as exc:
                raise ExportError(f"the exported file cannot be loaded back: {exc}") from None
            how = "the written file (rebuilt with load_model from its sidecar)"
        else:  # no registered architecture to rebuild: the file's tensors go into a copy of this one
            rebuilt = copy.deepcopy(model)
            try:
                runs.apply_weights(rebuilt, state, source=weights.name)
            except CheckpointError as exc:
                raise ExportError(f"the exported file cannot be loaded back: {exc}") from None
            how = "the written file's tensors loaded into a copy of the model"
        rebuilt.eval()

        def run(inp: torch.Tensor) -> list[Any]:
            with torch.no_grad():
                return flat_tensors(rebuilt(inp))

        _verify(result, checks, run, how)
    result.seconds = time.perf_counter() - start
    return result


def export(opened: OpenedModel, fmt: str, path: str | Path, *, x: torch.Tensor | None = None,
           studio: Studio | None = None, verify: bool = True) -> ExportResult:
    """Export ``opened`` in ``fmt`` ("onnx", "torchscript" or "safetensors") and check the written file at
    ``x``'s batch size and another one; the result says when the weights are untrained."""
    if fmt not in FORMATS:
        raise InspectorError(f"unknown export format {fmt!r}; choose {', '.join(FORMATS)}")
    x = opened.sample() if x is None else x
    from dlstudio_inspector.inputs import run_forward

    run_forward(opened.model, x, opened.data)  # a wrong input fails here, with what the model expects
    other = opened.sample(batch=other_batch_size(x), seed=1)
    if tuple(other.shape[1:]) != tuple(x.shape[1:]) or other.dtype != x.dtype:
        other = _cycled(x, other_batch_size(x))  # an input of its own shape (a real text's length, say)
    if fmt == "onnx":
        result = export_onnx(opened.model, x, path, verify, other=other)
    elif fmt == "torchscript":
        result = export_torchscript(opened.model, x, path, verify, other=other, meta=sidecar_meta(opened))
    else:
        result = export_safetensors(opened, x, path, studio, verify, other=other)
    result.untrained = untrained_reason(opened)
    return result
