"""The tensor functions PyTorch code commonly calls beyond the core (special-value tests,
nan_to_num, comparisons and logical/bitwise ops as functions, Tensor.where, layout queries,
casts, one-sided clamps, in-place unary maths, empty_like, ...).

Differentiable ones: backward against float64 central finite differences (gradcheck, every
element) on hypothesis-drawn shapes and layouts. All: values, dtypes, shapes, requires_grad,
grad_fn names and gradients against PyTorch 2.13 on the same program (skipped without it).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    broadcastable_pairs,
    float64_arrays,
    lattice_arrays,
    non_contiguous,
    shapes,
)

import tinyconv
from tinyconv.autograd import gradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}


def leaf(arr: np.ndarray) -> tinyconv.Tensor:
    return tinyconv.from_numpy(np.asarray(arr, dtype=np.float64)).requires_grad_()


def check(fn, *arrays: np.ndarray) -> None:
    inputs = tuple(leaf(a) for a in arrays)
    assert fn(*inputs).requires_grad, "the op recorded no graph"
    assert gradcheck(fn, inputs, **TOL)


def real(domain="real"):
    return shapes().flatmap(lambda s: float64_arrays(s, domain)).flatmap(non_contiguous)


def lattice():
    """Values 0.5 + {-8..8}: never within 0.5 of the clamps' bounds at integers."""
    return shapes().flatmap(lambda s: lattice_arrays(s, 0.5, 1.0, 8)).flatmap(non_contiguous)


# -- gradients against finite differences ----------------------------------------------------

GRAD = {
    "nan_to_num": (lambda x: x.nan_to_num(), real),
    "nan_to_num_": (lambda x: (x * 1).nan_to_num_(posinf=1.0), real),
    "clamp_min": (lambda x: x.clamp_min(1), lattice),
    "clamp_max": (lambda x: tinyconv.clamp_max(x, -1), lattice),
    "clamp_min_": (lambda x: (x * 1).clamp_min_(0), lattice),
    "clamp_max_": (lambda x: tinyconv.clamp_max_(x * 1, 2), lattice),
    "abs_": (lambda x: (x * 1).abs_(), lambda: real("nonzero")),
    "sqrt_": (lambda x: (x * 1).sqrt_(), lambda: real("positive")),
    "exp_": (lambda x: tinyconv.exp_(x * 1), real),
    "log_": (lambda x: (x * 1).log_(), lambda: real("positive")),
    "pow_": (lambda x: (x * 1).pow_(3), real),
    "sigmoid_": (lambda x: (x * 1).sigmoid_(), real),
    "tanh_": (lambda x: tinyconv.tanh_(x * 1), real),
    "relu_": (lambda x: (x * 1).relu_(), lattice),
    "where method": (lambda x: x.where(x > 0, -x * 2), lattice),
}


@pytest.mark.parametrize("name", sorted(GRAD))
@given(data=st.data())
def test_backward_matches_finite_differences(name, data):
    fn, strat = GRAD[name]
    check(fn, data.draw(strat()))


@given(broadcastable_pairs().flatmap(lambda ss: st.tuples(*(float64_arrays(s) for s in ss))))
def test_clamp_min_max_tensor_bounds_backward(ab):
    # input and bound kept 0.05 apart (the gradient is a step where they meet)
    a, b = np.round(ab[0], 1) + 0.05, np.round(ab[1], 1)
    check(lambda x, lo: x.clamp_min(lo), a, b)
    check(lambda x, hi: tinyconv.clamp_max(x, hi), a, b)


def test_pow_tensor_exponent_inplace_backward():
    rng = np.random.default_rng(0)
    check(lambda x, e: (x * 1).pow_(e), rng.random((2, 3)) + 0.5, rng.standard_normal(3))


# -- PyTorch comparison ------------------------------------------------------------------------

SPECIAL = np.array([1.5, -2.0, 0.0, -0.0, np.nan, np.inf, -np.inf, 3.25])
INTS = np.array([3, 0, -5, 7, 1, 0, -1, 12])

