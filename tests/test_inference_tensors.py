"""Inference tensors: what inference_mode makes, and PyTorch's rules for using them outside it
(not saved for backward, not changed in place, no requires_grad). The same rules are compared
with PyTorch's in test_forward_ad_torch.py."""

from __future__ import annotations

import pytest

import tinyconv
from tinyconv import nn


def _made_in_inference():
    x = tinyconv.randn(3)
    with tinyconv.inference_mode():
        a = tinyconv.randn(3)
        b = x * 2  # an op of a normal tensor: a new, inference tensor
        v = x[1:]  # a view of a normal tensor stays normal
    return x, a, b, v


def test_is_inference():
    x, a, b, v = _made_in_inference()
    assert a.is_inference() and b.is_inference() and tinyconv.is_inference(a)
    assert not x.is_inference() and not v.is_inference()
    assert a[1:].is_inference() and a.detach().is_inference()  # views follow their base
    assert not a.clone().is_inference() and not (a + 1).is_inference()
    with pytest.raises(TypeError, match="must be Tensor"):
        tinyconv.is_inference(3)


def test_saved_for_backward_raises():
    _, a, _, _ = _made_in_inference()
    w = tinyconv.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        a * w  # Mul saves a for w's gradient
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        tinyconv.nn.functional.linear(a, tinyconv.randn(2, 3, requires_grad=True))
    assert (a + w).requires_grad  # Add saves nothing
    assert not a.sin().requires_grad  # nothing recorded
    with tinyconv.no_grad():
        assert not (a * w).requires_grad
    (a.clone() * w).sum().backward()  # the documented workaround
    assert w.grad is not None


def test_inplace_and_requires_grad_raise_outside_inference_mode():
    x, a, _, v = _made_in_inference()
    msg = "Inplace update to inference tensor outside InferenceMode"
    for update in (
        lambda: a.add_(1),
        lambda: a.mul_(2.0),
        lambda: a.zero_(),
        lambda: a.copy_(x),
        lambda: a.__setitem__(0, 1.0),
        lambda: a[1:].sin_(),
        lambda: a.unsqueeze_(0),
    ):
        with pytest.raises(RuntimeError, match=msg):
            update()
    with tinyconv.no_grad(), pytest.raises(RuntimeError, match=msg):
        a.mul_(2)
    v.add_(1)  # a normal tensor's view made in inference mode may be changed
    with pytest.raises(RuntimeError, match="Setting requires_grad=True on inference tensor"):
        a.requires_grad_()
    with pytest.raises(RuntimeError, match="Setting requires_grad=True on inference tensor"):
        nn.Parameter(a)
    with tinyconv.inference_mode():
        a.add_(1)  # allowed inside
        assert tinyconv.ones(2, requires_grad=True).requires_grad


def test_inference_mode_false_decorators_and_modules():
    with tinyconv.no_grad(), tinyconv.inference_mode(False):
        assert tinyconv.is_grad_enabled() and not tinyconv.is_inference_mode_enabled()
    with tinyconv.inference_mode():
        with tinyconv.inference_mode(False):
            assert not tinyconv.randn(2).is_inference() and tinyconv.is_grad_enabled()
        assert not tinyconv.is_grad_enabled()
        model = nn.Linear(3, 2)

    @tinyconv.inference_mode()
    def f():
        return tinyconv.ones(2).is_inference(), tinyconv.is_inference_mode_enabled()

    @tinyconv.inference_mode
    def g():
        return tinyconv.ones(2).is_inference()

    assert f() == (True, True) and g()
    assert model.weight.is_inference() and model.weight.requires_grad
    # a module made in inference mode still runs on normal inputs that need no gradient
    assert model(tinyconv.randn(3)).requires_grad
    with tinyconv.no_grad(), pytest.raises(RuntimeError, match="Inplace update to inference"):
        model.weight.add_(1)  # (an optimiser's step on it too)
