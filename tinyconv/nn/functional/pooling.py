"""Max, average and adaptive pooling over (N, C, H, W) or (C, H, W) inputs (kernels/pool.py)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import _dtype
from ..._errors import DtypeNotImplementedError, TensorValueError
from ...autograd.function import channels_last_out, layout_free
from ...autograd.ops import Op
from ...creation import rand
from ...kernels import pool as pool_k
from ...kernels.layout import like_suggested
from ...tensor import Tensor
from ._checks import _batched, _check_spatial, _check_tensor, _ntuple, _pair, _single, _unbatch
from ._linear import linear_graph_backward

# -- pooling ----------------------------------------------------------------------------


def _refuse_empty_window_grad(grad: np.ndarray, empty: np.ndarray | None, what: str) -> None:
    """A max pool window with no input tap (``empty``) outputs the padding's -inf, a constant.
    PyTorch sends a gradient given to it to the pixel its index names, which the window never
    read (or past the input's end): refuse, do not guess."""
    if empty is not None and np.any(grad[..., empty] != 0):
        where = tuple(int(v[0]) for v in np.nonzero(empty))
        raise RuntimeError(
            f"{what}: output window {where} lies entirely in the padding (its value is "
            "the padding's -inf, a constant) and received a non-zero gradient; PyTorch would "
            "send it to a pixel outside the window. Use less padding or dilation, or "
            "ceil_mode=False"
        )


class MaxPool2d(Op):
    torch_saves = True  # (PyTorch's node saves tensors: see Function.torch_saves)
    torch_name = "MaxPool2DWithIndicesBackward0"
    next_functions_count = 1  # PyTorch's node has an edge for the input only

    @staticmethod
    def forward(ctx, x, config, indices_out):
        # config: (kernel_size, stride, padding, dilation, ceil_mode), checked by max_pool2d();
        # indices_out: a list to receive the argmax positions (return_indices=True), or None
        kernel_size, stride, padding, dilation, _ = config
        y, indices = pool_k.max_pool2d_forward(x, *config)
        ctx.indices, ctx.shape = indices, x.shape
        ctx.save_for_backward(x)  # (as PyTorch's node: an in-place change of x then raises)
        # (a channels-last input gives channels-last outputs, as PyTorch's kernel writes them)
        y, indices = like_suggested(y, x), like_suggested(indices, x)
        ctx.disjoint = pool_k.max_pool2d_windows_disjoint(kernel_size, stride, dilation)
        ctx.empty = pool_k.max_pool2d_empty_windows(
            x.shape[2], x.shape[3], y.shape[2:], kernel_size, stride, padding, dilation
        )
        if indices_out is not None:  # return_indices=True: hand the argmax positions out
            indices_out.append(indices)
        return y

    @staticmethod
    def backward(ctx, grad):
        _refuse_empty_window_grad(grad, ctx.empty, "max_pool2d")
        # Each window's gradient goes to the element that won the max.
        gx = pool_k.max_pool2d_backward(
            grad, ctx.indices, ctx.shape, disjoint=ctx.disjoint, empty=ctx.empty
        )
        return gx, None, None

    graph_backward = staticmethod(linear_graph_backward)

    @staticmethod
    def linear_apply(ctx, t):
        # with the argmax fixed, max pooling picks one element per window: a gather
        return _gather_argmax(t, ctx.indices, ctx.shape, ctx.empty)


class AvgPool2d(Op):
    torch_saves = True  # (PyTorch's node saves tensors: see Function.torch_saves)
    torch_name = "AvgPool2DBackward0"
    next_functions_count = 1  # PyTorch's node has an edge for the input only

    @staticmethod
    def forward(ctx, x, config):
        # config: (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        ctx.shape = x.shape
        ctx.config = config
        ctx.save_for_backward(x)  # (as PyTorch's node)
        return like_suggested(pool_k.avg_pool2d_forward(x, *config), x)

    @staticmethod
    def backward(ctx, grad):
        # Each window's gradient is spread evenly over the elements it averaged.
        return pool_k.avg_pool2d_backward(grad, ctx.shape, *ctx.config), None

    graph_backward = staticmethod(linear_graph_backward)

    @staticmethod
    def linear_apply(ctx, t):
        return AvgPool2d.apply(t, ctx.config)


def _float_input(x: Tensor, what: str) -> None:
    """Average pools (and adaptive max pools) take floating point input only."""
    if x.dtype.kind != "f":
        raise TypeError(
            f"{what}: input must be a floating point tensor, got {_dtype.dtype_name(x.dtype)}"
        )


def _with_indices(y: Tensor, sink: list | None, unbatched: bool, input: Tensor) -> Any:
    """The pooled values (and, when `sink` holds them, the int64 indices), unbatched back."""
    if sink is None:
        return _unbatch(y, unbatched, input)
    ind = Tensor._make(sink[0], None, False)
    return (_unbatch(y, unbatched, input), ind.squeeze(0)) if unbatched else (y, ind)


def _pool_args(
    input: Tensor,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    what: str,
    n: int = 2,
) -> tuple:
    """The n-D pools' (n = 2, 3) checked options: `(x batched, unbatched, k, s, p, d)`."""
    _check_tensor(input, "input", what)
    x, unbatched = _batched(input, what, n)
    _check_spatial(input, what, n)
    _only_batch_empty(input, n + 1, what)
    k = _ntuple(kernel_size, n, "kernel_size", what, 1)
    s = (
        k
        if stride is None or (isinstance(stride, (list, tuple)) and not stride)
        else _ntuple(stride, n, "stride", what, 1)
    )
    p = _ntuple(padding, n, "padding", what, 0)
    d = _ntuple(dilation, n, "dilation", what, 1)
    for pi, ki in zip(p, k, strict=False):
        if pi > ki // 2:
            raise TensorValueError(f"{what}: padding {p} should be at most half of kernel_size {k}")
    out = [
        pool_k._out_len(m, *a, bool(ceil_mode))
        for m, *a in zip(x.shape[2:], k, s, p, d, strict=True)
    ]
    if min(out) < 1:
        raise TensorValueError(
            f"{what}: the output would be empty ({' x '.join(map(str, out))}) for input shape "
            f"{tuple(input.shape)}, kernel_size {k}, stride {s}, padding {p}"
        )
    return x, unbatched, k, s, p, d


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over each window; `(N, C, H, W) -> (N, C, OH, OW)`. Indices index the H*W plane."""
    x, unbatched, k, s, p, d = _pool_args(
        input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d"
    )
    sink: list | None = [] if return_indices else None
    y = MaxPool2d.apply(x, (k, s, p, d, bool(ceil_mode)), sink)
    return _with_indices(y, sink, unbatched, input)


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each window; `(N, C, H, W) -> (N, C, OH, OW)`."""
    what = "avg_pool2d"
    x, unbatched, k, s, p, _ = _pool_args(input, kernel_size, stride, padding, 1, ceil_mode, what)
    _float_input(x, what)
    if divisor_override is not None and divisor_override <= 0:
        raise TensorValueError(f"{what}: divisor_override must be positive, got {divisor_override}")
    y = AvgPool2d.apply(x, (k, s, p, bool(ceil_mode), bool(count_include_pad), divisor_override))
    return _unbatch(y, unbatched, input)


def _adaptive_args(input: Any, output_size: Any, what: str, n: int = 2) -> tuple:
    """``(x (N, C, H, W), unbatched, (OH, OW))`` (n = 3: a depth before H); a None in
    output_size keeps that input size."""
    _check_tensor(input, "input", what)
    x, unbatched = _batched(input, what, n)
    # PyTorch's rule: the spatial sizes must be non-empty; max pooling also needs channels
    # when batched (an unbatched input's leading dim counts as a batch)
    is_max = what.startswith("adaptive_max")
    if 0 in x.shape[2:] or (is_max and not unbatched and x.shape[1] == 0):
        sides = "height or width" if n == 2 else "depth, height or width"
        raise RuntimeError(
            f"{what}: input shape {tuple(input.shape)} has an empty "
            f"{sides if 0 in x.shape[2:] else 'channel dimension'}; only the "
            f"batch{'' if is_max else ' and channel'} dimensions may be 0"
        )
    spatial = tuple(x.shape[2:])
    if output_size is None:
        return x, unbatched, spatial
    sizes = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size] * n
    if len(sizes) == 1:
        sizes = sizes * n
    if len(sizes) != n:
        kind = "a pair" if n == 2 else "a triple"
        raise TensorValueError(f"{what}: output_size must be an int or {kind}, got {output_size!r}")
    sizes = [m if v is None else v for v, m in zip(sizes, spatial, strict=False)]
    return x, unbatched, _ntuple(tuple(sizes), n, "output_size", what, 0)


