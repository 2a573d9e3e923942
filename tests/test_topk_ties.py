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
