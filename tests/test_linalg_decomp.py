"""linalg.qr, linalg.svd and tinyconv.svd (QR and SVD with their backwards): gradcheck and
gradgradcheck in float64 over drawn shapes and modes; against PyTorch 2.13: values, and
gradients of losses that do not depend on the factors' sign choices (reconstructions,
projectors, squares of vectors), so the comparison holds whatever LAPACK picks; the full
matrices' extra columns getting no gradient; refusals and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyconv
from tinyconv.autograd import gradcheck, gradgradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}

matrix_shapes = st.tuples(st.sampled_from([(), (2,)]), st.integers(1, 4), st.integers(1, 4)).map(
    lambda t: t[0] + (t[1], t[2])
)


def _matrix(shape: tuple, seed: int) -> np.ndarray:
    # Gaussian entries: full rank with distinct singular values (almost surely; the draws
    # are fixed by the seed, and the checks below would show a bad one)
    return np.random.default_rng(seed).standard_normal(shape)


def _sign_fixed_qr(lib, A, mode):
    """Q and R with R's diagonal made non-negative (a loss built from these does not
    depend on LAPACK's sign choices)."""
    Q, R = lib.linalg.qr(A, mode=mode)
    k = min(A.shape[-2], A.shape[-1])
    d = R.diagonal(dim1=-2, dim2=-1)[..., :k]
    s = lib.where(d.detach() < 0, -1.0, 1.0).to(A.dtype)
    q = Q[..., :, :k] * s.unsqueeze(-2)
    r = R[..., :k, :] * s.unsqueeze(-1)
    return q, r


@given(matrix_shapes, st.sampled_from(["reduced", "complete"]), st.integers(0, 2**16))
def test_qr_gradcheck(shape, mode, seed):
    if mode == "complete" and shape[-2] > shape[-1]:
        mode = "reduced"  # (not differentiable: tested below)
    A = tinyconv.tensor(_matrix(shape, seed), requires_grad=True)
    assert gradcheck(lambda A: tinyconv.linalg.qr(A, mode=mode).Q, (A,), **TOL)
    assert gradcheck(lambda A: tinyconv.linalg.qr(A, mode=mode).R, (A,), **TOL)


@settings(max_examples=8)
@given(matrix_shapes, st.integers(0, 2**16))
def test_qr_gradgradcheck(shape, seed):
    A = tinyconv.tensor(_matrix(shape, seed), requires_grad=True)
    assert gradgradcheck(lambda A: tuple(tinyconv.linalg.qr(A)), (A,), **TOL)


@given(matrix_shapes, st.booleans(), st.integers(0, 2**16))
def test_svd_gradcheck(shape, full_matrices, seed):
    A = tinyconv.tensor(_matrix(shape, seed), requires_grad=True)
    k = min(shape[-2:])

    def vectors(A):  # (the full matrices' extra columns have no gradient by definition)
        U, S, Vh = tinyconv.linalg.svd(A, full_matrices=full_matrices)
        return U[..., :, :k], S, Vh[..., :k, :]

    assert gradcheck(vectors, (A,), **TOL)


@settings(max_examples=8)
@given(matrix_shapes, st.integers(0, 2**16))
def test_svd_gradgradcheck(shape, seed):
    A = tinyconv.tensor(_matrix(shape, seed), requires_grad=True)
    assert gradgradcheck(lambda A: tuple(tinyconv.linalg.svd(A, full_matrices=False)), (A,), **TOL)


