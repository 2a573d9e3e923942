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


def _memory(t: Any) -> np.ndarray:
    """The flat memory under tensor ``t``: its root's array, as one contiguous run."""
    root = t if t._base is None else t._base[0]
    data = root._data
    if not data.flags.c_contiguous:
        raise RuntimeError(
            "storage(): this tensor's memory is not one contiguous block (e.g. from_numpy of a "
            "transposed array); call .contiguous() first"
        )
    return data.reshape(-1)


class UntypedStorage:
    """The bytes under a tensor (``Tensor.untyped_storage()``): ``data_ptr()``, ``nbytes()``,
    indexing and ``tolist()`` by byte."""

    def __init__(self, memory: np.ndarray) -> None:
        self._bytes = memory.view(np.uint8)

    def data_ptr(self) -> int:
        return builtins.int(self._bytes.__array_interface__["data"][0])

    def nbytes(self) -> int:
        return builtins.int(self._bytes.size)

    size = nbytes

    def __len__(self) -> int:
        return self.nbytes()

    def element_size(self) -> int:
        return 1

    @property
    def device(self) -> Any:
        from .tensor import Device

        return Device("cpu")

    def __getitem__(self, i: Any) -> Any:
        v = self._bytes[i]
        return v.tolist()

    def __setitem__(self, i: Any, value: Any) -> None:
        self._bytes[i] = value

    def __iter__(self):
        return iter(self._bytes.tolist())

    def tolist(self) -> list:
        return self._bytes.tolist()

    def is_shared(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False

    def __repr__(self) -> str:
        body = "\n".join(f" {v}" for v in self._bytes.tolist())
        return f"{body}\n[tinyconv.storage.UntypedStorage(device=cpu) of size {self.nbytes()}]"


class TypedStorage:
    """The elements under a tensor, in its dtype (``Tensor.storage()``): ``data_ptr()``,
    ``size()``, indexing, ``tolist()``."""

    def __init__(self, memory: np.ndarray) -> None:
        self._data = memory

    def data_ptr(self) -> int:
        return builtins.int(self._data.__array_interface__["data"][0])

    def size(self) -> int:
        return builtins.int(self._data.size)

    def __len__(self) -> int:
        return self.size()

    def nbytes(self) -> int:
        return builtins.int(self._data.nbytes)

    def element_size(self) -> int:
        return builtins.int(self._data.itemsize)

    @property
    def dtype(self) -> Any:
        from . import _dtype

        return _dtype.public(self._data.dtype)

    @property
    def device(self) -> Any:
        from .tensor import Device

        return Device("cpu")

    def untyped(self) -> UntypedStorage:
        return UntypedStorage(self._data)

    def __getitem__(self, i: Any) -> Any:
        return self._data[i].tolist()

    def __setitem__(self, i: Any, value: Any) -> None:
        self._data[i] = value

    def __iter__(self):
        return iter(self._data.tolist())

    def tolist(self) -> list:
        return self._data.tolist()

    def is_shared(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False

    def type(self) -> str:
        name = dtype_name(self._data.dtype).split(".")[-1]
        kinds = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long"}
        kinds |= {"int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
        return f"tinyconv.{kinds.get(name, name)}Storage"

    def __repr__(self) -> str:
        body = "\n".join(f" {v}" for v in self._data.tolist())
        return (
            f"{body}\n[tinyconv.storage.TypedStorage(dtype={dtype_name(self._data.dtype)}, "
            f"device=cpu) of size {self.size()}]"
        )


def storage_of(t: Any) -> TypedStorage:
    """``t.storage()``."""
    return TypedStorage(_memory(t))


def untyped_storage_of(t: Any) -> UntypedStorage:
    """``t.untyped_storage()``."""
    return UntypedStorage(_memory(t))


def is_storage(obj: Any) -> bool:
    """Whether ``obj`` is a storage (``torch.is_storage``)."""
    return isinstance(obj, TypedStorage | UntypedStorage)


def typename(obj: Any) -> str:
    """``torch.typename``: a tensor's type string (``tinyconv.FloatTensor``), else the object's
    module and qualified name (builtins bare: ``int``)."""
    if hasattr(obj, "_data") and hasattr(obj, "type") and hasattr(obj, "_base"):
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
