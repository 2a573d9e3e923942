"""Linear-algebra engine ops on batches of square matrices (..., n, n): inverse, determinant,
log-determinant, solve, matrix exponential. Forward is NumPy's LAPACK (the exponential: a Pade
approximant); the backwards are the standard matrix calculus identities (for A = X^-1 the
differential dX = -X dA X, and so on), each written once with NumPy arrays and once with the
same ops for double backward.

Singular input raises LinAlgError (a RuntimeError), as PyTorch's linalg functions do; det of
a singular matrix is 0, and a gradient through it raises (see Det).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._dtype import dtype_name
from .ops import Cat, Op, _const


class LinAlgError(RuntimeError):
    """A singular (or otherwise unsuitable) matrix, as torch.linalg.LinAlgError."""


def _mT(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _mT_graph(a):
    return a.transpose(-2, -1)


def _check_invertible(a: np.ndarray, what: str) -> None:
    """LAPACK may return huge values instead of failing for an exactly singular matrix;
    PyTorch reports it (LU finds a zero pivot), so tinyconv checks the same way: the matrix
    rank through its singular values."""
    if a.size == 0:
        return
    s = np.linalg.svd(a, compute_uv=False)
    if np.any(s[..., -1] == 0) or not np.all(np.isfinite(s)):
        raise LinAlgError(
            f"{what}: the input matrix is singular (or not finite), so it has no inverse"
        )


def check_square(a: Any, what: str) -> Any:
    """A floating tensor of (batches of) square matrices."""
    if not hasattr(a, "_data"):  # (a Tensor)
        raise TypeError(f"{what}: A must be a Tensor, got {type(a).__name__}")
    if a.ndim < 2:
        raise RuntimeError(f"{what}: A must have at least 2 dimensions, got shape {tuple(a.shape)}")
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            f"{what}: A must be batches of square matrices, but they are "
            f"{a.shape[-2]} by {a.shape[-1]} matrices"
        )
    if a.dtype.kind != "f":
        raise RuntimeError(
            f"{what}: expected a floating point tensor as input, got {dtype_name(a.dtype)}"
        )
    return a


def check_matrices(a: Any, what: str) -> Any:
    """A float32 or float64 tensor of (batches of) matrices (..., m, n)."""
    if not hasattr(a, "_data"):  # (a Tensor)
        raise TypeError(f"{what}: A must be a Tensor, got {type(a).__name__}")
    if a.ndim < 2:
        raise RuntimeError(f"{what}: A must have at least 2 dimensions, got shape {tuple(a.shape)}")
    if a.dtype.kind != "f" or a.dtype == np.float16:
        raise RuntimeError(
            f"{what}: expected a float32 or float64 input, got {dtype_name(a.dtype)}"
        )
    return a


class Inv(Op):
    """X = A^-1. dX = -X dA X, so grad_A = -X^T grad X^T."""

    torch_name = "LinalgInvExBackward0"

    @staticmethod
    def forward(ctx, a):
        try:
            out = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise LinAlgError("linalg.inv: the input matrix is singular") from None
        _check_invertible(a, "linalg.inv")
        out = out.astype(a.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        xt = _mT(x)
        return -(xt @ grad @ xt)

    @staticmethod
    def graph_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        xt = _mT_graph(x)
        return -(xt.matmul(grad).matmul(xt))


# Higham's (2005) scaling and squaring with the [13/13] Pade approximant: scale A by 2^-s until
# ||A||_1 <= theta_13, where the approximant is accurate to double precision, then square s times
_PADE13 = (
    64764752532480000.0,
    32382376266240000.0,
    7771770303897600.0,
    1187353796428800.0,
    129060195264000.0,
    10559470521600.0,
    670442572800.0,
    33522128640.0,
    1323241920.0,
    40840800.0,
    960960.0,
    16380.0,
    182.0,
    1.0,
)
_THETA13 = 5.371920351148152


def _expm(a: np.ndarray) -> np.ndarray:
    """e^A for each (..., n, n) matrix, computed in float64 and returned in a's dtype."""
    x = a.astype(np.float64)
    if x.size == 0:
        return x.astype(a.dtype)
    norm = float(np.abs(x).sum(axis=-2).max())  # the largest 1-norm in the batch
    if not np.isfinite(norm):
        return np.full(a.shape, np.nan, a.dtype)
    s = max(0, math.ceil(math.log2(norm / _THETA13))) if norm > 0 else 0
    x = x / 2.0**s
    b = _PADE13
    eye = np.broadcast_to(np.eye(x.shape[-1]), x.shape)
    x2 = x @ x
    x4 = x2 @ x2
    x6 = x4 @ x2
    u = x @ (
        x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2) + b[7] * x6 + b[5] * x4 + b[3] * x2 + b[1] * eye
    )
    v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2 + b[0] * eye
    r = np.linalg.solve(v - u, v + u)
    for _ in range(s):
        r = r @ r
    return r.astype(a.dtype)


class MatrixExp(Op):
    """e^A. Its derivative in direction E is the top-right block of exp([[A, E], [0, A]])
    (Mathias 1996), so grad_A, the adjoint, is that block of exp([[A^T, grad], [0, A^T]])."""

    torch_name = "LinalgMatrixExpBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _expm(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        n = a.shape[-1]
        at = _mT(a)
        top = np.concatenate([at, grad.astype(a.dtype)], axis=-1)
        bottom = np.concatenate([np.zeros_like(at), at], axis=-1)
        return _expm(np.concatenate([top, bottom], axis=-2))[..., :n, n:]

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        n = a.shape[-1]
        at = _mT_graph(a)
        top = Cat.apply(-1, at, grad)
        bottom = Cat.apply(-1, at.new_zeros(tuple(at.shape)), at)
        return MatrixExp.apply(Cat.apply(-2, top, bottom))[..., :n, n:]


