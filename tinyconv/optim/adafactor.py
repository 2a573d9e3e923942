"""Adafactor, PyTorch's version of it (torch.optim.Adafactor)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, check_lr, lerp_, scalar_lr


def _l2(a: np.ndarray, **axes: Any) -> np.ndarray:
    """The 2-norm in a's dtype (over all of a, or along `axis`)."""
    return np.sqrt(np.sum(a * a, **axes))


class Adafactor(Optimizer):
    """Adam's second moment, factored: for a matrix gradient (the last two dims) it keeps a
    running mean of g^2 per row (R) and per column (C) instead of one per element, and
    estimates the element's as R C^T / mean(R). Step t of a parameter p:

        beta2_t = 1 - t^beta2_decay                  (the running means' decay)
        rho = min(lr, 1 / sqrt(t))                   (relative step size)
        alpha = max(eps2, rms(p)) * rho              (scaled by the parameter's size)
        p *= 1 - lr * weight_decay
        R = lerp(R, mean(g^2 over columns), 1 - beta2_t), C likewise over rows
        v = R C / max(mean(R), eps1)                 (a vector gradient keeps v itself)
        u = g / sqrt(max(v, eps1^2))
        p -= alpha / max(1, rms(u) / d) * u          (updates clipped to rms d)

    eps1 defaults to the dtype's machine epsilon. `foreach` is accepted and ignored.
    """

    _group_defaults = (("foreach", None),)  # (PyTorch's __setstate__)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        check_lr("Adafactor", lr)
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        super().__init__(
            params,
            {  # (in PyTorch's order: state dicts print the same)
                "lr": lr,
                "beta2_decay": beta2_decay,
                "eps": eps,
                "d": d,
                "weight_decay": weight_decay,
                "foreach": foreach,
                "maximize": maximize,
            },
        )

    def _state_shape(self, key: str, shape: tuple) -> tuple:
        if key == "row_var":
            return (*shape[:-1], 1)
        if key == "col_var":
            return (*shape[:-2], 1, shape[-1])
        return shape

    def _update(self, p, grad, group, state) -> None:
        g = -grad if group["maximize"] else grad
        a = p._data
        if not state:
            state["step"] = 0
            if g.ndim > 1:
                state["row_var"] = np.zeros((*g.shape[:-1], 1), g.dtype)
                state["col_var"] = np.zeros((*g.shape[:-2], 1, g.shape[-1]), g.dtype)
            else:
                state["variance"] = np.zeros_like(g)
        state["step"] += 1
        step = float(state["step"])
        lr = scalar_lr(group["lr"])  # (a Tensor lr: a float32 scalar, rounding as PyTorch's 0-d lr)
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = float(np.finfo(a.dtype).eps)
        weight = step ** group["beta2_decay"]  # 1 - beta2_t
        rho = min(lr, 1 / step**0.5)
        alpha = max(eps2, float(_l2(a)) / a.size**0.5) * rho  # (before the decay, as PyTorch)
        if group["weight_decay"] != 0:
            a *= 1 - lr * group["weight_decay"]
        if g.ndim > 1:
            row_var, col_var = state["row_var"], state["col_var"]
            lerp_(row_var, np.square(_l2(g, axis=-1, keepdims=True)) / g.shape[-1], weight)
            lerp_(col_var, np.square(_l2(g, axis=-2, keepdims=True)) / g.shape[-2], weight)
            estimate = row_var @ col_var
            estimate /= np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            lerp_(state["variance"], g * g, weight)
            estimate = state["variance"].copy()
        # (into estimate, a fresh array: for a 0-d parameter np.maximum would return a NumPy
        # scalar, which the in-place steps below cannot write into)
        update = np.maximum(estimate, eps1 * eps1, out=estimate)
        np.sqrt(update, out=update)
        np.divide(1, update, out=update)  # (rsqrt: a square root, then its reciprocal)
        update *= g
        denom = max(1.0, float(_l2(update)) / (math.sqrt(update.size) * group["d"]))
        a += (-alpha / denom) * update
