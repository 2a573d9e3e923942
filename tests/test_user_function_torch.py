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
