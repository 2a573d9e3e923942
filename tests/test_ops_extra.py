"""The ops tutorials reach for beyond the basics (issue 10): gelu ... einsum, gather, scatter,
sort, topk, rounding, more unary functions, allclose, testing.assert_close.

Each op: backward against float64 central finite differences (gradcheck, every element,
tolerances 1e-6) on hypothesis-drawn shapes; values, dtypes and gradients against PyTorch
2.13 (skipped without it), including the points where PyTorch picks a one-sided derivative.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    distinct_arrays,
    float64_arrays,
    lattice_arrays,
    non_contiguous,
    shapes,
)

import tinyconv
import tinyconv.nn.functional as F
from tinyconv import nn
from tinyconv.autograd import gradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}


def leaf(arr: np.ndarray) -> tinyconv.Tensor:
    return tinyconv.from_numpy(np.asarray(arr, dtype=np.float64)).requires_grad_()


def check(fn, *arrays: np.ndarray) -> None:
    inputs = tuple(leaf(a) for a in arrays)
    out = fn(*inputs)
    assert out.requires_grad, "the op recorded no graph"
    assert gradcheck(fn, inputs, **TOL)


def lattice(shape=None, offset=0.5, step=1.0, k=8):
    """Values offset + step * {-k..k}: with offset 0.5 and step 1 no value is within 0.5 of an
    integer, so the kinks of relu6, hardtanh, hardswish, hardsigmoid, floor, ... stay far."""
    return lattice_arrays(shape if shape is not None else shapes(), offset, step, k).flatmap(
        non_contiguous
    )


def real(shape=None, domain="real"):
    return float64_arrays(shape if shape is not None else shapes(), domain).flatmap(non_contiguous)


# name -> (tinyconv function, torch function name path, domain strategy factory)
UNARY = {
    "gelu": (F.gelu, "nn.functional.gelu", real),
    "gelu tanh": (
        lambda x: F.gelu(x, approximate="tanh"),
        lambda t, x: t.nn.functional.gelu(x, approximate="tanh"),
        real,
    ),
    "silu": (F.silu, "nn.functional.silu", real),
    "elu": (F.elu, "nn.functional.elu", lattice),
    "elu alpha": (lambda x: F.elu(x, 0.5), lambda t, x: t.nn.functional.elu(x, 0.5), lattice),
    "softplus": (F.softplus, "nn.functional.softplus", real),
    "softplus beta threshold": (
        lambda x: F.softplus(x, 2.0, 1.5),
        lambda t, x: t.nn.functional.softplus(x, 2.0, 1.5),
        lattice,
    ),
    "relu6": (F.relu6, "nn.functional.relu6", lattice),
    "hardtanh": (F.hardtanh, "nn.functional.hardtanh", lattice),
    "hardtanh range": (
        lambda x: F.hardtanh(x, -2.0, 3.0),
        lambda t, x: t.nn.functional.hardtanh(x, -2.0, 3.0),
        lattice,
    ),
    "hardswish": (F.hardswish, "nn.functional.hardswish", lattice),
    "hardsigmoid": (F.hardsigmoid, "nn.functional.hardsigmoid", lattice),
    "mish": (F.mish, "nn.functional.mish", real),
    "erf": (tinyconv.erf, "erf", real),
    "floor": (tinyconv.floor, "floor", lattice),
    "ceil": (tinyconv.ceil, "ceil", lattice),
    "trunc": (tinyconv.trunc, "trunc", lattice),
    "round": (tinyconv.round, "round", lambda s=None: lattice(s, 0.25, 0.5)),
    "round decimals": (
        lambda x: tinyconv.round(x, decimals=1),
        lambda t, x: t.round(x, decimals=1),
        lambda s=None: lattice(s, 0.025, 0.05),
    ),
    "frac": (tinyconv.frac, "frac", lattice),
    "reciprocal": (tinyconv.reciprocal, "reciprocal", lambda s=None: real(s, "nonzero")),
    "rsqrt": (tinyconv.rsqrt, "rsqrt", lambda s=None: real(s, "positive")),
    "exp2": (tinyconv.exp2, "exp2", real),
    "expm1": (tinyconv.expm1, "expm1", real),
    "log1p": (tinyconv.log1p, "log1p", lambda s=None: real(s, "positive")),
    "log2": (tinyconv.log2, "log2", lambda s=None: real(s, "positive")),
    "log10": (tinyconv.log10, "log10", lambda s=None: real(s, "positive")),
    "sinh": (tinyconv.sinh, "sinh", real),
    "cosh": (tinyconv.cosh, "cosh", real),
    "asin": (tinyconv.asin, "asin", lambda s=None: lattice(s, 0.05, 0.1, 8)),
    "acos": (tinyconv.acos, "acos", lambda s=None: lattice(s, 0.05, 0.1, 8)),
    "atan": (tinyconv.atan, "atan", real),
    "neg": (tinyconv.neg, "neg", real),
    "method neg_": (lambda x: (x * 1).neg_(), lambda t, x: (x * 1).neg_(), real),
    "method log1p_": (
        lambda x: (x * 1).log1p_(),
        lambda t, x: (x * 1).log1p_(),
        lambda s=None: real(s, "positive"),
    ),
    "silu inplace": (
        lambda x: F.silu(x * 1, inplace=True),
        lambda t, x: t.nn.functional.silu(x * 1, inplace=True),
        real,
    ),
    "relu6 inplace": (
        lambda x: F.relu6(x * 1, inplace=True),
        lambda t, x: t.nn.functional.relu6(x * 1, inplace=True),
        lattice,
    ),
}


def _torch_fn(spec):
    if callable(spec):
        return spec

    def fn(t, x):
        obj = t
        for part in spec.split("."):
            obj = getattr(obj, part)
        return obj(x)

    return fn


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_backward_matches_finite_differences(name, data):
    fn, _, strat = UNARY[name]
    check(fn, data.draw(strat()))


def _compare(tc_out, th_out, tc_inputs, th_inputs, seed=0):
    """Values and dtypes equal to PyTorch's; then the gradient of a random-weighted sum."""
    tc_outs = tc_out if isinstance(tc_out, tuple) else (tc_out,)
    th_outs = th_out if isinstance(th_out, tuple) else (th_out,)
    for a, b in zip(tc_outs, th_outs, strict=True):
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)
    a, b = tc_outs[0], th_outs[0]
    if not b.requires_grad:
        return
    w = np.random.default_rng(seed).standard_normal(b.shape)
    import torch

    (a * tinyconv.tensor(w)).sum().backward()
    (b * torch.tensor(w)).sum().backward()
    for x, y in zip(tc_inputs, th_inputs, strict=True):
        if y.grad is None:
            assert x.grad is None or not np.any(x.grad.numpy())
        else:
            np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-10, atol=1e-12)


