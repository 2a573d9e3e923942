"""`Module` and `Parameter`: the bookkeeping that lets a network find its weights.

Assigning a Parameter or a Module to an attribute inside `__init__` registers
it (through `__setattr__`), so `parameters()`, `state_dict()` and `zero_grad()`
can walk the tree of submodules without the user listing anything.
"""

from __future__ import annotations

import functools
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .. import _dtype
from .._args import _check_device
from .._errors import TensorValueError
from ..autograd import grad_mode
from ..autograd.engine import RemovableHandle
from ..tensor import Size, Tensor
from .hooks import _HookState, setup_input_hook, setup_output_hook


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
        t._view_of = None
        t._vc = data._vc if isinstance(data, Tensor) else [0]
        if grad_mode._inference_tensors or grad_mode._inference:  # (data's alias: as data)
            grad_mode.mark_inference(t, isinstance(data, Tensor) and data.is_inference())
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


# nn.Buffer(t) marks a tensor so that assigning it to a Module attribute registers a buffer
# (PyTorch 2.5+). As in PyTorch, the mark is all there is: Buffer(t) returns a plain Tensor
# (t detached, keeping requires_grad) and isinstance(x, nn.Buffer) asks for the mark.
# id(tensor) -> (weak reference to it, persistent)
_buffer_marks: dict[int, tuple[Any, bool]] = {}


def _buffer_persistent(value: Any) -> bool | None:
    """The persistent flag of a tensor made by nn.Buffer, or None for any other value."""
    entry = _buffer_marks.get(id(value)) if _buffer_marks else None
    if entry is None or entry[0]() is not value:
        return None
    return entry[1]


class _BufferMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return _buffer_persistent(obj) is not None


class Buffer(metaclass=_BufferMeta):
    """`self.x = nn.Buffer(t, persistent=True)` in a Module registers `t` as a buffer (a
    non-persistent one stays out of state_dict()), as register_buffer does."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Any:
        if data is None:
            data = Tensor._make(np.zeros(0, dtype=_dtype.get_default_dtype()), None, False)
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer: data must be a Tensor, got {type(data).__name__}")
        t = data.detach().requires_grad_(data.requires_grad)
        key = id(t)
        ref = weakref.ref(t, lambda _r, key=key, d=_buffer_marks: d.pop(key, None))
        _buffer_marks[key] = (ref, bool(persistent))
        return t


def _factory_dtype(device: Any, dtype: Any, what: str) -> np.dtype:
    """A layer constructor's `device` and `dtype` (PyTorch's factory keywords): the device is
    checked as tinyconv's tensor factories check it (the CPU only: 'meta', 'cuda' or a bad
    string raise as `torch.empty(2, device=...)` does), before the layer draws any weight;
    the dtype defaults to the default float dtype."""
    if device is not None:
        _check_device(device, what)
    return _dtype.get_default_dtype() if dtype is None else _dtype.as_dtype(dtype)


def _rebuild_parameter(data: np.ndarray, requires_grad: bool) -> Parameter:
    return Parameter(Tensor._make(data, None, False), requires_grad)


class ModuleInitError(AttributeError, RuntimeError):
    """A Module used before Module.__init__() ran: an AttributeError as in PyTorch, and a
    RuntimeError."""


# What Module.__init__ creates; reading one of them on a module whose __init__ never called
# super().__init__() gets the "not initialised" error instead of a bare AttributeError.
_INIT_ATTRS = (
    "training",
    "_parameters",
    "_buffers",
    "_non_persistent_buffers_set",
    "_modules",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_backward_pre_hooks",
    "_backward_hooks",
    "_state_dict_pre_hooks",
    "_state_dict_hooks",
    "_load_state_dict_pre_hooks",
    "_load_state_dict_post_hooks",
)

_EXTRA_STATE_KEY = "_extra_state"  # state_dict's key (after the prefix) for get_extra_state()

# Hooks on every module (register_module_forward_hook & co.), run before each module's own.
_global_forward_pre_hooks: OrderedDict = OrderedDict()
_global_forward_hooks: OrderedDict = OrderedDict()
_global_forward_hooks_always_called: OrderedDict = OrderedDict()
_global_backward_pre_hooks: OrderedDict = OrderedDict()
_global_backward_hooks: OrderedDict = OrderedDict()


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """hook(module, args) before every module's forward (may return new args)."""
    handle = RemovableHandle(_global_forward_pre_hooks)
    _global_forward_pre_hooks[handle.id] = hook
    return handle


