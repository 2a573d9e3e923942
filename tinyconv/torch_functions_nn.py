"""The torch.X spellings of nn.functional ops (`torch.conv2d`, `torch.batch_norm`,
`torch.kl_div`, ...), with PyTorch's top-level signatures, which are ATen's and sometimes
differ from torch.nn.functional's: the normalisations take their running statistics after
weight and bias and all arguments positionally (plus a cudnn flag that changes nothing on the
CPU), `embedding` takes the weight first and padding_idx=-1 for none, the losses take an
integer `reduction` (0 none, 1 mean, 2 sum), the dropouts a required `train` and no inplace
flag (the trailing-underscore names write in place). Each is a thin wrapper over the one
implementation in nn.functional; tinyconv/__init__ re-exports `__all__`."""

from __future__ import annotations

from typing import Any

from ._errors import TensorValueError
from ._tensor_math import _fused
from .autograd import grad_mode
from .autograd.ops_gaps import NoDerivative as _NoDerivative
from .nn import functional as F
from .nn.functional import (  # the same signature at the top level: the same function
    adaptive_avg_pool1d,
    bilinear,
    celu_,
    channel_shuffle,
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    pixel_shuffle,
    pixel_unshuffle,
    rms_norm,
    selu_,
    threshold_,
)
from .nn.functional.activations import _rrelu
from .nn.functional.dropout import feature_dropout as _feature_dropout
from .tensor import Tensor

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "alpha_dropout",
    "alpha_dropout_",
    "avg_pool1d",
    "batch_norm",
    "bilinear",
    "binary_cross_entropy_with_logits",
    "celu",
    "celu_",
    "channel_shuffle",
    "constant_pad_nd",
    "convolution",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "cosine_embedding_loss",
    "ctc_loss",
    "dropout",
    "dropout_",
    "embedding",
    "feature_alpha_dropout",
    "feature_alpha_dropout_",
    "feature_dropout",
    "feature_dropout_",
    "fill",
    "grid_sampler",
    "group_norm",
    "hinge_embedding_loss",
    "instance_norm",
    "kl_div",
    "layer_norm",
    "margin_ranking_loss",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool2d",
    "max_pool3d",
    "native_batch_norm",
    "native_channel_shuffle",
    "native_layer_norm",
    "pixel_shuffle",
    "pixel_unshuffle",
    "poisson_nll_loss",
    "rms_norm",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "threshold",
    "threshold_",
    "triplet_margin_loss",
]

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}  # ATen's Reduction enum


def _reduction(reduction: Any, what: str) -> str:
    """ATen's integer reduction as nn.functional's name."""
    if isinstance(reduction, bool) or not isinstance(reduction, int):
        raise TypeError(
            f"{what}: reduction must be an int (0 none, 1 mean, 2 sum), got {reduction!r}"
        )
    if reduction not in _REDUCTIONS:
        raise TensorValueError(
            f"{what}: reduction must be 0 (none), 1 (mean) or 2 (sum), got {reduction}"
        )
    return _REDUCTIONS[reduction]


def _stride(stride: Any) -> Any:
    """ATen's empty stride means the kernel size (nn.functional's None)."""
    return None if isinstance(stride, (tuple, list)) and len(stride) == 0 else stride


# -- convolution ---------------------------------------------------------------------------------


