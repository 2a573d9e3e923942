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
from .module import Module, Parameter, _factory_dtype


def _pair(v: Any) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _ntuple(v: Any, n: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _reverse_repeat_tuple(t: Any, n: int) -> tuple:
    """Each element of t repeated n times, last element first (PyTorch's helper that turns a
    conv's per-dim padding into F.pad's (last dim's left, right, ...) order)."""
    return tuple(x for x in reversed(t) for _ in range(n))


class _ConvNd(Module):
    """What every convolution shares (PyTorch's base, with its positional arguments, already
    tuples there: `(in_channels, out_channels, kernel_size, stride, padding, dilation,
    transposed, output_padding, groups, bias, padding_mode, device, dtype)`): the checks, the
    attributes, the weight `(out, in/groups, *k)` (transposed: `(in, out/groups, *k)`), its
    default init and the repr. Plain ints are taken too, repeated to `_dims` spatial dims."""

    __constants__ = [
        "stride",
        "padding",
        "dilation",
        "groups",
        "padding_mode",
        "output_padding",
        "in_channels",
        "out_channels",
        "kernel_size",
    ]
    _dims = 0  # the spatial rank (Conv1d: 1, ...); 0: read from len(kernel_size)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        transposed: bool,
        output_padding: Any,
        groups: int,
        bias: bool,
        padding_mode: str,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        dt = _factory_dtype(device, dtype, f"{name}()")
        n = self._dims or len(kernel_size)
        self._check_channels(in_channels, out_channels, groups)
        sizes = {
            "kernel_size": kernel_size,
            "stride": stride,
            "dilation": dilation,
            "output_padding": output_padding,
        }
        if not isinstance(padding, str):
            sizes["padding"] = padding
        elif padding not in ("valid", "same"):
            kind = {1: "a 1-tuple", 2: "a pair", 3: "a triple"}.get(n, f"{n} ints")
            raise TensorValueError(
                f"{name}: padding must be an int, {kind}, 'valid' or 'same', got {padding!r}"
            )
        sizes = self._check_sizes(n, **sizes)
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise TensorValueError(
                f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or "
                f"'circular', got {padding_mode!r}"
            )
        if padding == "same" and sizes["stride"] != (1,) * n:
            raise TensorValueError(
                f"{name}: padding='same' needs stride 1, got stride={sizes['stride']}"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = sizes["kernel_size"], sizes["stride"]
        self.padding = padding if isinstance(padding, str) else sizes["padding"]
        self.dilation, self.transposed = sizes["dilation"], transposed
        self.output_padding, self.groups = sizes["output_padding"], groups
        self.padding_mode = padding_mode
        # F.pad's pads (the last dim's pair first) for the non-zeros padding modes, as
        # PyTorch keeps them; 'same' splits an odd total with the extra on the right
        if isinstance(self.padding, str):
            pads = [0, 0] * n
            if self.padding == "same":
                for i, (d, k) in enumerate(zip(self.dilation, self.kernel_size, strict=True)):
                    total, j = d * (k - 1), 2 * (n - 1 - i)  # (dim i's pair, from the end)
                    pads[j], pads[j + 1] = total // 2, total - total // 2
            self._reversed_padding_repeated_twice = pads
        else:
            self._reversed_padding_repeated_twice = list(_reverse_repeat_tuple(self.padding, 2))
        if transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self._init_params(shape, bias, dt)

    def _init_params(self, weight_shape: tuple, bias: bool, dt: Any) -> None:
        """The weight and bias, then reset_parameters() (a lazy conv makes them
        uninitialized instead)."""
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

    def _check_sizes(self, n: int, **sizes: Any) -> dict:
        """Each option as an n-tuple: kernel_size, stride, dilation >= 1; padding and
        output_padding >= 0."""
        name, out = type(self).__name__, {}
        for k, v in sizes.items():
            least = 0 if k.endswith("padding") else 1
            if n == 1:  # (the 2-D check on the option doubled, so a 1-D one gets its messages)
                out[k] = _check_ntuple(_ntuple(v, 1) * 2, 2, k, name, least)[:1]
            elif n in (2, 3):
                out[k] = _check_ntuple(v, n, k, name, least)
            else:  # (no tinyconv op has this rank: the forward will say so)
                out[k] = _ntuple(v, n)
        return out

    def extra_repr(self) -> str:
        # PyTorch's order: padding, dilation, output_padding, groups, bias, padding_mode
        zeros, ones = (0,) * len(self.kernel_size), (1,) * len(self.kernel_size)  # any rank
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != zeros:  # ('valid' and 'same' show too, as PyTorch's)
            s += f", padding={self.padding}"
        if self.dilation != ones:
            s += f", dilation={self.dilation}"
        if self.output_padding != zeros:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    """Conv1d, Conv2d and Conv3d: PyTorch's public arguments, and the forward in `_dims`
    spatial dims (F.conv1d/2d/3d)."""

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
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            False,
            0,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        """The convolution with this module's options and the given weight and bias (what
        forward runs with its own; a weight-standardised conv passes a transformed one)."""
        conv = getattr(F, f"conv{len(self.kernel_size)}d")
        if self.padding_mode == "zeros":
            return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)
        # the other modes pad explicitly first, then convolve unpadded
        x = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
        return conv(x, weight, bias, self.stride, 0, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv2d(_Conv):
    """2-D convolution layer: weight `(out, in/groups, kH, kW)`, input `(N, C, H, W)`."""

    _dims = 2


class _ConvTransposeNd(_ConvNd):
    """The transposed convolutions' base (PyTorch's, with _ConvNd's arguments): only
    padding_mode='zeros', and the output_padding that gives a requested output_size."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        transposed: bool,
        output_padding: Any,
        groups: int,
        bias: bool,
        padding_mode: str,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if padding_mode != "zeros":
            raise TensorValueError(
                f"{type(self).__name__}: only padding_mode='zeros' is supported (as in "
                f"PyTorch), got {padding_mode!r}"
            )
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            transposed,
            output_padding,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )

    def _output_padding(
        self,
        input: Tensor,
        output_size: Any,
        stride: Any,
        padding: Any,
        kernel_size: Any,
        num_spatial_dims: int,
        dilation: Any = None,
    ) -> Any:
        """The module's output_padding, or (PyTorch's rule) the one that makes the output
        `output_size`: its spatial sizes, or the whole shape with batch and channels; each
        size in [smallest, smallest + stride - 1]."""
        if output_size is None:
            return _ntuple(self.output_padding, 1)
        name, n = type(self).__name__, num_spatial_dims
        non_spatial = 2 if input.ndim == n + 2 else 1
        sizes = list(output_size)
        if len(sizes) == non_spatial + n:
            sizes = sizes[non_spatial:]
        if len(sizes) != n:
            raise TensorValueError(
                f"{name}: for {input.ndim}D input, output_size must have {n} or "
                f"{non_spatial + n} elements (got {len(sizes)})"
            )
        least = [
            (input.shape[non_spatial + d] - 1) * stride[d]
            - 2 * padding[d]
            + (1 if dilation is None else dilation[d]) * (kernel_size[d] - 1)
            + 1
            for d in range(n)
        ]
        for size, lo, s in zip(sizes, least, stride, strict=True):
            if not lo <= size <= lo + s - 1:
                raise TensorValueError(
                    f"{name}: output_size {tuple(output_size)} can't be reached from input "
                    f"shape {tuple(input.shape)}: each output side must be in [{lo}, "
                    f"{lo + s - 1}] (stride {tuple(stride)}, padding {tuple(padding)}, "
                    f"kernel_size {tuple(kernel_size)})"
                )
        return [size - lo for size, lo in zip(sizes, least, strict=True)]


class _ConvTranspose(_ConvTransposeNd):
    """ConvTranspose1d/2d/3d: PyTorch's public arguments, and the forward in `_dims` spatial
    dims (F.conv_transpose1d/2d/3d)."""

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
        # PyTorch computes fan_in from weight.shape[1] * prod(kernel_size) here too
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            True,
            output_padding,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        n = len(self.kernel_size)
        output_padding = self._output_padding(
            input, output_size, self.stride, self.padding, self.kernel_size, n, self.dilation
        )
        return getattr(F, f"conv_transpose{n}d")(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            tuple(output_padding),
            self.groups,
            self.dilation,
        )


class ConvTranspose2d(_ConvTranspose):
    """Transposed convolution layer: weight `(in, out/groups, kH, kW)`."""

    _dims = 2


class Linear(Module):
    """y = x W^T + b: weight `(out_features, in_features)`, input `(*, in_features)`."""

    __constants__ = ["in_features", "out_features"]

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        dt = _factory_dtype(device, dtype, "Linear()")
        for n, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise TensorValueError(f"Linear: {n} must be a non-negative integer, got {v!r}")
        self.in_features, self.out_features = in_features, out_features
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
    __constants__ = ["inplace"]

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    __constants__ = ["inplace", "negative_slope"]

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


class _DimActivation(Module):
    """Softmax and LogSoftmax: an activation along `dim` (repr `dim=...`). PyTorch's two are
    unrelated classes, so neither derives from the other here."""

    __constants__ = ["dim"]

    def __init__(self, dim: Any = None) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_DimActivation):
    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)


class LogSoftmax(_DimActivation):
    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)


class _Pool(Module):
    def extra_repr(self) -> str:
        return ", ".join(f"{k}={getattr(self, k)}" for k in self._repr_keys)


class _MaxPoolNd(_Pool):
    """MaxPool1d/2d/3d (PyTorch's base), calling F.max_pool{_dims}d."""

    __constants__ = ["kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"]
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


class MaxPool2d(_MaxPoolNd):
    """Max pooling over `(N, C, H, W)` or `(C, H, W)` (F.max_pool2d)."""


class _MaxUnpoolNd(_Pool):
    """MaxUnpool1d/2d/3d (PyTorch's base): max pooling's partial inverse (F.max_unpool{_dims}d),
    values back at their indices, zeros elsewhere. The options are kept as `_dims`-tuples, as
    PyTorch keeps them."""

    _dims = 2
    _repr_keys = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        n = self._dims
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride = _ntuple(stride if stride is not None else kernel_size, n)
        self.padding = _ntuple(padding, n)

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return getattr(F, f"max_unpool{self._dims}d")(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )


class MaxUnpool2d(_MaxUnpoolNd):
    """max_pool2d's partial inverse (F.max_unpool2d)."""


class _AvgPoolNd(_Pool):
    """AvgPool1d/2d/3d (PyTorch's base); this __init__ and forward are AvgPool2d's and
    AvgPool3d's (`_dims`), calling F.avg_pool2d or F.avg_pool3d."""

    __constants__ = ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"]
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


class AvgPool2d(_AvgPoolNd):
    """Average pooling over `(N, C, H, W)` or `(C, H, W)` (F.avg_pool2d)."""

    __constants__ = [*_AvgPoolNd.__constants__, "divisor_override"]


class _AdaptiveAvgPoolNd(Module):
    """AdaptiveAvgPool1d/2d/3d (PyTorch's base), calling F.adaptive_avg_pool{_dims}d."""

    __constants__ = ["output_size"]
    _dims = 2

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, f"adaptive_avg_pool{self._dims}d")(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _AdaptiveMaxPoolNd(Module):
    """AdaptiveMaxPool1d/2d/3d (PyTorch's base), calling F.adaptive_max_pool{_dims}d."""

    __constants__ = ["output_size", "return_indices"]
    _dims = 2

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor) -> Any:
        pool = getattr(F, f"adaptive_max_pool{self._dims}d")
        return pool(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Average-pool `(N, C, H, W)` to a fixed output size (F.adaptive_avg_pool2d)."""


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max-pool `(N, C, H, W)` to a fixed output size (F.adaptive_max_pool2d)."""


class FractionalMaxPool2d(Module):
    """Fractional max pooling of `(N, C, H, W)` (F.fractional_max_pool2d): kernel_size windows
    at pseudo-random places, to `output_size` or `output_ratio` (in (0, 1)) of the input."""

    __constants__ = ["kernel_size", "return_indices", "output_size", "output_ratio"]

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
    __constants__ = ["start_dim", "end_dim"]

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class _DropoutNd(Module):
    """The dropout layers' base (PyTorch's): p and inplace, checked and shown alike; forward
    calls the class's `_fn` (F.dropout, F.dropout2d, ...)."""

    __constants__ = ["p", "inplace"]
    _fn: Any = None

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise TensorValueError(
                f"{type(self).__name__}: p must be between 0 and 1 (the dropout probability), "
                f"got {p}"
            )
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability p in training, scaling the rest by 1 / (1 - p)."""

    _fn = staticmethod(F.dropout)


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


class _WeightedLoss(_Loss):
    """Base of a loss with a per-class `weight` (kept as a buffer: in state_dict, moved by
    .to), as PyTorch's."""

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    __constants__ = ["reduction"]

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    __constants__ = ["reduction"]

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    __constants__ = ["ignore_index", "reduction", "label_smoothing"]

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        ignore_index: int = -100,
        reduce: Any = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
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


class NLLLoss(_WeightedLoss):
    __constants__ = ["ignore_index", "reduction"]

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: Any = None,
        ignore_index: int = -100,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class BCELoss(_WeightedLoss):
    __constants__ = ["reduction"]

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
    """A norm layer's learnable scale and shift of `shape`, or None for each, registered as
    PyTorch does (so state dicts and reprs agree). Their values come from the layer's
    reset_parameters(), which its __init__ calls last, as PyTorch's: a subclass that
    overrides it (zero-init the last BN's gamma) changes the initial values."""
    if affine:
        module.weight = Parameter(empty(shape, dtype=dt))
        if bias:
            module.bias = Parameter(empty(shape, dtype=dt))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _check_rank(module: Module, input: Any, ranks: tuple, shapes: str) -> None:
    """A norm layer's _check_input_dim: PyTorch's ValueError message ("expected 4D input (got
    3D input)"), then which shapes the layer takes and the one it got."""
    name = type(module).__name__
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in ranks:
        want = " or ".join(f"{r}D" for r in ranks)
        raise TensorValueError(
            f"expected {want} input (got {input.ndim}D input); {name} expected {shapes} input, "
            f"got shape {tuple(input.shape)}"
        )


class _NormBase(Module):
    """Shared by the batch and instance norms: learnable per-channel weight and bias, running
    statistics as buffers (PyTorch's arguments, state-dict keys and repr)."""

    __constants__ = ["track_running_stats", "momentum", "eps", "num_features", "affine"]

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
        dt = _factory_dtype(device, dtype, f"{name}()")
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
        _affine_parameters(self, affine, bias, num_features, dt)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dt))
            self.register_buffer("running_var", ones(num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=_dtype.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

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

    def _check_input_dim(self, input: Tensor) -> None:
        """Raise if `input` has a rank the layer does not take (each layer says which)."""
        raise NotImplementedError

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
    """Shared by BatchNorm1d/2d/3d: normalise with the batch's statistics per channel. As
    PyTorch's, forward calls self._check_input_dim(input), which a subclass of _BatchNorm
    defines (the ranks it takes)."""

    _ranks: tuple = ()  # what BatchNorm1d/2d/3d take (their lazy forms read it too)
    _shape_names = ""

    def _check_channels(self, input: Tensor) -> None:
        # (num_features is 0 in a lazy norm loaded from a checkpoint, as in PyTorch: then
        # F.batch_norm checks the channels against the loaded weight and statistics)
        if self.num_features and input.shape[1] != self.num_features:
            name = type(self).__name__
            raise TensorValueError(
                f"{name}: input has {input.shape[1]} channels (dim 1 of shape "
                f"{tuple(input.shape)}) but the layer was built for "
                f"num_features={self.num_features}"
            )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        if isinstance(input, Tensor) and input.ndim >= 2:
            self._check_channels(input)
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

    def _check_input_dim(self, input: Tensor) -> None:
        _check_rank(self, input, self._ranks, self._shape_names)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of `(N, C, H, W)` input, per channel C."""

    _ranks = (4,)
    _shape_names = "a 4-D (N, C, H, W)"

    def _check_input_dim(self, input: Tensor) -> None:
        _check_rank(self, input, self._ranks, self._shape_names)


class BatchNorm3d(_BatchNorm):
    """Batch normalization of `(N, C, D, H, W)` input, per channel C."""

    _ranks = (5,)
    _shape_names = "a 5-D (N, C, D, H, W)"

    def _check_input_dim(self, input: Tensor) -> None:
        _check_rank(self, input, self._ranks, self._shape_names)


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

    def _check_input_dim(self, input: Tensor) -> None:
        if not isinstance(input, Tensor):
            raise TypeError(f"SyncBatchNorm: input must be a Tensor, got {type(input).__name__}")
        if input.ndim < 2:
            raise TensorValueError(f"expected at least 2D input (got {input.ndim}D input)")

    def _check_channels(self, input: Tensor) -> None:
        if input.shape[1] == 0:  # (PyTorch's check, before the statistics')
            raise TensorValueError("SyncBatchNorm number of input channels should be non-zero")
        super()._check_channels(input)

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

# The Tensor methods an uninitialized tensor still answers (PyTorch's list): its size (0,), its
# kind, conversions and copy_; every other method raises until the tensor has a shape.
_LAZY_ALLOWED = frozenset(
    {
        "size",
        "copy_",
        "is_complex",
        "is_floating_point",
        "half",
        "float",
        "double",
        "char",
        "short",
        "int",
        "long",
        "cuda",
        "cpu",
        "to",
        "get_device",
        "materialize",
    }
)


class UninitializedTensorMixin:
    """What UninitializedParameter and UninitializedBuffer share (PyTorch's mixin): a tensor
    whose shape is not known yet. A lazy module materializes it at its first call, or when a
    checkpoint is loaded into it: the same object then becomes a Parameter (or a Tensor), so
    an optimizer made earlier still holds it. Until then, as in PyTorch, its shape raises
    RuntimeError and its methods (but _LAZY_ALLOWED's) raise ValueError."""

    __slots__ = ()
    cls_to_become: type

    def __getattribute__(self, name: str) -> Any:
        # a method of Tensor's (not a property: dtype, requires_grad, grad read as usual)
        if name[0] != "_" and name not in _LAZY_ALLOWED and callable(getattr(Tensor, name, None)):
            raise TensorValueError(
                f"Attempted to use an uninitialized parameter in {name}(): a lazy module's "
                "parameters and buffers (LazyLinear, LazyConv2d, ...) have no shape until its "
                "first forward call; call forward with a dummy batch first"
            )
        return super().__getattribute__(name)

    @property
    def shape(self) -> Any:
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer: it has no shape "
            "yet; it gets one at the lazy module's first forward call (or from load_state_dict)"
        )

    def materialize(self, shape: tuple, device: Any = None, dtype: Any = None) -> None:
        """Give the tensor its shape (values uninitialized: the module's reset_parameters
        fills them) and make it a `cls_to_become` (Parameter or Tensor)."""
        dt = _factory_dtype(device, self._data.dtype if dtype is None else dtype, "materialize")
        self._data = empty(shape, dtype=dt)._data
        self.__class__ = self.cls_to_become

    def __deepcopy__(self, memo: dict) -> Any:
        t = type(self)(self._requires_grad, dtype=self._data.dtype)
        memo[id(self)] = t
        return t

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape is not known yet (a lazy module's, until its first call)."""

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(  # noqa: PYI034
        cls, requires_grad: bool = True, device: Any = None, dtype: Any = None
    ) -> UninitializedParameter:
        dt = _factory_dtype(device, dtype, "UninitializedParameter()")
        return super().__new__(cls, empty(0, dtype=dt), requires_grad)

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> None:
        pass


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (a lazy norm's running statistics)."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(  # noqa: PYI034
        cls, requires_grad: bool = False, device: Any = None, dtype: Any = None
    ) -> UninitializedBuffer:
        dt = _factory_dtype(device, dtype, "UninitializedBuffer()")
        t = Tensor._make(np.empty(0, dt), None, requires_grad)
        t.__class__ = cls
        return t

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None) -> None:
        pass


def is_lazy(param: Any) -> bool:
    """Is `param` an uninitialized (lazy) parameter or buffer?"""
    return isinstance(param, UninitializedTensorMixin)


class LazyModuleMixin:
    """A lazy module (PyTorch's mixin): its parameters and buffers are uninitialized until the
    first call, which runs `initialize_parameters(*args, **kwargs)` (reading the input's
    size, materializing them, running the real module's init) and then turns the module
    into `cls_to_become` (so `type(m)` is Conv2d/Linear afterwards, as in PyTorch).
    load_state_dict() into it gives each uninitialized tensor the checkpoint's shape first;
    its state_dict() holds the uninitialized ones as they are."""

    cls_to_become: type | None = None

    def has_uninitialized_params(self) -> bool:
        return any(is_lazy(t) for t in (*self._parameters.values(), *self._buffers.values()))

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {type(self).__name__}"
        )

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        # Module's entries, but an uninitialized tensor goes in as it is (its detach() raises)
        super()._save_to_state_dict(destination, prefix, True)
        if not keep_vars:
            for name, t in (*self._parameters.items(), *self._buffers.items()):
                if t is not None and not is_lazy(t) and destination.get(prefix + name) is t:
                    destination[prefix + name] = t.detach()

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
        # an uninitialized tensor takes the shape of the checkpoint's (PyTorch's load hook);
        # the values are then copied in as into any module
        for name, t in (*self._parameters.items(), *self._buffers.items()):
            value = state_dict.get(prefix + name)
            if is_lazy(t) and isinstance(value, Tensor) and not is_lazy(value):
                with grad_mode.no_grad():
                    t.materialize(tuple(value._data.shape))
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # the first call (PyTorch's forward pre-hook, run once): initialize, then become
        # cls_to_become and run as it
        if not self.__dict__.get("_lazy_initialized", False):
            with grad_mode.no_grad():
                self.initialize_parameters(*args, **kwargs)
            if self.has_uninitialized_params():
                raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
            if self.cls_to_become is not None:
                self.__class__ = self.cls_to_become
                return self(*args, **kwargs)
            object.__setattr__(self, "_lazy_initialized", True)
        return super().__call__(*args, **kwargs)


def _first_input(module: Module, args: tuple) -> Tensor:
    """The input a lazy module reads its size from (the first positional argument)."""
    if not args or not isinstance(args[0], Tensor):
        raise TypeError(
            f"{type(module).__name__}: the first call must get the input Tensor, to read its "
            "size from"
        )
    return args[0]


def _lazy_size(input: Tensor, dim: int, ranks: tuple, name: str, shapes: str) -> int:
    if input.ndim not in ranks:
        raise TensorValueError(f"{name}: expected {shapes} input, got shape {tuple(input.shape)}")
    return input.shape[dim]


class _LazyConvXdMixin(LazyModuleMixin):
    """A lazy convolution (plain or transposed, any spatial rank): in_channels is read from
    dim -(rank + 1) of the first input."""

    def _init_params(self, weight_shape: tuple, bias: bool, dt: Any) -> None:
        self.weight = UninitializedParameter(dtype=dt)
        self.bias = UninitializedParameter(dtype=dt) if bias else None

    def reset_parameters(self) -> None:
        # (in_channels stays 0 in a lazy conv loaded from a checkpoint, as in PyTorch)
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        if not self.has_uninitialized_params():
            return
        input = _first_input(self, args)
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


class _LazyConv(_LazyConvXdMixin):
    """A lazy Conv1d/2d/3d: the real module's arguments but in_channels."""

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


class LazyLinear(LazyModuleMixin, Linear):
    """Linear whose in_features is read from the last dimension of the first input."""

    cls_to_become = Linear

    def __init__(
        self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        Module.__init__(self)
        dt = _factory_dtype(device, dtype, "LazyLinear()")
        if isinstance(out_features, bool) or not isinstance(out_features, int) or out_features < 0:
            raise TensorValueError(
                f"LazyLinear: out_features must be a non-negative integer, got {out_features!r}"
            )
        self.in_features, self.out_features = 0, out_features
        self.weight = UninitializedParameter(dtype=dt)
        self.bias = UninitializedParameter(dtype=dt) if bias else None

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        input = _first_input(self, args)
        if self.has_uninitialized_params():
            if input.ndim == 0:
                raise TensorValueError(
                    "LazyLinear: expected an input of shape (*, in_features), got a 0-d tensor"
                )
            self.in_features = input.shape[-1]
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()
        if self.in_features == 0:  # loaded from a checkpoint: PyTorch reads it from the input
            if input.shape[-1] != self.weight.shape[-1]:
                raise AssertionError(
                    f"The in_features inferred from input: {input.shape[-1]} is not equal to "
                    f"in_features from self.weight: {self.weight.shape[-1]}"
                )
            self.in_features = input.shape[-1]


class _LazyNormBase(LazyModuleMixin):
    """A lazy batch or instance norm: num_features is read from the channels of the first
    input (its weight, bias and running statistics are uninitialized until then)."""

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
        # the norm's checks and attributes with one channel standing in until the first call
        super().__init__(1, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.num_features = 0
        dt = _dtype.get_default_dtype() if dtype is None else _dtype.as_dtype(dtype)
        if affine:
            self.weight = UninitializedParameter(dtype=dt)
            if bias:
                self.bias = UninitializedParameter(dtype=dt)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(dtype=dt)
            self.running_var = UninitializedBuffer(dtype=dt)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    # the input rules of the layer it becomes (its _check_input_dim reads them)
    _ranks = property(lambda self: self.cls_to_become._ranks)
    _spatial = property(lambda self: self.cls_to_become._spatial)
    _shape_names = property(lambda self: self.cls_to_become._shape_names)

    def _check_input_dim(self, input: Tensor) -> None:
        self.cls_to_become._check_input_dim(self, input)

    def _channels(self, input: Tensor) -> int:
        name = type(self).__name__
        return _lazy_size(
            input, 1, self.cls_to_become._ranks, name, self.cls_to_become._shape_names
        )

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        # (without affine parameters or running stats nothing is uninitialized: num_features
        # then stays 0, as in PyTorch; the norm does not use it)
        if not self.has_uninitialized_params():
            return
        c = self._channels(_first_input(self, args))
        self.num_features = c
        if self.affine:
            self.weight.materialize((c,))
            if self.bias is not None:
                self.bias.materialize((c,))
        if self.track_running_stats:
            self.running_mean.materialize((c,))
            self.running_var.materialize((c,))
        self.reset_parameters()


class LazyBatchNorm1d(_LazyNormBase, _BatchNorm):
    """BatchNorm1d whose num_features is read from dim 1 of the first input."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormBase, _BatchNorm):
    """BatchNorm2d whose num_features is read from dim 1 of the first input."""

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNormBase, _BatchNorm):
    """BatchNorm3d whose num_features is read from dim 1 of the first input."""

    cls_to_become = BatchNorm3d


# -- more activations (PyTorch's constructor arguments and reprs) ---------------------------


class GELU(Module):
    __constants__ = ["approximate"]

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
    __constants__ = ["inplace"]

    _fn = staticmethod(F.silu)


class Mish(_InplaceActivation):
    __constants__ = ["inplace"]

    _fn = staticmethod(F.mish)


class Hardswish(_InplaceActivation):
    __constants__ = ["inplace"]

    _fn = staticmethod(F.hardswish)

    def extra_repr(self) -> str:
        return ""  # PyTorch's Hardswish does not show inplace


class Hardsigmoid(_InplaceActivation):
    __constants__ = ["inplace"]

    _fn = staticmethod(F.hardsigmoid)

    def extra_repr(self) -> str:
        return ""  # as PyTorch's


class ELU(Module):
    __constants__ = ["alpha", "inplace"]

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    __constants__ = ["beta", "threshold"]

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
    __constants__ = ["min_val", "max_val", "inplace"]

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


class ReLU6(Hardtanh):
    """min(max(0, x), 6): PyTorch's ReLU6 is a Hardtanh(0, 6) (min_val, max_val and its
    gradient, 0 at both ends)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LayerNorm(Module):
    """Normalise over the last dims `normalized_shape`; weight ones and bias zeros at init."""

    __constants__ = ["normalized_shape", "eps", "elementwise_affine"]

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
        dt = _factory_dtype(device, dtype, "LayerNorm()")
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _affine_parameters(self, elementwise_affine, bias, self.normalized_shape, dt)
        self.reset_parameters()

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
