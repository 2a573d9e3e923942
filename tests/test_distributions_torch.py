"""tinyconv.distributions against torch.distributions 2.13: log_prob, entropy, cdf/icdf, KL,
means and matrices with their gradients (float32 and float64), the samples drawn from the
same seed (and the stream left in the same state), reprs, the errors (type and message), and
a REINFORCE training loop run in both libraries with only its imports changed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyconv

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

rng0 = np.random.default_rng(0)
LOC, SCALE = rng0.standard_normal(3), rng0.random(3) + 0.5
V = rng0.standard_normal((4, 3))
P = rng0.random((2, 4))
_A = rng0.standard_normal((3, 3))
COV = _A @ _A.T + 3 * np.eye(3)
MATRICES = {
    "covariance_matrix": COV,
    "scale_tril": np.linalg.cholesky(COV),
    "precision_matrix": np.linalg.inv(COV),
}


def _np(x):
    return x.detach().numpy()


def _run(program, dtype, seed=0):
    """program(T, D, mk) in both libraries from the same seed: (torch's, tinyconv's) outputs."""
    outs = []
    for T in (torch, tinyconv):

        def mk(a, grad=False, T=T):
            return T.tensor(np.asarray(a).astype(dtype), requires_grad=grad)

        T.manual_seed(seed)
        outs.append(program(T, T.distributions, mk))
    # the stream was consumed alike
    assert np.array_equal(torch.get_rng_state().numpy(), tinyconv.get_rng_state().numpy())
    return outs


def _same(want, got, rtol, exact=()):
    assert len(want) == len(got)
    for i, (w, g) in enumerate(zip(want, got, strict=True)):
        if isinstance(w, str):
            assert g.replace("tinyconv", "torch") == w, i
            continue
        assert tuple(g.shape) == tuple(w.shape), i
        assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1], i
        assert g.requires_grad == w.requires_grad, i
        if i in exact:
            assert np.array_equal(_np(g), _np(w)), i
        else:
            # (a float32 value in a float64 program, such as Gumbel(0.0, 1.0)'s samples: its
            # log's last bit depends on the library and the CPU's vector kernels)
            tol = rtol if _np(w).dtype != np.float32 else max(rtol, 1e-6)
            np.testing.assert_allclose(_np(g), _np(w), rtol=tol, atol=tol, err_msg=str(i))


def _normal(T, D, mk):
    loc, scale = mk(LOC, True), mk(SCALE, True)
    d = D.Normal(loc, scale)
    lp = d.log_prob(mk(V))
    (
        lp.sum() + d.entropy().sum() + d.cdf(mk(V)).sum() + d.icdf(mk([0.1, 0.5, 0.9])).sum()
    ).backward()
    x = d.rsample((6,))
    return (
        lp, d.entropy(), d.cdf(mk(V)), d.icdf(mk([0.1, 0.5, 0.9])), loc.grad, scale.grad,
        d.mean, d.mode, d.stddev, d.variance, d.sample((5,)), d.sample(), x,
        D.Normal(0.0, 1.0).sample((3,)), repr(d), repr(D.Normal(0.0, 2.0)),
    )  # fmt: skip


def _uniform(T, D, mk):
    lo, hi = mk(LOC, True), mk(LOC + SCALE, True)
    d = D.Uniform(lo, hi)
    x = d.rsample((4,))
    (x**2).sum().backward()
    return (
        x, lo.grad, hi.grad, d.log_prob(mk(LOC + 0.1)), d.log_prob(mk(LOC + SCALE)), d.entropy(),
        d.cdf(mk(LOC + 0.2)), d.icdf(mk([0.2, 0.3, 0.4])), d.mean, d.variance, d.stddev, d.mode,
        d.sample(), repr(d.support), repr(D.Uniform(0.0, 1.0).support),
    )  # fmt: skip


def _categorical(T, D, mk):
    lg = mk(np.log(P), True)
    d = D.Categorical(logits=lg)
    lp = d.log_prob(T.tensor([[0, 3], [1, 2], [3, 3]]))
    (lp.sum() + d.entropy().sum()).backward()
    p = mk(P, True)
    dp = D.Categorical(probs=p)
    (dp.log_prob(T.tensor([1, 2])).sum() + dp.entropy().sum()).backward()
    return (
        lp, d.entropy(), lg.grad, p.grad, d.sample((5,)), d.sample(), dp.sample((3, 2)), d.probs,
        d.logits, dp.logits, d.mode, d.mean, d.variance, d.enumerate_support(),
        d.enumerate_support(False), d.expand((3, 2)).sample(), repr(d), repr(dp), repr(d.support),
    )  # fmt: skip


def _bernoulli(T, D, mk):
    p = mk(P, True)
    d = D.Bernoulli(probs=p)
    lp = d.log_prob(mk(P > 0.5))
    (lp.sum() + d.entropy().sum()).backward()
    lg = mk(V, True)
    dl = D.Bernoulli(logits=lg)
    (dl.log_prob(mk(V > 0)).sum() + dl.entropy().sum()).backward()
    return (
        lp, d.entropy(), p.grad, lg.grad, d.sample((3,)), dl.sample(), d.logits, dl.probs,
        D.Bernoulli(mk([0.5, 0.7])).mode, d.variance, d.enumerate_support(), repr(d),
        repr(D.Bernoulli(0.3)), D.Bernoulli(0.3).sample((4,)),
    )  # fmt: skip


def _one_hot(T, D, mk):
    lg = mk(V, True)
    d = D.OneHotCategorical(logits=lg)
    s = d.sample((2,))
    lp = d.log_prob(s)
    (lp.sum() + d.entropy().sum()).backward()
    return (
        s, lp, d.entropy(), lg.grad, d.mode, d.mean, d.variance, d.probs,
        d.enumerate_support(), repr(d),
    )  # fmt: skip


def _independent(T, D, mk):
    loc = mk(V, True)
    d = D.Independent(D.Normal(loc, mk(SCALE)), 1)
    x = d.rsample((2,))
    lp = d.log_prob(x)
    (lp.sum() + d.entropy().sum()).backward()
    return (
        x, lp, d.entropy(), loc.grad, d.mean, d.variance, d.sample(), repr(d), repr(d.support),
        str(d.batch_shape), str(d.event_shape),
    )  # fmt: skip


def _mvn(kind):
    def program(T, D, mk):
        loc, m = mk(V, True), mk(MATRICES[kind], True)
        d = D.MultivariateNormal(loc, **{kind: m})
        x = d.rsample((2,))
        lp = d.log_prob(x.detach())
        (lp.sum() + d.entropy().sum() + x.sum()).backward()
        return (
            x, lp, d.entropy(), loc.grad, m.grad, d.scale_tril, d.covariance_matrix,
            d.precision_matrix, d.variance, d.sample((3,)), repr(d), str(d.batch_shape),
        )  # fmt: skip

    return program


def _kl(T, D, mk):
    a, b = mk(V, True), mk(V[::-1].copy(), True)
    s, s2 = mk(SCALE), mk(SCALE[::-1].copy())
    out = [
        D.kl_divergence(D.Normal(a, s), D.Normal(b, s2)),
        D.kl_divergence(D.Categorical(logits=a), D.Categorical(logits=b)),
        D.kl_divergence(D.OneHotCategorical(logits=a), D.OneHotCategorical(logits=b)),
        D.kl_divergence(D.Bernoulli(logits=a), D.Bernoulli(logits=b)),
        D.kl_divergence(D.Independent(D.Normal(a, 1.0), 1), D.Independent(D.Normal(b, 2.0), 1)),
        D.kl_divergence(D.Uniform(a, a + 2), D.Uniform(a - 1, a + 3)),
        D.kl_divergence(D.Uniform(a, a + 2), D.Uniform(a + 1, a + 3)),  # (infinite)
        D.kl_divergence(D.Uniform(a, a + 2), D.Normal(b, 2.0)),
        D.kl_divergence(
            D.MultivariateNormal(a, mk(COV)), D.MultivariateNormal(b, scale_tril=mk(2 * np.eye(3)))
        ),
        D.kl_divergence(
            D.Categorical(probs=mk([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])),
            D.Categorical(probs=mk([[0.5, 0.25, 0.25], [0.0, 0.5, 0.5]])),
        ),
        D.kl_divergence(
            D.Bernoulli(probs=mk([0.0, 1.0, 0.5])), D.Bernoulli(probs=mk([0.0, 0.3, 1.0]))
        ),
    ]  # fmt: skip
    sum(o[~o.isinf()].sum() for o in out).backward()
    return (*out, a.grad, b.grad)


C2, R2 = rng0.random((2, 3)) * 2 + 0.3, rng0.random((2, 3)) + 0.5
X2 = rng0.random((4, 2, 3)) * 0.9 + 0.05


def _gamma(T, D, mk):
    c, r = mk(C2, True), mk(R2, True)
    d = D.Gamma(c, r)
    lp = d.log_prob(mk(X2 * 3))
    (lp.sum() + d.entropy().sum()).backward()
    cdf = D.Gamma(mk(C2), r).cdf(mk(X2 * 3))
    rate = mk(R2, True)
    x = D.Gamma(mk(C2), rate).rsample((3,))
    x.sum().backward()  # (the rate's gradient; the concentration's raises, see the README)
    return (
        lp, d.entropy(), c.grad, r.grad, d.mean, d.mode, d.variance, d.stddev, d.sample((5,)),
        x, rate.grad, D.Gamma(2.0, 3.0).sample((2,)), repr(d), repr(D.Gamma(0.5, 1.0)), cdf,
    )  # fmt: skip


def _beta(T, D, mk):
    a, b = mk(C2, True), mk(R2, True)
    d = D.Beta(a, b)
    lp = d.log_prob(mk(X2))
    (lp.sum() + d.entropy().sum()).backward()
    return (
        lp, d.entropy(), a.grad, b.grad, d.mean, d.mode, d.variance, d.sample((5,)),
        d.concentration1, d.concentration0, D.Beta(2.0, 3.0).sample((2,)), repr(d),
    )  # fmt: skip


def _dirichlet(T, D, mk):
    c = mk(C2, True)
    d = D.Dirichlet(c)
    lp = d.log_prob(mk(X2[0] / X2[0].sum(-1, keepdims=True)))
    (lp.sum() + d.entropy().sum()).backward()
    a, b = mk(C2, True), mk(R2, True)
    kls = [
        D.kl_divergence(D.Gamma(a, b), D.Gamma(b, a)),
        D.kl_divergence(D.Beta(a, b), D.Beta(b, a)),
        D.kl_divergence(D.Dirichlet(a), D.Dirichlet(b)),
    ]
    sum(k.sum() for k in kls).backward()
    return (
        lp, d.entropy(), c.grad, d.mean, d.mode, d.variance, d.sample((5,)), d.sample(), repr(d),
        D.Dirichlet(mk([[0.5, 0.3, 0.9], [2.0, 3.0, 0.5]])).mode, *kls, a.grad, b.grad,
    )  # fmt: skip


def _exponential_laplace(T, D, mk):
    r, loc = mk(R2, True), mk(C2 - 1, True)
    e, la = D.Exponential(r), D.Laplace(loc, r)
    x, y = e.rsample((3,)), la.rsample((3,))
    lp = e.log_prob(mk(X2)) + la.log_prob(mk(X2 - 0.5))
    cdfs = e.cdf(mk(X2)) + la.cdf(mk(X2 - 0.5))
    (lp.sum() + cdfs.sum() + x.sum() + y.sum() + e.entropy().sum() + la.entropy().sum()).backward()
    kl = __import__(D.__name__ + ".kl", fromlist=["kl"])
    generic = [  # (the Bregman divergence, applied directly: specific pairs take precedence)
        kl._kl_expfamily_expfamily(D.Beta(r, loc.detach() + 2), D.Beta(loc.detach() + 2, r)),
        kl._kl_expfamily_expfamily(D.Dirichlet(r), D.Dirichlet(r.flip(0))),
        kl._kl_expfamily_expfamily(D.Normal(loc, r), D.Normal(r, r)),
        D.ExponentialFamily.entropy(D.Gamma(r, r)),
        D.ExponentialFamily.entropy(D.Bernoulli(r / 2)),
    ]
    return (
        x, y, lp, cdfs, r.grad, loc.grad, e.icdf(mk(X2 / 3)), la.icdf(mk(X2 / 3)), e.mean,
        e.mode, e.variance, la.variance, la.stddev, e.sample((4,)), la.sample((4,)),
        D.kl_divergence(e, D.Exponential(loc.abs() + 0.5)), D.kl_divergence(la, D.Laplace(r, r)),
        *generic, repr(e), repr(la), str(isinstance(e, D.ExponentialFamily)),
    )  # fmt: skip


def _mixture(T, D, mk):
    # a mixture density network's head: weights (B, k), Normal components (B, k); and a
    # mixture of vector Independents with one weight vector for the whole batch
    pi, mu, sd = (
        mk(P[:, :3] / P[:, :3].sum(1, keepdims=True), True),
        mk(V[:2], True),
        mk(P[:, 1:] + 0.5, True),
    )
    m = D.MixtureSameFamily(D.Categorical(probs=pi), D.Normal(mu, sd))
    lp = m.log_prob(mk(V[:, :2]))
    (lp.sum() + m.mean.sum() + m.variance.sum() + m.cdf(mk(V[0, :2])).sum()).backward()
    m2 = D.MixtureSameFamily(
        D.Categorical(logits=mk(LOC)),
        D.Independent(D.Normal(mk(V[:3]), mk(SCALE[:, None] + V[:3] ** 2)), 1),
    )
    x2 = m2.sample((4,))
    return (
        lp, pi.grad, mu.grad, sd.grad, m.mean, m.variance, m.sample((5,)), m.sample(), x2,
        m2.log_prob(x2), m2.mean, m2.variance, m.expand((3, 2)).sample(), repr(m2),
        str([tuple(d.batch_shape) + (-1,) + tuple(d.event_shape) for d in (m, m2)]),
    )  # fmt: skip


def _transformed(T, D, mk):
    # a flow step (an affine map with event_dim=1 on a diagonal Gaussian), a tanh-squashed
    # Gaussian policy (SAC), a log-normal by ExpTransform, and the transforms on their own
    tr = D.transforms
    loc, log_scale = mk(LOC[:2], True), mk(SCALE[:2] - 1, True)
    base = D.Independent(D.Normal(mk(np.zeros(2)), mk(np.ones(2))), 1)
    flow = D.TransformedDistribution(base, [tr.AffineTransform(loc, log_scale.exp(), event_dim=1)])
    lp = flow.log_prob(mk(V[:, :2]))
    mu = mk(V, True)
    policy = D.TransformedDistribution(
        D.Normal(mu, mk(P[0, :3] + 0.2)), [tr.TanhTransform(cache_size=1)]
    )
    a = policy.rsample()
    lpa = policy.log_prob(a).sum(-1)
    (lp.sum() + lpa.sum()).backward()
    z = mk(LOC)
    parts = [tr.AffineTransform(1.0, -2.0), tr.ExpTransform(), tr.PowerTransform(0.5)]
    c = tr.ComposeTransform(parts)
    lognormal = D.TransformedDistribution(D.Normal(mk([0.5]), mk([1.5])), tr.ExpTransform())
    flipped = D.TransformedDistribution(D.Normal(mk(0.0), mk(1.0)), [tr.AffineTransform(0.0, -2.0)])
    each = [t(z) for t in (tr.SigmoidTransform(), tr.SoftplusTransform(), tr.TanhTransform())]
    each += [
        t.log_abs_det_jacobian(z, t(z))
        for t in (tr.SigmoidTransform(), tr.SoftplusTransform(), tr.TanhTransform())
    ]
    each += [t.inv(t(z)) for t in (tr.SigmoidTransform(), tr.SoftplusTransform())]
    return (
        lp, loc.grad, log_scale.grad, flow.sample((3,)), a, lpa, mu.grad, c(z.abs()),
        c.inv(c(z.abs())), c.log_abs_det_jacobian(z.abs(), c(z.abs())), *each,
        lognormal.log_prob(mk([0.7, 2.0])), lognormal.cdf(mk([0.7, 2.0])),
        lognormal.icdf(mk([0.3])),
        lognormal.sample((2,)), flipped.cdf(mk([0.5])), flipped.expand((3,)).sample(),
        repr(c), repr(c.inv), repr(policy.support), repr(flow.support),
        str([tuple(d.batch_shape) + (-1,) + tuple(d.event_shape) for d in (flow, policy)]),
    )  # fmt: skip


PROGRAMS = {
    "transformed": (_transformed, ()),
    "mixture": (_mixture, ()),  # (Normal samples: within the last ulp, as "normal")
    "normal": (_normal, (10, 11)),  # (Normal.sample: exact but for rare last-ulp differences)
    "uniform": (_uniform, (0, 12)),
    "categorical": (_categorical, (4, 5, 6, 13, 14, 15)),
    "bernoulli": (_bernoulli, (4, 5, 13)),
    "one_hot": (_one_hot, (0,)),
    "independent": (_independent, ()),
    "kl": (_kl, ()),
    "gamma": (_gamma, (8, 11)),
    "beta": (_beta, (7, 10)),
    "dirichlet": (_dirichlet, (6, 7)),
    "exponential laplace": (_exponential_laplace, (13,)),  # (Laplace: log1p's last bit)
    **{f"mvn {k}": (_mvn(k), ()) for k in MATRICES},
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_values_gradients_and_samples_match_torch(name, dtype):
    program, exact = PROGRAMS[name]
    want, got = _run(program, dtype)
    rtol = 1e-5 if dtype == "float32" else 1e-10
    if name.startswith("mvn"):
        rtol = 1e-4 if dtype == "float32" else 1e-9  # (LAPACK's Cholesky vs NumPy's)
    if name in ("gamma", "beta", "dirichlet") and dtype == "float64":
        rtol = 1e-8  # (lgamma/digamma sums that cancel: tinyconv's last digits are its own)
    _same(want, got, rtol, exact=exact if name != "normal" or dtype == "float64" else ())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_samples_match_torch_over_shapes(seed):
    # shapes of 16 and more take torch.normal's vectorised path, fewer its scalar one
    for shape in [(3,), (20,), (4, 5), (2, 3, 4)]:
        rng = np.random.default_rng(seed)
        loc, scale, p = rng.standard_normal(shape), rng.random(shape) + 0.1, rng.random(shape)

        def program(T, D, mk, loc=loc, scale=scale, p=p):
            return (
                D.Normal(mk(loc), mk(scale)).sample((2,)),
                D.Normal(mk(loc), mk(scale)).rsample(),
                D.Bernoulli(probs=mk(p)).sample((3,)),
                D.Categorical(probs=mk(p)).sample((7,)),
                D.Uniform(mk(loc), mk(loc + scale)).sample((2,)),
            )

        for dtype in ("float32", "float64"):
            want, got = _run(program, dtype, seed)
            _same(want, got, 1e-6, exact=(2, 3, 4))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gamma_draws_are_pytorchs_bit_for_bit(dtype):
    # alphas below 1 (boosted), near 0, large; a normal left cached by randn(3) is used first
    rng = np.random.default_rng(1)
    alpha = np.concatenate([rng.random(300) * 0.2, rng.random(300) * 50, [1e-3, 1e-5, 0.0]])

    def program(T, D, mk):
        first = T.randn(3, dtype=getattr(T, dtype))
        return (
            first,
            T.distributions.Gamma(mk(alpha), 1.0, validate_args=False).sample(),  # (alpha 0)
            T.randn(3, dtype=getattr(T, dtype)),
            T.distributions.Dirichlet(mk(alpha[:12].reshape(3, 4) + 0.1)).sample((2,)),
            # (tiny concentrations: draws of 0 and 1, which both keep inside (0, 1))
            T.distributions.Dirichlet(mk([[0.005, 3.0], [0.01, 0.01]])).sample((200,)),
        )

    want, got = _run(program, dtype)
    _same(want, got, 0, exact=(0, 1, 2, 3, 4))


ERRORS = [
    "D.Normal(0., -1.)",
    "D.Normal(T.zeros(2), T.tensor([1., -1]))",
    "D.Normal(T.zeros(1), T.tensor([-1.]))",
    "D.Bernoulli(probs=T.tensor([0.3, 0.2])).log_prob(T.tensor([0.5, 1.]))",
    "D.Categorical(T.tensor([0.3, 0.7])).log_prob(T.tensor(2))",
    "D.Normal(T.zeros(2), 1.).log_prob(T.zeros(3))",
    "D.Uniform(1., 0.)",
    "D.Uniform(0., 1.).log_prob(T.tensor(2.))",
    "D.Categorical(probs=T.tensor([0.5, .5]), logits=T.zeros(2))",
    "D.Categorical(T.tensor(1.))",
    "D.Categorical(T.tensor([-1., 2]))",
    "D.Normal(T.zeros(2), 1.).log_prob([0., 0.])",
    "D.MultivariateNormal(T.zeros(2))",
    "D.MultivariateNormal(T.tensor(0.), T.eye(2))",
    "D.MultivariateNormal(T.zeros(2), scale_tril=T.ones(2, 2))",
    "D.MultivariateNormal(T.zeros(2), T.tensor([[1., 2], [2, 1]]))",
    "D.MultivariateNormal(T.zeros(2), T.eye(2)).log_prob(T.zeros(3))",
    "D.OneHotCategorical(T.ones(3)).log_prob(T.tensor([1., 1., 0.]))",
    "D.Independent(D.Normal(0., 1.), 1)",
    "D.Categorical(T.ones(3)).rsample()",
    "D.Normal(0., 1.).enumerate_support()",
    "D.Independent(D.Bernoulli(T.ones(2) / 2), 1).enumerate_support()",
    "D.kl_divergence(D.Normal(0., 1.), D.Categorical(T.ones(2)))",
    "D.Normal(T.tensor(float('nan')), 1.)",
    "D.Bernoulli(T.tensor(1.5))",
    "D.Gamma(-1., 1.)",
    "D.Exponential(T.tensor([1., 0.]))",
    "D.Exponential(1.).log_prob(T.tensor(-1.))",
    "D.Laplace(0., -1.)",
    "D.kl_divergence(D.Bernoulli(0.3), D.Exponential(1.))",
    "D.Gamma(T.ones(2), 0.)",
    "D.Beta(T.ones(2), T.tensor([1., -1.]))",
    "D.Dirichlet(T.tensor(1.))",
    "D.Gamma(1., 1.).log_prob(T.tensor(-1.))",
    "D.Beta(1., 2.).log_prob(T.tensor(1.5))",
    "D.Dirichlet(T.ones(3)).log_prob(T.tensor([0.5, 0.6, 0.]))",
    "D.StudentT(-1.)",
    "D.Cauchy(0., 0.)",
    "D.HalfCauchy(1.).log_prob(T.tensor(-1.))",
    "D.Gumbel(0., -1.)",
    "D.Weibull(1., 0.)",
    "D.Pareto(1., 2.).log_prob(T.tensor(0.5))",
    "D.Binomial(10)",
    "D.Binomial(T.tensor([2., 2.5]), T.tensor([0.5, 0.5]))",
    "D.Binomial(3, T.tensor(0.5)).log_prob(T.tensor(4.))",
    "D.Multinomial(2.5, T.ones(3))",
    "D.Multinomial(2, T.ones(3) / 3).log_prob(T.tensor([1., 1., 1.]))",
    "D.NegativeBinomial(-1., T.tensor(0.5))",
    "D.NegativeBinomial(2., T.tensor(1.))",
    "D.RelaxedBernoulli(T.tensor(0.5))",
    "D.RelaxedOneHotCategorical(T.tensor(0.5), T.tensor([0.5, -0.5]))",
    "D.ContinuousBernoulli(T.tensor(1.5), validate_args=True)",
    "D.ContinuousBernoulli(logits=T.tensor(1.)).log_prob(T.tensor(1.5))",
    "D.Kumaraswamy(1., -1.)",
    "D.FisherSnedecor(T.ones(2), 0.)",
    "D.InverseGamma(1., -1.)",
    "D.GeneralizedPareto(0., -1., 0.)",
    "D.VonMises(0., -1.)",
    "D.LogisticNormal(0., -1.)",
    "D.LowRankMultivariateNormal(T.tensor(0.), T.ones(2, 1), T.ones(2))",
    "D.LowRankMultivariateNormal(T.zeros(3), T.ones(3), T.ones(3))",
    "D.LowRankMultivariateNormal(T.zeros(3), T.ones(2, 1), T.ones(3))",
    "D.LowRankMultivariateNormal(T.zeros(3), T.ones(3, 1), T.ones(2))",
    "D.LowRankMultivariateNormal(T.zeros(2, 3), T.ones(3, 3, 1), T.ones(3))",
    "D.kl_divergence(D.Binomial(2, T.tensor(0.5)), D.Binomial(3, T.tensor(0.5)))",
    "D.Binomial(T.tensor([2., 3.]), T.tensor([0.5, 0.5])).entropy()",
    "D.transforms.ReshapeTransform((2, 3), (4,))",
    "D.transforms.ReshapeTransform((2, 3), (6,)).forward_shape((3, 2))",
    "D.transforms.CorrCholeskyTransform().forward_shape((4,))",
    "D.transforms.StickBreakingTransform().forward_shape(())",
    "D.biject_to(D.constraints.lower_cholesky)",
    "D.biject_to(D.constraints.positive_definite)",
    "D.transform_to(D.constraints.boolean)",
    "D.constraint_registry.ConstraintRegistry().register(3, print)",
]


@pytest.mark.parametrize("code", ERRORS)
def test_errors_match_torch(code):
    got = []
    for T in (torch, tinyconv):
        with pytest.raises(Exception) as err:
            eval(code, {"T": T, "D": T.distributions})
        got.append((type(err.value).__name__, str(err.value).replace("tinyconv", "torch")))
    want, mine = got
    assert mine[0] == want[0]
    if want[0] == "ValueError":  # (NotImplementedError's messages are free text)
        assert mine[1] == want[1]


REINFORCE = """
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical, Normal, kl_divergence

