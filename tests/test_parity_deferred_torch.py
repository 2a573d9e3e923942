"""PyTorch 2.13's behaviour where tinyconv used to differ: the range checks of number
arguments (where, masked_fill with a 0-d value, the scalars of addcmul/lerp/addmm and kin
against the kernel's computing dtype, hardtanh's limits, index_add's alpha), index_put_'s
dtype rule with accumulate, atan2's refusal of a number, grad_fn names (deg2rad, put, ...),
float32 tanh and erf saturation and tanh's fused backward, GELU by PyTorch's erf formula
(forward and backward, fast path included), zeta/polygamma's infinities instead of Python
exceptions, gammaincc for tiny a, float16 add/sub with alpha in one rounding, trapezoid's
formulas, and interpolate's errors for a rank it has no kernel for.

Each case runs the same code in both libraries; results are compared bit for bit (values,
dtype, and the exception type where one is raised)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinyconv

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

LIBS = (tinyconv, torch)


def _array(t) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy()


def outcome(fn, m):
    """fn(m)'s result as comparable data: ("raise", exception type) or ("ok", dtype name, bits)."""
    try:
        r = fn(m)
    except Exception as e:  # (the type is what is compared)
        return ("raise", type(e).__name__)
    if isinstance(r, (tuple, list)):
        return tuple(_one(x) for x in r)
    return _one(r)


def _one(r):
    if isinstance(r, str) or r is None:
        return r
    a = np.ascontiguousarray(_array(r))
    return ("ok", str(r.dtype).split(".")[-1], a.shape, a.tobytes())


def same(fn) -> None:
    """fn gives the same outcome, bit for bit, with tinyconv and with PyTorch."""
    got, want = outcome(fn, tinyconv), outcome(fn, torch)
    assert got == want, (got, want)


