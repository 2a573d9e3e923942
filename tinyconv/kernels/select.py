"""Which indices PyTorch's CPU topk picks when values tie.

torch.topk on the CPU puts (value, index) pairs in a vector and runs the C++ standard library's
selection on it (libstdc++ here): std::partial_sort when k * 64 <= n, otherwise
std::nth_element on the k-th place followed by std::sort of the places before it. Neither is
stable, so among equal values the indices it returns depend on those algorithms' exact steps.
They are written out below as libstdc++ runs them (introselect/introsort: median-of-three
pivot, unguarded partition, insertion sort for short ranges, heap select), so that code whose
result depends on the tie-break (e.g. which of several equal weights pruning removes) gets
PyTorch's answer. Pure Python: use it only when ties matter.

The other selections follow the same idea, each with the algorithm PyTorch's CPU kernel runs
(checked against torch 2.13 on tie-heavy inputs):

- sort (stable=False) is std::sort with a NaN-last comparator: introsort's partitions until
  every range is at most 16 long, then one insertion sort over the whole row. An insertion
  sort is stable, so the result is the stable sort of the arrangement the partitions leave;
  `sort_order` runs those partitions on every range of every row at once in NumPy (integer
  keys in place of the values), so a tied row costs a few dozen array passes, not a Python
  loop per element. Rows of at most 16 elements, and rows without equal values, are just the
  stable order.
- kthvalue is the quickselect of Sedgewick's 1978 paper (`torch_kthvalue_index`).
- median with dim orders (value, index) pairs, so its answer is the stable order's; nanmedian
  of a row that is all NaN is where std::nth_element leaves index 0 of n equivalent elements
  (`nth_of_equal`).
- mode std::sorts (value, index) pairs by value with a plain `<` (NaN compares false) and
  takes the last pair of the first longest run (`torch_mode_index`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

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


# -- batched std::sort: every range of every row partitioned at once -------------------------


def sort_keys(x: np.ndarray, descending: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(keys, tied) for a 2-D array (rows, n): integer keys ordered as PyTorch's sort comparator
    orders the values along axis 1 (NaN after everything when ascending, before when
    descending; -0.0 equal to 0.0, NaN equal to NaN), and which rows hold equal values."""
    order = np.argsort(x, axis=1, kind="stable")
    s = np.take_along_axis(x, order, 1)
    new = s[:, 1:] != s[:, :-1]
    if x.dtype.kind == "f":
        new &= ~(np.isnan(s[:, 1:]) & np.isnan(s[:, :-1]))
    cls = np.zeros(x.shape, dtype=np.int64)
    np.cumsum(new, axis=1, out=cls[:, 1:])
    keys = np.empty_like(cls)
    np.put_along_axis(keys, order, -cls if descending else cls, 1)
    return keys, ~new.all(axis=1)


def _swap(key: np.ndarray, perm: np.ndarray, i: np.ndarray, j: np.ndarray) -> None:
    """Swap positions i[t] and j[t] for every t (all i and j distinct, or i[t] == j[t])."""
    ki, pi = key[i], perm[i]
    key[i], perm[i] = key[j], perm[j]
    key[j], perm[j] = ki, pi


