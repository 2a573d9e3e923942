"""Anomaly detection: a NaN gradient is traced to the op that made it and the user's line (an
inf gradient passes, as in PyTorch)."""

from __future__ import annotations

import inspect
import os
import warnings

import numpy as np
import pytest

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv import nn
from tinyconv.autograd import detect_anomaly, engine, function, set_detect_anomaly

THIS_FILE = os.path.abspath(__file__)

# The NaNs and infs these tests provoke make NumPy warn; that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def here() -> int:
    """The caller's line number (the op under test is created on the next line)."""
    return inspect.currentframe().f_back.f_lineno


@pytest.fixture(autouse=True)
def anomaly_off_after_each_test():
    observers = list(engine.observers)
    yield
    set_detect_anomaly(False)
    assert engine.observers == observers
    assert function.record_hook is None


def test_sqrt_of_negative_names_the_op_and_the_line():
    x = torch.tensor([-1.0, 1.0, 4.0], requires_grad=True)
    with detect_anomaly():
        line = here()
        y = x.sqrt()
        loss = y.sum()
        with pytest.raises(RuntimeError) as e:
            loss.backward()
    msg = str(e.value)
    assert "SqrtBackward0" in msg and "nan" in msg
    assert f"{THIS_FILE}:{line + 1}" in msg
    assert "y = x.sqrt()" in msg  # the source line is shown too
    assert "test_sqrt_of_negative_names_the_op_and_the_line" in msg


def test_nan_from_log_backward():
    x = torch.tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly():
        line = here()
        y = x.log() * 0.0  # log'(0) * 0 = inf * 0 = nan in LogBackward0
        with pytest.raises(RuntimeError, match=r"LogBackward0 returned nan") as e:
            y.sum().backward()
    assert f"test_anomaly.py:{line + 1}" in str(e.value)
    assert "its output was finite" in str(e.value)  # Log made the nan, it did not receive it


def test_division_by_zero_names_div():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly():
        line = here()
        q = a / b
        with pytest.raises(
            RuntimeError, match=r"DivBackward0 returned nan.*input 0 \(shape \(2,\)\)"
        ) as e:
            (q * 0.0).sum().backward()  # 0 / 0
    assert f":{line + 1}," in str(e.value)


def test_conv2d_backward_named_and_line_is_the_users_not_tinyconvs():
    x = torch.ones(1, 1, 4, 4, requires_grad=True)
    conv = nn.Conv2d(1, 1, 3)
    with torch.no_grad():
        conv.weight[0, 0, 1, 1] = float("inf")
    with detect_anomaly():
        line = here()
        y = conv(x)  # the op is made deep inside nn/functional; the site is this line
        with pytest.raises(RuntimeError, match="ConvolutionBackward0") as e:
            (y * 0.0).sum().backward()
    msg = str(e.value)
    assert f"{THIS_FILE}:{line + 1}" in msg
    assert "tinyconv" + os.sep + "nn" not in msg


def test_finite_backward_passes_unchanged():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4, 3))
    x = torch.randn(2, 1, 4, 3)
    target = torch.tensor([0, 2])
    F.cross_entropy(model(x), target).backward()
    expected = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    with detect_anomaly():
        F.cross_entropy(model(x), target).backward()
    for p, g in zip(model.parameters(), expected, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), g)


def test_inf_gradient_is_no_anomaly():
    # PyTorch flags only NaN: sqrt'(0) = inf passes, also in anomaly mode
    x = torch.tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly():
        x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()[0])


def test_off_by_default_and_nan_passes_silently():
    assert not torch.autograd.is_anomaly_enabled()
    x = torch.tensor([0.0], requires_grad=True)
    x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()).all()


def test_nodes_made_outside_anomaly_mode_carry_nothing():
    x = torch.tensor([1.0], requires_grad=True)
    y = x.exp()
    assert y.grad_fn._creation == ()
    assert "_creation" not in vars(y.grad_fn)


def test_node_made_before_the_mode_is_still_checked_but_its_line_is_unknown():
    x = torch.tensor([-1.0], requires_grad=True)
    y = x.sqrt()
    with (
        detect_anomaly(),
        pytest.raises(RuntimeError, match=r"SqrtBackward0.*\n.*unknown.*before anomaly"),
    ):
        y.sum().backward()


