"""L-BFGS, as torch.optim.LBFGS: a quasi-Newton method that needs a closure re-evaluating the
loss, used for full-batch problems (neural style transfer, small physics-informed fits).

One step runs up to `max_iter` iterations. Each one turns the gradient into a direction with
the two-loop recursion over the last `history_size` pairs (s = step taken, y = change of
gradient) and the initial Hessian guess H = y.s / y.y, then moves by `lr` along it (the
very first step is scaled down to at most lr / sum|g|). It stops early when the gradient,
the step or the change of loss fall below the tolerances, or after `max_eval` closure calls.
All parameters are treated as one flat vector; they must live in one parameter group.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._errors import TensorValueError
from ..autograd import grad_mode
from .optimizer import Optimizer, scalar_lr


class LBFGS(Optimizer):
    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        if line_search_fn is not None:
            # (PyTorch's only option is 'strong_wolfe'; tinyconv has no line search yet)
            raise NotImplementedError(
                f"LBFGS: line_search_fn={line_search_fn!r} is not supported by tinyconv "
                "(only None, the fixed step lr)"
            )
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(
            params,
            {
                "lr": lr,
                "max_iter": max_iter,
                "max_eval": max_eval,
                "tolerance_grad": tolerance_grad,
                "tolerance_change": tolerance_change,
                "history_size": history_size,
                "line_search_fn": line_search_fn,
            },
        )
        if len(self.param_groups) != 1:
            raise TensorValueError(
                "LBFGS doesn't support per-parameter options (parameter groups): pass one list"
            )
        self._params = self.param_groups[0]["params"]

    def _flat_grad(self) -> np.ndarray:
        """Every parameter's gradient (zeros where None) in one vector."""
        parts = [
            np.zeros(p._data.size, p._data.dtype) if p.grad is None else p.grad._data.reshape(-1)
            for p in self._params
        ]
        return np.concatenate(parts)

    def _add(self, t: Any, d: np.ndarray) -> None:
        """Parameters += t * d (d flat, in parameter order)."""
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += (t * d[offset : offset + n]).reshape(p._data.shape).astype(p._data.dtype)
            p._vc[0] += 1
            offset += n

    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Run up to max_iter L-BFGS iterations; `closure` clears the gradients, computes the
        loss, calls backward and returns the loss. Returns the first loss."""
        if closure is None:
            raise RuntimeError(
                "LBFGS.step: a closure is required (it re-evaluates the model: "
                "def closure(): optimizer.zero_grad(); loss = ...; loss.backward(); return loss)"
            )
        group = self.param_groups[0]
        lr, max_iter, max_eval = scalar_lr(group["lr"]), group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        def evaluate() -> Any:
            with grad_mode.enable_grad():
                return closure()

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        with grad_mode.no_grad():
            flat_grad = self._flat_grad()
            if np.abs(flat_grad).max() <= tol_grad:  # already optimal
                return orig_loss
            d, t = state.get("d"), state.get("t")
            old_dirs, old_stps = state.get("old_dirs"), state.get("old_stps")
            ro, h_diag = state.get("ro"), state.get("H_diag")
            prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
            n_iter = 0
            while n_iter < max_iter:
                n_iter += 1
                state["n_iter"] += 1
                if state["n_iter"] == 1:
                    d = -flat_grad
                    old_dirs, old_stps, ro, h_diag = [], [], [], 1
                else:
                    y = flat_grad - prev_flat_grad
                    s = d * t
                    ys = y.dot(s)
                    if ys > 1e-10:  # keep the pair only where the curvature is positive
                        if len(old_dirs) == history_size:
                            old_dirs.pop(0)
                            old_stps.pop(0)
                            ro.pop(0)
                        old_dirs.append(y)
                        old_stps.append(s)
                        # (0-d arrays, as PyTorch keeps them: state_dict shows 0-d Tensors)
                        ro.append(np.asarray(1.0 / ys))
                        h_diag = np.asarray(ys / y.dot(y))
                    # the two-loop recursion: d = -H g with H from the stored pairs; the
                    # coefficients live in the state, history_size long, as PyTorch's "al"
                    al = state.setdefault("al", [None] * history_size)
                    q = -flat_grad
                    for i in range(len(old_dirs) - 1, -1, -1):
                        al[i] = np.asarray(old_stps[i].dot(q) * ro[i])
                        q = q - al[i] * old_dirs[i]
                    d = r = q * h_diag
                    for i in range(len(old_dirs)):
                        be_i = old_dirs[i].dot(r) * ro[i]
                        r += (al[i] - be_i) * old_stps[i]
                prev_flat_grad = flat_grad.copy()
                prev_loss = loss
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
                if flat_grad.dot(d) > -tol_change:  # not a descent direction
                    break
                self._add(t, d)
                evals = 0
                if n_iter != max_iter:
                    loss = float(evaluate())
                    flat_grad = self._flat_grad()
                    evals = 1
                current_evals += evals
                state["func_evals"] += evals
                if n_iter == max_iter or current_evals >= max_eval:
                    break
                if np.abs(flat_grad).max() <= tol_grad:
                    break
                if np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                    break
            state.update(
                d=d,
                t=t,
                old_dirs=old_dirs,
                old_stps=old_stps,
                ro=ro,
                H_diag=h_diag,
                prev_flat_grad=prev_flat_grad,
                prev_loss=prev_loss,
            )
        return orig_loss

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore state_dict(): the hyperparameters and the one parameter's L-BFGS history."""
        states = state_dict.get("state", {}) if isinstance(state_dict, dict) else {}
        super().load_state_dict({**state_dict, "state": {}})
        if states:
            (entry,) = states.values()
            self.state = {self._params[0]: {k: _imported(v) for k, v in entry.items()}}


def _imported(v: Any) -> Any:
    """A state entry back from state_dict(): Tensors (in lists too) as array copies."""
    if isinstance(v, list):
        return [_imported(x) for x in v]
    return v._data.copy() if hasattr(v, "_data") else copy.deepcopy(v)
