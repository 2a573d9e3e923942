"""More special functions as engine ops (torch.special's): the modified Bessel functions
i0, i0e, i1, i1e, the scaled complementary error function erfcx, the inverse of the normal
CDF ndtri, the Hurwitz zeta function and the entropy term entr.

Each value is computed in float64 and rounded once to the input's dtype:
- i0, i1 (and their scaled forms i0e = i0 e^-|x|, i1e): the power series
  I_v(x) = sum_k (x/2)^(2k+v) / (k! (k+v)!) up to |x| = 30 (all terms positive: no
  cancellation), the asymptotic series e^|x| / sqrt(2 pi |x|) sum_k c_k / |x|^k above (its 25th
  term is below 1e-21 there).
- erfcx(x) = e^(x^2) erfc(x): the C library's erfc times e^(x^2) for x < 5 (relative error
  ~ x^2 ulp), the continued fraction 1 / sqrt(pi) / (x + 1/2 / (x + 1 / (x + 3/2 / ...))) above;
  for x < 0, 2 e^(x^2) - erfcx(-x).
- ndtri(p): a first guess (sqrt(2) erfinv(2p - 1) in the middle, the tail asymptote outside),
  then Newton steps on ndtr(x) = erfc(-x / sqrt 2) / 2, whose relative accuracy holds in the
  lower tail; p > 1/2 goes through ndtri(p) = -ndtri(1 - p) (1 - p is exact there).
- zeta(x, q) = sum_k (q + k)^-x: the direct sum while its terms matter, then the
  Euler-Maclaurin tail with Bernoulli numbers (Cephes' scheme: the same inf / nan cases).

The derivatives: i0' = i1, i0e' = i1e - sgn(x) i0e, i1' = i0 - i1 / x, i1e' = i0e - i1e (sgn(x)
+ 1 / x) (both 1/2 at 0), erfcx' = 2 x erfcx - 2 / sqrt(pi), ndtri' = sqrt(2 pi) e^(ndtri^2 / 2),
entr' = -(1 + log x), d zeta(x, q) / dq = -x zeta(x + 1, q) (PyTorch has no derivative in x);
each backward is written with these ops, so double backward works.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from ..kernels.scatter import wide_sum
from .function import sum_to_shape
from .ops import Op, _const
from .ops_gaps import erfc_array
from .ops_special import Polygamma, digamma_array, erfinv_array, lgamma_array

_SERIES_MAX = 30.0  # |x| up to here: the power series; above: the asymptotic one


def _bessel_scaled(x: np.ndarray, v: int) -> np.ndarray:
    """I_v(|x|) e^-|x| (v = 0 or 1) in float64, for float64 x."""
    ax = np.abs(x)
    out = np.empty_like(ax)
    small = ax <= _SERIES_MAX
    if small.any():
        a = ax[small]
        q = a * a / 4
        term = np.ones_like(a) if v == 0 else a / 2
        total = term.copy()
        for k in range(1, 90):  # (x = 30: the terms fall below 1e-17 of the sum by k ~ 75)
            term = term * q / (k * (k + v))
            total += term
        out[small] = total * np.exp(-a)
    big = ~small & ~np.isnan(ax)
    if big.any():
        a = ax[big]
        mu = 4.0 * v * v
        term = np.ones_like(a)
        total = term.copy()
        for k in range(1, 26):
            term = term * -(mu - (2 * k - 1) ** 2) / (k * 8 * a)
            total += term
        with np.errstate(invalid="ignore"):  # (inf / inf at x = inf: the limit is 0)
            out[big] = np.where(a == np.inf, 0.0, total / np.sqrt(2 * np.pi * a))
    out[np.isnan(ax)] = np.nan
    return out


def bessel_array(x: np.ndarray, v: int, scaled: bool) -> np.ndarray:
    """i0 / i1 (scaled: i0e / i1e) elementwise in x's dtype."""
    x = np.asarray(x)
    a = x.astype(np.float64)
    s = _bessel_scaled(a, v)
    if not scaled:
        # PyTorch multiplies by e^|x| in float32 for float16/float32 input (in float64 for
        # float64): inf once that factor overflows, as its kernel gives
        wide = np.float64 if x.dtype == np.float64 else np.float32
        with np.errstate(over="ignore", invalid="ignore"):
            s = s * np.exp(np.abs(a).astype(wide)).astype(np.float64)
    if v == 1:
        s = np.copysign(s, a)  # I1 is odd
    return s.astype(x.dtype, copy=False)


