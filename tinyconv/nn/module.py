"""`Module` and `Parameter`: the bookkeeping that lets a network find its weights.

Assigning a Parameter or a Module to an attribute inside `__init__` registers
it (through `__setattr__`), so `parameters()`, `state_dict()` and `zero_grad()`
can walk the tree of submodules without the user listing anything.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import _dtype
from .._args import _check_device
from ..autograd import grad_mode
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as a learnable weight (requires grad by default)."""

    __slots__ = ()
    _is_parameter = True

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:  # noqa: PYI034
        t = object.__new__(cls)
        if data is None:
            arr = np.zeros(0, dtype=_dtype.get_default_dtype())
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            raise TypeError(f"Parameter: data must be a Tensor, got {type(data).__name__}")
        t._data = arr
        t._requires_grad = False
        t.grad_fn = None
        t.grad = None
        t._base = None
        t._vc = data._vc if isinstance(data, Tensor) else [0]
        if requires_grad:
            t.requires_grad = True
        return t

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__  # (Tensor's __str__ is bound to Tensor.__repr__, so print() needs this too)

    def __deepcopy__(self, memo: dict) -> Parameter:
        p = Parameter(Tensor._make(self._data.copy(), None, False), self._requires_grad)
        memo[id(self)] = p
        return p

    def __reduce__(self) -> Any:
        return (_rebuild_parameter, (self._data.copy(), self._requires_grad))


def _rebuild_parameter(data: np.ndarray, requires_grad: bool) -> Parameter:
    return Parameter(Tensor._make(data, None, False), requires_grad)


class ModuleInitError(AttributeError, RuntimeError):
    """A Module used before Module.__init__() ran: an AttributeError as in PyTorch, and a
    RuntimeError."""


_REGISTRIES = ("_parameters", "_buffers", "_modules")


