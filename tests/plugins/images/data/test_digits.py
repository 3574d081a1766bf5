import torch
from torch.utils.data import TensorDataset

from dlstudio_images.data import digits
from dlstudio_images.data.params import DIGITS_DEFAULTS
from tests.plugins.images.factory import train


def test_digits_load_as_in_memory_tensors_with_a_stratified_holdout(ctx):
    bundle = digits.load({**DIGITS_DEFAULTS, "size": 16, "holdout": 0.25}, ctx)
    assert isinstance(bundle.train, TensorDataset) and isinstance(bundle.valid, TensorDataset)
    assert len(bundle.train) + len(bundle.valid) == 1797
    assert abs(len(bundle.valid) - 0.25 * 1797) <= 1
    assert bundle.info.input_shape == (1, 16, 16)
    assert bundle.info.classes == tuple("0123456789")
    x = bundle.train.tensors[0]
    assert x.shape[1:] == (1, 16, 16) and x.dtype == torch.float32
    # computed normalisation: the training inputs have mean ~0 and std ~1
    assert abs(float(x.mean())) < 0.05 and abs(float(x.std()) - 1) < 0.05
    assert any("computed from the training set" in m for m in bundle.messages)
    # stratified: every class is in the validation split in about its share
    counts = torch.bincount(bundle.valid.tensors[1], minlength=10)
    assert counts.min() >= 40


def test_the_split_follows_the_seed(ctx):
    a = digits.prepare(DIGITS_DEFAULTS, ctx)
    b = digits.prepare(DIGITS_DEFAULTS, ctx)
    c = digits.prepare(DIGITS_DEFAULTS, type(ctx)(cache_dir=ctx.cache_dir, seed=1))
    assert torch.equal(a.valid.tensor, b.valid.tensor)
    assert not torch.equal(a.valid.tensor, c.valid.tensor)


def test_the_digits_recipe_reaches_97_percent(studio):
    """The app's default demo: `dlstudio train --recipe digits-cnn` with its default settings."""
    spec = studio.recipe_spec("digits-cnn")
    run_id, ended = train(studio, spec.to_dict())
    assert ended.status == "completed"
    assert ended.monitor == "valid_accuracy"
    assert ended.best_value >= 0.97, f"best validation accuracy {ended.best_value:.4f}"
    assert studio.store.artifacts(run_id)["best"][0].exists()
