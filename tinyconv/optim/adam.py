"""Adam (and AdamW), exactly PyTorch's update."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._errors import TensorValueError
from ..kernels.updates import adam_update_
from ..tensor import Tensor
from .optimizer import Optimizer, check_betas, check_fused, scalar_pow


class Adam(Optimizer):
    """Adam: running means of the gradient (m) and its square (v), bias-corrected:

        m = b1 m + (1 - b1) g,   v = b2 v + (1 - b2) g^2
        p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    `foreach` and `fused` are accepted and ignored (PyTorch's choice of loop implementation;
    same numbers, but for the step counts, float32 when fused).
    """

    _group_defaults = (
        ("amsgrad", False),
        ("maximize", False),
        ("foreach", None),
        ("capturable", False),
        ("differentiable", False),
        ("decoupled_weight_decay", False),
        ("fused", None),
    )  # (PyTorch's __setstate__)

    decoupled = False  # AdamW: weight decay shrinks p directly instead of adding to g

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        check_fused(type(self).__name__, fused, foreach, differentiable)
        if isinstance(lr, Tensor) and foreach and not capturable:
            # (PyTorch's foreach kernels take a Python number; only capturable ones a Tensor)
            raise TensorValueError(
                f"{type(self).__name__}: lr as a Tensor is not supported for capturable=False "
                "and foreach=True; pass foreach=False (or None) or a float lr"
            )
        check_betas(type(self).__name__, betas)
        if eps < 0:
            raise TensorValueError(f"{type(self).__name__}: invalid eps {eps} (must be >= 0)")
        if weight_decay < 0:
            raise TensorValueError(
                f"{type(self).__name__}: invalid weight_decay {weight_decay} (must be >= 0)"
            )
        b0, b1 = betas
        if not (
            (isinstance(b0, float) and isinstance(b1, float))
            or (isinstance(b0, Tensor) and isinstance(b1, Tensor))
        ):
            # (PyTorch's check, which refuses an int: betas=(0, 0.99) must be written (0.0, 0.99))
            raise TensorValueError(
                f"{type(self).__name__}: betas must be either both floats or both Tensors, got "
                f"({type(b0).__name__}, {type(b1).__name__})"
            )
        super().__init__(
            params,
            {
                "lr": lr,
                "betas": tuple(betas),
                "eps": eps,
                "weight_decay": weight_decay,
                "amsgrad": amsgrad,
                "maximize": maximize,
                "foreach": foreach,
                "capturable": capturable,
                "differentiable": differentiable,
                "fused": fused,
                "decoupled_weight_decay": bool(decoupled_weight_decay),
            },
        )

    def _update(self, p, grad, group, state) -> None:
        g = -grad if group["maximize"] else grad
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if wd:
            # AdamW, or Adam(decoupled_weight_decay=True) (a group loaded from an older
            # checkpoint may lack the key: the class decides then)
            if group.get("decoupled_weight_decay", self.decoupled):
                p._data *= 1 - lr * wd
            else:
                g = g + wd * p._data
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p._data)
            state["exp_avg_sq"] = np.zeros_like(p._data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p._data)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        vmax = state["max_exp_avg_sq"] if group["amsgrad"] else None
        if adam_update_(p._data, g, m, v, vmax, lr, b1, b2, eps, t):
            return  # the same update, chunk by chunk in cache (kernels/updates.py)
        # One scratch array for the whole update (in place, as PyTorch's foreach kernels):
        # it holds (1 - b1) g, then (1 - b2) g g, then the denominator, then the step.
        # (into an array made here: for a 0-d parameter NumPy's product is a scalar, which
        # the in-place steps below could not write into)
        tmp = np.multiply(g, 1 - b1, out=np.empty_like(p._data), dtype=p._data.dtype)
        m *= b1
        m += tmp
        np.multiply(g, 1 - b2, out=tmp)  # ((1 - b2) g) g, the order of the old expression
        tmp *= g
        v *= b2
        v += tmp
        bias1 = 1 - scalar_pow(b1, t)
        bias2 = 1 - scalar_pow(b2, t)
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        np.sqrt(v, out=tmp)  # denom = sqrt(v) / sqrt(bias2) + eps
        # (bias2 ** 0.5, PyTorch's expression: for a Tensor beta2 a float32 scalar, its root
        # rounded to float32 as PyTorch's 0-d tensor's is)
        tmp /= bias2**0.5
        tmp += eps
        np.divide(m, tmp, out=tmp)  # PyTorch's addcdiv: p - (lr / bias1) * (m / denom)
        if isinstance(bias1, np.generic) and not isinstance(lr, np.generic):
            # a number over a Tensor beta's correction: PyTorch's number / Tensor is
            # reciprocal(Tensor) * number, rounded twice in float32
            tmp *= np.reciprocal(bias1) * lr
        else:
            tmp *= lr / bias1
        p._data -= tmp


class AdamW(Adam):
    decoupled = True

    def _fill_group(self, group: dict) -> None:
        # (PyTorch's AdamW.__setstate__: any state loaded into an AdamW decays decoupled)
        super()._fill_group(group)
        group["decoupled_weight_decay"] = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )
