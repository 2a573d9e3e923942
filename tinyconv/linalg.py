"""`tinyconv.linalg`, as torch.linalg: norms, inverse, determinants, solve and the
factorizations (cholesky, eigh, qr, svd) on (batches of) matrices. Functional layer:
argument checks here, the maths in the engine's ops (autograd/ops_linalg.py) and Tensor
methods.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple
from typing import Any

import numpy as np

from ._args import _dim
from ._dtype import dtype_name
from ._printing import return_type_repr
from .autograd.ops_linalg import (
    Cholesky,
    Det,
    EighValues,
    EighVectors,
    Inv,
    LinAlgError,
    MatrixExp,
    QrQ,
    QrR,
    Solve,
    SolveTriangular,
    SvdU,
    Svdvals,
    SvdVh,
)
from .autograd.ops_linalg import check_matrices as _matrices
from .autograd.ops_linalg import check_square as _square
from .tensor import Tensor, _as_tensor
from .tensor import matmul as _matmul

__all__ = [
    "cross",
    "matmul",
    "LinAlgError",
    "cholesky",
    "eigh",
    "eigvalsh",
    "det",
    "inv",
    "matrix_exp",
    "matrix_norm",
    "norm",
    "slogdet",
    "qr",
    "solve",
    "solve_triangular",
    "svd",
    "svdvals",
    "vector_norm",
]


def vector_norm(
    x: Any, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """The ord-norm of x's elements over `dim` (all, flattened, by default): sum |x|^ord
    ^ (1/ord); ord inf / -inf the max / min |x|, ord 0 the number of non-zeros."""
    x = _as_tensor(x)
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind != "f":
        raise RuntimeError(
            f"linalg.vector_norm: expected a floating point input, got {dtype_name(x.dtype)}"
        )
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    return x.norm(builtins.float(ord), dim, keepdim)


def matrix_norm(
    A: Any, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """A matrix norm over the two dims `dim`: 'fro' (Frobenius), 'nuc' (sum of the singular
    values), 2 / -2 (largest / smallest singular value), 1 / -1 (max / min column abs sum),
    inf / -inf (max / min row abs sum)."""
    what = "linalg.matrix_norm"
    A = _as_tensor(A)
    if dtype is not None:
        A = A.to(dtype)
    if A.ndim < 2:
        raise RuntimeError(f"{what}: A must have at least 2 dimensions, got shape {tuple(A.shape)}")
    if A.dtype.kind != "f":
        raise RuntimeError(f"{what}: expected a floating point input, got {dtype_name(A.dtype)}")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"{what}: dim must be a 2-tuple of ints, got {dim!r}")
    d0, d1 = (_dim(d, A.ndim, what) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"{what}: dims must be different, got {tuple(dim)}")
    if ord == "fro":
        return A.norm(2.0, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        # functions of the singular values of the (d0, d1) matrices
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        out = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord == 2 else s.amin(-1)
        if keepdim:  # (two size-1 dims moved back to d0, d1: PyTorch's PermuteBackward0)
            out = out.unsqueeze(-1).unsqueeze(-1).movedim((-2, -1), (d0, d1))
        return out
    if ord in (1, -1, math.inf, -math.inf):
        # 1: sum over rows (dim d0) then max over columns; inf: the other way round
        first, second = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = A.abs().sum(first, keepdim=keepdim)
        if not keepdim and second > first:
            second -= 1  # (dim `first` is gone)
        return sums.amax(second, keepdim) if ord > 0 else sums.amin(second, keepdim)
    raise RuntimeError(f"{what}: order {ord!r} is not supported (use 'fro', 1, -1, inf, -inf)")


def norm(
    A: Any, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """torch.linalg.norm: a vector norm when `dim` is an int (or ord and dim are None: the
    2-norm of everything); a matrix norm when `dim` is a 2-tuple or A is 2-D with ord given."""
    A = _as_tensor(A)
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) == 1:
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if dim is not None and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if dim is not None:
        raise RuntimeError(f"linalg.norm: dim must be an int or a 2-tuple, got {dim!r}")
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    raise RuntimeError(
        f"linalg.norm: input must be 1-D or 2-D when ord is given and dim is None, got "
        f"{A.ndim}-D (pass dim)"
    )


def inv(A: Any) -> Tensor:
    """A^-1 for (batches of) invertible square matrices; a singular one raises LinAlgError."""
    return Inv.apply(_square(A, "linalg.inv"))


def matrix_exp(A: Any) -> Tensor:
    """e^A = sum_k A^k / k! for (batches of) square matrices."""
    return MatrixExp.apply(_square(A, "linalg.matrix_exp"))


def det(A: Any) -> Tensor:
    """det(A) per matrix (shape A.shape[:-2]); its gradient is the transposed adjugate, also
    where A is singular."""
    return Det.apply(_square(A, "linalg.det"))


def slogdet(A: Any) -> tuple:
    """(sign, log|det A|) per matrix: sign 0 and logabsdet -inf for a singular matrix."""
    return _square(A, "linalg.slogdet").slogdet()


def solve(A: Any, B: Any, *, left: bool = True) -> Tensor:
    """X with A X = B (left=True) or X A = B (left=False). B is a batch of vectors when it is
    1-D or has A's batch shape plus n; otherwise of matrices (..., n, k). Batch dims
    broadcast."""
    what = "linalg.solve"
    A = _square(A, what)
    B = _as_tensor(B)
    if B.dtype != A.dtype:
        raise RuntimeError(
            f"{what}: A and B must have the same dtype, got {dtype_name(A.dtype)} and "
            f"{dtype_name(B.dtype)}"
        )
    if not left:  # X A = B  <=>  A^T X^T = B^T
        X = solve(A.transpose(-2, -1), B.transpose(-2, -1)).transpose(-2, -1)
        return _named(X, Solve.torch_name)
    n = A.shape[-1]
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.ndim < 2 or Bm.shape[-2] != n:
        raise RuntimeError(
            f"{what}: incompatible shapes of A {tuple(A.shape)} and B {tuple(B.shape)} "
            f"(B needs {n} rows)"
        )
    try:
        batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(Bm.shape[:-2]))
    except ValueError:
        raise RuntimeError(
            f"{what}: the batch dims of A {tuple(A.shape)} and B {tuple(B.shape)} do not broadcast"
        ) from None
    a = A if tuple(A.shape[:-2]) == batch else A.expand(*batch, n, n)
    b = Bm if tuple(Bm.shape[:-2]) == batch else Bm.expand(*batch, *Bm.shape[-2:])
    X = Solve.apply(a, b)
    return _named(X.squeeze(-1), Solve.torch_name) if vector else X


def solve_triangular(
    A: Any, B: Any, *, upper: bool, left: bool = True, unitriangular: bool = False
) -> Tensor:
    """X with A X = B (left=True) or X A = B (left=False) for triangular A (..., n, n): only
    A's upper (upper=True) or lower triangle is read, its diagonal taken as ones when
    unitriangular. B is (..., n, k) (at least 2-D); batch dims broadcast."""
    what = "linalg.solve_triangular"
    A = _square(A, what)
    B = _as_tensor(B)
    if B.ndim < 2:
        raise RuntimeError(
            f"{what}: the input tensor B must have at least 2 dimensions, got {B.ndim}"
        )
    if B.dtype != A.dtype:
        raise RuntimeError(
            f"{what}: A and B must have the same dtype, got {dtype_name(A.dtype)} and "
            f"{dtype_name(B.dtype)}"
        )
    if not left:  # X A = B  <=>  A^T X^T = B^T, and A^T is triangular the other way up
        X = solve_triangular(
            A.transpose(-2, -1), B.transpose(-2, -1), upper=not upper, unitriangular=unitriangular
        )
        return _named(X.transpose(-2, -1), SolveTriangular.torch_name)
    n = A.shape[-1]
    if B.shape[-2] != n:
        raise RuntimeError(
            f"{what}: incompatible shapes of A {tuple(A.shape)} and B {tuple(B.shape)} "
            f"(B needs {n} rows)"
        )
    try:
        batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    except ValueError:
        raise RuntimeError(
            f"{what}: the batch dims of A {tuple(A.shape)} and B {tuple(B.shape)} do not broadcast"
        ) from None
    a = A if tuple(A.shape[:-2]) == batch else A.expand(*batch, n, n)
    b = B if tuple(B.shape[:-2]) == batch else B.expand(*batch, *B.shape[-2:])
    return SolveTriangular.apply(a, b, builtins.bool(upper), builtins.bool(unitriangular))


def _named(t: Tensor, name: str) -> Tensor:
    """Show PyTorch's node name on a result whose last op is a reshaping of it."""
    if t.grad_fn is not None:
        t.grad_fn.torch_name = name
    return t


