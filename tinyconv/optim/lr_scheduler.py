"""Learning-rate schedulers, as torch.optim.lr_scheduler: PyTorch's values, step for step.

A scheduler owns nothing but a rule: each `step()` advances `last_epoch` by one and
writes a new `lr` into every `optimizer.param_groups[i]`. The optimizer reads `lr`
from its groups at each of its own steps, so the usual loop is

    for epoch in range(epochs):
        for X, y in loader:
            optimizer.zero_grad(); loss_fn(model(X), y).backward(); optimizer.step()
        scheduler.step()

The constructor already makes one step (to `last_epoch = 0`) and stores each group's
starting lr as `group['initial_lr']`; `base_lrs` are those values.

Most rules are *chainable*: they compute the new lr from the group's current lr
(`lr * gamma` rather than `base_lr * gamma ** k`), as PyTorch does, so that two
schedulers stepping the same optimizer multiply their effects, and so the floating-point
values match PyTorch's to the last bit. `step(epoch)` with an explicit epoch uses the
closed form where one exists (PyTorch deprecates that call and warns the same way).
"""

from __future__ import annotations

import math
import types
import warnings
import weakref
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .._errors import TensorValueError
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]

_EPOCH_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where "
    "possible. Please use `scheduler.step()` to step the scheduler. During the deprecation, if "
    "epoch is different from None, the closed form is used instead of the new chainable form, "
    "where available."
)


def _check_optimizer(optimizer: Any, who: str) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"{who}: optimizer must be a tinyconv.optim Optimizer, got {type(optimizer).__name__}"
        )


def _per_group(name: str, optimizer: Optimizer, value: Any) -> list:
    """`value` for each parameter group: a list/tuple must have one entry per group."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise TensorValueError(
                f"{name} must have one value per parameter group: {name} has {len(value)} "
                f"values, the optimizer has {n} param_groups"
            )
        return list(value)
    return [value] * n


def _set_group_value(group: dict, key: str, value: Any) -> None:
    """group[key] = value, except that a Tensor there (a Tensor lr) is filled in place, as
    PyTorch's schedulers do: whoever holds that Tensor sees the new value."""
    if isinstance(group[key], Tensor):
        group[key].fill_(value.reshape(()) if isinstance(value, Tensor) else value)
    else:
        group[key] = value


def _copied(value: Any) -> Any:
    """A Tensor lr's copy (a list of lrs must not change when the groups' Tensors do)."""
    return value.clone() if isinstance(value, Tensor) else value


def _mark_optimizer_steps(optimizer: Optimizer) -> None:
    """Wrap optimizer.step (once, on the instance) so a scheduler can tell whether the
    optimizer stepped before it: stepping the scheduler first skips the first lr."""
    if getattr(optimizer.step, "_counted_for_lr_scheduler", False):
        return
    step = optimizer.step.__func__ if hasattr(optimizer.step, "__func__") else None
    if step is None:  # a user replaced step with a plain function: leave it alone
        return
    ref = weakref.ref(optimizer)  # no cycle through the bound method

    def counted_step(self: Optimizer, *args: Any, **kwargs: Any) -> Any:
        opt = ref()
        if opt is not None:
            opt._opt_called = True
        return step(self, *args, **kwargs)

    counted_step._counted_for_lr_scheduler = True  # type: ignore[attr-defined]
    optimizer.step = types.MethodType(counted_step, optimizer)  # type: ignore[method-assign]


