"""Double backward (create_graph=True) of every engine op: each op's `graph_backward`.

One table, `CASES`: an op (or a variant of one), the engine classes it runs, how its inputs
are drawn, and the function itself, written once over `T` (tinyconv or torch) so the same
line runs in both libraries. Over the table:
- every Function subclass of the engine modules has a graph_backward and a case here;
- gradgradcheck in float64 (central differences of the create_graph gradient, every element)
  over hypothesis-drawn shapes, broadcasting and non-contiguous inputs;
- third derivatives for a few ops (gradgradcheck of a function that returns a gradient);
- PyTorch 2.13 computes d/dx <u, d<w, f(x)>/dx> too, and the values must agree to 1e-10.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import (
    broadcastable_pairs,
    broadcastable_to,
    build_index,
    distinct_arrays,
    float64_arrays,
    lattice_arrays,
    non_contiguous,
    shapes,
    torch_indices,
)

import tinyconv as tc
from tinyconv.autograd import Function, gradgradcheck, ops, ops_extra, ops_linalg, ops_special

TOL = {"atol": 1e-6, "rtol": 1e-4}


@dataclass
class Case:
    """One op of the table. `draw(d)` returns (params, arrays); `fn(T, params, *tensors)`."""

    name: str
    classes: tuple[str, ...]  # the engine op classes this case runs (ops / ops_extra)
    draw: Callable
    fn: Callable
    torch: bool = True  # compared with PyTorch (False: random values)
    # params -> False where PyTorch itself cannot do the double backward
    torch_ok: Callable = lambda params, arrays: True  # noqa: E731


def _arr(d, shape, domain="real"):
    return d(non_contiguous(d(float64_arrays(shape, domain))))


def unary(domain="real", min_dims=0):
    def draw(d):
        return None, [_arr(d, d(shapes(min_dims, 3, max_side=3)), domain)]

    return draw


def binary(da="real", db="real"):
    def draw(d):
        sa, sb = d(broadcastable_pairs())
        return None, [_arr(d, sa, da), _arr(d, sb, db)]

    return draw


def quarter_lattice(d):
    """Values in 0.25 + 0.5 k: far from the jumps of floor, ceil, round, trunc, frac (also
    of 3.3 x and 0.9 x), so finite differences of the (piecewise constant) gradient hold."""
    return None, [d(non_contiguous(d(lattice_arrays(d(shapes(0, 3, max_side=3)), offset=0.25))))]


def lattice_pair(d):
    """Two arrays that never tie (offsets 0 and 0.25 on a 0.5 lattice): max/min/clamp."""
    sa, sb = d(broadcastable_pairs())
    return None, [d(lattice_arrays(sa)), d(lattice_arrays(sb, offset=0.25))]


def distinct(min_dims=0):
    def draw(d):
        return None, [d(non_contiguous(d(distinct_arrays(d(shapes(min_dims, 3, max_side=3))))))]

    return draw


def with_dim(domain="real", min_dims=1, extra=None):
    """One array and a dim (and `extra(d, shape)` more params)."""

    def draw(d):
        shape = d(shapes(min_dims, 3, max_side=3))
        dim = d(st.integers(-len(shape), len(shape) - 1))
        more = extra(d, shape, dim) if extra else None
        return (dim, more), [_arr(d, shape, domain)]

    return draw


def reduce_dims(d, shape):
    """None (all), one dim, or a tuple of dims; and keepdim."""
    kind = d(st.sampled_from(["all", "one", "tuple"])) if shape else "all"
    keep = d(st.booleans())
    if kind == "all":
        return None, keep
    if kind == "one":
        return d(st.integers(-len(shape), len(shape) - 1)), keep
    dims = d(st.permutations(range(len(shape))))[: d(st.integers(1, len(shape)))]
    return tuple(dims), keep


def reduction(domain="real", arrays=None, tuple_dims=True):
    def draw(d):
        shape = d(shapes(0, 3, max_side=3))
        dim, keep = reduce_dims(d, shape)
        if isinstance(dim, tuple) and not tuple_dims:
            dim = dim[0]
        a = d(arrays(shape)) if arrays else _arr(d, shape, domain)
        return (dim, keep), [a]

    return draw


def _red(method):
    def fn(T, p, x):
        dim, keep = p
        if dim is None:
            return getattr(x, method)()
        return getattr(x, method)(dim, keepdim=keep)

    return fn


def matmul_draw(d):
    nd_a, nd_b = d(st.integers(1, 3)), d(st.integers(1, 3))
    m, k, n = (d(st.integers(1, 3)) for _ in range(3))
    batch = tuple(d(st.lists(st.integers(1, 2), min_size=1, max_size=1)))
    sa = (k,) if nd_a == 1 else (batch if nd_a == 3 else ()) + (m, k)
    sb = (
        (k,)
        if nd_b == 1
        else (batch if nd_b == 3 and d(st.booleans()) else (1,) * (nd_b - 2))
        + (
            k,
            n,
        )
    )
    return None, [_arr(d, sa), _arr(d, sb)]


def index_draw(d):
    shape = d(shapes(1, 3, max_side=3))
    return d(torch_indices(shape)), [_arr(d, shape)]


def _index(T, idx):
    return build_index(idx, lambda a: T.tensor(a))


def setitem_draw(d):
    shape = d(shapes(1, 3, max_side=3))
    idx = d(torch_indices(shape))
    sel = tuple(tc.zeros(shape)[_index(tc, idx)].shape)
    return idx, [_arr(d, shape), _arr(d, d(broadcastable_to(sel, allow_bigger=False)))]


def setitem_fn(T, idx, x, v):
    y = x * 1.5
    y[_index(T, idx)] = v
    return y * x


def view_inplace_fn(T, p, x, v):
    # an in-place op on a view writes into its base (CopySlices); then the base changes in
    # place and an older view of it re-derives its history from the new base
    y = x * 1.0
    y[0].mul_(v)
    old = y[1:]
    y.mul_(x)
    return old * y[1:].sum() + y.sum()


def view_inplace_draw(d):
    shape = (d(st.integers(2, 3)),) + d(shapes(0, 2, max_side=3))
    return None, [_arr(d, shape), _arr(d, d(broadcastable_to(shape[1:], allow_bigger=False)))]


def overwrite_fn(T, p, x, v):
    y = x * x
    y[0].zero_()  # a Zero node on the view, CopySlices on y
    z = x * 2
    z.fill_(v)  # fill_ with a 0-d tensor that requires grad: v gets the sum of the gradient
    w = x * 3
    w.copy_(T.ones(x.shape, dtype=T.float64))  # copy_ of a constant: the old w gets nothing
    return y * v + z * x + w * x


def overwrite_draw(d):
    shape = (d(st.integers(1, 3)),) + d(shapes(0, 2, max_side=3))
    return None, [_arr(d, shape), _arr(d, ())]


def random_fill_fn(T, p, x):
    T.manual_seed(0)  # the same random values in every call (finite differences)
    y = x * x
    y[0].uniform_()
    z = x * 2
    z.normal_()
    return y * x + z * x


def cat_draw(d):
    shape = d(shapes(1, 3, max_side=3))
    dim = d(st.integers(-len(shape), len(shape) - 1))
    other = list(shape)
    other[dim] = d(st.integers(1, 3))
    return dim, [_arr(d, shape), _arr(d, tuple(other))]


def stack_draw(d):
    shape = d(shapes(0, 2, max_side=3))
    return d(st.integers(-len(shape) - 1, len(shape))), [_arr(d, shape), _arr(d, shape)]


def where_draw(d):
    sa, sb = d(broadcastable_pairs())
    out = np.broadcast_shapes(sa, sb)
    cond = d(st.lists(st.booleans(), min_size=1, max_size=1))[0]
    mask = np.random.default_rng(d(st.integers(0, 99))).random(
        d(broadcastable_to(out, allow_bigger=False))
    ) < (0.5 if cond else 0.3)
    return mask, [_arr(d, sa), _arr(d, sb)]


def clamp_tensor_draw(d):
    shape = d(shapes(0, 3, max_side=3))
    lo = d(broadcastable_to(shape, allow_bigger=False))
    hi = d(broadcastable_to(shape, allow_bigger=False))
    return None, [
        d(lattice_arrays(shape, offset=0.125)),
        d(lattice_arrays(lo, offset=0.25)) - 1,
        d(lattice_arrays(hi, offset=0.375)) + 1,
    ]


def norm_draw(p):
    def draw(d):
        shape = d(shapes(0, 3, max_side=3))
        dim = d(st.integers(-len(shape), len(shape) - 1)) if shape and d(st.booleans()) else None
        arrays = distinct_arrays if p in (np.inf, -np.inf) else None
        a = d(arrays(shape)) if arrays else _arr(d, shape, "nonzero")
        return (p, dim, d(st.booleans())), [a]

    return draw


def norm_fn(T, p, x):
    pp, dim, keep = p
    return x.norm(p=pp, dim=dim, keepdim=keep)


def var_draw(d):
    shape = d(shapes(1, 3, min_side=2, max_side=3))
    dim = d(st.integers(-len(shape), len(shape) - 1)) if d(st.booleans()) else None
    # distinct values: a zero std (all equal) is a kink of sqrt, its gradient 0 by convention
    return (dim, d(st.integers(0, 1)), d(st.booleans())), [
        d(non_contiguous(d(distinct_arrays(shape))))
    ]


def var_fn(method):
    def fn(T, p, x):
        dim, corr, keep = p
        return getattr(x, method)(dim=dim, correction=corr, keepdim=keep)

    return fn


def maxdim_draw(d):
    shape = d(shapes(1, 3, max_side=3))
    dim = d(st.integers(-len(shape), len(shape) - 1))
    return (dim, d(st.booleans())), [d(non_contiguous(d(distinct_arrays(shape))))]


def sort_draw(d):
    shape = d(shapes(1, 3, max_side=3))
    dim = d(st.integers(-len(shape), len(shape) - 1))
    k = d(st.integers(1, shape[dim]))
    return (dim, d(st.booleans()), k), [d(non_contiguous(d(distinct_arrays(shape))))]


def gather_draw(d):
    shape = d(shapes(1, 3, max_side=3))
    dim = d(st.integers(-len(shape), len(shape) - 1))
    ishape = list(shape)
    ishape[dim] = d(st.integers(1, 4))
    rng = np.random.default_rng(d(st.integers(0, 999)))
    index = rng.integers(0, shape[dim], ishape)  # repeats: an element picked twice
    return (dim, index), [_arr(d, shape)]


def scatter_draw(d):
    shape = d(shapes(1, 3, max_side=3))
    dim = d(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(d(st.integers(0, 999)))
    # scatter writes: no two writes to one place (which one wins is unspecified)
    ishape = [d(st.integers(1, n)) for n in shape]
    perm = np.argsort(rng.random(shape), axis=dim)
    index = perm[tuple(slice(0, n) for n in ishape)]
    src = tuple(n + d(st.integers(0, 1)) for n in ishape)  # src may be larger than index
    return (dim, index), [_arr(d, shape), _arr(d, src)]


def _src_fits(params, arrays):
    """PyTorch's double backward of scatter fails when src is larger than index (its
    gradient for src comes back in index's shape): compared only where they agree."""
    return arrays[1].shape == params[1].shape


