"""The autograd engine: accumulation, grad mode, graph walking, __setitem__, in-place rules,
user-defined Functions, and gradcheck itself."""

from __future__ import annotations

import gc
import itertools
import math
import warnings

import numpy as np
import pytest

import tinyconv as torch
from tinyconv.autograd import GradcheckError, gradcheck

# ---------------------------------------------------------------------------
# .grad accumulation
# ---------------------------------------------------------------------------


def test_grad_accumulates_across_backward_calls_until_zeroed():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    (x * x).sum().backward()
    assert x.grad.tolist() == [5.0, 7.0]  # 3 + 2x
    x.grad.zero_()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    x.grad = None
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_grad_is_a_plain_tensor_of_the_leafs_shape_and_dtype():
    x = torch.ones(2, 3, requires_grad=True)
    (x * torch.tensor(2.0, dtype=torch.float64)).sum().backward()
    assert isinstance(x.grad, torch.Tensor)
    assert x.grad.shape == (2, 3) and x.grad.dtype == torch.float32
    assert not x.grad.requires_grad and x.grad.grad_fn is None


def test_first_gradient_is_copied_not_aliased():
    x = torch.ones(3, requires_grad=True)
    seed = torch.tensor([1.0, 2.0, 3.0])
    x.backward(
        seed
    )  # a leaf's gradient is the seed itself; later accumulation must not write into it
    x.backward(seed)
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    assert seed.tolist() == [1.0, 2.0, 3.0]


def _shares(a, b) -> bool:
    return np.shares_memory(a.grad.numpy(), b if isinstance(b, np.ndarray) else b.grad.numpy())


def test_one_gradient_sent_to_two_leaves_becomes_two_separate_grads():
    # Add's backward sends the same array to both inputs: taking it as .grad without a copy
    # (the engine does so for unshared gradients) must not make the two .grad share memory
    a, c = torch.ones(2, 3, requires_grad=True), torch.ones(2, 3, requires_grad=True)
    (a + c).sum().backward()
    assert not _shares(a, c)
    a.grad += 1
    assert c.grad.tolist() == [[1.0] * 3] * 2
    # views of one gradient (cat's backward slices it), and the same leaf twice
    a, c = torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    (torch.cat([a, c]) * 2).sum().backward()
    assert not _shares(a, c)
    a.grad.zero_()
    assert c.grad.tolist() == [2.0] * 3
    (a + a).sum().backward()
    assert a.grad.tolist() == [2.0] * 3


def test_a_gradient_someone_else_holds_is_copied_into_grad():
    kept = []
    a = torch.ones(3, requires_grad=True)
    a.register_hook(lambda g: kept.append(g))
    (a * 2).sum().backward()
    assert not _shares(a, kept[0].numpy())
    seed = torch.tensor([1.0, 2.0, 3.0])
    b = torch.ones(3, requires_grad=True)
    b.view(3).backward(seed)  # the view's backward passes the user's array on
    b.grad.zero_()
    assert seed.tolist() == [1.0, 2.0, 3.0]
    w = torch.ones(2, 3, requires_grad=True)
    y = w * torch.tensor([1.0, 2.0, 3.0])
    y.backward(torch.ones(2, 3), retain_graph=True)
    first = w.grad.clone()
    y.backward(torch.ones(2, 3))  # a retained graph: its second pass adds into the first
    assert w.grad.tolist() == (2 * first).tolist()


def test_an_unshared_weight_gradient_becomes_grad_without_a_copy(monkeypatch):
    # (PyTorch's AccumulateGrad does the same: ~4% of a ResNet-18 step was this copy)
    from tinyconv.autograd import engine

    copied = []
    real = engine._grad_like
    monkeypatch.setattr(engine, "_grad_like", lambda g, d: copied.append(g.shape) or real(g, d))
    w = torch.randn(4, 3, 3, 3, requires_grad=True)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    torch.nn.functional.conv2d(x, w).square().sum().backward()
    assert (4, 3, 3, 3) not in copied
    assert w.grad.numpy().flags.c_contiguous and w.grad.numpy().flags.writeable
    expected = w.grad.clone()
    torch.nn.functional.conv2d(x, w).square().sum().backward()  # accumulates in place
    np.testing.assert_allclose(w.grad.numpy(), 2 * expected.numpy(), rtol=1e-6)