class LRScheduler:
    """Base class: `step()` sets `last_epoch += 1` and each group's lr to `get_lr()`.

    Subclasses define `get_lr()` (the chainable rule, from the current lrs) and may
    define `_get_closed_form_lr()` (the lr as a function of `last_epoch` alone).
    """

    _get_lr_called_within_step = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer, type(self).__name__)
        if not isinstance(last_epoch, int) or isinstance(last_epoch, bool):
            raise TypeError(f"{type(self).__name__}: last_epoch must be an int, got {last_epoch!r}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", _copied(group["lr"]))
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                        f"an optimizer (last_epoch={last_epoch}); a scheduler that resumes needs "
                        "the groups of the optimizer it scheduled before"
                    )
        self.base_lrs: list = [_copied(group["initial_lr"]) for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        _mark_optimizer_steps(optimizer)
        self.optimizer._opt_called = False
        self._initial_step()

    def _initial_step(self) -> None:
        """The step the constructor makes: to last_epoch = 0 (or last_epoch + 1 when resuming)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def state_dict(self) -> dict:
        """Everything but the optimizer: `last_epoch`, `base_lrs`, `_last_lr`, the rule's
        settings."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"{type(self).__name__}.load_state_dict: state_dict must be a dict, "
                f"got {type(state_dict).__name__}"
            )
        self.__dict__.update(state_dict)

    def get_last_lr(self) -> list:
        """The lr of each group as the last step() set it."""
        return self._last_lr

    def get_lr(self) -> list:
        """The lr of each group for the current `last_epoch` (called by step())."""
        raise NotImplementedError(f"{type(self).__name__} does not define get_lr()")

    def _warn_if_outside_step(self) -> None:
        if not self._get_lr_called_within_step:
            warnings.warn(
                "To get the last learning rate computed by the scheduler, please use "
                "`get_last_lr()`.",
                UserWarning,
                stacklevel=3,
            )

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (or jump to `epoch`, deprecated) and set every group's lr."""
        if self._step_count == 1 and not self._is_initial:
            if not getattr(self.optimizer.step, "_counted_for_lr_scheduler", False):
                warnings.warn(
                    "Seems like `optimizer.step()` has been overridden after the learning rate "
                    "scheduler was created; the call order can no longer be checked.",
                    UserWarning,
                    stacklevel=2,
                )
            elif not getattr(self.optimizer, "_opt_called", False):
                warnings.warn(
                    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. Call "
                    "`optimizer.step()` first, then `lr_scheduler.step()`; otherwise the first "
                    "value of the learning-rate schedule is skipped.",
                    UserWarning,
                    stacklevel=2,
                )
        self._step_count += 1
        if epoch is not None and not self._is_initial:
            warnings.warn(_EPOCH_WARNING, UserWarning, stacklevel=2)
        self._step_to(epoch)

    def _step_to(self, epoch: int | None) -> None:
        """The lr update of a step, to the next epoch or to `epoch` (by the closed form when
        there is one), without counting a step: PyTorch's _update_lr(epoch), which SequentialLR
        calls at a milestone, so the next scheduler's _step_count stays as PyTorch's."""
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed = getattr(self, "_get_closed_form_lr", None)
                values = closed() if closed is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        self._update_lr(values)

    def _update_lr(self, values: Iterable[float]) -> None:
        # (strict, as PyTorch's: a group added to the optimizer after the scheduler was made
        # has no base lr in schedulers that scale one, and their step raises ValueError)
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            _set_group_value(group, "lr", lr)
        self._last_lr = [_copied(group["lr"]) for group in self.optimizer.param_groups]


class _LRScheduler(LRScheduler):
    """The old name of LRScheduler (PyTorch keeps it for compatibility)."""


