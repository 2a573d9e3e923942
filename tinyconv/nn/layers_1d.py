"""1-D layers (PyTorch's arguments, reprs and state-dict keys): Conv1d, ConvTranspose1d,
MaxPool1d, MaxUnpool1d, AvgPool1d, AdaptiveAvgPool1d, AdaptiveMaxPool1d. Each calls its F.*1d
op, which runs the 2-D one on a height-1 image."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .layers import (
    _AdaptiveAvgPoolNd,
    _AdaptiveMaxPoolNd,
    _AvgPoolNd,
    _Conv,
    _ConvTranspose,
    _MaxPoolNd,
    _MaxUnpoolNd,
)


def _single(v: Any) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


class Conv1d(_Conv):
    """1-D convolution layer: weight `(out, in/groups, k)`, input `(N, C, L)` or `(C, L)`."""

    _dims = 1


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-D convolution layer: weight `(in, out/groups, k)`."""

    _dims = 1


class MaxPool1d(_MaxPoolNd):
    """Max pooling along L of `(N, C, L)` or `(C, L)` (F.max_pool1d)."""

    _dims = 1


class MaxUnpool1d(_MaxUnpoolNd):
    """max_pool1d's partial inverse (F.max_unpool1d); options kept as 1-tuples, as PyTorch."""

    _dims = 1


class AvgPool1d(_AvgPoolNd):
    """Average pooling along L of `(N, C, L)` or `(C, L)` (F.avg_pool1d; no divisor_override)."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        # (past _AvgPoolNd's __init__, the 2-D and 3-D one: no divisor_override here)
        super(_AvgPoolNd, self).__init__()
        # PyTorch keeps these as 1-tuples (its repr shows kernel_size=(2,))
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Average-pool `(N, C, L)` to a fixed output length (F.adaptive_avg_pool1d)."""

    _dims = 1


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max-pool `(N, C, L)` to a fixed output length (F.adaptive_max_pool1d)."""

    _dims = 1
