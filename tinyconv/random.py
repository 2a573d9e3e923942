"""`tinyconv.random`, as `torch.random`: the global stream's seed and state functions, and
fork_rng to run a block of code without disturbing the stream."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ._rng import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from ._rng import _default as default_generator

__all__ = [
    "Generator",
    "default_generator",
    "fork_rng",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "seed",
    "set_rng_state",
]


@contextlib.contextmanager
def fork_rng(
    devices: Any = None, enabled: bool = True, _caller: str = "fork_rng", **kwargs: Any
) -> Iterator[None]:
    """Draws inside the block leave the global stream where it was on entry (its state is
    saved and restored); `devices` and `device_type` name GPUs, of which tinyconv has none."""
    unknown = set(kwargs) - {"_devices_kw", "device_type"}
    if unknown:
        raise TypeError(f"fork_rng(): unexpected keyword argument(s) {sorted(unknown)}")
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
