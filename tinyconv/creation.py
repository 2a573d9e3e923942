"""Making tensors: from data, filled, random, ranges. Sizes as varargs or one tuple."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _dtype
from . import _rng as _random
from . import _tensor_gaps as _mf
from ._args import _check_device
from ._dtype import as_dtype
from ._errors import TensorValueError
from ._histogram import linspace_values
from ._rng import _gen
from .tensor import Tensor, _number_arg, _sizes, _to_array
from .torch_functions import _into, _no_grad_out


def _size_kw(size: tuple, kwargs: dict, what: str) -> tuple:
    """Sizes given as PyTorch's keyword `f(size=(2, 3))` rather than `f(2, 3)` or `f((2, 3))`."""
    if "size" in kwargs:
        if size:
            raise TypeError(f"{what}: size given both positionally and as size=")
        size = (kwargs.pop("size"),)
    device = kwargs.pop("device", None)
    if device is not None:
        _check_device(device, what)
    kwargs.pop("layout", None)
    if kwargs:
        raise TypeError(f"{what}: unexpected keyword argument(s) {sorted(kwargs)}")
    return size


def _shape(size: tuple, what: str) -> tuple:
    """Sizes as varargs or one tuple, each a non-negative integer."""
    shape = _sizes(size, what)
    if any(n < 0 for n in shape):
        raise TensorValueError(f"{what}: sizes must be non-negative, got {shape}")
    return shape


