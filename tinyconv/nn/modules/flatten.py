"""`torch.nn.modules.flatten`'s classes: tinyconv.nn's, under PyTorch's module path."""

from .. import (
    Flatten,
    Unflatten,
)

__all__ = [
    "Flatten",
    "Unflatten",
]
