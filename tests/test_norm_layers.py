"""GroupNorm, InstanceNorm1d/2d/3d, BatchNorm3d and LocalResponseNorm (issue 12): backward
against float64 finite differences on hypothesis-drawn shapes; values, gradients, dtypes,
reprs, state-dict keys and running statistics against PyTorch 2.13; bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import float64_arrays, norm_configs
from torch_compare import compare

import tinyconv
import tinyconv.nn.functional as F
from tinyconv import nn
from tinyconv.autograd import gradcheck

TOL = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-6}


def leaf(arr: np.ndarray) -> tinyconv.Tensor:
    return tinyconv.from_numpy(np.asarray(arr, dtype=np.float64)).requires_grad_()


# -- backward against finite differences --------------------------------------------------


@given(norm_configs(), st.data())
def test_group_norm_gradcheck(cfg, data):
    shape, groups = cfg
    assume(np.prod(shape) // groups > 1)  # PyTorch (and tinyconv) refuse one value per group
    x = data.draw(float64_arrays(shape))
    w, b = (data.draw(float64_arrays((shape[1],))) for _ in range(2))
    affine = data.draw(st.booleans())
    inputs = (leaf(x), leaf(w), leaf(b)) if affine else (leaf(x),)

    def fn(x, w=None, b=None):
        return F.group_norm(x, groups, w, b, eps=1e-3)

    assert gradcheck(fn, inputs, **TOL)


@given(norm_configs(min_spatial=2), st.data())
def test_instance_norm_gradcheck(cfg, data):
    shape, _ = cfg
    x = data.draw(float64_arrays(shape))
    w, b = (data.draw(float64_arrays((shape[1],))) for _ in range(2))
    assert gradcheck(
        lambda x, w, b: F.instance_norm(x, weight=w, bias=b, eps=1e-3),
        (leaf(x), leaf(w), leaf(b)),
        **TOL,
    )  # noqa: E501
    # with running stats, in eval mode (use_input_stats=False): a per-channel affine map
    rm = tinyconv.tensor(data.draw(float64_arrays((shape[1],))))
    rv = tinyconv.tensor(data.draw(float64_arrays((shape[1],), "positive")))
    assert gradcheck(lambda x: F.instance_norm(x, rm, rv, use_input_stats=False), (leaf(x),), **TOL)


@given(norm_configs(min_spatial=1), st.integers(1, 4), st.data())
def test_local_response_norm_gradcheck(cfg, size, data):
    shape, _ = cfg
    x = data.draw(float64_arrays(shape))
    fn = lambda x: F.local_response_norm(x, size, alpha=0.5, beta=0.75, k=1.0)  # noqa: E731
    assert gradcheck(fn, (leaf(x),), **TOL)


def test_batch_norm3d_gradcheck():
    x = np.random.default_rng(0).standard_normal((2, 3, 2, 2, 3))
    m = nn.BatchNorm3d(3, dtype=tinyconv.float64)
    assert gradcheck(lambda x: m(x), (leaf(x),), **TOL)


# -- against PyTorch ------------------------------------------------------------------------


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "shape,groups", [((2, 4, 3, 3), 2), ((3, 6, 5), 3), ((2, 4), 2), ((1, 4, 2, 2, 2), 1)]
)
def test_group_norm_matches_torch(shape, groups, dtype):
    C = shape[1]
    compare(
        lambda T, F, x, w, b: F.group_norm(x, groups, w, b),
        [_rand(*shape), _rand(C, seed=1), _rand(C, seed=2)],
        dtype,
    )
    compare(lambda T, F, x: F.group_norm(x, groups, eps=1e-3), [_rand(*shape) * 3 + 1], dtype)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 4), (1, 2, 2, 3, 2)])
def test_instance_norm_matches_torch(shape, dtype):
    C = shape[1]
    compare(
        lambda T, F, x, w, b: F.instance_norm(x, weight=w, bias=b),
        [_rand(*shape), _rand(C, seed=1), _rand(C, seed=2)],
        dtype,
        name=True,  # ViewBackward0, as PyTorch
    )


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape,size", [((2, 5, 3), 3), ((2, 6, 3, 3), 2), ((1, 4, 2, 2, 2), 5)])
def test_local_response_norm_matches_torch(shape, size, dtype):
    compare(
        lambda T, F, x: F.local_response_norm(x, size, alpha=0.3, beta=0.6, k=1.5),
        [_rand(*shape)],
        dtype,
    )


def _module_pair(torch, name, *args, **kwargs):
    """The same module in both libraries, with PyTorch's (random) parameters copied in."""
    t = getattr(torch.nn, name)(*args, **kwargs)
    c = getattr(nn, name)(*args, **kwargs)
    for p in t.parameters():
        p.data.normal_()
    c.load_state_dict({k: tinyconv.tensor(v.numpy()) for k, v in t.state_dict().items()})
    return c, t