class Module:
    """Base class of layers and networks: subclass it, set attributes in __init__, define
    forward."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())

    # -- registration --------------------------------------------------------------------
    def _registry(self, kind: str, name: str) -> OrderedDict:
        reg = self.__dict__.get(kind)
        if reg is None:
            raise ModuleInitError(
                f"cannot assign {kind.strip('_')[:-1]} '{name}' before Module.__init__() call: "
                f"call super().__init__() first in {type(self).__name__}.__init__"
            )
        return reg

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if isinstance(value, Parameter):
            reg = self._registry("_parameters", name)
            for other in ("_buffers", "_modules"):
                d[other].pop(name, None)
            d.pop(name, None)
            reg[name] = value
        elif isinstance(value, Module):
            reg = self._registry("_modules", name)
            d["_parameters"].pop(name, None)
            d["_buffers"].pop(name, None)
            d.pop(name, None)
            reg[name] = value
        elif "_parameters" in d and name in d["_parameters"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter '{name}' "
                    "(a Parameter or None is expected); set .data to change its values"
                )
            d["_parameters"][name] = None
        elif "_modules" in d and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module '{name}' "
                    "(a Module or None is expected)"
                )
            d["_modules"][name] = None
        elif "_buffers" in d and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign {type(value).__name__} as buffer '{name}' "
                    "(a Tensor or None is expected)"
                )
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: look in the registries.
        d = self.__dict__
        for kind in ("_parameters", "_buffers", "_modules"):
            reg = d.get(kind)
            if reg is not None and name in reg:
                return reg[name]
        if name in _REGISTRIES:  # a subclass whose __init__ never called super().__init__()
            raise ModuleInitError(
                f"{type(self).__name__} was not initialised: its __init__ must call "
                "super().__init__() before using the module"
            )
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for kind in ("_parameters", "_buffers", "_modules"):
            reg = self.__dict__.get(kind)
            if reg is not None and name in reg:
                del reg[name]
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list:
        extra = [
            k
            for kind in ("_parameters", "_buffers", "_modules")
            for k in self.__dict__.get(kind, {})
        ]
        return sorted(set(super().__dir__()) | set(extra))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: '{name}' must be a Parameter or None, "
                f"got {type(param).__name__}"
            )
        self._registry("_parameters", name)[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor that is state but not learned (e.g. running statistics)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: '{name}' must be a Tensor or None, got {type(tensor).__name__}"
            )
        self._registry("_buffers", name)[name] = tensor
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: '{name}' must be a Module, got {type(module).__name__}")
        self._registry("_modules", name)[name] = module

    register_module = add_module

    # -- running -------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(); define forward(self, ...)"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- walking the tree ----------------------------------------------------------------
    def named_modules(
        self, memo: set | None = None, prefix: str = ""
    ) -> Iterator[tuple[str, Module]]:
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mprefix, m in mods:
            for name, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield mprefix + ("." if mprefix else "") + name, p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mprefix, m in mods:
            for name, b in m._buffers.items():
                if b is not None:
                    yield mprefix + ("." if mprefix else "") + name, b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[[Module], None]) -> Module:
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- training state ------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError("train(): mode must be a bool")  # noqa: TRY004  (PyTorch raises ValueError)
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters (set to None, as PyTorch does by default)."""
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad._data[...] = 0

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move to a device (only 'cpu' exists) or convert floating parameters to a dtype."""
        dtype = kwargs.get("dtype")
        device = kwargs.get("device")
        for a in args:
            if isinstance(a, str) or type(a).__name__ == "Device":
                device = a
            elif isinstance(a, Tensor):
                dtype = a.dtype
            else:
                dtype = a
        if device is not None:
            _check_device(device, "Module.to()")
        if dtype is not None:
            dt = _dtype.as_dtype(dtype)
            if dt.kind != "f":
                raise TypeError(
                    f"Module.to(): only floating dtypes are allowed, got {_dtype.dtype_name(dt)}"
                )
            for m in self.modules():
                for t in list(m._parameters.values()) + list(m._buffers.values()):
                    if t is not None and t._data.dtype.kind == "f":
                        t._data = t._data.astype(dt)
                        if t.grad is not None:
                            t.grad._data = t.grad._data.astype(dt)
        return self

    def float(self) -> Module:
        return self.to(_dtype.float32)

    def double(self) -> Module:
        return self.to(_dtype.float64)

    def cpu(self) -> Module:
        return self

    # -- state -----------------------------------------------------------------------------
    def state_dict(
        self, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict:
        """Every parameter and persistent buffer by dotted name (`conv1.weight`), detached."""
        out = OrderedDict() if destination is None else destination
        for mprefix, m in self.named_modules(prefix=prefix.rstrip(".")):
            lead = mprefix + ("." if mprefix else "")
            for name, p in m._parameters.items():
                if p is not None:
                    out[lead + name] = p if keep_vars else p.detach()
            skip = m.__dict__.get("_non_persistent", set())
            for name, b in m._buffers.items():
                if b is not None and name not in skip:
                    out[lead + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> Any:
        """Copy values in by name; with strict, missing/unexpected keys and shape mismatches all
        raise."""
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(
                f"load_state_dict: state_dict must be a dict of name -> tensor, got "
                f"{type(state_dict).__name__}"
            )
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for k, t in own.items():
            if k in state_dict:
                v = state_dict[k]
                shape = tuple(v.shape) if hasattr(v, "shape") else np.shape(v)
                if shape != tuple(t.shape):
                    mismatched.append(
                        f"{k}: checkpoint shape {shape}, model shape {tuple(t.shape)}"
                    )
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if mismatched:
            problems.append("size mismatch for " + "; ".join(mismatched))
        if problems:
            raise RuntimeError(
                f"load_state_dict for {type(self).__name__}: " + " | ".join(problems)
            )
        with grad_mode.no_grad():
            for k, t in own.items():
                if k in state_dict:
                    v = state_dict[k]
                    arr = v._data if isinstance(v, Tensor) else np.asarray(v)
                    t._data[...] = arr.astype(t._data.dtype, copy=False)
                    t._vc[0] += 1
        return _IncompatibleKeys(missing, unexpected)

    # -- printing ----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if not lines:
            return f"{self._get_name()}()"
        if len(lines) == 1 and not self._modules:
            return f"{self._get_name()}({lines[0]})"
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class _IncompatibleKeys(tuple):
    def __new__(cls, missing: list, unexpected: list) -> _IncompatibleKeys:  # noqa: PYI034
        return super().__new__(cls, (missing, unexpected))

    @property
    def missing_keys(self) -> list:
        return self[0]

    @property
    def unexpected_keys(self) -> list:
        return self[1]

    def __repr__(self) -> str:
        if not self[0] and not self[1]:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self[0]}, unexpected_keys={self[1]})"