torch.manual_seed(0)
policy = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
critic = nn.Linear(4, 1)
mu_head = nn.Linear(4, 1)
log_std = nn.Parameter(torch.zeros(1))
params = [*policy.parameters(), *critic.parameters(), *mu_head.parameters(), log_std]
optimizer = optim.Adam(params, lr=1e-2)
states = torch.randn(6, 5, 4)  # 6 episodes of 5 steps
actions = []
for episode in range(6):
    log_probs, values, rewards, entropies = [], [], [], []
    for state in states[episode]:
        dist = Categorical(logits=policy(state))
        action = dist.sample()
        actions.append(action.item())
        cont = Normal(mu_head(state), log_std.exp())
        a = cont.rsample()
        log_probs.append(dist.log_prob(action) + cont.log_prob(a.detach()).sum())
        entropies.append(dist.entropy() + cont.entropy().sum())
        values.append(critic(state).squeeze())
        rewards.append((1.0 if action.item() == int(state[0] > 0) else 0.0) - float(a.item()) ** 2)
    returns, R = [], 0.0
    for r in reversed(rewards):
        R = r + 0.99 * R
        returns.insert(0, R)
    returns = torch.tensor(returns)
    returns = (returns - returns.mean()) / (returns.std() + 1e-8)
    values = torch.stack(values)
    advantage = returns - values.detach()
    old = Categorical(logits=policy(states[episode]).detach())
    new = Categorical(logits=policy(states[episode]))
    kl = kl_divergence(old, new).mean()
    loss = (
        -(torch.stack(log_probs) * advantage).sum()
        + F.mse_loss(values, returns)
        - 0.01 * torch.stack(entropies).sum()
        + kl
    )
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""


