"""index_add / index_copy / index_fill / masked_scatter / scatter_reduce, the in-place view ops
(squeeze_, unsqueeze_, t_, transpose_) and the special functions (lgamma, digamma, polygamma,
erfinv): values, dtypes, grad_fn names and gradients against PyTorch 2.13 (skipped without
it), gradcheck and gradgradcheck in float64 on hypothesis-drawn shapes, and PyTorch's errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import float64_arrays, shapes

import tinyconv
from tinyconv.autograd import gradcheck, gradgradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}


def _np(t):
    return t.detach().numpy()


def _leaf(lib, arr, grad=True):
    return lib.from_numpy(np.array(arr, dtype=np.float64)).requires_grad_(grad)


def _torch():
    return pytest.importorskip("torch")


@st.composite
def along_configs(draw, n_min: int = 0):
    """(self shape, dim, index (1-D, in range), source shape) for index_add/index_copy."""
    shape = draw(shapes(1, 3, max_side=4))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    k = draw(st.integers(n_min, 4))
    idx = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k))
    src = list(shape)
    src[dim] = k
    return tuple(shape), dim, np.array(idx, dtype=np.int64), tuple(src)


def _compare(program, arrays, name=None, rtol=1e-12):
    """Run program(lib, *leaves) in both libraries: value, dtype, grad_fn name, gradients."""
    torch = _torch()
    res = []
    for lib in (tinyconv, torch):
        xs = [_leaf(lib, a) for a in arrays]
        out = program(lib, *xs)
        w = np.random.default_rng(0).standard_normal(tuple(out.shape))
        grads = lib.autograd.grad(
            (out * lib.tensor(w.tolist(), dtype=out.dtype)).sum(), xs, allow_unused=True
        )
        res.append((out, [None if g is None else _np(g) for g in grads]))
    (oc, gc), (ot, gt) = res
    assert tuple(oc.shape) == tuple(ot.shape)
    assert str(oc.dtype).split(".")[-1] == str(ot.dtype).split(".")[-1]
    np.testing.assert_allclose(_np(oc), _np(ot), rtol=rtol, atol=1e-300, equal_nan=True)
    if name:
        assert oc.grad_fn.name() == ot.grad_fn.name() == name
    for a, b in zip(gc, gt, strict=True):
        if b is None:
            assert a is None or not np.any(a)
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12, equal_nan=True)


# -- index_add / index_copy / index_fill / masked_scatter -----------------------------------


@settings(max_examples=15)
@given(cfg=along_configs(), alpha=st.sampled_from([1, 2.5, -1]), seed=st.integers(0, 99))
def test_index_add_matches_torch_and_gradcheck(cfg, alpha, seed):
    shape, dim, idx, src = cfg
    rng = np.random.default_rng(seed)
    x, s = rng.standard_normal(shape), rng.standard_normal(src)

    def prog(lib, a, b):
        return a.index_add(dim, lib.tensor(idx.tolist(), dtype=lib.int64), b, alpha=alpha)

    _compare(prog, [x, s], "IndexAddBackward0")
    xs = (_leaf(tinyconv, x), _leaf(tinyconv, s))
    f = lambda a, b: prog(tinyconv, a, b) ** 2  # noqa: E731
    assert gradcheck(f, xs, **TOL)
    assert gradgradcheck(f, xs, atol=1e-6, rtol=1e-4)


@settings(max_examples=15)
@given(cfg=along_configs(), seed=st.integers(0, 99))
def test_index_copy_matches_torch_and_gradcheck(cfg, seed):
    shape, dim, idx, src = cfg
    idx = np.unique(idx)  # (with repeats PyTorch leaves the winner unspecified)
    src = tuple(len(idx) if i == dim % len(shape) else n for i, n in enumerate(src))
    rng = np.random.default_rng(seed)
    x, s = rng.standard_normal(shape), rng.standard_normal(src)

    def prog(lib, a, b):
        return a.index_copy(dim, lib.tensor(idx.tolist(), dtype=lib.int64), b)

    _compare(prog, [x, s], "IndexCopyBackward0")
    xs = (_leaf(tinyconv, x), _leaf(tinyconv, s))
    f = lambda a, b: prog(tinyconv, a, b) ** 2  # noqa: E731
    assert gradcheck(f, xs, **TOL)
    assert gradgradcheck(f, xs, atol=1e-6, rtol=1e-4)


@settings(max_examples=15)
@given(cfg=along_configs(), tensor_value=st.booleans(), seed=st.integers(0, 99))
def test_index_fill_matches_torch_and_gradcheck(cfg, tensor_value, seed):
    shape, dim, idx, _ = cfg
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    neg = idx - shape[dim]  # negative indices count from the end for index_fill
    torch = _torch()
    a = tinyconv.from_numpy(x).index_fill(
        dim, tinyconv.tensor(neg.tolist(), dtype=tinyconv.int64), 2.0
    )
    b = torch.from_numpy(x).index_fill(dim, torch.tensor(neg.tolist(), dtype=torch.int64), 2.0)
    np.testing.assert_array_equal(a.numpy(), b.numpy())

    def prog(lib, a, v):  # (PyTorch's backward fails on negative indices: non-negative here)
        value = v * 2 if tensor_value else 1.5
        return a.index_fill(dim, lib.tensor(idx.tolist(), dtype=lib.int64), value)

    name = "IndexFillBackward1" if tensor_value else "IndexFillBackward0"
    _compare(prog, [x, 0.75], name)
    xs = (_leaf(tinyconv, x), _leaf(tinyconv, 0.75))
    f = lambda a, v: prog(tinyconv, a, v) ** 2  # noqa: E731
    assert gradcheck(f, xs, **TOL)
    assert gradgradcheck(f, xs, atol=1e-6, rtol=1e-4)


@settings(max_examples=15)
@given(shape=shapes(0, 3, max_side=3), data=st.data())
def test_masked_scatter_matches_torch_and_gradcheck(shape, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    mshape = data.draw(st.sampled_from([shape, shape[1:], (1,) + shape]))
    mask = rng.random(mshape) < 0.5
    out_shape = np.broadcast_shapes(shape, mshape)
    extra = data.draw(st.integers(0, 3))
    x = rng.standard_normal(shape)
    s = rng.standard_normal(int(np.prod(out_shape)) + extra)

    def prog(lib, a, b):
        return a.masked_scatter(lib.tensor(mask.tolist(), dtype=lib.bool), b)

    _compare(prog, [x, s], "MaskedScatterBackward0")
    xs = (_leaf(tinyconv, x), _leaf(tinyconv, s))
    f = lambda a, b: prog(tinyconv, a, b) ** 2  # noqa: E731
    assert gradcheck(f, xs, **TOL)
    assert gradgradcheck(f, xs, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("op", ["index_add_", "index_copy_", "index_fill_", "masked_scatter_"])
def test_in_place_index_ops_match_torch(op):
    torch = _torch()
    res = []
    for lib in (tinyconv, torch):
        w = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=lib.float64, requires_grad=True)
        s = lib.tensor([[7.0, 8.0, 9.0]], dtype=lib.float64, requires_grad=True)
        y = w * 1
        i = lib.tensor([1])
        call = {
            "index_add_": lambda y=y, i=i, s=s: y.index_add_(0, i, s, alpha=2),
            "index_copy_": lambda y=y, i=i, s=s: y.index_copy_(0, i, s),
            "index_fill_": lambda y=y, i=i: y.index_fill_(1, i, -1.0),
            "masked_scatter_": lambda y=y, s=s, lib=lib: y.masked_scatter_(
                lib.tensor([True, False, False]), s
            ),
        }[op]
        r = call()
        assert r is y
        (y * y).sum().backward()
        res.append((_np(y), _np(w.grad), None if s.grad is None else _np(s.grad), y._version))
        with lib.no_grad():  # the plain path on a tensor that needs no gradient
            z = lib.zeros(2, 3, dtype=lib.float64)
            if op in ("index_add_", "index_copy_"):
                getattr(z, op)(0, i, s)
            elif op == "index_fill_":
                z.index_fill_(1, i, 2.0)
            else:
                z.masked_scatter_(lib.tensor([False, True, False]), s)
            res[-1] += (z.numpy().copy(),)
    for a, b in zip(*res, strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-12)
        else:
            assert a == b or a is None or b is None


def _raises_like_torch(fn):
    torch = _torch()
    kinds = []
    for lib in (tinyconv, torch):
        try:
            fn(lib)
            kinds.append(None)
        except (RuntimeError, IndexError, TypeError, ValueError) as e:
            kinds.append(type(e).__mro__[1] if type(e).__name__ == "LinAlgError" else type(e))
    assert kinds[0] is not None and kinds[1] is not None, kinds
    assert issubclass(kinds[0], kinds[1]) or issubclass(kinds[1], kinds[0]), kinds


@pytest.mark.parametrize(
    "bad",
    [
        lambda T: T.zeros(3, 4).index_add(0, T.tensor([0, 1]), T.ones(2, 3)),
        lambda T: T.zeros(3, 4).index_add(0, T.tensor([0]), T.ones(1, 4, dtype=T.float64)),
        lambda T: T.zeros(3, 4).index_add(0, T.tensor([[0, 1]]), T.ones(2, 4)),
        lambda T: T.zeros(3, 4).index_add(0, T.tensor([3]), T.ones(1, 4)),
        lambda T: T.zeros(3, 4).index_add(0, T.tensor([-1]), T.ones(1, 4)),
        lambda T: T.zeros(3, 4).index_add(0, T.tensor([1.0]), T.ones(1, 4)),
        lambda T: T.zeros(3, 4).index_copy(0, T.tensor([0, 1]), T.ones(3, 4)),
        lambda T: T.zeros(3, 4).index_copy(0, T.tensor([-1]), T.ones(1, 4)),
        lambda T: T.zeros(3, 4).index_copy(0, T.tensor([1], dtype=T.int32), T.ones(1, 4)),
        lambda T: T.zeros(3, 4).index_fill(1, T.tensor([1]), T.tensor([2.0])),
        lambda T: T.zeros(3, 4).index_fill(1, T.tensor([4]), 2.0),
        lambda T: T.zeros(3, 4).index_fill(1, T.tensor([1], dtype=T.int32), 2.0),
        lambda T: T.zeros(3, 4).index_fill(1, T.tensor([[1]]), 2.0),
        lambda T: T.zeros(3, 4).masked_scatter(T.ones(3, 4, dtype=T.bool), T.ones(5)),
        lambda T: T.zeros(3, 4).masked_scatter(
            T.ones(3, 4, dtype=T.bool), T.ones(12, dtype=T.float64)
        ),
        lambda T: T.zeros(4).masked_scatter_(T.ones(3, 4, dtype=T.bool), T.ones(12)),
    ],
)
def test_index_op_errors_match_torch(bad):
    _raises_like_torch(bad)


def test_index_ops_on_integers_and_zero_d():
    torch = _torch()
    for expr in (
        lambda T: T.zeros(3, dtype=T.long).index_add(0, T.tensor([1, 1]), T.ones(2, dtype=T.long)),
        lambda T: T.zeros(3, dtype=T.long).index_fill(0, T.tensor([1]), 2.5),
        lambda T: T.tensor(3.0).index_add(0, T.tensor([0]), T.tensor(2.0)),
        lambda T: T.tensor(3.0).index_fill(0, T.tensor(0), 1.0),
        lambda T: T.tensor(3.0).index_copy(0, T.tensor([0]), T.tensor(2.0)),
        lambda T: T.zeros(3, 4).masked_scatter(
            T.tensor([True, False, True, False]), T.arange(20.0)
        ),
    ):
        a, b = expr(tinyconv), expr(torch)
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# -- in-place view ops ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "name"),
    [
        ("squeeze_()", "SqueezeBackward3"),
        ("squeeze_(1)", "SqueezeBackward4"),
        ("squeeze_((1,))", "SqueezeBackward5"),
        ("unsqueeze_(0)", "UnsqueezeBackward1"),
        ("unsqueeze_(-1)", "UnsqueezeBackward1"),
        ("transpose_(0, 2)", "TransposeBackward1"),
        ("swapdims_(0, 1)", "TransposeBackward1"),
        ("swapaxes_(2, 1)", "TransposeBackward1"),
    ],
)
def test_in_place_view_ops_match_torch(call, name):
    torch = _torch()
    res = []
    for lib in (tinyconv, torch):
        w = lib.tensor(
            np.arange(6.0).reshape(2, 1, 3).tolist(), dtype=lib.float64, requires_grad=True
        )
        y = w * 2
        before = y._version
        r = eval("y." + call)  # noqa: S307
        assert r is y
        assert y.grad_fn.name() == name
        (y * lib.arange(y.numel(), dtype=lib.float64).reshape(y.shape)).sum().backward()
        res.append((tuple(y.shape), _np(y), _np(w.grad), y._version - before, y.is_contiguous()))
        # a plain tensor: same memory, new shape
        z = lib.arange(6.0).reshape(2, 1, 3)
        eval("z." + call)  # noqa: S307
        res[-1] += (tuple(z.shape), z.numpy().copy())
    for a, b in zip(*res, strict=True):
        np.testing.assert_array_equal(a, b)


def test_t_in_place_and_leaf_rules():
    torch = _torch()
    for lib in (tinyconv, torch):
        x = lib.ones(2, 3, requires_grad=True)
        with pytest.raises(RuntimeError):
            x.t_()
        with lib.no_grad():
            x.t_()
        assert tuple(x.shape) == (3, 2) and x.is_leaf
        y = (lib.arange(6.0).reshape(2, 3) * 1).requires_grad_()
        z = y * 1
        z.t_()
        assert z.grad_fn.name() == "TBackward1"
        with pytest.raises((RuntimeError, ValueError)):
            lib.ones(2, 3, 4).t_()
        a = lib.arange(6.0).reshape(2, 3)
        a.t_()
        a[0, 1] = 100.0  # writes through to the same memory, at the transposed place
        assert a.numpy().tolist() == [[0.0, 100.0], [1.0, 4.0], [2.0, 5.0]]


def test_in_place_view_op_on_a_view_writes_through():
    torch = _torch()
    res = []
    for lib in (tinyconv, torch):
        base = lib.zeros(2, 3, dtype=lib.float64, requires_grad=True)
        z = base * 1
        v = z[0]
        v.unsqueeze_(0)
        v.mul_(2).add_(1)
        z.sum().backward()
        res.append((_np(z), _np(base.grad), tuple(v.shape)))
    for a, b in zip(*res, strict=True):
        np.testing.assert_array_equal(a, b)


# -- special functions -----------------------------------------------------------------------

SPECIAL_POINTS = [
    0.0,
    -0.0,
    -1.0,
    -2.5,
    1.0,
    2.0,
    0.5,
    1e-8,
    1e10,
    math.inf,
    -math.inf,
    math.nan,
    171.0,
    -1e-300,
    -0.5,
    -3.7,
    3.3,
    7.7,
    12.5,
    0.1,
    -7.3,
    30.0,
    1e-3,
]


@pytest.mark.parametrize("fn", ["lgamma", "digamma", "polygamma1", "polygamma2", "polygamma3"])
def test_gamma_family_values_match_torch(fn):
    """Every listed point, including the poles and infinities, in float64 and float32.
    Trigamma: PyTorch's own series is accurate to ~1e-9 relative (tinyconv's to ~1e-16:
    psi1(1) = pi^2 / 6 exactly), so that one is compared at 1e-8."""
    torch = _torch()
    rtol = 1e-8 if fn == "polygamma1" else 1e-12
    for dt in ("float64", "float32"):
        outs = []
        for lib in (tinyconv, torch):
            x = lib.tensor(SPECIAL_POINTS, dtype=getattr(lib, dt))
            y = lib.polygamma(int(fn[-1]), x) if fn.startswith("poly") else getattr(lib, fn)(x)
            outs.append(y)
        assert str(outs[0].dtype).split(".")[-1] == dt
        np.testing.assert_allclose(
            outs[0].numpy(),
            outs[1].numpy(),
            rtol=rtol if dt == "float64" else 2e-6,
            equal_nan=True,
        )


def test_polygamma_identities():
    """psi1(1) = pi^2/6, psi2(1) = -2 zeta(3), and the recurrence
    psi_n(x + 1) = psi_n(x) + (-1)^n n! / x^(n+1), to float64 rounding."""
    x = tinyconv.tensor([1.0], dtype=tinyconv.float64)
    assert abs(tinyconv.polygamma(1, x).item() - math.pi**2 / 6) < 1e-15
    assert abs(tinyconv.polygamma(2, x).item() + 2 * 1.2020569031595942) < 1e-15
    xs = np.array([0.3, 1.7, 4.2, 9.9, 25.0])
    for n in range(0, 5):
        a = tinyconv.polygamma(n, tinyconv.tensor(xs)).numpy()
        b = tinyconv.polygamma(n, tinyconv.tensor(xs + 1)).numpy()
        want = (-1) ** n * math.factorial(n) / xs ** (n + 1)
        np.testing.assert_allclose(b - a, want, rtol=1e-12)


def test_erfinv_values_match_torch():
    torch = _torch()
    x = np.concatenate(
        [
            np.linspace(-1, 1, 2001),
            [0.0, -0.0, 1.0, -1.0, 1.5, -2.0, math.nan, 1 - 1e-12, -0.999999, 1e-300],
            1 - np.logspace(-16, -1, 50),
        ]
    )
    for dt in ("float64", "float32"):
        a = tinyconv.erfinv(tinyconv.tensor(x, dtype=getattr(tinyconv, dt))).numpy()
        b = torch.erfinv(torch.tensor(x, dtype=getattr(torch, dt))).numpy()
        np.testing.assert_allclose(a, b, rtol=1e-14 if dt == "float64" else 2e-6, equal_nan=True)
        ok = ~np.isnan(b)  # (-0.0 stays -0.0)
        assert np.array_equal(np.signbit(a[ok]), np.signbit(b[ok]))
    # erf(erfinv(x)) = x
    y = tinyconv.tensor(x[:2001], dtype=tinyconv.float64)
    np.testing.assert_allclose(y.erfinv().erf().numpy(), x[:2001], atol=2e-16)


@pytest.mark.parametrize(
    ("name", "call", "domain"),
    [
        ("lgamma", lambda T, x: T.lgamma(x), "real"),
        ("digamma", lambda T, x: T.digamma(x), "real"),
        ("polygamma1", lambda T, x: T.polygamma(1, x), "real"),
        ("polygamma2", lambda T, x: x.polygamma(2), "real"),
        ("erfinv", lambda T, x: (x * 0.3).tanh().erfinv(), "real"),
        ("special", lambda T, x: T.special.gammaln(x) + T.special.psi(x), "real"),
    ],
)
@settings(max_examples=10)
@given(data=st.data())
def test_special_gradients(name, call, domain, data):
    """Away from the poles: gradcheck and gradgradcheck; values and first and second
    gradients against PyTorch."""
    arr = data.draw(float64_arrays(data.draw(shapes(0, 2, max_side=3)), domain))
    arr = np.where(np.abs(arr - np.round(arr)) < 0.05, arr + 0.1, arr)  # off the poles
    x = _leaf(tinyconv, arr)
    assert gradcheck(lambda t: call(tinyconv, t), (x,), **TOL)
    assert gradgradcheck(lambda t: call(tinyconv, t), (x,), atol=1e-5, rtol=1e-4)
    # (PyTorch's trigamma, the second derivative of lgamma, is accurate to ~1e-9 relative)
    rtol = 1e-11 if name == "erfinv" else 1e-8
    torch = _torch()
    outs = []
    for lib in (tinyconv, torch):
        t = _leaf(lib, arr)
        y = call(lib, t)
        (g,) = lib.autograd.grad(y.sum(), t, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), t)
        outs.append((_np(y), _np(g), _np(gg)))
    # (and ~5e-10 absolute: near a zero of a second derivative the relative error grows)
    atol = 1e-12 if name == "erfinv" else 2e-9
    for a, b in zip(*outs, strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def test_special_names_dtypes_and_in_place():
    torch = _torch()
    for lib in (tinyconv, torch):
        x = lib.tensor([0.5, 1.5], requires_grad=True)
        assert lib.lgamma(x).grad_fn.name() == "LgammaBackward0"
        assert lib.digamma(x).grad_fn.name() == "DigammaBackward0"
        assert lib.polygamma(0, x).grad_fn.name() == "PolygammaBackward0"  # (not digamma's)
        assert lib.polygamma(2, x).grad_fn.name() == "PolygammaBackward0"
        assert (x * 0.5).erfinv().grad_fn.name() == "ErfinvBackward0"
        for f in ("lgamma", "digamma", "erfinv"):
            assert str(getattr(lib, f)(lib.tensor([0, 1])).dtype).endswith("float32")
        y = lib.tensor([0.25, 2.5])
        y.lgamma_()
        z = lib.tensor([0.25, 2.5])
        z.digamma_()
        w = lib.tensor([0.25, -0.5])
        w.erfinv_()
        v = lib.tensor([0.25, 2.5])
        v.polygamma_(1)
        if lib is tinyconv:
            mine = [a.numpy() for a in (y, z, w, v)]
        else:
            for a, b in zip(mine, (y, z, w, v), strict=True):
                np.testing.assert_allclose(a, b.numpy(), rtol=2e-6)
    with pytest.raises(RuntimeError):
        tinyconv.polygamma(-1, tinyconv.ones(2))


def test_older_view_after_an_in_place_view_op_raises():
    """A view taken before its base's t_() can't have its history replayed after a later
    in-place change of the base: tinyconv raises (a README difference) rather than send the
    gradient to the wrong elements."""
    w = tinyconv.arange(9.0).reshape(3, 3).requires_grad_()
    a = w * 1
    b = a[0]
    a.t_()
    a.mul_(2)
    with pytest.raises(RuntimeError, match="changed its shape in place"):
        (b * tinyconv.tensor([1.0, 10.0, 100.0])).sum().backward()
    # taken afterwards, the view is fine and matches PyTorch
    torch = _torch()
    res = []
    for lib in (tinyconv, torch):
        w = lib.arange(9.0).reshape(3, 3).requires_grad_()
        a = w * 1
        a.t_()
        b = a[0]
        a.mul_(2)
        (b * lib.tensor([1.0, 10.0, 100.0])).sum().backward()
        res.append((b.detach().numpy(), w.grad.numpy()))
    for x, y in zip(*res, strict=True):
        np.testing.assert_array_equal(x, y)


# -- scatter_reduce ---------------------------------------------------------------------------


@st.composite
def scatter_reduce_configs(draw):
    """(self shape, dim, index, src shape): index no larger than self (and src) off `dim`,
    values in range; repeats allowed (they are what the reductions fold)."""
    shape = draw(shapes(1, 3, max_side=3))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    ishape = [draw(st.integers(0 if i == 0 else 1, n)) for i, n in enumerate(shape)]
    ishape[dim] = draw(st.integers(0, 4))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    index = rng.integers(0, shape[dim], ishape)
    src = tuple(n + draw(st.integers(0, 1)) for n in ishape)
    return tuple(shape), dim, index, src


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@settings(max_examples=12)
@given(cfg=scatter_reduce_configs(), seed=st.integers(0, 999))
def test_scatter_reduce_matches_torch_and_gradcheck(reduce, include_self, cfg, seed):
    shape, dim, index, src_shape = cfg
    rng = np.random.default_rng(seed)
    # distinct values (no ties for amax/amin; no zeros for prod), away from 0
    n = int(np.prod(shape)) + int(np.prod(src_shape))
    vals = (rng.permutation(n) + 1.0) * rng.choice([-1, 1], n) / n
    x, s = (
        vals[: int(np.prod(shape))].reshape(shape),
        vals[int(np.prod(shape)) :].reshape(src_shape),
    )

    def prog(lib, a, b):
        i = lib.from_numpy(index.astype(np.int64))
        return a.scatter_reduce(dim, i, b, reduce, include_self=include_self)

    # (PyTorch's backward returns src's gradient in index's shape: compared where they agree)
    if src_shape == tuple(index.shape):
        _compare(prog, [x, s], "ScatterReduceBackward0")
    else:
        torch = _torch()
        a = prog(tinyconv, tinyconv.from_numpy(x), tinyconv.from_numpy(s)).numpy()
        b = prog(torch, torch.from_numpy(x), torch.from_numpy(s)).numpy()
        np.testing.assert_allclose(a, b, rtol=1e-12)
    xs = (_leaf(tinyconv, x), _leaf(tinyconv, s))
    f = lambda a, b: prog(tinyconv, a, b) ** 2  # noqa: E731
    assert gradcheck(f, xs, **TOL)
    assert gradgradcheck(f, xs, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_with_zeros_and_ties_match_torch(include_self):
    """The exact gradient of a product with zeros (one zero: the product of the others; two:
    zero), and ties of amax/amin sharing the gradient evenly, against PyTorch."""
    x = np.array([[1.0, 0.0, 3.0], [4.0, 5.0, 0.0]])
    s = np.array([[2.0, 2.0, 0.0], [3.0, 0.0, 1.0], [0.0, 0.0, 2.0]])
    idx = np.array([[0, 1, 0], [0, 1, 1], [1, 1, 0]])
    for reduce in ("prod", "sum", "mean") + (("amax", "amin") if include_self else ()):
        _compare(
            lambda lib, a, b, r=reduce: a.scatter_reduce(
                0, lib.from_numpy(idx), b, r, include_self=include_self
            ),
            [x, s],
            "ScatterReduceBackward0",
        )
    ties = np.array([[1.0, 2.0], [2.0, 2.0]])
    for reduce in ("amax", "amin"):
        _compare(
            lambda lib, a, b, r=reduce: a.scatter_reduce(
                1, lib.from_numpy(np.array([[0, 0], [1, 1]])), b, r
            ),
            [np.array([[2.0, 0.0], [5.0, 2.0]]), ties],
        )


def test_scatter_reduce_integers_empty_and_errors():
    torch = _torch()
    for expr in (
        lambda T: T.tensor([1, 2, 3]).scatter_reduce(
            0, T.tensor([0, 0, 1]), T.tensor([4, 5, 6]), "mean"
        ),
        lambda T: T.tensor([1, -2, 3]).scatter_reduce(
            0, T.tensor([1, 1, 1]), T.tensor([-4, -5, -7]), "mean", include_self=False
        ),
        lambda T: T.tensor([1, 2, 3]).scatter_reduce(0, T.tensor([2, 2]), T.tensor([4, 5]), "amax"),
        lambda T: T.tensor([1, 2, 3]).scatter_reduce(
            0, T.tensor([2, 2]), T.tensor([4, 5]), "amin", include_self=False
        ),
        lambda T: T.zeros(3).scatter_reduce(0, T.zeros(0, dtype=T.float32), T.ones(2), "sum"),
        lambda T: T.tensor(2.0).scatter_reduce(0, T.tensor([0, 0]), T.tensor([3.0, 4.0]), "prod"),
    ):
        a, b = expr(tinyconv), expr(torch)
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for bad in (
        lambda T: T.zeros(3).scatter_reduce(0, T.tensor([0]), T.ones(1), "foo"),
        lambda T: T.zeros(3).scatter_reduce(0, T.tensor([0]), T.ones(1, dtype=T.float64), "sum"),
        lambda T: T.zeros(3).scatter_reduce(0, T.tensor([0], dtype=T.int16), T.ones(1), "sum"),
        lambda T: T.zeros(3).scatter_reduce(0, T.tensor([3]), T.ones(1), "sum"),
    ):
        _raises_like_torch(bad)
    # in place
    res = []
    for lib in (tinyconv, torch):
        w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = w * 1
        y.scatter_reduce_(0, lib.tensor([0, 0]), lib.tensor([4.0, 5.0]), "amax")
        y.sum().backward()
        res.append((y.detach().numpy(), w.grad.numpy()))
    for a, b in zip(*res, strict=True):
        np.testing.assert_array_equal(a, b)


def test_scatter_reduce_left_out_tie_raises():
    """include_self=False with a left-out self value equal to the result: PyTorch 2.13 shares
    the gradient with that self value (a README difference); tinyconv's backward raises."""
    x = tinyconv.tensor([5.0, 1.0], requires_grad=True)
    y = x.scatter_reduce(
        0, tinyconv.tensor([0, 0]), tinyconv.tensor([5.0, 2.0]), "amax", include_self=False
    )
    assert y.tolist() == [5.0, 1.0]
    with pytest.raises(RuntimeError, match="left-out self value"):
        y.sum().backward()
