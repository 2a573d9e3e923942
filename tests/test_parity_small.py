"""Small parity fixes, each against torch 2.13: torch.dist's one DistBackward0 node, F.celu's
float64 gradient (PyTorch's backward rounds alpha to float32), and loss modules that take a
bad `reduction` and raise when computed, as PyTorch's do."""

from __future__ import annotations

import operator
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import broadcastable_pairs, float64_arrays

import tinyconv
import tinyconv.nn.functional as F
from tinyconv._histogram import linspace_values
from tinyconv.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}
PS = st.sampled_from([2.0, 1.0, 3.0, 1.5, 0.5, float("inf"), -float("inf")])


@given(broadcastable_pairs(min_dims=0, max_dims=3), PS, st.data())
def test_dist_gradcheck(shapes, p, data):
    sa, sb = shapes
    a = data.draw(float64_arrays(sa))
    b = data.draw(float64_arrays(sb))
    x = tinyconv.tensor(a, requires_grad=True)
    y = tinyconv.tensor(b, requires_grad=True)
    diff = np.abs(np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape)) - b)
    # (the norm is smooth away from |a - b| = 0 and, for p = +-inf, away from ties)
    if diff.size and (np.min(diff) < 1e-3 or (np.isinf(p) and len(np.unique(diff)) < diff.size)):
        return
    assert gradcheck(lambda u, v: tinyconv.dist(u, v, p), (x, y), **TOL)
    if p == 2.0:
        assert gradgradcheck(lambda u, v: tinyconv.dist(u, v, p), (x, y), **TOL)


@pytest.mark.parametrize("p", [2, 1, 3, 1.5, 0.5, float("inf"), -float("inf")])
@pytest.mark.parametrize("shapes", [((3, 1), (4,)), ((5,), (5,)), ((), (2, 2))])
def test_dist_is_one_node_with_pytorchs_values_and_gradients(p, shapes):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1]).astype(np.float32)
    b.flat[0] = a.flat[0]  # one zero difference: the gradient there is PyTorch's too
    got = []
    for lib in (torch, tinyconv):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        d = lib.dist(x, y, p)
        d.backward()
        nexts = [type(f).__name__ for f, _ in d.grad_fn.next_functions]
        got.append((d, d.grad_fn.name(), nexts, x.grad, y.grad))
    (dt, nt, ft, gxt, gyt), (dc, nc, fc, gxc, gyc) = got
    assert nc == nt == "DistBackward0" and fc == ["AccumulateGrad"] * 2 == ft
    assert str(dc.dtype).split(".")[1] == str(dt.dtype).split(".")[1]  # (0-d: no promotion)
    np.testing.assert_allclose(
        dc.item(), dt.item(), rtol=1e-14 if dc.dtype == tinyconv.float64 else 1e-6
    )
    for gc, gt in ((gxc, gxt), (gyc, gyt)):
        assert str(gc.dtype).split(".")[1] == str(gt.dtype).split(".")[1]
        np.testing.assert_allclose(
            gc.numpy(), gt.numpy(), rtol=1e-6 if gc.dtype == tinyconv.float32 else 1e-13, atol=1e-15
        )


def test_dist_refuses_what_pytorch_refuses():
    x = tinyconv.ones(3, requires_grad=True)
    for lib, t in ((torch, torch.ones(3, requires_grad=True)), (tinyconv, x)):
        with pytest.raises(TypeError, match="argument 'other'"):
            lib.dist(t, 2.0)
        with pytest.raises(RuntimeError):
            lib.dist(lib.ones(3, dtype=lib.int64), lib.ones(3, dtype=lib.int64))
        with pytest.raises(RuntimeError):
            lib.dist(t, lib.ones(2))
        # p = 0: no gradient for input; PyTorch 2.13's backward raises if other needs one
        lib.dist(t, lib.zeros(3), 0).backward()
        assert t.grad is None
        with pytest.raises(RuntimeError):
            lib.dist(t, lib.zeros(3, requires_grad=True), 0).backward()


