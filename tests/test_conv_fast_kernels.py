"""The fast module's own kernels equal the plain path (conv.py's im2col): depthwise.py's
direct depthwise convolution, forward and both gradients, on random configurations
(float64 to 1e-10; float32 to the tolerance stated in each test)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import conv2d_configs
from test_conv_kernels import knobs, make_arrays, output_shape

from tinyconv.kernels import conv as K
from tinyconv.kernels import conv_fast as FAST
from tinyconv.kernels import depthwise


def plain_and_fast(cfg, path, dtype=np.float64, need=(True, True, True)):
    x, w, b = make_arrays(cfg, dtype)
    g = np.random.default_rng(cfg.seed + 5).standard_normal(output_shape(cfg)).astype(dtype)
    y0, cols0 = K.conv2d_forward(x, w, b, *cfg.args)
    plain = (y0, *K.conv2d_backward(g, x, w, cols0, *cfg.args, *need))
    with knobs(path) as A:
        y, cols = A.conv2d_forward(x, w, b, *cfg.args)
        fast = (y, *A.conv2d_backward(g, x, w, cols, *cfg.args, *need))
    return plain, fast


def assert_same(plain, fast, atol):
    for want, got in zip(plain, fast, strict=True):
        assert (got is None) == (want is None)
        if want is not None:
            assert got.shape == want.shape and got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=0, atol=atol)


@pytest.mark.parametrize("path", ["general", "depthwise_chunked"])
@given(
    cfg=conv2d_configs(depthwise=True, max_channels=6, max_extra=6),
    need=st.tuples(st.booleans(), st.booleans(), st.booleans()),
)
def test_depthwise_equals_the_plain_path(path, cfg, need):
    plain, fast = plain_and_fast(cfg, path, need=need)
    assert_same(plain, fast, 1e-10)


@given(cfg=conv2d_configs(depthwise=True, max_channels=6, max_extra=6))
def test_depthwise_float32_within_stated_tolerance(cfg):
    # float32 sums of at most 3*5*5*9*... terms of size ~1: 1e-4 absolute is ~100 ulps of them
    plain, fast = plain_and_fast(cfg, "general", np.float32)
    assert_same(plain, fast, 1e-4)


@given(cfg=conv2d_configs(depthwise=True, max_channels=6))
def test_depthwise_integer_forward_is_exact(cfg):
    x, w, b = make_arrays(cfg, np.int64)
    with knobs("general") as A:
        y, _ = A.conv2d_forward(x, w, b, *cfg.args)
    np.testing.assert_array_equal(y, K.conv2d_reference(x, w, b, *cfg.args))
    assert y.dtype == np.int64


def test_depthwise_path_is_taken(monkeypatch):
    calls = []
    real_fwd, real_bwd = depthwise.depthwise_forward, depthwise.depthwise_backward
    monkeypatch.setattr(depthwise, "depthwise_forward", lambda *a: calls.append(1) or real_fwd(*a))
    monkeypatch.setattr(depthwise, "depthwise_backward", lambda *a: calls.append(2) or real_bwd(*a))
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 8, 12, 12)), rng.standard_normal((16, 1, 3, 3))
    args = ((1, 1), ((1, 1), (1, 1)), (1, 1), 8)
    y, cols = FAST.conv2d_forward(x, w, None, *args)
    FAST.conv2d_backward(np.ones_like(y), x, w, cols, *args)
    assert calls == [1, 2]
    # groups == in_channels with more channels per group is not depthwise
    calls.clear()
    FAST.conv2d_forward(x, rng.standard_normal((8, 2, 3, 3)), None, *args[:3], 4)
    assert calls == []


def test_depthwise_non_finite_values_stay_in_their_windows():
    x = np.ones((1, 2, 9, 9))
    x[0, 1, 0, 0] = np.inf
    w = np.ones((4, 1, 3, 3))
    args = ((1, 1), ((1, 1), (1, 1)), (1, 1), 2)
    with knobs("general") as A:
        y, _ = A.conv2d_forward(x, w, None, *args)
        g = np.zeros(y.shape)
        g[0, 3, 8, 8] = np.inf
        gx, _, _ = A.conv2d_backward(g, np.ones_like(x), w, None, *args, need_weight=False)
    np.testing.assert_array_equal(y, K.conv2d_reference(x, w, None, *args))
    assert np.isfinite(y).sum() == y.size - 2 * 4  # channels 2 and 3 read the inf pixel
    assert np.isinf(gx[0, 1, 7:, 7:]).all() and np.isfinite(gx).sum() == gx.size - 4
