"""`tinyconv.linalg`, as torch.linalg: norms, inverse, determinants, solve and the
factorizations (cholesky, eigh, qr, svd) on (batches of) matrices. Functional layer:
argument checks here, the maths in the engine's ops (autograd/ops_linalg.py) and Tensor
methods.
"""

from __future__ import annotations

import builtins
import inspect as _inspect
import math
from collections import namedtuple
from typing import Any

import numpy as np

from ._args import _dim
from ._dtype import dtype_name
from ._printing import return_type_repr
from .autograd.ops import Cat
from .autograd.ops_linalg import (
    Cholesky,
    CholeskyEx,
    Det,
    EighValues,
    EighVectors,
    Inv,
    InvEx,
    LinAlgError,
    LstsqSolution,
    LuFactor,
    MatrixExp,
    Pinv,
    QrQ,
    QrR,
    Solve,
    SolveEx,
    SolveTriangular,
    SvdU,
    Svdvals,
    SvdVh,
    cholesky_info,
    lu_factor_array,
    pinv_cutoff,
    pivots_to_permutation,
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
    "matrix_power",
    "multi_dot",
    "pinv",
    "lstsq",
    "matrix_rank",
    "solve_triangular",
    "vecdot",
    "cond",
    "inv_ex",
    "solve_ex",
    "cholesky_ex",
    "lu_factor",
    "lu_factor_ex",
    "lu",
    "lu_solve",
    "diagonal",
    "vander",
    "tensorinv",
    "tensorsolve",
    "householder_product",
    "eig",
    "eigvals",
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
    ord = builtins.float(ord)
    if (ord < 0 or ord == math.inf) and x.numel() == 0:
        # max |x| and the negative orders have no value over no elements (PyTorch refuses
        # them; 0, 1, 2, ... give 0)
        dims = range(x.ndim) if dim is None else [dim] if isinstance(dim, int) else dim
        if not x.ndim or any(x.shape[_dim(d, x.ndim, "linalg.vector_norm")] == 0 for d in dims):
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {ord:g} norm over an empty dimension "
                "because the operation does not have an identity"
            )
    return x.norm(ord, dim, keepdim)


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


# torch.return_types.linalg_slogdet (torch.slogdet's result prints as slogdet)
LinalgSlogdet = namedtuple("LinalgSlogdet", ["sign", "logabsdet"])
LinalgSlogdet.__repr__ = return_type_repr("linalg_slogdet")


def slogdet(A: Any) -> tuple:
    """(sign, log|det A|) per matrix: sign 0 and logabsdet -inf for a singular matrix."""
    return LinalgSlogdet(*_square(A, "linalg.slogdet").slogdet())


def solve(A: Any, B: Any, *, left: bool = True) -> Tensor:
    """X with A X = B (left=True) or X A = B (left=False). B is a batch of vectors when it is
    1-D or has A's batch shape plus n; otherwise of matrices (..., n, k). Batch dims
    broadcast."""
    what = "linalg.solve"
    return _solve_arranged(_square(A, what), _as_tensor(B), left, what, Solve)


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


LinalgSlogdet = namedtuple("LinalgSlogdet", ["sign", "logabsdet"])
LinalgSlogdet.__repr__ = return_type_repr("linalg_slogdet")  # (torch.slogdet's: "slogdet")
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


def svdvals(A: Any, *, driver: str | None = None) -> Tensor:
    """The singular values of each (..., m, n) matrix, descending (shape (..., min(m, n))).
    `driver` picks a CUDA solver in PyTorch; on the CPU only None is allowed."""
    if driver is not None:
        raise RuntimeError(
            f"linalg.svdvals: keyword argument `driver=` is only supported on CUDA inputs with "
            f"cuSOLVER backend, got {driver!r}"
        )
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


# -- more of torch.linalg: powers and products, pseudo-inverse and least squares, triangular
# systems, LU, the *_ex variants (which report failure in `info` instead of raising), and the
# tensor forms of inv and solve. The maths with backwards is in autograd/ops_linalg.py.


