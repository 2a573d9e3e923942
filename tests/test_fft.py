"""tinyconv.fft: fftfreq, rfftfreq, fftshift, ifftshift (the real-valued part of torch.fft;
the transforms need complex tensors, which tinyconv does not have, and are refused)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import shapes

import tinyconv
from tinyconv import fft
from tinyconv.autograd import gradcheck


@pytest.mark.parametrize("n", [0, 1, 2, 5, 8, 11])
@pytest.mark.parametrize("d", [1.0, 0.25, 3])
def test_frequencies_are_numpys(n, d):
    a = fft.fftfreq(n, d, dtype=tinyconv.float64)
    assert a.dtype == tinyconv.float64 and a.shape == (n,)
    if n:  # (NumPy divides by zero for n = 0; PyTorch gives an empty tensor)
        np.testing.assert_allclose(a.numpy(), np.fft.fftfreq(n, d), rtol=1e-15, atol=0)
    if n:
        r = fft.rfftfreq(n, d, dtype=tinyconv.float64)
        np.testing.assert_allclose(r.numpy(), np.fft.rfftfreq(n, d), rtol=1e-15, atol=0)
    assert fft.fftfreq(n).dtype == tinyconv.float32 and not fft.fftfreq(n).requires_grad
    assert fft.rfftfreq(n, requires_grad=True).requires_grad


@given(shapes(min_dims=1, max_dims=3, max_side=5), st.integers(0, 2**16))
@settings(max_examples=20)
def test_ifftshift_undoes_fftshift(shape, seed):
    x = tinyconv.tensor(np.random.default_rng(seed).standard_normal(shape))
    for dim in (None, 0, -1, tuple(range(len(shape)))):
        y = fft.fftshift(x, dim)
        assert np.array_equal(fft.ifftshift(y, dim).numpy(), x.numpy())
        want = np.fft.fftshift(x.numpy(), axes=dim)
        assert np.array_equal(y.numpy(), want)


def test_shifts_are_differentiable():
    x = tinyconv.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    w = tinyconv.tensor(np.random.default_rng(1).standard_normal((3, 4)))
    assert gradcheck(lambda z: fft.fftshift(z) * w, (x,))
    assert gradcheck(lambda z: fft.ifftshift(z, dim=1) * w, (x,))


def test_errors_and_the_missing_transforms():
    with pytest.raises(RuntimeError, match="negative dimension"):
        fft.fftfreq(-1)
    with pytest.raises(TypeError, match="'n' must be int"):
        fft.rfftfreq(2.5)
    with pytest.raises(RuntimeError, match="floating point"):
        fft.fftfreq(4, dtype=tinyconv.int64)
    with pytest.raises(IndexError):
        fft.fftshift(tinyconv.zeros(3), dim=1)
    with pytest.raises(RuntimeError, match="shifts"):
        fft.fftshift(tinyconv.tensor(1.0))
    for name in ("fft", "rfft", "irfft", "fft2", "rfftn", "ihfft"):
        with pytest.raises(AttributeError, match="complex"):
            getattr(tinyconv.fft, name)
        assert not hasattr(tinyconv.fft, name)
    assert tinyconv.fft is fft


@pytest.mark.torch
def test_fft_matches_pytorch():
    torch = pytest.importorskip("torch")
    for n in range(0, 24):
        for d in (1.0, 0.5, 1 / 3, 0.1, 7, 1e-3, 0):
            for name in ("float32", "float64"):
                for f in ("fftfreq", "rfftfreq"):
                    a = getattr(fft, f)(n, d, dtype=getattr(tinyconv, name))
                    b = getattr(torch.fft, f)(n, d, dtype=getattr(torch, name))
                    assert a.dtype.itemsize == b.dtype.itemsize
                    assert np.array_equal(a.numpy(), b.numpy(), equal_nan=True), (f, n, d)
    x = np.random.default_rng(0).standard_normal((2, 3, 5))
    g = np.random.default_rng(1).standard_normal((2, 3, 5))
    for f in ("fftshift", "ifftshift"):
        for dim in (None, 1, -1, (0, 2), [2, 1]):
            a, b = tinyconv.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            ya, yb = getattr(fft, f)(a, dim), getattr(torch.fft, f)(b, dim)
            assert np.array_equal(ya.detach().numpy(), yb.detach().numpy())
            assert ya.grad_fn.name() == type(yb.grad_fn).__name__
            (ya * tinyconv.tensor(g)).sum().backward()
            (yb * torch.tensor(g)).sum().backward()
            assert np.array_equal(a.grad.numpy(), b.grad.numpy())
    for lib_call in (
        lambda m: m.fft.fftfreq(-1),
        lambda m: m.fft.fftfreq(2.5),
        lambda m: m.fft.fftfreq(3, dtype=m.int64),
        lambda m: m.fft.fftshift(m.zeros(3), dim=1),
        lambda m: m.fft.fftshift(m.tensor(1.0)),
    ):
        kinds = []
        for m in (tinyconv, torch):
            try:
                lib_call(m)
                kinds.append(None)
            except Exception as e:  # noqa: BLE001  (the type is what is compared)
                kinds.append(type(e))
        # (tinyconv's IndexOutOfRange is an IndexError)
        assert kinds[1] is not None and issubclass(kinds[0], kinds[1]), kinds