# name -> f(T, x, i, b): x float64 leaf with NaN/inf (requires grad), i int64, b bool
CASES = {
    "isnan": lambda T, x, i, b: x.isnan(),
    "isnan fn": lambda T, x, i, b: T.isnan(i),
    "isinf": lambda T, x, i, b: T.isinf(x),
    "isinf int": lambda T, x, i, b: i.isinf(),
    "isfinite": lambda T, x, i, b: x.isfinite(),
    "isposinf": lambda T, x, i, b: T.isposinf(x),
    "isneginf": lambda T, x, i, b: x.isneginf(),
    "isposinf int": lambda T, x, i, b: i.isposinf(),
    "nan_to_num": lambda T, x, i, b: x.nan_to_num(),
    "nan_to_num args": lambda T, x, i, b: T.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-3.0),
    "nan_to_num float32": lambda T, x, i, b: x.float().nan_to_num(),
    "nan_to_num int": lambda T, x, i, b: i.nan_to_num(),
    "nan_to_num bool": lambda T, x, i, b: b.nan_to_num(),
    "nan_to_num_": lambda T, x, i, b: (x * 1).nan_to_num_(nan=-1.0),
    "eq": lambda T, x, i, b: T.eq(x, i),
    "ne scalar": lambda T, x, i, b: T.ne(x, 0),
    "gt": lambda T, x, i, b: T.gt(i, 0.5),
    "ge": lambda T, x, i, b: T.ge(x, T.zeros(1)),
    "lt": lambda T, x, i, b: T.lt(i, x),
    "le": lambda T, x, i, b: T.le(x, 1.5),
    "logical_and": lambda T, x, i, b: T.logical_and(x, i),
    "logical_or": lambda T, x, i, b: x.logical_or(b),
    "logical_xor": lambda T, x, i, b: T.logical_xor(i, b),
    "logical_not": lambda T, x, i, b: T.logical_not(x),
    "logical_not int": lambda T, x, i, b: i.logical_not(),
    "bitwise_and": lambda T, x, i, b: T.bitwise_and(i, 6),
    "bitwise_and scalar first": lambda T, x, i, b: T.bitwise_and(5, i),
    "bitwise_or": lambda T, x, i, b: i.bitwise_or(i * 3),
    "bitwise_xor": lambda T, x, i, b: T.bitwise_xor(b, b.logical_not()),
    "bitwise_not": lambda T, x, i, b: T.bitwise_not(i),
    "bitwise_not bool": lambda T, x, i, b: b.bitwise_not(),
    "bitwise_not uint8": lambda T, x, i, b: i.byte().bitwise_not(),
    "where method": lambda T, x, i, b: x.where(b, 2),
    "where method tensor": lambda T, x, i, b: x.where(b, i),
    "where method int": lambda T, x, i, b: i.where(b, 0.5),
    "type_as": lambda T, x, i, b: x.type_as(i),
    "type_as float": lambda T, x, i, b: i.type_as(x.float()),
    "byte": lambda T, x, i, b: i.byte(),
    "char": lambda T, x, i, b: i.char(),
    "short": lambda T, x, i, b: i.short(),
    "short float": lambda T, x, i, b: x.nan_to_num().clamp(-100, 100).short(),
    "clamp_min": lambda T, x, i, b: x.clamp_min(0.5),
    "clamp_min int float bound": lambda T, x, i, b: i.clamp_min(0.5),
    "clamp_min fn": lambda T, x, i, b: T.clamp_min(i, 2),
    "clamp_max": lambda T, x, i, b: x.clamp_max(1),
    "clamp_max tensor": lambda T, x, i, b: T.clamp_max(x, x.detach() * 0 + 1),
    "clamp_min_": lambda T, x, i, b: (x * 1).clamp_min_(0),
    "clamp_max_ fn": lambda T, x, i, b: T.clamp_max_(x * 1, 0),
    "abs_": lambda T, x, i, b: (x * 1).abs_(),
    "abs_ int": lambda T, x, i, b: (i * 1).abs_(),
    "abs_ fn": lambda T, x, i, b: T.abs_(x * 1),
    "sqrt_": lambda T, x, i, b: (x.abs() + 1).sqrt_(),
    "sqrt_ fn": lambda T, x, i, b: T.sqrt_(x.abs() + 1),
    "exp_": lambda T, x, i, b: (x * 1).exp_(),
    "log_": lambda T, x, i, b: T.log_(x.abs() + 1),
    "pow_": lambda T, x, i, b: (x * 1).pow_(2),
    "pow_ tensor": lambda T, x, i, b: (x.abs() + 1).pow_(x.detach().nan_to_num().clamp(-2, 2)),
    "sigmoid_": lambda T, x, i, b: T.sigmoid_(x * 1),
    "tanh_": lambda T, x, i, b: (x * 1).tanh_(),
    "relu_": lambda T, x, i, b: T.relu_(x * 1),
    "relu_ int": lambda T, x, i, b: (i * 1).relu_(),
    "neg_ fn": lambda T, x, i, b: T.neg_(x * 1),
    "reciprocal_ fn": lambda T, x, i, b: T.reciprocal_(x * 1),
    "empty_like shape dtype": lambda T, x, i, b: T.empty_like(x, dtype=T.int32).zero_(),
    "empty_like": lambda T, x, i, b: T.empty_like(i).fill_(1),
}


def _run(T, name):
    x = T.tensor(SPECIAL, requires_grad=True)
    i = T.tensor(INTS)
    b = T.tensor(INTS % 3 == 0)
    return CASES[name](T, x, i, b), x


