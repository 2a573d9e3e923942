"""dtypes: NumPy's own dtype objects under PyTorch's names, and PyTorch's promotion rules."""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np


class DType:
    """A tinyconv dtype (`tinyconv.dtype`): NumPy's dtype under PyTorch's name.

    It prints as PyTorch's do (`tinyconv.float32`), compares equal to the NumPy dtype it
    stands for (and hashes the same, so either finds the other in a dict), and NumPy accepts
    it wherever a dtype goes (`np.zeros(3, dtype=tinyconv.float32)`: NumPy reads `.dtype`).
    NumPy's attributes (`kind`, `itemsize`, `type`, ...) pass through; PyTorch's
    `is_floating_point`, `is_signed` and `is_complex` are there too. One object per dtype, so
    `t.dtype is tinyconv.float32` holds as in PyTorch.

    NumPy converts one of these about 1 us slower than its own dtype, so tinyconv's own code
    hands NumPy `tensor._data.dtype` (or as_dtype(...)), not `tensor.dtype`.
    """

    __slots__ = ("_np", "_name")

    def __init__(self, np_dtype: np.dtype, name: str) -> None:
        self._np = np_dtype
        self._name = name

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype (NumPy's protocol for objects that stand for a dtype)."""
        return self._np

    @property
    def is_floating_point(self) -> builtins.bool:
        return self._np.kind == "f"

    @property
    def is_complex(self) -> builtins.bool:
        return self._np.kind == "c"

    @property
    def is_signed(self) -> builtins.bool:
        return self._np.kind in "fic"

    @property
    def itemsize(self) -> builtins.int:
        return self._np.itemsize

    def __getattr__(self, name: str) -> Any:
        # (only for names not found above: kind, char, type, ... of the NumPy dtype)
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._np, name)

    def __repr__(self) -> str:
        return "tinyconv." + self._name

    __str__ = __repr__

    def __eq__(self, other: object) -> builtins.bool:
        if type(other) is DType:
            return self is other
        if isinstance(other, np.dtype) or (
            isinstance(other, type) and issubclass(other, np.generic)
        ):
            return self._np == other
        return NotImplemented

    def __ne__(self, other: object) -> builtins.bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> builtins.int:
        return hash(self._np)

    def __reduce__(self) -> tuple:
        return (_by_name, (self._name,))  # a copy or a pickle is the same object again


float16 = half = DType(np.dtype(np.float16), "float16")
float32 = float = DType(np.dtype(np.float32), "float32")
float64 = double = DType(np.dtype(np.float64), "float64")
uint8 = DType(np.dtype(np.uint8), "uint8")
int8 = DType(np.dtype(np.int8), "int8")
int16 = short = DType(np.dtype(np.int16), "int16")
int32 = int = DType(np.dtype(np.int32), "int32")
int64 = long = DType(np.dtype(np.int64), "int64")
bool = DType(np.dtype(np.bool_), "bool")


class _Absent(DType):
    """A PyTorch dtype tinyconv has no NumPy type for (bfloat16): it can be named, compared and
    printed, as scripts do in their config tables (nanoGPT's `{'bfloat16': torch.bfloat16, ...}`),
    and any attempt to make a tensor of it raises TypeError."""

    __slots__ = ()

    def __init__(self, name: str) -> None:
        super().__init__(None, name)

    @property
    def dtype(self) -> np.dtype:
        # (NumPy reads `.dtype` of what it is given as a dtype: np.zeros(3, dtype=bfloat16))
        raise TypeError(absent_message(self))

    is_floating_point = True
    is_complex = False
    is_signed = True
    itemsize = 2

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)

    def __hash__(self) -> builtins.int:
        return hash(self._name)


def absent_message(d: _Absent) -> str:
    return f"dtype: tinyconv has no {d._name} (NumPy has no such type); use float32 or float16"


bfloat16 = _Absent("bfloat16")


_ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool)
# NumPy dtype -> its name (a DType finds its entry too: same hash, equal)
_NAMES = {d._np: d._name for d in _ALL}
_WRAP = {d._np: d for d in _ALL}  # NumPy dtype -> the tinyconv dtype standing for it


