"""torch.distributions.half_normal's import path (tinyconv keeps HalfNormal beside LogNormal)."""

from .log_normal import HalfNormal

__all__ = ["HalfNormal"]
