"""The compositions in tinyconv/_tensor_extra.py (tensordot, kron, cross, median, quantile,
cdist, ...): values, indices and gradients against PyTorch, float64 gradcheck, bad input."""

import numpy as np
import pytest

import tinyconv as tc
from tinyconv.autograd import gradcheck

R = np.random.default_rng(7)


def _a(*shape):
    return R.standard_normal(shape)


# (name, inputs (arrays; floats get requires_grad), fn(m, *tensors) -> tensor or tuple)
CASES = [
    ("tensordot2", [_a(2, 3, 4), _a(3, 4, 5)], lambda m, a, b: m.tensordot(a, b)),
    (
        "tensordot_lists",
        [_a(2, 3, 4), _a(4, 2)],
        lambda m, a, b: m.tensordot(a, b, ([0, 2], [1, 0])),
    ),
    ("tensordot0", [_a(2), _a(3)], lambda m, a, b: m.tensordot(a, b, 0)),
    ("kron", [_a(2, 3), _a(3, 2)], lambda m, a, b: m.kron(a, b)),
    ("kron_ranks", [_a(2), _a(2, 3)], lambda m, a, b: m.kron(a, b)),
    ("inner", [_a(2, 3), _a(4, 3)], lambda m, a, b: m.inner(a, b)),
    ("vdot", [_a(4), _a(4)], lambda m, a, b: m.vdot(a, b)),
    ("cross", [_a(4, 3), _a(4, 3)], lambda m, a, b: m.cross(a, b, dim=1)),
    (
        "cross_bcast",
        [_a(3, 2), _a(3, 1)],
        lambda m, a, b: m.linalg.cross(a, b, dim=0) if m is not tc else m.cross(a, b, dim=0),
    ),
    ("diag_embed", [_a(2, 3)], lambda m, a: m.diag_embed(a)),
    ("diag_embed_off", [_a(2, 3)], lambda m, a: m.diag_embed(a, 1, 0, 2)),
    ("diag_embed_neg", [_a(3)], lambda m, a: m.diag_embed(a, -2)),
    ("repeat_interleave", [_a(2, 3)], lambda m, a: a.repeat_interleave(2, dim=1)),
    (
        "repeat_interleave_t",
        [_a(3, 2)],
        lambda m, a: a.repeat_interleave(m.tensor([1, 0, 2]), dim=0),
    ),
    ("repeat_interleave_flat", [_a(2, 2)], lambda m, a: m.repeat_interleave(a, 3)),
    ("cummax", [_a(3, 5)], lambda m, a: m.cummax(a, 1)),
    ("cummin", [_a(4, 3)], lambda m, a: a.cummin(0)),
    ("logcumsumexp", [_a(3, 4) * 30], lambda m, a: m.logcumsumexp(a, 1)),
    ("median", [_a(3, 5)], lambda m, a: a.median()),
    ("median_dim", [_a(3, 4)], lambda m, a: m.median(a, 1, keepdim=True)),
    ("nanmedian", [_a(3, 5)], lambda m, a: a.nanmedian(0)),
    ("kthvalue", [_a(3, 5)], lambda m, a: a.kthvalue(2, 1)),
    ("kthvalue0", [_a(4, 2)], lambda m, a: m.kthvalue(a, 4, 0, True)),
    ("quantile", [_a(7)], lambda m, a: m.quantile(a, 0.3)),
    (
        "quantile_vec",
        [_a(3, 6)],
        lambda m, a: a.quantile(m.tensor([0.1, 0.5, 0.95], dtype=m.float64), dim=1),
    ),
    (
        "quantile_modes",
        [_a(2, 5)],
        lambda m, a: tuple(
            a.quantile(0.4, 1, True, interpolation=i)
            for i in ("linear", "lower", "higher", "midpoint", "nearest")
        ),
    ),
    ("aminmax", [_a(3, 4)], lambda m, a: m.aminmax(a, dim=0)),
    ("msort", [_a(4, 3)], lambda m, a: m.msort(a)),
    ("copysign", [_a(5), _a(5)], lambda m, a, b: m.copysign(a, b)),
    ("logit", [R.uniform(0.05, 0.95, 6)], lambda m, a: m.logit(a)),
    ("logit_eps", [R.uniform(0.0, 1.0, 8)], lambda m, a: a.logit(eps=0.2)),
    (
        "xlogy_nonzero",
        [np.array([0.5, 1.5, -2.0, 0.3]), R.uniform(0.5, 2, 4)],
        lambda m, a, b: m.xlogy(a, b),
    ),
    (
        "xlogy",
        [np.array([0.0, 1.5, -2.0, 0.0]), R.uniform(0.5, 2, 4)],
        lambda m, a, b: m.xlogy(a, b),
    ),
    ("tensor_split", [_a(7, 2)], lambda m, a: m.tensor_split(a, 3)),
    ("tensor_split_idx", [_a(2, 7)], lambda m, a: a.tensor_split([1, 5], dim=1)),
    ("dist", [_a(3, 4), _a(4)], lambda m, a, b: m.dist(a, b, 3)),
    ("cdist", [_a(4, 3), _a(5, 3)], lambda m, a, b: m.cdist(a, b)),
    ("cdist_p1_batch", [_a(2, 3, 4), _a(2, 2, 4)], lambda m, a, b: m.cdist(a, b, p=1)),
    ("cdist_p3_broadcast", [_a(2, 3, 4), _a(2, 4)], lambda m, a, b: m.cdist(a, b, p=3)),
    ("cdist_p_half", [_a(3, 4), _a(2, 4)], lambda m, a, b: m.cdist(a, b, p=0.5)),
    ("cdist_p_inf", [_a(3, 4), _a(2, 4)], lambda m, a, b: m.cdist(a, b, p=float("inf"))),
    ("pdist", [_a(4, 3)], lambda m, a: m.pdist(a)),
    ("pdist_p3", [_a(4, 3)], lambda m, a: m.pdist(a, 3)),
    ("pdist_p_inf", [_a(4, 3)], lambda m, a: m.nn.functional.pdist(a, float("inf"))),
    # more than 25 rows: PyTorch's matrix-product route (kernels/distance.py)
    ("cdist_mm", [_a(30, 3), _a(4, 3)], lambda m, a, b: m.cdist(a, b)),
    ("cdist_mm_batch", [_a(2, 27, 3), _a(1, 5, 3)], lambda m, a, b: m.cdist(a, b)),
    (
        "cdist_mm_forced",
        [_a(3, 2), _a(4, 2)],
        lambda m, a, b: m.cdist(a, b, compute_mode="use_mm_for_euclid_dist"),
    ),
    (
        "cdist_no_mm",
        [_a(30, 3), _a(4, 3)],
        lambda m, a, b: m.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist"),
    ),
    ("meshgrid_ij", [_a(3), _a(2)], lambda m, a, b: m.meshgrid(a, b, indexing="ij")),
    ("meshgrid_xy", [_a(3), _a(2), _a(4)], lambda m, a, b, c: m.meshgrid(a, b, c, indexing="xy")),
    ("cartesian_prod", [_a(3), _a(2)], lambda m, a, b: m.cartesian_prod(a, b)),
    ("combinations", [_a(4)], lambda m, a: m.combinations(a, 2)),
    ("combinations_r", [_a(3)], lambda m, a: m.combinations(a, 3, with_replacement=True)),
    ("block_diag", [_a(2, 3), _a(1), _a(2, 2)], lambda m, a, b, c: m.block_diag(a, b, c)),
    ("trapezoid", [_a(3, 5)], lambda m, a: m.trapezoid(a, dx=0.5)),
    ("trapezoid_x", [_a(3, 5), np.sort(_a(5))], lambda m, a, b: m.trapezoid(a, b)),
    ("trapezoid_x_dim0", [_a(3, 5), np.sort(_a(3))], lambda m, a, b: m.trapezoid(a, b, dim=0)),
    (
        "cumulative_trapezoid_x_dim0",
        [_a(3, 5), np.sort(_a(3))],
        lambda m, a, b: m.cumulative_trapezoid(a, b, dim=0),
    ),
    ("sinc", [np.array([0.0, 1e-3, 0.3, -1.2, 2.5])], lambda m, a: m.sinc(a)),
    ("logit", [R.uniform(0.05, 0.95, 6)], lambda m, a: m.logit(a)),
    ("logit_eps", [np.array([0.05, 0.3, 0.5, 0.8, 0.97])], lambda m, a: m.logit(a, eps=0.1)),
    ("cov", [_a(3, 6)], lambda m, a: m.cov(a)),
    ("corrcoef", [_a(3, 6)], lambda m, a: m.corrcoef(a)),
    ("sgn", [_a(5)], lambda m, a: m.sgn(a)),
]