def test_reinforce_loop_runs_the_same_with_only_imports_changed():
    ours = (
        REINFORCE.replace("import torch.nn as", "import tinyconv.nn as")
        .replace("import torch.nn.functional as", "import tinyconv.nn.functional as")
        .replace("import torch.optim as", "import tinyconv.optim as")
        .replace("from torch.distributions import", "from tinyconv.distributions import")
        .replace("import torch\n", "import tinyconv as torch\n")
    )
    assert ours.count("tinyconv") == 5
    want, got = {}, {}
    exec(REINFORCE, want)
    exec(ours, got)
    assert got["actions"] == want["actions"]
    assert len(got["params"]) == len(want["params"]) == 9
    for g, w in zip(got["params"], want["params"], strict=True):
        np.testing.assert_allclose(_np(g), _np(w), rtol=1e-4, atol=1e-5)
    assert abs(got["loss"].item() - want["loss"].item()) < 1e-4


def _family(name, batch, rng):
    """(constructor(T, mk), value-free description) of a distribution with batch `batch`."""
    k = 3
    arrays = {
        "normal": (rng.standard_normal(batch), rng.random(batch) + 0.5),
        "uniform": (rng.standard_normal(batch), rng.random(batch) + 0.5),
        "bernoulli": (rng.random(batch),),
        "categorical": (rng.random(batch + (k,)) + 0.05,),
        "one_hot": (rng.standard_normal(batch + (k,)),),
        "mvn": (rng.standard_normal(batch + (2,)), rng.standard_normal(batch + (2, 2))),
        "gamma": (rng.random(batch) * 3 + 0.05, rng.random(batch) + 0.5),
        "beta": (rng.random(batch) * 3 + 0.05, rng.random(batch) * 3 + 0.05),
        "dirichlet": (rng.random(batch + (k,)) * 3 + 0.05,),
        "exponential": (rng.random(batch) + 0.1,),
        "laplace": (rng.standard_normal(batch), rng.random(batch) + 0.5),
    }[name]

    def make(T, mk):
        D = T.distributions
        a = [mk(x) for x in arrays]
        if name == "normal":
            return D.Normal(*a)
        if name == "uniform":
            return D.Uniform(a[0], a[0] + a[1])
        if name == "bernoulli":
            return D.Bernoulli(probs=a[0])
        if name == "categorical":
            return D.Categorical(probs=a[0])
        if name == "one_hot":
            return D.OneHotCategorical(logits=a[0])
        if name == "mvn":
            m = a[1]
            return D.MultivariateNormal(a[0], m.matmul(m.mT) + 2 * T.eye(2, dtype=m.dtype))
        if name == "gamma":
            return D.Gamma(*a)
        if name == "beta":
            return D.Beta(*a)
        if name == "exponential":
            return D.Exponential(*a)
        if name == "laplace":
            return D.Laplace(*a)
        return D.Dirichlet(a[0])

    return make