# Points where PyTorch picks one side of a kink, plus ordinary ones.
KINKS = np.array(
    [-7.0, -6.0, -3.0, -2.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.5, 3.0, 6.0, 7.0, 20.0, 25.0]
)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_gradients_match_torch(name):
    torch = pytest.importorskip("torch")
    fn, spec, _ = UNARY[name]
    th = _torch_fn(spec)
    if name in ("asin", "acos"):
        xs = np.linspace(-0.95, 0.95, 11)
    elif name in ("reciprocal", "rsqrt", "log1p", "log2", "log10", "method log1p_"):
        xs = np.linspace(0.25, 4.0, 11)
    else:
        xs = np.concatenate([KINKS, np.linspace(-4.3, 4.1, 9)])
    a = leaf(xs)
    b = torch.tensor(xs, requires_grad=True)
    _compare(fn(a), th(torch, b), [a], [b])
    # float32 in, float32 out, same values to float32 precision
    a32 = tinyconv.tensor(xs.astype(np.float32))
    b32 = torch.tensor(xs.astype(np.float32))
    if "inplace" not in name and "_" not in name.split()[-1]:
        got, want = fn(a32), th(torch, b32)
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize(
    "op",
    [
        "reciprocal",
        "rsqrt",
        "exp2",
        "expm1",
        "log1p",
        "log2",
        "log10",
        "sinh",
        "cosh",
        "asin",
        "acos",
        "atan",
        "erf",
        "floor",
        "ceil",
        "round",
        "trunc",
        "neg",
    ],
)
def test_integer_inputs_follow_torch_dtype_rules(op):
    torch = pytest.importorskip("torch")
    x = [1, 2, 3]
    got = getattr(tinyconv.tensor(x), op)()
    want = getattr(torch.tensor(x), op)()
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_activations_refuse_integer_tensors_like_torch():
    for f in (F.gelu, F.silu, F.elu, F.softplus, F.hardswish, F.hardsigmoid, F.mish):
        with pytest.raises(RuntimeError, match="only floating point"):
            f(tinyconv.tensor([1, 2]))
    assert F.relu6(tinyconv.tensor([-1, 7])).tolist() == [0, 6]
    with pytest.raises(RuntimeError, match="frac"):
        tinyconv.tensor([1, 2]).frac()


# -- binary and ternary ------------------------------------------------------------------


@st.composite
def broadcast3(draw, domain="real"):
    shapes3 = draw(
        st.sampled_from(
            [
                ((2, 3), (2, 3), (2, 3)),
                ((2, 3), (3,), ()),
                ((1, 3), (2, 1), (3,)),
                ((), (2,), (2, 2)),
                ((4,), (4,), (1,)),
            ]
        )
    )
    return [draw(float64_arrays(s, domain).flatmap(non_contiguous)) for s in shapes3]


@given(broadcast3())
def test_atan2_lerp_addcmul_backward(xs):
    a, b, c = xs
    check(lambda x, y: tinyconv.atan2(x, y), a, b + 3)  # keep (x, y) away from the origin
    check(lambda x, y, w: tinyconv.lerp(x, y, w), a, b, c)
    check(lambda x, y: tinyconv.lerp(x, y, 0.3), a, b)
    check(lambda x, y, z: tinyconv.addcmul(x, y, z, value=0.5), a, b, c)


@given(broadcast3())
def test_addcdiv_backward(xs):
    check(lambda x, y, z: tinyconv.addcdiv(x, y, z, value=-2), xs[0], xs[1], np.abs(xs[2]) + 0.5)