def index_select_draw(d):
    shape = d(shapes(1, 3, max_side=3))
    dim = d(st.integers(-len(shape), len(shape) - 1))
    idx = d(st.lists(st.integers(0, shape[dim] - 1), min_size=1, max_size=4))
    return (dim, np.array(idx)), [_arr(d, shape)]


def masked_fill_draw(d):
    shape = d(shapes(0, 3, max_side=3))
    mshape = d(broadcastable_to(shape, allow_bigger=False))
    mask = np.random.default_rng(d(st.integers(0, 99))).random(mshape) < 0.5
    return mask, [_arr(d, shape), _arr(d, ())]


def scatter_reduce_draw(d):
    """scatter_draw's configurations, with distinct values away from 0 (no ties for amax,
    no zeros for prod)."""
    (dim, index), (x, s) = scatter_draw(d)
    rng = np.random.default_rng(d(st.integers(0, 999)))
    n = x.size + s.size
    vals = (rng.permutation(n) + 1.0) / n + 0.5
    return (dim, index), [vals[: x.size].reshape(x.shape), vals[x.size :].reshape(s.shape)]


def positive_draw(d):
    """Values in [0.5, 3]: away from the poles of the gamma functions."""
    shape = d(shapes(0, 3, max_side=3))
    return None, [0.5 + 2.5 * np.random.default_rng(d(st.integers(0, 999))).random(shape)]


