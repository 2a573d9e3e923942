"""Ops that return indices (or send the gradient to one element) pick the element PyTorch's
CPU kernel picks among equal values: sort/argsort/msort (std::sort past 16 elements),
kthvalue (quickselect), median/nanmedian (with and without dim), mode, unique. Compared with
torch on tie-heavy inputs (few distinct values, NaN, -0.0, inf): indices, values (sign of
zero included) and gradients, float32 and float64 and integer dtypes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyconv
from tests.strategies import tie_heavy_arrays
from tinyconv.kernels import select

pytestmark = pytest.mark.torch

DTYPES = ("float32", "float64")


def _same(got, want, zero_sign: bool = True) -> None:
    g, w = np.asarray(got), np.asarray(want)
    assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
    np.testing.assert_array_equal(g, w)
    if g.dtype.kind == "f" and zero_sign:  # -0.0 and 0.0 are different answers here
        keep = ~np.isnan(w)
        np.testing.assert_array_equal(np.signbit(g[keep]), np.signbit(w[keep]))


def _compare(op, x: np.ndarray, dtype: str, grad: bool = True, grad_zero_sign: bool = True) -> None:
    """Run op(module, tensor) in both libraries; compare every output and, for floats, the
    gradient of a fixed weighting of the first output (NaN outputs weighted 0); the sign of
    the gradient's zeros too unless `grad_zero_sign` is False."""
    torch = pytest.importorskip("torch")
    t = torch.tensor(x.astype(dtype), requires_grad=grad)
    c = tinyconv.tensor(x.astype(dtype), requires_grad=grad)
    want, got = op(torch, t), op(tinyconv, c)
    want = want if isinstance(want, tuple) else (want,)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        _same(g.detach().numpy(), w.detach().numpy())
    if grad and want[0].requires_grad:
        weights = np.arange(1, want[0].numel() + 1, dtype=dtype).reshape(tuple(want[0].shape))
        (want[0].nan_to_num(0.0, 1e3, -1e3) * torch.tensor(weights)).sum().backward()
        (got[0].nan_to_num(0.0, 1e3, -1e3) * tinyconv.tensor(weights)).sum().backward()
        _same(c.grad.numpy(), t.grad.numpy(), grad_zero_sign)


@given(case=tie_heavy_arrays(), descending=st.booleans(), stable=st.booleans())
def test_sort_and_argsort_match_torch(case, descending, stable):
    x, dim = case
    for dtype in DTYPES:
        _compare(lambda m, a: m.sort(a, dim=dim, descending=descending, stable=stable), x, dtype)
        _compare(
            lambda m, a: m.argsort(a, dim=dim, descending=descending, stable=stable),
            x,
            dtype,
            False,
        )
    _compare(lambda m, a: m.msort(a), x, "float32")


@given(case=tie_heavy_arrays(nan=False), descending=st.booleans())
def test_sort_integer_dtypes_match_torch(case, descending):
    x, dim = case
    for dtype in ("int64", "int32", "uint8"):
        _compare(lambda m, a: m.sort(a, dim, descending=descending), x, dtype, False)


@given(case=tie_heavy_arrays(), data=st.data(), keepdim=st.booleans())
def test_kthvalue_matches_torch(case, data, keepdim):
    x, dim = case
    k = data.draw(st.integers(1, x.shape[dim]))
    for dtype in DTYPES:
        _compare(lambda m, a: m.kthvalue(a, k, dim, keepdim), x, dtype)
    x = np.nan_to_num(x, posinf=3.0)
    _compare(lambda m, a: m.kthvalue(a, k, dim, keepdim), x, "int64", False)


@given(case=tie_heavy_arrays(), keepdim=st.booleans())
def test_median_nanmedian_mode_along_dim_match_torch(case, keepdim):
    x, dim = case
    for dtype in DTYPES:
        _compare(lambda m, a: m.median(a, dim, keepdim), x, dtype)
        _compare(lambda m, a: m.nanmedian(a, dim, keepdim), x, dtype)
        _compare(lambda m, a: m.mode(a, dim, keepdim), x, dtype)
    x = np.nan_to_num(x, posinf=3.0)
    _compare(lambda m, a: m.median(a, dim, keepdim), x, "int64", False)
    _compare(lambda m, a: m.mode(a, dim, keepdim), x, "int64", False)


