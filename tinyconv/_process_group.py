"""The default process group of `tinyconv.distributed` (its state only, so that both
`distributed` and `nn.parallel.DistributedDataParallel` can read it). tinyconv runs in one
process: a group, once made, has world size 1 and rank 0."""

from __future__ import annotations

# backend name ('gloo'), rank, world size; empty until init_process_group
DEFAULT: dict = {}

NOT_INITIALIZED = (
    "Default process group has not been initialized, please make sure to call init_process_group."
)


def require_default() -> dict:
    """The default group's state; ValueError (PyTorch's message) when there is none."""
    if not DEFAULT:
        raise ValueError(NOT_INITIALIZED)
    return DEFAULT
