"""Adamax, NAdam, RAdam, Adadelta, Rprop, ASGD and Adafactor against PyTorch 2.13: parameters, every
state entry (values and dtypes) and the param_groups after every step of a small model's
training (float64, 1e-12), with two parameter groups of different options, a gradient left
None (skipped) and one zeroed, under lr schedulers; state_dict round trips; PyTorch's errors
for bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
from test_optimizers import batch, optim_of, tiny_model

import tinyconv
from tinyconv import nn, optim

TOL = {"rtol": 1e-12, "atol": 1e-12}
NAMES = ["Adamax", "NAdam", "RAdam", "Adadelta", "Rprop", "ASGD", "Adafactor"]

# name, options of the first parameter group (conv weight and bias), options of the second
CASES = [
    ("Adamax", {}, {}),
    ("Adamax", {"lr": 0.01, "weight_decay": 0.1, "maximize": True}, {"betas": (0.5, 0.9)}),
    ("Adamax", {"eps": 1e-2, "foreach": False}, {"lr": 0.05}),
    ("NAdam", {}, {}),
    ("NAdam", {"lr": 0.01, "momentum_decay": 0.05}, {"betas": (0.8, 0.99), "eps": 1e-4}),
    (
        "NAdam",
        {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True},
        {"weight_decay": 0.2, "maximize": True},
    ),
    ("RAdam", {}, {}),
    # b2 = 0.9: rho_t passes 5 after a few steps, so both branches of the update run
    ("RAdam", {"lr": 0.01, "betas": (0.9, 0.9)}, {"lr": 0.02, "betas": (0.5, 0.8)}),
    (
        "RAdam",
        {"lr": 0.01, "betas": (0.9, 0.9), "weight_decay": 0.1, "decoupled_weight_decay": True},
        {"weight_decay": 0.3, "maximize": True, "betas": (0.9, 0.9)},
    ),
    ("Adadelta", {}, {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.5, "eps": 1e-4, "weight_decay": 0.1}, {"maximize": True}),
    ("Rprop", {}, {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.1)}, {"maximize": True}),
    ("ASGD", {}, {}),
    # t0 small: the averaging (mu < 1) starts within the run
    (
        "ASGD",
        {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 5, "weight_decay": 0.1},
        {"lr": 0.1, "t0": 0, "maximize": True},
    ),
    # (the conv weight is 4-D: factored over its last two dims; the biases are vectors)
    ("Adafactor", {}, {}),
    (
        "Adafactor",
        {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
        {"beta2_decay": -0.5, "d": 1.5, "eps": (1e-6, 1e-2)},
    ),
]


def as_numpy(v):
    return v.detach().numpy() if hasattr(v, "detach") else v


def snapshot(model, opt) -> dict:
    """Parameters, and the optimizer's state_dict with every tensor as (dtype name, array)."""
    sd = opt.state_dict()
    state = {
        i: {k: (str(v.dtype).split(".")[-1], as_numpy(v).copy()) for k, v in st.items()}
        for i, st in sd["state"].items()
    }
    groups = [{k: v for k, v in g.items()} for g in sd["param_groups"]]
    return {
        "params": [p.detach().numpy().copy() for p in model.parameters()],
        "state": state,
        "groups": groups,
    }


def run(lib, name, first, second, steps=12, sched=None, start=0, model=None, opt=None):
    """Train tiny_model with two parameter groups. Step 2 leaves the linear weight's gradient
    None (the optimizer skips it: no state change), step 3 zeroes the conv bias's gradient
    (a real step with g = 0). Returns a snapshot after every step."""
    if model is None:
        model = tiny_model(lib)
        ps = list(model.parameters())
        opt = getattr(optim_of(lib), name)(
            [{"params": ps[:2], **first}, {"params": ps[2:]}], **second
        )
    s = sched(opt, lib) if sched else None
    history = []
    for i in range(start, start + steps):
        x, y = batch(lib, i)
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        ps = list(model.parameters())
        if i == 2:
            ps[2].grad = None
        if i == 3:
            ps[1].grad = lib.zeros_like(ps[1])
        opt.step()
        if s is not None:
            s.step()
        history.append(snapshot(model, opt))
    return history, model, opt


