"""The older factorizations torch.svd, torch.qr, torch.cholesky and their Tensor methods, which
PyTorch keeps beside torch.linalg: shapes, named results, values (sign-free where LAPACK picks
signs), gradients and errors against torch 2.13."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinyconv
from tinyconv.autograd import gradcheck

pytestmark = pytest.mark.torch

SHAPES = [(4, 3), (3, 4), (2, 5, 3), (3, 3)]


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():  # torch.qr / torch.cholesky warn that they are deprecated
        warnings.simplefilter("ignore")
        yield torch


def pair(torch, a):
    return torch.tensor(a, requires_grad=True), tinyconv.tensor(a, requires_grad=True)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("some", [True, False])
@pytest.mark.parametrize("method", [False, True])
def test_qr_matches_torch(torch, shape, some, method):
    a = np.random.default_rng(len(shape) + some).standard_normal(shape)
    t, c = pair(torch, a)
    want = t.qr(some) if method else torch.qr(t, some)
    got = c.qr(some) if method else tinyconv.qr(c, some)
    assert type(got).__name__ == "QR" and got._fields == ("Q", "R")
    assert tuple(got.Q.shape) == tuple(want.Q.shape) and tuple(got.R.shape) == tuple(want.R.shape)
    # LAPACK's Householder signs, as torch: the factors themselves agree
    np.testing.assert_allclose(got.Q.detach().numpy(), want.Q.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(got.R.detach().numpy(), want.R.detach().numpy(), atol=1e-12)
    assert got.Q.grad_fn.name() == want.Q.grad_fn.name() == "LinalgQrBackward0"
    if some or shape[-2] <= shape[-1]:  # (complete Q with m > n has no gradient in either)
        (want.Q.sum() + (want.R**2).sum()).backward()
        (got.Q.sum() + (got.R**2).sum()).backward()
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("some", [True, False])
def test_svd_matches_torch(torch, shape, some):
    a = np.random.default_rng(7 + some).standard_normal(shape)
    t, c = pair(torch, a)
    want, got = torch.svd(t, some), c.svd(some)
    assert type(got).__name__ == "SVD" and got._fields == ("U", "S", "V")
    for w, g in zip(want, got, strict=True):
        assert tuple(g.shape) == tuple(w.shape)
    np.testing.assert_allclose(got.S.detach().numpy(), want.S.detach().numpy(), atol=1e-12)
    u, s, v = (x.detach().numpy() for x in got)
    k = s.shape[-1]
    np.testing.assert_allclose(
        (u[..., :k] * s[..., None, :]) @ np.swapaxes(v[..., :k], -1, -2), a, atol=1e-12
    )
    # a sign-free loss: the gradient of sum(S) is U V^T restricted to the k singular pairs
    want.S.sum().backward()
    got.S.sum().backward()
    np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), atol=1e-10)


def test_svd_without_uv_gives_zero_factors_as_torch(torch):
    a = np.random.default_rng(3).standard_normal((2, 4, 3))
    want = torch.tensor(a).svd(compute_uv=False)
    got = tinyconv.svd(tinyconv.tensor(a), compute_uv=False)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), atol=1e-12)
        assert tuple(g.shape) == tuple(w.shape)


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("method", [False, True])
def test_cholesky_matches_torch(torch, upper, method):
    rng = np.random.default_rng(5)
    m = rng.standard_normal((2, 3, 3))
    a = m @ np.swapaxes(m, -1, -2) + np.eye(3)
    t, c = pair(torch, a)
    want = t.cholesky(upper) if method else torch.cholesky(t, upper=upper)
    got = c.cholesky(upper) if method else tinyconv.cholesky(c, upper=upper)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), atol=1e-12)
    assert got.grad_fn.name() == want.grad_fn.name() == "CholeskyBackward0"
    (want**2).sum().backward()
    (got**2).sum().backward()
    np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), atol=1e-10)


def test_gradcheck_through_the_older_factorizations():
    rng = np.random.default_rng(11)
    a = tinyconv.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    assert gradcheck(lambda x: tinyconv.qr(x).R.abs().sum() + x.svd().S.sum(), (a,))
    m = rng.standard_normal((3, 3))
    s = tinyconv.tensor(m @ m.T + np.eye(3), requires_grad=True)
    # (through a symmetrisation: the gradient is symmetric, as PyTorch's, while a perturbation
    # of one triangle alone is not a symmetric input)
    assert gradcheck(lambda x: ((x + x.transpose(-2, -1)) / 2).cholesky(upper=True), (s,))
    assert gradcheck(lambda x: ((x + x.transpose(-2, -1)) / 2).cholesky(), (s,))


@pytest.mark.parametrize("name", ["qr", "svd", "cholesky"])
def test_bad_input_raises_as_torch(torch, name):
    for bad in (np.ones(3), np.ones((2, 2), dtype=np.int64)):
        with pytest.raises(RuntimeError):
            getattr(torch, name)(torch.tensor(bad))
        with pytest.raises(RuntimeError, match=rf"{name}\(\)"):
            getattr(tinyconv, name)(tinyconv.tensor(bad))
    with pytest.raises(RuntimeError):
        torch.cholesky(torch.ones(2, 3, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="square"):
        tinyconv.cholesky(tinyconv.ones(2, 3, dtype=tinyconv.float64))
