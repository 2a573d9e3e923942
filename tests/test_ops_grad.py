"""Every differentiable op's backward against central finite differences.

Each test builds float64 leaves from hypothesis-drawn arrays (in a random memory
layout: contiguous, Fortran order, strided, or negative strides) and runs
`tinyconv.autograd.gradcheck`, which compares EVERY element of the Jacobian
from backward with central differences (eps = 1e-6) at tolerances near 1e-6.
Values are drawn from safe domains: positive for log/sqrt/pow/division, away
from the kinks of abs/relu/clamp/maximum/minimum, distinct for max/min.
"""

from __future__ import annotations

import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import (
    broadcastable_pairs,
    distinct_arrays,
    float64_arrays,
    lattice_arrays,
    non_contiguous,
    shapes,
)

import tinyconv as torch
from tinyconv.autograd import gradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}


def leaf(arr: np.ndarray) -> torch.Tensor:
    """A float64 leaf that requires grad, sharing `arr`'s memory (and so its layout)."""
    assert arr.dtype == np.float64
    return torch.from_numpy(arr).requires_grad_()


def check(fn, *arrays: np.ndarray) -> None:
    """gradcheck `fn` at leaves made from `arrays`, and that it really built a graph."""
    inputs = tuple(leaf(a) for a in arrays)
    out = fn(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    assert any(o.requires_grad for o in outs), "the op recorded no graph"
    assert gradcheck(fn, inputs, **TOL)


def arrays(shape, domain: str = "real"):
    """float64 arrays in a safe domain, in a random memory layout."""
    return float64_arrays(shape, domain).flatmap(non_contiguous)


def distinct(shape):
    return distinct_arrays(shape).flatmap(non_contiguous)


@st.composite
def pair(draw, domain_a: str = "real", domain_b: str = "real"):
    sa, sb = draw(broadcastable_pairs())
    return draw(arrays(sa, domain_a)), draw(arrays(sb, domain_b))


@st.composite
def array_and_dims(
    draw, min_dims: int = 0, min_side: int = 1, array=arrays, allow_tuple: bool = True
):
    """(array, dim, keepdim): dim is None, one (possibly negative) dim, or a tuple of dims."""
    shape = draw(shapes(min_dims=min_dims, max_dims=3, min_side=min_side))
    nd = len(shape)
    n = max(nd, 1)
    choices = [st.none(), st.integers(-n, n - 1)]
    if allow_tuple and nd:
        choices.append(
            st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(
                lambda ds: tuple(d - nd if i % 2 else d for i, d in enumerate(ds))
            )
        )
    dim = draw(st.one_of(*choices))
    return draw(array(shape)), dim, draw(st.booleans())


# ---------------------------------------------------------------------------
# elementwise binary ops, with broadcasting
# ---------------------------------------------------------------------------

BINARY = {
    "add": (operator.add, "real", "real"),
    "sub": (operator.sub, "real", "real"),
    "mul": (operator.mul, "real", "real"),
    "div": (operator.truediv, "real", "positive"),
    "pow": (operator.pow, "positive", "real"),
}


@pytest.mark.parametrize("name", list(BINARY))
@given(data=st.data())
def test_binary_broadcast(name, data):
    fn, da, db = BINARY[name]
    a, b = data.draw(pair(da, db))
    check(fn, a, b)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(shapes_=broadcastable_pairs(), data=st.data())
def test_maximum_minimum_broadcast(name, shapes_, data):
    # a on the lattice 0.5 k, b on 0.5 k + 0.25: never a tie, so no kink within eps
    a = data.draw(lattice_arrays(shapes_[0]).flatmap(non_contiguous))
    b = data.draw(lattice_arrays(shapes_[1], offset=0.25).flatmap(non_contiguous))
    op = getattr(torch, name)
    check(op, a, b)
    check(lambda x, y: getattr(x, name)(y), a, b)


def test_maximum_tie_splits_gradient_evenly():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([1.0, 0.0], requires_grad=True)
    torch.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 1.0]
    assert b.grad.tolist() == [0.5, 0.0]