class Det(Op):
    """det(A). d det = det(A) tr(A^-1 dA), so grad_A = grad * det(A) A^-T.

    At an exactly singular A (det = 0) the gradient is the transposed adjugate, but PyTorch
    2.13 returns zeros there; rather than give a different number, backward raises."""

    torch_name = "LinalgDetBackward0"

    @staticmethod
    def forward(ctx, a):
        out = np.asarray(np.linalg.det(a)).astype(a.dtype, copy=False)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def _check(out: np.ndarray) -> None:
        if np.any(out == 0):
            raise RuntimeError(
                "linalg.det: backward through an exactly singular matrix (det = 0) is refused: "
                "PyTorch returns a zero gradient there, the true one is the adjugate"
            )

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        Det._check(out)
        g = (grad * out)[..., None, None]
        return (g * _mT(np.linalg.inv(a))).astype(a.dtype, copy=False)

    @staticmethod
    def graph_backward(ctx, grad):
        a, out = ctx.saved_tensors
        Det._check(out._data)
        g = (grad * out).unsqueeze(-1).unsqueeze(-1)
        return g * _mT_graph(Inv.apply(a))


class Slogdet(Op):
    """(sign, log|det A|). d log|det A| = tr(A^-1 dA): grad_A = grad * A^-T. The sign is
    piecewise constant: no gradient (PyTorch's too)."""

    torch_name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx, a):
        sign, logabs = np.linalg.slogdet(a)
        ctx.save_for_backward(a)
        ctx.sign = np.asarray(sign).astype(a.dtype, copy=False)
        return np.asarray(logabs).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        try:
            inv_t = _mT(np.linalg.inv(a))
        except np.linalg.LinAlgError:  # singular: log|det| = -inf, gradient inf/nan
            inv_t = np.full_like(a, np.nan)
        return (grad[..., None, None] * inv_t).astype(a.dtype, copy=False)

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad.unsqueeze(-1).unsqueeze(-1) * _mT_graph(Inv.apply(a))


class SlogdetSign(Op):
    """The sign of det A (0 for a singular A): piecewise constant, so its gradient is zero,
    but (as PyTorch's) it is an output of the graph that requires grad."""

    torch_name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.shape = a.shape
        return np.sign(np.asarray(np.linalg.det(a))).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return np.zeros(ctx.shape, grad.dtype)

    @staticmethod
    def graph_backward(ctx, grad):
        return _const(np.zeros(ctx.shape, grad._data.dtype))


class Solve(Op):
    """X = A^-1 B (A: (..., n, n), B: (..., n, k), equal batch dims).
    grad_B = A^-T grad_X, grad_A = -grad_B X^T."""

    torch_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, a, b):
        try:
            out = np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            raise LinAlgError("linalg.solve: the input matrix A is singular") from None
        _check_invertible(a, "linalg.solve")
        out = out.astype(np.result_type(a, b), copy=False)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        gb = np.linalg.solve(_mT(a), grad)
        ga = -(gb @ _mT(x)) if ctx.needs_input_grad[0] else None
        return ga, gb if ctx.needs_input_grad[1] else None

    @staticmethod
    def graph_backward(ctx, grad):
        a, x = ctx.saved_tensors
        gb = Solve.apply(_mT_graph(a), grad)
        ga = -(gb.matmul(_mT_graph(x))) if ctx.needs_input_grad[0] else None
        return ga, gb if ctx.needs_input_grad[1] else None


def _phi(x):
    """The lower triangle with its diagonal halved (arrays or Tensors)."""
    if isinstance(x, np.ndarray):
        return np.tril(x) - 0.5 * np.eye(x.shape[-1], dtype=x.dtype) * x
    return x.tril() - x * _const(0.5 * np.eye(x.shape[-1], dtype=x._data.dtype))


