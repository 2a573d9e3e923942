"""Binomial(total_count, probs or logits): the number of successes in total_count coin flips
of P(success) = probs = sigmoid(logits)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _rng
from ..autograd import no_grad
from ..creation import arange, from_numpy
from ..tensor import Size, Tensor
from . import constraints
from .distribution import _SCALAR, Distribution
from .utils import _BinaryProbsOrLogits

__all__ = ["Binomial"]


def _binomial_draws(total_count: Tensor, probs: Tensor) -> Tensor:
    """Binomial(total_count, probs) draws of their (common) shape and dtype. PyTorch's sampler
    (BTRS, inside torch.binomial) is not reproduced: these are NumPy's binomial draws from a
    generator seeded by two words of the global stream, so they follow the right law and are
    the same for the same seed, but they are not PyTorch's numbers."""
    seed = _rng._rng()._words64(2)
    gen = np.random.Generator(np.random.PCG64(seed.tolist()))
    n = total_count.detach().numpy()
    p = probs.detach().numpy()
    draws = gen.binomial(n.astype(np.int64), np.clip(p, 0.0, 1.0))
    return from_numpy(np.asarray(draws, dtype=p.dtype))


class Binomial(_BinaryProbsOrLogits, Distribution):
    """Batched over the broadcast shape of total_count and the parameter; total_count takes
    the parameter's dtype. Give probs or logits, exactly one. Samples are counts as floats,
    drawn distributionally only (see _binomial_draws). entropy and enumerate_support need one
    total_count for the whole batch, as in PyTorch."""

    arg_constraints = {
        "total_count": constraints.nonnegative_integer,
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    has_enumerate_support = True

    def __init__(
        self,
        total_count: Any = 1,
        probs: Any = None,
        logits: Any = None,
        validate_args: bool | None = None,
    ) -> None:
        (total_count,) = self._set_probs_or_logits(probs, logits, total_count)
        self.total_count = total_count.type_as(self._param)
        super().__init__(self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Binomial:
        new = self._get_checked_instance(Binomial, _instance)
        batch_shape = Size(batch_shape)
        new.total_count = self.total_count.expand(batch_shape)
        self._expand_probs_or_logits(new, batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> Any:
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = _SCALAR) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return _binomial_draws(self.total_count.expand(shape), self.probs.expand(shape))

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        # k log p + (n - k) log(1 - p) = k logit - n max(logit, 0) - n log1p(exp(-|logit|));
        # max(logit, 0) written so that its gradient at 0 is 1/2, as PyTorch's
        clamped = (logits.clamp(min=0) + logits - logits.clamp(max=0)) / 2
        normalize_term = n * clamped + n * (-logits.abs()).exp().log1p() - (n + 1).lgamma()
        return value * logits - (value + 1).lgamma() - (n - value + 1).lgamma() - normalize_term

    def _homogeneous_count(self, what: str) -> int:
        total_count = int(self.total_count.max())
        if not self.total_count.min() == total_count:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return total_count

    def entropy(self) -> Tensor:
        self._homogeneous_count("entropy")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(log_prob.exp() * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        total_count = self._homogeneous_count("enumerate_support")
        values = arange(1 + total_count, dtype=self._param.dtype)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