def _check_adaptive_grad(grad: np.ndarray, unbatched: bool, what: str) -> None:
    """PyTorch's backward refuses an output empty in a non-batch dim (an unbatched input's
    leading dim counts as a batch); so does tinyconv's, to raise where PyTorch does."""
    if 0 in grad.shape[2:] or (not unbatched and grad.shape[1] == 0):
        shape = grad.shape[1:] if unbatched else grad.shape
        raise RuntimeError(
            f"{what}: backward of an output of shape {tuple(shape)}, empty in a non-batch "
            "dimension (channels, height or width), is not supported (as in PyTorch)"
        )


class AdaptiveAvgPool2d(Op):
    torch_name = "AdaptiveAvgPool2DBackward0"
    next_functions_count = 1  # PyTorch's node has an edge for the input only

    @staticmethod
    @channels_last_out
    @layout_free  # (its means add in memory order: a channels-last input would round otherwise)
    def forward(ctx, x, output_size, unbatched):
        ctx.shape, ctx.unbatched, ctx.output_size = x.shape, unbatched, output_size
        y = pool_k.adaptive_avg_pool2d_forward(x, output_size)
        if y.shape[-2:] == (1, 1):  # PyTorch takes a mean over H and W then: its node's name
            ctx.torch_name = "MeanBackward1"
        else:
            # PyTorch's node saves its input (its backward reads the shape from it), so an
            # in-place change of the input before backward raises there: here too
            ctx.save_for_backward(x)
        return y

    @staticmethod
    def backward(ctx, grad):
        _check_adaptive_grad(grad, ctx.unbatched, "adaptive_avg_pool2d")
        # Each window's gradient is spread evenly over the pixels it averaged.
        return pool_k.adaptive_avg_pool2d_backward(grad, ctx.shape), None, None

    graph_backward = staticmethod(linear_graph_backward)

    @staticmethod
    def linear_apply(ctx, t):
        return AdaptiveAvgPool2d.apply(t, ctx.output_size, ctx.unbatched)


