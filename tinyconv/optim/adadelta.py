"""Adadelta, exactly PyTorch's update."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import (
    Optimizer,
    check_hyperparameter,
    check_lr,
    check_not_negative,
    coupled_gradient,
)


class Adadelta(Optimizer):
    """Step in units of the parameter: the ratio of running RMS of past steps to running RMS
    of gradients scales each gradient (lr multiplies the result, 1.0 by default):

        v = rho v + (1 - rho) g^2                         (square_avg)
        d = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho u + (1 - rho) d^2                         (acc_delta)
        p -= lr d

    `foreach` is accepted and ignored (same numbers).
    """

    _group_defaults = (
        ("foreach", None),
        ("maximize", False),
        ("differentiable", False),
        ("capturable", False),
    )  # (PyTorch's __setstate__)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_lr("Adadelta", lr)
        check_hyperparameter(
            "Adadelta", "rho", rho, lambda v: 0.0 <= v <= 1.0, "in [0, 1]", "Invalid rho value"
        )
        check_not_negative("Adadelta", "eps", eps, "Invalid epsilon value")
        check_not_negative("Adadelta", "weight_decay", weight_decay, "Invalid weight_decay value")
        super().__init__(
            params,
            {  # (in PyTorch's order: state dicts print the same)
                "lr": lr,
                "rho": rho,
                "eps": eps,
                "weight_decay": weight_decay,
                "maximize": maximize,
                "capturable": capturable,
                "foreach": foreach,
                "differentiable": differentiable,
            },
        )

    def _update(self, p, grad, group, state) -> None:
        g = coupled_gradient(p, grad, group)
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p._data)
            state["acc_delta"] = np.zeros_like(p._data)
        state["step"] += 1
        rho, eps = group["rho"], group["eps"]
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * g * g
        delta = np.sqrt(u + eps)
        delta /= np.sqrt(v + eps)
        delta *= g
        u *= rho
        u += (1 - rho) * delta * delta
        p._data -= group["lr"] * delta