@settings(max_examples=20)
@given(
    name=st.sampled_from(
        ["normal", "uniform", "bernoulli", "categorical", "one_hot", "mvn", "gamma", "beta"]
        + ["dirichlet", "exponential", "laplace"]
    ),
    batch=st.lists(st.integers(1, 3), max_size=2).map(tuple),
    sample=st.lists(st.integers(1, 5), max_size=2).map(tuple),
    dtype=st.sampled_from(["float32", "float64"]),
    seed=st.integers(0, 2**16),
)
def test_samples_and_log_probs_match_torch_over_shapes(name, batch, sample, dtype, seed):
    make = _family(name, batch, np.random.default_rng(seed))

    def program(T, D, mk):
        d = make(T, mk)
        x = d.sample(sample)
        return x, d.log_prob(x), d.entropy()

    want, got = _run(program, dtype, seed)
    # the draws: the same numbers (Normal/MVN through float transforms, to rounding)
    exact = () if name in ("normal", "mvn", "laplace") else (0,)
    _same(want, got, 1e-4 if dtype == "float32" else 1e-8, exact=exact)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gammainc_matches_torch(dtype):
    rng = np.random.default_rng(3)
    a = np.concatenate([rng.random(100) * 5, rng.random(30) * 60, [0.0, 0.0, 2.0, 1.0, -1.0]])
    x = np.concatenate([rng.random(100) * 8, rng.random(30) * 80, [0.0, 1.0, 0.0, np.inf, 1.0]])
    out = []
    for T in (torch, tinyconv):
        xs = T.tensor(x[:-5].astype(dtype), requires_grad=True)
        ta, tx = T.tensor(a.astype(dtype)), T.tensor(x.astype(dtype))
        P, Q = T.special.gammainc(ta, tx), T.special.gammaincc(ta, tx)
        g = T.autograd.grad(
            (T.special.gammainc(ta[:-5], xs) - 2 * T.special.gammaincc(ta[:-5], xs)).sum(), xs
        )[0]
        out.append([P, Q, g, P.grad_fn, T.special.gammainc(ta[:3], xs[:3]).grad_fn.name()])
    (P, Q, g, _, name), (cP, cQ, cg, none, cname) = out
    assert none is None and cname == name == "IgammaBackward0"
    # (PyTorch's float32 kernel runs in float32; its float64 one is ~1e-9 off for large a)
    rtol = 1e-4 if dtype == "float32" else 1e-8
    for w, c in ((P, cP), (Q, cQ), (g, cg)):
        assert c.dtype == getattr(tinyconv, dtype)
        np.testing.assert_allclose(c.detach().numpy(), w.detach().numpy(), rtol=rtol, atol=1e-7)


