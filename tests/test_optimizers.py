"""RMSprop and Adagrad (and the options SGD/Adam/AdamW share with PyTorch): the same
parameters as PyTorch after every one of 20 steps on a small model (float64, 1e-12), closed
forms for the first step, state_dict round trips and bad-argument errors."""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv
from tinyconv import nn, optim
from tinyconv.optim import lr_scheduler

TOL = {"rtol": 1e-12, "atol": 1e-12}


def tiny_model(lib, seed: int = 0):
    """conv -> tanh -> flatten -> linear, float64, the same weights in both libraries."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 2, 3, 3), (3,), (2, 12), (2,)]
    values = [rng.standard_normal(s) * 0.5 for s in shapes]
    m = lib.nn.Sequential(
        lib.nn.Conv2d(2, 3, 3), lib.nn.Tanh(), lib.nn.Flatten(), lib.nn.Linear(12, 2)
    ).double()
    for p, v in zip(m.parameters(), values, strict=True):
        p.data = lib.tensor(v, dtype=lib.float64)
    return m


def batch(lib, step: int):
    rng = np.random.default_rng(100 + step)
    x = lib.tensor(rng.standard_normal((4, 2, 4, 4)), dtype=lib.float64)
    y = lib.tensor(rng.standard_normal((4, 2)), dtype=lib.float64)
    return x, y


def train(lib, make_opt, steps: int = 20, sched=None) -> list[list[np.ndarray]]:
    """Parameters after each step of MSE training with the optimizer make_opt(params, lib)
    builds."""
    m = tiny_model(lib)
    opt = make_opt(m.parameters(), lib)
    s = sched(opt, lib) if sched else None
    history = []
    for i in range(steps):
        x, y = batch(lib, i)
        opt.zero_grad()
        loss = ((m(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        if s is not None:
            s.step()
        history.append([p.detach().numpy().copy() for p in m.parameters()])
    return history


def optim_of(lib):
    return optim if lib is tinyconv else lib.optim


CASES = [
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6}),
    ("RMSprop", {"lr": 0.005, "centered": True}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.9}),
    (
        "RMSprop",
        {"lr": 0.003, "momentum": 0.5, "centered": True, "weight_decay": 0.1, "maximize": True},
    ),
    ("RMSprop", {"lr": 0.01, "alpha": 0.3, "centered": True}),  # alpha < 0.5: the other lerp branch
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", {"lr": 0.05, "weight_decay": 0.2, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.05, "eps": 1e-3, "maximize": True, "foreach": None}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01, "foreach": None}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "dampening": 0.3, "maximize": True}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "foreach": None}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "maximize": True}),
    ("AdamW", {"lr": 0.01, "amsgrad": True, "foreach": None}),
]


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_torch_step_for_step(name, kwargs):
    torch = pytest.importorskip("torch")

    def make(params, lib):
        return getattr(optim_of(lib), name)(params, **kwargs)

    mine, theirs = train(tinyconv, make), train(torch, make)
    for step, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        for pa, pb in zip(a, b, strict=True):
            np.testing.assert_allclose(pa, pb, **TOL, err_msg=f"{name} {kwargs} step {step + 1}")
    assert not np.allclose(mine[0][0], mine[-1][0])  # the parameters did move


@pytest.mark.parametrize(
    "name, kwargs, sched",
    [
        (
            "RMSprop",
            {"lr": 0.01, "momentum": 0.9},
            lambda o, L: L.OneCycleLR(o, max_lr=0.02, total_steps=20),
        ),
        ("Adam", {"lr": 0.01}, lambda o, L: L.CyclicLR(o, 0.001, 0.02, step_size_up=3)),
        ("Adagrad", {"lr": 0.1}, lambda o, L: L.CosineAnnealingLR(o, T_max=7)),
    ],
)
def test_with_a_scheduler_matches_torch(name, kwargs, sched):
    """The scheduler writes lr (and momentum / beta1) into the groups; the optimizer reads them."""
    torch = pytest.importorskip("torch")

    def make(params, lib):
        return getattr(optim_of(lib), name)(params, **kwargs)

    def make_sched(opt, lib):
        return sched(opt, lr_scheduler if lib is tinyconv else lib.optim.lr_scheduler)

    mine, theirs = train(tinyconv, make, sched=make_sched), train(torch, make, sched=make_sched)
    for a, b in zip(mine, theirs, strict=True):
        for pa, pb in zip(a, b, strict=True):
            np.testing.assert_allclose(pa, pb, **TOL)


def one_step(opt_cls, grad, **kwargs):
    p = nn.Parameter(tinyconv.zeros(len(grad), dtype=tinyconv.float64))
    opt = opt_cls([p], **kwargs)
    p.grad = tinyconv.tensor(grad, dtype=tinyconv.float64)
    opt.step()
    return p.detach().numpy(), opt


def test_rmsprop_first_step_closed_form():
    g = np.array([2.0, -0.5, 0.0])
    got, _ = one_step(optim.RMSprop, g, lr=0.1, alpha=0.75)
    expect = -0.1 * g / (np.sqrt(0.25 * g * g) + 1e-8)  # square_avg = (1 - alpha) g^2
    np.testing.assert_allclose(got, expect, rtol=1e-14)
    np.testing.assert_allclose(got[:2], [-0.2, 0.2], rtol=1e-7)  # lr * sign(g) / sqrt(1 - alpha)
    got, _ = one_step(optim.RMSprop, g, lr=0.1, alpha=0.75, centered=True)
    # centered: grad_avg = 0.25 g, so the variance estimate is 0.25 g^2 - 0.0625 g^2
    np.testing.assert_allclose(got, -0.1 * g / (np.sqrt(0.1875 * g * g) + 1e-8), rtol=1e-14)


def test_adagrad_steps_closed_form():
    g = np.array([3.0, -4.0])
    p = nn.Parameter(tinyconv.zeros(2, dtype=tinyconv.float64))
    opt = optim.Adagrad([p], lr=1.0, lr_decay=0.5, eps=0.0)
    for _ in range(3):
        p.grad = tinyconv.tensor(g, dtype=tinyconv.float64)
        opt.step()
    # step t moves by lr / (1 + (t - 1) lr_decay) * g / (sqrt(t) |g|)
    moved = -sum(1 / (1 + (t - 1) * 0.5) / np.sqrt(t) for t in (1, 2, 3)) * np.sign(g)
    np.testing.assert_allclose(p.detach().numpy(), moved, rtol=1e-14)
    assert opt.state[p]["step"] == 3
    np.testing.assert_allclose(opt.state[p]["sum"], 3 * g * g)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("RMSprop", {"momentum": 0.9, "centered": True}),
        ("Adagrad", {"initial_accumulator_value": 0.1}),
    ],
)
def test_state_dict_round_trip_continues_identically(name, kwargs):
    def make(params, lib):
        return getattr(optim, name)(params, lr=0.01, **kwargs)

    full = train(tinyconv, make, steps=6)
    m = tiny_model(tinyconv)
    opt = make(m.parameters(), tinyconv)
    for i in range(3):
        x, y = batch(tinyconv, i)
        opt.zero_grad()
        ((m(x) - y) ** 2).mean().backward()
        opt.step()
    saved, weights = opt.state_dict(), m.state_dict()
    m2 = tiny_model(tinyconv, seed=5)
    m2.load_state_dict(weights)
    opt2 = make(m2.parameters(), tinyconv)
    opt2.load_state_dict(saved)
    for i in range(3, 6):
        x, y = batch(tinyconv, i)
        opt2.zero_grad()
        ((m2(x) - y) ** 2).mean().backward()
        opt2.step()
    for a, b in zip(full[-1], [p.detach().numpy() for p in m2.parameters()], strict=True):
        np.testing.assert_array_equal(a, b)


def test_adagrad_state_exists_from_construction_like_torch():
    torch = pytest.importorskip("torch")
    p = nn.Parameter(tinyconv.zeros(2, dtype=tinyconv.float64))
    pt = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    mine = optim.Adagrad([p], initial_accumulator_value=0.3).state_dict()
    theirs = torch.optim.Adagrad([pt], initial_accumulator_value=0.3).state_dict()
    assert set(mine["state"][0]) == set(theirs["state"][0]) == {"step", "sum"}
    np.testing.assert_array_equal(
        mine["state"][0]["sum"].numpy(), theirs["state"][0]["sum"].numpy()
    )
    for name, kwargs in (("RMSprop", {"momentum": 0.9, "centered": True}), ("Adagrad", {})):
        mine = getattr(optim, name)([p], **kwargs).param_groups[0]
        theirs = getattr(torch.optim, name)([pt], **kwargs).param_groups[0]
        assert set(mine) <= set(theirs)
        assert {k: mine[k] for k in mine if k != "params"} == {
            k: theirs[k] for k in mine if k != "params"
        }


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: optim.RMSprop(p, lr=-1), "lr"),
        (lambda p: optim.RMSprop(p, alpha=-0.1), "alpha"),
        (lambda p: optim.RMSprop(p, eps=-1e-8), "eps"),
        (lambda p: optim.RMSprop(p, momentum=-0.9), "momentum"),
        (lambda p: optim.RMSprop(p, weight_decay=-1), "weight_decay"),
        (lambda p: optim.Adagrad(p, lr_decay=-1), "lr_decay"),
        (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
        (lambda p: optim.Adagrad(p, eps="small"), "eps"),
        (lambda p: optim.Adagrad(p, weight_decay=-0.1), "weight_decay"),
    ],
)
def test_bad_arguments_name_the_argument(make, words):
    with pytest.raises(ValueError, match=words):
        make([nn.Parameter(tinyconv.zeros(2))])


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda p: optim.RMSprop(p, differentiable=True), RuntimeError),
        (lambda p: optim.RMSprop(p, capturable=True), AssertionError),
    ],
)
def test_capturable_and_differentiable_raise_at_the_step(make, error):
    """As PyTorch on the CPU: accepted at construction, refused by the step."""
    p = nn.Parameter(tinyconv.zeros(2))
    opt = make([p])
    p.grad = tinyconv.ones(2)
    with pytest.raises(error):
        opt.step()


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam"])
@pytest.mark.parametrize(
    "kwargs", [{}, {"weight_decay": 0.1}, {"weight_decay": 0.1, "maximize": True}]
)
def test_a_0d_parameter_is_updated_as_pytorch_updates_it(name, kwargs):
    """CLIP's learnable temperature, nn.Parameter(torch.ones([]) * log(1/0.07)), beside a
    vector: Adam's plain path made its scratch array with a NumPy product, which for a 0-d
    parameter is a scalar it then could not write into (TypeError at the first step)."""
    torch = pytest.importorskip("torch")
    got = []
    for lib in (torch, tinyconv):
        scale = lib.nn.Parameter(lib.tensor(1.5, dtype=lib.float64))
        vec = lib.nn.Parameter(lib.tensor([0.5, -1.0], dtype=lib.float64))
        opt = getattr(lib.optim, name)([scale, vec], lr=0.1, **kwargs)
        for _ in range(3):
            opt.zero_grad()
            ((scale * 3 - 1) ** 2 + (vec**3).sum()).backward()
            opt.step()
        assert tuple(scale.shape) == ()
        got.append([scale.item(), *vec.tolist()])
    np.testing.assert_allclose(got[1], got[0], rtol=1e-12, atol=1e-12)


def test_param_groups_hold_the_dicts_the_program_passed():
    """PyTorch fills the defaults into the caller's dict and keeps that dict: changing its
    "lr" afterwards changes the optimiser (tinyconv used to keep a copy)."""
    torch = pytest.importorskip("torch")
    for lib in (torch, tinyconv):
        w = lib.nn.Parameter(lib.ones(2))
        groups = [{"params": [w], "lr": 0.5}]
        opt = lib.optim.SGD(groups, lr=0.1, momentum=0.9)
        assert opt.param_groups[0] is groups[0]
        assert groups[0]["momentum"] == 0.9 and groups[0]["params"][0] is w
        groups[0]["lr"] = 0.25
        w.grad = lib.ones(2)
        opt.step()
        assert w.tolist() == [0.75, 0.75]
        with pytest.raises(TypeError, match="param_group must be a dict"):
            opt.add_param_group([lib.nn.Parameter(lib.ones(1))])


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_betas_must_be_both_floats_as_in_pytorch(name):
    """PyTorch refuses betas=(0, 0.99) (an int) with this ValueError; (0.0, 0.99) runs."""
    torch = pytest.importorskip("torch")
    for lib in (torch, tinyconv):
        p = [lib.nn.Parameter(lib.ones(2))]
        with pytest.raises(ValueError, match="betas must be either both floats or both Tensors"):
            getattr(lib.optim, name)(p, betas=(0, 0.99))
        getattr(lib.optim, name)(p, betas=(0.0, 0.99))
        getattr(lib.optim, name)(p, betas=[0.5, 0.9])


def test_custom_optimizer_reads_state_before_writing_it():
    # (the usual custom step: `state = self.state[p]`, then `if len(state) == 0:` to fill
    # it; PyTorch's Optimizer.state is a defaultdict(dict))
    torch = pytest.importorskip("torch")

    def run(lib):
        class MomentumSGD(lib.optim.Optimizer):
            def __init__(self, params, lr=0.1):
                super().__init__(params, {"lr": lr})

            @lib.no_grad()
            def step(self):
                for group in self.param_groups:
                    for p in group["params"]:
                        state = self.state[p]
                        if len(state) == 0:
                            state["m"] = lib.zeros_like(p)
                        state["m"].mul_(0.9).add_(p.grad)
                        p.add_(state["m"], alpha=-group["lr"])

        p = lib.nn.Parameter(lib.tensor([1.0, -2.0]))
        opt = MomentumSGD([p])
        assert type(opt.state).__name__ == "defaultdict"
        for _ in range(3):
            opt.zero_grad()
            (p * p).sum().backward()
            opt.step()
        return p.detach().numpy(), opt.state[p]["m"].numpy()

    for got, want in zip(run(tinyconv), run(torch), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("Adam", {}),
        ("AdamW", {"amsgrad": True}),
        ("RMSprop", {"momentum": 0.5}),
        ("Adagrad", {}),
        ("SGD", {"momentum": 0.9}),
        ("Adamax", {}),
        ("NAdam", {}),
        ("RAdam", {}),
        ("Adadelta", {}),
        ("ASGD", {}),
        ("Rprop", {}),
    ],
)
def test_state_holds_tensors_as_pytorchs(name, kwargs):
    # (opt.state[p] as PyTorch keeps it: Tensors, the step count a 0-d Tensor, so that code
    # reading the state (logging exp_avg's norm, a warm-up reading the step) runs)
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (tinyconv, torch):
        p = lib.nn.Parameter(lib.tensor([1.0, -2.0, 0.5]))
        opt = getattr(lib.optim, name)([p], lr=0.1, **kwargs)
        counts = []
        for _ in range(2):
            opt.zero_grad()
            (p * p * p).sum().backward()
            opt.step()
            counts.append(opt.state[p].get("step"))
        assert counts[0] is counts[1]  # (one step Tensor, counted on in place)
        state = opt.state[p]
        assert all(isinstance(v, lib.Tensor) for v in state.values()), state
        seen.append({k: v.detach().numpy().astype(np.float64) for k, v in state.items()})
    assert sorted(seen[0]) == sorted(seen[1])
    for k in seen[1]:
        np.testing.assert_allclose(seen[0][k], seen[1][k], rtol=1e-5, atol=1e-7, err_msg=k)


def test_named_parameters_give_param_names():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    opt = optim.Adam(model.named_parameters(), lr=0.1)
    names = ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert opt.param_groups[0]["params"] == list(model.parameters())
    assert opt.state_dict()["param_groups"][0]["param_names"] == names
    named = dict(model.named_parameters())
    sgd = optim.SGD(
        [
            {"params": [("0.weight", named["0.weight"])], "lr": 0.5},
            {"params": [("2.bias", named["2.bias"])]},
        ],
        lr=0.1,
    )
    assert [g["param_names"] for g in sgd.param_groups] == [["0.weight"], ["2.bias"]]
    with pytest.raises(ValueError, match="Some param names are missing"):
        optim.SGD([("0.weight", named["0.weight"]), named["0.bias"]], lr=0.1)
    with pytest.raises(ValueError, match="cannot add param group without names"):
        optim.SGD([{"params": [("a", named["0.weight"])]}, {"params": [named["0.bias"]]}], lr=0.1)
    # load_state_dict: the checkpoint's names replace the optimizer's; none keeps them
    sd = opt.state_dict()
    sd["param_groups"][0]["param_names"] = list("abcd")
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["param_names"] == list("abcd")
    opt.load_state_dict(optim.Adam(model.parameters(), lr=0.1).state_dict())
    assert opt.param_groups[0]["param_names"] == list("abcd")


def test_required_hyperparameter_and_lr_type():
    from tinyconv.optim.optimizer import Optimizer, required

    w = nn.Parameter(tinyconv.ones(2))
    with pytest.raises(ValueError, match="required optimization parameter lr"):
        Optimizer([w], {"lr": required})
    opt = Optimizer([{"params": [w], "lr": 0.5}], {"lr": required, "momentum": 0.0})
    assert opt.param_groups[0]["lr"] == 0.5 and repr(required) == "<required parameter>"
    assert Optimizer([w], {"momentum": 0.9}).param_groups[0]["momentum"] == 0.9  # no lr at all
    with pytest.raises(TypeError):  # (PyTorch's type; also a ValueError, as tinyconv's was)
        optim.Adam([w], lr="a")
    with pytest.raises(TypeError):
        optim.LBFGS([w]).step()
