"""Classical orthogonal polynomials of a degree n per element (torch.special's
chebyshev_polynomial_t/u/v/w, their shifted forms, hermite_polynomial_h/he,
laguerre_polynomial_l, legendre_polynomial_p) and spherical_bessel_j0, in the rules PyTorch's
kernels follow: values at the interval's ends taken exactly, the Chebyshev polynomials of
high degree inside (-1, 1) from their trigonometric form, the rest from the three-term
recurrence. Pure NumPy, vectorised over elements: the recurrence runs once up to the largest
degree asked, each element keeping its value from its own last step.

x is a float array, n an int64 array of the same shape (a degree that is negative, NaN or
infinite gives 0, as PyTorch's cast of it to a negative integer does).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# the Hermite recurrences overflow long before this degree: PyTorch gives NaN past it
_HERMITE_LIMIT = {np.dtype(np.float32): 128, np.dtype(np.float64): 512}


def degrees(n: np.ndarray) -> np.ndarray:
    """The degree of each element, as PyTorch casts it: truncated; NaN and inf -> -1."""
    if n.dtype.kind == "f":
        bad = ~np.isfinite(n)
        with np.errstate(invalid="ignore"):
            out = np.trunc(np.where(bad, -1, n)).astype(np.int64)
        return out
    return n.astype(np.int64)


def _recur(
    x: np.ndarray,
    n: np.ndarray,
    out: np.ndarray,
    todo: np.ndarray,
    p0: np.ndarray,
    q0: np.ndarray,
    first_k: int,
    step: Callable,
) -> None:
    """For the elements in `todo` (degree >= 2): out = the polynomial of degree n from
    p0 (degree 0) and q0 (degree 1), with step(k, x, p, q) the next value; step k runs for
    k = first_k, first_k + 1, ... up to n - 2 + first_k."""
    if not todo.any():
        return
    xs, ns = x[todo], n[todo]
    p, q = p0[todo], q0[todo]
    for i in range(int(ns.max()) - 1):
        live = ns >= i + 2
        r = step(first_k + i, xs, p, q)
        p = np.where(live, q, p)
        q = np.where(live, r, q)
    out[todo] = q


def chebyshev(kind: str, x: np.ndarray, n: np.ndarray, shifted: bool) -> np.ndarray:
    """T, U, V or W (kind 't', 'u', 'v', 'w') of degree n at x; shifted: on [0, 1] (of
    2x - 1)."""
    dt = x.dtype.type
    one = dt(1)
    y = (x + x - one) if shifted else x  # (PyTorch forms 2x - 1 as x + x - 1)
    two_y = y + y
    nf = n.astype(x.dtype)
    twice = (n + n + 1).astype(x.dtype)
    out = np.zeros_like(x)
    neg = n < 0
    if shifted:
        plus, minus = (x == one), (x == dt(0))
        trig_from = 4 if kind == "w" else 6
    else:
        plus, minus = (np.abs(x) == one) & (x > 0), (np.abs(x) == one) & ~(x > 0)
        trig_from = 6 if kind == "t" else 8
    ends = plus | minus
    odd_sign = np.where(n % 2 == 0, one, -one)
    with np.errstate(all="ignore"):
        if kind == "t":
            end_value = np.where(plus, one, odd_sign)
        elif kind == "u":
            end_value = np.where(plus, nf + one, odd_sign * (nf + one))
        elif kind == "v":
            end_value = np.where(plus, one, odd_sign * twice)
        else:
            end_value = np.where(plus, twice, odd_sign)
        trig = ~neg & ~ends & (n > trig_from) & (np.abs(y) < one)
        a = np.arccos(np.where(trig, y, dt(0)))
        if kind == "t":
            trig_value = np.cos(nf * a)
        elif kind == "u":
            s = np.sin(a)
            trig_value = np.where(
                s != 0, np.sin((nf + one) * a) / s, (nf + one) * np.cos((nf + one) * a) / y
            )
        elif kind == "v":
            half = a / dt(2)
            trig_value = np.where(
                np.sin(half) != one, np.cos((nf + dt(0.5)) * a) / np.cos(half), odd_sign * twice
            )
        else:
            half = a / dt(2)
            degenerate = np.where(y > 0, twice, odd_sign) if not shifted else odd_sign
            trig_value = np.where(
                np.cos(half) != one, np.sin((nf + dt(0.5)) * a) / np.sin(half), degenerate
            )
        first = {"t": y, "u": two_y, "v": two_y - one, "w": two_y + one}[kind]
        out = np.where(n == 1, first, np.where(n == 0, one, out))
        rest = ~neg & ~ends & ~trig & (n >= 2)
        _recur(
            x,
            n,
            out,
            rest,
            np.ones_like(x),
            first,
            2,
            lambda k, xs, p, q: _two(xs, shifted) * q - p,
        )
        out = np.where(trig, trig_value, out)
        out = np.where(ends & ~neg, end_value, out)
    return np.where(neg, dt(0), out).astype(x.dtype, copy=False)


def _two(x: np.ndarray, shifted: bool) -> np.ndarray:
    """The recurrence's factor 2y, formed as PyTorch's kernels form it."""
    if shifted:
        y = x + x - x.dtype.type(1)
        return y + y
    return x + x


def hermite(physicists: bool, x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """H_n (physicists') or He_n (probabilists') at x."""
    dt = x.dtype.type
    one = dt(1)
    first = (x + x) if physicists else x
    out = np.where(n == 1, first, np.where(n == 0, one, dt(0))).astype(x.dtype)
    limit = _HERMITE_LIMIT.get(x.dtype, 1024)
    rest = (n >= 2) & (n <= limit)
    with np.errstate(all="ignore"):
        if physicists:  # r = 2x q - k p, k = 2, 4, ...
            step = lambda k, xs, p, q: (xs + xs) * q - dt(2 * (k - 1)) * p  # noqa: E731
        else:  # r = x q - k p, k = 1, 2, ...
            step = lambda k, xs, p, q: xs * q - dt(k - 1) * p  # noqa: E731
        _recur(x, n, out, rest, np.ones_like(x), first, 2, step)
    return np.where(n > limit, dt(np.nan), out).astype(x.dtype, copy=False)


def laguerre(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """L_n(x)."""
    dt = x.dtype.type
    one = dt(1)
    first = one - x
    out = np.where(n == 1, first, np.where(n == 0, one, dt(0))).astype(x.dtype)
    with np.errstate(all="ignore"):

        def step(k, xs, p, q):
            k = k - 1  # (PyTorch's k runs from 1)
            return ((dt(k + k) + (one - xs)) * q - dt(k) * p) / dt(k + 1)

        _recur(x, n, out, (n >= 2) & (x != 0), np.ones_like(x), first, 2, step)
    return np.where((x == 0) & (n >= 0), one, out).astype(x.dtype, copy=False)


def legendre(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """P_n(x)."""
    dt = x.dtype.type
    one = dt(1)
    out = np.where(n == 1, x, np.where(n == 0, one, dt(0))).astype(x.dtype)
    plus, minus = (np.abs(x) == one) & (x > 0), (np.abs(x) == one) & ~(x > 0)
    with np.errstate(all="ignore"):

        def step(k, xs, p, q):
            k = k - 1
            return (dt(k + k + 1) * xs * q - dt(k) * p) / dt(k + 1)

        _recur(x, n, out, (n >= 2) & ~(plus | minus), np.ones_like(x), x, 2, step)
    ends = (plus | minus) & (n >= 0)
    end_value = np.where(plus | (n % 2 == 0), one, -one)
    return np.where(ends, end_value, out).astype(x.dtype, copy=False)


def spherical_bessel_j0(x: np.ndarray) -> np.ndarray:
    """sin(x) / x: 0 at +-inf, and a Taylor polynomial below |x| = 0.5 (PyTorch's)."""
    dt = x.dtype.type
    xx = x * x
    series = dt(1) / dt(6227020800.0)
    for c in (-39916800.0, 362880.0, -5040.0, 120.0, -6.0):
        series = dt(1) / dt(c) + xx * series
    series = dt(1) + xx * series
    with np.errstate(all="ignore"):
        ratio = np.sin(x) / x
    out = np.where(np.abs(x) < dt(0.5), series, ratio)
    return np.where(np.isinf(x), dt(0), out).astype(x.dtype, copy=False)
