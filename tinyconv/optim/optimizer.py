"""Optimizer base: parameter groups, per-parameter state, zero_grad, state_dict."""

from __future__ import annotations

import builtins
import copy
import functools
import itertools
import numbers
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import _dtype
from .._errors import TensorValueError
from ..autograd import grad_mode
from ..autograd.engine import RemovableHandle
from ..tensor import Tensor

# hooks around every optimizer's step (register_optimizer_step_pre_hook / post_hook)
_global_optimizer_pre_hooks: OrderedDict = OrderedDict()
_global_optimizer_post_hooks: OrderedDict = OrderedDict()

_HOOK_DICTS = (
    "_optimizer_step_pre_hooks",
    "_optimizer_step_post_hooks",
    "_optimizer_state_dict_pre_hooks",
    "_optimizer_state_dict_post_hooks",
    "_optimizer_load_state_dict_pre_hooks",
    "_optimizer_load_state_dict_post_hooks",
)


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs), before every
    optimizer's step."""
    handle = RemovableHandle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """hook(optimizer, args, kwargs) -> None, after every optimizer's step."""
    handle = RemovableHandle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[handle.id] = hook
    return handle


def _with_step_hooks(step: Callable) -> Callable:
    """step, running the global and the optimizer's own step hooks around it (PyTorch's
    order: global pre-hooks, own pre-hooks, step, own post-hooks, global post-hooks)."""

    @functools.wraps(step)
    def hooked(*args: Any, **kwargs: Any) -> Any:
        self = args[0]
        pre = getattr(self, "_optimizer_step_pre_hooks", {})
        for hook in itertools.chain(_global_optimizer_pre_hooks.values(), pre.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(
                        f"{step} must return None or a tuple of (new_args, new_kwargs), but got "
                        f"{result}."
                    )
        out = step(*args, **kwargs)
        post = getattr(self, "_optimizer_step_post_hooks", {})
        for hook in itertools.chain(post.values(), _global_optimizer_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    hooked._hooked = True  # type: ignore[attr-defined]
    return hooked


class _RequiredParameter:
    """The type of `required`: the default of a hyperparameter every group must give."""

    def __repr__(self) -> str:
        return "<required parameter>"


# `defaults = {"lr": required}` (old custom optimizers: `def __init__(self, params, lr=required)`)
# makes add_param_group refuse a group without its own lr, as PyTorch's does
required = _RequiredParameter()


class HyperparameterTypeError(builtins.TypeError, builtins.ValueError):
    """A hyperparameter that is not a number (lr='0.1', lr=None): PyTorch raises TypeError
    (its range check compares it to a float); tinyconv raised ValueError. This is both."""

    def __reduce__(self) -> tuple:
        return (builtins.TypeError, self.args)


HyperparameterTypeError.__name__ = HyperparameterTypeError.__qualname__ = "TypeError"
HyperparameterTypeError.__module__ = "builtins"


def check_nonnegative(who: str, name: str, value: Any) -> None:
    """Hyperparameters such as eps, weight_decay and momentum must be numbers >= 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not value >= 0
    ):
        raise TensorValueError(f"{who}: invalid {name}={value!r} (must be a number >= 0)")


def check_hyperparameter(
    who: str, name: str, value: Any, ok: Callable[[Any], bool], expected: str, says: str
) -> None:
    """Refuse a bad hyperparameter with PyTorch's words (`says`, e.g. 'Invalid learning rate',
    then the value, so code matching PyTorch's message still matches) and tinyconv's: the
    argument's name and what it must be. A value that is not a real number is a TypeError."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{who}: {name} must be a real number, got {type(value).__name__}")
    if not ok(value):
        raise TensorValueError(f"{who}: {says}: {value} ({name} must be {expected})")


def check_not_negative(who: str, name: str, value: Any, says: str) -> None:
    """lr, eps, weight_decay and the like: a number >= 0 (`says`: PyTorch's words)."""
    check_hyperparameter(who, name, value, lambda v: 0.0 <= v, "a number >= 0", says)


def check_lr(who: str, lr: Any) -> None:
    """A learning rate: a number >= 0, or a 1-element Tensor holding one (PyTorch accepts a
    Tensor lr, which schedulers then change in place)."""
    if isinstance(lr, Tensor):
        if lr.numel() != 1:
            raise TensorValueError(
                f"{who}: Tensor lr must be 1-element, got a tensor of shape {tuple(lr.shape)}"
            )
        lr = lr.item()
    check_not_negative(who, "lr", lr, "Invalid learning rate")


def scalar_lr(lr: Any, fused: bool | None = False) -> Any:
    """The lr an update computes with. A Tensor lr becomes a NumPy scalar of its dtype, so
    that the update's scalar arithmetic on it (lr / bias_correction, 1 - lr * weight_decay)
    rounds as PyTorch's 0-d tensor arithmetic does: for a float32 lr, in float32. An integer
    Tensor lr computes in the default float dtype, as PyTorch promotes it there. A fused
    optimizer's kernel reads a Tensor lr as a double: a Python float."""
    if not isinstance(lr, Tensor):
        return lr
    if fused:
        return float(lr.item())
    value = lr._data.reshape(())
    if value.dtype.kind not in "fc":
        value = value.astype(_dtype.as_dtype(_dtype.get_default_dtype()))
    return value[()]


def numbers_of(group: dict) -> dict:
    """The group as the updates compute with it: its Tensor hyperparameters (lr, momentum,
    weight_decay, eps, betas...) as NumPy scalars of their dtypes (scalar_lr), rounding as
    PyTorch's 0-d tensor arithmetic does; the group itself when it holds none. (The updates'
    in-place NumPy arithmetic cannot take a Tensor: `buf *= momentum` made a new array.)"""
    out = None
    for k, v in group.items():
        if k == "params":
            continue
        if isinstance(v, Tensor):
            new = scalar_lr(v, group.get("fused") if k == "lr" else False)
        elif isinstance(v, tuple) and any(isinstance(b, Tensor) for b in v):
            new = tuple(scalar_lr(b) for b in v)
        else:
            continue
        if out is None:
            out = dict(group)
        out[k] = new
    return group if out is None else out


def scalar_pow(base: Any, exponent: int) -> Any:
    """base ** exponent for the bias corrections: for a NumPy scalar (a Tensor beta), as
    PyTorch's pow of a 0-d tensor by a number rounds, which multiplies a cube out and raises
    a float32 base to any other power in double precision (std::pow(float, double), the
    exponent being a double), rounding once to float32: NumPy's float32 power (powf) is a
    float32 computation, an ulp off that in about 1 case in 1500 (0.986 ** 4)."""
    if isinstance(base, np.generic) and exponent == 3:
        return base * base * base
    if isinstance(base, np.float32):
        return np.float32(np.float64(base) ** exponent)
    return base**exponent


def check_betas(who: str, betas: Any, name: str = "betas", says: str = "beta parameter") -> None:
    """Each of the two coefficients in [0, 1), refused with PyTorch's words otherwise."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{who}: {name} must be a pair of numbers, got {betas!r}")
    for i, b in enumerate(betas):
        if isinstance(b, Tensor):  # (PyTorch takes a 0-d or 1-element Tensor beta too)
            if b.numel() != 1:
                raise RuntimeError(
                    f"{who}: Boolean value of Tensor with more than one value is ambiguous "
                    f"({name}[{i}] must be a number or a 1-element Tensor)"
                )
            b = b.item()  # noqa: PLW2901
        check_hyperparameter(
            who,
            f"{name}[{i}]",
            b,
            lambda v: 0.0 <= v < 1.0,
            "in [0, 1)",
            f"Invalid {says} at index {i}",
        )


def check_fused(who: str, fused: Any, foreach: Any, differentiable: Any) -> None:
    """PyTorch's checks of fused=True at construction (SGD, Adam, AdamW, Adagrad take it: on
    the CPU PyTorch's fused kernels compute the update tinyconv computes)."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def check_step_flags(groups: list[dict]) -> None:
    """What PyTorch's step does with capturable=True or differentiable=True on the CPU, which
    both accept at construction: capturable asserts the parameters are on a CUDA-like device;
    differentiable runs the update with grad enabled, whose in-place write to a parameter that
    requires grad raises. (tinyconv never differentiates through a step: where PyTorch would
    build a graph, it refuses.)"""
    for group in groups:
        if not (group.get("capturable") or group.get("differentiable")):
            continue  # (the usual case: no pass over the parameters)
        with_grad = [p for p in group["params"] if p.grad is not None]
        if not with_grad:
            continue
        if group.get("capturable"):
            raise AssertionError(
                "If capturable=True, params and state_steps must be on supported devices: "
                "['cuda', 'xpu', 'hpu', 'privateuseone', 'xla']."
            )
        if group.get("differentiable"):
            if any(p.requires_grad for p in with_grad):
                raise RuntimeError(
                    "a leaf Variable that requires grad is being used in an in-place operation."
                )
            if any(p.grad.requires_grad for p in with_grad):
                raise NotImplementedError(
                    "differentiable=True with gradients that require grad: tinyconv never "
                    "differentiates through an optimiser step"
                )


def coupled_gradient(p: Tensor, grad: np.ndarray, group: dict) -> np.ndarray:
    """The gradient an update follows: negated for ``maximize``, plus ``weight_decay * p``
    (L2 decay coupled into the gradient, as PyTorch's SGD, RMSprop, Adadelta, Adamax)."""
    g = -grad if group["maximize"] else grad
    if group["weight_decay"]:
        g = g + group["weight_decay"] * p._data
    return g


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """start += weight * (end - start) in place, rounded the way PyTorch's lerp_ rounds
    (from the nearer end: for weight >= 0.5 it computes end - (end - start) * (1 - weight))."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def _scalar_dtype(groups: list[dict]) -> Any:
    """The dtype of the step counts: the default float dtype, float32 for a fused optimizer
    (PyTorch's _get_scalar_dtype)."""
    if any(g.get("fused") for g in groups):
        return _dtype.float32
    return _dtype.get_default_dtype()


class Optimizer:
    """Holds `param_groups` (lists of parameters with their hyperparameters) and `state`."""

    _step_dtype: Any = _dtype.float32  # (set at the first step: see step())

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        self.defaults = defaults
        # (a defaultdict, as PyTorch's: a custom step may read self.state[p] before writing it)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        for name in _HOOK_DICTS:
            setattr(self, name, OrderedDict())
        self._patch_step_function()
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or dicts, "
                "got a single Tensor; wrap it in a list"
            )
        groups = list(params)
        if not groups:
            raise TensorValueError(
                f"{type(self).__name__}: got an empty parameter list (did the model "
                "register any parameters? check super().__init__() and attribute names)"
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def _patch_step_function(self) -> None:
        """Make this class's step run the step hooks (once per class, as PyTorch patches it;
        a subclass's own step is wrapped when its first instance is made)."""
        cls = type(self)
        # (not the base class itself: its step is the update the built-in optimizers run
        # through super().step(), whose hooks their own wrapped step already runs)
        if cls is not Optimizer and not getattr(cls.step, "_hooked", False):
            cls.step = _with_step_hooks(cls.step)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for name in _HOOK_DICTS:  # (an optimizer pickled without hooks gets empty ones)
            self.__dict__.setdefault(name, OrderedDict())
        for group in self.__dict__.get("param_groups", []):
            self._fill_group(group)
        self._patch_step_function()

    def _register(self, name: str, hook: Callable, prepend: bool) -> RemovableHandle:
        hooks = getattr(self, name)
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs), before step()."""
        return self._register("_optimizer_step_pre_hooks", hook, False)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """hook(optimizer, args, kwargs) -> None, after step()."""
        return self._register("_optimizer_step_post_hooks", hook, False)

    def register_state_dict_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """hook(optimizer) -> None, before state_dict() builds the dict."""
        return self._register("_optimizer_state_dict_pre_hooks", hook, prepend)

    def register_state_dict_post_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """hook(optimizer, state_dict) -> None or a new state_dict, after state_dict()."""
        return self._register("_optimizer_state_dict_post_hooks", hook, prepend)

    def register_load_state_dict_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """hook(optimizer, state_dict) -> None or the state_dict to load instead, before
        load_state_dict() (it receives a shallow copy, which it may change)."""
        return self._register("_optimizer_load_state_dict_pre_hooks", hook, prepend)

    def register_load_state_dict_post_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """hook(optimizer) -> None, after load_state_dict()."""
        return self._register("_optimizer_load_state_dict_post_hooks", hook, prepend)

    def add_param_group(self, group: dict) -> None:
        """Fill in the defaults and append `group` itself, as PyTorch does: the dict a program
        passed is the one in `param_groups`, so changing its "lr" later changes the optimiser."""
        if not isinstance(group, dict):
            raise TypeError(
                f"{type(self).__name__}: param_group must be a dict, got {type(group).__name__}"
            )
        params = group["params"]
        if isinstance(params, set):
            raise TypeError(
                f"{type(self).__name__}: optimizer parameters need to be organized in ordered "
                "collections, but the ordering of tensors in sets will change between runs; "
                "use a list instead"
            )
        params = [params] if isinstance(params, Tensor) else list(params)
        # model.named_parameters(): (name, parameter) pairs; the names go to "param_names"
        # (added after the keys the group already has, as PyTorch adds it), for state_dict()
        names = [p[0] for p in params if isinstance(p, tuple)]
        group["params"] = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise TensorValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            group["param_names"] = names
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: can only optimize Tensors, got {type(p).__name__}"
                )
            if not p.is_leaf:
                raise TensorValueError(f"{type(self).__name__}: can't optimize a non-leaf Tensor")
        for k, v in self.defaults.items():
            if v is required and k not in group:
                raise TensorValueError(
                    f"parameter group didn't specify a value of required optimization parameter {k}"
                )
            group.setdefault(k, v)
        self._check_group(group)
        ids = [id(p) for p in group["params"]]
        if len(set(ids)) != len(ids):
            # (PyTorch warns and keeps both entries: the parameter is updated twice a step,
            # with one state; a shared embedding listed by an encoder and a decoder does this)
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, "
                "this will cause an error; see github.com/pytorch/pytorch/issues/40967 for more "
                "information",
                UserWarning,
                stacklevel=3,
            )
            self._duplicate_params = True  # (SGD's step reads it: see SGD._step_with_duplicates)
        for g in self.param_groups:
            if ("param_names" in g) != ("param_names" in group):
                kind = "with names" if "param_names" in group else "without names"
                raise TensorValueError(
                    "all optimizer param groups should be with/without names. cannot add "
                    f"param group {kind} to the optimizer"
                )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise TensorValueError(
                f"{type(self).__name__}: some parameters appear in more than one parameter group"
            )
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        if "lr" not in group:  # (a custom optimizer need not have one, as in PyTorch)
            return
        lr = group["lr"]
        if isinstance(lr, Tensor):
            check_lr(type(self).__name__, lr)
            return
        if not isinstance(lr, numbers.Real):
            raise HyperparameterTypeError(
                f"{type(self).__name__}: invalid learning rate lr={lr!r} (must be a number >= 0, "
                f"got a {type(lr).__name__})"
            )
        if lr < 0:
            raise TensorValueError(
                f"{type(self).__name__}: invalid learning rate lr={lr!r} (must be a number >= 0)"
            )

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (None by default, as in PyTorch)."""
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        # (a grad of backward(create_graph=True) leaves the graph first, as
                        # PyTorch's: detached if it has a grad_fn, else stops requiring grad)
                        if p.grad.grad_fn is not None:
                            p.grad.detach_()
                        else:
                            p.grad.requires_grad_(False)
                        p.grad._data[...] = 0

    _duplicate_params = False  # a group listed a parameter twice (add_param_group warned)

    # The options a group of an older checkpoint may lack, filled in as the class's
    # __setstate__ fills them in PyTorch (in its order: the keys go after the checkpoint's)
    _group_defaults: tuple[tuple[str, Any], ...] = ()

    def _fill_group(self, group: dict) -> None:
        for k, v in self._group_defaults:
            group.setdefault(k, v)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = None
        if closure is not None:
            with grad_mode.enable_grad():
                loss = closure()
        check_step_flags(self.param_groups)
        if not any(self.state.values()):  # first step: state dicts show step counts in this dtype
            self._step_dtype = _scalar_dtype(self.param_groups)
        states = self.state
        with grad_mode.no_grad():
            for group in self.param_groups:
                group = numbers_of(group)  # noqa: PLW2901
                for p in group["params"]:
                    if p.grad is not None:
                        st = states.get(p)
                        if st is None:
                            arrays: dict = {}
                            self._update(p, p.grad._data, group, arrays)
                            if arrays:  # (SGD without momentum keeps no state, as PyTorch's)
                                states[p] = _state_tensors({}, arrays, self._step_dtype)
                        else:
                            arrays = _state_arrays(st)
                            self._update(p, p.grad._data, group, arrays)
                            _state_tensors(st, arrays, self._step_dtype)
                        p._vc[0] += 1
        return loss

    def _update(self, p: Tensor, grad: np.ndarray, group: dict, state: dict) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """{'state': {index: {...arrays as Tensors...}}, 'param_groups': [...]} with parameters
        as indices."""
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        index: dict = {}
        groups = []
        start = 0
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            # PyTorch's numbering: by position, counting every entry; a parameter a group lists
            # twice takes its last position there (its state is keyed by that index)
            index.update({id(p): i for i, p in enumerate(g["params"], start) if id(p) not in index})
            packed["params"] = [index[id(p)] for p in g["params"]]
            start += len(g["params"])
            groups.append(packed)
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                if p in self.state:
                    st = self.state[p]
                    if any(_holds_array(v) for v in st.values()):
                        st = {k: _exported(k, v, self._step_dtype) for k, v in st.items()}
                    # (else the state's own dict, as PyTorch's state_dict holds it: later
                    # steps, an int count's too, show in it)
                    state[index[id(p)]] = st
        out = {"state": state, "param_groups": groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            result = hook(self, out)
            if result is not None:
                out = result
        return out

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what state_dict() returned; everything is checked before anything changes."""
        what = f"{type(self).__name__}.load_state_dict"
        if isinstance(state_dict, dict):
            state_dict = state_dict.copy()  # (a shallow copy, for the pre-hooks to change)
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            got = (
                sorted(map(str, state_dict))
                if isinstance(state_dict, dict)
                else type(state_dict).__name__
            )
            raise TensorValueError(
                f"{what}: state_dict must be a dict with keys 'state' and 'param_groups' "
                f"(what optimizer.state_dict() returns), got {got}"
            )
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise TensorValueError(
                f"{what}: the checkpoint has {len(groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        params = [p for g in self.param_groups for p in g["params"]]
        for n, (mine, theirs) in enumerate(zip(self.param_groups, groups, strict=False)):
            if len(mine["params"]) != len(theirs["params"]):
                raise TensorValueError(
                    f"{what}: parameter group {n} has {len(theirs['params'])} parameters in the "
                    f"checkpoint but {len(mine['params'])} here"
                )
        state: defaultdict = defaultdict(dict)
        for i, st in state_dict["state"].items():
            try:
                p = params[int(i)] if int(i) >= 0 else None
            except (TypeError, ValueError, IndexError):
                p = None
            if p is None:
                raise TensorValueError(
                    f"{what}: the checkpoint has state for parameter index {i!r}, but this "
                    f"optimizer has {len(params)} parameters (indices 0..{len(params) - 1})"
                )
            entry = {}
            for k, v in st.items():
                if k == "step" and isinstance(v, Tensor) and v._data.ndim == 0:
                    # PyTorch keeps the checkpoint's step Tensor itself (never cast, issue
                    # 74424): steps count on in it, seen by whoever else holds it
                    entry[k] = v
                    continue
                if isinstance(v, (Tensor, np.ndarray)):
                    arr = v._data if isinstance(v, Tensor) else v
                    want = self._state_shape(k, p._data.shape)
                    if arr.ndim and arr.shape != want:
                        raise TensorValueError(
                            f"{what}: state '{k}' of parameter {i} has shape {tuple(arr.shape)} "
                            f"but should have {want} for a parameter of shape {tuple(p.shape)}"
                        )
                    # (the step count: PyTorch's checkpoints hold a float32 Tensor)
                    # (an array of the parameter's dtype is taken as it is, as PyTorch's
                    # .to(dtype) returns the same tensor: the loaded state aliases it)
                    v = int(arr) if k == "step" else np.asarray(arr, dtype=p.dtype)
                entry[k] = v
            if type(self)._update is Optimizer._update and isinstance(entry.get("step"), int):
                # a program's own optimizer (its own step()) keeps its Python int count, as in
                # PyTorch; the built-in ones count in a 0-d Tensor (their __setstate__ makes one)
                count = entry.pop("step")
                state[p] = _state_tensors({}, entry, self._step_dtype)
                state[p]["step"] = count
            else:
                state[p] = _state_tensors({}, entry, self._step_dtype)
        # The groups become copies of the checkpoint's, holding this optimizer's parameters
        # (new dicts, the checkpoint's keys in its order, as PyTorch's): the names of
        # named_parameters() come from the checkpoint, or stay as they were if it has none
        new_groups = []
        for mine, theirs in zip(self.param_groups, groups, strict=False):
            group = {
                k: mine["params"] if k == "params" else copy.deepcopy(v) for k, v in theirs.items()
            }
            if "param_names" in mine and "param_names" not in group:
                group["param_names"] = mine["param_names"]
            self._fill_group(group)
            new_groups.append(group)
        self.param_groups = new_groups
        self.state = state
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)

    def _state_shape(self, key: str, shape: tuple) -> tuple:
        """The shape state entry `key` has for a parameter of `shape` (the parameter's own,
        unless an optimizer keeps a reduced one)."""
        return shape

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            if i:
                lines.append("")  # PyTorch's blank line between groups
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)


# The state users see (opt.state[p]) holds Tensors, as PyTorch's: opt.state[p]["exp_avg"] is a
# Tensor (.norm(), .abs().max()...), and the step count a 0-d Tensor (of the default float dtype
# of the first step) that each step increments in place. The updates work on arrays and a
# Python int: _update gets a dict of them, and whatever it stores is wrapped again after (an
# array in a Tensor over it: no copy, and a change a user makes in place to a state Tensor is
# seen by the next step). Handing them in and out costs about 2-6 us a parameter a step (10
# LeNet-sized parameters, 1 thread: SGD with momentum 117 -> 135 us, Adam 475 -> 532 us).
def _state_arrays(st: dict) -> dict:
    """The state of one parameter as _update works on it: each Tensor's array, the step an int."""
    out = {}
    for k, v in st.items():
        if isinstance(v, Tensor):
            v = int(v._data) if k == "step" else v._data  # noqa: PLW2901
        out[k] = v
    return out


def _state_tensors(st: dict, arrays: dict, step_dtype: Any) -> dict:
    """``st`` updated from _update's ``arrays``: arrays as Tensors over them (the Tensor
    already there kept when it holds that very array), the step count as a 0-d Tensor of
    ``step_dtype``, anything else as it is."""
    for k, v in arrays.items():
        if isinstance(v, np.ndarray):
            old = st.get(k)
            if not (isinstance(old, Tensor) and old._data is v):
                st[k] = Tensor._make(v, None, False)
        elif k == "step" and isinstance(v, int):
            old = st.get(k)
            if isinstance(old, Tensor) and old._data.ndim == 0 and old._data.flags.writeable:
                old._data[()] = v  # (the same Tensor counts on, as PyTorch's step does)
            else:
                st[k] = Tensor._make(np.array(v, _dtype.as_dtype(step_dtype)), None, False)
        else:
            st[k] = v
    return st


def _holds_array(value: Any) -> bool:
    """Is value (or an item of a list value) a bare array, which state_dict() shows as a
    Tensor?"""
    if isinstance(value, list):
        return any(_holds_array(v) for v in value)
    return isinstance(value, np.ndarray)


def _exported(key: str, value: Any, step_dtype: Any) -> Any:
    """One state entry as state_dict() shows it: the state's own Tensors (PyTorch's
    state_dict holds them, so later steps show in it); L-BFGS's arrays as Tensors sharing
    their memory; anything else (a program's own optimizer's int step count) as it is."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor._make(value, None, False)
    if isinstance(value, list):  # (L-BFGS's history: lists of arrays, None where unused)
        return [_exported(key, v, step_dtype) for v in value]
    return value
