"""`Tensor`: a NumPy array plus what autograd needs to differentiate through it.

A Tensor holds
- `_data`: the np.ndarray with the values,
- `requires_grad`: whether gradients should flow back to it,
- `grad_fn`: the graph node (a `Function`) that produced it, None for leaves,
- `grad`: after `backward()`, d(output)/d(this tensor), for leaves,
- `_vc`: a version counter, bumped by in-place ops and shared with views, so
  a node that saved this tensor can tell at backward time if it changed.

The math itself lives in autograd/ops.py; this class gives it PyTorch's
names and semantics (broadcasting, dtype promotion, in-place rules).
"""

from __future__ import annotations

import builtins
import functools
import warnings
import weakref
from collections import namedtuple
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import _dtype, _return_types
from . import _tensor_gaps as _mf  # the memory formats
from ._args import (
    _DEVICE_TYPES,
    NUMPY_NAMED,
    IndexOutOfRange,
    _check_device,
    _check_reduce_empty,
    _dim,
    _dims,
    _infer_shape,
    numpy_names,
)
from ._dtype import as_dtype, dtype_name, result_type
from ._errors import DtypeNotImplementedError, TensorValueError
from ._inplace import _VIEW_MULTI, ViewInplace, _fw_carry, _fw_written, _move_retained
from ._printing import format_tensor
from ._tensor_extra import TensorExtra
from ._tensor_gaps import (  # noqa: F401  (torch.layout, torch.strided, the memory formats)
    TensorGaps,
    channels_last,
    channels_last_3d,
    contiguous_format,
    layout,
    preserve_format,
    strided,
)
from ._tensor_gaps import memory_format as MemoryFormat  # noqa: F401  (torch.memory_format)
from ._tensor_math import TensorMath, _fused, _refuse_int_grad, _sliced
from .autograd import grad_mode
from .autograd.grad_mode import _state as _gm_state  # (the thread's grad mode: see _binary)
from .autograd.ieee import quiet as _quiet
from .autograd.ieee import restore as _restore
from .kernels.layout import like_operands

_Number = (builtins.int, builtins.float, builtins.bool, np.number, np.bool_)

MaxMin = namedtuple("MaxMin", ["values", "indices"])


class Size(tuple):
    """A tensor's shape: a tuple (so `(1, 1) + x.shape` works), printed as PyTorch does."""

    def __repr__(self) -> str:
        return f"tinyconv.Size({list(self)})"

    # slices, sums and repeats of a Size are Sizes, as torch.Size's (an index is an int)
    def __getitem__(self, i: Any) -> Any:
        r = tuple.__getitem__(self, i)
        return Size(r) if type(i) is slice else r

    def __add__(self, other: Any) -> Any:
        r = tuple.__add__(self, other)
        return r if r is NotImplemented else Size(r)

    def __radd__(self, other: Any) -> Any:
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(other) + tuple(self))

    def __mul__(self, n: Any) -> Any:
        r = tuple.__mul__(self, n)
        return r if r is NotImplemented else Size(r)

    __rmul__ = __mul__

    def numel(self) -> int:
        n = 1
        for d in self:
            n *= d
        return n