def test_factorizations_reconstruct():
    rng = np.random.default_rng(0)
    for shape in [(5, 3), (3, 5), (4, 4), (2, 3, 2), (1, 1)]:
        a = rng.standard_normal(shape)
        A = tinyconv.tensor(a)
        for mode in ("reduced", "complete"):
            Q, R = tinyconv.linalg.qr(A, mode=mode)
            np.testing.assert_allclose((Q @ R).numpy(), a, atol=1e-12)
            qtq = (Q.transpose(-2, -1) @ Q).numpy()
            np.testing.assert_allclose(
                qtq, np.broadcast_to(np.eye(qtq.shape[-1]), qtq.shape), atol=1e-12
            )
            assert np.all(np.tril(R.numpy(), -1) == 0)
        for full in (True, False):
            U, S, Vh = tinyconv.linalg.svd(A, full_matrices=full)
            k = S.shape[-1]
            us = U[..., :, :k] * S.unsqueeze(-2)
            np.testing.assert_allclose((us @ Vh[..., :k, :]).numpy(), a, atol=1e-12)
            assert np.all(np.diff(S.numpy(), axis=-1) <= 0)
        U, S, V = tinyconv.svd(A)
        np.testing.assert_allclose(
            ((U * S.unsqueeze(-2)) @ V.transpose(-2, -1)).numpy(), a, atol=1e-12
        )


SHAPES = [(5, 3), (3, 5), (4, 4), (2, 3, 2), (2, 2, 4), (1, 3), (3, 1)]


@pytest.mark.torch
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_qr_matches_torch(shape, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a = rng.standard_normal(shape)
    w1, w2 = (
        rng.standard_normal(shape[:-1] + (min(shape[-2:]),)),
        rng.standard_normal(shape[:-2] + (min(shape[-2:]), shape[-1])),
    )
    tol = (1e-10, 1e-12) if dtype == "float64" else (1e-4, 1e-5)
    modes = ["reduced", "r"] + (["complete"] if shape[-2] <= shape[-1] else [])
    for mode in modes:
        results = []
        for lib in (tinyconv, torch):
            A = lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=True)
            Q, R = lib.linalg.qr(A, mode=mode)
            assert Q.requires_grad and R.requires_grad
            shapes = (tuple(Q.shape), tuple(R.shape))
            if mode == "r":
                results.append((shapes, lib.linalg.qr(A).R.abs().detach().numpy(), None))
                continue
            q, r = _sign_fixed_qr(lib, A, mode)
            loss = (q * lib.tensor(w1, dtype=A.dtype)).sum() + (
                r * lib.tensor(w2, dtype=A.dtype)
            ).sum()
            loss.backward()
            results.append(
                (
                    shapes,
                    np.concatenate([q.detach().numpy().ravel(), r.detach().numpy().ravel()]),
                    A.grad.numpy(),
                )
            )
        (s1, v1, g1), (s2, v2, g2) = results
        assert s1 == s2
        np.testing.assert_allclose(v1, v2, *tol)
        if g2 is not None:
            np.testing.assert_allclose(g1, g2, *tol)


def _invariant_loss(lib, U, S, Vh, w):
    """A loss of U, S, Vh that no sign flip of a pair (u_i, v_i) changes: the rank-one
    pieces u_i v_i^T weighted by a function of S, the projectors' entries U U^T (through
    U * U) and V V^T (through Vh * Vh)."""
    k = S.shape[-1]
    u, vh = U[..., :, :k], Vh[..., :k, :]
    recon = (u * (S**2 + 1).unsqueeze(-2)) @ vh
    return (
        (recon * lib.tensor(w[0])).sum()
        + ((u * u) * lib.tensor(w[1])).sum()
        + ((vh * vh) * lib.tensor(w[2])).sum()
        + (S**3).sum()
    )


