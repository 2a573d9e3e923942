"""Transformer layers, as torch.nn: TransformerEncoderLayer / TransformerEncoder,
TransformerDecoderLayer / TransformerDecoder and Transformer.

Each layer is PyTorch's composition of MultiheadAttention, a two-layer feed-forward block
(linear1 -> activation -> dropout -> linear2), LayerNorms and dropouts, post-norm
(x = norm(x + block(x))) by default or pre-norm with norm_first=True (x = x + block(norm(x))).
Submodule names and order are PyTorch's, so state_dicts load across. Shapes: (S, N, E)
sequences ((N, S, E) with batch_first, or unbatched (S, E)).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

from .. import _dtype
from ..autograd import grad_mode
from ..creation import arange, full
from ..tensor import Tensor
from . import functional as F
from . import init
from .container import ModuleList
from .functional.attention import _float_mask
from .layers import GELU, Dropout, LayerNorm, Linear, ReLU
from .layers_attention import FASTPATH_ENABLED, MultiheadAttention
from .module import Module


def _activation(activation: Any, what: str) -> Callable:
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if callable(activation):
        return activation
    raise RuntimeError(f"{what}: activation should be relu/gelu or a callable, not {activation!r}")


def _clones(module: Module, n: int) -> ModuleList:
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


class TransformerEncoderLayer(Module):
    """Self-attention then feed-forward, each with a residual connection and a LayerNorm."""

    __constants__ = ["norm_first"]

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Any = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation, "TransformerEncoderLayer")
        # (PyTorch notes whether its fast path could run the activation: 1 relu, 2 gelu)
        act = self.activation
        is_relu = act is F.relu or isinstance(act, ReLU)
        is_gelu = act is F.gelu or isinstance(act, GELU)
        self.activation_relu_or_gelu = 1 if is_relu else 2 if is_gelu else 0

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        if not hasattr(self, "activation"):  # (PyTorch's: a layer pickled before it had one)
            self.activation = F.relu

    def _sa_block(
        self, x: Tensor, mask: Any, key_padding_mask: Any, is_causal: bool, fast: bool = False
    ) -> Tensor:
        # (in PyTorch's fast path a query that may attend to nothing gives NaN, float masks
        # too, as the weights path's plain softmax does; the SDPA path gives zeros)
        x = self.self_attn(
            x,
            x,
            x,
            attn_mask=mask,
            key_padding_mask=key_padding_mask,
            need_weights=fast,
            is_causal=is_causal,
        )[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor, activation: Callable) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(activation(self.linear1(x)))))

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        # PyTorch's fast path computes the same layer, but with its own relu or gelu: an
        # nn.GELU(approximate="tanh") (or a subclass of ReLU/GELU) runs as the exact F.gelu
        activation = self.activation
        fast = bool(self.activation_relu_or_gelu) and self._takes_fast_path(src)
        if fast:
            activation = F.relu if self.activation_relu_or_gelu == 1 else F.gelu
        # PyTorch's layer makes bool masks float (-inf) before its self-attention, which then
        # never takes MultiheadAttention's own fast path
        src_mask = _float_mask(src_mask, src.dtype)
        src_key_padding_mask = _float_mask(src_key_padding_mask, src.dtype)
        masks = (src_mask, src_key_padding_mask, is_causal, fast)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), *masks)
            return x + self._ff_block(self.norm2(x), activation)
        x = self.norm1(x + self._sa_block(x, *masks))
        return self.norm2(x + self._ff_block(x, activation))

    def _takes_fast_path(self, src: Tensor) -> bool:
        """Whether PyTorch would run this layer as torch._transformer_encoder_layer_fwd: its
        conditions, in eval mode without gradients (the activation is checked by the caller)."""
        attn = self.self_attn
        if not FASTPATH_ENABLED[0] or src.ndim != 3 or self.training or not attn.batch_first:
            return False
        if attn.in_proj_bias is None or not attn._qkv_same_embed_dim or attn.num_heads % 2:
            return False
        if self.norm1.eps != self.norm2.eps:
            return False
        if any(m._forward_hooks or m._forward_pre_hooks for m in self.modules()):
            return False
        tensors = (src, *attn.parameters(), *self.norm1.parameters(), *self.norm2.parameters())
        tensors += (*self.linear1.parameters(), *self.linear2.parameters())
        return not (grad_mode.enabled and any(t.requires_grad for t in tensors))


def _why_no_nested_tensor(layer: Any) -> str:
    """Why PyTorch's TransformerEncoder could not use nested tensors with this layer ("" if it
    could): its checks in its order."""
    name = "encoder_layer"
    if not isinstance(layer, TransformerEncoderLayer):
        return f"{name} was not TransformerEncoderLayer"
    attn = layer.self_attn
    if layer.norm_first:
        return f"{name}.norm_first was True"
    if not attn.batch_first:
        return (
            f"{name}.self_attn.batch_first was not True"
            "(use batch_first for better inference performance)"
        )
    if not attn._qkv_same_embed_dim:
        return f"{name}.self_attn._qkv_same_embed_dim was not True"
    if attn.in_proj_bias is None:
        return f"{name}.self_attn was passed bias=False"
    if not layer.activation_relu_or_gelu:
        return f"{name}.activation_relu_or_gelu was not True"
    if layer.norm1.eps != layer.norm2.eps:
        return f"{name}.norm1.eps was not equal to {name}.norm2.eps"
    if attn.num_heads % 2 == 1:
        return f"{name}.self_attn.num_heads is odd"
    return ""


class TransformerEncoder(Module):
    """`num_layers` copies of an encoder layer (independent weights), then `norm` if given."""

    __constants__ = ["norm"]

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        # (PyTorch's nested-tensor fast path is an inference speed-up; tinyconv always runs
        # the layers as written: see README for what that path changes)
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check
        why_not = _why_no_nested_tensor(encoder_layer)
        self.use_nested_tensor = enable_nested_tensor and not why_not
        if enable_nested_tensor and why_not:  # (PyTorch's warning, same condition and words)
            warnings.warn(
                "enable_nested_tensor is True, but self.use_nested_tensor is False because "
                + why_not,
                stacklevel=2,
            )

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        padding = self._nested_padding(src, mask, src_key_padding_mask)
        if padding is not None and bool(padding.all()):  # (every sequence empty: PyTorch's)
            raise RuntimeError(
                "to_padded_tensor: at least one constituent tensor should have non-zero numel"
            )
        out = src
        for layer in self.layers:
            out = layer(
                out,
                src_mask=mask,
                src_key_padding_mask=src_key_padding_mask if padding is None else padding,
                is_causal=bool(is_causal),
            )
        if padding is not None:
            out = out.masked_fill(padding.unsqueeze(-1), 0.0)
        return self.norm(out) if self.norm is not None else out

    def _nested_padding(self, src: Tensor, mask: Any, kpm: Any) -> Tensor | None:
        """The padding positions (N, S) where PyTorch's encoder, in its nested-tensor inference
        path, returns zeros (before the final norm): each sequence runs at its own length there
        and the padding is filled with 0. PyTorch's conditions: use_nested_tensor (set in
        __init__), the first layer in eval mode, a batched input and a padding mask without an
        attention mask, no gradient wanted of the first layer's tensors, and (with mask_check)
        padding only at the end of each sequence. None if PyTorch runs the plain path."""
        if not FASTPATH_ENABLED[0] or not getattr(self, "use_nested_tensor", False):
            return None
        first = self.layers[0]
        if first.training or src.ndim != 3 or kpm is None or mask is not None:
            return None
        pad = kpm if kpm.dtype == _dtype.bool else kpm != 0
        if tuple(pad.shape) != tuple(src.shape[:2]):
            return None
        ends_only = not bool((pad[:, :-1] > pad[:, 1:]).any())
        if getattr(self, "mask_check", True) and not ends_only:
            return None  # (padding not only at the end: PyTorch runs the plain path)
        attn = first.self_attn
        tensors = (src, attn.in_proj_weight, attn.in_proj_bias, *attn.out_proj.parameters())
        for m in (first.norm1, first.norm2, first.linear1, first.linear2):
            tensors += tuple(m.parameters())
        if grad_mode.enabled and any(t.requires_grad for t in tensors):
            return None
        if not ends_only:
            # (mask_check=False: PyTorch's nested tensor takes each sequence's first
            # (unpadded count) positions, wherever the padding was)
            count = (~pad).sum(1, keepdim=True)
            pad = arange(pad.shape[1]).unsqueeze(0) >= count
        return pad


class TransformerDecoderLayer(Module):
    """Self-attention over the target, attention to the encoder's memory, then feed-forward;
    each with a residual connection and a LayerNorm."""

    __constants__ = ["norm_first"]

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Any = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw
        )
        self.multihead_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation, "TransformerDecoderLayer")

    def __setstate__(self, state: dict) -> None:
        # PyTorch's: an activation that is a module lives in _modules, not in the state, so a
        # copy (TransformerDecoder's clones, a pickled model) gets F.relu in its __dict__,
        # which shadows the module: the copies run relu whatever the layer was given
        if "activation" not in state:
            state["activation"] = F.relu
        super().__setstate__(state)

    def _sa_block(self, x: Tensor, mask: Any, kpm: Any, is_causal: bool) -> Tensor:
        x = self.self_attn(
            x, x, x, attn_mask=mask, key_padding_mask=kpm, is_causal=is_causal, need_weights=False
        )[0]
        return self.dropout1(x)

    def _mha_block(self, x: Tensor, mem: Tensor, mask: Any, kpm: Any, is_causal: bool) -> Tensor:
        x = self.multihead_attn(
            x,
            mem,
            mem,
            attn_mask=mask,
            key_padding_mask=kpm,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout2(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(
            x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal)
        )
        return self.norm3(x + self._ff_block(x))


class TransformerDecoder(Module):
    """`num_layers` copies of a decoder layer (independent weights), then `norm` if given."""

    __constants__ = ["norm"]

    def __init__(
        self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None
    ) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        out = tgt
        for layer in self.layers:
            out = layer(
                out,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=bool(tgt_is_causal),
                memory_is_causal=memory_is_causal,
            )
        return self.norm(out) if self.norm is not None else out


class Transformer(Module):
    """An encoder-decoder Transformer (Vaswani et al.): encoder stack with a final LayerNorm,
    decoder stack with a final LayerNorm; weights of dim > 1 initialised xavier-uniform."""

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Any = "relu",
        custom_encoder: Any = None,
        custom_decoder: Any = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        layer_kw = {
            "dim_feedforward": dim_feedforward,
            "dropout": dropout,
            "activation": activation,
            "layer_norm_eps": layer_norm_eps,
            "batch_first": batch_first,
            "norm_first": norm_first,
            "bias": bias,
            **kw,
        }
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(d_model, nhead, **layer_kw),
                num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw),
            )
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(d_model, nhead, **layer_kw),
                num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw),
            )
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        batched = src.ndim == 3
        b = 0 if self.batch_first else 1
        if batched and src.shape[b] != tgt.shape[b]:
            raise RuntimeError("Transformer: the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(
                "Transformer: the feature number of src and tgt must be equal to d_model"
            )
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """(sz, sz) float mask: 0 on and below the diagonal, -inf above (no peeking ahead)."""
        return full((sz, sz), float("-inf"), dtype=dtype).triu(diagonal=1)
