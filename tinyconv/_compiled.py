"""What torch.compile returns for an nn.Module: OptimizedModule, a module holding the original
as its child `_orig_mod` (so its state_dict keys start with `_orig_mod.`, as PyTorch's do, and
checkpoints saved from a compiled model load where PyTorch's load; nanoGPT strips that prefix)
and passing every other attribute through to it. tinyconv has no compiler: forward runs the
original module eagerly."""

from __future__ import annotations

from typing import Any

from .nn.module import Module

__all__ = ["OptimizedModule"]


class OptimizedModule(Module):
    """`compiled(x)` is `compiled._orig_mod(x)`; attributes (config, custom methods, training)
    are the original module's, read and written through."""

    # (the names kept on the wrapper itself, as PyTorch's _opt_mod_attributes)
    _opt_mod_attributes = frozenset({"_orig_mod", "dynamo_ctx", "forward", "__dict__"})

    def __init__(self, mod: Module, dynamo_ctx: Any = None) -> None:
        super().__init__()
        self._orig_mod = mod
        object.__setattr__(self, "dynamo_ctx", dynamo_ctx)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._orig_mod(*args, **kwargs)

    @property
    def training(self) -> bool:  # type: ignore[override]
        orig = self.__dict__.get("_modules", {}).get("_orig_mod")
        return True if orig is None else orig.training

    @training.setter
    def training(self, mode: bool) -> None:
        orig = self.__dict__.get("_modules", {}).get("_orig_mod")
        if orig is not None:
            object.__setattr__(orig, "training", mode)

    def __getattr__(self, name: str) -> Any:
        if name == "_orig_mod":
            return self._modules["_orig_mod"]
        if name.startswith("__") or "_modules" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self._modules["_orig_mod"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(type(self), name) or name in self._opt_mod_attributes:
            return super().__setattr__(name, value)
        return setattr(self._orig_mod, name, value)
