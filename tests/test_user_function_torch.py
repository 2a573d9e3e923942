# ruff: noqa: E501  (the program's own lines)
"""Custom autograd.Function against PyTorch: what forward and backward see of their inputs
(the input Tensors themselves, requires_grad and grad_fn intact, with recording off) and of
the saved tensors."""

from __future__ import annotations

import pytest
from program_harness import compare_program

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

WHAT_FORWARD_SEES = """
import torch

seen = []


class Scale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y, k):
        seen.append((x.requires_grad, x.is_leaf, x is X, x.grad_fn is None, torch.is_grad_enabled()))
        seen.append((y.requires_grad, y is Y, k))
        inner = x * 3  # (not recorded: forward runs under no_grad)
        seen.append((inner.requires_grad, inner.grad_fn is None))
        ctx.save_for_backward(x, y)
        return x * y * k

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        seen.append(("backward", x is X, x.requires_grad, y is Y, torch.is_grad_enabled()))
        return g * y * 2, None, None


X = torch.tensor([1.0, 2.0], requires_grad=True)
Y = torch.tensor([3.0, 4.0])
out = Scale.apply(X, Y, 2)
out.sum().backward()
print(seen, X.grad)
seen.clear()

Z = X * 1


class Peek(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        seen.append((z.requires_grad, type(z.grad_fn).__name__, z is Z, z.is_leaf))
        return z.clone()

    @staticmethod
    def backward(ctx, g):
        return g


Peek.apply(Z).sum().backward()
with torch.no_grad():
    Peek.apply(Z)
print(seen)


class AddOne(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        a.add_(1)
        ctx.mark_dirty(a)
        return a

    @staticmethod
    def backward(ctx, g):
        return g


A = torch.ones(3, requires_grad=True).clone()
B = AddOne.apply(A)
print(B is A, B.requires_grad, type(B.grad_fn).__name__, A._version)
"""


def test_forward_and_backward_see_the_inputs_themselves():
    compare_program(WHAT_FORWARD_SEES, skip=("seen", "Scale", "Peek", "AddOne"))


AUTOGRAD_API_EDGES = """
import warnings
import torch

x = torch.tensor(2.0, requires_grad=True)
d = 3 * x**3 - 2 * x**2 + x
derivatives = []
for i in range(4):  # the n-th derivative loop: a constant derivative still requires grad
    (d,) = torch.autograd.grad(d, x, create_graph=True)
    derivatives.append((d.item(), d.requires_grad))
    if not d.requires_grad:
        break
second = torch.autograd.grad(torch.autograd.grad(x**2, x, create_graph=True)[0], x, create_graph=True)[0]
second_requires_grad = second.requires_grad


class Double(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x * 2
        ctx.mark_non_differentiable(y)
        return y

    @staticmethod
    def backward(ctx, g):
        return g


class ArgMax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.argmax()

    @staticmethod
    def backward(ctx, g):
        return None


class Scale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        return x * k

    @staticmethod
    def backward(ctx, g):
        return g * 2, g  # (a gradient for the number k: refused)


v = torch.tensor([1.0, 2.0], requires_grad=True)
flags = [Double.apply(v).requires_grad, ArgMax.apply(v).requires_grad, ArgMax.apply(v).is_leaf]
errors = []
for bad in (
    lambda: Scale.apply(v, 2.0).sum().backward(),
    lambda: (v.register_hook(lambda g: g.double()), (v * 3).sum().backward()),
    lambda: torch.ones(2).retain_grad(),
):
    try:
        bad()
        errors.append(None)
    except RuntimeError as e:
        errors.append(type(e).__name__)
checked = torch.autograd.gradcheck(func=torch.sin, inputs=(torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True),))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with torch.autograd.detect_anomaly():
        pass
anomaly_warned = [str(w.message)[:40] for w in caught]
print(derivatives, second_requires_grad, flags, errors, checked, anomaly_warned)
"""


def test_autograd_api_edges_as_pytorchs():
    compare_program(AUTOGRAD_API_EDGES)
