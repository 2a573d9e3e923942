"""Module-level tensor functions, as `torch.cat`, `torch.where`, `torch.sum`, ...: what
`import tinyconv as torch` offers as `torch.X(t, ...)`, each an explicit def (tinyconv/__init__
re-exports them). Functional layer: built on the engine's ops and Tensor methods."""

from __future__ import annotations

import builtins
import functools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _dtype, _tensor_extra
from ._args import NUMPY_NAMED, _dim, numpy_names
from ._dtype import dtype_name
from ._errors import TensorValueError
from ._tensor_math import _float_result, _fused, _result_type, _where
from .autograd import grad_mode, ops, ops_extra
from .tensor import (
    Tensor,
    _as_tensor,
    _binary,
    _check_alpha,
    _number_arg,
    _rounded_div_op,
    _scaled,
    _tensor_other,
)
from .tensor import matmul as _matmul


def _tensors(tensors: Sequence, what: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"{what}: expected a list or tuple of tensors, got {type(tensors).__name__}"
        )
    if not tensors:
        raise TensorValueError(f"{what}: expected a non-empty list of tensors")
    return [_as_tensor(t) for t in tensors]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim; all other sizes must match."""
    ts = _tensors(tensors, "cat()")
    # a 1-D empty tensor is skipped in the shape checks (PyTorch's legacy rule; ops.Cat)
    for i, t in enumerate(ts):
        if t.ndim == 0:
            raise RuntimeError(
                f"cat(): tensor {i} is 0-d and cannot be concatenated (use stack, or "
                "unsqueeze it to shape (1,))"
            )
    legacy = [t.ndim == 1 and t.shape[0] == 0 for t in ts]
    first = legacy.index(False) if not builtins.all(legacy) else 0
    ref = ts[first]
    nd = ref.ndim
    d = _dim(dim, nd, "cat()")
    for i, t in enumerate(ts):
        if legacy[i] and i != first:
            continue
        if t.ndim != nd or t.shape[:d] + t.shape[d + 1 :] != ref.shape[:d] + ref.shape[d + 1 :]:
            raise TensorValueError(
                f"cat(): sizes of tensors must match except in dimension {d}; tensor {first} has "
                f"shape {tuple(ref.shape)} but tensor {i} has shape {tuple(t.shape)}"
            )
    return ops.Cat.apply(d, *ts)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new dim."""
    ts = _tensors(tensors, "stack()")
    for i, t in enumerate(ts):
        if t.shape != ts[0].shape:
            raise TensorValueError(
                f"stack(): all tensors must have the same shape; tensor 0 has shape "
                f"{tuple(ts[0].shape)} but tensor {i} has shape {tuple(t.shape)}"
            )
    return ops.Stack.apply(_dim(dim, ts[0].ndim + 1, "stack()"), *ts)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """Elementwise `input if condition else other`, broadcasting all three; where(condition)
    alone is nonzero(condition, as_tuple=True)."""
    if input is None and other is None:
        # (nonzero's arrays: contiguous, 0-d conditions included, as PyTorch's; NumPy's
        # np.nonzero gives strided views of one block and refuses a 0-d array)
        return _as_tensor(condition).nonzero(as_tuple=True)
    return _where(condition, input, other)


# The functions that are also Tensor methods: the same op, reached as torch.X(t, ...).