def _same(got, want) -> None:
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert got.requires_grad == want.requires_grad
    rtol = 1e-6 if got.dtype == tinyconv.float32 else 1e-12  # float32 maths may round differently
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=rtol, atol=1e-300)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    got, gx = _run(tinyconv, name)
    want, wx = _run(torch, name)
    _same(got, want)
    if want.requires_grad:
        assert got.grad_fn.name() == want.grad_fn.name()
        w = np.random.default_rng(0).standard_normal(tuple(want.shape))
        (got.nan_to_num() * tinyconv.tensor(w)).sum().backward()
        (want.nan_to_num() * torch.tensor(w)).sum().backward()
        np.testing.assert_array_equal(np.isnan(gx.grad.numpy()), np.isnan(wx.grad.numpy()))
        np.testing.assert_allclose(gx.grad.numpy(), wx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize(
    "expr",
    [
        "T.zeros(3, 4)",
        "T.zeros(3, 4).t()",
        "T.zeros(3, 4)[:, 1:]",
        "T.zeros(3, 4)[1:, 1:].t()",
        "T.zeros(2, 1, 3)",
        "T.zeros(2, 3).unsqueeze(1)",
        "T.zeros(2, 3).expand(4, 2, 3)",
        "T.zeros(())",
        "T.zeros(4, 5)[1::2, 2]",
        "T.zeros(2, 3, 4).permute(2, 0, 1)",
        "T.zeros(6)[2:].view(2, 2)",
        "T.zeros(3, 4)[1]",
        "T.zeros(3, 4)[:, 2]",
        "T.zeros(0, 3)",
    ],
)
def test_layout_queries_match_torch(expr):
    torch = pytest.importorskip("torch")
    got, want = eval(expr, {"T": tinyconv}), eval(expr, {"T": torch})
    assert got.stride() == want.stride()
    assert got.storage_offset() == want.storage_offset()
    assert got.is_contiguous() == want.is_contiguous()
    for d in range(-got.dim(), got.dim()):
        assert got.stride(d) == want.stride(d)


def test_bad_input_names_the_argument():
    x, i = tinyconv.tensor([1.5, 0.0]), tinyconv.tensor([1, 2])
    with pytest.raises(TypeError, match="other"):
        tinyconv.logical_and(x, 1)
    with pytest.raises(TypeError, match="input"):
        tinyconv.eq(1, x)
    with pytest.raises(TypeError, match="&"):
        x.bitwise_and(x)
    with pytest.raises(TypeError, match="nan"):
        x.nan_to_num(nan="zero")
    with pytest.raises(TypeError, match="other"):
        x.type_as(np.float32)
    with pytest.raises(TypeError, match="min"):
        x.clamp_min(None)
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.sqrt_()
    with pytest.raises(RuntimeError, match="broadcast"):
        x.logical_or(tinyconv.tensor([1, 0, 1]))
    with pytest.raises(IndexError):
        x.stride(2)
    with pytest.raises(TypeError, match="condition"):
        x.where(i, 0)


def test_inplace_unary_keeps_views_and_versions():
    base = tinyconv.tensor([[1.0, 4.0], [9.0, 16.0]], requires_grad=True)
    y = base * 1
    row = y[1]
    row.sqrt_()
    assert y.tolist() == [[1.0, 4.0], [3.0, 4.0]]
    y.sum().backward()
    np.testing.assert_allclose(base.grad.numpy(), [[1, 1], [1 / 6, 1 / 8]])
    leaf_ = tinyconv.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf_.exp_()
    e = tinyconv.tensor([1.0, 2.0], requires_grad=True)
    z = e.exp()  # exp saves its output: changing it in place must be caught by backward
    z.sigmoid_()
    with pytest.raises(RuntimeError):
        z.sum().backward()


# -- products, shapes, more maths (second batch) ------------------------------------------------


@st.composite
def matrices(draw):
    n, m, p, b = (draw(st.integers(1, 4)) for _ in range(4))

    def arr(*s):
        return draw(float64_arrays(s).flatmap(non_contiguous))

    return {"a": arr(n, m), "v": arr(m), "b3": arr(b, n, m), "c3": arr(b, m, p), "sq": arr(m, m)}


@given(matrices())
def test_products_backward(ms):
    check(lambda x, y: tinyconv.mv(x, y), ms["a"], ms["v"])
    check(lambda x, y: x.bmm(y), ms["b3"], ms["c3"])
    check(lambda x: tinyconv.trace(x), ms["sq"])
    check(lambda x: x.trace(), ms["a"])


GRAD2 = {
    "tan": (
        lambda x: tinyconv.tan(x),
        lambda: shapes().flatmap(lambda s: lattice_arrays(s, 0.05, 0.1, 12)),
    ),
    "tan_": (
        lambda x: (x * 1).tan_(),
        lambda: shapes().flatmap(lambda s: lattice_arrays(s, 0.05, 0.1, 12)),
    ),
    "nansum": (lambda x: x.nansum(), real),
    "nansum dim": (lambda x: tinyconv.nansum(x, -1, keepdim=True) if x.dim() else x.nansum(), real),
    "nanmean": (lambda x: tinyconv.nanmean(x, 0) if x.dim() else x.nanmean(), real),
    "movedim": (lambda x: x.movedim(0, -1) if x.dim() else x.movedim(0, 0), real),
    "broadcast_to": (lambda x: x.broadcast_to((2,) + tuple(x.shape)), real),
    "flipud": (lambda x: tinyconv.flipud(x) if x.dim() else x * 1, real),
    "select": (lambda x: x.select(-1, 0) if x.dim() else x * 1, real),
    "vstack": (lambda x: tinyconv.vstack([x, x * 2]), real),
    "hstack": (lambda x: tinyconv.hstack([x, x.exp()]), real),
    "dstack": (lambda x: tinyconv.dstack([x, x * 3]), real),
    "column_stack": (lambda x: tinyconv.column_stack([x, x]) if x.dim() <= 2 else x * 1, real),
}


@pytest.mark.parametrize("name", sorted(GRAD2))
@given(data=st.data())
def test_backward_matches_finite_differences_more(name, data):
    fn, strat = GRAD2[name]
    check(fn, data.draw(strat()))


@given(broadcastable_pairs().flatmap(lambda ss: st.tuples(*(float64_arrays(s) for s in ss))))
def test_hypot_backward(ab):
    check(lambda x, y: tinyconv.hypot(x, y), ab[0], ab[1] + 3)  # away from the origin (a kink)


# name -> f(T, a, v, b3, c3, z): a (3, 4), v (4,), b3 (2, 3, 4), c3 (2, 4, 5) float64 leaves; z has
# NaNs
CASES2 = {
    "mv": lambda T, a, v, b3, c3, z: T.mv(a, v),
    "mv method": lambda T, a, v, b3, c3, z: a.mv(v),
    "bmm": lambda T, a, v, b3, c3, z: T.bmm(b3, c3),
    "bmm method": lambda T, a, v, b3, c3, z: b3.bmm(c3),
    "trace": lambda T, a, v, b3, c3, z: a.trace(),
    "trace fn": lambda T, a, v, b3, c3, z: T.trace(a[:, :3]),
    "trace int": lambda T, a, v, b3, c3, z: T.trace(T.tensor([[1, 2], [3, 4]], dtype=T.int32)),
    "tan": lambda T, a, v, b3, c3, z: T.tan(a),
    "tan int": lambda T, a, v, b3, c3, z: T.tensor([1, 2]).tan(),
    "tan_": lambda T, a, v, b3, c3, z: (a * 1).tan_(),
    "hypot": lambda T, a, v, b3, c3, z: T.hypot(a, v),
    "hypot float32": lambda T, a, v, b3, c3, z: v.hypot(v.float()),
    "hypot_": lambda T, a, v, b3, c3, z: (a * 1).hypot_(v),
    "true_divide": lambda T, a, v, b3, c3, z: T.true_divide(a, v),
    "true_divide int": lambda T, a, v, b3, c3, z: T.true_divide(T.tensor([3, 4]), 2),
    "remainder": lambda T, a, v, b3, c3, z: T.remainder(a, 0.3),
    "remainder scalar first": lambda T, a, v, b3, c3, z: T.remainder(5, T.tensor([3, -4])),
    "floor_divide": lambda T, a, v, b3, c3, z: T.floor_divide(T.tensor([7, -7]), 2),
    "count_nonzero": lambda T, a, v, b3, c3, z: T.count_nonzero(z),
    "count_nonzero dims": lambda T, a, v, b3, c3, z: (b3 > 0.5).count_nonzero((0, 2)),
    "nansum": lambda T, a, v, b3, c3, z: T.nansum(z),
    "nansum dim": lambda T, a, v, b3, c3, z: z.reshape(2, 3).nansum(1, keepdim=True),
    "nansum int": lambda T, a, v, b3, c3, z: T.tensor([1, 2], dtype=T.int32).nansum(),
    "nanmean": lambda T, a, v, b3, c3, z: z.nanmean(),
    "nanmean dim": lambda T, a, v, b3, c3, z: T.nanmean(z.reshape(3, 2), 0),
    "movedim": lambda T, a, v, b3, c3, z: b3.movedim(0, 2),
    "movedim tuple": lambda T, a, v, b3, c3, z: T.movedim(b3, (0, 1), (2, 0)),
    "moveaxis": lambda T, a, v, b3, c3, z: T.moveaxis(b3, -1, 0),
    "swapdims": lambda T, a, v, b3, c3, z: b3.swapdims(0, 2),
    "swapaxes fn": lambda T, a, v, b3, c3, z: T.swapaxes(a, 0, 1),
    "broadcast_to": lambda T, a, v, b3, c3, z: v.broadcast_to((2, 3, 4)),
    "broadcast_to fn": lambda T, a, v, b3, c3, z: T.broadcast_to(a, (2, -1, 4)),
    "broadcast_tensors": lambda T, a, v, b3, c3, z: T.broadcast_tensors(v, a, b3)[0],
    "broadcast_tensors same": lambda T, a, v, b3, c3, z: T.broadcast_tensors(a, v)[0],
    "flipud": lambda T, a, v, b3, c3, z: a.flipud(),
    "fliplr": lambda T, a, v, b3, c3, z: T.fliplr(b3),
    "select": lambda T, a, v, b3, c3, z: b3.select(1, -1),
    "select fn": lambda T, a, v, b3, c3, z: T.select(a, 0, 2),
    "vstack": lambda T, a, v, b3, c3, z: T.vstack([v, a, v]),
    "row_stack": lambda T, a, v, b3, c3, z: T.row_stack((a, a)),
    "hstack": lambda T, a, v, b3, c3, z: T.hstack([v, v * 2]),
    "hstack 2-d": lambda T, a, v, b3, c3, z: T.hstack([a, a[:, :1]]),
    "dstack": lambda T, a, v, b3, c3, z: T.dstack([v, v]),
    "dstack 2-d": lambda T, a, v, b3, c3, z: T.dstack([a, a]),
    "column_stack": lambda T, a, v, b3, c3, z: T.column_stack([v, a.t(), v]),
    "column_stack 0-d": lambda T, a, v, b3, c3, z: T.column_stack([v[0], a[0, 0]]),
    "broadcast_tensors is itself": lambda T, a, v, b3, c3, z: T.broadcast_tensors(a * 1, v)[0],
    "atleast_3d": lambda T, a, v, b3, c3, z: T.atleast_3d(a),
    "atleast_2d tuple": lambda T, a, v, b3, c3, z: T.atleast_2d(v, a[0, 0])[1],
}


def _run2(T, name):
    rng = np.random.default_rng(3)
    arrays = [
        rng.standard_normal((3, 4)),
        rng.standard_normal(4),
        rng.standard_normal((2, 3, 4)),
        rng.standard_normal((2, 4, 5)),
        np.array([1.0, np.nan, -2.0, np.nan, 0.5, 3.0]),
    ]
    ts = [T.tensor(a, requires_grad=True) for a in arrays]
    return CASES2[name](T, *ts), ts


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CASES2))
def test_matches_torch_more(name):
    torch = pytest.importorskip("torch")
    got, gin = _run2(tinyconv, name)
    want, win = _run2(torch, name)
    _same(got, want)
    if want.requires_grad:
        assert (got.grad_fn is None) == (want.grad_fn is None)
        if want.grad_fn is not None:
            assert got.grad_fn.name() == type(want.grad_fn).__name__
        w = np.random.default_rng(0).standard_normal(tuple(want.shape))
        (got.nan_to_num() * tinyconv.tensor(w)).sum().backward()
        (want.nan_to_num() * torch.tensor(w)).sum().backward()
        for g, t in zip(gin, win, strict=True):
            if t.grad is None:
                assert g.grad is None
            else:
                np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_more_bad_input_names_the_argument():
    a, v = tinyconv.ones(3, 4), tinyconv.ones(4)
    with pytest.raises(RuntimeError, match="2-D input and a 1-D vec"):
        tinyconv.mv(v, v)
    with pytest.raises(TypeError, match="vec"):
        a.mv([1, 2, 3, 4])
    with pytest.raises(RuntimeError, match="batch sizes"):
        tinyconv.bmm(tinyconv.ones(2, 3, 4), tinyconv.ones(3, 4, 5))
    with pytest.raises(RuntimeError, match="3-D"):
        tinyconv.bmm(a, a.t())
    with pytest.raises(RuntimeError, match="2-D"):
        v.trace()
    with pytest.raises(RuntimeError, match="floating point"):
        tinyconv.hypot(tinyconv.tensor([3]), tinyconv.tensor([4]))
    with pytest.raises(TypeError, match="other"):
        tinyconv.hypot(v, 2.0)
    with pytest.raises(RuntimeError, match="floating point"):
        tinyconv.tensor([1, 2]).nanmean()
    with pytest.raises(RuntimeError, match="repeated"):
        a.movedim((0, 0), (1, 0))
    with pytest.raises(RuntimeError, match="as many"):
        a.movedim((0, 1), 1)
    with pytest.raises(IndexError, match="out of range"):
        a.select(1, 4)
    with pytest.raises(RuntimeError, match="at least 2"):
        v.fliplr()
    with pytest.raises(RuntimeError, match="broadcast"):
        tinyconv.broadcast_tensors(a, tinyconv.ones(3))


