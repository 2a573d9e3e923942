"""`tinyconv.special`, as torch.special: the special functions under their SciPy-style names.
Functional layer: each is the Tensor method of the same maths."""

from __future__ import annotations

import inspect as _inspect
import math
from typing import Any

import numpy as np

from ._dtype import dtype_name, float16
from ._tensor_math import _broadcast, _float_result, _fused
from .autograd.ops_special import Igamma, Igammac
from .autograd.ops_special_more import Bessel, Entr, Erfcx, LogNdtr, Ndtri, Xlog1py, Zeta
from .kernels import orthopoly
from .tensor import Tensor, _as_tensor, _as_tensor_of

__all__ = [
    "chebyshev_polynomial_t",
    "chebyshev_polynomial_u",
    "chebyshev_polynomial_v",
    "chebyshev_polynomial_w",
    "hermite_polynomial_h",
    "hermite_polynomial_he",
    "laguerre_polynomial_l",
    "legendre_polynomial_p",
    "shifted_chebyshev_polynomial_t",
    "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w",
    "spherical_bessel_j0",
    "entr",
    "erfcx",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "log_ndtr",
    "multigammaln",
    "ndtr",
    "ndtri",
    "round",
    "xlog1py",
    "zeta",
    "erfc",
    "sinc",
    "digamma",
    "erf",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammainc",
    "gammaincc",
    "gammaln",
    "log1p",
    "log_softmax",
    "logit",
    "logsumexp",
    "polygamma",
    "psi",
    "softmax",
    "xlogy",
]


def gammaln(input: Any) -> Tensor:
    """log|Gamma(x)| (torch.lgamma)."""
    return _as_tensor(input).lgamma()


def digamma(input: Any) -> Tensor:
    """psi(x), the derivative of gammaln."""
    return _as_tensor(input).digamma()


psi = digamma


def polygamma(n: int, input: Any) -> Tensor:
    """The n-th derivative of digamma."""
    return _as_tensor(input).polygamma(n)


def erf(input: Any) -> Tensor:
    return _as_tensor(input).erf()


def erfinv(input: Any) -> Tensor:
    return _as_tensor(input).erfinv()


def erfc(input: Any) -> Tensor:
    """1 - erf(x), accurate where erf(x) rounds to 1."""
    return _as_tensor(input).erfc()


def sinc(input: Any) -> Tensor:
    """sin(pi x) / (pi x), 1 at 0."""
    return _as_tensor(input).sinc()


def expit(input: Any) -> Tensor:
    """The logistic sigmoid 1 / (1 + exp(-x))."""
    return _as_tensor(input).sigmoid()


def logit(input: Any, eps: Any = None) -> Tensor:
    return _as_tensor(input).logit(eps)


def xlogy(input: Any, other: Any) -> Tensor:
    if not isinstance(input, Tensor) and isinstance(other, Tensor):
        # a number first counts as a number: xlogy(2.5, float16 tensor) is float16
        return Tensor._make(np.asarray(input, _float_result(other, input)), None, False).xlogy(
            other
        )
    return _as_tensor(input).xlogy(other)


def log1p(input: Any) -> Tensor:
    return _as_tensor(input).log1p()


def expm1(input: Any) -> Tensor:
    return _as_tensor(input).expm1()


def exp2(input: Any) -> Tensor:
    return _as_tensor(input).exp2()


def logsumexp(input: Any, dim: Any, keepdim: bool = False) -> Tensor:
    return _as_tensor(input).logsumexp(dim, keepdim)


def softmax(input: Any, dim: int, dtype: Any = None) -> Tensor:
    """Softmax along dim, computed in dtype when given (which, unlike log_softmax's, PyTorch
    also takes as the third positional argument)."""
    x = _as_tensor(input)
    return (x if dtype is None else x.to(dtype)).softmax(dim)


def log_softmax(input: Any, dim: int, *, dtype: Any = None) -> Tensor:
    x = _as_tensor(input)
    return (x if dtype is None else x.to(dtype)).log_softmax(dim)


def _igamma_args(input: Any, other: Any, what: str) -> tuple:
    for name, t in (("input", input), ("other", other)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}(): argument '{name}' must be Tensor, not {type(t).__name__}")
        if t.dtype.kind != "f":
            raise NotImplementedError(
                f"{what}(): not implemented for {dtype_name(t.dtype)} tensors"
            )
    _broadcast(what + "()", input, other)
    return input, other


