"""The plugin guide (docs/plugins.md) and its example plugin (examples/dlstudio-hello-plugin) stay true.

- every hook of dlstudio/hookspecs.py is documented with its exact signature, and no other hook is;
- what the guide quotes from the example is the example's code, and the guide's Python compiles;
- the guide's custom tasks (GAN, language model, L-BFGS) train, on their own and as plugins through ``Run``;
  its callback adds its metric, and its runs-API example reads a finished run's model back;
- the example, installed with pip into a folder, loads in ``dlstudio plugins``, lists its recipe and trains
  from the CLI, imports neither Qt nor torch when loaded, and passes its own tests;
- the example passes ruff (its panel: tests/test_plugin_guide_panel.py).
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
import types
from pathlib import Path

import pluggy
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from dlstudio import PROJECT_NAME, hookimpl, hookspecs, runs
from dlstudio.contract import DataBundle, DataInfo, DatasetSpec, ModelSpec
from dlstudio.engine import EpochEnd, FitEnded, FitStarted, fit
from dlstudio.engine.task import TaskContext
from dlstudio.errors import RunError
from dlstudio.runner import Run, RunStarted
from dlstudio.spec import RunSpec, SpecError, TrainSection, check_params

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "plugins.md"
EXAMPLE = ROOT / "examples" / "dlstudio-hello-plugin"

_FENCE = re.compile(
    r"^(?:<!-- quote: (?P<quote>\S+) -->\n)?(?P<indent> *)```(?P<lang>[\w-]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_SIGNATURE_LINE = re.compile(r"^def (dlstudio_\w+)\(.*\)(?: -> .+)?$")
_ANY_HOOK_DEF = re.compile(r"^\s*def (dlstudio_\w+)\(", re.MULTILINE)


class Block:
    """A fenced code block of the guide."""

    def __init__(self, match: re.Match, text: str) -> None:
        self.lang = match["lang"]
        self.quote = match["quote"]
        self.raw = match["body"]
        #: Dedented: a list item's block, or a method quoted from a class.
        self.code = textwrap.dedent(self.raw)
        self.line = text.count("\n", 0, match.start()) + 1

    def is_signature(self) -> bool:
        lines = self.code.strip().splitlines()
        return len(lines) == 1 and bool(_SIGNATURE_LINE.match(lines[0]))


def blocks(text: str) -> list[Block]:
    return [Block(m, text) for m in _FENCE.finditer(text)]


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------------
# Hook signatures
# ---------------------------------------------------------------------------------------------------


class _Annotation:
    """Renders a string annotation as written in the source (inspect would quote it)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _as_written(annotation: object) -> object:
    return _Annotation(annotation) if isinstance(annotation, str) else annotation


def hook_signature(fn: types.FunctionType) -> str:
    """``def name(arg: Annotation, ...) -> Return``, as the hook is written in dlstudio/hookspecs.py."""
    sig = inspect.signature(fn)  # the module uses `from __future__ import annotations`: annotations are strings
    sig = sig.replace(
        parameters=[p.replace(annotation=_as_written(p.annotation)) for p in sig.parameters.values()],
        return_annotation=_as_written(sig.return_annotation),
    )
    return f"def {fn.__name__}{sig}"


def contract_hooks() -> dict[str, str]:
    """Every hook of the contract, by name, with its signature."""
    marker = f"{PROJECT_NAME}_spec"
    return {
        name: hook_signature(fn)
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith(f"{PROJECT_NAME}_") and hasattr(fn, marker)
    }


def signature_problems(text: str, hooks: dict[str, str]) -> list[str]:
    """What is wrong with the hook signatures the guide ``text`` documents, given the real ``hooks``."""
    documented: dict[str, list[str]] = {}
    for block in blocks(text):
        if block.lang == "python" and block.is_signature():
            line = block.code.strip()
            documented.setdefault(_SIGNATURE_LINE.match(line)[1], []).append(line)
    problems = []
    for name, expected in hooks.items():
        lines = documented.get(name, [])
        if not lines:
            problems.append(f"{name} is not documented; add a ```python block holding exactly: {expected}")
        elif len(lines) > 1:
            problems.append(f"{name} is documented {len(lines)} times")
        elif lines[0] != expected:
            problems.append(f"{name} is documented as\n    {lines[0]}\nbut the hook is\n    {expected}")
    for name in sorted(set(documented) - set(hooks)):
        problems.append(f"the guide documents {name}, which is not a hook of dlstudio/hookspecs.py")
    for name in sorted(set(_ANY_HOOK_DEF.findall(text)) - set(hooks)):
        problems.append(f"the guide shows a function {name}(), which is not a hook of dlstudio/hookspecs.py")
    return problems


