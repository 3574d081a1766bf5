"""Transfer learning on any ``nn.Module``: load weights from a file, replace the head, adapt the input
channels, freeze up to a block (frozen parts stay in eval mode), count trainable and frozen parameters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dlstudio.runs import CheckpointError, apply_weights, load_weights

#: Keys named in a message about weights that do not fit, per kind (the rest are counted).
LISTED_KEYS = 5


@dataclass
class TransferWeights:
    """A weights file to start from, and what it is known to hold."""

    path: str
    state: dict[str, torch.Tensor]
    #: The architecture the file's sidecar names (None for a bare state dict).
    saved_as: str | None
    #: The registered model being built from it.
    architecture: str

    def size(self, key: str, dim: int, default: int) -> int:
        """Size ``dim`` of the file's tensor ``key`` (a head's class count, the input channels), else ``default``."""
        tensor = self.state.get(key)
        return int(tensor.shape[dim]) if tensor is not None and tensor.dim() > dim else default

    def load_into(self, model: nn.Module) -> None:
        """Give ``model`` the file's weights, or refuse naming both architectures and the keys that differ."""
        state = with_bn_counters(model, self.state)
        misfit = describe_misfit(model.state_dict(), state)
        if self.saved_as and self.saved_as != self.architecture:
            raise CheckpointError(
                f"{self.path} is a checkpoint of {self.saved_as}; the model is {self.architecture}"
                + (f": {misfit}" if misfit else "")
                + f". Choose {self.saved_as} as the model, or a weights file saved from {self.architecture}")
        if misfit:
            raise CheckpointError(f"the weights in {self.path} do not fit {self.architecture}: {misfit}. Choose the "
                                  "architecture they were saved from, or a weights file of this one")
        apply_weights(model, state, source=self.path)


def load_transfer_state(path: str, architecture: str) -> TransferWeights:
    """The tensors of a checkpoint or state dict to start ``architecture`` from (checked when loaded into it)."""
    state, meta = load_weights(path)
    return TransferWeights(str(path), dict(state), meta.get("architecture"), architecture)


def describe_misfit(own: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]) -> str:
    """"7 missing keys (…), 102 unexpected keys (…), 1 of another shape (…)"; empty when ``state`` fits."""
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    reshaped = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    parts = []
    for items, label in ((missing, "missing keys"), (unexpected, "unexpected keys"), (reshaped, "of another shape")):
        if items:
            # Both ends of a long list: the first layers and the head say most about what the file is;
            # batch norm's step counters say nothing (they are still counted).
            named = [k for k in items if not k.endswith(".num_batches_tracked")] or items
            shown = named if len(named) <= LISTED_KEYS else [*named[:3], "…", *named[-2:]]
            parts.append(f"{len(items)} {label} ({', '.join(shown)})")
    return ", ".join(parts)


def with_bn_counters(model: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Files saved before PyTorch 0.4.1 (e.g. torchvision's DenseNet weights) lack batch norm's
    ``num_batches_tracked``; fill them in as ``load_state_dict`` itself would."""
    missing = {k: torch.tensor(0, dtype=torch.long) for k in model.state_dict()
               if k.endswith(".num_batches_tracked") and k not in state}
    return {**state, **missing} if missing else state


def get_module(model: nn.Module, path: str) -> nn.Module:
    return model.get_submodule(path)


def set_module(model: nn.Module, path: str, module: nn.Module) -> None:
    parent, _, name = path.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, name, module)


def replace_linear(model: nn.Module, path: str, num_classes: int) -> nn.Linear:
    """Swap the ``nn.Linear`` at ``path`` for a fresh one with ``num_classes`` outputs (if it differs)."""
    old = get_module(model, path)
    if not isinstance(old, nn.Linear):
        raise TypeError(f"{path} is a {type(old).__name__}, not a Linear layer")
    if old.out_features == num_classes:
        return old
    new = nn.Linear(old.in_features, num_classes)
    set_module(model, path, new)
    return new


def _head_dropout(module: nn.Module, args: tuple) -> tuple:
    return (F.dropout(args[0], module.head_dropout, training=module.training),)


def add_input_dropout(layer: nn.Module, p: float) -> None:
    """Dropout on a layer's input through a hook, so the state dict keeps torchvision's keys."""
    if p > 0:
        layer.head_dropout = p
        layer.register_forward_pre_hook(_head_dropout)


def first_conv(model: nn.Module) -> tuple[str, nn.Conv2d]:
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module
    raise TypeError(f"{type(model).__name__} has no Conv2d layer")


def adapt_input_channels(model: nn.Module, channels: int) -> None:
    """Make the first convolution take ``channels`` inputs; pretrained filters are summed or spread (as timm)."""
    name, conv = first_conv(model)
    if conv.in_channels == channels:
        return
    new = nn.Conv2d(channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    conv.groups, conv.bias is not None, conv.padding_mode)
    with torch.no_grad():
        w = conv.weight.sum(1, keepdim=True)  # [out, 1, k, k]
        new.weight.copy_(w.repeat(1, channels, 1, 1) / channels)
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    set_module(model, name, new)


def _stay_in_eval(module: nn.Module, args: tuple) -> None:
    if module.training:
        module.eval()


def keep_frozen_in_eval(model: nn.Module) -> list[str]:
    """Frozen parts keep batch-norm statistics and skip dropout, as in a feature extractor.

    Each outermost submodule whose parameters are all frozen gets a hook putting it back in eval mode
    before its forward pass, whatever ``model.train()`` says. Returns their names.
    """
    names: list[str] = []

    def visit(prefix: str, module: nn.Module) -> None:
        for name, child in module.named_children():
            full = f"{prefix}{name}"
            params = list(child.parameters())
            if params and not any(p.requires_grad for p in params):
                child.register_forward_pre_hook(_stay_in_eval)
                names.append(full)
            elif params:
                visit(f"{full}.", child)

    visit("", model)
    return names


def freeze(model: nn.Module, frozen: Iterable[str]) -> list[str]:
    """Freeze the submodules named in ``frozen``; returns the outermost frozen modules' names."""
    for path in frozen:
        for p in get_module(model, path).parameters():
            p.requires_grad_(False)
    return keep_frozen_in_eval(model)


def freeze_all_but(model: nn.Module, trainable: Iterable[str]) -> list[str]:
    """Freeze every parameter outside the submodules named in ``trainable``."""
    keep = tuple(f"{t}." for t in trainable)
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(keep))
    return keep_frozen_in_eval(model)


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, frozen) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total - trainable
