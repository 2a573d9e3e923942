"""nn.functional against PyTorch 2.13: the losses' legacy arguments and signatures, weighted
mse / l1, lp_pool with an infinite norm, BCE's result dtype, cosine_similarity's clamped norm,
embedding_bag's max_norm, negative pads in every mode and uint8 interpolation."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from torch_compare import compare

import tinyconv

pytestmark = pytest.mark.torch

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
Y = RNG.standard_normal((3, 4))
P = 1 / (1 + np.exp(-X))  # probabilities
Q = 1 / (1 + np.exp(-Y))


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


# -- 1. signatures and the legacy size_average / reduce ----------------------------------------

# torch.nn modules tinyconv does not have yet (new in PyTorch 2.13)
NOT_YET = {"LinearCrossEntropyLoss"}


def _loss_functions(torch) -> list[str]:
    F = torch.nn.functional
    return sorted(
        n
        for n in dir(F)
        if not n.startswith("_")
        and (n.endswith("_loss") or n in ("cross_entropy", "kl_div"))
        or n.startswith("binary_cross_entropy")
    )


def _names(fn) -> list[tuple[str, str]]:
    return [(p.name, p.kind.name) for p in inspect.signature(fn).parameters.values()]


def test_every_loss_function_takes_pytorchs_parameters_in_order(torch):
    names = _loss_functions(torch)
    assert "cross_entropy" in names and "mse_loss" in names and len(names) >= 20
    for name in names:
        ours = getattr(tinyconv.nn.functional, name)
        assert _names(ours) == _names(getattr(torch.nn.functional, name)), name


def test_every_loss_module_takes_pytorchs_parameters_in_order(torch):
    names = sorted(n for n in dir(torch.nn) if n.endswith("Loss"))
    assert "CrossEntropyLoss" in names and len(names) >= 20
    for name in names:
        if name in NOT_YET:
            assert not hasattr(tinyconv.nn, name)  # (then this list is out of date)
            continue
        ours = getattr(tinyconv.nn, name).__init__
        assert _names(ours) == _names(getattr(torch.nn, name).__init__), name


LEGACY = [(None, False), (False, None), (True, None), (None, True), (False, False), (True, False)]


def _run(lib, fn, *args, **kwargs):
    """fn's value and the warnings it raised (messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(lib, *args, **kwargs)
    return out, [(w.category, str(w.message)) for w in caught]


LEGACY_CALLS = {
    # positional, where PyTorch puts size_average and reduce
    "cross_entropy": lambda T, sa, r: T.nn.functional.cross_entropy(
        T.tensor(X), T.tensor([0, 3, 1]), None, sa, -100, r
    ),
    "nll_loss": lambda T, sa, r: T.nn.functional.nll_loss(
        T.tensor(X), T.tensor([0, 3, 1]), T.tensor([1.0, 2.0, 0.5, 1.5], dtype=T.float64), sa, 0, r
    ),
    "mse_loss": lambda T, sa, r: T.nn.functional.mse_loss(T.tensor(X), T.tensor(Y), sa, r),
    "l1_loss": lambda T, sa, r: T.nn.functional.l1_loss(T.tensor(X), T.tensor(Y), sa, r),
    "bce": lambda T, sa, r: T.nn.functional.binary_cross_entropy(
        T.tensor(P), T.tensor(Q), None, sa, r
    ),
    "bce_logits": lambda T, sa, r: T.nn.functional.binary_cross_entropy_with_logits(
        T.tensor(X), T.tensor(Q), None, sa, r
    ),
    "smooth_l1": lambda T, sa, r: T.nn.functional.smooth_l1_loss(T.tensor(X), T.tensor(Y), sa, r),
    "kl_div": lambda T, sa, r: T.nn.functional.kl_div(T.tensor(X), T.tensor(Q), sa, r),
    "margin_ranking": lambda T, sa, r: T.nn.functional.margin_ranking_loss(
        T.tensor(X[0]),
        T.tensor(Y[0]),
        T.tensor([1.0, -1.0, 1.0, -1.0], dtype=T.float64),
        0.1,
        sa,
        r,
    ),
    "hinge": lambda T, sa, r: T.nn.functional.hinge_embedding_loss(
        T.tensor(X), T.tensor(np.sign(Y)), 1.0, sa, r
    ),
    "soft_margin": lambda T, sa, r: T.nn.functional.soft_margin_loss(
        T.tensor(X), T.tensor(np.sign(Y)), sa, r
    ),
    "multilabel_soft_margin": lambda T, sa, r: T.nn.functional.multilabel_soft_margin_loss(
        T.tensor(X), T.tensor((Y > 0).astype(float)), None, sa, r
    ),
    "cosine_embedding": lambda T, sa, r: T.nn.functional.cosine_embedding_loss(
        T.tensor(X), T.tensor(Y), T.tensor([1, -1, 1]), 0.0, sa, r
    ),
    "triplet": lambda T, sa, r: T.nn.functional.triplet_margin_loss(
        T.tensor(X), T.tensor(Y), T.tensor(X * Y), 1.0, 2, 1e-6, False, sa, r
    ),
    "poisson": lambda T, sa, r: T.nn.functional.poisson_nll_loss(
        T.tensor(X), T.tensor(np.abs(Y)), True, False, sa, 1e-8, r
    ),
    "multi_margin": lambda T, sa, r: T.nn.functional.multi_margin_loss(
        T.tensor(X), T.tensor([0, 3, 1]), 1, 1.0, None, sa, r
    ),
    "multilabel_margin": lambda T, sa, r: T.nn.functional.multilabel_margin_loss(
        T.tensor(X), T.tensor([[0, 1, -1, 0], [3, -1, 0, 0], [2, 0, -1, 0]]), sa, r
    ),
}


