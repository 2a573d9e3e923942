"""optim.swa_utils against PyTorch 2.13: AveragedModel (SWA, EMA per tensor and over lists,
with and without buffers) gives torch's state_dict after a few training steps from the same
weights and data; SWALR's lr sequence (cos, linear, per-group swa_lr, anneal_epochs=0);
update_bn's running statistics; the error messages."""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv
from tinyconv.optim import swa_utils

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def bn_model(lib, dtype):
    """conv -> batchnorm -> tanh -> flatten -> linear with the same weights in both libraries."""
    rng = np.random.default_rng(0)
    m = lib.nn.Sequential(
        lib.nn.Conv2d(2, 3, 3),
        lib.nn.BatchNorm2d(3),
        lib.nn.Tanh(),
        lib.nn.Flatten(),
        lib.nn.Linear(12, 2),
    ).to(getattr(lib, dtype))
    for p in m.parameters():
        p.data = lib.tensor(rng.standard_normal(tuple(p.shape)) * 0.5, dtype=getattr(lib, dtype))
    return m


def batch(lib, step: int, dtype: str):
    rng = np.random.default_rng(100 + step)
    x = lib.tensor(rng.standard_normal((4, 2, 4, 4)), dtype=getattr(lib, dtype))
    y = lib.tensor(rng.standard_normal((4, 2)), dtype=getattr(lib, dtype))
    return x, y


def averaged_state(lib, make_avg, dtype: str, steps: int = 5) -> dict:
    """SGD training of bn_model, folding each step's weights into the averaged model."""
    swa = lib.optim.swa_utils if lib is torch else swa_utils
    model = bn_model(lib, dtype)
    avg = make_avg(swa, model)
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for i in range(steps):
        x, y = batch(lib, i, dtype)
        opt.zero_grad()
        lib.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        avg.update_parameters(model)
    return {k: v.detach().numpy() for k, v in avg.state_dict().items()}


AVERAGERS = {
    "swa": lambda s, m: s.AveragedModel(m),
    "swa_buffers": lambda s, m: s.AveragedModel(m, use_buffers=True),
    "swa_multi": lambda s, m: s.AveragedModel(m, multi_avg_fn=s.get_swa_multi_avg_fn()),
    "ema": lambda s, m: s.AveragedModel(m, avg_fn=s.get_ema_avg_fn(0.9)),
    "ema_multi_buffers": lambda s, m: s.AveragedModel(
        m, multi_avg_fn=s.get_ema_multi_avg_fn(0.8), use_buffers=True
    ),
    "ema_buffers": lambda s, m: s.AveragedModel(m, avg_fn=s.get_ema_avg_fn(0.7), use_buffers=True),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(AVERAGERS))
def test_averaged_model_state_dict_matches_torch(name: str, dtype: str) -> None:
    ours = averaged_state(tinyconv, AVERAGERS[name], dtype)
    theirs = averaged_state(torch, AVERAGERS[name], dtype)
    assert list(ours) == list(theirs)
    tol = 1e-12 if dtype == "float64" else 1e-6
    for k in theirs:
        assert ours[k].dtype == theirs[k].dtype, k
        np.testing.assert_allclose(ours[k], theirs[k], rtol=tol, atol=tol, err_msg=k)
    assert int(ours["n_averaged"]) == 5


def test_averaged_model_forward_and_errors() -> None:
    model = bn_model(tinyconv, "float64").eval()
    avg = swa_utils.AveragedModel(model)
    x, _ = batch(tinyconv, 0, "float64")
    np.testing.assert_array_equal(avg(x).detach().numpy(), model(x).detach().numpy())
    assert avg.n_averaged.dtype == tinyconv.int64 and avg.n_averaged.shape == ()
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(
            model, avg_fn=swa_utils.get_swa_avg_fn(), multi_avg_fn=swa_utils.get_swa_multi_avg_fn()
        )
    for make in (swa_utils.get_ema_avg_fn, swa_utils.get_ema_multi_avg_fn):
        with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided"):
            make(1.5)


def lr_sequence(lib, kwargs: dict, steps: int = 8) -> list:
    swa = lib.optim.swa_utils if lib is torch else swa_utils
    w1, w2 = lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)
    opt = lib.optim.SGD([{"params": [w1]}, {"params": [w2], "lr": 0.3}], lr=0.1)
    sched = swa.SWALR(opt, **kwargs)
    seq = [sched.get_last_lr()]
    for _ in range(steps):
        opt.step()
        sched.step()
        seq.append(sched.get_last_lr())
    return seq


@pytest.mark.parametrize(
    "kwargs",
    [
        {"swa_lr": 0.05},
        {"swa_lr": 0.05, "anneal_strategy": "linear", "anneal_epochs": 3},
        {"swa_lr": [0.01, 0.5], "anneal_epochs": 4},
        {"swa_lr": [0.01, 0.5], "anneal_epochs": 0, "anneal_strategy": "linear"},
        {"swa_lr": 0.2, "anneal_epochs": 1},
    ],
)
def test_swalr_lrs_match_torch(kwargs: dict) -> None:
    ours, theirs = lr_sequence(tinyconv, kwargs), lr_sequence(torch, kwargs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-15, atol=0)


def test_swalr_errors_match_torch() -> None:
    for lib, swa in ((tinyconv, swa_utils), (torch, torch.optim.swa_utils)):
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1)
        with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear'"):
            swa.SWALR(opt, 0.1, anneal_strategy="exp")
        with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
            swa.SWALR(opt, 0.1, anneal_epochs=-1)
        with pytest.raises(ValueError, match="swa_lr"):
            swa.SWALR(opt, [0.1, 0.2])


def test_update_bn_matches_torch() -> None:
    stats = []
    for lib in (tinyconv, torch):
        swa = lib.optim.swa_utils if lib is torch else swa_utils
        model = bn_model(lib, "float64").eval()
        loader = [batch(lib, i, "float64") for i in range(3)]  # (x, y) pairs: x is used
        loader.append(batch(lib, 3, "float64")[0])  # a bare tensor batch
        swa.update_bn(loader, model)
        assert not model.training and model[1].momentum == 0.1
        stats.append({k: v.numpy() for k, v in model.state_dict().items()})
    for k in stats[1]:
        np.testing.assert_allclose(stats[0][k], stats[1][k], rtol=1e-12, atol=1e-12, err_msg=k)
    assert int(stats[0]["1.num_batches_tracked"]) == 4