def test_backward_with_explicit_gradient_is_a_vector_jacobian_product():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(torch.tensor([1.0, 0.5, 0.0]))
    assert x.grad.tolist() == [2.0, 2.0, 0.0]
    z = torch.tensor([1.0, 2.0], requires_grad=True)
    (z * 2).backward(np.array([1.0, 1.0]))  # an ndarray works too
    assert z.grad.tolist() == [2.0, 2.0]


def test_only_leaves_that_require_grad_get_grad():
    x = torch.tensor([1.0], requires_grad=True)
    c = torch.tensor([2.0])
    y = x * c
    (y * 3).sum().backward()
    assert x.grad.tolist() == [6.0]
    assert c.grad is None
    with pytest.warns(
        UserWarning, match=r"Reading \.grad of a tensor that is not a leaf.*retain_grad"
    ):
        assert (
            y.grad is None
        )  # non-leaves keep no .grad unless retain_grad(), and say so (as PyTorch)
    y2 = x * c
    y2.retain_grad()
    (y2 * 3).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y2.grad.tolist() == [3.0] and x.grad.tolist() == [12.0] and c.grad is None


def test_unused_branch_gets_no_gradient():
    x = torch.tensor([1.0], requires_grad=True)
    w = torch.tensor([1.0], requires_grad=True)
    _unused = w * 5
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0] and w.grad is None


# ---------------------------------------------------------------------------
# grad mode
# ---------------------------------------------------------------------------


def test_no_grad_context_manager():
    x = torch.tensor([1.0], requires_grad=True)
    assert torch.is_grad_enabled()
    with torch.no_grad():
        assert not torch.is_grad_enabled()
        y = x * 2
    assert torch.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(ValueError, match="boom"), torch.no_grad():
        raise ValueError("boom")
    assert torch.is_grad_enabled()


def test_no_grad_as_decorator_with_and_without_parentheses():
    x = torch.tensor([1.0], requires_grad=True)

    @torch.no_grad()
    def f(t):
        assert not torch.is_grad_enabled()
        return t * 2

    @torch.no_grad
    def g(t):
        return t * 2

    assert not f(x).requires_grad and not g(x).requires_grad
    assert f.__name__ == "f" and g.__name__ == "g"
    assert torch.is_grad_enabled()
    assert f(x).requires_grad is False  # reusable: each call enters a fresh context


def test_enable_grad_inside_no_grad():
    x = torch.tensor([1.0], requires_grad=True)

    @torch.enable_grad()
    def tracked(t):
        return t * 2

    with torch.no_grad():
        with torch.enable_grad():
            assert torch.is_grad_enabled()
            y = x * 2
        assert not torch.is_grad_enabled()
        z = tracked(x)
        assert not torch.is_grad_enabled()
    assert y.requires_grad and z.requires_grad
    (y + z).sum().backward()
    assert x.grad.tolist() == [4.0]


def test_set_grad_enabled_function_and_context():
    try:
        torch.set_grad_enabled(False)
        assert not torch.is_grad_enabled()
    finally:
        torch.set_grad_enabled(True)
    assert torch.is_grad_enabled()
    with torch.set_grad_enabled(False):
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x.detach() * x).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0]  # d/dx (c * x) with c = x held constant
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None


def test_requires_grad_propagates():
    a = torch.tensor([1.0], requires_grad=True)
    b = torch.tensor([1.0])
    assert (a + b).requires_grad and (b + a).requires_grad
    assert not (b + b).requires_grad
    assert (a > 0).requires_grad is False


def test_requires_grad_on_int_or_bool_tensors_is_an_error():
    with pytest.raises(RuntimeError, match="floating point.*int64"):
        torch.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point.*bool"):
        torch.tensor([True]).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        torch.zeros(2, dtype=torch.int32, requires_grad=True)
    t = torch.arange(3)
    with pytest.raises(RuntimeError, match="floating point"):
        t.requires_grad = True
    assert not t.requires_grad


# ---------------------------------------------------------------------------
# backward errors
# ---------------------------------------------------------------------------


def test_non_scalar_backward_needs_gradient():
    y = torch.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"scalar.*\(2, 3\)"):
        y.backward()