def erfcx_array(x: np.ndarray) -> np.ndarray:
    """e^(x^2) erfc(x) elementwise in x's dtype."""
    x = np.asarray(x)
    a = x.astype(np.float64)
    ax = np.abs(a)
    out = np.empty_like(ax)
    near = ax < 5
    if near.any():
        b = ax[near]
        out[near] = np.exp(b * b) * erfc_array(b)
    far = ~near & ~np.isnan(ax)
    if far.any():
        b = ax[far]
        # the continued fraction erfc(b) e^(b^2) sqrt(pi) = 1 / (b + (1/2) / (b + 1 / (b + ...)))
        # evaluated from the bottom: 60 levels are exact to rounding for b >= 5
        with np.errstate(invalid="ignore", divide="ignore"):
            f = b.copy()
            for k in range(60, 0, -1):
                f = b + (k / 2) / f
            val = 1 / (f * math.sqrt(math.pi))
        out[far] = np.where(b == np.inf, 0.0, val)
    out[np.isnan(ax)] = np.nan
    neg = a < 0
    if neg.any():
        with np.errstate(over="ignore", invalid="ignore"):
            b = a[neg]
            out[neg] = np.where(b < -26.7, np.inf, 2 * np.exp(b * b) - out[neg])
    return out.astype(x.dtype, copy=False)


def _ndtr64(x: np.ndarray) -> np.ndarray:
    return 0.5 * erfc_array(-x / math.sqrt(2))


def ndtri_array(p: np.ndarray) -> np.ndarray:
    """x with ndtr(x) = p elementwise in p's dtype (-inf at 0, inf at 1, nan outside)."""
    p = np.asarray(p)
    a = p.astype(np.float64)
    upper = a > 0.5
    q = np.where(upper, 1 - a, a)  # q <= 1/2: the lower tail, exact for p >= 1/2
    inside = (q > 0) & ~np.isnan(q)
    qi = np.where(inside, q, 0.25)
    with np.errstate(divide="ignore", invalid="ignore"):
        middle = math.sqrt(2) * erfinv_array(2 * qi - 1)
        t = np.sqrt(-2 * np.log(qi))
        tail = -(
            t
            - (2.515517 + 0.802853 * t + 0.010328 * t * t)
            / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t**3)
        )
        x = np.where(qi < 1e-3, tail, middle)
        for _ in range(6):  # Newton on ndtr(x) = q: quadratic, from 3 digits to rounding
            phi = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
            step = (_ndtr64(x) - qi) / phi
            x = x - np.where(np.isfinite(step), step, 0.0)
    out = np.where(inside, x, np.where(q == 0, -np.inf, np.nan))
    out = np.where(upper, -out, out)
    out = np.where((a < 0) | (a > 1), np.nan, out)
    return out.astype(p.dtype, copy=False)


def _bernoulli(n: int) -> list[Fraction]:
    """B_0 .. B_n (B_1 = -1/2)."""
    b = [Fraction(0)] * (n + 1)
    for m in range(n + 1):
        a = [Fraction(0)] * (m + 1)
        for j in range(m + 1):
            a[j] = Fraction(1, j + 1)
            for i in range(j, 0, -1):
                a[i - 1] = i * (a[i - 1] - a[i])
        b[m] = a[0]
    return b


# (2k)! / B_2k for k = 1 .. 12: the Euler-Maclaurin coefficients of zeta's tail
_B = _bernoulli(24)
_ZETA_A = tuple(float(Fraction(math.factorial(2 * k)) / _B[2 * k]) for k in range(1, 13))
_MACHEP = 1.11022302462515654042e-16


