"""The core parity programs of test_core_parity.py, run side by side in PyTorch and tinyconv.

Each program is a function of the library (`T`); both runs must agree on raises-or-not, and on
every result's shape, dtype, requires_grad, values and (where there is a backward) gradients.
Skips without PyTorch (CI installs it and allows no skips).
"""

from __future__ import annotations

import itertools
import operator
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyconv

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, tinyconv.Tensor):
        return x.detach().numpy()
    return x


def _dtype_name(t) -> str:
    return str(t.dtype).split(".")[-1]


def _run(program, T):
    """Run `program(T)`: ('raise', exception type) or ('ok', results, warned)."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            out = program(T)
        except Exception as e:  # noqa: BLE001  (compared with PyTorch's verdict)
            return ("raise", type(e))
    # any warning a user would see (NumPy's RuntimeWarnings included), not deprecations
    warned = any(
        not issubclass(x.category, (DeprecationWarning, PendingDeprecationWarning)) for x in w
    )
    return ("ok", out if isinstance(out, (tuple, list)) else (out,), warned)


def same(program, check_warnings: bool = False):
    """Assert that PyTorch and tinyconv agree on `program`."""
    a, b = _run(program, torch), _run(program, tinyconv)
    assert a[0] == b[0], f"torch: {a}, tinyconv: {b}"
    if a[0] == "raise":
        # an IndexError where PyTorch raises one (tinyconv's IndexOutOfRange is one), else any of
        # the documented kinds (tinyconv may say ValueError where PyTorch says RuntimeError)
        if issubclass(a[1], IndexError):
            assert issubclass(b[1], IndexError), (a, b)
        else:
            assert issubclass(b[1], (ValueError, TypeError, RuntimeError)), (a, b)
        return
    if check_warnings:
        assert a[2] == b[2], f"warning: torch {a[2]}, tinyconv {b[2]}"
    assert len(a[1]) == len(b[1])
    for k, (x, y) in enumerate(zip(a[1], b[1], strict=True)):
        if isinstance(x, torch.Tensor):
            assert isinstance(y, tinyconv.Tensor), (k, x, y)
            assert tuple(x.shape) == tuple(y.shape), (k, x.shape, y.shape)
            assert _dtype_name(x) == _dtype_name(y), (k, x.dtype, y.dtype)
            assert x.requires_grad == y.requires_grad, (k, x, y)
            np.testing.assert_allclose(
                _np(y).astype(np.float64),
                _np(x).astype(np.float64),
                rtol=1e-6,
                atol=1e-7,
                equal_nan=True,
                err_msg=f"result {k}",
            )
            assert type(y._data) is np.ndarray
        elif x is None:
            assert y is None, (k, y)
        else:
            assert x == y or (np.isnan(x) and np.isnan(y)), (k, x, y)


def grads_of(program, *values, dtype="float64"):
    """A program: leaves from `values`, `program(T, *leaves)` (a tensor), backward of its weighted
    sum; returns (output, grads of every leaf)."""

    def run(T):
        leaves = [T.tensor(v, dtype=getattr(T, dtype), requires_grad=True) for v in values]
        out = program(T, *leaves)
        w = T.tensor(
            np.linspace(1.0, 2.0, int(np.prod(out.shape))).reshape(tuple(out.shape)),
            dtype=out.dtype,
        )
        (out * w).sum().backward()
        return (out, *[leaf.grad for leaf in leaves])

    return run


# -- 1. 0-d results ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["where-dot", "loss+=", "abs+0.1", "exp*2", "dot-int", "neg-0d"])
def test_zero_d_results(name):
    programs = {
        "where-dot": grads_of(
            lambda T, x: T.where(T.dot(x, x) > 0, T.dot(x, x), T.dot(x, x)), [1.0, 2.0]
        ),
        "loss+=": lambda T: _loss_plus(T),
        "abs+0.1": lambda T: T.tensor(2).abs() + 0.1,
        "exp*2": lambda T: T.tensor(2.0).exp() * 2,
        "dot-int": lambda T: T.dot(T.tensor([1, 2]), T.tensor([3, 4])) * 0.5,
        "neg-0d": lambda T: (-T.tensor(3, dtype=T.int32)) + T.tensor(1),
    }
    same(programs[name])


def _loss_plus(T):
    out = T.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]], requires_grad=True)
    loss = T.nn.functional.cross_entropy(out, T.tensor([1, 2])) / 4
    loss += 0.5
    loss.backward()
    return loss, out.grad


# -- 2. clamp -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xv", "lv", "hv"), list(itertools.product([1.0, 2.0, 3.0], [2.0], [1.0, 2.0, 3.0]))
)
def test_clamp_ties(xv, lv, hv):
    same(grads_of(lambda T, x, lo, hi: T.clamp(x, lo, hi), xv, lv, hv))
    same(grads_of(lambda T, x, lo: T.clamp(x, min=lo), xv, lv))
    same(grads_of(lambda T, x, hi: T.clamp(x, max=hi), xv, hv))


@given(
    st.lists(st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0]), min_size=6, max_size=6),
    st.sampled_from(["both", "min", "max", "scalars"]),
    st.sampled_from(["same", "row", "0d"]),
)
def test_clamp_with_tensor_bounds_matches_torch(vals, which, bshape):
    x = np.array(vals).reshape(2, 3)
    lo, hi = x[::-1].copy(), (x * 0.5 + 0.5)
    if bshape == "row":
        lo, hi = lo[:1], hi[1:]
    elif bshape == "0d":
        lo, hi = lo[0, 0], hi[1, 1]
    if which == "both":
        same(grads_of(lambda T, x, lo, hi: x.clamp(lo, hi), x, lo, hi))
    elif which == "min":
        same(grads_of(lambda T, x, lo: x.clamp(min=lo), x, lo))
    elif which == "max":
        same(grads_of(lambda T, x, hi: T.clip(x, max=hi), x, hi))
    else:
        same(grads_of(lambda T, x: x.clamp(float(np.min(lo)), float(np.max(hi))), x))


@pytest.mark.parametrize(
    "name",
    [
        "int-float",
        "int-0d-float",
        "int-int-tensor",
        "f32-f64",
        "f32-0d-f64",
        "bool",
        "mixed",
        "bcast",
        "bound-only-grad",
        "inplace-int",
        "inplace-bcast",
        "none",
    ],
)
def test_clamp_programs(name):
    programs = {
        "int-float": lambda T: T.tensor([1, 2, 3]).clamp(min=1.5),
        "int-0d-float": lambda T: T.tensor([1, 2, 3]).clamp(min=T.tensor(2.5)),
        "int-int-tensor": lambda T: T.tensor([1, 5]).clamp(T.tensor([2, 2])),
        "f32-f64": lambda T: T.tensor([1.0, 5.0]).clamp(T.tensor([2.0, 2.0], dtype=T.float64)),
        "f32-0d-f64": lambda T: T.tensor([1.0, 5.0]).clamp(T.tensor(2.0, dtype=T.float64)),
        "bool": lambda T: T.tensor([True, False]).clamp(0, 1),
        "mixed": lambda T: T.clamp(T.tensor([1.0, 5.0]), T.tensor([2.0, 2.0]), 3.0),
        "bcast": lambda T: T.tensor([1.0, 2.0, 3.0]).clamp(min=T.tensor([[0.0], [2.5]])),
        "bound-only-grad": lambda T: T.tensor([1.0, 2.0, 3.0]).clamp(
            min=T.tensor([[0.0], [2.5]], requires_grad=True)
        ),
        "inplace-int": lambda T: T.tensor([1, 5]).clamp_(min=2.5),
        "inplace-bcast": lambda T: T.tensor([1.0, 5.0]).clamp_(min=T.tensor([[2.0], [3.0]])),
        "none": lambda T: T.tensor([1.0]).clamp(),
    }
    same(programs[name])


# -- 3. gradients at zero -------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.5, 1, 1.5, 2, 3, float("inf"), -float("inf"), 0, -1, -0.5])
@pytest.mark.parametrize("xv", [[0.0, 0.0, 0.0], [0.0, 1.0, -2.0], [[0.0, 3.0], [0.0, 0.0]]])
def test_norm_at_zero(p, xv):
    same(grads_of(lambda T, x: x.norm(p), xv))
    if np.ndim(xv) == 2:
        same(grads_of(lambda T, x: x.norm(p, dim=1), xv))
        same(grads_of(lambda T, x: x.norm(p, dim=0, keepdim=True), xv))


@pytest.mark.parametrize(
    "name",
    [
        "relu",
        "clamp",
        "clamp2",
        "maximum",
        "minimum",
        "max",
        "max dim",
        "amax",
        "amin",
        "min",
        "abs",
        "where",
        "sqrt",
        "std",
        "std dim",
        "var",
    ],
)
def test_an_inf_arriving_at_a_masking_op(name):
    fns = {
        "relu": (lambda T, x: x.relu(), [-1.0, 0.0, 1.0]),
        "clamp": (lambda T, x: x.clamp(min=0), [-1.0, 0.0, 1.0]),
        "clamp2": (lambda T, x: x.clamp(0, 2), [-1.0, 0.0, 3.0]),
        "maximum": (lambda T, x: T.maximum(x, T.zeros(3, dtype=T.float64)), [-1.0, 0.0, 1.0]),
        "minimum": (lambda T, x: T.minimum(x, T.zeros(3, dtype=T.float64)) + 1, [-1.0, 0.0, 1.0]),
        "max": (lambda T, x: x.max(), [0.0, -1.0, 0.0]),
        "max dim": (lambda T, x: x.max(0).values, [0.0, -1.0, 0.0]),
        "amax": (lambda T, x: x.amax(0), [0.0, -1.0, 0.0]),
        "amin": (lambda T, x: x.amin(0) + 1, [-1.0, 0.0, -1.0]),
        "min": (lambda T, x: x.min() + 1, [-1.0, 0.0, -1.0]),
        "abs": (lambda T, x: x.abs(), [-1.0, 0.0, 1.0]),
        "where": (lambda T, x: T.where(x > 0, x, 0.0), [-1.0, 0.0, 1.0]),
        "sqrt": (lambda T, x: x, [0.0, 1.0, 4.0]),
        "std": (lambda T, x: x.std() * 0 + x, [1.0, 1.0, 1.0]),
        "std dim": (lambda T, x: x.std(1), [[1.0, 1.0], [1.0, 2.0]]),
        "var": (lambda T, x: x.var(1), [[1.0, 1.0], [1.0, 2.0]]),
    }
    fn, xv = fns[name]
    same(grads_of(lambda T, x: fn(T, x) ** 0.5, xv))
    same(grads_of(fn, xv))


# -- 4. var/std with too few elements, saved tensors, flip, empties ------------------------------


@pytest.mark.parametrize(
    ("shape", "dim", "correction"),
    [
        ((1, 3), 0, 1),
        ((1, 3), 0, 0),
        ((2, 3), 0, 3),
        ((2, 3), 1, 1),
        ((0,), None, 1),
        ((3,), None, 3),
        ((), None, 0),  # 0-d: the backward once wrote into a NumPy scalar
    ],
)
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_degrees_of_freedom(shape, dim, correction, op):
    def program(T):
        x = T.ones(shape, dtype=T.float64, requires_grad=True)
        y = getattr(x, op)(dim, correction=correction)
        if y.numel():
            y.sum().backward()
        return y, x.grad

    same(program, check_warnings=True)


@pytest.mark.parametrize("modify", ["in", "out"])
@pytest.mark.parametrize(
    "name",
    [
        "exp",
        "pow2",
        "pow_t",
        "rpow",
        "sqrt",
        "log",
        "tanh",
        "sigmoid",
        "relu",
        "abs",
        "sin",
        "clamp",
        "clamp_t",
        "prod",
        "prod_dim",
        "max",
        "max_dim",
        "amax",
        "var",
        "std",
        "norm",
        "norm3",
        "sum",
        "mean",
        "mul_s",
        "mul_c",
        "c_mul",
        "div_s",
        "div_c",
        "c_div",
        "rdiv",
        "matmul_c",
        "c_matmul",
        "maximum_c",
        "flip",
        "sign",
        "mod_s",
        "mod_c",
        "where",
        "cat",
        "neg",
        "double",
    ],
)
def test_saved_tensors_match_torch(name, modify):
    """In-place on the op's input or on its result before backward: raises exactly when PyTorch
    does."""
    ops = {
        "exp": lambda T, w, c: w.exp(),
        "pow2": lambda T, w, c: w**2,
        "pow_t": lambda T, w, c: w**c,
        "rpow": lambda T, w, c: 2**w,
        "sqrt": lambda T, w, c: w.sqrt(),
        "log": lambda T, w, c: w.log(),
        "tanh": lambda T, w, c: w.tanh(),
        "sigmoid": lambda T, w, c: w.sigmoid(),
        "relu": lambda T, w, c: w.relu(),
        "abs": lambda T, w, c: w.abs(),
        "sin": lambda T, w, c: w.sin(),
        "clamp": lambda T, w, c: w.clamp(0, 1.7),
        "clamp_t": lambda T, w, c: w.clamp(c, c + 1),
        "prod": lambda T, w, c: w.prod(),
        "prod_dim": lambda T, w, c: w.prod(0),
        "max": lambda T, w, c: w.max(),
        "max_dim": lambda T, w, c: w.max(0).values,
        "amax": lambda T, w, c: w.amax(0),
        "var": lambda T, w, c: w.var(),
        "std": lambda T, w, c: w.std(),
        "norm": lambda T, w, c: w.norm(),
        "norm3": lambda T, w, c: w.norm(3),
        "sum": lambda T, w, c: w.sum(),
        "mean": lambda T, w, c: w.mean(),
        "mul_s": lambda T, w, c: w * 2,
        "mul_c": lambda T, w, c: w * c,
        "c_mul": lambda T, w, c: c * w,
        "div_s": lambda T, w, c: w / 2,
        "div_c": lambda T, w, c: w / c,
        "c_div": lambda T, w, c: c / w,
        "rdiv": lambda T, w, c: 3 / w,
        "matmul_c": lambda T, w, c: w @ c,
        "c_matmul": lambda T, w, c: c @ w,
        "maximum_c": lambda T, w, c: T.maximum(w, c),
        "flip": lambda T, w, c: w.flip(0),
        "sign": lambda T, w, c: w.sign(),
        "mod_s": lambda T, w, c: w % 2,
        "mod_c": lambda T, w, c: w % c,
        "where": lambda T, w, c: T.where(c > 2, w, c),
        "cat": lambda T, w, c: T.cat([w, c]),
        "neg": lambda T, w, c: -w,
        "double": lambda T, w, c: w.double(),
    }

    def program(T):
        x = T.tensor([1.5, 2.0], requires_grad=True)
        c = T.tensor([2.0, 3.0])
        w = x * 1
        out = ops[name](T, w, c)
        (w if modify == "in" else out).add_(1)
        out.sum().backward()
        return x.grad

    same(program)


@pytest.mark.parametrize("name", ["values", "inplace", "view", "grad-inplace"])
def test_flip_is_a_copy(name):
    def values(T):
        x = T.arange(6.0).reshape(2, 3)
        return x.flip(0), x.flip(1), x.flip(0, 1), x.flip(-1)

    def inplace(T):
        x = T.arange(6.0).reshape(2, 3)
        f = x.flip(0)
        f.add_(1)
        return x, f

    def grad_inplace(T):
        x = T.arange(6.0).reshape(2, 3).requires_grad_()
        g = x.flip(1)
        g.mul_(2)
        g.sum().backward()
        return g, x.grad

    programs = {
        "values": values,
        "inplace": inplace,
        "view": lambda T: T.arange(6.0).reshape(2, 3).flip(0).view(6),
        "grad-inplace": grad_inplace,
    }
    same(programs[name])


@pytest.mark.parametrize(
    "expr",
    [
        "e.max(1)[0]",
        "e.max(1)[1]",
        "e.max(1, keepdim=True)[0]",
        "e.min(1)[0]",
        "e.argmax(1)",
        "e.argmin(1, keepdim=True)",
        "e.amax(1)",
        "e.amin(1)",
        "e.max(0)",
        "e.min(0)",
        "e.amax(0)",
        "e.argmax(0)",
        "e.argmax()",
        "e.max()",
        "e.min()",
        "e.amax()",
        "e.amin((0, 1))",
        "e.sum(0)",
        "e.prod(0)",
        "[c.shape[0] for c in e.chunk(2)]",
        "[c.shape[1] for c in e.chunk(2, 1)]",
        "[c.shape[0] for c in e.split(2)]",
        "[c.shape[0] for c in e.split(0)]",
        "T.zeros(4, 3).split(0)",
        "T.zeros(3).split(-1)",
        "T.zeros(3).split([1, 1])",
        "[c.shape[0] for c in T.zeros(0).split([0, 0])]",
        "[c.shape[0] for c in T.zeros(0).chunk(3)]",
        "[c.shape[0] for c in T.zeros(5).chunk(2)]",
        "[c.shape[0] for c in T.zeros(6).chunk(4)]",
        "[c.shape[0] for c in T.zeros(7).chunk(3)]",
        "T.zeros(3).chunk(0)",
        "[c.shape[0] for c in T.zeros(3).split(5)]",
        "T.tensor(3.0).max(0)[0]",
        "T.tensor(3.0).argmax(0)",
    ],
)
def test_empty_reductions_and_splits(expr):
    def program(T):
        e = T.zeros(0, 3)  # noqa: F841  (used by expr)
        r = eval(expr)  # (a fixed expression from the list above)
        return tuple(r) if isinstance(r, list) else r

    same(program)


def test_max_of_an_empty_dim_backward():
    def program(T):
        x = T.zeros(0, 3, requires_grad=True)
        x.max(1).values.sum().backward()
        return x.grad

    same(program)


# -- 5. %, //, **
# ---------------------------------------------------------------------------------------


VALUES = [7, -7, 7.5, -7.5, 0, 0.0, 3, 2.5, -2.5, -3]


@pytest.mark.parametrize(("a", "b"), list(itertools.product(VALUES, VALUES)))
def test_mod_floordiv_table(a, b):
    for prog in (
        lambda T: T.tensor([a]) % b,
        lambda T: T.tensor([a]) // b,
        lambda T: a % T.tensor([b]),
        lambda T: a // T.tensor([b]),
        lambda T: T.tensor([a]) % T.tensor([b]),
        lambda T: T.tensor([a]) // T.tensor([b]),
        lambda T: T.tensor([a]).remainder(b),
    ):
        same(prog)


@pytest.mark.parametrize("name", ["x%2", "2%x", "x//2", "2//x", "x%x", "c%x", "sign", "x//c"])
def test_mod_floordiv_sign_requires_grad_and_backward(name):
    exprs = {
        "x%2": lambda T, x: x % 2,
        "2%x": lambda T, x: 2 % x,
        "x//2": lambda T, x: x // 2,
        "2//x": lambda T, x: 2 // x,
        "x%x": lambda T, x: x % (x * 0.7),
        "c%x": lambda T, x: T.tensor([5.0, -7.0]) % x,
        "sign": lambda T, x: x.sign(),
        "x//c": lambda T, x: x // T.tensor([0.7, 0.3]),
    }

    def forward(T):
        x = T.tensor([1.5, -2.0], requires_grad=True)
        return exprs[name](T, x)

    def backward(T):
        x = T.tensor([1.5, -2.0], requires_grad=True)
        exprs[name](T, x).sum().backward()
        return x.grad

    same(forward)
    same(backward)


@pytest.mark.parametrize(
    "expr",
    [
        "T.tensor([1, 2]) ** -1",
        "T.tensor([1, 2]) ** -1.0",
        "T.tensor([0, 1, -1, 2, -2]) ** T.tensor([-1, -1, -1, -1, -2])",
        "T.tensor([0, 1, -1, 2, -2]) ** T.tensor([-2, -2, -2, -2, -3])",
        "T.tensor([1, 2]) ** T.tensor(-1)",
        "2 ** T.tensor([-1, 2])",
        "0 ** T.tensor([-1, 2])",
        "(-1) ** T.tensor([-1, -2, 3])",
        "1 ** T.tensor([-1, 2])",
        "T.tensor([1, 2]) ** 0",
        "T.tensor([1, 2]).pow(-1)",
        "T.tensor([1, 2]) ** True",
        "T.tensor([True]) ** -1",
        "T.tensor([1, 2]) ** 2.0",
        "2.5 ** T.tensor([-1, 2])",
        "T.tensor([1, 2], dtype=T.int32) ** T.tensor(2)",
        "T.tensor([3], dtype=T.int8) ** 5",
        "T.tensor([3], dtype=T.uint8) ** T.tensor([2])",
        "T.tensor([2.0]) ** -1",
        "T.tensor([0.0, 4.0]) ** -0.5",
    ],
)
def test_integer_powers(expr):
    same(lambda T: eval(expr))  # (a fixed expression from the list above)


# -- 6. dtype promotion
# ------------------------------------------------------------------------------


BINARY = {
    "+": operator.add,
    "*": operator.mul,
    "-": operator.sub,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
    "|": operator.or_,
    "&": operator.and_,
    "^": operator.xor,
    "==": operator.eq,
    "<": operator.lt,
}


def _operand(T, kind: str, dtype: str):
    """A tensor (dimensioned or 0-d) of `dtype`, or a Python scalar of `dtype`'s category."""
    if kind == "scalar":
        return {"bool": True, "uint8": 3, "int8": 3, "int32": 3, "int64": 3}.get(dtype, 2.5)
    vals = np.array([3, 1]) if dtype != "bool" else np.array([True, False])
    t = T.tensor(vals.astype(dtype), dtype=getattr(T, dtype))
    return t[0] if kind == "0d" else t


