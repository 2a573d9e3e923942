"""save / load: checkpoints as one .npz file with a JSON manifest, never pickle; in
PyTorch's own format for .pt/.pth/.tar paths and file objects (_torch_format.py, read
without running code from the file); state dicts also as .safetensors files that PyTorch
reads and writes.

A checkpoint holds nested dicts, lists and tuples of tensors, arrays, numbers,
strings, bools and None (state dicts, optimiser state, training metadata).
Arrays go into the .npz; the structure goes into a JSON manifest stored beside
them. Loading uses `allow_pickle=False`, so a hostile file cannot run code.
Saving writes a temporary file in the same folder, fsyncs it and renames it
over the target, so a crash mid-save leaves the previous checkpoint intact.

A path ending in `.safetensors` selects the safetensors format instead (through the
optional `safetensors` package's NumPy API: `pip install "tinyconv[safetensors]"`). It holds
exactly what `safetensors.torch.save_file` / `load_file` exchange with PyTorch: a flat dict
of names to tensors, i.e. a model's state_dict; loading returns a dict of plain tensors.
Everything else (optimiser state, nested structures, numbers) stays in the .npz format.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import tempfile
import zipfile
import zlib
from typing import Any

import numpy as np

from . import _torch_format
from ._dtype import as_dtype
from ._errors import TensorValueError
from .tensor import Tensor

FORMAT = "tinyconv-checkpoint"
VERSION = 1
_MANIFEST = "__manifest__"


class CheckpointError(RuntimeError):
    """A file that is not a readable tinyconv checkpoint."""


class WeightsOnlyError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint that needs a class or function not allowed by add_safe_globals (an
    UnpicklingError, as PyTorch's weights-only load raises)."""


def _encode(obj: Any, arrays: dict, where: str) -> Any:
    if isinstance(obj, Tensor):
        key = f"a{len(arrays)}"
        arrays[key] = obj._data
        return {
            "__tensor__": key,
            "requires_grad": obj.requires_grad,
            "parameter": type(obj).__name__ == "Parameter",
        }
    if isinstance(obj, np.ndarray):
        try:
            as_dtype(obj.dtype)  # only dtypes tinyconv knows (no object or string arrays)
        except TypeError:
            raise TypeError(
                f"save: can't store {where}, an array of dtype {obj.dtype}; checkpoints hold "
                "arrays of numeric or bool dtypes only"
            ) from None
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__ndarray__": key}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return {"__float__": repr(float(obj))}  # exact, and nan/inf survive
    if isinstance(obj, dict):
        return {
            "__dict__": [
                [_encode(k, arrays, where), _encode(v, arrays, f"{where}[{k!r}]")]
                for k, v in obj.items()
            ],
            "ordered": type(obj).__name__ == "OrderedDict",
        }
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
    raise TypeError(
        f"save: can't store {where} of type {type(obj).__name__}; checkpoints hold tensors, "
        "arrays, numbers, strings, bools, None and dicts/lists/tuples of them"
    )


def _decode(obj: Any, arrays: Any) -> Any:
    from collections import OrderedDict

    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        t = Tensor._make(arrays[obj["__tensor__"]], None, False)
        if obj.get("parameter"):
            from .nn.module import Parameter

            return Parameter(t, requires_grad=bool(obj.get("requires_grad")))
        if obj.get("requires_grad"):
            t.requires_grad = True
        return t
    if "__ndarray__" in obj:
        return arrays[obj["__ndarray__"]]
    if "__float__" in obj:
        return float(obj["__float__"])
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays) for v in obj["__tuple__"])
    if "__dict__" in obj:
        cls = OrderedDict if obj.get("ordered") else dict
        return cls((_decode(k, arrays), _decode(v, arrays)) for k, v in obj["__dict__"])
    raise TensorValueError(f"unknown manifest entry {sorted(obj)}")


