"""Batch normalization: F.batch_norm's backward against finite differences (every
Jacobian element, float64), the modules' running statistics and modes as PyTorch
defines them, clear errors, and (when PyTorch is installed) the same numbers as torch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import distinct_arrays, non_contiguous

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv import nn
from tinyconv.autograd import gradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}


@st.composite
def bn_inputs(draw):
    """(x, weight, bias) float64 leaves: x is (N, C), (N, C, L) or (N, C, H, W) with >= 2 values
    per channel, its values distinct (so no channel's variance is near 0), in a random layout."""
    rank = draw(st.sampled_from([2, 3, 4]))
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    rest = tuple(draw(st.integers(1, 3)) for _ in range(rank - 2))
    if n * int(np.prod(rest)) < 2:
        n = 2
    x = draw(distinct_arrays((n, c) + rest).flatmap(non_contiguous))
    w = draw(distinct_arrays((c,)))
    b = draw(distinct_arrays((c,)))
    return tuple(torch.from_numpy(a).requires_grad_() for a in (x, w, b))


@given(bn_inputs(), st.booleans())
def test_batch_norm_training_gradcheck(inputs, affine):
    x, w, b = inputs
    c = x.shape[1]
    rm, rv = torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)
    if affine:
        assert gradcheck(
            lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=True), (x, w, b), **TOL
        )
    else:
        assert gradcheck(lambda x: F.batch_norm(x, None, None, training=True), (x,), **TOL)


@given(bn_inputs())
def test_batch_norm_eval_gradcheck(inputs):
    x, w, b = inputs
    c = x.shape[1]
    rm = torch.linspace(-1, 1, c, dtype=torch.float64)
    rv = torch.linspace(0.5, 2, c, dtype=torch.float64)
    assert gradcheck(
        lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-3), (x, w, b), **TOL
    )


def test_batch_norm_forward_is_the_formula():
    x = torch.randn(5, 3, 4, 2, dtype=torch.float64)
    w, b = (
        torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64),
        torch.tensor([0.0, 0.5, 3.0], dtype=torch.float64),
    )
    y = F.batch_norm(x, None, None, w, b, training=True, eps=1e-5)
    a = x.numpy()
    mean = a.mean(axis=(0, 2, 3), keepdims=True)
    var = a.var(axis=(0, 2, 3), keepdims=True)  # biased
    want = (a - mean) / np.sqrt(var + 1e-5) * w.numpy().reshape(1, 3, 1, 1) + b.numpy().reshape(
        1, 3, 1, 1
    )
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12, atol=1e-12)


def test_running_stats_use_unbiased_variance_and_momentum():
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(2, momentum=0.25).double()
    xs = [torch.randn(4, 2, 3, 3, dtype=torch.float64) * 3 + 1 for _ in range(3)]
    rm, rv = np.zeros(2), np.ones(2)
    for x in xs:
        bn(x)
        a = x.numpy()
        rm = 0.75 * rm + 0.25 * a.mean(axis=(0, 2, 3))
        rv = 0.75 * rv + 0.25 * a.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), rv, rtol=1e-12)
    assert bn.num_batches_tracked.item() == 3 and bn.num_batches_tracked.dtype == torch.int64


def test_momentum_none_is_a_cumulative_average():
    bn = nn.BatchNorm1d(3, momentum=None).double()
    xs = [torch.randn(6, 3, dtype=torch.float64) + i for i in range(4)]
    for x in xs:
        bn(x)
    np.testing.assert_allclose(
        bn.running_mean.numpy(), np.mean([x.numpy().mean(0) for x in xs], axis=0), rtol=1e-12
    )
    np.testing.assert_allclose(
        bn.running_var.numpy(), np.mean([x.numpy().var(0, ddof=1) for x in xs], axis=0), rtol=1e-12
    )


def test_eval_mode_uses_running_stats_and_leaves_them_alone():
    bn = nn.BatchNorm1d(2)
    bn.running_mean.copy_(torch.tensor([1.0, -1.0]))
    bn.running_var.copy_(torch.tensor([4.0, 0.25]))
    bn.eval()
    x = torch.tensor([[3.0, 0.0], [5.0, -1.5]])
    y = bn(x)
    np.testing.assert_allclose(
        y.detach().numpy(),
        (x.numpy() - [1.0, -1.0]) / np.sqrt([4.0, 0.25] + np.float32(1e-5)),
        rtol=1e-6,
    )
    assert bn.running_mean.tolist() == [1.0, -1.0] and bn.num_batches_tracked.item() == 0
    bn(torch.randn(1, 2))  # one sample is fine in eval mode


