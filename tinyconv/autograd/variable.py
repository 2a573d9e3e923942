"""`Variable`, PyTorch's pre-0.4 wrapper of a tensor, kept for the old code that still calls
it: `Variable(t, requires_grad=True)` is a new leaf tensor sharing t's data (as PyTorch's),
and every Tensor is an instance of Variable."""

from __future__ import annotations

import warnings
from typing import Any

from ..tensor import Tensor


class _VariableMeta(type):
    def __instancecheck__(cls, other: Any) -> bool:
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):
    """Variable(data, requires_grad=False, volatile=False) -> a leaf Tensor sharing data's
    memory (detached from data's graph), requiring grad if asked."""

    def __new__(  # type: ignore[misc]
        cls, data: Any = None, requires_grad: bool = False, volatile: bool = False
    ) -> Tensor:
        if volatile:
            warnings.warn(
                "volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                UserWarning,
                stacklevel=2,
            )
        if data is None:  # (PyTorch's Variable() is an empty float tensor)
            data = Tensor([])
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        out = data.detach()
        if requires_grad:
            out.requires_grad_(True)
        return out