def bits_equal(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Elementwise bit equality (NaNs of any payload equal, -0.0 and 0.0 not)."""
    g, w = np.ascontiguousarray(got), np.ascontiguousarray(want)
    equal = g.view(np.uint8).reshape(g.shape + (-1,)) == w.view(np.uint8).reshape(w.shape + (-1,))
    return equal.all(-1) | (np.isnan(g) & np.isnan(w))


# -- 1, 2: where and masked_fill --------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype,number",
    [("float16", 1e40), ("float16", 70000), ("float16", 2**40), ("float32", 1e40),
     ("int8", 300), ("int8", 1e40), ("uint8", -1), ("float32", 2**63 - 1)],
)  # fmt: skip
def test_where_checks_a_number_but_not_into_float16(dtype, number):
    """A number beyond float16's range is cast unchecked (inf); other dtypes check it."""
    same(lambda m: m.where(m.tensor([1, 2]).to(getattr(m, dtype)) > 1,
                           m.tensor([1, 2]).to(getattr(m, dtype)), number))  # fmt: skip
    same(lambda m: m.where(m.tensor([1, 2]).to(getattr(m, dtype)) > 1, number,
                           m.tensor([1, 2]).to(getattr(m, dtype))))  # fmt: skip


@pytest.mark.parametrize("dtype", ["float16", "float32", "int8", "uint8"])
@pytest.mark.parametrize("value", [300, -1, -300, 70000, 300.5, 1e40, math.nan, 2**40, True])
@pytest.mark.parametrize(
    "value_dtype", [None, "int64", "float64", "float32", "int16", "float16", "bool"]
)
def test_masked_fill_checks_a_0d_tensor_value_as_a_number(dtype, value, value_dtype):
    def run(m):
        x = m.tensor([1, 2]).to(getattr(m, dtype))
        v = value if value_dtype is None else m.tensor(value).to(getattr(m, value_dtype))
        return x.masked_fill(x > 1, v), x.clone().masked_fill_(x > 1, v)

    if value_dtype is not None:  # (a value torch.tensor itself refuses is not a case)
        try:
            torch.tensor(value).to(getattr(torch, value_dtype))
        except Exception:
            pytest.skip("no such value tensor")
    same(run)


# -- 3: scalar arguments against the kernel's computing dtype ---------------------------------

_SCALAR_OPS = {
    "addcmul": lambda m, a, v: m.addcmul(a, a, a, value=v),
    "addcmul_": lambda m, a, v: a.clone().addcmul_(a, a, value=v),
    "addcdiv": lambda m, a, v: m.addcdiv(a, a, a, value=v),
    "lerp": lambda m, a, v: m.lerp(a, a * 2, v),
    "lerp_": lambda m, a, v: a.clone().lerp_(a * 2, v),
    "addmm_beta": lambda m, a, v: m.addmm(_mat(m, a), _mat(m, a), _mat(m, a), beta=v),
    "addmm_alpha": lambda m, a, v: m.addmm(_mat(m, a), _mat(m, a), _mat(m, a), alpha=v),
    "addmv_beta": lambda m, a, v: m.addmv(a, _mat(m, a), a, beta=v),
    "addmv_alpha": lambda m, a, v: m.addmv(a, _mat(m, a), a, alpha=v),
    "baddbmm_beta": lambda m, a, v: m.baddbmm(_b(m, a), _b(m, a), _b(m, a), beta=v),
    "baddbmm_alpha": lambda m, a, v: m.baddbmm(_b(m, a), _b(m, a), _b(m, a), alpha=v),
    "addbmm_beta": lambda m, a, v: m.addbmm(_mat(m, a), _b(m, a), _b(m, a), beta=v),
    "addbmm_alpha": lambda m, a, v: m.addbmm(_mat(m, a), _b(m, a), _b(m, a), alpha=v),
    "addr_beta": lambda m, a, v: m.addr(_mat(m, a), a, a, beta=v),
    "addr_alpha": lambda m, a, v: m.addr(_mat(m, a), a, a, alpha=v),
    "index_add_alpha": lambda m, a, v: a.index_add(0, m.tensor([0]), a[:1], alpha=v),
}  # fmt: skip


def _mat(m, a):
    return m.stack([a, a + 1])


def _b(m, a):
    return _mat(m, a)[None]


# (float64 addmm scaled by a huge beta or alpha differs in the last ulp: BLAS's scaling
# order, the README's first difference; those three values are left out for addmm)
_SCALAR_CASES = [
    (op, dtype, value)
    for op in sorted(_SCALAR_OPS)
    for dtype in ["float16", "float32", "float64", "int8", "uint8", "int64"]
    for value in [70000, 1e40, -2, 300, 0.5, math.nan, math.inf, 2**40, 3e38, -1e40, True]
    if not (op.startswith("addmm") and dtype == "float64" and value in (1e40, 3e38, -1e40))
]


@pytest.mark.parametrize("op, dtype, value", _SCALAR_CASES)
def test_scalar_arguments_are_checked_against_the_kernels_dtype(op, dtype, value):
    """float16 addcmul/lerp/addmm take their numbers as float32 (70000 fits, 1e40 not);
    addmv/addr/index_add as float16; uint8 wraps -2 and refuses 300: RuntimeError, not an
    OverflowError or a silent inf."""
    fn = _SCALAR_OPS[op]
    same(lambda m: fn(m, m.tensor([1, 2]).to(getattr(m, dtype)), value))


@pytest.mark.parametrize("dtype", ["float16", "float32", "int8", "uint8", "int64"])
@pytest.mark.parametrize(
    "limits",
    [(-1, 70000), (-1e40, 1), (-1, 300), (-0.5, 0.5), (-1, 0.5), (0, 300), (math.nan, 2.0),
     (-1.0, math.nan), (-1e300, 1e300), (0, True), (-1, 1e40), (0, math.nan), (-2, 2)],
)  # fmt: skip
def test_hardtanh_checks_its_limits_against_the_dtype(dtype, limits):
    same(lambda m: m.nn.functional.hardtanh(m.tensor([1, 2]).to(getattr(m, dtype)), *limits))


# -- 4: index_put_ with accumulate, atan2 with a number -----------------------------------------


@pytest.mark.parametrize(
    "self_dtype,values",
    [("float32", ("float64", [5.0])), ("int64", ("int32", 3)), ("float32", ("float64", 5.0)),
     ("int64", ("int64", 3)), ("float32", ("float32", [5.0]))],
)  # fmt: skip
@pytest.mark.parametrize("accumulate", [True, False])
def test_index_put_with_accumulate_refuses_another_dtype(self_dtype, values, accumulate):
    def run(m):
        x = m.tensor([1, 2]).to(getattr(m, self_dtype))
        v = m.tensor(values[1]).to(getattr(m, values[0]))
        return x.index_put_((m.tensor([0]),), v, accumulate=accumulate)

    same(run)
    same(lambda m: m.tensor([1.0, 2.0]).index_put(
        (m.tensor([True, False]),), m.tensor(3.0, dtype=m.float64), accumulate=True))  # fmt: skip


@pytest.mark.parametrize("other", [2.0, 2, True])
def test_atan2_takes_no_number(other):
    same(lambda m: m.tensor([1.0, 2.0]).atan2(other))
    same(lambda m: m.tensor([1.0, 2.0]).arctan2(other))
    same(lambda m: m.tensor([1.0, 2.0]).atan2_(other))
    same(lambda m: m.atan2(m.tensor([1.0, 2.0]), other))


# -- 5: grad_fn names ---------------------------------------------------------------------------

_NAMED = {
    "deg2rad": lambda m, x, y: x.deg2rad(),
    "rad2deg": lambda m, x, y: x.rad2deg(),
    "ldexp": lambda m, x, y: m.ldexp(x, m.tensor([1, 2, 3])),
    "put": lambda m, x, y: x.put(m.tensor([0, 2]), m.tensor([1.0, 2.0])),
    "put_acc": lambda m, x, y: x.put(m.tensor([0, 2]), y[0, :2], accumulate=True),
    "index_put_acc": lambda m, x, y: x.index_put((m.tensor([0, 1]),), y, accumulate=True),
    "fmax": lambda m, x, y: x.fmax(y),
    "fmin": lambda m, x, y: x.fmin(y),
    "frexp": lambda m, x, y: x.frexp()[0],
    "addbmm": lambda m, x, y: m.addbmm(x[:, :2], x[None], y.t()[None][:, :, :2]),
    "kron": lambda m, x, y: m.kron(x, y),
    "cross": lambda m, x, y: m.linalg.cross(x, y),
    "cross_method": lambda m, x, y: x.cross(y, dim=1),
    "block_diag": lambda m, x, y: m.block_diag(x, y),
    "polygamma0": lambda m, x, y: m.polygamma(0, x),
    "polygamma0_method": lambda m, x, y: x.polygamma(0),
    "polygamma_": lambda m, x, y: x.clone().polygamma_(0),
    "ndtr": lambda m, x, y: m.special.ndtr(x),
    "trapezoid": lambda m, x, y: m.trapezoid(x),
    "trapezoid_dx": lambda m, x, y: m.trapezoid(x, dx=0.5),
    "trapezoid_x": lambda m, x, y: m.trapezoid(x, m.tensor([0.0, 1.0, 3.0])),
    "cumulative_trapezoid": lambda m, x, y: m.cumulative_trapezoid(x),
    "cumulative_trapezoid_x": lambda m, x, y: m.cumulative_trapezoid(x, m.tensor([0.0, 1.0, 3.0])),
    "deg2rad_": lambda m, x, y: x.clone().deg2rad_(),
    "put_": lambda m, x, y: x.clone().put_(m.tensor([0]), m.tensor([1.0])),
}  # fmt: skip


@pytest.mark.parametrize("op", sorted(_NAMED))
def test_grad_fn_names_are_pytorchs(op):
    def run(m):
        x = m.tensor([[0.3, 0.7, 1.2], [0.5, 0.2, 0.9]], requires_grad=True)
        y = m.tensor([[0.4, 0.1, 0.8], [0.6, 0.3, 0.2]], requires_grad=True)
        node = _NAMED[op](m, x, y).grad_fn
        return node.name(), [e is None for e, _ in node.next_functions]

    assert run(tinyconv) == run(torch)


# -- 6: tanh and erf in float32 -----------------------------------------------------------------


def _float32_grid(lo: float, hi: float) -> np.ndarray:
    """Every float32 number in [lo, hi), and their negatives."""
    x = np.arange(np.float32(lo).view(np.int32), np.float32(hi).view(np.int32), dtype=np.int32)
    x = x.view(np.float32)
    return np.concatenate([x, -x])


def test_float32_tanh_saturates_to_one_where_pytorchs_does():
    """Near the saturation point every float32 value is PyTorch's: exactly +-1 from |x| =
    9.01084 on, 1 - 2**-24 below."""
    x = _float32_grid(9.0, 10.5)
    got = tinyconv.tanh(tinyconv.tensor(x)).numpy()
    want = torch.tanh(torch.from_numpy(x)).numpy()
    assert bits_equal(got, want).all(), x[~bits_equal(got, want)][:5]


# PyTorch's float32 erf on the CPU is MKL VML's vsErf (bit for bit that of vmsErf in
# libtorch_cpu, for one element as for millions), and MKL picks its code path by the CPU's
# vendor: Intel's path is exactly +-1 from |x| = 3.832507 on, the path it gives AMD CPUs
# (a Zen 5 with AVX-512) only from 3.9277344 on, and the ATen CPU capability changes
# neither. (Preloading an mkl_serv_intel_cpu_true that returns 1 moves the AMD machine's
# point to 3.832507.) The correctly rounded erf is 1 from 3.919206 on. Each is 1 - 2**-24
# below its point, so between the two paths PyTorch's result is one ulp of 1 apart.
_ERF_ONE_INTEL = np.float32(3.832507)
_ERF_ONE_AMD = np.float32(3.9277344)


def test_float32_erf_saturates_to_one_where_pytorchs_does():
    """Exactly +-1 from |x| = 3.832507 on (where PyTorch's is on Intel CPUs, before the
    correctly rounded 3.919206), +-(1 - 2**-24) below; PyTorch's bit for bit outside
    [3.832507, 3.9277344), where MKL's Intel and AMD paths differ, and one ulp off at most
    inside it."""
    x = _float32_grid(3.8, 4.0)
    got = tinyconv.erf(tinyconv.tensor(x)).numpy()
    want = torch.erf(torch.from_numpy(x)).numpy()
    one = np.where(np.abs(x) >= _ERF_ONE_INTEL, np.float32(1), np.float32(1 - 2**-24))
    assert bits_equal(got, np.copysign(one, x)).all()
    band = (np.abs(x) >= _ERF_ONE_INTEL) & (np.abs(x) < _ERF_ONE_AMD)
    assert bits_equal(got, want)[~band].all(), x[~band & ~bits_equal(got, want)][:5]
    ulps = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32))
    assert (ulps <= 1).all(), x[ulps > 1][:5]


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_tanh_backward_rounds_one_minus_y_squared_once(dtype):
    """grad (1 - y y), 1 - y y fused (one rounding), given the same y (the forwards' own
    last-ulp differences aside: NumPy's tanh is not PyTorch's)."""
    from tinyconv.autograd.ops import Tanh
    from tinyconv.kernels.opmath import opmath

    rng = np.random.default_rng(1)
    y = torch.tanh(torch.from_numpy((rng.standard_normal(20000) * 2).astype(dtype)))
    g = torch.from_numpy(rng.standard_normal(20000).astype(dtype))
    want = torch.ops.aten.tanh_backward(g, y).numpy()
    got = opmath(Tanh._derivative, g.numpy(), y.numpy())
    assert got.dtype == want.dtype and bits_equal(got, want).all()


