"""More engine ops (the maths PyTorch tutorials reach for beyond the basics).

Same contract as ops.py: forward and backward on NumPy arrays side by side, each
saving only what its backward reads, each gradient in its input's shape and dtype.
`torch_name` is the name PyTorch gives the node (what `grad_fn` prints).
"""

from __future__ import annotations

import math
import string
from typing import Any

import numpy as np

from .._indexing import IndexPlan
from ..kernels.contract import einsum2
from ..kernels.distance import euclid_mm, euclid_mm_backward, pnorm_dist, pnorm_dist_grad
from ..kernels.layout import c_order, like_input, like_operands
from ..kernels.opmath import mul_number, opmath, rsqrt
from ..kernels.scatter import add_rows, wide_add_at, wide_add_rows, wide_sum
from .function import layout_free, sum_to_shape
from .ops import (
    Binary,
    Index,
    IndexAccumulate,
    Op,
    TakeAlongAxis,
    _const,
    _data,
    _expand_back,
    _full_index,
    _kept_graph,
    _linked,
    _select,
    _zero,
)
from .ops_gaps import NoDerivative

# -- erf, vectorised ------------------------------------------------------------------------
# NumPy has no erf. math.erf per element costs ~0.2 us, so erf/gelu on a 1M tensor took 0.2 s.
# Instead, a Taylor expansion around the nearest node x0 = k/8 (|h| = |x - x0| <= 1/16):
#     erf(x0 + h) = erf(x0) + 2/sqrt(pi) e^(-x0^2) sum_{n>=0} (-1)^n H_n(x0) h^(n+1) / (n+1)!
# (the derivatives of e^(-t^2) are (-1)^n H_n(t) e^(-t^2), H_n the Hermite polynomials:
# H_0 = 1, H_1 = 2t, H_(n+1) = 2t H_n - 2n H_(n-1)). Each node's coefficients come from
# math.erf and math.exp once; with |h| <= 1/16, 12 terms leave the truncation below 1e-17,
# and the result is within 4e-16 relative of math.erf from 1e-300 to 7 (tests check it).
# Beyond 6, erf rounds to 1 in float64 (erfc(6) = 2e-17), so |x| is clipped there.
_ERF_STEP, _ERF_TOP, _ERF_TERMS = 8, 6.0, 12
_erf_table: np.ndarray | None = None


def _erf_coefficients() -> np.ndarray:
    """(terms + 1, nodes) float64: row 0 erf(x0), row n+1 the coefficient of h^(n+1)."""
    nodes = np.arange(int(_ERF_TOP * _ERF_STEP) + 1) / _ERF_STEP
    table = np.empty((_ERF_TERMS + 1, nodes.size))
    for i, x0 in enumerate(nodes.tolist()):
        scale = 2 / math.sqrt(math.pi) * math.exp(-x0 * x0)
        h_prev, h, fact = 0.0, 1.0, 1.0  # H_(n-1), H_n, (n+1)!
        table[0, i] = math.erf(x0)
        for n in range(_ERF_TERMS):
            fact *= n + 1
            table[n + 1, i] = scale * (-1) ** n * h / fact
            h_prev, h = h, 2 * x0 * h - 2 * n * h_prev
    return table


def erf_array(x: np.ndarray) -> np.ndarray:
    """The error function elementwise, in x's dtype (evaluated in float64 and rounded once,
    so float32 results are correctly rounded but for rare ties)."""
    global _erf_table
    if _erf_table is None:
        _erf_table = _erf_coefficients()
    x = np.asarray(x)
    a = np.minimum(np.abs(x.reshape(-1), dtype=np.float64), _ERF_TOP)  # 1-D: take gives arrays
    nan = np.isnan(a)
    has_nan = bool(nan.any())
    if has_nan:
        a[nan] = 0.0
    node = np.rint(a * _ERF_STEP).astype(np.intp)
    h = a - node / _ERF_STEP  # exact: node / 8 is a short binary fraction
    p = _erf_table[_ERF_TERMS].take(node)
    for k in range(_ERF_TERMS - 1, -1, -1):  # Horner in h
        p *= h
        p += _erf_table[k].take(node)
    np.copysign(p, x.reshape(-1), out=p)  # erf is odd (erf(-0.0) = -0.0)
    if has_nan:
        p[nan] = np.nan
    return p.reshape(x.shape).astype(x.dtype, copy=False)


# -- unary elementwise, derivative from the input or the output --------------------------


class Reciprocal(Op):
    torch_name = "ReciprocalBackward0"

    @staticmethod
    def forward(ctx, a):
        out = np.reciprocal(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * -(out * out)  # d(1/a) = -1/a^2 = -out^2

    graph_backward = backward


class Rsqrt(Op):
    torch_name = "RsqrtBackward0"

    @staticmethod
    def forward(ctx, a):
        out = np.asarray(rsqrt(a)).astype(a.dtype, copy=False)
        ctx.save_for_backward(out)  # the output itself (create_graph sees it as the output)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        # d a^(-1/2) = -1/2 a^(-3/2), as PyTorch's formula: (grad * -0.5) * out^3
        return mul_number(grad, -0.5) * out**3

    @staticmethod
    def graph_backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * -0.5 * out**3


class Exp2(Op):
    torch_name = "Exp2Backward0"

    @staticmethod
    def forward(ctx, a):
        out = np.exp2(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return mul_number(grad * out, math.log(2.0))  # (PyTorch's order)

    @staticmethod
    def graph_backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * math.log(2.0)


class Expm1(Op):
    torch_name = "Expm1Backward0"

    @staticmethod
    def forward(ctx, a):
        out = np.expm1(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out + 1)  # d(e^a - 1) = e^a

    graph_backward = backward


class Log1p(Op):
    torch_name = "Log1PBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log1p(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a + 1)

    graph_backward = backward


class Log2(Op):
    torch_name = "Log2Backward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log2(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / mul_number(a, math.log(2.0))

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a * math.log(2.0))


class Log10(Op):
    torch_name = "Log10Backward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log10(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / mul_number(a, math.log(10.0))

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a * math.log(10.0))


class Sinh(Op):
    torch_name = "SinhBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sinh(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * np.cosh(a)

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * a.cosh()


class Cosh(Op):
    torch_name = "CoshBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cosh(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * np.sinh(a)

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * a.sinh()


class Asin(Op):
    torch_name = "AsinBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.arcsin(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * rsqrt(-a * a + 1)  # (PyTorch's formula, op by op)

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * (-a * a + 1).rsqrt()


class Asinh(Op):
    torch_name = "AsinhBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.arcsinh(a)

    @staticmethod
    def backward(ctx, grad):  # d asinh(x) = 1 / sqrt(x^2 + 1)
        (a,) = ctx.saved_tensors
        return grad * rsqrt(a * a + 1)  # (PyTorch's formula, op by op)

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * (a * a + 1).rsqrt()


class Acosh(Op):
    torch_name = "AcoshBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.arccosh(a)

    @staticmethod
    def backward(ctx, grad):  # d acosh(x) = 1 / sqrt(x^2 - 1), x >= 1
        (a,) = ctx.saved_tensors
        return grad * rsqrt(a * a - 1)  # (PyTorch's formula, op by op)

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * (a * a - 1).rsqrt()


class Atanh(Op):
    torch_name = "AtanhBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.arctanh(a)

    @staticmethod
    def backward(ctx, grad):  # d atanh(x) = 1 / (1 - x^2)
        (a,) = ctx.saved_tensors
        return grad / (1 - a * a)

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (1 - a * a)


class Acos(Op):
    torch_name = "AcosBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.arccos(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * -rsqrt(-a * a + 1)  # (PyTorch's formula, op by op)

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * -(-a * a + 1).rsqrt()


class Atan(Op):
    torch_name = "AtanBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.arctan(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (1 + a * a)

    graph_backward = backward


class Erf(Op):
    torch_name = "ErfBackward0"
    # PyTorch's float32 erf (a vectorised approximation) is exactly +-1 from |x| = 3.832507 on;
    # the correctly rounded value (erf_array's) gets there only at 3.9192
    _ONE32 = np.float32(3.832507)

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        out = erf_array(a)
        if out.dtype == np.float32:
            out = np.where(np.abs(a) >= Erf._ONE32, np.copysign(np.float32(1), a), out)
        return like_input(out, a)  # (in a's layout, as PyTorch's)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return mul_number(np.exp(-a * a), 2 / math.sqrt(math.pi)) * grad  # (PyTorch's order)

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * ((-a * a).exp() * (2 / math.sqrt(math.pi)))


