"""`tinyconv._dynamo`: the parts of torch._dynamo that training scripts touch around
torch.compile (its `config` knobs, `disable`, `reset`, `mark_dynamic`). tinyconv compiles
nothing, so they are accepted and change nothing (see `tinyconv.compiler`)."""

from __future__ import annotations

from typing import Any

from ..compiler import allow_in_graph, assume_constant_result, disable, is_compiling, reset
from . import config

__all__ = [
    "allow_in_graph",
    "assume_constant_result",
    "config",
    "disable",
    "is_compiling",
    "mark_dynamic",
    "mark_static",
    "reset",
]


def mark_dynamic(t: Any, index: Any, **kwargs: Any) -> None:
    """A hint for the compiler about a dim's size changing: nothing to record here."""


def mark_static(t: Any, index: Any = None) -> None:
    """A hint for the compiler: nothing to record here."""