@pytest.mark.parametrize("legacy", LEGACY, ids=str)
@pytest.mark.parametrize("name", sorted(LEGACY_CALLS))
def test_legacy_size_average_and_reduce_as_pytorch(torch, name, legacy):
    """PyTorch's mapping (None counts as True: reduce=False 'none', size_average=False 'sum'),
    positionally, with PyTorch's UserWarning naming the reduction used."""
    got, got_w = _run(tinyconv, LEGACY_CALLS[name], *legacy)
    want, want_w = _run(torch, LEGACY_CALLS[name], *legacy)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
    legacy_w = [m for c, m in want_w if "size_average" in m]
    assert legacy_w and [m for c, m in got_w if "size_average" in m] == legacy_w


def test_cross_entropy_fourth_positional_is_size_average(torch):
    """`F.cross_entropy(x, t, None, False)` sums (size_average=False); it used to ignore
    class 0 (ignore_index was 4th)."""
    for lib in (torch, tinyconv):
        x, t = lib.tensor(X), lib.tensor([0, 3, 0])
        with pytest.warns(UserWarning, match="reduction='sum'"):
            got = lib.nn.functional.cross_entropy(x, t, None, False)
        full = lib.nn.functional.cross_entropy(x, t, reduction="sum")
        assert float(got) == pytest.approx(float(full), rel=1e-12)
    assert tinyconv.nn.functional.mse_loss(
        tinyconv.tensor(X), tinyconv.tensor(Y), None, None, "sum"
    ).item() == pytest.approx(float(((X - Y) ** 2).sum()), rel=1e-12)


@pytest.mark.parametrize(
    "module",
    [
        lambda T, sa, r: T.nn.MSELoss(sa, r),
        lambda T, sa, r: T.nn.CrossEntropyLoss(None, sa, -100, r),
        lambda T, sa, r: T.nn.BCEWithLogitsLoss(None, sa, r),
        lambda T, sa, r: T.nn.PoissonNLLLoss(True, False, sa, 1e-8, r),
    ],
)
@pytest.mark.parametrize("legacy", LEGACY, ids=str)
def test_loss_modules_store_the_legacy_reduction(torch, module, legacy):
    got, got_w = _run(tinyconv, module, *legacy)
    want, want_w = _run(torch, module, *legacy)
    assert got.reduction == want.reduction
    assert [m for _, m in got_w] == [m for _, m in want_w]


# -- 2. reduction='elementwise_mean' ----------------------------------------------------------

EM_CALLS = {
    **{k: v for k, v in LEGACY_CALLS.items() if k != "kl_div"},
    "huber": lambda T, sa, r: T.nn.functional.huber_loss(T.tensor(X), T.tensor(Y)),
    "huber_weighted": lambda T, sa, r: T.nn.functional.huber_loss(
        T.tensor(X), T.tensor(Y), weight=T.tensor(Q)
    ),
    "mse_weighted": lambda T, sa, r: T.nn.functional.mse_loss(
        T.tensor(X), T.tensor(Y), weight=T.tensor(Q)
    ),
    "gaussian_nll": lambda T, sa, r: T.nn.functional.gaussian_nll_loss(
        T.tensor(X), T.tensor(Y), T.tensor(Q)
    ),
    "triplet_with_distance": lambda T, sa, r: T.nn.functional.triplet_margin_with_distance_loss(
        T.tensor(X), T.tensor(Y), T.tensor(X * Y)
    ),
}


