"""dropout: zero elements with probability p, scale the rest by 1/(1-p), in training only."""

from __future__ import annotations

from ..._rng import _rng
from ...autograd.ops import Op
from ...tensor import Tensor
from ._checks import _check_tensor


class Dropout(Op):
    torch_name = "MulBackward0"

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.mask, None


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (training only)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be between 0 and 1, got {p}")
    _check_tensor(input, "input", "dropout")
    if not training or p == 0:
        return input
    keep = _rng().random(input.shape) >= p
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    return Dropout.apply(input, (keep * scale).astype(input.dtype))