def cdist_draw(d):
    """Two sets of rows (P, M), (R, M) of random points: no distance near 0."""
    p, r, m = (d(st.integers(1, 3)) for _ in range(3))
    rng = np.random.default_rng(d(st.integers(0, 999)))
    return None, [rng.standard_normal((p, m)), rng.standard_normal((r, m))]


def unit_draw(d):
    """Values in (-0.9, 0.9): x * x stays inside erfinv's domain, away from +-1."""
    shape = d(shapes(0, 3, max_side=3))
    return None, [0.9 * (2 * np.random.default_rng(d(st.integers(0, 999))).random(shape) - 1)]


def square_draw(d):
    """Batches of well-conditioned square matrices (random + 3 I), det of either sign."""
    n = d(st.integers(1, 3))
    batch = tuple(d(st.lists(st.integers(1, 2), max_size=1)))
    rng = np.random.default_rng(d(st.integers(0, 999)))
    a = rng.standard_normal(batch + (n, n)) + 3 * np.eye(n) * d(st.sampled_from([1, -1]))
    return None, [a]


def factor_draw(d):
    """Batches of (m, n) matrices of full rank with well-separated singular values (1 + 1.5 i
    plus noise), built as U diag(s) V^T from random orthonormal factors: QR's R^-1 and SVD's
    1 / (s_j^2 - s_i^2) stay far from singular."""
    m, n = d(st.integers(1, 3)), d(st.integers(1, 3))
    batch = tuple(d(st.lists(st.integers(1, 2), max_size=1)))
    rng = np.random.default_rng(d(st.integers(0, 999)))
    k = min(m, n)
    u = np.linalg.qr(rng.standard_normal(batch + (m, k)))[0]
    v = np.linalg.qr(rng.standard_normal(batch + (n, k)))[0]
    s = 1 + 1.5 * np.arange(k)[::-1] + rng.uniform(0, 0.3, batch + (k,))
    return None, [(u * s[..., None, :]) @ np.swapaxes(v, -1, -2)]


def solve_draw(d):
    n, k = d(st.integers(1, 3)), d(st.integers(1, 2))
    rng = np.random.default_rng(d(st.integers(0, 999)))
    a = rng.standard_normal((n, n)) * 0.3 + 1.5 * np.eye(n)  # (a * a stays well conditioned)
    return None, [a, rng.standard_normal((n, k))]


def roll_draw(d):
    shape = d(shapes(1, 3, max_side=3))
    if d(st.booleans()):
        return (d(st.integers(-4, 4)), None), [_arr(d, shape)]
    dims = tuple(d(st.permutations(range(len(shape))))[: d(st.integers(1, len(shape)))])
    shifts = tuple(d(st.integers(-4, 4)) for _ in dims)
    return (shifts, dims), [_arr(d, shape)]


def repeat_draw(d):
    shape = d(shapes(0, 2, max_side=3))
    reps = tuple(d(st.integers(1, 3)) for _ in range(max(len(shape) + d(st.integers(0, 1)), 1)))
    return reps, [_arr(d, shape)]


def tri_draw(d):
    shape = d(shapes(2, 3, max_side=3))
    return d(st.integers(-2, 2)), [_arr(d, shape)]


EINSUMS = [
    ("ij,jk->ik", "ij", "jk"),
    ("i,i->", "i", "i"),
    ("ij->ji", "ij"),
    ("bij,bjk->bik", "bij", "bjk"),
    ("ii->i", "ii"),
    ("ii->", "ii"),
    ("iij->j", "iij"),
    ("ij,ij->i", "ij", "ij"),
    ("i,j->ij", "i", "j"),
    ("ij,j->", "ij", "j"),
]


def einsum_draw(d):
    spec, *subs = d(st.sampled_from(EINSUMS))
    sizes = {c: d(st.integers(1, 3)) for c in "bijk"}
    return spec, [_arr(d, tuple(sizes[c] for c in s)) for s in subs]


def addmatmul_draw(d):
    kind = d(st.sampled_from(["addmm", "addmv", "baddbmm"]))
    b, m, k, n = (d(st.integers(1, 3)) for _ in range(4))
    s1, s2, out = {
        "addmm": ((m, k), (k, n), (m, n)),
        "addmv": ((m, k), (k,), (m,)),
        "baddbmm": ((b, m, k), (b, k, n), (b, m, n)),
    }[kind]
    inp = d(broadcastable_to(out, allow_bigger=False))
    beta, alpha = d(st.sampled_from([1, 0.5])), d(st.sampled_from([1, -2.0]))
    return (kind, beta, alpha), [_arr(d, inp), _arr(d, s1), _arr(d, s2)]


def diag_draw(d):
    nd = d(st.integers(1, 2))
    shape = tuple(d(st.integers(1, 3)) for _ in range(nd))
    k = d(st.integers(-1, 1)) if nd == 1 else d(st.integers(-shape[0] + 1, shape[1] - 1))
    return k, [_arr(d, shape)]


def diagonal_draw(d):
    shape = d(shapes(2, 3, max_side=3))
    n = len(shape)
    d1, d2 = d(st.lists(st.integers(-n, n - 1), min_size=2, max_size=2, unique_by=lambda v: v % n))
    return (d(st.integers(-2, 2)), d1, d2), [_arr(d, shape)]


def ternary(domain_last="real"):
    def draw(d):
        shape = d(shapes(0, 3, max_side=3))
        s1 = d(broadcastable_to(shape, allow_bigger=False))
        s2 = d(broadcastable_to(shape, allow_bigger=False))
        return None, [_arr(d, shape), _arr(d, s1), _arr(d, s2, domain_last)]

    return draw


def mod_draw(d):
    # a on a 0.5 lattice offset by 0.125, b in +-0.75, +-1.5: a / b is never an integer, so
    # no jump of floor / trunc lies within the finite-difference step
    sa, sb = d(broadcastable_pairs())
    b = d(st.lists(st.sampled_from([0.75, 1.5, -0.75, -1.5]), min_size=1, max_size=1))[0]
    return None, [d(lattice_arrays(sa, offset=0.125)), np.full(sb, b)]


