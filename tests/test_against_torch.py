"""tinyconv against PyTorch itself, where PyTorch happens to be installed (never required).

Same inputs through both libraries in float64; forward values, max-pool indices and
every gradient must agree to 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import PAD_MODES, conv2d_configs, pad_configs, pool2d_configs

import tinyconv
import tinyconv.nn.functional as F

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
TF = torch.nn.functional
TOL = {"rtol": 1e-10, "atol": 1e-10}


def both(arr: np.ndarray):
    """The same float64 values as a tinyconv and a torch leaf that require grad."""
    return (
        tinyconv.tensor(arr, dtype=tinyconv.float64, requires_grad=True),
        torch.tensor(arr, dtype=torch.float64, requires_grad=True),
    )


def same(tc_tensor, torch_tensor) -> None:
    np.testing.assert_allclose(tc_tensor.detach().numpy(), torch_tensor.detach().numpy(), **TOL)


@given(conv2d_configs(symmetric_padding=True), st.booleans())
def test_conv2d_matches_torch(cfg, with_bias):
    rng = np.random.default_rng(cfg.seed)
    x, xt = both(rng.standard_normal(cfg.shape))
    w, wt = both(rng.standard_normal(cfg.weight_shape))
    b, bt = both(rng.standard_normal(cfg.out_channels)) if with_bias else (None, None)
    pad = (cfg.padding[0][0], cfg.padding[1][0])
    y = F.conv2d(x, w, b, cfg.stride, pad, cfg.dilation, cfg.groups)
    yt = TF.conv2d(xt, wt, bt, cfg.stride, pad, cfg.dilation, cfg.groups)
    same(y, yt)
    g = rng.standard_normal(tuple(yt.shape))
    y.backward(tinyconv.tensor(g, dtype=tinyconv.float64))
    yt.backward(torch.tensor(g))
    same(x.grad, xt.grad)
    same(w.grad, wt.grad)
    if with_bias:
        same(b.grad, bt.grad)


@given(st.integers(1, 4), st.integers(1, 4), st.sampled_from([1, 2]), st.integers(0, 2**32 - 1))
def test_conv2d_same_padding_matches_torch(kh, kw, d, seed):
    rng = np.random.default_rng(seed)
    x, xt = both(rng.standard_normal((2, 3, 7, 6)))
    w, wt = both(rng.standard_normal((4, 3, kh, kw)))
    y, yt = (
        F.conv2d(x, w, padding="same", dilation=d),
        TF.conv2d(xt, wt, padding="same", dilation=d),
    )
    same(y, yt)
    y.sum().backward()
    yt.sum().backward()
    same(x.grad, xt.grad)
    same(w.grad, wt.grad)


@given(conv2d_configs(symmetric_padding=True), st.integers(0, 2))
def test_conv_transpose2d_matches_torch(cfg, extra):
    rng = np.random.default_rng(cfg.seed)
    _, C, H, W = cfg.shape
    O = cfg.out_channels
    pad = (cfg.padding[0][0], cfg.padding[1][0])
    out_pad = tuple(
        min(extra, max(s, d) - 1) for s, d in zip(cfg.stride, cfg.dilation, strict=True)
    )
    out_size = [
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, s, p, d, k, op in zip(
            (H, W), cfg.stride, pad, cfg.dilation, cfg.kernel_size, out_pad, strict=True
        )
    ]
    if min(out_size) < 1:
        return
    x, xt = both(rng.standard_normal(cfg.shape))
    w, wt = both(rng.standard_normal((C, O // cfg.groups, *cfg.kernel_size)))
    b, bt = both(rng.standard_normal(O))
    y = F.conv_transpose2d(x, w, b, cfg.stride, pad, out_pad, cfg.groups, cfg.dilation)
    yt = TF.conv_transpose2d(xt, wt, bt, cfg.stride, pad, out_pad, cfg.groups, cfg.dilation)
    same(y, yt)
    g = rng.standard_normal(tuple(yt.shape))
    y.backward(tinyconv.tensor(g, dtype=tinyconv.float64))
    yt.backward(torch.tensor(g))
    for mine, theirs in ((x, xt), (w, wt), (b, bt)):
        same(mine.grad, theirs.grad)


@given(pool2d_configs())
def test_max_pool2d_matches_torch(cfg):
    rng = np.random.default_rng(cfg.seed)
    # distinct values, so both libraries must pick the same argmax
    values = rng.permutation(int(np.prod(cfg.shape))).reshape(cfg.shape) * 0.5
    x, xt = both(values)
    args = (cfg.kernel_size, cfg.stride, cfg.padding, cfg.dilation, cfg.ceil_mode)
    y, idx = F.max_pool2d(x, *args, return_indices=True)
    yt, idxt = TF.max_pool2d(xt, *args, return_indices=True)
    same(y, yt)
    np.testing.assert_array_equal(idx.numpy(), idxt.numpy())
    g = rng.standard_normal(tuple(yt.shape))
    y.backward(tinyconv.tensor(g, dtype=tinyconv.float64))
    yt.backward(torch.tensor(g))
    same(x.grad, xt.grad)


@given(pool2d_configs(dilation=False))
def test_avg_pool2d_matches_torch(cfg):
    rng = np.random.default_rng(cfg.seed)
    x, xt = both(rng.standard_normal(cfg.shape))
    args = (
        cfg.kernel_size,
        cfg.stride,
        cfg.padding,
        cfg.ceil_mode,
        cfg.count_include_pad,
        cfg.divisor_override,
    )
    y, yt = F.avg_pool2d(x, *args), TF.avg_pool2d(xt, *args)
    same(y, yt)
    g = rng.standard_normal(tuple(yt.shape))
    y.backward(tinyconv.tensor(g, dtype=tinyconv.float64))
    yt.backward(torch.tensor(g))
    same(x.grad, xt.grad)


@given(st.sampled_from(PAD_MODES).flatmap(pad_configs), st.integers(0, 2**32 - 1))
def test_pad_matches_torch(cfg, seed):
    shape, pad, mode = cfg
    rng = np.random.default_rng(seed)
    x, xt = both(rng.standard_normal(shape))
    # The non-constant modes want exactly (N, C, *padded dims), in both libraries (padding
    # only touches the trailing dims): the leading ones are folded into (1, prod).
    k = len(pad) // 2
    lead, spatial = tuple(shape[: len(shape) - k]), tuple(shape[len(shape) - k :])
    folded = (1, int(np.prod(lead, dtype=int))) + spatial
    x_in, torch_in = (x.reshape(folded), xt.reshape(folded)) if mode != "constant" else (x, xt)
    y, yt = F.pad(x_in, pad, mode), TF.pad(torch_in, pad, mode)
    same(y, yt)
    g = rng.standard_normal(tuple(y.shape))
    y.backward(tinyconv.tensor(g, dtype=tinyconv.float64))
    yt.backward(torch.tensor(g))
    same(x.grad, xt.grad)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch(label_smoothing, reduction):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 5)) * 3
    logits[0, 2] = 1e4  # stability: huge logits stay finite in both
    target = np.array([2, 0, 4, 1, 3, 2])
    weight = np.array([1.0, 2.0, 0.5, 1.5, 1.0])
    x, xt = both(logits)
    kw = {"weight": None, "reduction": reduction, "label_smoothing": label_smoothing}
    loss = F.cross_entropy(x, tinyconv.tensor(target), **kw)
    loss_t = TF.cross_entropy(xt, torch.tensor(target), **kw)
    same(loss, loss_t)
    loss.sum().backward()
    loss_t.sum().backward()
    same(x.grad, xt.grad)
    x2, xt2 = both(logits)
    loss = F.cross_entropy(
        x2,
        tinyconv.tensor(target),
        weight=tinyconv.tensor(weight, dtype=tinyconv.float64),
        reduction=reduction,
        label_smoothing=label_smoothing,
    )
    loss_t = TF.cross_entropy(
        xt2,
        torch.tensor(target),
        weight=torch.tensor(weight),
        reduction=reduction,
        label_smoothing=label_smoothing,
    )
    same(loss, loss_t)


def test_conv_layer_init_bounds_match_torch():
    """nn.Conv2d's default init draws from the same distribution as PyTorch's."""
    tinyconv.manual_seed(0)
    torch.manual_seed(0)
    mine = tinyconv.nn.Conv2d(16, 8, 3).weight.detach().numpy()
    theirs = torch.nn.Conv2d(16, 8, 3).weight.detach().numpy()
    bound = 1 / np.sqrt(16 * 9)
    assert np.abs(mine).max() <= bound and np.abs(theirs).max() <= bound
    assert abs(mine.std() - theirs.std()) < 0.15 * theirs.std()
