"""Sweeps: every sampler on the tiny demo spec, pruning that prunes, failures that stay trials, refusals."""

from __future__ import annotations

import json
import re
import tomllib

import optuna
import pytest

from dlstudio.cli import build_parser, dispatch
from dlstudio.spec import SpecError
from dlstudio.sweep import SweepConfig, open_storage, run_sweep
from dlstudio.sweep_params import parse_space
from dlstudio.sweep_store import SweepTable, best_trial
from tests.runs import demo_spec, metrics_by_epoch


def stored_spec(studio, run_id) -> dict:
    return tomllib.loads(studio.store.get(run_id).spec)


@pytest.mark.parametrize("sampler", ["grid", "random", "tpe"])
def test_each_sampler_runs_trials_that_are_stored_replayable_runs(demo_studio, sampler):
    space = parse_space(["model.hidden=choice:4,8", "train.lr=choice:0.05,0.1"] if sampler == "grid"
                        else ["model.hidden=int:4:12:4", "train.lr=loguniform:0.001:0.1"])
    config = SweepConfig(space, trials=4 if sampler == "grid" else 3, sampler=sampler, seed=3,
                         study=f"s-{sampler}", metric="valid_accuracy", direction="max")
    result = run_sweep(demo_studio, demo_spec(demo_studio), config)

    assert [t.state for t in result.trials] == ["complete"] * config.trials
    for trial in result.trials:
        # The stored run's own spec holds the trial's values: replaying it trains that trial.
        spec = stored_spec(demo_studio, trial.run_id)
        assert spec["model"]["params"]["hidden"] == trial.params["model.params.hidden"]
        assert spec["train"]["lr"] == pytest.approx(trial.params["train.lr"])
        assert spec["run"]["name"] == f"s-{sampler} #{trial.number}"
        # The trial's value is the best of the run's own recorded epochs.
        recorded = [m["valid_accuracy"] for m in metrics_by_epoch(demo_studio, trial.run_id).values()]
        assert trial.value == pytest.approx(max(recorded))
    if sampler == "grid":  # the grid visits every combination once
        combos = {(t.params["model.params.hidden"], t.params["train.lr"]) for t in result.trials}
        assert combos == {(4, 0.05), (4, 0.1), (8, 0.05), (8, 0.1)}
    grouped = SweepTable(demo_studio.store).trials(f"s-{sampler}")
    assert sorted(t.run_id for t in grouped) == sorted(t.run_id for t in result.trials)
    assert best_trial(grouped).value == max(t.value for t in result.trials) == result.best.value


def test_median_pruning_stops_a_clearly_worse_trial_early(demo_studio, tmp_path):
    journal = str(tmp_path / "sweep.journal")
    study = optuna.create_study(study_name="prune", storage=open_storage(journal), direction="maximize")
    study.enqueue_trial({"train.lr": 0.1})  # learns in the first epoch
    study.enqueue_trial({"train.lr": 1e-5})  # barely moves: below the first trial's median at once
    config = SweepConfig(parse_space(["train.lr=loguniform:1e-5:0.1"]), trials=2, storage=journal, study="prune",
                         metric="valid_accuracy", direction="max", startup_trials=1, sampler="random")
    spec = demo_spec(demo_studio, "data.params.samples=400", "train.epochs=4")
    result = run_sweep(demo_studio, spec, config)

    good, slow = result.trials
    assert (good.state, slow.state) == ("complete", "pruned")
    good_run, pruned_run = demo_studio.store.get(good.run_id), demo_studio.store.get(slow.run_id)
    assert good_run.epochs_done == 4
    assert pruned_run.epochs_done < 4, "the pruned trial trained every epoch"
    assert pruned_run.status == "pruned" and "pruned" in pruned_run.message
    epoch = pruned_run.epochs_done
    assert (metrics_by_epoch(demo_studio, slow.run_id)[epoch]["valid_accuracy"]
            < metrics_by_epoch(demo_studio, good.run_id)[epoch]["valid_accuracy"])


def test_a_failing_trial_is_a_failed_trial_and_the_sweep_goes_on(demo_studio):
    config = SweepConfig(parse_space(["data.params.nan=choice:true,false"]), trials=2, sampler="grid",
                         study="nan", metric="valid_accuracy", direction="max")
    result = run_sweep(demo_studio, demo_spec(demo_studio), config)

    by_nan = {t.params["data.params.nan"]: t for t in result.trials}
    assert by_nan[True].state == "fail" and "loss" in by_nan[True].message
    assert demo_studio.store.get(by_nan[True].run_id).status == "failed"
    assert by_nan[False].state == "complete"
    assert result.best.number == by_nan[False].number


