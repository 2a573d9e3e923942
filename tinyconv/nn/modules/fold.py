"""`torch.nn.modules.fold`'s classes: tinyconv.nn's, under PyTorch's module path."""

from .. import (
    Fold,
    Unfold,
)

__all__ = [
    "Fold",
    "Unfold",
]