NORM_MODULES = [
    ("GroupNorm", (2, 4), {}, (2, 4, 3, 3)),
    ("GroupNorm", (2, 4), {"affine": False}, (2, 4, 5)),
    ("GroupNorm", (1, 4), {"bias": False, "eps": 1e-3}, (2, 4, 5)),
    ("InstanceNorm1d", (3,), {}, (2, 3, 5)),
    ("InstanceNorm1d", (3,), {"affine": True}, (3, 5)),
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True}, (2, 3, 4, 4)),
    ("InstanceNorm2d", (3,), {"track_running_stats": True, "momentum": None}, (2, 3, 4, 4)),
    ("InstanceNorm3d", (2,), {"affine": True, "bias": False}, (2, 2, 2, 3, 2)),
    ("InstanceNorm3d", (2,), {"track_running_stats": True}, (2, 2, 3, 2)),
    ("BatchNorm3d", (3,), {}, (2, 3, 2, 3, 2)),
    ("BatchNorm3d", (3,), {"momentum": None, "bias": False}, (2, 3, 2, 2, 2)),
    ("BatchNorm2d", (3,), {"affine": False}, (2, 3, 2, 2)),
    ("BatchNorm1d", (3,), {"bias": False}, (4, 3)),
    ("LocalResponseNorm", (3,), {}, (2, 5, 3, 3)),
    ("LocalResponseNorm", (2, 1e-2, 0.5, 2.0), {}, (2, 4, 3)),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,args,kwargs,shape", NORM_MODULES)
def test_norm_modules_match_torch(name, args, kwargs, shape):
    """repr, state-dict keys, parameter dtypes, outputs and gradients in training and in eval
    mode, and the running statistics (buffers) after two training steps."""
    torch = pytest.importorskip("torch")
    c, t = _module_pair(torch, name, *args, **kwargs)
    assert repr(c) == repr(t)
    assert list(c.state_dict()) == list(t.state_dict())
    assert [n for n, _ in c.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in c.named_buffers()] == [n for n, _ in t.named_buffers()]
    for step in range(3):
        if step == 2:
            c.eval(), t.eval()
        arr = _rand(*shape, seed=step) * 2 + 0.5
        x_c = tinyconv.tensor(arr, dtype=tinyconv.float32, requires_grad=True)
        x_t = torch.tensor(arr, dtype=torch.float32, requires_grad=True)
        y_c, y_t = c(x_c), t(x_t)
        np.testing.assert_allclose(y_c.detach().numpy(), y_t.detach().numpy(), 2e-5, 2e-5)
        assert dtype_of(y_c) == dtype_of(y_t)
        w = _rand(*y_t.shape, seed=10 + step)
        (y_c * tinyconv.tensor(w, dtype=tinyconv.float32)).sum().backward()
        (y_t * torch.tensor(w, dtype=torch.float32)).sum().backward()
        np.testing.assert_allclose(x_c.grad.numpy(), x_t.grad.numpy(), 2e-4, 2e-5)
        for (n, p), q in zip(c.named_parameters(), t.parameters(), strict=True):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), 2e-4, 1e-4, err_msg=n)
        for (n, b), q in zip(c.named_buffers(), t.buffers(), strict=True):
            np.testing.assert_allclose(b.numpy(), q.numpy(), 1e-5, 1e-6, err_msg=n)
            assert dtype_of(b) == dtype_of(q)


def dtype_of(t) -> str:
    return str(t.dtype).split(".")[-1]


