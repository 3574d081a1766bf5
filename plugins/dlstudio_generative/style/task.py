"""The style-transfer task: an image (the canvas, the run's only "model") painted by L-BFGS so that a frozen
feature network sees the content of one picture and the textures of another.

One engine step is one L-BFGS iteration (``max_iter=1``); the optimiser's history persists from step to step,
so a run of N steps is the book's loop of N iterations, cut into periods the window can watch.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from dlstudio.engine import NonFiniteLoss, Stepper, StepResult, Task, TaskContext, build_optimizer
from dlstudio_generative.style.features import build_features
from dlstudio_generative.style.layers import parse_layers
from dlstudio_generative.style.losses import (
    book_style_weights,
    content_loss,
    gram,
    keep_content_colors,
    relative_weights,
    style_loss,
    total_variation,
)

#: Pairs of vectors L-BFGS remembers. Each is saved with every period's checkpoint (2 × this × the image's
#: values: 3 MB at 128 px, 50 MB at 512 px); on the offline default's 100 iterations, 10 reaches the same loss
#: as the book's 100 within 0.5 %.
HISTORY_SIZE = 10


class Canvas(nn.Module):
    """The picture being painted, (1, 3, H, W), the only parameter: a checkpoint holds the image and nothing
    else (the feature network belongs to the task)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        if len(shape) != 3 or shape[0] != 3:
            raise ValueError(f"the canvas needs a (3, height, width) picture, got the shape {tuple(shape)}")
        self.image = nn.Parameter(torch.zeros(1, *shape))

    def forward(self) -> torch.Tensor:
        return self.image


def build_canvas(params: Any, info: Any) -> Canvas:
    return Canvas(tuple(info.input_shape))


