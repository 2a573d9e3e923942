"""The engine's differentiable ops: each forward with its backward beside it.

Every op works on NumPy arrays (`array_mode = True`). `forward(ctx, ...)`
computes the output and saves on `ctx` only what its backward needs;
`backward(ctx, grad)` receives d(loss)/d(output) and returns d(loss)/d(input)
for each input, in that input's shape and dtype (None for non-tensor inputs).
Broadcasting is undone by the one shared helper `sum_to_shape`.

Convolution and pooling are not here: they live in tinyconv.kernels and are
wired up in tinyconv.nn.functional.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .function import Function, sum_to_shape


class Op(Function):
    """A built-in op: forward and backward see plain NumPy arrays."""

    array_mode = True


def _meta(x: Any) -> tuple:
    """(shape, dtype) of an operand; Python scalars have neither."""
    if isinstance(x, np.ndarray):
        return x.shape, x.dtype
    return (), None


def _cast(x: Any, dtype: np.dtype | None) -> Any:
    if dtype is None or not isinstance(x, np.ndarray) or x.dtype == dtype:
        return x
    return x.astype(dtype)


class Binary(Op):
    """Shared set-up for elementwise ops of two operands that may broadcast."""

    # The NumPy ufunc that is the whole forward when nothing is recorded and no dtype is
    # forced (tinyconv.tensor runs it directly then); None for ops that do more.
    ufunc: Any = None

    @staticmethod
    def prepare(ctx: Function, a: Any, b: Any, dtype: np.dtype | None) -> tuple:
        if ctx.needs_input_grad:  # a recorded node: backward sums gradients back to these
            ctx.a_meta, ctx.b_meta = _meta(a), _meta(b)
        if dtype is not None:  # PyTorch promotion that NumPy would do differently
            a, b = _cast(a, dtype), _cast(b, dtype)
        return a, b

    @staticmethod
    def reduce(ctx: Function, ga: Any, gb: Any) -> tuple:
        """Sum each gradient back to its operand's shape, in its dtype."""
        na, nb = ctx.needs_input_grad[:2]
        return (
            sum_to_shape(ga, *ctx.a_meta) if na else None,
            sum_to_shape(gb, *ctx.b_meta) if nb else None,
        )


class Add(Binary):
    ufunc = np.add

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        return np.add(a, b)

    @staticmethod
    def backward(ctx, grad):
        # d(a + b)/da = d(a + b)/db = 1
        return Binary.reduce(ctx, grad, grad)


class Sub(Binary):
    ufunc = np.subtract

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, grad):
        return Binary.reduce(ctx, grad, -grad if ctx.needs_input_grad[1] else None)


class Mul(Binary):
    ufunc = np.multiply

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        # d(ab)/da = b and d(ab)/db = a: keep only the factors backward will use.
        na, nb = ctx.needs_input_grad[:2] or (False, False)
        ctx.save_for_backward(b if na else None, a if nb else None)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, grad):
        b, a = ctx.saved_tensors
        na, nb = ctx.needs_input_grad[:2]
        return Binary.reduce(ctx, grad * b if na else None, grad * a if nb else None)


