"""``dlstudio``: the window by default; ``train``, ``recipes``, ``runs``, ``plugins`` and plugins' commands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from dlstudio import __version__

#: Built-in commands that need only the data folder: they run without loading any plugin.
WITHOUT_PLUGINS = frozenset({"runs", "tensorboard"})


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] == "gui":
        from dlstudio.gui.app import main as gui_main

        return gui_main(argv[1:])
    command = _command_name(argv)
    if command is None and "--version" in argv:  # before any plugin (or the data folder) is looked at
        print(f"dlstudio {__version__}")
        return 0
    from dlstudio.home import HomeError
    from dlstudio.studio import Studio

    try:
        studio = Studio.open(candidates=[] if command in WITHOUT_PLUGINS else None)
    except HomeError as exc:
        print(f"dlstudio: {exc}", file=sys.stderr)
        return 2
    parser = build_parser(studio, argv)
    return dispatch(parser.parse_args(argv), studio)


def dispatch(args: argparse.Namespace, studio: Any) -> int:
    """Run the parsed command; its exit status. What the user can fix is one ``dlstudio: ...`` line (status 2)."""
    try:
        return args.handler(args, studio)
    except KeyboardInterrupt:
        print("\ndlstudio: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from dlstudio.errors import USER_ERRORS

        if isinstance(exc, USER_ERRORS):
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            print(f"dlstudio: {message}", file=sys.stderr)
            return 2
        raise


def _command_name(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs: its first word that is not an option (``dlstudio``'s own options take no value)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(studio: Any, argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole ``dlstudio`` parser, plugins' commands included.

    Given the ``argv`` about to be parsed, only the command it runs declares its arguments: the others are
    listed with their help, and a plugin's ``add_arguments`` (and whatever it imports) runs only when its
    own command does. Without ``argv``, every command declares its arguments.
    """
    chosen = _command_name(argv) if argv is not None else None
    parser = argparse.ArgumentParser(prog="dlstudio", description="Point-and-click deep learning (and its CLI).")
    parser.add_argument("--version", action="version", version=f"dlstudio {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    p = sub.add_parser("gui", help="open the window (the default)")
    p.set_defaults(handler=lambda a, s: 0)

    p = sub.add_parser("train", help="train from a spec file or a recipe, headless")
    p.add_argument("spec", nargs="?", help="a run spec (.toml)")
    p.add_argument("--recipe", help="start from a plugin's recipe (see `dlstudio recipes`)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a spec key, e.g. train.epochs=3 or model.params.dropout=0.2")
    p.add_argument("--device", help="override [run] device (cpu, cuda:0, mps, auto)")
    p.add_argument("--json", action="store_true", help="print one JSON object per epoch and a summary")
    p.add_argument("--resume", metavar="RUN_ID",
                   help="resume a run from its last checkpoint; --set and --device may change what a resumed "
                        "run can take (its length, device, learning rate, data loading, checkpoints, early "
                        "stopping); the rest is refused, saying why")
    p.add_argument("--save-spec", metavar="PATH", help="write the resolved spec to PATH and exit")
    p.set_defaults(handler=_train)

    p = sub.add_parser("recipes", help="list the ready-made run specs plugins provide")
    p.add_argument("--show", metavar="NAME", help="print one recipe as a spec file")
    p.set_defaults(handler=_recipes)

    p = sub.add_parser("runs", help="list the run store")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_runs)

    p = sub.add_parser("plugins", help="list plugins with version, source and status (exit status 1 if one failed)")
    p.add_argument("--verbose", "-v", action="store_true", help="show tracebacks of failed plugins")
    p.set_defaults(handler=_plugins)

    from dlstudio.sweep_cli import add_commands  # sweeps and TensorBoard

    add_commands(sub)

    for command in studio.registry.commands:
        if argv is not None and command.name != chosen:
            sub.add_parser(command.name, help=command.help)  # listed in --help; never parsed
            continue
        failure = _declare_arguments(command)
        if failure is None:
            p = sub.add_parser(command.name, help=command.help)
            command.add_arguments(p)
            p.set_defaults(handler=lambda a, s, _c=command: _c.run(a, s))
            continue
        record = studio.plugin_record(command.plugin)
        if record is not None:
            record.warnings.append(f"command {command.name!r} disabled: {failure}")
        if argv is not None:  # the command about to run: say why it cannot, whatever its arguments
            # (no argument starts with the prefix character NUL, so every word, "-h" too, lands in "ignored")
            p = sub.add_parser(command.name, help=command.help, add_help=False, prefix_chars="\0")
            p.add_argument("ignored", nargs="*")
            p.set_defaults(handler=lambda a, s, _c=command, _f=failure: _broken_command(_c, _f))
    return parser


