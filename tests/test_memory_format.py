"""Memory formats: tinyconv.channels_last / channels_last_3d / contiguous_format /
preserve_format with Tensor.contiguous, .to, .clone, .is_contiguous, .stride, the *_like
creators and Module.to. A layout never changes a number: every op gives the same bits on a
channels-last tensor as on the contiguous one (values and gradients), and PyTorch's strides,
identities, nodes and errors are matched where it is installed."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import tinyconv
import tinyconv.nn.functional as F
from tinyconv.autograd import gradcheck, gradgradcheck

CL, CL3, CF, PF = (
    tinyconv.channels_last,
    tinyconv.channels_last_3d,
    tinyconv.contiguous_format,
    tinyconv.preserve_format,
)
SHAPES = [(2, 3, 4, 5), (2, 1, 4, 5), (1, 3, 1, 1), (2, 3, 1, 5), (2, 3, 4, 1), (3, 2, 1, 1)]


def _np(t):
    return t.detach().numpy()


# -- without PyTorch -----------------------------------------------------------------------


def test_memory_formats_are_named_singletons():
    assert repr(CL) == "tinyconv.channels_last" and repr(PF) == "tinyconv.preserve_format"
    assert isinstance(CL3, tinyconv.memory_format)
    assert pickle.loads(pickle.dumps(CL)) is CL


@pytest.mark.parametrize("shape", SHAPES)
def test_channels_last_strides_and_contiguity(shape):
    n, c, h, w = shape
    x = tinyconv.randn(*shape)
    y = x.contiguous(memory_format=CL)
    assert y.is_contiguous(memory_format=CL)
    assert np.array_equal(_np(y), _np(x))
    # copied (not already channels-last): PyTorch's strides (H W C, 1, W C, C)
    z = x.to(memory_format=CL)
    assert z.stride() == (h * w * c, 1, w * c, c)
    assert z.is_contiguous(memory_format=CL) and np.array_equal(_np(z), _np(x))
    assert x.stride() == (c * h * w, h * w, w, 1)
    assert z.contiguous().is_contiguous() and np.array_equal(_np(z.contiguous()), _np(x))
    assert z.contiguous(memory_format=CL) is z and z.to(memory_format=CL) is z


def test_channels_last_3d():
    x = tinyconv.randn(2, 3, 4, 5, 6)
    y = x.contiguous(memory_format=CL3)
    assert y.stride() == (360, 1, 90, 18, 3) and y.is_contiguous(memory_format=CL3)
    assert not y.is_contiguous() and not y.is_contiguous(memory_format=CL)
    assert np.array_equal(_np(y), _np(x))


def test_layouts_carried_by_like_creators_clone_and_elementwise_ops():
    y = tinyconv.randn(2, 3, 4, 5).contiguous(memory_format=CL)
    want = (60, 1, 15, 3)
    for f in (tinyconv.zeros_like, tinyconv.ones_like, tinyconv.empty_like, tinyconv.rand_like):
        assert f(y).stride() == want
        assert f(y, memory_format=CF).stride() == (60, 20, 5, 1)
    assert tinyconv.full_like(y, 2.0).stride() == want
    assert tinyconv.randint_like(y, 3).stride() == want
    assert y.clone().stride() == want and y.clone(memory_format=CF).stride() == (60, 20, 5, 1)
    assert (y + 1).stride() == want and y.to(tinyconv.float64).stride() == want
    assert tinyconv.empty(2, 3, 4, 5, memory_format=CL).stride() == want
    # None where PyTorch's argument is optional: preserve (empty: contiguous)
    assert tinyconv.ones_like(y, memory_format=None).stride() == want
    assert y.clone(memory_format=None).stride() == y.to(memory_format=None).stride() == want
    assert tinyconv.empty(2, 3, 4, 5, memory_format=None).stride() == (60, 20, 5, 1)
    with pytest.raises(RuntimeError, match="view"):
        y.view(2, -1)  # as PyTorch: the channels-last layout cannot be viewed flat
    assert y.reshape(2, -1).shape == (2, 60)
    assert y.permute(0, 2, 3, 1).is_contiguous()


def test_dense_layouts_of_any_order_are_kept_by_clone_like_creators_and_where():
    # PyTorch keeps the strides of any non-overlapping dense tensor (transposed, permuted),
    # not only contiguous and channels-last ones; a tensor that is not dense gets contiguous
    t = tinyconv.arange(12.0).reshape(3, 4).t()
    for y in (t.clone(), tinyconv.zeros_like(t), tinyconv.rand_like(t), tinyconv.empty_like(t)):
        assert y.stride() == (1, 4) and not y.is_contiguous()
    assert tinyconv.equal(t.clone(), t) and t.clone(memory_format=CF).stride() == (3, 1)
    assert tinyconv.where(t > 3, t, 0.0).stride() == (1, 4)
    assert tinyconv.where(t > 3, 1.0, 0.0).stride() == (1, 4)  # (the condition's layout)
    unit = tinyconv.zeros(3, 1, 4).permute(2, 1, 0)  # a size-1 dim keeps its stride too
    assert unit.clone().stride() == unit.stride() == (1, 4, 4)
    sliced = tinyconv.zeros(2, 3, 4)[:, :, ::2]
    assert sliced.clone().stride() == tinyconv.zeros_like(sliced).stride() == (6, 2, 1)
    wide = tinyconv.zeros(4, 1).expand(4, 3)
    assert wide.clone().stride() == (3, 1)


def test_memory_format_errors():
    x2, x4 = tinyconv.zeros(2, 3), tinyconv.zeros(2, 3, 4, 5)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last"):
        x2.contiguous(memory_format=CL)
    with pytest.raises(RuntimeError, match="required rank 5 tensor to use channels_last_3d"):
        x4.to(memory_format=CL3)
    with pytest.raises(RuntimeError, match="preserve memory format is unsupported"):
        x4.to(memory_format=CL).contiguous(memory_format=PF)
    with pytest.raises(TypeError, match="memory_format"):
        x4.contiguous(memory_format="channels_last")
    with pytest.raises(RuntimeError, match="required rank 4"):
        tinyconv.empty_like(x2, memory_format=CL)
    with pytest.raises(RuntimeError, match="required rank 5"):
        tinyconv.nn.Conv2d(1, 1, 1).to(memory_format=CL3)
    assert not x2.is_contiguous(memory_format=CL)  # (another rank: False, as PyTorch)


_RNG = np.random.default_rng(0)
_W = tinyconv.tensor(_RNG.standard_normal((4, 5, 3, 3)).astype(np.float32))
_LW = tinyconv.tensor(_RNG.standard_normal((2, 315)).astype(np.float32))
_GRID = tinyconv.tensor(_RNG.uniform(-1, 1, (3, 4, 4, 2)).astype(np.float32))
_T = tinyconv.zeros(3, 7, 9, dtype=tinyconv.int64)
OPS = {
    "sum_hw": lambda t: t.sum((2, 3)),
    "sum_all": lambda t: t.sum(),
    "mean": lambda t: t.mean((0, 2, 3)),
    "var_all": lambda t: t.var(),
    "std": lambda t: t.std((2, 3)),
    "prod": lambda t: (t * 0.1 + 1).prod(1),
    "softmax_w": lambda t: t.softmax(3),
    "log_softmax_w": lambda t: t.log_softmax(3),
    "log_softmax_c": lambda t: t.log_softmax(1),
    "logsumexp": lambda t: t.logsumexp(1),
    "norm_p3": lambda t: t.norm(p=3, dim=(2, 3)),
    "max_c": lambda t: t.max(1).values,
    "cumsum": lambda t: t.cumsum(1),
    "einsum": lambda t: tinyconv.einsum("nchw,nchw->nc", t, t),
    "matmul": lambda t: t @ t.transpose(2, 3),
    "conv": lambda t: F.conv2d(t, _W, stride=2),
    "conv_dilated": lambda t: F.conv2d(t, _W, padding=2, dilation=2),
    "depthwise": lambda t: F.conv2d(t, _W[:, :1].repeat(2, 1, 1, 1)[:5], groups=5, padding=1),
    "conv_transpose": lambda t: F.conv_transpose2d(t, _W.transpose(0, 1), stride=2),
    "batch_norm": lambda t: F.batch_norm(t, None, None, training=True),
    "layer_norm": lambda t: F.layer_norm(t, (7, 9)),
    "group_norm": lambda t: F.group_norm(t, 5),
    "instance_norm": lambda t: F.instance_norm(t),
    "bilinear": lambda t: F.interpolate(t, size=(4, 5), mode="bilinear"),
    "reflect_pad": lambda t: F.pad(t, (1, 2, 1, 0), mode="reflect"),
    "unfold": lambda t: F.unfold(t, 2),
    "max_pool": lambda t: F.max_pool2d(t, 3, 2, 1),
    "avg_pool": lambda t: F.avg_pool2d(t, 3, 2, 1),
    "adaptive_avg": lambda t: F.adaptive_avg_pool2d(t, (2, 3)),
    "linear_flat": lambda t: F.linear(t.flatten(1), _LW),
    "cross_entropy": lambda t: F.cross_entropy(t, _T, label_smoothing=0.1),
    "cosine": lambda t: F.cosine_similarity(t, t.detach() + 1, dim=1),
    "cdist": lambda t: tinyconv.cdist(t.flatten(2), t.flatten(2).detach()),
    "grid_sample": lambda t: F.grid_sample(t, _GRID, align_corners=False),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_a_layout_changes_no_number(name):
    """The same bits, forward and backward, from a channels-last and a transposed input as
    from the contiguous one (NumPy reduces in memory order: the reductions copy to C order)."""
    x = np.random.default_rng(1).standard_normal((3, 5, 7, 9)).astype(np.float32)
    results = []
    for layout in ("contiguous", "channels_last", "transposed"):
        a = tinyconv.tensor(x, requires_grad=True)
        if layout == "channels_last":
            b = a.contiguous(memory_format=CL)
        elif layout == "transposed":
            b = a.transpose(1, 3).contiguous().transpose(1, 3)
            assert not b.is_contiguous()
        else:
            b = a
        out = OPS[name](b)
        g = np.random.default_rng(2).standard_normal(tuple(out.shape)).astype(np.float32)
        (out * tinyconv.tensor(g)).sum().backward()
        results.append((_np(out), a.grad.numpy()))
    for out, grad in results[1:]:
        assert np.array_equal(out, results[0][0], equal_nan=True)
        assert np.array_equal(grad, results[0][1], equal_nan=True)


def test_double_backward_through_layout_free_ops_on_channels_last_input():
    x = tinyconv.tensor(np.random.default_rng(3).standard_normal((2, 3, 2, 2)), requires_grad=True)

    def f(z):
        y = z.contiguous(memory_format=CL)
        return y.var((2, 3)).sum() + y.log_softmax(1).sum(1).pow(2).sum() + (y * y).mean()

    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


def test_training_in_channels_last_gives_the_same_bits():
    def run(channels_last):
        tinyconv.manual_seed(0)
        nn = tinyconv.nn
        m = nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1),
            nn.BatchNorm2d(6),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 6, 3, groups=6, padding=1),
            nn.GroupNorm(2, 6),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(6, 3),
        )
        if channels_last:
            m = m.to(memory_format=CL)
            assert m[0].weight.stride() == (27, 1, 9, 3)
        opt = tinyconv.optim.Adam(m.parameters(), 1e-2)
        x = tinyconv.tensor(np.random.default_rng(0).standard_normal((4, 3, 8, 8)), dtype=None)
        x = x.float()
        if channels_last:
            x = x.to(memory_format=CL)
        for _ in range(2):
            loss = F.cross_entropy(m(x), tinyconv.tensor([0, 1, 2, 1]))
            opt.zero_grad()
            loss.backward()
            tinyconv.nn.utils.clip_grad_norm_(m.parameters(), 0.5)
            opt.step()
        return [t.numpy().copy() for t in m.state_dict().values()]

    for a, b in zip(run(False), run(True), strict=True):
        assert np.array_equal(a, b)


# -- against PyTorch ---------------------------------------------------------------------


def _torch():
    return pytest.importorskip("torch")


def _fmt(lib, name):
    return getattr(lib, name)


@pytest.mark.torch
@pytest.mark.parametrize("shape", [*SHAPES, (2, 3, 4, 5, 6), (2, 1, 1, 3, 4), (3, 4)])
def test_strides_and_identities_match_pytorch(shape):
    torch = _torch()
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    for fname in ("channels_last", "channels_last_3d", "contiguous_format", "preserve_format"):
        outs = {}
        for lib in (torch, tinyconv):
            t = lib.tensor(x)
            fmt = _fmt(lib, fname)
            row = []
            calls = [
                lambda t, f: t.contiguous(memory_format=f),
                lambda t, f: t.to(memory_format=f),
                lambda t, f: t.clone(memory_format=f),
                lambda t, f, lib=lib: lib.empty_like(t, memory_format=f),
                lambda t, f, lib=lib: lib.zeros_like(t, memory_format=f),
                lambda t, f: t.contiguous(memory_format=f).to(memory_format=f),
                lambda t, f: t.to(memory_format=f).contiguous(memory_format=f),
                lambda t, f: t.to(memory_format=f).clone(),
                lambda t, f, lib=lib: lib.ones_like(t.to(memory_format=f)),
            ]
            if 1 not in shape:  # (an op's result keeps the layout only where that is cheap;
                # NumPy's ufuncs keep it except where it is also contiguous)
                calls.append(lambda t, f: t.to(memory_format=f) + 1)
            for call in calls:
                try:
                    r = call(t, fmt)
                except (RuntimeError, TypeError) as e:
                    row.append(("raise", type(e).__name__))
                    continue
                row.append(
                    (
                        tuple(r.stride()),
                        r is t,
                        r.is_contiguous(),
                        r.is_contiguous(memory_format=_fmt(lib, "channels_last")),
                        r.is_contiguous(memory_format=_fmt(lib, "channels_last_3d")),
                        np.array_equal(r.detach().numpy(), x) or r.numel() == 0 or None,
                    )
                )
            outs[lib.__name__] = row
        for i, (got, want) in enumerate(zip(outs["tinyconv"], outs["torch"], strict=True)):
            if want[-1] is None:  # (zeros/empty/ones hold other values)
                got, want = got[:-1], want[:-1]
            assert got[:5] == want[:5], (fname, i, got, want)


@pytest.mark.torch
def test_nodes_and_module_to_match_pytorch():
    torch = _torch()
    xt, xc = (
        torch.ones(2, 3, 4, 5, requires_grad=True),
        tinyconv.ones(2, 3, 4, 5, requires_grad=True),
    )
    for f in (
        lambda t, lib: t.contiguous(memory_format=lib.channels_last),
        lambda t, lib: t.to(memory_format=lib.channels_last),
        lambda t, lib: t.to(lib.float64, memory_format=lib.channels_last),
        lambda t, lib: t.clone(memory_format=lib.channels_last),
    ):
        assert f(xc, tinyconv).grad_fn.name() == type(f(xt, torch).grad_fn).__name__
    mods = []
    for lib in (torch, tinyconv):
        lib.manual_seed(0)
        nn = lib.nn
        m = nn.Sequential(
            nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3, groups=4), nn.BatchNorm2d(4), nn.Linear(2, 2)
        )
        params = list(m.parameters())
        m.to(memory_format=lib.channels_last)
        assert all(p is q for p, q in zip(params, m.parameters(), strict=True))
        mods.append([tuple(t.stride()) for t in [*m.parameters(), *m.buffers()]])
    assert mods[0] == mods[1]


LAYOUT_CASES = {
    "clone": lambda L, t: t.clone(),
    "empty_like": lambda L, t: L.empty_like(t),
    "zeros_like": lambda L, t: L.zeros_like(t, dtype=L.int64),
    "full_like": lambda L, t: L.full_like(t, 2.0),
    "rand_like": lambda L, t: L.rand_like(t),
    "randn_like": lambda L, t: L.randn_like(t),
    "randint_like": lambda L, t: L.randint_like(t, 10),
    "where": lambda L, t: L.where(t > 0, t, 0.0),
    "where_numbers": lambda L, t: L.where(t > 0, 1.0, -1.0),
    "to_copy": lambda L, t: t.to(L.float64, copy=True),
    "bernoulli": lambda L, t: t.sigmoid().bernoulli(),
}
LAYOUT_INPUTS = {
    "transposed": lambda L: L.randn(3, 4).t(),
    "permuted": lambda L: L.randn(2, 3, 4).permute(2, 0, 1),
    "unit_dim": lambda L: L.randn(3, 1, 4).permute(2, 1, 0),
    "channels_last_unit": lambda L: L.randn(2, 1, 3, 1).permute(3, 2, 1, 0),
    "sliced": lambda L: L.randn(2, 3, 4)[:, :, ::2],
    "expanded": lambda L: L.randn(4, 1).expand(4, 3),
}


@pytest.mark.torch
@pytest.mark.parametrize("case", sorted(LAYOUT_CASES))
@pytest.mark.parametrize("layout", sorted(LAYOUT_INPUTS))
def test_results_of_dense_layouts_match_pytorchs_strides_and_draws(case, layout):
    torch = _torch()
    got = []
    for lib in (torch, tinyconv):
        lib.manual_seed(5)
        t = LAYOUT_INPUTS[layout](lib)
        y = LAYOUT_CASES[case](lib, t)
        got.append((y.stride(), y.is_contiguous(), y.numpy() if case != "empty_like" else None))
    (ts, tc, tv), (cs, cc, cv) = got
    assert (cs, cc) == (ts, tc)
    if tv is not None:
        np.testing.assert_allclose(cv, tv, rtol=1e-6, atol=1e-6)


@pytest.mark.torch
def test_random_like_draws_in_memory_order_as_pytorch():
    torch = _torch()
    shape = (2, 3, 4, 5)
    xt = torch.zeros(shape).contiguous(memory_format=torch.channels_last)
    xc = tinyconv.zeros(shape).contiguous(memory_format=CL)
    torch.manual_seed(3)
    tinyconv.manual_seed(3)
    assert np.array_equal(_np(tinyconv.rand_like(xc)), torch.rand_like(xt).numpy())
    assert np.array_equal(_np(tinyconv.randint_like(xc, 9)), torch.randint_like(xt, 9).numpy())
    np.testing.assert_allclose(
        _np(tinyconv.randn_like(xc)), torch.randn_like(xt).numpy(), rtol=1e-6, atol=1e-6
    )


@pytest.mark.torch
def test_channels_last_model_matches_pytorch():
    torch = _torch()
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))
    outs = []
    for lib in (torch, tinyconv):
        lib.manual_seed(0)
        nn = lib.nn
        m = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2)
        ).double()
        if lib is tinyconv:
            m.load_state_dict({k: tinyconv.tensor(v) for k, v in outs[0][2].items()})
        m = m.to(memory_format=lib.channels_last)
        a = lib.tensor(x, requires_grad=True)
        out = m(a.to(memory_format=lib.channels_last))
        out.square().sum().backward()
        state = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
        outs.append((out.detach().numpy(), a.grad.numpy(), state))
    np.testing.assert_allclose(outs[1][0], outs[0][0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(outs[1][1], outs[0][1], rtol=1e-12, atol=1e-12)


@pytest.mark.torch
def test_memory_format_errors_match_pytorch():
    torch = _torch()

    def calls(lib):
        x2, x4, x5 = lib.zeros(2, 3), lib.zeros(2, 3, 4, 5), lib.zeros(2, 3, 4, 5, 6)
        return [
            lambda: x2.contiguous(memory_format=lib.channels_last),
            lambda: x4.contiguous(memory_format=lib.channels_last_3d),
            lambda: x5.to(memory_format=lib.channels_last),
            lambda: x4.contiguous(memory_format=lib.preserve_format),
            lambda: x4.contiguous(memory_format=None),
            lambda: x4.to(memory_format="channels_last"),
            lambda: lib.empty_like(x2, memory_format=lib.channels_last),
            lambda: lib.empty(2, 3, memory_format=lib.channels_last),
            lambda: lib.empty(2, 3, memory_format=lib.preserve_format),
            lambda: x2.is_contiguous(memory_format=lib.channels_last),
            lambda: x4.is_contiguous(memory_format=lib.preserve_format),
            lambda: lib.nn.Conv2d(1, 1, 1).to(memory_format=lib.channels_last_3d),
        ]

    for i, (fa, fb) in enumerate(zip(calls(tinyconv), calls(torch), strict=True)):
        got = want = None
        try:
            rb = fb()
        except Exception as e:  # noqa: BLE001  (the type is what is compared)
            want = type(e).__name__
        try:
            ra = fa()
        except Exception as e:  # noqa: BLE001
            got = type(e).__name__
        assert got == want, (i, got, want)
        if want is None and isinstance(rb, bool):
            assert ra == rb, i


def test_convolution_output_is_channels_last_when_input_or_weight_is():
    """PyTorch's CPU convolutions: the output is channels-last when the input or the weight is
    (a 1x1 kernel, a transposed convolution and an unbatched input included), else contiguous;
    the values are the contiguous computation's, bit for bit."""
    rng = np.random.default_rng(0)
    x = tinyconv.from_numpy(rng.normal(size=(2, 4, 5, 5)).astype(np.float32))
    cases = [
        (F.conv2d, x, (3, 4, 3, 3), (CF, CL)),
        (F.conv2d, x, (3, 4, 3, 3), (CL, CF)),
        (F.conv2d, x, (3, 4, 1, 1), (CL, CF)),
        (F.conv2d, x, (3, 4, 1, 1), (CF, CF)),
        (F.conv_transpose2d, x, (4, 3, 3, 3), (CF, CL)),
        (F.conv_transpose2d, x, (4, 3, 3, 3), (CL, CF)),
    ]
    for f, inp, wshape, (fx, fw) in cases:
        w = tinyconv.from_numpy(rng.normal(size=wshape).astype(np.float32))
        want = f(inp, w)
        got = f(inp.contiguous(memory_format=fx), w.contiguous(memory_format=fw))
        cl = CL in (fx, fw)
        assert got.is_contiguous(memory_format=CL) is cl and got.is_contiguous() is not cl
        assert np.array_equal(_np(got), _np(want))
    w = tinyconv.randn(3, 4, 3, 3).contiguous(memory_format=CL)
    assert F.conv2d(x[0], w).stride() == (1, 9, 3)  # (unbatched: the batch dim squeezed out)


@pytest.mark.torch
def test_convolution_output_strides_match_pytorch():
    torch = _torch()
    strides = []
    for lib in (torch, tinyconv):
        cl, fn = lib.channels_last, lib.nn.functional
        x = lib.randn(2, 4, 5, 5)
        w = lib.randn(3, 4, 3, 3)
        wt = lib.randn(4, 3, 3, 3)
        w1 = lib.randn(3, 4, 1, 1)
        outs = [
            fn.conv2d(x, w.contiguous(memory_format=cl)),
            fn.conv2d(x.contiguous(memory_format=cl), w),
            fn.conv2d(x.contiguous(memory_format=cl), w1),
            fn.conv2d(x, w1),
            fn.conv_transpose2d(x, wt.contiguous(memory_format=cl)),
            fn.conv_transpose2d(x.contiguous(memory_format=cl), wt),
            fn.conv2d(x[0], w.contiguous(memory_format=cl)),
            lib.nn.Conv2d(4, 2, 2).to(memory_format=cl)(x),
        ]
        strides.append([o.stride() for o in outs])
    assert strides[0] == strides[1]
