"""PyTorch's checkpoint format (what ``torch.save`` writes since 1.6), read and written
without PyTorch, so checkpoints travel both ways.

The file is a zip archive whose entries all sit in one top folder ``<name>/``:

    data.pkl             the saved object, pickled (protocol 2). A tensor is the call
                         torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
                         requires_grad, backward_hooks), a Parameter
                         torch._utils._rebuild_parameter(tensor, requires_grad, hooks),
                         and a storage the persistent id
                         ('storage', torch.FloatStorage, key, 'cpu', numel)
    data/<key>           that storage's raw bytes, in the byte order of ``byteorder``
    byteorder, version, .format_version, .storage_alignment, .data/serialization_id

Reading never runs code from the file. Unpickling can call any function a file names, so
the unpickler here resolves only the names in ``_READ_GLOBALS`` (the idea behind
``torch.load(weights_only=True)``) and refuses everything else, naming it. Every tensor's
strides are checked to stay inside its storage before a view of it is taken.
"""

from __future__ import annotations

import codecs
import importlib
import io
import os
import pickle
import struct
import zipfile
from collections import Counter, OrderedDict
from typing import Any

import numpy as np

from . import _dtype
from .nn.module import Parameter
from .tensor import Device, Size, Tensor

try:  # (NumPy 2's name; NumPy 1's below)
    np_multiarray = importlib.import_module("numpy._core.multiarray")
except ImportError:  # pragma: no cover
    np_multiarray = importlib.import_module("numpy.core.multiarray")

# torch's storage class names <-> NumPy dtypes
_STORAGE_DTYPES = {
    "FloatStorage": np.dtype(np.float32),
    "DoubleStorage": np.dtype(np.float64),
    "HalfStorage": np.dtype(np.float16),
    "LongStorage": np.dtype(np.int64),
    "IntStorage": np.dtype(np.int32),
    "ShortStorage": np.dtype(np.int16),
    "CharStorage": np.dtype(np.int8),
    "ByteStorage": np.dtype(np.uint8),
    "BoolStorage": np.dtype(np.bool_),
}
_STORAGE_NAMES = {dtype: name for name, dtype in _STORAGE_DTYPES.items()}
_ALIGNMENT = 64  # torch aligns each storage's bytes to 64 in the archive (for mmap)


class TorchFormatError(ValueError):
    """A file in PyTorch's format that tinyconv can't (or won't) read; serialization wraps it."""


class UnsafeGlobalError(TorchFormatError):
    """The file needs a class or function that is not allowed (weights-only loading)."""


