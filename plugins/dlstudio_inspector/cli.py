"""``dlstudio inspect`` and ``dlstudio export``: the inspector without a window."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from dlstudio.contract import CommandSpec
from dlstudio.runs import CheckpointError
from dlstudio_inspector.common import InspectorError

TARGET_HELP = ("a registered model id, a model file (.safetensors, .pt/.pth state dict, TorchScript, .onnx graph) "
               "or run:RUN_ID")


def _source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="MODEL_OR_FILE", help=TARGET_HELP + " (run:RUN_ID:last for its last epoch)")
    parser.add_argument("--arch", help="architecture (registered model id) of a bare .pt/.pth state dict")
    parser.add_argument("--input-shape", metavar="C,H,W", help="input shape without the batch, e.g. 3,224,224")
    parser.add_argument("--trust-torchscript", action="store_true",
                        help="run a TorchScript file's own code (it runs when loaded and on every forward pass): "
                             "only for files from a source you trust")


def _guarded(name: str, body: Callable[[argparse.Namespace, Any], int]) -> Callable[[argparse.Namespace, Any], int]:
    def run(args: argparse.Namespace, studio: Any) -> int:
        try:
            return body(args, studio)
        except (InspectorError, CheckpointError) as exc:
            print(f"dlstudio {name}: {exc}", file=sys.stderr)
            return 2
        except KeyError as exc:
            print(f"dlstudio {name}: {exc.args[0] if exc.args else exc}", file=sys.stderr)
            return 2

    return run


def _open(args: argparse.Namespace, studio: Any):
    from dlstudio_inspector.inputs import parse_shape
    from dlstudio_inspector.sources import open_target

    shape = parse_shape(args.input_shape) if args.input_shape else None
    return open_target(studio, args.target, args.arch, shape, trust_torchscript=args.trust_torchscript)


def _inspect_arguments(parser: argparse.ArgumentParser) -> None:
    _source_arguments(parser)
    parser.add_argument("--depth", type=int, default=None, help="show layers down to this nesting depth")
    parser.add_argument("--batch", type=int, default=1, help="batch size of the sample input (default 1)")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    parser.add_argument("--graph", action="store_true",
                        help="also say how the forward pass traces: merge points (residual adds, concatenations)")


def _inspect(args: argparse.Namespace, studio: Any) -> int:
    from dlstudio_inspector.summary import as_dict, format_table, summarize

    if args.target.lower().endswith(".onnx"):
        return _inspect_onnx(args)
    opened = _open(args, studio)
    summary = summarize(opened.model, opened.sample(batch=max(1, args.batch)), opened.data)
    if args.json:
        print(json.dumps({"model": opened.title, "source": opened.origin, **as_dict(summary)}, default=str))
        return 0
    print(f"{opened.title}  [{opened.origin}]")
    for note in opened.notes:
        print(f"note: {note}")
    print(format_table(summary, args.depth))
    if args.graph:
        from dlstudio_inspector.graph import build_graph, weighted_depth

        graph = build_graph(opened.model)
        if not graph.traced:
            print(graph.message)
        else:
            merges = graph.merges()
            kinds: dict[str, int] = {}
            for node in merges:
                kinds[node.op] = kinds.get(node.op, 0) + 1
            joined = ", ".join(f"{n} × {op}" for op, n in kinds.items()) or "none (a plain chain)"
            print(f"Graph: {len(graph.nodes)} nodes; merge points: {joined}; "
                  f"depth {weighted_depth(graph)} conv/linear layers")
    return 0


def _inspect_onnx(args: argparse.Namespace) -> int:
    """An ``.onnx`` file: its node table and totals, and whether it runs in ONNX Runtime (exit 1 if not)."""
    from dlstudio_inspector.onnx_model import as_dict, format_table, load_onnx, run_check

    graph = load_onnx(args.target)
    check = run_check(graph, batch=max(1, args.batch))
    if args.json:
        print(json.dumps(as_dict(graph, check), default=str))
        return 0 if check.passed else 1
    print(f"ONNX — {graph.path.name}  [{graph.path}]")
    for note in graph.notes:
        print(f"note: {note}")
    print(format_table(graph))
    print(f"ONNX Runtime check: {check.message}")
    return 0 if check.passed else 1


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    from dlstudio_inspector.export import FORMATS

    _source_arguments(parser)
    parser.add_argument("--format", "-f", choices=FORMATS, required=True)
    parser.add_argument("-o", "--output", required=True, metavar="PATH", help="file to write")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip running the exported model to compare its outputs with the original")
    parser.add_argument("--untrained", action="store_true",
                        help="export a bare registered model's freshly initialised (random) weights on purpose; "
                             "without it only a run or a weights file is exported")


def _export(args: argparse.Namespace, studio: Any) -> int:
    from dlstudio_inspector.export import export, untrained_reason

    opened = _open(args, studio)
    untrained = untrained_reason(opened)
    if untrained and not args.untrained:  # random weights exported as if trained would be silently useless
        raise InspectorError(f"{untrained}. Export a trained model instead: run:RUN_ID (a run's checkpoint; "
                             "`dlstudio runs` lists them) or a weights file (.safetensors, .pt/.pth with --arch); "
                             "or add --untrained to export these untrained weights on purpose")
    result = export(opened, args.format, args.output, studio=studio, verify=not args.no_verify)
    print(result.describe())
    return 0 if result.passed is not False else 1


COMMANDS = (
    CommandSpec(name="inspect", help="print a model's layer table (shapes, parameters, FLOPs) with totals",
                add_arguments=_inspect_arguments, run=_guarded("inspect", _inspect)),
    CommandSpec(name="export", help="export a model to ONNX, TorchScript or safetensors, and verify it",
                add_arguments=_export_arguments, run=_guarded("export", _export)),
)