def test_cdist_rejects_an_unknown_compute_mode():
    a, b = tc.ones(2, 3), tc.ones(4, 3)
    with pytest.raises(ValueError, match="foo is not a valid value for compute_mode"):
        tc.cdist(a, b, compute_mode="foo")
    for mode in (None, "use_mm_for_euclid_dist_if_necessary", "donot_use_mm_for_euclid_dist"):
        assert tc.cdist(a, b, compute_mode=mode).shape == (2, 4)


def test_cdist_matrix_product_route_equals_the_differences():
    """The p=2 matrix-product route gives the difference route's distances and gradients
    (float64, points apart), second derivatives by gradgradcheck, and PyTorch's 0 gradient
    where a distance is exactly 0 (the differences' norm would give NaN there too)."""
    from tinyconv.autograd import gradgradcheck

    rng = np.random.default_rng(3)
    x1, x2 = rng.standard_normal((2, 31, 5)), rng.standard_normal((2, 7, 5))
    g = rng.standard_normal((2, 31, 7))
    res = []
    for mode in ("use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"):
        a, b = tc.tensor(x1, requires_grad=True), tc.tensor(x2, requires_grad=True)
        out = tc.cdist(a, b, compute_mode=mode)
        (out * tc.tensor(g)).sum().backward()
        res.append((out.detach().numpy(), a.grad.numpy(), b.grad.numpy()))
    for mm, plain in zip(*res, strict=True):
        np.testing.assert_allclose(mm, plain, rtol=1e-10, atol=1e-12)
    ins = [tc.tensor(x1[:, :27], requires_grad=True), tc.tensor(x2[:, :3], requires_grad=True)]
    assert gradgradcheck(lambda a, b: tc.cdist(a, b), ins)
    z = tc.zeros(30, 2, requires_grad=True)
    d = tc.cdist(z, tc.zeros(1, 2))
    d.sum().backward()
    assert not d.detach().numpy().any() and not z.grad.numpy().any()