class StyleTransferTask(Task):
    """Batches are (content, style) pairs, each (1, 3, H, W); the loss is
    ``content_weight × content + style_weight × style + tv_weight × total variation``.

    Nothing says which period's picture is best (the losses trade off against each other, and the user judges
    with their eyes), so the task monitors nothing: a stopped run keeps its current picture instead of an
    earlier "best" one.
    """

    monitor = ""

    def __init__(self, ctx: TaskContext) -> None:
        stepper = Stepper.from_context(ctx)
        if stepper.amp:
            raise ValueError("mixed precision (amp) cannot scale the gradients of L-BFGS, which re-evaluates its "
                             "loss; turn [train] amp off for style transfer")
        # Not DistributedDataParallel: the steps read the picture (self.model.image) directly, not through a forward
        # (a picture of its own cannot be shared out among processes anyway: run_ranks.share_out refuses it).
        super().__init__(stepper.prepare_model(ctx.model, one_forward=False), stepper)
        params = ctx.params
        self.kind = params["features"]
        self.content_layers, self.style_layers = parse_layers(self.kind, params["content_layer"],
                                                              params["style_layers"])
        self.features = build_features(self.kind, vgg_weights=params["vgg_weights"], seed=params["seed"])
        self.features.to(stepper.device)
        self.layers = tuple(dict.fromkeys(self.content_layers + self.style_layers))
        self.content_weight = float(params["content_weight"])
        self.style_weight = float(params["style_weight"])
        self.tv_weight = float(params["tv_weight"])
        self.init = params["init"]
        self.keep_colors = bool(params["keep_colors"])
        self.seed = int(params["seed"])
        image = self.model.image
        # The spec's optimiser: the book's L-BFGS ("lbfgs", one iteration a step), or a first-order one (Adam
        # paints too, more slowly, with a smaller lr such as 0.02).
        optimizer = build_optimizer([image], ctx.train)
        self.closure = isinstance(optimizer, torch.optim.LBFGS)
        if self.closure:
            optimizer.param_groups[0]["history_size"] = HISTORY_SIZE
        self.optimizers = [optimizer]
        #: Whether the canvas holds a picture (set on the first step, or by a resumed run's state).
        self.painted = False
        #: The content picture on the device, for "keep the content's colours"; set on the first step.
        self.content: torch.Tensor | None = None
        self._targets: tuple[dict, dict, dict, dict] | None = None
        self._terms: tuple[torch.Tensor, ...] | None = None
        self._last_good: torch.Tensor | None = None

    # -- the step ------------------------------------------------------------------------------------
    def train_step(self, batch: Any) -> StepResult:
        content, style = self.stepper.to_device(tuple(batch))
        if self._targets is None:
            self._start(content, style)
        image = self.model.image
        before = image.detach().clone()
        self._terms = None
        if self.closure:
            loss = self.stepper.optimize_closure(self.optimizers[0], self._loss)
        else:
            loss = self._loss()
            self.stepper.optimize(loss, self.optimizers[0])
        value = float(loss.detach())  # (L-BFGS has read it already: no extra device sync)
        if not math.isfinite(value):
            # The last picture whose loss was finite (an update that blew up is undone); on the first step, the
            # picture it started from.
            with torch.no_grad():
                image.copy_(self._last_good if self._last_good is not None else before)
            raise NonFiniteLoss(f"the style-transfer loss became {value}; the painting stopped and keeps its last "
                                "good picture. Lower [train] lr or the style weight.")
        self._last_good = before  # the picture ``loss`` was measured on
        content_term, style_term, tv_term = self._terms
        return StepResult(1, {"loss": loss.detach(), "content": content_term, "style": style_term,
                              "tv": tv_term})

    def _loss(self) -> torch.Tensor:
        content_targets, content_weights, style_grams, style_weights = self._targets
        image = self.model.image
        features = self.features(image, self.layers)
        content_term = self.content_weight * content_loss(features, content_targets, content_weights)
        style_term = self.style_weight * style_loss(features, style_grams, style_weights)
        tv_term = self.tv_weight * total_variation(image) if self.tv_weight else image.new_zeros(())
        if self._terms is None:  # the first evaluation is the one L-BFGS returns
            self._terms = (content_term.detach(), style_term.detach(), tv_term.detach())
        return content_term + style_term + tv_term

    def _start(self, content: torch.Tensor, style: torch.Tensor) -> None:
        """Targets from the pictures, once a run; the canvas starts from the content or noise unless it already
        holds a picture (a resumed run, or ``[model] weights`` from an earlier run)."""
        with torch.no_grad():
            content_features = self.features(content, self.content_layers)
            style_features = self.features(style, self.style_layers)
            style_grams = {name: gram(f) for name, f in style_features.items()}
            if self.kind == "vgg19":  # the book's weights
                content_weights = dict.fromkeys(content_features, 1.0)
                style_weights = book_style_weights(style_features)
            else:
                content_weights = relative_weights(content_features)
                style_weights = relative_weights(style_grams)
            image = self.model.image
            if not self.painted and not bool(image.any()):
                if self.init == "noise":
                    noise = torch.rand(content.shape, generator=torch.Generator().manual_seed(self.seed))
                    image.copy_(noise.to(image.device))
                else:
                    image.copy_(content)
            self.painted = True
        self.content = content
        self._targets = (content_features, content_weights, style_grams, style_weights)

    # -- what is shown -------------------------------------------------------------------------------
    def picture(self) -> torch.Tensor:
        """The picture as shown and saved: (3, H, W) on the CPU, clamped to [0, 1], with the content's colours
        when ``keep_colors`` is on."""
        image = self.model.image.detach().clamp(0, 1)
        if self.keep_colors and self.content is not None:
            image = keep_content_colors(image, self.content)
        return image[0].to("cpu")

    # -- resume --------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "painted": self.painted}

    def load_state_dict(self, state: Any) -> None:
        super().load_state_dict(state)
        self.painted = bool(state.get("painted", False))
        # Tensors read from a checkpoint may be views at any offset of one buffer; a vectorised dot product sums
        # in an order that depends on the alignment, so fresh copies keep a resumed run bit-identical.
        for values in self.optimizers[0].state.values():
            for key, value in values.items():
                if isinstance(value, torch.Tensor):
                    values[key] = value.clone()
                elif isinstance(value, list):
                    values[key] = [v.clone() if isinstance(v, torch.Tensor) else v for v in value]
