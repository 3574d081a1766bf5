"""The layer table: every module with its type, input and output shape, kernel size, parameters (and their
share of the model's), bytes and FLOPs, plus totals and torchinfo's memory estimate.

One forward pass with a sample input does it all: forward hooks record each module's input and output shapes
and output bytes (and are removed afterwards), ``FlopCounterMode`` counts the FLOPs per module. FLOPs count a
multiply-add as 2 (torch's convention), so multiply-adds ("MACs", torchinfo's "Mult-Adds") are half of them.

The memory estimate follows torchinfo's convention (``ModelStatistics``): the forward/backward pass size is
twice (activation and its gradient) the bytes output by every call of a leaf layer that has parameters; the
estimated total adds the input's bytes and the parameters' bytes. It is an estimate of what training keeps
alive, not a measurement of the allocator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from dlstudio.contract import DataInfo
from dlstudio_inspector.common import (
    InspectorError,
    flat_tensors,
    format_shape,
    forward_hooks,
    human_bytes,
    human_count,
    human_flops,
    quiet_torch,
    shape_of,
)
from dlstudio_inspector.inputs import run_forward, sample_input


@dataclass
class LayerRow:
    """One module. Counts include the module's children (a block's row totals its layers)."""

    name: str
    type: str
    depth: int
    parent: str | None
    children: list[str]
    params: int
    trainable: int
    frozen: int
    bytes: int
    flops: int = 0
    output_shape: Any = None
    #: Shape of the first call's input (nested for several inputs: an LSTM's ``(x, (h, c))``).
    input_shape: Any = None
    #: ``kernel_size`` of a convolution or pooling layer, as a tuple (None for other layers).
    kernel_size: tuple[int, ...] | None = None
    #: Bytes of the tensors it output, summed over all its calls (torchinfo's ``output_bytes``).
    output_bytes: int = 0
    #: Its parameters as a percentage of the whole model's (torchinfo's "Param %").
    param_percent: float = 0.0
    #: How many times the forward pass called it (a shared ReLU is called several times).
    calls: int = 0
    #: Position in the order modules *finished* their forward pass (-1: never called).
    order: int = -1

    @property
    def leaf(self) -> bool:
        return not self.children

    @property
    def shape_text(self) -> str:
        return format_shape(self.output_shape)

    @property
    def input_text(self) -> str:
        return format_shape(self.input_shape)

    @property
    def kernel_text(self) -> str:
        return "×".join(map(str, self.kernel_size)) if self.kernel_size else ""

    @property
    def percent_text(self) -> str:
        return f"{self.param_percent:.2f}%" if self.params else ""


@dataclass
class Summary:
    rows: list[LayerRow]
    input_shape: tuple[int, ...]
    input_dtype: str
    output_shape: Any
    total_params: int
    trainable_params: int
    frozen_params: int
    param_bytes: int
    buffer_bytes: int
    total_flops: int
    notes: list[str] = field(default_factory=list)
    #: Layers whose FLOPs the counter could not count ("rnn (LSTM)"), so the total leaves them out.
    uncounted: list[str] = field(default_factory=list)
    #: Bytes of the model's input (torchinfo's "Input size").
    input_bytes: int = 0
    #: Activations and their gradients, torchinfo's "Forward/backward pass size": 2 × the output bytes of
    #: every call of a leaf layer with parameters (None when unknown: TorchScript has no per-layer hooks).
    forward_backward_bytes: int | None = None

    @property
    def estimated_total_bytes(self) -> int | None:
        """torchinfo's "Estimated Total Size": input + forward/backward pass + parameters."""
        if self.forward_backward_bytes is None:
            return None
        return self.input_bytes + self.forward_backward_bytes + self.param_bytes

    @property
    def total_macs(self) -> int:
        """Multiply-adds: every counted FLOP is half of one (matrix products, convolutions, attention)."""
        return self.total_flops // 2

    def row(self, name: str) -> LayerRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    @property
    def by_name(self) -> dict[str, LayerRow]:
        return {r.name: r for r in self.rows}

    def execution_order(self) -> list[str]:
        """Module names in the order their forward finished (children before their block)."""
        return [r.name for r in sorted((r for r in self.rows if r.order >= 0), key=lambda r: r.order)]


def _unique(tensors) -> list[torch.Tensor]:
    seen, out = set(), []
    for t in tensors:
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out