class Cholesky(Op):
    """L with A = L L^T, L lower triangular (A symmetric positive definite; only its lower
    triangle is read, as LAPACK and PyTorch do).

    From dA = dL L^T + L dL^T, L^-1 dA L^-T = (L^-1 dL) + (L^-1 dL)^T with L^-1 dL lower
    triangular; the standard result (Murray 2016): S = L^-T Phi(L^T grad_L) L^-1 and
    grad_A = (S + S^T) / 2, Phi the lower triangle with the diagonal halved.
    """

    torch_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, a):
        try:
            out = np.linalg.cholesky(np.tril(a) + _mT(np.tril(a, -1)))
        except np.linalg.LinAlgError:
            raise LinAlgError(
                "linalg.cholesky: the input is not positive-definite, so the factorization "
                "could not be completed"
            ) from None
        out = out.astype(a.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (lo,) = ctx.saved_tensors
        inv = np.linalg.inv(lo)
        s = _mT(inv) @ _phi(_mT(lo) @ grad) @ inv
        return (0.5 * (s + _mT(s))).astype(lo.dtype, copy=False)

    @staticmethod
    def graph_backward(ctx, grad):
        (lo,) = ctx.saved_tensors
        inv = Inv.apply(lo)
        s = _mT_graph(inv).matmul(_phi(_mT_graph(lo).matmul(grad))).matmul(inv)
        return (s + _mT_graph(s)) * 0.5


# -- eigh: the symmetric eigendecomposition, as two ops (values, vectors) --------------------
# A = V diag(w) V^T. With dA symmetric: dw = diag(V^T dA V) and
# dV = V (F o (V^T dA V)), F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it. So the gradient
# from the values is V diag(grad_w) V^T and the one from the vectors V (F o (V^T grad_V)) V^T,
# made symmetric (the input is taken as symmetric). The two outputs are two ops (each runs
# LAPACK's eigh); their gradients add up to the gradient of the pair. Repeated eigenvalues
# make F infinite, as in PyTorch: the vectors are not differentiable there.


def _eigh(a: np.ndarray, uplo: str) -> tuple:
    w, v = np.linalg.eigh(a, UPLO=uplo)
    return w.astype(a.dtype, copy=False), v.astype(a.dtype, copy=False)


def _sym(g):
    return (g + (_mT(g) if isinstance(g, np.ndarray) else _mT_graph(g))) * 0.5


class EighValues(Op):
    torch_name = "LinalgEighBackward0"

    @staticmethod
    def forward(ctx, a, uplo):
        w, v = _eigh(a, uplo)
        ctx.save_for_backward(a)
        ctx.v, ctx.uplo = v, uplo
        return w

    @staticmethod
    def backward(ctx, grad):
        v = ctx.v
        return (v * grad[..., None, :]) @ _mT(v), None

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        v = EighVectors.apply(a, ctx.uplo)
        return (v * grad.unsqueeze(-2)).matmul(_mT_graph(v)), None


class EighVectors(Op):
    torch_name = "LinalgEighBackward0"

    @staticmethod
    def forward(ctx, a, uplo):
        w, v = _eigh(a, uplo)
        ctx.save_for_backward(a)
        ctx.w, ctx.v, ctx.uplo = w, v, uplo
        return v

    @staticmethod
    def backward(ctx, grad):
        w, v = ctx.w, ctx.v
        n = w.shape[-1]
        off = ~np.eye(n, dtype=bool)
        f = np.where(off, 1 / (w[..., None, :] - w[..., :, None]), 0)
        return _sym(v @ (f * (_mT(v) @ grad)) @ _mT(v)).astype(v.dtype, copy=False), None

    @staticmethod
    def graph_backward(ctx, grad):
        (a,) = ctx.saved_tensors
        w = EighValues.apply(a, ctx.uplo)
        v = EighVectors.apply(a, ctx.uplo)
        n = ctx.w.shape[-1]
        eye = np.eye(n, dtype=bool)
        gap = w.unsqueeze(-2) - w.unsqueeze(-1) + _const(np.eye(n, dtype=ctx.w.dtype))
        f = gap.reciprocal() * _const((~eye).astype(ctx.w.dtype))  # (1 on the diagonal: finite)
        vt = _mT_graph(v)
        return _sym(v.matmul(f * vt.matmul(grad)).matmul(vt)), None


class Svdvals(Op):
    """The singular values of A (..., m, n), descending: S with A = U diag(S) V^T.

    dS = diag(U^T dA V), so grad_A = U diag(grad) V^T. For double backward the same gradient
    is written through the smaller Gram matrix G (A^T A when m >= n, else A A^T), whose
    eigenvalues are S^2: grad_A = A (V diag(grad / S) V^T) (or its mirror), which equals
    U diag(grad) V^T wherever S > 0 and whose V is sign-free (V diag V^T)."""

    torch_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, a):
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        ctx.save_for_backward(a, s)
        ctx.u, ctx.vt = u.astype(a.dtype, copy=False), vt.astype(a.dtype, copy=False)
        return s.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return (ctx.u * grad[..., None, :]) @ ctx.vt

    @staticmethod
    def graph_backward(ctx, grad):
        a, s = ctx.saved_tensors
        m, n = a._data.shape[-2:]
        tall = m >= n
        gram = _mT_graph(a).matmul(a) if tall else a.matmul(_mT_graph(a))
        v = EighVectors.apply(gram, "L")  # ascending eigenvalues: S^2 reversed
        k = min(m, n)
        rev = np.arange(k - 1, -1, -1)
        scaled = (grad / s).index_select(-1, _const(rev)) if k else grad  # in v's column order
        inner = (v * scaled.unsqueeze(-2)).matmul(_mT_graph(v))
        return a.matmul(inner) if tall else inner.matmul(a)


# -- QR and SVD backward maths, written once for arrays (backward) and graph Tensors
# (graph_backward, for double backward): `_ArrayMath` / `_GraphMath` supply the few operations
# that are spelled differently; everything else (@, *, /, slicing) is common to both.


class _ArrayMath:
    T = staticmethod(_mT)
    solve = staticmethod(np.linalg.solve)

    @staticmethod
    def trisolve(a, b, upper, left, unit):  # (defined below, with SolveTriangular)
        return _trisolve(a, b, upper, left, unit)

    @staticmethod
    def cat(xs, dim):
        return np.concatenate(xs, axis=dim)

    @staticmethod
    def take_rows(x, idx):  # x[..., idx[..., i], :] per batch
        return np.take_along_axis(x, idx[..., :, None], axis=-2)

    @staticmethod
    def const(a):
        return a

    @staticmethod
    def tril(x, k=0):
        return np.tril(x, k)

    @staticmethod
    def row(s):  # (..., k) -> (..., 1, k): multiplies columns
        return s[..., None, :]

    @staticmethod
    def col(s):  # (..., k) -> (..., k, 1): multiplies rows
        return s[..., :, None]


class _GraphMath:
    T = staticmethod(_mT_graph)
    const = staticmethod(_const)

    @staticmethod
    def solve(a, b):
        return Solve.apply(a, b)

    @staticmethod
    def trisolve(a, b, upper, left, unit):
        return SolveTriangular.apply(a, b, upper, left, unit)

    @staticmethod
    def cat(xs, dim):
        return Cat.apply(dim, *xs)

    @staticmethod
    def take_rows(x, idx):
        full = np.broadcast_to(idx[..., :, None], tuple(x.shape)).astype(np.int64)
        return x.gather(-2, _const(full))

    @staticmethod
    def tril(x, k=0):
        return x.tril(k)

    @staticmethod
    def row(s):
        return s.unsqueeze(-2)

    @staticmethod
    def col(s):
        return s.unsqueeze(-1)


def _math(x: Any) -> Any:
    return _ArrayMath if isinstance(x, np.ndarray) else _GraphMath


def _dtype_of(x: Any) -> np.dtype:
    return x.dtype if isinstance(x, np.ndarray) else x._data.dtype


