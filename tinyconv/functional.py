"""`tinyconv.functional`, as `torch.functional`: the module of PyTorch's functions written in
Python (einsum, meshgrid, split, norm, ...), which code reaches as `import torch.functional as
F` (the "Building Models" video tutorial does). It holds the same tinyconv functions as the
top-level names; `stft`, `istft`, `lu`, `pca_lowrank` and `svd_lowrank` are not in tinyconv."""

from __future__ import annotations

from . import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    block_diag,
    broadcast_shapes,
    broadcast_tensors,
    cartesian_prod,
    cdist,
    chain_matmul,
    einsum,
    meshgrid,
    norm,
    split,
    tensordot,
    unique,
    unique_consecutive,
    unravel_index,
)

__all__ = [
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "block_diag",
    "broadcast_shapes",
    "broadcast_tensors",
    "cartesian_prod",
    "cdist",
    "chain_matmul",
    "einsum",
    "meshgrid",
    "norm",
    "split",
    "tensordot",
    "unique",
    "unique_consecutive",
    "unravel_index",
]