@pytest.mark.parametrize("alpha", [1.0, 0.3, 0.7, 3.0, 1.7, 0.1, -0.5])
def test_celu_float64_gradient_rounds_alpha_as_pytorch(alpha):
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal(400) * 3, rng.standard_normal(400)
    out = []
    for lib in (torch, tinyconv):
        t = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.celu(t, alpha)
        y.backward(lib.tensor(g))
        out.append((y.detach().numpy(), t.grad.numpy(), y.grad_fn.name()))
    (yt, gt, nt), (yc, gc, nc) = out
    assert nc == nt == "CeluBackward0"
    # PyTorch's exp and expm1 (SLEEF) and NumPy's may differ in the last bit; the formula
    # (float32-rounded 1/alpha in backward: ~1e-8 off the exact gradient) is the same
    np.testing.assert_allclose(yc, yt, rtol=4e-16, atol=0)
    np.testing.assert_allclose(gc, gt, rtol=6e-16, atol=0)


@given(st.sampled_from([1.0, 0.3, 2.5, -0.7]), st.data())
def test_celu_gradcheck(alpha, data):
    a = data.draw(float64_arrays((5,)))
    if np.min(np.abs(a)) < 1e-3:  # (the kink at 0)
        return
    x = tinyconv.tensor(a, requires_grad=True)
    # the backward's alpha is float32-rounded (as PyTorch's): relative error ~3e-8
    tol = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}
    assert gradcheck(lambda t: F.celu(t, alpha), (x,), **tol)
    assert gradgradcheck(lambda t: F.celu(t, alpha), (x,), **tol)


def loss_cases(lib):
    x = lib.tensor(np.linspace(-1, 1, 12).reshape(3, 4))
    y = lib.tensor(np.linspace(0.1, 0.9, 12).reshape(3, 4))
    t = lib.tensor([0, 1, 2])
    lp = lib.tensor(np.random.default_rng(0).standard_normal((5, 2, 4))).log_softmax(2)
    ctc = (lp, lib.tensor([[1, 2], [1, 1]]), lib.tensor([5, 5]), lib.tensor([2, 2]))
    return {
        "MSELoss": (x, y),
        "L1Loss": (x, y),
        "CrossEntropyLoss": (x, t),
        "NLLLoss": (x, t),
        "BCELoss": (y, y),
        "BCEWithLogitsLoss": (x, y),
        "KLDivLoss": (x, y),
        "HuberLoss": (x, y),
        "SmoothL1Loss": (x, y),
        "SoftMarginLoss": (x, y.sign()),
        "PoissonNLLLoss": (x, y),
        "GaussianNLLLoss": (x, y, y),
        "MarginRankingLoss": (x[0], y[0], y[0].sign()),
        "HingeEmbeddingLoss": (x, y.sign()),
        "MultiMarginLoss": (x, t),
        "MultiLabelSoftMarginLoss": (x, y.round()),
        "CosineEmbeddingLoss": (x, y, lib.ones(3)),
        "TripletMarginLoss": (x, y, y),
        "CTCLoss": ctc,
    }


@pytest.mark.parametrize("name", sorted(loss_cases(tinyconv)))
def test_a_bad_reduction_raises_when_the_loss_is_computed_as_in_pytorch(name):
    for lib in (torch, tinyconv):
        loss = getattr(lib.nn, name)(reduction="avg")  # constructed, as PyTorch's
        assert loss.reduction == "avg"
        with pytest.raises(ValueError, match="avg"):
            loss(*loss_cases(lib)[name])


def test_constants_layouts_and_the_default_device():
    for name in ("pi", "e", "inf"):
        assert getattr(tinyconv, name) == getattr(torch, name)
    assert np.isnan(tinyconv.nan) and tinyconv.newaxis is torch.newaxis is None
    x = tinyconv.ones(2)
    assert x.layout is tinyconv.strided and isinstance(tinyconv.strided, tinyconv.layout)
    assert repr(tinyconv.strided) == "tinyconv.strided"
    assert x[tinyconv.newaxis].shape == (1, 2)
    assert tinyconv.get_default_device() == "cpu" == str(torch.get_default_device())
    tinyconv.set_default_device("cpu")
    tinyconv.set_default_device(None)
    with pytest.raises(RuntimeError, match="CPU only"):
        tinyconv.set_default_device("cuda")