# -- qr: A = Q R, Q with orthonormal columns, R upper triangular (LAPACK's Householder signs,
# the same in NumPy and PyTorch). m >= n (Q m x n, R n x n): from dA = dQ R + Q dR with Q^T dQ
# antisymmetric and dR R^-1 upper triangular, the standard result (Walter & Lehmann 2018;
# Liao et al. 2019) is
#     M = R grad_R^T - grad_Q^T Q,   grad_A = (grad_Q + Q copyltu(M)) R^-T,
# copyltu(M) the symmetric matrix whose lower triangle is M's. m < n (Q m x m, R = [U | V]):
# A = [X | Y] with X = Q U a square QR and V = Q^T Y, so grad_Y = Q grad_V and X's gradient is
# the square one with grad_Q + Y grad_V^T for grad_Q. R^-1 needs A of full rank (as in
# PyTorch), and mode='complete' with m > n is not differentiable (Q's extra columns are any
# basis of the complement), which backward refuses as PyTorch does.


def _copyltu(M: Any, xm: Any) -> Any:
    low = xm.tril(M, -1)
    return low + xm.T(low) + M * xm.const(np.eye(M.shape[-1], dtype=_dtype_of(M)))


def _qr_backward(q: Any, r: Any, gq: Any, gr: Any) -> Any:
    """grad_A from grad_Q and grad_R (either may be None), for reduced Q and R."""
    xm = _math(q)
    m, n = q.shape[-2], r.shape[-1]
    if m >= n:
        mm = 0
        if gr is not None:
            mm = r @ xm.T(gr)
        if gq is not None:
            mm = mm - xm.T(gq) @ q
        b = q @ _copyltu(mm, xm)
        if gq is not None:
            b = b + gq
        return xm.T(xm.solve(r, xm.T(b)))  # b R^-T
    # m < n: X's and Y's gradients placed side by side by constant [I 0] and [0 I] (n columns)
    dt = _dtype_of(q)
    gq_x, gx_r, out = gq, None, 0
    if gr is not None:
        gx_r, gy_r = gr[..., :, :m], gr[..., :, m:]
        extra = (q @ r[..., :, m:]) @ xm.T(gy_r)  # Y grad_V^T
        gq_x = extra if gq is None else gq + extra
        out = (q @ gy_r) @ xm.const(np.eye(n - m, n, k=m, dtype=dt))
    gx = _qr_backward(q, r[..., :, :m], gq_x, gx_r)
    return gx @ xm.const(np.eye(m, n, dtype=dt)) + out


def _qr(a: np.ndarray, mode: str) -> tuple:
    q, r = np.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
    return q.astype(a.dtype, copy=False), r.astype(a.dtype, copy=False)


def _check_qr_grad(mode: str, shape: tuple) -> None:
    if mode == "r":
        raise RuntimeError(
            "linalg.qr: backward needs Q, which mode='r' does not compute; use "
            "mode='reduced' to differentiate through linalg.qr"
        )
    if mode == "complete" and shape[-2] > shape[-1]:
        raise RuntimeError(
            f"linalg.qr: mode='complete' with more rows than columns (A is {shape[-2]} x "
            f"{shape[-1]}) is not differentiable: Q's last {shape[-2] - shape[-1]} columns are "
            "any orthonormal basis of the complement"
        )


class _QrPart:
    """One output of linalg.qr (Q: QrQ, R: QrR); each runs LAPACK's QR, and their gradients
    add up to the gradient of the pair (the formula is linear in grad_Q and grad_R). A mixin:
    the ops are the two subclasses below."""

    torch_name = "LinalgQrBackward0"
    next_functions_count = 1
    which = 0

    @classmethod
    def forward(cls, ctx, a, mode):
        if mode == "r":
            r = np.linalg.qr(a, mode="r").astype(a.dtype, copy=False)
            out = np.empty((0,), a.dtype) if cls.which == 0 else r
        else:
            q, r = _qr(a, mode)
            ctx.q, ctx.r = q, r
            out = (q, r)[cls.which]
        ctx.save_for_backward(a)
        ctx.mode = mode
        return out

    @classmethod
    def backward(cls, ctx, grad):
        (a,) = ctx.saved_tensors
        _check_qr_grad(ctx.mode, a.shape)
        q, r = ctx.q, ctx.r
        gq, gr = (grad, None) if cls.which == 0 else (None, grad)
        return _qr_backward(q, r, gq, gr).astype(a.dtype, copy=False), None

    @classmethod
    def graph_backward(cls, ctx, grad):
        (a,) = ctx.saved_tensors
        _check_qr_grad(ctx.mode, a._data.shape)
        q, r = QrQ.apply(a, ctx.mode), QrR.apply(a, ctx.mode)
        gq, gr = (grad, None) if cls.which == 0 else (None, grad)
        return _qr_backward(q, r, gq, gr), None


class QrQ(_QrPart, Op):
    which = 0


class QrR(_QrPart, Op):
    which = 1


# -- svd: A = U diag(S) V^T (..., m, n), k = min(m, n), S descending. With dA = dU S V^T +
# U dS V^T + U S dV^T, U^T dU and V^T dV antisymmetric, the standard result (Townsend 2016) is
#     grad_A = U [ (F o (U^T gU - gU^T U)) S + diag(gS) + S (F o (V^T gV - gV^T V)) ] V^T
#              + (I - U U^T) gU S^-1 V^T + U S^-1 gV^T (I - V V^T),
# F_ij = 1 / (s_j^2 - s_i^2) off the diagonal, 0 on it. Repeated singular values make F
# infinite and a zero one makes S^-1 so: the vectors are not differentiable there, and the
# gradient is inf or nan, as in PyTorch (whose docs say the same). With full_matrices=True the
# extra columns of U (rows of Vh) are any basis of the complement: their gradients are ignored,
# as PyTorch documents. Each output is its own op (each runs LAPACK's SVD, deterministic, so
# the three agree on signs); the formula is linear in (gU, gS, gV), so their gradients add up.


