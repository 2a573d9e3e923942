"""Special functions as engine ops: lgamma, digamma, polygamma, erfinv, and the regularized
incomplete gamma functions P(a, x) and Q(a, x) = 1 - P(a, x) (igamma, igammac).

The values are computed in float64 (and rounded once to the input's dtype):
- lgamma: the C library's lgamma (math.lgamma) elementwise, the function PyTorch's CPU
  kernel calls too, with lgamma = inf at the poles 0, -1, -2, ... as PyTorch.
- digamma and polygamma(n >= 1): the recurrence psi^(n)(x) = psi^(n)(x + 1) - (-n)! ... moves x
  up to >= 10, where the asymptotic series (Bernoulli numbers) is accurate to ~1e-16;
  x < 0.5 goes through the reflection formula first for digamma and trigamma (as PyTorch).
- erfinv: a closed-form first guess refined by Halley steps on erf (erfc in the tails, so
  1 - |x| small keeps its relative accuracy).

The derivatives chain: lgamma' = digamma, digamma' = polygamma(1), polygamma(n)' =
polygamma(n + 1), erfinv'(x) = sqrt(pi) / 2 * exp(erfinv(x)^2); double backward comes from
writing each backward with these same ops.
"""

from __future__ import annotations

import math

import numpy as np

from ..kernels.opmath import mul_number, widen
from .function import sum_to_shape
from .ops import Op
from .ops_extra import erf_array

# B_2k / (2k) for the digamma series, B_2k for the polygamma series (k = 1..8)
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)
_SHIFT = 10.0  # the asymptotic series is used from here up: its 8 terms reach ~1e-17

_lgamma_scalar = np.frompyfunc(math.lgamma, 1, 1)


def lgamma_array(x: np.ndarray) -> np.ndarray:
    """log|Gamma(x)| elementwise, in x's dtype (inf at 0, -1, -2, ...)."""
    x = np.asarray(x)
    a = x.astype(np.float64).reshape(-1)
    pole = (a <= 0) & (a == np.floor(a))  # math.lgamma raises there; PyTorch gives inf
    a = np.where(pole, 1.0, a)
    out = np.asarray(_lgamma_scalar(a), dtype=np.float64) if a.size else a.copy()
    out[pole] = np.inf
    return out.reshape(x.shape).astype(x.dtype, copy=False)


def digamma_array(x: np.ndarray) -> np.ndarray:
    """psi(x) = d/dx lgamma(x) elementwise, in x's dtype: -inf at +0, inf at -0, nan at the
    negative integers (PyTorch's values)."""
    x = np.asarray(x)
    a = x.astype(np.float64)
    out = np.zeros_like(a)
    # reflection: psi(x) = psi(1 - x) - pi / tan(pi x), for x < 0.5
    low = a < 0.5
    if low.any():
        out = np.where(low, -np.pi / np.tan(np.pi * a), 0.0)
        a = np.where(low, 1 - a, a)
    # recurrence psi(x) = psi(x + 1) - 1 / x, up to x >= _SHIFT
    while True:
        small = a < _SHIFT
        if not small.any():
            break
        out = out - np.where(small, 1 / np.where(small, a, 1.0), 0.0)
        a = np.where(small, a + 1, a)
    inv2 = 1 / (a * a)
    series = np.zeros_like(a)
    for k in range(len(_BERNOULLI) - 1, -1, -1):  # sum B_2k / (2k) x^(-2k), Horner in 1/x^2
        series = (series + _BERNOULLI[k] / (2 * (k + 1))) * inv2
    out = out + np.log(a) - 0.5 / a - series
    orig = np.asarray(x, dtype=np.float64)
    out = np.where(orig == 0, np.where(np.signbit(orig), np.inf, -np.inf), out)
    out = np.where((orig < 0) & (orig == np.floor(orig)), np.nan, out)
    out = np.where(orig == np.inf, np.inf, out)
    out = np.where(orig == -np.inf, np.nan, out)
    return np.asarray(out).astype(x.dtype, copy=False)


