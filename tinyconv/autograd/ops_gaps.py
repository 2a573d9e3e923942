"""Elementwise ops with a backward of their own that the API-gap methods in _tensor_gaps.py
need (the rest of those methods are compositions of existing ops)."""

from __future__ import annotations

import math

import numpy as np

from ..kernels.layout import like_input
from ..kernels.opmath import mul_number, opmath, widen
from . import grad_mode
from .function import sum_to_shape
from .ops import Norm, Op, _const, _select, _where, _zero

# math.erfc applied elementwise: NumPy has no erfc, and 1 - erf(x) loses every digit once
# erf(x) rounds to 1 (x > ~4 in float32, ~6 in float64), where erfc is 1.5e-8 .. 2e-17.
# A Python call per element (~0.1 us): fine for an op that is rarely on a hot path.
_erfc = np.frompyfunc(math.erfc, 1, 1)


def erfc_array(x: np.ndarray) -> np.ndarray:
    """1 - erf(x) elementwise, in x's dtype (evaluated in float64, rounded once)."""
    x = np.asarray(x)
    return np.asarray(_erfc(x.astype(np.float64)), dtype=np.float64).astype(x.dtype, copy=False)


class Heaviside(Op):
    """0 where x < 0, values where x == 0, 1 where x > 0. PyTorch defines no derivative: the
    result requires grad when an input does, and backward raises (its node: NotImplemented)."""

    torch_name = "NotImplemented"

    @staticmethod
    def forward(ctx, x, values):
        return np.where(x == 0, values, (x > 0).astype(x.dtype)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("the derivative of heaviside is not implemented (as in PyTorch)")

    graph_backward = backward  # (raises: no derivative)


class ZeroGradTo(Op):
    """``values`` unchanged, with a zero gradient to ``other`` as well: for ops that read
    ``other`` only through a piecewise-constant function of it (copysign's sign), whose
    gradient to it is 0 in PyTorch. (``values + other * 0`` would turn an infinite ``other``
    into nan and -0.0 into 0.0.)"""

    @staticmethod
    def forward(ctx, values, other):
        ctx.other_shape, ctx.other_dtype = other.shape, other.dtype
        return values

    @staticmethod
    def backward(ctx, grad):
        return grad, np.zeros(ctx.other_shape, ctx.other_dtype)

    @staticmethod
    def graph_backward(ctx, grad):
        return grad, grad.new_zeros(ctx.other_shape, dtype=ctx.other_dtype)


class Erfc(Op):
    """erfc(x); d/dx = -2/sqrt(pi) exp(-x^2) (saves x, as PyTorch)."""

    torch_name = "ErfcBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return erfc_array(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return mul_number(np.exp(-a * a), -2 / math.sqrt(math.pi)) * grad  # (PyTorch's order)

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * ((-a * a).exp() * (-2 / math.sqrt(math.pi)))


class NoDerivative(Op):
    """Values computed outside the graph, under a node whose backward raises: PyTorch defines
    no derivative for the op that made them."""

    torch_name = "NotImplemented"

    @staticmethod
    def forward(ctx, x, values, what, torch_name=None):
        ctx.what = what
        if torch_name is not None:  # (PyTorch's name for the node, e.g. Unique2Backward0)
            ctx.torch_name = torch_name
        return values

    @staticmethod
    def backward(ctx, grad):
        # (PyTorch's NotImplementedError, a RuntimeError)
        raise NotImplementedError(
            f"the derivative for '{ctx.what}' is not implemented (as in PyTorch)"
        )

    graph_backward = backward


class Sinc(Op):
    """sin(pi x) / (pi x), 1 at 0. d/dx = (pi x cos(pi x) - sin(pi x)) / (pi x^2), taken as 0
    where pi x^2 is 0 (saves x, as PyTorch). Written as one node: the quotient rule through
    sin(pi x) / (pi x) cancels catastrophically near 0 (7e13 at x = 1e-20, where this is 0).
    The forward is one PyTorch kernel (float16 in float32, rounded once); the backward is
    PyTorch's formula of several ops, each rounded (x * pi with pi in float32)."""

    torch_name = "SincBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return opmath(Sinc._sinc, x)

    @staticmethod
    def _sinc(x):
        pix = x * x.dtype.type(math.pi)
        out = np.sin(pix) / pix
        out[x == 0] = 1
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        pix = opmath(np.multiply, x, math.pi)
        square = opmath(np.multiply, x * x, math.pi)
        out = grad * ((pix * np.cos(pix) - np.sin(pix)) / square)
        out[np.broadcast_to(square == 0, out.shape)] = 0
        return out

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        pix = x * math.pi
        square = x * x * math.pi
        out = grad * ((pix * pix.cos() - pix.sin()) / square)
        return out.where(square != 0, 0.0)


class Logit(Op):
    """log(x / (1 - x)), x first clamped to [eps, 1 - eps] when eps is given (PyTorch's
    formula, rounded as its kernel). d/dx = 1 / (x (1 - x)): NaN outside [0, 1] without eps,
    0 outside [eps, 1 - eps] with it (saves x, as PyTorch)."""

    torch_name = "LogitBackward0"

    @staticmethod
    def forward(ctx, x, eps):
        ctx.save_for_backward(x)
        ctx.eps = eps
        if eps is not None:
            lo = x.dtype.type(eps)
            x = np.clip(x, lo, x.dtype.type(1) - lo)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x / (x.dtype.type(1) - x))

    @staticmethod
    def _outside(x, eps):
        """Where the derivative is replaced (NaN without eps, 0 with it), and by what."""
        if eps is None:
            return (x < 0) | (x > 1), math.nan
        lo = x.dtype.type(eps)
        return (x < lo) | (x > x.dtype.type(1) - lo), 0.0

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            out = grad / (x * (x.dtype.type(1) - x))
        outside, value = Logit._outside(x, ctx.eps)
        out[np.broadcast_to(outside, out.shape)] = value
        return out, None

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        lo, value = (0.0, math.nan) if ctx.eps is None else (ctx.eps, 0.0)
        inside = (x >= lo) & (x <= 1 - lo)
        return (grad / (x * (1 - x))).where(inside, value), None


