"""torch.nn.utils.parametrize and the weight/spectral normalisations (parametrization and hook
versions), each run side by side with PyTorch: values, state_dict keys, buffers and a few
training steps."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

import tinyconv
from tinyconv import nn
from tinyconv.autograd import gradcheck
from tinyconv.nn.utils import parametrize

pytestmark = pytest.mark.torch

X = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
IMAGES = np.random.default_rng(1).standard_normal((2, 3, 5, 5)).astype(np.float32)


def _symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, w):
            return w.triu() + w.triu(1).transpose(-1, -2)

        def right_inverse(self, a):
            return a.triu()

    return Symmetric()


def _scale(lib):
    class Scale(lib.nn.Module):
        def forward(self, w):
            return 2 * w

        def right_inverse(self, a):
            return a / 2

    return Scale()


def _train(lib, build, steps: int = 3, inputs: np.ndarray = X, train: bool = True):
    """Seeded module from build(lib), `steps` SGD steps on mean(out**2): (module, losses)."""
    lib.manual_seed(0)
    module = build(lib).train(train)
    opt = lib.optim.SGD(module.parameters(), lr=0.1)
    x = lib.tensor(inputs)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = (module(x) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return module, losses


def _assert_same_state(mine, theirs, rtol: float = 1e-5) -> None:
    a, b = mine.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    for key in a:
        np.testing.assert_allclose(a[key].numpy(), b[key].numpy(), rtol=rtol, atol=1e-6)


def _compare(build, steps: int = 3, inputs: np.ndarray = X, train: bool = True, rtol=1e-5):
    torch = pytest.importorskip("torch")
    mine, my_losses = _train(tinyconv, build, steps, inputs, train)
    theirs, their_losses = _train(torch, build, steps, inputs, train)
    np.testing.assert_allclose(my_losses, their_losses, rtol=rtol)
    _assert_same_state(mine, theirs, rtol)
    return mine, theirs


# -- parametrize ---------------------------------------------------------------------------


def _symmetric_linear(lib):
    m = lib.nn.Linear(3, 3)
    lib.nn.utils.parametrize.register_parametrization(m, "weight", _symmetric(lib))
    return m


def test_register_parametrization_matches_torch():
    mine, theirs = _compare(_symmetric_linear)
    assert type(mine).__name__ == type(theirs).__name__ == "ParametrizedLinear"
    assert isinstance(mine, nn.Linear) and "weight" not in mine._parameters
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    w = mine.weight.detach().numpy()
    np.testing.assert_array_equal(w, w.T)
    np.testing.assert_allclose(w, theirs.weight.detach().numpy(), rtol=1e-5)
    assert repr(mine) == repr(theirs)
    assert parametrize.is_parametrized(mine) and parametrize.is_parametrized(mine, "weight")
    assert not parametrize.is_parametrized(mine, "bias")
    assert parametrize.type_before_parametrizations(mine) is nn.Linear


def test_gradients_reach_original_and_each_access_recomputes():
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (tinyconv, torch):
        m = _symmetric_linear(lib)
        with lib.no_grad():
            m.parametrizations.weight.original.copy_(lib.tensor(X[:3]))
        first = m.weight
        assert m.weight is not first  # a fresh computation each time
        assert first.grad_fn is not None and first.requires_grad
        (m.weight * lib.arange(9.0).reshape(3, 3)).sum().backward()
        grads.append(m.parametrizations.weight.original.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1])


def test_assignment_runs_right_inverse_and_keeps_the_parameter_object():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (tinyconv, torch):
        m = _symmetric_linear(lib)
        original = m.parametrizations.weight.original
        target = lib.tensor(X[:3] + X[:3].T)
        m.weight = target
        assert m.parametrizations.weight.original is original
        np.testing.assert_allclose(m.weight.detach().numpy(), target.numpy(), rtol=1e-6)
        results.append(original.detach().numpy().copy())
        with pytest.raises(KeyError, match="already exists"):
            m.weight = lib.nn.Parameter(target)
    np.testing.assert_array_equal(*results)


def _chained(lib):
    m = _symmetric_linear(lib)
    lib.nn.utils.parametrize.register_parametrization(m, "weight", _scale(lib))
    return m


def test_chained_parametrizations_match_torch():
    mine, theirs = _compare(_chained)
    assert len(mine.parametrizations.weight) == 2
    np.testing.assert_allclose(
        mine.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-6
    )
    mine.weight = tinyconv.ones(3, 3)  # through both right_inverses
    np.testing.assert_allclose(
        mine.parametrizations.weight.original.detach().numpy(), np.triu(0.5 * np.ones((3, 3)))
    )


def test_cached_computes_once_per_block():
    m = _symmetric_linear(tinyconv)
    with parametrize.cached():
        a = m.weight
        with parametrize.cached():
            assert m.weight is a
        assert m.weight is a
    assert m.weight is not a


@pytest.mark.parametrize("leave", [True, False])
def test_remove_parametrizations_matches_torch(leave):
    torch = pytest.importorskip("torch")
    out = []
    for lib in (tinyconv, torch):
        m, _ = _train(lib, _chained, steps=2)
        original = m.parametrizations.weight.original
        before = m.weight.detach().numpy().copy()
        lib.nn.utils.parametrize.remove_parametrizations(m, "weight", leave_parametrized=leave)
        assert type(m) is lib.nn.Linear and not hasattr(m, "parametrizations")
        assert m.weight is original and isinstance(m.weight, lib.nn.Parameter)
        if leave:
            np.testing.assert_allclose(m.weight.detach().numpy(), before)
        out.append((list(m.state_dict()), m.weight.detach().numpy()))
    assert out[0][0] == out[1][0]
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-5)


def test_parametrize_a_buffer_and_unsafe_shape_change():
    torch = pytest.importorskip("torch")

    for lib in (tinyconv, torch):

        class Flat(lib.nn.Module):
            def forward(self, w):
                return w.reshape(-1)

        bn = lib.nn.BatchNorm1d(3)
        lib.nn.utils.parametrize.register_parametrization(bn, "running_mean", _scale(lib))
        assert "parametrizations.running_mean.original" in bn.state_dict()
        assert bn.running_mean.tolist() == [0.0, 0.0, 0.0]
        assert not bn.parametrizations.running_mean.original.requires_grad
        m = lib.nn.Linear(3, 2)
        with pytest.raises(ValueError, match="shape"):
            lib.nn.utils.parametrize.register_parametrization(m, "weight", Flat())
        lib.nn.utils.parametrize.register_parametrization(m, "weight", Flat(), unsafe=True)
        assert tuple(m.weight.shape) == (6,)
        with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
            lib.nn.utils.parametrize.register_parametrization(m, "nope", Flat())
        with pytest.raises(ValueError):
            lib.nn.utils.parametrize.remove_parametrizations(m, "bias")


def test_copy_and_pickle():
    m = _symmetric_linear(tinyconv)
    c = copy.deepcopy(m)
    assert (
        type(c) is type(m)
        and c.parametrizations.weight.original is not m.parametrizations.weight.original
    )
    np.testing.assert_array_equal(c.weight.detach().numpy(), m.weight.detach().numpy())
    with pytest.raises(RuntimeError, match="state_dict"):
        pickle.dumps(m)
    fresh = _symmetric_linear(tinyconv)
    fresh.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(fresh.weight.detach().numpy(), m.weight.detach().numpy())


# -- weight_norm / spectral_norm as parametrizations -------------------------------------


@pytest.mark.parametrize("dim", [0, 1, None, -2])
def test_parametrized_weight_norm_matches_torch(dim):
    def build(lib):
        return lib.nn.utils.parametrizations.weight_norm(lib.nn.Conv2d(3, 4, 2), dim=dim)

    mine, _ = _compare(build, inputs=IMAGES)
    g = mine.parametrizations.weight.original0
    assert isinstance(g, nn.Parameter)
    parametrize.remove_parametrizations(mine, "weight")
    assert isinstance(mine.weight, nn.Parameter) and mine.weight.shape == (4, 3, 2, 2)


def test_weight_norm_function_gradcheck():
    from tinyconv.nn.utils.parametrizations import _WeightNorm

    rng = np.random.default_rng(5)
    v = tinyconv.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    for dim, g_shape in [(0, (3, 1, 1)), (2, (1, 1, 2)), (None, ())]:
        g = tinyconv.tensor(rng.standard_normal(g_shape), requires_grad=True)
        assert gradcheck(_WeightNorm(dim), (g, v), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("layer", "kwargs"),
    [
        ("linear", {}),
        ("conv", {"n_power_iterations": 3}),
        ("convt", {}),
        ("conv", {"dim": 1, "eps": 1e-3}),
    ],
)
@pytest.mark.parametrize("train", [True, False])
def test_parametrized_spectral_norm_matches_torch(layer, kwargs, train):
    def build(lib):
        m = {
            "linear": lambda: lib.nn.Linear(3, 5),
            "conv": lambda: lib.nn.Conv2d(3, 4, 2),
            "convt": lambda: lib.nn.ConvTranspose2d(3, 4, 2),
        }[layer]()
        return lib.nn.utils.parametrizations.spectral_norm(m, **kwargs)

    _compare(build, inputs=X if layer == "linear" else IMAGES, train=train)


def test_parametrized_spectral_norm_of_a_vector_and_bad_arguments():
    torch = pytest.importorskip("torch")
    _compare(lambda lib: lib.nn.utils.parametrizations.spectral_norm(lib.nn.Linear(3, 2), "bias"))
    for lib, err in ((tinyconv, IndexError), (torch, IndexError)):
        with pytest.raises(err):
            lib.nn.utils.parametrizations.spectral_norm(lib.nn.Linear(3, 2), dim=2)
        with pytest.raises(ValueError, match="n_power_iterations"):
            lib.nn.utils.parametrizations.spectral_norm(lib.nn.Linear(3, 2), n_power_iterations=0)
        with pytest.raises(ValueError, match="no parameter or buffer"):
            lib.nn.utils.parametrizations.spectral_norm(lib.nn.Linear(3, 2), "nope")


# -- the hook versions --------------------------------------------------------------------


def _legacy_weight_norm(lib, dim=0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return lib.nn.utils.weight_norm(lib.nn.Conv2d(3, 4, 2), dim=dim)


@pytest.mark.parametrize("dim", [0, None, 2])
def test_hook_weight_norm_matches_torch(dim):
    torch = pytest.importorskip("torch")
    mine, theirs = _compare(lambda lib: _legacy_weight_norm(lib, dim), inputs=IMAGES)
    assert list(mine.state_dict()) == ["bias", "weight_g", "weight_v"]
    for lib, m in ((tinyconv, mine), (torch, theirs)):
        lib.nn.utils.remove_weight_norm(m)
        with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
            lib.nn.utils.remove_weight_norm(m)
    _assert_same_state(mine, theirs)
    assert isinstance(mine.weight, nn.Parameter) and not mine._forward_pre_hooks


def test_hook_weight_norm_warns_and_refuses_a_second_hook():
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        m = nn.utils.weight_norm(nn.Linear(3, 2))
    with pytest.raises(RuntimeError, match="two weight_norm hooks"), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        nn.utils.weight_norm(m)


@pytest.mark.parametrize(
    ("layer", "kwargs"), [("linear", {}), ("convt", {"n_power_iterations": 2})]
)
@pytest.mark.parametrize("train", [True, False])
def test_hook_spectral_norm_matches_torch(layer, kwargs, train):
    torch = pytest.importorskip("torch")

    def build(lib):
        m = lib.nn.Linear(3, 5) if layer == "linear" else lib.nn.ConvTranspose2d(3, 4, 2)
        return lib.nn.utils.spectral_norm(m, **kwargs)

    inputs = X if layer == "linear" else IMAGES
    mine, theirs = _compare(build, inputs=inputs, train=train)
    assert list(mine.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    np.testing.assert_allclose(
        mine.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-5
    )
    for lib, m in ((tinyconv, mine), (torch, theirs)):
        lib.nn.utils.remove_spectral_norm(m)
        with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
            lib.nn.utils.remove_spectral_norm(m)
        with pytest.raises(RuntimeError, match="two spectral_norm hooks"):
            lib.nn.utils.spectral_norm(lib.nn.utils.spectral_norm(lib.nn.Linear(2, 2)))
    _assert_same_state(mine, theirs)


def test_hook_spectral_norm_before_the_first_forward_is_the_raw_weight():
    torch = pytest.importorskip("torch")
    for lib in (tinyconv, torch):
        lib.manual_seed(0)
        m = lib.nn.Linear(3, 4)
        raw = m.weight.detach().numpy().copy()
        lib.nn.utils.spectral_norm(m)
        assert not isinstance(m.weight, lib.nn.Parameter) and not m.weight.requires_grad
        np.testing.assert_array_equal(m.weight.numpy(), raw)


def test_transfer_parametrizations_and_params_shares_them_as_torch():
    torch = pytest.importorskip("torch")
    for lib in (tinyconv, torch):
        a = _chained(lib)
        b = lib.nn.Linear(3, 3)
        lib.nn.utils.parametrize.transfer_parametrizations_and_params(a, b)
        assert b.parametrizations.weight.original is a.parametrizations.weight.original
        assert list(b.parametrizations.weight) == list(a.parametrizations.weight)
        np.testing.assert_array_equal(b.weight.detach().numpy(), a.weight.detach().numpy())
        bare = lib.nn.Module()
        g = lib.nn.utils.parametrizations.weight_norm(lib.nn.Linear(2, 2))
        lib.nn.utils.parametrize.transfer_parametrizations_and_params(g, bare, "weight")
        assert list(bare.state_dict()) == [
            "parametrizations.weight.original0",
            "parametrizations.weight.original1",
        ]
        assert bare.parametrizations.weight.original1 is g.parametrizations.weight.original1


# -- orthogonal -----------------------------------------------------------------------------

ORTHOGONAL = [
    ((3, 3), {}),  # matrix_exp
    ((5, 3), {}),  # householder, a wide weight (transposed inside)
    ((3, 5), {}),  # householder, tall: base completed with random columns
    ((3, 3), {"orthogonal_map": "cayley"}),
    ((5, 3), {"orthogonal_map": "matrix_exp"}),
    ((3, 5), {"orthogonal_map": "cayley"}),
    ((5, 3), {"use_trivialization": False}),
    ((3, 3), {"orthogonal_map": "householder"}),
]


@pytest.mark.parametrize(("shape", "kwargs"), ORTHOGONAL)
def test_orthogonal_matches_torch(shape, kwargs):
    def build(lib):
        m = lib.nn.Linear(*shape)
        return lib.nn.utils.parametrizations.orthogonal(m, **kwargs)

    mine, _ = _compare(build, inputs=np.tile(X, 2)[:, : shape[0]], rtol=2e-5)
    w = mine.weight.detach().numpy().astype(np.float64)
    small = min(w.shape)
    gram = w @ w.T if w.shape[0] == small else w.T @ w
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-5)


def test_orthogonal_assignment_and_errors_as_torch():
    torch = pytest.importorskip("torch")
    q = np.linalg.qr(np.random.default_rng(3).standard_normal((4, 4)))[0].astype(np.float32)
    for lib in (tinyconv, torch):
        orth = lib.nn.utils.parametrizations.orthogonal
        m = orth(lib.nn.Linear(4, 4))
        m.weight = lib.tensor(q)  # already orthogonal: becomes the new base
        np.testing.assert_allclose(m.weight.detach().numpy(), q, atol=1e-6)
        with pytest.raises(ValueError, match="Expected a matrix or batch of matrices of shape"):
            m.weight = lib.ones(3, 4)
        fixed = orth(lib.nn.Linear(4, 4), use_trivialization=False)
        with pytest.raises(NotImplementedError, match="use_trivialization=False"):
            fixed.weight = lib.tensor(q)
        with pytest.raises(ValueError, match="Expected a matrix or batch"):
            orth(lib.nn.Linear(4, 4), "bias")
        with pytest.raises(ValueError, match="orthogonal_map has to be one of"):
            orth(lib.nn.Linear(4, 4), orthogonal_map="qr")


def test_householder_product_gradcheck():
    from tinyconv.nn.utils.parametrizations import _householder_product

    rng = np.random.default_rng(6)
    v = tinyconv.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    tau = tinyconv.tensor(rng.uniform(0.5, 2, (2, 3)), requires_grad=True)
    assert gradcheck(_householder_product, (v, tau), eps=1e-6, atol=1e-6)