def assert_same_history(mine, theirs, what) -> None:
    for step, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        where = f"{what} after step {step + 1}"
        for pa, pb in zip(a["params"], b["params"], strict=True):
            np.testing.assert_allclose(pa, pb, **TOL, err_msg=where)
        assert a["state"].keys() == b["state"].keys(), where
        for i in a["state"]:
            sa, sb = a["state"][i], b["state"][i]
            assert list(sa) == list(sb), where  # the same entries, in the same order
            for k in sa:
                assert sa[k][0] == sb[k][0], f"{where}: dtype of state {i}.{k}"
                np.testing.assert_allclose(sa[k][1], sb[k][1], **TOL, err_msg=f"{where}: {k}")
        assert a["groups"] == b["groups"], where


@pytest.mark.torch
@pytest.mark.parametrize(
    "name, first, second", CASES, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(CASES)]
)
def test_matches_torch_step_for_step(name, first, second):
    torch = pytest.importorskip("torch")
    mine, _, _ = run(tinyconv, name, first, second)
    theirs, _, _ = run(torch, name, first, second)
    assert_same_history(mine, theirs, f"{name} {first} {second}")
    moved = mine[-1]["params"][0] - next(tiny_model(tinyconv).parameters()).detach().numpy()
    assert np.abs(moved).max() > 1e-4  # the parameters did move
    assert mine[2]["state"][2]["step"][1] == 2  # the None gradient at step 3 was skipped
    assert mine[3]["state"][1]["step"][1] == 4  # the zero gradient at step 4 was a step


@pytest.mark.torch
@pytest.mark.parametrize(
    "name, sched",
    [
        ("NAdam", lambda o, L: L.StepLR(o, step_size=3, gamma=0.5)),
        ("RAdam", lambda o, L: L.ExponentialLR(o, gamma=0.8)),
        ("ASGD", lambda o, L: L.CosineAnnealingLR(o, T_max=5)),  # eta follows lr a step late
        ("Rprop", lambda o, L: L.StepLR(o, step_size=2)),  # lr only seeds step_size
        ("Adadelta", lambda o, L: L.LinearLR(o, start_factor=0.2, total_iters=6)),
        ("Adamax", lambda o, L: L.OneCycleLR(o, max_lr=0.05, total_steps=12)),
    ],
)
def test_with_a_scheduler_matches_torch(name, sched):
    torch = pytest.importorskip("torch")

    def make(opt, lib):
        return sched(opt, optim.lr_scheduler if lib is tinyconv else lib.optim.lr_scheduler)

    mine, _, _ = run(tinyconv, name, {"lr": 0.02}, {"lr": 0.01}, sched=make)
    theirs, _, _ = run(torch, name, {"lr": 0.02}, {"lr": 0.01}, sched=make)
    assert_same_history(mine, theirs, f"{name} with a scheduler")


@pytest.mark.torch
@pytest.mark.parametrize("name", NAMES)
def test_float32_parameters_keep_float32_state(name):
    """Updates happen in place in float32 (no float64 state or parameters appear), and stay
    close to PyTorch's float32 run."""
    torch = pytest.importorskip("torch")
    got = []
    for lib in (tinyconv, torch):
        m = tiny_model(lib).float()
        opt = getattr(optim_of(lib), name)(m.parameters(), lr=0.01)
        for i in range(5):
            x, y = batch(lib, i)
            opt.zero_grad()
            ((m(x.float()) - y.float()) ** 2).mean().backward()
            opt.step()
        got.append(snapshot(m, opt))
    mine, theirs = got
    for pa, pb in zip(mine["params"], theirs["params"], strict=True):
        assert pa.dtype == np.float32
        np.testing.assert_allclose(pa, pb, rtol=1e-4, atol=1e-5)
    for i in mine["state"]:
        for k, (dtype, value) in mine["state"][i].items():
            assert dtype == theirs["state"][i][k][0] == "float32", (k, dtype)
            np.testing.assert_allclose(value, theirs["state"][i][k][1], rtol=1e-4, atol=1e-5)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["NAdam", "ASGD"])
