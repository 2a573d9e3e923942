"""Layers that resample or rearrange the spatial dims (PyTorch's arguments and reprs):
Upsample, UpsamplingNearest2d, UpsamplingBilinear2d, Unfold, Fold. Each calls
tinyconv.nn.functional."""

from __future__ import annotations

import builtins
from typing import Any

from .._errors import TensorValueError
from ..tensor import Tensor
from . import functional as F
from .module import Module


class _UnsupportedRankError(builtins.NotImplementedError, TensorValueError):
    """An input rank interpolate has no mode for: PyTorch raises NotImplementedError, tinyconv
    raised ValueError, and this is both."""

    def __reduce__(self) -> tuple:
        return (builtins.NotImplementedError, self.args)


_UnsupportedRankError.__name__ = _UnsupportedRankError.__qualname__ = "NotImplementedError"
_UnsupportedRankError.__module__ = "builtins"


class Upsample(Module):
    """Resize `(N, C, *spatial)` input to `size` or by `scale_factor` (F.interpolate)."""

    __constants__ = [
        "size",
        "scale_factor",
        "mode",
        "align_corners",
        "name",
        "recompute_scale_factor",
    ]

    def __init__(
        self,
        size: Any = None,
        scale_factor: Any = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        if isinstance(input, Tensor) and input.ndim not in (3, 4, 5):
            raise _UnsupportedRankError(
                f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) "
                "for the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | "
                f"area | nearest-exact (got {self.mode}); {self.name} takes (N, C, d1, ...) "
                f"input with 1 to 3 spatial dims, got shape {tuple(input.shape)}"
            )
        return F.interpolate(
            input,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            recompute_scale_factor=self.recompute_scale_factor,
        )

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Upsample with mode='nearest', for `(N, C, H, W)` input."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Upsample with mode='bilinear' and align_corners=True, for `(N, C, H, W)` input."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class Unfold(Module):
    """The sliding windows of `(N, C, H, W)` input as columns `(N, C * kh * kw, L)` (F.unfold)."""

    __constants__ = ["kernel_size", "dilation", "padding", "stride"]

    def __init__(
        self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
    ) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = (
            kernel_size,
            dilation,
            padding,
            stride,
        )

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
            f"padding={self.padding}, stride={self.stride}"
        )


class Fold(Module):
    """Columns `(N, C * kh * kw, L)` summed back into an image `(N, C, *output_size)`
    (F.fold)."""

    __constants__ = ["output_size", "kernel_size", "dilation", "padding", "stride"]

    def __init__(
        self,
        output_size: Any,
        kernel_size: Any,
        dilation: Any = 1,
        padding: Any = 0,
        stride: Any = 1,
    ) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(
            input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride
        )

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
            f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
        )
