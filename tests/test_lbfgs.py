"""optim.LBFGS against PyTorch 2.13: the same parameters, losses and closure-call counts after
several steps (float64), state_dict round trips, and the errors."""

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
    with pytest.raises(NotImplementedError, match="strong_wolfe"):
        tinyconv.optim.LBFGS([w], line_search_fn="strong_wolfe")
    with pytest.raises(ValueError, match="parameter groups"):
        tinyconv.optim.LBFGS([{"params": [w]}, {"params": [tinyconv.zeros(1, requires_grad=True)]}])

    def flat():  # gradient zero at the start: one closure call, no move
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    assert opt.step(flat).item() == 0.0
    assert w.tolist() == [0.0, 0.0] and opt.state[w]["func_evals"] == 1


@pytest.mark.parametrize("kw", [{}, {"history_size": 2, "max_iter": 7}])
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
