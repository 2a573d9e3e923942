"""Losses: mse, l1, nll, cross_entropy, binary_cross_entropy(_with_logits), smooth_l1,
huber, kl_div, the margin, embedding and likelihood losses; reduction
"mean" | "sum" | "none" as in PyTorch. Inputs (N, C) or (N, C, d1, ...) with class targets (N, ...).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ... import _dtype
from ..._errors import (
    DtypeNotImplementedError,
    TensorIndexError,
    TensorTypeError,
    TensorValueError,
)
from ..._tensor_math import _fused
from ...autograd import ops_extra
from ...autograd.function import sum_to_shape
from ...autograd.ops import Op
from ...kernels.opmath import mul_number
from ...tensor import Tensor, _as_tensor, _to_array
from ._checks import _check_tensor, _not_differentiable
from .activations import Softplus, log_softmax, logsigmoid

# -- losses ----------------------------------------------------------------------------------


# PyTorch runs these losses as one fused node; tinyconv builds them from smaller ops, and
# names the last one as PyTorch names its node, so that `print(loss)` reads the same.
_LOSS_NAMES = {
    "mse_loss": "MseLossBackward0",
    "smooth_l1_loss": "SmoothL1LossBackward0",
    "huber_loss": "HuberLossBackward0",
    "binary_cross_entropy": "BinaryCrossEntropyBackward0",
    "binary_cross_entropy_with_logits": "BinaryCrossEntropyWithLogitsBackward0",
    "multi_margin_loss": "MultiMarginLossBackward0",
    "multilabel_margin_loss": "MultilabelMarginLossBackward0",
    "soft_margin_loss": "SoftMarginLossBackward0",
}


def _reduce(loss: Tensor, reduction: str, what: str, inputs: tuple = ()) -> Tensor:
    """``loss`` reduced; a fused loss's last node named as PyTorch names its node, and showing
    that node's edges: those of ``inputs`` (input, target), not the composite's last op's."""
    if reduction in ("mean", "sum", "none"):
        out = loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss
        node = out.grad_fn
        if what in _LOSS_NAMES and node is not None:
            node.torch_name = _LOSS_NAMES[what]
            if inputs:
                node.shown_edges = tuple(
                    (t.grad_fn or t) if t.requires_grad else None for t in inputs
                )
                # PyTorch's fused node saves input and target: an in-place change of either
                # before backward raises there, so it does here (the composite saved neither)
                node._saved_versions = node._saved_versions + tuple(
                    (t._vc, t._vc[0], t._data.shape) for t in inputs if isinstance(t, Tensor)
                )
        return out
    raise TensorValueError(f"{what}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _weighted(loss: Tensor, weight: Any, what: str) -> Tensor:
    """loss * weight, with a clear error when weight doesn't broadcast to the loss's shape."""
    w = _as_tensor(weight)
    try:
        if np.broadcast_shapes(tuple(w.shape), tuple(loss.shape)) != tuple(loss.shape):
            raise ValueError
    except ValueError:
        raise TensorValueError(
            f"{what}: weight shape {tuple(w.shape)} doesn't broadcast to the loss's shape "
            f"{tuple(loss.shape)} (one weight per element, or a shape that broadcasts to it)"
        ) from None
    return loss * w


def _check_reduction(reduction: str, what: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise TensorValueError(
            f"{what}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
        )


def _legacy_string(size_average: Any, reduce: Any) -> str:
    """PyTorch's _Reduction.legacy_get_string: the deprecated (size_average, reduce) pair as a
    reduction (None counts as True: both true 'mean', reduce alone 'sum', else 'none'), with
    PyTorch's UserWarning."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.",
        UserWarning,
        stacklevel=4,
    )
    return ret


def _reduction(
    size_average: Any, reduce: Any, reduction: str, what: str, elementwise_mean: bool = True
) -> str:
    """The reduction a loss runs: the legacy pair decides when either is given (as in
    PyTorch), 'elementwise_mean' is PyTorch's deprecated 'mean' (with its warning) where
    PyTorch's reduction enum takes it (`elementwise_mean=False`: losses that refuse it)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_string(size_average, reduce)
    if reduction == "elementwise_mean" and elementwise_mean:
        warnings.warn(
            "reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
            UserWarning,
            stacklevel=3,
        )
        reduction = "mean"
    _check_reduction(reduction, what)
    return reduction


def _as_target(target: Any, what: str) -> Tensor:
    """A loss's target as a Tensor; lists are converted, with errors that name the target."""
    if isinstance(target, Tensor):
        return target
    if isinstance(target, np.ndarray):
        return _as_tensor(target)
    return Tensor._make(_to_array(target, None, f"{what}: target"), None, False)


def _loss_pair(input: Any, target: Any, what: str) -> tuple[Tensor, Tensor]:
    _check_tensor(input, "input", what)
    target = _as_target(target, what)
    if target.shape != input.shape:
        try:
            np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
        except ValueError:
            raise TensorValueError(
                f"{what}: input shape {tuple(input.shape)} and target shape "
                f"{tuple(target.shape)} don't broadcast"
            ) from None
        warnings.warn(
            f"{what}: target size {tuple(target.shape)} differs from input size "
            f"{tuple(input.shape)}; they will be broadcast, which is likely not what you want",
            UserWarning,
            stacklevel=3,
        )
    return input, target


def _same_size(input: Tensor, target: Tensor, what: str, message: str) -> None:
    """PyTorch's BCE losses refuse a target of another shape (ValueError): the usual bug is an
    (N, 1) output against (N,) labels, which would broadcast to an (N, N) loss."""
    if tuple(target.shape) != tuple(input.shape):
        raise TensorValueError(f"{what}: " + message.format(t=target.shape, x=input.shape))


def _elementwise_weighted(
    loss: Tensor, weight: Any, input: Tensor, reduction: str, what: str
) -> Tensor:
    """PyTorch's weighted mse / l1 loss: weight has input's shape; 'mean' is the weighted mean
    sum(w * loss) / sum(w), and the weight gets a gradient (it is a composite there)."""
    _check_tensor(weight, "weight", what)
    if tuple(weight.shape) != tuple(input.shape):
        raise TensorValueError(  # (PyTorch: ValueError, "Weights and input must have ...")
            f"{what}: weight shape {tuple(weight.shape)} and input shape "
            f"{tuple(input.shape)} must be the same (Weights and input must have the same size)"
        )
    if reduction not in ("none", "sum", "mean"):  # (no 'elementwise_mean' on this path)
        raise TensorValueError(
            f"{what}: Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'."
        )
    weighted = loss * weight
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    return weighted.sum() / weight.sum()


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean squared error: reduce((input - target)^2); with `weight` (input's shape) each
    squared error is weighted and 'mean' divides by the sum of the weights."""
    what = "mse_loss"
    if size_average is not None or reduce is not None:
        reduction = _legacy_string(size_average, reduce)
    x, t = _loss_pair(input, target, what)
    diff = x - t
    if weight is not None:
        return _elementwise_weighted(diff.pow(2), weight, x, reduction, what)
    reduction = _reduction(None, None, reduction, what)
    return _reduce(diff * diff, reduction, what, (x, t))


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean absolute error: reduce(|input - target|); `weight` as in mse_loss."""
    what = "l1_loss"
    if size_average is not None or reduce is not None:
        reduction = _legacy_string(size_average, reduce)
    x, t = _loss_pair(input, target, what)
    if weight is not None:
        return _elementwise_weighted((x - t).abs(), weight, x, reduction, what)
    reduction = _reduction(None, None, reduction, what)
    return _reduce((x - t).abs(), reduction, what)


class NllLoss(Op):
    """loss_n = -weight[t_n] * logp[n, t_n] over the class axis 1 (ignore_index skipped)."""

    torch_name = "NllLossBackward0"
    next_functions_count = 1  # PyTorch's node shows the input's edge only

    @staticmethod
    def forward(ctx, logp, target, weight, ignore_index, reduction):
        valid = target != ignore_index
        safe_t = np.where(valid, target, 0)
        # w_n: the class weight of each sample's target (0 for ignored samples)
        w_n = (weight[safe_t] if weight is not None else np.ones(target.shape, logp.dtype)) * valid
        picked = np.take_along_axis(logp, np.expand_dims(safe_t, 1), axis=1).squeeze(1)
        losses = -w_n * picked
        ctx.config = (logp.shape, valid, safe_t, w_n, reduction)
        if reduction == "none":
            return losses.astype(logp.dtype, copy=False)
        total = losses.sum()
        if reduction == "mean":
            # no samples: nan, as PyTorch
            total = total / w_n.sum()  # PyTorch: weighted mean over non-ignored samples
        return np.asarray(total, dtype=logp.dtype)

    @staticmethod
    def backward(ctx, grad):
        shape, valid, safe_t, w_n, reduction = ctx.config
        scale = grad if reduction == "none" else np.broadcast_to(grad, w_n.shape)
        if reduction == "mean":
            scale = scale / w_n.sum()
        # an ignored sample's gradient is exactly 0, even when every sample is ignored (the
        # mean divides by 0) or grad is inf/nan, as in PyTorch (0 * inf would be nan)
        picked = np.where(valid, -w_n * scale, 0)
        g = np.zeros(shape, dtype=grad.dtype)
        np.put_along_axis(g, np.expand_dims(safe_t, 1), np.expand_dims(picked, 1), axis=1)
        return g, None, None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        # linear in grad: a constant (N, C, ...) array holding -w_n / (sum of w_n for 'mean')
        # at each sample's target class, times grad
        shape, valid, safe_t, w_n, reduction = ctx.config
        coef = np.zeros(shape, dtype=grad.dtype)
        w = -w_n / w_n.sum() if reduction == "mean" else -w_n
        np.put_along_axis(coef, np.expand_dims(safe_t, 1), np.expand_dims(w, 1), axis=1)
        g = grad.unsqueeze(1) if reduction == "none" else grad
        # selected, not multiplied: an ignored sample's gradient stays 0 (see backward)
        ignored = np.ones(shape, dtype=bool)
        np.put_along_axis(ignored, np.expand_dims(safe_t, 1), np.expand_dims(~valid, 1), axis=1)
        out = Tensor._make(coef, None, False) * g
        return out.where(Tensor._make(~ignored, None, False), 0.0), None, None, None, None


def _class_targets(input: Tensor, target: Any, what: str) -> tuple[Tensor, np.ndarray, bool]:
    """Check (N, C, ...) input against (N, ...) class-index targets; unbatched (C,) with () too."""
    _check_tensor(input, "input", what)
    t = _as_target(target, what)
    if input.ndim == 0:
        raise TensorValueError(f"{what}: input must have a class dimension, got a 0-d tensor")
    if input.dtype.kind != "f":
        raise TypeError(
            f"{what}: input must be a floating point tensor, got {_dtype.dtype_name(input.dtype)}"
        )
    if input.shape[0 if input.ndim == 1 else 1] == 0:
        raise TensorValueError(
            f"{what}: input shape {tuple(input.shape)} has no classes (the class dimension is "
            "empty)"
        )
    unbatched = input.ndim == 1
    x = input.unsqueeze(0) if unbatched else input
    td = t._data.reshape(1) if unbatched and t.ndim == 0 else t._data
    if td.dtype != np.int64 and (td.dtype != np.uint8 or x.ndim > 2):
        # PyTorch takes int64 (and uint8 without spatial dims) only: an int32 target from
        # NumPy labels raises there ("expected ... Long"), so it does here
        got = _dtype.scalar_type_name(td.dtype)
        words = (
            f"expected scalar type Long but found {got}"
            if td.dtype == np.uint8
            else f"expected target dtype to be Long or Byte, but got {got}"
        )
        raise TensorTypeError(
            f"{what}: {words} (class-index targets must be int64; convert with .long())"
        )
    expected = (x.shape[0],) + tuple(x.shape[2:])
    if td.shape != expected:
        raise TensorValueError(
            f"{what}: target shape {tuple(t.shape)} doesn't match input shape "
            f"{tuple(input.shape)} (expected target shape {expected if not unbatched else ()})"
        )
    return x, td, unbatched


def _check_targets_in_range(td: np.ndarray, C: int, ignore_index: int, what: str) -> None:
    bad = (td != ignore_index) & ((td < 0) | (td >= C))
    if bad.any():  # (an IndexError too, as PyTorch's "Target 3 is out of bounds.")
        raise TensorIndexError(
            f"{what}: target {int(td[bad].flat[0])} is out of range for {C} classes "
            f"(targets must be in [0, {C - 1}])"
        )


def _class_weight(weight: Any, x: Tensor, what: str) -> np.ndarray:
    """A class-index loss's weight `(C,)` as an array, checked against input x `(N, C, ...)`:
    one per class, of x's dtype (PyTorch's kernel reads it as the input's type and raises
    otherwise; a float32 weight on float64 logits is a RuntimeError there)."""
    w = _as_tensor(weight)._data
    C = x.shape[1]
    if w.shape != (C,):
        raise TensorValueError(
            f"{what}: weight must have shape ({C},), one per class, got {w.shape}"
        )
    if w.dtype != x.dtype:
        raise TensorTypeError(
            f"{what}: expected scalar type {_dtype.scalar_type_name(x.dtype)} but found "
            f"{_dtype.scalar_type_name(w.dtype)} (the class weight must have the input's dtype: "
            "convert it with .to(input.dtype))"
        )
    return w


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class-index targets; input holds log-probabilities `(N, C,
    ...)`."""
    what = "nll_loss"
    reduction = _reduction(size_average, reduce, reduction, what)
    x, td, unbatched = _class_targets(input, target, what)
    C = x.shape[1]
    _check_targets_in_range(td, C, ignore_index, what)
    w = None
    if weight is not None:
        name = "nll_loss2d_forward" if x.ndim >= 3 else "nll_loss_forward"
        _not_differentiable(name, weight=weight)  # (its gradient would be silently missing)
        w = _class_weight(weight, x, what)
    loss = NllLoss.apply(x, td, w, ignore_index, reduction)
    if x.ndim >= 3 and loss.grad_fn is not None:
        # PyTorch runs inputs of 3 or more dims through its 2-D kernel (NllLoss2DBackward0),
        # reshaped to 4-D: unreduced losses of another rank come back through a view
        loss.grad_fn.torch_name = "NllLoss2DBackward0"
        if reduction == "none" and x.ndim != 4:
            loss = loss.view(tuple(loss.shape))
    return loss.squeeze(0) if unbatched and reduction == "none" else loss


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits `(N, C, ...)` against class indices `(N, ...)` or class
    probabilities.

    Computed as nll_loss(log_softmax(input)), with the log-softmax shifted by
    the max so logits of 1e4 give finite losses and gradients.
    """
    what = "cross_entropy"
    reduction = _reduction(size_average, reduce, reduction, what)
    _check_tensor(input, "input", what)
    if not 0.0 <= label_smoothing <= 1.0:
        raise TensorValueError(f"{what}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.ndim == 0:
        raise TensorValueError(
            f"{what}: input must have a class dimension ((C,) or (N, C, ...)), got a 0-d tensor"
        )
    if input.dtype.kind != "f":  # (PyTorch: NotImplementedError from its log_softmax kernel)
        raise DtypeNotImplementedError(
            f"{what}: input (the logits) must be a floating point tensor, got "
            f"{_dtype.dtype_name(input.dtype)}"
        )
    t = _as_target(target, what)
    class_dim = 0 if input.ndim == 1 else 1
    if input.shape[class_dim] == 0:
        raise TensorValueError(
            f"{what}: input shape {tuple(input.shape)} has no classes (the class dimension is "
            "empty)"
        )
    if weight is not None and tuple(_as_tensor(weight).shape) != (input.shape[class_dim],):
        raise TensorValueError(
            f"{what}: weight must have shape ({input.shape[class_dim]},), one per class, got "
            f"{tuple(_as_tensor(weight).shape)}"
        )
    logp = log_softmax(input, dim=class_dim)
    if t.dtype.kind == "f":  # class probabilities, same shape as input
        index_shape = tuple(input.shape[:1]) + tuple(input.shape[2:]) if input.ndim > 1 else ()
        if tuple(t.shape) == index_shape:  # a class-index target's shape: PyTorch reads it so
            raise TensorTypeError(
                f"{what}: expected target dtype to be Long or Byte, but got "
                f"{_dtype.scalar_type_name(t._data.dtype)} "
                "(class-index targets must be int64; probability targets have the input's shape)"
            )
        if t.shape != input.shape:
            raise TensorValueError(
                f"{what}: probability targets must have the input's shape {tuple(input.shape)}, "
                f"got {tuple(t.shape)}"
            )
        if ignore_index >= 0:  # (PyTorch's check: only a negative one, which no target is)
            raise TensorValueError(
                f"{what}: ignore_index is not supported for floating point target (probability "
                f"targets ignore no class; got ignore_index={ignore_index})"
            )
        C = input.shape[class_dim]
        if label_smoothing:
            t = t * (1 - label_smoothing) + label_smoothing / C
        terms = logp * t
        if weight is not None:
            wshape = (C,) + (1,) * (input.ndim - class_dim - 1)
            terms = terms * _as_tensor(weight).reshape(wshape)
        # reduced as PyTorch reduces it (print(loss) shows DivBackward1 / NegBackward0): the
        # negated sum over everything, divided by the number of samples for 'mean'
        if reduction == "none":
            return -terms.sum(class_dim)
        if reduction == "sum":
            return -terms.sum()
        if input.numel() == 0:  # (no samples: nan, through a NegBackward0 as in PyTorch)
            return -(terms.sum() / 0.0)
        total = -terms.sum()
        loss = total / (input.numel() // C)
        if loss.grad_fn is not None:  # PyTorch divides by a C++ number: DivBackward1
            loss.grad_fn.torch_name = "DivBackward1"
        return loss
    x, td, _ = _class_targets(input, t, what)
    _check_targets_in_range(td, x.shape[1], ignore_index, what)
    if weight is not None:
        _class_weight(weight, x, what)
    loss = nll_loss(logp, t, weight=weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing:
        C = x.shape[1]
        smooth = -logp.sum(class_dim) / C
        if weight is not None:
            wshape = (C,) + (1,) * (input.ndim - class_dim - 1)
            smooth = -(logp * _as_tensor(weight).reshape(wshape)).sum(class_dim) / C
        valid = Tensor._make((td != ignore_index).reshape(smooth.shape), None, False)
        # selected, not multiplied by a 0/1 mask: an ignored sample's gradient is exactly 0
        # even when the mean over no samples divides by 0 (inf * 0 would be nan), as PyTorch
        smooth = smooth.where(valid, 0.0)
        if reduction == "mean":
            if weight is not None:
                wt = _as_tensor(weight)._data[np.where(td != ignore_index, td, 0)] * (
                    td != ignore_index
                )
                smooth = smooth.sum() / float(wt.sum())
            else:
                smooth = smooth.sum() / float(valid._data.sum())
        else:
            smooth = _reduce(smooth, reduction, what)
        loss = loss * (1 - label_smoothing) + smooth * label_smoothing
    return loss


# BCE's first-order gradient keeps p (1 - p) >= this: PyTorch's kernel's float constant
# 1e-12, 9.9999998e-13 (also in float64; its double backward's 1e-12 is a double)
_BCE_EPS = float(np.float32(1e-12))


class BinaryCrossEntropy(Op):
    """loss = -[t log p + (1 - t) log(1 - p)], each log clamped at -100, as PyTorch.

    Its own op (not log, clamp and mul) so that p = 0 or 1 gives a finite gradient:
    d loss / dp = (p - t) / (p (1 - p)), with the denominator kept >= 1e-12 as PyTorch does.
    """

    torch_name = "BinaryCrossEntropyBackward0"

    @staticmethod
    def forward(ctx, p, t):
        # log(0) = -inf, clamped to -100 just below
        log_p = np.maximum(np.log(p), -100)
        log_1mp = np.maximum(np.log1p(-p), -100)
        ctx.save_for_backward(p, t)
        return -(t * log_p + (1 - t) * log_1mp)

    @staticmethod
    def backward(ctx, grad):
        p, t = ctx.saved_tensors
        need_p, need_t = ctx.needs_input_grad
        gp = gt = None
        if need_p:
            gp = sum_to_shape(grad * (p - t) / np.maximum(p * (1 - p), _BCE_EPS), p.shape, p.dtype)
        if need_t:
            # PyTorch's -logit(p) grad, the logit log(p / (1 - p)) rounded as its kernel: not
            # clamped, so +-inf at p = 0 and 1 (the loss's clamp at -100 is the forward's only)
            with np.errstate(divide="ignore"):
                logit = np.log(p / (1 - p))
            gt = sum_to_shape(-logit * grad, t.shape, t.dtype)
        return gp, gt

    @staticmethod
    def graph_backward(ctx, grad):
        p, t = ctx.saved_tensors
        need_p, need_t = ctx.needs_input_grad
        gp = gt = None
        if need_p:
            gp = sum_to_shape(BinaryCrossEntropyBackward.apply(grad, p, t), tuple(p.shape), p.dtype)
        if need_t:  # (as backward's)
            gt = sum_to_shape(-p.logit() * grad, tuple(t.shape), t.dtype)
        return gp, gt


class BinaryCrossEntropyBackward(Op):
    """BCE's input gradient g (p - t) / max(p (1 - p), 1e-12) as an op, for create_graph.

    Its derivatives are PyTorch's closed forms (binary_cross_entropy_double_backward), not
    the derivative of the clamped quotient: with e = 1e-12, d/dp is
    g (p^2 - 2 p t + t) / ((p + e)^2 (1 - p + e)^2), which stays 0 at a saturated p = t = 1
    and finite near p = 0 (the quotient's derivative gave 3e11 and 0 there); d/dg is
    (p - t) / ((p + e) (1 - p + e)); d/dt is -g / max(p (1 - p), e).
    """

    torch_name = "BinaryCrossEntropyBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, p, t):
        ctx.save_for_backward(grad, p, t)
        return grad * (p - t) / np.maximum(p * (1 - p), _BCE_EPS)

    @staticmethod
    def backward(ctx, gg):
        grad, p, t = ctx.saved_tensors
        return BinaryCrossEntropyBackward._grads(ctx.needs_input_grad, gg, grad, p, t)

    @staticmethod
    def graph_backward(ctx, gg):
        grad, p, t = ctx.saved_tensors
        return BinaryCrossEntropyBackward._grads(ctx.needs_input_grad, gg, grad, p, t)

    @staticmethod
    def _grads(needs, gg, grad, p, t):
        """The three derivatives, in NumPy arrays or Tensors alike (the same expressions)."""
        eps = 1e-12
        need_g, need_p, need_t = needs
        gg_grad = gg_p = gg_t = None
        if need_g:
            gg_grad = gg * (p - t) / ((p + eps) * (1 - p + eps))
        if need_p:
            num = p * p - 2 * p * t + t
            gg_p = num / ((p + eps) ** 2 * (1 - p + eps) ** 2) * (gg * grad)
        if need_t:
            denom = p * (1 - p)
            floor = np.maximum(denom, eps) if isinstance(denom, np.ndarray) else denom.clamp(eps)
            gg_t = -(gg * grad) / floor
        return gg_grad, gg_p, gg_t


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """-[t log p + (1 - t) log(1 - p)] for probabilities p in [0, 1]; logs clamped at -100 as
    PyTorch. The loss keeps the input's dtype whatever weight's dtype is (as PyTorch)."""
    what = "binary_cross_entropy"
    reduction = _reduction(size_average, reduce, reduction, what)
    _check_tensor(input, "input", what)
    _same_size(
        input,
        _as_target(target, what),
        what,
        "Using a target size ({t}) that is different to "
        "the input size ({x}) is deprecated. Please ensure they have the same size.",
    )
    x, t = _loss_pair(input, target, what)
    if t._data.size and not ((t._data >= 0) & (t._data <= 1)).all():  # (as PyTorch's kernel)
        raise RuntimeError(f"{what}: all elements of target should be between 0 and 1")
    if (
        x._data.size and not ((x._data >= 0) & (x._data <= 1)).all()
    ):  # NaN is refused too, as in PyTorch
        raise TensorValueError(
            f"{what}: input must hold probabilities in [0, 1]; apply sigmoid first, or use "
            "binary_cross_entropy_with_logits"
        )
    if t.dtype != x.dtype:  # PyTorch refuses a mixed pair here (unlike the with_logits version)
        raise RuntimeError(
            f"{what}: target dtype {t.dtype} must equal the input dtype {x.dtype}; "
            f"convert the target with .to(input.dtype)"
        )
    loss = BinaryCrossEntropy.apply(x, t)
    if weight is not None:
        w = _as_tensor(weight)
        # PyTorch's kernel writes into an input-typed result: weight is cast, not promoted
        loss = _weighted(loss, w.to(x.dtype) if w.dtype != x.dtype else w, what)
    return _reduce(loss, reduction, what, (x, t))


class BinaryCrossEntropyWithLogits(Op):
    """loss = (1 - t) x + lw softplus(-x), lw = 1 + (pw - 1) t (lw = 1 without pos_weight).

    softplus(-x) = log(1 + e^-x) = max(-x, 0) + log1p(e^-|x|): no exp overflows, and adding
    the log1p term last keeps small losses (x = 30, t = 1 gives 9.4e-14) exact. The gradient
    is the closed form lw sigmoid(x) - pw t (sigmoid(x) - t without pos_weight), so x = 0
    gets 0.5 - t, where a chain through |x| would give -t.
    """

    torch_name = "BinaryCrossEntropyWithLogitsBackward0"

    @staticmethod
    def forward(ctx, x, t, pw):
        log1p_term = np.log1p(np.exp(-np.abs(x)))
        ctx.save_for_backward(x, t, pw)
        if pw is None:
            return (1 - t) * x + np.maximum(-x, 0) + log1p_term
        return (1 - t) * x + (1 + (pw - 1) * t) * (np.maximum(-x, 0) + log1p_term)

    @staticmethod
    def backward(ctx, grad):
        x, t, pw = ctx.saved_tensors
        need_x, need_t, need_pw = ctx.needs_input_grad
        e = np.exp(-np.abs(x))
        sig = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        gx = gt = gpw = None
        if pw is None:
            if need_x:
                gx = grad * (sig - t)
            if need_t:
                gt = grad * -x
        else:
            softplus_neg = np.maximum(-x, 0) + np.log1p(e)
            if need_x:
                gx = grad * ((1 + (pw - 1) * t) * sig - pw * t)
            if need_t:
                gt = grad * ((pw - 1) * softplus_neg - x)
            if need_pw:
                gpw = sum_to_shape(grad * t * softplus_neg, pw.shape, pw.dtype)
        if gx is not None:
            gx = sum_to_shape(gx, x.shape, x.dtype)
        if gt is not None:
            gt = sum_to_shape(gt, t.shape, t.dtype)
        return gx, gt, gpw

    @staticmethod
    def graph_backward(ctx, grad):
        x, t, pw = ctx.saved_tensors
        need_x, need_t, need_pw = ctx.needs_input_grad
        sig = x.sigmoid()
        gx = gt = gpw = None
        if pw is None:
            if need_x:
                gx = grad * (sig - t)
            if need_t:
                gt = grad * -x
        else:
            # softplus(-x) without a threshold: log(1 + e^-x), derivative -sigmoid(-x)
            softplus_neg = Softplus.apply(-x, 1.0, math.inf)
            if need_x:
                gx = grad * (((pw - 1) * t + 1) * sig - pw * t)
            if need_t:
                gt = grad * ((pw - 1) * softplus_neg - x)
            if need_pw:
                gpw = sum_to_shape(grad * t * softplus_neg, tuple(pw.shape), pw.dtype)
        if gx is not None:
            gx = sum_to_shape(gx, tuple(x.shape), x.dtype)
        if gt is not None:
            gt = sum_to_shape(gt, tuple(t.shape), t.dtype)
        return gx, gt, gpw


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """BCE on logits, computed stably as (1 - t) x + max(-x, 0) + log1p(e^-|x|)."""
    what = "binary_cross_entropy_with_logits"
    reduction = _reduction(size_average, reduce, reduction, what)
    _check_tensor(input, "input", what)
    _same_size(
        input,
        _as_target(target, what),
        what,
        "Target size ({t}) must be the same as input size ({x})",
    )
    x, t = _loss_pair(input, target, what)
    # PyTorch's dtypes: computed in the promoted dtype, the loss comes out in the *target's*
    # dtype (float32 logits with a float64 target give float64, and the reverse float32);
    # an integer target is refused. Each gradient comes back in its own input's dtype.
    if t.dtype.kind != "f":
        raise RuntimeError(
            f"{what}: target must be a floating point tensor (the loss takes its dtype), "
            f"got dtype {t.dtype}; convert it with .float()"
        )
    out_dtype = t.dtype
    if t.dtype != x.dtype:
        work = _dtype.promote_types(x.dtype, t.dtype)
        x, t = x.to(work), t.to(work)
    pw = None
    if pos_weight is not None:
        pw = _as_tensor(pos_weight)
        try:
            np.broadcast_shapes(tuple(pw.shape), tuple(x.shape))
        except ValueError:
            raise TensorValueError(
                f"{what}: pos_weight shape {tuple(pw.shape)} doesn't broadcast with input "
                f"shape {tuple(x.shape)} (give one weight per class, shape (C,))"
            ) from None
        pw = pw.to(x.dtype) if pw.dtype != x.dtype else pw
    loss = BinaryCrossEntropyWithLogits.apply(x, t, pw)
    if weight is not None:
        loss = _weighted(loss, weight, what)
    if loss.dtype != out_dtype:
        loss = loss.to(out_dtype)
    return _reduce(loss, reduction, what, (x, t))


# -- smooth L1, Huber and KL divergence: compositions of elementwise ops ------------------------


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target); beta=0 is
    the L1 loss."""
    what = "smooth_l1_loss"
    reduction = _reduction(size_average, reduce, reduction, what)
    if beta < 0:
        raise RuntimeError(f"{what}: beta must be non-negative, got {beta}")
    x, t = _loss_pair(input, target, what)
    if beta == 0:
        return l1_loss(x, t, reduction=reduction)
    d = x - t
    ad = d.abs()
    # a select: each branch's gradient only where it is taken
    loss = (d * d * (0.5 / beta)).where(ad < beta, ad - 0.5 * beta)
    return _reduce(loss, reduction, what, (x, t))


def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta); delta * smooth_l1 (beta=delta)."""
    what = "huber_loss"
    # (PyTorch's weighted path checks the reduction itself: no 'elementwise_mean' there)
    reduction = _reduction(None, None, reduction, what, elementwise_mean=weight is None)
    if delta <= 0:
        raise RuntimeError(f"{what}: delta must be positive, got {delta}")
    x, t = _loss_pair(input, target, what)
    d = x - t
    ad = d.abs()
    loss = (d * d * 0.5).where(ad < delta, (ad - 0.5 * delta) * delta)
    if weight is not None:
        loss = _weighted(loss, weight, what)
    return _reduce(loss, reduction, what, (x, t))


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL divergence with input as log-probabilities: target * (log target - input) (0 where
    target is 0), or exp(target) * (target - input) with log_target. 'batchmean' divides the
    sum by the batch size (the mathematical KL); 'mean' divides by every element."""
    what = "kl_div"
    if size_average is not None or reduce is not None:
        reduction = _legacy_string(size_average, reduce)
    if reduction == "elementwise_mean":  # PyTorch's enum reads it as 'mean', with a warning
        reduction = _reduction(None, None, reduction, what)
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise TensorValueError(
            f"{what}: reduction must be 'mean', 'batchmean', 'sum' or 'none', got {reduction!r}"
        )
    if reduction == "mean":
        warnings.warn(
            "kl_div: reduction='mean' divides the total loss by both the batch size and the "
            "support size; 'batchmean' divides only by the batch size, which is the KL "
            "divergence. 'mean' will behave as 'batchmean' in a future PyTorch release.",
            UserWarning,
            stacklevel=2,
        )
    for name, v in (("input", input), ("target", target)):
        if isinstance(v, Tensor) and v.dtype.kind in "biu":  # (bool too, as PyTorch)
            raise TensorValueError(
                f"{what}: Integral inputs not supported. ({name} has dtype "
                f"{_dtype.dtype_name(v.dtype)}; kl_div takes floating point log-probabilities)"
            )
    x, t = _loss_pair(input, target, what)
    if log_target:
        loss = t.exp() * (t - x)
    else:
        # xlogy(t, t): 0 where t == 0; there its gradient (log 0 + 1) is nan, as PyTorch's
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 * log 0, replaced just below
            loss = (t * t.log()).where(t != 0, 0.0) - t * x
    if reduction == "batchmean":
        total = loss.sum()
        return total / x.shape[0] if x.ndim else total
    return _reduce(loss, reduction, what)


# -- ranking, embedding and likelihood losses: compositions of Tensor ops ----------------------


def _signs(target: Any, what: str) -> Tensor:
    """A target of +1 / -1 labels as a Tensor."""
    return _as_target(target, what)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along `dim` (inputs broadcast);
    each input is divided by its clamped norm first, as PyTorch does, and the clamp passes the
    norm's gradient through (PyTorch clamps under no_grad)."""
    what = "cosine_similarity"
    _check_tensor(x1, "x1", what)
    _check_tensor(x2, "x2", what)
    try:
        shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise TensorValueError(
            f"{what}: x1 shape {tuple(x1.shape)} and x2 shape {tuple(x2.shape)} don't broadcast"
        ) from None
    x1, x2 = x1.expand(tuple(shape)), x2.expand(tuple(shape))
    return ((x1 / _clamped_norm(x1, dim, eps)) * (x2 / _clamped_norm(x2, dim, eps))).sum(dim)


def _clamped_norm(x: Tensor, dim: int, eps: float) -> Tensor:
    """||x|| along dim, raised to eps without a gradient of its own: PyTorch clamps a clone of
    the norm in place under no_grad, so below eps the value is eps but the gradient is still
    the norm's (x / ||x||), not the clamp's zero."""
    n = x.norm(dim=dim, keepdim=True)
    lifted = np.maximum(n._data, eps) - n._data
    return n + Tensor._make(lifted.astype(n._data.dtype, copy=False), None, False)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """The p-norm of x1 - x2 + eps along the last dim."""
    what = "pairwise_distance"
    _check_tensor(x1, "x1", what)
    _check_tensor(x2, "x2", what)
    d = x1 - x2 + eps
    # (PyTorch's C++ norm, NormBackward1; Tensor.norm is linalg.vector_norm's node)
    return _fused(d.norm(p=p, dim=-1, keepdim=keepdim), "NormBackward1", d)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """(N, M) -> (N(N-1)/2,): the p-norm distance of each pair of rows i < j, in row order
    (the upper triangle of cdist(input, input))."""
    what = "pdist"
    _check_tensor(input, "input", what)
    if input.ndim != 2:
        raise RuntimeError(
            f"{what}: input must be a 2-D tensor (N, M), got shape {tuple(input.shape)}"
        )
    if not input.is_floating_point():
        raise RuntimeError(f"{what}: input must be a floating point tensor, got {input.dtype}")
    if p < 0:
        raise RuntimeError(f"{what}: p must be non-negative, got {p}")
    return ops_extra.PairDist.apply(input, float(p))


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -target * (input1 - input2) + margin): input1 should rank higher where
    target = 1, lower where target = -1."""
    what = "margin_ranking_loss"
    reduction = _reduction(size_average, reduce, reduction, what)
    _check_tensor(input1, "input1", what)
    _check_tensor(input2, "input2", what)
    y = _signs(target, what)
    if not input1.ndim == input2.ndim == y.ndim:  # (PyTorch's check; then they broadcast)
        raise RuntimeError(
            f"{what} : All input tensors should have same dimension but got sizes: input1: "
            f"{input1.shape}, input2: {input2.shape}, target: {y.shape} "
        )
    loss = (-y * (input1 - input2) + margin).clamp_min(0)  # (PyTorch: ClampMinBackward0)
    return _reduce(loss, reduction, what)


def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """input where target = 1, max(0, margin - input) where target = -1."""
    what = "hinge_embedding_loss"
    reduction = _reduction(size_average, reduce, reduction, what)
    x, y = _loss_pair(input, target, what)
    hinge = (margin - x).clamp(min=0)
    loss = hinge.where(y != 1, 0.0) + x.where(y != -1, 0.0)
    return _reduce(loss, reduction, what)


def soft_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """log(1 + exp(-target * input)), targets +1 / -1."""
    what = "soft_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, what)
    x, y = _loss_pair(input, target, what)
    if np.broadcast_shapes(tuple(x.shape), tuple(y.shape)) != tuple(x.shape):
        # (PyTorch's kernel writes into an input-shaped output: the target may only broadcast
        # to the input's shape)
        raise RuntimeError(
            f"{what}: output with shape {list(x.shape)} doesn't match the broadcast shape "
            f"{list(np.broadcast_shapes(tuple(x.shape), tuple(y.shape)))}"
        )
    if y.requires_grad or y.dtype != x.dtype or x.shape != y.shape:
        return _reduce((-x * y).exp().log1p(), reduction, what, (input, target))
    return SoftMarginLoss.apply(x, y, reduction)


class SoftMarginLoss(Op):
    """log(1 + exp(-y x)), reduced, as PyTorch's one node: the forward op by op as its
    kernel; the backward its formula and order, (y z) (-1/N for the mean, else -1), over
    1 + z, times grad, z = exp(-y x). (Through the composite's chain the mean's 1/N came
    first: a float16 gradient of 1/N over 1 + z underflowed to 0 where z is large.)"""

    torch_name = "SoftMarginLossBackward0"

    @staticmethod
    def forward(ctx, x, y, reduction):
        ctx.save_for_backward(x, y)
        ctx.reduction = reduction
        loss = np.log1p(np.exp(-x * y))
        if reduction == "none":
            return loss
        wide = np.float32 if loss.dtype == np.float16 else loss.dtype  # (summed in float32)
        total = np.sum(loss, dtype=wide)
        return np.asarray(total if reduction == "sum" else total / loss.size).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        z = np.exp(-y * x)
        g = mul_number(y * z, -1 / x.size if ctx.reduction == "mean" else -1.0)
        return g / (1 + z) * grad, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        x, y = ctx.saved_tensors
        z = (-y * x).exp()
        g = y * z * (-1 / x.numel() if ctx.reduction == "mean" else -1.0)
        return g / (z + 1) * grad, None, None


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Per sample, the mean over the C classes of -(t log sigmoid(x) + (1 - t) log sigmoid(-x))
    (times `weight`, one per class), for input (N, C) and a 0/1 target of the same shape."""
    what = "multilabel_soft_margin_loss"
    # (PyTorch reduces this one itself: 'elementwise_mean' is refused)
    reduction = _reduction(size_average, reduce, reduction, what, elementwise_mean=False)
    x, t = _loss_pair(input, target, what)
    loss = -(t * logsigmoid(x) + (1 - t) * logsigmoid(-x))
    if weight is not None:
        loss = _weighted(loss, weight, what)
    loss = loss.sum(dim=x.ndim - 1) / x.shape[-1]
    return _reduce(loss, reduction, what)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where target = 1, max(0, cos(x1, x2) - margin) where target = -1; the
    cosine along the last dim, with 1e-12 added to each squared norm (PyTorch's formula)."""
    what = "cosine_embedding_loss"
    reduction = _reduction(size_average, reduce, reduction, what)
    _check_tensor(input1, "input1", what)
    _check_tensor(input2, "input2", what)
    if input1.ndim not in (1, 2) or tuple(input1.shape) != tuple(input2.shape):
        raise RuntimeError(
            f"{what}: input1 and input2 must be 1-D or 2-D of the same shape, got "
            f"{tuple(input1.shape)} and {tuple(input2.shape)}"
        )
    y = _signs(target, what)
    if y.ndim not in (0, 1):
        raise RuntimeError(f"{what}: 0D or 1D target tensor expected, multi-target not supported")
    if y.ndim != input1.ndim - 1:
        raise RuntimeError(
            f"{what}: {y.ndim}D target tensor expects {y.ndim + 1}D input tensors, but found "
            f"inputs with sizes {list(input1.shape)} and {list(input2.shape)}."
        )
    d = input1.ndim - 1
    prod = (input1 * input2).sum(d)
    m1 = (input1 * input1).sum(d) + 1e-12
    m2 = (input2 * input2).sum(d) + 1e-12
    cos = prod / (m1 * m2).sqrt()
    pos = 1 - cos
    neg = (cos - margin).clamp(min=0)
    loss = pos.where(y == 1, 0.0) + neg.where(y == -1, 0.0)
    return _reduce(loss, reduction, what)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) with d the pairwise p-norm distance; `swap` uses
    min(d(a, n), d(p, n)) as the negative distance."""
    what = "triplet_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, what)
    if margin <= 0:
        raise TensorValueError(f"{what}: margin must be greater than 0, got {margin}")
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _check_tensor(t, name, what)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_swap = pairwise_distance(positive, negative, p, eps)
        d_neg = d_neg.where(d_neg <= d_swap, d_swap)
    loss = (margin + d_pos - d_neg).clamp_min(0)  # (PyTorch: ClampMinBackward0)
    return _reduce(loss, reduction, what)


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average: Any = None,
    eps: float = 1e-8,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """exp(input) - target * input (log_input), else input - target * log(input + eps); `full`
    adds Stirling's approximation of log(target!) where target > 1."""
    what = "poisson_nll_loss"
    # (PyTorch checks this one's reduction by name: 'elementwise_mean' is refused)
    reduction = _reduction(size_average, reduce, reduction, what, elementwise_mean=False)
    x, t = _loss_pair(input, target, what)
    loss = x.exp() - t * x if log_input else x - t * (x + eps).log()
    if full:
        with np.errstate(divide="ignore", invalid="ignore"):  # (log of t <= 1: not used)
            stirling = t * t.log() - t + 0.5 * (2 * math.pi * t).log()
        loss = loss + stirling.where(t > 1, 0.0)
    return _reduce(loss, reduction, what)


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """0.5 (log var + (input - target)^2 / var) (+ 0.5 log 2 pi with `full`). `var` has
    input's shape, or one dim fewer / a last dim of 1 (one variance per sample), or is a
    number. Variances below eps are raised to eps without changing their gradient."""
    what = "gaussian_nll_loss"
    _check_reduction(reduction, what)
    _check_tensor(input, "input", what)
    target = _as_target(target, what)
    if not isinstance(var, Tensor):
        var = Tensor._make(np.full(tuple(input.shape), float(var), input._data.dtype), None, False)
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise TensorValueError(
                f"{what}: var of shape {tuple(var.shape)} does not fit input of shape "
                f"{tuple(input.shape)}"
            )
    if bool((var._data < 0).any()):
        raise TensorValueError(f"{what}: var has negative entries")
    # clamp without a gradient of its own (PyTorch clamps a clone in place under no_grad)
    lifted = np.maximum(var._data, eps) - var._data
    var = var + Tensor._make(lifted.astype(var._data.dtype), None, False)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, what)


def _margin_input(input: Any, target: Any, what: str) -> tuple[Tensor, Tensor]:
    """(input (C,) or (N, C), float32/float64, non-empty classes; int64 target) as PyTorch
    checks them for the multi-class margin losses; a 0-d input counts as (1,)."""
    _check_tensor(input, "input", what)
    _check_tensor(target, "target", what)
    if input.dtype not in (_dtype.float32, _dtype.float64):
        raise RuntimeError(
            f"{what}: not implemented for {_dtype.dtype_name(input.dtype)} input (float32 or "
            "float64, as in PyTorch)"
        )
    if target.dtype != _dtype.int64:
        raise RuntimeError(
            f"{what}: target must be an int64 tensor, got {_dtype.dtype_name(target.dtype)}"
        )
    if input.ndim > 2 or (input.ndim >= 1 and input.shape[-1] == 0):
        raise RuntimeError(
            f"{what}: expected a non-empty (C,) or (N, C) input (N may be 0), got shape "
            f"{tuple(input.shape)}"
        )
    return input, target


def _margin_reduce(loss: Tensor, reduction: str, what: str) -> Tensor:
    if reduction != "none" and loss.numel() == 0:
        # PyTorch 2.13 returns uninitialised memory here (not nan or 0): refuse
        raise RuntimeError(
            f"{what}: an empty batch with reduction={reduction!r} has no defined value; use "
            "reduction='none'"
        )
    return _reduce(loss, reduction, what)


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss: per sample, sum over classes i != y of
    w[y] * max(0, margin - x[y] + x[i]) ** p, divided by C (p is 1 or 2). Input (N, C) with
    target (N,) class indices, or (C,) with a 0-d or (1,) target."""
    what = "multi_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, what)
    if p not in (1, 2):
        raise TensorValueError(f"{what}: p must be 1 or 2, got {p!r}")
    x, t = _margin_input(input, target, what)
    x2 = x.reshape(1, -1) if x.ndim < 2 else x
    N, C = x2.shape
    if t.numel() != N or t.ndim > 1:
        raise RuntimeError(
            f"{what}: target must be 1-D with one class per sample ({N}), got shape "
            f"{tuple(t.shape)} for input of shape {tuple(x.shape)}"
        )
    td = t._data.reshape(N)
    if td.size and (td.min() < 0 or td.max() >= C):
        raise RuntimeError(f"{what}: target values must lie in [0, {C}), got {td.tolist()}")
    if weight is not None:
        _check_tensor(weight, "weight", what)
        if weight.ndim != 1 or weight.shape[0] != C:
            raise RuntimeError(
                f"{what}: weight must be 1-D with one entry per class ({C}), got shape "
                f"{tuple(weight.shape)}"
            )
        if weight.dtype != x.dtype:
            raise RuntimeError(
                f"{what}: weight has dtype {_dtype.dtype_name(weight.dtype)} but input has "
                f"{_dtype.dtype_name(x.dtype)}"
            )
    idx = Tensor._make(td.reshape(N, 1), None, False)
    # relu, not clamp: at exactly 0 the gradient is 0, as PyTorch's (z > 0) test
    z = (margin - x2.gather(1, idx) + x2).relu()
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.gather(0, idx.reshape(N)).reshape(N, 1)
    own = np.zeros((N, C), dtype=bool)
    own[np.arange(N), td] = True  # the target class itself is left out of the sum
    loss = z.masked_fill(Tensor._make(own, None, False), 0.0).sum(1) / C
    if x.ndim < 2:  # an unbatched input's loss has the target's shape: () or (1,), as PyTorch
        loss = loss.reshape(tuple(t.shape))
    return _margin_reduce(loss, reduction, what)


def multilabel_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-label hinge loss: per sample, the target classes are target's entries up to the
    first -1; the loss sums max(0, 1 - (x[j] - x[i])) over target classes j and non-target
    classes i, divided by C. Input (C,) or (N, C), target int64 of the same shape."""
    what = "multilabel_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, what)
    x, t = _margin_input(input, target, what)
    if tuple(t.shape) != tuple(x.shape):
        raise RuntimeError(
            f"{what}: target of shape {tuple(t.shape)} must have input's shape {tuple(x.shape)}"
        )
    x2 = x.reshape(1, -1) if x.ndim < 2 else x
    N, C = x2.shape
    td = t._data.reshape(N, C)
    if td.size and (td.min() < -1 or td.max() >= C):
        raise RuntimeError(f"{what}: target values must lie in [-1, {C}), got {td.tolist()}")
    # target slot k of sample n counts while no -1 came before it
    valid = np.cumprod(td != -1, axis=1).astype(bool)
    is_target = np.zeros((N, C), dtype=bool)
    rows = np.nonzero(valid)[0]
    is_target[rows, td[valid]] = True
    idx = Tensor._make(np.where(valid, td, 0), None, False)
    xt = x2.gather(1, idx)  # (N, C): the target classes' scores, slot by slot
    z = (1 - xt.unsqueeze(2) + x2.unsqueeze(1)).relu()  # (N, slot, class)
    pairs = valid[:, :, None] & ~is_target[:, None, :]
    loss = z.masked_fill(Tensor._make(~pairs, None, False), 0.0).sum((1, 2)) / C
    if x.ndim < 2:
        loss = loss.reshape(())
    return _margin_reduce(loss, reduction, what)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Any = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) with d any distance function of two tensors
    (pairwise_distance by default); `swap` uses min(d(a, n), d(p, n)) as the negative one."""
    what = "triplet_margin_with_distance_loss"
    _check_reduction(reduction, what)
    if margin <= 0:
        raise TensorValueError(f"{what}: margin must be greater than 0, got {margin}")
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _check_tensor(t, name, what)
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError(
            f"{what}: anchor, positive and negative must have the same number of dims, got "
            f"{anchor.ndim}, {positive.ndim} and {negative.ndim}"
        )
    d = distance_function if distance_function is not None else pairwise_distance
    d_pos, d_neg = d(anchor, positive), d(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(d(positive, negative))
    loss = (margin + d_pos - d_neg).clamp_min(0)
    return _reduce(loss, reduction, what)
