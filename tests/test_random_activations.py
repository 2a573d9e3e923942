"""The random activations and dropouts: F.alpha_dropout, F.feature_alpha_dropout, F.rrelu(_),
F.gumbel_softmax and nn.AlphaDropout / FeatureAlphaDropout / RReLU. After the same manual_seed
they draw PyTorch 2.13's numbers (alpha dropout's mask bitwise where PyTorch uses its default
bernoulli kernel, rrelu's slopes bitwise, gumbel noise to float rounding: PyTorch's log is
SLEEF's); gradients against float64 finite differences and against PyTorch; evaluation mode,
in-place variants and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import float64_arrays, shapes
from test_rng_torch import _pytorch_uses_its_default_bernoulli
from torch_compare import compare

import tinyconv
import tinyconv.nn.functional as F
from tinyconv import nn
from tinyconv.autograd import gradcheck, gradgradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}
SATURATION = 1.7580993408473766  # SELU's scale * alpha

# name -> (program, whether its values come from a bernoulli draw)
CASES = {
    "alpha_dropout": (lambda T, F, x: F.alpha_dropout(x, 0.3, True), True),
    "alpha_dropout p=1": (lambda T, F, x: F.alpha_dropout(x, 1.0, True), False),
    "alpha_dropout inplace": (lambda T, F, x: F.alpha_dropout(x * 1, 0.6, True, True), True),
    "feature_alpha_dropout": (lambda T, F, x: F.feature_alpha_dropout(x, 0.4, True), True),
    "feature_alpha_dropout inplace": (
        lambda T, F, x: F.feature_alpha_dropout(x * 1, 0.4, True, True),
        True,
    ),
    "rrelu": (lambda T, F, x: F.rrelu(x, training=True), False),
    "rrelu bounds": (lambda T, F, x: F.rrelu(x, -0.3, 2.7, True), False),
    "rrelu transposed": (lambda T, F, x: F.rrelu(x.transpose(0, 2), 0.1, 0.9, True), False),
    "rrelu_": (lambda T, F, x: F.rrelu_(x * 1, 0.1, 0.4, True), False),
    "rrelu eval": (lambda T, F, x: F.rrelu(x, 0.1, 0.4), False),
    "rrelu_ eval": (lambda T, F, x: F.rrelu_(x * 1, 0.1, 0.4), False),
    "gumbel_softmax": (lambda T, F, x: F.gumbel_softmax(x, 0.5), False),
    "gumbel_softmax hard": (lambda T, F, x: F.gumbel_softmax(x, 2.0, True, dim=1), False),
}


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_values_grads_and_stream_match_torch(case, dtype):
    torch = pytest.importorskip("torch")
    program, bernoulli = CASES[case]
    if bernoulli and not _pytorch_uses_its_default_bernoulli():
        pytest.skip("PyTorch draws bernoulli masks from MKL on Intel processors (README)")
    x = np.random.default_rng(3).standard_normal((4, 5, 3))
    x[0, 0, :2] = 0.0  # rrelu draws a slope for 0 too

    def seeded(T, F, x):
        T.manual_seed(11)
        return program(T, F, x)

    got, want = compare(seeded, [x], dtype, name=True)
    if "gumbel" not in case:  # (gumbel's noise goes through a log: float rounding only)
        assert np.array_equal(got.detach().numpy(), want.detach().numpy())
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())


def test_alpha_dropout_rule_keeps_mean_and_variance():
    tinyconv.manual_seed(0)
    x = tinyconv.randn(200_000, dtype=tinyconv.float64)
    for p in (0.2, 0.5, 0.8):
        tinyconv.manual_seed(1)
        y = F.alpha_dropout(x, p, True).numpy()
        tinyconv.manual_seed(1)
        keep = tinyconv.rand(200_000, dtype=tinyconv.float64).numpy() < 1 - p
        a = (1 / ((SATURATION**2 * p + 1) * (1 - p))) ** 0.5
        # kept: a * x + sat * a * p; dropped: a * (-sat) + sat * a * p
        want = np.where(keep, a * x.numpy(), -SATURATION * a) + SATURATION * a * p
        np.testing.assert_allclose(y, want, rtol=1e-14, atol=1e-14)
        assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.02


def test_feature_alpha_dropout_draws_one_value_per_channel():
    tinyconv.manual_seed(2)
    y = F.feature_alpha_dropout(tinyconv.ones(3, 4, 5, 6), 0.5, True).numpy()
    assert np.all(y == y[:, :, :1, :1])  # constant over each (n, c) channel
    assert len(np.unique(y)) == 2


def test_rrelu_slopes_lie_between_the_bounds_and_eval_uses_their_mean():
    x = -tinyconv.ones(1000, dtype=tinyconv.float64)
    slopes = -F.rrelu(x, 0.2, 0.6, True).numpy()
    assert slopes.min() >= 0.2 and slopes.max() < 0.6 and len(np.unique(slopes)) == 1000
    assert np.all(F.rrelu(x, 0.2, 0.6).numpy() == -0.4)
    pos = tinyconv.tensor([0.5, 2.0])
    assert np.array_equal(F.rrelu(pos, training=True).numpy(), pos.numpy())


def _seeded(fn):
    """fn with the stream reseeded on every call: finite differences see one draw."""

    def run(*args):
        tinyconv.manual_seed(5)
        return fn(*args)

    return run


@given(st.data())
def test_gradients_match_finite_differences(data):
    shape = data.draw(shapes(2, 4, max_side=3))
    x = tinyconv.tensor(data.draw(float64_arrays(shape, "nonzero")), requires_grad=True)
    p = data.draw(st.sampled_from([0.2, 0.5]))
    fns = [
        lambda t: F.alpha_dropout(t, p, True),
        lambda t: F.feature_alpha_dropout(t, p, True),
        lambda t: F.rrelu(t, 0.1, 0.4, True),
        lambda t: F.rrelu(t, 0.1, 0.4, False),
        lambda t: F.gumbel_softmax(t, 0.7, dim=0),
    ]  # (hard gumbel_softmax's gradient is the soft sample's by design: compared with torch)
    for fn in fns:
        assert gradcheck(_seeded(fn), (x,), **TOL)
        assert gradgradcheck(_seeded(lambda t, fn=fn: fn(t) * t), (x,))


def test_evaluation_mode_and_p_zero_return_the_input():
    x, v = tinyconv.randn(2, 3, 4), tinyconv.randn(3)
    assert F.alpha_dropout(x) is x  # training=False by default, as PyTorch
    assert F.alpha_dropout(x, 0.0, True) is x
    assert F.feature_alpha_dropout(x, 0.5, False) is x
    assert F.feature_alpha_dropout(v, 0.5, False) is v  # (no rank check then, as PyTorch)
    assert F.feature_alpha_dropout(x, 0.0, True) is x
    for module in (nn.AlphaDropout(0.5), nn.FeatureAlphaDropout(0.5)):
        assert module.eval()(x) is x
        assert not np.array_equal(module.train()(x).numpy(), x.numpy())


def test_inplace_variants_write_into_the_input():
    x = tinyconv.randn(3, 4, dtype=tinyconv.float64)
    for fn in (
        lambda t, **k: F.alpha_dropout(t, 0.4, True, **k),
        lambda t, **k: F.feature_alpha_dropout(t, 0.4, True, **k),
        lambda t, **k: F.rrelu(t, 0.1, 0.3, True, **k),
    ):
        tinyconv.manual_seed(9)
        want = fn(x).numpy()
        y = x.clone()
        tinyconv.manual_seed(9)
        assert fn(y, inplace=True) is y
        assert np.array_equal(y.numpy(), want)
    y = x.clone()
    assert F.rrelu_(y, 0.1, 0.3) is y
    assert np.array_equal(y.numpy(), np.where(x.numpy() > 0, x.numpy(), 0.2 * x.numpy()))
    # as PyTorch's, the alpha dropout modules ignore inplace
    z = x.clone()
    nn.AlphaDropout(0.5, inplace=True)(z)
    assert np.array_equal(z.numpy(), x.numpy())
    # in-place rrelu in evaluation with a negative slope has no backward (as leaky_relu_)
    w = tinyconv.randn(4, requires_grad=True)
    out = F.rrelu(w * 1, -0.5, -0.1, inplace=True)
    assert out.grad_fn.name() == "RreluWithNoiseBackward1"
    with pytest.raises(RuntimeError, match="negative slope"):
        out.sum().backward()


def test_modules():
    assert repr(nn.AlphaDropout(0.2)) == "AlphaDropout(p=0.2, inplace=False)"
    assert repr(nn.FeatureAlphaDropout()) == "FeatureAlphaDropout(p=0.5, inplace=False)"
    assert repr(nn.RReLU()) == "RReLU(lower=0.125, upper=0.3333333333333333)"
    assert repr(nn.RReLU(0.1, 0.2, True)) == "RReLU(lower=0.1, upper=0.2, inplace=True)"
    m, x = nn.RReLU(0.1, 0.3), -tinyconv.ones(50)
    assert np.all(m.eval()(x).numpy() == np.float32(-0.2))
    tinyconv.manual_seed(4)
    y = m.train()(x)
    tinyconv.manual_seed(4)
    assert np.array_equal(y.numpy(), F.rrelu(x, 0.1, 0.3, True).numpy())
    assert m.state_dict() == {}


def test_bad_input():
    x = tinyconv.randn(2, 3)
    for p in (-0.1, 1.5):
        for make in (F.alpha_dropout, F.feature_alpha_dropout):
            with pytest.raises(ValueError, match="between 0 and 1"):
                make(x, p)
        for module in (nn.AlphaDropout, nn.FeatureAlphaDropout):
            with pytest.raises(ValueError, match="between 0 and 1"):
                module(p)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        F.feature_alpha_dropout(tinyconv.randn(3), 0.5, True)
    with pytest.raises(RuntimeError, match="float"):
        F.alpha_dropout(tinyconv.arange(4), 0.5, True)
    with pytest.raises(RuntimeError, match="lower bound"):
        F.rrelu(x, 0.5, 0.1)
    with pytest.raises(RuntimeError, match="lower bound"):
        nn.RReLU(0.5, 0.1)(x)
    with pytest.raises(RuntimeError, match="not implemented for tinyconv.int64"):
        F.rrelu(tinyconv.arange(3), training=True)
    with pytest.raises(NotImplementedError, match="float16"):
        F.rrelu(x.half(), training=True)
    with pytest.raises(RuntimeError, match="not implemented for tinyconv.int64"):
        F.gumbel_softmax(tinyconv.arange(3))
    with pytest.raises(TypeError, match="must be a Tensor"):
        F.alpha_dropout([1.0, 2.0], 0.5, True)
    with pytest.warns(UserWarning, match="eps"):
        F.gumbel_softmax(x, eps=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.gumbel_softmax(x)


@pytest.mark.torch
def test_errors_as_torch_raises_them():
    torch = pytest.importorskip("torch")
    tx, cx = torch.randn(2, 3), tinyconv.randn(2, 3)
    calls = [
        lambda F, x: F.alpha_dropout(x, 1.5, True),
        lambda F, x: F.feature_alpha_dropout(x[0], 0.5, True),
        lambda F, x: F.rrelu(x, 0.5, 0.1, True),
        lambda F, x: F.rrelu(x, 0.5, 0.1),
    ]
    for call in calls:
        with pytest.raises(Exception) as want:
            call(torch.nn.functional, tx)
        with pytest.raises(type(want.value)):
            call(F, cx)
