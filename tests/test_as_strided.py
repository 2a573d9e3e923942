"""Tensor.as_strided / tinyconv.as_strided / empty_strided: views of a tensor's memory with
any sizes, strides and offset, and PyTorch's gradient rule for them (float64 finite
differences here; tests/test_as_strided_torch.py compares with PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyconv
from tests.strategies import StridedConfig, strided_configs
from tinyconv.autograd import gradcheck, gradgradcheck
from tinyconv.autograd.ops_strided import maybe_overlapping


def _base(cfg: StridedConfig, lib=tinyconv, seed: int = 0):
    values = np.random.default_rng(seed).standard_normal(cfg.base_size)
    return lib.tensor(values, dtype=lib.float64, requires_grad=True)


def _view(lib, b, kind: str):
    """The view as_strided is taken of (the same in both libraries)."""
    if kind == "slice":
        return b[2:]
    if kind == "transpose":
        n = b.shape[0] // 2
        return b[: 2 * n].reshape(2, n).t()
    if kind == "expand":
        return b[:3].expand(2, 3)
    return b


@given(strided_configs())
def test_gradient_is_finite_differences_when_the_input_sees_all_it_reads(cfg):
    """Seen from the whole base, as_strided is a gather; its gradient (including overlapping
    and zero strides, which add) is the finite differences'; the second derivative too."""
    b = _base(cfg)
    f = lambda t: t.as_strided(cfg.size, cfg.stride, cfg.offset or 0)  # noqa: E731
    assert gradcheck(f, (b,), atol=1e-9, rtol=1e-7)
    assert gradgradcheck(f, (b,), atol=1e-9, rtol=1e-7)


@given(strided_configs())
def test_values_are_the_memory_the_geometry_names(cfg):
    b = _base(cfg)
    v = _view(tinyconv, b, cfg.view)
    offset = cfg.offset if cfg.offset is not None else (2 if cfg.view == "slice" else 0)
    out = v.as_strided(cfg.size, cfg.stride, cfg.offset)
    assert out.shape == cfg.size
    idx = offset + sum(
        np.arange(n).reshape((1,) * k + (n,) + (1,) * (len(cfg.size) - k - 1)) * s
        for k, (n, s) in enumerate(zip(cfg.size, cfg.stride, strict=True))
    )
    want = b.detach().numpy()[np.broadcast_to(np.asarray(idx, dtype=np.int64), cfg.size)]
    np.testing.assert_array_equal(out.detach().numpy(), want)
    if all(n > 1 for n in cfg.size):
        assert out.stride() == cfg.stride
    assert out.storage_offset() == (offset if out.numel() else 0)
    assert out.grad_fn.name() == "AsStridedBackward0"


