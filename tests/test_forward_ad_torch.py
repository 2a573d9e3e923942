"""autograd.forward_ad and inference tensors against PyTorch: the forward-mode AD tutorial's
programs, the tangents of ops and layers, which tangents require grad, and inference mode's
rules (the plain tests are test_forward_ad.py and test_inference_tensors.py)."""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from program_harness import compare_program  # noqa: E402
from test_tutorials_torch import compare_runs  # noqa: E402  (after the skip: it needs torch)

# -- pytorch/tutorials: Forward-mode Automatic Differentiation
#    (intermediate_source/forward_ad_usage.py): its programs in order, the functorch part with
#    torch.func (functorch's make_functional_with_buffers became functional_call). The custom
#    Function's tangent is float32 data times float64 values, so float64 results carry the
#    one-ulp differences of the two libraries' float32 randn.
FORWARD_AD = [
    """
    import torch
    import torch.autograd.forward_ad as fwAD

    torch.manual_seed(0)
    primal = torch.randn(10, 10)
    tangent = torch.randn(10, 10)

    def fn(x, y):
        return x ** 2 + y ** 2

    with fwAD.dual_level():
        dual_input = fwAD.make_dual(primal, tangent)
        assert fwAD.unpack_dual(dual_input).tangent is tangent
        dual_input_alt = fwAD.make_dual(primal, tangent.T)
        assert fwAD.unpack_dual(dual_input_alt).tangent is not tangent
        plain_tensor = torch.randn(10, 10)
        dual_output = fn(dual_input, plain_tensor)
        jvp = fwAD.unpack_dual(dual_output).tangent

    assert fwAD.unpack_dual(dual_output).tangent is None
    """,
    """
    import torch.nn as nn

    model = nn.Linear(5, 5)
    input = torch.randn(16, 5)
    params = {name: p for name, p in model.named_parameters()}
    tangents = {name: torch.rand_like(p) for name, p in params.items()}

    with fwAD.dual_level():
        for name, p in params.items():
            delattr(model, name)
            setattr(model, name, fwAD.make_dual(p, tangents[name]))
        out = model(input)
        jvp = fwAD.unpack_dual(out).tangent
    """,
    """
    from torch.func import functional_call

    model = nn.Linear(5, 5)
    dual_params = {}
    with fwAD.dual_level():
        for name, p in params.items():
            dual_params[name] = fwAD.make_dual(p, tangents[name])
        out = functional_call(model, dual_params, input)
        jvp2 = fwAD.unpack_dual(out).tangent
    assert torch.allclose(jvp, jvp2)
    """,
    """
    class Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, foo):
            result = torch.exp(foo)
            ctx.result = result
            return result

        @staticmethod
        def jvp(ctx, gI):
            gO = gI * ctx.result
            del ctx.result
            return gO

    fn = Fn.apply
    primal = torch.randn(10, 10, dtype=torch.double, requires_grad=True)
    tangent = torch.randn(10, 10)
    with fwAD.dual_level():
        dual_input = fwAD.make_dual(primal, tangent)
        dual_output = fn(dual_input)
        jvp = fwAD.unpack_dual(dual_output).tangent
    checked = torch.autograd.gradcheck(Fn.apply, (primal,), check_forward_ad=True,
                                       check_backward_ad=False, check_undefined_grad=False,
                                       check_batched_grad=False)
    print(checked, jvp.requires_grad, jvp.dtype)
    """,
    """
    import functools
    from torch.func import jvp as func_jvp

    primal0 = torch.randn(10, 10)
    tangent0 = torch.randn(10, 10)
    primal1 = torch.randn(10, 10)
    tangent1 = torch.randn(10, 10)
    primal_out, tangent_out = func_jvp(fn2 := lambda x, y: x ** 2 + y ** 2,
                                       (primal0, primal1), (tangent0, tangent1))
    y = torch.randn(10, 10)
    primal_out1, tangent_out1 = func_jvp(functools.partial(fn2, y=y), (primal0,), (tangent0,))

    model = nn.Linear(5, 5)
    input = torch.randn(16, 5)
    params = dict(model.named_parameters())
    tangents = {k: torch.rand_like(p) for k, p in params.items()}
    model_output, jvp_out = func_jvp(lambda p: functional_call(model, p, (input,)),
                                     (params,), (tangents,))
    jvp_out_values = jvp_out.detach()
    """,
]


def test_forward_ad_tutorial(monkeypatch):
    # (jvp_out: func.jvp's tangent requires grad in PyTorch, as the parameters do; tinyconv's
    # func.jvp returns it detached where it does not depend on them; its values are compared)
    compare_runs(FORWARD_AD, monkeypatch, tols={"float64": (1e-6, 1e-7)}, skip=("jvp_out",))


