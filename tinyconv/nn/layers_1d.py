"""1-D layers (PyTorch's arguments, reprs and state-dict keys): Conv1d, ConvTranspose1d,
MaxPool1d, MaxUnpool1d, AvgPool1d, AdaptiveAvgPool1d, AdaptiveMaxPool1d. Each calls its F.*1d
op, which runs the 2-D one on a height-1 image."""

from __future__ import annotations

from typing import Any

from .._errors import TensorValueError
from ..tensor import Tensor
from . import functional as F
from .functional.conv import _conv_padding
from .layers import _ConvNd, _Pool
from .module import Module


def _single(v: Any) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


class Conv1d(_ConvNd):
    """1-D convolution layer: weight `(out, in/groups, k)`, input `(N, C, L)` or `(C, L)`."""

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
        self._check_channels(in_channels, out_channels, groups)
        sizes = {"kernel_size": kernel_size, "stride": stride, "dilation": dilation}
        self._check_sizes(**{k: _single(v) * 2 for k, v in sizes.items()})
        if not isinstance(padding, str):
            self._check_sizes(padding=_single(padding) * 2)
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise TensorValueError(
                f"Conv1d: padding_mode must be 'zeros', 'reflect', 'replicate' or "
                f"'circular', got {padding_mode!r}"
            )
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise TensorValueError(
                f"Conv1d: padding must be an int, a 1-tuple, 'valid' or 'same', got {padding!r}"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _single(kernel_size), _single(stride)
        self.padding = padding if isinstance(padding, str) else _single(padding)
        self.dilation, self.groups, self.padding_mode = _single(dilation), groups, padding_mode
        if padding == "same" and self.stride != (1,):
            raise TensorValueError(
                f"Conv1d: padding='same' needs stride 1, got stride={self.stride}"
            )
        self._init_params((out_channels, in_channels // groups) + self.kernel_size, bias, dtype)

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode == "zeros":
            return F.conv1d(
                input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
            )
        # other modes pad the length explicitly first ('same' pads from the 2-D rule)
        pad = self.padding if isinstance(self.padding, str) else (0,) + self.padding
        _, (left, right) = _conv_padding(
            pad, (1,) + self.kernel_size, (1,) + self.dilation, (1,) + self.stride, "Conv1d"
        )
        x = F.pad(input, (left, right), mode=self.padding_mode)
        return F.conv1d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class ConvTranspose1d(_ConvNd):
    """Transposed 1-D convolution layer: weight `(in, out/groups, k)`."""

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
        self._check_channels(in_channels, out_channels, groups)
        sizes = {
            "kernel_size": kernel_size,
            "stride": stride,
            "padding": padding,
            "output_padding": output_padding,
            "dilation": dilation,
        }
        self._check_sizes(**{k: _single(v) * 2 for k, v in sizes.items()})
        if padding_mode != "zeros":
            raise TensorValueError(
                "ConvTranspose1d: only padding_mode='zeros' is supported (as in PyTorch)"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (
            _single(kernel_size),
            _single(stride),
            _single(padding),
        )
        self.output_padding, self.dilation = _single(output_padding), _single(dilation)
        self.groups, self.padding_mode = groups, padding_mode
        self._init_params((in_channels, out_channels // groups) + self.kernel_size, bias, dtype)

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        out_pad = self.output_padding[0]
        if output_size is not None:
            (k,), (s,), (p,), (d,) = self.kernel_size, self.stride, self.padding, self.dilation
            target = tuple(output_size)[-1]
            base = (input.shape[-1] - 1) * s - 2 * p + d * (k - 1) + 1
            if not base <= target < base + max(s, d):
                raise TensorValueError(
                    f"ConvTranspose1d: output_size {tuple(output_size)} can't be reached from "
                    f"input shape {tuple(input.shape)}: the output length must be in [{base}, "
                    f"{base + max(s, d) - 1}] (stride {s}, padding {p}, kernel_size {k})"
                )
            out_pad = target - base
        return F.conv_transpose1d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            out_pad,
            self.groups,
            self.dilation,
        )


class MaxPool1d(_Pool):
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
        return F.max_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )


class MaxUnpool1d(_Pool):
    """max_pool1d's partial inverse (F.max_unpool1d); options kept as 1-tuples, as PyTorch."""

    _repr_keys = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return F.max_unpool1d(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )


class AvgPool1d(_Pool):
    _repr_keys = ("kernel_size", "stride", "padding")

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
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


class AdaptiveAvgPool1d(Module):
    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(Module):
    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor) -> Any:
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