@pytest.mark.parametrize(
    "call",
    [
        lambda T, x: T.conj(x),
        lambda T, x: x.conj(),
        lambda T, x: T.conj_physical(x),
        lambda T, x: x.resolve_conj(),
        lambda T, x: T.resolve_neg(x),
        lambda T, x: T.real(x),
        lambda T, x: x.real,
    ],
)
def test_complex_functions_on_a_real_tensor_return_it(call):
    for lib in (torch, tinyconv):
        x = lib.ones(2, 3, requires_grad=True)
        assert call(lib, x) is x
        assert not x.is_conj() and not lib.is_neg(x)
        assert lib.isreal(x).tolist() == [[True] * 3] * 2
        with pytest.raises(RuntimeError, match="imag is not implemented"):
            lib.imag(x)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 4)])
@pytest.mark.parametrize("name", ["adjoint", "mH", "H", "mT"])
def test_conjugate_transposes_as_pytorch(name, shape):
    a = np.arange(float(np.prod(shape))).reshape(shape)
    out = []
    for lib in (torch, tinyconv):
        x = lib.tensor(a, requires_grad=True)
        try:
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                y = x.adjoint() if name == "adjoint" else getattr(x, name)
        except RuntimeError as err:
            out.append(str(err))
            continue
        if not shape:  # 0-d: the tensor itself, with a deprecation warning
            assert y is x and "is deprecated on 0-D tensors" in str(seen[0].message)
            out.append("self")
            continue
        (y * lib.tensor(np.arange(float(y.numel())).reshape(tuple(y.shape)))).sum().backward()
        out.append((y.detach().numpy().tolist(), y.grad_fn.name(), x.grad.numpy().tolist()))
    assert out[0] == out[1]


def test_legacy_new_as_pytorch():
    for lib in (torch, tinyconv):
        x = lib.ones(2, dtype=lib.float64, requires_grad=True)
        assert tuple(x.new(2, 3).shape) == (2, 3) and x.new(2, 3).dtype == lib.float64
        assert tuple(x.new(lib.Size([4])).shape) == (4,) and tuple(x.new().shape) == (0,)
        assert x.new((2, 3)).tolist() == [2.0, 3.0]  # (a tuple is data, a Size is sizes)
        assert x.new([1, 2]).dtype == lib.float64 and not x.new([1, 2]).requires_grad
        y = lib.arange(3.0, dtype=lib.float64)
        assert x.new(y).tolist() == [0.0, 1.0, 2.0]
        with pytest.raises(TypeError):
            x.new(lib.arange(3))
    assert torch.detach(torch.ones(1, requires_grad=True)).requires_grad is False
    assert tinyconv.detach(tinyconv.ones(1, requires_grad=True)).requires_grad is False


def test_variable_is_a_new_leaf_sharing_the_data_as_pytorchs():
    for lib in (torch, tinyconv):
        Variable = lib.autograd.Variable
        x = lib.zeros(2)
        v = Variable(x)
        assert v is not x and not v.requires_grad and isinstance(x, Variable)
        v.add_(1.0)  # shares x's memory
        assert x.tolist() == [1.0, 1.0]
        w = Variable(x, requires_grad=True)
        assert w.requires_grad and w.is_leaf and not x.requires_grad
        y = lib.ones(2, requires_grad=True) * 2
        assert Variable(y).grad_fn is None and Variable(y).is_leaf
        assert tuple(Variable().shape) == (0,)
        with pytest.raises(TypeError, match="Variable data has to be a tensor"):
            Variable(3.0)
        with pytest.warns(UserWarning, match="volatile was removed"):
            Variable(x, volatile=True)