def _dual_run(lib, fn, arrays, with_tangent):
    fwad = lib.autograd.forward_ad
    xs = [lib.tensor(a) for a in arrays]
    with fwad.dual_level():
        args = [
            fwad.make_dual(x, lib.tensor(np.cos(np.arange(a.size) + k).reshape(a.shape)))
            if k in with_tangent
            else x
            for k, (x, a) in enumerate(zip(xs, arrays, strict=True))
        ]
        out = fn(lib, *args)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        result = []
        for o in outs:
            t = fwad.unpack_dual(o).tangent
            result.append((o.detach().numpy(), None if t is None else t.numpy()))
        return result


_R = np.random.default_rng(0)
_IMG, _W = _R.standard_normal((2, 3, 5, 5)), _R.standard_normal((4, 3, 3, 3))
_M, _N, _P = _R.standard_normal((3, 4)), _R.standard_normal((4, 5)), _R.random((3, 4)) + 0.5
OPS = {
    "pow_sin": (lambda L, x: x**3 + x.sin(), [_M], [0]),
    "exp_log_div": (lambda L, x, y: (x.exp() + 1).log() / y, [_M, _P], [0, 1]),
    "matmul": (lambda L, x, y: x @ y, [_M, _N], [0, 1]),
    "conv2d": (
        lambda L, x, w: L.nn.functional.conv2d(x, w, padding=1, stride=2),
        [_IMG, _W],
        [0, 1],
    ),
    "pools": (
        lambda L, x: (L.nn.functional.max_pool2d(x, 2), L.nn.functional.avg_pool2d(x, 2)),
        [_IMG],
        [0],
    ),
    "softmaxes": (lambda L, x: (L.softmax(x, 1), L.log_softmax(x, 0)), [_M], [0]),
    "activations": (
        lambda L, x: (L.relu(x), L.nn.functional.gelu(x), x.tanh() * x.sigmoid()),
        [_M],
        [0],
    ),
    "norms": (
        lambda L, x, y: (
            L.nn.functional.layer_norm(x, (4,)),
            L.nn.functional.batch_norm(y, None, None, training=True),
        ),
        [_M, _IMG],
        [0, 1],
    ),
    "losses": (
        lambda L, x, y: (
            L.nn.functional.cross_entropy(x, L.tensor([0, 2, 1])),
            L.nn.functional.mse_loss(x, y),
        ),
        [_M, _P],
        [0],
    ),
    "joins_views": (
        lambda L, x, y: (L.cat([x, y]), L.stack([x, y]), x[1], x[:, 1:3], x[[0, 2]], x.t()),
        [_M, _P],
        [0],
    ),
    "reductions": (
        lambda L, x: (*x.max(1), x.sum(1), x.mean(), x.var(0), x.std(), x.prod(1), x.norm()),
        [_M],
        [0],
    ),
    "piecewise": (
        lambda L, x, y: (x.clamp(-0.5, 0.5), x.abs(), x.sign(), L.where(x > 0, x, y)),
        [_M, _P],
        [0, 1],
    ),
    "inplace_setitem": (
        lambda L, x, y: (
            x.clone().mul_(2).add_(x).sin_(),
            y.clone().index_fill_(0, L.tensor([1]), 0.0),
        ),
        [_M, _P],
        [0, 1],
    ),
    "casts_embedding": (
        lambda L, x: (x.to(L.float32) * 2, L.nn.functional.embedding(L.tensor([[0, 2]]), x)),
        [_M],
        [0],
    ),
    "interpolate": (
        lambda L, x: L.nn.functional.interpolate(x, scale_factor=2, mode="bilinear"),
        [_IMG],
        [0],
    ),
}


@pytest.mark.parametrize("name", list(OPS))
def test_tangents_match_torch(name):
    fn, arrays, with_tangent = OPS[name]
    want = _dual_run(torch, fn, arrays, with_tangent)
    got = _dual_run(tinyconv, fn, arrays, with_tangent)
    assert len(got) == len(want)
    for k, ((gp, gt), (wp, wt)) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_allclose(gp, wp, rtol=1e-10, atol=1e-12, err_msg=f"{name} {k}")
        assert (gt is None) == (wt is None), (name, k)
        if wt is not None:
            assert gt.dtype == wt.dtype, (name, k)
            np.testing.assert_allclose(gt, wt, rtol=1e-9, atol=1e-11, err_msg=f"{name} {k}")


