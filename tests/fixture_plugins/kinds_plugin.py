"""The three task kinds that come next, written against the plugin contract alone (contract 2's proof):

- ``gan``: a GAN with two optimisers and a schedule on each, no monitored metric;
- ``language-model``: an LSTM over a token stream that batches itself, hidden state carried from window
  to window and detached between them (truncated back-propagation through time), reset at each pass;
- ``style-transfer``: an input image optimised with L-BFGS, no validation, measured in steps.

Only ``dlstudio`` (hookimpl), ``dlstudio.contract`` and ``dlstudio.engine`` are imported.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import IterableDataset, TensorDataset

from dlstudio import hookimpl
from dlstudio.contract import DataBundle, DataInfo, DatasetSpec, MetricSpec, ModelSpec, TaskSpec
from dlstudio.engine import StepResult, Task
from dlstudio.engine.step import Stepper

DLSTUDIO_CONTRACT = 2


# -- GAN -----------------------------------------------------------------------------------------------
class TinyGan(nn.Module):
    def __init__(self, latent: int) -> None:
        super().__init__()
        self.generator = nn.Sequential(nn.Linear(latent, 16), nn.ReLU(), nn.Linear(16, 2))
        self.discriminator = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))


class GanTask(Task):
    monitor = ""  # no number says which epoch of a GAN is best
    optimizer_names = ("discriminator", "generator")

    def __init__(self, ctx) -> None:
        stepper = Stepper.from_context(ctx)
        super().__init__(stepper.prepare_model(ctx.model), stepper)
        self.latent = ctx.params["latent"]
        lr = ctx.train.lr
        self.optimizers = [
            torch.optim.Adam(self.model.discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
            torch.optim.Adam(self.model.generator.parameters(), lr=lr, betas=(0.5, 0.999)),
        ]

    def train_step(self, batch) -> StepResult:
        (real,) = self.stepper.to_device(tuple(batch))
        n = real.shape[0]
        d_opt, g_opt = self.optimizers
        noise = torch.randn(n, self.latent, device=real.device)
        with self.stepper.autocast():
            fake = self.model.generator(noise)
            d_loss = F.binary_cross_entropy_with_logits(
                self.model.discriminator(real), torch.ones(n, 1, device=real.device)
            ) + F.binary_cross_entropy_with_logits(
                self.model.discriminator(fake.detach()), torch.zeros(n, 1, device=real.device)
            )
        self.stepper.optimize(d_loss, d_opt)
        with self.stepper.autocast():
            g_loss = F.binary_cross_entropy_with_logits(
                self.model.discriminator(fake), torch.ones(n, 1, device=real.device)
            )
        self.stepper.optimize(g_loss, g_opt)
        return StepResult(
            n, {"loss": (d_loss + g_loss).detach() * n, "d_loss": d_loss.detach() * n, "g_loss": g_loss.detach() * n}
        )


def load_ring(params, ctx) -> DataBundle:
    g = torch.Generator().manual_seed(ctx.seed)
    angle = torch.rand(params["samples"], generator=g) * 6.2832
    points = torch.stack([angle.cos(), angle.sin()], 1) + 0.05 * torch.randn(params["samples"], 2, generator=g)
    return DataBundle(TensorDataset(points), None, DataInfo(input_shape=(2,), input_kind="vector"))


# -- language model --------------------------------------------------------------------------------------
class WindowStream(IterableDataset):
    """A token sequence cut into (batch, bptt + 1) windows, in order: the book's batchify + get_batch."""

    def __init__(self, tokens: torch.Tensor, batch_size: int, bptt: int) -> None:
        columns = tokens.numel() // batch_size
        self.data = tokens[: columns * batch_size].view(batch_size, columns)
        self.bptt = bptt

    def __iter__(self):
        for start in range(0, self.data.shape[1] - 1, self.bptt):
            yield self.data[:, start : start + self.bptt + 1]


def load_tokens(params, ctx) -> DataBundle:
    vocab, n = params["vocab"], params["tokens"]
    g = torch.Generator().manual_seed(ctx.seed)
    # A learnable stream: each token is the previous one plus 1 or 2 (mod vocab).
    steps = torch.randint(1, 3, (n,), generator=g)
    tokens = torch.cumsum(steps, 0) % vocab
    cut = int(n * 0.8)
    bptt = ctx.task_params["bptt"]
    info = DataInfo(input_shape=(bptt,), input_kind="tokens", extra={"vocab_size": vocab})
    return DataBundle(
        WindowStream(tokens[:cut], ctx.batch_size, bptt),
        WindowStream(tokens[cut:], ctx.batch_size, bptt),
        info,
        shuffle=False,
        batched=True,
    )


class TinyLm(nn.Module):
    def __init__(self, vocab: int, hidden: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens, state=None):
        output, state = self.lstm(self.embedding(tokens), state)
        return self.head(output), state


#: Every language-model task created, newest last (tests read their traces).
LANGUAGE_MODELS: list[LanguageModelTask] = []


