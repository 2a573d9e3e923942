"""topk picks PyTorch's indices among equal values (and so sends the gradient to the elements
PyTorch's does), along any dim, largest or smallest, NaN included."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyconv

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


@given(case=tie_heavy())
def test_topk_indices_and_gradient_match_torch(case):
    torch = pytest.importorskip("torch")
    x, dim, k, largest = case
    t = torch.tensor(x, requires_grad=True)
    c = tinyconv.tensor(x, requires_grad=True)
    want, got = t.topk(k, dim, largest), c.topk(k, dim, largest)
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    np.testing.assert_array_equal(got.values.detach().numpy(), want.values.detach().numpy())
    want.values.nan_to_num().sum().backward()
    got.values.nan_to_num().sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())


def test_long_rows_take_partial_sort_like_torch():
    torch = pytest.importorskip("torch")
    x = np.zeros((2, 300))
    x[1, ::7] = 1.0
    for k in (1, 3, 4, 5):  # k * 64 <= n: PyTorch's partial_sort; above: nth_element + sort
        want = torch.tensor(x).topk(k).indices.numpy()
        np.testing.assert_array_equal(tinyconv.tensor(x).topk(k).indices.numpy(), want)