def test_scalar_state_in_float64_under_a_float64_default(name):
    """mu_product (NAdam), eta and mu (ASGD) take the default float dtype of the first step,
    as PyTorch's; under a float64 default they no longer round to float32."""
    torch = pytest.importorskip("torch")
    first, second = {"lr": 0.03, "t0": 2} if name == "ASGD" else {"lr": 0.03}, {}
    old_mine, old_theirs = tinyconv.get_default_dtype(), torch.get_default_dtype()
    try:
        tinyconv.set_default_dtype(tinyconv.float64)
        torch.set_default_dtype(torch.float64)
        mine, _, _ = run(tinyconv, name, first, second, steps=6)
        theirs, _, _ = run(torch, name, first, second, steps=6)
    finally:
        tinyconv.set_default_dtype(old_mine)
        torch.set_default_dtype(old_theirs)
    assert_same_history(mine, theirs, f"{name}, float64 default")
    assert all(dt == "float64" for dt, _ in mine[-1]["state"][0].values())


def round_trip(lib, name, first, second, steps=(4, 5)):
    """Train steps[0] steps, save the optimizer's and model's state_dicts, load them into a
    new model (other initial weights) and a new optimizer, train steps[1] more steps."""
    _, model, opt = run(lib, name, first, second, steps=steps[0])
    saved, weights = opt.state_dict(), model.state_dict()
    m2 = tiny_model(lib, seed=5)
    m2.load_state_dict(weights)
    ps = list(m2.parameters())
    # (the new optimizer starts with other options: loading brings the saved ones back)
    opt2 = getattr(optim_of(lib), name)([{"params": ps[:2]}, {"params": ps[2:]}], lr=0.5)
    opt2.load_state_dict(saved)
    history, _, _ = run(
        lib, name, first, second, steps=steps[1], start=steps[0], model=m2, opt=opt2
    )
    return history


@pytest.mark.parametrize(
    "name, first, second", CASES, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(CASES)]
)
def test_state_dict_round_trip_continues_identically(name, first, second):
    full, _, _ = run(tinyconv, name, first, second, steps=9)
    resumed = round_trip(tinyconv, name, first, second)
    if name in ("NAdam", "ASGD"):
        # Loading casts the 0-d float32 mu_product / eta / mu to the parameters' float64
        # (PyTorch does the same), so the resumed run rounds them less: equal to ~1e-8.
        for a, b in zip(full[4:], resumed, strict=True):
            for pa, pb in zip(a["params"], b["params"], strict=True):
                np.testing.assert_allclose(pa, pb, rtol=1e-6, atol=1e-9)
        assert resumed[0]["state"][0]["step"][0] == "float32"
        scalar = "mu_product" if name == "NAdam" else "eta"
        assert resumed[0]["state"][0][scalar][0] == "float64"
    else:
        assert_same_history(full[4:], resumed, f"{name} resumed")
        for a, b in zip(full[4:], resumed, strict=True):
            for pa, pb in zip(a["params"], b["params"], strict=True):
                np.testing.assert_array_equal(pa, pb)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["NAdam", "ASGD"])
def test_state_dict_round_trip_matches_torchs(name):
    torch = pytest.importorskip("torch")
    first = {"lr": 0.05, "t0": 2} if name == "ASGD" else {"lr": 0.05}
    mine = round_trip(tinyconv, name, first, {})
    theirs = round_trip(torch, name, first, {})
    assert_same_history(mine, theirs, f"{name} resumed")


