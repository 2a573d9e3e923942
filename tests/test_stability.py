"""Numerical stability: activations and exp-based losses at magnitudes 1e4 and float32's extremes.

Every test runs with warnings turned into errors, so a NumPy overflow or
invalid-value warning fails it just as a NaN or inf in the result does.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv import nn

F32 = np.finfo(np.float32)
BIG = float(F32.max)  # 3.4e38
TINY = float(F32.tiny)  # 1.2e-38
# Magnitudes where naive formulas overflow: exp(89) > float32 max, exp(710) > float64 max.
EXTREMES = [
    0.0,
    1.0,
    -1.0,
    20.0,
    -20.0,
    88.8,
    -88.8,
    104.0,
    -104.0,
    1e4,
    -1e4,
    1e30,
    -1e30,
    BIG,
    -BIG,
    TINY,
    -TINY,
]


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def leaf(values, dtype=torch.float32):
    return torch.tensor(values, dtype=dtype, requires_grad=True)


def finite(t) -> bool:
    arr = t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)
    return bool(np.isfinite(arr).all())


def sigmoid64(x):
    """Reference sigmoid in float64, written independently of tinyconv's."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


# -- activations --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sigmoid_at_extremes(dtype):
    x = leaf(EXTREMES, dtype)
    s = x.sigmoid()
    s.sum().backward()
    assert finite(s) and finite(x.grad)
    got = s.detach().numpy()
    assert ((got >= 0) & (got <= 1)).all()
    ref = sigmoid64(EXTREMES).astype(dtype)
    # PyTorch's 1 / (1 + e^-x), whose e^-x overflows to inf below log(max) (-88.7 in float32):
    # the result is 0 there, where the exact value is a tiny e^x; relative elsewhere, even
    # for e^-88 (float32 subnormals: a few units of 1.4e-45 allowed)
    limit = -float(np.log(np.finfo(dtype).max))
    ref[np.asarray(EXTREMES) < limit] = 0
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=2e-44)
    np.testing.assert_allclose(x.grad.numpy(), ref * (1 - ref), rtol=1e-5, atol=1e-45)
    assert got[EXTREMES.index(1e4)] == 1.0 and got[EXTREMES.index(-1e4)] == 0.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tanh_at_extremes(dtype):
    x = leaf(EXTREMES, dtype)
    y = x.tanh()
    y.sum().backward()
    assert finite(y) and finite(x.grad)
    ref = np.tanh(np.asarray(EXTREMES, dtype=np.float64))
    np.testing.assert_allclose(y.detach().numpy(), ref.astype(dtype), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), (1 - ref**2).astype(dtype), rtol=1e-5, atol=1e-7)


def test_sigmoid_float64_beyond_float32():
    x = leaf([1e300, -1e300, 700.0, -745.0], torch.float64)
    y = x.sigmoid()
    y.sum().backward()
    assert finite(y) and finite(x.grad)
    np.testing.assert_array_equal(y.detach().numpy()[:2], [1.0, 0.0])


def test_exp_and_log_overflow_quietly_as_pytorch():
    # exp(1e4) is inf and log(0) is -inf, as in PyTorch, but without a NumPy warning.
    x = leaf([1e4, 0.0])
    assert np.isinf(x.exp().detach().numpy()[0])
    z = leaf([0.0, 1.0])
    assert z.log().detach().numpy()[0] == -np.inf


# -- softmax and log-softmax
# ------------------------------------------------------------------------


LOGIT_ROWS = {
    "1e4": [[1e4, -1e4, 0.0], [-1e4, 0.0, 1e4], [1e4, 1e4, -1e4]],
    "f32max": [[BIG, -BIG, 0.0], [-BIG, 0.0, BIG], [BIG, BIG, -BIG]],
}


