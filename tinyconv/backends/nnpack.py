"""`tinyconv.backends.nnpack`: tinyconv is not built with it (NumPy's BLAS does the work), so
`is_available()` is False."""

import contextlib
from collections.abc import Iterator

enabled = True  # (recorded only)


def is_available() -> bool:
    return False


def set_flags(_enabled: bool) -> tuple[bool]:
    """Record the switch; returns the old value, as PyTorch's."""
    global enabled
    old = (enabled,)
    enabled = bool(_enabled)
    return old


@contextlib.contextmanager
def flags(enabled: bool = False) -> Iterator[None]:
    old = set_flags(enabled)
    try:
        yield
    finally:
        set_flags(old[0])
