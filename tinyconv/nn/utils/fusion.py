"""Folding an eval-mode BatchNorm into the Conv or Linear before it, as torch.nn.utils.fusion.

In eval mode BatchNorm is the affine map y = (x - mean) * gamma / sqrt(var + eps) + beta, so
conv followed by bn is one conv whose weight rows (output channels) are scaled by
s = gamma / sqrt(var + eps) and whose bias is (b - mean) * s + beta.
"""

from __future__ import annotations

import copy

from ...tensor import Tensor
from ..module import Module, Parameter

__all__ = [
    "fuse_conv_bn_eval",
    "fuse_conv_bn_weights",
    "fuse_linear_bn_eval",
    "fuse_linear_bn_weights",
]


class FusionError(AssertionError, RuntimeError):
    """Modules that can't be fused: PyTorch asserts (AssertionError); a RuntimeError too."""


def _bn_eval_args(what: str, layer: Module, bn: Module) -> tuple:
    """bn's (running_mean, running_var, eps, weight, bias), once both modules are checked to be
    in eval mode with running statistics."""
    if layer.training or bn.training:
        raise FusionError(
            f"{what}: only works in eval mode (call .eval() on both modules); got "
            f"{type(layer).__name__}.training={layer.training}, "
            f"{type(bn).__name__}.training={bn.training}"
        )
    if bn.running_mean is None or bn.running_var is None:
        raise FusionError(f"{what}: bn has no running statistics (track_running_stats=False)")
    return bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias


def fuse_conv_bn_weights(
    conv_w: Tensor,
    conv_b: Tensor | None,
    bn_rm: Tensor,
    bn_rv: Tensor,
    bn_eps: float,
    bn_w: Tensor | None,
    bn_b: Tensor | None,
    transpose: bool = False,
) -> tuple[Parameter, Parameter]:
    """The (weight, bias) Parameters of conv -> bn folded into one conv.

    conv_w is (out, in/groups, *k), or (in, out/groups, *k) with transpose=True; the BatchNorm
    tensors are (out,). A missing conv bias counts as zeros. The results keep the dtypes of
    conv_w and conv_b (or bn_rm's when conv_b is None) and their requires_grad."""
    w_dtype = conv_w.dtype
    b_dtype = conv_b.dtype if conv_b is not None else bn_rm.dtype
    if conv_b is None:
        conv_b = bn_rm.detach().new_zeros(bn_rm.shape)
    # gamma = 1 and beta = 0 for a BatchNorm without affine parameters
    gamma = bn_w if bn_w is not None else bn_rm.detach().new_ones(bn_rm.shape)
    beta = bn_b if bn_b is not None else bn_rm.detach().new_zeros(bn_rm.shape)
    inv_std = (bn_rv + bn_eps).rsqrt()
    # the output channels are dim 0 of a conv weight and dim 1 of a transposed conv's
    shape = [1, -1] if transpose else [-1, 1]
    shape += [1] * (conv_w.ndim - 2)
    fused_w = (conv_w * (gamma * inv_std).reshape(shape)).to(dtype=w_dtype)
    fused_b = ((conv_b - bn_rm) * inv_std * gamma + beta).to(dtype=b_dtype)
    return (
        Parameter(fused_w.detach(), conv_w.requires_grad),
        Parameter(fused_b.detach(), conv_b.requires_grad),
    )


def fuse_conv_bn_eval(conv: Module, bn: Module, transpose: bool = False) -> Module:
    """A copy of `conv` (Conv1d/2d/3d or ConvTranspose with transpose=True) computing
    bn(conv(x)) in eval mode; both modules must be in eval mode."""
    stats = _bn_eval_args("fuse_conv_bn_eval", conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, *stats, transpose)
    return fused


def fuse_linear_bn_weights(
    linear_w: Tensor,
    linear_b: Tensor | None,
    bn_rm: Tensor,
    bn_rv: Tensor,
    bn_eps: float,
    bn_w: Tensor | None,
    bn_b: Tensor | None,
) -> tuple[Parameter, Parameter]:
    """The (weight, bias) Parameters of linear -> bn folded into one Linear: weight
    (out, in) rows scaled by gamma / sqrt(var + eps), bias (out,)."""
    if bn_w is None or bn_b is None:
        # (PyTorch fails here too: only the conv version fills in gamma = 1, beta = 0)
        raise TypeError(
            "fuse_linear_bn_weights: bn_w and bn_b must be Tensors (a BatchNorm with "
            f"affine=True), got {type(bn_w).__name__} and {type(bn_b).__name__}"
        )
    if linear_b is None:
        linear_b = bn_rm.detach().new_zeros(bn_rm.shape)
    gamma, beta = bn_w, bn_b
    scale = gamma * (bn_rv + bn_eps).rsqrt()
    fused_w = linear_w * scale.unsqueeze(-1)
    fused_b = (linear_b - bn_rm) * scale + beta
    return (
        Parameter(fused_w.detach(), linear_w.requires_grad),
        Parameter(fused_b.detach(), linear_b.requires_grad),
    )


def fuse_linear_bn_eval(linear: Module, bn: Module) -> Module:
    """A copy of `linear` computing bn(linear(x)) in eval mode (BatchNorm1d over its
    out_features, or a BatchNorm of one feature broadcast over all)."""
    stats = _bn_eval_args("fuse_linear_bn_eval", linear, bn)
    if not (linear.out_features == bn.num_features or bn.num_features == 1):
        raise FusionError(
            "fuse_linear_bn_eval: the Linear's out_features must equal the BatchNorm's "
            f"num_features (or num_features be 1); got out_features={linear.out_features}, "
            f"num_features={bn.num_features}"
        )
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, *stats)
    return fused
