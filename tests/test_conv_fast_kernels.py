"""The fast module's own kernels equal the plain path (conv.py's im2col): depthwise.py's
direct depthwise convolution and winograd.py's F(2x2, 3x3) and F(4x4, 3x3), forward and
both gradients, on random configurations (float64 to 1e-10; float32 to the tolerance
stated in each test)."""

from __future__ import annotations

import contextlib
import itertools

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import ConvConfig, conv2d_configs, winograd_configs
from test_conv_kernels import knobs, make_arrays, output_shape

from tinyconv.kernels import algorithms, depthwise, threads, winograd
from tinyconv.kernels import conv as K
from tinyconv.kernels import conv_fast as FAST


def plain_and_fast(cfg, path, dtype=np.float64, need=(True, True, True)):
    """The plain path's and ``path``'s (y, grad_x, grad_w, grad_b); ``path`` is a knob set of
    test_conv_kernels or ``winograd2`` / ``winograd4`` (conv_fast with Winograd forced)."""
    x, w, b = make_arrays(cfg, dtype)
    g = np.random.default_rng(cfg.seed + 5).standard_normal(output_shape(cfg)).astype(dtype)
    y0, cols0 = K.conv2d_forward(x, w, b, *cfg.args)
    plain = (y0, *K.conv2d_backward(g, x, w, cols0, *cfg.args, *need))
    if path.startswith("winograd"):
        m = int(path[-1])
        assert FAST._winograd_m(x, w, *cfg.args[:3], 1, y0.shape[2:], m) == m
        with knobs("general"):  # no tiny gathers, which come before Winograd
            y, cols = FAST.conv2d_forward(x, w, b, *cfg.args, winograd=m)
            fast = (
                y,
                *FAST.conv2d_backward(g, x, w, cols, *cfg.args, *need, winograd=m),
            )
        return plain, fast
    with knobs(path) as A:
        y, cols = A.conv2d_forward(x, w, b, *cfg.args)
        fast = (y, *A.conv2d_backward(g, x, w, cols, *cfg.args, *need))
    return plain, fast


@contextlib.contextmanager
def no_vecdot():
    """depthwise.py as on NumPy 1.x, which has no np.vecdot."""
    saved = depthwise._vecdot
    depthwise._vecdot = None
    try:
        yield
    finally:
        depthwise._vecdot = saved


def assert_same(plain, fast, atol):
    for want, got in zip(plain, fast, strict=True):
        assert (got is None) == (want is None)
        if want is not None:
            assert got.shape == want.shape and got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=0, atol=atol)


@pytest.mark.parametrize("path", ["general", "depthwise_chunked", "depthwise_inside"])
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


@given(
    shape=st.tuples(*[st.integers(1, 2)] * 3, st.integers(1, 7), st.integers(1, 7)),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    out_size=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    pad=st.tuples(st.integers(-3, 3), st.integers(-3, 3)),
)
@example(  # MobileNet's 3x3, padding 1, stride 1 and 2
    shape=(2, 2, 1, 6, 6),
    kernel=(3, 3),
    out_size=(6, 6),
    stride=(1, 1),
    dilation=(1, 1),
    pad=(1, 1),
)
@example(
    shape=(2, 2, 1, 6, 6),
    kernel=(3, 3),
    out_size=(3, 3),
    stride=(2, 2),
    dilation=(1, 1),
    pad=(1, 1),
)
def test_depthwise_shifted_copies_hold_every_window(shape, kernel, out_size, stride, dilation, pad):
    # window (p, q) of output (i, k) is src moved down/right by pad (negative: cropped, zeros
    # outside src) at row i*sh + p*dh, column k*sw + q*dw; scratch buffers start dirty; both
    # layouts; one plan (_copy_plan) filled from another, non-contiguous, source first, as
    # _correlate's passes reuse it (its zeros are written once)
    src = np.random.default_rng(0).standard_normal(shape)
    other = np.random.default_rng(1).standard_normal((*shape[:-1], 2 * shape[-1]))[..., ::2]
    kw, (OH, OW), (sh, sw), (dh, dw) = kernel[1], out_size, stride, dilation
    big = np.zeros((*shape[:3], 40, 40))
    big[..., 10 : 10 + shape[3], 10 : 10 + shape[4]] = src
    r0, c0 = 10 - pad[0], 10 - pad[1]

    def dirty(name, shape, dtype):
        return np.full(shape, np.nan, dtype)

    for inside, reused in itertools.product((False, True), (False, True)):
        if reused:
            X, rows, fill = depthwise._copy_plan(
                depthwise._layout(src, inside).shape,
                pad,
                kernel,
                out_size,
                stride,
                dilation,
                np.float64,
                dirty,
            )
            assert fill(depthwise._layout(other, inside)) is X
            assert fill(depthwise._layout(src, inside)) is X
        else:
            X, rows = depthwise._shifted_copies(
                depthwise._layout(src, inside),
                pad,
                kernel,
                out_size,
                stride,
                dilation,
                np.float64,
                dirty,
            )
        for p, row in enumerate(rows):
            got = depthwise._windows(X, row, out_size)
            for q in range(kw):
                want = big[
                    ...,
                    r0 + p * dh : r0 + p * dh + sh * (OH - 1) + 1 : sh,
                    c0 + q * dw : c0 + q * dw + sw * (OW - 1) + 1 : sw,
                ]
                want = depthwise._layout(want, inside)  # (..., M, OH, B, OW)
                got_q = got.reshape(*want.shape[:-4], shape[2], kw, -1)[..., q, :]
                np.testing.assert_array_equal(got_q, want.reshape(got_q.shape))


