"""Pruning, as torch.nn.utils.prune: zero out parts of a parameter through a mask.

Pruning `module.weight` moves the parameter to `weight_orig`, adds the buffer `weight_mask`
(1 keeps an entry, 0 prunes it) and a forward pre-hook that sets the plain attribute
`module.weight = weight_mask * weight_orig` before every forward, so the pruned entries get
zero gradient while `weight_orig` stays the parameter the optimizer updates. Pruning the same
tensor again combines the methods in a PruningContainer: each new method only looks at the
entries (or channels) still alive. `remove` makes the pruning permanent.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ..._errors import TensorValueError
from ...creation import rand, rand_like
from ...kernels.select import torch_topk_indices
from ...tensor import Tensor
from ...torch_functions import cat
from ...torch_functions import norm as _norm
from ..module import Module

__all__ = [
    "BasePruningMethod",
    "CustomFromMask",
    "Identity",
    "L1Unstructured",
    "LnStructured",
    "PruningContainer",
    "RandomStructured",
    "RandomUnstructured",
    "custom_from_mask",
    "global_unstructured",
    "identity",
    "is_pruned",
    "l1_unstructured",
    "ln_structured",
    "random_structured",
    "random_unstructured",
    "remove",
]


class BasePruningMethod(ABC):
    """A way of choosing which entries of a tensor to prune: subclasses set PRUNING_TYPE
    ('unstructured', 'structured' with a `dim`, or 'global') and define compute_mask."""

    PRUNING_TYPE: str
    _tensor_name: str | None = None

    def __call__(self, module: Module, inputs: Any) -> None:
        # the forward pre-hook: recompute module.<name> from the mask and the original
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The new mask (t's shape) given the importance scores t and the current mask."""

    def apply_mask(self, module: Module) -> Tensor:
        """<name>_mask * <name>_orig, the pruned tensor (differentiable in <name>_orig)."""
        if self._tensor_name is None:
            raise RuntimeError(f"Module {module} has to be pruned before the mask can be applied")
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(
        cls,
        module: Module,
        name: str,
        *args: Any,
        importance_scores: Tensor | None = None,
        **kwargs: Any,
    ) -> BasePruningMethod:
        """Prune module.<name> with cls(*args, **kwargs), combined with any earlier pruning of
        it; importance_scores (module.<name> by default) rank the entries."""
        method = _composite_method(cls, module, name, *args, **kwargs)
        orig = getattr(module, name)
        if importance_scores is not None:
            if tuple(importance_scores.shape) != tuple(orig.shape):
                raise TensorValueError(
                    f"importance_scores should have the same shape as parameter {name} "
                    f"of {module}: {tuple(orig.shape)}, got {tuple(importance_scores.shape)}"
                )
        else:
            importance_scores = orig
        first = not isinstance(method, PruningContainer)
        if first:
            # the parameter itself moves to <name>_orig; module.<name> becomes a plain tensor
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = Tensor._make(np.ones_like(orig._data), None, False)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
        try:
            mask = method.compute_mask(importance_scores, default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if first:  # put the parameter back as it was
                orig = getattr(module, name + "_orig")
                module.register_parameter(name, orig)
                del module._parameters[name + "_orig"]
            raise
        return method

    def prune(
        self, t: Tensor, default_mask: Tensor | None = None, importance_scores: Tensor | None = None
    ) -> Tensor:
        """t times the mask this method computes for it (no module involved)."""
        scores = t if importance_scores is None else importance_scores
        if default_mask is None:
            default_mask = Tensor._make(np.ones_like(t._data), None, False)
        return t * self.compute_mask(scores, default_mask=default_mask)

    def remove(self, module: Module) -> None:
        """Make the pruning permanent: <name>_orig, now holding the pruned values, becomes
        module.<name> again (the same Parameter object); the mask and the hook go."""
        if self._tensor_name is None:
            raise RuntimeError(f"Module {module} has to be pruned before pruning can be removed")
        name = self._tensor_name
        weight = self.apply_mask(module)
        if name in module.__dict__:
            delattr(module, name)
        orig = module._parameters[name + "_orig"]
        orig.data = weight.data
        del module._parameters[name + "_orig"]
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)