# --- the distributions added after the first set (StudentT ... LowRankMultivariateNormal) ---

DF = np.array([0.7, 1.5, 2.5, 6.0])  # (each of StudentT's mean/variance cases)
XS = rng0.standard_normal((3, 4)) * 2
U4 = np.array([0.05, 0.3, 0.6, 0.95])


def _student_t_cauchy(T, D, mk):
    df, loc, scale = mk(DF, True), mk(XS[0], True), mk(SCALE.tolist() + [0.8], True)
    t = D.StudentT(df, loc, scale)
    c = D.Cauchy(loc, scale)
    h = D.HalfCauchy(scale)
    lp = t.log_prob(mk(XS)) + c.log_prob(mk(XS)) + h.log_prob(mk(np.abs(XS)))
    ents = t.entropy() + c.entropy() + h.entropy()
    cdfs = c.cdf(mk(XS)) + h.cdf(mk(np.abs(XS))) + c.icdf(mk(U4)) + h.icdf(mk(U4))
    (lp.sum() + ents.sum() + cdfs.sum()).backward()
    loc2, scale2 = mk(XS[0], True), mk(SCALE.tolist() + [0.8], True)
    x = D.StudentT(mk(DF), loc2, scale2).rsample((3,))  # (df's gradient raises, as Gamma's)
    y = D.Cauchy(loc2, scale2).rsample((2,))
    z = D.HalfCauchy(scale2).rsample((2,))
    (x.sum() + y.sum() + z.sum()).backward()
    return (
        lp, ents, cdfs, df.grad, loc.grad, scale.grad, x, y, z, loc2.grad, scale2.grad,
        t.mean, t.mode, t.variance, c.mean, c.variance, h.mean, h.mode, h.variance,
        t.sample((2,)), c.sample(), h.sample((2,)), D.StudentT(3.0).sample((3,)),
        t.expand((2, 4)).sample(), repr(t), repr(c), repr(h), repr(h.support),
    )  # fmt: skip