def gammainc(input: Any, other: Any) -> Tensor:
    """The regularized lower incomplete gamma function P(input, other) (broadcast); the
    gradient reaches `other` only (the one to `input` raises NotImplementedError, as PyTorch)."""
    return Igamma.apply(*_igamma_args(input, other, "special.gammainc"))


def gammaincc(input: Any, other: Any) -> Tensor:
    """The regularized upper incomplete gamma function Q(input, other) = 1 - P(input, other)."""
    return Igammac.apply(*_igamma_args(input, other, "special.gammaincc"))


def _floating(input: Any, no_half: str = "") -> Tensor:
    """input as a Tensor; integers and bools in the default float dtype (as PyTorch).
    no_half: the kernel's name, for ops PyTorch 2.13 has no float16 kernel for."""
    x = _as_tensor(input)._to_float()
    if no_half and x.dtype == float16:
        raise NotImplementedError(f"\"{no_half}_cpu\" not implemented for 'Half'")
    return x


def i0(input: Any) -> Tensor:
    """The modified Bessel function of the first kind of order 0, I0(x)."""
    return Bessel.apply(_floating(input), 0, False)


def i0e(input: Any) -> Tensor:
    """I0(x) exp(-|x|), finite where I0 overflows."""
    return Bessel.apply(_floating(input), 0, True)


def i1(input: Any) -> Tensor:
    """The modified Bessel function of the first kind of order 1, I1(x)."""
    return Bessel.apply(_floating(input), 1, False)


def i1e(input: Any) -> Tensor:
    """I1(x) exp(-|x|)."""
    return Bessel.apply(_floating(input), 1, True)


def ndtr(input: Any) -> Tensor:
    """The standard normal CDF, computed as PyTorch does: (1 + erf(x / sqrt 2)) / 2."""
    # (PyTorch's last node is a product with a number from C++: MulBackward1)
    cdf2 = 1 + (_floating(input) * math.sqrt(0.5)).erf()
    return _fused(cdf2 * 0.5, "MulBackward1", cdf2)


def log_ndtr(input: Any) -> Tensor:
    """log(ndtr(x)), accurate in the far left tail (no underflow to log 0)."""
    return LogNdtr.apply(_floating(input, "log_ndtr"))


def ndtri(input: Any) -> Tensor:
    """The inverse of ndtr: x with ndtr(x) = p (-inf at 0, inf at 1, nan outside [0, 1])."""
    return Ndtri.apply(_floating(input, "ndtri"))


def erfcx(input: Any) -> Tensor:
    """The scaled complementary error function exp(x^2) erfc(x)."""
    return Erfcx.apply(_floating(input, "erfcx"))


def entr(input: Any) -> Tensor:
    """-x log(x) elementwise: 0 at 0, -inf for x < 0."""
    return Entr.apply(_floating(input))


def _float_pair(input: Any, other: Any, what: str) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of their promoted dtype (a float one: integers give the
    default float dtype); at least one must be a Tensor."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{what}: at least one of input and other must be a Tensor")
    base = input if isinstance(input, Tensor) else other
    rest = other if base is input else input
    dt = _float_result(base, rest)
    x, y = _as_tensor_of(input, dt), _as_tensor_of(other, dt)
    _broadcast(what, x, y)
    return x, y


def xlog1py(input: Any, other: Any) -> Tensor:
    """x * log1p(y) (broadcast), 0 where x == 0 unless y is nan."""
    return Xlog1py.apply(*_float_pair(input, other, "special.xlog1py()"))


def zeta(input: Any, other: Any) -> Tensor:
    """The Hurwitz zeta function sum_k (other + k)^-input (broadcast); only `other` has a
    gradient (the one to `input` raises NotImplementedError, as PyTorch)."""
    x, q = _float_pair(input, other, "special.zeta()")
    _floating(x, "zeta")
    return Zeta.apply(x, q)


def multigammaln(input: Any, p: int) -> Tensor:
    """The multivariate log-gamma function of dimension p (torch.mvlgamma)."""
    return _as_tensor(input).mvlgamma(p)


