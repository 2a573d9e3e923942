"""Anomaly detection: find the op whose backward produced NaN, and where it was made.

    with tinyconv.autograd.detect_anomaly():
        loss = model(x).log().sum()
        loss.backward()   # RuntimeError: LogBackward0 returned nan ... created at train.py:12

While anomaly mode is on, two things happen, and neither costs anything when it is off:

1. `Function.apply` calls `_remember_creation(ctx)` for every node it records, which
   walks up the Python stack to the first frame outside tinyconv (the user's line that
   made the op) and stores file, line and function name on the node, as plain strings
   (no frame objects, so nothing is kept alive and no reference cycle is made).
2. With `check_nan=True` (the default), an observer on the engine (`engine.observers`)
   looks at the gradients each node's backward returns and raises a RuntimeError naming
   the node and its creation line as soon as one of them holds NaN. An inf passes, as in
   PyTorch (sqrt'(0) is a legitimate inf; only NaN is flagged there).

When anomaly mode is off, `Function.apply` sees `record_hook is None` and the engine's
observer list holds no anomaly observer.
"""

from __future__ import annotations

import functools
import linecache
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from . import engine, function

F = TypeVar("F", bound=Callable[..., Any])

_enabled = False
_check_nan = True

# Frames inside this folder are tinyconv's own; the creation site is the first frame outside it.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_MAX_FRAMES = 8  # user frames kept per node (innermost first)


def is_anomaly_enabled() -> bool:
    """True while anomaly detection is on."""
    return _enabled


def is_anomaly_check_nan_enabled() -> bool:
    """True while anomaly detection is on and checks gradients for NaN."""
    return _enabled and _check_nan


def _set(enabled: bool, check_nan: bool) -> None:
    global _enabled, _check_nan
    _enabled, _check_nan = bool(enabled), bool(check_nan)
    function.record_hook = _remember_creation if _enabled else None
    if _check_finite in engine.observers:
        engine.observers.remove(_check_finite)
    if _enabled and _check_nan:
        engine.observers.append(_check_finite)


class set_detect_anomaly:
    """Turn anomaly detection on or off; as a context manager, restore the old state on exit.

    `set_detect_anomaly(True)` on its own switches it on for good (until switched off).
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_detect_anomaly: mode must be a bool, got {type(mode).__name__}")
        self.prev = (_enabled, _check_nan)
        _set(mode, check_nan)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        _set(*self.prev)


class detect_anomaly:
    """Context manager / decorator: anomaly detection on inside, restored on exit.

    check_nan=True (the default) raises as soon as a backward returns NaN;
    check_nan=False only records where each op was created (shown in in-place errors).
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self.prev: list = []
        warnings.warn(  # (PyTorch's warning, when the context is made)
            "Anomaly Detection has been enabled. This mode will increase the runtime and should "
            "only be enabled for debugging.",
            UserWarning,
            stacklevel=2,
        )

    def __enter__(self) -> None:
        self.prev.append((_enabled, _check_nan))
        _set(True, self.check_nan)

    def __exit__(self, *exc: object) -> None:
        _set(*self.prev.pop())

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


# -- forward: remember where each node was made ----------------------------------------------


def _remember_creation(ctx: Any) -> None:
    """Store the user's stack (file, line, function), innermost first, on the new node."""
    frame = sys._getframe(2)  # 0: here, 1: Function.apply, 2: whoever called apply
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    stack = []
    while frame is not None and len(stack) < _MAX_FRAMES:
        code = frame.f_code
        stack.append((code.co_filename, frame.f_lineno, code.co_name))
        frame = frame.f_back
    ctx._creation = tuple(stack)


def creation_site(node: Any) -> str:
    """`file:line, in function:\\n    source line` for a node made in anomaly mode, else ''."""
    stack = getattr(node, "_creation", None)
    if not stack:
        return ""
    filename, lineno, name = stack[0]
    text = f"{filename}:{lineno}, in {name}"
    source = linecache.getline(filename, lineno).strip()
    return text + (f":\n    {source}" if source else "")


def _describe(node: Any) -> str:
    where = creation_site(node)
    if where:
        return f"The op was created at {where}"
    return (
        "Where the op was created is unknown: it was created before anomaly detection was "
        "turned on (or by x[...] = ...); create it inside detect_anomaly() to see the line"
    )


# -- backward: check every gradient a node returns ------------------------------------------


def _bad(g: Any) -> str:
    """'nan' or '' for a gradient (PyTorch's check: inf is not an anomaly)."""
    if g is None:
        return ""
    arr = np.asarray(g)
    if arr.dtype.kind not in "fc" or not np.isnan(arr).any():
        return ""
    return "nan"


def _check_finite(node: Any, grad_output: Any, grads: tuple) -> None:
    """Engine observer: raise if `node`'s backward returned NaN."""
    for i, g in enumerate(grads):
        kind = _bad(g)
        if not kind:
            continue
        shape = tuple(np.shape(g))
        received = _bad(grad_output)
        if received:
            cause = (
                f"The gradient arriving at its output was already {received} (shape "
                f"{tuple(np.shape(grad_output))}): the seed passed to backward() was not finite, "
                "or the gradients from the op's consumers overflowed when summed."
            )
        else:
            cause = "The gradient arriving at its output was finite, so this op's backward made it."
        raise RuntimeError(
            f"detect_anomaly: {node.name()} returned {kind} values in the gradient for its input "
            f"{i} (shape {shape}).\n{_describe(node)}\n{cause}"
        )