def _svd_backward(u: Any, s: Any, vh: Any, gu: Any, gvh: Any) -> Any:
    """grad_A from grad_U (m x k) or grad_Vh (k x n), for the reduced factors."""
    xm = _math(u)
    k = s.shape[-1]
    eye = xm.const(np.eye(k, dtype=_dtype_of(s)))
    s2 = s * s
    f = (1 / (xm.row(s2) - xm.col(s2) + eye)) * (1 - eye)  # (eye: finite on the diagonal)
    if gu is not None:
        ut_gu = xm.T(u) @ gu
        inner = (f * (ut_gu - xm.T(ut_gu))) * xm.row(s)
        rest = ((gu - u @ ut_gu) / xm.row(s)) @ vh
    else:
        vt_gv = vh @ xm.T(gvh)
        inner = xm.col(s) * (f * (vt_gv - xm.T(vt_gv)))
        rest = (u / xm.row(s)) @ (gvh - (gvh @ xm.T(vh)) @ vh)
    return u @ inner @ vh + rest


def _svd(a: np.ndarray, full: bool) -> tuple:
    u, s, vh = np.linalg.svd(a, full_matrices=full)
    return tuple(x.astype(a.dtype, copy=False) for x in (u, s, vh))


class _SvdVectors:
    """U (SvdU) or Vh (SvdVh) of linalg.svd (a mixin: the ops are the two subclasses)."""

    torch_name = "LinalgSvdBackward0"
    next_functions_count = 1
    which = 0

    @classmethod
    def forward(cls, ctx, a, full):
        u, s, vh = _svd(a, full)
        k = s.shape[-1]
        ctx.save_for_backward(a)
        ctx.u, ctx.s, ctx.vh, ctx.k = u[..., :, :k], s, vh[..., :k, :], k
        return (u, vh)[cls.which]

    @classmethod
    def backward(cls, ctx, grad):
        k = ctx.k
        if cls.which == 0:
            g = _svd_backward(ctx.u, ctx.s, ctx.vh, grad[..., :, :k], None)
        else:
            g = _svd_backward(ctx.u, ctx.s, ctx.vh, None, grad[..., :k, :])
        return g.astype(ctx.s.dtype, copy=False), None

    @classmethod
    def graph_backward(cls, ctx, grad):
        (a,) = ctx.saved_tensors
        k = ctx.k
        u, s, vh = SvdU.apply(a, False), Svdvals.apply(a), SvdVh.apply(a, False)
        if cls.which == 0:
            return _svd_backward(u, s, vh, grad[..., :, :k], None), None
        return _svd_backward(u, s, vh, None, grad[..., :k, :]), None


class SvdU(_SvdVectors, Op):
    which = 0


class SvdVh(_SvdVectors, Op):
    which = 1


# -- pinv: the Moore-Penrose pseudo-inverse P = A^+ (..., n, m) of A (..., m, n) ----------------
# P = V diag(1/s) U^T over the singular values above the cut-off, the others taken as zero (for
# hermitian=True: from eigh, over the eigenvalues w with |w| above it). Where the rank stays
# constant, the differential (Golub & Pereyra 1973) is
#     dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P,
# so grad_A = -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A); with P = A^-1 the last
# two terms vanish and it is the inverse's gradient.


def pinv_cutoff(s_max: np.ndarray, atol: Any, rtol: Any, m: int, n: int, dtype: Any) -> Any:
    """The singular-value cut-off max(atol, rtol * s_max) of linalg.pinv / matrix_rank: rtol
    defaults to eps * max(m, n) when atol is not given (or zero), else to 0 (PyTorch's rule).
    atol and rtol may be numbers or arrays broadcasting with the batch shape."""
    if rtol is None:
        given = atol is not None and np.any(np.asarray(atol) > 0)
        rtol = 0.0 if given else np.finfo(dtype).eps * max(m, n)
    atol = 0.0 if atol is None else atol
    return np.maximum(np.asarray(atol, dtype), np.asarray(rtol, dtype) * s_max)


def _pinv(a: np.ndarray, atol: Any, rtol: Any, hermitian: bool) -> np.ndarray:
    m, n = a.shape[-2:]
    if a.size == 0:
        return np.zeros(a.shape[:-2] + (n, m), a.dtype)
    if hermitian:
        w, v = _eigh(a, "L")
        cut = pinv_cutoff(np.abs(w).max(-1), atol, rtol, m, n, a.dtype)[..., None]
        w_inv = np.where(np.abs(w) > cut, 1 / w, 0).astype(a.dtype, copy=False)
        return (v * w_inv[..., None, :]) @ _mT(v)
    u, s, vh = _svd(a, False)
    cut = pinv_cutoff(s[..., 0], atol, rtol, m, n, a.dtype)[..., None]
    s_inv = np.where(s > cut, 1 / s, 0).astype(a.dtype, copy=False)
    return (_mT(vh) * s_inv[..., None, :]) @ _mT(u)


def _pinv_backward(a: Any, p: Any, g: Any) -> Any:
    """grad_A of P = A^+ from grad_P (arrays, or graph Tensors for double backward)."""
    xm = _math(a)
    pt, gt = xm.T(p), xm.T(g)
    ppt, ptp = p @ pt, pt @ p  # (n, n), (m, m)
    gt_ppt, ptp_gt = gt @ ppt, ptp @ gt  # both (m, n)
    return -(pt @ g @ pt) + (gt_ppt - a @ (p @ gt_ppt)) + (ptp_gt - (ptp_gt @ p) @ a)


class Pinv(Op):
    """P = A^+ (see the block above); atol / rtol / hermitian are constants."""

    torch_name = "LinalgPinvBackward0"

    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian):
        out = _pinv(a, atol, rtol, hermitian)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, p = ctx.saved_tensors
        return _pinv_backward(a, p, grad).astype(a.dtype, copy=False), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        a, p = ctx.saved_tensors
        return _pinv_backward(a, p, grad), None, None, None