def is_torch_archive(data: bytes) -> bool:
    """Whether ``data`` is a zip archive with one ``<name>/data.pkl``: torch.save's format."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return any(n.count("/") == 1 and n.endswith("/data.pkl") for n in z.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, NotImplementedError):
        return False


# -- reading -----------------------------------------------------------------------------------


class _StorageType:
    """What ``torch.FloatStorage`` & co. unpickle to: a dtype."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks, metadata=None):
    """A tensor of ``size`` and element ``stride`` from ``offset`` on in ``storage`` (a 1-D
    array), checked to stay inside the storage. It is a view of the storage, so tensors that
    shared memory when saved share it again (as torch.load gives them), e.g. ``x`` and
    ``x[1:]``, or two state_dict entries of one tied weight."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if (
        len(size) != len(stride)
        or offset < 0
        or any(s < 0 for s in size)
        or any(s < 0 for s in stride)
    ):
        raise TorchFormatError(
            f"a tensor with size {size}, stride {stride} and offset {offset} is corrupt"
        )
    if 0 in size:
        return Tensor._make(np.zeros(size, storage.dtype), None, False)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if last >= storage.size:
        raise TorchFormatError(
            f"a tensor with size {size}, stride {stride} and offset {offset} reaches element "
            f"{last} of a storage of {storage.size}: the file is corrupt"
        )
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], size, tuple(s * item for s in stride), writeable=True
    )
    if _overlaps(size, stride):
        compact = tuple(1 if s == 0 else n for n, s in zip(size, stride, strict=True))
        if not requires_grad and not _overlaps(compact, stride):
            # an expanded tensor (stride 0 where it repeats): tinyconv's expand() of the
            # storage, so that it shares memory and refuses in-place writes, as PyTorch's
            return _rebuild_tensor_v2(storage, offset, compact, stride, False, hooks).expand(*size)
        # (any other overlap, or a leaf requiring grad: a private copy)
        view = view.copy()
    t = Tensor._make(view, None, False)
    if requires_grad:
        t.requires_grad = True
    return t


def _overlaps(size: tuple, stride: tuple) -> bool:
    """Whether two indices of this layout can reach one element (dims of size 1 never step):
    taken by increasing stride, each stride must pass the whole span of the smaller ones."""
    span = 0
    for n, s in sorted(
        ((n, s) for n, s in zip(size, stride, strict=True) if n > 1), key=lambda p: p[1]
    ):
        if s <= span:
            return True
        span += (n - 1) * s
    return False


def _rebuild_parameter(data, requires_grad, hooks, state=None):
    return Parameter(data, requires_grad=bool(requires_grad))


_READ_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    # (what PyTorch's weights-only load also reads: a shape, a device, a dtype, bytes, Counter)
    ("torch", "Size"): Size,
    ("torch", "device"): Device,
    **{("torch", d._name): d for d in _dtype._ALL},
    ("collections", "Counter"): Counter,
    ("_codecs", "encode"): codecs.encode,  # (protocol 2 spells bytes so)
    **{(module, "bytearray"): bytearray for module in ("builtins", "__builtin__")},
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    **{(module, "set"): set for module in ("builtins", "__builtin__")},  # (protocol 2 writes
    **{(module, "frozenset"): frozenset for module in ("builtins", "__builtin__")},  # Python
    **{(module, "complex"): complex for module in ("builtins", "__builtin__")},  # 2's name)
    **{("torch", name): _StorageType(dtype) for name, dtype in _STORAGE_DTYPES.items()},
}


# what the user allowed on top (serialization.add_safe_globals): objects, or (object, name)
# pairs whose name is "module.qualname" as the file spells it; in the order they were added
SAFE_GLOBALS: list = []


def _user_safe(module: str, name: str) -> Any:
    """The object add_safe_globals allowed under module.name, else None."""
    wanted = f"{module}.{name}"
    for entry in SAFE_GLOBALS:
        obj, spelled = entry if isinstance(entry, tuple) else (entry, None)
        if spelled is None:
            spelled = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"
        if spelled == wanted:
            return obj
    return None


def _numpy_global(module: str, name: str) -> Any:
    """NumPy's data-only reconstructors (a scalar, an array, a dtype: what a checkpoint's
    ``np.float64`` accuracy or ``np.arange`` labels pickle to), else None. Nothing here runs
    code from the file: an object array's items go through the same restricted unpickler."""
    if module in ("numpy._core.multiarray", "numpy.core.multiarray") and name in (
        "scalar",
        "_reconstruct",
    ):
        return getattr(np_multiarray, name)
    if module == "numpy" and name in ("ndarray", "dtype"):
        return getattr(np, name)
    if module == "numpy.dtypes" and name.endswith("DType"):
        return getattr(np.dtypes, name, None)
    return None


