"""More module-level functions of PyTorch (`torch.clone`, `torch.isin`, `torch.result_type`,
`torch.tril_indices`, ...): aliases of Tensor methods, dtype queries and index builders.
tinyconv/__init__ re-exports them. Functional layer: built on the engine's Tensor methods and
on nn.functional (cosine_similarity, pairwise_distance, pdist live there)."""

from __future__ import annotations

import builtins
import functools
import math
import warnings
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _dtype, _histogram, _tensor_extra, linalg
from ._args import _check_device, _dim
from ._dtype import as_dtype, dtype_name
from ._printing import return_type_repr
from ._tensor_gaps import contiguous_format, strided_zeros
from ._tensor_math import _fused
from .autograd import grad_mode, ops, ops_linalg
from .autograd.ops import Op
from .autograd.ops_gaps import NoDerivative as _NoDerivative
from .nn.functional import cosine_similarity, pairwise_distance, pdist  # noqa: F401
from .tensor import Device, Size, Tensor, _as_tensor
from .torch_functions import _scaled_number_op, cat, matmul, mul, sub


def _arg(input: Any, what: str, name: str = "input") -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{what}: argument '{name}' must be a Tensor, got {type(input).__name__}")
    return input


# -- aliases of Tensor methods ----------------------------------------------------------------


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy of input (differentiable), laid out in memory_format (default: input's)."""
    t = _arg(input, "clone()")
    return t.clone() if memory_format is None else t.clone(memory_format=memory_format)


def multiply(input: Tensor, other: Any, *, out: Tensor | None = None) -> Tensor:
    """torch.mul's alias."""
    return mul(input, other, out=out)


def subtract(input: Tensor, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
    """torch.sub's alias."""
    return sub(input, other, alpha, out=out)


def not_equal(input: Tensor, other: Any) -> Tensor:
    return _arg(input, "not_equal()").ne(other)


def greater(input: Tensor, other: Any) -> Tensor:
    return _arg(input, "greater()").gt(other)


def greater_equal(input: Tensor, other: Any) -> Tensor:
    return _arg(input, "greater_equal()").ge(other)


def less(input: Tensor, other: Any) -> Tensor:
    return _arg(input, "less()").lt(other)


def less_equal(input: Tensor, other: Any) -> Tensor:
    return _arg(input, "less_equal()").le(other)


def positive(input: Tensor) -> Tensor:
    return _arg(input, "positive()").positive()


def ravel(input: Tensor) -> Tensor:
    return _arg(input, "ravel()").ravel()


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    return _arg(input, "unflatten()").unflatten(dim, sizes)


def erfc(input: Tensor) -> Tensor:
    return _arg(input, "erfc()").erfc()


def erfc_(input: Tensor) -> Tensor:
    return _arg(input, "erfc_()").erfc_()


def sinc(input: Tensor) -> Tensor:
    return _arg(input, "sinc()").sinc()


def sinc_(input: Tensor) -> Tensor:
    return _arg(input, "sinc_()").sinc_()


def fmax(input: Tensor, other: Tensor) -> Tensor:
    return _arg(input, "fmax()").fmax(other)


def fmin(input: Tensor, other: Tensor) -> Tensor:
    return _arg(input, "fmin()").fmin(other)


def gcd(input: Tensor, other: Tensor) -> Tensor:
    return _arg(input, "gcd()").gcd(other)


def lcm(input: Tensor, other: Tensor) -> Tensor:
    return _arg(input, "lcm()").lcm(other)


def gcd_(input: Tensor, other: Tensor) -> Tensor:
    return _arg(input, "gcd_()").gcd_(other)


def lcm_(input: Tensor, other: Tensor) -> Tensor:
    return _arg(input, "lcm_()").lcm_(other)


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    return _arg(input, "heaviside()").heaviside(values)


def float_power(input: Any, exponent: Any) -> Tensor:
    """input ** exponent in float64; either may be a number (not both)."""
    if not isinstance(input, Tensor):
        if not isinstance(exponent, Tensor):
            raise TypeError("float_power(): input or exponent must be a Tensor")
        return _as_tensor(np.asarray(input, dtype=np.float64)).float_power(exponent)
    return input.float_power(exponent)


def ldexp(input: Tensor, other: Tensor) -> Tensor:
    return _arg(input, "ldexp()").ldexp(other)


def frexp(input: Tensor) -> Any:
    return _arg(input, "frexp()").frexp()


def nextafter(input: Tensor, other: Tensor) -> Tensor:
    return _arg(input, "nextafter()").nextafter(other)


def matrix_power(input: Tensor, n: int) -> Tensor:
    return _arg(input, "matrix_power()").matrix_power(n)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    return _arg(input, "addr()").addr(vec1, vec2, beta=beta, alpha=alpha)


def addbmm(
    input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1
) -> Tensor:
    return _arg(input, "addbmm()").addbmm(batch1, batch2, beta=beta, alpha=alpha)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    return _arg(input, "diagflat()").diagflat(offset)


def renorm(input: Tensor, p: Any, dim: int, maxnorm: Any) -> Tensor:
    return _arg(input, "renorm()").renorm(p, dim, maxnorm)


def hsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    return _arg(input, "hsplit()").hsplit(indices_or_sections)


def vsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    return _arg(input, "vsplit()").vsplit(indices_or_sections)


def dsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    return _arg(input, "dsplit()").dsplit(indices_or_sections)


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    return _arg(input, "select_scatter()").select_scatter(src, dim, index)


def as_strided(
    input: Tensor, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None
) -> Tensor:
    """``input.as_strided(size, stride, storage_offset)``: a view of input's memory."""
    return _arg(input, "as_strided()").as_strided(size, stride, storage_offset)


def empty_strided(
    size: Sequence[int],
    stride: Sequence[int],
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A new tensor of `size` whose elements lie `stride` elements apart in its own memory
    (just big enough for them). PyTorch leaves the values unset; here they are zeros."""
    if device is not None:
        _check_device(device, "empty_strided()")
    dt = _dtype.get_default_dtype() if dtype is None else as_dtype(dtype)
    arr = strided_zeros(size, stride, dt, "empty_strided()")
    return Tensor._make(arr, None, False).requires_grad_(requires_grad)


def empty_permuted(
    size: Sequence[int],
    physical_layout: Sequence[int],
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A new tensor of `size` whose dims lie in memory in the order `physical_layout`
    (outermost first): empty(size permuted).permute(back). Zeros, where PyTorch leaves them
    unset."""
    if device is not None:
        _check_device(device, "empty_permuted()")
    size, order = tuple(size), tuple(physical_layout)
    if sorted(order) != list(range(len(size))):
        raise RuntimeError(
            f"empty_permuted(): physical_layout {list(order)} is not a permutation of the "
            f"{len(size)} dims of size {list(size)}"
        )
    dt = _dtype.get_default_dtype() if dtype is None else as_dtype(dtype)
    arr = np.zeros([size[d] for d in order], dt)
    back = [order.index(d) for d in range(len(size))]
    return Tensor._make(arr.transpose(back), None, False).requires_grad_(requires_grad)


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    return _arg(input, "nonzero_static()").nonzero_static(size=size, fill_value=fill_value)


def _along(x: Tensor, d: int, start: Any, stop: Any) -> Tensor:
    return x[(slice(None),) * d + (slice(start, stop),)]


def gradient(
    input: Tensor, *, spacing: Any = 1, dim: Any = None, edge_order: int = 1
) -> tuple[Tensor, ...]:
    """Central differences of `input` along each of `dim` (default every dim), one-sided
    differences of order `edge_order` (1 or 2) at the two ends: PyTorch's formulas.
    spacing: a number (the step along every dim), one number per dim, or one 1-D tensor of
    coordinates per dim (uneven steps)."""
    what = "torch.gradient()"
    x = _arg(input, what)
    if edge_order not in (1, 2):
        raise RuntimeError(f"{what} only supports edge_order=1 and edge_order=2.")
    if dim is None:
        dims = list(range(x.ndim))
    elif isinstance(dim, (tuple, list)):
        dims = [_dim(d, x.ndim, what) for d in dim]
    else:
        dims = [_dim(dim, x.ndim, what)]
    if isinstance(spacing, (tuple, list)):
        steps = list(spacing)
        if len(steps) != len(dims):
            raise RuntimeError(
                f"{what} expected spacing to be unspecified, a scalar or its length to match "
                f"the number of dimensions in dim ({len(dims)}), but got length {len(steps)}"
            )
    else:
        steps = [spacing] * len(dims)
    for d in dims:
        if x.shape[d] < edge_order + 1:
            raise RuntimeError(
                f"{what} expected each dimension size to be at least edge_order+1, got size "
                f"{x.shape[d]} along dim {d} with edge_order={edge_order}"
            )
    out = []
    for d, h in zip(dims, steps, strict=True):
        if isinstance(h, Tensor):
            out.append(_gradient_coordinates(x, d, h, edge_order, what))
            continue
        center = (_along(x, d, 2, None) - _along(x, d, 0, -2)) / h
        if edge_order == 1:
            first = (_along(x, d, 1, 2) - _along(x, d, 0, 1)) / h
            last = (_along(x, d, -1, None) - _along(x, d, -2, -1)) / h
        else:
            first = (
                _along(x, d, 0, 1) * -1.5 + _along(x, d, 1, 2) * 2 - _along(x, d, 2, 3) * 0.5
            ) / h
            last = (
                _along(x, d, -3, -2) * 0.5
                + _along(x, d, -2, -1) * -2
                + _along(x, d, -1, None) * 1.5
            ) / h
        out.append(cat([first, center / 2, last], d))
    return tuple(out)


def _gradient_coordinates(x: Tensor, d: int, coords: Tensor, edge_order: int, what: str) -> Tensor:
    """gradient() along dim d with the samples at `coords` (1-D, x.shape[d] long)."""
    if coords.ndim != 1 or coords.shape[0] != x.shape[d]:
        raise RuntimeError(
            f"{what} expected each tensor in spacing to be 1-D with the size of input along "
            f"its dim ({x.shape[d]} along dim {d}), got shape {tuple(coords.shape)}"
        )
    shape = [1] * x.ndim
    shape[d] = -1
    dx = coords.diff()
    dx1, dx2 = dx[:-1], dx[1:]
    a = (-dx2 / (dx1 * (dx1 + dx2))).reshape(shape)
    b = ((dx2 - dx1) / (dx1 * dx2)).reshape(shape)
    c = (dx1 / (dx2 * (dx1 + dx2))).reshape(shape)
    center = a * _along(x, d, 0, -2) + b * _along(x, d, 1, -1) + c * _along(x, d, 2, None)
    if edge_order == 1:
        first = (_along(x, d, 1, 2) - _along(x, d, 0, 1)) / dx[0]
        last = (_along(x, d, -1, None) - _along(x, d, -2, -1)) / dx[-1]
    else:
        h0, h1 = dx[0], dx[1]
        fa = -(2.0 * h0 + h1) / (h0 * (h0 + h1))
        fb = (h0 + h1) / (h0 * h1)
        fc = -h0 / (h1 * (h0 + h1))
        first = fa * _along(x, d, 0, 1) + fb * _along(x, d, 1, 2) + fc * _along(x, d, 2, 3)
        h0, h1 = dx[-1], dx[-2]
        la = h0 / (h1 * (h0 + h1))
        lb = -(h0 + h1) / (h0 * h1)
        lc = (2 * h0 + h1) / (h0 * (h0 + h1))
        last = la * _along(x, d, -3, -2) + lb * _along(x, d, -2, -1) + lc * _along(x, d, -1, None)
    return cat([first, center, last], d)


class _ScatterBase(Op):
    """as_strided_scatter's copy of its input, whose backward raises: PyTorch 2.13 sends the
    gradient of the written region to `input` (which that region no longer depends on) and
    none of the rest, so no gradient here matches its numbers."""

    @staticmethod
    def forward(ctx, x):
        return np.array(x, order="C", copy=True)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(
            "as_strided_scatter(): the gradient with respect to input is not supported "
            "(PyTorch 2.13's is wrong: it keeps the written region's gradient instead of the "
            "rest); the gradient to src flows"
        )

    graph_backward = backward


def as_strided_scatter(
    input: Tensor, src: Tensor, size: Any, stride: Any, storage_offset: Any = None
) -> Tensor:
    """A copy of `input` (contiguous) with `src` written into its view
    as_strided(size, stride, storage_offset)."""
    x = _arg(input, "as_strided_scatter()")
    out = _ScatterBase.apply(x) if x.requires_grad else x.clone().contiguous()
    out.as_strided(size, stride, storage_offset).copy_(src)
    return out


def diagonal_scatter(
    input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1
) -> Tensor:
    return _arg(input, "diagonal_scatter()").diagonal_scatter(src, offset, dim1, dim2)


def slice_scatter(
    input: Tensor, src: Tensor, dim: int = 0, start: Any = None, end: Any = None, step: int = 1
) -> Tensor:
    return _arg(input, "slice_scatter()").slice_scatter(src, dim, start, end, step)


def is_nonzero(input: Tensor) -> bool:
    return _arg(input, "is_nonzero()").is_nonzero()


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    return _arg(input, "narrow_copy()").narrow_copy(dim, start, length)


def chain_matmul(*matrices: Tensor) -> Tensor:
    """The product of 2-D matrices, left to right (deprecated in PyTorch: write a @ b @ c)."""
    warnings.warn(
        "chain_matmul is deprecated (as in PyTorch); multiply with a @ b @ c instead",
        UserWarning,
        stacklevel=2,
    )
    if not matrices:
        raise RuntimeError("chain_matmul(): expected one or more matrices")
    for i, m in enumerate(matrices):
        if _arg(m, "chain_matmul()", f"matrices[{i}]").ndim != 2:
            raise RuntimeError(f"chain_matmul(): matrix {i} has {m.ndim} dims, expected 2")
    return matrices[0].clone() if len(matrices) == 1 else functools.reduce(matmul, matrices)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """The Moore-Penrose pseudo-inverse of each `(..., m, n)` matrix, `(..., n, m)`: singular
    values at or below rcond * the largest count as zero (Tensor.pinverse, linalg.pinv)."""
    return _arg(input, "pinverse()").pinverse(rcond)


def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False) -> Tensor:
    """X with A X = input, A given by its Cholesky factor input2 (Tensor.cholesky_solve)."""
    return _arg(input, "cholesky_solve()").cholesky_solve(input2, upper)


def cholesky_inverse(input: Tensor, upper: bool = False) -> Tensor:
    """A^-1 from A's Cholesky factor (Tensor.cholesky_inverse)."""
    return _arg(input, "cholesky_inverse()").cholesky_inverse(upper)


def triangular_solve(
    b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False, unitriangular: bool = False
) -> tuple:
    """The older linalg.solve_triangular: (solution, cloned_coefficient), see
    Tensor.triangular_solve."""
    return _arg(b, "triangular_solve()", "b").triangular_solve(A, upper, transpose, unitriangular)


def lu(A: Tensor, pivot: bool = True, get_infos: bool = False) -> tuple:
    """The older linalg.lu_factor: (LU, pivots), with get_infos (LU, pivots, info)
    (Tensor.lu)."""
    return _arg(A, "lu()", "A").lu(pivot, get_infos)


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:  # noqa: N803
    """The older linalg.lu_solve, arguments reversed: X with A X = b (Tensor.lu_solve)."""
    return _arg(b, "lu_solve()", "b").lu_solve(LU_data, LU_pivots)


def orgqr(input: Tensor, tau: Tensor) -> Tensor:
    """linalg.householder_product under its LAPACK name (torch.orgqr)."""
    return linalg.householder_product(input, tau)


LUUnpackResult = namedtuple("LUUnpackResult", ["P", "L", "U"])
LUUnpackResult.__repr__ = return_type_repr("lu_unpack")


def lu_unpack(
    LU_data: Tensor,  # noqa: N803
    LU_pivots: Tensor,  # noqa: N803
    unpack_data: bool = True,
    unpack_pivots: bool = True,
) -> tuple:
    """(P, L, U) from linalg.lu_factor's packed LU and pivots (empty tensors for the parts
    not asked for)."""
    what = "lu_unpack()"
    LU = _arg(LU_data, what, "LU_data")
    if LU.ndim < 2:
        raise RuntimeError(f"{what}: LU_data must have at least 2 dimensions, got {LU.ndim}")
    piv = ops_linalg.check_pivots(LU_pivots, LU, what)
    out = linalg._unpack(LU, piv, "LuUnpackBackward0", unpack_data, unpack_pivots)
    return LUUnpackResult(*out)


def set_flush_denormal(mode: bool) -> bool:
    """PyTorch's switch to flush subnormal floats to zero (x86 CPUs). NumPy has none, so
    tinyconv always keeps subnormals and returns False (not supported), as PyTorch does on
    processors without the feature."""
    return False


# -- dtype queries -----------------------------------------------------------------------------


def _dtype_arg(d: Any, what: str, name: str) -> np.dtype:
    if not isinstance(d, _dtype.DType):
        raise TypeError(f"{what}: argument '{name}' must be a tinyconv dtype, got {d!r}")
    return as_dtype(d)


def is_signed(input: Tensor) -> bool:
    """Whether input's dtype holds negative numbers (False for uint8 and bool)."""
    return _arg(input, "is_signed()").is_signed()


def result_type(tensor1: Any, tensor2: Any) -> Any:
    """The dtype an arithmetic op on the two operands (tensors or numbers) gives."""
    ops = []
    for name, x in (("tensor1", tensor1), ("tensor2", tensor2)):
        if isinstance(x, Tensor):
            ops.append(x._data)
        elif isinstance(x, (builtins.bool, builtins.int, builtins.float)):
            ops.append(x)
        else:
            raise TypeError(
                f"result_type(): argument '{name}' must be a Tensor or a number, got "
                f"{type(x).__name__}"
            )
    return _dtype.public(_dtype.result_type(*ops))


def promote_types(type1: Any, type2: Any) -> Any:
    """The smallest dtype both dtypes can be converted to (by category: float32 with int64
    gives float32)."""
    a = _dtype_arg(type1, "promote_types()", "type1")
    b = _dtype_arg(type2, "promote_types()", "type2")
    return _dtype.public(_dtype.promote_types(a, b))


def can_cast(from_: Any, to: Any) -> bool:
    """Whether PyTorch's casting rules allow from_ -> to: never down a category (float to
    integer, integer or float to bool); within a category, narrowing is allowed."""
    a = _dtype_arg(from_, "can_cast()", "from_")
    b = _dtype_arg(to, "can_cast()", "to")
    order = {"b": 0, "u": 1, "i": 1, "f": 2}
    return order[a.kind] <= order[b.kind]


def broadcast_shapes(*shapes: Any) -> Size:
    """The shape tensors of these shapes broadcast to (ints count as 1-D shapes)."""
    norm = []
    for s in shapes:
        if isinstance(s, (builtins.int, np.integer)) and not isinstance(s, builtins.bool):
            s = (s,)
        if not isinstance(s, (tuple, list)) or not builtins.all(
            isinstance(n, (builtins.int, np.integer)) and not isinstance(n, builtins.bool)
            for n in s
        ):
            raise TypeError(f"broadcast_shapes(): expected shapes of ints, got {s!r}")
        if builtins.any(n < 0 for n in s):
            raise RuntimeError(
                f"broadcast_shapes(): trying to create a tensor with negative dimension: {s}"
            )
        norm.append(tuple(builtins.int(n) for n in s))
    try:
        return Size(np.broadcast_shapes(*norm))
    except ValueError:
        raise RuntimeError(
            f"broadcast_shapes(): shapes {', '.join(str(s) for s in norm)} can't be broadcast "
            "together"
        ) from None


# -- index builders ------------------------------------------------------------------------------


def _tri_indices(row: int, col: int, offset: int, dtype: Any, upper: bool, what: str) -> Tensor:
    for name, v in (("row", row), ("col", col), ("offset", offset)):
        if not isinstance(v, (builtins.int, np.integer)) or isinstance(v, builtins.bool):
            raise TypeError(f"{what}: {name} must be an integer, got {v!r}")
    if row < 0 or col < 0:
        raise RuntimeError(f"{what}: row and col must be non-negative, got {row} and {col}")
    dt = np.int64 if dtype is None else as_dtype(dtype)
    if dt not in (np.dtype(np.int64), np.dtype(np.int32)):
        raise RuntimeError(f"{what}: dtype must be int32 or int64, got {dtype_name(dt)}")
    fn = np.triu_indices if upper else np.tril_indices
    r, c = fn(row, offset, col)
    return Tensor._make(np.stack([r, c]).astype(dt), None, False)


def tril_indices(
    row: int,
    col: int,
    offset: int = 0,
    *,
    dtype: Any = None,
    device: Any = None,
    layout: Any = None,
) -> Tensor:
    """(2, N): the row and column indices of the lower triangle of a row x col matrix (on and
    below diagonal `offset`), row by row."""
    if device is not None:
        _check_device(device, "tril_indices()")
    return _tri_indices(row, col, offset, dtype, False, "tril_indices()")


def triu_indices(
    row: int,
    col: int,
    offset: int = 0,
    *,
    dtype: Any = None,
    device: Any = None,
    layout: Any = None,
) -> Tensor:
    """(2, N): the row and column indices of the upper triangle (on and above `offset`)."""
    if device is not None:
        _check_device(device, "triu_indices()")
    return _tri_indices(row, col, offset, dtype, True, "triu_indices()")


def unravel_index(indices: Any, shape: Any) -> tuple:
    """The coordinates (one int64 tensor per dim of `shape`) of flat row-major indices."""
    what = "unravel_index()"
    t = _as_tensor(indices) if not isinstance(indices, Tensor) else indices
    if t._data.dtype.kind not in "iu":
        raise TypeError(f"{what}: expected 'indices' to be an integer tensor, got {t.dtype}")
    if isinstance(shape, (builtins.int, np.integer)):
        shape = (shape,)
    shape = tuple(builtins.int(s) for s in shape)
    if builtins.any(s < 0 for s in shape):
        raise RuntimeError(f"{what}: 'shape' cannot have negative values, got {shape}")
    n = int(np.prod(shape))
    idx = t._data.astype(np.int64)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise RuntimeError(f"{what}: 'indices' must be in range [{-n}, {n - 1}] for shape {shape}")
    idx = np.where(idx < 0, idx + n, idx)
    coords = np.unravel_index(idx, shape) if shape else ()
    return tuple(Tensor._make(np.asarray(c, dtype=np.int64), None, False) for c in coords)


def isin(
    elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False
) -> Tensor:
    """A bool tensor of elements' shape: whether each element is among test_elements
    (either may be a number)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin(): elements or test_elements must be a Tensor")
    e = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    te = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    dt = _dtype.result_type(e, te)  # compared in the promoted dtype, as PyTorch
    out = np.isin(e.astype(dt), te.astype(dt), invert=builtins.bool(invert))
    return Tensor._make(np.asarray(out), None, False)


def vander(x: Tensor, N: Any = None, increasing: bool = False) -> Tensor:  # noqa: N803
    """(n, N): the columns x**(N-1), ..., x, 1 (reversed with increasing); differentiable."""
    x = _arg(x, "vander()", "x")
    if x._data.ndim != 1:
        raise RuntimeError(f"vander(): x must be a 1-D tensor, got shape {tuple(x.shape)}")
    n = x._data.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError(f"vander(): N must be non-negative, got {n}")
    # bool and small ints compute in int64, as PyTorch (its cumprod promotes)
    base = x.to(np.int64) if x._data.dtype.kind in "biu" else x
    if n == 0:
        return Tensor._make(np.zeros((x._data.shape[0], 0), base._data.dtype), None, False)
    cols = base.unsqueeze(1).expand(x._data.shape[0], n - 1)
    ones = Tensor._make(np.ones((x._data.shape[0], 1), base._data.dtype), None, False)
    out = cat([ones, cols.cumprod(1)], 1) if n > 1 else ones
    return out if increasing else out.flip(1)


def cumulative_trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The running trapezoidal rule along dim (one value fewer than y): spacing dx (default
    1) or sample points x."""
    y = _arg(y, "cumulative_trapezoid()", "y")
    return _tensor_extra.cumulative_trapezoid(y, x, dx=dx, dim=dim)


# -- Tensor methods PyTorch also offers as torch.X(t, ...) -------------------------------------


def index_put(input: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    return _arg(input, "index_put()").index_put(indices, values, accumulate)


def index_put_(input: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    return _arg(input, "index_put_()").index_put_(indices, values, accumulate)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    return _arg(input, "put()").put(index, source, accumulate)


def is_same_size(input: Tensor, other: Tensor) -> bool:
    return _arg(input, "is_same_size()").is_same_size(other)


def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    return _arg(input, "split_with_sizes()").split_with_sizes(split_sizes, dim)


def get_device(input: Tensor) -> int:
    return _arg(input, "get_device()").get_device()


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    return _arg(input, "hardshrink()").hardshrink(lambd)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    return _arg(input, "prelu()").prelu(weight)


def addmv_(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    return _arg(input, "addmv_()").addmv_(mat, vec, beta=beta, alpha=alpha)


def ldexp_(input: Tensor, other: Tensor) -> Tensor:
    return _arg(input, "ldexp_()").ldexp_(other)


def rsub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """other - alpha * input; a number `other` keeps its double value, as in `other - input`."""
    if isinstance(input, Tensor) and not isinstance(other, Tensor):
        return _scaled_number_op(ops.Sub, other, input, alpha, "RsubBackward1", "rsub()")
    return _fused(sub(other, input, alpha), "RsubBackward0", input, other)


# -- complex-number functions on real tensors (tinyconv has no complex dtypes) ---------------
# Generic code calls them on any tensor; PyTorch returns a real tensor itself.


def conj(input: Tensor) -> Tensor:
    return _arg(input, "conj()").conj()


def conj_physical(input: Tensor) -> Tensor:
    return _arg(input, "conj_physical()").conj_physical()


def conj_physical_(input: Tensor) -> Tensor:
    return _arg(input, "conj_physical_()").conj_physical_()


def resolve_conj(input: Tensor) -> Tensor:
    return _arg(input, "resolve_conj()").resolve_conj()


def resolve_neg(input: Tensor) -> Tensor:
    return _arg(input, "resolve_neg()").resolve_neg()


def is_conj(input: Tensor) -> bool:
    return _arg(input, "is_conj()").is_conj()


def is_neg(input: Tensor) -> bool:
    return _arg(input, "is_neg()").is_neg()


def isreal(input: Tensor) -> Tensor:
    return _arg(input, "isreal()").isreal()


def real(input: Tensor) -> Tensor:
    return _arg(input, "real()").real


def imag(input: Tensor) -> Tensor:
    return _arg(input, "imag()").imag


def adjoint(input: Tensor) -> Tensor:
    """The last two dims swapped (a view)."""
    return _arg(input, "adjoint()").adjoint()


def detach(input: Tensor) -> Tensor:
    """input.detach(): the same data, out of the graph."""
    return _arg(input, "detach()").detach()


def get_default_device() -> Any:
    """tinyconv.device('cpu'): the only device tinyconv computes on."""
    return Device("cpu")


def set_default_device(device: Any) -> None:
    """Accepts 'cpu' (or None, PyTorch's reset); any other device raises, as tinyconv runs on
    the CPU only."""
    if device is not None:
        _check_device(device, "set_default_device()")


def histogram(
    input: Tensor,
    bins: Any = 100,
    *,
    range: Sequence[float] | None = None,  # noqa: A002  (PyTorch's name)
    weight: Tensor | None = None,
    density: bool = False,
) -> Any:
    """(hist, bin_edges): Tensor.histogram of ``input`` (see there)."""
    return _arg(input, "histogram()").histogram(bins, range=range, weight=weight, density=density)


HistogramDD = namedtuple("histogramdd", ["hist", "bin_edges"])  # torch.return_types.histogramdd
HistogramDD.__repr__ = return_type_repr("histogramdd")


def histogramdd(
    input: Tensor,
    bins: Any = 10,
    *,
    range: Sequence[float] | None = None,  # noqa: A002  (PyTorch's name)
    weight: Tensor | None = None,
    density: bool = False,
) -> HistogramDD:
    """(hist, bin_edges) of the points ``input (..., D)`` over D dims: hist (B_1, ..., B_D),
    bin_edges a tuple of D 1-D tensors. ``bins``: one int for every dim, an int per dim, or
    a 1-D tensor of edges per dim; ``range``: [min_1, max_1, ..., min_D, max_D] (the data's,
    by default). Each bin holds [left, right), the last also its right edge. As histogram:
    input's dtype, no derivative."""
    x = _arg(input, "histogramdd()")
    a = x._data
    if a.dtype.kind != "f":
        raise NotImplementedError(f'"histogramdd" not implemented for {dtype_name(a.dtype)}')
    if a.ndim < 1:
        raise RuntimeError("histogramdd(): input must have at least 1 dimension (..., D)")
    D = a.shape[-1]
    points = a.reshape(-1, D)
    per_dim = list(bins) if isinstance(bins, (tuple, list)) else [bins] * D
    if len(per_dim) != D:
        raise RuntimeError(
            "histogramdd: The size of bins must be equal to the innermost dimension of the "
            f"input (bins for {len(per_dim)} dims, input's points have {D})"
        )
    if range is not None and len(range) != 2 * D:
        raise RuntimeError(
            f"histogramdd(): range must give a min and a max per dim ({2 * D} numbers), "
            f"got {len(range)}"
        )
    edges = []
    for d, b in enumerate(per_dim):
        if isinstance(b, Tensor):
            e = b._data
            if e.ndim != 1 or e.size < 1 or e.dtype != a.dtype:
                raise RuntimeError(
                    f"histogramdd(): bins[{d}] must be a 1-D tensor of edges in input's dtype "
                    f"({dtype_name(a.dtype)}), got shape {tuple(e.shape)}, {dtype_name(e.dtype)}"
                )
            edges.append(e)
        else:
            pair = None if range is None else range[2 * d : 2 * d + 2]
            edges.append(_histogram.equal_bins(points[:, d], b, pair, "histogramdd()"))
    w = None
    if weight is not None:
        w = _arg(weight, "histogramdd()", "weight")._data
        if w.shape != a.shape[:-1] or w.dtype != a.dtype:
            raise RuntimeError(
                f"histogramdd(): weight must have input's shape without its last dim "
                f"{tuple(a.shape[:-1])} and input's dtype, got {tuple(w.shape)}, "
                f"{dtype_name(w.dtype)}"
            )
        w = w.reshape(-1)
    keep = np.ones(points.shape[0], dtype=bool)
    for d, e in enumerate(edges):
        keep &= (points[:, d] >= e[0]) & (points[:, d] <= e[-1])  # (NaN falls outside)
    shape = tuple(max(e.size - 1, 0) for e in edges)
    if all(shape):
        cells = np.ravel_multi_index(
            tuple(_histogram.bin_index(points[keep, d], e) for d, e in enumerate(edges)), shape
        )
        wk = None if w is None else w[keep]
        hist = np.bincount(cells, weights=wk, minlength=math.prod(shape))
    else:
        hist = np.zeros(math.prod(shape))
    hist = hist.reshape(shape).astype(a.dtype)
    if density:
        volume = np.ones(shape)
        for d, e in enumerate(edges):
            volume = volume * np.diff(e).reshape((-1,) + (1,) * (D - 1 - d))
        with np.errstate(divide="ignore", invalid="ignore"):
            hist = (hist / hist.sum() / volume).astype(a.dtype)
    h = Tensor._make(hist, None, False)
    es = [Tensor._make(np.array(e, copy=True), None, False) for e in edges]
    if x.requires_grad and grad_mode.is_grad_enabled():
        h = _NoDerivative.apply(x, h._data, "histogramdd")
        es = [_NoDerivative.apply(x, e._data, "histogramdd") for e in es]
    return HistogramDD(h, tuple(es))


def deprecated_range(
    start: float = 0,
    end: float | None = None,
    step: float = 1,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """torch.range (deprecated in PyTorch, which warns): start, start + step, ... up to and
    including end, in the default float dtype unless `dtype` is given; each value
    start + i * step computed in float64, then cast."""
    warnings.warn(
        "torch.range is deprecated and will be removed in a future release because its "
        "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, "
        "which produces values in [start, end).",
        UserWarning,
        stacklevel=2,
    )
    if end is None:  # (range(end) as range(0, end))
        start, end = 0, start
    if device is not None:
        _check_device(device, "range()")
    s, e, st = (builtins.float(v) for v in (start, end, step))
    if st == 0:
        raise RuntimeError("range(): step must be nonzero")
    if (st > 0 and e < s) or (st < 0 and e > s):
        raise RuntimeError(
            f"range(): upper bound {end} and lower bound {start} inconsistent with step sign {step}"
        )
    n = builtins.int(np.trunc((e - s) / st + 1))
    dt = _dtype.get_default_dtype() if dtype is None else dtype
    values = (s + np.arange(n, dtype=np.float64) * st).astype(as_dtype(dt))
    t = Tensor._make(values, None, False)
    if requires_grad:
        t.requires_grad_(True)
    return t


deprecated_range.__name__ = deprecated_range.__qualname__ = "range"


# -- the *_copy forms of the view ops (PyTorch's functionalization): a contiguous copy of the
# view, under one node named as PyTorch's (TransposeBackward0_copy, ...) ----------------------


def _copy_of(view: Tensor, name: str, input: Tensor) -> Tensor:
    return _fused(view.clone(memory_format=contiguous_format), name, input)


def alias_copy(input: Tensor) -> Tensor:
    return _copy_of(_arg(input, "alias_copy()"), "AliasBackward0_copy", input)


def expand_copy(input: Tensor, size: Sequence[int], *, implicit: bool = False) -> Tensor:
    return _copy_of(_arg(input, "expand_copy()").expand(*size), "ExpandBackward0_copy", input)


def permute_copy(input: Tensor, dims: Sequence[int]) -> Tensor:
    return _copy_of(
        _arg(input, "permute_copy()").permute(tuple(dims)), "PermuteBackward0_copy", input
    )


def select_copy(input: Tensor, dim: int, index: int) -> Tensor:
    return _copy_of(_arg(input, "select_copy()").select(dim, index), "SelectBackward0_copy", input)


def slice_copy(
    input: Tensor, dim: int = 0, start: Any = None, end: Any = None, step: int = 1
) -> Tensor:
    x = _arg(input, "slice_copy()")
    d = _dim(dim, x.ndim, "slice_copy()")
    view = x[(slice(None),) * d + (slice(start, end, step),)]
    return _copy_of(view, "SliceBackward0_copy", input)


def squeeze_copy(input: Tensor, dim: Any = None) -> Tensor:
    x = _arg(input, "squeeze_copy()")
    # PyTorch's node: SqueezeBackward0 (all dims), 1 (one dim), 2 (a tuple of dims)
    n = 0 if dim is None else (2 if isinstance(dim, (tuple, list)) else 1)
    return _copy_of(
        x.squeeze() if dim is None else x.squeeze(dim), f"SqueezeBackward{n}_copy", input
    )


def unsqueeze_copy(input: Tensor, dim: int) -> Tensor:
    x = _arg(input, "unsqueeze_copy()")
    return _copy_of(x.unsqueeze(dim), "UnsqueezeBackward0_copy", input)


def t_copy(input: Tensor) -> Tensor:
    return _copy_of(_arg(input, "t_copy()").t(), "TBackward0_copy", input)


def transpose_copy(input: Tensor, dim0: int, dim1: int) -> Tensor:
    x = _arg(input, "transpose_copy()")
    return _copy_of(x.transpose(dim0, dim1), "TransposeBackward0_copy", input)


def diagonal_copy(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    x = _arg(input, "diagonal_copy()")
    return _copy_of(x.diagonal(offset, dim1, dim2), "DiagonalBackward0_copy", input)


def view_copy(input: Tensor, size: Any) -> Tensor:
    x = _arg(input, "view_copy()")
    view = x.view(size) if not isinstance(size, (tuple, list)) else x.view(*size)
    return _copy_of(view, "ViewBackward0_copy", input)


def unfold_copy(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    x = _arg(input, "unfold_copy()")
    return _copy_of(x.unfold(dimension, size, step), "UnfoldBackward0_copy", input)


def as_strided_copy(input: Tensor, size: Any, stride: Any, storage_offset: Any = None) -> Tensor:
    x = _arg(input, "as_strided_copy()")
    view = x.as_strided(size, stride, storage_offset)
    return _copy_of(view, "AsStridedBackward0_copy", input)


def split_copy(input: Tensor, split_size: Any, dim: int = 0) -> list[Tensor]:
    parts = _arg(input, "split_copy()").split(split_size, dim)
    return [_copy_of(p, "SplitBackward0_copy", input) for p in parts]


def split_with_sizes_copy(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> list[Tensor]:
    parts = _arg(input, "split_with_sizes_copy()").split(list(split_sizes), dim)
    return [_copy_of(p, "SplitWithSizesBackward0_copy", input) for p in parts]


def unbind_copy(input: Tensor, dim: int = 0) -> list[Tensor]:
    parts = _arg(input, "unbind_copy()").unbind(dim)
    return [_copy_of(p, "UnbindBackward0_copy", input) for p in parts]


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """chunk (PyTorch's unsafe_ form skips a check on later in-place use of the parts)."""
    return _arg(input, "unsafe_chunk()").chunk(chunks, dim)


def unsafe_split(input: Tensor, split_size: Any, dim: int = 0) -> tuple:
    return _arg(input, "unsafe_split()").split(split_size, dim)


def unsafe_split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    return _arg(input, "unsafe_split_with_sizes()").split(list(split_sizes), dim)


def frobenius_norm(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """The older sqrt(sum of squares) over `dim` (linalg.vector_norm's 2-norm)."""
    return linalg.vector_norm(_arg(input, "frobenius_norm()"), 2, dim, keepdim)


def nuclear_norm(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The older sum of singular values (linalg.matrix_norm(..., 'nuc'))."""
    x = _arg(input, "nuclear_norm()")
    return linalg.matrix_norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim)
