"""3-D layers (PyTorch's arguments, reprs, default init and state-dict keys) for volumes and
video: Conv3d, ConvTranspose3d and their lazy forms, MaxPool3d, AvgPool3d, AdaptiveAvgPool3d,
AdaptiveMaxPool3d; the 2-D layers' code (layers.py) in three spatial dims, calling the F.*3d
ops."""

from __future__ import annotations

from .layers import (
    _AdaptiveAvgPoolNd,
    _AdaptiveMaxPoolNd,
    _AvgPoolNd,
    _Conv,
    _ConvTranspose,
    _LazyConv,
    _MaxPoolNd,
    _MaxUnpoolNd,
)
from .layers_gaps import _LazyConvTranspose


class MaxUnpool3d(_MaxUnpoolNd):
    """max_pool3d's partial inverse (F.max_unpool3d); options kept as triples, as PyTorch."""

    _dims = 3


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


class MaxPool3d(_MaxPoolNd):
    """Max pooling over `(N, C, D, H, W)` or `(C, D, H, W)` (F.max_pool3d)."""

    _dims = 3


class AvgPool3d(_AvgPoolNd):
    """Average pooling over `(N, C, D, H, W)` or `(C, D, H, W)` (F.avg_pool3d)."""

    __constants__ = [*_AvgPoolNd.__constants__, "divisor_override"]

    _dims = 3


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Average-pool `(N, C, D, H, W)` to a fixed output size (F.adaptive_avg_pool3d)."""

    _dims = 3


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
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
