"""Fuzzing the public API with random, often invalid, arguments.

For each call an independent oracle (written here from PyTorch's documented rules, not
from tinyconv's code) says whether the arguments are valid and, if so, the output shape:

- valid arguments must give a result of exactly that shape;
- invalid ones must raise TypeError, ValueError or RuntimeError with a non-empty message
  raised by tinyconv itself: never an IndexError, numpy's AxisError, a ZeroDivisionError,
  or any error thrown from inside NumPy. (tinyconv's IndexOutOfRange is an IndexError and
  a ValueError, so it counts as a ValueError.)
- a few edge cases PyTorch itself treats inconsistently (zero channels) may do either.

The number of examples per test comes from the hypothesis profile (`ci` by default).
"""

from __future__ import annotations

import os
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv._errors import IndexDtypeError, TensorIndexError
from tinyconv.tensor import IndexOutOfRange

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning"
)  # loss broadcasting warns, as in PyTorch

TINYCONV_DIR = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
# Each example takes about a millisecond, so the fuzz tests run 8x the profile's max_examples
# (ci: 25 -> 200 per test); the profile's other settings (derandomize in ci) still apply.
FUZZ = settings(
    max_examples=settings.default.max_examples * 8,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

INVALID, EITHER = "invalid", "either"


class Invalid(Exception):
    """Raised by an oracle: PyTorch would reject these arguments."""


def check_error(err: BaseException) -> None:
    """An error is allowed only if it is one of the three types, tinyconv's own, with a message."""
    assert isinstance(err, (TypeError, ValueError, RuntimeError)), f"{type(err).__name__}: {err}"
    assert not isinstance(err, np.exceptions.AxisError), f"AxisError escaped: {err}"
    assert not isinstance(err, IndexError) or isinstance(
        err, (IndexOutOfRange, TensorIndexError, IndexDtypeError)
    ), f"bare IndexError: {err}"
    assert str(err).strip(), f"{type(err).__name__} with an empty message"
    tb = err.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    where = tb.tb_frame.f_code.co_filename
    assert where.startswith(TINYCONV_DIR), (
        f"{type(err).__name__} raised from {where}, not tinyconv: {err}"
    )


def run(call, expected, names):
    """Run `call` and hold it to the oracle's verdict `expected` (a shape, INVALID or (EITHER,
    shape)).

    An error's message must also match `names` (the function or what was indexed): a NumPy
    error raised from C code has no Python frame of its own, so this catches those too.
    """
    try:
        out = call()
    except Exception as err:  # noqa: BLE001  (any exception is inspected here)
        check_error(err)
        assert re.search(names, str(err)), (
            f"message doesn't name {names!r}: {type(err).__name__}: {err}"
        )
        assert expected == INVALID or (isinstance(expected, tuple) and expected[:1] == (EITHER,)), (
            f"valid arguments (expected shape {expected}) raised {type(err).__name__}: {err}"
        )
        return None
    assert expected != INVALID, f"invalid arguments gave a result of shape {tuple(out.shape)}"
    want = expected[1] if isinstance(expected, tuple) and expected[:1] == (EITHER,) else expected
    assert tuple(out.shape) == tuple(want), (
        f"shape {tuple(out.shape)}, PyTorch's formula gives {want}"
    )
    return out


# -- argument strategies: mostly plausible, often wrong
# ---------------------------------------------

small_int = st.integers(-2, 5)
junk = st.one_of(st.none(), st.floats(-2, 4), st.text(max_size=3), st.booleans(), st.just([]))
int_or_pair = st.one_of(
    small_int,
    small_int,
    st.tuples(small_int, small_int),
    st.lists(small_int, min_size=0, max_size=3).map(tuple),
    junk,
)
positive = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))
non_negative = st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)))
# mostly plausible values (so that many calls are valid), often anything at all
maybe_positive = st.one_of(positive, positive, int_or_pair)
maybe_non_negative = st.one_of(non_negative, non_negative, int_or_pair)
dims = st.lists(st.integers(0, 6), min_size=0, max_size=5).map(tuple)
spatial = st.integers(0, 7)
dtypes = st.sampled_from([np.float32, np.float32, np.float64, np.int64])


