"""dropout: zero elements with probability p, scale the rest by 1/(1-p), in training only;
dropout1d/2d/3d: the same for whole channels (one draw per channel)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ... import _rng
from ...autograd.ops import Op
from ...tensor import Tensor
from ._checks import _check_tensor, _maybe_inplace


class Dropout(Op):
    torch_name = "MulBackward0"

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.mask, None

    @staticmethod
    def graph_backward(ctx, grad):
        return grad * Tensor._make(ctx.mask, None, False), None  # the mask is a constant


def _noise(shape: tuple, p: float, dtype: np.dtype) -> np.ndarray:
    """PyTorch's dropout noise: bernoulli(1 - p) from the shared stream (a float64 uniform
    < 1 - p per element, PyTorch's default CPU kernel), divided by 1 - p in the input's dtype;
    p = 1 draws nothing and drops everything, as PyTorch."""
    if p == 1:
        return np.zeros(shape, dtype)
    keep = _rng.uniform(_rng._rng(), shape, np.float64) < 1.0 - p
    return keep.astype(dtype) / dtype.type(1.0 - p)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (training only)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be between 0 and 1, got {p}")
    _check_tensor(input, "input", "dropout")
    if not training or p == 0:
        return input
    mask = _noise(tuple(input.shape), p, input._data.dtype)
    return _maybe_inplace(input, lambda t: Dropout.apply(t, mask), inplace, "dropout")


def _feature_mask(input: Tensor, p: float, batched: bool) -> Any:
    """One keep/drop draw per channel (dim 1, or dim 0 unbatched), scaled by 1 / (1 - p),
    shaped to broadcast over the channel's elements."""
    lead = 2 if batched else 1
    shape = tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)
    return np.broadcast_to(_noise(shape, p, input._data.dtype), input.shape)


def _feature_dropout(
    input: Tensor,
    p: float,
    training: bool,
    inplace: bool,
    what: str,
    ranks: dict,
    expected: str,
) -> Tensor:
    """Channel dropout: zero whole channels with probability p (the same draw for all of a
    channel's elements), scale the rest by 1 / (1 - p); training only. `ranks` maps each
    accepted input rank to whether it is batched."""
    if not 0 <= p <= 1:
        raise ValueError(f"{what}: p (the dropout probability) must be between 0 and 1, got {p}")
    _check_tensor(input, "input", what)
    if input.ndim not in ranks:
        raise RuntimeError(f"{what}: expected {expected} input, got shape {tuple(input.shape)}")
    if what == "dropout2d" and input.ndim == 3:
        warnings.warn(  # PyTorch's rule (and warning): channel-wise dropout of (N, C, L)
            "dropout2d: received a 3-D input; it is taken as (N, C, L) and whole channels are "
            "dropped (1-D channel dropout); use dropout1d for that, or give (N, C, H, W) input",
            stacklevel=3,
        )
    if not training or p == 0:
        return input
    mask = _feature_mask(input, p, ranks[input.ndim])
    return _maybe_inplace(input, lambda t: Dropout.apply(t, mask), inplace, what)


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of `(N, C, L)` (or unbatched `(C, L)`) input with probability p."""
    return _feature_dropout(
        input,
        p,
        training,
        inplace,
        "dropout1d",
        {2: False, 3: True},
        "a 2-D (C, L) or 3-D (N, C, L)",
    )


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of `(N, C, H, W)` input with probability p. A 3-D input is taken as
    `(N, C, L)`, with a warning, as PyTorch does."""
    return _feature_dropout(
        input, p, training, inplace, "dropout2d", {3: True, 4: True}, "a 3-D or 4-D (N, C, H, W)"
    )


def dropout3d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of `(N, C, D, H, W)` (or unbatched `(C, D, H, W)`) input with
    probability p."""
    return _feature_dropout(
        input,
        p,
        training,
        inplace,
        "dropout3d",
        {4: False, 5: True},
        "a 4-D (C, D, H, W) or 5-D (N, C, D, H, W)",
    )
