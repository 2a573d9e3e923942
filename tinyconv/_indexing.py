"""PyTorch's indexing rules, carried out with NumPy.

PyTorch and NumPy agree on slices, None, and index arrays used on their own. They
disagree on an integer next to an index array: NumPy counts the integer as one more
advanced index, PyTorch as a *select*, a basic index that removes its dim before the
arrays are applied. Where the arrays' dims land depends on that. For x of shape (2, 3, 4):

    x[0, :, [0, 1]]   NumPy: the int and the list are advanced indices separated by a
                      slice, so their broadcast dim goes first: shape (2, 3).
                      PyTorch: select x[0] (shape (3, 4)), then index its last dim: (3, 2).

`plan(index, shape)` translates a PyTorch index once, into two NumPy steps:

1. `basic`: the ints, slices and None, with a full slice `:` where an index array sits,
   and a None where a bool sits (a bool adds a dim, indexed by [0] or by nothing). This
   gives a view of the tensor.
2. `adv` (None when there are no index arrays): over the view's dims, the index arrays
   (bool masks already turned into their nonzero() arrays) and full slices. No ints are
   left, so NumPy's placement rule is now PyTorch's: the broadcast index dims replace the
   indexed dims where those are adjacent, or go first when a slice or None separates them.

getitem, setitem and their backwards all run through the same `IndexPlan`, so a value,
its write and its gradient cannot disagree about where an element went.

Bounds are checked as PyTorch checks them: an integer always; an index array's entries
only when the result has elements (PyTorch checks them element by element as it fills
the result), except that a non-empty index array on a dim of size 0 is always an error.
"""

from __future__ import annotations

import builtins
import warnings
from typing import Any

import numpy as np

from . import _dtype
from ._args import IndexOutOfRange
from ._errors import IndexDtypeError, TensorValueError
from .kernels.layout import iterator_order


class IndexPlan:
    """One PyTorch index applied to arrays of one shape: `a[basic]`, then `[adv]`.

    `shape` is the result's shape; `is_view` says the result is a view (no index arrays).
    """

    __slots__ = ("adv", "basic", "checks", "fill_mask", "items", "shape", "unique", "where")

    def __init__(
        self,
        basic: tuple,
        adv: tuple | None,
        shape: tuple,
        unique: bool,
        where: Any = None,
        checks: tuple = (),
        items: tuple = (),
    ) -> None:
        self.basic = basic  # ints, slices, None, ending with Ellipsis (so a[basic] is a view)
        self.adv = adv  # None, or index arrays and full slices over a[basic]'s dims
        self.shape = shape
        self.unique = unique  # no element is picked twice (no index arrays, or masks only)
        # NumPy checks the index arrays' entries as it reads them (when the result has
        # elements, exactly PyTorch's check); `checks` = (slot, size, tensor dim) per array
        # turns its IndexError into a message about the tensor's dims.
        self.where, self.checks = where, checks
        # a basic index as the user wrote it (ints, slices, None, ...), for the grad_fn name
        self.items = items
        # "bool" or "uint8" when the only index array is one mask: PyTorch then writes a
        # one-element value with masked_fill_ (see value_for)
        self.fill_mask: str | None = None

    @property
    def is_view(self) -> bool:
        return self.adv is None

    def get(self, a: np.ndarray) -> np.ndarray:
        """a[index], shape `self.shape`: a view when `is_view`, else a copy."""
        v = a[self.basic]
        if self.adv is None:
            return v
        try:
            out = v[self.adv]
        except IndexError:
            raise self._bounds_error() from None
        # NumPy puts the index arrays' dims first in memory (x[:, [0, 2]] is strided);
        # PyTorch's result from a contiguous tensor is contiguous
        if a.flags.c_contiguous:
            if not out.flags.c_contiguous:
                out = np.ascontiguousarray(out)  # (never 0-d here: that is always contiguous)
            return out
        return _torch_layout(v, self.adv, out)

    def put(self, a: np.ndarray, value: Any) -> None:
        """a[index] = value, in place; value broadcasts to `self.shape` (later repeats win)."""
        v = a[self.basic]
        if self.adv is None:
            v[...] = value
            return
        try:  # NumPy checks every entry before it writes any
            v[self.adv] = value
        except IndexError:
            raise self._bounds_error() from None

    def accumulate(self, out: np.ndarray, grad: np.ndarray) -> None:
        """out[index] += grad, where an element picked twice gets both contributions."""
        v = out[self.basic]
        if self.adv is None:
            v += grad
        elif self.unique:
            v[self.adv] += grad
        else:  # repeated entries: `v[adv] += grad` would keep only one of them
            np.add.at(v, self.adv, grad)

    def _bounds_error(self) -> IndexError:
        for slot, n, d in self.checks:
            a = self.adv[slot]
            bad = (a < -n) | (a >= n)
            if bad.any():
                return IndexOutOfRange(
                    f"{self.where}: index {a[bad].reshape(-1)[0]} is out of bounds for dimension "
                    f"{d} with size {n}"
                )
        return IndexOutOfRange(f"{self.where}: an index is out of bounds")  # (not reached)