@given(
    st.sampled_from(DTYPES),
    st.sampled_from(DTYPES),
    st.sampled_from(["tensor", "0d"]),
    st.sampled_from(["tensor", "0d", "scalar"]),
    st.sampled_from(
        [
            "+",
            "*",
            "-",
            "/",
            "//",
            "%",
            "**",
            "|",
            "&",
            "^",
            "==",
            "<",
            "maximum",
            "where",
            "clamp",
            "cat",
        ]
    ),
    st.booleans(),
)
def test_binary_promotion_matches_torch(da, db, ka, kb, op, swap):
    if op == "cat" and (ka != "tensor" or kb != "tensor"):
        ka = kb = "tensor"

    def program(T):
        a, b = _operand(T, ka, da), _operand(T, kb, db)
        if op == "maximum":
            return T.maximum(a, b) if not isinstance(b, (int, float)) else T.maximum(a, T.tensor(b))
        if op == "where":
            return T.where(T.tensor([True, False]), a, b)
        if op == "clamp":
            return T.clamp(a, min=b)
        if op == "cat":
            return T.cat([a, b]), T.stack([a, b])
        return BINARY[op](b, a) if swap else BINARY[op](a, b)

    same(program)


@pytest.mark.parametrize(
    "case",
    [
        "f32/f64",
        "f64/f32",
        "f32/f16",
        "f32/i64",
        "none",
        "pw",
        "w",
        "f64/f32/pw16",
        "grads",
        "grads2",
        "bce-mixed",
        "bce-int",
    ],
)
def test_bce_dtypes(case):
    def program(T):
        F = T.nn.functional
        bce = F.binary_cross_entropy_with_logits
        x32, x64 = (
            T.tensor([0.5, -1.0], requires_grad=True),
            T.tensor([0.5, -1.0], dtype=T.float64, requires_grad=True),
        )
        t32, t64 = (
            T.tensor([1.0, 0.0], requires_grad=True),
            T.tensor([1.0, 0.0], dtype=T.float64, requires_grad=True),
        )
        progs = {
            "f32/f64": lambda: bce(x32, t64),
            "f64/f32": lambda: bce(x64, t32),
            "f32/f16": lambda: bce(x32, T.tensor([1.0, 0.0], dtype=T.float16)),
            "f32/i64": lambda: bce(x32, T.tensor([1, 0])),
            "none": lambda: bce(x32, t64, reduction="none"),
            "pw": lambda: bce(x32, t32, pos_weight=T.tensor([2.0, 1.0], dtype=T.float64)),
            "w": lambda: bce(x32, t32, weight=T.tensor([2.0, 1.0], dtype=T.float64)),
            "f64/f32/pw16": lambda: bce(x64, t32, pos_weight=T.tensor([2.0, 1.0], dtype=T.float16)),
            "bce-mixed": lambda: F.binary_cross_entropy(x32.sigmoid(), t64),
            "bce-int": lambda: F.binary_cross_entropy(x32.sigmoid(), T.tensor([1, 0])),
        }
        if case == "grads":
            loss = bce(x32, t64, pos_weight=T.tensor([2.0, 1.0]))
            loss.backward()
            return loss, x32.grad, t64.grad
        if case == "grads2":
            loss = bce(x64, t32)
            loss.backward()
            return loss, x64.grad, t32.grad
        return progs[case]()

    same(program)