def _gumbel_weibull_pareto(T, D, mk):
    loc, scale, k = mk(XS[0], True), mk(DF, True), mk(DF[::-1] + 0.5, True)
    g, w, p = D.Gumbel(loc, scale), D.Weibull(scale, k), D.Pareto(scale, k)
    xp = mk(np.abs(XS) + DF)
    lp = g.log_prob(mk(XS)) + w.log_prob(mk(np.abs(XS))) + p.log_prob(xp)
    ents = g.entropy() + w.entropy() + p.entropy()
    xg = mk(XS[0] + DF * np.array([[-1.0], [0.5], [2.0]]))  # (z = -1, 0.5, 2: no underflow)
    cdfs = g.cdf(xg) + w.cdf(mk(np.abs(XS))) + p.cdf(xp)
    icdfs = g.icdf(mk(U4)) + w.icdf(mk(U4)) + p.icdf(mk(U4))
    moments = [d.mean + d.variance + d.mode for d in (g, w, p)]
    x = g.rsample((2,)) + w.rsample((2,)) + p.rsample((2,))
    (
        lp.sum() + ents.sum() + cdfs.sum() + icdfs.sum() + sum(m.sum() for m in moments) + x.sum()
    ).backward()
    kls = [
        D.kl_divergence(g, D.Gumbel(scale, loc.abs() + 0.5)),
        D.kl_divergence(p, D.Pareto(scale * 0.5, k + 1)),
        D.kl_divergence(p, D.Pareto(scale * 2, k)),  # (inf: p's support is not inside q's)
    ]
    return (
        lp, ents, cdfs, icdfs, *moments, x, loc.grad, scale.grad, k.grad, g.stddev,
        g.sample((3,)), w.sample(), p.sample((2,)), D.Gumbel(0.0, 1.0).sample((3,)),
        D.Weibull(1.0, 2.0).sample((2,)), D.Pareto(mk(1.0), mk(3.0)).sample((2,)),
        g.expand((2, 4)).sample(), w.expand((2, 4)).sample(), p.expand((2, 4)).sample(),
        *kls, repr(g), repr(w), repr(p), repr(p.support),
    )  # fmt: skip


COUNTS = np.array([[1.0, 0.0, 4.0], [2.0, 2.0, 1.0]])


def _counts(T, D, mk):
    p3, lg = mk(P[0, :3], True), mk(XS[0, :3], True)
    b = D.Binomial(mk([5.0, 5.0, 5.0]), probs=p3)
    bl = D.Binomial(5, logits=lg)
    m = D.Multinomial(5, probs=p3)
    ml = D.Multinomial(5, logits=lg)
    nb = D.NegativeBinomial(mk([2.0, 3.5, 0.5]), probs=p3)
    nbl = D.NegativeBinomial(mk([2.0, 3.5, 0.5]), logits=lg)
    k = mk(COUNTS)
    lps = [
        b.log_prob(k), bl.log_prob(k), m.log_prob(k), ml.log_prob(k), nb.log_prob(k),
        nbl.log_prob(k * 3), b.entropy(), bl.entropy(), m.entropy(), ml.entropy(),
    ]  # fmt: skip
    sum(x.sum() for x in lps).backward()
    kl = D.kl_divergence(b, D.Binomial(5, probs=mk([0.2, 0.5, 0.7])))
    return (
        *lps, p3.grad, lg.grad, kl, b.mean, b.mode, b.variance, m.mean, m.variance, nb.mean,
        nb.mode, nb.variance, nbl.mean, b.enumerate_support(), b.enumerate_support(False),
        m.sample((4,)), ml.sample(), nb.sample((3,)), nbl.sample(), m.expand((2, 3)).sample(),
        repr(b), repr(m), repr(nb), repr(b.support), repr(m.support),
    )  # fmt: skip


def _relaxed(T, D, mk):
    temp, lg, p = mk(0.7, True), mk(V, True), mk(P, True)
    rb = D.RelaxedBernoulli(temp, logits=lg)
    rc = D.RelaxedOneHotCategorical(temp, probs=p)
    st = D.OneHotCategoricalStraightThrough(logits=lg)
    x, y, s = rb.rsample((2,)), rc.rsample((3,)), st.rsample((2,))
    lp = rb.log_prob(x) + D.RelaxedBernoulli(temp, probs=mk(P[0, :3])).log_prob(mk(X2[0, 0]))
    lq = rc.log_prob(y)
    w = mk(np.arange(12.0).reshape(4, 3))
    (lp.sum() + lq.sum() + (x * x).sum() + (y * y).sum() + (s * w).sum()).backward()
    return (
        x, y, s, lp, lq, temp.grad, lg.grad, p.grad, rb.sample(), rc.sample((2,)), st.sample(),
        rb.probs, rc.logits, rb.expand((2, 4, 3)).sample(), rc.expand((3, 2)).sample(),
        repr(rb.support), repr(rc.support), str(st.has_rsample),
    )  # fmt: skip