@pytest.mark.parametrize("name", sorted(EM_CALLS))
def test_elementwise_mean_is_mean_where_pytorch_takes_it(torch, name):
    """PyTorch's reduction enum reads 'elementwise_mean' as 'mean' with a warning; the losses
    that check the reduction themselves refuse it (ValueError): the same ones here."""

    def call(lib, reduction):
        fn = EM_CALLS[name]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = _with_reduction(lib, fn, reduction)
            except ValueError:
                return None, []
        return out, [str(w.message) for w in caught if "elementwise_mean" in str(w.message)]

    want, want_w = call(torch, "elementwise_mean")
    got, got_w = call(tinyconv, "elementwise_mean")
    assert (got is None) == (want is None)
    assert got_w == want_w
    if want is not None:
        mean, _ = call(tinyconv, "mean")
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got.numpy(), mean.numpy(), rtol=0, atol=0)


class _Shim:
    """`lib` whose nn.functional calls get `reduction=` (and lose the legacy pair)."""

    def __init__(self, lib, reduction: str) -> None:
        self._lib, self._reduction = lib, reduction
        self.nn = self
        self.functional = self

    def __getattr__(self, name):
        f = getattr(self._lib.nn.functional, name, None)
        if callable(f) and name.endswith(("_loss", "entropy", "entropy_with_logits")):
            return lambda *a, **k: _call_with(f, a, k, self._reduction)
        return getattr(self._lib, name)


def _with_reduction(lib, fn, reduction):
    """fn's loss called with `reduction=` set."""
    return fn(_Shim(lib, reduction), None, None)


def _call_with(f, args, kwargs, reduction):
    """f(*args) with reduction= set and the legacy pair (None, None) dropped."""
    params = list(inspect.signature(f).parameters)
    bound = dict(zip(params, args, strict=False))
    bound.update(kwargs)
    bound.pop("size_average", None)
    bound.pop("reduce", None)
    bound["reduction"] = reduction
    return f(**bound)


# -- 3. weighted mse_loss / l1_loss ------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_weighted_mse_and_l1_as_pytorch(loss, reduction, dtype):
    """weight has input's shape; 'mean' is sum(w * loss) / sum(w); every input, the weight
    included, gets PyTorch's gradient."""
    w = RNG.uniform(0.1, 2.0, (3, 4))
    compare(
        lambda T, F, x, y, w: getattr(F, loss)(x, y, reduction=reduction, weight=w),
        [X, Y, w],
        dtype,
    )


def test_weighted_mse_refuses_a_weight_of_another_shape(torch):
    for lib in (torch, tinyconv):
        x = lib.tensor(X)
        with pytest.raises(ValueError, match="same size"):
            lib.nn.functional.mse_loss(x, x, weight=lib.ones(4, dtype=lib.float64))


# -- 4. lp_pool with an infinite norm -----------------------------------------------------------

IMG = RNG.standard_normal((2, 3, 5, 6))


@pytest.mark.parametrize("p", [float("inf"), -float("inf")])
@pytest.mark.parametrize(
    "case",
    [
        lambda T, F, x, p: F.lp_pool1d(x[0], p, 2),
        lambda T, F, x, p: F.lp_pool1d(x[0], p, 3, 2, ceil_mode=True),
        lambda T, F, x, p: F.lp_pool2d(x, p, 2),
        lambda T, F, x, p: F.lp_pool2d(x, p, (2, 3), (1, 2), ceil_mode=True),
        lambda T, F, x, p: T.nn.LPPool2d(p, 3, 2)(x),
        lambda T, F, x, p: T.nn.LPPool3d(p, (2, 2, 2), (1, 2, 1), ceil_mode=True)(x[None]),
        lambda T, F, x, p: F.lp_pool3d(x[None], p, 2, (1, 2, 1), ceil_mode=True),
        lambda T, F, x, p: T.nn.LPPool1d(p, 2)(x[0]),
    ],
)
def test_lp_pool_infinite_norm_is_max_pool_of_abs(case, p):
    """p = inf: the window max of |x|; p = -inf: its min (PyTorch's special cases): the
    values and the gradient (the sign of x at the chosen element)."""
    got, _ = compare(lambda T, F, x: case(T, F, x, p), [IMG])
    assert np.all(got.detach().numpy() >= 0)  # (not 1.0 everywhere, as x^inf gave)
    assert not np.all(got.detach().numpy() == 1.0)


# -- 5. binary_cross_entropy's result dtype ------------------------------------------------------