def _by_name(name: str) -> DType:
    return globals()[name]


def public(d: np.dtype) -> Any:
    """The tinyconv dtype standing for NumPy dtype `d` (what `Tensor.dtype` returns)."""
    return _WRAP.get(d, d)


_default_float = float32._np  # (a NumPy dtype: what the kernels use)


def get_default_dtype() -> np.dtype:
    """The dtype of floats made from Python numbers (float32, as in PyTorch), as the NumPy
    dtype the kernels use (tinyconv.get_default_dtype() gives the tinyconv dtype)."""
    return _default_float


def public_default_dtype() -> DType:
    """tinyconv.get_default_dtype(): the default float dtype as a tinyconv dtype."""
    return _WRAP[_default_float]


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
    if type(dtype) is DType:
        return dtype._np
    if type(dtype) is _Absent:
        raise TypeError(absent_message(dtype))
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
    if type(d) is DType:
        d = d._np
    if d not in _NAMES:
        raise TypeError(
            f"dtype: {d} is not supported by tinyconv (use one of {sorted(_NAMES.values())})"
        )
    return d


def dtype_name(dtype: np.dtype) -> str:
    """`tinyconv.float32`, as PyTorch prints `torch.float32`."""
    return "tinyconv." + _NAMES.get(dtype, str(dtype))


# PyTorch's scalar type names, which its dtype errors print ("... not implemented for 'Long'")
_SCALAR_TYPE_NAMES = {
    "bool": "Bool",
    "uint8": "Byte",
    "int8": "Char",
    "int16": "Short",
    "int32": "Int",
    "int64": "Long",
    "float16": "Half",
    "float32": "Float",
    "float64": "Double",
    "bfloat16": "BFloat16",
    "uint16": "UInt16",
    "uint32": "UInt32",
    "uint64": "UInt64",
}


def scalar_type_name(dtype: np.dtype) -> str:
    """PyTorch's scalar type name of ``dtype`` (``'Long'`` for int64), as its errors say it."""
    name = dtype_name(np.dtype(dtype)).rsplit(".", 1)[-1]
    return _SCALAR_TYPE_NAMES.get(name, name)


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


def can_cast(src: np.dtype, dst: np.dtype) -> builtins.bool:
    """PyTorch's rule for writing a result of dtype src into a tensor of dtype dst (in-place
    ops, out=): never down a category (float to integer, integer to bool); within one, any
    cast, so int16 into uint8 is allowed (NumPy's "same_kind" refuses signed to unsigned)."""
    return _CATEGORY.get(src.kind, 3) <= _CATEGORY.get(dst.kind, 3)  # (3: complex)


def promote_types(*dtypes: np.dtype) -> np.dtype:
    """PyTorch's promotion of dtypes alone (cat, stack): by category first, so int64 with
    float32 gives float32 (NumPy would give float64), then NumPy's rule within the category."""
    cat = max(_CATEGORY[d.kind] for d in dtypes)
    return np.result_type(*[d for d in dtypes if _CATEGORY[d.kind] == cat])


# -- PyTorch's overflow check when numbers are stored into a dtype ----------------------------
# PyTorch refuses to store a Python number (or a NumPy scalar, or the numbers of a nested list)
# that the dtype cannot hold: tensor([300], dtype=uint8), full(..., 300, dtype=uint8), fill_,
# masked_fill, index_fill, x[i] = 300 raise "value cannot be converted to type uint8 without
# overflow". Arrays and tensors converted as a whole wrap silently, as do results of arithmetic.
# Its rule: an integer fits a signed dtype within [min, max], an unsigned one within
# [-max, max] (-1 is 255 in uint8, two's complement); a float fits an integer dtype when it is
# finite and within [min, max] (before truncation: 255.5 does not fit uint8); a finite float
# fits a float dtype within its range (a scalar only: nested lists round to inf). Bools fit all.


