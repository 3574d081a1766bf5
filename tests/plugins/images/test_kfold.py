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
    accs = [f.best_accuracy for f in summary.folds]
    assert len(accs) == 3 and all(0.5 < a <= 1 for a in accs)
    assert summary.mean == pytest.approx(sum(accs) / 3)
    assert summary.std == pytest.approx(float(torch.tensor(accs, dtype=torch.float64).std(unbiased=False)))
    assert all(len(f.curves["valid_loss"]) == 2 for f in summary.folds)
    assert "± " in summary.text() and "3 folds" in summary.text()