def test_im2col_by_as_strided_is_conv2d_forward_and_backward():
    """The learner's im2col: windows of x as a strided view, contracted with the kernel,
    equals F.conv2d, and so do both gradients (float64)."""
    rng = np.random.default_rng(1)
    N, C, H, W, n_out, k = 2, 3, 6, 5, 4, 3
    x = tinyconv.tensor(rng.standard_normal((N, C, H, W)), requires_grad=True)
    w = tinyconv.tensor(rng.standard_normal((n_out, C, k, k)), requires_grad=True)
    g = tinyconv.tensor(rng.standard_normal((N, n_out, H - k + 1, W - k + 1)))
    sN, sC, sH, sW = x.stride()
    windows = x.as_strided((N, C, H - k + 1, W - k + 1, k, k), (sN, sC, sH, sW, sH, sW))
    y = tinyconv.einsum("ncijpq,ocpq->noij", windows, w)
    ref = tinyconv.nn.functional.conv2d(x, w)
    np.testing.assert_allclose(y.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    gx, gw = tinyconv.autograd.grad(y, (x, w), g)
    rx, rw = tinyconv.autograd.grad(ref, (x, w), g)
    np.testing.assert_allclose(gx.numpy(), rx.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw.numpy(), rw.numpy(), rtol=1e-12, atol=1e-12)


def test_writes_through_the_view_reach_the_base_and_its_gradient():
    """An in-place op on a non-overlapping view changes the base's elements it names, and
    the base's gradient is the chain rule through that write."""
    b = tinyconv.arange(12.0, dtype=tinyconv.float64).requires_grad_()
    c = b * 1
    v = c.as_strided((2, 2), (4, 1), 1)  # c[1], c[2], c[5], c[6]
    v.mul_(3)
    np.testing.assert_array_equal(c.detach().numpy(), [0, 3, 6, 3, 4, 15, 18, 7, 8, 9, 10, 11])
    (c * tinyconv.arange(12.0, dtype=tinyconv.float64)).sum().backward()
    want = np.arange(12.0)
    want[[1, 2, 5, 6]] *= 3
    np.testing.assert_array_equal(b.grad.numpy(), want)


@pytest.mark.parametrize(("size", "stride"), [((3, 3), (1, 1)), ((2, 3), (0, 1)), ((4,), (0,))])
def test_a_view_whose_elements_overlap_is_read_only(size, stride):
    """Writing through several elements into one memory location would depend on the
    order of the writes: refused (PyTorch refuses the zero-stride case too; README lists
    the rest as a difference)."""
    x = tinyconv.zeros(9)
    v = x.as_strided(size, stride)
    with pytest.raises(RuntimeError, match="single memory location"):
        v.add_(1)
    assert x.sum().item() == 0


def test_overlap_test_is_pytorchs():
    assert not maybe_overlapping((3, 4), (4, 1))
    assert not maybe_overlapping((3, 4), (1, 3))  # column-major: distinct
    assert not maybe_overlapping((1, 4), (1, 1))  # a size-1 dim holds one element
    assert maybe_overlapping((3, 3), (1, 1))  # windows
    assert maybe_overlapping((2, 3), (0, 1))  # broadcast
    assert maybe_overlapping((3, 2), (2, 3))  # 0, 2, 4, 3, 5, 7: distinct, not provably so


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (((3, 3), (-1, 1)), RuntimeError, "Negative strides are not supported"),
        (((3, 3), (1,)), RuntimeError, "mismatch in length of strides and shape"),
        (((3, 3), (4, 1)), RuntimeError, "requiring a storage size of 44 are out of bounds"),
        (((3, 3), (1, 1), -1), RuntimeError, "invalid storage offset -1"),
        (((-1, 3), (1, 1)), RuntimeError, "Storage size calculation overflowed"),
        (((3.0, 3), (1, 1)), TypeError, "must be tuple of ints, but found element of type float"),
        ((3, (1,)), TypeError, "must be tuple of ints, not int"),
        (((3,), (1,), 1.5), TypeError, "'storage_offset' .* must be int, not float"),
    ],
)
def test_bad_geometry_raises_as_pytorch(args, error, message):
    with pytest.raises(error, match=message):
        tinyconv.arange(9.0).as_strided(*args)


def test_a_slice_reads_its_base_memory_from_the_start():
    x = tinyconv.arange(6.0)
    v = x[2:]
    assert v.as_strided((2,), (1,)).tolist() == [2.0, 3.0]  # default: where v starts
    assert v.as_strided((2,), (1,), 0).tolist() == [0.0, 1.0]  # the base's memory
    assert tinyconv.as_strided(v, (3,), (2,), 1).tolist() == [1.0, 3.0, 5.0]


@given(
    st.lists(st.integers(0, 3), min_size=0, max_size=3).flatmap(
        lambda size: st.tuples(
            st.just(tuple(size)),
            st.lists(st.integers(0, 4), min_size=len(size), max_size=len(size)).map(tuple),
        )
    )
)
def test_empty_strided_has_those_strides_and_just_enough_memory(geometry):
    size, stride = geometry
    t = tinyconv.empty_strided(size, stride, dtype=tinyconv.float64)
    assert t.shape == size and t.dtype == tinyconv.float64
    if all(n > 1 for n in size):
        assert t.stride() == stride
    n = t.new_empty_strided(size, stride)
    assert n.dtype == tinyconv.float64 and n.shape == size
    assert tinyconv.empty_strided(size, stride, requires_grad=True).requires_grad
