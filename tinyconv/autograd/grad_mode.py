"""Grad mode: whether ops record the graph for backward.

`no_grad()` and `enable_grad()` work as context managers and as decorators,
like PyTorch's. The flag is a module global, read by every op on its hot path.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

enabled: bool = True


def is_grad_enabled() -> bool:
    """True when ops record the graph for backward."""
    return enabled


class set_grad_enabled:
    """Set grad mode to `mode`; as a context manager, restore it on exit."""

    def __init__(self, mode: bool) -> None:
        global enabled
        self.prev = enabled
        enabled = bool(mode)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        global enabled
        enabled = self.prev


class _GradModeContext:
    mode = True

    def __new__(cls, func: Any = None) -> Any:
        """`no_grad()` makes a context; `@no_grad` without parentheses decorates directly."""
        self = super().__new__(cls)
        return self if func is None else self(func)

    def __enter__(self) -> None:
        global enabled
        self.prev = enabled
        enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        global enabled
        enabled = self.prev

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeContext):
    """Context manager / decorator: ops inside record no graph."""

    mode = False


class enable_grad(_GradModeContext):
    """Context manager / decorator: turn graph recording back on."""

    mode = True