def test_gradient_of_wrong_shape():
    y = torch.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"\(3, 2\).*\(2, 3\)"):
        y.backward(torch.ones(3, 2))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (torch.ones(2) * 2).sum().backward()


def test_second_backward_without_retain_graph_errors_clearly():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        loss.backward()


def test_retain_graph_allows_a_second_backward():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).exp().sum()
    loss.backward(retain_graph=True)
    first = x.grad.clone()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first.numpy())


def test_retain_grad_keeps_non_leaf_grads():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    assert h.retains_grad
    other = x * 4
    (h * h + other).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0]  # 2h
    with pytest.warns(UserWarning, match="not a leaf"):
        assert other.grad is None
    assert x.grad.tolist() == [22.0, 40.0]  # 18x + 4


# ---------------------------------------------------------------------------
# graph walking: long chains, diamonds
# ---------------------------------------------------------------------------


def test_chain_of_100000_nodes():
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    c = 1.00001
    y = x
    for _ in range(100_000):
        y = y * c
    y.backward()  # an iterative topological sort: no RecursionError
    assert x.grad.item() == pytest.approx(c**100_000, rel=1e-10)
    assert repr(y).endswith("grad_fn=<MulBackward0>)")
    del y
    gc.collect()  # freeing the chain must not overflow the stack either


class Counted(torch.autograd.Function):
    """Identity that counts how often its backward runs."""

    calls = 0

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        Counted.calls += 1
        return grad


def test_diamond_gradients_are_summed_before_propagating():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    Counted.calls = 0
    y = Counted.apply(x)
    z = y * 2 + y * y + y.exp()  # three paths from z back to y
    z.sum().backward()
    assert Counted.calls == 1  # y's node ran once, with the sum of its three gradients
    np.testing.assert_allclose(
        x.grad.numpy(), 2 + 2 * x.detach().numpy() + np.exp(x.detach().numpy()), rtol=1e-6
    )


def test_deep_diamond_ladder():
    # each rung doubles the number of paths: 2^50 paths, but each node is visited once
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(50):
        y = y * 0.5 + y * 0.5
    y.backward()
    assert x.grad.item() == 1.0


def test_same_tensor_twice_in_one_op():
    x = torch.tensor([3.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.tolist() == [6.0]
    x.grad = None
    (x + x + x).sum().backward()
    assert x.grad.tolist() == [3.0]


# ---------------------------------------------------------------------------
# __setitem__ with autograd: the textbook corr2d loop
# ---------------------------------------------------------------------------


def corr2d(X, K):
    """The textbook (d2l) 2-D cross-correlation, exactly as written there."""
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


def test_setitem_loop_forward_and_gradient():
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]], requires_grad=True)
    Y = corr2d(X, K)
    assert Y.tolist() == [[19.0, 25.0], [37.0, 43.0]]
    assert Y.requires_grad and Y.grad_fn.name() == "CopySlices"
    Y.sum().backward()
    # dY[i,j]/dK[a,b] = X[i+a, j+b], summed over (i, j)
    assert K.grad.tolist() == [[8.0, 12.0], [20.0, 24.0]]


def test_setitem_loop_trains_the_kernel():
    # d2l's edge-detection example: learn K = [[1, -1]] from X and Y = corr2d(X, K)
    X = torch.ones((6, 8))
    X[:, 2:6] = 0
    Y = corr2d(X, torch.tensor([[1.0, -1.0]]))
    torch.manual_seed(0)
    K = torch.randn((1, 2), requires_grad=True)
    losses = []
    for _ in range(30):
        loss = ((corr2d(X, K) - Y) ** 2).sum()
        loss.backward()
        with torch.no_grad():
            K -= 3e-2 * K.grad
        K.grad.zero_()
        losses.append(loss.item())
    assert losses[-1] < 1e-3 * losses[0]
    np.testing.assert_allclose(K.detach().numpy(), [[1.0, -1.0]], atol=0.02)
    assert K.is_leaf and K.requires_grad


