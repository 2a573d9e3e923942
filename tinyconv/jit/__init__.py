"""`tinyconv.jit`: what model code written for PyTorch's TorchScript needs in order to run.

tinyconv has no compiler: every model runs eagerly, op by op, in Python. So this module
is a compatibility layer and says so:

- the decorators that only *mark* code for the TorchScript compiler (`unused`, `ignore`,
  `export`, `interface`, `_overload`, `_overload_method`, `script_if_tracing`) return what
  they decorate, unchanged;
- `is_scripting()` and `is_tracing()` are always False (code guarded by them takes its
  eager branch, which is the branch PyTorch takes outside TorchScript as well);
- `script` and `trace` return the module or function unchanged and warn (UserWarning)
  that nothing was compiled: the result computes the same numbers, but it is not a
  ScriptModule (no `.graph`, no `.code`, no `jit.save`).
- `Final` is `typing.Final`, as in PyTorch; `annotate(T, x)` returns x.
"""

from __future__ import annotations

import typing
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "Final",
    "annotate",
    "export",
    "ignore",
    "interface",
    "is_scripting",
    "is_tracing",
    "script",
    "script_if_tracing",
    "trace",
    "unused",
]

T = TypeVar("T")

Final = typing.Final


def _eager_warning(what: str) -> None:
    warnings.warn(
        f"tinyconv.jit.{what}: tinyconv runs eagerly and has no TorchScript compiler; "
        f"{what}() returns its argument unchanged (same numbers, but no graph, code or "
        "jit.save)",
        UserWarning,
        stacklevel=3,
    )


def script(
    obj: T, optimize: Any = None, _frames_up: int = 0, _rcb: Any = None, example_inputs: Any = None
) -> T:
    """Return `obj` (a Module, function or class) unchanged, with a UserWarning: nothing is
    compiled."""
    _eager_warning("script")
    return obj


def trace(func: T, example_inputs: Any = None, *args: Any, **kwargs: Any) -> T:
    """Return `func` (a Module or function) unchanged, with a UserWarning: nothing is traced
    and the example inputs are not run."""
    _eager_warning("trace")
    return func


def is_scripting() -> bool:
    """False: tinyconv code never runs inside the TorchScript compiler."""
    return False


def is_tracing() -> bool:
    """False: tinyconv never traces."""
    return False


def unused(fn: T) -> T:
    """Marks a method the compiler should skip; returns it unchanged."""
    return fn


def ignore(drop: Any = False, **kwargs: Any) -> Any:
    """`@ignore` or `@ignore(drop=True)`: marks a function to leave as Python; returns it
    unchanged."""
    if callable(drop):  # used bare: @jit.ignore
        return drop

    def mark(fn: T) -> T:
        return fn

    return mark


def export(fn: T) -> T:
    """Marks a method to compile as an entry point; returns it unchanged."""
    return fn


def interface(obj: T) -> T:
    """Marks a class as a TorchScript interface; returns it unchanged."""
    return obj


def _overload(func: T) -> T:
    """Marks a typed overload stub of a function; returns it unchanged (the real definition,
    which follows the stubs in the source, is the one Python keeps)."""
    return func


def _overload_method(func: T) -> T:
    """Marks a typed overload stub of a method; returns it unchanged (see _overload)."""
    return func


def script_if_tracing(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Compiles `fn` only when tracing; tinyconv never traces, so `fn` is returned unchanged."""
    return fn


_script_if_tracing = script_if_tracing  # (the private name torchvision's ops decorate with)


def annotate(the_type: Any, the_value: T) -> T:
    """A type hint for the compiler; returns the value."""
    return the_value
