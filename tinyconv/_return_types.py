"""PyTorch's named results (`torch.return_types.max` and kin): `torch.max(x, 1)` gives a tuple
whose fields are named (`values`, `indices`) and which prints as

    torch.return_types.max(
    values=tensor([...]),
    indices=tensor([...]))

The ops build their results as plain namedtuples (ValuesIndices, SortResult, ...); the public
Tensor methods hand them out as the class named after the op (tensor.py wraps them), so
`print(x.max(1))` and `type(r).__name__` read as PyTorch's. Engine level: stdlib only.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any


class _types:
    """Holds every class made here, so pickle finds one by its qualified name."""


def _make(name: str, fields: tuple) -> type:
    base = namedtuple(name, fields)

    def __repr__(self: Any) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self, strict=True))
        return f"tinyconv.return_types.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__})
    cls.__module__ = __name__
    cls.__qualname__ = f"_types.{name}"
    setattr(_types, name, cls)
    return cls


def named(name: str, value: tuple) -> tuple:
    """`value` (a namedtuple) as the op `name`'s result type: same fields, PyTorch's repr."""
    cls = getattr(_types, name, None)
    if cls is None or cls._fields != value._fields:
        cls = _make(name, value._fields)
    return cls(*value)