def _torch_layout(v: np.ndarray, adv: tuple, out: np.ndarray) -> np.ndarray:
    """out = v[adv], laid out in memory as PyTorch's index kernel lays it out, so strides,
    is_contiguous() and view() agree: x.T[:, [2, 0]] is contiguous there (NumPy's copy has
    strides (1, 4)). PyTorch's TensorIterator orders the result's dims by the strides of its
    operands: v with the indexed dims' strides 0, and each index array broadcast over the
    result (an insertion sort where a 0 stride leaves a pair's order open)."""
    nd = out.ndim
    if nd < 2:
        return out
    slots = list(adv) + [slice(None)] * (v.ndim - len(adv))
    pos = [i for i, s in enumerate(slots) if not isinstance(s, slice)]
    arrays = [slots[i] for i in pos]
    bshape = np.broadcast_shapes(*(x.shape for x in arrays))
    if pos[-1] - pos[0] == len(pos) - 1:  # adjacent: the index dims sit where they were
        before, after = list(range(pos[0])), list(range(pos[-1] + 1, v.ndim))
    else:  # separated: they go first (as the plan's out_shape)
        before, after = [], [i for i in range(v.ndim) if i not in pos]
    k = len(bshape)
    vst = [0 if n == 1 else st for n, st in zip(v.shape, v.strides, strict=True)]
    operands = [[vst[i] for i in before] + [0] * k + [vst[i] for i in after]]
    for x in arrays:
        st = list(np.broadcast_to(x, bshape).strides)
        operands.append([0] * len(before) + st + [0] * len(after))
    shape = out.shape
    perm = iterator_order(shape, operands)[::-1]  # fastest first
    strides = [0] * nd
    step = out.itemsize
    for d in perm:
        strides[d] = step
        step *= builtins.max(shape[d], 1)
    if tuple(strides) == out.strides:
        return out
    order = perm[::-1]  # outermost first
    res = np.empty([shape[d] for d in order], out.dtype).transpose(
        [order.index(d) for d in range(nd)]
    )
    res[...] = out
    return res


def plan(index: Any, shape: tuple) -> IndexPlan:
    """Translate a PyTorch index for a tensor of `shape` (see the module docstring)."""
    items = index if type(index) is tuple else (index,)
    for it in items:  # the common case first: only ints, slices and None, the same in NumPy
        t = type(it)
        if not (t is int or it is None or (t is slice and _plain(it))):
            break
    else:
        return _basic_plan(index, items, shape)
    return _full_plan(index, shape)