class AdaptiveMaxPool2d(Op):
    torch_name = "AdaptiveMaxPool2DBackward0"
    next_functions_count = 1  # PyTorch's node has an edge for the input only

    @staticmethod
    def forward(ctx, x, output_size, indices_out, unbatched):
        y, indices = pool_k.adaptive_max_pool2d_forward(x, output_size)
        ctx.indices, ctx.shape, ctx.unbatched = indices, x.shape, unbatched
        ctx.save_for_backward(x)  # (as PyTorch's node)
        y, indices = like_suggested(y, x), like_suggested(indices, x)
        if indices_out is not None:  # return_indices=True: hand the argmax positions out
            indices_out.append(indices)
        return y

    @staticmethod
    def backward(ctx, grad):
        _check_adaptive_grad(grad, ctx.unbatched, "adaptive_max_pool2d")
        # Each window's gradient goes to the element that won the max (windows may overlap).
        return pool_k.max_pool2d_backward(grad, ctx.indices, ctx.shape), None, None, None

    graph_backward = staticmethod(linear_graph_backward)

    @staticmethod
    def linear_apply(ctx, t):
        return _gather_argmax(t, ctx.indices, ctx.shape, None)


def _gather_argmax(t: Tensor, indices: np.ndarray, shape: tuple, empty: Any) -> Tensor:
    """t `(N, C, H, W)` read at the argmax positions `indices` `(N, C, OH, OW)` (into the
    H*W plane), as a differentiable gather; windows in `empty` (no input tap) read 0."""
    N, C, H, W = shape
    idx = indices.reshape(N, C, -1)
    if empty is not None:  # their index names a pixel they never read: read a zero instead
        idx = np.where(empty.reshape(1, 1, -1), 0, idx)
    out = t.reshape(N, C, H * W).gather(2, Tensor._make(idx, None, False))
    if empty is not None:
        keep = np.broadcast_to(~empty.reshape(1, 1, -1), idx.shape).astype(t.dtype)
        out = out * Tensor._make(keep, None, False)
    return out.reshape(indices.shape)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average-pool to a fixed `output_size`: `(N, C, H, W) -> (N, C, OH, OW)`.

    Window i of an axis covers `[floor(i*H/OH), ceil((i+1)*H/OH))`, PyTorch's uneven windows.
    """
    what = "adaptive_avg_pool2d"
    x, unbatched, size = _adaptive_args(input, output_size, what)
    _float_input(x, what)
    y = AdaptiveAvgPool2d.apply(x, size, unbatched)
    return _unbatch(y, unbatched, input)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max-pool to a fixed `output_size`: `(N, C, H, W) -> (N, C, OH, OW)` (and the int64
    indices `h * W + w` of each maximum with `return_indices=True`); windows as in
    `adaptive_avg_pool2d`."""
    what = "adaptive_max_pool2d"
    x, unbatched, size = _adaptive_args(input, output_size, what)
    _float_input(x, what)
    sink: list | None = [] if return_indices else None
    y = AdaptiveMaxPool2d.apply(x, size, sink, unbatched)
    return _with_indices(y, sink, unbatched, input)


