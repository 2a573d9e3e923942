"""More of PyTorch's ops: diagonal (a view), fill_diagonal_, logaddexp(2), take_along_dim,
unique_consecutive.

Each differentiable op: backward (and double backward) against float64 central finite
differences on hypothesis-drawn shapes; values, dtypes, shapes, requires_grad, gradients and
raises-or-not against PyTorch 2.13 (the `torch` tests, skipped without it).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import broadcastable_pairs, diagonal_configs, float64_arrays, shapes

import tinyconv
from tinyconv.autograd import gradcheck, gradgradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}


def leaf(arr: np.ndarray) -> tinyconv.Tensor:
    return tinyconv.from_numpy(np.asarray(arr, dtype=np.float64)).requires_grad_()


def check(fn, *arrays: np.ndarray, second: bool = True) -> None:
    inputs = tuple(leaf(a) for a in arrays)
    assert fn(*inputs).requires_grad, "the op recorded no graph"
    assert gradcheck(fn, inputs, **TOL)
    if second:
        assert gradgradcheck(fn, inputs, **TOL)


def _run(lib, program):
    try:
        return ("ok", program(lib))
    except Exception as e:  # noqa: BLE001  (compared with PyTorch's verdict)
        return ("raise", e)


def same_as_torch(program, grads: bool = True) -> None:
    """program(lib) in both libraries: raises-or-not; results' shape, dtype, requires_grad,
    values; the gradient of every leaf the program hands back as `leaves`."""
    torch = pytest.importorskip("torch")
    a, b = _run(torch, program), _run(tinyconv, program)
    assert a[0] == b[0], f"torch: {a[1]!r}, tinyconv: {b[1]!r}"
    if a[0] == "raise":
        if isinstance(a[1], IndexError):
            assert isinstance(b[1], IndexError), b[1]
        else:
            assert isinstance(b[1], (RuntimeError, ValueError, TypeError)), b[1]
        return
    want, got = a[1], b[1]
    want_out, want_leaves = want if isinstance(want, tuple) and len(want) == 2 else (want, ())
    got_out, got_leaves = got if isinstance(got, tuple) and len(got) == 2 else (got, ())
    if not isinstance(want_out, (tuple, list)):
        want_out, got_out = (want_out,), (got_out,)
    assert len(want_out) == len(got_out)
    for w, g in zip(want_out, got_out, strict=True):
        assert tuple(g.shape) == tuple(w.shape)
        assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1]
        assert g.requires_grad == w.requires_grad
        np.testing.assert_allclose(
            g.detach().numpy(), w.detach().numpy(), rtol=1e-6, atol=1e-7, equal_nan=True
        )
    if grads and want_out[0].requires_grad:
        seed = np.random.default_rng(0).standard_normal(tuple(want_out[0].shape))
        (want_out[0] * torch.tensor(seed, dtype=want_out[0].dtype)).sum().backward()
        (got_out[0] * tinyconv.tensor(seed, dtype=got_out[0].dtype)).sum().backward()
        for w, g in zip(want_leaves, got_leaves, strict=True):
            assert (w.grad is None) == (g.grad is None)
            if w.grad is not None:
                assert str(g.grad.dtype).split(".")[-1] == str(w.grad.dtype).split(".")[-1]
                np.testing.assert_allclose(
                    g.grad.numpy(), w.grad.numpy(), rtol=1e-6, atol=1e-7, equal_nan=True
                )


def leaf_of(lib, arr, dtype="float64"):
    return lib.tensor(np.asarray(arr).tolist(), dtype=getattr(lib, dtype), requires_grad=True)


# -- diagonal ----------------------------------------------------------------------------


@given(diagonal_configs(), st.data())
def test_diagonal_backward(cfg, data):
    shape, offset, d1, d2 = cfg
    x = data.draw(float64_arrays(shape))
    check(lambda t: t.diagonal(offset, d1, d2), x)


@pytest.mark.torch
@given(diagonal_configs(), st.data())
def test_diagonal_matches_torch(cfg, data):
    shape, offset, d1, d2 = cfg
    x = data.draw(float64_arrays(shape))

    def program(lib):
        t = leaf_of(lib, x)
        return lib.diagonal(t, offset=offset, dim1=d1, dim2=d2), (t,)

    same_as_torch(program)


def test_diagonal_is_a_view_writes_reach_the_base():
    base = tinyconv.zeros(3, 4)
    d = base.diagonal(1)
    d.fill_(7.0)
    np.testing.assert_array_equal(base.numpy(), np.eye(3, 4, 1) * 7)
    base.add_(1.0)  # and the base's writes show in the view
    np.testing.assert_array_equal(d.numpy(), [8.0, 8.0, 8.0])


@pytest.mark.torch
def test_diagonal_inplace_through_view_history_matches_torch():
    x0 = np.arange(12.0).reshape(3, 4) / 7

    def program(lib):
        x = leaf_of(lib, x0)
        y = x * 2
        y.diagonal(-1).mul_(3)  # CopySlices: y's history now has the diagonal times 3
        return y.exp(), (x,)

    same_as_torch(program)


@pytest.mark.torch
@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.zeros(2, 3).diagonal(0, 1, 1),
        lambda lib: lib.zeros(2, 3).diagonal(0, 0, 2),
        lambda lib: lib.tensor(1.0).diagonal(),
        lambda lib: lib.zeros(2, 3).diagonal(1.0),
        lambda lib: lib.zeros(2, 3, 4).diagonal(-5, 2, 0),
        lambda lib: lib.zeros(2, 3, dtype=lib.int32).diagonal(-1),
        lambda lib: lib.zeros(3, 3).diagonal(dim1=-1, dim2=-2),
    ],
)
def test_diagonal_cases_match_torch(call):
    same_as_torch(call, grads=False)


@pytest.mark.torch
@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.zeros(4, 3).fill_diagonal_(1.5),
        lambda lib: lib.zeros(7, 3).fill_diagonal_(1, wrap=True),
        lambda lib: lib.zeros(5, 2).fill_diagonal_(1, wrap=True),
        lambda lib: lib.zeros(3, 7).fill_diagonal_(2, wrap=True),
        lambda lib: lib.zeros(3, 3, 3).fill_diagonal_(-1),
        lambda lib: lib.zeros(2, 2, dtype=lib.bool).fill_diagonal_(2),
        lambda lib: lib.zeros(0, 3).fill_diagonal_(2),
        lambda lib: lib.zeros(3).fill_diagonal_(2),
        lambda lib: lib.zeros(2, 3, 3).fill_diagonal_(2),
        lambda lib: lib.zeros(2, 2).fill_diagonal_(lib.tensor(4.0)),
        lambda lib: lib.zeros(2, 2, requires_grad=True).fill_diagonal_(1.0),
    ],
)
def test_fill_diagonal_matches_torch(call):
    same_as_torch(call, grads=False)


@pytest.mark.torch
def test_fill_diagonal_gradient_matches_torch():
    x0 = np.linspace(-1, 1, 12).reshape(4, 3)

    def program(lib):
        x = leaf_of(lib, x0)
        y = x * 1
        y.fill_diagonal_(2.0, wrap=True)
        return y * x, (x,)

    same_as_torch(program)


@pytest.mark.torch
@pytest.mark.parametrize(
    "shape,args",
    [((3,), (0, -2, -1)), ((2, 3), (1, 0, 2)), ((2, 3), (-2, 2, 1)), ((4,), (0, 0, 1))],
)
def test_diag_embed_matches_torch(shape, args):
    x0 = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) / 3

    def program(lib):
        x = leaf_of(lib, x0)
        return lib.diag_embed(x, *args), (x,)

    same_as_torch(program)


# -- logaddexp, logaddexp2 -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
@given(broadcastable_pairs(), st.data())
def test_logaddexp_backward(name, shapes_ab, data):
    a = data.draw(float64_arrays(shapes_ab[0]))
    b = data.draw(float64_arrays(shapes_ab[1]))
    check(lambda x, y: getattr(tinyconv, name)(x, y), a, b)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
@given(broadcastable_pairs(), st.data())
def test_logaddexp_matches_torch(name, shapes_ab, data):
    a = data.draw(float64_arrays(shapes_ab[0]))
    b = data.draw(float64_arrays(shapes_ab[1]))

    def program(lib):
        x, y = leaf_of(lib, a), leaf_of(lib, b)
        return getattr(x, name)(y), (x, y)

    same_as_torch(program)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_logaddexp_extremes_match_torch(name):
    """No overflow at +-1000; -inf with -inf is -inf; the gradient at +-inf pairs is nan."""
    vals = [-np.inf, -1000.0, 0.0, 1000.0, np.inf, np.nan]
    a = np.array([[v] * len(vals) for v in vals])

    def program(lib):
        x, y = leaf_of(lib, a), leaf_of(lib, a.T.copy())
        return getattr(lib, name)(x, y), (x, y)

    same_as_torch(program)


@pytest.mark.torch
@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.logaddexp(lib.tensor([1, 2]), lib.tensor([3, 4])),
        lambda lib: lib.logaddexp(lib.tensor([1, 2]), lib.tensor([3.0, 4.0])),
        lambda lib: lib.logaddexp(lib.tensor([True]), lib.tensor([3.0, 4.0])),
        lambda lib: lib.logaddexp2(lib.tensor([1.0, 2.0], dtype=lib.float16), lib.tensor([1.0])),
        lambda lib: lib.logaddexp(lib.tensor([1.0, 2.0]), lib.tensor(3.0, dtype=lib.float64)),
        lambda lib: lib.logaddexp(lib.tensor([1.0, 2.0]), 3),
        lambda lib: lib.logaddexp(2.0, lib.tensor([1.0])),
        lambda lib: lib.logaddexp(lib.zeros(2, 3), lib.zeros(3, 2)),
        lambda lib: lib.zeros(3).logaddexp2(lib.zeros(1, 3, dtype=lib.float64)),
    ],
)
def test_logaddexp_dtypes_and_errors_match_torch(call):
    same_as_torch(call, grads=False)


# -- take_along_dim ------------------------------------------------------------------------


@st.composite
def take_along_configs(draw):
    """(input shape, indices array, dim): shapes that broadcast outside dim."""
    shape = draw(shapes(min_dims=1, max_dims=3, max_side=3))
    if draw(st.booleans()):
        n = int(np.prod(shape))
        idx = draw(st.lists(st.integers(0, n - 1), min_size=0, max_size=5))
        return shape, np.array(idx, dtype=np.int64), None
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    d = dim % len(shape)
    ishape = [draw(st.sampled_from([1, s])) for s in shape]
    ishape[d] = draw(st.integers(0, 4))
    idx = draw(
        st.lists(
            st.integers(0, shape[d] - 1),
            min_size=int(np.prod(ishape)),
            max_size=int(np.prod(ishape)),
        )
    )
    return shape, np.array(idx, dtype=np.int64).reshape(ishape), dim


@given(take_along_configs(), st.data())
def test_take_along_dim_backward(cfg, data):
    shape, idx, dim = cfg
    x = data.draw(float64_arrays(shape))
    index = tinyconv.from_numpy(idx)
    check(lambda t: tinyconv.take_along_dim(t, index, dim), x)


@pytest.mark.torch
@given(take_along_configs(), st.data())
def test_take_along_dim_matches_torch(cfg, data):
    shape, idx, dim = cfg
    x0 = data.draw(float64_arrays(shape))

    def program(lib):
        x = leaf_of(lib, x0)
        return lib.take_along_dim(x, lib.from_numpy(idx.copy()), dim=dim), (x,)

    same_as_torch(program)


@pytest.mark.torch
@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.take_along_dim(lib.ones(3, 4), lib.tensor([[[1]]]), dim=1),
        lambda lib: lib.take_along_dim(lib.ones(3, 4), lib.tensor([[1.0]]), dim=1),
        lambda lib: lib.take_along_dim(lib.ones(3, 4), lib.tensor([[1]], dtype=lib.int32), 1),
        lambda lib: lib.take_along_dim(lib.ones(3, 4), lib.tensor([[1]]), dim=2),
        lambda lib: lib.take_along_dim(lib.ones(3, 4), lib.tensor([-1])),
        lambda lib: lib.take_along_dim(lib.ones(3, 4), lib.tensor([12])),
        lambda lib: lib.take_along_dim(lib.ones(3, 4), lib.zeros(2, 1, dtype=lib.long), dim=1),
        lambda lib: lib.take_along_dim(lib.tensor(3.0), lib.tensor(0), dim=0),
        lambda lib: lib.take_along_dim(lib.tensor(3.0), lib.tensor([0, 0])),
        lambda lib: lib.take_along_dim(lib.ones(3, 4), lib.tensor([[0]]), dim=1.0),
        lambda lib: lib.arange(6).reshape(2, 3).take_along_dim(lib.tensor([[2], [0]]), 1),
    ],
)
def test_take_along_dim_cases_match_torch(call):
    same_as_torch(call, grads=False)


def test_take_along_dim_refuses_out_of_range_index_along_dim():
    """PyTorch 2.13 reads outside the dim here (no bounds check); tinyconv raises."""
    with pytest.raises(IndexError, match="out of bounds"):
        tinyconv.take_along_dim(tinyconv.ones(3, 4), tinyconv.tensor([[9]]), dim=1)
    with pytest.raises(IndexError, match="out of bounds"):
        tinyconv.take_along_dim(tinyconv.ones(3, 4), tinyconv.tensor([[-1]]), dim=1)


# -- unique_consecutive --------------------------------------------------------------------


@pytest.mark.torch
@given(
    shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    st.data(),
    st.booleans(),
    st.booleans(),
)
def test_unique_consecutive_matches_torch(shape, data, inverse, counts):
    # few distinct values, so that runs (of elements and of slices) occur
    x0 = data.draw(
        st.lists(
            st.sampled_from([0.0, 1.0, np.nan]),
            min_size=int(np.prod(shape)),
            max_size=int(np.prod(shape)),
        )
    )
    x0 = np.array(x0, dtype=np.float64).reshape(shape)
    dim = data.draw(st.one_of(st.none(), st.integers(-max(len(shape), 1), max(len(shape), 1) - 1)))

    def program(lib):
        x = leaf_of(lib, x0)
        return lib.unique_consecutive(x, return_inverse=inverse, return_counts=counts, dim=dim)

    same_as_torch(program, grads=False)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["bool", "uint8", "int64", "float32"])
def test_unique_consecutive_dtypes_match_torch(dtype):
    vals = [[1, 1, 0], [1, 1, 0], [0, 0, 1], [1, 1, 0]]

    def program(lib):
        x = lib.tensor(vals, dtype=getattr(lib, dtype))
        return (
            *x.unique_consecutive(return_inverse=True, return_counts=True),
            *x.unique_consecutive(return_inverse=True, return_counts=True, dim=0),
            x.unique_consecutive(dim=-1),
        )

    same_as_torch(program, grads=False)


def test_unique_consecutive_has_no_derivative():
    x = leaf([1.0, 1.0, 2.0])
    out = tinyconv.unique_consecutive(x)
    assert out.requires_grad  # as PyTorch: it requires grad, and backward refuses
    with pytest.raises(RuntimeError, match="unique_consecutive"):
        out.sum().backward()