def test_non_finite_seed_gradient_is_reported_as_arriving():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with detect_anomaly():
        y = x * 2.0
        with pytest.raises(
            RuntimeError, match=r"(?s)MulBackward0.*arriving at its output was already nan"
        ):
            y.backward(torch.tensor([float("nan"), 1.0]))


def test_overflowing_sum_of_gradients_is_reported_as_arriving():
    x = torch.tensor([1.0], requires_grad=True)
    with detect_anomaly():
        a = x * 1.0
        # each branch sends an inf back to `a` (no anomaly), but their sum is nan
        y = a * float("inf") + a * float("-inf")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            with pytest.raises(RuntimeError, match=r"already nan.*overflowed when summed"):
                y.sum().backward()


def test_set_detect_anomaly_global_switch_and_context_manager():
    assert not torch.autograd.is_anomaly_enabled()
    set_detect_anomaly(True)
    assert torch.autograd.is_anomaly_enabled()
    assert torch.autograd.is_anomaly_check_nan_enabled()
    x = torch.tensor([-1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="SqrtBackward0"):
        x.sqrt().sum().backward()
    set_detect_anomaly(False)
    assert not torch.autograd.is_anomaly_enabled()
    x.sqrt().sum().backward()  # off again: no error
    with set_detect_anomaly(True):
        assert torch.autograd.is_anomaly_enabled()
    assert not torch.autograd.is_anomaly_enabled()


def test_set_detect_anomaly_rejects_non_bool():
    with pytest.raises(TypeError, match="mode must be a bool"):
        set_detect_anomaly("yes")


def test_check_nan_false_records_lines_without_checking():
    x = torch.tensor([0.0], requires_grad=True)
    with detect_anomaly(check_nan=False):
        assert torch.autograd.is_anomaly_enabled()
        assert not torch.autograd.is_anomaly_check_nan_enabled()
        y = x.sqrt()
        y.sum().backward()  # inf gradient, but not checked
        assert y.grad_fn._creation[0][0] == THIS_FILE
    assert np.isinf(x.grad.numpy()).all()


def test_nesting_restores_the_outer_mode():
    with detect_anomaly():
        with detect_anomaly(check_nan=False):
            assert not torch.autograd.is_anomaly_check_nan_enabled()
        assert torch.autograd.is_anomaly_check_nan_enabled()
        with set_detect_anomaly(False):
            assert not torch.autograd.is_anomaly_enabled()
        assert torch.autograd.is_anomaly_enabled()
    assert not torch.autograd.is_anomaly_enabled()


def test_decorator_and_exception_inside_restore_state():
    @detect_anomaly()
    def step(x):
        assert torch.autograd.is_anomaly_enabled()
        x.sqrt().sum().backward()

    with pytest.raises(RuntimeError, match="SqrtBackward0"):
        step(torch.tensor([-1.0], requires_grad=True))
    assert not torch.autograd.is_anomaly_enabled()


def test_other_observers_are_kept_in_order():
    seen = []

    def tracer(node, grad_out, grads):
        seen.append(node.name())

    engine.observers.append(tracer)
    try:
        x = torch.tensor([1.0], requires_grad=True)
        with detect_anomaly():
            assert tracer in engine.observers
            (x.exp() * 2.0).sum().backward()
        assert engine.observers[-1] is tracer
        assert seen == ["SumBackward0", "MulBackward0", "ExpBackward0"]
    finally:
        engine.observers.remove(tracer)


def test_inplace_error_shows_the_creation_line_in_anomaly_mode():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with detect_anomaly():
        line = here()
        y = x.exp()
        y.add_(1.0)
        with pytest.raises(RuntimeError, match=r"ExpBackward0.*modified by an inplace") as e:
            y.sum().backward()
    assert f"{THIS_FILE}:{line + 1}" in str(e.value)


def test_creation_record_holds_only_strings_and_ints():
    # No frame objects: a recorded graph must not keep the caller's locals alive.
    with detect_anomaly():
        y = torch.tensor([1.0], requires_grad=True).exp()
    stack = y.grad_fn._creation
    assert stack and all(
        isinstance(f, str) and isinstance(n, int) and isinstance(c, str) for f, n, c in stack
    )


def test_user_function_subclass_is_checked():
    class Bad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            return grad * float("nan")

    x = torch.tensor([1.0], requires_grad=True)
    with detect_anomaly():
        line = here()
        y = Bad.apply(x)
        with pytest.raises(RuntimeError, match=r"BadBackward returned nan") as e:
            y.sum().backward()
    assert f":{line + 1}," in str(e.value)