def _declare_arguments(command: Any) -> str | None:
    """Try ``command.add_arguments`` on a parser of its own: what went wrong, or None."""
    try:  # one plugin's broken command must not break the whole CLI
        command.add_arguments(argparse.ArgumentParser(prog=f"dlstudio {command.name}"))
    except Exception as exc:
        return f"add_arguments raised {exc!r}"
    return None


def _broken_command(command: Any, failure: str) -> int:
    print(f"dlstudio: command {command.name!r} of plugin {command.plugin!r} cannot run: its {failure}",
          file=sys.stderr)
    return 1


def _train(args: argparse.Namespace, studio: Any) -> int:
    from dlstudio import launch
    from dlstudio.spec import RunSpec, SpecError

    overrides = list(args.overrides) + ([f"run.device={json.dumps(args.device)}"] if args.device else [])
    if args.resume:
        alone = [name for name, given in (("a spec file", args.spec), ("--recipe", args.recipe),
                                          ("--save-spec", args.save_spec)) if given]
        if alone:
            raise SpecError(f"--resume continues the stored run {args.resume} with its own spec: give no "
                            f"{' or '.join(alone)} with it (change what a resumed run can take with --set and "
                            "--device)")
        info = launch.train(studio, resume_id=args.resume, overrides=args.overrides, device=args.device,
                            json_lines=args.json)
    else:
        if bool(args.spec) == bool(args.recipe):
            raise SpecError("give either a spec file or --recipe NAME (see `dlstudio recipes`)")
        if args.recipe:
            spec = studio.recipe_spec(args.recipe, overrides)
        else:
            spec = RunSpec.load(args.spec)
            spec = spec.with_overrides(overrides) if overrides else spec
        if args.save_spec:
            spec.save(args.save_spec)
            print(f"wrote {args.save_spec}")
            return 0
        info = launch.train(studio, spec, json_lines=args.json)
    return 0 if info.status in ("completed", "stopped") else 1


def _recipes(args: argparse.Namespace, studio: Any) -> int:
    if args.show:
        print(studio.recipe_spec(args.show).to_toml())
        return 0
    recipes = sorted(studio.registry.recipes, key=lambda r: r.id)
    if not recipes:
        print("no recipes: no enabled plugin provides one (see `dlstudio plugins`)")
        return 0
    width = max(len(r.id) for r in recipes)
    for r in recipes:
        reported = f"  [reported: {r.reported_result}]" if r.reported_result else ""
        print(f"{r.id:<{width}}  {r.title}{reported}  ({r.plugin})")
    return 0


def _runs(args: argparse.Namespace, studio: Any) -> int:
    rows = studio.store.list_runs()
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], indent=2, default=str))
        return 0
    if not rows:
        print(f"no runs yet in {studio.store.path}")
        return 0
    print(f"{'ID':<22} {'STATUS':<11} {'EPOCHS':>7} {'BEST':>12}  {'DEVICE':<7} MODEL / DATASET")
    for r in rows:
        best = f"{r.best_value:.4f}" if r.best_value is not None else "-"
        print(f"{r.id:<22} {r.status:<11} {r.epochs_done:>3}/{r.epochs:<3} {best:>12}  {r.device:<7} "
              f"{r.model} / {r.dataset}")
    return 0


def _plugins(args: argparse.Namespace, studio: Any) -> int:
    """List the plugins; the exit status is 1 when one of them failed (a script or CI can check it)."""
    from dlstudio.plugins import FAILED

    for rec in studio.plugins:
        line = f"{rec.name:<16} {rec.version or '-':<9} {rec.status:<9} {rec.source}"
        print(line)
        if rec.error:
            print(f"    error: {rec.error}")
        for warning in rec.warnings:
            print(f"    warning: {warning}")
        if args.verbose and rec.traceback:
            print("    " + rec.traceback.replace("\n", "\n    "))
        if args.verbose and not rec.name_taken:  # a refused namesake registered nothing: the items are the other's
            for kind, ids in _registered_by(studio, rec.name).items():
                print(f"    {kind}: {', '.join(ids)}")
    return 1 if any(rec.status == FAILED for rec in studio.plugins) else 0


def _registered_by(studio: Any, plugin: str) -> dict[str, list[str]]:
    """What ``plugin`` registered, by kind: the ids a spec may name (``[run] callbacks``, recipes...)."""
    registry = studio.registry
    kinds = ("families", "panels", "models", "datasets", "tasks", "callbacks", "recipes", "commands")
    out = {}
    for kind in kinds:
        ids = sorted(getattr(item, "id", None) or item.name for item in registry.catalog(kind)
                     if item.plugin == plugin)
        if ids:
            out[kind] = ids
    return out


if __name__ == "__main__":
    raise SystemExit(main())