def test_batchnorm1d_three_d_and_without_running_stats():
    bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert bn.weight is None and bn.running_mean is None and list(bn.state_dict()) == []
    x = torch.randn(4, 3, 5)
    for mode in (True, False):  # no running stats: batch statistics in eval mode too
        bn.train(mode)
        y = bn(x).numpy()
        np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-6)
        np.testing.assert_allclose(y.var(axis=(0, 2)), 1, atol=1e-3)


def test_state_dict_holds_buffers_and_round_trips(tmp_path):
    bn = nn.BatchNorm2d(3)
    assert list(bn.state_dict()) == [
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    bn(torch.randn(2, 3, 4, 4) * 5 + 2)
    torch.save(bn.state_dict(), tmp_path / "bn.pth")
    other = nn.BatchNorm2d(3)
    other.load_state_dict(torch.load(tmp_path / "bn.pth", weights_only=True))
    assert torch.equal(other.running_mean, bn.running_mean) and torch.equal(
        other.running_var, bn.running_var
    )
    assert other.num_batches_tracked.item() == 1
    assert (
        repr(bn) == "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, "
        "track_running_stats=True)"
    )


def test_a_convnet_with_batchnorm_trains():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 6 * 6, 1),
        nn.BatchNorm1d(1),
    )
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, t = torch.randn(8, 1, 6, 6), torch.randn(8, 1)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = F.mse_loss(net(x), t)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize(
    "make, x, match",
    [
        (lambda: nn.BatchNorm2d(3), (2, 4, 5, 5), "input has 4 channels .* num_features=3"),
        (lambda: nn.BatchNorm2d(3), (2, 3, 5), "expected a 4-D"),
        (lambda: nn.BatchNorm1d(3), (2, 3, 4, 4), "expected a 2-D .* or 3-D"),
        (lambda: nn.BatchNorm1d(3), (1, 3), "more than 1 value per channel"),
    ],
)
def test_module_errors(make, x, match):
    with pytest.raises(ValueError, match=match):
        make()(torch.randn(*x))


def test_functional_errors():
    x = torch.randn(4, 3)
    with pytest.raises(ValueError, match=r"running_mean must have shape \(3,\)"):
        F.batch_norm(x, torch.zeros(4), torch.ones(4), training=True)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.batch_norm(x, None, None, torch.ones(2), training=True)
    with pytest.raises(RuntimeError, match="evaluation mode"):
        F.batch_norm(x, None, None)
    with pytest.raises(ValueError, match="batch and a channel"):
        F.batch_norm(torch.randn(3), None, None, training=True)
    with pytest.raises(TypeError, match="floating point"):
        F.batch_norm(torch.ones(4, 3, dtype=torch.int64), None, None, training=True)
    with pytest.raises(ValueError, match="num_features"):
        nn.BatchNorm2d(0)


@pytest.mark.torch
def test_matches_pytorch():
    real = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    ours, theirs = (
        nn.BatchNorm2d(3, momentum=0.3).double(),
        real.nn.BatchNorm2d(3, momentum=0.3).double(),
    )
    ours.weight.data, ours.bias.data = torch.tensor(w), torch.tensor(b)
    with real.no_grad():
        theirs.weight.copy_(real.tensor(w))
        theirs.bias.copy_(real.tensor(b))
    for step, mode in enumerate([True, True, False]):
        ours.train(mode)
        theirs.train(mode)
        x = rng.standard_normal((4, 3, 5, 6)) * 2 + step
        g = rng.standard_normal((4, 3, 5, 6))
        xo, xt = torch.tensor(x, requires_grad=True), real.tensor(x, requires_grad=True)
        yo, yt = ours(xo), theirs(xt)
        yo.backward(torch.tensor(g))
        yt.backward(real.tensor(g))
        np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(
            ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-12
        )
        np.testing.assert_allclose(
            ours.bias.grad.numpy(), theirs.bias.grad.numpy(), rtol=1e-10, atol=1e-12
        )
        for name in ("running_mean", "running_var"):
            np.testing.assert_allclose(
                getattr(ours, name).numpy(), getattr(theirs, name).numpy(), rtol=1e-12
            )
        assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item()