@pytest.mark.parametrize("scale", sorted(LOGIT_ROWS))
def test_softmax_at_extremes(scale):
    x = leaf(LOGIT_ROWS[scale])
    p = F.softmax(x, dim=1)
    (p * torch.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    assert finite(p) and finite(x.grad)
    np.testing.assert_allclose(p.detach().numpy().sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(p.detach().numpy(), [[1, 0, 0], [0, 0, 1], [0.5, 0.5, 0]])
    np.testing.assert_array_equal(x.grad.numpy()[:2], 0.0)  # saturated: zero gradient, not nan


@pytest.mark.parametrize("scale", sorted(LOGIT_ROWS))
def test_log_softmax_at_extremes(scale):
    x = leaf(LOGIT_ROWS[scale])
    lp = F.log_softmax(x, dim=1)
    (lp[0, 0] + lp[1, 2] + lp[2, 0]).backward()  # entries that are finite even at 3e38
    assert finite(x.grad)
    out = lp.detach().numpy()
    assert out[0, 0] == 0.0 and out[1, 2] == 0.0  # log(1) exactly, never nan
    assert not np.isnan(out).any()
    if scale == "1e4":  # everything is representable: exact log-probabilities
        np.testing.assert_allclose(out[0], [0.0, -2e4, -1e4])
        np.testing.assert_allclose(out[2], [-np.log(2), -np.log(2), -2e4 - np.log(2)], rtol=1e-6)
    # d lp[i, k] / d x[i, j] = delta_kj - softmax_j
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0, 0], [0, 0, 0], [0.5, -0.5, 0]], atol=1e-6)


def test_log_softmax_float64_huge():
    x = leaf([[1e300, -1e300, 0.0]], torch.float64)
    lp = F.log_softmax(x, dim=1)
    lp[:, 0].sum().backward()
    assert lp.detach().numpy()[0, 0] == 0.0 and finite(x.grad)


# -- cross-entropy and nll
# -----------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_logits_1e4_exact(reduction):
    x = leaf([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    target = torch.tensor([0, 0])
    loss = F.cross_entropy(x, target, reduction=reduction)
    (loss if reduction != "none" else loss.sum()).backward()
    expected = np.array([0.0, 2e4])
    want = {"mean": expected.mean(), "sum": expected.sum(), "none": expected}[reduction]
    np.testing.assert_allclose(loss.detach().numpy(), want, rtol=1e-6)
    grad = np.array([[0.0, 0.0, 0.0], [-1.0, 1.0, 0.0]])  # softmax - one_hot
    np.testing.assert_allclose(x.grad.numpy(), grad / (2 if reduction == "mean" else 1), atol=1e-6)


def test_cross_entropy_float32_max_logits():
    x = leaf([[BIG, -BIG, 0.0], [0.0, BIG, -BIG]])
    loss = F.cross_entropy(x, torch.tensor([0, 1]))
    loss.backward()
    assert loss.item() == 0.0 and finite(x.grad)
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)


def test_cross_entropy_options_at_1e4():
    x = leaf([[1e4, -1e4, 0.0, 5.0], [-1e4, 1e4, 3.0, 0.0], [0.0, 0.0, 1e4, -1e4]])
    target = torch.tensor([1, 1, -100])
    loss = F.cross_entropy(
        x, target, weight=torch.tensor([1.0, 2.0, 0.5, 1.0]), ignore_index=-100, label_smoothing=0.1
    )
    loss.backward()
    assert finite(loss) and finite(x.grad)
    np.testing.assert_array_equal(x.grad.numpy()[2], 0.0)  # the ignored sample


def test_cross_entropy_spatial_and_module_at_1e4():
    torch.manual_seed(0)
    x = (torch.randn(2, 3, 4, 5) * 1e4).requires_grad_()
    target = torch.randint(0, 3, (2, 4, 5))
    loss = nn.CrossEntropyLoss()(x, target)
    loss.backward()
    assert finite(loss) and finite(x.grad) and loss.item() >= 0
    # per-position gradients sum to zero over classes (softmax - one_hot)
    np.testing.assert_allclose(x.grad.numpy().sum(axis=1), 0.0, atol=1e-7)


def test_cross_entropy_probability_targets_at_1e4():
    x = leaf([[1e4, -1e4, 0.0]])
    loss = F.cross_entropy(x, torch.tensor([[0.5, 0.25, 0.25]]))
    loss.backward()
    assert finite(loss) and finite(x.grad)
    np.testing.assert_allclose(loss.item(), 0.25 * 2e4 + 0.25 * 1e4, rtol=1e-6)


def test_nll_of_log_softmax_at_1e4():
    x = leaf([[1e4, -1e4], [-1e4, 1e4]])
    loss = F.nll_loss(F.log_softmax(x, dim=1), torch.tensor([1, 1]))
    loss.backward()
    np.testing.assert_allclose(loss.item(), 1e4, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, -0.5], [0.0, 0.0]], atol=1e-6)


