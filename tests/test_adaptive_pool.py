"""Adaptive average/max pooling with uneven windows, and max_pool2d windows that lie
entirely in the padding: kernels == loop references, gradients == finite differences,
values, indices and gradients == PyTorch's (when torch is installed)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from strategies import adaptive_pool_configs

import tinyconv
import tinyconv.nn.functional as F
from tinyconv import nn
from tinyconv.autograd import gradcheck
from tinyconv.kernels import pool as P


def test_windows_are_pytorchs_floor_and_ceil():
    # 5 -> 3: [0, 2), [1, 4), [3, 5): uneven and overlapping
    starts, ends = P.adaptive_windows(5, 3)
    assert starts.tolist() == [0, 1, 3] and ends.tolist() == [2, 4, 5]
    # 1 -> 7: every window is the one row
    starts, ends = P.adaptive_windows(1, 7)
    assert starts.tolist() == [0] * 7 and ends.tolist() == [1] * 7
    # divisible: the tiles of an ordinary pooling
    starts, ends = P.adaptive_windows(6, 3)
    assert starts.tolist() == [0, 2, 4] and ends.tolist() == [2, 4, 6]


def test_hand_worked_5_to_3():
    x = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)
    y = P.adaptive_avg_pool2d_forward(x, (3, 3))
    # rows [0,2) x cols [0,2): mean of 0, 1, 5, 6;
    # rows [1,4) x cols [1,4): mean of 6..8, 11..13, 16..18
    assert y[0, 0, 0, 0] == 3.0 and y[0, 0, 1, 1] == 12.0 and y[0, 0, 2, 2] == 21.0
    m, idx = P.adaptive_max_pool2d_forward(x, (3, 3))
    assert m[0, 0].tolist() == [[6, 8, 9], [16, 18, 19], [21, 23, 24]]
    assert idx[0, 0].tolist() == m[0, 0].astype(int).tolist()  # x holds its own flat index


@given(case=adaptive_pool_configs())
def test_kernels_match_loop_references(case):
    shape, out, seed = case
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, shape).astype(np.float64)  # small integers: ties happen
    if x.size > 2 and seed % 3 == 0:
        x.reshape(-1)[seed % x.size] = np.nan  # a NaN stays in the windows that hold it
    np.testing.assert_allclose(
        P.adaptive_avg_pool2d_forward(x, out),
        P.adaptive_avg_pool2d_reference(x, out),
        rtol=0,
        atol=1e-12,
    )
    y, idx = P.adaptive_max_pool2d_forward(x, out)
    y_ref, idx_ref = P.adaptive_max_pool2d_reference(x, out)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    assert idx.dtype == np.int64 and y.dtype == x.dtype


@given(case=adaptive_pool_configs(max_size=6))
def test_gradients_match_finite_differences(case):
    shape, out, seed = case
    rng = np.random.default_rng(seed)
    # distinct values, so the max is not at a tie (where it has no derivative)
    x = tinyconv.tensor(
        rng.permutation(np.prod(shape)).reshape(shape) * 0.1 + rng.random(shape) * 0.01,
        requires_grad=True,
    )
    assert gradcheck(lambda t: F.adaptive_avg_pool2d(t, out), (x,), atol=1e-6, rtol=1e-6)
    assert gradcheck(lambda t: F.adaptive_max_pool2d(t, out), (x,), atol=1e-6, rtol=1e-6)


def test_functional_and_modules():
    x = tinyconv.randn(2, 3, 5, 7, requires_grad=True)
    y, idx = nn.AdaptiveMaxPool2d((3, None), return_indices=True)(x)
    assert y.shape == (2, 3, 3, 7) and idx.shape == (2, 3, 3, 7) and idx.dtype == tinyconv.int64
    assert y.requires_grad and not idx.requires_grad and y.dtype == tinyconv.float32
    assert nn.AdaptiveAvgPool2d(1)(x).shape == (2, 3, 1, 1)
    assert F.adaptive_avg_pool2d(x[0], (4, 2)).shape == (3, 4, 2)  # unbatched
    assert repr(nn.AdaptiveMaxPool2d(2)) == "AdaptiveMaxPool2d(output_size=2)"
    y.sum().backward()
    # every output sends 1 to its argmax: x.grad counts how many windows chose each pixel
    counts = np.zeros(2 * 3 * 5 * 7)
    flat = idx.numpy() + (np.arange(6) * 35).reshape(2, 3, 1, 1)
    np.add.at(counts, flat.ravel(), 1)
    np.testing.assert_array_equal(x.grad.numpy().ravel(), counts)


# -- max_pool2d: windows entirely inside the padding --------------------------------------

# (input shape, kwargs, the indices PyTorch 2.13 returns), checked by running torch
EMPTY_WINDOW_CASES = [
    ((1, 1, 1, 2), {"kernel_size": 2, "padding": 1, "dilation": 2}, [[[[3]]]]),
    ((1, 1, 1, 4), {"kernel_size": 2, "padding": 1, "dilation": 2}, [[[[5, 5]]]]),
    ((1, 1, 3, 1), {"kernel_size": 2, "padding": 1, "dilation": 2}, [[[[2], [2]]]]),
    ((1, 1, 3, 1), {"kernel_size": (1, 2), "padding": (0, 1), "dilation": 2}, [[[[1], [2], [3]]]]),
]


@pytest.mark.parametrize("shape, kwargs, expected", EMPTY_WINDOW_CASES)
def test_max_pool2d_empty_window_indices(shape, kwargs, expected):
    x = np.arange(1.0, 1 + np.prod(shape)).reshape(shape)
    args = [
        kwargs["kernel_size"],
        kwargs.get("stride", kwargs["kernel_size"]),
        kwargs["padding"],
        kwargs["dilation"],
    ]
    args = [a if isinstance(a, tuple) else (a, a) for a in args]
    y, idx = P.max_pool2d_forward(x, *args)
    assert idx.tolist() == expected
    assert np.isneginf(y).all()
    y_ref, idx_ref = P.max_pool2d_reference(x, *args)
    np.testing.assert_array_equal(idx, idx_ref)
    np.testing.assert_array_equal(y, y_ref)
    t = tinyconv.tensor(x)
    _, t_idx = F.max_pool2d(t, return_indices=True, **kwargs)
    assert t_idx.tolist() == expected


def test_max_pool2d_empty_window_backward_refuses_a_gradient_pytorch_misroutes():
    x = tinyconv.tensor(np.arange(1.0, 4).reshape(1, 1, 3, 1), requires_grad=True)
    # window (0, 0) reads rows -1, 1 and columns -1, 1 of a 1-wide input: all padding
    y = F.max_pool2d(x, 2, padding=1, dilation=2)
    with pytest.raises(
        RuntimeError, match=r"max_pool2d: output window \(0, 0\) lies entirely in the padding"
    ):
        y.sum().backward()
    # a zero gradient through those windows is fine (it is the true one)
    x2 = tinyconv.tensor(np.arange(1.0, 10).reshape(1, 1, 3, 3), requires_grad=True)
    y2 = F.max_pool2d(x2, 2, stride=2, padding=1, dilation=3, ceil_mode=True)
    assert y2.shape == (1, 1, 2, 2)
    g = np.zeros(y2.shape)
    y2.backward(tinyconv.tensor(g))
    assert x2.grad.numpy().sum() == 0


# -- against PyTorch ------------------------------------------------------------------------


@given(case=adaptive_pool_configs())
def test_adaptive_pools_match_pytorch(case):
    torch = pytest.importorskip("torch")
    shape, out, seed = case
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, shape).astype(np.float64)  # ties: the first maximum must win in both
    g = rng.standard_normal((shape[0], shape[1], *out))
    xt = torch.tensor(x, requires_grad=True)
    x_tc = tinyconv.tensor(x, requires_grad=True)
    for fn_t, fn_tc in [
        (
            lambda a: torch.nn.functional.adaptive_avg_pool2d(a, out),
            lambda a: F.adaptive_avg_pool2d(a, out),
        ),
        (
            lambda a: torch.nn.functional.adaptive_max_pool2d(a, out, return_indices=True),
            lambda a: F.adaptive_max_pool2d(a, out, return_indices=True),
        ),
    ]:
        xt.grad, x_tc.grad = None, None
        yt, y_tc = fn_t(xt), fn_tc(x_tc)
        if isinstance(yt, tuple):
            np.testing.assert_array_equal(y_tc[1].numpy(), yt[1].numpy())
            yt, y_tc = yt[0], y_tc[0]
        np.testing.assert_allclose(y_tc.detach().numpy(), yt.detach().numpy(), rtol=0, atol=1e-12)
        yt.backward(torch.tensor(g))
        y_tc.backward(tinyconv.tensor(g))
        np.testing.assert_allclose(x_tc.grad.numpy(), xt.grad.numpy(), rtol=0, atol=1e-12)


def test_adaptive_pools_match_pytorch_float32_and_none_sizes():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 7)).astype(np.float32)
    for size in [(3, None), (None, 2), 1, (1, 7), None]:
        if size is None:
            continue
        ta = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x), size)
        a = F.adaptive_avg_pool2d(tinyconv.tensor(x), size)
        assert a.dtype == tinyconv.float32 and a.shape == tuple(ta.shape)
        np.testing.assert_allclose(a.numpy(), ta.numpy(), rtol=1e-6, atol=1e-6)
        tm, ti = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), size, return_indices=True)
        m, i = F.adaptive_max_pool2d(tinyconv.tensor(x), size, return_indices=True)
        np.testing.assert_array_equal(m.numpy(), tm.numpy())
        np.testing.assert_array_equal(i.numpy(), ti.numpy())


@pytest.mark.parametrize("shape, kwargs, expected", EMPTY_WINDOW_CASES)
def test_max_pool2d_empty_window_indices_match_pytorch(shape, kwargs, expected):
    torch = pytest.importorskip("torch")
    x = np.arange(1.0, 1 + np.prod(shape)).reshape(shape)
    _, ti = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
    assert ti.tolist() == expected  # the table above is what torch returns
    _, idx = F.max_pool2d(tinyconv.tensor(x), return_indices=True, **kwargs)
    assert idx.tolist() == ti.tolist()


def test_max_pool2d_padding_windows_with_real_taps_match_pytorch():
    # dilation and ceil_mode: windows that hang into the padding but hold real taps,
    # some of them all -inf, so the index rule for "only padding wins" is exercised too
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for shape, kwargs in [
        ((1, 2, 3, 3), {"kernel_size": 2, "padding": 1, "dilation": 3}),
        ((2, 1, 5, 5), {"kernel_size": 3, "stride": 3, "padding": 1, "ceil_mode": True}),
        (
            (1, 1, 4, 6),
            {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True},
        ),
    ]:
        x = rng.standard_normal(shape)
        x[0, 0, :2] = -np.inf
        tv, ti = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
        v, i = F.max_pool2d(tinyconv.tensor(x), return_indices=True, **kwargs)
        np.testing.assert_array_equal(v.numpy(), tv.numpy())
        np.testing.assert_array_equal(i.numpy(), ti.numpy())


@pytest.mark.parametrize(
    "shape",
    [
        (3, 0, 3, 4),
        (0, 2, 3, 4),
        (0, 0, 3, 4),
        (2, 3, 0, 4),
        (2, 3, 4, 0),
        (0, 3, 4),
        (3, 0, 4),
        (3, 4, 0),
    ],
)
@pytest.mark.parametrize("size", [(2, 2), (0, 2)])
@pytest.mark.parametrize("name", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_empty_inputs_and_outputs_as_pytorch(shape, size, name):
    """Empty dims: the output, or the error, of PyTorch, in forward and in backward (PyTorch
    refuses empty heights/widths, max pooling empty channels, backward empty outputs)."""
    torch = pytest.importorskip("torch")
    got = []
    for T in (torch, tinyconv):
        x = T.zeros(shape, dtype=T.float64, requires_grad=True)
        try:
            y = getattr(T.nn.functional, name)(x, size)
            got.append(tuple(y.shape))
            y.sum().backward()
            got.append(tuple(x.grad.shape))
        except RuntimeError:
            got.append("RuntimeError")
    assert got[len(got) // 2 :] == got[: len(got) // 2]
