"""Style-transfer benchmarks, measured side by side in one run (the machine is noisy: compare, don't clock).

(a) L-BFGS iterations/s: the style-transfer task through dlstudio's runner (periods, checkpoints, records,
    snapshots) ÷ a bare script of the same optimisation (same random banks, same losses, L-BFGS as the book
    loops it: ``optimizer.step(closure)`` until the iterations are done)                               goal ≤ 1.05
(b) the snapshot callback's cost: runs with ÷ without it, as a share of throughput                    goal ≤ 5 %
(c) the offline default (128 px, 100 iterations, random banks): its time, and what the result is: colour
    statistics (per-channel mean and deviation) moved toward the style's, edges still the content's.
    A side-by-side content | style | result PNG is written (``--out``).

Ratios are medians over adjacent pairs (who goes first alternates), with the quartiles and best ÷ best.

Run: ``.venv/bin/python bench/bench_style.py`` (``--quick`` skips (c); the default run takes ~2 minutes on an
idle 2-core CPU).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))  # the plugins of this source tree

import numpy as np
import torch
from PIL import Image

import dlstudio_generative.plugin as generative_plugin
from dlstudio.contract import LoadContext
from dlstudio.engine import FitEnded, FitStarted
from dlstudio.plugins import module_candidate
from dlstudio.runner import Run
from dlstudio.spec import RunSpec
from dlstudio.studio import Studio
from dlstudio_generative.style import snapshots
from dlstudio_generative.style.data import load_style_pair
from dlstudio_generative.style.features import RandomBanks
from dlstudio_generative.style.layers import default_layers
from dlstudio_generative.style.losses import content_loss, gram, relative_weights, style_loss
from dlstudio_generative.style.spec import RECORD_EVERY, style_spec, stylize_result_image
from dlstudio_generative.style.task import HISTORY_SIZE

ROUNDS = 4
CONTENT, STYLE = "sample:landscape", "sample:night-swirls"


def quartiles(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return f"median {q[1]:.3f} (quartiles {q[0]:.3f}–{q[2]:.3f})"


def interleaved(engine, bare, rounds: int = ROUNDS) -> tuple[list[float], float, float, float]:
    """Seconds per iteration of ``engine()`` and ``bare()`` in adjacent pairs: ratios, best ÷ best, each's best."""
    engine(), bare()  # warm-up both
    ratios, e_times, b_times = [], [], []
    for round_ in range(rounds):
        if round_ % 2:
            e, b = engine(), bare()
        else:
            b, e = bare(), engine()
        ratios.append(e / b)
        e_times.append(e)
        b_times.append(b)
    return ratios, min(e_times) / min(b_times), min(e_times), min(b_times)


def studio() -> Studio:
    home = Path(tempfile.mkdtemp(prefix="dlstudio-bench-style-"))
    return Studio.open(home, [module_candidate("generative", generative_plugin)])


def engine_run(st: Studio, size: int, iterations: int, every: int) -> tuple[float, str]:
    """Seconds per iteration of a run through the runner, from its start of training to its end; its folder."""
    spec = RunSpec.from_dict(style_spec(CONTENT, STYLE, size=size, iterations=iterations, snapshot_every=every,
                                        device="cpu"))
    run = Run(st, spec)
    started = 0.0
    for record in run.records():
        if isinstance(record, FitStarted):
            started = time.perf_counter()
        elif isinstance(record, FitEnded):
            elapsed = time.perf_counter() - started
            assert record.status == "completed", record.message
    return elapsed / iterations, str(st.store.run_dir(run.run_id))


def bare_run(size: int, iterations: int) -> tuple[float, torch.Tensor]:
    """The book's loop, written by hand over the same pictures, features and losses: seconds per iteration (one
    closure evaluation and one update) and the picture it paints."""
    bundle = load_style_pair({"content": CONTENT, "style": STYLE, "size": size}, LoadContext(cache_dir="."))
    content, style = (t[None] for t in bundle.train[0])
    started = time.perf_counter()
    features = RandomBanks(seed=0)
    content_layers, style_layers = default_layers("random-banks")
    layers = tuple(dict.fromkeys(content_layers + style_layers))
    with torch.no_grad():
        content_targets = features(content, content_layers)
        style_grams = {name: gram(f) for name, f in features(style, style_layers).items()}
    content_weights, style_weights = relative_weights(content_targets), relative_weights(style_grams)
    image = content.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([image], history_size=HISTORY_SIZE)  # max_iter 20 per step(), as the book
    done = [0]

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        out = features(image, layers)
        loss = content_loss(out, content_targets, content_weights) + 30.0 * style_loss(out, style_grams,
                                                                                         style_weights)
        loss.backward()
        done[0] += 1
        return loss

    while done[0] < iterations:
        optimizer.step(closure)
    return (time.perf_counter() - started) / done[0], image.detach()


