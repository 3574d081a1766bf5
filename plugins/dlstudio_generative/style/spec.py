"""Style-transfer runs as specs: what the panel and ``dlstudio generative stylize`` start, and the picture a
finished run leaves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlstudio_generative.style.catalog import TASK, TASK_PARAMS
from dlstudio_generative.style.samples import SAMPLE_PREFIX
from dlstudio_generative.style.snapshots import list_snapshots, result_path

#: The book's balance for VGG-19, whose per-layer style weights (1e3 / C²) are already scaled.
VGG19_STYLE_WEIGHT = 1.0


def default_style_weight(features: str) -> float:
    """The style weight that suits a feature network: the book's 1 for VGG-19 (its per-layer weights carry the
    scale), the task's default for the random banks (whose losses are relative to the style's)."""
    from dlstudio.params import param_default

    return VGG19_STYLE_WEIGHT if features == "vgg19" else float(param_default(TASK_PARAMS["style_weight"]))
#: Iterations per period (metrics recorded, a checkpoint written). A period costs the runner ~0.1 s of database
#: commits and file syncs here; 20 iterations of a 128 px picture take ~3 s, so that stays under 5 %.
RECORD_EVERY = 20


def _short_name(ref: str) -> str:
    return ref[len(SAMPLE_PREFIX):] if ref.startswith(SAMPLE_PREFIX) else Path(ref).stem or ref


def style_spec(content: str, style: str, *, features: str = "random-banks", size: int = 128,
               iterations: int = 100, snapshot_every: int = 5, record_every: int | None = None, name: str = "",
               device: str = "auto", lr: float = 1.0, **task_params: Any) -> dict[str, Any]:
    """The run spec (as a spec file holds it) that paints ``content`` in the style of ``style``.

    ``content`` and ``style`` are file paths or ``"sample:<name>"``. One iteration is one L-BFGS step; a
    snapshot is saved every ``snapshot_every`` iterations, and the metrics and a checkpoint every
    ``record_every`` (a period; by default :data:`RECORD_EVERY`, or ``snapshot_every`` if longer).
    ``task_params`` are the task's other parameters (``style_weight``, ``keep_colors``, ...). With
    ``features="vgg19"`` the style weight is the book's unless given.
    """
    unknown = sorted(set(task_params) - set(TASK_PARAMS))
    if unknown:
        raise ValueError(f"style transfer has no parameter {unknown[0]!r}; its parameters are "
                         f"{', '.join(TASK_PARAMS)}")
    if record_every is None:
        record_every = max(snapshot_every, RECORD_EVERY)
    if min(iterations, snapshot_every, record_every) < 1:
        raise ValueError(f"iterations ({iterations}), snapshot_every ({snapshot_every}) and record_every "
                         f"({record_every}) must be at least 1")
    params = {"features": features, "snapshot_every": snapshot_every, **task_params}
    if features == "vgg19":
        params.setdefault("style_weight", default_style_weight(features))
    return {
        "run": {"task": TASK, "device": device,
                "name": name or f"{_short_name(content)} in the style of {_short_name(style)}"},
        "model": {"id": "generative.canvas"},
        "data": {"id": "generative.style-pair", "params": {"content": content, "style": style, "size": size}},
        "task": {"params": params},
        # keep_best off: nothing is monitored, and the picture as the run ends is the result.
        "train": {"steps": iterations, "eval_every": min(record_every, iterations), "optimizer": "lbfgs", "lr": lr,
                  "batch_size": 1, "keep_best": False},
    }


def stylize_result_image(run_dir: str | Path) -> Any:
    """The picture a style-transfer run leaves (a PIL image): its ``result.png``, else (a run still painting,
    or killed) its newest snapshot. ValueError when it has neither."""
    from PIL import Image

    path = result_path(run_dir)
    if not path.is_file():
        snapshots = list_snapshots(run_dir)
        if not snapshots:
            raise ValueError(f"the run in {run_dir} has no picture yet (no result.png and no snapshots)")
        path = snapshots[-1][1]
    with Image.open(path) as image:
        return image.convert("RGB")