@pytest.mark.parametrize(
    "x_dt, w_dt", [("float32", "float64"), ("float16", "float32"), ("float64", "float32")]
)
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_bce_keeps_the_input_dtype_whatever_the_weight(torch, x_dt, w_dt, reduction):
    w = RNG.uniform(0.5, 2.0, (3, 4))
    out = {}
    for lib in (torch, tinyconv):
        x = lib.tensor(P, dtype=getattr(lib, x_dt), requires_grad=True)
        t = lib.tensor(Q, dtype=getattr(lib, x_dt))
        y = lib.nn.functional.binary_cross_entropy(
            x, t, lib.tensor(w, dtype=getattr(lib, w_dt)), reduction=reduction
        )
        y.sum().backward()
        out[lib.__name__] = (y, x.grad)
        assert str(y.dtype).split(".")[-1] == x_dt  # (float32 input, float64 weight: float32)
        m = lib.nn.BCELoss(lib.tensor(w, dtype=getattr(lib, w_dt)))(x, t)
        assert str(m.dtype).split(".")[-1] == x_dt
    (yc, gc), (yt, gt) = out["tinyconv"], out["torch"]
    tol = {"float64": 1e-12, "float32": 1e-5, "float16": 2e-3}[x_dt]
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().double().numpy(), rtol=tol)
    np.testing.assert_allclose(gc.numpy(), gt.double().numpy(), rtol=tol)


@pytest.mark.parametrize("which", ["weight", "pos_weight"])
def test_bce_with_logits_mixed_dtypes_as_pytorch(torch, which):
    """The loss takes the target's dtype; weight / pos_weight of another dtype don't change
    it."""
    w = RNG.uniform(0.5, 2.0, 4)
    for x_dt, w_dt in [("float32", "float64"), ("float64", "float32")]:
        res = []
        for lib in (torch, tinyconv):
            x = lib.tensor(X, dtype=getattr(lib, x_dt), requires_grad=True)
            kw = {which: lib.tensor(w, dtype=getattr(lib, w_dt))}
            y = lib.nn.functional.binary_cross_entropy_with_logits(
                x, lib.tensor(Q, dtype=getattr(lib, x_dt)), **kw
            )
            y.backward()
            res.append((str(y.dtype).split(".")[-1], y.item(), x.grad.numpy()))
        assert res[0][0] == res[1][0] == x_dt
        assert res[0][1] == pytest.approx(res[1][1], rel=1e-5)
        np.testing.assert_allclose(res[1][2], res[0][2], rtol=1e-5, atol=1e-7)


# -- 6. cosine_similarity's clamped norms ------------------------------------------------------


def test_cosine_similarity_gradient_below_eps_matches_pytorch():
    """A norm under eps is raised to eps but keeps its own gradient (PyTorch clamps it in
    place under no_grad): the brief's example, and the value it was off by."""
    compare(
        lambda T, F, a, b: F.cosine_similarity(a, b, eps=1e-3),
        [np.array([[1e-4, -2e-4, 3e-4]]), np.array([[0.5, 1.0, -0.2]])],
    )
    a = tinyconv.tensor([[1e-4, -2e-4, 3e-4]], dtype=tinyconv.float64, requires_grad=True)
    tinyconv.nn.functional.cosine_similarity(
        a, tinyconv.tensor([[0.5, 1.0, -0.2]], dtype=tinyconv.float64), eps=1e-3
    ).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [[489.6406, 781.6205, -27.8446]], rtol=1e-5)


SMALL = RNG.standard_normal((3, 1, 4)) * np.array([1e-5, 1.0, 1e-9])[:, None, None]