def _float_matrices(A: Any, what: str, name: str = "A") -> Tensor:
    """A float32/float64 Tensor of (batches of) matrices."""
    if not isinstance(A, Tensor):
        raise TypeError(f"{what}: {name} must be a Tensor, got {type(A).__name__}")
    if A.ndim < 2 or A.dtype not in (np.float32, np.float64):
        raise RuntimeError(
            f"{what}: expected {name} to be a float or double tensor with 2 or more dimensions, "
            f"got {dtype_name(A.dtype)} of shape {tuple(A.shape)}"
        )
    return A


def _same_dtype(A: Tensor, B: Tensor, what: str) -> None:
    if B.dtype != A.dtype:
        raise RuntimeError(
            f"{what}: A and B must have the same dtype, got {dtype_name(A.dtype)} and "
            f"{dtype_name(B.dtype)}"
        )


def _broadcast_batch(A: Tensor, B: Tensor, what: str) -> tuple:
    """A and B expanded to their common batch shape (the gradient of an expand sums back)."""
    try:
        batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    except ValueError:
        raise RuntimeError(
            f"{what}: the batch dims of {tuple(A.shape)} and {tuple(B.shape)} do not broadcast"
        ) from None
    a = A if tuple(A.shape[:-2]) == batch else A.expand(*batch, *A.shape[-2:])
    b = B if tuple(B.shape[:-2]) == batch else B.expand(*batch, *B.shape[-2:])
    return a, b