@given(
    shape=st.tuples(*[st.integers(1, 2)] * 3, st.integers(1, 7), st.integers(1, 7)),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    out_size=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    pad=st.tuples(st.integers(-3, 3), st.integers(-3, 3)),
    rows_of_a=st.integers(1, 3),
    inside=st.booleans(),
    vecdot=st.booleans(),
)
def test_depthwise_window_dots_are_every_windows_dot_product(
    shape, kernel, out_size, stride, dilation, pad, rows_of_a, inside, vecdot
):
    # _window_dots[..., p, i, k] = <a[..., i, :], window (p, k)> for every kernel row p: one
    # np.vecdot over all rows' windows (_all_windows, evenly spaced rows: stride 1), one per
    # row (strided rows in their phases), or NumPy 1's GEMVs (no np.vecdot); float64, to the
    # rounding of a dot product
    src = np.random.default_rng(1).standard_normal(shape)
    X, rows = depthwise._shifted_copies(
        depthwise._layout(src, inside), pad, kernel, out_size, stride, dilation, np.float64
    )
    lead = X.shape[:-6]
    L = out_size[0] * X.shape[-2] * X.shape[-1]
    a = np.random.default_rng(2).standard_normal((*lead, rows_of_a, L))
    with contextlib.nullcontext() if vecdot else no_vecdot():
        got = depthwise._window_dots(a, X, rows, out_size)
    want = np.stack(
        [np.einsum("...il,...kl->...ik", a, depthwise._windows(X, row, out_size)) for row in rows],
        -3,
    )
    assert got.shape == want.shape == (*lead, kernel[0], rows_of_a, shape[2] * kernel[1])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    if stride[0] == 1:  # stride 1: every kernel row in one view
        assert depthwise._all_windows(X, rows, out_size) is not None


@pytest.mark.parametrize("path", ["depthwise_chunked", "depthwise_inside"])
@given(cfg=conv2d_configs(depthwise=True, max_channels=4, max_extra=4))
def test_depthwise_without_vecdot_equals_the_plain_path(path, cfg):
    # NumPy 1.x has no np.vecdot: the weight gradient's dot products run as GEMVs instead
    with no_vecdot():
        plain, fast = plain_and_fast(cfg, path)
    assert_same(plain, fast, 1e-10)


@given(
    cfg=conv2d_configs(depthwise=True, max_channels=4, max_batch=5),
    inside=st.booleans(),
    chunk_bytes=st.sampled_from([1, 1 << 30]),
    parts=st.integers(2, 3),
)
def test_depthwise_chunks_spread_over_parts_give_the_same_numbers(cfg, inside, chunk_bytes, parts):
    # what conv_fast's thread pool does with ``over``: contiguous runs of work items (chunks
    # of images, cut into ``parts`` runs of channels when fewer than ``parts``), run apart;
    # the outputs and grad_w (chunk shares added in chunk order) must not change by a bit
    x, w, b = make_arrays(cfg, np.float32)
    g = np.random.default_rng(cfg.seed).standard_normal(output_shape(cfg)).astype(np.float32)
    stride, padding, dilation, _ = cfg.args
    out_size = output_shape(cfg)[2:]
    limit = 1 << 30 if inside else 0

    def in_parts(run, chunks):
        return [run(chunks[i : i + 2]) for i in range(0, len(chunks), 2)]

    results = []
    for over, k in ((depthwise._serial, 1), (in_parts, parts)):
        y = depthwise.depthwise_forward(
            x, w, b, stride, padding, dilation, out_size, chunk_bytes, limit, over=over, parts=k
        )
        grads = depthwise.depthwise_backward(
            g, x, w, stride, padding, dilation, True, True, chunk_bytes, limit, over=over, parts=k
        )
        results.append((y, *grads))
    for serial, split in zip(*results, strict=True):
        np.testing.assert_array_equal(split, serial)


@given(
    cfg=conv2d_configs(depthwise=True, max_channels=4, max_batch=5),
    dtype=st.sampled_from([np.float32, np.float64]),
    chunk_bytes=st.sampled_from([1, 1 << 30]),
    parts=st.integers(1, 3),
    layout=st.sampled_from(["contiguous", "strided", "channels_last"]),
)
def test_depthwise_passes_give_the_same_numbers(cfg, dtype, chunk_bytes, parts, layout):
    # _correlate runs each work item in passes of about _SUB_BYTES of copies (one image
    # at a time, or all the item's images at once) through one reused plan of copies: the
    # outputs and both gradients must not change by a bit, whatever the passes, chunks and
    # channel cuts (grad_w's dot products are summed image by image in order), and equal
    # the plain path, also for non-contiguous x and grad_out
    x, w, b = make_arrays(cfg, dtype)
    g = np.random.default_rng(cfg.seed).standard_normal(output_shape(cfg)).astype(dtype)
    if layout == "strided":
        x = np.repeat(x, 2, axis=-1)[..., ::2]
        g = np.repeat(g, 2, axis=-1)[..., ::2]
    elif layout == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        g = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    stride, padding, dilation, _ = cfg.args
    out_size = output_shape(cfg)[2:]

    def in_parts(run, chunks):
        return [run(chunks[i : i + 1]) for i in range(len(chunks))]

    results = []
    saved = depthwise._SUB_BYTES
    try:
        for sub_bytes, over, k in ((1 << 30, depthwise._serial, 1), (1, in_parts, parts)):
            depthwise._SUB_BYTES = sub_bytes
            y = depthwise.depthwise_forward(
                x, w, b, stride, padding, dilation, out_size, chunk_bytes, 0, over=over, parts=k
            )
            grads = depthwise.depthwise_backward(
                g, x, w, stride, padding, dilation, True, True, chunk_bytes, 0, over=over, parts=k
            )
            results.append((y, *grads))
    finally:
        depthwise._SUB_BYTES = saved
    for whole, passes in zip(*results, strict=True):
        assert whole.dtype == passes.dtype == dtype
        np.testing.assert_array_equal(passes, whole)
    y0, cols0 = K.conv2d_forward(x, w, b, *cfg.args)
    gx0, gw0, _ = K.conv2d_backward(g, x, w, cols0, *cfg.args, True, True, False)
    atol = 1e-4 if dtype == np.float32 else 1e-10
    for got, want in zip(results[0], (y0, gx0, gw0), strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=atol)