def test_binary_and_ternary_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal(3), rng.random((2, 1)) + 0.5
    for f in [
        lambda T, x, y, z: T.atan2(x, y),
        lambda T, x, y, z: x.atan2(z),
        lambda T, x, y, z: T.lerp(x, y.expand(2, 3), z),
        lambda T, x, y, z: T.lerp(x, z.expand(2, 3), 0.25),
        lambda T, x, y, z: T.addcmul(x, y, z, value=3),
        lambda T, x, y, z: T.addcdiv(x, y, z, value=0.5),
        lambda T, x, y, z: x.addcmul(y, z),
        lambda T, x, y, z: (x * 1).addcdiv_(y, z),
    ]:
        ta, tb, tc = leaf(a), leaf(b), leaf(c)
        pa, pb, pc = (torch.tensor(v, requires_grad=True) for v in (a, b, c))
        _compare(f(tinyconv, ta, tb, tc), f(torch, pa, pb, pc), [ta, tb, tc], [pa, pb, pc])
        assert f(tinyconv, ta, tb, tc).grad_fn.name() == f(torch, pa, pb, pc).grad_fn.name()
    # dtype rules
    assert (
        tinyconv.atan2(tinyconv.tensor([1, 2]), tinyconv.tensor([1, 1])).dtype == tinyconv.float32
    )
    assert (
        tinyconv.addcmul(tinyconv.tensor([1]), tinyconv.tensor([2]), tinyconv.tensor([3])).dtype
        == tinyconv.int64
    )
    with pytest.raises(RuntimeError, match="end"):
        tinyconv.lerp(tinyconv.ones(2), tinyconv.ones(2, dtype=tinyconv.float64), 0.5)
    with pytest.raises(RuntimeError, match="integer division"):
        tinyconv.addcdiv(tinyconv.tensor([1]), tinyconv.tensor([2]), tinyconv.tensor([3]))


# -- reductions and scans --------------------------------------------------------------------


@st.composite
def array_and_dim(draw, strat=None, min_dims=1):
    shape = draw(shapes(min_dims=min_dims))
    arr = draw((strat or real)(shape))
    return arr, draw(st.integers(-len(shape), len(shape) - 1)) if shape else 0


@given(array_and_dim(), st.booleans())
def test_logsumexp_cumsum_backward(ad, keepdim):
    arr, d = ad
    check(lambda x: tinyconv.logsumexp(x, d, keepdim), arr)
    check(lambda x: tinyconv.cumsum(x, d), arr)
    check(lambda x: x.diff(dim=d), arr)


@given(array_and_dim(), st.data())
def test_cumprod_backward_with_zeros(ad, data):
    arr, d = ad
    # put exact zeros in (one, or several along the same line) where hypothesis likes
    mask = data.draw(st.lists(st.booleans(), min_size=arr.size, max_size=arr.size))
    arr = np.where(np.array(mask).reshape(arr.shape), 0.0, arr)
    check(lambda x: tinyconv.cumprod(x, d), arr)


def test_reductions_and_scans_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4))
    z = x.copy()
    z[0, 1] = 0.0
    z[1, 0] = z[1, 2] = 0.0  # two zeros in a row
    z[2, 3] = 0.0  # a zero at the end
    cases = [
        (x, lambda T, t: T.logsumexp(t, 1)),
        (x, lambda T, t: T.logsumexp(t, (0, 1), keepdim=True)),
        (x, lambda T, t: t.logsumexp(-1, True)),
        (x, lambda T, t: T.cumsum(t, 0)),
        (x, lambda T, t: t.cumsum(1)),
        (z, lambda T, t: T.cumprod(t, 1)),
        (z, lambda T, t: t.cumprod(0)),
        (x, lambda T, t: T.cumprod(t, 1)),
        (x, lambda T, t: T.diff(t)),
        (x, lambda T, t: T.diff(t, n=2, dim=0)),
        (
            x,
            lambda T, t: T.diff(
                t,
                dim=1,
                prepend=T.zeros(3, 1, dtype=T.float64),
                append=T.ones(3, 2, dtype=T.float64),
            ),
        ),
        (x, lambda T, t: (t * 1).cumsum_(0)),
    ]
    for arr, f in cases:
        a, b = leaf(arr), torch.tensor(arr, requires_grad=True)
        _compare(f(tinyconv, a), f(torch, b), [a], [b])
    big = np.array([1000.0, 1000.0, -np.inf])
    assert tinyconv.logsumexp(tinyconv.tensor(big), 0).item() == pytest.approx(
        torch.logsumexp(torch.tensor(big), 0).item()
    )
    ints = [1, 2, 3]
    assert tinyconv.tensor(ints).cumsum(0).dtype == tinyconv.int64
    assert tinyconv.tensor(ints, dtype=tinyconv.int32).cumsum(0).dtype == tinyconv.int64
    assert tinyconv.tensor(ints).cumsum(0, dtype=tinyconv.float64).dtype == tinyconv.float64
    assert tinyconv.tensor(ints).logsumexp(0).dtype == tinyconv.float32