def matrix_power(A: Any, n: int) -> Tensor:
    """A^n for (batches of) square matrices by repeated squaring (n = 0: the identity, n < 0:
    the power of the inverse); the same as tinyconv.matrix_power and Tensor.matrix_power."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.matrix_power: A must be a Tensor, got {type(A).__name__}")
    return A.matrix_power(n)


def multi_dot(tensors: Any) -> Tensor:
    """The product of 2-D matrices (the first may be 1-D: a row vector, the last 1-D: a column
    vector), in the order of multiplications that costs the fewest scalar products."""
    what = "multi_dot()"
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"{what}: expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: tensors[{i}] must be a Tensor, got {type(t).__name__}")
    first, last = tensors[0], tensors[-1]
    if first.ndim not in (1, 2):
        raise RuntimeError(f"{what}: the first tensor must be 1D or 2D but got {first.ndim}D")
    if last.ndim not in (1, 2):
        raise RuntimeError(f"{what}: the last tensor must be 1D or 2D but got {last.ndim}D")
    for i, t in enumerate(tensors[1:-1], 1):
        if t.ndim != 2:
            raise RuntimeError(f"{what}: tensor {i} must be 2D but got {t.ndim}D")
        if t.dtype != first.dtype:
            raise RuntimeError(
                f"{what}: all tensors must have the same dtype but tensor 0 is "
                f"{dtype_name(first.dtype)} and tensor {i} is {dtype_name(t.dtype)}"
            )
    if last.dtype != first.dtype:
        raise RuntimeError(
            f"{what}: all tensors must have the same dtype but tensor 0 is "
            f"{dtype_name(first.dtype)} and tensor {len(tensors) - 1} is {dtype_name(last.dtype)}"
        )
    out_shape = tuple(first.shape[:-1]) + tuple(last.shape[1:])
    mats = list(tensors)
    if first.ndim == 1:
        mats[0] = first.unsqueeze(0)
    if last.ndim == 1:
        mats[-1] = last.unsqueeze(-1)
    for i in range(len(mats) - 1):
        if mats[i].shape[-1] != mats[i + 1].shape[0]:
            raise RuntimeError(
                f"{what}: tensors {i} and {i + 1} with shapes {list(tensors[i].shape)} and "
                f"{list(tensors[i + 1].shape)} cannot be multiplied"
            )
    dims = [m.shape[0] for m in mats] + [mats[-1].shape[1]]
    return _chain(mats, dims).view(out_shape)


def _chain(mats: list, dims: list) -> Tensor:
    """The matrix-chain product in the cheapest order (PyTorch's choice: for three matrices
    the cheaper of (AB)C and A(BC), ties to (AB)C; beyond, the classic dynamic programme)."""
    n = len(mats)
    if n == 2:
        return mats[0].mm(mats[1])
    if n == 3:
        a, b, c, d = dims
        if a * c * (b + d) > b * d * (a + c):
            return mats[0].mm(mats[1].mm(mats[2]))
        return mats[0].mm(mats[1]).mm(mats[2])
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k

    def product(i: int, j: int) -> Tensor:
        if i == j:
            return mats[i]
        k = split[i][j]
        return product(i, k).mm(product(k + 1, j))

    return product(0, n - 1)


def _tol_array(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def pinv(
    A: Any, *, atol: Any = None, rtol: Any = None, hermitian: bool = False, rcond: Any = None
) -> Tensor:
    """The Moore-Penrose pseudo-inverse (..., n, m) of each (..., m, n) matrix: singular values
    at or below max(atol, rtol * largest) count as zero (rtol defaults to eps * max(m, n) when
    atol is not given, else to 0). hermitian=True: A is symmetric, read from its lower
    triangle (eigh). rcond: the older name of rtol."""
    what = "linalg.pinv"
    if isinstance(A, Tensor) and (A.ndim < 2 or A.dtype not in (np.float32, np.float64)):
        raise RuntimeError(
            f"{what}({dtype_name(A.dtype)}{list(A.shape)}): expected a tensor with 2 or more "
            "dimensions of float or double types"
        )
    A = _float_matrices(A, what)
    if rcond is not None:
        if rtol is not None:
            raise RuntimeError(f"{what}: pass rtol or rcond (its older name), not both")
        rtol = rcond
    return Pinv.apply(A, _tol_array(atol), _tol_array(rtol), bool(hermitian))


LstsqResult = namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])
LstsqResult.__repr__ = return_type_repr("linalg_lstsq")
_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Any, B: Any, rcond: Any = None, *, driver: Any = None) -> tuple:
    """The least-squares (minimum-norm) solution X of A X = B per matrix, A (..., m, n), B
    (..., m, k) or (..., m) (batch dims broadcast), as (solution, residuals, rank,
    singular_values). Which fields are filled depends on the driver, as in PyTorch on the CPU
    (default 'gelsy'): rank for all but 'gels'; singular_values for 'gelsd' / 'gelss';
    residuals (the squared residual norm per column) when m > n, the driver is not 'gelsy'
    and every matrix has full rank. rcond: singular values below rcond * largest count as
    zero (default eps * max(m, n))."""
    what = "linalg.lstsq"
    A = _float_matrices(A, what)
    if not isinstance(B, Tensor):
        raise TypeError(f"{what}: B must be a Tensor, got {type(B).__name__}")
    _same_dtype(A, B, what)
    driver = "gelsy" if driver is None else driver
    if driver not in _LSTSQ_DRIVERS:
        raise RuntimeError(
            f"torch.linalg.lstsq: parameter `driver` should be one of {_LSTSQ_DRIVERS}, "
            f"got {driver!r}"
        )
    if not 0 <= A.ndim - B.ndim <= 1:
        raise RuntimeError(
            "torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
            f"(input.dim() - other.dim()) <= 1: A is {tuple(A.shape)}, B {tuple(B.shape)}"
        )
    vector = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vector else B
    m, n = A.shape[-2:]
    if Bm.ndim < 2 or Bm.shape[-2] != m:
        raise RuntimeError(
            f"torch.linalg.lstsq: input.size(-2) should match other.size(-2): A is "
            f"{tuple(A.shape)}, B {tuple(B.shape)}"
        )
    a, b = _broadcast_batch(A, Bm, what)
    if rcond is None:
        rcond = np.finfo(A.dtype).eps * max(m, n)
    X = LstsqSolution.apply(a, b, float(rcond))
    # rank and singular values describe A alone: A's batch shape, not the broadcast one
    batch = tuple(A.shape[:-2])
    s = np.linalg.svd(A._data, compute_uv=False).astype(A.dtype, copy=False)
    if s.shape[-1]:
        rank_arr = (s > rcond * s[..., :1]).sum(-1)
    else:
        rank_arr = np.zeros(batch, np.int64)
    empty = np.zeros((0,), A.dtype)
    rank = Tensor._make(np.asarray(rank_arr, np.int64), None, False)
    if driver == "gels":
        rank = Tensor._make(np.zeros((0,), np.int64), None, False)
    sv = Tensor._make(s if driver in ("gelsd", "gelss") else empty, None, False)
    if m > n and driver != "gelsy" and (driver == "gels" or np.all(rank_arr == n)):
        r = _matmul(a, X) - b
        residuals = _named((r * r).sum(-2), LstsqSolution.torch_name)
    else:  # (empty, yet in the graph, as PyTorch's)
        residuals = _named(X.reshape(-1)[:0], LstsqSolution.torch_name)
    if vector:
        X = _named(X.squeeze(-1), LstsqSolution.torch_name)
    return LstsqResult(X, residuals, rank, sv)


def matrix_rank(
    A: Any, *, atol: Any = None, rtol: Any = None, hermitian: bool = False, tol: Any = None
) -> Tensor:
    """The number of singular values (|eigenvalues| with hermitian=True) above max(atol,
    rtol * largest) per matrix, as int64 (rtol's default as in pinv). tol: the older name
    of atol (then rtol is 0)."""
    what = "linalg.matrix_rank"
    A = _float_matrices(A, what)
    if tol is not None:
        if atol is not None or rtol is not None:
            raise RuntimeError(f"{what}: pass tol or atol / rtol, not both")
        atol, rtol = tol, 0.0
    a = A._data
    m, n = a.shape[-2:]
    batch = a.shape[:-2]
    if a.size == 0:
        return Tensor._make(np.zeros(batch, np.int64), None, False)
    if hermitian:
        s = np.abs(np.linalg.eigvalsh(a, UPLO="L")).astype(a.dtype, copy=False)
    else:
        s = np.linalg.svd(a, compute_uv=False).astype(a.dtype, copy=False)
    cut = pinv_cutoff(s.max(-1), _tol_array(atol), _tol_array(rtol), m, n, a.dtype)
    return Tensor._make(np.asarray((s > cut[..., None]).sum(-1), np.int64), None, False)


def solve_triangular(
    A: Any, B: Any, *, upper: bool, left: bool = True, unitriangular: bool = False
) -> Tensor:
    """X with A X = B (left) or X A = B (left=False) for triangular A (..., n, n), read from
    its upper or lower triangle (unitriangular: its diagonal taken as ones, never read).
    Batch dims broadcast; a zero on the diagonal gives inf / nan, not an error (as PyTorch)."""
    what = "linalg.solve_triangular"
    A = _square(A, what)
    if not isinstance(B, Tensor):
        raise TypeError(f"{what}: B must be a Tensor, got {type(B).__name__}")
    if B.ndim < 2:
        raise RuntimeError(
            f"{what}: the input tensor B must have at least 2 dimensions, got {B.ndim}"
        )
    _same_dtype(A, B, what)
    n = A.shape[-1]
    if B.shape[-2 if left else -1] != n:
        raise RuntimeError(
            f"{what}: incompatible shapes of A and B for the equation "
            f"{'AX = B' if left else 'XA = B'}: A {tuple(A.shape)}, B {tuple(B.shape)} "
            f"(B needs {n} {'rows' if left else 'columns'})"
        )
    a, b = _broadcast_batch(A, B, what)
    return SolveTriangular.apply(a, b, bool(upper), bool(left), bool(unitriangular))


def vecdot(x: Any, y: Any, *, dim: int = -1) -> Tensor:
    """sum(x * y) along dim (shapes broadcast); real inputs, so no conjugation."""
    what = "linalg.vecdot"
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: {name} must be a Tensor, got {type(t).__name__}")
        if t.dtype.kind != "f":
            raise RuntimeError(
                f"{what}: Expected a floating point tensor as input. Got {dtype_name(t.dtype)}"
            )
    return (x * y).sum(dim)


def cond(A: Any, p: Any = None) -> Tensor:
    """The condition number of each matrix: p None / 2 / -2 the ratio of the largest and
    smallest singular values (its inverse for -2; any (..., m, n)), else ||A||_p ||A^-1||_p
    for square A with p 'fro', 'nuc', inf, -inf, 1, -1 (inf where A is singular)."""
    what = "linalg.cond"
    if isinstance(A, Tensor) and A.ndim >= 2 and 0 in tuple(A.shape[-2:]):
        if p not in (None, 2, -2):
            _square(A, f"linalg.cond(ord={p})")
        # no singular values: 0 per matrix, outside the graph (as PyTorch)
        A = _float_matrices(A, what)
        return Tensor._make(np.zeros(tuple(A.shape[:-2]), A.dtype), None, False)
    if p in (None, 2, -2):
        A = _float_matrices(A, what)
        s = svdvals(A)
        if p == -2:
            return (s[..., -1:] / s[..., :1]).squeeze(-1)
        return (s[..., :1] / s[..., -1:]).squeeze(-1)
    if p not in ("fro", "nuc", math.inf, -math.inf, 1, -1):
        raise RuntimeError(f"{what}: got an invalid norm type: {p!r}")
    A = _square(A, f"linalg.cond(ord={p})")
    _float_matrices(A, what)
    # the inverse of a singular matrix is NaN (inv_ex), so is the product: inf, as PyTorch
    out = matrix_norm(A, p) * matrix_norm(inv_ex(A).inverse, p)
    return out.nan_to_num(nan=math.inf, posinf=math.inf, neginf=-math.inf)


InvExResult = namedtuple("InvExResult", ["inverse", "info"])
InvExResult.__repr__ = return_type_repr("linalg_inv_ex")
SolveExResult = namedtuple("SolveExResult", ["result", "info"])
SolveExResult.__repr__ = return_type_repr("linalg_solve_ex")
CholeskyExResult = namedtuple("CholeskyExResult", ["L", "info"])
CholeskyExResult.__repr__ = return_type_repr("linalg_cholesky_ex")


def _info(info: np.ndarray) -> Tensor:
    return Tensor._make(np.asarray(info, np.int32), None, False)


def _raise_info(info: np.ndarray, what: str, message: Any, error: type = LinAlgError) -> None:
    """PyTorch's error (LinAlgError unless told) for the first failed matrix (with its batch
    index if batched)."""
    flat = np.asarray(info).reshape(-1)
    bad = np.flatnonzero(flat > 0)
    if bad.size:
        where = f"(Batch element {bad[0]}): " if np.ndim(info) else ""
        raise error(f"{what}: {where}{message(int(flat[bad[0]]))}")


def _singular_message(i: int) -> str:
    return (
        f"The diagonal element {i} is zero, the inversion could not be completed because the "
        "input matrix is singular."
    )


def inv_ex(A: Any, *, check_errors: bool = False) -> tuple:
    """(inverse, info): info (int32, per matrix) is 0, or i >= 1 when LU's i-th pivot is zero
    (the matrix is singular; its inverse is then NaN). check_errors=True raises instead."""
    what = "linalg.inv_ex"
    A = _square(A, what)
    out = InvEx.apply(A)
    info = out.grad_fn.info if out.grad_fn is not None else _lu_info(A)
    if check_errors:
        _raise_info(info, what, _singular_message)
    return InvExResult(out, _info(info))


def _lu_info(A: Tensor) -> np.ndarray:
    return lu_factor_array(A._data)[2]


def solve_ex(A: Any, B: Any, *, left: bool = True, check_errors: bool = False) -> tuple:
    """(result, info): linalg.solve without raising; info as inv_ex's (result NaN there)."""
    what = "linalg.solve_ex"
    A = _square(A, what)
    info = _lu_info(A)
    if check_errors:
        _raise_info(info, what, _singular_message)
    # (solve's arrangement, with the op that gives NaN for a singular A)
    X = _solve_arranged(A, _as_tensor(B), left, what, SolveEx)
    return SolveExResult(X, _info(info))


