"""float16 against PyTorch 2.13's CPU kernels: ops whose kernel computes in float32 and rounds
once (elementwise functions, activations, lerp/addcmul/addcdiv, softmax, the normalisations,
interpolation, attention, addmm and its family) give PyTorch's float16 numbers, forward and
backward, to an ulp, where rounding every float16 step gave hundreds; and ops whose kernel
rounds at every float16 step (avg_pool2d's and adaptive_avg_pool's backward, addr) give its
numbers bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinyconv  # noqa: E402
from tinyconv.autograd import ops  # noqa: E402
from tinyconv.kernels.opmath import mul_number, opmath  # noqa: E402

pytestmark = pytest.mark.torch

H = np.float16


def _ordered(x: np.ndarray) -> np.ndarray:
    """float16 bits as integers in value order (+0 and -0 both 0): differences are ulps."""
    b = np.asarray(x, H).view(np.uint16).astype(np.int64)
    return np.where(b & 0x8000, -(b & 0x7FFF), b)


def ulps(got: np.ndarray, want: np.ndarray) -> int:
    """The largest distance in float16 ulps (NaN only where the other is NaN)."""
    got, want = np.asarray(got, H).ravel(), np.asarray(want, H).ravel()
    nan = np.isnan(want)
    assert (np.isnan(got) == nan).all(), "NaN in one result only"
    return int(np.abs(_ordered(got[~nan]) - _ordered(want[~nan])).max(initial=0))


def scaled_ulps(got: np.ndarray, want: np.ndarray) -> float:
    """The largest difference in ulps of the largest |want|: the error at the output's scale
    (for sums that cancel, whose near-zero results have no meaningful ulps)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.abs(got - want).max() / np.spacing(H(np.abs(want).max())))


