"""`tinyconv.nn.utils.memory_format`, as torch.nn.utils.memory_format: lay a model's
convolution weights out in a memory format (channels_last for 4-D, channels_last_3d for 5-D),
their values unchanged."""

from __future__ import annotations

from typing import Any

from ..layers import Conv2d, ConvTranspose2d
from ..layers_3d import Conv3d, ConvTranspose3d
from ..module import Module

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def _convert(module: Module, kinds: tuple, memory_format: Any) -> Module:
    if isinstance(module, kinds):
        # (PyTorch also resizes the copy to its own size in the format: no change here)
        module.weight.data = module.weight.detach().clone(memory_format=memory_format)
    for child in module.children():
        _convert(child, kinds, memory_format)
    return module


def convert_conv2d_weight_memory_format(module: Module, memory_format: Any) -> Module:
    """Every Conv2d's and ConvTranspose2d's weight in `module` (itself included), laid out in
    memory_format; returns module."""
    return _convert(module, (Conv2d, ConvTranspose2d), memory_format)


def convert_conv3d_weight_memory_format(module: Module, memory_format: Any) -> Module:
    """Every Conv3d's and ConvTranspose3d's weight in `module` (itself included), laid out in
    memory_format; returns module."""
    return _convert(module, (Conv3d, ConvTranspose3d), memory_format)