def test_pow_at_zero_base_like_pytorch():
    # d(a^b)/da is taken as 0 where b == 0 (not 0 * inf), and d(a^b)/db as 0 where a == 0, b >= 0
    for exponent in (2, 0, torch.tensor([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0])):
        x = torch.tensor([0.0, 1.0, 2.0], requires_grad=True)
        (x**exponent).sum().backward()
        e = np.broadcast_to(np.asarray(exponent, dtype=np.float64), (3,))
        with np.errstate(divide="ignore", invalid="ignore"):
            expect = np.where(e == 0, 0.0, e * np.array([0.0, 1.0, 2.0]) ** (e - 1))
        np.testing.assert_array_equal(x.grad.numpy(), expect.astype(np.float32))
    x = torch.tensor([0.0, 2.0], requires_grad=True)
    (x**x).sum().backward()
    assert x.grad[0].item() == 0.0 and x.grad[1].item() == pytest.approx(4 * (1 + np.log(2)))


SCALAR_FORMS = {
    "x + c": lambda x, c: x + c,
    "c + x": lambda x, c: c + x,
    "x - c": lambda x, c: x - c,
    "c - x": lambda x, c: c - x,
    "x * c": lambda x, c: x * c,
    "c * x": lambda x, c: c * x,
    "x / c": lambda x, c: x / c,
    "c / x": lambda x, c: c / x,
    "x ** c": lambda x, c: x**c,
    "c ** x": lambda x, c: abs(c) ** x,
    "-x": lambda x, c: -x,
    "+x": lambda x, c: +x * 1,
}


@pytest.mark.parametrize("form", list(SCALAR_FORMS))
@given(
    x=arrays(shapes(), "positive"),
    c=st.one_of(st.floats(-2, 2).filter(lambda v: abs(v) > 0.1), st.integers(-3, 3).filter(bool)),
)
def test_python_scalar_forms(form, x, c):
    fn = SCALAR_FORMS[form]
    check(lambda t: fn(t, c), x)
    out = fn(leaf(x), c)
    assert out.dtype == torch.float64  # a Python scalar never changes a float64 tensor's dtype


NUMPY_FORMS = {
    "x + arr": lambda x, a: x + a,
    "arr + x": lambda x, a: a + x,
    "arr - x": lambda x, a: a - x,
    "arr * x": lambda x, a: a * x,
    "arr / x": lambda x, a: a / x,
    "x / arr": lambda x, a: x / a,
    "arr ** x": lambda x, a: a**x,
    "x ** arr": lambda x, a: x**a,
}


@pytest.mark.parametrize("form", list(NUMPY_FORMS))
@given(shapes_=broadcastable_pairs(), data=st.data())
def test_numpy_array_forms(form, shapes_, data):
    x = data.draw(arrays(shapes_[0], "positive"))
    arr = data.draw(float64_arrays(shapes_[1], "positive"))
    fn = NUMPY_FORMS[form]
    out = fn(leaf(x), arr)
    assert isinstance(out, torch.Tensor)  # not an ndarray of objects
    assert out.shape == np.broadcast_shapes(x.shape, arr.shape)
    check(lambda t: fn(t, arr), x)


def test_float32_broadcast_gradient_dtype_and_shape():
    a = torch.ones(3, 1, requires_grad=True)
    b = torch.ones(4, requires_grad=True)
    c = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    ((a * b) * c).sum().backward()
    assert a.grad.shape == (3, 1) and a.grad.dtype == torch.float32
    assert b.grad.shape == (4,) and b.grad.dtype == torch.float32
    assert c.grad.shape == () and c.grad.dtype == torch.float64
    assert a.grad.tolist() == [[8.0], [8.0], [8.0]]
    assert b.grad.tolist() == [6.0] * 4
    assert c.grad.item() == 12.0


# ---------------------------------------------------------------------------
# elementwise unary ops
# ---------------------------------------------------------------------------