def cholesky(A: Any, *, upper: bool = False) -> Tensor:
    """L (lower triangular) with A = L L^T for (batches of) symmetric positive-definite A,
    from A's lower triangle; upper=True: U with A = U^T U, from A's upper triangle (as
    PyTorch). Not positive-definite: LinAlgError."""
    A = _square(A, "linalg.cholesky")
    if upper:  # the lower factor of A^T (whose lower triangle is A's upper one), transposed
        return _named(Cholesky.apply(A.transpose(-2, -1)).transpose(-2, -1), Cholesky.torch_name)
    return Cholesky.apply(A)


EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])  # torch.return_types
EighResult.__repr__ = return_type_repr("linalg_eigh")


def _uplo(UPLO: str, what: str) -> str:
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"{what}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO


def eigh(A: Any, UPLO: str = "L") -> tuple:
    """(eigenvalues ascending, eigenvectors as columns) of symmetric A, read from its lower
    (UPLO='L') or upper triangle. Each eigenvector's sign is LAPACK's choice (as in PyTorch):
    a loss should not depend on it."""
    A = _square(A, "linalg.eigh")
    u = _uplo(UPLO, "linalg.eigh")
    return EighResult(EighValues.apply(A, u), EighVectors.apply(A, u))


def eigvalsh(A: Any, UPLO: str = "L") -> Tensor:
    """The eigenvalues (ascending) of symmetric A, read from one triangle."""
    return EighValues.apply(_square(A, "linalg.eigvalsh"), _uplo(UPLO, "linalg.eigvalsh"))