@pytest.mark.torch
def test_instance_norm_functional_running_stats_match_torch():
    torch = pytest.importorskip("torch")
    arr = _rand(3, 2, 4, 3)
    stats = [(_rand(2, seed=1), np.abs(_rand(2, seed=2)) + 0.5) for _ in range(2)]
    rc = [tinyconv.tensor(a) for a in stats[0]]
    rt = [torch.tensor(a) for a in stats[1]]
    yc = F.instance_norm(tinyconv.tensor(arr), *rc, momentum=0.3)
    yt = torch.nn.functional.instance_norm(torch.tensor(arr), *rt, momentum=0.3)
    np.testing.assert_allclose(yc.numpy(), yt.numpy(), 1e-12, 1e-12)
    for a, b in zip(rc, rt, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), 1e-12, 1e-12)
    yc = F.instance_norm(tinyconv.tensor(arr), *rc, use_input_stats=False)
    yt = torch.nn.functional.instance_norm(torch.tensor(arr), *rt, use_input_stats=False)
    np.testing.assert_allclose(yc.numpy(), yt.numpy(), 1e-12, 1e-12)


@pytest.mark.torch
def test_lazy_batchnorm3d_matches_torch():
    torch = pytest.importorskip("torch")
    c, t = nn.LazyBatchNorm3d(bias=False), torch.nn.LazyBatchNorm3d(bias=False)
    arr = _rand(2, 3, 2, 2, 2)
    c(tinyconv.tensor(arr, dtype=tinyconv.float32))
    t(torch.tensor(arr, dtype=torch.float32))
    assert type(c).__name__ == type(t).__name__ == "BatchNorm3d"
    assert repr(c) == repr(t) and list(c.state_dict()) == list(t.state_dict())


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call,exc,words",
    [
        (lambda: F.group_norm(tinyconv.ones(2, 6, 3), 4), RuntimeError, "num_groups"),
        (lambda: F.group_norm(tinyconv.ones(3), 1), RuntimeError, "shape (3,)"),
        (lambda: F.group_norm(tinyconv.ones(2, 4), 2, tinyconv.ones(3)), RuntimeError, "weight"),
        (lambda: F.group_norm(tinyconv.ones(2, 4), 2.0), TypeError, "num_groups"),
        (lambda: F.group_norm(tinyconv.ones(2, 4, dtype=tinyconv.int64), 2), RuntimeError, "int64"),
        (lambda: F.group_norm(tinyconv.ones(1, 2), 2), ValueError, "more than 1 value"),
        (lambda: nn.GroupNorm(3, 4), ValueError, "num_channels (4)"),
        (lambda: nn.GroupNorm(0, 4), ValueError, "num_groups"),
        (lambda: F.instance_norm(tinyconv.ones(2, 3)), ValueError, "shape (2, 3)"),
        (lambda: F.instance_norm(tinyconv.ones(2, 3, 1)), ValueError, "more than 1 spatial"),
        (
            lambda: F.instance_norm(tinyconv.ones(2, 3, 4), use_input_stats=False),
            ValueError,
            "running_mean",
        ),
        (
            lambda: F.instance_norm(tinyconv.ones(2, 3, 4), running_mean=tinyconv.zeros(3)),
            ValueError,
            "running_var",
        ),
        (
            lambda: F.instance_norm(tinyconv.ones(2, 3, 4), bias=tinyconv.ones(2)),
            RuntimeError,
            "bias",
        ),
        (
            lambda: nn.InstanceNorm2d(3, affine=True)(tinyconv.ones(2, 4, 3, 3)),
            ValueError,
            "num_features (3)",
        ),  # noqa: E501
        (lambda: nn.InstanceNorm2d(3)(tinyconv.ones(4, 3)), ValueError, "4-D (N, C, H, W)"),
        (lambda: nn.BatchNorm3d(3)(tinyconv.ones(2, 3, 4, 4)), ValueError, "5-D (N, C, D, H, W)"),
        (lambda: F.local_response_norm(tinyconv.ones(2, 3), 2), ValueError, "3 or more"),
        (lambda: F.local_response_norm(tinyconv.ones(2, 3, 2), 0), ValueError, "size"),
    ],
)
def test_bad_input(call, exc, words):
    with pytest.raises(exc, match=None) as err:
        call()
    assert words in str(err.value)


def test_instance_norm_num_features_mismatch_warns_without_affine():
    with pytest.warns(UserWarning, match="num_features"):
        nn.InstanceNorm1d(3)(tinyconv.ones(2, 4, 5))
