"""`tinyconv.autograd.graph`, as torch.autograd.graph: hooks on the tensors ops save for backward.

Inside `saved_tensors_hooks(pack_hook, unpack_hook)`, every op that records a node calls
`pack_hook(t)` for each input or output Tensor it saves for backward, and keeps only what
the hook returns; backward calls `unpack_hook(that)` and uses the Tensor it returns. Which
tensors an op saves is the op's own choice (tinyconv's ops save what their backward needs,
mostly what PyTorch's save; some keep extra arrays of their own that are not handed out).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

from ..tensor import Tensor
from . import grad_mode
from .function import AccumulateGrad, Function, ShownNode

__all__ = [
    "Node",
    "disable_saved_tensors_hooks",
    "increment_version",
    "save_on_cpu",
    "saved_tensors_hooks",
]


def increment_version(tensor: Any) -> None:
    """Count one more in-place change of `tensor` (or of each tensor of an iterable), as if
    it had been written in place: a backward that saved it then raises, as in PyTorch. For
    code that changes a tensor's memory behind autograd's back (e.g. through .numpy())."""
    for t in (tensor,) if isinstance(tensor, Tensor) else tensor:
        t._vc[0] += 1


def is_tensor_like(inp: Any) -> bool:
    """Whether `inp` is a Tensor or behaves as one (its type defines __torch_function__)."""
    return isinstance(inp, Tensor) or hasattr(type(inp), "__torch_function__")


class Node(abc.ABC):  # noqa: B024  (PyTorch's: an ABC for isinstance only)
    """What every `grad_fn` (and every entry of `next_functions`) is an instance of:
    `isinstance(t.grad_fn, torch.autograd.graph.Node)`."""


Node.register(Function)
Node.register(AccumulateGrad)
Node.register(ShownNode)


class saved_tensors_hooks:  # noqa: N801  (PyTorch's name)
    """Context manager: `pack_hook(tensor) -> anything` runs when an op saves a tensor for
    backward, `unpack_hook(anything) -> Tensor` when backward needs it back. Nested
    contexts: the innermost pair applies."""

    def __init__(self, pack_hook: Callable[[Any], Any], unpack_hook: Callable[[Any], Any]):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> None:
        if grad_mode.saved_hooks_refused is not None:
            raise RuntimeError(grad_mode.saved_hooks_refused)
        grad_mode.saved_hooks.append((self.pack_hook, self.unpack_hook))

    def __exit__(self, *exc: object) -> None:
        grad_mode.saved_hooks.pop()


class save_on_cpu(saved_tensors_hooks):  # noqa: N801
    """Keep saved tensors on the CPU (a copy of each; everything is on the CPU already)."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack(t: Any) -> tuple:
            return (t.device, t.detach().clone())

        def unpack(packed: tuple) -> Any:
            device, t = packed
            return t.to(device)

        super().__init__(pack, unpack)


class disable_saved_tensors_hooks:  # noqa: N801
    """Context manager (or decorator) under which entering saved_tensors_hooks raises
    RuntimeError(error_message)."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self) -> None:
        self.prev = grad_mode.saved_hooks_refused
        grad_mode.saved_hooks_refused = self.error_message

    def __exit__(self, *exc: object) -> None:
        grad_mode.saved_hooks_refused = self.prev

    def __call__(self, func: Callable) -> Callable:
        import functools

        @functools.wraps(func)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return wrapped
