"""`tinyconv.backends.cudnn`: cuDNN's flags, recorded only (there is no GPU). The values are
those of PyTorch's CPU-only build; `is_available()` is False."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

enabled = True
benchmark = False
benchmark_limit = None
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    return False


def version() -> None:
    return None


def is_acceptable(tensor: object) -> bool:
    return False


@contextlib.contextmanager
def flags(
    enabled: bool = False,
    benchmark: bool = False,
    benchmark_limit: int = 10,
    deterministic: bool = False,
    allow_tf32: bool = True,
    fp32_precision: str = "none",
    depthwise_kernel: str = "auto",
) -> Iterator[None]:
    """Set the (ignored) cuDNN flags for a `with` block, as torch.backends.cudnn.flags does
    (whose defaults turn cuDNN off inside it); the old values come back after it."""
    module = globals()
    names = ("enabled", "benchmark", "deterministic", "allow_tf32")
    saved = {name: module[name] for name in names}
    module.update(
        enabled=enabled, benchmark=benchmark, deterministic=deterministic, allow_tf32=allow_tf32
    )
    try:
        yield
    finally:
        module.update(saved)
