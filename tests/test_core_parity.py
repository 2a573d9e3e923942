"""The tensor core's PyTorch parity (issue 10): 0-d results, clamp with tensor bounds, gradients
at zero, what ops save, empty reductions, %, //, integer **, dtype promotion, requires_grad.

Expected values are written out (they are PyTorch 2.13's, checked by hand); the same programs
are run against PyTorch itself in test_core_parity_torch.py.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import broadcastable_pairs

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv.autograd import gradcheck


def f64(v, grad=True):
    return torch.tensor(v, dtype=torch.float64, requires_grad=grad)


# -- 1. a tensor's data is always an np.ndarray ----------------------------------------------


def _results_of_many_ops():
    """(name, tensor) for results of ops on 0-d, 1-d and 2-d inputs, with and without grad."""
    out = []
    for grad in (False, True):
        for shape in ((), (3,), (2, 3)):
            x = torch.tensor(
                np.linspace(0.5, 2.0, int(np.prod(shape))).reshape(shape), requires_grad=grad
            )
            i = torch.tensor(np.arange(1, 1 + int(np.prod(shape))).reshape(shape))
            cases = {
                "exp": lambda x, i: x.exp(),
                "log": lambda x, i: x.log(),
                "sqrt": lambda x, i: x.sqrt(),
                "tanh": lambda x, i: x.tanh(),
                "sigmoid": lambda x, i: x.sigmoid(),
                "sin": lambda x, i: x.sin(),
                "cos": lambda x, i: x.cos(),
                "abs": lambda x, i: x.abs(),
                "relu": lambda x, i: x.relu(),
                "neg": lambda x, i: -x,
                "sign": lambda x, i: x.sign(),
                "add": lambda x, i: x + 1,
                "radd": lambda x, i: 1 + x,
                "sub": lambda x, i: x - 0.5,
                "rsub": lambda x, i: 2 - x,
                "mul": lambda x, i: x * 2,
                "div": lambda x, i: x / 4,
                "rdiv": lambda x, i: 3 / x,
                "pow": lambda x, i: x**2,
                "rpow": lambda x, i: 2**x,
                "mod": lambda x, i: x % 0.3,
                "rmod": lambda x, i: 2 % x,
                "floordiv": lambda x, i: x // 0.3,
                "rfloordiv": lambda x, i: 2 // x,
                "clamp": lambda x, i: x.clamp(0.7, 1.5),
                "maximum": lambda x, i: torch.maximum(x, x),
                "sum": lambda x, i: x.sum(),
                "mean": lambda x, i: x.mean(),
                "prod": lambda x, i: x.prod(),
                "max": lambda x, i: x.max(),
                "min": lambda x, i: x.min(),
                "amax": lambda x, i: x.amax(),
                "norm": lambda x, i: x.norm(),
                "norm1": lambda x, i: x.norm(1),
                "norm3": lambda x, i: x.norm(3),
                "std": lambda x, i: x.std() if x.numel() > 1 else x.sum(),
                "var": lambda x, i: x.var() if x.numel() > 1 else x.sum(),
                "float": lambda x, i: x.double(),
                "where": lambda x, i: torch.where(x > 1, x, 0.0),
                "int abs": lambda x, i: i.abs(),
                "int neg": lambda x, i: -i,
                "int mul": lambda x, i: i * 2,
                "int add float": lambda x, i: i + 0.5,
                "int div": lambda x, i: i / 2,
                "int floordiv": lambda x, i: i // 2,
                "int mod": lambda x, i: i % 2,
                "int pow": lambda x, i: i**2,
                "int sum": lambda x, i: i.sum(),
                "int max": lambda x, i: i.max(),
                "bitwise": lambda x, i: i | 1,
                "cmp": lambda x, i: x > 1,
                "argmax": lambda x, i: x.argmax(),
                "long": lambda x, i: x.long(),
                "clone": lambda x, i: x.clone(),
            }
            if shape:
                cases.update(
                    {
                        "dot": lambda x, i: torch.dot(x.reshape(-1), x.reshape(-1)),
                        "matvec": lambda x, i: x.reshape(-1) @ x.reshape(-1),
                        "index": lambda x, i: x.reshape(-1)[0],
                        "max dim": lambda x, i: x.max(0).values,
                        "std dim": lambda x, i: x.reshape(-1, 1).std(0, correction=0),
                        "loss": lambda x, i: F.mse_loss(x, x.detach() * 2) / 4,
                        "flip": lambda x, i: x.flip(0),
                        "cat": lambda x, i: torch.cat([x.reshape(-1), x.reshape(-1)]),
                    }
                )
            out += [(f"{name} {shape} grad={grad}", fn(x, i)) for name, fn in cases.items()]
    return out


def test_every_result_holds_an_ndarray_never_a_numpy_scalar():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = _results_of_many_ops()
    assert len(results) > 250
    bad = [name for name, t in results if type(t._data) is not np.ndarray]
    assert not bad, f"results stored as NumPy scalars: {bad}"
    # ...and their gradients too
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    s = torch.dot(x, x)
    (s.exp() / 4 + s.sqrt()).backward()
    assert type(x.grad._data) is np.ndarray


def test_zero_d_results_behave_as_tensors():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    s = torch.dot(x, x)
    torch.where(s > 0, s, s).backward()
    assert x.grad.tolist() == [2.0, 4.0]

    out = torch.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]], requires_grad=True)
    loss = F.cross_entropy(out, torch.tensor([1, 2])) / 4
    loss += 0.5  # in place on a 0-d result
    loss.backward()
    assert loss.shape == () and out.grad.shape == (2, 3)

    assert (torch.tensor(2).abs() + 0.1).dtype == torch.float32
    assert (torch.tensor(2.0).exp() * 2).dtype == torch.float32
    y = torch.tensor(3.0).exp()
    y[...] = 1.0  # item assignment works on a 0-d result
    assert y.item() == 1.0


# -- 2. clamp / clip with tensor bounds ----------------------------------------------------


def test_clamp_tensor_bounds_values_and_gradients():
    x = f64([-1.0, 0.5, 2.0])
    lo = f64([0.0, 0.5, 0.0])
    hi = f64(1.0)
    y = x.clamp(lo, hi)
    y.backward(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    assert y.tolist() == [0.0, 0.5, 1.0]
    assert x.grad.tolist() == [0.0, 2.0, 0.0]  # x == lo at [1]: x gets it (a tie)
    assert lo.grad.tolist() == [1.0, 0.0, 0.0]
    assert hi.grad.item() == 3.0
    assert torch.clip(x, lo, hi).tolist() == y.tolist()


@pytest.mark.parametrize(
    ("xv", "hv", "grads"),
    [
        # (x, hi) with lo = 2: PyTorch's convention at every tie, including lo == hi and lo > hi
        (1.0, 1.0, (0, 0, 1)),
        (1.0, 2.0, (0, 0, 0)),
        (1.0, 3.0, (0, 1, 0)),
        (2.0, 1.0, (0, 0, 1)),
        (2.0, 2.0, (1, 0, 0)),
        (2.0, 3.0, (1, 0, 0)),
        (3.0, 1.0, (0, 0, 1)),
        (3.0, 2.0, (0, 0, 1)),
        (3.0, 3.0, (1, 0, 0)),
    ],
)
def test_clamp_gradient_convention_at_ties(xv, hv, grads):
    x, lo, hi = f64(xv), f64(2.0), f64(hv)
    x.clamp(lo, hi).backward()
    assert (x.grad.item(), lo.grad.item(), hi.grad.item()) == grads


@pytest.mark.parametrize(
    ("xv", "min_grads", "max_grads"),
    [
        (1.0, (0, 1), (1, 0)),
        (2.0, (1, 0), (1, 0)),
        (3.0, (1, 0), (0, 1)),
    ],
)
def test_clamp_one_tensor_bound_at_ties(xv, min_grads, max_grads):
    x, b = f64(xv), f64(2.0)
    x.clamp(min=b).backward()
    assert (x.grad.item(), b.grad.item()) == min_grads
    x, b = f64(xv), f64(2.0)
    x.clamp(max=b).backward()
    assert (x.grad.item(), b.grad.item()) == max_grads


def test_clamp_broadcasts_with_its_bounds_and_requires_grad_from_a_bound():
    x = torch.tensor([1.0, 2.0, 3.0])
    lo = torch.tensor([[0.0], [2.5]], requires_grad=True)
    y = x.clamp(min=lo)
    assert y.shape == (2, 3) and y.requires_grad
    assert y.tolist() == [[1.0, 2.0, 3.0], [2.5, 2.5, 3.0]]
    y.sum().backward()
    assert lo.grad.tolist() == [[0.0], [2.0]]


def test_clamp_dtypes_follow_promotion():
    i = torch.tensor([1, 2, 3])
    assert i.clamp(min=1.5).dtype == torch.float32
    assert i.clamp(min=1.5).tolist() == [1.5, 2.0, 3.0]
    assert i.clamp(min=torch.tensor(2.5)).dtype == torch.float32
    assert i.clamp(min=torch.tensor([2, 2, 2])).dtype == torch.int64
    assert i.clamp(2, 3.5).tolist() == [2.0, 2.0, 3.0]
    f = torch.tensor([1.0, 5.0])
    assert f.clamp(torch.tensor([2.0, 2.0], dtype=torch.float64)).dtype == torch.float64
    assert f.clamp(torch.tensor(2.0, dtype=torch.float64)).dtype == torch.float32
    assert torch.tensor([True, False]).clamp(0, 1).dtype == torch.int64


def test_clamp_of_a_0d_tensor_and_a_number():
    # (found by the torch fuzzer) PyTorch reads a 0-d tensor that needs no grad as a number
    # when the other bound is one: x.clamp(t.max(), 3) works there (ClampBackward1, no
    # gradient to the bound); a 1-element or grad-requiring bound is still refused
    x = torch.tensor([-3.0, 0.5, 1.0, 4.0], requires_grad=True)
    y = x.clamp(torch.tensor(0.7), 3)
    assert y.tolist() == pytest.approx([0.7, 0.7, 1.0, 3.0])
    assert y.grad_fn.name() == "ClampBackward1"
    assert torch.tensor([1, 5]).clamp(torch.tensor(2.5), 3).tolist() == [2.5, 3.0]
    assert torch.tensor([1, 5]).clamp(torch.tensor(2), 3).dtype == torch.int64
    assert torch.clip(x.detach(), -1, torch.tensor(0.7)).tolist() == pytest.approx(
        [-1.0, 0.5, 0.7, 0.7]
    )
    for bound in (torch.tensor([0.7]), torch.tensor(0.7, requires_grad=True)):
        with pytest.raises(TypeError, match="both be tensors or both be numbers"):
            x.clamp(bound, 3)


def test_clamp_bad_and_in_place_uses():
    x = torch.tensor([1.0, 5.0])
    with pytest.raises(TypeError, match="both be tensors or both be numbers"):
        x.clamp(torch.tensor([2.0, 2.0]), 3.0)
    with pytest.raises(ValueError, match="clamp.*broadcast"):
        x.clamp(torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="clamp_.*can't be cast"):
        torch.tensor([1, 5]).clamp_(min=2.5)
    with pytest.raises(RuntimeError, match="clamp_.*shape"):
        x.clamp_(min=torch.tensor([[2.0], [3.0]]))
    assert x.tolist() == [1.0, 5.0]
    assert x.clamp_(min=torch.tensor([2.0, 2.0]), max=torch.tensor(4.0)).tolist() == [2.0, 4.0]
    # in place on a graph tensor, the bound requiring grad
    a = f64([1.0, 5.0])
    b = f64(2.0)
    y = a * 1
    y.clamp_(min=b)
    y.sum().backward()
    assert a.grad.tolist() == [0.0, 1.0] and b.grad.item() == 1.0


def _clamp_inputs(rng, sx, sb):
    """x and bounds with values 0.25 apart at least, so no finite difference crosses a kink."""

    def grid(shape):
        return (
            rng.permutation(np.arange(-40, 40))[: int(np.prod(shape))].reshape(shape) * 0.25 + 0.1
        )

    return f64(grid(sx)), f64(grid(sb) - 0.05), f64(grid(sb) + 1.02)


@given(broadcastable_pairs(max_dims=3, max_side=3), st.integers(0, 2**31 - 1))
def test_clamp_tensor_bounds_gradcheck(shapes, seed):
    sx, sb = shapes
    x, lo, hi = _clamp_inputs(np.random.default_rng(seed), sx, sb)
    assert gradcheck(lambda x, lo, hi: x.clamp(lo, hi), (x, lo, hi), eps=1e-6, atol=1e-6, rtol=1e-6)
    assert gradcheck(lambda x, lo: x.clamp(min=lo), (x, lo), eps=1e-6, atol=1e-6, rtol=1e-6)
    assert gradcheck(lambda x, hi: x.clamp(max=hi), (x, hi), eps=1e-6, atol=1e-6, rtol=1e-6)


# -- 3. gradients at zero ------------------------------------------------------------------


def test_std_of_a_constant_has_zero_gradient():
    x = torch.ones(3, requires_grad=True)
    x.std().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    x = torch.ones(2, 3, requires_grad=True)
    x.std(1).sum().backward()
    assert x.grad.tolist() == [[0.0] * 3] * 2


@given(st.integers(2, 5), st.integers(1, 4), st.sampled_from([0, 1, 2]), st.integers(0, 2**31 - 1))
def test_std_and_var_gradcheck(n, m, correction, seed):
    if n <= correction:
        n = correction + 1
    x = f64(np.random.default_rng(seed).standard_normal((n, m)))
    assert gradcheck(lambda x: x.std(0, correction=correction), (x,), atol=1e-6, rtol=1e-6)
    assert gradcheck(lambda x: x.var(1, correction=0, keepdim=True), (x,), atol=1e-6, rtol=1e-6)
    assert gradcheck(lambda x: x.std(), (x,), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(
    ("p", "grad_at_mixed"),
    [
        # x = [0, 1, -2]: the gradient of x.norm(p) (PyTorch's values to 4 places)
        (0.5, [0.0, 2.4142, -1.7071]),
        (1, [0.0, 1.0, -1.0]),
        (1.5, [0.0, 0.6392, -0.9040]),
        (2, [0.0, 0.4472, -0.8944]),
        (3, [0.0, 0.2311, -0.9245]),
        (float("inf"), [0.0, 0.0, -1.0]),
        (-float("inf"), [0.0, 0.0, 0.0]),
        (-1, [0.0, 0.0, 0.0]),
        (-0.5, [0.0, 0.0, 0.0]),
    ],
)
def test_norm_gradient_with_zeros(p, grad_at_mixed):
    x = torch.zeros(3, requires_grad=True)
    x.norm(p).backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    x = torch.tensor([0.0, 1.0, -2.0], requires_grad=True)
    x.norm(p).backward()
    np.testing.assert_allclose(x.grad.numpy(), grad_at_mixed, atol=1e-4)


def test_norm_p0_counts_and_gives_no_gradient():
    x = torch.tensor([0.0, 1.0, -2.0], requires_grad=True)
    n = x.norm(0)
    assert n.item() == 2.0 and n.requires_grad
    n.backward()
    assert x.grad is None  # as PyTorch: no gradient is defined for the count


@given(
    st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, 4.5, -1.0, float("inf")]),
    st.integers(1, 3),
    st.booleans(),
    st.integers(0, 2**31 - 1),
)
def test_norm_gradcheck(p, m, keepdim, seed):
    rng = np.random.default_rng(seed)
    # away from 0 and from ties in |x| (inf-norm): finite differences must not cross a kink
    vals = (rng.permutation(8)[: 2 * m] + 1.0) * rng.choice([-1.0, 1.0], 2 * m) * 0.5
    x = f64(vals.reshape(2, m))
    assert gradcheck(lambda x: x.norm(p), (x,), atol=1e-6, rtol=1e-6)
    assert gradcheck(lambda x: x.norm(p, dim=1, keepdim=keepdim), (x,), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(
    ("name", "fn", "xv", "expected"),
    [
        # d/dx sum(f(x) ** 0.5): an inf arrives where f(x) = 0; masking ops give 0 elsewhere
        ("relu", lambda x: x.relu(), [-1.0, 0.0, 1.0], [0.0, 0.0, 0.5]),
        ("clamp", lambda x: x.clamp(min=0), [-1.0, 0.0, 1.0], [0.0, np.inf, 0.5]),
        ("clamp2", lambda x: x.clamp(0, 2), [-1.0, 0.0, 3.0], [0.0, np.inf, 0.0]),
        (
            "maximum",
            lambda x: torch.maximum(x, torch.zeros(3)),
            [-1.0, 0.0, 1.0],
            [0.0, np.inf, 0.5],
        ),
        ("max", lambda x: x.max(), [0.0, -1.0, 0.0], [np.inf, 0.0, np.inf]),
        ("max dim", lambda x: x.max(0).values, [0.0, -1.0, 0.0], [np.inf, 0.0, 0.0]),
        ("min", lambda x: x.min() + 1, [-1.0, 0.0, -1.0], [np.inf, 0.0, np.inf]),
        (
            "amax (multiplies, as PyTorch)",
            lambda x: x.amax(0),
            [0.0, -1.0, 0.0],
            [np.inf, np.nan, np.inf],
        ),
        ("abs (multiplies, as PyTorch)", lambda x: x.abs(), [-1.0, 0.0, 1.0], [-0.5, np.nan, 0.5]),
        ("where", lambda x: torch.where(x > 0, x, 0.0), [-1.0, 0.0, 1.0], [0.0, 0.0, 0.5]),
        ("sqrt", lambda x: x, [0.0, 1.0, 4.0], [np.inf, 0.5, 0.25]),
    ],
)
def test_gradients_where_an_inf_arrives(name, fn, xv, expected):
    x = torch.tensor(xv, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and quietly, as PyTorch
        (fn(x) ** 0.5).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.array(expected, dtype=np.float32))


def test_ties_share_the_gradient():
    x = torch.tensor([2.0, 2.0, 1.0], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [0.5, 0.5, 0.0]
    x = torch.tensor([2.0, 2.0, 1.0], requires_grad=True)
    x.max(0).values.backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0]  # with a dim: the first index only
    x = torch.tensor([2.0, 2.0, 1.0], requires_grad=True)
    torch.maximum(x, torch.tensor(2.0)).sum().backward()
    assert x.grad.tolist() == [0.5, 0.5, 0.0]


@given(broadcastable_pairs(max_dims=3, max_side=3), st.integers(0, 2**31 - 1))
def test_maximum_minimum_gradcheck(shapes, seed):
    rng = np.random.default_rng(seed)
    a = f64(rng.permutation(40)[: int(np.prod(shapes[0]))].reshape(shapes[0]) * 0.5)
    b = f64(rng.permutation(40)[: int(np.prod(shapes[1]))].reshape(shapes[1]) * 0.5 + 0.25)
    assert gradcheck(torch.maximum, (a, b), atol=1e-6, rtol=1e-6)
    assert gradcheck(torch.minimum, (a, b), atol=1e-6, rtol=1e-6)


# -- 4. crashes: var with too few elements, ops saving too much, flip, empty dims ----------


def test_var_with_no_degrees_of_freedom_is_nan_with_a_warning():
    x = torch.ones(1, 3, requires_grad=True)
    with pytest.warns(UserWarning, match="degrees of freedom"):
        v = x.var(0)
    assert np.isnan(v.numpy() if not v.requires_grad else v.detach().numpy()).all()
    v.sum().backward()
    assert np.isnan(x.grad.numpy()).all()
    with pytest.warns(UserWarning, match="degrees of freedom"):
        s = torch.ones(1, 3, requires_grad=True).std(0)
    assert np.isnan(s.detach().numpy()).all()
    x = torch.ones(2, 3, requires_grad=True)
    with pytest.warns(UserWarning, match="degrees of freedom"):
        v = x.var(0, correction=3)
    v.sum().backward()
    assert x.grad.tolist() == [[0.0] * 3] * 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.var(0, correction=0).tolist() == [0.0] * 3  # n = 2 > 0: no warning


def test_in_place_after_ops_that_save_only_what_backward_needs():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x**2
    y.add_(1)  # pow with a number exponent saves x, not its result
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    v = x * 1
    z = 3 / v  # number / tensor saves 1/v, not v
    v.add_(1)
    z.sum().backward()
    assert x.grad.tolist() == [-3.0, -0.75]

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    c = torch.tensor([3.0, 4.0])
    y = x / c
    c.add_(1)  # x / c with only x requiring grad needs c: an error, as in PyTorch
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()

    x = torch.tensor([[1.0, 2.0]], requires_grad=True)
    m = torch.tensor([[3.0], [4.0]])
    w = x * 1
    y = w @ m
    w.add_(1)  # x @ m with only x requiring grad saves m alone
    y.sum().backward()
    assert x.grad.tolist() == [[3.0, 4.0]]


@pytest.mark.parametrize(
    ("name", "make", "modify", "raises"),
    [
        # (the op, which tensor is changed in place before backward, whether PyTorch then raises)
        ("exp result", lambda w: w.exp(), "out", True),
        ("exp input", lambda w: w.exp(), "in", False),
        ("pow scalar result", lambda w: w**2, "out", False),
        ("pow scalar input", lambda w: w**2, "in", True),
        ("pow tensor exponent result", lambda w: w ** torch.tensor([2.0, 3.0]), "out", True),
        ("sqrt result", lambda w: w.sqrt(), "out", True),
        ("log input", lambda w: w.log(), "in", True),
        ("log result", lambda w: w.log(), "out", False),
        ("tanh result", lambda w: w.tanh(), "out", True),
        ("relu input", lambda w: w.relu(), "in", False),
        ("abs input", lambda w: w.abs(), "in", True),
        ("clamp input", lambda w: w.clamp(0, 1.7), "in", True),
        ("clamp result", lambda w: w.clamp(0, 1.7), "out", False),
        ("prod result", lambda w: w.prod(), "out", True),
        ("max result", lambda w: w.max(), "out", True),
        ("amax input", lambda w: w.amax(), "in", True),
        ("var input", lambda w: w.var(), "in", True),
        ("var result", lambda w: w.var(), "out", False),
        ("std result", lambda w: w.std(), "out", True),
        ("norm result", lambda w: w.norm(), "out", True),
        ("sum input", lambda w: w.sum(), "in", False),
        ("mul scalar input", lambda w: w * 2, "in", False),
        ("div scalar input", lambda w: w / 2, "in", False),
        ("rdiv input", lambda w: 2 / w, "in", False),
        ("rdiv result", lambda w: 2 / w, "out", False),
        ("flip result", lambda w: w.flip(0), "out", False),
        ("sign input", lambda w: w.sign(), "in", False),
        ("remainder scalar input", lambda w: w % 2, "in", False),
    ],
)
def test_what_each_op_saves(name, make, modify, raises):
    x = torch.tensor([1.5, 2.0], requires_grad=True)
    w = x * 1
    out = make(w)
    (w if modify == "in" else out).add_(1)
    if raises:
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()
    else:
        out.sum().backward()


def test_flip_returns_a_copy():
    x = torch.arange(6.0).reshape(2, 3)
    f = x.flip(0)
    f.add_(1)
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert f.view(6).tolist() == [4.0, 5.0, 6.0, 1.0, 2.0, 3.0]
    a = torch.arange(6.0, dtype=torch.float64).reshape(2, 3).requires_grad_()
    g = a.flip(1)
    g.mul_(2)  # in place on the flip of a graph tensor: allowed, it is not a view
    g.sum().backward()
    assert a.grad.tolist() == [[2.0] * 3] * 2
    assert gradcheck(lambda a: a.flip(0, 1) * a, (a,), atol=1e-6, rtol=1e-6)


def test_reductions_of_empty_tensors():
    e = torch.zeros(0, 3)
    v = e.max(1)
    assert v.values.shape == (0,) and v.indices.shape == (0,) and v.indices.dtype == torch.int64
    assert e.min(1, keepdim=True).values.shape == (0, 1)
    assert e.argmax(1).shape == (0,) and e.argmin(1, keepdim=True).shape == (0, 1)
    assert e.amax(1).shape == (0,) and e.amin(1).shape == (0,)
    for f in (
        lambda: e.max(0),
        lambda: e.min(0),
        lambda: e.amax(0),
        lambda: e.argmax(0),
        lambda: e.argmin(0),
        lambda: e.argmax(),
    ):
        with pytest.raises(IndexError, match="size 0|empty"):
            f()
    for f in (lambda: e.max(), lambda: e.min(), lambda: e.amax(), lambda: e.amin()):
        with pytest.raises(RuntimeError, match="empty"):
            f()
    x = torch.zeros(0, 3, requires_grad=True)
    x.max(1).values.sum().backward()
    assert x.grad.shape == (0, 3)


def test_chunk_and_split_of_empty_and_odd_dims():
    assert [c.shape for c in torch.zeros(0, 3).chunk(2)] == [(0, 3), (0, 3)]
    assert [c.shape for c in torch.zeros(3, 0).chunk(2, 1)] == [(3, 0), (3, 0)]
    assert [c.shape for c in torch.zeros(0).chunk(3)] == [(0,)] * 3
    assert [c.shape for c in torch.zeros(5).chunk(2)] == [(3,), (2,)]
    assert [c.shape for c in torch.zeros(6).chunk(4)] == [(2,), (2,), (2,)]
    assert [c.shape for c in torch.zeros(0, 3).split(2)] == [(0, 3)]
    assert [c.shape for c in torch.zeros(0, 2).split(0)] == [(0, 2)]
    assert [c.shape for c in torch.zeros(3).split(5)] == [(3,)]
    assert [c.shape for c in torch.zeros(0).split([0, 0])] == [(0,), (0,)]
    for f in (
        lambda: torch.zeros(4, 3).split(0),
        lambda: torch.zeros(3).split(-1),
        lambda: torch.zeros(3).split([1, 1]),
        lambda: torch.zeros(3).chunk(0),
        lambda: torch.zeros(3).chunk(-1),
    ):
        with pytest.raises(RuntimeError, match="split|chunk"):
            f()


# -- 5. %, //, reflected, integer ** ---------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "mod", "floordiv"),
    [
        # Python's rule (the sign of the divisor), as PyTorch, for ints and floats
        (7, 3, 1, 2),
        (7, -3, -2, -3),
        (-7, 3, 2, -3),
        (-7, -3, -1, 2),
        (7.5, 3, 1.5, 2.0),
        (7.5, -3, -1.5, -3.0),
        (-7.5, 3, 1.5, -3.0),
        (-7.5, -3, -1.5, 2.0),
        (7, 2.5, 2.0, 2.0),
        (7, -2.5, -0.5, -3.0),
        (-7, 2.5, 0.5, -3.0),
        (-7, -2.5, -2.0, 2.0),
    ],
)
def test_mod_and_floordiv_follow_the_divisor_sign(a, b, mod, floordiv):
    ta, tb = torch.tensor([a]), torch.tensor([b])
    for left, right in ((ta, b), (a, tb), (ta, tb)):
        assert (left % right).tolist() == [mod]
        assert (left // right).tolist() == [floordiv]
    assert (ta % b).dtype == (
        torch.float32 if isinstance(a, float) or isinstance(b, float) else torch.int64
    )


def test_mod_and_floordiv_by_zero():
    with pytest.raises(RuntimeError, match="division by zero"):
        torch.tensor([7]) // 0
    with pytest.raises(RuntimeError, match="division by zero"):
        torch.tensor([7]) % torch.tensor([0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = torch.tensor([7.5, -7.5, 0.0]) // 0.0
        m = torch.tensor([7.5]) % 0.0
    assert r.tolist()[:2] == [np.inf, -np.inf] and np.isnan(r.tolist()[2]) and np.isnan(m.item())


def test_mod_floordiv_requires_grad_and_gradients():
    x = f64([1.5, -2.0])
    y = x % 2
    assert y.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]  # d(x % c)/dx = 1, as PyTorch
    d = f64([3.0, 2.0])
    (torch.tensor([5.0, -7.0], dtype=torch.float64) % d).sum().backward()
    assert d.grad.tolist() == [-1.0, 4.0]  # -floor(a / d)
    a, b = f64([5.3, -7.1, 2.2]), f64([3.0, 2.0, -1.5])
    assert gradcheck(lambda a, b: a % b, (a, b), atol=1e-6, rtol=1e-6)
    for make in (lambda x: x // 2, lambda x: 2 // x, lambda x: 2 % x):
        x = f64([1.5, -2.0])
        y = make(x)
        assert y.requires_grad
        with pytest.raises(RuntimeError, match="not implemented"):
            y.sum().backward()
    s = f64([1.5, -2.0, 0.0])
    y = s.sign()
    assert y.requires_grad and y.tolist() == [1.0, -1.0, 0.0]
    y.sum().backward()
    assert s.grad.tolist() == [0.0, 0.0, 0.0]


def test_integer_powers():
    with pytest.raises(RuntimeError, match="negative integer powers"):
        torch.tensor([1, 2]) ** -1
    with pytest.raises(RuntimeError, match="negative integer powers"):
        torch.tensor([True]) ** -1
    assert (torch.tensor([1, 2]) ** -1.0).tolist() == [1.0, 0.5]
    assert (torch.tensor([0, 1, -1, 2, -2]) ** torch.tensor([-1, -1, -1, -1, -2])).tolist() == [
        0,
        1,
        -1,
        0,
        0,
    ]
    assert (torch.tensor([0, 1, -1, 2, -2]) ** torch.tensor([-2, -2, -2, -2, -3])).tolist() == [
        0,
        1,
        1,
        0,
        0,
    ]
    assert (torch.tensor([1, 2]) ** torch.tensor(-1)).tolist() == [1, 0]
    assert (2 ** torch.tensor([-1, 2])).tolist() == [0, 4]
    assert ((-1) ** torch.tensor([-1, -2, 3])).tolist() == [-1, 1, -1]
    assert (torch.tensor([1, 2]) ** 0).tolist() == [1, 1]
    assert (torch.tensor([3], dtype=torch.int8) ** 5).tolist() == [-13]  # wraps, as PyTorch
    assert (torch.tensor([1, 2], dtype=torch.int32) ** torch.tensor(2)).dtype == torch.int32
    assert (2.5 ** torch.tensor([-1, 2])).tolist() == [0.4000000059604645, 6.25]


# -- 6. dtypes ----------------------------------------------------------------------------------


def test_promotion_table():
    t, i32, i64, f16, f64_, u8, i8 = (
        torch.tensor,
        torch.int32,
        torch.int64,
        torch.float16,
        torch.float64,
        torch.uint8,
        torch.int8,
    )
    cases = [
        (t([3], dtype=i32) + t(2), i32),
        (t([3], dtype=i32) + t(2.0, dtype=f64_), f64_),
        (t([3], dtype=u8) + t(2, dtype=i8), u8),
        (t([3], dtype=u8) + t([2], dtype=i8), torch.int16),
        (t([3.0], dtype=f16) + t(2.0, dtype=f64_), f16),
        (t(3, dtype=i32) + t(2.0, dtype=f64_), f64_),
        (t(3.0, dtype=f16) + 1.5, f16),
        (t([True]) * 1.5, torch.float32),
        (t([2], dtype=i8) * True, i8),
        (t([3.0]) // t(2.0, dtype=f64_), torch.float32),
        (t([5.0]) % t(3.0, dtype=f64_), torch.float32),
        (t([3], dtype=i32) | t(2), i32),
        (t([3], dtype=i32) & t([2]), i64),
        (t([3], dtype=u8) ^ t([2], dtype=i8), torch.int16),
        (t([True]) | 5, i64),
        (5 | t([3], dtype=i32), i32),
        (torch.cat([t([1]), t([1.5])]), torch.float32),
        (torch.stack([t([1]), t([1.5])]), torch.float32),
        (torch.cat([t([1]), t([1.5]), t([1.0], dtype=f64_)]), f64_),
        (torch.cat([t([True]), t([1], dtype=i32)]), i32),
        (torch.cat([t([1], dtype=u8), t([1], dtype=i8)]), torch.int16),
        (torch.stack([t(1.0), t(1.0, dtype=f64_)]), f64_),
        (torch.where(t([True]), t([1]), t([1.5])), torch.float32),
        (torch.maximum(t([1.0]), t(1.5, dtype=f64_)), torch.float32),
    ]
    for k, (res, dt) in enumerate(cases):
        assert res.dtype == dt, (k, res.dtype, dt)


def test_comparisons_in_the_promoted_dtype():
    assert (torch.tensor([0.1]) == torch.tensor(0.1, dtype=torch.float64)).tolist() == [True]
    assert (torch.tensor([0.1], dtype=torch.float64) == torch.tensor(0.1)).tolist() == [False]
    assert (torch.tensor([0.1]) == torch.tensor([0.1], dtype=torch.float64)).tolist() == [False]
    assert (torch.tensor([0.1]) == 0.1).tolist() == [True]


def test_cat_gradients_keep_each_input_dtype():
    a = torch.tensor([1.0], requires_grad=True)
    b = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    c = torch.cat([a, b])
    c.sum().backward()
    assert (c.dtype, a.grad.dtype, b.grad.dtype) == (torch.float64, torch.float32, torch.float64)


def test_bce_with_logits_takes_the_target_dtype():
    bce = F.binary_cross_entropy_with_logits
    x32 = torch.tensor([0.5], requires_grad=True)
    t64 = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    loss = bce(x32, t64)
    assert loss.dtype == torch.float64
    loss.backward()
    assert x32.grad.dtype == torch.float32 and t64.grad.dtype == torch.float64
    np.testing.assert_allclose(loss.item(), np.log1p(np.exp(-0.5)), rtol=1e-12)
    assert bce(torch.tensor([0.5], dtype=torch.float64), torch.tensor([1.0])).dtype == torch.float32
    assert bce(torch.tensor([0.5]), torch.tensor([1.0], dtype=torch.float16)).dtype == torch.float16
    assert bce(torch.tensor([0.5]), t64.detach(), reduction="none").dtype == torch.float64
    assert (
        bce(
            torch.tensor([0.5]),
            torch.tensor([1.0]),
            pos_weight=torch.tensor([2.0], dtype=torch.float64),
        ).dtype
        == torch.float32
    )
    assert (
        bce(
            torch.tensor([0.5]),
            torch.tensor([1.0]),
            weight=torch.tensor([2.0], dtype=torch.float64),
        ).dtype
        == torch.float32
    )
    with pytest.raises(
        RuntimeError, match="binary_cross_entropy_with_logits: target must be a floating"
    ):
        bce(torch.tensor([0.5]), torch.tensor([1]))
    with pytest.raises(RuntimeError, match="binary_cross_entropy: target dtype"):
        F.binary_cross_entropy(torch.tensor([0.5]), torch.tensor([1.0], dtype=torch.float64))


# -- 7. requires_grad ---------------------------------------------------------------------------


def test_integer_and_bool_casts_leave_the_graph():
    x = torch.tensor([1.5, -2.0], requires_grad=True)
    assert [
        t.requires_grad
        for t in (
            x.long(),
            x.int(),
            x.bool(),
            x.to(torch.int64),
            x.to(torch.uint8),
            x.type(torch.int64),
        )
    ] == [False] * 6
    assert x.half().requires_grad and x.double().requires_grad
    assert x.long().tolist() == [1, -2]


@pytest.mark.parametrize(
    ("method", "name"),
    [
        (lambda y: y.zero_(), "ZeroBackward0"),
        (lambda y: y.fill_(3), "FillBackward2"),
        (lambda y: y.fill_(torch.tensor(3.0)), "FillBackward3"),
        (lambda y: y.copy_(torch.tensor([5.0, 6.0])), "CopyBackwards"),
        (lambda y: y.copy_(torch.tensor([1, 2])), "CopyBackwards"),
        (lambda y: y.uniform_(), "UniformBackward0"),
        (lambda y: y.normal_(), "NormalBackward0"),
    ],
)
def test_overwriting_a_graph_tensor_keeps_it_in_the_graph(method, name):
    x = torch.tensor([1.5, -2.0], requires_grad=True)
    y = x * 2
    method(y)
    assert y.requires_grad and y.grad_fn.name() == name
    (y * torch.tensor([3.0, 4.0])).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_fill_with_a_tensor_that_requires_grad():
    x = torch.tensor([1.5, -2.0], requires_grad=True)
    v = torch.tensor(3.0, requires_grad=True)
    y = x * 2
    y.fill_(v)
    (y * torch.tensor([3.0, 4.0])).sum().backward()
    assert y.tolist() == [3.0, 3.0] and x.grad.tolist() == [0.0, 0.0] and v.grad.item() == 7.0
    c = torch.tensor([1.5, -2.0])
    c.fill_(v)
    assert c.requires_grad
    with pytest.raises(RuntimeError, match="fill_.*0-d"):
        c.fill_(torch.tensor([1.0, 2.0]))
    z = torch.tensor([1.5, -2.0])
    z.zero_()
    assert not z.requires_grad


def test_zeroing_part_of_a_graph_tensor():
    x = torch.tensor([1.5, -2.0], requires_grad=True)
    y = x * 2
    y[0:1].zero_()
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 2.0]


# -- NumPy's habits that PyTorch does not share -------------------------------------------------


def test_float_division_by_zero_and_empty_means_are_quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan((torch.tensor([0.0]) / 0.0).item())
        assert (torch.tensor([1.0]) / torch.tensor([0.0])).tolist() == [np.inf]
        x = torch.tensor([1.0, 0.0], requires_grad=True)
        y = x / 0.0
        assert y.tolist()[0] == np.inf and np.isnan(y.tolist()[1])
        assert (torch.tensor([0.0]) ** -1).tolist() == [np.inf]
        assert np.isnan(torch.zeros(0).mean().item())
        assert np.isnan(torch.zeros(0, 3).mean(0).numpy()).all()
        repr(torch.tensor([1.0, 2.0], dtype=torch.float16).mean())
    assert torch.tensor([1.0, 2.0], dtype=torch.float16).mean().dtype == torch.float16


def test_python_ints_outside_an_integer_dtype_wrap_as_in_pytorch():
    u8 = torch.tensor([3], dtype=torch.uint8)
    assert (u8 + -1).tolist() == [2] and (u8 + -1).dtype == torch.uint8
    assert (u8 + 300).tolist() == [47]
    assert (torch.tensor([3], dtype=torch.int8) * 1000).tolist() == [-72]
    assert (torch.tensor([3], dtype=torch.int8) * -1000).tolist() == [72]
    assert u8.clamp(min=-1).tolist() == [255]
    assert (u8 < -1).tolist() == [True]  # -1 is 255 as a uint8, as PyTorch compares it


def test_matmul_refuses_mixed_dtypes():
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.ones(2, 2) @ torch.ones(2, 2, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.dot(torch.tensor([1, 2]), torch.tensor([1.5, 1.0]))


def test_power_minus_half_keeps_the_sign_of_zero():
    # PyTorch computes x ** -0.5 as 1 / sqrt(x): -0.0 gives -inf, and so does 0.5 * x ** -0.5
    x = torch.tensor([-0.0, 0.0, 4.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (x.detach() ** -0.5).tolist() == [-np.inf, np.inf, 0.5]
        (x**0.5).sum().backward()
    assert x.grad.tolist() == [-np.inf, np.inf, 0.25]


def test_true_division_of_small_int_tensors_by_negative_numbers():
    # (found by the dtype-promotion sweep) the number was first wrapped into the tensor's
    # dtype, as for + and *: uint8 / -2 divided by 254. PyTorch divides in floats.
    u = torch.tensor([3, 0, 5], dtype=torch.uint8)
    assert (u / -2).tolist() == [-1.5, -0.0, -2.5]
    assert (-2 / u).tolist() == pytest.approx([-2 / 3, -math.inf, -0.4])
    assert torch.true_divide(u, -2).tolist() == [-1.5, -0.0, -2.5]
    assert (torch.tensor([3, -1], dtype=torch.int8) / 300).tolist() == pytest.approx(
        [0.01, -1 / 300]
    )
    assert (u * -2).tolist() == [250, 0, 246]  # (products still wrap, as in PyTorch)


def test_add_sub_alpha_compute_in_the_operands_result_dtype():
    # (found by the dtype-promotion sweep) alpha * other was promoted first: int32 + 2 * bool
    # gave int64 and bool + 2 * bool counted to 3; PyTorch casts alpha to the result dtype
    b = torch.tensor([True, False, True])
    i = torch.tensor([-3, 0, 5], dtype=torch.int32)
    r = torch.add(i, b, alpha=2)
    assert r.dtype == torch.int32 and r.tolist() == [-1, 0, 7]
    r = torch.add(torch.tensor([True, False, False]), b, alpha=2)
    assert r.dtype == torch.bool and r.tolist() == [True, False, True]
    u = torch.tensor([3, 0, 5], dtype=torch.uint8)
    assert torch.add(u, b, alpha=2).dtype == torch.uint8
    bb = torch.tensor([True, False, False])
    bb.add_(b, alpha=2)
    assert bb.tolist() == [True, False, True]
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    z = torch.add(x, y, alpha=0.5)
    assert z.dtype == torch.float64 and z.tolist() == [2.5, 4.0]
    z.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0] and y.grad.tolist() == [0.5, 0.5]


def test_mixed_dtype_hypot_fmod_ldexp_xlogy_and_number_first_divisions():
    # (found by the dtype-promotion sweep: each raised or gave another dtype than PyTorch)
    h = torch.hypot(torch.tensor([3, 4]), torch.tensor(4.0))
    assert h.dtype == torch.float32 and h.tolist() == pytest.approx([5.0, 32**0.5])
    with pytest.raises(RuntimeError, match="only floating point"):
        torch.hypot(torch.tensor([3, 4]), torch.tensor([4, 3]))
    f = torch.fmod(torch.tensor([True, False]), 2)
    assert f.dtype == torch.int64 and f.tolist() == [1, 0]
    with pytest.raises(RuntimeError, match="bool"):
        torch.fmod(torch.tensor([True, False]), torch.tensor([True, True]))
    half = torch.tensor([-1.5, 0.0, 2.5], dtype=torch.float16)
    assert torch.ldexp(half, torch.tensor([1, 2, 3])).dtype == torch.float16
    d = torch.ldexp(torch.tensor(2.5, dtype=torch.float64), torch.tensor([1, 2]))
    assert d.dtype == torch.float64 and d.tolist() == [5.0, 10.0]
    assert torch.xlogy(half, -2).dtype == torch.float16
    assert torch.true_divide(2, torch.tensor([4, 5])).tolist() == pytest.approx([0.5, 0.4])
    assert torch.floor_divide(7, torch.tensor([2, -2])).tolist() == [3, -4]
    b = torch.add(torch.tensor([True, False]), True, alpha=2)
    assert b.dtype == torch.bool and b.tolist() == [True, True]
