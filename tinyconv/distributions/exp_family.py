"""ExponentialFamily: distributions whose density is h(x) exp(<t(x), theta> - F(theta)), with
natural parameters theta and log normalizer F. Entropy and KL then follow from F and its
gradient (computed by autograd): H = F(theta) - <theta, grad F(theta)> - E[log h(x)], and
KL(p || q) is the Bregman divergence of F between q's and p's natural parameters."""

from __future__ import annotations

from typing import Any

from ..autograd import grad
from ..tensor import Tensor
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """Subclasses give `_natural_params` (a tuple of tensors), `_log_normalizer(*params)` and
    `_mean_carrier_measure` (E[log h(x)]); the generic entropy here uses them."""

    @property
    def _natural_params(self) -> tuple:
        raise NotImplementedError

    def _log_normalizer(self, *natural_params: Any) -> Tensor:
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self) -> Any:
        raise NotImplementedError

    def entropy(self) -> Tensor:
        """F(theta) - <theta, grad F(theta)> - E[log h(x)] (differentiable: create_graph)."""
        params = [p.detach().requires_grad_() for p in self._natural_params]
        log_norm = self._log_normalizer(*params)
        grads = grad(log_norm.sum(), params, create_graph=True)
        result = log_norm - self._mean_carrier_measure
        for p, g in zip(params, grads, strict=True):
            result = result - (p * g).reshape(*self._batch_shape, -1).sum(-1)
        return result