def _full_plan(index: Any, shape: tuple) -> IndexPlan:
    where = _Where(index, shape)
    items = _items(index)
    kinds = [_classify(it, where) for it in items]
    n_ell = sum(1 for k, _ in kinds if k == "ellipsis")
    if n_ell > 1:
        # PyTorch reads every `...` as "skip the dims the other items leave" (ndim minus the
        # dims they use), the later ones too, and skips past the last dim do nothing:
        # x[..., 0, ...] is x[:, 0] and x[..., 0, ..., 0] of a 2-D x is x[0, 0] (NumPy refuses
        # them all)
        skip = len(shape) - sum(_DIMS_USED[k] if k != "mask" else v.ndim for k, v in kinds)
        if skip < 0:
            raise IndexOutOfRange(
                f"{where}: too many indices for a tensor of dimension {len(shape)}"
            )
        out: list = []
        for it, (k, _) in zip(items, kinds, strict=True):
            out.extend([_SKIP] * skip if k == "ellipsis" else [it])
        while out and out[-1] is _SKIP and len(out) - sum(x is None for x in out) > len(shape):
            out.pop()
        return _full_plan(tuple(out), shape)
    if n_ell:
        _check_mask_with_ellipsis(items, kinds, where)
    used = sum(_DIMS_USED[k] if k != "mask" else v.ndim for k, v in kinds)
    ndim = len(shape)
    if used > ndim:
        raise IndexOutOfRange(
            f"{where}: too many indices for a tensor of dimension {ndim} "
            f"(the index uses {used} dimension(s))"
        )

    basic: list = []
    slots: list = []  # per dim of a[basic]: None (kept whole) or an index array
    view_shape: list = []  # a[basic].shape
    source: list = []  # per dim of a[basic]: the tensor dim it came from (None for new dims)
    unique = True
    d = 0  # the next dim of the tensor that the index has not used yet
    for kind, v in kinds:
        if kind == "int":
            n = shape[d]
            if not -n <= v < n:
                raise IndexOutOfRange(
                    f"{where}: index {v} is out of bounds for dimension {d} with size {n}"
                )
            basic.append(v)
            d += 1
        elif kind == "slice":
            basic.append(v)
            view_shape.append(len(range(*v.indices(shape[d]))))
            slots.append(None)
            source.append(d)
            d += 1
        elif kind == "none":
            basic.append(None)
            view_shape.append(1)
            slots.append(None)
            source.append(None)
        elif kind == "bool":  # a new dim of size 1, picked once (True) or not at all (False)
            basic.append(None)
            view_shape.append(1)
            slots.append(np.zeros(1 if v else 0, dtype=np.intp))
            source.append(None)
        elif kind == "array":
            basic.append(slice(None))
            view_shape.append(shape[d])
            slots.append(v)
            source.append(d)
            unique = False
            d += 1
        elif kind == "mask":
            k = v.ndim
            if v.shape != tuple(shape[d : d + k]):
                raise IndexOutOfRange(
                    f"{where}: the boolean mask of shape {v.shape} does not match the shape "
                    f"{tuple(shape[d : d + k])} of the dimension(s) {d}..{d + k - 1} it indexes"
                )
            basic.extend([slice(None)] * k)
            view_shape.extend(shape[d : d + k])
            slots.extend(np.nonzero(v))  # a k-d mask is k adjacent index arrays, as in PyTorch
            source.extend(range(d, d + k))
            d += k
        else:  # ellipsis: full slices over the dims no other item uses
            fill = ndim - used
            basic.extend([slice(None)] * fill)
            view_shape.extend(shape[d : d + fill])
            slots.extend([None] * fill)
            source.extend(range(d, d + fill))
            d += fill
    view_shape.extend(shape[d:])  # dims the index did not reach stay whole
    slots.extend([None] * (ndim - d))
    source.extend(range(d, ndim))
    basic.append(Ellipsis)  # a[basic] is then always an array view, never a NumPy scalar

    positions = [i for i, s in enumerate(slots) if s is not None]
    if not positions:
        items = tuple(_AS_WRITTEN.get(k, v) for k, v in kinds)
        return IndexPlan(tuple(basic), None, tuple(view_shape), True, items=items)

    arrays = [slots[i] for i in positions]
    try:
        bshape = (
            arrays[0].shape if len(arrays) == 1 else np.broadcast_shapes(*(a.shape for a in arrays))
        )
    except ValueError:
        raise IndexOutOfRange(
            f"{where}: the index arrays could not be broadcast together "
            f"(shapes {', '.join(str(a.shape) for a in arrays)})"
        ) from None
    if positions[-1] - positions[0] == len(positions) - 1:  # adjacent: in place
        out_shape = (*view_shape[: positions[0]], *bshape, *view_shape[positions[-1] + 1 :])
    else:  # separated by a slice or None: the broadcast dims go first
        out_shape = (*bshape, *(n for i, n in enumerate(view_shape) if slots[i] is None))
    empty = 0 in out_shape
    for i in positions:
        a, n = slots[i], view_shape[i]
        if n == 0 and a.size:
            raise IndexOutOfRange(
                f"{where}: index {a.reshape(-1)[0]} is out of bounds for dimension "
                f"{source[i]} with size 0"
            )
        if empty:
            # PyTorch reads no entry when the result is empty, so it checks none; NumPy
            # would check them all. Any in-range entry gives the same (empty) answer.
            slots[i] = np.zeros(a.shape, dtype=np.intp)
    adv = tuple(slice(None) if s is None else s for s in slots[: positions[-1] + 1])
    checks = tuple((i, view_shape[i], source[i]) for i in positions)
    p = IndexPlan(tuple(basic), adv, tuple(out_shape), unique, where, checks)
    arrays_given = [i for i, (k, _) in enumerate(kinds) if k in ("array", "bool", "mask")]
    if len(arrays_given) == 1 and kinds[arrays_given[0]][0] == "mask":
        p.fill_mask = (
            "uint8" if getattr(items[arrays_given[0]], "dtype", None) == np.uint8 else "bool"
        )
    return p