def test_depthwise_kept_plans_give_the_same_numbers(monkeypatch):
    # plans of copies kept from call to call (_copy_plan's keep, per thread) hand their own
    # copies out again: their zero borders, written once, must still hold after other
    # inputs, other plans (conv_fast's shared scratch buffers dirtied in between) and
    # evictions; forward and both gradients bit for bit as with no kept plan, and the kept
    # plans really are reused
    cases = [  # (x shape, kernel, stride, padding, dilation, inside)
        ((2, 3, 7, 6), 3, 1, 1, 1, True),
        ((2, 3, 7, 6), 3, 1, 1, 1, False),
        ((3, 4, 9, 9), 5, 2, 2, 1, True),
        ((2, 4, 8, 8), 3, 2, 0, 1, False),
        ((2, 2, 9, 7), 3, 1, 2, 2, True),
    ]
    rng = np.random.default_rng(7)
    calls = []
    real = depthwise._plan_copies
    monkeypatch.setattr(depthwise, "_plan_copies", lambda *a, **k: calls.append(1) or real(*a, **k))

    def run(case, dtype, seed):
        shape, k, s, p, d, inside = case
        r = np.random.default_rng(seed)
        x = r.standard_normal((shape[0], shape[2], shape[3], shape[1])).astype(dtype)
        x = x.transpose(0, 3, 1, 2)  # channels-last: not contiguous
        w = r.standard_normal((2 * shape[1], 1, k, k)).astype(dtype)
        args = ((s, s), ((p, p), (p, p)), (d, d))
        out_size = K.conv2d_output_size(shape[2], shape[3], (k, k), *args)
        limit = 1 << 30 if inside else 0
        y = depthwise.depthwise_forward(x, w, None, *args, out_size, 1 << 30, limit, FAST._scratch)
        g = r.standard_normal(y.shape).astype(dtype)
        grads = depthwise.depthwise_backward(
            g, x, w, *args, True, True, 1 << 30, limit, FAST._scratch
        )
        return (y, *grads)

    order = [(c, dt, seed) for seed in (0, 1) for dt in (np.float32, np.float64) for c in cases]
    rng.shuffle(order)
    monkeypatch.setattr(depthwise, "_PLAN_CACHE_BYTES", 0)
    want = [run(*job) for job in order]
    for total in (1 << 30, 1500):  # all kept; each plan evicting the last
        monkeypatch.setattr(depthwise, "_PLAN_CACHE_BYTES", 1 << 30)
        monkeypatch.setattr(depthwise, "_PLAN_CACHE_TOTAL", total)
        depthwise._plans.cache = {}
        calls.clear()
        for job, expected in zip(order * 2, want * 2, strict=True):
            for a, b in zip(run(*job), expected, strict=True):
                np.testing.assert_array_equal(a, b)
        if total > 1500:  # (2 * len(order) runs, each asking for 2+ plans)
            assert len(calls) == len(depthwise._plans.cache) <= len(order)
    depthwise._plans.cache = {}


@given(
    cfg=conv2d_configs(depthwise=True, max_channels=4, max_batch=3),
    dtype=st.sampled_from([np.float32, np.float64]),
    inside=st.booleans(),
    spread=st.sampled_from(["scalar", "channel"]),
)
@example(  # the benchmark's 3x3 padding 1 (flat shifts), a multiplier of 2
    cfg=ConvConfig((2, 3, 6, 6), 6, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 3, 0),
    dtype=np.float32,
    inside=False,
    spread="scalar",
)
def test_depthwise_broadcast_gradient_gives_the_contiguous_numbers(cfg, dtype, inside, spread):
    # y.sum()'s gradient reaches the backward as a broadcast view (strides 0): the flat shifts
    # copy straight from it (_rows_contiguous), with no contiguous copy first; both gradients
    # bit for bit those of the same gradient made contiguous, and the plain path's
    x, w, _ = make_arrays(cfg, dtype)
    shape = output_shape(cfg)
    r = np.random.default_rng(cfg.seed)
    value = r.standard_normal((1, shape[1], 1, 1) if spread == "channel" else ()).astype(dtype)
    g = np.broadcast_to(value, shape)
    assert depthwise._rows_contiguous(
        depthwise._layout(g.reshape(shape[0], -1, 1, *shape[2:]), inside)
    )
    stride, padding, dilation, _ = cfg.args
    limit = 1 << 30 if inside else 0
    got = depthwise.depthwise_backward(
        g, x, w, stride, padding, dilation, True, True, 1 << 30, limit, FAST._scratch
    )
    want = depthwise.depthwise_backward(
        np.ascontiguousarray(g), x, w, stride, padding, dilation, True, True, 1 << 30, limit
    )
    for a, b in zip(got, want, strict=True):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b)
    gx0, gw0, _ = K.conv2d_backward(
        np.ascontiguousarray(g), x, w, None, *cfg.args, True, True, False
    )
    atol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got[0], gx0, rtol=0, atol=atol * max(1, np.abs(value).max()))
    np.testing.assert_allclose(got[1], gw0, rtol=0, atol=atol * max(1, np.abs(value).max()))


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
    # strided: the gradient spread out with zeros between still reaches only those windows
    args = ((2, 2), ((1, 1), (1, 1)), (1, 1), 2)
    g = np.zeros((1, 4, 5, 5))
    g[0, 3, 2, 2] = np.inf  # reads x rows and columns 3..5
    with knobs("general") as A:
        gx, _, _ = A.conv2d_backward(g, x, w, None, *args, need_weight=False)
    assert np.isinf(gx[0, 1, 3:6, 3:6]).all() and np.isfinite(gx).sum() == gx.size - 9


@pytest.mark.parametrize("path", ["depthwise_chunked", "depthwise_inside", "as_forward_fused"])
@given(data=st.data())
def test_weight_grad_beside_input_grad_equals_the_plain_path(path, data):
    # stride 1, both gradients, no columns kept: grad_w comes from the input gradient's pass
    depthwise_only = path.startswith("depthwise")
    cfg = data.draw(conv2d_configs(depthwise=depthwise_only, max_stride=1, max_channels=4))
    plain, fast = plain_and_fast(cfg, path, need=(True, True, False))
    assert_same(plain, fast, 1e-10)


