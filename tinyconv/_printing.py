"""How a Tensor prints: `tensor([...], dtype=..., grad_fn=<...>)` as PyTorch 2.13 prints it.

The rules PyTorch follows, which this module reproduces:
- one formatter for the whole tensor, chosen from its nonzero finite values (of the elements
  shown, when a large tensor is summarised): integers print as `3.`, otherwise `precision`
  decimals, or scientific notation when the largest is more than 1000 times the smallest,
  above 1e8, or (non-integers) below 1e-4; every element is padded to the widest of those;
- a tensor of more than `threshold` elements is summarised: `edgeitems` from each end of
  every dim, `...` between;
- a row is wrapped to `linewidth` columns, as many elements per line as fit;
- dtype is shown unless it is the default float dtype, int64 or bool; an empty tensor shows
  its size (unless it is 1-D) and any dtype but the default float one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _dtype
from ._dtype import dtype_name
from ._errors import TensorValueError

_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}
OPTIONS = dict(_DEFAULTS)

_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set how tensors print (PyTorch's `torch.set_printoptions`): `profile` is 'default',
    'short' or 'full'; `sci_mode` True/False forces scientific notation on/off, None chooses."""
    if profile is not None:
        if profile not in _PROFILES:
            raise TensorValueError(
                f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}"
            )
        OPTIONS.update(_PROFILES[profile])
    for name, value in (
        ("precision", precision),
        ("threshold", threshold),
        ("edgeitems", edgeitems),
        ("linewidth", linewidth),
    ):
        if value is not None:
            OPTIONS[name] = value
    OPTIONS["sci_mode"] = sci_mode  # PyTorch resets it to None when not given


def get_printoptions() -> dict:
    """The current print options (a copy)."""
    return dict(OPTIONS)


class _Formatter:
    """Formats every element of one tensor the same way, padded to one width."""

    def __init__(self, shown: np.ndarray) -> None:
        self.floating = shown.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        prec = OPTIONS["precision"]
        if not self.floating:
            self.width = max((len(self._plain(v)) for v in shown.ravel().tolist()), default=1)
            return
        vals = shown.astype(np.float64).ravel()
        vals = vals[np.isfinite(vals) & (vals != 0)]
        if vals.size == 0:
            return
        absv = np.abs(vals)
        lo, hi = float(absv.min()), float(absv.max())
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        if self.int_mode:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8
        else:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        if OPTIONS["sci_mode"] is not None:
            self.sci_mode = OPTIONS["sci_mode"]
        if self.sci_mode:
            self.width = max(len(f"{v:.{prec}e}") for v in vals.tolist())
        elif self.int_mode:
            self.width = max(len(f"{v:.0f}") + 1 for v in vals.tolist())
        else:
            self.width = max(len(f"{v:.{prec}f}") for v in vals.tolist())

    @staticmethod
    def _plain(v: Any) -> str:
        return str(v)

    def format(self, v: Any) -> str:
        prec = OPTIONS["precision"]
        if self.floating:
            if self.sci_mode:
                s = f"{v:.{prec}e}"
            elif self.int_mode:
                s = f"{v:.0f}"
                if math.isfinite(v):
                    s += "."
            else:
                s = f"{v:.{prec}f}"
        else:
            s = str(v)
        return s.rjust(self.width)


def _summarized(data: np.ndarray) -> np.ndarray:
    """The elements a summarised print shows (edgeitems from each end of every dim)."""
    e = OPTIONS["edgeitems"]
    if data.ndim == 0:
        return data
    n = data.shape[0]  # (data[n - e:], not data[-e:], which is all of it when e is 0)
    if data.ndim == 1:
        return np.concatenate([data[:e], data[n - e :]]) if n > 2 * e else data
    if not e:
        return data[(slice(0, 0),) * data.ndim]
    if n > 2 * e:
        rows = [_summarized(r) for r in data[:e]] + [_summarized(r) for r in data[n - e :]]
    else:
        rows = [_summarized(r) for r in data]
    return np.stack(rows)


def _vector(data: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    e = OPTIONS["edgeitems"]
    per_line = max(1, int(math.floor((OPTIONS["linewidth"] - indent) / (fmt.width + 2))))
    n = data.shape[0]
    if summarize and not e:
        items = ["..."]  # (PyTorch's, without the leading space)
    elif summarize and n > 2 * e:
        items = (
            [fmt.format(v) for v in data[:e].tolist()]
            + [" ..."]
            + [fmt.format(v) for v in data[n - e :].tolist()]
        )
    else:
        items = [fmt.format(v) for v in data.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _body(data: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if data.ndim == 0:
        return fmt.format(data.item())
    if data.ndim == 1:
        return _vector(data, indent, summarize, fmt)
    e = OPTIONS["edgeitems"]
    n = data.shape[0]
    if summarize and n > 2 * e:
        rows = (
            [_body(r, indent + 1, summarize, fmt) for r in data[:e]]
            + ["..."]
            + [_body(r, indent + 1, summarize, fmt) for r in data[n - e :]]
        )
    else:
        rows = [_body(r, indent + 1, summarize, fmt) for r in data]
    return "[" + ("," + "\n" * (data.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def format_tensor(t: Any) -> str:
    """repr(t): the values, then dtype/grad_fn/requires_grad as PyTorch shows them."""
    data = t._data
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    default_float = _dtype.get_default_dtype()
    if data.size == 0:
        if data.ndim != 1:
            suffixes.append(f"size={tuple(data.shape)}")
        if data.dtype != default_float:
            suffixes.append(f"dtype={dtype_name(data.dtype)}")
        body = "[]"
    else:
        if not OPTIONS["edgeitems"]:  # (PyTorch shows the size then, summarised or not)
            suffixes.append(f"size={tuple(data.shape)}")
        if data.dtype not in (default_float, _dtype.int64, _dtype.bool):
            suffixes.append(f"dtype={dtype_name(data.dtype)}")
        summarize = data.size > OPTIONS["threshold"]
        fmt = _Formatter(_summarized(data) if summarize else data)
        body = _body(data, indent, summarize, fmt)
    node = t.grad_fn  # (the property first makes a view's history current)
    if node is not None:
        suffixes.append(f"grad_fn=<{node.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    out = prefix + body
    # (PyTorch measures the last line this way, one more than its length when it is the
    # first line; kept so suffixes wrap where PyTorch wraps them)
    last = len(out) - out.rfind("\n") + 1
    for s in suffixes:
        # (measured as PyTorch's `torch.` names, so lines wrap where PyTorch's wrap)
        n = len(s.replace("tinyconv.", "torch."))
        if last + n + 2 > OPTIONS["linewidth"]:
            out += ",\n" + " " * indent + s
            last = indent + n
        else:
            out += ", " + s
            last += n + 2
    return out + ")"


def return_type_repr(name: str) -> Any:
    """A __repr__ for a named result (a namedtuple) that prints as PyTorch prints its
    torch.return_types.<name>: the type's name, then one `field=value` per line."""

    def __repr__(self: Any) -> str:
        fields = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self, strict=True))
        return f"tinyconv.return_types.{name}(\n{fields})"

    return __repr__
