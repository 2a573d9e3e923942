"""Output layouts as PyTorch chooses them (pure NumPy; no number depends on a layout).

PyTorch's CPU kernels for pooling, upsampling, normalisation and padding write their output
in the input's "suggested memory format": channels-last when the input is stored
channels-last (an (N, C, H, W) tensor held as (N, H, W, C) in memory), else contiguous.
Its elementwise ops keep any dense input's stride order. NumPy's kernels here write C
order, so these helpers lay the result out again; they cost a copy only for an input that
is not C-contiguous (a C-contiguous input answers at the first test).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_ndarray = np.ndarray

# rank -> the order of dims in memory (outermost first) of that rank's channels-last format
_CHANNELS_LAST = {4: (0, 2, 3, 1), 5: (0, 2, 3, 4, 1)}


def c_order(a: np.ndarray) -> np.ndarray:
    """a, or a C-ordered copy when it is not C-contiguous (np.ascontiguousarray would also
    turn a 0-d array into a 1-d one)."""
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def channels_last_order(a: np.ndarray) -> tuple | None:
    """The channels-last dim order `a` is stored densely in (not also C-contiguous), else
    None: the test of kernels that keep a dense input's layout (batch norm)."""
    if a.flags.c_contiguous:
        return None
    order = _CHANNELS_LAST.get(a.ndim)
    if order is None or not a.transpose(order).flags.c_contiguous:
        return None
    return order


def suggested_order(a: np.ndarray) -> tuple | None:
    """The channels-last dim order of `a`'s rank when PyTorch's suggest_memory_format calls
    `a` channels-last (strides_like_channels_last), else None: the test of convolution,
    pooling, interpolate and pad."""
    order = _CHANNELS_LAST.get(a.ndim)
    if order is None:
        return None
    shape = a.shape
    if shape[1] > 1 and a.flags.c_contiguous and math.prod(shape[2:]) > 1:
        return None  # (several channels and pixels in C order: never channels-last)
    if not strides_like_channels_last(shape, a.strides):  # (bytes do as well as elements)
        return None
    return order


def _in_order(y: np.ndarray, order: tuple | None) -> np.ndarray:
    """y laid out densely in the dim order `order` (outermost first; None: y as it is)."""
    if order is None or y.ndim != len(order):
        return y
    out = np.empty([y.shape[d] for d in order], y.dtype).transpose(np.argsort(order))
    if out.strides == y.strides:  # (already so, size-1 dims' strides included)
        return y
    np.copyto(out, y)
    return out


def like_channels_last(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """y (an op's output) channels-last when the input x is stored so (channels_last_order),
    as PyTorch's batch norm writes it."""
    return _in_order(y, channels_last_order(x))


def like_suggested(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """y (an op's output) channels-last when PyTorch's suggest_memory_format calls the input
    x so (suggested_order), as its pooling, interpolate and pad write it."""
    return _in_order(y, suggested_order(x))


def like_input(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """y (an elementwise op's output, x's shape) in x's memory order when x is not
    C-contiguous, as PyTorch's elementwise ops keep a transposed or channels-last layout."""
    if x.flags.c_contiguous or y.shape != x.shape or not y.flags.c_contiguous:
        return y
    out = np.empty_like(x, dtype=y.dtype)  # (NumPy's 'K' order: x's dense stride order)
    np.copyto(out, y)
    return out


def strides_like_channels_last(shape: tuple, strides: tuple) -> bool:
    """Whether a 4-d (5-d) tensor of `shape` and `strides` (in elements, or all in bytes)
    is laid out channels-last (channels-last-3d) in PyTorch's sense, its
    suggest_memory_format's, which convolutions, pooling, interpolate and pad follow: dims
    C, W, H, (D,) N in increasing stride order, each stride at least the extent of the dims
    before it. Ambiguous cases are contiguous, as there: a C of stride 0, an (N, 1, 1, 1)
    tensor (N's stride equal to C's); so is an empty tensor."""
    rank = len(shape)
    if rank not in _CHANNELS_LAST or strides[1] == 0:
        return False
    least = 0
    for d in (1, *range(rank - 1, 1, -1), 0):
        size, stride = shape[d], strides[d]
        if size == 0 or stride < least or (d == 0 and least == strides[1]):
            return False
        least = stride * size if size > 1 else stride
    return True


def iterator_order(shape: tuple, operand_strides: list) -> list[int]:
    """The dims of an elementwise result of `shape` from slowest to fastest, as PyTorch's
    TensorIterator orders them from its operands' strides (one list per operand, aligned
    with `shape`; 0 for a broadcast dim).

    An insertion sort, innermost first: two dims swap when the first operand whose strides
    tell them apart says so (a stride of 0 tells nothing; of equal strides the longer dim
    goes outside); when no operand tells, they keep C order. So `x.t() + y` follows x.t()
    (F order) and `y + x.t()` follows y, where NumPy takes C order whenever its inputs
    disagree."""
    nd = len(shape)

    def swap(d0: int, d1: int) -> int:
        """1 if dim d0 goes inside d1, -1 if outside, 0 if no operand tells."""
        for st in operand_strides:
            s0, s1 = abs(st[d0]), abs(st[d1])
            if s0 == 0 or s1 == 0:
                continue
            if s0 != s1:
                return 1 if s0 > s1 else -1
            if shape[d0] > shape[d1]:
                return 1
        return 0

    perm = list(range(nd - 1, -1, -1))  # innermost first
    for i in range(1, nd):
        j = i
        for k in range(i - 1, -1, -1):
            c = swap(perm[k], perm[j])
            if c > 0:
                perm[k], perm[j] = perm[j], perm[k]
                j = k
            elif c < 0:
                break
    return perm[::-1]


def elementwise_order(shape: tuple, *operands: Any) -> tuple | None:
    """The dim order (outermost first) in which PyTorch lays out an elementwise result of
    `shape` computed from `operands` (iterator_order; NumPy arrays, where numbers and 0-d
    arrays take no part), or None for C order."""
    nd = len(shape)
    if nd < 2:
        return None
    strides = []
    for a in operands:
        if a.__class__ is not _ndarray or a.ndim == 0:
            continue
        lead = nd - a.ndim
        st = [0] * lead
        for i, (size, stride) in enumerate(zip(a.shape, a.strides, strict=True)):
            st.append(0 if size == 1 and shape[lead + i] != 1 else stride)
        strides.append(st)
    order = tuple(iterator_order(shape, strides))
    return None if order == tuple(range(nd)) else order


def like_operands(y: np.ndarray, a: Any, b: Any) -> np.ndarray:
    """y, the elementwise result of a and b, in PyTorch's layout (elementwise_order): a copy
    only when NumPy chose another. A result of one dim or none, or two C-contiguous operands
    (most calls), answer at once: this runs for every binary op (~0.1 us)."""
    if y.__class__ is not _ndarray or y.ndim < 2:
        return y
    if (a.__class__ is not _ndarray or a.flags.c_contiguous) and (
        b.__class__ is not _ndarray or b.flags.c_contiguous
    ):
        return y
    order = elementwise_order(y.shape, a, b)
    if order is None:
        return y if y.flags.c_contiguous else np.ascontiguousarray(y)
    return _in_order(y, order)