def summarize(model: nn.Module, x: torch.Tensor | None = None, data: DataInfo | None = None,
              *, flops: bool = True) -> Summary:
    """The layer table of ``model`` for input ``x`` (a sample of the right shape when not given)."""
    if x is None:
        x = sample_input(model, data)
    modules = list(model.named_modules())
    shapes: dict[str, Any] = {}
    in_shapes: dict[str, Any] = {}
    out_bytes: dict[str, int] = {}
    calls: dict[str, int] = {}
    order: dict[str, int] = {}

    def record(name: str, module: nn.Module, inputs: Any, output: Any) -> None:
        calls[name] = calls.get(name, 0) + 1
        out_bytes[name] = out_bytes.get(name, 0) + sum(t.numel() * t.element_size() for t in flat_tensors(output))
        if name not in shapes:
            shapes[name] = shape_of(output)
            in_shapes[name] = shape_of(inputs[0] if isinstance(inputs, tuple) and len(inputs) == 1 else inputs)
            order[name] = len(order)

    notes: list[str] = []
    scripted = isinstance(model, torch.jit.ScriptModule)
    counter = FlopCounterMode(display=False, custom_mapping=RECURRENT_FORMULAS) if flops else None
    missed = _UncountedKernels(counter.flop_registry if counter is not None else {})
    hooked = [] if scripted else modules
    if scripted:
        notes.append("TorchScript model: only the whole model's output shape and FLOPs are known, not each layer's")
    with forward_hooks(hooked, record), quiet_torch():
        if counter is not None:
            try:
                with counter, missed:
                    output = run_forward(model, x, data)
            except InspectorError:
                raise
            except Exception as exc:  # FLOP counting is a bonus: still show the table without it
                notes.append(f"FLOPs could not be counted ({type(exc).__name__}: {exc})")
                counter = None
                for recorded in (shapes, in_shapes, out_bytes, calls, order):
                    recorded.clear()
                output = run_forward(model, x, data)
        else:
            output = run_forward(model, x, data)
    if scripted:
        shapes[""] = shape_of(output)
        calls[""] = 1
        order[""] = 0
    flop_counts = _flops_by_module(counter, model) if counter is not None else {}
    uncounted = _uncounted_layers(model, flop_counts, scripted) if counter is not None and missed.seen else []
    if uncounted:
        notes.append(f"FLOPs not counted for {', '.join(uncounted)}: torch's FLOP counter has no formula for "
                     f"{', '.join(sorted(missed.seen))}, so the total leaves them out")

    rows = []
    for name, module in modules:
        params = _unique(module.parameters())
        trainable = sum(p.numel() for p in params if p.requires_grad)
        total = sum(p.numel() for p in params)
        nbytes = sum(t.numel() * t.element_size() for t in params + _unique(module.buffers()))
        children = [f"{name}.{c}" if name else c for c, _ in module.named_children()]
        parent = None if not name else name.rpartition(".")[0]
        rows.append(LayerRow(
            name=name, type=type(module).__name__ if not scripted else getattr(module, "original_name", "Script"),
            depth=0 if not name else name.count(".") + 1, parent=parent, children=children, params=total,
            trainable=trainable, frozen=total - trainable, bytes=nbytes, flops=flop_counts.get(name, 0),
            output_shape=shapes.get(name), calls=calls.get(name, 0), order=order.get(name, -1),
            input_shape=in_shapes.get(name), kernel_size=_kernel_size(module), output_bytes=out_bytes.get(name, 0)))
    root = rows[0]
    if scripted:
        root.input_shape = tuple(x.shape)
    for row in rows:
        row.param_percent = 100.0 * row.params / root.params if root.params else 0.0
    if flop_counts and "" not in flop_counts:
        root.flops = flop_counts.get("__global__", 0)
    param_bytes = sum(p.numel() * p.element_size() for p in _unique(model.parameters()))
    buffer_bytes = sum(b.numel() * b.element_size() for b in _unique(model.buffers()))
    never = [r.name for r in rows if r.calls == 0 and r.name and not scripted]
    if never:
        notes.append(f"{len(never)} layer(s) not used by the forward pass (e.g. {never[0]}): no output shape")
    return Summary(rows=rows, input_shape=tuple(x.shape), input_dtype=str(x.dtype).replace("torch.", ""),
                   output_shape=shape_of(output), total_params=root.params, trainable_params=root.trainable,
                   frozen_params=root.frozen, param_bytes=param_bytes, buffer_bytes=buffer_bytes,
                   total_flops=flop_counts.get("__global__", 0), notes=notes, uncounted=uncounted,
                   input_bytes=x.numel() * x.element_size(),
                   forward_backward_bytes=None if scripted else 2 * sum(
                       r.output_bytes for r in rows if r.leaf and r.params))