def test_nonfinite_gradients_and_nan_inputs_match_torch():
    """cumprod with an inf gradient where the product is 0 keeps the rest of the row finite;
    elu, relu6 and hardtanh pass the gradient at NaN, abs / l1_loss give 0 there (sign(NaN) = 0),
    as PyTorch."""
    torch = pytest.importorskip("torch")
    inf, nan = float("inf"), float("nan")
    a = [[2.0, 0.0, 3.0, 4.0], [2.0, 0.0, 0.0, 5.0], [0.0, 0.0, -0.5, 2.0], [2.0, 1.0, 3.0, 4.0]]
    gs = [[[1.0, inf, 1.0, 1.0]] * 4, [[1.0, 1.0, inf, -inf]] * 4, [[inf, -inf, 0.5, -inf]] * 4]
    for g in gs:
        for d in (0, 1):
            out = []
            for T in (torch, tinyconv):
                x = T.tensor(a, dtype=T.float64, requires_grad=True)
                x.cumprod(d).backward(T.tensor(g, dtype=T.float64))
                out.append(np.array(x.grad.tolist()))
            np.testing.assert_array_equal(out[1], out[0])
    for f in (
        lambda T, t: T.nn.functional.elu(t).sum(),
        lambda T, t: t.abs().sum(),
        lambda T, t: T.nn.functional.relu6(t).sum(),
        lambda T, t: T.nn.functional.hardtanh(t, -0.5, 0.5).sum(),
        lambda T, t: T.nn.functional.l1_loss(t, T.zeros(3, dtype=T.float64)),
    ):
        out = []
        for T in (torch, tinyconv):
            x = T.tensor([nan, 1.0, -1.0], dtype=T.float64, requires_grad=True)
            f(T, x).backward()
            out.append(np.array(x.grad.tolist()))
        np.testing.assert_array_equal(out[1], out[0])


# -- gather, scatter, index_select, masked_fill -----------------------------------------------


@st.composite
def gather_case(draw):
    shape = draw(shapes(min_dims=1, max_dims=3))
    d = draw(st.integers(0, len(shape) - 1))
    ishape = tuple(
        draw(st.integers(1, s)) if i != d else draw(st.integers(1, 4)) for i, s in enumerate(shape)
    )
    index = (
        draw(
            st.lists(
                st.integers(0, shape[d] - 1),
                min_size=int(np.prod(ishape)),
                max_size=int(np.prod(ishape)),
            )
        )
        if ishape
        else []
    )
    return draw(real(shape)), d, np.array(index, dtype=np.int64).reshape(ishape)


@given(gather_case())
def test_gather_scatter_backward(case):
    arr, d, idx = case
    index = tinyconv.tensor(idx)
    check(lambda x: x.gather(d, index), arr)
    src = np.linspace(-1, 1, idx.size).reshape(idx.shape)
    check(lambda x, s: x.scatter_add(d, index, s), arr, src)
    # scatter with repeated indices is order-dependent in PyTorch too: check it with unique ones
    uniq = np.argsort(np.random.default_rng(0).random(arr.shape), axis=d)
    uniq = np.take(uniq, np.arange(min(idx.shape[d], arr.shape[d])), axis=d)
    sl = (
        tuple(slice(0, s) for s in idx.shape[:d])
        + (slice(None),)
        + tuple(slice(0, s) for s in idx.shape[d + 1 :])
    )
    u = tinyconv.tensor(np.ascontiguousarray(uniq[sl]))
    check(lambda x, s: x.scatter(d, u, s), arr, np.ones(u.shape) * 0.5)
    check(lambda x: x.scatter(d, u, 2.0), arr)
    check(lambda x: x.index_select(d, tinyconv.tensor(idx.reshape(-1))), arr)


@given(real(shapes(min_dims=1)), st.data())
def test_masked_fill_backward(arr, data):
    mask = np.array(
        data.draw(st.lists(st.booleans(), min_size=arr.size, max_size=arr.size))
    ).reshape(arr.shape)
    m = tinyconv.tensor(mask)
    check(lambda x: x.masked_fill(m, -1.5), arr)
    check(lambda x, v: x.masked_fill(m, v), arr, np.array(0.25))
    check(lambda x: (x * 1).masked_fill_(m[..., :1] if arr.ndim else m, 3.0), arr)


