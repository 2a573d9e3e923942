"""conv3d and conv_transpose3d: the 2-D route (kernels/conv3d.py) against the 3-D loop
references for every algorithm, float64 gradients against finite differences (first and
second order), bad arguments, and the modules; the comparisons with PyTorch are marked
`torch` and live at the bottom."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import conv3d_configs

import tinyconv as tc
import tinyconv.nn.functional as F
from tinyconv import nn
from tinyconv.autograd import gradcheck, gradgradcheck
from tinyconv.kernels import algorithms
from tinyconv.kernels import conv3d as k3

ALGOS = ("loops", "im2col", "fast")
EXACT = {"rtol": 1e-10, "atol": 1e-10}
GRAD_TOL = {"eps": 1e-6, "atol": 1e-7, "rtol": 1e-6}


def _t(a, grad=True):
    return tc.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _arrays(cfg, bias=True):
    rng = np.random.default_rng(cfg.seed)
    x = rng.standard_normal(cfg.shape)
    w = rng.standard_normal(cfg.weight_shape)
    b = rng.standard_normal(cfg.out_channels) if bias else None
    return rng, x, w, b


def _transposed_case(cfg, data):
    """conv_transpose3d's arguments from a conv3d config: its weight, an input of the conv's
    output size, and an output_padding below max(stride, dilation) on each axis."""
    rng, _, w, _ = _arrays(cfg)
    out_pad = tuple(
        data.draw(st.integers(0, max(s, d) - 1))
        for s, d in zip(cfg.stride, cfg.dilation, strict=True)
    )
    x = rng.standard_normal((cfg.shape[0], cfg.out_channels, *cfg.out_size))
    out = k3.conv_transpose3d_output_size(
        cfg.out_size, cfg.kernel_size, cfg.stride, cfg.sym_padding, out_pad, cfg.dilation
    )
    assume(min(out) >= 1)
    b = rng.standard_normal(cfg.shape[1])
    return rng, x, w, b, out_pad


# -- kernels: the 2-D route equals the 3-D loops, for every 2-D algorithm ---------------------


@settings(max_examples=15, deadline=None)
@given(conv3d_configs(), st.sampled_from(ALGOS), st.booleans())
def test_conv3d_kernels_match_loop_reference(cfg, algo, bias):
    rng, x, w, b = _arrays(cfg, bias)
    a = algorithms.ALGORITHMS[algo]
    y, saved = k3.conv3d_forward(x, w, b, *cfg.args, a.conv2d_forward)
    np.testing.assert_allclose(y, k3.conv3d_reference(x, w, b, *cfg.args), **EXACT)
    assert y.shape == (cfg.shape[0], cfg.out_channels, *cfg.out_size)
    g = rng.standard_normal(y.shape)
    got = k3.conv3d_backward(g, x, w, saved, *cfg.args, a.conv2d_backward)
    want = k3.conv3d_backward_reference(g, x, w, *cfg.args)
    for gg, ww, like in zip(got, want, (x, w, y[0, :, 0, 0, 0]), strict=True):
        assert gg.shape == like.shape and gg.dtype == like.dtype
        np.testing.assert_allclose(gg, ww, **EXACT)
    # a gradient not asked for is not computed
    none = k3.conv3d_backward(g, x, w, None, *cfg.args, a.conv2d_backward, False, True, False)
    assert none[0] is None and none[2] is None
    np.testing.assert_allclose(none[1], want[1], **EXACT)


@settings(max_examples=12, deadline=None)
@given(conv3d_configs(symmetric_padding=True), st.sampled_from(ALGOS), st.data())
def test_conv_transpose3d_kernels_match_loop_reference(cfg, algo, data):
    rng, x, w, b, out_pad = _transposed_case(cfg, data)
    args = (cfg.stride, cfg.sym_padding, out_pad, cfg.dilation, cfg.groups)
    a = algorithms.ALGORITHMS[algo]
    y = k3.conv_transpose3d_forward(x, w, b, *args, a.conv_transpose2d_forward)
    np.testing.assert_allclose(y, k3.conv_transpose3d_reference(x, w, b, *args), **EXACT)
    g = rng.standard_normal(y.shape)
    got = k3.conv_transpose3d_backward(g, x, w, *args, a.conv_transpose2d_backward)
    want = k3.conv_transpose3d_backward_reference(g, x, w, *args)
    for gg, ww in zip(got, want, strict=True):
        assert gg.shape == ww.shape
        np.testing.assert_allclose(gg, ww, **EXACT)


@settings(max_examples=10, deadline=None)
@given(conv3d_configs())
def test_transposed_convolution_is_the_input_gradient(cfg):
    """<conv3d(x, w), g> = <x, conv_transpose3d(g, w)>: the transposed convolution (loops)
    is the adjoint of the convolution (loops), cropped where padding or floor cut."""
    rng, x, w, _ = _arrays(cfg, bias=False)
    y = k3.conv3d_reference(x, w, None, *cfg.args)
    g = rng.standard_normal(y.shape)
    gx, _, _ = k3.conv3d_backward_reference(g, x, w, *cfg.args)
    np.testing.assert_allclose((y * g).sum(), (x * gx).sum(), rtol=1e-10, atol=1e-10)


def test_unfold_and_fold_depth_are_adjoint():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 7, 3, 2))
    kd, sd, dd, pad, G = 3, 2, 2, (1, 2), 2
    out_d = (7 + 3 - dd * (kd - 1) - 1) // sd + 1
    X2 = k3.unfold_depth(x, kd, out_d, sd, dd, pad, G)
    assert X2.shape == (2 * out_d, 4 * kd, 3, 2)
    R = rng.standard_normal(X2.shape)
    back = k3.fold_depth(R, x.shape, kd, sd, dd, pad, G)
    np.testing.assert_allclose((X2 * R).sum(), (x * back).sum(), rtol=1e-12)


def test_integer_conv3d_without_grad():
    x = tc.arange(2 * 3 * 3 * 3).reshape(1, 2, 3, 3, 3) % 5
    w = tc.ones(2, 2, 2, 2, 2, dtype=tc.int64)
    y = F.conv3d(x, w)
    assert y.dtype == tc.int64
    want = k3.conv3d_reference(x.numpy(), w.numpy(), None, (1,) * 3, ((0, 0),) * 3, (1,) * 3, 1)
    np.testing.assert_array_equal(y.numpy(), want)


def test_empty_batch():
    x, w = _t(np.ones((0, 2, 3, 3, 3))), _t(np.ones((4, 2, 2, 1, 2)))
    y = F.conv3d(x, w)
    assert y.shape == (0, 4, 2, 3, 2)
    y.sum().backward()
    assert x.grad.shape == x.shape and not w.grad.numpy().any()


# -- gradients against finite differences (float64) -------------------------------------------


@settings(max_examples=8, deadline=None)
@given(conv3d_configs(max_channels=3), st.booleans())
def test_conv3d_gradcheck(cfg, bias):
    _, x, w, b = _arrays(cfg, bias)
    stride, pads, dil, groups = cfg.args
    flat = tuple(v for p in reversed(pads) for v in p)
    inputs = (_t(x), _t(w)) + ((_t(b),) if bias else ())

    def f(x, w, b=None):  # asymmetric padding reaches conv3d as an explicit F.pad
        return F.conv3d(F.pad(x, flat), w, b, stride, 0, dil, groups)

    assert gradcheck(f, inputs, **GRAD_TOL)


@settings(max_examples=6, deadline=None)
@given(conv3d_configs(max_channels=3, symmetric_padding=True), st.data())
def test_conv_transpose3d_gradcheck(cfg, data):
    _, x, w, b, out_pad = _transposed_case(cfg, data)
    args = (cfg.stride, cfg.sym_padding, out_pad, cfg.groups, cfg.dilation)
    assert gradcheck(lambda x, w, b: F.conv_transpose3d(x, w, b, *args), (_t(x), _t(w), _t(b)))


@pytest.mark.parametrize("kernel", [(2, 3, 2), (1, 2, 4)])
def test_conv3d_same_padding_gradcheck(kernel):
    # even kernels: PyTorch's 'same' pads one more after than before
    rng = np.random.default_rng(3)
    x, w = _t(rng.standard_normal((1, 2, 4, 3, 5))), _t(rng.standard_normal((3, 2, *kernel)))
    y = F.conv3d(x, w, padding="same", dilation=(1, 2, 1))
    assert y.shape == (1, 3, 4, 3, 5)
    assert gradcheck(lambda x, w: F.conv3d(x, w, padding="same", dilation=(1, 2, 1)), (x, w))


@settings(max_examples=4, deadline=None)
@given(conv3d_configs(max_channels=2, max_kernel=2, max_extra=1, symmetric_padding=True))
def test_conv3d_gradgradcheck(cfg):
    _, x, w, b = _arrays(cfg)
    stride, _, dil, groups = cfg.args
    p = cfg.sym_padding
    f = lambda x, w, b: F.conv3d(x, w, b, stride, p, dil, groups)  # noqa: E731
    assert gradgradcheck(f, (_t(x), _t(w), _t(b)), **GRAD_TOL)


def test_conv3d_same_padding_gradgradcheck():
    rng = np.random.default_rng(5)
    x, w = _t(rng.standard_normal((1, 2, 3, 4, 3))), _t(rng.standard_normal((2, 2, 2, 1, 2)))
    assert gradgradcheck(lambda x, w: F.conv3d(x, w, padding="same"), (x, w), **GRAD_TOL)


@settings(max_examples=3, deadline=None)
@given(conv3d_configs(max_channels=2, max_kernel=2, max_extra=1, symmetric_padding=True), st.data())
def test_conv_transpose3d_gradgradcheck(cfg, data):
    _, x, w, b, out_pad = _transposed_case(cfg, data)
    args = (cfg.stride, cfg.sym_padding, out_pad, cfg.groups, cfg.dilation)
    f = lambda x, w, b: F.conv_transpose3d(x, w, b, *args)  # noqa: E731
    assert gradgradcheck(f, (_t(x), _t(w), _t(b)), **GRAD_TOL)


def test_unbatched_input():
    rng = np.random.default_rng(2)
    x, w = _t(rng.standard_normal((2, 3, 4, 3))), _t(rng.standard_normal((3, 2, 2, 2, 2)))
    y = F.conv3d(x, w, padding=1)
    assert y.shape == (3, 4, 5, 4)
    batched = F.conv3d(x.unsqueeze(0), w, padding=1)
    np.testing.assert_array_equal(y.detach().numpy(), batched[0].detach().numpy())
    assert gradcheck(lambda x, w: F.conv3d(x, w, padding=1), (x, w))
    yt = F.conv_transpose3d(x[:, :2], w.transpose(0, 1), stride=2)
    assert yt.shape == (3, 4, 8, 6)  # (C_out, D, H, W): unbatched in, unbatched out


def test_graph_node_and_saved_tensors():
    x = _t(np.ones((1, 2, 3, 3, 3)))
    w = _t(np.ones((2, 2, 2, 2, 2)))
    h = x * 1
    y = F.conv3d(h, w)
    assert y.grad_fn.name() == "ConvolutionBackward0"
    assert len(y.grad_fn.next_functions) == 3
    h.add_(1)  # saved for backward, as PyTorch's node saves it: a change is caught
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# -- bad arguments: each message names the argument and what came in -------------------------


def _x(c=2, d=4, n=1):
    return tc.randn(n, c, d, 4, 4)


def _w(o=2, c=2, k=2):
    return tc.randn(o, c, k, k, k)


BAD = [
    (lambda: F.conv3d(_x(c=3), _w()), ValueError, r"conv3d: input has 3 channels but weight"),
    (lambda: F.conv3d(_x(), _w(o=3, c=1), groups=2), ValueError, r"out_channels \(3.*groups=2"),
    (lambda: F.conv3d(_x(d=1), _w(k=3)), ValueError, r"kernel depth 3 .*padded input depth 1"),
    (lambda: F.conv3d(_x(), _w(), stride=0), ValueError, r"conv3d: stride must be positive"),
    (lambda: F.conv3d(_x(), _w(), dilation=(1, 0, 1)), ValueError, r"dilation must be positive"),
    (lambda: F.conv3d(_x(), _w(), padding=-1), ValueError, r"padding must be non-negative"),
    (lambda: F.conv3d(_x(), _w(), padding=(1, 1)), ValueError, r"padding must be .* triple"),
    (lambda: F.conv3d(_x(), _w(), padding="full"), ValueError, r"padding must be .*'same'"),
    (lambda: F.conv3d(_x(), _w(), stride=2, padding="same"), ValueError, r"'same' needs stride 1"),
    (lambda: F.conv3d(tc.randn(4, 4, 4), _w()), ValueError, r"4-D \(C, D, H, W\) or 5-D"),
    (lambda: F.conv3d(_x(), tc.randn(2, 2, 2, 2)), ValueError, r"weight must be 5-D"),
    (lambda: F.conv3d(_x(), _w(), tc.randn(3)), ValueError, r"bias must have shape \(2,\)"),
    (lambda: F.conv3d(_x(), _w().double()), TypeError, r"weight dtype tinyconv.float64"),
    (lambda: F.conv3d(_x(), _w(), groups=0), ValueError, r"groups must be a positive"),
    (lambda: F.conv3d(_x().numpy(), _w()), TypeError, r"input must be a Tensor"),
    (lambda: F.conv3d(tc.randn(1, 2, 0, 4, 4), _w()), ValueError, r"empty depth, height"),
    (
        lambda: F.conv_transpose3d(_x(), _w(), output_padding=1),
        ValueError,
        r"output_padding \(1, 1, 1\) must be smaller than either stride",
    ),
    (lambda: F.conv_transpose3d(_x(c=3), _w()), ValueError, r"input has 3 channels"),
    (lambda: F.conv_transpose3d(_x(c=3), _w(3, 1), groups=2), ValueError, r"in_channels \(3\)"),
    (lambda: nn.Conv3d(2, 2, (1, 2)), ValueError, r"Conv3d: kernel_size must be .* triple"),
    (lambda: nn.Conv3d(2, 2, 3, padding_mode="edge"), ValueError, r"padding_mode must be"),
    (lambda: nn.Conv3d(2, 2, 3, stride=2, padding="same"), ValueError, r"needs stride 1"),
    (lambda: nn.Conv3d(3, 2, 3, groups=2), ValueError, r"in_channels \(3\) must be divisible"),
    (lambda: nn.ConvTranspose3d(2, 2, 3, padding_mode="reflect"), ValueError, r"only padding"),
    (
        lambda: nn.ConvTranspose3d(2, 2, 3, stride=2)(_x(), output_size=(20, 20, 20)),
        ValueError,
        r"ConvTranspose3d: output_size \(20, 20, 20\) can't be reached.*\[9, 10\]",
    ),
    (lambda: nn.LazyConv3d(2, 3)(tc.randn(4, 4, 4)), ValueError, r"LazyConv3d: expected a 4-D"),
]


@pytest.mark.parametrize("call, exc, match", BAD)
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# -- modules ----------------------------------------------------------------------------------


def test_lazy_modules_become_the_real_ones():
    m = nn.LazyConv3d(4, (1, 2, 2), groups=2)
    y = m(tc.randn(2, 4, 3, 3, 3))
    assert type(m) is nn.Conv3d and m.weight.shape == (4, 2, 1, 2, 2) and y.shape[1] == 4
    t = nn.LazyConvTranspose3d(4, 2, stride=2)
    y = t(tc.randn(2, 3, 3, 3, 3), output_size=(7, 6, 7))
    assert type(t) is nn.ConvTranspose3d and t.weight.shape == (3, 4, 2, 2, 2)
    assert y.shape == (2, 4, 7, 6, 7)


# -- against PyTorch ------------------------------------------------------------------------


def _torch():
    return pytest.importorskip("torch")


def _both(arr, dtype="float64"):
    torch = _torch()
    return (
        tc.tensor(arr, dtype=getattr(tc, dtype), requires_grad=True),
        torch.tensor(arr, dtype=getattr(torch, dtype), requires_grad=True),
    )


def _same(a, b, dtype="float64"):
    tol = EXACT if dtype == "float64" else {"rtol": 2e-5, "atol": 2e-5}
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **tol)


@pytest.mark.torch
@settings(max_examples=10, deadline=None)
@given(conv3d_configs(symmetric_padding=True), st.sampled_from(["float64", "float32"]))
def test_conv3d_matches_torch(cfg, dtype):
    torch = _torch()
    rng, x, w, b = _arrays(cfg)
    (x, xt), (w, wt), (b, bt) = _both(x, dtype), _both(w, dtype), _both(b, dtype)
    stride, _, dil, groups = cfg.args
    y = F.conv3d(x, w, b, stride, cfg.sym_padding, dil, groups)
    yt = torch.nn.functional.conv3d(xt, wt, bt, stride, cfg.sym_padding, dil, groups)
    _same(y, yt, dtype)
    g = rng.standard_normal(tuple(yt.shape))
    y.backward(tc.tensor(g, dtype=getattr(tc, dtype)))
    yt.backward(torch.tensor(g, dtype=getattr(torch, dtype)))
    for a, at in ((x, xt), (w, wt), (b, bt)):
        _same(a.grad, at.grad, dtype)


@pytest.mark.torch
@settings(max_examples=8, deadline=None)
@given(conv3d_configs(symmetric_padding=True), st.data())
def test_conv_transpose3d_matches_torch(cfg, data):
    torch = _torch()
    rng, x, w, b, out_pad = _transposed_case(cfg, data)
    (x, xt), (w, wt), (b, bt) = _both(x), _both(w), _both(b)
    args = (cfg.stride, cfg.sym_padding, out_pad, cfg.groups, cfg.dilation)
    y = F.conv_transpose3d(x, w, b, *args)
    yt = torch.nn.functional.conv_transpose3d(xt, wt, bt, *args)
    _same(y, yt)
    g = rng.standard_normal(tuple(yt.shape))
    y.backward(tc.tensor(g))
    yt.backward(torch.tensor(g))
    for a, at in ((x, xt), (w, wt), (b, bt)):
        _same(a.grad, at.grad)


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note on its own copy
@pytest.mark.parametrize("kernel, dilation", [((2, 3, 4), 1), ((3, 2, 1), (2, 1, 3))])
def test_conv3d_same_padding_and_unbatched_match_torch(kernel, dilation):
    torch = _torch()
    rng = np.random.default_rng(7)
    (x, xt), (w, wt) = (
        _both(rng.standard_normal((2, 4, 5, 6))),
        _both(rng.standard_normal((3, 2, *kernel))),
    )
    y = F.conv3d(x, w, None, 1, "same", dilation)
    yt = torch.nn.functional.conv3d(xt, wt, None, 1, "same", dilation)
    _same(y, yt)
    y.pow(2).sum().backward()
    yt.pow(2).sum().backward()
    _same(x.grad, xt.grad)
    _same(w.grad, wt.grad)


@pytest.mark.torch
def test_double_backward_matches_torch():
    """A gradient penalty through conv3d and conv_transpose3d: d/dw of |dL/dx|^2."""
    torch = _torch()
    rng = np.random.default_rng(11)
    (x, xt) = _both(rng.standard_normal((2, 2, 4, 5, 4)))
    (w, wt) = _both(rng.standard_normal((4, 1, 2, 3, 2)))
    (v, vt) = _both(rng.standard_normal((4, 2, 2, 2, 2)))
    outs = []
    for lib, F_, x_, w_, v_ in (
        (tc, F, x, w, v),
        (torch, torch.nn.functional, xt, wt, vt),
    ):
        h = F_.conv3d(x_, w_, None, (1, 2, 1), 1, (2, 1, 1), 2).tanh()
        y = F_.conv_transpose3d(h, v_, None, 2, (0, 1, 0), (1, 0, 1))
        (gx,) = lib.autograd.grad(y.pow(2).sum(), x_, create_graph=True)
        gx.pow(2).sum().backward()
        outs.append((gx, x_.grad, w_.grad, v_.grad))
    for a, b in zip(*outs, strict=True):
        _same(a, b)


@pytest.mark.torch
def test_nn_grad_functions_match_torch():
    torch = _torch()
    from tinyconv.nn.grad import conv3d_input, conv3d_weight

    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((2, 4, 5, 6, 5)), rng.standard_normal((6, 2, 2, 3, 2))
    args = ((2, 1, 2), (1, 0, 1), (1, 2, 1), 2)
    g = rng.standard_normal(
        tuple(torch.nn.functional.conv3d(torch.tensor(x), torch.tensor(w), None, *args).shape)
    )
    gx = conv3d_input(x.shape, tc.tensor(w), tc.tensor(g), *args)
    gw = conv3d_weight(tc.tensor(x), w.shape, tc.tensor(g), *args)
    _same(gx, torch.nn.grad.conv3d_input(x.shape, torch.tensor(w), torch.tensor(g), *args))
    _same(gw, torch.nn.grad.conv3d_weight(torch.tensor(x), w.shape, torch.tensor(g), *args))


@pytest.mark.torch
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv3d_module_matches_torch(mode):
    """Default init under the same seed, repr, state_dict keys, forward and gradients."""
    torch = _torch()
    kw = {"stride": (1, 2, 1), "padding": (1, 0, 2), "groups": 2, "padding_mode": mode}
    torch.manual_seed(3)
    mt = torch.nn.Conv3d(4, 6, (3, 2, 3), **kw)
    tc.manual_seed(3)
    m = nn.Conv3d(4, 6, (3, 2, 3), **kw)
    assert repr(m) == repr(mt)
    assert list(m.state_dict()) == list(mt.state_dict())
    np.testing.assert_array_equal(m.weight.detach().numpy(), mt.weight.detach().numpy())
    np.testing.assert_array_equal(m.bias.detach().numpy(), mt.bias.detach().numpy())
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 6, 7)).astype(np.float32)
    (x, xt) = _both(x, "float32")
    y, yt = m(x), mt(xt)
    _same(y, yt, "float32")
    y.sum().backward()
    yt.sum().backward()
    _same(x.grad, xt.grad, "float32")
    _same(m.weight.grad, mt.weight.grad, "float32")


@pytest.mark.torch
def test_conv_transpose3d_and_lazy_modules_match_torch():
    torch = _torch()
    x = np.random.default_rng(1).standard_normal((2, 4, 3, 4, 3)).astype(np.float32)
    for name, args, kw, size in (
        ("ConvTranspose3d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}, (6, 8, 6)),
        ("LazyConv3d", (5, 2), {"dilation": (1, 2, 1), "bias": False}, None),
        ("LazyConvTranspose3d", (3, (2, 1, 2)), {"stride": (2, 1, 3)}, None),
    ):
        torch.manual_seed(5)
        mt = getattr(torch.nn, name)(*args, **kw)
        tc.manual_seed(5)
        m = getattr(nn, name)(*args, **kw)
        (xx, xt) = _both(x, "float32")
        call = {"output_size": size} if size else {}
        y, yt = m(xx, **call), mt(xt, **call)
        assert repr(m) == repr(mt)
        np.testing.assert_array_equal(m.weight.detach().numpy(), mt.weight.detach().numpy())
        _same(y, yt, "float32")
        y.sum().backward()
        yt.sum().backward()
        _same(xx.grad, xt.grad, "float32")
