"""torch.fft's real-valued part: fftfreq, rfftfreq, fftshift and ifftshift.

The transforms themselves (fft, rfft, irfft, fft2, fftn, hfft, ...) take or return complex
tensors, and tinyconv has no complex dtypes; returning the real and imaginary parts side by
side would be other semantics than PyTorch's, so they are absent, and asking for one raises
AttributeError saying so (README, differences).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _dtype
from ._args import _check_device, _dims
from .creation import _finish
from .tensor import Tensor
from .torch_functions import roll

__all__ = ["fftfreq", "fftshift", "ifftshift", "rfftfreq"]

_COMPLEX = {
    "fft",
    "ifft",
    "rfft",
    "irfft",
    "fft2",
    "ifft2",
    "rfft2",
    "irfft2",
    "fftn",
    "ifftn",
    "rfftn",
    "irfftn",
    "hfft",
    "ihfft",
    "hfft2",
    "ihfft2",
    "hfftn",
    "ihfftn",
}


def __getattr__(name: str) -> Any:
    if name in _COMPLEX:
        raise AttributeError(
            f"tinyconv.fft.{name} is not available: it takes or returns complex tensors, and "
            "tinyconv has no complex dtypes (only fftfreq, rfftfreq, fftshift and ifftshift)"
        )
    raise AttributeError(f"module 'tinyconv.fft' has no attribute {name!r}")


def _freq(what: str, n: Any, d: Any, dtype: Any, device: Any, kw: dict) -> tuple:
    """(n as an int, the float dtype) after PyTorch's checks."""
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"{what}: argument 'n' must be int, not {type(n).__name__}") from None
    if n < 0:
        raise RuntimeError(f"{what}: Trying to create tensor with negative dimension {n}: [{n}]")
    if device is not None:
        _check_device(device, what)
    layout = kw.pop("layout", None)
    if layout is not None and str(layout).split(".")[-1] != "strided":
        raise RuntimeError(f"{what}: tinyconv has dense (strided) tensors only, got {layout}")
    if kw:
        raise TypeError(f"{what}: unexpected keyword argument(s) {sorted(kw)}")
    dt = _dtype.get_default_dtype() if dtype is None else _dtype.as_dtype(dtype)
    if dt.kind != "f":
        raise RuntimeError(
            f"{what}: fftfreq requires a floating point or complex dtype, got "
            f"{_dtype.dtype_name(dt)}"
        )
    return n, dt


def _scaled(k: np.ndarray, n: int, d: Any, dt: np.dtype) -> np.ndarray:
    """k / (n d) as PyTorch computes it: k in dt times the double 1 / (n d) rounded to dt
    (1 / 0 is inf, not an error, as in C)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.float64(1.0) / (np.float64(n) * np.float64(float(d)))
        return k.astype(dt) * scale.astype(dt)


def fftfreq(
    n: int,
    d: float = 1.0,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """The sample frequencies (n,) of an n-point transform with sample spacing d:
    [0, 1, ..., ceil(n/2) - 1, -floor(n/2), ..., -1] / (n d)."""
    n, dt = _freq("fftfreq()", n, d, dtype, device, kw)
    k = np.concatenate([np.arange((n + 1) // 2), np.arange(-(n // 2), 0)])
    return _finish(_scaled(k, n, d, dt), requires_grad)


def rfftfreq(
    n: int,
    d: float = 1.0,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """The non-negative sample frequencies (n // 2 + 1,) of an n-point real transform:
    [0, 1, ..., n // 2] / (n d)."""
    n, dt = _freq("rfftfreq()", n, d, dtype, device, kw)
    return _finish(_scaled(np.arange(n // 2 + 1), n, d, dt), requires_grad)


def _shift(what: str, input: Tensor, dim: Any, inverse: bool) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{what}: input must be a Tensor, got {type(input).__name__}")
    if dim is None:
        dims = tuple(range(input.ndim))
    else:
        dims = _dims(dim if isinstance(dim, Sequence) else (dim,), input.ndim, what)
    if not dims:
        raise RuntimeError(f"{what}: `shifts` required (the input is 0-d and no dim was given)")
    shape = input.shape
    shifts = tuple((shape[d] + 1) // 2 if inverse else shape[d] // 2 for d in dims)
    return roll(input, shifts, dims)


def fftshift(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """Move the zero frequency to the centre: roll each dim in `dim` (default all) by
    size // 2 (differentiable, RollBackward0)."""
    return _shift("fftshift()", input, dim, False)


def ifftshift(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """The inverse of fftshift: roll each dim in `dim` (default all) by (size + 1) // 2."""
    return _shift("ifftshift()", input, dim, True)
