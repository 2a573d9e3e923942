"""`tinyconv.nn.attention`: choosing the kernels of `F.scaled_dot_product_attention`.

`with sdpa_kernel(SDPBackend.MATH):` restricts attention to the listed kernels for the block.
tinyconv always computes the math kernel's sum; on a CPU, PyTorch can run the math and flash
kernels, so a block that allows neither makes attention raise, as PyTorch's does.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterable, Iterator

from ..functional import attention as _attention

__all__ = ["SDPBackend", "sdpa_kernel"]


class SDPBackend(enum.Enum):
    """The attention kernels PyTorch knows (its enum's names and values)."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __int__(self) -> int:
        return self.value

    def __index__(self) -> int:
        return self.value


_SWITCH = {
    SDPBackend.MATH: "math",
    SDPBackend.FLASH_ATTENTION: "flash",
    SDPBackend.EFFICIENT_ATTENTION: "mem_efficient",
    SDPBackend.CUDNN_ATTENTION: "cudnn",
    SDPBackend.OVERRIDEABLE: "overrideable",
}


@contextlib.contextmanager
def sdpa_kernel(
    backends: SDPBackend | Iterable[SDPBackend], set_priority: bool = False
) -> Iterator[None]:
    """Allow only `backends` (one SDPBackend or a list) inside the block; the switches come
    back after it. `set_priority` (the list's order as the order to try) changes nothing here:
    tinyconv has one kernel."""
    if isinstance(backends, SDPBackend):
        backends = [backends]
    if not isinstance(backends, list) or not all(isinstance(b, SDPBackend) for b in backends):
        raise AssertionError(
            "Backend must be an instance of SDPBackend or a list of SDPBackend instances, got "
            f"{type(backends).__name__}"
        )
    saved = dict(_attention.SDP_ENABLED)
    chosen = set(backends)
    _attention.SDP_ENABLED.update({name: b in chosen for b, name in _SWITCH.items()})
    try:
        yield
    finally:
        _attention.SDP_ENABLED.update(saved)
