"""Distance, ranking, embedding and likelihood losses (F.cosine_similarity, pairwise_distance,
margin_ranking, hinge_embedding, soft_margin, multilabel_soft_margin, cosine_embedding,
triplet_margin, poisson_nll, gaussian_nll) against PyTorch: values and every gradient, in
float64; and against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv
from tinyconv.autograd import gradcheck

RNG = np.random.default_rng(0)
A, B, C = (RNG.normal(size=(5, 3)) for _ in range(3))
C[0, 0] = 0.0
SGN = np.array([1, -1, 1, -1, 1])
SGN2 = np.tile(SGN[:, None], (1, 3))

CASES = {
    "cos": lambda T, F, a, b, c: F.cosine_similarity(a, b),
    "cos_zero": lambda T, F, a, b, c: F.cosine_similarity(a, b * 0, dim=0),
    "cos_broadcast": lambda T, F, a, b, c: F.cosine_similarity(a, b[:1], dim=-1, eps=1e-3),
    "cos_module": lambda T, F, a, b, c: T.nn.CosineSimilarity(dim=0)(a, c),
    "pdist": lambda T, F, a, b, c: F.pairwise_distance(a, b),
    "pdist_p1": lambda T, F, a, b, c: T.nn.PairwiseDistance(p=1, keepdim=True)(a, b),
    "margin_ranking": lambda T, F, a, b, c: F.margin_ranking_loss(
        a[:, 0], b[:, 0], T.tensor(SGN, dtype=T.float64), margin=0.2, reduction="none"
    ),
    "margin_ranking_module": lambda T, F, a, b, c: T.nn.MarginRankingLoss()(
        a[:, 0], b[:, 0], T.tensor(SGN, dtype=T.float64)
    ),
    "hinge_embedding": lambda T, F, a, b, c: F.hinge_embedding_loss(
        a, T.tensor(SGN2, dtype=T.float64), margin=0.5, reduction="sum"
    ),
    "soft_margin": lambda T, F, a, b, c: T.nn.SoftMarginLoss()(a, T.tensor(SGN2, dtype=T.float64)),
    "multilabel_soft_margin": lambda T, F, a, b, c: T.nn.MultiLabelSoftMarginLoss(
        weight=T.tensor([1.0, 2.0, 0.5], dtype=T.float64), reduction="none"
    )(a, T.tensor((A > 0).astype(float))),
    "cosine_embedding": lambda T, F, a, b, c: F.cosine_embedding_loss(
        a, b, T.tensor(SGN), margin=0.1, reduction="none"
    ),
    "cosine_embedding_module": lambda T, F, a, b, c: T.nn.CosineEmbeddingLoss()(
        a[0], b[0], T.tensor(1)
    ),
    "triplet": lambda T, F, a, b, c: F.triplet_margin_loss(a, b, c, margin=2.0, reduction="none"),
    "triplet_swap": lambda T, F, a, b, c: T.nn.TripletMarginLoss(p=1, swap=True)(a, b, c),
    "poisson": lambda T, F, a, b, c: F.poisson_nll_loss(
        a, T.tensor(np.abs(B) * 3), reduction="none"
    ),
    "poisson_full": lambda T, F, a, b, c: T.nn.PoissonNLLLoss(log_input=False, full=True)(
        a.abs(), T.tensor(np.round(np.abs(B) * 3))
    ),
    "gaussian": lambda T, F, a, b, c: F.gaussian_nll_loss(a, b, c.abs() * 0.5, reduction="none"),
    "gaussian_per_sample": lambda T, F, a, b, c: T.nn.GaussianNLLLoss(full=True)(
        a, b, c[:, 0].abs()
    ),
    "gaussian_clamped": lambda T, F, a, b, c: F.gaussian_nll_loss(
        a, b, c[:, :1].abs() * 1e-4, eps=1e-3
    ),
}


def _run(lib, fn):
    F = lib.nn.functional
    a, b, c = (lib.tensor(x, dtype=lib.float64, requires_grad=True) for x in (A, B, C))
    out = fn(lib, F, a, b, c)
    w = lib.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)), dtype=lib.float64)
    (out * w).sum().backward()
    return out, [None if t.grad is None else t.grad.numpy() for t in (a, b, c)]


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    want, gw = _run(torch, CASES[name])
    got, gg = _run(tinyconv, CASES[name])
    assert tuple(got.shape) == tuple(want.shape) and got.requires_grad
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    for x, y in zip(gw, gg, strict=True):
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["cos", "pdist", "cosine_embedding", "triplet_swap", "gaussian"])
def test_loss_gradcheck(name):
    F = tinyconv.nn.functional
    xs = tuple(tinyconv.tensor(x, dtype=tinyconv.float64, requires_grad=True) for x in (A, B, C))
    assert gradcheck(lambda a, b, c: CASES[name](tinyconv, F, a, b, c), xs, eps=1e-6, atol=1e-6)


def test_loss_bad_input():
    F = tinyconv.nn.functional
    x = tinyconv.ones(2, 3)
    with pytest.raises(ValueError, match="reduction"):
        F.margin_ranking_loss(x[0], x[1], tinyconv.ones(3), reduction="avg")
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_loss(x, x, x, margin=0.0)
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, x, -x)
    with pytest.raises(ValueError, match="does not fit"):
        F.gaussian_nll_loss(x, x, tinyconv.ones(3))
    with pytest.raises(RuntimeError, match="same shape"):
        F.cosine_embedding_loss(x, tinyconv.ones(2, 4), tinyconv.ones(2))
    with pytest.raises(ValueError, match="don't broadcast"):
        F.cosine_similarity(x, tinyconv.ones(4, 5))


def _loss_modules() -> list[str]:
    return sorted(n for n in dir(tinyconv.nn) if n.endswith("Loss") and n[0] != "_")


@pytest.mark.parametrize("name", _loss_modules())
def test_loss_modules_map_the_deprecated_reduction_arguments(name):
    """size_average/reduce decide the reduction as in PyTorch (None counts as True: both true
    'mean', reduce alone 'sum', reduce=False 'none'), with PyTorch's warning, in every loss
    module that takes them; a right reduction is kept."""
    import inspect

    cls = getattr(tinyconv.nn, name)
    params = inspect.signature(cls.__init__).parameters
    if "size_average" in params:
        cases = [
            ({"size_average": False}, "sum"),
            ({"size_average": True}, "mean"),
            ({"reduce": False}, "none"),
            ({"reduce": False, "size_average": True}, "none"),
            ({"reduce": True, "reduction": "none"}, "mean"),  # the legacy pair wins
        ]
        for kwargs, want in cases:
            with pytest.warns(UserWarning, match=f"please use reduction='{want}' instead"):
                assert cls(**kwargs).reduction == want
    if "reduction" in params:  # (a wrong one raises in forward, as PyTorch's: test_parity_small)
        assert cls(reduction="sum").reduction == "sum"


@pytest.mark.torch
@pytest.mark.parametrize(
    "loss",
    [
        "mse_loss",
        "smooth_l1_loss",
        "huber_loss",
        "soft_margin_loss",
        "binary_cross_entropy_with_logits",
        "l1_loss",
    ],
)
def test_target_changed_in_place_before_backward_raises_as_pytorch(loss):
    """PyTorch's fused loss nodes save input and target, so changing either in place before
    backward raises there (l1_loss is composite in PyTorch: it does not)."""
    torch = pytest.importorskip("torch")
    raised = []
    for lib in (tinyconv, torch):
        x = lib.tensor([0.3, -0.6], requires_grad=True)
        t = lib.tensor([0.0, 1.0])
        out = getattr(lib.nn.functional, loss)(x, t)
        t.add_(0.5)
        try:
            out.backward()
            raised.append(False)
        except RuntimeError:
            raised.append(True)
    assert raised[0] == raised[1]