# -- fused products, fmod, selections, rot90, std_mean (third batch) -------------------------------


@given(matrices(), st.sampled_from([(1, 1), (0.5, -2), (0, 3)]), st.booleans())
def test_add_matmul_backward(ms, ba, row):
    beta, alpha = ba
    n = ms["a"].shape[0]
    p = ms["c3"].shape[-1]
    rng = np.random.default_rng(0)
    inp = rng.standard_normal((1, p) if row else (n, p))
    check(
        lambda i, x, y: tinyconv.addmm(i, x, y, beta=beta, alpha=alpha), inp, ms["a"], ms["c3"][0]
    )
    check(
        lambda i, x, y: i.addmv(x, y, beta=beta, alpha=alpha),
        rng.standard_normal(n),
        ms["a"],
        ms["v"],
    )
    b = ms["b3"].shape[0]
    check(
        lambda i, x, y: tinyconv.baddbmm(i, x, y, beta=beta, alpha=alpha),
        rng.standard_normal((b, 1, p)),
        ms["b3"],
        ms["c3"],
    )


@given(broadcastable_pairs().flatmap(lambda ss: st.tuples(*(float64_arrays(s) for s in ss))))
def test_fmod_backward(ab):
    a, b = ab
    b = np.where(b < 0, -1, 1) * (np.abs(b) + 0.5)
    # keep a / b away from integers, where fmod jumps
    a = b * (np.round(a, 1) + 0.05 * np.sign(a * b + 0.01))
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        return
    check(lambda x, y: tinyconv.fmod(x, y), a, b)
    check(lambda x: x.fmod(0.3), np.round(a, 1) + 0.05)