PROBS_CB = np.array([0.1, 0.4995, 0.5, 0.7, 0.95])


def _continuous_bernoulli(T, D, mk):
    p, lg = mk(PROBS_CB, True), mk([-3.0, 0.0, 0.001, 2.0, 9.0], True)
    d, dl = D.ContinuousBernoulli(probs=p), D.ContinuousBernoulli(logits=lg)
    xv = mk([0.2, 0.5, 0.0, 0.9, 1.0])
    outs = [
        d.log_prob(xv), dl.log_prob(xv), d.cdf(xv), dl.cdf(xv), d.icdf(mk(U4[:1])), d.entropy(),
        dl.entropy(), d.mean, dl.mean, d.variance, dl.variance, d.stddev,
    ]  # fmt: skip
    x = d.rsample((2,))
    (sum(o.sum() for o in outs) + x.sum()).backward()
    kls = [
        D.kl_divergence(d, dl),
        D.kl_divergence(d, D.Normal(mk(0.3), mk(2.0))),
        D.kl_divergence(d, D.Uniform(mk(-1.0), mk(2.0))),
        D.kl_divergence(d, D.Exponential(mk(1.5))),
    ]
    return (*outs, x, p.grad, lg.grad, d.sample((2,)), *kls, repr(d), repr(dl))


def _kumaraswamy_fisher_invgamma(T, D, mk):
    a, b = mk(C2, True), mk(R2, True)
    k = D.Kumaraswamy(a, b)
    f = D.FisherSnedecor(a * 4, b * 6)
    ig = D.InverseGamma(a, b)
    x = mk(X2)
    lps = [k.log_prob(x), f.log_prob(x * 2), ig.log_prob(x)]
    rest = [
        k.entropy(), ig.entropy(), k.mean, k.variance, ig.mean, ig.mode, ig.variance, f.mean,
        f.variance, k.cdf(x), k.icdf(x),
    ]  # fmt: skip
    xs = k.rsample((2,))
    (sum(o.sum() for o in lps + rest) + xs.sum()).backward()
    b2 = mk(R2, True)
    y = D.InverseGamma(mk(C2), b2).rsample((2,))  # (the rate's gradient)
    y.sum().backward()
    return (
        *lps, *rest, xs, a.grad, b.grad, y, b2.grad, k.mode, f.mode, k.sample((2,)),
        f.sample((2,)), ig.sample(), D.FisherSnedecor(mk(3.0), mk(5.0)).rsample((2,)),
        repr(k), repr(f), repr(ig),
    )  # fmt: skip


def _generalized_pareto(T, D, mk):
    # (float32 only: PyTorch's GeneralizedPareto.log_prob raises for float64 parameters)
    loc, b, c = mk(-R2, True), mk(R2, True), mk([[0.0, 0.3, -0.2], [0.5, 1e-9, -0.4]], True)
    gp = D.GeneralizedPareto(loc, b, c)
    x = mk(X2 * 0.5)
    outs = [
        gp.log_prob(x), gp.entropy(), gp.cdf(x), gp.icdf(mk(X2)), gp.log_survival_function(x),
        gp.mean, gp.variance, gp.rsample((2,)),
    ]  # fmt: skip
    sum(o.sum() for o in outs).backward()
    return (
        *outs, loc.grad, b.grad, c.grad, gp.sample((2,)), gp.mode, gp.support.upper_bound,
        gp.expand((3, 2, 3)).sample(), repr(gp),
    )  # fmt: skip


def _von_mises(T, D, mk):
    loc, conc = mk(XS[0], True), mk([0.01, 1.0, 3.7, 20.0], True)
    d = D.VonMises(loc, conc)
    lp = d.log_prob(mk(XS))
    (lp.sum() + d.variance.sum()).backward()
    return (
        lp, d.variance, loc.grad, conc.grad, d.mean, d.mode, d.sample((3,)),
        D.VonMises(mk(0.5), mk(2.0)).sample((5,)), d.expand((2, 4)).sample(), repr(d),
    )  # fmt: skip


def _lowrank(T, D, mk):
    loc, W, Dg = mk(V, True), mk(_A[:, :2], True), mk(SCALE + 0.2, True)
    d = D.LowRankMultivariateNormal(loc, W, Dg)
    x = d.rsample((2,))
    lp = d.log_prob(x.detach())
    full = D.MultivariateNormal(mk(V[0]), mk(COV))
    kls = [
        D.kl_divergence(d, D.LowRankMultivariateNormal(loc.flip(0), W * 2, Dg.flip(0))),
        D.kl_divergence(full, d),
        D.kl_divergence(d, full),
    ]
    mats = [d.scale_tril, d.covariance_matrix, d.precision_matrix, d.variance]
    (lp.sum() + d.entropy().sum() + x.sum() + sum(o.sum() for o in kls + mats)).backward()
    return (
        x, lp, d.entropy(), *kls, *mats, loc.grad, W.grad, Dg.grad, d.sample((3,)),
        d.expand((2, 4)).sample(), repr(d), str(d.batch_shape),
    )  # fmt: skip


NEW_PROGRAMS = {
    "student_t cauchy": _student_t_cauchy,
    "gumbel weibull pareto": _gumbel_weibull_pareto,
    "counts": _counts,
    "relaxed": _relaxed,
    "continuous_bernoulli": _continuous_bernoulli,
    "kumaraswamy fisher invgamma": _kumaraswamy_fisher_invgamma,
    "generalized_pareto": _generalized_pareto,
    "von_mises": _von_mises,
    "lowrank": _lowrank,
}


