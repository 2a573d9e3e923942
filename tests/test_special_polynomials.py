"""torch.special's orthogonal polynomials (Chebyshev T/U/V/W and their shifted forms, Hermite
H/He, Laguerre, Legendre) and spherical_bessel_j0: the classical values, and PyTorch's over a
grid of points and degrees (ends of the interval, the trigonometric branch of high degrees,
negative and fractional degrees, inf)."""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv
from tinyconv import special

NAMES = [
    "chebyshev_polynomial_t",
    "chebyshev_polynomial_u",
    "chebyshev_polynomial_v",
    "chebyshev_polynomial_w",
    "shifted_chebyshev_polynomial_t",
    "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w",
    "hermite_polynomial_h",
    "hermite_polynomial_he",
    "laguerre_polynomial_l",
    "legendre_polynomial_p",
]


def _closed_forms(x):
    """Each polynomial of degree 3 written out (the textbook formulas)."""
    y = 2 * x - 1
    return {
        "chebyshev_polynomial_t": 4 * x**3 - 3 * x,
        "chebyshev_polynomial_u": 8 * x**3 - 4 * x,
        "chebyshev_polynomial_v": 8 * x**3 - 4 * x**2 - 4 * x + 1,
        "chebyshev_polynomial_w": 8 * x**3 + 4 * x**2 - 4 * x - 1,
        "shifted_chebyshev_polynomial_t": 4 * y**3 - 3 * y,
        "shifted_chebyshev_polynomial_u": 8 * y**3 - 4 * y,
        "shifted_chebyshev_polynomial_v": 8 * y**3 - 4 * y**2 - 4 * y + 1,
        "shifted_chebyshev_polynomial_w": 8 * y**3 + 4 * y**2 - 4 * y - 1,
        "hermite_polynomial_h": 8 * x**3 - 12 * x,
        "hermite_polynomial_he": x**3 - 3 * x,
        "laguerre_polynomial_l": (-(x**3) + 9 * x**2 - 18 * x + 6) / 6,
        "legendre_polynomial_p": (5 * x**3 - 3 * x) / 2,
    }


@pytest.mark.parametrize("name", NAMES)
def test_degree_three_is_the_textbook_polynomial(name):
    x = np.linspace(-2, 2, 41)
    got = getattr(special, name)(tinyconv.tensor(x), 3).numpy()
    np.testing.assert_allclose(got, _closed_forms(x)[name], rtol=1e-12, atol=1e-12)
    assert getattr(special, name)(tinyconv.tensor([0.3]), -1).item() == 0.0


def test_no_derivative_and_dtypes():
    x = tinyconv.tensor([0.5, 0.25], requires_grad=True)
    y = special.legendre_polynomial_p(x, 2)
    assert not y.requires_grad and y.dtype == tinyconv.float32
    assert special.chebyshev_polynomial_t(tinyconv.tensor([1, 2]), 3).dtype == tinyconv.float32
    assert special.hermite_polynomial_h(tinyconv.tensor([0.5]), 200).isnan().all()
    with pytest.raises(NotImplementedError, match="Half"):
        special.chebyshev_polynomial_t(tinyconv.ones(2, dtype=tinyconv.float16), 2)
    with pytest.raises(TypeError):
        special.chebyshev_polynomial_t(0.5, 2)


@pytest.mark.torch
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_polynomials_match_pytorch(name, dtype):
    torch = pytest.importorskip("torch")
    # (NaN x is left out: PyTorch 2.13 returns an uninitialised value there, see README)
    xs = np.concatenate([np.linspace(-1.5, 1.5, 61), [0.0, 1.0, -1.0, 0.5, 2.0, -3.0, np.inf]])
    ns = np.array([-2, -1, 0, 1, 2, 3, 5, 6, 7, 8, 9, 12, 20, 40, 130, 600], dtype=np.float64)
    if dtype == "float32":  # (high degrees amplify a 1-ulp difference of float32 acos)
        ns = ns[ns <= 40]
    ns = np.concatenate([ns, [2.7, np.nan]])
    X, N = np.meshgrid(xs, ns)
    want = getattr(torch.special, name)(
        torch.tensor(X, dtype=getattr(torch, dtype)), torch.tensor(N)
    )
    got = getattr(special, name)(
        tinyconv.tensor(X, dtype=getattr(tinyconv, dtype)), tinyconv.tensor(N)
    )
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    tol = {"float32": (1e-4, 1e-5), "float64": (1e-10, 1e-12)}[dtype]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=tol[0], atol=tol[1])


@pytest.mark.torch
def test_spherical_bessel_j0_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.concatenate([np.linspace(-20, 20, 801), [0.0, 0.49, 0.5, np.inf, -np.inf]])
    for dt in ("float32", "float64"):
        want = torch.special.spherical_bessel_j0(torch.tensor(x, dtype=getattr(torch, dt)))
        got = special.spherical_bessel_j0(tinyconv.tensor(x, dtype=getattr(tinyconv, dt)))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)


def test_out_is_written():
    # (special functions take PyTorch's out=: the result lands in it, T_2(0.5) = -0.5)
    out = tinyconv.zeros(1)
    got = special.chebyshev_polynomial_t(tinyconv.tensor([0.5]), 2, out=out)
    assert got is out and out.tolist() == [-0.5]