def _zeta_shifted(n: int, a: np.ndarray) -> np.ndarray:
    """sum_k 1 / (a + k)^(n+1), the Hurwitz zeta(n + 1, a), n >= 1: the recurrence moves a
    up to _SHIFT (to n for a larger n: the tail's terms grow as (n / a)^2k), then the
    Euler-Maclaurin tail."""
    acc = np.zeros_like(a)
    shift = max(_SHIFT, float(n))
    while True:
        small = a < shift
        if not small.any():
            break
        acc = acc + np.where(small, 1 / np.where(small, a, 1.0) ** (n + 1), 0.0)
        a = np.where(small, a + 1, a)
    # zeta(n+1, a) ~ a^-n / n + a^-(n+1) / 2 + sum_k B_2k (n+2k-1)! / ((2k)! n!) a^-(n+2k)
    tail = a ** (-n) / n + a ** (-n - 1) / 2
    for k in range(1, len(_BERNOULLI) + 1):
        # B_2k (n+2k-1)! / ((2k)! n!), as floats (the factorials of a large n overflow them)
        coef = _BERNOULLI[k - 1] * math.prod(range(n + 1, n + 2 * k), start=1.0)
        coef /= math.factorial(2 * k)
        tail = tail + coef * a ** (-n - 2 * k)
    return acc + tail


def polygamma_array(n: int, x: np.ndarray) -> np.ndarray:
    """psi^(n)(x) = (-1)^(n+1) n! sum_k 1 / (x + k)^(n+1), the n-th derivative of digamma,
    elementwise in x's dtype. Trigamma (n = 1) takes the reflection formula
    psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x) below 0.5, as PyTorch; for n >= 2 PyTorch sums
    the series for negative x too, so the poles 0, -1, ... give (-1)^(n+1) inf. The infinities
    follow PyTorch's values."""
    if n == 0:
        return digamma_array(x)
    x = np.asarray(x)
    a = x.astype(np.float64)
    sign = 1.0 if n % 2 else -1.0  # (-1)^(n+1)
    if n == 1:
        low = a < 0.5
        y = np.where(low, 1 - a, a)
        v = _zeta_shifted(1, np.where(np.isfinite(y), y, 1.0))
        # sin(pi x) in the input's dtype: at the poles (negative integers) it is a rounding
        # residue, and PyTorch's huge value there is pi^2 over its square in that dtype
        # (float16 in float32, as PyTorch's half kernel computes)
        xw = widen(x)
        s = np.sin(np.asarray(np.pi, xw.dtype) * xw).astype(np.float64)
        out = np.where(low, np.pi**2 / (s * s) - v, v)
        out = np.where(a == np.inf, 0.0, np.where(a == -np.inf, np.nan, out))
    else:
        pole = (a <= 0) & (a == np.floor(a))
        z = _zeta_shifted(n, np.where(np.isfinite(a) & ~pole, a, 1.0))
        # PyTorch's (-1)^(n+1) exp(lgamma(n + 1)) zeta(n + 1, x), the factor and the product
        # in x's dtype (float32: n! is inf from n = 34 on, float64 from n = 171, and inf times
        # an underflowed zeta is NaN there); float64's n! exact, nearer glibc's than math.lgamma
        ft = widen(x).dtype
        with np.errstate(over="ignore", invalid="ignore"):
            if ft == np.float64:
                factor = np.float64(math.factorial(n)) if n <= 170 else np.float64(np.inf)
            else:
                factor = np.exp(ft.type(math.lgamma(n + 1)))
            out = (ft.type(sign) * factor) * z.astype(ft)
        out = np.where(pole, sign * np.inf, out)
        out = np.where(a == np.inf, np.nan, out)
    out = np.where(np.isnan(a), np.nan, out)
    return np.asarray(out).astype(x.dtype, copy=False)


_erfc_scalar = np.frompyfunc(math.erfc, 1, 1)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def erfinv_array(x: np.ndarray) -> np.ndarray:
    """The inverse of erf elementwise, in x's dtype: +-inf at +-1, nan outside [-1, 1].

    First guess: y0 = sgn(x) sqrt(sqrt(b^2 - ln(1 - x^2) / a) - b), b = 2 / (pi a) +
    ln(1 - x^2) / 2, a = 0.147 (Winitzki's closed form, relative error < 2e-3); then Halley
    steps on f(y) = erf(y) - x (cubic convergence: 3 steps reach float64 rounding). Where
    |x| > 0.9 the steps solve erfc(y) = 1 - |x| instead: 1 - |x| is exact there, and erfc
    keeps the relative accuracy that erf(y) - x would lose near +-1.
    """
    x = np.asarray(x)
    v = x.astype(np.float64).reshape(-1)
    ax = np.abs(v)
    inside = ax < 1
    w = np.where(inside, ax, 0.0)
    ln = np.log1p(-w * w)
    a = 0.147
    b = 2 / (np.pi * a) + ln / 2
    y = np.sqrt(np.sqrt(b * b - ln / a) - b)
    tail = w > 0.9  # (below, erf(y) - w costs at most ~1e-15 relative in y)
    rest = 1 - w  # exact for w >= 0.5 (Sterbenz)
    for _ in range(3):
        d = _TWO_OVER_SQRT_PI * np.exp(-y * y)  # erf'(y)
        f = erf_array(y) - w
        if tail.any():
            g = np.asarray(_erfc_scalar(y[tail]), dtype=np.float64) - rest[tail]
            f[tail] = -g  # erf(y) - w = (1 - erfc(y)) - (1 - rest) = rest - erfc(y)
        y = y - f / (d + y * f)  # Halley: f'' = -2 y f'
    out = np.where(inside, np.copysign(y, v), np.where(ax == 1, np.copysign(np.inf, v), np.nan))
    out = np.where(v == 0, v, out)  # erfinv(-0.0) = -0.0
    return out.reshape(x.shape).astype(x.dtype, copy=False)


