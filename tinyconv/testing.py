"""`tinyconv.testing.assert_close`: PyTorch's `torch.testing.assert_close`, its default
tolerances per dtype and the shape of its error messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._dtype import dtype_name
from ._errors import TensorValueError
from .tensor import Tensor

__all__ = ["assert_close"]

# (rtol, atol) PyTorch uses when neither is given; other dtypes (integers, bool) compare exactly
_DEFAULT_TOLERANCES = {
    np.dtype(np.float16): (1e-3, 1e-5),
    np.dtype(np.float32): (1.3e-6, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-7),
}


def _tolerances(dtypes: Sequence[np.dtype]) -> tuple:
    """The loosest default tolerance of the two dtypes, as PyTorch takes it."""
    tols = [_DEFAULT_TOLERANCES.get(d, (0.0, 0.0)) for d in dtypes]
    return max(t[0] for t in tols), max(t[1] for t in tols)


def assert_close(
    actual: Any,
    expected: Any,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: str | None = None,
) -> None:
    """Raise AssertionError unless `actual` and `expected` are close: |a - e| <= atol + rtol * |e|
    elementwise, with the same shape and (check_dtype) dtype. Tensors, Python numbers, and
    sequences or mappings of them (compared item by item) are accepted."""
    if (rtol is None) != (atol is None):
        raise TensorValueError(
            "Both 'rtol' and 'atol' must be either specified or omitted, but got no "
            f"{'atol' if atol is None else 'rtol'}."
        )
    if not allow_subclasses:
        _same_types(actual, expected)
    _compare(actual, expected, rtol, atol, equal_nan, check_dtype, msg, [])


def _same_types(actual: Any, expected: Any) -> None:
    """allow_subclasses=False: Tensors (or arrays) paired with another type raise (a Parameter
    with a Tensor too), as PyTorch's pairs refuse them."""
    if isinstance(actual, (Mapping, list, tuple)) and type(actual) is type(expected):
        items = (
            zip(actual.values(), expected.values(), strict=False)
            if isinstance(actual, Mapping)
            else zip(actual, expected, strict=False)
        )
        for a, e in items:
            _same_types(a, e)
    elif isinstance(actual, (Tensor, np.ndarray)) and type(actual) is not type(expected):
        raise TypeError(
            f"No comparison pair was able to handle inputs of type {type(actual)} and "
            f"{type(expected)}."
        )


def _compare(
    actual: Any,
    expected: Any,
    rtol: Any,
    atol: Any,
    equal_nan: bool,
    check_dtype: bool,
    msg: Any,
    path: list,
) -> None:
    numbers = (int, float, bool, np.number, np.bool_)
    if isinstance(actual, np.ndarray) and type(actual) is type(expected):
        # two NumPy arrays compare as the tensors torch.as_tensor makes of them (an array and
        # a Tensor do not: PyTorch refuses the mixed pair)
        actual, expected = Tensor._make(actual, None, False), Tensor._make(expected, None, False)
    if isinstance(actual, Tensor) and isinstance(expected, Tensor):
        _compare_tensors(actual, expected, rtol, atol, equal_nan, check_dtype, msg, path)
    elif (
        isinstance(actual, numbers)
        and isinstance(expected, numbers)
        and not (isinstance(actual, Tensor) or isinstance(expected, Tensor))
    ):
        if check_dtype and type(actual) is not type(expected):
            _fail(
                f"The values for attribute 'dtype' do not match: {type(actual).__name__} != "
                f"{type(expected).__name__}.",
                msg,
                path,
            )
        a = np.asarray(actual, dtype=np.float64 if isinstance(actual, float) else None)
        e = np.asarray(expected, dtype=a.dtype if isinstance(actual, float) else None)
        dt = np.dtype(np.float64) if isinstance(actual, (float, np.floating)) else a.dtype
        r, t = (rtol, atol) if rtol is not None else _tolerances([dt])
        _check_values(a, e, r, t, equal_nan, msg, path, scalar=True)
    elif isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            _fail(
                f"The keys of the mappings do not match:\nactual: {sorted(map(repr, actual))}\n"
                f"expected: {sorted(map(repr, expected))}",
                msg,
                path,
            )
        for k in expected:
            _compare(
                actual[k], expected[k], rtol, atol, equal_nan, check_dtype, msg, [*path, repr(k)]
            )
    elif (
        isinstance(actual, Sequence)
        and isinstance(expected, Sequence)
        and not isinstance(actual, str)
        and not isinstance(expected, str)
    ):
        if len(actual) != len(expected):
            _fail(
                f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", msg, path
            )
        for i, (a, e) in enumerate(zip(actual, expected, strict=False)):
            _compare(a, e, rtol, atol, equal_nan, check_dtype, msg, [*path, str(i)])
    else:
        raise TypeError(
            f"No comparison pair was able to handle inputs of type {type(actual)} and "
            f"{type(expected)}."
        )


