"""batch_norm (N, C, ...), layer_norm and rms_norm (over the trailing normalized_shape),
normalize (x / max(||x||_p, eps) along dim), and group_norm, instance_norm and
local_response_norm, built from them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import _dtype
from ..._errors import TensorValueError
from ..._tensor_gaps import channels_last
from ..._tensor_math import _fused
from ...autograd import grad_mode
from ...autograd.function import channels_last_out, layout_free
from ...autograd.ops import Op
from ...kernels import threads
from ...kernels.channels import channel_dot, channel_sum, channel_vector
from ...kernels.opmath import narrow, widen
from ...tensor import Tensor
from ._checks import _check_tensor, _float_act, _not_differentiable, _same_dtype
from .padding import pad
from .pooling import avg_pool2d

# -- normalization ---------------------------------------------------------------------------


class BatchNorm(Op):
    """Batch normalization over every axis but the channel axis 1, per channel c:

        y = xhat * w + b,    xhat = (x - mu) * r,    r = 1 / sqrt(var + eps)

    Training: mu and var are the batch's mean and *biased* variance over the
    M = x.size / C values of channel c; the running stats (if given) move by
    `momentum` towards mu and the *unbiased* variance var * M / (M - 1).
    Eval: mu and var are the running stats, constants.

    Backward, with g = dL/dy and gh = dL/dxhat = g * w:
        dL/db = sum(g),   dL/dw = sum(g * xhat)        (sums over the channel's M values)
        eval:     dL/dx = gh * r                       (mu and r are constants)
        training: mu and r depend on x too. Chaining dxhat_j/dx_i = r (delta_ij - 1/M - xhat_i
        xhat_j / M)
                  (from dmu/dx_i = 1/M and dr/dx_i = -r^3 (x_i - mu) / M) gives
                  dL/dx = r / M * (M gh - sum(gh) - xhat * sum(gh * xhat)).
    """

    torch_name = "NativeBatchNormBackward0"
    next_functions_count = 3  # (input, weight, bias), as PyTorch's node

    @staticmethod
    @channels_last_out
    @layout_free
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)  # a per-channel vector, broadcast against x
        ctx.axes, ctx.shape, ctx.training, ctx.eps = axes, shape, training, eps
        if x.dtype == np.float16 and x.size:
            return BatchNorm._forward_half(
                ctx, x, weight, bias, running_mean, running_var, momentum
            )
        if (
            training and x.size == 0
        ):  # an empty batch (or no channels): an empty output, stats untouched
            mean, var = np.zeros(x.shape[1], x.dtype), np.ones(x.shape[1], x.dtype)
            centered = x
        elif training:
            mean = channel_sum(x) / (x.size // x.shape[1])
            centered = x - channel_vector(mean, x)
            var = channel_dot(centered, centered) / (x.size // x.shape[1])  # biased: / M
            if running_mean is not None:  # buffers, updated in place (not part of the graph)
                m = x.size // x.shape[1]
                running_mean *= 1 - momentum
                running_mean += momentum * mean
                running_var *= 1 - momentum
                running_var += momentum * var * (m / (m - 1))  # unbiased: divides by M - 1
        else:
            mean, var = (
                running_mean.astype(x.dtype, copy=False),
                running_var.astype(x.dtype, copy=False),
            )
            centered = x - channel_vector(mean, x)
        r = (1 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        # Two full-size arrays (xhat, y) and no other temporaries: centered is ours (made
        # above), so it becomes xhat in place, and y is scaled and shifted in place.
        xhat = np.multiply(
            centered, channel_vector(r, x), out=centered if centered is not x else None
        )
        if weight is None and bias is None:  # y must not be xhat itself, which backward needs
            y = xhat.copy()  # (an in-place op on the output would change it: a wrong gradient)
        else:
            y = xhat * channel_vector(weight, x) if weight is not None else xhat.copy()
            if bias is not None:
                y += channel_vector(bias, x)
        # PyTorch saves the input and the running stats too, so an in-place op on them after the
        # call makes backward raise; xhat and r are ours (kept so backward need not recompute them)
        ctx.save_for_backward(x, weight, running_mean, running_var)
        ctx.xhat, ctx.r = xhat, r
        return y

    @staticmethod
    def _forward_half(ctx, x, weight, bias, running_mean, running_var, momentum):
        """float16 as PyTorch's kernel: the statistics in float32, kept in float16 (unless a
        parameter is float32: its mixed-type kernel keeps them in float32), then
        y = x a + b per channel in float32 with a = r w, b = bias - mean a, rounded once.
        The running statistics move in float64 (its update's arithmetic)."""
        xw = x.astype(np.float32)
        params = (weight, bias, running_mean, running_var)
        keep = np.float16 if all(p is None or p.dtype == np.float16 for p in params) else None
        if ctx.training:
            m = x.size // x.shape[1]
            mean = channel_sum(xw) / np.float32(m)
            centered = xw - channel_vector(mean, xw)
            var = channel_dot(centered, centered) / np.float32(m)  # biased: / M
            r = np.float32(1) / np.sqrt(var + np.float32(ctx.eps))
            if running_mean is not None:  # in place, not part of the graph
                mo = float(momentum)
                old_mean, old_var = running_mean.astype(np.float64), running_var.astype(np.float64)
                running_mean[...] = mo * mean.astype(np.float64) + (1 - mo) * old_mean
                unbiased = var * np.float32(m) / np.float32(m - 1)
                running_var[...] = mo * unbiased.astype(np.float64) + (1 - mo) * old_var
            if keep is not None:  # (PyTorch's saved mean and invstd)
                mean, r = widen(mean.astype(keep)), widen(r.astype(keep))
        else:
            mean = running_mean.astype(np.float32)
            r = np.float32(1) / np.sqrt(running_var.astype(np.float32) + np.float32(ctx.eps))
        a = r if weight is None else r * weight.astype(np.float32)
        b = -mean * a if bias is None else bias.astype(np.float32) - mean * a
        y = xw * channel_vector(a, xw)
        y += channel_vector(b, xw)
        ctx.save_for_backward(x, weight, running_mean, running_var)
        ctx.mean, ctx.r = mean, r  # (float32)
        ctx.xhat = None
        return y.astype(np.float16)

    @staticmethod
    def _backward_half(ctx, grad):
        """float16 as PyTorch's kernel, in float32 from the statistics forward kept:
        dL/dx = (g - sum(g) / M - (x - mean) sum((x - mean) g) r^2 / M) r w in training,
        g r w in eval; dL/dw = sum((x - mean) g) r, dL/db = sum(g); each rounded once."""
        x, weight, _, _ = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        g, xw = grad.astype(np.float32), x.astype(np.float32)
        mean, r = ctx.mean, ctx.r
        centered = xw - channel_vector(mean, xw)
        total = channel_sum(g)
        dot = channel_dot(centered, g)
        rw = r if weight is None else r * weight.astype(np.float32)
        gx = gw = gb = None
        if need_x and ctx.training:
            m = x.size // x.shape[1]
            proj = dot * r * r / np.float32(m)
            gx = g - channel_vector(total / np.float32(m), xw)
            gx -= centered * channel_vector(proj, xw)
            gx *= channel_vector(rw, xw)
        elif need_x:
            gx = g * channel_vector(rw, xw)
        if need_w:
            gw = dot * r
        if need_b:
            gb = total
        return narrow(gx), narrow(gw), narrow(gb), None, None, None, None, None

    @staticmethod
    def backward(ctx, grad):
        if ctx.xhat is None:
            return BatchNorm._backward_half(ctx, grad)
        _, weight, _, _ = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        xhat, r = ctx.xhat, ctx.r
        gx = gw = gb = None
        # The two channel sums sum(g) and sum(g * xhat) give dL/db and dL/dw, and (times w)
        # the sum(gh) and sum(gh * xhat) of the training dL/dx:
        #   dL/dx = r w / M * (M g - sum(g) - xhat sum(g xhat))
        #         = (r w) * (g - sum(g) / M - xhat * (sum(g xhat) / M))
        # computed in one output array: two per-channel coefficients, no full-size temporary.
        train_x = need_x and ctx.training and xhat.size > 0
        sum_g = channel_sum(grad) if (need_b or train_x) else None
        sum_gx = channel_dot(grad, xhat) if (need_w or train_x) else None
        if need_w:
            gw = sum_gx
        if need_b:
            gb = sum_g
        if need_x and xhat.size == 0:
            gx = np.zeros_like(xhat)
        elif need_x:
            rw = r if weight is None else r * weight
            if ctx.training:
                m = xhat.size // xhat.shape[1]
                gx = np.multiply(xhat, channel_vector(sum_gx / -m, xhat))
                gx += grad
                gx -= channel_vector(sum_g / m, xhat)
                gx *= channel_vector(rw, xhat)
            else:
                gx = grad * channel_vector(rw, xhat)
        return gx, gw, gb, None, None, None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        # The same formulas, but xhat and r recomputed from the input Tensor: in training
        # they depend on x, and taking the saved arrays as constants would drop their share
        # of the second derivative (silently). In eval they come from the running stats.
        x, weight, running_mean, _ = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        axes, shape = ctx.axes, ctx.shape
        if x.numel() == 0:  # nothing normalised: zero gradients, constants
            z = Tensor._make(np.zeros(x.shape[1], grad.dtype), None, False)
            gx = Tensor._make(np.zeros(x.shape, grad.dtype), None, False) if need_x else None
            return gx, z if need_w else None, z if need_b else None, *(None,) * 5
        if ctx.training:
            centered = x - x.mean(axes, keepdim=True)
            r = ((centered * centered).mean(axes, keepdim=True) + ctx.eps).rsqrt()
        else:
            mean = running_mean._data.astype(x.dtype, copy=False).reshape(shape)
            centered = x - Tensor._make(mean, None, False)
            r = ctx.r.astype(x.dtype, copy=False).reshape(shape)
            r = Tensor._make(r, None, False)  # from running_var: a constant
        xhat = centered * r
        gx = gw = gb = None
        if need_w:
            gw = (grad * xhat).sum(axes)
        if need_b:
            gb = grad.sum(axes)
        if need_x:
            gh = grad if weight is None else grad * weight.reshape(shape)
            if ctx.training:  # r (gh - mean(gh) - xhat mean(gh xhat)), the means per channel
                gx = r * (
                    gh - gh.mean(axes, keepdim=True) - xhat * (gh * xhat).mean(axes, keepdim=True)
                )
            else:
                gx = gh * r
        return gx, gw, gb, None, None, None, None, None


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dim 1) of `(N, C, ...)` input to zero mean and unit variance, then
    scale by weight and shift by bias. Training uses the batch's statistics and updates the running
    ones in place; eval uses the running ones."""
    what = "batch_norm"
    _check_tensor(input, "input", what)
    if input.ndim < 2:
        raise TensorValueError(
            f"{what}: input must have a batch and a channel dimension (N, C, ...), "
            f"got shape {tuple(input.shape)}"
        )
    if input.dtype.kind != "f":
        raise TypeError(
            f"{what}: input must be a floating point tensor, got {_dtype.dtype_name(input.dtype)}"
        )
    C = input.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is None:
            continue
        _check_tensor(t, name, what)
        if tuple(t.shape) != (C,):
            raise TensorValueError(
                f"{what}: {name} must have shape ({C},), one value per channel of the input "
                f"(shape {tuple(input.shape)}, channels on dim 1), got shape {tuple(t.shape)}"
            )
    if (running_mean is None) != (running_var is None):
        raise TensorValueError(f"{what}: give both running_mean and running_var, or neither")
    # (no gradient flows to the running stats: one that requires grad is refused, as PyTorch)
    _not_differentiable("native_batch_norm", running_mean=running_mean, running_var=running_var)
    _same_dtype(input, weight, bias, what)
    if not training and running_mean is None:
        raise RuntimeError(
            f"{what}: running_mean and running_var must be given in evaluation mode "
            "(training=False); pass training=True to normalise with the batch's statistics"
        )
    if C == 0 and (weight is not None or bias is not None):  # PyTorch raises IndexError here too
        raise IndexError(
            f"{what}: input of shape {tuple(input.shape)} has no channels, so weight and bias "
            "(one value per channel) must be None"
        )
    if training and input.numel() > 0 and input.numel() // C <= 1:
        raise TensorValueError(
            f"{what}: expected more than 1 value per channel when training, got input of "
            f"shape {tuple(input.shape)}"
        )
    # The running stats go in as Tensors (no gradient flows to them) so their versions are
    # checked: a user's in-place change after the call makes backward raise, as in PyTorch. The
    # forward's own update of them is no version change (PyTorch's kernel writes them unseen),
    # so a shared BatchNorm run twice before one backward (a Siamese encoder) works.
    return BatchNorm.apply(
        input, weight, bias, running_mean, running_var, bool(training), float(momentum), float(eps)
    )


def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None
) -> Tensor:
    """input / max(||input||_p over dim, eps): unit-norm slices along `dim`."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported by tinyconv")
    x = _float_act(input, "normalize")
    denom = x.norm(p, dim, keepdim=True).clamp(min=eps)
    return x / denom.expand_as(x)


