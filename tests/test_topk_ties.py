"""topk picks PyTorch's indices among equal values (and so sends the gradient to the elements
PyTorch's does), along any dim, largest or smallest, NaN included."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyconv
from tinyconv.kernels import select

pytestmark = pytest.mark.torch


@st.composite
def tie_heavy(draw):
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=1, max_size=3)))
    seed = draw(st.integers(0, 2**16))
    levels = draw(st.integers(1, 4))  # few distinct values: many ties
    rng = np.random.default_rng(seed)
    x = rng.integers(0, levels, shape).astype(np.float64)
    if draw(st.booleans()):
        x[rng.random(shape) < 0.2] = np.nan
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    k = draw(st.integers(0, shape[dim]))
    return x, dim, k, draw(st.booleans())


@given(case=tie_heavy(), sorted_=st.booleans())
def test_topk_indices_and_gradient_match_torch(case, sorted_):
    """sorted=False too: PyTorch then returns the k in std::nth_element's arrangement."""
    torch = pytest.importorskip("torch")
    x, dim, k, largest = case
    t = torch.tensor(x, requires_grad=True)
    c = tinyconv.tensor(x, requires_grad=True)
    want, got = t.topk(k, dim, largest, sorted_), c.topk(k, dim, largest, sorted_)
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    np.testing.assert_array_equal(got.values.detach().numpy(), want.values.detach().numpy())
    want.values.nan_to_num().sum().backward()
    got.values.nan_to_num().sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())


def test_long_rows_take_partial_sort_like_torch():
    torch = pytest.importorskip("torch")
    x = np.zeros((2, 300))
    x[1, ::7] = 1.0
    for k in (
        1,
        3,
        4,
        5,
    ):  # k * 64 <= n: PyTorch's partial_sort; above: nth_element + sort
        want = torch.tensor(x).topk(k).indices.numpy()
        np.testing.assert_array_equal(tinyconv.tensor(x).topk(k).indices.numpy(), want)


def test_batched_selection_matches_the_python_reference():
    """select.torch_topk_order (partitions of all rows at once, one shared run for rows of
    equal values) leaves what the element-by-element libstdc++ steps of
    select.torch_topk_indices leave, and torch agrees, on rows long enough to recurse."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, (4, 400)).astype(np.float64)
    x[1] = 2.0
    x[2] = rng.standard_normal(400)
    x[3, rng.random(400) < 0.1] = np.nan
    for largest in (True, False):
        keys, _ = select.sort_keys(x, descending=largest)
        for k in (
            1,
            2,
            6,
            7,
            50,
            400,
        ):  # 6: partial_sort (k * 64 <= n); 7 on: nth_element
            got = select.torch_topk_order(keys, k)
            want = torch.tensor(x).topk(k, largest=largest).indices.numpy()
            np.testing.assert_array_equal(got, want)
            for r in range(4):
                np.testing.assert_array_equal(got[r], select.torch_topk_indices(x[r], k, largest))


# -- the partition fast path ------------------------------------------------------------------


def _plain_topk(x: np.ndarray, dim: int, k: int, largest: bool, sorted_: bool) -> np.ndarray:
    """topk's indices the plain way: every row's stable order, ties through select.py."""
    from tinyconv._tensor_math import _stable_order, _torch_tie_order

    d = dim % x.ndim
    return _torch_tie_order(x, _stable_order(x, d, largest), d, k, largest, sorted_)


def _mixed_rows(rng, rows: int, n: int, dtype: str) -> np.ndarray:
    """Rows of distinct values, of ties at and inside the top, NaN (one or several), -0.0 next
    to 0.0, inf, and rows of one value."""
    x = rng.standard_normal((rows, n)) * 10
    for r in range(rows):
        kind = r % 8
        if kind == 1:
            x[r] = rng.integers(0, 5, n)
        elif kind == 2:
            x[r, rng.integers(0, n)] = np.nan
        elif kind == 3:
            x[r, rng.integers(0, n, 3)] = np.nan
        elif kind == 4:
            x[r, :2] = [-0.0, 0.0]
            x[r, 2:] = -np.abs(x[r, 2:]) - 1
        elif kind == 5:
            x[r, rng.integers(0, n, 2)] = np.inf
            x[r, rng.integers(0, n, 2)] = -np.inf
        elif kind == 6:
            x[r] = 7.0
        elif kind == 7:
            x[r, rng.permutation(n)[:4]] = x[r].max()  # a tie at the very top
    if dtype.startswith("int"):
        x = np.nan_to_num(x, nan=3, posinf=100, neginf=-100)
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "float16"])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_partition_path_matches_the_plain_path_and_torch(dtype, largest):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = _mixed_rows(rng, 40, 70, dtype)
    for k in (1, 2, 5, 10, 68, 69):
        for sorted_ in (True, False):
            for arr, dim in ((x, 1), (x.T, 0), (x[:, ::-2], -1), (np.asfortranarray(x), 1)):
                if k > arr.shape[dim]:
                    continue
                got = tinyconv.tensor(arr).topk(k, dim, largest, sorted_)
                plain = _plain_topk(arr, dim, k, largest, sorted_)
                np.testing.assert_array_equal(got.indices.numpy(), plain)
                assert got.indices.numpy().dtype == np.int64
                if dtype != "float16":
                    want = torch.tensor(arr.copy()).topk(k, dim, largest, sorted_)
                    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
                    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())


def test_topk_partition_flags_the_rows_it_cannot_decide():
    """The fast path itself: exact on rows of distinct values, and flags (for the plain path)
    exactly the rows whose top k + 1 hold equal values."""
    from tinyconv._tensor_math import _topk_partition

    x = np.array(
        [
            [5.0, 1.0, 4.0, 2.0, 3.0],
            [5.0, 5.0, 4.0, 2.0, 3.0],  # tie inside the top 2
            [5.0, 1.0, 4.0, 4.0, 3.0],  # tie at the edge (2nd and 3rd)
            [5.0, 4.0, 1.0, 1.0, 3.0],  # ties below the top 3: decided
            [np.nan, 1.0, 4.0, 2.0, 3.0],  # NaN is the largest
            [np.nan, np.nan, 4.0, 2.0, 3.0],
            [-0.0, 0.0, -4.0, -2.0, -3.0],
        ]
    )
    idx, redo = _topk_partition(x, 1, 2, True)
    assert redo.tolist() == [False, True, True, False, False, True, True]
    np.testing.assert_array_equal(idx[~redo], [[0, 2], [0, 1], [0, 2]])
    idx, redo = _topk_partition(x, 1, 2, False)
    # row 2: two 4s share the 3rd place (the threshold); flagged though its top 2 is decided
    assert redo.tolist() == [False, False, True, True, False, False, False]
    np.testing.assert_array_equal(idx[~redo], [[1, 3], [3, 4], [1, 3], [3, 4], [2, 4]])