def save(obj: Any, f: Any) -> None:
    """Write `obj` (e.g. a state_dict) to path `f` atomically, or to a writable binary file object.

    A path ending in `.safetensors` writes the safetensors format (a flat dict of str -> Tensor
    only); a path ending in .pt, .pth or .tar PyTorch's zip format; any other path tinyconv's
    .npz checkpoint format. A file object gets PyTorch's format, as torch.save writes to one,
    unless `obj` holds NumPy arrays or scalars, which that format can't hold without NumPy's
    pickle: then tinyconv's .npz (tinyconv.load reads both).
    """
    if _is_safetensors_path(f):
        _save_safetensors(obj, os.fspath(f))
        return
    if _is_torch_path(f):
        path = os.fspath(f)
        stem = os.path.basename(path).split(".")[0] or "archive"
        _write_atomically(path, lambda out: _torch_format.write(obj, out, stem))
        return
    if hasattr(f, "write") and not _holds_numpy(obj):
        _torch_format.write(obj, f, "archive")  # (the folder name torch.save gives a buffer)
        return
    arrays: dict = {}
    manifest = {"format": FORMAT, "version": VERSION, "object": _encode(obj, arrays, "obj")}
    payload = dict(arrays)
    payload[_MANIFEST] = np.array(json.dumps(manifest))
    if hasattr(f, "write"):
        np.savez(f, **payload)
        return
    _write_atomically(os.fspath(f), lambda out: np.savez(out, **payload))


def _holds_numpy(obj: Any) -> bool:
    """Whether a NumPy array or scalar sits anywhere in `obj`'s dicts, lists and tuples."""
    if isinstance(obj, (np.ndarray, np.generic)):
        return True
    if isinstance(obj, dict):
        return any(_holds_numpy(k) or _holds_numpy(v) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return any(_holds_numpy(v) for v in obj)
    return False


def _write_atomically(path: str, write: Any) -> None:
    """Call `write(file)` on a temporary file beside `path`, fsync it, then rename it over
    `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CheckpointError(
            f"save: can't write checkpoint {path}: folder {folder} does not exist"
        )
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=".tmp-", suffix=os.path.splitext(path)[1] or ".npz", dir=folder
        )
    except OSError as e:
        raise CheckpointError(f"save: can't write checkpoint {path}: {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(e, OSError):  # e.g. disk full: the previous checkpoint is untouched
            raise CheckpointError(
                f"save: can't write checkpoint {path} ({type(e).__name__}: {e}); "
                "any previous file there is unchanged"
            ) from e
        raise
    try:  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _file_mode(path: str) -> int:
    """The permissions a plain open() would give: the old file's, or 0o666 minus the umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def add_safe_globals(safe_globals: list) -> None:
    """Allow these classes and functions in the PyTorch checkpoints `load` reads (as
    torch.serialization.add_safe_globals for weights_only loading): each an object, found by
    its module and qualified name, or an (object, "module.name") pair naming it as the file
    does. Only what is listed here, beside tensors and containers, is ever rebuilt."""
    if not isinstance(safe_globals, list):
        raise TypeError(f"add_safe_globals: expected a list, got {type(safe_globals).__name__}")
    _torch_format.SAFE_GLOBALS.extend(safe_globals)


def get_safe_globals() -> list:
    """What add_safe_globals allowed, in order."""
    return list(_torch_format.SAFE_GLOBALS)


def clear_safe_globals() -> None:
    """Forget everything add_safe_globals allowed."""
    _torch_format.SAFE_GLOBALS.clear()


class safe_globals:  # noqa: N801 (PyTorch's name)
    """`with safe_globals([...]):` allows them in `load` for the block only."""

    def __init__(self, safe_globals: list) -> None:
        self.safe_globals = safe_globals

    def __enter__(self) -> None:
        self._saved = list(_torch_format.SAFE_GLOBALS)
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc: Any) -> None:
        _torch_format.SAFE_GLOBALS[:] = self._saved