def _solve_arranged(A: Tensor, B: Tensor, left: bool, what: str, op: Any) -> Tensor:
    """solve's X through `op` (Solve or SolveEx): left=False by transposition, a vector B
    (1-D, or A's batch shape plus n) as a one-column matrix, batch dims broadcast."""
    _same_dtype(A, B, what)
    if not left:  # X A = B  <=>  A^T X^T = B^T
        X = _solve_arranged(A.transpose(-2, -1), B.transpose(-2, -1), True, what, op)
        return _named(X.transpose(-2, -1), Solve.torch_name)
    n = A.shape[-1]
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.ndim < 2 or Bm.shape[-2] != n:
        raise RuntimeError(
            f"{what}: incompatible shapes of A {tuple(A.shape)} and B {tuple(B.shape)} "
            f"(B needs {n} rows)"
        )
    a, b = _broadcast_batch(A, Bm, what)
    X = op.apply(a, b)
    return _named(X.squeeze(-1), Solve.torch_name) if vector else X


def cholesky_ex(A: Any, *, upper: bool = False, check_errors: bool = False) -> tuple:
    """(L, info): linalg.cholesky without raising; info 0, or the order of the first leading
    minor that is not positive-definite (L is then NaN)."""
    what = "linalg.cholesky_ex"
    A = _square(A, what)
    a = A.transpose(-2, -1) if upper else A
    L = CholeskyEx.apply(a)
    info = cholesky_info(a._data)
    if check_errors:
        _raise_info(
            info,
            what,
            lambda i: (
                "The factorization could not be completed because the input is not "
                f"positive-definite (the leading minor of order {i} is not positive-definite)."
            ),
        )
    if upper:
        L = _named(L.transpose(-2, -1), Cholesky.torch_name)
    return CholeskyExResult(L, _info(info))