def test_the_contract_hooks_are_what_pluggy_sees():
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    seen = {name for name in vars(pm.hook) if name.startswith(f"{PROJECT_NAME}_")}
    hooks = contract_hooks()
    assert len(hooks) >= 7
    assert set(hooks) == seen
    assert hooks["dlstudio_register_models"] == (
        "def dlstudio_register_models(register: Callable[[ModelSpec], None]) -> None"
    )


def test_every_hook_is_documented_with_its_exact_signature(guide):
    problems = signature_problems(guide, contract_hooks())
    assert not problems, "docs/plugins.md is out of step with dlstudio/hookspecs.py:\n" + "\n".join(problems)


def test_the_signature_check_catches_a_missing_a_changed_and_a_stale_hook(guide):
    hooks = contract_hooks()
    name = "dlstudio_register_datasets"
    line = hooks[name]
    assert line in guide
    missing = guide.replace(line, "")
    changed = guide.replace(line, line.replace("register:", "register_dataset:"))
    stale = guide + f"\n```python\n{line.replace('datasets', 'sources')}\n```\n"
    assert any(f"{name} is not documented" in p for p in signature_problems(missing, hooks))
    assert any(f"{name} is documented as" in p for p in signature_problems(changed, hooks))
    assert any("dlstudio_register_sources, which is not a hook" in p for p in signature_problems(stale, hooks))
    grown = {**hooks, "dlstudio_register_exporters": "def dlstudio_register_exporters(register) -> None"}
    assert any("dlstudio_register_exporters is not documented" in p for p in signature_problems(guide, grown))


# ---------------------------------------------------------------------------------------------------
# The guide's code
# ---------------------------------------------------------------------------------------------------


def test_what_the_guide_quotes_is_the_examples_code(guide):
    quoted = [b for b in blocks(guide) if b.quote]
    assert len(quoted) >= 10
    stale = []
    for block in quoted:
        source = EXAMPLE / block.quote
        assert source.is_file(), f"docs/plugins.md:{block.line} quotes {block.quote}, which the example lacks"
        if block.raw not in source.read_text(encoding="utf-8"):
            stale.append(f"docs/plugins.md:{block.line} no longer matches {block.quote}")
    assert not stale, "\n".join(stale)
    files = {b.quote for b in quoted}
    for name in ("pyproject.toml", "dlstudio_hello/plugin.py", "dlstudio_hello/data.py", "dlstudio_hello/model.py",
                 "dlstudio_hello/panel.py", "tests/test_hello.py", "tests/test_panel.py"):
        assert name in files, f"the guide no longer walks through {name}"


def test_the_guides_python_compiles(guide):
    python = [b for b in blocks(guide) if b.lang == "python" and not b.is_signature()]
    assert len(python) >= 20
    for block in python:
        compile(block.code, f"docs/plugins.md:{block.line}", "exec")


def guide_module(defines: str) -> types.ModuleType:
    """Run the guide's Python block that defines ``defines`` (a class or a function) and return it as a module."""
    text = GUIDE.read_text(encoding="utf-8")
    found = [b for b in blocks(text)
             if b.lang == "python" and re.search(rf"^(?:class|def) {defines}\b", b.code, re.M)]
    assert len(found) == 1, f"docs/plugins.md should hold one block defining {defines}, found {len(found)}"
    module = types.ModuleType(f"guide_{defines.lower()}")
    exec(compile(found[0].code, f"docs/plugins.md:{found[0].line}", "exec"), module.__dict__)
    return module


