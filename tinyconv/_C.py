"""torch._C, the few names of PyTorch's C extension that Python library code calls directly.

torchvision's models call ``torch._C._log_api_usage_once`` in every constructor (through its
``_log_api_usage_once``) and its mask post-processing asks ``torch._C._get_tracing_state()``.
tinyconv neither logs API usage nor traces, so these answer as PyTorch does when it isn't.
"""

from __future__ import annotations

from typing import Any


def _log_api_usage_once(event: str) -> None:
    """PyTorch records the event for its usage logging; tinyconv has none."""


def _get_tracing_state() -> Any:
    """None: no torch.jit.trace is running (tinyconv never traces)."""
    return None
