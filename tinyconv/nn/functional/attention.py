"""Scaled dot-product attention, composed from Tensor ops (so every gradient, and double
backward, comes from ops that are tested on their own):

    softmax(q k^T * scale + bias) v,   scale = 1 / sqrt(E) unless given,

where `bias` is -inf where a bool `attn_mask` is False (or above the diagonal with
`is_causal`), or a float `attn_mask` added as is. float16 (without dropout) is one op that
computes in float32 and rounds once, as PyTorch's CPU kernels (SdpaHalf).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import _dtype
from ...autograd.function import sum_to_shape
from ...autograd.ops import Op
from ...creation import zeros
from ...kernels.opmath import narrow, widen
from ...tensor import Tensor
from ...torch_functions import cat
from ._checks import _check_tensor
from .dropout import dropout
from .linear import linear
from .padding import pad

# Which attention kernels may run (`torch.backends.cuda.enable_*_sdp`, `nn.attention.sdpa_kernel`
# set these). On a CPU PyTorch has the math and flash kernels; with both off it raises. tinyconv
# computes the math kernel's sum either way.
SDP_ENABLED = {
    "flash": True,
    "mem_efficient": True,
    "math": True,
    "cudnn": True,
    "overrideable": True,
}


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev).

    `attn_mask` broadcasts to (..., L, S): bool (True = take part) or float (added to the
    scores). `is_causal` masks the upper triangle (no attn_mask then). `enable_gqa` lets key
    and value have fewer heads (dim -3) than query, each shared by a group of query heads.
    `dropout_p` > 0 drops attention weights (always: PyTorch's function has no training flag).
    """
    what = "scaled_dot_product_attention"
    if not (SDP_ENABLED["math"] or SDP_ENABLED["flash"]):
        raise RuntimeError(
            "No viable backend for scaled_dot_product_attention was found. This is likely due to "
            "turning off both the math kernel and the fused kernels."
        )
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(t, name, what)
        if t.ndim < 2:
            raise RuntimeError(f"{what}: {name} must have at least 2 dims, got shape {t.shape}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(
            f"{what}: query's last dim ({query.shape[-1]}) must equal key's ({key.shape[-1]})"
        )
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(
            f"{what}: key and value must have the same sequence length, got {key.shape[-2]} "
            f"and {value.shape[-2]}"
        )
    if is_causal and attn_mask is not None:
        raise RuntimeError(f"{what}: pass either attn_mask or is_causal=True, not both")
    if enable_gqa and min(query.ndim, key.ndim, value.ndim) < 3:
        # (PyTorch reads the head dim, -3, of each: IndexError for a 2-D one)
        raise IndexError("Dimension out of range (expected to be in range of [-2, 1], but got -3)")
    if enable_gqa and key.shape[-3] != query.shape[-3]:
        if query.shape[-3] % key.shape[-3] != 0:
            raise RuntimeError(
                f"{what}: with enable_gqa, query's heads ({query.shape[-3]}) must be a "
                f"multiple of key's ({key.shape[-3]})"
            )
        rep = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(rep, dim=-3)
        value = value.repeat_interleave(rep, dim=-3)
    batch = [tuple(t.shape[:-2]) for t in (query, key, value)]
    try:
        np.broadcast_shapes(*batch)
    except ValueError:  # (PyTorch's error for batch dims that do not broadcast)
        raise RuntimeError(
            f"{what}: the batch dims of query {batch[0]}, key {batch[1]} and value "
            f"{batch[2]} must broadcast together"
        ) from None
    L, S = query.shape[-2], key.shape[-2]
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    fused = _half_attention(query, key, value, attn_mask, dropout_p, is_causal, factor)
    if fused is not None:
        return fused
    scores = query @ key.transpose(-2, -1) * factor
    if is_causal:
        keep = np.tril(np.ones((L, S), dtype=bool))
        scores = scores.masked_fill(Tensor._make(~keep, None, False), float("-inf"))
    elif attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise TypeError(f"{what}: attn_mask must be a Tensor, got {type(attn_mask).__name__}")
        if attn_mask.dtype == np.bool_:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    weights = _safe_softmax(scores) if attn_mask is not None else scores.softmax(dim=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ value


def _half_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Any, dropout_p: float, causal: bool, factor: float
) -> Tensor | None:
    """float16 attention as one SdpaHalf op, or None where the composite below serves (other
    dtypes, dropout, a mask of another dtype, batch dims that broadcast, a query row that can
    attend to nothing)."""
    f16 = _dtype.float16
    if not (q.dtype == k.dtype == v.dtype == f16) or dropout_p > 0.0:
        return None
    if q.shape[:-2] != k.shape[:-2] or k.shape[:-2] != v.shape[:-2]:
        return None
    if mask is not None and (not isinstance(mask, Tensor) or mask.dtype not in (f16, np.bool_)):
        return None
    bias = _bias(mask._data if mask is not None else None, causal, q.shape[-2], k.shape[-2])
    if bias is not None and np.isneginf(bias).all(axis=-1).any():
        return None
    # PyTorch's CPU flash kernel takes 4-D inputs of one head size with unit last strides and
    # a mask that needs no gradient; the rest goes through its math kernel (in float32)
    flash = (
        q.ndim == 4
        and q.shape[-1] == k.shape[-1] == v.shape[-1]
        and all(t._data.strides[-1] == t._data.itemsize for t in (q, k, v))
        and not (mask is not None and mask.requires_grad)
    )
    return SdpaHalf.apply(q, k, v, mask, causal, float(factor), flash)


