"""More of PyTorch's tensor surface, each written as a composition of tinyconv's own
differentiable ops (no new backward to trust: the gradient is the chain rule through
ops that are already checked, and double backward comes with them).

Selections (median, kthvalue, mode, cummax/cummin, quantile) find their indices in
NumPy, then `gather` the values, so the gradient reaches exactly the chosen elements.
Where several elements tie, PyTorch documents its indices as not necessarily the
first occurrence; tinyconv picks the one PyTorch's CPU kernel picks (kernels/select.py
runs those selection algorithms' steps), so the gradient reaches the same element.

`Tensor` inherits these through the `TensorExtra` mixin. Engine level: imports only
the engine and the kernels.
"""

from __future__ import annotations

import builtins
import itertools
import warnings
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _dtype, _histogram
from ._args import IndexOutOfRange, _dim
from ._dtype import dtype_name, get_default_dtype, promote_types
from ._errors import TensorIndexError, TensorValueError
from ._printing import return_type_repr
from ._tensor_math import _float, _float_result, _fused, _index_tensor, _sliced, _where
from .autograd import grad_mode
from .kernels import select

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])  # torch.return_types.*
MinMax = namedtuple("MinMax", ["min", "max"])  # torch.return_types.aminmax
MinMax.__repr__ = return_type_repr("aminmax")
SignLogAbsDet = namedtuple("SignLogAbsDet", ["sign", "logabsdet"])  # torch.return_types.slogdet
SignLogAbsDet.__repr__ = return_type_repr("slogdet")
TriangularSolveResult = namedtuple("TriangularSolveResult", ["solution", "cloned_coefficient"])
TriangularSolveResult.__repr__ = return_type_repr("triangular_solve")
SVD = namedtuple("SVD", ["U", "S", "V"])  # torch.return_types.svd
SVD.__repr__ = return_type_repr("svd")
QR = namedtuple("QR", ["Q", "R"])  # torch.return_types.qr
QR.__repr__ = return_type_repr("qr")
_Histogram = namedtuple("histogram", ["hist", "bin_edges"])  # torch.return_types.histogram
_Histogram.__repr__ = return_type_repr("histogram")


def _long(arr: np.ndarray) -> Any:
    return _t.Tensor._make(np.asarray(arr, dtype=np.int64), None, False)


def _const(x: Any, like: Any) -> Any:
    """A number or array as a constant tensor in `like`'s dtype."""
    return _t.Tensor._make(np.asarray(x, dtype=like._data.dtype), None, False)


def _as(x: Any) -> Any:
    return _t._as_tensor(x)


def _stack(ts: list, dim: int = 0) -> Any:
    return _t.ops.Stack.apply(dim, *ts)


def _cat(ts: list, dim: int) -> Any:
    return _t.ops.Cat.apply(dim, *ts)


# the backward node PyTorch's selection ops show (their values come from gather/squeeze here)
_NODES = {
    "kthvalue()": "KthvalueBackward0",
    "median()": "MedianBackward1",
    "nanmedian()": "NanmedianBackward1",
    "mode()": "ModeBackward0",
    "cummax()": "CummaxBackward0",
    "cummin()": "CumminBackward0",
    "median": "MedianBackward0",
    "nanmedian": "NanmedianBackward0",
}


def _named(values: Any, what: str) -> Any:
    """`values` with its grad_fn shown under PyTorch's node name for `what`."""
    if values.grad_fn is not None:
        values.grad_fn.torch_name = _NODES[what]
    return values


def _no_bool(x: Any, what: str) -> None:
    """PyTorch's CPU selection kernels (kthvalue, median, nanmedian) have no bool version."""
    if x._data.dtype == np.bool_:
        raise NotImplementedError(f"{what}: not implemented for dtype bool (as PyTorch)")


def _rowwise(pick: Any) -> Any:
    """A `_select_along` picker from one that takes 2-D (rows, n) arrays and returns (rows,)
    indices."""

    def along(a: np.ndarray, d: int) -> np.ndarray:
        moved = np.moveaxis(a, d, -1)
        return pick(moved.reshape(-1, moved.shape[-1])).reshape(moved.shape[:-1])

    return along


def _check_float(x: Any, what: str) -> None:
    if x._data.dtype.kind != "f":
        raise NotImplementedError(
            f"{what}: expected a floating point tensor, got dtype {dtype_name(x._data.dtype)}"
        )


