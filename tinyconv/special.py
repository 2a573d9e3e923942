"""`tinyconv.special`, as torch.special: the special functions under their SciPy-style names.
Functional layer: each is the Tensor method of the same maths."""

from __future__ import annotations

from typing import Any

from ._dtype import dtype_name
from .autograd.ops_special import Igamma, Igammac
from .tensor import Tensor, _as_tensor

__all__ = [
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
    return _as_tensor(input).xlogy(other)


def log1p(input: Any) -> Tensor:
    return _as_tensor(input).log1p()


def expm1(input: Any) -> Tensor:
    return _as_tensor(input).expm1()


def exp2(input: Any) -> Tensor:
    return _as_tensor(input).exp2()


def logsumexp(input: Any, dim: Any, keepdim: bool = False) -> Tensor:
    return _as_tensor(input).logsumexp(dim, keepdim)


def softmax(input: Any, dim: int, *, dtype: Any = None) -> Tensor:
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
            raise RuntimeError(f"{what}(): not implemented for {dtype_name(t.dtype)} tensors")
    return input, other


def gammainc(input: Any, other: Any) -> Tensor:
    """The regularized lower incomplete gamma function P(input, other) (broadcast); the
    gradient reaches `other` only (the one to `input` raises NotImplementedError, as PyTorch)."""
    return Igamma.apply(*_igamma_args(input, other, "special.gammainc"))


def gammaincc(input: Any, other: Any) -> Tensor:
    """The regularized upper incomplete gamma function Q(input, other) = 1 - P(input, other)."""
    return Igammac.apply(*_igamma_args(input, other, "special.gammaincc"))