def _composite_method(cls: type, module: Module, name: str, *args: Any, **kwargs: Any) -> Any:
    """cls(*args, **kwargs) for module.<name>, inside a PruningContainer with the method (or
    container) already pruning it, whose hook is taken off."""
    old = [
        (key, hook)
        for key, hook in module._forward_pre_hooks.items()
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name
    ]
    if len(old) > 1:
        raise RuntimeError(f"Module {module} has more than one pruning hook on {name}")
    for key, _ in old:
        del module._forward_pre_hooks[key]
    method = cls(*args, **kwargs)
    method._tensor_name = name
    if old:
        previous = old[0][1]
        if isinstance(previous, PruningContainer):
            previous.add_pruning_method(method)
            return previous
        container = PruningContainer(previous)
        container.add_pruning_method(method)
        return container
    return method


class PruningContainer(BasePruningMethod):
    """The pruning methods applied one after the other to one tensor; the newest one sees only
    what the earlier ones left."""

    def __init__(self, *args: BasePruningMethod) -> None:
        self._pruning_methods: tuple[BasePruningMethod, ...] = ()
        if len(args) == 1:
            self._tensor_name = args[0]._tensor_name
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod | None) -> None:
        """Append a method acting on the same tensor name."""
        if method is None:
            return
        if not isinstance(method, BasePruningMethod):
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if self._tensor_name != method._tensor_name:
            raise TensorValueError(
                "Can only add pruning methods acting on the parameter named "
                f"'{self._tensor_name}' to PruningContainer {self}. "
                f"Found '{method._tensor_name}'"
            )
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self) -> Iterator[BasePruningMethod]:
        return iter(self._pruning_methods)

    def __getitem__(self, idx: int) -> BasePruningMethod:
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The newest method's mask computed on what is still unpruned (entries for an
        unstructured method, whole slices along `dim` for a structured one, everything for a
        global one), written into a copy of default_mask."""
        method = self._pruning_methods[-1]
        new_mask = default_mask.to(dtype=t.dtype)
        kind = method.PRUNING_TYPE
        if kind == "unstructured":
            alive: Any = default_mask == 1
        elif kind == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError(
                    "Pruning methods of PRUNING_TYPE 'structured' need to have the attribute "
                    "`dim` defined."
                )
            dim = method.dim + t.ndim if method.dim < 0 else method.dim
            if dim < 0:
                raise IndexError(f"Index is out of bounds for tensor with dimensions {t.ndim}")
            others = [d for d in range(t.ndim) if d != dim]
            index: list[Any] = [slice(None)] * t.ndim
            index[dim] = default_mask.sum(dim=others) != 0  # the channels still alive
            alive = tuple(index)
        elif kind == "global":
            alive = (slice(None),) * t.ndim
        else:
            raise TensorValueError(f"Unrecognized PRUNING_TYPE {kind}")
        partial = method.compute_mask(t[alive], default_mask=default_mask[alive])
        new_mask[alive] = partial.to(dtype=new_mask.dtype)
        return new_mask


# -- how many to prune ----------------------------------------------------------------------


def _check_amount(amount: Any) -> None:
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
        not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0
    ):
        raise TensorValueError(
            f"amount={amount} should either be a float in the range [0, 1] or a non-negative "
            "integer"
        )


def _n_to_prune(amount: float, size: int) -> int:
    """amount entries, or the fraction `amount` of size rounded half to even (Python's
    round, as PyTorch); more than size is an error."""
    n = int(amount) if isinstance(amount, numbers.Integral) else round(amount * size)
    if isinstance(amount, numbers.Integral) and amount > size:
        raise TensorValueError(
            f"amount={amount} should be smaller than the number of parameters to prune={size}"
        )
    return n


def _check_structured(t: Tensor, dim: int) -> None:
    if t.ndim <= 1:
        raise TensorValueError(
            "Structured pruning can only be applied to multidimensional tensors. Found tensor "
            f"of shape {tuple(t.shape)} with {t.ndim} dims"
        )
    if dim >= t.ndim:
        raise IndexError(f"Invalid index {dim} for tensor of size {tuple(t.shape)}")


def _slices_mask(t: Tensor, dim: int, keep: np.ndarray, default_mask: Tensor) -> Tensor:
    """A mask of t's shape and dtype: 1 on the slices `keep` (an index or a boolean array) along
    dim, 0 elsewhere, times default_mask."""
    mask = np.zeros(t.shape, dtype=t._data.dtype)
    index: list[Any] = [slice(None)] * t.ndim
    index[dim] = keep
    mask[tuple(index)] = 1
    return Tensor._make(mask, None, False) * default_mask.to(dtype=t.dtype)


def _top_indices(scores: Tensor, k: int, largest: bool) -> np.ndarray:
    """The k indices of the largest (or smallest) scores that torch.topk picks: when equal
    scores straddle the cut, which of them go is PyTorch's tie-break (it matters, e.g., for
    weights set to round numbers), found by kernels.select."""
    flat = scores._data.reshape(-1)
    order = np.argsort(flat, kind="stable")
    if largest:
        order = order[::-1]
    tied = 0 < k < flat.size and flat[order[k - 1]] == flat[order[k]]
    if tied or np.isnan(flat).any():
        return torch_topk_indices(flat, k, largest)
    return order[:k]


# -- the methods ------------------------------------------------------------------------------


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (a way to add weight_orig/weight_mask)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module: Module, name: str) -> Identity:  # type: ignore[override]
        return super().apply(module, name)


class _Unstructured(BasePruningMethod):
    """Prune `amount` single entries (a count, or a fraction of the entries)."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: float) -> None:
        _check_amount(amount)
        self.amount = amount

    def _scores(self, t: Tensor) -> tuple[Tensor, bool]:
        """(scores, largest): the entries pruned are the `amount` top scores."""
        raise NotImplementedError

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        n = _n_to_prune(self.amount, t.numel())
        mask = default_mask.clone()
        if n:
            scores, largest = self._scores(t)
            pruned = _top_indices(scores, n, largest)
            mask.view(-1)[Tensor._make(pruned, None, False)] = 0
        return mask


