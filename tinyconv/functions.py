"""Module-level tensor functions, as `torch.cat`, `torch.where`, `torch.sum`, ..."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._dtype import result_type
from .autograd import ops
from .tensor import Tensor, _as_tensor, _binary, _dim, _operand, matmul  # noqa: F401


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


def where(condition: Any, input: Any = None, other: Any = None) -> Any:  # noqa: A002
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
    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        return getattr(_as_tensor(input), name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"`tinyconv.{name}(t, ...)` is `t.{name}(...)`."
    return fn


for _name in (
    "sum mean var std max min amax amin argmax argmin exp log sqrt abs sin cos relu sigmoid tanh "
    "clamp clip reshape transpose permute flatten squeeze unsqueeze flip square sign t numel "
    "split chunk unbind all any"
).split():
    globals()[_name] = _method(_name)


def maximum(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _binary(ops.Maximum, _as_tensor(input), other)


def minimum(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _binary(ops.Minimum, _as_tensor(input), other)


def add(input: Any, other: Any, alpha: Any = 1) -> Tensor:  # noqa: A002
    return _as_tensor(input).add(other, alpha)


def sub(input: Any, other: Any, alpha: Any = 1) -> Tensor:  # noqa: A002
    return _as_tensor(input).sub(other, alpha)


def mul(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _as_tensor(input) * other


def div(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _as_tensor(input) / other


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001, A002
    if isinstance(input, Tensor):
        return input ** exponent
    return _as_tensor(exponent).__rpow__(input)


def mm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002
    return _as_tensor(input).mm(mat2)


def dot(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    return matmul(input, other)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(t: Tensor) -> bool:
    return t.is_floating_point()


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8,  # noqa: A002
             equal_nan: bool = False) -> bool:
    return bool(np.allclose(_as_tensor(input)._data, _as_tensor(other)._data, rtol, atol, equal_nan))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8,  # noqa: A002
            equal_nan: bool = False) -> Tensor:
    return Tensor._make(np.isclose(_as_tensor(input)._data, _as_tensor(other)._data, rtol, atol, equal_nan),
                        None, False)


def equal(input: Tensor, other: Tensor) -> bool:  # noqa: A002
    a, b = _as_tensor(input)._data, _as_tensor(other)._data
    return a.shape == b.shape and bool(np.array_equal(a, b))


def isnan(input: Tensor) -> Tensor:  # noqa: A002
    return Tensor._make(np.isnan(_as_tensor(input)._data), None, False)


def isfinite(input: Tensor) -> Tensor:  # noqa: A002
    return Tensor._make(np.isfinite(_as_tensor(input)._data), None, False)
