"""Conv1d, ConvTranspose1d, MaxPool1d, AvgPool1d, AdaptiveAvgPool1d, AdaptiveMaxPool1d and their
F.*1d ops (issue 12), which run the 2-D ops on a height-1 image: backward against float64
finite differences on hypothesis-drawn configurations; values, gradients, dtypes, reprs and
state-dict keys against PyTorch 2.13; bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import conv1d_configs, distinct_arrays, float64_arrays, pool1d_configs
from torch_compare import compare

import tinyconv
import tinyconv.nn.functional as F
from tinyconv import nn
from tinyconv.autograd import gradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}


def leaf(arr) -> tinyconv.Tensor:
    return tinyconv.from_numpy(np.asarray(arr, dtype=np.float64)).requires_grad_()


def conv_call(cfg):
    return lambda T, F, x, w, b: F.conv1d(
        x, w, b, cfg.stride, cfg.padding, cfg.dilation, cfg.groups
    )


@given(conv1d_configs(), st.data())
def test_conv1d_gradcheck(cfg, data):
    x, w, b = (
        data.draw(float64_arrays(s)) for s in (cfg.shape, cfg.weight_shape, (cfg.out_channels,))
    )
    call = conv_call(cfg)
    assert gradcheck(lambda x, w, b: call(tinyconv, F, x, w, b), (leaf(x), leaf(w), leaf(b)), **TOL)


@pytest.mark.torch
@given(conv1d_configs(), st.sampled_from(["float64", "float32"]))
def test_conv1d_matches_torch(cfg, dtype):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in (cfg.shape, cfg.weight_shape, (cfg.out_channels,))]
    compare(conv_call(cfg), arrays, dtype)
    # unbatched (C, L)
    compare(conv_call(cfg), [arrays[0][0], arrays[1], arrays[2]], dtype)


@pytest.mark.torch
@given(conv1d_configs(allow_same=False), st.integers(0, 2), st.data())
def test_conv_transpose1d_gradcheck_and_matches_torch(cfg, out_pad, data):
    # the transposed convolution of a conv1d's output back to its input's size
    s, d = cfg.stride, cfg.dilation
    out_pad = min(out_pad, max(s, d) - 1)
    n, c, _ = cfg.shape
    x_shape = (n, cfg.out_channels, max(1, cfg.shape[2] // s))
    w_shape = (cfg.out_channels, c // cfg.groups, cfg.kernel_size)
    L_out = (x_shape[2] - 1) * s - 2 * cfg.padding + d * (cfg.kernel_size - 1) + out_pad + 1
    if L_out < 1:
        return

    def call(T, F, x, w, b):
        return F.conv_transpose1d(x, w, b, s, cfg.padding, out_pad, cfg.groups, d)

    x, w, b = (data.draw(float64_arrays(sh)) for sh in (x_shape, w_shape, (c,)))
    assert gradcheck(lambda x, w, b: call(tinyconv, F, x, w, b), (leaf(x), leaf(w), leaf(b)), **TOL)
    compare(call, [x, w, b], "float64")
    compare(call, [x, w, b], "float32")


def pool_calls(cfg):
    shape, k, s, p, d, ceil = cfg
    return {
        "max": lambda T, F, x: F.max_pool1d(x, k, s, p, d, ceil),
        "max indices": lambda T, F, x: F.max_pool1d(x, k, s, p, d, ceil, True)[0],
        "avg": lambda T, F, x: F.avg_pool1d(x, k, s, p, ceil, count_include_pad=d == 1),
        "adaptive avg": lambda T, F, x: F.adaptive_avg_pool1d(x, k + s),
        "adaptive max": lambda T, F, x: F.adaptive_max_pool1d(x, k + s),
    }


def _has_empty_window(cfg) -> bool:
    """A window none of whose taps is in the input (all in the padding: possible with
    ceil_mode or dilation). Max pooling refuses a gradient there (a documented difference:
    PyTorch sends it to a pixel the window never read), so such configurations are not drawn."""
    shape, k, s, p, d, ceil = cfg
    out = tinyconv.kernels.pool.pool2d_output_size(
        1, shape[2], (1, k), (1, s), (0, p), (1, d), ceil
    )
    return any(not any(0 <= i * s - p + j * d < shape[2] for j in range(k)) for i in range(out[1]))


@given(pool1d_configs(), st.data())
def test_pool1d_gradcheck(cfg, data):
    if _has_empty_window(cfg):
        return
    x = data.draw(distinct_arrays(cfg[0]))  # no ties: max's gradient is well defined
    for name, call in pool_calls(cfg).items():
        fn = lambda x, call=call: call(tinyconv, F, x)  # noqa: E731
        assert gradcheck(fn, (leaf(x),), **TOL), name


@pytest.mark.torch
@settings(max_examples=12)  # 20 comparisons per example
@given(pool1d_configs(), st.data())
def test_pool1d_matches_torch(cfg, data):
    if _has_empty_window(cfg):
        return
    torch = pytest.importorskip("torch")
    x = data.draw(distinct_arrays(cfg[0]))
    for call in pool_calls(cfg).values():
        for dtype in ("float64", "float32"):
            compare(call, [x], dtype, name=True)
            compare(call, [x[0]], dtype)  # unbatched (C, L)
    shape, k, s, p, d, ceil = cfg
    got = F.max_pool1d(tinyconv.tensor(x), k, s, p, d, ceil, True)[1]
    want = torch.nn.functional.max_pool1d(torch.tensor(x), k, s, p, d, ceil, True)[1]
    assert got.tolist() == want.tolist() and got.dtype == tinyconv.int64
    got = F.adaptive_max_pool1d(tinyconv.tensor(x), 3, True)[1]
    assert (
        got.tolist()
        == torch.nn.functional.adaptive_max_pool1d(torch.tensor(x), 3, True)[1].tolist()
    )


MODULES = [
    ("Conv1d", (3, 4, 3), {}, (2, 3, 7)),
    ("Conv1d", (2, 4, 3), {"stride": 2, "padding": 1, "groups": 2, "bias": False}, (2, 2, 8)),
    ("Conv1d", (3, 2, 4), {"padding": "same", "dilation": 2}, (2, 3, 9)),
    ("Conv1d", (3, 2, 3), {"padding": 2, "padding_mode": "reflect"}, (1, 3, 6)),
    ("Conv1d", (3, 2, 4), {"padding": "same", "padding_mode": "circular"}, (2, 3, 6)),
    ("Conv1d", (3, 2, 3), {"padding": (1,), "padding_mode": "replicate"}, (3, 6)),
    ("ConvTranspose1d", (3, 4, 3), {"stride": 2, "output_padding": 1}, (2, 3, 5)),
    ("ConvTranspose1d", (2, 4, 3), {"groups": 2, "dilation": 2, "padding": 1}, (2, 5)),
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1}, (2, 3, 8)),
    ("MaxPool1d", (2,), {"dilation": 2, "ceil_mode": True}, (2, 3, 8)),
    ("AvgPool1d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, (2, 3, 8)),
    ("AvgPool1d", (2,), {}, (3, 7)),
    ("AdaptiveAvgPool1d", (3,), {}, (2, 3, 7)),
    ("AdaptiveMaxPool1d", (4,), {}, (2, 3, 9)),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,args,kwargs,shape", MODULES)
def test_modules_match_torch(name, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    t = getattr(torch.nn, name)(*args, **kwargs)
    c = getattr(nn, name)(*args, **kwargs)
    assert repr(c) == repr(t)
    assert list(c.state_dict()) == list(t.state_dict())
    for (n, p), q in zip(c.named_parameters(), t.parameters(), strict=True):
        assert tuple(p.shape) == tuple(q.shape) and p.dtype == tinyconv.float32, n
    c.load_state_dict({k: tinyconv.tensor(v.numpy()) for k, v in t.state_dict().items()})
    arr = np.random.default_rng(0).permutation(int(np.prod(shape))).reshape(shape) / 7.0
    x_c = tinyconv.tensor(arr, dtype=tinyconv.float32, requires_grad=True)
    x_t = torch.tensor(arr, dtype=torch.float32, requires_grad=True)
    y_c, y_t = c(x_c), t(x_t)
    np.testing.assert_allclose(y_c.detach().numpy(), y_t.detach().numpy(), 1e-5, 1e-5)
    w = np.random.default_rng(1).standard_normal(tuple(y_t.shape))
    (y_c * tinyconv.tensor(w, dtype=tinyconv.float32)).sum().backward()
    (y_t * torch.tensor(w, dtype=torch.float32)).sum().backward()
    np.testing.assert_allclose(x_c.grad.numpy(), x_t.grad.numpy(), 1e-4, 1e-5)
    for (n, p), q in zip(c.named_parameters(), t.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), 1e-4, 1e-4, err_msg=n)


@pytest.mark.torch
def test_conv_transpose1d_output_size_matches_torch():
    torch = pytest.importorskip("torch")
    t = torch.nn.ConvTranspose1d(2, 3, 3, stride=3)
    c = nn.ConvTranspose1d(2, 3, 3, stride=3)
    c.load_state_dict({k: tinyconv.tensor(v.numpy()) for k, v in t.state_dict().items()})
    arr = np.random.default_rng(0).standard_normal((1, 2, 4))
    for size in (12, 13, 14):
        want = t(torch.tensor(arr, dtype=torch.float32), output_size=[size]).detach().numpy()
        got = c(tinyconv.tensor(arr, dtype=tinyconv.float32), output_size=[size])
        got = got.detach().numpy()
        np.testing.assert_allclose(got, want, 1e-5, 1e-6)
    with pytest.raises(ValueError, match="output_size"):
        c(tinyconv.ones(1, 2, 4), output_size=[15])


@pytest.mark.parametrize(
    "call,exc,words",
    [
        (
            lambda: F.conv1d(tinyconv.ones(2, 3, 5), tinyconv.ones(4, 3, 6)),
            ValueError,
            "larger than",
        ),
        (
            lambda: F.conv1d(tinyconv.ones(2, 3, 5), tinyconv.ones(4, 2, 3)),
            ValueError,
            "3 channels",
        ),
        (
            lambda: F.conv1d(tinyconv.ones(2, 3, 5), tinyconv.ones(4, 3, 3, 1)),
            ValueError,
            "weight must be 3-D",
        ),  # noqa: E501
        (lambda: F.conv1d(tinyconv.ones(5), tinyconv.ones(4, 3, 3)), ValueError, "shape (5,)"),
        (
            lambda: F.conv1d(tinyconv.ones(2, 3, 5), tinyconv.ones(4, 3, 3), stride=(1, 2)),
            ValueError,
            "stride",
        ),  # noqa: E501
        (
            lambda: F.conv1d(
                tinyconv.ones(2, 3, 5), tinyconv.ones(4, 3, 3), stride=2, padding="same"
            ),
            ValueError,
            "stride 1",
        ),  # noqa: E501
        (
            lambda: F.conv_transpose1d(tinyconv.ones(2, 3, 5), tinyconv.ones(3, 2)),
            ValueError,
            "weight must be 3-D",
        ),  # noqa: E501
        (lambda: F.max_pool1d(tinyconv.ones(2, 3, 5), 6), ValueError, "empty"),
        (
            lambda: F.max_pool1d(tinyconv.ones(2, 3, 5), 2, padding=2),
            ValueError,
            "half of kernel_size",
        ),  # noqa: E501
        (lambda: F.max_pool1d(tinyconv.ones(5), 2), ValueError, "shape (5,)"),
        (lambda: F.avg_pool1d(tinyconv.ones(2, 3, 5), (2, 2)), ValueError, "kernel_size"),
        (lambda: F.adaptive_avg_pool1d(tinyconv.ones(2, 3, 5), (2, 3)), ValueError, "output_size"),
        (lambda: nn.Conv1d(3, 4, 3, padding="full"), ValueError, "padding"),
        (lambda: nn.Conv1d(3, 4, 3, stride=2, padding="same"), ValueError, "stride 1"),
        (lambda: nn.Conv1d(3, 4, 0), ValueError, "kernel_size"),
        (lambda: nn.ConvTranspose1d(3, 4, 3, padding_mode="reflect"), ValueError, "padding_mode"),
    ],
)
def test_bad_input(call, exc, words):
    with pytest.raises(exc) as err:
        call()
    assert words in str(err.value)


@pytest.mark.torch
@pytest.mark.parametrize(
    "shape, wshape, opts",
    [
        ((0, 1, 0), (2, 1, 2), {"padding": 1}),  # (found by the torch fuzzer)
        ((0, 1, 0, 3), (2, 1, 1, 2), {"padding": 1}),
        ((0, 2, 0, 3), (2, 1, 1, 2), {"padding": (2, 0), "groups": 2, "dilation": 2}),
        ((0, 1, 0), (2, 1, 1), {}),  # nothing to pad: both raise
        ((1, 1, 0, 3), (2, 1, 1, 2), {"padding": 1}),  # a batch: both raise
    ],
)
def test_conv_of_an_empty_batch_with_an_empty_side_that_padding_fills(shape, wshape, opts):
    torch = pytest.importorskip("torch")

    def run(T):
        conv = T.nn.functional.conv1d if len(shape) == 3 else T.nn.functional.conv2d
        x = T.zeros(shape, dtype=T.float64, requires_grad=True)
        w = T.ones(wshape, dtype=T.float64, requires_grad=True)
        try:
            y = conv(x, w, **opts)
        except (RuntimeError, ValueError):
            return None
        y.sum().backward()
        return tuple(y.shape), tuple(x.grad.shape), w.grad.abs().sum().item()

    assert run(tinyconv) == run(torch)
