"""float16 arithmetic as PyTorch's CPU kernels do it: in float32, rounded once at the end.

PyTorch's CPU kernels for Half load each float16 number as a float32 (its "opmath" type),
evaluate the whole formula in float32 and round the result to float16 once. NumPy runs a
float16 formula ufunc by ufunc, rounding every intermediate to float16, which loses digits
wherever a step cancels: 0.5 x (1 + erf(x / sqrt 2)) at x = -3.67 is 0 in float16 steps
and -0.000442 in PyTorch's. `opmath(fn, *args)` runs `fn` on float32 copies of the float16
arrays and rounds what it returns to float16 once; for any other dtype it is just fn(*args).

It is for ops whose PyTorch kernel is one fused loop (gelu, lerp, layer_norm, upsampling,
the fused backward kernels). A composite op, which PyTorch builds from several kernels,
rounds after each of them, so it stays as several tinyconv ops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

HALF = np.dtype(np.float16)
_WIDE = np.dtype(np.float32)


def is_half(*args: Any) -> bool:
    """Whether an array argument is float16 and none is of a wider float dtype (mixed with
    float32 or float64, NumPy promotes float16 away and there is nothing to round back)."""
    half = False
    for a in args:
        # (type() and the dtype's letter: this runs on a float32 op's every call, 0.3 us)
        if type(a) is np.ndarray or isinstance(a, np.generic):
            letter = a.dtype.char
            if letter == "e":  # float16
                half = True
            elif letter in "fdg":  # a wider float
                return False
    return half


def widen(a: Any) -> Any:
    """a float16 array as float32; anything else as it is."""
    if isinstance(a, (np.ndarray, np.generic)) and a.dtype == HALF:
        return a.astype(_WIDE)
    return a


def narrow(out: Any) -> Any:
    """float32 results (an array, or a tuple or list of them) rounded to float16."""
    if isinstance(out, (tuple, list)):
        return type(out)(narrow(o) for o in out)
    if isinstance(out, (np.ndarray, np.generic)) and out.dtype == _WIDE:
        return np.asarray(out).astype(HALF)
    return out


def opmath(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs), float16 arrays computed in float32 and the results rounded once.

    fn must give float32 results for float32 inputs (a float16 result is what NumPy's float16
    steps would give): its arrays come back as float16, other results (None, numbers, integer
    or boolean arrays) unchanged. Positional arguments only are widened."""
    if not is_half(*args):
        return fn(*args, **kwargs)
    return narrow(fn(*[widen(a) for a in args], **kwargs))


def mul_number(a: Any, number: float) -> Any:
    """a * number as PyTorch's kernel for a tensor times a number computes it: float16 in
    float32 with the number unrounded (NumPy would round the number to float16 first)."""
    if isinstance(number, np.generic):  # (a NumPy float64 would take float16 a along)
        number = number.item()
    return opmath(np.multiply, a, number)


def rsqrt(a: np.ndarray) -> np.ndarray:
    """1 / sqrt(a), float16 rounded once (PyTorch's rsqrt kernel)."""
    return opmath(lambda a: 1 / np.sqrt(a), a)
