"""Argument checks shared by the functional ops: each names the argument, what was
expected and what came in. Checks happen here, once; the kernels trust their input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _dtype
from ..._errors import DtypeNotImplementedError, TensorTypeError, TensorValueError
from ...autograd import grad_mode
from ...tensor import Tensor

# -- argument checking (shared by every op here) -------------------------------------


def _check_tensor(x: Any, name: str, what: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{what}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def _not_differentiable(what: str, **args: Any) -> None:
    """Refuse, as PyTorch does, an argument its kernel has no gradient for (nll_loss's class
    weight, batch_norm's running statistics) that requires grad while grad mode is on: a
    gradient silently missing (or partial) would look like one that is there. `what` is
    PyTorch's name for the function."""
    if not grad_mode.is_grad_enabled():
        return
    for name, t in args.items():
        if isinstance(t, Tensor) and t.requires_grad:
            raise RuntimeError(
                f"The function '{what}' is not differentiable with respect to argument "
                f"'{name}'. This input cannot have requires_grad True (detach it, or pass a "
                "tensor that does not require grad)."
            )


def _ntuple(v: Any, n: int, name: str, what: str, minimum: int) -> tuple[int, ...]:
    """An int or n ints (a 1-sequence repeats), each >= minimum, as an n-tuple."""
    kind = {2: "a pair of ints", 3: "a triple of ints"}[n]
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            v = (v[0],) * n
        if len(v) != n:
            raise TensorValueError(f"{what}: {name} must be an int or {kind}, got {v!r}")
        out = tuple(v)
    else:
        out = (v,) * n
    for p in out:
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
            raise TypeError(f"{what}: {name} must be an int or {kind}, got {v!r}")
        if p < minimum:
            rule = "positive" if minimum == 1 else "non-negative"
            raise TensorValueError(f"{what}: {name} must be {rule}, got {v!r}")
    return tuple(int(p) for p in out)


def _pair(v: Any, name: str, what: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= minimum, as a pair."""
    return _ntuple(v, 2, name, what, minimum)


def _single(v: Any, name: str, what: str, minimum: int) -> int:
    """An int, or a tuple/list of one int (the 1-D ops' options), >= minimum."""
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise TensorValueError(
                f"{what}: {name} must be an int or a tuple of one int (one spatial dim), got {v!r}"
            )
        v = v[0]
    return _pair(v, name, what, minimum)[0]


_DIMS = {2: "H, W", 3: "D, H, W"}
_SIDES = {2: "height or width", 3: "depth, height or width"}


def _batched(x: Tensor, what: str, n: int = 2) -> tuple[Tensor, bool]:
    """Accept (N, C, H, W) or unbatched (C, H, W) (n = 3: a depth D before H); return the
    batched tensor and whether to squeeze back."""
    if x.ndim == n + 2:
        return x, False
    if x.ndim == n + 1:
        return x.unsqueeze(0), True
    raise TensorValueError(
        f"{what}: expected a {n + 1}-D (C, {_DIMS[n]}) or {n + 2}-D (N, C, {_DIMS[n]}) input, "
        f"got shape {tuple(x.shape)}"
    )


def _one_node(out: Tensor, inner: Tensor, *inputs: Any) -> Tensor:
    """`out`, a squeeze of `inner`, named and linked as `inner`'s node with the edges of
    `inputs`: PyTorch runs these ops (a pool of an unbatched input, conv1d) in one node."""
    node, src = out.grad_fn, inner.grad_fn
    if node is not None and src is not None:
        node.torch_name = src.name()
        node.shown_edges = tuple(
            None if t is None or not t.requires_grad else (t.grad_fn or t) for t in inputs
        )
    return out


def _unbatch(y: Tensor, unbatched: bool, input: Tensor) -> Tensor:
    """y without the batch axis _batched added, as one node with input's edge."""
    return _one_node(y.squeeze(0), y, input) if unbatched else y


def _check_spatial(x: Tensor, what: str, n: int = 2) -> None:
    """The n spatial sizes must be non-empty (the batch may be 0), as in PyTorch."""
    if 0 in x.shape[-n:]:
        raise TensorValueError(
            f"{what}: input shape {tuple(x.shape)} has an empty {_SIDES[n]}; only the batch "
            "dimension may be 0"
        )


def _same_dtype(x: Tensor, w: Tensor, b: Tensor | None, what: str) -> None:
    for name, t in (("weight", w), ("bias", b)):
        if t is not None and t.dtype != x.dtype:
            raise TensorTypeError(  # (PyTorch: RuntimeError, "expected scalar type ...")
                f"{what}: input dtype {_dtype.dtype_name(x.dtype)} and {name} dtype "
                f"{_dtype.dtype_name(t.dtype)} must be the same; convert one with .to(...)"
            )


def _check_bias(b: Any, out_channels: int, what: str) -> Tensor | None:
    if b is None:
        return None
    _check_tensor(b, "bias", what)
    if b.shape != (out_channels,):
        raise TensorValueError(
            f"{what}: bias must have shape ({out_channels},) (one per output channel), "
            f"got {tuple(b.shape)}"
        )
    return b


def _float_act(input: Any, what: str) -> Tensor:
    """Activations below are defined for floating point tensors only, as in PyTorch."""
    x = _check_tensor(input, "input", what)
    if x.dtype.kind != "f":
        # (PyTorch's NotImplementedError, which is a RuntimeError too)
        raise DtypeNotImplementedError(
            f"{what}: not implemented for {_dtype.dtype_name(x.dtype)} tensors "
            "(only floating point, as in PyTorch); convert with .float()"
        )
    return x


def _maybe_inplace(
    input: Tensor, out_fn: Any, inplace: bool, what: str, keeps_input: bool = True
) -> Tensor:
    """`inplace=True` writes the result into input (the Tensor's in-place path), else a new
    tensor. `keeps_input=False`: out_fn neither saves nor writes its input (see
    Tensor._inplace_result)."""
    if inplace:
        return input._inplace_result(out_fn, what + "(inplace=True)", keeps_input=keeps_input)
    return out_fn(input)