def _plain(s: slice) -> bool:
    """A slice of ints (or None) with no step or a positive one."""
    step = s.step
    return (
        (step is None or (type(step) is int and step > 0))
        and (s.start is None or type(s.start) is int)
        and (s.stop is None or type(s.stop) is int)
    )


def _basic_plan(index: Any, items: tuple, shape: tuple) -> IndexPlan:
    """The plan of ints, plain slices and None (no `...`): a view, as in NumPy."""
    out = []
    d = 0
    ndim = len(shape)
    for it in items:
        if it is None:
            out.append(1)
            continue
        if d == ndim:
            return _full_plan(index, shape)  # which raises "too many indices"
        n = shape[d]
        if type(it) is int:
            if not -n <= it < n:
                raise IndexOutOfRange(
                    f"{_Where(index, shape)}: index {it} is out of "
                    f"bounds for dimension {d} with size {n}"
                )
        else:
            out.append(len(range(*it.indices(n))))
        d += 1
    return IndexPlan((*items, Ellipsis), None, (*out, *shape[d:]), True, items=items)


def _dense_layout(a: np.ndarray) -> tuple | None:
    """(shape, strides) over the dims of size > 1 if `a` covers its memory span exactly once
    (PyTorch's "non-overlapping and dense", up to a permutation of dims), else None."""
    dims = [(st, n) for n, st in zip(a.shape, a.strides, strict=False) if n != 1]
    expected = a.itemsize
    for st, n in sorted(dims):
        if st != expected:
            return None
        expected *= n
    return tuple(n for _, n in dims), tuple(st for st, _ in dims)


def overlap(a: np.ndarray, b: np.ndarray) -> str:
    """How the memory of `a` and `b` overlaps, as PyTorch judges it before a write: "no",
    "full" (the same elements in the same layout), "partial", or "unknown" (a layout that
    is not dense, which PyTorch does not check)."""
    if a.size == 0 or b.size == 0 or not np.may_share_memory(a, b):  # a cheap bounds check first
        return "no"
    la, lb = _dense_layout(a), _dense_layout(b)
    if la is None or lb is None:
        return "unknown"
    sa, sb = a.ctypes.data, b.ctypes.data
    ea, eb = sa + a.nbytes, sb + b.nbytes
    if sa == sb and ea == eb:
        return "full" if la == lb else "partial"
    return "partial" if sa < eb and sb < ea else "no"