def test_the_guides_csv_choices_are_the_files_columns(tmp_path):
    params = guide_module("csv_columns").CSV_PARAMS
    table = tmp_path / "houses.csv"
    table.write_text("area,rooms,price\n70,3,250000\n", encoding="utf-8")
    checked = check_params("data.params", "dataset 'tab.csv'", {"path": str(table), "target": "price"}, params)
    assert checked == {"path": str(table), "target": "price", "valid_fraction": 0.2}
    with pytest.raises(SpecError, match=r"target: 'prise' is not one of \['area', 'rooms', 'price'\]"):
        check_params("data.params", "dataset 'tab.csv'", {"path": str(table), "target": "prise"}, params)
    with pytest.raises(SpecError, match="target: its choices could not be listed: FileNotFoundError"):
        check_params("data.params", "dataset 'tab.csv'", {"path": str(tmp_path / "gone.csv")}, params)


def _train(task, train_batches, valid_batches, epochs):
    records = list(fit(task, train_batches, valid_batches, epochs=epochs))
    ended = records[-1]
    assert isinstance(ended, FitEnded) and ended.status == "completed", ended.message
    metrics = [r.metrics for r in records if isinstance(r, EpochEnd)]
    assert len(metrics) == epochs
    assert all(math.isfinite(v) for m in metrics for v in m.values())
    return metrics


def _context(model, info, *, params=None, **train):
    return TaskContext(model, info, TrainSection(**train), torch.device("cpu"), params=dict(params or {}))


def _drive(studio, spec: dict) -> list:
    """Train ``spec`` through ``Run``, as ``dlstudio train`` does; every record, the last one a completed end."""
    records = list(Run(studio, RunSpec.from_dict(spec)).records())
    assert isinstance(records[-1], FitEnded) and records[-1].status == "completed", records[-1]
    return records


