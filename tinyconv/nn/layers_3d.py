"""3-D layers (PyTorch's arguments, reprs, default init and state-dict keys) for volumes and
video: Conv3d, ConvTranspose3d and their lazy forms; the 2-D layers' code (layers.py) in three
spatial dims, calling F.conv3d and F.conv_transpose3d."""

from __future__ import annotations

from .layers import _Conv, _ConvTranspose, _LazyConv
from .layers_gaps import _LazyConvTranspose


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


__all__ = ["Conv3d", "ConvTranspose3d", "LazyConv3d", "LazyConvTranspose3d"]
