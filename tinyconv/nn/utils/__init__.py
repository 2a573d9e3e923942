"""Gradient utilities, as torch.nn.utils: clip_grad_norm_, clip_grad_value_, parameters <-> vector
(and `rnn.pad_sequence`, in the submodule rnn as in PyTorch; `stateless.functional_call`).

Clipping runs after `loss.backward()` and before `optimizer.step()`; it rescales
(or clamps) the `.grad` of each parameter in place and records no graph.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..._errors import TensorValueError
from ...random import fork_rng
from ...tensor import Tensor
from ...torch_functions import cat
from ..module import Module
from . import fusion, memory_format, parametrizations, parametrize, prune, rnn, stateless
from .fusion import (
    fuse_conv_bn_eval,
    fuse_conv_bn_weights,
    fuse_linear_bn_eval,
    fuse_linear_bn_weights,
)
from .memory_format import (
    convert_conv2d_weight_memory_format,
    convert_conv3d_weight_memory_format,
)
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "convert_conv2d_weight_memory_format",
    "convert_conv3d_weight_memory_format",
    "fuse_conv_bn_eval",
    "fuse_conv_bn_weights",
    "fuse_linear_bn_eval",
    "fuse_linear_bn_weights",
    "fusion",
    "get_total_norm",
    "memory_format",
    "parameters_to_vector",
    "parametrizations",
    "parametrize",
    "prune",
    "remove_spectral_norm",
    "remove_weight_norm",
    "rnn",
    "skip_init",
    "spectral_norm",
    "stateless",
    "vector_to_parameters",
    "weight_norm",
]


def _params(parameters: Any, what: str) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    try:
        params = list(parameters)
    except TypeError:
        raise TypeError(
            f"{what}: parameters must be a Tensor or an iterable of Tensors, "
            f"got {type(parameters).__name__}"
        ) from None
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{what}: parameters must be Tensors, got a {type(p).__name__}")
    return params


def _norm_type(norm_type: Any, what: str) -> float:
    if isinstance(norm_type, str):
        if norm_type != "inf":
            raise TensorValueError(
                f"{what}: norm_type must be a number or 'inf', got {norm_type!r}"
            )
        return math.inf
    return float(norm_type)


def _vector_norm(arrays: list, p: float) -> np.floating:
    """The p-norm of all the arrays' elements together, computed in float64 as PyTorch defines
    it: the p-norm of the per-array p-norms. For every p but 0 that is the norm of the
    elements themselves; for p = 0 it counts the arrays that hold a non-zero element (PyTorch's
    answer), not the non-zero elements."""
    if not arrays:
        return np.float64(0.0)
    # (each tensor's norm rounded to its dtype, as PyTorch computes it in that dtype)
    norms = np.array([a.dtype.type(_array_norm(a, p)) for a in arrays], dtype=np.float64)
    return _array_norm(norms, p)


def _array_norm(a: np.ndarray, p: float) -> np.float64:
    """torch.linalg.vector_norm(a, p), in float64."""
    a = np.abs(a.astype(np.float64, copy=False))
    if p == math.inf:
        return np.max(a, initial=0.0)
    if p == -math.inf:
        return np.min(a, initial=np.inf)
    if p == 0:
        return np.float64(np.count_nonzero(a))
    with np.errstate(divide="ignore"):  # (a negative p of a zero: inf, as in PyTorch)
        return np.sum(a**p) ** (1.0 / p)


def get_total_norm(
    tensors: Any, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach: Any = None
) -> Tensor:
    """The norm of the tensors' norms, as if the tensors were concatenated into one vector
    (for norm_type 0, the number of tensors that are not all zeros, as in PyTorch)."""
    what = "get_total_norm"
    ts = _params(tensors, what)
    p = _norm_type(norm_type, what)
    arrays = [t._data for t in ts]
    total = _vector_norm(arrays, p)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"{what}: the total norm of order {norm_type} is non-finite ({float(total)}), "
            "so it can't be clipped; pass error_if_nonfinite=False to skip this check"
        )
    # (PyTorch stacks the per-tensor norms, so mixed dtypes promote: float32 and float64 give
    # a float64 total)
    dtype = np.result_type(*arrays) if arrays else np.float32
    return Tensor._make(np.asarray(total, dtype=dtype), None, False)


def clip_grad_norm_(
    parameters: Any,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: Any = None,
) -> Tensor:
    """Scale all gradients together so that their joint `norm_type`-norm is at most `max_norm`.

    The norm is taken over every gradient element as if they were one vector; when it is above
    max_norm, each `.grad` is multiplied in place by max_norm / (norm + 1e-6). Returns the total
    norm from before clipping (a 0-d tensor), as PyTorch does.
    """
    what = "clip_grad_norm_"
    grads = [p.grad for p in _params(parameters, what) if p.grad is not None]
    if not grads:
        return Tensor._make(np.asarray(0.0, dtype=np.float32), None, False)
    total = get_total_norm(grads, norm_type, False)
    if error_if_nonfinite and not np.isfinite(total._data):
        raise RuntimeError(
            f"{what}: the total norm of order {norm_type} of the gradients is non-finite "
            f"({total.item()}), so they can't be clipped; pass error_if_nonfinite=False to "
            "clip anyway (the gradients then become nan)"
        )
    _scale_by_norm(grads, max_norm, total)
    return total


def clip_grad_norm(*args: Any, **kwargs: Any) -> Tensor:
    """Deprecated spelling of clip_grad_norm_, same arguments (warns, as PyTorch does)."""
    warnings.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
        "`torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(*args, **kwargs)


def clip_grads_with_norm_(
    parameters: Any, max_norm: float, total_norm: Tensor, foreach: Any = None
) -> None:
    """Scale every `.grad` in place by min(1, max_norm / (total_norm + 1e-6)), total_norm
    being a 0-d tensor computed beforehand (e.g. by get_total_norm)."""
    what = "clip_grads_with_norm_"
    grads = [p.grad for p in _params(parameters, what) if p.grad is not None]
    if not isinstance(total_norm, Tensor):
        raise TypeError(f"{what}: total_norm must be a Tensor, got {type(total_norm).__name__}")
    _scale_by_norm(grads, max_norm, total_norm)


def _scale_by_norm(grads: list, max_norm: float, total_norm: Tensor) -> None:
    """grads *= min(1, max_norm / (total_norm + 1e-6)), in place (a nan norm gives nan
    gradients, as in PyTorch)."""
    norm = total_norm._data
    # PyTorch's float arithmetic: max_norm / t is reciprocal(t) * max_norm in t's dtype
    coef = np.reciprocal(norm + np.asarray(1e-6, norm.dtype)) * np.asarray(max_norm, norm.dtype)
    coef = np.minimum(coef, np.asarray(1.0, norm.dtype))
    for g in grads:
        g._data *= coef.astype(g._data.dtype)
        g._vc[0] += 1


def skip_init(module_cls: type, *args: Any, **kwargs: Any) -> Module:
    """module_cls(*args, **kwargs) without spending random numbers on its initialisation: the
    global generator is left as it was, as PyTorch leaves it (it builds the module on the meta
    device). The values are meant to be overwritten (PyTorch's are uninitialised memory)."""
    if not isinstance(module_cls, type):  # (PyTorch's issubclass check raises TypeError)
        raise TypeError(f"skip_init: module_cls must be a class, got {module_cls!r}")
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    with fork_rng():
        return module_cls(*args, **kwargs)


def clip_grad_value_(parameters: Any, clip_value: float, foreach: Any = None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place. As PyTorch's
    clamp(min=-c, max=c), a negative clip_value is allowed: the upper bound wins then, so every
    element becomes clip_value."""
    what = "clip_grad_value_"
    c = float(clip_value)
    for p in _params(parameters, what):
        if p.grad is not None:
            g = p.grad._data
            # max then min, as clamp: with -c > c every element ends at the upper bound c
            np.minimum(np.maximum(g, -c, out=g), c, out=g)
            p.grad._vc[0] += 1


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters' values flattened and joined into one 1-D tensor (differentiable). Each
    is flattened with view(-1), as in PyTorch: a non-contiguous tensor raises RuntimeError."""
    return cat([p.view(-1) for p in _params(parameters, "parameters_to_vector")])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Make each parameter's data the next slice of `vec` (a view: as in PyTorch, the
    parameters then share vec's memory, and tensors that held their old values keep them).
    As in PyTorch, elements of vec past the parameters are ignored, and a slice that does not
    fit a parameter's shape raises RuntimeError."""
    what = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{what}: expected a Tensor for vec, but got {type(vec).__name__}")
    start = 0
    for p in _params(parameters, what):
        k = p.numel()
        chunk = vec[start : start + k]
        if chunk.numel() != k:
            raise TensorValueError(
                f"{what}: shape {list(p.shape)} is invalid for the slice of vec at "
                f"[{start}:{start + k}], of shape {list(chunk.shape)} (vec has shape "
                f"{list(vec.shape)}: it must hold at least the parameters' elements)"
            )
        p.data = chunk.view_as(p).data
        start += k


# PyTorch's module paths for the functions above (`from torch.nn.utils.clip_grad import ...`)
from . import clip_grad, convert_parameters, init  # noqa: E402, F401
