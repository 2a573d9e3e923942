# ruff: noqa: E501  (the programs' own lines)
"""Second derivatives and engine behaviour as PyTorch 2.13 has them, each run as a program in
both libraries (tests/program_harness.py compares every variable and the printed text): an op
whose inputs are a tensor and its detached self (one NumPy array, two roles), embedding's
scale_grad_by_freq at second order, binary_cross_entropy's closed-form double backward at a
saturated probability, a plain backward adding into a .grad that has a graph, nested
torch.func.grad, the create_graph warning, and grad mode per thread."""

from __future__ import annotations

import pytest
from program_harness import compare_program

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

PROGRAMS = {
    # x and x.detach() hold one array: the detached operand is a constant at second order
    "detached_operand_is_constant": """
import torch
import torch.autograd.functional as AF
x = torch.tensor([1., 2., 3.], dtype=torch.float64, requires_grad=True)
g, = torch.autograd.grad((x * x.detach()).sum(), x, create_graph=True)
g_needs = g.requires_grad
w = torch.tensor([[1., 2.], [3., 4.]], dtype=torch.float64, requires_grad=True)
gl, = torch.autograd.grad(torch.nn.functional.linear(w, w.detach()).sum(), w, create_graph=True)
gl_needs = gl.requires_grad
a = x.detach().requires_grad_()
b = x.detach().requires_grad_()
ga, gb = torch.autograd.grad((a * b * b).sum(), [a, b], create_graph=True)
second = torch.autograd.grad(ga.sum(), [a, b], allow_unused=True)
f = lambda p, q: (p * q * q).sum()
one, zero = torch.ones(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
h = AF.hessian(f, (x.detach(), x.detach()))
hv = AF.hvp(f, (x.detach(), x.detach()), (one, zero))[1]
vh = AF.vhp(f, (x.detach(), x.detach()), (one, zero))[1]
p = torch.nn.Parameter(torch.tensor([0.5, -1.5], dtype=torch.float64))
src = p.detach()
gp, = torch.autograd.grad((torch.atan2(p, src) + torch.addcmul(p, p, src)).sum(), p, create_graph=True)
gp2, = torch.autograd.grad(gp.sum(), p)
""",
    # the 1/count of scale_grad_by_freq divides once (in the first backward), padding row 0
    "embedding_scale_grad_by_freq_second_order": """
import torch
W = torch.tensor([[1., 0.5], [2., -1.], [3., 0.25]], dtype=torch.float64, requires_grad=True)
idx = torch.tensor([[0, 1, 1], [2, 1, 0]])
for pad in (None, 2):
    out = torch.nn.functional.embedding(idx, W, padding_idx=pad, scale_grad_by_freq=True)
    g, = torch.autograd.grad((out ** 3).sum(), W, create_graph=True)
    h, = torch.autograd.grad((g * g).sum(), W, create_graph=True)
    k, = torch.autograd.grad(h.sum(), W)
    print(pad, g.tolist(), h.tolist(), k.tolist())
""",
    # PyTorch's closed forms: 0 at a saturated p = t = 1 (the clamped quotient's derivative
    # gave 3e11), finite near p = 0; and the derivatives to the target and to the gradient
    "bce_double_backward_closed_form": """
import torch
F = torch.nn.functional
p = torch.tensor([1.0, 2e-9, 0.3, 0.0, 0.999], dtype=torch.float64, requires_grad=True)
t = torch.tensor([1.0, 0.0, 0.8, 0.0, 0.2], dtype=torch.float64, requires_grad=True)
out = {}
for red in ("mean", "sum", "none"):
    loss = F.binary_cross_entropy(p, t, reduction=red)
    seed = torch.tensor([0.5, 2.0, -1.0, 3.0, 1.5], dtype=torch.float64, requires_grad=True)
    gp, = torch.autograd.grad(loss, p, seed if red == "none" else None, create_graph=True)
    hp, ht = torch.autograd.grad((gp * torch.arange(1., 6., dtype=torch.float64)).sum(), [p, t], retain_graph=True)
    out[red] = (gp.detach(), hp, ht)
    if red == "none":
        out["seed"] = torch.autograd.grad((gp ** 2).sum(), seed)[0]
p32 = torch.tensor([20., -20., 0.3]).sigmoid().detach().requires_grad_()
g32, = torch.autograd.grad(F.binary_cross_entropy(p32, torch.tensor([1., 0., 1.]), reduction="sum"), p32, create_graph=True)
h32, = torch.autograd.grad(g32.sum(), p32)
""",
    # a plain backward into a .grad made by backward(create_graph=True) adds in place
    "accumulate_into_a_grad_with_a_graph": """
import torch
x = torch.tensor([1., 2.], requires_grad=True)
(x ** 3).sum().backward(create_graph=True)
(x ** 4).sum().backward(create_graph=True)
g = x.grad
(x ** 2).sum().backward()
same = x.grad is g
needs = x.grad.requires_grad
x.grad.sum().backward(inputs=[x])
final = x.grad.detach().clone()
""",
    # a nested grad's private leaf is nobody's input outside it: the result has no graph
    "nested_func_grad_has_no_graph": """
import torch
from torch import func
x = torch.tensor([0.3, 0.5], dtype=torch.float64)
w = torch.tensor([1.0, 2.0], dtype=torch.float64)
def gp(w, x):
    gx = func.grad(lambda xx: ((xx * w).tanh()).sum())(x)
    return gx.pow(2).sum()
r = func.grad(gp)(w, x)
r_needs = r.requires_grad
third = func.grad(func.grad(lambda a: (a ** 3).sin()))(torch.tensor(0.3, dtype=torch.float64))
third_needs = third.requires_grad
f = lambda a: (a * a.detach()).sum()
gg = func.grad(lambda a: func.grad(f)(a).sum())(torch.tensor([0.3, 0.5], dtype=torch.float64))
""",
    # grad mode belongs to a thread
    "grad_mode_per_thread": """
import threading
import torch
inside, done = threading.Event(), threading.Event()
def evaluator():
    with torch.no_grad():
        inside.set()
        done.wait()
t = threading.Thread(target=evaluator)
t.start()
inside.wait()
w = torch.tensor([1., 2.], requires_grad=True)
loss = (w * w).sum()
main_enabled = torch.is_grad_enabled()
loss_needs = loss.requires_grad
done.set()
t.join()
seen = []
with torch.no_grad():
    th = threading.Thread(target=lambda: seen.append((torch.is_grad_enabled(), (w * 2).requires_grad)))
    th.start()
    th.join()
with torch.inference_mode():
    th = threading.Thread(target=lambda: seen.append(torch.is_inference_mode_enabled()))
    th.start()
    th.join()
""",
    # inference mode wins over an enable_grad() inside it: grad mode on, nothing recorded
    "enable_grad_inside_inference_mode": """
import torch
x = torch.ones(2, requires_grad=True)
with torch.inference_mode():
    with torch.enable_grad():
        y = x * 2
        inside = (torch.is_grad_enabled(), torch.is_inference_mode_enabled(), y.requires_grad)
    with torch.set_grad_enabled(True):
        z = x * 3
    after = torch.is_grad_enabled()
outside = (torch.is_grad_enabled(), y.is_inference(), z.requires_grad)
w = x * 4
recorded = w.requires_grad
""",
    # autograd API beside the engine: a Function's backward named vjp, increment_version,
    # set_multithreading_enabled, _is_view, is_tensor_like, the anomaly_mode module
    "autograd_api_names": """
import torch
class Triple(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2
    @staticmethod
    def vjp(ctx, g):
        return g * 3
x = torch.tensor([1., 2.], requires_grad=True)
Triple.apply(x).sum().backward()
via_vjp = x.grad.clone()
try:
    class Both(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2
        @staticmethod
        def backward(ctx, g):
            return g
        @staticmethod
        def vjp(ctx, g):
            return g * 3
    Both.apply(x).sum().backward()
    both = "ran"
except RuntimeError as e:
    both = str(e)
with torch.autograd.set_multithreading_enabled(False):
    (x * 2).sum().backward()
views = (x._is_view(), x[0]._is_view(), x.view(2)._is_view(), x.detach()._is_view())
like = (torch.autograd.is_tensor_like(x), torch.autograd.is_tensor_like(3.0))
y = x * x
torch.autograd.graph.increment_version(x)
try:
    y.sum().backward()
    stale = "no error"
except RuntimeError as e:
    stale = "inplace operation" in str(e)
with torch.autograd.anomaly_mode.detect_anomaly():
    (x * 3).sum().backward()
final = x.grad.clone()
""",
    # a view whose base changed in place is rebased when its grad_fn is read, inside
    # inference_mode() too, and an enable_grad() there keeps grad mode on afterwards
    "view_rebased_inside_inference_mode": """
import torch
x = torch.ones(4, requires_grad=True)
y = x * 1
v = y[:2]
y.mul_(2)
with torch.inference_mode():
    with torch.enable_grad():
        has_history = v.grad_fn is not None
        grad_on = torch.is_grad_enabled()
    grad_off = torch.is_grad_enabled()
v.sum().backward()
g = x.grad.clone()
""",
    # a leaf detached in place (or set not to require grad) after the graph was built gets
    # no gradient (tinyconv accumulated one); its hooks still run
    "leaf_detached_after_the_graph": """
import torch
x = torch.tensor([1., 2., 3.], dtype=torch.float64, requires_grad=True)
seen = []
x.register_hook(lambda g: seen.append(g.sum().item()))
y = x * 2
x.detach_()
y.sum().backward()
no_grad_1 = x.grad is None
w = torch.tensor([1., 2.], dtype=torch.float64, requires_grad=True)
z = (w * w).sum()
w.requires_grad_(False)
z.backward()
no_grad_2 = w.grad is None
""",
    # a batched conv1d's output is its one node's, not a view (tinyconv's was a squeeze of
    # a hidden 2-d output: its _base was that, and an in-place op wrote a CopySlices into it)
    "conv1d_output_is_not_a_view": """
import torch
import torch.nn.functional as F
x = torch.tensor([[[-2.0, 1.0, 0.5]]], dtype=torch.float64, requires_grad=True)
y = F.conv1d(x, torch.ones(2, 1, 2, dtype=torch.float64) / 3, padding=1)
not_a_view = y._base is None
y.abs_()
node = y.grad_fn.name()
y.sum().backward()
gx = x.grad.clone()
""",
    # median() of all elements is a new tensor (it was a view: writing to it changed the input)
    "median_is_not_a_view": """
import torch
x = torch.tensor([3., 1., 2.])
m = x.median()
m.add_(10)
n = torch.tensor([4, 1, 2, 9]).nanmedian()
n += 1
x_after = x.clone()
""",
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_matches_pytorch(name):
    compare_program(PROGRAMS[name])


_CYCLE_WARNING = """
import sys, warnings
torch = __import__(sys.argv[1])
warnings.simplefilter("always")
x = torch.tensor([1., 2.], requires_grad=True)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    (x ** 3).sum().backward(create_graph=True)
    (x ** 4).sum().backward(create_graph=True)
    torch.autograd.grad((x ** 2).sum(), x, create_graph=True)
print([str(w.message)[:60] for w in caught])
"""


def test_create_graph_warning_once_per_process():
    """PyTorch warns once per process about backward(create_graph=True) (not for grad()):
    a fresh process for each library, since the warning is process state."""
    import subprocess
    import sys

    def run(name):
        done = subprocess.run(
            [sys.executable, "-c", _CYCLE_WARNING, name], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    got, want = run("tinyconv"), run("torch")
    assert want.count("Using backward() with create_graph=True") == 1
    assert got == want


def test_shared_array_roles_keep_saved_tensor_checks():
    """The detached operand gets its own array object: an in-place change of the shared
    memory is still caught at backward (both roles share one version counter only through
    x itself, as in PyTorch: x.detach() has its own)."""
    import tinyconv

    x = tinyconv.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x.detach()).sum()
    with tinyconv.no_grad():
        x.mul_(2)  # x's version moves: the saved x is stale
    with pytest.raises(RuntimeError, match="inplace operation"):
        y.backward()
