"""F.affine_grid and F.grid_sample: backward against float64 finite differences (input and
grid, hypothesis-drawn shapes, modes, padding modes and align_corners, samples kept off the
kinks); values and both gradients against PyTorch 2.13 on drawn grids that include samples
exactly on pixel centres, half-way points, borders and far outside; PyTorch's coordinates to
the last bit (identity grids, whose one-sided grid gradients depend on it); warnings, errors,
grad_fn names, empty shapes."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import grid_sample_configs
from torch_compare import compare

import tinyconv
import tinyconv.nn.functional as F
from tinyconv.autograd import gradcheck, gradgradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}


def _input(cfg, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(cfg.shape)


def _kwargs(cfg) -> dict:
    return {"mode": cfg.mode, "padding_mode": cfg.padding_mode, "align_corners": cfg.align_corners}


@given(grid_sample_configs())
def test_grid_sample_gradcheck(cfg):
    """d/d input and d/d grid, every element, against central differences."""
    x = tinyconv.tensor(_input(cfg), requires_grad=True)
    g = tinyconv.tensor(cfg.grid, requires_grad=True)
    assert gradcheck(lambda x, g: F.grid_sample(x, g, **_kwargs(cfg)), (x, g), **TOL)


@settings(max_examples=8)  # (each check differentiates the backward per element: ~0.3 s)
@given(grid_sample_configs(max_side=3))
def test_grid_sample_gradgradcheck(cfg):
    """Double backward (the backward's own gradients in input, grid and output gradient)."""
    x = tinyconv.tensor(_input(cfg), requires_grad=True)
    g = tinyconv.tensor(cfg.grid, requires_grad=True)
    assert gradgradcheck(lambda x, g: F.grid_sample(x, g, **_kwargs(cfg)), (x, g), **TOL)


@pytest.mark.torch
@pytest.mark.parametrize(
    "mode,padding_mode,align_corners,rank",
    [
        (m, p, a, r)
        for m, p, a, r in itertools.product(
            ["bilinear", "nearest", "bicubic"],
            ["zeros", "border", "reflection"],
            [True, False],
            [4, 5],
        )
        if not (m == "bicubic" and r == 5)
    ],
)
def test_double_backward_matches_torch(mode, padding_mode, align_corners, rank):
    """A gradient penalty on both first gradients, differentiated again: the same second
    gradients as PyTorch's GridSampler2DBackwardBackward0 (None where PyTorch has None; zeros
    for nearest, whose first gradients still require grad)."""
    torch = pytest.importorskip("torch")
    kw = {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}
    rng = np.random.default_rng(7)
    xs, gs = ((2, 2, 4, 5), (2, 3, 2, 2)) if rank == 4 else ((1, 2, 3, 4, 2), (1, 2, 2, 1, 3))
    x, g = rng.standard_normal(xs), _special_grid(gs[:-1], rank - 2, 1)
    w = rng.standard_normal(xs[:2] + gs[1:-1])
    results = []
    for lib, fn in ((tinyconv, F), (torch, torch.nn.functional)):
        X, G = lib.tensor(x, requires_grad=True), lib.tensor(g, requires_grad=True)
        y = fn.grid_sample(X, G, **kw)
        gx, gg = lib.autograd.grad((y * lib.tensor(w)).sum(), (X, G), create_graph=True)
        assert gx.requires_grad and gg.requires_grad
        penalty = (gx**2).sum() + (gg**3).sum() + (gx.sum(1, keepdim=True) * X).sum()
        results.append(lib.autograd.grad(penalty, (X, G), allow_unused=True))
    for got, want in zip(*results, strict=True):
        assert (got is None) == (want is None)
        if want is not None:
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-10)