def _lrs(scheduler: LRScheduler) -> list:
    return [group["lr"] for group in scheduler.optimizer.param_groups]


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (last_epoch // step_size): decay by gamma every step_size epochs."""

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        # (a float is accepted, as PyTorch does: its tutorials pass StepLR(opt, 1.0, ...))
        if not isinstance(step_size, int | float) or isinstance(step_size, bool) or step_size <= 0:
            raise TensorValueError(
                f"StepLR: step_size must be a positive number, got {step_size!r}"
            )
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        self._warn_if_outside_step()
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _lrs(self)
        return [lr * self.gamma for lr in _lrs(self)]

    def _get_closed_form_lr(self) -> list:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr = base_lr * gamma ** (number of milestones <= last_epoch); a repeated milestone counts
    twice."""

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        try:
            self.milestones = Counter(milestones)
        except TypeError:
            raise TypeError(
                f"MultiStepLR: milestones must be an iterable of ints, got {milestones!r}"
            ) from None
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        self._warn_if_outside_step()
        if self.last_epoch not in self.milestones:
            return _lrs(self)
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in _lrs(self)]

    def _get_closed_form_lr(self) -> list:
        ms = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(ms, self.last_epoch) for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """lr = base_lr * factor for the first total_iters epochs, then base_lr."""

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0 <= factor <= 1:
            raise TensorValueError(f"ConstantLR: factor must be between 0 and 1, got {factor!r}")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        self._warn_if_outside_step()
        if self.last_epoch == 0:
            return [lr * self.factor for lr in _lrs(self)]
        if self.last_epoch != self.total_iters:
            return _lrs(self)
        return [lr * (1.0 / self.factor) for lr in _lrs(self)]

    def _get_closed_form_lr(self) -> list:
        on = self.last_epoch >= self.total_iters
        return [base * (self.factor + on * (1 - self.factor)) for base in self.base_lrs]


class LinearLR(LRScheduler):
    """lr goes linearly from base_lr * start_factor to base_lr * end_factor over total_iters
    epochs."""

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0 < start_factor <= 1:
            raise TensorValueError(
                f"LinearLR: start_factor must be > 0 and <= 1, got {start_factor!r}"
            )
        if not 0 <= end_factor <= 1:
            raise TensorValueError(
                f"LinearLR: end_factor must be between 0 and 1, got {end_factor!r}"
            )
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        self._warn_if_outside_step()
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in _lrs(self)]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _lrs(self)
        # the ratio of this epoch's factor to the previous one's
        span = self.end_factor - self.start_factor
        ratio = 1.0 + span / (self.total_iters * self.start_factor + (self.last_epoch - 1) * span)
        return [lr * ratio for lr in _lrs(self)]

    def _get_closed_form_lr(self) -> list:
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [
            base * (self.start_factor + (self.end_factor - self.start_factor) * frac)
            for base in self.base_lrs
        ]


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** last_epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        self._warn_if_outside_step()
        if self.last_epoch == 0 or self._is_initial:  # resuming: keep the lr the optimizer has
            return _lrs(self)
        return [lr * self.gamma for lr in _lrs(self)]

    def _get_closed_form_lr(self) -> list:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """lr = base_lr * (1 - min(last_epoch, total_iters) / total_iters) ** power."""

    def __init__(
        self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1
    ) -> None:
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        self._warn_if_outside_step()
        if self.last_epoch == 0 or self._is_initial or self.last_epoch > self.total_iters:
            return _lrs(self)
        ratio = (
            (1.0 - self.last_epoch / self.total_iters)
            / (1.0 - (self.last_epoch - 1) / self.total_iters)
        ) ** self.power
        return [lr * ratio for lr in _lrs(self)]

    def _get_closed_form_lr(self) -> list:
        left = 1.0 - min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * left**self.power for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr follows half a cosine from base_lr (epoch 0) to eta_min (epoch T_max), then back up.

    Closed form: eta_min + (base_lr - eta_min) * (1 + cos(pi * last_epoch / T_max)) / 2.
    The step uses PyTorch's recursive form (the ratio of consecutive cosines applied to
    the current lr), so the values match PyTorch's exactly, rounding included.
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        if isinstance(T_max, bool) or not isinstance(T_max, (int, float)) or T_max <= 0:
            raise TensorValueError(
                f"CosineAnnealingLR: T_max must be a positive number of epochs, got {T_max!r}"
            )
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        self._warn_if_outside_step()
        e, t, lo = self.last_epoch, self.T_max, self.eta_min
        if e == 0 or self._is_initial:  # resuming: keep the lr the optimizer has
            return _lrs(self)
        if (e - 1 - t) % (2 * t) == 0:  # at the bottom the ratio below is 0/0: step up from eta_min
            return [
                lr + (base - lo) * (1 - math.cos(math.pi / t)) / 2
                for base, lr in zip(self.base_lrs, _lrs(self), strict=True)
            ]
        ratio = (1 + math.cos(math.pi * e / t)) / (1 + math.cos(math.pi * (e - 1) / t))
        return [ratio * (lr - lo) + lo for lr in _lrs(self)]

    def _get_closed_form_lr(self) -> list:
        e, t, lo = self.last_epoch, self.T_max, self.eta_min
        return [lo + (base - lo) * (1 + math.cos(math.pi * e / t)) / 2 for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine from base_lr towards eta_min over T_i epochs, then restart; T_i starts at T_0 and
    is multiplied by T_mult at each restart. `step(epoch)` accepts fractional epochs."""

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(T_0, int) or isinstance(T_0, bool) or T_0 <= 0:
            raise TensorValueError(
                f"CosineAnnealingWarmRestarts: T_0 must be a positive int, got {T_0!r}"
            )
        if not isinstance(T_mult, int) or isinstance(T_mult, bool) or T_mult < 1:
            raise TensorValueError(
                f"CosineAnnealingWarmRestarts: T_mult must be an int >= 1, got {T_mult!r}"
            )
        if not isinstance(eta_min, (int, float)):
            raise TypeError(
                f"CosineAnnealingWarmRestarts: eta_min must be a float or int, got {eta_min!r}"
            )
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        self._warn_if_outside_step()
        lo = self.eta_min
        return [
            lo + (base - lo) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
            for base in self.base_lrs
        ]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or go to `epoch` (may be fractional: e.g. epoch + i / iters)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:  # a restart (PyTorch wraps T_cur modulo the current T_i)
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise TensorValueError(
                    f"CosineAnnealingWarmRestarts.step: epoch must be >= 0, got {epoch!r}"
                )
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    # restarts so far: n with T_0 (T_mult^n - 1) / (T_mult - 1) <= epoch
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        # (no _step_count += 1: PyTorch 2.13's CosineAnnealingWarmRestarts.step leaves it at 0,
        # which its state_dict shows)
        self._get_lr_called_within_step = True
        try:
            values = self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        self._update_lr(values)


class _LambdaScheduler(LRScheduler):
    """What LambdaLR and MultiplicativeLR share: one function per group, and a state_dict in
    which plain functions and lambdas are not saved (None) but callable objects are (their
    __dict__), as in PyTorch."""

    def __init__(
        self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list, last_epoch: int = -1
    ) -> None:
        who = type(self).__name__
        _check_optimizer(optimizer, who)
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise TensorValueError(
                    f"{who}: lr_lambda has {len(lr_lambda)} functions, but the optimizer has "
                    f"{n} param_groups (give one function, or one per group)"
                )
            fns = list(lr_lambda)
        else:
            fns = [lr_lambda] * n
        for f in fns:
            if not callable(f):
                raise TypeError(
                    f"{who}: lr_lambda must be callable (epoch -> factor), got {type(f).__name__}"
                )
        self.lr_lambdas = fns
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [
            None if isinstance(f, types.FunctionType) else f.__dict__.copy()
            for f in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        lambdas = state.pop("lr_lambdas", None) or []
        self.__dict__.update(state)
        for f, saved in zip(self.lr_lambdas, lambdas, strict=False):
            if saved is not None:
                f.__dict__.update(saved)


class LambdaLR(_LambdaScheduler):
    """lr = base_lr * lr_lambda(last_epoch) (one function, or one per parameter group)."""

    def get_lr(self) -> list:
        self._warn_if_outside_step()
        return [
            base * f(self.last_epoch)
            for f, base in zip(self.lr_lambdas, self.base_lrs, strict=True)
        ]


class MultiplicativeLR(_LambdaScheduler):
    """lr = lr * lr_lambda(last_epoch) at each step after the first."""

    def get_lr(self) -> list:
        self._warn_if_outside_step()
        if self.last_epoch > 0 and not self._is_initial:
            return [
                lr * f(self.last_epoch) for f, lr in zip(self.lr_lambdas, _lrs(self), strict=True)
            ]
        return _lrs(self)


def _set_momentum(group: dict, value: float, use_beta1: bool) -> None:
    """SGD-like optimizers cycle `momentum`; Adam-like ones cycle beta1 of `betas`."""
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def _momentum_kind(who: str, optimizer: Optimizer) -> bool:
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise TensorValueError(
            f"{who}: cycle_momentum=True needs an optimizer with 'momentum' or 'betas' "
            f"(SGD, RMSprop, Adam, ...), got {type(optimizer).__name__}; "
            "pass cycle_momentum=False"
        )
    return "betas" in optimizer.defaults


class OneCycleLR(LRScheduler):
    """The 1cycle policy: lr rises from max_lr / div_factor to max_lr over pct_start of the
    steps, then falls to initial_lr / final_div_factor (three_phase: back to initial_lr first,
    then down). Momentum (or Adam's beta1) moves the opposite way between max_momentum and
    base_momentum. Step it after every batch; total_steps = epochs * steps_per_epoch."""

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list,
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list = 0.85,
        max_momentum: float | list = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer, "OneCycleLR")
        self.optimizer = optimizer
        if total_steps is not None:
            if (
                not isinstance(total_steps, int)
                or isinstance(total_steps, bool)
                or total_steps <= 0
            ):
                raise TensorValueError(
                    f"OneCycleLR: total_steps must be a positive int, got {total_steps!r}"
                )
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs <= 0:
                raise TensorValueError(f"OneCycleLR: epochs must be a positive int, got {epochs!r}")
            if (
                not isinstance(steps_per_epoch, int)
                or isinstance(steps_per_epoch, bool)
                or steps_per_epoch <= 0
            ):
                raise TensorValueError(
                    f"OneCycleLR: steps_per_epoch must be a positive int, got {steps_per_epoch!r}"
                )
            self.total_steps = epochs * steps_per_epoch
        else:
            raise TensorValueError(
                "OneCycleLR: give either total_steps or both epochs and steps_per_epoch "
                f"(got total_steps={total_steps!r}, epochs={epochs!r}, "
                f"steps_per_epoch={steps_per_epoch!r})"
            )
        if not isinstance(pct_start, (int, float)) or not 0 <= pct_start <= 1:
            raise TensorValueError(
                f"OneCycleLR: pct_start must be a number between 0 and 1, got {pct_start!r}"
            )
        if anneal_strategy not in ("cos", "linear"):
            raise TensorValueError(
                f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        n = self.total_steps
        up = float(pct_start * n) - 1
        if three_phase:
            self._schedule_phases = [
                {
                    "end_step": up,
                    "start_lr": "initial_lr",
                    "end_lr": "max_lr",
                    "start_momentum": "max_momentum",
                    "end_momentum": "base_momentum",
                },
                {
                    "end_step": float(2 * pct_start * n) - 2,
                    "start_lr": "max_lr",
                    "end_lr": "initial_lr",
                    "start_momentum": "base_momentum",
                    "end_momentum": "max_momentum",
                },
                {
                    "end_step": n - 1,
                    "start_lr": "initial_lr",
                    "end_lr": "min_lr",
                    "start_momentum": "max_momentum",
                    "end_momentum": "max_momentum",
                },
            ]
        else:
            self._schedule_phases = [
                {
                    "end_step": up,
                    "start_lr": "initial_lr",
                    "end_lr": "max_lr",
                    "start_momentum": "max_momentum",
                    "end_momentum": "base_momentum",
                },
                {
                    "end_step": n - 1,
                    "start_lr": "max_lr",
                    "end_lr": "min_lr",
                    "start_momentum": "base_momentum",
                    "end_momentum": "max_momentum",
                },
            ]
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for lr, group in zip(max_lrs, optimizer.param_groups, strict=False):
                group["initial_lr"] = lr / div_factor
                group["max_lr"] = lr
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self._anneal_func_type = anneal_strategy
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_kind("OneCycleLR", optimizer)
            max_ms = _per_group("max_momentum", optimizer, max_momentum)
            base_ms = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for m_max, m_base, group in zip(
                    max_ms, base_ms, optimizer.param_groups, strict=False
                ):
                    _set_momentum(group, m_max, self.use_beta1)
                    group["max_momentum"] = m_max
                    group["base_momentum"] = m_base
        super().__init__(optimizer, last_epoch)

    def _anneal_func(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return self._annealing_cos(start, end, pct)
        return self._annealing_linear(start, end, pct)

    @staticmethod
    def _annealing_cos(start: float, end: float, pct: float) -> float:
        """From start (pct 0) to end (pct 1) along half a cosine."""
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    @staticmethod
    def _annealing_linear(start: float, end: float, pct: float) -> float:
        return (end - start) * pct + start

    def get_lr(self) -> list:
        self._warn_if_outside_step()
        step = self.last_epoch
        if step > self.total_steps:
            raise TensorValueError(
                f"OneCycleLR: stepped {step} times, but total_steps is {self.total_steps} "
                "(the schedule is over; make total_steps cover every batch of every epoch)"
            )
        lrs = []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if step <= end or i == last:
                    pct = (step - start) / (end - start)
                    lr = self._anneal_func(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        m = self._anneal_func(
                            group[phase["start_momentum"]], group[phase["end_momentum"]], pct
                        )
                    break
                start = end
            lrs.append(lr)
            if self.cycle_momentum:
                _set_momentum(group, m, self.use_beta1)
        return lrs


class CyclicLR(LRScheduler):
    """lr cycles between base_lr and max_lr (step_size_up steps up, step_size_down down), scaled
    per cycle ('triangular': 1, 'triangular2': halved each cycle) or per step ('exp_range':
    gamma ** step), or by a user's scale_fn. Momentum cycles the opposite way. Step per batch."""

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | list,
        max_lr: float | list,
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | list = 0.8,
        max_momentum: float | list = 0.9,
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer, "CyclicLR")
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups, strict=False):
                _set_group_value(group, "lr", lr)
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        if step_size_up <= 0:
            raise TensorValueError(f"CyclicLR: step_size_up must be > 0, got {step_size_up!r}")
        if step_size_down is not None and step_size_down <= 0:
            raise TensorValueError(f"CyclicLR: step_size_down must be > 0, got {step_size_down!r}")
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise TensorValueError(
                f"CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range' "
                f"(or pass scale_fn), got mode={mode!r}"
            )
        if scale_fn is not None and scale_mode not in ("cycle", "iterations"):
            raise TensorValueError(
                f"CyclicLR: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}"
            )
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_kind("CyclicLR", optimizer)
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for m_max, m_base, group in zip(
                    self.max_momentums, self.base_momentums, optimizer.param_groups, strict=False
                ):
                    _set_momentum(group, m_max, self.use_beta1)
                    group["max_momentum"] = m_max
                    group["base_momentum"] = m_base
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self) -> None:
        if self._scale_fn_custom is not None:
            return
        self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"

    def scale_fn(self, x: float) -> float:
        """The amplitude factor for cycle number (or step number) x."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def get_lr(self) -> list:
        self._warn_if_outside_step()
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle  # position in the cycle, 0..1
        if x <= self.step_ratio:
            scale = x / self.step_ratio
        else:
            scale = (x - 1) / (self.step_ratio - 1)
        amp = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [
            base + (top - base) * scale * amp
            for base, top in zip(self.base_lrs, self.max_lrs, strict=True)
        ]
        if self.cycle_momentum:
            for group, m_base, m_max in zip(
                self.optimizer.param_groups, self.base_momentums, self.max_momentums, strict=True
            ):
                _set_momentum(group, m_max - (m_max - m_base) * scale * amp, self.use_beta1)
        return lrs

    def state_dict(self) -> dict:
        """As the base's, but a user's scale_fn is not saved (re-pass it): its entry is None
        for a function, the attributes (__dict__) of a callable object, as PyTorch saves it."""
        state = super().state_dict()
        fn = state.pop("_scale_fn_custom", None)
        keep = fn is not None and not isinstance(fn, types.FunctionType)
        state["_scale_fn_custom"] = fn.__dict__.copy() if keep else None
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        # (popped from the caller's dict itself, as PyTorch's does: it no longer has the key)
        saved = state_dict.pop("_scale_fn_custom", None)
        super().load_state_dict(state_dict)
        if saved is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(saved)
        self._init_scale_fn()


def _check_schedulers(
    who: str, schedulers: Any, optimizer: Optimizer | None
) -> tuple[list, Optimizer]:
    if (
        isinstance(schedulers, LRScheduler)
        or not isinstance(schedulers, Sequence)
        or len(schedulers) < 1
    ):
        raise TensorValueError(
            f"{who}: schedulers must be a non-empty list of schedulers, got {schedulers!r}"
        )
    schedulers = list(schedulers)
    optimizer = optimizer if optimizer is not None else getattr(schedulers[0], "optimizer", None)
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(
                f"{who}: schedulers[{i}] must have an `optimizer` attribute (a scheduler), "
                f"got {type(s).__name__}"
            )
        if isinstance(s, ReduceLROnPlateau):
            raise TensorValueError(  # noqa: TRY004  (ValueError, as PyTorch)
                f"{who}: schedulers[{i}] is a ReduceLROnPlateau, which needs the metric in "
                "step(metric) and cannot be stepped from here; step it yourself"
            )
        if s.optimizer is not optimizer:
            raise TensorValueError(
                f"{who}: schedulers[{i}] steps a different optimizer than the others "
                f"({type(s.optimizer).__name__} at {id(s.optimizer):#x})"
            )
    return schedulers, optimizer


class _Composite(LRScheduler):
    """SequentialLR and ChainedScheduler: their state_dict holds each inner scheduler's."""

    _schedulers: list

    def state_dict(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved = state.pop("_schedulers")
        self.__dict__.update(state)
        for s, sd in zip(self._schedulers, saved, strict=False):
            s.load_state_dict(sd)


class SequentialLR(_Composite):
    """Run schedulers one after another: schedulers[i] from milestones[i - 1] on. At each
    milestone the next scheduler starts from its own epoch 0."""

    def __init__(
        self, optimizer: Optimizer, schedulers: list, milestones: list, last_epoch: int = -1
    ) -> None:
        _check_optimizer(optimizer, "SequentialLR")
        schedulers, _ = _check_schedulers("SequentialLR", schedulers, optimizer)
        milestones = list(milestones)
        if len(milestones) != len(schedulers) - 1:
            raise TensorValueError(
                f"SequentialLR: milestones must have one entry fewer than schedulers: got "
                f"{len(schedulers)} schedulers and {len(milestones)} milestones"
            )
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # Each scheduler's constructor already stepped once; undo that: back to the initial
        # lrs, each scheduler one epoch back, then only the first makes its initial step.
        for group in optimizer.param_groups:
            _set_group_value(group, "lr", group["initial_lr"])
        for s in schedulers:
            self.recursive_undo(s)
        # (the scheduler in charge at epoch 0: the second one when a milestone is 0)
        idx = bisect_right(milestones, 0)
        schedulers[idx]._initial_step()
        self._last_lr = schedulers[idx].get_last_lr()

    def recursive_undo(self, sched: Any = None) -> None:
        """Step a scheduler (and, for a nested SequentialLR, its schedulers) back one epoch."""
        scheds = self if sched is None else sched
        if hasattr(scheds, "_schedulers"):
            for s in scheds._schedulers:
                self.recursive_undo(s)
        elif hasattr(scheds, "last_epoch"):
            scheds.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            # the next scheduler starts at its epoch 0 (closed form); as in PyTorch this is no
            # step of its own (its _step_count does not count it), and warns of nothing
            scheduler._step_to(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    """Step several schedulers of one optimizer together; their chainable rules multiply."""

    def __init__(
        self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None
    ) -> None:
        schedulers, optimizer = _check_schedulers("ChainedScheduler", schedulers, optimizer)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = [_copied(lr) for lr in _lrs(self._schedulers[-1])]

    def step(self) -> None:  # type: ignore[override]
        for s in self._schedulers:
            s.step()
        self._last_lr = [_copied(lr) for lr in _lrs(self._schedulers[-1])]


class ReduceLROnPlateau(LRScheduler):
    """Multiply lr by `factor` once the metric passed to step(metric) has not improved for
    more than `patience` steps; then wait `cooldown` steps before counting again. An
    improvement beats the best so far by `threshold` (relative or absolute); lr never goes
    below min_lr, and changes smaller than eps are skipped."""

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list = 0,
        eps: float = 1e-8,
    ) -> None:
        _check_optimizer(optimizer, "ReduceLROnPlateau")
        if factor >= 1.0:
            raise TensorValueError(f"ReduceLROnPlateau: factor must be < 1.0, got {factor!r}")
        self.factor = factor
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise TensorValueError(
                    f"ReduceLROnPlateau: min_lr has {len(min_lr)} values, but the optimizer "
                    f"has {len(optimizer.param_groups)} param_groups"
                )
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = [_copied(lr) for lr in _lrs(self)]
        self._init_is_better(mode=mode, threshold=threshold, threshold_mode=threshold_mode)
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics: Any, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record this epoch's metric (a number or a one-element Tensor) and maybe reduce lr."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(
                f"ReduceLROnPlateau.step: metrics must be a number (or a one-element "
                f"tensor), got {metrics!r}"
            ) from None
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(_EPOCH_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr(epoch)
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [_copied(lr) for lr in _lrs(self)]

    def _reduce_lr(self, epoch: int) -> None:
        if len(self.optimizer.param_groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"ReduceLROnPlateau: the optimizer now has {len(self.optimizer.param_groups)} "
                    f"param_groups but min_lr was given for {len(self.min_lrs)}"
                )
            self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
        for i, group in enumerate(self.optimizer.param_groups):
            old = float(group["lr"])
            new = max(old * self.factor, self.min_lrs[i])
            if old - new > self.eps:
                _set_group_value(group, "lr", new)

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise TensorValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise TensorValueError(
                f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}"
            )
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self._init_is_better(
            mode=self.mode, threshold=self.threshold, threshold_mode=self.threshold_mode
        )