class LstsqSolution(Op):
    """X = A^+ B, linalg.lstsq's (minimum-norm) solution, with rcond as A^+'s relative cut-off.
    dX = dP B + P dB: grad_B = P^T G and grad_A is pinv's gradient for grad_P = G B^T."""

    torch_name = "LinalgLstsqBackward0"

    @staticmethod
    def forward(ctx, a, b, rcond):
        p = _pinv(a, None, rcond, False)
        ctx.save_for_backward(a, b)
        ctx.p, ctx.rcond = p, rcond
        return p @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        p = ctx.p
        ga = _pinv_backward(a, p, grad @ _mT(b)) if ctx.needs_input_grad[0] else None
        gb = _mT(p) @ grad if ctx.needs_input_grad[1] else None
        return ga, gb, None

    @staticmethod
    def graph_backward(ctx, grad):
        a, b = ctx.saved_tensors
        p = Pinv.apply(a, None, ctx.rcond, False)
        ga = _pinv_backward(a, p, grad.matmul(_mT_graph(b))) if ctx.needs_input_grad[0] else None
        gb = _mT_graph(p).matmul(grad) if ctx.needs_input_grad[1] else None
        return ga, gb, None


# -- solve_triangular: X with A X = B (left) or X A = B (right), A triangular. Forward is
# substitution, row by row over the whole batch, so a zero on A's diagonal gives inf / nan as
# in PyTorch (no error). Backward (left): grad_B = A^-T G (a triangular solve with A^T, the
# other triangle) and grad_A = -grad_B X^T, kept on A's triangle (strictly, when unitriangular:
# the diagonal is taken as ones, never read). Right: grad_B = G A^-T, grad_A = -X^T grad_B.


def triangle_of(a: np.ndarray, upper: bool, unit: bool) -> np.ndarray:
    """A's triangle as a matrix (unitriangular: ones on the diagonal)."""
    t = np.triu(a, 1 if unit else 0) if upper else np.tril(a, -1 if unit else 0)
    if unit:
        t = t + np.eye(a.shape[-1], dtype=a.dtype)
    return t


def _substitute(a: np.ndarray, b: np.ndarray, upper: bool, unit: bool) -> np.ndarray:
    """X with A X = B for triangular A (..., n, n), B (..., n, k), equal batch dims."""
    n = a.shape[-1]
    x = np.zeros(b.shape, np.result_type(a, b))
    with np.errstate(all="ignore"):
        for i in range(n - 1, -1, -1) if upper else range(n):
            done = slice(i + 1, n) if upper else slice(0, i)
            row = b[..., i, :] - np.einsum("...j,...jk->...k", a[..., i, done], x[..., done, :])
            x[..., i, :] = row if unit else row / a[..., i, i][..., None]
    return x


def _trisolve(a: np.ndarray, b: np.ndarray, upper: bool, left: bool, unit: bool) -> np.ndarray:
    if left:
        return _substitute(a, b, upper, unit)
    # X A = B  <=>  A^T X^T = B^T, A^T the other triangle
    return _mT(_substitute(_mT(a), _mT(b), not upper, unit))


def _mask_triangle(g: Any, upper: bool, unit: bool) -> Any:
    k = (1 if unit else 0) if upper else (-1 if unit else 0)
    if isinstance(g, np.ndarray):
        return np.triu(g, k) if upper else np.tril(g, k)
    return g.triu(k) if upper else g.tril(k)


class SolveTriangular(Op):
    """linalg.solve_triangular's X (see the block above); A and B have equal batch dims."""

    torch_name = "LinalgSolveTriangularBackward0"

    @staticmethod
    def forward(ctx, a, b, upper, left, unit):
        out = _trisolve(a, b, upper, left, unit)
        ctx.save_for_backward(a, out)
        ctx.flags = upper, left, unit
        return out

    @staticmethod
    def _grads(ctx, a, x, grad, solve, T):
        upper, left, unit = ctx.flags
        if left:
            gb = solve(T(a), grad, not upper, True, unit)
            ga = -(gb @ T(x))
        else:
            gb = solve(T(a), grad, not upper, False, unit)
            ga = -(T(x) @ gb)
        ga = _mask_triangle(ga, upper, unit) if ctx.needs_input_grad[0] else None
        return ga, gb if ctx.needs_input_grad[1] else None, None, None, None

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        return SolveTriangular._grads(ctx, a, x, grad, _trisolve, _mT)

    @staticmethod
    def graph_backward(ctx, grad):
        a, x = ctx.saved_tensors
        return SolveTriangular._grads(ctx, a, x, grad, SolveTriangular.apply, _mT_graph)


# -- LU with partial pivoting: A = P L U, A (..., m, n), k = min(m, n); L (m, k) unit lower
# triangular, U (k, n) upper triangular, packed in one (..., m, n) matrix as LAPACK's getrf
# does, with pivots (1-based, int32): row j was swapped with row pivots[j] at step j.


def lu_factor_array(a: np.ndarray) -> tuple:
    """(LU, pivots, info) of each matrix: info 0, or i >= 1 when U[i-1, i-1] is exactly zero
    (the first such; the factorization is still completed, as LAPACK's)."""
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.shape[:-2]
    nb = math.prod(batch)  # (not -1: a reshape cannot infer it when m or n is 0)
    lu = a.reshape((nb, m, n)).copy()
    piv = np.empty((nb, k), np.int32)
    info = np.zeros(nb, np.int32)
    rows = np.arange(nb)
    for j in range(k):
        # (argmax gives the first of equal magnitudes, as LAPACK's idamax)
        p = j + np.argmax(np.abs(lu[:, j:, j]), axis=1)
        piv[:, j] = p + 1
        top = lu[rows, j].copy()
        lu[rows, j] = lu[rows, p]
        lu[rows, p] = top
        pivot = lu[:, j, j]
        zero = pivot == 0
        info[zero & (info == 0)] = j + 1
        # a zero pivot leaves its column unscaled (LAPACK skips it), so no inf / nan appear
        scale = np.where(zero, 1, pivot)
        lu[:, j + 1 :, j] /= scale[:, None]
        lu[:, j + 1 :, j + 1 :] -= lu[:, j + 1 :, j : j + 1] * lu[:, j : j + 1, j + 1 :]
    return lu.reshape(a.shape), piv.reshape(batch + (k,)), info.reshape(batch)


