"""Grad mode: whether ops record the graph for backward.

`no_grad()` and `enable_grad()` work as context managers and as decorators,
like PyTorch's. As in PyTorch the mode belongs to a thread: a `no_grad()` in an evaluation
thread leaves the training thread recording, and a new thread starts with grad mode on.
Every op reads it on its hot path as `grad_mode.enabled` (a property of this module that
reads the thread's state, ~0.05 us).
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _ThreadState(threading.local):
    """This thread's grad mode and inference mode (the class's values: a new thread's), and
    whether ops record: grad mode on and inference mode off (an enable_grad() inside
    inference_mode() turns grad mode on, but records nothing, as in PyTorch)."""

    grad = True
    inference = False
    enabled = True  # = grad and not inference, kept so (_set): what every op reads


def _set(grad: bool, inference: bool) -> None:
    state = _state
    state.grad, state.inference = grad, inference
    state.enabled = grad and not inference


_state = _ThreadState()
# True once any thread has entered inference mode: a plain global, so that making a tensor
# (make_tensor asks whether it is an inference tensor) reads the thread's state only then
_inference_ever = False


class _GradModeModule(types.ModuleType):
    """This module's type: `grad_mode.enabled` and `grad_mode._inference` read and write the
    calling thread's state."""

    @property
    def enabled(self) -> bool:
        return _state.enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        _set(bool(value), _state.inference)

    @property
    def _inference(self) -> bool:
        return _state.inference

    @_inference.setter
    def _inference(self, value: bool) -> None:
        global _inference_ever
        _set(_state.grad, bool(value))
        _inference_ever = _inference_ever or bool(value)


sys.modules[__name__].__class__ = _GradModeModule

# saved_tensors_hooks (autograd/graph.py): the stack of (pack_hook, unpack_hook) pairs; ops
# that record a node hand what they save for backward to the innermost pair
saved_hooks: list = []
# disable_saved_tensors_hooks: the error message while hooks are refused, else None
saved_hooks_refused: str | None = None
# > 0 while a graph_backward (create_graph=True) runs: turning a Tensor that requires grad
# into a NumPy array there would silently cut the graph of the gradient, so it raises.
graph_backward_depth: int = 0
# > 0 while a torch.func transform (grad, vjp, jvp, jacrev, jacfwd, vmap) calls its function:
# there, as in PyTorch, a user's autograd.Function must use the setup_context style
func_transforms: int = 0
func_vmaps: int = 0  # (of those, the vmaps: there a Function also needs a vmap rule)
func_forward: int = 0  # (of those, forward mode's, jvp and jacfwd: it needs a jvp rule)
# True while a forward_ad dual level is open: the untracked fast paths that skip
# Function.apply are off then (an op of a dual tensor must reach forward_ad's hook), and
# in-place writes hand their tangents on (forward_ad._written)
dual_level: bool = False


def is_grad_enabled() -> bool:
    """True when grad mode is on (ops record the graph for backward, outside inference mode)."""
    return _state.grad


def _decorate(factory: Callable[[], Any], func: F) -> F:
    """`func` run inside a fresh `factory()` context on every call. A generator function is
    wrapped step by step, as PyTorch does: its body runs in the mode, its caller between the
    `yield`s in its own (a `@no_grad()` data generator must not switch the loop's grad off)."""
    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def generator(*args: Any, **kwargs: Any) -> Any:
            gen = func(*args, **kwargs)
            try:
                with factory():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with factory():
                            gen.close()
                        raise
                    except BaseException:
                        with factory():
                            response = gen.throw(*sys.exc_info())
                    else:
                        with factory():
                            response = gen.send(request)
            except StopIteration as e:
                return e.value

        return generator  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with factory():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class set_grad_enabled:
    """Set grad mode to `mode` at once (so it also works as a plain call); as a context
    manager, restore it on exit; as a decorator (`@set_grad_enabled(False)`), leave the mode
    as it was and run the function in `mode`."""

    def __init__(self, mode: bool) -> None:
        self.prev = _state.grad
        self.mode = bool(mode)
        _set(self.mode, _state.inference)

    def __enter__(self) -> None:
        _set(self.mode, _state.inference)

    def __exit__(self, *exc: object) -> None:
        _set(self.prev, _state.inference)

    def __call__(self, func: F) -> F:
        _set(self.prev, _state.inference)
        mode = self.mode
        return _decorate(lambda: set_grad_enabled(mode), func)

    def __repr__(self) -> str:
        return f"{type(self).__module__}.{type(self).__qualname__}(mode={self.mode})"


