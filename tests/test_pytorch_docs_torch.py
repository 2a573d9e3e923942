"""Gaps found by running the `>>>` examples of PyTorch 2.13's own docstrings under both
libraries (imports mapped, both seeded with manual_seed(0)): each fixed rule is compared with
PyTorch here, beyond the docstring's one case."""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


# -- hooks run in the engine's grad mode ---------------------------------------------------


def _hook_grad_modes(lib, create_graph: bool, use_grad: bool) -> list:
    """Which hooks ran, in order, with the grad mode each saw."""
    seen = []

    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            seen.append(("function", lib.is_grad_enabled()))
            return g * 2

    x = lib.ones(3, requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: seen.append(("tensor", lib.is_grad_enabled())))
    x.register_hook(lambda g: seen.append(("leaf", lib.is_grad_enabled())))
    x.register_post_accumulate_grad_hook(lambda p: seen.append(("post", lib.is_grad_enabled())))
    m = lib.nn.Linear(3, 3)
    m.register_full_backward_hook(
        lambda mod, gi, go: seen.append(("module", lib.is_grad_enabled()))
    )
    m.register_full_backward_pre_hook(lambda mod, go: seen.append(("pre", lib.is_grad_enabled())))
    out = m(Double.apply(y)).sum()
    if use_grad:
        lib.autograd.grad(out, [x], create_graph=create_graph)
    else:
        out.backward(create_graph=create_graph)
    return seen


@pytest.mark.filterwarnings("ignore:Using backward")
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("use_grad", [False, True])
def test_hooks_see_the_grad_mode_of_pytorchs_engine(create_graph, use_grad):
    # PyTorch's engine runs every hook with grad mode = create_graph; tinyconv ran tensor,
    # leaf, post-accumulate and module hooks with the caller's mode (on)
    got = _hook_grad_modes(tinyconv, create_graph, use_grad)
    want = _hook_grad_modes(torch, create_graph, use_grad)
    assert got == want


def test_post_accumulate_hook_updates_its_leaf_in_place():
    # register_post_accumulate_grad_hook's docstring: an optimiser step inside the hook
    def run(lib):
        v = lib.tensor([0.0, 0.0, 0.0], requires_grad=True)
        v.register_post_accumulate_grad_hook(lambda p: p.add_(p.grad, alpha=-0.01))
        (v * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        return v.detach().numpy(), v.requires_grad

    got, want = run(tinyconv), run(torch)
    np.testing.assert_array_equal(got[0], want[0])
    assert got[1] == want[1]


# -- linalg.lstsq ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sa, sb",
    [
        ((1, 3, 3), (2, 3, 3)),
        ((2, 1, 3, 3), (1, 4, 3, 3)),
        ((1, 5, 3), (2, 5, 2)),
        ((2, 5, 3), (1, 5, 2)),
        ((2, 5, 3), (2, 5)),
        ((3, 3), (2, 3, 3)),
        ((2, 5, 3), (5,)),
    ],
)
@pytest.mark.parametrize("driver", ["gelsy", "gelsd", "gelss"])
def test_lstsq_rank_and_singular_values_have_As_batch_shape(sa, sb, driver):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    if driver != "gelsy":
        # rank-deficient: rank < n (PyTorch 2.13's gelsy reports rank 0 for an A broadcast
        # over B's batch there, though the solution is right)
        a[..., 0] = 0

    def run(lib):
        try:
            return lib.linalg.lstsq(lib.tensor(a), lib.tensor(b), driver=driver)
        except RuntimeError:
            return None

    got, want = run(tinyconv), run(torch)
    assert (got is None) == (want is None)
    if want is None:
        return
    for g, w in zip(got, want, strict=True):
        assert tuple(g.shape) == tuple(w.shape)
    np.testing.assert_array_equal(got.rank.numpy(), want.rank.numpy())
    np.testing.assert_allclose(got.solution.numpy(), want.solution.numpy(), atol=1e-10)
    np.testing.assert_allclose(
        got.singular_values.numpy(), want.singular_values.numpy(), atol=1e-12
    )