@pytest.mark.parametrize(
    "case",
    [
        lambda T, F, a, b: F.cosine_similarity(a, b, dim=-1, eps=1e-3),
        lambda T, F, a, b: F.cosine_similarity(a, b[0], dim=-1, eps=1e-4),  # (broadcast)
        lambda T, F, a, b: F.cosine_similarity(a, b[:1], dim=0, eps=1e-2),
        lambda T, F, a, b: F.cosine_similarity(a[:, None], b[None], dim=-1),  # pairwise
        lambda T, F, a, b: T.nn.CosineSimilarity(dim=2, eps=0.5)(a, b),
        lambda T, F, a, b: F.cosine_similarity(a * 0, b, dim=-1),  # (a zero vector)
    ],
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cosine_similarity_values_and_gradients(case, dtype):
    compare(case, [SMALL, RNG.standard_normal((3, 2, 4)) * 1e-3], dtype)


# -- 7. embedding_bag's max_norm ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["mean", "sum", "max"])
def test_embedding_bag_max_norm_renormalises_every_row_looked_up(torch, mode):
    """Every row the input names is renormalised in place, the padding row included."""
    res = []
    for lib in (torch, tinyconv):
        w = lib.tensor([[3.0, 4], [0.6, 0.8], [6, 8], [0.3, 0.1]], requires_grad=True)
        out = lib.nn.functional.embedding_bag(
            lib.tensor([[0, 2, 1], [2, 2, 3]]), w, mode=mode, padding_idx=2, max_norm=1.0
        )
        out.sum().backward()
        res.append((out.detach().numpy(), w.detach().numpy(), w.grad.numpy()))
    for a, b in zip(*res, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(res[1][1][2], [0.6, 0.8], rtol=1e-6)


def test_embedding_padding_idx_out_of_range_is_an_assertion(torch):
    for lib in (torch, tinyconv):
        w = lib.ones(3, 2)
        for p in (3, -4):
            with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
                lib.nn.functional.embedding(lib.tensor([0]), w, padding_idx=p)


# -- 8. negative pads in the copying modes -----------------------------------------------------


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "constant"])
@pytest.mark.parametrize(
    "pad",
    [(-1, 2), (2, -1), (-2, -1), (-3, 5), (-5, 0), (-7, 2), (1, -6), (3, -4), (-1, 2, 1, -1)],
    ids=str,
)
def test_negative_pads_as_pytorch(torch, mode, pad):
    """A negative width crops in every mode: reflect / replicate copy from the uncropped
    input, circular wraps what the crop leaves; values, gradients, and refusals as PyTorch's
    (tinyconv also refuses where PyTorch's circular padding wraps more than once after a crop,
    where it gives uninitialised memory or an internal error)."""
    x = RNG.standard_normal((2, 3, 6)) if len(pad) == 2 else RNG.standard_normal((2, 3, 4))

    def program(T, F, x):
        return F.pad(x, pad, mode=mode)

    if mode == "circular" and pad in [(-3, 5), (3, -4), (-7, 2), (1, -6)]:
        # PyTorch: an internal error, uninitialised memory or a wrap-around more than once,
        # depending on the shape; tinyconv refuses (a wider pad than the crop leaves)
        with pytest.raises(RuntimeError, match="wrapping around more than once|crops more"):
            program(tinyconv, tinyconv.nn.functional, tinyconv.tensor(x))
        return
    try:
        program(torch, torch.nn.functional, torch.tensor(x))
    except RuntimeError:
        with pytest.raises(RuntimeError):
            program(tinyconv, tinyconv.nn.functional, tinyconv.tensor(x))
        return
    compare(program, [x])


def test_reflect_negative_pad_example(torch):
    got = tinyconv.nn.functional.pad(tinyconv.arange(6.0)[None, None], (-1, 2), mode="reflect")
    assert got.tolist() == [[[1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0]]]


# -- 9. interpolate on uint8 -------------------------------------------------------------------

U8 = RNG.integers(0, 256, (2, 3, 5, 7)).astype(np.uint8)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": "nearest", "size": (9, 4)},
        {"mode": "nearest", "scale_factor": 1.7},
        {"mode": "nearest-exact", "size": (3, 11)},
        {"mode": "bilinear", "size": (9, 4)},
        {"mode": "bilinear", "size": (3, 11), "align_corners": True},
        {"mode": "bilinear", "scale_factor": (0.6, 1.3)},
        {"mode": "bilinear", "size": (2, 3), "antialias": True},
        {"mode": "bilinear", "size": (12, 3), "antialias": True, "align_corners": True},
        {"mode": "bicubic", "size": (2, 9), "antialias": True},
        {"mode": "bicubic", "size": (11, 3), "antialias": True},
    ],
    ids=str,
)
def test_interpolate_uint8_as_pytorch(torch, kwargs):
    """uint8 images: PyTorch's fixed-point kernels (weights in int16, rounding and clamping
    per pass) reproduced to the bit."""
    want = torch.nn.functional.interpolate(torch.from_numpy(U8), **kwargs)
    got = tinyconv.nn.functional.interpolate(tinyconv.tensor(U8), **kwargs)
    assert got.dtype == tinyconv.uint8 and want.dtype == torch.uint8
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("shape, size", [((1, 2, 5), 9), ((1, 2, 3, 4, 5), (2, 7, 3))])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_interpolate_uint8_nearest_1d_3d(torch, shape, size, mode):
    x = RNG.integers(0, 256, shape).astype(np.uint8)
    want = torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode=mode)
    got = tinyconv.nn.functional.interpolate(tinyconv.tensor(x), size=size, mode=mode)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize(
    "dtype, mode, shape",
    [
        ("uint8", "area", (1, 2, 4, 4)),
        ("uint8", "linear", (1, 2, 4)),
        ("uint8", "trilinear", (1, 2, 3, 4, 4)),
        ("int64", "nearest", (1, 2, 4, 4)),
        ("int32", "bilinear", (1, 2, 4, 4)),
    ],
)
def test_interpolate_integer_modes_pytorch_refuses(torch, dtype, mode, shape):
    for lib in (torch, tinyconv):
        x = lib.zeros(shape, dtype=getattr(lib, dtype))
        with pytest.raises(NotImplementedError):
            lib.nn.functional.interpolate(x, scale_factor=2, mode=mode)


# -- non-constant pads: PyTorch's sizes (the last 1-3 dims of an input one or two dims bigger) --