def test_indexing_ops_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4))
    idx = [[0, 0, 2], [1, 3, 3]]  # repeats: their gradients add
    cases = [
        lambda T, t: T.gather(t, 1, T.tensor(idx)),
        lambda T, t: t.gather(0, T.tensor([[2, 0, 1, 1]])),
        lambda T, t: t.scatter(1, T.tensor([[3, 0], [1, 2]]), t[:2, :2] * 2),
        lambda T, t: t.scatter(0, T.tensor([[2, 0, 1, 1]]), 7.5),
        lambda T, t: T.scatter_add(t, 1, T.tensor(idx), t[:2, :3] ** 2),
        lambda T, t: (t * 1).scatter_(1, T.tensor([[3], [0], [1]]), -1.0),
        lambda T, t: (t * 1).scatter_add_(0, T.tensor([[0, 0, 2, 2]]), t[2:] * 3),
        lambda T, t: T.index_select(t, 1, T.tensor([3, 0, 3])),
        lambda T, t: t.index_select(0, T.tensor([1])),
        lambda T, t: t.masked_fill(t > 0, 0.5),
        lambda T, t: t.masked_fill(
            T.tensor([True, False, True, False]), T.tensor(2.0, dtype=T.float64)
        ),
        lambda T, t: (t * 1).masked_fill_(t < 0, 0.0),
    ]
    for f in cases:
        a, b = leaf(x), torch.tensor(x, requires_grad=True)
        ra, rb = f(tinyconv, a), f(torch, b)
        _compare(ra, rb, [a], [b])
        assert ra.grad_fn.name() == rb.grad_fn.name()
    with pytest.raises(IndexError, match="out of bounds"):
        tinyconv.zeros(2, 3).gather(1, tinyconv.tensor([[3]]))
    with pytest.raises(RuntimeError, match="int64"):
        tinyconv.zeros(2, 3).gather(1, tinyconv.tensor([[0.0]]))
    with pytest.raises(RuntimeError, match="mask must be a bool"):
        tinyconv.zeros(2).masked_fill(tinyconv.tensor([1, 0]), 1.0)
    with pytest.raises(RuntimeError, match="larger than the input"):
        tinyconv.zeros(2, 3).gather(0, tinyconv.zeros(2, 4, dtype=tinyconv.int64))


# -- shape ops -----------------------------------------------------------------------------------


@given(array_and_dim(), st.integers(-5, 5), st.integers(1, 3))
def test_shape_ops_backward(ad, shift, reps):
    arr, d = ad
    n = arr.shape[d]
    check(lambda x: x.narrow(d, 0, max(n - 1, 1)), arr)
    check(lambda x: x.roll(shift, d), arr)
    check(lambda x: x.roll(shift), arr)
    check(lambda x: x.tile((reps,)), arr)
    check(lambda x: x.tile((2,) + (1,) * arr.ndim), arr)
    if arr.ndim >= 2:
        check(lambda x: x.tril(shift % 3 - 1), arr)
        check(lambda x: x.triu(-1), arr)


@given(real(shapes(min_dims=1, max_dims=1)), real(shapes(min_dims=1, max_dims=1)))
def test_outer_backward(a, b):
    check(lambda x, y: tinyconv.outer(x, y), a, b)


def test_shape_ops_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal((3, 4))
    cases = [
        lambda T, t: t.narrow(1, 1, 2),
        lambda T, t: T.narrow(t, 0, -2, 2),
        lambda T, t: T.roll(t, 1),
        lambda T, t: t.roll((1, -2), (0, 1)),
        lambda T, t: t.roll(5, 1),
        lambda T, t: T.tile(t, (2,)),
        lambda T, t: t.tile(2, 1, 1),
        lambda T, t: t.repeat(2, 3),
        lambda T, t: T.outer(t[0], t[1]),
        lambda T, t: T.tril(t),
        lambda T, t: t.triu(1),
        lambda T, t: t.tril(-1),
        lambda T, t: (t * 1).triu_(),
    ]
    for f in cases:
        a, b = leaf(x), torch.tensor(x, requires_grad=True)
        ra, rb = f(tinyconv, a), f(torch, b)
        _compare(ra, rb, [a], [b])
        assert ra.grad_fn.name() == rb.grad_fn.name()


# -- sort, argsort, topk ------------------------------------------------------------------------


@given(st.data())
def test_sort_topk_backward(data):
    shape = data.draw(shapes(min_dims=1))
    arr = data.draw(distinct_arrays(shape))  # no ties: the gradient is well defined
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    k = data.draw(st.integers(0, shape[d]))
    desc = data.draw(st.booleans())
    check(lambda x: x.sort(d, descending=desc).values, arr)
    check(lambda x: x.topk(k, d, largest=desc).values, arr)


def test_sort_topk_match_torch_including_ties():
    torch = pytest.importorskip("torch")
    x = np.array([[3.0, 1.0, 2.0, 1.0], [1.0, 1.0, 0.0, 5.0], [2.0, -1.0, 2.0, 2.0]])
    distinct = np.array([[3.0, 1.0, 2.0, 0.5], [1.5, 1.0, 0.0, 5.0], [2.0, -1.0, 2.5, 2.25]])
    # (PyTorch does not define which of two equal elements topk returns first: no ties there)
    for arr, f in [
        (x, lambda T, t: t.sort()),
        (x, lambda T, t: T.sort(t, 0)),
        (x, lambda T, t: t.sort(descending=True, stable=True)),
        (x, lambda T, t: T.sort(t, dim=1, descending=True, stable=True)),
        (distinct, lambda T, t: t.topk(2)),
        (distinct, lambda T, t: T.topk(t, 1, 0)),
        (distinct, lambda T, t: t.topk(3, largest=False)),
    ]:
        a, b = leaf(arr), torch.tensor(arr, requires_grad=True)
        ra, rb = f(tinyconv, a), f(torch, b)
        _compare(tuple(ra), tuple(rb), [a], [b])
        assert ra.values.grad_fn.name() == rb.values.grad_fn.name()
    y = np.array([[3.0, 1.0, 2.0, 1.0], [1.0, 1.0, 0.0, 5.0]])
    assert (
        tinyconv.argsort(tinyconv.tensor(y), stable=True).tolist()
        == torch.argsort(torch.tensor(y), stable=True).tolist()
    )
    assert (
        tinyconv.tensor(y).argsort(descending=True, stable=True).tolist()
        == torch.tensor(y).argsort(descending=True, stable=True).tolist()
    )
    with pytest.raises(RuntimeError, match="out of range"):
        tinyconv.zeros(3).topk(4)


