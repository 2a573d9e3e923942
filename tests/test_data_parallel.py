"""nn.DataParallel against PyTorch 2.13 on the CPU: it calls the wrapped module (positional and
keyword inputs), device_ids becomes [], the state_dict carries the `module.` prefix and
checkpoints move between the libraries (and into a bare module after stripping the prefix)."""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv
from tinyconv import nn

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def small(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Conv2d(2, 3, 3), lib.nn.BatchNorm2d(3), lib.nn.ReLU())


@pytest.mark.parametrize(
    "kwargs", [{}, {"device_ids": [0]}, {"device_ids": [0, 1], "output_device": 1, "dim": 1}]
)
def test_data_parallel_matches_torch(kwargs: dict) -> None:
    ours = nn.DataParallel(small(tinyconv), **kwargs)
    theirs = torch.nn.DataParallel(small(torch), **kwargs)
    assert ours.device_ids == theirs.device_ids == []
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert all(k.startswith("module.") for k in ours.state_dict())
    # torch's checkpoint into ours, via numpy
    ours.load_state_dict({k: tinyconv.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((2, 2, 5, 5)).astype(np.float32)
    a = ours(tinyconv.tensor(x))
    b = theirs(input=torch.tensor(x))  # keyword inputs reach the module too
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-6)
    assert ours.module[1].num_batches_tracked.item() == 1  # the wrapped module ran in training
    # ours back into torch, and into a bare module once the prefix is stripped
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    bare = small(tinyconv)
    bare.load_state_dict({k.removeprefix("module."): v for k, v in ours.state_dict().items()})
    with pytest.raises(RuntimeError, match="module.0.weight"):
        bare.load_state_dict(ours.state_dict())


def test_data_parallel_module_is_the_wrapped_one() -> None:
    inner = small(tinyconv)
    dp = nn.DataParallel(inner)
    assert dp.module is inner and list(dp.parameters()) == list(inner.parameters())
    assert nn.parallel.DataParallel is nn.DataParallel
