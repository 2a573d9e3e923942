"""One program, run in PyTorch 2.13 and in tinyconv, compared: shape, dtype, requires_grad,
values, grad_fn name (optional) and the gradient of every floating input (a random-weighted
sum of the output is backpropagated in both). Used by the layer tests of issue 12."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

import tinyconv

# (rtol, atol) per dtype: float32 maths may round differently in the two libraries
TOLS = {"float64": (1e-10, 1e-12), "float32": (2e-5, 2e-6)}


def dtype_str(dt) -> str:
    return str(dt).split(".")[-1]


def make_inputs(lib, arrays: Sequence[np.ndarray], dtype: str) -> list:
    """Floating arrays become leaves of `dtype` that require grad; others keep their dtype."""
    out = []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind == "f":
            out.append(lib.tensor(a.tolist(), dtype=getattr(lib, dtype), requires_grad=True))
        else:
            out.append(lib.tensor(a.tolist(), dtype=getattr(lib, str(a.dtype))))
    return out


def assert_same(got, want, dtype: str = "float64", name: bool = False) -> None:
    """`got` (tinyconv) is `want` (PyTorch): shape, dtype, requires_grad, values."""
    assert tuple(got.shape) == tuple(want.shape), (tuple(got.shape), tuple(want.shape))
    assert dtype_str(got.dtype) == dtype_str(want.dtype)
    assert got.requires_grad == want.requires_grad
    rtol, atol = TOLS.get(dtype, TOLS["float32"])
    np.testing.assert_allclose(
        got.detach().numpy(), want.detach().numpy(), rtol=rtol, atol=atol, equal_nan=True
    )
    if name and want.grad_fn is not None:
        assert got.grad_fn.name() == want.grad_fn.name()


def compare(
    program: Callable,
    arrays: Sequence[np.ndarray],
    dtype: str = "float64",
    name: bool = False,
    seed: int = 0,
) -> tuple:
    """Run `program(T, F, *inputs)` in both libraries and compare the results and the
    gradients of every floating input. Returns (tinyconv result, PyTorch result)."""
    torch = pytest.importorskip("torch")
    xs_c = make_inputs(tinyconv, arrays, dtype)
    xs_t = make_inputs(torch, arrays, dtype)
    got = program(tinyconv, tinyconv.nn.functional, *xs_c)
    want = program(torch, torch.nn.functional, *xs_t)
    assert_same(got, want, dtype, name)
    if want.requires_grad:
        w = np.random.default_rng(seed).standard_normal(tuple(want.shape))
        (got * tinyconv.tensor(w, dtype=got.dtype)).sum().backward()
        (want * torch.tensor(w, dtype=want.dtype)).sum().backward()
        rtol, atol = TOLS.get(dtype, TOLS["float32"])
        for a, b in zip(xs_c, xs_t, strict=True):
            if b.grad is None:
                assert a.grad is None
                continue
            assert a.grad is not None
            assert dtype_str(a.grad.dtype) == dtype_str(b.grad.dtype)
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)
    return got, want
