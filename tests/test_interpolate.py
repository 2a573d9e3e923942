"""F.interpolate, nn.Upsample, nn.UpsamplingNearest2d, nn.UpsamplingBilinear2d (issue 12):
backward against float64 finite differences on hypothesis-drawn configurations; PyTorch's
source-index rule (nearest in float32, linear with and without align_corners, scale factors
recomputed or not) checked exhaustively on small sizes; values, gradients, grad_fn names,
reprs against PyTorch 2.13; bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import float64_arrays, interpolate_configs
from torch_compare import compare

import tinyconv
import tinyconv.nn.functional as F
from tinyconv import nn
from tinyconv.autograd import gradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}


@given(interpolate_configs(), st.data())
def test_interpolate_gradcheck(cfg, data):
    x = tinyconv.from_numpy(data.draw(float64_arrays(cfg.shape))).requires_grad_()
    assert gradcheck(lambda x: F.interpolate(x, **cfg.kwargs), (x,), **TOL)


@pytest.mark.torch
@given(interpolate_configs(), st.sampled_from(["float64", "float32"]))
def test_interpolate_matches_torch(cfg, dtype):
    arr = np.random.default_rng(0).standard_normal(cfg.shape)
    compare(lambda T, F, x: F.interpolate(x, **cfg.kwargs), [arr], dtype, name=True)


@pytest.mark.torch
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "linear", "linear corners"])
def test_source_index_rule_matches_torch(mode):
    """Every output size 1..24 from every input size 1..11, and scale factors that are not
    exact in binary: the positions chosen agree with PyTorch's (float32 for nearest)."""
    torch = pytest.importorskip("torch")
    corners = True if mode == "linear corners" else None if mode.startswith("nearest") else False
    mode = mode.split()[0]
    for n_in in range(1, 12):
        arr = np.random.default_rng(n_in).standard_normal((1, 1, n_in))
        for dt in ("float32", "float64"):
            xt = torch.tensor(arr, dtype=getattr(torch, dt))
            xc = tinyconv.tensor(arr, dtype=getattr(tinyconv, dt))
            calls = [{"size": n} for n in range(1, 25)] + [
                {"scale_factor": s, "recompute_scale_factor": r}
                for s in (0.3, 0.7, 1.1, 1.7, 2.1, 3.3, 1 / 3, 2 / 3)
                for r in (None, True)
                if int(n_in * s) >= 1
            ]
            for kw in calls:
                want = torch.nn.functional.interpolate(xt, mode=mode, align_corners=corners, **kw)
                got = F.interpolate(xc, mode=mode, align_corners=corners, **kw)
                np.testing.assert_allclose(
                    got.numpy(), want.numpy(), 2e-6, 2e-6, err_msg=f"{n_in} {dt} {kw}"
                )


@pytest.mark.torch
@pytest.mark.parametrize("corners", [False, True])
def test_bicubic_source_rule_matches_torch(corners):
    """Bicubic: every output size 1..13 from every input size 1..7 along each axis, and scale
    factors that are not exact in binary (taps left of pixel 0 and past the last, clamped)."""
    torch = pytest.importorskip("torch")
    for n_in in range(1, 8):
        arr = np.random.default_rng(n_in).standard_normal((2, 3, n_in, n_in + 1))
        for dt in ("float32", "float64"):
            xt = torch.tensor(arr, dtype=getattr(torch, dt))
            xc = tinyconv.tensor(arr, dtype=getattr(tinyconv, dt))
            calls = [{"size": (n, 14 - n)} for n in range(1, 14)] + [
                {"scale_factor": s, "recompute_scale_factor": r}
                for s in (0.7, 1.1, 1.7, 2.1, 3.3, 1 / 3)
                for r in (None, True)
                if int(n_in * s) >= 1
            ]
            for kw in calls:
                want = torch.nn.functional.interpolate(
                    xt, mode="bicubic", align_corners=corners, **kw
                )
                got = F.interpolate(xc, mode="bicubic", align_corners=corners, **kw)
                tol = 1e-5 if dt == "float32" else 1e-12
                np.testing.assert_allclose(
                    got.numpy(), want.numpy(), tol, tol, err_msg=f"{n_in} {dt} {kw}"
                )


