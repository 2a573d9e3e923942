"""tinyconv.distributions without PyTorch: log_prob, entropy, cdf and KL gradients against
finite differences (float64), the shapes of samples and results over hypothesis-drawn
batch and sample shapes, the validation errors, constraints, lazy probs/logits, expand,
enumerate_support, sampling statistics and register_kl dispatch. test_distributions_torch.py
compares the numbers (samples included) with PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import shapes

import tinyconv
from tinyconv import distributions as D
from tinyconv.autograd import gradcheck
from tinyconv.distributions import constraints

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}
f64 = tinyconv.float64


def _t(a, grad=False):
    return tinyconv.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _spd(rng, batch, n):
    a = rng.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


# -- gradients: every parameter of log_prob, entropy, cdf and KL --------------------------------

rng0 = np.random.default_rng(0)
LOC, SCALE = rng0.standard_normal((2, 3)), rng0.random((2, 3)) + 0.5
X = rng0.standard_normal((4, 2, 3))
LOGITS = rng0.standard_normal((2, 4))
PROBS = rng0.random((2, 4)) + 0.1


def _sum_all(*ts):
    return sum(t.sum() for t in ts)


GRAD_CASES = {
    "normal": (
        lambda loc, scale: _sum_all(
            D.Normal(loc, scale).log_prob(_t(X)),
            D.Normal(loc, scale).entropy(),
            D.Normal(loc, scale).cdf(_t(X)),
            D.Normal(loc, scale).icdf(_t(np.full((2, 3), 0.3))),
        ),
        [LOC, SCALE],
    ),
    "normal rsample": (lambda loc, scale: _rsample_loss(D.Normal(loc, scale)), [LOC, SCALE]),
    "uniform": (
        lambda low, high: _sum_all(
            D.Uniform(low, high).log_prob(_t(LOC + 0.1)),
            D.Uniform(low, high).entropy(),
            D.Uniform(low, high).cdf(_t(LOC + 0.2)),
            D.Uniform(low, high).variance,
        ),
        [LOC, LOC + SCALE],
    ),
    "uniform rsample": (lambda lo, hi: _rsample_loss(D.Uniform(lo, hi)), [LOC, LOC + SCALE]),
    "categorical logits": (
        lambda lg: _sum_all(
            D.Categorical(logits=lg).log_prob(tinyconv.tensor([[0, 3], [2, 2], [1, 0]])),
            D.Categorical(logits=lg).entropy(),
        ),
        [LOGITS],
    ),
    "categorical probs": (
        lambda p: _sum_all(
            D.Categorical(probs=p).log_prob(tinyconv.tensor([1, 3])),
            D.Categorical(probs=p).entropy(),
        ),
        [PROBS],
    ),
    "one-hot categorical": (
        lambda lg: _sum_all(
            D.OneHotCategorical(logits=lg).log_prob(_t(np.eye(4)[[1, 3]])),
            D.OneHotCategorical(logits=lg).entropy(),
        ),
        [LOGITS],
    ),
    "bernoulli probs": (
        lambda p: _sum_all(
            D.Bernoulli(probs=p).log_prob(_t(PROBS > 0.5)), D.Bernoulli(probs=p).entropy()
        ),
        [PROBS / 2],
    ),
    "bernoulli logits": (
        lambda lg: _sum_all(
            D.Bernoulli(logits=lg).log_prob(_t(LOGITS > 0)), D.Bernoulli(logits=lg).entropy()
        ),
        [LOGITS],
    ),
    "independent": (
        lambda loc, scale: _sum_all(
            D.Independent(D.Normal(loc, scale), 1).log_prob(_t(X)),
            D.Independent(D.Normal(loc, scale), 2).entropy(),
        ),
        [LOC, SCALE],
    ),
    "gamma": (
        lambda c, r: _sum_all(
            D.Gamma(c, r).log_prob(_t(X**2 + 0.1)), D.Gamma(c, r).entropy(), D.Gamma(c, r).mode
        ),
        [SCALE * 2, SCALE[::-1].copy()],
    ),
    "gamma cdf": (
        lambda r, x: D.Gamma(_t(SCALE * 2), r).cdf(x).sum(),
        [SCALE, SCALE[::-1] * 2],
    ),
    "gamma rsample (rate)": (
        lambda r: _rsample_loss(D.Gamma(_t(SCALE * 2), r)),
        [SCALE],
    ),
    "beta": (
        lambda a, b: _sum_all(
            D.Beta(a, b).log_prob(_t(PROBS[0, :3] * 0.9)), D.Beta(a, b).entropy(), D.Beta(a, b).mean
        ),
        [SCALE * 2, SCALE[::-1].copy()],
    ),
    "dirichlet": (
        lambda c: _sum_all(
            D.Dirichlet(c).log_prob(_t(PROBS / PROBS.sum(-1, keepdims=True))),
            D.Dirichlet(c).entropy(),
            D.Dirichlet(c).variance,
            D.Dirichlet(c).mode,
        ),
        [PROBS * 3 + 1],
    ),
    "kl gamma": (
        lambda a, b: D.kl_divergence(D.Gamma(a, b), D.Gamma(b, a)).sum(),
        [SCALE, SCALE[::-1].copy()],
    ),
    "kl beta": (
        lambda a, b: D.kl_divergence(D.Beta(a, b), D.Beta(b, a + 1)).sum(),
        [SCALE, SCALE[::-1].copy()],
    ),
    "kl dirichlet": (
        lambda a, b: D.kl_divergence(D.Dirichlet(a), D.Dirichlet(b)).sum(),
        [PROBS, PROBS[::-1].copy()],
    ),
    "exponential": (
        lambda r: _sum_all(
            D.Exponential(r).log_prob(_t(X**2)),
            D.Exponential(r).entropy(),
            D.Exponential(r).cdf(_t(X**2)),
            D.Exponential(r).icdf(_t(np.full((2, 3), 0.4))),
            _rsample_loss(D.Exponential(r)),
            D.kl_divergence(D.Exponential(r), D.Exponential(r.flip(0) + 1)),
        ),
        [SCALE],
    ),
    "laplace": (
        lambda loc, s: _sum_all(
            D.Laplace(loc, s).log_prob(_t(X)),
            D.Laplace(loc, s).entropy(),
            D.Laplace(loc, s).cdf(_t(X)),
            D.Laplace(loc, s).icdf(_t(np.full((2, 3), 0.3))),
            _rsample_loss(D.Laplace(loc, s)),
            D.kl_divergence(D.Laplace(loc, s), D.Laplace(s, loc.abs() + 1)),
        ),
        [LOC, SCALE],
    ),
    "kl normal": (
        lambda a, b: D.kl_divergence(D.Normal(a, b), D.Normal(b, a + 1)).sum(),
        [SCALE, SCALE[::-1].copy()],
    ),
    "kl categorical": (
        lambda a, b: D.kl_divergence(D.Categorical(logits=a), D.Categorical(probs=b)).sum(),
        [LOGITS, PROBS],
    ),
    "kl bernoulli": (
        lambda a, b: D.kl_divergence(D.Bernoulli(logits=a), D.Bernoulli(probs=b)).sum(),
        [LOGITS, PROBS / 2],
    ),
    "kl one-hot": (
        lambda a, b: D.kl_divergence(
            D.OneHotCategorical(logits=a), D.OneHotCategorical(logits=b)
        ).sum(),
        [LOGITS, LOGITS[::-1].copy()],
    ),
    "kl uniform": (
        lambda lo, hi: D.kl_divergence(D.Uniform(lo, hi), D.Uniform(lo - 1, hi + 2)).sum(),
        [LOC, LOC + SCALE],
    ),
    "kl uniform normal": (
        lambda lo, s: D.kl_divergence(D.Uniform(lo, lo + 1), D.Normal(lo * 0.5, s)).sum(),
        [LOC, SCALE],
    ),
    "kl independent": (
        lambda a, b: D.kl_divergence(
            D.Independent(D.Normal(a, b), 1), D.Independent(D.Normal(b, 1.5), 1)
        ).sum(),
        [LOC, SCALE],
    ),
}


def _kl_bregman(p, q):
    from tinyconv.distributions.kl import _kl_expfamily_expfamily

    return _kl_expfamily_expfamily(p, q)


def _rsample_loss(d):
    tinyconv.manual_seed(3)  # (the same draw at every evaluation of the finite differences)
    return (d.rsample((5,)) ** 2).sum()


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradients_match_finite_differences(name):
    fn, arrays = GRAD_CASES[name]
    assert gradcheck(fn, tuple(_t(a, True) for a in arrays), **TOL)


@pytest.mark.parametrize("kind", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_multivariate_normal_gradients(kind):
    rng = np.random.default_rng(1)
    loc, x = rng.standard_normal((2, 3)), rng.standard_normal((4, 2, 3))
    cov = _spd(rng, (2,), 3)
    mat = {
        "covariance_matrix": cov,
        "precision_matrix": np.linalg.inv(cov),
        "scale_tril": np.linalg.cholesky(cov),
    }[kind]
    q_loc, q_cov = rng.standard_normal(3), _spd(rng, (), 3)

    def fn(m, mu):
        # (the matrix is read symmetrically or as its lower triangle, as PyTorch does:
        # symmetrized or masked here so that finite differences see the same function)
        m = m.tril() if kind == "scale_tril" else (m + m.mT) / 2
        d = D.MultivariateNormal(mu, **{kind: m})
        q = D.MultivariateNormal(_t(q_loc), _t(q_cov))
        kl = D.kl_divergence(d, q) + D.kl_divergence(q, d)
        return _sum_all(d.log_prob(_t(x)), d.entropy(), kl, _rsample_loss(d))

    assert gradcheck(fn, (_t(mat, True), _t(loc, True)), **TOL)


# -- shapes -----------------------------------------------------------------------------------


def _make(name, batch, rng):
    """A distribution of family `name` with batch shape `batch` (float64 parameters)."""
    if name == "normal":
        return D.Normal(_t(rng.standard_normal(batch)), _t(rng.random(batch) + 0.5))
    if name == "uniform":
        low = rng.standard_normal(batch)
        return D.Uniform(_t(low), _t(low + 1))
    if name == "bernoulli":
        return D.Bernoulli(probs=_t(rng.random(batch)))
    if name == "categorical":
        return D.Categorical(logits=_t(rng.standard_normal(batch + (3,))))
    if name == "one_hot":
        return D.OneHotCategorical(probs=_t(rng.random(batch + (3,)) + 0.1))
    if name == "mvn":
        return D.MultivariateNormal(_t(rng.standard_normal(batch + (2,))), _t(_spd(rng, batch, 2)))
    if name == "gamma":
        return D.Gamma(_t(rng.random(batch) * 3), _t(rng.random(batch) + 0.5))
    if name == "beta":
        return D.Beta(_t(rng.random(batch) * 3 + 0.1), _t(rng.random(batch) * 3 + 0.1))
    if name == "dirichlet":
        return D.Dirichlet(_t(rng.random(batch + (3,)) * 3 + 0.1))
    if name == "exponential":
        return D.Exponential(_t(rng.random(batch) + 0.5))
    if name == "laplace":
        return D.Laplace(_t(rng.standard_normal(batch)), _t(rng.random(batch) + 0.5))
    if name == "independent":
        return D.Independent(D.Normal(_t(rng.standard_normal(batch + (2,))), 1.0), 1)
    raise AssertionError(name)


FAMILIES = ["normal", "uniform", "bernoulli", "categorical", "one_hot", "mvn", "independent"]
FAMILIES += ["gamma", "beta", "dirichlet", "exponential", "laplace"]
EVENT = {"one_hot": (3,), "mvn": (2,), "independent": (2,), "dirichlet": (3,)}


@settings(max_examples=15)
@given(
    name=st.sampled_from(FAMILIES),
    batch=shapes(0, 2, max_side=3),
    sample=shapes(0, 2, max_side=3),
    seed=st.integers(0, 100),
)
def test_shapes_of_samples_and_results(name, batch, sample, seed):
    rng = np.random.default_rng(seed)
    d = _make(name, batch, rng)
    event = EVENT.get(name, ())
    assert d.batch_shape == batch and d.event_shape == event
    assert isinstance(d.batch_shape, tinyconv.Size)
    x = d.sample(sample)
    assert tuple(x.shape) == sample + batch + event and not x.requires_grad
    assert x.dtype == (tinyconv.int64 if name == "categorical" else f64)
    assert tuple(d.log_prob(x).shape) == sample + batch
    assert tuple(d.entropy().shape) == batch
    assert tuple(d.mean.shape) == batch + event
    assert tuple(d.variance.shape) == batch + event
    if d.has_rsample:
        assert tuple(d.rsample(sample).shape) == sample + batch + event
    # expand adds leading batch dims without copying the parameters
    e = d.expand((2,) + batch)
    assert e.batch_shape == (2,) + batch and e.event_shape == event
    assert tuple(e.sample().shape) == (2,) + batch + event
    assert tuple(e.log_prob(e.sample()).shape) == (2,) + batch
    if d.has_enumerate_support:
        k = 2 if name == "bernoulli" else 3
        assert tuple(d.enumerate_support().shape) == (k,) + batch + event
        assert tuple(d.enumerate_support(False).shape) == (k,) + (1,) * len(batch) + event
        assert tuple(d.log_prob(d.enumerate_support()).shape) == (k,) + batch


def test_log_prob_broadcasts_value_against_batch():
    d = D.Normal(_t([0.0, 1.0, 2.0]), 1.0)
    assert tuple(d.log_prob(_t([[0.5], [1.5]])).shape) == (2, 3)
    c = D.Categorical(logits=_t(np.zeros((2, 3))))
    assert tuple(c.log_prob(tinyconv.tensor([[0], [1], [2], [1]])).shape) == (4, 2)
    assert np.allclose(c.log_prob(tinyconv.tensor(1)).numpy(), -math.log(3))


def test_scalar_parameters_make_a_scalar_batch_of_default_dtype():
    d = D.Normal(0.0, 1.0)
    assert d.batch_shape == () and d.loc.dtype == tinyconv.float32
    assert D.Normal(_t([0.0]), 2).scale.dtype == f64  # (numbers take the tensor's dtype)
    assert D.Bernoulli(0.3).batch_shape == () and D.Uniform(0, 1).low.dtype == tinyconv.float32
    assert repr(d) == "Normal(loc: 0.0, scale: 1.0)"
    assert (
        repr(D.Normal(_t([0.0, 1]), 1.0))
        == "Normal(loc: tinyconv.Size([2]), scale: tinyconv.Size([2]))"
    )


# -- values and statistics ---------------------------------------------------------------------


def test_values_by_formula():
    d = D.Normal(_t(1.0), _t(2.0))
    want = -((0.5 - 1.0) ** 2) / 8 - math.log(2.0) - 0.5 * math.log(2 * math.pi)
    assert d.log_prob(_t(0.5)).item() == pytest.approx(want, rel=1e-14)
    assert d.entropy().item() == pytest.approx(0.5 + 0.5 * math.log(2 * math.pi) + math.log(2))
    assert d.cdf(_t(1.0)).item() == pytest.approx(0.5)
    assert d.icdf(d.cdf(_t(2.7))).item() == pytest.approx(2.7, rel=1e-12)
    u = D.Uniform(_t(1.0), _t(3.0))
    assert u.log_prob(_t(2.0)).item() == pytest.approx(-math.log(2))
    assert u.log_prob(_t(3.0)).item() == -math.inf  # (the interval is half open)
    b = D.Bernoulli(logits=_t([0.0, 100.0]))
    assert b.log_prob(_t([1.0, 1.0])).numpy() == pytest.approx([math.log(0.5), 0.0])
    c = D.Categorical(probs=_t([1.0, 3.0]))  # normalized
    assert c.probs.numpy() == pytest.approx([0.25, 0.75])
    assert c.entropy().item() == pytest.approx(-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)))
    # a zero probability: -inf log_prob, and entropy counts it as 0 log 0 = 0
    z = D.Categorical(probs=_t([0.0, 1.0]))
    assert z.log_prob(tinyconv.tensor(0)).item() < -30 and z.entropy().item() == pytest.approx(0)
    cov = np.array([[2.0, 0.3], [0.3, 1.0]])
    m = D.MultivariateNormal(_t([0.0, 1.0]), _t(cov))
    x = np.array([0.5, 0.2])
    diff = x - [0.0, 1.0]
    want = -0.5 * (diff @ np.linalg.solve(cov, diff) + 2 * math.log(2 * math.pi))
    want -= 0.5 * math.log(np.linalg.det(cov))
    assert m.log_prob(_t(x)).item() == pytest.approx(want, rel=1e-12)
    assert m.precision_matrix.numpy() == pytest.approx(np.linalg.inv(cov))
    assert m.covariance_matrix.numpy() == pytest.approx(cov)
    assert m.variance.numpy() == pytest.approx(np.diag(cov))


def test_kl_is_zero_for_equal_and_positive_otherwise():
    rng = np.random.default_rng(2)
    for name in FAMILIES:
        p = _make(name, (3,), rng)
        assert np.allclose(D.kl_divergence(p, p).numpy(), 0, atol=1e-12), name
        q = _make(name, (3,), rng)
        assert np.all(D.kl_divergence(p, q).numpy() >= 0), name
    # supports that do not nest: infinite KL
    inf = D.kl_divergence(D.Uniform(0.0, 2.0), D.Uniform(0.5, 3.0))
    assert inf.item() == math.inf
    assert D.kl_divergence(D.Bernoulli(_t(0.5)), D.Bernoulli(_t(0.0))).item() == math.inf


def test_kl_matches_a_monte_carlo_estimate():
    tinyconv.manual_seed(0)
    p = D.MultivariateNormal(_t([0.0, 1.0]), _t([[2.0, 0.3], [0.3, 1.0]]))
    q = D.MultivariateNormal(_t([0.5, 0.0]), scale_tril=_t([[1.0, 0.0], [0.5, 1.5]]))
    x = p.sample((20000,))
    estimate = (p.log_prob(x) - q.log_prob(x)).mean().item()
    assert D.kl_divergence(p, q).item() == pytest.approx(estimate, abs=0.03)


def test_sample_statistics():
    tinyconv.manual_seed(1)
    n = 20000
    x = D.Normal(_t([1.0, -2.0]), _t([0.5, 3.0])).sample((n,)).numpy()
    assert np.allclose(x.mean(0), [1.0, -2.0], atol=0.05)
    assert np.allclose(x.std(0), [0.5, 3.0], rtol=0.03)
    c = D.Categorical(probs=_t([0.2, 0.5, 0.3])).sample((n,)).numpy()
    assert np.allclose(np.bincount(c, minlength=3) / n, [0.2, 0.5, 0.3], atol=0.015)
    b = D.Bernoulli(probs=_t([0.1, 0.9])).sample((n,)).numpy()
    assert np.allclose(b.mean(0), [0.1, 0.9], atol=0.015)
    u = D.Uniform(_t(2.0), _t(5.0)).sample((n,)).numpy()
    assert u.min() >= 2.0 and u.max() < 5.0 and abs(u.mean() - 3.5) < 0.05
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    m = D.MultivariateNormal(_t([0.0, 0.0]), precision_matrix=_t(np.linalg.inv(cov)))
    assert np.allclose(np.cov(m.sample((n,)).numpy().T), cov, atol=0.08)


def test_gamma_beta_dirichlet_statistics():
    tinyconv.manual_seed(2)
    n = 20000
    g = D.Gamma(_t([0.3, 4.0]), _t([2.0, 0.5])).sample((n,)).numpy()
    assert np.allclose(g.mean(0), [0.15, 8.0], rtol=0.05) and g.min() > 0
    assert np.allclose(g.var(0), [0.3 / 4, 16.0], rtol=0.1)
    b = D.Beta(_t(2.0), _t(5.0)).sample((n,)).numpy()
    assert abs(b.mean() - 2 / 7) < 0.01 and 0 < b.min() and b.max() < 1
    d = D.Dirichlet(_t([1.0, 2.0, 7.0])).sample((n,)).numpy()
    assert np.allclose(d.sum(-1), 1) and np.allclose(d.mean(0), [0.1, 0.2, 0.7], atol=0.01)


def test_rsample_gradient_of_a_concentration_raises():
    # (PyTorch's comes from approximations tinyconv does not reproduce: a listed difference)
    c = _t([1.5, 2.0], True)
    for d in (D.Gamma(c, 1.0), D.Beta(c, 2.0), D.Dirichlet(c)):
        x = d.rsample()
        assert x.requires_grad
        with pytest.raises(RuntimeError, match="gradient with respect to the concentration"):
            x.sum().backward()
    rate = _t([1.5, 2.0], True)
    D.Gamma(_t([1.5, 2.0]), rate).rsample().sum().backward()  # (the rate's flows)
    assert rate.grad is not None and np.all(rate.grad.numpy() < 0)


def test_exponential_family():
    assert all(
        issubclass(c, D.ExponentialFamily)
        for c in (D.Normal, D.Bernoulli, D.Gamma, D.Beta, D.Dirichlet, D.Exponential)
    )
    assert not issubclass(D.Laplace, D.ExponentialFamily)
    # the generic entropy (from the log normalizer) equals each closed form
    a, b = _t([0.7, 2.0]), _t([1.5, 0.4])
    for d in (D.Normal(a, b), D.Gamma(a, b), D.Bernoulli(b / 2), D.Exponential(a)):
        generic = D.ExponentialFamily.entropy(d).detach().numpy()
        assert np.allclose(generic, d.entropy().numpy(), rtol=1e-13)
    # and the Bregman divergence each closed-form KL
    for p, q in [(D.Beta(a, b), D.Beta(b, a)), (D.Gamma(a, b), D.Gamma(b, a))]:
        bregman = _kl_bregman(p, q).detach().numpy()
        assert np.allclose(bregman, D.kl_divergence(p, q).numpy(), rtol=1e-12)
    with pytest.raises(NotImplementedError, match="different exponential families"):
        D.kl_divergence(D.Bernoulli(0.3), D.Exponential(1.0))


def test_zero_dim_draws():
    # (a 0-d float64 exponential_() used to fail inside the sampler)
    for d in (D.Exponential(_t(2.0)), D.Laplace(_t(0.0), _t(1.0)), D.Gamma(_t(2.0), _t(1.0))):
        x = d.sample()
        assert x.shape == () and x.dtype == f64 and math.isfinite(x.item())


def test_same_seed_same_samples():
    d = D.Categorical(logits=_t(np.zeros((2, 5))))
    tinyconv.manual_seed(7)
    a = d.sample((4,))
    tinyconv.manual_seed(7)
    assert np.array_equal(a.numpy(), d.sample((4,)).numpy())


def test_lazy_probs_and_logits():
    c = D.Categorical(logits=_t([0.0, math.log(3.0)]))
    assert "probs" not in c.__dict__
    assert c.probs.numpy() == pytest.approx([0.25, 0.75])
    assert "probs" in c.__dict__  # (computed once)
    b = D.Bernoulli(probs=_t(0.25))
    assert b.logits.item() == pytest.approx(math.log(1 / 3))
    b2 = D.Bernoulli(logits=_t(0.0))
    assert b2.probs.item() == 0.5 and b2.mode.isnan().item()


def test_rsample_carries_gradients_and_sample_does_not():
    loc = _t([0.0, 1.0], True)
    d = D.Normal(loc, 1.0)
    assert d.rsample().requires_grad and not d.sample().requires_grad
    assert not D.Categorical(logits=_t([0.0, 1.0], True)).sample().requires_grad
    with pytest.raises(NotImplementedError):
        D.Categorical(logits=_t([0.0, 1.0])).rsample()
    assert D.Normal.has_rsample and not D.Bernoulli.has_rsample
    assert D.Independent(D.Normal(loc, 1.0), 1).has_rsample


# -- validation --------------------------------------------------------------------------------

BAD = [
    (lambda: D.Normal(0.0, -1.0), "Expected parameter scale .* GreaterThan\\(lower_bound=0.0\\)"),
    (lambda: D.Normal(_t([0.0, math.nan]), 1.0), "parameter loc .* Real\\(\\)"),
    (lambda: D.Bernoulli(probs=_t(1.5)), "parameter probs .* Interval"),
    (lambda: D.Categorical(probs=_t([-1.0, 2.0])), "parameter probs .* Simplex"),
    (lambda: D.Uniform(1.0, 0.0), "parameter low .* LessThan\\(upper_bound=0.0\\)"),
    (lambda: D.Categorical(), "Either `probs` or `logits`"),
    (lambda: D.Categorical(probs=_t(1.0)), "at least one-dimensional"),
    (lambda: D.Bernoulli(probs=_t(0.5), logits=_t(0.0)), "not both"),
    (lambda: D.MultivariateNormal(_t([0.0, 0.0])), "Exactly one of"),
    (lambda: D.MultivariateNormal(_t(0.0), _t(np.eye(2))), "loc must be at least one"),
    (
        lambda: D.MultivariateNormal(_t([0.0, 0.0]), scale_tril=_t(np.ones((2, 2)))),
        "scale_tril .* LowerCholesky",
    ),
    (
        lambda: D.MultivariateNormal(_t([0.0, 0.0]), _t([[1.0, 2.0], [2.0, 1.0]])),
        "covariance_matrix .* PositiveDefinite",
    ),
    (lambda: D.Independent(D.Normal(0.0, 1.0), 1), "reinterpreted_batch_ndims <="),
    (lambda: D.Gamma(1.0, 0.0), "parameter rate .* GreaterThan"),
    (lambda: D.Beta(-1.0, 1.0), "parameter concentration .* IndependentConstraint"),
    (lambda: D.Dirichlet(_t(1.0)), "`concentration` parameter must be at least one-dimensional"),
    (lambda: D.Gamma(1.0, 1.0).log_prob(_t(-1.0)), "support \\(GreaterThanEq"),
    (lambda: D.Dirichlet(_t([1.0, 1.0])).log_prob(_t([0.5, 0.6])), "support \\(Simplex"),
    (lambda: D.Normal("a", 1.0), "Number or Tensor"),
    (lambda: D.Normal(_t([0.0, 0.0]), 1.0).log_prob(_t(np.zeros(3))), "not broadcastable"),
    (lambda: D.Normal(0.0, 1.0).log_prob(0.5), "must be a Tensor"),
    (lambda: D.Bernoulli(_t(0.5)).log_prob(_t(0.5)), "within the support \\(Boolean\\(\\)\\)"),
    (
        lambda: D.Categorical(probs=_t([0.5, 0.5])).log_prob(tinyconv.tensor(2)),
        "support \\(IntegerInterval\\(lower_bound=0, upper_bound=1\\)\\)",
    ),
    (lambda: D.Uniform(0.0, 1.0).log_prob(_t(2.0)), "support \\(Interval"),
    (
        lambda: D.OneHotCategorical(probs=_t([0.5, 0.5])).log_prob(_t([1.0, 1.0])),
        "support \\(OneHot\\(\\)\\)",
    ),
    (
        lambda: D.MultivariateNormal(_t([0.0, 0.0]), _t(np.eye(2))).log_prob(_t(np.zeros(3))),
        "right-most size of value must match event_shape",
    ),
    (lambda: D.Normal(_t([math.nan]), 1.0).log_prob(_t([0.0])), "invalid values:\ntensor"),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_validation_errors(i):
    fn, match = BAD[i]
    with pytest.raises(ValueError, match=match):
        fn()


def test_validation_can_be_turned_off():
    d = D.Normal(0.0, -1.0, validate_args=False)  # no error
    assert math.isnan(d.log_prob(_t(0.0)).item())
    assert D.Bernoulli(_t(0.5), validate_args=False).log_prob(_t(0.5)).item() == pytest.approx(
        math.log(0.5)
    )
    D.Distribution.set_default_validate_args(False)
    try:
        assert not D.Normal(0.0, -1.0)._validate_args
    finally:
        D.Distribution.set_default_validate_args(True)
    assert D.Normal(0.0, 1.0)._validate_args
    with pytest.raises(ValueError, match="True or False"):
        D.Distribution.set_default_validate_args("yes")


def test_the_message_shows_the_distribution_and_the_values():
    with pytest.raises(ValueError) as err:
        D.Normal(_t([0.0]), _t([-1.0]))
    assert str(err.value) == (
        "Expected parameter scale (Tensor of shape (1,)) of distribution Normal(loc: "
        "tensor([0.], dtype=tinyconv.float64), scale: tensor([-1.], dtype=tinyconv.float64)) "
        "to satisfy the constraint GreaterThan(lower_bound=0.0), but found invalid values:\n"
        "tensor([-1.], dtype=tinyconv.float64)"
    )


def test_not_implemented_parts():
    with pytest.raises(NotImplementedError):
        D.Normal(0.0, 1.0).enumerate_support()
    with pytest.raises(NotImplementedError, match="does not implement mode"):
        _ = D.Distribution(validate_args=False).mode
    with pytest.raises(NotImplementedError, match="Enumeration over cartesian product"):
        D.Independent(D.Bernoulli(_t([0.5, 0.5])), 1).enumerate_support()
    with pytest.raises(NotImplementedError, match="No KL"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Categorical(probs=_t([0.5, 0.5])))
    with pytest.warns(FutureWarning, match="sample_n"):
        assert tuple(D.Normal(0.0, 1.0).sample_n(3).shape) == (3,)


# -- constraints -------------------------------------------------------------------------------


def test_constraints_check_and_repr():
    c = constraints
    assert c.positive.check(_t([1.0, 0.0, -1.0])).tolist() == [True, False, False]
    assert c.nonnegative.check(_t([0.0])).tolist() == [True]
    assert c.unit_interval.check(_t([0.0, 1.0, 1.1])).tolist() == [True, True, False]
    assert c.half_open_interval(0, 1).check(_t([0.0, 1.0])).tolist() == [True, False]
    assert c.simplex.check(_t([[0.5, 0.5], [0.5, 0.6]])).tolist() == [True, False]
    assert c.one_hot.check(_t([[0.0, 1.0], [1.0, 1.0]])).tolist() == [True, False]
    assert c.integer_interval(0, 2).check(_t([0.0, 2.0, 1.5, 3.0])).tolist() == [
        True,
        True,
        False,
        False,
    ]
    assert c.real_vector.check(_t([[0.0, math.nan], [0.0, math.inf]])).tolist() == [False, True]
    assert c.lower_cholesky.check(_t([[1.0, 0.0], [2.0, 1.0]])).item()
    assert not c.lower_cholesky.check(_t([[1.0, 0.0], [2.0, -1.0]])).item()
    assert c.positive_definite.check(_t([[2.0, 1.0], [1.0, 2.0]])).item()
    assert not c.positive_definite.check(_t([[1.0, 2.0], [2.0, 1.0]])).item()
    assert c.positive_semidefinite.check(_t([[1.0, 1.0], [1.0, 1.0]])).item()
    assert not c.symmetric.check(_t([[1.0, 2.0], [0.0, 1.0]])).item()
    assert c.square.check(_t(np.zeros((3, 2, 2)))).tolist() == [True] * 3
    assert repr(c.positive) == "GreaterThan(lower_bound=0.0)"
    assert repr(c.independent(c.real, 1)) == "IndependentConstraint(Real(), 1)"
    assert repr(c.integer_interval(0, 3)) == "IntegerInterval(lower_bound=0, upper_bound=3)"
    assert (c.real_vector.event_dim, c.simplex.event_dim, c.lower_cholesky.event_dim) == (1, 1, 2)
    assert c.boolean.is_discrete and not c.real.is_discrete
    assert c.is_dependent(c.dependent) and not c.is_dependent(c.real)
    assert c.is_dependent(D.Categorical.support)  # (a dependent property on the class)
    with pytest.raises(ValueError, match="dependent constraint"):
        c.dependent.check(_t(0.0))
    with pytest.raises(ValueError, match="value.dim\\(\\) >= 2"):
        c.independent(c.real, 2).check(_t([0.0]))
    assert repr(D.Uniform(0.0, 1.0).support) == "Interval(lower_bound=0.0, upper_bound=1.0)"


# -- register_kl -------------------------------------------------------------------------------


def test_register_kl_picks_the_most_specific_pair():
    class MyNormal(D.Normal):
        pass

    p, q = MyNormal(0.0, 1.0), D.Normal(1.0, 2.0)
    want = D.kl_divergence(D.Normal(0.0, 1.0), q)
    assert D.kl_divergence(p, q).item() == want.item()  # (the Normal pair, inherited)

    @D.register_kl(MyNormal, D.Normal)
    def _kl_mine(p, q):
        return tinyconv.tensor(-1.0)

    try:
        assert D.kl_divergence(p, q).item() == -1.0
        assert D.kl_divergence(q, p).item() != -1.0  # (the pair the other way is Normal's)
    finally:
        from tinyconv.distributions import kl

        del kl._KL_REGISTRY[MyNormal, D.Normal]
        kl._KL_MEMOIZE.clear()
    with pytest.raises(TypeError, match="Distribution subclass"):
        D.register_kl(int, D.Normal)


def test_gammainc():
    # P(1, x) = 1 - exp(-x); P(a, x) + Q(a, x) = 1; P(a + 1, x) = P(a, x) - x^a e^-x / a!
    x = np.array([0.01, 0.5, 2.0, 9.0, 40.0])
    P = tinyconv.special.gammainc(_t(np.ones(5)), _t(x)).numpy()
    assert P == pytest.approx(-np.expm1(-x), rel=1e-14)
    rng = np.random.default_rng(0)
    a, x = rng.random(50) * 300 + 0.01, rng.random(50) * 350
    P = tinyconv.special.gammainc(_t(a), _t(x)).numpy()
    Q = tinyconv.special.gammaincc(_t(a), _t(x)).numpy()
    assert np.allclose(P + Q, 1, rtol=0, atol=1e-13)
    a2 = np.array([2.5, 7.0, 30.0])
    x2 = np.array([1.0, 9.0, 25.0])
    Pa = tinyconv.special.gammainc(_t(a2), _t(x2)).numpy()
    Pa1 = tinyconv.special.gammainc(_t(a2 + 1), _t(x2)).numpy()
    step = np.exp(a2 * np.log(x2) - x2 - np.array([math.lgamma(v + 1) for v in a2]))
    assert Pa1 == pytest.approx(Pa - step, rel=1e-12)
    edges = tinyconv.special.gammainc(
        _t([0.0, 0.0, 2.0, 1.0, -1.0]), _t([0.0, 1.0, 0.0, math.inf, 1.0])
    )
    assert np.array_equal(edges.numpy(), [math.nan, 1.0, 0.0, 1.0, math.nan], equal_nan=True)
    # gradients: to x (broadcast against a), and none to a
    xs = _t([[0.5], [3.0]], True)
    assert gradcheck(lambda x: tinyconv.special.gammainc(_t([0.7, 2.0, 15.0]), x), (xs,), **TOL)
    assert gradcheck(lambda x: tinyconv.special.gammaincc(_t([0.7, 2.0]), x), (xs,), **TOL)
    y = tinyconv.special.gammainc(_t([2.0], True), _t([1.0]))
    with pytest.raises(NotImplementedError, match="igamma: input"):
        y.backward()
    with pytest.raises(TypeError, match="must be Tensor"):
        tinyconv.special.gammainc(_t([2.0]), 1.0)
    with pytest.raises(RuntimeError, match="not implemented for .*int64"):
        tinyconv.special.gammainc(tinyconv.tensor([2]), tinyconv.tensor([1]))


def test_binomial_draws_follow_the_law_and_the_seed():
    # Binomial.sample is NumPy's sampler seeded from the global stream (PyTorch's is internal):
    # integer counts in [0, n], the binomial mean and variance, and the same draws per seed
    n = _t([0.0, 1.0, 7.0, 40.0, 200.0])
    p = _t([0.3, 0.9, 0.5, 0.02, 0.7])
    d = D.Binomial(n, probs=p)
    tinyconv.manual_seed(3)
    x = d.sample((20000,))
    tinyconv.manual_seed(3)
    again = d.sample((20000,))
    assert np.array_equal(x.numpy(), again.numpy())
    assert x.shape == (20000, 5) and x.dtype == f64
    a = x.numpy()
    assert np.all(a == np.round(a)) and np.all(a >= 0) and np.all(a <= n.numpy())
    mean, var = d.mean.numpy(), d.variance.numpy()
    se = np.sqrt(var / a.shape[0]) + 1e-12
    assert np.all(np.abs(a.mean(0) - mean) < 5 * se)
    np.testing.assert_allclose(a.var(0), var, rtol=0.05, atol=1e-12)
    assert not np.array_equal(d.sample((20,)).numpy(), d.sample((20,)).numpy())  # (stream moves)


def test_transforms_invert_and_land_in_their_codomain():
    rng = np.random.default_rng(1)
    tr = D.transforms
    for t, x in [  # (LowerCholeskyTransform drops the upper part: a lower x)
        (tr.StickBreakingTransform(), rng.standard_normal((3, 4))),
        (tr.CorrCholeskyTransform(), rng.standard_normal((2, 6))),
        (tr.LowerCholeskyTransform(), np.tril(rng.standard_normal((2, 3, 3)))),
        (D.biject_to(constraints.interval(-1.0, 2.0)), rng.standard_normal(5)),
        (D.biject_to(constraints.stack([constraints.positive, constraints.real], -1)),
         rng.standard_normal((3, 2))),
    ]:  # fmt: skip
        x = _t(x)
        y = t(x)
        assert bool(t.codomain.check(y).all()), t
        np.testing.assert_allclose(t.inv(y).numpy(), x.numpy(), atol=1e-9)


def test_stick_breaking_log_det_is_the_jacobians():
    # log|det J| of R^K -> simplex (the first K coordinates) against the autograd Jacobian
    t = D.transforms.StickBreakingTransform()
    x = _t([0.3, -1.2, 0.8])
    jac = tinyconv.autograd.functional.jacobian(lambda v: t(v)[:-1], x).numpy()
    want = np.linalg.slogdet(jac)[1]
    np.testing.assert_allclose(t.log_abs_det_jacobian(x, t(x)).item(), want, rtol=1e-10)
