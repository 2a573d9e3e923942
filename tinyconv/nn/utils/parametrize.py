"""Parametrizations, as torch.nn.utils.parametrize: `module.weight` computed from other tensors.

`register_parametrization(module, "weight", P())` moves the weight to
`module.parametrizations.weight.original` and makes `module.weight` a property that returns
P()(original), recomputed at every access (so gradients reach `original`). As in PyTorch, the
module's class is swapped for a subclass `Parametrized<Class>` that holds the property, so
isinstance checks still pass and state_dict() lists `parametrizations.weight.original`.

Assigning `module.weight = X` stores right_inverse(X) in `original`; inside `with cached():`
each parametrized tensor is computed once and reused.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..._errors import TensorValueError
from ...autograd import grad_mode
from ...tensor import Tensor
from ..container import ModuleDict, ModuleList
from ..module import Module, Parameter

__all__ = [
    "ParametrizationList",
    "cached",
    "is_parametrized",
    "register_parametrization",
    "remove_parametrizations",
    "transfer_parametrizations_and_params",
    "type_before_parametrizations",
]

# cached(): how many `with cached()` blocks are open, and (id(module), name) -> tensor
_cache_enabled = 0
_cache: dict[tuple[int, str], Tensor] = {}


@contextmanager
def cached() -> Iterator[None]:
    """Inside the block, each parametrized tensor is computed at its first access and reused
    (e.g. one weight for every time step of an RNN); blocks may nest."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


def _register_parameter_or_buffer(module: Module, name: str, value: Tensor) -> None:
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _set_data(target: Tensor, value: Tensor) -> None:
    """target takes value's data (shape and dtype included) in place, as Tensor.set_: the
    object stays the same, so optimizers holding it keep working."""
    if value is not target:
        target._data = value._data
        target._vc[0] += 1


def _check_like(what: str, got: Any, dtype: Any, shape: tuple, hint: str) -> None:
    """got must be a Tensor of `dtype` and `shape` (the tensor being parametrized)."""
    if not isinstance(got, Tensor):
        raise TensorValueError(f"{what} must return a tensor. Got {type(got).__name__}.")
    if got.dtype != dtype:
        raise TensorValueError(
            f"{what} may not change the dtype of the tensor{hint}.\n"
            f"unparametrized dtype: {dtype}\nparametrized dtype: {got.dtype}"
        )
    if tuple(got.shape) != tuple(shape):
        raise TensorValueError(
            f"{what} may not change the shape of the tensor{hint}.\n"
            f"unparametrized shape: {tuple(shape)}\nparametrized shape: {tuple(got.shape)}"
        )


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the unparametrized tensor:
    `original` (or `original0`, `original1`, ... when right_inverse returns several)."""

    def __init__(self, modules: Sequence[Module], original: Tensor, unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise TensorValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = tuple(original.shape), original.dtype
        # original = right_inverse(original), through the parametrizations last to first
        with grad_mode.no_grad():
            new: Any = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, Sequence)):
            raise TensorValueError(
                "'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                f"Got {type(new).__name__}"
            )
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new.dtype != dtype:
                raise TensorValueError(
                    "When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                    f"original.dtype: {dtype}\nright_inverse(original).dtype: {new.dtype}"
                )
            with grad_mode.no_grad():
                _set_data(original, new)
            _register_parameter_or_buffer(self, "original", original)
        else:
            for i, part in enumerate(new):
                if not isinstance(part, Tensor):
                    raise TensorValueError(
                        "'right_inverse' must return a Tensor or a Sequence of tensors "
                        f"(list, tuple...). Got element {i} of type {type(part).__name__}"
                    )
                part = part.detach()
                if isinstance(original, Parameter):
                    part = Parameter(part, original.requires_grad)
                part.requires_grad_(original.requires_grad)
                _register_parameter_or_buffer(self, f"original{i}", part)
        if not self.unsafe:
            _check_like(
                "Registering a parametrization", self(), dtype, shape, " unless `unsafe` is set"
            )

    def _originals(self) -> list[Tensor]:
        if self.is_tensor:
            return [self.original]
        return [getattr(self, f"original{i}") for i in range(self.ntensors)]

    def forward(self) -> Tensor:
        """The parametrized tensor: the first parametrization on the originals, then the rest."""
        modules = list(self)
        x = modules[0](*self._originals())
        for module in modules[1:]:
            x = module(x)
        return x

    def right_inverse(self, value: Tensor) -> None:
        """Store the originals that make the parametrized tensor `value` (no graph)."""
        with grad_mode.no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(
                        f"parametrization {type(module).__name__} does not implement "
                        "right_inverse, so the parametrized tensor can't be assigned"
                    )
                value = module.right_inverse(value)
            parts = [value] if self.is_tensor else value
            if not self.is_tensor and (
                not isinstance(value, Sequence) or len(value) != self.ntensors
            ):
                raise TensorValueError(
                    f"'right_inverse' must return a sequence of {self.ntensors} tensors. "
                    f"Got {type(value).__name__}"
                )
            for original, part in zip(self._originals(), parts, strict=True):
                if not isinstance(part, Tensor):
                    raise TensorValueError(
                        f"`right_inverse` should return a tensor. Got {type(part).__name__}"
                    )
                if part.dtype != original.dtype:
                    raise TensorValueError(
                        "The tensor returned by `right_inverse` has dtype "
                        f"{part.dtype} while `original` has dtype {original.dtype}"
                    )
                _set_data(original, part)


def _parametrized_deepcopy(self: Module, memo: dict) -> Module:
    # the dynamic class can't be pickled, so copy by hand: same class, copied attributes
    if id(self) in memo:
        return memo[id(self)]
    replica = self.__new__(type(self))
    memo[id(self)] = replica
    replica.__dict__ = copy.deepcopy(self.__dict__, memo)
    return replica


def _parametrized_getstate(self: Module) -> Any:
    raise RuntimeError(
        "Serialization of parametrized modules is only supported through state_dict(): "
        "pickle module.state_dict() and register the parametrizations again to load it"
    )


def _inject_new_class(module: Module) -> None:
    """Give `module` its own subclass Parametrized<Class>, where the properties will live."""
    cls = type(module)
    namespace: dict[str, Any] = {"__getstate__": _parametrized_getstate}
    if not hasattr(cls, "__deepcopy__"):
        namespace["__deepcopy__"] = _parametrized_deepcopy
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), namespace)


def _inject_property(module: Module, tensor_name: str) -> None:
    """module.<tensor_name> reads the parametrization's output and assigns via right_inverse."""

    def get_parametrized(self: Module) -> Tensor:
        parametrization = self.parametrizations[tensor_name]
        if not _cache_enabled:
            return parametrization()
        key = (id(self), tensor_name)
        tensor = _cache.get(key)
        if tensor is None:
            tensor = _cache[key] = parametrization()
        return tensor

    def set_original(self: Module, value: Tensor) -> None:
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(type(module), tensor_name, property(get_parametrized, set_original))


