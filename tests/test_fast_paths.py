"""The overhead fast paths give exactly what the general paths give.

- the engine walks the chain at the top of a graph without sorting it, then sorts the rest;
- conv2d remembers checked arguments per call signature (and still rejects bad ones);
- binary ops with nothing to record, and untracked in-place updates (`w -= lr * w.grad`
  under no_grad), call the op's ufunc directly;
- reductions write small gradients out and keep big ones as broadcast views.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv as torch
from tinyconv.autograd import engine, ops
from tinyconv.nn import functional as F
from tinyconv.nn.functional import conv as conv_module

f64 = torch.float64


def leaf(values, **kw):
    return torch.tensor(np.asarray(values, dtype=np.float64), requires_grad=True, **kw)


# -- engine: chain first, then a topological sort of what hangs below ------------------------


def test_chain_then_branches_gives_the_right_gradients():
    x = leaf([1.0, 2.0, 3.0])
    h = x * 2  # a non-leaf used twice below: the branching part
    loss = ((h * h + h.exp()).sum() * 3).sin()  # sin <- mul <- sum <- add: a chain on top
    loss.backward()
    hv = 2 * np.array([1.0, 2.0, 3.0])
    s = (hv * hv + np.exp(hv)).sum()
    expected = np.cos(3 * s) * 3 * (2 * hv + np.exp(hv)) * 2
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_chain_whose_node_uses_one_input_twice():
    x = leaf([0.5, -1.5])
    h = x + 1  # a chain: sum <- mul(h, h) <- add; mul's two edges are the same node
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.array([0.5, -1.5]) + 1))


def test_chain_that_ends_where_no_gradient_flows():
    x = leaf([1.0, 2.0])
    c = torch.tensor([3.0, 4.0], dtype=f64)  # needs no gradient
    (x.detach() * c + x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    assert c.grad is None


def test_retained_gradients_on_the_chain_and_below():
    x = leaf([1.0, 2.0])
    a = x * 3
    b = a + a  # branches below b
    c = b.sum()
    a.retain_grad()
    b.retain_grad()
    c.backward()
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


def test_chain_and_sorted_paths_call_observers_once_per_node():
    x = leaf([1.0, 2.0])
    h = x * 2
    loss = -(h * h).sum()
    seen = []
    engine.observers.append(lambda node, g, gs: seen.append(type(node).__qualname__))
    try:
        loss.backward()
    finally:
        engine.observers.pop()
    assert seen == ["Neg", "Sum", "Mul", "Mul"]


# -- conv2d: checked arguments remembered per call signature ---------------------------------


def conv_args():
    x = torch.ones(1, 2, 5, 5)
    w = torch.ones(3, 2, 3, 3)
    return x, w, torch.zeros(3)


@pytest.mark.parametrize(
    "bad",
    [
        {"stride": True},
        {"stride": 1.0},
        {"stride": (1.0, 1.0)},
        {"padding": True},
        {"padding": 1.0},
        {"dilation": True},
        {"groups": True},
        {"groups": 1.0},
    ],
)
def test_a_remembered_signature_does_not_let_equal_comparing_bad_options_in(bad):
    # True == 1 and 1.0 == 1 in Python (and hash alike), but they are errors as options
    x, w, b = conv_args()
    ((name, value),) = bad.items()
    good = {"stride": 1, "padding": 1, "dilation": 1, "groups": 1}[name]
    good = (good, good) if isinstance(value, tuple) else good
    F.conv2d(x, w, b, **{name: good})  # checked and remembered
    F.conv2d(x, w, b, **{name: good})
    with pytest.raises((TypeError, ValueError)):
        F.conv2d(x, w, b, **bad)


def test_a_remembered_signature_still_checks_what_differs():
    x, w, b = conv_args()
    F.conv2d(x, w, b, stride=2, padding=1)
    with pytest.raises(ValueError, match="channels"):
        F.conv2d(torch.ones(1, 3, 5, 5), w, b, stride=2, padding=1)
    with pytest.raises(ValueError, match="bias"):
        F.conv2d(x, w, torch.zeros(2), stride=2, padding=1)
    with pytest.raises(TypeError, match="dtype"):
        F.conv2d(x.double(), w, b, stride=2, padding=1)
    with pytest.raises(TypeError, match="Tensor"):
        F.conv2d(x.numpy(), w, b, stride=2, padding=1)


def test_remembered_signatures_give_the_same_results_as_fresh_checks():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((2, 5, 5)))  # unbatched
    w = torch.tensor(rng.standard_normal((4, 1, 3, 3)))
    first = F.conv2d(x, w, None, 2, 1, 1, 2)
    conv_module._conv2d_checked.clear()
    again = F.conv2d(x, w, None, 2, 1, 1, 2)
    cached = F.conv2d(x, w, None, 2, 1, 1, 2)
    assert first.shape == (4, 3, 3)
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    np.testing.assert_array_equal(first.numpy(), cached.numpy())


# -- binary ops with nothing to record run their ufunc directly ---------------------------------


BINARY = {
    "a + b": lambda a, b: a + b,
    "a - b": lambda a, b: a - b,
    "a * b": lambda a, b: a * b,
    "a / b": lambda a, b: a / b,
    "2 - a": lambda a, b: 2 - a,
    "2 / a": lambda a, b: 2 / a,
    "a * 0.5": lambda a, b: a * 0.5,
    "1.5 + a": lambda a, b: 1.5 + a,
    "b - a": lambda a, b: b - a,
    "a / 3": lambda a, b: a / 3,
}


@pytest.mark.parametrize("expr", list(BINARY))
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((), ())])
def test_unrecorded_binary_ops_match_recorded_ones(expr, shapes):
    f = BINARY[expr]
    rng = np.random.default_rng(2)
    a0 = rng.uniform(1, 2, shapes[0]).astype(np.float32)
    b0 = rng.uniform(1, 2, shapes[1]).astype(np.float32)
    a, b = torch.tensor(a0, requires_grad=True), torch.tensor(b0)
    recorded = f(a, b)
    assert recorded.grad_fn is not None
    with torch.no_grad():
        plain = f(a, b)
    a.requires_grad_(False)
    plain2 = f(a, b)  # grad mode on, but no input needs a gradient
    for out in (plain, plain2):
        assert out.grad_fn is None and not out.requires_grad
        assert out.shape == recorded.shape and out.dtype == recorded.dtype
        np.testing.assert_array_equal(out.numpy(), recorded.detach().numpy())


def test_unrecorded_binary_ops_keep_pytorch_promotion():
    i = torch.tensor([1, 2, 3])
    assert (i / 2).dtype == torch.float32  # true division of integers
    assert (i * 1.5).dtype == torch.float32
    assert (i + torch.tensor([1.0], dtype=f64)).dtype == f64
    assert (torch.tensor([True]) + 1).dtype == torch.int64


# -- untracked in-place updates -----------------------------------------------------------------


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/="])
@pytest.mark.parametrize("other", ["tensor", "float", "int"])
def test_untracked_inplace_matches_the_out_of_place_result(op, other):
    rng = np.random.default_rng(1)
    w = torch.tensor(rng.standard_normal(5).astype(np.float32), requires_grad=True)
    o = {"tensor": torch.tensor(rng.uniform(1, 2, 5).astype(np.float32)), "float": 0.3, "int": 3}[
        other
    ]
    expected = {"+=": np.add, "-=": np.subtract, "*=": np.multiply, "/=": np.true_divide}[op](
        w.detach().numpy().copy(), o.numpy() if isinstance(o, torch.Tensor) else o
    )
    version = w._vc[0]
    with torch.no_grad():
        if op == "+=":
            w += o
        elif op == "-=":
            w -= o
        elif op == "*=":
            w *= o
        else:
            w /= o
    assert w.dtype == torch.float32 and w._vc[0] == version + 1
    np.testing.assert_array_equal(w.detach().numpy(), expected)


def test_untracked_inplace_still_bumps_the_version_saved_tensors_check():
    w = leaf([1.0, 2.0])
    x = leaf([3.0, 4.0])
    y = (w * x).sum()  # Mul saved w
    with torch.no_grad():
        w -= 0.1 * x
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_inplace_cases_outside_the_direct_path_keep_their_rules():
    with pytest.raises(RuntimeError, match="can't be cast"):
        t = torch.tensor([1, 2])
        t += 1.5  # int tensor, float operand
    t = torch.zeros(2, 3)
    with torch.no_grad():
        t += torch.tensor([1.0, 2.0, 3.0])  # broadcast operand
    np.testing.assert_array_equal(t.numpy(), [[1, 2, 3], [1, 2, 3]])
    with pytest.raises(RuntimeError, match="shape"):
        torch.zeros(3).add_(torch.ones(2, 3))
    t = torch.zeros(3, dtype=torch.float32)
    with torch.no_grad():
        t += torch.ones(3, dtype=torch.float64)  # promoted, then cast back
    assert t.dtype == torch.float32


# -- reductions: small gradients written out, big ones broadcast views ---------------------------


@pytest.mark.parametrize("n", [3, ops._SMALL_GRAD, ops._SMALL_GRAD + 1])
@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_reduction_gradients_on_both_sides_of_the_small_size(n, reduce):
    x = torch.tensor(np.arange(n, dtype=np.float32).reshape(-1, 1), requires_grad=True)
    y = getattr(x, reduce)()
    (y * 2).backward()
    assert x.grad.shape == (n, 1) and x.grad.dtype == torch.float32
    np.testing.assert_allclose(
        x.grad.numpy(), np.full((n, 1), 2.0 if reduce == "sum" else 2.0 / n), rtol=1e-6
    )
    z = torch.tensor(np.ones((n, 2)), requires_grad=True)
    z.sum(dim=1, keepdim=True).sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), np.ones((n, 2)))