def test_setitem_loop_gradcheck_with_old_value():
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.standard_normal((4, 4)), requires_grad=True)
    K = torch.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    Y0 = torch.tensor(rng.standard_normal((3, 3)), requires_grad=True)

    def fn(X, K, Y0):
        Y = Y0 * 1.0  # an old value that requires grad, partly overwritten
        for i in range(3):
            for j in range(2):
                Y[i, j] = (X[i : i + 2, j : j + 3] * K).sum()
        return Y

    assert gradcheck(fn, (X, K, Y0), atol=1e-6, rtol=1e-6)
    fn(X, K, Y0).sum().backward()
    # the overwritten region of the old value gets zero gradient, the rest passes through
    assert Y0.grad.tolist() == [[0.0, 0.0, 1.0]] * 3


def test_setitem_value_broadcasts_and_gets_summed_gradient():
    v = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.zeros(3, 2)
    y[1:] = v * 3  # (2,) broadcast into (2, 2)
    (y * torch.tensor([[1.0, 1.0], [1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert v.grad.tolist() == [12.0, 18.0]


def test_setitem_later_overwrite_takes_the_gradient_away():
    a = torch.tensor(1.0, requires_grad=True)
    b = torch.tensor(2.0, requires_grad=True)
    y = torch.zeros(2)
    y[0] = a * 1
    y[0] = b * 1  # overwrites a's contribution
    y.sum().backward()
    assert a.grad is None or a.grad.item() == 0.0
    assert b.grad.item() == 1.0


def corr2d_chained(X, K):
    """The same loop as a beginner often writes it: Y[i][j] (a write through the view Y[i])."""
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1), dtype=X.dtype)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i][j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


def test_setitem_through_a_view_reaches_the_base():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    v = torch.tensor(10.0, requires_grad=True)
    y = x * 1
    y[0][1] = v  # y[0] is a view of y: the write must show up in y's graph, as in PyTorch
    assert y.tolist() == [[1.0, 10.0], [3.0, 4.0]]
    assert y.grad_fn.name() == "CopySlices"
    y.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0], [1.0, 1.0]]
    assert v.grad.item() == 1.0


def test_chained_index_loop_matches_the_tuple_index_loop():
    rng = np.random.default_rng(1)
    X = torch.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    K = torch.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    Y = corr2d_chained(X, K)
    assert Y.requires_grad
    np.testing.assert_allclose(
        Y.detach().numpy(), corr2d(X.detach(), K.detach().double()).numpy(), rtol=1e-6
    )
    assert gradcheck(corr2d_chained, (X, K), atol=1e-6, rtol=1e-6)


def test_writing_rows_while_iterating():
    v = torch.tensor([1.0, 2.0], requires_grad=True)
    Y = torch.zeros(3, 2)
    for k, row in enumerate(Y):
        row[:] = v * k
    assert Y.tolist() == [[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]]
    Y.sum().backward()
    assert v.grad.tolist() == [3.0, 3.0]


def test_inplace_ops_through_views_gradcheck():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    v = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)

    def fn(x, v):
        y = x * 1
        y[1] += v  # y.__getitem__(1).__iadd__(v), then y.__setitem__(1, ...)
        y[1].mul_(v)  # in place on the view itself
        r = y[0]
        y[0, 0] = v * 3  # the base changes after the view r was taken...
        r[1] = r[0] * 2  # ...and r sees the new value
        y[:, 1].zero_()  # a zeroed column: zero gradient through it
        y[1][0].clamp_(max=4.0)
        return y

    out = fn(x, v)
    assert out.tolist() == [[4.5, 0.0], [4.0, 0.0]]
    assert gradcheck(fn, (x, v), atol=1e-6, rtol=1e-6)


def test_view_of_a_leaf_requiring_grad_cannot_be_written_in_place():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf.*requires grad"):
        x[0][1] = 5.0
    with pytest.raises(RuntimeError, match="view of a leaf.*requires grad"):
        x[1].add_(1.0)
    with pytest.raises(RuntimeError, match="view of a leaf.*requires grad"):
        x[0].zero_()
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    with torch.no_grad():
        x[0][1] = 5.0
        for row in x:
            row *= 2
    assert x.tolist() == [[2.0, 10.0], [6.0, 8.0]] and x.is_leaf and x.requires_grad


# ---------------------------------------------------------------------------
# in-place operations
# ---------------------------------------------------------------------------

