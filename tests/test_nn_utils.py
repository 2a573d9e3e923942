"""torch.nn.utils: gradient clipping (by norm, by value) and parameters <-> one vector."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinyconv as torch
from tinyconv import nn


def _with_grads(*grads):
    ps = []
    for g in grads:
        p = torch.zeros(len(g), requires_grad=True)
        p.grad = torch.tensor(g)
        ps.append(p)
    return ps


def test_clip_grad_norm():
    ps = _with_grads([3.0, 0.0], [4.0])
    total = nn.utils.clip_grad_norm_(ps, max_norm=1.0)
    assert math.isclose(total.item(), 5.0, rel_tol=1e-6) and total.dtype == torch.float32
    np.testing.assert_allclose(ps[0].grad.numpy(), [3 / (5 + 1e-6), 0], rtol=1e-6)
    np.testing.assert_allclose(ps[1].grad.numpy(), [4 / (5 + 1e-6)], rtol=1e-6)
    ps = _with_grads([3.0, 0.0], [4.0])
    nn.utils.clip_grad_norm_(ps, max_norm=10.0)  # below the limit: unchanged
    assert ps[0].grad.tolist() == [3.0, 0.0]
    ps = _with_grads([3.0, -5.0], [4.0])
    assert nn.utils.clip_grad_norm_(ps, 2.5, norm_type="inf").item() == 5.0
    np.testing.assert_allclose(ps[0].grad.numpy(), [1.5, -2.5], rtol=1e-5)
    assert nn.utils.clip_grad_norm_(_with_grads([1.0, -2.0]), 100, norm_type=1).item() == 3.0
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(_with_grads([math.inf]), 1.0, error_if_nonfinite=True)
    net = nn.Linear(3, 2)
    assert nn.utils.clip_grad_norm_(net.parameters(), 1.0).item() == 0.0  # no grads yet


def test_clip_grad_value_and_vectors():
    ps = _with_grads([3.0, -0.5], [-4.0])
    nn.utils.clip_grad_value_(ps, 1.0)
    assert ps[0].grad.tolist() == [1.0, -0.5] and ps[1].grad.tolist() == [-1.0]
    net = nn.Linear(2, 2)
    vec = nn.utils.parameters_to_vector(net.parameters())
    assert vec.shape == (6,)
    nn.utils.vector_to_parameters(torch.arange(6, dtype=torch.float32), net.parameters())
    assert net.weight.tolist() == [[0.0, 1.0], [2.0, 3.0]] and net.bias.tolist() == [4.0, 5.0]


@pytest.mark.torch
def test_matches_pytorch_clip_grad_norm():
    real = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [
        rng.standard_normal((3, 4)).astype(np.float32),
        rng.standard_normal(5).astype(np.float32),
    ]
    for norm_type in (2.0, 1, 3, "inf"):
        ours = _with_grads(*[g.ravel().tolist() for g in grads])
        theirs = [real.zeros(g.size, requires_grad=True) for g in grads]
        for p, g in zip(theirs, grads, strict=True):
            p.grad = real.tensor(g.ravel())
        a = nn.utils.clip_grad_norm_(ours, 0.5, norm_type)
        b = real.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type)
        assert math.isclose(a.item(), b.item(), rel_tol=1e-5)
        for p, q in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5)


@pytest.mark.torch
def test_clip_grads_with_norm_and_the_deprecated_clip_grad_norm_match_torch():
    real = pytest.importorskip("torch")
    grads = np.random.default_rng(4).standard_normal((3, 5)).astype(np.float32)
    out = []
    for lib in (torch, real):
        ps = [lib.nn.Parameter(lib.zeros(5)) for _ in range(3)]
        for p, g in zip(ps, grads, strict=True):
            p.grad = lib.tensor(g)
        total = lib.nn.utils.get_total_norm([p.grad for p in ps])
        assert lib.nn.utils.clip_grads_with_norm_(ps[:2], 1.5, total) is None
        with pytest.warns(FutureWarning, match="clip_grad_norm_"):
            lib.nn.utils.clip_grad_norm(ps[2:], 0.5)
        out.append([p.grad.numpy().copy() for p in ps])
        lib.nn.utils.clip_grads_with_norm_(ps, 1e6, total)  # a coefficient above 1: no change
        np.testing.assert_array_equal(ps[0].grad.numpy(), out[-1][0])
    for mine, theirs in zip(*out, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)


@pytest.mark.torch
def test_skip_init_leaves_the_generator_alone_as_torch():
    real = pytest.importorskip("torch")
    draws = []
    for lib in (torch, real):
        lib.manual_seed(0)
        m = lib.nn.utils.skip_init(lib.nn.Linear, 3, 4, bias=False)
        assert type(m) is lib.nn.Linear and m.weight.shape == (4, 3) and m.bias is None
        draws.append(lib.randn(3).numpy())
        with pytest.raises(RuntimeError, match="'device' arg"):
            lib.nn.utils.skip_init(lib.nn.ReLU)
        with pytest.raises(RuntimeError, match="Expected a Module"):
            lib.nn.utils.skip_init(int)
    np.testing.assert_array_equal(*draws)


def test_total_norm_of_order_zero_counts_nonzero_tensors():
    # PyTorch's total norm is the norm of the per-tensor norms: of order 0 it counts the
    # tensors that hold a non-zero element (2 here), not the non-zero elements (5)
    grads = [torch.full((3,), 2.0), torch.full((2,), 2.0), torch.zeros(4)]
    assert nn.utils.get_total_norm(grads, 0).item() == 2.0
    assert math.isclose(nn.utils.get_total_norm(grads, 2).item(), math.sqrt(20), rel_tol=1e-6)
    ps = _with_grads([0.5, -3.0, 2.0], [0.0, 0.0])
    assert nn.utils.clip_grad_norm_(ps, 2.0, norm_type=0).item() == 1.0
    mixed = nn.utils.get_total_norm([torch.ones(2), torch.ones(3, dtype=torch.float64)])
    assert mixed.dtype == torch.float64  # (the per-tensor norms promote, as when stacked)


def test_clip_grad_value_negative_and_vector_edges():
    (p,) = _with_grads([0.5, -3.0, 2.0])
    nn.utils.clip_grad_value_([p], -1.0)  # clamp(min=1, max=-1): the upper bound wins
    assert p.grad.tolist() == [-1.0, -1.0, -1.0]
    ps = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    nn.utils.vector_to_parameters(torch.arange(7.0), ps)  # the extra elements are ignored
    assert ps[1].tolist() == [2.0, 3.0, 4.0]
    with pytest.raises(RuntimeError):
        nn.utils.vector_to_parameters(torch.arange(4.0), ps)
    with pytest.raises(RuntimeError):
        nn.utils.parameters_to_vector([torch.arange(6.0).reshape(2, 3).t()])