def load(
    f: Any,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = True,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    """Read a checkpoint written by `save`. Raises CheckpointError naming the path if it is
    unreadable. PyTorch's signature: ``pickle_module``, ``mmap`` and ``pickle_load_args`` are
    accepted and have nothing to change here (the file is read whole; tinyconv's own
    unpickler is the only one); ``weights_only=None`` is PyTorch's default, True.

    A .safetensors file (recognised by its header, whatever its name) loads as a dict of name ->
    Tensor, keys sorted as `safetensors.torch.load_file` returns them. `map_location` is ignored
    (there is only the CPU).
    """
    if isinstance(f, (str, bytes, os.PathLike)):  # (a Path's .name would be only its last part)
        name = os.fsdecode(f)
    else:
        name = getattr(f, "name", None) or repr(f)
    try:
        source = f if hasattr(f, "read") else open(os.fspath(f), "rb")  # noqa: SIM115  (closed below)
    except OSError as e:
        raise CheckpointError(f"load: can't open checkpoint {name}: {e.strerror}") from None
    try:
        data = source.read() if hasattr(source, "read") else b""
    finally:
        if source is not f:
            source.close()
    if _looks_like_safetensors(data) or (not data and _is_safetensors_path(f)):
        return _load_safetensors(data, name)
    if _torch_format.is_torch_archive(data):
        try:
            return _torch_format.read(data, numpy=weights_only is False)
        except _torch_format.UnsafeGlobalError as e:
            raise WeightsOnlyError(f"load: {name} is a PyTorch checkpoint, but {e}") from None
        except _torch_format.TorchFormatError as e:
            raise CheckpointError(f"load: {name} is a PyTorch checkpoint, but {e}") from None
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError) as e:
            raise CheckpointError(
                f"load: {name} is a corrupt PyTorch checkpoint ({type(e).__name__}: {e})"
            ) from None
    if data.startswith(_TORCH_LEGACY_MAGIC):
        raise CheckpointError(
            f"load: {name} is in PyTorch's legacy format (torch.save with "
            "_use_new_zipfile_serialization=False, or PyTorch before 1.6), which tinyconv does "
            "not read; load it in PyTorch and torch.save it again with the default format"
        )
    if data[:1] == pickle.PROTO and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise CheckpointError(
            f"load: {name} is a pickle file, which tinyconv never unpickles (a hostile file "
            "could run code); save tensors with torch.save or tinyconv.save instead"
        )
    try:
        if not zipfile.is_zipfile(io.BytesIO(data)):  # np.load would guess at pickles and text
            raise CheckpointError(
                f"load: {name} is not a tinyconv checkpoint (not a .npz/zip file; "
                "truncated, corrupt or another format)"
            )
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise CheckpointError(
                f"load: {name} holds a single NumPy array (a .npy file), not a tinyconv checkpoint"
            )
        with loaded as npz:
            if _MANIFEST not in npz.files:
                raise CheckpointError(
                    f"load: {name} is a .npz file but not a tinyconv checkpoint (no manifest)"
                )
            manifest = json.loads(str(npz[_MANIFEST]))
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                fmt = manifest.get("format") if isinstance(manifest, dict) else None
                raise CheckpointError(f"load: {name} is not a tinyconv checkpoint (format {fmt!r})")
            version = manifest.get("version", 0)
            if not isinstance(version, int):
                raise CheckpointError(
                    f"load: {name} has a corrupt manifest (format version {version!r})"
                )
            if version > VERSION:
                raise CheckpointError(
                    f"load: {name} was written by a newer tinyconv (format version "
                    f"{version!r}; this one reads up to {VERSION})"
                )
            arrays = {k: npz[k] for k in npz.files if k != _MANIFEST}
            try:
                return _decode(manifest["object"], arrays)
            except (TypeError, AttributeError, IndexError, KeyError, ValueError, RuntimeError) as e:
                raise CheckpointError(
                    f"load: {name} has a corrupt manifest ({type(e).__name__}: {e})"
                ) from None
    except CheckpointError:
        raise
    except ValueError as e:
        if "allow_pickle" not in str(e):
            raise CheckpointError(
                f"load: {name} is not a readable tinyconv checkpoint (truncated, corrupt or "
                f"another format): {type(e).__name__}: {e}"
            ) from None
        raise CheckpointError(
            f"load: {name} holds a pickled object array; tinyconv never unpickles NumPy's (a "
            "hostile file could run code), so it refuses to load it"
        ) from None
    except (
        zipfile.BadZipFile,
        EOFError,
        OSError,
        KeyError,
        NotImplementedError,
        OverflowError,
        struct.error,
        zlib.error,
    ) as e:  # NotImplementedError: a corrupt zip header's "method"/"version"
        raise CheckpointError(
            f"load: {name} is not a readable tinyconv checkpoint (truncated, corrupt or another "
            f"format): {type(e).__name__}: {e}"
        ) from None