def canvas_of(run_dir: str) -> torch.Tensor:
    from safetensors.torch import load_file

    return load_file(str(Path(run_dir) / "checkpoints" / "last.safetensors"))["image"]


# -- (a) ------------------------------------------------------------------------------------------------------------
def bench_engine_vs_bare(size: int, iterations: int) -> None:
    st = studio()
    last: dict[str, object] = {}

    def engine() -> float:
        seconds, last["dir"] = engine_run(st, size, iterations, every=5)
        return seconds

    def bare() -> float:
        seconds, last["image"] = bare_run(size, iterations)
        return seconds

    ratios, best, e, b = interleaved(engine, bare)
    print(f"(a) {size} px, {iterations} L-BFGS iterations, random banks: engine {1 / e:.2f} it/s, "
          f"bare {1 / b:.2f} it/s (a snapshot every 5, metrics and a checkpoint every {RECORD_EVERY})")
    print(f"    engine ÷ bare: {quartiles(ratios)}, best ÷ best {best:.3f}   goal ≤ 1.05")
    difference = float((canvas_of(last["dir"]) - last["image"]).abs().max())
    print(f"    the same picture as the book's loop (max_iter=20 per step): largest pixel difference {difference:.2g}")


# -- (b) ------------------------------------------------------------------------------------------------------------
def bench_snapshots(size: int, iterations: int) -> None:
    st = studio()
    real = snapshots.create_snapshots

    def with_snapshots() -> float:
        return engine_run(st, size, iterations, every=5)[0]

    def without() -> float:
        snapshots.create_snapshots = lambda run: None
        try:
            return engine_run(st, size, iterations, every=5)[0]
        finally:
            snapshots.create_snapshots = real

    ratios, best, w, wo = interleaved(with_snapshots, without)
    share = [100 * (r - 1) for r in ratios]
    print(f"(b) snapshots every 5 iterations at {size} px: with {1 / w:.2f} it/s, without {1 / wo:.2f} it/s")
    print(f"    cost: median {statistics.median(share):+.1f} % of throughput (best ÷ best {100 * (best - 1):+.1f} %)"
          "   goal ≤ 5 %")


# -- (c) ------------------------------------------------------------------------------------------------------------
def colour_stats(rgb: np.ndarray) -> np.ndarray:
    return np.concatenate([rgb.mean(axis=(0, 1)), rgb.std(axis=(0, 1))])


def edges(rgb: np.ndarray) -> np.ndarray:
    grey = rgb.mean(axis=2)
    across, down = np.zeros_like(grey), np.zeros_like(grey)
    across[:, 1:-1] = grey[:, 2:] - grey[:, :-2]
    down[1:-1] = grey[2:] - grey[:-2]
    return np.hypot(across, down)


def bench_default(out: Path) -> None:
    st = studio()
    started = time.perf_counter()
    seconds, run_dir = engine_run(st, 128, 100, every=5)
    total = time.perf_counter() - started
    result = np.asarray(stylize_result_image(run_dir), dtype=float) / 255
    bundle = load_style_pair({"content": CONTENT, "style": STYLE, "size": 128}, LoadContext(cache_dir="."))
    content = bundle.train[0][0].permute(1, 2, 0).numpy().astype(float)
    style = bundle.train[0][1].permute(1, 2, 0).numpy().astype(float)
    before = np.linalg.norm(colour_stats(content) - colour_stats(style))
    after = np.linalg.norm(colour_stats(result) - colour_stats(style))
    kept = np.corrcoef(edges(result).ravel(), edges(content).ravel())[0, 1]
    print(f"(c) offline default, 128 px × 100 iterations: {total:.1f} s in all ({1000 * seconds:.0f} ms/iteration)")
    print(f"    colour statistics' distance to the style's: content {before:.3f} → result {after:.3f} "
          f"({after / before:.0%}); edges' correlation with the content's: {kept:.2f}")
    pictures = [Image.fromarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)) for a in (content, style, result)]
    sheet = Image.new("RGB", (sum(p.width for p in pictures) + 16, max(p.height for p in pictures)), "white")
    x = 0
    for picture in pictures:
        sheet.paste(picture, (x, 0))
        x += picture.width + 8
    sheet.save(out)
    print(f"    content | style | result: {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip (c), the offline default's full run")
    parser.add_argument("--size", type=int, default=128)
    # A multiple of 20: the book's loop steps L-BFGS 20 iterations at a time.
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "style_default.png")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    bench_engine_vs_bare(args.size, args.iterations)
    bench_snapshots(args.size, args.iterations // 2)
    if not args.quick:
        bench_default(args.out)


if __name__ == "__main__":
    main()
