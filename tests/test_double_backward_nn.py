"""Double backward (create_graph=True) of every op in tinyconv.nn.functional: gradgradcheck in
float64 (second derivatives against finite differences of the create_graph gradient), the
convolution's backward as tinyconv.nn.grad.conv2d_input / conv2d_weight (against torch.nn.grad
too), and a gradient penalty through a small CNN against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import conv2d_configs

import tinyconv as tc
import tinyconv.nn.functional as F
from tinyconv.autograd import gradgradcheck
from tinyconv.nn.grad import conv2d_input, conv2d_weight

TOL = {"eps": 1e-6, "atol": 1e-7, "rtol": 1e-6}


def _t(a, grad=True):
    return tc.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _sq(t):
    """t * t: a second derivative that is not zero (x * x has a double backward in the engine)."""
    return t * t


def _ggc(fn, *inputs, **kw):
    assert gradgradcheck(fn, inputs, **{**TOL, **kw})


# -- convolution ------------------------------------------------------------------------


def _conv_case(cfg, bias=True):
    rng = np.random.default_rng(cfg.seed)
    x = _t(rng.standard_normal(cfg.shape))
    w = _t(rng.standard_normal(cfg.weight_shape))
    b = _t(rng.standard_normal(cfg.out_channels)) if bias else None
    return x, w, b


@settings(max_examples=6, deadline=None)
@given(conv2d_configs(max_batch=2, max_kernel=3, max_extra=2))
def test_conv2d_gradgradcheck(cfg):
    x, w, b = _conv_case(cfg)
    stride, pads, dil, groups = cfg.args
    (t, bo), (le, r) = pads
    # asymmetric padding reaches conv2d as an explicit F.pad (conv2d takes symmetric padding)
    _ggc(lambda x, w, b: F.conv2d(F.pad(x, (le, r, t, bo)), w, b, stride, 0, dil, groups), x, w, b)


@settings(max_examples=4, deadline=None)
@given(conv2d_configs(max_batch=2, max_kernel=3, max_extra=2, symmetric_padding=True))
def test_conv2d_symmetric_padding_gradgradcheck(cfg):
    x, w, b = _conv_case(cfg)
    stride, pads, dil, groups = cfg.args
    p = (pads[0][0], pads[1][0])
    _ggc(lambda x, w, b: F.conv2d(x, w, b, stride, p, dil, groups), x, w, b)


def test_conv2d_same_padding_even_kernel_gradgradcheck():
    rng = np.random.default_rng(1)
    x, w = _t(rng.standard_normal((1, 2, 4, 5))), _t(rng.standard_normal((2, 2, 2, 4)))
    _ggc(lambda x, w: F.conv2d(x, w, padding="same", dilation=(2, 1)), x, w)


@settings(max_examples=5, deadline=None)
@given(conv2d_configs(max_batch=2, max_kernel=3, max_extra=2, symmetric_padding=True))
def test_conv_transpose2d_gradgradcheck(cfg):
    rng = np.random.default_rng(cfg.seed)
    stride, pads, dil, groups = cfg.args
    p = (pads[0][0], pads[1][0])
    # conv2d's output as the transposed convolution's input, conv2d's weight as its weight
    N, C = cfg.shape[:2]
    oh = (cfg.shape[2] + 2 * p[0] - dil[0] * (cfg.kernel_size[0] - 1) - 1) // stride[0] + 1
    ow = (cfg.shape[3] + 2 * p[1] - dil[1] * (cfg.kernel_size[1] - 1) - 1) // stride[1] + 1
    x = _t(rng.standard_normal((N, cfg.out_channels, oh, ow)))
    w = _t(rng.standard_normal(cfg.weight_shape))
    b = _t(rng.standard_normal(C))
    out_pad = tuple(max(s, d) - 1 for s, d in zip(stride, dil, strict=True))
    _ggc(lambda x, w, b: F.conv_transpose2d(x, w, b, stride, p, out_pad, groups, dil), x, w, b)


@settings(max_examples=25, deadline=None)
@given(conv2d_configs())
def test_conv2d_backward_is_nn_grad(cfg):
    """conv2d's (NumPy) backward equals conv2d_input and conv2d_weight, on random strided,
    dilated, grouped and (asymmetrically) padded configurations."""
    x, w, b = _conv_case(cfg, bias=False)
    stride, pads, dil, groups = cfg.args
    (t, bo), (le, r) = pads
    y = F.conv2d(F.pad(x, (le, r, t, bo)), w, None, stride, 0, dil, groups)
    g = np.random.default_rng(cfg.seed + 1).standard_normal(y.shape)
    y.backward(tc.tensor(g))
    gx = conv2d_input(x.shape, w.detach(), tc.tensor(g), stride, pads, dil, groups)
    gw = conv2d_weight(x.detach(), w.shape, tc.tensor(g), stride, pads, dil, groups)
    np.testing.assert_allclose(gx.numpy(), x.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw.numpy(), w.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_conv2d_create_graph_runs_nn_grad(monkeypatch):
    """The create_graph backward of conv2d is conv2d_input and conv2d_weight (called, not
    merely equal)."""
    from tinyconv.nn.functional import conv as conv_mod

    calls = []
    real_in, real_w = conv_mod.conv2d_input, conv_mod.conv2d_weight
    monkeypatch.setattr(
        conv_mod, "conv2d_input", lambda *a, **k: calls.append("input") or real_in(*a, **k)
    )
    monkeypatch.setattr(
        conv_mod, "conv2d_weight", lambda *a, **k: calls.append("weight") or real_w(*a, **k)
    )
    rng = np.random.default_rng(2)
    x, w = _t(rng.standard_normal((1, 2, 5, 5))), _t(rng.standard_normal((3, 2, 3, 3)))
    gx, gw = tc.autograd.grad(F.conv2d(x, w, stride=2).sum(), (x, w), create_graph=True)
    assert calls == ["input", "weight"]
    assert gx.requires_grad and gw.requires_grad


@pytest.mark.torch
@settings(max_examples=10, deadline=None)
@given(conv2d_configs(max_batch=2, max_extra=3, symmetric_padding=True))
def test_nn_grad_matches_torch(cfg):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(cfg.seed)
    x, w = rng.standard_normal(cfg.shape), rng.standard_normal(cfg.weight_shape)
    stride, pads, dil, groups = cfg.args
    p = (pads[0][0], pads[1][0])
    y = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), None, stride, p, dil, groups)
    g = rng.standard_normal(tuple(y.shape))
    want_x = torch.nn.grad.conv2d_input(
        x.shape, torch.tensor(w), torch.tensor(g), stride, p, dil, groups
    )
    want_w = torch.nn.grad.conv2d_weight(
        torch.tensor(x), w.shape, torch.tensor(g), stride, p, dil, groups
    )
    got_x = conv2d_input(x.shape, tc.tensor(w), tc.tensor(g), stride, p, dil, groups)
    got_w = conv2d_weight(tc.tensor(x), w.shape, tc.tensor(g), stride, p, dil, groups)
    np.testing.assert_allclose(got_x.numpy(), want_x.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_w.numpy(), want_w.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("args", [(1, 0, 1, 1), (2, 1, 1, 1), (2, 2, 3, 2), (3, 0, 2, 2)])
def test_nn_grad_1d_matches_torch(args):
    torch = pytest.importorskip("torch")
    from tinyconv.nn.grad import conv1d_input, conv1d_weight

    rng = np.random.default_rng(sum(args))
    x, w = rng.standard_normal((2, 4, 11)), rng.standard_normal((6, 4 // args[3], 3))
    y = torch.nn.functional.conv1d(torch.tensor(x), torch.tensor(w), None, *args)
    g = rng.standard_normal(tuple(y.shape))
    want_x = torch.nn.grad.conv1d_input(x.shape, torch.tensor(w), torch.tensor(g), *args)
    want_w = torch.nn.grad.conv1d_weight(torch.tensor(x), w.shape, torch.tensor(g), *args)
    got_x = conv1d_input(x.shape, tc.tensor(w), tc.tensor(g), *args)
    got_w = conv1d_weight(tc.tensor(x), w.shape, tc.tensor(g), *args)
    assert got_x.shape == want_x.shape and got_w.shape == want_w.shape
    np.testing.assert_allclose(got_x.numpy(), want_x.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_w.numpy(), want_w.numpy(), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="input_size must be"):
        conv1d_input((2, 4, 1, 11), tc.tensor(w), tc.tensor(g), *args)


def test_nn_grad_bad_input():
    w = tc.zeros(4, 2, 3, 3)
    g = tc.zeros(1, 4, 3, 3)
    with pytest.raises(ValueError, match="grad_output has 3"):
        conv2d_input((1, 2, 6, 6), w, g)  # a 6x6 input gives a 4x4 output
    with pytest.raises(ValueError, match="input_size"):
        conv2d_input((1, 2, 5), w, g)
    with pytest.raises(ValueError, match="channels"):
        conv2d_weight(tc.zeros(1, 2, 5, 5), (3, 2, 3, 3), g)
    with pytest.raises(ValueError, match="padding"):
        conv2d_weight(tc.zeros(1, 2, 5, 5), (4, 2, 3, 3), g, padding=((1, -1), (0, 0)))


# -- linear ops: padding, pooling, interpolation -----------------------------------------------


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradgradcheck(mode):
    x = _t(np.random.default_rng(3).standard_normal((2, 2, 4, 5)))
    pads = (2, 1, 0, 3) if mode != "reflect" else (2, 1, 0, 3)
    value = 1.5 if mode == "constant" else 0.0
    _ggc(lambda x: _sq(F.pad(x, pads, mode, value)), x)


def test_pad_negative_crop_gradgradcheck():
    x = _t(np.random.default_rng(4).standard_normal((1, 2, 5, 5)))
    _ggc(lambda x: _sq(F.pad(x, (-1, 2, 1, -2))), x)


def _distinct(shape, seed):
    """Values 0.1 apart (shuffled): max pooling's argmax is stable under the check's eps."""
    rng = np.random.default_rng(seed)
    return _t(rng.permutation(np.arange(np.prod(shape))).reshape(shape) * 0.1)


@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 1, "padding": 1},
        {"kernel_size": (2, 3), "stride": (1, 2), "dilation": 2, "ceil_mode": True},
        {"kernel_size": 2, "stride": 3, "padding": 1, "ceil_mode": True},
    ],
)
def test_max_pool2d_gradgradcheck(kw):
    x = _distinct((1, 2, 6, 7), 5)
    _ggc(lambda x: _sq(F.max_pool2d(x, **kw)), x)


def test_max_pool2d_double_backward_is_a_gather():
    # the gradient of max pooling is linear in the incoming gradient: its derivative sends
    # each window's gradient-of-gradient back to where the window's argmax was
    x = _distinct((1, 1, 4, 4), 6)
    y = F.max_pool2d(x, 2)
    v = _t(np.arange(4.0).reshape(1, 1, 2, 2))
    (gx,) = tc.autograd.grad(y, x, v, create_graph=True)
    (gv,) = tc.autograd.grad((gx * x).sum(), v)
    np.testing.assert_array_equal(gv.numpy(), y.detach().numpy())


@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"kernel_size": (2, 3), "divisor_override": 4},
    ],
)
def test_avg_pool2d_gradgradcheck(kw):
    x = _t(np.random.default_rng(7).standard_normal((1, 2, 6, 7)))
    _ggc(lambda x: _sq(F.avg_pool2d(x, **kw)), x)


@pytest.mark.parametrize("size", [(3, 2), (4, 5), 1])
def test_adaptive_pools_gradgradcheck(size):
    x = _distinct((1, 2, 5, 7), 8)
    _ggc(lambda x: _sq(F.adaptive_avg_pool2d(x, size)), x)
    _ggc(lambda x: _sq(F.adaptive_max_pool2d(x, size)), x)


@pytest.mark.parametrize(
    "kw",
    [
        {"scale_factor": 2, "mode": "nearest"},
        {"size": (5, 7), "mode": "bilinear", "align_corners": True},
        {"size": (3, 7), "mode": "bilinear"},
    ],
)
def test_interpolate_gradgradcheck(kw):
    x = _t(np.random.default_rng(9).standard_normal((1, 2, 4, 5)))
    _ggc(lambda x: _sq(F.interpolate(x, **kw)), x)


# -- activations, dropout, linear ----------------------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: F.leaky_relu(x, 0.2),
        F.gelu,
        lambda x: F.gelu(x, approximate="tanh"),
        F.silu,
        lambda x: F.elu(x, 0.7),
        F.softplus,
        lambda x: F.softplus(x, beta=2.0, threshold=1.0),
        lambda x: F.hardtanh(x, -0.5, 0.8),
        F.relu6,
        F.hardswish,
        F.hardsigmoid,
        F.mish,
    ],
)
def test_activation_gradgradcheck(fn):
    # values away from the kinks (+-3, 0, the clip bounds), where finite differences would
    # straddle a jump of the first derivative
    x = _t([[-4.1, -2.2, -0.9, -0.3], [0.35, 0.6, 1.3, 2.4], [3.7, 5.0, -6.0, 0.2]])
    _ggc(lambda x: _sq(fn(x)), x)


def test_dropout_gradgradcheck():
    x = _t(np.random.default_rng(10).standard_normal((3, 4)))
    tc.manual_seed(0)
    mask = F.dropout(tc.ones(3, 4, dtype=tc.float64), 0.4).numpy()

    def fn(x):
        tc.manual_seed(0)  # the same mask at every evaluation
        return _sq(F.dropout(x, 0.4))

    _ggc(fn, x)
    (g,) = tc.autograd.grad(fn(x).sum(), x, create_graph=True)
    (gg,) = tc.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 2 * mask * mask)


@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradgradcheck(shape, bias):
    rng = np.random.default_rng(11)
    x, w = _t(rng.standard_normal(shape)), _t(rng.standard_normal((2, 4)))
    b = _t(rng.standard_normal(2)) if bias else None
    if bias:
        _ggc(lambda x, w, b: _sq(F.linear(x, w, b)), x, w, b)
    else:
        _ggc(lambda x, w: _sq(F.linear(x, w)), x, w)


# -- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 2, 3)])
def test_batch_norm_train_gradgradcheck(affine, shape):
    # the classic hard case: mean and variance depend on x, so the saved xhat and 1/std must
    # not be treated as constants in the double backward
    rng = np.random.default_rng(12)
    x = _t(rng.standard_normal(shape))
    C = shape[1]
    if affine:
        w, b = _t(rng.standard_normal(C)), _t(rng.standard_normal(C))
        _ggc(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x, w, b)
    else:
        _ggc(lambda x: F.batch_norm(x, None, None, training=True), x)


def test_batch_norm_train_with_running_stats_gradgradcheck():
    rng = np.random.default_rng(13)
    x, w, b = _t(rng.standard_normal((4, 2, 3))), _t(rng.random(2) + 0.5), _t(rng.random(2))

    def fn(x, w, b):
        rm, rv = tc.zeros(2, dtype=tc.float64), tc.ones(2, dtype=tc.float64)
        return F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.3, eps=1e-3)

    _ggc(fn, x, w, b)


def test_batch_norm_eval_gradgradcheck():
    rng = np.random.default_rng(14)
    x, w, b = _t(rng.standard_normal((3, 2, 2, 2))), _t(rng.random(2)), _t(rng.random(2))
    rm, rv = tc.tensor(rng.standard_normal(2)), tc.tensor(rng.random(2) + 0.5)
    _ggc(lambda x, w, b: _sq(F.batch_norm(x, rm, rv, w, b, training=False)), x, w, b)


def test_batch_norm_double_backward_equals_the_composed_formula():
    # batch norm written out in engine ops (mean, var, rsqrt: each with its own double
    # backward) gives the same second derivative; a double backward that took the saved
    # xhat and 1/std as constants would not (and the curvature here is far from zero)
    rng = np.random.default_rng(15)
    x = _t(rng.standard_normal((5, 2)))
    v = tc.tensor(rng.standard_normal((5, 2)))

    def composed(x):
        c = x - x.mean(0, keepdim=True)
        return c * ((c * c).mean(0, keepdim=True) + 1e-5).rsqrt()

    got, want = [
        tc.autograd.grad(
            (lambda g: (g * g).sum())(tc.autograd.grad(f(x), x, v, create_graph=True)[0]), x
        )[0].numpy()
        for f in (lambda x: F.batch_norm(x, None, None, training=True), composed)
    ]
    assert np.abs(want).max() > 1e-2
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_gradgradcheck(affine):
    rng = np.random.default_rng(16)
    x = _t(rng.standard_normal((2, 3, 4)))
    if affine:
        w, b = _t(rng.standard_normal((3, 4))), _t(rng.standard_normal((3, 4)))
        _ggc(lambda x, w, b: F.layer_norm(x, (3, 4), w, b), x, w, b)
        w1, b1 = _t(rng.standard_normal(4)), _t(rng.standard_normal(4))
        _ggc(lambda x, w, b: F.layer_norm(x, (4,), w, b), x, w1, b1)
    else:
        _ggc(lambda x: F.layer_norm(x, (4,)), x)
        _ggc(lambda x: _sq(F.layer_norm(x[0], (3, 4))), x)  # no batch dimensions


def test_normalization_compositions_gradgradcheck():
    rng = np.random.default_rng(17)
    x = _t(rng.standard_normal((2, 4, 3)))
    w, b = _t(rng.standard_normal(4)), _t(rng.standard_normal(4))
    _ggc(lambda x, w, b: F.group_norm(x, 2, w, b), x, w, b)
    _ggc(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), x, w, b)
    _ggc(lambda x: F.local_response_norm(x, 3, alpha=0.5), x)
    _ggc(lambda x: F.normalize(x, dim=1), x)


# -- losses ------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_gradgradcheck(reduction):
    rng = np.random.default_rng(18)
    x = _t(rng.standard_normal((4, 3)))
    t = tc.tensor([0, 2, 1, 2])
    w = tc.tensor([0.5, 2.0, 1.5], dtype=tc.float64)
    _ggc(lambda x: F.cross_entropy(x, t, reduction=reduction), x)
    _ggc(lambda x: F.cross_entropy(x, t, weight=w, ignore_index=1, reduction=reduction), x)
    _ggc(lambda x: F.cross_entropy(x, t, weight=w, label_smoothing=0.2, reduction=reduction), x)
    _ggc(lambda x: F.nll_loss(F.log_softmax(x, 1), t, weight=w, reduction=reduction), x)


def test_cross_entropy_spatial_and_probability_targets_gradgradcheck():
    rng = np.random.default_rng(19)
    x = _t(rng.standard_normal((2, 3, 2, 2)))
    t = tc.tensor(rng.integers(0, 3, (2, 2, 2)))
    _ggc(lambda x: F.cross_entropy(x, t, label_smoothing=0.1), x)
    p = tc.tensor(rng.dirichlet(np.ones(3), (2, 2, 2)).transpose(0, 3, 1, 2).copy())
    _ggc(lambda x: F.cross_entropy(x, p), x)


def test_nll_loss_gradgradcheck_in_its_input():
    # nll_loss is linear in its input: the double backward flows to the incoming gradient
    rng = np.random.default_rng(20)
    x = _t(rng.standard_normal((3, 4)))
    t = tc.tensor([3, 0, 1])
    _ggc(lambda x: _sq(F.nll_loss(x, t, reduction="none")), x)
    _ggc(lambda x: _sq(F.nll_loss(x, t)), x)


def test_regression_and_binary_losses_gradgradcheck():
    rng = np.random.default_rng(21)
    x, y = _t(rng.standard_normal((3, 2))), _t(rng.standard_normal((3, 2)))
    p, q = _t(rng.uniform(0.1, 0.9, (3, 2))), _t(rng.uniform(0.1, 0.9, (3, 2)))
    pw = _t(rng.uniform(0.5, 2.0, 2))
    w = tc.tensor(rng.uniform(0.5, 2.0, (3, 2)))
    _ggc(lambda x, y: F.mse_loss(x, y), x, y)
    _ggc(lambda p, q: F.binary_cross_entropy(p, q), p, q)
    _ggc(lambda p, q: F.binary_cross_entropy(p, q, weight=w, reduction="sum"), p, q)
    _ggc(lambda x, q: F.binary_cross_entropy_with_logits(x, q), x, q)
    _ggc(lambda x, q, pw: F.binary_cross_entropy_with_logits(x, q, pos_weight=pw), x, q, pw)
    _ggc(lambda x: _sq(F.l1_loss(x, y.detach(), reduction="none")), x)


# -- every Function in nn.functional has a double backward -----------------------------------


def test_every_functional_op_has_graph_backward():
    import importlib
    import inspect
    import pkgutil

    from tinyconv.autograd.function import Function

    found = []
    for info in pkgutil.iter_modules(F.__path__):
        module = importlib.import_module(f"{F.__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Function) and cls.__module__ == module.__name__:
                found.append(cls)
                assert cls.graph_backward is not None, f"{cls.__qualname__} has no graph_backward"
    assert len(found) >= 20  # the walk found the ops (conv, pooling, losses, norms, ...)


# -- a gradient penalty through a small CNN, against PyTorch -----------------------------------


def _cnn_penalty(lib, F_, x, params, target, lam):
    """loss + lam * ||d loss / d x||^2 through conv + max-pool + batch norm (train) + relu +
    linear + cross-entropy; backward of the whole, through the create_graph gradient."""
    w1, b1, gamma, beta, w2, b2 = params
    h = F_.conv2d(x, w1, b1, stride=1, padding=1)
    h = F_.max_pool2d(h, 2)
    h = F_.batch_norm(h, None, None, gamma, beta, training=True)
    h = F_.relu(h)
    logits = F_.linear(h.flatten(1), w2, b2)
    loss = F_.cross_entropy(logits, target)
    (gx,) = lib.autograd.grad(loss, x, create_graph=True)
    total = loss + lam * (gx * gx).sum()
    total.backward()
    return total


@pytest.mark.torch
def test_gradient_penalty_cnn_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(22)
    arrays = [
        rng.standard_normal((4, 2, 3, 3)) * 0.5,
        rng.standard_normal(4) * 0.1,
        rng.uniform(0.5, 1.5, 4),
        rng.standard_normal(4) * 0.1,
        rng.standard_normal((3, 4 * 3 * 3)) * 0.3,
        rng.standard_normal(3) * 0.1,
    ]
    xa = rng.standard_normal((5, 2, 6, 6))
    ta = np.array([0, 2, 1, 1, 0])
    ours = [tc.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    x, xt = tc.tensor(xa, requires_grad=True), torch.tensor(xa, requires_grad=True)
    got = _cnn_penalty(tc, F, x, ours, tc.tensor(ta), 0.7)
    want = _cnn_penalty(torch, torch.nn.functional, xt, theirs, torch.tensor(ta), 0.7)
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-12)
    assert abs(want.item() - got.item()) < 1e-9
    for a, b in zip([x, *ours], [xt, *theirs], strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-9)


# -- checkpoint ----------------------------------------------------------------------------


def _penalty_grads(x, modules, segment, checkpointed):
    from tinyconv.utils.checkpoint import checkpoint

    params = [p for m in modules for p in m.parameters()]
    for p in [x, *params]:
        p.grad = None
    h = modules[0](x)
    y = checkpoint(segment, h, use_reentrant=False) if checkpointed else segment(h)
    loss = (y * y).sum()
    (gx,) = tc.autograd.grad(loss, x, create_graph=True)
    (loss + (gx * gx).sum()).backward()
    return [t.grad.numpy().copy() for t in [x, *params]]


def test_checkpoint_double_backward_equals_the_plain_one():
    # the segment reads `pre`'s weight too, which is also used before the segment: its
    # gradient must count both uses exactly once
    tc.manual_seed(0)
    pre = tc.nn.Conv2d(2, 2, 1).double()
    body = tc.nn.Sequential(tc.nn.Conv2d(2, 3, 3, padding=1), tc.nn.Tanh()).double()

    def segment(h):
        return F.conv2d(body(h)[:, :2], pre.weight)

    x = _t(np.random.default_rng(23).standard_normal((2, 2, 5, 5)))
    want = _penalty_grads(x, [pre, body], segment, False)
    got = _penalty_grads(x, [pre, body], segment, True)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    _ggc(lambda x: tc.utils.checkpoint.checkpoint(segment, x, use_reentrant=False), x)


def test_checkpoint_reentrant_refuses_a_double_backward():
    x = _t(np.ones((2, 3)))
    y = tc.utils.checkpoint.checkpoint(lambda t: (t * t).sum(), x, use_reentrant=True)
    with pytest.raises(RuntimeError, match="use_reentrant=False"):
        tc.autograd.grad(y, x, create_graph=True)


@pytest.mark.parametrize(
    "op",
    [
        lambda x: F.pad(x, (1, 2, 0, 1), "reflect"),
        lambda x: F.max_pool2d(x, 2, 1),
        lambda x: F.avg_pool2d(x, 2, 1, ceil_mode=True),
        lambda x: F.adaptive_max_pool2d(x, (2, 3)),
        lambda x: F.interpolate(x, size=(5, 6), mode="bilinear"),
        lambda x: F.conv2d(x, x[:, :1, :2, :2].transpose(0, 1), stride=2, padding=1),
    ],
)
def test_third_derivatives_through_linear_ops(op):
    # the gradient's own create_graph backward: the backward-of-backward nodes (LinearBackward,
    # conv2d_input/conv2d_weight) must themselves have a correct double backward
    x = _t(_distinct((2, 2, 4, 4), 24).detach().numpy() * 0.3)  # (distinct: a stable argmax)

    def first(x):
        y = op(x)
        (g,) = tc.autograd.grad((y * y * y).sum(), x, create_graph=True)
        return g

    _ggc(first, x)


PIECEWISE_LINEAR = {
    "relu": lambda m, x: m.relu(x),
    "leaky_relu": lambda m, x: m.nn.functional.leaky_relu(x, 0.1),
    "relu6": lambda m, x: m.nn.functional.relu6(x),
    "hardtanh": lambda m, x: m.nn.functional.hardtanh(x),
    "hardsigmoid": lambda m, x: m.nn.functional.hardsigmoid(x),
}


@pytest.mark.parametrize("name", sorted(PIECEWISE_LINEAR))
def test_piecewise_linear_create_graph_gradient_stays_in_the_graph(name):
    """The create_graph gradient of a piecewise-linear activation requires grad (PyTorch's
    backward formula reads x, so its gradient is in x's graph) and its own derivative is 0."""
    f = PIECEWISE_LINEAR[name]
    x = tc.tensor([-4.0, -1.0, 0.5, 2.0, 4.0], requires_grad=True)
    (g,) = tc.autograd.grad(f(tc, x).sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    (gg,) = tc.autograd.grad(g.sum(), x)
    assert gg.tolist() == [0.0] * 5


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(PIECEWISE_LINEAR))
def test_piecewise_linear_create_graph_gradient_matches_torch(name):
    torch = pytest.importorskip("torch")
    f = PIECEWISE_LINEAR[name]
    values = [-4.0, -1.0, 0.5, 2.0, 4.0]
    grads = []
    for m in (tc, torch):
        x = m.tensor(values, requires_grad=True)
        (g,) = m.autograd.grad(f(m, x).sum(), x, create_graph=True)
        grads.append((g.requires_grad, g.detach().tolist()))
    assert grads[0] == grads[1]


SAVE_INPUT_OPS = {
    "max_pool2d": lambda F, x: F.max_pool2d(x[None, None], 2),
    "avg_pool2d": lambda F, x: F.avg_pool2d(x[None, None], 2),
    "adaptive_max_pool2d": lambda F, x: F.adaptive_max_pool2d(x[None, None], 1),
    "adaptive_avg_pool2d": lambda F, x: F.adaptive_avg_pool2d(x[None, None], (2, 1)),
    "max_pool1d": lambda F, x: F.max_pool1d(x[None], 2),
    "max_pool3d": lambda F, x: F.max_pool3d(x[None, None, None], (1, 2, 2)),
    "avg_pool3d": lambda F, x: F.avg_pool3d(x[None, None, None], (1, 2, 2)),
    "reflect": lambda F, x: F.pad(x[None, None], (1, 1, 1, 1), mode="reflect"),
    "replicate": lambda F, x: F.pad(x[None, None], (1, 1, 1, 1), mode="replicate"),
    "constant": lambda F, x: F.pad(x[None, None], (1, 1, 1, 1)),
    "circular": lambda F, x: F.pad(x[None, None], (1, 1, 1, 1), mode="circular"),
    "nearest": lambda F, x: F.interpolate(x[None, None], scale_factor=2),
}


@pytest.mark.parametrize("name", sorted(SAVE_INPUT_OPS))
def test_a_first_gradient_depends_on_the_input_as_pytorchs(name):
    # PyTorch's backward of pooling and of reflect/replicate padding takes the input itself,
    # so the create_graph gradient requires grad even when nothing upstream does, and its own
    # gradient is zeros (the loop of n-th derivatives runs one order further)
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (tc, torch):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        (g,) = lib.autograd.grad(
            SAVE_INPUT_OPS[name](lib.nn.functional, x).sum(), x, create_graph=True
        )
        again = None
        if g.requires_grad:
            again = lib.autograd.grad(g.sum(), x, allow_unused=True)[0].tolist()
        seen.append((g.requires_grad, g.tolist(), again))
    assert seen[0] == seen[1]
