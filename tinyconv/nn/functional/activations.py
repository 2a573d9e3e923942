"""Activations PyTorch keeps in F: relu/sigmoid/tanh (engine ops), leaky_relu,
softmax/log_softmax (engine ops, checked here), gelu, silu, elu, softplus, hardtanh, relu6,
hardswish, hardsigmoid, mish; the random ones, rrelu and gumbel_softmax (PyTorch's draws after
`manual_seed`). Elementwise: the output has the input's shape.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ... import _dtype, _rng
from ..._errors import DtypeNotImplementedError, TensorValueError
from ...autograd import grad_mode, ops
from ...autograd.ops import Op, _where, _zero_where, sigmoid_array
from ...autograd.ops_extra import erf_array
from ...kernels import gelu as gelu_kernel
from ...kernels import silu as silu_kernel
from ...kernels import softplus as softplus_kernel
from ...kernels.layout import c_order, like_input
from ...kernels.opmath import mul_number, opmath
from ...tensor import Tensor, _softmax
from ._checks import _check_tensor, _float_act, _maybe_inplace
from .dropout import Noise

# -- activations ------------------------------------------------------------------------


def _const(a: np.ndarray) -> Tensor:
    """An array as a Tensor outside the graph: a piecewise-constant factor (a mask, a slope)
    in a create_graph backward, whose derivative is zero almost everywhere."""
    return Tensor._make(np.asarray(a), None, False)


class ActivationBackward(Op):
    """An activation's backward, grad_output -> grad_input, as an op of (grad_output, x): the
    create_graph gradient of elu, celu, selu, softplus and logsigmoid, as PyTorch's
    elu_backward, softplus_backward and log_sigmoid_backward nodes. `node` is the activation's
    node: its `grad_input` is the array backward (the forward here, so the numbers are the
    plain backward's) and its `double_backward` PyTorch's formula for this node's backward
    (derivatives.yaml), not the derivative of the where() f' is written with. The two differ on
    the branch boundaries: at x = 0 elu's f' takes the x <= 0 side (alpha) but PyTorch's f''
    the x > 0 one (0)."""

    @staticmethod
    def forward(ctx, grad_output, x, node, name):
        ctx.save_for_backward(grad_output, x)
        ctx.node, ctx.torch_name = node, name
        return type(node).grad_input(node, grad_output, x)

    @staticmethod
    def backward(ctx, gg):
        # (a plain backward through the gradient: the same formula on constants)
        go, x = (_const(a) for a in ctx.saved_tensors)
        with grad_mode.no_grad():
            g_go, g_x = type(ctx.node).double_backward(ctx.node, _const(gg), go, x)
        return g_go._data, g_x._data, None, None

    @staticmethod
    def graph_backward(ctx, gg):
        go, x = ctx.saved_tensors
        return (*type(ctx.node).double_backward(ctx.node, gg, go, x), None, None)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    # (relu saves its output, not its input: the in-place path needs no copy of the input)
    x = _check_tensor(input, "input", "relu")
    return _maybe_inplace(
        x, ops.ReluInplace.apply if inplace else Tensor.relu, inplace, "relu", keeps_input=False
    )


def sigmoid(input: Tensor) -> Tensor:
    return _check_tensor(input, "input", "sigmoid").sigmoid()


def tanh(input: Tensor) -> Tensor:
    return _check_tensor(input, "input", "tanh").tanh()


class LeakyRelu(Op):
    torch_name = "LeakyReluBackward0"

    @staticmethod
    def forward(ctx, x, slope, inplace=False):
        ctx.slope, ctx.inplace = slope, inplace
        out = np.asarray(mul_number(x, slope))  # (a 0-d x gives a scalar)
        if _unit_slope(x, slope):
            # x > 0 gives x >= x * slope, x < 0 the reverse, and the zeros are equal: the max,
            # with NaN kept; two passes (8.8 -> 1.0 ms forward on 2M float32, PyTorch 0.7)
            out = np.maximum(out, x, out=out)
        else:
            out = _where(x > 0, x, out, out=out).astype(x.dtype, copy=False)
        # PyTorch's in-place node saves the result (the same signs when slope >= 0), so a
        # later in-place change of it fails the backward, as there
        if inplace:
            ctx.torch_name = "LeakyReluBackward1"
        ctx.save_for_backward(out if inplace else x)
        return out

    @staticmethod
    def _check(ctx) -> None:
        if ctx.inplace and ctx.slope < 0:
            raise RuntimeError(
                "leaky_relu(inplace=True) with a negative slope "
                f"({ctx.slope}) has no backward (as in PyTorch: the result no longer tells "
                "which inputs were negative); use inplace=False"
            )

    @staticmethod
    def backward(ctx, grad):
        LeakyRelu._check(ctx)
        (x,) = ctx.saved_tensors
        return LeakyRelu.grad_input(x, grad, ctx.slope), None, None

    @staticmethod
    def grad_input(x, grad, slope):
        """grad times 1 where x > 0, the slope elsewhere (x: the input, or the result for the
        in-place node, of the same signs)."""
        if _unit_slope(x, slope) and grad.dtype == x.dtype != np.float16:
            # grad times 1 (x > 0) or the slope (x <= 0, NaN): max(x > 0, slope) is that
            # factor, the same numbers as the select (grad * 1 is grad), in three passes; the
            # comparison written as 0.0/1.0 (np.sign and np.fmax have no SIMD loops: 2M float32,
            # 1 thread, same process, median of 31: 2.28 -> 1.96 ms, PyTorch 1.17)
            factor = np.greater(x, 0, out=np.empty_like(x))
            np.maximum(factor, slope, out=factor)
            return np.multiply(grad, factor, out=factor)
        neg = mul_number(grad, slope)
        return _where(x > 0, grad, neg).astype(grad.dtype, copy=False)

    @staticmethod
    def graph_backward(ctx, grad):
        LeakyRelu._check(ctx)
        (x,) = ctx.saved_tensors
        arr, slope = x._data, ctx.slope
        return (
            ops.PiecewiseBackward.apply(
                grad, x, lambda g: LeakyRelu.grad_input(arr, g, slope), "LeakyReluBackwardBackward0"
            ),
            None,
            None,
        )


def _unit_slope(x: np.ndarray, slope: float) -> bool:
    """Whether the slope, in x's float dtype, is in (0, 1] (leaky_relu's max and fmax forms)."""
    return x.dtype.kind == "f" and 0 < x.dtype.type(slope) <= 1


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    slope = float(negative_slope)
    return _maybe_inplace(
        _float_act(input, "leaky_relu"),
        lambda t: LeakyRelu.apply(t, slope, inplace),
        inplace,
        "leaky_relu",
    )


def softmax(input: Tensor, dim: Any = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    # (_stacklevel: PyTorch's warning depth for an implicit dim, taken for its signature)
    return _softmax(ops.Softmax, _check_tensor(input, "input", "softmax"), dim, dtype, "softmax")


def log_softmax(input: Tensor, dim: Any = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    return _softmax(
        ops.LogSoftmax, _check_tensor(input, "input", "log_softmax"), dim, dtype, "log_softmax"
    )


def _gelu_fast(x: np.ndarray) -> bool:
    """Whether the exact GELU of ``x`` takes kernels/gelu.py's float32 passes (finite float32;
    the reference path below, through erf_array, handles every other dtype and inf)."""
    return x.dtype == np.float32 and bool(np.isfinite(x).all())


class Gelu(Op):
    """x * Phi(x) (Phi the standard normal CDF), or its tanh approximation.

    The exact form is PyTorch's formula ``(x / 2) (1 + erf(x / sqrt 2))`` in x's dtype, so it
    has PyTorch's numbers where 1 + erf cancels (-0.0 from x = -5.54 down, where x Phi(x) is
    a tiny negative number); its reference takes erf from erf_array; finite float32 inputs
    take kernels/gelu.py instead (the same formula, 8x faster, erf within 3 ulps of 1).
    """

    torch_name = "GeluBackward0"
    _K = math.sqrt(2 / math.pi)
    _ALPHA = math.sqrt(0.5)  # PyTorch's kAlpha and kBeta
    _BETA = 2 / math.sqrt(math.pi) * math.sqrt(0.5) * 0.5

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.tanh = approximate == "tanh"
        # (PyTorch keeps x's layout; its kernel computes float16 in float32, rounded once)
        return like_input(opmath(Gelu._forward, x, ctx.tanh), x)

    @staticmethod
    def _forward(x, tanh):
        if tanh:
            return (0.5 * x * (1 + np.tanh(Gelu._K * (x + 0.044715 * x**3)))).astype(
                x.dtype, copy=False
            )
        if _gelu_fast(x):
            return gelu_kernel.gelu_forward(x)
        return ((x * 0.5) * (1 + erf_array(x * Gelu._ALPHA))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return opmath(Gelu._backward, x, grad, ctx.tanh), None

    @staticmethod
    def _backward(x, grad, tanh):
        if tanh:
            t = np.tanh(Gelu._K * (x + 0.044715 * x**3))
            d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * Gelu._K * (1 + 3 * 0.044715 * x * x)
        elif grad.dtype == np.float32 and _gelu_fast(x):
            return gelu_kernel.gelu_backward(x, grad)
        else:  # Phi(x) + x phi(x), as PyTorch's formula rounds it
            cdf = 0.5 * (1 + erf_array(x * Gelu._ALPHA))
            d = cdf + x * (Gelu._BETA * np.exp(x * x * -0.5))
        return (grad * d).astype(grad.dtype, copy=False)

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.tanh:
            t = ((x + x * x * x * 0.044715) * Gelu._K).tanh()
            d = (t + 1) * 0.5 + x * 0.5 * (1 - t * t) * Gelu._K * (x * x * (3 * 0.044715) + 1)
        else:
            d = ((x * Gelu._ALPHA).erf() + 1) * 0.5 + x * ((x * x * -0.5).exp() * Gelu._BETA)
        return grad * d, None


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit; approximate='tanh' uses PyTorch's tanh formula."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(_float_act(input, "gelu"), approximate)


def _silu_fast(x: np.ndarray) -> bool:
    """Whether SiLU of ``x`` runs in kernels/silu.py's blocks (C-contiguous float32 of a block
    or more; the same numbers as the whole-array form below, spread over the threads)."""
    return x.dtype == np.float32 and x.flags.c_contiguous and x.size >= silu_kernel.BLOCK


class Silu(Op):
    """x sigmoid(x) as PyTorch's ``x / (1 + e^-x)``: 4 passes where ``x * sigmoid(x)`` took 7,
    and PyTorch's float32 numbers for 83% of normal inputs instead of 64% (the rest an ulp
    apart). Where e^-x overflows, -0 as PyTorch's (x / inf). float16 is computed in float32
    and rounded once, forward and backward, as PyTorch's kernels."""

    torch_name = "SiluBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return opmath(Silu._forward, x)

    @staticmethod
    def _forward(x):
        if _silu_fast(x):
            return silu_kernel.silu_forward(x)
        if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64):
            s = sigmoid_array(x)
            return np.multiply(x, s, out=s if s.dtype == np.result_type(x, s) else None)
        # (empty_like: x's memory order, as PyTorch keeps a transposed or channels-last layout)
        d = np.negative(x, out=np.empty_like(x))
        np.exp(d, out=d)
        np.add(d, 1, out=d)
        return np.divide(x, d, out=d)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return opmath(Silu._backward, x, grad)

    @staticmethod
    def _backward(x, grad):
        if _silu_fast(x) and grad.dtype == np.float32 and grad.shape == x.shape:
            return silu_kernel.silu_backward(x, grad)
        # (x s)' = s + x s (1 - s) = s (1 + x (1 - s)), times grad in PyTorch's order,
        # (grad s) (1 + x (1 - s)) (its float32 bits for 71% of normal inputs, 47% before)
        s = sigmoid_array(x)
        t = np.asarray(np.subtract(1, s))
        if t.dtype != np.result_type(x, t, grad) or s.shape != np.broadcast_shapes(
            s.shape, grad.shape
        ):
            return (grad * s) * (1 + x * (1 - s))
        np.multiply(x, t, out=t)
        np.add(t, 1, out=t)
        np.multiply(grad, s, out=s)
        return np.multiply(s, t, out=t)

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        s = x.sigmoid()
        return (grad * s) * (x * (1 - s) + 1)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    x = _float_act(input, "silu")
    return _maybe_inplace(x, Silu.apply, inplace, "silu")