@pytest.mark.parametrize(
    "name, args",
    [
        ("uniform", (-1.0, 2.0)),
        ("normal", (0.5, 2.0)),
        ("constant", (0.3,)),
        ("eye", ()),
        ("xavier_uniform", ()),
        ("xavier_normal", ()),
        ("kaiming_uniform", ()),
        ("kaiming_normal", ()),
        ("orthogonal", ()),
    ],
)
def test_deprecated_init_names_warn_and_initialise_as_pytorchs(name, args):
    out = []
    for lib in (torch, tinyconv):
        lib.manual_seed(3)
        w = lib.empty(4, 5)
        with pytest.warns(FutureWarning, match=f"`nn.init.{name}` is now deprecated"):
            got = getattr(lib.nn.init, name)(w, *args)
        assert got is w
        out.append(w.numpy().copy())
    np.testing.assert_allclose(out[1], out[0], rtol=1e-6, atol=1e-7)


def test_stack_and_chain_datasets_and_worker_info_as_pytorchs():
    results = []
    for lib in (torch, tinyconv):
        data = lib.utils.data

        class Stream(data.IterableDataset):
            def __init__(self, n):
                self.n = n

            def __iter__(self):
                return iter(range(self.n))

            def __len__(self):
                return self.n

        assert data.get_worker_info() is None
        chain = data.ChainDataset([Stream(2), Stream(3)])
        stacked = data.StackDataset(data.TensorDataset(lib.arange(3)), lib.arange(3) * 2)
        named = data.StackDataset(a=lib.arange(3), b=lib.arange(3) * 2)
        batches = list(data.DataLoader(named, batch_size=2))
        results.append(
            (
                list(chain),
                len(chain),
                len(stacked),
                [[t.tolist() for t in s[0]] + [s[1].tolist()] for s in stacked],
                {k: v.tolist() for k, v in named[1].items()},
                [{k: v.tolist() for k, v in b.items()} for b in batches],
            )
        )
        for args, kwargs in (
            ((lib.arange(3), lib.arange(2)), {}),
            ((lib.arange(3),), {"b": lib.arange(3)}),
            ((), {}),
        ):
            with pytest.raises(ValueError):
                data.StackDataset(*args, **kwargs)
        with pytest.raises((TypeError, AssertionError)):  # (PyTorch asserts; tinyconv: TypeError)
            list(data.ChainDataset([data.TensorDataset(lib.arange(2))]))
    assert results[0] == results[1]


@given(
    st.floats(-1e3, 1e3, allow_nan=False),
    st.floats(-1e3, 1e3, allow_nan=False),
    st.integers(0, 70),
    st.sampled_from(["float32", "float64"]),
)
def test_histogram_edges_round_as_torch_linspace(start, end, steps, dtype):
    # (histogram's bin edges: PyTorch's linspace kernel)
    want = torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy()
    got = linspace_values(start, end, steps, np.dtype(dtype))
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)  # (each point one exactly rounded fused multiply-add)


