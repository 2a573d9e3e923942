"""Row scatter-add: `np.add.at(out, idx, rows)` for whole rows, with np.add.at's exact sums.

np.add.at adds one element at a time through a slow generic loop (8192 rows of 256 float32
onto 1000 rows: 27 ms). Here the rows are grouped by how many times their index came before
(its occurrence rank): the j-th occurrences of all indices name distinct rows, so one
fancy-indexed `out[rows_j] += g_j` adds them all, and rank by rank each output row receives
its contributions in the order np.add.at adds them, so every sum is bit-for-bit the same
(4.7 ms on that case). Indices that occur more than `_RANKS` times would make that loop long
(unless there are `_WIDE` of them or more); their remaining contributions are added by one
sequential accumulate per such index instead (np.add.accumulate adds strictly in order, unlike
np.add.reduce's pairwise sum).
"""

from __future__ import annotations

import numpy as np

_RANKS = 16  # rank passes before the heavy indices go one by one,
_WIDE = 64  # unless this many indices still have more: embedding_bag's 512 bags of 20 rows of
# 128 float32, 20 passes instead of 16 and 512 accumulates: 6.7 -> 3.2 ms


def add_rows(out: np.ndarray, idx: np.ndarray, rows: np.ndarray) -> None:
    """out[idx[i]] += rows[i] for every i, in order (as np.add.at(out, idx, rows)): out (num, ...)
    (a view is written through), idx (n,) integer in [0, num), rows (n, ...)."""
    n = idx.shape[0]
    if n == 0:
        return
    order = np.argsort(idx, kind="stable")
    count = np.bincount(idx, minlength=out.shape[0])
    uniq = np.flatnonzero(count)
    cnt = count[uniq]
    start = np.cumsum(cnt) - cnt  # where each index's run begins in `order`
    j = 0  # the rank this pass adds
    while uniq.size and (j < _RANKS or uniq.size >= _WIDE):
        out[uniq] += rows[order[start + j]]  # distinct rows: no lost updates
        j += 1
        alive = cnt > j
        uniq, cnt, start = uniq[alive], cnt[alive], start[alive]
    for r, c, s in zip(uniq.tolist(), cnt.tolist(), start.tolist(), strict=True):
        tail = rows[order[s + j : s + c]]  # a copy: safe to accumulate in place
        tail[0] += out[r]
        np.add.accumulate(tail, axis=0, out=tail)
        out[r] = tail[-1]


# -- float16 accumulation ------------------------------------------------------------------
# PyTorch's CPU kernels add float16 in float32 and round once (sums, scatter_add, the
# gradients of broadcasting, gather, index_select, repeat); NumPy's float16 adds round every
# step, so 5000 ones added into one place stop at 2048.


def wide_sum(a: np.ndarray, axis: object = None, keepdims: bool = False) -> np.ndarray:
    """np.sum(a, axis, keepdims=keepdims), float16 summed in float32 and rounded once."""
    if a.dtype != np.float16:
        return np.asarray(np.add.reduce(a, axis=axis, keepdims=keepdims))
    out = np.add.reduce(a, axis=axis, dtype=np.float32, keepdims=keepdims)
    return np.asarray(out).astype(np.float16)


def wide_add_at(out: np.ndarray, where: object, vals: object) -> None:
    """np.add.at(out, where, vals) in place; float16 `out` accumulates in float32."""
    if out.dtype != np.float16:
        np.add.at(out, where, vals)
        return
    wide = out.astype(np.float32)
    np.add.at(wide, where, vals)
    out[...] = wide


def wide_add_rows(out: np.ndarray, idx: np.ndarray, rows: np.ndarray) -> None:
    """add_rows(out, idx, rows); float16 `out` accumulates in float32."""
    if out.dtype != np.float16:
        add_rows(out, idx, rows)
        return
    wide = out.astype(np.float32)
    add_rows(wide, idx, rows.astype(np.float32))
    out[...] = wide