LUFactorResult = namedtuple("LUFactorResult", ["LU", "pivots"])
LUFactorResult.__repr__ = return_type_repr("linalg_lu_factor")
LUFactorExResult = namedtuple("LUFactorExResult", ["LU", "pivots", "info"])
LUFactorExResult.__repr__ = return_type_repr("linalg_lu_factor_ex")
PLUResult = namedtuple("PLUResult", ["P", "L", "U"])
PLUResult.__repr__ = return_type_repr("linalg_lu")


def _raise_lu(info: np.ndarray, what: str) -> None:
    _raise_info(  # (a plain RuntimeError, as PyTorch's)
        info,
        what,
        lambda i: (
            f"U[{i},{i}] is zero and using it on lu_solve would result in a division by "
            "zero. If you still want to perform the factorization, consider calling "
            "linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)"
        ),
        RuntimeError,
    )


def lu_factor_ex(A: Any, *, pivot: bool = True, check_errors: bool = False) -> tuple:
    """(LU, pivots, info): A = P L U with partial pivoting, packed as LAPACK's getrf: L
    (unit diagonal, not stored) below the diagonal, U on and above; pivots (..., min(m, n))
    int32, 1-based (row i was swapped with row pivots[i]); info 0, or i when U[i-1, i-1] is
    zero."""
    what = "linalg.lu_factor_ex"
    A = _float_matrices(A, what)
    if not pivot:
        raise RuntimeError(f"{what}: LU without pivoting is not implemented on the CPU")
    LU = LuFactor.apply(A)
    if LU.grad_fn is not None:
        piv, info = LU.grad_fn.piv, LU.grad_fn.info
    else:
        _, piv, info = lu_factor_array(A._data)
    if check_errors:
        _raise_lu(info, what)
    return LUFactorExResult(LU, _info(piv), _info(info))