def svdvals(A: Any) -> Tensor:
    """The singular values of each (..., m, n) matrix, descending (shape (..., min(m, n)))."""
    what = "linalg.svdvals"
    A = _as_tensor(A)
    if A.ndim < 2:
        raise RuntimeError(f"{what}: A must have at least 2 dimensions, got shape {tuple(A.shape)}")
    if A.dtype.kind != "f":
        raise RuntimeError(f"{what}: expected a floating point input, got {dtype_name(A.dtype)}")
    return Svdvals.apply(A)


QRResult = namedtuple("QRResult", ["Q", "R"])  # torch.return_types.linalg_qr
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])  # torch.return_types.linalg_svd
QRResult.__repr__ = return_type_repr("linalg_qr")
SVDResult.__repr__ = return_type_repr("linalg_svd")


def qr(A: Any, mode: str = "reduced") -> tuple:
    """(Q, R) with A = Q R for each (..., m, n) matrix, k = min(m, n): mode 'reduced' gives Q
    (..., m, k) with orthonormal columns and R (..., k, n) upper triangular; 'complete' Q
    (..., m, m) and R (..., m, n); 'r' only R (Q is empty). Signs are LAPACK's Householder
    ones (R's diagonal may be negative), as in PyTorch. Backward needs full rank; it is
    refused for mode 'r' and for 'complete' with m > n (Q's extra columns are arbitrary)."""
    what = "linalg.qr"
    A = _matrices(A, what)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"{what}: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    return QRResult(QrQ.apply(A, mode), QrR.apply(A, mode))


def svd(A: Any, full_matrices: bool = True, *, driver: Any = None) -> tuple:
    """(U, S, Vh) with A = U diag(S) Vh for each (..., m, n) matrix: S (..., k) descending,
    k = min(m, n); U (..., m, m) and Vh (..., n, n) with full_matrices=True, else (..., m, k)
    and (..., k, n). Each pair of singular vectors has LAPACK's sign (PyTorch documents them
    as unique only up to sign), so a loss should depend on them only through sign-free
    quantities. Gradients need distinct, non-zero singular values (else inf/nan, as in
    PyTorch); with full_matrices=True the extra columns of U / rows of Vh get no gradient
    (any basis would do), as PyTorch documents."""
    what = "linalg.svd"
    A = _matrices(A, what)
    if driver is not None:
        raise RuntimeError(
            f"{what}: driver= is for CUDA inputs only (as in PyTorch), got {driver!r}"
        )
    if not isinstance(full_matrices, (bool, np.bool_)):
        raise TypeError(f"{what}: full_matrices must be a bool, got {type(full_matrices).__name__}")
    full = bool(full_matrices)
    return SVDResult(SvdU.apply(A, full), Svdvals.apply(A), SvdVh.apply(A, full))


def cross(input: Any, other: Any, *, dim: int = -1) -> Tensor:
    """The 3-vector cross product along `dim` (shapes broadcast; dim must have size 3). Unlike
    tinyconv.cross, dim defaults to the last one, as in PyTorch's linalg.cross."""
    return _as_tensor(input).cross(other, dim)


def matmul(input: Any, other: Any) -> Tensor:
    """tinyconv.matmul, under linalg as in PyTorch."""
    return _matmul(_as_tensor(input), _as_tensor(other))
