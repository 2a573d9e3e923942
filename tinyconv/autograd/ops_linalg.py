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
        with np.errstate(all="ignore"):
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


def _substitute(a: np.ndarray, b: np.ndarray, upper: bool, unit: bool) -> np.ndarray:
    """X with A X = B for triangular A (..., n, n) and B (..., n, k) of the same batch shape:
    forward substitution (lower) or back substitution (upper), one row at a time as LAPACK's
    trsm does; only A's triangle is read, and with `unit` its diagonal is taken as ones."""
    n = a.shape[-1]
    x = np.zeros(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:], b.dtype)
    for i in range(n - 1, -1, -1) if upper else range(n):
        known = slice(i + 1, n) if upper else slice(0, i)
        row = b[..., i, :] - np.einsum("...j,...jk->...k", a[..., i, known], x[..., known, :])
        x[..., i, :] = row if unit else row / a[..., i, i, None]
    return x


class SolveTriangular(Op):
    """X = A^-1 B for triangular A (..., n, n) and B (..., n, k), equal batch dims.
    grad_B = A^-T grad_X (a triangular solve the other way up) and grad_A = -grad_B X^T,
    kept to A's triangle (strictly so when unitriangular: the rest of A is not read)."""

    torch_name = "LinalgSolveTriangularBackward0"

    @staticmethod
    def forward(ctx, a, b, upper, unitriangular):
        out = _substitute(a, b, upper, unitriangular).astype(np.result_type(a, b), copy=False)
        ctx.upper, ctx.unit = upper, unitriangular
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def _mask(g, upper, unit):
        k = (1 if unit else 0) if upper else (-1 if unit else 0)
        return g.triu(k) if upper else g.tril(k)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        gb = _substitute(_mT(a), grad, not ctx.upper, ctx.unit).astype(grad.dtype, copy=False)
        ga = None
        if ctx.needs_input_grad[0]:
            k = (1 if ctx.unit else 0) if ctx.upper else (-1 if ctx.unit else 0)
            full = -(gb @ _mT(x))
            ga = np.triu(full, k) if ctx.upper else np.tril(full, k)
        return ga, gb if ctx.needs_input_grad[1] else None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        a, x = ctx.saved_tensors
        gb = SolveTriangular.apply(_mT_graph(a), grad, not ctx.upper, ctx.unit)
        ga = None
        if ctx.needs_input_grad[0]:
            ga = SolveTriangular._mask(-(gb.matmul(_mT_graph(x))), ctx.upper, ctx.unit)
        return ga, gb if ctx.needs_input_grad[1] else None, None, None


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
        with np.errstate(divide="ignore", invalid="ignore"):
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