@pytest.mark.parametrize(
    "shape, pad, mode",
    [
        ((1, 1, 2, 4), (2, 0), "replicate"),
        ((2, 4), (1, 1, 1, 1), "reflect"),
        ((4,), (1, 1), "reflect"),
        ((1, 1, 1, 4, 4), (1, 1, 1, 1), "replicate"),
        ((2, 2, 2, 2, 2, 2), (1, 1), "circular"),
    ],
)
def test_non_constant_pad_sizes_refused_as_pytorchs(torch, shape, pad, mode):
    for lib in (torch, tinyconv):
        with pytest.raises(NotImplementedError):
            lib.nn.functional.pad(lib.zeros(shape), pad, mode=mode)


@pytest.mark.parametrize(
    "shape, pad, mode",
    [
        ((2, 4), (1, 1), "reflect"),
        ((1, 1, 4), (1, 1), "circular"),
        ((1, 4, 4), (1, 1, 1, 1), "replicate"),
        ((1, 1, 4, 4, 4), (1, 1, 1, 1, 1, 1), "reflect"),
    ],
)
def test_non_constant_pad_sizes_accepted_as_pytorchs(torch, shape, pad, mode):
    x = np.arange(float(np.prod(shape))).reshape(shape)
    compare(lambda T, F, t: F.pad(t, pad, mode=mode), [x])


# -- parity hunt: empty pads, one_hot's dtype, softmax's _stacklevel, loss dtype checks --------


@pytest.mark.parametrize("shape", [(2, 3, 4), (3,), ()])
def test_empty_pad_copies_in_constant_mode(torch, shape):
    x = RNG.standard_normal(shape)
    got, _ = compare(lambda T, F, t: F.pad(t, ()), [x])
    assert got.grad_fn is not None
    compare(lambda T, F, t: F.pad(t, []), [x])


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_empty_pad_refused_in_other_modes(torch, mode):
    for lib in (torch, tinyconv):
        with pytest.raises(NotImplementedError):
            lib.nn.functional.pad(lib.zeros(2, 3, 4), (), mode=mode)


@pytest.mark.parametrize("value", [None, 0, 0.0, 1.5])
def test_pad_value_none_and_non_constant_modes(torch, value):
    x = RNG.standard_normal((2, 3))
    compare(lambda T, F, t: F.pad(t, (1, 2), value=value), [x])
    compare(lambda T, F, t: F.pad(t.long(), (1, 2), "constant", value).double(), [x])
    if value:  # a fill value has no meaning for the other modes: both refuse it
        for lib in (torch, tinyconv):
            with pytest.raises(RuntimeError, match="doesn't take in value"):
                lib.nn.functional.pad(lib.zeros(2, 3), (1, 1), mode="reflect", value=value)
    else:
        compare(lambda T, F, t: F.pad(t, (1, 2), mode="replicate", value=value), [x])


@pytest.mark.parametrize("dtype", ["int32", "int16", "uint8", "int8"])
def test_one_hot_takes_only_int64(torch, dtype):
    for lib in (torch, tinyconv):
        with pytest.raises(RuntimeError):
            lib.nn.functional.one_hot(lib.tensor([1, 0], dtype=getattr(lib, dtype)), 3)


@pytest.mark.parametrize("num_classes", [-1, 0])
def test_one_hot_of_empty_needs_num_classes(torch, num_classes):
    for lib in (torch, tinyconv):
        with pytest.raises(RuntimeError, match="empty tensor"):
            lib.nn.functional.one_hot(lib.zeros(0, dtype=lib.int64), num_classes)
    got = tinyconv.nn.functional.one_hot(tinyconv.zeros(2, 0, dtype=tinyconv.int64), 4)
    assert tuple(got.shape) == (2, 0, 4)


@pytest.mark.parametrize("name", ["softmax", "softmin", "log_softmax"])
def test_softmax_takes_stacklevel_then_dtype(torch, name):
    x = RNG.standard_normal((2, 3))
    compare(lambda T, F, t: getattr(F, name)(t, 1, 3, T.float32), [x], dtype="float32")
    compare(lambda T, F, t: getattr(F, name)(t, dim=0, _stacklevel=5), [x])


@pytest.mark.parametrize("size", [(0, 3), (4, 0), (0, 0)])
def test_linear_with_no_features_backward(torch, size):
    # (built from NumPy: compare()'s nested lists would lose an empty dimension)
    i, o = size
    arrays = [RNG.standard_normal((2, 5, i)), RNG.standard_normal((o, i)), RNG.standard_normal(o)]
    grads = []
    for lib in (torch, tinyconv):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in arrays)
        y = lib.nn.functional.linear(x, w, b)
        assert tuple(y.shape) == (2, 5, o)
        (y.sum() + lib.nn.functional.linear(x, w).sum()).backward()
        grads.append([(tuple(t.grad.shape), t.grad.numpy()) for t in (x, w, b)])
    for (shape_c, g_c), (shape_t, g_t) in zip(grads[1], grads[0], strict=True):
        assert shape_c == shape_t
        np.testing.assert_allclose(g_c, g_t, rtol=1e-12)