INPLACE = {
    "+=": lambda t: t.__iadd__(1.0),
    "-=": lambda t: t.__isub__(1.0),
    "*=": lambda t: t.__imul__(2.0),
    "/=": lambda t: t.__itruediv__(2.0),
    "fill_": lambda t: t.fill_(7.0),
    "zero_": lambda t: t.zero_(),
    "copy_": lambda t: t.copy_(torch.tensor([5.0, 6.0])),
    "add_": lambda t: t.add_(torch.ones(2), alpha=2),
    "sub_": lambda t: t.sub_(1.0),
    "mul_": lambda t: t.mul_(3.0),
    "div_": lambda t: t.div_(2.0),
    "setitem": lambda t: t.__setitem__(0, 9.0),
}
EXPECTED = {  # starting from [1, 2]
    "+=": [2.0, 3.0],
    "-=": [0.0, 1.0],
    "*=": [2.0, 4.0],
    "/=": [0.5, 1.0],
    "fill_": [7.0, 7.0],
    "zero_": [0.0, 0.0],
    "copy_": [5.0, 6.0],
    "add_": [3.0, 4.0],
    "sub_": [0.0, 1.0],
    "mul_": [3.0, 6.0],
    "div_": [0.5, 1.0],
    "setitem": [9.0, 2.0],
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_on_leaf_requiring_grad_raises(name):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf.*requires grad.*in-place"):
        INPLACE[name](x)
    assert x.tolist() == [1.0, 2.0]  # nothing was written
    assert x.is_leaf and x.grad_fn is None


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_under_no_grad_updates_the_leaf(name):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with torch.no_grad():
        out = INPLACE[name](x)
    assert x.tolist() == EXPECTED[name]
    assert out is None or out is x
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_on_data_updates_the_leaf(name):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    INPLACE[name](x.data)
    assert x.tolist() == EXPECTED[name]
    assert x.is_leaf and x.requires_grad and x.grad_fn is None


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_on_plain_tensor(name):
    x = torch.tensor([1.0, 2.0])
    INPLACE[name](x)
    assert x.tolist() == EXPECTED[name]
    assert not x.requires_grad


def test_inplace_on_non_leaf_is_tracked():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1
    b += 1
    b *= 3
    b.sub_(a)  # b = 3(a + 1) - a
    assert b.tolist() == [5.0, 7.0]
    b.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0]


def test_inplace_mul_div_on_non_leaf_use_the_values_from_before_the_write():
    a = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)

    def fn(a):
        h = a * 2
        h *= a  # MulBackward0 needs the old h for a's gradient
        h /= a + 1  # DivBackward0 needs the old h too
        h.add_(a, alpha=3)
        return h

    out = fn(a)
    np.testing.assert_allclose(out.detach().numpy(), [1.0 + 3.0, 8.0 / 3.0 + 6.0])
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1.5 + 3.0, 16.0 / 9.0 + 3.0])
    assert gradcheck(fn, (a,), atol=1e-6, rtol=1e-6)


def test_inplace_with_a_value_requiring_grad_makes_the_target_require_grad():
    w = torch.tensor([2.0, 3.0], requires_grad=True)
    y = torch.ones(2)
    y *= w
    y += w
    assert y.requires_grad and not y.is_leaf
    y.sum().backward()
    assert w.grad.tolist() == [2.0, 2.0]


def test_modifying_a_saved_tensor_is_caught_at_backward():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1
    c = b * b  # saves b
    b += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        c.sum().backward()


def test_modifying_a_saved_tensor_through_a_view_is_caught():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = a.exp()  # saves its output b
    with torch.no_grad():
        b[0] = 0.0  # writes through a basic-index view: shares b's version counter
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


def test_optimizer_style_update_loop():
    torch.manual_seed(0)
    w = torch.randn(3, requires_grad=True)
    target = torch.tensor([1.0, -2.0, 0.5])
    for _ in range(200):
        loss = ((w - target) ** 2).sum()
        loss.backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
            w.grad.zero_()
    np.testing.assert_allclose(w.detach().numpy(), target.numpy(), atol=1e-5)


# ---------------------------------------------------------------------------
# user-defined Functions, the PyTorch way
# ---------------------------------------------------------------------------


