"""`torch.nn.modules.pixelshuffle`'s classes: tinyconv.nn's, under PyTorch's module path."""

from .. import (
    PixelShuffle,
    PixelUnshuffle,
)

__all__ = [
    "PixelShuffle",
    "PixelUnshuffle",
]