def lu_factor(A: Any, *, pivot: bool = True) -> tuple:
    """(LU, pivots) as lu_factor_ex; an exactly singular matrix raises (as PyTorch: its LU
    would divide by zero in lu_solve), lu_factor_ex reports it instead."""
    LU, piv, info = lu_factor_ex(A, pivot=pivot)
    _raise_lu(info._data, "linalg.lu_factor")
    return LUFactorResult(LU, piv)


def _unpack(LU: Tensor, piv: np.ndarray, name: str, data: bool = True, pivots: bool = True):
    """(P, L, U) from a packed LU and its pivots; L and U keep LU's graph, named `name`."""
    m, n = LU.shape[-2:]
    k = min(m, n)
    dt = LU.dtype
    batch = tuple(LU.shape[:-2])
    if pivots:
        perm = pivots_to_permutation(piv, m)
        P = np.zeros(batch + (m, m), dt)
        np.put_along_axis(P, perm[..., None, :], 1, axis=-2)  # P[perm[i], i] = 1
        P = Tensor._make(P, None, False)
    else:
        P = Tensor._make(np.zeros((0,), dt), None, False)
    if not data:
        empty = Tensor._make(np.zeros((0,), dt), None, False)
        return PLUResult(P, empty, empty)
    eye = Tensor._make(np.eye(m, k, dtype=dt), None, False)
    L = _named(LU[..., :, :k].tril(-1) + eye, name)
    U = _named(LU[..., :k, :].triu(), name)
    return PLUResult(P, L, U)


