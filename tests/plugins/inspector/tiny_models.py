"""A test plugin registering small models for the inspector's tests (no dependency on the image plugin)."""

import torch
import torchvision
from torch import nn
from torch.nn import functional as F

from dlstudio import hookimpl
from dlstudio.contract import DataInfo, FamilySpec, ModelSpec

DLSTUDIO_CONTRACT = 2
__version__ = "0.0.1"

IMAGE = DataInfo(input_shape=(3, 32, 32), classes=tuple(f"c{i}" for i in range(4)), input_kind="image",
                 extra={"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]})
TOKENS = DataInfo(input_shape=(12,), classes=("neg", "pos", "unk"), input_kind="tokens", extra={"vocab_size": 50})
IMAGENET_64 = DataInfo(input_shape=(3, 64, 64), classes=tuple(f"k{i}" for i in range(1000)))


class BookNet(nn.Module):
    """The book's chapter-5 CNN, for 3-channel 32 px images."""

    def __init__(self, classes: int, hidden: int = 50) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(20 * 5 * 5, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(x.size(0), -1)
        x = F.dropout(F.relu(self.fc1(x)), training=self.training)
        return F.log_softmax(self.fc2(x), dim=1)


class TextRnn(nn.Module):
    """The book's IMDBRnn, small: embedding → 2-layer LSTM → last step → linear."""

    def __init__(self, vocab: int, classes: int, hidden: int = 16) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden)
        self.rnn = nn.LSTM(hidden, hidden, num_layers=2)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        e = self.embedding(x).transpose(0, 1)
        out, _hidden = self.rnn(e)
        return F.log_softmax(self.fc(out[-1]), dim=-1)


def build_cnn(params, info):
    return BookNet(info.num_classes, params["hidden"])


def build_rnn(params, info):
    return TextRnn(int(info.extra.get("vocab_size", 50)), info.num_classes, params["hidden"])


def build_resnet(params, info):
    return torchvision.models.resnet18(weights=None, num_classes=info.num_classes)


@hookimpl
def dlstudio_register_families(register):
    register(FamilySpec(id="tiny", title="Tiny"))


@hookimpl
def dlstudio_register_models(register):
    register(ModelSpec(id="tiny.cnn", title="Book CNN", build=build_cnn, family="tiny", defaults={"hidden": 50},
                       default_data=IMAGE))
    register(ModelSpec(id="tiny.rnn", title="Text LSTM", build=build_rnn, family="tiny", defaults={"hidden": 16},
                       default_data=TOKENS))
    register(ModelSpec(id="tiny.resnet18", title="ResNet-18", build=build_resnet, family="tiny",
                       default_data=IMAGENET_64))


def unsupported_model() -> nn.Module:
    """A model the ONNX exporter cannot translate (SVD has no ONNX operator)."""

    class SvdNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return torch.linalg.svdvals(self.fc(x).reshape(-1, 2, 2))

    return SvdNet().eval()