class Renorm(Op):
    """Each slice along a dim scaled by maxnorm / (norm + 1e-7) where its p-norm (over `axes`,
    the other dims) exceeds maxnorm. As PyTorch: a float16 input's norms and factors are
    computed in float32, the factors rounded to float16 before the product; the backward is
    its formula, maxnorm / (norm + 1e-7) (grad - nb / (norm + 1e-7)) with nb the norm's
    gradient for sum(x grad), in float32 for float16, where the norm exceeds maxnorm."""

    torch_name = "RenormBackward0"

    @staticmethod
    def forward(ctx, x, p, axes, maxnorm):
        ctx.save_for_backward(x)
        ctx.p, ctx.axes, ctx.maxnorm = p, axes, maxnorm
        norm = Norm.value(widen(x), p, axes, True)
        factor = np.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1).astype(x.dtype)
        return x * factor

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        p, axes, maxnorm = ctx.p, ctx.axes, ctx.maxnorm
        xw = widen(x)
        norm = Norm.value(xw, p, axes, True)
        # (x grad in x's dtype, summed in the wider one)
        total = np.sum(x * grad, axis=axes, keepdims=True, dtype=xw.dtype)
        nb = Norm.gradient(xw, norm, total, p, axes, True)
        inv = 1 / (norm + 1e-7)
        scaled = maxnorm * inv * (widen(grad) - inv * nb)
        return np.where(norm > maxnorm, scaled.astype(grad.dtype), grad), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        p, axes, maxnorm = ctx.p, ctx.axes, ctx.maxnorm
        norm = x.norm(p, axes, keepdim=True)
        nb = Norm.graph_gradient(x, norm, (x * grad).sum(axes, keepdim=True), p, axes, True)
        inv = (norm + 1e-7).reciprocal()
        scaled = maxnorm * inv * (grad - inv * nb)
        return scaled.where(norm > maxnorm, grad), None, None, None