def _from_result(ctx, result, grad, inv: float, scale: float = 1.0):
    """The in-place node's gradient (PyTorch's ...Backward1 saves the result r, not x): for
    r <= 0, grad (1 / alpha) (r + alpha scale), the same derivative written without an exp;
    grad scale elsewhere (float16 in float32, rounded once, as PyTorch's kernel)."""

    def derivative(r, grad):
        neg = grad * inv * (r + ctx.alpha * scale)
        pos = grad * scale if scale != 1.0 else grad
        return _where(r <= 0, neg, pos, out=neg).astype(grad.dtype, copy=False)

    return opmath(derivative, result, grad)


class Elu(Op):
    """alpha (e^x - 1) for x <= 0, x elsewhere, all times `scale` (selu's), as PyTorch's
    kernel rounds it: alpha * scale is one coefficient."""

    torch_name = "EluBackward0"

    @staticmethod
    def forward(ctx, x, alpha, inplace=False, scale=1.0):
        ctx.alpha, ctx.inplace, ctx.scale = alpha, inplace, scale
        out = opmath(Elu._forward, x, alpha, scale)  # (float16: in float32, rounded once)
        # elu_, selu_: PyTorch's node saves the result, so a later in-place change of it
        # fails the backward, as there
        if inplace:
            ctx.torch_name = "EluBackward1"
        ctx.save_for_backward(out if inplace else x)
        return out

    @staticmethod
    def _forward(x, alpha, scale):
        # in place in one temporary, and selected without np.where (forward 10.5 -> 4.3 ms on
        # 2M float32, PyTorch 3.0)
        neg = np.asarray(np.minimum(x, 0))
        np.expm1(neg, out=neg)
        np.multiply(neg, alpha * scale, out=neg)
        pos = x * scale if scale != 1.0 else x
        return _where(x > 0, pos, neg, out=neg).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return Elu.grad_input(ctx, grad, x), None, None, None

    @staticmethod
    def grad_input(ctx, grad, x):
        """The array backward (x: the input, or the result for the in-place node)."""
        if ctx.inplace:
            return _from_result(ctx, x, grad, 1.0, ctx.scale)
        return opmath(Elu._backward, x, grad, ctx.alpha, ctx.scale)

    @staticmethod
    def _backward(x, grad, alpha, scale):
        # x <= 0 gets alpha e^x (so alpha at 0, as PyTorch); NaN passes the gradient, as PyTorch
        e = np.asarray(np.minimum(x, 0))
        np.exp(e, out=e)
        neg = np.asarray(grad * (alpha * scale))
        neg = np.multiply(neg, e, out=neg if neg.dtype == np.result_type(neg, e) else None)
        pos = grad * scale if scale != 1.0 else grad
        return _where(x <= 0, neg, pos, out=neg).astype(grad.dtype, copy=False)

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return ActivationBackward.apply(grad, x, ctx, "EluBackwardBackward0"), None, None, None

    @staticmethod
    def double_backward(ctx, gg, grad, x, input_scale=1.0):
        """PyTorch's elu_double_backward: only x < 0 (a result < 0) has a second derivative, so
        x = 0 gets 0 there though its first derivative is the x <= 0 side's alpha. Celu and
        the in-place nodes share it (input_scale: celu's 1 / alpha)."""
        g_grad = ActivationBackward.apply(gg, x, ctx, "EluBackwardBackward0")
        scaled = gg * grad * input_scale
        if not ctx.inplace:  # the derivative of f'(x); the in-place node's is linear in r
            scaled = ActivationBackward.apply(scaled, x, ctx, "EluBackwardBackward0")
        return g_grad, scaled * _const((x._data < 0).astype(scaled._data.dtype))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (e^x - 1) otherwise."""
    x = _float_act(input, "elu")
    return _maybe_inplace(x, lambda t: Elu.apply(t, float(alpha), inplace), inplace, "elu")


def _softplus_fast(x: np.ndarray, beta: float, threshold: float) -> bool:
    """Whether softplus of ``x`` takes kernels/softplus.py's float32 path (PyTorch's formula
    with each function rounded once, 4-5x faster than logaddexp)."""
    return (
        x.dtype == np.float32 and math.isfinite(beta) and threshold <= softplus_kernel.MAX_THRESHOLD
    )


class Softplus(Op):
    """log1p(e^(beta x)) / beta, x where beta x > threshold. float32 takes kernels/softplus.py
    (PyTorch's formula and roundings); the reference below, np.logaddexp, serves the other
    dtypes and thresholds above 80 (mish's double backward passes inf)."""

    torch_name = "SoftplusBackward0"

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        # (float16: in float32, rounded once, as PyTorch's kernel)
        return like_input(opmath(Softplus._forward, x, beta, threshold), x)

    @staticmethod
    def _forward(x, beta, threshold):
        if _softplus_fast(x, beta, threshold):
            return softplus_kernel.softplus_forward(x, beta, threshold)
        bx = x * beta
        # log(1 + e^(bx)) / beta; linear above the threshold, where it equals x to rounding
        soft = np.logaddexp(0, bx) / beta
        return np.where(bx > threshold, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return Softplus.grad_input(ctx, grad, x), None, None

    @staticmethod
    def grad_input(ctx, grad, x):
        return opmath(Softplus._backward, x, grad, ctx.beta, ctx.threshold)

    @staticmethod
    def _backward(x, grad, beta, threshold):
        if grad.dtype == np.float32 and _softplus_fast(x, beta, threshold):
            return softplus_kernel.softplus_backward(x, grad, beta, threshold)
        bx = x * beta
        return np.where(bx > threshold, grad, grad * sigmoid_array(bx)).astype(
            grad.dtype, copy=False
        )

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return ActivationBackward.apply(grad, x, ctx, "SoftplusBackwardBackward0"), None, None

    @staticmethod
    def double_backward(ctx, gg, grad, x):
        """PyTorch's softplus_double_backward: sigmoid's derivative where beta x < threshold,
        0 from the threshold on (f' there is still the sigmoid side's)."""
        g_grad = ActivationBackward.apply(gg, x, ctx, "SoftplusBackwardBackward0")
        bx = x * ctx.beta
        s = bx.sigmoid()
        below = _const((bx._data < ctx.threshold).astype(s._data.dtype))
        return g_grad, (gg * grad) * (1 - s) * s * below * ctx.beta


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold."""
    return Softplus.apply(_float_act(input, "softplus"), float(beta), float(threshold))


class Hardtanh(Op):
    torch_name = "HardtanhBackward0"

    @staticmethod
    def forward(ctx, x, lo, hi):
        # saves its input, as PyTorch does (so writing into the input in place before backward
        # raises there too), and the mask is made in backward
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # the gradient passes strictly inside (lo, hi), and at NaN, as PyTorch's hardtanh
        outside = x <= ctx.lo
        outside |= x >= ctx.hi
        # selected, not grad * inside: an infinite gradient arriving at a clipped element (e.g.
        # from log(relu6(x)) at x < 0) must give 0 there, not inf * 0 = nan, as in PyTorch.
        # Branch-free _zero_where, not np.where: 0.095 ms vs 1.9 ms on (8, 96, 16, 16) float32
        # (MobileNetV2's relu6 backward took ~10% of its training step with np.where)
        return _zero_where(outside, grad), None, None

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        outside = (x._data <= ctx.lo) | (x._data >= ctx.hi)
        return (
            ops.PiecewiseBackward.apply(
                grad, x, lambda g: _zero_where(outside, g), "HardtanhBackwardBackward0"
            ),
            None,
            None,
        )


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """x clipped to [min_val, max_val]."""
    x = _check_tensor(input, "input", "hardtanh")
    _refuse_bool(x, "hardtanh")
    if min_val > max_val:
        raise TensorValueError(
            f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})"
        )
    # the limits must fit the input's dtype, as PyTorch converts them (a NaN limit makes all
    # NaN there, unchecked); an unsigned input refuses negative limits, read as int64 first
    dt = x._data.dtype
    limits = (min_val, max_val)
    if dt.kind == "u":
        for v in limits:
            _dtype.fit_scalar_arg(v, np.dtype(np.int64), "hardtanh")
        limits = tuple(int(v) for v in limits)
        if limits[0] < 0 or limits[1] < 0:
            raise RuntimeError(
                "hardtanh: cannot do hardtanh on an unsigned type with negative limits"
            )
    if dt.kind != "f" or not (math.isnan(min_val) or math.isnan(max_val)):
        for v in limits:
            _dtype.fit_scalar_arg(v, dt, "hardtanh")
    return _maybe_inplace(x, lambda t: Hardtanh.apply(t, min_val, max_val), inplace, "hardtanh")


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6): hardtanh(x, 0, 6)."""
    x = _check_tensor(input, "input", "relu6")
    _refuse_bool(x, "hardtanh")  # (PyTorch's relu6 is its hardtanh, and says so)
    return _maybe_inplace(x, lambda t: Hardtanh.apply(t, 0, 6), inplace, "relu6")


def _refuse_bool(x: Tensor, what: str) -> None:
    """PyTorch's clamping activations refuse bool tensors (RuntimeError)."""
    if x._data.dtype == np.bool_:
        raise TensorValueError(
            f"{what}: Bool inputs not supported for {what} (convert with .float() or .long())"
        )


class Hardswish(Op):
    torch_name = "HardswishBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return opmath(Hardswish._forward, x)  # (float16: in float32, rounded once)

    @staticmethod
    def _forward(x):
        t = np.asarray(x + 3)
        np.clip(t, 0, 6, out=t)  # (one temporary, in place: the same numbers, 2.2 -> 1.3 ms)
        np.multiply(x, t, out=t)
        np.divide(t, 6, out=t)
        return t.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return opmath(Hardswish._backward, x, grad)

    @staticmethod
    def _backward(x, grad):
        # 0 up to -3, x/3 + 1/2 on (-3, 3), 1 from 3 on (PyTorch's choice at the joins)
        d = np.asarray(np.divide(x, 3))
        np.add(d, 0.5, out=d)
        d = _where(x < 3, d, 1, out=d)
        d = _where(x <= -3, 0, d, out=d)
        return np.multiply(grad, d, out=d if d.dtype == grad.dtype else None).astype(
            grad.dtype, copy=False
        )

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        lo, mid = x._data <= -3, (x._data > -3) & (x._data < 3)
        outer = _const((~lo & ~mid).astype(grad.dtype))  # 1 from 3 on (and at NaN), else 0
        return grad * (x / 3 + 0.5).where(_const(mid), outer)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6."""
    x = _float_act(input, "hardswish")
    return _maybe_inplace(x, Hardswish.apply, inplace, "hardswish")


class Hardsigmoid(Op):
    torch_name = "HardsigmoidBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return opmath(Hardsigmoid._forward, x)  # (float16: in float32, rounded once)

    @staticmethod
    def _forward(x):
        t = np.asarray(x + 3)
        np.clip(t, 0, 6, out=t)  # (in place, as hardswish's: the same numbers)
        np.divide(t, 6, out=t)
        return t.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # PyTorch multiplies by 1/6 rounded to float32 (in every dtype); so does this, to give its
        # numbers. Outside (-3, 3) the gradient is 0 even where grad is infinite (a select)
        inside = (x > -3) & (x < 3)
        g = np.asarray(mul_number(grad, float(np.float32(1 / 6))))
        return _where(inside, g, 0, out=g).astype(grad.dtype, copy=False)

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        inside = (x._data > -3) & (x._data < 3)
        zeros = ops._linked(ops._zero(grad), x)  # linked to x, as PyTorch's
        return ops._select(inside, grad * float(np.float32(1 / 6)), zeros)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    x = _float_act(input, "hardsigmoid")
    return _maybe_inplace(x, Hardsigmoid.apply, inplace, "hardsigmoid")


class Mish(Op):
    """x tanh(softplus(x)); float32 takes kernels/softplus.py (PyTorch's formula and
    roundings, 4x faster), the other dtypes the logaddexp reference below."""

    torch_name = "MishBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return opmath(Mish._forward, x)  # (float16: in float32, rounded once)

    @staticmethod
    def _forward(x):
        if x.dtype == np.float32:
            return softplus_kernel.mish_forward(x)
        return (x * np.tanh(np.logaddexp(0, x))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return opmath(Mish._backward, x, grad)

    @staticmethod
    def _backward(x, grad):
        if x.dtype == np.float32 and grad.dtype == np.float32:
            return softplus_kernel.mish_backward(x, grad)
        t = np.tanh(np.logaddexp(0, x))
        # (x tanh(sp(x)))' = tanh(sp) + x (1 - tanh^2(sp)) sigmoid(x)
        return (grad * (t + x * (1 - t * t) * sigmoid_array(x))).astype(grad.dtype, copy=False)

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        t = Softplus.apply(x, 1.0, math.inf).tanh()  # (no threshold: logaddexp, as forward)
        return grad * (t + x * (1 - t * t) * x.sigmoid())


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    x = _float_act(input, "mish")
    return _maybe_inplace(x, Mish.apply, inplace, "mish")


# -- activations built from the ops above (their backward, and double backward, come with them)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with PyTorch's constants (self-normalising networks)."""
    _float_act(input, "selu")
    return _maybe_inplace(
        input, lambda x: Elu.apply(x, _SELU_ALPHA, inplace, _SELU_SCALE), inplace, "selu"
    )


class Celu(Op):
    """alpha (e^(x / alpha) - 1) for x <= 0, x otherwise, rounded as PyTorch computes it: the
    forward multiplies by 1 / alpha; the backward takes 1 / alpha from alpha rounded to float32
    (PyTorch's derivative formula does), so a float64 gradient differs from the exact one in
    its 8th digit for an alpha like 0.3, as PyTorch's does, and agrees with it to an ulp."""

    torch_name = "CeluBackward0"

    @staticmethod
    def forward(ctx, x, alpha, inplace=False):
        ctx.alpha, ctx.inplace = alpha, inplace
        out = opmath(Celu._forward, x, alpha)  # (float16: in float32, rounded once)
        if inplace:  # (celu_: PyTorch's node saves the result, as elu_'s)
            ctx.torch_name = "CeluBackward1"
        ctx.save_for_backward(out if inplace else x)
        return out

    @staticmethod
    def _forward(x, alpha):
        # (the clamp keeps expm1 off large positive x)
        neg = np.expm1(np.minimum(x, 0) * (1.0 / alpha)) * alpha
        return _where(x > 0, x, neg, out=neg).astype(x.dtype, copy=False)

    @staticmethod
    def _coefficient(ctx) -> float:
        return 1.0 / float(np.float32(ctx.alpha))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return Celu.grad_input(ctx, grad, x), None, None

    @staticmethod
    def grad_input(ctx, grad, x):
        """The array backward (x: the input, or the result for the in-place node)."""
        inv = Celu._coefficient(ctx)
        if ctx.inplace:
            return _from_result(ctx, x, grad, inv)
        return opmath(Celu._backward, x, grad, inv, ctx.alpha)

    @staticmethod
    def _backward(x, grad, inv, alpha):
        # x <= 0 gets grad (1 / alpha) alpha e^(x / alpha), multiplied in PyTorch's order
        d = grad * inv * alpha * np.exp(np.minimum(x, 0) * inv)
        return _where(x <= 0, d, grad, out=d).astype(grad.dtype, copy=False)

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors  # (PyTorch's celu backward is elu_backward)
        return ActivationBackward.apply(grad, x, ctx, "EluBackwardBackward0"), None, None

    @staticmethod
    def double_backward(ctx, gg, grad, x):
        return Elu.double_backward(ctx, gg, grad, x, Celu._coefficient(ctx))


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    _float_act(input, "celu")
    if alpha == 0:
        raise TensorValueError("celu: alpha must not be 0 (it divides the input)")
    return _maybe_inplace(input, lambda t: Celu.apply(t, float(alpha), inplace), inplace, "celu")


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: split `dim` in halves a, b; a * sigmoid(b)."""
    x = _float_act(input, "glu")
    if x.ndim == 0:
        raise RuntimeError("glu: input must have at least one dimension (0-d given)")
    n = x.shape[dim]
    if n % 2:
        raise RuntimeError(
            f"glu: the halved dimension {dim} must have an even size, got {n} (input shape "
            f"{tuple(x.shape)})"
        )
    return Glu.apply(x, dim)


class Glu(Op):
    """a sigmoid(b), a and b the halves of x along `dim`: one PyTorch kernel each way, so
    float16 is computed in float32 and rounded once. Its backward rounds s = sigmoid(b) first,
    then gives a's half s grad and b's half s (1 - s) a grad (in float32, rounded once)."""

    torch_name = "GluBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.save_for_backward(x)
        ctx.dim = dim
        a, b = np.split(x, 2, axis=dim)
        return opmath(lambda a, b: a * (1 / (1 + np.exp(-b))), a, b)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        a, b = np.split(x, 2, axis=ctx.dim)
        s = sigmoid_array(b)
        gb = opmath(lambda s, a, g: s * (1 - s) * a * g, s, a, grad)
        return np.concatenate([s * grad, gb], axis=ctx.dim), None

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        n = x.shape[ctx.dim] // 2
        a, b = x.narrow(ctx.dim, 0, n), x.narrow(ctx.dim, n, n)
        s = b.sigmoid()
        return ops.Cat.apply(ctx.dim, s * grad, s * (1 - s) * a * grad), None


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    x = _check_tensor(input, "input", "softsign")  # (integers divide to floats, as PyTorch's)
    return x / (x.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    x = _check_tensor(input, "input", "tanhshrink")  # (integers: tanh gives floats)
    return x - x.tanh()


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold (or NaN), else value."""
    _check_tensor(input, "input", "threshold")
    if input._data.dtype == np.bool_:  # (PyTorch: its kernel has no bool version)
        raise DtypeNotImplementedError("threshold: \"threshold_cpu\" not implemented for 'Bool'")

    def below(a: np.ndarray) -> np.ndarray:
        return a <= threshold  # (NaN is not <= anything: it stays, and passes the gradient)

    def compute(a: np.ndarray) -> np.ndarray:  # (in a's layout, as PyTorch's)
        return like_input(_const(a).masked_fill(_const(below(a)), value)._data, a)

    def fn(x: Tensor) -> Tensor:
        # PyTorch's one node (its in-place variant, which saves the result, is ...Backward1)
        name = "ThresholdBackward1" if inplace else "ThresholdBackward0"
        return ops.MaskedPass.apply(x, compute, below, name)

    return _maybe_inplace(input, fn, inplace, "threshold")


def softmin(input: Tensor, dim: Any = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """softmax(-x) along dim."""
    _check_tensor(input, "input", "softmin")
    return softmax(-input, dim, dtype=dtype)


class LogSigmoid(Op):
    """log(sigmoid(x)) = -softplus(-x), computed without overflow: softplus's numbers, forward
    and backward (negations are exact). Its double backward is PyTorch's own,
    sigmoid(x) (sigmoid(x) - 1) everywhere, where softplus's would be 0 past its threshold
    (x < -20)."""

    torch_name = "LogSigmoidBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        # (C order whatever x's layout: PyTorch's log_sigmoid writes a new contiguous tensor)
        out = np.negative(opmath(Softplus._forward, np.negative(x), 1.0, 20.0))
        return c_order(np.asarray(out))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return LogSigmoid.grad_input(ctx, grad, x)

    @staticmethod
    def grad_input(ctx, grad, x):
        return np.negative(opmath(Softplus._backward, np.negative(x), np.negative(grad), 1.0, 20.0))

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return ActivationBackward.apply(grad, x, ctx, "LogSigmoidBackwardBackward0")

    @staticmethod
    def double_backward(ctx, gg, grad, x):
        """PyTorch's log_sigmoid_double_backward."""
        z = x.sigmoid()
        g_grad = ActivationBackward.apply(gg, x, ctx, "LogSigmoidBackwardBackward0")
        return g_grad, (gg * grad) * (z - 1) * z


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), computed without overflow."""
    return LogSigmoid.apply(_float_act(input, "logsigmoid"))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    x = _float_act(input, "softshrink")
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambd must be non-negative, got {lambd}")

    def middle(a: np.ndarray) -> np.ndarray:  # (where the gradient is 0: +-lambd included)
        return (a >= -lambd) & (a <= lambd)

    def compute(a: np.ndarray) -> np.ndarray:
        # selects, not clamps; a NaN stays NaN (with the gradient passing), as in PyTorch
        t = _const(a)
        zero = t.masked_fill(t == t, 0.0)
        return ((t - lambd).where(t > lambd, (t + lambd).where(t < -lambd, zero)))._data

    return ops.MaskedPass.apply(x, compute, middle, "SoftshrinkBackward0")


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    return _float_act(input, "hardshrink").hardshrink(lambd)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else weight * x; weight `(1,)` or one per channel (dim 1) `(C,)`."""
    x = _float_act(input, "prelu")
    _check_tensor(weight, "weight", "prelu")
    return x.prelu(weight)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomized leaky ReLU: x where x > 0, else a * x; in training a is drawn per element
    from U(lower, upper) (PyTorch's draws), in evaluation a = (lower + upper) / 2."""
    return _rrelu(input, lower, upper, training, inplace, None)


def _rrelu(
    input: Tensor, lower: float, upper: float, training: bool, inplace: bool, generator: Any
) -> Tensor:
    """rrelu drawing from `generator` (None: the global stream), as torch.rrelu can."""
    x = _float_act(input, "rrelu")
    if lower > upper:
        raise RuntimeError(
            "rrelu: lower bound should be less than or equal to the upper bound, got "
            f"lower={lower}, upper={upper}"
        )
    name = "RreluWithNoiseBackward1" if inplace else "RreluWithNoiseBackward0"
    if not training:
        before = x.grad_fn
        out = leaky_relu(x, (lower + upper) / 2, inplace)
        if out.grad_fn is not None and out.grad_fn is not before:
            out.grad_fn.torch_name = name  # (PyTorch's node for rrelu, even in evaluation)
        return out
    dt = x._data.dtype
    if dt == np.float16:
        raise NotImplementedError("rrelu: training is not implemented for float16 (as in PyTorch)")
    neg = x._data <= 0  # (NaN is not, and draws nothing)
    # PyTorch: per element <= 0, in C order, a float64 uniform u (bounds rounded to the
    # input's dtype first) and the slope u * (upper - lower) + lower, unfused
    lo, hi = float(dt.type(lower)), float(dt.type(upper))
    u = _rng.uniform(_rng._gen(generator), (int(np.count_nonzero(neg)),), np.float64)
    slopes = np.ones(x.shape, dt)
    slopes[neg] = u * (hi - lo) + lo
    return _maybe_inplace(x, lambda t: Noise.apply(t, slopes, None, name), inplace, "rrelu")


def gumbel_softmax(
    logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """A sample of the Gumbel-softmax distribution: softmax((logits + g) / tau) along `dim`,
    g Gumbel(0, 1) noise (-log of PyTorch's Exponential(1) draws); logits `(*, C)` for the
    default dim. hard=True: the one-hot of the sample's argmax, with the soft sample's
    gradient (straight through)."""
    x = _float_act(logits, "gumbel_softmax")
    if eps != 1e-10:
        warnings.warn("gumbel_softmax: `eps` is deprecated and has no effect", stacklevel=2)
    exp = Tensor._make(_rng.exponential(_rng._rng(), tuple(x.shape), x._data.dtype), None, False)
    y_soft = softmax((x - exp.log()) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = Tensor._make(np.zeros_like(y_soft._data), None, False).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft  # the values of y_hard, the gradient of y_soft


# PyTorch's in-place spellings: F.relu_(x) is F.relu(x, inplace=True), ...


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


_threshold = threshold  # (threshold_'s argument of the same name hides the function)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _threshold(input, threshold, value, inplace=True)


def selu_(input: Tensor) -> Tensor:
    return selu(input, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)


def rrelu_(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False
) -> Tensor:
    return rrelu(input, lower, upper, training, inplace=True)
