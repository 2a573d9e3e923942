"""Tensor methods for the maths beyond the basics (rounding, more unary functions, scans,
gather/scatter, sort/topk, ...), with PyTorch's names, defaults and dtype rules.

`Tensor` inherits them from `TensorMath`, so they live beside the ops they call
(autograd/ops_extra.py) rather than in the long tensor.py. Engine level: imports only
the engine.
"""

from __future__ import annotations

import builtins
import math
import warnings
from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _dtype
from ._args import IndexOutOfRange, _dim, _dims
from ._dtype import dtype_name, result_type
from ._errors import TensorValueError
from ._inplace import _fw_carry
from .autograd import grad_mode
from .kernels import select
from .kernels.layout import c_order


def _torch_tie_order(
    x: np.ndarray, order: np.ndarray, d: int, k: int, largest: bool, sorted: bool = True
) -> np.ndarray:
    """topk's first k indices along axis d: the stable ``order``'s, except in rows where equal
    values meet in the top k (or straddle its edge), whose indices come from
    kernels/select.py, which runs PyTorch's CPU selection (the gradient reaches the elements it
    picks). Rows without such ties, e.g. any float logits, cost one comparison. Unsorted
    (sorted=False), PyTorch returns the k in the order std::nth_element leaves them when
    k * 64 > n: every row goes through select.py then."""
    idx = np.take(order, np.arange(k), axis=d)
    n = x.shape[d]
    if k == 0 or n < 2:
        return idx
    if not sorted and 1 < k and k * 64 > n:
        rows = np.ones(np.delete(x.shape, d), dtype=bool)
    else:
        rows = _tied_rows(x, np.take(order, np.arange(min(k + 1, n)), axis=d), d)
    if not rows.any():
        return idx
    xs, out = np.moveaxis(x, d, -1), np.moveaxis(idx, d, -1).copy()
    keys, _ = select.sort_keys(xs[rows], descending=largest)
    out[rows] = select.torch_topk_order(keys, k, sorted)
    return np.moveaxis(out, -1, d)


def _topk_partition(x: np.ndarray, d: int, k: int, largest: bool) -> tuple:
    """(indices (k along d), rows to redo) for topk with sorted order, from a partition: the
    (k + 1)-th best value of each row (np.partition, NaN last as in PyTorch's order) is a
    threshold, the k + 1 elements on its good side are sorted among themselves. Where exactly
    k + 1 elements reach the threshold and their values are distinct, the top k and their order
    are unique, so this is the stable order's answer; other rows (equal values near the top:
    NaN equal to NaN, -0.0 to 0.0) are flagged for the full stable sort and kernels/select.py.
    For (256, 1024), k = 10 this replaces a stable argsort of every row (plus two more to put
    NaN first): 12 ms -> 1.2 ms (np.argpartition would take 2.7 ms of it; np.partition of the
    values is SIMD)."""
    n = x.shape[d]
    xm = np.moveaxis(x, d, -1)
    kth = n - k - 1 if largest else k
    thr = np.partition(xm, kth, axis=-1)[..., kth : kth + 1]
    good = xm >= thr if largest else xm <= thr
    redo = np.count_nonzero(good, axis=-1) != k + 1
    if x.dtype.kind == "f":
        nan = np.isnan(thr[..., 0])
        if largest and not nan.all():  # NaN counts as the largest
            good |= np.isnan(xm)
            redo = np.count_nonzero(good, axis=-1) != k + 1
        redo |= nan
    good[redo] = False
    cand = np.zeros(xm.shape[:-1] + (k + 1,), dtype=np.int64)
    cand[~redo] = (np.flatnonzero(good) % n).reshape(-1, k + 1)  # (row-major: row by row)
    v = np.take_along_axis(xm, cand, -1)
    o = np.argsort(v, axis=-1)  # distinct values (else redone): any sort gives the one order
    if largest:
        o = o[..., ::-1]
    cand, v = np.take_along_axis(cand, o, -1), np.take_along_axis(v, o, -1)
    tied = v[..., 1:] == v[..., :-1]
    if x.dtype.kind == "f":
        tied |= np.isnan(v[..., 1:]) & np.isnan(v[..., :-1])
    return np.moveaxis(cand[..., :k], -1, d), redo | tied.any(-1)


def _stable_order(x: np.ndarray, d: int, descending: bool) -> np.ndarray:
    """The stable sorting indices along axis d (NaN largest); descending keeps equal elements
    in order."""
    if not descending:
        return np.argsort(x, axis=d, kind="stable")
    # reverse, stable-sort ascending, reverse again: ties keep their first-come order
    n = x.shape[d]
    idx = (n - 1) - np.flip(np.argsort(np.flip(x, d), axis=d, kind="stable"), d)
    if x.dtype.kind == "f":  # NaN counts as the largest, so it comes first when descending
        nan_first = np.argsort(~np.isnan(np.take_along_axis(x, idx, d)), axis=d, kind="stable")
        idx = np.take_along_axis(idx, nan_first, d)
    return idx


def _tied_rows(x: np.ndarray, order: np.ndarray, d: int) -> np.ndarray:
    """Which rows along axis d hold equal values (NaN equal to NaN), read off a sorting order:
    one comparison of neighbours."""
    s = np.moveaxis(np.take_along_axis(x, order, d), d, -1)
    tied = s[..., 1:] == s[..., :-1]
    if x.dtype.kind == "f":
        tied |= np.isnan(s[..., 1:]) & np.isnan(s[..., :-1])
    return tied.any(-1)


def _torch_sort_order(x: np.ndarray, order: np.ndarray, d: int, descending: bool) -> np.ndarray:
    """torch.sort's indices (stable=False) along axis d, from the stable `order`: PyTorch's CPU
    sort is std::sort, whose ties come out in the stable order only in rows of at most 16
    elements; longer rows holding equal values go through kernels/select.py, which runs
    std::sort's steps (so the gradient reaches the elements PyTorch's does)."""
    if x.shape[d] <= 16 or x.size == 0:
        return order
    rows = _tied_rows(x, order, d)
    if not rows.any():
        return order
    xs, out = np.moveaxis(x, d, -1), np.moveaxis(order, d, -1).copy()
    out[rows] = select.torch_sort_indices(xs[rows], descending)
    return np.moveaxis(out, -1, d)


SortResult = namedtuple("SortResult", ["values", "indices"])  # torch.return_types.sort / topk


def _float(x: Any) -> Any:
    """Integer and bool tensors go to the default float dtype first (PyTorch's rule for exp, log,
    ...)."""
    return x if x._data.dtype.kind == "f" else x.to(_dtype.get_default_dtype())


def _float_result(x: Any, other: Any) -> np.dtype:
    """The dtype of a binary op that always gives floats (atan2, copysign, xlogy): PyTorch
    promotes the operands first (0-d tensors and Python numbers by its rules) and only then
    turns an integer or bool result into the default float; converting x alone first would
    make int (n,) with a 0-d float64 float32, and 0-d float64 with float32 (n,) float64."""
    od = other._data if isinstance(other, _t.Tensor) else other
    if isinstance(od, (list, tuple)) or (
        isinstance(od, np.ndarray) and not isinstance(other, _t.Tensor)
    ):
        od = _t._as_tensor(od)._data
    dt = result_type(x._data, od)
    return dt if dt.kind == "f" else _dtype.get_default_dtype()


def _sliced(t: Any, d: int, start: Any, stop: Any) -> Any:
    """t[..., start:stop] along dim d as PyTorch's slice op (narrow, split, tensor_split): a
    SliceBackward0 node even over the whole dim, which an index would skip (an alias)."""
    out = t[(slice(None),) * d + (slice(start, stop),)]
    if out.grad_fn is not None:
        out.grad_fn.torch_name = "SliceBackward0"
    return out


def _index_tensor(
    index: Any, what: str, name: str = "index", int32: bool = True, empty_any: bool = False
) -> np.ndarray:
    """The index as int64. PyTorch's dtype rules: int64, or int32 where `int32` (gather,
    scatter, index_select, index_add, ...; not take); an empty index of any dtype where
    `empty_any` (gather and scatter)."""
    arr = index._data if isinstance(index, _t.Tensor) else np.asarray(index)
    ok = arr.dtype == np.int64 or (int32 and arr.dtype == np.int32)
    if not ok and not (empty_any and arr.size == 0):
        raise RuntimeError(
            f"{what}: {name} must be an int64{' or int32' if int32 else ''} tensor, got "
            f"dtype {dtype_name(arr.dtype)}"
        )
    return arr.astype(np.int64, copy=False)


def _empty_index_like(idx: np.ndarray, ndim: int) -> np.ndarray:
    """An empty gather/scatter index with `ndim` dims (PyTorch skips the shape checks for an
    empty index; padding it to the input's dims lets the op run on it unchanged)."""
    if idx.ndim == ndim:
        return idx
    return np.zeros((0,) + (1,) * (ndim - 1), np.int64) if ndim else idx


class _IndexOutOfBounds(IndexError, RuntimeError):
    """An index out of range in gather/scatter: PyTorch raises RuntimeError; an IndexError
    too, as Python's own indexing would."""


def _check_gather_index(x: Any, axis: int, index: np.ndarray, what: str, other: Any = None) -> None:
    """PyTorch's gather/scatter rules: same number of dims; index no larger than the input
    (and than src) in every dim but `axis`; values in range along `axis`."""
    nd = max(x._data.ndim, 1)
    if index.ndim != x._data.ndim and not (index.ndim <= 1 and x._data.ndim <= 1):
        raise RuntimeError(
            f"{what}: index has {index.ndim} dimension(s) but the input has "
            f"{x._data.ndim}; they must have the same number"
        )
    shape = x._data.shape or (1,)
    ishape = index.shape or (1,)
    for d in range(nd):
        if d != axis and ishape[d] > shape[d]:
            raise RuntimeError(
                f"{what}: index shape {tuple(index.shape)} is larger than the input "
                f"shape {tuple(x._data.shape)} in dimension {d} (only dim {axis} may differ)"
            )
        if other is not None and ishape[d] > (other.shape or (1,))[d]:
            raise RuntimeError(
                f"{what}: index shape {tuple(index.shape)} is larger than src's shape "
                f"{tuple(other.shape)} in dimension {d}"
            )
    if index.size and (index.min() < 0 or index.max() >= shape[axis]):  # no wrapping, as PyTorch
        raise _IndexOutOfBounds(
            f"{what}: index {int(index.max()) if index.max() >= shape[axis] else int(index.min())} "
            f"is out of bounds for dimension {axis} with size {shape[axis]}"
        )


