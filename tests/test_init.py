"""nn.init functions whose draws cannot match PyTorch's one for one: the distribution is
checked instead (bounds, moments against the truncated normal's, PyTorch's own sample)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinyconv
from tinyconv.nn import init


def _truncated_moments(mean: float, std: float, a: float, b: float) -> tuple[float, float]:
    # mean and std of N(mean, std^2) conditioned on [a, b], in closed form
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    mass = cdf(beta) - cdf(alpha)
    m = mean + std * (pdf(alpha) - pdf(beta)) / mass
    var = std**2 * (
        1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - ((pdf(alpha) - pdf(beta)) / mass) ** 2
    )
    return m, math.sqrt(var)


@pytest.mark.parametrize(
    ("mean", "std", "a", "b"),
    [(0.0, 1.0, -2.0, 2.0), (0.5, 2.0, -1.0, 3.0), (0.0, 0.01, -2.0, 2.0), (1.0, 1.0, 1.5, 4.0)],
)
def test_trunc_normal_bounds_and_moments(mean, std, a, b):
    tinyconv.manual_seed(0)
    for dtype in (tinyconv.float32, tinyconv.float64):
        w = tinyconv.empty(300, 200, dtype=dtype)
        out = init.trunc_normal_(w, mean=mean, std=std, a=a, b=b)
        assert out is w and w.dtype == dtype and not w.requires_grad
        v = w.numpy().astype(np.float64)
        assert v.min() >= a and v.max() <= b
        m, s = _truncated_moments(mean, std, a, b)
        # 60000 draws: the sample mean's standard error is s / 245
        assert abs(v.mean() - m) < 5 * s / 245
        assert abs(v.std() - s) < 0.02 * s
    # a Parameter that requires grad is filled in place without recording a graph
    p = tinyconv.nn.Parameter(tinyconv.zeros(4, 5))
    init.trunc_normal_(p, std=0.02)
    assert p.grad_fn is None and p.requires_grad and np.all(np.abs(p.detach().numpy()) <= 2.0)


@pytest.mark.torch
def test_trunc_normal_matches_torch_distribution():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tinyconv.manual_seed(0)
    want = torch.nn.init.trunc_normal_(torch.empty(400, 250), mean=0.3, std=1.5, a=-1.0, b=2.5)
    got = init.trunc_normal_(tinyconv.empty(400, 250), mean=0.3, std=1.5, a=-1.0, b=2.5)
    w, g = want.numpy().astype(np.float64), got.numpy().astype(np.float64)
    assert got.dtype == tinyconv.float32 and want.dtype == torch.float32
    # same distribution: quantiles agree to sampling error (100000 draws each)
    qs = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]
    np.testing.assert_allclose(np.quantile(g, qs), np.quantile(w, qs), atol=0.03)
    # and the same draws: PyTorch's sampler on PyTorch's stream, to the normals' last ulps
    np.testing.assert_allclose(g, w, rtol=4e-7, atol=1e-7)


def test_trunc_normal_bad_input():
    w = tinyconv.empty(3)
    with pytest.raises(ValueError, match="std must be positive"):
        init.trunc_normal_(w, std=0.0)
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(w, a=2.0, b=-2.0)
    # a mean far outside [a, b] warns, as PyTorch, and still fills within the bounds
    with pytest.warns(UserWarning, match="2 std"):
        init.trunc_normal_(w, mean=10.0, a=-2.0, b=2.0)
    assert np.all((w.numpy() >= -2.0) & (w.numpy() <= 2.0))
