"""F.ctc_loss: the connectionist temporal classification loss, as PyTorch's.

The recursions (alpha forward, beta backward) and the gradient's derivation live in
tinyconv/kernels/ctc.py; this module checks the arguments as PyTorch does, brings the targets
to one padded (N, S) layout, and wraps the kernels in an op.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _dtype
from ..._errors import TensorValueError
from ...autograd.ops import Op
from ...kernels.ctc import ctc_alpha, ctc_grad
from ...tensor import Tensor

_WHAT = "ctc_loss"


class CtcLoss(Op):
    """Per-sample CTC losses (N,): -log p(target_n | log_probs[:, n]).

    Saves log_probs, the loss and log_alpha (what PyTorch's node saves); backward runs the
    beta recursion and returns PyTorch's gradient exp(log_probs) - posterior (see
    kernels/ctc.py for why it is not -posterior), times the loss's gradient.
    """

    torch_name = "CtcLossBackward0"
    next_functions_count = 1  # PyTorch's node shows the log_probs edge only

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        loss, log_alpha = ctc_alpha(log_probs, targets, input_lengths, target_lengths, blank)
        ctx.save_for_backward(log_probs)
        ctx.config = (targets, input_lengths, target_lengths, blank, zero_infinity, loss, log_alpha)
        return loss.astype(log_probs.dtype, copy=False)

    @staticmethod
    def _grad(log_probs: np.ndarray, config: tuple, grad: np.ndarray) -> np.ndarray:
        targets, input_lengths, target_lengths, blank, zero_infinity, loss, log_alpha = config
        g = ctc_grad(log_probs, targets, input_lengths, target_lengths, blank, loss, log_alpha)
        g = g * grad.astype(g.dtype, copy=False)[None, :, None]
        if zero_infinity:  # an impossible sample contributes exactly 0 (not 0 * nan)
            g = np.where(np.isposinf(loss)[None, :, None], 0, g).astype(g.dtype, copy=False)
        return g

    @staticmethod
    def backward(ctx, grad):
        (log_probs,) = ctx.saved_tensors
        return CtcLoss._grad(log_probs, ctx.config, grad), None, None, None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        # As in PyTorch, a create_graph backward gives a gradient that requires grad, but
        # differentiating it again raises: its node is CtcLossGrad below.
        (log_probs,) = ctx.saved_tensors
        return CtcLossGrad.apply(log_probs, grad, ctx.config), None, None, None, None, None


class CtcLossGrad(Op):
    """ctc_loss's gradient as a node of the graph (backward(create_graph=True)); it has no
    derivative of its own, as in PyTorch, whose node for it prints `NotImplemented`."""

    torch_name = "NotImplemented"
    next_functions_count = 2

    @staticmethod
    def forward(ctx, log_probs, grad, config):
        return CtcLoss._grad(log_probs, config, grad)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(
            "ctc_loss: the derivative of its backward is not implemented (as in PyTorch: "
            "derivative for aten::_ctc_loss_backward is not implemented), so ctc_loss "
            "cannot be differentiated twice"
        )

    graph_backward = backward  # (raises)


def _lengths(v: Any, name: str, n: int) -> np.ndarray:
    """A lengths argument as an int64 (N,) array: a Tensor of integers (any shape with N
    elements) or a tuple/list of ints, as PyTorch accepts them."""
    if isinstance(v, Tensor):
        if v.dtype.kind not in "iu":
            raise RuntimeError(
                f"{_WHAT}: {name} must be integral, got a {_dtype.dtype_name(v.dtype)} tensor"
            )
        arr = v._data.reshape(-1).astype(np.int64)
    else:
        arr = np.array([int(x) for x in v], dtype=np.int64)
    if arr.shape != (n,):
        raise RuntimeError(
            f"{_WHAT}: {name} must be of size batch_size ({n}), got {arr.size} lengths"
        )
    return arr


def _is_int(x: Any) -> bool:
    if isinstance(x, Tensor):
        return x.ndim == 0 and x.dtype.kind in "iu"
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _check_lengths_kind(input_lengths: Any, target_lengths: Any) -> None:
    """Both lengths Tensors, or both tuples/lists of ints (PyTorch's two signatures)."""
    both_tensors = isinstance(input_lengths, Tensor) and isinstance(target_lengths, Tensor)
    both_seqs = all(
        isinstance(v, (tuple, list)) and all(_is_int(x) for x in v)
        for v in (input_lengths, target_lengths)
    )
    if not (both_tensors or both_seqs):
        raise TypeError(
            f"{_WHAT}: input_lengths and target_lengths must both be Tensors or both be "
            "tuples/lists of ints, got "
            f"{type(input_lengths).__name__} and {type(target_lengths).__name__}"
        )


def _padded_targets(targets: np.ndarray, target_lengths: np.ndarray, n: int) -> np.ndarray:
    """Targets as a padded (N, S) int64 array: a 2-D target is already padded (its rows must
    hold their target lengths); a 1-D one is the targets concatenated, cut into rows here."""
    if targets.ndim == 2:
        if targets.shape[0] != n:
            raise RuntimeError(
                f"{_WHAT}: padded targets must have one row per sample ({n}), got shape "
                f"{targets.shape}"
            )
        longest = int(target_lengths.max(initial=0))
        if longest > targets.shape[1]:
            raise RuntimeError(
                f"{_WHAT}: targets of shape {targets.shape} are too short: target_lengths "
                f"asks for {longest} labels in a row"
            )
        return targets
    total = int(target_lengths.sum())
    if targets.shape[0] != total:
        raise RuntimeError(
            f"{_WHAT}: 1-D (concatenated) targets must hold sum(target_lengths) = {total} "
            f"labels, got {targets.shape[0]}"
        )
    width = int(target_lengths.max(initial=0))
    starts = np.cumsum(target_lengths) - target_lengths
    idx = starts[:, None] + np.arange(width)
    inside = np.arange(width) < target_lengths[:, None]
    return np.where(inside, targets[np.where(inside, idx, 0)] if total else 0, 0)


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """The CTC loss of targets given per-frame log-probabilities.

    log_probs (T, N, C) (log_softmax over C) or unbatched (T, C); targets padded (N, S) or
    concatenated 1-D (sum(target_lengths),) (unbatched: (S,) or (1, S)); input_lengths and
    target_lengths (N,) Tensors or tuples/lists of ints. reduction 'none' gives (N,);
    'mean' divides each loss by its target length (at least 1) and averages over the batch;
    'sum' adds them. An impossible target has loss inf (0, with a zero gradient, when
    zero_infinity=True). The gradient is PyTorch's (see tinyconv/kernels/ctc.py).
    """
    if not isinstance(log_probs, Tensor):
        raise TypeError(f"{_WHAT}: log_probs must be a Tensor, got {type(log_probs).__name__}")
    if not isinstance(targets, Tensor):
        raise TypeError(f"{_WHAT}: targets must be a Tensor, got {type(targets).__name__}")
    _check_lengths_kind(input_lengths, target_lengths)
    if not _is_int(blank):
        raise TypeError(f"{_WHAT}: blank must be an int, got {type(blank).__name__}")
    if not isinstance(zero_infinity, (bool, np.bool_)):
        raise TypeError(
            f"{_WHAT}: zero_infinity must be a bool, got {type(zero_infinity).__name__}"
        )
    if reduction not in ("mean", "sum", "none"):
        raise TensorValueError(
            f"{_WHAT}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
        )
    if log_probs.dtype not in (_dtype.float32, _dtype.float64):
        raise NotImplementedError(
            f"{_WHAT}: log_probs must be float32 or float64 (as PyTorch on the CPU), got "
            f"{_dtype.dtype_name(log_probs.dtype)}"
        )
    if log_probs.ndim not in (2, 3):
        raise RuntimeError(
            f"{_WHAT}: log_probs must be 3-D (T, N, C) or unbatched 2-D (T, C), got shape "
            f"{tuple(log_probs.shape)}"
        )
    if log_probs.numel() == 0:
        raise RuntimeError(
            f"{_WHAT}: log_probs tensor must not be empty, got shape {tuple(log_probs.shape)}"
        )
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    T, N, C = lp.shape
    blank = int(blank)
    if not 0 <= blank < C:
        raise RuntimeError(f"{_WHAT}: blank must be in label range [0, {C}), got {blank}")
    if targets.ndim not in (1, 2):
        raise RuntimeError(
            f"{_WHAT}: targets must be 2-D padded (N, S) or 1-D concatenated, got shape "
            f"{tuple(targets.shape)}"
        )
    il = _lengths(input_lengths, "input_lengths", N)
    tl = _lengths(target_lengths, "target_lengths", N)
    for name, arr in (("input_lengths", il), ("target_lengths", tl)):
        if arr.size and arr.min() < 0:
            raise RuntimeError(f"{_WHAT}: {name} must be >= 0, got {arr.tolist()}")
    if il.size and il.max() > T:
        raise RuntimeError(
            f"{_WHAT}: input_lengths must be at most the {T} frames of log_probs, got {il.tolist()}"
        )
    # PyTorch reads float (and bool) targets too, truncated to integers
    tg = _padded_targets(targets._data.astype(np.int64), tl, N)
    used = np.arange(tg.shape[1]) < tl[:, None]
    bad = used & ((tg < 0) | (tg >= C) | (tg == blank))
    if bad.any():
        n, s = (int(i[0]) for i in np.nonzero(bad))
        # PyTorch reads outside the class axis here (or computes with the blank as a label)
        raise RuntimeError(
            f"{_WHAT}: targets must be class indices in [0, {C}) other than the blank "
            f"({blank}), got {int(tg[n, s])} (sample {n}, position {s})"
        )
    tg = np.where(used, tg, 0)
    loss = CtcLoss.apply(lp, tg, il, tl, blank, bool(zero_infinity))
    if zero_infinity:
        # as PyTorch: where(loss == inf, 0, loss) after its CTC node
        zeros = Tensor._make(np.zeros(loss.shape, loss._data.dtype), None, False)
        loss = zeros.where(Tensor._make(np.isposinf(loss._data), None, False), loss)
    if reduction == "mean":
        per_label = np.maximum(tl, 1).astype(loss._data.dtype)
        return (loss / Tensor._make(per_label, None, False)).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.squeeze(0) if unbatched else loss
