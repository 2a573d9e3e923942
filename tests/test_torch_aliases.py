"""Top-level torch.X spellings of nn.functional ops (tinyconv/torch_functions_nn.py) with
PyTorch's top-level signatures, and the other top-level functions that came with them
(asarray, scalar_tensor, the window functions, is_signed, chain_matmul, interop threads,
set_flush_denormal): values, dtypes and gradients against PyTorch 2.13 in one table,
argument names against PyTorch's operator schemas, bad input."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from test_rng_torch import _pytorch_uses_its_default_bernoulli
from torch_compare import TOLS, compare, dtype_str

import tinyconv
from tinyconv import torch_functions_nn

RNG = np.random.default_rng(0)
X3, X4 = RNG.standard_normal((2, 3, 5)), RNG.standard_normal((2, 4, 3, 3))
A, B, C = (RNG.standard_normal((3, 4)) for _ in range(3))
W1, W2 = RNG.standard_normal((4, 3, 2)), RNG.standard_normal((5, 4, 2, 2))
V3, V4 = RNG.standard_normal(3), RNG.standard_normal(4)
X5, W3 = RNG.standard_normal((2, 4, 3, 4, 3)), RNG.standard_normal((3, 4, 2, 2, 2))


def const(T, values, like):
    """A constant (no grad) of like's dtype: targets, running statistics."""
    return T.tensor(np.asarray(values).tolist(), dtype=like.dtype)


SIGNS = [[1, -1, 1, 1], [-1, 1, 1, -1], [1, 1, -1, -1]]

