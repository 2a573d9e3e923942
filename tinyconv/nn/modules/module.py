"""`torch.nn.modules.module`'s classes: tinyconv.nn's, under PyTorch's module path."""

from .. import (
    Module,
)

__all__ = [
    "Module",
]