def _sizes(args: tuple, what: str) -> tuple:
    """Accept sizes as varargs `f(2, 3)` or one sequence `f((2, 3))`."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for a in args:
        if isinstance(a, Tensor):
            a = a.item()
        if not isinstance(a, (builtins.int, np.integer)) or isinstance(a, builtins.bool):
            raise TypeError(f"{what}: sizes must be integers, got {args!r}")
        out.append(builtins.int(a))
    return tuple(out)


# dtype -> PyTorch's legacy tensor type name (x.type())
_LEGACY_TYPES = {
    "float32": "FloatTensor",
    "float64": "DoubleTensor",
    "float16": "HalfTensor",
    "int64": "LongTensor",
    "int32": "IntTensor",
    "int16": "ShortTensor",
    "int8": "CharTensor",
    "uint8": "ByteTensor",
    "bool": "BoolTensor",
}


class Tensor(ViewInplace, TensorMath, TensorExtra, TensorGaps):
    """An n-dimensional array that records the ops applied to it for backward."""

    # _view_of: None, or on a view (shares memory and `_vc` with another tensor):
    # (root, steps, flags): the tensor it is ultimately a view of (never a view itself),
    # the view ops that re-derive it from the root ((Function class, extra args) each),
    # and _VIEW_* flags about how it was made. `_gv` (views only): the version of the
    # shared counter when the view's history was last made current; when it differs,
    # the root changed in place and the view's history is re-derived (rebased) from it.
    __slots__ = (
        "__weakref__",
        "_view_of",
        "_data",
        "_grad",
        "_grad_fn",
        "_gv",
        "_requires_grad",
        "_vc",
    )
    # nn.Parameter sets this: the engine (trace, viz) tells parameters apart without importing nn
    _is_parameter = False
    __array_priority__ = 1000  # `ndarray + Tensor` calls Tensor.__radd__ (no __array_ufunc__)

    def __init__(self, *args: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        """Tensor(data) copies data into a float32 tensor; Tensor(2, 3) and Tensor(Size([2, 3]))
        make zeros of that size, Tensor() an empty 1-D tensor (as PyTorch's legacy constructor)."""
        if not args:
            args = (0,)
        if len(args) == 1 and isinstance(args[0], Size):
            args = tuple(args[0])
        if len(args) == 1 and not isinstance(args[0], (builtins.int, np.integer)):
            arr = _to_array(
                args[0],
                as_dtype(dtype) if dtype is not None else _dtype.get_default_dtype(),
                "Tensor()",
            )
        else:
            arr = np.zeros(
                _sizes(args, "Tensor()"),
                dtype=as_dtype(dtype) if dtype is not None else _dtype.get_default_dtype(),
            )
        self._data = arr
        self._requires_grad = False
        self.grad_fn = None
        self._grad = None
        self._vc = [0]
        self._view_of = None
        if grad_mode._inference_ever and grad_mode._inference:
            grad_mode.mark_inference(self)
        if requires_grad:
            self.requires_grad = True

    # -- attributes ----------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Any:
        """The shape, or the length of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_dim(dim, self._data.ndim, "size()")]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    @property
    def dtype(self) -> Any:
        return _dtype.public(self._data.dtype)

    @property
    def device(self) -> Device:
        return Device("cpu")

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def grad_fn(self) -> Any:
        """The node that made this tensor (None for leaves); on a view whose base changed in
        place since, the view's history re-derived from the base's (as PyTorch's)."""
        if self._view_of is not None and self._gv != self._vc[0]:
            self._refresh_view()
        return self._grad_fn

    @grad_fn.setter
    def grad_fn(self, node: Any) -> None:
        self._grad_fn = node

    @property
    def grad(self) -> Tensor | None:
        """d(loss)/d(this tensor), filled in by backward on leaves (and on retain_grad() tensors).

        Reading it on any other tensor warns, as PyTorch does: backward leaves it None there.
        """
        node = self._grad_fn
        if node is not None and node._retained is None:
            warnings.warn(
                "Reading .grad of a tensor that is not a leaf: backward does not fill it in, so it "
                "stays None. To keep this tensor's gradient, call .retain_grad() on it before "
                "backward; if you meant a leaf tensor (a parameter or an input you created), read "
                "that tensor's .grad instead.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        # (checked as PyTorch checks it: a wrong shape or dtype here would only surface, if
        # at all, as a broadcast or a silent promotion in the next accumulation or step)
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    "assigned grad expected to be a Tensor or None but got grad of type "
                    f"{type(value).__name__}"
                )
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value._data.shape)}' to a "
                    f"tensor of size '{list(self._data.shape)}'. Please ensure that the gradient "
                    "and the tensor are the same size"
                )
            own = engine.grad_dtype_of(self) if self._grad_fn is None else self._data.dtype
            if own is not None and value._data.dtype != own:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype {dtype_name(value._data.dtype)} "
                    f"to a tensor with grad_dtype {dtype_name(own)}. The gradient must match the "
                    "tensor's grad_dtype (defaults to the tensor's dtype). You can set the "
                    "tensor's grad_dtype attribute with a specific dtype, or None to allow any "
                    "dtype."
                )
        self._grad = value

    @property
    def grad_dtype(self) -> Any:
        """The dtype backward gives this leaf's ``.grad`` (it casts incoming gradients to it):
        the tensor's own dtype unless set; None lets any dtype through. Leaves only."""
        if self._grad_fn is not None:
            raise RuntimeError("grad_dtype can only be accessed on leaf tensors.")
        own = engine.grad_dtype_of(self)
        return None if own is None else _dtype.public(own)

    @grad_dtype.setter
    def grad_dtype(self, value: Any) -> None:
        if self._grad_fn is not None:
            raise RuntimeError("grad_dtype can only be set on leaf tensors.")
        if value is not None and not isinstance(value, _dtype.DType):
            raise RuntimeError(
                f"grad_dtype must be a torch.dtype or None, but got {type(value).__name__}"
            )
        own = None if value is None else as_dtype(value)
        if own is not None and self._grad is not None and self._grad._data.dtype != own:
            raise RuntimeError(
                f"Cannot set grad_dtype to {dtype_name(own)} because there is already a "
                f"gradient with dtype {dtype_name(self._grad._data.dtype)}. Please clear the "
                "gradient (.grad = None) before changing grad_dtype, or ensure the new "
                "grad_dtype matches the existing gradient's dtype."
            )
        engine.set_grad_dtype(self, own)

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has seen (shared with its views),
        as PyTorch's `_version`: what saved-for-backward checks compare."""
        return self._vc[0]

    @property
    def is_leaf(self) -> bool:
        if self._view_of is not None and self._gv != self._vc[0]:
            self._refresh_view()
        return self.grad_fn is None

    @property
    def requires_grad(self) -> bool:
        if self._view_of is not None and self._gv != self._vc[0]:
            self._refresh_view()
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self._data.dtype.kind != "f":
            raise RuntimeError(
                f"requires_grad: only tensors of floating point dtype can require gradients, "
                f"but this tensor has dtype {dtype_name(self._data.dtype)}; convert it with "
                ".float() first"
            )
        if value and grad_mode._inference_tensors and not grad_mode._inference:
            if grad_mode.is_inference_tensor(self):
                raise RuntimeError(
                    "Setting requires_grad=True on inference tensor outside InferenceMode is not "
                    "allowed."
                )
        if self.grad_fn is not None:  # (either value, as PyTorch's attribute; see requires_grad_)
            raise RuntimeError(
                "requires_grad: you can only change requires_grad of leaf tensors; "
                "use .detach() to get a tensor that does not require grad"
            )
        self._requires_grad = builtins.bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set requires_grad in place; on a non-leaf (which requires grad already), True is
        allowed and changes nothing, as in PyTorch (the attribute's setter refuses both)."""
        if requires_grad and self.grad_fn is not None:
            return self
        self.requires_grad = requires_grad
        return self

    @property
    def data(self) -> Tensor:
        """The same values, detached from the graph; in-place changes through it are not tracked."""
        return Tensor._make(self._data, None, False)

    @data.setter
    def data(self, value: Any) -> None:
        if not isinstance(value, Tensor):  # (as PyTorch: a list or an array here is a bug)
            raise TypeError(
                f"Variable data has to be a tensor, but got {type(value).__module__}."
                f"{type(value).__qualname__}".replace("builtins.", "")
            )
        self._data = value._data

    @property
    def T(self) -> Tensor:
        """All dims reversed; PyTorch's deprecation warnings for other than 2-D."""
        if self._data.ndim == 0:
            warnings.warn(
                "Tensor.T is deprecated on 0-D tensors. This function is the identity in these "
                "cases.",
                UserWarning,
                stacklevel=2,
            )
        elif self._data.ndim != 2:
            warnings.warn(
                "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
                "deprecated and it will throw an error in a future release. Consider `x.mT` to "
                "transpose batches of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` "
                "to reverse the dimensions of a tensor.",
                UserWarning,
                stacklevel=2,
            )
        return self.permute(tuple(reversed(range(self._data.ndim))))

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped (a view); a 0-d tensor itself, with PyTorch's warning."""
        if self._data.ndim == 0:
            warnings.warn(
                "Tensor.mT is deprecated on 0-D tensors. This function is the identity in these "
                "cases.",
                UserWarning,
                stacklevel=2,
            )
            return self
        if self._data.ndim == 1:
            raise RuntimeError(
                "tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor."
            )
        return self.transpose(-2, -1)

    def retain_grad(self) -> None:
        """Keep .grad on this non-leaf tensor after backward (leaves always keep it)."""
        if self._view_of is not None and self._gv != self._vc[0]:
            self._refresh_view()
        if not self._requires_grad:  # (a plain tensor too, as PyTorch's)
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None:
            return
        self.grad_fn._retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.grad_fn._retained is not None

    # -- conversion --------------------------------------------------------------------
    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise TensorValueError(
                f"item(): only a tensor with one element can be converted to a Python number, "
                f"but this one has shape {tuple(self._data.shape)} ({self._data.size} elements)"
            )
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The underlying array (shares memory), as PyTorch's .numpy(); ``force=True`` is
        ``detach().numpy()``. A tensor that requires grad raises while grad mode is on."""
        _current(self)
        if not force:
            self._refuse_array_with_grad()
        return self._data

    def _refuse_array_with_grad(self) -> None:
        # (as PyTorch: with grad mode on, the array would be silently cut from the graph, so a
        # gradient through it would be missing; under no_grad, and in a plain backward, it is fine)
        if grad_mode.enabled and self._requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """``np.asarray(t)`` shares memory, as PyTorch's; ``np.array(t)`` (copy=True) copies.

        A tensor that requires grad raises while grad mode is on, as PyTorch's (``numpy()``).
        """
        self._refuse_array_with_grad()
        if copy is False and dtype is not None and np.dtype(dtype) != self._data.dtype:
            raise ValueError(
                f"__array__(copy=False): a {dtype} array of a {self.dtype} tensor needs a copy"
            )
        if dtype is not None:
            return self._data.astype(dtype, copy=bool(copy))
        return self._data.copy() if copy else self._data

    def __array_wrap__(self, array: np.ndarray, context: Any = None, return_scalar: bool = False):
        """A NumPy ufunc of a Tensor gives a Tensor (``np.sin(t)``), as PyTorch's; a bool
        result comes back as uint8, as PyTorch's does (its workaround from before bool tensors)."""
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)
        return Tensor._make(array, None, False)

    def detach(self) -> Tensor:
        """The same storage, cut from the graph (shares the version counter)."""
        t = Tensor._make(self._data, None, False)
        t._vc = self._vc
        if grad_mode._inference_tensors or grad_mode._inference:  # (a view: as its base)
            grad_mode.mark_inference(t, grad_mode.is_inference_tensor(self))
        return t

    def is_inference(self) -> bool:
        """Was this tensor made in inference mode (or is it a view of one that was)?"""
        return grad_mode.is_inference_tensor(self)

    def detach_(self) -> Tensor:
        """Cut this tensor from its graph, in place. A view raises, as in PyTorch: its history
        is re-derived from its base's after the base changes in place, so it cannot be cut."""
        if self._view_of is not None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead (a view shares its base's "
                "history; detach() makes a new tensor on the same memory without it)."
            )
        self.grad_fn = None
        self._requires_grad = False
        return self

    def clone(self, *, memory_format: Any = _mf.preserve_format) -> Tensor:
        """A copy (differentiable); preserve_format keeps a channels-last layout."""
        fmt = _mf.check_memory_format(memory_format, "clone()", _mf.preserve_format)
        _mf.check_rank(self._data.shape, fmt, "clone()")
        if _mf.resolve_format(self._data, fmt) is _mf.contiguous_format:
            return ops.Clone.apply(self)
        return ops.Clone.apply(self, functools.partial(_mf.copy_as, fmt=fmt))

    def is_contiguous(self, memory_format: Any = _mf.contiguous_format) -> builtins.bool:
        """Does the tensor sit densely in memory in memory_format's order? (False for a
        channels-last format of another rank, as PyTorch.)"""
        fmt = _mf.check_memory_format(memory_format, "is_contiguous()")
        if fmt is _mf.preserve_format:  # (PyTorch answers as for contiguous_format)
            fmt = _mf.contiguous_format
        return _mf.is_contiguous_as(self._data, fmt)

    def contiguous(self, memory_format: Any = _mf.contiguous_format) -> Tensor:
        """self if already laid out in memory_format, else a copy that is (CloneBackward0)."""
        fmt = _mf.check_memory_format(memory_format, "contiguous()")
        if fmt is _mf.preserve_format and not self._data.flags.c_contiguous:
            raise RuntimeError(
                "contiguous(): preserve memory format is unsupported by the contiguous operator"
            )
        _mf.check_rank(self._data.shape, fmt, "contiguous()")
        if fmt is _mf.preserve_format or _mf.is_contiguous_as(self._data, fmt):
            return self
        if fmt is _mf.contiguous_format:
            return ops.Clone.apply(self)
        return ops.Clone.apply(self, functools.partial(_mf.copy_as, fmt=fmt))

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """`.to(dtype)`, `.to('cpu')` or `.to(other_tensor)`, and memory_format=...;
        tinyconv runs on the CPU only."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        copy = kwargs.pop("copy", False)
        fmt = _mf.check_memory_format(
            kwargs.pop("memory_format", None), "to()", _mf.preserve_format
        )
        if kwargs:
            raise TypeError(f"to(): unexpected arguments {sorted(kwargs)}")
        flags = []  # to(dtype, non_blocking, copy): positional bools after the target
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (str, Device)):
                device = a
            elif isinstance(a, builtins.bool):
                flags.append(a)
            else:
                dtype = a
        if len(flags) > 1:
            copy = flags[1]
        if device is not None:
            _check_device(device, "to()")
        dt = self._data.dtype if dtype is None else as_dtype(dtype)
        if fmt is not _mf.preserve_format:
            _mf.check_rank(self._data.shape, fmt, "to()")
            # (PyTorch's to() copies unless the strides are exactly the format's, where
            # contiguous() is content with any stride on a size-1 dim)
            if self.stride() != _mf.format_strides(self._data, fmt):
                # one copy into the new layout (and dtype): PyTorch's one ToCopyBackward0 node
                copy = functools.partial(_mf.copy_as, fmt=fmt)
                if dt.kind != "f":
                    return Tensor._make(copy(self._data).astype(dt, copy=False), None, False)
                return ops.Cast.apply(self, dt, copy)
        if dt == self._data.dtype and not copy:
            return self
        if dt.kind != "f":  # an integer or bool tensor cannot require grad: cut, as PyTorch
            return Tensor._make(self._data.astype(dt), None, False)
        return ops.Cast.apply(self, dt)  # (a copy, layout kept: copy=True's too)

    def cpu(self) -> Tensor:
        return self

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """The legacy type name ('tinyconv.FloatTensor'), or this tensor converted to a dtype,
        a legacy type (tinyconv.IntTensor) or its name ('tinyconv.IntTensor')."""
        if dtype is None:
            name = _LEGACY_TYPES.get(self._data.dtype.name)
            return "tinyconv." + name if name else dtype_name(self._data.dtype)
        if isinstance(dtype, builtins.str):
            short = dtype.rpartition(".")[2]
            found = [k for k, v in _LEGACY_TYPES.items() if v == short]
            if not dtype.startswith(("tinyconv.", "torch.")) or not found:
                raise ValueError(f"invalid type: {dtype!r}")
            dtype = np.dtype(found[0])
        elif isinstance(dtype, builtins.type) and hasattr(dtype, "_dtype"):  # tinyconv.IntTensor
            dtype = dtype._dtype
        return self.to(dtype)

    def float(self) -> Tensor:
        return self.to(_dtype.float32)

    def double(self) -> Tensor:
        return self.to(_dtype.float64)

    def half(self) -> Tensor:
        return self.to(_dtype.float16)

    def long(self) -> Tensor:
        return self.to(_dtype.int64)

    def int(self) -> Tensor:
        return self.to(_dtype.int32)

    def bool(self) -> Tensor:
        return self.to(_dtype.bool)

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_complex(self) -> bool:
        return False  # tinyconv has no complex dtypes

    def is_signed(self) -> bool:
        """True for signed integer and floating dtypes (not uint8 or bool)."""
        return self._data.dtype.kind in "if"

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def ndimension(self) -> int:
        return self._data.ndim

    def multinomial(
        self, num_samples: int, replacement: bool = False, *, generator: Any = None
    ) -> Tensor:
        """Indices drawn with probability proportional to this tensor's values (per row of a
        2-D one), int64: PyTorch's draws for the same seed."""
        from ._rng import multinomial_indices

        idx = multinomial_indices(self._data, num_samples, replacement, generator, "multinomial")
        return Tensor._make(idx, None, False)

    def ravel(self) -> Tensor:
        """The elements as 1-D (a view when the layout allows, as reshape(-1))."""
        return self.reshape(-1)

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """Windows of `size` every `step` along `dimension`: that dim counts the windows,
        (n - size) // step + 1 of them, and a new last dim of `size` runs within each.
        A read-only copy (PyTorch: an overlapping view; see ops_extra.Unfold)."""
        axis = _dim(dimension, builtins.max(self._data.ndim, 1), "unfold()")
        n = self._data.shape[axis] if self._data.ndim else 1
        if isinstance(size, bool) or not isinstance(size, int) or size < 0 or size > n:
            raise RuntimeError(
                f"unfold(): size must be an integer in [0, {n}] (the size of dim {dimension}), "
                f"got {size!r}"
            )
        if isinstance(step, bool) or not isinstance(step, int) or step <= 0:
            raise RuntimeError(f"unfold(): step must be a positive integer, got {step!r}")
        if self._data.ndim == 0:
            return self.reshape(1)
        return ops_extra.Unfold.apply(self, axis, size, step)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __contains__(self, element: Any) -> bool:
        """`element in t`: whether any entry of t equals element (a number or a Tensor), as
        PyTorch's (not Python's row-by-row test, whose rows' truth is ambiguous)."""
        if isinstance(element, (Tensor, builtins.bool, builtins.int, builtins.float, np.number)):
            return builtins.bool((element == self).any().item())
        raise RuntimeError(
            "Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
            f"{type(element)}."
        )

    def __reversed__(self) -> Tensor:
        """reversed(t): t flipped along dim 0 (a 0-d tensor itself), as PyTorch's."""
        return self if self._data.ndim == 0 else self.flip(0)

    def _scalar(self, what: str) -> Any:
        if self._data.size != 1:
            raise TensorValueError(
                f"{what}: only a one-element tensor can be converted, but this one has shape "
                f"{tuple(self._data.shape)}"
            )
        return self._data.reshape(()).item()

    def __float__(self) -> float:
        if self._requires_grad and not _warned_float_of_grad and _gm_state.grad:
            _warn_float_of_grad()  # (not under no_grad, as PyTorch's)
        return builtins.float(self._scalar("float()"))

    def __int__(self) -> int:
        return builtins.int(self._scalar("int()"))

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError(
                "only integer tensors of a single element can be used as an index, got a "
                f"{dtype_name(self._data.dtype)} tensor of shape {tuple(self._data.shape)}"
            )
        return builtins.int(self._data.reshape(()).item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"bool(): the truth value of a tensor with {self._data.size} elements "
                f"(shape {tuple(self._data.shape)}) is ambiguous; use .any() or .all()"
            )
        return builtins.bool(self._data.reshape(()).item())

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return format_tensor(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        # PyTorch's rule: a plain 0-d tensor formats as its number, "{}" included (a loss in
        # "loss {}".format(loss)); any other tensor (a Parameter too) as str() with an empty
        # spec, and a non-empty spec is object.__format__'s TypeError
        if self._data.ndim == 0 and type(self) is Tensor:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __reduce__(self) -> Any:  # copy.deepcopy / pickle of a tensor by value
        return (_rebuild, (self._data.copy(), self._requires_grad))

    def __deepcopy__(self, memo: dict) -> Tensor:
        t = Tensor._make(self._data.copy(), None, self._requires_grad)
        if self._grad is not None:
            t.grad = Tensor._make(self._grad._data.copy(), None, False)
        memo[id(self)] = t
        return t

    # -- arithmetic ----------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return _binary(ops.Add, self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _binary(ops.Add, self, other)

    def __sub__(self, other: Any) -> Tensor:
        return _binary(ops.Sub, self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _binary(ops.Sub, self, other, reflected=True)

    def __mul__(self, other: Any) -> Tensor:
        return _binary(ops.Mul, self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _binary(ops.Mul, self, other)

    def __truediv__(self, other: Any) -> Tensor:
        return _binary(ops.Div, self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _binary(ops.Div, self, other, reflected=True)

    def __pow__(self, other: Any) -> Tensor:
        if type(other) is builtins.int and other < 0 and self._data.dtype.kind in "biu":
            # PyTorch refuses this one case (a negative *tensor* exponent gives 0s instead)
            raise RuntimeError(
                f"pow: integers to negative integer powers are not allowed (a tensor of dtype "
                f"{dtype_name(self._data.dtype)} ** {other}); use a float exponent ({other}.0) or "
                ".float()"
            )
        if type(other) in _PY_NUMBER and (
            self._data.dtype.kind in "iu" or self._data.dtype.itemsize < 4
        ):  # a number exponent must fit an integer or float16 result's dtype (int8 ** 300,
            # float16 ** 70000 raise); a float32 kernel takes it as a double (** 1e40 is inf)
            rt = result_type(self._data, other)
            if rt.kind in "iu" or rt == np.float16:
                _dtype.fit_number(other, rt, "pow()", int_to_float=True)
        return _binary(ops.Pow, self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _binary(ops.Pow, self, other, reflected=True)

    def __matmul__(self, other: Any) -> Tensor:
        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return matmul(_as_tensor(other), self)

    def __neg__(self) -> Tensor:
        if self._data.dtype.kind == "b":
            raise DtypeNotImplementedError(
                "negation (-) is not supported on bool tensors; use ~ or logical_not()"
            )
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return self.abs()

    def __invert__(self) -> Tensor:
        if self._data.dtype.kind not in "biu":
            # (PyTorch raises TypeError for ~, NotImplementedError for bitwise_not: this is both)
            raise DtypeNotImplementedError("~ is only defined for bool and integer tensors")
        return Tensor._make(np.invert(self._data), None, False)

    def __and__(self, other: Any) -> Tensor:
        return _logical(np.bitwise_and, self, other, "&")

    def __or__(self, other: Any) -> Tensor:
        return _logical(np.bitwise_or, self, other, "|")

    def __xor__(self, other: Any) -> Tensor:
        return _logical(np.bitwise_xor, self, other, "^")

    __rand__ = __and__
    __ror__ = __or__
    __rxor__ = __xor__

    # shifts of integer tensors (a shift by the bit width or more, or by a negative count,
    # gives 0, or -1 for >> of a negative value: NumPy's rule is PyTorch's)
    def __lshift__(self, other: Any) -> Tensor:
        return _logical(np.left_shift, self, other, "<<")

    def __rshift__(self, other: Any) -> Tensor:
        return _logical(np.right_shift, self, other, ">>")

    def __rlshift__(self, other: Any) -> Tensor:
        return _logical(lambda a, b: np.left_shift(b, a), self, other, "<<")

    def __rrshift__(self, other: Any) -> Tensor:
        return _logical(lambda a, b: np.right_shift(b, a), self, other, ">>")

    bitwise_left_shift = __lshift__
    bitwise_right_shift = __rshift__

    def __floordiv__(self, other: Any) -> Tensor:
        return _binary(ops.FloorDivide, self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _binary(ops.FloorDivide, self, other, reflected=True)

    def __mod__(self, other: Any) -> Tensor:
        return _binary(ops.Remainder, self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return _binary(ops.Remainder, self, other, reflected=True)

    def floor_divide(self, other: Any) -> Tensor:
        return self // other

    def remainder(self, other: Any) -> Tensor:
        return self % other

    # comparisons: bool tensors, no gradient
    def __eq__(self, other: object) -> Any:  # type: ignore[override]
        if not _comparable(other):
            # `t == None`, `t == "a"`: Python's identity fallback (False), as PyTorch; so
            # `if mask == None:` and `t in [None, ...]` work. t.eq(None) still raises.
            return NotImplemented
        return _compare(np.equal, self, other)

    def __ne__(self, other: object) -> Any:  # type: ignore[override]
        if not _comparable(other):
            return NotImplemented
        return _compare(np.not_equal, self, other)

    def eq(self, other: Any) -> Tensor:
        return _compare(np.equal, self, other)

    def ne(self, other: Any) -> Tensor:
        return _compare(np.not_equal, self, other)

    def __lt__(self, other: Any) -> Tensor:
        return _compare(np.less, self, other)

    def __le__(self, other: Any) -> Tensor:
        return _compare(np.less_equal, self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _compare(np.greater, self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _compare(np.greater_equal, self, other)

    lt = __lt__
    le = __le__
    gt = __gt__
    ge = __ge__

    def add(self, other: Any, alpha: Any = 1) -> Tensor:
        alpha = _number_arg(alpha, "add()", "alpha")
        _check_alpha(self, other, alpha, "add()")
        if _fused_alpha(self, other, alpha):
            return _binary(ops.Add, self, other, alpha=alpha)
        return self + _scaled(self, other, alpha)

    def sub(self, other: Any, alpha: Any = 1) -> Tensor:
        alpha = _number_arg(alpha, "sub()", "alpha")
        _check_alpha(self, other, alpha, "sub()")
        if alpha != 1:  # (other * alpha would no longer be the bool PyTorch refuses)
            _refuse_bool(ops.Sub, self, other, None)
        if _fused_alpha(self, other, alpha):
            return _binary(ops.Sub, self, other, alpha=alpha)
        return self - _scaled(self, other, alpha)

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        """self / other; rounding_mode 'floor' or 'trunc' rounds the quotient (keeping an
        integer dtype) and has a zero gradient, as in PyTorch."""
        if rounding_mode is None:
            return self / other
        return _binary(_rounded_div_op(rounding_mode), self, other)

    def pow(self, exponent: Any) -> Tensor:
        return self**exponent

    multiply = mul
    divide = div
    subtract = sub

    def matmul(self, other: Any) -> Tensor:
        return matmul(self, other)

    def mm(self, other: Any) -> Tensor:
        if self._data.ndim != 2 or _as_tensor(other).ndim != 2:
            raise TensorValueError(
                f"mm(): both operands must be 2-D, got shapes {tuple(self.shape)} and "
                f"{tuple(_as_tensor(other).shape)}"
            )
        return matmul(self, other)

    def dot(self, other: Any) -> Tensor:
        o = _as_tensor(other)
        if self._data.ndim != 1 or o._data.ndim != 1:
            raise RuntimeError(
                f"dot(): expected two 1-D tensors, got shapes {tuple(self.shape)} and "
                f"{tuple(o.shape)}"
            )
        return matmul(self, o)

    def t(self) -> Tensor:
        if self._data.ndim > 2:
            raise TensorValueError(
                f"t(): expects a tensor with <= 2 dimensions, got shape {tuple(self.shape)}"
            )
        out = self.T
        if out._grad_fn is not None:  # PyTorch's node for t() (x.T shows PermuteBackward0)
            out._grad_fn.torch_name = "TBackward0"
        return out

    # -- unary math ----------------------------------------------------------------------
    def _float_op(self, op: Any) -> Tensor:
        x = self if self._data.dtype.kind == "f" else self.to(_dtype.get_default_dtype())
        return op.apply(x)

    def abs(self) -> Tensor:
        if self._data.dtype == np.bool_:  # (PyTorch's kernel has no bool version)
            raise NotImplementedError("abs(): not implemented for bool tensors")
        return ops.Abs.apply(self)

    def exp(self) -> Tensor:
        return self._float_op(ops.Exp)

    def log(self) -> Tensor:
        return self._float_op(ops.Log)

    def sqrt(self) -> Tensor:
        return self._float_op(ops.Sqrt)

    def sin(self) -> Tensor:
        return self._float_op(ops.Sin)

    def cos(self) -> Tensor:
        return self._float_op(ops.Cos)

    def sigmoid(self) -> Tensor:
        return self._float_op(ops.Sigmoid)

    def tanh(self) -> Tensor:
        return self._float_op(ops.Tanh)

    def relu(self) -> Tensor:
        if self._data.dtype == np.bool_:
            raise RuntimeError("relu(): bool inputs are not supported (as in PyTorch)")
        return ops.Relu.apply(self)

    def square(self) -> Tensor:
        return self**2  # PyTorch's square is pow(x, 2) (PowBackward0)

    def sign(self) -> Tensor:
        return ops.Sign.apply(self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """min(max(self, min), max); the bounds are numbers or tensors that broadcast with self
        (the output takes the broadcast shape, and tensor bounds get gradients)."""
        if min is None and max is None:
            raise TensorValueError("clamp(): at least one of min and max must be given")
        if (
            min is not None
            and max is not None
            and isinstance(min, Tensor) != isinstance(max, Tensor)
        ):
            # PyTorch reads a 0-d tensor that needs no grad as a number (its (Number, Number)
            # overload: x.clamp(t.max(), 1.0)), so the pair is two numbers
            min, max = (
                v.item() if isinstance(v, Tensor) and _as_number(v) else v for v in (min, max)
            )
        lo, hi = (_operand(v) if v is not None else None for v in (min, max))
        # a Python int bound wraps into the result's dtype (uint8 clamp(min=-1) is 255), not
        # into self's when the result is a float one (uint8 clip(-1, 1e20) keeps -1)
        res = result_type(self._data, *(b._data if isinstance(b, Tensor) else b for b in (lo, hi)))
        lo, hi = (_wrap_int(b, res) if b is not None else None for b in (lo, hi))
        if lo is not None and hi is not None and isinstance(lo, Tensor) != isinstance(hi, Tensor):
            raise TypeError(  # PyTorch's overloads take two numbers or two tensors, not one of each
                f"clamp(): min and max must both be tensors or both be numbers, got "
                f"{type(min).__name__} and {type(max).__name__}"
            )
        raw = [b._data if isinstance(b, Tensor) else b for b in (lo, hi)]
        shapes = [np.shape(r) for r in raw if isinstance(r, np.ndarray)]
        if shapes:
            try:
                np.broadcast_shapes(self._data.shape, *shapes)
            except ValueError:
                raise TensorValueError(
                    f"clamp(): min/max of shape(s) {shapes} can't be broadcast with the "
                    f"input's shape {tuple(self.shape)}"
                ) from None
        dtype = result_type(self._data, *raw)
        for v in (min, max):  # a number bound must fit the result's dtype, as PyTorch checks
            if v is not None and not isinstance(v, (Tensor, np.ndarray, list, tuple)):
                _dtype.fit_number(v, dtype, "clamp()", int_to_float=True)
        if dtype.kind == "b" and not builtins.all(
            isinstance(r, np.ndarray) for r in raw if r is not None
        ):
            _refuse_bool(ops.Clamp, self, None, dtype)
        return ops.Clamp.apply(self, lo, hi, dtype)

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        return _binary(ops.Maximum, self, _tensor_other(other, "maximum()"))

    def minimum(self, other: Any) -> Tensor:
        return _binary(ops.Minimum, self, _tensor_other(other, "minimum()"))

    # -- reductions ----------------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        axis = None if dim is None else _dims(dim, self._data.ndim, "sum()", empty_all=True)
        if dtype is None:
            return ops.Sum.apply(self, axis, keepdim, None)
        dt = as_dtype(dtype)
        _refuse_int_grad(self, dt, "sum()")
        return ops.Sum.apply(self, axis, keepdim, dt)

    def mean(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind != "f":
            raise RuntimeError(
                f"mean(): input dtype must be floating point, got {dtype_name(x._data.dtype)}; "
                "convert with .float() or pass dtype="
            )
        return ops.Mean.apply(x, _dims(dim, self._data.ndim, "mean()", empty_all=True), keepdim)

    def var(
        self,
        dim: Any = None,
        unbiased: Any = None,
        keepdim: bool = False,
        *,
        correction: Any = None,
        _op: Any = None,
    ) -> Tensor:
        corr = 1 if correction is None else correction
        if isinstance(dim, (builtins.bool, np.bool_)) and unbiased is None:
            dim, unbiased = None, builtins.bool(dim)  # PyTorch's var(unbiased) overload
        if unbiased is not None:
            if isinstance(unbiased, builtins.bool):
                corr = 1 if unbiased else 0
            elif dim is None:  # var(dim) passed positionally
                dim = unbiased
        what = "std()" if _op is ops.Std else "var()"
        x = self._float_input(what)
        if (
            isinstance(dim, (tuple, list))
            and not dim
            and x._data.ndim
            and grad_mode.enabled
            and x._requires_grad
        ):
            # PyTorch reduces every dim (tinyconv too), but its backward then divides by
            # 1 - correction instead of n - correction: a wrong gradient tinyconv will not copy
            raise RuntimeError(
                f"{what}: dim=[] (every dim) on a tensor that requires grad is refused: "
                "PyTorch 2.13's gradient for it uses the wrong degrees of freedom; "
                "pass dim=None"
            )
        return (_op or ops.Var).apply(
            x, _dims(dim, self._data.ndim, what, empty_all=True), corr, keepdim
        )

    def std(
        self,
        dim: Any = None,
        unbiased: Any = None,
        keepdim: bool = False,
        *,
        correction: Any = None,
    ) -> Tensor:
        return self.var(dim, unbiased, keepdim, correction=correction, _op=ops.Std)

    def _float_input(self, what: str) -> Tensor:
        if self._data.dtype.kind != "f":
            raise RuntimeError(
                f"{what}: input dtype must be floating point, got {dtype_name(self._data.dtype)}"
            )
        return self

    def _max_min(self, dim: Any, keepdim: bool, use_min: bool, what: str) -> Any:
        if isinstance(dim, Tensor):  # torch.max(a, b) is maximum(a, b)
            return _binary(ops.Minimum if use_min else ops.Maximum, self, dim)
        if dim is None:
            _check_reduce_empty(self._data, None, what)
            return ops.Amax.apply(self, None, False, use_min, True)
        axis = _dim(dim, self._data.ndim, what)
        _check_reduce_empty(self._data, axis, what)
        data = self._data if self._data.ndim else self._data.reshape(1)
        idx = (np.argmin if use_min else np.argmax)(data, axis=axis, keepdims=True)
        squeeze = not keepdim or not self._data.ndim  # a 0-d input gives 0-d results, as in PyTorch
        values = (ops.MinDim if use_min else ops.MaxDim).apply(
            self if self._data.ndim else self.reshape(1), idx, axis, not squeeze
        )
        if squeeze:
            idx = np.squeeze(idx, axis)
        return MaxMin(values, Tensor._make(np.asarray(idx, dtype=np.int64), None, False))

    def max(self, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:
        """The largest value, or with `dim`: (values, indices) along that dim; with a tensor
        `other` (by position or keyword), maximum(self, other)."""
        if other is not None:
            return self.maximum(other)
        return self._max_min(dim, keepdim, False, "max()")

    def min(self, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:
        if other is not None:
            return self.minimum(other)
        return self._max_min(dim, keepdim, True, "min()")

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        axis = _dims(dim, self._data.ndim, "amax()", empty_all=True)
        _check_reduce_empty(self._data, axis, "amax()")
        return ops.Amax.apply(self, axis, keepdim, False)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        axis = _dims(dim, self._data.ndim, "amin()", empty_all=True)
        _check_reduce_empty(self._data, axis, "amin()")
        return ops.Amax.apply(self, axis, keepdim, True)

    def prod(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        """The product of all elements, or along one dim; its gradient is exact with zeros too."""
        dt = None if dtype is None else as_dtype(dtype)
        _refuse_int_grad(self, dt, "prod()")
        if not self._data.ndim and dim is not None:
            _dim(dim, 0, "prod()")
            if dt is None and self._data.dtype.kind in "biu":
                dt = np.dtype(np.int64)  # (an integer product is int64, as without the dim)
            return self.clone() if dt is None else self.to(dt)
        # A 0-d input goes through Prod too: it saves the result, so an in-place change of the
        # product before backward raises, as in PyTorch.
        axis = None if dim is None else _dim(dim, self._data.ndim, "prod()")
        return ops.Prod.apply(self, axis, keepdim and dim is not None, dt)

    def norm(
        self, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None
    ) -> Tensor:
        """The vector p-norm of the elements over `dim` (all by default), as torch.norm ('fro' is
        p=2).

        One op (ops.Norm) whose backward gives zeros PyTorch's gradients (0, not nan).
        """
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind != "f":
            raise RuntimeError(
                f"norm(): input dtype must be floating point, got {dtype_name(x._data.dtype)}; "
                "convert with .float() or pass dtype="
            )
        if p is None or p == "fro":
            p = 2
        if p == "nuc":
            return x._nuclear_norm(dim, keepdim)
        if isinstance(p, str):  # a bad value of p, not a bad type:
            raise TensorValueError(
                f"norm(): p must be a number, 'fro', 'nuc' or inf, got {p!r}"  # noqa: TRY004
            )
        p = builtins.float(p)
        axis = _dims(dim, x._data.ndim, "norm()", empty_all=True)
        if (p < 0 or p == np.inf) and x._data.size == 0:
            # the max |x| and the negative orders have no value over no elements: PyTorch
            # refuses them where a reduced dim is empty (0, 1, 2, ... give 0)
            axes = range(x._data.ndim) if axis is None else np.atleast_1d(axis).tolist()
            if builtins.any(x._data.shape[d] == 0 for d in axes):
                raise RuntimeError(
                    f"norm(): cannot compute the {p:g} norm over an empty dimension because "
                    "the operation does not have an identity"
                )
        return ops.Norm.apply(x, p, axis, keepdim)

    def _nuclear_norm(self, dim: Any, keepdim: bool) -> Tensor:
        """The sum of the singular values of the matrices over the two dims `dim` (both dims
        of a 2-D tensor by default), as torch.norm(x, 'nuc')."""
        if dim is None:
            dim = tuple(range(self._data.ndim))
        dims = (dim,) if isinstance(dim, (builtins.int, np.integer)) else tuple(dim)
        if len(dims) != 2:
            raise RuntimeError(
                f"norm(): the nuclear norm needs a matrix: dim must be 2 dims, got {dims} "
                f"(input shape {tuple(self.shape)})"
            )
        d0, d1 = (_dim(d, self._data.ndim, "norm()") for d in dims)
        if d0 == d1:
            raise RuntimeError(f"norm(): dims must be different, got {dims}")
        out = ops_linalg.Svdvals.apply(self.movedim((d0, d1), (-2, -1))).sum(-1)
        if keepdim:
            out = out.unsqueeze(-1).unsqueeze(-1).movedim((-2, -1), (d0, d1))
        return out

    # new_*: a fresh tensor with this one's dtype (unless given), as `x.new_ones(5, 3)`
    def _new(self, fill: Any, size: tuple, dtype: Any, requires_grad: bool, what: str) -> Tensor:
        dt = self._data.dtype if dtype is None else as_dtype(dtype)
        fill = _dtype.fit_number(_number_arg(fill, what, "fill_value"), dt, what, int_to_float=True)
        t = Tensor._make(np.full(_sizes(size, what), fill, dtype=dt), None, False)
        if requires_grad:
            t.requires_grad = True
        return t

    def new_zeros(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **kw: Any,
    ) -> Tensor:
        if kw or not size:
            size = _variadic(size, kw, "size", "new_zeros")
        return self._new(0, size, dtype, requires_grad, "new_zeros()")

    def new_ones(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **kw: Any,
    ) -> Tensor:
        if kw or not size:
            size = _variadic(size, kw, "size", "new_ones")
        return self._new(1, size, dtype, requires_grad, "new_ones()")

    def new_empty(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **kw: Any,
    ) -> Tensor:
        if kw or not size:
            size = _variadic(size, kw, "size", "new_empty")
        return self._new(0, size, dtype, requires_grad, "new_empty()")

    def new_full(
        self,
        size: Any,
        fill_value: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Tensor:
        return self._new(fill_value, (size,), dtype, requires_grad, "new_full()")

    def new_tensor(
        self, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        dt = self._data.dtype if dtype is None else as_dtype(dtype)
        t = Tensor._make(_to_array(data, dt, "new_tensor()"), None, False)
        if requires_grad:
            t.requires_grad = True
        return t

    def softmax(self, dim: Any, dtype: Any = None) -> Tensor:
        return _softmax(ops.Softmax, self, dim, dtype, "softmax")

    def log_softmax(self, dim: Any, dtype: Any = None) -> Tensor:
        return _softmax(ops.LogSoftmax, self, dim, dtype, "log_softmax")

    def argmax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return _arg(np.argmax, self, dim, keepdim, "argmax()")

    def argmin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return _arg(np.argmin, self, dim, keepdim, "argmin()")

    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        axis = _dims(dim, self.ndim, "all()")
        out = np.asarray(np.all(self._data, axis=axis, keepdims=bool(keepdim)))
        # (uint8 stays uint8, as PyTorch keeps its old byte masks)
        return Tensor._make(
            out.astype(np.uint8) if self._data.dtype == np.uint8 else out, None, False
        )

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        axis = _dims(dim, self.ndim, "any()")
        out = np.asarray(np.any(self._data, axis=axis, keepdims=bool(keepdim)))
        # (uint8 stays uint8, as PyTorch keeps its old byte masks)
        return Tensor._make(
            out.astype(np.uint8) if self._data.dtype == np.uint8 else out, None, False
        )

    # -- shape ---------------------------------------------------------------------------
    def reshape(self, *shape: Any, **kw: Any) -> Tensor:
        if kw or not shape:
            shape = _variadic(shape, kw, "shape", "reshape")
        return ops.Reshape.apply(
            self, _infer_shape(_sizes(shape, "reshape()"), self._data, "reshape()")
        )

    def view(self, *shape: Any, **kw: Any) -> Tensor:
        if kw or not shape:
            shape = _variadic(shape, kw, "dtype" if "dtype" in kw else "size", "view")
        if len(shape) == 1 and isinstance(shape[0], (np.dtype, _dtype.DType, type)):
            return self._view_dtype(as_dtype(shape[0]))
        new = _infer_shape(_sizes(shape, "view()"), self._data, "view()")
        if not self._data.flags.c_contiguous and new != self._data.shape:
            try:  # a view must not copy: NumPy refuses to set a shape that would need one
                self._data.view().shape = new
            except (AttributeError, ValueError):
                raise RuntimeError(
                    f"view(): shape {new} is not compatible with the memory layout of this "
                    f"tensor (shape {tuple(self.shape)}, not contiguous); use .reshape(...) instead"
                ) from None
        return ops.Reshape.apply(self, new)

    def _view_dtype(self, dt: np.dtype) -> Tensor:
        """view(dtype): the same bytes read as another dtype (a float32 1.0 viewed as int32 is
        1065353216). A different element size scales the last dim, which must be contiguous.
        As in PyTorch the result shares self's memory and is not differentiable."""
        a = self._data
        if dt == a.dtype:
            out = a.view()
        else:
            what = f"view(): can't view {dtype_name(a.dtype)} as {dtype_name(dt)}"
            if dt.itemsize != a.dtype.itemsize:
                if a.ndim == 0:
                    raise RuntimeError(f"{what}: a 0-d tensor keeps its element size")
                last = a.shape[-1] * a.dtype.itemsize
                if a.shape[-1] != 1 and a.strides[-1] != a.dtype.itemsize:
                    raise RuntimeError(f"{what}: the last dim must have stride 1 (different sizes)")
                if last % dt.itemsize:
                    raise RuntimeError(
                        f"{what}: the last dim's size {a.shape[-1]} must be divisible by "
                        f"{dt.itemsize // a.dtype.itemsize} (different element sizes)"
                    )
            try:
                out = a.view(dt)
            except ValueError as e:
                raise RuntimeError(f"{what}: {e}") from None
        return Tensor._make(out, None, False)

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        shape = self._data.shape
        if not shape:
            _dim(start_dim, 0, "flatten()")  # (0-d: only -1 and 0, as PyTorch)
            _dim(end_dim, 0, "flatten()")
            return self.reshape(1)
        s = _dim(start_dim, len(shape), "flatten()")
        e = _dim(end_dim, len(shape), "flatten()")
        if s > e:
            raise TensorValueError(
                f"flatten(): start_dim ({start_dim}) must not come after end_dim ({end_dim})"
            )
        if s == e:
            return (
                self  # PyTorch returns the tensor itself here (not a view): same is_leaf, same node
            )
        n = 1
        for d in shape[s : e + 1]:
            n *= d
        return self.reshape(shape[:s] + (n,) + shape[e + 1 :])

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        if self._data.ndim == 0:
            raise RuntimeError("unflatten(): cannot be applied to a 0-d tensor")
        d = _dim(dim, self._data.ndim, "unflatten()")
        shape = self._data.shape
        inner = _infer_shape(tuple(sizes), np.empty(shape[d]), "unflatten()")
        return self.reshape(shape[:d] + inner + shape[d + 1 :])

    def squeeze(self, dim: Any = None) -> Tensor:
        shape = self._data.shape
        if dim is None:
            new = tuple(s for s in shape if s != 1)
        else:
            dims = _dims(dim, len(shape), "squeeze()")
            dims = dims if isinstance(dims, tuple) else (dims,)
            new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
        out = ops.Squeeze.apply(self, new)  # a view even when nothing is squeezed, as in PyTorch
        if out._grad_fn is not None and not isinstance(
            dim, int
        ):  # PyTorch's overloads: (), dim, dims
            out._grad_fn.torch_name = "SqueezeBackward0" if dim is None else "SqueezeBackward2"
        return out

    def unsqueeze(self, dim: int) -> Tensor:
        shape = self._data.shape
        d = _dim(dim, len(shape) + 1, "unsqueeze()")
        return ops.Unsqueeze.apply(self, shape[:d] + (1,) + shape[d:])

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        n = self._data.ndim
        a, b = _dim(dim0, n, "transpose()"), _dim(dim1, n, "transpose()")
        axes = list(range(n))
        if n:  # (a 0-d tensor's dims 0 and -1 are valid and name no axis)
            axes[a], axes[b] = axes[b], axes[a]
        return ops.Transpose.apply(self, tuple(axes))

    swapaxes = transpose

    def permute(self, *dims: Any, **kw: Any) -> Tensor:
        if kw or not dims:
            dims = _variadic(dims, kw, "dims", "permute")
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        n = self._data.ndim
        axes = tuple(_dim(d, n, "permute()") for d in dims)
        if sorted(axes) != list(range(n)):
            raise TensorValueError(
                f"permute(): dims {dims} must be a permutation of the {n} dimensions of a tensor "
                f"of shape {tuple(self.shape)}"
            )
        return ops.Permute.apply(self, axes)

    def expand(self, *sizes: Any, **kw: Any) -> Tensor:
        if kw or not sizes:
            sizes = _variadic(sizes, kw, "size", "expand")
        sizes = _sizes(sizes, "expand()")
        shape = self._data.shape
        if len(sizes) < len(shape):
            raise TensorValueError(
                f"expand(): the number of sizes {sizes} must be at least the tensor's "
                f"number of dimensions ({len(shape)}, shape {tuple(shape)})"
            )
        lead = len(sizes) - len(shape)
        target = []
        for i, s in enumerate(sizes):
            old = shape[i - lead] if i >= lead else None
            if s == -1:
                if old is None:
                    raise TensorValueError("expand(): -1 is not allowed for new leading dimensions")
                s = old
            elif old is not None and old != 1 and old != s:
                raise TensorValueError(
                    f"expand(): the expanded size {s} must match the existing size {old} at "
                    f"dimension {i} (tensor shape {tuple(shape)}, sizes {sizes})"
                )
            target.append(s)
        return ops.Expand.apply(self, tuple(target))

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def repeat(self, *sizes: Any, **kw: Any) -> Tensor:
        if kw or not sizes:
            sizes = _variadic(sizes, kw, "repeats", "repeat")
        reps = _sizes(sizes, "repeat()")
        if len(reps) < self._data.ndim:
            raise TensorValueError(
                f"repeat(): need at least {self._data.ndim} repeat counts, got {reps}"
            )
        return ops_extra.Repeat.apply(self, reps)

    def flip(self, *dims: Any, **kw: Any) -> Tensor:
        if kw or not dims:
            dims = _variadic(dims, kw, "dims", "flip")
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        axes = tuple(_dim(d, self._data.ndim, "flip()") for d in dims)
        for i, a in enumerate(axes):
            if a in axes[:i]:
                raise RuntimeError(f"flip(): dim {a} appears multiple times in the list of dims")
        # (a 0-d tensor takes dim 0 or -1, as PyTorch, and has nothing to flip)
        return ops.Flip.apply(self, axes if self._data.ndim else ())

    def split(self, split_size: Any, dim: int = 0) -> tuple:
        """Pieces of `split_size` along dim (the last may be smaller), or of the sizes in a list."""
        if self._data.ndim == 0:
            raise RuntimeError("split(): expected at least a 1-dimensional tensor")
        d = _dim(dim, self._data.ndim, "split()")
        n = self._data.shape[d]
        if isinstance(split_size, (builtins.int, np.integer)) and not isinstance(
            split_size, builtins.bool
        ):
            if split_size < 0 or (split_size == 0 and n):
                raise RuntimeError(
                    f"split(): split_size must be positive (0 only for a dim of size 0), "
                    f"got {split_size} for dim {d} of size {n}"
                )
            # a dim of size 0 still gives one (empty) piece, as in PyTorch
            sizes = [split_size] * (n // split_size) + [n % split_size] if split_size else [0]
            name = "SplitBackward0"
            if len(sizes) > 1 and sizes[-1] == 0:
                sizes.pop()
        else:
            sizes = list(split_size)
            name = "SplitWithSizesBackward0"
            if sum(sizes) != n or builtins.any(s < 0 for s in sizes):
                raise RuntimeError(
                    f"split(): split sizes {sizes} must be non-negative and sum to the "
                    f"size of dim {d}, {n}"
                )
        out, start = [], 0
        for s in sizes:
            out.append(_sliced(self, d, start, start + s))
            start += s
        return _multi_output_views(out, name)

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        """At most `chunks` pieces of equal size (ceil(n / chunks); the last may be smaller)."""
        if not isinstance(chunks, (builtins.int, np.integer)) or chunks <= 0:
            raise RuntimeError(f"chunk(): chunks must be a positive integer, got {chunks!r}")
        if self._data.ndim == 0:
            raise RuntimeError("chunk(): expected at least a 1-dimensional tensor")
        n = self._data.shape[_dim(dim, self._data.ndim, "chunk()")]
        if n == 0:  # PyTorch: `chunks` empty pieces
            return self.split([0] * builtins.int(chunks), dim)
        return self.split(-(-n // chunks), dim)

    def unsafe_chunk(self, chunks: int, dim: int = 0) -> tuple:
        """chunk (PyTorch's unsafe_ forms skip a check on later in-place use of the parts)."""
        return self.chunk(chunks, dim)

    def unsafe_split(self, split_size: Any, dim: int = 0) -> tuple:
        return self.split(split_size, dim)

    def unsafe_split_with_sizes(self, split_sizes: Any, dim: int = 0) -> tuple:
        return self.split(list(split_sizes), dim)

    @property
    def _base(self) -> Tensor | None:
        """PyTorch's: the tensor this one is a view of (the root of a chain of views, never
        itself a view), None if this tensor is not a view."""
        view = self._view_of
        return None if view is None else view[0]

    def _is_view(self) -> bool:
        """PyTorch's: whether this tensor is a view of another (its `_base` is not None)."""
        return self._view_of is not None

    def unbind(self, dim: int = 0) -> tuple:
        d = _dim(dim, self._data.ndim, "unbind()")
        return _multi_output_views(
            [self[(slice(None),) * d + (i,)] for i in range(self._data.shape[d])],
            "UnbindBackward0",
        )

    # -- indexing ------------------------------------------------------------------------
    def __getitem__(self, index: Any) -> Tensor:
        """self[index] by PyTorch's rules (tinyconv/_indexing.py); basic indexes give views."""
        idx = _indexing.plan(index, self._data.shape)
        if grad_mode.enabled and self._view_of is not None and self._gv != self._vc[0]:
            self._refresh_view()
        if (not grad_mode.enabled or not self._requires_grad) and not grad_mode.dual_level:
            out = Tensor._make(idx.get(self._data), None, False)
            if idx.is_view:
                out._mark_view(self, (ops.Index, (idx,)))
            return out
        return ops.Index.apply(self, idx)

    def __setitem__(self, index: Any, value: Any) -> None:
        """`self[index] = value`, in place; differentiable as in PyTorch (CopySlices)."""
        if index is False:  # PyTorch returns at once here: no write, no check of the value
            return
        if isinstance(value, (list, tuple, np.ndarray)):  # (refused before the index is read)
            raise TypeError(
                f"__setitem__: can't assign a {type(value).__name__} to a tensor; the value must "
                "be a tensor or a number (wrap a list in tinyconv.tensor(...))"
            )
        idx = _indexing.plan(index, self._data.shape)
        val = _indexing.value_for(value, idx, self._data.dtype, index, self._data.shape)
        if isinstance(value, Tensor) and np.may_share_memory(value._data, self._data):
            self._check_setitem_overlap(idx, value, index)
        if grad_mode.enabled:
            _current(value)
        view = self._view_of is not None
        if view:
            self._view_before_write("__setitem__ (x[...] = ...)", value)
        track = grad_mode.enabled and (
            self._requires_grad or (isinstance(value, Tensor) and value._requires_grad)
        )
        if track:
            self._check_inplace("__setitem__ (x[...] = ...)")
        if grad_mode._inference_tensors:
            grad_mode.check_inplace_inference(self)
        idx.put(self._data, val)
        self._vc[0] += 1
        if grad_mode.dual_level:
            _fw_written(self, value, idx)
        if track:
            _record_set_index(self, idx, value)
            if (
                not view
                and idx.adv is not None
                and all(b is Ellipsis or b == slice(None) for b in idx.basic)
            ):
                # PyTorch writes index arrays into a tensor that is not a view with index_put_,
                # its own node; with a basic index before them it writes into that view (CopySlices)
                self._grad_fn.torch_name = "IndexPutBackward0"
            elif not view and idx.adv is None and _whole_index(idx.items, self._data.shape):
                # an index that selects all of x (x[...], x[:], x[:, 0:n]) is x itself in
                # PyTorch's setitem: a copy_ (CopyBackwards), or a fill_ for a number or 0-d value
                filled = not isinstance(value, Tensor) or value._data.ndim == 0
                self._grad_fn.torch_name = "FillBackward3" if filled else "CopyBackwards"
        if view:
            self._view_after_write()

    def _check_setitem_overlap(self, idx: Any, value: Tensor, index: Any) -> None:
        """PyTorch refuses a write whose value shares memory with the written part: partly for a
        basic index (a copy), at all for an advanced one (index_put_), except a one-element value
        with a single bool mask (masked_fill_)."""
        if idx.fill_mask and value._data.size == 1:
            return
        status = _indexing.overlap(self._data[idx.basic], value._data)
        # (a bare `x[True] = v` is a copy into x[None] in PyTorch, a basic index)
        if status == "partial" or (status == "full" and not idx.is_view and index is not True):
            raise RuntimeError(
                f"__setitem__: the value shares memory with the part of the tensor that index "
                f"{_indexing._show(index)} writes (some elements of both refer to a single memory "
                "location), as PyTorch refuses; write value.clone() instead"
            )

    def fill_(self, value: Any) -> Tensor:
        if isinstance(value, Tensor):
            if value._data.ndim:
                raise RuntimeError(
                    f"fill_(): the value must be a number or a 0-d tensor, got a tensor "
                    f"of shape {tuple(value.shape)}"
                )
            return self._overwrite(value._data, "fill_()", ops.Fill, value)
        value = _dtype.fit_number(value, self._data.dtype, "fill_()", int_to_float=True)
        return self._overwrite(value, "fill_()", ops.Fill)

    def zero_(self) -> Tensor:
        return self._overwrite(0, "zero_()", ops.Zero)

    def copy_(self, src: Any) -> Tensor:
        src_t = _as_tensor(src)
        self._refuse_partial_overlap((src_t,), "copy_()")
        try:
            if np.broadcast_shapes(src_t._data.shape, self._data.shape) != self._data.shape:
                raise ValueError  # (the source broadcasts to the destination, not beyond it)
        except ValueError:
            raise RuntimeError(
                f"copy_(): source of shape {tuple(src_t.shape)} does not broadcast "
                f"to the destination's shape {tuple(self.shape)}"
            ) from None
        if grad_mode.enabled:
            _current(src_t)
        if grad_mode.enabled and src_t._requires_grad:
            self[...] = src_t
            if self._view_of is None:  # PyTorch's node for copy_ into a tensor that is not a view
                self._grad_fn.torch_name = "CopyBackwards"
            return self
        self._overwrite(src_t._data, "copy_()", ops.Copy)
        if grad_mode.dual_level:
            _fw_written(self, src_t)
        return self

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        self._refuse_partial_overlap((min, max), "clamp_()")
        view = self._view_of is not None
        if view:
            self._view_before_write("clamp_()")
        track = grad_mode.enabled and builtins.any(
            isinstance(t, Tensor) and t._requires_grad for t in (self, min, max)
        )
        if track:
            self._check_inplace("clamp_()")
            # Clamp saves its input for backward, and the write below overwrites it: give it a
            # copy from before the write (PyTorch's original self), as _inplace does.
            before = Tensor._make(self._data.copy(), self.grad_fn, self._requires_grad)
            if grad_mode.dual_level:
                _fw_carry(self, before)
            out = before.clamp(min, max)
        else:
            with grad_mode.no_grad():
                out = self.clamp(min, max)
        # As PyTorch, the result must fit self: no broadcasting to the bounds' bigger shape,
        # and a float result can't go into an integer tensor.
        return self._write_back(out, "clamp_()", track, view)

    def _float_fill(self, kernel: str) -> None:
        """The continuous random fills have floating point kernels only, as PyTorch's: an
        integer or bool tensor raises (its values would have come out truncated, or as 1)."""
        if self._data.dtype.kind != "f":
            raise DtypeNotImplementedError(
                f'"{kernel}" not implemented for {_dtype.scalar_type_name(self._data.dtype)!r}'
            )

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
        """Fill with uniform numbers on [a, b): PyTorch's for the same seed."""
        from . import _rng

        self._float_fill("check_uniform_bounds")
        if not a <= b:
            raise RuntimeError(
                f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}"
            )
        limit = float(np.finfo(self._data.dtype).max)
        if not (-limit <= a <= limit and -limit <= b <= limit):
            raise RuntimeError(
                f"{'from' if not -limit <= a <= limit else 'to'} is out of bounds for "
                f"{_dtype.scalar_type_name(self._data.dtype).lower()}"
            )
        gen, dt = _rng._gen(generator), self._data.dtype
        values = _rng.fill_in_memory_order(
            self._data, lambda shape, _: _rng.uniform(gen, shape, dt, a, b)
        )
        return self._overwrite(values, "uniform_()", ops.Uniform)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
        """Fill with normal numbers: PyTorch's for the same seed (float32 within a few ulp)."""
        from . import _rng

        self._float_fill("normal_kernel_cpu")
        if std < 0:
            raise RuntimeError(f"normal_(): expected std >= 0.0, got std={std}")
        gen, dt = _rng._gen(generator), self._data.dtype
        values = _rng.fill_in_memory_order(
            self._data, lambda shape, contiguous: _rng.normal(gen, shape, dt, mean, std, contiguous)
        )
        return self._overwrite(values, "normal_()", ops.Normal)

    def exponential_(self, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
        """Fill with Exponential(lambd) numbers: PyTorch's for the same seed."""
        from . import _rng

        if self._data.dtype.kind != "f":
            raise RuntimeError(
                "Exponential distribution is a continuous probability distribution. dtype must "
                f"be a floating point but you specified {_dtype.scalar_type_name(self._data.dtype)}"
            )
        if not lambd > 0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
        gen, dt = _rng._gen(generator), self._data.dtype
        values = _rng.fill_in_memory_order(
            self._data, lambda shape, _: _rng.exponential(gen, shape, dt, lambd)
        )
        return self._overwrite(values, "exponential_()")

    def cauchy_(self, median: float = 0, sigma: float = 1, *, generator: Any = None) -> Tensor:
        """Fill with Cauchy(median, sigma) numbers: PyTorch's for the same seed."""
        from . import _rng

        if self._data.dtype.kind != "f":
            raise RuntimeError(
                "Cauchy distribution is a continuous probability distribution. dtype must be a "
                f"floating point but you specified {dtype_name(self._data.dtype)}"
            )
        if not sigma > 0:
            raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
        gen, dt = _rng._gen(generator), self._data.dtype
        values = _rng.fill_in_memory_order(
            self._data, lambda shape, _: _rng.cauchy(gen, shape, dt, median, sigma)
        )
        return self._overwrite(values, "cauchy_()")

    def geometric_(self, p: float, *, generator: Any = None) -> Tensor:
        """Fill with Geometric(p) numbers (1, 2, ...: trials to the first success)."""
        from . import _rng

        if not 0 < p < 1:
            raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
        gen, dt = _rng._gen(generator), self._data.dtype
        values = _rng.fill_in_memory_order(
            self._data, lambda shape, _: _rng.geometric(gen, shape, dt, p)
        )
        return self._overwrite(values, "geometric_()")

    def log_normal_(self, mean: float = 1, std: float = 2, *, generator: Any = None) -> Tensor:
        """Fill with exp(Normal(mean, std)) numbers: PyTorch's for the same seed."""
        from . import _rng

        self._float_fill("log_normal_cpu")
        if not std > 0:
            raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
        gen, dt = _rng._gen(generator), self._data.dtype
        values = _rng.fill_in_memory_order(
            self._data, lambda shape, _: _rng.log_normal(gen, shape, dt, mean, std)
        )
        return self._overwrite(values, "log_normal_()")

    def bernoulli_(self, p: Any = 0.5, *, generator: Any = None) -> Tensor:
        """Fill with 1 (probability p) or 0; p a number or a tensor of probabilities that
        broadcasts to this shape. PyTorch's draws for the same seed."""
        from . import _rng

        if isinstance(p, Tensor):
            probs = p._data
            if np.any((probs < 0) | (probs > 1)):
                raise RuntimeError("bernoulli_: the probabilities p must be in [0, 1]")
            values = _rng.bernoulli_along(_rng._gen(generator), self._data, probs)
        else:
            if not 0 <= p <= 1:
                raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
            gen = _rng._gen(generator)
            values = _rng.fill_in_memory_order(
                self._data, lambda shape, _: _rng.bernoulli(gen, shape, p)
            )
        return self._overwrite(values.astype(self._data.dtype), "bernoulli_()")

    def bernoulli(self, p: Any = None, *, generator: Any = None) -> Tensor:
        """0/1 draws in this tensor's shape and dtype, with this tensor's values as the
        probabilities (or the number p)."""
        # (contiguous whatever self's layout, as PyTorch's: its result is a contiguous empty)
        out = Tensor._make(np.empty(self._data.shape, self._data.dtype), None, False)
        out = out.bernoulli_(self if p is None else p, generator=generator)
        if p is None and self._requires_grad and grad_mode.enabled:
            # piecewise constant in the probabilities: PyTorch's result stays in the graph
            # with a zero gradient (BernoulliBackward0), as poisson's
            out = _fused(ops._linked(out._data, self), "BernoulliBackward0", self)
        return out

    def random_(self, *args: Any, generator: Any = None, **kwargs: Any) -> Tensor:
        """Fill with random integers, PyTorch's numbers for the same seed: random_() in [0, the
        dtype's largest integer] (2**24 for float32, 2**53 for float64), random_(to) in
        [0, to), random_(from, to) in [from, to), random_(from, None) in [from, largest]
        (``from`` may be given by keyword, as PyTorch's ``from=``)."""
        from . import _rng

        if len(args) > 2 or set(kwargs) - {"from", "to"}:
            raise TypeError(
                "random_(): takes (to), (from, to) or (from=..., to=...), "
                f"got {len(args)} positional and {sorted(kwargs)}"
            )
        bounds = dict(
            zip(("from", "to"), args if len(args) != 1 else (None, args[0]), strict=False)
        )
        for k, v in kwargs.items():
            if k in bounds:
                raise TypeError(f"random_(): got multiple values for argument '{k}'")
            bounds[k] = v
        gen, dt = _rng._gen(generator), self._data.dtype
        low, high = bounds.get("from"), bounds.get("to")
        if low is None and high is None and "from" not in bounds:
            values = _rng.fill_in_memory_order(
                self._data, lambda shape, _: _rng.random_full(gen, shape, dt)
            )
            return self._overwrite(values.astype(dt), "random_()")
        low = 0 if low is None else builtins.int(low)
        # (random_(from, None): up to the dtype's largest integer, included)
        high = _rng.largest_integer(dt) + 1 if high is None else builtins.int(high)
        if high <= low:
            raise RuntimeError(f"random_(): expected from < to, got from={low} and to={high}")
        _rng.check_int_range(low, high, dt, "random_()")
        values = _rng.fill_in_memory_order(
            self._data, lambda shape, _: _rng.integers(gen, shape, low, high)
        )
        return self._overwrite(values.astype(dt), "random_()")

    # -- autograd ------------------------------------------------------------------------
    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """Compute gradients of this tensor w.r.t. the leaves and add them into their `.grad`.

        create_graph=True: the gradients get graphs of their own, so they can be
        differentiated again (retain_graph then defaults to True). inputs: only these
        tensors get their `.grad` filled in.
        """
        engine.backward(self, gradient, retain_graph, builtins.bool(create_graph), inputs)

    def register_hook(self, hook: Any) -> Any:
        """Call `hook(grad)` each time the gradient of this tensor is computed; if it
        returns a Tensor, that replaces the gradient. Returns a handle with `.remove()`."""
        return engine.register_hook(self, hook)


# -- helpers behind the operators ------------------------------------------------------


class Device(str):
    """tinyconv.device('cpu'). Other device names can be *named*, as in PyTorch
    (`torch.device('cuda').index` is None on any machine), but a tensor or module
    can only live on the CPU: `.to('cuda')` raises."""

    def __new__(cls, kind: Any = "cpu", index: Any = None) -> Device:  # noqa: PYI034
        kind = str(kind)
        name, _, idx = kind.partition(":")
        if name not in _DEVICE_TYPES:
            raise RuntimeError(
                f"device(): expected a device type such as 'cpu' or 'cuda', got {kind!r}"
            )
        if idx:
            if index is not None or not idx.isdigit():
                raise RuntimeError(f"device(): invalid device string {kind!r}")
            index = builtins.int(idx)
        self = super().__new__(cls, name if index is None else f"{name}:{index}")
        self._index = index
        return self

    @property
    def type(self) -> str:
        # (a plain str: partition of a str subclass without ":" returns the object itself)
        return builtins.str.__str__(self).partition(":")[0]

    @property
    def index(self) -> Any:
        return self._index

    def __repr__(self) -> str:
        # PyTorch's: what print shows for a device inside a list, tuple or dict
        if self._index is None:
            return f"device(type={self.type!r})"
        return f"device(type={self.type!r}, index={self._index})"

    def __enter__(self) -> Device:
        """``with torch.device('cpu'):`` (PyTorch's default device for the block): the CPU is
        tinyconv's one device, so nothing changes; another device raises here."""
        _check_device(self, "with device(...)")
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __reduce__(self) -> tuple:
        return (Device, (str(self),))


_new_object = object.__new__
_ndarray = np.ndarray


def make_tensor(data: np.ndarray, grad_fn: Any, requires_grad: bool) -> Tensor:
    """The fast internal constructor (also `Tensor._make`): wrap an array with no checks
    and no copy.

    The one place every op's result passes through, so it is where the engine's
    invariant is kept: `_data` is always an np.ndarray, 0-d included. NumPy gives
    a scalar (np.float32, ...) for many 0-d results; a scalar has no item
    assignment, no views, and a different promotion rule, so it is wrapped here.
    A module-level function: the engine calls it for every op, and a classmethod
    call costs a bound-method object each time (this call takes ~20% less).
    """
    if data.__class__ is not _ndarray:
        data = np.asarray(data)
    t = _new_object(Tensor)
    t._data = data
    t._requires_grad = requires_grad
    t._grad_fn = grad_fn
    t._grad = None
    t._vc = [0]
    t._view_of = None
    if grad_mode._inference_ever and grad_mode._inference:  # (see grad_mode.inference_mode)
        grad_mode.mark_inference(t)
    return t


Tensor._make = staticmethod(make_tensor)  # (the name the rest of tinyconv uses)

# print(type(x)) shows <class 'tinyconv.Tensor'>, as PyTorch's <class 'torch.Tensor'> (the
# public names; pickle finds both there too)
Tensor.__module__ = Size.__module__ = "tinyconv"

for _name in NUMPY_NAMED:  # (axis= and keepdims= accepted, as PyTorch's methods do)
    if hasattr(Tensor, _name):
        setattr(Tensor, _name, numpy_names(getattr(Tensor, _name)))


def _rebuild(data: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor._make(data, None, requires_grad)


def _to_array(data: Any, dtype: np.dtype | None, what: str) -> np.ndarray:
    """Copy `data` (nested lists, numbers, arrays, tensors) into a new array."""
    if isinstance(data, Tensor):
        arr = data._data
    else:
        if isinstance(data, (list, tuple)) and _holds_tensor(data):
            data = _tensors_as_numbers(data)
        try:
            arr = np.array(data)
        except ValueError:
            raise TensorValueError(
                f"{what}: data must be a rectangular nested list, but it is ragged: {_ragged(data)}"
            ) from None
        if arr.dtype == object and arr.size and all(type(v) is int for v in arr.flat):
            # Python ints past 64 bits (NumPy keeps them as objects): PyTorch's ValueError
            raise TensorValueError(f"{what}: Overflow when unpacking long long")
        if arr.dtype == object or arr.dtype.kind in "USV":
            raise TypeError(
                f"{what}: can't make a tensor from {type(data).__name__} data of dtype {arr.dtype}"
            )
        if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
            # Python floats become the default float dtype; ints int64; bools bool.
            # (With dtype= given, the Python numbers go straight to it: no float32 rounding.)
            # (Arrays and NumPy scalars keep their dtype, as in PyTorch.)
            typed = _list_dtype(data) if isinstance(data, (list, tuple)) else None
            if typed is not None:
                arr = arr.astype(typed)
            elif arr.dtype.kind == "f":
                arr = arr.astype(_dtype.get_default_dtype())
            elif arr.dtype.kind in "iu":
                if arr.dtype == np.uint64 and arr.max() > np.iinfo(np.int64).max:
                    # Python ints past int64 (NumPy made them uint64): PyTorch refuses them
                    raise TensorValueError(
                        f"{what}: the integer {arr.max()} does not fit int64 (overflow)"
                    )
                arr = arr.astype(np.int64)
        if dtype is not None and not isinstance(data, np.ndarray):
            # numbers from Python (or NumPy scalars): PyTorch checks they fit (arrays wrap)
            _dtype.check_numbers_fit(arr, dtype, what)
    if dtype is not None:
        return np.array(arr, dtype=dtype, copy=True)
    return np.array(arr, dtype=as_dtype(arr.dtype), copy=True)


def _holds_tensor(data: list | tuple) -> bool:
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            return True
        if isinstance(x, (list, tuple)):
            stack.extend(x)
    return False


def _tensors_as_numbers(data: Any) -> Any:
    """The nested list with each Tensor in it read as a number, as PyTorch reads one: a
    one-element tensor of any shape is its value (a 0-d array: its dtype still counts), a
    longer one raises ValueError (NumPy would have nested its dims into the result)."""
    if isinstance(data, (list, tuple)):
        return [_tensors_as_numbers(x) for x in data]
    if isinstance(data, Tensor):
        if data._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return data._data.reshape(())
    return data


def _list_dtype(data: Any) -> np.dtype | None:
    """PyTorch's dtype for a nested list that holds NumPy scalars or arrays or tensors (None if
    it holds only Python numbers): each of those keeps its dtype, Python numbers count as bool,
    int64 or the default float, and all are promoted together by category
    (tensor([np.float64(1.5), 2.0]) is float64, tensor([np.float16(1), 2.5]) float32)."""
    typed: list = []
    py: set = set()
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, Tensor):
            typed.append(x._data.dtype)
        elif isinstance(x, (np.ndarray, np.generic)):
            typed.append(x.dtype)
        else:
            py.add(type(x))
    if not typed:
        return None
    for d in set(typed):  # (a complex NumPy scalar: the TypeError of one alone, not KeyError)
        _dtype.as_dtype(d)
    py_dtypes = {
        builtins.bool: np.dtype(np.bool_),
        builtins.int: np.dtype(np.int64),
        builtins.float: _dtype.get_default_dtype(),
    }
    return _dtype.promote_types(*typed, *(py_dtypes[t] for t in py if t in py_dtypes))


def _ragged(data: Any, path: str = "data") -> str:
    """Where a nested list stops being rectangular, e.g. 'data[1] is of length 1 but data[0] is
    of length 2'."""
    if not isinstance(data, (list, tuple)):
        return "its elements have inconsistent shapes"
    shapes = []
    for i, x in enumerate(data):
        try:
            shapes.append(np.shape(x) if isinstance(x, (list, tuple, np.ndarray, Tensor)) else ())
        except ValueError:  # x is ragged itself
            return _ragged(x, f"{path}[{i}]")

    def what(sh: tuple) -> str:
        return f"of shape {sh}" if len(sh) > 1 else f"of length {sh[0]}" if sh else "a number"

    for i, sh in enumerate(shapes):
        if sh != shapes[0]:
            return f"{path}[{i}] is {what(sh)} but {path}[0] is {what(shapes[0])}"
    return "its elements have inconsistent shapes"


def _current(t: Any) -> None:
    """Make a view's history current (its root may have changed in place since it was made)."""
    if isinstance(t, Tensor) and t._view_of is not None and t._gv != t._vc[0]:
        t._refresh_view()


def _joins_graph(t: Any) -> bool:
    """A view that does not require grad yet, but will once made current (its root joined
    the graph in place since): the untracked fast paths must not skip it."""
    if isinstance(t, Tensor) and t._view_of is not None and t._gv != t._vc[0]:
        t._refresh_view()
        return t._requires_grad
    return False


def _multi_output_views(views: list, name: str) -> tuple:
    """Flag the views of split/chunk/unbind: PyTorch refuses in-place ops on them (with grad);
    their nodes show PyTorch's one node's name (`name`: SplitBackward0, ...)."""
    for i, v in enumerate(views):
        if v._grad_fn is not None:
            v._grad_fn.torch_name = name
            v._grad_fn._output_nr = i
        if v._view_of is not None:
            root, steps, flags = v._view_of
            v._view_of = (root, steps, flags | _VIEW_MULTI)
    return tuple(views)


def _record_set_index(t: Tensor, idx: Any, value: Any) -> None:
    """Make `t`'s graph say `t[idx] = value` (after the write): the SetIndex node."""
    node = ops.SetIndex.__new__(ops.SetIndex)
    node.index = idx
    node._out_meta = (t._data.shape, t._data.dtype)
    node.value_meta = (
        (value._data.shape, value._data.dtype) if isinstance(value, Tensor) else ((), None)
    )
    v_req = isinstance(value, Tensor) and value._requires_grad
    node.needs_input_grad = (t._requires_grad, v_req)
    node.edges = (
        (t._grad_fn or t) if t._requires_grad else None,
        (value._grad_fn or value) if v_req else None,
    )
    _move_retained(t, node)
    t.grad_fn = node
    t._requires_grad = True


def _as_tensor(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._make(x, None, False)
    return Tensor._make(_to_array(x, None, "operand"), None, False)


def _as_tensor_of(x: Any, dtype: np.dtype) -> Tensor:
    """x as a Tensor of ``dtype``: a number is made in ``dtype`` directly (a Python float keeps
    its double value in float64, where a float32 0-d tensor would round it first)."""
    if isinstance(x, Tensor):
        return x if x._data.dtype == dtype else x.to(dtype)
    if type(x) is builtins.int:
        _dtype.check_py_int(x)
    if isinstance(x, (builtins.int, builtins.float, np.number)):
        return Tensor._make(np.asarray(x, dtype=dtype), None, False)
    t = _as_tensor(x)
    return t if t._data.dtype == dtype else t.to(dtype)


def _fused_alpha(self: Tensor, other: Any, alpha: Any) -> bool:
    """Does add/sub(self, other, alpha) take PyTorch's one-kernel a + alpha * b (float32 with
    one rounding, float16 in float32 with alpha rounded to float16)? For two tensors of a
    float result; integer and bool ones keep other * alpha (it wraps as PyTorch's)."""
    return (
        alpha != 1
        and isinstance(other, Tensor)
        and result_type(self._data, other._data).kind == "f"
    )


def _scaled(self: Tensor, other: Any, alpha: Any) -> Any:
    """alpha * other in the dtype of self op other, as PyTorch's add/sub compute it: alpha
    takes no part in the promotion (int32 + 2 * bool stays int32, bool + 2 * bool is bool)."""
    if alpha == 1:
        return other
    if type(other) is builtins.bool and self._data.dtype.kind == "b":
        return builtins.bool(other and alpha)
    od = other._data.dtype if isinstance(other, Tensor) else None
    if od is not None and (od != self._data.dtype or od.kind == "b"):
        dt = result_type(self._data, other._data)
        if dt.kind == "b":  # (alpha is cast to bool: other itself, or nothing)
            return other if alpha else other & False
        if other._data.dtype != dt:
            other = other.to(dt)
    return other * alpha


def _whole_index(items: tuple, shape: tuple) -> bool:
    """Does a basic index select all of a tensor, with no new dim (PyTorch skips whole slices
    in an index, a lone one too when writing)?"""
    if any(type(it) is bool for it in items):
        return False  # (x[True] = v writes into x[None])
    return ops._index_name(tuple(items) + (Ellipsis,), shape) == "AliasBackward0"


_warned_float_of_grad = False


def _warn_float_of_grad() -> None:
    """PyTorch's warning, once a process, when float() (or '%f' % t) reads a tensor that
    requires grad (.item() and f-strings stay quiet, as there)."""
    global _warned_float_of_grad
    _warned_float_of_grad = True
    warnings.warn(
        "Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
        "behavior.\nConsider using tensor.detach() first.",
        UserWarning,
        stacklevel=3,
    )


def _tensor_other(other: Any, what: str) -> Tensor:
    """`other` of an op PyTorch has no number overload for (maximum, atan2): a Tensor, else
    PyTorch's TypeError (use clamp for a number bound)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"{what}: argument 'other' must be Tensor, not {type(other).__name__}")
    return other


def _as_number(t: Tensor) -> bool:
    """Does PyTorch's argument parser accept t where a number is expected (0-d, no grad)?"""
    return t._data.ndim == 0 and not t._requires_grad


def _operand(x: Any) -> Any:
    """The other operand of a binary op: a Tensor, a Python scalar, or a Tensor made from an
    ndarray. A list or tuple is refused, as PyTorch refuses it (`t + [1, 2]` is a TypeError)."""
    if isinstance(x, Tensor) or type(x) in (builtins.float, builtins.bool):
        return x
    if type(x) is builtins.int:
        _dtype.check_py_int(x)
        return x
    if isinstance(x, _Number):
        return x.item()
    if isinstance(x, np.ndarray):
        return _as_tensor(x)
    raise TypeError(f"unsupported operand of type {type(x).__name__} for a tensor operation")


def _wrap_int(b: Any, dtype: np.dtype) -> Any:
    """A Python int outside an integer dtype's range becomes that dtype's wrapped value, as
    PyTorch casts it (uint8 + -1 is uint8 + 255); NumPy would raise OverflowError."""
    if type(b) is builtins.int and dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not info.min <= b <= info.max:
            bits = 8 * dtype.itemsize
            b %= 1 << bits  # two's complement, as a C cast does
            if dtype.kind == "i" and b >= 1 << (bits - 1):
                b -= 1 << bits
    return b


_PY_NUMBER = frozenset((builtins.float, builtins.int))  # (not bool: refused or promoted)


def _binary(op: Any, a: Tensor, other: Any, reflected: bool = False, alpha: Any = 1) -> Tensor:
    """Run op(a, other) (or op(other, a)) with PyTorch's broadcasting and promotion; `alpha`:
    add/sub's a +- alpha * other, one kernel (other a tensor)."""
    ad = a._data
    if isinstance(other, Tensor):
        bd = other._data
        adt = ad.dtype
        if adt.kind == "f" and (bd.dtype is adt or bd.dtype == adt):
            # Two tensors of one float dtype (every op of a training step): the path below
            # with its tests for promotion, integer wrapping, division of integers and bool
            # operands skipped, none of which can apply (with function.apply_binary: a + b with
            # grad 2.5 -> 1.6 us)
            if ad.shape != bd.shape:
                _check_broadcast(op, a, other, reflected)
            if (
                alpha == 1
                and op.ufunc is not None
                and not (reflected and op is ops.Div)
                and function.profiler is None
                and not grad_mode.dual_level
                and not (
                    _gm_state.enabled
                    and (
                        a._requires_grad
                        or other._requires_grad
                        or _joins_graph(a)
                        or _joins_graph(other)
                    )
                )
            ):
                token = _quiet()  # (nothing to record: the op's ufunc, as below)
                try:
                    if reflected:
                        return make_tensor(like_operands(op.ufunc(bd, ad), bd, ad), None, False)
                    return make_tensor(like_operands(op.ufunc(ad, bd), ad, bd), None, False)
                finally:
                    _restore(token)
            # (Function.apply's steps for two tensors, without its generic machinery)
            if reflected:
                return function.apply_binary(op, other, a)
            if alpha != 1:
                return op.apply(a, other, None, alpha)
            return function.apply_binary(op, a, other)
    elif type(other) in _PY_NUMBER and ad.dtype.kind == "f":  # (alpha: tensors only)
        # A float tensor and a Python number (an optimiser's `lr * p.grad`, a loss's
        # `(y - t) ** 2`): the path below's answer with its checks skipped, none of which can
        # apply (no promotion, no int wrapping, no bool refusal); nothing to record 2.0 -> 1.6
        # us a call, recorded (through function.apply_binary) x ** 2 3.7 -> 3.0 us
        if type(other) is builtins.int:
            _dtype.check_py_int(other)
        if ad.dtype is _F16 and _half_wide(op, reflected):
            return _half_and_number(op, a, other, reflected)
        if (
            op.ufunc is not None
            and function.profiler is None
            and not grad_mode.dual_level
            and not (reflected and op is ops.Div)
            and not (_gm_state.enabled and (a._requires_grad or _joins_graph(a)))
        ):
            token = _quiet()  # x / 0 is inf, inf - inf nan, quietly, as every op (ieee.py)
            try:
                return make_tensor(
                    op.ufunc(other, ad) if reflected else op.ufunc(ad, other), None, False
                )
            finally:
                _restore(token)
        return op.apply(other, a, None) if reflected else function.apply_binary(op, a, other)
    b = other if isinstance(other, Tensor) else _operand(other)
    if op is not ops.Div and type(b) is builtins.int:
        # (true division is done in floats: uint8 / -2 is -2, not 254)
        b = _wrap_int(b, ad.dtype)
    if isinstance(b, Tensor):
        bd = b._data
        dtype = None if ad.dtype == bd.dtype else result_type(ad, bd)
        if ad.shape != bd.shape:
            _check_broadcast(op, a, b, reflected)
    else:
        # A Python scalar keeps a's dtype unless its category is higher (1.5 * int tensor ->
        # float32).
        kind = ad.dtype.kind
        dtype = None
        if (type(b) is builtins.float and kind != "f") or (type(b) is builtins.int and kind == "b"):
            dtype = result_type(ad, b)
        elif ad.dtype is _F16 and type(b) in _PY_NUMBER and _half_wide(op, reflected):
            return _half_and_number(op, a, b, reflected)
    if op is ops.Div:  # true division of integers gives the default float dtype
        res = dtype if dtype is not None else ad.dtype
        if res.kind != "f":
            dtype = _dtype.get_default_dtype()
    elif op in _NO_BOOL and not (
        dtype is None and ad.dtype.kind == "f" and type(b) is not builtins.bool
    ):  # (a float result of float operands is never refused: skip the call)
        _refuse_bool(op, a, b, dtype, reflected)
    if (
        dtype is None
        and alpha == 1
        and op.ufunc is not None
        and not (reflected and op is ops.Div)
        and function.profiler is None  # (a recording profile times every op: through apply)
        and not grad_mode.dual_level
        and not (
            _gm_state.enabled
            and (
                a._requires_grad
                or (isinstance(b, Tensor) and b._requires_grad)
                or _joins_graph(a)
                or _joins_graph(b)
            )
        )
    ):
        # Nothing to record (no_grad, or no input needs a gradient) and no dtype to force:
        # the op's forward would only call its ufunc, so call it here and skip making a
        # graph node (~1 us; an optimiser's update under no_grad is all such ops).
        bd = b._data if isinstance(b, Tensor) else b
        token = _quiet()  # x / 0 is inf, inf - inf nan, quietly, as every op (ieee.py)
        try:
            if op is ops.Div:
                return Tensor._make(like_operands(np.true_divide(ad, bd), ad, bd), None, False)
            if reflected:
                return Tensor._make(like_operands(op.ufunc(bd, ad), bd, ad), None, False)
            return Tensor._make(like_operands(op.ufunc(ad, bd), ad, bd), None, False)
        finally:
            _restore(token)
    if reflected:
        return op.apply(b, a, dtype)
    return op.apply(a, b, dtype) if alpha == 1 else op.apply(a, b, dtype, alpha)


def _check_broadcast(op: Any, a: Tensor, b: Tensor, reflected: bool) -> None:
    """The error of an op of two tensors whose shapes do not broadcast together."""
    try:
        np.broadcast_shapes(a._data.shape, b._data.shape)
    except ValueError:
        first, second = (b, a) if reflected else (a, b)
        raise TensorValueError(
            f"{op.__name__.lower()}: shapes {tuple(first.shape)} and {tuple(second.shape)} "
            "can't be broadcast together"
        ) from None


_F16 = np.dtype(np.float16)


def _half_wide(op: Any, reflected: bool) -> bool:
    """Does PyTorch's CPU kernel use the Python number unrounded with a float16 tensor? Its mul
    (either side) and its divisions do (in float32, the "opmath" type of half); add and sub
    round the number to float16 first."""
    return op is ops.Mul or op is ops.Div


def _half_and_number(op: Any, a: Tensor, number: Any, reflected: bool) -> Tensor:
    """x * number, number * x, x / number or number / x for a float16 x, as PyTorch computes
    them: in float32 with the number rounded to float32 (not to float16), the result rounded
    once. With the number rounded to float16 first, x * 0.1 was an ulp off in a third of the
    elements, x / 1e5 gave 0 and x * 1e5 inf (float16(1e5) is inf)."""
    if op is ops.Div and reflected:  # number / x is PyTorch's x.reciprocal() * number
        out = _binary(ops.Mul, a.reciprocal().float(), number)
    else:
        out = _binary(op, a.float(), number, reflected)
    if out._data.dtype != np.float32:  # (a float64 or integer result: nothing to round)
        return out
    res = out.to(_F16)
    if res._grad_fn is not None:  # PyTorch's node is the op's own (MulBackward0, ...)
        res._grad_fn.torch_name = out._grad_fn.torch_name
    return res


def _rounded_div_op(rounding_mode: Any) -> Any:
    if rounding_mode == "floor":
        return ops.RoundedDivide
    if rounding_mode == "trunc":
        return ops.TruncDivide
    raise RuntimeError(
        f"div(): expected rounding_mode to be None, 'trunc' or 'floor', got {rounding_mode!r}"
    )


def _refuse_bool(op: Any, a: Tensor, b: Any, dtype: Any, reflected: bool = False) -> None:
    """PyTorch refuses `-` with any bool operand, and %, // and ** of bools alone (NumPy would
    compute them in int8), except bool tensor ** a Python bool; clamp of a bool tensor by
    Python bools."""
    if op is ops.Sub:
        if (
            a._data.dtype.kind == "b"
            or type(b) is builtins.bool
            or (isinstance(b, Tensor) and b._data.dtype.kind == "b")
        ):
            raise DtypeNotImplementedError(
                "subtraction (-) with a bool tensor or bool is not supported (as in PyTorch); "
                "to invert a mask use ~ or logical_not()"
            )
        return
    res = dtype if dtype is not None else a._data.dtype
    if res.kind == "b" and not (op is ops.Pow and type(b) is builtins.bool and not reflected):
        raise DtypeNotImplementedError(
            f"{_NO_BOOL[op]} is not implemented for bool tensors (as in PyTorch); convert "
            "them with .long() or .float() first"
        )


def _number_arg(value: Any, what: str, name: str) -> Any:
    """An argument PyTorch types as a Number (alpha, value, fill_value): a 0-d tensor counts as
    its Python number, any other tensor is refused with PyTorch's TypeError."""
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise TypeError(f"{what}: argument '{name}' must be Number, not Tensor")
        return value._data.item()
    _dtype.check_py_int(value)
    return value


def _check_alpha(a: Tensor, other: Any, alpha: Any, what: str) -> None:
    """PyTorch refuses a float alpha when the result is an integer tensor (other * 2.5 would
    quietly make it a float one) and a bool alpha unless the result is bool."""
    if alpha == 1 and type(alpha) is builtins.int:
        return
    od = other._data.dtype if isinstance(other, Tensor) else np.asarray(other).dtype
    kinds = {a._data.dtype.kind, od.kind}
    integral = "f" not in kinds and "c" not in kinds
    if integral and isinstance(alpha, (builtins.float, np.floating)):
        raise RuntimeError(
            f"{what}: for integer tensors alpha must not be a floating point number, got {alpha}"
        )
    if isinstance(alpha, (builtins.bool, np.bool_)) and kinds != {"b"}:
        raise RuntimeError(f"{what}: a bool alpha is only supported for bool results")
    # ...and alpha must fit the result's dtype (add(u8, u8, alpha=300) raises, -2 wraps)
    dt = result_type(a._data, other._data if isinstance(other, Tensor) else other)
    _dtype.fit_number(alpha, dt, what, int_to_float=True)


def _comparable(x: Any) -> bool:
    """Whether == and != compare elementwise with x (else Python's identity fallback, as
    PyTorch's: `t == [1.0, 2.0]` is False there too)."""
    return isinstance(x, (Tensor, _Number, np.ndarray))


def _compare(fn: Any, a: Tensor, other: Any) -> Tensor:
    b = _wrap_int(_operand(other), a._data.dtype)
    bd = b._data if isinstance(b, Tensor) else b
    ad = a._data
    if type(bd) is builtins.float and ad.dtype.kind in "biu":
        # an integer tensor and a Python float compare in the default float dtype, as
        # PyTorch promotes them (tensor([3]) == 3.0000001 is True in float32)
        dt = _dtype.get_default_dtype()
        ad, bd = ad.astype(dt), dt.type(bd)
    elif isinstance(bd, np.ndarray) and bd.dtype != ad.dtype:
        # compare in PyTorch's promoted dtype: float32 == a 0-d float64 0.1 rounds 0.1 to float32
        dt = result_type(ad, bd)
        ad, bd = ad.astype(dt, copy=False), bd.astype(dt, copy=False)
    try:
        return Tensor._make(like_operands(fn(ad, bd), ad, bd), None, False)
    except ValueError:
        raise TensorValueError(
            f"comparison: shapes {tuple(a.shape)} and {np.shape(bd)} can't be broadcast together"
        ) from None


def _logical(fn: Any, a: Tensor, other: Any, sym: str) -> Tensor:
    b = _operand(other)
    bd = b._data if isinstance(b, Tensor) else b
    if a._data.dtype.kind not in "biu" or np.asarray(bd).dtype.kind not in "biu":
        raise DtypeNotImplementedError(f"'{sym}' is only defined for bool and integer tensors")
    dt = result_type(a._data, bd)  # PyTorch's promotion: int32 | a 0-d int64 stays int32
    if dt == np.bool_ and sym in ("<<", ">>"):
        raise DtypeNotImplementedError(f"'{sym}' is not implemented for bool tensors")
    ad = a._data if a._data.dtype == dt else a._data.astype(dt)
    if isinstance(bd, np.ndarray) and bd.dtype != dt:
        bd = bd.astype(dt)
    elif isinstance(bd, int) and not isinstance(bd, bool):
        # PyTorch casts a Python int to the tensor's dtype, wrapping (uint8 & -1 is & 255,
        # uint8 << -1 a shift by 255: 0); NumPy 2 raises OverflowError instead
        bd = np.array(bd).astype(dt)
    try:
        return Tensor._make(fn(ad, bd), None, False)
    except ValueError:  # NumPy's broadcast error is no RuntimeError; PyTorch's is
        raise TensorValueError(
            f"'{sym}': shapes {tuple(a.shape)} and {np.shape(bd)} can't be broadcast together"
        ) from None


def _arg(fn: Any, x: Tensor, dim: Any, keepdim: bool, what: str) -> Tensor:
    if x._data.dtype == np.bool_:  # (PyTorch's kernel has no bool version)
        raise RuntimeError(f"{what}: does not support bool input")
    if dim is None and x._data.size == 0:
        raise IndexOutOfRange(
            f"{what}: the tensor is empty (shape {tuple(x.shape)}); give a dim "
            "of non-zero size to reduce over"
        )
    if dim is not None:
        _check_reduce_empty(x._data, _dim(dim, x._data.ndim, what) if x._data.ndim else (), what)
    if dim is None:
        out = np.asarray(fn(x._data))
        if keepdim:
            out = out.reshape((1,) * x._data.ndim)
    else:
        data = x._data if x._data.ndim else x._data.reshape(1)
        out = fn(data, axis=_dim(dim, x._data.ndim, what), keepdims=keepdim)
        if not x._data.ndim:
            out = out.reshape(())
    return Tensor._make(np.asarray(out, dtype=np.int64), None, False)


def _variadic(args: tuple, kw: dict, keyword: str, what: str) -> tuple:
    """The sizes or dims of a method that takes them as ``*args`` (``x.view(2, 3)``,
    ``x.view((2, 3))``), given instead as PyTorch's keyword (``x.view(size=(2, 3))``,
    ``x.flip(dims=[0])``); a TypeError when there are none, as PyTorch's."""
    if kw:
        unknown = sorted(set(kw) - {keyword})
        if unknown:
            raise TypeError(f"{what}(): got an unexpected keyword argument '{unknown[0]}'")
        if args:
            raise TypeError(f"{what}(): got multiple values for argument '{keyword}'")
        return (kw[keyword],)
    if not args:
        raise TypeError(
            f"{what}(): missing 1 required positional argument: '{keyword}' (give it spread "
            f"out, {what}(2, 3), as a sequence, {what}((2, 3)), or as {keyword}=)"
        )
    return args


def _softmax(op: Any, x: Tensor, dim: Any, dtype: Any, what: str) -> Tensor:
    """softmax/log_softmax of x along dim (op is ops.Softmax or ops.LogSoftmax); an engine op
    because Tensor.softmax needs it, and F.softmax checks its input then calls this."""
    x = x if dtype is None else x.to(dtype)
    if x.dtype.kind != "f" and x._data.size == 0 and x.ndim:  # (PyTorch: nothing to compute)
        _dim(0 if dim is None else dim, x.ndim, what)
        return x.clone()
    if x.dtype.kind != "f":
        raise DtypeNotImplementedError(
            f"{what}: input must be a floating point tensor, got {dtype_name(x.dtype)}"
        )
    if dim is None:  # PyTorch's legacy choice when dim is omitted
        dim = 0 if x.ndim in (0, 1, 3) else 1
    if x.ndim == 0:  # a 0-d tensor is one slice of one element: as a 1-element vector
        _dim(dim, 0, what)
        return op.apply(x.reshape(1), 0).reshape(())
    return op.apply(x, _dim(dim, x.ndim, what))


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with NumPy/PyTorch broadcasting rules; shapes `(..., n, k) @ (..., k, m)`."""
    a, b = _as_tensor(a), _as_tensor(b)
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise TensorValueError(
            f"matmul: both arguments need at least 1 dimension, got shapes {sa} and {sb}"
        )
    k_a = sa[-1]
    k_b = sb[-2] if len(sb) > 1 else sb[0]
    if k_a != k_b:
        raise TensorValueError(
            f"matmul: shapes {tuple(sa)} and {tuple(sb)} don't match: the inner sizes differ "
            f"({k_a} vs {k_b})"
        )
    if a._data.dtype != b._data.dtype:  # PyTorch does not promote here: it refuses
        raise RuntimeError(
            f"matmul: both operands must have the same dtype, got {dtype_name(a._data.dtype)} "
            f"and {dtype_name(b._data.dtype)}; convert one with .to(other.dtype)"
        )
    if a._data.dtype == np.bool_ and a._data.size and b._data.size:
        # (PyTorch's CPU matmul kernels have no bool version; an empty product runs none)
        raise NotImplementedError("matmul: not implemented for bool tensors (as in PyTorch)")
    try:
        return ops.MatMul.apply(a, b)
    except ValueError:
        raise TensorValueError(
            f"matmul: shapes {tuple(sa)} and {tuple(sb)}: the batch dimensions {tuple(sa[:-2])} "
            f"and {tuple(sb[:-2])} can't be broadcast together"
        ) from None


def _named_results(name: str) -> None:
    """Tensor.<name> returning PyTorch's named result type (torch.return_types.<name>: its
    repr and type name), see _return_types; results that are not named tuples (max() of all
    elements: a Tensor) pass through."""
    method = getattr(Tensor, name)

    @functools.wraps(method)
    def named(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        out = method(self, *args, **kwargs)
        return _return_types.named(name, out) if hasattr(out, "_fields") else out

    setattr(Tensor, name, named)


for _name in (
    "max",
    "min",
    "sort",
    "topk",
    "kthvalue",
    "median",
    "nanmedian",
    "mode",
    "cummax",
    "cummin",
    "aminmax",
):
    _named_results(_name)

# these modules import Tensor from here (the Tensor <-> Function cycle): imported once it exists
from . import _indexing  # noqa: E402
from .autograd import (  # noqa: E402, F401
    engine,
    function,
    ops,
    ops_extra,
    ops_gaps,
    ops_linalg,
    ops_special,
    ops_special_more,
    ops_strided,
)

_NO_BOOL = {
    ops.Sub: "-",
    ops.Remainder: "remainder (%)",
    ops.FloorDivide: "floor_divide (//)",
    ops.RoundedDivide: "div(rounding_mode='floor')",
    ops.TruncDivide: "div(rounding_mode='trunc')",
    ops.Pow: "pow (**)",
    ops.Clamp: "clamp",
}
