"""Tensor: creation, dtypes and promotion, attributes, conversions, repr, comparisons, indexing,
the norm/prod/softmax methods, out=, grad modes, Generator and the new_* methods.

The expected values are PyTorch's (as documented, and as PyTorch prints them),
since tutorial code must run unchanged with `import tinyconv as torch`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import (
    broadcastable_pairs,
    distinct_arrays,
    float64_arrays,
    non_contiguous,
    shapes,
)

import tinyconv as torch
from tinyconv import nn
from tinyconv.autograd import gradcheck

# ---------------------------------------------------------------------------
# creation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "dtype", "shape"),
    [
        (1.5, torch.float32, ()),
        (3, torch.int64, ()),
        (True, torch.bool, ()),
        ([1.0, 2.0], torch.float32, (2,)),
        ([[1, 2], [3, 4]], torch.int64, (2, 2)),
        ([[True], [False]], torch.bool, (2, 1)),
        ([1, 2.5], torch.float32, (2,)),  # one float makes the whole list float
        ([True, 2], torch.int64, (2,)),
        ([[[1.0]]], torch.float32, (1, 1, 1)),
        ([], torch.float32, (0,)),
    ],
)
def test_tensor_infers_dtype_like_pytorch(data, dtype, shape):
    t = torch.tensor(data)
    assert t.dtype == dtype
    assert t.shape == shape
    assert t.tolist() == data


@pytest.mark.parametrize("np_dtype", [np.float64, np.float32, np.int32, np.int64, np.bool_])
def test_tensor_from_ndarray_keeps_its_dtype_and_copies(np_dtype):
    arr = np.arange(6).reshape(2, 3).astype(np_dtype)
    t = torch.tensor(arr)
    assert t.dtype == np.dtype(np_dtype)
    assert t.shape == (2, 3)
    arr[0, 0] = 1 - arr[0, 0]
    assert t[0, 0].item() != arr[0, 0]  # a copy, not a view


def test_tensor_from_numpy_scalars_and_tensors():
    assert torch.tensor(np.float64(2.0)).dtype == torch.float64  # NumPy scalars keep their dtype
    src = torch.tensor([1.0, 2.0])
    t = torch.tensor(src)
    t[0] = 5.0
    assert src[0].item() == 1.0  # tensor(t) copies
    assert torch.tensor([1, 2], dtype=torch.float64).dtype == torch.float64
    assert torch.tensor([1.7, -1.7], dtype=torch.int64).tolist() == [1, -1]


def test_from_numpy_shares_memory():
    arr = np.zeros(3)
    t = torch.from_numpy(arr)
    arr[1] = 7.0
    assert t[1].item() == 7.0 and t.dtype == torch.float64


def test_tensor_requires_grad_flag():
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None and t.grad_fn is None


FILLED = {
    "zeros": (lambda *a, **k: torch.zeros(*a, **k), 0.0),
    "ones": (lambda *a, **k: torch.ones(*a, **k), 1.0),
}


@pytest.mark.parametrize("name", list(FILLED))
@given(shape=shapes(min_dims=0, max_dims=3))
def test_zeros_ones_sizes_as_varargs_or_tuple(name, shape):
    make, value = FILLED[name]
    for t in (make(*shape), make(shape), make(list(shape))):
        assert t.shape == shape
        assert t.dtype == torch.float32
        assert np.all(t.numpy() == value)
    t = make(*shape, dtype=torch.float64, requires_grad=True)
    assert t.dtype == torch.float64 and t.requires_grad
    assert make(shape, dtype=torch.int64).dtype == torch.int64


def test_full():
    t = torch.full((2, 3), 7.0)
    assert t.shape == (2, 3) and t.dtype == torch.float32 and np.all(t.numpy() == 7.0)
    assert torch.full((2,), 3).dtype == torch.int64  # PyTorch infers from the fill value
    assert torch.full((2,), True).dtype == torch.bool
    assert torch.full([1, 2], 0.5, dtype=torch.float64).dtype == torch.float64
    assert torch.full((2,), 1.0, requires_grad=True).requires_grad


def test_zeros_like_ones_like():
    x = torch.tensor([[1, 2, 3]], dtype=torch.int32)
    z, o = torch.zeros_like(x), torch.ones_like(x)
    assert z.shape == o.shape == (1, 3)
    assert z.dtype == o.dtype == torch.int32
    assert z.tolist() == [[0, 0, 0]] and o.tolist() == [[1, 1, 1]]
    f = torch.ones_like(x, dtype=torch.float32, requires_grad=True)
    assert f.dtype == torch.float32 and f.requires_grad


@pytest.mark.parametrize("make", [torch.rand, torch.randn])
def test_rand_randn(make):
    torch.manual_seed(0)
    a = make(2, 3)
    b = make((2, 3), dtype=torch.float64, requires_grad=True)
    assert a.shape == b.shape == (2, 3)
    assert a.dtype == torch.float32 and b.dtype == torch.float64 and b.requires_grad
    big = make(2000).numpy()
    if make is torch.rand:
        assert big.min() >= 0.0 and big.max() < 1.0 and abs(big.mean() - 0.5) < 0.05
    else:
        assert abs(big.mean()) < 0.1 and abs(big.std() - 1.0) < 0.1


def test_manual_seed_reproducible():
    torch.manual_seed(123)
    first = (torch.rand(4), torch.randn(2, 2), torch.normal(0.0, 1.0, (3,)))
    torch.manual_seed(123)
    second = (torch.rand(4), torch.randn(2, 2), torch.normal(0.0, 1.0, (3,)))
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(a.numpy(), b.numpy())
    torch.manual_seed(124)
    assert not np.array_equal(torch.rand(4).numpy(), first[0].numpy())


def test_normal():
    torch.manual_seed(0)
    t = torch.normal(2.0, 0.5, size=(4000,))
    assert t.shape == (4000,) and t.dtype == torch.float32
    assert abs(t.mean().item() - 2.0) < 0.05 and abs(t.std().item() - 0.5) < 0.05
    assert torch.normal(0.0, 1.0, (2, 3)).shape == (2, 3)
    m = torch.normal(torch.zeros(3, 2), 1.0)  # shape from a tensor mean
    assert m.shape == (3, 2)


def test_arange():
    assert torch.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert torch.arange(5).dtype == torch.int64
    assert torch.arange(2, 8, 3).tolist() == [2, 5]
    f = torch.arange(0, 1, 0.25)
    assert f.dtype == torch.float32 and f.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert torch.arange(3.0).dtype == torch.float32
    assert torch.arange(4, dtype=torch.float64).dtype == torch.float64
    assert torch.arange(3, 0, -1).tolist() == [3, 2, 1]


def test_requires_grad_keyword_everywhere():
    for t in (
        torch.arange(3.0, requires_grad=True),
        torch.normal(0.0, 1.0, (2,), requires_grad=True),
        torch.zeros_like(torch.ones(2), requires_grad=True),
        torch.rand(2, requires_grad=True),
        torch.full((2,), 1.0, requires_grad=True),
        torch.eye(2, requires_grad=True),
    ):
        assert t.requires_grad and t.is_leaf and t.dtype == torch.float32


def test_eye():
    assert torch.eye(3).tolist() == np.eye(3).tolist()
    assert torch.eye(3).dtype == torch.float32
    assert torch.eye(2, 3).shape == (2, 3)
    assert torch.eye(2, dtype=torch.int64).tolist() == [[1, 0], [0, 1]]
    assert torch.eye(2, requires_grad=True).requires_grad


# ---------------------------------------------------------------------------
# dtypes, conversions and promotion
# ---------------------------------------------------------------------------


def test_dtype_objects():
    assert torch.float is torch.float32 and torch.double is torch.float64
    assert torch.long is torch.int64 and torch.int is torch.int32
    assert torch.get_default_dtype() == torch.float32
    for d in (torch.float32, torch.float64, torch.int64, torch.int32, torch.bool):
        assert torch.tensor([1], dtype=d).dtype == d
        assert torch.zeros(2, dtype=d).dtype == d
    assert (
        torch.tensor([1], dtype=float).dtype == torch.float64
    )  # Python's float means float64, as PyTorch
    assert torch.tensor([1.5], dtype=int).dtype == torch.int64


def test_conversion_methods():
    x = torch.tensor([1.7, -2.5])
    assert x.float().dtype == torch.float32
    assert x.double().dtype == torch.float64
    assert x.long().dtype == torch.int64 and x.long().tolist() == [1, -2]  # truncates, as PyTorch
    assert x.int().dtype == torch.int32
    assert x.to(torch.float64).dtype == torch.float64
    assert x.to(dtype=torch.int64).tolist() == [1, -2]
    assert x.to("cpu") is x
    assert x.to(torch.tensor([1], dtype=torch.int32)).dtype == torch.int32
    assert x.float() is x  # no copy when the dtype already matches, as PyTorch
    assert torch.tensor([0, 2]).bool().tolist() == [False, True]


def test_cast_keeps_the_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    assert y.dtype == torch.float64 and y.requires_grad
    y.sum().backward()
    assert x.grad.dtype == torch.float32 and x.grad.tolist() == [3.0, 3.0]


PROMOTION = [
    # (a, b, result dtype): PyTorch's rules
    (torch.tensor([1, 2]), torch.tensor([1.0, 2.0]), torch.float32),  # int * float tensor -> float
    (torch.tensor([1, 2]), 1.5, torch.float32),  # int tensor, Python float
    (torch.tensor([1, 2], dtype=torch.int32), 2, torch.int32),  # Python int keeps int32
    (
        torch.tensor([1, 2], dtype=torch.int32),
        torch.tensor([2]),
        torch.int64,
    ),  # dimensioned int64 wins
    (
        torch.tensor([1, 2], dtype=torch.int32),
        torch.tensor(2),
        torch.int32,
    ),  # 0-d of the same category loses
    (
        torch.tensor([1.0, 2.0]),
        torch.tensor(2.0, dtype=torch.float64),
        torch.float32,
    ),  # 0-d float64 loses
    (torch.tensor([1.0]), torch.tensor([2.0], dtype=torch.float64), torch.float64),
    (
        torch.tensor([1, 2]),
        torch.tensor(2.0, dtype=torch.float64),
        torch.float64,
    ),  # higher category wins
    (torch.tensor([1.0]), 2, torch.float32),
    (torch.tensor([True]), 2, torch.int64),
    (torch.tensor([True]), 2.5, torch.float32),
    (torch.tensor([1.0], dtype=torch.float64), 2.5, torch.float64),
    (
        torch.tensor([1, 2]),
        np.float64(1.5),
        torch.float32,
    ),  # a NumPy scalar acts as a Python scalar
]


@pytest.mark.parametrize(("a", "b", "expected"), PROMOTION)
def test_type_promotion(a, b, expected):
    assert (a * b).dtype == expected
    assert (b * a).dtype == expected
    assert (a + b).dtype == expected
    if a.dtype == torch.bool:  # PyTorch refuses `-` with a bool tensor
        with pytest.raises(TypeError, match="subtraction"):
            a - b
    else:
        assert (a - b).dtype == expected


def test_integer_true_division_gives_float32():
    a = torch.tensor([1, 2, 3])
    assert (a / 2).dtype == torch.float32 and (a / 2).tolist() == [0.5, 1.0, 1.5]
    assert (a / a).dtype == torch.float32
    assert (6 / a).dtype == torch.float32 and (6 / a).tolist() == [6.0, 3.0, 2.0]
    assert (a // 2).tolist() == [0, 1, 1] and (a // 2).dtype == torch.int64
    assert (a % 2).tolist() == [1, 0, 1]


def test_integer_math_stays_integer():
    a = torch.tensor([1, 2, 3])
    assert (a * 2).dtype == torch.int64 and (a + a).dtype == torch.int64
    assert (a**2).dtype == torch.int64 and (a**2).tolist() == [1, 4, 9]
    assert (a**0.5).dtype == torch.float32
    assert (-a).tolist() == [-1, -2, -3]
    assert a.sum().dtype == torch.int64 and a.sum().item() == 6
    assert a.float().mean().item() == 2.0
    assert a.exp().dtype == torch.float32  # float-valued functions of ints give the default float


def test_integer_matmul_and_mixed_matmul():
    a = torch.tensor([[1, 2], [3, 4]])
    assert (a @ a).dtype == torch.int64 and (a @ a).tolist() == [[7, 10], [15, 22]]
    with pytest.raises(RuntimeError, match="matmul: both operands must have the same dtype"):
        a @ torch.eye(2)  # PyTorch refuses to mix dtypes in matmul (no promotion)
    assert (a.float() @ torch.eye(2)).dtype == torch.float32


# ---------------------------------------------------------------------------
# attributes
# ---------------------------------------------------------------------------


def test_shape_is_a_tuple_subclass():
    x = torch.zeros(2, 3)
    assert isinstance(x.shape, tuple)
    assert (1, 1) + x.shape == (1, 1, 2, 3)
    assert x.shape + (4,) == (2, 3, 4)
    assert x.shape == (2, 3) and x.shape[-1] == 3
    assert torch.zeros(x.shape).shape == (2, 3)
    assert x.reshape((1, 1) + x.shape).shape == (1, 1, 2, 3)
    assert repr(x.shape) == "tinyconv.Size([2, 3])"
    assert x.shape.numel() == 6


def test_size_ndim_dim_numel():
    x = torch.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and isinstance(x.size(), torch.Size)
    assert x.size(0) == 2 and x.size(-1) == 4 and x.size(dim=1) == 3
    assert x.ndim == 3 and x.dim() == 3 and x.numel() == 24
    s = torch.tensor(5.0)
    assert s.ndim == 0 and s.shape == () and s.numel() == 1


def test_T():
    x = torch.arange(6).reshape(2, 3)
    assert x.T.shape == (3, 2) and x.T.tolist() == [[0, 3], [1, 4], [2, 5]]
    y = torch.zeros(2, 3, 4)
    assert y.T.shape == (4, 3, 2)
    v = torch.tensor([1.0, 2.0])
    assert v.T.shape == (2,)


def test_data_get_shares_storage_and_is_untracked():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.is_leaf
    d[0] = 10.0
    assert x[0].item() == 10.0
    d.mul_(2)
    assert x.tolist() == [20.0, 4.0]
    assert x.requires_grad and x.is_leaf and x.grad_fn is None


def test_data_set_replaces_values():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    x.data = torch.tensor([5.0, 6.0, 7.0])
    assert x.tolist() == [5.0, 6.0, 7.0] and x.shape == (3,)
    assert x.requires_grad and x.is_leaf
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_is_leaf_and_grad_fn():
    x = torch.tensor([1.0], requires_grad=True)
    y = x * 2
    c = torch.tensor([1.0])
    assert x.is_leaf and not y.is_leaf and c.is_leaf
    assert x.grad_fn is None and y.grad_fn is not None
    assert y.grad_fn.name() == "MulBackward0"
    assert (c * 2).grad_fn is None and not (c * 2).requires_grad


# ---------------------------------------------------------------------------
# conversions to Python and NumPy
# ---------------------------------------------------------------------------


def test_item():
    assert torch.tensor(2.5).item() == 2.5 and isinstance(torch.tensor(2.5).item(), float)
    assert torch.tensor([[3]]).item() == 3 and isinstance(torch.tensor([[3]]).item(), int)
    assert torch.tensor([True]).item() is True


def test_tolist_numpy_array():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    n = x.numpy()
    assert isinstance(n, np.ndarray) and n.dtype == np.float32
    n[0, 0] = 9.0
    assert x[0, 0].item() == 9.0  # .numpy() shares memory, as PyTorch
    a = np.asarray(x)
    assert a.shape == (2, 2) and a.dtype == np.float32
    assert np.array(x, dtype=np.float64).dtype == np.float64
    assert torch.tensor(3).tolist() == 3


def test_detach_and_clone():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 5.0
    assert x[0].item() == 5.0  # shares storage
    c = x.clone()
    assert c.requires_grad and c.grad_fn is not None
    c2 = x.detach().clone()
    c2[1] = 0.0
    assert x[1].item() == 2.0  # clone copies


def test_requires_grad_():
    x = torch.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad


def test_len_and_iteration():
    X = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    K = torch.tensor([10.0, 20.0, 30.0])
    assert len(X) == 3
    rows = list(X)
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    assert [(x * k).sum().item() for x, k in zip(X, K, strict=True)] == [30.0, 140.0, 330.0]
    with pytest.raises(TypeError, match="0-d"):
        len(torch.tensor(1.0))
    with pytest.raises(TypeError, match="0-d"):
        iter(torch.tensor(1.0))


def test_python_number_conversions():
    assert float(torch.tensor([2.5])) == 2.5
    assert int(torch.tensor([[3.9]])) == 3
    assert bool(torch.tensor([0.0])) is False and bool(torch.tensor(2)) is True
    assert [1, 2, 3][torch.tensor(1)] == 2  # __index__ on integer tensors
    assert f"{torch.tensor(0.123456):.2f}" == "0.12"
    # PyTorch's __format__: a plain 0-d tensor is its number, "{}" included; other tensors
    # (a Parameter, one element in 1-d) print with "{}" and refuse a format spec
    assert f"{torch.tensor(2.5)}" == "2.5" and f"{torch.tensor(3)}" == "3"
    assert f"{torch.tensor(True)}" == "True" and f"{torch.tensor(7):d}" == "7"
    assert f"{torch.tensor(0.5, requires_grad=True)}" == "0.5"
    assert f"{torch.tensor([1.5])}" == "tensor([1.5000])"
    assert f"{torch.nn.Parameter(torch.tensor(1.5))}".startswith("Parameter containing:")
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{torch.tensor([1.5]):.2f}"
    if torch.tensor(1.0) > 0:  # one-element comparisons work in if-statements
        pass
    else:
        pytest.fail("bool(tensor(1.0) > 0) is False")


# ---------------------------------------------------------------------------
# repr, in PyTorch's style
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda: torch.tensor([[1.0, 2.0]], requires_grad=True) * 1,
            "tensor([[1., 2.]], grad_fn=<MulBackward0>)",
        ),
        (
            lambda: torch.tensor([1.0, 2.0], requires_grad=True),
            "tensor([1., 2.], requires_grad=True)",
        ),
        (
            lambda: torch.tensor([1.0, 2.0], dtype=torch.float64),
            "tensor([1., 2.], dtype=tinyconv.float64)",
        ),
        (lambda: torch.tensor([1, 2]), "tensor([1, 2])"),
        (lambda: torch.tensor([1, 2], dtype=torch.int32), "tensor([1, 2], dtype=tinyconv.int32)"),
        (lambda: torch.tensor([True, False]), "tensor([ True, False])"),
        (lambda: torch.tensor(2.0), "tensor(2.)"),
        (lambda: torch.tensor(3.5), "tensor(3.5000)"),
        (lambda: torch.tensor([1.5, 2.25]), "tensor([1.5000, 2.2500])"),
        (lambda: torch.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
        (lambda: torch.tensor([[1.0, 2.0], [3.0, 4.0]]), "tensor([[1., 2.],\n        [3., 4.]])"),
        (
            lambda: torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True) + 1,
            "tensor([2., 3.], dtype=tinyconv.float64, grad_fn=<AddBackward0>)",
        ),
        (lambda: torch.zeros(0), "tensor([])"),
        (
            lambda: torch.tensor([1.0, -1.0]),
            "tensor([ 1., -1.])",
        ),  # padded to one width, as PyTorch
        (lambda: torch.tensor([1.5, -10.25]), "tensor([  1.5000, -10.2500])"),
        (lambda: torch.tensor([1, -10]), "tensor([  1, -10])"),
    ],
)
def test_repr(make, expected):
    assert repr(make()) == expected
    assert str(make()) == expected


def test_repr_shows_set_item_node_like_pytorch():
    x = torch.zeros(2)
    x[0] = torch.tensor(1.0, requires_grad=True) * 2
    assert repr(x) == "tensor([2., 0.], grad_fn=<CopySlices>)"


# ---------------------------------------------------------------------------
# comparisons
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"])
@given(pair=broadcastable_pairs(), data=st.data())
def test_comparisons_give_bool_tensors_without_grad(op, pair, data):
    a = data.draw(hnp.arrays(np.float64, pair[0], elements=st.integers(-2, 2).map(float)))
    b = data.draw(hnp.arrays(np.float64, pair[1], elements=st.integers(-2, 2).map(float)))
    x = torch.tensor(a, requires_grad=True)
    for other in (torch.tensor(b), b):
        out = getattr(x, op)(other)
        assert isinstance(out, torch.Tensor)
        assert out.dtype == torch.bool and not out.requires_grad and out.grad_fn is None
        np.testing.assert_array_equal(out.numpy(), getattr(a, op)(b))
    scalar = getattr(x, op)(0.5)
    np.testing.assert_array_equal(scalar.numpy(), getattr(a, op)(0.5))


def test_reflected_comparisons_and_masks():
    x = torch.tensor([1.0, 2.0, 3.0])
    assert (2 < x).tolist() == [False, False, True]
    assert (x == x.clone()).all().item() is True
    assert ((x > 1) & (x < 3)).tolist() == [False, True, False]
    assert ((x < 2) | (x > 2)).tolist() == [True, False, True]
    assert (~(x > 1)).tolist() == [True, False, False]
    assert (x > 1).sum().item() == 2 and (x > 1).float().mean().item() == pytest.approx(2 / 3)


def test_where_dtypes_like_pytorch():
    c = torch.tensor([True, False])
    assert torch.where(c, 1.0, 0.0).dtype == torch.float32
    assert torch.where(c, 1.0, 0.0).tolist() == [1.0, 0.0]
    assert torch.where(c, 1, 0).dtype == torch.int64
    assert torch.where(c, torch.tensor([1, 2]), 0.5).dtype == torch.float32
    assert torch.where(c, torch.tensor([1.0, 2.0], dtype=torch.float64), 0).dtype == torch.float64
    assert (
        torch.where(c, torch.tensor([1.0, 2.0]), torch.tensor(0.0, dtype=torch.float64)).dtype
        == torch.float32
    )
    assert torch.where(torch.tensor([[True], [False]]), torch.ones(3), 0.0).shape == (2, 3)
    assert [t.tolist() for t in torch.where(torch.tensor([[True, False], [False, True]]))] == [
        [0, 1],
        [0, 1],
    ]


def test_argmax_argmin():
    x = torch.tensor([[1.0, 5.0, 3.0], [7.0, 0.0, 2.0]])
    assert x.argmax().item() == 3 and x.argmin().item() == 4
    assert x.argmax(dim=1).tolist() == [1, 0] and x.argmax(1).dtype == torch.int64
    assert x.argmin(0, keepdim=True).tolist() == [[0, 1, 1]]


def test_max_min_return_values_and_indices():
    x = torch.tensor([[1.0, 5.0, 3.0], [7.0, 0.0, 2.0]])
    assert x.max().item() == 7.0 and x.min().item() == 0.0
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    r = x.min(0, keepdim=True)
    assert r.values.tolist() == [[1.0, 0.0, 2.0]] and r.indices.tolist() == [[0, 1, 1]]
    assert torch.max(x, torch.tensor(4.0)).tolist() == [[4.0, 5.0, 4.0], [7.0, 4.0, 4.0]]


def test_zero_dim_reductions_accept_dim_0_like_pytorch():
    x = torch.tensor(2.0, requires_grad=True)
    for out in (
        x.sum(0),
        x.sum((0,)),
        x.mean(-1),
        x.amax(0),
        x.max(0).values,
        x.max(0, keepdim=True).values,
        x.sum(0, keepdim=True),
    ):
        assert out.shape == () and out.item() == 2.0
    x.sum(0).backward()
    assert x.grad.item() == 1.0


# ---------------------------------------------------------------------------
# indexing (forward values; gradients are in test_ops_grad.py)
# ---------------------------------------------------------------------------


@pytest.fixture
def grid():
    arr = np.arange(24.0).reshape(2, 3, 4)
    return arr, torch.tensor(arr)


@pytest.mark.parametrize(
    "index",
    [
        0,
        -1,
        (1, 2),
        (1, 2, 3),
        slice(None),
        slice(0, 1),
        (slice(None), 1),
        (Ellipsis, 0),
        (0, Ellipsis, 1),
        None,
        (None, 0),
        (slice(None), None, slice(1, 3)),
        (slice(None, None, 2), slice(1, None, 2)),
        (0, slice(None), None, -1),
        Ellipsis,
    ],
    ids=repr,
)
def test_basic_indexing(grid, index):
    arr, t = grid
    out = t[index]
    assert isinstance(out, torch.Tensor)
    assert out.shape == arr[index].shape
    np.testing.assert_array_equal(out.numpy(), arr[index])


@pytest.mark.parametrize(
    "make_index",
    [
        lambda: torch.tensor([0, 1, 1]),
        lambda: np.array([1, 0]),
        lambda: [1, 1, 0],
        lambda: (slice(None), torch.tensor([2, 0, 2])),
        lambda: (torch.tensor([0, 1]), torch.tensor([2, 1]), torch.tensor([3, -1])),
        lambda: (Ellipsis, np.array([[0, 3], [1, 2]])),
        lambda: torch.tensor([True, False]),
        lambda: (slice(None), torch.tensor([False, True, True])),
        lambda: np.arange(24.0).reshape(2, 3, 4) > 10.0,
        lambda: torch.tensor(np.arange(24.0).reshape(2, 3, 4) % 5 == 0),
    ],
)
def test_advanced_indexing(grid, make_index):
    arr, t = grid
    index = make_index()
    np_index = (
        tuple(i.numpy() if isinstance(i, torch.Tensor) else i for i in index)
        if isinstance(index, tuple)
        else (index.numpy() if isinstance(index, torch.Tensor) else index)
    )
    out = t[index]
    np.testing.assert_array_equal(out.numpy(), arr[np_index])
    assert out.dtype == t.dtype


def test_mask_indexing_with_comparison():
    x = torch.tensor([[1.0, -2.0], [3.0, -4.0]])
    assert x[x > 0].tolist() == [1.0, 3.0]
    x[x < 0] = 0.0
    assert x.tolist() == [[1.0, 0.0], [3.0, 0.0]]


def test_basic_index_is_a_view_advanced_is_a_copy():
    x = torch.zeros(2, 3)
    v = x[0]
    v[1] = 5.0
    assert x[0, 1].item() == 5.0
    c = x[torch.tensor([0])]
    c[0, 0] = 7.0
    assert x[0, 0].item() == 0.0


def test_element_of_a_1d_tensor_is_a_0d_view():
    x = torch.tensor([1.0, 2.0, 3.0])
    e = x[1]
    assert e.shape == () and isinstance(e.numpy(), np.ndarray)
    e.zero_()
    x[2].fill_(9.0)
    x[0] += 5.0
    assert x.tolist() == [6.0, 0.0, 9.0]
    assert isinstance(x[torch.tensor(1)].numpy(), np.ndarray)  # a 0-d index tensor: a 0-d result


def test_setitem_forms():
    x = torch.zeros(2, 3)
    x[0] = torch.tensor([1.0, 2.0, 3.0])
    x[1, 1:] = 9.0
    x[:, 0] = torch.tensor(np.array([4.0, 5.0]))
    x[torch.tensor([1]), torch.tensor([1])] = -1.0
    assert x.tolist() == [[4.0, 2.0, 3.0], [5.0, -1.0, 9.0]]
    for value in (np.array([4.0, 5.0]), [4.0, 5.0], (4.0, 5.0)):  # PyTorch refuses these
        with pytest.raises(TypeError, match="can't assign"):
            x[:, 0] = value
    assert x.dtype == torch.float32
    y = torch.zeros(3, dtype=torch.int64)
    y[1] = 7
    assert y.tolist() == [0, 7, 0] and y.dtype == torch.int64


@given(x=float64_arrays(shapes(min_dims=1)))
def test_getitem_int_matches_iteration(x):
    t = torch.tensor(x)
    for i, row in enumerate(t):
        np.testing.assert_array_equal(row.numpy(), x[i])
        np.testing.assert_array_equal(t[i - len(t)].numpy(), x[i])


# ---------------------------------------------------------------------------
# norm, prod, softmax methods, out=, grad mode, Generator, new_* methods
# ---------------------------------------------------------------------------

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}


def leaf(a):
    return torch.from_numpy(a).requires_grad_()


# -- norm ---------------------------------------------------------------------------------------


@given(
    float64_arrays(shapes(min_dims=1, max_dims=3)).flatmap(non_contiguous),
    st.sampled_from([2, 1, 3, "fro", 1.5]),
    st.booleans(),
    st.data(),
)
def test_norm_gradcheck(arr, p, keepdim, data):
    dim = data.draw(st.sampled_from([None, 0, -1, tuple(range(arr.ndim))]))
    if not np.all(np.abs(arr) > 1e-3):  # |x| has a kink at 0
        arr = arr + 0.5
    x = leaf(arr)
    assert gradcheck(lambda x: x.norm(p, dim, keepdim), (x,), **TOL)


@given(distinct_arrays(shapes(min_dims=1, max_dims=3)), st.sampled_from([math.inf, -math.inf]))
def test_norm_inf_gradcheck(arr, p):
    arr = arr + 0.1
    assume(len(set(np.abs(arr).ravel().round(6))) == arr.size)  # no ties for the largest |x|
    x = leaf(arr)
    assert gradcheck(lambda x: x.norm(p), (x,), **TOL)


def test_norm_values_and_zero_gradient():
    x = torch.tensor([[3.0, -4.0], [0.0, 12.0]])
    assert x.norm().item() == 13.0 and torch.norm(x).item() == 13.0
    assert x.norm(dim=1).tolist() == [5.0, 12.0] and x.norm(p=1).item() == 19.0
    assert x.norm(float("inf")).item() == 12.0 and x.norm(0).item() == 3.0
    assert x.norm(dim=0, keepdim=True).shape == (1, 2)
    z = torch.zeros(3, requires_grad=True)
    z.norm().backward()
    assert z.grad.tolist() == [0.0, 0.0, 0.0]  # PyTorch's subgradient, not nan
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor([1, 2]).norm()


# -- prod -----------------------------------------------------------------------------------------


@given(
    float64_arrays(shapes(min_dims=1, max_dims=3)).flatmap(non_contiguous), st.booleans(), st.data()
)
def test_prod_gradcheck_with_zeros(arr, keepdim, data):
    dim = data.draw(st.sampled_from([None] + list(range(-arr.ndim, arr.ndim))))
    mask = data.draw(st.lists(st.booleans(), min_size=arr.size, max_size=arr.size))
    arr = arr.copy()
    arr.ravel()[np.array(mask, dtype=bool)] = 0.0  # zeros: the gradient is still exact
    x = leaf(arr)
    assert gradcheck(lambda x: x.prod(dim, keepdim) if dim is not None else x.prod(), (x,), **TOL)


def test_prod_values():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 6.0]], requires_grad=True)
    assert x.prod().item() == 0.0 and torch.prod(x, 1).tolist() == [6.0, 0.0]
    x.prod(1).sum().backward()
    assert x.grad.tolist() == [[6.0, 3.0, 2.0], [0.0, 24.0, 0.0]]
    assert torch.tensor([2, 3]).prod().dtype == torch.int64


# -- softmax methods -----------------------------------------------------------------------------


def test_softmax_methods():
    x = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(x.softmax(1).sum(1).numpy(), 1, rtol=1e-6)
    assert torch.equal(x.softmax(dim=-1), nn.functional.softmax(x, dim=-1))
    assert torch.allclose(torch.log_softmax(x, 1), x.softmax(1).log())
    assert torch.allclose(x.log_softmax(1).exp(), torch.softmax(x, 1))


# -- out= -----------------------------------------------------------------------------------------


def test_out_keyword_writes_in_place():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = torch.empty(2, 2)
    buf = out.numpy()
    r = torch.matmul(a, a.T, out=out)
    assert r is out and out.tolist() == [[5.0, 11.0], [11.0, 25.0]] and buf[0, 1] == 11.0
    assert torch.mul(a, a, out=out) is out and out.tolist() == [[1.0, 4.0], [9.0, 16.0]]
    torch.add(a, 1, out=out)
    assert out.tolist() == [[2.0, 3.0], [4.0, 5.0]]
    torch.sub(a, a, alpha=2, out=out)
    assert out.tolist() == [[-1.0, -2.0], [-3.0, -4.0]]
    torch.div(a, 2, out=out)
    assert out.tolist() == [[0.5, 1.0], [1.5, 2.0]]
    empty = torch.empty(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.add(a, a, out=empty)  # an empty out is resized quietly
    assert empty.shape == (2, 2)
    with pytest.warns(UserWarning, match="resized"):
        torch.add(a, a, out=torch.zeros(3))
    with pytest.raises(RuntimeError, match="can't be cast"):
        torch.add(a, a, out=torch.zeros(2, 2, dtype=torch.int64))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        torch.mul(a.requires_grad_(), 2.0, out=torch.empty(2, 2))
    with torch.no_grad():
        torch.mul(a, 2.0, out=out)
    assert out.tolist() == [[2.0, 4.0], [6.0, 8.0]]


# -- grad-mode and device helpers ------------------------------------------------------------------


def test_inference_mode():
    w = torch.ones(2, requires_grad=True)
    with torch.inference_mode():
        assert not (w * 2).requires_grad and torch.is_inference_mode_enabled()
    assert (w * 2).requires_grad and not torch.is_inference_mode_enabled()
    with torch.inference_mode(False):
        assert (w * 2).requires_grad

    @torch.inference_mode()
    def f(t):
        return t * 2

    @torch.inference_mode
    def g(t):
        return t * 2

    assert not f(w).requires_grad and not g(w).requires_grad


def test_accelerator_and_backends():
    assert (
        torch.accelerator.is_available() is False
        and torch.accelerator.current_accelerator() is None
    )
    device = (
        torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    )
    assert torch.ones(2).to(device).device == "cpu"
    assert not torch.backends.mps.is_available()
    # Other devices can be named (the Tensors tutorial tests `torch.device('cuda').index`) but not
    # used.
    assert torch.device("cuda").index is None and torch.device("cuda:1").index == 1
    assert torch.device("cuda:1").type == "cuda" and torch.ones(1).device.type == "cpu"
    with pytest.raises(RuntimeError, match="CPU only"):
        torch.ones(2).to(torch.device("cuda"))
    with pytest.raises(RuntimeError, match="CPU only"):
        torch.randn(2, device="cuda")
    with pytest.raises(RuntimeError, match="device type"):
        torch.device("gpu")
    # PyTorch's repr (what print shows inside a list or dict); str stays the name
    assert repr(torch.ones(1).device) == "device(type='cpu')" and str(torch.device("cpu")) == "cpu"
    assert repr([torch.device("cuda", 1)]) == "[device(type='cuda', index=1)]"


def test_cudnn_flags_compile_and_compiler_switches():
    """The switches tutorials set or query around GPUs and torch.compile, as PyTorch's CPU
    build has them; they change no number."""
    cudnn = torch.backends.cudnn
    assert cudnn.enabled is True and cudnn.allow_tf32 is True and cudnn.version() is None
    with cudnn.flags(allow_tf32=False) as f:  # (PyTorch's defaults turn cuDNN off inside)
        assert f is None and cudnn.enabled is False and cudnn.allow_tf32 is False
    assert cudnn.enabled is True and cudnn.allow_tf32 is True
    assert torch.backends.cuda.matmul.allow_tf32 is False and not torch.backends.cuda.is_built()
    assert torch.compiler.is_compiling() is False and torch.compiler.reset() is None
    assert torch._dynamo.reset() is None

    def f(x):
        return x + 1

    assert torch.compiler.disable(f) is f and torch.compiler.disable()(f) is f
    m = torch.nn.Linear(2, 2)
    with pytest.warns(UserWarning, match="no compiler"):
        assert m.compile(mode="reduce-overhead") is None
    assert torch.equal(
        m(torch.ones(2)), torch.nn.functional.linear(torch.ones(2), m.weight, m.bias)
    )


def test_generator_and_size_keyword():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(torch.rand(4, generator=g1), torch.rand(4, generator=g2))
    assert torch.equal(torch.randperm(6, generator=g1), torch.randperm(6, generator=g2))
    assert g1.initial_seed() == 3
    assert torch.rand(size=(8, 8)).shape == (8, 8) and torch.zeros(size=(2, 3)).shape == (2, 3)
    assert torch.randn(size=(2,)).shape == (2,) and torch.ones(size=[1, 2]).shape == (1, 2)
    with pytest.raises(TypeError, match="unexpected keyword"):
        torch.zeros(2, sise=3)


def test_parameter_prints_like_pytorch():
    assert (
        str(nn.Parameter(torch.ones(2)))
        == "Parameter containing:\ntensor([1., 1.], requires_grad=True)"
    )


def test_zero_element_init_is_a_noop():
    with pytest.warns(UserWarning, match="zero-element"):
        lin = nn.Linear(0, 3)
    assert lin(torch.ones(2, 0)).tolist() == [[0.0, 0.0, 0.0]] * 2


def test_new_tensor_methods():
    x = torch.tensor([5.5, 3.0])
    ones = x.new_ones(5, 3, dtype=torch.double)  # the 60-minute blitz's first cell
    assert ones.shape == (5, 3) and ones.dtype == torch.float64 and ones.sum().item() == 15
    assert (
        x.new_zeros((2,)).dtype == torch.float32
        and torch.tensor([1]).new_ones(2).dtype == torch.int64
    )
    assert x.new_full((2, 2), 7.0).tolist() == [[7.0, 7.0], [7.0, 7.0]] and x.new_empty(
        3
    ).shape == (3,)
    t = x.new_tensor([1, 2], requires_grad=True)
    assert t.dtype == torch.float32 and t.requires_grad and t.tolist() == [1.0, 2.0]


def test_bfloat16_can_be_named_but_makes_no_tensor():
    # nanoGPT's config table names torch.bfloat16 whatever the device; a tensor of it raises
    import copy
    import pickle

    import tinyconv

    bf16 = tinyconv.bfloat16
    table = {"float32": tinyconv.float32, "bfloat16": bf16, "float16": tinyconv.float16}
    assert table["bfloat16"] is bf16 and str(bf16) == "tinyconv.bfloat16"
    assert isinstance(bf16, tinyconv.dtype) and bf16.is_floating_point and bf16.itemsize == 2
    assert bf16 != tinyconv.float32 and bf16 != tinyconv.float16 and bf16 == bf16
    assert copy.deepcopy(bf16) is bf16 and pickle.loads(pickle.dumps(bf16)) is bf16
    for make in (
        lambda: tinyconv.zeros(2, dtype=bf16),
        lambda: tinyconv.tensor([1.0], dtype=bf16),
        lambda: tinyconv.ones(2).to(bf16),
        lambda: tinyconv.nn.Linear(2, 2).to(dtype=bf16),
        lambda: np.zeros(2, dtype=bf16),
    ):
        with pytest.raises(TypeError, match="no bfloat16"):
            make()
