import numpy as np
import pytest
import torch
from PIL import Image

from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.inputs import (
    expected_input,
    guess_input_shape,
    load_input_file,
    parse_shape,
    tensor_to_image,
)
from dlstudio_inspector.sources import open_registered


def test_an_image_file_becomes_a_normalised_batch_of_the_models_size(studio, tmp_path):
    opened = open_registered(studio, "tiny.cnn")
    Image.new("RGB", (50, 40), (255, 128, 0)).save(tmp_path / "a.png")
    x = load_input_file(tmp_path / "a.png", opened.model, opened.data)
    assert x.shape == (1, 3, 32, 32) and x.dtype == torch.float32
    assert float(x[0, 0].mean()) == pytest.approx((1 - 0.5) / 0.25)  # the data's mean/std are applied
    image = tensor_to_image(x, opened.data)
    assert image.shape == (32, 32, 3) and image[0, 0, 0] == pytest.approx(1.0)


def test_npy_and_token_files(studio, tmp_path):
    rnn = open_registered(studio, "tiny.rnn")
    (tmp_path / "ids.txt").write_text("1 2 3 4 5")
    x = load_input_file(tmp_path / "ids.txt", rnn.model, rnn.data)
    assert x.dtype == torch.int64 and x.tolist() == [[1, 2, 3, 4, 5]]
    np.save(tmp_path / "ids.npy", np.arange(12))
    assert load_input_file(tmp_path / "ids.npy", rnn.model, rnn.data).shape == (1, 12)
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    with pytest.raises(InspectorError, match="takes token ids"):
        load_input_file(tmp_path / "a.png", rnn.model, rnn.data)
    (tmp_path / "bad.png").write_bytes(b"no image")
    cnn = open_registered(studio, "tiny.cnn")
    with pytest.raises(InspectorError, match="not a readable image"):
        load_input_file(tmp_path / "bad.png", cnn.model, cnn.data)
    with pytest.raises(InspectorError, match="use an image"):
        load_input_file(tmp_path / "ids.txt", cnn.model, cnn.data)


def test_what_a_model_expects(studio):
    cnn = open_registered(studio, "tiny.cnn")
    assert "Conv2d with 3 input channels" in expected_input(cnn.model, cnn.data)
    rnn = open_registered(studio, "tiny.rnn")
    assert "token ids in [0, 50)" in expected_input(rnn.model, rnn.data)
    assert guess_input_shape(torch.nn.Sequential(torch.nn.Linear(7, 2))) == (7,)
    assert guess_input_shape(torch.nn.Sequential(torch.nn.Conv1d(5, 2, 3))) == (5, 128)
    assert parse_shape("3x224x224") == (3, 224, 224)
    with pytest.raises(InspectorError):
        parse_shape("3,-1")