class TensorExtra:
    """Mixin: compositions of existing ops (see the module docstring)."""

    # -- selections --------------------------------------------------------------
    def _select_along(self, dim: Any, keepdim: bool, pick: Any, what: str) -> Any:
        """Values and indices of the element `pick(sorted_order, values)` chooses per slice."""
        x = self
        if dim is None:
            x, d = self.reshape(-1), 0
        else:
            d = _dim(dim, max(self._data.ndim, 1), what)
            if self._data.ndim == 0:
                x = self.reshape(1)
        if x._data.shape[d] == 0:
            raise IndexError(f"{what}: cannot select from an empty dimension {d}")
        idx = np.expand_dims(pick(x._data, d), d)
        values = x.gather(d, _long(idx))
        if not keepdim or dim is None:
            values, idx = values.squeeze(d), np.squeeze(idx, d)
        if self._data.ndim == 0:
            values, idx = values.reshape(()), idx.reshape(())
        return _named(values, what), _long(idx)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        """The k-th smallest element (k from 1) along `dim`, and its index: among equal values
        the one PyTorch's CPU quickselect picks (kernels/select.py)."""
        n = (
            self._data.shape[_dim(dim, max(self._data.ndim, 1), "kthvalue()")]
            if self._data.ndim
            else 1
        )
        if n == 0:  # (PyTorch checks this first, with an IndexError)
            raise IndexOutOfRange("kthvalue(): the dimension to reduce over has size 0")
        if not 1 <= k <= n:
            raise RuntimeError(f"kthvalue(): k ({k}) out of range for a dimension of size {n}")
        _no_bool(self, "kthvalue()")
        v, i = self._select_along(
            dim, keepdim, _rowwise(lambda a: select.torch_kthvalue_index(a, k)), "kthvalue()"
        )
        return ValuesIndices(v, i)

    def median(self, dim: Any = None, keepdim: bool = False) -> Any:
        """The lower median. Without dim: a 0-d tensor whose gradient is shared equally by
        every element equal to it (every NaN if it is NaN), as PyTorch's; with dim: (values,
        indices), the index PyTorch's CPU kernel picks among equal values (NaN propagates: the
        first NaN)."""
        _no_bool(self, "median()")
        if dim is None:
            return _named(self._median_all(False), "median")

        def pick(a: np.ndarray, d: int) -> np.ndarray:
            # PyTorch orders (value, index) pairs: the stable order's (n - 1) // 2-th
            order = np.argsort(a, axis=d, kind="stable")
            idx = np.take(order, (a.shape[d] - 1) // 2, axis=d)
            if a.dtype.kind == "f":
                nan = np.isnan(a)
                idx = np.where(nan.any(d), np.argmax(nan, axis=d), idx)
            return idx

        return ValuesIndices(*self._select_along(dim, keepdim, pick, "median()"))

    def _median_all(self, ignore_nan: bool) -> Any:
        """median() / nanmedian() of every element: the value std::nth_element leaves in the
        middle (so also the sign of a zero median), its gradient shared by all the elements
        equal to it."""
        flat = self.reshape(-1)
        a = flat._data
        if a.size == 0:
            if a.dtype.kind in "iu":
                # PyTorch fills the result with NaN converted to the dtype: the lowest value
                # for int32 and int64 (x86's conversion), 0 for the narrower ones
                low = np.iinfo(a.dtype).min if a.dtype.itemsize >= 4 and a.dtype.kind == "i" else 0
                return _const(low, self).reshape(())
            return _const(np.nan, self).reshape(()) * flat.sum()
        nan = np.isnan(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool)
        valid = a.size - int(nan.sum()) if ignore_nan else a.size
        if (nan.any() and not ignore_nan) or valid == 0:
            ties, m = nan, np.nan
        else:
            m = np.sort(a[~nan])[(valid - 1) // 2]
            if m == 0 and a.dtype.kind == "f":  # which zero: the one nth_element leaves there
                m = select.nth_element_value(a, (valid - 1) // 2, ignore_nan)
            ties = a == m
        if a.dtype.kind != "f" or ties.sum() == 1:
            # (a new tensor, not a view of the input, as PyTorch's result)
            return flat[int(np.argmax(ties))].clone()
        # the ties share the gradient equally, grad / k as PyTorch's (grad * (1 / k) can differ
        # in the last bit); selected (flat * a weight of 0 or 1/k made the median of a tensor
        # holding an inf nan), then shifted by a constant to m exactly (m / k summed k times
        # can round off)
        mask = _t.Tensor._make(ties, None, False)
        out = (flat.where(mask, 0.0) / float(ties.sum())).sum()
        if np.isnan(m):
            return out
        if m == 0:  # a sum of zeros is +0 unless all are -0: take m's sign (gradient kept)
            return -((-out) + 0.0) if np.signbit(m) else out + 0.0
        with np.errstate(invalid="ignore"):  # (inf - inf: the sum is m already)
            shift = np.where(out._data == m, 0, m - out._data).astype(out._data.dtype)
        return out + _const(shift, out) if shift else out

    def nanmedian(self, dim: Any = None, keepdim: bool = False) -> Any:
        """median() ignoring NaNs (NaN only where a slice is all NaN)."""
        _no_bool(self, "nanmedian()")
        if dim is None:
            return _named(self._median_all(True), "nanmedian")

        def pick(a: np.ndarray, d: int) -> np.ndarray:
            order = np.argsort(a, axis=d, kind="stable")  # NaNs sort last
            count = np.sum(~np.isnan(a), axis=d, keepdims=True)
            k = np.maximum((count - 1) // 2, 0)
            idx = np.squeeze(np.take_along_axis(order, k, axis=d), d)
            # a row of NaNs: all equivalent to std::nth_element, which leaves some NaN first
            return np.where(count.squeeze(d) == 0, select.nth_of_equal(a.shape[d], 0), idx)

        return ValuesIndices(*self._select_along(dim, keepdim, pick, "nanmedian()"))

    def mode(self, dim: int = -1, keepdim: bool = False) -> Any:
        """The most frequent value along `dim` (the smallest one on a tie) and the index
        PyTorch's CPU kernel returns for it (kernels/select.py)."""
        return ValuesIndices(
            *self._select_along(dim, keepdim, _rowwise(select.torch_mode_index), "mode()")
        )

    def _cumulative(self, dim: int, better: Any, what: str) -> Any:
        d = _dim(dim, max(self._data.ndim, 1), what)
        x = self if self._data.ndim else self.reshape(1)
        a = np.moveaxis(x._data, d, -1)
        idx = np.zeros(a.shape, dtype=np.int64)
        if a.shape[-1]:
            best = a[..., 0].copy()
            for j in range(1, a.shape[-1]):
                # ties move to the later index, and a NaN wins and stays (as PyTorch)
                take = better(a[..., j], best) | (a[..., j] == best) | np.isnan(a[..., j])
                take &= ~np.isnan(best) | np.isnan(a[..., j])
                best = np.where(take, a[..., j], best)
                idx[..., j] = np.where(take, j, idx[..., j - 1])
        idx = np.ascontiguousarray(np.moveaxis(idx, -1, d))  # (PyTorch's results are contiguous)
        values = x.gather(d, _long(idx))
        if not self._data.ndim:
            values, idx = values.reshape(()), idx.reshape(())
        return ValuesIndices(_named(values, what), _long(idx))

    def cummax(self, dim: int) -> Any:
        """Running maximum along `dim` and where it was found (the last index on ties)."""
        return self._cumulative(dim, np.greater, "cummax()")

    def cummin(self, dim: int) -> Any:
        """Running minimum along `dim` and where it was found (the last index on ties)."""
        return self._cumulative(dim, np.less, "cummin()")

    def logcumsumexp(self, dim: int) -> Any:
        """log(cumsum(exp(x))) along `dim`, shifted by the max so exp cannot overflow."""
        _check_float(self, "logcumsumexp()")
        d = _dim(dim, max(self._data.ndim, 1), "logcumsumexp()")
        if self._data.size == 0:
            return self.clone()
        shift = np.max(self._data, axis=d if self._data.ndim else None, keepdims=True)
        shift = np.where(np.isfinite(shift), shift, 0)
        s = _const(shift, self)
        return _fused((self - s).exp().cumsum(d).log() + s, "LogcumsumexpBackward0", self)

    def aminmax(self, *, dim: Any = None, keepdim: bool = False) -> Any:
        """(amin, amax) over `dim` (all elements if None); both under the name of PyTorch's
        one node (AminmaxBackward0), each with amin's and amax's gradient."""
        if dim is None:
            dim, keepdim = (tuple(range(self._data.ndim)), True) if keepdim else ((), False)
        low, high = (
            (self.amin(), self.amax())
            if dim == ()
            else (self.amin(dim, keepdim), self.amax(dim, keepdim))
        )
        return MinMax(_fused(low, "AminmaxBackward0", self), _fused(high, "AminmaxBackward0", self))

    def msort(self) -> Any:
        """sort along dim 0, values only."""
        return self.sort(0).values

    def quantile(
        self, q: Any, dim: Any = None, keepdim: bool = False, *, interpolation: str = "linear"
    ) -> Any:
        """The q-th quantiles (q in [0, 1], a number or a 1-D tensor, whose entries then
        lead the output's shape) along `dim` (of the flattened tensor if None)."""
        return self._quantile(q, dim, keepdim, interpolation, False, "quantile()")

    def nanquantile(
        self, q: Any, dim: Any = None, keepdim: bool = False, *, interpolation: str = "linear"
    ) -> Any:
        """quantile() ignoring NaNs."""
        return self._quantile(q, dim, keepdim, interpolation, True, "nanquantile()")

    def _quantile(
        self, q: Any, dim: Any, keepdim: bool, interpolation: str, skip_nan: bool, what: str
    ) -> Any:
        _check_float(self, what)
        if self._data.dtype == np.float16:  # (PyTorch's kernel takes float32 and float64 only)
            raise RuntimeError(f"{what}: the input must be float32 or float64, got float16")
        modes = ("linear", "lower", "higher", "midpoint", "nearest")
        if interpolation not in modes:
            raise TensorValueError(
                f"{what}: interpolation must be one of {modes}, got {interpolation!r}"
            )
        if isinstance(q, _t.Tensor) and q._data.dtype != self._data.dtype:
            raise RuntimeError(
                f"{what}: the q tensor must have the input's dtype "
                f"({dtype_name(self._data.dtype)}), got {dtype_name(q._data.dtype)}"
            )
        qs = q._data if isinstance(q, _t.Tensor) else np.asarray(q, dtype=np.float64)
        if qs.ndim > 1:
            raise RuntimeError(f"{what}: q must be a number or a 1-D tensor, got {qs.ndim}-D")
        if np.any((qs < 0) | (qs > 1)):
            raise RuntimeError(f"{what}: q values must be in the range [0, 1]")
        if self._data.size == 0:
            raise RuntimeError(f"{what}: the input tensor must be non-empty")
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else _dim(dim, max(self._data.ndim, 1), what)
        if x._data.ndim == 0:
            x = x.reshape(1)
        if x._data.shape[d] == 0:
            raise IndexError(f"{what}: cannot compute a quantile over an empty dimension")
        s = x.sort(d).values  # NaNs last
        a = s._data
        kept = list(a.shape)
        kept[d] = 1
        if skip_nan:
            count = np.sum(~np.isnan(a), axis=d, keepdims=True)
        else:
            count = np.full(kept, a.shape[d])
        outs = []
        for qv in np.atleast_1d(qs):
            # (the ranks in the input's dtype, as PyTorch's q * last_index)
            pos = a.dtype.type(qv) * (np.maximum(count, 1) - 1).astype(a.dtype)
            lo = np.floor(pos).astype(np.int64)
            hi = np.ceil(pos).astype(np.int64)
            frac = pos - lo
            if interpolation == "lower":
                hi, frac = lo, frac * 0
            elif interpolation == "higher":
                lo, frac = hi, frac * 0
            elif interpolation == "nearest":  # round half to even, as PyTorch
                near = np.round(pos).astype(np.int64)
                lo = hi = near
                frac = frac * 0
            elif interpolation == "midpoint":  # (0.5 even where hi == lo, as PyTorch's)
                frac = np.full_like(frac, 0.5)
            # PyTorch's NaN results are sorted NaNs, which take the gradient: a NaN anywhere in
            # a slice gives the last sorted element (quantile), an all-NaN slice the first
            # (nanquantile)
            nan_at = None
            if not skip_nan and np.isnan(a).any():
                nan_at, place = np.isnan(a).any(axis=d, keepdims=True), a.shape[d] - 1
            elif skip_nan:
                nan_at, place = count == 0, 0
            if nan_at is not None:
                lo, hi = np.where(nan_at, place, lo), np.where(nan_at, place, hi)
                frac = np.where(nan_at, 0.0, frac)
            v_lo = s.gather(d, _long(lo))
            if interpolation in ("lower", "higher", "nearest"):  # the element itself (a -0.0 too)
                val = v_lo
            else:
                v_hi = s.gather(d, _long(hi))
                val = v_lo.lerp(v_hi, _const(frac, s))  # (PyTorch's lerp: its infinities too)
            if dim is None:
                val = val.reshape((1,) * self._data.ndim if keepdim else ())
            elif not keepdim:
                val = val.squeeze(d)
            outs.append(val)
        if np.ndim(qs) == 0:
            return outs[0]
        return _stack(outs)

    # -- products ----------------------------------------------------------------------
    def tensordot(self, other: Any, dims: Any = 2) -> Any:
        """Sum over the last `dims` dims of self and the first of other (or over the dims
        listed as ([self dims], [other dims]))."""
        return _tensordot(self, other, dims)

    def kron(self, other: Any) -> Any:
        """The Kronecker product: every element of self times a whole copy of other."""
        a, b = self, other
        n = max(a._data.ndim, b._data.ndim)
        a = a.reshape((1,) * (n - a._data.ndim) + tuple(a.shape))
        b = b.reshape((1,) * (n - b._data.ndim) + tuple(b.shape))
        a2 = a.reshape(tuple(itertools.chain.from_iterable((s, 1) for s in a.shape)))
        b2 = b.reshape(tuple(itertools.chain.from_iterable((1, s) for s in b.shape)))
        out = (a2 * b2).reshape(tuple(x * y for x, y in zip(a.shape, b.shape, strict=True)))
        return self._renamed(out, "UnsafeViewBackward0")  # (PyTorch's last node, a reshape)

    def inner(self, other: Any) -> Any:
        """Sum over the last dim of both (a product with a number, for 0-d inputs)."""
        if self._data.ndim == 0 or _as(other)._data.ndim == 0:
            return self * other
        if self._data.shape[-1] != _as(other)._data.shape[-1]:  # (never broadcast)
            raise RuntimeError(
                f"inner(): the last dimension must match on both inputs, got shapes "
                f"{tuple(self.shape)} and {tuple(_as(other).shape)}"
            )
        return _tensordot(self, other, ([-1], [-1]))

    def vdot(self, other: Any) -> Any:
        """The dot product of two 1-D tensors (real: same as dot)."""
        if self._data.ndim != 1 or _as(other)._data.ndim != 1:
            raise RuntimeError("vdot(): expected two 1-D tensors")
        return self.dot(other)

    def cross(self, other: Any, dim: Any = None) -> Any:
        """The 3-vector cross product along `dim` (default: the first dim of size 3, as
        torch.cross)."""
        a, b = self, _as(other)
        if a._data.ndim != b._data.ndim:
            raise RuntimeError(
                f"cross(): inputs must have the same number of dimensions, got shapes "
                f"{tuple(a.shape)} and {tuple(b.shape)}"
            )
        if a._data.dtype != b._data.dtype:  # (PyTorch does not promote here)
            raise RuntimeError(
                f"cross(): expected both inputs to have the same dtype, got "
                f"{dtype_name(a._data.dtype)} and {dtype_name(b._data.dtype)}"
            )
        try:
            shape = np.broadcast_shapes(a._data.shape, b._data.shape)
        except ValueError:
            raise TensorValueError(
                f"cross(): shapes {tuple(a.shape)} and {tuple(b.shape)} can't be broadcast together"
            ) from None
        if dim is None:
            sizes = [i for i, s in enumerate(shape) if s == 3]
            if not sizes:
                raise RuntimeError(f"cross(): no dimension of size 3 in shape {tuple(shape)}")
            d = sizes[0]
        else:
            d = _dim(dim, len(shape), "cross()")
        if a._data.shape[d] != 3 or b._data.shape[d] != 3:  # (never broadcast)
            raise RuntimeError(
                f"cross(): dimension {d} must have size 3 in both inputs, got shapes "
                f"{tuple(a.shape)} and {tuple(b.shape)}"
            )
        a, b = a.expand(tuple(shape)), b.expand(tuple(shape))
        i0, i1, i2 = (a.narrow(d, k, 1) for k in range(3))
        j0, j1, j2 = (b.narrow(d, k, 1) for k in range(3))
        out = _cat([i1 * j2 - i2 * j1, i2 * j0 - i0 * j2, i0 * j1 - i1 * j0], d)
        return _fused(out, "LinalgCrossBackward0", self, other)

    # -- elementwise ---------------------------------------------------------------------
    def sgn(self) -> Any:
        """sign(x) for real tensors."""
        return _fused(self.sign(), "SgnBackward0", self)

    def angle(self) -> Any:
        """The argument of a real number: pi where x < 0, else 0 (NaN stays NaN); integers
        and bools give the default float dtype. Piecewise constant, so its gradient is 0."""
        return _t.ops.Angle.apply(_float(self))

    def signbit(self) -> Any:
        """True where the sign bit is set (negative numbers and -0.0)."""
        return _t.Tensor._make(np.signbit(self._data), None, False)

    def copysign(self, other: Any) -> Any:
        """|self| with the sign of other (-0.0 counts as negative)."""
        dt = _float_result(self, other)
        x = self if self._data.dtype == dt else self.to(dt)
        o = other._data if isinstance(other, _t.Tensor) else np.asarray(other)
        sign = np.where(np.signbit(o), -1, 1).astype(x._data.dtype)
        # (the sign of `other` is piecewise constant: its gradient is 0, as in PyTorch)
        out = x.abs() * _const(sign, x)
        if isinstance(other, _t.Tensor):
            if other.requires_grad:
                out = _t.ops_gaps.ZeroGradTo.apply(out, other)
            out = _fused(out, "CopysignBackward0", self, other)
        else:
            out = _fused(out, "CopysignBackward1", self)
        node = out.grad_fn
        if node is not None:
            # PyTorch's node saves self and the result: an in-place change of either before
            # backward raises there, so it does here (the composite saved neither)
            node._saved_versions = node._saved_versions + (
                (self._vc, self._vc[0], self._data.shape),
                (out._vc, out._vc[0], out._data.shape),
            )
        return out

    def logit(self, eps: Any = None) -> Any:
        """log(x / (1 - x)); with eps, x is first clamped to [eps, 1 - eps]. Integer and bool
        tensors give the default float dtype, as in PyTorch."""
        x = self if self._data.dtype.kind == "f" else self.to(get_default_dtype())
        # (a negative eps is no eps: PyTorch passes None as -1)
        return _t.ops_gaps.Logit.apply(x, None if eps is None or eps < 0 else float(eps))

    def xlogy(self, other: Any) -> Any:
        """x * log(y), and 0 where x == 0 (unless y is NaN)."""
        dt = _float_result(self, other)
        # (a number is made in dt: float16 x with -2 stays float16, and float64 x with 0.1
        # takes 0.1's double value)
        x, y = self if self._data.dtype == dt else self.to(dt), _t._as_tensor_of(other, dt)
        try:
            np.broadcast_shapes(x._data.shape, y._data.shape)
        except ValueError:
            raise TensorValueError(
                f"xlogy(): shapes {tuple(x.shape)} and {tuple(y.shape)} can't be broadcast together"
            ) from None
        log_y = y.log()
        # x == 0 gives 0 even where log(y) is infinite or NaN (y < 0), but not where y is NaN;
        # the gradients stay PyTorch's (d/dx = log y, d/dy = x / y), so only those logs there
        # are replaced
        bad = (x._data == 0) & ~np.isfinite(log_y._data) & ~np.isnan(y._data)
        if bad.any():
            shape = np.broadcast_shapes(x._data.shape, log_y._data.shape)
            log_y = log_y.expand(tuple(shape)).masked_fill(
                _t.Tensor._make(np.broadcast_to(bad, shape), None, False), 0
            )
        out = x * log_y
        # x == 0 gives +0 (0 * log(0.5) is -0): adding +0 there and -0 elsewhere leaves every
        # other value (a -0 of x < 0 too) and the gradients as they are
        zero = (x._data == 0) & ~np.isnan(y._data)
        if (zero & np.signbit(out._data)).any():
            fix = np.where(np.broadcast_to(zero, out._data.shape), 0.0, -0.0)
            out = out + _t.Tensor._make(fix.astype(out._data.dtype), None, False)
        if isinstance(other, _t.Tensor):
            return _fused(out, "XlogyBackward0", self, other)
        return _fused(out, "XlogyBackward2", self)

    # -- shapes --------------------------------------------------------------------------
    def tensor_split(
        self,
        indices_or_sections: Any = None,
        dim: int = 0,
        *,
        sections: Any = None,
        indices: Any = None,
        tensor_indices_or_sections: Any = None,
    ) -> tuple:
        """Views along `dim`: n nearly equal parts (the first ones one longer), or the pieces
        between the given indices (given by position, or by the keyword of PyTorch's overload:
        `sections`, `indices`, `tensor_indices_or_sections`)."""
        given = [
            v
            for v in (indices_or_sections, sections, indices, tensor_indices_or_sections)
            if v is not None
        ]
        if len(given) != 1:
            raise TypeError(
                "tensor_split(): give exactly one of indices_or_sections (by position), "
                f"sections, indices or tensor_indices_or_sections, got {len(given)}"
            )
        indices_or_sections = given[0]
        if self._data.ndim == 0:
            raise RuntimeError("tensor_split(): expected at least a 1-dimensional tensor")
        d = _dim(dim, self._data.ndim, "tensor_split()")
        n = self._data.shape[d]
        ios = indices_or_sections
        if isinstance(ios, _t.Tensor):
            ios = ios._data.tolist()
        if isinstance(ios, (int, np.integer)):
            if ios <= 0:
                raise RuntimeError(f"tensor_split(): number of sections must be > 0, got {ios}")
            q, r = divmod(n, int(ios))
            sizes = [q + 1] * r + [q] * (int(ios) - r)
            bounds = list(itertools.accumulate([0] + sizes))
        else:
            points = [
                builtins.min(builtins.max(int(i) if i >= 0 else n + int(i), 0), n) for i in ios
            ]
            bounds = [0] + points + [n]
        out = []
        for lo, hi in itertools.pairwise(bounds):
            hi = builtins.max(lo, hi)
            out.append(_sliced(self, d, lo, hi))
        return tuple(out)

    def repeat_interleave(
        self, repeats: Any = None, dim: Any = None, *, output_size: Any = None
    ) -> Any:
        """Each element (or slice along `dim`) repeated `repeats` times in place."""
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else _dim(dim, max(self._data.ndim, 1), "repeat_interleave()")
        n = x._data.shape[d] if x._data.ndim else 1
        reps = repeats._data if isinstance(repeats, _t.Tensor) else np.asarray(repeats)
        if reps.dtype.kind not in "iu":
            raise RuntimeError("repeat_interleave(): repeats must be integers")
        if reps.ndim == 0 or reps.size == 1:
            reps = np.full(n, int(reps.reshape(-1)[0]))
        if reps.shape != (n,):
            raise RuntimeError(
                f"repeat_interleave(): repeats must have {n} entries (one per slice), got "
                f"{reps.size}"
            )
        if (reps < 0).any():
            raise RuntimeError("repeat_interleave(): repeats can not be negative")
        index = np.repeat(np.arange(n), reps)
        if output_size is not None and index.size != output_size:
            raise RuntimeError(
                f"repeat_interleave(): output_size is {output_size} but the repeats give "
                f"{index.size}"
            )
        # (PyTorch's int repeats: an expand, a copy and a view; tensor repeats: an index_select)
        out = x.index_select(d, _long(index))
        return out if isinstance(repeats, _t.Tensor) else _fused(out, "ViewBackward0", self)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Any:
        """Put the last dim of self on a diagonal of new 2-D slices (at dims dim1, dim2)."""
        n = self._data.shape[-1] + builtins.abs(offset)
        out_nd = self._data.ndim + 1
        d1, d2 = _dim(dim1, out_nd, "diag_embed()"), _dim(dim2, out_nd, "diag_embed()")
        if d1 == d2:
            raise RuntimeError("diag_embed(): dim1 and dim2 must be different")
        k = np.arange(self._data.shape[-1])
        rows = _t.Tensor._make(k + builtins.max(-offset, 0), None, False)
        cols = _t.Tensor._make(k + builtins.max(offset, 0), None, False)
        # the diagonal written into zeros (not a product with a 0/1 tensor, whose zeros times an
        # inf or nan on the diagonal would put nans off it)
        out = self.new_zeros((*self._data.shape[:-1], n, n))  # (..., n, n)
        out[..., rows, cols] = self
        rest = list(range(out_nd - 2))
        order = [0] * out_nd
        others = [i for i in range(out_nd) if i not in (d1, d2)]
        for src, dst in zip(rest, others, strict=True):
            order[dst] = src
        order[d1], order[d2] = out_nd - 2, out_nd - 1
        return _fused(out.permute(tuple(order)), "DiagEmbedBackward0", self)

    def fill_diagonal_(self, fill_value: Any, wrap: bool = False) -> Any:
        """Write fill_value on the main diagonal, in place (all dims equal beyond 2-D). A tall
        2-D tensor with wrap=True starts the diagonal again every cols + 1 rows."""
        shape = self._data.shape
        if len(shape) < 2:
            raise RuntimeError(
                f"fill_diagonal_(): expected a tensor of at least 2 dimensions, got shape {shape}"
            )
        if len(shape) > 2 and len(set(shape)) != 1:
            raise RuntimeError(
                f"fill_diagonal_(): all dimensions of a tensor of more than 2 dimensions must "
                f"have the same length, got shape {shape}"
            )
        # the diagonal's elements are equally spaced in the flat (row-major) order: one step
        # down every dim at once is 1 + n + n^2 + ... elements (cols + 1 in 2-D)
        step = builtins.sum(int(np.prod(shape[k + 1 :])) for k in range(len(shape)))
        count = builtins.min(shape)
        end = self._data.size if wrap and len(shape) == 2 else count * step
        mask = np.zeros(self._data.size, dtype=bool)
        mask[0:end:step] = True
        return self.masked_fill_(_t.Tensor._make(mask.reshape(shape), None, False), fill_value)

    def take_along_dim(self, indices: Any, dim: int | None = None) -> Any:
        """The elements `indices` picks along `dim` (gather, with the other dims of self and
        indices broadcast together); dim=None: from the flattened tensor, a 1-D result."""
        what = "take_along_dim()"
        if not isinstance(indices, _t.Tensor):
            raise TypeError(
                f"{what}: argument 'indices' must be a Tensor, got {type(indices).__name__}"
            )
        if indices._data.dtype != np.int64:
            raise RuntimeError(
                f"{what}: indices must be an int64 tensor, got dtype "
                f"{dtype_name(indices._data.dtype)}"
            )
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        if self._data.ndim == 0:
            raise IndexOutOfRange(f"{what}: dim {dim} given but the tensor is 0-d")
        d = _dim(dim, self._data.ndim, what)
        if indices._data.ndim != self._data.ndim:
            raise RuntimeError(
                f"{what}: input and indices must have the same number of dimensions, got "
                f"{self._data.ndim} (shape {tuple(self.shape)}) and {indices._data.ndim} "
                f"(shape {tuple(indices.shape)})"
            )
        xs, js = list(self._data.shape), list(indices._data.shape)
        xs[d] = js[d] = 1
        try:
            common = list(np.broadcast_shapes(tuple(xs), tuple(js)))
        except ValueError:
            raise RuntimeError(
                f"{what}: the shapes of input {tuple(self.shape)} and indices "
                f"{tuple(indices.shape)} do not broadcast outside dim {d}"
            ) from None
        x_shape, i_shape = list(common), list(common)
        x_shape[d], i_shape[d] = self._data.shape[d], indices._data.shape[d]
        x = self if list(self._data.shape) == x_shape else self.expand(tuple(x_shape))
        i = indices if list(indices._data.shape) == i_shape else indices.expand(tuple(i_shape))
        return x.gather(d, i)

    # -- distances and statistics ---------------------------------------------------------
    def dist(self, other: Any, p: float = 2) -> Any:
        """The p-norm of self - other (broadcast), over all elements: a 0-d tensor."""
        if not isinstance(other, _t.Tensor):
            raise TypeError(
                f"dist(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}"
            )
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
            raise TypeError(f"dist(): argument 'p' must be a number, not {type(p).__name__}")
        a, b = self._data, other._data
        dtype = _t.result_type(a, b)  # (tensor.py's, bound at call time)
        if dtype.kind != "f":
            raise RuntimeError(
                f"dist(): input dtype must be floating point, got {dtype_name(dtype)}; "
                "convert with .float()"
            )
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise RuntimeError(
                f"dist(): the shapes of input {tuple(a.shape)} and other {tuple(b.shape)} "
                "can't be broadcast together"
            ) from None
        return _t.ops.Dist.apply(self, other, float(p), None if a.dtype == b.dtype else dtype)

    def isclose(
        self, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
    ) -> Any:
        """|self - other| <= atol + rtol * |other|, elementwise (bool tensor)."""
        if not isinstance(other, _t.Tensor):
            raise TypeError(
                f"isclose(): argument 'other' must be a Tensor, not {type(other).__name__}"
            )
        if other._data.dtype != self._data.dtype:  # (PyTorch does not promote here)
            raise RuntimeError(
                f"isclose(): {dtype_name(self._data.dtype)} did not match "
                f"{dtype_name(other._data.dtype)}"
            )
        try:
            np.broadcast_shapes(self._data.shape, other._data.shape)
        except ValueError:
            raise TensorValueError(
                f"isclose(): shapes {tuple(self.shape)} and {tuple(other.shape)} can't be "
                "broadcast together"
            ) from None
        o = other._data
        return _t.Tensor._make(np.isclose(self._data, o, rtol, atol, equal_nan), None, False)

    def equal(self, other: Any) -> bool:
        """True if both have the same shape and the same elements."""
        o = other._data if isinstance(other, _t.Tensor) else np.asarray(other)
        return self._data.shape == o.shape and bool(np.array_equal(self._data, o))

    def cov(self, *, correction: int = 1, fweights: Any = None, aweights: Any = None) -> Any:
        """The covariance matrix of the rows (variables) over the columns (observations),
        each observation weighted by fweights (integer counts) times aweights; PyTorch's
        steps, so integers give the default float dtype and a (1, n) input a 0-d result."""
        if self._data.ndim > 2:
            raise ValueError(
                f"cov(): expected input to have two or fewer dimensions but got "
                f"an input with {self._data.ndim} dimensions"
            )
        if self._data.dtype == np.bool_:
            raise RuntimeError("cov(): bool dtype is not supported for input")
        x = self if self._data.ndim == 2 else self.reshape(1, -1)
        n = x._data.shape[1]
        w = None
        for name, wt, kinds in (("fweights", fweights, "iu"), ("aweights", aweights, "f")):
            if wt is None:
                continue
            wt = _t._as_tensor(wt)
            if wt._data.ndim > 1 or wt._data.size != n:
                raise RuntimeError(
                    f"cov(): expected {name} to be a 1-D tensor with {n} "
                    f"elements (the number of observations), got shape "
                    f"{tuple(wt.shape)}"
                )
            if wt._data.dtype.kind not in kinds:
                what = "integral" if kinds == "iu" else "floating point"
                raise RuntimeError(
                    f"cov(): expected {name} to have {what} dtype but got "
                    f"{dtype_name(wt._data.dtype)}"
                )
            if wt._data.size and (wt._data < 0).any():
                raise RuntimeError(f"cov(): {name} cannot be negative")
            w = wt if w is None else w * wt
        if w is None:
            w_sum = _t.Tensor._make(np.array(n, np.int64), None, False)
        else:
            w_sum = w.sum()
            if not w_sum._data.any():
                raise RuntimeError("cov(): weights sum to zero, can't be normalized")
        avg = (x if w is None else x * w).sum(1) / w_sum
        if w is not None and aweights is not None and correction != 0:
            norm = w_sum - correction * (w * aweights).sum() / w_sum
        else:
            norm = w_sum - correction
        if (norm._data <= 0).all():
            warnings.warn(
                "cov(): degrees of freedom is <= 0. Correction should be strictly "
                "less than the number of observations.",
                UserWarning,
                stacklevel=2,
            )
            norm = _t.Tensor._make(np.zeros((), norm._data.dtype), None, False)  # (+0.0)
        xc = x - avg.unsqueeze(1)
        c = xc.matmul((xc if w is None else xc * w).transpose(0, 1))
        return c.true_divide(norm).squeeze()

    def corrcoef(self) -> Any:
        """Pearson correlation coefficients of the rows, clipped to [-1, 1]."""
        c = self.cov()
        if c._data.ndim == 0:
            return c / c
        d = _stack([c[i, i] for i in range(c._data.shape[0])]).sqrt()
        return (c / d.reshape(-1, 1) / d.reshape(1, -1)).clamp(-1, 1)

    def bincount(self, weights: Any = None, minlength: int = 0) -> Any:
        """How often each non-negative integer occurs (summing `weights` instead, if given)."""
        if self._data.dtype.kind not in "iu":  # (PyTorch's kernel has integer versions only)
            raise NotImplementedError(
                f"bincount(): not implemented for {dtype_name(self._data.dtype)} tensors"
            )
        if self._data.ndim != 1:
            raise RuntimeError("bincount(): input must be a 1-D tensor of non-negative integers")
        if (self._data < 0).any():
            raise RuntimeError("bincount(): input must contain only non-negative integers")
        w = None if weights is None else _as(weights)._data
        out = np.bincount(self._data, w, minlength)
        if w is not None and w.dtype == np.float32:
            out = out.astype(np.float32)
        return _t.Tensor._make(out, None, False)

    def histc(self, bins: int = 100, min: float = 0, max: float = 0) -> Any:  # noqa: A002
        """A histogram of the elements in `bins` equal bins over [min, max] (the data's range
        when both are 0); elements outside are ignored."""
        a = self._data
        if a.dtype.kind != "f":  # (PyTorch's kernel has floating versions only)
            raise NotImplementedError(f"histc(): not implemented for {dtype_name(a.dtype)} tensors")
        lo, hi = builtins.float(min), builtins.float(max)
        if lo == hi and a.size:
            lo, hi = builtins.float(a.min()), builtins.float(a.max())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise RuntimeError(f"histc(): range of [{lo}, {hi}] is not finite")
        counts, _ = np.histogram(a, bins=bins, range=(lo, hi))
        return _t.Tensor._make(counts.astype(a.dtype), None, False)

    def histogram(
        self,
        bins: Any = 100,
        *,
        range: Sequence[float] | None = None,  # noqa: A002  (PyTorch's name)
        weight: Any = None,
        density: bool = False,
    ) -> Any:
        """(hist, bin_edges): counts (or summed weights, or a density) of the elements in
        ``bins`` equal bins over ``range`` (the data's, by default), or between the edges of a
        1-D tensor ``bins``; each bin holds [left, right), the last also its right edge. Both
        results have self's dtype; as PyTorch's, they have no derivative (backward raises)."""
        w = None
        if weight is not None:
            if not isinstance(weight, _t.Tensor):
                raise TypeError(
                    f"histogram(): argument 'weight' must be Tensor, not {type(weight).__name__}"
                )
            w = weight._data
        edges = bins._data if isinstance(bins, _t.Tensor) else None
        hist, edges = _histogram.histogram(self._data, bins, range, w, density, edges)
        h = _t.Tensor._make(hist, None, False)
        e = _t.Tensor._make(edges, None, False)
        if self.requires_grad and grad_mode.is_grad_enabled():
            h = _t.ops_gaps.NoDerivative.apply(self, hist, "histogram")
            e = _t.ops_gaps.NoDerivative.apply(self, edges, "histogram")
        return _Histogram(h, e)

    # -- index_add / index_copy / index_fill / masked_scatter ---------------------------------
    # Each is a scatter or a select along one dim, written as one: the gradient is that op's
    # (already checked, with its double backward); the node carries PyTorch's name.
    def _index_along(self, dim: Any, index: Any, what: str, int32: bool) -> tuple:
        """(dim, index as int64 1-D, self viewed as at least 1-D) after PyTorch's checks:
        index a 0-d or 1-D integer tensor."""
        d = _dim(dim, max(self._data.ndim, 1), what)
        idx = _index_tensor(index, what, int32=int32)
        if idx.ndim > 1:
            raise IndexError(
                f"{what}: index must be 0-d or 1-D (a vector), got shape {tuple(idx.shape)}"
            )
        return d, idx.reshape(-1), self if self._data.ndim else self.reshape(1)

    def _along_source(
        self, x: Any, d: int, idx: np.ndarray, source: Any, what: str, bad: type = RuntimeError
    ) -> Any:
        """source checked against x (same dtype; x's shape with len(index) at dim d; `bad` is
        the exception PyTorch raises for a wrong shape)."""
        if not isinstance(source, _t.Tensor):
            raise TypeError(f"{what}: source must be a Tensor, got {type(source).__name__}")
        if source._data.dtype != x._data.dtype:
            raise RuntimeError(
                f"{what}: self ({dtype_name(x._data.dtype)}) and source "
                f"({dtype_name(source._data.dtype)}) must have the same dtype"
            )
        src = source if source._data.ndim else source.reshape(1)
        want = x._data.shape[:d] + (idx.size,) + x._data.shape[d + 1 :]
        if src._data.shape != want:
            raise bad(
                f"{what}: source has shape {tuple(source.shape)}, expected {want} (self's shape "
                f"{tuple(self.shape)} with the number of indices, {idx.size}, at dim {d})"
            )
        return src

    @staticmethod
    def _spread(idx: np.ndarray, d: int, shape: tuple) -> Any:
        """The 1-D index along dim d, repeated over source's other dims: a scatter index (a
        read-only broadcast view: Scatter sees from its zero strides that it adds whole slices).
        """
        view = [1] * len(shape)
        view[d] = -1
        return _long(np.broadcast_to(idx.astype(np.int64, copy=False).reshape(view), shape))

    def index_add(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Any:
        """self with alpha * source[..., i, ...] added at self[..., index[i], ...] along `dim`
        (repeated indices accumulate)."""
        return self._index_add(dim, index, source, alpha, False)

    def _index_add(self, dim: int, index: Any, source: Any, alpha: Any, seq: bool) -> Any:
        """index_add; float16 adds in float32 (as PyTorch's index_add of a tensor of 2 or more
        dims), or rounded at every add (`seq`, and a 1-d self: PyTorch's index_put_ and put_
        with accumulate=True, and its 1-d index_add, loop in float16)."""
        what = "index_add()"
        d, idx, x = self._index_along(dim, index, what, True)
        n = x._data.shape[d]
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            bad = builtins.int(idx.max()) if idx.max() >= n else builtins.int(idx.min())
            raise TensorIndexError(  # (PyTorch's IndexError; the RuntimeError it was, too)
                f"{what}: index {bad} is out of bounds for dimension {d} with size {n}"
            )
        src = self._along_source(x, d, idx, source, what)
        if builtins.isinstance(alpha, _t.Tensor):
            alpha = alpha.item()
        alpha = _dtype.fit_scalar_arg(alpha, x._data.dtype, what)  # (300 into uint8 raises)
        if x._data.dtype.kind in "iu":
            alpha = builtins.int(alpha)  # (PyTorch truncates a float alpha for integer tensors)
        if alpha != 1:
            src = src * _const(alpha, src)
        seq = seq or x._data.ndim == 1
        spread = self._spread(idx, d, src._data.shape)
        out = x._scatter(d, spread, src, None, None, "seq" if seq else True, what)
        out = out if self._data.ndim else out.reshape(())
        return self._renamed(out, "IndexAddBackward0")

    def index_add_(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Any:
        return self._inplace_result(
            lambda x: x.index_add(dim, index, source, alpha=alpha), "index_add_()", (source,)
        )

    def index_copy(self, dim: int, index: Any, source: Any) -> Any:
        """self with self[..., index[i], ...] = source[..., i, ...] along `dim` (index int64;
        with repeated indices, which write wins is unspecified in PyTorch: here the last)."""
        what = "index_copy()"
        d, idx, x = self._index_along(dim, index, what, False)
        n = x._data.shape[d]
        src = self._along_source(x, d, idx, source, what, IndexError)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            bad = builtins.int(idx.max()) if idx.max() >= n else builtins.int(idx.min())
            raise IndexError(
                f"{what}: index {bad} is out of bounds for dimension {d} with size {n}"
            )
        out = x.scatter(d, self._spread(idx, d, src._data.shape), src)
        out = out if self._data.ndim else out.reshape(())
        return self._renamed(out, "IndexCopyBackward0")

    def index_copy_(self, dim: int, index: Any, source: Any) -> Any:
        return self._inplace_result(
            lambda x: x.index_copy(dim, index, source), "index_copy_()", (source,)
        )

    def index_fill(self, dim: int, index: Any, value: Any) -> Any:
        """self with `value` (a number or a 0-d tensor) at every index[i] along `dim`
        (negative indices count from the end)."""
        what = "index_fill()"
        arr = index._data if isinstance(index, _t.Tensor) else np.asarray(index)
        if arr.dtype != np.int64:  # PyTorch: int64 only, and an IndexError
            raise IndexError(f"{what}: index must be an int64 tensor, got {dtype_name(arr.dtype)}")
        if arr.ndim > 1:
            raise RuntimeError(f"{what}: index must be 0-d or 1-D, got shape {tuple(arr.shape)}")
        d, idx, x = self._index_along(dim, arr, what, False)
        n = x._data.shape[d]
        if idx.size and (idx.min() < -n or idx.max() >= n):
            bad = builtins.int(idx.max()) if idx.max() >= n else builtins.int(idx.min())
            raise IndexError(
                f"{what}: index {bad} is out of bounds for dimension {d} with size {n}"
            )
        if isinstance(value, _t.Tensor) and value._data.ndim:
            raise RuntimeError(
                f"{what}: only supports a 0-dimensional value tensor, but got one with "
                f"{value._data.ndim} dimension(s)"
            )
        if not isinstance(value, _t.Tensor):  # a number must fit the dtype, as PyTorch checks
            value = _dtype.fit_number(value, x._data.dtype, what, int_to_float=True)
        if (
            x._data.dtype.kind in "iu"
            and isinstance(value, builtins.float)
            and not isinstance(value, builtins.bool)
        ):
            value = builtins.int(value)  # (PyTorch casts the value to the tensor's dtype)
        hit = np.zeros(n, dtype=bool)
        hit[idx] = True
        view = [1] * x._data.ndim
        view[d] = n
        out = x.masked_fill(_t.Tensor._make(hit.reshape(view), None, False), value)
        out = out if self._data.ndim else out.reshape(())
        tensor_value = isinstance(value, _t.Tensor)
        return self._renamed(out, "IndexFillBackward1" if tensor_value else "IndexFillBackward0")

    def index_fill_(self, dim: int, index: Any, value: Any) -> Any:
        return self._inplace_result(
            lambda x: x.index_fill(dim, index, value), "index_fill_()", (value,)
        )

    def masked_scatter(self, mask: Any, source: Any) -> Any:
        """self (broadcast with the bool `mask`) with the positions where mask is True filled,
        in row-major order, from the first elements of `source`."""
        what = "masked_scatter()"
        if not isinstance(mask, _t.Tensor) or mask._data.dtype != np.bool_:
            got = (
                dtype_name(mask._data.dtype) if isinstance(mask, _t.Tensor) else type(mask).__name__
            )
            raise RuntimeError(f"{what}: only supports boolean masks, but got {got}")
        if not isinstance(source, _t.Tensor):
            raise TypeError(f"{what}: source must be a Tensor, got {type(source).__name__}")
        if source._data.dtype != self._data.dtype:
            raise RuntimeError(
                f"{what}: expected self and source to have the same dtype, got "
                f"{dtype_name(self._data.dtype)} and {dtype_name(source._data.dtype)}"
            )
        try:
            shape = np.broadcast_shapes(self._data.shape, mask._data.shape)
        except ValueError:
            raise RuntimeError(
                f"{what}: mask of shape {tuple(mask.shape)} and self of shape "
                f"{tuple(self.shape)} can't be broadcast together"
            ) from None
        m = np.broadcast_to(mask._data, shape)
        count = builtins.int(m.sum())
        if source._data.size < count:
            raise RuntimeError(
                f"{what}: source has {source._data.size} elements, fewer than the {count} "
                "True elements of the mask"
            )
        flat = source.reshape(-1)
        if flat._data.size:
            # position p takes source element (number of True before p): a gather
            picks = np.maximum(np.cumsum(m.reshape(-1)) - 1, 0).reshape(shape)
            vals = flat[_long(picks)]
        else:  # nothing to take (and no True in the mask)
            vals = flat.sum().expand(*shape) if shape else flat.sum()
        out = _where(_t.Tensor._make(np.array(m), None, False), vals, self)
        return self._renamed(out, "MaskedScatterBackward0")

    def masked_scatter_(self, mask: Any, source: Any) -> Any:
        return self._inplace_result(
            lambda x: x.masked_scatter(mask, source), "masked_scatter_()", (source,)
        )

    # -- determinants and inverses (torch.det, Tensor.inverse, ...; tinyconv.linalg has more) --
    def det(self) -> Any:
        """det of each (..., n, n) matrix (torch.linalg.det)."""
        return _t.ops_linalg.Det.apply(_t.ops_linalg.check_square(self, "det()"))

    def inverse(self) -> Any:
        """The inverse of each (..., n, n) matrix (torch.linalg.inv)."""
        return _t.ops_linalg.Inv.apply(_t.ops_linalg.check_square(self, "inverse()"))

    def matrix_exp(self) -> Any:
        """e^A of each (..., n, n) matrix (torch.linalg.matrix_exp)."""
        return _t.ops_linalg.MatrixExp.apply(_t.ops_linalg.check_square(self, "matrix_exp()"))

    # -- the older factorizations (torch.svd, torch.qr, torch.cholesky and their methods) --
    def svd(self, some: bool = True, compute_uv: bool = True) -> Any:
        """(U, S, V) with A = U diag(S) V^T for each (..., m, n) matrix (V, not linalg.svd's
        Vh). some=True: the reduced factors, else the full ones. compute_uv=False: S, and
        U (..., m, m) and V (..., n, n) filled with zeros, as PyTorch."""
        L = _t.ops_linalg
        a = L.check_matrices(self, "svd()")
        if not compute_uv:
            m, n = a.shape[-2:]
            batch = tuple(a.shape[:-2])
            zeros = lambda *shape: _t.Tensor._make(np.zeros(batch + shape, a.dtype), None, False)  # noqa: E731
            return SVD(zeros(m, m), L.Svdvals.apply(a), zeros(n, n))
        full = not some
        return SVD(
            L.SvdU.apply(a, full), L.Svdvals.apply(a), L.SvdVh.apply(a, full).transpose(-2, -1)
        )

    def qr(self, some: bool = True) -> Any:
        """(Q, R) with A = Q R for each (..., m, n) matrix: linalg.qr's 'reduced' mode with
        some=True, its 'complete' one with some=False."""
        L = _t.ops_linalg
        a = L.check_matrices(self, "qr()")
        mode = "reduced" if some else "complete"
        return QR(L.QrQ.apply(a, mode), L.QrR.apply(a, mode))

    def cholesky(self, upper: bool = False) -> Any:
        """The Cholesky factor of each symmetric positive-definite (..., n, n) matrix: L with
        A = L L^T, or with upper=True U = L^T (A = U^T U), as linalg.cholesky."""
        L = _t.ops_linalg
        a = L.check_square(self, "cholesky()")
        if upper:  # the lower factor of A^T (whose lower triangle is A's upper one), transposed
            return self._renamed(
                L.Cholesky.apply(a.transpose(-2, -1)).transpose(-2, -1), "CholeskyBackward0"
            )
        return self._renamed(L.Cholesky.apply(a), "CholeskyBackward0")  # (the older op's node)

    def pinverse(self, rcond: float = 1e-15) -> Any:
        """The pseudo-inverse (..., n, m) of each (..., m, n) matrix: singular values at or
        below rcond * the largest count as zero (torch.linalg.pinv with rtol=rcond)."""
        L = _t.ops_linalg
        if self._data.ndim < 2 or self._data.dtype not in (np.float32, np.float64):
            raise RuntimeError(
                "pinverse(): expected a float or double tensor with 2 or more dims, got "
                f"{dtype_name(self._data.dtype)} of shape {tuple(self.shape)}"
            )
        return L.Pinv.apply(self, None, rcond, False)

    def _factor_pair(self, factor: Any, what: str, name: str) -> tuple:
        """self (B, (..., n, k)) and a Cholesky / triangular factor (..., n, n), checked and
        expanded to a common batch shape."""
        L = _t.ops_linalg
        if not isinstance(factor, _t.Tensor):
            raise TypeError(f"{what}: {name} must be a Tensor, got {type(factor).__name__}")
        L.check_square(factor, what)
        if self._data.dtype != factor._data.dtype:
            raise RuntimeError(
                f"{what}: expected self and {name} to have the same dtype, but got "
                f"{dtype_name(self._data.dtype)} and {dtype_name(factor._data.dtype)}"
            )
        n = factor.shape[-1]
        if self._data.ndim < 2 or self.shape[-2] != n:
            raise RuntimeError(
                f"{what}: incompatible shapes of self {tuple(self.shape)} and {name} "
                f"{tuple(factor.shape)} (self needs {n} rows)"
            )
        try:
            batch = np.broadcast_shapes(self._data.shape[:-2], factor._data.shape[:-2])
        except ValueError:
            raise RuntimeError(
                f"{what}: the batch dims of {tuple(self.shape)} and {tuple(factor.shape)} "
                "do not broadcast"
            ) from None
        b = self if self._data.shape[:-2] == batch else self.expand(*batch, *self.shape[-2:])
        f = factor if factor._data.shape[:-2] == batch else factor.expand(*batch, n, n)
        return b, f

    def cholesky_solve(self, input2: Any, upper: bool = False) -> Any:
        """X with A X = self, A = L L^T given by its Cholesky factor input2 (upper=True:
        A = U^T U); batch dims broadcast. Only the factor's triangle is read."""
        b, f = self._factor_pair(input2, "cholesky_solve()", "input2")
        return _t.ops_linalg.CholeskySolve.apply(b, f, builtins.bool(upper))

    def cholesky_inverse(self, upper: bool = False) -> Any:
        """A^-1 for A = L L^T given by its Cholesky factor self (upper=True: A = U^T U)."""
        f = _t.ops_linalg.check_square(self, "cholesky_inverse()")
        return _t.ops_linalg.CholeskyInverse.apply(f, builtins.bool(upper))

    def triangular_solve(
        self, A: Any, upper: bool = True, transpose: bool = False, unitriangular: bool = False
    ) -> Any:
        """The older linalg.solve_triangular (arguments reversed): (solution, a copy of A),
        the solution X of A X = self (transpose=True: A^T X = self)."""
        L = _t.ops_linalg
        b, a = self._factor_pair(A, "triangular_solve()", "A")
        up = builtins.bool(upper)
        if transpose:  # A^T is triangular on the other side
            a, up = a.transpose(-2, -1), not up
        X = L.SolveTriangular.apply(a, b, up, True, builtins.bool(unitriangular))
        copy = A.clone()
        return TriangularSolveResult(
            self._renamed(X, "TriangularSolveBackward0"),
            self._renamed(copy, "TriangularSolveBackward0"),
        )

    def lu(self, pivot: bool = True, get_infos: bool = False) -> tuple:
        """(LU, pivots) of each matrix as linalg.lu_factor (PyTorch's older torch.lu); with
        get_infos=True also info (linalg.lu_factor_ex's). A plain tuple, as PyTorch's."""
        L = _t.ops_linalg
        a = L.check_matrices(self, "lu()")
        if not pivot:
            raise RuntimeError("lu(): LU without pivoting is not implemented on the CPU")
        LU = L.LuFactor.apply(a)
        if LU.grad_fn is not None:
            piv, info = LU.grad_fn.piv, LU.grad_fn.info
        else:
            _, piv, info = L.lu_factor_array(a._data)
        piv_t = _t.Tensor._make(piv, None, False)
        if get_infos:
            return LU, piv_t, _t.Tensor._make(np.asarray(info, np.int32), None, False)
        return LU, piv_t

    def lu_solve(self, LU_data: Any, LU_pivots: Any) -> Any:  # noqa: N803
        """X with A X = self from A's LU factorization (PyTorch's older argument order of
        linalg.lu_solve)."""
        return self._lu_solved(LU_data, LU_pivots, False, "lu_solve()")

    def _lu_solved(self, LU: Any, pivots: Any, adjoint: bool, what: str) -> Any:
        """X with A X = self (adjoint: A^T X = self), A = P L U given by its packed LU and
        pivots; the batch dims broadcast. Two triangular solves and a row permutation, all
        in the graph, so gradients reach LU (every entry is read) and self."""
        L = _t.ops_linalg
        b, lu_m = self._factor_pair(LU, what, "LU")
        piv = L.check_pivots(pivots, LU, what)
        n = lu_m.shape[-1]
        batch = tuple(b.shape[:-2])
        perm = np.broadcast_to(L.pivots_to_permutation(piv, n), batch + (n,))

        def rows(p: np.ndarray) -> Any:  # a gather index taking rows p[..., i]
            idx = np.repeat(p[..., :, None].astype(np.int64), b.shape[-1], axis=-1)
            return _t.Tensor._make(idx, None, False)

        if not adjoint:  # A = P L U: X = U^-1 L^-1 P^T B, (P^T B)[i] = B[perm[i]]
            y = L.SolveTriangular.apply(lu_m, b.gather(-2, rows(perm)), False, True, True)
            X = L.SolveTriangular.apply(lu_m, y, True, True, False)
        else:  # A^T = U^T L^T P^T: X = P L^-T U^-T B, (P Z)[perm[i]] = Z[i]
            lu_t = lu_m.transpose(-2, -1)
            z = L.SolveTriangular.apply(lu_t, b, False, True, False)
            z = L.SolveTriangular.apply(lu_t, z, True, True, True)
            X = z.gather(-2, rows(np.argsort(perm, axis=-1)))
        return self._renamed(X, "LinalgLuSolveBackward0")

    def slogdet(self) -> Any:
        """(sign, log|det|) of each (..., n, n) matrix (torch.linalg.slogdet)."""
        a = _t.ops_linalg.check_square(self, "slogdet()")
        return SignLogAbsDet(_t.ops_linalg.SlogdetSign.apply(a), _t.ops_linalg.Slogdet.apply(a))

    def logdet(self) -> Any:
        """log det of each (..., n, n) matrix: nan where det < 0, -inf where it is 0."""
        sign, logabs = self.slogdet()
        return _where(sign < 0, _const(np.nan, logabs), logabs)

    # -- in-place view ops: self becomes the view (same memory, new shape) -------------------
    def _view_inplace(self, view: Any, what: str, name: str) -> Any:
        """Replace self's shape by view(self)'s (a view op), as PyTorch's squeeze_, t_, ...:
        the memory is shared, the version counter moves, and when tracked the view op's node
        (PyTorch's in-place name) becomes self's grad_fn."""
        if grad_mode._inference_tensors:
            grad_mode.check_inplace_inference(self)
        track = grad_mode.enabled and self._requires_grad
        if track:
            self._check_inplace(what)
        base = self._view_of
        if base is not None and grad_mode.enabled and self._gv != self._vc[0]:
            self._refresh_view()
        if track:
            out = view(self)
        else:
            with grad_mode.no_grad():
                out = view(self)
        self._data = out._data
        if track:
            self._grad_fn = out._grad_fn
            self._grad_fn.torch_name = name
        if base is not None and out._view_of is not None:
            # still a view of the same root, one view op further
            root, steps, flags = base
            self._view_of = (root, out._view_of[1], flags)
        self._vc[0] += 1
        if base is not None:
            self._gv = self._vc[0]
        return self

    def squeeze_(self, dim: Any = None) -> Any:
        name = (
            "SqueezeBackward3"
            if dim is None
            else ("SqueezeBackward5" if isinstance(dim, (tuple, list)) else "SqueezeBackward4")
        )
        return self._view_inplace(lambda x: x.squeeze(dim), "squeeze_()", name)

    def unsqueeze_(self, dim: int) -> Any:
        return self._view_inplace(lambda x: x.unsqueeze(dim), "unsqueeze_()", "UnsqueezeBackward1")

    def t_(self) -> Any:
        return self._view_inplace(lambda x: x.t(), "t_()", "TBackward1")

    def transpose_(self, dim0: int, dim1: int) -> Any:
        return self._view_inplace(
            lambda x: x.transpose(dim0, dim1), "transpose_()", "TransposeBackward1"
        )

    swapdims_ = swapaxes_ = transpose_


def _tensordot(a: Any, b: Any, dims: Any) -> Any:
    """tensordot by permute + reshape + one matmul."""
    b = _as(b)
    if isinstance(dims, _t.Tensor):
        dims = dims._data.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot(): dims must be >= 0, got {dims}")
        if dims > a._data.ndim or dims > b._data.ndim:
            raise RuntimeError(
                f"tensordot(): dims={dims} is more than the dimensions of the operands "
                f"(shapes {tuple(a.shape)} and {tuple(b.shape)})"
            )
        da = list(range(a._data.ndim - int(dims), a._data.ndim))
        db = list(range(int(dims)))
    else:
        if len(dims) != 2:
            raise RuntimeError("tensordot(): dims must be an int or a pair of lists of dims")
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
        da = [_dim(d, a._data.ndim, "tensordot()") for d in da]
        db = [_dim(d, b._data.ndim, "tensordot()") for d in db]
    if len(da) != len(db):
        raise RuntimeError("tensordot(): both dims lists must have the same length")
    for i, j in zip(da, db, strict=True):
        # PyTorch sums a contracted dim right away where the other side's has size 1
        if b._data.shape[j] == 1 and a._data.shape[i] != 1:
            a = a.sum(i, keepdim=True, dtype=a.dtype)
        elif a._data.shape[i] == 1 and b._data.shape[j] != 1:
            b = b.sum(j, keepdim=True, dtype=b.dtype)
        elif a._data.shape[i] != b._data.shape[j]:
            raise RuntimeError(
                f"tensordot(): contracted dimensions need to match, but first has size "
                f"{a._data.shape[i]} in dim {i} and second has size {b._data.shape[j]} in dim {j}"
            )
    free_a = [i for i in range(a._data.ndim) if i not in da]
    free_b = [i for i in range(b._data.ndim) if i not in db]
    k = int(np.prod([a._data.shape[i] for i in da]))
    # (the free sizes spelt out: -1 is ambiguous when a contracted size is 0)
    m = int(np.prod([a._data.shape[i] for i in free_a]))
    n = int(np.prod([b._data.shape[i] for i in free_b]))
    a2 = a.permute(tuple(free_a + da)).reshape(m, k)
    b2 = b.permute(tuple(db + free_b)).reshape(k, n)
    shape = [a._data.shape[i] for i in free_a] + [b._data.shape[i] for i in free_b]
    return a2.matmul(b2).reshape(*shape) if shape else a2.matmul(b2).reshape(())


def meshgrid(tensors: Sequence[Any], indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors (expanded views), 'ij' (matrix) or 'xy' (Cartesian)."""
    if indexing not in ("ij", "xy"):
        raise TensorValueError(f"meshgrid(): indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = [t.reshape(-1) if t._data.ndim == 0 else t for t in tensors]
    for i, t in enumerate(ts):
        if t._data.ndim != 1:
            raise RuntimeError(
                f"meshgrid(): expected 0-D or 1-D tensors, tensor {i} is {t._data.ndim}-D"
            )
        if t._data.dtype != ts[0]._data.dtype:
            raise RuntimeError(
                f"meshgrid(): expected all tensors to have the same dtype, got "
                f"{dtype_name(ts[0]._data.dtype)} and {dtype_name(t._data.dtype)}"
            )
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = [t._data.shape[0] for t in ts]
    out = []
    for i, t in enumerate(ts):
        view = [1] * len(ts)
        view[i] = -1
        out.append(t.reshape(*view).expand(*shape))
    if swap:  # 'xy': the grid of (b, a, ...) in ij order, handed back as (a, b, ...)
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def cartesian_prod(tensors: Sequence[Any]) -> Any:
    """All combinations of one element from each 1-D tensor, as rows."""
    if len(tensors) == 1:
        return tensors[0].clone()
    grids = meshgrid(tensors, "ij")
    return _stack([g.reshape(-1) for g in grids], 1)


def combinations(x: Any, r: int = 2, with_replacement: bool = False) -> Any:
    """The r-element combinations of a 1-D tensor's elements, as rows (itertools' order)."""
    if x._data.ndim != 1:
        raise RuntimeError(f"combinations(): expected a 1-D tensor, got {x._data.ndim}-D")
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(range(x._data.shape[0]), r)) if r else []  # (r=0: PyTorch's empty 1-D)
    if not rows:
        return (
            x[_long(np.zeros(0, np.int64))].reshape(0, r) if r else x[_long(np.zeros(0, np.int64))]
        )
    return x[_long(np.array(rows, dtype=np.int64))]


def block_diag(tensors: Sequence[Any]) -> Any:
    """The tensors (0-, 1- or 2-D) placed along the diagonal of one 2-D tensor."""
    mats = []
    for i, t in enumerate(tensors):
        if t._data.ndim > 2:
            raise RuntimeError(f"block_diag(): tensor {i} has {t._data.ndim} dims, expected <= 2")
        mats.append(t.reshape(1, -1) if t._data.ndim < 2 else t)
    if not mats:
        return _t.Tensor._make(np.zeros((1, 0), np.float32), None, False)
    dtype = promote_types(
        *[m._data.dtype for m in mats]
    )  # (PyTorch's rule: float32 + int64 is float32)
    mats = [m if m._data.dtype == dtype else m.to(dtype) for m in mats]
    width = sum(m._data.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        h, w = m._data.shape
        parts = []
        if left:
            parts.append(_t.Tensor._make(np.zeros((h, left), dtype), None, False))
        parts.append(m)
        if width - left - w:
            parts.append(_t.Tensor._make(np.zeros((h, width - left - w), dtype), None, False))
        rows.append(_cat(parts, 1) if len(parts) > 1 else m)
        left += w
    return _fused(_cat(rows, 0), "BlockDiagBackward0", *tensors)


def trapezoid_parts(y: Any, x: Any, dim: int, what: str) -> tuple[Any, Any, Any, int]:
    """(left, right, spacing, dim) of the trapezoidal rule along `dim`: y without its last and
    first sample, and x's steps (None without x), for trapezoid and cumulative_trapezoid. A 1-D
    `x` lies along `dim` (PyTorch views it so); an `x` of fewer dims than y is broadcast from
    the left, as PyTorch's."""
    d = _dim(dim, y._data.ndim, what)
    n = y._data.shape[d]
    left, right = y.narrow(d, 0, max(n - 1, 0)), y.narrow(d, min(n, 1), max(n - 1, 0))
    if x is None:
        return left, right, None, d
    x = _as(x)
    if x._data.ndim == 1:
        if x._data.shape[0] != n:
            raise RuntimeError(
                f"{what}: There must be one `x` value for each sample point "
                f"(x has {x._data.shape[0]}, y has {n} along dim {d})"
            )
        x = x.reshape([n if i == d else 1 for i in range(y._data.ndim)])
    elif x._data.ndim < y._data.ndim:
        x = x.reshape((1,) * (y._data.ndim - x._data.ndim) + tuple(x._data.shape))
    spacing = x.narrow(d, min(n, 1), max(n - 1, 0)) - x.narrow(d, 0, max(n - 1, 0))
    return left, right, spacing, d


def trapezoid(y: Any, x: Any = None, *, dx: Any = None, dim: int = -1) -> Any:
    """The trapezoidal rule along `dim`: spacing dx (default 1) or sample points x, by
    PyTorch's formulas (and so its rounding): sum((left + right) * dx) / 2 with x, and
    (sum(y) - (y[0] + y[-1]) / 2) * dx with a constant dx."""
    left, right, spacing, d = trapezoid_parts(y, x, dim, "trapezoid()")
    # (the last node is PyTorch's product or quotient by a C++ number: MulBackward1, ...)
    if spacing is not None:
        total = ((left + right) * spacing).sum(d)
        return _fused(total / 2, "DivBackward1", total)
    if y._data.shape[d] == 0:
        return (left + right).sum(d)  # (zeros)
    inner = y.sum(d) - (y.select(d, 0) + y.select(d, -1)) * 0.5
    return _fused(inner * (1 if dx is None else dx), "MulBackward1", inner)


def cumulative_trapezoid(y: Any, x: Any = None, *, dx: Any = None, dim: int = -1) -> Any:
    """The running trapezoidal rule along `dim` (one value fewer than y), by PyTorch's
    formulas: cumsum((left + right) * dx) / 2 with x, cumsum(dx / 2 * (left + right))."""
    left, right, spacing, d = trapezoid_parts(y, x, dim, "cumulative_trapezoid()")
    if spacing is not None:
        running = ((left + right) * spacing).cumsum(d)
        return _fused(running / 2, "DivBackward1", running)
    return ((1 if dx is None else dx) / 2 * (left + right)).cumsum(d)


# the Tensor <-> mixin cycle, bound at call time
from . import tensor as _t  # noqa: E402
