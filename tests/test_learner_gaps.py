"""What learners' PyTorch code reaches for that tinyconv lacked: placement keywords on creation
functions (device=, layout=, pin_memory=, memory_format=), Tensor.unfold, ravel, itemsize,
nbytes, ndimension, logspace, multinomial, nn.init.eye_/dirac_/orthogonal_."""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv
from tinyconv.autograd import gradcheck, gradgradcheck


def test_creation_accepts_placement_keywords():
    dev = tinyconv.device("cpu")
    t = tinyconv.ones(2)
    made = [
        tinyconv.arange(5, device=dev),
        tinyconv.arange(0, 1, 0.25, dtype=tinyconv.float64, device="cpu"),
        tinyconv.linspace(0, 1, 3, device=dev),
        tinyconv.logspace(0, 2, 3, device=dev),
        tinyconv.eye(2, device=dev),
        tinyconv.zeros_like(t, device=dev),
        tinyconv.ones_like(t, device=dev, memory_format=None),
        tinyconv.full_like(t, 3.0, device=dev),
        tinyconv.rand_like(t, device=dev),
        tinyconv.randn_like(t, device=dev),
        tinyconv.randint(0, 5, (3,), device=dev),
        tinyconv.as_tensor([1, 2], device=dev),
        tinyconv.normal(0.0, 1.0, size=(2,), device=dev),
        tinyconv.tensor([1.0], device=dev, pin_memory=False),
    ]
    assert [tuple(m.shape) for m in made][:3] == [(5,), (4,), (3,)]
    for f in (tinyconv.arange, tinyconv.eye):
        with pytest.raises(RuntimeError, match="CPU only"):
            f(3, device="cuda")
    with pytest.raises(TypeError, match="unexpected keyword"):
        tinyconv.zeros_like(t, devise="cpu")
    g = tinyconv.Generator().manual_seed(3)
    a = tinyconv.randint(0, 100, (5,), generator=g)
    b = tinyconv.randint(0, 100, (5,), generator=tinyconv.Generator().manual_seed(3))
    assert a.tolist() == b.tolist()


@pytest.mark.torch
def test_unfold_matches_pytorch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).normal(size=(3, 7, 2))
    w_rng = np.random.default_rng(1)
    for args in [(1, 3, 2), (1, 2, 1), (0, 3, 1), (-1, 1, 1), (1, 7, 3), (1, 0, 2), (2, 2, 5)]:
        t = torch.tensor(a, requires_grad=True)
        c = tinyconv.tensor(a, requires_grad=True)
        ot, oc = t.unfold(*args), c.unfold(*args)
        assert tuple(oc.shape) == tuple(ot.shape) and oc.grad_fn.name() == ot.grad_fn.name()
        np.testing.assert_array_equal(oc.detach().numpy(), ot.detach().numpy())
        w = w_rng.normal(size=tuple(ot.shape))
        (ot * torch.tensor(w)).sum().backward()
        (oc * tinyconv.tensor(w)).sum().backward()
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_unfold_gradients_and_errors():
    x = tinyconv.tensor(np.random.default_rng(2).normal(size=(2, 9)), requires_grad=True)
    assert gradcheck(lambda x: x.unfold(1, 4, 3), (x,), eps=1e-6, atol=1e-6)
    assert gradgradcheck(lambda x: x.unfold(1, 3, 2) ** 2, (x,), eps=1e-6, atol=1e-6)
    with pytest.raises(RuntimeError, match="size"):
        x.unfold(1, 10, 1)
    with pytest.raises(RuntimeError, match="step"):
        x.unfold(1, 2, 0)
    with pytest.raises(ValueError):  # a copy, read-only: writing into it cannot reach x
        x.detach().unfold(1, 2, 1)[0, 0, 0] = 5.0


def test_small_tensor_helpers():
    x = tinyconv.arange(6, dtype=tinyconv.float64).view(2, 3)
    assert x.ravel().tolist() == list(range(6)) and x.ndimension() == 2
    assert x.itemsize == 8 and x.nbytes == 48


def test_multinomial():
    g = tinyconv.Generator().manual_seed(0)
    p = tinyconv.tensor([[0.0, 1.0, 3.0], [1.0, 0.0, 0.0]])
    draws = tinyconv.multinomial(p, 200, replacement=True, generator=g)
    assert draws.dtype == tinyconv.int64 and tuple(draws.shape) == (2, 200)
    assert set(draws[0].tolist()) == {1, 2} and set(draws[1].tolist()) == {0}
    assert 0.65 < (draws[0] == 2).float().mean().item() < 0.85
    assert sorted(tinyconv.tensor([0.2, 0.5, 0.3]).multinomial(3).tolist()) == [0, 1, 2]
    with pytest.raises(RuntimeError, match="without replacement"):
        tinyconv.tensor([1.0, 0.0]).multinomial(2)
    with pytest.raises(RuntimeError, match="element < 0"):
        tinyconv.tensor([1.0, -1.0]).multinomial(1)


@pytest.mark.torch
def test_init_eye_dirac_orthogonal():
    torch = pytest.importorskip("torch")
    for shape, groups in [((4, 2, 3, 3), 1), ((4, 2, 3, 3), 2), ((3, 5, 3), 1), ((6, 2, 1, 1), 3)]:
        a, b = tinyconv.empty(*shape), torch.empty(*shape)
        tinyconv.nn.init.dirac_(a, groups)
        torch.nn.init.dirac_(b, groups)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    a = tinyconv.empty(3, 4, requires_grad=True)
    assert tinyconv.nn.init.eye_(a) is a and a.requires_grad and a.grad_fn is None
    np.testing.assert_array_equal(a.detach().numpy(), np.eye(3, 4))
    for shape in [(3, 5), (5, 3), (6, 2, 3, 3)]:
        w = tinyconv.empty(*shape)
        tinyconv.nn.init.orthogonal_(w, gain=2.0)
        m = w.numpy().reshape(shape[0], -1).astype(np.float64)
        small = min(m.shape)
        gram = m @ m.T if m.shape[0] == small else m.T @ m
        np.testing.assert_allclose(gram, 4 * np.eye(small), atol=1e-5)
    with pytest.raises(ValueError, match="2 dimensions"):
        tinyconv.nn.init.eye_(tinyconv.empty(2, 2, 2))
    with pytest.raises(ValueError, match="3, 4 or 5"):
        tinyconv.nn.init.dirac_(tinyconv.empty(2, 2))