GRAD3 = {
    "masked_select": (
        lambda x: x.masked_select(tinyconv.arange(x.numel()).reshape(x.shape) % 2 == 0),
        real,
    ),
    "masked_select broadcast": (
        lambda x: x.masked_select(tinyconv.tensor([True, False]).reshape((2,) + (1,) * x.dim())),
        real,
    ),
    "take": (lambda x: x.take(tinyconv.tensor([0, -1, 0])), real),
    "rot90": (lambda x: x.rot90() if x.dim() >= 2 else x * 1, real),
    "rot90 k=-1 dims": (lambda x: x.rot90(-1, (-1, 0)) if x.dim() >= 2 else x * 1, real),
    "rot90 k=2": (lambda x: tinyconv.rot90(x, 2) if x.dim() >= 2 else x * 1, real),
    # (the values made not all equal: std has a kink there)
    "std_mean": (
        lambda x: sum(tinyconv.std_mean(tinyconv.cat([x.reshape(-1), x.reshape(-1).exp() + 100]))),
        real,
    ),
    "var_mean dim": (
        lambda x: sum(tinyconv.var_mean(x, 0, keepdim=True)) if x.dim() else x * 1,
        real,
    ),
    "addmm_": (
        lambda x: (x.reshape(-1, 1) * 1).addmm_(x.reshape(-1, 1), x.reshape(-1)[:1].reshape(1, 1)),
        real,
    ),
    "fmod_": (lambda x: (x * 1).fmod_(7.0), real),
}