# -- 7. requires_grad
# -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method",
    [
        "long",
        "int",
        "bool",
        "half",
        "double",
        "float",
        "to_i64",
        "type_i64",
        "to_u8",
        "sign",
        "abs",
        "neg",
    ],
)
def test_requires_grad_of_casts_and_piecewise_ops(method):
    def program(T):
        x = T.tensor([1.5, -2.0], requires_grad=True)
        calls = {
            "to_i64": lambda: x.to(T.int64),
            "type_i64": lambda: x.type(T.int64),
            "to_u8": lambda: x.to(T.uint8),
            "neg": lambda: -x,
        }
        return calls[method]() if method in calls else getattr(x, method)()

    same(program)


@pytest.mark.parametrize(
    "name",
    [
        "zero_",
        "fill_",
        "fill_t",
        "fill_grad",
        "fill_const_grad",
        "copy_",
        "copy_int",
        "copy_bcast",
        "copy_grad_src",
        "zero_const",
        "zero_part",
        "fill_part",
    ],
)
def test_overwrites_stay_in_the_graph(name):
    def program(T):
        x = T.tensor([1.5, -2.0], requires_grad=True)
        v = T.tensor(3.0, requires_grad=True)
        y = x * 2
        leaves = [x]
        if name == "zero_":
            y.zero_()
        elif name == "fill_":
            y.fill_(3)
        elif name == "fill_t":
            y.fill_(T.tensor(3.0))
        elif name == "fill_grad":
            y.fill_(v)
            leaves.append(v)
        elif name == "fill_const_grad":
            y = T.tensor([1.5, -2.0])
            y.fill_(v)
            leaves = [v]
        elif name == "copy_":
            y.copy_(T.tensor([5.0, 6.0]))
        elif name == "copy_int":
            y.copy_(T.tensor([1, 2]))
        elif name == "copy_bcast":
            y.copy_(T.tensor(7.0))
        elif name == "copy_grad_src":
            y.copy_(v)
            leaves.append(v)
        elif name == "zero_const":
            y = T.tensor([1.5, -2.0])
            y.zero_()
            return y
        elif name == "zero_part":
            y[0:1].zero_()
        elif name == "fill_part":
            y[1:].fill_(v)
            leaves.append(v)
        (y * T.tensor([3.0, 4.0])).sum().backward()
        return (y, *[leaf.grad for leaf in leaves])

    same(program)


@pytest.mark.parametrize(
    "expr",
    [
        "T.tensor([0.0, 1.0, -1.0]) / 0.0",
        "T.tensor([0.0]) ** -1",
        "T.zeros(0).mean()",
        "T.zeros(0, 3).mean(0)",
        "T.tensor([1.0, 2.0], dtype=T.float16).mean()",
        "T.tensor([3], dtype=T.uint8) + -1",
        "T.tensor([3], dtype=T.uint8) + 300",
        "T.tensor([3], dtype=T.int8) * 1000",
        "T.tensor([3], dtype=T.int8) * -1000",
        "T.tensor([3], dtype=T.uint8).clamp(min=-1)",
        "T.tensor([3], dtype=T.uint8) < -1",
        "T.ones(2, 2) @ T.ones(2, 2, dtype=T.float64)",
        "T.dot(T.tensor([1, 2]), T.tensor([1.5, 1.0]))",
        "T.tensor([1.0]) @ T.tensor([2.0])",
    ],
)
def test_numpy_habits(expr):
    same(lambda T: eval(expr), check_warnings=True)  # (a fixed expression from the list above)


# float16 reductions accumulate in float32 and round once, as PyTorch's: NumPy's float16 adds
# round at every step (2000 x 0.1 down a column gave 230.1, 5000 ones cumsum'd stopped at 2048)
F16_COL = "T.full((2000, 3), 0.1, dtype=T.float16)"


@pytest.mark.parametrize(
    "expr",
    [
        f"{F16_COL}.sum(0)",
        f"{F16_COL}.sum(-2, keepdim=True)",
        f"{F16_COL}.float().sum(0, dtype=T.float16)",
        f"{F16_COL}.nansum(0)",
        f"{F16_COL}.nanmean(0)",
        f"{F16_COL}.cumsum(0)[-3:]",
        f"{F16_COL}.float().cumsum(0, dtype=T.float16)[-3:]",
        "T.ones(5000, dtype=T.float16).cumsum(0)[-3:]",
        f"{F16_COL}.norm(dim=0)",
        f"{F16_COL}.log_softmax(0)[:2]",
        f"{F16_COL}.softmax(0)[:2]",
        f"T.linalg.vector_norm({F16_COL}, 1, 0)",
        f"T.linalg.vector_norm({F16_COL} * 300, 2, 0)",
        f"T.trapezoid({F16_COL}, dim=0)",
        f"F.batch_norm({F16_COL}, None, None, training=True)[:2]",
        f"F.cosine_similarity({F16_COL}, {F16_COL}, dim=0)",
    ],
)
def test_float16_reductions_accumulate_in_float32(expr):
    same(lambda T: eval(expr, {"T": T, "F": T.nn.functional}))  # (a fixed expression above)


# ... and so do the sums inside backward (broadcasting undone, expand, repeat, gather,
# index_select, linear's bias) and scatter_add; PyTorch's index_put_/put_ with accumulate=True
# and its 1-d index_add round at every add, and so does tinyconv there
F16_GRAD = [
    "w + T.ones(5000, 3, dtype=T.float16)",
    "w.expand(5000, 3)",
    "w.repeat(5000, 1)",
    "w.unsqueeze(1).gather(0, T.zeros(5000, 1, dtype=T.long))",
    "w.index_select(0, T.zeros(5000, dtype=T.long))",
    "w.expand(2, 3).index_select(0, T.zeros(5000, dtype=T.long))",
    "F.linear(T.ones(5000, 3, dtype=T.float16), T.ones(2, 3, dtype=T.float16), w[:2])",
    "w.expand(5000, 3).logsumexp(0)",
    "w.expand(5000, 3).softmax(0)",
    "(w * 0.5).expand(5000, 3).cumsum(0)",
    "w.expand(5000, 3).var(0)",
    "T.zeros(2, 3, dtype=T.float16).scatter_add(0, T.zeros(5000, 3, dtype=T.long), "
    "w.expand(5000, 3))",
    "T.zeros(1, dtype=T.float16).scatter_add(0, T.zeros(5000, dtype=T.long), w[0].expand(5000))",
    "T.zeros(2, 3, dtype=T.float16).scatter_reduce(0, T.zeros(5000, 3, dtype=T.long), "
    "w.expand(5000, 3), 'mean')",
    "T.zeros(2, 3, dtype=T.float16).index_add(0, T.zeros(5000, dtype=T.long), w.expand(5000, 3))",
    "T.zeros(2, dtype=T.float16).index_add(0, T.zeros(5000, dtype=T.long), w[0].expand(5000))",
    "T.zeros(2, 3, dtype=T.float16).index_put((T.zeros(5000, dtype=T.long),), w.expand(5000, 3), "
    "accumulate=True)",
    "T.zeros(2, 3, dtype=T.float16).put(T.zeros(5000, dtype=T.long), w[0].expand(5000), True)",
    "F.embedding_bag(T.zeros(5000, dtype=T.long), w.reshape(3, 1), T.tensor([0]), mode='sum')",
]


@pytest.mark.parametrize("expr", F16_GRAD)
def test_float16_sums_in_backward_and_scatter(expr):
    def program(T):
        w = T.ones(3, dtype=T.float16, requires_grad=True)
        out = eval(expr, {"T": T, "F": T.nn.functional, "w": w})  # (a fixed expression above)
        (out.float() * 0.5).sum().backward()
        return out, w.grad

    same(program)


@pytest.mark.parametrize(
    "expr",
    [
        "x.sum(dtype=T.int64)",
        "T.sum(x, 0, dtype=T.bool)",
        "x.prod(dtype=T.int64)",
        "x.cumsum(0, dtype=T.int32)",
        "x.cumprod(0, dtype=T.int64)",
        "x.nansum(dtype=T.int64)",
        "x.detach().sum(dtype=T.int64)",
        "x.sum(dtype=T.float64)",
        "x.cumsum(0, dtype=T.float64)",
    ],
)
def test_reduction_to_an_integer_dtype_of_a_grad_input(expr):
    # PyTorch raises (the result could not require grad); tinyconv returned an int64 tensor
    # that required grad (sum, prod) or a silently detached one (cumsum)
    def program(T):
        x = T.tensor([1.5, 2.0, -1.0], requires_grad=True)
        return eval(expr, {"T": T, "x": x})  # (a fixed expression above)

    same(program)


VIEW_DTYPE = [
    # view(dtype) reads the same bytes as another dtype (it was a value cast: 1.0 gave 1)
    "x.view(T.int32)",
    "x.view(T.float16)",
    "x.view(T.uint8)",
    "x.view(T.float64)",
    "x.view(T.float32)",
    "x[:, :2].view(T.float64)",
    "x.T.view(T.int32)",
    "x.T.view(T.float16)",
    "x[:, :3].view(T.float64)",
    "x[0, 0].view(T.int16)",
    "T.tensor([1065353216, -1082130432], dtype=T.int32).view(T.float32)",
    "T.tensor([0, 1, 2], dtype=T.uint8).view(T.bool)",
    "T.tensor([[1, 2, 3, 4]], dtype=T.int8).view(T.int32)",
    "x.view(T.int32).add_(1) is not None and x",  # the bytes are shared
]


@pytest.mark.parametrize("expr", VIEW_DTYPE)
def test_view_dtype_reinterprets(expr):
    def program(T):
        x = T.tensor([[1.0, -2.0, 0.5, 3.0]] * 3, requires_grad=True)
        if "add_" in expr:
            x = x.detach()
        return eval(expr, {"T": T, "x": x})  # (a fixed expression above)

    same(program)


WRITES_THROUGH = {
    # to(copy=True) copies even to the same dtype (it returned self: writes reached x)
    "to_copy": lambda T, x: x.to(T.float32, copy=True),
    "to_copy_positional": lambda T, x: x.to(T.float32, False, True),
    "to_tensor_copy": lambda T, x: x.to(x, copy=True),
    "to_no_copy": lambda T, x: x.to(T.float32, False, False),
    # a row of an expand()ed tensor has distinct elements: PyTorch writes through it
    "expand_row": lambda T, x: x[0].expand(2, 3)[1],
    "expand_rows": lambda T, x: x[:1].expand(3, 3)[1:2],
    "expand_row_t": lambda T, x: x[:, :1].expand(2, 3).T[1],
}


@pytest.mark.parametrize("name", sorted(WRITES_THROUGH))
def test_writes_through_or_not(name):
    def program(T):
        x = T.arange(6.0).reshape(2, 3)
        y = WRITES_THROUGH[name](T, x)
        y.mul_(10).add_(1)
        return x, y

    same(program)


def test_sort_of_a_0d_tensor():
    # the indices were 1-d (np.ascontiguousarray turns a 0-d array 1-d)
    same(lambda T: (*T.tensor(5.0).sort(), *T.tensor(5.0).sort(stable=True, descending=True)))


INDEX_LAYOUT = [
    # PyTorch lays an index result out by its operands' strides (TensorIterator): x.T[:, [2, 0]]
    # is contiguous there, so .view(-1) works; NumPy's copy had strides (1, 4), and view raised
    "x.T[:, [2, 0]]",
    "x.T[:, [2, 0]].view(-1)",
    "x.T[[1, 0]]",
    "x[:, ::2][:, [1, 0]]",
    "x.T[:, T.tensor([True, False, True])]",
    "y.permute(2, 0, 1)[:, [1, 0]]",
    "y.permute(2, 0, 1)[..., [1, 0]]",
    "y.transpose(1, 2)[:, :, [1, 0]]",
    "y.permute(2, 0, 1)[[1, 0], :, [2, 0]]",
    "c[:, [0, 1]]",
    "c[..., [1, 0]]",
    "c[:, :, [1, 0]]",
    "c[[1, 0]]",
    "c[0, :, [1, 0]]",
]


