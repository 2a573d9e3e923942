"""GELU in float32 without float64 or table lookups (part of the training step's fast path).

The exact GELU is ``x * Phi(x)``, Phi the standard normal CDF; PyTorch computes it by the
formula ``0.5 x (1 + erf(x / sqrt 2))``, whose ``1 + erf`` cancels for negative x: below
x = -3 only a few bits are left, and from x = -5.54 on (where erf rounds to -1) the result
is -0.0, where x Phi(x) would be a tiny negative number. tinyconv gives PyTorch's formula
(nn/functional/activations.py) with erf from ``erf_array``, which is correctly rounded but
evaluates a float64 Taylor table with gathers: 40 ms forward on 1M float32 numbers where
PyTorch takes 1 ms. Here erf is computed in float32 passes over cache-sized blocks, from
the normal tail at -|x|, and PyTorch's formula finishes each block:

    h(a) = Phi(-a) = erfc(z) / 2,    z = a / sqrt(2),  a = |x|
         = t * exp(-a^2 / 2) * Q(t) / 2,    t = 1 / (1 + z / 2)

``Q(t) = erfc(z) exp(z^2) / t`` is smooth on t in (0, 1] (Q(1) = 1, Q -> 1/sqrt(pi) as
t -> 0), so a degree-8 polynomial in t fits it to 5e-8 relative (``_Q``: a weighted
Chebyshev least-squares fit to math.erfc on 4000 nodes of t for z in [0, 9.5], converted to
powers of t; past z = 9.5 exp(-z^2) is below float32's smallest number anyway). Then

    erf(x / sqrt 2) = copysign(1 - 2h, x)    (rounded to float32, as PyTorch's erf),

then ``GELU = (x / 2) (1 + erf)`` and its derivative ``(1 + erf) / 2 + x beta exp(-x^2/2)``
(beta = 1/sqrt(2 pi)) in float32 steps, as PyTorch's kernels (GELU(-0.0) = -0.0). The
exponent a^2/2 of h would lose digits in float32
(its rounding error times a^2/2 is the relative error of exp: 13 ulps at |x| = 4), so a is
split into a 12-bit head and the rest, whose square is exact in float32:

    a^2 / 2 = ah^2 / 2 + al * (ah + al / 2),    exp(-a^2/2) = exp(-ah^2/2) * exp(-al (ah + al/2))

Accuracy (tests/test_perf_paths.py): erf within 3 ulps of 1 of the correctly rounded one
(h's float32 Horner steps, relative 5e-7), so the results are the reference path's within a
few ulps of x / 2, the granularity of the formula's own 1 + erf. Non-finite inputs take the
reference path (the caller checks), so inf and NaN behave as PyTorch's formula does.
"""

from __future__ import annotations

import numpy as np

from . import threads

# Q(t) = sum_k _Q[k] t^k, for t = 1 / (1 + z/2): relative error 4.9e-8 (see above)
_Q = (
    0.28208323640805655,
    0.2824378528310443,
    0.24259995610918514,
    0.2048667865232156,
    -0.03219478152259778,
    0.28671565825775536,
    -0.4952147817282507,
    0.2886475177321505,
    -0.059941493992234855,
)
# h = (t/2) Q(t) exp(-a^2/2): the 1/2 folded into the coefficients
_HALF_Q = tuple(np.float32(c / 2) for c in _Q)
_T_SCALE = np.float32(0.5 / np.sqrt(2.0))  # t = 1 / (1 + a * _T_SCALE)
_INV_SQRT_2PI = np.float32(1 / np.sqrt(2 * np.pi))  # (PyTorch's kBeta, in float32)
_HEAD_MASK = np.uint32(0xFFFFF000)  # keeps the sign, exponent and 11 leading mantissa bits
_SIGN_BIT = np.uint32(0x80000000)
# numbers per block; 128K rather than an L2-sized 32K: fewer NumPy calls, and rarer GIL
# hand-offs between the threads (1M float32 forward, same process, 1 / 2 threads: 32K
# 6.8 / 7.0 ms, 128K 6.0 / 4.1 ms)
BLOCK = 1 << 17