MODULES = [
    ("Upsample", {"scale_factor": 2}, (1, 2, 3, 3)),
    ("Upsample", {"scale_factor": (2, 1.5), "mode": "bilinear"}, (1, 2, 3, 4)),
    ("Upsample", {"size": (5, 2), "mode": "bilinear", "align_corners": True}, (2, 1, 3, 4)),
    ("Upsample", {"size": 7, "mode": "linear"}, (2, 1, 3)),
    ("Upsample", {"scale_factor": 1.5, "mode": "trilinear"}, (1, 1, 2, 3, 2)),
    ("Upsample", {"scale_factor": 0.5, "mode": "area"}, (1, 2, 4, 6)),
    ("Upsample", {"scale_factor": 2, "mode": "bicubic"}, (1, 2, 3, 4)),
    ("Upsample", {"size": (5, 2), "mode": "bicubic", "align_corners": True}, (2, 1, 3, 4)),
    ("Upsample", {"scale_factor": 1.7, "recompute_scale_factor": True}, (1, 1, 3, 3)),
    ("UpsamplingNearest2d", {"scale_factor": 2}, (1, 2, 3, 3)),
    ("UpsamplingNearest2d", {"size": (4, 5)}, (1, 2, 3, 3)),
    ("UpsamplingBilinear2d", {"scale_factor": 2}, (1, 2, 3, 3)),
    ("UpsamplingBilinear2d", {"size": 5}, (1, 2, 3, 2)),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,kwargs,shape", MODULES)
def test_upsample_modules_match_torch(name, kwargs, shape):
    torch = pytest.importorskip("torch")
    c, t = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(c) == repr(t)
    assert list(c.state_dict()) == list(t.state_dict()) == []
    arr = np.random.default_rng(0).standard_normal(shape)
    compare(lambda T, F, x: (c if T is tinyconv else t)(x), [arr], "float32", name=True)


@pytest.mark.parametrize(
    "call,exc,words",
    [
        (lambda x: F.interpolate(x), ValueError, "exactly one of size and scale_factor"),
        (lambda x: F.interpolate(x, 3, 2.0), ValueError, "exactly one"),
        (lambda x: F.interpolate(x, scale_factor=2, mode="cubic"), ValueError, "mode"),
        (
            lambda x: F.interpolate(x[0], scale_factor=2, mode="bicubic"),
            NotImplementedError,
            "got 3D",
        ),  # noqa: E501
        (
            lambda x: F.interpolate(x, scale_factor=2, align_corners=True),
            ValueError,
            "align_corners",
        ),  # noqa: E501
        (
            lambda x: F.interpolate(x, scale_factor=2, mode="linear"),
            NotImplementedError,
            "Got 4D input, but linear mode needs 3D input",
        ),
        (lambda x: F.interpolate(x[0, 0], scale_factor=2), NotImplementedError, "(got 2D)"),
        (lambda x: F.interpolate(x, size=(3,)), ValueError, "2 spatial dims"),
        (lambda x: F.interpolate(x, scale_factor=(2, 2, 2)), ValueError, "scale_factor"),
        (lambda x: F.interpolate(x, size=2.5), TypeError, "size"),
        (lambda x: F.interpolate(x, scale_factor=0.1), RuntimeError, "greater than 0"),
        (lambda x: F.interpolate(x, size=3, recompute_scale_factor=True), ValueError, "recompute"),
        (lambda x: F.interpolate(x.long(), scale_factor=2), TypeError, "int64"),
        (
            lambda x: F.interpolate(x, scale_factor=2, antialias=True),
            ValueError,
            "Anti-alias option is restricted to bilinear, bicubic, and lanczos",
        ),
        (lambda x: F.interpolate(x, size=2, mode="lanczos"), ValueError, "requires antialias"),
        (lambda x: F.interpolate([1.0], scale_factor=2), TypeError, "input must be a Tensor"),
    ],
)
def test_bad_input(call, exc, words):
    with pytest.raises(exc) as err:
        call(tinyconv.ones(1, 2, 4, 4))
    assert words in str(err.value)


@pytest.mark.parametrize(
    "shape,kwargs",
    [
        ((1, 2, 3, 2), {"scale_factor": 1.5, "mode": "bilinear"}),
        ((1, 1, 4), {"size": 3, "mode": "linear", "align_corners": True}),
        ((1, 1, 2, 3), {"size": (3, 5), "mode": "nearest"}),
        ((1, 2, 3, 2), {"scale_factor": 1.5, "mode": "bicubic"}),
    ],
)
def test_interpolate_double_backward(shape, kwargs):
    """interpolate is linear: its backward is the transposed map, an op whose own backward is
    interpolate again; gradgradcheck differentiates through both."""
    from tinyconv.autograd import gradgradcheck

    x = tinyconv.from_numpy(np.random.default_rng(0).standard_normal(shape)).requires_grad_()
    assert gradgradcheck(lambda x: F.interpolate(x, **kwargs) * F.interpolate(x, **kwargs), (x,))


@pytest.mark.torch
def test_double_backward_node_name_matches_torch():
    torch = pytest.importorskip("torch")
    names = []
    for T in (tinyconv, torch):
        x = T.ones(1, 1, 2, 2, dtype=T.float64, requires_grad=True)
        y = T.nn.functional.interpolate(x, scale_factor=2, mode="bilinear")
        g = T.ones(1, 1, 4, 4, dtype=T.float64, requires_grad=True)
        (dx,) = T.autograd.grad(y, x, g, create_graph=True)
        names.append(dx.grad_fn.name())
    assert names[0] == names[1] == "UpsampleBilinear2DBackwardBackward0"


@pytest.mark.torch
@pytest.mark.parametrize(
    "shape, scale",
    [
        ((2, 5), (1.25, 2.0)),  # (found by a pooling/interpolate sweep: rows came from row 0)
        ((3, 1), (1.2, 1.0)),
        ((3, 1), (2.3, 1.0)),  # 3 -> 6 rows: o >> 1, not floor(o / 2.3)
        ((1, 3), (1.0, 2.3)),
        ((4, 4), (1.1, 2.2)),
        ((3, 4), (1.5, 0.7)),  # (no shortcut: the scale as before)
    ],
)
def test_nearest_2d_copies_or_halves_an_axis_whose_size_stays_or_doubles(shape, scale):
    # PyTorch's 2-D nearest kernel picks source o where an axis keeps its size and o >> 1 where
    # it doubles, whatever scale_factor says; forward and backward both
    torch = pytest.importorskip("torch")

    def run(T):
        x = T.tensor(np.arange(float(np.prod(shape))).reshape((1, 1) + shape), requires_grad=True)
        y = T.nn.functional.interpolate(x, scale_factor=scale, mode="nearest")
        w = T.tensor(np.arange(1.0, y.numel() + 1).reshape(tuple(y.shape)))
        (y * w).sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    (y1, g1), (y2, g2) = run(tinyconv), run(torch)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)