@pytest.mark.parametrize("bad", ["input", "target"])
@pytest.mark.parametrize("dtype", ["int64", "bool", "uint8"])
def test_kl_div_refuses_integral_inputs(torch, bad, dtype):
    for lib in (torch, tinyconv):
        x, t = lib.zeros(2, 3), lib.zeros(2, 3)
        args = (x.to(getattr(lib, dtype)), t) if bad == "input" else (x, t.to(getattr(lib, dtype)))
        with pytest.raises(RuntimeError, match="Integral inputs not supported"):
            lib.nn.functional.kl_div(*args, reduction="sum")


def test_cross_entropy_of_integer_logits_is_not_implemented(torch):
    for lib in (torch, tinyconv):
        with pytest.raises(NotImplementedError):
            lib.nn.functional.cross_entropy(lib.ones(2, 3, dtype=lib.int64), lib.tensor([0, 1]))


@pytest.mark.parametrize(
    "program",
    [
        lambda lib, w: lib.nn.functional.nll_loss(lib.zeros(4, 3), lib.tensor([0, 1, 2, 1]), w),
        lambda lib, w: lib.nn.functional.nll_loss(
            lib.zeros(2, 3, 2), lib.zeros(2, 2, dtype=lib.int64), w
        ),
        lambda lib, w: lib.nn.functional.cross_entropy(
            lib.zeros(4, 3), lib.tensor([0, 1, 2, 1]), w, label_smoothing=0.1
        ),
        lambda lib, w: lib.nn.functional.batch_norm(lib.randn(4, 3), w, lib.ones(3)),
        lambda lib, w: lib.nn.functional.batch_norm(
            lib.randn(4, 3), lib.zeros(3), w, training=True
        ),
        lambda lib, w: lib.nn.functional.instance_norm(lib.randn(2, 3, 4), w, lib.ones(3)),
    ],
    ids=["nll_loss", "nll_loss2d", "cross_entropy", "batch_norm", "batch_norm_var", "instance"],
)
def test_arguments_without_a_gradient_refuse_requires_grad(torch, program):
    """A class weight or running statistics that require grad: PyTorch's kernels have no
    gradient for them and raise; tinyconv gave none (or, with label smoothing, part of one)
    without a word."""
    for lib in (torch, tinyconv):
        w = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="is not differentiable with respect to"):
            program(lib, w)
        with lib.no_grad():  # (the check is autograd's: without grad mode it passes)
            program(lib, w)


def test_bce_target_gradient_is_unclamped_at_zero_and_one(torch):
    """BCE's target gradient is -logit(p): +-inf where p is exactly 0 or 1 (only the loss's
    logs are clamped at -100), at first and second order, as PyTorch's. tinyconv gave +-100."""
    p0 = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 0.3])
    t0 = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.2])
    got = []
    for lib in (torch, tinyconv):
        p = lib.tensor(p0, requires_grad=True)
        t = lib.tensor(t0, requires_grad=True)
        loss = lib.nn.functional.binary_cross_entropy(p, t, reduction="sum")
        (gt,) = lib.autograd.grad(loss, t, create_graph=True)
        (gtp,) = lib.autograd.grad(gt.sum(), p)
        # (p's first-order floor is PyTorch's float 1e-12, 9.9999998e-13, in float64 too)
        loss = lib.nn.functional.binary_cross_entropy(p, t, reduction="sum")
        loss.backward()
        got.append([gt.detach().numpy(), gtp.numpy(), t.grad.numpy(), p.grad.numpy()])
    assert np.isinf(got[0][0][:4]).all()
    for ref, mine in zip(*got, strict=True):
        np.testing.assert_array_equal(mine, ref)


