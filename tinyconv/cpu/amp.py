"""`tinyconv.cpu.amp`: the older spelling of `torch.amp`'s CPU autocast and GradScaler (see
`tinyconv.amp`: both work when disabled and raise when enabled)."""

from __future__ import annotations

import warnings
from typing import Any

from .. import _dtype
from .. import amp as _amp

__all__ = ["GradScaler", "autocast"]


class autocast(_amp.autocast):  # noqa: N801 (PyTorch's name)
    """`torch.cpu.amp.autocast(...)` (deprecated), that is `torch.amp.autocast("cpu", ...)`."""

    def __init__(
        self, enabled: bool = True, dtype: Any = _dtype.bfloat16, cache_enabled: bool = True
    ) -> None:
        warnings.warn(
            "`torch.cpu.amp.autocast(args...)` is deprecated. Please use "
            '`torch.amp.autocast("cpu", args...)` instead.',
            FutureWarning,
            stacklevel=2,
        )
        super().__init__("cpu", dtype, enabled, cache_enabled)


class GradScaler(_amp.GradScaler):
    """`torch.cpu.amp.GradScaler(...)` (deprecated), that is `torch.amp.GradScaler("cpu", ...)`."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        warnings.warn(
            "`torch.cpu.amp.GradScaler(args...)` is deprecated. Please use "
            '`torch.amp.GradScaler("cpu", args...)` instead.',
            FutureWarning,
            stacklevel=2,
        )
        super().__init__("cpu", init_scale, growth_factor, backoff_factor, growth_interval, enabled)