def cumprod_draw(d):
    shape = d(shapes(1, 3, max_side=3))
    dim = d(st.integers(-len(shape), len(shape) - 1))
    arrays = (
        lattice_arrays(shape, step=0.5, k=2)
        if d(st.booleans())
        else float64_arrays(shape, "nonzero")
    )
    # the lattice has zeros (the exact formula); other values keep |x| >= 0.1: next to
    # 1e-278 the product underflows, and prod / x (PyTorch's formula too) loses all digits
    return dim, [d(non_contiguous(d(arrays)))]


def prod_draw(d):
    shape = d(shapes(0, 3, max_side=3))
    dim = d(st.integers(-len(shape), len(shape) - 1)) if shape and d(st.booleans()) else None
    arrays = (
        lattice_arrays(shape, step=0.5, k=2)
        if d(st.booleans())
        else float64_arrays(shape, "nonzero")
    )
    return (dim, d(st.booleans())), [d(non_contiguous(d(arrays)))]


def prod_fn(T, p, x):
    dim, keep = p
    return x.prod() if dim is None else x.prod(dim, keepdim=keep)


def logsumexp_draw(d):
    shape = d(shapes(1, 3, max_side=3))
    dims = d(st.permutations(range(len(shape))))[: d(st.integers(1, len(shape)))]
    return (tuple(dims), d(st.booleans())), [_arr(d, shape)]