def _c_floor(v: float) -> float:
    """C's floor: inf and NaN stay (math.floor raises for them)."""
    return v if math.isinf(v) or v != v else float(math.floor(v))


def _c_pow(a: float, b: float) -> float:
    """C's pow: inf on overflow or for 0 to a negative power, NaN for a negative base to a
    non-integer power (Python raises, or gives a complex number)."""
    try:
        r = a**b
    except ZeroDivisionError:
        return math.inf
    except OverflowError:
        return math.inf if a > 0 or _c_floor(b / 2) == b / 2 else -math.inf
    return math.nan if isinstance(r, complex) else r


def _c_div(a: float, b: float) -> float:
    """a / b in IEEE arithmetic (inf or NaN for b == 0, where Python raises)."""
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0 or a != a:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _zeta_scalar(x: float, q: float) -> float:
    """Cephes' zeta, as PyTorch's (its IEEE infs and NaNs included: no Python exception)."""
    if x == 1:
        return math.inf
    if x < 1:
        return math.nan
    if q <= 0:
        if q == _c_floor(q):
            return math.inf
        if x != _c_floor(x):
            return math.nan  # (q^-x is not real)
    s = _c_pow(q, -x)
    a, b, i = q, 0.0, 0
    while i < 9 or a <= 9.0:
        i += 1
        a += 1.0
        b = _c_pow(a, -x)
        s += b
        if -_MACHEP * s < b < _MACHEP * s:
            return s
    w = a
    s += _c_div(b * w, x - 1)
    s -= 0.5 * b
    fa, k = 1.0, 0.0
    for i in range(12):
        fa *= x + k
        b = _c_div(b, w)
        t = _c_div(fa * b, _ZETA_A[i])
        s += t
        if abs(_c_div(t, s)) < _MACHEP:
            return s
        k += 1.0
        fa *= x + k
        b = _c_div(b, w)
        k += 1.0
    return s


_zeta_ufunc = np.frompyfunc(_zeta_scalar, 2, 1)