def pivots_to_permutation(piv: np.ndarray, m: int) -> np.ndarray:
    """perm (..., m) with (P^T A)[i] = A[perm[i]], from 1-based LAPACK pivots (..., k)."""
    batch = piv.shape[:-1]
    nb = math.prod(batch)
    perm = np.broadcast_to(np.arange(m), batch + (m,)).reshape(nb, m).copy()
    flat = piv.reshape(nb, piv.shape[-1]).astype(np.int64) - 1
    rows = np.arange(perm.shape[0])
    for j in range(flat.shape[1]):
        other = flat[:, j]
        top = perm[rows, j].copy()
        perm[rows, j] = perm[rows, other]
        perm[rows, other] = top
    return perm.reshape(batch + (m,))


def check_pivots(pivots: Any, LU: Any, what: str) -> np.ndarray:
    """The array of LU's pivots: an int32 Tensor of shape LU.shape[:-2] + (min(m, n),) with
    entries in 1..m."""
    if not hasattr(pivots, "_data") or pivots.dtype != np.int32:
        got = dtype_name(pivots.dtype) if hasattr(pivots, "_data") else type(pivots).__name__
        raise RuntimeError(f"{what}: pivots must be an int32 Tensor, got {got}")
    k = min(LU.shape[-2:])
    if tuple(pivots.shape) != tuple(LU.shape[:-2]) + (k,):
        raise RuntimeError(
            f"{what}: pivots of shape {tuple(pivots.shape)} do not match LU of shape "
            f"{tuple(LU.shape)} (expected {tuple(LU.shape[:-2]) + (k,)})"
        )
    p = pivots._data
    if p.size and (p.min() < 1 or p.max() > LU.shape[-2]):
        raise RuntimeError(f"{what}: pivots must be between 1 and {LU.shape[-2]}")
    return p


def _lu_backward(lu: Any, perm: np.ndarray, g: Any) -> Any:
    """grad_A of the packed LU (A = P L U) from grad_LU (arrays or graph Tensors).

    Square: from L^-1 P^T dA U^-1 = L^-1 dL + dU U^-1 (strictly lower + upper),
        grad_A = P L^-T [tril_-1(L^T gL) + triu(gU U^T)] U^-T,
    gL = tril_-1(grad_LU), gU = triu(grad_LU). Wide (m < n, U = [U1 U2]): U2 = L^-1 P^T A2
    adds P L^-T gU2 for A2 and -L^-T gU2 U2^T to gL. Tall (m > n, L = [L1; L2]): L2 = A2 U^-1
    adds gL2 U^-T for A2 and -L2^T gL2 U^-T to gU."""
    xm = _math(lu)
    m, n = lu.shape[-2:]
    k = min(m, n)
    dt = _dtype_of(lu)
    gl, gu = xm.tril(g, -1), g - xm.tril(g, -1)
    sq = lu[..., :k, :k]
    L = xm.tril(sq, -1) + xm.const(np.eye(k, dtype=dt))
    U = sq - xm.tril(sq, -1)
    gl1, gu1 = gl[..., :, :k], gu[..., :k, :]
    extra = None
    if m < n:
        gu1, gu2 = gu[..., :, :k], gu[..., :, k:]
        lt_gu2 = xm.trisolve(xm.T(L), gu2, True, True, True)  # L^-T gU2
        phi_l = xm.tril(xm.T(L) @ gl1 - gu2 @ xm.T(lu[..., :, k:]), -1)
        phi_u = gu1 @ xm.T(U) - xm.tril(gu1 @ xm.T(U), -1)
        extra = ("right", lt_gu2)
    elif m > n:
        gl1, gl2 = gl[..., :k, :], gl[..., k:, :]
        l2 = lu[..., k:, :]
        gl2_ut = xm.trisolve(xm.T(U), gl2, False, False, False)  # gL2 U^-T
        phi_l = xm.tril(xm.T(L) @ gl1, -1)
        q = gu1 @ xm.T(U) - xm.T(l2) @ gl2
        phi_u = q - xm.tril(q, -1)
        extra = ("below", gl2_ut)
    else:
        phi_l = xm.tril(xm.T(L) @ gl1, -1)
        q = gu1 @ xm.T(U)
        phi_u = q - xm.tril(q, -1)
    phi = phi_l + phi_u
    ga = xm.trisolve(xm.T(U), xm.trisolve(xm.T(L), phi, True, True, True), False, False, False)
    if extra is not None and extra[0] == "right":
        ga = xm.cat([ga, extra[1]], -1)
    elif extra is not None:
        ga = xm.cat([ga, extra[1]], -2)
    # rows back from P^T A's order to A's: row perm[i] of grad_A is row i of ga
    inv = np.argsort(perm, axis=-1)
    return xm.take_rows(ga, inv)


class LuFactor(Op):
    """The packed LU of linalg.lu_factor (see above); pivots and info come with it as
    constants (ctx.piv, ctx.info)."""

    torch_name = "LinalgLuFactorExBackward0"

    @staticmethod
    def forward(ctx, a):
        lu, piv, info = lu_factor_array(a)
        ctx.save_for_backward(lu)
        ctx.piv, ctx.info = piv, info
        ctx.perm = pivots_to_permutation(piv, a.shape[-2])
        return lu

    @staticmethod
    def backward(ctx, grad):
        (lu,) = ctx.saved_tensors
        return _lu_backward(lu, ctx.perm, grad).astype(lu.dtype, copy=False)

    @staticmethod
    def graph_backward(ctx, grad):
        (lu,) = ctx.saved_tensors
        return _lu_backward(lu, ctx.perm, grad)


