"""F.unfold / F.fold / nn.Unfold / nn.Fold (issue 12): the convolution kernels' im2col and
col2im as ops. Backward (and double backward) against float64 finite differences on
hypothesis-drawn convolution configurations; conv2d == unfold + one matrix product and
conv_transpose2d == matrix product + fold; values, gradients, grad_fn names and reprs against
PyTorch 2.13; bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from strategies import conv2d_configs
from torch_compare import compare

import tinyconv
import tinyconv.nn.functional as F
from tinyconv import nn
from tinyconv.autograd import gradcheck, gradgradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}
CONFIGS = conv2d_configs(max_batch=2, max_channels=3, max_kernel=3, symmetric_padding=True)


def options(cfg) -> dict:
    return {
        "kernel_size": cfg.kernel_size,
        "dilation": cfg.dilation,
        "padding": (cfg.padding[0][0], cfg.padding[1][0]),
        "stride": cfg.stride,
    }


def leaf(shape, seed) -> tinyconv.Tensor:
    arr = np.random.default_rng(seed).standard_normal(shape)
    return tinyconv.from_numpy(arr).requires_grad_()


@given(CONFIGS)
def test_unfold_and_fold_gradcheck(cfg):
    opts = options(cfg)
    x = leaf(cfg.shape, cfg.seed)
    assert gradcheck(lambda x: F.unfold(x, **opts), (x,), **TOL)
    cols = F.unfold(x.detach(), **opts)
    c = leaf(tuple(cols.shape), cfg.seed + 1)
    assert gradcheck(lambda c: F.fold(c, cfg.shape[2:], **opts), (c,), **TOL)


@pytest.mark.parametrize(
    "shape,opts",
    [
        ((1, 2, 3, 4), {"kernel_size": (2, 3), "dilation": (1, 1), "padding": 1, "stride": 2}),
        ((2, 1, 4, 3), {"kernel_size": 2, "dilation": (2, 1), "padding": (0, 1), "stride": 1}),
    ],
)
def test_double_backward_gradgradcheck(shape, opts):
    """Each is the other's backward, so their double backward is themselves again (a few
    fixed configurations: gradgradcheck is quadratic in the input size)."""
    x = leaf(shape, 0)
    assert gradgradcheck(lambda x: F.unfold(x, **opts) * F.unfold(x, **opts), (x,))
    cols = F.unfold(x.detach(), **opts)
    c = leaf(tuple(cols.shape), 1)
    fold = lambda c: F.fold(c, shape[2:], **opts)  # noqa: E731
    assert gradgradcheck(lambda c: fold(c) * fold(c), (c,))


@given(CONFIGS)
def test_conv2d_is_unfold_then_one_matrix_product(cfg):
    """y = Wm @ cols, group by group (docs/conv_backprop.md); and the input gradient (the
    transposed convolution of g) is Wm^T @ g, then fold (col2im)."""
    rng = np.random.default_rng(cfg.seed)
    x = tinyconv.from_numpy(rng.standard_normal(cfg.shape)).requires_grad_()
    w = tinyconv.from_numpy(rng.standard_normal(cfg.weight_shape))
    opts, G = options(cfg), cfg.groups
    N, Oc = cfg.shape[0], cfg.out_channels
    y = F.conv2d(x, w, None, cfg.stride, opts["padding"], cfg.dilation, G)
    cols = F.unfold(x.detach(), **opts)  # (N, C*kh*kw, L)
    L = cols.shape[-1]
    Wm = w.reshape(G, Oc // G, -1)  # one (O/G, C/G*kh*kw) block per group
    y2 = (Wm @ cols.reshape(N, G, -1, L)).reshape(y.shape)
    np.testing.assert_allclose(y2.numpy(), y.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = tinyconv.from_numpy(rng.standard_normal(tuple(y.shape)))
    y.backward(g)
    dcols = (Wm.transpose(1, 2) @ g.reshape(N, G, Oc // G, L)).reshape(N, -1, L)
    got = F.fold(dcols, cfg.shape[2:], **opts)
    np.testing.assert_allclose(got.numpy(), x.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.torch
@given(CONFIGS)
def test_unfold_fold_match_torch(cfg):
    opts = options(cfg)
    arr = np.random.default_rng(cfg.seed).standard_normal(cfg.shape)
    for dtype in ("float64", "float32"):
        got, _ = compare(lambda T, F, x: F.unfold(x, **opts), [arr], dtype, name=True)
        cols = np.random.default_rng(cfg.seed + 1).standard_normal(tuple(got.shape))
        compare(lambda T, F, c: F.fold(c, cfg.shape[2:], **opts), [cols], dtype, name=True)
    # unbatched
    compare(lambda T, F, x: F.unfold(x, **opts), [arr[0]], "float64", name=True)
    compare(lambda T, F, c: F.fold(c, cfg.shape[2:], **opts), [cols[0]], "float64")


@pytest.mark.torch
def test_modules_match_torch():
    torch = pytest.importorskip("torch")
    for c, t in [
        (nn.Unfold(2), torch.nn.Unfold(2)),
        (nn.Unfold((2, 3), dilation=2, stride=(1, 2)), torch.nn.Unfold((2, 3), 2, stride=(1, 2))),
        (nn.Fold((4, 5), 2, padding=1), torch.nn.Fold((4, 5), 2, padding=1)),
    ]:
        assert repr(c) == repr(t) and list(c.state_dict()) == []
    arr = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    unf = (nn.Unfold((2, 3), dilation=(1, 2), padding=1), torch.nn.Unfold((2, 3), (1, 2), 1))
    got, _ = compare(lambda T, F, x: unf[T is torch](x), [arr], "float32", name=True)
    fold = (nn.Fold((4, 5), (2, 3), (1, 2), 1), torch.nn.Fold((4, 5), (2, 3), (1, 2), 1))
    cols = np.random.default_rng(1).standard_normal(tuple(got.shape))
    compare(lambda T, F, c: fold[T is torch](c), [cols], "float32", name=True)


@pytest.mark.parametrize(
    "call,exc,words",
    [
        (lambda: F.unfold(tinyconv.ones(2, 3), 2), ValueError, "shape (2, 3)"),
        (lambda: F.unfold(tinyconv.ones(1, 1, 5, 5), 6), RuntimeError, "0 x 0 sliding windows"),
        (lambda: F.unfold(tinyconv.ones(1, 1, 5, 5), 0), ValueError, "kernel_size"),
        (lambda: F.unfold(tinyconv.ones(1, 1, 5, 5), 2, padding=-1), ValueError, "padding"),
        (lambda: F.unfold(tinyconv.ones(1, 1, 5, 5), 2, stride=0), ValueError, "stride"),
        (lambda: F.unfold(tinyconv.ones(1, 1, 5, 5, dtype=tinyconv.int64), 2), TypeError, "int64"),
        (lambda: F.fold(tinyconv.ones(2, 12, 16), (5, 6), 2), RuntimeError, "20 sliding windows"),
        (lambda: F.fold(tinyconv.ones(2, 11, 16), (5, 5), 2), RuntimeError, "divisible"),
        (
            lambda: F.fold(tinyconv.ones(2, 12, 16, 1), (5, 5), 2),
            ValueError,
            "shape (2, 12, 16, 1)",
        ),  # noqa: E501
        (lambda: F.fold(tinyconv.ones(2, 12, 16), (5, 5, 5), 2), ValueError, "output_size"),
        (lambda: F.fold([1.0], (5, 5), 2), TypeError, "input must be a Tensor"),
    ],
)
def test_bad_input(call, exc, words):
    with pytest.raises(exc) as err:
        call()
    assert words in str(err.value)