UNARY = {
    "neg": (lambda x: -x, "real"),
    "abs": (lambda x: x.abs(), "nonzero"),
    "abs()": (lambda x: abs(x), "nonzero"),
    "exp": (lambda x: x.exp(), "real"),
    "log": (lambda x: x.log(), "positive"),
    "sqrt": (lambda x: x.sqrt(), "positive"),
    "relu": (lambda x: x.relu(), "nonzero"),
    "sigmoid": (lambda x: x.sigmoid(), "real"),
    "tanh": (lambda x: x.tanh(), "real"),
    "sin": (lambda x: x.sin(), "real"),
    "cos": (lambda x: x.cos(), "real"),
    "square": (lambda x: x.square(), "real"),
    "torch.exp": (lambda x: torch.exp(x), "real"),
    "torch.log": (lambda x: torch.log(x), "positive"),
    "torch.relu": (lambda x: torch.relu(x), "nonzero"),
    "torch.sigmoid": (lambda x: torch.sigmoid(x), "real"),
    "torch.tanh": (lambda x: torch.tanh(x), "real"),
}


@pytest.mark.parametrize("name", list(UNARY))
@given(data=st.data())
def test_unary(name, data):
    fn, domain = UNARY[name]
    x = data.draw(arrays(shapes(), domain))
    check(fn, x)


@given(
    x=lattice_arrays(shapes(), offset=0.25).flatmap(non_contiguous),
    bounds=st.tuples(st.integers(-4, 4), st.integers(-4, 4)),
    which=st.sampled_from(["min", "max", "both"]),
)
def test_clamp(x, bounds, which):
    # x on 0.5 k + 0.25, the bounds on 0.5 k: no element within eps of a bound
    lo, hi = sorted(b * 0.5 for b in bounds)
    kwargs = {"min": {"min": lo}, "max": {"max": hi}, "both": {"min": lo, "max": hi}}[which]
    check(lambda t: t.clamp(**kwargs), x)
    check(lambda t: torch.clamp(t, **kwargs), x)


def test_kink_gradients_match_pytorch():
    x = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    (x.abs() + x.relu() + x.clamp(0.0, 2.0)).sum().backward()
    # abs'(0) = 0, relu'(0) = 0, clamp passes the gradient at its bounds (all as PyTorch)
    assert x.grad.tolist() == [-1.0, 1.0, 3.0]


# ---------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------


@given(adk=array_and_dims())
def test_sum(adk):
    x, dim, keepdim = adk
    check(lambda t: t.sum(dim=dim, keepdim=keepdim), x)
    check(lambda t: torch.sum(t, dim, keepdim), x)


@given(adk=array_and_dims())
def test_mean(adk):
    x, dim, keepdim = adk
    check(lambda t: t.mean(dim=dim, keepdim=keepdim), x)


@pytest.mark.parametrize("name", ["max", "min"])
@given(x=distinct(shapes()))
def test_max_min_whole(name, x):
    check(lambda t: getattr(t, name)(), x)


@pytest.mark.parametrize("name", ["max", "min"])
@given(adk=array_and_dims(array=distinct, allow_tuple=False))
def test_max_min_dim(name, adk):
    x, dim, keepdim = adk
    if dim is None:
        dim = 0
    check(lambda t: getattr(t, name)(dim, keepdim)[0], x)
    check(lambda t: getattr(t, name)(dim=dim, keepdim=keepdim).values, x)
    values, indices = getattr(leaf(x), name)(dim, keepdim)
    x1 = x.reshape(x.shape or (1,))
    expect = (np.argmax if name == "max" else np.argmin)(x1, axis=dim, keepdims=keepdim)
    np.testing.assert_array_equal(indices.numpy(), expect.reshape(indices.shape))
    expect = (np.amax if name == "max" else np.amin)(x1, axis=dim, keepdims=keepdim)
    np.testing.assert_array_equal(values.detach().numpy(), expect.reshape(values.shape))
    expect_shape = np.amax(x, axis=dim, keepdims=keepdim).shape if x.ndim else ()  # 0-d stays 0-d
    assert values.shape == indices.shape == expect_shape
    assert indices.dtype == torch.int64 and not indices.requires_grad


@pytest.mark.parametrize("name", ["amax", "amin"])
@given(adk=array_and_dims(array=distinct))
def test_amax_amin(name, adk):
    x, dim, keepdim = adk
    if dim is None:
        check(lambda t: getattr(t, name)(), x)
    else:
        check(lambda t: getattr(t, name)(dim, keepdim), x)


