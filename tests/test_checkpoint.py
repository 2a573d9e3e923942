"""tinyconv.utils.checkpoint: the same values and gradients as running the function directly,
without keeping its activations alive between forward and backward."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import tinyconv
from tinyconv import nn
from tinyconv.utils.checkpoint import checkpoint, checkpoint_sequential


def block(seed: int = 0) -> nn.Module:
    tinyconv.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 2, 3, padding=1), nn.Tanh()
    ).double()


def grads(module: nn.Module, x: tinyconv.Tensor) -> list[np.ndarray]:
    return [p.grad.numpy().copy() for p in module.parameters()] + (
        [x.grad.numpy().copy()] if x.requires_grad else []
    )


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_values_and_gradients_equal_the_unchecked_run(use_reentrant):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((2, 2, 5, 5))
    m = block()
    head = nn.Linear(50, 1).double()
    x = tinyconv.tensor(data, dtype=tinyconv.float64, requires_grad=True)
    plain = head(m(x * 2).flatten(1)).sum()
    plain.backward()
    expect = grads(m, x) + [head.weight.grad.numpy().copy()]
    for p in [*m.parameters(), *head.parameters()]:
        p.grad = None
    x2 = tinyconv.tensor(data, dtype=tinyconv.float64, requires_grad=True)
    out = head(checkpoint(m, x2 * 2, use_reentrant=use_reentrant).flatten(1)).sum()
    assert out.item() == plain.item()
    out.backward()
    got = grads(m, x2) + [head.weight.grad.numpy()]
    for a, b in zip(got, expect, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)


def test_activations_are_not_kept_and_the_function_reruns_in_backward():
    """Without checkpointing the graph holds the intermediate h (Mul saves its operands); with
    it, h is gone once the forward returns and comes back only during backward."""
    calls = []
    kept = []

    def f(x):
        h = (x * 3).relu()
        kept.append(weakref.ref(h._data))
        calls.append(1)
        return (h * h).sum(1)

    x = tinyconv.randn(4, 8, dtype=tinyconv.float64, requires_grad=True)
    y = f(x)
    gc.collect()
    assert kept[-1]() is not None  # the plain graph keeps h alive until backward
    y.sum().backward()
    plain_grad = x.grad.numpy().copy()
    x.grad = None
    for reentrant in (True, False):
        kept.clear()
        calls.clear()
        y = checkpoint(f, x, use_reentrant=reentrant)
        gc.collect()
        assert kept[0]() is None, "checkpoint kept an activation of the segment alive"
        y.sum().backward()
        assert len(calls) == 2  # forward, then the recomputation in backward
        gc.collect()
        assert kept[1]() is None  # the recomputed graph is freed after its backward too
        np.testing.assert_allclose(x.grad.numpy(), plain_grad, rtol=1e-14)
        x.grad = None


def test_dropout_draws_the_same_mask_when_recomputed():
    tinyconv.manual_seed(3)
    x = tinyconv.randn(6, 10, dtype=tinyconv.float64, requires_grad=True)
    drop = nn.Dropout(0.5)
    tinyconv.manual_seed(7)
    plain = drop(x * 2)
    plain.sum().backward()
    plain_grad = x.grad.numpy().copy()
    after_plain = tinyconv.rand(3).numpy()
    x.grad = None
    tinyconv.manual_seed(7)
    y = checkpoint(lambda t: drop(t * 2), x, use_reentrant=True)
    np.testing.assert_array_equal(y.detach().numpy(), plain.detach().numpy())
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), plain_grad)
    # the recomputation restored the random stream: the next draw is the one without checkpoint
    np.testing.assert_array_equal(tinyconv.rand(3).numpy(), after_plain)


def test_reentrant_needs_an_input_that_requires_grad_non_reentrant_does_not():
    m = nn.Linear(3, 2).double()
    x = tinyconv.randn(4, 3, dtype=tinyconv.float64)
    with pytest.warns(UserWarning, match="requires_grad"):
        y = checkpoint(m, x, use_reentrant=True)
    assert not y.requires_grad  # as in PyTorch
    y = checkpoint(m, x, use_reentrant=False)
    assert y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), np.tile(x.numpy().sum(0), (2, 1)), rtol=1e-14)
    np.testing.assert_allclose(m.bias.grad.numpy(), [4.0, 4.0])


def test_keyword_arguments_and_non_tensor_arguments():
    def f(x, k, scale=1.0):
        return (x**k) * scale

    x = tinyconv.tensor([1.0, 2.0, 3.0], dtype=tinyconv.float64, requires_grad=True)
    y = checkpoint(f, x, 3, use_reentrant=False, scale=2.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy() ** 2)
    with pytest.raises(ValueError, match="use_reentrant=False"):
        checkpoint(f, x, 3, use_reentrant=True, scale=2.0)


def test_default_use_reentrant_warns_and_no_grad_just_runs():
    m = nn.Linear(3, 2)
    x = tinyconv.randn(2, 3, requires_grad=True)
    with pytest.warns(UserWarning, match="use_reentrant"):
        checkpoint(m, x)
    with tinyconv.no_grad():
        y = checkpoint(m, x, use_reentrant=True)
    assert not y.requires_grad


def test_bad_function_and_output():
    x = tinyconv.randn(2, requires_grad=True)
    with pytest.raises(TypeError, match="function must be callable"):
        checkpoint(3, x, use_reentrant=True)
    with pytest.raises(TypeError, match="one Tensor"):
        checkpoint(lambda t: (t, t), x, use_reentrant=True)
    with pytest.raises(TypeError, match="determinism_check"):
        checkpoint(lambda t: t * 2, x, use_reentrant=False, determinism_check="none")


def test_in_place_change_of_a_saved_input_is_caught():
    x = tinyconv.randn(3, dtype=tinyconv.float64, requires_grad=True)
    a = x * 1
    y = checkpoint(lambda t: t.exp(), a, use_reentrant=True)
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.parametrize("segments", [1, 2, 3])
def test_checkpoint_sequential_equals_the_plain_run(segments):
    rng = np.random.default_rng(1)
    data = rng.standard_normal((2, 2, 5, 5))
    m = block(seed=4)
    x = tinyconv.tensor(data, dtype=tinyconv.float64, requires_grad=True)
    plain = m(x)
    plain.sum().backward()
    expect = grads(m, x)
    for p in m.parameters():
        p.grad = None
    x2 = tinyconv.tensor(data, dtype=tinyconv.float64, requires_grad=True)
    out = checkpoint_sequential(m, segments, x2, use_reentrant=False)
    np.testing.assert_array_equal(out.detach().numpy(), plain.detach().numpy())
    out.sum().backward()
    for a, b in zip(grads(m, x2), expect, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)
    with pytest.raises(ValueError, match="segments"):
        checkpoint_sequential(m, 9, x2, use_reentrant=False)


def test_torch_style_import():
    import tinyconv.utils.checkpoint as cp

    assert tinyconv.utils.checkpoint is cp and cp.checkpoint is checkpoint