def _partition_ranges(key: np.ndarray, perm: np.ndarray, start: np.ndarray, end: np.ndarray):
    """libstdc++'s unguarded partition with a median-of-three pivot (`_partition_pivot` above),
    run on every range [start[s], end[s]) of the flat arrays at once (each longer than 3); returns
    the cuts. Hoare's two scans meet in a way that can be read off the original range: the
    t-th swap exchanges the t-th position from the left holding a key >= pivot (A[t]) with the
    t-th from the right holding one <= pivot (B[t]), while A[t] < B[t]; at the first t where
    not, the left scan stops at A[t], or at B[t-1] (which then holds a swapped key >= pivot)
    if it comes first."""
    nseg = start.size
    a, b, c = start + 1, start + (end - start) // 2, end - 1
    ka, kb, kc = key[a], key[b], key[c]
    pick = np.where(
        ka < kb,
        np.where(kb < kc, b, np.where(ka < kc, c, a)),
        np.where(ka < kc, a, np.where(kb < kc, c, b)),
    )
    _swap(key, perm, start, pick)
    pivot = key[start]
    # every position of the ranges, labelled with its range: the ranges are disjoint, so in
    # order of their starts one running count over the span they cover labels it
    o = np.argsort(start)
    lo, hi = start[o[0]], end[o[-1]]
    label = np.cumsum(np.bincount(start[o] - lo, minlength=hi - lo + 1)[: hi - lo]) - 1
    seg = o[label]
    pos = np.arange(lo, hi)
    kp = key[lo:hi]
    inside = pos < end[seg]  # (gaps between ranges belong to none)
    pv = pivot[seg]
    fb = inside & (kp <= pv)
    fa = inside & (kp >= pv)
    fa[start - lo] = False
    A, B = np.flatnonzero(fa) + lo, np.flatnonzero(fb) + lo
    nA, nB = np.bincount(seg[fa], minlength=nseg), np.bincount(seg[fb], minlength=nseg)
    # where each range's A and B begin (they come in order of the starts); B read from its end
    startA, endB = np.empty_like(nA), np.empty_like(nB)
    startA[o], endB[o] = np.cumsum(nA[o]) - nA[o], np.cumsum(nB[o]) - 1
    npair = np.minimum(nA, nB)
    pseg = np.repeat(np.arange(nseg), npair)
    t = np.arange(npair.sum()) - np.repeat(np.cumsum(npair) - npair, npair)
    At, Bt = A[startA[pseg] + t], B[endB[pseg] - t]
    do = At < Bt  # true for t below the first crossing, false from it on (A rises, B falls)
    m = np.bincount(pseg[do], minlength=nseg)  # the swaps (each range crosses: B ends at start)
    _swap(key, perm, At[do], Bt[do])
    a_m = np.where(m < nA, A[startA + np.minimum(m, nA - 1)], np.iinfo(np.int64).max)
    b_prev = B[endB - np.maximum(m - 1, 0)]
    return np.where((m == 0) | (a_m < b_prev), a_m, b_prev)


def _heap_sort_range(key: np.ndarray, perm: np.ndarray, first: int, last: int) -> None:
    """std::partial_sort(first, last, last): introsort's fallback when a range recursed too
    deep (the pure-Python heap above, on this range only)."""
    q = list(zip(key[first:last].tolist(), perm[first:last].tolist(), strict=True))
    _partial_sort(q, 0, len(q), len(q), lambda u, v: u < v)
    key[first:last] = [k for k, _ in q]
    perm[first:last] = [i for _, i in q]


def sort_order(keys: np.ndarray) -> np.ndarray:
    """The permutation std::sort leaves on each row of `keys` (rows, n), i.e. the indices
    torch.sort returns (stable=False) for the values the keys stand for (see `sort_keys`)."""
    rows, n = keys.shape
    key = keys.reshape(-1).copy()
    perm = np.tile(np.arange(n, dtype=np.int64), rows)
    if n > 16:
        start = np.arange(rows, dtype=np.int64) * n
        end, depth = start + n, np.full(rows, 2 * (n.bit_length() - 1))
        while start.size:
            long = end - start > 16
            start, end, depth = start[long], end[long], depth[long]
            for s in np.flatnonzero(depth == 0):  # (not reached by ties: they split evenly)
                _heap_sort_range(key, perm, int(start[s]), int(end[s]))
            start, end, depth = start[depth > 0], end[depth > 0], depth[depth > 0]
            if start.size:
                cut = _partition_ranges(key, perm, start, end)
                start, end, depth = np.r_[start, cut], np.r_[cut, end], np.r_[depth - 1, depth - 1]
    # the closing insertion sort: stable, so the stable sort of the arrangement left
    key, perm = key.reshape(rows, n), perm.reshape(rows, n)
    return np.take_along_axis(perm, np.argsort(key, axis=1, kind="stable"), 1)


def torch_sort_indices(x: np.ndarray, descending: bool = False) -> np.ndarray:
    """The indices torch.sort(x, dim=1, descending=descending) returns for a 2-D array
    (stable=False), ties broken as PyTorch's CPU kernel breaks them."""
    keys, tied = sort_keys(x, descending)
    order = np.argsort(keys, axis=1, kind="stable")
    if x.shape[1] > 16 and tied.any():
        equal = tied & (keys.min(1) == keys.max(1))
        if equal.any():  # rows of one value: one shared run
            order[equal] = _sort_equal(x.shape[1])
        tied &= ~equal
        if tied.any():
            order[tied] = sort_order(keys[tied])
    return order


@lru_cache(maxsize=256)
def _sort_equal(n: int) -> tuple:
    """std::sort's permutation of n equal values (the same for every such row)."""
    return tuple(sort_order(np.zeros((1, n), np.int64))[0].tolist())


# -- kthvalue, median, mode -------------------------------------------------------------------