# -- binary cross-entropy
# ---------------------------------------------------------------------------


def test_bce_with_logits_at_extremes():
    logits = [1e4, -1e4, 1e4, -1e4, BIG, -BIG, 0.0, 30.0]
    target = [0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.5, 1.0]
    x = leaf(logits)
    loss = F.binary_cross_entropy_with_logits(x, torch.tensor(target), reduction="none")
    loss.backward(torch.ones(len(logits)))  # (their sum would overflow float32)
    assert finite(loss) and finite(x.grad)
    want = [1e4, 1e4, 0.0, 0.0, BIG, BIG, np.log(2), np.log1p(np.exp(-30.0))]
    np.testing.assert_allclose(loss.detach().numpy(), np.float32(want), rtol=1e-6)
    grad = sigmoid64(logits) - np.asarray(target)  # d/dx = sigmoid(x) - t
    np.testing.assert_allclose(x.grad.numpy(), grad, atol=1e-7)


def test_bce_with_logits_pos_weight_and_mean_at_1e4():
    x = leaf([[1e4, -1e4], [-1e4, 1e4]])
    t = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    loss = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 3.0]))(x, t)
    loss.backward()
    assert finite(loss) and finite(x.grad)
    np.testing.assert_allclose(loss.item(), (1e4 + 3 * 1e4) / 4, rtol=1e-6)


@pytest.mark.parametrize("logit", [1e4, -1e4, 100.0, -100.0, BIG, -BIG])
def test_bce_on_saturated_sigmoid_stays_finite(logit):
    # sigmoid(1e4) is exactly 1.0, so log(1 - p) is log(0): clamped at -100 as in PyTorch,
    # and the gradient uses (p - t) / max(p (1 - p), 1e-12) instead of 0 / 0.
    x = leaf([logit, logit])
    loss = F.binary_cross_entropy(x.sigmoid(), torch.tensor([0.0, 1.0]), reduction="none")
    loss.sum().backward()
    assert finite(loss) and finite(x.grad)
    assert (loss.detach().numpy() <= 100.0).all()


def test_bce_at_exact_zero_and_one():
    p = leaf([0.0, 1.0, 0.0, 1.0, 0.5])
    t = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0], requires_grad=True)
    loss = nn.BCELoss(reduction="sum")(p, t)
    loss.backward()
    np.testing.assert_allclose(loss.item(), 200.0 + np.log(2), rtol=1e-6)
    assert finite(p.grad)
    np.testing.assert_allclose(p.grad.numpy(), [0.0, 0.0, -1e12, 1e12, -2.0], rtol=1e-6)
    # the target's gradient is -logit(p), unclamped as PyTorch's: infinite at p = 0 and 1
    # (only the loss's logs are clamped), and no warning on the way
    np.testing.assert_array_equal(t.grad.numpy(), [np.inf, -np.inf, np.inf, -np.inf, 0.0])