CASES: list[Case] = [
    # -- elementwise, two operands (broadcasting, reflected, scalars) ----------------------
    Case("add", ("Add",), binary(), lambda T, p, a, b: a + b),
    Case("sub", ("Sub",), binary(), lambda T, p, a, b: a - b * 2),
    Case("rsub", ("Sub", "Mul"), unary(), lambda T, p, x: 1 - x * x),
    Case("mul", ("Mul",), binary(), lambda T, p, a, b: a * b),
    Case("div", ("Div",), binary("real", "positive"), lambda T, p, a, b: a / b),
    Case("rdiv", ("Div",), unary("positive"), lambda T, p, x: 2 / x),
    # (b == 0 exactly is avoided: d(a^b)/da is defined as 0 there, as PyTorch does, which is
    # not the limit, so finite differences of the first derivative disagree at b = 0)
    Case("pow", ("Pow",), binary("positive", "nonzero"), lambda T, p, a, b: a**b),
    Case("pow_scalar", ("Pow",), unary("positive"), lambda T, p, x: x**3 + x**2 + x**0.5),
    Case("pow_neg_half", ("Pow",), unary("positive"), lambda T, p, x: x**-0.5),
    Case("rpow", ("Pow",), unary(), lambda T, p, x: 2**x),
    Case("remainder", ("Remainder",), mod_draw, lambda T, p, a, b: a % b + a % 2.0),
    Case("fmod", ("Fmod",), mod_draw, lambda T, p, a, b: T.fmod(a, b) + a.fmod(0.7)),
    Case("maximum", ("Maximum",), lattice_pair, lambda T, p, a, b: T.maximum(a, b) ** 2),
    Case("minimum", ("Minimum",), lattice_pair, lambda T, p, a, b: T.minimum(a, b) ** 2),
    Case("atan2", ("Atan2",), binary("nonzero", "nonzero"), lambda T, p, a, b: T.atan2(a, b)),
    Case("hypot", ("Hypot",), binary("nonzero", "nonzero"), lambda T, p, a, b: T.hypot(a, b)),
    Case("logaddexp", ("LogAddExp",), binary(), lambda T, p, a, b: T.logaddexp(a, b)),
    Case("logaddexp2", ("LogAddExp2",), binary(), lambda T, p, a, b: T.logaddexp2(a, b)),
    Case("matmul", ("MatMul",), matmul_draw, lambda T, p, a, b: a @ b),
    # -- elementwise, one operand --------------------------------------------------------
    Case("neg", ("Neg", "Mul"), unary(), lambda T, p, x: -(x * x)),
    Case("abs", ("Abs", "Mul"), unary("nonzero"), lambda T, p, x: x.abs() * x),
    Case("exp", ("Exp",), unary(), lambda T, p, x: x.exp()),
    Case("log", ("Log",), unary("positive"), lambda T, p, x: x.log()),
    Case("sqrt", ("Sqrt",), unary("positive"), lambda T, p, x: x.sqrt()),
    Case("sin", ("Sin",), unary(), lambda T, p, x: x.sin()),
    Case("cos", ("Cos",), unary(), lambda T, p, x: x.cos()),
    Case("relu", ("Relu", "Mul"), unary("nonzero"), lambda T, p, x: x.relu() * x),
    Case("relu_", ("ReluInplace", "Mul"), unary("nonzero"), lambda T, p, x: (x * 1).relu_() * x),
    Case(
        "hardshrink",
        ("MaskedPass", "PiecewiseBackward", "Mul"),
        unary("nonzero"),
        lambda T, p, x: x.hardshrink(0.0) * x,
    ),
    Case("sigmoid", ("Sigmoid",), unary(), lambda T, p, x: x.sigmoid()),
    Case("tanh", ("Tanh",), unary(), lambda T, p, x: x.tanh()),
    Case("sign", ("Sign", "Mul"), unary("nonzero"), lambda T, p, x: x.sign() * x * x),
    Case("angle", ("Angle", "Mul"), unary("nonzero"), lambda T, p, x: x.angle() * x * x),
    Case("clone", ("Clone",), unary(), lambda T, p, x: (x * x).clone()),
    Case("reciprocal", ("Reciprocal",), unary("positive"), lambda T, p, x: x.reciprocal()),
    Case("rsqrt", ("Rsqrt",), unary("positive"), lambda T, p, x: x.rsqrt()),
    Case("exp2", ("Exp2",), unary(), lambda T, p, x: x.exp2()),
    Case("expm1", ("Expm1",), unary(), lambda T, p, x: x.expm1()),
    Case("log1p", ("Log1p",), unary("positive"), lambda T, p, x: x.log1p()),
    Case("log2", ("Log2",), unary("positive"), lambda T, p, x: x.log2()),
    Case("log10", ("Log10",), unary("positive"), lambda T, p, x: x.log10()),
    Case("sinh", ("Sinh",), unary(), lambda T, p, x: x.sinh()),
    Case("cosh", ("Cosh",), unary(), lambda T, p, x: x.cosh()),
    Case("asin", ("Asin",), unary(), lambda T, p, x: (x * 0.4).asin()),
    Case("asinh", ("Asinh",), unary(), lambda T, p, x: (x * 2).asinh()),
    Case("acosh", ("Acosh",), unary(), lambda T, p, x: (x * x + 1.5).acosh()),
    Case("atanh", ("Atanh",), unary(), lambda T, p, x: (x * 0.4).atanh()),
    Case("acos", ("Acos",), unary(), lambda T, p, x: (x * 0.4).acos()),
    Case("atan", ("Atan",), unary(), lambda T, p, x: x.atan()),
    Case("tan", ("Tan",), unary(), lambda T, p, x: (x * 0.6).tan()),
    Case("erf", ("Erf",), unary(), lambda T, p, x: x.erf()),
    Case(
        "rounding",
        ("Rounding", "Mul"),
        quarter_lattice,
        lambda T, p, x: (x * 3.3).floor() * x + x.ceil() * x + x.round() * x + x.trunc() * x,
    ),
    Case("frac", ("Frac", "Mul"), quarter_lattice, lambda T, p, x: (x * 0.9).frac() * x),
    Case(
        "rounded_div",
        ("RoundedDivide", "TruncDivide", "Mul"),
        mod_draw,
        lambda T, p, a, b: (
            a.div(b, rounding_mode="floor") * a + a.div(b, rounding_mode="trunc") * b
        ),
    ),
    Case("nan_to_num", ("NanToNum",), unary(), lambda T, p, x: (x * x).nan_to_num()),
    Case(
        "clamp",
        ("Clamp",),
        # (a lattice: x = 0.5 or -0.3 would sit on a kink, where finite differences fail;
        # Hypothesis draws such constants from the source it has loaded)
        quarter_lattice,
        lambda T, p, x: (x * x).clamp(0.25, 1.5) + x.clamp(min=-0.3) * x + x.clamp(max=0.3) * x,
    ),
    Case(
        "clamp_tensor", ("Clamp",), clamp_tensor_draw, lambda T, p, x, lo, hi: x.clamp(lo, hi) ** 2
    ),
    Case(
        "lerp",
        ("Lerp",),
        ternary(),
        lambda T, p, a, b, w: a.lerp(b, w) * a + a.lerp(b * b, 0.25),
    ),
    Case("addcmul", ("Addcmul",), ternary(), lambda T, p, a, b, c: a.addcmul(b, c, value=0.5)),
    Case(
        "addcdiv", ("Addcdiv",), ternary("positive"), lambda T, p, a, b, c: a.addcdiv(b, c, value=2)
    ),
    # -- reductions and scans -----------------------------------------------------------
    Case("sum", ("Sum", "Mul"), reduction(), lambda T, p, x: _red("sum")(T, p, x * x)),
    Case("mean", ("Mean", "Mul"), reduction(), lambda T, p, x: _red("mean")(T, p, x * x)),
    Case("var", ("Var",), var_draw, var_fn("var")),
    Case("std", ("Std",), var_draw, var_fn("std")),
    Case("amax", ("Amax",), reduction(arrays=distinct_arrays), _red("amax")),
    Case("amin", ("Amax",), reduction(arrays=distinct_arrays), _red("amin")),
    Case("max_all", ("Amax", "Mul"), distinct(), lambda T, p, x: x.max() * x),
    Case("min_all", ("Amax", "Mul"), distinct(), lambda T, p, x: x.min() * x),
    Case(
        "max_dim",
        ("MaxDim", "TakeAlongAxis", "IndexAccumulate"),
        maxdim_draw,
        lambda T, p, x: x.max(p[0], keepdim=p[1])[0] ** 2,
    ),
    Case(
        "min_dim",
        ("MinDim", "IndexAccumulate"),
        maxdim_draw,
        lambda T, p, x: x.min(p[0], keepdim=p[1])[0] ** 2,
    ),
    Case("prod", ("Prod",), prod_draw, prod_fn),
    *[Case(f"norm_{p}", ("Norm",), norm_draw(p), norm_fn) for p in (1, 2, 3, 1.5, 0.5, np.inf)],
    *[
        # (a > 0 > -b: every difference is away from the kink at 0)
        Case(
            f"dist_{p}",
            ("Dist",),
            binary("positive", "positive"),
            lambda T, p_, a, b, p=p: T.dist(a, -b, p),
        )
        for p in (2, 3)
    ],
    Case("softmax", ("Softmax",), with_dim(), lambda T, p, x: x.softmax(p[0])),
    Case("log_softmax", ("LogSoftmax",), with_dim(), lambda T, p, x: x.log_softmax(p[0])),
    Case("logsumexp", ("Logsumexp",), logsumexp_draw, lambda T, p, x: x.logsumexp(p[0], p[1]) ** 2),
    Case("cumsum", ("Cumsum", "Flip", "Mul"), with_dim(), lambda T, p, x: (x * x).cumsum(p[0])),
    Case("cumprod", ("Cumprod",), cumprod_draw, lambda T, p, x: x.cumprod(p)),
    Case(
        "nansum",
        ("Nansum", "Mul"),
        reduction(tuple_dims=False),
        lambda T, p, x: _red("nansum")(T, p, x * x),
    ),
    Case(
        "trace",
        ("Trace", "IndexAccumulate", "Mul"),
        unary(min_dims=2),
        lambda T, p, x: (x * x).reshape(x.shape[0], -1).trace() ** 2,
    ),
    # -- shapes and views ---------------------------------------------------------------
    Case(
        "reshape",
        ("Reshape", "Mul"),
        unary(),
        lambda T, p, x: (x * x).reshape(-1) * x.reshape(-1).flip(0),
    ),
    Case(
        "squeeze_unsqueeze",
        ("Squeeze", "Unsqueeze", "Mul"),
        unary(),
        lambda T, p, x: (x * x).unsqueeze(0).squeeze(0) * x,
    ),
    Case(
        "permute",
        ("Permute", "Transpose", "Mul"),
        unary(min_dims=2),
        lambda T, p, x: (x * x).permute(*reversed(range(x.dim()))).transpose(0, 1) ** 2,
    ),
    Case(
        "expand",
        ("Expand", "Mul"),
        unary(),
        lambda T, p, x: (x * x).expand(2, *x.shape) * T.ones(2, *x.shape, dtype=T.float64) * x,
    ),
    Case("flip", ("Flip", "Mul"), unary(min_dims=1), lambda T, p, x: (x * x).flip(0) * x),
    Case(
        "unfold",
        ("Unfold", "UnfoldBackward", "Mul"),
        unary(min_dims=1),
        lambda T, p, x: (x * x).unfold(0, min(2, x.shape[0]), 1) ** 2,
    ),
    Case("roll", ("Roll", "Mul"), roll_draw, lambda T, p, x: (x * x).roll(p[0], p[1]) * x),
    Case("repeat", ("Repeat", "Mul"), repeat_draw, lambda T, p, x: (x * x).repeat(*p) ** 2),
    Case("tril", ("Tri", "Mul"), tri_draw, lambda T, p, x: (x * x).tril(p) * x),
    Case("triu", ("Tri", "Mul"), tri_draw, lambda T, p, x: (x * x).triu(p) * x),
    Case(
        "diag", ("Diag", "IndexAccumulate", "Mul"), diag_draw, lambda T, p, x: T.diag(x * x, p) ** 2
    ),
    Case(
        "diagonal",
        ("Diagonal", "DiagonalBackward", "Mul"),
        diagonal_draw,
        lambda T, p, x: (x * x).diagonal(*p) ** 2,
    ),
    Case("cat", ("Cat", "Index", "Mul"), cat_draw, lambda T, p, a, b: T.cat([a * a, b], p) ** 2),
    Case(
        "stack",
        ("Stack", "Index", "Mul"),
        stack_draw,
        lambda T, p, a, b: T.stack([a * b, b], p) ** 2,
    ),
    # -- indexing, selection, writes ----------------------------------------------------
    Case(
        "getitem",
        ("Index", "IndexAccumulate", "Mul"),
        index_draw,
        lambda T, p, x: (x * x)[_index(T, p)] ** 2,
    ),
    Case("setitem", ("SetIndex", "Index", "Mul"), setitem_draw, setitem_fn),
    Case("view_inplace", ("SetIndex", "Index", "Mul"), view_inplace_draw, view_inplace_fn),
    Case(
        "overwrite", ("Zero", "Fill", "Copy", "Overwrite", "SetIndex"), overwrite_draw, overwrite_fn
    ),
    Case(
        "random_fill",
        ("Uniform", "Normal", "SetIndex"),
        unary(min_dims=1),
        random_fill_fn,
        torch=False,
    ),
    Case(
        "where",
        ("Where", "Mul"),
        where_draw,
        lambda T, p, a, b: T.where(T.tensor(p), a * a, b * a),
    ),
    Case(
        "masked_fill",
        ("MaskedFill", "Mul"),
        masked_fill_draw,
        lambda T, p, x, v: (x * x).masked_fill(T.tensor(p), v * v) * x,
    ),
    Case(
        "gather",
        ("Gather", "IndexAccumulate", "Mul"),
        gather_draw,
        lambda T, p, x: (x * x).gather(p[0], T.tensor(p[1])) ** 2,
    ),
    Case(
        "scatter",
        ("Scatter", "Index", "IndexAccumulate", "Mul"),
        scatter_draw,
        lambda T, p, x, s: (
            (x * x).scatter(p[0], T.tensor(p[1]), s * s) * x
            + (x * x).scatter(p[0], T.tensor(p[1]), 1.5) * x
        ),
        torch_ok=_src_fits,
    ),
    Case(
        "scatter_add",
        ("Scatter", "Index", "Mul"),
        scatter_draw,
        lambda T, p, x, s: (x * x).scatter_add(p[0], T.tensor(p[1]), s * s) * x,
        torch_ok=_src_fits,
    ),
    Case(
        "index_select",
        ("IndexSelect", "IndexAccumulate", "Mul"),
        index_select_draw,
        lambda T, p, x: (x * x).index_select(p[0], T.tensor(p[1])) ** 2,
    ),
    Case(
        "sort",
        ("Sort", "SortStable", "IndexAccumulate"),
        sort_draw,
        lambda T, p, x: (
            x.sort(p[0], descending=p[1])[0] ** 2 + x.sort(dim=p[0], stable=True)[0] ** 3
        ),
    ),
    Case(
        "topk",
        ("Topk", "IndexAccumulate"),
        sort_draw,
        lambda T, p, x: x.topk(p[2], p[0], largest=p[1])[0] ** 2,
    ),
    Case("einsum", ("Einsum",), einsum_draw, lambda T, p, *xs: T.einsum(p, *(x * x for x in xs))),
    Case(
        "cdist_matrix_product",
        ("EuclideanDist",),
        cdist_draw,
        lambda T, p, a, b: T.cdist(a, b, compute_mode="use_mm_for_euclid_dist"),
    ),
    Case(
        "lgamma_digamma_polygamma",
        ("Lgamma", "Polygamma", "Mul"),
        positive_draw,
        lambda T, p, x: T.lgamma(x * x) + T.digamma(x) * x + T.polygamma(2, x),
        # PyTorch's trigamma is accurate to ~1e-9 relative, not this table's 1e-10: compared
        # with it at 1e-8 in tests/test_index_special.py
        torch=False,
    ),
    Case("erfinv", ("Erfinv", "Mul"), unit_draw, lambda T, p, x: (x * x).erfinv() * x),
    Case(
        "scatter_reduce",
        ("ScatterReduce", "Index", "IndexAccumulate", "Mul"),
        scatter_reduce_draw,
        lambda T, p, x, s: sum(
            (x * x).scatter_reduce(p[0], T.tensor(p[1]), s * s, r, include_self=inc) * x
            for r, inc in (("sum", True), ("mean", False), ("prod", True), ("amax", True))
        ),
        torch_ok=_src_fits,
    ),
    Case(
        "inv_det_slogdet",
        ("Inv", "Det", "Slogdet", "SlogdetSign", "Mul"),
        square_draw,
        lambda T, p, a: (
            T.linalg.inv(a).sum(-1) * T.linalg.det(a).unsqueeze(-1)
            + T.linalg.slogdet(a)[1].unsqueeze(-1) * T.linalg.slogdet(a)[0].unsqueeze(-1)
        ),
    ),
    Case(
        "matrix_exp",
        ("MatrixExp", "Mul"),
        square_draw,
        lambda T, p, a: T.linalg.matrix_exp(a * 0.5) * a,
    ),
    Case(
        "cholesky",
        ("Cholesky", "Inv", "Mul"),
        square_draw,
        lambda T, p, a: T.linalg.cholesky(a.matmul(a.transpose(-2, -1))) * 2,
    ),
    Case(
        "eigh",
        ("EighValues", "EighVectors", "Mul"),
        square_draw,
        lambda T, p, a: (
            T.linalg.eigh(a + a.transpose(-2, -1))[1] ** 2
            * T.linalg.eigvalsh(a + a.transpose(-2, -1)).unsqueeze(-2)
        ),
        torch=False,  # (random symmetric matrices: eigenvalue gaps can be tiny for torch's 1e-10)
    ),
    Case(
        "svdvals",
        ("Svdvals", "EighVectors", "Mul"),
        square_draw,
        lambda T, p, a: T.linalg.svdvals(a) ** 2 + T.linalg.svdvals(a[..., :1, :]),
        torch=False,  # (compared with PyTorch, first and second order, in tests/test_linalg.py)
    ),
    Case(
        "qr",
        ("QrQ", "QrR", "Solve", "Mul"),
        factor_draw,
        # (squares: a loss that does not depend on LAPACK's signs, so PyTorch can be compared)
        lambda T, p, a: (T.linalg.qr(a).Q ** 2).matmul(T.linalg.qr(a).R ** 2),
    ),
    Case(
        "svd",
        ("SvdU", "SvdVh", "Svdvals", "Mul"),
        factor_draw,
        lambda T, p, a: (
            T.linalg.svd(a, full_matrices=False).U ** 2 * T.linalg.svdvals(a).unsqueeze(-2)
        ).matmul(T.linalg.svd(a).Vh[..., : min(a.shape[-2:]), :] ** 2),
    ),
    Case(
        "solve",
        ("Solve",),
        solve_draw,
        lambda T, p, a, b: T.linalg.solve(a * a, b * b),
    ),
    Case(
        "pinv_lstsq",
        ("Pinv", "LstsqSolution", "Mul"),
        factor_draw,
        lambda T, p, a: T.linalg.lstsq(a, a * a).solution.matmul(T.linalg.pinv(a) ** 2),
    ),
    Case(
        "gammainc",
        ("Igamma", "Igammac", "Lgamma", "Mul"),
        lambda d: (None, [_arr(d, d(shapes(1, 2, max_side=3)))]),
        # (only x is differentiable: a is a constant here)
        lambda T, p, x: (
            T.special.gammainc(T.full(x.shape, 0.7, dtype=x.dtype), x * x + 0.1)
            + T.special.gammaincc(T.full(x.shape, 2.5, dtype=x.dtype), x * x + 0.3) * x
        ),
    ),
    Case(
        "solve_triangular",
        ("SolveTriangular", "Mul"),
        solve_draw,
        lambda T, p, a, b: (
            T.linalg.solve_triangular(a * a, b * b, upper=True)
            + T.linalg.solve_triangular(a, b * a[:, :1], upper=False, unitriangular=True)
        ),
    ),
    Case(
        "lu_factor_lu_solve",
        ("LuFactor", "SolveTriangular", "Mul"),
        square_draw,
        lambda T, p, a: (
            T.linalg.lu_factor(a).LU ** 2 + T.linalg.lu_solve(*T.linalg.lu_factor(a), a * a)
        ),
    ),
    Case(
        "ex_variants",
        ("InvEx", "SolveEx", "CholeskyEx", "Mul"),
        square_draw,
        lambda T, p, a: (
            T.linalg.inv_ex(a).inverse * T.linalg.solve_ex(a, a * a).result
            + T.linalg.cholesky_ex(a.matmul(a.transpose(-2, -1))).L
        ),
    ),
    Case(
        "cholesky_solve_inverse",
        ("CholeskySolve", "CholeskyInverse", "Mul"),
        solve_draw,
        lambda T, p, a, b: (
            T.cholesky_solve(b * b, a.tril()) + T.cholesky_inverse(a.tril() * 2).matmul(b)
        ),
    ),
    Case(
        "addmatmul",
        ("AddMatmul",),
        addmatmul_draw,
        lambda T, p, i, a, b: getattr(T, p[0])(i, a * a, b, beta=p[1], alpha=p[2]) ** 2,
    ),
]


