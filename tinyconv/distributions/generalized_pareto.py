"""GeneralizedPareto(loc, scale, concentration): the law of exceedances over a high
threshold; survival (1 + c z)^(-1/c) at z = (x - loc) / scale (exp(-z) for c = 0)."""

from __future__ import annotations

import math
from numbers import Number
from typing import Any

from ..creation import ones_like, rand, zeros_like
from ..tensor import Size, Tensor
from ..torch_functions import isclose, where
from . import constraints
from .distribution import _SCALAR, Distribution
from .utils import broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """Batched over the broadcast shape of the three parameters. A concentration within
    isclose of 0 takes the exponential limit. rsample is icdf at a rand: PyTorch's numbers
    for the same seed, and gradients reach all three parameters. (PyTorch's log_prob and
    log_survival_function compare a float64 concentration with a float32 zero and raise;
    here they compare with a zero of the parameter's dtype, so float64 works.)"""

    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "concentration": constraints.real,
    }
    has_rsample = True

    def __init__(
        self, loc: Any, scale: Any, concentration: Any, validate_args: bool | None = None
    ) -> None:
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        if all(isinstance(v, Number) for v in (loc, scale, concentration)):
            batch_shape = Size()
        else:
            batch_shape = self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> GeneralizedPareto:
        names = ("loc", "scale", "concentration")
        return self._expand_params(GeneralizedPareto, batch_shape, _instance, names)

    def rsample(self, sample_shape: Any = _SCALAR) -> Tensor:
        shape = self._extended_shape(sample_shape)
        u = rand(tuple(shape), dtype=self.loc.dtype)
        return self.icdf(u)

    def _safe_concentration(self) -> tuple:
        """(where the concentration is ~0, the concentration with those entries made 1)."""
        c = self.concentration
        eq_zero = isclose(c, zeros_like(c))
        return eq_zero, where(eq_zero, ones_like(c), c)

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        y = 1 / safe_conc + ones_like(z)
        where_nonzero = where(y == 0, y, y * (safe_conc * z).log1p())
        return -self.scale.log() - where(eq_zero, z, where_nonzero)

    def log_survival_function(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        where_nonzero = -(safe_conc * z).log1p() / safe_conc
        return where(eq_zero, -z, where_nonzero)

    def log_cdf(self, value: Any) -> Tensor:
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value: Any) -> Tensor:
        return self.log_cdf(value).exp()

    def icdf(self, value: Any) -> Tensor:
        eq_zero, safe_conc = self._safe_concentration()
        logu = (-value).log1p()
        where_nonzero = self.loc + self.scale / safe_conc * (-safe_conc * logu).expm1()
        where_zero = self.loc - self.scale * logu
        return where(eq_zero, where_zero, where_nonzero)

    def _z(self, x: Any) -> Tensor:
        return (x - self.loc) / self.scale

    @property
    def mean(self) -> Tensor:
        c = self.concentration
        valid = c < 1
        safe_conc = where(valid, c, 0.5)
        result = self.loc + self.scale / (1 - safe_conc)
        return where(valid, result, math.nan)

    @property
    def variance(self) -> Tensor:
        c = self.concentration
        valid = c < 0.5
        safe_conc = where(valid, c, 0.25)
        result = self.scale**2 / ((1 - safe_conc) ** 2 * (1 - 2 * safe_conc))
        return where(valid, result, math.nan)

    def entropy(self) -> Tensor:
        ans = self.scale.log() + self.concentration + 1
        return ans.broadcast_to(tuple(self._batch_shape))

    @property
    def mode(self) -> Tensor:
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> Any:
        lower = self.loc
        upper = where(self.concentration < 0, lower - self.scale / self.concentration, math.inf)
        return constraints.interval(lower, upper)