def zeta_array(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The Hurwitz zeta function sum_k (q + k)^-x elementwise (broadcast), in their dtype."""
    x, q = np.asarray(x), np.asarray(q)
    dt = np.result_type(x, q)
    a, b = np.broadcast_arrays(x.astype(np.float64), q.astype(np.float64))
    out = np.asarray(_zeta_ufunc(a, b), dtype=np.float64) if a.size else np.zeros(a.shape)
    return out.astype(dt, copy=False)


# -- the ops ----------------------------------------------------------------------------------


# Below this |x|, i1(x) / x is its series: 1/2 + x^2/16 + x^4/384 + x^6/18432 (the next
# term, x^8/1474560, is under 1e-22 there)
_SERIES_BELOW = 1e-2


def _i1_over_x(x: Any, exp: Any) -> Any:
    """i1(x) / x by its series near 0 (an array or a Tensor); with ``exp``, i1e(x) / x =
    exp(-|x|) i1(x) / x."""
    x2 = x * x
    series = 0.5 + x2 * (1 / 16 + x2 * (1 / 384 + x2 * (1 / 18432)))
    return series if exp is None else series * exp(-abs(x))


class Bessel(Op):
    """i0, i0e, i1, i1e of x (v = 0 / 1, scaled), with their derivatives."""

    _names = {
        (0, False): "I0Backward0",
        (0, True): "SpecialI0EBackward0",
        (1, False): "SpecialI1Backward0",
        (1, True): "SpecialI1EBackward0",
    }

    @staticmethod
    def forward(ctx, a, v, scaled):
        out = bessel_array(a, v, scaled)
        ctx.v, ctx.scaled = v, scaled
        ctx.torch_name = Bessel._names[(v, scaled)]
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        v, scaled = ctx.v, ctx.scaled
        if v == 0:
            d = bessel_array(a, 1, scaled)
            if scaled:
                d = d - np.sign(a) * out
        else:
            # i1' = i0 - i1 / x (i1e' = i0e - i1e (sign(x) + 1 / x)); near 0, i1 / x is its
            # series (_i1_over_x), since out / x cancels against i0 in the second derivative
            small = np.abs(a) < _SERIES_BELOW
            safe = np.where(small, 1.0, a).astype(a.dtype)
            ratio = np.where(small, _i1_over_x(a, np.exp if scaled else None), out / safe)
            d = bessel_array(a, 0, scaled) - ratio - (np.sign(a) * out if scaled else 0)
        return grad * d.astype(a.dtype, copy=False), None, None

    @staticmethod
    def graph_backward(ctx, grad):
        a, out = ctx.saved_tensors
        v, scaled = ctx.v, ctx.scaled
        if v == 0:
            d = Bessel.apply(a, 1, scaled)
            if scaled:
                d = d - a.sign() * out
            return grad * d, None, None
        # (the same formula in differentiable ops: the series' derivative is exact near 0,
        # where that of out / x would cancel to noise, -3e-5 instead of 3x/8 at x ~ 1e-9)
        small = a.abs() < _SERIES_BELOW
        safe = a.masked_fill(small, 1.0)
        series = _i1_over_x(a.masked_fill(~small, 0.0), (lambda t: t.exp()) if scaled else None)
        ratio = (out / safe).masked_fill(small, 0.0) + series.masked_fill(~small, 0.0)
        d = Bessel.apply(a, 0, scaled) - ratio
        if scaled:
            d = d - a.sign() * out
        return grad * d, None, None


class Erfcx(Op):
    torch_name = "SpecialErfcxBackward0"

    @staticmethod
    def forward(ctx, a):
        out = erfcx_array(a)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        with np.errstate(invalid="ignore", over="ignore"):
            return grad * (2 * a * out - 2 / math.sqrt(math.pi)).astype(a.dtype, copy=False)

    @staticmethod
    def graph_backward(ctx, grad):
        a, out = ctx.saved_tensors
        return grad * (2 * a * out - 2 / math.sqrt(math.pi))


class Ndtri(Op):
    torch_name = "SpecialNdtriBackward0"

    @staticmethod
    def forward(ctx, a):
        out = ndtri_array(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        with np.errstate(over="ignore"):
            d = math.sqrt(2 * math.pi) * np.exp(out * out / 2)
        return grad * d.astype(out.dtype, copy=False)

    @staticmethod
    def graph_backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * ((out * out / 2).exp() * math.sqrt(2 * math.pi))


class Entr(Op):
    """-x log x (0 at 0, -inf below 0)."""

    torch_name = "SpecialEntrBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(a > 0, -a * np.log(np.where(a > 0, a, 1)), 0)
            out = np.where(a < 0, -np.inf, out)
            out = np.where(np.isnan(a), np.nan, out)
        return out.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return grad * -(1 + np.log(a))

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * -(1 + a.log())


class Zeta(Op):
    """zeta(x, q), broadcast; only q has a derivative (PyTorch has none in x either)."""

    torch_name = "SpecialZetaBackward0"

    @staticmethod
    def forward(ctx, x, q):
        ctx.save_for_backward(x, q)
        return zeta_array(x, q)

    @staticmethod
    def _check(ctx):
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")

    @staticmethod
    def backward(ctx, grad):
        Zeta._check(ctx)
        x, q = ctx.saved_tensors
        g = grad * (-x * zeta_array(x + 1, q))
        return None, sum_to_shape(g, q.shape, q.dtype)

    @staticmethod
    def graph_backward(ctx, grad):
        Zeta._check(ctx)
        x, q = ctx.saved_tensors
        g = grad * (-x * Zeta.apply(x + 1, q))
        return None, sum_to_shape(g, tuple(q.shape), q._data.dtype)


def log_ndtr_array(x: np.ndarray) -> np.ndarray:
    """log(ndtr(x)) elementwise in x's dtype, as PyTorch: log(erfcx(-t) / 2) - t^2 for x < -1
    (t = x / sqrt 2; no underflow in the far left tail), log1p(-erfc(t) / 2) otherwise."""
    x = np.asarray(x)
    a = x.astype(np.float64)
    t = a / math.sqrt(2)
    left = a < -1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lo = np.log(erfcx_array(-np.where(left, t, -1.0)) / 2) - t * t
        hi = np.log1p(-erfc_array(np.where(left, 0.0, t)) / 2)
    return np.where(left, lo, hi).astype(x.dtype, copy=False)


class LogNdtr(Op):
    torch_name = "SpecialLogNdtrBackward0"

    @staticmethod
    def forward(ctx, a):
        out = log_ndtr_array(a)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        # d/dx log ndtr(x) = phi(x) / ndtr(x) = exp(-(log_ndtr + x^2 / 2)) / sqrt(2 pi)
        a, out = ctx.saved_tensors
        with np.errstate(over="ignore"):
            d = np.exp(-(out + a * a / 2)) / math.sqrt(2 * math.pi)
        return grad * d.astype(a.dtype, copy=False)

    @staticmethod
    def graph_backward(ctx, grad):
        a, out = ctx.saved_tensors
        return grad * ((-(out + a * a / 2)).exp() / math.sqrt(2 * math.pi))


class Xlog1py(Op):
    """x * log1p(y) (broadcast), 0 where x == 0 unless y is nan; PyTorch's derivatives:
    d/dx = xlog1py(grad, y) with 0 where x == 0 and y <= -1, d/dy = x / (1 + y)."""

    torch_name = "SpecialXlog1PyBackward0"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.asarray(_xlog1py(x, y)).astype(np.result_type(x, y), copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = _xlog1py(grad, y)
            gx = np.where((x == 0) & (y <= -1), 0, gx)
            gx = sum_to_shape(gx.astype(x.dtype, copy=False), x.shape, x.dtype)
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                gy = sum_to_shape(grad * x / (y + 1), y.shape, y.dtype)
        return gx, gy

    @staticmethod
    def graph_backward(ctx, grad):
        x, y = ctx.saved_tensors
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = Xlog1py.apply(grad, y).masked_fill((x == 0) & (y <= -1), 0)
            gx = sum_to_shape(gx, tuple(x.shape), x._data.dtype)
        if ctx.needs_input_grad[1]:
            gy = sum_to_shape(grad * x / (y + 1), tuple(y.shape), y._data.dtype)
        return gx, gy


def _xlog1py(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(x == 0, 0, x * np.log1p(y))
        return np.where(np.isnan(y), np.nan, out)


def _mvlgamma_args(x: np.ndarray, p: int) -> np.ndarray:
    """x - j/2 for j = p-1 .. 0 along a new last axis, in x's dtype (PyTorch's arange added)."""
    return x[..., None] + np.arange(-p / 2 + 0.5, 0.5, 0.5)[:p].astype(x.dtype)


class Mvlgamma(Op):
    """The multivariate log-gamma of dimension p, sum_j lgamma(x - j/2) + p (p - 1) / 4
    log(pi), as PyTorch computes it: each lgamma rounded in x's dtype, summed (float16 in
    float32), the constant rounded to the dtype and added. Its backward is PyTorch's formula,
    grad * sum_j digamma(x - j/2): the digammas summed first, then one product."""

    torch_name = "MvlgammaBackward0"

    @staticmethod
    def forward(ctx, x, p):
        ctx.save_for_backward(x)
        ctx.p = p
        total = wide_sum(lgamma_array(_mvlgamma_args(x, p)), -1)
        return np.asarray(total + x.dtype.type(p * (p - 1) * math.log(math.pi) / 4))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * wide_sum(digamma_array(_mvlgamma_args(x, ctx.p)), -1), None

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        steps = np.arange(-ctx.p / 2 + 0.5, 0.5, 0.5)[: ctx.p].astype(x._data.dtype)
        args = x.unsqueeze(-1) + _const(steps)
        return grad * Polygamma.apply(args, 0).sum(-1), None