def _tensors(lib, arrays, requires_grad=True):
    if lib is tc:
        return [tc.from_numpy(np.asarray(a)).requires_grad_(requires_grad) for a in arrays]
    return [lib.from_numpy(np.array(a)).requires_grad_(requires_grad) for a in arrays]


def _engine_classes() -> dict[str, type]:
    """Every concrete Function subclass defined in the engine modules (by class name)."""
    out = {}
    for mod in (ops, ops_extra, ops_special, ops_linalg):
        for name, cls in inspect.getmembers(mod, inspect.isclass):
            if (
                issubclass(cls, Function)
                and cls.__module__ == mod.__name__
                and cls.backward is not Function.backward  # not an abstract base (Op, Binary)
            ):
                out[name] = cls
    return out


def test_every_engine_op_has_a_graph_backward():
    classes = _engine_classes()
    assert len(classes) > 80
    missing = sorted(n for n, c in classes.items() if c.graph_backward is None)
    assert not missing, f"ops without graph_backward (no double backward): {missing}"


def test_every_engine_op_is_in_the_table():
    covered = {c for case in CASES for c in case.classes}
    # Cast, FloorDivide and UniqueConsecutive have tests of their own (below; test_ops_more),
    # Poisson (random draws: finite differences cannot see its zero gradient) in test_rng_torch
    # PairwiseDist (cdist) and PairDist (pdist) have none, as PyTorch's
    # (test_tensor_parity_torch.py: they raise)
    own = {"Cast", "FloorDivide", "UniqueConsecutive", "Poisson", "PairwiseDist", "PairDist"}
    missing = set(_engine_classes()) - covered - own
    assert not missing, f"ops with no double-backward case: {sorted(missing)}"
    assert covered <= set(_engine_classes())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@settings(max_examples=4)