@pytest.mark.parametrize("name", sorted(GRAD3))
@given(data=st.data())
def test_backward_matches_finite_differences_third(name, data):
    fn, strat = GRAD3[name]
    check(fn, data.draw(strat()))


CASES3 = {
    "addmm": lambda T, a, v, b3, c3, z: T.addmm(c3[0, 0], a, c3[1]),
    "addmm beta alpha": lambda T, a, v, b3, c3, z: a.addmm(b3[0], c3[0][:, :4], beta=0.5, alpha=-2),
    "addmm beta 0 ignores nan": lambda T, a, v, b3, c3, z: T.addmm(
        z[:1].reshape(1, 1), a, v[:, None], beta=0
    ),
    "addmm int": lambda T, a, v, b3, c3, z: T.addmm(
        T.ones(3, 5, dtype=T.int64),
        T.ones(3, 4, dtype=T.int64),
        T.ones(4, 5, dtype=T.int64),
        beta=2,
    ),
    "addmv": lambda T, a, v, b3, c3, z: T.addmv(z[:3], a, v, alpha=3),
    "baddbmm": lambda T, a, v, b3, c3, z: T.baddbmm(c3[:, :1], b3, c3, beta=0.25),
    "addmm_": lambda T, a, v, b3, c3, z: (a[:, :1] * 1).addmm_(a, v[:, None]),
    "fmod scalar": lambda T, a, v, b3, c3, z: T.fmod(a * 3, 0.7),
    "fmod tensor": lambda T, a, v, b3, c3, z: a.fmod(v + 3),
    "fmod int": lambda T, a, v, b3, c3, z: T.fmod(T.tensor([-7, 7, 5]), 3),
    "fmod int float": lambda T, a, v, b3, c3, z: T.fmod(T.tensor([-7, 7]), T.tensor([2.5, -2.5])),
    "fmod_": lambda T, a, v, b3, c3, z: (a * 1).fmod_(0.3),
    "nonzero": lambda T, a, v, b3, c3, z: T.nonzero(b3 > 0),
    "nonzero 0-d": lambda T, a, v, b3, c3, z: T.tensor(1.5).nonzero(),
    "nonzero as_tuple": lambda T, a, v, b3, c3, z: T.nonzero(a > 0, as_tuple=True)[1],
    "nonzero as_tuple 0-d": lambda T, a, v, b3, c3, z: T.tensor(1.5).nonzero(as_tuple=True)[0],
    "argwhere": lambda T, a, v, b3, c3, z: T.argwhere(z),
    "masked_select": lambda T, a, v, b3, c3, z: T.masked_select(a, v > 0),
    "masked_select 0-d": lambda T, a, v, b3, c3, z: T.masked_select(a[0, 0], v > 0),
    "masked_select 0-d both": lambda T, a, v, b3, c3, z: a[0, 0].masked_select(T.tensor(True)),
    "masked_select method": lambda T, a, v, b3, c3, z: v.masked_select(a > 0),
    "take": lambda T, a, v, b3, c3, z: T.take(a, T.tensor([[0, 11], [-1, 5]])),
    "take method": lambda T, a, v, b3, c3, z: a.t().take(T.tensor([1, 2, 3])),
    "rot90": lambda T, a, v, b3, c3, z: a.rot90(),
    "rot90 k=3": lambda T, a, v, b3, c3, z: T.rot90(b3, 3, (2, 0)),
    "rot90 k=-2": lambda T, a, v, b3, c3, z: b3.rot90(-2, [1, 2]),
    "rot90 k=0": lambda T, a, v, b3, c3, z: T.rot90(a, 4),
    "std_mean": lambda T, a, v, b3, c3, z: T.std_mean(a)[0],
    "std_mean mean": lambda T, a, v, b3, c3, z: T.std_mean(b3, (0, 2), keepdim=True)[1],
    "var_mean": lambda T, a, v, b3, c3, z: T.var_mean(a, 1, correction=0)[0],
    "var_mean unbiased": lambda T, a, v, b3, c3, z: T.var_mean(a, 0, False)[1],
    "randint_like": lambda T, a, v, b3, c3, z: T.randint_like(a, 3, 4),
    "randint_like dtype": lambda T, a, v, b3, c3, z: T.randint_like(a, 1, dtype=T.int32),
    "divide": lambda T, a, v, b3, c3, z: T.divide(a, v.exp()),
    "divide scalar": lambda T, a, v, b3, c3, z: T.divide(a, 4),
}


