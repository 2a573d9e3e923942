"""Rprop (resilient backpropagation), exactly PyTorch's update."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._errors import TensorValueError
from .optimizer import Optimizer, check_lr


class Rprop(Optimizer):
    """Each coordinate keeps its own step size and moves by it against the gradient's sign,
    ignoring the gradient's magnitude (a full-batch method):

        same sign as the previous gradient:  step_size = min(step_size * etas[1], step_sizes[1])
        sign changed:  step_size = max(step_size * etas[0], step_sizes[0]), and this step the
                       coordinate stays put and its gradient is remembered as 0
        p -= sign(g) * step_size                    (step_size starts at lr; prev is g)

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
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_lr("Rprop", lr)
        for name, pair in (("etas", etas), ("step_sizes", step_sizes)):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"Rprop: {name} must be a pair of numbers, got {pair!r}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise TensorValueError(
                f"Rprop: Invalid eta values: {etas[0]}, {etas[1]} "
                "(etas must satisfy 0 < etas[0] < 1 < etas[1])"
            )
        super().__init__(
            params,
            {  # (in PyTorch's order: state dicts print the same)
                "lr": lr,
                "etas": tuple(etas),
                "step_sizes": tuple(step_sizes),
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
            state["prev"] = np.zeros_like(p._data)
            state["step_size"] = np.full_like(p._data, group["lr"])
        state["step"] += 1
        (eta_minus, eta_plus), (lo, hi) = group["etas"], group["step_sizes"]
        prev, step_size = state["prev"], state["step_size"]
        agreement = g * prev
        flipped = agreement < 0
        # the factor array in the parameter's dtype (np.where on Python floats would be float64)
        factor = np.ones_like(step_size)
        factor[agreement > 0] = eta_plus
        factor[flipped] = eta_minus
        step_size *= factor
        np.clip(step_size, lo, hi, out=step_size)
        prev[...] = g
        prev[flipped] = 0  # a flipped coordinate does not move and forgets its gradient
        p._data -= np.sign(prev) * step_size
