"""ASGD (averaged stochastic gradient descent), exactly PyTorch's update."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import _dtype
from .optimizer import Optimizer, check_lr, check_not_negative


class ASGD(Optimizer):
    """SGD with a decaying step size eta, plus a running average `ax` of the parameters
    (Polyak averaging) that starts after t0 steps; `ax` is what one evaluates with, the
    parameters themselves move as plain decayed SGD:

        p = p (1 - lambd eta) - eta g
        ax = p if mu == 1 else ax + mu (p - ax)
        eta = lr / (1 + lambd lr t)^alpha,   mu = 1 / max(1, t - t0)

    eta and mu are 0-d arrays of the step-count dtype (the default float dtype at the first
    step: float32 unless the default is float64), rounded as PyTorch's 0-d tensors are.
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
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_lr("ASGD", lr)
        check_not_negative("ASGD", "weight_decay", weight_decay, "Invalid weight_decay value")
        super().__init__(
            params,
            {  # (in PyTorch's order: state dicts print the same)
                "lr": lr,
                "lambd": lambd,
                "alpha": alpha,
                "t0": t0,
                "weight_decay": weight_decay,
                "foreach": foreach,
                "maximize": maximize,
                "differentiable": differentiable,
                "capturable": capturable,
            },
        )

    def _update(self, p, grad, group, state) -> None:
        g = -grad if group["maximize"] else grad
        if not state:
            state["step"] = 0
            state["eta"] = np.array(group["lr"], dtype=self._step_dtype)
            state["mu"] = np.ones((), dtype=self._step_dtype)
            state["ax"] = np.zeros_like(p._data)
        state["step"] += 1
        t = state["step"]
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p._data
        lr, lambd = group["lr"], group["lambd"]
        eta, mu = float(state["eta"]), float(state["mu"])
        p._data *= 1 - lambd * eta
        p._data -= eta * g
        ax = state["ax"]
        if mu != 1:
            ax += (p._data - ax) * mu
        else:
            ax[...] = p._data
        # PyTorch makes the new values tensors of the default float dtype before copying them
        # in: so they round to float32 under a float32 default even where eta and mu are float64
        # (as after load_state_dict, which casts them to the parameter's dtype)
        default = _dtype.get_default_dtype()
        state["eta"][...] = np.array(lr / ((1 + lambd * lr * t) ** group["alpha"]), default)
        state["mu"][...] = np.array(1 / max(1, t - group["t0"]), default)