# -- safetensors: the format PyTorch's state dicts travel in ------------------------------------
#
# A .safetensors file is an 8-byte little-endian header length, a JSON header naming each tensor's
# dtype, shape and byte range, then the raw bytes. No code is ever run to read one. We go through
# the `safetensors` package's NumPy API so the bytes are exactly what `safetensors.torch` expects.

_SAFETENSORS_EXTRA = (
    'this needs the safetensors package: pip install "tinyconv[safetensors]" '
    "(or: pip install safetensors)"
)


# what torch's legacy (pre-zip) format begins with: pickle protocol 2, then the pickled
# int 0x1950A86A20F9469CFC6C that marks its files
_TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")

_TORCH_SUFFIXES = (".pt", ".pth", ".tar")


def _is_torch_path(f: Any) -> bool:
    """Paths ending in .pt, .pth or .tar (PyTorch's conventions) get PyTorch's format."""
    return isinstance(f, (str, os.PathLike)) and os.fspath(f).lower().endswith(_TORCH_SUFFIXES)


def _is_safetensors_path(f: Any) -> bool:
    return isinstance(f, (str, os.PathLike)) and os.fspath(f).lower().endswith(".safetensors")


def _looks_like_safetensors(data: bytes) -> bool:
    """An 8-byte header length that fits in the file, followed by a JSON object."""
    if len(data) < 10 or data[8:9] != b"{":
        return False
    n = int.from_bytes(data[:8], "little")
    return 2 <= n <= len(data) - 8


def _safetensors(action: str, name: str) -> Any:
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(f"{action} {name}: {_SAFETENSORS_EXTRA}") from None
    return safetensors


def _save_safetensors(obj: Any, path: str) -> None:
    """Write a state dict (str -> Tensor) as a .safetensors file, atomically."""
    npz_hint = (
        "a .safetensors file holds a flat dict of name -> tensor (a state_dict); save other "
        "objects (optimiser state, nested dicts, numbers) in tinyconv's own format with a "
        "path ending in .npz, e.g. tinyconv.save(obj, 'checkpoint.npz')"
    )
    if not isinstance(obj, dict):
        raise TypeError(f"save: can't write {type(obj).__name__} to {path}: {npz_hint}")
    arrays = {}
    for k, v in obj.items():
        if not isinstance(k, str):
            raise TypeError(
                f"save: can't write key {k!r} ({type(k).__name__}) to {path}: names must be "
                f"strings; {npz_hint}"
            )
        if not isinstance(v, Tensor):
            raise TypeError(
                f"save: can't write obj[{k!r}], a {type(v).__name__}, to {path}: {npz_hint}"
            )
        # safetensors stores C-ordered bytes; a transposed or sliced view is laid out afresh
        # (not np.ascontiguousarray: it turns a 0-d array, e.g. num_batches_tracked, into 1-d)
        arrays[k] = v._data if v._data.flags.c_contiguous else v._data.copy(order="C")
    st = _safetensors("save: can't write", path)
    data = st.numpy.save(arrays)
    _write_atomically(path, lambda out: out.write(data))


def _load_safetensors(data: bytes, name: str) -> dict:
    st = _safetensors("load: can't read", name)
    try:
        arrays = st.numpy.load(data)
    except KeyError as e:  # the NumPy API's lookup of a dtype name it has no NumPy dtype for
        raise CheckpointError(
            f"load: {name} holds tensors of dtype {e}, which NumPy (and so tinyconv) "
            "lacks; convert them in PyTorch first, e.g. to float32"
        ) from None
    except st.SafetensorError as e:
        raise CheckpointError(
            f"load: {name} is not a readable .safetensors file (truncated, corrupt or "
            f"another format): {e}"
        ) from None
    out = {}
    for k in sorted(arrays):  # the order safetensors.torch.load_file gives
        try:
            as_dtype(arrays[k].dtype)
        except TypeError:
            raise CheckpointError(
                f"load: {name} holds {k!r} of dtype {arrays[k].dtype}, which tinyconv "
                "has no tensors of"
            ) from None
        out[k] = Tensor._make(np.array(arrays[k]), None, False)  # a private, writable copy
    return out
