"""as_strided against PyTorch: values, strides, offsets, gradients (PyTorch's rule for views
that overlap, inputs that are expanded or offset, and positions the input does not see),
double backward, writes through the view, empty_strided."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

import tinyconv
from tests.strategies import strided_configs
from tests.test_as_strided import _base, _view

pytestmark = pytest.mark.torch


@given(strided_configs())
def test_as_strided_matches_torch(cfg):
    torch = pytest.importorskip("torch")
    results = {}
    for lib in (tinyconv, torch):
        b = _base(cfg, lib)
        out = _view(lib, b, cfg.view).as_strided(cfg.size, cfg.stride, cfg.offset)
        weights = lib.tensor(np.random.default_rng(1).standard_normal(cfg.size), dtype=lib.float64)
        (g,) = lib.autograd.grad((out * weights).sum(), b)
        gw = None
        if out.numel():
            # the gradient is linear in the weights: differentiate it w.r.t. them
            weights.requires_grad_()
            (g2,) = lib.autograd.grad((out * weights).sum(), b, create_graph=True)
            (gw,) = lib.autograd.grad((g2 * g2.detach()).sum(), weights)
        results[lib.__name__] = (
            out.detach().numpy().copy(),
            tuple(out.stride()) if out.numel() and all(n > 1 for n in out.shape) else None,
            out.storage_offset() if out.numel() else None,
            g.detach().numpy().copy(),
            None if gw is None else gw.numpy().copy(),
        )
    ours, theirs = results["tinyconv"], results["torch"]
    np.testing.assert_array_equal(ours[0], theirs[0])
    assert ours[1:3] == theirs[1:3]
    np.testing.assert_allclose(ours[3], theirs[3], rtol=1e-12, atol=0)
    if theirs[4] is not None:
        np.testing.assert_allclose(ours[4], theirs[4], rtol=1e-12, atol=1e-300)


@given(strided_configs(overlap=False))
def test_writes_through_a_view_match_torch(cfg):
    """mul_ through a view of distinct elements: the base's values and the leaf's gradient."""
    torch = pytest.importorskip("torch")
    results = []
    for lib in (tinyconv, torch):
        b = _base(cfg, lib)
        c = b * 1
        v = c.as_strided(cfg.size, cfg.stride, cfg.offset)
        v.mul_(lib.tensor(np.arange(1, v.numel() + 1, dtype=np.float64).reshape(cfg.size)))
        (c * lib.arange(cfg.base_size, dtype=lib.float64)).sum().backward()
        results.append((c.detach().numpy().copy(), b.grad.numpy().copy()))
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_conv2d_by_as_strided_windows_matches_torch():
    """The tutorial im2col (windows view + einsum), float32, values and gradients."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    xs, ws = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3))
    out = {}
    for lib in (tinyconv, torch):
        x = lib.tensor(xs, dtype=lib.float32, requires_grad=True)
        w = lib.tensor(ws, dtype=lib.float32, requires_grad=True)
        n, c, h, wd = x.shape
        s = x.stride()
        win = x.as_strided((n, c, h - 2, wd - 2, 3, 3), (s[0], s[1], s[2], s[3], s[2], s[3]))
        y = lib.einsum("ncijpq,ocpq->noij", win, w)
        (y * y).sum().backward()
        out[lib.__name__] = (y.detach().numpy(), x.grad.numpy(), w.grad.numpy())
    for a, b in zip(out["tinyconv"], out["torch"], strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize(
    "args",
    [
        ((3, 3), (-1, 1)),
        ((3, 3), (1,)),
        ((3, 3), (4, 1)),
        ((3, 3), (1, 1), -1),
        ((-1, 3), (1, 1)),
        ((3, 3), (3, 1), 1),
        ((3.0, 3), (1, 1)),
        (3, (1,)),
    ],
)
def test_errors_match_torch(args):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        torch.arange(9.0).as_strided(*args)
    with pytest.raises(type(theirs.value)) as ours:
        tinyconv.arange(9.0).as_strided(*args)
    assert str(ours.value) == str(theirs.value)


def test_zero_stride_write_raises_in_both():
    torch = pytest.importorskip("torch")
    for lib in (tinyconv, torch):
        v = lib.zeros(5).as_strided((3, 3), (0, 1))
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            v.add_(1)


def test_empty_strided_matches_torch():
    torch = pytest.importorskip("torch")
    for size, stride in [((2, 3), (1, 2)), ((2, 3, 4), (12, 1, 3)), ((0, 3), (3, 1))]:
        t, o = torch.empty_strided(size, stride), tinyconv.empty_strided(size, stride)
        assert o.stride() == t.stride() and o.shape == tuple(t.shape)
        assert o.is_contiguous() == t.is_contiguous() and str(o.dtype)[9:] == str(t.dtype)[6:]
