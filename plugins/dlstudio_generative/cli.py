"""``dlstudio generative``: the generative plugin's commands, headless.

- ``stylize CONTENT STYLE -o result.png``: a style transfer, stored as a run like one the window starts (its spec
  replays with ``dlstudio train``), and its picture copied to ``-o``;
- ``samples``: the bundled sample pictures;
- ``sample RUN_ID -n 64 -o grid.png``: a grid of a trained GAN's samples;
- ``score RUN_ID --scorer RUN_ID``: how varied and recognisable a digits GAN's samples are, by a classifier run.
"""

from __future__ import annotations

import argparse
import shutil
from typing import Any

from dlstudio.contract import CommandSpec


def _arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="generative_command", metavar="SUBCOMMAND", required=True)

    style = sub.add_parser("stylize", help="paint CONTENT in the style of STYLE (a run of the style-transfer task)")
    style.add_argument("content", help="an image file, or sample:NAME for a bundled sample (see the samples command)")
    style.add_argument("style", help="an image file, or sample:NAME")
    style.add_argument("-o", "--output", default=None, help="also copy the result here (PNG)")
    style.add_argument("--features", default="random-banks", choices=["random-banks", "vgg19"],
                       help="the network that sees content and style: random filter banks (offline, default) "
                            "or the book's pretrained VGG-19")
    style.add_argument("--vgg-weights", default="", dest="vgg_weights",
                       help="a vgg19 .pth state dict (default: torch's cache, downloaded if online)")
    style.add_argument("--size", type=int, default=128, help="longest side of the result in pixels (default 128)")
    style.add_argument("--iterations", type=int, default=100, help="L-BFGS iterations (default 100)")
    style.add_argument("--snapshot-every", type=int, default=10, dest="snapshot_every",
                       help="keep a snapshot every N iterations (default 10)")
    style.add_argument("--set", action="append", default=[], dest="params", metavar="KEY=VALUE",
                       help="a task parameter, e.g. --set style_weight=50 --set keep_colors=true")
    style.add_argument("--device", default=None, help="cpu, cuda:0, mps (default: the best there is)")

    sub.add_parser("samples", help="the bundled sample pictures (sample:NAME in stylize and specs)")

    sample = sub.add_parser("sample", help="a grid of a trained GAN's samples")
    sample.add_argument("run_id", metavar="RUN_ID", help="a run of the gan task")
    sample.add_argument("-n", type=int, default=64, help="samples (default 64)")
    sample.add_argument("-o", "--output", required=True, help="the grid's PNG file")
    sample.add_argument("--seed", type=int, default=0, help="the same seed draws the same samples (default 0)")
    sample.add_argument("--weights", default="last", choices=["best", "last", "final"],
                        help="which of the run's checkpoints (default last)")

    score = sub.add_parser("score", help="score a digits GAN's samples with a classifier run")
    score.add_argument("run_id", metavar="RUN_ID", help="a run of the gan task on generative.digits")
    score.add_argument("--scorer", required=True, help="a finished generative.digits-scorer run")
    score.add_argument("-n", type=int, default=1000, help="samples to score (default 1000)")
    score.add_argument("--seed", type=int, default=0)


def _task_params(items: list[str]) -> dict[str, Any]:
    from dlstudio.errors import SpecError
    from dlstudio.spec import parse_value

    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"--set {item!r}: write KEY=VALUE, e.g. --set style_weight=50")
        params[key.strip()] = parse_value(value.strip())
    return params


def _stylize(args: argparse.Namespace, studio: Any) -> int:
    from dlstudio import launch
    from dlstudio_generative.style.snapshots import result_path
    from dlstudio_generative.style.spec import style_spec

    spec = style_spec(args.content, args.style, features=args.features, size=args.size, iterations=args.iterations,
                      snapshot_every=args.snapshot_every, vgg_weights=args.vgg_weights,
                      **_task_params(args.params))
    if args.device:
        spec["run"]["device"] = args.device
    info = launch.train(studio, spec)
    result = result_path(info.run_dir)
    if not result.is_file():
        print(f"dlstudio: the run ended {info.status} before it painted anything: {info.message}")
        return 1
    if args.output:
        shutil.copyfile(result, args.output)
        print(f"wrote {args.output}")
    print(f"run {info.id} {info.status}: {result}")
    return 0 if info.status in ("completed", "stopped") else 1


def _samples(args: argparse.Namespace, studio: Any) -> int:
    from dlstudio_generative.style.samples import SAMPLE_PREFIX, SAMPLES

    for name, item in SAMPLES.items():
        print(f"{SAMPLE_PREFIX}{name:<16} {item.role:<8} {item.title}")
    return 0


def _sample(args: argparse.Namespace, studio: Any) -> int:
    from dlstudio_generative.gan.sampling import sample_to_file

    if args.n < 1:
        from dlstudio.errors import RunError

        raise RunError(f"-n {args.n}: ask for at least one sample")
    path = sample_to_file(studio, args.run_id, args.n, args.output, seed=args.seed, weights=args.weights)
    print(f"wrote {path}")
    return 0


def _score(args: argparse.Namespace, studio: Any) -> int:
    from dlstudio_generative.gan.quality import load_scorer, score_samples
    from dlstudio_generative.gan.sampling import load_generator, sample

    scorer = load_scorer(studio, args.scorer)
    images = sample(load_generator(studio, args.run_id), args.n, args.seed)
    result = score_samples(scorer, images)
    print(f"score {result.score:.2f} (of at most {result.total_classes}), confidence {result.confidence:.0%}, "
          f"coverage {result.coverage}/{result.total_classes} classes")
    print("samples per class: " + ", ".join(f"{c} {n}" for c, n in zip(result.classes, result.histogram)))
    if result.message:
        print(result.message)
    return 0


def _run(args: argparse.Namespace, studio: Any) -> int:
    from dlstudio.errors import RunError

    commands = {"stylize": _stylize, "samples": _samples, "sample": _sample, "score": _score}
    try:
        return commands[args.generative_command](args, studio)
    except ValueError as exc:  # a file or setting the user can fix: a message, not a traceback
        raise RunError(str(exc)) from None


def command_specs() -> list[CommandSpec]:
    return [CommandSpec(name="generative", help="generative models: stylize a picture, sample or score a GAN",
                        add_arguments=_arguments, run=_run)]