def data(shape, seed: int = 0, scale: float = 3.0, low: float | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if low is not None:
        return rng.uniform(low, 1 - low, shape).astype(H)
    return np.asarray(rng.standard_normal(shape) * scale).astype(H)


def run(lib, fn, arrays, grad_seed: int = 99):
    """fn(lib, *tensors) on float16 leaves (integer arrays stay constants), then backward of
    a seeded float16 gradient: (output, [gradient of each float input])."""
    xs = [
        lib.from_numpy(a.copy()).requires_grad_(a.dtype == H) if isinstance(a, np.ndarray) else a
        for a in arrays
    ]
    out = fn(lib, *xs)
    g = data(tuple(out.shape), grad_seed, 1.0)
    out.backward(lib.from_numpy(g))
    grads = [x.grad for x in xs if isinstance(x, lib.Tensor) and x.requires_grad]
    return out.detach().numpy(), [None if g is None else g.numpy() for g in grads]


def compare(fn, arrays, fwd: int = 1, bwd: int | None = 1) -> None:
    """tinyconv's float16 output (and gradients, unless bwd is None) within fwd (bwd) ulps of
    PyTorch's."""
    want, want_grads = run(torch, fn, arrays)
    got, got_grads = run(tinyconv, fn, arrays)
    assert got.dtype == H
    assert ulps(got, want) <= fwd
    if bwd is not None:
        for g, w in zip(got_grads, want_grads, strict=True):
            assert (g is None) == (w is None)
            assert g is None or ulps(g, w) <= bwd


# -- the shared helper -------------------------------------------------------------------------


def test_opmath_rounds_once_and_leaves_other_dtypes():
    x = np.array([-3.671875], H)

    def gelu(a):  # x Phi(x), Phi from 0.5 (1 + erf): cancels in float16 steps
        return 0.5 * a * (1 + np.tanh(0.7978845608 * (a + 0.044715 * a**3)))

    assert gelu(x)[0] == 0  # (float16 steps: nothing left)
    got = opmath(gelu, x)
    assert got.dtype == H and got[0] == H(gelu(x.astype(np.float32))[0]) != 0
    y = np.array([1.5], np.float32)
    assert opmath(np.add, y, 1).dtype == np.float32  # (float32 is computed as given)
    assert opmath(np.add, x, y).dtype == np.float32  # (mixed: NumPy's promotion, no rounding)
    # a number times a float16 array: the number in float32, not rounded to float16 first
    assert mul_number(np.array([1000.0], H), 0.1)[0] == H(np.float32(1000) * np.float32(0.1))
    assert mul_number(np.array([3.0], H), np.float64(1 / 3))[0] == H(1)


# -- the hunt's examples -----------------------------------------------------------------------


def test_the_reported_cases_give_pytorchs_numbers():
    for lib in (torch, tinyconv):
        h = lib.float16
        gelu = lib.nn.functional.gelu(lib.tensor([-3.671875], dtype=h)).item()
        assert gelu == pytest.approx(-0.000442, abs=1e-6)
        assert lib.tensor([0.4501953125], dtype=h).round(decimals=1).item() == 0.5
        trunc = lib.div(lib.tensor([64992.0], dtype=h), 200, rounding_mode="trunc")
        assert trunc.item() == 324.0
    sinc = [
        lib.sinc(lib.tensor([1.998046875], dtype=lib.float16)).item() for lib in (torch, tinyconv)
    ]
    assert sinc[0] == sinc[1]


# -- elementwise ------------------------------------------------------------------------------

# (2048: a whole number of PyTorch's SIMD vectors, so no element takes its scalar tail loop,
# which in a few kernels rounds a number otherwise: add's alpha, for one)
X = data((2048,), 1)
Y = data((2048,), 2)
NZ = np.where(np.abs(Y) < 0.05, H(0.5), Y)
P = data((2048,), 3, low=0.001)
UNIT = (data((2048,), 4, low=0.0005) * 2 - 1).astype(H)

# name: (fn(lib, *inputs), inputs, forward ulps, backward ulps): bit for bit where the kernel
# is arithmetic, an ulp where a float32 exp, log, sin, ... (PyTorch's SLEEF, NumPy's own) or
# PyTorch's fused multiply-add can round the last float32 bit otherwise
ELEMENTWISE = {
    "sinc": (lambda T, x: T.sinc(x), [X], 1, 1),
    "asin": (lambda T, x: T.asin(x), [UNIT], 1, 1),
    "acos": (lambda T, x: T.acos(x), [UNIT], 1, 1),
    "asinh": (lambda T, x: T.asinh(x), [X], 1, 1),
    "erf": (lambda T, x: T.erf(x), [X / 3], 1, 1),
    "erfc": (lambda T, x: T.erfc(x), [X / 3], 1, 1),
    "exp2": (lambda T, x: T.exp2(x), [X / 3], 1, 1),
    # (PyTorch's float16 rsqrt is an ulp off the rounded one in a few inputs in 1e5, which
    # its gradient -out^3 / 2 triples)
    "rsqrt": (lambda T, x: T.rsqrt(x), [np.abs(X) + H(0.01)], 1, 3),
    "sqrt_pow": (lambda T, x: x**0.5, [np.abs(X) + H(0.01)], 0, 0),
    "pow_third": (lambda T, x: x ** (1 / 3), [np.abs(X) + H(0.01)], 1, 1),
    "log2": (lambda T, x: T.log2(x), [np.abs(X) + H(0.01)], 1, 1),
    "tanh": (lambda T, x: T.tanh(x), [X / 3], 1, 1),
    "sigmoid": (lambda T, x: T.sigmoid(x), [X], 1, 1),
    "polygamma1": (lambda T, x: T.polygamma(1, x), [np.abs(X) + H(0.01)], 1, 1),
    "div": (lambda T, x, y: x / y, [X, NZ], 0, 0),
    "round_decimals": (lambda T, x: T.round(x, decimals=2), [X / 10], 0, 0),
    "lerp_number": (lambda T, a, b: T.lerp(a, b, 0.3), [X, Y], 1, 0),
    "lerp_tensor": (lambda T, a, b, w: T.lerp(a, b, w), [X, Y, P], 1, 0),
    "addcmul": (lambda T, a, b, c: T.addcmul(a, b, c, value=0.3), [X, Y, X[::-1].copy()], 1, 0),
    "addcdiv": (lambda T, a, b, c: T.addcdiv(a, b, c, value=0.3), [X, Y, NZ[::-1].copy()], 1, 0),
    "renorm": (lambda T, x: x.reshape(32, 64).renorm(2, 0, 1.0), [X], 1, 1),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_as_pytorch(name):
    fn, arrays, fwd, bwd = ELEMENTWISE[name]
    compare(fn, arrays, fwd, bwd)


def test_rounded_divisions_by_tensors_and_numbers():
    big = data((2048,), 5, 300.0)
    for fn in (
        lambda T, x, y: T.div(x, y, rounding_mode="floor"),
        lambda T, x, y: x // y,
        lambda T, x, y: T.div(x, y, rounding_mode="trunc"),
        lambda T, x, y: T.div(x, 0.3, rounding_mode="floor"),
        lambda T, x, y: x // 0.3,
        lambda T, x, y: T.div(x, 0.3, rounding_mode="trunc"),
    ):
        want = fn(torch, torch.from_numpy(big), torch.from_numpy(NZ)).numpy()
        got = fn(tinyconv, tinyconv.from_numpy(big), tinyconv.from_numpy(NZ)).numpy()
        assert ulps(got, want) == 0


@pytest.mark.parametrize("alpha", [0.3, -1.7])
@pytest.mark.parametrize("name", ["add", "sub"])
def test_add_and_sub_with_alpha_are_one_rounding(name, alpha):
    # (the engine ops Tensor.add/sub can run: PyTorch rounds alpha to float16, then adds in
    # float32 once; its gradient to other is grad * alpha in float32)
    op = ops.Add if name == "add" else ops.Sub
    want, (wa, wb) = run(torch, lambda T, a, b: getattr(T, name)(a, b, alpha=alpha), [X, Y])
    got, (ga, gb) = run(tinyconv, lambda T, a, b: op.apply(a, b, None, alpha), [X, Y])
    assert ulps(got, want) == ulps(ga, wa) == ulps(gb, wb) == 0


# -- activations --------------------------------------------------------------------------------

# name: (fn(F, x), forward ulps, backward ulps), as ELEMENTWISE's
ACTIVATIONS = {
    # (both compute PyTorch's 0.5 x (1 + erf(x / sqrt 2)) in float32, but PyTorch's erf is
    # its own approximation: where 1 + erf cancels, in the left tail, an ulp of 1 in erf is
    # a few float16 ulps of the result)
    "gelu": (lambda F, x: F.gelu(x), 6, 2),
    "silu": (lambda F, x: F.silu(x), 1, 1),
    "mish": (lambda F, x: F.mish(x), 1, 1),
    "hardswish": (lambda F, x: F.hardswish(x), 0, 0),
    "hardsigmoid": (lambda F, x: F.hardsigmoid(x), 0, 0),
    "elu": (lambda F, x: F.elu(x, 0.7), 1, 1),
    "selu": (lambda F, x: F.selu(x), 1, 1),
    "celu": (lambda F, x: F.celu(x, 0.5), 1, 1),
    "softplus": (lambda F, x: F.softplus(x, 2.0, 5.0), 1, 1),
    "leaky_relu": (lambda F, x: F.leaky_relu(x, 0.1), 0, 0),
    "glu": (lambda F, x: F.glu(x.reshape(32, 64), 0), 1, 1),
    "softsign": (lambda F, x: F.softsign(x), 0, 0),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_as_pytorch(name):
    fn, fwd, bwd = ACTIVATIONS[name]
    compare(lambda T, x: fn(T.nn.functional, x), [X], fwd, bwd)


# -- softmax, normalisation --------------------------------------------------------------------

M = data((40, 100), 6)


@pytest.mark.parametrize(
    "fn",
    [
        lambda F, x: F.softmax(x, -1),
        lambda F, x: F.log_softmax(x, -1),  # (PyTorch rounds the sum and its log to float16)
        lambda F, x: F.log_softmax(x, 0),
        lambda F, x: F.softmin(x, -1),
    ],
)
def test_softmax_family_within_an_ulp(fn):
    compare(lambda T, x: fn(T.nn.functional, x), [M])


def test_softmax_over_another_dim():
    # PyTorch's kernel for a dim other than the last takes exp from a faster approximation
    # (an ulp off in a few percent of the float16 results), which the gradient carries on
    want, (wg,) = run(torch, lambda T, x: T.nn.functional.softmax(x, 0), [M])
    got, (gg,) = run(tinyconv, lambda T, x: T.nn.functional.softmax(x, 0), [M])
    assert ulps(got, want) <= 1
    assert scaled_ulps(gg, wg) <= 1


W = (1 + data((100,), 7, 0.3)).astype(H)
B = data((100,), 8, 0.3)
C10 = (1 + data((10,), 9, 0.3)).astype(H), data((10,), 10, 0.3)
IMG = data((4, 10, 25), 11)


@pytest.mark.parametrize(
    "fn, arrays, bwd",
    [
        (lambda F, x: F.layer_norm(x, (100,)), [M], 1),
        # (the weight's and bias's gradients: PyTorch adds them up in float16 buffers, one
        # per thread, rounding at every add; tinyconv sums in float32: not compared)
        (lambda F, x, w, b: F.layer_norm(x, (100,), w.detach(), b.detach()), [M, W, B], 1),
        (lambda F, x: F.group_norm(x, 2), [IMG], 1),
        (lambda F, x, w, b: F.group_norm(x, 2, w, b), [IMG, *C10], 1),
        (lambda F, x, w, b: F.batch_norm(x, None, None, w, b, training=True), [IMG, *C10], 1),
        (lambda F, x, w, b: F.instance_norm(x, weight=w, bias=b), [IMG, *C10], 1),
        (lambda F, x: F.normalize(x, dim=1), [M], 1),
        (lambda F, x: F.rms_norm(x, (100,)), [M], 1),
    ],
)
def test_normalisations_within_an_ulp(fn, arrays, bwd):
    compare(lambda T, *xs: fn(T.nn.functional, *xs), arrays, 1, bwd)


def test_batch_norm_eval_and_running_statistics():
    stats = {lib: [lib.from_numpy(a.copy()) for a in C10] for lib in (torch, tinyconv)}
    outs = []
    for lib in (torch, tinyconv):
        mean, var = stats[lib]
        var.abs_()
        x = lib.from_numpy(IMG.copy())
        lib.nn.functional.batch_norm(x, mean, var, training=True, momentum=0.1)
        outs.append([mean.numpy(), var.numpy()])
        outs[-1].append(lib.nn.functional.batch_norm(x * 2, mean, var).numpy())
    for got, want in zip(outs[1], outs[0], strict=True):
        assert ulps(got, want) == 0


# -- resampling, pooling -----------------------------------------------------------------------

IMG4 = data((2, 2, 20, 25), 12)


@pytest.mark.parametrize(
    "kw, x",
    [
        (dict(scale_factor=2, mode="bilinear"), IMG4),
        (dict(size=(7, 9), mode="bilinear"), IMG4),
        (dict(size=(33, 47), mode="bilinear", align_corners=True), IMG4),
        (dict(size=(7, 9), mode="bicubic"), IMG4),
        (dict(scale_factor=2, mode="nearest"), IMG4),
        (dict(scale_factor=2.5, mode="linear"), data((4, 10, 40), 13)),
        (dict(size=(7, 13, 9), mode="trilinear"), data((1, 2, 10, 10, 20), 14)),
        (dict(size=(7, 9), mode="area"), IMG4),
    ],
)
def test_interpolate_within_an_ulp(kw, x):
    # (trilinear's gradient is summed in another order: within 2 ulps of the output's scale)
    bwd = None if kw["mode"] == "trilinear" else 1
    compare(lambda T, x: T.nn.functional.interpolate(x, **kw), [x], 1, bwd)
    if bwd is None:
        _, (wg,) = run(torch, lambda T, x: T.nn.functional.interpolate(x, **kw), [x])
        _, (gg,) = run(tinyconv, lambda T, x: T.nn.functional.interpolate(x, **kw), [x])
        assert scaled_ulps(gg, wg) <= 2


@pytest.mark.parametrize(
    "fn",
    [
        lambda F, x: F.avg_pool2d(x, 3, 2, 1),  # (overlapping windows: the adds' order counts)
        lambda F, x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False, ceil_mode=True),
        lambda F, x: F.avg_pool2d(x, 3, 2, 1, divisor_override=7),
        lambda F, x: F.adaptive_avg_pool2d(x, (6, 7)),
        lambda F, x: F.adaptive_avg_pool3d(x.unsqueeze(0), (2, 6, 7)),
    ],
)
def test_average_pools_round_as_pytorchs_float16_kernels(fn):
    compare(lambda T, x: fn(T.nn.functional, x), [IMG4], 0, 0)


# -- attention, products -----------------------------------------------------------------------

QKV = [data((2, 4, 20, 25), s) for s in (15, 16, 17)]
MASK = data((20, 20), 18, 1.0)


@pytest.mark.parametrize(
    "fn, arrays",
    [
        (lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v), QKV),
        (lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), QKV),
        (
            lambda F, q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m.detach()),
            [*QKV, MASK],
        ),
        (lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v), [a[0] for a in QKV]),
    ],
)
def test_attention_at_pytorchs_precision(fn, arrays):
    # PyTorch's flash kernel sums in float32 blocks of its own order: the outputs, whose sums
    # cancel, agree to 2 ulps of their largest value (they were 2.5e-3 apart, 8 such ulps)
    want, want_grads = run(torch, lambda T, *xs: fn(T.nn.functional, *xs), arrays)
    got, got_grads = run(tinyconv, lambda T, *xs: fn(T.nn.functional, *xs), arrays)
    assert scaled_ulps(got, want) <= 2
    for g, w in zip(got_grads, want_grads, strict=True):
        assert (g is None) == (w is None)
        assert g is None or scaled_ulps(g, w) <= 3


A, B2, C = data((40, 30), 19), data((40, 100), 20), data((100, 30), 21)


@pytest.mark.parametrize(
    "fn, arrays, fwd",
    [
        (lambda T, c, a, b: T.addmm(c, a, b, beta=0.5, alpha=0.3), [A, B2, C], 1),
        (lambda T, c, a, b: T.addmm(c, a, b), [A[0].copy(), B2, C], 1),
        (
            lambda T, c, a, b: T.baddbmm(c, a, b, beta=0.5, alpha=0.3),
            [data((4, 10, 10), 22), data((4, 10, 100), 23), data((4, 100, 10), 24)],
            1,
        ),
        (
            lambda T, c, a, b: T.addmv(c, a, b, beta=0.5, alpha=0.3),
            [A[:, 0].copy(), B2, C[:, 0].copy()],
            1,
        ),
        # (addr rounds every product and sum in float16, as PyTorch's kernel: bit for bit)
        (
            lambda T, c, a, b: T.addr(c, a, b, beta=0.5, alpha=0.3),
            [A, A[:, 0].copy(), A[0].copy()],
            0,
        ),
        (lambda T, x, w, b: T.nn.functional.linear(x, w, b), [B2, C.T.copy(), A[0].copy()], 1),
        (
            lambda T, x, w, b: T.nn.functional.linear(x, w, b),
            [data((2, 3, 5, 100), 25), C.T.copy(), A[0].copy()],
            1,
        ),
    ],
)
def test_products_with_a_sum_round_once(fn, arrays, fwd):
    compare(fn, arrays, fwd, 1)


# -- losses --------------------------------------------------------------------------------------


def test_binary_cross_entropy_target_gradient_is_pytorchs():
    # PyTorch's -logit(p) grad, not the difference of the forward's logs (1024 ulps apart)
    p, t = data((40, 100), 26, low=0.001), data((40, 100), 27, low=0.001)
    compare(lambda T, p, t: T.nn.functional.binary_cross_entropy(p, t, reduction="none"), [p, t])


def test_soft_margin_loss_mean_gradient_does_not_underflow():
    # the mean's 1/N scales the ratio y z / (1 + z), z = exp(-y x), as in PyTorch's formula;
    # taken first (the composite's chain), it underflowed to 0 where z is large
    x = np.clip(data((40, 100), 28), -9, 9).astype(H)  # (exp(-y x) overflows float16 past 11)
    y = np.sign(data((40, 100), 29)).astype(H)
    fn = lambda T, x, y: T.nn.functional.soft_margin_loss(x, y.detach())  # noqa: E731
    (_, (want, _)), (_, (got, _)) = run(torch, fn, [x, y]), run(tinyconv, fn, [x, y])
    assert scaled_ulps(got, want) <= 2
    assert ((got == 0) == (want == 0)).all()  # (zero only where PyTorch's underflows too)


# -- double backward of the new ops --------------------------------------------------------------


