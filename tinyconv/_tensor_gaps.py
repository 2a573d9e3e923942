"""Small pieces of PyTorch's Tensor surface that programs reach for: comparison aliases and
their in-place forms, erfc/sinc/fmax/gcd/..., put/index_put, renorm, matrix_power, addr,
addbmm, resize_, apply_/map_, the post-accumulate-grad hook. Each is a composition of
tinyconv's own differentiable ops (so its gradient is the chain rule through checked ops)
unless it says otherwise.

`Tensor` inherits these through the `TensorGaps` mixin. Engine level: imports only the engine.
"""

from __future__ import annotations

import builtins
import math
import warnings
import weakref
from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _dtype, _storage
from ._args import _dim
from ._dtype import dtype_name, result_type
from ._printing import return_type_repr
from ._tensor_math import _broadcast, _float_result, _fused, _inplace_of, dense_strides
from .autograd import grad_mode

# the memory share_memory_() marked: id -> root array (weak, so freed arrays drop out)
_SHARED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _storage_root(t: Any) -> Any:
    """The object that stands for a tensor's memory: its view root's array."""
    root = t._view_of[0] if t._view_of is not None else t
    return root._data if root._data.base is None else root._data.base


Frexp = namedtuple("Frexp", ["mantissa", "exponent"])  # torch.return_types.frexp
Frexp.__repr__ = return_type_repr("frexp")


class layout:  # noqa: N801  (PyTorch's name: torch.layout)
    """A tensor's memory layout; tinyconv has one, torch.strided."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"tinyconv.{self._name}"

    def __reduce__(self) -> str:  # (one instance, as PyTorch's: pickles and copies by name)
        return self._name


strided = layout("strided")


# -- memory formats ------------------------------------------------------------------------
# A tensor's values never depend on its layout; the layout says in which order they sit in
# memory. channels_last stores an (N, C, H, W) tensor as an (N, H, W, C) array viewed back
# through a transpose (strides (HWC, 1, WC, C)), as PyTorch does; channels_last_3d the same
# for (N, C, D, H, W). NumPy arrays take any strides, so the layout is the array's own.


class memory_format:  # noqa: N801  (PyTorch's name: torch.memory_format)
    """A memory layout for contiguous(), to(), clone() and the *_like creators."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"tinyconv.{self._name}"

    def __reduce__(self) -> str:  # (one instance each, pickled and copied by name)
        return self._name


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")

# the channels-last formats: rank, and the order of dims in memory (outermost first)
_CHANNELS_LAST = {channels_last: (4, (0, 2, 3, 1)), channels_last_3d: (5, (0, 2, 3, 4, 1))}


def check_memory_format(fmt: Any, what: str, none: memory_format | None = None) -> memory_format:
    """fmt if it is a memory format (`none` for None where PyTorch's argument is optional),
    else PyTorch's TypeError."""
    if fmt is None and none is not None:
        return none
    if not isinstance(fmt, memory_format):
        raise TypeError(
            f"{what}: argument 'memory_format' must be tinyconv.memory_format, not "
            f"{type(fmt).__name__}"
        )
    return fmt


def is_contiguous_as(arr: np.ndarray, fmt: memory_format) -> builtins.bool:
    """Does arr sit in memory densely in fmt's order? (dims of size 1 may have any stride)"""
    if fmt is contiguous_format:
        return builtins.bool(arr.flags.c_contiguous)
    rank, order = _CHANNELS_LAST[fmt]
    return arr.ndim == rank and builtins.bool(arr.transpose(order).flags.c_contiguous)


def format_strides(arr: np.ndarray, fmt: memory_format) -> tuple:
    """The strides PyTorch gives a tensor of arr's shape made in layout fmt."""
    order = _CHANNELS_LAST[fmt][1] if fmt in _CHANNELS_LAST else tuple(range(arr.ndim))
    return dense_strides(arr.shape, order)


def check_rank(shape: tuple, fmt: memory_format, what: str) -> None:
    """A channels-last format needs a tensor of its rank (RuntimeError as PyTorch)."""
    if fmt in _CHANNELS_LAST and len(shape) != _CHANNELS_LAST[fmt][0]:
        raise RuntimeError(
            f"{what}: required rank {_CHANNELS_LAST[fmt][0]} tensor to use {fmt._name} "
            f"format, got a tensor of shape {tuple(shape)}"
        )


class _DenseOrder:
    """preserve_format made concrete for a tensor that is dense in memory in another order
    than contiguous or channels-last (a transposed or permuted tensor): its dims in memory,
    outermost first, and its strides (in elements). PyTorch's *_like and clone give the copy
    of such a tensor the same strides."""

    __slots__ = ("order", "strides")

    def __init__(self, order: tuple, strides: tuple) -> None:
        self.order, self.strides = order, strides