def test_max_ties_share_gradient_like_pytorch():
    x = torch.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], requires_grad=True)
    x.max().backward()  # whole-tensor max: tied maxima share the gradient evenly
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]
    x.grad = None
    x.amax(dim=1).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [0.5, 0.0, 0.5]]
    x.grad = None
    x.max(dim=1).values.sum().backward()  # with dim: the gradient goes to the returned index only
    assert x.grad.sum(dim=1).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("name", ["var", "std"])
@given(adk=array_and_dims(min_dims=1, min_side=2, array=distinct), unbiased=st.booleans())
def test_var_std(name, adk, unbiased):
    x, dim, keepdim = adk
    check(lambda t: getattr(t, name)(dim=dim, unbiased=unbiased, keepdim=keepdim), x)
    ref = (np.var if name == "var" else np.std)(x, axis=dim, ddof=int(unbiased), keepdims=keepdim)
    np.testing.assert_allclose(
        getattr(leaf(x), name)(dim=dim, unbiased=unbiased, keepdim=keepdim).detach().numpy(),
        ref,
        rtol=1e-12,
    )


@given(x=distinct(shapes(min_dims=1, min_side=2)), correction=st.sampled_from([0, 1]))
def test_var_correction_keyword(x, correction):
    check(lambda t: t.var(0, correction=correction), x)
    check(lambda t: t.std(-1, keepdim=True, correction=correction), x)


# ---------------------------------------------------------------------------
# matmul
# ---------------------------------------------------------------------------


@st.composite
def matmul_shapes(draw):
    """Operand shapes for every matmul case: 1-D and 2-D operands, and broadcast batches."""
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    kind = draw(
        st.sampled_from(["1d@1d", "1d@2d", "2d@1d", "2d@2d", "batched", "batched@1d", "1d@batched"])
    )
    if kind == "1d@1d":
        return (k,), (k,)
    if kind == "1d@2d":
        return (k,), (k, m)
    if kind == "2d@1d":
        return (n, k), (k,)
    if kind == "2d@2d":
        return (n, k), (k, m)
    ba, bb = draw(broadcastable_pairs(min_dims=1, max_dims=2, max_side=2))
    if kind == "batched@1d":
        return ba + (n, k), (k,)
    if kind == "1d@batched":
        return (k,), bb + (k, m)
    return ba + (n, k), bb + (k, m)


@given(sh=matmul_shapes(), data=st.data())
def test_matmul(sh, data):
    a, b = data.draw(arrays(sh[0])), data.draw(arrays(sh[1]))
    check(operator.matmul, a, b)
    check(torch.matmul, a, b)
    np.testing.assert_allclose(
        torch.matmul(leaf(a), leaf(b)).detach().numpy(), np.matmul(a, b), rtol=1e-12
    )


@given(data=st.data())
def test_matmul_with_numpy_operand(data):
    n, k = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    x = data.draw(arrays((n, k)))
    arr = data.draw(float64_arrays((k, n)))
    check(lambda t: t @ arr, x)
    check(lambda t: arr @ t, x)


@given(data=st.data())
def test_mm_and_dot(data):
    n, k, m = (data.draw(st.integers(1, 3)) for _ in range(3))
    check(lambda a, b: a.mm(b), data.draw(arrays((n, k))), data.draw(arrays((k, m))))
    check(torch.dot, data.draw(arrays((k,))), data.draw(arrays((k,))))


# ---------------------------------------------------------------------------
# shape ops
# ---------------------------------------------------------------------------


@st.composite
def reshape_targets(draw):
    """(array, new shape with maybe one -1) holding the same number of elements."""
    x = draw(arrays(shapes(min_dims=0)))
    n = x.size
    factors = []
    rest = n
    for _ in range(draw(st.integers(0, 3))):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0]
        d = draw(st.sampled_from(divisors))
        factors.append(d)
        rest //= d
    factors.append(rest)
    factors = draw(st.permutations(factors))
    if draw(st.booleans()):
        factors = list(factors)
        factors[draw(st.integers(0, len(factors) - 1))] = -1
    return x, tuple(factors)


@given(xs=reshape_targets(), as_tuple=st.booleans())
def test_reshape(xs, as_tuple):
    x, shape = xs
    check(lambda t: t.reshape(shape) if as_tuple else t.reshape(*shape), x)
    check(lambda t: torch.reshape(t, shape), x)


