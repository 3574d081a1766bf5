import pytest
import torch

from dlstudio.contract import DataInfo
from dlstudio_images.models import book
from dlstudio_images.models.params import BOOK_DEFAULTS
from dlstudio_images.models.transfer import count_parameters

DIGITS = DataInfo((1, 28, 28), tuple("0123456789"))


def test_the_mnist_net_has_the_books_21840_parameters():
    net = book.build("mnist_net", BOOK_DEFAULTS, DIGITS)
    assert count_parameters(net) == (21840, 0)
    out = net(torch.randn(3, 1, 28, 28))
    assert out.shape == (3, 10)
    assert torch.allclose(out.exp().sum(1), torch.ones(3), atol=1e-5)  # log_softmax, as in the book


def test_the_dogs_vs_cats_net_flattens_to_56180_at_224():
    net = book.DogsCatsNet(3, 2, 224)
    assert net.fc1.in_features == 56180
    assert [net.fc1.out_features, net.fc2.out_features, net.fc3.out_features] == [500, 50, 2]
    assert net(torch.randn(1, 3, 224, 224)).shape == (1, 2)


def test_too_small_images_are_refused():
    with pytest.raises(ValueError, match="at least 16"):
        book.build("mnist_net", BOOK_DEFAULTS, DataInfo((1, 12, 12), ("a", "b")))