@pytest.mark.parametrize(
    "fn, shapes",
    [
        (lambda x: x.renorm(2, 0, 0.5), [(3, 4)]),
        (lambda x: x.renorm(1, 1, 0.5), [(3, 4)]),
        (lambda c, u, v: c.addr(u, v, beta=0.5, alpha=-2), [(3, 4), (3,), (4,)]),
        (lambda x: (x.abs() + 2).mvlgamma(3), [(3, 4)]),
        (lambda x: tinyconv.nn.functional.glu(x, 0), [(4, 3)]),
        (lambda a, b: ops.Add.apply(a, b, None, 0.3) * a, [(3, 4), (3, 4)]),
        (lambda a, b: ops.Sub.apply(a, b, None, -1.7) * b, [(3, 4), (3, 4)]),
    ],
)
def test_new_ops_second_derivatives(fn, shapes):
    rng = np.random.default_rng(0)
    xs = [tinyconv.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert tinyconv.autograd.gradcheck(fn, xs)
    assert tinyconv.autograd.gradgradcheck(fn, xs)


@pytest.mark.parametrize(
    "fn, shape",
    [
        (lambda F, t: F.group_norm(t, 2), (2, 4, 5)),
        (lambda F, t: F.layer_norm(t, (5,)), (3, 5)),
        (lambda F, t: F.batch_norm(t, None, None, training=True), (4, 3, 5)),
        (lambda F, t: F.scaled_dot_product_attention(t, t, t), (1, 2, 5, 4)),
        (lambda F, t: F.scaled_dot_product_attention(t[0], t[0], t[0]), (1, 2, 5, 4)),
        (lambda F, t: F.interpolate(t, scale_factor=2, mode="linear"), (1, 2, 5)),
    ],
)
def test_float16_second_derivatives_of_the_fused_ops(fn, shape):
    # (their create_graph backward runs in float16 ops: float64's to float16's precision)
    a = np.random.default_rng(1).standard_normal(shape)
    v = np.random.default_rng(2).standard_normal(shape)
    second = []
    for dtype in (tinyconv.float16, tinyconv.float64):
        t = tinyconv.tensor(a, dtype=dtype, requires_grad=True)
        out = fn(tinyconv.nn.functional, t)
        w = np.random.default_rng(3).standard_normal(tuple(out.shape))
        loss = (out * out * tinyconv.tensor(w, dtype=dtype)).sum()
        (g,) = tinyconv.autograd.grad(loss, t, create_graph=True)
        (gg,) = tinyconv.autograd.grad((g * tinyconv.tensor(v, dtype=dtype)).sum(), t)
        second.append(gg.numpy().astype(np.float64))
    assert np.abs(second[0] - second[1]).max() <= 1e-2 * np.abs(second[1]).max()
