"""Tensor.storage() / Tensor.untyped_storage(): the memory a tensor and its views share.

PyTorch's storage is the flat memory under a tensor; every view of it (a slice, a transpose,
``as_strided``) reads the same storage, so ``y.untyped_storage().data_ptr() ==
x.untyped_storage().data_ptr()`` tells a view from a copy. tinyconv's views keep the tensor
they were taken from (their root), whose NumPy array is that memory: these objects are thin
windows onto it (writes through them reach every tensor that shares it).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ._dtype import dtype_name


def memory_of(t: Any, what: str = "storage()") -> np.ndarray:
    """The flat memory under tensor ``t`` (PyTorch's storage): its root's array, as one
    contiguous run. ``what`` names the caller in the error for a root that is not one."""
    root = t if t._view_of is None else t._view_of[0]
    data = root._data
    if not data.flags.c_contiguous:
        raise RuntimeError(
            f"{what}: this tensor's memory is not one contiguous block (e.g. from_numpy of a "
            "transposed array), so it has no storage order; call .contiguous() first"
        )
    return data.reshape(-1)


class _Storage:
    """What both storages share: a flat NumPy window ``_array`` onto the memory."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array

    def data_ptr(self) -> int:
        return builtins.int(self._array.__array_interface__["data"][0])

    def size(self) -> int:
        return builtins.int(self._array.size)

    def __len__(self) -> int:
        return self.size()

    def nbytes(self) -> int:
        return builtins.int(self._array.nbytes)

    def element_size(self) -> int:
        return builtins.int(self._array.itemsize)

    @property
    def device(self) -> Any:
        from .tensor import Device

        return Device("cpu")

    def __getitem__(self, i: Any) -> Any:
        return self._array[i].tolist()

    def __setitem__(self, i: Any, value: Any) -> None:
        self._array[i] = value

    def __iter__(self):
        return iter(self._array.tolist())

    def tolist(self) -> list:
        return self._array.tolist()

    def is_shared(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False

    def _repr(self, kind: str) -> str:
        body = "\n".join(f" {v}" for v in self._array.tolist())
        return f"{body}\n[tinyconv.storage.{kind} of size {self.size()}]"


class UntypedStorage(_Storage):
    """The bytes under a tensor (``Tensor.untyped_storage()``): ``data_ptr()``, ``nbytes()``,
    indexing and ``tolist()`` by byte."""

    def __init__(self, memory: np.ndarray) -> None:
        super().__init__(memory.view(np.uint8))

    def __repr__(self) -> str:
        return self._repr("UntypedStorage(device=cpu)")


class TypedStorage(_Storage):
    """The elements under a tensor, in its dtype (``Tensor.storage()``): ``data_ptr()``,
    ``size()``, indexing, ``tolist()``."""

    @property
    def dtype(self) -> Any:
        from . import _dtype

        return _dtype.public(self._array.dtype)

    def untyped(self) -> UntypedStorage:
        return UntypedStorage(self._array)

    def type(self) -> str:
        from ._dtype import scalar_type_name

        return f"tinyconv.{scalar_type_name(self._array.dtype)}Storage"

    def __repr__(self) -> str:
        return self._repr(f"TypedStorage(dtype={dtype_name(self._array.dtype)}, device=cpu)")


def storage_of(t: Any) -> TypedStorage:
    """``t.storage()``."""
    return TypedStorage(memory_of(t))


def untyped_storage_of(t: Any) -> UntypedStorage:
    """``t.untyped_storage()``."""
    return UntypedStorage(memory_of(t))


def is_storage(obj: Any) -> bool:
    """Whether ``obj`` is a storage (``torch.is_storage``)."""
    return isinstance(obj, TypedStorage | UntypedStorage)


def typename(obj: Any) -> str:
    """``torch.typename``: a tensor's type string (``tinyconv.FloatTensor``), else the object's
    module and qualified name (builtins bare: ``int``)."""
    if not isinstance(obj, type) and hasattr(obj, "_data") and hasattr(obj, "_base"):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"