@pytest.mark.parametrize(
    "path, module, name",
    [
        ("depthwise_chunked", depthwise, "_weight_share_from_input_pass"),
        ("depthwise_inside", depthwise, "_weight_share_from_input_pass"),
        ("as_forward_fused", FAST, "_weight_grad_beside"),
    ],
)
def test_weight_grad_beside_input_grad_runs(path, module, name, monkeypatch):
    calls = []
    real = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a: calls.append(1) or real(*a))
    groups = 3 if module is depthwise else 1
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
    w = np.random.default_rng(1).standard_normal((6, 3 // groups, 3, 2))
    g = np.random.default_rng(2).standard_normal((2, 6, 7, 5))
    args = ((1, 1), ((1, 1), (0, 0)), (1, 1), groups)
    want = K.conv2d_backward(g, x, w, None, *args, True, True, False)
    with knobs(path) as A:
        got = A.conv2d_backward(g, x, w, None, *args, True, True, False)
    assert calls
    assert_same(want, got, 1e-10)


@pytest.mark.parametrize("path", ["depthwise_chunked", "depthwise_inside", "as_forward_fused"])
@given(
    data=st.data(),
    where=st.sampled_from(["x", "grad"]),
    value=st.sampled_from([np.inf, -np.inf, np.nan]),
    at=st.integers(0, 10**6),
)
def test_weight_grad_beside_input_grad_keeps_non_finite_values_as_the_plain_path(
    path, data, where, value, at
):
    # grad_w is taken from the input gradient's copies or columns when both are needed
    # (depthwise.py's _weight_share_from_input_pass, conv_fast's _weight_grad_beside); that
    # sum also multiplies x by zeros and leaves out grad_out times padding, so a non-finite
    # value must send it back to the usual path: the same infs and NaNs, in the same places
    depthwise_only = path.startswith("depthwise")
    cfg = data.draw(conv2d_configs(depthwise=depthwise_only, max_channels=4, max_extra=4))
    x, w, _ = make_arrays(cfg)
    g = np.random.default_rng(cfg.seed + 5).standard_normal(output_shape(cfg))
    a = x if where == "x" else g
    a.reshape(-1)[at % a.size] = value
    args = cfg.args
    y0, cols0 = K.conv2d_forward(x, w, None, *args)
    want = K.conv2d_backward(g, x, w, cols0, *args, True, True, False)
    with knobs(path) as A:
        _, cols = A.conv2d_forward(x, w, None, *args)
        got = A.conv2d_backward(g, x, w, cols, *args, True, True, False)
    for a, b in zip(got[:2], want[:2], strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10, equal_nan=True)


# --------------------------------------------------------------------------
# Winograd (winograd.py)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["winograd2", "winograd4"])
@given(cfg=winograd_configs(), need=st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_winograd_equals_the_plain_path(path, cfg, need):
    plain, fast = plain_and_fast(cfg, path, need=need)
    assert_same(plain, fast, 1e-10)


@pytest.mark.parametrize("m", [2, 4])
@given(cfg=winograd_configs())
def test_winograd_chunks_give_the_same_numbers(m, cfg):
    x, w, _ = make_arrays(cfg)
    g = np.random.default_rng(cfg.seed).standard_normal(output_shape(cfg))
    whole = (
        winograd.conv3x3(x, w, cfg.padding, m, 1 << 30),
        winograd.weight_grad3x3(g, x, cfg.padding, m, 1 << 30),
    )
    one_by_one = (  # one image per chunk, through reused scratch buffers
        winograd.conv3x3(x, w, cfg.padding, m, 1, FAST._scratch),
        winograd.weight_grad3x3(g, x, cfg.padding, m, 1, FAST._scratch),
    )
    for a, b in zip(whole, one_by_one, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("path, tol", [("winograd2", 1e-4), ("winograd4", 3e-4)])
@given(cfg=winograd_configs())
def test_winograd_float32_within_stated_tolerance(path, tol, cfg):
    # values ~N(0, 1), sums of at most 5*9 terms: im2col's own float32 error is ~1e-5 here;
    # F(4x4)'s transforms (coefficients up to 8 and 1/2) round ~4x worse (docs/winograd.md)
    plain, fast = plain_and_fast(cfg, path, np.float32)
    assert_same(plain, fast, tol)


def test_winograd_eligibility_and_the_fast_default(monkeypatch):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 128, 12, 12)), rng.standard_normal((128, 128, 3, 3))
    same = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1, (12, 12))
    # "fast" takes F(2x2, 3x3), which rounds like im2col (F(4x4) does not: docs/winograd.md),
    # at one thread only (its transforms do not use the pool)
    assert FAST._WINOGRAD_M == 2
    x8 = np.broadcast_to(x[:1], (8, 128, 12, 12))
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)
    assert FAST._winograd_m(x8, w, *same, None) == 0
    assert FAST._winograd_m(x, w, *same, 2) == 2  # forced: any thread count
    monkeypatch.setattr(threads, "get_num_threads", lambda: 1)
    # the size rules: 128 channels in and out, outputs from 4x4, tiles in the batch times
    # the fewer channels from 128 * 256 (a 6x6 tile grid per 12x12 image: 36 tiles)
    assert FAST._WINOGRAD_MIN_TILE_CHANNELS == 128 * 256
    assert FAST._winograd_m(x8, w, *same, None) == 2  # 288 tiles, 128 channels
    assert FAST._winograd_m(x8[:7], w, *same, None) == 0  # 252 tiles
    assert FAST._winograd_m(x, w, *same, None) == 0  # 72 tiles
    x4 = np.broadcast_to(x[:1, :1], (4, 256, 12, 12))
    w256 = np.broadcast_to(w[:1, :1], (256, 256, 3, 3))
    assert FAST._winograd_m(x4, w256, *same, None) == 2  # 144 tiles, 256 channels
    assert FAST._winograd_m(x4[:3], w256, *same, None) == 0  # 108 tiles
    assert FAST._winograd_m(x4, w256[:128], *same, None) == 0  # 144 tiles, 128 out
    small = ((1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    with _patched(FAST, "_WINOGRAD_MIN_TILE_CHANNELS", 1):
        assert FAST._winograd_m(x, w, *same, None) == 2
        assert FAST._winograd_m(x[..., :6, :6], w, *small, (4, 4), None) == 2
        assert FAST._winograd_m(x[..., :5, :6], w, *small, (3, 4), None) == 0
    assert FAST._winograd_m(x8[:, :64], w[:, :64], *same, None) == 0  # 64 in
    assert FAST._winograd_m(x8, w[:64], *same, None) == 0  # 64 out
    assert FAST._winograd_m(x[:, :16], w[:16, :16], *same, 4) == 4  # forced: any size
    with _patched(FAST, "_WINOGRAD_M", 0):  # the knob switches it off
        assert FAST._winograd_m(x8, w, *same, None) == 0
    assert FAST._winograd_m(x, w, *same, 4) == 4
    not_winograd = [
        (x, w, (2, 1), same[1], (1, 1), 1, (6, 12)),  # strided
        (x, w, (1, 1), same[1], (2, 2), 1, (10, 10)),  # dilated
        (x, w[:, :8], (1, 1), same[1], (1, 1), 2, (12, 12)),  # grouped
        (x, w, (1, 1), ((3, 3), (0, 0)), (1, 1), 1, (16, 10)),  # padding 3
        (x.astype(np.int64), w.astype(np.int64), *same),  # integers: not exact
        (x.astype(np.float32), w, *same),  # mixed dtypes
        (x, w[:, :, :2], (1, 1), same[1], (1, 1), 1, (13, 12)),  # 2x3 kernel
    ]
    for args in not_winograd:
        assert FAST._winograd_m(*args, 4) == 0, args[2:]
    # conv_algorithm("winograd") is conv_fast with F(4x4, 3x3) forced
    algo = algorithms.ALGORITHMS["winograd"]
    assert algo.conv2d_forward.keywords == algo.conv2d_backward.keywords == {"winograd": 4}


@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-10), (np.float32, 1e-3)])
def test_fast_default_runs_winograd_forward_and_input_grad_and_im2col_weight_grad(
    monkeypatch, dtype, atol
):
    """ "fast" on an eligible layer: F(2x2) for y and dL/dx, the im2col layouts for dL/dw
    (winograd.py's float64 weight gradient is slower); "winograd" runs winograd.py's."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 64, 7, 9)).astype(dtype)
    w = (rng.standard_normal((64, 64, 3, 3)) / 24).astype(dtype)
    b = rng.standard_normal(64).astype(dtype)
    args = ((1, 1), ((1, 0), (2, 1)), (1, 1), 1)
    y0, cols0 = K.conv2d_forward(x, w, b, *args)
    g = rng.standard_normal(y0.shape).astype(dtype)
    plain = (y0, *K.conv2d_backward(g, x, w, cols0, *args))
    monkeypatch.setattr(FAST, "_WINOGRAD_MIN_TILE_CHANNELS", 1)  # (2 images of 3x5 tiles)
    monkeypatch.setattr(FAST, "_WINOGRAD_MIN_CHANNELS", 64)
    monkeypatch.setattr(threads, "get_num_threads", lambda: 1)
    calls = []
    for name in ("conv3x3", "weight_grad3x3"):
        real = getattr(winograd, name)
        monkeypatch.setattr(
            winograd, name, lambda *a, real=real, name=name: calls.append(name) or real(*a)
        )
    y, cols = FAST.conv2d_forward(x, w, b, *args)
    fast = (y, *FAST.conv2d_backward(g, x, w, cols, *args))
    assert calls == ["conv3x3", "conv3x3"]  # forward, input gradient
    assert_same(plain, fast, atol)
    calls.clear()
    y, cols = FAST.conv2d_forward(x, w, b, *args, winograd=2)
    forced = (y, *FAST.conv2d_backward(g, x, w, cols, *args, winograd=2))
    assert calls == ["conv3x3", "conv3x3", "weight_grad3x3"]
    assert_same(plain, forced, atol)


@contextlib.contextmanager
def _patched(obj, name, value):
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


# --------------------------------------------------------------------------
# Weight gradient layout
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x_shape, w_shape, stride, padding, path",
    [
        ((2, 3, 9, 9), (4, 3, 3, 3), 1, 1, "general"),  # many windows: (cols @ G.T).T
        ((2, 16, 2, 2), (8, 16, 3, 3), 1, 1, "general"),  # few windows: G @ cols.T
        ((3, 6, 4, 4), (5, 6, 3, 3), 2, 1, "forced"),  # one image per chunk, summed
        ((2, 8, 5, 5), (6, 8, 1, 1), 1, 0, "general"),  # pointwise
        ((2, 64, 4, 5), (64, 64, 3, 3), 1, 1, "winograd2"),  # Winograd's own dw
    ],
)
def test_weight_gradient_comes_out_in_the_weights_layout(x_shape, w_shape, stride, padding, path):
    """conv2d_backward's dL/dw is C-ordered (the layout of .grad: a transposed one costs the
    engine a transposed copy, 7x the GEMM for ResNet-18's (512, 4608) layer4 weights), in
    whichever order its GEMM ran, and equal to the plain path's."""
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    args = ((stride, stride), ((padding, padding), (padding, padding)), (1, 1), 1)
    y0, cols0 = K.conv2d_forward(x, w, None, *args)
    g = rng.standard_normal(y0.shape)
    want = K.conv2d_backward(g, x, w, cols0, *args)[1]
    m = int(path[-1]) if path.startswith("winograd") else None
    with knobs("general" if m else path) as A:
        _, cols = A.conv2d_forward(x, w, None, *args, winograd=m)
        got = A.conv2d_backward(g, x, w, cols, *args, winograd=m)[1]
    assert got.flags.c_contiguous and got.shape == w.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    "x_shape, w_shape, stride, padding, groups",
    [
        ((3, 3, 9, 8), (5, 3, 3, 3), (1, 1), ((1, 1), (1, 1)), 1),  # a stem, 72 pixels
        ((2, 3, 17, 15), (4, 3, 7, 7), (2, 2), ((3, 3), (3, 3)), 1),  # strided: phases
        ((3, 4, 8, 8), (20, 2, 3, 3), (1, 1), ((1, 1), (0, 2)), 2),  # groups, wide
        ((4, 24, 9, 9), (24, 24, 3, 3), (1, 1), ((1, 1), (1, 1)), 1),  # dX as a forward
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_image_chunks_equal_the_plain_path(
    x_shape, w_shape, stride, padding, groups, dtype, monkeypatch
):
    # outputs of _ONE_IMAGE_PIXELS or more go one image a chunk (NCHW as it is: no
    # batch-last transposes), columns rebuilt by the backward; here from 64 pixels
    monkeypatch.setattr(FAST, "_ONE_IMAGE_PIXELS", 64)
    monkeypatch.setattr(FAST, "_TINY", 0)
    rng = np.random.default_rng(sum(x_shape))
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    args = (stride, padding, (1, 1), groups)
    y0, cols0 = K.conv2d_forward(x, w, b, *args)
    assert y0.shape[2] * y0.shape[3] >= 64
    g = rng.standard_normal(y0.shape).astype(dtype)
    calls = []
    real = FAST._col_chunks
    monkeypatch.setattr(FAST, "_col_chunks", lambda *a: calls.append(real(*a)) or calls[-1])
    y, cols = FAST.conv2d_forward(x, w, b, *args)
    assert cols is None and calls[0][0] == [slice(i, i + 1) for i in range(x_shape[0])]
    for need in ((True, True, True), (False, True, False), (True, False, False)):
        got = FAST.conv2d_backward(g, x, w, cols, *args, *need)
        want = K.conv2d_backward(g, x, w, cols0, *args, *need)
        for a, e in zip(got, want, strict=True):
            assert (a is None) == (e is None)
            if e is not None:
                assert a.dtype == e.dtype
                np.testing.assert_allclose(
                    a, e, rtol=0, atol=1e-4 if dtype == np.float32 else 1e-10
                )
    np.testing.assert_allclose(y, y0, rtol=0, atol=1e-4 if dtype == np.float32 else 1e-10)


# --------------------------------------------------------------------------
# Thin weights: chunks of about a core's L2, dW as a sum of GEMMs over column blocks
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "G, K, Og, M",
    [
        (1, 150, 16, 1600),  # c2's chunk: 4 whole blocks
        (1, 25, 6, 1234),  # 3 blocks and a tail of 34 columns
        (2, 12, 3, 900),  # two groups
        (1, 9, 17, 1200),  # not thin: the one GEMM
        (1, 9, 4, 700),  # one block: the one GEMM
    ],
)
def test_weight_grad_blocks_is_the_one_gemm(G, K, Og, M, dtype, monkeypatch):
    rng = np.random.default_rng(K * M)
    cols = rng.standard_normal((G, K, M)).astype(dtype)
    g = rng.standard_normal((G, Og, M)).astype(dtype)
    names = []
    real = FAST._scratch

    def spy(name, shape, dt):
        names.append(name)
        return real(name, shape, dt)

    monkeypatch.setattr(FAST, "_scratch", spy)
    got = FAST._weight_grad_blocks(cols, g)
    blocks = Og <= FAST._THIN_GEMM and M >= 2 * FAST._GEMM_COLS
    assert names == (["grad_t"] if blocks else [])  # the blocks' path ran, or the one GEMM's
    assert got.shape == (G, K, Og) and got.dtype == dtype
    want = np.matmul(cols.astype(np.float64), g.astype(np.float64).transpose(0, 2, 1))
    tol = 2e-5 * np.sqrt(M) if dtype == np.float32 else 1e-12 * np.sqrt(M)
    np.testing.assert_allclose(got, want, rtol=0, atol=tol)
    if not blocks:
        np.testing.assert_array_equal(got, np.matmul(cols, g.transpose(0, 2, 1)))


