"""``dlstudio``: the window by default; ``train``, ``recipes``, ``runs``, ``plugins`` and plugins' commands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from dlstudio import __version__
from dlstudio.cli_plugins import add_parser as add_plugins_parser

#: Built-in commands that need only the data folder: they run without loading any plugin.
WITHOUT_PLUGINS = frozenset({"runs", "tensorboard"})


def main(argv: Sequence[str] | None = None) -> int:
    argv = _safe_mode(list(sys.argv[1:] if argv is None else argv))
    if not argv or argv[0] == "gui":
        from dlstudio.gui.app import main as gui_main

        return gui_main(argv[1:])
    command = _command_name(argv)
    if command is None and "--version" in argv:  # before any plugin (or the data folder) is looked at
        print(f"dlstudio {__version__}")
        return 0
    from dlstudio.cli_plugins import WITHOUT_PLUGINS as PLUGIN_ACTIONS
    from dlstudio.cli_plugins import report_crashes
    from dlstudio.home import HomeError
    from dlstudio.studio import Studio

    words = [arg for arg in argv if not arg.startswith("-")]
    bare = command in WITHOUT_PLUGINS or (command == "plugins" and len(words) > 1 and words[1] in PLUGIN_ACTIONS)
    try:
        report_crashes()  # which plugin was loading when dlstudio last died, said before any plugin loads
        studio = Studio.open(candidates=[] if bare else None)
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


def _safe_mode(argv: list[str]) -> list[str]:
    """``dlstudio --safe-mode ...``: this process and those it starts load the built-in plugins only."""
    from dlstudio.plugin_safety import SAFE_MODE_FLAG, enter_safe_mode

    command = _command_name(argv)
    head = argv.index(command) if command is not None else len(argv)
    if SAFE_MODE_FLAG not in argv[:head]:
        return argv
    enter_safe_mode()
    return [arg for arg in argv[:head] if arg != SAFE_MODE_FLAG] + argv[head:]


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
    parser = argparse.ArgumentParser(
        prog="dlstudio", description="Point-and-click deep learning (and its CLI).",
        epilog="dlstudio --safe-mode [COMMAND ...]: load the built-in plugins only (third-party ones are disabled "
               "for that session); the window too.")
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
    p.add_argument("--nproc", type=int, default=1, metavar="N",
                   help="train with N processes on this machine (one per GPU, or CPU shares) through torchrun; "
                        "[train] batch_size is the batch of all of them together")
    p.add_argument("--nnodes", type=int, default=1, metavar="M", help="machines taking part (with --rdzv-endpoint)")
    p.add_argument("--node-rank", type=int, default=0, metavar="R", help="this machine's number, 0 .. M-1")
    p.add_argument("--rdzv-endpoint", metavar="HOST:PORT", help="where the machines meet (machine 0's address)")
    p.set_defaults(handler=_train)

    p = sub.add_parser("recipes", help="list the ready-made run specs plugins provide")
    p.add_argument("--show", metavar="NAME", help="print one recipe as a spec file")
    p.set_defaults(handler=_recipes)

    p = sub.add_parser("runs", help="list the run store")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_runs)

    add_plugins_parser(sub)  # dlstudio/cli_plugins.py

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
                            json_lines=args.json, placement=_placement(args))
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
        info = launch.train(studio, spec, json_lines=args.json, placement=_placement(args))
    if info is None:  # another machine of a distributed run: its processes ended well (else RunError)
        return 0
    return 0 if info.status in ("completed", "stopped") else 1


def _placement(args: argparse.Namespace) -> Any:
    """Where a distributed run's processes go (None: this process trains alone)."""
    if args.nproc == 1 and args.nnodes == 1:
        return None
    from dlstudio.distributed import Placement

    return Placement(args.nproc, args.nnodes, args.node_rank, args.rdzv_endpoint)


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


if __name__ == "__main__":
    raise SystemExit(main())