# -- 7: GELU by PyTorch's formula -----------------------------------------------------------------


def _gelu(m, x, g, approximate="none"):
    xt = m.tensor(x, requires_grad=True)
    y = m.nn.functional.gelu(xt, approximate=approximate)
    y.backward(m.tensor(g))
    return y.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("reference_path", [False, True])
def test_gelu_is_pytorchs_formula_in_the_left_tail(reference_path):
    """0.5 x (1 + erf(x / sqrt 2)): -0.0 from x = -5.55 down (x Phi(x) would be a tiny
    negative number), and PyTorch's cancellation above it; the forward within a few ulps of x
    / 2 of PyTorch's (its oneDNN kernel's erf is not reproduced bit for bit), the backward
    likewise. `reference_path`: an inf in the input sends the whole array the erf_array way."""
    x = np.concatenate([np.linspace(-12, 8, 40001), [0.0, -0.0, -5.55, -6.0, -20.0, -1e10]]).astype(
        np.float32
    )
    if reference_path:
        x = np.append(x, np.float32(np.inf))
    g = np.random.default_rng(0).uniform(0.5, 2, x.shape).astype(np.float32)
    (y, gx), (ty, tgx) = (_gelu(m, x, g) for m in LIBS)
    finite = np.isfinite(x)
    tail = x <= -5.55
    assert (y[tail] == 0).all() and np.signbit(y[tail]).all()
    assert np.array_equal(np.signbit(y[finite]), np.signbit(ty[finite]))
    err = np.abs(y[finite].astype(np.float64) - ty[finite]) / np.spacing(np.abs(x[finite]))
    assert err.max() <= 8, (err.max(), x[finite][err.argmax()])
    assert np.mean(y[finite] == ty[finite]) > 0.6
    # the backward: cdf + x pdf with the cdf's 1 + erf, measured against grad's size
    scale = np.spacing((g * np.float32(0.5)).astype(np.float32))
    gerr = np.abs(gx[finite].astype(np.float64) - tgx[finite]) / scale[finite]
    assert gerr.max() <= 16, (gerr.max(), x[finite][gerr.argmax()])