@pytest.mark.parametrize(
    "program",
    [
        lambda lib: lib.nn.functional.nll_loss(
            lib.zeros(4, 3, dtype=lib.float64), lib.tensor([0, 1, 2, 1]), lib.ones(3)
        ),
        lambda lib: lib.nn.functional.nll_loss(
            lib.zeros(4, 3), lib.tensor([0, 1, 2, 1]), lib.ones(3, dtype=lib.float64)
        ),
        lambda lib: lib.nn.functional.cross_entropy(
            lib.zeros(2, 3, 2, dtype=lib.float64), lib.zeros(2, 2, dtype=lib.int64), lib.ones(3)
        ),
        lambda lib: lib.nn.CrossEntropyLoss(weight=lib.ones(3), label_smoothing=0.1)(
            lib.zeros(4, 3, dtype=lib.float64), lib.tensor([0, 1, 2, 1])
        ),
        lambda lib: lib.nn.functional.cross_entropy(
            lib.zeros(4, 3), lib.full((4, 3), 1 / 3), ignore_index=0
        ),
    ],
    ids=["nll_f64_w32", "nll_f32_w64", "ce_2d_f64_w32", "ce_smoothing", "probs_ignore_index"],
)
def test_class_losses_refuse_what_pytorch_refuses(torch, program):
    """A class weight of another dtype than the logits (class-index targets), and an
    ignore_index >= 0 with probability targets: RuntimeError in PyTorch; tinyconv computed."""
    for lib in (torch, tinyconv):
        with pytest.raises(RuntimeError, match="expected scalar type|ignore_index is not supp"):
            program(lib)


def test_class_losses_take_what_pytorch_takes(torch):
    """...while probability targets take a weight of any float dtype and a negative
    ignore_index, as PyTorch's."""
    x0 = np.random.default_rng(0).standard_normal((4, 3))
    p0 = np.random.default_rng(1).random((4, 3))
    got = []
    for lib in (torch, tinyconv):
        x, p = lib.tensor(x0), lib.tensor(p0)
        w = lib.tensor([0.5, 1.0, 2.0], dtype=lib.float32)
        got.append(
            [
                lib.nn.functional.cross_entropy(x, p, w).numpy(),
                lib.nn.functional.cross_entropy(x, p, ignore_index=-1).numpy(),
            ]
        )
    for ref, mine in zip(*got, strict=True):
        np.testing.assert_allclose(mine, ref, rtol=1e-12)


def test_special_softmax_takes_dtype_by_position(torch):
    """torch.special.softmax(x, dim, dtype) takes dtype as its third positional argument
    (log_softmax only by keyword); tinyconv raised TypeError."""
    x0 = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    got = []
    for lib in (torch, tinyconv):
        x = lib.tensor(x0)
        y = lib.special.softmax(x, 1, lib.float64)
        z = lib.special.log_softmax(x, 1, dtype=lib.float64)
        assert y.dtype == z.dtype == lib.float64
        with pytest.raises(TypeError):
            lib.special.log_softmax(x, 1, lib.float64)
        got.append((y.numpy(), z.numpy()))
    for ref, mine in zip(*got, strict=True):
        np.testing.assert_allclose(mine, ref, rtol=1e-13)


def test_spatial_ops_take_the_layout_pytorch_suggests(torch):
    """Convolution, transposed convolution, pooling, interpolate and pad write channels-last
    exactly when PyTorch's suggest_memory_format calls an input so, ambiguous strides of
    size-1 dims included: a Conv2d(1, C, 1) weight (C=1: its contiguous strides are also
    channels-last's) gave a channels-last output, so y.view(N, -1) raised and a dropout
    after it drew another mask; a 1x1 channels-last image pooled or padded came out
    contiguous. The strides (but those of size-1 dims) must be PyTorch's."""
    rng = np.random.default_rng(3)
    F = {lib: lib.nn.functional for lib in (torch, tinyconv)}
    programs = {
        "conv": lambda lib, x, w: F[lib].conv2d(x, w),
        "conv_t": lambda lib, x, w: F[lib].conv_transpose2d(x, w.transpose(0, 1)),
        "max_pool": lambda lib, x, w: F[lib].max_pool2d(x, 1),
        "avg_pool": lambda lib, x, w: F[lib].avg_pool2d(x, 1),
        "interpolate": lambda lib, x, w: F[lib].interpolate(x, scale_factor=2),
        "bilinear": lambda lib, x, w: F[lib].interpolate(x, scale_factor=2, mode="bilinear"),
        "pad": lambda lib, x, w: F[lib].pad(x, (1, 1, 1, 1)),
    }

    def stored(shape):  # contiguous, channels-last or any order of dims
        order = [0, 2, 3, 1] if rng.random() < 0.4 else rng.permutation(4).tolist()
        base = torch.tensor(rng.standard_normal([shape[i] for i in order]))
        return base.permute(np.argsort(order).tolist())

    for name, program in programs.items():
        for case in range(150):
            N, C, K = (int(v) for v in rng.choice([1, 1, 2, 3], 3))
            H, W = (int(v) for v in rng.choice([1, 2, 4], 2))
            x, w = stored((N, C, H, W)), stored((K, C, 1, 1))
            want = program(torch, x, w)
            got = program(tinyconv, tinyconv.from_numpy(x.numpy()), tinyconv.from_numpy(w.numpy()))
            keep = [i for i, s in enumerate(want.shape) if s != 1]
            assert [got.stride()[i] for i in keep] == [want.stride()[i] for i in keep], (
                name,
                case,
            )
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
