"""More of torch.nn's modules: LPPool1d/2d, Bilinear, Softmax2d, TripletMarginWithDistanceLoss,
the lazy Conv1d/ConvTranspose1d/ConvTranspose2d/InstanceNorm modules, and nn.Buffer. Each is a
thin shell over nn.functional (PyTorch's constructor arguments, attributes and reprs)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .._errors import TensorValueError
from ..creation import empty
from ..tensor import Tensor
from . import functional as F
from . import init
from .layers import (
    ConvTranspose2d,
    _lazy_size,
    _LazyConv,
    _LazyConvXdMixin,
    _LazyNormBase,
    _Loss,
    _Pool,
)
from .layers_1d import Conv1d, ConvTranspose1d
from .layers_extra import PairwiseDistance
from .layers_norm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, _InstanceNorm
from .module import Module, Parameter, _factory_dtype


class _LPPoolNd(_Pool):
    """LPPool1d/2d/3d (PyTorch's base): (sum over each window of x^p)^(1/p)."""

    __constants__ = ["norm_type", "kernel_size", "stride", "ceil_mode"]
    _repr_keys = ("norm_type", "kernel_size", "stride", "ceil_mode")

    def __init__(
        self, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
    ) -> None:
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode


class LPPool1d(_LPPoolNd):
    """(sum over each window of x^p)^(1/p) along L of `(N, C, L)` or `(C, L)` input."""

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool1d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class LPPool2d(_LPPoolNd):
    """(sum over each window of x^p)^(1/p) of `(N, C, H, W)` or `(C, H, W)` input."""

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool2d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class LPPool3d(_LPPoolNd):
    """(sum over each window of x^p)^(1/p) of `(N, C, D, H, W)` or `(C, D, H, W)` input."""

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool3d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class Bilinear(Module):
    """y = x1^T A x2 + b: weight `(out, in1, in2)`, inputs `(*, in1)` and `(*, in2)`."""

    __constants__ = ["in1_features", "in2_features", "out_features"]

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        dt = _factory_dtype(device, dtype, "Bilinear()")
        for n, v in (
            ("in1_features", in1_features),
            ("in2_features", in2_features),
            ("out_features", out_features),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise TensorValueError(f"Bilinear: {n} must be a non-negative integer, got {v!r}")
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in1_features, in2_features, dtype=dt))
        self.bias = Parameter(empty(out_features, dtype=dt)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: weight and bias uniform in +-1/sqrt(in1_features)."""
        bound = 1 / math.sqrt(self.weight.shape[1]) if self.weight.shape[1] else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


class Softmax2d(Module):
    """Softmax over the channels (dim -3) of `(N, C, H, W)` or `(C, H, W)` input."""

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor) or input.ndim not in (3, 4):
            got = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise TensorValueError(f"Softmax2d: expected a 3-D or 4-D input, got {got}")
        return F.softmax(input, -3)


class TripletMarginWithDistanceLoss(_Loss):
    """max(0, margin + d(a, p) - d(a, n)) with any distance function d (pairwise_distance by
    default, kept as the submodule `distance_function`, as PyTorch)."""

    __constants__ = ["margin", "swap", "reduction"]

    def __init__(
        self,
        *,
        distance_function: Callable | None = None,
        margin: float = 1.0,
        swap: bool = False,
        reduction: str = "mean",
    ) -> None:
        super().__init__(None, None, reduction)
        if margin <= 0:
            raise TensorValueError(
                f"TripletMarginWithDistanceLoss: margin must be greater than 0, got {margin}"
            )
        self.distance_function = (
            distance_function if distance_function is not None else PairwiseDistance()
        )
        self.margin, self.swap = margin, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_with_distance_loss(
            anchor,
            positive,
            negative,
            distance_function=self.distance_function,
            margin=self.margin,
            swap=self.swap,
            reduction=self.reduction,
        )


# -- lazy modules: the in-size is read from the first input ---------------------------------


class LazyConv1d(_LazyConv, Conv1d):
    """Conv1d whose in_channels is read from the first input (`(N, C, L)` or `(C, L)`)."""

    cls_to_become = Conv1d


class _LazyConvTranspose(_LazyConvXdMixin):
    """A lazy ConvTranspose1d/2d/3d: the real module's arguments but in_channels."""

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            groups,
            out_channels,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            bias,
            dilation,
            padding_mode,
            device,
            dtype,
        )
        self.in_channels = 0


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """ConvTranspose1d whose in_channels is read from the first input."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """ConvTranspose2d whose in_channels is read from the first input."""

    cls_to_become = ConvTranspose2d


class _LazyInstanceNorm(_LazyNormBase, _InstanceNorm):
    def _get_no_batch_dim(self) -> int:
        return self.cls_to_become._get_no_batch_dim(self)

    def _channels(self, input: Tensor) -> int:
        cls, name = self.cls_to_become, type(self).__name__
        s = cls._spatial
        if isinstance(input, Tensor) and input.ndim == s + 1:
            # PyTorch reads dim 1 of an unbatched input too, and then refuses it
            raise TensorValueError(
                f"{name}: the first call needs a batched {s + 2}-D (N, C, ...) input to read "
                f"num_features from, got shape {tuple(input.shape)}"
            )
        return _lazy_size(input, 1, (s + 2,), name, cls._shape_names)


class LazyInstanceNorm1d(_LazyInstanceNorm):
    """InstanceNorm1d whose num_features is read from the channels of the first input."""

    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyInstanceNorm):
    """InstanceNorm2d whose num_features is read from the channels of the first input."""

    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyInstanceNorm):
    """InstanceNorm3d whose num_features is read from the channels of the first input."""

    cls_to_become = InstanceNorm3d
