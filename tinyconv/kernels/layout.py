"""Output layouts as PyTorch chooses them (pure NumPy; no number depends on a layout).

PyTorch's CPU kernels for pooling, upsampling, normalisation and padding write their output
in the input's "suggested memory format": channels-last when the input is stored
channels-last (an (N, C, H, W) tensor held as (N, H, W, C) in memory), else contiguous.
Its elementwise ops keep any dense input's stride order. NumPy's kernels here write C
order, so these helpers lay the result out again; they cost a copy only for an input that
is not C-contiguous (a C-contiguous input answers at the first test).
"""

from __future__ import annotations

import numpy as np

# rank -> the order of dims in memory (outermost first) of that rank's channels-last format
_CHANNELS_LAST = {4: (0, 2, 3, 1), 5: (0, 2, 3, 4, 1)}


def c_order(a: np.ndarray) -> np.ndarray:
    """a, or a C-ordered copy when it is not C-contiguous (np.ascontiguousarray would also
    turn a 0-d array into a 1-d one)."""
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def channels_last_order(a: np.ndarray) -> tuple | None:
    """The channels-last dim order `a` is stored in (not also C-contiguous), else None."""
    if a.flags.c_contiguous:
        return None
    order = _CHANNELS_LAST.get(a.ndim)
    if order is None or not a.transpose(order).flags.c_contiguous:
        return None
    return order


def like_channels_last(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """y (an op's output) channels-last when the input x is, as PyTorch's kernels write it."""
    order = channels_last_order(x)
    if order is None or y.ndim != x.ndim:
        return y
    out = np.empty([y.shape[d] for d in order], y.dtype).transpose(np.argsort(order))
    if out.strides == y.strides:  # (already so, size-1 dims' strides included)
        return y
    np.copyto(out, y)
    return out


def like_input(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """y (an elementwise op's output, x's shape) in x's memory order when x is not
    C-contiguous, as PyTorch's elementwise ops keep a transposed or channels-last layout."""
    if x.flags.c_contiguous or y.shape != x.shape or not y.flags.c_contiguous:
        return y
    out = np.empty_like(x, dtype=y.dtype)  # (NumPy's 'K' order: x's dense stride order)
    np.copyto(out, y)
    return out