def _more_transforms(T, D, mk):
    tr, C = D.transforms, D.constraints
    x = mk(V, True)  # (4, 3)
    vec = mk(LOC, True)  # (3,): a 3 x 3 correlation Cholesky factor's free entries
    sq = mk(_A, True)
    parts = [
        tr.StickBreakingTransform(), tr.SoftmaxTransform(),
        tr.IndependentTransform(tr.SigmoidTransform(), 1), tr.ReshapeTransform((4, 3), (2, 6)),
        tr.CatTransform([tr.ExpTransform(), tr.identity_transform], dim=-1, lengths=[2, 1]),
        tr.StackTransform([tr.ExpTransform(), tr.TanhTransform(), tr.SigmoidTransform()], dim=-1),
        tr.CumulativeDistributionTransform(D.Normal(mk(0.5), mk(2.0))),
    ]  # fmt: skip
    ys = [t(x) for t in parts]
    outs = [*ys, *(t.inv(y) for t, y in zip(parts, ys, strict=True))]
    outs += [
        t.log_abs_det_jacobian(x, y)
        for t, y in zip(parts, ys, strict=True)
        if type(t).__name__ != "SoftmaxTransform"
    ]
    corr = tr.CorrCholeskyTransform()
    lc, pd = tr.LowerCholeskyTransform(), tr.PositiveDefiniteTransform()
    yc = corr(vec)
    outs += [yc, corr.inv(yc), corr.log_abs_det_jacobian(vec, yc), lc(sq), lc.inv(lc(sq))]
    outs += [pd(sq), pd.inv(pd(sq))]
    sum(o.sum() for o in outs).backward()
    cons = [
        C.real, C.positive, C.nonnegative, C.greater_than(mk(1.5)), C.less_than(2.0),
        C.interval(-1.0, 2.0), C.unit_interval, C.half_open_interval(0.0, 3.0), C.simplex,
        C.real_vector, C.corr_cholesky, C.independent(C.positive, 1),
        C.cat([C.positive, C.real], -1, [2, 1]), C.stack([C.positive, C.real, C.unit_interval], -1),
    ]  # fmt: skip
    z = mk(V)
    mapped = [D.biject_to(c)(z) for c in cons if c is not C.corr_cholesky]
    mapped += [D.transform_to(C.simplex)(z), D.transform_to(C.lower_cholesky)(mk(_A))]
    mapped += [D.transform_to(C.positive_definite)(mk(_A)), D.biject_to(C.corr_cholesky)(mk(LOC))]
    ln = D.LogisticNormal(mk(LOC, True), mk(SCALE, True))
    s = ln.rsample((2,))
    lp = ln.log_prob(s.detach())
    (lp.sum() + s.sum()).backward()
    checks = [
        C.corr_cholesky.check(yc), C.cat([C.positive, C.real], -1, [2, 1]).check(z),
        C.stack([C.positive, C.real, C.unit_interval], -1).check(z), C.multinomial(4).check(z),
    ]  # fmt: skip
    reprs = [repr(t) for t in parts[2:4]] + [repr(D.biject_to(c)) for c in cons]
    shapes = [
        tuple(corr.forward_shape((2, 6))), tuple(corr.inverse_shape((4, 4))),
        tuple(parts[0].forward_shape((5, 3))), tuple(parts[3].inverse_shape((7, 2, 6))),
    ]  # fmt: skip
    return (
        *outs, x.grad, vec.grad, sq.grad, *mapped, s, lp, ln.loc, ln.sample((3,)),
        ln.expand((2, 1)).sample(), *checks, *reprs, str(shapes), str(ln.event_shape),
        str([t.event_dim for t in parts[2:3] + parts[4:5]]), str([t.bijective for t in parts]),
    )  # fmt: skip


NEW_PROGRAMS["transforms"] = _more_transforms


def _lkj_wishart_body(T, D, mk):
    c = mk([0.5, 1.0, 3.0], True)
    lkj = D.LKJCholesky(4, c)
    s = lkj.sample((2,))
    lp = lkj.log_prob(s)
    m, df = mk(COV, True), mk(5.5, True)
    w = D.Wishart(df, covariance_matrix=m)
    x = mk(COV * 1.3 + np.eye(3))
    wlp = w.log_prob(x) + w.entropy()
    (lp.sum() + wlp).backward()
    m2 = mk(COV, True)
    ws = D.Wishart(mk(5.5), covariance_matrix=m2).rsample()  # (df's gradient raises, as Gamma's)
    ws.sum().backward()
    w2 = D.Wishart(mk([4.0, 6.0]), scale_tril=mk(np.linalg.cholesky(_spd2())))
    w3 = D.Wishart(4.5, precision_matrix=mk(np.linalg.inv(COV)))
    kl = D.kl_divergence(w, D.Wishart(mk(4.0), covariance_matrix=mk(2 * np.eye(3))))
    return (
        s, lp, c.grad, D.LKJCholesky(3, 2.0).sample(), lkj.expand((2, 3)).sample(), wlp, m.grad,
        df.grad, ws, m2.grad, w.sample((2,)), w2.sample(), w2.sample((3,)), w2.log_prob(w2.mean),
        w2.entropy(), w3.mean, w3.mode, w3.variance, w2.expand((3, 2)).sample(),
        w.precision_matrix, w2.covariance_matrix, w3.scale_tril, kl, repr(lkj), repr(w2),
        repr(lkj.support),
    )  # fmt: skip


def _lkj_wishart(T, D, mk):
    with warnings.catch_warnings():  # ("Singular sample detected.": see the test below)
        warnings.simplefilter("ignore", UserWarning)
        return _lkj_wishart_body(T, D, mk)


def _spd2():
    b = np.random.default_rng(5).standard_normal((2, 3, 3))
    return b @ np.swapaxes(b, -1, -2) + 3 * np.eye(3)


NEW_PROGRAMS["lkj wishart"] = _lkj_wishart


def test_wishart_warns_as_pytorch_does():
    # PyTorch 2.13's rsample flags its positive definite first draws as singular, warns and
    # redraws them once: tinyconv does the same, so that the numbers and the stream match
    got = []
    for T in (torch, tinyconv):
        T.manual_seed(0)
        d = T.distributions.Wishart(T.tensor(4.0), T.eye(3))
        with pytest.warns(UserWarning, match="Singular sample detected.") as record:
            x = d.rsample((2,))
        got.append((x.numpy(), [str(r.message) for r in record], T.get_rng_state().numpy()))
    np.testing.assert_allclose(got[1][0], got[0][0], rtol=1e-5)
    assert got[1][1] == got[0][1]
    assert np.array_equal(got[1][2], got[0][2])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(NEW_PROGRAMS))
def test_more_distributions_match_torch(name, dtype):
    if name == "generalized_pareto" and dtype == "float64":
        # PyTorch 2.13's log_prob raises for float64 parameters (a float32 constant inside it);
        # tinyconv computes it, to its float32 numbers' precision
        args = ([0.5, -1.0], [2.0, 0.7], [0.3, -0.2])
        with pytest.raises(RuntimeError, match="Double did not match Float"):
            torch.distributions.GeneralizedPareto(
                *(torch.tensor(a, dtype=torch.float64) for a in args)
            ).log_prob(torch.tensor([1.0, 0.1], dtype=torch.float64))
        got = [
            tinyconv.distributions.GeneralizedPareto(*(tinyconv.tensor(a, dtype=dt) for a in args))
            .log_prob(tinyconv.tensor([1.0, 0.1], dtype=dt))
            .numpy()
            for dt in (tinyconv.float64, tinyconv.float32)
        ]
        assert got[0].dtype == np.float64 and np.isfinite(got[0]).all()
        np.testing.assert_allclose(got[0], got[1], rtol=1e-5)
        return
    want, got = _run(NEW_PROGRAMS[name], dtype)
    # (float64: lgamma/digamma and their derivatives differ from PyTorch's in the last digits)
    _same(want, got, 5e-5 if dtype == "float32" else 1e-8)