def _kernel_size(module: nn.Module) -> tuple[int, ...] | None:
    """A convolution's or pooling layer's kernel size as a tuple (``MaxPool2d(3)`` keeps an int: 3×3)."""
    size = getattr(module, "kernel_size", None)
    if isinstance(size, int):
        dims = next((int(c) for c in type(module).__name__ if c.isdigit()), 1)
        return (size,) * dims
    if isinstance(size, (tuple, list)) and all(isinstance(k, int) for k in size):
        return tuple(size)
    return None


def _flops_by_module(counter: FlopCounterMode, model: nn.Module) -> dict[str, int]:
    """FlopCounterMode names modules ``ClassName.a.b``; map them back to ``a.b`` (the root is "")."""
    counts = counter.get_flop_counts()
    out = {"__global__": int(sum(counts.get("Global", {}).values()))}
    root = type(model).__name__
    for key, per_op in counts.items():
        if key == "Global":
            continue
        name = "" if key == root else key[len(root) + 1:] if key.startswith(root + ".") else None
        if name is not None:
            out[name] = int(sum(per_op.values()))
    return out


def _rnn_layer_flops(x, w_ih, w_hh, *_args, out_shape=None, **_kwargs) -> int:
    """One direction of one LSTM layer (CPU's ``mkldnn_rnn_layer``): its two matrix products at every step,
    2 FLOPs per multiply-add, like torch's own formulas; the gates' element-wise work is not counted (as for
    every other layer)."""
    rows = 1
    for d in x[:-1]:
        rows *= d  # steps × batch, whatever the layout
    return 2 * rows * (w_ih[0] * w_ih[1] + w_hh[0] * w_hh[1])


#: FLOP formulas for the recurrent kernels torch's counter lacks. GRU and RNN run as matrix products it
#: counts already; CPU LSTMs run as one fused kernel per layer and direction.
RECURRENT_FORMULAS: dict[Any, Any] = {torch.ops.aten.mkldnn_rnn_layer: _rnn_layer_flops}
RECURRENT_TYPES = ("LSTM", "GRU", "RNN")


class _UncountedKernels(TorchDispatchMode):
    """Records the recurrent kernels a forward pass runs that have no FLOP formula (cuDNN's, a new one...)."""

    def __init__(self, registry: Any) -> None:
        super().__init__()
        self.registry = registry
        self.seen: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        packet = func.overloadpacket
        name = packet.__name__
        if packet not in self.registry and any(k in name for k in ("rnn", "lstm", "gru")):
            self.seen.add(f"aten.{name}")
        return func(*args, **(kwargs or {}))


def _uncounted_layers(model: nn.Module, counts: dict[str, int], scripted: bool) -> list[str]:
    """Recurrent layers the counter missed: those with no FLOPs of their own (all of them in TorchScript,
    whose FLOPs cannot be told apart by layer)."""
    found = []
    for name, module in model.named_modules():
        kind = getattr(module, "original_name", None) if scripted else type(module).__name__
        if name and kind in RECURRENT_TYPES and (scripted or not counts.get(name)):
            found.append(f"{name} ({kind})")
    return found


