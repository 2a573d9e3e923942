"""Silent differences from PyTorch 2.13 found by review, each pinned by a regression test
against PyTorch (skipped without it): var/std without degrees of freedom, empty `dim` lists
in reductions, empty gather/scatter indices, the logsumexp output's version counter,
BatchNorm state dicts without num_batches_tracked, conv2d_weight on an empty batch, and the
dtype helpers (finfo, iinfo, itemsize, is_signed, is_complex)."""

from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np
import pytest

import tinyconv


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _both():
    torch = pytest.importorskip("torch")
    return (tinyconv, torch)


# -- var/std: correction >= the number of elements ------------------------------------------


@pytest.mark.parametrize("values", [[3.0, 1.0, 2.0], [1.0, 2.0, 4.0], [[-5.0, 1.0], [2.0, 10.0]]])
@pytest.mark.parametrize("extra", [0, 1, 3])  # correction = n + extra
@pytest.mark.parametrize("op", ["var", "std", "var_mean", "std_mean"])
@pytest.mark.parametrize("dim", [None, "all", 0])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_var_std_without_degrees_of_freedom_match_torch(values, extra, op, dim, sign):
    """Over all elements (dim=None) PyTorch's gradient is grad * inf where an element differs
    from the mean (whatever the sign of the difference) and nan where it equals it; over
    explicit dims it is 2 (x - mean) / (n - correction), unclamped. Values, then gradients
    with and without create_graph."""
    out = []
    for lib in _both():
        x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
        dims = {} if dim is None else {"dim": tuple(range(x.dim())) if dim == "all" else dim}
        n = x.numel() if dim != 0 else x.shape[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn = getattr(lib, op)
            y = fn(x, correction=n + extra, **dims)
            y = y[0] if isinstance(y, tuple) else y
            (g,) = lib.autograd.grad(y.sum() * sign, x, retain_graph=True)
            (gg,) = lib.autograd.grad(y.sum() * sign, x, create_graph=True)
        out.append((_np(y), _np(g), _np(gg), gg.requires_grad))
    (yc, gc, ggc, rc), (yt, gt, ggt, rt) = out
    np.testing.assert_array_equal(yc, yt)
    np.testing.assert_allclose(gc, gt, rtol=1e-12, atol=0, equal_nan=True)
    np.testing.assert_allclose(ggc, ggt, rtol=1e-12, atol=0, equal_nan=True)
    assert rc == rt


def test_var_of_one_element_unbiased_matches_torch():
    for unbiased in (True, None):
        res = []
        for lib in _both():
            x = lib.tensor([5.0], dtype=lib.float64, requires_grad=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kw = {} if unbiased is None else {"unbiased": unbiased}
                y, s = x.var(**kw), x.std(**kw)
                (g,) = lib.autograd.grad(y + s, x)
            res.append((_np(y), _np(s), _np(g)))
        for a, b in zip(*res, strict=True):
            np.testing.assert_array_equal(a, b)


# -- an empty list of dims reduces every dim (sum, mean, var, amax, norm, ...) --------------


@pytest.mark.parametrize(
    "op", ["sum", "mean", "amax", "amin", "norm", "nansum", "nanmean", "count_nonzero"]
)
@pytest.mark.parametrize("dims", [[], ()])
@pytest.mark.parametrize("keepdim", [False, True])
def test_empty_dim_list_reduces_everything(op, dims, keepdim):
    res = []
    for lib in _both():
        x = lib.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=lib.float64, requires_grad=True)
        if op == "count_nonzero":
            y = x.count_nonzero(dim=dims)
        elif op == "norm":
            y = x.norm(dim=dims, keepdim=keepdim)
        else:
            y = getattr(x, op)(dim=dims, keepdim=keepdim)
        g = lib.autograd.grad(y.sum(), x)[0] if y.requires_grad else None
        res.append((tuple(y.shape), _np(y), None if g is None else _np(g)))
    (sc, yc, gc), (st, yt, gt) = res
    assert sc == st
    np.testing.assert_allclose(yc, yt, rtol=1e-12)
    if gt is not None:
        np.testing.assert_allclose(gc, gt, rtol=1e-12)


def test_empty_dim_list_in_var_std_and_logsumexp():
    """var/std over dim=[] give PyTorch's values (every dim reduced); a gradient through them
    is refused, because PyTorch's uses 1 - correction degrees of freedom (a README difference).
    logsumexp(dim=[]) raises, as in PyTorch."""
    torch = pytest.importorskip("torch")
    vals = [[1.0, 2.0], [3.0, 5.0]]
    for op in ("var", "std"):
        want = getattr(torch.tensor(vals, dtype=torch.float64), op)(dim=[])
        got = getattr(tinyconv.tensor(vals, dtype=tinyconv.float64), op)(dim=[])
        np.testing.assert_allclose(_np(got), _np(want), rtol=1e-12)
        x = tinyconv.tensor(vals, requires_grad=True)
        with pytest.raises(RuntimeError, match="dim=\\[\\]"):
            getattr(x, op)(dim=[])
        with tinyconv.no_grad():
            assert getattr(x, op)(dim=[]).shape == ()
    for lib in (tinyconv, torch):
        with pytest.raises(RuntimeError):
            lib.tensor(vals).logsumexp([])


# -- gather/scatter: an empty index of any dtype and shape --------------------------------


@pytest.mark.parametrize("shape", [(0,), (0, 4), (3, 0), (0, 9), (5, 0)])
@pytest.mark.parametrize("dtype", ["float32", "int16", "uint8", "bool", "int32", "int64"])
def test_gather_scatter_empty_index_of_any_dtype(shape, dtype):
    res = []
    for lib in _both():
        x = lib.tensor(np.arange(12.0).reshape(3, 4).tolist(), requires_grad=True)
        i = lib.zeros(shape, dtype=getattr(lib, dtype))
        src_any = lib.ones(2, 2, 2)
        g = x.gather(1, i)
        s = x.scatter(1, i, src_any)
        a = x.scatter_add(0, i, src_any)
        v = x.scatter(0, i, 2.0)
        out = [tuple(t.shape) for t in (g, s, a, v)] + [_np(s), _np(a), _np(v)]
        if len(shape) == 2:  # (PyTorch's own backward fails for an index of other ndim)
            src = lib.ones(shape, requires_grad=True)
            loss = (
                x.gather(1, i).sum() + x.scatter(1, i, src).sum() + x.scatter_add(0, i, src).sum()
            )
            out += [_np(t) for t in lib.autograd.grad(loss, (x, src))]
        res.append(out)
    for a, b in zip(*res, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", ["int32", "int16", "uint8", "float32"])
def test_index_dtypes_match_torch(dtype):
    """Non-empty indices: gather/scatter/index_select take int32 or int64; take only int64."""
    lib_c, lib_t = _both()
    for what in ("gather", "scatter", "index_select", "take"):
        raised = []
        for lib in (lib_c, lib_t):
            x = lib.ones(3, 4)
            i = lib.zeros((2, 2) if what != "index_select" else (2,), dtype=getattr(lib, dtype))
            call = {
                "gather": lambda x=x, i=i: x.gather(1, i),
                "scatter": lambda x=x, i=i: x.scatter(1, i, 1.0),
                "index_select": lambda x=x, i=i: x.index_select(0, i),
                "take": lambda x=x, i=i: x.take(i),
            }[what]
            try:
                call()
                raised.append(False)
            except RuntimeError:
                raised.append(True)
        assert raised[0] == raised[1], (what, dtype, raised)


# -- logsumexp's output is saved for backward: an in-place write to it is caught ----------


@pytest.mark.parametrize("keepdim", [False, True])
def test_logsumexp_output_written_in_place_raises(keepdim):
    for lib in _both():
        x = lib.randn(3, 4, requires_grad=True)
        y = x.logsumexp(1, keepdim=keepdim)
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace|in-place"):
            y.sum().backward()


def test_logsumexp_gradients_unchanged():
    from tinyconv.autograd import gradcheck, gradgradcheck

    x = tinyconv.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    for dim, keep in ((1, False), (0, True), ((0, 1), False)):
        assert gradcheck(lambda t, d=dim, k=keep: t.logsumexp(d, keepdim=k), (x,))
        assert gradgradcheck(lambda t, d=dim, k=keep: t.logsumexp(d, keepdim=k), (x,))


# -- BatchNorm state dicts of version 1 (no num_batches_tracked) ---------------------------


@pytest.mark.parametrize("metadata", [None, 1, 2])
def test_batchnorm_old_state_dict_fills_num_batches_tracked(metadata):
    res = []
    for lib in _both():
        bn = lib.nn.BatchNorm2d(3)
        bn.num_batches_tracked.fill_(5)
        sd = OrderedDict((k, v) for k, v in bn.state_dict().items() if k != "num_batches_tracked")
        if metadata is not None:
            sd._metadata = {"": {"version": metadata}}
        try:
            keys = bn.load_state_dict(sd)
            res.append((list(keys.missing_keys), int(bn.num_batches_tracked)))
        except RuntimeError as e:
            res.append(("raised", "num_batches_tracked" in str(e)))
    assert res[0] == res[1]
    assert tinyconv.nn.BatchNorm1d(2).state_dict()._metadata[""]["version"] == 2


def test_batchnorm_old_state_dict_in_a_model():
    torch = pytest.importorskip("torch")
    res = []
    for lib in (tinyconv, torch):
        m = lib.nn.Sequential(lib.nn.Conv2d(1, 2, 3), lib.nn.BatchNorm2d(2))
        sd = OrderedDict((k, v) for k, v in m.state_dict().items() if "num_batches" not in k)
        res.append(list(m.load_state_dict(sd, strict=False).missing_keys))
    assert res[0] == res[1] == []


# -- torch.nn.grad.conv2d_weight on an empty batch ------------------------------------------


@pytest.mark.parametrize("kw", [{}, {"padding": 1, "stride": 2}, {"groups": 3}])
def test_conv2d_weight_of_an_empty_batch(kw):
    res = []
    for lib in _both():
        x = lib.zeros(0, 3, 5, 5, requires_grad=True)
        go = lib.zeros(0, 3, 3, 3, requires_grad=True)  # 3x3 outputs in every configuration
        w = lib.nn.grad.conv2d_weight(x, (3, 3 // kw.get("groups", 1), 3, 3), go, **kw)
        res.append((tuple(w.shape), _np(w), w.requires_grad, str(w.dtype).split(".")[-1]))
    assert res[0][0] == res[1][0] and res[0][2:] == res[1][2:]
    np.testing.assert_array_equal(res[0][1], res[1][1])


# -- dtypes: finfo, iinfo, itemsize, is_signed, is_complex ---------------------------------


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_matches_torch(name):
    torch = pytest.importorskip("torch")
    a, b = tinyconv.finfo(getattr(tinyconv, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(a, field) == getattr(b, field), field
        assert type(getattr(a, field)) is type(getattr(b, field)), field
    assert tinyconv.finfo().eps == torch.finfo().eps


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name):
    torch = pytest.importorskip("torch")
    a, b = tinyconv.iinfo(getattr(tinyconv, name)), torch.iinfo(getattr(torch, name))
    for field in ("bits", "max", "min", "dtype"):
        assert getattr(a, field) == getattr(b, field), field
        assert type(getattr(a, field)) is type(getattr(b, field)), field


def test_finfo_iinfo_reject_the_other_kind():
    for lib in _both():
        with pytest.raises(TypeError):
            lib.finfo(lib.int32)
        with pytest.raises(TypeError):
            lib.iinfo(lib.float32)
        with pytest.raises(TypeError):
            lib.iinfo(lib.bool)


@pytest.mark.parametrize("name", ["float32", "float64", "int64", "uint8", "bool", "int8"])
def test_dtype_itemsize_is_signed_is_complex(name):
    torch = pytest.importorskip("torch")
    a, b = getattr(tinyconv, name), getattr(torch, name)
    assert a.itemsize == b.itemsize
    x, y = tinyconv.ones(2, dtype=a), torch.ones(2, dtype=b)
    assert x.is_signed() == y.is_signed()
    assert x.is_complex() == y.is_complex() is False
    assert tinyconv.is_complex(x) is False
    assert x.element_size() == y.element_size()


@pytest.mark.parametrize("bad_index", [-1, 3])
def test_gather_scatter_index_out_of_range_raise_runtime_error(bad_index):
    """Negative indices do not wrap in gather/scatter/scatter_add/scatter_reduce (PyTorch
    raises RuntimeError for them as for too-large ones; tinyconv's error is also an
    IndexError)."""
    for lib in _both():
        for f in (
            lambda T: T.arange(3.0).gather(0, T.tensor([bad_index])),
            lambda T: T.zeros(3).scatter(0, T.tensor([bad_index]), 1.0),
            lambda T: T.zeros(3).scatter_add(0, T.tensor([bad_index]), T.ones(1)),
            lambda T: T.zeros(3).scatter_reduce(0, T.tensor([bad_index]), T.ones(1), "sum"),
        ):
            with pytest.raises(RuntimeError, match="out of bounds"):
                f(lib)
