"""`torch.utils.hooks`: RemovableHandle (what every register_*_hook returns) and the
decorator PyTorch offers for hooks that should not be pickled with their module."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ..autograd.engine import RemovableHandle

__all__ = ["RemovableHandle", "unserializable_hook", "warn_if_has_hooks"]


def unserializable_hook(f: Callable) -> Callable:
    """Mark a tensor hook as one that is not saved when its tensor is pickled."""
    f.__torch_unserializable__ = True  # type: ignore[attr-defined]
    return f


def warn_if_has_hooks(tensor: Any) -> None:
    """Warn when a tensor being pickled has hooks that will be lost (those not marked
    unserializable)."""
    for hook in (getattr(tensor, "_backward_hooks", None) or {}).values():
        if not getattr(hook, "__torch_unserializable__", False):
            warnings.warn(
                f"backward hook {hook} on tensor will not be serialized.  If this is "
                "expected, you can decorate the function with "
                "@torch.utils.hooks.unserializable_hook to suppress this warning",
                stacklevel=2,
            )