def _outcome(T, f, *args):
    """What f(T, *args) does in library T: its result as a list, or the error's type name."""
    try:
        return f(T, *args)
    except (RuntimeError, ValueError, IndexError) as e:
        return type(e).__name__


def _bn_empty(T, shape, stats, affine):
    x = T.zeros(shape, dtype=T.float64, requires_grad=True)
    c = shape[1]
    rm, rv = (T.zeros(c, dtype=T.float64), T.ones(c, dtype=T.float64)) if stats else (None, None)
    w = T.ones(c, dtype=T.float64, requires_grad=True) if affine else None
    out = F_of(T).batch_norm(x, rm, rv, w, w, training=True)
    out.sum().backward()
    return [
        list(out.shape),
        list(x.grad.shape),
        rm.tolist() if stats else None,
        w.grad.tolist() if affine else None,
    ]


def _bn_modified(T, training, which):
    x = T.tensor([[1.0, 2.0, 3.0], [2.0, 5.0, 1.0]], dtype=T.float64, requires_grad=True)
    a = x * 1
    rm, rv = T.zeros(3, dtype=T.float64), T.ones(3, dtype=T.float64)
    y = F_of(T).batch_norm(a, rm, rv, training=training)
    (a if which == "input" else rm).add_(1)
    y.sum().backward()
    return x.grad.tolist()


def F_of(T):
    return T.nn.functional


@pytest.mark.torch
def test_empty_batch_and_inputs_modified_after_the_call_match_pytorch():
    """An empty batch gives an empty output (stats untouched), no channels with a weight raises
    IndexError; an in-place op on the input or the running stats after the call makes backward
    raise (PyTorch saves them), as in PyTorch."""
    pt = pytest.importorskip("torch")
    for shape in [(0, 3), (0, 3, 2, 2), (2, 0), (2, 0, 3), (1, 3)]:
        for stats in (False, True):
            for affine in (False, True):
                got = _outcome(torch, _bn_empty, shape, stats, affine)
                assert got == _outcome(pt, _bn_empty, shape, stats, affine), (shape, stats, affine)
    for training in (True, False):
        for which in ("input", "running_mean"):
            assert _outcome(torch, _bn_modified, training, which) == "RuntimeError"
            assert _outcome(pt, _bn_modified, training, which) == "RuntimeError"


def test_batch_counter_moves_as_add_does():
    """The batch counter's in-place bump (layers._count_batch, a shortcut past add_'s general
    in-place path) moves its value and version by one per training call, as add_ does; a
    counter that is not a plain 0-d int64 tensor (a float one, a view) takes add_ itself."""
    bn = nn.BatchNorm2d(2)
    x = torch.randn(3, 2, 4, 4)
    counter = bn.num_batches_tracked
    v = counter._version
    bn(x)
    bn(x)
    assert counter is bn.num_batches_tracked and counter.item() == 2 and counter._version == v + 2
    assert counter.dtype == torch.int64 and counter.shape == ()
    bn.eval()
    bn(x)  # eval: not counted
    assert counter.item() == 2 and counter._version == v + 2
    bn.train()
    for replacement in (torch.tensor(5.0), torch.zeros(3, dtype=torch.int64)[1]):
        bn.num_batches_tracked = replacement
        v = replacement._version
        bn(x)
        assert replacement.item() == (6.0 if replacement.is_floating_point() else 1)
        assert replacement._version == v + 1


def test_a_batchnorm_run_twice_before_one_backward():
    # a Siamese encoder: the shared BatchNorm's forward updates its running stats each time,
    # which (as in PyTorch) is no in-place change for autograd; a user's change after it is
    bn = nn.BatchNorm1d(3)
    x = torch.randn(4, 3, requires_grad=True)
    version = bn.running_mean._version
    y1, y2 = bn(x), bn(x * 2)
    assert bn.running_mean._version == version and bn.num_batches_tracked.item() == 2
    (y1.pow(3).sum() + y2.pow(3).sum()).backward()
    assert x.grad is not None and bool(x.grad.abs().sum() > 0)
    y = bn(x)
    bn.running_var.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.pow(2).sum().backward()
    y = F.batch_norm(x, bn.running_mean, bn.running_var, training=False)
    bn.running_mean.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.pow(2).sum().backward()
