"""A Tensor learning rate (PyTorch allows `lr=torch.tensor(0.01)`): every optimiser steps with
PyTorch's numbers, schedulers change that Tensor in place, and what PyTorch refuses is refused."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinyconv

torch = pytest.importorskip("torch")

CONFIGS = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9, "weight_decay": 0.1}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"amsgrad": True}),
    ("RMSprop", {"momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("Adagrad", {"lr_decay": 0.1, "weight_decay": 0.1}),
    ("Adadelta", {"weight_decay": 0.1}),
    ("Adamax", {"weight_decay": 0.1}),
    ("NAdam", {"decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("RAdam", {"decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("RAdam", {"weight_decay": 0.1}),
    ("ASGD", {"weight_decay": 0.1}),
    ("Rprop", {}),
    ("LBFGS", {}),
]


def run(lib, name: str, kwargs: dict, lr_dtype: str, steps: int = 8) -> np.ndarray:
    p = lib.nn.Parameter(lib.tensor(np.linspace(-1.0, 1.3, 5), dtype=lib.float64))
    opt = getattr(lib.optim, name)([p], lr=lib.tensor(0.01, dtype=getattr(lib, lr_dtype)), **kwargs)

    def closure():
        opt.zero_grad()
        loss = (p**4).sum() + p.sum()
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
    return p.detach().numpy().copy()


@pytest.mark.parametrize("lr_dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, kwargs", CONFIGS)
def test_a_tensor_lr_steps_as_pytorchs(name, kwargs, lr_dtype):
    # a float32 lr makes PyTorch compute lr / bias_correction & co. in float32; so does tinyconv
    want = run(torch, name, kwargs, lr_dtype)
    got = run(tinyconv, name, kwargs, lr_dtype)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    if lr_dtype == "float32" and name in ("Adam", "AdamW", "NAdam", "RAdam"):
        # (not the float lr's result: the float32 rounding shows, and tinyconv has it too)
        assert not np.allclose(run(torch, name, kwargs, "float64"), want, rtol=0, atol=1e-12)


def test_what_pytorch_refuses_in_a_tensor_lr():
    p = tinyconv.nn.Parameter(tinyconv.ones(2))
    for name in ("SGD", "Adam", "Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "LBFGS"):
        cls = getattr(tinyconv.optim, name)
        with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
            cls([p], lr=tinyconv.tensor([0.01, 0.02]))
        with pytest.raises(ValueError, match="(?i)invalid learning rate"):
            cls([p], lr=tinyconv.tensor(-1.0))
        cls([p], lr=tinyconv.tensor([0.01]))  # one element, any shape: accepted
        tp = torch.nn.Parameter(torch.ones(2))
        with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
            getattr(torch.optim, name)([tp], lr=torch.tensor([0.01, 0.02]))
    for name in ("Adam", "AdamW"):
        with pytest.raises(ValueError, match="lr as a Tensor is not supported for capturable"):
            getattr(tinyconv.optim, name)([p], lr=tinyconv.tensor(0.01), foreach=True)
        with pytest.raises(ValueError, match="lr as a Tensor is not supported for capturable"):
            getattr(torch.optim, name)([tp], lr=torch.tensor(0.01), foreach=True)
    tinyconv.optim.SGD([p], lr=tinyconv.tensor(0.01), foreach=True)  # (SGD's foreach takes it)


def schedulers(lib):
    S = lib.optim.lr_scheduler
    return {
        "StepLR": lambda o: S.StepLR(o, 2, 0.5),
        "MultiStepLR": lambda o: S.MultiStepLR(o, [2, 4], 0.3),
        "ExponentialLR": lambda o: S.ExponentialLR(o, 0.9),
        "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, 5, 1e-4),
        "LambdaLR": lambda o: S.LambdaLR(o, lambda e: 0.95**e),
        "LinearLR": lambda o: S.LinearLR(o, 0.5, 1.0, 4),
        "PolynomialLR": lambda o: S.PolynomialLR(o, 6, 2.0),
        "CosineAnnealingWarmRestarts": lambda o: S.CosineAnnealingWarmRestarts(o, 3, 2),
        "OneCycleLR": lambda o: S.OneCycleLR(o, 0.1, total_steps=10),
        "CyclicLR": lambda o: S.CyclicLR(o, 0.001, 0.1, step_size_up=3),
        "SequentialLR": lambda o: S.SequentialLR(
            o, [S.ConstantLR(o, 0.5, 2), S.ExponentialLR(o, 0.9)], [2]
        ),
        "ReduceLROnPlateau": lambda o: S.ReduceLROnPlateau(o, patience=0, factor=0.5),
    }


@pytest.mark.parametrize("name", sorted(schedulers(tinyconv)))
def test_schedulers_update_a_tensor_lr_in_place_as_pytorchs(name):
    out = []
    for lib in (torch, tinyconv):
        p = lib.nn.Parameter(lib.tensor(np.linspace(-1.0, 1.3, 5), dtype=lib.float64))
        lr = lib.tensor(0.01)
        opt = lib.optim.Adam([p], lr=lr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = schedulers(lib)[name](opt)
        lrs = []
        for _ in range(8):
            opt.zero_grad()
            (p**4).sum().backward()
            opt.step()
            sched.step(1.0) if name == "ReduceLROnPlateau" else sched.step()
            assert opt.param_groups[0]["lr"] is lr  # filled in place, never replaced
            lrs.append(lr.item())
        last = sched.get_last_lr()[0]
        assert isinstance(last, lib.Tensor) and last is not lr  # a copy
        out.append((lrs, p.detach().numpy().copy(), str(lr.dtype).split(".")[1], last.item()))
    (want_lrs, want_p, want_dtype, want_last), (lrs, got_p, dtype, last) = out
    assert lrs == want_lrs and dtype == want_dtype == "float32" and last == want_last
    np.testing.assert_allclose(got_p, want_p, rtol=0, atol=1e-12)


BETA_CONFIGS = [
    ("Adam", {}),
    ("Adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {}),
    ("Adamax", {"weight_decay": 0.1}),
    ("NAdam", {"decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("RAdam", {}),
]


def run_betas(lib, name: str, kwargs: dict, dtype: str, steps: int = 8) -> np.ndarray:
    p = lib.nn.Parameter(lib.tensor(np.linspace(-1.0, 1.3, 5), dtype=lib.float64))
    betas = tuple(lib.tensor(b, dtype=getattr(lib, dtype)) for b in (0.8, 0.95))
    opt = getattr(lib.optim, name)([p], lr=0.01, betas=betas, **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        ((p**4).sum() + p.sum()).backward()
        opt.step()
    return p.detach().numpy().copy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, kwargs", BETA_CONFIGS)
def test_tensor_betas_step_as_pytorchs(name, kwargs, dtype):
    """PyTorch takes betas as 1-element Tensors too. float64 ones give its numbers exactly.
    With float32 ones PyTorch mixes float32 and float64 per intermediate (Adam: 1 - beta1 in
    float64 for its lerp, sqrt(1 - beta2^t) in float32), which tinyconv does not copy: the
    parameters agree to float32 rounding of the coefficients (up to 1.7e-9 here, after eight
    steps of 0.01)."""
    want = run_betas(torch, name, kwargs, dtype)
    got = run_betas(tinyconv, name, kwargs, dtype)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 if dtype == "float64" else 1e-8)


@pytest.mark.parametrize("name", ["Adam", "Adamax", "NAdam", "RAdam"])
def test_bad_tensor_betas_are_refused_as_pytorch_refuses_them(name):
    for lib in (torch, tinyconv):
        p = lib.nn.Parameter(lib.ones(2))
        with pytest.raises(RuntimeError, match="(?i)(boolean|truth) value of a? ?tensor"):
            getattr(lib.optim, name)([p], betas=(lib.tensor([0.9, 0.8]), lib.tensor(0.99)))
        with pytest.raises(ValueError, match="Invalid beta parameter at index 0"):
            getattr(lib.optim, name)([p], betas=(lib.tensor(1.5), lib.tensor(0.99)))
