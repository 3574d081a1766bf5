"""A digits CNN trained through the real runner, shared by the inspector tests that measure a trained model
(attribution, feature visualisation)."""

import torch

import dlstudio_images.plugin as images_plugin
from dlstudio_images.evaluate import evaluate_checkpoint
from tests.plugins.images.factory import best_checkpoint, train

DIGITS = {"model": {"id": "images.mnist_net", "params": {"dropout": 0.1}},
          "data": {"id": "images.digits", "params": {"size": 28}},
          "train": {"epochs": 3, "batch_size": 64, "optimizer": "adam", "lr": 0.01}}


def train_digits(home):
    """The evaluation of the best checkpoint of a 3-epoch digits run in ``home`` (its model in eval mode),
    trained on one thread."""
    from dlstudio.plugins import module_candidate
    from dlstudio.studio import Studio

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        studio = Studio.open(home, [module_candidate("images", images_plugin)])
        run_id, _ended = train(studio, DIGITS)
        result = evaluate_checkpoint(studio, best_checkpoint(studio, run_id))
    finally:
        torch.set_num_threads(threads)
    result.model.eval()
    return result