@pytest.fixture
def hello(monkeypatch):
    """The example plugin's package, importable from its source folder."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    from dlstudio_hello import data, plugin

    return types.SimpleNamespace(data=data, plugin=plugin)


class _Points:
    """A test plugin: the hello plugin's spirals as data for the guide's GAN."""

    def __init__(self, make_spirals) -> None:
        self.make_spirals = make_spirals

    @hookimpl
    def dlstudio_register_datasets(self, register):
        def load(params, ctx):
            x, _ = self.make_spirals(256, 0.05, 1.5, ctx.seed)
            return DataBundle(TensorDataset(x[:192]), TensorDataset(x[192:]), DataInfo(input_shape=(2,)))

        register(DatasetSpec(id="test.points", title="Spiral points", load=load, tasks=("gan",)))


def test_the_guides_gan_task_steps_both_optimisers(hello):
    guide_gan = guide_module("GanTask")
    torch.manual_seed(0)
    info = DataInfo(input_shape=(2,), input_kind="points")
    gan = guide_gan.build_point_gan({"latent": 8, "hidden": 32}, info)
    task = guide_gan.GanTask(_context(gan, info, params={"beta1": 0.5}, lr=0.002, grad_clip=1.0))
    assert len(task.optimizers) == 2 and task.stepper.grad_clip == 1.0
    generator = [p.detach().clone() for p in gan.generator.parameters()]
    discriminator = [p.detach().clone() for p in gan.discriminator.parameters()]
    x, y = hello.data.make_spirals(256, 0.05, 1.5, seed=0)
    batches = [(x[i : i + 64], y[i : i + 64]) for i in range(0, 256, 64)]
    metrics = _train(task, batches, batches[:1], epochs=2)
    assert {"train_loss", "train_d_loss", "train_g_loss", "valid_loss", "valid_d_real", "valid_d_fake", "lr",
            "lr_discriminator"} <= set(metrics[-1])
    assert all(not torch.equal(a, b) for a, b in zip(generator, gan.generator.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(discriminator, gan.discriminator.parameters()))
    assert set(task.state_dict()) == {"optimizer0", "optimizer1"}


def test_the_guides_gan_registers_and_trains_through_a_run(hello, make_studio):
    guide_gan = guide_module("GanTask")
    studio = make_studio(("gan", guide_gan), ("points", _Points(hello.data.make_spirals)))
    assert [(r.name, r.status, r.warnings) for r in studio.plugins][1:] == [("gan", "loaded", []),
                                                                          ("points", "loaded", [])]
    spec = {"run": {"task": "gan", "device": "cpu"}, "model": {"id": "points.gan"}, "data": {"id": "test.points"},
            "task": {"params": {"beta1": 0.6}},
            "train": {"epochs": 3, "batch_size": 64, "lr": 0.004, "scheduler": "step", "step_size": 1, "gamma": 0.5}}
    records = _drive(studio, spec)
    epochs = [r for r in records if isinstance(r, EpochEnd)]
    # A schedule for each optimiser: the discriminator's rate halves each epoch like the generator's.
    assert [e.metrics["lr"] for e in epochs] == pytest.approx([0.004, 0.002, 0.001])
    assert [e.metrics["lr_discriminator"] for e in epochs] == pytest.approx([0.004, 0.002, 0.001])
    assert not any(e.is_best for e in epochs)  # monitor = "": no epoch is called the best
    declared = next(r for r in records if isinstance(r, RunStarted)).metrics
    assert {m["name"]: m["group"] for m in declared} == {"d_loss": "gan", "g_loss": "gan", "d_real": "d",
                                                         "d_fake": "d", "loss": "loss"}
    with pytest.raises(SpecError, match="early stopping cannot be used"):
        _drive(studio, {**spec, "train": {**spec["train"], "early_stopping": 2}})
    with pytest.raises(SpecError, match=r"\[task.params\] beta1: 1.5 is above the maximum 0.999"):
        _drive(studio, {**spec, "task": {"params": {"beta1": 1.5}}})


def _windows(vocab: int = 12, streams: int = 4, bptt: int = 6) -> list[torch.Tensor]:
    text = torch.arange(streams * 61) % vocab  # a repeating sequence: easy to learn
    return list(guide_module("LanguageModelTask").Windows(text, streams, bptt))


def test_the_guides_language_model_carries_its_state_and_learns():
    guide_lm = guide_module("LanguageModelTask")
    torch.manual_seed(0)
    windows = _windows()
    assert all(w.shape == (4, 7) for w in windows[:-1])
    assert torch.equal(windows[1][:, 0], windows[0][:, -1])  # row i of each window continues row i of the last
    model = guide_lm.WordLstm(12, embed=8, hidden=32, layers=1)
    info = DataInfo(input_shape=(6,), input_kind="tokens")
    task = guide_lm.LanguageModelTask(_context(model, info, optimizer="adam", lr=0.02))
    task.start_epoch(1, "train")
    assert task.state["train"] is None
    task.train_step(windows[0])
    assert task.state["train"] is not None and not task.state["train"][0].requires_grad
    task.train_step(windows[1][:2])  # other rows start afresh
    assert task.state["train"][0].shape[1] == 2
    task.start_epoch(1, "valid")  # validation starts afresh, and leaves training's state alone
    assert task.state["valid"] is None and task.state["train"][0].shape[1] == 2

    metrics = _train(task, windows, windows[:3], epochs=6)
    assert metrics[-1]["train_loss"] < metrics[0]["train_loss"] * 0.7
    assert metrics[-1]["valid_perplexity"] == pytest.approx(math.exp(metrics[-1]["valid_loss"]), rel=1e-4)


def test_the_guides_language_model_trains_on_a_text_file_through_a_run(make_studio, tmp_path):
    guide_lm = guide_module("LanguageModelTask")
    text = tmp_path / "story.txt"
    text.write_text("the cat sat on the mat . the dog sat on the log . " * 40, encoding="utf-8")
    studio = make_studio(("text", guide_lm))
    spec = {"run": {"task": "language-model", "device": "cpu"},
            "model": {"id": "text.lstm", "params": {"embed": 16, "hidden": 32, "layers": 1}},
            "data": {"id": "text.words", "params": {"path": str(text)}},
            "task": {"params": {"bptt": 5}}, "train": {"epochs": 4, "batch_size": 4, "lr": 0.02}}
    records = _drive(studio, spec)
    assert next(r for r in records if isinstance(r, FitStarted)).train_batches == 0  # a stream: nothing calls len()
    epochs = [r.metrics for r in records if isinstance(r, EpochEnd)]
    assert epochs[-1]["valid_loss"] < epochs[0]["valid_loss"] * 0.7
    assert epochs[-1]["valid_perplexity"] == pytest.approx(math.exp(epochs[-1]["valid_loss"]), rel=1e-4)
    with pytest.raises(RunError, match="too few to validate with batch_size 64"):
        _drive(studio, {**spec, "train": {"epochs": 1, "batch_size": 64}})


class _Paint(nn.Module):
    """A toy style-transfer model: the image is the only trainable parameter."""

    def __init__(self, size: int = 8) -> None:
        super().__init__()
        self.image = nn.Parameter(torch.zeros(1, 3, size, size))
        self.features = nn.Conv2d(3, 4, 3).requires_grad_(False)

    def forward(self, content, style):
        def gram(f):
            flat = f.flatten(2)
            return flat @ flat.transpose(1, 2) / flat.shape[-1]

        mine = self.features(self.image)
        return (nn.functional.mse_loss(mine, self.features(content))
                + nn.functional.mse_loss(gram(mine), gram(self.features(style))))


class _Canvas:
    """A test plugin: the toy model and one (content, style) pair, for the guide's style-transfer task."""

    @hookimpl
    def dlstudio_register_models(self, register):
        register(ModelSpec(id="test.paint", title="Paint", build=lambda p, info: _Paint(), tasks=("style-transfer",)))

    @hookimpl
    def dlstudio_register_datasets(self, register):
        def load(params, ctx):
            g = torch.Generator().manual_seed(ctx.seed)
            pair = TensorDataset(torch.rand(1, 3, 8, 8, generator=g), torch.rand(1, 3, 8, 8, generator=g))
            return DataBundle(pair, None, DataInfo(input_shape=(3, 8, 8)), shuffle=False)

        register(DatasetSpec(id="test.pair", title="Pair", load=load, tasks=("style-transfer",)))


