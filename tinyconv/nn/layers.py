"""Layers: thin Modules that hold parameters and call tinyconv.nn.functional."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .. import _dtype
from .._errors import TensorValueError
from ..autograd import grad_mode
from ..creation import empty, ones, tensor, zeros
from ..tensor import Tensor
from . import functional as F
from . import init
from .functional._checks import _ntuple as _check_ntuple
from .functional.conv import _conv_padding
from .module import Module, Parameter


def _pair(v: Any) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


class _ConvNd(Module):
    _dims = 2  # the spatial rank _check_sizes reads the options with (Conv3d: 3)

    def _init_params(self, weight_shape: tuple, bias: bool, dtype: Any) -> None:
        dt = _dtype.get_default_dtype() if dtype is None else _dtype.as_dtype(dtype)
        self.weight = Parameter(empty(weight_shape, dtype=dt))
        self.bias = Parameter(empty(self.out_channels, dtype=dt)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: weight and bias uniform in +-1/sqrt(fan_in)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _check_channels(self, in_channels: int, out_channels: int, groups: int) -> None:
        name = type(self).__name__
        for n, v in (
            ("in_channels", in_channels),
            ("out_channels", out_channels),
            ("groups", groups),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise TensorValueError(f"{name}: {n} must be a positive integer, got {v!r}")
        if in_channels % groups:
            raise TensorValueError(
                f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})"
            )
        if out_channels % groups:
            raise TensorValueError(
                f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})"
            )

    def _check_sizes(self, **sizes: Any) -> None:
        """kernel_size, stride, dilation >= 1; padding (unless a string) and output_padding >= 0."""
        for n, v in sizes.items():
            if not (n == "padding" and isinstance(v, str)):
                _check_ntuple(
                    v, self._dims, n, type(self).__name__, 0 if n.endswith("padding") else 1
                )

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple:
        """A transposed convolution's output_padding: the module's, or the one that gives
        `output_size` (its last spatial sizes), checked to be reachable."""
        if output_size is None:
            return self.output_padding
        n = len(self.kernel_size)
        target = tuple(output_size)[-n:]
        base = [
            (input.shape[-n + i] - 1) * self.stride[i]
            - 2 * self.padding[i]
            + self.dilation[i] * (self.kernel_size[i] - 1)
            + 1
            for i in range(n)
        ]
        for t, b, s, d in zip(target, base, self.stride, self.dilation, strict=False):
            if not b <= t < b + max(s, d):
                raise TensorValueError(
                    f"{type(self).__name__}: output_size {tuple(output_size)} can't be reached "
                    f"from input shape {tuple(input.shape)}: each output side must be in [{b}, "
                    f"{b + max(s, d) - 1}] (stride {self.stride}, padding {self.padding}, "
                    f"kernel_size {self.kernel_size})"
                )
        return tuple(t - b for t, b in zip(target, base, strict=False))

    def extra_repr(self) -> str:
        zeros, ones = (0,) * len(self.kernel_size), (1,) * len(self.kernel_size)  # any rank
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != zeros:  # ('valid' and 'same' show too, as PyTorch's)
            s += f", padding={self.padding}"
        if getattr(self, "output_padding", zeros) != zeros:
            s += f", output_padding={self.output_padding}"
        if self.dilation != ones:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if getattr(self, "padding_mode", "zeros") != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


def _ntuple(v: Any, n: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class _Conv(_ConvNd):
    """Conv2d and Conv3d: the same arguments, checks and padding modes, in 2 or 3 spatial
    dims (`_dims`), calling F.conv2d or F.conv3d."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name, n = f"Conv{self._dims}d", self._dims
        self._check_channels(in_channels, out_channels, groups)
        self._check_sizes(
            kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation
        )
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise TensorValueError(
                f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or "
                f"'circular', got {padding_mode!r}"
            )
        if isinstance(padding, str) and padding not in ("valid", "same"):
            kind = "a pair" if n == 2 else "a triple"
            raise TensorValueError(
                f"{name}: padding must be an int, {kind}, 'valid' or 'same', got {padding!r}"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _ntuple(kernel_size, n), _ntuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, n)
        self.dilation, self.groups, self.padding_mode = _ntuple(dilation, n), groups, padding_mode
        if padding == "same" and self.stride != (1,) * n:
            raise TensorValueError(
                f"{name}: padding='same' needs stride 1, got stride={self.stride}"
            )
        self._init_params((out_channels, in_channels // groups) + self.kernel_size, bias, dtype)

    def forward(self, input: Tensor) -> Tensor:
        conv = getattr(F, f"conv{self._dims}d")
        if self.padding_mode == "zeros":
            return conv(
                input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
            )
        # Other modes pad explicitly first (F.pad takes the last axis's pair first), then
        # convolve unpadded; the pads ('same' included) come from the one place conv2d computes
        # them.
        pads = _conv_padding(
            self.padding, self.kernel_size, self.dilation, self.stride, f"Conv{self._dims}d"
        )
        x = F.pad(input, tuple(v for p in reversed(pads) for v in p), mode=self.padding_mode)
        return conv(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class Conv2d(_Conv):
    """2-D convolution layer: weight `(out, in/groups, kH, kW)`, input `(N, C, H, W)`."""


class _ConvTranspose(_ConvNd):
    """ConvTranspose2d and ConvTranspose3d: the same arguments and checks in 2 or 3 spatial
    dims (`_dims`), calling F.conv_transpose2d or F.conv_transpose3d."""

    def __init__(
        self,
        in_channels: int,
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
        super().__init__()
        n = self._dims
        self._check_channels(in_channels, out_channels, groups)
        self._check_sizes(
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            output_padding=output_padding,
            dilation=dilation,
        )
        if padding_mode != "zeros":
            raise TensorValueError(
                f"ConvTranspose{n}d: only padding_mode='zeros' is supported (as in PyTorch)"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _ntuple(kernel_size, n), _ntuple(stride, n)
        self.padding, self.output_padding = _ntuple(padding, n), _ntuple(output_padding, n)
        self.dilation, self.groups, self.padding_mode = _ntuple(dilation, n), groups, padding_mode
        # PyTorch computes fan_in from weight.shape[1] * prod(kernel_size) here too
        self._init_params((in_channels, out_channels // groups) + self.kernel_size, bias, dtype)

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        return getattr(F, f"conv_transpose{self._dims}d")(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
        )


class ConvTranspose2d(_ConvTranspose):
    """Transposed convolution layer: weight `(in, out/groups, kH, kW)`."""


class Linear(Module):
    """y = x W^T + b: weight `(out_features, in_features)`, input `(*, in_features)`."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        for n, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise TensorValueError(f"Linear: {n} must be a non-negative integer, got {v!r}")
        self.in_features, self.out_features = in_features, out_features
        dt = _dtype.get_default_dtype() if dtype is None else _dtype.as_dtype(dtype)
        self.weight = Parameter(empty(out_features, in_features, dtype=dt))
        self.bias = Parameter(empty(out_features, dtype=dt)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Identity(Module):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class ReLU(Module):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Softmax(Module):
    def __init__(self, dim: Any = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)


class _Pool(Module):
    def extra_repr(self) -> str:
        return ", ".join(f"{k}={getattr(self, k)}" for k in self._repr_keys)


class _MaxPool(_Pool):
    """MaxPool2d and MaxPool3d (`_dims`), calling F.max_pool2d or F.max_pool3d."""

    _dims = 2
    _repr_keys = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor) -> Any:
        return getattr(F, f"max_pool{self._dims}d")(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )


class MaxPool2d(_MaxPool):
    """Max pooling over `(N, C, H, W)` or `(C, H, W)` (F.max_pool2d)."""


class MaxUnpool2d(_Pool):
    """max_pool2d's partial inverse (F.max_unpool2d): values back at their indices, zeros
    elsewhere. The options are kept as pairs, as PyTorch keeps them."""

    _repr_keys = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride if stride is not None else kernel_size)
        self.padding = _pair(padding)

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return F.max_unpool2d(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )


class _AvgPool(_Pool):
    """AvgPool2d and AvgPool3d (`_dims`), calling F.avg_pool2d or F.avg_pool3d."""

    _dims = 2
    _repr_keys = ("kernel_size", "stride", "padding")

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: Any = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, f"avg_pool{self._dims}d")(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class AvgPool2d(_AvgPool):
    """Average pooling over `(N, C, H, W)` or `(C, H, W)` (F.avg_pool2d)."""


class _AdaptiveAvgPool(Module):
    """AdaptiveAvgPool2d and AdaptiveAvgPool3d (`_dims`)."""

    _dims = 2

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, f"adaptive_avg_pool{self._dims}d")(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _AdaptiveMaxPool(Module):
    """AdaptiveMaxPool2d and AdaptiveMaxPool3d (`_dims`)."""

    _dims = 2

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor) -> Any:
        pool = getattr(F, f"adaptive_max_pool{self._dims}d")
        return pool(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptiveAvgPool):
    """Average-pool `(N, C, H, W)` to a fixed output size (F.adaptive_avg_pool2d)."""


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Max-pool `(N, C, H, W)` to a fixed output size (F.adaptive_max_pool2d)."""


class FractionalMaxPool2d(Module):
    """Fractional max pooling of `(N, C, H, W)` (F.fractional_max_pool2d): kernel_size windows
    at pseudo-random places, to `output_size` or `output_ratio` (in (0, 1)) of the input."""

    def __init__(
        self,
        kernel_size: Any,
        output_size: Any = None,
        output_ratio: Any = None,
        return_indices: bool = False,
        _random_samples: Tensor | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _pair(output_size) if output_size is not None else None
        self.output_ratio = _pair(output_ratio) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise TensorValueError(
                "FractionalMaxPool2d requires specifying either an output size, or a pooling ratio"
            )
        if output_size is not None and output_ratio is not None:
            raise TensorValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise TensorValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input: Tensor) -> Any:
        return F.fractional_max_pool2d(
            input,
            self.kernel_size,
            self.output_size,
            self.output_ratio,
            self.return_indices,
            _random_samples=self._random_samples,
        )


class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise TensorValueError(f"Dropout: p must be between 0 and 1, got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class _Loss(Module):
    """Base of the loss modules: PyTorch's (size_average, reduce, reduction) arguments.

    size_average and reduce are PyTorch's deprecated spellings of reduction: when either is
    given they decide it, as PyTorch's _Reduction.legacy_get_string does (with its warning).
    """

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = F.losses._legacy_string(size_average, reduce)
        # (a bad reduction raises when the loss is computed, by the function, as in PyTorch,
        # whose modules store it unchecked)
        self.reduction = reduction


class MSELoss(_Loss):
    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        ignore_index: int = -100,
        reduce: Any = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)  # a buffer, as PyTorch: in state_dict, moved by .to
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_Loss):
    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        ignore_index: int = -100,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class BCELoss(_Loss):
    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


# -- normalization ---------------------------------------------------------------------------


def _affine_parameters(module: Module, affine: bool, bias: bool, shape: Any, dt: Any) -> None:
    """A norm layer's learnable scale (ones) and shift (zeros) of `shape`, or None for each,
    registered as PyTorch does (so state dicts and reprs agree)."""
    if affine:
        module.weight = Parameter(ones(shape, dtype=dt))
        if bias:
            module.bias = Parameter(zeros(shape, dtype=dt))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


class _NormBase(Module):
    """Shared by the batch and instance norms: learnable per-channel weight and bias, running
    statistics as buffers (PyTorch's arguments, state-dict keys and repr)."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise TensorValueError(
                f"{name}: num_features must be a positive integer (the number of channels), "
                f"got {num_features!r}"
            )
        if momentum is not None and not 0 <= momentum <= 1:
            raise TensorValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum!r}")
        if eps <= 0:
            raise TensorValueError(f"{name}: eps must be positive, got {eps!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dt = _dtype.get_default_dtype() if dtype is None else _dtype.as_dtype(dtype)
        _affine_parameters(self, affine, bias, num_features, dt)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dt))
            self.register_buffer("running_var", ones(num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=_dtype.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    # version 2 added num_batches_tracked; state dicts of version 1 (or without metadata)
    # lack it, and loading fills it in as PyTorch does
    _version = 2

    def _load_from_state_dict(
        self,
        state_dict: Any,
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: list,
        unexpected_keys: list,
        error_msgs: list,
    ) -> None:
        version = local_metadata.get("version")
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats and key not in state_dict:
            # an old checkpoint: keep the current count (PyTorch's rule), 0 if there is none
            state_dict[key] = (
                self.num_batches_tracked
                if self.num_batches_tracked is not None
                else tensor(0, dtype=_dtype.int64)
            )
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


def _count_batch(t: Tensor) -> None:
    """``t.add_(1)`` for the batch counter: the usual counter (a 0-d int64 tensor of its own,
    no graph) is bumped in place with its version, as add_ does, without add_'s general
    in-place path (~6 us of a ~60 us batch norm on MobileNet's small maps, once per layer)."""
    if (
        type(t) is Tensor
        and t._base is None
        and not t._requires_grad
        and type(t._data) is np.ndarray
        and t._data.dtype == np.int64
        and t._data.ndim == 0
    ):
        np.add(t._data, 1, out=t._data)
        t._vc[0] += 1
    else:
        t.add_(1)


class _BatchNorm(_NormBase):
    """Shared by BatchNorm1d/2d/3d: normalise with the batch's statistics per channel."""

    _ranks: tuple = ()
    _shape_names = ""

    def _check_input(self, input: Any) -> None:
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in self._ranks:
            raise TensorValueError(
                f"{name}: expected {self._shape_names} input, got a {input.ndim}-D input of "
                f"shape {tuple(input.shape)}"
            )
        if input.shape[1] != self.num_features:
            raise TensorValueError(
                f"{name}: input has {input.shape[1]} channels (dim 1 of shape "
                f"{tuple(input.shape)}) but the layer was built for "
                f"num_features={self.num_features}"
            )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        # PyTorch's rules: momentum=None means a cumulative average (factor 1 / batches seen);
        # in eval mode without running stats, the batch's own statistics are used.
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            _count_batch(self.num_batches_tracked)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of `(N, C)` or `(N, C, L)` input, per channel C."""

    _ranks = (2, 3)
    _shape_names = "a 2-D (N, C) or 3-D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of `(N, C, H, W)` input, per channel C."""

    _ranks = (4,)
    _shape_names = "a 4-D (N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalization of `(N, C, D, H, W)` input, per channel C."""

    _ranks = (5,)
    _shape_names = "a 5-D (N, C, D, H, W)"


class SyncBatchNorm(_BatchNorm):
    """Batch normalization whose statistics span every process of a data-parallel group.
    tinyconv runs one process (see `tinyconv.distributed`), so the statistics are this
    batch's, as PyTorch's SyncBatchNorm computes them on a CPU or with one process: the
    numbers of BatchNorm1d/2d/3d, for any input of 2 or more dims."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group: Any = None,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias
        )
        self.process_group = process_group

    def _check_input(self, input: Any) -> None:
        if isinstance(input, Tensor) and input.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {input.ndim}D input)")
        super()._check_input(input)

    _ranks = (2, 3, 4, 5, 6, 7, 8)
    _shape_names = "an (N, C, ...)"

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """`module` with every BatchNorm*d in it replaced by a SyncBatchNorm that holds the
        same weight, bias and running statistics (and the same training flag). A BatchNorm
        passed itself is replaced by the returned one; a container is kept, with its
        children replaced."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                process_group,
            )
            if module.affine:
                with grad_mode.no_grad():
                    out.weight = module.weight
                    out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out


# -- lazy modules: the input size is read from the first input ----------------------------------


class UninitializedParameter(Parameter):
    """A Parameter whose shape is not known yet. A lazy module materializes it at its first call:
    the same object then becomes an ordinary Parameter, so an optimizer made earlier still holds
    it."""

    __slots__ = ()

    def __new__(cls, requires_grad: bool = True, dtype: Any = None) -> UninitializedParameter:  # noqa: PYI034
        dt = _dtype.get_default_dtype() if dtype is None else _dtype.as_dtype(dtype)
        return super().__new__(cls, empty(0, dtype=dt), requires_grad)

    def __init__(self, requires_grad: bool = True, dtype: Any = None) -> None:
        pass

    def __deepcopy__(self, memo: dict) -> UninitializedParameter:
        p = UninitializedParameter(self._requires_grad, self._data.dtype)
        memo[id(self)] = p
        return p

    def materialize(self, shape: tuple) -> None:
        """Give the parameter its shape (values uninitialized: the module's reset_parameters
        fills them)."""
        self._data = empty(shape, dtype=self._data.dtype)._data
        self.__class__ = Parameter

    def _uninitialized(self, what: str) -> RuntimeError:
        return RuntimeError(
            f"{what}: this parameter of a lazy module (LazyConv2d, LazyLinear, ...) has no "
            "shape yet; it gets one at the module's first forward call"
        )

    @property
    def shape(self) -> Any:
        raise self._uninitialized("shape")

    def size(self, dim: Any = None) -> Any:
        raise self._uninitialized("size()")

    def numel(self) -> int:
        raise self._uninitialized("numel()")

    def __repr__(self) -> str:
        return "<UninitializedParameter>"

    __str__ = __repr__


class _LazyMixin:
    """A lazy module: its parameters are UninitializedParameters until the first call, which reads
    the input's size, materializes them, runs the real module's init, and turns the module into
    `cls_to_become` (so `type(m)` is Conv2d/Linear afterwards, as in PyTorch)."""

    cls_to_become: type

    def has_uninitialized_params(self) -> bool:
        return any(isinstance(p, UninitializedParameter) for p in self._parameters.values())

    def _materialize(self, input: Any) -> None:
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.has_uninitialized_params():
            if not args or not isinstance(args[0], Tensor):
                raise TypeError(
                    f"{type(self).__name__}: the first call must get the input Tensor, "
                    f"to read its size from"
                )
            with grad_mode.no_grad():
                self._materialize(args[0])
        self.__class__ = self.cls_to_become
        return self(*args, **kwargs)


def _lazy_size(input: Tensor, dim: int, ranks: tuple, name: str, shapes: str) -> int:
    if input.ndim not in ranks:
        raise TensorValueError(f"{name}: expected {shapes} input, got shape {tuple(input.shape)}")
    return input.shape[dim]


class _LazyConvBase(_LazyMixin):
    """A lazy convolution (plain or transposed, any spatial rank): in_channels is read from
    dim -(rank + 1) of the first input."""

    transposed = False

    def _init_params(self, weight_shape: tuple, bias: bool, dtype: Any) -> None:
        self.weight = UninitializedParameter(dtype=dtype)
        self.bias = UninitializedParameter(dtype=dtype) if bias else None

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params():
            super().reset_parameters()

    def _materialize(self, input: Tensor) -> None:
        name, n = type(self).__name__, len(self.kernel_size)
        dims = {1: "L", 2: "H, W", 3: "D, H, W"}[n]
        shapes = f"a {n + 1}-D (C, {dims}) or {n + 2}-D (N, C, ...)"
        c = _lazy_size(input, -(n + 1), (n + 1, n + 2), name, shapes)
        if c % self.groups:
            raise TensorValueError(
                f"{name}: the input has {c} channels (shape {tuple(input.shape)}), which is "
                f"not divisible by groups={self.groups}"
            )
        self.in_channels = c
        if self.transposed:
            shape = (c, self.out_channels // self.groups)
        else:
            shape = (self.out_channels, c // self.groups)
        self.weight.materialize(shape + self.kernel_size)
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()


class _LazyConv(_LazyConvBase):
    """A lazy Conv1d/Conv2d: the real module's arguments but in_channels."""

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        # the module's checks and attributes, in_channels = groups standing in until the first
        # call
        super().__init__(
            groups,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )
        self.in_channels = 0


class LazyConv2d(_LazyConv, Conv2d):
    """Conv2d whose in_channels is read from the first input (`(N, C, H, W)` or `(C, H, W)`)."""

    cls_to_become = Conv2d


class LazyLinear(_LazyMixin, Linear):
    """Linear whose in_features is read from the last dimension of the first input."""

    cls_to_become = Linear

    def __init__(
        self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        Module.__init__(self)
        if isinstance(out_features, bool) or not isinstance(out_features, int) or out_features < 0:
            raise TensorValueError(
                f"LazyLinear: out_features must be a non-negative integer, got {out_features!r}"
            )
        self.in_features, self.out_features = 0, out_features
        self.weight = UninitializedParameter(dtype=dtype)
        self.bias = UninitializedParameter(dtype=dtype) if bias else None

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params():
            super().reset_parameters()

    def _materialize(self, input: Tensor) -> None:
        if input.ndim == 0:
            raise TensorValueError(
                "LazyLinear: expected an input of shape (*, in_features), got a 0-d tensor"
            )
        self.in_features = input.shape[-1]
        self.weight.materialize((self.out_features, self.in_features))
        if self.bias is not None:
            self.bias.materialize((self.out_features,))
        self.reset_parameters()


class _LazyNorm(_LazyMixin):
    """A lazy batch or instance norm: num_features is read from the channels of the first
    input."""

    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(1, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.num_features = 0
        dt = self._parameters["weight"].dtype if affine else None
        if affine:
            self.weight = UninitializedParameter(dtype=dt)
            if bias:
                self.bias = UninitializedParameter(dtype=dt)

    def has_uninitialized_params(self) -> bool:
        # without affine parameters or running stats there is nothing to shape: PyTorch then
        # keeps num_features 0 (the norm does not use it)
        return self.num_features == 0 and (self.affine or self.track_running_stats)

    def _channels(self, input: Tensor) -> int:
        name = type(self).__name__
        return _lazy_size(
            input, 1, self.cls_to_become._ranks, name, self.cls_to_become._shape_names
        )

    def _materialize(self, input: Tensor) -> None:
        c = self._channels(input)
        self.num_features = c
        if self.affine:
            self.weight.materialize((c,))
            if self.bias is not None:
                self.bias.materialize((c,))
        if self.track_running_stats:
            dt = self.running_mean.dtype
            self.running_mean = zeros(c, dtype=dt)
            self.running_var = ones(c, dtype=dt)
        self.reset_parameters()


class _LazyBatchNorm(_LazyNorm, _BatchNorm):
    pass


class LazyBatchNorm1d(_LazyBatchNorm):
    """BatchNorm1d whose num_features is read from dim 1 of the first input."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm):
    """BatchNorm2d whose num_features is read from dim 1 of the first input."""

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyBatchNorm):
    """BatchNorm3d whose num_features is read from dim 1 of the first input."""

    cls_to_become = BatchNorm3d


# -- more activations (PyTorch's constructor arguments and reprs) ---------------------------


class GELU(Module):
    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class _InplaceActivation(Module):
    """An activation whose only argument is `inplace` (repr `Name()` or `Name(inplace=True)`)."""

    _fn: Any = None

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class SiLU(_InplaceActivation):
    _fn = staticmethod(F.silu)


class Mish(_InplaceActivation):
    _fn = staticmethod(F.mish)


class ReLU6(_InplaceActivation):
    _fn = staticmethod(F.relu6)


class Hardswish(_InplaceActivation):
    _fn = staticmethod(F.hardswish)

    def extra_repr(self) -> str:
        return ""  # PyTorch's Hardswish does not show inplace


class Hardsigmoid(_InplaceActivation):
    _fn = staticmethod(F.hardsigmoid)

    def extra_repr(self) -> str:
        return ""  # as PyTorch's


class ELU(Module):
    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


def _renamed_argument(old: str, new: str) -> None:
    warnings.warn(
        f"Hardtanh: keyword argument `{old}` is deprecated, use `{new}`",
        FutureWarning,
        stacklevel=3,
    )


class Hardtanh(Module):
    def __init__(
        self,
        min_val: float = -1.0,
        max_val: float = 1.0,
        inplace: bool = False,
        min_value: float | None = None,
        max_value: float | None = None,
    ) -> None:
        super().__init__()
        # PyTorch's old names of min_val/max_val: still honoured there, with a warning
        if min_value is not None:
            _renamed_argument("min_value", "min_val")
            min_val = min_value
        if max_value is not None:
            _renamed_argument("max_value", "max_val")
            max_val = max_value
        if min_val > max_val:
            raise TensorValueError(
                f"Hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})"
            )
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (
            ", inplace=True" if self.inplace else ""
        )


class LayerNorm(Module):
    """Normalise over the last dims `normalized_shape`; weight ones and bias zeros at init."""

    def __init__(
        self,
        normalized_shape: Any,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dt = _dtype.get_default_dtype() if dtype is None else _dtype.as_dtype(dtype)
        _affine_parameters(self, elementwise_affine, bias, self.normalized_shape, dt)

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )
