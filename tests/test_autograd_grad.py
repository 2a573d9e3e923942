"""autograd.grad, backward(create_graph=True, inputs=...), tensor hooks and gradgradcheck:
the engine side of higher-order autograd (each op's double backward is tested with its op)."""

import numpy as np
import pytest

import tinyconv as tc
from tinyconv.autograd import gradgradcheck


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((3, 4)), rng.standard_normal(4)


def test_grad_returns_gradients_and_leaves_dot_grad_alone():
    a, b = _pair()
    x = tc.tensor(a, requires_grad=True)
    y = tc.tensor(b, requires_grad=True)
    (gx, gy) = tc.autograd.grad((x * y).sum(), (x, y))
    np.testing.assert_allclose(gx.numpy(), np.broadcast_to(b, (3, 4)))
    np.testing.assert_allclose(gy.numpy(), a.sum(0))
    assert x.grad is None and y.grad is None
    assert not gx.requires_grad


def test_second_derivative_of_a_product():
    # f = sum(x^2 y): df/dx = 2xy, and d/dy of sum((df/dx)^2) = sum_i 8 x^2 y
    a, b = _pair(1)
    x = tc.tensor(a, requires_grad=True)
    y = tc.tensor(b, requires_grad=True)
    (gx,) = tc.autograd.grad((x * x * y).sum(), x, create_graph=True)
    assert gx.requires_grad and gx.grad_fn is not None
    np.testing.assert_allclose(gx.detach().numpy(), 2 * a * b)
    (gx * gx).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), (8 * a * a * b).sum(0))
    np.testing.assert_allclose(x.grad.numpy(), 8 * a * b * b)


def test_backward_create_graph_keeps_a_graph_on_dot_grad():
    x = tc.tensor([1.0, 2.0], dtype=tc.float64, requires_grad=True)
    (x * x * x).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    np.testing.assert_allclose(g.detach().numpy(), [3.0, 12.0])
    (gx2,) = tc.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gx2.numpy(), [6.0, 12.0])


def test_backward_inputs_fills_only_those():
    a, b = _pair(2)
    x = tc.tensor(a, requires_grad=True)
    y = tc.tensor(b, requires_grad=True)
    (x * y).sum().backward(inputs=[y])
    assert x.grad is None
    np.testing.assert_allclose(y.grad.numpy(), a.sum(0))


def test_grad_of_non_leaf_input_and_unused_inputs():
    a, b = _pair(3)
    x = tc.tensor(a, requires_grad=True)
    z = tc.tensor(b, requires_grad=True)
    h = x * 2
    (gh,) = tc.autograd.grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.numpy(), 4 * a)
    with pytest.raises(RuntimeError, match="allow_unused"):
        tc.autograd.grad((x * 3).sum(), (x, z))
    gx, gz = tc.autograd.grad((x * 3).sum(), (x, z), allow_unused=True)
    assert gz is None
    _, gz = tc.autograd.grad((x * 3).sum(), (x, z), materialize_grads=True)
    np.testing.assert_array_equal(gz.numpy(), np.zeros(4))


def test_grad_bad_input():
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        tc.autograd.grad(x * 2, x)
    with pytest.raises(RuntimeError, match="does not require grad"):
        tc.autograd.grad(tc.tensor(1.0), x)
    with pytest.raises(RuntimeError, match="input 0 does not require grad"):
        tc.autograd.grad((x * 2).sum(), tc.tensor([1.0]))
    with pytest.raises(TypeError, match="Tensor"):
        tc.autograd.grad((x * 2).sum(), [1.0])


def test_tensor_hooks_see_the_total_gradient_once_and_can_replace_it():
    seen = []
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    h = x.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    (x * x + x).sum().backward()  # x used twice: the hook sees 2x + 1 once
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [3.0, 5.0])
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 50.0])
    h.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    assert len(seen) == 1


def test_hook_on_non_leaf_changes_what_flows_on():
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    z = x * 2
    z.register_hook(lambda g: g * 3)
    (z * z).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [24.0, 48.0])  # 2 * (3 * 2z)
    with pytest.raises(RuntimeError, match="does not require gradient"):
        tc.tensor([1.0]).register_hook(lambda g: g)


