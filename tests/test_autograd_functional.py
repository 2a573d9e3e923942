"""tinyconv.autograd.functional: vjp, jvp, jacobian, hessian, hvp, vhp.

Checked against finite differences (no PyTorch needed) and against
torch.autograd.functional where PyTorch is installed."""

import numpy as np
import pytest

import tinyconv as tc
from tinyconv.autograd import functional as AF

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 2))
B = RNG.standard_normal(2)
V = RNG.standard_normal((3, 2))


def scalar_f(m, a, b):
    """A scalar function of two inputs, from ops with a double backward."""
    return (a * a * a * b - a * b + b * b).sum()


def vector_f(m, a, b):
    """Two outputs: (3, 2) and (2,)."""
    return a * a * b, (a * b).sum(0)


def _t(x, m=tc):
    return m.tensor(x, dtype=m.float64)


def _numeric_jacobian(fn, x, eps=1e-6):
    """d fn(x) / dx by central differences, shape out.shape + x.shape."""
    cols = []
    for k in range(x.size):
        d = np.zeros(x.size)
        d[k] = eps
        d = d.reshape(x.shape)
        cols.append((fn(x + d) - fn(x - d)) / (2 * eps))
    out_shape = np.shape(cols[0])
    return np.stack(cols, -1).reshape(out_shape + x.shape)


def test_jacobian_matches_finite_differences():
    def out0(a):
        return (_t(a) * _t(a) * _t(B)).numpy()

    jac = AF.jacobian(lambda a, b: vector_f(tc, a, b), (_t(A), _t(B)))
    assert isinstance(jac, tuple) and len(jac) == 2 and len(jac[0]) == 2
    assert jac[0][0].shape == (3, 2, 3, 2) and jac[1][1].shape == (2, 2)
    np.testing.assert_allclose(jac[0][0].numpy(), _numeric_jacobian(out0, A), atol=1e-7)
    single = AF.jacobian(lambda a: a * a, _t(B))
    np.testing.assert_allclose(single.numpy(), np.diag(2 * B))


def test_hessian_matches_finite_differences_of_the_gradient():
    def grad_a(a):
        x = _t(a).requires_grad_()
        scalar_f(tc, x, _t(B)).backward()
        return x.grad.numpy()

    h = AF.hessian(lambda a: scalar_f(tc, a, _t(B)), _t(A))
    assert h.shape == (3, 2, 3, 2)
    np.testing.assert_allclose(h.numpy(), _numeric_jacobian(grad_a, A), atol=1e-6)
    hv_out, hv = AF.hvp(lambda a: scalar_f(tc, a, _t(B)), _t(A), _t(V))
    np.testing.assert_allclose(hv.numpy(), np.tensordot(h.numpy(), V, 2), atol=1e-12)
    _, vh = AF.vhp(lambda a: scalar_f(tc, a, _t(B)), _t(A), _t(V))
    np.testing.assert_allclose(vh.numpy(), hv.numpy(), atol=1e-12)
    assert hv_out.item() == pytest.approx(scalar_f(tc, _t(A), _t(B)).item())


def test_vjp_and_jvp_are_the_two_products_with_the_jacobian():
    jac = AF.jacobian(lambda a: a * a * _t(B), _t(A)).numpy()
    _, vj = AF.vjp(lambda a: a * a * _t(B), _t(A), _t(V))
    np.testing.assert_allclose(vj.numpy(), np.tensordot(V, jac, 2), atol=1e-12)
    _, jv = AF.jvp(lambda a: a * a * _t(B), _t(A), _t(V))
    np.testing.assert_allclose(jv.numpy(), np.tensordot(jac, V, 2), atol=1e-12)


def test_create_graph_keeps_results_differentiable():
    a = _t(A).requires_grad_()
    _, vj = AF.vjp(lambda x: (x * x).sum(), a, create_graph=True)
    assert vj.requires_grad
    vj.sum().backward()  # d/da sum(2a) = 2
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 2), 2.0))
    _, vj = AF.vjp(lambda x: (x * x).sum(), a)
    assert not vj.requires_grad


def test_errors_and_unused_inputs():
    with pytest.raises(RuntimeError, match="v can only be None"):
        AF.vjp(lambda a: a * a, _t(B))
    with pytest.raises(RuntimeError, match="shape"):
        AF.vjp(lambda a: a * a, _t(B), _t(A))
    with pytest.raises(RuntimeError, match="single Tensor with one"):
        AF.hessian(lambda a: a * a, _t(B))
    with pytest.raises(TypeError, match="Tensor"):
        AF.jacobian(lambda a: a, [1.0])
    zeros = AF.jacobian(lambda a, b: a * 2, (_t(B), _t(B)))
    np.testing.assert_array_equal(zeros[1].numpy(), np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(lambda a, b: a * 2, (_t(B), _t(B)), strict=True)
    with pytest.raises(NotImplementedError, match="forward-mode"):
        AF.jacobian(lambda a: a, _t(B), strategy="forward-mode")


@pytest.mark.torch
@pytest.mark.parametrize("name", ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"])
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    import torch.autograd.functional as TF

    results = []
    for m, F in ((tc, AF), (torch, TF)):
        a, b, v = _t(A, m), _t(B, m), _t(V, m)
        if name == "jacobian":
            r = F.jacobian(lambda x, y, m=m: vector_f(m, x, y), (a, b))
        elif name == "hessian":
            r = F.hessian(lambda x, y, m=m: scalar_f(m, x, y), (a, b))
        elif name in ("hvp", "vhp"):
            r = getattr(F, name)(lambda x, y, m=m: scalar_f(m, x, y), (a, b), (v, b * 3))
        elif name == "vjp":
            r = F.vjp(lambda x, y, m=m: vector_f(m, x, y), (a, b), (v, b))
        else:
            r = F.jvp(lambda x, y, m=m: vector_f(m, x, y), (a, b), (v, b))
        results.append(r)

    def flat(r):
        if isinstance(r, (tuple, list)):
            return [z for item in r for z in flat(item)]
        return [np.asarray(r.detach().numpy())]

    ours, theirs = flat(results[0]), flat(results[1])
    assert len(ours) == len(theirs)
    for x, y in zip(ours, theirs, strict=True):
        assert x.shape == y.shape
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
