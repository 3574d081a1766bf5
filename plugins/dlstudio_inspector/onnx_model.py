"""Reading an ``.onnx`` file the way Netron shows it: its nodes, their tensors' shapes and its weights (no Qt).

:func:`load_onnx` reads the graph with ``onnx`` and infers every intermediate shape with
``onnx.shape_inference``; :func:`run_check` then runs the file in ONNX Runtime on a random input of its declared
shape (dynamic dimensions taken as 1), so "it opens" also means "it runs".
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dlstudio_inspector.common import InspectorError

#: Integer/bool initializers are shapes, indices and axes, not learned weights.
_WEIGHT_KINDS = "fc"  # numpy dtype kinds counted as parameters: float and complex
MAX_ATTRIBUTE_CHARS = 80


class OnnxGraphFile(InspectorError):
    """An ``.onnx`` file offered to the PyTorch views: it opens in the ONNX view instead (``path``)."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{path.name} is an ONNX graph, not a PyTorch model: it opens in the ONNX view (nodes, attributes, "
            "weights; `dlstudio inspect` prints its node table). The PyTorch views (layers, activations, "
            "attribution) need a PyTorch model: a .safetensors checkpoint, a .pt/.pth state dict or TorchScript")
        self.path = path


@dataclass(frozen=True)
class WeightStats:
    """One initializer: its shape, dtype and the statistics Netron users look for."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    size: int
    min: float
    max: float
    mean: float
    std: float

    def describe(self) -> str:
        shape = "×".join(map(str, self.shape)) or "scalar"
        return (f"{self.name}: {shape} {self.dtype}  min {self.min:.4g}  max {self.max:.4g}  "
                f"mean {self.mean:.4g}  std {self.std:.4g}")


@dataclass
class OnnxNode:
    index: int
    name: str
    op_type: str
    domain: str
    inputs: list[str]
    outputs: list[str]
    attributes: dict[str, Any]

    @property
    def label(self) -> str:
        return self.name or f"{self.op_type}_{self.index}"


@dataclass
class RunCheck:
    """The file run in ONNX Runtime: ``passed``, and what was fed and what came out (or why it failed)."""

    passed: bool
    message: str
    input_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    output_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass
class OnnxGraph:
    path: Path
    nodes: list[OnnxNode]
    #: The graph's real inputs (not initializers) and outputs, each with its declared shape (a dynamic
    #: dimension is its name, e.g. "batch", or "?" when unnamed).
    inputs: dict[str, tuple[int | str, ...]]
    outputs: dict[str, tuple[int | str, ...]]
    input_types: dict[str, str]
    #: Every tensor's shape after ``onnx.shape_inference`` (inputs, intermediates, initializers, outputs).
    shapes: dict[str, tuple[int | str, ...]]
    initializers: dict[str, np.ndarray]
    opset: int | None
    producer: str
    ir_version: int
    notes: list[str] = field(default_factory=list)

    @property
    def parameters(self) -> int:
        """Elements of the floating-point initializers (the learned weights)."""
        return sum(int(a.size) for a in self.initializers.values() if a.dtype.kind in _WEIGHT_KINDS)

    @property
    def constants(self) -> int:
        """Integer/bool initializers (shapes, axes, indices): not parameters."""
        return sum(1 for a in self.initializers.values() if a.dtype.kind not in _WEIGHT_KINDS)

    @property
    def op_counts(self) -> dict[str, int]:
        return dict(Counter(n.op_type for n in self.nodes).most_common())

    def node(self, label: str) -> OnnxNode:
        for n in self.nodes:
            if n.label == label:
                return n
        raise InspectorError(f"no node named {label!r} in {self.path.name}")

    def search(self, text: str) -> list[OnnxNode]:
        """Nodes whose name, op type or tensor names contain ``text`` (case-insensitive); all for ''."""
        needle = text.strip().lower()
        if not needle:
            return list(self.nodes)
        return [n for n in self.nodes
                if needle in n.label.lower() or needle in n.op_type.lower()
                or any(needle in t.lower() for t in (*n.inputs, *n.outputs))]

    def shape_of(self, tensor: str) -> str:
        shape = self.shapes.get(tensor)
        return "?" if shape is None else format_dims(shape)

    def weights_of(self, node: OnnxNode) -> list[WeightStats]:
        """Statistics of the initializers ``node`` reads (its weights and biases)."""
        return [weight_stats(t, self.initializers[t]) for t in node.inputs if t in self.initializers]


def format_dims(shape: tuple[int | str, ...]) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"


def weight_stats(name: str, array: np.ndarray) -> WeightStats:
    values = np.asarray(array)
    if values.size == 0 or values.dtype.kind not in "fciub":
        nan = float("nan")
        return WeightStats(name, tuple(values.shape), str(values.dtype), int(values.size), nan, nan, nan, nan)
    flat = values.astype(np.float64).ravel()
    return WeightStats(name, tuple(values.shape), str(values.dtype), int(values.size), float(flat.min()),
                       float(flat.max()), float(flat.mean()), float(flat.std()))


def _dims(type_proto: Any) -> tuple[int | str, ...] | None:
    if not type_proto.HasField("tensor_type") or not type_proto.tensor_type.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                 for d in type_proto.tensor_type.shape.dim)


def _attribute(attr: Any) -> Any:
    """An attribute as a plain value; tensors and subgraphs summarised (Netron shows them the same way)."""
    from onnx import AttributeProto, helper, numpy_helper

    if attr.type == AttributeProto.TENSOR:
        array = numpy_helper.to_array(attr.t)
        return array.tolist() if array.size <= 8 else f"tensor {format_dims(array.shape)} {array.dtype}"
    if attr.type == AttributeProto.GRAPH:
        return f"subgraph {attr.g.name or '(unnamed)'} ({len(attr.g.node)} nodes)"
    if attr.type == AttributeProto.GRAPHS:
        return f"{len(attr.graphs)} subgraphs"
    value = helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
    return value


def format_attributes(attributes: dict[str, Any], limit: int = MAX_ATTRIBUTE_CHARS) -> str:
    text = ", ".join(f"{k}={v}" for k, v in attributes.items())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def load_onnx(path: str | Path) -> OnnxGraph:
    """Read ``path`` (with its external data, if any) and infer its tensors' shapes."""
    import onnx
    from onnx import numpy_helper

    path = Path(path)
    if not path.is_file():
        raise InspectorError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf's DecodeError, a missing external-data file, ...
        raise InspectorError(f"{path.name} is not a readable ONNX file ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else 'cannot be parsed'})") from None
    if not model.graph.node and not model.graph.input:
        raise InspectorError(f"{path.name} is not a readable ONNX file (it holds no graph)")
    notes = []
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as exc:  # an op onnx does not know: keep the declared shapes only
        notes.append(f"shape inference failed ({type(exc).__name__}: {exc}); only declared shapes are shown")
    graph = model.graph
    initializers = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    shapes: dict[str, tuple[int | str, ...]] = {n: tuple(a.shape) for n, a in initializers.items()}
    for info in (*graph.input, *graph.value_info, *graph.output):
        dims = _dims(info.type)
        if dims is not None:
            shapes[info.name] = dims
    nodes = [OnnxNode(i, n.name, n.op_type, n.domain, [t for t in n.input if t], list(n.output),
                      {a.name: _attribute(a) for a in n.attribute}) for i, n in enumerate(graph.node)]
    inputs = {i.name: _dims(i.type) or () for i in graph.input if i.name not in initializers}
    input_types = {i.name: _elem_type(i.type) for i in graph.input if i.name not in initializers}
    outputs = {o.name: _dims(o.type) or () for o in graph.output}
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p) or "unknown"
    if any(isinstance(v, str) and v.startswith("subgraph") for n in nodes for v in n.attributes.values()):
        notes.append("control-flow nodes (If/Loop/Scan) hold subgraphs: only the top-level graph is listed")
    return OnnxGraph(path, nodes, inputs, outputs, input_types, shapes, initializers, opset, producer,
                     model.ir_version, notes)


