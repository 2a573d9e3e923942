"""`torch.nn.modules.normalization`'s classes: tinyconv.nn's, under PyTorch's module path."""

from .. import (
    GroupNorm,
    LayerNorm,
    LocalResponseNorm,
    RMSNorm,
)

__all__ = [
    "GroupNorm",
    "LayerNorm",
    "LocalResponseNorm",
    "RMSNorm",
]