class LanguageModelTask(Task):
    monitor = "valid_loss"

    def __init__(self, ctx) -> None:
        stepper = Stepper.from_context(ctx)
        super().__init__(stepper.prepare_model(ctx.model), stepper)
        self.optimizers = [torch.optim.Adam(self.model.parameters(), lr=ctx.train.lr)]
        #: The state carried from window to window, one per phase: a run measured in steps may validate in
        #: the middle of a pass, and training must then go on with its own state, not validation's.
        self.hidden = {"train": None, "valid": None}
        #: (phase, hidden was fresh) for each window, so tests can see the state carried.
        self.trace: list[tuple[str, bool]] = []
        LANGUAGE_MODELS.append(self)

    def start_epoch(self, epoch, phase) -> None:
        self.hidden[phase] = None

    def _forward(self, window):
        window = self.stepper.to_device(window)
        inputs, targets = window[:, :-1], window[:, 1:]
        phase = "train" if self.model.training else "valid"
        self.trace.append((phase, self.hidden[phase] is None))
        with self.stepper.autocast():
            logits, hidden = self.model(inputs, self.hidden[phase])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        self.hidden[phase] = tuple(h.detach() for h in hidden)  # truncated BPTT: carry the state, not its graph
        return loss, targets.numel()

    def train_step(self, window) -> StepResult:
        loss, n = self._forward(window)
        self.stepper.optimize(loss, self.optimizers[0])
        return StepResult(n, {"loss": loss.detach() * n})

    def eval_step(self, window) -> StepResult:
        loss, n = self._forward(window)
        return StepResult(n, {"loss": loss.detach() * n})

    def summarize(self, sums, count):
        loss = sums["loss"] / count
        return {"loss": loss, "perplexity": float(torch.tensor(loss).exp())}


# -- style transfer --------------------------------------------------------------------------------------
class Canvas(nn.Module):
    """The image being painted (the only trainable parameter) and a fixed random feature extractor."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.image = nn.Parameter(torch.zeros(1, 3, size, size))
        self.register_buffer("painted", torch.zeros((), dtype=torch.bool))
        self.features = nn.Conv2d(3, 8, 5, padding=2)
        self.features.requires_grad_(False)


def gram(features: torch.Tensor) -> torch.Tensor:
    b, c, h, w = features.shape
    flat = features.view(b * c, h * w)
    return flat @ flat.t() / (c * h * w)


class StyleTransferTask(Task):
    monitor = "train_loss"

    def __init__(self, ctx) -> None:
        stepper = Stepper.from_context(ctx)
        super().__init__(stepper.prepare_model(ctx.model), stepper)
        self.style_weight = ctx.params["style_weight"]
        self.optimizers = [torch.optim.LBFGS([self.model.image], lr=ctx.train.lr, max_iter=4)]

    def train_step(self, pair) -> StepResult:
        content, style = self.stepper.to_device(tuple(pair))
        canvas = self.model
        if not canvas.painted:  # the image starts from the content (once: a resumed run keeps its painting)
            with torch.no_grad():
                canvas.image.copy_(content)
                canvas.painted.fill_(True)
        content_features = canvas.features(content).detach()
        style_gram = gram(canvas.features(style)).detach()

        def loss() -> torch.Tensor:
            features = canvas.features(canvas.image)
            return F.mse_loss(features, content_features) + self.style_weight * F.mse_loss(gram(features), style_gram)

        value = self.stepper.optimize_closure(self.optimizers[0], loss)
        return StepResult(1, {"loss": value.detach()})


def load_pair(params, ctx) -> DataBundle:
    g = torch.Generator().manual_seed(ctx.seed)
    size = params["size"]
    content = torch.rand(3, size, size, generator=g)
    stripes = (torch.arange(size) // 2 % 2).float().expand(3, size, size).clone()
    return DataBundle(
        TensorDataset(content[None], stripes[None]), None, DataInfo(input_shape=(3, size, size)), shuffle=False
    )


# -- registration --------------------------------------------------------------------------------------
@hookimpl
def dlstudio_register_models(register):
    register(
        ModelSpec(
            id="kinds.gan",
            title="Tiny GAN",
            build=lambda p, info: TinyGan(p["latent"]),
            tasks=("gan",),
            defaults={"latent": 4},
        )
    )
    register(
        ModelSpec(
            id="kinds.lm",
            title="Tiny LSTM LM",
            tasks=("language-model",),
            defaults={"hidden": 16},
            build=lambda p, info: TinyLm(info.extra["vocab_size"], p["hidden"]),
        )
    )
    register(
        ModelSpec(
            id="kinds.canvas",
            title="Canvas",
            tasks=("style-transfer",),
            build=lambda p, info: Canvas(info.input_shape[-1]),
        )
    )


@hookimpl
def dlstudio_register_datasets(register):
    register(DatasetSpec(id="kinds.ring", title="Ring", load=load_ring, tasks=("gan",), defaults={"samples": 64}))
    register(
        DatasetSpec(
            id="kinds.tokens",
            title="Counting tokens",
            load=load_tokens,
            tasks=("language-model",),
            defaults={"vocab": 12, "tokens": 2400},
        )
    )
    register(
        DatasetSpec(
            id="kinds.pair", title="Content and style", load=load_pair, tasks=("style-transfer",), defaults={"size": 12}
        )
    )


@hookimpl
def dlstudio_register_tasks(register):
    register(
        TaskSpec(
            id="gan",
            title="GAN",
            create=GanTask,
            defaults={"latent": 4},
            metrics=(
                MetricSpec("d_loss", "Discriminator loss", "", group="gan"),
                MetricSpec("g_loss", "Generator loss", "", group="gan"),
                MetricSpec("loss", plot=False),
            ),
        )
    )
    register(
        TaskSpec(
            id="language-model",
            title="Language model",
            create=LanguageModelTask,
            defaults={"bptt": 6},
            metrics=(
                MetricSpec("loss", "Cross-entropy", "min", unit="nats"),
                MetricSpec("perplexity", "Perplexity", "min", group="perplexity"),
            ),
        )
    )
    register(
        TaskSpec(id="style-transfer", title="Style transfer", create=StyleTransferTask, defaults={"style_weight": 10.0})
    )