# -- einsum
# -------------------------------------------------------------------------------------------


EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("i,j->ij", [(3,), (2,)]),
    ("ij->ji", [(2, 3)]),
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->i", [(2, 3)]),
    ("i,i->", [(3,), (3,)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
    ("bhqd,bhkd->bhqk", [(1, 2, 3, 2), (1, 2, 4, 2)]),
    ("ij,jk", [(2, 3), (3, 2)]),
    ("ij,kj->ik", [(1, 3), (2, 3)]),
    ("i,i,i->i", [(3,), (3,), (3,)]),
    ("ij,j->i", [(2, 3), (3,)]),
    ("...i->...", [(2, 3)]),
    # three or more operands: contracted pairwise, left to right (as PyTorch)
    ("bij,bjk,bkl->bil", [(2, 2, 3), (2, 3, 4), (2, 4, 2)]),
    ("ab,cd,bd->ac", [(2, 3), (4, 2), (3, 2)]),
    ("ij,jk,kl,lm->mi", [(2, 3), (3, 2), (2, 4), (4, 3)]),
    ("ii,ij,j->i", [(3, 3), (3, 2), (2,)]),
    ("ij,j,k->", [(2, 3), (3,), (2,)]),
]


EINSUM2 = [
    ("bij", "bjk", "bik"),
    ("bij", "bjk", "kbi"),
    ("ij", "kj", "ik"),
    ("i", "j", "ji"),
    ("i", "i", ""),
    ("", "ij", "ji"),
    ("bhqd", "bhkd", "bhqk"),
    ("abc", "cab", "b"),
    ("ii", "ij", "j"),  # a repeated letter: np.einsum itself
    ("ij", "jk", "k"),  # i summed within one operand: np.einsum itself
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sa,sb,out", EINSUM2)
def test_einsum2_matches_np_einsum(sa, sb, out, dtype):
    """The two-operand einsum as a batched matmul gives np.einsum's values, dtype and shape."""
    from tinyconv.kernels.contract import einsum2

    rng = np.random.default_rng(3)
    size = dict(zip("abcdhijkq", (2, 3, 4, 2, 3, 5, 4, 3, 2), strict=True))
    a = rng.standard_normal([size[c] for c in sa]).astype(dtype)
    b = rng.standard_normal([size[c] for c in sb]).astype(dtype)[..., ::1]
    if b.ndim >= 2:  # a non-contiguous operand
        b = np.swapaxes(np.ascontiguousarray(np.swapaxes(b, 0, -1)), 0, -1)
    got = einsum2(sa, sb, out, a, b)
    want = np.einsum(f"{sa},{sb}->{out}", a.astype(np.float64), b.astype(np.float64))
    assert got.dtype == dtype and got.shape == want.shape and got.flags.c_contiguous
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("eq,shapes_", EINSUMS)
def test_einsum_backward_and_torch(eq, shapes_):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s) for s in shapes_]
    check(lambda *xs: tinyconv.einsum(eq, *xs), *arrays)
    torch = pytest.importorskip("torch")
    a = [leaf(v) for v in arrays]
    b = [torch.tensor(v, requires_grad=True) for v in arrays]
    _compare(tinyconv.einsum(eq, *a), torch.einsum(eq, *b), a, b)
    assert tinyconv.einsum(eq, a).shape == torch.einsum(eq, b).shape  # operands as one list
    assert tinyconv.einsum(eq, *a).grad_fn.name() == torch.einsum(eq, *b).grad_fn.name()


def test_einsum_errors_name_the_problem():
    with pytest.raises(ValueError, match="names 2 operand"):
        tinyconv.einsum("ij,jk->ik", tinyconv.ones(2, 2))
    with pytest.raises(ValueError, match="subscript 'j' has size"):
        tinyconv.einsum("ij,jk->ik", tinyconv.ones(2, 2), tinyconv.ones(3, 2))
    with pytest.raises(ValueError, match="has 2 dimension"):
        tinyconv.einsum("i->i", tinyconv.ones(2, 2))


# -- normalize, layer_norm
# --------------------------------------------------------------------------


@given(array_and_dim(min_dims=1), st.sampled_from([1.0, 2.0, 3.0]))
def test_normalize_backward(ad, p):
    arr, d = ad
    arr = np.where(np.abs(arr) < 0.1, 0.5, arr)  # |x|^p for p = 1 has a kink at 0
    check(lambda x: F.normalize(x, p=p, dim=d), arr)


