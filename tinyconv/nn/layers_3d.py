"""3-D layers (PyTorch's arguments, reprs, default init and state-dict keys) for volumes and
video: Conv3d, ConvTranspose3d and their lazy forms, MaxPool3d, AvgPool3d, AdaptiveAvgPool3d,
AdaptiveMaxPool3d; the 2-D layers' code (layers.py) in three spatial dims, calling the F.*3d
ops."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .layers import MaxUnpool2d as _MaxUnpool2d
from .layers import (
    _AdaptiveAvgPool,
    _AdaptiveMaxPool,
    _AvgPool,
    _Conv,
    _ConvTranspose,
    _LazyConv,
    _MaxPool,
)
from .layers_gaps import _LazyConvTranspose


def _triple(v: Any) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v, v)


class MaxUnpool3d(_MaxUnpool2d):
    """max_pool3d's partial inverse (F.max_unpool3d); options kept as triples, as PyTorch."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__(kernel_size, stride, padding)
        self.kernel_size = _triple(kernel_size)
        self.stride = _triple(stride if stride is not None else kernel_size)
        self.padding = _triple(padding)

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return F.max_unpool3d(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )


class Conv3d(_Conv):
    """3-D convolution layer: weight `(out, in/groups, kD, kH, kW)`, input `(N, C, D, H, W)` or
    `(C, D, H, W)`."""

    _dims = 3


class ConvTranspose3d(_ConvTranspose):
    """Transposed 3-D convolution layer: weight `(in, out/groups, kD, kH, kW)`; forward takes
    an optional `output_size` (the last three sizes are used), as PyTorch's."""

    _dims = 3


class LazyConv3d(_LazyConv, Conv3d):
    """Conv3d whose in_channels is read from the first input (`(N, C, D, H, W)` or
    `(C, D, H, W)`)."""

    cls_to_become = Conv3d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """ConvTranspose3d whose in_channels is read from the first input."""

    cls_to_become = ConvTranspose3d


class MaxPool3d(_MaxPool):
    """Max pooling over `(N, C, D, H, W)` or `(C, D, H, W)` (F.max_pool3d)."""

    _dims = 3


class AvgPool3d(_AvgPool):
    """Average pooling over `(N, C, D, H, W)` or `(C, D, H, W)` (F.avg_pool3d)."""

    _dims = 3


class AdaptiveAvgPool3d(_AdaptiveAvgPool):
    """Average-pool `(N, C, D, H, W)` to a fixed output size (F.adaptive_avg_pool3d)."""

    _dims = 3


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    """Max-pool `(N, C, D, H, W)` to a fixed output size (F.adaptive_max_pool3d)."""

    _dims = 3


__all__ = [
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool3d",
    "AvgPool3d",
    "Conv3d",
    "ConvTranspose3d",
    "LazyConv3d",
    "LazyConvTranspose3d",
    "MaxPool3d",
]