def register_parametrization(
    module: Module, tensor_name: str, parametrization: Module, *, unsafe: bool = False
) -> Module:
    """Make `module.<tensor_name>` be parametrization(original); a second call on the same
    name applies the new parametrization after the earlier ones. Unless `unsafe`, the result
    must keep the tensor's shape and dtype. Returns the module."""
    if not isinstance(parametrization, Module):
        raise TypeError(
            "register_parametrization: parametrization must be an nn.Module, got "
            f"{type(parametrization).__name__}"
        )
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            current = getattr(module, tensor_name)
            shape, dtype = tuple(current.shape), current.dtype
            hint = " unless `unsafe` is set"
            _check_like(
                "Registering a parametrization", parametrization(current), dtype, shape, hint
            )
            if hasattr(parametrization, "right_inverse"):
                try:
                    inverse = parametrization.right_inverse(current)
                except NotImplementedError:
                    pass
                else:
                    _check_like("parametrization.right_inverse", inverse, dtype, shape, hint)
        plist = module.parametrizations[tensor_name]
        plist.append(parametrization)
        plist.unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        plist = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        module.parametrizations[tensor_name] = plist
        _inject_property(module, tensor_name)
    else:
        raise TensorValueError(
            f"Module '{module}' does not have a parameter, a buffer, or a parametrized "
            f"element with name '{tensor_name}'"
        )
    return module


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether `module` has any parametrization (or one on `tensor_name`)."""
    parametrizations = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    if tensor_name is None:
        return len(parametrizations) > 0
    return tensor_name in parametrizations


def remove_parametrizations(
    module: Module, tensor_name: str, leave_parametrized: bool = True
) -> Module:
    """Undo register_parametrization on `tensor_name`: it becomes a parameter (or buffer)
    again, holding the current parametrized value (leave_parametrized=True) or `original`.
    With no parametrizations left, the module gets its own class back."""
    if not is_parametrized(module, tensor_name):
        raise TensorValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with grad_mode.no_grad():
                _set_data(original, getattr(module, tensor_name))
    elif leave_parametrized:
        # a new tensor: the user has to give it to their optimizer
        t = getattr(module, tensor_name)
        original = Parameter(t.detach(), t.requires_grad) if t.requires_grad else t.detach()
    else:
        raise TensorValueError(
            "Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
            "parametrized in terms of a sequence of tensors."
        )
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module


def type_before_parametrizations(module: Module) -> type:
    """The module's class as it was before register_parametrization swapped it."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def transfer_parametrizations_and_params(
    from_module: Module, to_module: Module, tensor_name: str | None = None
) -> Module:
    """Give to_module the parametrizations of from_module (all, or those on tensor_name): the
    same parametrization modules and the same `original` tensors, shared. A tensor to_module
    lacks is first created as a Parameter holding from_module's current value."""
    if not is_parametrized(from_module):
        return to_module
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        source = from_module.parametrizations[name]
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name).detach()))
        for parametrization in source:
            register_parametrization(to_module, name, parametrization)
        target = to_module.parametrizations[name]
        originals = (
            ["original"] if source.is_tensor else [f"original{i}" for i in range(source.ntensors)]
        )
        for attr in originals:
            setattr(target, attr, getattr(source, attr))
    return to_module