class Rounding(Op):
    """floor, ceil, trunc, round: piecewise constant, so the gradient is zero (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, fn, decimals=0):
        ctx.in_meta = (a.shape, a.dtype)
        names = {np.floor: "FloorBackward0", np.ceil: "CeilBackward0", np.trunc: "TruncBackward0"}
        ctx.torch_name = names.get(fn, "RoundBackward1" if decimals else "RoundBackward0")
        if fn is np.round and decimals:
            return opmath(_round_decimals, a, decimals)  # (float16: PyTorch's float32 steps)
        return fn(a)

    @staticmethod
    def backward(ctx, grad):
        return np.zeros(*ctx.in_meta), None, None

    @staticmethod
    def graph_backward(ctx, grad):
        return _const(np.zeros(*ctx.in_meta)), None, None


def _round_decimals(a: np.ndarray, decimals: int) -> np.ndarray:
    """np.round(a, decimals) as PyTorch's kernel computes it: a * 10^d (a / 10^-d for
    negative d) rounded half to even, then scaled back."""
    if a.dtype.kind != "f":
        return np.round(a, decimals)
    scale = a.dtype.type(10.0 ** abs(decimals))
    if decimals > 0:
        return np.rint(a * scale) / scale
    return np.rint(a / scale) * scale


class Frac(Op):
    torch_name = "FracBackward0"

    @staticmethod
    def forward(ctx, a):
        return a - np.trunc(a)  # keeps the sign, as PyTorch: frac(-1.5) = -0.5

    @staticmethod
    def backward(ctx, grad):
        return grad

    graph_backward = backward


class Atan2(Binary):
    torch_name = "Atan2Backward0"

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        ctx.save_for_backward(a, b)
        return like_operands(np.arctan2(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        den = a * a + b * b
        # at a = b = 0 PyTorch gives a zero gradient, not 0/0 = nan
        recip = np.where(den == 0, np.zeros((), den.dtype), np.reciprocal(den))
        # d atan2(a, b) = (b da - a db) / (a^2 + b^2), as PyTorch's grad b r and grad (-a) r
        return Binary.reduce(ctx, grad * b * recip, grad * -a * recip)

    @staticmethod
    def graph_backward(ctx, grad):
        a, b = ctx.saved_tensors
        den = a * a + b * b
        r = _select(_data(den) == 0, _zero(grad), grad / den)
        return Binary.reduce(ctx, r * b, -r * a)


# -- ops of three operands -------------------------------------------------------------


class Ternary(Op):
    """Shared set-up for out = f(x, y, z) elementwise with broadcasting and one result dtype."""

    @staticmethod
    def prepare(ctx, xs, dtype):
        ctx.metas = [(np.shape(x), getattr(x, "dtype", None)) for x in xs]
        out = [x.astype(dtype, copy=False) if isinstance(x, np.ndarray) else x for x in xs]
        if ctx.needs_input_grad and any(o is not x for o, x in zip(out, xs, strict=True)):
            ctx._cast_sources = dict(enumerate(out))  # create_graph: a saved copy is x.to(dtype)
        return out

    @staticmethod
    def reduce(ctx, grads):
        return tuple(
            sum_to_shape(np.asarray(g), *m) if g is not None and need else None
            for g, m, need in zip(grads, ctx.metas, ctx.needs_input_grad, strict=False)
        )

    @staticmethod
    def reduce_graph(ctx, grads):
        """reduce, for the Tensor gradients of graph_backward."""
        return tuple(
            sum_to_shape(g, *m) if g is not None and need else None
            for g, m, need in zip(grads, ctx.metas, ctx.needs_input_grad, strict=False)
        )


class Lerp(Ternary):
    """start + weight * (end - start)."""

    @staticmethod
    def forward(ctx, start, end, weight, dtype):
        start, end, weight = Ternary.prepare(ctx, (start, end, weight), dtype)
        ctx.torch_name = "LerpBackward1" if isinstance(weight, np.ndarray) else "LerpBackward0"
        n = ctx.needs_input_grad or (False,) * 3
        saved = (weight if n[0] or n[1] else None, start if n[2] else None, end if n[2] else None)
        if any(isinstance(s, np.ndarray) for s in saved):
            ctx.save_for_backward(*saved)
        else:  # (a number weight is no saved tensor: PyTorch's second backward works then)
            ctx.unsaved = saved
        # PyTorch's two forms: from start for |weight| < 0.5, else from end, so that weight 1
        # gives end exactly (and the infinities come out as PyTorch's: lerp(-inf, 1, 0.5) is
        # -inf, lerp(0, inf, 1) nan)
        # (one kernel: float16 computed in float32, rounded once)
        return np.asarray(opmath(Lerp._lerp, start, end, weight)).astype(dtype, copy=False)

    @staticmethod
    def _lerp(start, end, weight):
        diff = end - start
        return np.where(np.abs(weight) < 0.5, start + weight * diff, end + (weight - 1) * diff)

    @staticmethod
    def backward(ctx, grad):
        weight, start, end = ctx.saved_tensors or ctx.unsaved
        n = ctx.needs_input_grad
        if not isinstance(weight, np.ndarray) and weight is not None:
            # grad times a number: float16 in float32 with the number unrounded (PyTorch's mul)
            ga = opmath(np.multiply, grad, 1 - weight) if n[0] else None
            gb = opmath(np.multiply, grad, weight) if n[1] else None
        else:  # (PyTorch's formula of tensor ops, each rounded in the dtype)
            ga = grad * (1 - weight) if n[0] else None
            gb = grad * weight if n[1] else None
        return Ternary.reduce(ctx, (ga, gb, grad * (end - start) if n[2] else None)) + (None,)

    @staticmethod
    def graph_backward(ctx, grad):
        weight, start, end = ctx.saved_tensors or ctx.unsaved
        n = ctx.needs_input_grad
        return Ternary.reduce_graph(
            ctx,
            (
                grad * (1 - weight) if n[0] else None,
                grad * weight if n[1] else None,
                grad * (end - start) if n[2] else None,
            ),
        ) + (None,)


class Addcmul(Ternary):
    """input + value * t1 * t2."""

    torch_name = "AddcmulBackward0"

    @staticmethod
    def forward(ctx, x, t1, t2, value, dtype):
        x, t1, t2 = Ternary.prepare(ctx, (x, t1, t2), dtype)
        n = ctx.needs_input_grad or (False,) * 3
        ctx.value = value
        if n[1] or n[2]:  # (nothing saved for input's gradient: a second backward works then)
            ctx.save_for_backward(t2 if n[1] else None, t1 if n[2] else None)
        # (one kernel: float16 computed in float32, rounded once)
        out = opmath(lambda x, t1, t2: x + value * t1 * t2, x, t1, t2)
        return np.asarray(out).astype(dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        t2, t1 = ctx.saved_tensors or (None, None)
        n, v = ctx.needs_input_grad, ctx.value
        # PyTorch's grad * (t2 * value): the product with the number rounded first
        return Ternary.reduce(
            ctx,
            (
                grad,
                grad * opmath(np.multiply, t2, v) if n[1] else None,
                grad * opmath(np.multiply, t1, v) if n[2] else None,
            ),
        ) + (None, None)

    @staticmethod
    def graph_backward(ctx, grad):
        t2, t1 = ctx.saved_tensors or (None, None)
        n, v = ctx.needs_input_grad, ctx.value
        return Ternary.reduce_graph(
            ctx, (grad, grad * v * t2 if n[1] else None, grad * v * t1 if n[2] else None)
        ) + (None, None)


class Addcdiv(Ternary):
    """input + value * t1 / t2."""

    torch_name = "AddcdivBackward0"

    @staticmethod
    def forward(ctx, x, t1, t2, value, dtype):
        x, t1, t2 = Ternary.prepare(ctx, (x, t1, t2), dtype)
        n = ctx.needs_input_grad or (False,) * 3
        ctx.value = value
        ctx.save_for_backward(t1 if n[2] else None, t2 if n[1] or n[2] else None)
        # (one kernel: float16 computed in float32, rounded once)
        out = opmath(lambda x, t1, t2: x + value * t1 / t2, x, t1, t2)
        return np.asarray(out).astype(dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        t1, t2 = ctx.saved_tensors
        n, v = ctx.needs_input_grad, ctx.value
        # PyTorch's formula, op by op: grad * (value / t2), the number first made a tensor of
        # t2's dtype; -grad * (t1 * value / (t2 * t2)), t1 * value with the number unrounded
        g1 = grad * (np.asarray(v, t2.dtype) / t2) if n[1] else None
        g2 = -grad * (opmath(np.multiply, t1, v) / (t2 * t2)) if n[2] else None
        return Ternary.reduce(ctx, (grad, g1, g2)) + (None, None)

    @staticmethod
    def graph_backward(ctx, grad):
        t1, t2 = ctx.saved_tensors
        n, v = ctx.needs_input_grad, ctx.value
        return Ternary.reduce_graph(
            ctx,
            (grad, grad * v / t2 if n[1] else None, -grad * v * t1 / (t2 * t2) if n[2] else None),
        ) + (None, None)


# -- reductions and scans ----------------------------------------------------------------


class Logsumexp(Op):
    torch_name = "LogsumexpBackward0"

    @staticmethod
    @layout_free
    def forward(ctx, a, axis, keepdims):
        m = np.max(a, axis=axis, keepdims=True) if a.size else np.zeros((1,) * a.ndim, a.dtype)
        m = np.where(np.isfinite(m), m, 0)  # all -inf (or an inf) along a row: no shift
        total = wide_sum(np.exp(a - m), axis, keepdims=True)  # (float16: in float32)
        out = np.log(total) + m
        out = out.astype(a.dtype, copy=False)
        ctx.kept_shape = out.shape
        if not keepdims:
            out = np.squeeze(out, axis=axis)
        # the returned array itself is saved, so an in-place write to the output is caught
        # by its version counter (a squeezed copy saved instead would slip through)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        shape = ctx.kept_shape
        return grad.reshape(shape) * np.exp(a - out.reshape(shape)), None, None  # softmax_i

    @staticmethod
    def graph_backward(ctx, grad):
        a, out = ctx.saved_tensors
        shape = ctx.kept_shape
        return grad.reshape(shape) * (a - out.reshape(shape)).exp(), None, None


# PyTorch's CPU scans (cumsum, cumprod and their backward) add up float32 in float64 and
# float16 in float32, rounding each partial result once: float32 running sums of 100000 x 0.1
# end at 10000.0 there, at 9998.56 in float32, and a float32 count stops at 2**24.
_SCAN_WIDE = {np.dtype(np.float16): np.float32, np.dtype(np.float32): np.float64}


def _scan(fn, a: np.ndarray, axis: int, dtype) -> np.ndarray:
    """``fn`` (np.cumsum or np.cumprod) of ``a`` along ``axis`` in ``dtype`` (None: a's), as
    PyTorch's CPU kernel: a wider accumulator for float16 / float32, a contiguous result."""
    want = a.dtype if dtype is None else np.dtype(dtype)
    wide = _SCAN_WIDE.get(want)
    if wide is None:
        # (contiguous, as PyTorch's result; NumPy's follows a transposed input's order)
        return c_order(fn(a, axis=axis, dtype=want))
    return c_order(fn(a.astype(want, copy=False), axis=axis, dtype=wide).astype(want))


def _reversed_cumsum(g: np.ndarray, axis: int) -> np.ndarray:
    """sum_{j >= i} g_j along ``axis`` (the scans' backward), accumulated as ``_scan``'s."""
    return np.flip(_scan(np.cumsum, np.flip(g, axis), axis, None), axis)


class Cumsum(Op):
    torch_name = "CumsumBackward0"
    casts_input = True  # (cumsum(dtype=...): the cast is inside, as PyTorch's one node)

    @staticmethod
    def forward(ctx, a, axis, dtype):
        ctx.axis, ctx.in_dtype = axis, a.dtype
        return _scan(np.cumsum, a, axis, dtype)

    @staticmethod
    def backward(ctx, grad):
        # a_i reaches every out_j with j >= i: a reversed cumulative sum of the gradient
        # (taken in the input's dtype first, as PyTorch's)
        return _reversed_cumsum(grad.astype(ctx.in_dtype, copy=False), ctx.axis), None, None

    @staticmethod
    def graph_backward(ctx, grad):
        ax = ctx.axis
        return grad.to(ctx.in_dtype).flip(ax).cumsum(ax).flip(ax), None, None


class Cumprod(Op):
    """out_j = prod_{k <= j} a_k. d out_j / d a_i (i <= j) = prod_{k <= j, k != i} a_k.

    Without zeros that is out_j / a_i, so the gradient is a reversed cumulative sum of
    grad * out, divided by a. In a row whose first zero is at z: for i < z only the j < z
    terms count (the others hold the zero), for i > z the gradient is 0, and for i = z it is
    prod_{k<z} a_k * sum_{z<=j<z2} grad_j prod_{z<k<=j} a_k (z2 the next zero). Like PyTorch, the
    terms known to be zero are left out, not multiplied, so an inf gradient there does not turn the
    row NaN.
    """

    torch_name = "CumprodBackward0"

    @staticmethod
    def forward(ctx, a, axis, dtype):
        out = _scan(np.cumprod, a, axis, dtype)
        ctx.save_for_backward(a, out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        ax = ctx.axis
        if a.size == 0:
            return np.zeros_like(a), None, None
        if a.size == 1:  # a scan over one element is the identity: grad, even at nan or inf
            return np.asarray(grad).astype(a.dtype, copy=False), None, None
        if np.all(a != 0):
            # inf gradients: quiet, as PyTorch
            rc = _reversed_cumsum(grad * out, ax)
            return (rc / a).astype(a.dtype, copy=False), None, None
        x = np.moveaxis(a, ax, -1)
        g = np.moveaxis(grad, ax, -1)
        o = np.moveaxis(out, ax, -1)
        n = x.shape[-1]
        k = np.arange(n)
        zero = x == 0
        z = np.where(zero.any(axis=-1), zero.argmax(axis=-1), n)[..., None]  # first zero per row
        before = k < z
        rc = _reversed_cumsum(np.where(before, g * o, 0), -1)
        gi = np.where(before, rc / np.where(before, x, 1), 0)
        # at z: the products of the factors after z, prod_{z<k<=j} a_k, for z <= j < z2
        # (z2 the second zero: later terms hold it)
        later = zero & (k > z)
        z2 = np.where(later.any(axis=-1), later.argmax(axis=-1), n)[..., None]
        after = np.cumprod(np.where(k > z, x, 1), axis=-1)
        s = np.sum(np.where((k >= z) & (k < z2), g * after, 0), axis=-1, keepdims=True)
        zc = np.minimum(z, n - 1)
        lead = np.where(z > 0, np.take_along_axis(o, np.maximum(zc - 1, 0), axis=-1), 1)
        gi = np.where(k == z, lead * s, gi)
        return np.moveaxis(gi, -1, ax).astype(a.dtype, copy=False), None, None

    @staticmethod
    def graph_backward(ctx, grad):
        a, out = ctx.saved_tensors
        ax = ctx.axis
        ad = a._data
        if ad.size == 0:
            return _const(np.zeros_like(ad)), None, None
        if ad.size == 1:  # a scan over one element is the identity (and out / a would lose
            return grad.to(ad.dtype), None, None  # its second derivative to rounding)
        if np.all(ad != 0):
            rc = (grad * out).flip(ax).cumsum(ax).flip(ax)
            return (rc / a).to(ad.dtype), None, None
        # With zeros, straight from the definition: d out_j / d a_i = prod_{k <= j, k != i} a_k.
        # Row i of `rows` is a with a_i replaced by 1; its cumulative product at j >= i is that
        # derivative (an (n, n) matrix per row of a: fine for the small n that have zeros).
        x = a.movedim(ax, -1)
        n = x._data.shape[-1]
        rows = _select(np.eye(n, dtype=bool), np.ones((), ad.dtype), x.unsqueeze(-2))
        d_out = rows.cumprod(-1)
        g = grad.movedim(ax, -1).unsqueeze(-2)
        upper = np.arange(n)[None, :] >= np.arange(n)[:, None]  # j >= i
        gi = _select(upper, g * d_out, _zero(grad)).sum(-1)
        return gi.movedim(-1, ax).to(ad.dtype), None, None


# -- gather / scatter / index_select / masked_fill -----------------------------------------


class Gather(Op):
    """out[p] = a[p with its `axis` coordinate replaced by index[p]]."""

    torch_saves = True  # (PyTorch's node saves tensors: see Function.torch_saves)

    torch_name = "GatherBackward0"

    @staticmethod
    def forward(ctx, a, axis, index):
        ctx.shape, ctx.axis, ctx.index = a.shape, axis, index
        return a[_full_index(index, axis)]

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        wide_add_at(out, _full_index(ctx.index, ctx.axis), grad)  # picked twice: both gradients
        return out, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        where = IndexPlan((Ellipsis,), _full_index(ctx.index, ctx.axis), ctx.index.shape, False)
        return IndexAccumulate.apply(grad, where, ctx.shape), None, None


def _line_along(index: np.ndarray, axis: int, out: np.ndarray, vals: Any) -> Any:
    """The 1-D index (n,) when `index` repeats one line along `axis` over all its other dims
    and covers `out` in them (a scatter of whole slices), else None."""
    if not isinstance(vals, np.ndarray) or vals.dtype != out.dtype or index.ndim == 0:
        return None
    if any(
        n != m for i, (n, m) in enumerate(zip(index.shape, out.shape, strict=False)) if i != axis
    ):
        return None
    line = index[tuple(slice(None) if i == axis else 0 for i in range(index.ndim))]
    if line.size == 0 or line.min() < 0:
        return None
    if all(st == 0 for i, st in enumerate(index.strides) if i != axis):
        return line  # a broadcast view (index_add's): no need to compare
    view = [1] * index.ndim
    view[axis] = -1
    return line if (index == line.reshape(view)).all() else None


class Scatter(Op):
    """out = a with a[index[p] along axis] = src[p] (src a tensor or a number).

    With reduce_add (scatter_add) the values are added instead of written: float16 in
    float32, rounded once (PyTorch's scatter_add), or with reduce_add="seq" rounded at every
    add (PyTorch's index_put_ and put_ with accumulate=True).
    """

    @staticmethod
    def forward(ctx, a, axis, index, src, reduce_add):
        ctx.axis, ctx.index, ctx.add = axis, index, reduce_add
        ctx.src_meta = (np.shape(src), getattr(src, "dtype", None))
        ctx.torch_name = (
            "ScatterAddBackward0"
            if reduce_add
            else "ScatterBackward0"
            if isinstance(src, np.ndarray)
            else "ScatterBackward1"
        )
        out = a.copy()
        ctx.line = None
        if index.size == 0:  # nothing written (src may then have any shape)
            return out
        where = _full_index(index, axis)
        vals = src[tuple(slice(0, s) for s in index.shape)] if isinstance(src, np.ndarray) else src
        line = ctx.line = _line_along(index, axis, out, vals) if reduce_add else None
        if line is not None:
            # whole slices along `axis` (index_add, index_put_ with accumulate, embedding_bag):
            # add_rows gives np.add.at's sums, in its order, in row-sized steps. index_add of
            # (512, 1024) float32 rows onto 512: 9.7 -> 2.6 ms (PyTorch 1.1 ms)
            add = add_rows if reduce_add == "seq" else wide_add_rows
            add(np.moveaxis(out, axis, 0), line, np.moveaxis(vals, axis, 0))
        elif reduce_add:
            (np.add.at if reduce_add == "seq" else wide_add_at)(out, where, vals)
        else:
            out[where] = vals
        return out

    @staticmethod
    def backward(ctx, grad):
        where = _full_index(ctx.index, ctx.axis)
        ga = gs = None
        if ctx.needs_input_grad[0]:
            ga = grad.copy()
            if not ctx.add:  # overwritten entries no longer reach the output
                ga[where] = 0
        if ctx.needs_input_grad[3]:
            shape, dtype = ctx.src_meta
            if ctx.line is not None and tuple(shape) == ctx.index.shape:
                # whole slices: the same picks as grad[where], one take along the axis (index_add
                # of (512, 1024) rows: 3.3 -> 0.6 ms)
                gs = np.take(grad, ctx.line, axis=ctx.axis).astype(dtype, copy=False)
            else:
                gs = np.zeros(shape, dtype=dtype)
                if ctx.index.size:
                    gs[tuple(slice(0, s) for s in ctx.index.shape)] = grad[where]
        return ga, None, None, gs, None

    @staticmethod
    def graph_backward(ctx, grad):
        where = _full_index(ctx.index, ctx.axis)
        ga = gs = None
        if ctx.needs_input_grad[0]:
            ga = grad
            if not ctx.add:
                kept = np.ones(grad._data.shape, dtype=bool)
                kept[where] = False
                ga = _select(kept, grad, _zero(grad))
        if ctx.needs_input_grad[3] and ctx.index.size == 0:
            gs = _const(np.zeros(*ctx.src_meta))  # src was not read
        elif ctx.needs_input_grad[3]:
            shape, dtype = ctx.src_meta
            gs = Index.apply(grad, IndexPlan((Ellipsis,), where, ctx.index.shape, False))
            if tuple(shape) != ctx.index.shape:  # src larger than index: zeros past it
                corner = IndexPlan(
                    tuple(slice(0, s) for s in ctx.index.shape) + (Ellipsis,),
                    None,
                    ctx.index.shape,
                    True,
                )
                gs = IndexAccumulate.apply(gs, corner, shape)
            gs = gs.to(dtype)
        return ga, None, None, gs, None


class ScatterReduce(Op):
    """out = self with src[p] folded into out[index[p] along axis] by `reduce` ('sum', 'prod',
    'mean', 'amax', 'amin'); with include_self=False the written positions start from src
    alone (self's values there take no part).

    Gradients: sum passes grad through; mean divides it by the count at each destination;
    amax/amin share it evenly among the contributors equal to the result (as PyTorch);
    prod gives each contributor the product of the others (exact where there are zeros).
    """

    torch_name = "ScatterReduceBackward0"

    @staticmethod
    def forward(ctx, a, axis, index, src, reduce, include_self):
        where = _full_index(index, axis)
        vals = src[tuple(slice(0, s) for s in index.shape)]
        hit = np.zeros(a.shape, dtype=bool)
        hit[where] = True
        mine = np.ones(a.shape, dtype=bool) if include_self else ~hit  # self contributes
        out = a.copy()
        ctx.axis, ctx.index, ctx.reduce = axis, index, reduce
        ctx.src_shape = src.shape
        if reduce in ("sum", "mean"):
            out[~mine] = 0
            wide_add_at(out, where, vals)
            if reduce == "mean":
                count = mine.astype(np.int64)  # (counted exactly: a float16 count stops at 2048)
                np.add.at(count, where, 1)
                count = count.astype(a.dtype)
                out = (out // count if a.dtype.kind in "iu" else out / count).astype(a.dtype)
                ctx.count = count
        elif reduce == "prod":
            out[~mine] = 1
            np.multiply.at(out, where, vals)
        else:  # amax / amin
            big = np.inf if a.dtype.kind == "f" else np.iinfo(a.dtype).max
            out[~mine] = -big if reduce == "amax" else big
            (np.maximum if reduce == "amax" else np.minimum).at(out, where, vals)
        ctx.mine = mine
        if reduce in ("prod", "amax", "amin"):
            ctx.save_for_backward(a, src, out)
        return out

    # -- the per-contributor coefficients (d out[dest] / d contributor) --------------------
    @staticmethod
    def _coefficients(ctx, a, vals, out):
        """(coefficient for self, coefficient for each src element in index's shape): the
        derivative of out at its destination with respect to that contributor (arrays)."""
        where = _full_index(ctx.index, ctx.axis)
        mine = ctx.mine
        if ctx.reduce == "sum":
            return mine.astype(out.dtype), np.ones(vals.shape, out.dtype)
        if ctx.reduce == "mean":
            inv = 1 / ctx.count
            return np.where(mine, inv, 0), inv[where]
        if ctx.reduce in ("amax", "amin"):
            self_tie = mine & (a == out)
            src_tie = vals == out[where]
            if np.any(~mine & (a == out) & ~np.isnan(out)):
                # PyTorch counts such a self value among the ties (though it was left out), so
                # its gradients there do not sum to grad: refused rather than copied or changed
                raise RuntimeError(
                    f"scatter_reduce(reduce={ctx.reduce!r}, include_self=False): backward where "
                    "a left-out self value equals the result is refused (PyTorch 2.13 shares "
                    "the gradient with it, so the src gradients do not sum to the output's)"
                )
            ties = self_tie.astype(out.dtype)
            np.add.at(ties, where, src_tie)
            return self_tie / ties, np.where(src_tie, 1 / ties[where], 0)
        # prod: the product of the other contributors. Count the zeros and multiply the
        # non-zero contributors per destination: a non-zero contributor's coefficient is
        # (that product) / itself when there is no zero, a zero's is the product of the
        # others when it is the only zero, and everything else is 0.
        zeros = (mine & (a == 0)).astype(np.int64)
        np.add.at(zeros, where, vals == 0)
        nonzero = np.where(mine & (a != 0), a, 1).astype(out.dtype)
        np.multiply.at(nonzero, where, np.where(vals != 0, vals, 1))
        ca = np.where(
            a != 0,
            np.where(zeros == 0, nonzero / np.where(a != 0, a, 1), 0),
            np.where(zeros == 1, nonzero, 0),
        )
        z, p = zeros[where], nonzero[where]
        cs = np.where(
            vals != 0,
            np.where(z == 0, p / np.where(vals != 0, vals, 1), 0),
            np.where(z == 1, p, 0),
        )
        return np.where(mine, ca, 0), cs

    @staticmethod
    def backward(ctx, grad):
        where = _full_index(ctx.index, ctx.axis)
        if ctx.reduce in ("prod", "amax", "amin"):
            a, src, out = ctx.saved_tensors
            vals = src[tuple(slice(0, s) for s in ctx.index.shape)]
        else:
            a = out = grad
            vals = np.zeros(ctx.index.shape, grad.dtype)
        ca, cs = ScatterReduce._coefficients(ctx, a, vals, out)
        ga = gs = None
        if ctx.needs_input_grad[0]:
            ga = (grad * ca).astype(grad.dtype, copy=False)
        if ctx.needs_input_grad[3]:
            gs = np.zeros(ctx.src_shape, grad.dtype)
            if ctx.index.size:
                gs[tuple(slice(0, s) for s in ctx.index.shape)] = grad[where] * cs
        return ga, None, None, gs, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        where = _full_index(ctx.index, ctx.axis)
        plan = IndexPlan((Ellipsis,), where, ctx.index.shape, False)
        gd = grad._data
        if ctx.reduce == "prod":
            a, src, out = ctx.saved_tensors
            ad, sd = a._data, src._data
            vals_d = sd[tuple(slice(0, s) for s in ctx.index.shape)]
            if np.any(ctx.mine & (ad == 0)) or np.any(vals_d == 0):
                raise RuntimeError(
                    "scatter_reduce(reduce='prod'): double backward through a zero is not "
                    "implemented in tinyconv"
                )
            # d out / d x = out / x for every contributor x (no zeros): in the graph
            g_out = grad * out
            ga = _select(ctx.mine, g_out / a, _zero(grad)) if ctx.needs_input_grad[0] else None
            gs = None
            if ctx.needs_input_grad[3]:
                vals = src[tuple(slice(0, s) for s in ctx.index.shape)]
                gs = Index.apply(g_out, plan) / vals
                gs = _pad_to(gs, ctx.index.shape, ctx.src_shape)
            return ga, None, None, gs, None, None
        if ctx.reduce in ("amax", "amin"):
            a, src, out = ctx.saved_tensors
            vals = src._data[tuple(slice(0, s) for s in ctx.index.shape)]
            ca, cs = ScatterReduce._coefficients(ctx, a._data, vals, out._data)
        else:
            ca, cs = ScatterReduce._coefficients(ctx, gd, np.zeros(ctx.index.shape), gd)
        ga = gs = None
        if ctx.needs_input_grad[0]:
            ga = grad * _const(ca.astype(gd.dtype))
        if ctx.needs_input_grad[3]:
            gs = Index.apply(grad, plan) * _const(np.asarray(cs, gd.dtype))
            gs = _pad_to(gs, ctx.index.shape, ctx.src_shape)
        return ga, None, None, gs, None, None


def _pad_to(g, index_shape: tuple, shape: tuple):
    """A gradient in index's shape placed in the corner of src's (larger) shape."""
    if tuple(shape) == tuple(index_shape):
        return g
    corner = IndexPlan(
        tuple(slice(0, s) for s in index_shape) + (Ellipsis,), None, index_shape, True
    )
    return IndexAccumulate.apply(g, corner, shape)


class IndexSelect(Op):
    torch_saves = True  # (PyTorch's node saves tensors: see Function.torch_saves)
    torch_name = "IndexSelectBackward0"

    @staticmethod
    def forward(ctx, a, axis, index):
        ctx.shape, ctx.axis, ctx.index = a.shape, axis, index
        return np.take(a, index, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        idx = (slice(None),) * ctx.axis + (ctx.index,)
        # PyTorch's backward is index_add: float16 adds in float32 for 2 or more dims, and
        # rounds at every add for 1 dim (as Tensor._index_add)
        (wide_add_at if out.ndim > 1 else np.add.at)(out, idx, grad)
        return out, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        where = IndexPlan(
            (Ellipsis,), (slice(None),) * ctx.axis + (ctx.index,), tuple(grad.shape), False
        )
        return IndexAccumulate.apply(grad, where, ctx.shape), None, None


class MaskedFill(Op):
    """out = value where mask, else a (mask broadcasts to a's shape; value a number or 0-d)."""

    torch_saves = True  # (PyTorch's node saves tensors: see Function.torch_saves)

    @staticmethod
    def forward(ctx, a, mask, value):
        ctx.mask = mask
        ctx.torch_name = (
            "MaskedFillBackward1" if isinstance(value, np.ndarray) else "MaskedFillBackward0"
        )
        ctx.v_meta = (np.shape(value), getattr(value, "dtype", None))
        # (PyTorch fills a contiguous clone; np.where would keep a transposed input's order)
        return c_order(np.where(mask, np.asarray(value, dtype=a.dtype), a))

    @staticmethod
    def backward(ctx, grad):
        ga = gv = None
        if ctx.needs_input_grad[0]:
            ga = np.where(ctx.mask, 0, grad).astype(grad.dtype, copy=False)
        if ctx.needs_input_grad[2]:
            gv = np.asarray(np.sum(np.where(ctx.mask, grad, 0))).reshape(ctx.v_meta[0])
            gv = gv.astype(ctx.v_meta[1], copy=False)
        return ga, None, gv

    @staticmethod
    def graph_backward(ctx, grad):
        ga = gv = None
        zero = _zero(grad)
        if ctx.needs_input_grad[0]:
            ga = _select(ctx.mask, zero, grad)
        if ctx.needs_input_grad[2]:
            gv = _select(ctx.mask, grad, zero).sum().reshape(ctx.v_meta[0]).to(ctx.v_meta[1])
        return ga, None, gv


# -- shape-changing ops with copies -------------------------------------------------------


class Roll(Op):
    torch_name = "RollBackward0"

    @staticmethod
    def forward(ctx, a, shifts, axes):
        ctx.shifts, ctx.axes = shifts, axes
        if axes is None:  # roll the flattened tensor
            return np.roll(a.reshape(-1), shifts).reshape(a.shape)
        # contiguous, as PyTorch's (np.roll keeps a transposed input's layout, and .view(-1)
        # of the result then raised where PyTorch's works)
        return np.ascontiguousarray(np.roll(a, shifts, axes))

    @staticmethod
    def backward(ctx, grad):
        neg = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        if ctx.axes is None:
            return np.roll(grad.reshape(-1), neg).reshape(grad.shape), None, None
        return np.roll(grad, neg, ctx.axes), None, None

    @staticmethod
    def graph_backward(ctx, grad):
        neg = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return Roll.apply(grad, neg, ctx.axes), None, None


class Repeat(Op):
    """np.tile: the input repeated `reps` times along each dim (Tensor.repeat, torch.tile)."""

    torch_name = "RepeatBackward0"

    @staticmethod
    def forward(ctx, a, reps):
        ctx.shape, ctx.reps = a.shape, reps
        return np.tile(a.reshape((1,) * (len(reps) - a.ndim) + a.shape), reps)

    @staticmethod
    def backward(ctx, grad):
        # Split each dim into (reps, size) and sum over the copies.
        full = (1,) * (len(ctx.reps) - len(ctx.shape)) + ctx.shape
        split = tuple(v for r, s in zip(ctx.reps, full, strict=False) for v in (r, s))
        g = wide_sum(grad.reshape(split), tuple(range(0, len(split), 2)))
        return g.reshape(ctx.shape), None

    @staticmethod
    def graph_backward(ctx, grad):
        full = (1,) * (len(ctx.reps) - len(ctx.shape)) + ctx.shape
        split = tuple(v for r, s in zip(ctx.reps, full, strict=False) for v in (r, s))
        g = grad.reshape(split).sum(dim=tuple(range(0, len(split), 2)))
        return g.reshape(ctx.shape), None


class Tri(Op):
    """tril / triu of the last two dims."""

    @staticmethod
    def forward(ctx, a, diagonal, upper):
        ctx.diagonal, ctx.upper = diagonal, upper
        ctx.torch_name = "TriuBackward0" if upper else "TrilBackward0"
        return (np.triu if upper else np.tril)(a, diagonal)

    @staticmethod
    def backward(ctx, grad):
        return (np.triu if ctx.upper else np.tril)(grad, ctx.diagonal), None, None

    @staticmethod
    def graph_backward(ctx, grad):
        return Tri.apply(grad, ctx.diagonal, ctx.upper), None, None


class Sort(TakeAlongAxis):
    """The values of sort (or topk): a gather by the sorting indices."""

    torch_name = "SortBackward0"


class SortStable(Sort):
    torch_name = "SortBackward1"  # sort(stable=True) is its own overload in PyTorch


class Topk(TakeAlongAxis):
    torch_name = "TopkBackward0"


# -- einsum ---------------------------------------------------------------------------------


def _einsum_input_grad(
    grad: np.ndarray, out_sub: str, subs: list, operands: tuple, k: int, sizes: dict, meta: tuple
) -> np.ndarray:
    """d(einsum)/d(operand k): the einsum of the output gradient with the other operands,
    written to operand k's subscripts. Letters only operand k has were summed over, so
    their gradient is a broadcast; letters repeated in it (a diagonal) get the gradient
    on that diagonal only."""
    sub = subs[k]
    uniq = "".join(dict.fromkeys(sub))
    others = [s for i, s in enumerate(subs) if i != k]
    avail = set(out_sub).union(*others) if others else set(out_sub)
    kept = "".join(c for c in uniq if c in avail)
    spec = ",".join([out_sub, *others]) + "->" + kept
    rest = [o for i, o in enumerate(operands) if i != k]
    if len(rest) == 1:
        g = einsum2(out_sub, others[0], kept, grad, rest[0])
    else:
        g = np.einsum(spec, grad, *rest)
    # insert the letters only operand k has, then broadcast over them
    g = g.reshape(tuple(sizes[c] if c in kept else 1 for c in uniq))
    g = np.broadcast_to(g, tuple(sizes[c] for c in uniq))
    shape, dtype = meta  # (operand k itself is not saved: its gradient does not need it)
    if len(uniq) == len(sub):
        return sum_to_shape(np.ascontiguousarray(g), shape).astype(dtype, copy=False)
    out = np.zeros(tuple(sizes[c] for c in sub), dtype=dtype)
    diag = np.einsum(sub + "->" + uniq, out)  # a writable view of the diagonal
    diag[...] = g
    return out


def _einsum_input_grad_graph(
    grad: Any, out_sub: str, subs: list, operands: tuple, k: int, sizes: dict, meta: tuple
) -> Any:
    """_einsum_input_grad in graph ops: an einsum of the gradient with the other operands;
    a letter repeated in operand k (a diagonal) is spread onto it by an einsum with an
    identity matrix per repeat (each repeat gets a fresh letter)."""
    sub = subs[k]
    uniq = "".join(dict.fromkeys(sub))
    others = [s for i, s in enumerate(subs) if i != k]
    avail = set(out_sub).union(*others) if others else set(out_sub)
    kept = "".join(c for c in uniq if c in avail)
    g = Einsum.apply([out_sub, *others], kept, grad, *(o for i, o in enumerate(operands) if i != k))
    g = g.reshape(tuple(sizes[c] if c in kept else 1 for c in uniq))
    g = g.expand(tuple(sizes[c] for c in uniq))
    shape, dtype = meta
    if len(uniq) == len(sub):
        return sum_to_shape(g, shape, dtype)
    free = iter(c for c in string.ascii_letters if c not in set("".join(subs)) | set(out_sub))
    target, eyes, eye_subs = "", [], []
    for c in sub:
        if c in target:  # a repeat: a fresh letter, tied to c by the identity
            f = next(free)
            eye_subs.append(c + f)
            eyes.append(np.eye(sizes[c], dtype=dtype))
            c = f
        target += c
    return Einsum.apply([uniq, *eye_subs], target, g, *eyes)


class Einsum(Op):
    """np.einsum with explicit subscripts (the caller expands '...' and the implicit output)."""

    @staticmethod
    @layout_free
    def forward(ctx, subs, out_sub, *operands):
        ctx.subs, ctx.out_sub = subs, out_sub
        # PyTorch lowers einsum to other ops; name the node after the one it would end in
        if len(subs) == 1:
            perm = sorted(out_sub) == sorted(set(subs[0]))
            ctx.torch_name = "PermuteBackward0" if perm else "SumBackward1"
        else:
            ctx.torch_name = (
                "MulBackward0" if set(out_sub) == set("".join(subs)) else "ViewBackward0"
            )
        # operand j is needed only for the gradients of the others (as PyTorch's lowering to
        # products): an in-place change of it is allowed when no other operand needs one
        needs = ctx.needs_input_grad[2:] if ctx.needs_input_grad else (False,) * len(operands)
        ctx.save_for_backward(
            *(
                o if any(n for i, n in enumerate(needs) if i != j) else None
                for j, o in enumerate(operands)
            )
        )
        ctx.metas = [(o.shape, o.dtype) for o in operands]
        ctx.sizes = {
            c: n
            for s, o in zip(subs, operands, strict=False)
            for c, n in zip(s, o.shape, strict=False)
            if n != 1
        }
        for s, o in zip(subs, operands, strict=False):
            for c, n in zip(s, o.shape, strict=False):
                ctx.sizes.setdefault(c, n)
        if len(operands) == 2:
            return einsum2(subs[0], subs[1], out_sub, *operands)
        return np.asarray(np.einsum(",".join(subs) + "->" + out_sub, *operands))

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        grads = [None, None]
        for k in range(len(operands)):
            if ctx.needs_input_grad[2 + k]:
                grads.append(
                    _einsum_input_grad(
                        grad, ctx.out_sub, ctx.subs, operands, k, ctx.sizes, ctx.metas[k]
                    )
                )
            else:
                grads.append(None)
        return tuple(grads)

    @staticmethod
    def graph_backward(ctx, grad):
        operands = ctx.saved_tensors
        grads = [None, None]
        for k in range(len(operands)):
            if ctx.needs_input_grad[2 + k]:
                grads.append(
                    _einsum_input_grad_graph(
                        grad, ctx.out_sub, ctx.subs, operands, k, ctx.sizes, ctx.metas[k]
                    )
                )
            else:
                grads.append(None)
        return tuple(grads)


# -- breadth: more of PyTorch's tensor functions ---------------------------------------------


class NanToNum(Op):
    """NaN, +inf and -inf replaced by numbers; the gradient flows only where the input was
    finite."""

    torch_name = "NanToNumBackward0"

    @staticmethod
    def forward(ctx, a, nan, posinf, neginf):
        ctx.save_for_backward(a)  # PyTorch saves self
        return np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return np.where(np.isfinite(a), grad, np.zeros((), grad.dtype)), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return _select(np.isfinite(a._data), grad, _zero(grad)), None, None, None


class Tan(Op):
    torch_name = "TanBackward0"

    @staticmethod
    def forward(ctx, a):
        out = np.tan(a)
        ctx.save_for_backward(out)  # PyTorch saves the result: d tan = 1 + tan^2
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 + out * out)

    graph_backward = backward


class Hypot(Binary):
    torch_name = "HypotBackward0"

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        out = like_operands(np.hypot(a, b), a, b)
        # as PyTorch, an operand is saved only when its own gradient needs it (so writing in
        # place to an operand that needs no gradient does not break backward)
        na, nb = ctx.needs_input_grad[:2] if ctx.needs_input_grad else (False, False)
        ctx.save_for_backward(a if na else None, b if nb else None, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        # d hypot/da = a / hypot (0/0 = nan at the origin), as PyTorch's grad * a / hypot
        ga = grad * a / out if a is not None else None
        gb = grad * b / out if b is not None else None
        return (*Binary.reduce(ctx, ga, gb), None)

    graph_backward = backward


class Trace(Op):
    """The sum of a matrix's main diagonal; its gradient is grad on that diagonal, 0 elsewhere."""

    torch_name = "TraceBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.shape, ctx.dtype = a.shape, a.dtype
        if a.dtype.kind in "biu":
            return np.asarray(np.trace(a, dtype=np.int64))
        # float32/float16 summed in float64 and rounded once, as PyTorch's trace (bit for bit;
        # so x.trace() and x.diagonal().sum() can differ in the last bit there too)
        return np.asarray(np.trace(a, dtype=np.float64)).astype(a.dtype)

    @staticmethod
    def backward(ctx, grad):
        g = np.zeros(ctx.shape, ctx.dtype)
        k = min(ctx.shape)
        g[np.arange(k), np.arange(k)] = grad
        return g

    @staticmethod
    def graph_backward(ctx, grad):
        k = min(ctx.shape)
        diag = IndexPlan((Ellipsis,), (np.arange(k), np.arange(k)), (k,), True)
        return IndexAccumulate.apply(grad.expand(k), diag, ctx.shape)


class Nansum(Op):
    """The sum that skips NaNs; a NaN element gets no gradient."""

    torch_name = "NansumBackward0"

    @staticmethod
    def forward(ctx, a, axis, keepdims):
        ctx.save_for_backward(a)  # PyTorch saves self (the NaN positions)
        ctx.axis, ctx.keepdims = axis, keepdims
        if a.dtype == np.float16:  # summed in float32 and rounded once, as Sum (PyTorch's)
            out = np.nansum(a, axis=axis, keepdims=keepdims, dtype=np.float32)
            return np.asarray(out).astype(np.float16)
        return np.asarray(np.nansum(a, axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        g = _expand_back(grad, a.shape, ctx.axis, ctx.keepdims)
        # PyTorch multiplies by the mask (so an inf or NaN gradient makes the NaNs' NaN, as
        # in nanmean of an all-NaN row), not selects
        with np.errstate(invalid="ignore"):
            return g * ~np.isnan(a), None, None

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        g = _kept_graph(grad, a._data.shape, ctx.axis)
        return g * _const(~np.isnan(a._data)), None, None


class AddMatmul(Op):
    """beta * input + alpha * (mat1 @ mat2): addmm (2-D @ 2-D), addmv (2-D @ 1-D) and baddbmm
    (3-D @ 3-D, equal batches); input broadcasts to the product's shape. With beta == 0 the
    input is ignored (its NaNs do not leak in), as in PyTorch. float16 is one float32 sum
    beta * input + alpha * product, rounded once (PyTorch's gemm for half); its backward
    rounds each product before scaling it by alpha, as PyTorch's formulas do."""

    @staticmethod
    def forward(ctx, inp, m1, m2, beta, alpha, name):
        ctx.torch_name = name
        n1, n2 = ctx.needs_input_grad[1:3] if ctx.needs_input_grad else (False, False)
        ctx.save_for_backward(m1 if n2 else None, m2 if n1 else None)  # what PyTorch saves
        ctx.inp_meta, ctx.beta, ctx.alpha = (inp.shape, inp.dtype), beta, alpha
        return opmath(AddMatmul._forward, inp, m1, m2, beta, alpha)

    @staticmethod
    def _forward(inp, m1, m2, beta, alpha):
        prod = np.matmul(m1, m2)
        out = prod if alpha == 1 else prod * np.asarray(alpha).astype(prod.dtype)
        if beta != 0:
            out = out + (inp if beta == 1 else inp * np.asarray(beta).astype(inp.dtype))
        return np.broadcast_to(out, prod.shape).copy() if out.shape != prod.shape else out

    @staticmethod
    def backward(ctx, grad):
        m1, m2 = ctx.saved_tensors
        ni, n1, n2 = ctx.needs_input_grad[:3]
        gi = g1 = g2 = None

        def scaled(g, number):
            return g if number == 1 else mul_number(g, number)

        if ni:
            gi = sum_to_shape(scaled(grad, ctx.beta), *ctx.inp_meta)
        if n1:
            prod = np.multiply.outer(grad, m2) if m2.ndim == 1 else grad @ np.swapaxes(m2, -1, -2)
            g1 = scaled(prod, ctx.alpha)
        if n2:
            g2 = scaled(np.swapaxes(m1, -1, -2) @ grad, ctx.alpha)
        return gi, g1, g2, None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        m1, m2 = ctx.saved_tensors
        ni, n1, n2 = ctx.needs_input_grad[:3]
        gi = g1 = g2 = None
        if ni:
            gi = sum_to_shape(grad * ctx.beta if ctx.beta != 1 else grad, *ctx.inp_meta)
        ga = grad * ctx.alpha if ctx.alpha != 1 else grad
        if n1:
            g1 = ga.unsqueeze(-1) * m2 if m2.ndim == 1 else ga @ m2.transpose(-1, -2)
        if n2:
            g2 = m1.transpose(-1, -2) @ ga
        return gi, g1, g2, None, None, None


class Fmod(Binary):
    """C's remainder: a - trunc(a / b) * b, the sign of a."""

    ufunc = np.fmod

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        ctx.torch_name = "FmodBackward1" if isinstance(b, np.ndarray) else "FmodBackward0"
        if ctx.needs_input_grad and ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b)  # only the divisor's gradient reads them
        return like_operands(np.fmod(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        ga = grad
        gb = None
        if ctx.needs_input_grad[1]:
            a, b = ctx.saved_tensors
            gb = -grad * np.trunc(a / b)
        return (*Binary.reduce(ctx, ga, gb), None)

    @staticmethod
    def graph_backward(ctx, grad):
        gb = None
        if ctx.needs_input_grad[1]:
            a, b = ctx.saved_tensors
            # trunc: piecewise constant
            gb = -grad * _linked(np.trunc(_data(a) / b._data), b)
        return (*Binary.reduce(ctx, grad, gb), None)


class Diag(Op):
    """diag: a 1-D tensor onto diagonal k of a square matrix, or diagonal k of a matrix out."""

    @staticmethod
    def forward(ctx, a, k):
        ctx.k, ctx.shape = k, a.shape
        ctx.torch_name = "DiagEmbedBackward0" if a.ndim == 1 else "DiagonalBackward0_copy"
        return np.diag(a, k) if a.ndim == 1 else np.diagonal(a, k).copy()

    @staticmethod
    def backward(ctx, grad):
        k = ctx.k
        if len(ctx.shape) == 1:  # the input's values sit on diagonal k of the output
            return np.diagonal(grad, k).copy(), None
        g = np.zeros(ctx.shape, grad.dtype)
        i = np.arange(grad.shape[0])
        g[i + max(-k, 0), i + max(k, 0)] = grad
        return g, None

    @staticmethod
    def graph_backward(ctx, grad):
        k = ctx.k
        if len(ctx.shape) == 1:
            return Diag.apply(grad, k), None
        i = np.arange(grad._data.shape[0])
        diag = IndexPlan((Ellipsis,), (i + max(-k, 0), i + max(k, 0)), grad._data.shape, True)
        return IndexAccumulate.apply(grad, diag, ctx.shape), None


# -- Tensor.unfold: sliding windows along one dim ------------------------------------------


def _windows(a: np.ndarray, axis: int, size: int, step: int) -> np.ndarray:
    """a's windows of `size` every `step` along axis: that axis counts windows, a new last
    axis runs within each (a copy, read-only: see Unfold)."""
    w = np.lib.stride_tricks.sliding_window_view(a, size, axis=axis)
    return w[(slice(None),) * axis + (slice(None, None, step),)]


class Unfold(Op):
    """out[..., i, ..., j] = a[..., i * step + j, ...]: the windows of `size` every `step`
    along `axis`, as a new last dim. PyTorch returns a view whose windows overlap; tinyconv
    returns a read-only copy (writing into it raises instead of changing the input)."""

    torch_name = "UnfoldBackward0"

    @staticmethod
    def forward(ctx, a, axis, size, step):
        ctx.shape, ctx.axis, ctx.size, ctx.step = a.shape, axis, size, step
        out = _windows(a, axis, size, step).copy()
        out.flags.writeable = False
        return out

    @staticmethod
    def backward(ctx, grad):
        return _fold_windows(grad, ctx.shape, ctx.axis, ctx.size, ctx.step), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        return UnfoldBackward.apply(grad, ctx.shape, ctx.axis, ctx.size, ctx.step), None, None, None


def _fold_windows(grad: np.ndarray, shape: tuple, axis: int, size: int, step: int) -> np.ndarray:
    """Unfold's adjoint: each window's values added back where they were read from."""
    out = np.zeros(shape, grad.dtype)
    n = grad.shape[axis]
    lead = (slice(None),) * axis
    for j in range(size):  # window offset j read a[j], a[j + step], ..., a[j + (n-1) step]
        out[lead + (slice(j, j + step * (n - 1) + 1, step),)] += grad[..., j]
    return out


class UnfoldBackward(Op):
    """Unfold's gradient as an op (so a create_graph backward can differentiate it): its
    own backward is Unfold again."""

    torch_name = "UnfoldBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, shape, axis, size, step):
        ctx.axis, ctx.size, ctx.step = axis, size, step
        return _fold_windows(grad, shape, axis, size, step)

    @staticmethod
    def backward(ctx, grad):
        return _windows(grad, ctx.axis, ctx.size, ctx.step).copy(), None, None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        return Unfold.apply(grad, ctx.axis, ctx.size, ctx.step), None, None, None, None


# -- diagonal: a view of a diagonal of every 2-D slice at (dim1, dim2) ----------------------


def _diagonal_view(a: np.ndarray, offset: int, d1: int, d2: int) -> np.ndarray:
    """The diagonal `offset` of a's (d1, d2) planes, as a last dim: a writable view."""
    out = np.diagonal(a, offset, d1, d2)
    # NumPy hands the diagonal out read-only (a historical caution); it is a plain strided view
    # of `a`, and PyTorch's diagonal is writable, so writes must reach `a`
    if a.flags.writeable:
        out.flags.writeable = True
    return out


def _on_diagonal(g: np.ndarray, shape: tuple, offset: int, d1: int, d2: int) -> np.ndarray:
    """zeros(shape) with `g` written on the diagonal `_diagonal_view` reads."""
    out = np.zeros(shape, g.dtype)
    _diagonal_view(out, offset, d1, d2)[...] = g
    return out


class Diagonal(Op):
    """out[..., i] = a[..., i, ..., i + offset, ...] (offset < 0: row i - offset): a view.
    Backward places the gradient on that diagonal of zeros."""

    torch_name = "DiagonalBackward0"

    is_view = True

    @staticmethod
    def forward(ctx, a, offset, d1, d2):
        ctx.shape, ctx.offset, ctx.d1, ctx.d2 = a.shape, offset, d1, d2
        return _diagonal_view(a, offset, d1, d2)

    @staticmethod
    def backward(ctx, grad):
        return _on_diagonal(grad, ctx.shape, ctx.offset, ctx.d1, ctx.d2), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        g = DiagonalBackward.apply(grad, ctx.shape, ctx.offset, ctx.d1, ctx.d2)
        return g, None, None, None


class DiagonalBackward(Op):
    """zeros(shape) with `g` on the diagonal Diagonal reads: Diagonal's gradient as an op (for
    create_graph), whose own gradient is Diagonal again."""

    torch_name = "DiagonalBackwardBackward0"

    @staticmethod
    def forward(ctx, g, shape, offset, d1, d2):
        ctx.offset, ctx.d1, ctx.d2 = offset, d1, d2
        return _on_diagonal(g, shape, offset, d1, d2)

    @staticmethod
    def backward(ctx, grad):
        return _diagonal_view(grad, ctx.offset, ctx.d1, ctx.d2).copy(), None, None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        return Diagonal.apply(grad, ctx.offset, ctx.d1, ctx.d2), None, None, None, None


# -- logaddexp / logaddexp2 -------------------------------------------------------------------


class LogAddExp(Binary):
    """log(e^a + e^b) (base 2: log2(2^a + 2^b)), NumPy's stable ufuncs. The gradient is a
    softmax weight: d/da = 1 / (1 + base^(b - a)), d/db = 1 / (1 + base^(a - b)); as PyTorch,
    a = b = +-inf gives nan (inf - inf)."""

    torch_name = "LogaddexpBackward0"

    base2 = False

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        if ctx.needs_input_grad:
            ctx.save_for_backward(a, b)
        # (nan in: nan out, quietly, as PyTorch)
        return like_operands((np.logaddexp2 if ctx.base2 else np.logaddexp)(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        power = np.exp2 if ctx.base2 else np.exp
        d = b - a
        ga = grad / (1 + power(d)) if ctx.needs_input_grad[0] else None
        gb = grad / (1 + power(-d)) if ctx.needs_input_grad[1] else None
        return (*Binary.reduce(ctx, ga, gb), None)

    @staticmethod
    def graph_backward(ctx, grad):
        a, b = ctx.saved_tensors
        d = b - a
        ga = grad / (1 + (d.exp2() if ctx.base2 else d.exp())) if ctx.needs_input_grad[0] else None
        gb = (
            grad / (1 + ((-d).exp2() if ctx.base2 else (-d).exp()))
            if ctx.needs_input_grad[1]
            else None
        )
        return (*Binary.reduce(ctx, ga, gb), None)


class LogAddExp2(LogAddExp):
    torch_name = "Logaddexp2Backward0"

    base2 = True


class UniqueConsecutive(Op):
    """The first element (or slice along `axis`) of each run of equal ones. Its result
    requires grad when the input does, but PyTorch defines no derivative: backward raises."""

    torch_name = "UniqueConsecutiveBackward0"

    @staticmethod
    def forward(ctx, a, first, axis):
        if axis is None:
            return a.reshape(-1)[first]
        return np.take(a, first, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(
            "the derivative for 'unique_consecutive' is not implemented (as in PyTorch); "
            "detach() the input if no gradient should flow through it"
        )

    graph_backward = backward  # (raises: no derivative)


class PairwiseDist(Op):
    """cdist's difference route: ||x1_p - x2_r||_p for x1 (..., P, M), x2 (..., R, M) (batch
    dims broadcast) -> (..., P, R). One node, as PyTorch's (saves x1, x2 and the result): its
    gradient takes PyTorch's per-p formulas (kernels/distance.py), which no composition of
    norm ops gives (ties of p = inf, zeros of p < 2); like PyTorch's, it has no derivative of
    its own (a second backward raises)."""

    torch_name = "CdistBackward0"

    @staticmethod
    def forward(ctx, x1, x2, p):
        ctx.p = p
        # (C order: the sums over M then run in one order whatever the inputs' layouts)
        x1, x2 = np.ascontiguousarray(x1), np.ascontiguousarray(x2)
        out = pnorm_dist(x1[..., :, None, :] - x2[..., None, :, :], p)
        ctx.save_for_backward(x1, x2, out)
        return out

    @staticmethod
    def _grads(x1, x2, dist, grad, p, need) -> tuple:
        gd = pnorm_dist_grad(x1[..., :, None, :] - x2[..., None, :, :], dist, grad, p)
        g1 = sum_to_shape(gd.sum(-2), x1.shape, x1.dtype) if need[0] else None
        g2 = sum_to_shape(-gd.sum(-3), x2.shape, x2.dtype) if need[1] else None
        return g1, g2, None

    @staticmethod
    def backward(ctx, grad):
        x1, x2, dist = ctx.saved_tensors
        return PairwiseDist._grads(x1, x2, dist, grad, ctx.p, ctx.needs_input_grad)

    @staticmethod
    def graph_backward(ctx, grad):
        # PyTorch's first gradient requires grad, and backward through it raises
        x1, x2, dist = ctx.saved_tensors
        g1, g2, _ = PairwiseDist._grads(
            x1._data, x2._data, dist._data, grad._data, ctx.p, ctx.needs_input_grad
        )
        name = "CdistBackwardBackward0"
        return (
            None if g1 is None else NoDerivative.apply(x1, g1, "_cdist_backward", name),
            None if g2 is None else NoDerivative.apply(x2, g2, "_cdist_backward", name),
            None,
        )


class PairDist(Op):
    """pdist: ||x_i - x_j||_p for each pair of rows i < j of x (N, M), in row order ->
    (N(N-1)/2,). One node, as PyTorch's (saves x and the result), with cdist's per-p gradient
    formulas (kernels/distance.py) and, as PyTorch's, no derivative of its own."""

    torch_name = "PdistBackward0"

    @staticmethod
    def forward(ctx, x, p):
        ctx.p = p
        x = np.ascontiguousarray(x)
        i, j = np.triu_indices(x.shape[0], 1)
        out = pnorm_dist(x[i] - x[j], p)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def _grad(x, dist, grad, p):
        i, j = np.triu_indices(x.shape[0], 1)
        gd = pnorm_dist_grad(x[i] - x[j], dist, grad, p)
        gx = np.zeros_like(x)
        np.add.at(gx, i, gd)
        np.add.at(gx, j, -gd)
        return gx

    @staticmethod
    def backward(ctx, grad):
        x, dist = ctx.saved_tensors
        return PairDist._grad(x, dist, grad, ctx.p), None

    @staticmethod
    def graph_backward(ctx, grad):
        # PyTorch's first gradient requires grad, and backward through it raises
        x, dist = ctx.saved_tensors
        g = PairDist._grad(x._data, dist._data, grad._data, ctx.p)
        return NoDerivative.apply(x, g, "_pdist_backward", "PdistBackwardBackward0"), None


class EuclideanDist(Op):
    """cdist's p=2 matrix-product route: x1 (..., P, M), x2 (..., R, M) -> (..., P, R)."""

    torch_name = "ViewBackward0"  # PyTorch's cdist ends this route in a view of the result

    @staticmethod
    def forward(ctx, x1, x2):
        out = euclid_mm(x1, x2)
        ctx.save_for_backward(x1, x2, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x1, x2, res = ctx.saved_tensors
        return euclid_mm_backward(grad, x1, x2, res, ctx.needs_input_grad)

    @staticmethod
    def graph_backward(ctx, grad):
        x1, x2, res = ctx.saved_tensors
        ratio = _select(res._data == 0, _zero(grad), grad / res)
        g1 = g2 = None
        if ctx.needs_input_grad[0]:
            g1 = x1 * ratio.sum(-1, keepdim=True) - ratio.matmul(x2)
        if ctx.needs_input_grad[1]:
            g2 = x2 * ratio.sum(-2).unsqueeze(-1) - ratio.transpose(-1, -2).matmul(x1)
        return g1, g2