def tensor_of(shape, dtype=np.float32, requires_grad=False):
    rng = np.random.default_rng(len(shape) + sum(shape))
    arr = rng.standard_normal(shape) * 3
    t = torch.tensor(arr.astype(dtype))
    if requires_grad and np.dtype(dtype).kind == "f":
        t.requires_grad_()
    return t


# -- the oracles (PyTorch's rules, written out independently)
# ------------------------------------------


def is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def pair(v, minimum):
    """PyTorch's int-or-pair argument: an int, or a tuple/list of 1 or 2 ints, each >= minimum."""
    if isinstance(v, (tuple, list)):
        if len(v) not in (1, 2):
            raise Invalid
        v = tuple(v) * (2 // len(v))
    else:
        v = (v, v)
    if not all(is_int(p) and p >= minimum for p in v):
        raise Invalid
    return v


def conv_out(size, k, s, p0, p1, d):
    span = d * (k - 1) + 1
    if size + p0 + p1 < span:
        raise Invalid
    return (size + p0 + p1 - span) // s + 1


def conv2d_oracle(xs, ws, bs, xdt, wdt, stride, padding, dilation, groups):
    try:
        if len(xs) not in (3, 4) or len(ws) != 4:
            raise Invalid
        if xdt != wdt:
            raise Invalid
        if not is_int(groups) or groups < 1:
            raise Invalid
        s, d = pair(stride, 1), pair(dilation, 1)
        O, Cg, kh, kw = ws
        if min(O, Cg, kh, kw) < 1 or O % groups:
            raise Invalid
        batch = xs[:-3]
        C, H, W = xs[-3:]
        if C != Cg * groups:
            raise Invalid
        if bs is not None and bs != (O,):
            raise Invalid
        if H == 0 or W == 0:
            raise Invalid  # PyTorch: "Only zero batch or zero channel inputs are supported"
        if isinstance(padding, str):
            if padding == "valid":
                pads = ((0, 0), (0, 0))
            elif padding == "same":
                if s != (1, 1):
                    raise Invalid
                pads = tuple(
                    (dd * (k - 1) // 2, dd * (k - 1) - dd * (k - 1) // 2)
                    for k, dd in zip((kh, kw), d, strict=True)
                )
            else:
                raise Invalid
        else:
            ph, pw = pair(padding, 0)
            pads = ((ph, ph), (pw, pw))
        oh = conv_out(H, kh, s[0], *pads[0], d[0])
        ow = conv_out(W, kw, s[1], *pads[1], d[1])
        return batch + (O, oh, ow)
    except Invalid:
        return INVALID


def pool_out(size, k, s, p, d, ceil_mode):
    span = d * (k - 1) + 1
    num = size + 2 * p - span + (s - 1 if ceil_mode else 0)
    if num < 0:
        raise Invalid
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    if out < 1:
        raise Invalid
    return out


def pool_oracle(xs, dtype, kernel_size, stride, padding, dilation, ceil_mode, avg):
    try:
        if len(xs) not in (3, 4):
            raise Invalid
        k = pair(kernel_size, 1)
        s = k if stride is None or stride == () or stride == [] else pair(stride, 1)
        p = pair(padding, 0)
        d = pair(dilation, 1)
        if any(pi > ki // 2 for pi, ki in zip(p, k, strict=True)):
            raise Invalid
        if avg and np.dtype(dtype).kind != "f":
            raise Invalid  # tinyconv: avg_pool2d needs a float input (PyTorch also pools integers)
        C, H, W = xs[-3:]
        if H == 0 or W == 0:
            raise Invalid
        shape = xs[:-2] + (
            pool_out(H, k[0], s[0], p[0], d[0], ceil_mode),
            pool_out(W, k[1], s[1], p[1], d[1], ceil_mode),
        )
        return (
            (EITHER, shape) if C == 0 else shape
        )  # PyTorch rejects C = 0; an empty result is fine
    except Invalid:
        return INVALID


def reshape_oracle(shape, new):
    numel = int(np.prod(shape))
    if not all(is_int(n) for n in new) or any(n < -1 for n in new) or list(new).count(-1) > 1:
        return INVALID
    known = int(np.prod([n for n in new if n != -1]))
    if -1 in new:
        if known == 0 or numel % known:
            return INVALID
        return tuple(numel // known if n == -1 else n for n in new)
    return tuple(new) if known == numel else INVALID


# -- conv2d
# --------------------------------------------------------------------------------------------


def mix(draw, good: dict, chaos: dict) -> dict:
    """Plausible arguments (`good`), then maybe one of them, or all, replaced by anything."""
    mode = draw(st.sampled_from(["clean", "clean", "clean", "one", "one", "chaos"]))
    if mode == "one":
        key = draw(st.sampled_from(sorted(chaos)))
        good[key] = draw(chaos[key])
    elif mode == "chaos":
        for key in sorted(chaos):
            good[key] = draw(chaos[key])
    return good


@st.composite
def batch_shape(draw, channels):
    """(N, C, H, W) or unbatched (C, H, W), non-empty except perhaps the batch."""
    hw = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    if draw(st.booleans()):
        return (channels, *hw)
    return (draw(st.integers(0, 2)), channels, *hw)


@st.composite
def conv_call(draw):
    groups = draw(st.integers(1, 3))
    cg, out = draw(st.integers(1, 3)), groups * draw(st.integers(1, 2))
    xdt = draw(dtypes)
    good = {
        "xs": draw(batch_shape(groups * cg)),
        "ws": (out, cg, draw(st.integers(1, 4)), draw(st.integers(1, 4))),
        "groups": groups,
        "bias": draw(st.sampled_from([None, (out,)])),
        "xdt": xdt,
        "wdt": xdt,
        "stride": draw(positive),
        "dilation": draw(st.one_of(st.just(1), positive)),
        "padding": draw(st.one_of(non_negative, st.sampled_from(["same", "valid"]))),
    }
    chaos = {
        "xs": st.one_of(
            st.tuples(st.integers(0, 2), st.integers(0, 4), spatial, spatial),
            st.tuples(st.integers(0, 4), spatial, spatial),
            dims,
        ),
        "ws": st.one_of(st.tuples(*[st.integers(0, 4)] * 4), dims),
        "groups": st.one_of(st.integers(-1, 4), junk),
        "bias": st.one_of(st.none(), dims),
        "wdt": dtypes,
        "stride": int_or_pair,
        "dilation": int_or_pair,
        "padding": st.one_of(int_or_pair, st.sampled_from(["same", "valid", "full"])),
    }
    return mix(draw, good, chaos)


@FUZZ
@given(args=conv_call(), grad=st.booleans())
def test_fuzz_conv2d(args, grad):
    xs, ws, bs = args["xs"], args["ws"], args["bias"]
    assume(int(np.prod(xs)) <= 2000 and int(np.prod(ws)) <= 500)
    x = tensor_of(xs, args["xdt"], grad)
    w = tensor_of(ws, args["wdt"], grad)
    b = None if bs is None else tensor_of(bs, args["wdt"])
    stride, padding, dilation, groups = (
        args["stride"],
        args["padding"],
        args["dilation"],
        args["groups"],
    )
    expected = conv2d_oracle(
        xs, ws, bs, np.dtype(args["xdt"]), np.dtype(args["wdt"]), stride, padding, dilation, groups
    )
    event("valid" if expected != INVALID else "invalid")
    out = run(
        lambda: F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups),
        expected,
        r"^conv2d: ",
    )
    if out is not None and out.requires_grad and out.numel():
        out.sum().backward()
        assert x.grad.shape == x.shape and w.grad.shape == w.shape


# -- pooling
# -------------------------------------------------------------------------------------------


@st.composite
def pool_call(draw, avg):
    k = draw(positive)
    kmin = min(k) if isinstance(k, tuple) else k
    good = {
        "xs": draw(batch_shape(draw(st.integers(1, 3)))),
        "dtype": draw(dtypes) if not avg else np.float32,
        "kernel_size": k,
        "stride": draw(st.one_of(st.none(), positive)),
        "padding": draw(st.integers(0, kmin // 2)),
        "dilation": draw(st.one_of(st.just(1), positive)),
        "ceil_mode": draw(st.booleans()),
    }
    chaos = {
        "xs": st.one_of(
            st.tuples(st.integers(0, 2), st.integers(0, 3), spatial, spatial),
            st.tuples(st.integers(0, 3), spatial, spatial),
            dims,
        ),
        "dtype": dtypes,
        "kernel_size": int_or_pair,
        "stride": st.one_of(st.just(()), int_or_pair),
        "padding": int_or_pair,
        "dilation": int_or_pair,
    }
    return mix(draw, good, chaos)


@FUZZ
@given(args=pool_call(avg=False), return_indices=st.booleans(), grad=st.booleans())
def test_fuzz_max_pool2d(args, return_indices, grad):
    xs = args["xs"]
    assume(int(np.prod(xs)) <= 2000)
    x = tensor_of(xs, args["dtype"], grad)
    k, s, p, d, ceil_mode = (
        args[n] for n in ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
    )
    expected = pool_oracle(xs, args["dtype"], k, s, p, d, ceil_mode, avg=False)
    event("valid" if expected != INVALID else "invalid")

    def call():
        res = F.max_pool2d(x, k, s, p, d, ceil_mode, return_indices)
        if return_indices:
            y, idx = res
            assert idx.shape == y.shape and idx.dtype == torch.int64
            return y
        return res

    out = run(call, expected, r"^max_pool2d: ")
    if out is not None and out.requires_grad and out.numel():
        if np.isneginf(out.detach().numpy()).any():
            # a window entirely in the padding (dilation, ceil_mode; the input is finite):
            # its gradient is refused on purpose (README, differences from PyTorch)
            with pytest.raises(RuntimeError, match="lies entirely in the padding"):
                out.sum().backward()
            return
        out.sum().backward()
        assert x.grad.shape == x.shape


@FUZZ
@given(
    args=pool_call(avg=True),
    count_include_pad=st.booleans(),
    divisor_override=st.one_of(st.none(), st.none(), st.integers(-1, 3)),
    grad=st.booleans(),
)
def test_fuzz_avg_pool2d(args, count_include_pad, divisor_override, grad):
    xs = args["xs"]
    assume(int(np.prod(xs)) <= 2000)
    x = tensor_of(xs, args["dtype"], grad)
    k, s, p, ceil_mode = (args[n] for n in ("kernel_size", "stride", "padding", "ceil_mode"))
    expected = pool_oracle(xs, args["dtype"], k, s, p, 1, ceil_mode, avg=True)
    if divisor_override is not None and divisor_override <= 0:
        expected = INVALID
    event("valid" if expected != INVALID else "invalid")
    out = run(
        lambda: F.avg_pool2d(x, k, s, p, ceil_mode, count_include_pad, divisor_override),
        expected,
        r"^avg_pool2d: ",
    )
    if out is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no 0/0 from windows that lie wholly in the padding
            assert np.isfinite(out.detach().numpy()).all()
        if out.requires_grad and out.numel():
            out.sum().backward()
            assert x.grad.shape == x.shape


# -- view / reshape
# --------------------------------------------------------------------------------------


random_shape = st.lists(
    st.one_of(st.integers(-2, 7), st.integers(-1, 7), st.just(-1), junk), min_size=0, max_size=4
)


@st.composite
def same_size_shape(draw, shape):
    """A shape with the same number of elements: shuffled, two sizes merged, maybe one -1."""
    new = list(draw(st.permutations(list(shape))))
    if len(new) >= 2 and draw(st.booleans()):
        i = draw(st.integers(0, len(new) - 2))
        new[i : i + 2] = [new[i] * new[i + 1]]
    if draw(st.booleans()):
        new.insert(draw(st.integers(0, len(new))), 1)
    if new and draw(st.booleans()):
        new[draw(st.integers(0, len(new) - 1))] = -1
    return new


@FUZZ
@given(
    data=st.data(),
    shape=dims,
    as_tuple=st.booleans(),
    method=st.sampled_from(["view", "reshape"]),
    transpose=st.booleans(),
    grad=st.booleans(),
)
def test_fuzz_view_reshape(data, shape, as_tuple, method, transpose, grad):
    assume(int(np.prod(shape)) <= 2000)
    new = data.draw(st.one_of(same_size_shape(shape), random_shape))
    x = tensor_of(shape, np.float32, grad)
    if transpose and x.ndim >= 2:
        x = x.transpose(0, -1)
    args = (tuple(new),) if as_tuple else tuple(new)
    sizes = (
        args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
    )  # f((2, 3)) == f(2, 3)
    # (no sizes at all: PyTorch's TypeError, a missing argument)
    expected = reshape_oracle(tuple(x.shape), sizes) if args else INVALID
    event("valid" if expected != INVALID else "invalid")
    if method == "view" and expected != INVALID and not x.detach().numpy().flags.c_contiguous:
        expected = (EITHER, expected)  # a view of a transposed tensor may need a copy: RuntimeError
    fn = getattr(x, method)
    out = run(lambda: fn(*args), expected, rf"^{method}\(\): ")
    if out is not None and grad:
        (out * 2).sum().backward()
        assert x.grad is None or x.grad.shape == x.shape


# -- indexing
# ----------------------------------------------------------------------------------------------


def index_items(draw, ndim):
    item = st.one_of(
        st.integers(-7, 7),
        st.builds(
            slice,
            st.one_of(st.none(), st.integers(-7, 7)),
            st.one_of(st.none(), st.integers(-7, 7)),
            st.one_of(st.none(), st.integers(-2, 3)),
        ),
        st.none(),
        st.just(Ellipsis),
        st.lists(st.integers(-6, 6), min_size=0, max_size=3),
        st.floats(-2, 2),
        st.text(max_size=1),
        st.booleans(),
    )
    return tuple(draw(st.lists(item, min_size=0, max_size=ndim + 2)))


@st.composite
def indexed(draw):
    shape = draw(st.lists(st.integers(0, 5), min_size=0, max_size=4).map(tuple))
    kind = draw(st.sampled_from(["items", "items", "int-tensor", "bool-mask", "single"]))
    if kind == "items":
        index = index_items(draw, len(shape))
    elif kind == "single":
        index = draw(st.one_of(st.integers(-7, 7), st.none(), st.just(Ellipsis), st.floats(-1, 1)))
    elif kind == "int-tensor":
        index = torch.tensor(draw(st.lists(st.integers(-7, 7), max_size=4)), dtype=torch.int64)
    else:
        mshape = draw(st.sampled_from([shape, shape[:1], (7,), ()]))
        index = torch.tensor(
            np.asarray(
                draw(
                    st.lists(
                        st.booleans(), min_size=int(np.prod(mshape)), max_size=int(np.prod(mshape))
                    )
                )
            ).reshape(mshape),
            dtype=torch.bool,
        )
    return shape, index


def numpy_index(index):
    """The same index for a NumPy array (the oracle computes shapes with NumPy)."""
    if isinstance(index, torch.Tensor):
        return index.numpy()
    if isinstance(index, tuple):
        return tuple(numpy_index(i) for i in index)
    return index


def index_oracle(shape, index):
    """PyTorch's rules: every integer selects first (removing its dim, bounds always checked);
    what is left (slices, None, bools, index arrays) then places its dims as NumPy does once
    no integer is among them. Index-array entries are checked only when the result has
    elements, except that a non-empty one on a dim of size 0 is always an error."""
    items = numpy_index(index)
    items = items if isinstance(items, tuple) else (items,)
    for it in items:
        if isinstance(it, (float, str)):
            # PyTorch: only integers, slices, None, ..., bools and tensors are valid indices
            return INVALID
        if isinstance(it, slice) and it.step is not None and it.step <= 0:
            return INVALID  # PyTorch: negative steps are not supported; step 0 is an error
    if sum(it is Ellipsis for it in items) > 1:
        return INVALID  # tinyconv refuses what PyTorch does inconsistently (README)

    def is_select(it):
        return (isinstance(it, (int, np.integer)) and not isinstance(it, bool)) or (
            isinstance(it, np.ndarray) and it.ndim == 0 and it.dtype.kind in "iu"
        )

    def width(it):  # how many of the tensor's dims an item uses
        if it is None or it is Ellipsis or isinstance(it, bool):
            return 0
        if isinstance(it, np.ndarray) and it.dtype == bool:
            return it.ndim
        return 1

    used = sum(width(it) for it in items)
    if used > len(shape):
        return INVALID
    ref = np.zeros(shape)
    rest, dim = [], 0
    for it in items:
        if it is Ellipsis:
            rest += [slice(None)] * (len(shape) - used)
            dim += len(shape) - used
        elif is_select(it):
            n = ref.shape[dim]
            if not -n <= int(it) < n:
                return INVALID
            ref = np.take(ref, int(it), axis=dim)
        else:
            rest.append(np.asarray(it) if isinstance(it, list) else it)
            dim += width(it)
    # the shape, with index-array entries made harmless
    safe = [
        np.zeros(it.shape, int) if isinstance(it, np.ndarray) and it.dtype != bool else it
        for it in rest
    ]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = ref[tuple(safe)].shape
            if 0 not in out:
                ref[tuple(rest)]  # every entry is read: all must be in bounds
    except (IndexError, ValueError, TypeError, DeprecationWarning):
        return INVALID
    return out


@FUZZ
@given(case=indexed(), grad=st.booleans())
def test_fuzz_indexing(case, grad):
    shape, index = case
    x = tensor_of(shape, np.float32, grad)
    expected = index_oracle(shape, index)
    event("valid" if expected != INVALID else "invalid")
    out = run(lambda: x[index], expected, r"ind(ex|ices)|slice step")
    if out is not None and grad and out.numel():
        out.sum().backward()
        assert x.grad.shape == x.shape


# -- losses ----------------------------------------------------------------------------------------


reductions = st.sampled_from(["mean", "sum", "none", "none", "avg", None])


@st.composite
def class_loss_call(draw):
    """(N, C, ...) logits (or unbatched (C,)) with matching targets, then perhaps something
    broken."""
    C = draw(st.integers(1, 4))
    xs = (
        (C,)
        if draw(st.integers(0, 3)) == 0
        else (draw(st.integers(0, 4)), C, *draw(st.lists(st.integers(1, 3), max_size=2)))
    )
    per = (xs[0], *xs[2:]) if len(xs) > 1 else ()
    rng = np.random.default_rng(len(xs) + sum(xs))
    if draw(st.integers(0, 3)) == 0:  # class probabilities
        target = rng.random(xs).astype(np.float32)
    else:
        target = rng.integers(0, C, per)
    good = {
        "xs": xs,
        "xdt": draw(st.sampled_from([np.float32, np.float64])),
        "target": target,
        "reduction": draw(st.sampled_from(["mean", "sum", "none"])),
        "weight": draw(st.sampled_from([None, (C,)])),
        "ignore_index": draw(st.sampled_from([-100, 0])),
        "label_smoothing": draw(st.sampled_from([0.0, 0.1])),
    }

    @st.composite
    def bad_target(draw):
        shape = draw(st.one_of(st.just(per), st.just(xs), dims))
        lo, hi = draw(st.sampled_from([(0, C), (-1, C - 1), (-100, C + 3)]))
        values = rng.integers(lo, hi + 1, shape)
        return values.astype(draw(st.sampled_from([np.int64, np.int32, np.float32, np.bool_])))

    chaos = {
        "xs": st.one_of(st.tuples(st.integers(0, 4), st.integers(0, 4)), dims),
        "xdt": st.sampled_from([np.float32, np.int64]),
        "target": bad_target(),
        "reduction": reductions,
        "weight": st.one_of(st.none(), dims),
        "ignore_index": st.sampled_from([-100, 0, 1, 7]),
        "label_smoothing": st.sampled_from([0.0, 0.5, 1.0, 1.5, -0.1]),
    }
    return mix(draw, good, chaos)


def class_loss_oracle(xs, xdt, target, reduction, weight_shape, ignore_index):
    if reduction not in ("mean", "sum", "none") or len(xs) == 0 or np.dtype(xdt).kind != "f":
        return INVALID
    C = xs[1] if len(xs) > 1 else xs[0]
    if C == 0:
        return INVALID  # no classes (PyTorch: "Target 0 is out of bounds")
    if target.dtype.kind == "f":  # class probabilities: same shape as the input
        if target.shape != xs or ignore_index >= 0:  # (they ignore no class)
            return INVALID
        per = xs[:1] + xs[2:] if len(xs) > 1 else ()
    else:
        if target.dtype.kind not in "iu":
            return INVALID
        per = (xs[0],) + xs[2:] if len(xs) > 1 else ()
        if target.shape != per and not (
            len(xs) == 1 and target.shape == (1,)
        ):  # PyTorch takes (C,) with (1,)
            return INVALID
        ok = (target == ignore_index) | ((target >= 0) & (target < C))
        if not ok.all():
            return INVALID
    if weight_shape is not None and weight_shape != (C,):
        return INVALID
    if weight_shape is not None and target.dtype.kind != "f" and np.dtype(xdt) != np.float32:
        return INVALID  # the float32 weight must have the logits' dtype (probabilities: any)
    return per if reduction == "none" else ()


@FUZZ
@given(
    args=class_loss_call(), which=st.sampled_from(["cross_entropy", "nll_loss"]), grad=st.booleans()
)
def test_fuzz_class_losses(args, which, grad):
    xs, xdt, target, reduction, ws, ignore_index, label_smoothing = (
        args[k]
        for k in ("xs", "xdt", "target", "reduction", "weight", "ignore_index", "label_smoothing")
    )
    assume(int(np.prod(xs)) <= 1000)
    x = tensor_of(xs, xdt, grad)
    w = None if ws is None else torch.ones(ws)
    expected = class_loss_oracle(xs, xdt, target, reduction, ws, ignore_index)
    if target.dtype == np.int32 and expected != INVALID:
        expected = (EITHER, expected)  # PyTorch wants int64 (or uint8); tinyconv also takes int32
    if which == "nll_loss" and target.dtype.kind == "f":
        expected = INVALID  # nll_loss takes class indices only
    if not 0 <= label_smoothing <= 1 and which == "cross_entropy":
        expected = INVALID
    event("valid" if expected != INVALID else "invalid")

    def call():
        if which == "cross_entropy":
            return F.cross_entropy(
                x,
                torch.tensor(target),
                w,
                ignore_index=ignore_index,
                reduction=reduction,
                label_smoothing=label_smoothing,
            )
        return F.nll_loss(
            x, torch.tensor(target), w, ignore_index=ignore_index, reduction=reduction
        )

    out = run(call, expected, rf"^{which}: ")
    if out is not None and out.requires_grad and out.numel():
        out.sum().backward()
        assert x.grad.shape == x.shape


@FUZZ
@given(
    xs=dims,
    ts=st.one_of(dims, st.just("same")),
    reduction=reductions,
    which=st.sampled_from(
        ["mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"]
    ),
    weight=st.one_of(st.none(), st.none(), st.just("same"), dims),
    tdt=st.sampled_from([np.float32, np.int64]),
    grad=st.booleans(),
)
def test_fuzz_pointwise_losses(xs, ts, reduction, which, weight, tdt, grad):
    ts = xs if ts == "same" else ts
    assume(int(np.prod(xs)) <= 1000 and int(np.prod(ts)) <= 1000)
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.random(xs).astype(np.float32))  # in [0, 1]: valid for BCE too
    if grad:
        x.requires_grad_()
    t = torch.tensor(rng.integers(0, 2, ts).astype(tdt))
    try:
        full = np.broadcast_shapes(xs, ts)
        expected = full if reduction == "none" else ()
        if reduction not in ("mean", "sum", "none"):
            expected = INVALID
    except ValueError:
        full, expected = None, INVALID
    if which.startswith("binary") and tdt != np.float32:
        expected = INVALID  # PyTorch: BCE needs the input's dtype, with logits a float target
    if which.startswith("binary") and ts != xs:
        expected = INVALID  # ...and a target of the input's shape (no broadcasting)
    kwargs = {}
    if which.startswith("binary") and weight is not None:
        wshape = xs if weight == "same" else weight
        kwargs["weight"] = torch.ones(wshape)
        if full is not None and (
            not _broadcasts(wshape, full) or np.broadcast_shapes(wshape, full) != full
        ):
            expected = INVALID  # the weight must broadcast to the loss's shape
    event("valid" if expected != INVALID else "invalid")
    out = run(
        lambda: getattr(F, which)(x, t, reduction=reduction, **kwargs), expected, rf"^{which}: "
    )
    if out is not None and out.requires_grad and out.numel():
        out.sum().backward()
        assert x.grad.shape == x.shape


def _broadcasts(a, b) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


# -- a plain (non-fuzz) check that the oracles themselves reject and accept what they should
# ----------------


def test_oracles_agree_with_known_pytorch_results():
    assert conv2d_oracle(
        (1, 3, 5, 5), (2, 3, 3, 3), None, *[np.dtype(np.float32)] * 2, 2, 1, 1, 1
    ) == (1, 2, 3, 3)
    assert conv2d_oracle(
        (3, 8, 8), (4, 3, 3, 5), (4,), *[np.dtype(np.float32)] * 2, 1, "same", 1, 1
    ) == (4, 8, 8)
    assert (
        conv2d_oracle((1, 4, 5, 5), (2, 3, 3, 3), None, *[np.dtype(np.float32)] * 2, 1, 0, 1, 1)
        == INVALID
    )
    assert pool_oracle((1, 3, 5, 5), np.float32, 2, None, 0, 1, True, False) == (1, 3, 3, 3)
    assert pool_oracle((1, 3, 5, 5), np.float32, 3, 2, 1, 1, True, True) == (1, 3, 3, 3)
    assert pool_oracle((1, 1, 2, 2), np.float32, 3, None, 0, 1, False, False) == INVALID
    assert reshape_oracle((2, 3), (-1, 2)) == (3, 2) and reshape_oracle((0, 3), (-1, 0)) == INVALID
    assert index_oracle((3, 4), (slice(None, None, -1),)) == INVALID and index_oracle(
        (3, 4), (1,)
    ) == (4,)


# -- what the fuzzer found, pinned down (each was a hole before the fix)
# -----------------------------------


@pytest.mark.parametrize(
    "call, expected, names",
    [
        (
            lambda: torch.ones(1).view(None),
            INVALID,
            r"^view\(\): ",
        ),  # used to return the tensor unchanged
        (lambda: torch.ones(2).view("a"), INVALID, r"^view\(\): "),  # used to blame to()/device
        (lambda: torch.ones(3, 2)[[]], (0, 2), r""),  # empty list index: 0 rows
        (lambda: torch.ones(3)[::0], INVALID, r"slice step"),  # NumPy's bare ValueError
        (
            lambda: F.conv2d(torch.ones(1, 3, 0, 5), torch.ones(2, 3, 1, 1), padding=1),
            INVALID,
            r"^conv2d: ",
        ),
        (lambda: F.avg_pool2d(torch.ones(0, 0, 0, 0), 2, padding=1), INVALID, r"^avg_pool2d: "),
        (lambda: F.conv2d(torch.ones(1, 3, 5, 5), torch.ones(0, 3, 3, 3)), INVALID, r"^conv2d: "),
        (
            lambda: F.cross_entropy(torch.ones(0), torch.tensor(0), ignore_index=0),
            INVALID,
            r"^cross_entropy: ",
        ),
        (
            lambda: F.cross_entropy(torch.ones(2, 0), torch.ones(2, 0), label_smoothing=0.1),
            INVALID,
            r"^cross_entropy: ",
        ),  # ZeroDivisionError before
        (
            lambda: F.cross_entropy(torch.ones(1, 1), torch.ones(1, 1), weight=torch.tensor(1.0)),
            INVALID,
            r"^cross_entropy: ",
        ),
        (
            lambda: F.nll_loss(torch.ones(2, 3, dtype=torch.int64), torch.tensor([0, 1])),
            INVALID,
            r"^nll_loss: ",
        ),
        (lambda: F.softmax(torch.ones(2, 0), 1), (2, 0), r""),  # NumPy's max of nothing before
    ],
)
def test_fuzz_findings_stay_fixed(call, expected, names):
    run(call, expected, names)