class _GradModeContext:
    mode = True

    def __new__(cls, func: Any = None) -> Any:
        """`no_grad()` makes a context; `@no_grad` without parentheses decorates directly."""
        self = object.__new__(cls)  # (not super().__new__: ~0.1 us less per `with no_grad()`)
        return self if func is None else self(func)

    # (_set inlined, and the inference mode, which does not change here, read once and not
    # written: `with no_grad():` 0.66 -> 0.54 us, paid by every optimiser step)
    def __enter__(self) -> None:
        state = _state
        self.prev = state.grad
        mode = state.grad = self.mode
        state.enabled = mode and not state.inference

    def __exit__(self, *exc: object) -> None:
        state = _state
        mode = state.grad = self.prev
        state.enabled = mode and not state.inference

    def __call__(self, func: F) -> F:
        return _decorate(self.__class__, func)


class no_grad(_GradModeContext):
    """Context manager / decorator: ops inside record no graph."""

    mode = False


class set_multithreading_enabled:
    """PyTorch's switch for running backward on its device threads (a context manager and a
    decorator). tinyconv's backward always runs on the calling thread, so it only records
    the mode; the numbers are the same either way."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        pass

    def __call__(self, func: F) -> F:
        mode = self.mode
        return _decorate(lambda: set_multithreading_enabled(mode), func)

    def clone(self) -> set_multithreading_enabled:
        return self.__class__(self.mode)


class enable_grad(_GradModeContext):
    """Context manager / decorator: turn graph recording back on."""

    mode = True


# The inference tensors (made under inference_mode, and their views): id -> weak reference.
# PyTorch keeps a flag in each tensor; a table here keeps Tensor's slots (and make_tensor's
# work) as they are, and costs only while inference mode makes tensors.
_inference_tensors: dict[int, Any] = {}

INFERENCE_SAVED = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
    "inference mode in computation tracked by autograd. To work around this, you can make a "
    "clone to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead of "
    "`torch.inference_mode()`."
)
INFERENCE_INPLACE = (
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a "
    "clone to get a normal tensor before doing inplace update.See "
    "https://github.com/pytorch/rfcs/pull/17 for more details."
)


def is_inference_mode_enabled() -> bool:
    return _state.inference


def is_inference_tensor(t: Any) -> bool:
    """Was t made in inference mode (or is it a view of such a tensor)?"""
    if not _inference_tensors:
        return False
    ref = _inference_tensors.get(id(t))
    return ref is not None and ref() is t


def mark_inference(t: Any, inference: bool = True) -> None:
    """Record t as an inference tensor (or, with False, as a normal one)."""
    key = id(t)
    if not inference:
        if _inference_tensors:
            _inference_tensors.pop(key, None)
        return

    def forget(ref: Any, key: int = key) -> None:  # (t died: its id may be reused)
        if _inference_tensors.get(key) is ref:
            del _inference_tensors[key]

    _inference_tensors[key] = weakref.ref(t, forget)


def check_inplace_inference(t: Any) -> None:
    """PyTorch's refusal of an in-place write to an inference tensor outside inference mode."""
    if not _state.inference and _inference_tensors and is_inference_tensor(t):
        raise RuntimeError(INFERENCE_INPLACE)


class inference_mode:
    """`with inference_mode():` or `@inference_mode()`: no_grad, and the tensors made inside are
    inference tensors (`is_inference()`): outside inference mode they may not be saved for
    backward nor changed in place (RuntimeError, as PyTorch). `inference_mode(False)` turns
    grad mode on and inference mode off inside (PyTorch's InferenceMode(false))."""

    def __new__(cls, mode: Any = True) -> Any:
        self = super().__new__(cls)
        if callable(mode) and not isinstance(mode, bool):  # @inference_mode without parentheses
            self.mode = True
            return self(mode)
        self.mode = bool(mode)
        return self

    def __enter__(self) -> None:
        global _inference_ever
        state = _state
        self.prev = (state.grad, state.inference)
        _set(not self.mode, self.mode)
        _inference_ever = _inference_ever or self.mode

    def __exit__(self, *exc: object) -> None:
        _set(*self.prev)

    def __call__(self, func: F) -> F:
        mode = self.mode
        return _decorate(lambda: inference_mode(mode), func)
