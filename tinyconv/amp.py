"""Mixed precision and the boilerplate around it (`torch.autocast`, `torch.amp`,
`torch.cuda.amp`), for scripts written for a GPU that run on tinyconv's CPU.

tinyconv computes in the dtypes it is given and has no reduced-precision autocast. What
PyTorch itself does without CUDA is what happens here: a CUDA autocast or GradScaler warns
and disables itself, so the script runs in full precision. A CPU autocast that is enabled
would change PyTorch's numbers (it runs matmuls in bfloat16/float16), so it raises instead;
so does an enabled CPU GradScaler.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["GradScaler", "autocast"]


def _device_type(device: Any) -> str:
    return str(getattr(device, "type", device)).split(":")[0]


class autocast:  # noqa: N801 (PyTorch's name)
    """`with autocast(device_type, dtype=None, enabled=True):` or as a decorator."""

    def __init__(
        self,
        device_type: Any = "cuda",
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        kind = _device_type(device_type)
        if enabled and kind == "cpu":
            raise NotImplementedError(
                "autocast: tinyconv has no reduced-precision autocast on the CPU (PyTorch would "
                "run matmuls and convolutions in bfloat16/float16 and give other numbers); "
                "pass enabled=False or convert the model with .half()/.double() instead"
            )
        if enabled and kind == "cuda":
            warnings.warn(
                "autocast: CUDA is not available (tinyconv runs on the CPU), so autocast is "
                "disabled, as PyTorch disables it without CUDA",
                UserWarning,
                stacklevel=2,
            )
        elif enabled:
            raise RuntimeError(f"autocast: unknown device_type {device_type!r}")
        self.device_type, self.fast_dtype = kind, dtype

    def __enter__(self) -> autocast:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapper


class GradScaler:
    """Loss scaling for float16 training. Disabled here (as PyTorch's CUDA scaler is without
    CUDA): scale() returns its argument, step() calls optimizer.step(), get_scale() is 1.0."""

    def __init__(
        self,
        device: Any = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        kind = _device_type(device)
        if enabled and kind == "cpu":
            raise NotImplementedError(
                "GradScaler: tinyconv has no mixed precision, so a CPU GradScaler has nothing "
                "to scale; pass enabled=False"
            )
        if enabled:
            warnings.warn(
                "GradScaler: CUDA is not available (tinyconv runs on the CPU), so the scaler is "
                "disabled, as PyTorch disables it without CUDA",
                UserWarning,
                stacklevel=2,
            )
        self._enabled = False

    def is_enabled(self) -> bool:
        return self._enabled

    def scale(self, outputs: Any) -> Any:
        return outputs

    def unscale_(self, optimizer: Any) -> None:
        return None

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: Any = None) -> None:
        return None

    def get_scale(self) -> float:
        return 1.0

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state_dict: dict) -> None:
        return None