def test_gelu_far_tail_was_the_exact_value_before():
    """The case that differed: tinyconv gave x Phi(x) (-2.7e-8 at -6), PyTorch -0.0."""
    for m in LIBS:
        y = m.nn.functional.gelu(m.tensor([-6.0, -8.0]))
        assert y.tolist() == [0.0, 0.0] and bool(y.signbit().all())


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_gelu_other_dtypes_follow_the_formula(dtype):
    x = np.linspace(-10, 6, 4001).astype(dtype)
    g = np.ones_like(x)
    (y, gx), (ty, tgx) = (_gelu(m, x, g) for m in LIBS)
    assert np.array_equal(np.signbit(y), np.signbit(ty))
    np.testing.assert_allclose(y, ty, rtol=0, atol=float(np.finfo(dtype).eps) * 8)
    np.testing.assert_allclose(gx, tgx, rtol=0, atol=float(np.finfo(dtype).eps) * 8)


# -- 8: zeta, polygamma and gammaincc --------------------------------------------------------

_EDGES = [0.5, 1.0, 1.5, 3.0, 50.0, 170.0, 300.0, 1e5, 1e10, 1e300, math.inf, -math.inf,
          math.nan, -1.0, -2.5, 0.0, -0.0, 1e-300, 1e-5]  # fmt: skip