# name -> (program(T, *inputs), input arrays, whether it draws bernoulli masks)
CASES = {
    "conv1d": (lambda T, x, w, b: T.conv1d(x, w[:, :3], b, 2, 1), [X3, W1, V4], False),
    "conv2d": (lambda T, x, w, b: T.conv2d(x, w, b[:3].repeat(2)[:5], 1, 1), [X4, W2, V4], False),
    "conv_transpose1d": (
        lambda T, x, w: T.conv_transpose1d(x, w.transpose(0, 1), None, 2, 1, 1),
        [X3, W1],
        False,
    ),
    "conv_transpose2d": (
        lambda T, x, w: T.conv_transpose2d(x, w.transpose(0, 1), None, 2, 0, 1),
        [X4, W2],
        False,
    ),
    "conv3d": (lambda T, x, w, b: T.conv3d(x, w, b[:3], (1, 2, 1), 1), [X5, W3, V4], False),
    "conv_transpose3d": (
        lambda T, x, w: T.conv_transpose3d(x, w.transpose(0, 1), None, 2, 0, 1),
        [X5, W3],
        False,
    ),
    "convolution": (
        lambda T, x, w, b: T.convolution(
            x, w, b[:3].repeat(2)[:5], [1, 1], [1], [1, 1], False, [0, 0], 1
        ),
        [X4, W2, V4],
        False,
    ),
    "convolution 1d": (
        lambda T, x, w: T.convolution(x, w[:, :3], None, [2], [1], [1], False, [0], 1),
        [X3, W1],
        False,
    ),
    "convolution transposed": (
        lambda T, x, w: T.convolution(
            x, w.transpose(0, 1), None, [2, 2], [0, 0], [1, 1], True, [1, 1], 1
        ),
        [X4, W2],
        False,
    ),
    "native_layer_norm": (
        lambda T, x, w: T.native_layer_norm(x, [3], w, None, 1e-5)[0],
        [X4, V3],
        False,
    ),
    "native_layer_norm mean": (
        lambda T, x: T.native_layer_norm(x, [3, 3], None, None, 1e-5)[1],
        [X4],
        False,
    ),
    "native_layer_norm rstd": (
        lambda T, x: T.native_layer_norm(x, (3, 3), None, None, 0.5)[2],
        [X4],
        False,
    ),
    **{
        f"native_batch_norm {mode} {k}": (
            lambda T, x, w, b, mode=mode, k=k: T.native_batch_norm(
                x,
                w,
                b,
                const(T, [0.1, -0.2, 0.3, 0.0], x) if mode == "eval" else None,
                const(T, [1.0, 2.0, 0.5, 1.5], x) if mode == "eval" else None,
                mode == "train",
                0.1,
                1e-5,
            )[k],
            [X4, V4, V4[::-1].copy()],
            False,
        )
        for mode in ("train", "eval")
        for k in (0, 1, 2)
    },
    "fill": (lambda T, x: T.fill(x * 2, 3.5), [X3], False),
    "fill tensor value": (lambda T, x, v: T.fill(x, v), [X3, np.array(0.7)], False),
    **{
        f"ctc_loss reduction {r}": (
            lambda T, x, r=r: T.ctc_loss(
                x.log_softmax(2), T.tensor([[1, 2], [2, 2]]), [5, 4], [2, 1], 0, r
            ),
            [np.random.default_rng(7).standard_normal((5, 2, 3))],
            False,
        )
        for r in (0, 1, 2)
    },
    "ctc_loss default reduction": (
        lambda T, x: T.ctc_loss(x.log_softmax(2), T.tensor([[1, 2], [2, 2]]), [5, 4], [2, 1]),
        [np.random.default_rng(7).standard_normal((5, 2, 3))],
        False,
    ),
    **{
        f"grid_sampler {i} {p}": (
            lambda T, x, g, i=i, p=p: T.grid_sampler(x, g.tanh(), i, p, False),
            [X4, np.random.default_rng(8).standard_normal((2, 3, 2, 2))],
            False,
        )
        for i in (0, 1, 2)
        for p in (0, 1, 2)
    },
    "max_pool3d": (lambda T, x: T.max_pool3d(x, 2, (), 1, 1, True), [X5], False),
    "max_pool1d": (lambda T, x: T.max_pool1d(x, 2, 1, 1), [X3], False),
    "max_pool1d default stride": (lambda T, x: T.max_pool1d(x, 2), [X3], False),
    "max_pool2d": (lambda T, x: T.max_pool2d(x, 2, (), 1, 1, True), [X4], False),
    "max_pool1d_with_indices": (lambda T, x: T.max_pool1d_with_indices(x, 3)[0], [X3], False),
    "avg_pool1d": (lambda T, x: T.avg_pool1d(x, 3, 2, 1, True, False), [X3], False),
    "adaptive_avg_pool1d": (lambda T, x: T.adaptive_avg_pool1d(x, 2), [X3], False),
    "adaptive_max_pool1d": (lambda T, x: T.adaptive_max_pool1d(x, 2)[0], [X3], False),
    "batch_norm training": (
        lambda T, x, w, b: T.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
        [X4, V4, V4 + 1],
        False,
    ),
    "batch_norm eval": (
        lambda T, x, w: T.batch_norm(
            x, w, None, const(T, V4, x), const(T, V4**2 + 0.5, x), False, 0.1, 1e-3, True
        ),
        [X4, V4],
        False,
    ),
    "instance_norm": (
        lambda T, x, w, b: T.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
        [X4, V4, V4 - 1],
        False,
    ),
    "layer_norm": (
        lambda T, x, w, b: T.layer_norm(x, [3, 3], w, b, 1e-3),
        [X4, B[:3, :3], C[:3, :3]],
        False,
    ),
    "group_norm": (lambda T, x, w: T.group_norm(x, 2, w, None, 1e-5, False), [X4, V4], False),
    "rms_norm": (lambda T, x, w: T.rms_norm(x, [3], w), [X4, V3], False),
    "embedding": (lambda T, w: T.embedding(w, T.tensor([[0, 2], [2, 1]]), 2), [A], False),
    "embedding no padding": (lambda T, w: T.embedding(w, T.tensor([2, 0, 2])), [A], False),
    "selu": (lambda T, x: T.selu(x), [A], False),
    "selu_": (lambda T, x: T.selu_(x * 1), [A], False),
    # (alpha exact in float32: PyTorch's gradient rounds alpha to float32)
    "celu": (lambda T, x: T.celu(x, 0.5), [A], False),
    "celu_": (lambda T, x: T.celu_(x * 1, 1.5), [A], False),
    "threshold": (lambda T, x: T.threshold(x, 0.1, -2.0), [A], False),
    "threshold_": (lambda T, x: T.threshold_(x * 1, 0.1, -2.0), [A], False),
    "pixel_shuffle": (lambda T, x: T.pixel_shuffle(x, 2), [X4], False),
    "pixel_unshuffle": (lambda T, x: T.pixel_unshuffle(x[..., :2, :2], 2), [X4], False),
    "channel_shuffle": (lambda T, x: T.channel_shuffle(x, 2), [X4], False),
    "native_channel_shuffle": (
        lambda T, x: T.native_channel_shuffle(x.detach(), 2),  # (no derivative)
        [X4],
        False,
    ),
    "bilinear": (
        lambda T, a, w, b: T.bilinear(a[:, :3], a[:, :2], w[:2], b[:2]),
        [A, W1, V3],
        False,
    ),
    "constant_pad_nd": (lambda T, x: T.constant_pad_nd(x, [1, 2, 0, -1], 0.5), [X4], False),
    "rrelu": (lambda T, x: T.rrelu(x, 0.1, 0.3, True), [X4], False),
    "rrelu_": (lambda T, x: T.rrelu_(x * 1, 0.1, 0.3, True), [X4], False),
    "rrelu eval": (lambda T, x: T.rrelu(x), [X4], False),
    "rrelu generator": (
        lambda T, x: T.rrelu(x, 0.2, 0.5, True, T.Generator().manual_seed(7)),
        [X4],
        False,
    ),
    "dropout_": (lambda T, x: T.dropout_(x * 1, 0.3, True), [X4], True),
    "alpha_dropout": (lambda T, x: T.alpha_dropout(x, 0.3, True), [X4], True),
    "alpha_dropout_": (lambda T, x: T.alpha_dropout_(x * 1, 0.3, True), [X4], True),
    "feature_alpha_dropout": (lambda T, x: T.feature_alpha_dropout(x, 0.5, True), [X4], True),
    "feature_alpha_dropout_": (
        lambda T, x: T.feature_alpha_dropout_(x * 1, 0.5, True),
        [X4],
        True,
    ),
    "feature_dropout": (lambda T, x: T.feature_dropout(x, 0.5, True), [X3], True),
    "feature_dropout_": (lambda T, x: T.feature_dropout_(x * 1, 0.5, True), [X4], True),
    "dropout eval": (lambda T, x: T.alpha_dropout(x, 0.3, False), [X4], False),
}
for r in (0, 1, 2):
    CASES |= {
        f"kl_div {r}": (
            lambda T, x, r=r: T.kl_div(x, const(T, np.abs(B) / 4, x), r),
            [A],
            False,
        ),
        f"kl_div log_target {r}": (
            lambda T, x, r=r: T.kl_div(x, const(T, B, x), r, log_target=True),
            [A],
            False,
        ),
        f"bce_with_logits {r}": (
            lambda T, x, r=r: T.binary_cross_entropy_with_logits(
                x, const(T, np.abs(B) % 1, x), const(T, C, x), const(T, V4 + 2, x), r
            ),
            [A],
            False,
        ),
        f"cosine_embedding_loss {r}": (
            lambda T, a, b, r=r: T.cosine_embedding_loss(a, b, T.tensor([1, -1, 1]), 0.2, r),
            [A, B],
            False,
        ),
        f"hinge_embedding_loss {r}": (
            lambda T, x, r=r: T.hinge_embedding_loss(x, T.tensor(SIGNS), 0.5, r),
            [A],
            False,
        ),
        f"margin_ranking_loss {r}": (
            lambda T, a, b, r=r: T.margin_ranking_loss(a, b, T.tensor(SIGNS), 0.1, r),
            [A, B],
            False,
        ),
        f"triplet_margin_loss {r}": (
            lambda T, a, p, n, r=r: T.triplet_margin_loss(a, p, n, 0.5, 1.5, 1e-6, True, r),
            [A, B, C],
            False,
        ),
        f"poisson_nll_loss {r}": (
            lambda T, x, r=r: T.poisson_nll_loss(
                x, const(T, np.abs(B) * 3, x), True, True, 1e-8, r
            ),
            [A],
            False,
        ),
        f"poisson_nll_loss rates {r}": (
            lambda T, x, r=r: T.poisson_nll_loss(
                x.abs(), const(T, np.abs(B), x), False, False, 1e-4, r
            ),
            [A],
            False,
        ),
    }


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_alias_matches_torch(case, dtype):
    torch = pytest.importorskip("torch")
    program, arrays, bernoulli = CASES[case]
    if bernoulli and not _pytorch_uses_its_default_bernoulli():
        pytest.skip("PyTorch draws bernoulli masks from MKL on Intel processors (README)")

    def seeded(T, F, *xs):
        T.manual_seed(3)
        return program(T, *xs)

    compare(seeded, arrays, dtype)
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())


