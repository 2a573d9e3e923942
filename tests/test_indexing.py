"""Indexing by PyTorch's rules (tinyconv/_indexing.py): values, shapes and gradients of
`x[index]` and `x[index] = value`.

PyTorch differs from NumPy where an integer sits beside an index array: PyTorch selects
with the integer first (a basic index), NumPy counts it as one more index array, which
moves the result's dims. The torch-free tests below pin those cases with values worked
out by hand; the hypothesis tests compare random indices with PyTorch 2.13 itself.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import build_index, float64_arrays, torch_indices

import tinyconv
from tinyconv.autograd import gradcheck


def arange(*shape, requires_grad=False):
    n = int(np.prod(shape))
    return tinyconv.tensor(
        np.arange(n, dtype=np.float64).reshape(shape), requires_grad=requires_grad
    )


# -- integers are selects, not index arrays
# -------------------------------------------------------------


def test_int_then_slice_then_list_keeps_the_list_dim_in_place():
    x = arange(2, 2, 2)
    y = x[0, :, [0, 1]]  # select x[0] = [[0, 1], [2, 3]], then its last dim by [0, 1]
    assert y.tolist() == [[0.0, 1.0], [2.0, 3.0]]  # NumPy's rule would give [[0, 2], [1, 3]]


def test_int_then_slice_then_list_changes_the_shape_as_in_pytorch():
    x = arange(2, 3, 4)
    assert x[0, :, [0, 1]].shape == (3, 2)  # NumPy: (2, 3)
    assert x[:, 0, :, None][[1, 0]].shape == (2, 4, 1)
    assert x[1, [2, 0], 1:].tolist() == [[21.0, 22.0, 23.0], [13.0, 14.0, 15.0]]
    assert x[[1, 0], :, 3].tolist() == [[15.0, 19.0, 23.0], [3.0, 7.0, 11.0]]  # (2, 3) either way
    assert x[..., 0, [1, 2]].shape == (2, 2)  # select dim 1 first: arrays on dim 2 of (2, 4)
    assert x[0, ..., [1, 2]].shape == (3, 2)  # NumPy: (2, 3)


def test_a_0d_integer_tensor_is_a_select_like_an_int():
    x = arange(2, 3, 4)
    for i in (
        tinyconv.tensor(1),
        tinyconv.tensor(1, dtype=tinyconv.int32),
        np.int64(1),
        np.array(1),
    ):
        y = x[i, :, [0, 3]]
        assert y.shape == (3, 2)
        assert y.tolist() == [[12.0, 15.0], [16.0, 19.0], [20.0, 23.0]]
    assert x[tinyconv.tensor(1)]._base is not None  # a view, as x[1] is


def test_two_index_arrays_separated_by_a_slice_or_none_go_first():
    x = arange(2, 3, 4)
    y = x[[0, 1], :, [3, 0]]
    assert y.shape == (2, 3)
    assert y.tolist() == [[3.0, 7.0, 11.0], [12.0, 16.0, 20.0]]
    assert x[[0, 1], None, [1, 2]].shape == (2, 1, 4)
    assert x[[1], ..., [0]].shape == (1, 3)
    # adjacent index arrays (an int between them is a select, so they become adjacent)
    assert x[[0, 1], 2, [1, 2]].tolist() == [9.0, 22.0]
    assert x[None, [0, 1], 0, [1, 2]].shape == (1, 2)


def test_bools_add_a_dim_and_count_as_index_arrays():
    x = arange(2, 3, 4)
    assert x[True].shape == (1, 2, 3, 4)
    assert x[False].shape == (0, 2, 3, 4)
    assert x[0, True].shape == (1, 3, 4)
    assert x[[0, 1], True, [0, 1]].tolist() == [[0.0, 1.0, 2.0, 3.0], [16.0, 17.0, 18.0, 19.0]]
    assert x[[0, 1], :, tinyconv.tensor(True)].shape == (2, 3, 4)  # separated: first
    assert x[np.array(True)].shape == (1, 2, 3, 4)


def test_masks_mixed_with_ints_and_slices():
    x = arange(2, 3, 4)
    m = tinyconv.tensor([True, False, True, True])
    y = x[0, :, m]
    assert y.shape == (3, 3)  # NumPy: (3, 3) too, but transposed
    assert y.tolist() == [[0.0, 2.0, 3.0], [4.0, 6.0, 7.0], [8.0, 10.0, 11.0]]
    m2 = tinyconv.tensor([[True, False, False], [False, False, True]])
    assert x[m2, 1:3].tolist() == [[1.0, 2.0], [21.0, 22.0]]
    assert x[:, m2[0], [2]].tolist() == [[2.0], [14.0]]
    assert x[[True, False]].shape == (1, 3, 4)  # a list of bools is a mask
    assert x[np.array([[True, False, True], [False, False, False]])].shape == (2, 4)
    # with `...` last, PyTorch's miscount of a list/ndarray mask's dims is harmless
    assert x[np.ones((2, 3), bool), ...].shape == (6, 4)
    assert x[..., tinyconv.tensor(np.ones((3, 4), bool))].shape == (2, 12)


def test_index_arrays_of_several_dims_lists_and_numpy_arrays():
    x = arange(4, 5)
    idx = [[0, 3], [2, -1]]
    want = [[[0.0, 3.0], [2.0, 4.0]], [[5.0, 8.0], [7.0, 9.0]]]
    assert x[0:2, idx].tolist() == want
    assert x[0:2, np.array(idx)].tolist() == want
    assert x[0:2, tinyconv.tensor(idx)].tolist() == want
    assert x[0:2, tinyconv.tensor(idx, dtype=tinyconv.int32)].tolist() == want
    assert x[tinyconv.tensor(idx), 1].tolist() == [[1.0, 16.0], [11.0, 16.0]]


def test_slices_with_steps_and_bounds_past_the_end():
    x = arange(7)
    assert x[1:100:3].tolist() == [1.0, 4.0]
    assert x[-100:2].tolist() == [0.0, 1.0]
    assert x[5:1].shape == (0,)
    assert x[tinyconv.tensor(1) : tinyconv.tensor(6) : tinyconv.tensor(2)].tolist() == [
        1.0,
        3.0,
        5.0,
    ]


def test_a_list_holding_sequences_reads_as_a_tuple_like_pytorch():
    x = arange(2, 3)
    with pytest.warns(UserWarning, match="tuple"):
        y = x[[[0, 1], [2, 0]]]
    assert y.tolist() == [2.0, 3.0]  # x[[0, 1], [2, 0]], not rows by a (2, 2) array
    with pytest.warns(UserWarning, match="tuple"):
        assert x[[0, None]].shape == (1, 3)


def test_uint8_indices_are_masks_like_pytorch():
    x = arange(3)
    with pytest.warns(UserWarning, match="uint8"):
        assert x[tinyconv.tensor([1, 0, 1], dtype=tinyconv.uint8)].tolist() == [0.0, 2.0]


# -- errors
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "index", "exc", "message"),
    [
        ((2, 3), (slice(None), slice(None, None, -1)), ValueError, r"negative slice steps.*flip"),
        ((2, 3), slice(None, None, 0), ValueError, r"slice step cannot be zero"),
        ((2, 3), ([], 5), IndexError, r"index 5 is out of bounds for dimension 1 with size 3"),
        ((2, 3), [-3], IndexError, r"index -3 is out of bounds for dimension 0 with size 2"),
        ((2, 3), ([0], [7]), IndexError, r"index 7 is out of bounds for dimension 1 with size 3"),
        ((2, 0, 4), (slice(None), [5]), IndexError, r"out of bounds for dimension 1 with size 0"),
        ((0, 0), (slice(None), [1]), IndexError, r"out of bounds for dimension 1 with size 0"),
        ((0, 3), (slice(None), 7), IndexError, r"index 7 is out of bounds for dimension 1"),
        ((2, 3), [True, False, True], IndexError, r"mask of shape \(3,\) does not match.*\(2,\)"),
        ((2, 3), ([0, 1], [0, 1, 1]), IndexError, r"could not be broadcast"),
        ((2, 3), (Ellipsis, 0, Ellipsis, 0, 0), IndexError, r"too many indices"),
        (
            (2, 3, 4),
            (np.ones((2, 3), bool), Ellipsis, slice(0, 1)),
            IndexError,
            r"mask of 2 dims given as a ndarray together with '\.\.\.'.*as a tensor",
        ),
        ((2, 3, 4), (Ellipsis, [[True] * 4] * 3), IndexError, r"mask of 2 dims given as a list"),
        ((), 0, IndexError, r"too many indices for a tensor of dimension 0"),
        ((2, 3), [1.0], TypeError, r"integer or bool arrays, got float64"),
        (
            (2, 3),
            tinyconv.tensor([1], dtype=tinyconv.int16),
            TypeError,
            r"long, int or bool.*int16",
        ),
        ((2, 3), np.bool_(True), TypeError, r"invalid index of type bool"),
    ],
)
def test_bad_indices_raise_where_pytorch_raises(shape, index, exc, message):
    x = tinyconv.zeros(shape, dtype=tinyconv.float64)
    with pytest.raises(exc, match=message):
        x[index]
    with pytest.raises(exc, match=message):
        x[index] = 1.0


@pytest.mark.parametrize(
    ("shape", "index", "result"),
    [
        # PyTorch reads no index entry when the result has no elements, so it checks none
        ((2, 3, 4), ([], [7]), (0, 4)),
        ((2, 3, 4), (slice(None), [], [70]), (2, 0)),
        ((0, 3), (slice(None), [5]), (0, 1)),
        ((2, 0), [7], (1, 0)),
        ((2, 0, 3), ([7], slice(None), [1]), (1, 0)),
        ((3, 0), ([1], []), (0,)),
        ((2, 3), (slice(0, 0), [7]), (0, 1)),
    ],
)
def test_empty_selections_check_bounds_as_pytorch_does(shape, index, result):
    x = tinyconv.zeros(shape, dtype=tinyconv.float64, requires_grad=True)
    y = x[index]
    assert y.shape == result
    y.sum().backward()
    assert x.grad.shape == shape and not x.grad.numpy().any()
    z = tinyconv.zeros(shape)
    z[index] = 1.0
    assert not z.numpy().any()


# -- gradients
# ---------------------------------------------------------------------------------------------


def test_getitem_gradient_follows_pytorch_placement():
    x = arange(2, 2, 2, requires_grad=True)
    w = tinyconv.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=tinyconv.float64)
    (x[0, :, [0, 1]] * w).sum().backward()
    # y[i, j] = x[0, i, j]: the weight lands where it was read, not transposed
    assert x.grad.tolist() == [[[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]]]


def test_getitem_gradient_sums_repeated_entries():
    x = arange(3, requires_grad=True)
    (
        x[np.array([[0, 0], [2, 0]])]
        * tinyconv.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=tinyconv.float64)
    ).sum().backward()
    assert x.grad.tolist() == [7.0, 0.0, 3.0]


def test_setitem_writes_and_differentiates_in_pytorch_placement():
    v = tinyconv.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=tinyconv.float64, requires_grad=True)
    x = arange(2, 2, 2, requires_grad=True)
    y = x * 1
    y[0, :, [0, 1]] = v
    assert y.tolist() == [[[1.0, 2.0], [3.0, 4.0]], [[4.0, 5.0], [6.0, 7.0]]]
    w = arange(2, 2, 2) + 1
    (y * w).sum().backward()
    assert v.grad.tolist() == [[1.0, 2.0], [3.0, 4.0]]  # w[0, i, j] for v[i, j]
    assert x.grad.tolist() == [[[0.0, 0.0], [0.0, 0.0]], [[5.0, 6.0], [7.0, 8.0]]]


def test_setitem_value_with_extra_leading_ones():
    x = arange(3, 4, requires_grad=True)
    y = tinyconv.zeros(3, 4, dtype=tinyconv.float64)
    y[0] = x[1:2]  # a (1, 4) value into a (4,) row: PyTorch drops the leading 1
    assert y[0].tolist() == [4.0, 5.0, 6.0, 7.0]
    (y * (arange(3, 4) + 1)).sum().backward()
    assert x.grad.tolist() == [[0.0] * 4, [1.0, 2.0, 3.0, 4.0], [0.0] * 4]
    v = tinyconv.ones(1, 1, 1, 4, dtype=tinyconv.float64, requires_grad=True)
    y = tinyconv.zeros(2, 3, 4, dtype=tinyconv.float64)
    y[[0, 1]] = v  # broadcast over (2, 3, 4) after dropping the leading ones
    y.sum().backward()
    assert v.grad.shape == (1, 1, 1, 4) and v.grad.tolist() == [[[[6.0] * 4]]]
    with pytest.raises(ValueError, match=r"value of shape \(2, 3, 4\).*part of shape \(3, 4\)"):
        y[0] = tinyconv.ones(2, 3, 4)


def test_setitem_repeated_indices_last_write_wins_and_every_entry_gets_its_gradient():
    v = tinyconv.tensor([1.0, 2.0, 3.0], dtype=tinyconv.float64, requires_grad=True)
    x = tinyconv.zeros(2, dtype=tinyconv.float64, requires_grad=True)
    y = x * 1
    y[[0, 0, 0]] = v
    assert y.tolist() == [3.0, 0.0]
    (y * tinyconv.tensor([10.0, 20.0], dtype=tinyconv.float64)).sum().backward()
    assert v.grad.tolist() == [10.0, 10.0, 10.0]  # PyTorch's index_put_ backward
    assert x.grad.tolist() == [0.0, 20.0]


def test_setitem_dtypes():
    y = tinyconv.zeros(2, 3, dtype=tinyconv.int64)
    y[0] = tinyconv.tensor([2.7, -2.7, 1.0])  # a basic index copies with a cast (truncating)
    y[1, [0, 2]] = -3.9  # a Python number takes the tensor's dtype
    assert y.tolist() == [[2, -2, 1], [-3, 0, -3]]
    z = tinyconv.zeros(2, 3, dtype=tinyconv.float64)
    with pytest.raises(RuntimeError, match=r"dtype must be the tensor's.*float32.*float64"):
        z[[0]] = tinyconv.ones(3)  # PyTorch's index_put_ refuses a float32 value here
    # one bool mask and a one-element value: PyTorch's masked_fill_ path, which casts
    z[tinyconv.tensor([True, False])] = tinyconv.tensor(2.5, dtype=tinyconv.float32)
    z[True] = tinyconv.tensor([7.0])  # bare True: a copy into x.unsqueeze(0), which casts
    assert z.tolist() == [[7.0] * 3, [7.0] * 3]
    with pytest.raises(RuntimeError, match="dtype must be"):
        z[(True,)] = tinyconv.tensor([7.0])
    with pytest.warns(UserWarning, match="uint8"), pytest.raises(RuntimeError, match="uint8 mask"):
        z[tinyconv.tensor([1, 0], dtype=tinyconv.uint8)] = 1.0
    v = tinyconv.ones(3, requires_grad=True)  # float32 into float64 through a basic index
    z[0] = v
    z.sum().backward()
    assert v.grad.dtype == tinyconv.float32 and v.grad.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    "index",
    [
        (0, slice(None), [0, 1]),
        ([1, 0], slice(None), [2, 0]),
        ([[0], [1]], None, [1, 2, 2]),
        (Ellipsis, [True, False, True, True]),
        (1, slice(None, None, 2), [[3, 3], [0, -1]]),
        (tinyconv.tensor(0), [True, False, True], slice(1, None)),
        (True, [1, 1, 0], 0, slice(None)),
    ],
)
def test_gradcheck_getitem_and_setitem(index):
    x = tinyconv.tensor(np.random.default_rng(0).standard_normal((2, 3, 4)), requires_grad=True)
    assert gradcheck(lambda t: t[index], (x,))
    shape = x.detach()[index].shape
    v = tinyconv.tensor(np.random.default_rng(1).standard_normal(shape), requires_grad=True)
    repeats = np.unique(np.arange(24.0).reshape(2, 3, 4)[_numpy_like(index)]).size != int(
        np.prod(shape)
    )

    def put(t, val):
        y = t * 1
        y[index] = val * 2
        return y

    if repeats:  # which repeated write survives has no derivative in v; check x alone
        assert gradcheck(lambda t: put(t, v.detach()), (x,))
    else:
        assert gradcheck(put, (x, v))


def _numpy_like(index):
    """The same selection by plain NumPy rules, to count repeats (placement does not matter)."""
    return tuple(np.asarray(i._data) if isinstance(i, tinyconv.Tensor) else i for i in index)


# -- against PyTorch
# ---------------------------------------------------------------------------------------


@st.composite
def index_cases(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4))
    return shape, draw(torch_indices(shape))


def same_grad(g, gt) -> None:
    assert (g is None) == (gt is None), f"grad {g} vs PyTorch's {gt}"
    if g is not None:
        assert g.shape == tuple(gt.shape) and g.dtype == tinyconv.float64
        np.testing.assert_allclose(g.numpy(), gt.numpy(), rtol=1e-12, atol=1e-12)


def _both(index, torch):
    return (
        build_index(index, lambda a: tinyconv.tensor(a)),
        build_index(index, lambda a: torch.tensor(a)),
    )


@given(case=index_cases(), seed=st.integers(0, 2**32 - 1))
def test_getitem_matches_torch(case, seed):
    torch = pytest.importorskip("torch")
    shape, index = case
    rng = np.random.default_rng(seed)
    data = rng.standard_normal(shape)
    x = tinyconv.tensor(data, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    ti, tt = _both(index, torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y, yt = x[ti], xt[tt]
    assert tuple(y.shape) == tuple(yt.shape), f"x{list(shape)}[{index!r}]"
    np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
    g = rng.standard_normal(tuple(yt.shape))
    (y * tinyconv.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    same_grad(x.grad, xt.grad)


@given(case=index_cases(), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_setitem_matches_torch(case, seed, data):
    torch = pytest.importorskip("torch")
    shape, index = case
    rng = np.random.default_rng(seed)
    xd = rng.standard_normal(shape)
    ti, tt = _both(index, torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = tuple(torch.zeros(shape)[tt].shape)
    # a value that broadcasts to the target: dims dropped or set to 1, or extra leading ones
    vshape = tuple(n if data.draw(st.booleans()) else 1 for n in target)
    vshape = vshape[data.draw(st.integers(0, len(vshape))) :]
    vshape = (1,) * data.draw(st.integers(0, 2)) + vshape
    vd = data.draw(float64_arrays(vshape))
    x, xt = tinyconv.tensor(xd, requires_grad=True), torch.tensor(xd, requires_grad=True)
    v, vt = tinyconv.tensor(vd, requires_grad=True), torch.tensor(vd, requires_grad=True)
    y, yt = x * 1, xt * 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y[ti] = v
        yt[tt] = vt
    # where an element is written more than once, which write survives is up to the library
    pos = torch.arange(int(np.prod(shape))).reshape(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        picked = pos[tt].numpy().ravel()
    once = np.bincount(picked, minlength=pos.numel()).reshape(shape) <= 1
    np.testing.assert_array_equal(y.detach().numpy()[once], yt.detach().numpy()[once])
    g = rng.standard_normal(shape)
    (y * tinyconv.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    same_grad(x.grad, xt.grad)
    same_grad(v.grad, vt.grad)  # None in both after `y[False] = v`, which writes nothing


# (target, index, value) of `target[index] = value`, from the library T and the tensor v
OVERLAP_WRITES = {
    "v[[0, 0]] = v": lambda T, v: (v, [0, 0], v),
    "v[[1, 0]] = v": lambda T, v: (v, [1, 0], v),
    "v[:] = v": lambda T, v: (v, slice(None), v),
    "v[1:] = v[:-1]": lambda T, v: (v, slice(1, None), v[:-1]),
    "v[[0, 1]] = v[[1, 0]]": lambda T, v: (v, [0, 1], v[[1, 0]]),
    "v[0] = v[1]": lambda T, v: (v, 0, v[1]),
    "v[mask] = v[1]": lambda T, v: (v, T.tensor([True, False]), v[1]),
    "v[[0]] = v[1:]": lambda T, v: (v, [0], v[1:]),
    "v[...] = v.flip(0)": lambda T, v: (v, Ellipsis, v.flip(0)),
    "v[:, 0] = v[:, 1]": lambda T, v: (v, (slice(None), 0), v[:, 1]),
    "v[:, [0, 1]] = v.t()": lambda T, v: (v, (slice(None), [0, 1]), v.t()),
    "v[[0, 1]] = v.t()": lambda T, v: (v, [0, 1], v.t()),
    "v.t()[[0, 1]] = v": lambda T, v: (v.t(), [0, 1], v),
    "v[:] = v.t()": lambda T, v: (v, slice(None), v.t()),
    "v[[0, 1], [0, 1]] = v[0]": lambda T, v: (v, ([0, 1], [0, 1]), v[0]),
    "v[0, [0, 1]] = v[:, 0]": lambda T, v: (v, (0, [0, 1]), v[:, 0]),
    "v[0] = v[:, 0]": lambda T, v: (v, 0, v[:, 0]),
    "v[v > 2] = v[0, 0]": lambda T, v: (v, v > 2, v[0, 0]),
    "v[v > 2] = v[0]": lambda T, v: (v, v > 2, v[0]),
    "v[True] = v": lambda T, v: (v, True, v),
    "v[None] = v": lambda T, v: (v, None, v),
    "v[0, 0] = v[0, 0]": lambda T, v: (v, (0, 0), v[0, 0]),
    "v[[0]] = v[0, 0]": lambda T, v: (v, [0], v[0, 0]),
    "v[0][[1, 0]] = v[0]": lambda T, v: (v[0], [1, 0], v[0]),
    "v[:1] = v[0:1]": lambda T, v: (v, slice(None, 1), v[0:1]),
}


@pytest.mark.torch
@pytest.mark.parametrize("line", list(OVERLAP_WRITES))
def test_writes_whose_value_overlaps_the_target_raise_as_pytorch(line):
    """A value sharing memory with the written part: PyTorch refuses a partial overlap for a
    basic index and any overlap for an advanced one (its layout checks), tinyconv too."""
    torch = pytest.importorskip("torch")
    got = []
    for T in (torch, tinyconv):
        v = T.tensor([[1.0, 2.0], [3.0, 4.0]])
        target, index, value = OVERLAP_WRITES[line](T, v)
        try:
            target[index] = value
            got.append(v.tolist())
        except RuntimeError:
            got.append("RuntimeError")
    assert got[1] == got[0]