def test_the_default_metric_is_the_tasks_monitored_one(demo_studio):
    config = SweepConfig(parse_space(["train.lr=choice:0.05"]), trials=1, study="default")
    result = run_sweep(demo_studio, demo_spec(demo_studio), config)
    assert (result.metric, result.direction) == ("valid_accuracy", "max")  # the classification task's monitor


@pytest.mark.parametrize(("param", "words"), [
    ("model.params.depth=int:1:3", "depth"),
    ("train.lrate=uniform:0.1:0.2", "lrate"),
    ("train.lr=loguniform:0:0.1", "LOW > 0"),
    ("train.lr=uniform:0.5:0.1", "LOW must be below HIGH"),
    ("train.lr=uniform:-0.5:0.1", "lr"),
    ("train.epochs=uniform:1:3", "epochs"),
    ("train.optimizer=choice:sgd,adamm", "adamm"),
    ("train.lr=normal:0:1", "unknown kind"),
    ("train.batch_size=int:8:20:5", "STEP"),
    ("model.hidden=int:-4:8", "cannot be built"),  # only the model's builder knows a width is not negative
])
def test_a_bad_param_is_refused_before_any_trial_naming_it(demo_studio, param, words):
    config = SweepConfig([], trials=2, study="bad", metric="valid_accuracy", direction="max")
    with pytest.raises(SpecError) as caught:
        config.spaces = parse_space([param])
        run_sweep(demo_studio, demo_spec(demo_studio), config)
    assert words in str(caught.value)
    assert param.split("=")[0].split(".")[-1] in str(caught.value)
    assert demo_studio.store.list_runs() == []


def test_grid_refuses_a_continuous_range(demo_studio):
    config = SweepConfig(parse_space(["train.lr=uniform:0.01:0.1"]), sampler="grid", metric="valid_accuracy",
                         direction="max")
    with pytest.raises(SpecError, match="grid sampler needs a finite list"):
        run_sweep(demo_studio, demo_spec(demo_studio), config)


def test_the_cli_prints_the_trials_and_the_best_and_json(demo_studio, tmp_path, capsys):
    spec_path = tmp_path / "base.toml"
    demo_spec(demo_studio).save(spec_path)
    argv = ["sweep", str(spec_path), "--param", "train.lr=choice:0.05,0.1", "--sampler", "grid", "--trials", "2",
            "--pruner", "none", "--study", "cli", "--json"]
    assert dispatch(build_parser(demo_studio, argv).parse_args(argv), demo_studio) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["metric"] == "valid_accuracy" and len(report["trials"]) == 2
    assert report["best"]["value"] == max(t["value"] for t in report["trials"])

    argv = ["sweep", str(spec_path), "--param", "train.lr=choice:0.05,0.1", "--sampler", "random", "--trials",
            "1", "--study", "cli"]  # the same study again: it goes on where it was, in its default journal
    assert dispatch(build_parser(demo_studio, argv).parse_args(argv), demo_studio) == 0
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if re.match(r"\s+\d+[* ] complete ", line)]
    assert len(table) == 3 and sum("*" in line for line in table) == 1
    assert "best: trial" in out

    argv = ["sweep", str(spec_path), "--param", "train.lrr=choice:0.05"]
    assert dispatch(build_parser(demo_studio, argv).parse_args(argv), demo_studio) == 2
    assert "lrr" in capsys.readouterr().err


def test_the_cli_help_names_the_same_syntax_as_the_parser():
    from dlstudio import sweep_cli, sweep_params

    assert sweep_cli.SYNTAX == sweep_params.SYNTAX


def test_joining_a_study_that_optimises_the_other_way_is_refused(demo_studio, tmp_path):
    journal = str(tmp_path / "other.journal")
    optuna.create_study(study_name="other", storage=open_storage(journal), direction="minimize")
    config = SweepConfig(parse_space(["train.lr=choice:0.05"]), trials=1, storage=journal, study="other",
                         metric="valid_accuracy", direction="max")
    with pytest.raises(SpecError, match="minimizes"):
        run_sweep(demo_studio, demo_spec(demo_studio), config)
    assert demo_studio.store.list_runs() == []