class LegendrePolynomial3(torch.autograd.Function):
    """PyTorch's "Defining new autograd functions" tutorial, unchanged."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input**3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input**2 - 1)


def test_user_function_forward_backward_and_gradcheck():
    x = torch.tensor([-0.5, 0.25, 1.0], dtype=torch.float64, requires_grad=True)
    y = LegendrePolynomial3.apply(x)
    assert y.grad_fn is not None and y.grad_fn.name() == "LegendrePolynomial3Backward"
    xs = x.detach().numpy()
    np.testing.assert_allclose(y.detach().numpy(), 0.5 * (5 * xs**3 - 3 * xs))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1.5 * (5 * xs**2 - 1))
    assert gradcheck(LegendrePolynomial3.apply, (x,), atol=1e-6, rtol=1e-6)


def _tutorial_reference(steps: int, lr: float) -> tuple:
    """The tutorial's training loop with hand-derived gradients, in float64 NumPy."""
    x = np.linspace(-math.pi, math.pi, 2000)
    y = np.sin(x)
    a, b, c, d = 0.0, -1.0, 0.0, 0.3
    for _ in range(steps):
        z = c + d * x
        p3 = 0.5 * (5 * z**3 - 3 * z)
        g = 2 * (a + b * p3 - y)
        gz = g * b * 1.5 * (5 * z**2 - 1)
        a, b, c, d = (
            a - lr * g.sum(),
            b - lr * (g * p3).sum(),
            c - lr * gz.sum(),
            d - lr * (gz * x).sum(),
        )
    return a, b, c, d


def test_user_function_tutorial_training_loop():
    # the tutorial fits y = sin(x) with a + b P3(c + d x), code as written there
    dtype = torch.float
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = torch.sin(x)
    a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    losses = []
    for _ in range(300):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= learning_rate * p.grad
                p.grad = None
    assert all(later < earlier for earlier, later in itertools.pairwise(losses))
    expected = _tutorial_reference(300, learning_rate)
    np.testing.assert_allclose([p.item() for p in (a, b, c, d)], expected, rtol=1e-3, atol=1e-4)


class ScaledMul(torch.autograd.Function):
    """Two tensor inputs and a non-tensor argument; needs_input_grad skips unneeded work."""

    @staticmethod
    def forward(ctx, a, b, scale):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return a * b * scale

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = grad * b * ctx.scale if ctx.needs_input_grad[0] else None
        gb = grad * a * ctx.scale if ctx.needs_input_grad[1] else None
        return ga, gb, None


def test_user_function_with_several_inputs():
    a = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([3.0, -1.0], dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda x, y: ScaledMul.apply(x, y, 2.5), (a, b), atol=1e-6, rtol=1e-6)
    c = torch.tensor(
        [3.0, -1.0], dtype=torch.float64
    )  # no grad: backward gets needs_input_grad[1] False
    ScaledMul.apply(a, c, 2.0).sum().backward()
    assert c.grad is None
    assert a.grad.tolist() == [6.0, -2.0]


def _function_with_backward(bw):
    class Product(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, grad):
            return bw(grad)

    return Product


def test_user_function_broadcast_gradient_is_summed_and_cast_like_pytorch():
    x = torch.ones(2, 3, requires_grad=True)
    y = torch.ones(3, requires_grad=True)
    # a gradient in the output's (broadcast) shape and in float64: reduced and cast to y's
    _function_with_backward(lambda g: (g, (g * 2).double())).apply(x, y).sum().backward()
    assert y.grad.shape == (3,) and y.grad.dtype == torch.float32
    assert y.grad.tolist() == [4.0, 4.0, 4.0]
    assert x.grad.tolist() == [[1.0] * 3] * 2


def test_user_function_second_backward_errors():
    x = torch.tensor([0.5], requires_grad=True)
    y = LegendrePolynomial3.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.sum().backward()


