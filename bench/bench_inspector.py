"""Inspector benchmarks: ``python bench/bench_inspector.py`` prints each figure beside its target.

- layer table of ResNet-18 at 224 px (one forward pass with shape hooks and the FLOP counter): ≤ 1 s
- one layer's activation grid (64 maps of ResNet-18's layer1 at 224 px: capture, grid, colour map, QImage): ≤ 200 ms
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import torch
import torchvision

from dlstudio_inspector.activations import colorize, layer_grid
from dlstudio_inspector.graph import build_graph, layout
from dlstudio_inspector.summary import summarize


def timed(fn: Callable[[], object], repeat: int = 5) -> tuple[float, float]:
    """(first call, median of the following ``repeat``) in seconds."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


def main() -> int:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    x = torch.randn(1, 3, 224, 224)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtGui import QImage
    except ImportError:
        QImage = None

    def table() -> None:
        summary = summarize(model, x)
        assert summary.total_params == 11_689_512

    def grid64() -> None:
        g = layer_grid(model, x, "layer1")  # 64 maps of 56×56
        assert len(g.cells) == 64
        rgb = colorize(g.values, "viridis")
        if QImage is not None:
            h, w, _ = rgb.shape
            QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()

    def graph() -> None:
        layout(build_graph(model))

    rows = [
        ("layer table, ResNet-18 @ 224 px", table, 1.0),
        ("activation grid, 64 maps" + ("" if QImage else " (no Qt: QImage step skipped)"), grid64, 0.2),
        ("graph trace + layout, ResNet-18", graph, None),
    ]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'figure':<52} {'first':>9} {'median':>9} {'target':>9}  verdict")
    failed = False
    for label, fn, target in rows:
        first, median = timed(fn)
        verdict = "-" if target is None else ("ok" if median <= target else "TOO SLOW")
        failed |= verdict == "TOO SLOW"
        target_text = "-" if target is None else f"{target * 1000:.0f} ms"
        print(f"{label:<52} {first * 1000:>6.0f} ms {median * 1000:>6.0f} ms {target_text:>9}  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