def _run3(T, name):
    rng = np.random.default_rng(3)
    arrays = [
        rng.standard_normal((3, 4)),
        rng.standard_normal(4),
        rng.standard_normal((2, 3, 4)),
        rng.standard_normal((2, 4, 5)),
        np.array([1.0, np.nan, -2.0, 0.0, 0.5, 3.0]),
    ]
    ts = [T.tensor(a, requires_grad=True) for a in arrays]
    return CASES3[name](T, *ts), ts


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CASES3))
def test_matches_torch_third(name):
    torch = pytest.importorskip("torch")
    got, gin = _run3(tinyconv, name)
    want, win = _run3(torch, name)
    _same(got, want)
    if want.requires_grad:
        assert got.grad_fn.name() == type(want.grad_fn).__name__
        w = np.random.default_rng(0).standard_normal(tuple(want.shape))
        (got * tinyconv.tensor(w)).sum().backward()
        (want * torch.tensor(w)).sum().backward()
        for g, t in zip(gin, win, strict=True):
            if t.grad is None:
                assert g.grad is None or not np.any(g.grad.numpy())
            else:
                np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_third_bad_input_names_the_argument():
    a, v = tinyconv.ones(3, 4), tinyconv.ones(4)
    with pytest.raises(RuntimeError, match="can't be multiplied"):
        tinyconv.addmm(tinyconv.ones(3, 5), a, tinyconv.ones(3, 5))
    with pytest.raises(RuntimeError, match="broadcast to the product"):
        tinyconv.addmm(tinyconv.ones(2, 5), a, tinyconv.ones(4, 5))
    with pytest.raises(RuntimeError, match="same dtype"):
        tinyconv.addmm(tinyconv.ones(3, 5), a, tinyconv.ones(4, 5, dtype=tinyconv.float64))
    with pytest.raises(TypeError, match="vec"):
        tinyconv.addmv(tinyconv.ones(3), a, [1, 2, 3, 4])
    with pytest.raises(RuntimeError, match="can't be multiplied"):
        tinyconv.baddbmm(tinyconv.ones(1), tinyconv.ones(2, 3, 4), tinyconv.ones(3, 4, 5))
    with pytest.raises(TypeError, match="beta"):
        a.addmm(a, tinyconv.ones(4, 4), beta=None)
    with pytest.raises(RuntimeError, match="division by zero"):
        tinyconv.fmod(tinyconv.tensor([1, 2]), 0)
    with pytest.raises(RuntimeError, match="mask"):
        a.masked_select(a)
    with pytest.raises(IndexError, match="out of range"):
        a.take(tinyconv.tensor([12]))
    with pytest.raises(RuntimeError, match="int64"):
        a.take(tinyconv.tensor([1.0]))
    with pytest.raises(RuntimeError, match="dims must differ"):
        a.rot90(1, (0, 0))
    with pytest.raises(RuntimeError, match="at least 2"):
        v.rot90()
    with pytest.raises(RuntimeError, match="low < high"):
        tinyconv.randint_like(a, 3, 3)


@pytest.mark.parametrize("method", ["exp_", "sigmoid_", "tanh_", "sqrt_", "reciprocal_", "rsqrt_"])
def test_inplace_of_an_output_saving_op_guards_its_result(method):
    # these ops save their result for backward: changing it in place afterwards must make
    # backward fail, as in PyTorch (found by the differential fuzzer)
    x = tinyconv.tensor([0.5, 2.0], dtype=tinyconv.float64, requires_grad=True)
    y = x * 1
    getattr(y, method)()
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace"):
        y.sum().backward()
    z = x * 1
    getattr(z, method)()
    z.sum().backward()  # untouched: fine


