"""Embedding, Dropout1d/2d/3d, Unflatten, PixelShuffle/PixelUnshuffle, the padding layers, more
activations (PReLU, SELU, CELU, GLU, Softmin, Softsign, Tanhshrink, Threshold, LogSigmoid,
Softshrink, Hardshrink) and losses (SmoothL1Loss, HuberLoss, KLDivLoss) (issue 12): backward
against float64 finite differences on hypothesis-drawn inputs; values, gradients, dtypes,
reprs and state-dict keys against PyTorch 2.13; bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import float64_arrays, lattice_arrays, shapes
from torch_compare import compare

import tinyconv
import tinyconv.nn.functional as F
from tinyconv import nn
from tinyconv.autograd import gradcheck, gradgradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}


def leaf(arr) -> tinyconv.Tensor:
    return tinyconv.from_numpy(np.asarray(arr, dtype=np.float64)).requires_grad_()


# -- Embedding --------------------------------------------------------------------------------


@st.composite
def embedding_cases(draw):
    num, dim = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    idx_shape = draw(shapes(0, 2, max_side=4))
    idx = draw(st.lists(st.integers(0, num - 1), min_size=int(np.prod(idx_shape, dtype=int))))
    idx = np.array(idx[: int(np.prod(idx_shape, dtype=int))], dtype=np.int64).reshape(idx_shape)
    pad = draw(st.one_of(st.none(), st.integers(-num, num - 1)))
    return num, dim, idx, pad, draw(st.booleans())


@given(embedding_cases(), st.data())
def test_embedding_gradcheck(case, data):
    num, dim, idx, pad, freq = case
    w = leaf(data.draw(float64_arrays((num, dim))))
    i = tinyconv.tensor(idx)

    def fn(w):
        return F.embedding(i, w, padding_idx=pad, scale_grad_by_freq=freq)

    if pad is None and not freq:  # the true derivative (the options change it on purpose)
        assert gradcheck(fn, (w,), **TOL)
        assert gradgradcheck(lambda w: fn(w) * fn(w), (w,))
    else:  # the gradient: each output row's, times its factor, onto the row it came from
        g = np.random.default_rng(0).standard_normal(tuple(fn(w).shape))
        fn(w).backward(tinyconv.tensor(g))
        flat = idx.ravel()
        want = np.zeros((num, dim))
        counts = np.bincount(flat, minlength=num)
        for k, row in enumerate(flat):
            if pad is None or row != pad % num:
                want[row] += g.reshape(-1, dim)[k] / (counts[row] if freq else 1)
        np.testing.assert_allclose(w.grad.numpy(), want, rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@given(embedding_cases())
def test_embedding_matches_torch(case):
    """Values, the weight's gradient (padding_idx gets none, scale_grad_by_freq divides by the
    count) and the node name."""
    num, dim, idx, pad, freq = case
    w = np.random.default_rng(0).standard_normal((num, dim))
    for dtype in ("float64", "float32"):
        compare(
            lambda T, F, i, w: F.embedding(i, w, padding_idx=pad, scale_grad_by_freq=freq),
            [idx, w],
            dtype,
            name=True,
        )


@pytest.mark.torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0])
def test_embedding_max_norm_renormalises_rows_in_place_as_torch(norm_type):
    torch = pytest.importorskip("torch")
    w = np.random.default_rng(0).standard_normal((6, 3)) * 2
    idx = np.array([[1, 1, 4], [0, 4, 2]])
    wc = tinyconv.tensor(w, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    yc = F.embedding(tinyconv.tensor(idx), wc, max_norm=1.5, norm_type=norm_type)
    yt = torch.nn.functional.embedding(torch.tensor(idx), wt, max_norm=1.5, norm_type=norm_type)
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), 1e-12, 1e-12)
    np.testing.assert_allclose(wc.detach().numpy(), wt.detach().numpy(), 1e-12, 1e-12)
    assert wc._vc[0] == wt._version == 1  # one in-place write (tinyconv: the version counter)
    yc.sum().backward(), yt.sum().backward()
    np.testing.assert_allclose(wc.grad.numpy(), wt.grad.numpy())


@pytest.mark.torch
def test_embedding_module_matches_torch():
    torch = pytest.importorskip("torch")
    for args, kwargs in [((10, 3), {}), ((10, 3), {"padding_idx": -1, "max_norm": 1.0})]:
        c, t = nn.Embedding(*args, **kwargs), torch.nn.Embedding(*args, **kwargs)
        assert repr(c) == repr(t) and list(c.state_dict()) == list(t.state_dict())
        assert c.padding_idx == t.padding_idx and c.weight.dtype == tinyconv.float32
        if c.padding_idx is not None:
            assert c.weight[c.padding_idx].tolist() == [0.0, 0.0, 0.0]
    emb = np.arange(8.0).reshape(4, 2)
    for freeze in (True, False):
        c = nn.Embedding.from_pretrained(tinyconv.tensor(emb), freeze=freeze, padding_idx=1)
        t = torch.nn.Embedding.from_pretrained(torch.tensor(emb), freeze=freeze, padding_idx=1)
        assert repr(c) == repr(t) and c.weight.requires_grad == t.weight.requires_grad
        assert c.weight.tolist() == t.weight.tolist()  # the padding row is kept as given
        out = c(tinyconv.tensor([[1, 3]]))
        assert out.tolist() == t(torch.tensor([[1, 3]])).tolist()


@pytest.mark.parametrize(
    "call,exc,words",
    [
        (lambda: F.embedding(tinyconv.tensor([1.0]), tinyconv.ones(5, 3)), RuntimeError, "integer"),  # noqa: E501
        (lambda: F.embedding(tinyconv.tensor([5]), tinyconv.ones(5, 3)), IndexError, "[0, 5)"),
        (lambda: F.embedding(tinyconv.tensor([-1]), tinyconv.ones(5, 3)), IndexError, "range"),
        (lambda: F.embedding(tinyconv.tensor([1]), tinyconv.ones(5)), RuntimeError, "2-D"),
        (
            lambda: F.embedding(tinyconv.tensor([1]), tinyconv.ones(5, 3), padding_idx=5),
            AssertionError,  # (as PyTorch's functional)
            "Padding_idx",
        ),  # noqa: E501
        (
            lambda: F.embedding(tinyconv.tensor([1]), tinyconv.ones(5, 3), sparse=True),
            NotImplementedError,
            "sparse",
        ),  # noqa: E501
        (lambda: nn.Embedding(10, 3, sparse=True), NotImplementedError, "sparse"),
        (lambda: nn.Embedding(10, 3, padding_idx=10), ValueError, "padding_idx"),
        (lambda: nn.Embedding(-1, 3), ValueError, "num_embeddings"),
        (lambda: nn.Embedding.from_pretrained(tinyconv.ones(3)), ValueError, "2-D"),
    ],
)
def test_embedding_bad_input(call, exc, words):
    with pytest.raises(exc) as err:
        call()
    assert words in str(err.value)


# -- channel dropout --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn,shape,lead",
    [
        (F.dropout1d, (4, 6, 5), 2),
        (F.dropout1d, (6, 5), 1),
        (F.dropout2d, (4, 6, 3, 3), 2),
        (F.dropout3d, (3, 6, 2, 2, 2), 2),
        (F.dropout3d, (6, 2, 2, 2), 1),
    ],
)
@pytest.mark.parametrize("p", [0.3, 0.7])
def test_channel_dropout_drops_whole_channels(fn, shape, lead, p):
    """Each channel is all zero or all 1 / (1 - p); the fraction dropped is near p; backward
    is the same mask; eval mode and p=0 are the identity; p=1 zeroes everything."""
    tinyconv.manual_seed(0)
    x = tinyconv.ones(*((50,) + shape[1:] if lead == 2 else (300,) + shape[1:]), requires_grad=True)
    y = fn(x, p)
    per_channel = y.detach().numpy().reshape(y.shape[:lead] + (-1,))
    assert np.all(per_channel.min(axis=-1) == per_channel.max(axis=-1))
    kept = per_channel[per_channel != 0]
    np.testing.assert_allclose(kept, np.float32(1 / (1 - p)), rtol=1e-6)
    assert abs((per_channel[..., 0] == 0).mean() - p) < 0.08
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())
    assert y.grad_fn.name() == "MulBackward0"
    assert fn(x, p, training=False) is x and fn(x, 0.0) is x
    assert fn(x, 1.0).abs().sum().item() == 0


@pytest.mark.torch
def test_dropout_modules_match_torch():
    torch = pytest.importorskip("torch")
    for name in ("Dropout1d", "Dropout2d", "Dropout3d"):
        for kwargs in ({}, {"p": 0.2, "inplace": True}):
            c, t = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
            assert repr(c) == repr(t)
    m = nn.Dropout2d(0.5).eval()
    x = tinyconv.ones(2, 3, 4, 4)
    assert m(x) is x


def test_dropout2d_on_3d_input_warns_and_drops_channels_of_n_c_l():
    tinyconv.manual_seed(0)
    with pytest.warns(UserWarning, match="3-D input"):
        y = F.dropout2d(tinyconv.ones(40, 6, 5))
    rows = y.numpy()
    assert np.all(rows.min(axis=-1) == rows.max(axis=-1))


@pytest.mark.parametrize(
    "call,exc,words",
    [
        (lambda: F.dropout1d(tinyconv.ones(4)), RuntimeError, "2-D (C, L) or 3-D"),
        (lambda: F.dropout2d(tinyconv.ones(4)), RuntimeError, "at least 2 dimensions"),
        (lambda: F.dropout3d(tinyconv.ones(2, 3, 4)), RuntimeError, "5-D"),
        (lambda: F.dropout2d(tinyconv.ones(2, 3, 4, 4), p=1.5), ValueError, "p (the dropout"),
        (lambda: nn.Dropout1d(-0.1), ValueError, "between 0 and 1"),
    ],
)
def test_dropout_bad_input(call, exc, words):
    with pytest.raises(exc) as err:
        call()
    assert words in str(err.value)


# -- shapes: Unflatten, PixelShuffle, PixelUnshuffle, padding layers -------------------------


@pytest.mark.torch
@pytest.mark.parametrize(
    "name,args,shape",
    [
        ("Unflatten", (1, (2, 3)), (2, 6, 2)),
        ("Unflatten", (-1, (2, 2)), (3, 4)),
        ("PixelShuffle", (2,), (2, 8, 3, 2)),
        ("PixelShuffle", (3,), (9, 2, 2)),
        ("PixelShuffle", (2,), (2, 1, 4, 2, 3)),
        ("PixelUnshuffle", (2,), (2, 2, 4, 6)),
        ("PixelUnshuffle", (3,), (1, 3, 3)),
        ("ZeroPad1d", ((1, 2),), (2, 3, 4)),
        ("ZeroPad2d", (1,), (2, 3, 4)),
        ("ZeroPad3d", ((1, 0, 2, 1, 0, 1),), (1, 2, 2, 3, 2)),
        ("ConstantPad1d", (2, 0.5), (2, 3)),
        ("ConstantPad2d", ((1, 0, 2, 1), -1.0), (1, 2, 3, 3)),
        ("ConstantPad3d", (1, 2.0), (2, 2, 2, 2)),
        ("ReflectionPad1d", ((2, 1),), (2, 3, 4)),
        ("ReflectionPad2d", (2,), (1, 2, 3, 4)),
        ("ReflectionPad3d", (1,), (1, 1, 2, 3, 2)),
        ("ReplicationPad1d", ((1, 3),), (2, 2, 3)),
        ("ReplicationPad2d", ((0, 1, 2, 1),), (1, 2, 3, 3)),
        ("ReplicationPad3d", (1,), (1, 2, 2, 2, 2)),
        ("CircularPad1d", (2,), (1, 2, 3)),
        ("CircularPad2d", ((1, 0, 1, 2),), (1, 1, 3, 3)),
        ("CircularPad3d", (1,), (1, 1, 2, 2, 2)),
    ],
)
def test_shape_modules_match_torch(name, args, shape):
    torch = pytest.importorskip("torch")
    c, t = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(c) == repr(t)
    arr = np.random.default_rng(0).standard_normal(shape)
    compare(lambda T, F, x: (c if T is tinyconv else t)(x), [arr], "float64")
    compare(lambda T, F, x: (c if T is tinyconv else t)(x), [arr], "float32")


@given(st.integers(1, 3), st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.data())
def test_pixel_shuffle_gradcheck_and_inverse(r, c, h, w, data):
    x = data.draw(float64_arrays((2, c * r * r, h, w)))
    assert gradcheck(lambda x: F.pixel_shuffle(x, r), (leaf(x),), **TOL)
    y = F.pixel_shuffle(tinyconv.tensor(x), r)
    assert tuple(y.shape) == (2, c, h * r, w * r)
    np.testing.assert_array_equal(F.pixel_unshuffle(y, r).numpy(), x)
    assert gradcheck(lambda y: F.pixel_unshuffle(y, r), (leaf(y.numpy()),), **TOL)


@pytest.mark.parametrize(
    "call,exc,words",
    [
        (lambda: F.pixel_shuffle(tinyconv.ones(2, 3, 4, 5), 2), RuntimeError, "divisible"),
        (lambda: F.pixel_shuffle(tinyconv.ones(4, 5), 2), RuntimeError, "3-D"),
        (lambda: F.pixel_shuffle(tinyconv.ones(1, 4, 2, 2), 0), ValueError, "upscale_factor"),
        (lambda: F.pixel_unshuffle(tinyconv.ones(2, 3, 5, 4), 2), RuntimeError, "divisible"),
        (lambda: nn.ZeroPad2d((1, 2, 3)), ValueError, "4 ints"),
    ],
)
def test_shape_bad_input(call, exc, words):
    with pytest.raises(exc) as err:
        call()
    assert words in str(err.value)


# -- activations ------------------------------------------------------------------------------


ACTIVATIONS = {
    "selu": lambda T, F, x: F.selu(x),
    "celu": lambda T, F, x: F.celu(x),
    "celu alpha": lambda T, F, x: F.celu(x, 0.5),
    "glu": lambda T, F, x: F.glu(T.stack([x, x * 0.5]), 0),
    "softsign": lambda T, F, x: F.softsign(x),
    "tanhshrink": lambda T, F, x: F.tanhshrink(x),
    "threshold": lambda T, F, x: F.threshold(x, 0.3, -2.0),
    "softmin": lambda T, F, x: F.softmin(x, -1) if x.ndim else F.softmin(x, 0),
    "logsigmoid": lambda T, F, x: F.logsigmoid(x),
    "softshrink": lambda T, F, x: F.softshrink(x, 0.8),
    "hardshrink": lambda T, F, x: F.hardshrink(x, 0.8),
    "prelu": lambda T, F, x: F.prelu(x, T.tensor([0.3], dtype=x.dtype)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@given(st.data())
def test_activation_gradcheck(name, data):
    # values offset 0.25 from multiples of 0.5: away from the kinks at 0, 0.3, +-0.8
    x = data.draw(lattice_arrays(shapes(0, 3), offset=0.25, step=0.5, k=6))
    fn = ACTIVATIONS[name]
    assert gradcheck(lambda x: fn(tinyconv, F, x), (leaf(x),), **TOL)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_activation_matches_torch(name, dtype):
    # includes the kinks themselves (0, +-0.8, 0.3) and large values
    arr = np.array([[-30.0, -3.0, -0.8, -0.5, 0.0, 0.3], [0.5, 0.8, 1.0, 3.0, 25.0, -0.1]])
    compare(ACTIVATIONS[name], [arr], dtype)


@pytest.mark.torch
def test_prelu_per_channel_and_modules_match_torch():
    torch = pytest.importorskip("torch")
    arr = np.random.default_rng(0).standard_normal((2, 3, 4))
    wts = np.array([0.1, -0.2, 0.5])
    compare(lambda T, F, x, w: F.prelu(x, w), [arr, wts], "float64")
    modules = [
        ("PReLU", (), {}),
        ("PReLU", (3, 0.1), {}),
        ("SELU", (), {}),
        ("SELU", (True,), {}),
        ("CELU", (2.0,), {}),
        ("GLU", (1,), {}),
        ("Softmin", (1,), {}),
        ("Softsign", (), {}),
        ("Tanhshrink", (), {}),
        ("Threshold", (0.1, 2.0), {}),
        ("LogSigmoid", (), {}),
        ("Softshrink", (), {}),
        ("Hardshrink", (0.3,), {}),
    ]
    for name, args, kwargs in modules:
        c, t = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
        assert repr(c) == repr(t), name
        assert list(c.state_dict()) == list(t.state_dict()), name
        x = arr[:, :2] if name == "GLU" else arr
        compare(lambda T, F, x, c=c, t=t: (c if T is tinyconv else t)(x * 1), [x], "float32")
    c, t = nn.PReLU(3, 0.1), torch.nn.PReLU(3, 0.1)
    assert c.weight.tolist() == pytest.approx(t.weight.tolist())
    c(tinyconv.tensor(arr, dtype=tinyconv.float32)).sum().backward()
    t(torch.tensor(arr, dtype=torch.float32)).sum().backward()
    np.testing.assert_allclose(c.weight.grad.numpy(), t.weight.grad.numpy(), 1e-5, 1e-6)


@pytest.mark.parametrize(
    "call,exc,words",
    [
        (lambda: F.glu(tinyconv.ones(2, 3), 1), RuntimeError, "even"),
        (lambda: F.prelu(tinyconv.ones(2, 3, 4), tinyconv.ones(2)), RuntimeError, "3 channels"),
        (lambda: F.celu(tinyconv.ones(2), 0.0), ValueError, "alpha"),
        (lambda: F.selu(tinyconv.ones(2, dtype=tinyconv.int64)), RuntimeError, "int64"),
        (lambda: nn.PReLU(0), ValueError, "num_parameters"),
    ],
)
def test_activation_bad_input(call, exc, words):
    with pytest.raises(exc) as err:
        call()
    assert words in str(err.value)


# -- losses ---------------------------------------------------------------------------------


LOSSES = {
    "smooth_l1": lambda T, F, x, t: F.smooth_l1_loss(x, t),
    "smooth_l1 beta sum": lambda T, F, x, t: F.smooth_l1_loss(x, t, reduction="sum", beta=0.5),
    "smooth_l1 beta 0": lambda T, F, x, t: F.smooth_l1_loss(x, t, reduction="none", beta=0.0),
    "huber": lambda T, F, x, t: F.huber_loss(x, t),
    "huber delta none": lambda T, F, x, t: F.huber_loss(x, t, reduction="none", delta=0.7),
    "kl_div batchmean": lambda T, F, x, t: F.kl_div(x, t.abs(), reduction="batchmean"),
    "kl_div sum": lambda T, F, x, t: F.kl_div(x, t.abs(), reduction="sum"),
    "kl_div none": lambda T, F, x, t: F.kl_div(x, t.abs(), reduction="none"),
    "kl_div log_target": lambda T, F, x, t: F.kl_div(x, t, reduction="batchmean", log_target=True),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
@given(st.data())
def test_loss_gradcheck(name, data):
    shape = data.draw(shapes(1, 3))
    x = data.draw(lattice_arrays(shape, offset=0.25, step=0.5, k=4))
    t = data.draw(lattice_arrays(shape, offset=0.0, step=0.5, k=4))  # |x - t| never at a kink
    fn = LOSSES[name]
    if "kl_div" in name and "log_target" not in name:
        t = np.abs(t) + 0.5  # a positive target: its gradient is log(t) + 1
    assert gradcheck(lambda x, t: fn(tinyconv, F, x, t), (leaf(x), leaf(t)), **TOL)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_loss_matches_torch(name, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    t = np.round(rng.standard_normal((3, 4)), 1)
    t[0, :2] = 0.0  # kl_div's xlogy at 0
    compare(LOSSES[name], [x, t], dtype, name=not name.startswith("kl_div"))


@pytest.mark.torch
def test_loss_modules_match_torch():
    torch = pytest.importorskip("torch")
    for name, kwargs in [
        ("SmoothL1Loss", {"beta": 0.5}),
        ("HuberLoss", {"delta": 2.0, "reduction": "sum"}),
        ("KLDivLoss", {"reduction": "batchmean", "log_target": True}),
    ]:
        c, t = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
        assert repr(c) == repr(t)
        x = np.random.default_rng(1).standard_normal((2, 3))
        compare(
            lambda T, F, a, b, c=c, t=t: (c if T is tinyconv else t)(a, b),
            [x, x[::-1] * 1],
            "float64",
        )


def test_kl_div_mean_warns_and_bad_reduction():
    x = tinyconv.zeros(2, 3)
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(x, x)
    with pytest.raises(ValueError, match="batchmean"):
        F.kl_div(x, x, reduction="avg")
    with pytest.raises(RuntimeError, match="delta"):
        F.huber_loss(x, x, delta=0.0)


@pytest.mark.torch
def test_loss_weights_are_buffers_as_torch():
    """A loss's class weights (and pos_weight) are buffers: in state_dict, moved with the
    module, loadable."""
    torch = pytest.importorskip("torch")
    w = [1.0, 2.0, 3.0]
    for name, kwargs in [
        ("CrossEntropyLoss", {"weight": w}),
        ("NLLLoss", {"weight": w}),
        ("BCELoss", {"weight": w}),
        ("BCEWithLogitsLoss", {"weight": w, "pos_weight": w}),
        ("BCEWithLogitsLoss", {}),
    ]:
        c = getattr(nn, name)(**{k: tinyconv.tensor(v) for k, v in kwargs.items()})
        t = getattr(torch.nn, name)(**{k: torch.tensor(v) for k, v in kwargs.items()})
        assert list(c.state_dict()) == list(t.state_dict()), name
        assert [n for n, _ in c.named_buffers()] == [n for n, _ in t.named_buffers()], name


def test_dropout2d_on_other_ranks_warns_and_drops_as_pytorch():
    # the "Defining a Neural Network" recipe puts nn.Dropout2d after a Linear: PyTorch warns
    # and drops features of (N, F) as channels of (N, C); same draws, same warning
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((6, 40)).astype(np.float32)
    outs = []
    for lib in (torch, tinyconv):
        lib.manual_seed(3)
        with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d, which is dep"):
            a = lib.nn.functional.dropout2d(lib.from_numpy(x), 0.5)
            b = lib.nn.Dropout2d(0.25)(lib.from_numpy(x))
        with pytest.warns(UserWarning, match="Received a 5-D input to dropout2d"):
            c = lib.nn.functional.dropout2d(lib.from_numpy(x.reshape(2, 3, 2, 2, 10)), 0.5)
        outs.append([t.numpy() for t in (a, b, c)])
    for ours, theirs in zip(outs[1], outs[0], strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert (outs[1][0] == 0).any() and (outs[1][0] == 2 * x).any()


@pytest.mark.parametrize(
    "op, shape, arg",
    [
        ("pixel_shuffle", (1, 4, 1, 1), 2),  # (found by the torch fuzzer)
        ("pixel_shuffle", (1, 4, 2, 3), 1),
        ("pixel_unshuffle", (1, 1, 2, 2), 2),
        ("pixel_unshuffle", (2, 3, 2, 2), 1),
        ("channel_shuffle", (1, 8, 1, 1), 1),
        ("channel_shuffle", (2, 4, 3), 2),
    ],
)
def test_shuffles_give_a_new_tensor_an_in_place_change_does_not_reach_the_input(op, shape, arg):
    # the final reshape was a view of the input where the permute kept the order; PyTorch's
    # result never is, so y.add_() changed x there
    x = tinyconv.arange(float(np.prod(shape))).reshape(shape)
    before = x.numpy().copy()
    y = getattr(F, op)(x, arg)
    assert y._base is None
    y.add_(10)
    np.testing.assert_array_equal(x.numpy(), before)
    w = tinyconv.arange(float(np.prod(shape)), requires_grad=True)
    z = getattr(F, op)(w.reshape(shape), arg)
    assert (
        z.grad_fn.name()
        == {
            "pixel_shuffle": "PixelShuffleBackward0",
            "pixel_unshuffle": "PixelUnshuffleBackward0",
            "channel_shuffle": "ChannelShuffleBackward0",
        }[op]
    )
    (z * tinyconv.arange(float(z.numel())).reshape(z.shape)).sum().backward()
    # (the gradient of a permutation is the weights permuted back: each of them once)
    assert sorted(w.grad.tolist()) == [float(i) for i in range(z.numel())]
