# ruff: noqa: E501  (the programs' own lines)
"""Tensor-level answers that once differed from PyTorch 2.13, each run as a program in both
libraries (tests/program_harness.py compares every variable, the gradients included):
comparisons of integer tensors with Python floats, Python ints past 64 bits, trapezoid along
a dim other than the last, sinc and logit at their edges, cdist's per-p gradients, searchsorted
over a sequence holding NaN, prod's and nansum's gradients at inf and NaN, and in-place writes
whose operand shares part of the memory written."""

from __future__ import annotations

import pytest
from program_harness import compare_program

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

PROGRAMS = {
    # an integer (or bool) tensor and a Python float compare in the default float dtype
    "int_vs_float_compare": """
import torch
a = torch.tensor([3]) == 3.0000001
b = torch.tensor([3]) < 3.0000001
c = torch.tensor([16777217]) == 16777216.0
d = torch.tensor([True, False]) >= 0.99999999
e = torch.tensor([0], dtype=torch.int32) == 2**32
f = torch.tensor([0], dtype=torch.uint8) < 256
g = torch.tensor([3]).eq(1e300), torch.tensor([3]).lt(1e300)
torch.set_default_dtype(torch.float64)
h = torch.tensor([3]) == 3.0000001
torch.set_default_dtype(torch.float32)
""",
    # a Python int past int64/uint64 raises OverflowError before any op runs
    "python_ints_past_64_bits": """
import torch
seen = []
for src in ["torch.tensor([1.]) + 2**64", "2**64 - torch.tensor([1.])", "torch.tensor([1]) + (-2**63 - 1)",
            "torch.tensor([1.]) ** 2**64", "torch.tensor([1]) & 2**64", "torch.tensor([1.]) > 2**64",
            "torch.tensor([1]).eq(2**64)", "torch.full((1,), 2**64)", "torch.tensor([1.]).fill_(2**64)",
            "torch.tensor([1.]).clamp(max=2**64)", "torch.tensor([1.]).add(1, alpha=2**64)",
            "torch.tensor([1.]).mul_(2**64)", "torch.tensor([1]) // 2**64", "torch.tensor([1.]) / 2**64",
            "torch.where(torch.tensor([True]), torch.tensor([1.]), 2**64)"]:
    try:
        eval(src)
        seen.append("no error")
    except OverflowError:
        seen.append("OverflowError")
try:
    torch.tensor([2**64])
    big = "no error"
except ValueError:
    big = "ValueError"
wrapped = torch.tensor([1]) + (2**64 - 1), torch.tensor([1]) - 2**63, torch.tensor([1]) * 2**63
""",
    # a 1-D x lies along dim, an x of fewer dims broadcasts from the left
    "trapezoid_along_any_dim": """
import torch
y = torch.tensor([[1., 2.], [3., 4.], [5., 6.]], dtype=torch.float64, requires_grad=True)
x = torch.tensor([0., 1., 3.], dtype=torch.float64)
t0 = torch.trapezoid(y, x, dim=0)
c0 = torch.cumulative_trapezoid(y, x, dim=0)
t1 = torch.trapezoid(y, torch.tensor([0., 2.], dtype=torch.float64), dim=1)
t2 = torch.trapezoid(y, torch.tensor([[0., 2.], [1., 5.], [2., 9.]], dtype=torch.float64), dim=0)
t3 = torch.trapezoid(y, dx=0.5, dim=0)
(t0.sum() + c0.sum() * 2 + t1.sum() * 3 + t2.sum() * 4 + t3.sum()).backward()
y3 = torch.arange(24.).reshape(2, 3, 4)
t4 = torch.trapezoid(y3, torch.tensor([[0., 1., 3., 4.], [1., 2., 2., 5.], [0., 0., 1., 1.]]), dim=-1)
try:
    torch.trapezoid(y, torch.tensor([0., 1.]), dim=0)
    wrong_length = "no error"
except RuntimeError:
    wrong_length = "RuntimeError"
""",
    # sinc's gradient near 0 (one formula, 0 where pi x^2 is 0), and its second derivative
    "sinc_edges": """
import torch
x32 = torch.tensor([0., 1e-20, 1e-5, 0.3, 0.5, 2., -3.7, float('inf')], requires_grad=True)
s32 = x32.sinc()
s32.backward(torch.ones_like(x32))
x64 = torch.tensor([0., 1e-10, 1e-5, 0.3, 2.], dtype=torch.float64, requires_grad=True)
s64 = torch.sinc(x64)
g, = torch.autograd.grad(s64.sum(), x64, create_graph=True)
g2, = torch.autograd.grad(g[3:].sum(), x64)  # (not at 1e-5: both cancel there, each its own way)
name = s64.grad_fn.name()
ints = torch.tensor([0, 1]).sinc()
""",
    # logit: NaN gradient outside [0, 1], 0 outside [eps, 1 - eps]; one node
    "logit_edges": """
import torch
x = torch.tensor([-0.5, 0., 1e-8, 0.1, 0.3, 0.5, 0.77, 1.0, 1.5, float('nan')], dtype=torch.float64, requires_grad=True)
results, grads = [], []
for eps in (None, 0.1, 1e-6, -1.0):
    for gv in (1.0, 0.0):
        y = x.logit(eps)
        y.backward(torch.full_like(x, gv))
        results.append(y.detach())
        grads.append(x.grad)
        x.grad = None
name = y.grad_fn.name()
x32 = torch.tensor([0.2, 0.5, 0.9])
y32 = torch.logit(x32), torch.special.logit(x32, eps=0.3), torch.tensor([1, 2]).logit()
z = torch.tensor([0.25, 0.6, 2.0], dtype=torch.float64, requires_grad=True)
g, = torch.autograd.grad(z.logit(0.3).sum(), z, create_graph=True)
g2, = torch.autograd.grad(g.sum(), z)
""",
    # cdist: PyTorch's gradient for each kind of p (ties of inf, zeros of p < 2), batches
    "cdist_gradients": """
import torch
torch.manual_seed(0)
out, grads = [], []
for p in (0., 0.5, 1., 1.5, 2., 3., float('inf')):
    x = torch.tensor([[1., 1.], [2., 0.], [0., 0.], [0., 3.]], dtype=torch.float64, requires_grad=True)
    d = torch.cdist(x, torch.zeros(1, 2, dtype=torch.float64), p=p)
    d.sum().backward()
    out.append(d.detach())
    grads.append(x.grad)
    a = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    d = torch.cdist(a, b, p=p)
    (d * torch.randn(d.shape, dtype=torch.float64)).sum().backward()
    out.append(d.detach())
    grads += [a.grad, b.grad]
name = d.grad_fn.name()
g, = torch.autograd.grad(torch.cdist(a, b).sum(), a, create_graph=True)
first_requires_grad = g.requires_grad
try:
    g.sum().backward()
    second = "no error"
except NotImplementedError:
    second = "NotImplementedError"
try:
    torch.cdist(torch.ones(2, 3), torch.ones(2, 3, dtype=torch.float64))
    mixed = "no error"
except RuntimeError:
    mixed = "RuntimeError"
""",
    # pdist: cdist's per-p gradients over the pairs of rows, no double backward
    "pdist_gradients": """
import torch
torch.manual_seed(0)
out, grads = [], []
for p in (0., 1., 2., float('inf')):
    x = torch.tensor([[1., 1.], [2., 0.], [0., 0.], [0., 3.], [1., 1.]], dtype=torch.float64, requires_grad=True)
    d = torch.pdist(x, p=p)
    d.backward(torch.arange(10.).double())
    out.append(d.detach())
    grads.append(x.grad)
a = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
d = torch.nn.functional.pdist(a, 2.5)
d.sum().backward()
name = d.grad_fn.name()
g, = torch.autograd.grad(torch.pdist(a).sum(), a, create_graph=True)
try:
    g.sum().backward()
    second = "no error"
except NotImplementedError:
    second = "NotImplementedError"
empty = torch.pdist(torch.ones(1, 3)), torch.pdist(torch.ones(0, 3))
""",
    # arguments PyTorch takes: a uint8 condition (with a warning), a 0-d weight of another
    # dtype, scatter_reduce's 'max'/'min'
    "accepted_arguments": """
import warnings
import torch
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    w = torch.where(torch.tensor([1, 0], dtype=torch.uint8), torch.tensor([1., 2.]), 0.)
warned = len(caught)
x = torch.tensor([1., 2.], requires_grad=True)
weight = torch.tensor(0.25, dtype=torch.float64, requires_grad=True)
l = x.lerp(torch.tensor([3., 5.]), weight)
l.sum().backward()
src = torch.tensor([5., 1., 2.])
m = torch.tensor([1., 2., 3.]).scatter_reduce(0, torch.tensor([0, 0, 1]), src, 'max')
n = torch.tensor([1., 2., 3.]).scatter_reduce(0, torch.tensor([0, 0, 1]), src, 'min', include_self=False)
""",
    # sigmoid and silu as PyTorch's formulas: 0 and -0 where e^-x overflows
    "sigmoid_silu_far_left": """
import torch
import torch.nn.functional as F
x = torch.tensor([-1e4, -104., -100., -89., -50., 0., 3., 1e4], requires_grad=True)
s = torch.sigmoid(x)
s.sum().backward()
si = F.silu(x.detach())
bce = F.binary_cross_entropy(torch.sigmoid(torch.tensor([-100.0])), torch.tensor([1.0]))
logs = torch.log(torch.sigmoid(torch.tensor([-90., -100.])))
big = F.silu(torch.full((200000,), -100.))[:3]
""",
    # a float or an object as an index: PyTorch's IndexError
    "float_index": """
import torch
x = torch.tensor([1., 2.])
caught = []
for index in (1.0, object()):
    try:
        x[index]
        caught.append("no error")
    except IndexError:
        caught.append("IndexError")
""",
    # PyTorch's binary search, step for step, when the sorted sequence holds NaN
    "searchsorted_with_nan": """
import torch
nan = float('nan')
found = []
for seq in ([1., 2., nan, nan], [1., 2., 3.], [nan], [1., nan, 2.], [1., 1., 2., nan]):
    for right in (False, True):
        s = torch.tensor(seq)
        v = torch.tensor([0.5, 1., 1.5, 2., 3., nan])
        found += [torch.searchsorted(s, v, right=right), torch.bucketize(v, s, right=right),
                  torch.searchsorted(s, 1.0, right=right)]
rows = torch.searchsorted(torch.tensor([[1., nan], [0., 5.]]), torch.tensor([[0.5, 3.], [1., 6.]]))
""",
    # prod's gradient: result / input without zeros (inf / inf is nan), zeros handled apart
    "prod_gradient_at_inf_and_zeros": """
import torch
grads = []
for data in ([float('inf'), 2., 3.], [0., 2., 3.], [0., 0., 3.], [0., float('inf'), 3.], [float('nan'), 2., 0.], [0.3, -1.7, 2.2, 0.9]):
    for dt in (torch.float32, torch.float64):
        x = torch.tensor(data, dtype=dt, requires_grad=True)
        x.prod().backward()
        grads.append(x.grad)
m = torch.tensor([[0., 0., 2.], [1., 2., 3.]], requires_grad=True)
m.prod(1).sum().backward()
m2 = torch.tensor([[0.5, -1.5, 2.], [1., 2., 3.]], requires_grad=True)
m2.prod(0).sum().backward()
""",
    # nansum's gradient is multiplied by the mask: nanmean of an all-NaN row gives NaN
    "nanmean_of_all_nan_row": """
import torch
nan = float('nan')
x = torch.tensor([[nan, nan], [1., nan], [2., 3.]], requires_grad=True)
x.nanmean(1).sum().backward()
y = torch.tensor([[nan, 2.], [1., nan]], dtype=torch.float64, requires_grad=True)
g, = torch.autograd.grad(y.nansum(1).pow(2).sum(), y, create_graph=True)
g2, = torch.autograd.grad(g.sum(), y)
""",
    # an operand that shares part of the memory an in-place op writes: PyTorch refuses it
    "partial_overlap_refused": """
import torch
refused = []
for src in ["x[1:].add_(x[:-1])", "x[1:] += x[:-1]", "x[1:].copy_(x[:-1])", "x[1:].addcmul_(x[:-1], x[:-1])",
            "x[1:].clamp_(min=x[:-1])", "torch.add(x[:-1], 1, out=x[1:])", "x[1:].lerp_(x[:-1], 0.5)",
            "x[1:].sub_(x[:-1], alpha=2)", "x[1:].div_(x[:-1])", "x[1:].mul_(x[:-1])",
            "torch.mul(x[:-1], 2, out=x[1:])"]:
    x = torch.arange(6.)
    try:
        exec(src)
        refused.append(False)
    except RuntimeError:
        refused.append(True)
x = torch.arange(6.)
x.add_(x)            # the same memory in the same layout: allowed
x[:3].mul_(x[3:])    # disjoint halves: allowed
x[::2].add_(x[1::2])
y = torch.arange(6.)
y[1:].add_(y[:-1].clone())
""",
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_tensor_program_as_pytorchs(name):
    compare_program(PROGRAMS[name])
