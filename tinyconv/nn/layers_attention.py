"""nn.MultiheadAttention: attention over `num_heads` slices of the embedding, PyTorch's
parameters (in_proj_weight (3E, E), in_proj_bias (3E,), out_proj) and semantics, composed from
Tensor ops (so its gradients are those of tested ops)."""

from __future__ import annotations

import math
from typing import Any

from .. import _dtype
from .._errors import TensorValueError
from ..creation import empty, zeros
from ..tensor import Tensor
from ..torch_functions import cat
from . import functional as F
from . import init
from .layers import Linear
from .module import Module, Parameter


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear (PyTorch's name for MultiheadAttention's output projection)."""


class MultiheadAttention(Module):
    """Inputs (L, N, E) (or (N, L, E) with batch_first, or unbatched (L, E)); returns the
    attention output and, with need_weights, the attention weights (N, L, S), averaged over
    heads unless average_attn_weights=False ((N, heads, L, S)).

    Masks as PyTorch: `attn_mask` (L, S) or (N * heads, L, S), bool True = not allowed, or
    float added to the scores; `key_padding_mask` (N, S), bool True = padding."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads != 0:
            raise TensorValueError(
                "MultiheadAttention: embed_dim must be a positive multiple of num_heads, got "
                f"embed_dim={embed_dim}, num_heads={num_heads}"
            )
        dt = _dtype.get_default_dtype() if dtype is None else _dtype.as_dtype(dtype)
        self.embed_dim = embed_dim
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, dtype=dt))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, dtype=dt))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, dtype=dt))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, dtype=dt))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, dtype=dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, dtype=dt)
        if add_bias_kv:  # a learned key and value appended to every sequence (fairseq)
            self.bias_k = Parameter(empty(1, 1, embed_dim, dtype=dt))
            self.bias_v = Parameter(empty(1, 1, embed_dim, dtype=dt))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn  # a zero key and value appended after the projection
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def _projections(self) -> tuple:
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            ws = (w[:E], w[E : 2 * E], w[2 * E :])
        else:
            ws = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        b = self.in_proj_bias
        bs = (None, None, None) if b is None else (b[:E], b[E : 2 * E], b[2 * E :])
        return ws, bs

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple:
        what = "MultiheadAttention"
        if is_causal and attn_mask is None:
            raise RuntimeError(
                f"{what}: is_causal is a hint that attn_mask is causal; pass attn_mask too"
            )
        batched = query.ndim == 3
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise RuntimeError(
                f"{what}: query, key and value must all be 2-D (unbatched) or 3-D, got shapes "
                f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}"
            )
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        L, N, E = query.shape
        S = key.shape[0]
        if E != self.embed_dim:
            raise RuntimeError(f"{what}: expected embed_dim {self.embed_dim}, got {E}")
        H, hd = self.num_heads, self.head_dim
        (wq, wk, wv), (bq, bk, bv) = self._projections()
        q = F.linear(query, wq, bq).reshape(L, N * H, hd).transpose(0, 1)
        k, v = F.linear(key, wk, bk), F.linear(value, wv, bv)
        extra = 0  # key positions appended after the S given ones (masks pad them as allowed)
        if self.bias_k is not None and self.bias_v is not None:
            k = cat([k, self.bias_k.repeat(1, N, 1)])
            v = cat([v, self.bias_v.repeat(1, N, 1)])
            extra += 1
        k = k.reshape(S + extra, N * H, hd).transpose(0, 1)
        v = v.reshape(S + extra, N * H, hd).transpose(0, 1)
        if self.add_zero_attn:
            zero = zeros(N * H, 1, hd, dtype=k.dtype)
            k, v = cat([k, zero], dim=1), cat([v, zero], dim=1)
            extra += 1
        mask = self._merged_mask(attn_mask, key_padding_mask, N, L, S, q.dtype)
        if mask is not None and extra:
            mask = F.pad(mask, (0, extra))
        S += extra
        scores = (q * math.sqrt(1.0 / hd)) @ k.transpose(-2, -1)
        if mask is not None:
            scores = scores + mask
        weights = scores.softmax(dim=-1)
        if self.dropout > 0.0:
            weights = F.dropout(weights, self.dropout, training=self.training)
        out = (weights @ v).transpose(0, 1).reshape(L * N, E)
        out = self.out_proj(out).reshape(L, N, E)
        if not batched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        weights = weights.reshape(N, H, L, S)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            weights = weights.squeeze(0)
        return out, weights

    def _merged_mask(
        self, attn_mask: Any, key_padding_mask: Any, N: int, L: int, S: int, dtype: Any
    ) -> Tensor | None:
        """Both masks as one float mask (N * heads, L, S) (or broadcastable): -inf where a
        bool mask is True, float masks as given."""
        H = self.num_heads

        def as_float(m: Tensor) -> Tensor:
            if m.dtype == _dtype.bool:
                return (m.to(dtype) * 0).masked_fill(m, float("-inf"))
            return m.to(dtype)

        mask = None
        if attn_mask is not None:
            mask = as_float(attn_mask)
            if mask.ndim == 2:
                if tuple(mask.shape) != (L, S):
                    raise RuntimeError(
                        f"MultiheadAttention: attn_mask of shape {tuple(mask.shape)}, expected "
                        f"{(L, S)}"
                    )
                mask = mask.unsqueeze(0)
            elif tuple(mask.shape) != (N * H, L, S):
                raise RuntimeError(
                    f"MultiheadAttention: attn_mask of shape {tuple(mask.shape)}, expected "
                    f"{(L, S)} or {(N * H, L, S)}"
                )
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (N, S):
                raise RuntimeError(
                    f"MultiheadAttention: key_padding_mask of shape "
                    f"{tuple(key_padding_mask.shape)}, expected {(N, S)}"
                )
            kpm = as_float(key_padding_mask).reshape(N, 1, 1, S).expand(N, H, 1, S)
            kpm = kpm.reshape(N * H, 1, S)
            mask = kpm if mask is None else mask + kpm
        return mask