def value_for(value: Any, p: IndexPlan, dtype: np.dtype, index: Any, shape: tuple) -> Any:
    """The array `t[index] = value` writes (t of `shape` and `dtype`, `p` the plan of
    `index`): in t's dtype, shaped to broadcast to `p.shape`. Leading size-1 dims beyond
    the target's are dropped, as PyTorch does."""
    one = type(value) in (builtins.float, builtins.int, builtins.bool)
    if p.fill_mask == "uint8" and (
        one or np.size(value._data if isinstance(value, Tensor) else value) == 1
    ):
        raise RuntimeError(
            f"{_Where(index, shape, '__setitem__: ')}: a uint8 mask with a one-element value is "
            "refused, as in PyTorch (masked_fill_ only supports boolean masks); use a bool mask"
        )
    if one:  # NumPy's write casts a Python number to the tensor's dtype, once PyTorch's check
        if dtype == np.float16 and type(value) is not builtins.bool:
            # (PyTorch converts a number to float16 unchecked: t[0] = 1e40 writes inf)
            _dtype.check_py_int(value)
            with np.errstate(over="ignore"):
                return np.float16(value)
        return _dtype.fit_number(value, dtype, "__setitem__")  # says it fits
    where = _Where(index, shape, "__setitem__: ")
    if isinstance(value, Tensor):
        arr = value._data
        if (
            arr.dtype != dtype
            and not p.is_view
            and not (p.fill_mask and arr.size == 1)
            and index is not True
        ):
            # PyTorch's index_put_ refuses this (a basic index copies with a cast, as does a
            # bare `x[True] = v`; a single bool mask with a one-element value goes to
            # masked_fill_, which casts too)
            raise RuntimeError(
                f"{where}: with an index tensor or list, the value's dtype must be the tensor's, "
                f"as in PyTorch (got a {arr.dtype} value for a {dtype} tensor); "
                f"convert it first, e.g. value.to({dtype})"
            )
    elif isinstance(value, (builtins.bool, builtins.int, builtins.float, np.number, np.bool_)):
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{where}: cannot assign a value of type {type(value).__name__}")
    else:  # (PyTorch refuses lists, tuples and ndarrays too: wrap them in tensor(...))
        raise TypeError(
            f"{where}: can't assign a {type(value).__name__}; the value must be a tensor or a "
            "number (wrap a list in tinyconv.tensor(...))"
        )
    target = p.shape
    extra = arr.ndim - len(target)
    if extra > 0 and all(n == 1 for n in arr.shape[:extra]):
        arr = arr.reshape(arr.shape[extra:])
    if arr.ndim > len(target) or any(
        a not in (1, t) for a, t in zip(arr.shape[::-1], target[::-1], strict=False)
    ):
        raise TensorValueError(
            f"__setitem__: cannot assign a value of shape {tuple(np.shape(value))} to the part of "
            f"shape {target} that index {_show(index)} selects in a tensor of shape {tuple(shape)} "
            "(the value must broadcast to that part)"
        )
    return arr.astype(dtype, copy=False)


def _check_mask_with_ellipsis(items: tuple, kinds: list, where: _Where) -> None:
    """PyTorch 2.13 counts a bool mask given as a list or ndarray as one dim when it works
    out how many dims `...` stands for, however many dims the mask has. With a mask of 2 or
    more dims, the items after `...` then land past the last dim: PyTorch raises, or drops
    a slice or an index array there without a word (x[m, ..., 0:1] with m of shape (2, 3)
    ignores the 0:1). tinyconv refuses the combination (README lists it), except when
    nothing follows the `...`, where PyTorch's result is right."""
    ell = next(i for i, (k, _) in enumerate(kinds) if k == "ellipsis")
    for i, (it, (kind, v)) in enumerate(zip(items, kinds, strict=False)):
        if (
            kind == "mask"
            and v.ndim > 1
            and not isinstance(it, Tensor)
            and not (i < ell and ell == len(items) - 1)
        ):
            raise IndexOutOfRange(
                f"{where}: a bool mask of {v.ndim} dims given as a {type(it).__name__} together "
                "with '...' and items after it is refused (PyTorch counts such a mask as one "
                "dim when expanding '...', and raises or misplaces the later items); "
                "pass the mask as a tensor"
            )


# -- reading the index --------------------------------------------------------------------------

_AS_WRITTEN = {"none": None, "ellipsis": Ellipsis}  # (ints and slices keep their value)
_DIMS_USED = {"int": 1, "slice": 1, "array": 1, "none": 0, "bool": 0, "ellipsis": 0}
_SKIP = slice(None)  # a dim an extra `...` skips (told apart by identity)


def _items(index: Any) -> tuple:
    """The index as a tuple of items. A list that holds lists, arrays, tensors, slices,
    None or `...` is read as a tuple, as PyTorch 2.13 does (and deprecates)."""
    if isinstance(index, tuple):
        return index
    if (
        isinstance(index, list)
        and len(index) < 32
        and any(
            isinstance(it, (list, tuple, np.ndarray, Tensor, slice)) or it is None or it is Ellipsis
            for it in index
        )
    ):
        warnings.warn(
            "indexing with a list that holds sequences, tensors, slices, None or ... reads the "
            "list as a tuple of indices, as PyTorch does (it deprecates this); write x[tuple(seq)]",
            UserWarning,
            stacklevel=4,
        )
        return tuple(index)
    return (index,)


