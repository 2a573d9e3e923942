"""optim.LBFGS against PyTorch 2.13: the same parameters, losses and closure-call counts after
several steps (float64), with the fixed step and the strong Wolfe line search; the line
search's steps meet the Wolfe conditions; the fused update rounds as PyTorch's; state_dict
round trips, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv


def _fit(lib, kw, steps=3, resume=False):
    rng = np.random.default_rng(0)
    A = lib.tensor(rng.normal(size=(6, 3)))
    b = lib.tensor(rng.normal(size=6))
    w = lib.tensor([0.5, -0.3, 0.1], dtype=lib.float64, requires_grad=True)
    v = lib.tensor([[0.2]], dtype=lib.float64, requires_grad=True)
    opt = lib.optim.LBFGS([w, v], **kw)

    def closure():
        opt.zero_grad()
        r = A @ w + v.squeeze() - b
        loss = (r**2).sum() + (w**4).sum() + v.exp().sum()
        loss.backward()
        return loss

    losses = [opt.step(closure).item() for _ in range(steps)]
    if resume:  # a new optimizer from the state_dict continues where this one stopped
        sd = opt.state_dict()
        opt = lib.optim.LBFGS([w, v], **kw)
        opt.load_state_dict(sd)
        losses += [opt.step(closure).item() for _ in range(2)]
    st = opt.state_dict()["state"][0]
    return losses, w.detach().numpy(), v.detach().numpy(), (st["func_evals"], st["n_iter"])


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"lr": 0.5, "max_iter": 5},
        {"history_size": 2, "max_iter": 7},
        {"lr": 0.1, "max_iter": 3, "max_eval": 2},
        {"tolerance_change": 1e-3},
        {"line_search_fn": "strong_wolfe"},
        {"line_search_fn": "strong_wolfe", "lr": 0.5, "max_iter": 5},
        {"line_search_fn": "strong_wolfe", "history_size": 2, "max_iter": 7},
        {"line_search_fn": "strong_wolfe", "lr": 3, "max_iter": 10, "max_eval": 12},
    ],
)
def test_lbfgs_matches_pytorch(kw):
    torch = pytest.importorskip("torch")
    for resume in (False, True):
        want = _fit(torch, kw, resume=resume)
        got = _fit(tinyconv, kw, resume=resume)
        for a, b in zip(got[:3], want[:3], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
        assert got[3] == want[3]


def test_lbfgs_errors_and_converged_start():
    w = tinyconv.zeros(2, requires_grad=True)
    opt = tinyconv.optim.LBFGS([w])
    with pytest.raises(RuntimeError, match="closure"):
        opt.step()

    def sloped():
        loss = (w - 1).abs().sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="strong_wolfe"):  # (PyTorch raises at the step)
        tinyconv.optim.LBFGS([w], line_search_fn="backtracking").step(sloped)
    w.grad = None
    with pytest.raises(ValueError, match="parameter groups"):
        tinyconv.optim.LBFGS([{"params": [w]}, {"params": [tinyconv.zeros(1, requires_grad=True)]}])

    def flat():  # gradient zero at the start: one closure call, no move
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    assert opt.step(flat).item() == 0.0
    assert w.tolist() == [0.0, 0.0] and opt.state[w]["func_evals"] == 1


@pytest.mark.parametrize(
    "kw", [{}, {"history_size": 2, "max_iter": 7}, {"line_search_fn": "strong_wolfe"}]
)
def test_lbfgs_state_dict_is_pytorchs(kw):
    """The state as PyTorch keeps it: its keys in its order ("al", the two-loop coefficients,
    history_size long with None where unused, among them), 0-d Tensors for H_diag, ro and al,
    lists of Tensors for the history; and it loads back and continues (resume)."""
    torch = pytest.importorskip("torch")
    from program_harness import compare_values

    sds = []
    for lib in (torch, tinyconv):
        rng = np.random.default_rng(0)
        A = lib.tensor(rng.normal(size=(6, 3)))
        w = lib.tensor([0.5, -0.3, 0.1], dtype=lib.float64, requires_grad=True)
        opt = lib.optim.LBFGS([w], **kw)

        def closure(opt=opt, A=A, w=w):
            opt.zero_grad()
            loss = ((A @ w - 1) ** 2).sum() + (w**4).sum()
            loss.backward()
            return loss

        for _ in range(2):
            opt.step(closure)
        sds.append(opt.state_dict())
    want, got = sds
    st = got["state"][0]
    assert list(st) == list(want["state"][0])
    assert len(st["al"]) == kw.get("history_size", 100)
    assert (st["al"][-1] is None) is ("history_size" not in kw)  # (a full history of 2)
    assert isinstance(st["H_diag"], tinyconv.Tensor) and st["H_diag"].dim() == 0
    compare_values(got, want, "state_dict()")


@pytest.mark.parametrize(
    "phi",
    [
        lambda t: (t - 3.0) ** 2,  # the first guess t = 1 is short: extrapolation
        lambda t: (t - 0.01) ** 2 + 0.1 * t**4,  # t = 1 overshoots far: zoom
        lambda t: np.cos(3 * t) - 0.2 * t,  # not convex
        lambda t: np.exp(-t) + 0.05 * t**2,
    ],
)
def test_strong_wolfe_step_meets_the_conditions(phi):
    """On 1-D functions phi(t) (d = 1), the step found satisfies sufficient decrease and the
    curvature condition (Nocedal and Wright's strong Wolfe conditions, c1 = 1e-4, c2 = 0.9),
    and the loss and gradient returned are phi's at that step."""
    from tinyconv.optim.lbfgs import _strong_wolfe

    def value_and_slope(t):
        h = 1e-6
        return float(phi(t)), np.array([(phi(t + h) - phi(t - h)) / (2 * h)])

    calls = []

    def evaluate(t, d):
        calls.append(t)
        f, g = value_and_slope(0.0 + t * d[0])
        return f, g

    f0, g0 = value_and_slope(0.0)
    d = np.array([1.0 if g0[0] < 0 else -1.0])
    f, g, t, evals = _strong_wolfe(evaluate, d, 1.0, f0, g0, g0.dot(d))
    assert evals == len(calls) and 1 <= evals <= 25
    assert (f, g.tolist()) == (value_and_slope(t * d[0])[0], value_and_slope(t * d[0])[1].tolist())
    assert f <= f0 + 1e-4 * t * g0.dot(d)
    assert abs(g.dot(d)) <= 0.9 * abs(g0.dot(d))


def _wiggly(seed):
    """A random 1-D loss going down at 0: a bowl plus waves (several local minima) plus a
    slope, its derivative, and a first step between 1e-3 and 30."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.05, 1.0, 3), rng.uniform(0.5, 8.0, 3)
    bowl, tilt = rng.uniform(0.0, 0.3), (a * b).sum() + rng.uniform(0.1, 2.0)  # slope(0) < 0

    def phi(t):
        return bowl * t**2 + (a * np.sin(b * t)).sum() - tilt * t

    def slope(t):
        return 2 * bowl * t + (a * b * np.cos(b * t)).sum() - tilt

    # (seed 0 starts at 1e-30: growing it tenfold a call, the search runs out of calls)
    return phi, slope, 1e-30 if seed == 0 else 10 ** rng.uniform(-3, 1.5)


@pytest.mark.parametrize("seed", range(40))
def test_strong_wolfe_steps_and_calls_are_pytorchs(seed):
    """The line search alone against PyTorch's, on random wavy 1-D losses that take it through
    extrapolation, zoom, stalled trials and its 25-call limit: the same step, loss and calls."""
    torch = pytest.importorskip("torch")
    from torch.optim.lbfgs import _strong_wolfe as torch_strong_wolfe

    from tinyconv.optim.lbfgs import _strong_wolfe

    phi, slope, first_t = _wiggly(seed)
    f0, g0 = float(phi(0.0)), np.array([slope(0.0)])
    calls = [[], []]

    def evaluate(t, d, i):
        calls[i].append(float(t))
        x = float(t) * float(d[0])
        return float(phi(x)), np.array([slope(x)])

    d, g0t = torch.tensor([1.0], dtype=torch.float64), torch.tensor(g0)
    want = torch_strong_wolfe(
        lambda x, t, d: (lambda f, g: (f, torch.tensor(g)))(*evaluate(t, d, 0)),
        None,
        first_t,
        d,
        f0,
        g0t,
        g0t.dot(d),
    )
    got = _strong_wolfe(
        lambda t, d: evaluate(t, d, 1), np.array([1.0]), first_t, f0, g0, g0.dot(np.array([1.0]))
    )
    assert got[3] == want[3] == len(calls[1])
    np.testing.assert_allclose(calls[1], calls[0], rtol=1e-9)
    np.testing.assert_allclose(
        [got[0], float(got[1][0]), float(got[2])],
        [want[0], float(want[1][0]), float(want[2])],
        rtol=1e-9,  # (0-d float64 tensors and NumPy scalars may differ in an ulp or so)
    )


def test_fused_update_rounds_as_pytorchs_add_with_alpha():
    torch = pytest.importorskip("torch")
    from tinyconv.optim.lbfgs import _fused_add

    rng = np.random.default_rng(3)
    y, x = rng.normal(size=(2, 4099)).astype(np.float32)
    for alpha in (0.0123456, -3.75, np.float32(1e-3)):
        want = torch.tensor(y).add_(torch.tensor(x), alpha=float(alpha)).numpy()
        assert np.array_equal(_fused_add(y, x, alpha), want)
