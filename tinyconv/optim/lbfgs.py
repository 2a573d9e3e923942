"""L-BFGS, as torch.optim.LBFGS: a quasi-Newton method that needs a closure re-evaluating the
loss, used for full-batch problems (neural style transfer, small physics-informed fits).

One step runs up to `max_iter` iterations. Each one turns the gradient into a direction with
the two-loop recursion over the last `history_size` pairs (s = step taken, y = change of
gradient) and the initial Hessian guess H = y.s / y.y, then moves by `lr` along it (the
very first step is scaled down to at most lr / sum|g|), or, with
`line_search_fn="strong_wolfe"`, by the step a line search finds along it (below). It stops
early when the gradient, the step or the change of loss fall below the tolerances, or after
`max_eval` closure calls. All parameters are treated as one flat vector; they must live in
one parameter group.

The line search looks for a step t along the direction d where the loss phi(t) = f(x + t d)
satisfies the strong Wolfe conditions: sufficient decrease, phi(t) <= phi(0) + c1 t phi'(0)
(c1 = 1e-4), and a flat enough slope, |phi'(t)| <= c2 |phi'(0)| (c2 = 0.9), where
phi'(t) = g(x + t d) . d. It first grows t until an interval is known to hold such a point,
then shrinks the interval ("zoom"), each trial t the minimum of the cubic through the two
ends' values and slopes (Nocedal and Wright, Numerical Optimization, algorithms 3.5 and
3.6), with PyTorch's choices: at most 25 closure calls, a trial kept 10% away from the
interval's ends when progress stalls, and scalars kept in the parameters' dtype as PyTorch's
0-d tensors are (NumPy's float32 scalars round as they do), so the steps are PyTorch's.
"""

from __future__ import annotations

import copy
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._errors import TensorTypeError, TensorValueError
from ..autograd import grad_mode
from ..tensor import Tensor
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
        """Parameters += t * d (d flat, in parameter order), rounded once as PyTorch's fused
        add_(d, alpha=t)."""
        offset = 0
        for p in self._params:
            n = p._data.size
            step = d[offset : offset + n].reshape(p._data.shape)
            p._data[...] = _fused_add(p._data, step, t)
            p._vc[0] += 1
            offset += n

    def _evaluate_at(self, closure: Callable[[], Any], saved: list, t: Any, d: np.ndarray) -> tuple:
        """(loss, flat gradient) at parameters + t * d; the parameters are put back to `saved`
        (their values before the line search) after."""
        self._add(t, d)
        with grad_mode.enable_grad():
            loss = closure()
        loss = _loss_value(loss)
        flat_grad = self._flat_grad()
        for p, data in zip(self._params, saved, strict=True):
            p._data[...] = data
            p._vc[0] += 1
        return loss, flat_grad

    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Run up to max_iter L-BFGS iterations; `closure` clears the gradients, computes the
        loss, calls backward and returns the loss. Returns the first loss."""
        if closure is None:
            # (PyTorch's step has closure as a required argument: TypeError; tinyconv raised
            # RuntimeError, and this is both)
            raise TensorTypeError(
                "LBFGS.step: a closure is required (it re-evaluates the model: "
                "def closure(): optimizer.zero_grad(); loss = ...; loss.backward(); return loss)"
            )
        group = self.param_groups[0]
        lr, max_iter, max_eval = scalar_lr(group["lr"]), group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search_fn = group["history_size"], group["line_search_fn"]
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        def evaluate() -> Any:
            with grad_mode.enable_grad():
                return closure()

        orig_loss = evaluate()
        loss = _loss_value(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        with grad_mode.no_grad():
            flat_grad = self._flat_grad()
            if np.abs(flat_grad).max() <= tol_grad:  # already optimal
                return orig_loss
            # (the state holds Tensors, as PyTorch's; the iterations below work on their arrays)
            d, t = _arrays(state.get("d")), state.get("t")
            old_dirs, old_stps = _arrays(state.get("old_dirs")), _arrays(state.get("old_stps"))
            ro, h_diag = _arrays(state.get("ro")), _arrays(state.get("H_diag"))
            prev_flat_grad = _arrays(state.get("prev_flat_grad"))
            prev_loss = state.get("prev_loss")
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
                    al = state["al"] = _arrays(state.get("al", [None] * history_size))
                    q = -flat_grad
                    for i in range(len(old_dirs) - 1, -1, -1):
                        al[i] = np.asarray(old_stps[i].dot(q) * ro[i])
                        q = _fused_add(q, old_dirs[i], -al[i])
                    d = q * h_diag
                    for i in range(len(old_dirs)):
                        be_i = old_dirs[i].dot(d) * ro[i]
                        d = _fused_add(d, old_stps[i], al[i] - be_i)
                if prev_flat_grad is None or not prev_flat_grad.flags.writeable:
                    prev_flat_grad = flat_grad.copy()
                else:  # (in place, as PyTorch's copy_: a state_dict holding it sees it)
                    prev_flat_grad[...] = flat_grad
                prev_loss = loss
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
                gtd = flat_grad.dot(d)  # the slope along d
                if gtd > -tol_change:  # not a descent direction
                    break
                evals = 0
                if line_search_fn is not None:
                    if line_search_fn != "strong_wolfe":
                        raise RuntimeError("only 'strong_wolfe' is supported")
                    start = [p._data.copy() for p in self._params]  # (copied once, as PyTorch)
                    loss, flat_grad, t, evals = _strong_wolfe(
                        functools.partial(self._evaluate_at, closure, start),
                        d,
                        t,
                        loss,
                        flat_grad,
                        gtd,
                    )
                    self._add(t, d)
                elif n_iter != max_iter:
                    self._add(t, d)
                    loss = _loss_value(evaluate())
                    flat_grad = self._flat_grad()
                    evals = 1
                else:  # (the last iteration moves without evaluating the loss there)
                    self._add(t, d)
                current_evals += evals
                state["func_evals"] += evals
                if n_iter == max_iter or current_evals >= max_eval:
                    break
                if np.abs(flat_grad).max() <= tol_grad:
                    break
                if np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                    break
            state.update(
                d=_tensors(d),
                t=t,
                old_dirs=_tensors(old_dirs),
                old_stps=_tensors(old_stps),
                ro=_tensors(ro),
                H_diag=_tensors(h_diag),
                prev_flat_grad=_tensors(prev_flat_grad),
                prev_loss=prev_loss,
            )
            if "al" in state:
                state["al"] = _tensors(state["al"])
        return orig_loss

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore state_dict(): the hyperparameters and the one parameter's L-BFGS history."""
        states = state_dict.get("state", {}) if isinstance(state_dict, dict) else {}
        super().load_state_dict({**state_dict, "state": {}})
        if states:
            (entry,) = states.values()
            self.state = defaultdict(
                dict, {self._params[0]: {k: _imported(v) for k, v in entry.items()}}
            )