@pytest.mark.torch
def test_pooling_indices_match_torch():
    torch = pytest.importorskip("torch")
    for call in (
        lambda T: T.max_pool1d_with_indices(T.tensor(X3), 2, 1, 1, 1, True)[1],
        lambda T: T.adaptive_max_pool1d(T.tensor(X3), 3)[1],
    ):
        want, got = call(torch), call(tinyconv)
        assert dtype_str(got.dtype) == "int64"
        assert np.array_equal(got.numpy(), want.numpy())


def _schema_names(torch, name: str) -> list[str]:
    schema = torch._C._jit_get_schemas_for_operator(f"aten::{name}")[0]
    return [("input" if a.name == "self" else a.name) for a in schema.arguments]


@pytest.mark.torch
@pytest.mark.parametrize("name", torch_functions_nn.__all__)
def test_argument_names_and_order_are_atens(name):
    torch = pytest.importorskip("torch")
    params = list(inspect.signature(getattr(tinyconv, name)).parameters)
    assert params == _schema_names(torch, name)


# -- the other top-level functions ---------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("name", ["hann", "hamming", "blackman", "bartlett", "kaiser"])
def test_windows_match_torch(name):
    torch = pytest.importorskip("torch")
    extra = {"hamming": (0.6, 0.3), "kaiser": (5.0,)}.get(name, ())
    for n in (0, 1, 2, 5, 8):
        for periodic in (True, False):
            for dt in ("float32", "float64"):
                args = (n, periodic, *extra)
                want = getattr(torch, f"{name}_window")(*args, dtype=getattr(torch, dt))
                got = getattr(tinyconv, f"{name}_window")(*args, dtype=getattr(tinyconv, dt))
                assert dtype_str(got.dtype) == dt and got.shape == tuple(want.shape)
                rtol, atol = TOLS[dt]
                np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=rtol, atol=atol)
    assert getattr(tinyconv, f"{name}_window")(4).dtype == tinyconv.float32
    assert getattr(tinyconv, f"{name}_window")(4, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="non-negative"):
        getattr(tinyconv, f"{name}_window")(-1)
    with pytest.raises(RuntimeError, match="floating point"):
        getattr(tinyconv, f"{name}_window")(3, dtype=tinyconv.int64)


