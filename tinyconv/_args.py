"""Argument helpers of the engine, shared by tensor.py and the layers above: dims, devices,
shapes and the errors they raise, each naming the argument and what came in. Pure NumPy/Python:
no Tensor here."""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ._errors import CudaUnavailableError, TensorValueError


class IndexOutOfRange(IndexError, ValueError):
    """An index outside a tensor: an IndexError as in Python, and a ValueError."""


def _dim(d: Any, ndim: int, what: str) -> int:
    """Normalise a (possibly negative) dim, with a clear error when out of range."""
    if not isinstance(d, (builtins.int, np.integer)) or isinstance(d, builtins.bool):
        raise TypeError(f"{what}: dim must be an integer, got {d!r}")
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexOutOfRange(
            f"{what}: dim {d} is out of range for a tensor with {ndim} dimension(s) "
            f"(expected a dim in [{-n}, {n - 1}])"
        )
    return builtins.int(d) % n


def _dims(dim: Any, ndim: int, what: str, empty_all: bool = False) -> Any:
    """None (all dims), one dim, or a tuple of dims, normalised. `empty_all`: an empty
    tuple or list means every dim (PyTorch's rule for sum, mean, var, amax, norm, ...),
    not none of them."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        if empty_all and not dim:
            return tuple(range(ndim))
        dims = tuple(_dim(d, ndim, what) for d in dim)
        if len(set(dims)) != len(dims):
            raise TensorValueError(f"{what}: dim {tuple(dim)} names a dimension twice")
        return dims if ndim else ()
    d = _dim(dim, ndim, what)
    return d if ndim else ()  # a 0-d tensor accepts dim 0 or -1 and has no axis to reduce


_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "hpu", "xla", "mtia", "privateuseone")


def _check_device(device: Any, what: str) -> None:
    name = str(device).split(":")[0]
    if name == "cuda":  # (PyTorch's CPU-only build asserts: AssertionError, a RuntimeError too)
        raise CudaUnavailableError(
            f"Torch not compiled with CUDA enabled ({what}: tinyconv runs on the CPU only, got "
            f"device {str(device)!r})"
        )
    if name != "cpu":
        raise RuntimeError(f"{what}: tinyconv runs on the CPU only, got device {device!r}")


def _infer_shape(shape: tuple, data: np.ndarray, what: str) -> tuple:
    """Resolve one -1 in `shape` and check the element count matches."""
    size = data.size
    if shape.count(-1) > 1:
        raise TensorValueError(f"{what}: only one dimension can be -1, got {shape}")
    if any(s < -1 for s in shape):
        raise TensorValueError(f"{what}: invalid size {shape}")
    if -1 in shape:
        known = 1
        for s in shape:
            if s != -1:
                known *= s
        if known == 0 or size % known:
            raise TensorValueError(
                f"{what}: shape {shape} is invalid for a tensor of shape {tuple(data.shape)} "
                f"({size} elements)"
            )
        shape = tuple(size // known if s == -1 else s for s in shape)
    n = 1
    for s in shape:
        n *= s
    if n != size:
        raise TensorValueError(
            f"{what}: shape {shape} is invalid for a tensor of shape {tuple(data.shape)} "
            f"({size} elements, but {shape} holds {n})"
        )
    return shape


def _check_reduce_empty(data: np.ndarray, axis: Any, what: str) -> None:
    """max/min/amax/argmax... of nothing have no value. As PyTorch: reducing an empty tensor
    over all dims is a RuntimeError, over a dim of size 0 an IndexError; reducing a non-empty
    dim of an empty tensor is fine (an empty result)."""
    if data.size:
        return
    if axis is None:
        raise RuntimeError(
            f"{what}: the tensor is empty (shape {tuple(data.shape)}), so it has no "
            "value to return; give a dim of non-zero size to reduce over"
        )
    for d in axis if isinstance(axis, tuple) else (axis,):
        if data.shape[d] == 0:
            raise IndexOutOfRange(
                f"{what}: the dim {d} to reduce over has size 0 (tensor shape "
                f"{tuple(data.shape)}); it must have at least one element"
            )


# The methods and functions that take NumPy's spellings too, as PyTorch's do: `axis=` for
# `dim=` and `keepdims=` for `keepdim=` (d2l's `y_hat.argmax(axis=1)`, `X.sum(axis=0,
# keepdims=True)`). PyTorch's own torch.nn.functional does not (F.softmax(x, axis=1) raises).
NUMPY_NAMED = (
    "all amax amin any argmax argmin argsort cat chunk concat concatenate count_nonzero cummax "
    "cummin cumprod cumsum diff gather index_select kthvalue log_softmax logcumsumexp logsumexp "
    "max mean median min mode nanmean nansum narrow prod select softmax sort squeeze stack std "
    "std_mean sum topk unbind unsqueeze var var_mean"
).split()


def numpy_names(f: Callable) -> Callable:
    """`f`, also taking `axis=` (as dim) and `keepdims=` (as keepdim)."""

    @functools.wraps(f)
    def g(*args: Any, **kw: Any) -> Any:
        if kw and ("axis" in kw or "keepdims" in kw):  # (one test when neither is used)
            for np_name, name in (("axis", "dim"), ("keepdims", "keepdim")):
                if np_name in kw:
                    if name in kw:
                        raise TypeError(
                            f"{f.__name__}(): got both {name}= and {np_name}= (its NumPy name)"
                        )
                    kw[name] = kw.pop(np_name)
        return f(*args, **kw)

    return g