@given(data=st.data())
def test_gradgradcheck(case, data):
    params, arrays = case.draw(data.draw)
    xs = _tensors(tc, arrays)
    assert gradgradcheck(lambda *t: case.fn(tc, params, *t), xs, **TOL)


THIRD_ORDER = [
    "mul",
    "exp",
    "div",
    "pow",
    "matmul",
    "softmax",
    "getitem",
    "prod",
    "cumprod",
    "norm_3",
    "var",
    "gather",
    "einsum",
    "setitem",
    "logsumexp",
]


@pytest.mark.parametrize("name", THIRD_ORDER)
@settings(max_examples=2)
@given(data=st.data())
def test_third_order(name, data):
    """gradgradcheck of x -> d<v, f(x)>/dx (create_graph): third derivatives of f."""
    case = next(c for c in CASES if c.name == name)
    params, arrays = case.draw(data.draw)
    if name in ("prod", "cumprod"):
        # next to a zero the gradient is prod / a_i (as in PyTorch): its third derivative is
        # fine analytically but too ill-conditioned for finite differences (1/a^3 terms)
        assume(all(np.all(np.abs(a) > 0.1) for a in arrays))
    xs = _tensors(tc, arrays)
    out = case.fn(tc, params, *xs)
    v = tc.from_numpy(np.random.default_rng(0).standard_normal(tuple(out.shape)))

    def first(*t):
        grads = tc.autograd.grad(
            case.fn(tc, params, *t),
            t,
            grad_outputs=v,
            create_graph=True,
            allow_unused=True,
            materialize_grads=True,
        )
        return grads

    assert gradgradcheck(first, xs, **TOL)