class RandomUnstructured(_Unstructured):
    """Prune `amount` entries chosen at random (uniform scores from the global generator)."""

    def _scores(self, t: Tensor) -> tuple[Tensor, bool]:
        return rand_like(t), True

    @classmethod
    def apply(cls, module: Module, name: str, amount: float) -> RandomUnstructured:  # type: ignore[override]
        return super().apply(module, name, amount=amount)


class L1Unstructured(_Unstructured):
    """Prune the `amount` entries of smallest absolute value."""

    def _scores(self, t: Tensor) -> tuple[Tensor, bool]:
        return t.abs(), False

    @classmethod
    def apply(  # type: ignore[override]
        cls, module: Module, name: str, amount: float, importance_scores: Tensor | None = None
    ) -> L1Unstructured:
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class _Structured(BasePruningMethod):
    """Prune `amount` whole slices along `dim` (a count, or a fraction of the slices)."""

    PRUNING_TYPE = "structured"
    amount: float
    dim: int

    def _kept_slices(self, t: Tensor, size: int, n: int) -> np.ndarray:
        """Which of the `size` slices stay (indices or a boolean array) when n go."""
        raise NotImplementedError

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        _check_structured(t, self.dim)
        size = t.shape[self.dim]
        n = _n_to_prune(self.amount, size)
        if n == 0:
            return default_mask
        return _slices_mask(t, self.dim % t.ndim, self._kept_slices(t, size, n), default_mask)