def test_mse_and_l1_at_1e4():
    x = leaf([1e4, -1e4, 0.0])
    loss = F.mse_loss(x, torch.tensor([-1e4, 1e4, 0.0])) + F.l1_loss(x, torch.zeros(3))
    loss.backward()
    np.testing.assert_allclose(loss.item(), 2 * 4e8 / 3 + 2e4 / 3, rtol=1e-6)
    assert finite(x.grad)


def test_training_step_with_huge_logits_stays_finite():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 2 * 2, 3))
    with torch.no_grad():
        model[2].weight.mul_(1e4)
    x = torch.randn(8, 1, 4, 4) * 100
    loss = F.cross_entropy(model(x), torch.randint(0, 3, (8,)))
    loss.backward()
    assert finite(loss)
    assert all(finite(p.grad) for p in model.parameters())


def test_bce_with_logits_gradient_at_zero_logit():
    # d/dx = sigmoid(x) - t = 0.5 - t at x = 0 (a chain rule through |x| would drop the 0.5).
    x = leaf([0.0, 0.0, 0.0])
    F.binary_cross_entropy_with_logits(x, torch.tensor([0.0, 1.0, 0.5]), reduction="sum").backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, -0.5, 0.0])
    x = leaf([0.0, 0.0])
    F.binary_cross_entropy_with_logits(
        x, torch.tensor([0.0, 1.0]), pos_weight=torch.tensor([3.0, 3.0]), reduction="sum"
    ).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0.5 * 3 - 3])  # lw sigmoid(x) - pw t


def test_small_bce_with_logits_losses_keep_their_digits():
    # log(1 + e^-30) is 9.36e-14; computed as log(1 + tiny) it would round to 0 in float32.
    loss = F.binary_cross_entropy_with_logits(
        torch.tensor([30.0, -30.0, 20.0]), torch.tensor([1.0, 0.0, 1.0]), reduction="none"
    )
    np.testing.assert_allclose(loss.numpy(), np.log1p(np.exp([-30.0, -30.0, -20.0])), rtol=1e-6)