def test_adadelta_first_step_closed_form():
    """v = (1 - rho) g^2, d = sqrt(eps) / sqrt(v + eps) g, u = (1 - rho) d^2."""
    g = np.array([2.0, -0.5, 0.0])
    p = nn.Parameter(tinyconv.zeros(3, dtype=tinyconv.float64))
    opt = optim.Adadelta([p], lr=0.7, rho=0.75, eps=1e-2)
    p.grad = tinyconv.tensor(g, dtype=tinyconv.float64)
    opt.step()
    d = np.sqrt(1e-2) / np.sqrt(0.25 * g * g + 1e-2) * g
    np.testing.assert_allclose(p.detach().numpy(), -0.7 * d, rtol=1e-14)
    np.testing.assert_allclose(opt.state[p]["acc_delta"], 0.25 * d * d, rtol=1e-14)


def test_rprop_grows_shrinks_and_clamps_the_step():
    p = nn.Parameter(tinyconv.zeros(2, dtype=tinyconv.float64))
    opt = optim.Rprop([p], lr=0.1, etas=(0.5, 2.0), step_sizes=(0.04, 0.3))
    path = []
    for g in ([1.0, 1.0], [1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [1.0, 1.0]):
        p.grad = tinyconv.tensor(g, dtype=tinyconv.float64)
        opt.step()
        path.append(p.detach().numpy().copy())
    # coordinate 0: always the same sign: 0.1, 0.2, then clamped at 0.3
    np.testing.assert_allclose([q[0] for q in path], [-0.1, -0.3, -0.6, -0.9, -1.2], rtol=1e-14)
    # coordinate 1: the flip at step 2 halves the step (0.05) and skips the move; step 3 sees
    # prev = 0 and moves by 0.05; the flip at step 4 shrinks it to the 0.04 floor, no move
    np.testing.assert_allclose([q[1] for q in path], [-0.1, -0.1, -0.05, -0.05, -0.09], rtol=1e-14)


def test_asgd_averages_after_t0():
    p = nn.Parameter(tinyconv.zeros(1, dtype=tinyconv.float64))
    opt = optim.ASGD([p], lr=0.5, lambd=0.0, alpha=0.0, t0=1)
    seen = []
    for _ in range(4):
        p.grad = tinyconv.tensor([1.0], dtype=tinyconv.float64)
        opt.step()
        seen.append(p.item())
    # lambd = 0: plain SGD with eta = lr; mu = 1 / max(1, t - t0) is 1, 1, 1/2 ... so ax
    # copies p for the first three steps and then averages
    assert seen == [-0.5, -1.0, -1.5, -2.0]
    np.testing.assert_allclose(opt.state[p]["ax"], [-1.5 + 0.5 * (-2.0 + 1.5)], rtol=1e-14)


BAD = [
    ("Adamax", {"lr": -1.0}),
    ("Adamax", {"eps": -1e-8}),
    ("Adamax", {"betas": (1.0, 0.9)}),
    ("Adamax", {"betas": (0.9, -0.5)}),
    ("Adamax", {"weight_decay": -0.1}),
    ("NAdam", {"lr": -0.5}),
    ("NAdam", {"betas": (0.9, 1.0)}),
    ("NAdam", {"momentum_decay": -1.0}),
    ("NAdam", {"eps": -1.0}),
    ("RAdam", {"weight_decay": -2.0}),
    ("RAdam", {"betas": (-0.1, 0.9)}),
    ("RAdam", {"lr": -1e-3}),
    ("Adadelta", {"rho": 1.5}),
    ("Adadelta", {"rho": -0.1}),
    ("Adadelta", {"eps": -1.0}),
    ("Adadelta", {"lr": -1.0}),
    ("Rprop", {"etas": (1.5, 1.2)}),
    ("Rprop", {"etas": (0.5, 0.9)}),
    ("Rprop", {"etas": (0, 1.2)}),
    ("Rprop", {"lr": -0.01}),
    ("ASGD", {"lr": -1.0}),
    ("ASGD", {"weight_decay": -1.0}),
]


@pytest.mark.torch
@pytest.mark.parametrize("name, kwargs", BAD, ids=[f"{n}-{k}" for n, k in BAD])
def test_bad_arguments_raise_pytorchs_error(name, kwargs):
    """The same exception type, and PyTorch's message inside ours (which also names the
    argument and what it must be)."""
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))], **kwargs)
    with pytest.raises(type(theirs.value)) as mine:
        getattr(optim, name)([nn.Parameter(tinyconv.zeros(2))], **kwargs)
    assert str(theirs.value) in str(mine.value)
    assert name in str(mine.value)
    assert list(kwargs)[0] in str(mine.value)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "Adafactor"])  # (PyTorch's has none)
