"""nn.MultiheadAttention: attention over `num_heads` slices of the embedding, PyTorch's
parameters (in_proj_weight (3E, E), in_proj_bias (3E,), out_proj) and semantics, composed from
Tensor ops (so its gradients are those of tested ops)."""

from __future__ import annotations

from typing import Any

from .._errors import TensorValueError
from ..autograd import grad_mode
from ..creation import empty
from ..tensor import Tensor
from . import functional as F
from . import init
from .layers import Linear
from .module import Module, Parameter, _factory_dtype

# torch.backends.mha's switch of PyTorch's inference fast path (kept here, below backends, so
# that the modules can read it)
FASTPATH_ENABLED = [True]


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear (PyTorch's name for MultiheadAttention's output projection)."""


class MultiheadAttention(Module):
    """Inputs (L, N, E) (or (N, L, E) with batch_first, or unbatched (L, E)); returns the
    attention output and, with need_weights, the attention weights (N, L, S), averaged over
    heads unless average_attn_weights=False ((N, heads, L, S)).

    Masks as PyTorch: `attn_mask` (L, S) or (N * heads, L, S), bool True = not allowed, or
    float added to the scores; `key_padding_mask` (N, S), bool True = padding."""

    __constants__ = ["batch_first"]

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
        if embed_dim <= 0 or num_heads <= 0:
            raise TensorValueError(
                "MultiheadAttention: embed_dim and num_heads must be greater than 0, got "
                f"embed_dim={embed_dim} and num_heads={num_heads} instead"
            )
        if embed_dim % num_heads != 0:  # (PyTorch asserts this one: AssertionError)
            raise AssertionError(
                f"MultiheadAttention: embed_dim must be divisible by num_heads, got "
                f"embed_dim={embed_dim}, num_heads={num_heads}"
            )
        dt = _factory_dtype(device, dtype, "MultiheadAttention()")
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
        # (the ranks and sizes are checked in F.multi_head_attention_forward, as PyTorch's)
        batched = query.ndim == 3
        # PyTorch's fast path (torch._native_multi_head_attention) gives the same numbers
        # except for a query that may attend to nothing: NaN there, where the SDPA path
        # (need_weights=False) gives zeros. The weights path's plain softmax gives that NaN,
        # so the fast path's cases run it and drop the weights.
        fast = self._takes_fast_path(query, key, value, key_padding_mask, attn_mask)
        if fast and key_padding_mask is not None and attn_mask is None:
            if tuple(key_padding_mask.shape) != tuple(query.shape[:2]):  # (the native check)
                raise RuntimeError("For mask_type == 1 mask shape should be (B, L)")
        if batched and self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        separate = not self._qkv_same_embed_dim
        out, weights = F.multi_head_attention_forward(
            query,
            key,
            value,
            self.embed_dim,
            self.num_heads,
            self.in_proj_weight,
            self.in_proj_bias,
            self.bias_k,
            self.bias_v,
            self.add_zero_attn,
            self.dropout,
            self.out_proj.weight,
            self.out_proj.bias,
            training=self.training,
            key_padding_mask=key_padding_mask,
            need_weights=need_weights or fast,
            attn_mask=attn_mask,
            use_separate_proj_weight=separate,
            q_proj_weight=self.q_proj_weight if separate else None,
            k_proj_weight=self.k_proj_weight if separate else None,
            v_proj_weight=self.v_proj_weight if separate else None,
            average_attn_weights=average_attn_weights,
            # (the fast path takes no is_causal hint: the mask alone, or none, counts)
            is_causal=is_causal and not fast,
        )
        if batched and self.batch_first:
            out = out.transpose(0, 1)
        return out, (weights if need_weights else None)

    def _takes_fast_path(
        self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any, attn_mask: Any
    ) -> bool:
        """Whether PyTorch would run its native inference kernel here: its conditions (self
        attention on one batched tensor, eval mode, no gradient wanted, an even head count,
        batch_first, packed projections with biases, no bias_k or zero attention, no float
        mask)."""
        if not (FASTPATH_ENABLED[0] and query.ndim == 3 and query is key and key is value):
            return False
        for mask in (key_padding_mask, attn_mask):
            if isinstance(mask, Tensor) and mask.is_floating_point():
                return False
        if self.training or self.num_heads % 2 or not self.batch_first:
            return False
        if self.in_proj_weight is None or self.in_proj_bias is None:
            return False
        if self.bias_k is not None or self.bias_v is not None or self.add_zero_attn:
            return False
        if query.dtype != self.in_proj_weight.dtype:
            return False
        tensors = (query, self.in_proj_weight, self.in_proj_bias, *self.out_proj.parameters())
        return not (grad_mode.enabled and any(t.requires_grad for t in tensors))