class _Unpickler(pickle.Unpickler):
    """Resolves only ``_READ_GLOBALS`` (and, for ``load(weights_only=False)``, NumPy's
    scalars, arrays and dtypes); storages come from the archive's ``data/`` entries."""

    def __init__(
        self, file, archive: zipfile.ZipFile, prefix: str, byteorder: str, numpy: bool = False
    ) -> None:
        super().__init__(file)
        self.archive, self.prefix, self.byteorder = archive, prefix, byteorder
        self.numpy = numpy
        self.storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        found = _READ_GLOBALS.get((module, name))
        if found is None:
            found = _user_safe(module, name)
        if found is None and self.numpy:
            found = _numpy_global(module, name)
        if found is not None:
            return found
        if module.startswith("numpy"):
            raise UnsafeGlobalError(
                f"it needs {module}.{name} (a NumPy value) to be read, which a weights-only "
                "load refuses, as PyTorch's does; load it with weights_only=False if you "
                "trust the file"
            )
        if module == "torch" and name.endswith("Storage"):
            raise TorchFormatError(
                f"it holds a torch.{name} tensor, a dtype tinyconv does not have; convert it "
                "in PyTorch (e.g. .float()) before saving"
            )
        hint = (
            " (a whole pickled object such as an nn.Module: save its state_dict() instead)"
            if not module.startswith(("torch._utils", "collections"))
            else ""
        )
        raise UnsafeGlobalError(
            f"it needs {module}.{name} to be read, which is not one of the names a tensor "
            f"checkpoint uses; tinyconv never runs code from a file{hint} (allow it with "
            f"serialization.add_safe_globals([{name}]) if you trust it)"
        )

    def persistent_load(self, pid: Any) -> np.ndarray:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise TorchFormatError(f"it has an unknown persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise TorchFormatError(f"it has an unknown storage type {storage_type!r}")
        key = str(key)
        if key not in self.storages:
            try:
                raw = self.archive.read(f"{self.prefix}data/{key}")
            except KeyError:
                raise TorchFormatError(f"its storage {key} is missing") from None
            dtype = storage_type.dtype.newbyteorder("<" if self.byteorder == "little" else ">")
            if len(raw) != int(numel) * dtype.itemsize:
                raise TorchFormatError(
                    f"its storage {key} has {len(raw)} bytes, not the {numel} x "
                    f"{dtype.itemsize} it should"
                )
            self.storages[key] = np.frombuffer(raw, dtype).astype(storage_type.dtype)
        return self.storages[key]


def read(data: bytes, numpy: bool = False) -> Any:
    """The object in a torch.save archive (``data``: the file's bytes); ``numpy``: NumPy's
    scalars, arrays and dtypes may be rebuilt too (``load(weights_only=False)``)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        pkl = next(n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/data.pkl"))
        prefix = pkl[: -len("data.pkl")]
        names = set(archive.namelist())
        byteorder = "little"
        if f"{prefix}byteorder" in names:
            byteorder = archive.read(f"{prefix}byteorder").decode("ascii", "replace").strip()
            if byteorder not in ("little", "big"):
                raise TorchFormatError(f"it names an unknown byte order {byteorder!r}")
        unpickler = _Unpickler(io.BytesIO(archive.read(pkl)), archive, prefix, byteorder, numpy)
        return unpickler.load()


# -- writing -----------------------------------------------------------------------------------


class _TorchName:
    """A global the pickle names (``module.name``) that need not exist here: written as a
    GLOBAL opcode, resolved by whoever reads the file (PyTorch, or ``read`` above)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:  # (pickle's save_reduce wants a callable)
        raise TypeError(f"{self.module}.{self.name} is only a name in a pickle here")


_REBUILD_TENSOR = _TorchName("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _TorchName("torch._utils", "_rebuild_parameter")
_STORAGE_TYPES = {dtype: _TorchName("torch", name) for dtype, name in _STORAGE_NAMES.items()}


class _Storage:
    """One tensor's data, written as the archive entry ``data/<key>``."""

    def __init__(self, key: str, array: np.ndarray) -> None:
        self.key, self.array = key, array


class _Layout:
    """Where one tensor sits in the file: its storage, element offset, shape and strides."""

    def __init__(self, storage: _Storage, offset: int, shape: tuple, strides: tuple) -> None:
        self.storage, self.offset, self.shape, self.strides = storage, offset, shape, strides


def _root(array: np.ndarray) -> np.ndarray:
    """The array that owns ``array``'s memory (NumPy's ``base`` chain up to its end)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _plan_storages(tensors: list[Tensor]) -> tuple[dict[int, _Layout], list[_Storage]]:
    """One storage per group of tensors that share memory (as torch.save writes one storage
    for ``x`` and ``x[1:]``, or for a tied weight's two state_dict entries), so that loading
    gives them shared memory again; each other tensor gets its own C-ordered storage.

    A group shares one storage when its tensors have one dtype, element-aligned offsets and
    non-negative strides (PyTorch has no negative ones) inside one contiguous owner; the
    storage then spans from the group's first byte to its last."""
    layouts: dict[int, _Layout] = {}
    storages: list[_Storage] = []

    def own(t: Tensor) -> None:
        array = t._data
        if not array.flags.c_contiguous:  # (np.ascontiguousarray would make a 0-d 1-d)
            array = array.copy(order="C")
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
        storage = _Storage(str(len(storages)), array.reshape(-1))
        storages.append(storage)
        strides = tuple(s // array.itemsize for s in array.strides)
        layouts[id(t)] = _Layout(storage, 0, tuple(array.shape), strides)

    groups: dict[int, list[Tensor]] = {}
    shared: dict[int, bool] = {}
    for t in tensors:
        a = t._data
        if a.dtype not in _STORAGE_TYPES:
            raise TypeError(f"save: a tensor of dtype {a.dtype} has no PyTorch storage")
        root = _root(a)
        shareable = (
            a.size > 0
            and a.dtype.isnative
            and (root.flags.c_contiguous or root.flags.f_contiguous)
            and all(s >= 0 and s % a.itemsize == 0 for s in a.strides)
        )
        shared[id(t)] = shareable
        groups.setdefault(id(root) if shareable else -len(groups) - 1, []).append(t)
    for members in groups.values():
        arrays = [t._data for t in members]
        base = arrays[0]
        item = base.itemsize
        starts = [a.__array_interface__["data"][0] for a in arrays]
        if (
            not shared[id(members[0])]
            or any(a.dtype != base.dtype for a in arrays)
            or any((p - starts[0]) % item for p in starts)
        ):
            for t in members:
                own(t)
            continue
        lo = min(starts)
        hi = max(
            p + sum((n - 1) * s for n, s in zip(a.shape, a.strides, strict=True)) + item
            for p, a in zip(starts, arrays, strict=True)
        )
        # the span [lo, hi) lies inside the contiguous owner that all of them view
        span = np.lib.stride_tricks.as_strided(
            arrays[starts.index(lo)], ((hi - lo) // item,), (item,), writeable=False
        )
        storage = _Storage(
            str(len(storages)), span.astype(base.dtype.newbyteorder("<"), copy=False)
        )
        storages.append(storage)
        for t, p, a in zip(members, starts, arrays, strict=True):
            layouts[id(t)] = _Layout(
                storage, (p - lo) // item, tuple(a.shape), tuple(s // item for s in a.strides)
            )
    return layouts, storages


class _Pickler(pickle._Pickler):  # the Python pickler: its dispatch table can be extended
    def __init__(self, file, layouts: dict[int, _Layout]) -> None:
        super().__init__(file, protocol=2)
        self.layouts = layouts

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_torch_name(self, obj: _TorchName) -> None:
        # what save_global writes for protocol 2, for a name that need not be importable here
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[_TorchName] = _save_torch_name

    def _save_dtype(self, obj: Any) -> None:
        # a dtype is the global torch.<name>, as PyTorch pickles its dtypes
        self.write(pickle.GLOBAL + f"torch\n{obj._name}\n".encode())
        self.memoize(obj)

    dispatch[_dtype.DType] = _save_dtype

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _Storage):
            return (
                "storage",
                _STORAGE_TYPES[obj.array.dtype.newbyteorder("=")],
                obj.key,
                "cpu",
                obj.array.size,
            )
        return None

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Tensor):
            at = self.layouts[id(obj)]
            where = (at.storage, at.offset, at.shape, at.strides)
            if getattr(obj, "_is_parameter", False):
                # _rebuild_parameter(tensor, requires_grad, hooks), its tensor a plain one
                inner = _Call(_REBUILD_TENSOR, (*where, False, OrderedDict()))
                return _REBUILD_PARAMETER, (inner, obj.requires_grad, OrderedDict())
            return _REBUILD_TENSOR, (*where, obj.requires_grad, OrderedDict())
        if isinstance(obj, _Call):  # pickled as the call itself
            return obj.func, obj.args
        if isinstance(obj, Size):  # (as torch.Size, so that PyTorch reads it back as one)
            return _TorchName("torch", "Size"), (tuple(obj),)
        if isinstance(obj, Device):
            return _TorchName("torch", "device"), (str(obj),)
        return NotImplemented  # (any other object: pickle's own way, as PyTorch's pickler)


class _TensorFinder(_Pickler):
    """Pickles to nowhere, collecting the tensors an object holds (in ``tensors``)."""

    def __init__(self, tensors: list[Tensor]) -> None:
        super().__init__(io.BytesIO(), {})
        self.tensors = tensors

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Tensor):
            self.tensors.append(obj)
            return tuple, ()
        return super().reducer_override(obj)


class _Call:
    """``func(*args)`` inside a pickle (a Parameter's inner tensor)."""

    def __init__(self, func: _TorchName, args: tuple) -> None:
        self.func, self.args = func, args


def _check_savable(obj: Any, where: str, tensors: list[Tensor]) -> None:
    """Refuse what tinyconv's reader (and torch.load(weights_only=True)) would refuse;
    collect the tensors met in ``tensors``."""
    if isinstance(obj, Tensor):
        tensors.append(obj)
        return
    if isinstance(obj, (str, bool, int, float, complex, type(None), bytes, bytearray)):
        return
    if isinstance(obj, (Device, _dtype.DType)):
        return
    if isinstance(obj, np.dtype) or (
        isinstance(obj, (np.generic, np.ndarray)) and obj.dtype != object
    ):
        # (pickled by NumPy, as torch.save does: torch.load reads them with
        # weights_only=False, and so does tinyconv.load)
        return
    if isinstance(obj, np.ndarray):  # (of objects: whatever they hold, pickled by NumPy)
        raise TypeError(
            f"save: can't store {where}, an ndarray of dtype object: convert it to a tensor, "
            "a list or an array of numbers first"
        )
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_savable(k, f"{where} key {k!r}", tensors)
            _check_savable(v, f"{where}[{k!r}]", tensors)
        return
    if isinstance(obj, (list, tuple, set, frozenset)):
        for i, v in enumerate(obj):
            _check_savable(v, f"{where}[{i}]", tensors)
        return
    if type(obj).__module__.split(".")[0] == "tinyconv":
        # (a Module or an optimizer would pickle as tinyconv's classes, which neither PyTorch
        # nor tinyconv.load can read back)
        raise TypeError(
            f"save: can't store {where}, a {type(obj).__name__}, in PyTorch's format: save its "
            "state_dict() instead (tensors, numbers, strings, None, containers of them and "
            "your own picklable objects are stored)"
        )
    # Any other object (a dataclass config, an argparse.Namespace) is pickled as PyTorch
    # pickles it, by reference to its class; loading it back takes weights_only=False in
    # PyTorch, serialization.add_safe_globals in tinyconv. Its tensors are found by pickling
    # it once to nowhere.
    finder = _TensorFinder(tensors)
    try:
        finder.dump(obj)
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        raise TypeError(f"save: can't store {where}, a {type(obj).__name__}: {e}") from None


def write(obj: Any, out: Any, name: str) -> None:
    """Write ``obj`` to the binary file ``out`` as torch.save does, in folder ``name``."""
    tensors: list[Tensor] = []
    _check_savable(obj, "obj", tensors)
    unique = list({id(t): t for t in tensors}.values())
    layouts, storages = _plan_storages(unique)
    buf = io.BytesIO()
    _Pickler(buf, layouts).dump(obj)
    records = [("data.pkl", buf.getvalue())]
    records += [(".format_version", b"1"), (".storage_alignment", str(_ALIGNMENT).encode())]
    records += [("byteorder", b"little")]
    records += [(f"data/{s.key}", s.array.tobytes()) for s in storages]
    records += [("version", b"3\n"), (".data/serialization_id", os.urandom(16).hex().encode())]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for record, payload in records:
            info = zipfile.ZipInfo(f"{name}/{record}", date_time=(1980, 1, 1, 0, 0, 0))
            # pad the local header's extra field so that the bytes start 64-aligned, as torch's
            start = archive.fp.tell() + 30 + len(info.filename.encode())
            pad = (-(start + 4)) % _ALIGNMENT
            info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            archive.writestr(info, payload)
