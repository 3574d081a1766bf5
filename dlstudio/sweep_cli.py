"""``dlstudio sweep`` and ``dlstudio tensorboard``: their arguments and what they do."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

#: As dlstudio.sweep_params.SYNTAX, which is not imported here: it would import torch for `dlstudio --help`.
SYNTAX = "KEY=uniform:LOW:HIGH, loguniform:LOW:HIGH, int:LOW:HIGH[:STEP] or choice:A,B,C"


def add_commands(sub: Any) -> None:
    """Declare both commands on the ``dlstudio`` sub-parsers."""
    p = sub.add_parser("sweep", help="a hyperparameter sweep with Optuna: every trial a run in the store")
    p.add_argument("spec", nargs="?", help="the base run spec (.toml)")
    p.add_argument("--recipe", help="start from a plugin's recipe instead of a spec file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key of the base spec, as `dlstudio train --set`")
    p.add_argument("--param", dest="params", action="append", default=[], metavar="KEY=KIND:ARGS",
                   help=f"a swept key: {SYNTAX} (e.g. train.lr=loguniform:1e-4:1e-1)")
    p.add_argument("--trials", type=int, default=20, help="trials this process runs (default 20)")
    p.add_argument("--sampler", choices=("grid", "random", "tpe"), default="tpe")
    p.add_argument("--pruner", choices=("median", "none"), default="median",
                   help="median: stop a trial whose metric is worse than the median of earlier trials at the "
                        "same epoch (stored as 'pruned')")
    p.add_argument("--startup-trials", type=int, default=5, help="completed trials before pruning starts")
    p.add_argument("--warmup-epochs", type=int, default=0, help="epochs of a trial before it can be pruned")
    p.add_argument("--metric", default="", help="the metric to optimise (default: the task's monitored metric)")
    p.add_argument("--direction", choices=("min", "max"), help="which way is better (default: the metric's)")
    p.add_argument("--storage", default="",
                   help="Optuna storage several processes or machines can share: a journal file (on a shared "
                        "folder) or a database URL (default: sweeps/STUDY.journal in the data folder)")
    p.add_argument("--study", default="", help="the study's name; processes with the same one share the sweep")
    p.add_argument("--seed", type=int, default=None, help="the sampler's seed")
    p.add_argument("--json", action="store_true", help="print the trials and the best as JSON at the end")
    p.set_defaults(handler=sweep_command)

    p = sub.add_parser("tensorboard", help="start TensorBoard on the run store and print its URL")
    p.add_argument("--port", type=int, default=0, help="the port (default: a free one from 6006)")
    p.add_argument("--run", metavar="RUN_ID", help="print the URL that shows this run")
    p.set_defaults(handler=tensorboard_command)


def sweep_command(args: argparse.Namespace, studio: Any) -> int:
    from dlstudio.spec import RunSpec, SpecError
    from dlstudio.sweep import SweepConfig, TrialResult, run_sweep
    from dlstudio.sweep_params import parse_space

    if bool(args.spec) == bool(args.recipe):
        raise SpecError("give either a spec file or --recipe NAME (see `dlstudio recipes`)")
    if args.recipe:
        spec = studio.recipe_spec(args.recipe, args.overrides)
    else:
        spec = RunSpec.load(args.spec)
        spec = spec.with_overrides(args.overrides) if args.overrides else spec
    config = SweepConfig(parse_space(args.params), trials=args.trials, sampler=args.sampler, pruner=args.pruner,
                         metric=args.metric, direction=args.direction or "", storage=args.storage,
                         study=args.study, seed=args.seed, startup_trials=args.startup_trials,
                         warmup_epochs=args.warmup_epochs)

    def trial_done(trial: TrialResult) -> None:
        if not args.json:
            print(f"trial {trial.number}: {trial.state} {_value(trial.value)}  {_params(trial.params)}  "
                  f"run {trial.run_id or '-'}{'  ' + trial.message if trial.state != 'complete' else ''}",
                  flush=True)

    result = run_sweep(studio, spec, config, on_trial=trial_done, on_record=None if args.json else _TrialProgress())
    best = result.best
    if args.json:
        print(json.dumps({"study": result.study, "storage": result.storage, "metric": result.metric,
                          "direction": result.direction, "trials": [t.__dict__ for t in result.trials],
                          "best": best.__dict__ if best else None}, indent=2, default=str))
        return 0 if best else 1
    print(f"\nstudy {result.study} ({result.storage}): {result.metric}, {result.direction} is better")
    print(f"{'#':>4} {'STATE':<9} {result.metric[:14]:>14}  {'RUN':<22} PARAMS")
    for t in result.trials:
        mark = "*" if best is not None and t.number == best.number else " "
        print(f"{t.number:>3}{mark} {t.state:<9} {_value(t.value):>14}  {t.run_id or '-':<22} {_params(t.params)}")
    if best is None:
        print("no trial completed", file=sys.stderr)
        return 1
    print(f"best: trial {best.number}, {result.metric} {_value(best.value)}, run {best.run_id}: "
          f"{_params(best.params)}\nreplay it: dlstudio runs, then train its spec (or clone it in the window)")
    return 0


class _TrialProgress:
    """Each trial's epochs as ``dlstudio train`` prints them, a fresh printer per trial's run."""

    def __init__(self) -> None:
        self.printer: Any = None

    def __call__(self, record: Any) -> None:
        from dlstudio.cli_progress import ProgressPrinter

        kind = getattr(record, "kind", "")
        if kind == "run_started":
            if self.printer is not None:  # the last trial's run ended by an error
                self.printer.close()
            self.printer = ProgressPrinter()
        if self.printer is not None:
            self.printer(record)
        if kind == "fit_ended" and self.printer is not None:
            self.printer.close()
            self.printer = None


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _params(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def tensorboard_command(args: argparse.Namespace, studio: Any) -> int:
    from dlstudio.tensorboard_server import TensorBoardError, start_tensorboard

    try:
        server = start_tensorboard(studio.store.runs_dir, port=args.port)
    except TensorBoardError as exc:
        print(f"dlstudio: {exc}", file=sys.stderr)
        return 2
    url = server.url_for(args.run) if args.run else server.url
    print(f"TensorBoard on {studio.store.runs_dir}: {url}  (Ctrl+C stops it)", flush=True)
    try:
        return server.process.wait()
    except KeyboardInterrupt:
        server.stop()
        return 0