def _bias(mask: Any, causal: bool, L: int, S: int) -> np.ndarray | None:
    """What the scores get added, in float32: -inf above the diagonal (causal) or where a bool
    mask is False, a float mask itself."""
    if causal:
        return np.where(np.tril(np.ones((L, S), dtype=bool)), np.float32(0), -np.inf)
    if mask is None:
        return None
    if mask.dtype == np.bool_:
        return np.where(mask, np.float32(0), -np.inf)
    return widen(mask)


class SdpaHalf(Op):
    """softmax(q k^T scale + bias) v for float16 q, k, v, as PyTorch's CPU kernels compute
    it: in float32, the output rounded once. Its flash kernel (4-D inputs) rounds the softmax
    numerators exp(s - max) to float16 before multiplying them by v, and divides by their
    float32 sum after; its backward recomputes the probabilities p, rounds p to float16 for
    dL/dv = p^T g and the score gradient ds = p (g v^T - sum(g out)) to float16 for
    dL/dq = ds k scale and dL/dk = ds^T q scale, each summed in float32 and rounded once. Its
    math kernel (other ranks, or a mask that requires grad) scales q and k by sqrt(scale)
    each and runs the whole composite, forward and backward, in float32."""

    next_functions_count = 3  # (query, key, value)

    @staticmethod
    def forward(ctx, q, k, v, mask, causal, scale, flash):
        ctx.torch_name = (
            "ScaledDotProductFlashAttentionForCpuBackward0" if flash else "ToCopyBackward0"
        )
        ctx.bias = _bias(mask, causal, q.shape[-2], k.shape[-2])
        ctx.scale, ctx.flash = scale, flash
        ctx.mask_meta = None if mask is None else (mask.shape, mask.dtype)
        _, out = SdpaHalf._attention(q, k, v, ctx.bias, scale, flash)
        out = out.astype(np.float16)
        ctx.save_for_backward(q, k, v, out)
        return out

    @staticmethod
    def _scores(q, k, bias, scale, flash):
        qf, kf = q.astype(np.float32), k.astype(np.float32)
        if flash:
            s = (qf @ np.swapaxes(kf, -1, -2)) * np.float32(scale)
        else:  # (the math kernel scales q and k, by sqrt(scale) each)
            root = np.float32(math.sqrt(scale))
            s = (qf * root) @ np.swapaxes(kf * root, -1, -2)
        return s if bias is None else s + bias

    @staticmethod
    def _attention(q, k, v, bias, scale, flash):
        """(p, out): the probabilities and the output, float32."""
        s = SdpaHalf._scores(q, k, bias, scale, flash)
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        total = e.sum(axis=-1, keepdims=True)
        vf = v.astype(np.float32)
        if flash:  # (float16 numerators, the float32 sum's reciprocal after)
            return e / total, (e.astype(np.float16).astype(np.float32) @ vf) * (1 / total)
        p = e / total
        return p, p @ vf

    @staticmethod
    def backward(ctx, grad):
        q, k, v, out = ctx.saved_tensors
        p, _ = SdpaHalf._attention(q, k, v, ctx.bias, ctx.scale, ctx.flash)
        g, qf, kf, vf = (a.astype(np.float32) for a in (grad, q, k, v))

        def t(a):
            return np.swapaxes(a, -1, -2)

        if ctx.flash:
            gv = t(p.astype(np.float16).astype(np.float32)) @ g
            dsum = np.sum(g * out.astype(np.float32), axis=-1, keepdims=True)
            ds = (p * (g @ t(vf) - dsum)).astype(np.float16).astype(np.float32)
            scale = np.float32(ctx.scale)
            gq, gk = (ds @ kf) * scale, (t(ds) @ qf) * scale
        else:
            gv = t(p) @ g
            dp = g @ t(vf)
            ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))
            root = np.float32(math.sqrt(ctx.scale))
            gq, gk = ((ds @ (kf * root)) * root), ((t(ds) @ (qf * root)) * root)
        gm = None
        if ctx.needs_input_grad[3]:
            gm = sum_to_shape(narrow(ds), *ctx.mask_meta)
        return narrow(gq), narrow(gk), narrow(gv), gm, None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        # the attention's gradients in differentiable float16 ops (double backward)
        q, k, v, _ = ctx.saved_tensors
        scores = q @ k.transpose(-2, -1) * ctx.scale
        if ctx.bias is not None:
            scores = scores + Tensor._make(ctx.bias.astype(np.float16), None, False)
        p = scores.softmax(dim=-1)
        gv = p.transpose(-2, -1) @ grad
        dp = grad @ v.transpose(-2, -1)
        ds = p * (dp - (dp * p).sum(-1, keepdim=True))
        gm = sum_to_shape(ds, *ctx.mask_meta) if ctx.needs_input_grad[3] else None
        gq, gk = ds @ k * ctx.scale, ds.transpose(-2, -1) @ q * ctx.scale
        return gq, gk, gv, gm, None, None, None