def _classify(it: Any, where: _Where) -> tuple:
    """(kind, value) of one index item; kinds: int, slice, none, ellipsis, bool, array, mask."""
    if it is None:
        return "none", None
    if it is Ellipsis:
        return "ellipsis", None
    if isinstance(it, builtins.bool):  # before int: bool is an int in Python
        return "bool", it
    if isinstance(it, (builtins.int, np.integer)):
        return "int", builtins.int(it)
    if isinstance(it, slice):
        return "slice", _slice(it, where)
    if isinstance(it, Tensor):
        arr = it._data
        if arr.ndim == 0 and arr.dtype.kind in "iu" and arr.dtype != np.uint8:
            return "int", builtins.int(arr)  # a 0-d integer tensor is a select, as an int is
        if arr.dtype.kind in "iu" and arr.dtype not in (np.int64, np.int32, np.uint8):
            raise IndexDtypeError(
                f"{where}: tensors used as indices must be long, int or bool tensors "
                f"(or byte masks), got a {arr.dtype} tensor"
            )
        if arr.dtype.kind not in "biu":
            raise IndexDtypeError(
                f"{where}: tensors used as indices must be long, int or bool tensors "
                f"(or byte masks), got a {arr.dtype} tensor"
            )
        return _array_kind(arr)
    if isinstance(it, range):  # PyTorch reads a range as the list of its integers
        return _array_kind(np.arange(it.start, it.stop, it.step))
    if isinstance(it, (list, np.ndarray)):
        try:
            arr = np.asarray(it)
        except ValueError as e:
            raise TypeError(f"{where}: a list used as an index must be rectangular ({e})") from None
        if arr.size == 0 and arr.dtype.kind == "f":  # [[]] or np.array([]): no float in it
            arr = arr.astype(np.intp)
        if arr.dtype.kind not in "biu":
            # PyTorch truncates floats in lists and arrays to integers; a float there is
            # almost always a bug, so tinyconv refuses it (README lists this difference)
            raise TypeError(
                f"{where}: arrays used as indices must be integer or bool arrays, got {arr.dtype}"
            )
        if arr.ndim == 0 and arr.dtype.kind in "iu" and arr.dtype != np.uint8:
            return "int", builtins.int(arr)
        return _array_kind(arr)
    # (PyTorch's IndexError for x[1.0]; a TypeError too, as tinyconv raised before)
    raise IndexDtypeError(
        f"{where}: invalid index of type {type(it).__name__}: {it!r} (valid: integers, slices, "
        "None, ..., bools, and integer or bool tensors, lists and arrays)"
    )


def _array_kind(arr: np.ndarray) -> tuple:
    """An integer or bool array item: an index array, a mask, or a 0-d bool."""
    if arr.dtype == np.uint8:
        warnings.warn(
            "indexing with a uint8 tensor or array reads it as a bool mask, as PyTorch does "
            "(it deprecates this); use a bool one instead",
            UserWarning,
            stacklevel=5,
        )
        arr = arr.astype(bool)
    if arr.dtype == np.bool_:
        return ("bool", builtins.bool(arr)) if arr.ndim == 0 else ("mask", arr)
    return "array", arr.astype(np.intp, copy=False)


def _slice(s: slice, where: _Where) -> slice:
    """A slice with integer (or None) parts and a positive step."""
    try:
        parts = [None if p is None else _as_int(p) for p in (s.start, s.stop, s.step)]
    except TypeError:
        raise TypeError(f"{where}: slice parts must be integers or None, got {s!r}") from None
    if parts[2] == 0:
        raise TensorValueError(f"{where}: slice step cannot be zero")
    if parts[2] is not None and parts[2] < 0:
        raise TensorValueError(
            f"{where}: negative slice steps are not supported, as in PyTorch (step must be "
            f"greater than zero, got {parts[2]}); use .flip() to reverse"
        )
    return slice(*parts)


def _as_int(p: Any) -> int:
    if isinstance(p, (builtins.bool, np.bool_)):
        raise TypeError
    return p.__index__()


class _Where:
    """'index ... on a tensor of shape ...', the start of an error message, built only when
    an error is raised (the repr of a tensor used as an index costs more than indexing)."""

    __slots__ = ("index", "prefix", "shape")

    def __init__(self, index: Any, shape: tuple, prefix: str = "") -> None:
        self.index, self.shape, self.prefix = index, shape, prefix

    def __format__(self, spec: str) -> str:
        return f"{self.prefix}index {_show(self.index)} on a tensor of shape {tuple(self.shape)}"


def _show(index: Any) -> str:
    """A short repr of an index for error messages."""
    r = repr(index)
    return r if len(r) <= 80 else r[:77] + "..."


# tensor.py imports this module at its end, once Tensor exists (the Tensor <-> op cycle)
from .tensor import Tensor  # noqa: E402