@given(xs=reshape_targets())
def test_view(xs):
    x, shape = xs
    x = np.ascontiguousarray(x)  # view needs a compatible layout
    check(lambda t: t.view(*shape), x)
    check(lambda t: t.view(shape) * 2, x)


@given(x=arrays(shapes(min_dims=1)), data=st.data())
def test_transpose(x, data):
    n = x.ndim
    d0, d1 = data.draw(st.integers(-n, n - 1)), data.draw(st.integers(-n, n - 1))
    check(lambda t: t.transpose(d0, d1), x)
    check(lambda t: torch.transpose(t, d0, d1), x)
    check(lambda t: t.T, x)


@given(x=arrays(shapes(min_dims=2, max_dims=2)))
def test_t(x):
    check(lambda t: t.t(), x)


@given(x=arrays(shapes(min_dims=0)), data=st.data())
def test_permute(x, data):
    perm = data.draw(st.permutations(range(x.ndim)))
    if perm:  # (as PyTorch's, the spread-out form needs at least one dim: permute() raises)
        check(lambda t: t.permute(*perm), x)
    check(lambda t: t.permute(tuple(perm)), x)


@given(x=arrays(shapes(min_dims=0)), data=st.data())
def test_flatten(x, data):
    n = max(x.ndim, 1)
    s = data.draw(st.integers(-n, n - 1))
    e = data.draw(st.integers(s % n, n - 1))
    check(lambda t: t.flatten(), x)
    check(lambda t: t.flatten(s, e), x)
    check(lambda t: torch.flatten(t, s), x)


@given(x=arrays(shapes(min_dims=0, min_side=1, max_side=2)), data=st.data())
def test_squeeze_unsqueeze(x, data):
    n = max(x.ndim, 1)
    check(lambda t: t.squeeze(), x)
    d = data.draw(st.integers(-n, n - 1))
    check(lambda t: t.squeeze(d), x)
    u = data.draw(st.integers(-x.ndim - 1, x.ndim))
    check(lambda t: t.unsqueeze(u), x)
    check(lambda t: torch.unsqueeze(t, u).squeeze(u), x)


@st.composite
def expand_targets(draw):
    x = draw(arrays(shapes(min_dims=0, max_side=2)))
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    sizes = list(lead)
    for s in x.shape:
        sizes.append(draw(st.sampled_from([-1, s] + ([1, 2, 3] if s == 1 else []))))
    return x, tuple(sizes)


@given(xs=expand_targets(), as_tuple=st.booleans())
def test_expand(xs, as_tuple):
    x, sizes = xs
    check(lambda t: t.expand(sizes) if as_tuple or not sizes else t.expand(*sizes), x)


@given(x=arrays(shapes(min_dims=0, max_side=3)), data=st.data())
def test_repeat(x, data):
    reps = data.draw(st.lists(st.integers(1, 3), min_size=x.ndim, max_size=x.ndim + 1))
    check(lambda t: t.repeat(*reps) if reps else t.repeat(()), x)
    np.testing.assert_array_equal(leaf(x).repeat(tuple(reps)).detach().numpy(), np.tile(x, reps))


@given(x=arrays(shapes(min_dims=1)), data=st.data())
def test_flip(x, data):
    dims = data.draw(st.lists(st.integers(0, x.ndim - 1), min_size=1, max_size=x.ndim, unique=True))
    check(lambda t: t.flip(*dims), x)
    check(lambda t: torch.flip(t, dims), x)
    np.testing.assert_array_equal(leaf(x).flip(dims).detach().numpy(), np.flip(x, dims))


@given(x=arrays(shapes(min_dims=1)), data=st.data())
def test_split_chunk_unbind(x, data):
    n = x.ndim
    d = data.draw(st.integers(-n, n - 1))
    size = data.draw(st.integers(1, 3))
    check(lambda t: t.split(size, d), x)
    check(lambda t: t.chunk(2, d), x)
    check(lambda t: t.unbind(d), x)


# ---------------------------------------------------------------------------
# joining and selecting
# ---------------------------------------------------------------------------


@given(base=shapes(min_dims=1), data=st.data())
def test_cat(base, data):
    d = data.draw(st.integers(-len(base), len(base) - 1))
    parts = []
    for _ in range(data.draw(st.integers(1, 3))):
        shape = list(base)
        shape[d] = data.draw(st.integers(1, 3))
        parts.append(data.draw(arrays(tuple(shape))))
    check(lambda *ts: torch.cat(ts, dim=d), *parts)
    check(lambda *ts: torch.cat(list(ts), d), *parts)