def dense_order(arr: np.ndarray) -> tuple | None:
    """The dims of arr from outermost to innermost in memory, when arr covers its memory
    densely with no overlap (PyTorch's "non-overlapping and dense"); else None. (Dims of size
    1 take no memory; they come last.)"""
    if arr.ndim == 0 or arr.size == 0:
        return None
    items = arr.itemsize
    if any(s < 0 or s % items for s in arr.strides):
        return None
    strides = [s // items for s in arr.strides]
    long = sorted((d for d in range(arr.ndim) if arr.shape[d] != 1), key=lambda d: -strides[d])
    expected = 1
    for d in reversed(long):
        if strides[d] != expected:
            return None
        expected *= arr.shape[d]
    return (*long, *(d for d in range(arr.ndim) if arr.shape[d] == 1))


def resolve_format(arr: np.ndarray, fmt: memory_format) -> Any:
    """preserve_format made concrete. PyTorch keeps the strides of a non-overlapping dense
    tensor: for one that is not C-contiguous (channels-last, transposed, permuted) that is a
    _DenseOrder with its dims' order and strides; a C-contiguous one is contiguous_format, or
    channels-last when a size-1 dim's stride says it was made so; otherwise (not dense) the
    channels-last format it is in, else contiguous_format."""
    if fmt is not preserve_format:
        return fmt
    if not arr.flags.c_contiguous:
        order = dense_order(arr)
        if order is not None:  # (channels-last ones too: PyTorch copies the strides exactly)
            return _DenseOrder(order, tuple(s // arr.itemsize for s in arr.strides))
    for f, (rank, _) in _CHANNELS_LAST.items():
        if arr.ndim != rank:
            continue
        if arr.flags.c_contiguous:
            # contiguous and channels-last at once (a size-1 dim): the strides it was made
            # with tell which (as Tensor.stride reports them)
            if tuple(s // arr.itemsize for s in arr.strides) == format_strides(arr, f):
                return f
        elif is_contiguous_as(arr, f):
            return f
    return contiguous_format


def _order_of(fmt: Any) -> tuple | None:
    """The dims' memory order of a resolved layout (None: plain contiguous)."""
    if isinstance(fmt, _DenseOrder):
        return fmt.order
    return _CHANNELS_LAST[fmt][1] if fmt in _CHANNELS_LAST else None


def new_array(shape: tuple, fmt: Any, fill: Callable) -> np.ndarray:
    """An array of `shape` in layout fmt (not preserve): `fill(memory_shape)` makes the array
    in memory order (so random numbers are drawn in memory order, as PyTorch draws them)."""
    order = _order_of(fmt)
    if order is None:
        return fill(tuple(shape))
    out = fill(tuple(shape[d] for d in order)).transpose(np.argsort(order))
    return _with_unit_strides(out, fmt)


def _with_unit_strides(out: np.ndarray, fmt: Any) -> np.ndarray:
    """out, with the strides of a _DenseOrder's size-1 dims (which address no other memory)
    set to the source's, so that the copy reports the source's strides, as in PyTorch."""
    if not isinstance(fmt, _DenseOrder) or 1 not in out.shape:
        return out
    want = tuple(s * out.itemsize for s in fmt.strides)
    if want == out.strides:
        return out
    return np.lib.stride_tricks.as_strided(out, strides=want)


def also_contiguous(shape: tuple, fmt: Any) -> builtins.bool:
    """Is an array of `shape` laid out in fmt also C-contiguous? (It is when its dims longer
    than 1 come in the same order in both: a channels-last (N, 1, H, W) is.)"""
    order = _order_of(fmt)
    if order is None:
        return True
    long = [d for d in order if shape[d] != 1]
    return long == sorted(long)


def copy_as(arr: np.ndarray, fmt: memory_format) -> np.ndarray:
    """A copy of arr laid out in fmt (preserve_format: see resolve_format)."""
    fmt = resolve_format(arr, fmt)
    order = _order_of(fmt)
    if order is None:
        return np.array(arr, order="C", copy=True)
    return _with_unit_strides(arr.transpose(order).copy().transpose(np.argsort(order)), fmt)


def _deprecated_0d(t: Any, what: str) -> Any:
    """A conjugate transpose of a 0-d tensor: the tensor itself, with PyTorch's warning."""
    warnings.warn(
        f"{what} is deprecated on 0-D tensors. Consider using x.conj().", UserWarning, stacklevel=3
    )
    return t


def _const(arr: Any) -> Any:
    return _t.Tensor._make(np.asarray(arr), None, False)


def _need_tensor(x: Any, name: str, what: str) -> None:
    if not isinstance(x, _t.Tensor):
        raise TypeError(f"{what}: argument '{name}' must be a Tensor, got {type(x).__name__}")


def _shaped(x: Any, ndim: int, name: str, what: str) -> None:
    """x must be a tensor of `ndim` dims."""
    if not isinstance(x, _t.Tensor) or x._data.ndim != ndim:
        got = str(tuple(x.shape)) if isinstance(x, _t.Tensor) else type(x).__name__
        raise RuntimeError(f"{what}: {name} must be a {ndim}-D tensor, got {got}")


def _check_number(v: Any, arg: str, what: str) -> None:
    if not isinstance(v, (builtins.int, builtins.float, np.number)) or isinstance(v, builtins.bool):
        raise TypeError(f"{what}: {arg} must be a number, got {v!r}")


def _size_args(size: tuple, what: str) -> tuple:
    """*size or a single sequence (x.resize_(2, 3) and x.resize_((2, 3)))."""
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (builtins.int, np.integer)) or isinstance(s, builtins.bool) or s < 0:
            raise RuntimeError(f"{what}: sizes must be non-negative integers, got {size}")
    return tuple(builtins.int(s) for s in size)


def _int_list(values: Any, what: str, name: str, position: int) -> list[int]:
    """A sequence of ints (a tuple, list or Size; an int-like 0-d tensor counts), else
    PyTorch's TypeError naming the argument and its position."""
    if not isinstance(values, (tuple, list)):
        raise TypeError(
            f"{what}: argument '{name}' (position {position}) must be tuple of ints, not "
            f"{type(values).__name__}"
        )
    out = []
    for i, v in enumerate(values):
        if isinstance(v, _t.Tensor) and v._data.ndim == 0 and v._data.dtype.kind in "iu":
            v = v.item()
        if not isinstance(v, (builtins.int, np.integer)) or isinstance(
            v, (builtins.bool, np.bool_)
        ):
            raise TypeError(
                f"{what}: argument '{name}' (position {position}) must be tuple of ints, but "
                f"found element of type {type(v).__name__} at pos {i}"
            )
        out.append(builtins.int(v))
    return out


def strided_zeros(size: Any, stride: Any, dtype: Any, what: str) -> np.ndarray:
    """Zeros of `size` whose elements lie `stride` elements apart in memory of their own, just
    big enough for them (empty_strided's array)."""
    size = _int_list(size, what, "size", 1)
    stride = _int_list(stride, what, "stride", 2)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if builtins.any(n < 0 for n in size) or builtins.any(s < 0 for s in stride):
        raise RuntimeError(
            f"{what}: sizes and strides must be non-negative, got sizes={size} and strides={stride}"
        )
    used = builtins.sum((n - 1) * s for n, s in zip(size, stride, strict=True)) + 1
    memory = np.zeros(used if builtins.all(size) else 0, dtype)
    byte_strides = tuple(s * memory.itemsize for s in stride)
    return np.lib.stride_tricks.as_strided(memory, tuple(size), byte_strides, writeable=True)


class TensorGaps:
    """Mixed into Tensor (no state of its own)."""

    __slots__ = ()

    # -- complex-number methods on real tensors (tinyconv has no complex dtypes) -----------
    # Generic code calls these on any tensor; on a real tensor PyTorch returns the tensor
    # itself (no node), and imag raises.
    def conj(self) -> Any:
        return self

    def conj_physical(self) -> Any:
        return self

    def conj_physical_(self) -> Any:
        return self

    def resolve_conj(self) -> Any:
        return self

    def resolve_neg(self) -> Any:
        return self

    def is_conj(self) -> bool:
        return False

    def is_neg(self) -> bool:
        return False

    def isreal(self) -> Any:
        """All True (bool tensor of this shape): no element has an imaginary part."""
        return _const(np.ones(self._data.shape, dtype=bool))

    @property
    def real(self) -> Any:
        return self

    @property
    def imag(self) -> Any:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")

    # -- conjugate transposes: plain transposes of real tensors ------------------------------
    def adjoint(self) -> Any:
        """The last two dims swapped (a view; (..., m, n) -> (..., n, m))."""
        if self._data.ndim == 0:
            return _deprecated_0d(self, "adjoint()")
        if self._data.ndim < 2:
            raise RuntimeError(
                "tensor.adjoint() is only supported on matrices or batches of matrices. "
                f"Got {self._data.ndim}-D tensor."
            )
        return self.transpose(-2, -1)

    @property
    def mH(self) -> Any:  # noqa: N802  (PyTorch's name)
        if self._data.ndim == 0:
            return _deprecated_0d(self, "Tensor.mH")
        if self._data.ndim < 2:
            raise RuntimeError(
                "tensor.mH is only supported on matrices or batches of matrices. "
                f"Got {self._data.ndim}-D tensor."
            )
        return self.transpose(-2, -1)

    @property
    def H(self) -> Any:  # noqa: N802  (PyTorch's name)
        if self._data.ndim == 0:
            return _deprecated_0d(self, "Tensor.H")
        if self._data.ndim != 2:
            hint = (
                " For batches of matrices, consider using tensor.mH" if self._data.ndim > 2 else ""
            )
            raise RuntimeError(
                "tensor.H is only supported on matrices (2-D tensors). Got "
                f"{self._data.ndim}-D tensor.{hint}"
            )
        return self.transpose(0, 1)

    @property
    def layout(self) -> Any:
        """Always torch.strided (tinyconv has no sparse layouts)."""
        return strided

    def new(self, *args: Any) -> Any:
        """PyTorch's legacy constructor: `x.new(2, 3)` or `x.new(torch.Size([2, 3]))` an
        uninitialised tensor of those sizes (zeros here), `x.new([1, 2])` a tensor of that data,
        `x.new()` an empty one; all in x's dtype, none requiring grad."""
        if len(args) == 1 and isinstance(args[0], _t.Tensor):
            other = args[0]
            if other._data.dtype != self._data.dtype:
                raise TypeError(
                    f"new(): expected a tensor of dtype {dtype_name(self._data.dtype)}, got "
                    f"{dtype_name(other._data.dtype)}"
                )
            return other.detach()  # (PyTorch: an alias of it)
        if not args:
            return self.new_empty(0)
        if len(args) == 1 and isinstance(args[0], _t.Size):
            return self.new_empty(tuple(args[0]))
        if all(isinstance(a, (builtins.int, np.integer)) and not isinstance(a, bool) for a in args):
            return self.new_empty(*args)
        if len(args) == 1:
            return self.new_tensor(args[0])
        raise TypeError(f"new(): expected sizes or one sequence of data, got {args!r}")

    # -- comparison aliases (torch.greater is gt, ...) ---------------------------------------
    def greater(self, other: Any) -> Any:
        return self.gt(other)

    def greater_equal(self, other: Any) -> Any:
        return self.ge(other)

    def less(self, other: Any) -> Any:
        return self.lt(other)

    def less_equal(self, other: Any) -> Any:
        return self.le(other)

    def not_equal(self, other: Any) -> Any:
        return self.ne(other)

    def _bool_inplace(self, result: Callable[[Any], Any], what: str, others: tuple) -> Any:
        """self = result(self) (a bool tensor) written back as 0/1 in self's dtype. PyTorch's
        node passes a zero gradient to self; two masked_fills of self do exactly that (x * 0
        would make inf and nan inputs give nan)."""

        def compute(x: Any) -> Any:
            mask = result(x)
            return x.masked_fill(mask, 1).masked_fill(mask.logical_not(), 0)

        return self._inplace_result(compute, what, others)

    def logical_and_(self, other: Any) -> Any:
        return self._bool_inplace(lambda x: x.logical_and(other), "logical_and_()", (other,))

    def logical_or_(self, other: Any) -> Any:
        return self._bool_inplace(lambda x: x.logical_or(other), "logical_or_()", (other,))

    def logical_xor_(self, other: Any) -> Any:
        return self._bool_inplace(lambda x: x.logical_xor(other), "logical_xor_()", (other,))

    def logical_not_(self) -> Any:
        return self._bool_inplace(lambda x: x.logical_not(), "logical_not_()", ())

    # -- device and storage queries (CPU only) -----------------------------------------------
    @property
    def is_cpu(self) -> bool:
        return True

    def get_device(self) -> int:
        """-1: the CPU (PyTorch's answer for a CPU tensor)."""
        return -1

    def data_ptr(self) -> int:
        """The address of the first element."""
        return builtins.int(self._data.__array_interface__["data"][0])

    def const_data_ptr(self) -> int:
        """data_ptr(), for reading only (PyTorch's const accessor)."""
        return self.data_ptr()

    def is_set_to(self, tensor: Any) -> bool:
        """Whether self and `tensor` are the same view of one storage: the same first element,
        shape and strides (``t.is_set_to(t.view(t.shape))`` is True, a copy's is False)."""
        _need_tensor(tensor, "tensor", "is_set_to()")
        a, b = self._data, tensor._data
        return (
            self.data_ptr() == tensor.data_ptr()
            and a.shape == b.shape
            and a.strides == b.strides
            and a.dtype == b.dtype
        )

    def is_same_size(self, other: Any) -> bool:
        _need_tensor(other, "other", "is_same_size()")
        return self._data.shape == other._data.shape

    def share_memory_(self) -> Any:
        """Returns self, marked shared (`is_shared()` is True after it). tinyconv runs in one
        process, so there is nothing to move (PyTorch moves the storage to shared memory for
        torch.multiprocessing)."""
        root = _storage_root(self)
        _SHARED[id(root)] = root
        return self

    def is_shared(self) -> bool:
        """Whether `share_memory_()` marked this tensor's storage (its views share the mark)."""
        root = _storage_root(self)
        return _SHARED.get(id(root)) is root

    def cuda(self, device: Any = None, non_blocking: bool = False, **kw: Any) -> Any:
        """No GPU: raises as PyTorch's CPU-only build does (guard with cuda.is_available())."""
        raise AssertionError("Torch not compiled with CUDA enabled")

    # (tinyconv's tensors are dense and strided on the CPU: PyTorch's other kinds are absent)
    is_sparse = property(lambda self: False, doc="False: tinyconv has no sparse tensors.")
    is_sparse_csr = property(lambda self: False, doc="False: no sparse tensors.")
    is_quantized = property(lambda self: False, doc="False: no quantized tensors.")
    is_nested = property(lambda self: False, doc="False: no nested tensors.")
    is_mkldnn = property(lambda self: False, doc="False: CPU strided tensors only.")
    is_mps = property(lambda self: False, doc="False: CPU only.")
    is_xpu = property(lambda self: False, doc="False: CPU only.")
    is_ipu = property(lambda self: False, doc="False: CPU only.")
    is_xla = property(lambda self: False, doc="False: CPU only.")
    is_mtia = property(lambda self: False, doc="False: CPU only.")
    is_maia = property(lambda self: False, doc="False: CPU only.")
    is_vulkan = property(lambda self: False, doc="False: CPU only.")

    def is_distributed(self) -> bool:
        """False, as for every CPU tensor of PyTorch's."""
        return False

    def sparse_dim(self) -> int:
        """0: a dense tensor has no sparse dimensions (PyTorch's answer for strided tensors)."""
        return 0

    def dense_dim(self) -> int:
        """All of a dense tensor's dimensions are dense: its ``dim()``."""
        return self._data.ndim

    def to_dense(self, dtype: Any = None, *, masked_grad: Any = None) -> Any:
        """self (a dense tensor already), or a copy in `dtype`."""
        return self if dtype is None else self.to(dtype)

    def pin_memory(self, device: Any = None) -> Any:
        """Pinned memory is for copies to an accelerator; PyTorch's CPU build raises, as here."""
        raise RuntimeError("Cannot access accelerator device when none is available.")

    def is_pinned(self, device: Any = None) -> bool:
        return False

    @property
    def is_meta(self) -> bool:
        """False: tinyconv has no meta tensors (shapes without data)."""
        return False

    @property
    def volatile(self) -> bool:
        """Always False, with PyTorch's warning (volatile was replaced by no_grad)."""
        warnings.warn(
            "volatile was removed (Variable.volatile is always False)", UserWarning, stacklevel=2
        )
        return False

    @property
    def output_nr(self) -> int:
        """Which output of its grad_fn this tensor is: 0 for leaves and single outputs, the
        position among a custom Function's outputs, or among the outputs of split, chunk and
        unbind (tinyconv gives each its own node; PyTorch's one node numbers them)."""
        node = self.grad_fn
        if node is None:
            return 0
        if hasattr(node, "owner") and hasattr(node, "slot"):
            return builtins.int(node.slot)
        return node._output_nr

    def dim_order(self, *, ambiguity_check: Any = False) -> tuple:
        """The dims from outermost to innermost in memory: (0, 1, 2, 3) for a contiguous
        (N, C, H, W) tensor, (0, 2, 3, 1) for channels_last. Dims of equal stride keep their
        order (size-1 dims too), as PyTorch's."""
        strides = self.stride()
        return tuple(sorted(range(self.ndim), key=lambda d: -strides[d]))

    def as_subclass(self, cls: type) -> Any:
        """An alias of self (same memory, attached to the graph) as an instance of `cls`, a
        subclass of Tensor, made without calling its `__init__`."""
        base = next(c for c in type(self).__mro__ if "_data" in getattr(c, "__slots__", ()))
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise TypeError(f"as_subclass(): cls must be a subclass of Tensor, got {cls!r}")
        alias = self[...]  # (x[...] is PyTorch's alias: AliasBackward0 when self needs grad)
        out = cls.__new__(cls)
        for name in base.__slots__:
            if name != "__weakref__":
                object.__setattr__(out, name, getattr(alias, name))
        return out

    def bfloat16(self, memory_format: Any = None) -> Any:
        """Raises: tinyconv has no bfloat16 (NumPy has no such type), as `.to(bfloat16)`."""
        return self.to(_dtype.bfloat16)

    def positive(self) -> Any:
        """self (unary +); bool tensors raise, as in PyTorch."""
        if self._data.dtype == np.bool_:
            raise RuntimeError("positive(): the `+` operator on a bool tensor is not supported")
        return self

    def is_nonzero(self) -> bool:
        """bool(self) for a one-element tensor."""
        n = self._data.size
        if n != 1:
            raise RuntimeError(
                f"is_nonzero(): a Tensor with {'no values' if n == 0 else 'more than one value'}"
                f" is ambiguous (shape {tuple(self.shape)})"
            )
        return builtins.bool(self._data.reshape(-1)[0] != 0)

    # -- shapes ------------------------------------------------------------------------------
    def sum_to_size(self, *size: Any, **kw: Any) -> Any:
        """The sum of self down to `size`, which must expand to self's shape."""
        if kw or not size:
            size = _t._variadic(size, kw, "size", "sum_to_size")
        size = _size_args(size, "sum_to_size()")
        shape = self._data.shape
        ok = len(size) <= len(shape) and builtins.all(
            s == n or s == 1 for s, n in zip(size[::-1], shape[::-1], strict=False)
        )
        if not ok:
            raise RuntimeError(
                f"sum_to_size(): size {list(size)} is not expandable to the tensor's size "
                f"{list(shape)}"
            )
        lead = len(shape) - len(size)
        dims = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(size) if s == 1 and shape[lead + i] != 1
        )
        out = self.sum(dims, keepdim=True) if dims else self
        return out.reshape(size) if lead else out

    def split_with_sizes(self, split_sizes: Sequence[int], dim: int = 0) -> tuple:
        """Pieces of the given sizes along dim (they must sum to its size)."""
        if isinstance(split_sizes, (builtins.int, np.integer)):
            raise TypeError(
                f"split_with_sizes(): split_sizes must be a list of ints, got {split_sizes!r}"
            )
        return self.split(list(split_sizes), dim)

    def _split_at(self, ios: Any, d: int, what: str) -> tuple:
        if isinstance(ios, (builtins.int, np.integer)) and not isinstance(ios, builtins.bool):
            n = self._data.shape[d]
            if ios == 0 or n % ios:
                raise RuntimeError(
                    f"{what}: dim {d} of size {n} can't be split into {ios} equal sections "
                    "(use tensor_split for unequal ones)"
                )
        return self.tensor_split(ios, d)

    def hsplit(self, indices_or_sections: Any) -> tuple:
        """tensor_split along dim 1 (dim 0 of a 1-D tensor); an int must divide the size."""
        if self._data.ndim < 1:
            raise RuntimeError("hsplit(): expected a tensor with at least 1 dimension, got 0")
        return self._split_at(indices_or_sections, 1 if self._data.ndim > 1 else 0, "hsplit()")

    def vsplit(self, indices_or_sections: Any) -> tuple:
        """tensor_split along dim 0 of a tensor of at least 2 dims."""
        if self._data.ndim < 2:
            raise RuntimeError(
                f"vsplit(): expected a tensor with at least 2 dimensions, got {self._data.ndim}"
            )
        return self._split_at(indices_or_sections, 0, "vsplit()")

    def dsplit(self, indices_or_sections: Any) -> tuple:
        """tensor_split along dim 2 of a tensor of at least 3 dims."""
        if self._data.ndim < 3:
            raise RuntimeError(
                f"dsplit(): expected a tensor with at least 3 dimensions, got {self._data.ndim}"
            )
        return self._split_at(indices_or_sections, 2, "dsplit()")

    def narrow_copy(self, dim: int, start: int, length: int) -> Any:
        """narrow(dim, start, length) as a new tensor (not a view)."""
        return self.narrow(dim, start, length).clone()

    def diagflat(self, offset: int = 0) -> Any:
        """The flattened input on diagonal `offset` of a square matrix."""
        return self.reshape(-1).diag(offset)

    def select_scatter(self, src: Any, dim: int, index: int) -> Any:
        """A copy of self with self.select(dim, index) replaced by src."""
        out = self.clone()
        view = out.select(dim, index)
        if not isinstance(src, _t.Tensor) or src._data.shape != view._data.shape:
            raise RuntimeError(
                f"select_scatter(): src must have the selected slice's shape "
                f"{tuple(view.shape)}, got "
                + (str(tuple(src.shape)) if isinstance(src, _t.Tensor) else type(src).__name__)
            )
        view.copy_(src)
        return out

    def diagonal_scatter(self, src: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Any:
        """A copy of self with self.diagonal(offset, dim1, dim2) replaced by src."""
        out = self.clone()
        view = out.diagonal(offset, dim1, dim2)
        if not isinstance(src, _t.Tensor) or src._data.shape != view._data.shape:
            raise RuntimeError(
                f"diagonal_scatter(): src must have the diagonal's shape {tuple(view.shape)}, "
                "got "
                + (str(tuple(src.shape)) if isinstance(src, _t.Tensor) else type(src).__name__)
            )
        view.copy_(src)
        return out

    def slice_scatter(
        self, src: Any, dim: int = 0, start: Any = None, end: Any = None, step: int = 1
    ) -> Any:
        """A copy of self with self[..., start:end:step, ...] (along dim) replaced by src."""
        d = _dim(dim, builtins.max(self._data.ndim, 1), "slice_scatter()")
        if step < 1:
            raise RuntimeError(f"slice_scatter(): step must be positive, got {step}")
        out = self.clone()
        idx = (slice(None),) * d + (slice(start, end, step),)
        view = out[idx]
        if not isinstance(src, _t.Tensor) or src._data.shape != view._data.shape:
            raise RuntimeError(
                f"slice_scatter(): src must have the slice's shape {tuple(view.shape)}, got "
                + (str(tuple(src.shape)) if isinstance(src, _t.Tensor) else type(src).__name__)
            )
        view.copy_(src)
        return out

    # -- elementwise -------------------------------------------------------------------------
    def _to_float(self) -> Any:
        return self if self._data.dtype.kind == "f" else self.to(_dtype.get_default_dtype())

    def erfc(self) -> Any:
        """1 - erf(x), accurate where erf(x) rounds to 1."""
        return _t.ops_gaps.Erfc.apply(self._to_float())

    def sinc(self) -> Any:
        """sin(pi x) / (pi x), 1 at 0 (gradient 0 there)."""
        return _t.ops_gaps.Sinc.apply(self._to_float())

    def _fmax_fmin(self, other: Any, take_self: Callable, what: str) -> Any:
        _need_tensor(other, "other", what)
        a, b = self._data, other._data
        try:
            with np.errstate(invalid="ignore"):
                # PyTorch's gradient: all to self where it is taken (ties included) or other
                # is NaN, else to other; `where` routes it so
                mask = take_self(a, b) | np.isnan(b)
        except ValueError:
            raise RuntimeError(
                f"{what}: shapes {tuple(self.shape)} and {tuple(other.shape)} can't be broadcast"
            ) from None
        name = "FmaxBackward0" if what == "fmax()" else "FminBackward0"
        return _fused(self.where(_const(mask), other), name, self, other)

    def fmax(self, other: Any) -> Any:
        """The elementwise maximum, a NaN in one operand giving the other."""
        return self._fmax_fmin(other, np.greater_equal, "fmax()")

    def fmin(self, other: Any) -> Any:
        """The elementwise minimum, a NaN in one operand giving the other."""
        return self._fmax_fmin(other, np.less_equal, "fmin()")

    def _integer_op(self, fn: Any, other: Any, what: str) -> Any:
        _need_tensor(other, "other", what)
        dt = result_type(self._data, other._data)
        # a bool operand is promoted (gcd(int64, bool) is int64), as in PyTorch; the
        # promoted dtype must be an integer one
        if dt.kind not in "iu":
            # (NotImplementedError is a RuntimeError, and what PyTorch raises here)
            raise NotImplementedError(
                f"{what}: only integer tensors are supported, got dtypes "
                f"{dtype_name(self._data.dtype)} and {dtype_name(other._data.dtype)}"
            )
        _broadcast(what, self, other)
        return _t.Tensor._make(
            fn(self._data.astype(dt, copy=False), other._data.astype(dt, copy=False)), None, False
        )

    def gcd(self, other: Any) -> Any:
        """The greatest common divisor elementwise (non-negative), integers only."""
        return self._integer_op(np.gcd, other, "gcd()")

    def lcm(self, other: Any) -> Any:
        """The least common multiple elementwise (non-negative), integers only."""
        return self._integer_op(np.lcm, other, "lcm()")

    def heaviside(self, values: Any) -> Any:
        """0 where x < 0, `values` where x == 0, 1 where x > 0 (same dtypes required)."""
        _need_tensor(values, "values", "heaviside()")
        if values._data.dtype != self._data.dtype:
            raise RuntimeError(
                f"heaviside(): input and values must have the same dtype, got "
                f"{dtype_name(self._data.dtype)} and {dtype_name(values._data.dtype)}"
            )
        try:
            np.broadcast_shapes(self._data.shape, values._data.shape)
        except ValueError:
            raise RuntimeError(
                f"heaviside(): shapes {tuple(self.shape)} and {tuple(values.shape)} can't be "
                "broadcast"
            ) from None
        # (an input that requires grad gives a result that does; backward raises, as PyTorch)
        return _t.ops_gaps.Heaviside.apply(self, values)

    def float_power(self, exponent: Any) -> Any:
        """self ** exponent computed in float64 (the result is float64)."""
        x = self.to(np.float64)
        if isinstance(exponent, _t.Tensor):
            exponent = exponent.to(np.float64)
        elif isinstance(exponent, (builtins.int, builtins.float, np.number)):
            exponent = builtins.float(exponent)  # (a bool too: True is 1.0, as PyTorch)
        else:
            raise TypeError(
                f"float_power(): exponent must be a Tensor or a number, got {exponent!r}"
            )
        return x.pow(exponent)

    def float_power_(self, exponent: Any) -> Any:
        if self._data.dtype != np.float64:
            raise RuntimeError(
                "float_power_(): the base has dtype "
                f"{dtype_name(self._data.dtype)} but the result is float64; float_power_ needs "
                "a float64 tensor"
            )
        return self._inplace_result(
            lambda x: x.float_power(exponent), "float_power_()", (exponent,)
        )

    def ldexp(self, other: Any) -> Any:
        """self * 2 ** other (a float result)."""
        _need_tensor(other, "other", "ldexp()")
        # computed in the promoted float dtype (float16 stays float16; a 0-d float64 with an
        # int tensor is float64), not in 2.0 ** other's default float
        dt = _float_result(self, other)
        x = self if self._data.dtype == dt else self.to(dt)
        out = x * (2.0 ** (other if other._data.dtype == dt else other.to(dt)))
        return _fused(out, "LdexpBackward0", self, other)

    def nextafter(self, other: Any) -> Any:
        """The next representable float after self towards other (not differentiable)."""
        _need_tensor(other, "other", "nextafter()")
        dt = result_type(self._data, other._data)
        if dt.kind != "f":
            raise NotImplementedError(
                f"nextafter(): expected floating point tensors, got {dtype_name(dt)}"
            )
        if self._requires_grad or other._requires_grad:
            raise RuntimeError("nextafter(): the derivative of nextafter is not implemented")
        try:
            out = np.nextafter(self._data.astype(dt), other._data.astype(dt))
        except ValueError:
            raise RuntimeError(
                f"nextafter(): shapes {tuple(self.shape)} and {tuple(other.shape)} can't be "
                "broadcast"
            ) from None
        return _t.Tensor._make(out, None, False)

    def frexp(self) -> Frexp:
        """(mantissa, exponent) with self = mantissa * 2 ** exponent, |mantissa| in [0.5, 1);
        exponent int32. The mantissa's gradient is grad / 2 ** exponent, as PyTorch's."""
        if self._data.dtype.kind != "f":
            raise RuntimeError(
                f"frexp(): only floating point tensors are supported, got "
                f"{dtype_name(self._data.dtype)}"
            )
        _, e = np.frexp(self._data)
        scale = np.ldexp(np.ones((), self._data.dtype), -e).astype(self._data.dtype)
        mantissa = _fused(self * _const(scale), "FrexpBackward0", self)
        return Frexp(mantissa, _const(e.astype(np.int32)))

    # -- activations that are also Tensor methods ----------------------------------------------
    def _float_only(self, what: str) -> None:
        if self._data.dtype.kind != "f":
            raise NotImplementedError(
                f"{what}: expected a floating point tensor, got dtype "
                f"{dtype_name(self._data.dtype)}"
            )

    def hardshrink(self, lambd: float = 0.5) -> Any:
        """x where |x| > lambd, else 0."""
        self._float_only("hardshrink()")

        def middle(a: np.ndarray) -> np.ndarray:
            return (a >= -lambd) & (a <= lambd)

        def compute(a: np.ndarray) -> np.ndarray:
            return np.where(middle(a), a.dtype.type(0), a)

        return _t.ops.MaskedPass.apply(self, compute, middle, "HardshrinkBackward0")

    def prelu(self, weight: Any) -> Any:
        """x where x > 0, else weight * x; weight `(1,)` or one per channel (dim 1) `(C,)`."""
        what = "prelu"
        self._float_only(what)
        _need_tensor(weight, "weight", what)
        if weight.ndim > 1:
            raise RuntimeError(
                f"{what}: weight must be 0-D or 1-D, got shape {tuple(weight.shape)}"
            )
        k = weight.numel()
        C = self.shape[1] if self.ndim >= 2 else 1  # PyTorch's channel count
        if k != 1 and k != C:
            raise RuntimeError(
                f"{what}: weight has {k} values but the input has {C} channels (dim 1 of shape "
                f"{tuple(self.shape)}); give one weight, or one per channel"
            )
        w = weight.reshape(()) if k == 1 else weight.reshape((-1,) + (1,) * (self.ndim - 2))
        return _fused(_t.ops_gaps.Prelu.apply(self, w), "PreluKernelBackward0", self, weight)

    # -- norms and products --------------------------------------------------------------------
    def renorm(self, p: Any, dim: int, maxnorm: Any) -> Any:
        """Each slice along `dim` whose p-norm exceeds maxnorm scaled down to norm maxnorm
        (by maxnorm / (norm + 1e-7), PyTorch's factor)."""
        what = "renorm()"
        if self._data.dtype.kind != "f":
            raise RuntimeError(
                f"{what}: expected a floating point tensor, got {dtype_name(self._data.dtype)}"
            )
        _check_number(p, "p", what)
        _check_number(maxnorm, "maxnorm", what)
        if p <= 0:
            raise RuntimeError(f"{what}: p must be positive, got {p}")
        if maxnorm < 0:
            raise RuntimeError(f"{what}: maxnorm must be non-negative, got {maxnorm}")
        if self._data.ndim < 2:
            raise RuntimeError(
                f"{what}: input needs at least 2 dimensions, got shape {tuple(self.shape)}"
            )
        d = _dim(dim, self._data.ndim, what)
        others = tuple(i for i in range(self._data.ndim) if i != d)
        return _t.ops_gaps.Renorm.apply(self, float(p), others, float(maxnorm))

    def matrix_power(self, n: int) -> Any:
        """self @ self @ ... (n times) for square matrices (..., m, m); n = 0 gives the
        identity, n < 0 the power of the inverse."""
        what = "matrix_power()"
        if not isinstance(n, (builtins.int, np.integer)) or isinstance(n, builtins.bool):
            raise TypeError(f"{what}: n must be an integer, got {n!r}")
        if self._data.ndim < 2 or self._data.shape[-1] != self._data.shape[-2]:
            raise RuntimeError(
                f"{what}: expected a batch of square matrices (..., m, m), got shape "
                f"{tuple(self.shape)}"
            )
        if n == 0:
            eye = np.broadcast_to(
                np.eye(self._data.shape[-1], dtype=self._data.dtype), self._data.shape
            )
            if not (grad_mode.enabled and self._requires_grad):
                return _const(eye.copy())
            # PyTorch copies the identity into a tensor like self: it stays in the graph with
            # a zero gradient (CopyBackwards)
            return self.clone().copy_(_const(eye))
        if n == 1:
            return self.clone()  # a new tensor, as PyTorch (CloneBackward0)
        x = self
        if n < 0:
            if self._data.dtype.kind != "f":
                raise RuntimeError(f"{what}: a negative power needs a floating point tensor")
            x, n = self.inverse(), -n
        # binary powering: log2(n) squarings, as PyTorch does (the same rounding order)
        result = None
        while n:
            if n & 1:
                result = x if result is None else result @ x
            n >>= 1
            if n:
                x = x @ x
        return result

    def addr(self, vec1: Any, vec2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
        """beta * self + alpha * outer(vec1, vec2); self broadcast to (n, m); beta = 0
        ignores self (NaN included)."""
        what = "addr()"
        for arg, v in (("beta", beta), ("alpha", alpha)):
            if isinstance(v, (builtins.bool, np.bool_)) and self._data.dtype.kind != "b":
                raise RuntimeError(f"{what}: a bool {arg} is only supported for bool results")
            _check_number(v, arg, what)
        # ...and they must fit the tensor's dtype (PyTorch's addr kernel converts them to it)
        beta = _dtype.fit_scalar_arg(beta, self._data.dtype, what)
        alpha = _dtype.fit_scalar_arg(alpha, self._data.dtype, what)
        _shaped(vec1, 1, "vec1", what)
        _shaped(vec2, 1, "vec2", what)
        if self._data.dtype.kind in "iub" and (
            isinstance(beta, builtins.float) or isinstance(alpha, builtins.float)
        ):
            raise RuntimeError(f"{what}: beta and alpha must be integers for integer inputs")
        out_shape = (vec1._data.shape[0], vec2._data.shape[0])
        try:
            if np.broadcast_shapes(self._data.shape, out_shape) != out_shape:
                raise ValueError
        except ValueError:
            raise RuntimeError(
                f"{what}: input of shape {tuple(self.shape)} can't be broadcast to the outer "
                f"product's shape {out_shape}"
            ) from None
        dt = self._data.dtype
        if dt.kind == "f" and vec1._data.dtype == dt == vec2._data.dtype:
            return _t.ops_gaps.Addr.apply(self, vec1, vec2, beta, alpha)  # (PyTorch's kernel)
        prod = vec1.outer(vec2)
        if alpha != 1:
            prod = prod * alpha
        if beta == 0:
            return prod.to(result_type(self._data, prod._data))
        return prod + (self if beta == 1 else self * beta)

    def addbmm(self, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
        """beta * self + alpha * sum_b(batch1[b] @ batch2[b]): (b, n, m) @ (b, m, p) summed
        over b, self broadcast to (n, p). One addmm of (n, b*m) @ (b*m, p)."""
        what = "addbmm()"
        _shaped(batch1, 3, "batch1", what)
        _shaped(batch2, 3, "batch2", what)
        b, n, m = batch1._data.shape
        b2, m2, p = batch2._data.shape
        if b != b2 or m != m2:
            raise RuntimeError(
                f"{what}: batch1 {tuple(batch1.shape)} and batch2 {tuple(batch2.shape)} must "
                "have the same batch size and matching inner sizes"
            )
        lhs = batch1.transpose(0, 1).reshape(n, b * m)
        rhs = batch2.reshape(b * m, p)
        out = self.addmm(lhs, rhs, beta=beta, alpha=alpha)
        return _fused(out, "AddbmmBackward0", self, batch1, batch2)

    # -- writes by flat or advanced index ------------------------------------------------------
    def put(self, index: Any, source: Any, accumulate: bool = False) -> Any:
        """A copy of self with the elements at flat positions `index` (row-major, negative
        counting from the end) set to (or, accumulate=True, increased by) `source`."""
        what = "put()"
        if not isinstance(index, _t.Tensor) or index._data.dtype != np.int64:
            raise RuntimeError(f"{what}: index must be an int64 tensor")
        _need_tensor(source, "source", what)
        if source._data.size != index._data.size:
            raise RuntimeError(
                f"{what}: source has {source._data.size} elements but index has {index._data.size}"
            )
        if source._data.dtype != self._data.dtype:
            raise RuntimeError(
                f"{what}: source dtype {dtype_name(source._data.dtype)} must match self's "
                f"dtype {dtype_name(self._data.dtype)}"
            )
        n = self._data.size
        idx = index._data.reshape(-1)
        bad = (idx < -n) | (idx >= n)
        if bad.any():
            raise IndexError(
                f"{what}: index {builtins.int(idx[bad][0])} is out of bounds for a tensor with "
                f"{n} elements"
            )
        flat_idx = _const(np.where(idx < 0, idx + n, idx))
        flat, src = self.reshape(-1), source.reshape(-1)
        out = (
            flat._index_add(0, flat_idx, src, 1, True)
            if accumulate
            else flat.index_copy(0, flat_idx, src)
        )
        return _fused(out.reshape(self._data.shape), "PutBackward0", self, source)

    def index_put(self, indices: Any, values: Any, accumulate: bool = False) -> Any:
        """A copy of self with self[indices] set to (or, accumulate=True, increased by)
        values; with accumulate, repeated positions add up."""
        what = "index_put()"
        if not isinstance(indices, (tuple, list)):
            raise TypeError(
                f"{what}: indices must be a tuple of tensors, got {type(indices).__name__}"
            )
        _need_tensor(values, "values", what)
        if accumulate and values._data.dtype != self._data.dtype:  # (PyTorch's accumulating
            raise RuntimeError(  # kernel never casts, even a 0-d value)
                "Index put requires the source and destination dtypes match, got "
                f"{dtype_name(self._data.dtype)} for the destination and "
                f"{dtype_name(values._data.dtype)} for the source."
            )
        out = self.clone()
        if not accumulate:
            out[tuple(indices)] = values
            return out
        # The positions self[indices] reaches, as one flat index over the indexed leading
        # dims, so index_add adds every repeat (x[i] += v would keep only one of them).
        shape = self._data.shape
        arrays = []
        for ix in indices:
            a = ix._data if isinstance(ix, _t.Tensor) else np.asarray(ix)
            if a.dtype == np.bool_:
                arrays.extend(np.nonzero(a))
            elif a.dtype.kind in "iu":
                arrays.append(a.astype(np.int64))
            else:
                raise IndexError(f"{what}: indices must be int64 or bool tensors, got {a.dtype}")
        k = len(arrays)
        if k > len(shape):
            raise IndexError(f"{what}: too many indices ({k}) for a tensor of shape {tuple(shape)}")
        for d, a in enumerate(arrays):
            if a.size and (a.min() < -shape[d] or a.max() >= shape[d]):
                raise IndexError(f"{what}: index out of range for dim {d} of size {shape[d]}")
            arrays[d] = np.where(a < 0, a + shape[d], a)
        try:
            arrays = np.broadcast_arrays(*arrays)
        except ValueError:
            raise IndexError(f"{what}: the index tensors can't be broadcast together") from None
        lead = np.ravel_multi_index(tuple(arrays), shape[:k]) if k else np.zeros((), np.int64)
        rest = shape[k:]
        target = lead.shape + rest
        v = values.broadcast_to(target).reshape((-1,) + rest)
        flat = self.reshape((-1,) + rest)
        lead_idx = _const(lead.reshape(-1).astype(np.int64))
        out = flat._index_add(0, lead_idx, v, 1, True).reshape(shape)  # (float16: as PyTorch's)
        return _fused(out, "IndexPutBackward0", self, values)

    def index_put_(self, indices: Any, values: Any, accumulate: bool = False) -> Any:
        return self._inplace_result(
            lambda x: x.index_put(indices, values, accumulate), "index_put_()", (values,)
        )

    # -- storage-level -------------------------------------------------------------------------
    def resize_(self, *sizes: Any) -> Any:
        """Give self the shape `sizes`, in place, keeping the first elements in row-major
        order. Shrinking (or keeping the count) shares the memory as PyTorch does; growing
        works only from an empty tensor (new elements are 0; PyTorch's are uninitialised)."""
        what = "resize_()"
        size = _size_args(sizes, what)
        if self._requires_grad:
            raise RuntimeError(f"{what}: cannot resize a tensor that requires grad")
        if self._view_of is not None or not self._data.flags.c_contiguous:
            raise RuntimeError(
                f"{what}: tinyconv resizes only a contiguous tensor that is not a view "
                f"(got shape {tuple(self.shape)}); resize a clone()"
            )
        n_new, n_old = math.prod(size), self._data.size
        if n_new <= n_old:
            self._data = self._data.reshape(-1)[:n_new].reshape(size)
        elif n_old == 0:
            self._data = np.zeros(size, self._data.dtype)
        else:
            # a NumPy array cannot grow in place; a new one would silently stop sharing
            # memory with self's views, which PyTorch keeps
            raise RuntimeError(
                f"{what}: growing a non-empty tensor ({n_old} -> {n_new} elements) is not "
                "supported in tinyconv; make a new tensor (e.g. new_zeros) instead"
            )
        self._vc[0] += 1
        return self

    def resize_as_(self, the_template: Any) -> Any:
        _need_tensor(the_template, "the_template", "resize_as_()")
        return self.resize_(tuple(the_template.shape))

    def apply_(self, callable: Callable) -> Any:  # noqa: A002 (PyTorch's argument name)
        """self[i] = callable(self[i]) for every element, in place (a Python call each)."""
        return self._python_map(np.frompyfunc(callable, 1, 1), (), "apply_()")

    def map_(self, tensor: Any, callable: Callable) -> Any:  # noqa: A002
        """self[i] = callable(self[i], tensor[i]) for every element (tensor broadcast to
        self's shape), in place."""
        _need_tensor(tensor, "tensor", "map_()")
        try:
            other = np.broadcast_to(tensor._data, self._data.shape)
        except ValueError:
            raise RuntimeError(
                f"map_(): tensor of shape {tuple(tensor.shape)} can't be broadcast to self's "
                f"shape {tuple(self.shape)}"
            ) from None
        return self._python_map(np.frompyfunc(callable, 2, 1), (other,), "map_()")

    def _python_map(self, fn: Any, others: tuple, what: str) -> Any:
        if grad_mode.enabled and self._requires_grad:
            raise RuntimeError(
                f"{what}: can't call a Python function in place on a tensor that requires grad"
            )
        self._check_inplace(what)
        out = np.asarray(fn(self._data, *others)) if self._data.size else self._data
        self._data[...] = out.astype(self._data.dtype)
        self._vc[0] += 1
        return self

    def register_post_accumulate_grad_hook(self, hook: Callable) -> Any:
        """Call `hook(self)` after each backward has added into self.grad (leaves only).
        Returns a handle with `.remove()`."""
        return _t.engine.register_post_accumulate_grad_hook(self, hook)

    def storage(self) -> Any:
        """The memory self and its views share, as elements of self's dtype (a TypedStorage:
        ``data_ptr()``, ``size()``, indexing); writes through it reach every view."""
        warnings.warn(  # (PyTorch's words: TypedStorage is on its way out there)
            "TypedStorage is deprecated. It will be removed in the future and UntypedStorage will "
            "be the only storage class. This should only matter to you if you are using storages "
            "directly.  To access UntypedStorage directly, use tensor.untyped_storage() instead "
            "of tensor.storage()",
            UserWarning,
            stacklevel=2,
        )
        return _storage.storage_of(self)

    def untyped_storage(self) -> Any:
        """The memory self and its views share, as bytes (an UntypedStorage: ``data_ptr()``,
        ``nbytes()``)."""
        return _storage.untyped_storage_of(self)

    def new_empty_strided(
        self,
        size: Any,
        stride: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Any:
        """empty_strided(size, stride) in self's dtype unless `dtype` says otherwise."""
        if device is not None:
            _t._check_device(device, "new_empty_strided()")
        dt = self._data.dtype if dtype is None else _dtype.as_dtype(dtype)
        arr = strided_zeros(size, stride, dt, "new_empty_strided()")
        return _t.Tensor._make(arr, None, False).requires_grad_(requires_grad)

    def as_strided(self, size: Any, stride: Any, storage_offset: int | None = None) -> Any:
        """A view of self's memory with these sizes and strides (in elements), its first
        element `storage_offset` elements into that memory (default: where self starts).

        The memory is that of the tensor self is a view of (PyTorch's storage), so
        ``x[1:].as_strided((2,), (1,), 0)`` reads x[0] and x[1]. Writes through the view
        reach it; a view whose elements overlap (a 0 stride, windows that share elements)
        is read-only. Gradients follow PyTorch's rule (ops_strided)."""
        size = _int_list(size, "as_strided()", "size", 1)
        stride = _int_list(stride, "as_strided()", "stride", 2)
        if len(size) != len(stride):
            raise RuntimeError("mismatch in length of strides and shape")
        if builtins.any(s < 0 for s in stride):
            raise RuntimeError(
                "as_strided: Negative strides are not supported at the moment, got strides: "
                f"{list(stride)}"
            )
        if builtins.any(n < 0 for n in size):
            raise RuntimeError(
                f"Storage size calculation overflowed with sizes={list(size)} and "
                f"strides={list(stride)}"
            )
        memory = _storage.memory_of(self, "as_strided()")
        item = memory.itemsize
        here = self._data.__array_interface__["data"][0] - memory.__array_interface__["data"][0]
        own = (tuple(self._data.shape), tuple(self.stride()), builtins.int(here // item))
        if storage_offset is None:
            offset = own[2]
        elif isinstance(storage_offset, (builtins.int, np.integer)) and not isinstance(
            storage_offset, builtins.bool
        ):
            offset = builtins.int(storage_offset)
        else:
            raise TypeError(
                "as_strided(): argument 'storage_offset' (position 3) must be int, not "
                f"{type(storage_offset).__name__}"
            )
        if offset < 0:
            raise RuntimeError(f"Tensor: invalid storage offset {offset}")
        needed = offset + (
            builtins.sum((n - 1) * s for n, s in zip(size, stride, strict=True)) + 1
            if builtins.all(size)
            else 0
        )
        if needed > memory.size:
            raise RuntimeError(
                f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
                f"{offset}, and itemsize {item} requiring a storage size of {needed * item} are "
                f"out of bounds for storage of size {memory.size * item}"
            )
        return _t.ops_strided.StridedView.apply(self, tuple(size), tuple(stride), offset, own)


# In-place forms of the methods above (x.eq_(y), x.gcd_(y), ...), through the one in-place
# path (views, versions, saved-tensor checks). Comparisons write 0/1 in self's dtype.
for _name in ("eq ne lt le gt ge greater greater_equal less less_equal not_equal").split():

    def _cmp_(self: Any, other: Any, _name: str = _name) -> Any:
        return self._bool_inplace(lambda x: getattr(x, _name)(other), f"{_name}_()", (other,))

    _cmp_.__name__ = _cmp_.__qualname__ = _name + "_"
    setattr(TensorGaps, _name + "_", _cmp_)

for _name in (
    "erfc gcd lcm heaviside sinc ldexp nextafter renorm put addr addbmm addmv baddbmm"
).split():
    setattr(TensorGaps, _name + "_", _inplace_of(_name))


# tensor.py imports this module first (Tensor mixes it in); used at call time
from . import tensor as _t  # noqa: E402
