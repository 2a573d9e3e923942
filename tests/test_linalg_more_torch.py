"""tinyconv.linalg's pinv, lstsq, matrix_rank, solve_triangular, LU family, *_ex variants, cond,
multi_dot, matrix_power, vecdot, vander, tensorinv / tensorsolve and the older torch.* forms
against PyTorch 2.13: values, dtypes, shapes, grad_fn names, named-result fields and every
gradient (of a loss weighting each output element differently), on float32 and float64; which
lstsq fields each driver fills; info codes; the errors' types."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from strategies import conditioned_matrix

import tinyconv

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

RNG = np.random.default_rng(7)
A33 = conditioned_matrix(RNG, (3, 3))
TRI = np.triu(RNG.standard_normal((3, 3))) + 3 * np.eye(3)
TALL = conditioned_matrix(RNG, (2, 5, 3))
WIDE = conditioned_matrix(RNG, (3, 5))
B32 = RNG.standard_normal((3, 2))
B52 = RNG.standard_normal((2, 5, 2))
LOW = np.tril(0.3 * RNG.standard_normal((3, 3)), -1) + np.diag([1.5, 1.2, 1.8])
SPD = A33 @ A33.T + np.eye(3)


def _lu_solve(L, a, b, **kw):
    LU, piv = L.linalg.lu_factor(a)
    return L.linalg.lu_solve(LU, piv, b, **kw)


# name -> (function of (library, *tensors), input arrays, differentiable?)
PROGRAMS = {
    "matrix_power_3": (lambda L, a: L.linalg.matrix_power(a, 3), [A33], True),
    "matrix_power_-2": (lambda L, a: L.linalg.matrix_power(a, -2), [A33], True),
    "matrix_power_1": (lambda L, a: L.matrix_power(a, 1), [A33], True),
    "matrix_power_0": (lambda L, a: L.linalg.matrix_power(a, 0), [A33], True),
    "multi_dot_3": (lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), [WIDE, WIDE.T, B32], True),
    "multi_dot_vecs": (
        lambda L, a, b, c, d: L.linalg.multi_dot([a, b, c, d]),
        [WIDE[0], WIDE.T, A33, B32[:, 0]],
        True,
    ),
    "pinv_tall": (lambda L, a: L.linalg.pinv(a), [TALL], True),
    "pinv_wide": (lambda L, a: L.linalg.pinv(a), [WIDE], True),
    "pinv_hermitian": (lambda L, a: L.linalg.pinv(a, hermitian=True), [SPD], True),
    "pinv_atol": (lambda L, a: L.linalg.pinv(a, atol=1.5), [np.diag([3.0, 2.0, 1.0])], True),
    "pinverse": (lambda L, a: L.pinverse(a, rcond=0.4), [np.diag([3.0, 2.0, 1.0])], True),
    "pinverse_method": (lambda L, a: a.pinverse(), [WIDE], True),
    "lstsq_default": (lambda L, a, b: tuple(L.linalg.lstsq(a, b)), [TALL, B52], True),
    "lstsq_gelsd": (lambda L, a, b: tuple(L.linalg.lstsq(a, b, driver="gelsd")), [TALL, B52], True),
    "lstsq_gelss_wide": (
        lambda L, a, b: tuple(L.linalg.lstsq(a, b, driver="gelss")),
        [WIDE, B32],
        True,
    ),
    "lstsq_gels": (lambda L, a, b: tuple(L.linalg.lstsq(a, b, driver="gels")), [TALL, B52], True),
    "lstsq_vector": (
        lambda L, a, b: tuple(L.linalg.lstsq(a, b, driver="gelsd")),
        [TALL[0], B52[0, :, 0]],
        True,
    ),
    "lstsq_rank_deficient": (
        lambda L, a, b: tuple(L.linalg.lstsq(a, b, driver="gelsd")),
        [np.ones((4, 3)), B52[0, :4]],
        False,
    ),
    "matrix_rank": (lambda L, a: L.linalg.matrix_rank(a), [np.ones((2, 3, 3))], False),
    "matrix_rank_h": (
        lambda L, a: L.linalg.matrix_rank(a, hermitian=True, rtol=0.1),
        [np.diag([1.0, -0.05, 2.0])],
        False,
    ),
    "solve_triangular_upper": (
        lambda L, a, b: L.linalg.solve_triangular(a, b, upper=True),
        [TRI + RNG.standard_normal((3, 3)), B32],
        True,
    ),
    "solve_triangular_lower_right_unit": (
        lambda L, a, b: L.linalg.solve_triangular(
            a, b, upper=False, left=False, unitriangular=True
        ),
        [RNG.standard_normal((2, 3, 3)), B32.T],
        True,
    ),
    "solve_triangular_zero_diag": (
        lambda L, a, b: L.linalg.solve_triangular(a, b, upper=True),
        [np.zeros((2, 2)), np.ones((2, 2))],
        False,
    ),
    "triangular_solve": (lambda L, b, a: tuple(L.triangular_solve(b, a)), [B32, TRI], True),
    "triangular_solve_t": (
        lambda L, b, a: tuple(
            b.triangular_solve(a, upper=False, transpose=True, unitriangular=True)
        ),
        [B32, TRI.T.copy()],
        True,
    ),
    "vecdot": (lambda L, x, y: L.linalg.vecdot(x, y, dim=0), [A33, B32[:, :1]], True),
    "inv_ex": (lambda L, a: tuple(L.linalg.inv_ex(a)), [TALL[:, :3]], True),
    "inv_ex_singular_info": (
        lambda L, a: L.linalg.inv_ex(a).info,
        [np.array([[[1.0, 2.0], [2.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]])],
        False,
    ),
    "solve_ex": (lambda L, a, b: tuple(L.linalg.solve_ex(a, b, left=False)), [A33, B32.T], True),
    "cholesky_ex": (lambda L, a: tuple(L.linalg.cholesky_ex(a, upper=True)), [SPD], True),
    "cholesky_ex_info": (
        lambda L, a: L.linalg.cholesky_ex(a).info,
        [np.array([[[1.0, 2.0], [2.0, 1.0]], [[-1.0, 0.0], [0.0, 1.0]], [[2.0, 0.0], [0.0, 1.0]]])],
        False,
    ),
    "lu_factor": (lambda L, a: tuple(L.linalg.lu_factor(a)), [A33], True),
    "lu_factor_ex_tall": (lambda L, a: tuple(L.linalg.lu_factor_ex(a)), [TALL], True),
    "lu_factor_ex_singular": (
        lambda L, a: tuple(L.linalg.lu_factor_ex(a)),
        [np.array([[0.0, 1.0], [0.0, 2.0]])],
        False,
    ),
    "lu_wide": (lambda L, a: tuple(L.linalg.lu(a)), [WIDE], True),
    "lu_tall": (lambda L, a: tuple(L.linalg.lu(a)), [TALL], True),
    "lu_unpack": (lambda L, a: tuple(L.lu_unpack(*L.linalg.lu_factor(a))), [TALL], True),
    "lu_solve": (_lu_solve, [A33, B32], True),
    "lu_legacy": (lambda L, a, b: L.lu_solve(b, *L.lu(a)), [TALL[:, :3], B32], True),
    "lu_legacy_infos": (lambda L, a: a.lu(get_infos=True), [TALL[:, :3]], True),
    "lu_solve_legacy_method": (lambda L, a, b: b.lu_solve(*a.lu()), [A33, B32], True),
    "lu_solve_adjoint": (lambda L, a, b: _lu_solve(L, a, b, adjoint=True), [A33, B32], True),
    "lu_solve_right": (lambda L, a, b: _lu_solve(L, a, b, left=False), [A33, B32.T], True),
    "diagonal": (lambda L, a: L.linalg.diagonal(a, offset=-1), [TALL], True),
    "vander": (lambda L, x: L.linalg.vander(x, N=4), [B32], True),
    "vander_int": (lambda L, x: L.linalg.vander(x), [np.array([1, 2, 3])], False),
    "tensorinv": (lambda L, a: L.linalg.tensorinv(a, ind=1), [A33.reshape(3, 3, 1)], True),
    "tensorsolve": (
        lambda L, a, b: L.linalg.tensorsolve(a, b, dims=(0,)),
        [conditioned_matrix(RNG, (6, 6)).reshape(6, 2, 3), RNG.standard_normal((2, 3))],
        True,
    ),
    "cholesky_solve": (lambda L, b, f: L.cholesky_solve(b, f), [B32, LOW], True),
    "cholesky_solve_upper": (lambda L, b, f: b.cholesky_solve(f, upper=True), [B32, LOW.T], True),
    "cholesky_solve_unread_triangle": (
        lambda L, b, f: L.cholesky_solve(b, f),
        [B32, LOW + np.triu(RNG.standard_normal((3, 3)), 1)],
        True,
    ),
    "cholesky_inverse": (lambda L, f: L.cholesky_inverse(f), [LOW], True),
    "cholesky_inverse_upper": (lambda L, f: f.cholesky_inverse(upper=True), [LOW.T], True),
    "householder_product": (
        lambda L, a, t: L.linalg.householder_product(a, t),
        [TALL, RNG.uniform(0.5, 1.5, (2, 2))],
        True,
    ),
    "orgqr": (lambda L, a, t: L.orgqr(a, t), [WIDE.T.copy(), RNG.uniform(0.5, 1.5, 3)], True),
    "cond_svd": (lambda L, a: L.linalg.cond(a), [TALL], True),
    "cond_-2": (lambda L, a: L.linalg.cond(a, -2), [A33], True),
    "cond_singular": (
        lambda L, a: (L.linalg.cond(a, 1), L.linalg.cond(a, "fro"), L.linalg.cond(a)),
        [np.zeros((2, 2))],
        False,
    ),
}
# PyTorch 2.13's cond with the norms of A^-1 ('fro', 'nuc', 1, -1, inf, -inf) fails in backward
# (its inv_ex output is modified in place: "one of the variables needed for gradient computation
# has been modified"), so only their values are compared; tinyconv's gradients for them are
# gradchecked in test_linalg_more.py.
for _p in ("fro", "nuc", 1, -1, math.inf, -math.inf):
    PROGRAMS[f"cond_{_p}"] = (lambda L, a, p=_p: L.linalg.cond(a, p), [A33], False)


def _run(lib, fn, arrays, dtype, grad):
    ts = []
    for a in arrays:
        if a.dtype.kind == "f":
            t = lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=grad)
        else:
            t = lib.tensor(a)
        ts.append(t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (PyTorch's deprecation warnings)
        out = fn(lib, *ts)
    return ts, out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_linalg_more_matches_torch(name, dtype):
    fn, arrays, diff = PROGRAMS[name]
    t_in, t_out = _run(torch, fn, arrays, dtype, diff)
    c_in, c_out = _run(tinyconv, fn, arrays, dtype, diff)
    assert len(t_out) == len(c_out)
    fields_t = getattr(t_out, "_fields", None)
    assert fields_t is None or tuple(fields_t) == tuple(getattr(c_out, "_fields", fields_t))
    tol = 1e-9 if dtype == "float64" else 2e-4
    for t, c in zip(t_out, c_out, strict=True):
        assert tuple(t.shape) == tuple(c.shape), name
        assert str(t.dtype).split(".")[1] == str(c.dtype).split(".")[1], name
        assert t.requires_grad == c.requires_grad, name
        if t.grad_fn is not None:
            assert type(t.grad_fn).__name__ == c.grad_fn.name(), name
        np.testing.assert_allclose(
            c.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol, err_msg=name
        )
    if not diff:
        return
    weights = [np.cos(np.arange(t.numel()) + 1.0).reshape(tuple(t.shape)) for t in t_out]
    loss_t = sum(
        (t * torch.tensor(w, dtype=t.dtype)).sum()
        for t, w in zip(t_out, weights, strict=True)
        if t.requires_grad
    )
    loss_c = sum(
        (c * tinyconv.tensor(w, dtype=c.dtype)).sum()
        for c, w in zip(c_out, weights, strict=True)
        if c.requires_grad
    )
    grads_t = torch.autograd.grad(loss_t, [t for t in t_in if t.requires_grad], allow_unused=True)
    grads_c = tinyconv.autograd.grad(
        loss_c, [c for c in c_in if c.requires_grad], allow_unused=True
    )
    for gt, gc in zip(grads_t, grads_c, strict=True):
        assert (gt is None) == (gc is None), name
        if gt is not None:
            assert str(gt.dtype).split(".")[1] == str(gc.dtype).split(".")[1]
            np.testing.assert_allclose(
                gc.numpy(), gt.numpy(), rtol=10 * tol, atol=10 * tol, err_msg=name
            )


def test_named_results_print_like_torch():
    a = np.eye(2)
    for fn in (
        lambda L: L.linalg.lstsq(L.tensor(a), L.tensor(a)),
        lambda L: L.linalg.lu_factor(L.tensor(a)),
        lambda L: L.linalg.lu_factor_ex(L.tensor(a)),
        lambda L: L.linalg.lu(L.tensor(a)),
        lambda L: L.linalg.inv_ex(L.tensor(a)),
        lambda L: L.linalg.solve_ex(L.tensor(a), L.tensor(a)),
        lambda L: L.linalg.cholesky_ex(L.tensor(a)),
        lambda L: L.lu_unpack(*L.linalg.lu_factor(L.tensor(a))),
        lambda L: L.triangular_solve(L.tensor(a), L.tensor(a)),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rt, rc = fn(torch), fn(tinyconv)
        head_t = repr(rt).split("(")[0].replace("torch.", "")
        head_c = repr(rc).split("(")[0].replace("tinyconv.", "")
        assert head_t == head_c
        assert rt._fields == rc._fields if hasattr(rt, "_fields") else True
        assert [f for f in dir(rt) if f in ("solution", "LU", "P", "info", "L", "result")] == [
            f for f in dir(rc) if f in ("solution", "LU", "P", "info", "L", "result")
        ]


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.linalg.pinv(L.ones(2, 2, dtype=L.int64)),
        lambda L: L.linalg.multi_dot([L.ones(2, 3)]),
        lambda L: L.linalg.multi_dot([L.ones(2, 3), L.ones(2, 3)]),
        lambda L: L.linalg.lstsq(L.ones(2, 3), L.ones(3, 2)),
        lambda L: L.linalg.lstsq(L.ones(2, 3), L.ones(2, 2), driver="foo"),
        lambda L: L.linalg.solve_triangular(L.ones(2, 3), L.ones(2, 2), upper=True),
        lambda L: L.linalg.matrix_rank(L.ones(2, 2, dtype=L.int64)),
        lambda L: L.linalg.vecdot(L.tensor([1, 2]), L.tensor([3, 4])),
        lambda L: L.linalg.cond(L.ones(2, 3), 1),
        lambda L: L.linalg.inv_ex(L.tensor([[1.0, 2.0], [2.0, 4.0]]), check_errors=True),
        lambda L: L.linalg.cholesky_ex(L.tensor([[1.0, 2.0], [2.0, 1.0]]), check_errors=True),
        lambda L: L.linalg.lu_factor(L.ones(2, 2)),
        lambda L: L.linalg.lu_factor_ex(L.ones(2, 2), check_errors=True),
        lambda L: L.linalg.lu_factor(L.eye(2), pivot=False),
        lambda L: L.linalg.tensorinv(L.ones(2, 3), ind=1),
        lambda L: L.linalg.householder_product(L.ones(2, 3), L.ones(2)),
        lambda L: L.linalg.householder_product(L.ones(4, 3), L.ones(4)),
        lambda L: L.linalg.householder_product(L.ones(4, 3), L.ones(2, 1)),
    ],
)
def test_errors_match_torch(call):
    with pytest.raises(Exception) as t_err:
        call(torch)
    with pytest.raises(Exception) as c_err:
        call(tinyconv)
    assert isinstance(c_err.value, RuntimeError) and isinstance(t_err.value, RuntimeError)
    t_linalg = isinstance(t_err.value, torch.linalg.LinAlgError)
    assert t_linalg == isinstance(c_err.value, tinyconv.linalg.LinAlgError)


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.linalg.lu_factor(L.zeros(0, 3)),
        lambda L: L.linalg.lu_factor(L.zeros(2, 0, 0)),
        lambda L: L.linalg.lu(L.zeros(3, 0)),
        lambda L: L.linalg.inv_ex(L.zeros(0, 0)),
        lambda L: L.linalg.cholesky_ex(L.zeros(2, 0, 0)),
        lambda L: L.linalg.solve_ex(L.zeros(0, 0), L.zeros(0, 2)),
        lambda L: L.linalg.lu_solve(*L.linalg.lu_factor(L.zeros(0, 0)), L.zeros(0, 2)),
        lambda L: L.linalg.cond(L.zeros(2, 0, 0), 1),
        lambda L: L.linalg.cond(L.zeros(2, 3, 0)),
        lambda L: L.linalg.lstsq(L.zeros(3, 0), L.zeros(3, 2), driver="gelsd"),
        lambda L: L.linalg.matrix_rank(L.zeros(2, 0, 3)),
        lambda L: L.cholesky_solve(L.zeros(0, 2), L.zeros(0, 0)),
        lambda L: L.triangular_solve(L.zeros(0, 2), L.zeros(0, 0)),
        lambda L: L.linalg.householder_product(L.zeros(3, 0), L.zeros(0)),
        lambda L: L.linalg.multi_dot([L.zeros(2, 0), L.zeros(0, 3)]),
    ],
)
def test_empty_matrices_match_torch(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rt, rc = call(torch), call(tinyconv)
    rt, rc = (rt, rc) if isinstance(rt, tuple) else ((rt,), (rc,))
    for t, c in zip(rt, rc, strict=True):
        assert tuple(t.shape) == tuple(c.shape)
        assert str(t.dtype).split(".")[1] == str(c.dtype).split(".")[1]
        np.testing.assert_array_equal(c.numpy(), t.numpy())