def test_the_guides_lbfgs_task_paints_the_image():
    guide_style = guide_module("StyleTransferTask")
    torch.manual_seed(0)
    model = _Paint()
    frozen = model.features.weight.detach().clone()
    task = guide_style.StyleTransferTask(_context(model, DataInfo(input_shape=(3, 8, 8)), params={"max_iter": 20},
                                                  lr=1.0))
    assert isinstance(task.optimizers[0], torch.optim.LBFGS)
    batch = (torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    metrics = _train(task, [batch], None, epochs=4)
    assert metrics[-1]["train_loss"] < metrics[0]["train_loss"] * 0.5
    assert metrics[-1]["lr"] == 1.0
    assert torch.equal(model.features.weight, frozen) and model.image.abs().sum() > 0


def test_the_guides_style_transfer_runs_in_steps_without_validation(make_studio):
    studio = make_studio(("style", guide_module("StyleTransferTask")), ("canvas", _Canvas()))
    records = _drive(studio, {"run": {"task": "style-transfer", "device": "cpu"}, "model": {"id": "test.paint"},
                              "data": {"id": "test.pair"}, "task": {"params": {"max_iter": 5}},
                              "train": {"steps": 6, "eval_every": 3, "lr": 1.0, "batch_size": 1}})
    started = next(r for r in records if isinstance(r, FitStarted))
    assert (started.unit, started.total_steps, started.period_steps, started.epochs) == ("step", 6, 3, 2)
    periods = [r for r in records if isinstance(r, EpochEnd)]
    assert [p.step for p in periods] == [3, 6]
    assert not any(name.startswith("valid_") for p in periods for name in p.metrics)  # no validation phase
    assert periods[-1].metrics["train_loss"] < periods[0].metrics["train_loss"]


def test_the_guides_callback_adds_its_metric_to_every_epoch(hello, make_studio):
    studio = make_studio(("hello", hello.plugin), ("diag", guide_module("GradNorm")))
    spec = studio.recipe_spec("hello-spirals", ["train.epochs=3", 'run.device="cpu"',
                                                'run.callbacks=["diag.grad-norm"]'])
    run = Run(studio, spec)
    records = list(run.records())
    assert records[-1].status == "completed"
    # 480 training points in batches of 32: 15 steps an epoch, so steps 10 | 20, 30 | 40 are measured.
    norms = [m["grad_norm"] for m in runs.read_metrics(studio, run.run_id)]
    assert len(norms) == 3 and all(math.isfinite(n) and n > 0 for n in norms)


def test_the_guides_runs_api_example_classifies_with_a_finished_runs_model(hello, make_studio):
    studio = make_studio(("hello", hello.plugin))
    run = Run(studio, studio.recipe_spec("hello-spirals", ["train.epochs=10", 'run.device="cpu"']))
    assert list(run.records())[-1].status == "completed"
    points, arms = hello.data.make_spirals(300, 0.05, 1.5, seed=777)  # points the run never saw, labelled
    names = guide_module("classify").classify(studio, run.run_id, points)
    assert set(names) <= set(hello.data.CLASSES)
    right = sum(name == hello.data.CLASSES[arm] for name, arm in zip(names, arms.tolist(), strict=True))
    assert right / len(names) > 0.9


# ---------------------------------------------------------------------------------------------------
# The example package
# ---------------------------------------------------------------------------------------------------


def test_the_example_declares_its_entry_point():
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == "dlstudio-hello-plugin"
    assert "dlstudio" in project["project"]["dependencies"]
    assert project["project"]["entry-points"]["dlstudio.plugins"] == {"hello": "dlstudio_hello.plugin"}
    assert project["build-system"]["build-backend"] == "setuptools.build_meta"
    assert (EXAMPLE / "README.md").is_file()


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(args[1:])} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.slow
def test_the_example_installs_with_pip_and_trains_from_the_cli(tmp_path):
    pytest.importorskip("setuptools", reason="building the example offline needs setuptools in this environment")
    source, site, home = tmp_path / "source", tmp_path / "site", tmp_path / "home"
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".*_cache"))
    env = {k: v for k, v in os.environ.items() if k not in ("DLSTUDIO_DISABLED_PLUGINS", "PYTHONPATH")}
    env.update(PYTHONPATH=str(site), DLSTUDIO_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    python = sys.executable
    _run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
          "--target", str(site), str(source)], env, tmp_path)
    assert (site / "dlstudio_hello" / "plugin.py").is_file()

    plugins = _run([python, "-m", "dlstudio.cli", "plugins"], env, tmp_path).stdout
    assert re.search(r"^hello\s+0\.1\.0\s+loaded\s+dlstudio-hello-plugin \(entry point dlstudio_hello\.plugin\)$",
                     plugins, re.MULTILINE), plugins
    assert "error:" not in plugins and "warning:" not in plugins, plugins

    recipes = _run([python, "-m", "dlstudio.cli", "recipes"], env, tmp_path).stdout
    assert re.search(r"^hello-spirals\s+MLP on two spirals\b.*\(hello\)$", recipes, re.MULTILINE), recipes

    train = _run([python, "-m", "dlstudio.cli", "train", "--recipe", "hello-spirals", "--set", "train.epochs=2",
                  "--device", "cpu", "--json"], env, tmp_path)
    events = [json.loads(line) for line in train.stdout.splitlines() if line.strip()]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2], train.stdout
    assert all(0.0 <= e["valid_accuracy"] <= 1.0 and math.isfinite(e["train_loss"]) for e in epochs)
    summary = events[-1]
    assert summary["event"] == "summary" and summary["status"] == "completed", train.stdout
    assert summary["monitor"] == "valid_accuracy"

    runs = json.loads(_run([python, "-m", "dlstudio.cli", "runs", "--json"], env, tmp_path).stdout)
    assert [(r["id"], r["status"], r["model"], r["plugin"]) for r in runs] == [
        (summary["run_id"], "completed", "hello.mlp", "hello")
    ]

    # The module the entry point names is loaded by every command, `dlstudio --help` too: no Qt until a panel
    # factory is called, no torch until a run builds the model or loads the data.
    probe = ("import sys, dlstudio_hello.plugin; "
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'PySide6', 'shiboken6', 'pyqtgraph', "
             "'torch'}); print(heavy); sys.exit(1 if heavy else 0)")
    _run([python, "-c", probe], env, tmp_path)

    # The example's own tests, run against the installed copy: the working folder is not the source folder.
    tests = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(source / "tests")], env, tmp_path,
                 timeout=300)
    assert re.search(r"\b\d+ passed\b", tests.stdout), tests.stdout


def test_the_example_passes_ruff():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    proc = subprocess.run([ruff, "check", "--no-cache", str(EXAMPLE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