HIST_CASES = [
    {"bins": 4},
    {"bins": 4, "range": (0.0, 3.0)},
    {"bins": "edges"},
    {"bins": 3, "weight": True, "density": True},
    {"bins": 7, "density": True},
    {"bins": 5, "weight": True},
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", HIST_CASES)
@pytest.mark.parametrize("kind", ["small", "normal", "empty", "constant", "uniform"])
@pytest.mark.parametrize("how", ["function", "method"])
def test_histogram_as_pytorchs(case, dtype, kind, how):
    rng = np.random.default_rng(0)
    data = {
        "small": np.array([1.0, 2, 1, 2.5, 4]),
        "normal": rng.standard_normal(1000),
        "empty": np.array([]),
        "constant": np.array([2.0, 2.0]),
        "uniform": rng.random(300),
    }[kind]
    out = []
    for lib in (torch, tinyconv):
        kw = dict(case)
        dt = getattr(lib, dtype)
        if kw["bins"] == "edges":
            kw["bins"] = lib.tensor([0.0, 1.5, 3.0, 5.0], dtype=dt)
        if kw.get("weight"):
            kw["weight"] = lib.tensor(np.arange(data.size) * 0.5 + 1, dtype=dt)
        x = lib.tensor(data, dtype=dt)
        h = lib.histogram(x, **kw) if how == "function" else x.histogram(**kw)
        out.append((h.hist.numpy(), h.bin_edges.numpy(), type(h).__name__))
    (ht, et, nt), (hc, ec, nc) = out
    assert nc == nt == "histogram" and hc.dtype == ht.dtype and ec.dtype == et.dtype
    np.testing.assert_array_equal(hc, ht)
    np.testing.assert_array_equal(ec, et)


HISTDD_CASES = [
    {"bins": 4},
    {"bins": [3, 5]},
    {"bins": [2, 3], "range": [0.0, 1.0, -1.0, 2.0]},
    {"bins": "edges"},
    {"bins": [4, 2], "weight": True, "density": True},
    {"bins": 3, "density": True},
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", HISTDD_CASES)
@pytest.mark.parametrize("kind", ["small", "normal", "batched", "constant", "empty"])
def test_histogramdd_as_pytorchs(case, dtype, kind):
    rng = np.random.default_rng(1)
    data = {
        "small": np.array([[0.0, 1], [1, 0], [2, 0], [2, 2], [0.5, 1.5]]),
        "normal": rng.standard_normal((500, 2)),
        "batched": rng.random((3, 40, 2)),  # (..., D): the leading dims are all points
        "constant": np.full((3, 2), 2.0),
        "empty": np.zeros((0, 2)),
    }[kind]
    out = []
    for lib in (torch, tinyconv):
        kw = dict(case)
        dt = getattr(lib, dtype)
        if kw["bins"] == "edges":
            kw["bins"] = [lib.tensor(e, dtype=dt) for e in ([-1.0, 0.5, 3.0], [0.0, 1.0])]
        if kw.get("weight"):
            kw["weight"] = lib.tensor(
                np.arange(data[..., 0].size).reshape(data.shape[:-1]) + 1.0, dtype=dt
            )
        h = lib.histogramdd(lib.tensor(data, dtype=dt), **kw)
        out.append((h.hist.numpy(), [e.numpy() for e in h.bin_edges], type(h).__name__))
    (ht, et, nt), (hc, ec, nc) = out
    assert nc == nt == "histogramdd" and hc.dtype == ht.dtype and hc.shape == ht.shape
    np.testing.assert_allclose(hc, ht, rtol=1e-6 if dtype == "float32" else 1e-12, equal_nan=True)
    assert len(ec) == len(et)
    for a, b in zip(ec, et, strict=True):
        np.testing.assert_array_equal(a, b)


def test_histogramdd_refusals_and_no_derivative():
    x = tinyconv.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    h = tinyconv.histogramdd(x, [2, 2])
    assert h.hist.requires_grad and h.hist.grad_fn.name() == "NotImplemented"
    for lib in (torch, tinyconv):
        with pytest.raises(NotImplementedError):
            lib.histogramdd(lib.tensor([[1, 2]]), [2, 2])
        with pytest.raises(RuntimeError, match="size of bins"):
            lib.histogramdd(lib.tensor([[1.0, 2.0]]), [2])


def test_histogram_refusals_and_no_derivative():
    x = tinyconv.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = tinyconv.histogram(x, 2)
    t = torch.histogram(torch.tensor([1.0, 2.0, 3.0], requires_grad=True), 2)
    assert h.hist.requires_grad == t.hist.requires_grad
    assert h.hist.grad_fn.name() == type(t.hist.grad_fn).__name__ == "NotImplemented"
    with pytest.raises(RuntimeError, match="not implemented"):
        h.hist.sum().backward()
    for lib in (torch, tinyconv):
        with pytest.raises(NotImplementedError):
            lib.histogram(lib.tensor([1, 2]), 2)
        with pytest.raises(RuntimeError):
            lib.histogram(lib.tensor([1.0, 2.0]), 2, weight=lib.ones(2, dtype=lib.float64))
        with pytest.raises(RuntimeError):
            lib.histogram(lib.tensor([1.0, float("nan")]), 2)


@pytest.mark.parametrize(
    "shape, src_shape, offset, dim1, dim2",
    [
        ((3, 3), (3,), 0, 0, 1),
        ((3, 4), (3,), 1, 0, 1),
        ((2, 3, 4), (2, 3), 0, 1, 2),
        ((3, 3), (2,), -1, 0, 1),
        ((2, 3, 4), (3, 2), 0, 0, 2),
        ((3, 3), (3,), 0, 1, 0),
        ((3, 3), (2,), 0, 0, 1),  # wrong src shape: both raise
    ],
)
def test_diagonal_scatter_as_pytorchs(shape, src_shape, offset, dim1, dim2):
    out = []
    for lib in (torch, tinyconv):
        x = lib.tensor(np.arange(float(np.prod(shape))).reshape(shape), requires_grad=True)
        s = lib.tensor(np.arange(float(np.prod(src_shape))).reshape(src_shape) + 100)
        s.requires_grad_(True)
        try:
            y = lib.diagonal_scatter(x, s, offset, dim1, dim2)
        except RuntimeError:
            out.append("raises")
            continue
        w = lib.tensor(np.arange(float(y.numel())).reshape(shape))
        (y * w).sum().backward()
        out.append((y.detach().numpy().tolist(), x.grad.tolist(), s.grad.tolist()))
    assert out[0] == out[1]


@given(st.integers(-1, 1), st.data())
def test_diagonal_scatter_gradcheck(offset, data):
    a = data.draw(float64_arrays((3, 3)))
    n = 3 - abs(offset)
    b = data.draw(float64_arrays((n,)))
    x = tinyconv.tensor(a, requires_grad=True)
    s = tinyconv.tensor(b, requires_grad=True)
    assert gradcheck(lambda u, v: tinyconv.diagonal_scatter(u, v, offset), (x, s), **TOL)


def test_version_module_says_cpu_only():
    assert tinyconv.version.__version__ == tinyconv.__version__
    assert tinyconv.version.cuda is None and tinyconv.version.hip is None
    assert torch.version.cuda is None  # (the CPU build these tests compare with)


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((1, 4), {}),
        ((0, 1, 0.3), {}),
        ((1, 4), {"dtype": "int64"}),
        ((4, 1, -1), {}),
        ((-2.5, 3.1, 0.7), {"dtype": "float64"}),
        ((1, 4, 0), {}),
        ((1, 4, -1), {}),
    ],
)
def test_deprecated_range_as_pytorchs(args, kwargs):
    out = []
    for lib in (torch, tinyconv):
        kw = {k: getattr(lib, v) for k, v in kwargs.items()}
        with pytest.warns(UserWarning, match="torch.range is deprecated"):
            try:
                t = lib.range(*args, **kw)
            except RuntimeError:
                out.append("raises")
                continue
        out.append((t.tolist(), str(t.dtype).split(".")[1]))
    assert out[0] == out[1]