def register_module_forward_hook(
    hook: Callable, *, with_kwargs: bool = False, always_call: bool = False
) -> RemovableHandle:
    """hook(module, args, output) after every module's forward (may return a new output)."""
    if with_kwargs:
        raise NotImplementedError(
            "register_module_forward_hook: with_kwargs=True is not supported for global hooks "
            "in tinyconv; register it on the module"
        )
    handle = RemovableHandle(_global_forward_hooks, extra_dict=_global_forward_hooks_always_called)
    _global_forward_hooks[handle.id] = hook
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook: Callable) -> RemovableHandle:
    """hook(module, grad_output) for every module, when its output gradients are known."""
    handle = RemovableHandle(_global_backward_pre_hooks)
    _global_backward_pre_hooks[handle.id] = hook
    return handle


def register_module_full_backward_hook(hook: Callable) -> RemovableHandle:
    """hook(module, grad_input, grad_output) for every module, after its input gradients."""
    handle = RemovableHandle(_global_backward_hooks)
    _global_backward_hooks[handle.id] = hook
    return handle


def _check_name(kind: str, name: Any) -> None:
    """PyTorch's rules for a registered name: a non-empty str without a dot."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')


class Module:
    """Base class of layers and networks: subclass it, set attributes in __init__, define
    forward."""

    training: bool
    # The layout version of this module's state, stored in state_dict()._metadata; a subclass
    # that changes its layout bumps it and reads it back in _load_from_state_dict (PyTorch's
    # protocol; torchvision's MNASNet, for one, relies on it).
    _version: int = 1
    # PyTorch's flags: dump_patches is unused (kept for old code that sets it); with
    # call_super_init, Module.__init__ passes its arguments on to the next class in the MRO
    # (for a Module mixed with another class that takes them)
    dump_patches: bool = False
    call_super_init: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # (PyTorch's messages: Module.__init__ takes no arguments unless call_super_init)
        if kwargs and not self.call_super_init:
            raise TypeError(
                f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                f"'{next(iter(kwargs))}'"
            )
        if args and not self.call_super_init:
            raise TypeError(
                f"{type(self).__name__}.__init__() takes 1 positional argument but "
                f"{len(args) + 1} were given"
            )
        # object.__setattr__: our own __setattr__ reads these registries
        object.__setattr__(self, "training", True)
        for name in _INIT_ATTRS[1:]:
            empty: Any = set() if name == "_non_persistent_buffers_set" else OrderedDict()
            if name in ("_parameters", "_buffers", "_modules"):
                empty = {}  # (plain dicts, as PyTorch 2's: they print as {...})
            object.__setattr__(self, name, empty)
        if self.call_super_init:
            super().__init__(*args, **kwargs)

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
            self._registry("_parameters", name)
            d.pop(name, None)
            d["_buffers"].pop(name, None)
            d["_modules"].pop(name, None)
            d["_non_persistent_buffers_set"].discard(name)
            self.register_parameter(name, value)
        elif "_parameters" in d and name in d["_parameters"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter '{name}' "
                    "(a Parameter or None is expected); set .data to change its values"
                )
            d["_parameters"][name] = None
        elif isinstance(value, Module):
            reg = self._registry("_modules", name)
            d.pop(name, None)
            d["_parameters"].pop(name, None)
            d["_buffers"].pop(name, None)
            d["_non_persistent_buffers_set"].discard(name)
            reg[name] = value
        elif "_modules" in d and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module '{name}' "
                    "(a Module or None is expected)"
                )
            d["_modules"][name] = None
        elif _buffer_marks and (persistent := _buffer_persistent(value)) is not None:
            self.register_buffer(name, value, persistent)
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
        if name in _INIT_ATTRS:  # a subclass whose __init__ never called super().__init__()
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
                if kind == "_buffers":
                    self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __setstate__(self, state: dict) -> None:
        # a module pickled before a registry existed still gets every one
        self.__dict__.update(state)
        for name in _INIT_ATTRS[1:]:
            if name not in self.__dict__:
                empty: Any = set() if name == "_non_persistent_buffers_set" else OrderedDict()
                self.__dict__[name] = empty

    def __dir__(self) -> list:
        keys = (
            list(dir(type(self)))
            + list(self.__dict__)
            + list(self._parameters)
            + list(self._modules)
            + list(self._buffers)
        )
        # ModuleList/Sequential entries ('0', '1', ...) are not attribute names
        return sorted({k for k in keys if not k[0].isdigit()})

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` under `name` (None: a slot with no parameter, e.g. bias=False)."""
        reg = self._registry("_parameters", name)
        _check_name("parameter", name)
        if hasattr(self, name) and name not in reg:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: '{name}' must be a Parameter or None, "
                f"got {type(param).__name__}"
            )
        if param is not None and param.grad_fn is not None:
            raise TensorValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}': a parameter must be a "
                "leaf; compute it in forward() instead"
            )
        reg[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor that is state but not learned (e.g. running statistics); a non-persistent
        one stays out of state_dict()."""
        reg = self._registry("_buffers", name)
        _check_name("buffer", name)
        if hasattr(self, name) and name not in reg:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: '{name}' must be a Tensor or None, got {type(tensor).__name__}"
            )
        reg[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` as the child `name` (what assigning an attribute does)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        reg = self._registry("_modules", name)
        _check_name("module", name)
        if hasattr(self, name) and name not in reg:
            raise KeyError(f"attribute '{name}' already exists")
        reg[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path `target` ('' is the module itself)."""
        mod = self
        if target == "":
            return mod
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Put `module` at the dotted path `target` ('block.conv'), whose parent must exist;
        with strict, the attribute must exist too. Replacing a non-module raises."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        atoms = target.split(".")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent = self if len(atoms) == 1 else self.get_submodule(".".join(atoms[:-1]))
        if strict and not hasattr(parent, atoms[-1]):
            raise AttributeError(parent._get_name() + " has no attribute `" + atoms[-1] + "`")
        if hasattr(parent, atoms[-1]) and not isinstance(getattr(parent, atoms[-1]), Module):
            raise AttributeError("`" + atoms[-1] + "` is not an nn.Module")
        setattr(parent, atoms[-1], module)

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path `target` (e.g. 'layer1.0.conv1.weight')."""
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at dotted path `target` (e.g. 'bn1.running_mean')."""
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(mod, name)

    # -- hooks ---------------------------------------------------------------------------
    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """hook(module, args) -> None or new args (a non-tuple is wrapped), before forward;
        with_kwargs: hook(module, args, kwargs) -> None or (new_args, new_kwargs)."""
        handle = RemovableHandle(
            self._forward_pre_hooks, extra_dict=self._forward_pre_hooks_with_kwargs
        )
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(
        self,
        hook: Callable,
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """hook(module, args, output) -> None or a replacement output, after forward;
        with_kwargs: hook(module, args, kwargs, output); always_call: also when forward
        raised (with output None)."""
        handle = RemovableHandle(
            self._forward_hooks,
            extra_dict=[self._forward_hooks_with_kwargs, self._forward_hooks_always_called],
        )
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """hook(module, grad_output) -> None or replacement grad_output, when backward reaches
        the module's outputs (one entry per output; None where no gradient came)."""
        handle = RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[handle.id] = hook
        if prepend:
            self._backward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        """PyTorch's deprecated (non-full) backward hook: hook(module, grad_input, grad_output)
        on the node of the module's (first) output, so grad_input holds the gradients w.r.t.
        that last op's inputs (for a Conv2d: input, weight and bias), not necessarily the
        module's; register_full_backward_hook gives the module's own."""
        return self._add_backward_hook(hook, full=False, prepend=False)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """hook(module, grad_input, grad_output) -> None or replacement grad_input, once the
        gradients w.r.t. the module's positional inputs are computed (one entry per positional
        argument: None for non-Tensors)."""
        return self._add_backward_hook(hook, full=True, prepend=prepend)

    def _add_backward_hook(self, hook: Callable, full: bool, prepend: bool) -> RemovableHandle:
        """One module takes one kind of backward hook, as PyTorch's (``_is_full_backward_hook``:
        None until the first, then True for full hooks, False for the deprecated ones)."""
        if self.__dict__.get("_is_full_backward_hook") is (not full):
            raise RuntimeError(
                "Cannot use both regular backward hooks and full backward hooks on a "
                "single Module. Please use only one of them."
            )
        object.__setattr__(self, "_is_full_backward_hook", full)
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        if prepend:
            self._backward_hooks.move_to_end(handle.id, last=False)
        return handle

    # -- running -------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f'Module [{self._get_name()}] is missing the required "forward" function'
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (
            self._forward_pre_hooks
            or self._forward_hooks
            or self._backward_hooks
            or self._backward_pre_hooks
            or _global_forward_pre_hooks
            or _global_forward_hooks
            or _global_backward_hooks
            or _global_backward_pre_hooks
        ):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        """PyTorch's order: forward pre-hooks (global first), the input side of the backward
        hooks, forward, forward hooks (global first), the output side of the backward hooks.
        If any of the first four raises, the always_call forward hooks not yet run still run."""
        hooks = (*_global_forward_hooks.items(), *self._forward_hooks.items())
        called: set = set()
        result = None
        try:
            for hid, hook in (
                *_global_forward_pre_hooks.items(),
                *self._forward_pre_hooks.items(),
            ):
                if hid in self._forward_pre_hooks_with_kwargs:
                    res = hook(self, args, kwargs)
                    if res is not None:
                        if not (isinstance(res, tuple) and len(res) == 2):
                            raise RuntimeError(
                                "forward pre-hook must return None or a tuple of (new_args, "
                                f"new_kwargs), but got {res}."
                            )
                        args, kwargs = res
                else:
                    res = hook(self, args)
                    if res is not None:
                        args = res if isinstance(res, tuple) else (res,)
            legacy = self.__dict__.get("_is_full_backward_hook") is False  # register_backward_hook
            full = [
                *_global_backward_hooks.values(),
                *([] if legacy else self._backward_hooks.values()),
            ]
            pre = [*_global_backward_pre_hooks.values(), *self._backward_pre_hooks.values()]
            state = _HookState(self, full, pre, len(args)) if full or pre else None
            if state is not None and full:
                args = setup_input_hook(state, args)
            result = self.forward(*args, **kwargs)
            for hid, hook in hooks:
                called.add(hid)
                if hid in self._forward_hooks_with_kwargs:
                    res = hook(self, args, kwargs, result)
                else:
                    res = hook(self, args, result)
                if res is not None:
                    result = res
        except Exception:
            # the always_call hooks not yet run still run, given the result so far (None if
            # forward raised; their errors only warn), then the error goes on
            always = {**_global_forward_hooks_always_called, **self._forward_hooks_always_called}
            for hid, hook in hooks:
                if hid in always and hid not in called:
                    try:
                        if hid in self._forward_hooks_with_kwargs:
                            res = hook(self, args, kwargs, result)
                        else:
                            res = hook(self, args, result)
                        if res is not None:
                            result = res
                    except Exception as e:  # noqa: BLE001  (PyTorch warns and re-raises the first)
                        warnings.warn(
                            f"forward hook with always_call=True raised an exception that was "
                            f"ignored: {e!r}",
                            stacklevel=3,
                        )
            raise
        if state is not None:
            if not full or not state.has_input_node:
                if full and grad_mode.is_grad_enabled() and _needs_grad(result):
                    warnings.warn(
                        "Full backward hook is firing when gradients are computed with respect "
                        "to module outputs since no inputs require gradients.",
                        stacklevel=3,
                    )
            result = setup_output_hook(state, result, lambda msg: warnings.warn(msg, stacklevel=4))
        if legacy and self._backward_hooks:
            self._hook_output_node(args, result)
        return result

    def _hook_output_node(self, args: tuple, result: Any) -> None:
        """register_backward_hook's hooks go on the node of the first output tensor, as
        PyTorch's, with its FutureWarnings where they will miss gradients."""
        var = result
        while not isinstance(var, Tensor):
            var = (
                next(v for v in var.values() if isinstance(v, Tensor))
                if isinstance(var, dict)
                else var[0]
            )
        node = var.grad_fn
        if node is None:
            return
        for hook in self._backward_hooks.values():
            node.register_hook(lambda gi, go, hook=hook: hook(self, gi, go))
        outs = (result,) if isinstance(result, Tensor) else result
        ins = args
        if not (isinstance(outs, tuple) and all(isinstance(r, Tensor) for r in outs)):
            problem = "does not return a single Tensor or a tuple of Tensors"
        elif not all(isinstance(i, Tensor) for i in ins):
            problem = "does not take as input a single Tensor or a tuple of Tensors"
        else:
            out_nodes = {r.grad_fn for r in outs if r.grad_fn is not None}
            in_nodes = {i.grad_fn for i in ins if i.grad_fn is not None}
            if len(out_nodes) > 1:
                problem = "has outputs generated by different autograd Nodes"
            elif in_nodes != {n for n, _ in node.next_functions}:
                problem = "has a forward that contains multiple autograd Nodes"
            else:
                return
        warnings.warn(
            f"Using a non-full backward hook on a Module that {problem} is deprecated and will "
            "be removed in future versions; this hook will be missing some gradients. Please "
            "use register_full_backward_hook to get the documented behavior.",
            FutureWarning,
            stacklevel=4,
        )

    # -- walking the tree ----------------------------------------------------------------
    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every submodule, depth first; a module
        reachable twice comes once unless remove_duplicate=False."""
        memo = set() if memo is None else memo
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(
                    memo, prefix + ("." if prefix else "") + name, remove_duplicate
                )

    def modules(self, remove_duplicate: bool = True) -> Iterator[Module]:
        """This module and every submodule, depth first (a module reachable twice comes
        once unless remove_duplicate=False)."""
        for _, m in self.named_modules(remove_duplicate=remove_duplicate):
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and m not in seen:
                seen.add(m)
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(
        self,
        get_members_fn: Callable[[Module], Any],
        prefix: str = "",
        recurse: bool = True,
        remove_duplicate: bool = True,
    ) -> Iterator[tuple[str, Any]]:
        """(dotted name, member) for the (name, member) pairs get_members_fn(module) gives for
        this module and, with recurse, every submodule (PyTorch's signature: named_parameters
        passes `lambda m: m._parameters.items()`); a member reached twice comes once unless
        remove_duplicate=False."""
        seen: set = set()  # ids: a Tensor's == is elementwise
        mods = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for mprefix, m in mods:
            for name, v in get_members_fn(m):
                if v is None or id(v) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield mprefix + ("." if mprefix else "") + name, v

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter); a parameter shared by two modules comes once (under its
        first name) unless remove_duplicate=False."""
        return self._named_members(
            lambda m: m._parameters.items(), prefix, recurse, remove_duplicate
        )

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """fn(m) for every submodule (children first) and then self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- training state ------------------------------------------------------------------
    def compile(self, *args: Any, **kwargs: Any) -> None:
        """As nn.Module.compile (torch.compile on this module's forward): tinyconv has no
        compiler, so the module runs eagerly, unchanged, with tinyconv.compile's warning."""
        warnings.warn(
            "tinyconv.compile: tinyconv has no compiler; the model runs eagerly, unchanged",
            UserWarning,
            stacklevel=2,
        )

    def train(self, mode: bool = True) -> Module:
        """Set training mode here and in every child (through their own train()); self."""
        if not isinstance(mode, bool):
            raise TensorValueError(
                "train(): mode must be a bool (training mode is expected to be boolean), "
                f"got {type(mode).__name__}"
            )
        object.__setattr__(self, "training", mode)
        for m in self.children():
            m.train(mode)
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
                    if p.grad.grad_fn is not None:  # (PyTorch's order: a view grad stays one)
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad_(False)
                    p.grad._data[...] = 0

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> Module:
        """``fn`` applied to every parameter and buffer, and to their grads, as PyTorch's
        ``_apply`` (which ``to``, ``float``, ``double``, ``half``, ``type`` and ``cpu`` go
        through): children first, each through its own ``_apply``, so a subclass that overrides
        it to convert tensors of its own (YOLO's anchors) sees every conversion. Parameters and
        buffers stay the same objects, their data replaced, so an optimiser holding them keeps
        working. A converted buffer is a new tensor, as PyTorch's (a reference to the old one
        keeps the old values and dtype)."""
        if recurse:
            for m in self.children():
                m._apply(fn)
        for name, buf in list(self._buffers.items()):
            if buf is not None:
                with grad_mode.no_grad():
                    new = fn(buf)
                if new is not buf:
                    if buf.grad is not None:
                        new.grad = fn(buf.grad)
                    self._buffers[name] = new.requires_grad_(buf.requires_grad)
        for t in self._parameters.values():
            if t is None:
                continue
            with grad_mode.no_grad():
                new = fn(t)
                if new is not t:
                    t._data = new._data
                if t.grad is not None:
                    g = fn(t.grad)
                    if g is not t.grad:
                        t.grad._data = g._data
        return self

    def _cast(self, dt: np.dtype, floating_only: bool) -> Module:
        """Convert parameters and buffers (and their grads) in place (``_apply``)."""

        def convert(t: Tensor) -> Tensor:
            if (floating_only and t._data.dtype.kind != "f") or t._data.dtype == dt:
                return t
            return Tensor._make(t._data.astype(dt), None, False)

        return self._apply(convert)

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move to a device (only 'cpu' exists) or convert floating parameters and buffers to a
        floating dtype: to(dtype), to(device), to(device, dtype), to(tensor); memory_format=
        lays out the 4-D and 5-D ones (channels_last for conv weights)."""
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
            if dtype is None:
                self._apply(lambda t: t)  # (one device: nothing moves, but overrides run)
        if dtype is not None:
            dt = _dtype.as_dtype(dtype)
            if dt.kind != "f":
                raise TypeError(
                    f"Module.to(): only floating dtypes are allowed, got {_dtype.dtype_name(dt)}"
                )
            self._cast(dt, floating_only=True)
        fmt = kwargs.get("memory_format")
        if fmt is not None:
            # as PyTorch: only the 4-D and 5-D parameters and buffers (conv weights) change
            # layout, the same objects in place; their values stay as they were
            for m in self.modules():
                for t in list(m._parameters.values()) + list(m._buffers.values()):
                    if t is None or t.ndim not in (4, 5):
                        continue
                    t._data = t.detach().to(memory_format=fmt)._data
                    if t.grad is not None:
                        t.grad._data = t.grad.to(memory_format=fmt)._data
        return self

    def type(self, dst_type: Any) -> Module:
        """Convert every parameter and buffer (integer ones too, as PyTorch) to dst_type."""
        return self._cast(_dtype.as_dtype(dst_type), floating_only=False)

    def float(self) -> Module:
        return self._cast(_dtype.float32, floating_only=True)

    def double(self) -> Module:
        return self._cast(_dtype.float64, floating_only=True)

    def half(self) -> Module:
        return self._cast(_dtype.float16, floating_only=True)

    def cpu(self) -> Module:
        return self._apply(lambda t: t)  # (one device: nothing moves, but overrides run)

    def cuda(self, device: Any = None) -> Module:
        """No GPU: raises as PyTorch's CPU-only build does (guard with cuda.is_available())."""
        raise AssertionError("Torch not compiled with CUDA enabled")

    def bfloat16(self) -> Module:
        """Raises: tinyconv has no bfloat16 (as Tensor.bfloat16)."""
        return self._cast(_dtype.bfloat16, floating_only=True)

    def to_empty(self, *, device: Any, recurse: bool = True) -> Module:
        """Every parameter and buffer replaced by a new uninitialised one of its shape on
        `device` (zeros here); for modules built on PyTorch's meta device, which tinyconv lacks,
        so it only re-creates the storage."""
        _check_device(device, "to_empty()")
        modules = self.modules() if recurse else [self]
        for m in modules:
            for reg in (m._parameters, m._buffers):
                for t in reg.values():
                    if t is not None:
                        with grad_mode.no_grad():
                            t._data = np.zeros_like(t._data)
                            t._vc[0] += 1
        return self

    def share_memory(self) -> Module:
        """Mark every parameter and buffer shared (`Tensor.share_memory_`), as torch.multiprocessing
        scripts (Hogwild training) do before starting workers; returns self."""
        for t in (*self.parameters(), *self.buffers()):
            t.share_memory_()
        return self

    # -- state -----------------------------------------------------------------------------
    def state_dict(
        self, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict:
        """Every parameter and persistent buffer by dotted name (`conv1.weight`), detached
        unless keep_vars; a module reachable twice is listed under both names, as PyTorch."""
        if args:  # PyTorch's deprecated positional form (destination, prefix, keep_vars)
            given = [destination, prefix, keep_vars]
            given[: len(args)] = args[:3]
            destination, prefix, keep_vars = given
        out = OrderedDict() if destination is None else destination
        if not hasattr(out, "_metadata"):
            out._metadata = OrderedDict()
        # per module, under its prefix without the trailing dot ('' for the root)
        local_metadata = {"version": self._version}
        out._metadata[prefix[:-1]] = local_metadata
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(out, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=out, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            result = hook(self, out, prefix, local_metadata)
            if getattr(hook, "_from_public_api", False):
                if result is not None:
                    raise RuntimeError("state_dict post-hook must return None")
            elif result is not None:
                out = result  # (the private hook may hand back a new dict)
        return out

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        """This module's own entries (not its children's): parameters, persistent buffers and,
        when the class defines get_extra_state, `prefix + '_extra_state'`."""
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + _EXTRA_STATE_KEY] = self.get_extra_state()

    def get_extra_state(self) -> Any:
        """State beyond parameters and buffers for state_dict(): a module that has some
        overrides this and set_extra_state (the default is never called)."""
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called. "
            "Please file an issue at https://github.com/pytorch/pytorch/issues/new?template="
            "bug-report.yml to report this bug."
        )

    def set_extra_state(self, state: Any) -> None:
        """Receives what get_extra_state() returned, at load_state_dict()."""
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called. "
            "Please file an issue at https://github.com/pytorch/pytorch/issues/new?template="
            "bug-report.yml to report this bug."
        )

    def register_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, prefix, keep_vars) -> None, before state_dict() collects this module."""
        handle = RemovableHandle(self._state_dict_pre_hooks)
        self._state_dict_pre_hooks[handle.id] = hook
        return handle

    def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, state_dict, prefix, local_metadata) -> None, after state_dict()
        collected this module and its children (it may change state_dict in place)."""
        hook._from_public_api = True
        handle = RemovableHandle(self._state_dict_hooks)
        self._state_dict_hooks[handle.id] = hook
        return handle

    def _register_state_dict_hook(self, hook: Callable) -> RemovableHandle:
        """The older, private post-hook: hook(module, state_dict, prefix, local_metadata)
        may return a new state_dict."""
        if getattr(hook, "_from_public_api", False):
            raise RuntimeError(
                "Cannot register the same function as the state dict post hook that was "
                "previously registered via register_state_dict_post_hook"
            )
        handle = RemovableHandle(self._state_dict_hooks)
        self._state_dict_hooks[handle.id] = hook
        return handle

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs) -> None, before this module loads its entries."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(
        self, hook: Callable, with_module: bool = False
    ) -> RemovableHandle:
        """As register_load_state_dict_pre_hook; without with_module the hook is not given
        the module."""
        handle = RemovableHandle(self._load_state_dict_pre_hooks)
        self._load_state_dict_pre_hooks[handle.id] = (
            functools.partial(hook, self) if with_module else hook
        )
        return handle

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, incompatible_keys) -> None, after load_state_dict() loaded this module
        and its children; it may edit incompatible_keys' lists in place."""
        handle = RemovableHandle(self._load_state_dict_post_hooks)
        self._load_state_dict_post_hooks[handle.id] = hook
        return handle

    def _load_from_state_dict(
        self,
        state_dict: Mapping,
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: list,
        unexpected_keys: list,
        error_msgs: list,
    ) -> None:
        """Load this module's own entries (`prefix` + name) from state_dict; PyTorch's
        signature, which subclasses override (and call) with these seven arguments.
        local_metadata is what state_dict() stored for this module ({'version': ...}), plus
        'assign_to_params_buffers' when load_state_dict(assign=True)."""
        for hook in self._load_state_dict_pre_hooks.values():
            hook(
                state_dict,
                prefix,
                local_metadata,
                strict,
                missing_keys,
                unexpected_keys,
                error_msgs,
            )
        missing, unexpected, errors = missing_keys, unexpected_keys, error_msgs
        assign = bool(local_metadata.get("assign_to_params_buffers", False))
        local = {k: v for k, v in self._parameters.items() if v is not None}
        local.update(
            (k, v)
            for k, v in self._buffers.items()
            if v is not None and k not in self._non_persistent_buffers_set
        )
        for name, t in local.items():
            key = prefix + name
            if key not in state_dict:
                missing.append(key)
                continue
            v = state_dict[key]
            if isinstance(v, Tensor):
                arr = v._data
            elif isinstance(v, np.ndarray):
                arr = v
            else:
                errors.append(
                    f'While copying the parameter named "{key}", expected a Tensor from the '
                    f"checkpoint but received {type(v)}"
                )
                continue
            if arr.ndim == 1 and t._data.ndim == 0 and arr.shape == (1,):
                arr = arr.reshape(())  # (old checkpoints stored 0-d values as shape (1,))
            if arr.shape != t._data.shape:
                errors.append(
                    f"size mismatch for {key}: copying a param with shape "
                    f"{Size(arr.shape)!r} from checkpoint, the shape in current model is "
                    f"{Size(t._data.shape)!r}."
                )
                continue
            if assign:  # (the checkpoint's tensor itself, its dtype included, as PyTorch's)
                given = isinstance(v, Tensor) and arr is v._data
                new = v if given else Tensor._make(arr, None, False)
                if name in self._parameters:
                    setattr(self, name, Parameter(new, requires_grad=t.requires_grad))
                else:
                    self._buffers[name] = new
            else:
                with grad_mode.no_grad():
                    t._data[...] = arr.astype(t._data.dtype, copy=False)
                    t._vc[0] += 1  # an in-place write: saved-for-backward checks see it
        extra_key = prefix + _EXTRA_STATE_KEY
        if type(self).set_extra_state is not Module.set_extra_state:
            if extra_key in state_dict:
                self.set_extra_state(state_dict[extra_key])
            elif strict:
                missing.append(extra_key)
        elif strict and extra_key in state_dict:
            unexpected.append(extra_key)
        for key in state_dict if strict else ():
            if key.startswith(prefix) and key != extra_key:
                first = key[len(prefix) :].split(".", 1)[0]
                if first not in self._modules and first not in local:
                    unexpected.append(key)

    def load_state_dict(
        self, state_dict: Mapping, strict: bool = True, assign: bool = False
    ) -> _IncompatibleKeys:
        """Copy values in by name. A shape mismatch always raises; with strict, so do missing
        and unexpected keys. Returns (missing_keys, unexpected_keys). assign=True puts the
        loaded tensors in place of the parameters instead of copying into them."""
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(
                f"load_state_dict: state_dict must be a dict of name -> tensor, got "
                f"{type(state_dict).__name__}"
            )
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        missing: list = []
        unexpected: list = []
        errors: list = []

        def load(module: Module, sd: OrderedDict, prefix: str) -> None:
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = True
            # strict=True here as in PyTorch: unexpected keys are always collected (and
            # returned); load_state_dict's own strict decides whether they raise
            module._load_from_state_dict(
                sd, prefix, local_metadata, True, missing, unexpected, errors
            )
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    load(
                        child,
                        OrderedDict((k, v) for k, v in sd.items() if k.startswith(child_prefix)),
                        child_prefix,
                    )
            # (post-hooks run as each module's subtree finishes: they see the keys so far)
            for hook in module._load_state_dict_post_hooks.values():
                if hook(module, _IncompatibleKeys(missing, unexpected)) is not None:
                    raise AssertionError(
                        "Hooks registered with ``register_load_state_dict_post_hook`` are not "
                        "expected to return new values, if incompatible_keys need to be "
                        "modified, it should be done inplace."
                    )

        load(self, state_dict, "")
        if strict:
            if unexpected:
                keys = ", ".join(f'"{k}"' for k in unexpected)
                errors.insert(0, f"Unexpected key(s) in state_dict: {keys}. ")
            if missing:
                keys = ", ".join(f'"{k}"' for k in missing)
                errors.insert(0, f"Missing key(s) in state_dict: {keys}. ")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        return _IncompatibleKeys(missing, unexpected)

    # -- printing ----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """This module's own settings for its repr (a layer returns e.g. 'in_features=2, ...')."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        # PyTorch's layout: Name(extra) on one line when there is one extra line and no
        # child; else one line per extra line and per child '(name): repr', indented by 2
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()
        ]
        lines = extra_lines + child_lines
        if not lines:
            return f"{self._get_name()}()"
        if len(extra_lines) == 1 and not child_lines:
            return f"{self._get_name()}({extra_lines[0]})"
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


def _needs_grad(result: Any) -> bool:
    items = result if isinstance(result, tuple) else (result,)
    return any(isinstance(r, Tensor) and r.requires_grad for r in items)


class _IncompatibleKeys(NamedTuple):
    """What load_state_dict returns: the keys it did not find and those it did not use."""

    missing_keys: list
    unexpected_keys: list

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
            f"unexpected_keys={self.unexpected_keys})"
        )


# (PyTorch's name, private, is the class's: `type(m.load_state_dict(sd)).__name__` shows it)
IncompatibleKeys = _IncompatibleKeys