def test_cast_double_backward():
    x = tc.tensor([0.5, -1.25, 2.0], dtype=tc.float32, requires_grad=True)
    (g,) = tc.autograd.grad((x.double() ** 3).sum(), x, create_graph=True)
    assert g.dtype == tc.float32 and g.grad_fn.name() == "ToCopyBackward0"
    (gg,) = tc.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * x.detach().numpy(), rtol=1e-6)
    assert gg.dtype == tc.float32


def test_floor_divide_has_no_derivative_at_any_order():
    x = tc.tensor([1.5, 2.5], dtype=tc.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="floor_divide"):
        tc.autograd.grad((x // 2).sum(), x, create_graph=True)


def test_first_order_path_unchanged_by_graph_backward():
    """create_graph=False still runs the NumPy backward: the gradient has no graph."""
    x = tc.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=tc.float64, requires_grad=True)
    (g,) = tc.autograd.grad((x.softmax(1) * x).sum(), x)
    assert not g.requires_grad and g.grad_fn is None


# -- PyTorch as the oracle ------------------------------------------------------------------


# Cases whose first-order gradient is built from other ops than PyTorch's, so its last node
# has another name: PyTorch's fused backward kernels (SigmoidBackwardBackward0, ...), matmul's
# lowering to mm/mv/bmm/t, masked_fill where tinyconv selects with where, grad / b where
# PyTorch multiplies by a saved reciprocal (and the reverse), a scalar factor (MulBackward1).
NAME_DIFFS = {
    "div",
    "pow",
    "maximum",
    "minimum",
    "hypot",
    "matmul",
    "sigmoid",
    "tanh",
    "exp2",
    "addcdiv",
    "softmax",
    "log_softmax",
    "cumprod",
    "prod",
    "setitem",
    "addmatmul",
    "qr",  # (PyTorch's gradient ends in its LinalgQrBackward's backward, tinyconv's in a product)
    "svd",
}


def _second(lib, case, params, arrays, seed):
    """(d<w, f>/dx values, d/dx <u, d<w, f>/dx> values) for every input."""
    xs = _tensors(lib, arrays)
    out = case.fn(lib, params, *xs)
    rng = np.random.default_rng(seed)
    w = lib.from_numpy(rng.standard_normal(tuple(out.shape)))
    gs = lib.autograd.grad(out, xs, grad_outputs=w, create_graph=True, allow_unused=True)
    gs = [g if g is not None else lib.zeros_like(x) for g, x in zip(gs, xs, strict=True)]
    us = [lib.from_numpy(rng.standard_normal(tuple(x.shape))) for x in xs]
    s = sum((g * u).sum() for g, u in zip(gs, us, strict=True)) + sum(x.sum() for x in xs) * 0
    hs = lib.autograd.grad(s, xs, allow_unused=True)
    return (
        [g.detach().numpy() for g in gs],
        [h.numpy() if h is not None else None for h in hs],
        [g.requires_grad for g in gs],
        [g.grad_fn.name() if g.grad_fn is not None else None for g in gs],
    )


@pytest.mark.torch
@pytest.mark.parametrize("case", [c for c in CASES if c.torch], ids=lambda c: c.name)
@settings(max_examples=3)
@given(data=st.data())
def test_matches_torch(case, data):
    torch = pytest.importorskip("torch")
    params, arrays = case.draw(data.draw)
    assume(case.torch_ok(params, arrays))
    g_t, h_t, rg_t, names_t = _second(torch, case, params, arrays, 1)
    g_c, h_c, rg_c, names_c = _second(tc, case, params, arrays, 1)
    # the gradient requires grad exactly where PyTorch's does (so grad() of it raises in both
    # or in neither), and its graph ends in the node PyTorch's ends in where the two build
    # the gradient from the same ops
    assert rg_c == rg_t
    if case.name not in NAME_DIFFS:
        assert names_c == names_t
    for a, b in zip(g_t, g_c, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10)
    for a, b in zip(h_t, h_c, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10)


@pytest.mark.torch
def test_var_without_degrees_of_freedom_matches_torch():
    """var with correction >= n: over all elements (or of a 0-d tensor) PyTorch's gradient is
    a constant inf/nan with no graph; over a dim it keeps its graph."""
    torch = pytest.importorskip("torch")
    cases = (((), [0.5, 1.5], False), ((0,), [0.5, 1.5], True), ((0,), 0.5, False))
    for dims, value, graph in cases:
        out = []
        for lib in (tc, torch):
            x = lib.tensor(value, dtype=lib.float64, requires_grad=True)
            with pytest.warns(UserWarning):
                y = x.var(*dims, correction=2 if x.dim() else 1)
            (g,) = lib.autograd.grad(y, x, create_graph=True)
            assert g.requires_grad == graph
            out.append(g.detach().numpy())
        # (the signs of the infs differ in the full reduction: a first-order difference)
        np.testing.assert_array_equal(np.isfinite(out[0]), np.isfinite(out[1]))
