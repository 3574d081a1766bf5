"""The command line: ``dlstudio train/recipes/runs/plugins`` and plugins' commands, called in-process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest

from dlstudio import __version__, hookimpl
from dlstudio.cli import main
from dlstudio.contract import CommandSpec
from dlstudio.engine.classification import ClassificationTask
from dlstudio.plugins import Candidate, module_candidate
from dlstudio.store import RunStore
from tests.fixture_plugins import demo_plugin

TINY = ["--set", "data.params.samples=80", "--set", "train.batch_size=16"]


def hello_plugin() -> types.ModuleType:
    module = types.ModuleType("hello")

    def add_arguments(parser):
        parser.add_argument("--name", default="world")

    def run(args, studio):
        print(f"hello {args.name} from {studio.home.name}")
        return 3

    @hookimpl
    def dlstudio_register_commands(register):
        register(CommandSpec(name="hello", help="say hello", add_arguments=add_arguments, run=run))

    module.dlstudio_register_commands = dlstudio_register_commands
    return module


def broken():
    raise ImportError("No module named 'missing_dependency'")


@pytest.fixture(autouse=True)
def installed(monkeypatch):
    """What ``Studio.open()`` discovers: the demo plugin, a plugin with a command, and a broken one."""
    candidates = [module_candidate("demo", demo_plugin), module_candidate("hello", hello_plugin()),
                  Candidate("broken", broken, "brokenpkg (entry point broken.plugin)", "0.1")]
    monkeypatch.setattr("dlstudio.studio.entry_point_candidates", lambda: candidates)


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def store(studio_home) -> RunStore:
    return RunStore(studio_home)


def test_train_a_spec_file(capsys, tmp_path, studio_home):
    spec = tmp_path / "run.toml"
    spec.write_text('[model]\nid = "demo.mlp"\n[data]\nid = "demo.blobs"\n[data.params]\nsamples = 80\n'
                    '[train]\nepochs = 2\nbatch_size = 16\nlr = 0.05\n')
    code, out, _ = cli(capsys, "train", str(spec))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "loading data: Gaussian blobs"
    assert lines[1].startswith("run ") and lines[1].endswith(f"— files in {studio_home / 'runs' / lines[1].split()[1]}")
    assert [line.split("  ")[0] for line in lines if line.startswith("epoch ")] == ["epoch 1/2", "epoch 2/2"]
    assert lines[-1].startswith("completed. best valid_accuracy ")
    (row,) = store(studio_home).list_runs()
    assert (row.status, row.epochs_done, row.name) == ("completed", 2, "Tiny MLP on Gaussian blobs")


def test_train_a_recipe_with_overrides(capsys, studio_home):
    code, out, _ = cli(capsys, "train", "--recipe", "demo-blobs", "--set", "train.epochs=2", *TINY, "--device", "cpu")
    assert code == 0 and "completed." in out
    (row,) = store(studio_home).list_runs()
    assert (row.status, row.epochs, row.device, row.name) == ("completed", 2, "cpu", "Tiny MLP on blobs")


def test_train_json_prints_one_object_per_epoch_and_a_summary(capsys, studio_home):
    code, out, err = cli(capsys, "train", "--recipe", "demo-blobs", "--set", "train.epochs=2", *TINY, "--json")
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]  # nothing but JSON on stdout
    assert [e["event"] for e in events] == ["epoch", "epoch", "summary"]
    assert [(e["epoch"], e["epochs"]) for e in events[:2]] == [(1, 2), (2, 2)]
    assert {"train_loss", "valid_accuracy", "lr", "seconds", "best"} <= set(events[0])
    summary = events[-1]
    (row,) = store(studio_home).list_runs()
    assert (summary["run_id"], summary["status"], summary["monitor"]) == (row.id, "completed", "valid_accuracy")
    assert summary["best_value"] == row.best_value
    assert "loading data" in err  # the log goes to stderr


@pytest.mark.parametrize("argv, message", [
    (["--set", "train.epoch=2"], "dlstudio: --set train.epoch: [train] has no key 'epoch' (did you mean 'epochs'?)"),
    (["--set", "trian.epochs=2"], "dlstudio: --set trian.epochs: unknown section [trian] (did you mean 'train'?)"),
    (["--set", "train.epochs=two"], "dlstudio: [train] epochs: expected an integer, got 'two'"),
    (["--set", "model.params.hiden=8"], "dlstudio: [model.params] unknown key 'hiden' for model 'demo.mlp' "
                                        "(did you mean 'hidden'?); known: hidden"),
    (["--device", "cuda:7"], "dlstudio: [run] device: device 'cuda:7' is not available here; available: cpu"),
])
def test_a_bad_override_exits_2_with_a_clear_message(capsys, studio_home, argv, message, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    code, _, err = cli(capsys, "train", "--recipe", "demo-blobs", *argv)
    assert code == 2
    assert err.strip().splitlines()[-1] == message
    assert store(studio_home).list_runs() == []


def test_train_needs_a_spec_or_a_recipe(capsys, tmp_path):
    message = "dlstudio: give either a spec file or --recipe NAME (see `dlstudio recipes`)\n"
    assert cli(capsys, "train") == (2, "", message)
    assert cli(capsys, "train", "x.toml", "--recipe", "demo-blobs") == (2, "", message)
    code, _, err = cli(capsys, "train", str(tmp_path / "missing.toml"))
    assert code == 2 and err == f"dlstudio: spec file {tmp_path / 'missing.toml'} does not exist\n"
    code, _, err = cli(capsys, "train", "--recipe", "demo-blbos")
    assert code == 2 and "no recipe 'demo-blbos' is registered. Did you mean 'demo-blobs'?" in err


def test_save_spec_writes_the_resolved_spec(capsys, tmp_path, studio_home):
    path = tmp_path / "resolved.toml"
    code, out, _ = cli(capsys, "train", "--recipe", "demo-blobs", "--set", "train.epochs=7", "--save-spec", str(path))
    assert (code, out) == (0, f"wrote {path}\n")
    spec = tomllib.loads(path.read_text())
    assert spec["train"]["epochs"] == 7 and spec["model"]["id"] == "demo.mlp" and spec["run"]["name"]
    assert store(studio_home).list_runs() == []
    code, _, _ = cli(capsys, "train", str(path), "--set", "train.epochs=1", *TINY)
    assert code == 0 and store(studio_home).list_runs()[0].epochs == 1


def test_a_failed_run_exits_1(capsys, studio_home):
    code, out, _ = cli(capsys, "train", "--recipe", "demo-blobs", *TINY, "--set", "data.params.nan=true")
    assert code == 1
    assert " ".join(out.splitlines()[-1].split()).startswith("failed. the train loss became nan in epoch 1")
    assert store(studio_home).list_runs()[0].status == "failed"


def test_ctrl_c_exits_130_and_leaves_a_resumable_run(capsys, studio_home, monkeypatch):
    original = ClassificationTask.train_step
    calls = []

    def interrupt_in_epoch_2(self, batch):
        calls.append(1)
        if len(calls) == 6:  # 4 batches per epoch: the 2nd batch of epoch 2
            raise KeyboardInterrupt
        return original(self, batch)

    monkeypatch.setattr(ClassificationTask, "train_step", interrupt_in_epoch_2)
    code, _, err = cli(capsys, "train", "--recipe", "demo-blobs", *TINY)
    assert code == 130 and err.endswith("\ndlstudio: interrupted\n")
    (row,) = store(studio_home).list_runs()
    assert (row.status, row.epochs_done, row.resumable) == ("interrupted", 1, True)

    monkeypatch.setattr(ClassificationTask, "train_step", original)
    code, out, _ = cli(capsys, "train", "--resume", row.id)
    assert code == 0 and f"resuming run {row.id} after epoch 1" in out
    assert [line.split("  ")[0] for line in out.splitlines() if line.startswith("epoch ")] == ["epoch 2/3", "epoch 3/3"]
    assert store(studio_home).get(row.id).status == "completed"


def test_resuming_an_unknown_run_exits_2(capsys):
    code, _, err = cli(capsys, "train", "--resume", "nope")
    assert code == 2 and "no run 'nope' in the run store" in err


def test_key_errors_are_printed_without_quotes(capsys):
    _, _, err = cli(capsys, "train", "--resume", "nope")
    assert err.startswith("dlstudio: no run 'nope' in the run store")


def test_recipes(capsys):
    code, out, _ = cli(capsys, "recipes")
    assert (code, out) == (0, "demo-blobs  Tiny MLP on blobs  [reported: ~95 %]  (demo)\n")
    code, out, _ = cli(capsys, "recipes", "--show", "demo-blobs")
    assert code == 0
    shown = tomllib.loads(out)
    assert shown["model"]["id"] == "demo.mlp" and shown["train"]["epochs"] == 3
    assert shown["run"]["name"] == "Tiny MLP on blobs"
    code, _, err = cli(capsys, "recipes", "--show", "nope")
    assert code == 2 and err.startswith("dlstudio: no recipe 'nope' is registered")


def test_recipes_when_no_plugin_provides_one(capsys, monkeypatch):
    monkeypatch.setattr("dlstudio.studio.entry_point_candidates", lambda: [])
    assert cli(capsys, "recipes") == (0, "no recipes: no enabled plugin provides one (see `dlstudio plugins`)\n", "")


def test_runs(capsys, studio_home):
    code, out, _ = cli(capsys, "runs")
    assert (code, out) == (0, f"no runs yet in {studio_home / 'runs.sqlite'}\n")
    cli(capsys, "train", "--recipe", "demo-blobs", *TINY, "--set", "train.epochs=1")
    (row,) = store(studio_home).list_runs()
    code, out, _ = cli(capsys, "runs")
    header, line = out.splitlines()
    assert header.split() == ["ID", "STATUS", "EPOCHS", "BEST", "DEVICE", "MODEL", "/", "DATASET"]
    assert line.split() == [row.id, "completed", "1/1", f"{row.best_value:.4f}", "cpu", "demo.mlp", "/", "demo.blobs"]
    code, out, _ = cli(capsys, "runs", "--json")
    (listed,) = json.loads(out)
    assert (listed["id"], listed["status"], listed["epochs_done"]) == (row.id, "completed", 1)


def test_plugins_shows_loaded_failed_and_disabled_and_exits_1_when_one_failed(capsys, monkeypatch):
    monkeypatch.setenv("DLSTUDIO_DISABLED_PLUGINS", "hello")
    code, out, _ = cli(capsys, "plugins")
    assert code == 1  # the "broken" plugin failed
    lines = out.splitlines()
    rows = {line.split()[0]: line.split()[1:3] for line in lines if not line.startswith(" ")}
    assert rows == {"core": ["2.1", "loaded"], "demo": ["0.0.1", "loaded"], "hello": ["-", "disabled"],
                    "broken": ["0.1", "failed"]}
    assert "    error: could not load: ImportError: No module named 'missing_dependency'" in lines
    assert "Traceback" not in out
    code, out, _ = cli(capsys, "plugins", "-v")
    assert "Traceback (most recent call last)" in out and "in broken" in out


def test_plugins_exits_0_when_none_failed(capsys, monkeypatch):
    monkeypatch.setenv("DLSTUDIO_DISABLED_PLUGINS", "broken")
    code, out, _ = cli(capsys, "plugins")
    assert code == 0 and "failed" not in out and "broken" in out  # disabled is no failure


def test_plugins_exits_0_with_warnings_only(capsys, monkeypatch):
    clash = types.ModuleType("clash")
    clash.dlstudio_register_commands = hookimpl(lambda register: register(
        CommandSpec(name="hello", help="another hello", add_arguments=print, run=print)))
    candidates = [module_candidate("hello", hello_plugin()), module_candidate("clash", clash)]
    monkeypatch.setattr("dlstudio.studio.entry_point_candidates", lambda: candidates)
    code, out, _ = cli(capsys, "plugins")
    assert code == 0
    assert ("    warning: rejected command 'hello' of plugin 'clash': plugin 'hello' already registered that id; "
            "one of them must choose another id") in out.splitlines()


def test_a_plugin_command(capsys, studio_home):
    assert cli(capsys, "hello", "--name", "you") == (3, f"hello you from {studio_home.name}\n", "")


def _commands_plugin(calls: list[str], broken_arguments) -> types.ModuleType:
    """Two commands: "fine" (records its add_arguments calls) and "bad" (whose add_arguments is given)."""
    module = types.ModuleType("cmds")

    def fine_arguments(parser):
        calls.append("fine")
        parser.add_argument("--times", type=int, default=1)

    @hookimpl
    def dlstudio_register_commands(register):
        register(CommandSpec(name="fine", help="works", add_arguments=fine_arguments,
                             run=lambda args, studio: print("fine " * args.times) or 0))
        register(CommandSpec(name="bad", help="its arguments break", add_arguments=broken_arguments,
                             run=lambda args, studio: 0))

    module.dlstudio_register_commands = dlstudio_register_commands
    return module


def _raises(parser):
    raise ValueError("no arguments today")


def _takes_help(parser):
    parser.add_argument("-h", "--help", action="store_true")  # clashes with the parser's own -h


@pytest.fixture
def commands(monkeypatch):
    calls: list[str] = []

    def install(broken_arguments=_raises):
        plugin = _commands_plugin(calls, broken_arguments)
        monkeypatch.setattr("dlstudio.studio.entry_point_candidates", lambda: [module_candidate("cmds", plugin)])
        return calls

    return install


def test_help_lists_plugin_commands_without_declaring_their_arguments(capsys, commands):
    calls = commands()
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0
    # (the help column is as wide as the longest command name, e.g. "tensorboard")
    assert re.search(r"\bfine +works", out) and re.search(r"\bbad +its arguments break", out)
    assert calls == []  # neither add_arguments ran: a plugin's command costs nothing until it runs


def test_only_the_command_that_runs_declares_its_arguments(capsys, commands):
    calls = commands()
    assert cli(capsys, "fine", "--times", "2") == (0, "fine fine \n", "")
    assert calls == ["fine", "fine"]  # on a parser of its own first, then on its sub-parser
    with pytest.raises(SystemExit) as info:
        main(["fine", "--help"])
    assert info.value.code == 0 and "--times" in capsys.readouterr().out


@pytest.mark.parametrize("broken_arguments, reason", [
    (_raises, "add_arguments raised ValueError('no arguments today')"),
    (_takes_help, "add_arguments raised ArgumentError"),
])
def test_a_command_whose_add_arguments_fails_says_so_and_breaks_nothing_else(capsys, commands, broken_arguments,
                                                                            reason):
    commands(broken_arguments)
    assert cli(capsys, "fine") == (0, "fine \n", "")
    assert cli(capsys, "runs")[0] == 0
    code, out, err = cli(capsys, "bad", "--whatever", "-h", "x")
    assert (code, out) == (1, "")
    assert err.startswith(f"dlstudio: command 'bad' of plugin 'cmds' cannot run: its {reason}")
    code, out, _ = cli(capsys, "plugins")
    assert code == 0 and "warning" not in out  # `plugins` does not run commands' add_arguments


def test_version_loads_no_plugin(capsys, monkeypatch):
    def must_not_load():
        raise AssertionError("--version looked for plugins")

    monkeypatch.setattr("dlstudio.studio.entry_point_candidates", must_not_load)
    assert cli(capsys, "--version") == (0, f"dlstudio {__version__}\n", "")


def test_runs_loads_no_plugin(capsys, monkeypatch, studio_home):
    def must_not_load():
        raise AssertionError("runs looked for plugins")

    monkeypatch.setattr("dlstudio.studio.entry_point_candidates", must_not_load)
    assert cli(capsys, "runs") == (0, f"no runs yet in {studio_home / 'runs.sqlite'}\n", "")


def test_an_unusable_home_exits_2(capsys, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("DLSTUDIO_HOME", str(tmp_path / "file" / "home"))
    code, out, err = cli(capsys, "runs")
    assert (code, out) == (2, "")
    assert err == (f"dlstudio: DLSTUDIO_HOME={tmp_path / 'file' / 'home'} cannot be created (Not a directory); "
                   "set DLSTUDIO_HOME to a writable folder\n")


def test_the_installed_command(studio_home):
    command = Path(sys.executable).parent / "dlstudio"
    assert not studio_home.exists()
    result = subprocess.run([str(command), "plugins"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[2] for line in result.stdout.splitlines() if not line.startswith(" ")}
    assert rows["core"] == "loaded"
    assert {"images", "inspector"} <= set(rows)
    assert studio_home.is_dir()  # it used the configured data folder
