"""tinyconv.linalg: vector_norm, matrix_norm, norm, inv, det, slogdet, solve, matrix_exp. Values,
dtypes, grad_fn names and gradients against PyTorch 2.13 (skipped without it), gradcheck and
gradgradcheck in float64 on hypothesis-drawn (batched) matrices, and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyconv
from tinyconv.autograd import gradcheck, gradgradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}


def _leaf(lib, arr):
    return lib.from_numpy(np.array(arr, dtype=np.float64)).requires_grad_()


@st.composite
def matrices(draw, batch: bool = True):
    """Well-conditioned square matrices: a random matrix plus a multiple of the identity."""
    n = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 2), max_size=2))) if batch else ()
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    a = rng.standard_normal(shape + (n, n)) + 3 * np.eye(n) * draw(st.sampled_from([1, -1]))
    return a, rng


def _compare(program, arrays, rtol=1e-10):
    torch = pytest.importorskip("torch")
    res = []
    for lib in (tinyconv, torch):
        xs = [_leaf(lib, a) for a in arrays]
        out = program(lib, *xs)
        outs = out if isinstance(out, tuple) else (out,)
        w = np.random.default_rng(1)
        loss = sum(
            (o * lib.from_numpy(w.standard_normal(tuple(o.shape)))).sum()
            for o in outs
            if o.requires_grad
        )
        grads = lib.autograd.grad(loss, xs)
        res.append(
            (
                [
                    (tuple(o.shape), o.requires_grad, o.grad_fn.name() if o.grad_fn else None)
                    for o in outs
                ],
                [o.detach().numpy() for o in outs],
                [g.numpy() for g in grads],
            )
        )
    assert res[0][0] == res[1][0]
    for a, b in zip(res[0][1] + res[0][2], res[1][1] + res[1][2], strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-10)


PROGRAMS = {
    "inv": lambda T, a: T.linalg.inv(a),
    "det": lambda T, a: T.linalg.det(a),
    "slogdet": lambda T, a: tuple(T.linalg.slogdet(a)),
    "fro": lambda T, a: T.linalg.matrix_norm(a),
    "norm1": lambda T, a: T.linalg.matrix_norm(a, 1),
    "norm-1 keepdim": lambda T, a: T.linalg.matrix_norm(a, -1, keepdim=True),
    "norm inf": lambda T, a: T.linalg.matrix_norm(a, math.inf),
    "norm -inf dims": lambda T, a: T.linalg.matrix_norm(a, -math.inf, dim=(-1, -2)),
    "vector 3": lambda T, a: T.linalg.vector_norm(a, 3, dim=-1),
    "svdvals": lambda T, a: T.linalg.svdvals(a),
    "svdvals wide": lambda T, a: T.linalg.svdvals(a[..., :-1, :]) if a.shape[-1] > 1 else a,
    "svdvals tall": lambda T, a: T.linalg.svdvals(a[..., :, :-1]) if a.shape[-1] > 1 else a,
    "norm 2": lambda T, a: T.linalg.matrix_norm(a, 2),
    "norm -2 keepdim": lambda T, a: T.linalg.matrix_norm(a, -2, keepdim=True),
    "nuc": lambda T, a: T.linalg.matrix_norm(a, "nuc"),
    "nuc dims": lambda T, a: T.linalg.matrix_norm(a, "nuc", dim=(-1, -2), keepdim=True),
    "vector inf": lambda T, a: T.linalg.vector_norm(a, math.inf),
    "norm": lambda T, a: T.linalg.norm(a),
    "norm dim": lambda T, a: T.linalg.norm(a, dim=-1),
    "matrix_exp": lambda T, a: T.linalg.matrix_exp(a),
    # a rotation: bounded values, and a norm that often asks for scaling and squaring
    "matrix_exp skew": lambda T, a: T.matrix_exp(2 * (a - a.transpose(-1, -2))),
    "matrix_exp method": lambda T, a: (a / 4).matrix_exp(),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@settings(max_examples=8)
@given(m=matrices())
def test_linalg_matches_torch_and_gradcheck(name, m):
    a, _ = m
    fn = PROGRAMS[name]
    _compare(fn, [a])
    x = _leaf(tinyconv, a)

    def f(t):
        out = fn(tinyconv, t)
        return out[1] if isinstance(out, tuple) else out

    assert gradcheck(f, (x,), **TOL)
    if "inf" not in name and "1" not in name:  # (max/min: piecewise linear)
        assert gradgradcheck(f, (x,), atol=1e-6, rtol=1e-4)


@settings(max_examples=10)
@given(m=matrices(), k=st.integers(0, 3), left=st.booleans())
def test_solve_matches_torch_and_gradcheck(m, k, left):
    a, rng = m
    n = a.shape[-1]
    if k == 0:  # a batch of vectors
        b = rng.standard_normal(a.shape[:-1])
        left = True
    else:
        b = rng.standard_normal(a.shape[:-2] + ((n, k) if left else (k, n)))

    def fn(T, x, y):
        return T.linalg.solve(x, y, left=left)

    _compare(fn, [a, b])
    xs = (_leaf(tinyconv, a), _leaf(tinyconv, b))
    assert gradcheck(lambda x, y: fn(tinyconv, x, y), xs, **TOL)
    assert gradgradcheck(lambda x, y: fn(tinyconv, x, y), xs, atol=1e-6, rtol=1e-4)


@settings(max_examples=10)
@given(m=matrices(), k=st.integers(1, 3), left=st.booleans(), upper=st.booleans())
def test_solve_triangular_matches_torch_and_gradcheck(m, k, left, upper):
    a, rng = m
    n = a.shape[-1]
    b = rng.standard_normal(a.shape[:-2] + ((n, k) if left else (k, n)))
    unit = bool(rng.integers(2))

    def fn(T, x, y):
        # (the other triangle of x is not read: its gradient there is zero)
        return T.linalg.solve_triangular(x, y, upper=upper, left=left, unitriangular=unit)

    _compare(fn, [a, b])
    xs = (_leaf(tinyconv, a), _leaf(tinyconv, b))
    assert gradcheck(lambda x, y: fn(tinyconv, x, y), xs, **TOL)
    assert gradgradcheck(lambda x, y: fn(tinyconv, x, y), xs, atol=1e-6, rtol=1e-4)


def test_solve_triangular_broadcasts_and_checks():
    rng = np.random.default_rng(0)
    a = np.tril(rng.standard_normal((2, 1, 3, 3))) + 3 * np.eye(3)
    b = rng.standard_normal((4, 3, 2))
    _compare(lambda T, x, y: T.linalg.solve_triangular(x, y, upper=False), [a, b])
    A, B = tinyconv.tensor(a[0, 0]), tinyconv.tensor(b[0])
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        tinyconv.linalg.solve_triangular(A, B[:, 0], upper=False)
    with pytest.raises(TypeError, match="upper"):
        tinyconv.linalg.solve_triangular(A, B)
    with pytest.raises(RuntimeError, match="needs 3 rows"):
        tinyconv.linalg.solve_triangular(A, B[:2], upper=True)


def test_solve_broadcasts_batches():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 1, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((4, 3, 2))
    _compare(lambda T, x, y: T.linalg.solve(x, y), [a, b])
    _compare(lambda T, x, y: T.linalg.solve(x, y), [a[0, 0], rng.standard_normal(3)])
    assert torch is not None


def test_det_of_singular_matrices():
    """det of a singular matrix is 0 and slogdet gives sign 0 and -inf, as PyTorch. PyTorch's
    gradient there is zero (the true one is the adjugate): tinyconv's backward raises (a
    README difference)."""
    torch = pytest.importorskip("torch")
    for a in ([[1.0, 2.0], [2.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 0.0]]):
        d = [lib.linalg.det(lib.tensor(a, dtype=lib.float64)).item() for lib in (tinyconv, torch)]
        assert d[0] == d[1] == 0
        s = [lib.linalg.slogdet(lib.tensor(a, dtype=lib.float64)) for lib in (tinyconv, torch)]
        assert s[0].sign.item() == s[1].sign.item() == 0
        assert s[0].logabsdet.item() == s[1].logabsdet.item() == -math.inf
        x = tinyconv.tensor(a, dtype=tinyconv.float64, requires_grad=True)
        with pytest.raises(RuntimeError, match="singular"):
            tinyconv.linalg.det(x).backward()


@pytest.mark.parametrize(
    "bad",
    [
        lambda T: T.linalg.inv(T.zeros(2, 2)),
        lambda T: T.linalg.inv(T.tensor([[1.0, 2.0], [2.0, 4.0]])),
        lambda T: T.linalg.inv(T.zeros(2, 3)),
        lambda T: T.linalg.inv(T.ones(2, 2, dtype=T.long)),
        lambda T: T.linalg.inv(T.ones(3)),
        lambda T: T.linalg.det(T.zeros(2, 3)),
        lambda T: T.linalg.solve(T.zeros(2, 2), T.ones(2)),
        lambda T: T.linalg.solve(T.eye(2), T.ones(3)),
        lambda T: T.linalg.solve(T.eye(2), T.ones(2, dtype=T.float64)),
        lambda T: T.linalg.norm(T.ones(2, 2, 2), 1),
        lambda T: T.linalg.matrix_norm(T.ones(2), 1),
        lambda T: T.linalg.matrix_norm(T.ones(2, 2), 3),
    ],
)
def test_linalg_errors_match_torch(bad):
    torch = pytest.importorskip("torch")
    for lib in (tinyconv, torch):
        with pytest.raises(RuntimeError):
            bad(lib)


def test_singular_raises_linalg_error():
    torch = pytest.importorskip("torch")
    for lib in (tinyconv, torch):
        with pytest.raises(lib.linalg.LinAlgError):
            lib.linalg.inv(lib.zeros(2, 2))
        with pytest.raises(lib.linalg.LinAlgError):
            lib.linalg.solve(lib.zeros(2, 2), lib.ones(2))
    assert issubclass(tinyconv.linalg.LinAlgError, RuntimeError)


def test_float32_and_empty():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((3, 3)) + 3 * np.eye(3)).astype(np.float32)
    for fn in (lambda T, x: T.linalg.inv(x), lambda T, x: T.linalg.det(x)):
        got = fn(tinyconv, tinyconv.from_numpy(a))
        want = fn(torch, torch.from_numpy(a))
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1] == "float32"
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=2e-5, atol=1e-6)
    for lib in (tinyconv, torch):
        assert tuple(lib.linalg.inv(lib.zeros(0, 2, 2)).shape) == (0, 2, 2)
        assert tuple(lib.linalg.det(lib.zeros(0, 2, 2)).shape) == (0,)


@settings(max_examples=10)
@given(m=matrices(), upper=st.booleans())
def test_cholesky_matches_torch_and_gradcheck(m, upper):
    """A = M M^T + I, its other triangle perturbed (never read); values, gradients (torch
    assumes a symmetric input: its gradient is symmetric) and double backward."""
    a, rng = m
    n = a.shape[-1]
    spd = a @ np.swapaxes(a, -1, -2) + np.eye(n)
    noise = np.triu(rng.standard_normal(spd.shape), 1)
    spd = spd + (np.swapaxes(noise, -1, -2) if upper else noise)

    def fn(T, x):
        return T.linalg.cholesky(x, upper=upper)

    _compare(fn, [spd])
    x = _leaf(tinyconv, spd)
    sym = lambda t: fn(tinyconv, (t + t.transpose(-2, -1)) / 2)  # noqa: E731 (symmetric input)
    assert gradcheck(sym, (x,), **TOL)
    assert gradgradcheck(sym, (x,), atol=1e-6, rtol=1e-4)


def test_cholesky_not_positive_definite():
    torch = pytest.importorskip("torch")
    for lib in (tinyconv, torch):
        with pytest.raises(lib.linalg.LinAlgError):
            lib.linalg.cholesky(-lib.eye(2))


@pytest.mark.parametrize("name", ["det", "inverse", "slogdet", "logdet"])
def test_torch_level_det_inverse_slogdet_logdet(name):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 3))

    def fn(T, x):
        out = getattr(T, name)(x)
        method = getattr(x, name)()
        if name == "slogdet":
            assert type(out).__name__ in ("SignLogAbsDet", "slogdet")
            return (out.sign, out.logabsdet, method[1])
        return (out, method)

    _compare(fn, [a])


@settings(max_examples=10)
@given(m=matrices(), uplo=st.sampled_from(["L", "U"]))
def test_eigh_matches_torch_and_gradcheck(m, uplo):
    """Symmetric A (its other triangle perturbed, never read): eigenvalues, eigenvectors up to
    sign (LAPACK's choice) and the gradients of sign-invariant losses (w and V * V), with
    double backward."""
    a, rng = m
    sym = a + np.swapaxes(a, -1, -2)
    noise = rng.standard_normal(sym.shape)
    sym = sym + (np.tril(noise, -1) if uplo == "U" else np.triu(noise, 1))

    def fn(T, x):
        w, v = T.linalg.eigh(x, UPLO=uplo)
        return (w, v * v, T.linalg.eigvalsh(x, UPLO=uplo))

    _compare(fn, [sym], rtol=1e-8)
    x = _leaf(tinyconv, sym)

    def f(t):
        t = (t + t.transpose(-2, -1)) / 2  # (a symmetric input for the finite differences)
        w, v = tinyconv.linalg.eigh(t, UPLO=uplo)
        return w.sum(-1, keepdim=True) * 0.1 + (v * v) * w.unsqueeze(-2)

    assert gradcheck(f, (x,), **TOL)
    assert gradgradcheck(f, (x,), atol=1e-5, rtol=1e-4)


def test_eigh_errors():
    torch = pytest.importorskip("torch")
    for lib in (tinyconv, torch):
        with pytest.raises(RuntimeError):
            lib.linalg.eigh(lib.ones(2, 3))
        with pytest.raises(RuntimeError):
            lib.linalg.eigh(lib.eye(2), UPLO="X")


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (6, 2), (2, 3, 4), (4, 1, 2, 2)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_init_orthogonal(shape, gain):
    """nn.init.orthogonal_: the tensor as (rows, rest) has orthonormal rows (or columns)
    times gain, as PyTorch's; in place, no graph, reproducible under manual_seed. (Random
    draws differ from PyTorch's generator, as for every init.)"""
    w = tinyconv.ones(*shape, requires_grad=True)
    tinyconv.manual_seed(0)
    out = tinyconv.nn.init.orthogonal_(w, gain=gain)
    assert out is w and w.requires_grad and w.grad_fn is None and w.dtype == tinyconv.float32
    m = w.detach().numpy().reshape(shape[0], -1).astype(np.float64)
    small = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(small, gain**2 * np.eye(small.shape[0]), atol=1e-5)
    again = tinyconv.empty(*shape)
    tinyconv.manual_seed(0)
    tinyconv.nn.init.orthogonal_(again, gain=gain)
    np.testing.assert_array_equal(again.numpy(), w.detach().numpy())


def test_init_orthogonal_errors_and_empty():
    torch = pytest.importorskip("torch")
    for lib in (tinyconv, torch):
        with pytest.raises(ValueError):
            lib.nn.init.orthogonal_(lib.empty(3))
        assert tuple(lib.nn.init.orthogonal_(lib.empty(0, 3)).shape) == (0, 3)
