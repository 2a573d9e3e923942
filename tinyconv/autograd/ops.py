"""The engine's differentiable ops: each forward with its backward beside it.

Every op works on NumPy arrays (`array_mode = True`). `forward(ctx, ...)`
computes the output and saves on `ctx` only what its backward needs;
`backward(ctx, grad)` receives d(loss)/d(output) and returns d(loss)/d(input)
for each input, in that input's shape and dtype (None for non-tensor inputs).
Broadcasting is undone by the one shared helper `sum_to_shape`.

Forward runs inside `Function.apply`, backward inside the engine's walk, and both set NumPy's
error state to "ignore" (autograd/ieee.py): x / 0, log(0), inf - inf and overflows give their
IEEE values without a RuntimeWarning, so the ops here (and their helpers, called only from
them) need no `np.errstate` of their own (~1 us each: about a small op's whole forward).

Where an op lives (one rule for the whole package):
- array maths with its backward (elementwise, reductions, shapes, indexing, and every op a
  Tensor method needs, e.g. relu, sigmoid, softmax) lives here, in autograd/ops*.py;
- kernel-backed ops (conv, pooling, padding: tinyconv.kernels does the sums) and nn-only ops
  (losses, normalisation, dropout, linear, the activations PyTorch keeps only in F) live in
  tinyconv/nn/functional/, one module per topic, with their argument checks.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import _rng
from .._dtype import promote_types
from .._indexing import IndexPlan
from ..kernels import threads
from ..kernels.bits import select_bits
from ..kernels.layout import c_order, like_input, like_operands
from ..kernels.opmath import mul_number, opmath, rsqrt
from .function import Function, ShownNode, layout_free, sum_to_shape


class Op(Function):
    """A built-in op: forward and backward see plain NumPy arrays."""

    array_mode = True


_NO_META = ((), None)
_ndarray = np.ndarray


def _meta(x: Any) -> tuple:
    """(shape, dtype) of an operand; Python scalars have neither."""
    if isinstance(x, np.ndarray):
        return x.shape, x.dtype
    return _NO_META


_SAME_SIZE_INT = {2: np.int16, 4: np.int32, 8: np.int64}


def _zero_where(mask: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A new array: x, with +0 where `mask` is True (mask has x's shape).

    The same numbers as np.where(mask, 0, x), but np.where branches per element, which costs
    10x more than a ufunc pass on a random mask (relu's: 2.6 ms vs 0.27 ms on 0.5M float32).
    Branch-free: an all-ones/all-zeros integer (mask - 1) ANDed with x's bits keeps x where
    the mask is False (NaN and inf included) and gives the bits of +0.0 where it is True."""
    if (
        x.dtype.kind != "f"
        or x.shape != mask.shape
        or mask.dtype != np.bool_
        or x.dtype.itemsize not in _SAME_SIZE_INT
    ):
        return np.where(mask, np.zeros((), x.dtype), x)
    out = np.empty(x.shape, x.dtype)
    bits = out.view(_SAME_SIZE_INT[x.dtype.itemsize])
    # True -> 0, False -> -1 (all ones): computed in int8, then widened by a sign-extending
    # copy. np.subtract(mask, 1, dtype=int32) casts inside the ufunc loop and took twice
    # as long (0.064 vs 0.033 ms on 0.3M float32; relu's forward and backward both run this).
    np.copyto(bits, np.subtract(mask.view(np.int8), np.int8(1)), casting="unsafe")
    x = x if x.flags.c_contiguous else x.copy()  # (.view of another itemsize needs it)
    np.bitwise_and(bits, x.view(bits.dtype), out=bits)
    return out


