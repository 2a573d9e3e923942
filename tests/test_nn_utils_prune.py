"""torch.nn.utils.prune, run side by side with PyTorch: masks, state_dict keys, hooks, iterative
pruning through PruningContainer, global pruning, remove(), and SGD steps after pruning."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyconv
from tinyconv import nn
from tinyconv.kernels.select import torch_topk_indices
from tinyconv.nn.utils import prune

pytestmark = pytest.mark.torch

IMAGES = np.random.default_rng(1).standard_normal((2, 3, 6, 6)).astype(np.float32)


def _prune(lib):
    return importlib.import_module(lib.__name__ + ".nn.utils.prune")


class _Net:
    """A seeded conv -> linear net in either library."""

    @staticmethod
    def build(lib):
        lib.manual_seed(0)
        return lib.nn.Sequential(
            lib.nn.Conv2d(3, 4, 3), lib.nn.ReLU(), lib.nn.Flatten(), lib.nn.Linear(64, 5)
        )


def _run(lib, steps_of_pruning, train_steps: int = 2):
    """Prune a seeded net with each step(lib, prune, net), then train: (net, losses)."""
    net = _Net.build(lib)
    p = _prune(lib)
    for step in steps_of_pruning:
        step(lib, p, net)
    opt = lib.optim.SGD(net.parameters(), lr=0.1)
    x = lib.tensor(IMAGES)
    losses = []
    for _ in range(train_steps):
        opt.zero_grad()
        loss = (net(x) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return net, losses


def _compare(*steps_of_pruning, train_steps: int = 2):
    torch = pytest.importorskip("torch")
    mine, my_losses = _run(tinyconv, steps_of_pruning, train_steps)
    theirs, their_losses = _run(torch, steps_of_pruning, train_steps)
    np.testing.assert_allclose(my_losses, their_losses, rtol=1e-5)
    a, b = mine.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    for key in a:
        if key.endswith("_mask"):
            np.testing.assert_array_equal(a[key].numpy(), b[key].numpy(), err_msg=key)
        else:
            np.testing.assert_allclose(a[key].numpy(), b[key].numpy(), rtol=1e-5, atol=1e-6)
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in mine.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    return mine, theirs


CASES = {
    "identity": lambda lib, p, net: p.identity(net[0], "weight"),
    "random_unstructured": lambda lib, p, net: p.random_unstructured(net[0], "weight", 0.3),
    "l1_float": lambda lib, p, net: p.l1_unstructured(net[3], "weight", amount=0.45),
    "l1_int": lambda lib, p, net: p.l1_unstructured(net[0], "bias", amount=2),
    "random_structured": lambda lib, p, net: p.random_structured(net[0], "weight", 0.5, dim=0),
    "ln_structured_l2": lambda lib, p, net: p.ln_structured(net[0], "weight", 0.5, n=2, dim=0),
    "ln_structured_inf": lambda lib, p, net: p.ln_structured(
        net[3], "weight", 3, n=float("inf"), dim=-1
    ),
    "ln_structured_l1_dim1": lambda lib, p, net: p.ln_structured(net[0], "weight", 1, n=1, dim=1),
    "custom_from_mask": lambda lib, p, net: p.custom_from_mask(
        net[0], "bias", mask=lib.tensor([1.0, 0.0, 1.0, 0.0])
    ),
    "importance_scores": lambda lib, p, net: p.l1_unstructured(
        net[0], "weight", 0.5, importance_scores=lib.arange(108.0).reshape(4, 3, 3, 3)
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_method_matches_torch(case):
    mine, _ = _compare(CASES[case])
    assert prune.is_pruned(mine)


ITERATIVE = [
    ("random_unstructured", "importance_scores"),
    ("l1_float", "l1_float"),
    ("ln_structured_l2", "random_unstructured", "ln_structured_l1_dim1"),
    ("random_structured", "ln_structured_l2"),
    ("identity", "l1_int", "custom_from_mask"),
]


@pytest.mark.parametrize("names", ITERATIVE, ids="+".join)
def test_iterative_pruning_matches_torch(names):
    mine, _ = _compare(*(CASES[n] for n in names))
    hooks = [h for m in mine.modules() for h in m._forward_pre_hooks.values()]
    assert all(isinstance(h, prune.BasePruningMethod) for h in hooks)
    container = [h for h in hooks if isinstance(h, prune.PruningContainer)]
    assert container and len(container[0]) >= 2


def _global(lib, p, net):
    p.global_unstructured(
        [(net[0], "weight"), (net[3], "weight"), (net[0], "bias")],
        pruning_method=p.L1Unstructured,
        amount=0.6,
    )


def test_global_unstructured_matches_torch():
    _compare(_global)
    _compare(CASES["l1_float"], _global)  # a tensor already pruned keeps its mask


def _remove_all(lib, p, net):
    p.remove(net[0], "weight")
    p.remove(net[3], "weight")


def test_remove_matches_torch_and_keeps_the_parameter_object():
    torch = pytest.importorskip("torch")
    mine, _ = _compare(CASES["ln_structured_l2"], CASES["l1_float"], _global, _remove_all)
    assert not any(k.endswith(("_orig", "_mask")) and "bias" not in k for k in mine.state_dict())
    for lib in (tinyconv, torch):
        p = _prune(lib)
        conv = lib.nn.Conv2d(2, 2, 1)
        p.l1_unstructured(conv, "weight", 2)
        orig = conv.weight_orig
        p.remove(conv, "weight")
        assert conv.weight is orig and isinstance(conv.weight, lib.nn.Parameter)
        assert float((conv.weight == 0).sum()) == 2 and not p.is_pruned(conv)
        with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
            p.remove(conv, "weight")


def test_pruned_entries_get_no_gradient():
    conv = nn.Conv2d(3, 4, 3)
    prune.l1_unstructured(conv, "weight", 0.5)
    conv(tinyconv.tensor(IMAGES)).sum().backward()
    mask = conv.weight_mask.numpy()
    assert (conv.weight_orig.grad.numpy()[mask == 0] == 0).all()
    assert conv.weight.grad_fn is not None and not isinstance(conv.weight, nn.Parameter)


def test_custom_method_and_prune_without_a_module():
    torch = pytest.importorskip("torch")
    masks = []
    for lib in (tinyconv, torch):
        p = _prune(lib)

        class EveryOther(p.BasePruningMethod):
            PRUNING_TYPE = "unstructured"

            def compute_mask(self, t, default_mask):
                mask = default_mask.clone()
                mask.view(-1)[::2] = 0
                return mask

        lin = lib.nn.Linear(3, 2)
        EveryOther.apply(lin, "bias")
        EveryOther.apply(lin, "bias")  # on what is left: the second entry of [_, 1]
        masks.append(lin.bias_mask.numpy().copy())
        t = lib.arange(1.0, 7.0)
        masks.append(p.L1Unstructured(amount=2).prune(t).numpy())
    np.testing.assert_array_equal(masks[0], masks[2])
    np.testing.assert_array_equal(masks[1], masks[3])


def test_bad_arguments_raise_as_torch():
    torch = pytest.importorskip("torch")
    for lib in (tinyconv, torch):
        p = _prune(lib)
        lin = lib.nn.Linear(3, 2)
        with pytest.raises(ValueError, match="non-negative integer"):
            p.l1_unstructured(lin, "weight", amount=1.5)
        with pytest.raises(ValueError, match="non-negative integer"):
            p.l1_unstructured(lin, "weight", amount=-1)
        with pytest.raises(TypeError, match="Must be int or float"):
            p.l1_unstructured(lin, "weight", amount="half")
        with pytest.raises(ValueError, match="smaller than the number of parameters"):
            p.l1_unstructured(lin, "weight", amount=7)
        assert "weight" in lin._parameters and not p.is_pruned(lin)  # put back after a failure
        with pytest.raises(ValueError, match="multidimensional"):
            p.ln_structured(lin, "bias", 1, n=2, dim=0)
        with pytest.raises(IndexError, match="Invalid index"):
            p.random_structured(lin, "weight", 1, dim=2)
        with pytest.raises(TypeError, match="unstructured"):
            p.global_unstructured([(lin, "weight")], p.RandomStructured, amount=1)


# -- ties: which of several equal entries PyTorch prunes --------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(-3, 3), min_size=1, max_size=300),
    frac=st.floats(0, 1),
    largest=st.booleans(),
    nan=st.booleans(),
)
def test_torch_topk_indices_matches_torch(values, frac, largest, nan):
    torch = pytest.importorskip("torch")
    v = np.array(values, dtype=np.float32)
    if nan:
        v[:: max(len(v) // 3, 1)] = np.nan
    for k in {int(frac * len(v)), min(len(v) // 64 + 1, len(v)), len(v)}:
        want = torch.topk(torch.tensor(v), k, largest=largest).indices.numpy()
        np.testing.assert_array_equal(torch_topk_indices(v, k, largest), want)


def _round_weights(lib, p, net):
    with lib.no_grad():
        net[0].weight.copy_((lib.arange(108.0).reshape(4, 3, 3, 3) % 5 - 2) / 2)
        net[3].weight.copy_((lib.arange(320.0).reshape(5, 64) % 3 - 1) / 8)


TIED = {
    "l1": lambda lib, p, net: p.l1_unstructured(net[0], "weight", 0.4),
    "l1_few": lambda lib, p, net: p.l1_unstructured(net[3], "weight", 3),
    "ln": lambda lib, p, net: p.ln_structured(net[0], "weight", 1, n=1, dim=1),
    "global": _global,
}


@pytest.mark.parametrize(
    "names", [("l1",), ("l1_few",), ("ln", "l1"), ("global", "l1")], ids="+".join
)
def test_tied_weights_are_pruned_as_torch_prunes_them(names):
    _compare(_round_weights, *(TIED[n] for n in names))