class Addr(Op):
    """beta * input + alpha * outer(vec1, vec2) for one float dtype, as PyTorch's kernel
    computes it: beta and alpha taken in the dtype, every product and the sum rounded in it
    (float16 too), input ignored when beta is 0. Backward, PyTorch's formulas: grad beta,
    (grad @ vec2) alpha and (grad^T @ vec1) alpha, each product rounded before the scaling."""

    torch_name = "AddrBackward0"

    @staticmethod
    def forward(ctx, inp, v1, v2, beta, alpha):
        n1, n2 = ctx.needs_input_grad[1:3] if ctx.needs_input_grad else (False, False)
        ctx.save_for_backward(v1 if n2 else None, v2 if n1 else None)
        ctx.inp_meta, ctx.beta, ctx.alpha = (inp.shape, inp.dtype), beta, alpha
        t = v1.dtype.type
        out = (t(alpha) * v1)[:, None] * v2[None, :]
        if t(beta) != 0:
            out = t(beta) * inp + out
        return np.ascontiguousarray(np.broadcast_to(out, (v1.size, v2.size)))

    @staticmethod
    def backward(ctx, grad):
        v1, v2 = ctx.saved_tensors
        ni, n1, n2 = ctx.needs_input_grad[:3]

        def scaled(g, number):
            return g if number == 1 else mul_number(g, number)

        gi = sum_to_shape(scaled(grad, ctx.beta), *ctx.inp_meta) if ni else None
        g1 = scaled(grad @ v2, ctx.alpha) if n1 else None
        g2 = scaled(grad.T @ v1, ctx.alpha) if n2 else None
        return gi, g1, g2, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        v1, v2 = ctx.saved_tensors
        ni, n1, n2 = ctx.needs_input_grad[:3]
        gi = sum_to_shape(grad * ctx.beta, *ctx.inp_meta) if ni else None
        g1 = grad.matmul(v2) * ctx.alpha if n1 else None
        g2 = grad.transpose(0, 1).matmul(v1) * ctx.alpha if n2 else None
        return gi, g1, g2, None, None


class Prelu(Op):
    """x where x > 0, else w x; w broadcast against x (one weight, or one per channel)."""

    torch_name = "PreluKernelBackward0"

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return like_input(np.where(x > 0, x, w * x), x)  # (x's layout, as PyTorch's)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        return Prelu.grads(grad, x, w, 0), Prelu.grads(grad, x, w, 1)

    @staticmethod
    def grads(grad, x, w, which):
        """PyTorch's prelu backward: the input's gradient (which 0) or the weight's (1)."""
        if which == 0:
            return _where(x > 0, grad, w * grad).astype(x.dtype, copy=False)
        return sum_to_shape(np.where(x > 0, 0, x * grad), w.shape, w.dtype)

    @staticmethod
    def graph_backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad[:2]
        return (
            PreluBackward.apply(grad, x, w, 0) if need_x else None,
            PreluBackward.apply(grad, x, w, 1) if need_w else None,
        )


class PreluBackward(Op):
    """prelu's backward as an op of (grad, x, w), for create_graph backwards: `which` 0 gives
    the input's gradient, 1 the weight's. Its backward is PyTorch's (_prelu_kernel_backward in
    derivatives.yaml), whose selects take x >= 0 where prelu's backward takes x > 0: at x = 0
    the first derivative is w, but the second derivatives are those of the x > 0 side."""

    torch_name = "PreluKernelBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, x, w, which):
        ctx.save_for_backward(grad, x, w)
        ctx.which = which
        return Prelu.grads(grad, x, w, which)

    @staticmethod
    def backward(ctx, gg):
        # (a plain backward through the gradient: the same formulas on constants)
        with grad_mode.no_grad():
            grads = PreluBackward.double(ctx, _const(gg), *(_const(a) for a in ctx.saved_tensors))
        return (*(g._data for g in grads), None)

    @staticmethod
    def graph_backward(ctx, gg):
        return (*PreluBackward.double(ctx, gg, *ctx.saved_tensors), None)

    @staticmethod
    def double(ctx, gg, grad, x, w):
        """The gradients for (grad, x, w) of the input's (which 0) or the weight's gradient."""
        keep, zero = x._data >= 0, _zero(gg)
        if ctx.which == 0:  # gg in x's shape
            g_grad = _select(keep, gg, gg * w)
            g_w = sum_to_shape(_select(keep, zero, grad * gg), w.shape, w._data.dtype)
            return g_grad, _const(np.zeros_like(x._data)), g_w
        # gg in w's shape
        g_grad = _select(keep, zero, gg * x)
        g_x = _select(keep, zero, grad * gg)
        return g_grad, g_x, _const(np.zeros_like(w._data))
