"""DCGAN benchmarks, measured side by side in one run (the machine is noisy: compare, don't clock).

(a) a DCGAN epoch on the digits (width 32, batch 64): dlstudio's runner ÷ a bare two-optimiser loop written
    the way the book does it (same models, same data, same batch size, no extra syncs)            goal ≤ 1.05
(b) the sample-grid callback (a grid after each epoch and every 10 batches): its cost as a share of the
    training time, timed directly and as engine-with-grids ÷ engine-without                       goal ≤ 5 %

Ratios are medians over adjacent pairs (who goes first alternates), with the quartiles. The runner's epoch
time is what its EpochEnd record says (the training pass; checkpoints and grids come after it and are
measured in (b)); epoch 1 of each side is a warm-up and not counted.

Run: ``.venv/bin/python bench/bench_gan.py`` (about 2 minutes on a 2-core CPU; ``--rounds 2`` for less).
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

import torch
import torch.nn.functional as F

import dlstudio_generative.plugin as generative_plugin
from dlstudio.contract import LoadContext
from dlstudio.engine import EpochEnd, RunControl, TaskContext, fit
from dlstudio.engine.data import make_batches
from dlstudio.params import param_defaults
from dlstudio.plugins import module_candidate
from dlstudio.runner import Run
from dlstudio.spec import RunSpec, TrainSection
from dlstudio.studio import Studio
from dlstudio_generative.gan.catalog import dataset_specs
from dlstudio_generative.gan.grids import SampleGrid
from dlstudio_generative.gan.models import DCGAN
from dlstudio_generative.gan.task import GanTask

WIDTH, LATENT, BATCH, LR = 32, 100, 64, 0.0002
CPU = torch.device("cpu")


def quartiles(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return f"median {q[1]:.3f} (quartiles {q[0]:.3f}–{q[2]:.3f})"


def digits():
    spec = next(s for s in dataset_specs() if s.id == "generative.digits")
    ctx = LoadContext(cache_dir=Path(tempfile.gettempdir()), task="gan", batch_size=BATCH)
    return spec.load(param_defaults(spec.defaults), ctx)


# -- (a) runner vs the book's loop ----------------------------------------------------------------------------
def runner_epochs(studio: Studio, epochs: int) -> list[float]:
    """Seconds of each training pass of a GAN run through the runner, as its records report them."""
    spec = RunSpec.from_dict({
        "run": {"task": "gan", "device": "cpu", "seed": 0},
        "model": {"id": "generative.dcgan", "params": {"width": WIDTH, "latent": LATENT}},
        "data": {"id": "generative.digits"},
        "train": {"epochs": epochs, "batch_size": BATCH, "optimizer": "adam", "lr": LR},
    })
    return [r.seconds for r in Run(studio, spec).records() if isinstance(r, EpochEnd)]


def bare_epochs(images: torch.Tensor, epochs: int) -> list[float]:
    """The book's loop: two Adams (β 0.5, 0.999), D on real then fake (detached), G against the updated D;
    losses kept on the device and read once per epoch, as a training log would."""
    torch.manual_seed(0)
    gan = DCGAN(LATENT, WIDTH, 1, 32)
    net_d, net_g = gan.discriminator, gan.generator
    opt_d = torch.optim.Adam(net_d.parameters(), lr=LR, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(net_g.parameters(), lr=LR, betas=(0.5, 0.999))
    gan.train()
    times = []
    for _ in range(epochs):
        started = time.perf_counter()
        total = torch.zeros(())
        order = torch.randperm(len(images))
        for i in range(0, len(images), BATCH):
            real = images[order[i:i + BATCH]]
            n = real.shape[0]
            ones, zeros = torch.ones(n), torch.zeros(n)
            fake = net_g(torch.randn(n, LATENT, 1, 1))
            loss_d = (F.binary_cross_entropy_with_logits(net_d(real).flatten(), ones)
                      + F.binary_cross_entropy_with_logits(net_d(fake.detach()).flatten(), zeros))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            loss_g = F.binary_cross_entropy_with_logits(net_d(fake).flatten(), ones)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            total += (loss_d.detach() + loss_g.detach()) * n
        total.item()
        times.append(time.perf_counter() - started)
    return times


def bench_runner(rounds: int) -> None:
    studio = Studio.open(Path(tempfile.mkdtemp()) / "home", [module_candidate("generative", generative_plugin)])
    images = digits().train.tensors[0]
    epochs = 3
    ratios, ours, bare = [], [], []
    for round_ in range(rounds):
        if round_ % 2:
            e, b = runner_epochs(studio, epochs)[1:], bare_epochs(images, epochs)[1:]
        else:
            b, e = bare_epochs(images, epochs)[1:], runner_epochs(studio, epochs)[1:]
        ratios += [x / y for x, y in zip(e, b, strict=True)]
        ours += e
        bare += b
    print(f"(a) DCGAN width {WIDTH} on {len(images):,} digits 32×32, batch {BATCH}: runner "
          f"{statistics.median(ours):.2f} s/epoch, bare loop {statistics.median(bare):.2f} s/epoch")
    print(f"    runner ÷ bare: {quartiles(ratios)}, best ÷ best {min(ours) / min(bare):.3f}   goal ≤ 1.05")


# -- (b) the sample grids ---------------------------------------------------------------------------------------
def engine_epoch(task: GanTask, batches, callbacks) -> float:
    started = time.perf_counter()
    for _ in fit(task, batches, None, epochs=1, callbacks=callbacks, control=RunControl()):
        pass
    return time.perf_counter() - started


def bench_grids(rounds: int, every: int = 10) -> None:
    bundle = digits()
    batches = make_batches(bundle.train, BATCH, shuffle=True)
    train = TrainSection(optimizer="adam", lr=LR)
    torch.manual_seed(0)
    task = GanTask(TaskContext(DCGAN(LATENT, WIDTH, 1, 32), bundle.info, train, CPU, len(batches),
                               {"beta1": 0.5, "grid_every": every, "scorer_run": ""}))
    folder = Path(tempfile.mkdtemp())
    grid = SampleGrid(folder, seed=0, grid_every=every)
    engine_epoch(task, batches, [])  # warm-up
    ratios, with_times = [], []
    drawn_before = 0
    for round_ in range(rounds + 1):
        if round_ % 2:
            on, off = engine_epoch(task, batches, [grid]), engine_epoch(task, batches, [])
        else:
            off, on = engine_epoch(task, batches, []), engine_epoch(task, batches, [grid])
        if round_ == 0:  # the first grids warm their own kernels up
            grid.seconds_drawing, drawn_before = 0.0, len(grid.written)
            continue
        ratios.append(on / off)
        with_times.append(on)
    grids = len(grid.written) - drawn_before
    per_grid = grid.seconds_drawing / grids
    share = grid.seconds_drawing / sum(with_times)
    print(f"(b) sample grids (64 samples, 8×8 PNG) after each epoch and every {every} batches: {grids // rounds} "
          f"a {len(batches)}-batch epoch, {1000 * per_grid:.1f} ms each")
    print(f"    timed directly: {100 * share:.1f} % of the training time; engine with ÷ without: "
          f"{quartiles(ratios)}   goal ≤ 5 %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: on a shared machine, spinning threads swamp the ratio)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    bench_runner(args.rounds)
    bench_grids(args.rounds)


if __name__ == "__main__":
    main()
