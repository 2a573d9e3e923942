"""StudentT(df, loc, scale): loc + scale * X / sqrt(Z / df) for X ~ N(0, 1), Z ~ Chi2(df)."""

from __future__ import annotations

import math
from typing import Any

from ..tensor import Size, Tensor
from . import constraints
from .chi2 import Chi2
from .distribution import _SCALAR, Distribution
from .utils import _standard_normal, broadcast_all

__all__ = ["StudentT"]


class StudentT(Distribution):
    """Batched over the broadcast shape of df, loc and scale. rsample draws the normal, then
    the chi2 (a Gamma) from the global stream as PyTorch does: PyTorch's numbers for the same
    seed. Its gradient reaches loc and scale; the df's raises, as Gamma's concentration's does
    (see dirichlet._GammaSample). Mean NaN for df <= 1; variance inf for 1 < df <= 2."""

    arg_constraints = {
        "df": constraints.positive,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    has_rsample = True

    def __init__(
        self, df: Any, loc: Any = 0.0, scale: Any = 1.0, validate_args: bool | None = None
    ) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        super().__init__(self.df.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> StudentT:
        new = self._expand_params(StudentT, batch_shape, _instance, ("df", "loc", "scale"))
        new._chi2 = self._chi2.expand(Size(batch_shape))
        return new

    @property
    def mean(self) -> Tensor:
        return self.loc.clone().masked_fill(self.df <= 1, math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        df = self.df
        # (df is clamped above 2 where it is not, so no 0/0 leaks into those entries' gradient)
        safe = df.masked_fill(df <= 2, 3.0)
        m = self.scale.pow(2) * safe / (safe - 2)
        m = m.masked_fill((df <= 2) & (df > 1), math.inf)
        return m.masked_fill(df <= 1, math.nan)

    def rsample(self, sample_shape: Any = _SCALAR) -> Tensor:
        shape = self._extended_shape(sample_shape)
        x = _standard_normal(shape, dtype=self.df.dtype)
        z = self._chi2.rsample(sample_shape)
        y = x * (z / self.df).rsqrt()
        return self.loc + self.scale * y

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        df = self.df
        y = (value - self.loc) / self.scale
        z = (
            self.scale.log() + 0.5 * df.log() + 0.5 * math.log(math.pi)
            + (0.5 * df).lgamma() - (0.5 * (df + 1.0)).lgamma()
        )  # fmt: skip
        return -0.5 * (df + 1.0) * (y**2.0 / df).log1p() - z

    def entropy(self) -> Tensor:
        df = self.df
        lbeta = (0.5 * df).lgamma() + math.lgamma(0.5) - (0.5 * (df + 1)).lgamma()
        return (
            self.scale.log()
            + 0.5 * (df + 1) * ((0.5 * (df + 1)).digamma() - (0.5 * df).digamma())
            + 0.5 * df.log()
            + lbeta
        )