def _safe_softmax(scores: Tensor) -> Tensor:
    """softmax over the last dim, except that a row masked out entirely (every score -inf)
    gives zeros, not NaN, and a zero gradient: PyTorch's SDPA does so (its _safe_softmax), so
    a query that may attend to nothing (a padded position) leaves no NaN in the output or in
    the gradients. (MultiheadAttention's path that returns the weights keeps plain softmax's
    NaN, as PyTorch's.)"""
    dead = np.isneginf(scores._data).all(axis=-1, keepdims=True)
    if not dead.any():
        return scores.softmax(dim=-1)
    dead_rows = Tensor._make(dead, None, False)
    return scores.masked_fill(dead_rows, 0.0).softmax(dim=-1).masked_fill(dead_rows, 0.0)


def _float_mask(mask: Tensor | None, dtype: Any) -> Tensor | None:
    """A bool mask (True = masked out) as the float mask PyTorch adds to the scores (-inf
    there, 0 elsewhere); a float mask as it is."""
    if mask is None:
        return None
    if mask.dtype == _dtype.bool:
        return (mask.to(dtype) * 0).masked_fill(mask, float("-inf"))
    if not mask.is_floating_point():
        raise AssertionError("only bool and floating types of masks are supported")
    return mask


def _mha_shape_check(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    key_padding_mask: Any,
    attn_mask: Any,
    num_heads: int | None = None,
) -> bool:
    """Whether the inputs are batched (3-D query) or not (2-D), with PyTorch's checks of the
    other inputs' ranks (AssertionError)."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(t, name, "multi_head_attention_forward")
    if query.ndim not in (2, 3):
        raise AssertionError(
            "query should be unbatched 2D or batched 3D tensor but received "
            f"{query.ndim}-D query tensor"
        )
    batched = query.ndim == 3
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise AssertionError(
            f"For {kind} `query`, expected `key` and `value` to be {query.ndim}-D but found "
            f"{key.ndim}-D and {value.ndim}-D tensors respectively"
        )
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise AssertionError(
            f"For {kind} `query`, expected `key_padding_mask` to be `None` or "
            f"{query.ndim - 1}-D but found {key_padding_mask.ndim}-D tensor instead"
        )
    if attn_mask is not None and attn_mask.ndim not in (2, 3):
        raise AssertionError(
            f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
            f"{attn_mask.ndim}-D tensor instead"
        )
    if not batched and attn_mask is not None and attn_mask.ndim == 3 and num_heads:
        want = (num_heads, query.shape[0], key.shape[0])
        if tuple(attn_mask.shape) != want:
            raise AssertionError(
                f"Expected `attn_mask` shape to be {want} but got {attn_mask.shape}"
            )
    return batched


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """nn.MultiheadAttention's computation: query (L, N, E), key and value (S, N, E) (or
    unbatched (L, E), (S, E)) -> (attention output (L, N, E), weights (N, L, S) averaged over
    heads, (N, heads, L, S) otherwise, or None without need_weights).

    The packed projection `in_proj_weight` (3E, E) (or q/k/v_proj_weight with
    use_separate_proj_weight) makes q, k, v; bias_k/bias_v append one learned key/value
    position, add_zero_attn a zero one; static_k/static_v (N * heads, S, E / heads) replace the
    projected keys/values. Masks: attn_mask (L, S) or (N * heads, L, S) and key_padding_mask
    (N, S), bool True = not attended, or float added to the scores.
    """
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    L, N, E = query.shape
    S = key.shape[0]
    key_padding_mask = _float_mask(key_padding_mask, query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
            "module method `generate_square_subsequent_mask` to create this mask."
        )
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # (the causal kernel masks by itself)
    else:
        attn_mask = _float_mask(attn_mask, query.dtype)
        if key_padding_mask is not None:
            is_causal = False
    if E != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {E}"
        )
    head_dim = E // num_heads
    if head_dim * num_heads != E:
        raise AssertionError(f"embed_dim {E} not divisible by num_heads {num_heads}")
    if not use_separate_proj_weight:
        if key.shape != value.shape:
            raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        ws = (in_proj_weight[:E], in_proj_weight[E : 2 * E], in_proj_weight[2 * E :])
    else:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(
                f"key's sequence and batch dims {key.shape[:2]} do not match value's "
                f"{value.shape[:2]}"
            )
        ws = (q_proj_weight, k_proj_weight, v_proj_weight)
        for name, w in zip("qkv", ws, strict=True):
            if w is None:
                raise AssertionError(
                    f"use_separate_proj_weight is True but {name}_proj_weight is None"
                )
    bs = (
        (None, None, None)
        if in_proj_bias is None
        else (in_proj_bias[:E], in_proj_bias[E : 2 * E], in_proj_bias[2 * E :])
    )
    q = linear(query, ws[0], bs[0])
    k = linear(key, ws[1], bs[1])
    v = linear(value, ws[2], bs[2])
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (L, S):
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be {(L, S)}."
                )
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (N * num_heads, L, S):
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                    f"{(N * num_heads, L, S)}."
                )
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key or value.")
        k = cat([k, bias_k.repeat(1, N, 1)])
        v = cat([v, bias_v.repeat(1, N, 1)])
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k and bias_v must be given together")
    q = q.reshape(L, N * num_heads, head_dim).transpose(0, 1)
    k = (
        k.reshape(k.shape[0], N * num_heads, head_dim).transpose(0, 1)
        if static_k is None
        else static_k
    )
    v = (
        v.reshape(v.shape[0], N * num_heads, head_dim).transpose(0, 1)
        if static_v is None
        else static_v
    )
    if add_zero_attn:
        k = cat([k, zeros((N * num_heads, 1, head_dim), dtype=k.dtype)], dim=1)
        v = cat([v, zeros((N * num_heads, 1, head_dim), dtype=v.dtype)], dim=1)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    S = k.shape[1]
    if key_padding_mask is not None:
        for d, want in enumerate((N, S)):
            if key_padding_mask.shape[d] != want:
                raise AssertionError(
                    f"Expected key_padded_mask.shape[{d}] to be {want}, but got "
                    f"{key_padding_mask.shape[d]}"
                )
        kpm = key_padding_mask.reshape(N, 1, 1, S).expand(N, num_heads, 1, S)
        kpm = kpm.reshape(N * num_heads, 1, S)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if need_weights:
        scores = (q * math.sqrt(1.0 / float(head_dim))) @ k.transpose(-2, -1)
        if attn_mask is not None:
            scores = attn_mask + scores
        weights = scores.softmax(dim=-1)
        if dropout_p > 0.0:
            weights = dropout(weights, dropout_p, training=True)
        out = (weights @ v).transpose(0, 1).reshape(L * N, E)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(L, N, -1)
        weights = weights.reshape(N, num_heads, L, S)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights
    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.ndim == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(N, num_heads, -1, S)
    q = q.reshape(N, num_heads, L, head_dim)
    k = k.reshape(N, num_heads, S, head_dim)
    v = v.reshape(N, num_heads, S, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(N * L, E)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(L, N, -1)
    return (out if batched else out.squeeze(1)), None