def _run(m, inputs, fn):
    ts = [m.tensor(x, dtype=m.float64, requires_grad=True) for x in inputs]
    return ts, fn(m, *ts)


def _flat(r):
    if isinstance(r, (tuple, list)):
        return [z for item in r for z in _flat(item)]
    return [r]


@pytest.mark.parametrize("name,inputs,fn", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name, inputs, fn):
    def f(*ts):
        return tuple(o for o in _flat(fn(tc, *ts)) if o.is_floating_point())

    ts = [tc.tensor(x, dtype=tc.float64, requires_grad=True) for x in inputs]
    if not any(o.requires_grad for o in _flat(fn(tc, *ts))):
        pytest.skip(f"{name} has no differentiable output")
    assert gradcheck(f, ts, atol=1e-6, rtol=1e-5)


@pytest.mark.torch
@pytest.mark.parametrize("name,inputs,fn", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(name, inputs, fn):
    torch = pytest.importorskip("torch")
    ours_in, ours = _run(tc, inputs, fn)
    theirs_in, theirs = _run(torch, inputs, fn)
    ours, theirs = _flat(ours), _flat(theirs)
    assert len(ours) == len(theirs)
    w = []
    for o, t in zip(ours, theirs, strict=True):
        assert tuple(o.shape) == tuple(t.shape)
        assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)
        assert o.requires_grad == t.requires_grad
        if t.requires_grad:
            w.append(R.standard_normal(tuple(t.shape)))
    if not w:
        return
    k = 0
    for outs, m in ((ours, tc), (theirs, torch)):
        loss = None
        k = 0
        for o in outs:
            if o.requires_grad:
                term = (o * m.tensor(w[k], dtype=m.float64)).sum()
                loss = term if loss is None else loss + term
                k += 1
        loss.backward()
    for a, b in zip(ours_in, theirs_in, strict=True):
        if b.grad is None:
            assert a.grad is None or not np.any(a.grad.numpy())
        else:
            np.testing.assert_allclose(
                a.grad.numpy(), b.grad.numpy(force=True), rtol=1e-9, atol=1e-10
            )


