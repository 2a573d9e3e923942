"""`torch.nn.modules.instancenorm`'s classes: tinyconv.nn's, under PyTorch's module path."""

from .. import (
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    LazyInstanceNorm1d,
    LazyInstanceNorm2d,
    LazyInstanceNorm3d,
)
from ..layers import _LazyNormBase, _NormBase
from ..layers_norm import _InstanceNorm

__all__ = [
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "_InstanceNorm",
    "_LazyNormBase",
    "_NormBase",
]
