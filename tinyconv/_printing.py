"""How a Tensor prints: `tensor([...], dtype=..., grad_fn=<...>)` as PyTorch 2.13 prints it."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _dtype
from ._dtype import dtype_name


def format_tensor(t: Any) -> str:
    """repr(t): the values (at most 1000 shown), then dtype/grad_fn/requires_grad as PyTorch."""
    data = t._data
    extras = []
    if data.dtype.kind == "f":
        finite = data[np.isfinite(data)].astype(np.float64)  # (1e8 would overflow float16)
        integral = finite.size == 0 or np.all(finite == np.round(finite))
        big = finite.size and (
            np.abs(finite).max() >= 1e8 or 0 < np.abs(finite[finite != 0]).min(initial=1) < 1e-4
        )
        if big:
            one = "{:.4e}".format
        elif integral:

            def one(v: float) -> str:
                return f"{v:.0f}." if np.isfinite(v) else str(v)
        else:
            one = "{:.4f}".format
        width = max((len(one(v)) for v in data.ravel()[:1000]), default=0)
        fmt = {"float_kind": lambda v: one(v).rjust(width)}
        body = np.array2string(
            data, separator=", ", formatter=fmt, prefix="tensor(", threshold=1000, max_line_width=80
        )
    else:
        body = np.array2string(
            data, separator=", ", prefix="tensor(", threshold=1000, max_line_width=80
        )
    default = data.dtype in (_dtype.float32, _dtype.int64, _dtype.bool)
    if (not default or data.size == 0) and not (data.size == 0 and data.dtype == _dtype.float32):
        extras.append(f"dtype={dtype_name(data.dtype)}")
    if data.size == 0:
        body = "[]"
    node = t.grad_fn  # (the property first makes a view's history current, as _current did)
    if node is not None:
        extras.append(f"grad_fn=<{node.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
