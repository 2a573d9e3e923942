"""Scaled dot-product attention, composed from Tensor ops (so every gradient, and double
backward, comes from ops that are tested on their own):

    softmax(q k^T * scale + bias) v,   scale = 1 / sqrt(E) unless given,

where `bias` is -inf where a bool `attn_mask` is False (or above the diagonal with
`is_causal`), or a float `attn_mask` added as is.
"""

from __future__ import annotations

import math

import numpy as np

from ...tensor import Tensor
from ._checks import _check_tensor
from .dropout import dropout

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
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        if query.shape[-3] % key.shape[-3] != 0:
            raise RuntimeError(
                f"{what}: with enable_gqa, query's heads ({query.shape[-3]}) must be a "
                f"multiple of key's ({key.shape[-3]})"
            )
        rep = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(rep, dim=-3)
        value = value.repeat_interleave(rep, dim=-3)
    L, S = query.shape[-2], key.shape[-2]
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
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
    weights = scores.softmax(dim=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ value
