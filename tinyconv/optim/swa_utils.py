"""Weight averaging, as torch.optim.swa_utils: AveragedModel (SWA and EMA), SWALR, update_bn.

Stochastic Weight Averaging keeps a running mean of the weights a model visits late in
training; an exponential moving average (EMA) weights recent ones more. `AveragedModel`
holds a deep copy of the model whose parameters (and, with ``use_buffers=True``, buffers)
`update_parameters(model)` folds into the average; `n_averaged` counts the models folded in.
BatchNorm statistics of the averaged weights are recomputed by `update_bn`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any

from .. import _dtype
from .._errors import TensorValueError
from ..autograd import no_grad
from ..creation import tensor
from ..nn.layers import _BatchNorm
from ..nn.module import Module
from ..tensor import Tensor
from .lr_scheduler import LRScheduler, _per_group
from .optimizer import Optimizer

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]

AvgFn = Callable[[Tensor, Tensor, Any], Tensor]
MultiAvgFn = Callable[[list, list, Any], None]


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise TensorValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )


def _is_float(t: Tensor) -> bool:
    return t._data.dtype.kind in "fc"


def get_ema_multi_avg_fn(decay: float = 0.999) -> MultiAvgFn:
    """In-place EMA over lists of tensors: ema <- decay * ema + (1 - decay) * current
    (a lerp for floating tensors, as PyTorch's foreach path)."""
    _check_decay(decay)

    def ema_update(ema_params: list, current_params: list, _num_averaged: Any) -> None:
        with no_grad():
            for p_ema, p_model in zip(ema_params, current_params, strict=True):
                if _is_float(ema_params[0]):
                    p_ema.lerp_(p_model, 1 - decay)
                else:
                    p_ema.copy_(p_ema * decay + p_model * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> MultiAvgFn:
    """In-place equal-weight running mean over lists of tensors: avg <- avg + (cur - avg)/(n+1)."""

    def swa_update(averaged_params: list, current_params: list, num_averaged: Any) -> None:
        with no_grad():
            for p_avg, p_model in zip(averaged_params, current_params, strict=True):
                if _is_float(averaged_params[0]):
                    p_avg.lerp_(p_model, float(1 / (num_averaged + 1)))
                else:
                    p_avg.copy_(p_avg + (p_model - p_avg) / (num_averaged + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> AvgFn:
    """EMA of one tensor: returns decay * ema + (1 - decay) * current (same shape)."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, _num_averaged: Any) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> AvgFn:
    """Running mean of one tensor: returns avg + (current - avg) / (num_averaged + 1)."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A deep copy of `model` whose weights are an average (SWA by default, or `avg_fn` /
    `multi_avg_fn`, e.g. EMA) of the weights `update_parameters` is given. Calling it calls
    the copy. The first update copies the model's weights; `n_averaged` (an int64 0-d buffer,
    saved in the state_dict) counts the updates. Without `use_buffers`, buffers are copied
    from the model at each update rather than averaged."""

    def __init__(
        self,
        model: Module,
        device: Any = None,
        avg_fn: AvgFn | None = None,
        multi_avg_fn: MultiAvgFn | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            # PyTorch raises AssertionError here too
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: model must be a Module, got {type(model).__name__}")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=_dtype.int64))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold `model`'s current weights into the average (the first call copies them)."""
        if self.use_buffers:
            mine = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            theirs = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            mine, theirs = list(self.parameters()), list(model.parameters())
        # zip without strict: PyTorch's does not check the two models match either
        pairs = [(a.detach(), b.detach()) for a, b in zip(mine, theirs, strict=False)]
        n = int(self.n_averaged.item())
        with no_grad():
            if n == 0:
                for avg, cur in pairs:
                    avg.copy_(cur)
            elif self.avg_fn is not None:
                for avg, cur in pairs:
                    avg.copy_(self.avg_fn(avg, cur, self.n_averaged))
            elif self.multi_avg_fn is not None:
                # one call per dtype, as PyTorch groups its foreach lists by device and dtype
                groups: dict = {}
                for avg, cur in pairs:
                    groups.setdefault(avg._data.dtype, []).append((avg, cur))
                for group in groups.values():
                    avgs, curs = zip(*group, strict=True)
                    self.multi_avg_fn(list(avgs), list(curs), self.n_averaged)
            else:
                # on the CPU PyTorch runs the per-tensor SWA rule (no foreach kernels there)
                swa = get_swa_avg_fn()
                for avg, cur in pairs:
                    avg.copy_(swa(avg, cur, self.n_averaged))
            if not self.use_buffers:
                for b_avg, b_model in zip(self.module.buffers(), model.buffers(), strict=True):
                    b_avg.detach().copy_(b_model.detach())
            self.n_averaged.add_(1)


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute every BatchNorm's running statistics of `model` as the plain average over
    one pass of `loader` (batches are tensors, or lists/tuples whose first item is the input)."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None  # cumulative average over the batches seen
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr from its current value to `swa_lr` (a number or one per group)
    over `anneal_epochs` steps, by cosine ('cos') or linear interpolation, then hold it."""

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: float | list,
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        for value, group in zip(
            _per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups, strict=True
        ):
            group["swa_lr"] = value
        if anneal_strategy not in ("cos", "linear"):
            raise TensorValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise TensorValueError(
                f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}"
            )
        self._anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t: float) -> float:
        """The fraction of the way to swa_lr at fraction t of the annealing."""
        if self._anneal_strategy == "linear":
            return t
        return (1 - math.cos(math.pi * t)) / 2

    def get_lr(self) -> list:
        self._warn_if_outside_step()
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        # chainable: undo the previous step's mix to recover the lr annealing started from
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / span)))
        alpha = self.anneal_func(max(0, min(1, step / span)))
        lrs = []
        for group in self.optimizer.param_groups:
            swa_lr = group["swa_lr"]
            if prev_alpha == 1:
                start = swa_lr
            else:
                start = (group["lr"] - prev_alpha * swa_lr) / (1 - prev_alpha)
            lrs.append(swa_lr * alpha + start * (1 - alpha))
        return lrs