def _finish(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._make(arr, None, False)
    if requires_grad:
        t.requires_grad = True  # checks the dtype
    return t


def _float(dtype: Any) -> np.dtype:
    return _dtype.get_default_dtype() if dtype is None else as_dtype(dtype)


def _where_kw(kw: dict, what: str) -> None:
    """PyTorch's placement keywords, which change nothing on tinyconv's one device:
    device (must be the CPU), layout (dense only), pin_memory, memory_format; anything else
    is an unexpected keyword, as PyTorch says."""
    device = kw.pop("device", None)
    if device is not None:
        _check_device(device, what)
    layout = kw.pop("layout", None)
    if layout is not None and str(layout).split(".")[-1] != "strided":
        raise RuntimeError(
            f"{what}: tinyconv has dense (strided) tensors only, got layout {layout}"
        )
    kw.pop("pin_memory", None)
    kw.pop("memory_format", None)
    if kw:
        raise TypeError(f"{what}: unexpected keyword argument(s) {sorted(kw)}")


def tensor(
    data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    """A new tensor holding a copy of `data` (nested lists, numbers, arrays)."""
    kw["device"] = device
    _where_kw(kw, "tensor()")
    if isinstance(data, Tensor):
        warnings.warn(_COPY_CONSTRUCT, UserWarning, stacklevel=2)
    arr = _to_array(data, None if dtype is None else as_dtype(dtype), "tensor()")
    return _finish(arr, requires_grad)


# PyTorch's words when tensor() is given a Tensor (programs filter warnings by this message)
_COPY_CONSTRUCT = (
    "To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() "
    "or sourceTensor.detach().clone().requires_grad_(True), rather than "
    "torch.tensor(sourceTensor)."
)


def as_tensor(data: Any, dtype: Any = None, **kw: Any) -> Tensor:
    """``data`` as a tensor without a copy where it can: an ndarray of the wanted dtype shares
    its memory (as from_numpy), a Tensor comes back itself (or converted, in the graph);
    anything else is copied."""
    _where_kw(kw, "as_tensor()")
    if isinstance(data, Tensor):  # (the same tensor, or a differentiable conversion of it)
        return data if dtype is None else data.to(as_dtype(dtype))
    if isinstance(data, np.ndarray) and (dtype is None or as_dtype(dtype) == data.dtype):
        return from_numpy(data)  # (an array of the wanted dtype: shared, not copied)
    arr = _to_array(data, None if dtype is None else as_dtype(dtype), "as_tensor()")
    return _finish(arr, False)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with `array`."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy(): expected an np.ndarray, got {type(array).__name__}")
    as_dtype(array.dtype)
    return Tensor._make(array, None, False)


def frombuffer(
    buffer: Any, *, dtype: Any, count: int = -1, offset: int = 0, requires_grad: bool = False
) -> Tensor:
    """A 1-D tensor over the bytes of `buffer` (anything with the buffer protocol), sharing
    its memory: `count` elements of `dtype` from byte `offset` (count=-1: all that remain)."""
    dt = as_dtype(dtype)
    try:
        arr = np.frombuffer(buffer, dtype=dt, count=count, offset=offset)
    except (ValueError, TypeError) as e:
        raise ValueError(f"frombuffer(): {e}") from None
    if not arr.flags.writeable:
        warnings.warn(
            "The given buffer is not writable, and PyTorch does not support non-writable "
            "tensors. This means you can write to the underlying (supposedly non-writable) "
            "buffer using the tensor. You may want to copy the buffer to protect its data or "
            "make it writable before converting it to a tensor.",
            UserWarning,
            stacklevel=2,
        )
        arr = arr.copy()  # (a NumPy view of a read-only buffer cannot be written at all)
    return _finish(arr, requires_grad)


def zeros(
    *size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None, **kw: Any
) -> Tensor:
    if device is not None:
        _check_device(device, "zeros()")
    size = _size_kw(size, kw, "zeros()")
    return _finish(np.zeros(_shape(size, "zeros()"), dtype=_float(dtype)), requires_grad)


def ones(
    *size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None, **kw: Any
) -> Tensor:
    if device is not None:
        _check_device(device, "ones()")
    size = _size_kw(size, kw, "ones()")
    return _finish(np.ones(_shape(size, "ones()"), dtype=_float(dtype)), requires_grad)


def empty(
    *size: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    memory_format: Any = _mf.contiguous_format,
    **kw: Any,
) -> Tensor:
    """Uninitialised values in PyTorch (zeros here), laid out in memory_format."""
    kw["device"] = device
    size = _size_kw(size, kw, "empty()")
    fmt = _mf.check_memory_format(memory_format, "empty()", _mf.contiguous_format)
    if fmt is _mf.preserve_format:
        raise RuntimeError("empty(): preserve_format is not supported by empty, give another")
    shape = _shape(size, "empty()")
    _mf.check_rank(shape, fmt, "empty()")
    dt = _float(dtype)
    return _finish(_mf.new_array(shape, fmt, lambda s: np.zeros(s, dt)), requires_grad)


def full(
    size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    if device is not None:
        _check_device(device, "full()")
    fill_value = _number_arg(fill_value, "full()", "fill_value")  # (its dtype does not count)
    if dtype is None:
        dtype = (
            _dtype.bool
            if isinstance(fill_value, bool)
            else _dtype.int64
            if isinstance(fill_value, int)
            else _dtype.get_default_dtype()
        )
    dt = as_dtype(dtype)
    fill_value = _dtype.fit_number(fill_value, dt, "full()", int_to_float=True)
    return _finish(np.full(_shape((size,), "full()"), fill_value, dtype=dt), requires_grad)


def _like(t: Tensor, kw: dict, what: str, fill: Callable) -> np.ndarray:
    """The new array of a *_like creator: t's shape, laid out in kw's memory_format (default
    preserve_format: t's own layout); fill(shape in memory order) makes it."""
    fmt = _mf.check_memory_format(kw.pop("memory_format", None), what, _mf.preserve_format)
    _where_kw(kw, what)
    _mf.check_rank(t._data.shape, fmt, what)
    return _mf.new_array(tuple(t.shape), _mf.resolve_format(t._data, fmt), fill)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    dt = t._data.dtype if dtype is None else as_dtype(dtype)
    return _finish(_like(t, kw, "zeros_like()", lambda s: np.zeros(s, dt)), requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    dt = t._data.dtype if dtype is None else as_dtype(dtype)
    return _finish(_like(t, kw, "ones_like()", lambda s: np.ones(s, dt)), requires_grad)


def full_like(
    t: Tensor, fill_value: Any, dtype: Any = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    dt = t._data.dtype if dtype is None else as_dtype(dtype)
    fill_value = _dtype.fit_number(
        _number_arg(fill_value, "full_like()", "fill_value"), dt, "full_like()", int_to_float=True
    )
    arr = _like(t, kw, "full_like()", lambda s: np.full(s, fill_value, dtype=dt))
    return _finish(arr, requires_grad)


def rand(
    *size: Any, dtype: Any = None, requires_grad: bool = False, generator: Any = None, **kw: Any
) -> Tensor:
    """Uniform on [0, 1): PyTorch's numbers for the same seed."""
    size = _size_kw(size, kw, "rand()")
    shape, dt = _shape(size, "rand()"), _random_float(dtype, "rand()")
    return _finish(_random.uniform(_gen(generator), shape, dt), requires_grad)


def randn(
    *size: Any, dtype: Any = None, requires_grad: bool = False, generator: Any = None, **kw: Any
) -> Tensor:
    """Standard normal: PyTorch's numbers for the same seed (float32 within a few ulp)."""
    size = _size_kw(size, kw, "randn()")
    shape, dt = _shape(size, "randn()"), _random_float(dtype, "randn()")
    return _finish(_random.normal(_gen(generator), shape, dt), requires_grad)


def _random_float(dtype: Any, what: str) -> np.dtype:
    """The float dtype to draw in (the default one unless given); integer dtypes raise, as
    PyTorch's rand/randn do."""
    dt = _float(dtype)
    if dt.kind != "f":
        raise RuntimeError(f"{what}: expected a floating point dtype, got {as_dtype(dt)}")
    return dt


def rand_like(
    t: Tensor, dtype: Any = None, requires_grad: bool = False, generator: Any = None, **kw: Any
) -> Tensor:
    dt = _random_float(t.dtype if dtype is None else dtype, "rand_like()")
    # (drawn in memory order, as PyTorch: a channels-last t gets other numbers in each place)
    arr = _like(t, kw, "rand_like()", lambda s: _random.uniform(_gen(generator), s, dt))
    return _finish(arr, requires_grad)


def randn_like(
    t: Tensor, dtype: Any = None, requires_grad: bool = False, generator: Any = None, **kw: Any
) -> Tensor:
    dt = _random_float(t.dtype if dtype is None else dtype, "randn_like()")
    fmt = _mf.check_memory_format(kw.get("memory_format"), "randn_like()", _mf.preserve_format)
    # PyTorch fills a tensor that is not contiguous one element at a time (other numbers)
    c = _mf.also_contiguous(tuple(t.shape), _mf.resolve_format(t._data, fmt))
    fill = lambda s: _random.normal(_gen(generator), s, dt, contiguous=c)  # noqa: E731
    return _finish(_like(t, kw, "randn_like()", fill), requires_grad)


def randint(
    low: int = 0,
    high: Any = None,
    size: Any = None,
    dtype: Any = None,
    requires_grad: bool = False,
    generator: Any = None,
    **kw: Any,
) -> Tensor:
    """Integers in [low, high); `randint(high, size)` and `randint(high, size=size)` as in
    PyTorch."""
    if size is None:
        low, high, size = 0, low, high
    elif high is None:  # randint(3, size=(6,)): the one number is high
        low, high = 0, low
    if size is None:
        raise TypeError("randint(): size is required")
    _where_kw(kw, "randint()")
    if high <= low:
        raise RuntimeError(f"randint(): expected low < high, got low={low} and high={high}")
    dt = _dtype.int64 if dtype is None else as_dtype(dtype)
    _random.check_int_range(low, high, dt, "randint()")
    arr = _random.integers(_gen(generator), _shape((size,), "randint()"), low, high)
    return _finish(arr.astype(dt), requires_grad)


def randperm(
    n: int,
    dtype: Any = None,
    generator: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A random permutation of 0 .. n-1 (int64): PyTorch's for the same seed."""
    if device is not None:
        _check_device(device, "randperm()")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise RuntimeError(f"randperm(): n must be a non-negative int, got {n!r}")
    dt = _dtype.int64 if dtype is None else as_dtype(dtype)
    if n - 1 > _random.largest_integer(dt):  # (PyTorch refuses values the dtype can't hold)
        raise RuntimeError(
            f"randperm(): n cannot be greater than {_random.largest_integer(dt) + 1} for {dt}"
        )
    perm = _random.permutation(_gen(generator), int(n))
    return _finish(perm.astype(dt), requires_grad)


def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Any = None,
    dtype: Any = None,
    requires_grad: bool = False,
    generator: Any = None,
    **kw: Any,
) -> Tensor:
    """Normal samples; `size` as a tuple, or the broadcast shape of tensor mean/std."""
    _where_kw(kw, "normal()")
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    if np.any(np.asarray(s) < 0):
        raise TensorValueError(f"normal(): std must be >= 0, got {std}")
    shape = (
        _shape((size,), "normal()")
        if size is not None
        else np.broadcast_shapes(np.shape(m), np.shape(s))
    )
    gen = _gen(generator)
    tensors = [t._data.dtype for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        arr = _random.normal(gen, shape, _random_float(dtype, "normal()"), m, s)
        return _finish(arr, requires_grad)
    # PyTorch's tensor forms: standard normals (times a float std), then times a tensor std,
    # then plus the mean, each step rounded in the result's dtype
    dt = _float(dtype) if dtype is not None else np.result_type(*tensors)
    if dt.kind != "f":
        raise RuntimeError(f"normal(): expected floating point mean/std, got {as_dtype(dt)}")
    if isinstance(std, Tensor):
        arr = np.multiply(_random.normal(gen, shape, dt), np.asarray(s, dt), dtype=dt)
    else:
        arr = _random.normal(gen, shape, dt, 0.0, s)
    return _finish(np.add(arr, np.asarray(m, dt), dtype=dt), requires_grad)


def _arange_floats(start: float, step: float, n: int, dtype: np.dtype) -> np.ndarray:
    """PyTorch 2.13's CPU arange values in float32/float64, bit for bit: its kernel fills
    blocks of 2 * lanes elements (lanes: 8 float32 or 4 float64, a 256-bit vector) where each
    half starts at fma(i, step, start) (in float64, rounded to the dtype) and adds j * step to
    that start (an fma in float64); the elements after the last whole block are each
    fma(i, step, start). (np.arange's start + i * step rounds twice, which shows when a value
    lands near 0: arange(-1, 1, 0.1) prints 5.5511e-17 in PyTorch, not -2.2204e-16.)"""
    i = np.arange(n, dtype=np.float64)
    out = _random._fma64(i, float(step), float(start))
    lanes = 32 // dtype.itemsize
    n_vec = n // (2 * lanes) * (2 * lanes)
    if n_vec:
        head = out[:n_vec].astype(dtype).astype(np.float64)  # each element's own fma, rounded
        base = np.repeat(head[::lanes], lanes)  # the start of its half-block
        j = np.tile(np.arange(lanes, dtype=np.float64), n_vec // lanes)
        out[:n_vec] = _random._fma64(j, float(step), base)
    return out.astype(dtype)


def arange(
    start: Any = None,
    end: Any = None,
    step: Any = 1,
    dtype: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """Values from start to end (exclusive) by step; ints give int64, floats float32."""
    _where_kw(kw, "arange()")
    # 0-d tensors count as the Python numbers they hold (arange(t.sum()) is int64 for ints)
    start, end, step = (
        v.item() if isinstance(v, Tensor) and v.ndim == 0 else v for v in (start, end, step)
    )
    if start is None:  # arange(end=5), as PyTorch's keyword form
        if end is None:
            raise TypeError("arange() missing required argument 'end'")
        start = 0
    elif end is None:
        start, end = 0, start
    if step == 0:
        raise TensorValueError("arange(): step must be nonzero")
    if not (np.isfinite(start) and np.isfinite(end)):
        raise RuntimeError(f"arange(): unsupported range: {start} -> {end}")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise RuntimeError(
            f"arange(): upper bound and lower bound inconsistent with step sign "
            f"(start={start}, end={end}, step={step})"
        )
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = _dtype.int64 if is_int else _dtype.get_default_dtype()
    dt = as_dtype(dtype)
    if dt == np.bool_:
        raise NotImplementedError("arange(): not implemented for bool (as in PyTorch)")
    n = max(0, int(np.ceil((float(end) - float(start)) / float(step))))
    if dt in (np.float32, np.float64):
        return _finish(_arange_floats(start, step, n, dt), requires_grad)
    if dt.kind in "iu" and not all(isinstance(v, (int, np.integer)) for v in (start, end, step)):
        # PyTorch truncates float arguments to integers for an integer dtype: the values are
        # int(start) + int(step) * i; int64 also counts them from the truncated ends
        start, end, step = int(start), int(end), int(step)
        if dt == np.int64:
            if step == 0:
                raise ValueError("arange(): step must be nonzero (after truncation to int64)")
            n = max(0, -((start - end) // step))
        return _finish((start + step * np.arange(n)).astype(dt), requires_grad)
    return _finish(np.arange(start, end, step).astype(dt), requires_grad)


def linspace(
    start: float, end: float, steps: int, dtype: Any = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    """`steps` values evenly spaced from start to end (both included), as PyTorch 2.13's CPU
    kernel computes them: step = (end - start) / (steps - 1) in the dtype (float64 for
    integer dtypes, whose start and end are first truncated to integers), the first half
    fma(i, step, start), the second half fma(-(steps - 1 - i), step, end), each rounded once
    to the dtype. (linspace(-1, 1, 7)'s middle value is -2.9802e-08 in float32, not 0.)"""
    _where_kw(kw, "linspace()")
    start, end, steps = (
        v.item() if isinstance(v, Tensor) and v.ndim == 0 else v for v in (start, end, steps)
    )
    if int(steps) < 0:
        raise RuntimeError(f"linspace(): number of steps must be non-negative, got {steps}")
    dt = _float(dtype)
    if dt == np.bool_ and int(steps) > 1:  # (0 or 1 values need no kernel in PyTorch either)
        raise NotImplementedError("linspace(): not implemented for bool (as in PyTorch)")
    return _finish(linspace_values(start, end, int(steps), dt), requires_grad)


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    dtype: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """base ** linspace(start, end, steps)."""
    _where_kw(kw, "logspace()")
    if dtype is not None and as_dtype(dtype) == np.bool_:
        raise NotImplementedError("logspace(): not implemented for bool (as in PyTorch)")
    vals = np.power(float(base), np.linspace(start, end, steps))
    return _finish(vals.astype(_float(dtype)), requires_grad)


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None
) -> Tensor:
    """Indices drawn with probability proportional to input's values (per row of a 2-D
    input), int64; see Tensor.multinomial."""
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial(): input must be a Tensor, got {type(input).__name__}")
    return input.multinomial(num_samples, replacement, generator=generator)


def eye(n: int, m: Any = None, dtype: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    _where_kw(kw, "eye()")
    return _finish(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def empty_like(
    input: Tensor,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = _mf.preserve_format,
) -> Tensor:
    """A new tensor of input's shape (and dtype unless given); its values are unspecified (zeros
    here)."""
    if not isinstance(input, Tensor):
        raise TypeError(
            f"empty_like(): argument 'input' must be a Tensor, got {type(input).__name__}"
        )
    dt = input._data.dtype if dtype is None else as_dtype(dtype)
    kw = {"device": device, "memory_format": memory_format}
    return _finish(_like(input, kw, "empty_like()", lambda s: np.zeros(s, dt)), requires_grad)


def randint_like(
    input: Tensor,
    low: int = 0,
    high: Any = None,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    generator: Any = None,
    memory_format: Any = _mf.preserve_format,
) -> Tensor:
    """Integers in [low, high) in input's shape (and dtype unless given); randint_like(t, high)
    as in PyTorch."""
    if not isinstance(input, Tensor):
        raise TypeError(
            f"randint_like(): argument 'input' must be a Tensor, got {type(input).__name__}"
        )
    if high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"randint_like(): expected low < high, got low={low} and high={high}")
    kw = {"device": device, "memory_format": memory_format}
    arr = _like(
        input, kw, "randint_like()", lambda s: _random.integers(_gen(generator), s, low, high)
    )
    return _finish(arr.astype(input.dtype if dtype is None else as_dtype(dtype)), requires_grad)


def scalar_tensor(s: Any, *, dtype: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    """A 0-d tensor holding the number s, of the default float dtype unless `dtype` is given
    (also for an int or bool s, as torch.scalar_tensor)."""
    _where_kw(kw, "scalar_tensor()")
    if isinstance(s, Tensor) and s.numel() != 1:
        raise TypeError(f"scalar_tensor(): s must be a number, got a tensor of shape {s.shape}")
    return full((), s, dtype=_float(dtype), requires_grad=requires_grad)


def asarray(
    obj: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    copy: bool | None = None,
    requires_grad: bool | None = None,
) -> Tensor:
    """obj as a tensor, sharing memory with it where it can (a Tensor, or a NumPy array, of
    the wanted dtype) unless copy=True; copy=False raises where a copy is needed. A Tensor
    copy stays in the graph; requires_grad=None keeps obj's flag, as PyTorch 2.13."""
    if device is not None:
        _check_device(device, "asarray()")
    want = None if dtype is None else as_dtype(dtype)
    if isinstance(obj, (Tensor, np.ndarray)):
        have = obj._data.dtype if isinstance(obj, Tensor) else obj.dtype
        convert = want is not None and want != have
        if copy is False and convert:
            raise TensorValueError(
                f"asarray(): can't alias {have} data into dtype {want} (copy=False)"
            )
        if isinstance(obj, Tensor):
            out = obj.to(want) if convert else obj.clone() if copy else obj
        else:
            out = tensor(obj, dtype=want) if convert or copy else from_numpy(obj)
    else:
        if copy is False:
            raise TensorValueError(f"asarray(): can't alias a {type(obj).__name__} into a tensor")
        out = tensor(obj, dtype=want)
    if requires_grad is not None and out.requires_grad != requires_grad:
        # (PyTorch sets the flag on a leaf it returns, and detaches anything else)
        out = out.requires_grad_(requires_grad) if out.is_leaf else out.detach()
    return out


# -- window functions (the periodic ones: a symmetric window one longer, its last point cut) --


def _window(
    what: str, length: Any, periodic: bool, dtype: Any, requires_grad: bool, kw: dict, shape: Any
) -> Tensor:
    """`shape(x)` at the points x = n / (M - 1) of [0, 1], n < M = length (+1 if periodic)."""
    _where_kw(kw, what)
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)):
        raise TypeError(f"{what}: window_length must be an int, got {length!r}")
    if length < 0:
        raise RuntimeError(f"{what}: requires non-negative window_length, got {length}")
    dt = _float(dtype)
    if dt.kind != "f":
        raise RuntimeError(f"{what}: expects a floating point dtype, got {_dtype.dtype_name(dt)}")
    if length <= 1:
        return _finish(np.ones(length, dt), requires_grad)
    m = length + 1 if periodic else length
    return _finish(shape(np.arange(m) / (m - 1))[:length].astype(dt), requires_grad)


def hann_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """0.5 - 0.5 cos(2 pi x): (window_length,)."""
    return hamming_window(
        window_length, periodic, 0.5, 0.5, dtype=dtype, requires_grad=requires_grad, **kw
    )


def hamming_window(
    window_length: int,
    periodic: bool = True,
    alpha: float = 0.54,
    beta: float = 0.46,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """alpha - beta cos(2 pi x): (window_length,)."""
    what = "hann_window()" if (alpha, beta) == (0.5, 0.5) else "hamming_window()"
    return _window(
        what,
        window_length,
        periodic,
        dtype,
        requires_grad,
        kw,
        lambda x: alpha - beta * np.cos(2 * np.pi * x),
    )


def blackman_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """0.42 - 0.5 cos(2 pi x) + 0.08 cos(4 pi x): (window_length,)."""
    return _window(
        "blackman_window()",
        window_length,
        periodic,
        dtype,
        requires_grad,
        kw,
        lambda x: 0.42 - 0.5 * np.cos(2 * np.pi * x) + 0.08 * np.cos(4 * np.pi * x),
    )


def bartlett_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """The triangle 1 - |2x - 1|: (window_length,)."""
    return _window(
        "bartlett_window()",
        window_length,
        periodic,
        dtype,
        requires_grad,
        kw,
        lambda x: 1 - np.abs(2 * x - 1),
    )


def kaiser_window(
    window_length: int,
    periodic: bool = True,
    beta: float = 12.0,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """I0(beta sqrt(1 - (2x - 1)^2)) / I0(beta) (I0: modified Bessel): (window_length,)."""
    return _window(
        "kaiser_window()",
        window_length,
        periodic,
        dtype,
        requires_grad,
        kw,
        lambda x: np.i0(beta * np.sqrt(1 - (2 * x - 1) ** 2)) / np.i0(beta),
    )


def _with_out(f: Callable) -> Callable:
    """`f`, also taking PyTorch's out= (`torch.rand(2, 2, out=c)`): the values are made in
    out's dtype (a different dtype= raises, as in PyTorch) and written into out, which is
    returned; out is resized, with a warning unless empty, when its shape differs."""

    @functools.wraps(f)
    def g(*args: Any, out: Any = None, **kw: Any) -> Tensor:
        if out is None:
            return f(*args, **kw)
        what = f"{f.__name__}()"
        if not isinstance(out, Tensor):
            raise TypeError(f"{what}: out must be a Tensor, got {type(out).__name__}")
        dtype = kw.get("dtype")
        if dtype is not None and as_dtype(dtype) != out._data.dtype:
            raise RuntimeError(
                f"{what}: dtype {_dtype.dtype_name(as_dtype(dtype))} does not match the dtype "
                f"of out ({_dtype.dtype_name(out._data.dtype)})"
            )
        _no_grad_out(what, out)
        kw["dtype"] = out._data.dtype
        return _into(out, f(*args, **kw), what)

    return g


for _name in (
    "arange empty eye full linspace logspace normal ones rand randint randn randperm zeros"
).split():
    globals()[_name] = _with_out(globals()[_name])
