"""LKJCholesky(dim, concentration): the LKJ distribution over dim x dim correlation matrices,
given by their lower Cholesky factors; density proportional to det(C)^(concentration - 1)."""

from __future__ import annotations

import math
from typing import Any

from ..creation import arange, randn
from ..tensor import Size, Tensor
from ..torch_functions import cat, finfo
from . import constraints
from .beta import Beta
from .distribution import _SCALAR, Distribution
from .utils import broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """concentration's shape is the batch; events are (dim, dim) lower Cholesky factors of
    correlation matrices (rows of unit norm). sample is the onion method, as PyTorch runs it
    (a Beta draw per row for its squared norm, then normals for its direction): PyTorch's
    numbers for the same seed, up to the last ulp. No rsample (as PyTorch)."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(
        self, dim: int, concentration: Any = 1.0, validate_args: bool | None = None
    ) -> None:
        if dim < 2:
            raise ValueError(
                f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}."
            )
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        batch_shape = self.concentration.size()
        event_shape = Size((dim, dim))
        # row i's squared off-diagonal norm is Beta(i / 2, concentration + (dim - 2 - i) / 2)
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = arange(self.dim - 1, dtype=self.concentration.dtype)
        offset = cat([offset.new_zeros((1,)), offset])
        beta_conc1 = offset + 0.5
        beta_conc0 = marginal_conc.unsqueeze(-1) - 0.5 * offset
        self._beta = Beta(beta_conc1, beta_conc0)
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> LKJCholesky:
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = Size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(tuple(batch_shape) + (self.dim,))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape: Any = _SCALAR) -> Tensor:
        y = self._beta.sample(sample_shape).unsqueeze(-1)
        u_normal = randn(tuple(self._extended_shape(sample_shape)), dtype=y.dtype).tril(-1)
        u_hypersphere = u_normal / u_normal.norm(dim=-1, keepdim=True)
        u_hypersphere[..., 0, :].fill_(0.0)  # (the first row has no off-diagonal: 0/0 there)
        w = y.sqrt() * u_hypersphere
        eps = finfo(w.dtype).tiny
        diag_elems = (1 - (w**2).sum(-1)).clamp(min=eps).sqrt()
        return w + diag_elems.diag_embed()

    def log_prob(self, value: Any) -> Tensor:
        """sum_i (2 (concentration - 1) + dim - i) log L_ii - log of the normaliser."""
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = arange(2, self.dim + 1)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized_log_pdf = (order * diag_elems.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = alpha.lgamma() * dm1
        numerator = (alpha - 0.5).mvlgamma(dm1)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        normalize_term = pi_constant + numerator - denominator
        return unnormalized_log_pdf - normalize_term