# -- 1-D pooling: the 2-D pools on a height-1 image (as PyTorch, whose 1-D pools end in a
# squeeze too) ---------------------------------------------------------------------------------


def _only_batch_empty(input: Any, unbatched_ndim: int, what: str) -> None:
    """As PyTorch's pooling: only a batch dim may be 0 (an unbatched input has none)."""
    shape = tuple(input.shape)
    if 0 in shape[input.ndim > unbatched_ndim :]:
        raise RuntimeError(
            f"{what}: input of shape {shape} is empty in a dim other than the batch (only the "
            f"batch dim of a {unbatched_ndim + 1}-D input may be 0)"
        )


def _pool1d_input(input: Any, what: str) -> None:
    _check_tensor(input, "input", what)
    if input.ndim not in (2, 3):
        raise TensorValueError(
            f"{what}: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape {tuple(input.shape)}"
        )


def _pool1d_options(
    input: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil: bool, what: str
) -> tuple:
    """`((1, k), (1, s), (0, p), (1, d))`: the 1-D options as a height-1 window, checked."""
    _pool1d_input(input, what)
    _only_batch_empty(input, 2, what)
    k = _single(kernel_size, "kernel_size", what, 1)
    no_stride = stride is None or (isinstance(stride, (list, tuple)) and not stride)
    s = k if no_stride else _single(stride, "stride", what, 1)
    p = _single(padding, "padding", what, 0)
    d = _single(dilation, "dilation", what, 1)
    if p > k // 2:
        raise TensorValueError(f"{what}: padding {p} should be at most half of kernel_size {k}")
    out = pool_k.pool2d_output_size(1, input.shape[-1], (1, k), (1, s), (0, p), (1, d), ceil)[1]
    if out < 1:
        raise TensorValueError(
            f"{what}: the output would be empty (length {out}) for input shape "
            f"{tuple(input.shape)}, kernel_size {k}, stride {s}, padding {p}, dilation {d}"
        )
    return (1, k), (1, s), (0, p), (1, d)


