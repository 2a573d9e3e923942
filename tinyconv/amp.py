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

from . import _dtype

__all__ = [
    "GradScaler",
    "autocast",
    "custom_bwd",
    "custom_fwd",
    "get_autocast_dtype",
    "is_autocast_available",
    "is_autocast_enabled",
    "set_autocast_dtype",
    "set_autocast_enabled",
]

# Autocast's state per device type, as torch.is_autocast_enabled / get_autocast_dtype report
# it: never enabled on the CPU here (an enabled CPU autocast raises) and disabled for CUDA (no
# GPU), but the fast dtype can be set, as PyTorch's can.
_ENABLED: dict[str, bool] = {}
_FAST_DTYPE: dict[str, Any] = {"cpu": _dtype.bfloat16, "cuda": _dtype.float16}
_KNOWN = ("cpu", "cuda", "mps", "xpu", "xla", "hpu", "ipu", "mtia", "maia", "privateuseone")


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast knows `device_type` ('cpu', 'cuda', ...), as PyTorch's."""
    return _device_type(device_type) in _KNOWN


def _known(device_type: Any) -> str:
    kind = _device_type(device_type)
    if kind not in _KNOWN:
        raise RuntimeError(f"unknown device type for autocast: {device_type!r}")
    return kind


def is_autocast_enabled(device_type: Any = None) -> bool:
    """Autocast's switch for `device_type` (CUDA's when not given)."""
    return _ENABLED.get(_known("cuda" if device_type is None else device_type), False)


def set_autocast_enabled(device_type: Any, enabled: Any = None) -> None:
    """`set_autocast_enabled(device_type, enabled)` (or the older `(enabled)`, for CUDA).
    Turning it on for the CPU raises, as an enabled CPU `autocast` does."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    kind = _known(device_type)
    if enabled and kind == "cpu":
        _no_cpu_autocast("set_autocast_enabled")
    _ENABLED[kind] = bool(enabled)


def get_autocast_dtype(device_type: Any) -> Any:
    """The dtype autocast would compute in on `device_type` (bfloat16 on the CPU, float16 on
    CUDA, unless set)."""
    return _FAST_DTYPE.get(_known(device_type), _dtype.float16)


def set_autocast_dtype(device_type: Any, dtype: Any) -> None:
    _FAST_DTYPE[_known(device_type)] = dtype


_cache = [True]


def is_autocast_cache_enabled() -> bool:
    return _cache[0]


def set_autocast_cache_enabled(enabled: bool) -> None:
    _cache[0] = bool(enabled)


def clear_autocast_cache() -> None:
    """Autocast keeps no casts to clear."""


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"torch.{old}() is deprecated. Please use torch.{new} instead.",
        DeprecationWarning,
        stacklevel=3,
    )


def is_autocast_cpu_enabled() -> bool:
    _deprecated("is_autocast_cpu_enabled", "is_autocast_enabled('cpu')")
    return is_autocast_enabled("cpu")


def get_autocast_cpu_dtype() -> Any:
    _deprecated("get_autocast_cpu_dtype", "get_autocast_dtype('cpu')")
    return get_autocast_dtype("cpu")


def get_autocast_gpu_dtype() -> Any:
    _deprecated("get_autocast_gpu_dtype", "get_autocast_dtype('cuda')")
    return get_autocast_dtype("cuda")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    _deprecated("set_autocast_cpu_enabled", "set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", enabled)


def set_autocast_cpu_dtype(dtype: Any) -> None:
    _deprecated("set_autocast_cpu_dtype", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def set_autocast_gpu_dtype(dtype: Any) -> None:
    _deprecated("set_autocast_gpu_dtype", "set_autocast_dtype('cuda', dtype)")
    set_autocast_dtype("cuda", dtype)


# the names tinyconv's top level takes from here, as torch's (torch.is_autocast_enabled, ...)
TOP_LEVEL = (
    "is_autocast_enabled",
    "set_autocast_enabled",
    "get_autocast_dtype",
    "set_autocast_dtype",
    "is_autocast_cache_enabled",
    "set_autocast_cache_enabled",
    "clear_autocast_cache",
    "is_autocast_cpu_enabled",
    "get_autocast_cpu_dtype",
    "get_autocast_gpu_dtype",
    "set_autocast_cpu_enabled",
    "set_autocast_cpu_dtype",
    "set_autocast_gpu_dtype",
)


def _no_cpu_autocast(what: str) -> None:
    raise NotImplementedError(
        f"{what}: tinyconv has no reduced-precision autocast on the CPU (PyTorch would "
        "run matmuls and convolutions in bfloat16/float16 and give other numbers); "
        "pass enabled=False or convert the model with .half()/.double() instead"
    )


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
            _no_cpu_autocast("autocast")
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
        self._saved: list = []  # (enabled, dtype) before each entry, for nested use

    def __enter__(self) -> autocast:
        # autocast is off inside (disabled, or CUDA without a GPU); a given dtype is set
        kind = self.device_type
        self._saved.append((_ENABLED.get(kind, False), _FAST_DTYPE.get(kind)))
        _ENABLED[kind] = False
        if self.fast_dtype is not None:
            _FAST_DTYPE[kind] = self.fast_dtype
        return self

    def __exit__(self, *exc: Any) -> None:
        kind = self.device_type
        _ENABLED[kind], dtype = self._saved.pop()
        if dtype is None:
            _FAST_DTYPE.pop(kind, None)
        else:
            _FAST_DTYPE[kind] = dtype
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


def custom_fwd(
    fwd: Callable | None = None, *, device_type: str, cast_inputs: Any = None
) -> Callable:
    """Decorator for a custom `autograd.Function`'s forward under autocast: with
    `cast_inputs`, an enabled autocast would cast the floating inputs and run forward with
    autocast off. Autocast is never on in tinyconv, so forward runs as written."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    _known(device_type)

    @functools.wraps(fwd)
    def decorated(*args: Any, **kwargs: Any) -> Any:
        return fwd(*args, **kwargs)

    return decorated


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Callable:
    """Decorator for a custom Function's backward: runs it with forward's autocast state,
    which in tinyconv is always off, so backward runs as written."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    _known(device_type)

    @functools.wraps(bwd)
    def decorated(*args: Any, **kwargs: Any) -> Any:
        return bwd(*args, **kwargs)

    return decorated