def _where(mask: np.ndarray, a: Any, b: Any, out: np.ndarray | None = None) -> np.ndarray:
    """np.where(mask, a, b), the same numbers, branch-free where it can be: a and b float arrays
    of mask's shape and one dtype, or Python numbers (taken in that dtype, as np.where does).
    `out` may be a or b (a temporary of the caller's), which is then overwritten.

    Bitwise (kernels/bits.py): three ufunc passes, where np.where branches per element."""
    arrays = [v for v in (a, b) if isinstance(v, np.ndarray)]
    dt = arrays[0].dtype if arrays else None
    if (
        dt is None
        or dt.kind != "f"
        or dt.itemsize not in _SAME_SIZE_INT
        or mask.dtype != np.bool_
        or any(v.dtype != dt or v.shape != mask.shape for v in arrays)
        or any(not isinstance(v, np.ndarray) and type(v) not in (int, float) for v in (a, b))
        or (out is not None and out is not a and out is not b)
    ):
        return np.where(mask, a, b)
    it = _SAME_SIZE_INT[dt.itemsize]

    def bits(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return (v if v.flags.c_contiguous else v.copy()).view(it)
        return np.array(v, dt).view(it)[()]

    if out is b:  # b is overwritten first, so a is the one kept: a ^ ((a ^ b) * ~mask)
        mask, a, b = np.logical_not(mask), b, a
    elif out is None:
        out = np.empty(mask.shape, dt)
    keep = bits(b)
    ob = out.view(it)
    if not isinstance(keep, np.ndarray) and keep == 0:  # b is +0: a * mask, one pass
        np.multiply(bits(a), mask, out=ob)
        return out
    select_bits(mask, bits(a), keep, ob)
    return out


def _cast(x: Any, dtype: np.dtype | None) -> Any:
    if dtype is None or not isinstance(x, np.ndarray) or x.dtype == dtype:
        return x
    return x.astype(dtype)


# -- create_graph: what each op's graph_backward builds its gradient from --------------------
# (graph_backward is the op's backward again in differentiable Tensor ops, so the gradient it
# returns has a graph of its own; masks, indices and other piecewise-constant factors enter as
# constants, everything that depends smoothly on an input through the graph)


def _data(x: Any) -> Any:
    """The array behind a saved item (a graph Tensor in graph_backward), else x itself."""
    return x._data if isinstance(x, Tensor) else x


def _const(arr: Any) -> Any:
    """A Tensor outside the graph: a mask, a piecewise-constant factor, zeros."""
    return Tensor._make(np.asarray(arr), None, False)


def _zero(grad: Any) -> np.ndarray:
    return np.zeros((), grad._data.dtype)


def _select(cond: Any, a: Any, b: Any) -> Any:
    """where(cond, a, b) as a graph op: cond a constant mask, a and b Tensors or 0-d arrays.
    Selected, not multiplied by the mask, so an inf on the unselected side gives no nan."""
    return Where.apply(cond, a, b)


def _linked(arr: Any, t: Any) -> Any:
    """The constant `arr` (broadcast with t), kept in t's graph with a zero gradient. PyTorch
    computes piecewise-constant factors (sign, floor) with ops whose derivative is 0, so
    a gradient made with them requires grad; this gives the same, with exact values."""
    arr = np.asarray(arr)
    return Where.apply(np.ones(arr.shape, dtype=bool), arr, t)


class PiecewiseBackward(Op):
    """grad -> grad * f'(x) for an op whose derivative is piecewise constant (relu, hardtanh,
    threshold, leaky_relu, hardshrink, softshrink), as an op of (grad, x): what their create_graph
    backward builds, as PyTorch's threshold_backward, hardtanh_backward, ... nodes. `apply` is
    the op's own array backward (masks and slopes from x). Linear in grad, with a slope that
    depends on x only through masks, so its backward is itself for grad and zeros for x
    (PyTorch's `self: zeros_like(grad)`); the result requires grad when x does, as PyTorch's."""

    @staticmethod
    def forward(ctx, grad, x, apply, name):
        ctx.save_for_backward(x)
        ctx.apply, ctx.torch_name = apply, name
        return apply(grad)

    @staticmethod
    def backward(ctx, gg):
        (x,) = ctx.saved_tensors
        return ctx.apply(gg), np.zeros_like(x), None, None

    @staticmethod
    def graph_backward(ctx, gg):
        (x,) = ctx.saved_tensors
        grad = PiecewiseBackward.apply(gg, x, ctx.apply, ctx.torch_name)
        return grad, _const(np.zeros_like(x._data)), None, None


class MaskedPass(Op):
    """An elementwise op whose gradient passes where `stop(x)` is False (NaN included) and is 0
    elsewhere: threshold, hardshrink, softshrink, computed by `compute` (arrays in, array out).
    One node, as PyTorch's; its create_graph gradient is a PiecewiseBackward, in x's graph
    with a zero derivative, as PyTorch's ...BackwardBackward0."""

    @staticmethod
    def forward(ctx, x, compute, stop, name):
        ctx.save_for_backward(x)
        ctx.stop, ctx.torch_name = stop, name
        return compute(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return _zero_where(ctx.stop(x), grad), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        stop = ctx.stop(x._data)
        # (the in-place node ...Backward1 has PyTorch's ...BackwardBackward0 all the same)
        name = ctx.torch_name[:-1].replace("Backward", "BackwardBackward") + "0"
        return (
            PiecewiseBackward.apply(grad, x, lambda g: _zero_where(stop, g), name),
            None,
            None,
            None,
        )


def _output(ctx: Function, arr: np.ndarray) -> Any:
    """The node's own output as a graph Tensor (for an op that saved it in another shape)."""
    return Tensor._make(arr, ctx, True)


class Binary(Op):
    """Shared set-up for elementwise ops of two operands that may broadcast."""

    next_functions_min = 2  # (PyTorch lists a number operand too: `x * 2` has two edges)

    # The NumPy ufunc that is the whole forward when nothing is recorded and no dtype is
    # forced (tinyconv.tensor runs it directly then); None for ops that do more.
    ufunc: Any = None

    @staticmethod
    def prepare(ctx: Function, a: Any, b: Any, dtype: np.dtype | None) -> tuple:
        if ctx.needs_input_grad:  # a recorded node: backward sums gradients back to these
            # (_meta inlined: two calls fewer on every recorded binary op)
            ctx.a_meta = (a.shape, a.dtype) if isinstance(a, np.ndarray) else _NO_META
            ctx.b_meta = (b.shape, b.dtype) if isinstance(b, np.ndarray) else _NO_META
        if dtype is not None:  # PyTorch promotion that NumPy would do differently
            a2, b2 = _cast(a, dtype), _cast(b, dtype)
            if ctx.needs_input_grad and (a2 is not a or b2 is not b):
                ctx._cast_sources = {0: a2, 1: b2}  # create_graph: saved a2 is a.to(dtype)
            a, b = a2, b2
        return a, b

    @staticmethod
    def reduce(ctx: Function, ga: Any, gb: Any) -> tuple:
        """Sum each gradient back to its operand's shape, in its dtype."""
        needs = ctx.needs_input_grad
        if needs[0]:
            shape, dtype = ctx.a_meta
            # (sum_to_shape would return ga as it is: skip the call, as for most gradients;
            # an identity test first: dtype != costs ~0.1 us)
            if ga.shape != shape or (ga.dtype is not dtype and ga.dtype != dtype):
                ga = sum_to_shape(ga, shape, dtype)
        else:
            ga = None
        if needs[1]:
            shape, dtype = ctx.b_meta
            if gb.shape != shape or (gb.dtype is not dtype and gb.dtype != dtype):
                gb = sum_to_shape(gb, shape, dtype)
        else:
            gb = None
        return ga, gb


def _in_dtype(number: Any, a: Any, b: Any) -> Any:
    """A Python number as PyTorch's kernel takes it: rounded to the operands' float dtype
    (then used in float32 for float16), as a Python number again."""
    dt = np.result_type(a, b)
    return dt.type(number).item() if dt.kind == "f" else number


def _axpy(a: Any, b: Any, alpha: Any) -> Any:
    """a + alpha * b as PyTorch's add kernel: float32 with one rounding (its fused
    multiply-add; the float64 sum of the exact product rounded to float32 is that), float16
    in float32 and rounded once."""
    if np.result_type(a, b) == np.float32:
        return (np.asarray(a, np.float64) + alpha * np.asarray(b, np.float64)).astype(np.float32)
    return opmath(lambda a, b: a + alpha * b, a, b)


class Add(Binary):
    torch_name = "AddBackward0"

    ufunc = np.add
    alpha = 1  # add(a, b, alpha): a + alpha * b

    @staticmethod
    def forward(ctx, a, b, dtype=None, alpha=1):
        if dtype is None and a.__class__ is _ndarray and b.__class__ is _ndarray:
            # (prepare's work for two arrays and no cast, inlined: one call less per op)
            if ctx.needs_input_grad:
                ctx.a_meta, ctx.b_meta = (a.shape, a.dtype), (b.shape, b.dtype)
        else:
            a, b = Binary.prepare(ctx, a, b, dtype)
        if alpha == 1:
            return like_operands(np.add(a, b), a, b)
        # one kernel in PyTorch: alpha taken in the dtype, float16 computed in float32 and
        # rounded once
        ctx.alpha = alpha
        return like_operands(_axpy(a, b, _in_dtype(alpha, a, b)), a, b)

    @staticmethod
    def backward(ctx, grad):
        # d(a + alpha b)/da = 1, d/db = alpha
        return Binary.reduce(ctx, grad, grad if ctx.alpha == 1 else mul_number(grad, ctx.alpha))

    @staticmethod
    def graph_backward(ctx, grad):
        return Binary.reduce(ctx, grad, grad if ctx.alpha == 1 else grad * ctx.alpha)


class Sub(Binary):
    torch_name = "SubBackward0"  # (RsubBackward1 for number - x: set per node in forward)
    ufunc = np.subtract

    def _shown(self) -> tuple:
        # rsub (`1 - x`) is PyTorch's node of the tensor and a number: one edge
        return self.edges[1:2] if self.torch_name == "RsubBackward1" else self.edges[:2]

    alpha = 1  # sub(a, b, alpha): a - alpha * b

    @staticmethod
    def forward(ctx, a, b, dtype=None, alpha=1):
        a, b = Binary.prepare(ctx, a, b, dtype)
        # `1 - x` is PyTorch's rsub (its own node); x - y and x - 1 are sub
        ctx.torch_name = "SubBackward0" if isinstance(a, np.ndarray) else "RsubBackward1"
        if alpha == 1:
            return like_operands(np.subtract(a, b), a, b)
        ctx.alpha = alpha  # (one kernel, as add's)
        return like_operands(_axpy(a, b, -_in_dtype(alpha, a, b)), a, b)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.needs_input_grad[1]:
            return Binary.reduce(ctx, grad, None)
        return Binary.reduce(ctx, grad, -grad if ctx.alpha == 1 else mul_number(grad, -ctx.alpha))

    @staticmethod
    def graph_backward(ctx, grad):
        gb = (-grad if ctx.alpha == 1 else grad * -ctx.alpha) if ctx.needs_input_grad[1] else None
        return Binary.reduce(ctx, grad, gb)


class Mul(Binary):
    torch_name = "MulBackward0"

    ufunc = np.multiply

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        if dtype is None and a.__class__ is _ndarray and b.__class__ is _ndarray:
            # (prepare's work for two arrays and no cast, inlined: one call less per op)
            if ctx.needs_input_grad:
                ctx.a_meta, ctx.b_meta = (a.shape, a.dtype), (b.shape, b.dtype)
        else:
            a, b = Binary.prepare(ctx, a, b, dtype)
        # d(ab)/da = b and d(ab)/db = a: keep only the factors backward will use.
        na, nb = ctx.needs_input_grad[:2] or (False, False)
        ctx.save_for_backward(b if na else None, a if nb else None)
        return like_operands(np.multiply(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        b, a = ctx.saved_tensors
        na, nb = ctx.needs_input_grad[:2]
        return Binary.reduce(ctx, grad * b if na else None, grad * a if nb else None)

    graph_backward = backward  # in create_graph mode a and b are the input Tensors


class Div(Binary):
    torch_name = "DivBackward0"
    pack_order = (1, 0)  # (PyTorch hands other to saved_tensors_hooks first, then self)

    ufunc = np.true_divide

    def _shown(self) -> tuple:
        if self.torch_name == "MulBackward0":  # number / x: PyTorch's reciprocal(x) * number
            x = self.edges[1]
            return (None if x is None else ShownNode("ReciprocalBackward0", x), None)
        if self.torch_name == "DivBackward1":  # PyTorch's division by a C++ number: one edge
            return self.edges[:1]
        return self.edges[:2]

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        na, nb = ctx.needs_input_grad[:2] or (False, False)
        if not isinstance(a, np.ndarray):
            # number / tensor is number * (1 / tensor), as in PyTorch: backward needs only the
            # reciprocal (its own array), so an in-place change of the tensor afterwards is fine.
            r = np.reciprocal(b)
            ctx.save_for_backward(None, r if nb else None)
            ctx.numerator = a
            ctx.torch_name = "MulBackward0"  # PyTorch's last node: the product with the number
            return a * r
        # Save what backward uses and nothing more (as PyTorch): b for both gradients,
        # a only for b's gradient; a saved input blocks in-place changes of it.
        ctx.save_for_backward(a if nb else None, b if na or nb else None)
        # x / 0 is inf or nan, quietly, as PyTorch
        return like_operands(np.true_divide(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad[:2]
        if hasattr(ctx, "numerator"):  # out = a * r with r = 1/b (saved as b): d out/db = -a r^2
            return Binary.reduce(
                ctx, None, -mul_number(grad, ctx.numerator) * (b * b) if nb else None
            )
        # d(a/b)/da = 1/b,  d(a/b)/db = -a/b^2, as PyTorch's formula rounds: -grad ((a / b) / b)
        return Binary.reduce(ctx, grad / b if na else None, -grad * (a / b / b) if nb else None)

    @staticmethod
    def graph_backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad[:2]
        if hasattr(ctx, "numerator"):
            # saved here is r = 1/b, an intermediate: as a constant it would lose r's own
            # dependence on b, so r is rebuilt from b (the graph tensor) first
            r = ctx._input_as_graph_tensor(1, np.reciprocal(b)).reciprocal()
            return Binary.reduce(ctx, None, -(grad * ctx.numerator) * (r * r))
        return Binary.reduce(ctx, grad / b if na else None, -grad * (a / b / b) if nb else None)


class Pow(Binary):
    torch_name = "PowBackward0"  # (PowBackward1 / 2 with a tensor exponent: set in forward)

    def _shown(self) -> tuple:
        # PyTorch's pow with a number has one edge: the tensor's (base or exponent)
        name = self.torch_name
        if name == "PowBackward0":
            return self.edges[:1]
        return self.edges[1:2] if name == "PowBackward2" else self.edges[:2]

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        # PyTorch's three pow nodes: tensor ** number, tensor ** tensor, number ** tensor
        ctx.torch_name = (
            ("PowBackward1" if isinstance(b, np.ndarray) else "PowBackward0")
            if isinstance(a, np.ndarray)
            else "PowBackward2"
        )
        out = like_operands(_power(a, b), a, b)  # (0 ** -1 = inf, quietly: ieee.py)
        # As PyTorch: a number exponent needs only a (x ** 2 then an in-place op on the result
        # is fine); a tensor exponent also needs the result, for its own gradient a^b log(a).
        ctx.save_for_backward(a, b, out if isinstance(b, np.ndarray) else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        na, nb = ctx.needs_input_grad[:2]
        ga = gb = None
        # (0 ** -0.5 is inf and log(0) -inf here, quietly, as in PyTorch)
        if na:  # d(a^b)/da = b a^(b-1), taken as 0 where b == 0 (as PyTorch), not 0 * inf = nan
            if isinstance(b, np.ndarray):
                ga = grad * np.where(b == 0, 0, b * _power(a, b - 1))
            elif b == 2:  # x ** 2, the most common case: a^(b-1) is a itself
                # (a + a is 2 * a exactly, without converting the Python 2: 0.34 vs 0.9 us)
                ga = grad * (a + a) if isinstance(a, np.ndarray) else grad * (b * a)
            else:  # another Python scalar exponent (float16: b unrounded, as PyTorch's mul)
                ga = grad * mul_number(_power(a, b - 1), b) if b != 0 else np.zeros_like(grad)
        if nb:  # d(a^b)/db = a^b log(a); PyTorch defines it as 0 where a == 0 and b >= 0
            gb = grad * np.where((a == 0) & (b >= 0), 0.0, out * np.log(a))
        return Binary.reduce(ctx, ga, gb)

    @staticmethod
    def graph_backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        na, nb = ctx.needs_input_grad[:2]
        ad, bd = _data(a), _data(b)
        zero = _zero(grad)
        ga = gb = None
        if na:  # b a^(b-1), 0 where b == 0
            if isinstance(bd, np.ndarray):
                ga = grad * _select(bd == 0, zero, b * a ** (b - 1))
            else:  # (no x**2 shortcut: PyTorch's b * a^(b-1) keeps a^0 in the graph, so the
                # derivative of a constant derivative is zeros, not a tensor cut from the graph)
                ga = grad * (b * a ** (b - 1)) if b != 0 else _const(np.zeros_like(grad._data))
        if nb:  # a^b log(a), 0 where a == 0 and b >= 0
            log_a = a.log() if isinstance(ad, np.ndarray) else np.log(a)
            gb = grad * _select((ad == 0) & (bd >= 0), zero, out * log_a)
        return Binary.reduce(ctx, ga, gb)


def _power(a: Any, b: Any) -> Any:
    """a ** b; for integers with negative exponents PyTorch's values (NumPy raises): 1 ** -n = 1,
    (-1) ** -n = +-1, and any other base gives 0 (the integer part of 1 / a^n; 0 ** -n too).
    (An integer tensor ** a negative Python int is refused before this, as PyTorch does.)"""
    if type(b) is int and b == 2 and isinstance(a, np.ndarray) and a.dtype.kind == "f":
        if a.dtype.itemsize != 2:  # x ** 2 of float32/64 (see below), without result_type
            return a * a
    dt = np.result_type(a, b)
    if dt.kind == "b" or (isinstance(a, np.ndarray) and a.dtype.kind == "b" and type(b) is bool):
        return np.logical_or(a, not b)  # bool ** bool stays bool (NumPy would give int8)
    if type(b) is float and b == -0.5 and dt.kind == "f":
        # PyTorch computes x ** -0.5 as 1 / sqrt(x), which keeps the sign of -0.0 (-inf);
        # np.power gives +inf there (and x ** 0.5's gradient, 0.5 x ** -0.5, follows it);
        # float16 rounded once, as PyTorch's float32 rsqrt
        return rsqrt(a)
    if dt.kind == "f" and isinstance(a, np.ndarray) and type(b) in (int, float):
        # PyTorch's tensor ** number computes these exponents by multiplication or a
        # reciprocal, bit for bit (np.power's pow() rounds x ** 3 otherwise in a
        # quarter of the elements); x ** 2, the commonest, also skips the float64 detour
        # below (the edge benchmark's 20 steps: 1.21 -> 1.09 ms)
        if b == 2 and dt != np.float16:
            return a * a
        if b == 3 and dt != np.float16:
            return a * a * a
        if b == -1 and dt != np.float16:
            return np.reciprocal(a)
        if b == -2 and dt != np.float16:
            return np.reciprocal(a * a)
    if dt == np.float16 and isinstance(a, np.ndarray) and type(b) in (int, float):
        # PyTorch's float16 tensor ** number: the number rounded to float16, the power in
        # float32 and rounded once, which is NumPy's float16 power (x ** 3 as x * x * x
        # rounded twice, in a quarter of the elements an ulp off)
        return np.power(a, b)
    if dt in (np.float32, np.float16):
        # PyTorch's float32 pow is within an ulp of the exact power, NumPy's float32 pow
        # (a SIMD approximation) often an ulp off; the float64 power rounded once to float32
        # agrees with PyTorch's about 10x more often. A Python number is first rounded to the
        # dtype, as PyTorch's wrapped numbers are (e ** x is float32(e) ** x)
        a64, b64 = (np.asarray(v, dt).astype(np.float64) for v in (a, b))
        return np.power(a64, b64).astype(dt)
    if dt.kind not in "iu" or not np.any(np.less(b, 0)):
        return np.power(a, b)
    neg = np.less(b, 0)
    pos = np.power(a, np.where(neg, 0, b).astype(dt, copy=False))
    odd = np.remainder(b, 2) != 0
    special = np.where(np.equal(a, 1), 1, np.where(np.equal(a, -1), np.where(odd, -1, 1), 0))
    return np.where(neg, special, pos).astype(pos.dtype, copy=False)


def _division_by_zero(a: Any, b: Any, dt: np.dtype, what: str) -> None:
    """Integer % and // by zero raise, as in PyTorch (NumPy would give 0 and warn); not when
    the result is empty (no division happens)."""
    if (
        dt.kind in "iub"
        and np.any(np.equal(b, 0))
        and 0 not in np.broadcast_shapes(np.shape(a), np.shape(b))
    ):
        raise RuntimeError(
            f"{what}: integer division by zero (ZeroDivisionError); the divisor holds a 0"
        )


class Remainder(Binary):
    """a % b with the sign of b (Python's and PyTorch's rule, not C's fmod).

    (PyTorch's node lists a tensor divisor, not a number one: `x % 2` has one edge.)

    d(a % b)/da = 1 and d(a % b)/db = -floor(a / b), as PyTorch defines them (the jumps
    are ignored). `number % tensor` has no derivative in PyTorch: its backward raises.
    """

    def _shown(self) -> tuple:
        return self.edges[:2] if self.torch_name == "RemainderBackward1" else self.edges[:1]

    ufunc = None  # not np.remainder alone: integer division by zero must raise

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        _division_by_zero(a, b, np.result_type(a, b), "remainder (%)")
        ctx.torch_name = (
            "NotImplemented"
            if not isinstance(a, np.ndarray)  # number % tensor (see above)
            else "RemainderBackward1"
            if isinstance(b, np.ndarray)
            else "RemainderBackward0"
        )
        nb = ctx.needs_input_grad[1] if ctx.needs_input_grad else False
        ctx.save_for_backward(a if nb else None, b if nb else None)
        ctx.scalar_a = not isinstance(a, np.ndarray)
        out = np.remainder(a, b)
        if out.dtype.kind == "f":
            # a zero result keeps fmod's sign (the dividend's), as PyTorch's: -2.0 % -0.5
            # is -0.0 and 1.0 % -0.5 is 0.0 (NumPy gives both the divisor's sign)
            zero = out == 0
            if zero.any():
                out = np.where(zero, np.fmod(a, b).astype(out.dtype, copy=False), out)
        return like_operands(out, a, b)

    @staticmethod
    def backward(ctx, grad):
        if ctx.scalar_a:
            raise RuntimeError(
                "the derivative of remainder (number % tensor) is not implemented "
                "(as in PyTorch); write it as number - tensor * (number // tensor).detach()"
            )
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad[:2]
        gb = None
        if nb:
            gb = -grad * np.floor_divide(a, b)
        return Binary.reduce(ctx, grad if na else None, gb)

    @staticmethod
    def graph_backward(ctx, grad):
        if ctx.scalar_a:
            return Remainder.backward(ctx, grad)  # (raises)
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad[:2]
        gb = None
        if nb:  # floor(a / b) is piecewise constant: a constant factor
            gb = -grad * _linked(np.floor_divide(_data(a), _data(b)), b)
        return Binary.reduce(ctx, grad if na else None, gb)


class FloorDivide(Binary):
    """a // b, rounded towards -inf. Its result requires grad when an input does (as in
    PyTorch), but PyTorch defines no derivative for it: backward raises."""

    next_functions_min = 1

    ufunc = None  # not np.floor_divide alone: integer division by zero must raise
    torch_name = "NotImplemented"  # what PyTorch's node for it prints

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        _division_by_zero(a, b, np.result_type(a, b), "floor_divide (//)")
        return like_operands(_floor_quotient(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(
            "the derivative of floor_divide (//) is not implemented (as in PyTorch); "
            "use tensor.detach() // ... if no gradient should flow through it"
        )

    graph_backward = backward  # (raises: no derivative)


def _half_by_number(a: Any, b: Any) -> bool:
    """A float16 array divided by a Python number (not a tensor)."""
    return isinstance(a, np.ndarray) and a.dtype == np.float16 and type(b) in (int, float)


def _floor_quotient(a: Any, b: Any) -> Any:
    """np.floor_divide(a, b), with PyTorch's float16 numbers: a float16 tensor divided by a
    number is computed in float32 with the number unrounded (its kernel's scalar path); two
    float16 tensors in float16 steps, each rounded, as its Half kernel runs C's floor-divide
    algorithm (NumPy's float16 loop runs it in float32 and rounds once: 2003 vs 2002)."""
    if _half_by_number(a, b):
        return opmath(lambda a: np.floor_divide(a, b), a)
    if np.result_type(a, b) != np.float16:
        return np.floor_divide(a, b)
    a, b = np.asarray(a, np.float16), np.asarray(b, np.float16)
    mod = np.fmod(a, b)  # (exact)
    div = (a - mod) / b
    div = np.where((mod != 0) & ((b < 0) != (mod < 0)), div - np.float16(1), div)
    floor = np.floor(div)
    floor = np.where(div - floor > np.float16(0.5), floor + np.float16(1), floor)
    floor = np.where(div != 0, floor, np.copysign(np.float16(0), a / b))
    return np.where(b == 0, a / b, floor)  # (x / 0: inf or nan, as C's)


class RoundedDivide(Binary):
    """div(a, b, rounding_mode='floor' or 'trunc'): the quotient rounded down or towards zero.
    Piecewise constant, so PyTorch gives both operands a zero gradient (DivBackward2), unlike
    `//`, whose backward raises."""

    torch_name = "DivBackward2"
    trunc = False  # the 'trunc' subclass sets it

    @classmethod
    def forward(cls, ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        return like_operands(cls._quotient(a, b), a, b)

    @classmethod
    def _quotient(cls, a, b):
        dt = np.result_type(a, b)
        what = "div(rounding_mode='trunc')" if cls.trunc else "div(rounding_mode='floor')"
        _division_by_zero(a, b, dt, what)
        if not cls.trunc:
            return _floor_quotient(a, b)
        if dt.kind == "f":
            if _half_by_number(a, b):  # (PyTorch's kernel divides by the number in float32)
                return opmath(lambda a: np.trunc(a / b), a)
            return np.trunc(np.true_divide(a, b))
        # integers: C's division, the floor quotient moved up where it rounded a negative
        # quotient down (np.trunc of a float quotient would lose digits of large ints)
        q = np.floor_divide(a, b)
        up = (np.remainder(a, b) != 0) & (np.less(a, 0) != np.less(b, 0))
        return np.asarray(q + up.astype(q.dtype))

    @staticmethod
    def backward(ctx, grad):
        na, nb = ctx.needs_input_grad[:2]
        zero = np.zeros_like(grad)
        return Binary.reduce(ctx, zero if na else None, zero if nb else None)

    @staticmethod
    def graph_backward(ctx, grad):
        na, nb = ctx.needs_input_grad[:2]
        zero = _const(np.zeros_like(grad._data))
        return Binary.reduce(ctx, zero if na else None, zero if nb else None)


class TruncDivide(RoundedDivide):
    trunc = True


def _pick(ctx: Function, grad: np.ndarray, a_wins: Any, b_wins: Any, tie: Any) -> tuple:
    """maximum/minimum backward: the winner gets the gradient, a tie half each. Selected with
    where, not multiplied by a 0/1 mask, so an inf or nan gradient does not leak into the
    loser as 0 * inf = nan (PyTorch masks too). A NaN pair, neither winning nor tied, passes
    the gradient to both, as in PyTorch."""
    zero = np.zeros((), grad.dtype)
    half = grad * 0.5
    na, nb = ctx.needs_input_grad[:2]
    ga = np.where(b_wins, zero, np.where(tie, half, grad)) if na else None
    gb = np.where(a_wins, zero, np.where(tie, half, grad)) if nb else None
    return Binary.reduce(ctx, ga, gb)


def _pick_graph(ctx: Function, grad: Any, a_wins: Any, b_wins: Any, tie: Any) -> tuple:
    """_pick in graph ops: who won is piecewise constant, so the masks are constants."""
    zero = _zero(grad)
    half = grad * 0.5
    na, nb = ctx.needs_input_grad[:2]
    ga = _select(b_wins, zero, _select(tie, half, grad)) if na else None
    gb = _select(a_wins, zero, _select(tie, half, grad)) if nb else None
    return Binary.reduce(ctx, ga, gb)


class Maximum(Binary):
    torch_name = "MaximumBackward0"

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        ctx.save_for_backward(a, b)
        return like_operands(np.maximum(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # The larger operand gets the gradient; a tie splits it evenly (as PyTorch).
        return _pick(ctx, grad, a > b, a < b, a == b)

    @staticmethod
    def graph_backward(ctx, grad):
        a, b = (_data(x) for x in ctx.saved_tensors)
        return _pick_graph(ctx, grad, a > b, a < b, a == b)


class Minimum(Binary):
    torch_name = "MinimumBackward0"

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        ctx.save_for_backward(a, b)
        return like_operands(np.minimum(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _pick(ctx, grad, a < b, a > b, a == b)

    @staticmethod
    def graph_backward(ctx, grad):
        a, b = (_data(x) for x in ctx.saved_tensors)
        return _pick_graph(ctx, grad, a < b, a > b, a == b)


def _matmul_name(na: int, nb: int, a_grad: bool = False, out: tuple = ()) -> str:
    """The node PyTorch's matmul leaves, which depends on how it lowered the product."""
    if na == 1:
        return (
            "DotBackward0" if nb == 1 else "SqueezeBackward4" if nb == 2 else "UnsafeViewBackward0"
        )
    if na == 2:
        if nb >= 3 and a_grad:
            # 2-D a that requires grad @ batched b: PyTorch folds b into one mm on b.mT and
            # returns out.mT().contiguous(), a transpose when that is already contiguous
            # (a size-1 or empty result), else its copy.
            flat = out[-1] == 1 or out[-2] == 1 or 0 in out
            return "TransposeBackward0" if flat else "CloneBackward0"
        return "MvBackward0" if nb == 1 else "MmBackward0" if nb == 2 else "UnsafeViewBackward0"
    return "UnsafeViewBackward0"


class MatMul(Op):
    pack_order = (1, 0)  # (PyTorch hands mat2 to saved_tensors_hooks first, then self)

    @staticmethod
    def forward(ctx, a, b):
        # da needs b and db needs a: save only those (as PyTorch), so an in-place change of
        # an operand that needs no gradient is allowed after the product.
        na, nb = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(a if nb else None, b if na else None)
        ctx.a_shape, ctx.b_shape = a.shape, b.shape
        out = threads.matmul(a, b)
        ctx.torch_name = _matmul_name(a.ndim, b.ndim, na, out.shape)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.a_shape, ctx.b_shape
        # Treat 1-D operands as a row (a) or a column (b), as matmul does.
        sa2 = (1,) + sa if len(sa) == 1 else sa
        sb2 = sb + (1,) if len(sb) == 1 else sb
        g = grad
        if len(sa) == 1:  # (1-D @ 1-D gives a 0-d grad: give it its row axis first)
            g = np.expand_dims(g, -2 if len(sb) > 1 else 0)
        if len(sb) == 1:
            g = np.expand_dims(g, -1)
        # out = a b  =>  da = grad b^T,  db = a^T grad (summed over broadcast batches)
        ga = gb = None
        if na:
            b2 = b.reshape(sb2)
            ga = sum_to_shape(threads.matmul(g, np.swapaxes(b2, -1, -2)), sa2).reshape(sa)
        if nb:
            a2 = a.reshape(sa2)
            gb = sum_to_shape(threads.matmul(np.swapaxes(a2, -1, -2), g), sb2).reshape(sb)
        return ga, gb

    @staticmethod
    def graph_backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.a_shape, ctx.b_shape
        sa2 = (1,) + sa if len(sa) == 1 else sa
        sb2 = sb + (1,) if len(sb) == 1 else sb
        g = grad
        if len(sa) == 1:
            g = g.unsqueeze(-2 if len(sb) > 1 else 0)
        if len(sb) == 1:
            g = g.unsqueeze(-1)
        # da = grad b^T,  db = a^T grad: two more matmuls, whose own backward is this one
        ga = gb = None
        if na:
            ga = sum_to_shape(g @ b.reshape(sb2).transpose(-1, -2), sa2).reshape(sa)
        if nb:
            gb = sum_to_shape(a.reshape(sa2).transpose(-1, -2) @ g, sb2).reshape(sb)
        return ga, gb


# -- unary elementwise --------------------------------------------------------------


class Neg(Op):
    torch_name = "NegBackward0"

    @staticmethod
    def forward(ctx, a):
        return np.negative(a)

    @staticmethod
    def backward(ctx, grad):
        return -grad

    graph_backward = backward


class Abs(Op):
    torch_name = "AbsBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # an inf gradient at 0 gives nan, quietly, as PyTorch
        # sign(0) = 0 and, as PyTorch, sign(NaN) = 0 (np.sign gives NaN); multiplied, as PyTorch
        # does
        return grad * np.subtract(a > 0, a < 0, dtype=grad.dtype)

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        ad = a._data
        return grad * _linked(np.subtract(ad > 0, ad < 0, dtype=grad._data.dtype), a)  # sign


class Exp(Op):
    torch_name = "ExpBackward0"

    @staticmethod
    def forward(ctx, a):
        # exp(1e4) is inf, quietly, as in PyTorch
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out  # d(e^a)/da = e^a

    graph_backward = backward  # out is the output Tensor: its graph carries d(e^a)


class Log(Op):
    torch_name = "LogBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        # log(0) = -inf, log(-1) = nan
        return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a

    graph_backward = backward


class Sqrt(Op):
    torch_name = "SqrtBackward0"

    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2 * out)

    graph_backward = backward


class Sin(Op):
    torch_name = "SinBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * np.cos(a)

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * a.cos()


class Cos(Op):
    torch_name = "CosBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -grad * np.sin(a)

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -grad * a.sin()


class Relu(Op):
    torch_name = "ReluBackward0"

    @staticmethod
    def forward(ctx, a):
        # PyTorch's relu is clamp_min(x, 0): NaN stays NaN and -0.0 stays -0.0, which is
        # exactly "+0 where x < 0, else x". Branch-free (_zero_where), not np.where: 0.11 ms
        # vs 2 ms on 0.3M float32. (np.maximum's treatment of -0.0 differs between its
        # SIMD and scalar loops and between dtypes, so it is not used.)
        out = like_input(_zero_where(a < 0, a), a)  # (in a's layout, as PyTorch's)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        # The gradient is stopped where the output is <= 0 and passes elsewhere, NaN included
        # (as PyTorch's threshold_backward). Selected, not multiplied by the mask: an inf
        # arriving at a zero output ((x.relu() ** 0.5) at 0) must give 0, not nan.
        return _zero_where(out <= 0, grad)

    @staticmethod
    def graph_backward(ctx, grad):
        (out,) = ctx.saved_tensors
        stop = out._data <= 0  # (PyTorch's threshold_backward, on the saved result)
        return PiecewiseBackward.apply(
            grad, out, lambda g: _zero_where(stop, g), "ThresholdBackwardBackward0"
        )


class ReluInplace(Relu):
    """relu_'s node (PyTorch's is ReluBackward0 too): the zeros written into the tensor's own
    array, which relu_ hands the forward (Tensor._inplace_result, keeps_input=False), so the
    write-back after it has nothing to copy (NumPy skips assigning an array to itself). The
    forward returns, and saves, a view of that array: the saved result is the output (as
    PyTorch's relu_ saves its result), so a later in-place change of the tensor fails its
    backward. One pass fewer than relu and a copy back, and no new full-size output (2M
    float32, 1 thread, same process, median / min of 61 on a loaded machine: relu_ 11.0 / 2.3
    -> 10.2 / 1.9 ms, PyTorch 1.3 / 0.9; the NumPy steps alone, median 6.1 -> 1.6 ms)."""

    @staticmethod
    def forward(ctx, a):
        if (
            not isinstance(a, np.ndarray)
            or a.dtype.kind != "f"
            or a.dtype.itemsize not in _SAME_SIZE_INT
            or not a.flags.c_contiguous
            or not a.flags.writeable
        ):
            return Relu.forward(ctx, a)
        bits = a.view(_SAME_SIZE_INT[a.dtype.itemsize])
        # _zero_where's steps, ANDed into a's own bits: all ones where a >= 0 or NaN, else 0
        keep = np.empty(a.shape, bits.dtype)
        np.copyto(keep, np.subtract((a < 0).view(np.int8), np.int8(1)), casting="unsafe")
        np.bitwise_and(bits, keep, out=bits)
        out = a.view()
        ctx.save_for_backward(out)
        return out


def sigmoid_array(a: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-a) elementwise, in a's dtype: PyTorch's formula and its numbers, including
    its overflow (e^-a is inf below -88.7 in float32, -709.8 in float64, so the result is 0
    there, where the exact value would be a tiny e^a). float16 is computed in float32 and
    rounded once, as PyTorch's half kernels compute in float. Four passes, in place in one
    temporary (forward 4.6 -> 2.5 ms on 2M float32)."""
    x = a.astype(np.float32) if a.dtype == np.float16 else a
    # (the overflow is quiet as every op's: the caller's state, autograd/ieee.py)
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        s = np.asarray(1 / (1 + np.exp(-x)))
    else:
        # (empty_like: x's memory order, as PyTorch keeps a transposed or channels-last layout)
        s = np.negative(x, out=np.empty_like(x))
        np.exp(s, out=s)
        np.add(s, 1, out=s)
        np.divide(1, s, out=s)
    return s.astype(a.dtype, copy=False)


class Sigmoid(Op):
    torch_name = "SigmoidBackward0"

    @staticmethod
    def forward(ctx, a):
        out = sigmoid_array(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        if not isinstance(grad, np.ndarray):  # (graph_backward: Tensors)
            return grad * out * (1 - out)  # s' = s (1 - s)
        if out.dtype == np.float16:  # PyTorch's float16 kernel: (grad (1 - s)) s, each rounded
            return grad * (1 - out) * out
        d = np.asarray(grad * out)
        return np.multiply(d, np.subtract(1, out), out=d if d.dtype == out.dtype else None)

    @staticmethod
    def graph_backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


# From |x| = 9.01084 on, float32 tanh rounds to exactly +-1 (PyTorch's, correctly rounded);
# NumPy's float32 tanh stays at 1 - 2**-24 up to |x| = 10
_TANH32_ONE = np.float32(9.01084)


def tanh_array(a: np.ndarray) -> np.ndarray:
    """tanh elementwise, float32 saturating to +-1 where PyTorch's does."""
    out = np.tanh(a)
    if out.dtype == np.float32:
        big = np.abs(a) >= _TANH32_ONE
        if big.any():
            out = np.where(big, np.copysign(np.float32(1), a), out).astype(np.float32)
    return out


class Tanh(Op):
    torch_name = "TanhBackward0"

    @staticmethod
    def forward(ctx, a):
        out = tanh_array(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return opmath(Tanh._derivative, grad, out)  # (one fused kernel in PyTorch)

    @staticmethod
    def _derivative(grad, out):
        # tanh' = 1 - tanh^2; PyTorch's float32 kernel forms 1 - y*y in one fused multiply-add
        # (rounded once: here exactly in float64, then rounded), then multiplies by grad
        if out.dtype == np.float32:
            wide = out.astype(np.float64)
            return grad * (1 - wide * wide).astype(np.float32)
        return grad * (1 - out * out)

    @staticmethod
    def graph_backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


class Clamp(Op):
    """min(max(a, lo), hi); lo and hi are numbers, None, or arrays that broadcast with a.

    Gradients (PyTorch's convention, ties included): a gets it where lo <= a <= hi; lo
    where lo > a and lo < hi; hi where hi < a or hi < lo (then hi is the output whatever a
    is). At a == lo == hi, a gets it; at a < lo == hi nobody does. Selected with where, so
    an inf gradient at a clamped element gives 0, not nan.
    """

    torch_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, a, lo, hi, dtype=None):
        if ctx.needs_input_grad:
            ctx.metas = (_meta(a), _meta(lo), _meta(hi))
        # PyTorch: ClampBackward1 for number bounds, ClampBackward0 for tensor bounds
        ctx.torch_name = (
            "ClampBackward0"
            if isinstance(lo, np.ndarray) or isinstance(hi, np.ndarray)
            else "ClampBackward1"
        )
        a, lo, hi = _cast(a, dtype), _cast(lo, dtype), _cast(hi, dtype)
        ctx.save_for_backward(a, lo, hi)  # what PyTorch saves: self, min and max
        if lo is None or hi is None or (isinstance(lo, np.ndarray) or isinstance(hi, np.ndarray)):
            out = a
            if lo is not None:
                out = np.maximum(out, lo)
            if hi is not None:
                out = np.minimum(out, hi)
            return out if out is not a else a.copy()
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        a, lo, hi = ctx.saved_tensors
        need_a, need_lo, need_hi = ctx.needs_input_grad[:3]
        zero = np.zeros((), grad.dtype)
        ga = glo = ghi = None
        if need_a:
            keep = True
            if lo is not None:
                keep = np.logical_and(keep, a >= lo)
            if hi is not None:
                keep = np.logical_and(keep, a <= hi)
            ga = sum_to_shape(_zero_where(np.logical_not(keep), grad), *ctx.metas[0])
        if need_lo:
            pick = lo > a if hi is None else np.logical_and(lo > a, lo < hi)
            glo = sum_to_shape(np.where(pick, grad, zero), *ctx.metas[1])
        if need_hi:
            pick = hi < a if lo is None else np.logical_or(hi < a, hi < lo)
            ghi = sum_to_shape(np.where(pick, grad, zero), *ctx.metas[2])
        return ga, glo, ghi, None

    @staticmethod
    def graph_backward(ctx, grad):
        a, lo, hi = (_data(x) for x in ctx.saved_tensors)  # only masks are made from them
        need_a, need_lo, need_hi = ctx.needs_input_grad[:3]
        zero = _zero(grad)
        ga = glo = ghi = None
        if need_a:
            keep = True
            if lo is not None:
                keep = np.logical_and(keep, a >= lo)
            if hi is not None:
                keep = np.logical_and(keep, a <= hi)
            ga = sum_to_shape(_select(keep, grad, zero), *ctx.metas[0])
        if need_lo:
            pick = lo > a if hi is None else np.logical_and(lo > a, lo < hi)
            glo = sum_to_shape(_select(pick, grad, zero), *ctx.metas[1])
        if need_hi:
            pick = hi < a if lo is None else np.logical_or(hi < a, hi < lo)
            ghi = sum_to_shape(_select(pick, grad, zero), *ctx.metas[2])
        return ga, glo, ghi, None


class Cast(Op):
    """Change dtype; the gradient goes back in the input's dtype."""

    torch_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, a, dtype, copy=None):
        # copy: a function making a copy in another memory layout (Tensor.to(memory_format=))
        ctx.in_dtype = a.dtype
        return a.astype(dtype) if copy is None else copy(a).astype(dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.in_dtype), None

    @staticmethod
    def graph_backward(ctx, grad):
        return grad.to(ctx.in_dtype), None


class Clone(Op):
    torch_name = "CloneBackward0"

    @staticmethod
    def forward(ctx, a, copy=None):
        # copy: a function making the copy in another memory layout (the values are the same)
        return a.copy() if copy is None else copy(a)

    @staticmethod
    def backward(ctx, grad):
        return grad

    graph_backward = backward


# -- reductions ---------------------------------------------------------------------


def _expand_back(grad: np.ndarray, shape: tuple, axis: Any, keepdims: bool) -> np.ndarray:
    """Re-insert the reduced axes (size 1) so `grad` broadcasts against the input."""
    if axis is None:
        return grad.reshape((1,) * len(shape))
    if not keepdims:
        grad = np.expand_dims(grad, axis)
    return grad


def _kept_graph(grad: Any, shape: tuple, axis: Any) -> Any:
    """_expand_back in Tensor ops: `grad` with the reduced axes of `shape` as size-1 dims."""
    if axis is None:
        axes = set(range(len(shape)))
    else:
        axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return grad.reshape(tuple(1 if i in axes else n for i, n in enumerate(shape)))


def _expand_back_graph(grad: Any, shape: tuple, axis: Any) -> Any:
    """_expand_back then broadcast to `shape`, in Tensor ops (for graph_backward)."""
    return _kept_graph(grad, shape, axis).expand(shape)


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


def _reduce_dtype(a: np.ndarray, dtype: Any) -> Any:
    """The accumulating dtype of sum/prod: PyTorch's int64 for every integer and bool input
    (NumPy would give uint8 sums as uint64)."""
    if dtype is None and a.dtype.kind in "bu":
        return np.int64
    return dtype


_F16 = np.dtype(np.float16)  # (a singleton: `is` costs 40 ns where == costs 100 ns)


class Sum(Op):
    torch_name = "SumBackward0"  # (SumBackward1 with a dim: set per node in forward)

    @staticmethod
    @layout_free
    def forward(ctx, a, axis=None, keepdims=False, dtype=None):
        ctx.shape, ctx.axis, ctx.keepdims, ctx.in_dtype = a.shape, axis, keepdims, a.dtype
        ctx.size = a.size
        if axis is not None:
            ctx.torch_name = "SumBackward1"
        if dtype is None and a.dtype.kind in "bu":  # (_reduce_dtype, inlined)
            dtype = np.int64
        if (a.dtype if dtype is None else np.dtype(dtype)) is _F16:
            # PyTorch accumulates float16 in float32 and rounds once; NumPy's float16 sum
            # rounds every add (along a strided axis, 2000 x 0.1 gives 230.1, not 200)
            out = np.add.reduce(
                a.astype(np.float16), axis=axis, dtype=np.float32, keepdims=keepdims
            )
            return np.asarray(out).astype(np.float16)
        # np.add.reduce is what np.sum runs, minus ~1 us of Python wrapper
        return np.asarray(np.add.reduce(a, axis=axis, dtype=dtype, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        # Every input element contributed once: its gradient is the output's.
        if grad.ndim == 0 and ctx.size <= _SMALL_GRAD:
            # x.sum()'s 0-d gradient (every loss): fill takes ~0.4 us where reshaping it and
            # assigning through out[...] takes ~0.75 us; the same values, cast alike
            out = np.empty(ctx.shape, ctx.in_dtype)
            out.fill(grad)
            return out
        g = _expand_back(grad, ctx.shape, ctx.axis, ctx.keepdims)
        return _spread(g, ctx.shape, ctx.size, ctx.in_dtype)

    @staticmethod
    def graph_backward(ctx, grad):
        return _expand_back_graph(grad, ctx.shape, ctx.axis).to(ctx.in_dtype)


class Mean(Op):
    torch_name = "MeanBackward0"  # (MeanBackward1 with a dim: set per node in forward)

    @staticmethod
    @layout_free
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        ctx.torch_name = "MeanBackward0" if axis is None else "MeanBackward1"
        # float16 sums in float32 (as np.mean does); the mean of nothing is nan, quietly, as in
        # PyTorch (np.mean would warn "Mean of empty slice")
        total = np.asarray(
            np.add.reduce(
                a, axis=axis, keepdims=keepdims, dtype=np.float32 if a.dtype == np.float16 else None
            )
        )
        ctx.count = a.size // max(total.size, 1) if a.size else 0
        out = total / ctx.count if ctx.count else total * np.nan
        return out.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        g = _expand_back(grad, ctx.shape, ctx.axis, ctx.keepdims) / max(ctx.count, 1)
        return _spread(g, ctx.shape, ctx.count * grad.size, grad.dtype)

    @staticmethod
    def graph_backward(ctx, grad):
        return _expand_back_graph(grad, ctx.shape, ctx.axis) / max(ctx.count, 1)


def _centered(a: np.ndarray, axis: Any) -> tuple:
    """(a - its mean over `axis`, how many elements each mean averages)."""
    if axis is None:
        n = a.size
    else:
        n = 1
        for i in axis if isinstance(axis, tuple) else (axis,):
            n *= a.shape[i]
    # the mean of nothing is nan, quietly; float16 summed in float32 (PyTorch's), so the
    # mean of a constant is that constant and its gradient 0
    wide = np.float32 if a.dtype == np.float16 else None
    mean = (np.add.reduce(a, axis=axis, keepdims=True, dtype=wide) / n).astype(a.dtype, copy=False)
    return a - mean, n


def _var(
    a: np.ndarray, axis: Any, correction: Any, keepdims: bool, what: str, sqrt: bool = False
) -> tuple:
    """(variance, or its square root with sqrt=True; a - mean (float64 for float32 a);
    n - correction); warns as PyTorch when n - correction <= 0. float32/float16 inputs are
    reduced in float64 and the result rounded once, as PyTorch accumulates them in double:
    its var and std of all float32 elements are then the correctly rounded ones, which
    float32 sums missed in about half the cases (print(x.std().item()) showed other last
    digits); along a dim, agreement went from 48% to 80% of elements."""
    low = a.dtype in (np.float32, np.float16)
    full = axis is None or len(axis if isinstance(axis, tuple) else (axis,)) == a.ndim
    if low and full and a.size:
        centered, n = None, a.size  # (no caller uses the centered values)
        total = _blocked_square_sum(a)
    else:
        src = a.astype(np.float64) if low else a
        centered, n = _centered(src, axis)
        if centered.size:
            # one correction step, the mean of the residuals: sum / n rounds, so a constant
            # slice's residuals were an ulp off 0 (std 2e-16, and a gradient of 0.15 where
            # PyTorch's Welford sums give std 0 and so gradient 0); exact for a constant.
            # (The backward keeps PyTorch's formula, a - sum / n.)
            centered -= np.add.reduce(centered, axis=axis, keepdims=True) / n
        total = None
    dof = n - correction
    if dof <= 0:
        warnings.warn(
            f"{what}: degrees of freedom is <= 0 (correction {correction} with {n} "
            "element(s) per reduction); the result is nan or inf",
            UserWarning,
            stacklevel=6,  # (one frame more for the layout_free wrapper of forward)
        )
    # 0 / 0 gives nan, as PyTorch
    if total is None:
        total = np.add.reduce(centered * centered, axis=axis, keepdims=keepdims)
    elif keepdims:
        total = np.full((1,) * a.ndim, total)
    out = total / max(dof, 0)
    if sqrt:
        out = np.sqrt(out)
    return np.asarray(out).astype(a.dtype, copy=False), centered, dof


_SQ_BLOCK = 1 << 15  # float64 elements per block: 256 KB, stays in cache


def _blocked_square_sum(a: np.ndarray) -> float:
    """sum((a - mean(a))^2) over all elements of a float32/float16 array, in float64 without
    float64 copies of the array: the mean from one reduction that casts as it goes, then the
    squares block by block in a cache-sized buffer. Same float64 arithmetic as casting the whole
    array first, the sums grouped differently (last float64 bits; the float32 result the same
    in the tests); (32, 64, 32, 32) float32: 18 -> 4.4 ms."""
    flat = a.reshape(-1)
    n = flat.size
    mean = np.add.reduce(flat, dtype=np.float64) / n
    buf = np.empty(min(n, _SQ_BLOCK), np.float64)
    total = 0.0
    for i in range(0, n, _SQ_BLOCK):
        t = buf[: min(_SQ_BLOCK, n - i)]
        np.subtract(flat[i : i + _SQ_BLOCK], mean, out=t, dtype=np.float64)
        np.multiply(t, t, out=t)
        total += np.add.reduce(t)
    return total


def _centered_graph(a: Any, axis: Any) -> Any:
    """_centered in Tensor ops: a - its mean over `axis` (the mean in the graph too)."""
    if axis is None:
        n = a._data.size
    else:
        n = 1
        for i in axis if isinstance(axis, tuple) else (axis,):
            n *= a._data.shape[i]
    return a - a.sum(dim=axis, keepdim=True) / n


def _var_backward(g: np.ndarray, centered: np.ndarray, dof: Any, full: bool = False) -> np.ndarray:
    # var = sum (a - mean)^2 / dof  =>  dvar/da = 2 (a - mean) / dof
    # (the mean's own dependence on a cancels, because sum(a - mean) = 0). dof is not
    # clamped here, as in PyTorch: n = 1 gives 2 * 0 / 0 = nan, dof < 0 a finite -0.
    # Except in a full reduction (dim=None) without degrees of freedom, where PyTorch's
    # gradient is grad * inf wherever a differs from its mean (its sign is grad's, not
    # a - mean's) and nan where it equals the mean (checked against torch 2.13).
    if full and dof <= 0:
        return (g * np.inf * np.abs(centered)).astype(centered.dtype, copy=False)
    # in place: `centered` is always a fresh array here (saves a full-size temporary);
    # of a 0-d input it is a NumPy scalar, which `out=` does not take
    centered = np.asarray(centered)
    # (2 / dof) g first, the number unrounded (float16 in float32), as PyTorch's formula
    np.multiply(centered, mul_number(g, 2 / dof if dof else np.inf), out=centered, casting="unsafe")
    return centered


class Var(Op):
    torch_name = "VarBackward0"

    @staticmethod
    @layout_free
    def forward(ctx, a, axis=None, correction=1, keepdims=False):
        out, _, dof = _var(a, axis, correction, keepdims, "var()")
        ctx.save_for_backward(a)  # as PyTorch (the centered values are recomputed)
        ctx.axis, ctx.keepdims, ctx.dof = axis, keepdims, dof
        return out

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        centered, _ = _centered(a, ctx.axis)
        g = _expand_back(grad, a.shape, ctx.axis, ctx.keepdims)
        return _var_backward(g, centered, ctx.dof, ctx.axis is None), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        # the centred values are recomputed from a in the graph: the mean's dependence on a
        # cancels in the first derivative, but not in the second
        (a,) = ctx.saved_tensors
        if ctx.dof <= 0 and (ctx.axis is None or a._data.ndim == 0):
            # no degrees of freedom in a full reduction: PyTorch's gradient is a constant
            g = _expand_back(grad._data, a._data.shape, ctx.axis, ctx.keepdims)
            return (
                _const(_var_backward(g, _centered(a._data, ctx.axis)[0], ctx.dof, True)),
                None,
                None,
                None,
            )
        g = _kept_graph(grad, a._data.shape, ctx.axis)
        return (
            g * (2 / ctx.dof if ctx.dof else np.inf) * _centered_graph(a, ctx.axis),
            None,
            None,
            None,
        )


class Std(Op):
    """sqrt(var), one op so that a zero std (a constant input) gets gradient 0, not
    inf * 0 = nan through sqrt, as in PyTorch."""

    torch_name = "StdBackward0"

    @staticmethod
    @layout_free
    def forward(ctx, a, axis=None, correction=1, keepdims=False):
        out, _, dof = _var(a, axis, correction, keepdims, "std()", sqrt=True)
        ctx.save_for_backward(a, out)  # as PyTorch: self and result
        ctx.axis, ctx.keepdims, ctx.dof = axis, keepdims, dof
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        centered, _ = _centered(a, ctx.axis)
        g = np.where(out == 0, np.zeros((), grad.dtype), grad / (2 * out))  # d sqrt(v)/dv
        g = _expand_back(g, a.shape, ctx.axis, ctx.keepdims)
        return _var_backward(g, centered, ctx.dof, ctx.axis is None), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        a, out = ctx.saved_tensors
        g = _select(out._data == 0, _zero(grad), grad / (2 * out))
        g = _kept_graph(g, a._data.shape, ctx.axis)
        if ctx.dof <= 0 and ctx.axis is None:  # as _var_backward's full reduction
            return g * np.inf * _centered_graph(a, None).abs(), None, None, None
        return (
            g * (2 / ctx.dof if ctx.dof else np.inf) * _centered_graph(a, ctx.axis),
            None,
            None,
            None,
        )


class Amax(Op):
    """max (or min) over axes, gradient shared evenly among tied maxima (as PyTorch).

    `masked` (x.max() / x.min() of all elements) selects the gradient with where, as PyTorch's
    max() does; amax/amin multiply by the 0/1 mask, as PyTorch's amax does (so an inf
    gradient gives nan at the other elements there, and 0 here, exactly as in PyTorch).
    """

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, use_min=False, masked=False):
        out = np.asarray((np.amin if use_min else np.amax)(a, axis=axis, keepdims=keepdims))
        ctx.save_for_backward(a, out)  # as PyTorch: self and result
        ctx.axis, ctx.keepdims, ctx.masked = axis, keepdims, masked
        # x.max() of everything is MaxBackward1 in PyTorch; amax(dim) is AmaxBackward0
        ctx.torch_name = (
            ("MinBackward1" if use_min else "MaxBackward1")
            if masked
            else ("AminBackward0" if use_min else "AmaxBackward0")
        )
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        best = _expand_back(out, a.shape, ctx.axis, ctx.keepdims)
        hit = a == best
        if ctx.masked and a.dtype.kind == "f":
            # PyTorch's max()/min() of a tensor with NaNs: the result is NaN, and the gradient is
            # shared among the NaNs (amax/amin compare with ==, so there it is NaN everywhere).
            hit = np.where(np.isnan(best), np.isnan(a), hit)
        count = np.sum(hit, axis=ctx.axis, keepdims=True)
        g = _expand_back(grad, a.shape, ctx.axis, ctx.keepdims)
        if ctx.masked:
            gin = np.where(hit, g / count, np.zeros((), grad.dtype))
        else:
            # inf * 0 = nan at the others, quietly, as PyTorch
            gin = g * hit / count
        return gin.astype(grad.dtype, copy=False), None, None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        a, out = (_data(x) for x in ctx.saved_tensors)
        # which elements tie for the max is piecewise constant: the mask and count are constants
        hit = a == _expand_back(out, a.shape, ctx.axis, ctx.keepdims)
        if ctx.masked and a.dtype.kind == "f":
            hit = np.where(
                np.isnan(_expand_back(out, a.shape, ctx.axis, ctx.keepdims)), np.isnan(a), hit
            )
        count = np.sum(hit, axis=ctx.axis, keepdims=True)
        g = _kept_graph(grad, a.shape, ctx.axis)
        if ctx.masked:
            return (
                _select(hit, g / _const(count.astype(a.dtype)), _zero(grad)),
                None,
                None,
                None,
                None,
            )
        return g * _const((hit / count).astype(a.dtype)), None, None, None, None


class TakeAlongAxis(Op):
    """out = a[..., index, ...] along `axis` (gather); used by max/min with dim."""

    torch_saves = True  # (PyTorch's nodes save the indices)

    @staticmethod
    def forward(ctx, a, index, axis, keepdims=True):
        ctx.shape, ctx.index, ctx.axis, ctx.keepdims = a.shape, index, axis, keepdims
        out = np.take_along_axis(a, index, axis=axis)
        # squeezed here (not by a Reshape node after) so the values are a tensor of their own,
        # not a view: an in-place change of max(dim).values is then fine, as in PyTorch
        return out if keepdims else np.squeeze(out, axis)

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        g = grad if ctx.keepdims else np.expand_dims(grad, ctx.axis)
        np.put_along_axis(out, ctx.index, g, axis=ctx.axis)
        return out, None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        # the scatter of the gradient back to where each value came from, as an op
        g = grad if ctx.keepdims else grad.unsqueeze(ctx.axis)
        where = IndexPlan((Ellipsis,), _full_index(ctx.index, ctx.axis), ctx.index.shape, False)
        return IndexAccumulate.apply(g, where, ctx.shape, "ScatterBackward0"), None, None, None


class MaxDim(TakeAlongAxis):
    """max(dim).values"""

    torch_name = "MaxBackward0"


class MinDim(TakeAlongAxis):
    torch_name = "MinBackward0"


# -- shape ops (the output may be a view of the input) -------------------------------


class Reshape(Op):
    torch_name = "ViewBackward0"

    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None

    @staticmethod
    def graph_backward(ctx, grad):
        return grad.reshape(ctx.shape), None


class Squeeze(Reshape):
    """squeeze(): a reshape that drops size-1 dims (its own node in PyTorch)."""

    torch_name = "SqueezeBackward1"


class Unsqueeze(Reshape):
    torch_name = "UnsqueezeBackward0"


class Permute(Op):
    torch_name = "PermuteBackward0"

    is_view = True

    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        return np.transpose(a, axes)

    @staticmethod
    def backward(ctx, grad):
        return np.transpose(grad, np.argsort(ctx.axes)), None

    @staticmethod
    def graph_backward(ctx, grad):
        return type(ctx).apply(grad, tuple(int(i) for i in np.argsort(ctx.axes))), None


class Transpose(Permute):
    """transpose(d0, d1): a permute that swaps two dims (its own node in PyTorch)."""

    torch_name = "TransposeBackward0"


class Expand(Op):
    torch_name = "ExpandBackward0"

    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        out = np.broadcast_to(a, shape)  # read-only: written elements could share memory
        if a.flags.writeable and not any(
            st == 0 and n > 1 for st, n in zip(out.strides, out.shape, strict=False)
        ):
            # no element repeated (only size-1 dims added or kept): writable, as in PyTorch
            out = np.lib.stride_tricks.as_strided(a, out.shape, out.strides, writeable=True)
        return out

    @staticmethod
    def backward(ctx, grad):
        return sum_to_shape(grad, ctx.shape), None

    graph_backward = backward  # (sum_to_shape sums Tensors with the Sum op)


class Flip(Op):
    """A copy with the order of `axes` reversed. A copy, not a view, as in PyTorch: an
    in-place change of it leaves the input alone, and .view() of it works."""

    torch_name = "FlipBackward0"

    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        if a.flags.c_contiguous or any(st == 0 for st in a.strides):  # (expanded: C order)
            return np.flip(a, axes).copy()
        # PyTorch's copy keeps the order of the input's strides (x.t().flip(0) is not
        # contiguous, and .view(-1) of it raises there), as empty_like's order='K' does
        out = np.empty_like(a)
        np.copyto(out, np.flip(a, axes))
        return out

    @staticmethod
    def backward(ctx, grad):
        return np.flip(grad, ctx.axes), None

    @staticmethod
    def graph_backward(ctx, grad):
        return Flip.apply(grad, ctx.axes), None


def _index_name(items: tuple, shape: tuple) -> str:
    """PyTorch applies a basic index item by item; its node is the last one that did something.
    In a tuple, a slice over a whole dim (start 0 or None, step 1, stop None or >= the size: a
    negative start counts as partial, as PyTorch compares the start as written) is skipped, and
    an index that did nothing is an alias. A lone slice always slices (x[:] too)."""
    name = "AliasBackward0"
    lone = len(items) == 1
    d = 0
    for it in items:
        if it is None:
            name = "UnsqueezeBackward0"
        elif it is Ellipsis:
            d += len(shape) - sum(
                1 for i in items if i is not None and i is not Ellipsis and type(i) is not bool
            )
        elif isinstance(it, slice):
            n = shape[d] if d < len(shape) else 0
            whole = (
                it.start in (None, 0) and it.step in (None, 1) and (it.stop is None or it.stop >= n)
            )
            if lone or not whole:
                name = "SliceBackward0"
            d += 1
        elif type(it) is not bool:
            name = "SelectBackward0"
            d += 1
    return name


class Index(Op):
    """out = a[index], `index` an IndexPlan (PyTorch's rules, see tinyconv/_indexing.py).

    Basic indexes give views, index arrays copies. Backward sends each gradient entry
    back to the element it came from; an element picked twice gets the sum of both.
    """

    is_view = True

    @staticmethod
    def empty_is_view(args: tuple) -> bool:
        return args[1].is_view  # index arrays copy

    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index = a.shape, index
        if index.is_view:
            ctx.torch_name = _index_name(index.items, a.shape)
        else:
            ctx.torch_name = "IndexBackward0"
            ctx.torch_saves = True  # (PyTorch's node saves the index tensors)
        return index.get(a)

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        ctx.index.accumulate(out, grad)
        return out, None

    @staticmethod
    def add_grad_into(ctx, buffer, grad):
        """buffer[index] += grad in place (Function.add_grad_into); False where that would
        not give backward's sum: an index array that repeats an element (np.add.at would add
        its entries onto buffer's value in another order than onto zeros)."""
        index = ctx.index
        if index.adv is not None and not index.unique:
            return False
        index.accumulate(buffer, grad)
        return True

    @staticmethod
    def graph_backward(ctx, grad):
        return IndexAccumulate.apply(grad, ctx.index, ctx.shape), None


class IndexAccumulate(Op):
    """zeros(shape) with out[index] += g: the gradient of an index (a scatter-add), as an op
    of its own, so that a create_graph backward through an index (or a gather, a diagonal,
    ...) can be differentiated again. Its gradient is the index itself: the two close."""

    torch_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, g, index, shape, torch_name=None):
        ctx.index = index
        if torch_name is not None:  # the node PyTorch's gradient ends in, where it differs
            ctx.torch_name = torch_name
        out = np.zeros(shape, g.dtype)
        index.accumulate(out, g)
        return out

    @staticmethod
    def backward(ctx, grad):
        return np.array(ctx.index.get(grad)), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        return Index.apply(grad, ctx.index), None, None, None


def _full_index(index: np.ndarray, axis: int) -> tuple:
    """The index tuple that picks a[..., index[p], ...] at every position p of `index`."""
    grids = list(np.indices(index.shape, sparse=True))
    grids[axis] = index
    return tuple(grids)


class SetIndex(Op):
    """The node that `a[index] = value` leaves on `a` (PyTorch's CopySlices).

    Not run through apply(): Tensor.__setitem__ writes in place and builds it.
    The overwritten part of the old `a` no longer reaches the output, so it
    gets zero gradient; `value` gets the gradient of the part it filled, each
    entry as often as an index array names it (PyTorch's index_put_ rule, even
    though only one of repeated writes survives), summed over broadcast dims.
    """

    torch_name = "CopySlices"

    @staticmethod
    def backward(ctx, grad):
        g_old = None
        if ctx.needs_input_grad[0]:
            g_old = np.array(grad)  # a copy, and an array even if grad came as a NumPy scalar
            ctx.index.put(g_old, 0)
        g_value = None
        if ctx.needs_input_grad[1]:
            g = ctx.index.get(grad)
            shape, dtype = ctx.value_meta
            if len(shape) > g.ndim:  # the value had extra leading size-1 dims (x[0] = y[None])
                g = g.reshape((1,) * (len(shape) - g.ndim) + g.shape)
            g_value = sum_to_shape(g, shape, dtype)
        return g_old, g_value

    @staticmethod
    def graph_backward(ctx, grad):
        g_old = None
        if ctx.needs_input_grad[0]:
            kept = np.ones(grad._data.shape, dtype=bool)
            ctx.index.put(kept, False)
            g_old = _select(kept, grad, _zero(grad))
        g_value = None
        if ctx.needs_input_grad[1]:
            g = Index.apply(grad, ctx.index)
            shape, dtype = ctx.value_meta
            if len(shape) > g.ndim:
                g = g.reshape((1,) * (len(shape) - g.ndim) + tuple(g.shape))
            g_value = sum_to_shape(g, shape, dtype)
        return g_old, g_value


class Cat(Op):
    torch_name = "CatBackward0"

    def _shown(self) -> tuple:
        return self.edges[1:]  # the tensors, not the dimension

    @staticmethod
    def forward(ctx, axis, *parts):
        ctx.axis = axis
        ctx.dtypes = [p.dtype for p in parts]
        dtype = promote_types(*ctx.dtypes)  # PyTorch's rule: int64 with float32 gives float32
        # PyTorch's legacy rule: a 1-D empty tensor joins anything (it is skipped, but its
        # dtype counts), so `out = cat([tensor([]), x])` works in a loop
        ctx.legacy = [p.ndim == 1 and p.size == 0 for p in parts]
        if all(ctx.legacy) or not any(ctx.legacy):
            ctx.legacy = None
        else:
            parts = tuple(p for p, skip in zip(parts, ctx.legacy, strict=True) if not skip)
        ctx.bounds = np.cumsum([p.shape[axis] for p in parts])[:-1]
        out = np.concatenate([p.astype(dtype, copy=False) for p in parts], axis=axis)
        if out.flags.c_contiguous:
            return out
        # PyTorch's layout: channels-last when every part is (NumPy's concatenate keeps that
        # order), else contiguous (NumPy would keep transposed parts' order)
        return out if _all_channels_last(parts) else c_order(out)

    @staticmethod
    def _kept(ctx) -> list:
        """The dtypes of the inputs that were joined (not legacy empties)."""
        if ctx.legacy is None:
            return ctx.dtypes
        return [d for d, skip in zip(ctx.dtypes, ctx.legacy, strict=True) if not skip]

    @staticmethod
    def _with_legacy(ctx, pieces: list, empty: Any) -> tuple:
        """The gradient pieces in the order of the inputs: empty ones for legacy inputs."""
        if ctx.legacy is None:
            return (None, *pieces)
        it = iter(pieces)
        return (
            None,
            *(
                empty(d) if skip else next(it)
                for skip, d in zip(ctx.legacy, ctx.dtypes, strict=True)
            ),
        )

    @staticmethod
    def backward(ctx, grad):
        pieces = np.split(grad, ctx.bounds, axis=ctx.axis)
        pieces = [p.astype(d, copy=False) for p, d in zip(pieces, Cat._kept(ctx), strict=True)]
        return Cat._with_legacy(ctx, pieces, lambda d: np.zeros(0, d))

    @staticmethod
    def graph_backward(ctx, grad):
        ax = ctx.axis % grad.ndim
        ends = [0, *(int(b) for b in ctx.bounds), grad._data.shape[ax]]
        lead = (slice(None),) * ax
        pieces = [
            grad[lead + (slice(lo, hi),)].to(d)
            for lo, hi, d in zip(ends[:-1], ends[1:], Cat._kept(ctx), strict=True)
        ]
        return Cat._with_legacy(ctx, pieces, lambda d: Tensor._make(np.zeros(0, d), None, False))


def _all_channels_last(parts: tuple) -> bool:
    """Is every array channels-last (4-d (N, H, W, C) or 5-d (N, D, H, W, C) in memory)?"""
    for p in parts:
        if p.ndim not in (4, 5):
            return False
        order = (0, 2, 3, 1) if p.ndim == 4 else (0, 2, 3, 4, 1)
        if not p.transpose(order).flags.c_contiguous:
            return False
    return True


class Stack(Op):
    torch_name = "StackBackward0"

    def _shown(self) -> tuple:
        return self.edges[1:]  # the tensors, not the dimension

    @staticmethod
    def forward(ctx, axis, *parts):
        ctx.axis = axis
        ctx.dtypes = [p.dtype for p in parts]
        dtype = promote_types(*ctx.dtypes)
        out = np.stack([p.astype(dtype, copy=False) for p in parts], axis)
        # (as Cat: contiguous unless every part is channels-last, whose order NumPy keeps)
        return out if _all_channels_last(parts) else c_order(out)

    @staticmethod
    def backward(ctx, grad):
        n = grad.shape[ctx.axis]
        return (
            None,
            *(
                np.take(grad, i, axis=ctx.axis).astype(d, copy=False)
                for i, d in zip(range(n), ctx.dtypes, strict=False)
            ),
        )

    @staticmethod
    def graph_backward(ctx, grad):
        lead = (slice(None),) * (ctx.axis % grad.ndim)
        return (None, *(grad[lead + (i,)].to(d) for i, d in enumerate(ctx.dtypes)))


class Where(Op):
    torch_saves = True  # (PyTorch's node saves tensors: see Function.torch_saves)
    torch_name = "WhereBackward0"

    def _shown(self) -> tuple:
        return self.edges[1:3]  # the two branches, not the condition (it has no gradient)

    @staticmethod
    def forward(ctx, cond, a, b, dtype=None):
        ctx.cond = cond
        ctx.a_meta, ctx.b_meta = _meta(a), _meta(b)
        a, b = _cast(a, dtype), _cast(b, dtype)
        out = _where(cond, a, b)  # (np.where's numbers, without its per-element branch)
        # laid out like the first input of the result's shape that is not C-contiguous (a
        # transposed condition gives a transposed result), as PyTorch's elementwise kernel
        for v in (cond, a, b):
            if isinstance(v, np.ndarray) and v.shape == out.shape and not v.flags.c_contiguous:
                laid = np.empty_like(v, dtype=out.dtype)  # (K order: v's strides)
                if laid.strides == out.strides:
                    return out
                np.copyto(laid, out)
                return laid
        return out

    @staticmethod
    def backward(ctx, grad):
        na, nb = ctx.needs_input_grad[1:3]
        # (0.0: a Python zero takes grad's dtype, as the 0-d zero of grad's dtype did)
        ga = sum_to_shape(_where(ctx.cond, grad, 0.0), *ctx.a_meta) if na else None
        gb = sum_to_shape(_where(ctx.cond, 0.0, grad), *ctx.b_meta) if nb else None
        return None, ga, gb, None

    @staticmethod
    def graph_backward(ctx, grad):
        zero = _zero(grad)
        na, nb = ctx.needs_input_grad[1:3]
        ga = sum_to_shape(_select(ctx.cond, grad, zero), *ctx.a_meta) if na else None
        gb = sum_to_shape(_select(ctx.cond, zero, grad), *ctx.b_meta) if nb else None
        return None, ga, gb, None


class Prod(Op):
    """The product of the elements along `axis` (all of them when axis is None).

    d prod / d a_i is the product of all the *other* elements. It is computed as
    (product of the elements before i) * (product of those after i), two exclusive
    cumulative products, rather than prod / a_i, so that zeros get the right gradient.
    """

    @staticmethod
    @layout_free
    def forward(ctx, a, axis=None, keepdims=False, dtype=None):
        out = np.asarray(np.prod(a, axis=axis, keepdims=keepdims, dtype=_reduce_dtype(a, dtype)))
        # PyTorch saves self and the result; the result is unused here, but saving it makes an
        # in-place change of the product before backward an error, as it is in PyTorch.
        ctx.save_for_backward(a, out)
        ctx.axis, ctx.keepdims = axis, keepdims
        ctx.torch_name = "ProdBackward0" if axis is None else "ProdBackward1"
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        if a.size == 0:
            return np.zeros_like(a), None, None, None
        if a.ndim == 0:  # the product of one number is it: grad, even at nan or inf (PyTorch's)
            return np.asarray(grad).astype(a.dtype, copy=False), None, None, None
        g = _expand_back(grad, a.shape, ctx.axis, ctx.keepdims)
        zeros = np.count_nonzero(a == 0)
        if zeros == 0:
            # PyTorch's formula without zeros, rounded as its: the product over a_i (an inf
            # element gets inf / inf = nan, as in PyTorch)
            with np.errstate(divide="ignore", invalid="ignore"):
                others = _expand_back(out, a.shape, ctx.axis, ctx.keepdims) / a
            return (g * others).astype(a.dtype, copy=False), None, None, None
        if ctx.axis is None and zeros > 1:  # every product of the others holds a zero
            return np.zeros_like(a), None, None, None
        x = a.reshape(-1) if ctx.axis is None else a
        ax = 0 if ctx.axis is None else ctx.axis
        one = np.ones_like(np.take(x, [0], axis=ax))
        n = x.shape[ax]
        before = np.concatenate(
            [one, np.cumprod(np.take(x, range(n - 1), axis=ax), axis=ax)], axis=ax
        )
        rev = np.flip(np.take(x, range(1, n), axis=ax), axis=ax)
        after = np.concatenate([np.flip(np.cumprod(rev, axis=ax), axis=ax), one], axis=ax)
        others = (before * after).reshape(a.shape)
        return (g * others).astype(a.dtype, copy=False), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        a, out = ctx.saved_tensors
        ad = a._data
        if ad.size == 0:
            return _const(np.zeros_like(ad)), None, None, None
        g = _kept_graph(grad, ad.shape, ctx.axis)
        if ad.ndim == 0:  # the product of one number is the number (PyTorch: grad itself)
            return g.to(ad.dtype), None, None, None
        if np.all(ad != 0):  # the product of the others is the product over a_i
            others = _kept_graph(out, ad.shape, ctx.axis) / a
        else:  # a zero: one row per element, a with that element replaced by 1, multiplied out
            x = a.reshape(-1) if ctx.axis is None else a.movedim(ctx.axis, -1)
            n = x._data.shape[-1]
            rows = _select(np.eye(n, dtype=bool), np.ones((), ad.dtype), x.unsqueeze(-2))
            others = rows.prod(-1)
            others = others.reshape(ad.shape) if ctx.axis is None else others.movedim(-1, ctx.axis)
        return (g * others).to(ad.dtype), None, None, None


class Norm(Op):
    """The vector p-norm over `axis` (all elements when None): (sum |a|^p)^(1/p).

    Backward follows PyTorch's case split, which decides what a zero gets:
      p = 0: no gradient (None);  p = 1: sign(a);  p = +-inf: sign(a) at the elements
      equal in size to the norm (the NaNs if it is NaN, with sign 0), shared evenly;
      1 < p < 2: sign(a) |a|^(p-1) / norm^(p-1);  p >= 2: a |a|^(p-2) / norm^(p-1);
      p < 1: sign(a) |a|^(p-1) norm^(1-p), with 0 where a = 0 (else 0 * inf = nan).
      For p > 1 a zero norm gives gradient 0, not 0 / 0.
    """

    torch_name = "LinalgVectorNormBackward0"

    @staticmethod
    @layout_free
    def forward(ctx, a, p, axis=None, keepdims=False):
        # float16 is normed in float32 and rounded once, as PyTorch does (float16 sums and
        # squares would round at every step, and overflow above 256 for p = 2)
        out = opmath(Norm.value, a, p, axis, keepdims)
        ctx.save_for_backward(a, out)  # as PyTorch: self and result
        ctx.p, ctx.axis, ctx.keepdims = p, axis, keepdims
        return out

    @staticmethod
    def value(w, p, axis, keepdims):
        """The p-norm of the array w (arrays)."""
        x = np.abs(w)
        if p == np.inf:
            out = np.amax(x, axis=axis, keepdims=keepdims)
        elif p == -np.inf:
            out = np.amin(x, axis=axis, keepdims=keepdims)
        elif p == 0:
            out = np.add.reduce(x != 0, axis=axis, keepdims=keepdims, dtype=w.dtype)
        elif p == 1:
            out = np.add.reduce(x, axis=axis, keepdims=keepdims)
        elif p == 2:
            out = np.sqrt(np.add.reduce(w * w, axis=axis, keepdims=keepdims))
        else:
            out = np.power(np.add.reduce(np.power(x, p), axis=axis, keepdims=keepdims), 1 / p)
        return np.asarray(out).astype(w.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        if ctx.p == 0:
            return None, None, None, None
        return Norm.gradient(a, out, grad, ctx.p, ctx.axis, ctx.keepdims), None, None, None

    @staticmethod
    def gradient(a, out, grad, p, axis, keepdims):
        """The gradient (arrays) of the p-norm `out` of `a` over `axis`, for p != 0."""
        zero = np.zeros((), grad.dtype)
        g = _expand_back(grad, a.shape, axis, keepdims)
        n = _expand_back(out, a.shape, axis, keepdims)
        if p == 1:  # (PyTorch's sign of NaN is 0)
            gin = np.where(np.isnan(a), 0, np.sign(a)) * g
        elif p in (np.inf, -np.inf):
            # as PyTorch: a NaN norm's "maxima" are the NaNs, whose sign counts as 0
            nan = np.isnan(a)
            hit = (np.abs(a) == n) | nan
            count = np.sum(hit, axis=axis, keepdims=True)
            gin = np.where(nan, 0, np.sign(a)) * hit * (g / count)
        elif p < 1:
            scaled = np.where(a == 0, zero, np.sign(a) * np.power(np.abs(a), p - 1))
            gin = scaled * g * np.power(n, 1 - p)
        elif p == 2:  # PyTorch's grad (a / norm), rounded as it rounds
            gin = g * np.where(n == 0, zero, a / n)
        else:
            if p < 2:
                scaled = np.sign(a) * np.power(np.abs(a), p - 1)
            else:
                scaled = a * np.power(np.abs(a), p - 2)
            gin = scaled * np.where(n == 0, zero, g / np.power(n, p - 1))
        return gin.astype(a.dtype, copy=False)

    @staticmethod
    def graph_backward(ctx, grad):
        a, out = ctx.saved_tensors
        if ctx.p == 0:
            return None, None, None, None
        return Norm.graph_gradient(a, out, grad, ctx.p, ctx.axis, ctx.keepdims), None, None, None

    @staticmethod
    def graph_gradient(a, out, grad, p, axis, keepdims):
        """Norm.gradient in differentiable ops (Tensors), for create_graph."""
        ad, od = a._data, out._data
        zero = _zero(grad)
        sign = _linked(np.where(np.isnan(ad), 0, np.sign(ad)), a)  # piecewise constant
        g = _kept_graph(grad, ad.shape, axis)
        n = _kept_graph(out, ad.shape, axis)
        if p == 1:
            gin = sign * g
        elif p in (np.inf, -np.inf):
            nan = np.isnan(ad)
            hit = (np.abs(ad) == _expand_back(od, ad.shape, axis, keepdims)) | nan
            count = np.sum(hit, axis=axis, keepdims=True)
            sign = np.where(nan, 0, np.sign(ad)) * hit
            gin = _linked(sign, a) * (g / _const(count.astype(ad.dtype)))
        elif p < 1:
            scaled = _select(ad == 0, zero, sign * a.abs() ** (p - 1))
            gin = scaled * g * n ** (1 - p)
        else:
            if p < 2:
                scaled = sign * a.abs() ** (p - 1)
            elif p == 2:
                scaled = a
            else:
                scaled = a * a.abs() ** (p - 2)
            nd = _expand_back(od, ad.shape, axis, keepdims)
            gin = scaled * _select(nd == 0, zero, g / n ** (p - 1))
        return gin.to(ad.dtype)


class Dist(Binary):
    """torch.dist: the p-norm of a - b over all elements, one node (PyTorch's DistBackward0)
    that saves a, b and the result as PyTorch's does; its gradient is Norm's, at a - b, summed
    back to each operand's shape (and negated for b)."""

    torch_name = "DistBackward0"

    @staticmethod
    def forward(ctx, a, b, p, dtype=None):
        a, b = Binary.prepare(ctx, a, b, dtype)
        out = Norm.forward(ctx, np.subtract(a, b), p)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def _no_gradient(ctx) -> bool:
        """p = 0 (a count of differing elements, piecewise constant): PyTorch 2.13 sends no
        gradient to self, and its backward raises when other needs one."""
        if ctx.p != 0:
            return False
        if ctx.needs_input_grad[1]:
            raise RuntimeError(
                "dist(p=0) has no backward for other in PyTorch 2.13 (its backward raises); "
                "the count of differing elements is piecewise constant: detach other"
            )
        return True

    @staticmethod
    def backward(ctx, grad):
        if Dist._no_gradient(ctx):
            return None, None, None, None
        a, b, out = ctx.saved_tensors
        gd = Norm.gradient(np.subtract(a, b), out, grad, ctx.p, None, False)
        return (*Binary.reduce(ctx, gd, -gd if ctx.needs_input_grad[1] else None), None, None)

    @staticmethod
    def graph_backward(ctx, grad):
        if Dist._no_gradient(ctx):
            return None, None, None, None
        a, b, out = ctx.saved_tensors
        gd = Norm.graph_gradient(a - b, out, grad, ctx.p, None, False)
        return (*Binary.reduce(ctx, gd, -gd if ctx.needs_input_grad[1] else None), None, None)


class Sign(Op):
    """-1, 0 or 1. Piecewise constant: its result requires grad when the input does (as in
    PyTorch), and its gradient is zero."""

    torch_name = "SignBackward0"

    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind == "f":  # PyTorch's sign of NaN is 0 (NumPy's is NaN)
            return np.where(np.isnan(a), 0, np.sign(a)).astype(a.dtype, copy=False)
        return a.copy() if a.dtype.kind == "b" else np.sign(a)

    @staticmethod
    def backward(ctx, grad):
        return np.zeros_like(grad)

    @staticmethod
    def graph_backward(ctx, grad):
        return _const(np.zeros_like(grad._data))


class Angle(Op):
    """The argument of a real number: pi where x < 0, else 0, NaN where NaN (-0.0 gives 0).
    Piecewise constant, as Sign: its result requires grad with the input, its gradient is
    zero."""

    torch_name = "AngleBackward0"

    @staticmethod
    def forward(ctx, a):
        out = np.where(a < 0, np.pi, 0.0).astype(a.dtype, copy=False)
        return np.where(np.isnan(a), a, out)

    backward = staticmethod(Sign.backward)  # (zero, as Sign's)
    graph_backward = staticmethod(Sign.graph_backward)


class Poisson(Op):
    """Poisson counts drawn with rates `a` (float): piecewise constant in the rates, so, as in
    PyTorch, the result requires grad when the rates do and the gradient is zero."""

    torch_name = "PoissonBackward0"

    @staticmethod
    def forward(ctx, a, generator=None):
        if a.dtype.kind != "f":
            raise NotImplementedError(
                f'"poisson_cpu" not implemented for {a.dtype.name!r} (rates must be floating)'
            )
        if a.size and not np.all(a >= 0):
            raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
        return _rng.poisson(_rng._gen(generator), a)

    @staticmethod
    def backward(ctx, grad):
        return np.zeros_like(grad), None

    @staticmethod
    def graph_backward(ctx, grad):
        return _const(np.zeros_like(grad._data)), None


class Overwrite(Op):
    """The node an in-place overwrite (zero_, fill_, copy_ of a constant, uniform_, normal_)
    leaves on a tensor in the graph. The old values no longer reach the output: they get
    zero gradient. fill_ with a 0-d tensor value that requires grad gives it the sum of the
    gradient (each element was a copy of it). Built by Tensor._overwrite, not by apply()."""

    @staticmethod
    def backward(ctx, grad):
        g_old = np.zeros_like(grad) if ctx.needs_input_grad[0] else None
        g_value = None
        if ctx.needs_input_grad[1]:
            g_value = sum_to_shape(grad, *ctx.value_meta)
        return g_old, g_value

    @staticmethod
    def graph_backward(ctx, grad):
        g_old = _const(np.zeros_like(grad._data)) if ctx.needs_input_grad[0] else None
        g_value = sum_to_shape(grad, *ctx.value_meta) if ctx.needs_input_grad[1] else None
        return g_old, g_value


# One class per method, so grad_fn names the method that overwrote the tensor.
class Zero(Overwrite):
    torch_name = "ZeroBackward0"


class Fill(Overwrite):
    torch_name = "FillBackward2"


class Copy(Overwrite):
    torch_name = "CopyBackwards"  # PyTorch's name for it


class Uniform(Overwrite):
    torch_name = "UniformBackward0"


class Normal(Overwrite):
    torch_name = "NormalBackward0"


class LogSoftmax(Op):
    torch_name = "LogSoftmaxBackward0"

    @staticmethod
    @layout_free
    def forward(ctx, x, axis):
        # Subtract the max before exp: log-sum-exp without overflow for logits of 1e4.
        # (At float32's extremes, -3e38 - 3e38 rounds to -inf: the right log-probability.)
        ctx.axis = axis
        if x.shape[axis] == 0:  # nothing to normalise over: an empty result, as PyTorch
            ctx.save_for_backward(x)
            return x.copy()
        # float16 in float32, rounded once, as PyTorch's kernels; its kernel for the last dim
        # rounds the sum of exponentials and its log to float16 on the way
        half_last = x.dtype == np.float16 and axis == x.ndim - 1
        out = opmath(LogSoftmax._forward, x, axis, half_last)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def _forward(x, axis, half_last):
        out = x - np.max(x, axis=axis, keepdims=True)
        # the same operations as shifted - log(sum(exp(shifted))), with out as shifted's array
        # and exp's array reused: 2 full-size temporaries fewer
        e = np.exp(out)
        total = np.sum(e, axis, keepdims=True)
        if half_last:  # (float16 input, widened: see forward)
            out -= np.log(total.astype(np.float16), dtype=np.float32).astype(np.float16)
        else:
            out -= np.log(total)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return opmath(LogSoftmax._backward, out, grad, ctx.axis), None

    @staticmethod
    def _backward(out, grad, axis):
        # d log_softmax_i / d x_j = delta_ij - softmax_j (in exp's array: one temporary)
        if grad.dtype != out.dtype:  # (promotes: the plain expression)
            return grad - np.exp(out) * np.sum(grad, axis, keepdims=True)
        g = np.exp(out)
        g *= np.sum(grad, axis, keepdims=True)
        return np.subtract(grad, g, out=g)

    @staticmethod
    def graph_backward(ctx, grad):
        (out,) = ctx.saved_tensors
        if grad._data.size == 0:
            return grad, None
        return grad - out.exp() * grad.sum(dim=ctx.axis, keepdim=True), None


class Softmax(Op):
    torch_name = "SoftmaxBackward0"

    @staticmethod
    @layout_free
    def forward(ctx, x, axis):
        if x.shape[axis] == 0:  # nothing to normalise over: an empty result, as PyTorch
            ctx.save_for_backward(x)
            ctx.axis = axis
            return x.copy()
        out = opmath(Softmax._forward, x, axis)  # (float16 in float32, as PyTorch's kernel)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def _forward(x, axis):
        # -3e38 - 3e38 = -inf, whose exp is the right 0
        out = x - np.max(x, axis=axis, keepdims=True)
        np.exp(out, out=out)  # in place: one full-size array instead of three
        out /= np.sum(out, axis, keepdims=True)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return opmath(Softmax._backward, out, grad, ctx.axis), None

    @staticmethod
    def _backward(out, grad, axis):
        # d s_i / d x_j = s_i (delta_ij - s_j), in grad * out's array: one temporary, not three
        g = grad * out
        np.subtract(grad, np.sum(g, axis, keepdims=True), out=g)
        g *= out
        return g

    @staticmethod
    def graph_backward(ctx, grad):
        (out,) = ctx.saved_tensors
        if grad._data.size == 0:
            return grad, None
        return out * (grad - (grad * out).sum(dim=ctx.axis, keepdim=True)), None


# the Tensor <-> op cycle: tensor.py imports this module, so Tensor is bound here at the end,
# once it exists (graph_backward uses it at call time)
from ..tensor import Tensor  # noqa: E402