@st.composite
def layer_norm_case(draw):
    shape = draw(shapes(min_dims=1, max_dims=3, min_side=2))
    k = draw(st.integers(1, len(shape)))
    return draw(real(shape)), shape[len(shape) - k :], draw(st.booleans()), draw(st.booleans())


@given(layer_norm_case())
def test_layer_norm_backward(case):
    arr, ns, affine, bias = case
    rng = np.random.default_rng(0)
    if affine:
        w, b = rng.standard_normal(ns), rng.standard_normal(ns)
        if bias:
            check(lambda x, w_, b_: F.layer_norm(x, ns, w_, b_), arr, w, b)
        else:
            check(lambda x, w_: F.layer_norm(x, ns, w_), arr, w)
    else:
        check(lambda x: F.layer_norm(x, ns, eps=1e-3), arr)


def test_normalize_and_layer_norm_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal(4), rng.standard_normal(4)
    x[0, 0] = 0.0  # a zero row: normalize divides by eps
    for f in [
        lambda T, F_, t, w_, b_: F_.normalize(t),
        lambda T, F_, t, w_, b_: F_.normalize(t, p=1.0, dim=-1),
        lambda T, F_, t, w_, b_: F_.layer_norm(t, (4,), w_, b_),
        lambda T, F_, t, w_, b_: F_.layer_norm(t, (3, 4)),
        lambda T, F_, t, w_, b_: F_.layer_norm(t, [4], w_, None, 1e-3),
    ]:
        a = [leaf(v) for v in (x, w, b)]
        p = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
        ra, rb = f(tinyconv, F, *a), f(torch, torch.nn.functional, *p)
        _compare(ra, rb, a, p)
        assert ra.grad_fn.name() == rb.grad_fn.name()


def test_saved_outputs_of_rsqrt_and_layer_norm_as_pytorch():
    """rsqrt saves its result (in-place on it: backward raises); layer_norm saves its input and
    statistics, not its output (in-place on the output is fine), as PyTorch."""
    torch = pytest.importorskip("torch")
    for f in (lambda T, t: t.rsqrt(), lambda T, t: T.nn.functional.layer_norm(t, (3,))):
        out = []
        for T in (torch, tinyconv):
            x = T.tensor([[1.0, 2.0, 4.0]], dtype=T.float64, requires_grad=True)
            y = f(T, x)
            y.mul_(2)
            try:
                (y * T.tensor([1.0, -2.0, 0.5], dtype=T.float64)).sum().backward()
                out.append(np.array(x.grad.tolist()))
            except RuntimeError:
                out.append("raises")
        if isinstance(out[0], str):
            assert out[1] == out[0]
        else:
            np.testing.assert_allclose(out[1], out[0], rtol=1e-12, atol=1e-12)


def test_layer_norm_module_matches_torch_init_state_dict_and_repr():
    torch = pytest.importorskip("torch")
    for args, kw in [
        ((4,), {}),
        ((4,), {"bias": False}),
        (((3, 4),), {"elementwise_affine": False}),
        ((4,), {"eps": 1e-3}),
    ]:
        m, t = nn.LayerNorm(*args, **kw), torch.nn.LayerNorm(*args, **kw)
        assert repr(m) == repr(t)
        assert list(m.state_dict()) == list(t.state_dict())
        for k, v in t.state_dict().items():
            np.testing.assert_array_equal(m.state_dict()[k].numpy(), v.numpy())
        x = np.random.default_rng(7).standard_normal((2, 3, 4)).astype(np.float32)
        np.testing.assert_allclose(
            m(tinyconv.tensor(x)).detach().numpy(),
            t(torch.tensor(x)).detach().numpy(),
            rtol=1e-5,
            atol=1e-5,
        )
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(tinyconv.ones(2, 3), (4,))


def test_activation_modules_repr_and_values_match_torch():
    torch = pytest.importorskip("torch")
    x = np.linspace(-7, 7, 15).astype(np.float32)
    for name, args in [
        ("GELU", ()),
        ("GELU", ("tanh",)),
        ("SiLU", ()),
        ("SiLU", (True,)),
        ("ELU", ()),
        ("ELU", (0.5, True)),
        ("Softplus", ()),
        ("Softplus", (2, 10)),
        ("ReLU6", ()),
        ("ReLU6", (True,)),
        ("Hardtanh", ()),
        ("Hardtanh", (-2, 2, True)),
        ("Hardswish", ()),
        ("Hardswish", (True,)),
        ("Hardsigmoid", ()),
        ("Mish", ()),
    ]:
        m, t = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
        assert repr(m) == repr(t)
        a, b = tinyconv.tensor(x), torch.tensor(x)
        out_a, out_b = m(a), t(b)
        np.testing.assert_allclose(out_a.numpy(), out_b.numpy(), rtol=2e-6, atol=2e-6)
        np.testing.assert_allclose(
            a.numpy(), b.numpy(), rtol=2e-6, atol=2e-6
        )  # inplace wrote, or not, alike


# -- allclose, assert_close ------------------------------------------------------------------------


