"""Reading a style-transfer run for the page: its pictures, its snapshots, its loss curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlstudio_generative.panels.views import metric

#: The curves drawn and the metric each comes from (the task's names, with or without the engine's prefix).
LOSS_SERIES = (("content", "content"), ("style", "style"), ("total variation", "tv"), ("total", "loss"))


def loss_points(metrics: dict[str, Any]) -> dict[str, float | None]:
    """The content, style and total loss of one period's metrics, by curve name."""
    return {title: metric(metrics, name) for title, name in LOSS_SERIES}


def spec_pictures(raw: dict[str, Any]) -> tuple[str, str]:
    """The content and style pictures a style-transfer spec names (``"sample:<name>"`` or paths)."""
    params = (raw.get("data") or {}).get("params") or {}
    return str(params.get("content", "")), str(params.get("style", ""))


def period_of(raw: dict[str, Any]) -> tuple[int, int]:
    """(iterations per period: one snapshot, one point on the curves; iterations in all) of a spec."""
    train = raw.get("train") or {}
    steps = int(train.get("steps") or 0)
    return int(train.get("eval_every") or steps or 1), steps


def iteration_at(period: int, steps: int, number: int) -> int:
    """The iteration a period ends at (the last period may be shorter: it ends with the run)."""
    return min(number * period, steps) if steps else number * period


def snapshots(run_dir: str | Path) -> list[tuple[int, Path]]:
    """The run's snapshots as ``(iteration, path)``, oldest first."""
    from dlstudio_generative.style.snapshots import list_snapshots

    return list(list_snapshots(Path(run_dir)))


def losses_since(run_dir: str | Path, start: int) -> tuple[list[dict[str, float]], int]:
    """The losses written at each snapshot from byte ``start`` on, and where to read next."""
    from dlstudio_generative.style.snapshots import read_losses

    return read_losses(Path(run_dir), start)


def result_file(run_dir: str | Path) -> Path | None:
    """The run's final picture, None while it has none."""
    from dlstudio_generative.style.snapshots import result_path

    path = Path(result_path(Path(run_dir)))
    return path if path.is_file() else None


def picture(reference: str, side: int = 256) -> Any:
    """The picture a spec names, at most ``side`` px (for the side-by-side view); None if it is gone."""
    from PIL import Image

    from dlstudio_generative.images import load_image
    from dlstudio_generative.style.samples import image_source

    try:
        image = load_image(image_source(reference)).image
    except (ValueError, OSError):
        return None
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return image
