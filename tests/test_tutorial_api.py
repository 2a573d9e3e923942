"""API that tutorials lean on: norm, prod, softmax methods, out=, inference_mode,
accelerator, Generator, size=, and nn.utils gradient clipping."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import distinct_arrays, float64_arrays, non_contiguous, shapes

import tinyconv as torch
from tinyconv import nn
from tinyconv.autograd import gradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}


def leaf(a):
    return torch.from_numpy(a).requires_grad_()


# -- norm ---------------------------------------------------------------------------------------


@given(float64_arrays(shapes(min_dims=1, max_dims=3)).flatmap(non_contiguous),
       st.sampled_from([2, 1, 3, "fro", 1.5]), st.booleans(), st.data())
def test_norm_gradcheck(arr, p, keepdim, data):
    dim = data.draw(st.sampled_from([None, 0, -1, tuple(range(arr.ndim))]))
    if not np.all(np.abs(arr) > 1e-3):  # |x| has a kink at 0
        arr = arr + 0.5
    x = leaf(arr)
    assert gradcheck(lambda x: x.norm(p, dim, keepdim), (x,), **TOL)


@given(distinct_arrays(shapes(min_dims=1, max_dims=3)), st.sampled_from([math.inf, -math.inf]))
def test_norm_inf_gradcheck(arr, p):
    arr = arr + 0.1
    assume(len(set(np.abs(arr).ravel().round(6))) == arr.size)  # no ties for the largest |x|
    x = leaf(arr)
    assert gradcheck(lambda x: x.norm(p), (x,), **TOL)


def test_norm_values_and_zero_gradient():
    x = torch.tensor([[3.0, -4.0], [0.0, 12.0]])
    assert x.norm().item() == 13.0 and torch.norm(x).item() == 13.0
    assert x.norm(dim=1).tolist() == [5.0, 12.0] and x.norm(p=1).item() == 19.0
    assert x.norm(float("inf")).item() == 12.0 and x.norm(0).item() == 3.0
    assert x.norm(dim=0, keepdim=True).shape == (1, 2)
    z = torch.zeros(3, requires_grad=True)
    z.norm().backward()
    assert z.grad.tolist() == [0.0, 0.0, 0.0]  # PyTorch's subgradient, not nan
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor([1, 2]).norm()


# -- prod -----------------------------------------------------------------------------------------


@given(float64_arrays(shapes(min_dims=1, max_dims=3)).flatmap(non_contiguous), st.booleans(), st.data())
def test_prod_gradcheck_with_zeros(arr, keepdim, data):
    dim = data.draw(st.sampled_from([None] + list(range(-arr.ndim, arr.ndim))))
    mask = data.draw(st.lists(st.booleans(), min_size=arr.size, max_size=arr.size))
    arr = arr.copy()
    arr.ravel()[np.array(mask, dtype=bool)] = 0.0  # zeros: the gradient is still exact
    x = leaf(arr)
    assert gradcheck(lambda x: x.prod(dim, keepdim) if dim is not None else x.prod(), (x,), **TOL)


def test_prod_values():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 6.0]], requires_grad=True)
    assert x.prod().item() == 0.0 and torch.prod(x, 1).tolist() == [6.0, 0.0]
    x.prod(1).sum().backward()
    assert x.grad.tolist() == [[6.0, 3.0, 2.0], [0.0, 24.0, 0.0]]
    assert torch.tensor([2, 3]).prod().dtype == torch.int64


# -- softmax methods -----------------------------------------------------------------------------


def test_softmax_methods():
    x = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(x.softmax(1).sum(1).numpy(), 1, rtol=1e-6)
    assert torch.equal(x.softmax(dim=-1), nn.functional.softmax(x, dim=-1))
    assert torch.allclose(torch.log_softmax(x, 1), x.softmax(1).log())
    assert torch.allclose(x.log_softmax(1).exp(), torch.softmax(x, 1))


# -- out= -----------------------------------------------------------------------------------------


def test_out_keyword_writes_in_place():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = torch.empty(2, 2)
    buf = out.numpy()
    r = torch.matmul(a, a.T, out=out)
    assert r is out and out.tolist() == [[5.0, 11.0], [11.0, 25.0]] and buf[0, 1] == 11.0
    assert torch.mul(a, a, out=out) is out and out.tolist() == [[1.0, 4.0], [9.0, 16.0]]
    torch.add(a, 1, out=out)
    assert out.tolist() == [[2.0, 3.0], [4.0, 5.0]]
    torch.sub(a, a, alpha=2, out=out)
    assert out.tolist() == [[-1.0, -2.0], [-3.0, -4.0]]
    torch.div(a, 2, out=out)
    assert out.tolist() == [[0.5, 1.0], [1.5, 2.0]]
    empty = torch.empty(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.add(a, a, out=empty)  # an empty out is resized quietly
    assert empty.shape == (2, 2)
    with pytest.warns(UserWarning, match="resized"):
        torch.add(a, a, out=torch.zeros(3))
    with pytest.raises(RuntimeError, match="can't be cast"):
        torch.add(a, a, out=torch.zeros(2, 2, dtype=torch.int64))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        torch.mul(a.requires_grad_(), 2.0, out=torch.empty(2, 2))
    with torch.no_grad():
        torch.mul(a, 2.0, out=out)
    assert out.tolist() == [[2.0, 4.0], [6.0, 8.0]]


# -- grad-mode and device helpers ------------------------------------------------------------------


def test_inference_mode():
    w = torch.ones(2, requires_grad=True)
    with torch.inference_mode():
        assert not (w * 2).requires_grad and torch.is_inference_mode_enabled()
    assert (w * 2).requires_grad and not torch.is_inference_mode_enabled()
    with torch.inference_mode(False):
        assert (w * 2).requires_grad

    @torch.inference_mode()
    def f(t):
        return t * 2

    @torch.inference_mode
    def g(t):
        return t * 2

    assert not f(w).requires_grad and not g(w).requires_grad


def test_accelerator_and_backends():
    assert torch.accelerator.is_available() is False and torch.accelerator.current_accelerator() is None
    device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    assert torch.ones(2).to(device).device == "cpu"
    assert not torch.backends.mps.is_available()
    # Other devices can be named (the Tensors tutorial tests `torch.device('cuda').index`) but not used.
    assert torch.device("cuda").index is None and torch.device("cuda:1").index == 1
    assert torch.device("cuda:1").type == "cuda" and torch.ones(1).device.type == "cpu"
    with pytest.raises(RuntimeError, match="CPU only"):
        torch.ones(2).to(torch.device("cuda"))
    with pytest.raises(RuntimeError, match="CPU only"):
        torch.randn(2, device="cuda")
    with pytest.raises(RuntimeError, match="device type"):
        torch.device("gpu")


def test_generator_and_size_keyword():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(torch.rand(4, generator=g1), torch.rand(4, generator=g2))
    assert torch.equal(torch.randperm(6, generator=g1), torch.randperm(6, generator=g2))
    assert g1.initial_seed() == 3
    assert torch.rand(size=(8, 8)).shape == (8, 8) and torch.zeros(size=(2, 3)).shape == (2, 3)
    assert torch.randn(size=(2,)).shape == (2,) and torch.ones(size=[1, 2]).shape == (1, 2)
    with pytest.raises(TypeError, match="unexpected keyword"):
        torch.zeros(2, sise=3)


def test_parameter_prints_like_pytorch():
    assert str(nn.Parameter(torch.ones(2))) == "Parameter containing:\ntensor([1., 1.], requires_grad=True)"


def test_zero_element_init_is_a_noop():
    with pytest.warns(UserWarning, match="zero-element"):
        lin = nn.Linear(0, 3)
    assert lin(torch.ones(2, 0)).tolist() == [[0.0, 0.0, 0.0]] * 2


# -- nn.utils ---------------------------------------------------------------------------------------


def _with_grads(*grads):
    ps = []
    for g in grads:
        p = torch.zeros(len(g), requires_grad=True)
        p.grad = torch.tensor(g)
        ps.append(p)
    return ps


def test_clip_grad_norm():
    ps = _with_grads([3.0, 0.0], [4.0])
    total = nn.utils.clip_grad_norm_(ps, max_norm=1.0)
    assert math.isclose(total.item(), 5.0, rel_tol=1e-6) and total.dtype == torch.float32
    np.testing.assert_allclose(ps[0].grad.numpy(), [3 / (5 + 1e-6), 0], rtol=1e-6)
    np.testing.assert_allclose(ps[1].grad.numpy(), [4 / (5 + 1e-6)], rtol=1e-6)
    ps = _with_grads([3.0, 0.0], [4.0])
    nn.utils.clip_grad_norm_(ps, max_norm=10.0)  # below the limit: unchanged
    assert ps[0].grad.tolist() == [3.0, 0.0]
    ps = _with_grads([3.0, -5.0], [4.0])
    assert nn.utils.clip_grad_norm_(ps, 2.5, norm_type="inf").item() == 5.0
    np.testing.assert_allclose(ps[0].grad.numpy(), [1.5, -2.5], rtol=1e-5)
    assert nn.utils.clip_grad_norm_(_with_grads([1.0, -2.0]), 100, norm_type=1).item() == 3.0
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(_with_grads([math.inf]), 1.0, error_if_nonfinite=True)
    net = nn.Linear(3, 2)
    assert nn.utils.clip_grad_norm_(net.parameters(), 1.0).item() == 0.0  # no grads yet


def test_clip_grad_value_and_vectors():
    ps = _with_grads([3.0, -0.5], [-4.0])
    nn.utils.clip_grad_value_(ps, 1.0)
    assert ps[0].grad.tolist() == [1.0, -0.5] and ps[1].grad.tolist() == [-1.0]
    net = nn.Linear(2, 2)
    vec = nn.utils.parameters_to_vector(net.parameters())
    assert vec.shape == (6,)
    nn.utils.vector_to_parameters(torch.arange(6, dtype=torch.float32), net.parameters())
    assert net.weight.tolist() == [[0.0, 1.0], [2.0, 3.0]] and net.bias.tolist() == [4.0, 5.0]


@pytest.mark.torch
def test_matches_pytorch_clip_grad_norm():
    real = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(5).astype(np.float32)]
    for norm_type in (2.0, 1, 3, "inf"):
        ours = _with_grads(*[g.ravel().tolist() for g in grads])
        theirs = [real.zeros(g.size, requires_grad=True) for g in grads]
        for p, g in zip(theirs, grads):
            p.grad = real.tensor(g.ravel())
        a = nn.utils.clip_grad_norm_(ours, 0.5, norm_type)
        b = real.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type)
        assert math.isclose(a.item(), b.item(), rel_tol=1e-5)
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5)


def test_new_tensor_methods():
    x = torch.tensor([5.5, 3.0])
    ones = x.new_ones(5, 3, dtype=torch.double)  # the 60-minute blitz's first cell
    assert ones.shape == (5, 3) and ones.dtype == torch.float64 and ones.sum().item() == 15
    assert x.new_zeros((2,)).dtype == torch.float32 and torch.tensor([1]).new_ones(2).dtype == torch.int64
    assert x.new_full((2, 2), 7.0).tolist() == [[7.0, 7.0], [7.0, 7.0]] and x.new_empty(3).shape == (3,)
    t = x.new_tensor([1, 2], requires_grad=True)
    assert t.dtype == torch.float32 and t.requires_grad and t.tolist() == [1.0, 2.0]