@pytest.mark.torch
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("full_matrices", [True, False])
def test_svd_matches_torch(shape, full_matrices):
    """Singular values, sign-free quantities and the gradient of a sign-free loss (the extra
    columns of the full matrices included: their gradient is ignored in both)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a = rng.standard_normal(shape)
    k = min(shape[-2:])
    w = [
        rng.standard_normal(shape),
        rng.standard_normal(shape[:-1] + (k,)),
        rng.standard_normal(shape[:-2] + (k, shape[-1])),
    ]
    results = []
    for lib in (tinyconv, torch):
        A = lib.tensor(a, requires_grad=True)
        U, S, Vh = lib.linalg.svd(A, full_matrices=full_matrices)
        assert U.grad_fn.name() == "LinalgSvdBackward0"
        proj = (U @ U.transpose(-2, -1)).detach().numpy()  # (identity when full)
        loss = _invariant_loss(lib, U, S, Vh, w) + (U.sum() + Vh.sum()) * 0
        loss.backward()
        results.append((tuple(U.shape), tuple(Vh.shape), S.detach().numpy(), proj, A.grad.numpy()))
    for got, want in zip(*results, strict=True):
        if isinstance(want, tuple):
            assert got == want
        else:
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("some", [True, False])
@pytest.mark.parametrize("compute_uv", [True, False])
def test_torch_svd_matches_torch(some, compute_uv):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 4, 3))
    w = [
        rng.standard_normal((2, 4, 3)),
        rng.standard_normal((2, 4, 3)),
        rng.standard_normal((2, 3, 3)),
    ]
    results = []
    for lib in (tinyconv, torch):
        A = lib.tensor(a, requires_grad=True)
        U, S, V = lib.svd(A, some=some, compute_uv=compute_uv)
        shapes = (tuple(U.shape), tuple(V.shape), U.requires_grad, V.requires_grad)
        if compute_uv:
            assert V.grad_fn.name() == "TransposeBackward0"
            loss = _invariant_loss(lib, U, S, V.transpose(-2, -1), w)
        else:
            assert not U.numpy().any() and not V.numpy().any()
            loss = (S**3).sum()
        loss.backward()
        results.append((shapes, S.detach().numpy(), A.grad.numpy()))
    (s1, v1, g1), (s2, v2, g2) = results
    assert s1 == s2
    np.testing.assert_allclose(v1, v2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_empty_matrices_match_torch():
    torch = pytest.importorskip("torch")
    for shape in [(0, 3), (3, 0), (2, 3, 0), (2, 0, 0)]:
        for full in (True, False):
            got = tinyconv.linalg.svd(tinyconv.zeros(*shape), full_matrices=full)
            want = torch.linalg.svd(torch.zeros(*shape), full_matrices=full)
            for g, t in zip(got, want, strict=True):
                assert tuple(g.shape) == tuple(t.shape)
                np.testing.assert_array_equal(g.numpy(), t.numpy())
        for mode in ("reduced", "complete", "r"):
            got = tinyconv.linalg.qr(tinyconv.zeros(*shape), mode=mode)
            want = torch.linalg.qr(torch.zeros(*shape), mode=mode)
            for g, t in zip(got, want, strict=True):
                assert tuple(g.shape) == tuple(t.shape)


@pytest.mark.torch
def test_refusals_and_errors_match_torch():
    """Each call raises in both libraries, tinyconv with the class PyTorch uses (or a
    subclass) and a message naming the problem."""
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(4).standard_normal((4, 3))

    def calls(lib):
        A = lib.tensor(a, requires_grad=True)
        return [
            ("mode", lambda: lib.linalg.qr(A, mode="full")),
            ("2 dimensions", lambda: lib.linalg.qr(A[0])),
            ("float", lambda: lib.linalg.qr(A.detach().int())),
            ("2 dimensions", lambda: lib.linalg.svd(A[0])),
            ("float", lambda: lib.linalg.svd(A.detach().int())),
            ("driver", lambda: lib.linalg.svd(A, driver="gesvd")),
            ("mode='r'", lambda: lib.linalg.qr(A, mode="r").R.sum().backward()),
            ("complete", lambda: lib.linalg.qr(A, mode="complete").Q.sum().backward()),
        ]

    for (match, ours), (_, theirs) in zip(calls(tinyconv), calls(torch), strict=True):
        with pytest.raises(Exception) as err:
            theirs()
        with pytest.raises(err.type, match=match):
            ours()