def test_scalar_tensor():
    assert tinyconv.scalar_tensor(3).dtype == tinyconv.float32  # (not int64: PyTorch's rule)
    assert tinyconv.scalar_tensor(True).item() == 1.0
    t = tinyconv.scalar_tensor(2.5, dtype=tinyconv.float64, requires_grad=True)
    assert t.shape == () and t.dtype == tinyconv.float64 and t.requires_grad
    assert tinyconv.scalar_tensor(tinyconv.tensor(2.0)).item() == 2.0
    with pytest.raises(TypeError, match="number"):
        tinyconv.scalar_tensor(tinyconv.ones(2))


def test_asarray_shares_memory_where_it_can():
    a = np.arange(3.0)
    t = tinyconv.asarray(a)
    assert t.dtype == tinyconv.float64 and np.shares_memory(t.numpy(), a)
    assert not np.shares_memory(tinyconv.asarray(a, copy=True).numpy(), a)
    assert tinyconv.asarray(a, dtype=tinyconv.float32).dtype == tinyconv.float32
    with pytest.raises(ValueError, match="copy=False"):
        tinyconv.asarray(a, dtype=tinyconv.float32, copy=False)
    with pytest.raises(ValueError, match="copy=False|alias"):
        tinyconv.asarray([1, 2], copy=False)
    assert tinyconv.asarray([1.5, 2]).dtype == tinyconv.float32
    assert tinyconv.asarray([1, 2]).dtype == tinyconv.int64
    r = tinyconv.randn(2, requires_grad=True)
    assert tinyconv.asarray(r) is r
    copied = tinyconv.asarray(r, copy=True)
    assert copied is not r and copied.grad_fn.name() == "CloneBackward0"
    assert tinyconv.asarray(r, dtype=tinyconv.float64).grad_fn.name() == "ToCopyBackward0"
    detached = tinyconv.asarray(r * 2, requires_grad=False)
    assert not detached.requires_grad and detached.grad_fn is None
    leaf = tinyconv.asarray(a, requires_grad=True)
    assert leaf.requires_grad and leaf.is_leaf
    with pytest.raises(RuntimeError):
        tinyconv.asarray(tinyconv.tensor([1, 2]), requires_grad=True)