@given(case=tie_heavy_arrays())
def test_median_nanmedian_of_all_elements_match_torch(case):
    """A single value, whose gradient PyTorch shares equally among the elements equal to it
    (among the NaNs when it is NaN)."""
    x, _ = case
    for dtype in DTYPES:
        _compare(lambda m, a: m.median(a), x, dtype)
        _compare(lambda m, a: m.nanmedian(a), x, dtype)


@given(case=tie_heavy_arrays(), sorted_=st.booleans())
def test_unique_matches_torch(case, sorted_):
    x, _ = case
    for dtype in DTYPES:
        _compare(
            lambda m, a: m.unique(
                a.detach(), sorted=sorted_, return_inverse=True, return_counts=True
            ),
            x,
            dtype,
            False,
        )


@given(case=tie_heavy_arrays(nan=False))
def test_unique_along_dim_matches_torch(case):
    x, dim = case
    _compare(
        lambda m, a: m.unique(a, dim=dim, return_inverse=True, return_counts=True),
        x,
        "float64",
        False,
    )


@given(case=tie_heavy_arrays(), keepdim=st.booleans())
def test_max_min_argmax_cummax_match_torch(case, keepdim):
    """Already PyTorch's (first index of the extreme, NaN first; the last on ties for cummax
    and cummin): kept that way."""
    x, dim = case
    for dtype in DTYPES:
        _compare(lambda m, a: m.max(a, dim, keepdim), x, dtype)
        _compare(lambda m, a: m.min(a, dim, keepdim), x, dtype)
        _compare(lambda m, a: m.argmax(a, dim, keepdim), x, dtype, False)
        _compare(lambda m, a: m.argmin(a), x, dtype, False)
        _compare(lambda m, a: m.cummax(a, dim), x, dtype)
        _compare(lambda m, a: m.cummin(a, dim), x, dtype)


def test_long_tied_sort_matches_torch_and_the_python_std_sort():
    """The batched partitions (all ranges of all rows at once) leave what the element-by-element
    std::sort of select.py leaves, on rows long enough to recurse several times."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (3, 700)).astype(np.float32)
    x[1] = 1.0
    x[2, rng.random(700) < 0.1] = np.nan
    for descending in (False, True):
        got = select.torch_sort_indices(x, descending)
        want = torch.sort(torch.tensor(x), descending=descending).indices.numpy()
        np.testing.assert_array_equal(got, want)
        less = select._less(descending)
        for r in range(3):
            q = list(zip(x[r].tolist(), range(700), strict=True))
            select._sort(q, 0, 700, less)
            np.testing.assert_array_equal(got[r], [i for _, i in q])


def test_unique_keeps_the_zero_torch_keeps():
    """0.0 and -0.0 make one entry; which of them is PyTorch's sort's business (past 16
    elements an unstable one), along a dim too."""
    torch = pytest.importorskip("torch")
    for n in (5, 17, 40, 85):
        for first_negative in (False, True):
            x = np.zeros(n, np.float32)
            x[0 if first_negative else 1 :: 2] = -0.0
            _same(tinyconv.unique(tinyconv.tensor(x)).numpy(), torch.unique(torch.tensor(x)))
            rows = np.stack([x, np.ones(n, np.float32)], 1)
            want = torch.unique(torch.tensor(rows), dim=0).numpy()
            _same(tinyconv.unique(tinyconv.tensor(rows), dim=0).numpy(), want)


@given(case=tie_heavy_arrays(), keepdim=st.booleans(), data=st.data())
def test_quantile_gradient_reaches_torchs_elements(case, keepdim, data):
    """quantile sorts (PyTorch's unstable sort decides which tied element takes the
    gradient); a NaN result is a sorted NaN that takes it (the last one, or for nanquantile of
    an all-NaN slice the first). (Where PyTorch's gradient is a -0.0, tinyconv's may be 0.0:
    not followed.)"""
    x, dim = case
    q = data.draw(st.sampled_from([0.0, 0.3, 0.5, 1.0]))
    mode = data.draw(st.sampled_from(["linear", "lower", "higher", "nearest", "midpoint"]))
    for fn in ("quantile", "nanquantile"):
        _compare(
            lambda m, a, fn=fn: getattr(m, fn)(a, q, dim, keepdim, interpolation=mode),
            x,
            "float64",
            grad_zero_sign=False,
        )
        _compare(
            lambda m, a, fn=fn: getattr(m, fn)(a, q, interpolation=mode),
            x,
            "float64",
            grad_zero_sign=False,
        )


@given(case=tie_heavy_arrays(), p=st.sampled_from([1.0, float("inf"), float("-inf")]))
def test_vector_norm_inf_and_one_gradients_match_torch(case, p):
    """inf-norms share the gradient among the tied largest (smallest) magnitudes; with a NaN
    the NaNs are those, and NaN's sign counts as 0 (so 1-norms give 0 there too)."""
    x, dim = case
    for dtype in DTYPES:
        _compare(lambda m, a: m.linalg.vector_norm(a, p, dim=dim), x, dtype)
        _compare(lambda m, a: m.linalg.vector_norm(a, p), x, dtype)