def _phi_pieces(x: np.ndarray, a, t, h, e) -> None:
    """For a float32 block ``x``: ``h = Phi(-|x|)``, ``e = exp(-x^2/2)`` (``a``, ``t``: scratch)."""
    np.abs(x, out=a)
    # t = 1 / (1 + a / (2 sqrt 2))
    np.multiply(a, _T_SCALE, out=t)
    t += np.float32(1)
    np.divide(np.float32(1), t, out=t)  # (NumPy's divide loop is faster than its reciprocal)
    # Horner: h = t * (c0 + t (c1 + ... t c8)) / 2
    np.multiply(t, _HALF_Q[-1], out=h)
    for c in _HALF_Q[-2:0:-1]:
        h += c
        h *= t
    h += _HALF_Q[0]
    h *= t
    # e = exp(-ah^2/2) * exp(-al (ah + al/2)), ah the 12-bit head of a, al = a - ah (exact)
    np.bitwise_and(a.view(np.uint32), _HEAD_MASK, out=e.view(np.uint32))  # e holds ah
    a -= e  # a holds al
    np.multiply(a, np.float32(-0.5), out=t)
    t -= e
    t *= a
    np.exp(t, out=t)  # exp(-al (ah + al/2))
    np.multiply(e, np.float32(-0.5), out=a)
    a *= e  # -ah^2/2, exact
    np.exp(a, out=e)
    e *= t
    h *= e


def _scratch(n: int) -> list[np.ndarray]:
    """A thread's four float32 scratch arrays (a, t, h, e of _phi_pieces)."""
    return [np.empty(n, np.float32) for _ in range(4)]


def gelu_forward(x: np.ndarray) -> np.ndarray:
    """PyTorch's ``(x / 2) (1 + erf(x / sqrt 2))`` for a finite float32 array ``x`` (any
    shape), in float32."""

    def finish(part: slice, xs: np.ndarray, out: np.ndarray, e: np.ndarray) -> None:
        np.multiply(xs, np.float32(0.5), out=e)
        out *= e

    return _over_cdf(x, finish)


def gelu_backward(x: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """PyTorch's ``grad ((1 + erf(x / sqrt 2)) / 2 + x beta exp(-x^2/2))`` for finite float32
    ``x`` and float32 ``grad`` (x's shape)."""
    g = grad.reshape(-1)  # (a view when it can be: y.sum()'s broadcast gradient is not copied)

    def finish(part: slice, xs: np.ndarray, out: np.ndarray, e: np.ndarray) -> None:
        out *= np.float32(0.5)  # cdf
        # pdf = beta exp(x x (-1/2)), rounded as PyTorch's (not the exact e of h)
        np.multiply(xs, xs, out=e)
        e *= np.float32(-0.5)
        np.exp(e, out=e)
        e *= _INV_SQRT_2PI
        e *= xs
        out += e
        out *= g[part]

    return _over_cdf(x, finish)


def _over_cdf(x: np.ndarray, finish) -> np.ndarray:
    """Block by block (threads.over_blocks), ``out = 1 + erf(x / sqrt 2)`` (``e``: scratch),
    then ``finish(part, x_part, out_part, e)`` makes the block's result in ``out_part``."""
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty(flat.shape, np.float32)

    def block(part: slice, work: list[np.ndarray]) -> None:
        xs, o = flat[part], out[part]
        a, t, h, e = (w[: len(xs)] for w in work)
        _phi_pieces(xs, a, t, h, e)
        _one_plus_erf(xs, h, t, o)
        finish(part, xs, o, e)

    # (|x| > 1.8e19: a^2 overflows to inf and exp gives 0, the right limit)
    threads.over_blocks(flat.size, BLOCK, block, _scratch, over="ignore", under="ignore")
    return out.reshape(x.shape)


def _one_plus_erf(x: np.ndarray, h: np.ndarray, scratch: np.ndarray, out: np.ndarray) -> None:
    """``out = 1 + erf(x / sqrt 2)`` from ``h = Phi(-|x|)``, as PyTorch's formula rounds it:
    erf = copysign(1 - 2h, x) rounded to float32 first, so x < 0 cancels as PyTorch's does.

    On the bits (NumPy's copysign loop ran 5x slower than a bitwise pass): with s = x's sign
    bit and e = 1 - 2h >= 0, copysign(e, x) = e | s.
    """
    h *= np.float32(-2)
    h += np.float32(1)  # |erf|, rounded
    sign = scratch.view(np.uint32)
    np.bitwise_and(x.view(np.uint32), _SIGN_BIT, out=sign)
    np.bitwise_or(h.view(np.uint32), sign, out=h.view(np.uint32))  # erf = copysign(|erf|, x)
    np.add(h, np.float32(1), out=out)
