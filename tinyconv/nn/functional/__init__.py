"""Differentiable functions of Tensors (`import tinyconv.nn.functional as F`), by topic:

- conv.py: conv1d/2d, conv_transpose1d/2d - pooling.py: max/avg/adaptive pooling (1-D, 2-D)
- padding.py: pad                         - activations.py: relu ... mish, softmax
- linear.py: linear, flatten, one_hot     - dropout.py: dropout, dropout1d/2d/3d
- fold.py: unfold, fold (im2col, col2im)  - embedding.py: embedding, embedding_bag
- upsampling.py: interpolate (nearest, linear, bilinear, trilinear, area), pixel/channel shuffles
- sampling.py: affine_grid, grid_sample (spatial transformers)
- normalization.py: batch_norm, layer_norm, rms_norm, normalize, group/instance/local_response_norm
- losses.py: mse, l1, nll, cross_entropy, binary_cross_entropy(_with_logits), distance,
  ranking, embedding and likelihood losses (cosine_similarity ... gaussian_nll_loss)
- attention.py: scaled_dot_product_attention
- _checks.py: the argument checks they share

This file only gathers the public names.

Each op is a `Function` whose forward and backward call the pure-NumPy
kernels in tinyconv.kernels (or a few lines of NumPy). Arguments are checked
once, in this package, with messages that name the argument and the shapes involved;
the kernels below trust what they are given.

Shapes follow PyTorch: input `(N, C, H, W)` (or unbatched `(C, H, W)`),
conv weight `(out_channels, in_channels / groups, kH, kW)`.
"""

from __future__ import annotations

from .activations import (
    celu,
    elu,
    gelu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    prelu,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softmin,
    softplus,
    softshrink,
    softsign,
    tanh,
    tanhshrink,
    threshold,
)
from .attention import scaled_dot_product_attention
from .conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .dropout import dropout, dropout1d, dropout2d, dropout3d
from .embedding import embedding, embedding_bag
from .fold import fold, unfold
from .linear import flatten, linear, one_hot
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cosine_embedding_loss,
    cosine_similarity,
    cross_entropy,
    gaussian_nll_loss,
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    l1_loss,
    margin_ranking_loss,
    mse_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    nll_loss,
    pairwise_distance,
    pdist,
    poisson_nll_loss,
    smooth_l1_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from .normalization import (
    batch_norm,
    group_norm,
    instance_norm,
    layer_norm,
    local_response_norm,
    normalize,
    rms_norm,
)
from .padding import pad
from .pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool1d,
    max_unpool2d,
)
from .sampling import affine_grid, grid_sample
from .upsampling import (
    channel_shuffle,
    interpolate,
    pixel_shuffle,
    pixel_unshuffle,
    upsample,
    upsample_bilinear,
    upsample_nearest,
)

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "affine_grid",
    "avg_pool1d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "celu",
    "channel_shuffle",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "cross_entropy",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "elu",
    "embedding",
    "embedding_bag",
    "flatten",
    "fold",
    "gelu",
    "glu",
    "grid_sample",
    "group_norm",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "huber_loss",
    "scaled_dot_product_attention",
    "cosine_embedding_loss",
    "cosine_similarity",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "pairwise_distance",
    "pdist",
    "poisson_nll_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "instance_norm",
    "interpolate",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "local_response_norm",
    "log_softmax",
    "logsigmoid",
    "max_pool1d",
    "max_pool2d",
    "max_unpool1d",
    "max_unpool2d",
    "mish",
    "mse_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "pixel_shuffle",
    "pixel_unshuffle",
    "prelu",
    "relu",
    "relu6",
    "rms_norm",
    "selu",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
    "unfold",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
]