# PyTorch's argument parser takes a Python int as a C int64 or uint64: beyond both it raises
# OverflowError before any op runs (x + 2**64, x.fill_(2**64)), where NumPy would make it a
# float or wrap it.
_PY_INT_LOW, _PY_INT_HIGH = -(1 << 63), (1 << 64) - 1


def check_py_int(value: Any) -> None:
    """Raise PyTorch's OverflowError for a Python int outside [-2**63, 2**64 - 1]."""
    if type(value) is builtins.int and not _PY_INT_LOW <= value <= _PY_INT_HIGH:
        if value < 0:
            raise OverflowError("can't convert negative int to unsigned")
        raise OverflowError("int too big to convert")


def _overflow(value: Any, dtype: np.dtype, what: str) -> RuntimeError:
    return RuntimeError(
        f"{what}: value {value!r} cannot be converted to type {dtype.name} without overflow"
    )


def fit_number(value: Any, dtype: np.dtype, what: str, int_to_float: bool = False) -> Any:
    """`value` (a Python or NumPy number) checked by PyTorch's rule above for storing into
    `dtype`; returned ready for NumPy (a negative int for an unsigned dtype wrapped).
    `int_to_float`: an int must fit a float dtype too (clamp, where, full and fill_ check it:
    70000 does not fit float16)."""
    check_py_int(value)
    if isinstance(value, (builtins.bool, np.bool_)) or dtype.kind == "b":
        return value
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if isinstance(value, (builtins.int, np.integer)):
            v = builtins.int(value)
            low = -builtins.int(info.max) if dtype.kind == "u" else builtins.int(info.min)
            if not low <= v <= info.max:
                raise _overflow(value, dtype, what)
            return v % (builtins.int(info.max) + 1) if v < 0 and dtype.kind == "u" else v
        if isinstance(value, (builtins.float, np.floating)):
            v = builtins.float(value)
            if not (math.isfinite(v) and info.min <= v <= info.max):
                raise _overflow(value, dtype, what)
        return value
    number = (
        (builtins.float, np.floating, builtins.int, np.integer)
        if int_to_float
        else (
            builtins.float,
            np.floating,
        )
    )
    if dtype.kind == "f" and isinstance(value, number):
        v = builtins.float(value)
        if math.isfinite(v) and builtins.abs(v) > builtins.float(np.finfo(dtype).max):
            raise _overflow(value, dtype, what)
    return value


def fit_scalar_arg(value: Any, dtype: np.dtype, what: str, opmath: bool = False) -> Any:
    """A number argument of an op (addcmul's value, lerp's weight, addmm's beta and alpha,
    index_add's alpha, hardtanh's bounds) checked by fit_number's rule against the dtype
    PyTorch's kernel converts it to, and returned ready for NumPy. `opmath`: the kernel
    computes float16 in float32 and takes the number as a float32 (addcmul(half, ...,
    value=70000) is fine, 1e40 is not); else the number must fit `dtype` itself."""
    if opmath and dtype == np.float16:
        dtype = np.dtype(np.float32)
    return fit_number(value, dtype, what, int_to_float=True)


def check_numbers_fit(arr: np.ndarray, dtype: np.dtype, what: str) -> None:
    """The numbers of a nested list (as the array NumPy made of them) checked by PyTorch's rule
    for an integer `dtype` (the cast that follows wraps negative ints into unsigned ones)."""
    if dtype.kind not in "iu" or arr.size == 0 or arr.dtype.kind not in "iuf":
        return
    info = np.iinfo(dtype)
    lo, hi = arr.min(), arr.max()
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            bad = arr[~np.isfinite(arr)][0]
            raise _overflow(builtins.float(bad), dtype, what)
        low = builtins.float(info.min)
        bad = lo if lo < low else hi if hi > builtins.float(info.max) else None
    else:
        low = -builtins.int(info.max) if dtype.kind == "u" else builtins.int(info.min)
        bad = lo if builtins.int(lo) < low else hi if builtins.int(hi) > info.max else None
    if bad is not None:
        raise _overflow(bad.item(), dtype, what)
