"""`tinyconv.compiler`: torch.compiler's switches for code written around torch.compile.
tinyconv has no compiler (`tinyconv.compile` returns the model, which runs eagerly), so
nothing is ever being compiled: the decorators return what they decorate and
`is_compiling()` is False, so code takes its eager branch, as in PyTorch outside a compile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "allow_in_graph",
    "assume_constant_result",
    "cudagraph_mark_step_begin",
    "disable",
    "is_compiling",
    "is_dynamo_compiling",
    "reset",
]


def is_compiling() -> bool:
    """False: tinyconv never traces code."""
    return False


def is_dynamo_compiling() -> bool:
    return False


def reset() -> None:
    """Clear compiled code: there is none."""


def disable(
    fn: Callable | None = None, recursive: bool = True, *, reason: str | None = None
) -> Any:
    """`@disable` or `disable(fn)`: keep fn out of compilation, which it always is here."""
    if fn is None:
        return lambda f: f
    return fn


def allow_in_graph(fn: Callable) -> Callable:
    return fn


def assume_constant_result(fn: Callable) -> Callable:
    return fn


def cudagraph_mark_step_begin() -> None:
    """No CUDA graphs: nothing to mark."""