@given(shape=shapes(min_dims=0), data=st.data())
def test_stack(shape, data):
    n = len(shape) + 1
    d = data.draw(st.integers(-n, n - 1))
    parts = [data.draw(arrays(shape)) for _ in range(data.draw(st.integers(1, 3)))]
    check(lambda *ts: torch.stack(ts, dim=d), *parts)
    np.testing.assert_array_equal(
        torch.stack([leaf(p) for p in parts], d).detach().numpy(), np.stack(parts, d)
    )


@given(
    shapes3=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3).map(
        lambda b: b.input_shapes
    ),
    data=st.data(),
)
def test_where(shapes3, data):
    cond = data.draw(hnp.arrays(np.bool_, shapes3[0]))
    a, b = data.draw(arrays(shapes3[1])), data.draw(arrays(shapes3[2]))
    c = torch.tensor(cond)
    check(lambda x, y: torch.where(c, x, y), a, b)
    check(lambda x: torch.where(c, x, 0.5), a)
    check(lambda y: torch.where(c, 2.0, y), b)
    np.testing.assert_array_equal(
        torch.where(c, leaf(a), leaf(b)).detach().numpy(), np.where(cond, a, b)
    )


# ---------------------------------------------------------------------------
# indexing: __getitem__ and __setitem__
# ---------------------------------------------------------------------------