# which tangents require grad, differentiating a tangent with respect to the primal (reverse
# over forward), backward of the same computation, and what survives the level
TANGENT_GRAPHS = """
import torch
import torch.autograd.forward_ad as fwAD

torch.manual_seed(0)
x = torch.randn(3, dtype=torch.float64, requires_grad=True)
t = torch.randn(3, dtype=torch.float64)
w = torch.randn(3, dtype=torch.float64)
with fwAD.dual_level():
    d = fwAD.make_dual(x, t)
    print(d.requires_grad, d.is_leaf, type(d.grad_fn).__name__)
    for y in (d * 2, d * w, d.sin(), d + w, d.view(3), d.exp(), d.sum(), d[1:],
              torch.cat([d, w])):
        print(y.requires_grad, fwAD.unpack_dual(y).tangent.requires_grad)
    y = d.sin() * d
    jvp = fwAD.unpack_dual(y).tangent
    rev_over_fwd, = torch.autograd.grad(jvp.sum(), x, retain_graph=True)
    y.sum().backward()
    print(t.grad is None)
    with torch.no_grad():
        z = d.sin()
        print(z.requires_grad, fwAD.unpack_dual(z).tangent.requires_grad)
    tr = torch.randn(3, dtype=torch.float64, requires_grad=True)
    e = fwAD.make_dual(torch.randn(3, dtype=torch.float64), tr).exp()
    te = fwAD.unpack_dual(e).tangent
    print(e.requires_grad, te.requires_grad)
    through_tangent, = torch.autograd.grad(te.sum(), tr)
    print(fwAD.unpack_dual(d.argmax()).tangent)
    mixed = fwAD.make_dual(torch.randn(3), torch.randn(3, dtype=torch.float64)) * 2
    print(fwAD.unpack_dual(mixed).tangent.dtype, fwAD.unpack_dual(mixed.float()).tangent.dtype)
print(fwAD.unpack_dual(y).tangent)
grad_x = x.grad
"""


def test_tangent_graphs_match_torch():
    compare_program(TANGENT_GRAPHS)


INFERENCE = """
import torch

def attempt(f):
    try:
        r = f()
        print("ok", r if isinstance(r, (bool, tuple)) else type(r).__name__)
    except RuntimeError as e:
        print("RuntimeError", str(e)[:60])

torch.manual_seed(0)
x = torch.randn(3)
w = torch.randn(3, requires_grad=True)
with torch.inference_mode():
    a = torch.randn(3)
    b = x * 2
    v = x[1:]
    c = torch.ones(2, requires_grad=True)
    print(a.is_inference(), b.is_inference(), v.is_inference(), c.requires_grad)
    print(torch.is_inference_mode_enabled(), torch.is_grad_enabled(), (w * 2).requires_grad)
    with torch.inference_mode(False):
        print(torch.randn(1).is_inference(), torch.is_grad_enabled())
        attempt(lambda: a * w)
    model = torch.nn.Linear(3, 2)
print(torch.is_inference(a), x.is_inference(), a[0].is_inference(), a.detach().is_inference())
print(a.clone().is_inference(), (a + 1).is_inference(), a.view(3).is_inference())
attempt(lambda: a * w)
attempt(lambda: w * a)
attempt(lambda: (a + w).requires_grad)
attempt(lambda: a.sin().requires_grad)
attempt(lambda: torch.nn.functional.linear(a, torch.randn(2, 3, requires_grad=True)))
attempt(lambda: a.add_(1))
attempt(lambda: a.zero_())
attempt(lambda: a.copy_(x))
attempt(lambda: a.requires_grad_())
attempt(lambda: torch.nn.Parameter(a))
attempt(lambda: v.add_(1))
attempt(lambda: x.copy_(a).is_inference())
with torch.no_grad():
    attempt(lambda: a.mul_(2))
    with torch.inference_mode(False):
        print(torch.is_grad_enabled(), torch.is_inference_mode_enabled())
print(model.weight.is_inference(), model.weight.requires_grad, model(x).requires_grad)

@torch.inference_mode()
def f():
    return torch.ones(2).is_inference(), torch.is_inference_mode_enabled()

@torch.inference_mode
def g():
    return torch.ones(2).is_inference()

print(f(), g())
"""


def test_inference_tensors_match_torch():
    # (what the refused writes leave is not compared: PyTorch's a[0] = 1.0 writes, then raises)
    compare_program(INFERENCE, skip=("x", "a", "v"))


SAVE_FOR_FORWARD = """
import torch
import torch.autograd.forward_ad as fwAD


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors  # (in jvp: what save_for_forward kept)
        return 2 * x * t


x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
v = torch.tensor([1.0, 0.5, 0.25], dtype=torch.float64)
with fwAD.dual_level():
    y = Square.apply(fwAD.make_dual(x, v))
    tangent = fwAD.unpack_dual(y).tangent
    print(tangent.requires_grad, type(tangent.grad_fn).__name__)
    tangent.sum().backward()
grad = x.grad
"""


def test_jvp_reads_what_save_for_forward_kept():
    # the tangent 2 x v is in the graph through x, so its gradient to x is 2 v, as PyTorch's
    compare_program(SAVE_FOR_FORWARD, skip=("Square",))