def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over each window of `(N, C, L)` (or `(C, L)`) input; indices index L."""
    opts = _pool1d_options(
        input, kernel_size, stride, padding, dilation, bool(ceil_mode), "max_pool1d"
    )
    out = max_pool2d(input.unsqueeze(-2), *opts, bool(ceil_mode), return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over each window of `(N, C, L)` (or `(C, L)`) input."""
    k, s, p, _ = _pool1d_options(
        input, kernel_size, stride, padding, 1, bool(ceil_mode), "avg_pool1d"
    )
    return avg_pool2d(input.unsqueeze(-2), k, s, p, ceil_mode, count_include_pad).squeeze(-2)


def _adaptive1d_size(input: Any, output_size: Any, what: str) -> int:
    _pool1d_input(input, what)
    return _single(output_size, "output_size", what, 0)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Average-pool `(N, C, L)` (or `(C, L)`) input to length `output_size` (PyTorch's uneven
    windows)."""
    n = _adaptive1d_size(input, output_size, "adaptive_avg_pool1d")
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, n)).squeeze(-2)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max-pool `(N, C, L)` (or `(C, L)`) input to length `output_size` (and the indices into L
    with return_indices=True)."""
    n = _adaptive1d_size(input, output_size, "adaptive_max_pool1d")
    out = adaptive_max_pool2d(input.unsqueeze(-2), (1, n), return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


# -- max unpooling: max pooling's indices used to put values back ----------------------------


class MaxUnpool2d(Op):
    """out (N, C, H, W) zeros with out[n, c].flat[idx[n, c, i, j]] = x[n, c, i, j]. Where two
    entries name the same position, the later one (row-major) is kept (PyTorch leaves that
    unspecified; max_pool2d's indices never name one position with different values).
    Backward reads the gradient at each index: a gather."""

    torch_name = "MaxUnpool2DBackward0"
    next_functions_count = 1

    @staticmethod
    def forward(ctx, x, idx, out_hw):
        N, C, h, w = x.shape
        flat = idx.reshape(N, C, h * w)  # (explicit sizes: N may be 0)
        ctx.flat, ctx.shape = flat, x.shape
        out = np.zeros((N, C, out_hw[0] * out_hw[1]), x.dtype)
        np.put_along_axis(out, flat, x.reshape(N, C, h * w), axis=2)
        return out.reshape(N, C, *out_hw)

    @staticmethod
    def backward(ctx, grad):
        N, C, H, W = grad.shape
        g = np.take_along_axis(grad.reshape(N, C, H * W), ctx.flat, axis=2)
        return g.reshape(ctx.shape), None, None

    @staticmethod
    def graph_backward(ctx, grad):
        N, C, H, W = grad.shape
        index = Tensor._make(ctx.flat, None, False)
        return grad.reshape(N, C, H * W).gather(2, index).reshape(ctx.shape), None, None


def _unpool_size(
    in_hw: tuple, k: tuple, s: tuple, p: tuple, output_size: Any, ndim: int, what: str
) -> tuple:
    """The spatial output size: (in - 1) * stride - 2 * padding + kernel_size, or
    `output_size` (its last len(in_hw) entries), which must lie strictly within one stride
    of that."""
    default = tuple(
        (i - 1) * si - 2 * pi + ki for i, ki, si, pi in zip(in_hw, k, s, p, strict=True)
    )
    if output_size is None:
        return default
    if isinstance(output_size, Tensor):
        output_size = output_size.tolist()
    if not isinstance(output_size, (tuple, list)):
        raise TypeError(
            f"{what}: output_size must be a tuple or list of ints, got {type(output_size).__name__}"
        )
    n = len(in_hw)
    if len(output_size) not in (n, ndim):
        raise TensorValueError(
            f"{what}: output_size must have {n} or {ndim} entries (the spatial size, or the "
            f"whole output shape), got {tuple(output_size)}"
        )
    size = tuple(int(v) for v in output_size[len(output_size) - n :])
    for d, (v, dv, sv) in enumerate(zip(size, default, s, strict=True)):
        if not dv - sv < v < dv + sv:
            raise TensorValueError(
                f"{what}: output_size {tuple(output_size)} is invalid: spatial dim {d} must lie "
                f"strictly between {dv - sv} and {dv + sv} (the default {dv} +- stride {sv})"
            )
    return size


def _check_unpool_input(x: Tensor, indices: Tensor, unbatched: str, what: str) -> None:
    """max_unpool2d/3d's input checks: `unbatched` names the unbatched layout, "(C, h, w)" or
    "(C, d, h, w)" (the batched one has N in front)."""
    dims = unbatched.count(",") + 1
    if x.ndim not in (dims, dims + 1):
        raise RuntimeError(
            f"{what}: expected a {dims}-D {unbatched} or {dims + 1}-D (N, {unbatched[1:]} input, "
            f"got shape {tuple(x.shape)}"
        )
    if x.dtype.kind != "f":
        raise RuntimeError(
            f"{what}: not implemented for {_dtype.dtype_name(x.dtype)} input (floating point "
            "only, as in PyTorch)"
        )
    if indices.dtype != np.int64:
        raise RuntimeError(
            f"{what}: indices must be an int64 tensor, got {_dtype.dtype_name(indices.dtype)}"
        )
    if tuple(indices.shape) != tuple(x.shape):
        raise RuntimeError(
            f"{what}: indices of shape {tuple(indices.shape)} must have input's shape "
            f"{tuple(x.shape)}"
        )
    if 0 in x.shape[-dims:]:
        raise RuntimeError(
            f"{what}: input of shape {tuple(x.shape)} is empty in a dim other than the batch"
        )


def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """max_pool2d's partial inverse: `(N, C, h, w)` values and the flat `H * W` positions
    max_pool2d(..., return_indices=True) gave (int64, same shape) -> `(N, C, H, W)` zeros
    with each value at its position. (C, h, w) input gives (C, H, W)."""
    what = "max_unpool2d"
    x = _check_tensor(input, "input", what)
    _check_tensor(indices, "indices", what)
    _check_unpool_input(x, indices, "(C, h, w)", what)
    k = _pair(kernel_size, "kernel_size", what, 1)
    no_stride = stride is None or (isinstance(stride, (list, tuple)) and not stride)
    s = k if no_stride else _pair(stride, "stride", what, 1)
    p = _pair(padding, "padding", what, 0)
    H, W = _unpool_size(tuple(x.shape[-2:]), k, s, p, output_size, x.ndim, what)
    idx = indices._data
    if idx.size and (idx.min() < 0 or idx.max() >= H * W):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise RuntimeError(
            f"{what}: index {bad} is out of range for the output's {H} x {W} = {H * W} positions"
        )
    x4, unbatched = _batched(x, what)
    out = MaxUnpool2d.apply(x4, idx if not unbatched else idx[None], (H, W))
    return out.squeeze(0) if unbatched else out


def max_unpool1d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """max_pool1d's partial inverse: `(N, C, l)` values and their positions in L (int64) ->
    `(N, C, L)` zeros with each value at its position; (C, l) gives (C, L)."""
    what = "max_unpool1d"
    x = _check_tensor(input, "input", what)
    _check_tensor(indices, "indices", what)
    if x.ndim not in (2, 3):
        raise RuntimeError(
            f"{what}: expected a 2-D (C, l) or 3-D (N, C, l) input, got shape {tuple(x.shape)}"
        )
    k = _single(kernel_size, "kernel_size", what, 1)
    no_stride = stride is None or (isinstance(stride, (list, tuple)) and not stride)
    s = k if no_stride else _single(stride, "stride", what, 1)
    p = _single(padding, "padding", what, 0)
    (L,) = _unpool_size((x.shape[-1],), (k,), (s,), (p,), output_size, x.ndim, what)
    # a height-1 unpooling: position l in L is position 0 * L + l of the 1 x L plane
    out = max_unpool2d(
        x.unsqueeze(-2), indices.unsqueeze(-2), (1, k), (1, s), (0, p), output_size=(1, L)
    )
    return out.squeeze(-2)


def max_unpool3d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """max_pool3d's partial inverse: `(N, C, d, h, w)` values and the flat `D * H * W`
    positions max_pool3d(..., return_indices=True) gave -> `(N, C, D, H, W)` zeros with each
    value at its position; (C, d, h, w) gives (C, D, H, W)."""
    what = "max_unpool3d"
    x = _check_tensor(input, "input", what)
    _check_tensor(indices, "indices", what)
    _check_unpool_input(x, indices, "(C, d, h, w)", what)
    k = _ntuple(kernel_size, 3, "kernel_size", what, 1)
    no_stride = stride is None or (isinstance(stride, (list, tuple)) and not stride)
    s = k if no_stride else _ntuple(stride, 3, "stride", what, 1)
    p = _ntuple(padding, 3, "padding", what, 0)
    D, H, W = _unpool_size(tuple(x.shape[-3:]), k, s, p, output_size, x.ndim, what)
    idx = indices._data
    if idx.size and (idx.min() < 0 or idx.max() >= D * H * W):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise RuntimeError(
            f"{what}: index {bad} is out of range for the output's {D} x {H} x {W} = "
            f"{D * H * W} positions"
        )
    x5 = x if x.ndim == 5 else x.unsqueeze(0)
    idx5 = idx if x.ndim == 5 else idx[None]
    N, C = x5.shape[:2]
    # the volume's flat positions address a 1 x (D*H*W) plane as 2-D unpooling's address H x W
    flat = MaxUnpool2d.apply(x5.reshape(N, C, 1, -1), idx5.reshape(N, C, 1, -1), (1, D * H * W))
    out = flat.reshape(N, C, D, H, W)
    return out if x.ndim == 5 else out.squeeze(0)


def max_pool1d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple:
    """max_pool1d's (values, indices), whatever return_indices says (as PyTorch)."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple:
    """max_pool2d's (values, indices), whatever return_indices says (as PyTorch)."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> tuple:
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> tuple:
    return adaptive_max_pool2d(input, output_size, True)


def _lp_pool(
    input: Tensor,
    norm_type: Any,
    kernel_size: Any,
    stride: Any,
    ceil_mode: bool,
    avg_pool: Any,
    max_pool: Any,
    what: str,
) -> Tensor:
    """(window sum of x^p)^(1/p): the window mean of x^p times the window size, PyTorch's
    composition (the sign * relu(abs) keeps a negative mean, from odd p, at 0 after the root).
    p = inf is the window max of |x| and p = -inf its min, as PyTorch (x^inf would give 1).
    ``avg_pool``/``max_pool``: the N-d pools, called as (x, kernel_size, stride, 0, ...)."""
    _check_tensor(input, "input", what)
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)):
        raise TypeError(f"{what}: norm_type must be a number, got {norm_type!r}")
    if math.isinf(norm_type):
        if norm_type > 0:
            return max_pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return -max_pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    ks = kernel_size if isinstance(kernel_size, (tuple, list)) else None
    size = 1
    for k in ks if ks is not None else (kernel_size,) * int(what[-2]):  # (lp_poolNd: N)
        size *= k
    out = avg_pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(size).pow(1.0 / norm_type)