def _int_list(value: Any, name: str, position: int, dims: int) -> Any:
    """ATen's int[] argument of `convolution`: a tuple or list of ints (not a bare int, as
    PyTorch's binding refuses one), one entry (repeated) or one per spatial dim."""
    if not isinstance(value, (tuple, list)) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise TypeError(
            f"convolution(): argument '{name}' (position {position}) must be tuple of ints, "
            f"not {type(value).__name__}"
        )
    if len(value) not in (1, dims):
        raise RuntimeError(
            f"convolution(): expected {name} to be a single integer value or a list of "
            f"{dims} values to match the convolution dimensions, but got {name}={list(value)}"
        )
    return tuple(value) * (dims // len(value))


def convolution(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    transposed: bool,
    output_padding: Any,
    groups: int,
) -> Tensor:
    """ATen's one convolution op: conv{1,2,3}d, or conv_transpose{1,2,3}d when `transposed`,
    by weight's dims ((O, C/groups, *k), or (C, O/groups, *k) transposed); input (N, C, *)."""
    dims = weight.dim() - 2
    if dims not in (1, 2, 3):
        raise RuntimeError(
            f"convolution(): expected a weight of 3, 4 or 5 dims, got {weight.dim()} "
            f"(shape {tuple(weight.shape)})"
        )
    stride = _int_list(stride, "stride", 4, dims)
    padding = _int_list(padding, "padding", 5, dims)
    dilation = _int_list(dilation, "dilation", 6, dims)
    output_padding = _int_list(output_padding, "output_padding", 8, dims)
    if transposed:
        conv_t = getattr(F, f"conv_transpose{dims}d")
        return conv_t(input, weight, bias, stride, padding, output_padding, groups, dilation)
    return getattr(F, f"conv{dims}d")(input, weight, bias, stride, padding, dilation, groups)


# -- sampling ------------------------------------------------------------------------------------

_INTERPOLATION = {0: "bilinear", 1: "nearest", 2: "bicubic"}  # ATen's GridSamplerInterpolation
_PADDING = {0: "zeros", 1: "border", 2: "reflection"}  # ATen's GridSamplerPadding


def grid_sampler(
    input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int, align_corners: bool
) -> Tensor:
    """F.grid_sample with ATen's integer modes: interpolation 0 bilinear, 1 nearest, 2 bicubic;
    padding 0 zeros, 1 border, 2 reflection. input (N, C, H, W) or (N, C, D, H, W)."""
    for value, names, what in (
        (interpolation_mode, _INTERPOLATION, "interpolation_mode"),
        (padding_mode, _PADDING, "padding_mode"),
    ):
        if isinstance(value, bool) or value not in names:
            raise RuntimeError(
                f"grid_sampler(): {what} must be one of {sorted(names)} "
                f"({', '.join(f'{k} {v}' for k, v in names.items())}), got {value!r}"
            )
    return F.grid_sample(
        input, grid, _INTERPOLATION[interpolation_mode], _PADDING[padding_mode], align_corners
    )


# -- pooling -----------------------------------------------------------------------------------


def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Tensor:
    """(N, C, L) or (C, L) -> max over windows (no indices: max_pool1d_with_indices)."""
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Tensor:
    """(N, C, H, W) or (C, H, W) -> max over windows."""
    return F.max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Tensor:
    """(N, C, D, H, W) or (C, D, H, W) -> max over windows."""
    return F.max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> tuple:
    """(values, int64 indices into L) of max_pool1d."""
    return F.max_pool1d_with_indices(
        input, kernel_size, _stride(stride), padding, dilation, ceil_mode
    )


def avg_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """(N, C, L) or (C, L) -> mean over windows."""
    return F.avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode, count_include_pad)


def adaptive_max_pool1d(input: Tensor, output_size: Any) -> tuple:
    """(values, indices): the top-level op always returns both."""
    return F.adaptive_max_pool1d_with_indices(input, output_size)


# -- normalisation (cudnn flags: no effect on the CPU) ----------------------------------------


def batch_norm(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool,
) -> Tensor:
    """F.batch_norm with ATen's argument order; (N, C, *) input."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    use_input_stats: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool,
) -> Tensor:
    """F.instance_norm with ATen's argument order; (N, C, *) input."""
    return F.instance_norm(
        input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps
    )


def layer_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
    cudnn_enable: bool = True,
) -> Tensor:
    """Normalise over the trailing dims `normalized_shape`."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def native_layer_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None,
    bias: Tensor | None,
    eps: float,
) -> tuple:
    """(output, mean, rstd) of layer_norm over the trailing dims `normalized_shape`: mean and
    1 / sqrt(biased variance + eps) shaped (*lead, 1, ..., 1), outside the graph (as
    PyTorch's: only the output has a gradient)."""
    out = F.layer_norm(input, normalized_shape, weight, bias, eps)
    n = len(normalized_shape) if isinstance(normalized_shape, (tuple, list)) else 1
    axes = tuple(range(input.dim() - n, input.dim()))
    with grad_mode.no_grad():
        x = input.detach()
        mean = x.mean(axes, keepdim=True)
        rstd = ((x - mean) ** 2).mean(axes, keepdim=True).add(eps).rsqrt()
    return out, mean, rstd


def native_batch_norm(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
) -> tuple:
    """(output, save_mean, save_invstd) of batch_norm on (N, C, *) input: in training the
    batch's per-channel mean and 1 / sqrt(biased variance + eps), (C,), outside the graph;
    in eval PyTorch's CPU kernel saves nothing: two empty (0,) tensors."""
    with grad_mode.no_grad():  # (from the input as it comes in, before any update)
        x = input.detach()
        if training:
            axes = (0, *range(2, x.dim()))
            save_mean = x.mean(axes)
            centered = x - save_mean.reshape(1, -1, *([1] * (x.dim() - 2)))
            save_invstd = (centered**2).mean(axes).add(eps).rsqrt()
        else:
            save_mean = x.new_empty((0,))
            save_invstd = x.new_empty((0,))
    out = F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    return out, save_mean, save_invstd


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
    cudnn_enabled: bool = True,
) -> Tensor:
    """Normalise (N, C, *) input over groups of C / num_groups channels."""
    return F.group_norm(input, num_groups, weight, bias, eps)