def _trailing_mean(
    a: np.ndarray, axes: tuple[int, ...], weight: np.ndarray | None = None
) -> np.ndarray:
    """``a.mean(axis=axes, keepdims=True)`` over a's trailing ``axes``; with ``weight`` (the
    trailing shape), the mean of ``a * weight``.

    float32/float64 rows take one BLAS matrix-vector product with a ones vector: NumPy's
    reduce pays per row, 4x slower on layer norm's short rows ((8192, 128) float32:
    0.30 -> 0.07 ms). BLAS sums each row in its own order, so the last bits can differ
    from NumPy's pairwise sum (both are float32 sums of the same numbers)."""
    size = math.prod(a.shape[ax] for ax in axes)
    if a.dtype not in (np.float32, np.float64) or size == 0 or a.size == 0:
        return (a if weight is None else a * weight).mean(axis=axes, keepdims=True)
    rows = a.reshape(-1, size)
    v = (
        np.ones(size, a.dtype)
        if weight is None
        else weight.reshape(size).astype(a.dtype, copy=False)
    )
    sums = threads.matvec(rows, v)
    sums /= size
    return sums.reshape(a.shape[: a.ndim - len(axes)] + (1,) * len(axes))


class LayerNorm(Op):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) dims."""

    torch_name = "NativeLayerNormBackward0"
    next_functions_count = 3  # (input, weight, bias), as PyTorch's node

    @staticmethod
    @layout_free
    def forward(ctx, x, weight, bias, n_dims, eps):
        axes = tuple(range(x.ndim - n_dims, x.ndim))
        half = x.dtype == np.float16
        # float16 is computed in float32 and rounded once at the end, as PyTorch's kernel
        xw = widen(x)
        mean = _trailing_mean(xw, axes)
        # One full-size array for the output, made from x - mean in place (plus one
        # temporary for the squares): the textbook expression's chain of temporaries made
        # six (1M float32, 1 thread: 3.0 -> 1.7 ms).
        out = np.subtract(xw, mean)
        square = np.multiply(out, out)
        var = _trailing_mean(square, axes)  # biased, as PyTorch
        del square
        rstd = 1 / np.sqrt(var + eps)
        if half:  # xhat as PyTorch's kernel writes it, x rstd - mean rstd (its float16 bits)
            np.multiply(xw, rstd, out=out)
            out -= mean * rstd
        else:
            np.multiply(out, rstd, out=out, casting="unsafe")  # xhat
        ctx.axes, ctx.eps = axes, eps
        # the input, mean and rstd, as PyTorch (xhat can be the output itself, which an
        # in-place op on the output may change, and PyTorch allows that)
        ctx.save_for_backward(x, mean, rstd, weight)
        if weight is not None:
            out *= widen(weight)
        if bias is not None:
            out += widen(bias)
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def _backward_half(ctx, grad):
        """float16: PyTorch's kernel keeps mean and rstd in float16 and computes in float32
        per row dL/dx = a g w + b x + c, with a = rstd, b = (sum(g w) mean - sum(g w x)) a^3 / N
        and c = -b mean - sum(g w) a / N (the same gradient as backward's, rearranged), rounded
        once; dL/dw and dL/db are summed in float32 (its float16 buffers round at every add)."""
        x, mean, rstd, weight = ctx.saved_tensors
        axes = ctx.axes
        batch = tuple(range(x.ndim - len(axes)))
        nx, nw, nb = ctx.needs_input_grad[:3]
        xf, g = x.astype(np.float32), grad.astype(np.float32)
        mean, a = widen(mean.astype(np.float16)), widen(rstd.astype(np.float16))
        gx = gw = gb = None
        if nw:
            gw = narrow(np.sum(g * (a * xf + -a * mean), axis=batch))
        if nb:
            gb = narrow(np.sum(g, axis=batch))
        if nx:
            w = None if weight is None else weight.astype(np.float32)
            gh = g if w is None else g * w
            ds = np.sum(xf * gh, axis=axes, keepdims=True)
            db = np.sum(gh, axis=axes, keepdims=True)
            scale = np.float32(1) / np.float32(math.prod(x.shape[ax] for ax in axes))
            b = (db * mean - ds) * a * a * a * scale
            c = -b * mean - db * a * scale
            gx = narrow((a * g if w is None else a * g * w) + b * xf + c)
        return gx, gw, gb, None, None

    @staticmethod
    def backward(ctx, grad):
        if grad.dtype == np.float16:
            return LayerNorm._backward_half(ctx, grad)
        x, mean, rstd, weight = ctx.saved_tensors
        xhat = np.subtract(x, mean)
        np.multiply(xhat, rstd, out=xhat, casting="unsafe")
        axes = ctx.axes
        batch = tuple(range(xhat.ndim - len(axes)))
        nx, nw, nb = ctx.needs_input_grad[:3]
        gx = gw = gb = None
        grad_xhat = None  # grad * xhat, when dL/dw needs it (then dL/dx reuses it)
        if nw:
            grad_xhat = grad * xhat
            gw = grad_xhat.sum(axis=batch)
        if nb:
            gb = grad.sum(axis=batch)
        if nx:
            # d xhat: project out the mean and the xhat direction, then scale by 1/std:
            #   dL/dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat)),  gh = grad * weight
            # in place in xhat's array (ours), with no other full-size temporary
            gxhat = grad * weight if weight is not None else grad
            s1 = _trailing_mean(gxhat, axes)
            if grad_xhat is None:
                s2 = _trailing_mean(gxhat * xhat, axes)
            else:  # mean(gh * xhat): one matrix-vector product of grad * xhat with the weight,
                # not a pass for (grad * xhat) * weight and a product with ones (fwd+bwd of
                # (64, 128, 128), 1 thread, loaded machine: 18.9 -> 17.7 ms, PyTorch 6.4)
                s2 = _trailing_mean(grad_xhat, axes, weight)
            del grad_xhat
            gx = np.multiply(xhat, -s2, out=xhat, casting="unsafe")
            gx += gxhat
            gx -= s1
            gx *= rstd
            gx = gx.astype(x.dtype, copy=False)
        return gx, gw, gb, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        # mean and rstd recomputed from the input Tensor (saved, they would be constants and
        # the second derivative through them would be lost)
        x, _, _, weight = ctx.saved_tensors
        axes = ctx.axes
        batch = tuple(range(x.ndim - len(axes)))
        centered = x - x.mean(axes, keepdim=True)
        rstd = ((centered * centered).mean(axes, keepdim=True) + ctx.eps).rsqrt()
        xhat = centered * rstd
        nx, nw, nb = ctx.needs_input_grad[:3]
        gx = gw = gb = None
        if nx:
            gxhat = grad * weight if weight is not None else grad
            gx = rstd * (
                gxhat
                - gxhat.mean(axes, keepdim=True)
                - xhat * (gxhat * xhat).mean(axes, keepdim=True)
            )
        if nw:
            gw = (grad * xhat).sum(batch) if batch else grad * xhat
        if nb:
            gb = grad.sum(batch) if batch else grad * 1.0
        return gx, gw, gb, None, None


def layer_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the last dims `normalized_shape` of input (N, *, normalized_shape)."""
    what = "layer_norm"
    x = _float_act(input, what)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k :]) != shape:
        raise RuntimeError(
            f"{what}: input of shape {tuple(x.shape)} does not end in normalized_shape {shape}"
        )
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != shape:
            raise RuntimeError(
                f"{what}: {name} has shape {tuple(p.shape)}, expected normalized_shape {shape}"
            )
        if p is not None and p.dtype != x.dtype:
            raise RuntimeError(
                f"{what}: {name} has dtype {_dtype.dtype_name(p.dtype)} but input has "
                f"{_dtype.dtype_name(x.dtype)}"
            )
    return LayerNorm.apply(x, weight, bias, k, float(eps))


