"""`tinyconv.cuda.amp`: the older spelling of `torch.amp`'s CUDA autocast and GradScaler.
Without CUDA both disable themselves, as PyTorch's do (see `tinyconv.amp`)."""

from __future__ import annotations

from typing import Any

from .. import amp as _amp

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]


class autocast(_amp.autocast):  # noqa: N801 (PyTorch's name)
    """`torch.cuda.amp.autocast(...)`, that is `torch.amp.autocast("cuda", ...)`."""

    def __init__(self, enabled: bool = True, dtype: Any = None, cache_enabled: bool = True) -> None:
        super().__init__("cuda", dtype, enabled, cache_enabled)


class GradScaler(_amp.GradScaler):
    """`torch.cuda.amp.GradScaler(...)`, that is `torch.amp.GradScaler("cuda", ...)`."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        super().__init__(
            "cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled
        )


def custom_fwd(fwd: Any = None, *, cast_inputs: Any = None) -> Any:
    """`torch.cuda.amp.custom_fwd` (deprecated): `torch.amp.custom_fwd(device_type="cuda")`."""
    return _amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd: Any = None) -> Any:
    """`torch.cuda.amp.custom_bwd` (deprecated): `torch.amp.custom_bwd(device_type="cuda")`."""
    return _amp.custom_bwd(bwd, device_type="cuda")