def lu(A: Any, *, pivot: bool = True) -> tuple:
    """(P, L, U) with A = P L U: P (..., m, m) a permutation, L (..., m, k) unit lower
    triangular, U (..., k, n) upper triangular, k = min(m, n)."""
    what = "linalg.lu"
    A = _float_matrices(A, what)
    if not pivot:
        raise RuntimeError(f"{what}: LU without pivoting is not implemented on the CPU")
    LU = LuFactor.apply(A)
    piv = LU.grad_fn.piv if LU.grad_fn is not None else lu_factor_array(A._data)[1]
    return _unpack(LU, piv, "LinalgLuBackward0")


def lu_solve(LU: Any, pivots: Any, B: Any, *, left: bool = True, adjoint: bool = False) -> Tensor:
    """X with A X = B (left=False: X A = B; adjoint=True: with A^T) from A's lu_factor."""
    what = "linalg.lu_solve"
    if not isinstance(B, Tensor):
        raise TypeError(f"{what}: B must be a Tensor, got {type(B).__name__}")
    if not left:  # X A = B  <=>  A^T X^T = B^T (and X A^T = B  <=>  A X^T = B^T)
        X = lu_solve(LU, pivots, B.transpose(-2, -1), adjoint=not adjoint)
        return _named(X.transpose(-2, -1), "LinalgLuSolveBackward0")
    return B._lu_solved(LU, pivots, adjoint, what)