def rms_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """x / sqrt(mean(x^2) + eps) * weight over the last dims `normalized_shape` of input
    (*, normalized_shape); eps None means the machine epsilon of the computing dtype.

    Built from differentiable ops, as PyTorch's CPU path (its grad_fn is the last Mul):
    float16 input computes in float32, and the result comes back in input's dtype."""
    what = "rms_norm"
    x = _float_act(input, what)
    if isinstance(normalized_shape, (int, np.integer)) or not isinstance(
        normalized_shape, (tuple, list)
    ):
        raise TypeError(
            f"{what}: normalized_shape must be a tuple or list of ints, got "
            f"{type(normalized_shape).__name__} (the module nn.RMSNorm also takes an int)"
        )
    shape = tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0:
        raise RuntimeError(f"{what}: normalized_shape must have at least one dim, got []")
    if x.ndim < k or tuple(x.shape[x.ndim - k :]) != shape:
        raise RuntimeError(
            f"{what}: input of shape {tuple(x.shape)} does not end in normalized_shape {shape}"
        )
    if weight is not None:
        _check_tensor(weight, "weight", what)
        if tuple(weight.shape) != shape:
            raise RuntimeError(
                f"{what}: weight has shape {tuple(weight.shape)}, expected normalized_shape {shape}"
            )
    # PyTorch computes float16 in float32 (and takes float32's epsilon for eps=None)
    up = x.to(_dtype.float32) if x.dtype == _dtype.float16 else x
    e = float(np.finfo(up.dtype).eps) if eps is None else float(eps)
    dims = tuple(range(x.ndim - k, x.ndim))
    out = up * (up.pow(2).mean(dims, keepdim=True) + e).rsqrt()
    if weight is not None:
        out = out * weight
    return out if out.dtype == x.dtype else out.to(x.dtype)


