"""Module-level tensor functions, as `torch.cat`, `torch.where`, `torch.sum`, ..."""
from __future__ import annotations

import builtins
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._dtype import dtype_name, result_type
from .autograd import grad_mode, ops
from .tensor import Tensor, _as_tensor, _binary, _dim, _operand
from .tensor import matmul as _matmul


def _tensors(tensors: Sequence, what: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{what}: expected a list or tuple of tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{what}: expected a non-empty list of tensors")
    return [_as_tensor(t) for t in tensors]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim; all other sizes must match."""
    ts = _tensors(tensors, "cat()")
    nd = ts[0].ndim
    d = _dim(dim, nd, "cat()")
    for i, t in enumerate(ts):
        if t.ndim != nd or t.shape[:d] + t.shape[d + 1:] != ts[0].shape[:d] + ts[0].shape[d + 1:]:
            raise ValueError(
                f"cat(): sizes of tensors must match except in dimension {d}; tensor 0 has shape "
                f"{tuple(ts[0].shape)} but tensor {i} has shape {tuple(t.shape)}"
            )
    return ops.Cat.apply(d, *ts)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new dim."""
    ts = _tensors(tensors, "stack()")
    for i, t in enumerate(ts):
        if t.shape != ts[0].shape:
            raise ValueError(
                f"stack(): all tensors must have the same shape; tensor 0 has shape "
                f"{tuple(ts[0].shape)} but tensor {i} has shape {tuple(t.shape)}"
            )
    return ops.Stack.apply(_dim(dim, ts[0].ndim + 1, "stack()"), *ts)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """Elementwise `input if condition else other`, broadcasting all three."""
    cond = _as_tensor(condition)._data
    if input is None and other is None:
        return tuple(Tensor._make(i, None, False) for i in np.nonzero(cond))
    if cond.dtype != np.bool_:
        raise TypeError(f"where(): condition must be a bool tensor, got dtype {cond.dtype}")
    a, b = _operand(input), _operand(other)
    ad = a._data if isinstance(a, Tensor) else a
    bd = b._data if isinstance(b, Tensor) else b
    try:
        np.broadcast_shapes(cond.shape, np.shape(ad), np.shape(bd))
    except ValueError:
        raise ValueError(
            f"where(): condition {cond.shape}, input {np.shape(ad)} and other {np.shape(bd)} "
            "can't be broadcast together"
        ) from None
    if not isinstance(ad, np.ndarray) and not isinstance(bd, np.ndarray):
        # two Python scalars: PyTorch's dtype (where(c, 1.0, 0.0) is float32), not NumPy's float64
        a = ad = np.asarray(ad, dtype=result_type(ad, bd))
    dtype = result_type(ad, bd)
    return ops.Where.apply(cond, a, b, dtype)


def _method(name: str):
    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Any:
        return getattr(_as_tensor(input), name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"`tinyconv.{name}(t, ...)` is `t.{name}(...)`."
    return fn


for _name in ["sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin", "exp", "log", "sqrt", "abs", "sin", "cos", "relu", "sigmoid", "tanh", "clamp", "clip", "reshape", "transpose", "permute", "flatten", "squeeze", "unsqueeze", "flip", "square", "sign", "t", "numel", "split", "chunk", "unbind", "all", "any", "prod", "norm", "softmax", "log_softmax"]:
    globals()[_name] = _method(_name)


def maximum(input: Any, other: Any) -> Tensor:
    return _binary(ops.Maximum, _as_tensor(input), other)


def minimum(input: Any, other: Any) -> Tensor:
    return _binary(ops.Minimum, _as_tensor(input), other)


def _no_grad_out(what: str, *args: Any) -> None:
    """PyTorch's rule: an op with out=... records no graph, so no argument may require grad."""
    if grad_mode.enabled and builtins.any(isinstance(a, Tensor) and a.requires_grad for a in args):
        raise RuntimeError(f"{what}: functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad; drop out= "
                           "(y = f(...)) or run it under tinyconv.no_grad()")


def _into(out: Any, result: Tensor, what: str) -> Tensor:
    """Write `result` into the existing tensor `out` (the out= keyword) and return `out`.

    As in PyTorch: out keeps its dtype (the result is cast to it if that is a same-kind
    cast); an out of the wrong shape is resized, with a warning unless it was empty.
    """
    if not isinstance(out, Tensor):
        raise TypeError(f"{what}: out must be a Tensor, got {type(out).__name__}")
    res = result._data
    if not np.can_cast(res.dtype, out._data.dtype, "same_kind"):
        raise RuntimeError(f"{what}: result type {dtype_name(res.dtype)} can't be cast to the desired "
                           f"output type {dtype_name(out._data.dtype)} (out=)")
    if res.shape != out._data.shape:
        if out._data.size:
            warnings.warn(f"{what}: an output with one or more elements was resized since it had shape "
                          f"{tuple(out.shape)}, which does not match the required output shape "
                          f"{tuple(res.shape)}", UserWarning, stacklevel=3)
        out._data = np.empty(res.shape, dtype=out._data.dtype)
    out._data[...] = res
    out._vc[0] += 1
    return out


def add(input: Any, other: Any, alpha: Any = 1, *, out: Tensor | None = None) -> Tensor:
    if out is None:
        return _as_tensor(input).add(other, alpha)
    _no_grad_out("add()", input, other, out)
    return _into(out, _as_tensor(input).add(other, alpha), "add()")


def sub(input: Any, other: Any, alpha: Any = 1, *, out: Tensor | None = None) -> Tensor:
    if out is None:
        return _as_tensor(input).sub(other, alpha)
    _no_grad_out("sub()", input, other, out)
    return _into(out, _as_tensor(input).sub(other, alpha), "sub()")


def mul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    if out is None:
        return _as_tensor(input) * other
    _no_grad_out("mul()", input, other, out)
    return _into(out, _as_tensor(input) * other, "mul()")


def div(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    if out is None:
        return _as_tensor(input) / other
    _no_grad_out("div()", input, other, out)
    return _into(out, _as_tensor(input) / other, "div()")


def matmul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """Matrix product with broadcasting, `(..., n, k) @ (..., k, m)`; with out=, written into out."""
    if out is None:
        return _matmul(input, other)
    _no_grad_out("matmul()", input, other, out)
    return _into(out, _matmul(input, other), "matmul()")


def pow(input: Any, exponent: Any) -> Tensor:
    if isinstance(input, Tensor):
        return input ** exponent
    return _as_tensor(exponent).__rpow__(input)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    return _as_tensor(input).mm(mat2)


def dot(input: Tensor, other: Tensor) -> Tensor:
    return matmul(input, other)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(t: Tensor) -> bool:
    return t.is_floating_point()


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> bool:
    return bool(np.allclose(_as_tensor(input)._data, _as_tensor(other)._data, rtol, atol, equal_nan))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8,
            equal_nan: bool = False) -> Tensor:
    return Tensor._make(np.isclose(_as_tensor(input)._data, _as_tensor(other)._data, rtol, atol, equal_nan),
                        None, False)


def equal(input: Tensor, other: Tensor) -> bool:
    a, b = _as_tensor(input)._data, _as_tensor(other)._data
    return a.shape == b.shape and bool(np.array_equal(a, b))


def isnan(input: Tensor) -> Tensor:
    return Tensor._make(np.isnan(_as_tensor(input)._data), None, False)


def isfinite(input: Tensor) -> Tensor:
    return Tensor._make(np.isfinite(_as_tensor(input)._data), None, False)