def test_numpy_inside_a_graph_backward_raises_instead_of_cutting_the_graph():
    class Leaky(tc.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * tc.tensor(np.asarray(x) * 2)  # leaves the graph

    x = tc.tensor([1.0, 2.0], dtype=tc.float64, requires_grad=True)
    (g,) = tc.autograd.grad(Leaky.apply(x).sum(), x)  # first order (grad mode off): fine
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    # (PyTorch's message: numpy() of a tensor that requires grad while grad mode is on)
    with pytest.raises(RuntimeError, match="requires grad"):
        tc.autograd.grad(Leaky.apply(x).sum(), x, create_graph=True)


def test_user_function_double_backward_runs_its_backward_on_tensors():
    class Cube(tc.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x

    x = tc.tensor([1.0, -2.0], dtype=tc.float64, requires_grad=True)
    assert gradgradcheck(Cube.apply, (x,))


def test_gradgradcheck_catches_a_wrong_double_backward():
    class Wrong(tc.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x.detach()  # half of the second derivative is lost

    x = tc.tensor([1.0, -2.0], dtype=tc.float64, requires_grad=True)
    assert tc.autograd.gradcheck(Wrong.apply, (x,))
    assert not gradgradcheck(Wrong.apply, (x,), raise_exception=False)


def test_op_without_double_backward_says_so():
    class Square(tc.autograd.Function):  # an array-mode op with only the NumPy backward
        array_mode = True

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * g * x

    x = tc.tensor([1.0, 2.0], dtype=tc.float64, requires_grad=True)
    (g,) = tc.autograd.grad(Square.apply(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="no double backward"):
        tc.autograd.grad(Square.apply(x).sum(), x, create_graph=True)


@pytest.mark.torch
def test_hooks_and_grad_match_torch():
    torch = pytest.importorskip("torch")
    out = []
    for m in (tc, torch):
        log = []
        x = m.tensor([1.0, -2.0, 3.0], dtype=m.float64, requires_grad=True)
        y = m.tensor([0.5, 2.0, -1.0], dtype=m.float64, requires_grad=True)
        x.register_hook(lambda g, log=log: log.append(("x1", g.tolist())) or g * 2)
        x.register_hook(lambda g, log=log: log.append(("x2", g.tolist())))
        z = x * y
        z.retain_grad()
        z.register_hook(lambda g, log=log: log.append(("z", g.tolist())) or g + 1)
        loss = (z * z + x).sum()
        (gx, gz) = m.autograd.grad(loss, (x, z), retain_graph=True)
        loss.backward(inputs=[x, y], retain_graph=True)
        (gy,) = m.autograd.grad(loss, y, create_graph=True)
        (gyy,) = m.autograd.grad((gy * gy).sum(), x)
        out.append((log, gx.tolist(), gz.tolist(), x.grad.tolist(), y.grad.tolist(), gyy.tolist()))
    assert out[0] == out[1]


@pytest.mark.parametrize("lib_name", ["tinyconv", "torch"])
def test_an_output_that_feeds_another_listed_output_gets_its_gradient_first(lib_name):
    # backward([z, y]) with z computed from y: y's node must wait for z's gradient (it ran
    # first, and x.grad came out [3, 3] instead of PyTorch's [21, 39])
    lib = tc if lib_name == "tinyconv" else pytest.importorskip("torch")
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    z = (y**2).sum()
    lib.autograd.backward([z, y], [None, lib.ones(2)])
    assert x.grad.tolist() == [21.0, 39.0]  # 18 x * 3 (from z) + 3 (from y)
    y = (x * 3).sum()
    (g,) = lib.autograd.grad([y**2, y], x)
    assert g.tolist() == [57.0, 57.0]  # (2 y + 1) * 3 with y = 9
    y = x * 3
    gy, gx = lib.autograd.grad([(y**2).sum(), y], [y, x], [None, lib.ones(2)])
    assert gy.tolist() == [7.0, 13.0] and gx.tolist() == [21.0, 39.0]
