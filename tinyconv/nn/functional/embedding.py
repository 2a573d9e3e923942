"""embedding: rows of a weight matrix picked by integer indices (a lookup table); embedding_bag:
those rows summed, averaged or maxed per bag of indices.

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
from ..._errors import TensorValueError
from ...autograd import grad_mode
from ...autograd.ops import Op
from ...kernels.scatter import add_rows
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
    add_rows(out, idx, g)  # an index may repeat: its contributions add (np.add.at's sums)
    return out


def _gather_rows(w: np.ndarray, idx: np.ndarray, factor: Any, shape: tuple) -> np.ndarray:
    rows = w[idx]
    if factor is not None:
        rows = rows * factor[:, None]
    return rows.reshape(shape + (w.shape[-1],))


class Embedding(Op):
    torch_saves = True  # (PyTorch's node saves tensors: see Function.torch_saves)
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
    shape. Its backward picks rows again (0 at padding_idx, but not divided by the counts)."""

    torch_name = "EmbeddingDenseBackwardBackward0"
    next_functions_count = 1

    @staticmethod
    def forward(ctx, g, idx, factor, num):
        ctx.idx, ctx.factor, ctx.shape = idx, factor, g.shape[:-1]
        return _scatter_rows(g.reshape(-1, g.shape[-1]), idx, factor, num)

    @staticmethod
    def backward(ctx, grad):
        return _gather_rows(grad, ctx.idx, _padding_only(ctx.factor), ctx.shape), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        factor = _padding_only(ctx.factor)
        return EmbeddingRows.apply(grad, ctx.idx, factor, ctx.shape), None, None, None


def _padding_only(factor: Any) -> Any:
    """The backward's factors less scale_grad_by_freq's 1 / count: 0 at padding_idx, else 1.

    PyTorch's double backward of embedding (embedding_dense_double_backward) picks the rows
    unscaled, so the count divides once, in the first backward (and the second derivative
    is the true derivative of that first gradient)."""
    if factor is None or factor.all():
        return None
    return (factor != 0).astype(factor.dtype)


