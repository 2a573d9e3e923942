"""Fractional max pooling (F.fractional_max_pool2d, nn.FractionalMaxPool2d): windows, values,
indices and gradients against PyTorch's, the gradient against finite differences, and the
random samples drawn as PyTorch draws them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from strategies import fractional_pool_configs

import tinyconv
import tinyconv.nn.functional as F
from tinyconv.autograd import gradcheck, gradgradcheck

DTYPES = {"float32": np.float32, "float64": np.float64, "float16": np.float16}


@given(fractional_pool_configs())
def test_gradient_matches_finite_differences(config):
    shape, kernel, out, u = config
    rng = np.random.default_rng(0)
    x = tinyconv.tensor(rng.permutation(np.prod(shape)).reshape(shape) * 0.1, requires_grad=True)
    samples = tinyconv.tensor(u)
    fn = lambda t: F.fractional_max_pool2d(t, kernel, out, _random_samples=samples)  # noqa: E731
    assert gradcheck(fn, (x,), atol=1e-8, rtol=1e-6)
    assert gradgradcheck(fn, (x,), atol=1e-8, rtol=1e-6)


def test_windows_are_grahams_sequence():
    # u = 0.5, 10 -> 4 with 2x2 windows: alpha = 8/3, starts trunc((i + .5) a) - trunc(.5 a)
    x = tinyconv.arange(100.0).reshape(1, 1, 10, 10)
    _, idx = F.fractional_max_pool2d(
        x, 2, output_size=4, return_indices=True, _random_samples=tinyconv.full((1, 1, 2), 0.5)
    )
    starts = [0, 3, 5, 8]  # (the last window ends at the input's end)
    want = [[(r + 1) * 10 + (c + 1) for c in starts] for r in starts]
    assert idx[0, 0].tolist() == want


def test_refusals():
    x = tinyconv.ones(1, 2, 6, 6)
    with pytest.raises(ValueError, match="output_size or an output_ratio"):
        F.fractional_max_pool2d(x, 2)
    with pytest.raises(RuntimeError, match="too large"):
        F.fractional_max_pool2d(x, 4, output_size=4)
    with pytest.raises(ValueError, match="between 0 and 1"):
        tinyconv.nn.FractionalMaxPool2d(2, output_ratio=1.5)
    with pytest.raises(NotImplementedError):
        F.fractional_max_pool2d(tinyconv.ones(1, 1, 4, 4, dtype=tinyconv.int64), 2, output_size=2)


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@given(config=fractional_pool_configs())
def test_matches_pytorch(dtype, config):
    torch = pytest.importorskip("torch")
    shape, kernel, out, u = config
    rng = np.random.default_rng(1)
    values = rng.standard_normal(shape).astype(DTYPES[dtype])
    values.flat[rng.integers(0, values.size)] = np.nan  # (a NaN wins its windows)
    grad = rng.standard_normal((shape[0], shape[1], *out)).astype(DTYPES[dtype])
    seen = []
    for lib in (tinyconv, torch):
        x = lib.tensor(values, requires_grad=True)
        samples = lib.tensor(u.astype(DTYPES[dtype]))
        y, idx = lib.nn.functional.fractional_max_pool2d(
            x, kernel, out, return_indices=True, _random_samples=samples
        )
        y.backward(lib.tensor(grad))
        seen.append((y.detach().numpy(), idx.numpy(), x.grad.numpy()))
    (y1, i1, g1), (y2, i2, g2) = seen
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_allclose(g1, g2, rtol=1e-3 if dtype == "float16" else 1e-6)


@pytest.mark.parametrize("ratio", [0.5, (0.7, 0.4)])
def test_module_draws_its_samples_as_pytorch(ratio):
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (tinyconv, torch):
        lib.manual_seed(3)
        x = lib.randn(2, 3, 9, 11)
        pool = lib.nn.FractionalMaxPool2d((2, 3), output_ratio=ratio, return_indices=True)
        y, idx = pool(x)
        unbatched = lib.nn.FractionalMaxPool2d(2, output_size=(3, 4))(x[0])
        seen.append((y.numpy(), idx.numpy(), unbatched.numpy(), lib.rand(1).item()))
    (y1, i1, u1, r1), (y2, i2, u2, r2) = seen
    np.testing.assert_array_equal(i1, i2)  # (the same windows: the samples were drawn alike)
    assert r1 == r2  # (and as many numbers were drawn)
    # (randn's float32 normals agree with PyTorch's to a few ulp, not bit for bit)
    np.testing.assert_allclose(y1, y2, rtol=1e-6)
    np.testing.assert_allclose(u1, u2, rtol=1e-6)
