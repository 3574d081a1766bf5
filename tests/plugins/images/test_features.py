import pytest
import torch

from dlstudio.checkpoints import save_checkpoint
from dlstudio.contract import DataInfo, LoadContext
from dlstudio.engine import TaskContext, fit
from dlstudio.engine.data import make_batches
from dlstudio.engine.records import EpochEnd
from dlstudio.spec import RunSpec, TrainSection
from dlstudio_images import features
from dlstudio_images.data import digits as digits_source
from dlstudio_images.data.catalog import FEATURES_DEFAULTS
from dlstudio_images.data.params import DIGITS_DEFAULTS
from dlstudio_images.ensemble import comparison, comparison_specs
from dlstudio_images.models import torchvision_models as tvm
from dlstudio_images.models.heads import EnsembleHead, FeatureHead
from dlstudio_images.models.params import ARCHS, defaults
from tests.plugins.images.factory import train

SHAPES = {"size": 32, "per_class": 10, "num_classes": 3, "normalize": "none"}


def _params(**kw):
    return {**FEATURES_DEFAULTS, "source": "images.shapes", **SHAPES, **kw}


@pytest.fixture
def fctx(tmp_path):
    return LoadContext(cache_dir=tmp_path / "cache" / "images.features", seed=0, report=lambda _t: None)


def test_features_are_cached_on_disk_and_reused(fctx):
    first = features.load_features(_params(), fctx)
    assert first.info.input_shape == (512,) and first.info.input_kind == "features"
    assert first.info.classes == ("circle", "square", "triangle")
    assert any("cached in" in m for m in first.messages)
    assert first.info.extra["forward_seconds"]["resnet18"] > 0
    second = features.load_features(_params(), fctx)
    assert any("loaded from the cache" in m for m in second.messages)
    assert torch.equal(first.train.tensors[0], second.train.tensors[0])
    assert torch.equal(first.valid.tensors[1], second.valid.tensors[1])
    other = features.load_features(_params(size=40), fctx)
    assert any("cached in" in m for m in other.messages)  # other data, other key
    assert len(list(fctx.cache_dir.glob("*.safetensors"))) == 2


def test_augmentation_is_turned_off_for_cached_features(fctx):
    bundle = features.load_features(_params(hflip=True, cache=False), fctx)
    assert any("augmentation is incompatible with cached features" in m for m in bundle.messages)
    assert not list(fctx.cache_dir.glob("*.safetensors"))


def _train_head(studio, model, bundle, epochs=6):
    settings = TrainSection(epochs=epochs, batch_size=32, optimizer="adam", lr=0.01)
    task = studio.registry.tasks.get("classification").create(
        TaskContext(model, bundle.info, settings, torch.device("cpu")))
    torch.manual_seed(0)
    train_b = make_batches(bundle.train, 32, shuffle=True)
    valid_b = make_batches(bundle.valid, 64, shuffle=False)
    return [r for r in fit(task, train_b, valid_b, epochs=epochs) if isinstance(r, EpochEnd)][-1].metrics


def test_cached_features_give_the_same_head_accuracy_as_the_full_forward_pass(studio, tmp_path, fctx):
    """A frozen ResNet-18 + its fc trained on images, vs the same fc trained on the cached features."""
    arch = ARCHS["resnet18"]
    digits = {"size": 32, "channels": 3}
    torch.manual_seed(3)
    net = tvm.build(arch, defaults(arch), DataInfo((3, 32, 32), tuple("0123456789")))
    path = str(save_checkpoint(tmp_path / "backbone", net.state_dict(), {"architecture": "images.resnet18"}))
    file_params = {"weights": "file", "weights_file": path}

    images = digits_source.load({**DIGITS_DEFAULTS, **digits}, LoadContext(cache_dir=tmp_path, seed=0))
    full = tvm.build(arch, {**defaults(arch), **file_params, "freeze": "backbone"}, images.info)
    uncached = _train_head(studio, full, images, epochs=3)

    cached_bundle = features.load_features(
        {**FEATURES_DEFAULTS, "source": "images.digits", **digits, **file_params}, fctx)
    head = FeatureHead(512, 10)
    head.fc.load_state_dict(net.fc.state_dict())
    cached = _train_head(studio, head, cached_bundle, epochs=3)

    assert uncached["valid_accuracy"] > 0.5  # random conv features separate digits well above chance (0.1)
    assert cached["valid_accuracy"] == pytest.approx(uncached["valid_accuracy"], abs=1 / 359)
    assert cached["valid_loss"] == pytest.approx(uncached["valid_loss"], rel=1e-3)
    assert cached["train_loss"] == pytest.approx(uncached["train_loss"], rel=1e-3)


def test_the_ensemble_concatenates_backbones_and_splits_them_again(fctx):
    bundle = features.load_features(_params(backbones=["resnet18", "mobilenet_v3_small"]), fctx)
    dims = bundle.info.extra["feature_dims"]
    assert dims == [512, 576] and bundle.info.input_shape == (1088,)
    head = EnsembleHead(dims, 3, hidden=16, dropout=0.0)
    x = bundle.valid.tensors[0][:4]
    out = head(x)
    assert out.shape == (4, 3)
    # each branch sees only its own backbone's slice
    expected = head.out(head.branches[0](x[:, :512]) + head.branches[1](x[:, 512:]))
    assert torch.allclose(out, expected, atol=1e-6)


def test_bad_backbones_are_refused(fctx):
    with pytest.raises(ValueError, match="unknown: alexnet"):
        features.load_features(_params(backbones=["alexnet"]), fctx)
    with pytest.raises(ValueError, match="single backbone"):
        features.load_features(_params(backbones=["resnet18", "resnet34"], weights="file"), fctx)


def test_ensemble_comparison_runs_each_backbone_alone_and_together(studio):
    spec = studio.recipe_spec("digits-features-ensemble", [
        "train.epochs=2", "data.params.size=16", "data.params.backbones=['resnet18', 'mobilenet_v3_small']"])
    labelled = []
    for label, run_spec in comparison_specs(spec):
        run_id, ended = train(studio, run_spec.to_dict())
        assert ended.status == "completed"
        labelled.append((label, run_id))
    rows = comparison(studio, labelled)
    assert [r.label for r in rows] == ["resnet18", "mobilenet_v3_small", "ensemble"]
    assert all(r.best_accuracy is not None and 0.5 < r.best_accuracy <= 1 for r in rows)
    assert studio.store.get(labelled[2][1]).model == "images.ensemble_head"
    # each backbone's features were computed once and shared by the three runs
    assert len(list((studio.cache_dir / "images.features").glob("*.safetensors"))) == 2
    with pytest.raises(ValueError, match="at least two backbones"):
        comparison_specs(RunSpec.from_dict({**spec.to_dict(), "data": {
            "id": "images.features", "params": {"backbones": ["resnet18"]}}}))