class Div(Binary):
    ufunc = np.true_divide

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        ctx.save_for_backward(a, b)
        return np.true_divide(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad[:2]
        # d(a/b)/da = 1/b,  d(a/b)/db = -a/b^2
        return Binary.reduce(ctx, grad / b if na else None, -grad * a / (b * b) if nb else None)


class Pow(Binary):
    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        na, nb = ctx.needs_input_grad[:2]
        ga = gb = None
        if na:  # d(a^b)/da = b a^(b-1), taken as 0 where b == 0 (as PyTorch), not 0 * inf = nan
            if isinstance(b, np.ndarray):
                with np.errstate(divide="ignore", invalid="ignore"):
                    ga = grad * np.where(b == 0, 0, b * np.power(a, b - 1))
            elif b == 2:  # x ** 2, the most common case: a^(b-1) is a itself
                ga = grad * (b * a)
            else:  # another Python scalar exponent
                ga = grad * (b * np.power(a, b - 1)) if b != 0 else np.zeros_like(grad)
        if nb:  # d(a^b)/db = a^b log(a); PyTorch defines it as 0 where a == 0 and b >= 0
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = grad * np.where((a == 0) & (b >= 0), 0.0, out * np.log(a))
        return Binary.reduce(ctx, ga, gb)


class Maximum(Binary):
    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # The larger operand gets the gradient; a tie splits it evenly (as PyTorch).
        wa = (a > b) + 0.5 * (a == b)
        return Binary.reduce(ctx, grad * wa, grad * (1 - wa))


class Minimum(Binary):
    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        wa = (a < b) + 0.5 * (a == b)
        return Binary.reduce(ctx, grad * wa, grad * (1 - wa))


class MatMul(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        # Treat 1-D operands as a row (a) or a column (b), as matmul does.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if a.ndim == 1:  # (1-D @ 1-D gives a 0-d grad: give it its row axis first)
            g = np.expand_dims(g, -2 if b.ndim > 1 else 0)
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        # out = a b  =>  da = grad b^T,  db = a^T grad (summed over broadcast batches)
        ga = sum_to_shape(g @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape) if na else None
        gb = sum_to_shape(np.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape) if nb else None
        return ga, gb


# -- unary elementwise --------------------------------------------------------------


class Neg(Op):
    @staticmethod
    def forward(ctx, a):
        return np.negative(a)

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Abs(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * np.sign(a)  # sign(0) = 0, as PyTorch


class Exp(Op):
    @staticmethod
    def forward(ctx, a):
        with np.errstate(over="ignore"):  # exp(1e4) is inf, quietly, as in PyTorch
            out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out  # d(e^a)/da = e^a


class Log(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0) = -inf, log(-1) = nan
            return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        with np.errstate(divide="ignore"):
            return grad / a


class Sqrt(Op):
    @staticmethod
    def forward(ctx, a):
        with np.errstate(invalid="ignore"):
            out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        with np.errstate(divide="ignore"):
            return grad / (2 * out)


class Sin(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * np.cos(a)


class Cos(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -grad * np.sin(a)


class Relu(Op):
    @staticmethod
    def forward(ctx, a):
        out = np.maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out > 0)  # gradient passes where the input was positive


class Sigmoid(Op):
    @staticmethod
    def forward(ctx, a):
        # 1 / (1 + e^-a) overflows for a << 0; use e^-|a|, which never exceeds 1.
        e = np.exp(-np.abs(a))
        out = np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)  # s' = s (1 - s)


class Tanh(Op):
    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)  # tanh' = 1 - tanh^2


class Clamp(Op):
    @staticmethod
    def forward(ctx, a, lo, hi):
        out = np.clip(a, lo, hi)
        # The gradient passes where lo <= a <= hi (edges included, as PyTorch).
        mask = np.ones(a.shape, dtype=bool)
        if lo is not None:
            mask &= a >= lo
        if hi is not None:
            mask &= a <= hi
        ctx.save_for_backward(mask)
        return out

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad * mask, None, None


class Cast(Op):
    """Change dtype; the gradient goes back in the input's dtype."""

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.in_dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.in_dtype), None


class Clone(Op):
    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


# -- reductions ---------------------------------------------------------------------


def _expand_back(grad: np.ndarray, shape: tuple, axis: Any, keepdims: bool) -> np.ndarray:
    """Re-insert the reduced axes (size 1) so `grad` broadcasts against the input."""
    if axis is None:
        return grad.reshape((1,) * len(shape))
    if not keepdims:
        grad = np.expand_dims(grad, axis)
    return grad


# Up to this many elements, a reduction's gradient is written out as a new array;
# np.broadcast_to's Python-level checks alone take ~2 us, longer than the copy.
_SMALL_GRAD = 4096


def _spread(g: np.ndarray, shape: tuple, size: int, dtype: np.dtype) -> np.ndarray:
    """`g` (its reduced axes of size 1) repeated over `shape`, in `dtype`.

    Big gradients stay a read-only broadcast view: summing a big tensor costs no
    memory for its gradient.
    """
    if size <= _SMALL_GRAD:
        out = np.empty(shape, dtype)
        out[...] = g
        return out
    return np.broadcast_to(g, shape).astype(dtype, copy=False)


class Sum(Op):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, dtype=None):
        ctx.shape, ctx.axis, ctx.keepdims, ctx.in_dtype = a.shape, axis, keepdims, a.dtype
        ctx.size = a.size
        # np.add.reduce is what np.sum runs, minus ~1 us of Python wrapper
        return np.asarray(np.add.reduce(a, axis=axis, dtype=dtype, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        # Every input element contributed once: its gradient is the output's.
        g = _expand_back(grad, ctx.shape, ctx.axis, ctx.keepdims)
        return _spread(g, ctx.shape, ctx.size, ctx.in_dtype)


class Mean(Op):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        out = np.asarray(np.mean(a, axis=axis, keepdims=keepdims))
        ctx.count = a.size // max(out.size, 1) if a.size else 0
        return out.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        g = _expand_back(grad, ctx.shape, ctx.axis, ctx.keepdims) / max(ctx.count, 1)
        return _spread(g, ctx.shape, ctx.count * grad.size, grad.dtype)


class Var(Op):
    @staticmethod
    def forward(ctx, a, axis=None, correction=1, keepdims=False):
        mean = np.mean(a, axis=axis, keepdims=True)
        centered = a - mean
        n = a.size // max(mean.size, 1)
        ctx.save_for_backward(centered)
        ctx.axis, ctx.keepdims, ctx.denom = axis, keepdims, max(n - correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):  # n <= correction gives nan, as PyTorch
            out = np.sum(centered * centered, axis=axis, keepdims=keepdims) / ctx.denom
        return np.asarray(out).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (centered,) = ctx.saved_tensors
        # var = sum (a - mean)^2 / denom  =>  dvar/da = 2 (a - mean) / denom
        # (the mean's own dependence on a cancels, because sum(a - mean) = 0)
        g = _expand_back(grad, centered.shape, ctx.axis, ctx.keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g * (2 / ctx.denom) * centered).astype(centered.dtype, copy=False)


class Amax(Op):
    """max (or min) over axes, gradient shared evenly among tied maxima (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, use_min=False):
        out = (np.amin if use_min else np.amax)(a, axis=axis, keepdims=True)
        ctx.save_for_backward(a == out)
        ctx.axis = axis
        return np.asarray(out if keepdims else np.squeeze(out, axis=axis))

    @staticmethod
    def backward(ctx, grad):
        (hit,) = ctx.saved_tensors
        count = np.sum(hit, axis=ctx.axis, keepdims=True)
        return (grad.reshape(count.shape) * hit / count).astype(grad.dtype, copy=False), None, None, None


class TakeAlongAxis(Op):
    """out = a[..., index, ...] along `axis` (gather); used by max/min with dim."""

    @staticmethod
    def forward(ctx, a, index, axis):
        ctx.shape, ctx.index, ctx.axis = a.shape, index, axis
        return np.take_along_axis(a, index, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        np.put_along_axis(out, ctx.index, grad, axis=ctx.axis)
        return out, None, None


# -- shape ops (the output may be a view of the input) -------------------------------


class Reshape(Op):
    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


class Permute(Op):
    is_view = True

    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        return np.transpose(a, axes)

    @staticmethod
    def backward(ctx, grad):
        return np.transpose(grad, np.argsort(ctx.axes)), None


class Expand(Op):
    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return sum_to_shape(grad, ctx.shape), None


class Flip(Op):
    is_view = True

    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        return np.flip(a, axes)

    @staticmethod
    def backward(ctx, grad):
        return np.flip(grad, ctx.axes), None


class Index(Op):
    """out = a[index]; basic indexes give views, integer/boolean arrays copies."""

    is_view = True

    @staticmethod
    def forward(ctx, a, index, basic):
        ctx.shape, ctx.index, ctx.basic = a.shape, index, basic
        return np.asarray(a[index])  # x[tensor(1)] gives a 0-d array, not a NumPy scalar

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        if ctx.basic:
            out[ctx.index] = grad
        else:  # an element picked twice gets both gradients
            np.add.at(out, ctx.index, grad)
        return out, None, None


class SetIndex(Op):
    """The node that `a[index] = value` leaves on `a` (PyTorch's CopySlices).

    Not run through apply(): Tensor.__setitem__ writes in place and builds it.
    The overwritten part of the old `a` no longer reaches the output, so it
    gets zero gradient; `value` gets the gradient of the part it filled.
    """

    @staticmethod
    def backward(ctx, grad):
        g_old = None
        if ctx.needs_input_grad[0]:
            g_old = grad.copy()
            g_old[ctx.index] = 0
        g_value = None
        if ctx.needs_input_grad[1]:
            g_value = sum_to_shape(np.asarray(grad[ctx.index]), *ctx.value_meta)
        return g_old, g_value

    @classmethod
    def name(cls) -> str:
        return "CopySlices"


class Cat(Op):
    @staticmethod
    def forward(ctx, axis, *parts):
        ctx.axis = axis
        ctx.bounds = np.cumsum([p.shape[axis] for p in parts])[:-1]
        ctx.dtypes = [p.dtype for p in parts]
        dtype = np.result_type(*parts)
        return np.concatenate([p.astype(dtype, copy=False) for p in parts], axis=axis)

    @staticmethod
    def backward(ctx, grad):
        pieces = np.split(grad, ctx.bounds, axis=ctx.axis)
        return (None, *(p.astype(d, copy=False) for p, d in zip(pieces, ctx.dtypes)))


class Stack(Op):
    @staticmethod
    def forward(ctx, axis, *parts):
        ctx.axis = axis
        ctx.dtypes = [p.dtype for p in parts]
        dtype = np.result_type(*parts)
        return np.stack([p.astype(dtype, copy=False) for p in parts], axis=axis)

    @staticmethod
    def backward(ctx, grad):
        n = grad.shape[ctx.axis]
        return (None, *(np.take(grad, i, axis=ctx.axis).astype(d, copy=False)
                        for i, d in zip(range(n), ctx.dtypes)))


class Where(Op):
    @staticmethod
    def forward(ctx, cond, a, b, dtype=None):
        ctx.cond = cond
        ctx.a_meta, ctx.b_meta = _meta(a), _meta(b)
        a, b = _cast(a, dtype), _cast(b, dtype)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        zero = np.zeros((), dtype=grad.dtype)
        na, nb = ctx.needs_input_grad[1:3]
        ga = sum_to_shape(np.where(ctx.cond, grad, zero), *ctx.a_meta) if na else None
        gb = sum_to_shape(np.where(ctx.cond, zero, grad), *ctx.b_meta) if nb else None
        return None, ga, gb, None


class Prod(Op):
    """The product of the elements along `axis` (all of them when axis is None).

    d prod / d a_i is the product of all the *other* elements. It is computed as
    (product of the elements before i) * (product of those after i), two exclusive
    cumulative products, rather than prod / a_i, so that zeros get the right gradient.
    """

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, dtype=None):
        ctx.save_for_backward(a)
        ctx.axis, ctx.keepdims = axis, keepdims
        return np.asarray(np.prod(a, axis=axis, keepdims=keepdims, dtype=dtype))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        if a.size == 0:
            return np.zeros_like(a), None, None, None
        x = a.reshape(-1) if ctx.axis is None else a
        ax = 0 if ctx.axis is None else ctx.axis
        one = np.ones_like(np.take(x, [0], axis=ax))
        n = x.shape[ax]
        before = np.concatenate([one, np.cumprod(np.take(x, range(n - 1), axis=ax), axis=ax)], axis=ax)
        rev = np.flip(np.take(x, range(1, n), axis=ax), axis=ax)
        after = np.concatenate([np.flip(np.cumprod(rev, axis=ax), axis=ax), one], axis=ax)
        others = (before * after).reshape(a.shape)
        g = _expand_back(grad, a.shape, ctx.axis, ctx.keepdims)
        return (g * others).astype(a.dtype, copy=False), None, None, None
