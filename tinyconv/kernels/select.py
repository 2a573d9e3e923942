"""Which indices PyTorch's CPU topk picks when values tie.

torch.topk on the CPU puts (value, index) pairs in a vector and runs the C++ standard library's
selection on it (libstdc++ here): std::partial_sort when k * 64 <= n, otherwise
std::nth_element on the k-th place followed by std::sort of the places before it. Neither is
stable, so among equal values the indices it returns depend on those algorithms' exact steps.
They are written out below as libstdc++ runs them (introselect/introsort: median-of-three
pivot, unguarded partition, insertion sort for short ranges, heap select), so that code whose
result depends on the tie-break (e.g. which of several equal weights pruning removes) gets
PyTorch's answer. Pure Python: use it only when ties matter.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Pair = tuple[float, int]
Less = Callable[[float, float], bool]


def _less(largest: bool) -> Less:
    # NaN counts as the largest value, as in PyTorch
    if largest:
        return lambda a, b: (math.isnan(a) and not math.isnan(b)) or a > b
    return lambda a, b: (not math.isnan(a) and math.isnan(b)) or a < b


def _insertion_sort(q: list[Pair], first: int, last: int, less: Less) -> None:
    for i in range(first + 1, last):
        val = q[i]
        if less(val[0], q[first][0]):
            q[first + 1 : i + 1] = q[first:i]
            q[first] = val
        else:
            _linear_insert(q, i, less)


def _linear_insert(q: list[Pair], i: int, less: Less) -> None:
    val = q[i]
    j = i - 1
    while less(val[0], q[j][0]):
        q[j + 1] = q[j]
        j -= 1
    q[j + 1] = val


def _partition_pivot(q: list[Pair], first: int, last: int, less: Less) -> int:
    """Median of (first + 1, middle, last - 1) moved to `first`, then Hoare's partition of
    [first + 1, last) around it; returns the cut."""
    a, b, c = first + 1, first + (last - first) // 2, last - 1
    va, vb, vc = q[a][0], q[b][0], q[c][0]
    if less(va, vb):
        pick = b if less(vb, vc) else (c if less(va, vc) else a)
    else:
        pick = a if less(va, vc) else (c if less(vb, vc) else b)
    q[first], q[pick] = q[pick], q[first]
    pivot = q[first][0]
    lo, hi = first + 1, last
    while True:
        while less(q[lo][0], pivot):
            lo += 1
        hi -= 1
        while less(pivot, q[hi][0]):
            hi -= 1
        if not lo < hi:
            return lo
        q[lo], q[hi] = q[hi], q[lo]
        lo += 1


def _adjust_heap(q: list[Pair], first: int, hole: int, length: int, val: Pair, less: Less) -> None:
    top = child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if less(q[first + child][0], q[first + child - 1][0]):
            child -= 1
        q[first + hole] = q[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        q[first + hole] = q[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and less(q[first + parent][0], val[0]):
        q[first + hole] = q[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    q[first + hole] = val


def _pop_heap(q: list[Pair], first: int, last: int, result: int, less: Less) -> None:
    val = q[result]
    q[result] = q[first]
    _adjust_heap(q, first, 0, last - first, val, less)


def _heap_select(q: list[Pair], first: int, middle: int, last: int, less: Less) -> None:
    """The heap [first, middle) ends up holding the middle - first best of [first, last)."""
    length = middle - first
    if length >= 2:
        for parent in range((length - 2) // 2, -1, -1):
            _adjust_heap(q, first, parent, length, q[first + parent], less)
    for i in range(middle, last):
        if less(q[i][0], q[first][0]):
            _pop_heap(q, first, middle, i, less)


def _partial_sort(q: list[Pair], first: int, middle: int, last: int, less: Less) -> None:
    _heap_select(q, first, middle, last, less)
    while middle - first > 1:  # sort_heap
        middle -= 1
        _pop_heap(q, first, middle, middle, less)


def _nth_element(q: list[Pair], nth: int, less: Less) -> None:
    first, last = 0, len(q)
    if nth == last:
        return
    depth = 2 * (last.bit_length() - 1)
    while last - first > 3:
        if depth == 0:
            _heap_select(q, first, nth + 1, last, less)
            q[first], q[nth] = q[nth], q[first]
            return
        depth -= 1
        cut = _partition_pivot(q, first, last, less)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(q, first, last, less)


def _introsort(q: list[Pair], first: int, last: int, depth: int, less: Less) -> None:
    while last - first > 16:
        if depth == 0:
            _partial_sort(q, first, last, last, less)
            return
        depth -= 1
        cut = _partition_pivot(q, first, last, less)
        _introsort(q, cut, last, depth, less)
        last = cut


def _sort(q: list[Pair], first: int, last: int, less: Less) -> None:
    if last - first < 2:
        return
    _introsort(q, first, last, 2 * ((last - first).bit_length() - 1), less)
    if last - first > 16:
        _insertion_sort(q, first, first + 16, less)
        for i in range(first + 16, last):
            _linear_insert(q, i, less)
    else:
        _insertion_sort(q, first, last, less)


def torch_topk_indices(values: np.ndarray, k: int, largest: bool = True) -> np.ndarray:
    """The indices torch.topk(values, k, largest=largest) returns for a 1-D array (sorted=True),
    ties broken as PyTorch's CPU kernel breaks them."""
    n = values.shape[0]
    if not 0 <= k <= n:
        raise ValueError(f"torch_topk_indices: k must be in [0, {n}], got {k}")
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    q: list[Pair] = list(zip(values.tolist(), range(n), strict=True))
    less = _less(largest)
    if k * 64 <= n:
        _partial_sort(q, 0, k, n, less)
    else:
        _nth_element(q, k - 1, less)
        _sort(q, 0, k - 1, less)
    return np.fromiter((i for _, i in q[:k]), dtype=np.int64, count=k)
