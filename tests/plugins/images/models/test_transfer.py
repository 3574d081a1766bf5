"""Transfer learning through real runs: pre-train, save, transfer, freeze."""

import torch

from dlstudio.checkpoints import load_checkpoint
from dlstudio.modelio import build_model
from dlstudio_images.models.transfer import count_parameters
from tests.plugins.images.factory import best_checkpoint, train

SHAPES = {"size": 32, "per_class": 12, "num_classes": 3}
# ResNet-18 on 36 pictures: at lr 0.05 the loss explodes within two batches (the divergence guard ends the run).
FAST = {"epochs": 1, "batch_size": 16, "optimizer": "sgd", "lr": 0.005}


def _spec(model_params, data_params=None, weights="", **train_kw):
    return {"model": {"id": "images.resnet18", "params": model_params, "weights": weights},
            "data": {"id": "images.shapes", "params": {**SHAPES, **(data_params or {})}},
            "train": {**FAST, **train_kw}}


def test_frozen_weights_are_unchanged_after_training(studio):
    pre_id, ended = train(studio, _spec({}))
    assert ended.status == "completed"
    start, _ = load_checkpoint(best_checkpoint(studio, pre_id))
    path = str(best_checkpoint(studio, pre_id))
    run_id, ended = train(studio, _spec({"weights": "file", "weights_file": path, "freeze": "layer3"}, epochs=2))
    assert ended.status == "completed"
    after, _ = load_checkpoint(studio.store.artifacts(run_id)["final"][0])
    frozen = ("conv1.", "bn1.", "layer1.", "layer2.", "layer3.")
    for key, value in after.items():
        if key.startswith(frozen):  # weights and batch-norm statistics alike
            assert torch.equal(value, start[key]), key
    changed = [k for k in after if k.startswith(("layer4.", "fc.")) and not torch.equal(after[k], start[k])]
    assert "fc.weight" in changed and any(k.startswith("layer4.") for k in changed)


def test_transfer_from_a_pretrained_checkpoint_to_other_classes(studio):
    pre_id, _ = train(studio, _spec({}, {"num_classes": 4}))
    path = str(best_checkpoint(studio, pre_id))
    pre, meta = load_checkpoint(path)
    assert meta["architecture"] == "images.resnet18" and pre["fc.weight"].shape[0] == 4
    params = {"weights": "file", "weights_file": path, "freeze": "backbone"}
    # built standalone (as the panel does to count parameters): the backbone is the checkpoint's, the head new
    from dlstudio.contract import DataInfo

    model = build_model(studio, "images.resnet18", params, DataInfo((3, 32, 32), ("a", "b"))).model
    assert torch.equal(model.layer2[0].conv1.weight, pre["layer2.0.conv1.weight"])
    assert model.fc.out_features == 2
    assert count_parameters(model)[0] == 512 * 2 + 2
    run_id, ended = train(studio, _spec(params, {"num_classes": 2}))
    assert ended.status == "completed"
    final, _ = load_checkpoint(studio.store.artifacts(run_id)["final"][0])
    assert final["fc.weight"].shape == (2, 512)
    assert torch.equal(final["layer4.1.conv2.weight"], pre["layer4.1.conv2.weight"])