def test_allclose_matches_torch():
    torch = pytest.importorskip("torch")
    pairs = [
        ([1.0, 2.0], [1.0, 2.00001]),
        ([1.0, float("nan")], [1.0, float("nan")]),
        ([1e-9], [0.0]),
        ([1.0], [1.1]),
    ]
    for a, b in pairs:
        for kw in [{}, {"equal_nan": True}, {"rtol": 0.2}, {"atol": 0.5, "rtol": 0}]:
            want = torch.allclose(torch.tensor(a), torch.tensor(b), **kw)
            assert tinyconv.allclose(tinyconv.tensor(a), tinyconv.tensor(b), **kw) == want
            assert tinyconv.tensor(a).allclose(tinyconv.tensor(b), **kw) == want
    with pytest.raises(RuntimeError, match="dtypes must match"):
        tinyconv.allclose(tinyconv.ones(2), tinyconv.ones(2, dtype=tinyconv.float64))
    assert tinyconv.ones(2, 3).allclose(tinyconv.ones(3))  # broadcasts, as torch


ASSERT_CLOSE_CASES = [
    lambda T: (T.tensor([1.0, 2.0, 3.0]), T.tensor([1.0, 2.1, 3.0]), {}),
    lambda T: (T.tensor([1.0, 2.0, 3.0]), T.tensor([1.0, 2.0, 3.0], dtype=T.float64), {}),
    lambda T: (T.tensor([1.0, 2.0]), T.tensor([1.0, 2.0, 3.0]), {}),
    lambda T: (T.tensor([1, 2]), T.tensor([1, 3]), {}),
    lambda T: (T.tensor([[1.0, float("nan")]]), T.tensor([[1.0, float("nan")]]), {}),
    lambda T: (
        T.tensor([[1.0, float("nan")]]),
        T.tensor([[1.0, float("nan")]]),
        {"equal_nan": True},
    ),
    lambda T: (
        T.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=T.float64),
        T.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=T.float64),
        {},
    ),
    lambda T: (1.0, 1.1, {}),
    lambda T: (1.0, 1.0 + 1e-9, {}),
    lambda T: (T.tensor(1.0, dtype=T.float64), T.tensor(1.5, dtype=T.float64), {}),
    lambda T: ([T.tensor([1.0]), T.tensor([2.0])], [T.tensor([1.0]), T.tensor([2.5])], {}),
    lambda T: (T.tensor([1.0, 2.0]), T.tensor([1.0, 2.0], dtype=T.float64), {"check_dtype": False}),
    lambda T: (T.tensor([1.0, 2.0], requires_grad=True), T.tensor([1.0, 2.0]), {}),
    lambda T: (
        T.tensor([0.0, 2.0], dtype=T.float64),
        T.tensor([1e-3, 2.0], dtype=T.float64),
        {"rtol": 0, "atol": 1e-4},
    ),
    lambda T: (T.tensor([1.0]), T.tensor([1.0]), {"rtol": 1e-3}),
    lambda T: (
        {"a": T.tensor([1.0], dtype=T.float64)},
        {"a": T.tensor([2.0], dtype=T.float64)},
        {},
    ),
    lambda T: (T.tensor([1.0, 2.0]), T.tensor([1.0, 2.0 + 1e-6]), {}),
    lambda T: (T.tensor([1.0, 2.0]), [1.0, 2.0], {}),
]


@pytest.mark.parametrize("i", range(len(ASSERT_CLOSE_CASES)))
def test_assert_close_passes_fails_and_words_it_like_torch(i):
    torch = pytest.importorskip("torch")
    from torch.testing import assert_close as torch_assert_close

    from tinyconv.testing import assert_close

    a, b, kw = ASSERT_CLOSE_CASES[i](torch)
    try:
        torch_assert_close(a, b, **kw)
        want = None
    except Exception as e:  # noqa: BLE001  (whatever torch raises, tinyconv must raise the same)
        want = (type(e), str(e))
    a, b, kw = ASSERT_CLOSE_CASES[i](tinyconv)
    if want is None:
        assert_close(a, b, **kw)
        return
    with pytest.raises(want[0]) as err:
        assert_close(a, b, **kw)
    if want[0] is AssertionError:
        # the same message, up to the library name in dtypes and the float32 rounding of relative
        # differences
        norm = [s.replace("torch.", "").replace("tinyconv.", "") for s in (str(err.value), want[1])]
        first = [s.split("Greatest relative")[0].split("Relative difference")[0] for s in norm]
        assert first[0] == first[1]
        assert (
            norm[0].split("\n")[-1] == norm[1].split("\n")[-1]
            or "relative" in norm[1].split("\n")[-1].lower()
        )


@pytest.mark.torch
@pytest.mark.parametrize("name", ["relu6", "hardtanh", "hardsigmoid"])
def test_infinite_gradient_outside_the_linear_part_gives_zero_as_torch(name):
    """Outside their linear part these send 0, even when the incoming gradient is infinite
    (PyTorch selects; a product gave nan). Found by the fuzzer: relu6(x).log() at x < 0."""
    torch = pytest.importorskip("torch")
    grads = []
    for T in (tinyconv, torch):
        x = T.tensor([-4.0, -0.5, 0.5, 7.0], dtype=T.float64, requires_grad=True)
        getattr(T.nn.functional, name)(x).backward(T.tensor([float("inf")] * 4, dtype=T.float64))
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1]
