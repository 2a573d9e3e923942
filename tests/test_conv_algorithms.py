"""tinyconv.kernels.conv_algorithm: "loops", "im2col", "fast" and "winograd" give the same
convolution, forward and every gradient, through the public API; the choice is recorded on
the graph node, its backward runs the same algorithm, and the trace and the graph view show
it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import conv2d_configs

import tinyconv
import tinyconv.nn.functional as F
from tinyconv import kernels, nn, viz
from tinyconv.autograd import trace
from tinyconv.kernels import algorithms

NAMES = ("loops", "im2col", "fast", "winograd")


def test_names_and_default():
    assert kernels.conv_algorithms() == NAMES
    assert algorithms.current.name == "fast"


def test_context_manager_and_plain_call():
    with kernels.conv_algorithm("loops") as chosen:
        assert algorithms.current.name == "loops" and chosen.name == "loops"
        with kernels.conv_algorithm("im2col"):
            assert algorithms.current.name == "im2col"
        assert algorithms.current.name == "loops"
    assert algorithms.current.name == "fast"
    try:
        kernels.conv_algorithm("im2col")  # a plain call switches until the next switch
        assert algorithms.current.name == "im2col"
    finally:
        kernels.conv_algorithm("fast")
    assert algorithms.current.name == "fast"


def test_unknown_name_is_refused():
    with pytest.raises(
        ValueError,
        match=r"conv_algorithm: name must be one of \('loops', 'im2col', 'fast', 'winograd'\), "
        r"got 'fft'",
    ):
        kernels.conv_algorithm("fft")
    assert algorithms.current.name == "fast"


def run_conv(name, x, w, b, **kwargs):
    """Forward and backward of F.conv2d under one algorithm: (y, x.grad, w.grad, b.grad)."""
    xs, ws, bs = (tinyconv.tensor(a, requires_grad=True) for a in (x, w, b))
    with kernels.conv_algorithm(name):
        y = F.conv2d(xs, ws, bs, **kwargs)
        g = np.random.default_rng(1).standard_normal(y.shape)
        y.backward(tinyconv.tensor(g))
    return y.detach().numpy(), xs.grad.numpy(), ws.grad.numpy(), bs.grad.numpy()


def run_transpose(name, x, w, b, **kwargs):
    xs, ws, bs = (tinyconv.tensor(a, requires_grad=True) for a in (x, w, b))
    with kernels.conv_algorithm(name):
        y = F.conv_transpose2d(xs, ws, bs, **kwargs)
        g = np.random.default_rng(2).standard_normal(y.shape)
        y.backward(tinyconv.tensor(g))
    return y.detach().numpy(), xs.grad.numpy(), ws.grad.numpy(), bs.grad.numpy()


# random configurations: strided, padded, dilated, grouped (float64, 1e-10)
@given(cfg=conv2d_configs(symmetric_padding=True))
def test_conv2d_algorithms_agree(cfg):
    rng = np.random.default_rng(cfg.seed)
    x, w = rng.standard_normal(cfg.shape), rng.standard_normal(cfg.weight_shape)
    b = rng.standard_normal(cfg.out_channels)
    kwargs = {
        "stride": cfg.stride,
        "padding": (cfg.padding[0][0], cfg.padding[1][0]),
        "dilation": cfg.dilation,
        "groups": cfg.groups,
    }
    results = {name: run_conv(name, x, w, b, **kwargs) for name in NAMES}
    for name in ("loops", "im2col", "winograd"):
        for what, got, want in zip(
            ("y", "x.grad", "w.grad", "b.grad"),
            results[name],
            results["fast"],
            strict=True,
        ):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-10, err_msg=f"{name}: {what}")


@given(cfg=conv2d_configs(symmetric_padding=True), data=st.data())
def test_conv_transpose2d_algorithms_agree(cfg, data):
    rng = np.random.default_rng(cfg.seed)
    (sh, sw), (dh, dw) = cfg.stride, cfg.dilation
    op = (
        data.draw(st.integers(0, max(sh, dh) - 1)),
        data.draw(st.integers(0, max(sw, dw) - 1)),
    )
    pad = (cfg.padding[0][0], cfg.padding[1][0])
    H, W = cfg.shape[2:]
    kh, kw = cfg.kernel_size
    assume((H - 1) * sh - 2 * pad[0] + dh * (kh - 1) + op[0] + 1 >= 1)
    assume((W - 1) * sw - 2 * pad[1] + dw * (kw - 1) + op[1] + 1 >= 1)
    # conv_transpose2d weight: (C_in, O / groups, kh, kw)
    x = rng.standard_normal(cfg.shape)
    w = rng.standard_normal((cfg.shape[1], cfg.out_channels // cfg.groups, kh, kw))
    b = rng.standard_normal(cfg.out_channels)
    kwargs = {
        "stride": cfg.stride,
        "padding": pad,
        "output_padding": op,
        "dilation": cfg.dilation,
        "groups": cfg.groups,
    }
    results = {name: run_transpose(name, x, w, b, **kwargs) for name in NAMES}
    for name in ("loops", "im2col"):
        for what, got, want in zip(
            ("y", "x.grad", "w.grad", "b.grad"),
            results[name],
            results["fast"],
            strict=True,
        ):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-10, err_msg=f"{name}: {what}")


@pytest.mark.parametrize("name", NAMES)
@given(cfg=conv2d_configs(symmetric_padding=True, max_batch=2))
def test_conv2d_each_algorithm_matches_torch(name, cfg):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(cfg.seed)
    x, w = rng.standard_normal(cfg.shape), rng.standard_normal(cfg.weight_shape)
    b = rng.standard_normal(cfg.out_channels)
    pad = (cfg.padding[0][0], cfg.padding[1][0])
    kwargs = {
        "stride": cfg.stride,
        "padding": pad,
        "dilation": cfg.dilation,
        "groups": cfg.groups,
    }
    y, gx, gw, gb = run_conv(name, x, w, b, **kwargs)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.conv2d(xt, wt, bt, **kwargs)
    yt.backward(torch.tensor(np.random.default_rng(1).standard_normal(yt.shape)))
    for got, want in zip((y, gx, gw, gb), (yt.detach(), xt.grad, wt.grad, bt.grad), strict=True):
        np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=1e-10)


def test_the_node_records_its_algorithm_and_backward_runs_it(monkeypatch):
    calls = []
    real = algorithms.ALGORITHMS["loops"]
    spy = real._replace(
        conv2d_backward=lambda *a, **k: calls.append("loops") or real.conv2d_backward(*a, **k)
    )
    monkeypatch.setitem(algorithms.ALGORITHMS, "loops", spy)
    conv = nn.Conv2d(2, 3, 3, padding=1)
    x = tinyconv.randn(1, 2, 4, 4, requires_grad=True)
    with kernels.conv_algorithm("loops"):
        loss = conv(x).relu().sum()
    assert loss.grad_fn.next_functions[0][0].next_functions[0][0].algorithm == "loops"
    with trace(names=conv) as t:  # backward outside the block: still the forward's algorithm
        loss.backward()
    assert calls == ["loops"]
    (rec,) = t.find("ConvolutionBackward0")
    assert rec.algorithm == "loops"
    assert "     algorithm = loops\n" in str(t)
    assert t.find("ReluBackward0")[0].algorithm is None  # only convolutions have one
    g = viz.graph(loss, names=conv)
    (node,) = [n for n in g.nodes if n.name == "ConvolutionBackward0"]
    assert node.label.split("\n")[2] == "algorithm: loops"
    assert "algorithm: loops" in g.source


def test_transposed_convolution_records_its_algorithm_too():
    x = tinyconv.randn(1, 2, 3, 3, requires_grad=True)
    w = tinyconv.randn(2, 1, 3, 3, requires_grad=True)
    with kernels.conv_algorithm("im2col"):
        y = F.conv_transpose2d(x, w, stride=2)
    assert y.grad_fn.algorithm == "im2col"
    with trace() as t:
        y.sum().backward()
    assert t.records[-1].algorithm == "im2col"


@pytest.mark.parametrize("name", NAMES)
def test_integer_convolution_under_every_algorithm(name):
    x = tinyconv.tensor(np.arange(2 * 5 * 5).reshape(1, 2, 5, 5))
    w = tinyconv.tensor(np.arange(-9, 9).reshape(1, 2, 3, 3))
    with kernels.conv_algorithm(name):
        y = F.conv2d(x, w, stride=2, padding=1)
    with kernels.conv_algorithm("loops"):
        ref = F.conv2d(x, w, stride=2, padding=1)
    assert y.dtype == tinyconv.int64
    np.testing.assert_array_equal(y.numpy(), ref.numpy())