# -- group, instance and local response normalization: compositions of the ops above ----------
#
# Each is the op above on a reshaped view of the input, so the backward (and, with
# create_graph, the backward of the backward) is theirs: one home for the normalising maths.


def _checkchannel_vector(t: Any, name: str, C: int, x: Tensor, what: str) -> None:
    """weight / bias / running stats: a Tensor of shape (C,), one value per channel (dim 1)."""
    if t is None:
        return
    _check_tensor(t, name, what)
    if tuple(t.shape) != (C,):
        raise RuntimeError(
            f"{what}: {name} must have shape ({C},), one value per channel of the input "
            f"(shape {tuple(x.shape)}, channels on dim 1), got shape {tuple(t.shape)}"
        )


def _per_channel(t: Tensor, ndim: int) -> Tensor:
    """A (C,) vector shaped (C, 1, ..., 1) to broadcast against an (N, C, *) input of rank ndim."""
    return t.reshape((t.shape[0],) + (1,) * (ndim - 2))


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise `(N, C, *)` input over each group of C / num_groups channels (and all of `*`),
    per sample; then scale and shift per channel by weight and bias `(C,)`.

    It is layer_norm over the last dim of the input seen as `(N, num_groups, rest)`.
    """
    what = "group_norm"
    x = _float_act(input, what)
    if x.ndim < 2:
        raise RuntimeError(
            f"{what}: input must have a batch and a channel dimension (N, C, *), "
            f"got shape {tuple(x.shape)}"
        )
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)):
        raise TypeError(f"{what}: num_groups must be an int, got {num_groups!r}")
    N, C = x.shape[:2]
    if num_groups < 1 or C % num_groups:
        raise RuntimeError(
            f"{what}: the number of channels ({C}, dim 1 of input shape {tuple(x.shape)}) must "
            f"be divisible by num_groups, a positive integer; got num_groups={num_groups}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        _checkchannel_vector(t, name, C, x, what)
    _same_dtype(x, weight, bias, what)
    if N * C // num_groups * int(np.prod(x.shape[2:], dtype=np.int64)) == 1:
        # PyTorch's rule (its batch-size check on the input seen as (N*C/G, G, *spatial))
        raise TensorValueError(
            f"{what}: expected more than 1 value per channel when training, got input of shape "
            f"{tuple(x.shape)} with num_groups={num_groups}"
        )
    rest = x.numel() // (N * C) * (C // num_groups) if N * C else 0
    if rest and x.dtype == _dtype.float16:  # (one fused op: see GroupNormHalf)
        return GroupNormHalf.apply(x, weight, bias, int(num_groups), float(eps))
    if rest == 0:  # an empty group: nothing to normalise (layer_norm of nothing is nothing)
        y = x * 1.0
    else:
        y = layer_norm(x.reshape(N, int(num_groups), rest), (rest,), None, None, eps)
        y = y.reshape(x.shape)
    if weight is not None:
        y = y * _per_channel(weight, x.ndim)
    if bias is not None:
        y = y + _per_channel(bias, x.ndim)
    if x.ndim == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=channels_last):
        y = y.contiguous(memory_format=channels_last)  # (PyTorch's kernel keeps the layout)
    return _fused(y, "NativeGroupNormBackward0", x, weight, bias)  # (PyTorch's one node)


class GroupNormHalf(Op):
    """group_norm of float16 input as PyTorch's one kernel computes it, in float32: per
    (sample, group) mean and rstd; y = x a + b with a = rstd w and b = bias - mean a per
    (sample, channel), rounded once. Its backward takes mean and rstd rounded to float16
    (its saved statistics): dL/dx = a g + c2 x + c3 per (sample, group), with
    c2 = (sum(g w) mean - sum(g w x)) rstd^3 / K and c3 = -c2 mean - sum(g w) rstd / K (K the
    group's size); dL/dw = sum((sum(g x) - sum(g) mean) rstd), dL/db = sum(g), each rounded
    once. (float32 and float64 compose layer_norm and the affine ops, which round apart.)"""

    torch_name = "NativeGroupNormBackward0"
    next_functions_count = 3  # (input, weight, bias), as PyTorch's node

    @staticmethod
    @channels_last_out
    @layout_free
    def forward(ctx, x, weight, bias, groups, eps):
        n, c = x.shape[:2]
        xg = x.astype(np.float32).reshape(n, groups, -1)
        mean = xg.mean(axis=2)
        var = np.square(xg - mean[..., None]).mean(axis=2)
        rstd = np.float32(1) / np.sqrt(var + np.float32(eps))
        a = np.repeat(rstd, c // groups, axis=1)  # (n, c)
        if weight is not None:
            a = a * weight.astype(np.float32)
        b = -a * np.repeat(mean, c // groups, axis=1)
        if bias is not None:
            b += bias.astype(np.float32)
        y = xg.reshape(n, c, -1) * a[..., None] + b[..., None]
        ctx.save_for_backward(x, weight)
        ctx.groups, ctx.eps = groups, eps
        ctx.mean, ctx.rstd = widen(mean.astype(np.float16)), widen(rstd.astype(np.float16))
        return y.reshape(x.shape).astype(np.float16)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        n, c, groups = x.shape[0], x.shape[1], ctx.groups
        d = c // groups
        xf, g = x.astype(np.float32).reshape(n, c, -1), grad.astype(np.float32).reshape(n, c, -1)
        mean, rstd = ctx.mean, ctx.rstd  # (n, groups)
        ds, db = np.sum(g * xf, axis=2), np.sum(g, axis=2)  # (n, c)
        gx = gw = gb = None
        if need_x:
            w = np.ones(c, np.float32) if weight is None else weight.astype(np.float32)
            ds_g = (ds * w).reshape(n, groups, d).sum(axis=2)
            db_g = (db * w).reshape(n, groups, d).sum(axis=2)
            scale = np.float32(1) / np.float32(d * xf.shape[2])
            c2 = (db_g * mean - ds_g) * rstd * rstd * rstd * scale
            c3 = -c2 * mean - db_g * rstd * scale
            c1 = np.repeat(rstd, d, axis=1) * w
            c2, c3 = np.repeat(c2, d, axis=1), np.repeat(c3, d, axis=1)
            gx = c1[..., None] * g + c2[..., None] * xf + c3[..., None]
            gx = gx.reshape(x.shape).astype(np.float16)
        if need_w:
            m, r = np.repeat(mean, d, axis=1), np.repeat(rstd, d, axis=1)
            gw = np.sum((ds - db * m) * r, axis=0).astype(np.float16)
        if need_b:
            gb = np.sum(db, axis=0).astype(np.float16)
        return gx, gw, gb, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        # the same gradients in differentiable ops, mean and rstd recomputed from x (as
        # LayerNorm.graph_backward)
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        n, c = x.shape[:2]
        per_channel = (c,) + (1,) * (x.ndim - 2)
        xg = x.reshape(n, ctx.groups, -1)
        centered = xg - xg.mean(2, keepdim=True)
        rstd = ((centered * centered).mean(2, keepdim=True) + ctx.eps).rsqrt()
        xhat = centered * rstd
        dims = (0,) + tuple(range(2, x.ndim))
        gx = gw = gb = None
        if need_x:
            gh = grad if weight is None else grad * weight.reshape(per_channel)
            gh = gh.reshape(n, ctx.groups, -1)
            gx = rstd * (gh - gh.mean(2, keepdim=True) - xhat * (gh * xhat).mean(2, keepdim=True))
            gx = gx.reshape(x.shape)
        if need_w:
            gw = (grad * xhat.reshape(x.shape)).sum(dims)
        if need_b:
            gb = grad.sum(dims)
        return gx, gw, gb, None, None


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of each sample of `(N, C, *)` input over `*`.

    It is batch_norm of the input seen as `(1, N * C, *)`: every (sample, channel) pair a channel
    of its own. Running stats `(C,)`, when given, move towards the batch's mean of the
    per-sample statistics (in place); `use_input_stats=False` normalises with them instead.
    """
    what = "instance_norm"
    x = _float_act(input, what)
    if x.ndim < 3:
        raise TensorValueError(
            f"{what}: input must be (N, C, *) with at least one spatial dimension, "
            f"got shape {tuple(x.shape)}"
        )
    N, C = x.shape[:2]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        _checkchannel_vector(t, name, C, x, what)
    if (running_mean is None) != (running_var is None):
        raise TensorValueError(f"{what}: give both running_mean and running_var, or neither")
    # (no gradient flows to the running stats: one that requires grad is refused, as PyTorch)
    _not_differentiable("native_batch_norm", running_mean=running_mean, running_var=running_var)
    if not use_input_stats and running_mean is None:
        raise TensorValueError(
            f"{what}: use_input_stats=False normalises with running_mean and running_var, "
            "which must then be given"
        )
    _same_dtype(x, weight, bias, what)
    if use_input_stats and x.numel() // max(N * C, 1) <= 1 and x.numel() > 0:
        raise TensorValueError(
            f"{what}: expected more than 1 spatial element when training, got input of shape "
            f"{tuple(x.shape)}"
        )
    if N * C == 0:
        return x * 1.0
    x2 = x.reshape((1, N * C) + tuple(x.shape[2:]))
    w = None if weight is None else weight.repeat(N)
    b = None if bias is None else bias.repeat(N)
    if running_mean is None:
        return batch_norm(x2, None, None, w, b, True, momentum, eps).reshape(x.shape)
    with grad_mode.no_grad():  # the stats of every sample; batch_norm moves these in place
        mean_n, var_n = running_mean.repeat(N), running_var.repeat(N)
    y = batch_norm(x2, mean_n, var_n, w, b, bool(use_input_stats), momentum, eps)
    if use_input_stats:
        with grad_mode.no_grad():  # the running stats: the mean over the samples of theirs
            running_mean.copy_(mean_n.reshape(N, C).mean(0))
            running_var.copy_(var_n.reshape(N, C).mean(0))
    return y.reshape(x.shape)


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """Divide each element of `(N, C, *)` input by `(k + alpha / size * s) ** beta`, where s sums
    the squares over `size` neighbouring channels (c - size // 2 .. c + (size - 1) // 2; zeros
    beyond the ends). AlexNet's normalization."""
    what = "local_response_norm"
    x = _float_act(input, what)
    if x.ndim < 3:
        raise TensorValueError(
            f"{what}: expected an input of 3 or more dimensions (N, C, *), got shape "
            f"{tuple(x.shape)}"
        )
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise TensorValueError(f"{what}: size must be a positive integer, got {size!r}")
    N, C = x.shape[:2]
    if x.numel() == 0:
        return input  # nothing to normalise: PyTorch hands back the input itself
    # the squares, channels as the height of a one-channel image (N, 1, C, rest), zero-padded
    # along it, then averaged over windows of `size` channels: an avg_pool2d of kernel (size, 1)
    sq = (x * x).reshape(N, 1, C, -1)
    sq = pad(sq, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(sq, (size, 1), stride=1).reshape(x.shape)
    return x / (div * alpha + k) ** beta
