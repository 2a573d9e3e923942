"""SGD with momentum, dampening, weight decay and Nesterov, exactly PyTorch's update."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._errors import TensorValueError
from ..autograd import grad_mode
from ..kernels.updates import sgd_update_
from ..tensor import Tensor
from .optimizer import Optimizer, check_fused, check_step_flags, coupled_gradient, numbers_of


class SGD(Optimizer):
    """`foreach` and `fused` are accepted and ignored (PyTorch's choice of loop implementation;
    same numbers).

    p -= lr * d, where d = grad + wd * p, smoothed by momentum as PyTorch does it:

        buf = d                                  (first step)
        buf = momentum * buf + (1 - dampening) * d   (later steps)
        d = d + momentum * buf if nesterov else buf
    """

    _group_defaults = (
        ("nesterov", False),
        ("maximize", False),
        ("foreach", None),
        ("differentiable", False),
        ("fused", False),
    )  # (PyTorch's __setstate__)

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
        check_fused("SGD", fused, foreach, differentiable)
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
                "differentiable": differentiable,
                "fused": fused,
            },
        )

    def step(self, closure: Any = None) -> Any:
        # (the flag is set once, when a group listing a parameter twice was added: no check
        # on every step)
        if self._duplicate_params and any(g["momentum"] for g in self.param_groups):
            return self._step_with_duplicates(closure)
        return super().step(closure)

    def _step_with_duplicates(self, closure: Any) -> Any:
        """A group that lists a parameter twice (PyTorch warns, and allows it): PyTorch's SGD
        reads every entry's momentum buffer before updating any, so on the first step each
        entry starts a buffer of its own (the last one is kept), and later both update the one
        kept buffer in turn. The parameter takes every entry's update."""
        loss = None
        if closure is not None:
            with grad_mode.enable_grad():
                loss = closure()
        check_step_flags(self.param_groups)
        with grad_mode.no_grad():
            for group in self.param_groups:
                group = numbers_of(group)  # noqa: PLW2901
                params = group["params"]
                bufs = [
                    self.state[p].get("momentum_buffer") if p in self.state else None
                    for p in params
                ]
                bufs = [b._data if isinstance(b, Tensor) else b for b in bufs]
                for i, p in enumerate(params):
                    if p.grad is None:
                        continue
                    arrays = {} if bufs[i] is None else {"momentum_buffer": bufs[i]}
                    self._update(p, p.grad._data, group, arrays)
                    bufs[i] = arrays.get("momentum_buffer")
                    p._vc[0] += 1
                for p, buf in zip(params, bufs, strict=True):
                    if buf is not None:
                        self.state[p]["momentum_buffer"] = Tensor._make(buf, None, False)
        return loss

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
