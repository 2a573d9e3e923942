"""The rest of tinyconv.linalg (pinv, lstsq, matrix_rank, solve_triangular, LU, the *_ex
variants, cond, multi_dot, matrix_power, vecdot, vander, tensorinv / tensorsolve) and the older
torch.* forms (pinverse, triangular_solve, lu_unpack, cholesky_solve, cholesky_inverse), without
PyTorch: float64 gradcheck (and gradgradcheck for the ops with their own backward) on
hypothesis-drawn well-conditioned matrices, the defining identities, dtypes, named results and
errors. tests/test_linalg_more_torch.py compares the same functions with PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import cholesky_factors, conditioned_matrix, linalg_matrices

import tinyconv
from tinyconv.autograd import gradcheck, gradgradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}
LA = tinyconv.linalg


def _leaf(a: np.ndarray) -> tinyconv.Tensor:
    return tinyconv.tensor(a, dtype=tinyconv.float64, requires_grad=True)


def _rhs(A: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(A.shape[:-1] + (k,))


# -- pinv / pinverse ---------------------------------------------------------------------------


@given(linalg_matrices())
def test_pinv_penrose_identities_and_gradcheck(a):
    A = _leaf(a)
    P = LA.pinv(A)
    assert tuple(P.shape) == a.shape[:-2] + (a.shape[-1], a.shape[-2])
    p = P.detach().numpy()
    np.testing.assert_allclose(a @ p @ a, a, atol=1e-12)
    np.testing.assert_allclose(p @ a @ p, p, atol=1e-12)
    np.testing.assert_allclose(a @ p, np.swapaxes(a @ p, -1, -2), atol=1e-12)
    assert P.grad_fn.name() == "LinalgPinvBackward0"
    assert gradcheck(lambda A: LA.pinv(A), (A,), **TOL)


@settings(max_examples=6)
@given(linalg_matrices(max_side=3))
def test_pinv_gradgradcheck(a):
    assert gradgradcheck(lambda A: LA.pinv(A), (_leaf(a),), **TOL)


@given(linalg_matrices(square=True))
def test_pinv_hermitian_is_the_inverse_of_a_symmetric_matrix(a):
    sym = a @ np.swapaxes(a, -1, -2) + np.eye(a.shape[-1])
    A = _leaf(sym)
    np.testing.assert_allclose(LA.pinv(A, hermitian=True).detach().numpy(), np.linalg.inv(sym))
    # only the lower triangle is read: a symmetrising map keeps the function smooth
    assert gradcheck(lambda A: LA.pinv(A.tril() + A.tril(-1).mT, hermitian=True), (A,), **TOL)


def test_pinv_cutoffs_and_pinverse():
    A = tinyconv.tensor(np.diag([4.0, 1.0, 1e-3]))
    np.testing.assert_allclose(LA.pinv(A).numpy(), np.diag([0.25, 1.0, 1e3]))
    np.testing.assert_allclose(LA.pinv(A, atol=0.5).numpy(), np.diag([0.25, 1.0, 0.0]))
    np.testing.assert_allclose(LA.pinv(A, rtol=0.5).numpy(), np.diag([0.25, 0.0, 0.0]))
    np.testing.assert_allclose(A.pinverse(rcond=0.1).numpy(), np.diag([0.25, 1.0, 0.0]))
    np.testing.assert_allclose(tinyconv.pinverse(A, 0.1).numpy(), np.diag([0.25, 1.0, 0.0]))
    assert LA.pinv(tinyconv.zeros(2, 0, 3)).shape == (2, 3, 0)


# -- lstsq and matrix_rank ---------------------------------------------------------------------


@given(linalg_matrices(), st.sampled_from(["gelsy", "gelsd", "gelss", "gels"]))
def test_lstsq_solution_and_gradcheck(a, driver):
    b = _rhs(a, 2)
    A, B = _leaf(a), _leaf(b)
    res = LA.lstsq(A, B, driver=driver)
    assert type(res).__name__ == "LstsqResult"
    assert res._fields == ("solution", "residuals", "rank", "singular_values")
    np.testing.assert_allclose(res.solution.detach().numpy(), np.linalg.pinv(a) @ b, atol=1e-10)
    m, n = a.shape[-2:]
    batch = a.shape[:-2]
    assert res.rank.dtype == tinyconv.int64
    assert tuple(res.rank.shape) == ((0,) if driver == "gels" else batch)
    if driver != "gels":
        assert np.all(res.rank.numpy() == min(m, n))
    sv = (batch + (min(m, n),)) if driver in ("gelsd", "gelss") else (0,)
    assert tuple(res.singular_values.shape) == sv
    if m > n and driver != "gelsy":
        r = a @ res.solution.detach().numpy() - b
        np.testing.assert_allclose(res.residuals.detach().numpy(), (r * r).sum(-2), atol=1e-10)
        assert gradcheck(lambda A, B: LA.lstsq(A, B, driver=driver).residuals, (A, B), **TOL)
    else:
        assert tuple(res.residuals.shape) == (0,)
    assert gradcheck(lambda A, B: LA.lstsq(A, B, driver=driver).solution, (A, B), **TOL)


def test_lstsq_vector_rhs_broadcast_and_rank_deficient():
    rng = np.random.default_rng(0)
    a = conditioned_matrix(rng, (2, 5, 3))
    b = rng.standard_normal((5,))  # (m,): not a vector case for a batched A, an error
    with pytest.raises(RuntimeError, match="dim"):
        LA.lstsq(tinyconv.tensor(a), tinyconv.tensor(b))
    bv = rng.standard_normal((2, 5))  # A.ndim - 1 dims: vectors
    x = LA.lstsq(tinyconv.tensor(a), tinyconv.tensor(bv), driver="gelsd")
    assert x.solution.shape == (2, 3) and x.residuals.shape == (2, 1)
    ones = tinyconv.ones(4, 3, dtype=tinyconv.float64)
    r = LA.lstsq(ones, tinyconv.ones(4, 1, dtype=tinyconv.float64), driver="gelsd")
    assert r.rank.item() == 1 and r.residuals.shape == (0,)  # (rank-deficient: no residuals)
    np.testing.assert_allclose(r.solution.numpy(), np.full((3, 1), 1 / 3))


@given(linalg_matrices())
def test_matrix_rank(a):
    A = tinyconv.tensor(a)
    assert np.all(LA.matrix_rank(A).numpy() == min(a.shape[-2:]))
    assert LA.matrix_rank(A).dtype == tinyconv.int64
    # a repeated row: the rank of the other m - 1 rows
    m, n = a.shape[-2:]
    if m > 1:
        dup = a.copy()
        dup[..., 0, :] = dup[..., 1, :]
        assert np.all(LA.matrix_rank(tinyconv.tensor(dup)).numpy() == min(m - 1, n))
    big = LA.matrix_rank(A, atol=10.0)  # every singular value is <= 3
    assert np.all(big.numpy() == 0)
    assert np.all(LA.matrix_rank(A, tol=10.0).numpy() == 0)


# -- solve_triangular and triangular_solve ------------------------------------------------------


@given(linalg_matrices(square=True), st.booleans(), st.booleans(), st.booleans())
def test_solve_triangular(a, upper, left, unit):
    a = a + 3 * np.eye(a.shape[-1])  # (a well-conditioned triangle)
    n = a.shape[-1]
    b = _rhs(a, 2) if left else np.swapaxes(_rhs(a, 2), -1, -2)
    A, B = _leaf(a), _leaf(b)
    X = LA.solve_triangular(A, B, upper=upper, left=left, unitriangular=unit)
    t = np.triu(a, 1 if unit else 0) if upper else np.tril(a, -1 if unit else 0)
    if unit:
        t = t + np.eye(n)
    x = X.detach().numpy()
    np.testing.assert_allclose(t @ x if left else x @ t, b, atol=1e-10)
    assert X.grad_fn.name() == "LinalgSolveTriangularBackward0"
    assert gradcheck(
        lambda A, B: LA.solve_triangular(A, B, upper=upper, left=left, unitriangular=unit),
        (A, B),
        **TOL,
    )


@settings(max_examples=6)
@given(linalg_matrices(square=True, max_side=3), st.booleans(), st.booleans())
def test_solve_triangular_gradgradcheck(a, upper, left):
    a = a + 3 * np.eye(a.shape[-1])
    b = _rhs(a, 2) if left else np.swapaxes(_rhs(a, 2), -1, -2)
    assert gradgradcheck(
        lambda A, B: LA.solve_triangular(A, B, upper=upper, left=left), (_leaf(a), _leaf(b)), **TOL
    )


def test_solve_triangular_zero_diagonal_and_broadcast():
    X = LA.solve_triangular(tinyconv.zeros(2, 2), tinyconv.ones(2, 2), upper=True)
    assert np.isnan(X.numpy()[0]).all() and np.isinf(X.numpy()[1]).all()  # as PyTorch
    A = (tinyconv.eye(3) * 2).expand(4, 3, 3)
    X = LA.solve_triangular(A, tinyconv.ones(3, 1), upper=False)
    assert X.shape == (4, 3, 1)
    np.testing.assert_allclose(X.numpy(), 0.5)


def test_triangular_solve_legacy():
    rng = np.random.default_rng(3)
    a = np.triu(rng.standard_normal((3, 3))) + 3 * np.eye(3)
    b = rng.standard_normal((3, 2))
    A, B = _leaf(a), _leaf(b)
    res = tinyconv.triangular_solve(B, A)
    assert res._fields == ("solution", "cloned_coefficient")
    np.testing.assert_allclose(a @ res.solution.detach().numpy(), b, atol=1e-12)
    np.testing.assert_array_equal(res.cloned_coefficient.detach().numpy(), a)
    assert res.solution.grad_fn.name() == "TriangularSolveBackward0"
    t = B.triangular_solve(A.mT, upper=False, transpose=True)
    np.testing.assert_allclose(t.solution.detach().numpy(), res.solution.detach().numpy())
    assert gradcheck(lambda B, A: tinyconv.triangular_solve(B, A).solution, (B, A), **TOL)


# -- LU ----------------------------------------------------------------------------------------


@given(linalg_matrices())
def test_lu_factor_and_lu_reconstruct(a):
    A = _leaf(a)
    LU, piv = LA.lu_factor(A)
    m, n = a.shape[-2:]
    k = min(m, n)
    assert piv.dtype == tinyconv.int32 and tuple(piv.shape) == a.shape[:-2] + (k,)
    assert LU.grad_fn.name() == "LinalgLuFactorExBackward0"
    P, L, U = LA.lu(A)
    assert tuple(P.shape) == a.shape[:-2] + (m, m) and tuple(L.shape) == a.shape[:-2] + (m, k)
    np.testing.assert_allclose((P @ L @ U).detach().numpy(), a, atol=1e-12)
    l_ = L.detach().numpy()
    assert np.all(np.abs(l_) <= 1 + 1e-12)  # partial pivoting: |multipliers| <= 1
    np.testing.assert_array_equal(np.triu(l_[..., :k, :k], 1), 0)
    P2, L2, U2 = tinyconv.lu_unpack(LU, piv)
    np.testing.assert_array_equal(P2.numpy(), P.numpy())
    np.testing.assert_array_equal(L2.detach().numpy(), l_)
    assert gradcheck(lambda A: LA.lu_factor(A).LU, (A,), **TOL)
    assert gradcheck(lambda A: tuple(LA.lu(A))[1:], (A,), **TOL)


@settings(max_examples=6)
@given(linalg_matrices(max_side=3))
def test_lu_factor_gradgradcheck(a):
    assert gradgradcheck(lambda A: LA.lu_factor(A).LU, (_leaf(a),), **TOL)


@given(linalg_matrices(square=True), st.booleans(), st.booleans())
def test_lu_solve(a, left, adjoint):
    b = _rhs(a, 2) if left else np.swapaxes(_rhs(a, 2), -1, -2)
    A, B = _leaf(a), _leaf(b)

    def f(A, B):
        LU, piv = LA.lu_factor(A)
        return LA.lu_solve(LU, piv, B, left=left, adjoint=adjoint)

    op = np.swapaxes(a, -1, -2) if adjoint else a
    x = f(A, B).detach().numpy()
    np.testing.assert_allclose(op @ x if left else x @ op, b, atol=1e-10)
    assert gradcheck(f, (A, B), **TOL)


def test_lu_singular_info_and_errors():
    s = tinyconv.tensor([[1.0, 2.0], [2.0, 4.0]])
    LU, piv, info = LA.lu_factor_ex(s)
    assert info.dtype == tinyconv.int32 and info.item() == 2
    with pytest.raises(RuntimeError, match=r"U\[2,2\] is zero"):
        LA.lu_factor(s)
    with pytest.raises(RuntimeError, match="without pivoting"):
        LA.lu_factor(s, pivot=False)
    with pytest.raises(RuntimeError, match="int32"):
        LA.lu_solve(LU, piv.long(), tinyconv.ones(2, 1))
    P, L, U = tinyconv.lu_unpack(LU, piv, unpack_data=False)
    assert L.shape == (0,) and P.shape == (2, 2)
    # the older spellings: torch.lu (a plain tuple; get_infos adds info) and torch.lu_solve
    LU2, piv2, info2 = s.lu(get_infos=True)
    assert type(LU2.lu()) is tuple and info2.item() == 2
    np.testing.assert_array_equal(piv2.numpy(), piv.numpy())
    a = tinyconv.tensor([[2.0, 1.0], [1.0, 3.0]])
    x = tinyconv.lu_solve(tinyconv.ones(2, 1), *tinyconv.lu(a))
    np.testing.assert_allclose((a @ x).numpy(), 1.0, rtol=1e-6)


# -- inv_ex, solve_ex, cholesky_ex ---------------------------------------------------------------


def test_ex_variants_report_info():
    s = tinyconv.tensor([[[1.0, 2.0], [2.0, 4.0]], [[2.0, 0.0], [0.0, 2.0]]])
    inv, info = LA.inv_ex(s)
    assert info.tolist() == [2, 0] and info.dtype == tinyconv.int32
    assert np.isnan(inv.numpy()[0]).all()
    np.testing.assert_allclose(inv.numpy()[1], np.eye(2) / 2)
    with pytest.raises(LA.LinAlgError, match=r"\(Batch element 0\): The diagonal element 2"):
        LA.inv_ex(s, check_errors=True)
    x, info = LA.solve_ex(s, tinyconv.ones(2, 2, 1))
    assert info.tolist() == [2, 0] and np.isnan(x.numpy()[0]).all()
    L, info = LA.cholesky_ex(tinyconv.tensor([[1.0, 2.0], [2.0, 1.0]]))
    assert info.item() == 2 and np.isnan(L.numpy()).all()
    with pytest.raises(LA.LinAlgError, match="leading minor of order 1"):
        LA.cholesky_ex(tinyconv.tensor([[-1.0, 2.0], [2.0, 1.0]]), check_errors=True)
    assert "linalg_inv_ex" in repr(LA.inv_ex(s[1]))


@given(linalg_matrices(square=True))
def test_ex_variants_gradcheck(a):
    A, B = _leaf(a), _leaf(_rhs(a, 2))
    assert gradcheck(lambda A: LA.inv_ex(A).inverse, (A,), **TOL)
    assert gradcheck(lambda A, B: LA.solve_ex(A, B).result, (A, B), **TOL)
    spd = _leaf(a @ np.swapaxes(a, -1, -2))
    # (only the lower triangle is read, and the gradient is symmetric, as PyTorch's: the check
    # goes through a symmetrising map)
    assert gradcheck(lambda S: LA.cholesky_ex(S.tril() + S.tril(-1).mT).L, (spd,), **TOL)


# -- cholesky_solve and cholesky_inverse ---------------------------------------------------------


@given(cholesky_factors(), st.booleans())
def test_cholesky_solve_and_inverse(factor, upper):
    low, rng = factor
    f = np.swapaxes(low, -1, -2) if upper else low
    a = low @ np.swapaxes(low, -1, -2)
    b = rng.standard_normal(a.shape[:-1] + (2,))
    F, B = _leaf(f), _leaf(b)
    x = tinyconv.cholesky_solve(B, F, upper=upper).detach().numpy()
    np.testing.assert_allclose(a @ x, b, atol=1e-10)
    inv = tinyconv.cholesky_inverse(F, upper=upper).detach().numpy()
    np.testing.assert_allclose(inv, np.linalg.inv(a), atol=1e-10)
    # PyTorch's formula gives the unread triangle a gradient too (compared with PyTorch in
    # test_linalg_more_torch.py); through a map onto the read triangle it is the true one
    tri = (lambda F: F.triu()) if upper else (lambda F: F.tril())
    assert gradcheck(lambda B, F: B.cholesky_solve(tri(F), upper), (B, F), **TOL)
    assert gradcheck(lambda F: tri(F).cholesky_inverse(upper), (F,), **TOL)


@settings(max_examples=5)
@given(cholesky_factors(max_side=3))
def test_cholesky_solve_gradgradcheck(factor):
    low, rng = factor
    b = rng.standard_normal(low.shape[:-1] + (2,))
    assert gradgradcheck(lambda B, F: B.cholesky_solve(F.tril()), (_leaf(b), _leaf(low)), **TOL)
    assert gradgradcheck(lambda F: F.tril().cholesky_inverse(), (_leaf(low),), **TOL)


# -- cond, matrix_power, multi_dot, vecdot, vander, tensorinv, tensorsolve, diagonal -------------


@given(linalg_matrices(square=True), st.sampled_from([None, 2, -2, "fro", "nuc", math.inf, 1, -1]))
def test_cond(a, p):
    A = _leaf(a)
    c = LA.cond(A, p).detach().numpy()
    np.testing.assert_allclose(c, np.linalg.cond(a, p), rtol=1e-10)
    assert gradcheck(lambda A: LA.cond(A, p), (A,), **TOL)


@given(linalg_matrices())
def test_cond_rectangular_and_singular(a):
    A = _leaf(a)
    s = np.linalg.svd(a, compute_uv=False)
    np.testing.assert_allclose(LA.cond(A).detach().numpy(), s[..., 0] / s[..., -1])
    assert gradcheck(lambda A: LA.cond(A), (A,), **TOL)
    assert LA.cond(tinyconv.zeros(2, 2), 1).item() == math.inf


@given(linalg_matrices(square=True), st.integers(-3, 4))
def test_matrix_power(a, n):
    A = _leaf(a)
    out = LA.matrix_power(A, n)
    np.testing.assert_allclose(out.detach().numpy(), np.linalg.matrix_power(a, n), atol=1e-10)
    assert out.requires_grad
    assert gradcheck(lambda A: LA.matrix_power(A, n), (A,), **TOL)
    np.testing.assert_array_equal(
        tinyconv.matrix_power(A, n).detach().numpy(), out.detach().numpy()
    )


def test_matrix_power_names():
    A = _leaf(np.eye(2) * 2)
    assert LA.matrix_power(A, 1).grad_fn.name() == "CloneBackward0"
    assert LA.matrix_power(A, 0).grad_fn.name() == "CopyBackwards"
    assert LA.matrix_power(A, 3).grad_fn.name() == "MmBackward0"
    (LA.matrix_power(A, 0).sum()).backward()
    np.testing.assert_array_equal(A.grad.numpy(), 0)


@given(st.lists(st.integers(1, 4), min_size=3, max_size=6), st.booleans(), st.booleans())
def test_multi_dot(dims, first_vec, last_vec):
    rng = np.random.default_rng(len(dims))
    mats = [rng.standard_normal((dims[i], dims[i + 1])) for i in range(len(dims) - 1)]
    if first_vec:
        mats[0] = mats[0][0]
    if last_vec:
        mats[-1] = mats[-1][:, 0]
    ts = [_leaf(m) for m in mats]
    want = np.linalg.multi_dot(mats)
    out = LA.multi_dot(ts)
    np.testing.assert_allclose(out.detach().numpy(), want, atol=1e-12)
    assert out.shape == np.shape(want)
    assert gradcheck(lambda *ts: LA.multi_dot(ts), tuple(ts), **TOL)


def test_vecdot_vander_diagonal_tensor_forms():
    rng = np.random.default_rng(5)
    x, y = _leaf(rng.standard_normal((2, 3))), _leaf(rng.standard_normal(3))
    np.testing.assert_allclose(
        LA.vecdot(x, y).detach().numpy(), x.detach().numpy() @ y.detach().numpy()
    )
    assert gradcheck(lambda x, y: LA.vecdot(x, y, dim=-1), (x, y), **TOL)
    v = LA.vander(x, N=4)
    np.testing.assert_allclose(v.detach().numpy(), x.detach().numpy()[..., None] ** np.arange(4))
    assert gradcheck(lambda x: LA.vander(x), (x,), **TOL)
    assert LA.vander(tinyconv.tensor([1, 2])).dtype == tinyconv.int64
    d = LA.diagonal(x.reshape(1, 2, 3), offset=1)
    np.testing.assert_array_equal(d.detach().numpy(), np.diagonal(x.detach().numpy(), 1)[None])
    a = conditioned_matrix(rng, (6, 6)).reshape(2, 3, 6)
    A = _leaf(a)
    ti = LA.tensorinv(A, ind=2)
    assert ti.shape == (6, 2, 3)
    np.testing.assert_allclose(np.tensordot(ti.detach().numpy(), a, 2), np.eye(6), atol=1e-10)
    assert gradcheck(lambda A: LA.tensorinv(A, ind=2), (A,), **TOL)
    b = _leaf(rng.standard_normal((2, 3)))
    xs = LA.tensorsolve(A, b)
    assert xs.shape == (6,)
    np.testing.assert_allclose(np.tensordot(a, xs.detach().numpy(), 1), b.detach().numpy())
    assert gradcheck(lambda A, b: LA.tensorsolve(A, b), (A, b), **TOL)


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, kind, match",
    [
        (lambda: LA.pinv(tinyconv.ones(2, 2, dtype=tinyconv.int64)), RuntimeError, "float"),
        (lambda: LA.pinv(tinyconv.ones(3)), RuntimeError, "2 or more"),
        (lambda: LA.multi_dot([tinyconv.ones(2, 2)]), RuntimeError, "at least 2"),
        (lambda: LA.multi_dot([tinyconv.ones(2, 3)] * 2), RuntimeError, "cannot be multiplied"),
        (lambda: LA.multi_dot([tinyconv.ones(2, 3), tinyconv.ones(3, 3, 3)]), RuntimeError, "3D"),
        (lambda: LA.lstsq(tinyconv.ones(2, 3), tinyconv.ones(3, 2)), RuntimeError, "size"),
        (
            lambda: LA.lstsq(tinyconv.ones(2, 3), tinyconv.ones(2, 1), driver="x"),
            RuntimeError,
            "driver",
        ),
        (
            lambda: LA.solve_triangular(tinyconv.ones(2, 3), tinyconv.ones(2, 1), upper=True),
            RuntimeError,
            "square",
        ),
        (
            lambda: LA.solve_triangular(tinyconv.ones(2, 2), tinyconv.ones(3, 1), upper=True),
            RuntimeError,
            "incompatible",
        ),
        (lambda: LA.matrix_rank(tinyconv.ones(2, 2, dtype=tinyconv.int64)), RuntimeError, "float"),
        (
            lambda: LA.vecdot(tinyconv.ones(2, dtype=tinyconv.int64), tinyconv.ones(2)),
            RuntimeError,
            "floating",
        ),
        (lambda: LA.cond(tinyconv.ones(2, 3), 1), RuntimeError, "square"),
        (lambda: LA.cond(tinyconv.ones(2, 2), 3), RuntimeError, "norm type"),
        (lambda: LA.tensorinv(tinyconv.ones(2, 3), ind=1), RuntimeError, "prod"),
        (lambda: LA.inv_ex(tinyconv.ones(2, 3)), RuntimeError, "square"),
        (lambda: LA.matrix_power(tinyconv.ones(2, 2), 1.5), TypeError, "integer"),
        (lambda: LA.eig(tinyconv.ones(2, 2)), RuntimeError, "complex"),
        (lambda: LA.eigvals(tinyconv.ones(2, 2)), RuntimeError, "complex"),
    ],
)
def test_errors(call, kind, match):
    with pytest.raises(kind, match=match):
        call()


@given(linalg_matrices(), st.integers(0, 4))
def test_householder_product(a, k):
    if a.shape[-2] < a.shape[-1]:
        a = np.swapaxes(a, -1, -2)  # (m >= n)
    k = min(k, a.shape[-1])
    tau = np.random.default_rng(k).uniform(0.5, 1.5, a.shape[:-2] + (k,))
    A, T = _leaf(a), _leaf(tau)
    assert gradcheck(lambda A, T: LA.householder_product(A, T), (A, T), **TOL)
    # LAPACK's own reflectors (NumPy's raw QR) give back QR's Q
    flat = a.reshape(-1, *a.shape[-2:])[0]
    h, t = np.linalg.qr(flat, mode="raw")
    q = LA.householder_product(tinyconv.tensor(h.T.copy()), tinyconv.tensor(t))
    np.testing.assert_allclose(q.numpy(), np.linalg.qr(flat)[0], atol=1e-12)
    np.testing.assert_allclose(
        tinyconv.orgqr(tinyconv.tensor(h.T.copy()), tinyconv.tensor(t)).numpy(), q.numpy()
    )