class RandomStructured(_Structured):
    """Prune `amount` whole slices along `dim` (e.g. output channels for dim=0), at random."""

    def __init__(self, amount: float, dim: int = -1) -> None:
        _check_amount(amount)
        self.amount = amount
        self.dim = dim

    def _kept_slices(self, t: Tensor, size: int, n: int) -> np.ndarray:
        prob = rand(size)._data
        threshold = np.sort(prob)[n - 1]  # the n-th smallest (kthvalue): those at or below go
        return prob > threshold

    @classmethod
    def apply(cls, module: Module, name: str, amount: float, dim: int = -1) -> RandomStructured:  # type: ignore[override]
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(_Structured):
    """Prune the `amount` slices along `dim` of smallest L`n` norm (n: as torch.norm's p)."""

    def __init__(self, amount: float, n: Any, dim: int = -1) -> None:
        _check_amount(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def _kept_slices(self, t: Tensor, size: int, n: int) -> np.ndarray:
        dim = self.dim % t.ndim
        norms = _norm(t, p=self.n, dim=[d for d in range(t.ndim) if d != dim])
        return _top_indices(norms, size - n, largest=True)

    @classmethod
    def apply(  # type: ignore[override]
        cls,
        module: Module,
        name: str,
        amount: float,
        n: Any,
        dim: int,
        importance_scores: Tensor | None = None,
    ) -> LnStructured:
        return super().apply(
            module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores
        )


class CustomFromMask(BasePruningMethod):
    """Prune where the given mask is 0 (combined with any earlier mask)."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Tensor) -> None:
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        if tuple(default_mask.shape) != tuple(self.mask.shape):
            raise TensorValueError(
                f"custom_from_mask: the mask has shape {tuple(self.mask.shape)} but the tensor "
                f"has shape {tuple(default_mask.shape)}"
            )
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module: Module, name: str, mask: Tensor) -> CustomFromMask:  # type: ignore[override]
        return super().apply(module, name, mask=mask)


# -- functions --------------------------------------------------------------------------------


def identity(module: Module, name: str) -> Module:
    """Add <name>_orig, an all-ones <name>_mask and the hook, pruning nothing."""
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount: float) -> Module:
    """Prune `amount` (int: a count, float: a fraction) random entries of module.<name>."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(
    module: Module, name: str, amount: float, importance_scores: Tensor | None = None
) -> Module:
    """Prune the `amount` entries of module.<name> with the smallest |importance score|."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Module, name: str, amount: float, dim: int) -> Module:
    """Prune `amount` random slices of module.<name> along dim."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(
    module: Module,
    name: str,
    amount: float,
    n: Any,
    dim: int,
    importance_scores: Tensor | None = None,
) -> Module:
    """Prune the `amount` slices of module.<name> along dim with the smallest L`n` norm."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module: Module, name: str, mask: Tensor) -> Module:
    """Prune module.<name> where `mask` is 0."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(
    parameters: Iterable[tuple[Module, str]],
    pruning_method: type,
    importance_scores: dict | None = None,
    **kwargs: Any,
) -> None:
    """Prune the (module, name) tensors together, as if they were one vector: e.g. the 20%
    smallest entries over all of them with pruning_method=L1Unstructured, amount=0.2."""
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    scores = {} if importance_scores is None else importance_scores
    if not isinstance(scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    flat_scores = cat(
        [scores.get((m, name), getattr(m, name)).reshape(-1) for m, name in parameters]
    )
    # the current masks (all ones for a tensor not pruned yet), as one vector
    masks = [getattr(m, name + "_mask", None) for m, name in parameters]
    flat_mask = cat(
        [
            (
                mask
                if mask is not None
                else Tensor._make(np.ones_like(getattr(m, name)._data), None, False)
            ).reshape(-1)
            for mask, (m, name) in zip(masks, parameters, strict=True)
        ]
    )
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(
            'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
            f"{pruning_method} of type {method.PRUNING_TYPE}"
        )
    container = PruningContainer()
    container._tensor_name = "temp"
    container.add_pruning_method(method)
    final_mask = container.compute_mask(flat_scores, flat_mask)
    start = 0
    for module, name in parameters:
        param = getattr(module, name)
        count = param.numel()
        custom_from_mask(module, name, mask=final_mask[start : start + count].view_as(param))
        start += count


def remove(module: Module, name: str) -> Module:
    """Make the pruning of module.<name> permanent (see BasePruningMethod.remove)."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise TensorValueError(
        f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed"
    )


def is_pruned(module: Module) -> bool:
    """Whether module or any submodule has a pruning hook."""
    return any(
        isinstance(hook, BasePruningMethod)
        for sub in module.modules()
        for hook in sub._forward_pre_hooks.values()
    )