CASES4 = {
    "unique": "T.unique(T.tensor([3, 1, 2, 3, 1, 5]))",
    "unique inverse counts": (
        "T.tensor([[1.5, 2.0], [2.0, 1.5]]).unique(return_inverse=True, return_counts=True)"
    ),
    "unique counts": "T.unique(T.tensor([True, False, True]), return_counts=True)",
    "unique unsorted": "T.tensor([3, 1, 2]).unique(sorted=False)",
    "unique empty": "T.unique(T.tensor([]))",
    "searchsorted": "T.searchsorted(T.tensor([1, 3, 5, 7]), T.tensor([3, 6, 9, 0]))",
    "searchsorted right": "T.searchsorted(T.tensor([1, 3, 5, 7]), T.tensor([[3, 6]]), right=True)",
    "searchsorted side": "T.searchsorted(T.tensor([1.0, 3.0]), T.tensor([3.0]), side='right')",
    "searchsorted scalar": "T.searchsorted(T.tensor([1, 3, 5, 7]), 4)",
    "searchsorted int32": "T.searchsorted(T.tensor([1, 3]), T.tensor([3]), out_int32=True)",
    "searchsorted 2-d": "T.searchsorted(T.tensor([[1, 3], [2, 4]]), T.tensor([[2, 3], [3, 5]]))",
    "searchsorted sorter": "T.searchsorted(T.tensor([3.0, 1.0, 2.0]), T.tensor([1.5, 0.0, 3.0]), "
    "sorter=T.tensor([1, 2, 0]))",
    "searchsorted sorter 2-d right": "T.searchsorted(T.tensor([[3, 1, 2], [9, 7, 8]]), "
    "T.tensor([[1, 3], [7, 10]]), right=True, sorter=T.tensor([[1, 2, 0], [1, 2, 0]]))",
    "bucketize": "T.bucketize(T.tensor([3, 6, 9, 1]), T.tensor([1, 3, 5, 7]))",
    "bucketize right": "T.bucketize(T.tensor([[3.0, 1.0]]), T.tensor([1, 3, 5, 7]), right=True)",
    "bucketize scalar": "T.bucketize(3, T.tensor([1, 3, 5, 7]))",
    "unique dim 0": "T.unique(T.tensor([[1, 2], [0, 5], [1, 2]]), dim=0, return_inverse=True, "
    "return_counts=True)",
    "unique dim -1": "T.tensor([[1, 0, 1], [2, 5, 2]]).unique(dim=-1, return_inverse=True)",
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CASES4))
def test_unique_searchsorted_match_torch(name):
    torch = pytest.importorskip("torch")
    got, want = eval(CASES4[name], {"T": tinyconv}), eval(CASES4[name], {"T": torch})
    got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        _same(g, w)


def test_searchsorted_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="sorted_sequence"):
        tinyconv.searchsorted([1, 2], tinyconv.tensor([1]))
    with pytest.raises(RuntimeError, match="contradict"):
        tinyconv.searchsorted(
            tinyconv.tensor([1, 2]), tinyconv.tensor([1]), right=True, side="left"
        )
    with pytest.raises(RuntimeError, match="leading dims"):
        tinyconv.searchsorted(tinyconv.tensor([[1, 2]]), tinyconv.tensor([1]))
    with pytest.raises(RuntimeError, match="1-D"):
        tinyconv.bucketize(tinyconv.tensor([1]), tinyconv.tensor([[1, 2]]))
    seq = tinyconv.tensor([3.0, 1.0, 2.0])
    for sorter, match in (
        (tinyconv.tensor([1, 2]), "same size"),
        (tinyconv.tensor([1, 2, 0], dtype=tinyconv.int32), "long dtype"),
        (tinyconv.tensor([1, 2, 3]), "out of range"),
    ):
        with pytest.raises(RuntimeError, match=match):
            tinyconv.searchsorted(seq, tinyconv.tensor([1.5]), sorter=sorter)


@given(
    shapes(min_dims=1, max_dims=2).flatmap(float64_arrays).flatmap(non_contiguous),
    st.integers(-3, 3),
)
def test_diag_backward(arr, k):
    check(lambda x: x.diag(k), arr)


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(3,), (1,), (3, 4), (4, 2), (2, 2)])
@pytest.mark.parametrize("k", [-2, 0, 1, 3])
def test_diag_matches_torch(shape, k):
    torch = pytest.importorskip("torch")
    arr = np.random.default_rng(1).standard_normal(shape)
    a, b = leaf(arr), torch.tensor(arr, requires_grad=True)
    got, want = tinyconv.diag(a, k), torch.diag(b, k)
    _same(got, want)
    assert got.grad_fn.name() == type(want.grad_fn).__name__
    w = np.random.default_rng(0).standard_normal(tuple(want.shape))
    (got * tinyconv.tensor(w)).sum().backward()
    (want * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-12)
    with pytest.raises(RuntimeError, match="1-D or 2-D"):
        tinyconv.diag(tinyconv.ones(2, 2, 2))


@pytest.mark.torch
@pytest.mark.parametrize("first", [True, False])
def test_hypot_saves_only_the_operands_its_gradients_need(first):
    """Writing in place to an operand that needs no gradient leaves backward intact (PyTorch
    saves it only for its own gradient); found by the fuzzer."""
    torch = pytest.importorskip("torch")
    grads = []
    for T in (tinyconv, torch):
        x = T.tensor(-0.132, dtype=T.float64, requires_grad=True)
        c = T.tensor(-2.0, dtype=T.float64)
        y = T.hypot(x, c) if first else T.hypot(c, x)
        c.abs_()
        y.backward()
        grads.append(float(x.grad))
    assert grads[0] == pytest.approx(grads[1], rel=1e-12)


@pytest.mark.torch
def test_sign_of_nan_is_zero_as_torch():
    torch = pytest.importorskip("torch")
    vals = [float("nan"), -2.0, 0.0, 3.0]
    for dt in ("float32", "float64"):
        got = tinyconv.tensor(vals, dtype=getattr(tinyconv, dt)).sign()
        want = torch.tensor(vals, dtype=getattr(torch, dt)).sign()
        assert got.tolist() == want.tolist() and got.dtype == getattr(tinyconv, dt)
