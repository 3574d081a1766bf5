import pytest
import torch

from dlstudio.spec import RunSpec
from dlstudio_images.kfold import fold_specs, summarize
from tests.plugins.images.factory import train
from tests.plugins.images.test_evaluate import DIGITS_FAST


def test_fold_specs_hold_out_each_fold_once(studio):
    spec = RunSpec.from_dict(DIGITS_FAST)
    specs = fold_specs(spec, 3)
    assert [(s.data.params["folds"], s.data.params["fold"]) for s in specs] == [(3, 0), (3, 1), (3, 2)]
    assert specs[1].run.name.endswith("fold 2/3")
    from dlstudio_images.session import spec_data

    held_out = [spec_data(studio, s).valid.tensors[0] for s in specs]
    assert sum(len(v) for v in held_out) == 1797
    # no image is held out twice
    a, b = held_out[0].flatten(1), held_out[1].flatten(1)
    assert not (torch.cdist(a[:50], b) < 1e-6).any()
    with pytest.raises(ValueError, match="at least 2"):
        fold_specs(spec, 1)


def test_cached_features_are_split_into_folds_too(studio):
    from dlstudio_images.session import spec_data

    spec = studio.recipe_spec("digits-features-ensemble", ["data.params.backbones=['resnet18']"])
    specs = fold_specs(spec, 4)
    assert specs[3].data.params["fold"] == 3
    bundles = [spec_data(studio, s) for s in specs[:2]]
    assert [len(b.valid) + len(b.train) for b in bundles] == [1797, 1797]
    assert abs(len(bundles[0].valid) - 1797 / 4) <= 5
    assert not torch.equal(bundles[0].valid.tensors[0], bundles[1].valid.tensors[0])


def test_kfold_runs_give_a_table_with_mean_and_std(studio):
    run_ids = []
    for spec in fold_specs(RunSpec.from_dict(DIGITS_FAST), 3):
        run_id, ended = train(studio, spec.to_dict())
        assert ended.status == "completed"
        run_ids.append(run_id)
    summary = summarize(studio, run_ids)
    accs = summary.held_out
    assert accs == [f.curves["valid_accuracy"][-1][1] for f in summary.folds]  # the last epoch's, fold by fold
    assert len(accs) == 3 and all(0.5 < a <= 1 for a in accs)
    assert summary.mean == pytest.approx(sum(accs) / 3)
    assert summary.std == pytest.approx(float(torch.tensor(accs, dtype=torch.float64).std(unbiased=False)))
    assert all(len(f.curves["valid_loss"]) == 2 for f in summary.folds)
    assert "± " in summary.text() and "3 folds" in summary.text()


def _scripted_fold(studio, name, valid_accuracies, status="completed"):
    """A finished fold written straight into the run store: its held-out accuracy at each epoch, chosen by hand."""
    run_id = studio.store.create_run(name=name, plugin="images", task="classification", model="images.mnist_net",
                                     dataset="images.digits", params={}, spec="", device="cpu",
                                     epochs=len(valid_accuracies), monitor="valid_accuracy")
    best = 0.0
    for epoch, acc in enumerate(valid_accuracies, 1):
        best = max(best, acc)
        studio.store.record_epoch(run_id, epoch, {"valid_accuracy": acc, "valid_loss": 1 - acc},
                                  best_epoch=None, best_value=best)
    studio.store.set_status(run_id, status)
    return run_id


def test_each_fold_reports_its_last_epoch_not_its_peak_on_the_held_out_fold(studio):
    # Fold 1 peaks mid-run at 0.95 and ends at 0.80; picking the peak would select on the test fold.
    run_ids = [_scripted_fold(studio, "fold 1", [0.70, 0.95, 0.80]),
               _scripted_fold(studio, "fold 2", [0.60, 0.90, 0.90])]
    summary = summarize(studio, run_ids)
    assert summary.held_out == [pytest.approx(0.80), pytest.approx(0.90)]
    assert summary.mean == pytest.approx(0.85)  # by hand: (0.80 + 0.90) / 2
    assert summary.std == pytest.approx(0.05)  # population std of {0.80, 0.90}
    assert "last epoch" in summary.text() and "85.00% ± 5.00%" in summary.text()


def test_a_fold_stopped_before_its_last_epoch_is_left_out_of_the_mean(studio):
    run_ids = [_scripted_fold(studio, "fold 1", [0.70, 0.80, 0.90]),
               _scripted_fold(studio, "fold 2", [0.99], status="stopped")]
    summary = summarize(studio, run_ids)
    assert summary.held_out == [pytest.approx(0.90), None]
    assert summary.mean == pytest.approx(0.90) and "over 1 of 2 folds" in summary.text()


@pytest.mark.parametrize(("train", "message"), [({"early_stopping": 2}, "early_stopping"),
                                                ({"scheduler": "plateau", "gamma": 0.5}, "plateau")])
def test_settings_that_choose_by_the_held_out_fold_are_refused(train, message):
    raw = {**DIGITS_FAST, "train": {**DIGITS_FAST["train"], **train}}
    with pytest.raises(ValueError, match=message) as refused:
        fold_specs(RunSpec.from_dict(raw), 3)
    assert "held-out fold" in str(refused.value)


def test_a_folds_final_weights_are_those_of_its_reported_last_epoch():
    assert all(not s.train.keep_best for s in fold_specs(RunSpec.from_dict(DIGITS_FAST), 2))
