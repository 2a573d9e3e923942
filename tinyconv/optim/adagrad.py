"""Adagrad, exactly PyTorch's update."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _scalar_dtype, _state_tensors, check_fused, check_nonnegative


class Adagrad(Optimizer):
    """Scale each coordinate's step by the root of the sum of all its squared gradients:

    s += g^2                                   (sum, starts at initial_accumulator_value)
    p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)
    """

    _group_defaults = (
        ("foreach", None),
        ("maximize", False),
        ("differentiable", False),
        ("fused", None),
    )  # (PyTorch's __setstate__)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        for name, value in (
            ("lr_decay", lr_decay),
            ("weight_decay", weight_decay),
            ("initial_accumulator_value", initial_accumulator_value),
            ("eps", eps),
        ):
            check_nonnegative("Adagrad", name, value)
        check_fused("Adagrad", fused, foreach, differentiable)
        super().__init__(
            params,
            {
                "lr": lr,
                "lr_decay": lr_decay,
                "eps": eps,
                "weight_decay": weight_decay,
                "initial_accumulator_value": initial_accumulator_value,
                "foreach": foreach,
                "maximize": maximize,
                "differentiable": differentiable,
                "fused": fused,
            },
        )
        # PyTorch fills the state at construction, so a fresh optimizer's state_dict has it
        # (its step counts in the dtype of then)
        self._step_dtype = _scalar_dtype(self.param_groups)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = _state_tensors(
                    {},
                    {"step": 0, "sum": np.full_like(p._data, group["initial_accumulator_value"])},
                    self._step_dtype,
                )

    def _update(self, p, grad, group, state) -> None:
        g = -grad if group["maximize"] else grad
        if not state:  # a parameter group added after construction
            state["step"] = 0
            state["sum"] = np.full_like(p._data, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p._data
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        s += g * g
        p._data -= clr * (g / (np.sqrt(s) + group["eps"]))
