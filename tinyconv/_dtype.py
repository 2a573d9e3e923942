"""dtypes: NumPy's own dtype objects under PyTorch's names, and PyTorch's promotion rules."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)

_NAMES = {
    float16: "float16",
    float32: "float32",
    float64: "float64",
    uint8: "uint8",
    int8: "int8",
    int16: "int16",
    int32: "int32",
    int64: "int64",
    bool: "bool",
}
_default_float = float32


def get_default_dtype() -> np.dtype:
    """The dtype of floats made from Python numbers (float32, as in PyTorch)."""
    return _default_float


def set_default_dtype(dtype: Any) -> None:
    """Set the default float dtype (float32 or float64)."""
    global _default_float
    d = as_dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {dtype_name(d)}")
    _default_float = d


def as_dtype(dtype: Any) -> np.dtype:
    """Turn a dtype spec (tinyconv.float32, np.float64, Python float/int/bool, 'float32') into an
    np.dtype."""
    if isinstance(dtype, np.dtype):
        d = dtype
    elif dtype is builtins.float:  # PyTorch: dtype=float means float64
        d = float64
    elif dtype is builtins.int:
        d = int64
    elif dtype is builtins.bool:
        d = bool
    else:
        try:
            d = np.dtype(dtype)
        except TypeError:
            raise TypeError(
                f"dtype: expected a tinyconv dtype such as tinyconv.float32, got {dtype!r}"
            ) from None
    if d not in _NAMES:
        raise TypeError(
            f"dtype: {d} is not supported by tinyconv (use one of {sorted(_NAMES.values())})"
        )
    return d


def dtype_name(dtype: np.dtype) -> str:
    """`tinyconv.float32`, as PyTorch prints `torch.float32`."""
    return "tinyconv." + _NAMES.get(dtype, str(dtype))


def is_floating(dtype: np.dtype) -> builtins.bool:
    return dtype.kind == "f"


# PyTorch promotes by category first (bool < integer < floating), then, within
# the winning category, dimensioned tensors outrank 0-d tensors, which outrank
# Python scalars. A Python float meeting an integer tensor gives the default
# float dtype (float32), where NumPy would give float64.
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def _rank(x: Any) -> tuple:
    """(category, priority, dtype) of one operand: a dimensioned array has priority 2, a 0-d
    array 1, a Python (or NumPy) scalar 0, standing for its category's default dtype."""
    if isinstance(x, np.ndarray):
        return _CATEGORY[x.dtype.kind], 2 if x.ndim else 1, x.dtype
    if isinstance(x, (builtins.bool, np.bool_)):
        d = bool
    elif isinstance(x, (builtins.int, np.integer)):
        d = int64
    elif isinstance(x, (builtins.float, np.floating)):
        d = _default_float
    else:
        raise TypeError(
            f"result_type: expected an array or a Python number, got {type(x).__name__}"
        )
    return _CATEGORY[d.kind], 0, d


def result_type(*operands: Any) -> np.dtype:
    """The dtype PyTorch gives an op on `operands` (np.ndarrays or Python scalars; None skipped).

    The highest category present wins (bool < integer < floating); among the operands of that
    category, only those of the highest priority (dimensioned > 0-d > Python scalar) take part,
    and their dtypes are promoted together (int32 with int64 gives int64, uint8 with int8 int16).
    So float32 `//` a 0-d float64 stays float32, int32 `|` a 0-d int64 stays int32, and an int
    tensor with a Python float gives the default float dtype.
    """
    ranked = [_rank(x) for x in operands if x is not None]
    cat = max(r[0] for r in ranked)
    top = [r for r in ranked if r[0] == cat]
    rank = max(r[1] for r in top)
    return np.result_type(*[r[2] for r in top if r[1] == rank])


def promote_types(*dtypes: np.dtype) -> np.dtype:
    """PyTorch's promotion of dtypes alone (cat, stack): by category first, so int64 with
    float32 gives float32 (NumPy would give float64), then NumPy's rule within the category."""
    cat = max(_CATEGORY[d.kind] for d in dtypes)
    return np.result_type(*[d for d in dtypes if _CATEGORY[d.kind] == cat])
