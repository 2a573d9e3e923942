"""embedding: rows of a weight matrix picked by integer indices (a lookup table).

`embedding(idx, weight)[..., :] = weight[idx[...], :]`. The backward adds each output row's
gradient onto the weight row it came from (rows picked twice get both), except the
`padding_idx` row, which gets none; with `scale_grad_by_freq` each contribution is divided by
how often its index occurs in the batch. That backward is linear in the gradient, so its own
backward (create_graph=True) picks rows again: the two ops below are each other's backward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _dtype
from ...autograd import grad_mode
from ...autograd.ops import Op
from ...tensor import Tensor
from ._checks import _check_tensor


def _row_factor(idx: np.ndarray, num: int, padding_idx: int | None, scale: bool, dtype) -> Any:
    """Per looked-up position, the factor its gradient is sent back with (0 for padding_idx,
    1 / count with scale_grad_by_freq); None when it is 1 everywhere."""
    if padding_idx is None and not scale:
        return None
    f = np.ones(idx.size, dtype=dtype)
    if scale:
        f = f / np.bincount(idx, minlength=num)[idx].astype(dtype)
    if padding_idx is not None:
        f[idx == padding_idx] = 0
    return f


def _scatter_rows(g: np.ndarray, idx: np.ndarray, factor: Any, num: int) -> np.ndarray:
    """`(num, D)`: g's rows `(n, D)` (times factor) added onto the rows idx names."""
    if factor is not None:
        g = g * factor[:, None]
    out = np.zeros((num, g.shape[-1]), dtype=g.dtype)
    np.add.at(out, idx, g)  # an index may repeat: its contributions add
    return out


def _gather_rows(w: np.ndarray, idx: np.ndarray, factor: Any, shape: tuple) -> np.ndarray:
    rows = w[idx]
    if factor is not None:
        rows = rows * factor[:, None]
    return rows.reshape(shape + (w.shape[-1],))


class Embedding(Op):
    torch_name = "EmbeddingBackward0"
    next_functions_count = 1  # PyTorch's node has an edge for the weight only

    @staticmethod
    def forward(ctx, weight, idx, factor):
        # idx: the indices, flattened; factor: from _row_factor (for the backward only)
        ctx.idx, ctx.factor, ctx.num = idx.ravel(), factor, weight.shape[0]
        return weight[idx]

    @staticmethod
    def backward(ctx, grad):
        g = grad.reshape(-1, grad.shape[-1])
        return _scatter_rows(g, ctx.idx, ctx.factor, ctx.num), None, None

    @staticmethod
    def graph_backward(ctx, grad):
        return EmbeddingDenseBackward.apply(grad, ctx.idx, ctx.factor, ctx.num), None, None


class EmbeddingDenseBackward(Op):
    """Embedding's backward as an op (create_graph=True): g -> rows added onto the weight's
    shape. Its backward picks rows again, with the same factors."""

    torch_name = "EmbeddingDenseBackwardBackward0"
    next_functions_count = 1

    @staticmethod
    def forward(ctx, g, idx, factor, num):
        ctx.idx, ctx.factor, ctx.shape = idx, factor, g.shape[:-1]
        return _scatter_rows(g.reshape(-1, g.shape[-1]), idx, factor, num)

    @staticmethod
    def backward(ctx, grad):
        return _gather_rows(grad, ctx.idx, ctx.factor, ctx.shape), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        return EmbeddingRows.apply(grad, ctx.idx, ctx.factor, ctx.shape), None, None, None


class EmbeddingRows(Op):
    """Rows picked with the backward's factors: the adjoint of EmbeddingDenseBackward."""

    torch_name = "EmbeddingBackward0"
    next_functions_count = 1

    @staticmethod
    def forward(ctx, w, idx, factor, shape):
        ctx.idx, ctx.factor, ctx.num = idx, factor, w.shape[0]
        return _gather_rows(w, idx, factor, shape)

    @staticmethod
    def backward(ctx, grad):
        g = grad.reshape(-1, grad.shape[-1])
        return _scatter_rows(g, ctx.idx, ctx.factor, ctx.num), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        return EmbeddingDenseBackward.apply(grad, ctx.idx, ctx.factor, ctx.num), None, None, None


def _renorm_rows(weight: Tensor, idx: np.ndarray, max_norm: float, norm_type: float) -> None:
    """PyTorch's max_norm: the rows looked up whose p-norm exceeds max_norm are scaled (in
    place, outside the graph) to norm max_norm."""
    rows = np.unique(idx)
    w = weight._data
    norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        with grad_mode.no_grad():
            scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
            w[rows[big]] *= scale[:, None]
            weight._vc[0] += 1  # an in-place change: a backward that saved the weight notices


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Look up rows of `weight (num_embeddings, embedding_dim)` by the integer indices in
    `input (*)`: output `(*, embedding_dim)`."""
    what = "embedding"
    _check_tensor(input, "input", what)
    _check_tensor(weight, "weight", what)
    if input.dtype.kind not in "iu":
        raise RuntimeError(
            f"{what}: input must hold integer indices (int64 or int32), got "
            f"{_dtype.dtype_name(input.dtype)}"
        )
    if weight.ndim != 2:
        raise RuntimeError(
            f"{what}: weight must be 2-D (num_embeddings, embedding_dim), got shape "
            f"{tuple(weight.shape)}"
        )
    if sparse:
        raise NotImplementedError(
            f"{what}: sparse=True (sparse gradients) is not supported by tinyconv; the gradient "
            "is always dense"
        )
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(
                f"{what}: padding_idx must be within num_embeddings ({num}), got {padding_idx}"
            )
        padding_idx = padding_idx % num
    idx = input._data.astype(np.int64, copy=False)
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        raise IndexError(
            f"{what}: index out of range: the indices must be in [0, {num}) (the weight has "
            f"{num} rows), got min {idx.min()}, max {idx.max()}"
        )
    if max_norm is not None:
        _renorm_rows(weight, idx.ravel(), float(max_norm), float(norm_type))
    factor = _row_factor(
        idx.ravel(), num, padding_idx, bool(scale_grad_by_freq), weight._data.dtype
    )
    return Embedding.apply(weight, idx, factor)