def _positive_steps(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(not (isinstance(i, slice) and i.step is not None and i.step < 0) for i in items)


@st.composite
def basic_index_cases(draw):
    """(array, index) with ints, slices (positive steps, as PyTorch), None and `...`."""
    shape = draw(shapes(min_dims=1))
    index = draw(hnp.basic_indices(shape, allow_newaxis=True).filter(_positive_steps))
    return draw(arrays(shape)), index


@given(case=basic_index_cases())
def test_getitem_basic(case):
    x, index = case
    check(lambda t: t[index], x)
    np.testing.assert_array_equal(leaf(x)[index].detach().numpy(), x[index])


@st.composite
def advanced_index_cases(draw, unique: bool = False):
    """(array, index): integer arrays (repeats allowed unless `unique`), negative
    entries, boolean masks, mixed with slices; as Tensors, ndarrays or lists."""
    shape = draw(shapes(min_dims=1))
    nd = len(shape)
    kind = draw(st.sampled_from(["int_one_dim", "int_all_dims", "bool_mask", "bool_prefix"]))
    if kind == "int_one_dim":
        d = draw(st.integers(0, nd - 1))
        n = shape[d]
        ids = draw(
            st.lists(
                st.integers(-n, n - 1),
                min_size=1,
                max_size=5,
                unique_by=(lambda i: i % n) if unique else None,
            )
        )
        wrap = draw(st.sampled_from(["tensor", "ndarray", "list"]))
        idx = torch.tensor(ids) if wrap == "tensor" else np.array(ids) if wrap == "ndarray" else ids
        index = (slice(None),) * d + (idx,)
    elif kind == "int_all_dims":
        index = draw(
            hnp.integer_array_indices(
                shape, result_shape=shapes(min_dims=1, max_dims=2, max_side=3)
            )
        )
        if unique:
            flat = np.ravel_multi_index(
                tuple(np.mod(i, s) for i, s in zip(index, shape, strict=True)), shape
            )
            if len(set(flat.ravel().tolist())) != flat.size:
                index = tuple(i.ravel()[:1] for i in index)
        index = tuple(torch.tensor(i) for i in index)
    elif kind == "bool_mask":
        index = torch.tensor(draw(hnp.arrays(np.bool_, shape)))
    else:
        mask = draw(hnp.arrays(np.bool_, shape[:1]))
        index = (np.asarray(mask), Ellipsis)
    return draw(arrays(shape)), index


def _np_index(index):
    items = index if isinstance(index, tuple) else (index,)
    out = tuple(i.numpy() if isinstance(i, torch.Tensor) else i for i in items)
    return out if isinstance(index, tuple) else out[0]


@given(case=advanced_index_cases())
def test_getitem_advanced(case):
    x, index = case
    check(lambda t: t[index], x)
    np.testing.assert_array_equal(leaf(x)[index].detach().numpy(), x[_np_index(index)])


def test_getitem_repeated_indices_accumulate():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[torch.tensor([0, 2, 0, 0])].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


@st.composite
def setitem_cases(draw):
    """(array, index, value array) with value of the indexed part's shape, or broadcastable to
    it."""
    if draw(st.booleans()):
        x, index = draw(basic_index_cases())
    else:
        x, index = draw(advanced_index_cases(unique=True))
    target = x[_np_index(index)].shape
    vshape = target
    if target and draw(st.booleans()):
        vshape = target[draw(st.integers(0, len(target))) :]  # drop leading dims: broadcasts
    return x, index, draw(arrays(vshape))


@given(case=setitem_cases())
def test_setitem(case):
    x, index, v = case

    def fn(t, val):
        y = t * 1.0
        y[index] = val
        return y

    check(fn, x, v)
    y = fn(leaf(x), leaf(v))
    expect = x.copy()
    expect[_np_index(index)] = v
    np.testing.assert_array_equal(y.detach().numpy(), expect)
    assert y.grad_fn is not None


@given(case=setitem_cases(), scalar=st.floats(-2, 2))
def test_setitem_python_scalar_gives_zero_grad_to_overwritten(case, scalar):
    x, index, _ = case

    def fn(t):
        y = t * 1.0
        y[index] = scalar
        return y

    check(fn, x)
    t = leaf(x)
    fn(t).sum().backward()
    expect = np.ones_like(x)
    expect[_np_index(index)] = 0.0
    np.testing.assert_array_equal(t.grad.numpy(), expect)


def _view_index(index):
    """`index` as a tuple that makes NumPy return a view even when it picks one element."""
    items = index if isinstance(index, tuple) else (index,)
    return items if any(i is Ellipsis for i in items) else (*items, Ellipsis)


@st.composite
def view_setitem_cases(draw):
    """(array, i1, i2, value): `y[i1][i2] = value` writes through the view y[i1]."""
    shape = draw(shapes(min_dims=1))
    i1 = draw(hnp.basic_indices(shape, allow_newaxis=True).filter(_positive_steps))
    vshape = np.empty(shape)[_view_index(i1)].shape
    i2 = draw(hnp.basic_indices(vshape).filter(_positive_steps)) if vshape else Ellipsis
    target = np.empty(vshape)[_view_index(i2)].shape
    return draw(arrays(shape)), i1, i2, draw(arrays(target))


@given(case=view_setitem_cases())
def test_setitem_through_a_view(case):
    x, i1, i2, v = case

    def fn(t, val):
        y = t * 1.0
        y[i1][i2] = val  # the write must reach y's graph (PyTorch's view semantics)
        return y

    check(fn, x, v)
    expect = x.copy()
    expect[_view_index(i1)][_view_index(i2)] = v
    np.testing.assert_array_equal(fn(leaf(x), leaf(v)).detach().numpy(), expect)


# ---------------------------------------------------------------------------
# dtype casts, clone, and composites
# ---------------------------------------------------------------------------


@given(x=arrays(shapes()))
def test_clone_and_casts(x):
    check(lambda t: t.clone(), x)
    check(lambda t: t.contiguous() * 1, x)
    check(lambda t: t.to(torch.float64) * 2, x)
    check(lambda t: t.double(), x)


@given(x=arrays(shapes(min_dims=1)))
def test_iteration_and_zip(x):
    check(
        lambda t: torch.stack([row * k for row, k in zip(t, range(1, len(t) + 1), strict=True)]), x
    )


@given(data=st.data())
def test_textbook_corr2d(data):
    """The textbook cross-correlation built with __setitem__ in a loop, both inputs
    differentiable."""
    h, w = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    X = data.draw(arrays((h + data.draw(st.integers(0, 2)), w + data.draw(st.integers(0, 2)))))
    K = data.draw(arrays((h, w)))

    def corr2d(X, K):
        h, w = K.shape
        Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1), dtype=torch.float64)
        for i in range(Y.shape[0]):
            for j in range(Y.shape[1]):
                Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
        return Y

    check(corr2d, X, K)


