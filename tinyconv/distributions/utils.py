"""Helpers shared by the distributions (as torch.distributions.utils): broadcasting parameters
to one shape, converting between probabilities and logits, cached properties, and the
standard-normal draw that rsample builds on."""

from __future__ import annotations

from numbers import Number
from typing import Any

from .._dtype import public_default_dtype
from ..autograd.grad_mode import enable_grad
from ..creation import arange, empty, tensor
from ..tensor import Tensor
from ..torch_functions import broadcast_tensors, finfo

__all__ = [
    "broadcast_all",
    "euler_constant",
    "clamp_probs",
    "lazy_property",
    "logits_to_probs",
    "probs_to_logits",
    "tril_matrix_to_vec",
    "vec_to_tril_matrix",
]

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant (PyTorch's digits)


def broadcast_all(*values: Any) -> tuple:
    """The values broadcast to one shape, numbers made into tensors (of the first tensor's
    dtype, else the default dtype)."""
    if not all(isinstance(v, (Tensor, Number)) for v in values):
        raise ValueError(
            "Input arguments must all be instances of Number or Tensor, got "
            + ", ".join(type(v).__name__ for v in values)
        )
    if not all(isinstance(v, Tensor) for v in values):
        # (numbers take the first tensor's dtype, else the default one: never int64)
        dtype = next((v.dtype for v in values if isinstance(v, Tensor)), public_default_dtype())
        values = tuple(v if isinstance(v, Tensor) else tensor(v, dtype=dtype) for v in values)
    return broadcast_tensors(*values)


def _standard_normal(shape: tuple, dtype: Any) -> Tensor:
    """N(0, 1) draws of `shape` from the global stream (a fresh tensor's normal_())."""
    return empty(shape, dtype=dtype).normal_()


def _sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """`value` summed over its last `dim` dims (unchanged for dim 0)."""
    if dim == 0:
        return value
    return value.reshape(*value.shape[: value.dim() - dim], -1).sum(-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """Probabilities kept inside [eps, 1 - eps] (eps of their dtype), so logs stay finite."""
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """sigmoid(logits) for binary events, else softmax over the last dim."""
    if is_binary:
        return logits.sigmoid()
    return logits.softmax(dim=-1)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """log(p) - log(1 - p) for binary events, else log(p) (probabilities clamped first)."""
    p = clamp_probs(probs)
    if is_binary:
        return p.log() - (-p).log1p()
    return p.log()


class lazy_property:  # noqa: N801 (PyTorch's name)
    """A property computed on first access and then stored on the instance, so that e.g.
    Categorical(probs=...) makes its logits only when asked (and `probs`/`logits` given to
    the constructor simply sit in the instance's __dict__)."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            return self
        # computed with grad on, as PyTorch's: a first access under no_grad (sample() runs
        # under it, so does logging) must not store a value cut from its parameters' graph
        with enable_grad():
            value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def _tril_mask(n: int, diag: int) -> Tensor:
    """(n, n) bool: True on and below diagonal `diag` (row-major order is the vector's)."""
    idx = arange(n)
    return idx < idx.view(-1, 1) + (diag + 1)


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The entries of (..., n, n) on and below diagonal `diag`, row by row: (..., count)."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    return mat[..., _tril_mask(n, diag)]


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """tril_matrix_to_vec's inverse: (..., count) -> (..., n, n), zeros elsewhere."""
    # count = n (n + 1) / 2 + diag n - |diag| (diag + 1) / 2, solved for n
    n = (
        -(1 + 2 * diag)
        + ((1 + 2 * diag) ** 2 + 8 * vec.shape[-1] + 4 * abs(diag) * (diag + 1)) ** 0.5
    ) / 2
    eps = finfo(vec.dtype).eps
    if round(n) - n > eps:
        raise ValueError(
            f"The size of last dimension is {vec.shape[-1]} which cannot be expressed as "
            + "the lower triangular part of a square D x D matrix."
        )
    n = round(n)
    mat = vec.new_zeros(tuple(vec.shape[:-1]) + (n, n))
    mat[..., _tril_mask(n, diag)] = vec
    return mat


class _BinaryProbsOrLogits:
    """Mixin for distributions over a binary event given by exactly one of probs or logits
    (Bernoulli, Binomial, NegativeBinomial, the relaxed Bernoulli, ContinuousBernoulli): the
    constructor's check and broadcasting, the other parameter computed when first read, and
    expand's copy of whichever parameters are set."""

    def _set_probs_or_logits(self, probs: Any, logits: Any, *others: Any) -> list:
        """Set probs or logits (exactly one given) and _param, broadcast with `others`
        (returned, converted as broadcast_all converts them)."""
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        name, value = ("probs", probs) if probs is not None else ("logits", logits)
        *rest, param = broadcast_all(*others, value)
        setattr(self, name, param)
        self._param = param
        return rest

    def _expand_probs_or_logits(self, new: Any, batch_shape: Any) -> None:
        """new's probs/logits (those self has set) expanded to batch_shape, and its _param."""
        for name in ("probs", "logits"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(batch_shape))
                new._param = new.__dict__[name]

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> Any:
        return self._param.size()