def _loss_value(loss: Any) -> float:
    """The closure's loss as a float. PyTorch's float() runs under the step's no_grad and so
    never warns about a loss that requires grad; read it detached for the same quiet."""
    return float(loss.detach() if hasattr(loss, "detach") else loss)


def _imported(v: Any) -> Any:
    """A state entry back from state_dict(): Tensors (in lists too) kept, shared (PyTorch's
    load keeps a checkpoint's tensors of the parameters' dtype: later in-place updates show
    in the checkpoint), lists new."""
    if isinstance(v, list):
        return [_imported(x) for x in v]
    return v if isinstance(v, Tensor) else copy.deepcopy(v)


def _arrays(v: Any) -> Any:
    """A state entry as the step computes with it: Tensors (in lists too) as their arrays,
    shared; lists new."""
    if isinstance(v, list):
        return [_arrays(x) for x in v]
    return v._data if isinstance(v, Tensor) else v


def _tensors(v: Any) -> Any:
    """A state entry as the state keeps it: arrays (in lists too) as Tensors sharing their
    memory, so optimizer.state[p] shows PyTorch's Tensors."""
    if isinstance(v, list):
        return [_tensors(x) for x in v]
    return Tensor._make(v, None, False) if isinstance(v, np.ndarray) else v


def _fused_add(y: np.ndarray, x: np.ndarray, alpha: Any) -> np.ndarray:
    """y + alpha * x rounded once, as PyTorch's vectorised add_(x, alpha=alpha) (an fma):
    float32 through float64, where the product is exact. float64 is rounded twice here
    (NumPy has no fma), where PyTorch's fma rounds once: its last bit may differ (the README
    lists it); on an ill-conditioned problem that drifts by an ulp an iteration."""
    if y.dtype == np.float32:
        return (y + np.float64(np.float32(alpha)) * x.astype(np.float64)).astype(np.float32)
    return y + (alpha * x).astype(y.dtype)