@given(x=arrays(shapes(min_dims=1, max_dims=2), "positive"))
def test_composite_chain(x):
    # shared subexpressions, a diamond, and several ops in one graph
    def fn(t):
        u = t.exp()
        v = (u * t).sum(0, keepdim=True) / t.sqrt()
        return (v - u.log() + t.sigmoid() * v).tanh().mean()

    check(fn, x)


def test_gradcheck_perturbs_non_contiguous_inputs_in_place():
    base = np.arange(6.0).reshape(2, 3) + 1.0
    for arr in (base.T, base[:, ::2], base[::-1]):
        assert not arr.flags.c_contiguous
        assert gradcheck(lambda t: t * t, (leaf(arr),), **TOL)


# -- torch.special's Bessel, normal-CDF, erfcx, entr, xlog1py, zeta, multigammaln -------------

SPECIAL_UNARY = {
    # name: (function, domain: values where the op is smooth)
    "i0": (lambda t: torch.special.i0(t), "real"),
    "i0e": (lambda t: torch.special.i0e(t), "nonzero"),  # (|x|'s kink at 0)
    "i1": (lambda t: torch.special.i1(t), "real"),
    "i1e": (lambda t: torch.special.i1e(t), "nonzero"),
    "i0_far": (lambda t: torch.special.i0(t * 20), "nonzero"),  # the asymptotic series
    "i1e_far": (lambda t: torch.special.i1e(t * 20), "nonzero"),
    "ndtr": (lambda t: torch.special.ndtr(t * 3), "real"),
    "log_ndtr": (lambda t: torch.special.log_ndtr(t * 4), "real"),  # both of its branches
    "ndtri": (lambda t: torch.special.ndtri(t / 3.5), "positive"),  # p in (0.14, 0.86)
    "ndtri_tail": (lambda t: torch.special.ndtri(t * 1e-4), "positive"),
    "erfcx": (lambda t: torch.special.erfcx(t * 4), "real"),  # both signs, x up to 8
    "entr": (lambda t: torch.special.entr(t), "positive"),
    "multigammaln": (lambda t: torch.special.multigammaln(t + 1.5, 3), "positive"),
}


@pytest.mark.parametrize("name", SPECIAL_UNARY)
@given(data=st.data())
def test_special_functions(name, data):
    fn, domain = SPECIAL_UNARY[name]
    x = data.draw(arrays(shapes(min_dims=1, max_dims=2), domain))
    check(fn, x)
    # double backward: the backward is written in the same differentiable ops
    t = leaf(x.copy())
    assert torch.autograd.gradgradcheck(fn, (t,), **TOL)


def test_i1_second_derivative_is_exact_near_zero():
    """i1' = i0 - i1 / x: the second derivative of i1 / x cancels to noise near 0 (PyTorch's
    gives -2.4e-4 at x = 1e-12 and -6e-8 at 1e-9, against 3x/8), so near 0 tinyconv takes
    i1 / x from its series, on both sides of the switch at |x| = 1e-2."""
    x = np.array([0.0, 1e-12, -1e-9, 3e-5, -0.004, 0.00999, 0.01001, 0.3])
    assert torch.autograd.gradgradcheck(torch.special.i1, (leaf(x.copy()),), **TOL)
    # (i1e has |x|'s kink at 0: checked where the finite differences do not straddle it)
    assert torch.autograd.gradgradcheck(torch.special.i1e, (leaf(x[3:].copy()),), **TOL)
    t = leaf(x[:4].copy())
    (g,) = torch.autograd.grad(torch.special.i1(t).sum(), t, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), t)
    np.testing.assert_allclose(g.detach().numpy(), 0.5 + 3 * x[:4] ** 2 / 16, rtol=1e-15)
    np.testing.assert_allclose(gg.numpy(), 3 * x[:4] / 8, rtol=1e-9, atol=0)


@given(p=pair("real", "positive"))
def test_special_xlog1py_and_zeta(p):
    a, b = p
    check(lambda x, y: torch.special.xlog1py(x, y), a, b)
    # zeta: a gradient in q only (none in x, as in PyTorch)
    x = torch.tensor(np.abs(a) + 1.5)
    check(lambda q: torch.special.zeta(x, q), b)