@given(
    st.sampled_from([(2, 1, 3, 4), (1, 2, 1, 5), (2, 1, 2, 3, 2), (1, 1, 1, 1)]),
    st.booleans(),
    st.integers(0, 2**16),
)
def test_affine_grid_gradcheck_and_double_backward(size, align_corners, seed):
    d = len(size) - 2
    theta = np.random.default_rng(seed).standard_normal((size[0], d, d + 1))
    t = tinyconv.tensor(theta, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (align_corners=True with unit sizes warns)

        def fn(t):
            return F.affine_grid(t, size, align_corners=align_corners) ** 2

        assert gradcheck(fn, (t,), **TOL)
        assert gradgradcheck(fn, (t,), **TOL)


@pytest.mark.torch
@given(grid_sample_configs(smooth=False), st.sampled_from(["float64", "float32"]))
def test_grid_sample_matches_torch(cfg, dtype):
    """Values, d/d input and d/d grid, including samples exactly on kinks and outside."""
    compare(
        lambda T, F, x, g: F.grid_sample(x, g, **_kwargs(cfg)),
        [_input(cfg), cfg.grid],
        dtype,
        name=True,
    )


def _special_grid(shape: tuple, d: int, seed: int) -> np.ndarray:
    """Random samples, half of them replaced by the border values, the centre and points far
    outside (several reflections away)."""
    rng = np.random.default_rng(seed)
    grid = rng.uniform(-1.3, 1.3, shape + (d,))
    special = np.array([-1.0, 1.0, 0.0, -1.5, 1.5, -3.7, 3.7, 2.0, -2.0, 5.25])
    pick = rng.random(grid.shape) < 0.5
    return np.where(pick, rng.choice(special, grid.shape), grid)


@pytest.mark.torch
@pytest.mark.parametrize(
    "mode,padding_mode,align_corners,rank",
    [
        (m, p, a, r)
        for m, p, a, r in itertools.product(
            ["bilinear", "nearest", "bicubic"],
            ["zeros", "border", "reflection"],
            [True, False],
            [4, 5],
        )
        if not (m == "bicubic" and r == 5)
    ],
)
def test_every_combination_matches_torch(mode, padding_mode, align_corners, rank):
    """Each mode x padding x align_corners (x 4-D / 5-D), float64 and float32, with size-1
    axes included."""
    kw = {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}
    shapes = [((2, 3, 5, 4), (2, 3, 6)), ((1, 2, 1, 3), (1, 4, 2))]
    if rank == 5:
        shapes = [((2, 2, 3, 4, 2), (2, 2, 3, 2)), ((1, 1, 1, 2, 3), (1, 3, 1, 2))]
    for k, (xs, gs) in enumerate(shapes):
        grid = _special_grid(gs, rank - 2, k)
        x = np.random.default_rng(k).standard_normal(xs)
        for dtype in ("float64", "float32"):
            compare(lambda T, F, x, g: F.grid_sample(x, g, **kw), [x, grid], dtype, name=True)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("align_corners", [True, False])
def test_identity_grids_match_torch_to_the_bit(dtype, align_corners):
    """An identity theta puts every sample on a pixel centre, where the bilinear grid gradient
    is one-sided: floor of the unnormalised coordinate picks the side, so the grid and the
    unnormalising must round as PyTorch's do (its linspace and its fused multiply-add)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    eye = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    sizes = [(1, 2, 7, 7), (2, 1, 28, 28), (1, 1, 13, 29), (1, 1, 31, 17), (1, 1, 2, 6)]
    for size in sizes:
        theta = np.array([eye] * size[0])
        want = torch.nn.functional.affine_grid(
            torch.tensor(theta, dtype=getattr(torch, dtype)), size, align_corners=align_corners
        )
        got = F.affine_grid(
            tinyconv.tensor(theta, dtype=getattr(tinyconv, dtype)),
            size,
            align_corners=align_corners,
        )
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        x = rng.standard_normal(size)
        for mode in ("bilinear", "bicubic"):
            compare(
                lambda T, F, x, g, m=mode: F.grid_sample(x, g, mode=m, align_corners=align_corners),
                [x, want.double().numpy()],
                dtype,
            )


@pytest.mark.torch
@given(
    st.sampled_from([(2, 3, 4, 5), (1, 1, 1, 3), (3, 2, 6, 1), (2, 1, 3, 4, 2), (1, 2, 1, 1, 4)]),
    st.booleans(),
    st.sampled_from(["float64", "float32"]),
    st.integers(0, 2**16),
)
def test_affine_grid_matches_torch(size, align_corners, dtype, seed):
    d = len(size) - 2
    theta = np.random.default_rng(seed).standard_normal((size[0], d, d + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(
            lambda T, F, t: F.affine_grid(t, size, align_corners=align_corners),
            [theta],
            dtype,
            name=True,
        )


@pytest.mark.torch
def test_spatial_transformer_chain_matches_torch():
    """theta -> affine_grid -> grid_sample: gradients reach theta through the grid."""
    rng = np.random.default_rng(3)
    theta = np.array([[[0.9, 0.2, 0.1], [-0.1, 1.1, -0.2]], [[1.2, 0.0, 0.3], [0.3, 0.8, 0.0]]])
    x = rng.standard_normal((2, 3, 6, 5))
    for mode, pad, ac in itertools.product(
        ["bilinear", "bicubic", "nearest"], ["zeros", "border", "reflection"], [True, False]
    ):

        def program(T, F, x, t, mode=mode, pad=pad, ac=ac):
            grid = F.affine_grid(t, (2, 3, 4, 7), align_corners=ac)
            return F.grid_sample(x, grid, mode=mode, padding_mode=pad, align_corners=ac)

        for dtype in ("float64", "float32"):
            compare(program, [x, theta], dtype, name=True)


@pytest.mark.torch
def test_align_corners_warnings_match_torch():
    torch = pytest.importorskip("torch")
    th = np.zeros((1, 2, 3))
    x = np.zeros((1, 1, 3, 3))
    g = np.zeros((1, 2, 2, 2))
    for lib, fn in ((torch, torch.nn.functional), (tinyconv, F)):
        t = lib.tensor(th)
        with pytest.warns(UserWarning, match="align_corners"):
            fn.affine_grid(t, (1, 1, 3, 3))
        with pytest.warns(UserWarning, match="align_corners"):
            fn.grid_sample(lib.tensor(x), lib.tensor(g))
        with pytest.warns(UserWarning, match="unit-size|size of 1"):
            fn.affine_grid(t, (1, 1, 1, 3), align_corners=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fn.affine_grid(t, (1, 1, 1, 3), align_corners=False)
            fn.grid_sample(lib.tensor(x), lib.tensor(g), align_corners=False)


@pytest.mark.torch
def test_empty_and_float16_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    cases = [
        ((0, 3, 4, 5), (0, 2, 3, 2)),
        ((2, 0, 4, 5), (2, 2, 3, 2)),
        ((2, 3, 4, 5), (2, 0, 3, 2)),
    ]
    for xs, gs in cases:  # (built here: the compare helper goes through lists, losing shapes)
        x, g = rng.standard_normal(xs), rng.uniform(-1, 1, gs)
        xt, gt = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
        xc, gc = tinyconv.tensor(x, requires_grad=True), tinyconv.tensor(g, requires_grad=True)
        want = torch.nn.functional.grid_sample(xt, gt, align_corners=False)
        got = F.grid_sample(xc, gc, align_corners=False)
        assert tuple(got.shape) == tuple(want.shape)
        got.sum().backward()
        want.sum().backward()
        assert xc.grad.shape == xt.grad.shape and gc.grad.shape == gt.grad.shape
        assert not xc.grad.numpy().any() and not gc.grad.numpy().any()
    x, g = rng.standard_normal((1, 2, 4, 5)), rng.uniform(-1.2, 1.2, (1, 3, 3, 2))
    for mode in ("bilinear", "nearest", "bicubic"):
        want = torch.nn.functional.grid_sample(
            torch.tensor(x, dtype=torch.float16),
            torch.tensor(g, dtype=torch.float16),
            mode=mode,
            align_corners=False,
        )
        got = F.grid_sample(
            tinyconv.tensor(x, dtype=tinyconv.float16),
            tinyconv.tensor(g, dtype=tinyconv.float16),
            mode=mode,
            align_corners=False,
        )
        assert got.dtype == tinyconv.float16
        # both round after each step in half precision, but in different orders: bicubic's
        # 16 taps (weights up to 1.3) drift apart by a few units of 2^-10 more
        tol = 1e-2 if mode == "bicubic" else 2e-3
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=tol, atol=tol)


@pytest.mark.torch
def test_taps_outside_read_zero_even_next_to_inf():
    """With zeros padding a tap outside the input reads 0: an inf at the (clamped) index the
    kernel gathers from never leaks into the output or the gradients (PyTorch skips it)."""
    x = np.ones((1, 1, 3, 3))
    x[0, 0, 0, 0] = np.inf
    grid = np.array([[[[3.0, 3.0], [-3.0, 2.5], [0.9, 0.8]]]])
    compare(
        lambda T, F, x, g: F.grid_sample(x, g, align_corners=True), [x, grid], "float64", name=True
    )


def test_non_finite_grid_raises():
    """A documented difference (README): nan/inf samples raise, whatever the mode."""
    x = tinyconv.zeros(1, 1, 3, 3)
    for bad in (np.nan, np.inf, -np.inf):
        g = tinyconv.tensor([[[[0.1, bad]]]])
        for mode in ("bilinear", "nearest", "bicubic"):
            with pytest.raises(RuntimeError, match="grid has nan or inf"):
                F.grid_sample(x, g, mode=mode, align_corners=False)


def test_grad_fn_and_double_backward():
    x = tinyconv.zeros(1, 1, 3, 3, requires_grad=True)
    t = tinyconv.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], requires_grad=True)
    grid = F.affine_grid(t, (1, 1, 2, 2), align_corners=False)
    y = F.grid_sample(x, grid, align_corners=False)
    assert grid.grad_fn.name() == "AffineGridGeneratorBackward0"
    assert y.grad_fn.name() == "GridSampler2DBackward0"
    assert [type(n).__qualname__ for n, _ in y.grad_fn.next_functions] == [  # (tinyconv classes)
        "AccumulateGrad",
        "AffineGrid",
    ]
    x5 = tinyconv.zeros(1, 1, 2, 2, 2)
    g5 = tinyconv.zeros(1, 1, 1, 1, 3, requires_grad=True)
    assert F.grid_sample(x5, g5, align_corners=True).grad_fn.name() == "GridSampler3DBackward0"
    # nearest: the grid gets a zero gradient, not None (as PyTorch)
    g = tinyconv.zeros(1, 2, 2, 2, requires_grad=True)
    F.grid_sample(x, g, mode="nearest", align_corners=True).sum().backward()
    assert g.grad is not None and not g.grad.numpy().any()


@pytest.mark.torch
def test_bad_arguments_raise_as_torch():
    """Each bad call raises in both libraries with the same class; tinyconv's message names
    the argument."""
    torch = pytest.importorskip("torch")
    x, g = np.zeros((2, 3, 4, 5)), np.zeros((2, 6, 7, 2))

    def calls(lib, fn):
        X, G = lib.tensor(x, dtype=lib.float32), lib.tensor(g, dtype=lib.float32)
        th = lib.zeros(2, 2, 3)
        X5, G5 = lib.zeros(2, 3, 2, 4, 5), lib.zeros(2, 1, 6, 7, 3)
        return [
            ("mode", lambda: fn.grid_sample(X, G, mode="cubic", align_corners=False)),
            (
                "padding_mode",
                lambda: fn.grid_sample(X, G, padding_mode="edge", align_corners=False),
            ),
            ("batch", lambda: fn.grid_sample(X, G[:1], align_corners=False)),
            ("last dim", lambda: fn.grid_sample(X, G[..., :1], align_corners=False)),
            ("4-D", lambda: fn.grid_sample(X[0], G[0], align_corners=False)),
            ("as many dims", lambda: fn.grid_sample(X, G[0], align_corners=False)),
            ("same dtype", lambda: fn.grid_sample(X, G.double(), align_corners=False)),
            ("same dtype", lambda: fn.grid_sample(X.double(), G, align_corners=False)),
            ("floating point", lambda: fn.grid_sample(X.int(), G.int(), align_corners=False)),
            ("non-empty", lambda: fn.grid_sample(X[:, :, :0], G, align_corners=False)),
            ("bicubic", lambda: fn.grid_sample(X5, G5, mode="bicubic", align_corners=False)),
            ("align_corners", lambda: fn.grid_sample(X, G, align_corners=1)),
            ("input must be a Tensor", lambda: fn.grid_sample(x, G, align_corners=False)),
            ("asks for a batch", lambda: fn.affine_grid(th, (3, 3, 4, 5), align_corners=False)),
            ("4-D", lambda: fn.affine_grid(th, (2, 3, 4), align_corners=False)),
            (
                "shape \\(N, 3, 4\\)",
                lambda: fn.affine_grid(th, (2, 3, 4, 5, 6), align_corners=False),
            ),
            (
                "shape \\(N, 2, 3\\)",
                lambda: fn.affine_grid(th[:, :, :2], (2, 3, 4, 5), align_corners=False),
            ),
            ("floating point", lambda: fn.affine_grid(th.int(), (2, 3, 4, 5), align_corners=False)),
            ("positive", lambda: fn.affine_grid(th, (2, 3, 0, 5), align_corners=False)),
        ]

    theirs = calls(torch, torch.nn.functional)
    for (match, ours), (_, want) in zip(calls(tinyconv, F), theirs, strict=True):
        with pytest.raises(Exception) as torch_err:
            want()
        with pytest.raises(torch_err.type, match=match):
            ours()


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_affine_grid_rounds_as_pytorchs(dtype):
    # (each coordinate's terms rounded and added in order, as PyTorch's 2-D grid and its
    # batched product on AVX2 machines: bit for bit there. On AVX-512 machines PyTorch's 3-D
    # grid goes through a bmm that fuses multiply-adds: up to an ulp off, so 2 ulps allowed.
    # An ulp off in the 2-D grid moved a nearest grid_sample across a half-pixel tie: one
    # pixel of six per channel off by 2.0, checked below exactly.)
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    eps = np.finfo(dtype).eps
    for size in [(2, 1, 5, 7), (3, 1, 6, 6), (2, 1, 3, 4, 5)]:
        d = len(size) - 2
        theta = rng.standard_normal((size[0], d, d + 1)).astype(dtype)
        for ac in (False, True):
            want = torch.nn.functional.affine_grid(torch.tensor(theta), size, align_corners=ac)
            got = F.affine_grid(tinyconv.tensor(theta), size, align_corners=ac)
            if d == 2:
                np.testing.assert_array_equal(got.numpy(), want.numpy())
            else:
                np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=2 * eps, atol=eps)
    theta = np.array([[[0.9, 0.1, 0.05], [-0.1, 0.8, 0.0]]], dtype)
    x = np.arange(36.0, dtype=dtype).reshape(1, 1, 6, 6)
    out = []
    for T in (tinyconv, torch):
        grid = T.nn.functional.affine_grid(T.tensor(theta), (1, 1, 5, 5), align_corners=False)
        out.append(
            T.nn.functional.grid_sample(
                T.tensor(x), grid, mode="nearest", padding_mode="border", align_corners=True
            ).numpy()
        )
    np.testing.assert_array_equal(out[0], out[1])
