"""Dirichlet(concentration): distributions over the probability simplex (the last dim)."""

from __future__ import annotations

from typing import Any

from .. import _rng
from ..autograd.function import Function
from ..creation import from_numpy
from ..nn.functional import one_hot
from ..tensor import Size, Tensor
from . import constraints
from .distribution import _SCALAR, Distribution
from .exp_family import ExponentialFamily

__all__ = ["Dirichlet"]


class _GammaSample(Function):
    """Gamma(alpha, 1) draws (or, with `simplex`, Dirichlet(alpha) draws along the last dim)
    from the global stream, PyTorch's numbers. Their gradient with respect to alpha is not
    available: PyTorch's comes from its own approximations of the implicit derivative (off
    the exact one by up to ~1e-3), which tinyconv does not reproduce, so backward raises
    rather than give other numbers (see README, differences)."""

    @staticmethod
    def forward(ctx: Any, alpha: Tensor, simplex: bool, generator: Any = None) -> Tensor:
        draw = _rng.dirichlet if simplex else _rng.gamma
        a = alpha.detach().numpy()  # (forward gets the input itself, which may require grad)
        return from_numpy(draw(_rng._gen(generator), a, a.dtype))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        raise RuntimeError(
            "rsample of Gamma/Beta/Dirichlet: the gradient with respect to the concentration "
            "is not implemented in tinyconv (PyTorch approximates it; tinyconv does not "
            "reproduce those numbers). Use sample(), or detach the concentration (gradients "
            "with respect to Gamma's rate do flow)"
        )


def _standard_gamma(alpha: Tensor, generator: Any = None) -> Tensor:
    """Gamma(alpha, 1) draws of alpha's shape and dtype (torch._standard_gamma's)."""
    return _GammaSample.apply(alpha, False, generator)


def _sample_dirichlet(alpha: Tensor, generator: Any = None) -> Tensor:
    """Dirichlet(alpha) draws along alpha's last dim, alpha's shape and dtype
    (torch._sample_dirichlet's, which torchvision's AugMix calls)."""
    return _GammaSample.apply(alpha, True, generator)


class Dirichlet(ExponentialFamily):
    """concentration (..., K), all positive: batch shape its leading dims, event shape (K,).
    Samples are PyTorch's for the same seed; rsample's gradient with respect to the
    concentration raises (see _GammaSample)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Tensor, validate_args: bool | None = None) -> None:
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        batch_shape, event_shape = concentration.shape[:-1], concentration.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Dirichlet:
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = Size(batch_shape)
        new.concentration = self.concentration.expand(tuple(batch_shape) + tuple(self.event_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape: Any = _SCALAR) -> Tensor:
        concentration = self.concentration.expand(self._extended_shape(sample_shape))
        return _GammaSample.apply(concentration, True)

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return (c - 1.0).xlogy(value).sum(-1) + c.sum(-1).lgamma() - c.lgamma().sum(-1)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        cm1 = (self.concentration - 1).clamp(min=0.0)
        mode = cm1 / cm1.sum(-1, keepdim=True)
        # every concentration below 1: the density peaks at a vertex, the largest one's
        below_one = (self.concentration < 1).all(-1)
        mode[below_one] = one_hot(mode[below_one].argmax(-1), cm1.shape[-1]).to(mode)
        return mode

    @property
    def variance(self) -> Tensor:
        c = self.concentration
        total = c.sum(-1, keepdim=True)
        return c * (total - c) / (total.pow(2) * (total + 1))

    def entropy(self) -> Tensor:
        c = self.concentration
        k = c.size(-1)
        a0 = c.sum(-1)
        return (
            c.lgamma().sum(-1) - a0.lgamma() - (k - a0) * a0.digamma()
            - ((c - 1.0) * c.digamma()).sum(-1)
        )  # fmt: skip

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        return x.lgamma().sum(-1) - x.sum(-1).lgamma()