# -- cholesky_solve / cholesky_inverse: A = L L^T (upper: A = U^T U) given by its factor.
# X = A^-1 B: grad_B = A^-1 G, and with C = grad_B X^T, d<G, X> = -<C, dA>, so
# grad_L = -(C + C^T) L (grad_U = -U (C + C^T)). X = A^-1: grad_L = -X (G + G^T) X L. These
# are PyTorch's formulas: the factor's other triangle is never read by the forward, yet gets
# this (non-zero) gradient, as in PyTorch.


def _chol_solve(b: Any, f: Any, upper: bool) -> Any:
    """A^-1 B from A's Cholesky factor (arrays or graph Tensors), by two triangular solves."""
    xm = _math(f)
    if upper:  # U^T U X = B
        return xm.trisolve(f, xm.trisolve(xm.T(f), b, False, True, False), True, True, False)
    return xm.trisolve(xm.T(f), xm.trisolve(f, b, False, True, False), True, True, False)


class CholeskySolve(Op):
    """X = A^-1 B, A from its Cholesky factor (b and f have equal batch dims)."""

    torch_name = "CholeskySolveBackward0"

    @staticmethod
    def forward(ctx, b, f, upper):
        out = _chol_solve(b, f, upper)
        ctx.save_for_backward(f, out)
        ctx.upper = upper
        return out

    @staticmethod
    def _grads(ctx, f, x, grad, solve):
        xm = _math(f)
        gb = solve(grad, f, ctx.upper)
        gf = None
        if ctx.needs_input_grad[1]:
            c = gb @ xm.T(x)
            c = c + xm.T(c)
            gf = -(f @ c) if ctx.upper else -(c @ f)
        return gb if ctx.needs_input_grad[0] else None, gf, None

    @staticmethod
    def backward(ctx, grad):
        f, x = ctx.saved_tensors
        return CholeskySolve._grads(ctx, f, x, grad, _chol_solve)

    @staticmethod
    def graph_backward(ctx, grad):
        f, x = ctx.saved_tensors
        return CholeskySolve._grads(ctx, f, x, grad, CholeskySolve.apply)


class CholeskyInverse(Op):
    """X = A^-1 = (L L^T)^-1 (upper: (U^T U)^-1)."""

    torch_name = "CholeskyInverseBackward0"

    @staticmethod
    def forward(ctx, f, upper):
        eye = np.broadcast_to(np.eye(f.shape[-1], dtype=f.dtype), f.shape)
        out = _chol_solve(eye, f, upper)
        ctx.save_for_backward(f, out)
        ctx.upper = upper
        return out

    @staticmethod
    def backward(ctx, grad):
        f, x = ctx.saved_tensors
        xm = _math(f)
        inner = x @ (grad + xm.T(grad)) @ x
        return -(f @ inner) if ctx.upper else -(inner @ f), None

    graph_backward = backward


# -- the *_ex variants: a failed matrix is reported in `info` (PyTorch's LAPACK codes) instead
# of raising. PyTorch's result for such a matrix is whatever LAPACK left behind (inf, nan,
# a partial factor); tinyconv's is NaN throughout (a documented difference).


def _nan_where(out: np.ndarray, bad: np.ndarray) -> np.ndarray:
    if np.any(bad):
        out = out.copy()
        out[bad] = np.nan
    return out


def _with_good(a: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """a with the failed matrices replaced by identities (so LAPACK does not raise)."""
    if not np.any(bad):
        return a
    a = a.copy()
    a[bad] = np.eye(a.shape[-1], dtype=a.dtype)
    return a


class InvEx(Inv):
    """linalg.inv_ex's inverse: NaN where LU finds a zero pivot (info > 0)."""

    @staticmethod
    def forward(ctx, a):
        _, _, info = lu_factor_array(a)
        bad = info > 0
        out = np.linalg.inv(_with_good(a, bad)).astype(a.dtype, copy=False)
        out = _nan_where(out, bad)
        ctx.save_for_backward(out)
        ctx.info = info
        return out


class SolveEx(Solve):
    """linalg.solve_ex's X: NaN where LU of A finds a zero pivot (info > 0)."""

    @staticmethod
    def forward(ctx, a, b):
        _, _, info = lu_factor_array(a)
        bad = info > 0
        out = np.linalg.solve(_with_good(a, bad), b).astype(np.result_type(a, b), copy=False)
        out = _nan_where(out, bad)
        ctx.save_for_backward(a, out)
        ctx.info = info
        return out


def cholesky_info(a: np.ndarray) -> np.ndarray:
    """LAPACK's potrf info per matrix: 0, or the order of the first leading minor that is not
    positive-definite (only the lower triangle is read)."""
    sym = np.tril(a) + _mT(np.tril(a, -1))
    flat = sym.reshape((math.prod(sym.shape[:-2]),) + sym.shape[-2:])
    info = np.zeros(flat.shape[0], np.int32)
    try:
        np.linalg.cholesky(flat)
        return info.reshape(a.shape[:-2])
    except np.linalg.LinAlgError:
        pass
    for i, m in enumerate(flat):
        for k in range(1, m.shape[-1] + 1):
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                info[i] = k
                break
    return info.reshape(a.shape[:-2])


class CholeskyEx(Cholesky):
    """linalg.cholesky_ex's L: NaN where A is not positive-definite (info > 0)."""

    @staticmethod
    def forward(ctx, a):
        info = cholesky_info(a)
        bad = info > 0
        sym = np.tril(a) + _mT(np.tril(a, -1))
        out = np.linalg.cholesky(_with_good(sym, bad)).astype(a.dtype, copy=False)
        out = _nan_where(out, bad)
        ctx.save_for_backward(out)
        ctx.info = info
        return out