def dense_strides(shape: tuple, order: tuple) -> tuple:
    """PyTorch's strides (in elements) of a dense tensor of `shape` whose dims sit in memory
    in `order` (outermost first): (0, 1, 2, 3) contiguous, (0, 2, 3, 1) channels-last."""
    strides = [0] * len(shape)
    acc = 1
    for d in reversed(order):
        strides[d] = acc
        acc *= builtins.max(shape[d], 1)
    return tuple(strides)


def _refuse_int_grad(x: Any, dt: Any, what: str) -> None:
    """A reduction or scan to an integer or bool dtype (sum(dtype=T.int64), cumsum, prod) of a
    tensor that requires grad raises, as in PyTorch: its result could not require grad."""
    if dt is not None and dt.kind not in "fc" and x._requires_grad and grad_mode.enabled:
        raise RuntimeError(
            f"{what}: Autograd not support dtype: {dtype_name(dt).split('.')[-1]} (the input "
            "requires grad); "
            "detach() it or reduce to a floating dtype"
        )


class TensorMath:
    """Mixed into Tensor (no state of its own)."""

    __slots__ = ()

    # -- in-place: one path for every `xxx_` here ------------------------------------------
    def _inplace_result(
        self,
        compute: Callable[[Any], Any],
        what: str,
        others: Sequence = (),
        keeps_input: bool = True,
    ) -> Any:
        """Write compute(self) into self, as PyTorch's in-place variants do: the node of the
        out-of-place op becomes self's grad_fn; computed from a copy, because the op may
        have saved its input for backward and the write would overwrite it. An op that
        neither keeps nor writes its input (`keeps_input=False`: relu, which saves its
        output) reads self's array itself: one pass and one array fewer (relu_ on
        ResNet-18's activations: the copy was ~3 ms of a ~140 ms training step)."""
        self._refuse_partial_overlap(others, what)
        view = grad_mode.enabled and getattr(self, "_view_of", None) is not None
        if view:
            self._view_before_write(what)
        track = grad_mode.enabled and (
            self._requires_grad
            or builtins.any(isinstance(o, _t.Tensor) and o._requires_grad for o in others)
        )
        if track:
            self._check_inplace(what)
            data = self._data.copy() if keeps_input else self._data
            before = _t.Tensor._make(data, self.grad_fn, self._requires_grad)
            if grad_mode.dual_level:
                _fw_carry(self, before)
            out = compute(before)
        else:
            with grad_mode.no_grad():
                out = compute(self)
        return self._write_back(out, what, track, view)

    # -- rounding: integer tensors come back as they are (as in PyTorch) ---------------------
    def _rounding(self, fn: Any, decimals: int = 0) -> Any:
        if self._data.dtype.kind in "iub":
            if self._data.dtype.kind == "b":
                raise NotImplementedError(f"{fn.__name__}(): not implemented for bool tensors")
            return self.clone()
        return _t.ops_extra.Rounding.apply(self, fn, decimals)

    def floor(self) -> Any:
        return self._rounding(np.floor)

    def ceil(self) -> Any:
        return self._rounding(np.ceil)

    def trunc(self) -> Any:
        return self._rounding(np.trunc)

    fix = trunc

    def round(self, decimals: int | None = None) -> Any:
        """Round half to even (as PyTorch and NumPy), to `decimals` places."""
        if decimals is None:
            return self._rounding(np.round, 0)
        if not isinstance(decimals, (builtins.int, np.integer)) or isinstance(
            decimals, builtins.bool
        ):
            raise TypeError(f"round(): decimals must be an int, got {decimals!r}")
        if self._data.dtype.kind in "iub":
            # PyTorch's round with decimals (its other overload, even decimals=0) has no
            # integer kernel
            raise NotImplementedError(
                f"round(): decimals is not implemented for {dtype_name(self._data.dtype)} tensors"
            )
        return self._rounding(np.round, builtins.int(decimals))

    def frac(self) -> Any:
        if self._data.dtype.kind != "f":
            raise NotImplementedError(
                f"frac(): not implemented for {dtype_name(self._data.dtype)} tensors "
                "(only floating point, as in PyTorch)"
            )
        return _t.ops_extra.Frac.apply(self)

    def floor_(self) -> Any:
        return self._inplace_result(lambda x: x.floor(), "floor_()")

    def ceil_(self) -> Any:
        return self._inplace_result(lambda x: x.ceil(), "ceil_()")

    def trunc_(self) -> Any:
        return self._inplace_result(lambda x: x.trunc(), "trunc_()")

    def round_(self, decimals: int | None = None) -> Any:
        return self._inplace_result(lambda x: x.round(decimals), "round_()")

    def frac_(self) -> Any:
        return self._inplace_result(lambda x: x.frac(), "frac_()")

    # -- unary functions (integer inputs give the default float dtype) ------------------------
    def reciprocal(self) -> Any:
        return _t.ops_extra.Reciprocal.apply(_float(self))

    def rsqrt(self) -> Any:
        return _t.ops_extra.Rsqrt.apply(_float(self))

    def exp2(self) -> Any:
        return _t.ops_extra.Exp2.apply(_float(self))

    def expm1(self) -> Any:
        return _t.ops_extra.Expm1.apply(_float(self))

    def log1p(self) -> Any:
        return _t.ops_extra.Log1p.apply(_float(self))

    def log2(self) -> Any:
        return _t.ops_extra.Log2.apply(_float(self))

    def log10(self) -> Any:
        return _t.ops_extra.Log10.apply(_float(self))

    def sinh(self) -> Any:
        return _t.ops_extra.Sinh.apply(_float(self))

    def cosh(self) -> Any:
        return _t.ops_extra.Cosh.apply(_float(self))

    def asin(self) -> Any:
        return _t.ops_extra.Asin.apply(_float(self))

    def asinh(self) -> Any:
        return _t.ops_extra.Asinh.apply(_float(self))

    def acosh(self) -> Any:
        return _t.ops_extra.Acosh.apply(_float(self))

    def atanh(self) -> Any:
        return _t.ops_extra.Atanh.apply(_float(self))

    def arcsinh(self) -> Any:
        return self.asinh()

    def arccosh(self) -> Any:
        return self.acosh()

    def arctanh(self) -> Any:
        return self.atanh()

    def absolute(self) -> Any:
        return self.abs()

    def deg2rad(self) -> Any:
        """Degrees to radians: x * pi / 180 (integers become the default float dtype)."""
        return _fused(_float(self) * (math.pi / 180.0), "Deg2RadBackward0", self)

    def rad2deg(self) -> Any:
        """Radians to degrees: x * 180 / pi (integers become the default float dtype)."""
        return _fused(_float(self) * (180.0 / math.pi), "Rad2DegBackward0", self)

    def acos(self) -> Any:
        return _t.ops_extra.Acos.apply(_float(self))

    def atan(self) -> Any:
        return _t.ops_extra.Atan.apply(_float(self))

    arcsin = asin
    arccos = acos
    arctan = atan

    def erf(self) -> Any:
        return _t.ops_extra.Erf.apply(_float(self))

    def erfinv(self) -> Any:
        """The inverse of erf on [-1, 1] (+-inf at +-1, nan outside)."""
        return _t.ops_special.Erfinv.apply(_float(self))

    def lgamma(self) -> Any:
        """log|Gamma(x)| (inf at 0, -1, -2, ...)."""
        return _t.ops_special.Lgamma.apply(_float(self))

    def digamma(self) -> Any:
        """psi(x) = d/dx lgamma(x)."""
        return _t.ops_special.Polygamma.apply(_float(self), 0)

    def i0(self) -> Any:
        """The modified Bessel function of the first kind, order 0."""
        return _t.ops_special_more.Bessel.apply(_float(self), 0, False)

    def mvlgamma(self, p: int) -> Any:
        """The multivariate log-gamma of dimension p: sum_{j<p} lgamma(x - j/2) + p (p - 1) / 4
        log(pi), computed as PyTorch does (its node: MvlgammaBackward0)."""
        if not isinstance(p, (builtins.int, np.integer)) or isinstance(p, builtins.bool):
            raise TypeError(f"mvlgamma(): p must be an int, got {type(p).__name__}")
        if p < 1:
            raise RuntimeError("p has to be greater than or equal to 1")
        return _t.ops_special_more.Mvlgamma.apply(_float(self), builtins.int(p))

    def igamma(self, other: Any) -> Any:
        """The regularized lower incomplete gamma function P(self, other) (special.gammainc)."""
        return _t.ops_special.Igamma.apply(self, other)

    def igammac(self, other: Any) -> Any:
        """The regularized upper incomplete gamma function Q(self, other)."""
        return _t.ops_special.Igammac.apply(self, other)

    def polygamma(self, n: int) -> Any:
        """The n-th derivative of digamma (n = 0: digamma itself)."""
        if not isinstance(n, (builtins.int, np.integer)) or isinstance(n, builtins.bool) or n < 0:
            raise RuntimeError(f"polygamma(): n must be a non-negative integer, got {n!r}")
        out = _t.ops_special.Polygamma.apply(_float(self), builtins.int(n))
        return self._renamed(out, "PolygammaBackward0")  # (polygamma(0, x) too: not digamma's)

    def neg(self) -> Any:
        return -self

    negative = neg

    def atan2(self, other: Any) -> Any:
        """Elementwise angle of the point (other, self), broadcasting; ints give the default
        float. `other` must be a tensor (PyTorch has no number overload)."""
        other = _t._tensor_other(other, "atan2()")
        dt = _float_result(self, other)
        x = self if self._data.dtype == dt else self.to(dt)
        return _t._binary(_t.ops_extra.Atan2, x, other)

    arctan2 = atan2

    def reciprocal_(self) -> Any:
        return self._inplace_result(lambda x: x.reciprocal(), "reciprocal_()")

    def rsqrt_(self) -> Any:
        return self._inplace_result(lambda x: x.rsqrt(), "rsqrt_()")

    def exp2_(self) -> Any:
        return self._inplace_result(lambda x: x.exp2(), "exp2_()")

    def expm1_(self) -> Any:
        return self._inplace_result(lambda x: x.expm1(), "expm1_()")

    def log1p_(self) -> Any:
        return self._inplace_result(lambda x: x.log1p(), "log1p_()")

    def log2_(self) -> Any:
        return self._inplace_result(lambda x: x.log2(), "log2_()")

    def log10_(self) -> Any:
        return self._inplace_result(lambda x: x.log10(), "log10_()")

    def sinh_(self) -> Any:
        return self._inplace_result(lambda x: x.sinh(), "sinh_()")

    def cosh_(self) -> Any:
        return self._inplace_result(lambda x: x.cosh(), "cosh_()")

    def asin_(self) -> Any:
        return self._inplace_result(lambda x: x.asin(), "asin_()")

    def acos_(self) -> Any:
        return self._inplace_result(lambda x: x.acos(), "acos_()")

    def atan_(self) -> Any:
        return self._inplace_result(lambda x: x.atan(), "atan_()")

    def erf_(self) -> Any:
        return self._inplace_result(lambda x: x.erf(), "erf_()")

    def erfinv_(self) -> Any:
        return self._inplace_result(lambda x: x.erfinv(), "erfinv_()")

    def lgamma_(self) -> Any:
        return self._inplace_result(lambda x: x.lgamma(), "lgamma_()")

    def igamma_(self, other: Any) -> Any:
        return self._inplace_result(lambda x: x.igamma(other), "igamma_()")

    def igammac_(self, other: Any) -> Any:
        return self._inplace_result(lambda x: x.igammac(other), "igammac_()")

    def digamma_(self) -> Any:
        return self._inplace_result(lambda x: x.digamma(), "digamma_()")

    def i0_(self) -> Any:
        return self._inplace_result(lambda x: x.i0(), "i0_()")

    def mvlgamma_(self, p: int) -> Any:
        return self._inplace_result(lambda x: x.mvlgamma(p), "mvlgamma_()")

    def polygamma_(self, n: int) -> Any:
        out = self._inplace_result(lambda x: x.polygamma(n), "polygamma_()")
        return self._renamed(out, "PolygammaBackward1")  # (PyTorch's in-place overload)

    def neg_(self) -> Any:
        return self._inplace_result(lambda x: -x, "neg_()")

    def atan2_(self, other: Any) -> Any:
        return self._inplace_result(lambda x: x.atan2(other), "atan2_()", (other,))

    # -- three operands ------------------------------------------------------------------------
    def lerp(self, end: Any, weight: Any) -> Any:
        """self + weight * (end - self); `end` must have self's dtype (as PyTorch), weight a
        number or tensor."""
        end = _t._as_tensor(end)
        if end._data.dtype != self._data.dtype:
            raise RuntimeError(
                f"lerp(): expected dtype {dtype_name(self._data.dtype)} for `end` but got "
                f"dtype {dtype_name(end._data.dtype)}"
            )
        if self._data.dtype.kind != "f":
            raise NotImplementedError(
                f"lerp(): not implemented for {dtype_name(self._data.dtype)} tensors"
            )
        if not isinstance(weight, _t.Tensor):  # (a number weight is a float32 for float16)
            _dtype.fit_scalar_arg(weight, self._data.dtype, "lerp()", opmath=True)
        w = weight if isinstance(weight, _t.Tensor) else _t._operand(weight)
        if isinstance(w, _t.Tensor) and w._data.dtype != self._data.dtype and w._data.ndim == 0:
            w = w.to(self._data.dtype)  # (a 0-d weight counts as a number, as in PyTorch)
        if isinstance(w, _t.Tensor) and w._data.dtype != self._data.dtype:
            raise RuntimeError(
                f"lerp(): expected dtype {dtype_name(self._data.dtype)} for `weight` but got "
                f"dtype {dtype_name(w._data.dtype)}"
            )
        _broadcast("lerp()", self, end, w)
        return _t.ops_extra.Lerp.apply(self, end, w, self._data.dtype)

    def _addc(self, op: Any, t1: Any, t2: Any, value: Any, what: str) -> Any:
        t1, t2 = _t._as_tensor(t1), _t._as_tensor(t2)
        dt = _result_type(self._data, t1._data, t2._data)
        if op is _t.ops_extra.Addcdiv and dt.kind in "iub":
            raise RuntimeError(
                f"{what}: integer division with addcdiv is not supported (as in PyTorch); "
                "use (input + value * tensor1 / tensor2) or float tensors"
            )
        if dt.kind == "b":  # (PyTorch's addcmul kernel has no bool version)
            raise NotImplementedError(f"{what}: not implemented for bool tensors")
        value = _t._number_arg(value, what, "value")
        value = _dtype.fit_scalar_arg(value, dt, what, opmath=True)
        if isinstance(value, builtins.float) and dt.kind != "f":
            if dt.kind == "b":
                raise RuntimeError(
                    f"{what}: value {value!r} is a float but the tensors are {dtype_name(dt)}"
                )
            # PyTorch converts the value to the integer dtype first, toward zero (1.7 -> 1)
            value = builtins.int(value)
        _broadcast(what, self, t1, t2)
        return op.apply(self, t1, t2, value, dt)

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Any:
        """self + value * tensor1 * tensor2 (broadcasting)."""
        return self._addc(_t.ops_extra.Addcmul, tensor1, tensor2, value, "addcmul()")

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Any:
        """self + value * tensor1 / tensor2 (broadcasting)."""
        if builtins.all(
            isinstance(t, _t.Tensor) and t._data.dtype.kind in "biu" for t in (tensor1, tensor2)
        ):
            raise RuntimeError(
                "addcdiv(): integer division with addcdiv is not supported (as in PyTorch); "
                "convert tensor1 or tensor2 to a floating point dtype"
            )
        return self._addc(_t.ops_extra.Addcdiv, tensor1, tensor2, value, "addcdiv()")

    def lerp_(self, end: Any, weight: Any) -> Any:
        return self._inplace_result(lambda x: x.lerp(end, weight), "lerp_()", (end, weight))

    def addcmul_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Any:
        return self._inplace_result(
            lambda x: x.addcmul(tensor1, tensor2, value=value), "addcmul_()", (tensor1, tensor2)
        )

    def addcdiv_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Any:
        return self._inplace_result(
            lambda x: x.addcdiv(tensor1, tensor2, value=value), "addcdiv_()", (tensor1, tensor2)
        )

    # -- reductions and scans --------------------------------------------------------------------
    def logsumexp(self, dim: Any, keepdim: bool = False) -> Any:
        """log(sum(exp(x))) over `dim` (an int or a tuple), computed without overflow."""
        x = _float(self)
        if isinstance(dim, (tuple, list)) and not dim and x._data.ndim:
            # PyTorch reduces nothing and then fails to write the result (a RuntimeError)
            raise RuntimeError("logsumexp(): dim must name at least one dimension, got []")
        axis = _dims(dim, x._data.ndim, "logsumexp()")
        if axis == ():  # a 0-d tensor: logsumexp of one value is the value
            return x.clone()
        return _t.ops_extra.Logsumexp.apply(x, axis, keepdim)

    def _scan(self, op: Any, dim: Any, dtype: Any, what: str) -> Any:
        d = _dim(dim, self._data.ndim, what)
        x = self if self._data.ndim else self.reshape(1)
        dt = (
            _dtype.as_dtype(dtype)
            if dtype is not None
            else (np.dtype(np.int64) if x._data.dtype.kind in "iub" else x._data.dtype)
        )
        _refuse_int_grad(self, dt, what)
        if dt != x._data.dtype and not getattr(op, "casts_input", False):
            x = x.to(dt)
        out = op.apply(x, d, dt)
        return out if self._data.ndim else out.reshape(())

    def cumsum(self, dim: int, dtype: Any = None) -> Any:
        """out[i] = sum of x[..:i+1] along `dim`; integer and bool inputs give int64 (as
        PyTorch)."""
        return self._scan(_t.ops_extra.Cumsum, dim, dtype, "cumsum()")

    def cumprod(self, dim: int, dtype: Any = None) -> Any:
        """out[i] = product of x[..:i+1] along `dim`; its gradient is exact where x has zeros."""
        return self._scan(_t.ops_extra.Cumprod, dim, dtype, "cumprod()")

    def cumsum_(self, dim: int, dtype: Any = None) -> Any:
        return self._inplace_result(lambda x: x.cumsum(dim, dtype), "cumsum_()")

    def cumprod_(self, dim: int, dtype: Any = None) -> Any:
        return self._inplace_result(lambda x: x.cumprod(dim, dtype), "cumprod_()")

    def diff(self, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Any:
        """The n-th forward difference along `dim` (after joining prepend/append along it)."""
        if self._data.ndim == 0:
            raise RuntimeError(
                "diff(): expected a tensor with at least 1 dimension, got a 0-d tensor"
            )
        if not isinstance(n, (builtins.int, np.integer)) or n < 0:
            raise RuntimeError(f"diff(): order n must be a non-negative int, got {n!r}")
        d = _dim(dim, self._data.ndim, "diff()")
        x = self
        if prepend is not None or append is not None:
            parts = [
                p if isinstance(p, _t.Tensor) else _t._as_tensor(p)
                for p in (prepend, self, append)
                if p is not None
            ]
            parts = [
                p.expand(self.shape[:d] + (1,) + self.shape[d + 1 :]) if p.ndim == 0 else p
                for p in parts
            ]
            x = _t.ops.Cat.apply(d, *parts)
        for _ in range(n):
            length = x.shape[d]
            if length == 0:
                break
            hi = x.narrow(d, 1, length - 1)
            lo = x.narrow(d, 0, length - 1)
            x = hi ^ lo if x._data.dtype.kind == "b" else hi - lo
        return x

    # -- gather / scatter -------------------------------------------------------------------------
    def gather(self, dim: int, index: Any, *, sparse_grad: bool = False) -> Any:
        """out[i][j] = self[index[i][j]][j] (dim 0), etc.: index picks along `dim`; out has
        index's shape."""
        if sparse_grad:
            raise NotImplementedError(
                "gather(): sparse_grad=True is not supported (tinyconv has no sparse tensors; "
                "the gradient is always dense)"
            )
        d = _dim(dim, self._data.ndim, "gather()")
        idx = _index_tensor(index, "gather()", empty_any=True)
        if idx.size == 0 and idx.ndim != self._data.ndim and self._data.ndim:
            # any empty index is accepted, and the result has its shape
            out = _t.ops_extra.Gather.apply(self, d, _empty_index_like(idx, self._data.ndim))
            return out.reshape(idx.shape)
        if idx.size:
            _check_gather_index(self, d, idx, "gather()")
        if self._data.ndim == 0 or idx.ndim == 0:  # (PyTorch counts a 0-d tensor as 1-d)
            flat = idx.reshape(-1)  # (an empty index included)
            return _t.ops_extra.Gather.apply(self.reshape(-1), 0, flat).reshape(idx.shape)
        return _t.ops_extra.Gather.apply(self, d, idx)

    def _scatter(
        self, dim: Any, index: Any, src: Any, value: Any, reduce: Any, add: bool, what: str
    ) -> Any:
        if reduce is not None:
            raise NotImplementedError(
                f"{what}: reduce={reduce!r} is not implemented in tinyconv "
                "(use scatter_add, or scatter without reduce)"
            )
        d = _dim(dim, self._data.ndim, what)
        idx = _index_tensor(index, what, empty_any=True)
        if idx.size == 0:  # PyTorch checks nothing more (src's shape and dtype included)
            idx = _empty_index_like(idx, self._data.ndim)
        if src is None and value is None:
            raise TypeError(f"{what}: expected src (a tensor) or value (a number)")
        if src is not None and not isinstance(src, _t.Tensor):
            value, src = src, None
        if src is not None:
            if src._data.dtype != self._data.dtype:
                raise RuntimeError(
                    f"{what}: expected self.dtype to be equal to src.dtype, got "
                    f"{dtype_name(self._data.dtype)} and {dtype_name(src._data.dtype)}"
                )
            if idx.size:
                _check_gather_index(self, d, idx, what, src._data)
            s = src
        else:
            if idx.size:
                _check_gather_index(self, d, idx, what)
            if isinstance(value, _t.Tensor):
                s = value.item()  # (a tensor's number is cast as it is, wrapping)
            else:  # a number must fit the dtype, as PyTorch checks (-1 is 255 in uint8)
                s = _dtype.fit_number(value, self._data.dtype, what, int_to_float=True)
        if self._data.ndim == 0 or idx.ndim == 0 or (src is not None and src._data.ndim == 0):
            # PyTorch counts a 0-d tensor as 1-d here (the checks above allowed only <= 1-d
            # then): scatter into 1-element vectors, as the one-hot `zeros(10).scatter_(0,
            # tensor(y), value=1)` of PyTorch's tutorials does
            if src is not None:
                s = src.reshape(-1)
            out = _t.ops_extra.Scatter.apply(self.reshape(-1), 0, idx.reshape(-1), s, add)
            return out.reshape(self.shape)
        return _t.ops_extra.Scatter.apply(self, d, idx, s, add)

    def scatter(
        self, dim: int, index: Any, src: Any = None, value: Any = None, *, reduce: Any = None
    ) -> Any:
        """A copy of self with self[index[i][j]][j] = src[i][j] (dim 0), etc. (src a tensor or a
        number)."""
        return self._scatter(dim, index, src, value, reduce, False, "scatter()")

    def scatter_add(self, dim: int, index: Any, src: Any) -> Any:
        """A copy of self with src[i][j] added at self[index[i][j]][j] (dim 0); repeats
        accumulate."""
        if not isinstance(src, _t.Tensor):
            raise TypeError(f"scatter_add(): src must be a tensor, got {type(src).__name__}")
        return self._scatter(dim, index, src, None, None, True, "scatter_add()")

    def scatter_reduce(
        self, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True
    ) -> Any:
        """A copy of self with each src[i][j] folded into self[index[i][j]][j] (dim 0) by
        `reduce`: 'sum', 'prod', 'mean', 'amax' or 'amin' (include_self=False: the written
        places start from src alone). Integer 'mean' rounds down, as PyTorch."""
        what = "scatter_reduce()"
        reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # (PyTorch's aliases)
        if reduce not in ("sum", "prod", "mean", "amax", "amin"):
            raise RuntimeError(
                f"{what}: reduce must be 'sum', 'prod', 'mean', 'amax' or 'amin', got {reduce!r}"
            )
        if not isinstance(src, _t.Tensor):
            raise TypeError(f"{what}: src must be a Tensor, got {type(src).__name__}")
        d = _dim(dim, self._data.ndim, what)
        idx = _index_tensor(index, what, empty_any=True)
        if src._data.dtype != self._data.dtype:
            raise RuntimeError(
                f"{what}: expected self.dtype to be equal to src.dtype, got "
                f"{dtype_name(self._data.dtype)} and {dtype_name(src._data.dtype)}"
            )
        if idx.size:
            _check_gather_index(self, d, idx, what, src._data)
        x, s = self, src
        if self._data.ndim == 0 or idx.ndim == 0 or src._data.ndim == 0:  # (0-d counts as 1-d)
            x, s, idx = self.reshape(-1), src.reshape(-1), idx.reshape(-1)
        idx = _empty_index_like(idx, x._data.ndim) if idx.size == 0 else idx
        out = _t.ops_extra.ScatterReduce.apply(x, d, idx, s, reduce, builtins.bool(include_self))
        return out if self._data.ndim else out.reshape(())

    def index_reduce(
        self, dim: int, index: Any, source: Any, reduce: str, *, include_self: bool = True
    ) -> Any:
        """A copy of self with the slice source[..., i, ...] (along `dim`) folded into
        self[..., index[i], ...] by `reduce`: 'prod', 'mean', 'amax' or 'amin': scatter_reduce
        with `index` spread over each slice."""
        what = "index_reduce()"
        if reduce not in ("prod", "mean", "amax", "amin"):
            raise RuntimeError(
                f"{what}: Expected reduce to be one of prod, mean, amax or amin but got {reduce}."
            )
        if not isinstance(source, _t.Tensor):
            raise TypeError(f"{what}: source must be a Tensor, got {type(source).__name__}")
        idx = _index_tensor(index, what, empty_any=True)
        if idx.ndim > 1:
            raise IndexError(f"{what}: Index is supposed to be a vector, got shape {idx.shape}")
        d = _dim(dim, builtins.max(self._data.ndim, 1), what)
        sshape = source._data.shape if source._data.ndim else (1,)
        xshape = self._data.shape if self._data.ndim else (1,)
        if (
            len(sshape) != len(xshape)
            or sshape[:d] + sshape[d + 1 :] != xshape[:d] + xshape[d + 1 :]
            or sshape[d] != idx.size
        ):
            raise RuntimeError(
                f"{what}: source {tuple(source.shape)} must have self's shape "
                f"{tuple(self.shape)} but with {idx.size} (index's length) along dim {d}"
            )
        spread = np.broadcast_to(
            idx.reshape((1,) * d + (-1,) + (1,) * (len(sshape) - d - 1)), sshape
        )
        x = self if self._data.ndim else self.reshape(1)
        s = source if source._data.ndim else source.reshape(1)
        out = x.scatter_reduce(
            d, _t.Tensor._make(spread, None, False), s, reduce, include_self=include_self
        )
        if out.grad_fn is not None:
            out.grad_fn.torch_name = "IndexReduceBackward0"
        return out if self._data.ndim else out.reshape(())

    def index_reduce_(
        self, dim: int, index: Any, source: Any, reduce: str, *, include_self: bool = True
    ) -> Any:
        return self._inplace_result(
            lambda x: x.index_reduce(dim, index, source, reduce, include_self=include_self),
            "index_reduce_()",
            (source,),
        )

    def scatter_reduce_(
        self, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True
    ) -> Any:
        return self._inplace_result(
            lambda x: x.scatter_reduce(dim, index, src, reduce, include_self=include_self),
            "scatter_reduce_()",
            (src,),
        )

    def scatter_(
        self, dim: int, index: Any, src: Any = None, value: Any = None, *, reduce: Any = None
    ) -> Any:
        return self._inplace_result(
            lambda x: x.scatter(dim, index, src, value, reduce=reduce), "scatter_()", (src,)
        )

    def scatter_add_(self, dim: int, index: Any, src: Any) -> Any:
        return self._inplace_result(
            lambda x: x.scatter_add(dim, index, src), "scatter_add_()", (src,)
        )

    def index_select(self, dim: int, index: Any) -> Any:
        """The slices at `index` (1-D) along `dim`, in that order (repeats allowed)."""
        d = _dim(dim, self._data.ndim, "index_select()")
        idx = _index_tensor(index, "index_select()")
        if idx.ndim > 1:
            raise IndexError(
                f"index_select(): index must be 0-d or 1-D, got shape {tuple(idx.shape)}"
            )
        n = self._data.shape[d] if self._data.ndim else 1
        if idx.size and (idx.min() < 0 or idx.max() >= n):  # (no negative indices, as PyTorch)
            raise IndexError(
                f"index_select(): index out of range in self (indices must be in [0, {n}) for "
                f"dimension {d})"
            )
        if self._data.ndim == 0:
            return _t.ops_extra.IndexSelect.apply(self.reshape(1), 0, idx.reshape(-1)).reshape(())
        return _t.ops_extra.IndexSelect.apply(self, d, idx.reshape(-1))

    def masked_fill(self, mask: Any, value: Any) -> Any:
        """self with `value` where `mask` (a bool tensor broadcastable to self) is True."""
        m = mask._data if isinstance(mask, _t.Tensor) else np.asarray(mask)
        if m.dtype != np.bool_:
            raise RuntimeError(
                f"masked_fill(): mask must be a bool tensor, got dtype {dtype_name(m.dtype)}"
            )
        try:
            shape = np.broadcast_shapes(m.shape, self._data.shape)
        except ValueError:
            raise RuntimeError(
                f"masked_fill(): mask of shape {tuple(m.shape)} does not broadcast to the "
                f"tensor's shape {tuple(self._data.shape)}"
            ) from None
        if shape != self._data.shape:  # (out of place, PyTorch broadcasts self with the mask)
            return self.expand(shape).masked_fill(mask, value)
        if isinstance(value, _t.Tensor):
            if value._data.ndim:
                raise RuntimeError(
                    "masked_fill(): only supports a 0-dimensional value tensor, but got "
                    f"one with {value._data.ndim} dimension(s)"
                )
        elif not isinstance(
            value, (builtins.int, builtins.float, builtins.bool, np.number, np.bool_)
        ):
            raise TypeError(
                f"masked_fill(): value must be a number or a 0-d tensor, got {type(value).__name__}"
            )
        # PyTorch refuses a number, or a 0-d tensor's number, that does not fit the dtype (nan,
        # inf, out of range; an int beyond float16's range too)
        number = value._data.item() if isinstance(value, _t.Tensor) else value
        fitted = _dtype.fit_number(number, self._data.dtype, "masked_fill()", int_to_float=True)
        if not isinstance(value, _t.Tensor):
            value = fitted
        if self._data.dtype.kind in "iu" and isinstance(value, (builtins.float, np.floating)):
            value = builtins.int(np.trunc(value))  # PyTorch truncates towards zero
        return _t.ops_extra.MaskedFill.apply(self, m, value)

    def masked_fill_(self, mask: Any, value: Any) -> Any:
        return self._inplace_result(
            lambda x: x.masked_fill(mask, value), "masked_fill_()", (value,)
        )

    # -- shape ops
    # -----------------------------------------------------------------------------------
    def narrow(self, dim: int, start: int, length: int) -> Any:
        """The slice start:start+length along `dim` (a view)."""
        if self._data.ndim == 0:
            raise RuntimeError("narrow(): cannot be applied to a 0-d tensor")
        d = _dim(dim, self._data.ndim, "narrow()")
        n = self._data.shape[d]
        if isinstance(start, _t.Tensor):
            start = start.item()
        if not -n <= start <= n:
            raise IndexError(
                f"narrow(): start ({start}) out of range for dimension {d} of size {n}"
            )
        start = start % n if start < 0 else start
        if length < 0 or start + length > n:
            raise RuntimeError(
                f"narrow(): start ({start}) + length ({length}) exceeds dimension size ({n})"
            )
        return _sliced(self, d, start, start + length)

    def roll(self, shifts: Any, dims: Any = None) -> Any:
        """Shift elements along `dims` by `shifts`, wrapping around (the flattened tensor if dims
        is None)."""
        if dims is None:
            if isinstance(shifts, (tuple, list)):
                if len(shifts) != 1:
                    raise RuntimeError(
                        f"roll(): without dims, shifts must be one number, got {shifts!r}"
                    )
                shifts = shifts[0]
            return _t.ops_extra.Roll.apply(self, builtins.int(shifts), None)
        sh = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
        ds = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        if len(sh) != len(ds):
            raise RuntimeError(
                f"roll(): shifts {shifts!r} and dims {dims!r} must have the same length"
            )
        if self._data.ndim == 0:  # (PyTorch: no dim to roll along)
            raise IndexOutOfRange(f"roll(): dims {dims!r} given for a 0-d tensor, which has none")
        ds = tuple(_dim(d, self._data.ndim, "roll()") for d in ds)
        return _t.ops_extra.Roll.apply(self, tuple(builtins.int(s) for s in sh), ds)

    def tile(self, *dims: Any, **kw: Any) -> Any:
        """Repeat the tensor `dims[i]` times along dim i; missing leading counts are 1 (unlike
        repeat)."""
        if kw or not dims:
            dims = _t._variadic(dims, kw, "dims", "tile")
        reps = _t._sizes(dims, "tile()")
        if builtins.any(r < 0 for r in reps):
            raise RuntimeError(f"tile(): repeat counts must be non-negative, got {reps}")
        reps = (1,) * (self._data.ndim - len(reps)) + reps
        return _t.ops_extra.Repeat.apply(self, reps)

    def outer(self, vec2: Any) -> Any:
        """The outer product of two 1-D tensors: out[i, j] = self[i] * vec2[j]."""
        v = _t._as_tensor(vec2)
        if self._data.ndim != 1 or v._data.ndim != 1:
            raise RuntimeError(
                f"outer(): expected two 1-D tensors, got shapes {tuple(self.shape)} and "
                f"{tuple(v.shape)}"
            )
        return self.unsqueeze(1) * v

    ger = outer

    def _tri(self, diagonal: int, upper: bool) -> Any:
        what = "triu()" if upper else "tril()"
        if self._data.ndim < 2:
            raise RuntimeError(
                f"{what}: input tensor must have at least 2 dimensions, got shape "
                f"{tuple(self.shape)}"
            )
        return _t.ops_extra.Tri.apply(self, builtins.int(diagonal), upper)

    def tril(self, diagonal: int = 0) -> Any:
        """The lower triangle of the last two dims (j <= i + diagonal); the rest zeroed."""
        return self._tri(diagonal, False)

    def triu(self, diagonal: int = 0) -> Any:
        """The upper triangle of the last two dims (j >= i + diagonal); the rest zeroed."""
        return self._tri(diagonal, True)

    def tril_(self, diagonal: int = 0) -> Any:
        return self._inplace_result(lambda x: x.tril(diagonal), "tril_()")

    def triu_(self, diagonal: int = 0) -> Any:
        return self._inplace_result(lambda x: x.triu(diagonal), "triu_()")

    # -- sorting
    # ----------------------------------------------------------------------------------------
    def _order(self, dim: int, descending: bool, what: str) -> tuple:
        """(axis, stable sorting indices) along dim; descending keeps equal elements in order."""
        x = self._data if self._data.ndim else self._data.reshape(1)
        d = _dim(dim, self._data.ndim, what)
        return d, _stable_order(x, d, descending)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """(values, indices) sorted along `dim`; equal elements keep their order when stable,
        and otherwise come in the order PyTorch's CPU sort leaves them."""
        d, idx = self._order(dim, descending, "sort()")
        x = self if self._data.ndim else self.reshape(1)
        if not stable:
            idx = _torch_sort_order(x._data, idx, d, descending)
        values = (_t.ops_extra.SortStable if stable else _t.ops_extra.Sort).apply(x, idx, d)
        if not self._data.ndim:
            values, idx = values.reshape(()), idx.reshape(())
        idx = np.asarray(idx, np.int64, order="C")  # (np.ascontiguousarray makes 0-d 1-d)
        return SortResult(values, _t.Tensor._make(idx, None, False))

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        d, idx = self._order(dim, descending, "argsort()")
        if not stable:
            x = self._data if self._data.ndim else self._data.reshape(1)
            idx = _torch_sort_order(x, idx, d, descending)
        return _t.Tensor._make(
            idx.reshape(self._data.shape).astype(np.int64, copy=False), None, False
        )

    def msort(self) -> Any:
        return self.sort(0).values

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        """(values, indices) of the k largest (or smallest) elements along `dim`, largest first."""
        n = self._data.shape[_dim(dim, self._data.ndim, "topk()")] if self._data.ndim else 1
        if not isinstance(k, (builtins.int, np.integer)) or not 0 <= k <= n:
            raise RuntimeError(f"topk(): k ({k!r}) is out of range for a dimension of size {n}")
        if self._data.dtype == np.bool_:
            raise RuntimeError("topk(): does not support bool dtypes on CPU (as PyTorch)")
        x = self if self._data.ndim else self.reshape(1)
        d = _dim(dim, self._data.ndim, "topk()")
        if 0 < k < n and (sorted or k == 1 or k * 64 <= n):
            idx, redo = _topk_partition(x._data, d, k, largest)
            if redo.any():  # rows with equal values near the top: the full path for those
                xs, out = np.moveaxis(x._data, d, -1), np.moveaxis(idx, d, -1)
                sub = xs[redo]
                order = _stable_order(sub, 1, largest)
                out[redo] = _torch_tie_order(sub, order, 1, k, largest, sorted)
        else:
            d, idx = self._order(dim, largest, "topk()")
            idx = _torch_tie_order(x._data, idx, d, k, largest, sorted)
        values = _t.ops_extra.Topk.apply(x, idx, d)
        if not self._data.ndim:
            values, idx = values.reshape(()), idx.reshape(())
        idx = c_order(idx.astype(np.int64, copy=False))
        return SortResult(values, _t.Tensor._make(idx, None, False))

    # -- comparison
    # ------------------------------------------------------------------------------------
    def allclose(
        self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
    ) -> bool:
        """True when |self - other| <= atol + rtol * |other| everywhere (broadcasting); dtypes
        must match."""
        o = _t._as_tensor(other)
        if o._data.dtype != self._data.dtype:
            raise RuntimeError(
                f"allclose(): dtypes must match, got {dtype_name(self._data.dtype)} and "
                f"{dtype_name(o._data.dtype)}"
            )
        try:
            np.broadcast_shapes(self._data.shape, o._data.shape)
        except ValueError:
            raise RuntimeError(
                f"allclose(): shapes {tuple(self.shape)} and {tuple(o.shape)} can't be "
                "broadcast together"
            ) from None
        return builtins.bool(np.all(np.isclose(self._data, o._data, rtol, atol, equal_nan)))

    # -- breadth: more of PyTorch's Tensor methods (tests/test_breadth.py) ----------------------
    # tests for special values: bool tensors, no gradient
    def isnan(self) -> Any:
        return _t.Tensor._make(np.isnan(self._data), None, False)

    def isinf(self) -> Any:
        return _t.Tensor._make(np.isinf(self._data), None, False)

    def isfinite(self) -> Any:
        return _t.Tensor._make(np.isfinite(self._data), None, False)

    def isposinf(self) -> Any:
        return _t.Tensor._make(
            np.isposinf(self._data)
            if self._data.dtype.kind == "f"
            else np.zeros(self._data.shape, np.bool_),
            None,
            False,
        )

    def isneginf(self) -> Any:
        return _t.Tensor._make(
            np.isneginf(self._data)
            if self._data.dtype.kind == "f"
            else np.zeros(self._data.shape, np.bool_),
            None,
            False,
        )

    def nan_to_num(
        self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
    ) -> Any:
        """NaN -> nan, +inf -> posinf, -inf -> neginf (default: the dtype's largest/smallest);
        integer and bool tensors come back as a copy."""
        for name, v in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
            if v is not None and not isinstance(v, (builtins.int, builtins.float, np.number)):
                raise TypeError(
                    f"nan_to_num(): {name} must be a number or None, got {type(v).__name__}"
                )
        if self._data.dtype.kind != "f":
            return self.clone()
        return _t.ops_extra.NanToNum.apply(self, nan, posinf, neginf)

    def nan_to_num_(
        self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
    ) -> Any:
        return self._inplace_result(lambda x: x.nan_to_num(nan, posinf, neginf), "nan_to_num_()")

    # logical ops: any dtype, nonzero is True; bool result
    def _logical_op(self, fn: Any, other: Any, what: str) -> Any:
        if not isinstance(other, _t.Tensor):
            raise TypeError(
                f"{what}: argument 'other' must be a Tensor, got {type(other).__name__}"
            )
        try:
            return _t.Tensor._make(
                fn(self._data.astype(np.bool_), other._data.astype(np.bool_)), None, False
            )
        except ValueError:
            raise RuntimeError(
                f"{what}: shapes {tuple(self.shape)} and {tuple(other.shape)} can't be "
                "broadcast together"
            ) from None

    def logical_and(self, other: Any) -> Any:
        return self._logical_op(np.logical_and, other, "logical_and()")

    def logical_or(self, other: Any) -> Any:
        return self._logical_op(np.logical_or, other, "logical_or()")

    def logical_xor(self, other: Any) -> Any:
        return self._logical_op(np.logical_xor, other, "logical_xor()")

    def logical_not(self) -> Any:
        return _t.Tensor._make(np.logical_not(self._data), None, False)

    # bitwise ops: bool and integer tensors only (the operators &, |, ^, ~ are the same ops)
    def bitwise_and(self, other: Any) -> Any:
        return self & other

    def bitwise_or(self, other: Any) -> Any:
        return self | other

    def bitwise_xor(self, other: Any) -> Any:
        return self ^ other

    def bitwise_not(self) -> Any:
        return ~self

    def where(self, condition: Any, other: Any) -> Any:
        """`self if condition else other`, elementwise with broadcasting (torch.where(condition,
        self, other))."""
        return _where(condition, self, other)

    # layout: tinyconv's memory is a NumPy array, so its strides are PyTorch's (in elements)
    def stride(self, dim: int | None = None) -> Any:
        """The step in elements between neighbours along each dim (a tuple, or one int for
        `dim`)."""
        a = self._data
        if a.flags.c_contiguous:
            # the canonical strides: NumPy may give size-1 dims any stride, PyTorch does not
            strides = dense_strides(a.shape, tuple(range(a.ndim)))
            if a.ndim in (4, 5) and 1 in a.shape:
                # both contiguous and channels-last (a size-1 dim): the strides it was made
                # with tell which, as in PyTorch
                cl = dense_strides(a.shape, (0, *range(2, a.ndim), 1))
                if tuple(s // a.itemsize for s in a.strides) == cl:
                    strides = cl
        else:
            strides = tuple(s // a.itemsize for s in a.strides)
        if dim is None:
            return strides
        if not a.ndim:  # (PyTorch: a 0-d tensor has no dim to ask about)
            raise IndexOutOfRange(f"stride(): dim {dim} given for a 0-d tensor, which has none")
        return strides[_dim(dim, a.ndim, "stride()")]

    def storage_offset(self) -> int:
        """Where self's first element sits in the memory of the tensor it is a view of (0 for a
        non-view)."""
        base = getattr(self, "_view_of", None)
        if base is None or not self._data.size:
            return 0
        root = base[0]._data
        start = self._data.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        return builtins.int(start // self._data.itemsize)

    # casts
    def type_as(self, other: Any) -> Any:
        if not isinstance(other, _t.Tensor):
            raise TypeError(
                f"type_as(): argument 'other' must be a Tensor, got {type(other).__name__}"
            )
        return self.to(other._data.dtype)

    def byte(self) -> Any:
        return self.to(np.dtype(np.uint8))

    def char(self) -> Any:
        return self.to(np.dtype(np.int8))

    def short(self) -> Any:
        return self.to(np.dtype(np.int16))

    # one-sided clamps: PyTorch names their nodes ClampMin/ClampMax (clamp(min=...) is
    # ClampBackward1)
    def _clamp_side(self, bound: Any, side: str) -> Any:
        if bound is None:
            raise TypeError(
                f"clamp_{side}(): argument '{side}' must be a number or a tensor, got None"
            )
        out = self.clamp(**{side: bound})
        if out.grad_fn is not None:  # the node's name, as Clamp.forward sets it per variant
            out.grad_fn.torch_name = (
                f"Clamp{side.capitalize()}Backward{1 if isinstance(bound, _t.Tensor) else 0}"
            )
        return out

    def clamp_min(self, min: Any) -> Any:
        return self._clamp_side(min, "min")

    def clamp_max(self, max: Any) -> Any:
        return self._clamp_side(max, "max")

    def clamp_min_(self, min: Any) -> Any:
        return self._inplace_result(lambda x: x.clamp_min(min), "clamp_min_()", (min,))

    def clamp_max_(self, max: Any) -> Any:
        return self._inplace_result(lambda x: x.clamp_max(max), "clamp_max_()", (max,))

    # in-place unary maths, through the one in-place path (views, versions, saved-tensor checks)
    def abs_(self) -> Any:
        return self._inplace_result(lambda x: x.abs(), "abs_()")

    def sqrt_(self) -> Any:
        return self._inplace_result(lambda x: x.sqrt(), "sqrt_()")

    def exp_(self) -> Any:
        return self._inplace_result(lambda x: x.exp(), "exp_()")

    def log_(self) -> Any:
        return self._inplace_result(lambda x: x.log(), "log_()")

    def pow_(self, exponent: Any) -> Any:
        return self._inplace_result(lambda x: x.pow(exponent), "pow_()", (exponent,))

    def sigmoid_(self) -> Any:
        return self._inplace_result(lambda x: x.sigmoid(), "sigmoid_()")

    def tanh_(self) -> Any:
        return self._inplace_result(lambda x: x.tanh(), "tanh_()")

    def relu_(self) -> Any:
        return self._inplace_result(_t.ops.ReluInplace.apply, "relu_()", keeps_input=False)

    # more maths
    def tan(self) -> Any:
        return _t.ops_extra.Tan.apply(_float(self))

    def tan_(self) -> Any:
        return self._inplace_result(lambda x: x.tan(), "tan_()")

    def hypot(self, other: Any) -> Any:
        """sqrt(self**2 + other**2) elementwise, broadcasting; floating point tensors only (as
        PyTorch)."""
        if not isinstance(other, _t.Tensor):
            raise TypeError(
                f"hypot(): argument 'other' must be a Tensor, got {type(other).__name__}"
            )
        # (the promoted dtype must be floating: int64 with float32 is float32, as PyTorch's)
        if result_type(self._data, other._data).kind != "f":
            raise NotImplementedError(
                f"hypot(): only floating point tensors are supported, got "
                f"{dtype_name(self._data.dtype)} and {dtype_name(other._data.dtype)}"
            )
        return _t._binary(_t.ops_extra.Hypot, self, other)

    def _logaddexp(self, other: Any, op: Any, what: str) -> Any:
        if not isinstance(other, _t.Tensor):
            raise TypeError(
                f"{what}: argument 'other' must be a Tensor, got {type(other).__name__}"
            )
        dt = result_type(self._data, other._data)
        if dt.kind != "f":
            raise NotImplementedError(
                f"{what}: not implemented for {dtype_name(self._data.dtype)} and "
                f"{dtype_name(other._data.dtype)} (at least one floating point tensor is needed)"
            )
        return _t._binary(op, self, other)

    def logaddexp(self, other: Any) -> Any:
        """log(exp(self) + exp(other)) elementwise, broadcasting, without overflow."""
        return self._logaddexp(other, _t.ops_extra.LogAddExp, "logaddexp()")

    def logaddexp2(self, other: Any) -> Any:
        """log2(2**self + 2**other) elementwise, broadcasting, without overflow."""
        return self._logaddexp(other, _t.ops_extra.LogAddExp2, "logaddexp2()")

    def hypot_(self, other: Any) -> Any:
        return self._inplace_result(lambda x: x.hypot(other), "hypot_()", (other,))

    def true_divide(self, other: Any) -> Any:
        return self / other

    def trace(self) -> Any:
        """The sum of the main diagonal of a 2-D tensor (integers sum in int64)."""
        if self._data.ndim != 2:
            raise RuntimeError(f"trace(): expected a 2-D tensor, got shape {tuple(self.shape)}")
        if self._data.dtype.kind == "b":  # (PyTorch's kernel has no bool version)
            raise NotImplementedError("trace(): not implemented for bool tensors")
        return _t.ops_extra.Trace.apply(self)

    def count_nonzero(self, dim: Any = None) -> Any:
        axis = (
            None if dim is None else _dims(dim, self._data.ndim, "count_nonzero()", empty_all=True)
        )
        return _t.Tensor._make(
            np.asarray(np.count_nonzero(self._data, axis=axis), dtype=np.int64), None, False
        )

    def nansum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
        """The sum treating NaN as zero (no gradient to the NaNs); integers sum in int64 as
        sum()."""
        if dtype is not None:
            _refuse_int_grad(self, _dtype.as_dtype(dtype), "nansum()")
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind != "f":  # (an integer dtype= is the result's, as in sum)
            return x.sum(dim, keepdim) if dtype is None else x.sum(dim, keepdim, dtype=dtype)
        axis = None if dim is None else _dims(dim, x._data.ndim, "nansum()", empty_all=True)
        return _t.ops_extra.Nansum.apply(x, axis, keepdim)

    def nanmean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
        """The mean of the non-NaN elements (nan where there are none); floating point only."""
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind != "f":
            raise RuntimeError(
                f"nanmean(): expected a floating point input, got {dtype_name(x._data.dtype)}"
            )
        count = x.isnan().logical_not().sum(dim, keepdim)
        return x.nansum(dim, keepdim) / count

    # matrix products with PyTorch's strict shape rules (no broadcasting, equal dtypes)
    def mv(self, vec: Any) -> Any:
        """(n, m) @ (m,) -> (n,)."""
        if not isinstance(vec, _t.Tensor):
            raise TypeError(f"mv(): argument 'vec' must be a Tensor, got {type(vec).__name__}")
        if self._data.ndim != 2 or vec._data.ndim != 1:
            raise RuntimeError(
                f"mv(): expected a 2-D input and a 1-D vec, got shapes {tuple(self.shape)} "
                f"and {tuple(vec.shape)}"
            )
        return _t.matmul(self, vec)

    def bmm(self, mat2: Any) -> Any:
        """(b, n, m) @ (b, m, p) -> (b, n, p), batch sizes equal (no broadcasting, as PyTorch)."""
        if not isinstance(mat2, _t.Tensor):
            raise TypeError(f"bmm(): argument 'mat2' must be a Tensor, got {type(mat2).__name__}")
        sa, sb = tuple(self.shape), tuple(mat2.shape)
        if len(sa) != 3 or len(sb) != 3:
            raise RuntimeError(f"bmm(): expected 3-D tensors, got shapes {sa} and {sb}")
        if sa[0] != sb[0]:
            raise RuntimeError(f"bmm(): batch sizes differ: input {sa} and mat2 {sb}")
        out = _t.matmul(self, mat2)
        if (
            out.grad_fn is not None
        ):  # PyTorch's node for bmm (matmul of 3-D tensors leaves UnsafeView)
            out.grad_fn.torch_name = "BmmBackward0"
        return out

    # views and shapes
    def movedim(self, source: Any, destination: Any) -> Any:
        """Move dim(s) `source` to position(s) `destination`, the others keeping their order."""
        n = self._data.ndim
        src = list(source) if isinstance(source, (tuple, list)) else [source]
        dst = list(destination) if isinstance(destination, (tuple, list)) else [destination]
        if len(src) != len(dst):
            raise RuntimeError(
                f"movedim(): source {source} and destination {destination} must name as many dims"
            )
        src = [_dim(d, builtins.max(n, 1), "movedim()") for d in src]
        dst = [_dim(d, builtins.max(n, 1), "movedim()") for d in dst]
        for name, ds in (("source", src), ("destination", dst)):
            if len(set(ds)) != len(ds):
                raise RuntimeError(f"movedim(): repeated dim in {name} {tuple(ds)}")
        if not n:
            return self.permute(())
        order = [d for d in range(n) if d not in src]
        for s, d in sorted(zip(src, dst, strict=False), key=lambda p: p[1]):
            order.insert(d, s)
        return self.permute(tuple(order))

    moveaxis = movedim

    def swapdims(self, dim0: int, dim1: int) -> Any:
        return self.transpose(dim0, dim1)

    def broadcast_to(self, size: Any) -> Any:
        return self.expand(*size) if isinstance(size, (tuple, list)) else self.expand(size)

    def flipud(self) -> Any:
        if self._data.ndim < 1:
            raise RuntimeError(
                "flipud(): the input must have at least 1 dimension, got a 0-d tensor"
            )
        return self.flip(0)

    def fliplr(self) -> Any:
        if self._data.ndim < 2:
            raise RuntimeError(
                "fliplr(): the input must have at least 2 dimensions, got shape "
                f"{tuple(self.shape)}"
            )
        return self.flip(1)

    def select(self, dim: int, index: int) -> Any:
        """The slice at `index` along `dim` (a view with one dim fewer)."""
        n = self._data.ndim
        if not n:
            raise IndexError("select(): cannot be applied to a 0-d tensor")
        d = _dim(dim, n, "select()")
        if not isinstance(index, (builtins.int, np.integer)) or isinstance(index, builtins.bool):
            raise TypeError(
                f"select(): argument 'index' must be an int, got {type(index).__name__}"
            )
        size = self._data.shape[d]
        if not -size <= index < size:
            raise IndexError(
                f"select(): index {index} out of range for dimension {d} of size {size}"
            )
        return self[(slice(None),) * d + (builtins.int(index),)]

    # beta * self + alpha * (a @ b)
    def _add_matmul(
        self, m1: Any, m2: Any, beta: Any, alpha: Any, what: str, ranks: tuple, name: str
    ) -> Any:
        for arg, t in (
            ("mat1" if ranks[1] != 1 else "mat", m1),
            ("mat2" if ranks[1] != 1 else "vec", m2),
        ):
            if not isinstance(t, _t.Tensor):
                raise TypeError(
                    f"{what}: argument '{arg}' must be a Tensor, got {type(t).__name__}"
                )
        if (m1._data.ndim, m2._data.ndim) != ranks:
            raise RuntimeError(
                f"{what}: expected operands of {ranks[0]} and {ranks[1]} dimensions, got shapes "
                f"{tuple(m1.shape)} and {tuple(m2.shape)}"
            )
        s1, s2 = m1._data.shape, m2._data.shape
        inner2 = s2[-2] if len(s2) > 1 else s2[0]
        if s1[-1] != inner2 or (len(s1) == 3 and s1[0] != s2[0]):
            raise RuntimeError(f"{what}: shapes {tuple(s1)} and {tuple(s2)} can't be multiplied")
        out_shape = s1[:-1] + (s2[-1],) if len(s2) > 1 else s1[:-1]
        try:
            if np.broadcast_shapes(self._data.shape, out_shape) != out_shape:
                raise ValueError
        except ValueError:
            raise RuntimeError(
                f"{what}: input of shape {tuple(self.shape)} can't be broadcast to the "
                f"product's shape {out_shape}"
            ) from None
        dts = {self._data.dtype, m1._data.dtype, m2._data.dtype}
        if len(dts) != 1:
            raise RuntimeError(
                f"{what}: input, and both operands must have the same dtype, got "
                + ", ".join(dtype_name(t._data.dtype) for t in (self, m1, m2))
            )
        for arg, v in (("beta", beta), ("alpha", alpha)):
            if not isinstance(v, (builtins.int, builtins.float, builtins.bool, np.number)):
                raise TypeError(f"{what}: {arg} must be a number, got {v!r}")
        # the numbers must fit the kernel's dtype: float32 for a float16 addmm or baddbmm,
        # float16 itself for addmv (PyTorch's addmv kernel converts them to the tensor's dtype)
        opmath = name != "AddmvBackward0"
        dt = self._data.dtype
        beta = _dtype.fit_scalar_arg(beta, dt, what, opmath)
        alpha = _dtype.fit_scalar_arg(alpha, dt, what, opmath)
        return _t.ops_extra.AddMatmul.apply(self, m1, m2, beta, alpha, name)

    def addmm(self, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
        """beta * self + alpha * (mat1 @ mat2): (n, m) @ (m, p), self broadcast to (n, p)."""
        return self._add_matmul(mat1, mat2, beta, alpha, "addmm()", (2, 2), "AddmmBackward0")

    def addmv(self, mat: Any, vec: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
        """beta * self + alpha * (mat @ vec): (n, m) @ (m,), self broadcast to (n,)."""
        return self._add_matmul(mat, vec, beta, alpha, "addmv()", (2, 1), "AddmvBackward0")

    def baddbmm(self, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
        """beta * self + alpha * (batch1 @ batch2): (b, n, m) @ (b, m, p), self broadcast to
        (b, n, p)."""
        return self._add_matmul(
            batch1, batch2, beta, alpha, "baddbmm()", (3, 3), "BaddbmmBackward0"
        )

    def addmm_(self, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
        return self._inplace_result(
            lambda x: x.addmm(mat1, mat2, beta=beta, alpha=alpha), "addmm_()", (mat1, mat2)
        )

    def fmod(self, other: Any) -> Any:
        """a - trunc(a / b) * b (the sign of self), broadcasting; integer division by 0 raises."""
        od = other._data if isinstance(other, _t.Tensor) else np.asarray(other)
        # (a bool tensor with a number or another dtype is promoted first, as in PyTorch:
        # fmod(bool tensor, 2) is int64; only a bool result is refused)
        dt = result_type(self._data, other._data if isinstance(other, _t.Tensor) else other)
        if dt.kind == "b":
            raise NotImplementedError("fmod(): not implemented for bool tensors")
        if dt.kind in "iu" and od.dtype.kind in "iub" and not np.all(od):
            raise RuntimeError("fmod(): integer division by zero (argument 'other' has a zero)")
        return _t._binary(_t.ops_extra.Fmod, self, other)

    def fmod_(self, other: Any) -> Any:
        return self._inplace_result(lambda x: x.fmod(other), "fmod_()", (other,))

    # selections returning new tensors
    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """Indices of the nonzero elements: (n, ndim) int64, or with as_tuple one 1-D tensor per
        dim."""
        if as_tuple:
            data = self._data if self._data.ndim else self._data.reshape(1)
            return tuple(_t.Tensor._make(i.astype(np.int64), None, False) for i in np.nonzero(data))
        idx = (
            np.argwhere(self._data)
            if self._data.ndim
            else np.zeros((builtins.int(self._data != 0), 0), np.int64)
        )
        return _t.Tensor._make(idx.astype(np.int64), None, False)

    def nonzero_static(self, *, size: int, fill_value: int = -1) -> Any:
        """nonzero()'s (n, ndim) indices cut or padded with `fill_value` rows to `size` rows."""
        if isinstance(size, builtins.bool) or not isinstance(size, (builtins.int, np.integer)):
            raise TypeError(f"nonzero_static(): size must be an int, got {type(size).__name__}")
        if size < 0:
            raise RuntimeError(
                f"nonzero_static: 'size' must be an non-negative integer, got {size}"
            )
        idx = self.nonzero()._data[:size]
        out = np.full((builtins.int(size), idx.shape[1]), fill_value, np.int64)
        out[: len(idx)] = idx
        return _t.Tensor._make(out, None, False)

    def argwhere(self) -> Any:
        return self.nonzero()

    def _renamed(self, out: Any, name: str) -> Any:
        if out.grad_fn is not None:  # the node PyTorch leaves for this op
            out.grad_fn.torch_name = name
        return out

    def masked_select(self, mask: Any) -> Any:
        """The elements where the bool `mask` (broadcast with self) is True, as a 1-D tensor."""
        if not isinstance(mask, _t.Tensor) or mask._data.dtype != np.bool_:
            raise RuntimeError(
                "masked_select(): argument 'mask' must be a bool tensor, got "
                + (
                    dtype_name(mask._data.dtype)
                    if isinstance(mask, _t.Tensor)
                    else type(mask).__name__
                )
            )
        try:
            shape = np.broadcast_shapes(self._data.shape, mask._data.shape)
        except ValueError:
            raise RuntimeError(
                f"masked_select(): mask of shape {tuple(mask.shape)} can't be broadcast with "
                f"the input's shape {tuple(self.shape)}"
            ) from None
        x = self if self._data.shape == shape else self.expand(*shape)
        m = mask if mask._data.shape == shape else mask.expand(*shape)
        return self._renamed(x[m] if shape else x.reshape(1)[m.reshape(1)], "MaskedSelectBackward0")

    def take(self, index: Any) -> Any:
        """self.flatten()[index]: the result has index's shape."""
        idx = _index_tensor(index, "take()", int32=False)
        n = self._data.size
        if idx.size and (idx.min() < -n or idx.max() >= n):
            bad = builtins.int(idx.max()) if idx.max() >= n else builtins.int(idx.min())
            raise IndexError(f"take(): index {bad} is out of range for a tensor of {n} elements")
        flat = self.reshape(-1)
        return self._renamed(flat[_t.Tensor._make(idx, None, False)], "TakeBackward0")

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)) -> Any:
        """Rotate by k * 90 degrees in the plane of `dims`, from dims[0] towards dims[1]."""
        if len(dims) != 2:
            raise RuntimeError(f"rot90(): expected 2 dims, got {tuple(dims)}")
        n = self._data.ndim
        if n < 2:
            raise RuntimeError(
                f"rot90(): expected at least 2 dimensions, got shape {tuple(self.shape)}"
            )
        d0, d1 = _dim(dims[0], n, "rot90()"), _dim(dims[1], n, "rot90()")
        if d0 == d1:
            raise RuntimeError(f"rot90(): dims must differ, got {tuple(dims)}")
        k = builtins.int(k) % 4
        if k == 0:
            out = self.clone()
        elif k == 1:
            out = self.flip(d1).transpose(d0, d1)
        elif k == 2:
            out = self.flip(d0, d1)
        else:
            out = self.flip(d0).transpose(d0, d1)
        return self._renamed(out, "Rot90Backward0")

    def unique(
        self,
        sorted: bool = True,
        return_inverse: bool = False,
        return_counts: bool = False,
        dim: int | None = None,
    ) -> Any:
        """The distinct elements, ascending (PyTorch's CPU result is sorted either way); with
        return_inverse the index of each element in them (input's shape), with return_counts how
        often each occurs. With `dim`, the distinct slices along that dim (lexicographic order),
        and the inverse has shape (size(dim),)."""
        axis = None if dim is None else _dim(dim, self._data.ndim, "unique()")
        if axis is not None:
            _check_unique_dim_sizes(self._data.shape, axis, "unique()")
        # every NaN is distinct to PyTorch (NaN != NaN), each its own entry, last
        vals, inv, counts = np.unique(
            self._data, return_inverse=True, return_counts=True, axis=axis, equal_nan=False
        )
        a = self._data
        if a.dtype.kind == "f" and (np.signbit(a) & (a == 0)).any() and a.size > 1:
            # 0.0 and -0.0 are one entry: PyTorch's is the first of the run its (unstable)
            # sort leaves, std::sort's (along dim, with NaN in a slice the order is not
            # defined, so not followed)
            if axis is None:
                order = select.torch_sort_indices(a.reshape(1, -1))[0]
                vals = a.reshape(-1)[order[np.unique(inv.reshape(-1)[order], return_index=True)[1]]]
            elif not np.isnan(a).any():
                keys = inv.reshape(1, -1).astype(np.int64)
                order = (
                    select.sort_order(keys)[0]
                    if keys.size > 16
                    else np.argsort(keys[0], kind="stable")
                )
                vals = np.take(a, order[np.unique(keys[0][order], return_index=True)[1]], axis)
        # (the values require grad when self does, under a node whose backward raises, as
        # PyTorch's: it defines no derivative for unique)
        name = "Unique2Backward0" if axis is None else "UniqueDimBackward0"
        out = [_t.ops_gaps.NoDerivative.apply(self, vals, "unique", name)]
        if return_inverse:
            inv_shape = self._data.shape if axis is None else (self._data.shape[axis],)
            out.append(_t.Tensor._make(inv.reshape(inv_shape).astype(np.int64), None, False))
        if return_counts:
            out.append(_t.Tensor._make(counts.astype(np.int64), None, False))
        return out[0] if len(out) == 1 else tuple(out)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Any:
        """The diagonal `offset` (> 0 above, < 0 below the main one) of every 2-D slice at
        (dim1, dim2), as a new last dim: a view (writes through it reach self). Shape: self's
        without dim1 and dim2, then the diagonal's length."""
        for name, v in (("offset", offset), ("dim1", dim1), ("dim2", dim2)):
            if not isinstance(v, (builtins.int, np.integer)) or isinstance(v, builtins.bool):
                raise TypeError(
                    f"diagonal(): argument '{name}' must be an int, got {type(v).__name__}"
                )
        n = self._data.ndim
        d1, d2 = _dim(dim1, n, "diagonal()"), _dim(dim2, n, "diagonal()")
        if d1 == d2:
            raise RuntimeError(f"diagonal(): dim1 and dim2 must differ, got {dim1} and {dim2}")
        return _t.ops_extra.Diagonal.apply(self, builtins.int(offset), d1, d2)

    def unique_consecutive(
        self, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
    ) -> Any:
        """Each run of equal consecutive elements (or slices along `dim`) kept once, in order;
        with return_inverse the run each element belongs to (input's shape; (size(dim),) with
        dim), with return_counts each run's length. nan never equals nan (a run of its own)."""
        x = self._data
        if dim is None:
            rows = x.reshape(-1, 1)
            axis = None
        else:
            if x.ndim == 0:
                raise IndexOutOfRange(
                    f"unique_consecutive(): dim {dim} given but the tensor is 0-d"
                )
            axis = _dim(dim, x.ndim, "unique_consecutive()")
            _check_unique_dim_sizes(x.shape, axis, "unique_consecutive()")
            n = x.shape[axis]
            rows = np.moveaxis(x, axis, 0).reshape(n, x.size // n if n else 0)
        # a run starts at row 0 and wherever a row differs from the one before it
        starts = np.ones(rows.shape[0], dtype=bool)
        starts[1:] = (rows[1:] != rows[:-1]).any(axis=1)
        first = np.flatnonzero(starts)
        out = [_t.ops_extra.UniqueConsecutive.apply(self, first, axis)]
        if return_inverse:
            inverse = np.cumsum(starts, dtype=np.int64) - 1
            out.append(
                _t.Tensor._make(inverse.reshape(x.shape if axis is None else -1), None, False)
            )
        if return_counts:
            counts = np.diff(np.append(first, rows.shape[0])).astype(np.int64)
            out.append(_t.Tensor._make(counts, None, False))
        return out[0] if len(out) == 1 else tuple(out)

    def diag(self, diagonal: int = 0) -> Any:
        """1-D (n,) -> the square matrix with it on diagonal `diagonal`; 2-D -> that diagonal
        (1-D)."""
        if self._data.ndim not in (1, 2):
            raise RuntimeError(
                f"diag(): expected a 1-D or 2-D tensor, got shape {tuple(self.shape)}"
            )
        if not isinstance(diagonal, (builtins.int, np.integer)) or isinstance(
            diagonal, builtins.bool
        ):
            raise TypeError(f"diag(): argument 'diagonal' must be an int, got {diagonal!r}")
        return _t.ops_extra.Diag.apply(self, builtins.int(diagonal))


def _check_unique_dim_sizes(shape: tuple, axis: int, what: str) -> None:
    """PyTorch's rule for unique/unique_consecutive along `axis` of an empty tensor: only
    `axis` itself may have size 0 (a slice of size 0 compares as nothing)."""
    zero = [d for d, n in enumerate(shape) if n == 0]
    if len(zero) > 1:
        raise RuntimeError(
            f"{what}: the tensor of shape {tuple(shape)} has more than one size-0 dimension"
        )
    if zero and zero[0] != axis:
        raise RuntimeError(
            f"{what}: the tensor of shape {tuple(shape)} has a size-0 dimension other than "
            f"dim {axis}; no slices along it to compare"
        )


def _result_type(*arrays: np.ndarray) -> np.dtype:
    """PyTorch's promotion of several tensors, all at once (a 0-d tensor ranks below others):
    int8 with a 0-d float64 and a float32 is float32 (folded pairwise it was float64)."""
    return result_type(*arrays)


def _broadcast(what: str, *xs: Any) -> None:
    shapes = [np.shape(x._data if isinstance(x, _t.Tensor) else x) for x in xs]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(
            f"{what}: shapes {', '.join(str(tuple(s)) for s in shapes)} can't be broadcast together"
        ) from None


def _where(condition: Any, input: Any, other: Any) -> Any:
    """Elementwise `input if condition else other`, broadcasting all three (torch.where and
    Tensor.where)."""
    cond = _t._as_tensor(condition)._data
    if cond.dtype == np.uint8:  # (PyTorch still takes a uint8 mask, with this warning)
        warnings.warn(
            "where received a uint8 condition tensor. This behavior is deprecated and will be "
            "removed in a future version of PyTorch. Use a boolean condition instead.",
            UserWarning,
            stacklevel=3,
        )
        cond = cond.astype(np.bool_)
    if cond.dtype != np.bool_:
        raise TypeError(f"where(): condition must be a bool tensor, got dtype {cond.dtype}")
    a, b = _t._operand(input), _t._operand(other)
    ad = a._data if isinstance(a, _t.Tensor) else a
    bd = b._data if isinstance(b, _t.Tensor) else b
    try:
        np.broadcast_shapes(cond.shape, np.shape(ad), np.shape(bd))
    except ValueError:
        raise TensorValueError(
            f"where(): condition {cond.shape}, input {np.shape(ad)} and other {np.shape(bd)} "
            "can't be broadcast together"
        ) from None
    if not isinstance(ad, np.ndarray) and not isinstance(bd, np.ndarray):
        # two Python scalars: PyTorch's dtype (where(c, 1.0, 0.0) is float32), not NumPy's float64
        a = ad = np.asarray(ad, dtype=result_type(ad, bd))
    dtype = result_type(ad, bd)
    # a number must fit the result's dtype, as PyTorch checks; except float16, where PyTorch
    # casts the number unchecked (where(c, half, 1e40) gives inf)
    for v in (input, other):
        if isinstance(v, (builtins.int, builtins.float, np.number)) and dtype != np.float16:
            _dtype.fit_number(v, dtype, "where()", int_to_float=True)
    return _t.ops.Where.apply(cond, a, b, dtype)


# tensor.py imports this module first (Tensor mixes it in); used at call time
from . import tensor as _t  # noqa: E402


def _fused(out: Any, name: str, *inputs: Any) -> Any:
    """`out` whose last node carries PyTorch's name for its one fused node and shows that
    node's edges (those of `inputs`), for ops built here from smaller ones."""
    node = out.grad_fn
    if node is not None:
        node.torch_name = name
        node.shown_edges = tuple(
            None if t is None or not t.requires_grad else (t.grad_fn or t) for t in inputs
        )
    return out


def _inplace_of(name: str) -> Callable:
    """`self.<name>_(...)`: self = self.<name>(...), written back through the one in-place
    path (views, versions, casts and saved-tensor checks as every other in-place op)."""

    def method(self: Any, *args: Any, **kw: Any) -> Any:
        return self._inplace_result(
            lambda x: getattr(x, name)(*args, **kw), f"{name}_()", args + tuple(kw.values())
        )

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In place: self.{name}(...) written into self."
    return method


# PyTorch's in-place methods whose out-of-place op tinyconv has (x.sin_(), x.clip_(0, 1), ...)
for _name in (
    "absolute acosh arccosh arcsinh arctanh asinh atanh deg2rad rad2deg "
    "arccos arcsin arctan arctan2 bitwise_and bitwise_not bitwise_or bitwise_xor clip copysign "
    "cos divide fix floor_divide logit multiply negative remainder sgn sign sin square subtract "
    "true_divide xlogy"
).split():
    setattr(TensorMath, _name + "_", _inplace_of(_name))
