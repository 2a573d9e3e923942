"""IEEE arithmetic without NumPy's floating-point warnings, for tinyconv's own ops.

PyTorch's kernels compute inf - inf = nan, 1e38 * 10 = inf, sum([inf, -inf]) = nan
silently. NumPy computes the same values but also prints a RuntimeWarning ("invalid value
encountered in subtract", "overflow encountered in reduce") attributed to a line inside
tinyconv, which tells a learner nothing about their own code. So every op's forward and
the backward walk run with NumPy's error state set to "ignore": the values are NumPy's
(the IEEE ones, as PyTorch's), and the warnings are gone. The user's own NumPy code
outside tinyconv's ops keeps its error state.

NumPy keeps its error state in a context variable (per thread). ``np.errstate`` sets it
for a ``with`` block at ~1 us a time, about as much as a small op's whole forward, so
``quiet()``/``restore()`` set the variable directly (~0.2 us) where NumPy exposes it, and
fall back to ``np.errstate`` where it does not.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

try:  # NumPy >= 2: the error state is a ContextVar holding an "extobj"
    from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj

    # quiet() turns NumPy's floating-point warnings off and returns the token for
    # restore(token), which puts back the error state it replaced. (The ContextVar's own C
    # methods, without a Python function around them: 0.48 against 0.62 us a pair.)
    quiet = functools.partial(_extobj_contextvar.set, _make_extobj(all="ignore"))
    restore = _extobj_contextvar.reset

except (ImportError, AttributeError, TypeError):  # pragma: no cover - other NumPy versions

    def quiet() -> Any:
        state = np.errstate(all="ignore")
        state.__enter__()
        return state

    def restore(token: Any) -> None:
        token.__exit__(None, None, None)


def quietly(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn`` run with NumPy's floating-point warnings off (for once-per-call entry points,
    such as the backward walk; per-op code calls ``quiet``/``restore`` inline)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> T:
        token = quiet()
        try:
            return fn(*args, **kwargs)
        finally:
            restore(token)

    return run