def test_vmap_at_the_top_level():
    assert tinyconv.vmap is tinyconv.func.vmap
    x = np.arange(6.0).reshape(2, 3)
    got = tinyconv.vmap(lambda r: r.sum())(tinyconv.tensor(x))
    want = torch.vmap(lambda r: r.sum())(torch.tensor(x))
    assert got.tolist() == want.tolist()


@pytest.mark.parametrize("alpha", [1.0, 0.3, 1.7])
@pytest.mark.parametrize("name", ["elu", "celu"])
def test_in_place_elu_and_celu_save_the_result_as_pytorchs(name, alpha):
    rng = np.random.default_rng(2)
    x, g = rng.standard_normal(300) * 3, rng.standard_normal(300)
    out = []
    for lib in (torch, tinyconv):
        t = lib.tensor(x, requires_grad=True)
        y = getattr(lib.nn.functional, name)(t * 1, alpha, inplace=True)
        y.backward(lib.tensor(g))
        out.append((y.grad_fn.name(), t.grad.numpy()))
    (nt, gt), (nc, gc) = out
    assert nc == nt == f"{name.capitalize()}Backward1"
    # r + alpha: PyTorch's rounding, up to the result's own last bit (expm1), which the
    # cancellation in r + alpha near r = -alpha magnifies
    np.testing.assert_allclose(gc, gt, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("inplace", [False, True])
def test_selu_is_one_elu_node_as_pytorchs(inplace):
    rng = np.random.default_rng(4)
    x, g = rng.standard_normal(300) * 3, rng.standard_normal(300)
    out = []
    for lib in (torch, tinyconv):
        t = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.selu(t * 1, inplace=inplace)
        y.backward(lib.tensor(g))
        out.append((y.grad_fn.name(), y.detach().numpy(), t.grad.numpy()))
    (nt, yt, gt), (nc, yc, gc) = out
    assert nc == nt == ("EluBackward1" if inplace else "EluBackward0")
    np.testing.assert_allclose(yc, yt, rtol=4e-16, atol=0)
    np.testing.assert_allclose(gc, gt, rtol=1e-15, atol=1e-15)


@given(st.data())
def test_selu_gradcheck(data):
    a = data.draw(float64_arrays((4,)))
    if np.min(np.abs(a)) < 1e-3:  # (the kink at 0)
        return
    x = tinyconv.tensor(a, requires_grad=True)
    assert gradcheck(F.selu, (x,), **TOL)
    assert gradgradcheck(F.selu, (x,), **TOL)


def test_igamma_inplace_and_storage_queries_as_pytorchs():
    a_np, b_np = np.array([0.5, 1.0, 2.0, 7.5]), np.array([0.3, 2.0, 3.0, 4.0])
    got, want = [], []
    for lib, out in ((tinyconv, got), (torch, want)):
        a, b = lib.tensor(a_np), lib.tensor(b_np)
        lower, upper = a.clone(), a.clone()
        assert lower.igamma_(b) is lower and upper.igammac_(b) is upper
        out += [lower.numpy(), upper.numpy()]
        view = a.view(4)
        out.append(
            np.array(
                [a.is_set_to(a), a.is_set_to(view), a.is_set_to(a.clone()), a.is_set_to(a[:2])]
            )
        )
        assert a.const_data_ptr() == a.data_ptr()
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=0)