@pytest.mark.parametrize("flag", ["capturable", "differentiable"])
def test_flags_are_kept_and_true_raises_at_the_step(name, flag):
    p = [nn.Parameter(tinyconv.zeros(2))]
    assert getattr(optim, name)(p, **{flag: False}).param_groups[0][flag] is False
    opt = getattr(optim, name)(p, **{flag: True})
    assert opt.param_groups[0][flag] is True
    p[0].grad = tinyconv.ones(2)
    # (PyTorch's: capturable asserts a CUDA device; differentiable writes into a leaf)
    with pytest.raises(AssertionError if flag == "capturable" else RuntimeError):
        opt.step()


@pytest.mark.parametrize("name", NAMES)
def test_a_learning_rate_that_is_not_a_number_is_a_type_error(name):
    with pytest.raises(TypeError, match="lr must be a real number, got str"):
        getattr(optim, name)([nn.Parameter(tinyconv.zeros(2))], lr="0.1")


@pytest.mark.torch
@pytest.mark.parametrize("name", NAMES)
def test_defaults_and_group_keys_match_torch(name):
    torch = pytest.importorskip("torch")
    mine = getattr(optim, name)([nn.Parameter(tinyconv.zeros(2))])
    theirs = getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))])
    assert mine.defaults == theirs.defaults
    assert list(mine.defaults) == list(theirs.defaults)  # the order repr and state dicts show
    assert repr(mine) == repr(theirs)


@pytest.mark.torch
@pytest.mark.parametrize("name", NAMES)
def test_repr_with_several_groups_matches_torch(name):
    """A blank line between parameter groups, as PyTorch prints them (and after
    add_param_group and an edited lr)."""
    torch = pytest.importorskip("torch")
    texts = []
    for lib in (tinyconv, torch):
        ps = [lib.nn.Parameter(lib.zeros(2)) for _ in range(3)]
        opt = getattr(lib.optim, name)([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.5}])
        opt.add_param_group({"params": [ps[2]], "weight_decay": 0.25})
        opt.param_groups[0]["lr"] = 0.125
        texts.append(repr(opt))
    assert "\n\nParameter Group 1\n" in texts[0]
    assert texts[0] == texts[1]


def test_a_parameter_listed_twice_warns_and_steps_as_pytorchs():
    # (a shared embedding listed by an encoder and a decoder): PyTorch warns and updates it
    # once per entry; SGD's momentum buffers follow its read-all-then-update order
    torch = pytest.importorskip("torch")
    makers = {
        "sgd": lambda o, w: o.SGD([w, w], lr=0.1),
        "momentum": lambda o, w: o.SGD([w, w], lr=0.1, momentum=0.9),
        "nesterov": lambda o, w: o.SGD([w, w], lr=0.1, momentum=0.9, nesterov=True, weight_decay=1),
        "adam": lambda o, w: o.Adam([w, w], lr=0.1),
        "rmsprop": lambda o, w: o.RMSprop([w, w], lr=0.1),
    }
    for name, make in makers.items():
        seen = []
        for lib in (tinyconv, torch):
            w = lib.nn.Parameter(lib.ones(2))
            with pytest.warns(UserWarning, match="duplicate parameters"):
                opt = make(lib.optim, w)
            for _ in range(3):
                w.grad = lib.ones(2) * 0.5
                opt.step()
            seen.append(w.detach().numpy().copy())
        np.testing.assert_allclose(seen[0], seen[1], rtol=1e-6, err_msg=name)
