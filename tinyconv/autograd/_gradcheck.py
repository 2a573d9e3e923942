"""gradcheck: compare backward's gradients with central finite differences.

For f: inputs -> outputs, the Jacobian J[i, j] = d out_i / d in_j is found two
ways: numerically, column by column, J[:, j] ~ (f(x + eps e_j) - f(x - eps e_j)) / 2 eps,
and analytically, row by row, by running backward with grad_output = e_i.
Every element of every Jacobian is compared (fast_mode compares a random
projection v^T J u instead, for large ops).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import _rng
from .._errors import TensorValueError
from . import grad_mode


class GradcheckError(RuntimeError):
    """Raised by gradcheck when the analytical and numerical gradients differ."""


def _outputs(fn: Callable, inputs: Sequence) -> list:
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, Tensor)]


def _flat_outputs(fn: Callable, inputs: Sequence) -> np.ndarray:
    with grad_mode.no_grad():
        outs = _outputs(fn, inputs)
    return (
        np.concatenate([np.asarray(o._data, dtype=np.float64).ravel() for o in outs])
        if outs
        else np.zeros(0)
    )


def gradcheck(
    func: Callable,
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
    seed: int = 0,
    *,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_batched_forward_grad: bool = False,
    check_forward_ad: bool = False,
    check_backward_ad: bool = True,
    masked: Any = None,
) -> bool:
    """Check func's backward against finite differences for every input that requires grad.

    PyTorch's other options are accepted: nondet_tol, check_undefined_grad and the batched
    checks change nothing here (tinyconv's backward is deterministic and its vmap is a loop,
    so batched gradients are the rows checked anyway); check_grad_dtypes compares each
    gradient's dtype with its input's; check_forward_ad=True also checks the Jacobian's
    columns from forward mode (forward_ad dual tensors, one per input element or, in
    fast_mode, one random direction per input) against the same finite differences.

    `inputs` is a Tensor or a tuple of them (and other arguments passed through).
    Use float64 inputs: float32 rounding swamps eps. Returns True, or on a mismatch
    raises GradcheckError naming the input, the worst element and both values
    (returns False instead when raise_exception=False).
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise TensorValueError(
            "gradcheck: no input requires grad; pass tensors made with requires_grad=True"
        )
    if masked:
        raise NotImplementedError("gradcheck(masked=True): tinyconv has no sparse tensors")
    for i in diff:
        if inputs[i].dtype != np.float64:  # (PyTorch's warning, and then it checks anyway)
            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point or "
                "complex. This check will likely fail if all the inputs are not of double "
                "precision floating point or complex. ",
                UserWarning,
                stacklevel=2,
            )
    if not check_backward_ad and not check_forward_ad:  # (PyTorch's check, for the same call)
        raise AssertionError(
            "Expected at least one of check_forward_ad or check_backward_ad to be True"
        )
    with grad_mode.enable_grad():
        outs = _outputs(func, inputs)
    sizes = [o._data.size for o in outs]
    n_out = sum(sizes)
    rng = np.random.default_rng(seed)

    def analytic_vjp(v: np.ndarray) -> list:
        """Gradients of <v, outputs> w.r.t. each differentiable input (through autograd.grad,
        so an input that is not a leaf, such as x[0], is checked too, as in PyTorch)."""
        with grad_mode.enable_grad():
            outs_ = _outputs(func, inputs)
            loss = None
            start = 0
            for o, n in zip(outs_, sizes, strict=False):
                if o.requires_grad:
                    piece = Tensor._make(
                        v[start : start + n].reshape(o._data.shape).astype(o._data.dtype),
                        None,
                        False,
                    )
                    term = (o * piece).sum()
                    loss = term if loss is None else loss + term
                start += n
        grads = (
            engine.grad(loss, [inputs[i] for i in diff], allow_unused=True)
            if loss is not None
            else [None] * len(diff)
        )
        res = []
        for i, g in zip(diff, grads, strict=True):
            res.append(
                np.zeros(inputs[i]._data.shape)
                if g is None
                else np.asarray(g._data, dtype=np.float64)
            )
            if g is not None and g._data.shape != inputs[i]._data.shape:
                raise GradcheckError(
                    f"gradcheck: the gradient of input {i} has shape {g._data.shape}, "
                    f"but the input has shape {inputs[i]._data.shape}"
                )
            if check_grad_dtypes and g is not None and g._data.dtype != inputs[i]._data.dtype:
                raise GradcheckError(
                    f"gradcheck: the gradient of input {i} has dtype {g.dtype}, but the input "
                    f"has dtype {inputs[i].dtype}"
                )
        return res

    def numeric_column(i: int, j: int, direction: np.ndarray | None = None) -> np.ndarray:
        x = inputs[i]._data
        if direction is None:
            # Index x itself: x.reshape(-1) would be a copy for a non-contiguous x.
            at = np.unravel_index(j, x.shape)
            old = x[at]
            x[at] = old + eps
            plus = _flat_outputs(func, inputs)
            x[at] = old - eps
            minus = _flat_outputs(func, inputs)
            x[at] = old
        else:
            old = x.copy()
            x += eps * direction
            plus = _flat_outputs(func, inputs)
            x[...] = old - eps * direction
            minus = _flat_outputs(func, inputs)
            x[...] = old
        return (plus - minus) / (2 * eps)

    def fail(msg: str) -> bool:
        if raise_exception:
            raise GradcheckError(msg)
        return False

    def forward_column(i: int, direction: np.ndarray) -> np.ndarray:
        """J u for input i by forward mode: the outputs' tangents for the tangent u of input i."""
        x = inputs[i]
        with forward_ad.dual_level():
            args = list(inputs)
            u = Tensor._make(direction.reshape(x._data.shape).astype(x._data.dtype), None, False)
            args[i] = forward_ad.make_dual(x, u)
            cols = []
            for o in _outputs(func, args):
                t = forward_ad.unpack_dual(o).tangent
                cols.append(np.zeros(o._data.size) if t is None else t._data.ravel())
        return np.concatenate(cols).astype(np.float64) if cols else np.zeros(0)

    def check_forward() -> bool:
        for i in diff:
            x = inputs[i]._data
            if fast_mode:
                u = rng.standard_normal(x.shape)
                cols = [(forward_column(i, u), numeric_column(i, 0, u), "a random direction")]
            else:
                cols = (
                    (forward_column(i, np.eye(1, x.size, j)), numeric_column(i, j), f"element {j}")
                    for j in range(x.size)
                )
            for analytic, numeric, which in cols:
                err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
                if err.size and err.max() > 0:
                    r = int(np.argmax(err))
                    return fail(
                        f"gradcheck: Jacobian mismatch for output {r} with respect to input {i} "
                        f"(shape {x.shape}) along {which}: numerical {float(numeric[r])!r} vs "
                        f"forward AD {float(analytic[r])!r} (atol={atol}, rtol={rtol})"
                    )
        return True

    if not check_backward_ad:
        return check_forward()
    if fast_mode:
        v = rng.standard_normal(n_out)
        grads = analytic_vjp(v)
        for k, i in enumerate(diff):
            u = rng.standard_normal(inputs[i]._data.shape)
            analytic = float(np.sum(grads[k] * u))
            numeric = float(v @ numeric_column(i, 0, u))
            if abs(analytic - numeric) > atol + rtol * abs(numeric):
                return fail(
                    f"gradcheck (fast mode): for input {i} (shape {inputs[i]._data.shape}), "
                    f"<v, J u> is {numeric!r} by finite differences but {analytic!r} by backward"
                )
        return check_forward() if check_forward_ad else True

    for k, i in enumerate(diff):
        x = inputs[i]._data
        numeric = np.zeros((n_out, x.size))
        for j in range(x.size):
            numeric[:, j] = numeric_column(i, j)
        analytic = np.zeros((n_out, x.size))
        for r in range(n_out):
            e = np.zeros(n_out)
            e[r] = 1.0
            analytic[r] = analytic_vjp(e)[k].ravel()
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if err.size and err.max() > 0:
            r, j = np.unravel_index(np.argmax(err), err.shape)
            at = tuple(int(n) for n in np.unravel_index(j, x.shape))
            return fail(
                f"gradcheck: Jacobian mismatch for input {i} (shape {x.shape}): worst at input "
                f"element {at} and output element {int(r)}: numerical "
                f"{float(numeric[r, j])!r} vs analytical {float(analytic[r, j])!r} "
                f"(atol={atol}, rtol={rtol})"
            )
    return check_forward() if check_forward_ad else True