def lp_pool1d(
    input: Tensor, norm_type: Any, kernel_size: int, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """Power-average pooling of `(N, C, L)` or `(C, L)` input: (sum of x^p)^(1/p) per window."""
    return _lp_pool(
        input, norm_type, kernel_size, stride, ceil_mode, avg_pool1d, max_pool1d, "lp_pool1d"
    )


def lp_pool2d(
    input: Tensor, norm_type: Any, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """Power-average pooling of `(N, C, H, W)` or `(C, H, W)` input."""
    return _lp_pool(
        input, norm_type, kernel_size, stride, ceil_mode, avg_pool2d, max_pool2d, "lp_pool2d"
    )


# -- fractional max pooling (Graham, 2015) ------------------------------------------------------


class FractionalMaxPool2d(Op):
    """Max over pseudo-randomly placed kh x kw windows (kernels/pool.py's
    fractional_max_pool2d_forward); backward sends each window's gradient to its argmax, as
    max_pool2d's (the same plane indices)."""

    torch_saves = True  # (PyTorch's node saves the input and the indices)
    torch_name = "FractionalMaxPool2DBackward0"
    next_functions_count = 1

    @staticmethod
    def forward(ctx, x, kernel, out_size, samples, indices_out):
        y, indices = pool_k.fractional_max_pool2d_forward(x, kernel, out_size, samples)
        ctx.indices, ctx.shape = indices, x.shape
        ctx.save_for_backward(x)  # (as PyTorch's node)
        if indices_out is not None:
            indices_out.append(indices)
        return y

    @staticmethod
    def backward(ctx, grad):
        return pool_k.max_pool2d_backward(grad, ctx.indices, ctx.shape), None, None, None, None

    graph_backward = staticmethod(linear_graph_backward)

    @staticmethod
    def linear_apply(ctx, t):
        return _gather_argmax(t, ctx.indices, ctx.shape, None)


def fractional_max_pool2d(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> Any:
    """Fractional max pooling: ``(N, C, H, W)`` (or ``(C, H, W)``) -> ``(N, C, OH, OW)``, the
    windows at PyTorch's pseudo-random places. ``output_size``, or ``output_ratio`` (OH =
    int(H * ratio)); ``_random_samples (N, C, 2)`` in [0, 1) places them (drawn with
    ``tinyconv.rand``, as PyTorch's ``torch.rand``, when not given: the same windows after the
    same seed). With return_indices, also the argmax indices into the H*W plane."""
    what = "fractional_max_pool2d"
    _check_tensor(input, "input", what)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{what}(): Expected 3D or 4D tensor, but got: {list(input.shape)}")
    non_batch = input.shape[1:] if input.ndim == 4 else input.shape
    if 0 in non_batch:
        raise RuntimeError(
            f"{what}(): Expected input to have non-zero size for non-batch dimensions, but got "
            f"{list(input.shape)}"
        )
    if output_size is None and output_ratio is None:
        raise TensorValueError(
            f"{what} requires specifying either an output_size or an output_ratio"
        )
    if output_size is None:
        if len(output_ratio) > 2:  # (PyTorch's check: a bare float raises TypeError here too)
            raise TensorValueError(
                f"{what} requires output_ratio to either be a single Int or tuple of Ints."
            )
        ratio = tuple(output_ratio) * (2 // len(output_ratio))
        output_size = (int(input.shape[-2] * ratio[0]), int(input.shape[-1] * ratio[1]))
    kh, kw = _pair(kernel_size, "kernel_size", what, 1)
    oh, ow = _pair(output_size, "output_size", what, 1)
    if input.dtype.kind != "f":
        raise DtypeNotImplementedError(
            f'"{what}_out_frame" not implemented for {_dtype.scalar_type_name(input.dtype)!r}'
        )
    H, W = input.shape[-2:]
    for name, out, k, size in (("height", oh, kh, H), ("width", ow, kw, W)):
        if k < 1 or out < 1 or out + k - 1 > size:
            raise RuntimeError(
                f"{what}(): pool {name} {k} too large relative to input {name} {size} "
                f"(output {name} {out})"
            )
    x, unbatched = _batched(input, what)
    if _random_samples is None:
        _random_samples = rand(x.shape[0], x.shape[1], 2, dtype=input.dtype)
    samples = _random_samples._data if isinstance(_random_samples, Tensor) else None
    if samples is None or samples.shape != (x.shape[0], x.shape[1], 2):
        raise RuntimeError(
            f"{what}(): _random_samples must be a tensor of shape {(x.shape[0], x.shape[1], 2)}, "
            f"got {getattr(_random_samples, 'shape', type(_random_samples).__name__)}"
        )
    sink: list | None = [] if return_indices else None
    y = FractionalMaxPool2d.apply(x, (kh, kw), (oh, ow), samples, sink)
    return _with_indices(y, sink, unbatched, input)


def fractional_max_pool2d_with_indices(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> tuple:
    """fractional_max_pool2d's (values, indices), whatever return_indices says."""
    return fractional_max_pool2d(
        input, kernel_size, output_size, output_ratio, True, _random_samples
    )