@pytest.mark.torch
def test_angle_matches_torch():
    """The argument of real numbers: pi below 0, 0 at and above (-0.0 too), NaN kept;
    integers and bools give floats; the gradient is 0 everywhere."""
    torch = pytest.importorskip("torch")
    values = [-1.5, 0.0, -0.0, 2.0, float("nan"), float("-inf"), float("inf")]
    for dtype in ("float32", "float64"):  # (values, dtype, requires_grad and gradient)
        compare(lambda T, F, x: T.angle(x), [np.array(values)], dtype)
    for src in ([-1, 0, 3], [True, False]):
        a, b = tinyconv.angle(tinyconv.tensor(src)), torch.angle(torch.tensor(src))
        assert dtype_str(a.dtype) == dtype_str(b.dtype)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    x = tinyconv.tensor(values, requires_grad=True)
    assert x.angle().grad_fn.name() == "AngleBackward0"
    x.angle().sum().backward()
    assert np.array_equal(x.grad.numpy(), np.zeros(len(values), np.float32))


def test_dense_tensor_queries():
    t = tinyconv.zeros(2, 3, 4)
    assert (t.sparse_dim(), t.dense_dim(), t.is_distributed()) == (0, 3, False)


def test_small_functions():
    assert tinyconv.is_signed(tinyconv.ones(1)) and not tinyconv.is_signed(tinyconv.ones(1).byte())
    assert not tinyconv.is_signed(tinyconv.tensor([True]))
    with pytest.raises(TypeError, match="Tensor"):
        tinyconv.is_signed(3)
    assert tinyconv.set_flush_denormal(True) is False  # unsupported: subnormals stay
    before = tinyconv.get_num_interop_threads()
    try:
        tinyconv.set_num_interop_threads(3)
        assert tinyconv.get_num_interop_threads() == 3
    finally:
        tinyconv.set_num_interop_threads(before)
    for bad in (0, True, 1.5):
        with pytest.raises(RuntimeError, match="set_num_interop_threads"):
            tinyconv.set_num_interop_threads(bad)


@pytest.mark.torch
def test_chain_matmul():
    mats = [RNG.standard_normal(s) for s in ((2, 3), (3, 4), (4, 2))]
    with pytest.warns(UserWarning, match="deprecated"):
        compare(lambda T, F, *m: T.chain_matmul(*m), mats)
        single = tinyconv.ones(2, 2)
        assert tinyconv.chain_matmul(single) is not single
        with pytest.raises(RuntimeError, match="one or more"):
            tinyconv.chain_matmul()
        with pytest.raises(RuntimeError, match="expected 2"):
            tinyconv.chain_matmul(tinyconv.ones(3))


