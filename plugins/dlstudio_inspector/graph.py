"""The forward pass as a graph: torch.fx where the model traces, else the module tree (and why).

Residual additions, Inception branches and DenseNet concatenations are nodes with several inputs.
Nodes know the module blocks they sit in, so a block can be collapsed into one node; :func:`layout`
places nodes in layers (longest path from the input) ordered to reduce crossings, with no graphviz.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from dlstudio_inspector.common import format_shape, quiet_torch, shape_of

MERGE_OPS = ("add", "iadd", "cat", "concat", "stack", "mul", "sum")
#: TorchScript operations that count as a weighted layer in :func:`weighted_depth`.
WEIGHTED_OPS = ("aten::linear", "aten::_convolution", "aten::conv1d", "aten::conv2d", "aten::conv3d")


@dataclass
class Node:
    id: str
    label: str
    #: "input", "module", "function", "method", "constant", "output", "group" (a collapsed block).
    kind: str
    #: What it does: a module's class ("Conv2d"), a function's name ("add", "cat"), a block's class.
    op: str
    #: The layer to select in the layer tree when the node is clicked.
    module: str
    #: Enclosing blocks, outermost first ("layer1", "layer1.0"); a module node's own path is not included.
    scope: tuple[str, ...] = ()
    shape: str = ""
    #: Nodes a collapsed block stands for.
    members: int = 1


@dataclass(frozen=True)
class DataFlowOp:
    """One TorchScript operation: its kind (``aten::linear``), the values it reads and writes, its module scope."""

    kind: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    scope: str = ""


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[tuple[str, str]]
    #: True for a torch.fx data-flow graph, False for the module-tree fallback.
    traced: bool
    message: str = ""
    #: Collapsible blocks: module path → class name.
    groups: dict[str, str] = field(default_factory=dict)
    #: Every operation in order with its input and output values (TorchScript data flow); empty otherwise.
    ops: list[DataFlowOp] = field(default_factory=list)

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def preds(self, node_id: str) -> list[str]:
        return [a for a, b in self.edges if b == node_id]

    def succs(self, node_id: str) -> list[str]:
        return [b for a, b in self.edges if a == node_id]

    def merges(self) -> list[Node]:
        """Nodes joining several paths: residual adds, branch and dense concatenations."""
        constants = {n.id for n in self.nodes if n.kind == "constant"}  # weights read are not paths
        indeg: dict[str, int] = {}
        for a, b in self.edges:
            if a not in constants:
                indeg[b] = indeg.get(b, 0) + 1
        return [n for n in self.nodes if indeg.get(n.id, 0) >= 2 and n.kind in ("function", "method")]

    def find(self, module: str) -> list[Node]:
        """Nodes of a layer (or inside a block)."""
        return [n for n in self.nodes if n.module == module or module in n.scope]


def _short(node_name: str) -> str:
    return re.sub(r"_\d+$", "", node_name)


def build_graph(model: nn.Module, x: torch.Tensor | None = None) -> Graph:
    """The data-flow graph of ``model`` (shapes filled in when ``x`` is given)."""
    if isinstance(model, torch.jit.ScriptModule):
        return from_torchscript(model)
    try:
        with quiet_torch():
            traced = torch.fx.symbolic_trace(model)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return module_tree(model, f"torch.fx could not trace this model ({type(exc).__name__}: {reason[:300]})")
    notes = []
    if x is not None:
        try:
            from torch.fx.passes.shape_prop import ShapeProp

            with torch.no_grad(), quiet_torch():
                ShapeProp(traced).propagate(x)
        except Exception as exc:
            notes.append(f"shapes unavailable: {type(exc).__name__}: {str(exc)[:200]}")
    with quiet_torch():
        traced.graph.eliminate_dead_code()
    return _from_fx(model, traced, "; ".join(notes))


def _from_fx(model: nn.Module, traced: torch.fx.GraphModule, message: str) -> Graph:
    types = {name: type(m).__name__ for name, m in model.named_modules()}
    nodes, edges, groups = [], [], {}
    for fx_node in traced.graph.nodes:
        stack = [path for path, _cls in (fx_node.meta.get("nn_module_stack") or {}).values()]
        if fx_node.op == "call_module":
            path = str(fx_node.target)
            scope = tuple(p for p in stack if p != path) or _ancestors(path)
            kind, op, module, label = "module", types.get(path, "Module"), path, path
        else:
            scope = tuple(stack)
            module = scope[-1] if scope else ""
            if fx_node.op == "placeholder":
                kind, op, label = "input", "input", str(fx_node.target)
            elif fx_node.op == "output":
                kind, op, label = "output", "output", "output"
            elif fx_node.op == "get_attr":
                kind, op, label = "constant", "attribute", str(fx_node.target)
                module = str(fx_node.target).rpartition(".")[0]
            else:
                kind = "function" if fx_node.op == "call_function" else "method"
                name = getattr(fx_node.target, "__name__", None) if kind == "function" else str(fx_node.target)
                op = _short(fx_node.name) if not name or name.startswith("<") or name == "fn" else name
                label = op
        for path in scope:
            groups.setdefault(path, types.get(path, "Module"))
        meta = fx_node.meta.get("tensor_meta")
        shape = _meta_shape(meta)
        nodes.append(Node(fx_node.name, label, kind, op, module, scope, shape))
        edges.extend((src.name, fx_node.name) for src in fx_node.all_input_nodes)
    return Graph(nodes, _dedupe(edges), traced=True, message=message, groups=groups)


def from_torchscript(model: torch.jit.ScriptModule) -> Graph:
    """The data flow of a TorchScript module: one node per operation of its inlined ``forward`` graph.

    Values are named by their TorchScript debug names; ``prim::GetAttr`` reads of weights and
    ``prim::Constant`` values are operations too, as ``graph.nodes()`` lists them.
    """
    try:
        ts_graph = model.inlined_graph
    except Exception as exc:  # a ScriptModule without forward (an interface, a library of methods)
        return module_tree(model, f"this TorchScript module has no forward graph ({type(exc).__name__}: {exc})")
    producer: dict[str, str] = {}
    nodes: list[Node] = []
    edges: list[tuple[str, str]] = []
    ops: list[DataFlowOp] = []
    constant_ids: set[str] = set()
    inputs = [v for v in ts_graph.inputs() if v.debugName() != "self" and not v.debugName().startswith("self.")]
    for value in inputs:
        nid = f"input:{value.debugName()}"
        producer[value.debugName()] = nid
        nodes.append(Node(nid, value.debugName(), "input", "input", "", (), _ts_shape(value)))
    for i, ts_node in enumerate(ts_graph.nodes()):
        kind = ts_node.kind()
        ins = tuple(v.debugName() for v in ts_node.inputs())
        outs = tuple(v.debugName() for v in ts_node.outputs())
        scope = _ts_scope(ts_node.scopeName())
        ops.append(DataFlowOp(kind, ins, outs, scope))
        nid = f"op{i}"
        # Constants, weight reads and lists built only from them (strides, paddings) carry no data flow.
        fed = [producer[v] for v in ins if v in producer]
        node_kind = ("constant" if kind in ("prim::Constant", "prim::GetAttr")
                     or (kind.startswith("prim::") and all(f in constant_ids for f in fed)) else "function")
        if node_kind == "constant":
            constant_ids.add(f"op{i}")
        label = kind.partition("::")[2] or kind
        if kind == "prim::GetAttr" and ts_node.hasAttribute("name"):
            label = f"GetAttr {ts_node.s('name')}"
        shape = _ts_shape(next(iter(ts_node.outputs()), None))
        nodes.append(Node(nid, label, node_kind, kind, scope, _ancestors(scope) if scope else (), shape))
        edges.extend((producer[v], nid) for v in ins if v in producer)
        for v in outs:
            producer[v] = nid
    for j, value in enumerate(ts_graph.outputs()):
        nid = f"output:{j}"
        nodes.append(Node(nid, "output", "output", "output", "", (), _ts_shape(value)))
        if value.debugName() in producer:
            edges.append((producer[value.debugName()], nid))
    message = f"TorchScript data flow: {len(ops)} operations of the inlined forward graph"
    return Graph(nodes, _dedupe(edges), traced=True, message=message, ops=ops)


def _ts_scope(scope_name: str) -> str:
    """``__module.layer1/__module.layer1.0`` → ``layer1.0`` (the innermost module of a traced op)."""
    last = scope_name.split("/")[-1] if scope_name else ""
    return last.removeprefix("__module.").removeprefix("__module") if last.startswith("__module") else ""


def _ts_shape(value) -> str:
    if value is None:
        return ""
    try:
        sizes = value.type().sizes()
    except Exception:  # not a complete tensor type: no shape recorded
        return ""
    return format_shape(tuple(sizes)) if sizes is not None else ""


def from_onnx(onnx_graph) -> Graph:
    """An ONNX file's nodes as a :class:`Graph`: one node per ONNX node, an edge wherever a tensor one node
    writes is read by another (``module`` is the ONNX node's label, so a click can select it in the table)."""
    producer: dict[str, str] = {}
    for n in onnx_graph.nodes:
        for t in n.outputs:
            producer[t] = f"n{n.index}"
    nodes, edges = [], []
    for n in onnx_graph.nodes:
        out = n.outputs[0] if n.outputs else ""
        shape = onnx_graph.shape_of(out) if out in onnx_graph.shapes else ""
        nodes.append(Node(f"n{n.index}", n.label, "function", n.op_type, n.label, (), shape))
        edges.extend((producer[t], f"n{n.index}") for t in n.inputs if t in producer)
    return Graph(nodes, _dedupe(edges), traced=True, message=f"{len(nodes)} ONNX nodes")


def _meta_shape(meta) -> str:
    if meta is None:
        return ""
    if hasattr(meta, "shape"):
        return format_shape(tuple(meta.shape))
    if isinstance(meta, (tuple, list)):
        return format_shape(tuple(tuple(m.shape) if hasattr(m, "shape") else None for m in meta))
    return ""


def _ancestors(path: str) -> tuple[str, ...]:
    parts = path.split(".")[:-1]
    return tuple(".".join(parts[: i + 1]) for i in range(len(parts)))


def module_tree(model: nn.Module, reason: str) -> Graph:
    """The fallback: modules as nodes, each linked to its children, in definition order."""
    nodes = [Node("__root__", type(model).__name__, "input", type(model).__name__, "", ())]
    edges = []
    for name, module in model.named_modules():
        if not name:
            continue
        scope = _ancestors(name)
        nodes.append(Node(name, name, "module", type(module).__name__, name, scope))
        edges.append((scope[-1] if scope else "__root__", name))
    groups = {name: type(m).__name__ for name, m in model.named_modules() if name and any(m.children())}
    return Graph(nodes, edges, traced=False, message=f"{reason}; showing the module tree instead of the data flow",
                 groups=groups)


def _dedupe(edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen, out = set(), []
    for edge in edges:
        if edge not in seen and edge[0] != edge[1]:
            seen.add(edge)
            out.append(edge)
    return out


def collapse(graph: Graph, collapsed: set[str] | frozenset[str]) -> Graph:
    """``graph`` with each block in ``collapsed`` (outermost wins) drawn as a single node."""
    if not collapsed:
        return graph
    if not graph.traced:  # module tree: a collapsed block hides its descendants
        hidden = {n.id for n in graph.nodes if any(p in collapsed for p in n.scope)}
        nodes = [replace(n, members=1 + sum(1 for m in graph.nodes if n.id in m.scope)) if n.id in collapsed else n
                 for n in graph.nodes if n.id not in hidden]
        edges = [(a, b) for a, b in graph.edges if a not in hidden and b not in hidden]
        return replace(graph, nodes=nodes, edges=edges)
    rep: dict[str, str] = {}
    nodes: list[Node] = []
    group_nodes: dict[str, Node] = {}
    for n in graph.nodes:
        own = (*n.scope, n.module) if n.kind == "module" else n.scope
        block = next((p for p in own if p in collapsed and p in graph.groups), None)
        if block is None:
            rep[n.id] = n.id
            nodes.append(n)
            continue
        gid = f"group:{block}"
        rep[n.id] = gid
        if gid not in group_nodes:
            outer = tuple(p for p in n.scope if p != block and block.startswith(p + "."))
            group_nodes[gid] = Node(gid, block, "group", graph.groups[block], block, outer, n.shape, 0)
            nodes.append(group_nodes[gid])
        group = group_nodes[gid]
        group.members += 1
        group.shape = n.shape or group.shape  # the last member's output shape is the block's
    edges = _dedupe([(rep[a], rep[b]) for a, b in graph.edges])
    return replace(graph, nodes=nodes, edges=edges)


def default_collapsed(graph: Graph, max_nodes: int = 150) -> set[str]:
    """The shallowest block depth at which collapsing keeps the drawing under ``max_nodes`` nodes."""
    if len(graph.nodes) <= max_nodes or not graph.groups:
        return set()
    depths = sorted({p.count(".") + 1 for p in graph.groups}, reverse=True)
    chosen: set[str] = set()
    for depth in depths:  # deepest first: collapse as little as possible
        chosen = {p for p in graph.groups if p.count(".") + 1 == depth}
        if len(collapse(graph, chosen).nodes) <= max_nodes:
            return chosen
    return chosen


def layout(graph: Graph, sweeps: int = 4) -> dict[str, tuple[float, float]]:
    """Layered positions: ``y`` = longest path from an input, ``x`` = order in the layer (barycentres)."""
    ids = [n.id for n in graph.nodes]
    index = {nid: i for i, nid in enumerate(ids)}
    preds: dict[str, list[str]] = {nid: [] for nid in ids}
    succs: dict[str, list[str]] = {nid: [] for nid in ids}
    for a, b in graph.edges:
        if a in index and b in index:
            preds[b].append(a)
            succs[a].append(b)
    level: dict[str, int] = {}
    for nid in _topological(ids, preds, succs):
        level[nid] = 1 + max((level[p] for p in preds[nid] if p in level), default=-1)
    layers: dict[int, list[str]] = {}
    for nid in ids:
        layers.setdefault(level[nid], []).append(nid)
    pos = {nid: float(i) for layer in layers.values() for i, nid in enumerate(layer)}
    order = sorted(layers)
    for sweep in range(sweeps):
        seq, neigh = (order, preds) if sweep % 2 == 0 else (order[::-1], succs)
        for lv in seq:
            layer = layers[lv]
            bary = {nid: (sum(pos[m] for m in neigh[nid]) / len(neigh[nid]) if neigh[nid] else pos[nid])
                    for nid in layer}
            layer.sort(key=lambda nid: (bary[nid], index[nid]))
            centre = (len(layer) - 1) / 2
            for i, nid in enumerate(layer):
                pos[nid] = i - centre
    return {nid: (pos[nid], float(level[nid])) for nid in ids}


def _topological(ids, preds, succs) -> list[str]:
    indeg = {nid: len(preds[nid]) for nid in ids}
    ready = [nid for nid in ids if indeg[nid] == 0]
    out = []
    while ready:
        nid = ready.pop(0)
        out.append(nid)
        for s in succs[nid]:
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    done = set(out)
    out.extend(nid for nid in ids if nid not in done)  # cycles cannot happen in a forward pass; be safe
    return out


def weighted_depth(graph: Graph) -> int | None:
    """Conv/Linear layers on the longest path (ResNet-18 → 18); None for the module-tree fallback."""
    if not graph.traced:
        return None
    best: dict[str, int] = {}
    preds: dict[str, list[str]] = {}
    for a, b in graph.edges:
        preds.setdefault(b, []).append(a)
    for n in graph.nodes:  # fx nodes come in topological order
        own = 1 if (n.kind == "module" and (n.op.startswith("Conv") or n.op == "Linear")) or n.op in WEIGHTED_OPS else 0
        best[n.id] = own + max((best.get(p, 0) for p in preds.get(n.id, [])), default=0)
    return max(best.values(), default=0)


def shape_text(obj) -> str:
    return format_shape(shape_of(obj))