def format_table(summary: Summary, max_depth: int | None = None) -> str:
    """The layer table as text (``dlstudio inspect``)."""
    header = ("Layer", "Type", "Input shape", "Output shape", "Kernel", "Params", "Param %", "Trainable", "Bytes",
              "FLOPs", "Mult-Adds")
    lines = []
    for row in summary.rows:
        if not row.name or (max_depth is not None and row.depth > max_depth):
            continue
        indent = "  " * (row.depth - 1)
        lines.append((indent + row.name.rpartition(".")[2] if max_depth != 1 else row.name, row.type,
                      row.input_text, row.shape_text, row.kernel_text, f"{row.params:,}", row.percent_text or "-",
                      f"{row.trainable:,}", human_bytes(row.bytes),
                      human_flops(row.flops) if row.flops else "-", human_count(row.flops // 2) if row.flops else "-"))
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
    widths = [min(w, 48) for w in widths]

    def fmt(cells) -> str:
        left = [f"{c[:w]:<{w}}" for c, w in zip(cells[:LEFT_COLUMNS], widths[:LEFT_COLUMNS])]
        right = [f"{c:>{w}}" for c, w in zip(cells[LEFT_COLUMNS:], widths[LEFT_COLUMNS:])]
        return "  ".join(left + right).rstrip()

    out = [fmt(header), "-" * (sum(widths) + 2 * (len(widths) - 1))]
    out += [fmt(line) for line in lines]
    out.append("-" * (sum(widths) + 2 * (len(widths) - 1)))
    out.extend(totals_lines(summary))
    return "\n".join(out)


#: The text table's left-aligned columns (names and shapes); the counts after them are right-aligned.
LEFT_COLUMNS = 5


def megabytes(n: int) -> str:
    """Bytes in torchinfo's unit, MB (10⁶ bytes), and in MiB: "1.05 MB (1.0 MiB)"."""
    return f"{n / 1e6:,.2f} MB ({human_bytes(n)})"


def memory_lines(summary: Summary) -> list[str]:
    """torchinfo's memory estimate: input, forward/backward pass, parameters and their total."""
    s = summary
    if s.forward_backward_bytes is None:
        return ["Forward/backward pass size: unknown (TorchScript: no per-layer outputs)"]
    return [f"Input size: {megabytes(s.input_bytes)}   Forward/backward pass size: "
            f"{megabytes(s.forward_backward_bytes)}   Params size: {megabytes(s.param_bytes)}",
            f"Estimated Total Size: {megabytes(s.estimated_total_bytes or 0)} (torchinfo's estimate: activations "
            "and their gradients for layers with parameters, plus input and weights)"]


def totals_lines(summary: Summary) -> list[str]:
    s = summary
    return [
        f"Input: {format_shape(s.input_shape)} {s.input_dtype}   Output: {format_shape(s.output_shape)}",
        f"Total parameters: {s.total_params:,} ({human_count(s.total_params)})",
        f"Trainable: {s.trainable_params:,}   Frozen: {s.frozen_params:,}",
        f"Weights: {human_bytes(s.param_bytes)}   Buffers: {human_bytes(s.buffer_bytes)}",
        f"FLOPs per forward pass (batch {s.input_shape[0]}): "
        + (f"{s.total_flops:,} ({human_flops(s.total_flops)}) = {human_count(s.total_macs)} Mult-Adds (MACs)"
           if s.total_flops else "not counted")
        + (f" — not counted: {', '.join(s.uncounted)}" if s.uncounted else ""),
        *memory_lines(s),
        *(f"Note: {n}" for n in s.notes),
    ]


def search(summary: Summary, text: str) -> list[str]:
    """Names of layers whose name or type contains ``text`` (case-insensitive), with their ancestors."""
    text = text.lower().strip()
    if not text:
        return [r.name for r in summary.rows]
    hits = {r.name for r in summary.rows if r.name and (text in r.name.lower() or text in r.type.lower())}
    keep = set(hits)
    for name in hits:
        while name:
            name = name.rpartition(".")[0]
            keep.add(name)
    return [r.name for r in summary.rows if r.name in keep]


def weighted_depth(summary: Summary) -> int:
    """Conv and Linear layers in the model (the module-tree fallback for depth)."""
    return sum(1 for r in summary.rows if r.leaf and (r.type.startswith("Conv") or r.type == "Linear"))


def as_dict(summary: Summary) -> dict[str, Any]:
    """A JSON-able form (``dlstudio inspect --json``)."""
    return {
        "input_shape": list(summary.input_shape), "input_dtype": summary.input_dtype,
        "output_shape": summary.output_shape, "total_params": summary.total_params,
        "trainable_params": summary.trainable_params, "frozen_params": summary.frozen_params,
        "param_bytes": summary.param_bytes, "buffer_bytes": summary.buffer_bytes,
        "total_flops": summary.total_flops, "total_macs": summary.total_macs, "uncounted": summary.uncounted,
        "input_bytes": summary.input_bytes, "forward_backward_bytes": summary.forward_backward_bytes,
        "estimated_total_bytes": summary.estimated_total_bytes,
        "notes": summary.notes,
        "layers": [{"name": r.name, "type": r.type, "depth": r.depth, "input_shape": r.input_shape,
                    "output_shape": r.output_shape, "kernel_size": r.kernel_size, "params": r.params,
                    "param_percent": r.param_percent, "trainable": r.trainable, "bytes": r.bytes,
                    "output_bytes": r.output_bytes, "flops": r.flops, "calls": r.calls} for r in summary.rows],
    }