def fill(input: Tensor, value: Any) -> Tensor:
    """A new tensor of input's shape and dtype, every element `value` (a number or a 0-d
    Tensor, which then gets the gradient's sum; input gets zeros), as ``input.clone().fill_``."""
    out = input.clone().fill_(value)
    if isinstance(value, Tensor):  # (PyTorch's node names for its two overloads)
        return _fused(out, "FillBackward1", input, value)
    return _fused(out, "FillBackward0", input)


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: int = 0,
    zero_infinity: bool = False,
) -> Tensor:
    """F.ctc_loss with ATen's integer reduction; log_probs (T, N, C) or (T, C). Left out, the
    reduction is 0 (the per-sample losses): what PyTorch 2.13's torch.ctc_loss returns then,
    though its operator schema gives 1 (mean)."""
    return F.ctc_loss(
        log_probs,
        targets,
        input_lengths,
        target_lengths,
        blank,
        _reduction(reduction, "ctc_loss()"),
        zero_infinity,
    )


def embedding(
    weight: Tensor,
    indices: Tensor,
    padding_idx: int = -1,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of `weight (num, dim)` at integer `indices (*)` -> (*, dim). ATen's padding_idx
    is a row index, -1 (or any index that is not a row) for none: that row gets no gradient."""
    pad = padding_idx if 0 <= padding_idx < weight.shape[0] else None
    return F.embedding(indices, weight, pad, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


# -- activations ---------------------------------------------------------------------------------


def selu(input: Tensor) -> Tensor:
    return F.selu(input)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    return F.celu(input, alpha)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    return F.threshold(input, threshold, value)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    generator: Any = None,
) -> Tensor:
    """F.rrelu, its slopes drawn from `generator` (default: the global stream)."""
    return _rrelu(input, lower, upper, training, False, generator)


def rrelu_(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    generator: Any = None,
) -> Tensor:
    return _rrelu(input, lower, upper, training, True, generator)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """channel_shuffle's values; as PyTorch's, it has no derivative (backward raises)."""
    with grad_mode.no_grad():
        out = F.channel_shuffle(input, groups)
    return _NoDerivative.apply(input, out._data, "native_channel_shuffle")


# -- dropout: a required `train`; the names ending in _ write in place -----------------------


def _p(p: Any) -> Any:
    """The top-level dropouts' check of p: PyTorch's ATen forms raise RuntimeError where
    nn.functional's raise ValueError (a p that is not a number goes on to F's TypeError)."""
    if isinstance(p, (int, float)) and not isinstance(p, bool) and not 0 <= p <= 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
    return p


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """torch.dropout: F.dropout(input, p, train) (the same random stream)."""
    return F.dropout(input, _p(p), train)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return F.dropout(input, _p(p), train, inplace=True)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return F.alpha_dropout(input, _p(p), train)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return F.alpha_dropout(input, _p(p), train, inplace=True)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return F.feature_alpha_dropout(input, _p(p), train)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return F.feature_alpha_dropout(input, _p(p), train, inplace=True)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout of whole channels of an (N, C, *) input (dims 0 and 1), any rank >= 2."""
    return _feature_dropout(input, _p(p), train)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return _feature_dropout(input, _p(p), train, inplace=True)


def constant_pad_nd(input: Tensor, pad: Any, value: float = 0) -> Tensor:
    """F.pad(input, pad, 'constant', value)."""
    return F.pad(input, pad, "constant", value)


# -- losses: reduction 0 none, 1 mean, 2 sum ---------------------------------------------------


def kl_div(
    input: Tensor, target: Tensor, reduction: int = 1, *, log_target: bool = False
) -> Tensor:
    """KL divergence, input as log-probabilities; mean = over every element (no warning:
    ATen's op has no 'batchmean')."""
    r = _reduction(reduction, "kl_div")
    if r == "mean":  # (F.kl_div warns that 'mean' is not 'batchmean'; ATen's kl_div does not)
        return F.kl_div(input, target, reduction="none", log_target=log_target).mean()
    return F.kl_div(input, target, reduction=r, log_target=log_target)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    pos_weight: Tensor | None = None,
    reduction: int = 1,
) -> Tensor:
    what = "binary_cross_entropy_with_logits"
    return F.binary_cross_entropy_with_logits(
        input, target, weight, reduction=_reduction(reduction, what), pos_weight=pos_weight
    )


def cosine_embedding_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, reduction: int = 1
) -> Tensor:
    r = _reduction(reduction, "cosine_embedding_loss")
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=r)


def hinge_embedding_loss(
    input: Tensor, target: Tensor, margin: float = 1.0, reduction: int = 1
) -> Tensor:
    r = _reduction(reduction, "hinge_embedding_loss")
    return F.hinge_embedding_loss(input, target, margin, reduction=r)


def margin_ranking_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, reduction: int = 1
) -> Tensor:
    r = _reduction(reduction, "margin_ranking_loss")
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=r)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: int = 1,
) -> Tensor:
    r = _reduction(reduction, "triplet_margin_loss")
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=r)


def poisson_nll_loss(
    input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float, reduction: int
) -> Tensor:
    r = _reduction(reduction, "poisson_nll_loss")
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=r)