@pytest.mark.torch
def test_integer_helpers_match_torch():
    torch = pytest.importorskip("torch")
    x = R.integers(0, 6, 20)
    w = R.standard_normal(20)
    np.testing.assert_array_equal(
        tc.bincount(tc.tensor(x)).numpy(), torch.bincount(torch.tensor(x)).numpy()
    )
    np.testing.assert_allclose(
        tc.bincount(tc.tensor(x), tc.tensor(w), minlength=9).numpy(),
        torch.bincount(torch.tensor(x), torch.tensor(w), minlength=9).numpy(),
    )
    v = R.standard_normal(50).astype(np.float32)
    np.testing.assert_array_equal(
        tc.histc(tc.tensor(v), 7).numpy(), torch.histc(torch.tensor(v), 7).numpy()
    )
    np.testing.assert_array_equal(
        tc.histc(tc.tensor(v), 5, -1, 1).numpy(), torch.histc(torch.tensor(v), 5, -1, 1).numpy()
    )
    np.testing.assert_array_equal(
        tc.repeat_interleave(tc.tensor([1, 2, 0, 3])).numpy(),
        torch.repeat_interleave(torch.tensor([1, 2, 0, 3])).numpy(),
    )
    y = [1.0, 3.0, 3.0, 2.0, 3.0, float("nan"), 0.5]
    for name in ("cummax", "cummin"):
        a = getattr(tc.tensor(y), name)(0)
        b = getattr(torch.tensor(y), name)(0)
        np.testing.assert_array_equal(a.indices.numpy(), b.indices.numpy())
    a, b = tc.tensor([2.0, 1, 2, 1, 3]).mode(0), torch.tensor([2.0, 1, 2, 1, 3]).mode(0)
    assert a.values.item() == b.values.item() and a.indices.item() == b.indices.item()
    t = [1.0, 3.0, 3.0, 2.0, 3.0]
    g1 = tc.tensor(t, requires_grad=True)
    g2 = torch.tensor(t, requires_grad=True)
    g1.median().backward()
    g2.median().backward()
    np.testing.assert_allclose(g1.grad.numpy(), g2.grad.numpy())
    assert tc.tensor([1.0, 2.0]).equal(tc.tensor([1.0, 2.0]))
    assert tc.tensor([1.0, 2.0]).isclose(tc.tensor([1.0, 2.1])).tolist() == [True, False]
    assert tc.tensor([-0.0, 1.0]).signbit().tolist() == [True, False]


def test_bad_input_names_the_problem():
    x = tc.randn(3, 4)
    with pytest.raises(RuntimeError, match="contracted dimensions"):
        tc.tensordot(x, tc.randn(5, 2), 1)
    with pytest.raises(RuntimeError, match="size 3"):
        tc.cross(x, x, dim=1)
    with pytest.raises(RuntimeError, match="out of range"):  # (PyTorch's type)
        x.kthvalue(5, 1)
    with pytest.raises(RuntimeError, match=r"\[0, 1\]"):
        x.quantile(1.5)
    with pytest.raises(RuntimeError, match="same number of columns"):
        tc.cdist(x, tc.randn(2, 3))
    with pytest.raises(RuntimeError, match="4 entries"):
        x.repeat_interleave(tc.tensor([1, 2]), dim=1)
    with pytest.raises(ValueError, match="indexing"):
        tc.meshgrid(x[0], x[1], indexing="ji")
    with pytest.raises(RuntimeError, match="non-negative"):
        tc.bincount(tc.tensor([1, -1]))


def test_tensordot_and_diag_embed_over_an_empty_contraction():
    # (found by the torch fuzzer: reshape(-1, 0) is ambiguous, so these raised) PyTorch sums
    # over nothing: zeros of the free dims' shape
    x = tc.ones(3, 0, requires_grad=True)
    y = tc.tensordot(x, tc.ones(0, 2), 1)
    assert y.shape == (3, 2) and y.tolist() == [[0.0, 0.0]] * 3
    y.sum().backward()
    assert x.grad.shape == (3, 0)
    z = tc.tensordot(tc.ones(2, 0, 3), tc.ones(0, 3, 4), ([1, 2], [0, 1]))
    assert z.shape == (2, 4) and not z.detach().numpy().any()
    assert tc.diag_embed(tc.ones(3, 0)).shape == (3, 0, 0)


def test_flip_of_a_0d_tensor():
    # (found by a 0-d sweep against PyTorch: NumPy's AxisError leaked out)
    x = tc.tensor(-1.5, requires_grad=True)
    for y in (x.flip(0), x.flip(-1), tc.flip(x, [0])):
        assert y.shape == () and y.item() == -1.5
    x.flip(0).backward()
    assert x.grad.item() == 1.0