def _quickselect(v: list, k: int) -> int:
    """The original index that Sedgewick's quickselect (median-of-three pivot, as PyTorch's CPU
    kthvalue runs it) leaves at place k of v (larger-is-later keys)."""
    ix = list(range(len(v)))

    def swap(i: int, j: int) -> None:
        v[i], v[j] = v[j], v[i]
        ix[i], ix[j] = ix[j], ix[i]

    lo, hi = 0, len(v) - 1
    while hi > lo:
        if hi == lo + 1:
            if v[lo] > v[hi]:
                swap(lo, hi)
            break
        swap((lo + hi) >> 1, lo + 1)
        if v[lo + 1] > v[hi]:
            swap(lo + 1, hi)
        if v[lo] > v[hi]:
            swap(lo, hi)
        if v[lo + 1] > v[lo]:
            swap(lo + 1, lo)
        i, j, piv = lo + 1, hi, v[lo]
        while True:
            i += 1
            while piv > v[i]:
                i += 1
            j -= 1
            while v[j] > piv:
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(lo, j)
        if j <= k:
            lo = i
        if j >= k:
            hi = j - 1
    return ix[k]


@lru_cache(maxsize=256)
def _quickselect_equal(n: int, k: int) -> int:
    return _quickselect([0] * n, k)


def torch_kthvalue_index(x: np.ndarray, k: int) -> np.ndarray:
    """The indices torch.kthvalue(x, k, dim=1) returns for a 2-D array (rows, n), k from 1.
    Where the k-th value occurs once the stable order already names it; only rows where it
    ties go through the quickselect (one cached run for rows that are all one value)."""
    keys, _ = sort_keys(x)
    order = np.argsort(keys, axis=1, kind="stable")
    out = order[:, k - 1].copy()
    kth = keys[np.arange(x.shape[0]), out]
    tied = (keys == kth[:, None]).sum(1) > 1
    for r in np.flatnonzero(tied):
        if keys[r].min() == keys[r].max():
            out[r] = _quickselect_equal(x.shape[1], k - 1)
        else:
            out[r] = _quickselect(keys[r].tolist(), k - 1)
    return out


@lru_cache(maxsize=256)
def nth_of_equal(n: int, nth: int) -> int:
    """The original index std::nth_element leaves at place nth of n equivalent elements."""
    q: list[Pair] = [(0.0, i) for i in range(n)]
    _nth_element(q, nth, lambda a, b: False)
    return q[nth][1]


def nth_element_value(values: np.ndarray, nth: int, ignore_nan: bool) -> float:
    """The value std::nth_element leaves at place nth of a 1-D array (torch.median and
    nanmedian without dim): equal to the sorted array's, but which of 0.0 and -0.0 it is
    depends on the algorithm's steps."""
    if ignore_nan:

        def less(a: float, b: float) -> bool:
            return a < b or (math.isnan(b) and not math.isnan(a))
    else:

        def less(a: float, b: float) -> bool:
            return a < b

    q: list[Pair] = list(zip(values.tolist(), range(values.size), strict=True))
    _nth_element(q, nth, less)
    return q[nth][0]


def torch_mode_index(x: np.ndarray) -> np.ndarray:
    """The indices torch.mode(x, dim=1) returns for a 2-D array (rows, n): after std::sort of
    (value, index) pairs by value alone, the last pair of the first run (equal neighbours,
    compared with !=, so each NaN is a run of its own) longer than every earlier one."""
    rows, n = x.shape
    out = np.zeros(rows, dtype=np.int64)
    nan = np.isnan(x).any(1) if x.dtype.kind == "f" else np.zeros(rows, bool)
    keys, _ = sort_keys(x)
    ok = ~nan
    if ok.any():
        k = keys[ok]
        order = sort_order(k) if n > 16 else np.argsort(k, axis=1, kind="stable")
        s = np.take_along_axis(k, order, 1)
        # run lengths: the position of each element within its run, read at the run's end
        ends = np.ones(s.shape, bool)
        ends[:, :-1] = s[:, 1:] != s[:, :-1]
        brk = np.ones(s.shape, bool)
        brk[:, 1:] = ends[:, :-1]
        start = np.maximum.accumulate(np.where(brk, np.arange(n), 0), axis=1)
        length = np.where(ends, np.arange(n) - start + 1, 0)
        last = np.argmax(length, axis=1)  # the first longest run's end
        out[ok] = order[np.arange(order.shape[0]), last]
    for r in np.flatnonzero(nan):
        less: Less = lambda a, b: a < b  # noqa: E731 (NaN compares false, as in C++)
        q: list[Pair] = list(zip(x[r].tolist(), range(n), strict=True))
        _sort(q, 0, n, less)
        best, run, pick = 0, 0, 0
        for i in range(n):
            run += 1
            if i == n - 1 or q[i][0] != q[i + 1][0]:
                if run > best:
                    best, pick = run, q[i][1]
                run = 0
        out[r] = pick
    return out