def test_native_channel_shuffle_has_no_derivative():
    x = tinyconv.randn(1, 4, 2, requires_grad=True)
    y = tinyconv.native_channel_shuffle(x, 2)
    assert y.requires_grad and y.grad_fn.name() == "NotImplemented"
    assert np.array_equal(y.detach().numpy(), tinyconv.channel_shuffle(x, 2).detach().numpy())
    with pytest.raises(RuntimeError, match="not implemented"):
        y.sum().backward()


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (2, 3, 3)])
def test_pinverse_matches_torch(shape):
    torch = pytest.importorskip("torch")
    for dtype in ("float32", "float64"):
        compare(lambda T, F, x: T.pinverse(x), [RNG.standard_normal(shape)], dtype)
    # singular values below rcond * max count as zero; empty matrices give the transposed shape
    a = np.diag([3.0, 1e-20, 2.0])
    want = torch.pinverse(torch.tensor(a), 1e-10).numpy()
    assert np.array_equal(tinyconv.pinverse(tinyconv.tensor(a), 1e-10).numpy(), want)
    assert tinyconv.pinverse(tinyconv.zeros(0, 3, 4)).shape == (0, 4, 3)
    with pytest.raises(RuntimeError, match="2 or more dims"):
        tinyconv.pinverse(tinyconv.ones(3))


def test_bad_input():
    x = tinyconv.randn(2, 3)
    with pytest.raises(RuntimeError, match="interpolation_mode must be one of"):
        tinyconv.grid_sampler(tinyconv.ones(1, 1, 2, 2), tinyconv.zeros(1, 1, 1, 2), 3, 0, False)
    with pytest.raises(RuntimeError, match="padding_mode must be one of"):
        tinyconv.grid_sampler(tinyconv.ones(1, 1, 2, 2), tinyconv.zeros(1, 1, 1, 2), 0, 3, False)
    with pytest.raises(RuntimeError, match="0-d tensor"):
        tinyconv.fill(x, tinyconv.ones(2))
    with pytest.raises(TypeError, match="argument 'stride' \\(position 4\\) must be tuple"):
        tinyconv.convolution(x[None], x[None], None, 1, [0], [1], False, [0], 1)
    with pytest.raises(TypeError, match="reduction must be an int"):
        tinyconv.kl_div(x, x, "mean")
    with pytest.raises(ValueError, match="0 \\(none\\), 1 \\(mean\\) or 2 \\(sum\\)"):
        tinyconv.hinge_embedding_loss(x, x.sign(), 1.0, 3)
    with pytest.raises(TypeError, match="missing"):
        tinyconv.batch_norm(x, None, None, None, None, True, 0.1, 1e-5)  # cudnn_enabled
    with pytest.raises(TypeError, match="return_indices"):
        tinyconv.max_pool1d(x[None], 2, return_indices=True)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        tinyconv.feature_dropout(tinyconv.randn(3), 0.5, True)
    v = tinyconv.randn(3)
    assert tinyconv.feature_dropout(v, 0.5, False) is v  # (the rank is checked in training)


@pytest.mark.torch
@pytest.mark.parametrize(
    "name",
    [
        "dropout",
        "dropout_",
        "alpha_dropout",
        "alpha_dropout_",
        "feature_alpha_dropout",
        "feature_alpha_dropout_",
        "feature_dropout",
        "feature_dropout_",
    ],
)
@pytest.mark.parametrize("p", [1.5, -0.25])
def test_top_level_dropouts_refuse_p_as_torch_does(name, p):
    """The ATen forms raise RuntimeError (nn.functional's raise ValueError), same message."""
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as want:
        getattr(torch, name)(torch.ones(2, 3), p, True)
    with pytest.raises(RuntimeError) as got:
        getattr(tinyconv, name)(tinyconv.ones(2, 3), p, True)
    assert str(got.value) == str(want.value)
