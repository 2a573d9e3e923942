"""Lazy modules: the input size comes from the first call, then they are Conv2d / Linear /
BatchNorm exactly (same class, same initialisation, same parameter objects)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import tinyconv as torch
from tinyconv import nn, optim


def test_lazy_conv2d_becomes_conv2d_with_the_same_init():
    conv = nn.LazyConv2d(4, kernel_size=3, padding=1, stride=2)
    assert conv.has_uninitialized_params() and conv.in_channels == 0
    assert repr(conv) == "LazyConv2d(0, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    x = torch.randn(2, 3, 7, 7)
    torch.manual_seed(5)
    y = conv(x)
    assert type(conv) is nn.Conv2d and conv.in_channels == 3
    assert (
        type(conv.weight) is nn.Parameter
        and conv.weight.shape == (4, 3, 3, 3)
        and conv.bias.shape == (4,)
    )
    assert y.shape == (2, 4, 4, 4)
    torch.manual_seed(5)
    ref = nn.Conv2d(3, 4, kernel_size=3, padding=1, stride=2)  # the same random draws
    assert torch.equal(conv.weight, ref.weight) and torch.equal(conv.bias, ref.bias)
    assert torch.allclose(y, ref(x))
    assert repr(conv) == repr(ref)


def test_lazy_conv2d_unbatched_groups_and_no_bias():
    conv = nn.LazyConv2d(6, (1, 2), groups=2, bias=False)
    y = conv(torch.randn(4, 5, 5))
    assert conv.weight.shape == (6, 2, 1, 2) and conv.bias is None and y.shape == (6, 5, 4)
    with pytest.raises(ValueError, match="not divisible by groups=2"):
        nn.LazyConv2d(2, 3, groups=2)(torch.randn(1, 3, 5, 5))
    with pytest.raises(ValueError, match="3-D .* or 4-D"):
        nn.LazyConv2d(2, 3)(torch.randn(5, 5))


def test_lazy_linear_becomes_linear_with_the_same_init():
    lin = nn.LazyLinear(7)
    assert repr(lin) == "LazyLinear(in_features=0, out_features=7, bias=True)"
    x = torch.randn(3, 2, 11)
    torch.manual_seed(1)
    y = lin(x)
    torch.manual_seed(1)
    ref = nn.Linear(11, 7)
    assert type(lin) is nn.Linear and lin.in_features == 11 and y.shape == (3, 2, 7)
    assert torch.equal(lin.weight, ref.weight) and torch.equal(lin.bias, ref.bias)


def test_an_optimizer_made_before_the_first_call_trains_the_materialized_parameters():
    torch.manual_seed(0)
    net = nn.Sequential(nn.LazyConv2d(2, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(1))
    opt = optim.SGD(net.parameters(), lr=0.05)
    x, t = torch.randn(8, 1, 5, 5), torch.randn(8, 1)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = ((net(x) - t) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert [type(m).__name__ for m in net] == ["Conv2d", "ReLU", "Flatten", "Linear"]
    assert losses[-1] < losses[0]
    assert sum(p.numel() for p in net.parameters()) == 2 * 9 + 2 + 18 + 1


def test_uninitialized_parameters_say_so():
    lin = nn.LazyLinear(3)
    assert repr(lin.weight) == "<UninitializedParameter>"
    with pytest.raises(RuntimeError, match="no shape yet"):
        _ = lin.weight.shape
    clone = copy.deepcopy(lin)
    clone(torch.ones(2, 4))
    assert clone.weight.shape == (3, 4) and lin.has_uninitialized_params()


def test_lazy_batchnorm():
    bn = nn.LazyBatchNorm2d()
    y = bn(torch.randn(4, 5, 3, 3) * 3 + 1)
    assert type(bn) is nn.BatchNorm2d and bn.num_features == 5
    assert bn.weight.shape == bn.running_mean.shape == (5,)
    np.testing.assert_allclose(y.detach().numpy().mean(axis=(0, 2, 3)), 0, atol=1e-5)
    bn1 = nn.LazyBatchNorm1d(affine=False)
    bn1(torch.randn(6, 2))
    assert type(bn1) is nn.BatchNorm1d and bn1.running_var.shape == (2,) and bn1.weight is None
