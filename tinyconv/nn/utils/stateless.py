"""functional_call: run a module with other tensors in place of its parameters and buffers,
as torch.func.functional_call (and its deprecated alias torch.nn.utils.stateless.functional_call).

The module's own tensors are swapped out for the call and put back afterwards, even when the
call raises. This is what lets torch.func-style code treat a model as a pure function of a
dict of parameters (for per-sample gradients, ensembling, meta-learning).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from ..._errors import TensorValueError
from ..module import Module

__all__ = ["functional_call"]


def _merge_dicts(dicts: Any) -> dict:
    """One dict from a dict or a list/tuple of dicts whose keys must not overlap."""
    if isinstance(dicts, Mapping):
        return dict(dicts)
    if isinstance(dicts, Sequence) and all(isinstance(d, Mapping) for d in dicts):
        merged: dict = {}
        for d in dicts:
            repeated = [k for k in d if k in merged]
            if repeated:
                raise TensorValueError(
                    f"{repeated} appeared in multiple dictionaries; behavior of functional "
                    "call is ambiguous"
                )
            merged.update(d)
        return merged
    raise TensorValueError(
        "Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
        f"{type(dicts)}"
    )


def _tied_names(module: Module) -> dict[str, list[str]]:
    """Every name of every parameter and buffer -> all names of that same tensor."""
    by_tensor: dict[int, list[str]] = {}
    for named in (module.named_parameters, module.named_buffers):
        for name, t in named(remove_duplicate=False):
            by_tensor.setdefault(id(t), []).append(name)
    return {name: names for names in by_tensor.values() for name in names}


def _with_ties(module: Module, given: dict, tie_weights: bool, strict: bool) -> dict:
    """The name -> tensor map to install: tied names follow the one given, and strict mode
    checks that every name is covered and none is unknown."""
    tied = _tied_names(module)
    values = dict(given)
    if tie_weights:
        for name, names in tied.items():
            supplied = [n for n in names if n in given]
            # the same tensor under several tied names is fine; different ones are ambiguous
            if len({id(given[n]) for n in supplied}) > 1:
                raise TensorValueError(
                    f"functional_call got multiple values for keys {supplied}, which are tied. "
                    "Consider using tie_weights=False"
                )
            if supplied:
                values[name] = given[supplied[0]]
    if strict:
        unexpected = [k for k in given if k not in tied]
        missing = [k for k in tied if k not in values]
        if unexpected or missing:
            lines = [f"Error(s) in reparametrizing for {type(module).__name__}:"]
            if unexpected:
                lines.append(f"\tUnexpected key(s): {', '.join(repr(k) for k in unexpected)}.")
            if missing:
                lines.append(f"\tMissing key(s): {', '.join(repr(k) for k in missing)}.")
            raise RuntimeError("\n".join(lines))
    return values


@contextmanager
def _swapped(module: Module, values: dict) -> Iterator[None]:
    """Put `values` (dotted name -> tensor) in place of the module's tensors, then restore."""
    undo = []
    try:
        for name, value in values.items():
            prefix, _, attr = name.rpartition(".")
            owner = module.get_submodule(prefix) if prefix else module
            for kind in ("_parameters", "_buffers"):
                registry = owner.__dict__[kind]
                if attr in registry:
                    undo.append((registry, attr, registry[attr]))
                    registry[attr] = value  # straight into the registry: no Parameter check
                    break
            else:  # not a parameter or buffer: a plain attribute for the call, as PyTorch
                undo.append((owner.__dict__, attr, owner.__dict__.get(attr, _ABSENT)))
                owner.__dict__[attr] = value
        yield
    finally:
        for registry, attr, old in reversed(undo):
            if old is _ABSENT:
                del registry[attr]
            else:
                registry[attr] = old


_ABSENT = object()


def _call(
    module: Module,
    parameter_and_buffer_dicts: Any,
    args: Any,
    kwargs: dict | None,
    tie_weights: bool,
    strict: bool,
) -> Any:
    if not isinstance(module, Module):
        raise TypeError(f"functional_call: module must be a Module, got {type(module).__name__}")
    given = _merge_dicts(parameter_and_buffer_dicts)
    values = _with_ties(module, given, tie_weights, strict)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _swapped(module, values):
        return module(*args, **(kwargs or {}))


def functional_call(
    module: Module,
    parameters_and_buffers: Any,
    args: Any = None,
    kwargs: dict | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """module(*args, **kwargs) with the tensors of `parameters_and_buffers` (a dict, or a
    tuple of dicts, dotted name -> Tensor of that parameter's shape) in place of the module's
    own; the rest stay. Deprecated in PyTorch 2 in favour of tinyconv.func.functional_call."""
    warnings.warn(
        "`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be "
        "removed in a future version of PyTorch. Please use `torch.func.functional_call` "
        "instead which is a drop-in replacement.",
        FutureWarning,
        stacklevel=2,
    )
    return _call(module, parameters_and_buffers, args, kwargs, tie_weights, strict)