def test_zeta_gives_pytorchs_infinities_and_nans_never_an_exception():
    x, q = np.meshgrid(np.array(_EDGES), np.array(_EDGES))
    got = tinyconv.special.zeta(tinyconv.tensor(x), tinyconv.tensor(q)).numpy()
    want = torch.special.zeta(torch.tensor(x), torch.tensor(q)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)  # (inf and nan where PyTorch's)


@pytest.mark.parametrize("n", [2, 5, 34, 35, 50, 100, 170, 171, 300])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_polygamma_of_a_large_order_overflows_as_pytorchs(n, dtype):
    """exp(lgamma(n + 1)) * zeta(n + 1, x) in x's dtype: inf, or NaN where zeta underflows."""
    x = np.array([0.5, 1.0, 1e-5, 3.3, 12.5, 100.0, 1e10, 1e300, math.inf, math.nan, -2.5, -1.0])
    got = tinyconv.polygamma(n, tinyconv.tensor(x).to(getattr(tinyconv, dtype))).numpy()
    want = torch.polygamma(n, torch.tensor(x).to(getattr(torch, dtype))).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-12, atol=0)


def test_gammaincc_of_a_tiny_a_has_no_cancellation():
    """Q(a, x) for tiny a is about a E1(x): 1 - P(a, x) lost up to 3 digits in float64."""
    rng = np.random.default_rng(0)
    a = np.concatenate([10 ** rng.uniform(-12, 0.5, 400), 10 ** rng.uniform(-3, -0.5, 100)])
    x = np.concatenate([10 ** rng.uniform(-4, 0.3, 400), rng.uniform(0.01, 1.1, 100)])
    got = tinyconv.special.gammaincc(tinyconv.tensor(a), tinyconv.tensor(x)).numpy()
    want = torch.special.gammaincc(torch.tensor(a), torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


# -- 9: float16 add and sub with alpha ------------------------------------------------------------


@pytest.mark.parametrize("op", ["add", "sub"])
@pytest.mark.parametrize("dtype", ["float16", "float32"])
@pytest.mark.parametrize("alpha", [0.1, 3, -2.5, 1e-3, 0.3333, 1e4])
def test_add_with_alpha_rounds_once(op, dtype, alpha):
    """a + alpha * b as one kernel: float16 in float32 with alpha rounded to float16, float32
    with one rounding (a fused multiply-add). (PyTorch's scalar loop for the last elements of
    a thread's chunk, fewer than a vector, rounds otherwise: the size is 2**16 so that no
    chunk has such a tail.)"""
    rng = np.random.default_rng(2)
    n = 1 << 16
    a = (rng.standard_normal(n) * np.exp(rng.uniform(-6, 6, n))).astype(dtype)
    b = (rng.standard_normal(n) * np.exp(rng.uniform(-6, 6, n))).astype(dtype)
    with np.errstate(over="ignore"):
        got, want = (getattr(m, op)(m.tensor(a), m.tensor(b), alpha=alpha).numpy() for m in LIBS)
    assert bits_equal(got, want).all()


def test_add_with_alpha_keeps_its_graph_and_dtype_rules():
    def run(m):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = m.tensor([0.5, 0.25, 0.125], dtype=m.float16, requires_grad=True)
        y = m.sub(a, b, alpha=0.1)
        y.sum().backward()
        i = m.tensor([1, 2])
        return (y, a.grad, b.grad, m.add(i, m.tensor([3, 4]), alpha=2),
                m.add(i, m.tensor([0.5, 1.0]), alpha=2), y.grad_fn.name())  # fmt: skip

    same(run)


# -- 10: trapezoid ----------------------------------------------------------------------------


@pytest.mark.parametrize("fn", ["trapezoid", "cumulative_trapezoid"])
@pytest.mark.parametrize("spacing", ["none", "dx", "x"])
@pytest.mark.parametrize("shape,dim", [((50,), -1), ((7, 33), 1), ((33, 7), 0), ((2,), 0)])
def test_float16_trapezoid_is_pytorchs_formula(fn, spacing, shape, dim):
    """float16 values and gradients bit for bit (float32 and float64 differ only by the
    sum's order, the README's first difference)."""
    rng = np.random.default_rng(3)
    yn = (rng.standard_normal(shape) * 10).astype(np.float16)
    xn = np.sort(rng.standard_normal(shape[dim])).astype(np.float16)

    def run(m):
        y = m.tensor(yn, requires_grad=True)
        kw = {"dx": 0.3} if spacing == "dx" else {}
        args = (m.tensor(xn),) if spacing == "x" else ()
        r = getattr(m, fn)(y, *args, dim=dim, **kw)
        r.backward(m.ones_like(r) * 0.7)
        return r, y.grad, r.grad_fn.name()

    same(run)


# -- 11: interpolate of a rank it has no kernel for -------------------------------------------


@pytest.mark.parametrize("ndim", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize(
    "mode", ["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"]
)
def test_interpolate_rank_errors_are_pytorchs(ndim, mode):
    def run(m):
        try:
            r = m.nn.functional.interpolate(m.ones(*([2] * ndim)), size=3, mode=mode)
        except Exception as e:
            return type(e).__name__, str(e)
        return tuple(r.shape)

    assert run(tinyconv) == run(torch)


def test_area_interpolation_of_5d_input_is_adaptive_avg_pool3d():
    """mode='area' on (N, C, D, H, W): PyTorch's adaptive_avg_pool3d, values and gradients."""
    xn = np.random.default_rng(5).standard_normal((2, 3, 5, 6, 7))

    def run(m):
        x = m.tensor(xn, requires_grad=True)
        outs = [
            m.nn.functional.interpolate(x, size=size, mode="area")
            for size in ((3, 4, 2), (5, 6, 7), (7, 8, 9))
        ]
        sum((o * o).sum() for o in outs).backward()
        return (*outs, x.grad)

    got, want = run(tinyconv), run(torch)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-12, atol=1e-14)