VERSION_COMPARANDS = ["2.0", "1.10.0a0", "2.13", "2.13.0", "2.13.1", "3.0", "2.14.0.dev20260101"]
VERSION_COMPARANDS += [(2, 0), (1, 13, 1), (2, 13), (2, 14), "parrot"]


@pytest.mark.parametrize("other", VERSION_COMPARANDS, ids=str)
def test_version_compares_as_pytorchs(other):
    # model code gates features on torch.__version__: tinyconv's says the PyTorch release it
    # follows (with its own release as the local label, as "2.13.0+cpu"), and compares as
    # PyTorch's TorchVersion does, with strings and tuples
    mine, theirs = tinyconv.__version__, torch.__version__
    assert mine.split("+")[0] == theirs.split("+")[0] == "2.13.0"
    for op in (operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne):
        if other == "parrot" and op not in (operator.eq, operator.ne):
            continue  # (both fall back to str order there, where "2.13.0+..." labels differ)
        assert op(mine, other) == op(theirs, other), (op, other)
    assert isinstance(mine, str) and hash(mine) == hash(str(mine))
    assert tinyconv.version.tinyconv_version == "0.1.0"


@pytest.mark.parametrize("shape", [(), (3,), (2, 3, 4)])
def test_deprecation_warnings_as_pytorchs(shape):
    # x.T off 2-D, and F.upsample, warn with PyTorch's text (PyTorch warns once a process, so
    # only tinyconv is checked on every shape)
    with pytest.warns(UserWarning, match="deprecated"):
        flipped = tinyconv.ones(shape).T
    assert tuple(flipped.shape) == tuple(reversed(shape))
    with pytest.warns(UserWarning, match="upsample` is deprecated"):
        tinyconv.nn.functional.upsample(tinyconv.ones(1, 1, 2, 2), scale_factor=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tinyconv.ones(2, 3).T.shape == (3, 2)  # (2-D: no warning)
