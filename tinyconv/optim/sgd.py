"""SGD with momentum, dampening, weight decay and Nesterov, exactly PyTorch's update."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._errors import TensorValueError
from ..kernels.updates import sgd_update_
from .optimizer import Optimizer, coupled_gradient


class SGD(Optimizer):
    """`foreach` is accepted and ignored (PyTorch's choice of loop implementation; same numbers).

    p -= lr * d, where d = grad + wd * p, smoothed by momentum as PyTorch does it:

        buf = d                                  (first step)
        buf = momentum * buf + (1 - dampening) * d   (later steps)
        d = d + momentum * buf if nesterov else buf
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if differentiable or fused:
            raise NotImplementedError(
                "SGD: differentiable=True and fused=True are not supported "
                "(tinyconv never differentiates through a step and has no fused kernels)"
            )
        if momentum < 0:
            raise TensorValueError(f"SGD: invalid momentum {momentum} (must be >= 0)")
        if weight_decay < 0:
            raise TensorValueError(f"SGD: invalid weight_decay {weight_decay} (must be >= 0)")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise TensorValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(
            params,
            {
                "lr": lr,
                "momentum": momentum,
                "dampening": dampening,
                "weight_decay": weight_decay,
                "nesterov": nesterov,
                "maximize": maximize,
                "foreach": foreach,
                "differentiable": False,
                "fused": fused,
            },
        )

    def _update(self, p, grad, group, state) -> None:
        d = coupled_gradient(p, grad, group)
        momentum = group["momentum"]
        buf = state.get("momentum_buffer") if momentum else None
        if (buf is not None or not momentum) and sgd_update_(
            p._data, d, buf, group["lr"], momentum, group["dampening"], group["nesterov"]
        ):
            return  # the same update, chunk by chunk in cache (kernels/updates.py)
        if momentum:
            if buf is None:
                buf = state["momentum_buffer"] = np.array(d, dtype=p._data.dtype, copy=True)
            else:
                buf *= momentum
                if group["dampening"]:
                    buf += (1 - group["dampening"]) * d
                else:  # 1 * d is d: skip the temporary
                    buf += d
            d = d + momentum * buf if group["nesterov"] else buf
        p._data -= group["lr"] * d
