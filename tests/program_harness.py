"""Run one PyTorch program twice, with `torch` and with tinyconv aliased as torch, and compare.

A program is Python source written against `torch` (its imports included). The tinyconv run
is the same source with every `torch` name replaced by `tinyconv` (so `import torch.nn as nn`
becomes `import tinyconv.nn as nn`). After both runs, every top-level variable that holds a
comparable value is compared: Tensors (shape, dtype, requires_grad, values, `.grad`), Python
numbers, strings, lists/tuples/dicts of those, `nn.Module`s (their state_dict and the grads of
their parameters) and optimizers (their state_dict). What the program printed is compared
line by line too, after `tinyconv.` is read as `torch.`.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import re
import sys
import textwrap
import types

import numpy as np

# (rtol, atol) per dtype. float64 programs are deterministic in both libraries up to the
# order of additions; float32 ones may round differently in the last bits.
TOLS = {"float64": (1e-10, 1e-12), "float32": (2e-5, 1e-6), "float16": (2e-3, 1e-3)}


class ProgramMismatch(AssertionError):
    pass


# What one comparison allows beyond TOLS (set by `allowing`): other (rtol, atol) per dtype, and
# a regex of paths not compared: the parameters whose gradient is zero in exact arithmetic (a
# bias before a softmax or a normalisation), whose values an Adam step makes of rounding noise.
_ALLOW: dict = {"tols": {}, "ignore": None}


@contextlib.contextmanager
def allowing(tols: dict | None = None, ignore: str | None = None):
    """Within the block, compare floats of dtype d at tols[d] = (rtol, atol) and skip the
    values whose path matches the regex `ignore`."""
    saved = dict(_ALLOW)
    _ALLOW.update(tols={**TOLS, **(tols or {})}, ignore=re.compile(ignore) if ignore else None)
    try:
        yield
    finally:
        _ALLOW.update(saved)


def _tols(dtype: str) -> tuple[float, float]:
    return (_ALLOW["tols"] or TOLS)[dtype]


def to_tinyconv(src: str) -> str:
    """The same program with only its imports (and module references) changed."""
    return re.sub(r"\btorch\b", "tinyconv", src)


def run_program(src: str, lib: str) -> tuple[dict, str]:
    """Execute the program (in `lib`: 'torch' or 'tinyconv'); return its namespace and stdout."""
    src = textwrap.dedent(src)
    if lib == "tinyconv":
        src = to_tinyconv(src)
    # (a registered module, so that what looks itself up in sys.modules works: @dataclass)
    module = types.ModuleType(f"program_{lib}")
    ns: dict = module.__dict__
    buf = io.StringIO()
    sys.modules[module.__name__] = module
    switches = _global_switches(lib)
    try:
        with contextlib.redirect_stdout(buf):
            exec(compile(src, f"<program {lib}>", "exec"), ns)  # noqa: S102 (the program is the test)
    finally:
        del sys.modules[module.__name__]
        _restore_switches(lib, switches)
    return ns, buf.getvalue()


# Process-wide switches programs set (nanoGPT turns TF32 on, tutorials cudnn.benchmark), put
# back after each program so no later test sees them.
_SWITCHES = (
    "backends.cuda.matmul.allow_tf32",
    "backends.cudnn.allow_tf32",
    "backends.cudnn.benchmark",
    "backends.cudnn.deterministic",
    "backends.cudnn.enabled",
)


def _global_switches(lib: str) -> dict:
    top = importlib.import_module(lib)
    saved = {"dtype": top.get_default_dtype(), "grad": top.is_grad_enabled()}
    for path in _SWITCHES:
        owner, _, name = path.rpartition(".")
        obj = functools.reduce(getattr, owner.split("."), top)
        saved[path] = getattr(obj, name)
    return saved


def _restore_switches(lib: str, saved: dict) -> None:
    top = importlib.import_module(lib)
    top.set_default_dtype(saved["dtype"])
    top.set_grad_enabled(saved["grad"])
    for path in _SWITCHES:
        owner, _, name = path.rpartition(".")
        setattr(functools.reduce(getattr, owner.split("."), top), name, saved[path])


def _library_class(v) -> type:
    """The first class of v's MRO that is the library's own: a program's `class Net(nn.Module)`
    is compared as the module it is (its own class lives in the program's namespace)."""
    for cls in type(v).__mro__:
        if cls.__module__.split(".")[0] in ("torch", "tinyconv"):
            return cls
    return type(v)


def _kind(v) -> str:
    cls = _library_class(v)
    mod = cls.__module__.split(".")[0]
    name = cls.__name__
    if mod in ("torch", "tinyconv"):
        if name in ("Tensor", "Parameter", "Buffer"):
            return "tensor"
        if name == "Size":
            return "size"
        if name in ("device", "Device"):
            return "str"
        if name in ("dtype", "DType"):
            return "dtype"
        if hasattr(v, "state_dict") and hasattr(v, "parameters"):
            return "module"
        if hasattr(v, "state_dict") and hasattr(v, "param_groups"):
            return "optimizer"
        return "other"
    if mod == "numpy" and isinstance(v, np.dtype):
        return "dtype"  # tinyconv's dtypes are NumPy's, under PyTorch's names
    if isinstance(v, bool | int | float | complex | str | type(None)):
        return "scalar"
    if isinstance(v, np.ndarray | np.generic):
        return "numpy"
    if isinstance(v, list | tuple | dict):
        return "container"
    return "other"


def _norm(s: str) -> str:
    return s.replace("tinyconv.", "torch.").replace("tinyconv", "torch")


def compare_values(got, want, path: str, dtype: str | None = None) -> None:
    """`got` (tinyconv) equals `want` (PyTorch), recursively; raise ProgramMismatch if not."""
    if _ALLOW["ignore"] is not None and _ALLOW["ignore"].search(path):
        return
    kg, kw = _kind(got), _kind(want)
    if kg != kw:
        raise ProgramMismatch(f"{path}: tinyconv gives {type(got)!r}, PyTorch {type(want)!r}")
    if kw == "tensor":
        _compare_tensor(got, want, path)
    elif kw == "size":
        if tuple(got) != tuple(want):
            raise ProgramMismatch(f"{path}: size {tuple(got)} vs {tuple(want)}")
    elif kw == "dtype":
        if str(got).split(".")[-1] != str(want).split(".")[-1]:
            raise ProgramMismatch(f"{path}: {got} vs {want}")
    elif kw == "str":
        if _norm(str(got)) != _norm(str(want)):
            raise ProgramMismatch(f"{path}: {got} vs {want}")
    elif kw == "scalar":
        if type(got) is not type(want):
            raise ProgramMismatch(f"{path}: type {type(got)} vs {type(want)}")
        if isinstance(want, float):
            rtol, atol = _tols(dtype or "float64")
            if not np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
                raise ProgramMismatch(f"{path}: {got!r} vs {want!r}")
        elif isinstance(want, str):
            if _norm(got) != _norm(want):
                raise ProgramMismatch(f"{path}: {got!r} vs {want!r}")
        elif got != want:
            raise ProgramMismatch(f"{path}: {got!r} vs {want!r}")
    elif kw == "numpy":
        got, want = np.asarray(got), np.asarray(want)
        if got.dtype != want.dtype or got.shape != want.shape:
            raise ProgramMismatch(f"{path}: {got.dtype}{got.shape} vs {want.dtype}{want.shape}")
        rtol, atol = _tols(str(want.dtype) if str(want.dtype) in TOLS else "float64")
        if want.dtype.kind in "fc":
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=path)
        else:
            np.testing.assert_array_equal(got, want, err_msg=path)
    elif kw == "container":
        if type(got) is not type(want) or len(got) != len(want):
            raise ProgramMismatch(
                f"{path}: {type(got).__name__}[{len(got)}] vs {type(want).__name__}[{len(want)}]"
            )
        if isinstance(want, dict):
            if [_norm(str(k)) for k in got] != [_norm(str(k)) for k in want]:
                raise ProgramMismatch(f"{path}: keys {list(got)} vs {list(want)}")
            for (k, a), b in zip(got.items(), want.values(), strict=True):
                compare_values(a, b, f"{path}[{k!r}]", dtype)
        else:
            for i, (a, b) in enumerate(zip(got, want, strict=True)):
                compare_values(a, b, f"{path}[{i}]", dtype)
    elif kw == "module":
        compare_values(dict(got.state_dict()), dict(want.state_dict()), f"{path}.state_dict()")
        gp, wp = dict(got.named_parameters()), dict(want.named_parameters())
        for name in wp:
            a, b = gp[name].grad, wp[name].grad
            if (a is None) != (b is None):
                raise ProgramMismatch(f"{path}.{name}.grad: {a} vs {b}")
            if b is not None:
                _compare_tensor(a, b, f"{path}.{name}.grad")
        if got.training != want.training:
            raise ProgramMismatch(f"{path}.training: {got.training} vs {want.training}")
    elif kw == "optimizer":
        compare_values(got.state_dict(), want.state_dict(), f"{path}.state_dict()")