def _compare_tensors(
    actual: Tensor,
    expected: Tensor,
    rtol: Any,
    atol: Any,
    equal_nan: bool,
    check_dtype: bool,
    msg: Any,
    path: list,
) -> None:
    a, e = actual._data, expected._data
    if a.shape != e.shape:
        _fail(
            f"The values for attribute 'shape' do not match: {actual.shape} != {expected.shape}.",
            msg,
            path,
        )
    if check_dtype and a.dtype != e.dtype:
        _fail(
            f"The values for attribute 'dtype' do not match: {dtype_name(a.dtype)} != "
            f"{dtype_name(e.dtype)}.",
            msg,
            path,
        )
    r, t = (rtol, atol) if rtol is not None else _tolerances([a.dtype, e.dtype])
    _check_values(a, e, r, t, equal_nan, msg, path, scalar=a.ndim == 0 and a.size == 1)


def _check_values(
    a: np.ndarray,
    e: np.ndarray,
    rtol: float,
    atol: float,
    equal_nan: bool,
    msg: Any,
    path: list,
    scalar: bool,
) -> None:
    exact = a.dtype.kind in "iub" and e.dtype.kind in "iub" and rtol == 0 and atol == 0
    # compare in float64 (integers exactly), as PyTorch upcasts before taking differences
    af = a.astype(np.int64) if exact else a.astype(np.float64)
    ef = e.astype(np.int64) if exact else e.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        close = (
            np.isclose(af, ef, rtol=rtol, atol=atol, equal_nan=equal_nan) if not exact else af == ef
        )
        if np.all(close):
            return
        abs_diff = np.abs(af - ef)
        rel_diff = abs_diff / np.abs(ef.astype(np.float64))
    abs_diff = np.where(close, 0, abs_diff)
    rel_diff = np.where(close, 0, rel_diff)
    # PyTorch's message says "equal" and leaves the tolerances out when both are 0
    equality = rtol == 0 and atol == 0
    equal = "equal" if equality else "close"
    if scalar:
        text = (
            f"Scalars are not {equal}!\n\nExpected {ef.item()} but got {af.item()}.\n"
            f"Absolute difference: {abs_diff.item()}"
            + ("" if equality else f" (up to {atol} allowed)")
            + "\n"
            f"Relative difference: {rel_diff.item()}"
            + ("" if equality else f" (up to {rtol} allowed)")
        )
    else:
        n_bad = int(np.sum(~close))
        # PyTorch's differences here are taken in the tensors' dtype (integers: int64, their
        # ratio in the default float dtype), so its message prints those roundings
        if a.dtype.kind == "f" or e.dtype.kind == "f":
            common = np.result_type(a.dtype, e.dtype)
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                abs_diff = np.abs(a.astype(common) - e.astype(common))
                rel_diff = abs_diff / np.abs(e.astype(common))
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                abs_diff = np.abs(a.astype(np.int64) - e.astype(np.int64))
                rel_diff = (abs_diff / np.abs(e.astype(np.int64))).astype(np.float32)
        abs_diff = np.where(close, 0, abs_diff)
        rel_diff = np.where(close, 0, rel_diff)
        ia = np.unravel_index(
            int(np.argmax(np.where(np.isnan(abs_diff), np.inf, abs_diff))), a.shape
        )
        ir = np.unravel_index(
            int(np.argmax(np.where(np.isnan(rel_diff), np.inf, rel_diff))), a.shape
        )
        text = (
            f"Tensor-likes are not {equal}!\n\nMismatched elements: {n_bad} / {a.size} "
            f"({100 * n_bad / a.size:.1f}%)\n"
            f"Greatest absolute difference: {abs_diff[ia].item()} at index "
            f"{tuple(int(i) for i in ia)}" + ("" if equality else f" (up to {atol} allowed)") + "\n"
            f"Greatest relative difference: {rel_diff[ir].item()} at index "
            f"{tuple(int(i) for i in ir)}" + ("" if equality else f" (up to {rtol} allowed)")
        )
    _fail(text, msg, path)


def _fail(text: str, msg: Any, path: list) -> None:
    if msg is not None:
        text = msg(text) if callable(msg) else msg
    elif path:
        text += "\n\nThe failure occurred for item " + "".join(f"[{p}]" for p in path)
    raise AssertionError(text)
