"""dropout: zero elements with probability p, scale the rest by 1/(1-p), in training only;
dropout1d/2d/3d: the same for whole channels (one draw per channel); alpha_dropout and
feature_alpha_dropout: SELU's version, which sets dropped elements to SELU's negative
saturation and rescales so that mean and variance are kept. Their masks are PyTorch's
(`manual_seed` gives its numbers)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ... import _dtype, _rng
from ..._errors import TensorValueError
from ...autograd.ops import Op
from ...kernels.layout import iterator_order
from ...tensor import Tensor
from ._checks import _check_tensor, _maybe_inplace


class Noise(Op):
    """x * noise (+ shift): the forward of the dropouts (noise: the kept elements' scale) and
    of rrelu (noise: the drawn slopes). The drawn arrays are constants, so the gradient is
    grad * noise; the node carries the name of PyTorch's node for the calling op."""

    torch_name = "MulBackward0"

    @staticmethod
    def forward(ctx, x, noise, shift=None, name="MulBackward0"):
        ctx.noise, ctx.torch_name = noise, name
        return x * noise if shift is None else x * noise + shift

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.noise, None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        return grad * Tensor._make(ctx.noise, None, False), None, None, None  # a constant


def _keep(shape: tuple, p: float, dtype: np.dtype) -> np.ndarray:
    """PyTorch's dropout draw, bernoulli(1 - p) from the shared stream (a float64 uniform
    < 1 - p per element, its default CPU kernel), as 0/1 of `dtype`."""
    return _rng.bernoulli(_rng._rng(), shape, 1.0 - p).astype(dtype)


def _in_memory_order(arr: np.ndarray, draw: Any) -> np.ndarray:
    """draw(shape) laid out in arr's stride order. PyTorch draws a dropout mask into
    `empty_like(input)`, which keeps the input's stride order (a transpose, a batch_first
    attention output), and fills it in memory order; so the mask of a permuted input is the
    permuted mask of its memory (and the product keeps the input's layout)."""
    if arr.ndim < 2 or arr.flags.c_contiguous:
        return draw(arr.shape)
    order = iterator_order(arr.shape, [arr.strides])
    if order == sorted(order):
        return draw(arr.shape)
    return draw(tuple(arr.shape[d] for d in order)).transpose(np.argsort(order))


def _noise(shape: tuple, p: float, dtype: np.dtype) -> np.ndarray:
    """PyTorch's dropout noise: the kept elements divided by 1 - p in the input's dtype;
    p = 1 draws nothing and drops everything, as PyTorch."""
    if p == 1:
        return np.zeros(shape, dtype)
    if dtype.kind != "f":
        return _keep(shape, p, dtype) / dtype.type(1.0 - p)
    # the bool mask divided straight into the result: the same numbers as casting it first,
    # one pass instead of two
    out = np.empty(shape, dtype)
    np.divide(_rng.bernoulli(_rng._rng(), shape, 1.0 - p), dtype.type(1.0 - p), out=out)
    return out


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (training only)."""
    if not 0 <= p <= 1:
        raise TensorValueError(f"dropout: p must be between 0 and 1, got {p}")
    _check_tensor(input, "input", "dropout")
    if not training or p == 0:
        return input
    if input._data.dtype.kind != "f" and p < 1:
        # (PyTorch's kernel scales the kept elements by 1 / (1 - p) in place: a float can't go
        # into an integer tensor, so it raises; here the mask came out nan or inf)
        raise RuntimeError(
            f"dropout: result type Float can't be cast to the desired output type "
            f"{_dtype.dtype_name(input._data.dtype)} (dropout needs a floating point input)"
        )
    mask = _in_memory_order(input._data, lambda s: _noise(s, p, input._data.dtype))
    return _maybe_inplace(input, lambda t: Noise.apply(t, mask), inplace, "dropout")


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
        raise TensorValueError(
            f"{what}: p (the dropout probability) must be between 0 and 1, got {p}"
        )
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
    return _maybe_inplace(input, lambda t: Noise.apply(t, mask), inplace, what)


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
    `(N, C, L)`, with a warning, as PyTorch does; so is any other rank (dims 0 and 1 as N and C:
    an (N, F) input loses single elements), with PyTorch's deprecation warning, because
    published code (the "Defining a Neural Network" recipe) puts Dropout2d after a Linear."""
    if isinstance(input, Tensor) and input.ndim not in (3, 4) and 0 <= p <= 1:
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and "
            "will result in an error in a future release. To retain the behavior and silence "
            "this warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
        return feature_dropout(input, p, training, inplace)
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


def feature_dropout(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Dropout of whole channels of an `(N, C, *)` input of any rank >= 2 (torch.feature_dropout;
    as ATen, the rank is checked in training only)."""
    _check_tensor(input, "input", "feature_dropout")
    if training and p != 0:
        _check_feature_rank(input, "feature_dropout")
    batched = {input.ndim: True}  # (any rank: dims 0 and 1 are N and C)
    return _feature_dropout(input, p, training, inplace, "feature_dropout", batched, "")


def _check_feature_rank(input: Tensor, what: str) -> None:
    if input.ndim < 2:
        raise RuntimeError(
            f"{what}: feature dropout requires at least 2 dimensions (N, C, ...) in the input, "
            f"got shape {tuple(input.shape)}"
        )


# SELU's negative saturation, -scale * alpha: where alpha dropout sends a dropped element
_SELU_SATURATION = 1.7580993408473766


def _alpha_dropout(
    input: Tensor, p: float, training: bool, inplace: bool, feature: bool, what: str
) -> Tensor:
    """Alpha dropout of elements (or, `feature`, of whole channels: dims 0 and 1 of the input).
    A dropped x becomes -saturation, then every element a * x + b, with a and b chosen so that
    zero mean and unit variance stay so; rounded step by step in the input's dtype as PyTorch:
    out = x * (keep * a) + ((keep - 1) * (sat * a) + sat * a * p)."""
    if not 0 <= p <= 1:
        raise TensorValueError(
            f"{what}: dropout probability has to be between 0 and 1, but got {p}"
        )
    _check_tensor(input, "input", what)
    if not training or p == 0 or input.numel() == 0:
        return input
    dt = input._data.dtype
    if p == 1:  # (PyTorch: everything zero, no draw)
        return _maybe_inplace(input, lambda t: Noise.apply(t, np.zeros((), dt)), inplace, what)
    if feature:
        _check_feature_rank(input, what)
    if dt.kind != "f":
        raise RuntimeError(f"{what}: the result is a float and cannot be stored in a {dt} input")
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2) if feature else tuple(input.shape)
    keep = (
        _keep(shape, p, dt) if feature else _in_memory_order(input._data, lambda s: _keep(s, p, dt))
    )
    a = 1.0 / math.sqrt((_SELU_SATURATION**2 * p + 1) * (1 - p))
    shift = (keep - 1) * dt.type(_SELU_SATURATION * a) + dt.type(_SELU_SATURATION * a * p)
    noise = np.broadcast_to(keep * dt.type(a), input.shape)

    def apply(t: Tensor) -> Tensor:  # (PyTorch's node: the add_ of the shift after the multiply)
        return Noise.apply(t, noise, shift, "AddBackward0")

    return _maybe_inplace(input, apply, inplace, what)


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Alpha dropout (for SELU networks): each element dropped with probability p to SELU's
    negative saturation, then all rescaled to keep mean and variance; input of any shape.
    Note PyTorch's default here, training=False."""
    return _alpha_dropout(input, p, training, inplace, False, "alpha_dropout")


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Alpha dropout of whole channels: one draw per (n, c) of an `(N, C, *)` input."""
    return _alpha_dropout(input, p, training, inplace, True, "feature_alpha_dropout")
