"""autograd.forward_ad: dual tensors, their levels and errors, tangents (J v) of ops, modules
and custom Functions, in-place ops, what the user's graph sees, and gradcheck's forward check.
The comparisons with PyTorch are in test_forward_ad_torch.py."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import tinyconv
import tinyconv.autograd.forward_ad as fwAD
import tinyconv.nn.functional as F
from tinyconv import nn


def _arr(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _tangent_of(f, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    with fwAD.dual_level():
        out = f(fwAD.make_dual(tinyconv.tensor(x), tinyconv.tensor(v)))
        return fwAD.unpack_dual(out).tangent.numpy()


def _central_difference(f, x: np.ndarray, v: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    plus = f(tinyconv.tensor(x + eps * v)).numpy()
    minus = f(tinyconv.tensor(x - eps * v)).numpy()
    return (plus - minus) / (2 * eps)


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x**2 + x.sin() * 3.0,
        lambda x: (x @ x.T).exp().sum(1),
        lambda x: F.softmax(x, 1)[:, 1:] * x[0, 1:],
        lambda x: F.conv2d(x.reshape(1, 1, 3, 4), x.reshape(1, 1, 3, 4)[..., :2, :2], padding=1),
        lambda x: F.layer_norm(x, (4,)).relu().max(1).values,
    ],
)
def test_tangent_is_the_directional_derivative(f):
    x, v = _arr((3, 4), 1), _arr((3, 4), 2)
    np.testing.assert_allclose(
        _tangent_of(f, x, v), _central_difference(f, x, v), rtol=1e-6, atol=1e-8
    )


def test_levels_and_errors():
    x = tinyconv.randn(3)
    with pytest.raises(RuntimeError, match="no level exists"):
        fwAD.make_dual(x, tinyconv.randn(3))
    with pytest.raises(RuntimeError, match="Dual level must be a positive number"):
        fwAD.exit_dual_level()
    assert fwAD.unpack_dual(x) == (x, None)  # outside a level: the tensor itself
    with fwAD.dual_level() as level:
        assert level == 0
        with pytest.raises(RuntimeError, match="Nested forward mode AD"):
            fwAD.enter_dual_level()
        with pytest.raises(RuntimeError, match="different size"):
            fwAD.make_dual(x, tinyconv.randn(4))
        with pytest.raises(ValueError, match="tangent to be floating point"):
            fwAD.make_dual(x, tinyconv.arange(3))
        with pytest.raises(ValueError, match="primal to be floating point"):
            fwAD.make_dual(tinyconv.arange(3), x)
        d = fwAD.make_dual(x, tinyconv.ones(3))
        with pytest.raises(RuntimeError, match="already has a forward gradient"):
            fwAD.make_dual(d, tinyconv.ones(3))
        with pytest.raises(TypeError, match="must be Tensor"):
            fwAD.unpack_dual(3.0)
        with pytest.raises(RuntimeError, match="Invalid level"):
            fwAD.unpack_dual(d, level=1)
    assert fwAD.enter_dual_level() == 0
    fwAD.exit_dual_level(level=0)


def test_make_dual_and_unpack_dual():
    p, t = tinyconv.randn(3, 4, dtype=tinyconv.float64), tinyconv.randn(3, 4)
    with fwAD.dual_level():
        d = fwAD.make_dual(p, t)
        u = fwAD.unpack_dual(d)
        assert isinstance(u, fwAD.UnpackedDualTensor) and u._fields == ("primal", "tangent")
        assert u.tangent is t and u.tangent.dtype == tinyconv.float32  # (kept, as PyTorch)
        assert d.dtype == tinyconv.float64 and d._base is p  # a view of the primal
        assert fwAD.unpack_dual(u.primal).tangent is None  # the primal carries no tangent
        assert np.shares_memory(u.primal.numpy(), p.numpy())
        # a tangent laid out unlike the primal is copied into the primal's layout
        alt = fwAD.unpack_dual(fwAD.make_dual(p, tinyconv.randn(4, 3).T)).tangent
        assert alt.stride() == p.stride()
        plain = tinyconv.randn(2)
        assert fwAD.unpack_dual(plain).tangent is None
        assert fwAD.unpack_dual(plain).primal is not plain  # (a view inside a level)
    assert fwAD.unpack_dual(d).tangent is None  # dropped with the level


def test_level_exit_drops_every_tangent_and_its_graph():
    x = tinyconv.randn(5, requires_grad=True)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, tinyconv.randn(5))
        y = (d.sin() * d).sum()
        tangent = fwAD.unpack_dual(y).tangent
        assert tangent.requires_grad  # (differentiable with respect to x, as PyTorch's)
        ref = weakref.ref(tangent)
        del tangent
    gc.collect()
    assert ref() is None and not fwAD._tangents
    assert fwAD.unpack_dual(y).tangent is None


def test_users_graph_is_untouched():
    """The tangents are computed aside: requires_grad, grad_fn and .grad are what they would
    be without them, and backward of the same computation works."""
    w = tinyconv.randn(4, 3, requires_grad=True)
    x = tinyconv.randn(2, 4)
    plain = (x @ w).tanh().sum()
    plain.backward()
    want = w.grad.clone()
    w.grad = None
    with fwAD.dual_level():
        dx = fwAD.make_dual(x, tinyconv.randn(2, 4))
        out = (dx @ w).tanh().sum()
        assert out.requires_grad and type(out.grad_fn).__name__ == "SumBackward0"
        assert w.grad is None and fwAD.unpack_dual(out).tangent is not None
        out.backward()
    np.testing.assert_array_equal(w.grad.numpy(), want.numpy())
    with fwAD.dual_level():  # a dual input that does not require grad: nothing recorded
        y = fwAD.make_dual(tinyconv.randn(3), tinyconv.randn(3)).exp()
        assert not y.requires_grad and y.grad_fn is None


def test_module_with_dual_parameters_matches_functional_call():
    tinyconv.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2))
    x = tinyconv.randn(3, 5)
    params = dict(model.named_parameters())
    tangents = {k: tinyconv.rand_like(p) for k, p in params.items()}
    with fwAD.dual_level():
        duals = {k: fwAD.make_dual(p, tangents[k]) for k, p in params.items()}
        out = tinyconv.func.functional_call(model, duals, (x,))
        jvp = fwAD.unpack_dual(out).tangent
    _, want = tinyconv.func.jvp(
        lambda p: tinyconv.func.functional_call(model, p, (x,)), (params,), (tangents,)
    )
    np.testing.assert_allclose(jvp.detach().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert all(p.grad is None for p in model.parameters())


def test_inplace_setitem_and_copy_carry_tangents():
    x, v = tinyconv.tensor([1.0, 2.0, 3.0]), tinyconv.tensor([1.0, 10.0, 100.0])
    with fwAD.dual_level():
        d = fwAD.make_dual(x, v)
        y = d.clone()
        y.mul_(y)  # tangent 2 x v
        np.testing.assert_allclose(fwAD.unpack_dual(y).tangent.numpy(), [2.0, 40.0, 600.0])
        z = tinyconv.zeros(4)
        z[1:] = d  # tangent 0 where z kept its value
        np.testing.assert_allclose(fwAD.unpack_dual(z).tangent.numpy(), [0.0, 1.0, 10.0, 100.0])
        c = tinyconv.zeros(3)
        c.copy_(d)
        np.testing.assert_allclose(fwAD.unpack_dual(c).tangent.numpy(), v.numpy())
        c.fill_(2.0)
        np.testing.assert_allclose(fwAD.unpack_dual(c).tangent.numpy(), 0.0)
        assert fwAD.unpack_dual(d.argmax()).tangent is None  # (an integer result)


def test_dropout_tangent_uses_the_outputs_mask_and_draws_once():
    x = tinyconv.rand(50) + 1.0
    tinyconv.manual_seed(3)
    plain = F.dropout(x, 0.5)
    after_plain = tinyconv.rand(1)
    tinyconv.manual_seed(3)
    with fwAD.dual_level():
        out = F.dropout(fwAD.make_dual(x, tinyconv.ones(50)), 0.5)
        tangent = fwAD.unpack_dual(out).tangent
    np.testing.assert_array_equal(out.numpy(), plain.numpy())
    np.testing.assert_allclose(tangent.numpy(), (plain / x).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(tinyconv.rand(1).numpy(), after_plain.numpy())


class _Exp(tinyconv.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.result = x.exp()
        return ctx.result

    @staticmethod
    def jvp(ctx, g):
        return g * ctx.result


class _BadExp(_Exp):
    @staticmethod
    def jvp(ctx, g):
        return g * ctx.result * 1.5


def test_custom_function_jvp_and_gradcheck():
    x = tinyconv.randn(4, dtype=tinyconv.float64, requires_grad=True)
    v = tinyconv.randn(4, dtype=tinyconv.float64)
    with fwAD.dual_level():
        tangent = fwAD.unpack_dual(_Exp.apply(fwAD.make_dual(x, v))).tangent
    np.testing.assert_allclose(tangent.detach().numpy(), (v * x.exp()).detach().numpy())
    opts = dict(check_forward_ad=True, check_backward_ad=False, check_undefined_grad=False)
    assert tinyconv.autograd.gradcheck(_Exp.apply, (x,), **opts)
    assert tinyconv.autograd.gradcheck(_Exp.apply, (x,), fast_mode=True, **opts)
    with pytest.raises(tinyconv.autograd.GradcheckError, match="forward AD"):
        tinyconv.autograd.gradcheck(_BadExp.apply, (x,), **opts)
    assert not tinyconv.autograd.gradcheck(_BadExp.apply, (x,), raise_exception=False, **opts)

    class NoJvp(tinyconv.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with fwAD.dual_level(), pytest.raises(NotImplementedError, match="implement the jvp"):
        NoJvp.apply(fwAD.make_dual(x, v))


def test_gradcheck_forward_ad_of_builtin_ops():
    x = tinyconv.randn(2, 3, dtype=tinyconv.float64, requires_grad=True)
    w = tinyconv.randn(3, 3, dtype=tinyconv.float64, requires_grad=True)
    assert tinyconv.autograd.gradcheck(
        lambda a, b: (F.gelu(a @ b), a.sum()), (x, w), check_forward_ad=True
    )


def test_no_grad_propagates_inference_mode_does_not():
    with fwAD.dual_level():
        d = fwAD.make_dual(tinyconv.randn(3), tinyconv.ones(3))
        with tinyconv.no_grad():
            assert fwAD.unpack_dual(d * 2).tangent is not None
        with tinyconv.inference_mode():
            assert fwAD.unpack_dual(d * 2).tangent is None


def test_profiler_times_each_op_of_a_dual_input_once():
    from tinyconv.profiler import profile

    x = tinyconv.randn(3)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, tinyconv.ones(3))
        with profile() as prof:
            y = d.exp()
        tangent = fwAD.unpack_dual(y).tangent
    np.testing.assert_allclose(tangent.numpy(), y.numpy())
    # the op itself once, then its private run (tinyconv's way to get the tangent); the
    # profiler used to see the op's own run twice
    assert [e.count for e in prof.key_averages() if e.key == "aten::exp"] == [2]


def test_a_jvp_tangent_outside_the_graph_refuses_a_gradient_rather_than_guess():
    fwAD = tinyconv.autograd.forward_ad

    class Exp(tinyconv.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.result = x.exp()  # (kept on ctx: PyTorch's is the output object, in the graph)
            return ctx.result

        @staticmethod
        def backward(ctx, g):
            return g * ctx.result

        @staticmethod
        def jvp(ctx, t):
            return t * ctx.result

    p = tinyconv.tensor([0.5, 1.0], dtype=tinyconv.float64, requires_grad=True)
    with fwAD.dual_level():
        out = Exp.apply(fwAD.make_dual(p, tinyconv.tensor([1.0, 2.0], dtype=tinyconv.float64)))
        tangent = fwAD.unpack_dual(out).tangent
        assert tangent.requires_grad
        np.testing.assert_allclose(tangent.detach().numpy(), np.exp([0.5, 1.0]) * [1.0, 2.0])
        with pytest.raises(NotImplementedError, match="save_for_forward"):
            tangent.sum().backward()