def gradgradcheck(
    func: Callable,
    inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
    seed: int = 0,
    *,
    gen_non_contig_grad_outputs: bool = False,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_fwd_over_rev: bool = False,
    check_rev_over_rev: bool = True,
    masked: bool = False,
) -> bool:
    """Check the second derivatives: gradcheck of the function
    (inputs, v) -> d<v, func(inputs)>/d(inputs), whose backward is the create_graph backward.

    grad_outputs: the v for each output of func (default: uniform on [-1, 1) in the output's
    float dtype, requiring grad so the check also covers the gradient's dependence on v, drawn
    from the global stream as PyTorch draws them, so the numbers a program draws afterwards
    stay PyTorch's).
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise TensorValueError(
            "gradgradcheck: no input requires grad; pass tensors made with requires_grad=True"
        )
    with grad_mode.enable_grad():
        outs = _outputs(func, inputs)
    if grad_outputs is None:
        vs = tuple(
            Tensor._make(
                _rng.uniform(_rng._rng(), o._data.shape, o._data.dtype, -1.0, 1.0), None, True
            )
            for o in outs
            if o.requires_grad
        )
    else:
        vs = tuple(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else (grad_outputs,)
    n_in = len(inputs)

    def first_derivative(*args: Any) -> tuple:
        xs, v = args[:n_in], args[n_in:]
        with grad_mode.enable_grad():
            ys = [o for o in _outputs(func, xs) if o.requires_grad]
            gs = engine.grad(
                ys,
                [xs[i] for i in diff],
                grad_outputs=list(v),
                create_graph=True,
                allow_unused=True,
                materialize_grads=True,
            )
        return gs

    return gradcheck(
        first_derivative,
        inputs + vs,
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        fast_mode=fast_mode,
        seed=seed,
        check_grad_dtypes=check_grad_dtypes,
        check_forward_ad=check_fwd_over_rev,
        check_backward_ad=check_rev_over_rev,
        masked=masked,
    )


# the Tensor <-> Function cycle every autograd has: tensor.py imports this module, so Tensor
# is bound here at the end, once it exists (used at call time)
from ..tensor import Tensor  # noqa: E402
from . import engine, forward_ad  # noqa: E402
