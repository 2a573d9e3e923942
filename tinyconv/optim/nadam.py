"""NAdam (Adam with Nesterov momentum) and RAdam (rectified Adam), exactly PyTorch's updates."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import (
    Optimizer,
    check_betas,
    check_lr,
    check_not_negative,
    coupled_gradient,
    lerp_,
)


def _decay_or_add(p: Any, grad: np.ndarray, group: dict) -> np.ndarray:
    """The gradient to use: weight decay as AdamW does it (shrink p by lr * wd) if
    decoupled_weight_decay, else as L2 regularisation added to the gradient (coupled_gradient,
    which also negates it for maximize)."""
    if not (group["weight_decay"] and group["decoupled_weight_decay"]):
        return coupled_gradient(p, grad, group)
    p._data *= 1 - group["lr"] * group["weight_decay"]
    return -grad if group["maximize"] else grad


def _check_common(who: str, lr: Any, betas: Any, eps: Any, weight_decay: Any) -> None:
    check_lr(who, lr)
    check_not_negative(who, "eps", eps, "Invalid epsilon value")
    check_betas(who, betas)
    check_not_negative(who, "weight_decay", weight_decay, "Invalid weight_decay value")


class NAdam(Optimizer):
    """Adam whose momentum looks one step ahead, with a momentum coefficient that warms up:

        mu_t = b1 (1 - 0.5 * 0.96^(t * momentum_decay)),   P_t = mu_1 ... mu_t  (mu_product)
        m = lerp(m, g, 1 - b1),   v = b2 v + (1 - b2) g^2
        d = sqrt(v / (1 - b2^t)) + eps
        p -= lr (1 - mu_t) / (1 - P_t) * g / d + lr mu_{t+1} / (1 - P_t mu_{t+1}) * m / d

    mu_product is a 0-d array of the step-count dtype (the default float dtype at the first
    step, as PyTorch keeps it: float32 unless the default is float64), so the product rounds
    as PyTorch's does. `foreach` is accepted and ignored (same numbers).
    """

    _group_defaults = (
        ("maximize", False),
        ("foreach", None),
        ("capturable", False),
        ("differentiable", False),
        ("decoupled_weight_decay", False),
    )  # (PyTorch's __setstate__)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_common("NAdam", lr, betas, eps, weight_decay)
        check_not_negative(
            "NAdam", "momentum_decay", momentum_decay, "Invalid momentum_decay value"
        )
        super().__init__(
            params,
            {  # (in PyTorch's order: state dicts print the same)
                "lr": lr,
                "betas": tuple(betas),
                "eps": eps,
                "weight_decay": weight_decay,
                "momentum_decay": momentum_decay,
                "decoupled_weight_decay": bool(decoupled_weight_decay),
                "maximize": maximize,
                "foreach": foreach,
                "capturable": capturable,
                "differentiable": differentiable,
            },
        )

    def _update(self, p, grad, group, state) -> None:
        g = _decay_or_add(p, grad, group)
        if not state:
            state["step"] = 0
            state["mu_product"] = np.ones((), dtype=self._step_dtype)
            state["exp_avg"] = np.zeros_like(p._data)
            state["exp_avg_sq"] = np.zeros_like(p._data)
        state["step"] += 1
        t = state["step"]
        lr, (b1, b2), psi = group["lr"], group["betas"], group["momentum_decay"]
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] *= mu  # (in its own dtype, as PyTorch's 0-d tensor)
        mu_product = float(state["mu_product"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        lerp_(m, g, 1 - b1)
        v *= b2
        v += (1 - b2) * g * g
        denom = np.sqrt(v / (1 - b2**t))
        denom += group["eps"]
        p._data -= (lr * (1.0 - mu) / (1.0 - mu_product)) * (g / denom)
        p._data -= (lr * mu_next / (1.0 - mu_product * mu_next)) * (m / denom)


class RAdam(Optimizer):
    """Adam whose adaptive step is switched on only once the variance of its estimate is
    bounded, and then scaled by the rectification factor r_t:

        m = lerp(m, g, 1 - b1),   v = b2 v + (1 - b2) g^2
        rho_inf = 2 / (1 - b2) - 1,   rho_t = rho_inf - 2 t b2^t / (1 - b2^t)
        rho_t > 5:  p -= m / (1 - b1^t) * lr * sqrt(1 - b2^t) / (sqrt(v) + eps) * r_t
        otherwise:  p -= m / (1 - b1^t) * lr            (SGD with momentum)

    `foreach` is accepted and ignored (same numbers).
    """

    _group_defaults = (
        ("foreach", None),
        ("maximize", False),
        ("differentiable", False),
        ("decoupled_weight_decay", False),
        ("capturable", False),
    )  # (PyTorch's __setstate__)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_common("RAdam", lr, betas, eps, weight_decay)
        super().__init__(
            params,
            {  # (in PyTorch's order: state dicts print the same)
                "lr": lr,
                "betas": tuple(betas),
                "eps": eps,
                "weight_decay": weight_decay,
                "maximize": maximize,
                "foreach": foreach,
                "capturable": capturable,
                "decoupled_weight_decay": bool(decoupled_weight_decay),
                "differentiable": differentiable,
            },
        )

    def _update(self, p, grad, group, state) -> None:
        g = _decay_or_add(p, grad, group)
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p._data)
            state["exp_avg_sq"] = np.zeros_like(p._data)
        state["step"] += 1
        t = state["step"]
        lr, (b1, b2) = group["lr"], group["betas"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        lerp_(m, g, 1 - b1)
        v *= b2
        v += (1 - b2) * g * g
        bias2 = 1 - b2**t
        step = m / (1 - b1**t)
        step *= lr
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * b2**t / bias2
        if rho_t > 5.0:
            rect = math.sqrt(
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            )
            denom = np.sqrt(v)
            denom += group["eps"]
            step *= math.sqrt(bias2) / denom  # (PyTorch's order of the products)
            step *= rect
        p._data -= step