@pytest.mark.parametrize("expr", INDEX_LAYOUT)
def test_advanced_index_layout(expr):
    def program(T):
        x = T.arange(12.0).reshape(3, 4)
        y = T.arange(24.0).reshape(2, 3, 4)
        c = T.arange(120.0).reshape(2, 3, 4, 5).contiguous(memory_format=T.channels_last)
        r = eval(expr, {"T": T, "x": x, "y": y, "c": c})  # (a fixed expression above)
        return r, r.stride(), r.is_contiguous()

    same(program)


F16_NUMBER = [
    # PyTorch's CPU mul and div of a float16 tensor by a Python number keep the number in float32
    # and round once (tinyconv rounded the number to float16 first: x * 0.1 an ulp off in a third
    # of the elements, x / 1e5 zero, x * 1e5 inf); add and sub round the number to float16;
    # number / x is x.reciprocal() * number; x ** number is NumPy's float16 power
    "x * 0.1",
    "0.7 * x",
    "x / 3.3",
    "x / 1e5",
    "x * 1e5",
    "70000 * x",
    "2.5 / x",
    "x + 0.1",
    "1e-3 - x",
    "x ** 3",
    "x ** -2",
    "x.abs() ** 0.1",
    "T.mul(x, 0.7)",
    "x.div(0.7)",
    "x.clone().mul_(0.1)",
    "x.clone().div_(3.3)",
]


@pytest.mark.parametrize("expr", F16_NUMBER)
def test_float16_with_a_python_number(expr):
    values = np.random.default_rng(0).standard_normal(2000).astype(np.float16)

    def program(T):
        x = T.tensor(values)
        w = T.tensor(values, requires_grad=True)
        y = eval(expr, {"T": T, "x": w})  # (a fixed expression above)
        (y.float() * 0.3).sum().backward()
        return eval(expr, {"T": T, "x": x}), w.grad if "**" not in expr else y

    same(program)


TIE_OPS = {
    "maximum": lambda T, a, b: T.maximum(a, b),
    "minimum": lambda T, a, b: T.minimum(a, b),
    "clamp": lambda T, a, b: a.clamp(b, b + 0.5),
    "clamp_crossed": lambda T, a, b: a.clamp(b, b - 0.5),
    "mod": lambda T, a, b: a % (b + 3),
    "pow": lambda T, a, b: (a + 2) ** b,
    "pow_abs": lambda T, a, b: a.abs() ** (b + 1),
    "norm": lambda T, a, b: (a * b).norm(1.5, dim=0),
    "std": lambda T, a, b: (a * b).std(0),
    "max": lambda T, a, b: (a * b).max(),
    "amax": lambda T, a, b: (a * b).amax(1),
    "max_dim": lambda T, a, b: (a * b).max(1).values,
    "relu_sqrt": lambda T, a, b: (a * b).relu() ** 0.5,
    "abs": lambda T, a, b: (a * b).abs(),
    "sign": lambda T, a, b: (a * b).sign(),
    "div": lambda T, a, b: a / (b + 3),
    "rdiv": lambda T, a, b: 3 / (a + b + 5),
    "where": lambda T, a, b: T.where(a > b, a, b),
    "prod": lambda T, a, b: (a * b).prod(1),
    "var": lambda T, a, b: (a * b).var(1, correction=0),
}


@pytest.mark.parametrize("name", sorted(TIE_OPS))
@given(st.lists(st.sampled_from([-1.0, 0.0, 0.5, 2.0]), min_size=9, max_size=9), st.booleans())
def test_gradients_with_ties_and_zeros_match_torch(name, vals, row):
    """Values from a small grid, so ties, zeros and crossed bounds come up often."""
    a = np.array(vals[:6]).reshape(2, 3)
    b = np.array(vals[6:]) if row else np.array(vals[3:9]).reshape(2, 3)
    same(grads_of(TIE_OPS[name], a, b))


@pytest.mark.parametrize("p", [0.5, -0.5, -1, -2, 2, 3, 1.5])
def test_powers_at_signed_zeros(p):
    same(grads_of(lambda T, x: x**p, [-0.0, 0.0, 4.0]))


# -- reductions of unsigned and bool tensors accumulate in int64 ------------------------------


@pytest.mark.parametrize(
    "expr",
    [
        "T.tensor([200, 100], dtype=T.uint8).sum()",
        "T.tensor([[200, 100]], dtype=T.uint8).sum(1, keepdim=True)",
        "T.sum(T.tensor([[1, 2]], dtype=T.uint8), 0)",
        "T.tensor([20, 30], dtype=T.uint8).prod()",
        "T.tensor([[20, 30]], dtype=T.uint8).prod(1)",
        "T.tensor([1, 2], dtype=T.uint8).nansum()",
        "T.tensor([True, True]).prod()",
        "T.tensor([200, 100], dtype=T.uint8).sum(dtype=T.uint8)",
        "T.tensor([200, 100], dtype=T.uint8).cumsum(0)",
    ],
)
def test_unsigned_reductions_give_int64(expr):
    # NumPy sums uint8 in uint64; PyTorch in int64
    same(lambda T: eval(expr))


# -- div(rounding_mode=) ----------------------------------------------------------------------

ROUNDED_DIVS = [
    "T.tensor([-7, 7, -7, 7, 6]).div(T.tensor([2, -2, -2, 2, 3]), rounding_mode=MODE)",
    "T.tensor([-7.5, 7.0, -7.0, 7.25]).div(T.tensor([2, -2, -2, 2]), rounding_mode=MODE)",
    "T.tensor([1, 2], dtype=T.int8).div(2, rounding_mode=MODE)",
    "T.tensor([1, 2], dtype=T.uint8).div(T.tensor(-2), rounding_mode=MODE)",
    "T.tensor([1, 2]).div(2.5, rounding_mode=MODE)",
    "T.tensor([-1.0, 2.0, 0.0]).div(0, rounding_mode=MODE)",
    "T.tensor([1, 2]).div(0, rounding_mode=MODE)",
    "T.tensor([True]).div(True, rounding_mode=MODE)",
    "T.tensor([-7.0], dtype=T.float64).div(0.1, rounding_mode=MODE)",
    "T.div(3, T.tensor([2, -2]), rounding_mode=MODE)",
    "T.divide(T.tensor([5.0, -5.0]), 3, rounding_mode=MODE)",
    "T.tensor([-7, 7]).div_(2, rounding_mode=MODE)",
    "T.tensor([-7.0, 7.0]).div_(T.tensor(2.0, dtype=T.float64), rounding_mode=MODE)",
    "T.tensor([3]).div(2, rounding_mode='round')",
]


@pytest.mark.parametrize("mode", ["floor", "trunc"])
@pytest.mark.parametrize("expr", ROUNDED_DIVS)
def test_div_rounding_mode(expr, mode):
    same(lambda T: eval(expr, {"T": T, "MODE": mode}))


@pytest.mark.parametrize("mode", ["floor", "trunc"])
def test_div_rounding_mode_gradient_is_zero(mode):
    # piecewise constant: PyTorch gives both operands a zero gradient (DivBackward2), where
    # `//` raises in backward
    def prog(T, x, y):
        out = x.div(y, rounding_mode=mode)
        assert out.grad_fn.name() == "DivBackward2"
        return out

    same(grads_of(prog, [[-3.0, 2.5, 7.0]], [[2.0], [-3.0]]))


def test_transpose_of_a_zero_d_tensor():
    same(grads_of(lambda T, x: x.transpose(0, -1) * 2, 5.0))
    same(lambda T: T.tensor(5.0).transpose(0, 1))


# -- median of every element: infinities, integer ties ----------------------------------------

INF = float("inf")


@pytest.mark.parametrize(
    "values",
    [
        [1.0, INF, -INF],
        [1.0, INF, INF],
        [-INF, -INF, INF],
        [1.0, 1.0, 2.0, 0.0, 1.0],
        [0.1, 0.1, 0.1, 5.0, 0.0],
        [0.7] * 7 + [0.0],
        [-0.0, 0.0, 1.0],
        [2.0, -1.0, 3.0, 0.5],
    ],
)
def test_median_of_all_elements(values):
    # the median is one of the values exactly, its ties share the gradient; an inf elsewhere
    # made it nan (inf * a zero weight)
    same(grads_of(lambda T, x: x.median(), values))
    same(grads_of(lambda T, x: x.nanmedian(), [float("nan"), *values]))


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
@pytest.mark.parametrize("values", [[1, 1, 2], [3, 3, 2, 3], [5, 1, 4, 2]])
def test_median_of_integers(values, dtype):
    # ties of an integer tensor gave 0 (the tie weights 1/k were cast to the integer dtype)
    same(lambda T: (T.tensor(values, dtype=getattr(T, dtype)).median(),))
    same(lambda T: (T.tensor(values, dtype=getattr(T, dtype)).nanmedian(),))


# -- activations that select: a NaN input stays NaN --------------------------------------------

NAN_ACTS = {
    "threshold": lambda T, x: T.nn.functional.threshold(x, 0.5, 2.0),
    "threshold inplace": lambda T, x: T.nn.functional.threshold(x * 1, 0.5, 2.0, inplace=True),
    "softshrink": lambda T, x: T.nn.functional.softshrink(x, 0.5),
    "hardshrink": lambda T, x: T.nn.functional.hardshrink(x, 0.5),
    "nn.Threshold": lambda T, x: T.nn.Threshold(-1.0, 7.0)(x),
    "nn.Softshrink": lambda T, x: T.nn.Softshrink(1.0)(x),
}


@pytest.mark.parametrize("name", sorted(NAN_ACTS))
def test_selecting_activations_at_nan_and_inf(name):
    values = [INF, -INF, 0.0, 0.5, -0.5, 6.0, -1.0, 1.0, 0.25]
    same(grads_of(NAN_ACTS[name], values))
    # values only at NaN: PyTorch's own gradient there depends on whether the element fell in
    # a SIMD block (0) or the scalar tail (1)
    same(lambda T: NAN_ACTS[name](T, T.tensor([float("nan"), *values], dtype=T.float64)))


# -- class-index losses: an ignored sample's gradient is exactly 0 ----------------------------

LOGITS = [[0.5, -1.0, 2.0, 0.25, -0.5], [1.5, 0.0, -2.0, 0.75, 1.0], [-0.5, 0.5, 1.0, -1.5, 0.0]]


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("targets", [[3, 3, 3], [3, 1, 3], [0, 2, 4]])
@pytest.mark.parametrize("scale", [1.0, float("inf")])
def test_cross_entropy_ignored_samples(targets, reduction, smoothing, scale):
    # every sample ignored (the mean divides by 0), or an inf upstream gradient: PyTorch's
    # gradient is 0 at the ignored samples; the mask was multiplied in (0 * inf = nan)
    def prog(T, x):
        t = T.tensor(targets)
        loss = T.nn.functional.cross_entropy(
            x, t, ignore_index=3, reduction=reduction, label_smoothing=smoothing
        )
        nll = T.nn.functional.nll_loss(x, t, ignore_index=3, reduction=reduction)
        return T.stack([loss, nll]) * scale

    same(grads_of(prog, LOGITS))


def test_nll_loss_ignored_samples_double_backward():
    torch_ = pytest.importorskip("torch")
    outs = []
    for T in (torch_, tinyconv):
        x = T.tensor(LOGITS, dtype=T.float64, requires_grad=True)
        loss = T.nn.functional.nll_loss(x * x, T.tensor([3, 1, 3]), ignore_index=3)
        (g,) = T.autograd.grad(loss * float("inf"), x, create_graph=True)
        (gg,) = T.autograd.grad(g.sum(), x)
        outs.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_array_equal(outs[1][0], outs[0][0])
    np.testing.assert_array_equal(outs[1][1], outs[0][1])


# -- augmented assignments write in place ------------------------------------------------------