AA_CASES = [  # (input H, W), output (h, w) or a scale factor; downsampling, upsampling, mixed
    ((9, 8), (4, 5)),
    ((5, 17), (9, 3)),
    ((3, 4), (20, 11)),
    ((16, 16), (1, 1)),
    ((7, 6), 0.45),
    ((4, 5), (4, 2)),  # (an axis that keeps its size is copied)
]


@pytest.mark.torch
@pytest.mark.parametrize(  # (Lanczos with align_corners=True is refused: test_bad_input)
    "mode, corners",
    [
        ("bilinear", False),
        ("bilinear", True),
        ("bicubic", False),
        ("bicubic", True),
        ("lanczos", False),
    ],
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("spatial, out", AA_CASES)
def test_antialias_matches_torch(mode, corners, dtype, spatial, out):
    """antialias=True (torchvision's Resize on tensors): PIL's stretched filters, the
    windows cut at the borders and renormalised; values and gradients as PyTorch's."""
    kw = {"mode": mode, "antialias": True, "align_corners": corners}
    kw.update({"scale_factor": out} if isinstance(out, float) else {"size": out})
    arr = np.random.default_rng(1).random((2, 3, *spatial))
    compare(lambda T, F, x: F.interpolate(x, **kw), [arr], dtype, name=True)


def test_antialias_windows_and_bilinear_weights_are_pytorchs():
    """The windows (first input, count) and the bilinear weights to the bit: resizing one-hot
    rows along W gives each output's weights (float32, PyTorch's promotions)."""
    torch = pytest.importorskip("torch")
    from tinyconv.kernels.resample_aa import aa_axis

    for n_in, n_out in [(9, 4), (8, 5), (4, 20), (17, 5), (100, 7)]:
        eye = torch.eye(n_in)[None, None]
        want = torch.nn.functional.interpolate(
            eye, size=(n_in, n_out), mode="bilinear", antialias=True
        )[0, 0].numpy()
        xmin, xsize, w = aa_axis(
            n_in, n_out, np.float32(n_in) / np.float32(n_out), "bilinear", np.float32
        )
        got = np.zeros((n_in, n_out), np.float32)
        for o in range(n_out):
            got[xmin[o] : xmin[o] + xsize[o], o] = w[o, : xsize[o]]
            assert not w[o, xsize[o] :].any()
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "lanczos"])
def test_antialias_gradcheck_and_double_backward(mode):
    from tinyconv.autograd import gradgradcheck

    x = tinyconv.from_numpy(np.random.default_rng(2).standard_normal((1, 2, 7, 5)))
    x.requires_grad_()

    def f(x):
        return F.interpolate(x, size=(3, 8), mode=mode, antialias=True)

    assert gradcheck(f, (x,), **TOL)
    assert gradgradcheck(lambda x: f(x) * f(x), (x,))


def test_antialias_constant_image_stays_constant_and_inf_stays_out_of_other_windows():
    x = tinyconv.full((1, 1, 11, 9), 2.5, dtype=tinyconv.float64)
    for mode in ("bilinear", "bicubic", "lanczos"):
        y = F.interpolate(x, size=(4, 3), mode=mode, antialias=True)
        np.testing.assert_allclose(y.numpy(), 2.5, rtol=1e-14)
    # 12 -> 3: output 0 reads inputs 0..5 but the plan has 9 taps (its others weigh 0 and
    # point at 6..8); an inf at 7 must not reach it as 0 * inf = nan
    x = tinyconv.zeros(1, 1, 1, 12)
    x[..., 7] = float("inf")
    y = F.interpolate(x, size=(1, 3), mode="bilinear", antialias=True)
    assert y[0, 0, 0].tolist() == [0.0, float("inf"), float("inf")]