def round(input: Any, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """torch.round under its special name."""
    return _as_tensor(input).round(decimals=decimals)


# -- orthogonal polynomials: P_n(x) for a degree n per element (kernels/orthopoly.py). As in
# PyTorch they have no derivative: the result never requires grad.


def _poly_args(input: Any, n: Any, what: str) -> tuple:
    """(x's array, the degrees as int64) broadcast together; x in the promoted float dtype."""
    if not isinstance(input, Tensor) and not isinstance(n, Tensor):
        raise TypeError(f"special.{what}(): at least one of input and n must be a Tensor")
    x, d = _float_pair(input, n, f"special.{what}()")
    if x.dtype == float16 or dtype_name(x.dtype) == "bfloat16":
        raise NotImplementedError(f"\"{what}_cpu\" not implemented for 'Half'")
    xa, na = np.broadcast_arrays(x._data, d._data)
    return np.array(xa), orthopoly.degrees(na)


def _result(values: np.ndarray) -> Tensor:
    return Tensor._make(values, None, False)


def _chebyshev(kind: str, shifted: bool) -> Any:
    name = f"{'shifted_' if shifted else ''}chebyshev_polynomial_{kind}"

    def polynomial(input: Any, n: Any) -> Tensor:
        x, d = _poly_args(input, n, name)
        return _result(orthopoly.chebyshev(kind, x, d, shifted))

    polynomial.__name__ = polynomial.__qualname__ = name
    polynomial.__doc__ = (
        f"The Chebyshev polynomial of the {'first second third fourth'.split()['tuvw'.index(kind)]}"
        f" kind, {kind.upper()}_n(x){' on [0, 1] (of 2x - 1)' if shifted else ''}; x and n "
        "broadcast (n truncated to an integer)."
    )
    return polynomial


chebyshev_polynomial_t = _chebyshev("t", False)
chebyshev_polynomial_u = _chebyshev("u", False)
chebyshev_polynomial_v = _chebyshev("v", False)
chebyshev_polynomial_w = _chebyshev("w", False)
shifted_chebyshev_polynomial_t = _chebyshev("t", True)
shifted_chebyshev_polynomial_u = _chebyshev("u", True)
shifted_chebyshev_polynomial_v = _chebyshev("v", True)
shifted_chebyshev_polynomial_w = _chebyshev("w", True)


def hermite_polynomial_h(input: Any, n: Any) -> Tensor:
    """The physicists' Hermite polynomial H_n(x) (NaN past degree 128 in float32, 512 in
    float64, as PyTorch)."""
    return _result(orthopoly.hermite(True, *_poly_args(input, n, "hermite_polynomial_h")))


def hermite_polynomial_he(input: Any, n: Any) -> Tensor:
    """The probabilists' Hermite polynomial He_n(x)."""
    return _result(orthopoly.hermite(False, *_poly_args(input, n, "hermite_polynomial_he")))


def laguerre_polynomial_l(input: Any, n: Any) -> Tensor:
    """The Laguerre polynomial L_n(x)."""
    return _result(orthopoly.laguerre(*_poly_args(input, n, "laguerre_polynomial_l")))


def legendre_polynomial_p(input: Any, n: Any) -> Tensor:
    """The Legendre polynomial P_n(x)."""
    return _result(orthopoly.legendre(*_poly_args(input, n, "legendre_polynomial_p")))


def spherical_bessel_j0(input: Any) -> Tensor:
    """The spherical Bessel function of the first kind of order 0, sin(x) / x (no
    derivative, as PyTorch's)."""
    x = _floating(input, "spherical_bessel_j0")
    return _result(orthopoly.spherical_bessel_j0(x._data))


# PyTorch's special functions take out= (these names): the result, computed as without it, is
# written into out as the top-level functions write theirs (torch_functions.accepting_out)
from .torch_functions import accepting_out as _accepting_out  # noqa: E402

for _name in (
    "chebyshev_polynomial_t chebyshev_polynomial_u chebyshev_polynomial_v chebyshev_polynomial_w "
    "digamma entr erf erfc erfcx erfinv exp2 expit expm1 gammainc gammaincc gammaln "
    "hermite_polynomial_h hermite_polynomial_he i0 i0e i1 i1e laguerre_polynomial_l "
    "legendre_polynomial_p log1p log_ndtr logit logsumexp multigammaln ndtr ndtri polygamma psi "
    "round shifted_chebyshev_polynomial_t shifted_chebyshev_polynomial_u "
    "shifted_chebyshev_polynomial_v shifted_chebyshev_polynomial_w sinc spherical_bessel_j0 "
    "xlog1py xlogy zeta"
).split():
    if "out" not in _inspect.signature(globals()[_name]).parameters:
        globals()[_name] = _accepting_out(globals()[_name], f"special.{_name}")
