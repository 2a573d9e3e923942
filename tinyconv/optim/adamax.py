"""Adamax, exactly PyTorch's update."""

from __future__ import annotations

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


class Adamax(Optimizer):
    """Adam with the infinity norm: the square-root of a running mean of g^2 becomes a
    running maximum of |g| (which needs no bias correction):

        m = lerp(m, g, 1 - b1)                   (exp_avg)
        u = max(b2 u, |g| + eps)                 (exp_inf)
        p -= lr / (1 - b1^t) * m / u

    `foreach` is accepted and ignored (PyTorch's choice of loop implementation; same numbers).
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
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_lr("Adamax", lr)
        check_not_negative("Adamax", "eps", eps, "Invalid epsilon value")
        check_betas("Adamax", betas)
        check_not_negative("Adamax", "weight_decay", weight_decay, "Invalid weight_decay value")
        super().__init__(
            params,
            {  # (in PyTorch's order: state dicts print the same)
                "lr": lr,
                "betas": tuple(betas),
                "eps": eps,
                "weight_decay": weight_decay,
                "foreach": foreach,
                "maximize": maximize,
                "differentiable": differentiable,
                "capturable": capturable,
            },
        )

    def _update(self, p, grad, group, state) -> None:
        g = coupled_gradient(p, grad, group)
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p._data)
            state["exp_inf"] = np.zeros_like(p._data)
        state["step"] += 1
        b1, b2 = group["betas"]
        m, u = state["exp_avg"], state["exp_inf"]
        lerp_(m, g, 1 - b1)
        u *= b2
        np.maximum(u, np.abs(g) + group["eps"], out=u)
        p._data -= (group["lr"] / (1 - b1 ** state["step"])) * (m / u)