def _sort_short_ranges(key: np.ndarray, perm: np.ndarray, start: np.ndarray, end: np.ndarray):
    """A stable sort of each range [start[s], end[s]) of at most 3 elements (the insertion
    sort introselect ends with), all ranges at once."""
    pos = start[:, None] + np.arange(3)
    inside = pos < end[:, None]
    pos = np.where(inside, pos, start[:, None])
    k = np.where(inside, key[pos], np.iinfo(np.int64).max)  # padding sorts after
    o = np.argsort(k, axis=1, kind="stable")
    src = np.take_along_axis(pos, o, 1)[inside]
    dst = pos[inside]  # (the padding stays last, so the kept places are the first ones)
    key[dst], perm[dst] = key[src], perm[src]


def nth_element_order(keys: np.ndarray, nth: int) -> np.ndarray:
    """The arrangement std::nth_element(first, first + nth, last) leaves on each row of `keys`
    (rows, n) (introselect: the partitions above until the range holding nth is at most 3
    long, then an insertion sort of it), all rows at once."""
    rows, n = keys.shape
    key = keys.reshape(-1).copy()
    perm = np.tile(np.arange(n, dtype=np.int64), rows)
    start = np.arange(rows, dtype=np.int64) * n
    end, target = start + n, start + nth
    depth = 2 * (n.bit_length() - 1)
    while start.size:
        short = end - start <= 3
        if short.any():
            _sort_short_ranges(key, perm, start[short], end[short])
            start, end, target = start[~short], end[~short], target[~short]
        if not start.size:
            break
        if depth == 0:  # too deep: libstdc++'s heap select (pure Python, per range)
            for s, e, t in zip(start.tolist(), end.tolist(), target.tolist(), strict=True):
                q = list(zip(key[s:e].tolist(), perm[s:e].tolist(), strict=True))
                _heap_select(q, 0, t - s + 1, e - s, lambda u, v: u < v)
                q[0], q[t - s] = q[t - s], q[0]
                key[s:e], perm[s:e] = [a for a, _ in q], [b for _, b in q]
            break
        depth -= 1
        cut = _partition_ranges(key, perm, start, end)
        right = cut <= target
        start, end = np.where(right, cut, start), np.where(right, end, cut)
    return perm.reshape(rows, n)


def _partial_sort_keys(keys: list, k: int) -> list:
    q = list(zip(keys, range(len(keys)), strict=True))
    _partial_sort(q, 0, k, len(q), lambda u, v: u < v)
    return [i for _, i in q[:k]]


def _topk_rows(keys: np.ndarray, k: int, sorted: bool) -> np.ndarray:
    rows, n = keys.shape
    if k * 64 <= n:
        return np.array([_partial_sort_keys(r, k) for r in keys.tolist()], np.int64)
    perm = nth_element_order(keys, k - 1)[:, :k]
    if sorted and k > 2:
        head = np.take_along_axis(keys, perm[:, : k - 1], 1)
        perm[:, : k - 1] = np.take_along_axis(perm[:, : k - 1], sort_order(head), 1)
    return perm


@lru_cache(maxsize=256)
def _topk_equal(n: int, k: int, sorted: bool) -> tuple:
    """topk's indices for a row of n equal values: computed once, shared by every such row
    (e.g. the rows of zeros in a pruning mask)."""
    return tuple(_topk_rows(np.zeros((1, n), np.int64), k, sorted)[0].tolist())


def torch_topk_order(keys: np.ndarray, k: int, sorted: bool = True) -> np.ndarray:
    """The k indices torch.topk returns on each row of `keys` (rows, n), keys ordered best
    first (see `sort_keys`): std::partial_sort when k * 64 <= n (pure Python per row: its
    heap walks differ row by row), otherwise std::nth_element on place k - 1 and, when
    `sorted`, std::sort of the places before it (both batched over the rows)."""
    rows, n = keys.shape
    out = np.zeros((rows, k), dtype=np.int64)
    if k == 0 or rows == 0:
        return out
    equal = keys.min(1) == keys.max(1)
    if equal.any():
        out[equal] = _topk_equal(n, k, sorted)
    if not equal.all():
        out[~equal] = _topk_rows(keys[~equal], k, sorted)
    return out