def test_weight_grad_blocks_keeps_non_finite_values_where_the_one_gemm_has_them():
    rng = np.random.default_rng(1)
    cols = rng.standard_normal((1, 10, 1000))
    g = rng.standard_normal((1, 4, 1000))
    cols[0, 2, 5] = np.inf  # block 0
    cols[0, 2, 900] = -np.inf  # block 2: inf + -inf wherever g's signs agree there
    cols[0, 7, 450] = np.inf  # row 7: inf, NaN where g is NaN
    g[0, 1, 450] = np.nan
    g[0, 3, 5] = 0.0  # inf * 0: NaN in (2, 3)
    with np.errstate(invalid="ignore"):
        got = FAST._weight_grad_blocks(cols, g)
        want = np.matmul(cols, g.transpose(0, 2, 1))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    assert np.isnan(got).any() and np.isinf(got).any() and np.isnan(got[0, 2, 3])  # (inf * 0)
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-12, atol=1e-12)


def test_thin_weights_get_chunks_of_about_a_core_l2(monkeypatch):
    # c2 (64, 6, 14, 14) -> 16 5x5: 60 KB of columns an image, 3.8 MB in all
    chunks, keep = FAST._col_chunks(64, 60000, 16)
    assert not keep and [c.stop - c.start for c in chunks] == [16, 16, 16, 16]
    assert chunks[0].start == 0 and chunks[-1].stop == 64
    assert FAST._col_chunks(16, 60000, 16) == ([slice(0, 16)], True)  # 0.96 MB: one, kept
    # wider weights: one kept chunk up to 4 MB, else chunks of about 2 MB
    assert FAST._col_chunks(64, 60000, 17) == ([slice(0, 64)], True)
    chunks, keep = FAST._col_chunks(8, 590000, 64)
    assert not keep and [c.stop - c.start for c in chunks] == [2, 2, 2, 2]
    # outputs of 1024+ pixels: one image a chunk, never kept (the layouts need no transposes)
    assert FAST._col_chunks(3, 10000, 64, 1024) == ([slice(0, 1), slice(1, 2), slice(2, 3)], False)
    assert FAST._col_chunks(3, 10000, 4, 32 * 33) == (
        [slice(0, 1), slice(1, 2), slice(2, 3)],
        False,
    )
    assert FAST._col_chunks(3, 10000, 64, 1023) == ([slice(0, 3)], True)
    assert FAST._col_chunks(1, 10000, 64, 4096) == ([slice(0, 1)], True)
    # the tests' knobs that force small chunks still reach thin weights
    monkeypatch.setattr(FAST, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(FAST, "_KEEP_COLS_BYTES", 0)
    chunks, keep = FAST._col_chunks(3, 60000, 16)
    assert not keep and chunks == [slice(0, 1), slice(1, 2), slice(2, 3)]


def test_thin_chunked_conv_equals_the_plain_path():
    """c2's shape through the thin-weight chunks (four of 16 images, columns rebuilt by the
    backward, dW over column blocks), float32, against the plain path in float64."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 6, 14, 14)).astype(np.float32)
    w = (rng.standard_normal((16, 6, 5, 5)) * 0.1).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    g = rng.standard_normal((64, 16, 10, 10)).astype(np.float32)
    args = ((1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    assert FAST._col_chunks(64, 150 * 100 * 4, 16)[1] is False
    y, cols = FAST.conv2d_forward(x, w, b, *args)
    assert cols is None  # not kept: rebuilt chunk by chunk
    got = (y, *FAST.conv2d_backward(g, x, w, cols, *args))
    x64, w64, b64, g64 = (a.astype(np.float64) for a in (x, w, b, g))
    want = (
        K.conv2d_forward(x64, w64, b64, *args)[0],
        *K.conv2d_backward(g64, x64, w64, None, *args),
    )
    for a, ref in zip(got, want, strict=True):
        assert a.dtype == np.float32 and a.shape == ref.shape
        np.testing.assert_allclose(a, ref, rtol=0, atol=2e-5 * np.abs(ref).max())


# -- the forward in parts of output rows (conv_fast._row_parts) -------------------------------

ROW_PART_CASES = [
    # (x shape, out channels, kernel, padding, dilation, groups, bias)
    ((2, 64, 40, 40), 64, 3, 1, 1, 1, True),  # one image a chunk, flat rows
    ((8, 64, 16, 16), 64, 3, 1, 1, 1, False),  # two images a chunk
    ((2, 64, 40, 40), 128, 3, 1, 1, 2, True),  # two groups
    ((2, 32, 45, 45), 64, 5, 0, 2, 1, True),  # dilated, unpadded
    ((2, 16, 64, 64), 256, 3, 1, 1, 1, False),
]


@pytest.mark.parametrize("threads_n", [1, 2])
@pytest.mark.parametrize("case", ROW_PART_CASES)
def test_row_parts_give_the_whole_chunks_numbers(case, threads_n, monkeypatch):
    """The forward built in parts of output rows gives the whole chunks' numbers to float32
    rounding (bit for bit where OpenBLAS's kernel rounds each column alike however the
    columns are cut), NaN and inf included, the same bits at 1 and 2 threads; and the plain
    path's within float32 rounding."""
    shape, out_c, k, pad, dil, groups, with_bias = case
    rng = np.random.default_rng(sum(shape) + out_c)
    x = rng.standard_normal(shape).astype(np.float32)
    x[0, 1, 3, 4], x[-1, -1, -2, 5] = np.nan, np.inf
    w = (rng.standard_normal((out_c, shape[1] // groups, k, k)) * 0.1).astype(np.float32)
    b = rng.standard_normal(out_c).astype(np.float32) if with_bias else None
    args = ((1, 1), ((pad, pad), (pad, pad)), (dil, dil), groups)
    parts = []
    real = FAST._rows_to_nchw
    monkeypatch.setattr(FAST, "_rows_to_nchw", lambda *a: parts.append(len(a[2])) or real(*a))
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(1)
        y_one_thread, _ = FAST.conv2d_forward(x, w, b, *args)
        threads.set_num_threads(threads_n)
        parts.clear()
        y, _ = FAST.conv2d_forward(x, w, b, *args)
        assert parts and min(parts) > 1  # the parts ran
        monkeypatch.setattr(FAST, "_ROW_PART_BYTES", 1 << 40)  # whole chunks
        parts.clear()
        whole, _ = FAST.conv2d_forward(x, w, b, *args)
        assert not parts
    finally:
        threads.set_num_threads(before)
    np.testing.assert_array_equal(y, y_one_thread)  # the thread count changes no bit
    ref, _ = K.conv2d_forward(x.astype(np.float64), w.astype(np.float64), b, *args)
    finite = np.isfinite(ref)
    for got in (y, whole):
        assert np.array_equal(finite, np.isfinite(got))
        assert np.array_equal(np.isnan(ref), np.isnan(got))
    # Bit for bit on OpenBLAS's SkylakeX kernel; its Haswell kernel rounds a column by where
    # the columns are cut, so there parts and whole agree to float32 rounding
    scale = np.abs(ref[finite]).max()
    np.testing.assert_allclose(y[finite], whole[finite], rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(y[finite], ref[finite], rtol=1e-4, atol=1e-4)


def test_row_parts_stay_on_the_packed_kernel():
    """Every part is a product of at least _ROW_PART_MIN_MACS multiply-adds, and a chunk too
    small for two such parts (the residual block's 3x3 layers) stays whole."""
    for n, C, H, out_c in [(1, 64, 56, 64), (2, 64, 16, 64), (1, 32, 32, 32), (1, 16, 64, 256)]:
        plan = FAST._plan((n, C, H, H), C * 9, (H, H), (1, 1), ((1, 1), (1, 1)))
        rows = FAST._row_parts(plan, H, out_c, C * 9, 4)
        assert rows[0][0] == 0 and rows[-1][1] == H
        assert all(a[1] == b[0] for a, b in zip(rows[:-1], rows[1:], strict=True))
        cols = [(r1 - r0) * plan.grid_w * n for r0, r1 in rows]
        if len(rows) > 1:
            assert min(cols) * out_c * C * 9 >= FAST._ROW_PART_MIN_MACS
    plan = FAST._plan((1, 32, 32, 32), 288, (32, 32), (1, 1), ((1, 1), (1, 1)))
    assert FAST._row_parts(plan, 32, 32, 288, 4) == [(0, 32)]


# --------------------------------------------------------------------------
# Tiny problems: the path's plan kept per call signature
# --------------------------------------------------------------------------


def test_tiny_plan_is_kept_per_signature_and_follows_the_tiny_knob(monkeypatch):
    monkeypatch.setattr(FAST, "_tiny_plans", {})  # (the suite's other tests may have filled it)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 3, 5, 5)).astype(np.float32)
    w = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(2).astype(np.float32)
    args = ((2, 2), ((1, 1), (1, 1)), (1, 1), 1)
    plan = FAST._tiny_plan(x, w, *args)
    assert plan is not None and plan[0] == (3, 3)
    assert FAST._tiny_plan(x, w, *args) is plan  # kept: the same tuple, not recomputed
    y, cols = FAST.conv2d_forward(x, w, b, *args)
    g = rng.standard_normal(y.shape).astype(np.float32)
    got = (y, *FAST.conv2d_backward(g, x, w, cols, *args))
    # the tiny knob off: the same signature takes the general path, with the same numbers
    monkeypatch.setattr(FAST, "_TINY", 0)
    assert FAST._tiny_plan(x, w, *args) is None
    y2, cols2 = FAST.conv2d_forward(x, w, b, *args)
    general = (y2, *FAST.conv2d_backward(g, x, w, cols2, *args))
    for a, ref in zip(got, general, strict=True):
        np.testing.assert_allclose(a, ref, rtol=1e-5, atol=1e-5)
    # a 1x1 convolution is never tiny (one GEMM, no gather), and options that are not
    # hashable take no plan
    monkeypatch.setattr(FAST, "_TINY", 1 << 14)
    assert FAST._tiny_plan(x, w[:, :, :1, :1], (1, 1), ((0, 0), (0, 0)), (1, 1), 1) is None
    assert FAST._tiny_plan(x, w, [2, 2], ((1, 1), (1, 1)), (1, 1), 1) is None
    assert len(FAST._tiny_plans) == 3  # (two tiny-knob settings, the 1x1, not the list)
    monkeypatch.setattr(FAST, "_TINY_PLANS_MAX", 3)  # full: the oldest signature goes
    other = x[:, :2]
    plan2 = FAST._tiny_plan(other, w[:, :2], *args)
    assert plan2 is not None and FAST._tiny_plan(other, w[:, :2], *args) is plan2
    assert len(FAST._tiny_plans) == 3
    assert FAST._tiny_plan(x, w, *args) is not plan  # the first one was dropped: made anew


@pytest.mark.parametrize(
    "stride, dilation, output_padding",
    [((2, 2), (1, 1), (0, 0)), ((2, 2), (1, 1), (1, 0)), ((1, 1), (2, 2), (1, 1))],
)
def test_tiny_transposed_conv_with_output_padding_equals_the_plain_path(
    stride, dilation, output_padding
):
    """conv_transpose2d's backward runs conv2d_backward with roles swapped, where grad_out
    (the transposed conv's input) can be smaller than conv2d's formula gives for the other
    operand (output_padding past the stride, which dilation allows, feeds no window): the
    kept plan is then not used."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((1, 2, 3, 3))
    w = rng.standard_normal((2, 3, 3, 3))
    b = rng.standard_normal(3)
    args = (stride, (1, 1), output_padding, dilation, 1)
    y = FAST.conv_transpose2d_forward(x, w, b, *args)
    np.testing.assert_allclose(y, K.conv_transpose2d_forward(x, w, b, *args), atol=1e-12)
    plan = FAST._tiny_plan(y, w, stride, ((1, 1), (1, 1)), dilation, 1)
    assert plan is not None
    if output_padding[0] >= stride[0]:  # the case the plan does not fit
        assert plan[0] != x.shape[2:]
    g = rng.standard_normal(y.shape)
    got = FAST.conv_transpose2d_backward(g, x, w, *args)
    want = K.conv_transpose2d_backward(g, x, w, *args)
    for a, ref in zip(got, want, strict=True):
        assert a.shape == ref.shape
        np.testing.assert_allclose(a, ref, rtol=0, atol=1e-12)


def test_scratch_views_are_kept_per_role_shape_and_dtype(monkeypatch):
    """_scratch hands out the same view again for the same (role, shape, dtype): the role's
    buffer, in that shape; a bigger request replaces the buffer and drops the old one's
    views; small temporaries stay fresh arrays; the _SCRATCH_MIN_BYTES knob is followed."""
    import threading

    monkeypatch.setattr(FAST, "_scratch_buffers", threading.local())
    monkeypatch.setattr(FAST, "_scratch_views", threading.local())
    big = (300, 400)  # 480 KB of float32
    a = FAST._scratch("t_cols", big, np.float32)
    assert a.shape == big and a.dtype == np.float32
    assert FAST._scratch("t_cols", big, np.float32) is a
    assert np.shares_memory(a, FAST._scratch_buffers.t_cols)
    b = FAST._scratch("t_cols", (150, 150), np.float64)  # smaller, another dtype: same memory
    assert b.shape == (150, 150) and b.dtype == np.float64 and np.shares_memory(a, b)
    c = FAST._scratch("t_other", big, np.float32)  # another role: its own buffer
    assert not np.shares_memory(a, c)
    old = FAST._scratch_buffers.t_cols
    d = FAST._scratch("t_cols", (600, 400), np.float32)  # bigger: a new buffer
    assert FAST._scratch_buffers.t_cols is not old and np.shares_memory(
        d, FAST._scratch_buffers.t_cols
    )
    kept = FAST._scratch_views.kept
    assert not any(np.shares_memory(v, old) for v in kept.values() if isinstance(v, np.ndarray))
    a2 = FAST._scratch("t_cols", big, np.float32)  # the old shape again: a view of the new one
    assert a2 is not a and np.shares_memory(a2, d)
    s1, s2 = (FAST._scratch("t_small", (4, 5), np.float32) for _ in range(2))
    assert s1.shape == (4, 5) and not np.shares_memory(s1, s2)  # small: fresh arrays
    monkeypatch.setattr(FAST, "_SCRATCH_MIN_BYTES", 0)  # (the tests' "forced" knob)
    s3 = FAST._scratch("t_small", (4, 5), np.float32)
    assert np.shares_memory(s3, FAST._scratch_buffers.t_small)
    assert FAST._scratch("t_small", [4, 5], np.float32).shape == (4, 5)  # a list: not kept


@pytest.mark.parametrize(
    "C, Out, G, k, dilation, n",
    [(6, 16, 1, (5, 5), (1, 1), 16), (4, 6, 2, (3, 2), (2, 1), 3), (3, 8, 1, (1, 4), (1, 3), 1)],
)
def test_input_grad_rows_weights_made_once_give_the_same_numbers(C, Out, G, k, dilation, n):
    """_input_grad's kernel-row path with its weights made once per call (_rows_weight, as
    conv2d_backward and conv_transpose2d pass them to every chunk) or per chunk (none passed):
    the same bits; and both are the input gradient of the plain path."""
    rng = np.random.default_rng(C * Out + n)
    kh, kw = k
    H, W = 9, 11
    OH, OW = H - dilation[0] * (kh - 1), W - dilation[1] * (kw - 1)
    w = rng.standard_normal((Out, C // G, kh, kw))
    x = rng.standard_normal((n, C, H, W))
    g = rng.standard_normal((n, Out, OH, OW))
    W_mat = w.reshape(G, Out // G, -1)
    rows_w = FAST._rows_weight(W_mat, k)
    # its layout: rows (c, p), columns (o, q) of each group's block
    for gi, o, c, p, q in itertools.product(
        range(G), range(Out // G), range(C // G), range(kh), range(kw)
    ):
        assert rows_w[gi, c * kh + p, o * kw + q] == w[gi * (Out // G) + o, c, p, q]
    P = ((0, 0), (0, 0))
    plan = FAST._plan(x.shape, C * kh * kw, (OH, OW), (1, 1), P)
    assert not plan.flat and FAST._rows_path(W_mat, (1, 1))
    gc = FAST._grad_columns(g, plan.grid_w).reshape(G, Out // G, -1)
    once, per_chunk = np.empty_like(x), np.empty_like(x)
    FAST._input_grad(gc, W_mat, once, k, (OH, OW), (1, 1), P, dilation, plan, rows_w)
    FAST._input_grad(gc, W_mat, per_chunk, k, (OH, OW), (1, 1), P, dilation, plan)
    np.testing.assert_array_equal(once, per_chunk)
    want = K.conv2d_backward(g, x, w, None, (1, 1), P, dilation, G, True, False, False)[0]
    np.testing.assert_allclose(once, want, rtol=0, atol=1e-11)