@given(
    case=tie_heavy_arrays(max_dims=2, max_side=6, long_side=20),
    seed=st.integers(0, 2**16),
    padding=st.booleans(),
)
def test_embedding_bag_max_picks_torchs_row(case, seed, padding):
    """mode='max' keeps each bag's first entry and takes a later one only if it is greater:
    ties go to the first, and a NaN wins only as the first entry."""
    torch = pytest.importorskip("torch")
    w = case[0].reshape(case[0].shape[0], -1)
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    idx = rng.integers(0, w.shape[0], n)
    offsets = np.unique(np.r_[0, rng.integers(0, n, 3)])
    pad = int(idx[0]) if padding else None
    got, want = [], []
    for m, out in ((torch, want), (tinyconv, got)):
        weight = m.tensor(w, requires_grad=True)
        r = m.nn.functional.embedding_bag(
            m.tensor(idx), weight, m.tensor(offsets), mode="max", padding_idx=pad
        )
        r.nan_to_num(0.0, 1e3, -1e3).sum().backward()
        out += [r.detach().numpy(), weight.grad.numpy()]
    for g, wt in zip(got, want, strict=True):
        _same(g, wt)


def test_bool_inputs_raise_where_torch_has_no_kernel():
    """topk, kthvalue, median, nanmedian, argmax and argmin refuse bool tensors as PyTorch's
    CPU kernels do (same exception types); max, sort and mode take them."""
    torch = pytest.importorskip("torch")
    ops = {
        "topk": lambda m, t: m.topk(t, 1),
        "kthvalue": lambda m, t: m.kthvalue(t, 1),
        "median": lambda m, t: m.median(t),
        "median_dim": lambda m, t: m.median(t, 0),
        "nanmedian": lambda m, t: m.nanmedian(t, 0),
        "argmax": lambda m, t: m.argmax(t),
        "argmin": lambda m, t: m.argmin(t, 0),
    }
    x = np.array([True, False, True])
    for name, op in ops.items():
        with pytest.raises(RuntimeError) as want:
            op(torch, torch.tensor(x))
        with pytest.raises(RuntimeError) as got:
            op(tinyconv, tinyconv.tensor(x))
        assert got.type is want.type, name
    for op in (lambda m, t: m.max(t, 0), lambda m, t: m.sort(t), lambda m, t: m.mode(t)):
        for g, w in zip(op(tinyconv, tinyconv.tensor(x)), op(torch, torch.tensor(x)), strict=True):
            _same(g.numpy(), w.numpy())


def test_selection_nodes_carry_torchs_names():
    torch = pytest.importorskip("torch")
    x = np.array([[1.0, 2.0, 2.0, 0.0], [3.0, 1.0, 1.0, 1.0]])
    ops = [
        lambda m, t: m.median(t),
        lambda m, t: m.median(t[0, 0]),
        lambda m, t: m.median(t, 1, True)[0],
        lambda m, t: m.nanmedian(t),
        lambda m, t: m.nanmedian(t, 0)[0],
        lambda m, t: m.kthvalue(t, 2)[0],
        lambda m, t: m.mode(t)[0],
        lambda m, t: m.cummax(t, 1)[0],
        lambda m, t: m.cummin(t, 0)[0],
    ]
    for op in ops:
        want = type(op(torch, torch.tensor(x, requires_grad=True)).grad_fn).__name__
        assert op(tinyconv, tinyconv.tensor(x, requires_grad=True)).grad_fn.name() == want
