"""The autograd engine: Function, grad mode, backward, gradcheck.

It knows nothing about convolution: ops are Functions, and the engine only
walks the graph they leave behind.

Only grad mode is imported eagerly: Tensor needs it before Tensor exists,
and the rest needs Tensor, so the rest is loaded on first use.
"""

from typing import Any

from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
    set_multithreading_enabled,
)

_LAZY = {
    "Function": ".function",
    "sum_to_shape": ".function",
    "backward": (".engine", "autograd_backward"),  # (engine.backward: Tensor.backward's)
    "grad": ".engine",
    "gradcheck": "._gradcheck",
    "gradgradcheck": "._gradcheck",
    "GradcheckError": "._gradcheck",
    "detect_anomaly": ".anomaly",
    "set_detect_anomaly": ".anomaly",
    "is_anomaly_enabled": ".anomaly",
    "is_anomaly_check_nan_enabled": ".anomaly",
    "trace": ".trace",
    "is_tensor_like": ".graph",
    "Variable": ".variable",
}

__all__ = [
    "Function",
    "Variable",
    "GradcheckError",
    "backward",
    "detect_anomaly",
    "grad",
    "enable_grad",
    "is_tensor_like",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "set_detect_anomaly",
    "set_grad_enabled",
    "set_multithreading_enabled",
    "sum_to_shape",
    "trace",
]


def __getattr__(name: str) -> Any:
    # submodules, loaded on first use like the rest
    if name in ("anomaly_mode", "forward_ad", "functional", "graph", "profiler"):
        import importlib

        return importlib.import_module("." + name, __name__)
    if name in _LAZY:
        import importlib

        where = _LAZY[name]
        module, attr = where if isinstance(where, tuple) else (where, name)
        value = getattr(importlib.import_module(module, __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tinyconv.autograd' has no attribute {name!r}")
