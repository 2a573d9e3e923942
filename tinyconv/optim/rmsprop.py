"""RMSprop, exactly PyTorch's update (including its centered and momentum variants)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, check_nonnegative, coupled_gradient, lerp_


class RMSprop(Optimizer):
    """Divide the gradient by a running root-mean-square of recent gradients:

    v = alpha v + (1 - alpha) g^2                 (square_avg)
    centered: a = lerp(a, g, 1 - alpha); v_hat = v - a^2   else v_hat = v
    d = g / (sqrt(v_hat) + eps)
    momentum: buf = momentum buf + d; p -= lr buf     else p -= lr d
    """

    _group_defaults = (
        ("momentum", 0),
        ("centered", False),
        ("foreach", None),
        ("maximize", False),
        ("differentiable", False),
        ("capturable", False),
    )  # (PyTorch's __setstate__)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        for name, value in (
            ("alpha", alpha),
            ("eps", eps),
            ("weight_decay", weight_decay),
            ("momentum", momentum),
        ):
            check_nonnegative("RMSprop", name, value)
        super().__init__(
            params,
            {
                "lr": lr,  # (in PyTorch's order: state dicts print the same)
                "momentum": momentum,
                "alpha": alpha,
                "eps": eps,
                "centered": centered,
                "weight_decay": weight_decay,
                "capturable": capturable,
                "foreach": foreach,
                "maximize": maximize,
                "differentiable": differentiable,
            },
        )

    def _update(self, p, grad, group, state) -> None:
        g = coupled_gradient(p, grad, group)
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p._data)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(p._data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p._data)
        state["step"] += 1
        alpha = group["alpha"]
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * g * g
        if group["centered"]:
            a = state["grad_avg"]
            lerp_(a, g, 1 - alpha)
            avg = np.sqrt(v - a * a)
        else:
            avg = np.sqrt(v)
        avg += group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += g / avg
            p._data -= group["lr"] * buf
        else:
            p._data -= group["lr"] * (g / avg)