class EmbeddingRows(Op):
    """Rows picked with factors (the padding mask): the adjoint of EmbeddingDenseBackward."""

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
            # (PyTorch's functional asserts this: AssertionError, "Padding_idx must be ...")
            raise AssertionError(
                f"Padding_idx must be within num_embeddings ({what}: {num} rows, got "
                f"padding_idx={padding_idx})"
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


def _bags(input: Tensor, offsets: Any, include_last_offset: bool, what: str) -> tuple:
    """(flat indices (M,), bag of each (M,), number of bags): input 2-D (B, L) is B bags of L;
    1-D input is cut at `offsets` (bag b runs offsets[b]:offsets[b + 1], the last to the end,
    or with include_last_offset offsets' last entry is the end)."""
    if input.ndim == 2:
        if offsets is not None:
            raise TensorValueError(
                f"{what}: with 2-D input (bags of equal length) offsets must be None, got "
                f"{type(offsets).__name__}"
            )
        B, L = input.shape
        return input._data.reshape(-1), np.repeat(np.arange(B), L), B
    if input.ndim != 1:
        raise TensorValueError(
            f"{what}: input must be 1-D (with offsets) or 2-D (B, L), got shape "
            f"{tuple(input.shape)}"
        )
    if offsets is None:
        raise TensorValueError(f"{what}: 1-D input needs offsets (a 1-D tensor of bag starts)")
    _check_tensor(offsets, "offsets", what)
    if offsets.ndim != 1:
        raise TensorValueError(f"{what}: offsets must be 1-D, got shape {tuple(offsets.shape)}")
    if offsets.dtype.kind not in "iu":
        raise RuntimeError(
            f"{what}: offsets must be int64 or int32, got {_dtype.dtype_name(offsets.dtype)}"
        )
    off = offsets._data.astype(np.int64)
    M = input.shape[0]
    if off.size and off[0] != 0:
        raise RuntimeError(
            f"{what}: offsets[0] must be 0 (the first bag starts the input), got {off[0]}"
        )
    if off.size and off[-1] > M:
        raise RuntimeError(f"{what}: offsets[-1] ({off[-1]}) must not exceed input's length ({M})")
    if np.any(np.diff(off) < 0):
        raise RuntimeError(f"{what}: offsets must be non-decreasing, got {off.tolist()}")
    ends = off if include_last_offset else np.append(off, M)
    B = max(ends.size - 1, 0)
    bag = np.full(M, -1, dtype=np.int64)  # entries past include_last_offset's end: no bag
    if B:  # bag b repeated over its run of entries (one call, not a Python loop over bags)
        bag[: ends[B]] = np.repeat(np.arange(B), np.diff(ends[: B + 1]))
    return input._data, bag, B


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """The rows of `weight (num, D)` named by each bag of indices, reduced by `mode` ('sum',
    'mean', 'max'): output (B, D). Entries equal to padding_idx are left out (an empty bag
    gives zeros); per_sample_weights (mode 'sum' only) scales each entry's row."""
    what = "embedding_bag"
    _check_tensor(input, "input", what)
    _check_tensor(weight, "weight", what)
    if mode not in ("sum", "mean", "max"):
        raise TensorValueError(f"{what}: mode must be 'sum', 'mean' or 'max', got {mode!r}")
    if input.dtype.kind not in "iu":
        raise RuntimeError(
            f"{what}: input must hold integer indices (int64 or int32), got "
            f"{_dtype.dtype_name(input.dtype)}"
        )
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                f"{what}: per_sample_weights is only supported for mode='sum' (as in PyTorch), "
                f"got mode={mode!r}"
            )
        _check_tensor(per_sample_weights, "per_sample_weights", what)
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise TensorValueError(
                f"{what}: per_sample_weights of shape {tuple(per_sample_weights.shape)} must "
                f"have input's shape {tuple(input.shape)}"
            )
        if per_sample_weights.dtype != weight.dtype:
            raise RuntimeError(
                f"{what}: per_sample_weights has dtype "
                f"{_dtype.dtype_name(per_sample_weights.dtype)} but weight has "
                f"{_dtype.dtype_name(weight.dtype)}"
            )
    if scale_grad_by_freq:
        raise NotImplementedError(
            f"{what}: scale_grad_by_freq=True is not supported by tinyconv (PyTorch 2.13's "
            "counts for it do not follow the documented rule)"
        )
    idx, bag, B = _bags(input, offsets, include_last_offset, what)
    num = weight.shape[0] if weight.ndim == 2 else 0
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise RuntimeError(
                f"{what}: padding_idx must be within num_embeddings [-{num}, {num}), got "
                f"{padding_idx}"
            )
        padding_idx %= num
    if max_norm is not None:
        # every row the input names is renormalised in place, the padding row and entries
        # past include_last_offset's end included, as in PyTorch (and F.embedding)
        if idx.size and (idx.min() < 0 or idx.max() >= num):
            raise IndexError(
                f"{what}: index out of range: the indices must be in [0, {num}), got min "
                f"{idx.min()}, max {idx.max()}"
            )
        _renorm_rows(weight, idx.astype(np.int64, copy=False), float(max_norm), float(norm_type))
    keep = bag >= 0 if padding_idx is None else (bag >= 0) & (idx != padding_idx)
    pos = np.flatnonzero(keep)
    rows = embedding(
        Tensor._make(idx[pos], None, False), weight, None, None, norm_type, False, sparse
    )  # (K, D)
    D = weight.shape[1]
    kept_bag = bag[pos]
    if per_sample_weights is not None:
        kept = per_sample_weights.reshape(-1).index_select(0, Tensor._make(pos, None, False))
        rows = rows * kept.unsqueeze(1)
    zero = Tensor._make(np.zeros((B, D), dtype=weight._data.dtype), None, False)
    if mode == "max" and pos.size:
        # each bag's maximum per column: NumPy finds the first entry holding it (the bags are
        # consecutive runs of entries), a gather takes it, so the gradient goes there.
        # PyTorch's scan keeps the first entry and takes a later one only if greater, so a NaN
        # wins only as the first entry: later NaNs count as -inf here
        bounds = np.searchsorted(kept_bag, np.arange(B + 1))
        first = np.zeros((B, D), dtype=np.int64)
        r = rows._data.copy()
        later = np.ones(r.shape[0], dtype=bool)
        later[bounds[:-1][bounds[:-1] < r.shape[0]]] = False
        r[np.isnan(r) & later[:, None]] = -np.inf
        for b in np.flatnonzero(bounds[1:] > bounds[:-1]):
            first[b] = bounds[b] + np.argmax(r[bounds[b] : bounds[b + 1]], axis=0)
        empty = (bounds[1:] == bounds[:-1])[:, None]
        out = rows.gather(0, Tensor._make(first, None, False))
        out = out.masked_fill(Tensor._make(empty, None, False), 0.0)  # an empty bag gives 0
    else:  # (max with no entries at all: every bag is empty, zeros)
        out = zero.index_add(0, Tensor._make(kept_bag, None, False), rows)
        if mode == "mean":
            counts = np.maximum(np.bincount(kept_bag, minlength=B), 1)
            out = out / Tensor._make(counts[:, None].astype(weight._data.dtype), None, False)
    if out.grad_fn is not None:
        out.grad_fn.torch_name = "EmbeddingBagBackward0"
    return out