# -- the ops ----------------------------------------------------------------------------------


class Lgamma(Op):
    torch_name = "LgammaBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return lgamma_array(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * digamma_array(a)

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * Polygamma.apply(a, 0)


class Polygamma(Op):
    """psi^(n)(a); n = 0 is digamma (PyTorch's node: DigammaBackward0)."""

    @staticmethod
    def forward(ctx, a, n):
        ctx.save_for_backward(a)
        ctx.n = n
        ctx.torch_name = "DigammaBackward0" if n == 0 else "PolygammaBackward0"
        return polygamma_array(n, a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * polygamma_array(ctx.n + 1, a), None

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * Polygamma.apply(a, ctx.n + 1), None


class Erfinv(Op):
    torch_name = "ErfinvBackward0"

    @staticmethod
    def forward(ctx, a):
        out = erfinv_array(a)
        ctx.save_for_backward(a)  # as PyTorch (the backward recomputes erfinv(a))
        return out

    @staticmethod
    def backward(ctx, grad):
        # y = erfinv(a), a = erf(y): dy/da = 1 / erf'(y) = sqrt(pi) / 2 * exp(y^2)
        (a,) = ctx.saved_tensors
        y = erfinv_array(a)
        return mul_number(np.exp(y * y), math.sqrt(math.pi) / 2) * grad  # (PyTorch's order)

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        y = Erfinv.apply(a)
        return grad * ((y * y).exp() * (math.sqrt(math.pi) / 2))


# -- the regularized incomplete gamma functions ---------------------------------------------
# P(a, x) = (1 / Gamma(a)) int_0^x t^(a-1) e^-t dt. With the prefactor x^a e^-x / Gamma(a):
# for x < a + 1 the series P = prefactor * sum_n x^n / (a (a+1) ... (a+n)) converges fast;
# otherwise Q = 1 - P is the prefactor times a continued fraction (evaluated by Lentz's
# method). The other function is 1 minus the one computed. dP/dx = x^(a-1) e^-x / Gamma(a).
_TINY = 1e-300
_MACHEP = 1.11022302462515654042e-16  # (Cephes' float64 epsilon / 2)


def _upper_series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Q(a, x) by DLMF 8.7.3, without 1 - P's cancellation (PyTorch's _igamc_helper_series):
    -expm1(a log x - lgamma(1 + a)) - x^a / Gamma(a) sum_n (-x)^n / (n! (a + n))."""
    fac, total = np.ones(a.shape), np.zeros(a.shape)
    active, n = np.ones(a.shape, bool), 0
    while active.any() and n < 2000:
        n += 1
        fac = fac * (-x / n)
        term = np.where(active, fac / (a + n), 0.0)
        total += term
        active &= np.abs(term) > _MACHEP * np.abs(total)
    logx = np.log(x)
    return -np.expm1(a * logx - _lgamma_1p(a)) - np.exp(a * logx - lgamma_array(a)) * total


_LGAMMA_1P_TERMS: list[float] = []  # (-1)^k zeta(k) / k, k = 2, 3, ...


def _lgamma_1p(a: np.ndarray) -> np.ndarray:
    """lgamma(1 + a) with 1 + a rounded first (as PyTorch's lgamma(1 + a)), from the series
    -gamma d + sum_k (-1)^k zeta(k) d^k / k in d = (1 + a) - 1 for small d: math.lgamma
    (lgamma_array's) is off by up to 1e-3 relative near 1, where Q(tiny a, x) needs it."""
    if not _LGAMMA_1P_TERMS:
        _LGAMMA_1P_TERMS.extend(
            (-1) ** k * float(_zeta_shifted(k - 1, np.ones(1))[0]) / k for k in range(2, 26)
        )
    d = (1 + a) - 1
    small = np.abs(d) < 0.1
    ds = np.where(small, d, 0.0)
    series = np.zeros_like(ds)
    for c in reversed(_LGAMMA_1P_TERMS):  # Horner in d, from d^2 up
        series = (series + c) * ds
    series = (series - np.euler_gamma) * ds
    return np.where(small, series, lgamma_array(1 + a))


def igamma_array(a: np.ndarray, x: np.ndarray, upper: bool) -> np.ndarray:
    """P(a, x) (upper=False) or Q(a, x), float64, broadcast; PyTorch's values at the edges:
    nan for a < 0, x < 0 or a = x = 0; P = 1 for a = 0 < x and for x = inf."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    p = np.full(a.shape, np.nan)
    p[(a == 0) & (x > 0)] = 1.0
    p[(a > 0) & (x == 0)] = 0.0
    p[(a >= 0) & (x == np.inf)] = 1.0
    p[(a == np.inf) & (x < np.inf) & (x >= 0)] = 0.0
    regular = (a > 0) & (a < np.inf) & (x > 0) & (x < np.inf)
    aa, xx = a[regular], x[regular]
    log_pre = aa * np.log(xx) - xx - lgamma_array(aa)
    series = xx < aa + 1
    lower = np.empty(aa.shape)
    # the series, for P
    sa, sx = aa[series], xx[series]
    term = 1.0 / sa
    total = term.copy()
    n, active = 0, np.ones(sa.shape, bool)
    while active.any() and n < 100000:
        n += 1
        term = np.where(active, term * sx / (sa + n), 0.0)
        total += term
        active = np.abs(term) > np.abs(total) * 1e-17
    lower[series] = total * np.exp(log_pre[series])
    # the continued fraction, for Q
    ca, cx = aa[~series], xx[~series]
    b = cx + 1 - ca
    c = np.full(ca.shape, 1 / _TINY)
    d = 1 / b
    h = d.copy()
    i, active = 0, np.ones(ca.shape, bool)
    while active.any() and i < 100000:
        i += 1
        an = -i * (i - ca)
        b = b + 2
        d = an * d + b
        d = np.where(np.abs(d) < _TINY, _TINY, d)
        c = b + an / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        d = 1 / d
        delta = np.where(active, d * c, 1.0)
        h = h * delta
        active = np.abs(delta - 1) > 1e-16
    lower[~series] = 1 - h * np.exp(log_pre[~series])
    if upper:
        upper_part = np.empty(aa.shape)
        upper_part[series] = 1 - lower[series]
        upper_part[~series] = h * np.exp(log_pre[~series])
        # small a with x <= 1.1: 1 - P cancels (Q is about a E1(x)), so Q comes from its own
        # series there, in PyTorch's region (Gautschi's section 3)
        with np.errstate(divide="ignore"):
            own = (xx <= 1.1) & np.where(xx <= 0.5, -0.4 / np.log(xx) >= aa, xx * 1.1 >= aa)
        upper_part[own] = _upper_series(aa[own], xx[own])
        p[regular] = upper_part
        edge = ~regular & ~np.isnan(p)
        p[edge] = 1 - p[edge]
    else:
        p[regular] = lower
    return p


def _igamma_dx(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dP/dx = exp((a - 1) log x - x - lgamma(a)), float64 (inf at x = 0 for a < 1)."""
    a, x = np.asarray(a, np.float64), np.asarray(x, np.float64)
    return np.exp((a - 1) * np.log(x) - x - lgamma_array(a))


class Igamma(Op):
    """P(a, x) (Igammac: Q(a, x)), a and x broadcast. Only x gets a gradient: the one with
    respect to a raises, as PyTorch's (it has no formula for it either)."""

    torch_name = "IgammaBackward0"
    _upper = False

    @classmethod
    def forward(cls, ctx, a, x):
        dtype = np.result_type(a, x)
        ctx.save_for_backward(a, x)
        return igamma_array(a, x, cls._upper).astype(dtype, copy=False)

    @classmethod
    def _check(cls, ctx):
        if ctx.needs_input_grad[0]:
            name = "igammac" if cls._upper else "igamma"
            raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")

    @classmethod
    def backward(cls, ctx, grad):
        cls._check(ctx)
        a, x = ctx.saved_tensors
        g = grad * _igamma_dx(a, x) * (-1.0 if cls._upper else 1.0)
        return None, sum_to_shape(g, x.shape, x.dtype)

    @classmethod
    def graph_backward(cls, ctx, grad):
        cls._check(ctx)
        a, x = ctx.saved_tensors
        dx = ((a - 1) * x.log() - x - Lgamma.apply(a)).exp()
        g = grad * dx * (-1.0 if cls._upper else 1.0)
        return None, sum_to_shape(g, tuple(x.shape), x._data.dtype)


class Igammac(Igamma):
    torch_name = "IgammacBackward0"
    _upper = True
