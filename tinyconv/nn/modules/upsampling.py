"""`torch.nn.modules.upsampling`'s classes: tinyconv.nn's, under PyTorch's module path."""

from .. import (
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)

__all__ = [
    "Upsample",
    "UpsamplingBilinear2d",
    "UpsamplingNearest2d",
]