def _compare_tensor(got, want, path: str) -> None:
    if _ALLOW["ignore"] is not None and _ALLOW["ignore"].search(path):
        return
    if tuple(got.shape) != tuple(want.shape):
        raise ProgramMismatch(f"{path}: shape {tuple(got.shape)} vs {tuple(want.shape)}")
    dt = str(want.dtype).replace("torch.", "")
    if str(got.dtype).replace("tinyconv.", "") != dt:
        raise ProgramMismatch(f"{path}: dtype {got.dtype} vs {want.dtype}")
    if got.requires_grad != want.requires_grad:
        raise ProgramMismatch(f"{path}: requires_grad {got.requires_grad} vs {want.requires_grad}")
    if type(got).__name__ != type(want).__name__:
        raise ProgramMismatch(f"{path}: {type(got).__name__} vs {type(want).__name__}")
    a, b = got.detach().numpy(), want.detach().numpy()
    if dt in TOLS:
        rtol, atol = _tols(dt)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True, err_msg=path)
    else:
        np.testing.assert_array_equal(a, b, err_msg=path)
    if want.is_leaf and want.requires_grad:
        if (got.grad is None) != (want.grad is None):
            raise ProgramMismatch(f"{path}.grad: {got.grad} vs {want.grad}")
        if want.grad is not None:
            _compare_tensor(got.grad, want.grad, f"{path}.grad")


def compare_program(src: str, *, stdout: bool = True, skip: tuple[str, ...] = ()) -> dict:
    """Run `src` in PyTorch and in tinyconv; compare every top-level variable and the printed
    text. Returns the tinyconv namespace (for extra checks)."""
    import pytest

    pytest.importorskip("torch")
    ns_t, out_t = run_program(src, "torch")
    ns_c, out_c = run_program(src, "tinyconv")
    if stdout:
        lt, lc = _norm(out_t).splitlines(), _norm(out_c).splitlines()
        for i, (a, b) in enumerate(zip(lc, lt, strict=False)):
            if a != b:
                raise ProgramMismatch(f"printed line {i}: tinyconv {a!r}\n  PyTorch {b!r}")
        if len(lc) != len(lt):
            raise ProgramMismatch(f"printed {len(lc)} lines, PyTorch {len(lt)}")
    for name, want in ns_t.items():
        if name.startswith("_") or name in skip:
            continue
        kind = _kind(want)
        if kind == "other":
            continue
        if name not in ns_c:
            raise ProgramMismatch(f"{name}: missing in the tinyconv run")
        compare_values(ns_c[name], want, name)
    return ns_c