def diagonal(A: Any, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonal (offset above it when > 0) of each matrix: Tensor.diagonal with the last
    two dims as default."""
    return _as_tensor(A).diagonal(offset, dim1, dim2)


def vander(x: Any, *, N: Any = None) -> Tensor:  # noqa: N803
    """(..., n, N) with columns x^0, x^1, ..., x^(N-1) (increasing powers, unlike
    tinyconv.vander) for x (..., n); N defaults to n."""
    what = "linalg.vander"
    if not isinstance(x, Tensor):
        raise TypeError(f"{what}: x must be a Tensor, got {type(x).__name__}")
    if x.ndim < 1:
        raise RuntimeError(f"{what}: x must have at least one dimension, got a 0-d tensor")
    n = x.shape[-1] if N is None else N
    if n <= 1:
        if n < 1:
            raise RuntimeError(f"{what}: N must be greater than 1, got {n}")
    base = x.to(np.int64) if x.dtype.kind in "biu" else x  # (PyTorch's cumprod promotes)
    ones = Tensor._make(np.ones(tuple(x.shape) + (1,), base.dtype), None, False)
    if n == 1:
        return ones.clone()
    powers = base.unsqueeze(-1).expand(*x.shape, n - 1).cumprod(-1)
    return Cat.apply(-1, ones, powers)


def tensorinv(A: Any, ind: int = 2) -> Tensor:
    """The inverse of A seen as a square matrix (prod(shape[:ind]) rows, the rest columns),
    shaped shape[ind:] + shape[:ind], so tensordot(tensorinv(A), A, ind) is the identity."""
    what = "linalg.tensorinv"
    A = _as_tensor(A)
    if not isinstance(ind, int) or ind <= 0:
        raise RuntimeError(
            f"{what}: Expected a strictly positive integer for 'ind', but got {ind!r}"
        )
    rows, cols = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    if math.prod(rows) != math.prod(cols):
        raise RuntimeError(
            f"{what}: Expected self to satisfy the requirement "
            f"prod(self.shape[ind:]) == prod(self.shape[:ind]), but got {math.prod(cols)} != "
            f"{math.prod(rows)} (shape {tuple(A.shape)}, ind={ind})"
        )
    n = math.prod(rows)
    out = inv(A.reshape(n, n)).reshape(*cols, *rows)
    # (PyTorch's inverse is column-major, so its reshape is an alias, not a plain view)
    return _named(out, "ReshapeAliasBackward0") if n > 1 else out


def tensorsolve(A: Any, B: Any, dims: Any = None) -> Tensor:
    """X with tensordot(A, X, X.ndim) = B: X has shape A.shape[B.ndim:] (after moving `dims`
    of A to the end)."""
    what = "linalg.tensorsolve"
    A, B = _as_tensor(A), _as_tensor(B)
    if dims is not None:
        dims = [_dim(d, A.ndim, what) for d in dims]
        A = A.movedim(dims, list(range(A.ndim - len(dims), A.ndim)))
    rest = tuple(A.shape[B.ndim :])
    if tuple(A.shape[: B.ndim]) != tuple(B.shape) or math.prod(rest) != B.numel():
        raise RuntimeError(
            f"{what}: Expected self to satisfy the requirement prod(self.shape[other.ndim:]) "
            f"== prod(self.shape[:other.ndim]), but got A of shape {tuple(A.shape)} and B of "
            f"shape {tuple(B.shape)}"
        )
    n = B.numel()
    return solve(A.reshape(n, n), B.reshape(n)).view(rest)


def householder_product(A: Any, tau: Any) -> Tensor:
    """The first n columns of H_1 H_2 ... H_k for A (..., m, n), m >= n, and tau (..., k),
    k <= n: H_i = I - tau_i v_i v_i^T with v_i the i-th column of A below the diagonal and a
    1 on it (how LAPACK's geqrf stores Q). Built from the reflections in graph ops (each a
    rank-one update), so its gradient is that of the composition."""
    what = "linalg.householder_product"
    A = _float_matrices(A, what)
    if not isinstance(tau, Tensor):
        raise TypeError(f"{what}: tau must be a Tensor, got {type(tau).__name__}")
    m, n = A.shape[-2:]
    if m < n:
        raise RuntimeError(
            f"{what}: input.shape[-2] must be greater than or equal to input.shape[-1], got "
            f"{tuple(A.shape)}"
        )
    if tau.ndim != A.ndim - 1:
        raise RuntimeError(
            f"{what}: Expected tau to have one dimension less than input, but got tau.ndim "
            f"equal to {tau.ndim} and input.ndim is equal to {A.ndim}"
        )
    k = tau.shape[-1]
    if k > n:
        raise RuntimeError(
            f"{what}: input.shape[-1] must be greater than or equal to tau.shape[-1], got "
            f"{n} and {k}"
        )
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(
            f"{what}: Expected batch dimensions of tau to be equal to input.shape[:-2], got "
            f"{tuple(tau.shape[:-1])} and {tuple(A.shape[:-2])}"
        )
    if tau.dtype != A.dtype:
        raise RuntimeError(
            f"{what}: tau dtype {dtype_name(tau.dtype)} does not match input dtype "
            f"{dtype_name(A.dtype)}"
        )
    eye = Tensor._make(np.eye(m, n, dtype=A.dtype), None, False)
    V = A.tril(-1) + eye  # column i: v_i
    Q = eye.expand(*A.shape)
    for i in reversed(range(k)):  # H_i (H_{i+1} ... H_k Q0): the reflections from the right end
        v = V[..., :, i : i + 1]
        Q = Q - (v * tau[..., i : i + 1].unsqueeze(-1)).matmul(v.transpose(-2, -1).matmul(Q))
    if k == 0:  # (still in A's graph with a zero gradient, as PyTorch: an empty sum is 0)
        Q = Q + V[..., :, :0].sum(-1, keepdim=True)
    return _named(Q, "LinalgHouseholderProductBackward0")


def eig(A: Any) -> tuple:
    """Not available: the eigenvalues of a general real matrix are complex, and tinyconv has
    no complex dtypes (use eigh for symmetric matrices)."""
    raise RuntimeError(
        "linalg.eig: not supported, because its results are complex and tinyconv has no "
        "complex dtypes; for a symmetric matrix use linalg.eigh"
    )


def eigvals(A: Any) -> Tensor:
    """Not available (complex results): see eig."""
    raise RuntimeError(
        "linalg.eigvals: not supported, because its results are complex and tinyconv has no "
        "complex dtypes; for a symmetric matrix use linalg.eigvalsh"
    )


# PyTorch's linalg functions take out= (these names): the result, computed as without it, is
# written into out as the top-level functions write theirs (torch_functions.accepting_out)
from .torch_functions import accepting_out as _accepting_out  # noqa: E402

for _name in (
    "cholesky cholesky_ex cond cross det eig eigh eigvals eigvalsh householder_product inv "
    "inv_ex lu lu_factor lu_factor_ex lu_solve matmul matrix_norm matrix_power matrix_rank "
    "multi_dot norm pinv qr slogdet solve solve_ex solve_triangular svd svdvals tensorinv "
    "tensorsolve vecdot vector_norm"
).split():
    if "out" not in _inspect.signature(globals()[_name]).parameters:
        globals()[_name] = _accepting_out(globals()[_name], f"linalg.{_name}")
