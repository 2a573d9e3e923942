"""torch._foreach_*: a per-tensor op over lists of tensors. Private in PyTorch but used by EMA
helpers (timm's ModelEmaV3, diffusers' EMAModel, lucidrains' ema-pytorch) and hand-written
optimisers. On the CPU PyTorch runs them as the per-tensor ops one after another (its slow
path), so these do exactly that: the same numbers as the loop a reader would write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .tensor import Tensor

__all__ = [
    "_foreach_abs",
    "_foreach_abs_",
    "_foreach_add",
    "_foreach_add_",
    "_foreach_addcdiv_",
    "_foreach_addcmul_",
    "_foreach_copy_",
    "_foreach_div",
    "_foreach_div_",
    "_foreach_exp",
    "_foreach_exp_",
    "_foreach_lerp",
    "_foreach_lerp_",
    "_foreach_maximum",
    "_foreach_maximum_",
    "_foreach_minimum",
    "_foreach_minimum_",
    "_foreach_mul",
    "_foreach_mul_",
    "_foreach_neg",
    "_foreach_neg_",
    "_foreach_norm",
    "_foreach_pow",
    "_foreach_pow_",
    "_foreach_reciprocal",
    "_foreach_reciprocal_",
    "_foreach_sign",
    "_foreach_sign_",
    "_foreach_sqrt",
    "_foreach_sqrt_",
    "_foreach_sub",
    "_foreach_sub_",
    "_foreach_zero_",
]


def _foreach_pairs(what: str, tensors: Any, other: Any) -> list:
    """`other` matched to the list `tensors`: a list (or tuple) of the same length as it is,
    anything else (a number, a Tensor) repeated."""
    n = len(tensors)
    if isinstance(other, (list, tuple)):
        if len(other) != n:
            raise RuntimeError(
                f"{what}: tensor lists must have the same number of tensors, got {n} and "
                f"{len(other)}"
            )
        return list(other)
    return [other] * n


def _foreach_binary(name: str, with_number: str | None = None) -> tuple[Callable, Callable]:
    """The in-place and out-of-place foreach forms of the Tensor method ``name``; a number
    operand goes to the method ``with_number`` if given (Tensor.maximum takes tensors only,
    _foreach_maximum numbers too: clamp_min)."""

    def method(o: Any, suffix: str) -> str:
        use_number = with_number is not None and not isinstance(o, Tensor)
        return (with_number if use_number else name) + suffix

    def inplace(self: Any, other: Any, **kw: Any) -> Any:
        for t, o in zip(self, _foreach_pairs(f"_foreach_{name}_", self, other), strict=True):
            getattr(t, method(o, "_"))(o, **kw)
        return self

    def outplace(self: Any, other: Any, **kw: Any) -> tuple:
        return tuple(
            getattr(t, method(o, ""))(o, **kw)
            for t, o in zip(self, _foreach_pairs(f"_foreach_{name}", self, other), strict=True)
        )

    inplace.__name__, outplace.__name__ = f"_foreach_{name}_", f"_foreach_{name}"
    return inplace, outplace


def _foreach_unary(name: str) -> tuple[Callable, Callable]:
    def inplace(self: Any) -> Any:
        for t in self:
            getattr(t, name + "_")()
        return self

    def outplace(self: Any) -> tuple:
        return tuple(getattr(t, name)() for t in self)

    inplace.__name__, outplace.__name__ = f"_foreach_{name}_", f"_foreach_{name}"
    return inplace, outplace


_foreach_add_, _foreach_add = _foreach_binary("add")
_foreach_sub_, _foreach_sub = _foreach_binary("sub")
_foreach_mul_, _foreach_mul = _foreach_binary("mul")
_foreach_div_, _foreach_div = _foreach_binary("div")
_foreach_maximum_, _foreach_maximum = _foreach_binary("maximum", "clamp_min")
_foreach_minimum_, _foreach_minimum = _foreach_binary("minimum", "clamp_max")
_foreach_pow_, _foreach_pow = _foreach_binary("pow")
_foreach_sqrt_, _foreach_sqrt = _foreach_unary("sqrt")
_foreach_neg_, _foreach_neg = _foreach_unary("neg")
_foreach_abs_, _foreach_abs = _foreach_unary("abs")
_foreach_exp_, _foreach_exp = _foreach_unary("exp")
_foreach_reciprocal_, _foreach_reciprocal = _foreach_unary("reciprocal")
_foreach_sign_, _foreach_sign = _foreach_unary("sign")


def _foreach_lerp_(self: Any, tensors1: Any, weight: Any) -> Any:
    ends = _foreach_pairs("_foreach_lerp_", self, tensors1)
    for t, e, w in zip(self, ends, _foreach_pairs("_foreach_lerp_", self, weight), strict=True):
        t.lerp_(e, w)
    return self


def _foreach_lerp(self: Any, tensors1: Any, weight: Any) -> tuple:
    ends = _foreach_pairs("_foreach_lerp", self, tensors1)
    ws = _foreach_pairs("_foreach_lerp", self, weight)
    return tuple(t.lerp(e, w) for t, e, w in zip(self, ends, ws, strict=True))


def _foreach_addcmul_(self: Any, tensor1: Any, tensor2: Any, value: Any = 1) -> Any:
    a, b = (_foreach_pairs("_foreach_addcmul_", self, x) for x in (tensor1, tensor2))
    values = _foreach_pairs("_foreach_addcmul_", self, value)
    for t, x, y, v in zip(self, a, b, values, strict=True):
        t.addcmul_(x, y, value=v)
    return self


def _foreach_addcdiv_(self: Any, tensor1: Any, tensor2: Any, value: Any = 1) -> Any:
    a, b = (_foreach_pairs("_foreach_addcdiv_", self, x) for x in (tensor1, tensor2))
    values = _foreach_pairs("_foreach_addcdiv_", self, value)
    for t, x, y, v in zip(self, a, b, values, strict=True):
        t.addcdiv_(x, y, value=v)
    return self


def _foreach_copy_(self: Any, src: Any, non_blocking: bool = False) -> Any:
    for t, s in zip(self, _foreach_pairs("_foreach_copy_", self, src), strict=True):
        t.copy_(s)
    return self


def _foreach_zero_(self: Any) -> Any:
    for t in self:
        t.zero_()
    return self


def _foreach_norm(self: Any, ord: Any = 2, dtype: Any = None) -> tuple:
    """Each tensor's vector norm (all its elements), a 0-d tensor per tensor."""
    # (imported here: tinyconv/__init__ imports this module before linalg can be imported)
    from .linalg import vector_norm  # noqa: PLC0415

    return tuple(vector_norm(t, ord, dtype=dtype) for t in self)