def _cubic_minimum(x1: Any, f1: Any, g1: Any, x2: Any, f2: Any, g2: Any, bounds: Any = None) -> Any:
    """The minimiser of the cubic with values f1, f2 and slopes g1, g2 at x1, x2, clipped to
    `bounds` (default: between x1 and x2); their midpoint when the cubic has no minimum."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    # the cubic's derivative is a quadratic; d1 and d2 are its two roots' ingredients
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_squared = d1**2 - g1 * g2
    if d2_squared < 0:  # no real root: the cubic is monotone
        return (lo + hi) / 2.0
    d2 = np.sqrt(d2_squared)
    with np.errstate(divide="ignore", invalid="ignore"):  # (0-d tensors give inf quietly)
        if x1 <= x2:
            at = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            at = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(at, lo), hi)


def _strong_wolfe(
    evaluate: Callable[[Any, np.ndarray], tuple],
    d: np.ndarray,
    t: Any,
    f: float,
    g: np.ndarray,
    gtd: Any,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_evals: int = 25,
) -> tuple:
    """A step t along d meeting the strong Wolfe conditions (the module's docstring), from the
    loss f, gradient g and slope gtd = g . d at t = 0 and a first guess t; `evaluate(t, d)`
    gives (loss, gradient) at t. Returns (loss, gradient, t, closure calls) at the step."""

    def sufficient_decrease(t: Any, f_t: float) -> bool:
        return not f_t > f + c1 * t * gtd

    def flat_enough(slope: Any) -> bool:
        return abs(slope) <= -c2 * gtd

    d_max = np.abs(d).max()
    f_t, g_t = evaluate(t, d)
    evals = 1
    slope = g_t.dot(d)
    # 1. bracketing: grow t until [lo, hi] holds a point meeting both conditions
    t_prev, f_prev, g_prev, slope_prev = 0, f, g, gtd
    done = False
    calls = 0
    while calls < max_evals:
        if not sufficient_decrease(t, f_t) or (calls > 1 and f_t >= f_prev):
            ends = [[t_prev, f_prev, g_prev, slope_prev], [t, f_t, g_t, slope]]
            break
        if flat_enough(slope):  # t itself meets both conditions
            ends, done = [[t, f_t, g_t, slope]], True
            break
        if slope >= 0:  # the loss rises again past t: a minimum lies behind it
            ends = [[t_prev, f_prev, g_prev, slope_prev], [t, f_t, g_t, slope]]
            break
        # still going down: extrapolate, at least 1% past t and at most 10 t
        grown = _cubic_minimum(
            t_prev, f_prev, slope_prev, t, f_t, slope, bounds=(t + 0.01 * (t - t_prev), t * 10)
        )
        t_prev, f_prev, g_prev, slope_prev = t, f_t, g_t, slope
        t = grown
        f_t, g_t = evaluate(t, d)
        evals += 1
        slope = g_t.dot(d)
        calls += 1
    if calls == max_evals:  # (out of calls: the better of t = 0 and the last t)
        ends = [[0, f, g, None], [t, f_t, g_t, None]]
    # 2. zoom: shrink the bracket around the point; `low` is the end with the lower loss
    low, high = (0, 1) if ends[0][1] <= ends[-1][1] else (1, 0)
    stalled = False
    while not done and calls < max_evals:
        (a, f_a, _, s_a), (b, f_b, _, s_b) = ends
        if abs(b - a) * d_max < tolerance_change:  # the bracket has shrunk to nothing
            break
        t = _cubic_minimum(a, f_a, s_a, b, f_b, s_b)
        # a trial too near an end gains little: after one such trial (or on the end itself)
        # the next is moved to 10% of the bracket away from the nearer end
        left, right = min(a, b), max(a, b)
        margin = 0.1 * (right - left)
        if min(right - t, t - left) < margin:
            if stalled or t >= right or t <= left:
                t = right - margin if abs(t - right) < abs(t - left) else left + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        f_t, g_t = evaluate(t, d)
        evals += 1
        slope = g_t.dot(d)
        calls += 1
        if not sufficient_decrease(t, f_t) or f_t >= ends[low][1]:
            ends[high] = [t, f_t, g_t, slope]  # t is the new high end
            low, high = (0, 1) if ends[0][1] <= ends[1][1] else (1, 0)
        else:
            if flat_enough(slope):
                done = True
            elif slope * (ends[high][0] - ends[low][0]) >= 0:
                ends[high] = ends[low]  # the minimum lies between t and the old low end
            ends[low] = [t, f_t, g_t, slope]  # t is the new low end
    t, f_t, g_t, _ = ends[low]
    return f_t, g_t, t, evals
