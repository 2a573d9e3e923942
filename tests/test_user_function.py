"""User-defined autograd Functions beyond one Tensor in, one out: several outputs,
mark_non_differentiable, set_materialize_grads, needs_input_grad, once_differentiable."""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv
from tinyconv.autograd import gradcheck, gradgradcheck
from tinyconv.autograd.function import once_differentiable


def _split_fn(lib):
    """y = clamp(x, lo) * scale, a bool mask (non-differentiable), x * w, and an int."""

    class SplitFn(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, scale):
            mask = x > 0
            y = x.clamp(min=0) * scale
            z = x * w
            ctx.save_for_backward(x, w, mask, z)
            ctx.scale = scale
            ctx.mark_non_differentiable(mask)
            ctx.seen = ctx.needs_input_grad
            return y, mask, z, 5

        @staticmethod
        def backward(ctx, gy, gmask, gz, gint):
            x, w, mask, z = ctx.saved_tensors
            ctx.got = (gmask.dtype, float(gmask.sum()), gint)
            gx = gy * ctx.scale * mask.to(gy.dtype) + gz * w + 0 * z
            gw = gz * x if ctx.needs_input_grad[1] else None
            return gx, gw, None

    return SplitFn


def test_multi_output_function_matches_pytorch():
    torch = pytest.importorskip("torch")
    res = {}
    for lib in (torch, tinyconv):
        fn = _split_fn(lib)
        x = lib.tensor([-1.0, 0.5, 2.0, -0.1], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([0.3, -2.0, 1.0, 4.0], dtype=lib.float64, requires_grad=True)
        y, mask, z, k = fn.apply(x, w, 3.0)
        flags = (y.requires_grad, mask.requires_grad, z.requires_grad, k, str(mask.dtype))
        (y.sum() + (z * z).sum()).backward(retain_graph=True)
        g1 = (x.grad.numpy().copy(), w.grad.numpy().copy())
        x.grad = w.grad = None
        y.sum().backward()  # z got no gradient: backward receives zeros for it
        g2 = (x.grad.numpy().copy(), None if w.grad is None else w.grad.numpy().copy())
        with lib.no_grad():
            outs = fn.apply(x, w, 3.0)
        res[lib.__name__] = (flags, g1, g2, outs[0].requires_grad, y.grad_fn.name())
    t, c = res["torch"], res["tinyconv"]
    assert t[0][:4] == c[0][:4] and c[0][4] == "tinyconv.bool"
    for a, b in zip(t[1], c[1], strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12)
    np.testing.assert_allclose(c[2][0], t[2][0], rtol=1e-12)
    np.testing.assert_allclose(c[2][1], t[2][1], rtol=1e-12)  # zeros: w's grad from a zero gz
    assert t[3] is c[3] is False
    assert c[4] == "SplitFnBackward" == t[4]


def test_multi_output_function_gradcheck():
    fn = _split_fn(tinyconv)
    rng = np.random.default_rng(0)
    x = tinyconv.tensor(rng.normal(size=5) + 0.2, dtype=tinyconv.float64, requires_grad=True)
    w = tinyconv.tensor(rng.normal(size=5), dtype=tinyconv.float64, requires_grad=True)

    def f(x, w):
        y, _, z, _ = fn.apply(x, w, 1.5)
        return y * 2 + z.exp()

    assert gradcheck(f, (x, w), eps=1e-6, atol=1e-6)
    assert gradgradcheck(f, (x, w), eps=1e-6, atol=1e-6)  # saved outputs wired into the graph


def test_needs_input_grad_and_materialize_grads():
    seen = {}

    class Two(tinyconv.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["needs"] = ctx.needs_input_grad
            ctx.set_materialize_grads(False)
            return a * 2, b * 3

        @staticmethod
        def backward(ctx, ga, gb):
            seen["grads"] = (ga is None, gb is None)
            return (None if ga is None else ga * 2), (None if gb is None else gb * 3)

    a = tinyconv.ones(2, requires_grad=True)
    b = tinyconv.ones(2)
    with tinyconv.no_grad():
        Two.apply(a, b)
    assert seen["needs"] == (True, False)  # PyTorch: follows requires_grad even under no_grad
    b.requires_grad_(True)
    p, q = Two.apply(a, b)
    p.sum().backward()
    assert seen["grads"] == (False, True) and a.grad.tolist() == [2.0, 2.0] and b.grad is None


def test_once_differentiable():
    class Sq(tinyconv.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**2

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            assert not tinyconv.is_grad_enabled()
            return 2 * x * g

    x = tinyconv.tensor([1.0, 3.0], dtype=tinyconv.float64, requires_grad=True)
    (g,) = tinyconv.autograd.grad(Sq.apply(x).sum(), x, create_graph=True)
    assert g.tolist() == [2.0, 6.0] and not g.requires_grad  # (the incoming grad needs none)
    z = Sq.apply(x)
    (g,) = tinyconv.autograd.grad((z * z).sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn.name() == "DelayedError"
    np.testing.assert_allclose(g.detach().numpy(), 4 * np.array([1.0, 27.0]))
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.sum().backward()
    assert gradcheck(Sq.apply, (x,), eps=1e-6, atol=1e-6)


def test_surplus_none_gradients_are_dropped_and_others_refused():
    # PyTorch drops trailing Nones beyond the forward's inputs (the conv-bn tutorial returns
    # one per optional argument, given or not) and refuses a surplus gradient or a missing one
    class Double(tinyconv.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale=2.0):
            return x * scale

        @staticmethod
        def backward(ctx, g):
            return g * 2.0, None, None, None

    x = tinyconv.ones(3, requires_grad=True)
    Double.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])

    class Surplus(Double):
        @staticmethod
        def backward(ctx, g):
            return g * 2.0, g

    class Missing(Double):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return (g,)

    with pytest.raises(RuntimeError, match=r"returned 2 gradient\(s\), but forward took 1"):
        Surplus.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match=r"returned 1 gradient\(s\), but forward took 2"):
        Missing.apply(x, x).sum().backward()


def test_gradgradcheck_draws_its_grad_outputs_as_pytorch():
    # uniform on [-1, 1) in the output's dtype from the global stream: what a program draws
    # after a gradgradcheck (the double-backward tutorial's next torch.rand) stays PyTorch's
    torch = pytest.importorskip("torch")
    draws = []
    for lib in (tinyconv, torch):
        lib.manual_seed(0)
        x = lib.rand(3, 3, dtype=lib.float64, requires_grad=True)
        assert lib.autograd.gradgradcheck(lambda a: (a**2, a.sin()), x)
        draws.append(lib.rand(4, dtype=lib.float64).numpy())
    np.testing.assert_array_equal(*draws)
