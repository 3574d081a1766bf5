"""``dlstudio text``: the text plugin's commands, headless. ``dlstudio text generate RUN_ID --prompt ...``
writes with a finished language-model run."""

from __future__ import annotations

import argparse
from typing import Any

from dlstudio.contract import CommandSpec


def _arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="text_command", metavar="SUBCOMMAND", required=True)
    gen = sub.add_parser("generate", help="write text with a finished language-model run")
    gen.add_argument("run_id", metavar="RUN_ID", help="a finished run of the language-model task")
    gen.add_argument("--prompt", default="", help="the text to continue (default: start a new line)")
    gen.add_argument("--length", type=int, default=50, help="tokens to write (default 50)")
    gen.add_argument("--temperature", type=float, default=1.0,
                     help="above 0: lower is safer, higher more surprising (default 1)")
    gen.add_argument("--top-k", type=int, default=0, dest="top_k",
                     help="sample among the k likeliest tokens only; 0: all (default)")
    gen.add_argument("--seed", type=int, default=None, help="the same seed writes the same text")
    gen.add_argument("--weights", default="best", choices=["best", "last", "final"],
                     help="which of the run's checkpoints (default best)")


def _run(args: argparse.Namespace, studio: Any) -> int:
    from dlstudio.errors import RunError
    from dlstudio_text.generate import generate_from_run

    if args.text_command != "generate":  # argparse allows nothing else; kept for a future sub-command
        raise RunError(f"unknown text command {args.text_command!r}")
    try:
        text = generate_from_run(studio, args.run_id, args.prompt, length=args.length,
                                 temperature=args.temperature, top_k=args.top_k, seed=args.seed,
                                 weights=args.weights)
    except ValueError as exc:  # a prompt or setting the model cannot use: the user's to fix
        raise RunError(str(exc)) from None
    print(f"{args.prompt} {text}" if args.prompt.strip() else text)
    return 0


def command_specs() -> list[CommandSpec]:
    return [CommandSpec(name="text", help="text models: generate with a finished language-model run",
                        add_arguments=_arguments, run=_run)]