def test_user_function_forward_runs_without_recording():
    class Peek(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            Peek.inner = (torch.is_grad_enabled(), x.requires_grad)
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    x = torch.tensor([1.0], requires_grad=True)
    y = Peek.apply(x)
    # forward sees the inputs themselves (requires_grad True) with recording off, as PyTorch
    assert Peek.inner == (False, True)
    assert y.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [2.0]


# ---------------------------------------------------------------------------
# gradcheck itself
# ---------------------------------------------------------------------------


class WrongSquare(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x  # should be 2 x


def test_gradcheck_passes_on_correct_ops():
    x = torch.tensor([[0.3, -1.2], [2.0, 0.7]], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([[1.5], [-0.5]], dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda a, b: (a @ b).tanh() * a.exp(), (x, w))
    assert gradcheck(lambda a, b: (a @ b).tanh() * a.exp(), (x, w), fast_mode=True)
    assert x.grad is None and w.grad is None  # gradcheck leaves .grad as it found it


def test_gradcheck_catches_a_wrong_backward_and_names_input_and_values():
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(
        GradcheckError, match=r"input 0.*element \(2,\).*numerical 6\.0\d*.*analytical 3\.0"
    ) as info:
        gradcheck(WrongSquare.apply, (x,))
    assert isinstance(info.value, RuntimeError)
    assert "np." not in str(info.value)  # plain numbers, not NumPy reprs


def test_gradcheck_names_the_right_input():
    a = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(lambda x, y: x + WrongSquare.apply(y), (a, b))


def test_gradcheck_returns_false_when_asked():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    assert gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False
    assert gradcheck(WrongSquare.apply, (x,), raise_exception=False, fast_mode=True) is False
    with pytest.raises(GradcheckError, match="fast mode.*input 0"):
        gradcheck(WrongSquare.apply, (x,), fast_mode=True)


def test_gradcheck_warns_on_float32_and_rejects_inputs_without_grad():
    # float32: PyTorch's warning, then the check runs (a loose tolerance can pass it)
    with pytest.warns(UserWarning, match="not a double precision"):
        assert gradcheck(lambda t: t * 2, (torch.ones(2, requires_grad=True),), eps=1e-2)
    with pytest.raises(ValueError, match="requires grad"):
        gradcheck(lambda t: t * 2, (torch.ones(2, dtype=torch.float64),))


def test_gradcheck_accepts_a_single_tensor_and_non_tensor_arguments():
    x = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda t: t.sin(), x)
    assert gradcheck(lambda t, k: t**k, (x, 3))


def test_gradcheck_restores_inputs():
    arr = np.array([0.25, -1.0, 2.0])
    x = torch.tensor(arr, requires_grad=True)
    gradcheck(lambda t: t.exp(), (x,))
    np.testing.assert_array_equal(x.detach().numpy(), arr)


def test_non_leaf_grad_warning_matches_pytorch():
    """Reading .grad of a non-leaf warns (UserWarning) exactly when PyTorch does: not for leaves,
    not for tensors that need no grad, not after retain_grad()."""
    torch_ = pytest.importorskip("torch")
    cases = {
        "leaf": lambda m: m.ones(2, requires_grad=True),
        "constant": lambda m: m.ones(2) * 2,
        "non-leaf": lambda m: m.ones(2, requires_grad=True) * 2,
        "retained": lambda m: _retained(m.ones(2, requires_grad=True) * 2),
        "conv": lambda m: m.nn.functional.conv2d(
            m.ones(1, 1, 3, 3, requires_grad=True), m.ones(1, 1, 2, 2)
        ),
    }
    for name, make in cases.items():
        warned = []
        for m in (torch_, torch):
            t = make(m)
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                assert t.grad is None
            warned.append([str(x.category.__name__) for x in w])
        assert warned[0] == warned[1], (name, warned)
        if name == "non-leaf":
            assert warned[1] == ["UserWarning"]


def _retained(t):
    t.retain_grad()
    return t


def test_conv_next_functions_are_input_weight_bias_as_pytorch():
    torch_ = pytest.importorskip("torch")
    for m in (torch_, torch):
        x = m.ones(1, 1, 4, 4, requires_grad=True)
        w = m.ones(1, 1, 2, 2, requires_grad=True)
        y = m.nn.functional.conv2d(x, w, None, stride=2)
        z = m.nn.functional.conv_transpose2d(x, w, m.ones(1, requires_grad=True), stride=2)
        kinds = [
            [type(f).__name__ if f is not None else None for f, _ in t.grad_fn.next_functions]
            for t in (y, z)
        ]
        assert kinds == [["AccumulateGrad", "AccumulateGrad", None], ["AccumulateGrad"] * 3], (
            m.__name__,
            kinds,
        )