@pytest.mark.parametrize(
    "case", ["bce", "bce-weight", "logits", "logits-pos-weight", "logits-broadcast-pw"]
)
def test_stable_losses_gradcheck(case):
    from tinyconv.autograd import gradcheck

    torch.manual_seed(1)
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    t = torch.rand(3, 4, dtype=torch.float64, requires_grad=True)
    pw = (torch.rand(4, dtype=torch.float64) + 0.5).requires_grad_()
    w = torch.rand(3, 4, dtype=torch.float64)
    fns = {
        "bce": lambda x, t: F.binary_cross_entropy(x.sigmoid(), t, reduction="none"),
        "bce-weight": lambda x, t: F.binary_cross_entropy(x.sigmoid(), t, weight=w),
        "logits": lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="none"),
        "logits-pos-weight": lambda x, t, pw: F.binary_cross_entropy_with_logits(
            x, t, w, reduction="sum", pos_weight=pw
        ),
        "logits-broadcast-pw": lambda x, t, pw: F.binary_cross_entropy_with_logits(
            x, t, pos_weight=pw, reduction="none"
        ),
    }
    args = (x, t, pw) if "pw" in case or "pos" in case else (x, t)
    assert gradcheck(fns[case], args, eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize(
    "act", [F.relu6, lambda x: F.hardtanh(x, 0.0, 6.0)], ids=["relu6", "hardtanh"]
)
def test_clipped_activation_blocks_an_infinite_gradient(act):
    # log(act(x)) at a clipped x < 0 sends an infinite gradient back into the clipped
    # element; the activation's gradient there is 0, so x gets 0, not nan (found by the fuzzer)
    x = leaf([-0.132, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # log(0) = -inf in the forward is expected
        loss = (act(x).log() * 0.041).sum() + (act(x) * -1.265).sum()
    loss.backward()
    assert x.grad.numpy()[0] == 0.0
    np.testing.assert_allclose(x.grad.numpy()[1], 0.041 / 0.5 - 1.265, rtol=1e-6)


def test_relu6_input_written_in_place_before_backward_raises():
    # relu6/hardtanh save their input (as PyTorch): writing into it afterwards must make
    # backward raise instead of using the new values (found by the fuzzer)
    x = leaf([0.5, 2.0])
    y = x * 1
    out = F.relu6(y)
    y.zero_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
    z = leaf([-1.0, 3.0, 7.0])
    w = z * 1
    F.relu6(w, inplace=True).sum().backward()  # the in-place form still works
    np.testing.assert_array_equal(z.grad.numpy(), [0.0, 1.0, 0.0])


QUIET_PROGRAM = """
import numpy as np
import tinyconv as torch

x = torch.tensor([1e30, -2.0], requires_grad=True)
square = x * x + x**2  # inf (overflow)
y = square - (x * 3e38) * (x * 3e38)  # inf - inf = nan (invalid)
y.sum().backward()
assert np.isinf(square[0].item()) and np.isnan(y[0].item())
print("ops done", flush=True)
np.float32(1e30) * np.float32(1e30)  # the user's own NumPy code
"""


def test_overflow_and_nan_are_as_quiet_as_in_pytorch():
    # NumPy warns ("overflow encountered in multiply") where PyTorch quietly gives inf or nan:
    # a program's tinyconv ops stay quiet, while its own NumPy code still warns. (Run as a
    # program: pytest restores the warning filters it had before collection imported tinyconv.)
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-W", "default", "-c", QUIET_PROGRAM],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]),
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "ops done\n"
    warned = [line for line in run.stderr.splitlines() if "RuntimeWarning" in line]
    assert len(warned) == 1 and "<string>" in warned[0] and "overflow" in warned[0], run.stderr


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize(
    "name", ["leaky_relu", "leaky_relu_0", "silu", "softplus", "logsigmoid", "hardswish", "mish"]
)
def test_activations_of_inf_and_nan_are_silent(name, dtype):
    """inf and NaN give the IEEE results without a NumPy RuntimeWarning (PyTorch's kernels
    print nothing); forward and backward, each element's gradient on its own."""
    fns = {
        "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
        "leaky_relu_0": lambda x: F.leaky_relu(x, 0.0),
        "silu": F.silu,
        "softplus": F.softplus,
        "logsigmoid": F.logsigmoid,
        "hardswish": F.hardswish,
        "mish": F.mish,
    }
    x = torch.tensor(
        [np.inf, -np.inf, np.nan, 0.0, -0.0, 1.0, -1.0],
        dtype=getattr(torch, dtype),
        requires_grad=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fns[name](x)
        y.backward(torch.ones_like(y))
    assert y.shape == x.shape and x.grad.shape == x.shape
    assert np.isnan(y.detach().numpy()[2])  # NaN stays NaN


SPECIAL = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1.0, -2.0, 3e38, -3e38], np.float32)

# Ops whose forward or backward NumPy warned on for inf, nan or overflow (inf - inf in a
# sum, 3e38 * 3e38, fmod(inf)), each found by a sweep with warnings as errors.
QUIET_OPS = {
    "sum": lambda x: x.sum(),
    "sum_dim": lambda x: x.sum(1),
    "mean": lambda x: x.mean(1),
    "cumsum": lambda x: x.cumsum(1),
    "cumprod": lambda x: x.cumprod(1),
    "prod": lambda x: x.prod(1),
    "var": lambda x: x.var(1),
    "norm": lambda x: x.norm(dim=1),
    "logsumexp": lambda x: x.logsumexp(1),
    "log_softmax": lambda x: x.log_softmax(1),
    "matmul": lambda x: x @ x.T,
    "linear": lambda x: F.linear(x, torch.ones(3, 9)),
    "mse_loss": lambda x: F.mse_loss(x, torch.zeros_like(x)),
    "smooth_l1_loss": lambda x: F.smooth_l1_loss(x, torch.zeros_like(x)),
    "cross_entropy": lambda x: F.cross_entropy(x, torch.zeros(x.shape[0], dtype=torch.long)),
    "layer_norm": lambda x: F.layer_norm(x, (9,)),
    "gelu": F.gelu,
    "elu": F.elu,
    "sub": lambda x: x - x,
    "square": lambda x: x * x,
    "add_flipped": lambda x: x + x.flip(1),
    "lerp": lambda x: torch.lerp(x, x.flip(1), 0.5),
    "fmod": lambda x: torch.fmod(x, 3.0),
    "frac": torch.frac,
    "sinc": torch.sinc,
    "xlogy": lambda x: torch.xlogy(x, x),
    "atan2": lambda x: torch.atan2(x, x),
    "where": lambda x: torch.where(x > 0, x, x * 2),
    "round": torch.round,
    "nansum": torch.nansum,
    "einsum": lambda x: torch.einsum("ij,ij->i", x, x),
    "conv1d": lambda x: F.conv1d(x.unsqueeze(1), torch.ones(2, 1, 3)),
    "avg_pool1d": lambda x: F.avg_pool1d(x.unsqueeze(1), 2),
}


@pytest.mark.parametrize("rows", [1, 300])
@pytest.mark.parametrize("name", sorted(QUIET_OPS))
def test_ops_of_inf_nan_and_overflow_are_silent(name, rows):
    """Every op computes inf - inf = nan and 3e38 * 3e38 = inf as IEEE says, without a NumPy
    RuntimeWarning (PyTorch prints nothing), forward and backward, even with warnings as
    errors; the user's own NumPy code after it still warns."""
    x = torch.tensor(np.tile(SPECIAL, (rows, 1)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = QUIET_OPS[name](x)
        if y.requires_grad:
            y.sum().backward()
        with pytest.raises(RuntimeWarning, match="overflow"):
            np.float32(3e38) * np.float32(3e38)  # NumPy's error state came back after the op
    assert x.grad is None or x.grad.shape == x.shape


def test_ops_on_the_thread_pool_are_silent_too():
    # The pool's workers run in a copy of the caller's context, so NumPy's error state (per
    # thread) follows the op onto the second core: a conv's GEMMs of inf - inf stay quiet.
    x = torch.tensor(np.tile(SPECIAL, (4, 3, 9, 1)), requires_grad=True)
    w = torch.tensor(np.ones((8, 3, 3, 3), np.float32), requires_grad=True)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = F.conv2d(x, w, padding=1)
            out.sum().backward()
    finally:
        torch.set_num_threads(before)
    assert np.isnan(out.detach().numpy()).any() and w.grad.shape == w.shape


@pytest.mark.parametrize(
    "name",
    ["mul", "sub", "reflected_sub", "div", "imul", "isub", "add_alpha"],
)
def test_untracked_shortcuts_are_silent_too(name):
    # Without a graph to record, binary ops and an optimiser's in-place updates skip the op's
    # forward and call the ufunc directly (tensor._binary, _inplace_direct): they stay as
    # quiet as the recorded path, with warnings as errors
    def x():
        return torch.tensor([3e38, np.inf, -np.inf, 1.0])

    steps = {
        "mul": lambda: x() * 10.0,
        "sub": lambda: x() - x(),
        "reflected_sub": lambda: np.inf - x(),
        "div": lambda: x() / 0.0,
        "imul": lambda: x().mul_(10.0),
        "isub": lambda: (lambda t: t.sub_(t.clone()))(x()),
        "add_alpha": lambda: x().add_(x(), alpha=-1),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.no_grad():
            out = steps[name]()
        with pytest.raises(RuntimeWarning):
            np.float32(3e38) * np.float32(3e38)  # the user's NumPy code still warns
    assert not np.isfinite(out.numpy()).all()


def _special(rows: int = 1) -> np.ndarray:
    return np.tile(SPECIAL, (rows, 1))


def _zero_rows(x):
    # a singular (rank-1) 9 x 9 matrix: pinv's and slogdet's 1 / 0, log(0) and 0 * inf
    return torch.outer(x[0].nan_to_num(0.0, 0.0, 0.0), torch.ones(9))


# Ops whose forward, backward or create_graph backward computes 1 / 0, log(0), inf - inf,
# 0 * inf or an overflow on SPECIAL (or the input given here). They rely on the quiet error
# state that Function.apply and the backward walk set (autograd/ieee.py), with no
# np.errstate of their own: each is run with warnings as errors, through double backward
# where the op has one. (Each of these warns with the quiet state switched off: checked by
# test_quiet_ops_do_warn_without_the_quiet_state.)
QUIET_OPS_NO_ERRSTATE = {
    "div": lambda x: x / x.flip(1),
    "rdiv": lambda x: 1.0 / x,
    "pow_tensor": lambda x: x ** x.flip(1),
    "rpow": lambda x: 2.0**x,
    "pow_neg": lambda x: x**-1.5,
    "pow_half": lambda x: x**0.5,
    "pow_big": lambda x: x**3.5,
    "remainder": lambda x: x % x.flip(1),
    "floor_divide": lambda x: x.detach() // x.detach().flip(1),
    "div_floor": lambda x: torch.div(x, x.flip(1), rounding_mode="floor"),
    "div_trunc": lambda x: torch.div(x, x.flip(1), rounding_mode="trunc"),
    "abs": lambda x: (x * 1e30).abs() * 1e30,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "sigmoid": torch.sigmoid,
    "mean": lambda x: x.mean(1),
    "std": lambda x: x.std(1),
    "std_all": lambda x: x[:1, :1].std(),
    "std_constant": lambda x: (x[:, 5:6] * torch.ones(1, 4)).std(1),
    "var_constant": lambda x: (x[:, 5:6] * torch.ones(1, 4)).var(1) ** 0.5,
    "var_one": lambda x: x[:, :1].var(1),
    "amax": lambda x: x.amax(1),
    "norm_half": lambda x: x.norm(p=0.5, dim=1),
    "norm_3": lambda x: x.norm(p=3, dim=1),
    "dist": lambda x: torch.dist(x, x.flip(1)),
    "softmax": lambda x: x[:, 5:].softmax(1),
    "log_softmax": lambda x: x[:, 5:].log_softmax(1),
    "reciprocal": torch.reciprocal,
    "rsqrt": torch.rsqrt,
    "exp2": torch.exp2,
    "expm1": torch.expm1,
    "log1p": lambda x: torch.log1p(x * 0.5),
    "log2": torch.log2,
    "log10": torch.log10,
    "sinh": torch.sinh,
    "cosh": torch.cosh,
    "asin": torch.asin,
    "asinh": torch.asinh,
    "acosh": torch.acosh,
    "atanh": torch.atanh,
    "acos": torch.acos,
    "atan2": lambda x: torch.atan2(x, x.flip(1)),
    "logsumexp": lambda x: x.logsumexp(1),
    "cumprod": lambda x: x.cumprod(1),
    "scatter_reduce_prod": lambda x: torch.zeros(x.shape[0], 3).scatter_reduce(
        1, torch.tensor([[0, 0, 0, 1, 1, 1, 2, 2, 2]] * x.shape[0]), x, "prod"
    ),
    "hypot": lambda x: torch.hypot(x, x.flip(1)),
    "fmod": lambda x: torch.fmod(x, x.flip(1)),
    "logaddexp": lambda x: torch.logaddexp(x, x.flip(1)),
    "logaddexp_equal": lambda x: torch.logaddexp(x, x),
    "cdist_mm": lambda x: torch.cdist(
        x.reshape(-1, 9, 1) * 1e30, x.reshape(-1, 9, 1), compute_mode="use_mm_for_euclid_dist"
    ),
    "slogdet": lambda x: (
        torch.linalg.slogdet(torch.diag(x[0, 5:6] * torch.tensor([1e-45, 1.0])))[1] * 0
    ),
    "eigh_repeated": lambda x: torch.linalg.eigh(torch.eye(3) * x[0, 5])[1],
    "pinv": lambda x: torch.linalg.pinv(_zero_rows(x)),
    "pinv_hermitian": lambda x: torch.linalg.pinv(_zero_rows(x) * 0, hermitian=True),
    "lgamma": torch.lgamma,
    "digamma": torch.digamma,
    "polygamma": lambda x: torch.polygamma(1, x),
    "erfinv": lambda x: torch.erfinv(x).nan_to_num(0.0, 0.0, 0.0),
    "igamma": lambda x: torch.special.gammainc(x.detach().abs() + 0.5, x.abs()),
    "igammac": lambda x: torch.special.gammaincc(x.detach().abs() + 0.5, x.abs()),
    "as_strided_overlap": lambda x: x.reshape(-1)[:4].as_strided((3, 2), (1, 1)) * x[0, :2],
    "elu": lambda x: F.elu(x * 1e30),
    "celu": lambda x: F.celu(x * 1e30),
    "nll_loss_empty": lambda x: F.nll_loss(
        x[:0], torch.zeros(0, dtype=torch.long), reduction="mean"
    ),
    "nll_loss_ignored": lambda x: F.nll_loss(
        x.log_softmax(1), torch.full((x.shape[0],), -100, dtype=torch.long)
    ),
    "binary_cross_entropy": lambda x: F.binary_cross_entropy(
        x.nan_to_num(0.0).clamp(0, 1), (torch.arange(9) % 2).float().expand(x.shape[0], 9)
    ),
}


def _run_quiet_op(name: str, rows: int) -> None:
    """Forward, backward, and a create_graph backward (then backward through it) when the
    op's backward is differentiable."""
    x = torch.tensor(_special(rows), requires_grad=True)
    y = QUIET_OPS_NO_ERRSTATE[name](x)
    if not y.requires_grad:
        return
    y.sum().backward(retain_graph=True)
    try:
        (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    except RuntimeError as e:
        if not any(m in str(e) for m in ("double backward", "not implemented", "singular")):
            raise
        return
    if g.requires_grad:
        g.sum().backward()


@pytest.mark.parametrize("rows", [1, 300])
@pytest.mark.parametrize("name", sorted(QUIET_OPS_NO_ERRSTATE))
def test_ops_without_their_own_errstate_are_silent(name, rows):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", ".*degrees of freedom", UserWarning)  # (PyTorch's too)
        _run_quiet_op(name, rows)
        with pytest.raises(RuntimeWarning, match="overflow"):
            np.float32(3e38) * np.float32(3e38)  # NumPy's error state came back after the op


@pytest.mark.parametrize("name", sorted(QUIET_OPS_NO_ERRSTATE))
def test_quiet_ops_do_warn_without_the_quiet_state(name, monkeypatch):
    # The cases above reach a NumPy warning (so they test the quiet state, not nothing): with
    # apply's and the walk's quiet state switched off, each one warns
    from tinyconv.autograd import engine, function

    for module in (function, engine):
        monkeypatch.setattr(module, "_quiet", lambda: None)
        monkeypatch.setattr(module, "_restore", lambda token: None)
    monkeypatch.setattr(engine, "grad", engine.grad.__wrapped__)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", ".*degrees of freedom", UserWarning)  # (PyTorch's too)
        with pytest.raises((RuntimeWarning, FloatingPointError)):
            _run_quiet_op(name, 1)