def _elem_type(type_proto: Any) -> str:
    from onnx import helper

    if not type_proto.HasField("tensor_type"):
        return "non-tensor"
    try:
        return str(np.dtype(helper.tensor_dtype_to_np_dtype(type_proto.tensor_type.elem_type)))
    except (KeyError, TypeError, ValueError):
        return "unknown"


def concrete_shape(shape: tuple[int | str, ...], batch: int = 1) -> tuple[int, ...]:
    """A declared shape with its dynamic dimensions filled: the first with ``batch``, the others with 1."""
    return tuple(d if isinstance(d, int) and d > 0 else (batch if i == 0 else 1) for i, d in enumerate(shape))


def run_check(graph: OnnxGraph, batch: int = 1, seed: int = 0) -> RunCheck:
    """Run the file in ONNX Runtime on random inputs of its declared shapes (dynamic dims → ``batch``/1)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return RunCheck(False, "not run: onnxruntime is not installed")
    rng = np.random.default_rng(seed)
    feeds, shapes = {}, {}
    for name, declared in graph.inputs.items():
        dtype = graph.input_types.get(name, "float32")
        if dtype in ("non-tensor", "unknown"):
            return RunCheck(False, f"not run: input {name!r} is not a plain tensor ({dtype})")
        shape = concrete_shape(declared, batch)
        kind = np.dtype(dtype).kind
        feeds[name] = (rng.standard_normal(shape).astype(dtype) if kind in "fc"
                       else np.zeros(shape, dtype=dtype))  # integer inputs are usually indices: 0 is valid
        shapes[name] = shape
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(graph.path), options, providers=["CPUExecutionProvider"])
        results = session.run(None, feeds)
    except Exception as exc:  # onnxruntime raises its own exception types for bad graphs and feeds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return RunCheck(False, f"does not run in ONNX Runtime {ort.__version__} on inputs "
                        f"{_describe(shapes)}: {first}", shapes)
    out = {o.name: tuple(np.asarray(r).shape) for o, r in zip(session.get_outputs(), results, strict=True)}
    finite = all(np.isfinite(np.asarray(r, dtype=np.float64)).all() for r in results
                 if np.asarray(r).dtype.kind in "fc")
    tail = "" if finite else " (some outputs are NaN or infinite)"
    return RunCheck(finite, f"runs in ONNX Runtime {ort.__version__}: random input {_describe(shapes)} → "
                    f"{_describe(out)}{tail}", shapes, out)


def _describe(shapes: dict[str, tuple[int, ...]]) -> str:
    return ", ".join(f"{n} {format_dims(s)}" for n, s in shapes.items()) or "(no inputs)"


# -- text output (the CLI) --------------------------------------------------------------------------


def totals(graph: OnnxGraph) -> list[str]:
    ops = ", ".join(f"{op} {n}" for op, n in graph.op_counts.items()) or "none"
    lines = [
        f"Producer: {graph.producer}; opset {graph.opset if graph.opset is not None else '?'}; "
        f"IR version {graph.ir_version}",
        f"Inputs: {_describe_declared(graph.inputs)}",
        f"Outputs: {_describe_declared(graph.outputs)}",
        f"Parameters: {graph.parameters:,} (floating-point initializers)"
        + (f"; {graph.constants} integer constants" if graph.constants else ""),
        f"Nodes: {len(graph.nodes)} — {ops}",
    ]
    return lines


def _describe_declared(shapes: dict[str, tuple[int | str, ...]]) -> str:
    return ", ".join(f"{n} {format_dims(s)}" for n, s in shapes.items()) or "none"


def format_table(graph: OnnxGraph) -> str:
    """One line per node: op type, name, inputs → outputs with their shapes, attributes; totals after."""
    rows = [("#", "Op", "Name", "Inputs → outputs", "Attributes")]
    for n in graph.nodes:
        ins = ", ".join(f"{t} [{graph.shape_of(t)}]" for t in n.inputs)
        outs = ", ".join(f"{t} [{graph.shape_of(t)}]" for t in n.outputs)
        rows.append((str(n.index), n.op_type, n.label, f"{ins} → {outs}", format_attributes(n.attributes)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4] for r in rows]
    lines.insert(1, "-" * min(160, len(lines[0])))
    return "\n".join([*lines, "", *totals(graph)])


def as_dict(graph: OnnxGraph, check: RunCheck | None = None) -> dict[str, Any]:
    """The node table and totals as JSON-ready data."""
    return {
        "path": str(graph.path), "producer": graph.producer, "opset": graph.opset, "ir_version": graph.ir_version,
        "inputs": {k: list(v) for k, v in graph.inputs.items()},
        "outputs": {k: list(v) for k, v in graph.outputs.items()},
        "parameters": graph.parameters, "op_counts": graph.op_counts,
        "nodes": [{"name": n.label, "op_type": n.op_type, "domain": n.domain,
                   "inputs": {t: graph.shape_of(t) for t in n.inputs},
                   "outputs": {t: graph.shape_of(t) for t in n.outputs},
                   "attributes": json.loads(json.dumps(n.attributes, default=str))} for n in graph.nodes],
        "notes": graph.notes,
        **({"runtime_check": {"passed": check.passed, "message": check.message}} if check else {}),
    }