AUGMENTED = [
    "x //= 2",
    "x //= 2.5",
    "x %= 3",
    "x %= -2.5",
    "x **= 2",
    "x **= 0.5",
    "x &= 3",
    "x |= 8",
    "x ^= T.tensor([1, 1])",
    "x.floor_divide_(2)",
    "x.remainder_(-2)",
    "x.bitwise_and_(T.tensor([1, 3]))",
]


@pytest.mark.parametrize("dtype", ["int64", "float32", "bool"])
@pytest.mark.parametrize("stmt", AUGMENTED)
def test_augmented_assignment_writes_in_place(stmt, dtype):
    # `x //= y` without __ifloordiv__ is `x = x // y`: other names for x (here y, a view) kept
    # the old values, and an int tensor became a float one where PyTorch raises
    def prog(T):
        x = T.tensor([5, -7], dtype=getattr(T, dtype))
        alias, view = x, x[1:]
        exec(stmt, {"T": T, "x": x})
        return alias, view

    same(prog)


@pytest.mark.parametrize("stmt", ["z //= 2", "z %= 2", "z **= 2", "z **= w"])
def test_augmented_assignment_gradients(stmt):
    def prog(T, x, w):
        z = x * 1
        alias = z
        env = {"z": z, "w": w}
        exec(stmt, env)
        assert env["z"] is alias
        return alias

    same(grads_of(prog, [5.0, 7.0], [2.0, 3.0]))


# -- cat: PyTorch's legacy 1-D empty tensor joins anything --------------------------------------

LEGACY_CATS = [
    "T.cat([T.tensor([]), x])",
    "T.cat([x, T.tensor([]), x], dim=1)",
    "T.cat([x, e, x], dim=-1)",
    "T.cat([e, x, e])",
    "T.cat([T.tensor([]), x.float()])",
    "T.cat([T.tensor([]).long(), T.tensor([[1, 2]], dtype=T.int8)])",
    "T.cat([T.tensor([]), T.tensor([[1, 2]])])",
    "T.cat([T.zeros(0, 3), T.tensor([])])",
    "T.cat([T.tensor([]), x], dim=2)",
    "T.cat([T.tensor([]), T.tensor(1.0)])",
    "T.cat([T.tensor([]), x, T.ones(3, 2)])",
    "T.cat([T.tensor([]), x, T.ones(3)])",
]


@pytest.mark.parametrize("expr", LEGACY_CATS)
def test_cat_with_a_legacy_empty_tensor(expr):
    # `out = cat([out, batch])` from out = tensor([]), a common accumulation loop
    def prog(T, x, e):
        return eval(expr, {"T": T, "x": x, "e": e})

    same(grads_of(prog, [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], np.zeros(0)))


# -- ops whose result is always floating: promote first, then int -> default float ---------------

FLOAT_RESULT_OPS = {
    "atan2": lambda T, a, b: T.atan2(a, b),
    "copysign": lambda T, a, b: T.copysign(a, b),
    "xlogy": lambda T, a, b: T.xlogy(a, b if b.dtype == T.bool else b.abs()),
}


@pytest.mark.parametrize("op", sorted(FLOAT_RESULT_OPS))
@pytest.mark.parametrize(
    ("sa", "sb"), [((3,), ()), ((), (3,)), ((2, 1), (3,)), ((2, 3), (2, 3))], ids=str
)
@pytest.mark.parametrize(
    ("da", "db"),
    [
        ("int64", "float64"),
        ("float64", "int64"),
        ("float32", "float64"),
        ("float64", "float32"),
        ("int32", "int64"),
        ("float32", "bool"),
    ],
)
def test_float_result_ops_promote_like_pytorch(op, sa, sb, da, db):
    # atan2(int (n,), 0-d float64) was float32 (the int went to float32 before promoting);
    # copysign took self's dtype alone
    va = np.arange(1, 1 + int(np.prod(sa))).reshape(sa) * 0.75 - 1.0
    vb = np.arange(1, 1 + int(np.prod(sb))).reshape(sb) * -0.5 + 1.25

    def prog(T):
        def make(v, dt):
            if dt == "bool":
                return T.tensor(v > 0)
            if dt.startswith("int"):
                return T.tensor(np.round(v).astype(np.int64), dtype=getattr(T, dt))
            return T.tensor(v, dtype=getattr(T, dt), requires_grad=True)

        a, b = make(va, da), make(vb, db)
        out = FLOAT_RESULT_OPS[op](T, a, b)
        leaves = [x for x in (a, b) if x.requires_grad]
        grads = T.autograd.grad(out.sum(), leaves, allow_unused=True) if leaves else ()
        return (out, *grads)

    same(prog)


# -- creation: NumPy scalars and tensors inside lists keep their dtype ---------------------------

CREATIONS = [
    "T.tensor([np.float64(1.5), 2.0])",
    "T.tensor([2.0, np.float64(1.5)])",
    "T.tensor([np.float32(1.5), np.float64(2.0)])",
    "T.tensor([np.int32(1), 2])",
    "T.tensor([np.int32(1), np.int8(2)])",
    "T.tensor([np.int16(1), 2.5])",
    "T.tensor([np.float16(1), 2.5])",
    "T.tensor([np.float16(1), 2])",
    "T.tensor([[np.float64(1)], [2.5]])",
    "T.tensor([np.array([1.5], dtype=np.float32), np.array([2.5])])",
    "T.tensor([np.uint8(1), 2])",
    "T.tensor([np.float64(1.5), True])",
    "T.tensor([T.tensor(1.5, dtype=T.float64), 2.0])",
    "T.tensor([T.tensor(1, dtype=T.int32), 2])",
    "T.as_tensor([np.float64(1.5)])",
    "T.tensor([np.float64(1.5)], dtype=T.float32)",
    "T.tensor([1.5, 2])",
    "T.arange(T.tensor(3))",
    "T.arange(T.tensor(3.0))",
    "T.arange(0, T.tensor(3))",
    "T.arange(np.int64(3))",
    "T.full((2,), T.tensor(1))",
    "T.full((2,), T.tensor(1.5, dtype=T.float64))",
]


@pytest.mark.parametrize("expr", CREATIONS)
def test_creation_dtypes(expr):
    # tensor([np.mean(a), np.std(a)]) is float64 in PyTorch (was float32); arange(t.sum()) of
    # an int tensor is int64 (was float32)
    same(lambda T: eval(expr, {"T": T, "np": np}))


# -- what a product saves: an input that no gradient needs may change in place -------------------