def sum(input: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """`tinyconv.sum(t, ...)` is `t.sum(...)`."""
    return _as_tensor(input).sum(dim, keepdim, dtype)


def mean(input: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """`tinyconv.mean(t, ...)` is `t.mean(...)`."""
    return _as_tensor(input).mean(dim, keepdim, dtype)


def var(
    input: Any,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> Tensor:
    """`tinyconv.var(t, ...)` is `t.var(...)`."""
    return _as_tensor(input).var(dim, unbiased, keepdim, correction=correction)


def std(
    input: Any,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> Tensor:
    """`tinyconv.std(t, ...)` is `t.std(...)`."""
    return _as_tensor(input).std(dim, unbiased, keepdim, correction=correction)


def max(input: Any, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:
    """`tinyconv.max(t, ...)` is `t.max(...)`."""
    return _as_tensor(input).max(dim, keepdim, other=other)


def min(input: Any, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:
    """`tinyconv.min(t, ...)` is `t.min(...)`."""
    return _as_tensor(input).min(dim, keepdim, other=other)


def amax(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """`tinyconv.amax(t, ...)` is `t.amax(...)`."""
    return _as_tensor(input).amax(dim, keepdim)


def amin(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """`tinyconv.amin(t, ...)` is `t.amin(...)`."""
    return _as_tensor(input).amin(dim, keepdim)


def argmax(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """`tinyconv.argmax(t, ...)` is `t.argmax(...)`."""
    return _as_tensor(input).argmax(dim, keepdim)


def argmin(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """`tinyconv.argmin(t, ...)` is `t.argmin(...)`."""
    return _as_tensor(input).argmin(dim, keepdim)


def exp(input: Any) -> Tensor:
    """`tinyconv.exp(t, ...)` is `t.exp(...)`."""
    return _as_tensor(input).exp()


def log(input: Any) -> Tensor:
    """`tinyconv.log(t, ...)` is `t.log(...)`."""
    return _as_tensor(input).log()


def sqrt(input: Any) -> Tensor:
    """`tinyconv.sqrt(t, ...)` is `t.sqrt(...)`."""
    return _as_tensor(input).sqrt()


def abs(input: Any) -> Tensor:
    """`tinyconv.abs(t, ...)` is `t.abs(...)`."""
    return _as_tensor(input).abs()


def sin(input: Any) -> Tensor:
    """`tinyconv.sin(t, ...)` is `t.sin(...)`."""
    return _as_tensor(input).sin()


def cos(input: Any) -> Tensor:
    """`tinyconv.cos(t, ...)` is `t.cos(...)`."""
    return _as_tensor(input).cos()


def relu(input: Any) -> Tensor:
    """`tinyconv.relu(t, ...)` is `t.relu(...)`."""
    return _as_tensor(input).relu()


def sigmoid(input: Any) -> Tensor:
    """`tinyconv.sigmoid(t, ...)` is `t.sigmoid(...)`."""
    return _as_tensor(input).sigmoid()


def tanh(input: Any) -> Tensor:
    """`tinyconv.tanh(t, ...)` is `t.tanh(...)`."""
    return _as_tensor(input).tanh()


def clamp(input: Any, min: Any = None, max: Any = None) -> Tensor:
    """`tinyconv.clamp(t, ...)` is `t.clamp(...)`."""
    return _as_tensor(input).clamp(min, max)


def clip(input: Any, min: Any = None, max: Any = None) -> Tensor:
    """`tinyconv.clip(t, ...)` is `t.clip(...)`."""
    return _as_tensor(input).clip(min, max)


def reshape(input: Any, *shape: Any, **kw: Any) -> Tensor:
    """`tinyconv.reshape(t, ...)` is `t.reshape(...)` (``shape=`` as PyTorch's keyword too)."""
    return _as_tensor(input).reshape(*shape, **kw)


def transpose(input: Any, dim0: int, dim1: int) -> Tensor:
    """`tinyconv.transpose(t, ...)` is `t.transpose(...)`."""
    return _as_tensor(input).transpose(dim0, dim1)


def permute(input: Any, *dims: Any, **kw: Any) -> Tensor:
    """`tinyconv.permute(t, ...)` is `t.permute(...)` (``dims=`` as PyTorch's keyword too)."""
    return _as_tensor(input).permute(*dims, **kw)


def flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """`tinyconv.flatten(t, ...)` is `t.flatten(...)`."""
    return _as_tensor(input).flatten(start_dim, end_dim)


def squeeze(input: Any, dim: Any = None) -> Tensor:
    """`tinyconv.squeeze(t, ...)` is `t.squeeze(...)`."""
    return _as_tensor(input).squeeze(dim)


def unsqueeze(input: Any, dim: int) -> Tensor:
    """`tinyconv.unsqueeze(t, ...)` is `t.unsqueeze(...)`."""
    return _as_tensor(input).unsqueeze(dim)


def flip(input: Any, *dims: Any, **kw: Any) -> Tensor:
    """`tinyconv.flip(t, ...)` is `t.flip(...)` (``dims=`` as PyTorch's keyword too)."""
    return _as_tensor(input).flip(*dims, **kw)


def square(input: Any) -> Tensor:
    """`tinyconv.square(t, ...)` is `t.square(...)`."""
    return _as_tensor(input).square()


def sign(input: Any) -> Tensor:
    """`tinyconv.sign(t, ...)` is `t.sign(...)`."""
    return _as_tensor(input).sign()


def t(input: Any) -> Tensor:
    """`tinyconv.t(t, ...)` is `t.t(...)`."""
    return _as_tensor(input).t()


def numel(input: Any) -> int:
    """`tinyconv.numel(t, ...)` is `t.numel(...)`."""
    return _as_tensor(input).numel()


def split(tensor: Any, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """`tinyconv.split(t, ...)` is `t.split(...)` (PyTorch's argument names)."""
    return _as_tensor(tensor).split(split_size_or_sections, dim)


def chunk(input: Any, chunks: int, dim: int = 0) -> tuple:
    """`tinyconv.chunk(t, ...)` is `t.chunk(...)`."""
    return _as_tensor(input).chunk(chunks, dim)


def unbind(input: Any, dim: int = 0) -> tuple:
    """`tinyconv.unbind(t, ...)` is `t.unbind(...)`."""
    return _as_tensor(input).unbind(dim)


def all(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """`tinyconv.all(t, ...)` is `t.all(...)`."""
    return _as_tensor(input).all(dim, keepdim)


def any(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """`tinyconv.any(t, ...)` is `t.any(...)`."""
    return _as_tensor(input).any(dim, keepdim)


def prod(input: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """`tinyconv.prod(t, ...)` is `t.prod(...)`."""
    return _as_tensor(input).prod(dim, keepdim, dtype)


def norm(
    input: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None
) -> Tensor:
    """`tinyconv.norm(t, ...)` is `t.norm(...)`."""
    return _as_tensor(input).norm(p, dim, keepdim, dtype)


def softmax(input: Any, dim: Any, dtype: Any = None) -> Tensor:
    """`tinyconv.softmax(t, ...)` is `t.softmax(...)`."""
    return _as_tensor(input).softmax(dim, dtype)


def log_softmax(input: Any, dim: Any, dtype: Any = None) -> Tensor:
    """`tinyconv.log_softmax(t, ...)` is `t.log_softmax(...)`."""
    return _as_tensor(input).log_softmax(dim, dtype)


def maximum(input: Any, other: Any) -> Tensor:
    return _tensor_arg(input, "maximum()").maximum(other)


def minimum(input: Any, other: Any) -> Tensor:
    return _tensor_arg(input, "minimum()").minimum(other)


def _no_grad_out(what: str, *args: Any) -> None:
    """PyTorch's rule: an op with out=... records no graph, so no argument may require grad."""
    if grad_mode.enabled and builtins.any(isinstance(a, Tensor) and a.requires_grad for a in args):
        raise RuntimeError(
            f"{what}: functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad; drop out= "
            "(y = f(...)) or run it under tinyconv.no_grad()"
        )


def _refuse_out_overlap(out: Any, inputs: Any, what: str) -> None:
    """PyTorch refuses an out= that shares part of an input's memory (its result would depend
    on the order of the writes)."""
    if isinstance(out, Tensor):
        out._refuse_partial_overlap([a for a in inputs if isinstance(a, Tensor)], what)


def _into(out: Any, result: Tensor, what: str) -> Tensor:
    """Write `result` into the existing tensor `out` (the out= keyword) and return `out`.

    As in PyTorch: out keeps its dtype (the result is cast to it if that is a same-kind
    cast); an out of the wrong shape is resized, with a warning unless it was empty.
    """
    if not isinstance(out, Tensor):
        raise TypeError(f"{what}: out must be a Tensor, got {type(out).__name__}")
    res = result._data
    if not _dtype.can_cast(res.dtype, out._data.dtype):
        raise RuntimeError(
            f"{what}: result type {dtype_name(res.dtype)} can't be cast to the desired "
            f"output type {dtype_name(out._data.dtype)} (out=)"
        )
    if res.shape != out._data.shape:
        if out._data.size:
            warnings.warn(
                f"{what}: an output with one or more elements was resized since it had shape "
                f"{tuple(out.shape)}, which does not match the required output shape "
                f"{tuple(res.shape)}",
                UserWarning,
                stacklevel=3,
            )
        out._data = np.empty(res.shape, dtype=out._data.dtype)
    out._data[...] = res
    out._vc[0] += 1
    return out


# PyTorch's functions that take out= (checked against PyTorch 2.13) beyond those above and
# the creation functions, which take it in their own signature: tinyconv/__init__.py gives
# each this keyword through accepting_out.
OUT_FUNCTIONS = (
    "abs absolute acos acosh addbmm addcdiv addcmul addmm addmv addr all amax amin aminmax angle "
    "any arccos arccosh arcsin arcsinh arctan arctan2 arctanh argmax argmin asin asinh atan atan2 "
    "atanh baddbmm bitwise_and bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift "
    "bitwise_xor bmm bucketize cat ceil chain_matmul cholesky cholesky_inverse cholesky_solve "
    "clamp clamp_max clamp_min clip column_stack concat concatenate conj_physical copysign cos "
    "cosh cross cummax cummin cumprod cumsum deg2rad diag diff digamma dot dstack eq erf erfc "
    "erfinv exp exp2 expm1 fix float_power floor fmax fmin fmod frac frexp gather gcd ge ger "
    "greater greater_equal gt heaviside histc histogram hstack hypot i0 igamma igammac "
    "index_select inner inverse isneginf isposinf kthvalue lcm ldexp le lerp less less_equal "
    "lgamma log log10 log1p log2 logaddexp logaddexp2 logcumsumexp logsumexp lt lu lu_solve "
    "masked_select max maximum mean median min minimum mm mode msort multinomial mv nan_to_num "
    "nanmean nanmedian nanquantile ne neg negative nextafter norm not_equal outer polygamma pow "
    "prod qr quantile rad2deg reciprocal remainder renorm round row_stack rsqrt searchsorted "
    "sgn sigmoid sign signbit sin sinc sinh sort sqrt square stack std sum svd take_along_dim "
    "tan tanh tensordot topk tril triu trunc var vdot vstack where xlogy"
).split()


def _tensors_in(values: Any) -> list:
    """The Tensors among `values`, and in the lists and tuples among them (cat's inputs)."""
    found = []
    for v in values:
        if isinstance(v, (list, tuple)):
            found += [t for t in v if isinstance(t, Tensor)]
        elif isinstance(v, Tensor):
            found.append(v)
    return found


def accepting_out(f: Any, name: str) -> Any:
    """`f`, also taking PyTorch's out=: the result is computed as without it, then written
    into out (a Tensor, or a tuple of them where the result is a tuple: max(dim), sort, ...)
    by _into, and out is returned; no argument may require grad (PyTorch's rule)."""

    @functools.wraps(f)
    def with_out(*args: Any, out: Any = None, **kw: Any) -> Any:
        if out is None:
            return f(*args, **kw)
        what = f"{name}()"
        outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        inputs = [*_tensors_in(args), *_tensors_in(kw.values())]
        _no_grad_out(what, *inputs, *outs)
        for o in outs:
            _refuse_out_overlap(o, inputs, what)
        result = f(*args, **kw)
        if not isinstance(result, tuple):
            if len(outs) != 1 or out is not outs[0]:
                raise TypeError(f"{what}: out must be a Tensor, got {type(out).__name__}")
            return _into(out, result, what)
        if len(outs) != len(result) or out is outs[0]:
            raise TypeError(
                f"{what}: out must be a tuple of {len(result)} Tensors (the result's parts), "
                f"got {type(out).__name__}"
            )
        written = [_into(o, r, what) for o, r in zip(outs, result, strict=True)]
        return type(result)(*written) if hasattr(result, "_fields") else tuple(written)

    return with_out


def _number_first(input: Any, other: Any) -> bool:
    """Is this `torch.op(number, tensor)`? PyTorch wraps the number as a scalar operand that
    keeps its double value and takes no part in the promotion, as `number op tensor` does, so
    these run as the reflected operator (a float32 0-d tensor made of it would round 0.1
    first: torch.sub(0.1, float64 x) was off by 1.5e-9)."""
    return (
        isinstance(other, Tensor)
        and isinstance(input, (builtins.int, builtins.float, np.integer, np.floating))
        and not isinstance(input, np.ndarray)
    )


def _scaled_number_op(
    op: Any, input: Any, other: Tensor, alpha: Any, name: str, what: str
) -> Tensor:
    """`input op alpha * other` for a Python number `input` (add and sub), under the name
    of PyTorch's node (the wrapped number has no edge)."""
    alpha = _number_arg(alpha, what, "alpha")
    _check_alpha(other, input, alpha, what)
    return _fused(_binary(op, _scaled(other, other, alpha), input, True), name, None, other)


def _add(input: Any, other: Any, alpha: Any) -> Tensor:
    if _number_first(input, other):
        return _scaled_number_op(ops.Add, input, other, alpha, "AddBackward0", "add()")
    return _as_tensor(input).add(other, alpha)


def _sub(input: Any, other: Any, alpha: Any) -> Tensor:
    if _number_first(input, other):
        return _scaled_number_op(ops.Sub, input, other, alpha, "SubBackward0", "sub()")
    return _as_tensor(input).sub(other, alpha)


def _mul(input: Any, other: Any) -> Tensor:
    if _number_first(input, other):
        return _fused(other.__rmul__(input), "MulBackward0", None, other)
    return _as_tensor(input) * other


def _div(input: Any, other: Any, rounding_mode: str | None) -> Tensor:
    if _number_first(input, other):
        if rounding_mode is None:
            return _fused(other.__rtruediv__(input), "DivBackward0", None, other)
        return _binary(_rounded_div_op(rounding_mode), other, input, True)
    return _as_tensor(input).div(other, rounding_mode=rounding_mode)


def add(input: Any, other: Any, alpha: Any = 1, *, out: Tensor | None = None) -> Tensor:
    if out is None:
        return _add(input, other, alpha)
    _no_grad_out("add()", input, other, out)
    _refuse_out_overlap(out, (input, other), "add()")
    return _into(out, _add(input, other, alpha), "add()")


def sub(input: Any, other: Any, alpha: Any = 1, *, out: Tensor | None = None) -> Tensor:
    if out is None:
        return _sub(input, other, alpha)
    _no_grad_out("sub()", input, other, out)
    _refuse_out_overlap(out, (input, other), "sub()")
    return _into(out, _sub(input, other, alpha), "sub()")


def mul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    if out is None:
        return _mul(input, other)
    _no_grad_out("mul()", input, other, out)
    _refuse_out_overlap(out, (input, other), "mul()")
    return _into(out, _mul(input, other), "mul()")


def div(
    input: Any, other: Any, *, rounding_mode: str | None = None, out: Tensor | None = None
) -> Tensor:
    if out is None:
        return _div(input, other, rounding_mode)
    _no_grad_out("div()", input, other, out)
    _refuse_out_overlap(out, (input, other), "div()")
    return _into(out, _div(input, other, rounding_mode), "div()")


divide = div  # PyTorch's alias of div


def matmul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """Matrix product with broadcasting, `(..., n, k) @ (..., k, m)`; with out=, written into
    out."""
    if out is None:
        return _matmul(input, other)
    _no_grad_out("matmul()", input, other, out)
    _refuse_out_overlap(out, (input, other), "matmul()")
    return _into(out, _matmul(input, other), "matmul()")


def pow(input: Any = None, exponent: Any = None, *, self: Any = None) -> Tensor:
    """input ** exponent; a number base comes as `self=` in PyTorch's keyword form."""
    if input is None:
        input = self
    if isinstance(input, Tensor):
        return input**exponent
    return _as_tensor(exponent).__rpow__(input)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    return _as_tensor(input).mm(mat2)


def dot(input: Tensor, other: Tensor) -> Tensor:
    return _as_tensor(input).dot(other)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def is_inference(input: Tensor) -> bool:
    """Was `input` made in inference mode (or is it a view of such a tensor)?"""
    if not isinstance(input, Tensor):
        raise TypeError(
            "is_inference(): argument 'input' (position 1) must be Tensor, not "
            f"{type(input).__name__}"
        )
    return input.is_inference()


def is_floating_point(t: Tensor) -> bool:
    return t.is_floating_point()


def is_complex(t: Tensor) -> bool:
    """False: tinyconv has no complex dtypes."""
    return t.is_complex()


class finfo:
    """Machine limits of a floating dtype (default: the default dtype), as torch.finfo:
    bits, eps, max, min, tiny (= smallest_normal), resolution (Python numbers) and dtype
    (its name). tinyconv's dtypes are NumPy's, so the values are np.finfo's."""

    def __init__(self, type: Any = None) -> None:  # noqa: A002 (PyTorch's argument name)
        d = _dtype.get_default_dtype() if type is None else _dtype.as_dtype(type)
        if d.kind != "f":
            raise TypeError(
                f"finfo(): expected a floating point dtype, got {dtype_name(d)} (use iinfo)"
            )
        info = np.finfo(d)
        self.bits = builtins.int(info.bits)
        self.eps = builtins.float(info.eps)
        self.max = builtins.float(info.max)
        self.min = builtins.float(info.min)
        self.tiny = self.smallest_normal = builtins.float(info.smallest_normal)
        self.resolution = 10.0 ** -builtins.int(info.precision)  # (np.finfo rounds it to the dtype)
        self.dtype = dtype_name(d).split(".")[1]

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, "
            f"dtype={self.dtype})"
        )


class iinfo:
    """Limits of an integer dtype, as torch.iinfo: bits, min, max (Python ints), dtype."""

    def __init__(self, type: Any) -> None:  # noqa: A002 (PyTorch's argument name)
        d = _dtype.as_dtype(type)
        if d.kind not in "iu":
            raise TypeError(
                f"iinfo(): expected an integer dtype, got {dtype_name(d)}"
                + (" (use finfo)" if d.kind == "f" else "")
            )
        info = np.iinfo(d)
        self.bits = builtins.int(info.bits)
        self.min = builtins.int(info.min)
        self.max = builtins.int(info.max)
        self.dtype = dtype_name(d).split(".")[1]

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def isclose(
    input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> Tensor:
    return _tensor_arg(input, "isclose()").isclose(other, rtol, atol, equal_nan)


def equal(input: Tensor, other: Tensor) -> bool:
    a, b = _as_tensor(input)._data, _as_tensor(other)._data
    return a.shape == b.shape and bool(np.array_equal(a, b))


def isnan(input: Tensor) -> Tensor:
    return Tensor._make(np.isnan(_as_tensor(input)._data), None, False)


def isfinite(input: Tensor) -> Tensor:
    return Tensor._make(np.isfinite(_as_tensor(input)._data), None, False)


# -- more maths (each `tinyconv.f(t, ...)` is `t.f(...)`, with PyTorch's signature) ----------


def floor(input: Tensor) -> Tensor:
    return _as_tensor(input).floor()


def ceil(input: Tensor) -> Tensor:
    return _as_tensor(input).ceil()


def trunc(input: Tensor) -> Tensor:
    return _as_tensor(input).trunc()


def round(input: Tensor, *, decimals: int | None = None) -> Tensor:
    return _as_tensor(input).round(decimals)


def frac(input: Tensor) -> Tensor:
    return _as_tensor(input).frac()


def reciprocal(input: Tensor) -> Tensor:
    return _as_tensor(input).reciprocal()


def rsqrt(input: Tensor) -> Tensor:
    return _as_tensor(input).rsqrt()


def exp2(input: Tensor) -> Tensor:
    return _as_tensor(input).exp2()


def expm1(input: Tensor) -> Tensor:
    return _as_tensor(input).expm1()


def log1p(input: Tensor) -> Tensor:
    return _as_tensor(input).log1p()


def log2(input: Tensor) -> Tensor:
    return _as_tensor(input).log2()


def log10(input: Tensor) -> Tensor:
    return _as_tensor(input).log10()


def sinh(input: Tensor) -> Tensor:
    return _as_tensor(input).sinh()


def cosh(input: Tensor) -> Tensor:
    return _as_tensor(input).cosh()


def asin(input: Tensor) -> Tensor:
    return _as_tensor(input).asin()


def asinh(input: Tensor) -> Tensor:
    return _as_tensor(input).asinh()


def acosh(input: Tensor) -> Tensor:
    return _as_tensor(input).acosh()


def atanh(input: Tensor) -> Tensor:
    return _as_tensor(input).atanh()


def arcsinh(input: Tensor) -> Tensor:
    return _as_tensor(input).arcsinh()


def arccosh(input: Tensor) -> Tensor:
    return _as_tensor(input).arccosh()


def arctanh(input: Tensor) -> Tensor:
    return _as_tensor(input).arctanh()


def absolute(input: Tensor) -> Tensor:
    return _as_tensor(input).absolute()


def deg2rad(input: Tensor) -> Tensor:
    return _as_tensor(input).deg2rad()


def rad2deg(input: Tensor) -> Tensor:
    return _as_tensor(input).rad2deg()


def acos(input: Tensor) -> Tensor:
    return _as_tensor(input).acos()


def atan(input: Tensor) -> Tensor:
    return _as_tensor(input).atan()


def atan2(input: Tensor, other: Any) -> Tensor:
    return _tensor_arg(input, "atan2()").atan2(_tensor_other(other, "atan2()"))


def erf(input: Tensor) -> Tensor:
    return _as_tensor(input).erf()


def erfinv(input: Tensor) -> Tensor:
    return _as_tensor(input).erfinv()


def bernoulli(input: Tensor, p: Any = None, *, generator: Any = None) -> Tensor:
    """1 with probability `input` (elementwise; or the number p), else 0, in input's shape and
    dtype: PyTorch's draws for the same seed."""
    if not isinstance(input, Tensor):
        raise TypeError(
            f"bernoulli(): argument 'input' must be a Tensor, got {type(input).__name__}"
        )
    return input.bernoulli(p, generator=generator)


def poisson(input: Tensor, generator: Any = None) -> Tensor:
    """Poisson counts with rates `input` (float, >= 0), in input's shape and dtype: PyTorch's
    draws for the same seed. Requires grad when input does; the gradient is zero."""
    if not isinstance(input, Tensor):
        raise TypeError(f"poisson(): argument 'input' must be a Tensor, got {type(input).__name__}")
    return ops.Poisson.apply(input, generator)


def lgamma(input: Tensor) -> Tensor:
    return _as_tensor(input).lgamma()


def digamma(input: Tensor) -> Tensor:
    return _as_tensor(input).digamma()


def polygamma(n: int, input: Tensor) -> Tensor:
    return _as_tensor(input).polygamma(n)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    return _as_tensor(input).index_add(dim, index, source, alpha=alpha)


def scatter_reduce(
    input: Tensor,
    dim: int,
    index: Tensor,
    src: Tensor,
    reduce: str,
    *,
    include_self: bool = True,
) -> Tensor:
    return _as_tensor(input).scatter_reduce(dim, index, src, reduce, include_self=include_self)


def index_reduce(
    input: Tensor,
    dim: int,
    index: Tensor,
    source: Tensor,
    reduce: str,
    *,
    include_self: bool = True,
) -> Tensor:
    return _as_tensor(input).index_reduce(dim, index, source, reduce, include_self=include_self)


def det(input: Tensor) -> Tensor:
    return _as_tensor(input).det()


def inverse(input: Tensor) -> Tensor:
    return _as_tensor(input).inverse()


def matrix_exp(A: Tensor) -> Tensor:
    return _as_tensor(A).matrix_exp()


def slogdet(input: Tensor) -> tuple:
    return _as_tensor(input).slogdet()


def logdet(input: Tensor) -> Tensor:
    return _as_tensor(input).logdet()


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    return _as_tensor(input).index_copy(dim, index, source)


def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    return _as_tensor(input).index_fill(dim, index, value)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    return _as_tensor(input).masked_scatter(mask, source)


def neg(input: Tensor) -> Tensor:
    return -_as_tensor(input)


arcsin, arccos, arctan, arctan2, negative, fix = asin, acos, atan, atan2, neg, trunc


def lerp(input: Tensor, end: Any, weight: Any) -> Tensor:
    return _as_tensor(input).lerp(end, weight)


def addcmul(input: Tensor, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    return _as_tensor(input).addcmul(tensor1, tensor2, value=value)


def addcdiv(input: Tensor, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    return _as_tensor(input).addcdiv(tensor1, tensor2, value=value)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    return _as_tensor(input).logsumexp(dim, keepdim)


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return _as_tensor(input).cumsum(dim, dtype)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return _as_tensor(input).cumprod(dim, dtype)


def diff(
    input: Tensor, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None
) -> Tensor:
    return _as_tensor(input).diff(n, dim, prepend, append)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    return _as_tensor(input).gather(dim, index, sparse_grad=sparse_grad)


def scatter(
    input: Tensor,
    dim: int,
    index: Tensor,
    src: Any = None,
    value: Any = None,
    *,
    reduce: Any = None,
) -> Tensor:
    return _as_tensor(input).scatter(dim, index, src, value, reduce=reduce)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    return _as_tensor(input).scatter_add(dim, index, src)


def svd(input: Tensor, some: bool = True, compute_uv: bool = True) -> tuple:
    """The older SVD, (U, S, V): Tensor.svd."""
    return _as_tensor(input).svd(some, compute_uv)


def qr(input: Tensor, some: bool = True) -> tuple:
    """The older QR, (Q, R): Tensor.qr (linalg.qr with mode 'reduced' or 'complete')."""
    return _as_tensor(input).qr(some)


def cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """The older Cholesky: Tensor.cholesky (linalg.cholesky, upper=True its transpose)."""
    return _as_tensor(input).cholesky(upper)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    return _as_tensor(input).index_select(dim, index)


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    return _as_tensor(input).masked_fill(mask, value)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    return _as_tensor(input).narrow(dim, start, length)


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    return _as_tensor(input).roll(shifts, dims)


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    return _as_tensor(input).tile(dims)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    return _as_tensor(input).outer(vec2)


ger = outer


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    return _as_tensor(input).tril(diagonal)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    return _as_tensor(input).triu(diagonal)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
    return _as_tensor(input).topk(k, dim, largest, sorted)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
    return _as_tensor(input).sort(dim, descending, stable)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    return _as_tensor(input).argsort(dim, descending, stable)


def _einsum_sublist(n: Any) -> str:
    if n is Ellipsis:
        return "..."
    if isinstance(n, (builtins.int, np.integer)) and 0 <= n < 26:
        return chr(ord("A") + builtins.int(n))
    if isinstance(n, (builtins.int, np.integer)) and 26 <= n < 52:
        return chr(ord("a") + builtins.int(n) - 26)
    raise ValueError("einsum(): subscript in subscript list is not within the valid range [0, 52)")


def einsum(equation: Any, *operands: Any) -> Tensor:
    """Sum of products over the subscripts in `equation` ('ij,jk->ik', 'bij,bjk->bik',
    '...ij->...ji', 'ii->i'); operands as separate arguments or one list. Or PyTorch's
    sublist form: einsum(x, [0, 1], y, [1, 2], [0, 2]) (ints 0-51 for subscripts, ... for an
    ellipsis, the output's list optional)."""
    if isinstance(equation, Tensor):  # the sublist form: operand, subscripts, operand, ...
        args = (equation, *operands)
        equation = ",".join("".join(_einsum_sublist(s) for s in sub) for sub in args[1::2])
        if len(args) % 2 == 1:
            equation += "->" + "".join(_einsum_sublist(s) for s in args[-1])
            operands = args[:-1:2]
        else:
            operands = args[::2]
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): equation must be a string, got {type(equation).__name__}")
    ts = [_as_tensor(t) for t in operands]
    if not ts:
        raise TensorValueError("einsum(): expected at least one operand")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(ts):
        raise TensorValueError(
            f"einsum(): equation {equation!r} names {len(subs)} operand(s) but {len(ts)} were given"
        )
    # expand '...' into letters the equation does not use, right-aligned (broadcast) per operand
    used = set(eq)
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    n_ell = 0
    for s, t in zip(subs, ts, strict=False):
        if "..." in s:
            n_ell = builtins.max(n_ell, t.ndim - (len(s) - 3))
    ell = "".join(spare[:n_ell])
    full = []
    for i, (s, t) in enumerate(zip(subs, ts, strict=False)):
        if "..." in s:
            k = t.ndim - (len(s) - 3)
            s = s.replace("...", ell[n_ell - k :] if k else "")
        if not s.isalpha() and s:
            raise TensorValueError(f"einsum(): invalid subscripts {subs[i]!r} in {equation!r}")
        if len(s) != t.ndim:
            raise TensorValueError(
                f"einsum(): operand {i} has {t.ndim} dimension(s) but subscripts "
                f"{subs[i]!r} name {len(s)}"
            )
        full.append(s)
    if arrow:
        out = rhs.replace("...", ell)
    else:  # implicit output: '...' first, then the letters used once, alphabetically
        letters = "".join(full)
        out = ell + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell)
        )
    sizes: dict = {}
    for i, (s, t) in enumerate(zip(full, ts, strict=False)):
        own: dict = {}  # a subscript repeated within one operand (a diagonal) never broadcasts
        for c, n in zip(s, t.shape, strict=False):
            if own.setdefault(c, n) != n:
                raise TensorValueError(
                    f"einsum(): subscript {c} is repeated for operand {i} but the sizes don't "
                    f"match, {own[c]} != {n}"
                )
        for c, n in zip(s, t.shape, strict=False):
            if sizes.setdefault(c, n) != n and n != 1 and sizes[c] != 1:
                raise TensorValueError(
                    f"einsum(): subscript {c!r} has size {n} in operand {i} but "
                    f"{sizes[c]} elsewhere ({equation!r})"
                )
            sizes[c] = n if sizes[c] == 1 else sizes[c]  # (1 broadcasts, to 0 too)
    for c in out:
        if c not in sizes:
            raise TensorValueError(
                f"einsum(): output subscript {c!r} does not appear in the inputs ({equation!r})"
            )
    dt = _result_type(*(t._data for t in ts))
    summed = set("".join(full)) - set(out)
    # letters contracted between operands that all have them longer than 1 (a size-1 one is
    # summed apart and multiplied, which promotes)
    shared = {
        c
        for c in summed
        if builtins.sum(c in s for s in full) > 1
        and builtins.all(
            n > 1
            for s, t in zip(full, ts, strict=True)
            for d, n in zip(s, t.shape, strict=True)
            if d == c
        )
    }
    if shared and len({t._data.dtype for t in ts}) > 1:
        # PyTorch contracts with bmm, which does not promote (products alone are promoted)
        raise RuntimeError(
            f"einsum(): contracted operands must have the same dtype, got "
            f"{', '.join(dtype_name(t._data.dtype) for t in ts)}"
        )
    if len(ts) == 1 and summed and dt.kind in "biu":
        dt = np.dtype(np.int64)  # PyTorch sums one operand with sum(): integers give int64
    elif dt == np.bool_ and summed:  # (contracted with bmm, which has no bool kernel)
        raise NotImplementedError("einsum(): a contraction of bool tensors is not implemented")
    ts = [t if t._data.dtype == dt else t.to(dt) for t in ts]
    # broadcast size-1 dims explicitly (np.einsum does not), so backward sums them back
    ts = [
        t.expand(tuple(sizes[c] for c in s))
        if builtins.any(n != sizes[c] for c, n in zip(s, t.shape, strict=False))
        else t
        for s, t in zip(full, ts, strict=False)
    ]
    if len(ts) <= 2:
        return ops_extra.Einsum.apply(full, out, *ts)
    # three or more operands: contract them pairwise, left to right, as PyTorch does (without
    # opt_einsum). np.einsum on all of them at once loops over every letter together
    # ('bij,bjk,bkl->bil', 64x32x64x48x32 float32: 171 ms forward, 836 ms with backward; pairwise
    # 2.3 / 6.5 ms, PyTorch 0.9 / 3.1 ms), and each pair's backward is a two-operand einsum too
    acc_sub, acc = full[0], ts[0]
    for j in range(1, len(ts)):
        if j == len(ts) - 1:
            keep = out
        else:
            later = set(out).union(*full[j + 1 :])
            keep = "".join(c for c in dict.fromkeys(acc_sub + full[j]) if c in later)
        acc = ops_extra.Einsum.apply([acc_sub, full[j]], keep, acc, ts[j])
        acc_sub = keep
    if acc.grad_fn is not None:  # named as the whole equation's node would be
        acc.grad_fn.torch_name = (
            "MulBackward0" if set(out) == set("".join(full)) else "ViewBackward0"
        )
    return acc


def allclose(
    input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> bool:
    """|input - other| <= atol + rtol * |other| everywhere; the dtypes must match (as PyTorch)."""
    return _as_tensor(input).allclose(other, rtol, atol, equal_nan)


# -- breadth: more of PyTorch's module-level tensor functions (tests/test_breadth.py) ------------


def _tensor_arg(input: Any, what: str, name: str = "input") -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{what}: argument '{name}' must be a Tensor, got {type(input).__name__}")
    return input


def isinf(input: Tensor) -> Tensor:
    return _tensor_arg(input, "isinf()").isinf()


def isposinf(input: Tensor) -> Tensor:
    return _tensor_arg(input, "isposinf()").isposinf()


def isneginf(input: Tensor) -> Tensor:
    return _tensor_arg(input, "isneginf()").isneginf()


def nan_to_num(
    input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    return _tensor_arg(input, "nan_to_num()").nan_to_num(nan, posinf, neginf)


def nan_to_num_(
    input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    return _tensor_arg(input, "nan_to_num_()").nan_to_num_(nan, posinf, neginf)


def eq(input: Tensor, other: Any) -> Tensor:
    return _tensor_arg(input, "eq()").eq(other)


def ne(input: Tensor, other: Any) -> Tensor:
    return _tensor_arg(input, "ne()").ne(other)


def gt(input: Tensor, other: Any) -> Tensor:
    return _tensor_arg(input, "gt()").gt(other)


def ge(input: Tensor, other: Any) -> Tensor:
    return _tensor_arg(input, "ge()").ge(other)


def lt(input: Tensor, other: Any) -> Tensor:
    return _tensor_arg(input, "lt()").lt(other)


def le(input: Tensor, other: Any) -> Tensor:
    return _tensor_arg(input, "le()").le(other)


def logical_and(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    res = _tensor_arg(input, "logical_and()").logical_and(other)
    return res if out is None else _into(out, res, "logical_and()")


def logical_or(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    res = _tensor_arg(input, "logical_or()").logical_or(other)
    return res if out is None else _into(out, res, "logical_or()")


def logical_xor(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    res = _tensor_arg(input, "logical_xor()").logical_xor(other)
    return res if out is None else _into(out, res, "logical_xor()")


def logical_not(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    res = _tensor_arg(input, "logical_not()").logical_not()
    return res if out is None else _into(out, res, "logical_not()")


def _bitwise(input: Any, other: Any, method: str) -> Tensor:
    # PyTorch takes a number for either operand (bitwise_and(1, t)), not both
    if isinstance(input, Tensor):
        return getattr(input, method)(other)
    return getattr(_tensor_arg(other, f"{method}()", "other"), method)(input)


def bitwise_and(input: Any, other: Any) -> Tensor:
    return _bitwise(input, other, "bitwise_and")


def bitwise_or(input: Any, other: Any) -> Tensor:
    return _bitwise(input, other, "bitwise_or")


def bitwise_xor(input: Any, other: Any) -> Tensor:
    return _bitwise(input, other, "bitwise_xor")


def bitwise_left_shift(input: Any, other: Any) -> Tensor:
    if isinstance(input, Tensor):
        return input << other
    return _tensor_arg(other, "bitwise_left_shift()", "other").__rlshift__(input)


def bitwise_right_shift(input: Any, other: Any) -> Tensor:
    if isinstance(input, Tensor):
        return input >> other
    return _tensor_arg(other, "bitwise_right_shift()", "other").__rrshift__(input)


def bitwise_not(input: Tensor) -> Tensor:
    return _tensor_arg(input, "bitwise_not()").bitwise_not()


def clamp_min(input: Tensor, min: Any) -> Tensor:
    return _tensor_arg(input, "clamp_min()").clamp_min(min)


def clamp_max(input: Tensor, max: Any) -> Tensor:
    return _tensor_arg(input, "clamp_max()").clamp_max(max)


def clamp_min_(input: Tensor, min: Any) -> Tensor:
    return _tensor_arg(input, "clamp_min_()").clamp_min_(min)


def clamp_max_(input: Tensor, max: Any) -> Tensor:
    return _tensor_arg(input, "clamp_max_()").clamp_max_(max)


def abs_(input: Tensor) -> Tensor:
    return _tensor_arg(input, "abs_()").abs_()


def sqrt_(input: Tensor) -> Tensor:
    return _tensor_arg(input, "sqrt_()").sqrt_()


def exp_(input: Tensor) -> Tensor:
    return _tensor_arg(input, "exp_()").exp_()


def log_(input: Tensor) -> Tensor:
    return _tensor_arg(input, "log_()").log_()


def sigmoid_(input: Tensor) -> Tensor:
    return _tensor_arg(input, "sigmoid_()").sigmoid_()


def tanh_(input: Tensor) -> Tensor:
    return _tensor_arg(input, "tanh_()").tanh_()


def relu_(input: Tensor) -> Tensor:
    return _tensor_arg(input, "relu_()").relu_()


def neg_(input: Tensor) -> Tensor:
    return _tensor_arg(input, "neg_()").neg_()


def reciprocal_(input: Tensor) -> Tensor:
    return _tensor_arg(input, "reciprocal_()").reciprocal_()


def tan(input: Tensor) -> Tensor:
    return _tensor_arg(input, "tan()").tan()


def tan_(input: Tensor) -> Tensor:
    return _tensor_arg(input, "tan_()").tan_()


def hypot(input: Tensor, other: Tensor) -> Tensor:
    return _tensor_arg(input, "hypot()").hypot(other)


def true_divide(input: Tensor, other: Any) -> Tensor:
    if not isinstance(input, Tensor) and isinstance(other, Tensor):
        return input / other  # (a number first, as PyTorch takes it)
    return _tensor_arg(input, "true_divide()").true_divide(other)


def remainder(input: Any, other: Any) -> Tensor:
    if isinstance(input, Tensor):
        return input.remainder(other)
    return _tensor_arg(other, "remainder()", "other").__rmod__(input)  # remainder(5, t), as PyTorch


def floor_divide(input: Tensor, other: Any) -> Tensor:
    if not isinstance(input, Tensor) and isinstance(other, Tensor):
        return input // other  # (a number first, as PyTorch takes it)
    return _tensor_arg(input, "floor_divide()").floor_divide(other)


def trace(input: Tensor) -> Tensor:
    return _tensor_arg(input, "trace()").trace()


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    return _tensor_arg(input, "count_nonzero()").count_nonzero(dim)


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    return _tensor_arg(input, "nansum()").nansum(dim, keepdim, dtype=dtype)


def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    return _tensor_arg(input, "nanmean()").nanmean(dim, keepdim, dtype=dtype)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    return _tensor_arg(input, "mv()").mv(vec)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    return _tensor_arg(input, "bmm()").bmm(mat2)


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    return _tensor_arg(input, "movedim()").movedim(source, destination)


moveaxis = movedim


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    return _tensor_arg(input, "swapdims()").transpose(dim0, dim1)


swapaxes = swapdims


def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    return _tensor_arg(input, "broadcast_to()").broadcast_to(size)


def broadcast_tensors(*tensors: Tensor) -> tuple:
    """Each tensor expanded (a view) to the shape all of them broadcast to (itself if it has it)."""
    ts = [_tensor_arg(t, "broadcast_tensors()", "tensors") for t in tensors]
    try:
        shape = np.broadcast_shapes(*(tuple(t.shape) for t in ts))
    except ValueError:
        raise RuntimeError(
            "broadcast_tensors(): shapes "
            + ", ".join(str(tuple(t.shape)) for t in ts)
            + " can't be broadcast together"
        ) from None
    # a tensor already of that shape comes back as itself (PyTorch's choice: no new node)
    return tuple(t if tuple(t.shape) == shape else t.expand(*shape) for t in ts)


def flipud(input: Tensor) -> Tensor:
    return _tensor_arg(input, "flipud()").flipud()


def fliplr(input: Tensor) -> Tensor:
    return _tensor_arg(input, "fliplr()").fliplr()


def select(input: Tensor, dim: int, index: int) -> Tensor:
    return _tensor_arg(input, "select()").select(dim, index)


def atleast_1d(*tensors: Any) -> Any:
    """A 0-d tensor as shape (1,); others unchanged (one tensor in, one out; several in, a
    tuple)."""
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(t.reshape(1) if t.dim() == 0 else t for t in ts)
    return out[0] if len(tensors) == 1 and isinstance(tensors[0], Tensor) else out


def atleast_2d(*tensors: Any) -> Any:
    """0-d -> (1, 1), (n,) -> (1, n); others unchanged."""
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(
        t.reshape(1, 1) if t.dim() == 0 else t.unsqueeze(0) if t.dim() == 1 else t for t in ts
    )
    return out[0] if len(tensors) == 1 and isinstance(tensors[0], Tensor) else out


def atleast_3d(*tensors: Any) -> Any:
    """0-d -> (1, 1, 1), (n,) -> (1, n, 1), (m, n) -> (m, n, 1); others unchanged."""
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors

    def one(t: Tensor) -> Tensor:
        if t.dim() == 0:
            return t.reshape(1, 1, 1)
        if t.dim() == 1:
            return t.unsqueeze(0).unsqueeze(-1)
        return t.unsqueeze(-1) if t.dim() == 2 else t

    out = tuple(one(t) for t in ts)
    return out[0] if len(tensors) == 1 and isinstance(tensors[0], Tensor) else out


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Stack rows: 1-D tensors become rows, then cat along dim 0."""
    return cat(list(atleast_2d(_tensors(tensors, "vstack()"))), 0)


row_stack = vstack


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Cat along dim 1 (along dim 0 when all are 1-D)."""
    ts = list(atleast_1d(_tensors(tensors, "hstack()")))
    return cat(ts, 0 if ts[0].dim() == 1 else 1)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Cat along dim 2 after making each at least 3-D."""
    return cat(list(atleast_3d(_tensors(tensors, "dstack()"))), 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """0-d and 1-D tensors become columns (n, 1); then cat along dim 1."""
    ts = _tensors(tensors, "column_stack()")
    return cat([t.reshape(t.numel(), 1) if t.dim() <= 1 else t for t in ts], 1)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    return _tensor_arg(input, "addmm()").addmm(mat1, mat2, beta=beta, alpha=alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    return _tensor_arg(input, "addmv()").addmv(mat, vec, beta=beta, alpha=alpha)


def baddbmm(
    input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1
) -> Tensor:
    return _tensor_arg(input, "baddbmm()").baddbmm(batch1, batch2, beta=beta, alpha=alpha)


def fmod(input: Tensor, other: Any) -> Tensor:
    return _tensor_arg(input, "fmod()").fmod(other)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    return _tensor_arg(input, "nonzero()").nonzero(as_tuple=as_tuple)


def argwhere(input: Tensor) -> Tensor:
    return _tensor_arg(input, "argwhere()").argwhere()


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    return _tensor_arg(input, "masked_select()").masked_select(mask)


def take(input: Tensor, index: Tensor) -> Tensor:
    return _tensor_arg(input, "take()").take(index)


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    return _tensor_arg(input, "rot90()").rot90(k, dims)


def _stat_mean(
    input: Any, dim: Any, unbiased: Any, keepdim: bool, correction: Any, std: bool
) -> tuple:
    what = "std_mean()" if std else "var_mean()"
    x = _tensor_arg(input, what)
    if (
        unbiased is not None and not isinstance(unbiased, bool) and dim is None
    ):  # (input, dim) positionally
        dim, unbiased = unbiased, None
    spread = (x.std if std else x.var)(dim, unbiased, keepdim, correction=correction)
    mean = x.mean(dim, keepdim)
    name = "StdMeanBackward0" if std else "VarMeanBackward0"  # PyTorch computes both in one node
    for t in (spread, mean):
        if t.grad_fn is not None:
            t.grad_fn.torch_name = name
    return spread, mean


def std_mean(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple:
    """(std, mean) over dim (all dims by default), with std's correction rules."""
    return _stat_mean(input, dim, unbiased, keepdim, correction, True)


def var_mean(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple:
    """(var, mean) over dim (all dims by default), with var's correction rules."""
    return _stat_mean(input, dim, unbiased, keepdim, correction, False)


def unique(
    input: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    return _tensor_arg(input, "unique()").unique(sorted, return_inverse, return_counts, dim)


def _side(right: bool, side: Any, what: str) -> str:
    if side is None:
        return "right" if right else "left"
    if side not in ("left", "right"):
        raise TensorValueError(f"{what}: side must be 'left' or 'right', got {side!r}")
    if right and side == "left":
        raise RuntimeError(f"{what}: side='left' and right=True contradict each other")
    return side


def searchsorted(
    sorted_sequence: Tensor,
    input: Any,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: Any = None,
    sorter: Tensor | None = None,
) -> Tensor:
    """For each value of input, the index where it would go in the (last dim of) sorted_sequence
    to keep it sorted; an N-D sequence searches row by row (input's leading dims match).
    ``sorter`` (int64, sorted_sequence's shape): the indices that sort an unsorted sequence
    along its last dim; the results are then positions in that sorted order."""
    seq = _tensor_arg(sorted_sequence, "searchsorted()", "sorted_sequence")._data
    how = _side(right, side, "searchsorted()")
    if sorter is not None:
        order = _tensor_arg(sorter, "searchsorted()", "sorter")._data
        if order.shape != seq.shape:
            raise RuntimeError(
                "torch.searchsorted(): boundary and sorter must have the same size, but got "
                f"boundary tensor {list(seq.shape)} and got sorter tensor {list(order.shape)}"
            )
        if order.dtype != np.int64:
            raise RuntimeError(
                "torch.searchsorted(): sorter must be a tensor of long dtype (int64) but got "
                f"dtype {dtype_name(order.dtype)}"
            )
        if order.size and (order.min() < 0 or order.max() >= seq.shape[-1]):
            raise RuntimeError("torch.searchsorted(): sorter index out of range")
        seq = np.take_along_axis(seq, order, axis=-1)
    scalar = not isinstance(input, Tensor)
    vals = np.asarray(input) if scalar else input._data
    if seq.ndim == 0:
        raise RuntimeError("searchsorted(): sorted_sequence must have at least 1 dimension")
    if seq.dtype.kind in "fc" and np.isnan(seq).any():
        if seq.ndim > 1 and (scalar or vals.shape[:-1] != seq.shape[:-1]):
            raise RuntimeError(
                f"searchsorted(): sorted_sequence of shape {tuple(seq.shape)} needs an input "
                f"with the same leading dims, got shape {tuple(np.shape(vals))}"
            )
        out = _bisect_like_torch(seq, vals, how == "right")
    elif seq.ndim == 1:
        out = np.searchsorted(seq, vals, side=how)
    else:
        if scalar or vals.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError(
                f"searchsorted(): sorted_sequence of shape {tuple(seq.shape)} needs an input "
                f"with the same leading dims, got shape {tuple(np.shape(vals))}"
            )
        s2, v2 = seq.reshape(-1, seq.shape[-1]), vals.reshape(-1, vals.shape[-1])
        out = np.stack([np.searchsorted(a, b, side=how) for a, b in zip(s2, v2, strict=True)])
        out = out.reshape(vals.shape)
    return Tensor._make(np.asarray(out, dtype=np.int32 if out_int32 else np.int64), None, False)


def _bisect_like_torch(seq: np.ndarray, vals: np.ndarray, right: bool) -> np.ndarray:
    """searchsorted of `vals` in `seq` (1-D, or rows matching vals' leading dims) by PyTorch's
    binary search, step for step: it moves right while not (seq[mid] >= v) (> for right), so a
    NaN in the sequence (where sort puts NaNs) sends the search right, where NumPy's order
    counts NaN as the largest. Used only when the sequence holds a NaN; else the two agree."""
    n = seq.shape[-1]
    v = np.asarray(vals)
    rows = seq.reshape(1, n) if seq.ndim == 1 else seq.reshape(-1, n)
    flat = v.reshape(1, -1) if seq.ndim == 1 else v.reshape(rows.shape[0], -1)
    lo = np.zeros(flat.shape, np.int64)
    hi = np.full(flat.shape, n, np.int64)
    row = np.arange(rows.shape[0])[:, None]
    with np.errstate(invalid="ignore"):
        while True:
            active = lo < hi
            if not active.any():
                break
            mid = (lo + hi) >> 1
            at = rows[row, np.minimum(mid, n - 1)]
            go_right = ~(at > flat) if right else ~(at >= flat)
            lo = np.where(active & go_right, mid + 1, lo)
            hi = np.where(active & ~go_right, mid, hi)
    return lo.reshape(v.shape)


def bucketize(
    input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False
) -> Tensor:
    """The bucket of each value: i with boundaries[i-1] < x <= boundaries[i] (right=False) or
    boundaries[i-1] <= x < boundaries[i] (right=True); boundaries 1-D and ascending."""
    b = _tensor_arg(boundaries, "bucketize()", "boundaries")
    if b.dim() != 1:
        raise RuntimeError(f"bucketize(): boundaries must be 1-D, got shape {tuple(b.shape)}")
    return searchsorted(b, input, out_int32=out_int32, right=right)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    return _tensor_arg(input, "diag()").diag(diagonal)


# -- compositions (tinyconv/_tensor_extra.py): the function forms --------------------------
def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    return _tensor_arg(a, "tensordot()", "a").tensordot(b, dims)


def kron(input: Tensor, other: Tensor) -> Tensor:
    return _tensor_arg(input, "kron()").kron(_as_tensor(other))


def inner(input: Tensor, other: Tensor) -> Tensor:
    return _tensor_arg(input, "inner()").inner(other)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    return _tensor_arg(input, "vdot()").vdot(other)


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    return _tensor_arg(input, "cross()").cross(other, dim)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    return _tensor_arg(input, "diagonal()").diagonal(offset, dim1, dim2)


def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    return _tensor_arg(input, "logaddexp()").logaddexp(other)


def logaddexp2(input: Tensor, other: Tensor) -> Tensor:
    return _tensor_arg(input, "logaddexp2()").logaddexp2(other)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    return _tensor_arg(input, "take_along_dim()").take_along_dim(indices, dim)


def unique_consecutive(
    input: Tensor,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    return _tensor_arg(input, "unique_consecutive()").unique_consecutive(
        return_inverse, return_counts, dim
    )


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    return _tensor_arg(input, "diag_embed()").diag_embed(offset, dim1, dim2)


def repeat_interleave(
    input: Tensor, repeats: Any = None, dim: int | None = None, *, output_size: int | None = None
) -> Tensor:
    """Each element (or slice along dim) repeated; `repeat_interleave(counts)` alone gives
    each index i repeated counts[i] times."""
    x = _tensor_arg(input, "repeat_interleave()")
    if repeats is None:  # torch.repeat_interleave(repeats): the indices, repeated
        if x.dim() != 1:
            raise RuntimeError("repeat_interleave(repeats): repeats must be a 1-D tensor")
        counts = Tensor._make(np.arange(x.shape[0]), None, False)
        return counts.repeat_interleave(x, output_size=output_size)
    return x.repeat_interleave(repeats, dim, output_size=output_size)


def cummax(input: Tensor, dim: int) -> Any:
    return _tensor_arg(input, "cummax()").cummax(dim)


def cummin(input: Tensor, dim: int) -> Any:
    return _tensor_arg(input, "cummin()").cummin(dim)


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    return _tensor_arg(input, "logcumsumexp()").logcumsumexp(dim)


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    return _tensor_arg(input, "median()").median(dim, keepdim)


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    return _tensor_arg(input, "nanmedian()").nanmedian(dim, keepdim)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> Any:
    return _tensor_arg(input, "mode()").mode(dim, keepdim)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> Any:
    return _tensor_arg(input, "kthvalue()").kthvalue(k, dim, keepdim)


def quantile(
    input: Tensor,
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    return _tensor_arg(input, "quantile()").quantile(q, dim, keepdim, interpolation=interpolation)


def nanquantile(
    input: Tensor,
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    x = _tensor_arg(input, "nanquantile()")
    return x.nanquantile(q, dim, keepdim, interpolation=interpolation)


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False) -> Any:
    return _tensor_arg(input, "aminmax()").aminmax(dim=dim, keepdim=keepdim)


def msort(input: Tensor) -> Tensor:
    return _tensor_arg(input, "msort()").msort()


def sgn(input: Tensor) -> Tensor:
    return _tensor_arg(input, "sgn()").sgn()


def angle(input: Tensor) -> Tensor:
    return _tensor_arg(input, "angle()").angle()


def signbit(input: Tensor) -> Tensor:
    return _tensor_arg(input, "signbit()").signbit()


def copysign(input: Any, other: Any) -> Tensor:
    return _as_tensor(input).copysign(other)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    return _tensor_arg(input, "logit()").logit(eps)


def xlogy(input: Any, other: Any) -> Tensor:
    if isinstance(input, Tensor):
        return input.xlogy(other)
    # (a number first, in the dtype it promotes to with other: xlogy(2.5, float16) is float16)
    x = (
        Tensor._make(np.asarray(input, _float_result(other, input)), None, False)
        if isinstance(other, Tensor)
        else _as_tensor(input)
    )
    return _fused(x.xlogy(other), "XlogyBackward1", other)


def tensor_split(input: Tensor, indices_or_sections: Any = None, dim: int = 0, **kw: Any) -> tuple:
    """(PyTorch's overloads name the split `sections`, `indices` or
    `tensor_indices_or_sections` by keyword.)"""
    return _tensor_arg(input, "tensor_split()").tensor_split(indices_or_sections, dim, **kw)


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    return _tensor_arg(input, "dist()").dist(other, p)


_CDIST_MODES = (
    None,
    "use_mm_for_euclid_dist_if_necessary",
    "use_mm_for_euclid_dist",
    "donot_use_mm_for_euclid_dist",
)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: Any = None) -> Tensor:
    """Pairwise p-norm distances between the rows of x1 (B?, P, M) and x2 (B?, R, M):
    (B?, P, R)."""
    a, b = _tensor_arg(x1, "cdist()", "x1"), _tensor_arg(x2, "cdist()", "x2")
    if a.dim() < 2 or b.dim() < 2:
        raise RuntimeError(
            f"cdist(): x1 and x2 must have at least 2 dims, got {a.dim()} and {b.dim()}"
        )
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(
            f"cdist(): x1 and x2 must have the same number of columns, got {a.shape[-1]} "
            f"and {b.shape[-1]}"
        )
    if p < 0:
        raise RuntimeError(f"cdist(): p must be >= 0, got {p}")
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")  # as PyTorch
    use_mm = compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode in (None, "use_mm_for_euclid_dist_if_necessary")
        and (a.shape[-2] > 25 or b.shape[-2] > 25)
    )
    if (
        p == 2
        and use_mm
        and a.numel()
        and b.numel()
        and a.dtype == b.dtype
        and a._data.dtype.kind == "f"
    ):
        # PyTorch's route (and numbers) for p=2 with many rows: one matrix product, see
        # kernels/distance.py ((512, 64) to (1024, 64) float32: 85 -> 1.8 ms forward)
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a = a if a.shape[:-2] == batch else a.expand(batch + tuple(a.shape[-2:]))
        b = b if b.shape[:-2] == batch else b.expand(batch + tuple(b.shape[-2:]))
        return ops_extra.EuclideanDist.apply(a, b)
    if a._data.dtype.kind != "f" or b._data.dtype != a._data.dtype:
        raise RuntimeError(
            f"cdist(): x1 and x2 must be floating point tensors of one dtype, got {a.dtype} "
            f"and {b.dtype}"
        )
    return ops_extra.PairwiseDist.apply(a, b, float(p))


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple:
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    return _tensor_extra.meshgrid([_tensor_arg(t, "meshgrid()") for t in ts], indexing)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    return _tensor_extra.cartesian_prod([_tensor_arg(t, "cartesian_prod()") for t in tensors])


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    return _tensor_extra.combinations(_tensor_arg(input, "combinations()"), r, with_replacement)


def block_diag(*tensors: Tensor) -> Tensor:
    return _tensor_extra.block_diag([_tensor_arg(t, "block_diag()") for t in tensors])


def trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    return _tensor_extra.trapezoid(_tensor_arg(y, "trapezoid()", "y"), x, dx=dx, dim=dim)


trapz = trapezoid


def cov(
    input: Tensor, *, correction: int = 1, fweights: Any = None, aweights: Any = None
) -> Tensor:
    x = _tensor_arg(input, "cov()")
    return x.cov(correction=correction, fweights=fweights, aweights=aweights)


def corrcoef(input: Tensor) -> Tensor:
    return _tensor_arg(input, "corrcoef()").corrcoef()


def bincount(input: Tensor, weights: Any = None, minlength: int = 0) -> Tensor:
    return _tensor_arg(input, "bincount()").bincount(weights, minlength)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    return _tensor_arg(input, "histc()").histc(bins, min, max)


def _inplace_function(name: str) -> Any:
    def f(input: Tensor, *args: Any, **kw: Any) -> Tensor:
        return getattr(_tensor_arg(input, f"{name}()"), name)(*args, **kw)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"`tinyconv.{name}(t, ...)` is `t.{name}(...)` (in place)."
    return f


# PyTorch's module-level in-place functions (torch.sin_(x), torch.clamp_(x, 0, 1), ...)
INPLACE_FUNCTIONS = [
    n + "_"
    for n in (
        "absolute acos acosh arccos arccosh arcsin arcsinh arctan arctanh asin asinh atan atanh "
        "ceil clamp clip cos cosh deg2rad detach erf exp2 expm1 fill fix floor frac log10 log1p "
        "log2 logit negative rad2deg round rsqrt sin sinh square trunc xlogy zero"
    ).split()
    if n + "_" not in globals()
]
for _name in INPLACE_FUNCTIONS:
    globals()[_name] = _inplace_function(_name)

for _name in NUMPY_NAMED:  # (axis= and keepdims= accepted, as PyTorch's functions do)
    if _name in globals():
        globals()[_name] = numpy_names(globals()[_name])
