"""`tinyconv.cuda`: there is no GPU, only the CPU, and these calls do what PyTorch's CPU-only
build does with them. `is_available()` is False and `device_count()` 0; the calls scripts
make in case there is a GPU (seeding, emptying the cache, reading memory counters) do
nothing or return 0; those that need a device raise as PyTorch's do.
"""

from __future__ import annotations

from typing import Any, NoReturn

from .._errors import OutOfMemoryError
from . import amp

__all__ = [
    "OutOfMemoryError",
    "amp",
    "current_device",
    "device_count",
    "empty_cache",
    "get_device_name",
    "get_device_properties",
    "is_available",
    "is_bf16_supported",
    "is_initialized",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "max_memory_reserved",
    "mem_get_info",
    "memory_allocated",
    "memory_reserved",
    "seed",
    "seed_all",
    "synchronize",
]


def _no_cuda() -> NoReturn:
    raise AssertionError("Torch not compiled with CUDA enabled")


def is_available() -> bool:
    return False


def is_initialized() -> bool:
    return False


def device_count() -> int:
    return 0


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Nothing to seed: the CPU generator (`tinyconv.manual_seed`) draws every number."""


def manual_seed_all(seed: int) -> None:
    """Nothing to seed, as manual_seed."""


def seed() -> None:
    """Nothing to seed, as manual_seed."""


def seed_all() -> None:
    """Nothing to seed, as manual_seed."""


def empty_cache() -> None:
    """No device memory to free."""


def memory_allocated(device: Any = None) -> int:
    return 0


def max_memory_allocated(device: Any = None) -> int:
    return 0


def memory_reserved(device: Any = None) -> int:
    return 0


def max_memory_reserved(device: Any = None) -> int:
    return 0


def current_device() -> int:
    _no_cuda()


def synchronize(device: Any = None) -> None:
    _no_cuda()


def get_device_name(device: Any = None) -> str:
    _no_cuda()


def get_device_properties(device: Any = None) -> Any:
    _no_cuda()


def mem_get_info(device: Any = None) -> tuple[int, int]:
    _no_cuda()


def set_device(device: Any) -> None:
    # (PyTorch's CPU build fails here on a missing binding, with AttributeError)
    raise AttributeError("set_device: tinyconv has no CUDA devices (Torch not compiled with CUDA)")