PRODUCTS = {
    "linear x": lambda T, a, c: (T.nn.functional.linear(a, c), a),
    "linear w": lambda T, a, c: (T.nn.functional.linear(c, a), a),
    "linear x bias": lambda T, a, c: (T.nn.functional.linear(a, c, c[0]), a),
    "einsum ij,kj": lambda T, a, c: (T.einsum("ij,kj->ik", a, c), a),
    "einsum ij,kj second": lambda T, a, c: (T.einsum("ij,kj->ik", c, a), a),
    "einsum ii": lambda T, a, c: (T.einsum("ij->j", a), a),
    "einsum three": lambda T, a, c: (T.einsum("ij,kj,kl->il", a, c, c.t()), a),
    "matmul": lambda T, a, c: (a @ c.t(), a),
    "linear modify weight": lambda T, a, c: (T.nn.functional.linear(a, c), c),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_products_save_only_what_their_gradients_need(name):
    # PyTorch's mm saves x only for dW and W only for dx: writing into an input whose partner
    # needs no gradient is fine there (tinyconv's linear and einsum saved every operand and
    # raised in backward)
    def prog(T):
        a0 = T.tensor(np.linspace(0.3, 1.5, 12).reshape(3, 4), requires_grad=True)
        c = T.tensor(np.linspace(-1.0, 1.2, 12).reshape(3, 4))
        out, target = PRODUCTS[name](T, a0 * 1, c)
        target.add_(0.5)
        out.sum().backward()
        return out, a0.grad

    same(prog)


# -- == and != with objects that are not numbers or tensors --------------------------------------


@pytest.mark.parametrize(
    "expr",
    [
        "t == None",
        "t != None",
        "t == 'a'",
        "t != 'a'",
        "t in [None, 'a']",
        "None == t",
        "t == [1.0, 2.0]",
        "t != (1.0, 0.0)",
        "t == np.float64(2.0)",
        "t.eq(None)",
        "T.eq(t, None)",
    ],
)
def test_equality_with_other_objects(expr):
    # `if mask == None:` is common in model code; PyTorch compares by identity (False)
    same(lambda T: eval(expr, {"T": T, "np": np, "t": T.tensor([1.0, 2.0])}))


# -- add/sub alpha and masked_fill values with integer tensors -----------------------------------

INT_ARGUMENTS = [
    "T.tensor([1, 2]).add(T.tensor([1, 2]), alpha=2.5)",
    "T.tensor([1, 2]).add(2, alpha=2.5)",
    "T.tensor([1.0, 2.0]).add(T.tensor([1, 2]), alpha=2.5)",
    "T.tensor([1, 2]).add(T.tensor([1.0, 2.0]), alpha=2.5)",
    "T.tensor([1, 2]).sub(1, alpha=True)",
    "T.tensor([True]).add(T.tensor([True]), alpha=True)",
    "T.tensor([1, 2]).sub(T.tensor([1, 2]), alpha=3)",
    "T.add(T.tensor([1, 2]), T.tensor([1, 2]), alpha=0.5)",
    "T.tensor([1, 2]).add_(T.tensor([1, 2]), alpha=2.5)",
    "T.tensor([1.0, 2.0]).add_(T.tensor([1, 2]), alpha=2.5)",
    "T.tensor([1, 2]).masked_fill(M, 2.5)",
    "T.tensor([1, 2]).masked_fill(M, -2.5)",
    "T.tensor([1, 2], dtype=T.int8).masked_fill(M, 2.5)",
    "T.tensor([1, 2], dtype=T.uint8).masked_fill(M, -2.5)",
    "T.tensor([1, 2], dtype=T.uint8).masked_fill(M, -0.5)",
    "T.tensor([1, 2], dtype=T.uint8).masked_fill(M, 255.5)",
    "T.tensor([1, 2]).masked_fill(M, 1e20)",
    "T.tensor([1, 2]).masked_fill(M, float('nan'))",
    "T.tensor([True, False]).masked_fill(M, 2.5)",
    "T.tensor([1, 2]).masked_fill_(M, 2.7)",
]


@pytest.mark.parametrize("expr", INT_ARGUMENTS)
def test_integer_tensors_with_float_arguments(expr):
    # add(alpha=2.5) of int tensors quietly gave float32 (PyTorch raises); masked_fill of an int
    # tensor with 2.5 raised (PyTorch truncates a value that fits)
    same(lambda T: eval(expr, {"T": T, "M": T.tensor([True, False])}))


@pytest.mark.parametrize(
    "expr",
    [
        "T.std(x, False)",
        "T.var(x, True)",
        "x.std(False)",
        "x.var(True)",
        "x.var(0, False)",
        "x.std(1, True, True)",
    ],
)
def test_var_std_unbiased_positional(expr):
    # PyTorch's var(unbiased) overload: a bool first argument is `unbiased`, not a dim
    same(grads_of(lambda T, x: eval(expr, {"T": T, "x": x}), [[1.0, 2.0], [3.0, 5.0]]))


SHIFTS = [
    "T.tensor([1, 2]) << 1",
    "T.tensor([-8, 2]) >> 1",
    "1 << T.tensor([1, 2])",
    "64 >> T.tensor([1, 2])",
    "T.tensor([1, 2], dtype=T.int8) << 7",
    "T.tensor([1, 2]) << T.tensor([1, 2], dtype=T.int8)",
    "T.tensor([True]) << 1",
    "T.tensor([1.0]) << 1",
    "T.tensor([1, 2, -8]) >> 70",
    "T.tensor([1, 2]) << -1",
    "T.tensor([1, 2], dtype=T.uint8) << 7",
    "T.bitwise_left_shift(T.tensor([1, 2]), T.tensor([3]))",
    "T.bitwise_right_shift(16, T.tensor([1, 2]))",
    "T.tensor([1, 2]).bitwise_left_shift_(2)",
]


@pytest.mark.parametrize("expr", SHIFTS)
def test_bit_shifts(expr):
    same(lambda T: eval(expr, {"T": T}))


@pytest.mark.parametrize("stmt", ["x <<= 2", "x >>= 1"])
def test_shift_assignments_write_in_place(stmt):
    def prog(T):
        x = T.tensor([5, -7])
        alias = x
        exec(stmt, {"x": x})
        return (alias,)

    same(prog)


POOL_EMPTY_CASES = [
    ("max_pool1d", (0, 1), (2, 1, 1)),
    ("max_pool1d", (0, 3, 4), (2,)),
    ("max_pool1d", (2, 0, 4), (2,)),
    ("avg_pool1d", (0, 1), (2, 1, 1)),
    ("avg_pool1d", (2, 0, 4), (2,)),
    ("max_pool2d", (0, 3, 4), (2,)),
    ("max_pool2d", (0, 3, 4, 4), (2,)),
    ("max_pool2d", (2, 0, 4, 4), (2,)),
    ("avg_pool2d", (2, 0, 4, 4), (2,)),
    ("avg_pool2d", (0, 4, 4), (2,)),
    ("lp_pool1d", (0, 4), (2.0, 2)),
    ("adaptive_avg_pool1d", (0, 4), (2,)),
    ("adaptive_avg_pool2d", (2, 0, 4, 4), (2,)),
    ("adaptive_max_pool1d", (2, 0, 4), (2,)),
]


@pytest.mark.parametrize(("name", "shape", "args"), POOL_EMPTY_CASES)
def test_pooling_an_input_empty_outside_the_batch_raises_where_pytorch_does(name, shape, args):
    # (found by the differential fuzzer: max_pool1d of a (0, 1) input returned an empty result)
    torch = pytest.importorskip("torch")

    def outcome(T):
        try:
            return tuple(getattr(T.nn.functional, name)(T.zeros(shape), *args).shape)
        except RuntimeError:
            return "raises"

    assert outcome(tinyconv) == outcome(torch)


def test_adaptive_avg_pool_refuses_backward_after_its_input_changed_in_place():
    # PyTorch's node saves its input (not for a 1x1 output, a mean): an in-place change
    # before backward raises there, and here
    torch = pytest.importorskip("torch")
    for T in (tinyconv, torch):
        x = T.ones(1, 2, 4, 4, requires_grad=True)
        h = x * 1
        y = T.nn.functional.adaptive_avg_pool2d(h, 2)
        h.add_(1)
        with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
            y.sum().backward()
        ones = x * 1
        z = T.nn.functional.adaptive_avg_pool2d(ones, 1)
        ones.add_(1)
        z.sum().backward()  # (a mean saves no input)
        assert x.grad is not None


# -- ranges: arange and linspace bit for bit (values near 0 decide how a tensor prints) ----------

RANGES = [
    ("arange", -1, 1, 0.1),
    ("arange", -0.5, 0.5, 0.1),
    ("arange", -3, 3, 0.2),
    ("arange", 0, 1000.7, 0.7),
    ("arange", 9.12, 100.3, 1.6198),
    ("arange", 5, -5, -0.3),
    ("linspace", -1, 1, 7),
    ("linspace", -1, 1, 11),
    ("linspace", -3.14159, 3.14159, 200),
    ("linspace", 2.5, -7.25, 3001),
    ("linspace", 0, 1, 1),
    ("linspace", 0, 1, 0),
    ("linspace", 0, -3, 7),
    ("arange", 0, -3, -0.5),
]


@given(
    case=st.sampled_from(RANGES),
    dtype=st.sampled_from(["float32", "float64", "int64", "float16", None]),
    shift=st.floats(-3, 3, allow_nan=False),
)
def test_ranges_are_pytorchs_bit_for_bit(case, dtype, shift):
    # (found by the program fuzzer: print(torch.arange(-1, 1, 0.1)) shows 5.5511e-17 where
    # NumPy's start + i * step gives -2.2204e-16; linspace(-1, 1, 7)'s middle is -2.9802e-08)
    fn, a, b, n = case
    a = a + shift
    if dtype == "float16" and fn == "arange":
        return  # (float16 arange: PyTorch's vector kernel not modelled; values agree to rounding)

    def make(T):
        try:
            return getattr(T, fn)(a, b, n, dtype=None if dtype is None else getattr(T, dtype))
        except (RuntimeError, ValueError) as e:  # (a range against its step's sign, ...)
            return type(e)

    got, want = make(tinyconv), make(torch)
    if isinstance(want, type) or isinstance(got, type):
        assert got is want
        return
    assert _dtype_name(got) == _dtype_name(want)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    # (a -0. prints as "-0.": linspace(0, -3, 7) started with one)
    np.testing.assert_array_equal(np.signbit(got.numpy()), np.signbit(want.numpy()))


@pytest.mark.parametrize(
    "expr",
    [
        "T.arange(0.5, 5, -1)",
        "T.arange(5, 0)",
        "T.arange(0, 5, 0)",
        "T.arange(0, float('inf'))",
        "T.arange(0, 5, dtype=T.bool)",
        "T.arange(0, 5, 0.5, dtype=T.int64)",
        "T.arange(-3, 3, 0.5, dtype=T.int32)",
        "T.arange(9.12, 100.3, 1.62, dtype=T.int64)",
        "T.arange(0.5, 5, 1, dtype=T.int64)",
        "T.linspace(0, 1, -1)",
        "T.linspace(0, 10, 3, dtype=T.bool)",
        "T.linspace(2.5, 1, 0, dtype=T.bool)",
        "T.linspace(2.5, 1, 1, dtype=T.bool)",
        "T.linspace(-1.7, 5.9, 4, dtype=T.int64)",
        "T.linspace(0, 1, 4, dtype=T.uint8)",
    ],
)
def test_range_arguments_as_pytorch(expr):
    # raises where PyTorch raises (a step against the direction of the range returned an
    # empty tensor); integer dtypes truncate float arguments as PyTorch does
    same(lambda T: eval(expr, {"T": T}))


@given(
    vals=st.lists(st.floats(-30, 30, allow_nan=False, width=32), min_size=1, max_size=40),
    exponent=st.sampled_from([3, 3.0, -2, 1.5, 2.5, 0.3333, -3, "tensor"]),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_scalar_powers_round_as_pytorch(vals, exponent, dtype):
    # PyTorch multiplies for x ** 3 and x ** -2 (bit for bit); other float32 powers are within
    # an ulp of the exact value, as the float64 power rounded once is (NumPy's float32 pow was
    # an ulp off in a quarter of x ** 3's elements)
    def make(T):
        x = T.tensor(vals, dtype=getattr(T, dtype)).requires_grad_()
        e = exponent
        if e == "tensor":
            e = T.tensor([3.0], dtype=getattr(T, dtype))
        elif isinstance(e, float) and e != 3.0:
            x = x.abs() + 0.5
        y = x**e
        y.sum().backward()
        return y, x.grad if x.is_leaf else None

    (y_c, g_c), (y_t, g_t) = make(tinyconv), make(torch)
    if exponent in (3, 3.0, -2):  # multiplication: bit for bit
        np.testing.assert_array_equal(y_c.detach().numpy(), y_t.detach().numpy())
    else:  # libm against SLEEF: within an ulp
        np.testing.assert_array_max_ulp(y_c.detach().numpy(), y_t.detach().numpy(), 1)
    if g_t is not None:
        np.testing.assert_allclose(
            g_c.numpy(), g_t.numpy(), rtol=1e-6 if dtype == "float32" else 1e-14
        )


def test_xlogy_is_zero_where_x_is_zero_and_y_negative():
    # (found by the program fuzzer: xlogy(bool mask, -2.25) gave nan where the mask is False)
    def run(T):
        x = T.tensor([0.0, 0.0, 0.0, 1.0, 0.0, 2.0], dtype=T.float64, requires_grad=True)
        y = T.tensor([2.0, -1.0, 0.0, -1.0, float("nan"), 0.0], dtype=T.float64)
        y.requires_grad_()
        z = T.xlogy(x, y)
        z.sum().backward()
        flags = T.tensor([False, True])
        return [z, x.grad, y.grad, T.xlogy(flags, -2.25), T.special.xlogy(x.detach(), -1.0)]

    for got, want in zip(run(tinyconv), run(torch), strict=True):
        assert _dtype_name(got) == _dtype_name(want)
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())


@pytest.mark.parametrize(
    "expr",
    [
        "T.addcmul(T.tensor([1, 2]), T.tensor([3, 4]), T.tensor([5, 6]), value=1.7)",
        "T.addcmul(T.tensor([1, 2]), T.tensor([3, 4]), T.tensor([5, 6]), value=-1.7)",
        "T.tensor([[-4, 1, 6]], dtype=T.int32).addcmul_(T.tensor([2]), T.tensor([3]), value=0.5)",
        "T.tensor([True, False]).logit()",
        "T.tensor([1, 0, 2]).logit()",
        "T.tensor([0, 1], dtype=T.uint8).logit(eps=0.1)",
    ],
)
def test_integer_tensors_with_float_values_as_pytorch(expr):
    # (found by the program fuzzer: addcmul_ of an int tensor with value=0.5 raised, PyTorch
    # truncates the value; logit of a bool tensor raised, PyTorch gives floats)
    same(lambda T: eval(expr, {"T": T}))


@pytest.mark.parametrize(
    "expr",
    [
        "T.tensor([[-2.0, 1.0, 0.5, 1.5]], dtype=T.float64) % T.tensor([-0.5], dtype=T.float64)",
        "T.tensor([-2.0, 2.0, -0.0, 0.0]) % 1.0",
        "T.tensor([-2, 6, 0]) % T.tensor(1.0, dtype=T.float16)",
        "-0.0 % T.tensor([5, -3, -1])",
        "T.remainder(T.tensor([-3.0, 3.0, 4.5]), T.tensor([-1.5, 1.5, -1.5]))",
        "T.nansum(T.tensor([[2.0], [-0.5]]), dtype=T.int16)",
        "T.nansum(T.tensor([[2.0], [-0.5]]), 0, dtype=T.int16)",
    ],
)
def test_remainder_zero_signs_and_nansum_dtype(expr):
    # (found by the program fuzzer: print(x % y) showed 0. where PyTorch shows -0.: a zero
    # remainder has the dividend's sign there; nansum(dtype=int16) gave int64)
    def run(T):
        out = eval(expr, {"T": T})
        return out, T.signbit(out) if out.is_floating_point() else out

    same(run)


@pytest.mark.parametrize(
    "expr",
    [
        "x.max(1)",
        "T.max(x, dim=0, keepdim=True)",
        "x.min(-1)",
        "T.sort(x, descending=True)",
        "x.topk(1)",
        "T.kthvalue(x, 1)",
        "x.median(0)",
        "T.nanmedian(x, 1)",
        "x.mode(0)",
        "T.cummax(x, 1)",
        "x.cummin(0)",
        "T.aminmax(x)",
        "x.aminmax(dim=0)",
        "x.max()",
    ],
)
def test_named_results_print_as_pytorchs(expr):
    # (found by the program fuzzer: print(torch.max(x, 1)) showed MaxMin(values=..., ...)
    # where PyTorch prints torch.return_types.max(\nvalues=...,\nindices=...))
    def run(T):
        x = T.tensor([[1.0, 3.0, -2.0], [2.0, 0.0, 5.0]])
        r = eval(expr, {"T": T, "x": x})
        return r, type(r).__name__, repr(r).replace("tinyconv", "torch"), str(r)

    (rc, nc, pc, sc), (rt, nt, pt, st_) = run(tinyconv), run(torch)
    assert (nc, pc) == (nt, pt)
    assert sc.replace("tinyconv", "torch") == st_
    if isinstance(rt, tuple):
        # (PyTorch's are structseqs: n_fields and attributes instead of _fields)
        assert isinstance(rc, tuple) and len(rc) == rt.n_fields
        assert [getattr(rc, f) is v for f, v in zip(rc._fields, rc, strict=True)]
        for a, b in zip(rc, rt, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        import pickle

        again = pickle.loads(pickle.dumps(rc))
        assert type(again) is type(rc) and again._fields == rc._fields


@pytest.mark.parametrize(
    "expr",
    [
        "x.transpose(0, 2).roll(1, 0)",
        "x.transpose(1, 2).roll(2)",
        "x.transpose(0, 2).flip(0)",
        "x.permute(1, 2, 0).flip(1, 2)",
        "x[:, ::2].transpose(0, 1).flip(0)",
        "x.flip(0)",
        "x[:, :1].expand(2, 3, 4).flip(1)",
        "x[:, 1:, 1:].flip(2)",
    ],
)
def test_roll_and_flip_layouts_as_pytorch(expr):
    # (found by the program fuzzer: roll of a transposed tensor kept its layout, so .view(-1)
    # raised where PyTorch's contiguous result works; flip's copy keeps the input's stride
    # order in PyTorch, where it was always contiguous)
    def run(T):
        out = eval(expr, {"x": T.arange(24.0).reshape(2, 3, 4)})
        return out, out.is_contiguous(), out.stride()

    (c, cc, sc), (t, ct, st_) = run(tinyconv), run(torch)
    assert (cc, sc) == (ct, st_)
    np.testing.assert_array_equal(c.numpy(), t.numpy())


@given(
    vals=st.lists(st.floats(-100, 100, allow_nan=False, width=32), min_size=2, max_size=60),
    op=st.sampled_from(["var", "std", "trace"]),
    correction=st.sampled_from([0, 1]),
)
def test_float32_var_and_std_of_all_elements_are_pytorchs_bit_for_bit(vals, op, correction):
    # (found by the program fuzzer: print(x.var().item()) of float32 [0.1, 0.2, 0.3] gave
    # 0.010000001639127731, PyTorch 0.010000000707805157: it accumulates in double; and
    # x.diagonal().sum() == x.trace() was True where PyTorch's trace, in double, differs)
    def run(T):
        x = T.tensor(vals, dtype=T.float32)
        if op == "trace":
            return x[: len(vals) // 2 * 2].reshape(-1, 2).t().trace().item()
        return getattr(x, op)(correction=correction).item()

    assert run(tinyconv) == run(torch) or (np.isnan(run(tinyconv)) and np.isnan(run(torch)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("p", [2, 3, -1, -2])
def test_multiplied_powers_bit_for_bit(dtype, p):
    # tensor ** 2, 3, -1, -2: PyTorch multiplies (or takes the reciprocal), bit for bit,
    # signed zeros, infs and NaNs included
    x = np.random.default_rng(0).standard_normal(4000).astype(dtype) * 30
    x[:5] = [0.0, -0.0, np.inf, -np.inf, np.nan]
    want = (torch.tensor(x) ** p).numpy()
    got = (tinyconv.tensor(x) ** p).numpy()
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got[:4]), np.signbit(want[:4]))


def _grad_dtype_steps(T) -> list:
    """Tensor.grad_dtype (new in PyTorch 2.13) through a scripted session: each step's
    result (a dtype name, a gradient as a list, None) or the type of what it raised."""
    out = []

    def step(f):
        try:
            r = f()
        except Exception as e:  # noqa: BLE001  (the exception's type is the result)
            out.append(("raise", type(e).__name__))
            return
        if r is not None and not isinstance(r, (list, tuple)):
            r = str(r).split(".")[-1]
        out.append(("ok", r))

    x = T.zeros(3, requires_grad=True)
    step(lambda: x.grad_dtype)
    step(lambda: (x * 2).grad_dtype)  # (leaves only)
    step(lambda: setattr(x * 2, "grad_dtype", T.float64))
    step(lambda: setattr(x, "grad_dtype", "float64"))
    x.grad_dtype = T.float64
    for _ in range(2):  # a cast first gradient, then an accumulated one
        (x * 2).sum().backward()
        step(lambda: (x.grad.tolist(), str(x.grad.dtype).split(".")[-1]))
    step(lambda: setattr(x, "grad_dtype", T.float16))  # (a gradient of another dtype is there)
    step(lambda: setattr(x, "grad", T.ones(3)))  # (not the grad_dtype)
    step(lambda: setattr(x, "grad", T.ones(3, dtype=T.float64)))
    step(lambda: T.autograd.grad((x * 3).sum(), x)[0].dtype)
    step(lambda: T.autograd.grad((x * 3).sum(), x, create_graph=True)[0].dtype)
    step(lambda: x.detach().grad_dtype)
    y = T.zeros(3, requires_grad=True)
    y.grad_dtype = None  # any dtype: the seed's own
    y.backward(T.ones(3, dtype=T.float64))
    step(lambda: y.grad.dtype)
    y.backward(T.ones(3, dtype=T.float16))  # (accumulated into the float64 gradient)
    step(lambda: (y.grad.tolist(), str(y.grad.dtype).split(".")[-1]))
    z = T.zeros(3, requires_grad=True)
    z.backward(T.ones(3, dtype=T.float64))  # (default: the leaf's dtype)
    step(lambda: z.grad.dtype)
    z.data = z.data.double()  # (the default follows the dtype)
    step(lambda: z.grad_dtype)
    p = T.nn.Parameter(T.zeros(2))
    p.grad_dtype = T.float16
    (p * 3).sum().backward()
    step(lambda: (p.grad.tolist(), str(p.grad.dtype).split(".")[-1]))
    return out


def test_grad_dtype_as_pytorchs():
    assert _grad_dtype_steps(tinyconv) == _grad_dtype_steps(torch)


@pytest.mark.parametrize("dtype", [None, "float32", "float64"])
def test_as_tensor_shares_an_array_of_its_dtype(dtype):
    # (torch.as_tensor(ndarray) aliases the array unless a conversion is needed)
    seen = []
    for T in (tinyconv, torch):
        a = np.zeros((2, 3), np.float32)[:, ::2]  # (a strided view, float32)
        t = T.as_tensor(a, dtype=None if dtype is None else getattr(T, dtype))
        a[0, 0] = 5.0
        seen.append((t.numpy().tolist(), _dtype_name(t)))
    assert seen[0] == seen[1]


@pytest.mark.parametrize(
    "case",
    ["cumsum-float32", "cumsum-dim0", "cumprod-float32", "cumsum-float16", "cumsum-to-float32"],
)
def test_long_scans_add_up_as_pytorchs(case):
    # (PyTorch's CPU scans accumulate float32 in float64 and float16 in float32: over
    # thousands of terms a float32 running sum drifts, so the results equal bit for bit only
    # with the same accumulator; the backward is a reversed scan)
    rng = np.random.default_rng(7)
    dtype = np.float16 if "float16" in case else np.float32
    a = rng.standard_normal((4, 3000)).astype(dtype)
    if case.startswith("cumprod"):
        a = rng.uniform(0.99, 1.01, (4, 3000)).astype(dtype)
    if case == "cumsum-to-float32":
        a = a.astype(np.float64)
    w = np.linspace(-1, 1, a.size).reshape(a.shape)
    seen = []
    for T in (tinyconv, torch):
        x = T.tensor(a, requires_grad=True)
        if case.startswith("cumprod"):
            y = x.cumprod(1)
        elif case == "cumsum-dim0":
            y = x.cumsum(0)
        elif case == "cumsum-to-float32":
            y = T.cumsum(x, dim=1, dtype=T.float32)
        else:
            y = x.cumsum(1)
        (y * T.tensor(w.astype(_np(y).dtype))).sum().backward()
        seen.append((_np(y), _np(x.grad)))
    (y1, g1), (y2, g2) = seen
    assert y1.dtype == y2.dtype and g1.dtype == g2.dtype
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)


SIZE_ARG_CALLS = [
    # the sizes or dims of a spread-out method as PyTorch's keyword ...
    "x.flip(dims=(0,))",
    "x.permute(dims=(1, 0))",
    "x.reshape(shape=(3, 2))",
    "x.view(size=(3, 2))",
    "x.view(dtype=T.int32)",
    "x.expand(size=(2, 2, 3))",
    "x.repeat(repeats=(2, 1))",
    "x.tile(dims=(2,))",
    "x.new_zeros(size=(2,))",
    "x.new_ones(size=(2,), dtype=T.float64)",
    "x.new_empty(size=(2,)).zero_()",
    "x.sum_to_size(size=(1, 3))",
    "T.flip(x, dims=(0,))",
    "T.permute(x, dims=(1, 0))",
    "T.reshape(x, shape=(3, 2))",
    # ... the usual forms ...
    "x.flip(0, 1)",
    "x.permute([1, 0])",
    "x.reshape(6)",
    "x.expand(2, -1, -1)",
    "x.new_zeros(())",
    # ... and none at all, which PyTorch refuses (as the dim of Tensor.softmax)
    "x.flip()",
    "x.permute()",
    "x.reshape()",
    "x.view()",
    "x.expand()",
    "x.repeat()",
    "x.tile()",
    "x.new_zeros()",
    "x.sum_to_size()",
    "x.softmax()",
    "x.log_softmax()",
    "T.softmax(x)",
    "x.flip(0, dims=1)",
]


def _eval_in_both(expression: str, x_values=None) -> list:
    """``expression`` evaluated with ``T`` as tinyconv, then as torch (and ``x`` a tensor of
    ``x_values``): each result's (shape, dtype, values), or the type of what it raised."""
    seen = []
    for T in (tinyconv, torch):
        names = {"T": T, "np": np}
        if x_values is not None:
            names["x"] = T.tensor(x_values)
        try:
            r = eval(expression, names)  # noqa: S307  (the tests' own expressions)
        except Exception as e:  # noqa: BLE001  (the exception's type is the result)
            seen.append(type(e).__name__)
        else:
            # (values as text: nan equals nan, and the sign of a zero counts)
            seen.append((tuple(r.shape), _dtype_name(r), repr(_np(r).tolist())))
    return seen


@pytest.mark.parametrize("call", SIZE_ARG_CALLS)
def test_size_arguments_as_pytorchs(call):
    tinyconv_result, torch_result = _eval_in_both(call, [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    assert tinyconv_result == torch_result


SMALL_PROGRAMS = [
    # the legacy constructors: a Size is a shape, no argument an empty 1-D tensor
    "T.Tensor()",
    "T.Tensor(T.Size([2, 1])).zero_()",  # (PyTorch leaves the memory as it was)
    "T.Tensor(T.Size([])).zero_()",
    "T.FloatTensor(T.Size([3])).zero_()",
    "T.LongTensor()",
    "T.Tensor(2, 3).zero_()",
    "T.Tensor([2, 3])",
    # block_diag promotes as cat does (float32 with int64: float32)
    "T.block_diag(T.ones(1, 2), T.tensor([[2], [3]]))",
    "T.block_diag(T.ones(1, dtype=T.float16), T.tensor([2]))",
    "T.block_diag(T.tensor([True]), T.tensor([2]))",
    # F.linear with a 1-D weight (no bias): one output per row
    "T.nn.functional.linear(T.arange(6.0).reshape(2, 3), T.tensor([1.0, -2.0, 0.5]))",
    "T.nn.functional.linear(T.ones(3), T.tensor([1.0, -2.0, 0.5]))",
    # NumPy ufuncs of tensors give tensors (a bool result as uint8, as PyTorch's)
    "np.sqrt(T.tensor([1.0, 4.0]))",
    "np.greater(T.tensor([1.0, 4.0]), 2)",
    "np.isnan(T.tensor([1.0, float('nan')]))",
    "np.exp(T.tensor(1.0))",
    "np.abs(T.tensor([1, -2]))",
    "np.maximum(T.tensor([1.0, 4.0]), np.float32(3))",
    "np.clip(T.tensor([1.0, 4.0]), 0, 2)",
    "np.log(T.tensor([1.0, 4.0])).sum()",
    # ...but not of a tensor that requires grad while grad mode is on (it would leave the graph)
    "np.sqrt(T.ones(2, requires_grad=True))",
    "np.asarray(T.ones(2, requires_grad=True))",
    "T.ones(2, requires_grad=True).numpy()",
    "T.from_numpy(T.ones(2, requires_grad=True).numpy(force=True))",
    "(T.set_grad_enabled(False), T.from_numpy(np.asarray(T.ones(2, requires_grad=True)).copy()),"
    " T.set_grad_enabled(True))[1]",
    # np.array(t) copies, np.asarray(t) shares
    "(lambda t: (np.array(t).__setitem__(0, 5.0), t)[1])(T.zeros(2))",
    "(lambda t: (np.array(t, dtype=np.float32).__setitem__(0, 5.0), t)[1])(T.zeros(2))",
    "(lambda t: (np.asarray(t).__setitem__(0, 5.0), t)[1])(T.zeros(2))",
    # an in-place op on a view of a leaf made by requires_grad_() on a view
    "(lambda x: x[0].mul_(2))(T.arange(6.0).reshape(2, 3).requires_grad_())",
    "(lambda x: x.t().add_(1))(T.arange(6.0).reshape(2, 3).requires_grad_())",
    "(lambda x: x.view(-1).__setitem__(1, 5.0))(T.arange(6.0).reshape(2, 3).requires_grad_())",
    # index_select takes no negative index; index_add's out-of-range index is an IndexError
    "T.index_select(T.arange(5), 0, T.tensor([-1]))",
    "T.zeros(5).index_add(0, T.tensor([-1]), T.ones(1))",
    # activations of integers: NotImplementedError, but softsign and tanhshrink give floats
    "T.nn.functional.gelu(T.tensor([1, 2]))",
    "T.nn.functional.leaky_relu(T.tensor([1, -2]))",
    "T.nn.functional.hardshrink(T.tensor([1, 2]))",
    "T.nn.functional.softsign(T.tensor([1, -3]))",
    "T.nn.functional.tanhshrink(T.tensor([1, -3]))",
    # unique's values require grad (under a node with no derivative)
    "T.tensor([float(T.unique(T.tensor([1.0, 2.0, 1.0], requires_grad=True)).requires_grad)])",
    # unfold with a 1x1 kernel gives a writable tensor of its own
    "(lambda x: (T.nn.functional.unfold(x, kernel_size=1).add_(1), x)[1])(T.ones(1, 1, 2, 3))",
    # diag_embed writes its diagonal (an inf stays on it)
    "T.diag_embed(T.tensor([1.0, float('inf')]))",
    "T.diag_embed(T.tensor([True, False]))",
    # lerp's two forms, so infinite ends come out as PyTorch's (quantile lerps too)
    "T.lerp(T.tensor(-float('inf')), T.tensor(1.0), 0.5)",
    "T.lerp(T.tensor(0.0), T.tensor(float('inf')), 1.0)",
    "T.lerp(T.tensor([-float('inf'), 0.0]), T.tensor([1.0, 3.0]), T.tensor([0.25, 0.75]))",
    "T.quantile(T.tensor([-float('inf'), 0.0, 1.0]), 0.25)",
    "T.quantile(T.tensor([1.0, float('inf')]), 0.5)",
    "T.quantile(T.tensor([1.0, float('inf')]), 1.0, interpolation='midpoint')",
    # copysign with an infinite `other` that requires grad (no nan, and -0.0 kept)
    "T.copysign(T.tensor([0.0, 1.0]), T.tensor([-float('inf'), 2.0], requires_grad=True)).detach()",
    # names real code imports: invert_permutation, torch.GradScaler, utils.model_zoo.load_url
    "T.nn.utils.rnn.invert_permutation(T.tensor([2, 0, 1]))",
    # continuous random fills refuse integer and bool tensors (they filled them silently)
    "T.ones(3, dtype=T.int64).normal_()",
    "T.ones(3, dtype=T.bool).normal_()",
    "T.ones(3, dtype=T.uint8).uniform_()",
    "T.ones(3, dtype=T.int64).exponential_()",
    "T.nn.init.normal_(T.ones(3, dtype=T.int64))",
    "T.empty(2).uniform_(1, 0)",
    "T.empty(2).uniform_(0, float('inf'))",
    "T.ones(3, dtype=T.int64).geometric_(0.5).sign()",
    "T.flip(T.ones(2, 2), dims=(0, -2))",
    # MultiheadAttention asserts embed_dim % num_heads (AssertionError), else ValueError
    "T.nn.MultiheadAttention(7, 2).in_proj_weight",
    "T.nn.MultiheadAttention(0, 2).in_proj_weight",
    "T.tensor([float(T.GradScaler is T.amp.GradScaler)])",
    "T.tensor([float(callable(__import__(T.__name__ + '.utils.model_zoo').utils.model_zoo"
    ".load_url))])",
]


@pytest.mark.parametrize("program", SMALL_PROGRAMS)
def test_small_programs_as_pytorchs(program):
    tinyconv_result, torch_result = _eval_in_both(program)
    assert tinyconv_result == torch_result


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_rows_masked_out_entirely_give_zeros(kind):
    # (PyTorch's SDPA: a query that may attend to nothing gets zeros, and no NaN reaches the
    # gradients)
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 4, 5), (2, 3, 6, 5))]
    m = rng.random((4, 6)) > 0.5
    m[1] = m[3] = False
    w = np.linspace(-1, 1, 2 * 3 * 4 * 5).reshape(2, 3, 4, 5).astype(np.float32)
    seen = []
    for T in (tinyconv, torch):
        q, k = (T.tensor(a, requires_grad=True) for a in arrays)
        mask = T.tensor(m if kind == "bool" else np.where(m, 0.0, -np.inf).astype(np.float32))
        o = T.nn.functional.scaled_dot_product_attention(q, k, k, attn_mask=mask)
        (o * T.tensor(w)).sum().backward()
        seen.append([_np(a) for a in (o, q.grad, k.grad)])
    for got, want in zip(*seen, strict=True):
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not seen[0][0][:, :, [1, 3]].any()


TENSOR_OP_PROGRAMS = [
    # arange's keyword form (end alone, or with start and step)
    "T.arange(end=4)",
    "T.arange(end=4.0, dtype=T.float64)",
    "T.arange(2, step=2, end=9)",
    # kernels with no bool version refuse bool tensors
    "T.trace(T.eye(2, dtype=T.bool))",
    "T.addcmul(T.tensor([True]), T.tensor([True]), T.tensor([False]))",
    "T.tensor([True]).addcmul_(T.tensor([True]), T.tensor([False]))",
    "T.trace(T.eye(2, dtype=T.uint8))",
    # gather's sparse_grad keyword (False: the dense gradient)
    "T.gather(T.ones(2, 3), 1, T.tensor([[0], [1]]), sparse_grad=False)",
    "T.ones(2, 3).gather(1, T.tensor([[0], [1]]), sparse_grad=False)",
    # unique along a dim of an empty tensor: only that dim may have size 0
    "T.unique(T.zeros(0, 3), dim=0, return_inverse=True)[0]",
    "T.unique(T.zeros(0, 3), dim=1)",
    "T.unique(T.zeros(3, 0), dim=0)",
    "T.unique(T.zeros(0, 0), dim=0)",
    "T.unique_consecutive(T.zeros(0, 0), dim=0)",
    # quantile: q a tensor of the input's dtype; float32 and float64 only; kthvalue of nothing
    "T.quantile(T.tensor([1.0, 2.0]), T.tensor(0.5, dtype=T.float64))",
    "T.quantile(T.tensor([1.0, 2.0], dtype=T.float64), T.tensor([0.5, 0.1], dtype=T.float64))",
    "T.quantile(T.ones(3, dtype=T.float16), 0.5)",
    "T.nanquantile(T.ones(3, dtype=T.float16), 0.5)",
    # a number scattered or index-filled must fit the dtype (-1 is 255 in uint8)
    "T.zeros(3, dtype=T.uint8).scatter(0, T.tensor([0]), -1)",
    "T.zeros(3, dtype=T.uint8).scatter(0, T.tensor([0]), 256)",
    "T.zeros(3, dtype=T.uint8).scatter(0, T.tensor([0]), 255.5)",
    "T.zeros(3, dtype=T.int8).scatter_(0, T.tensor([0]), value=1000)",
    "T.zeros(3, dtype=T.float16).scatter(0, T.tensor([0]), 70000)",
    "T.zeros(3).scatter(0, T.tensor([0]), 1e300)",
    "T.zeros(3).scatter(0, T.tensor([0]), T.tensor(1e300, dtype=T.float64))",
    "T.tensor([1, 2, 3], dtype=T.uint8).index_fill(0, T.tensor([0]), 255.5)",
    "T.tensor([1, 2, 3], dtype=T.uint8).index_fill(0, T.tensor([0]), -0.5)",
    "T.tensor([1, 2, 3], dtype=T.int8).index_fill_(0, T.tensor([1]), float('inf'))",
    "T.tensor([1, 2, 3], dtype=T.uint8).index_fill(0, T.tensor([0]), -1)",
    "T.tensor([1, 2, 3], dtype=T.float16).new_full((2,), 70000)",
    # a number exponent is checked against an integer or float16 result only
    "T.tensor([1, 2, 0], dtype=T.float32) ** 1e40",
    "T.tensor([1, 2, 0], dtype=T.int32).pow(1e300)",
    "T.pow(T.tensor([1, 2, 0], dtype=T.uint8), -1e300)",
    "T.tensor([1, 2, 0], dtype=T.bool) ** 1e300",
    "T.tensor([1, 2, 0], dtype=T.float16) ** 70000.0",
    "T.tensor([1, 2, 0], dtype=T.int8) ** 300",
    # negative-order norms have no value over an empty dim (0, 1, 2 give 0)
    "T.zeros(2, 0).norm(-1, dim=1)",
    "T.norm(T.zeros(0), -0.5)",
    "T.zeros(0, 2).norm(float('-inf'), dim=(0, 1))",
    "T.zeros(2, 0).norm(-1, dim=0)",
    "T.zeros(2, 0).norm(1, dim=1)",
]


@pytest.mark.parametrize("program", TENSOR_OP_PROGRAMS)
def test_tensor_op_programs_as_pytorchs(program):
    tinyconv_result, torch_result = _eval_in_both(program)
    assert tinyconv_result == torch_result


@pytest.mark.parametrize(("shape", "dim"), [((0,), 0), ((2, 0), 1), ((0, 3), -2)])
def test_kthvalue_over_an_empty_dim_is_an_index_error(shape, dim):
    for T in (torch, tinyconv):
        with pytest.raises(IndexError):
            T.kthvalue(T.zeros(shape), 1, dim)


def _random_layout(rng, full: list):
    """A float64 torch tensor broadcastable to `full`: some dims 1 or missing, its dims
    stored in a random order, sometimes a strided slice of a bigger one. (Only when no dim
    has size 1: PyTorch's layout rule reads the strides of size-1 dims too, which NumPy,
    and so tinyconv, does not keep as PyTorch sets them.)"""
    shape = [s if rng.random() < 0.9 else 1 for s in full]
    if rng.random() < 0.2:
        shape = shape[int(rng.integers(0, len(shape) + 1)) :]
    if 1 in shape:
        return torch.tensor(rng.standard_normal(shape))
    if shape and rng.random() < 0.2:
        big = torch.tensor(rng.standard_normal([2 * s for s in shape]))
        return big[tuple(slice(None, None, 2) for _ in shape)]
    order = rng.permutation(len(shape))
    base = torch.tensor(rng.standard_normal([shape[i] for i in order]))
    return base.permute(np.argsort(order).tolist())


def test_binary_results_take_pytorchs_layout():
    """Elementwise ops of two tensors in mixed layouts (transposed, permuted, sliced,
    broadcast): the result's strides (but those of size-1 dims) are PyTorch's, which follow
    the first operand whose strides decide (NumPy's took C order where its inputs disagreed,
    in about 1 case in 11 here), with and without a graph, and so are the values."""
    rng = np.random.default_rng(11)
    ops = [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a * b,
        lambda a, b: a / b,
        lambda a, b: a.maximum(b),
        lambda a, b: a < b,
        lambda a, b: a.atan2(b),
    ]
    numpy_differs = 0  # results NumPy alone lays out otherwise (C order where inputs disagree)
    for case in range(400):
        full = [int(s) for s in rng.integers(2, 5, int(rng.integers(2, 5)))]
        a, b = _random_layout(rng, full), _random_layout(rng, full)
        op = ops[case % len(ops)]
        want = op(a, b)
        grad = case % 2 == 0 and want.dtype == torch.float64
        ta = tinyconv.from_numpy(a.numpy()).requires_grad_(grad)
        tb = tinyconv.from_numpy(b.numpy())
        got = op(ta, tb)
        keep = [i for i, s in enumerate(want.shape) if s != 1]
        assert [got.stride()[i] for i in keep] == [want.stride()[i] for i in keep], case
        # (atan2's last bit is its libm's)
        np.testing.assert_allclose(got.detach().numpy(), want.numpy(), rtol=1e-15, atol=0)
        plain = np.add(a.numpy(), b.numpy())
        numpy_differs += [plain.strides[i] // 8 for i in keep] != [want.stride()[i] for i in keep]
    assert numpy_differs > 20  # (the cases that matter were tried)
