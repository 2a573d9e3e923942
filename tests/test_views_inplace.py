"""In-place ops and views: PyTorch's gradients (issue 10, items 3 and 4).

An in-place op on a base rebases the history of its views; an in-place op on a view rewrites
its base's history (CopySlices); where PyTorch refuses, tinyconv raises PyTorch's error.
Expected values are written out (each checked once against torch 2.13), then finite
differences, then a hypothesis test of random chains against torch itself.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyconv
import tinyconv.nn.functional as F
from tinyconv.autograd import gradcheck


def leaf(values, dtype=tinyconv.float64):
    return tinyconv.tensor(values, dtype=dtype, requires_grad=True)


# -- in-place on the base after views were taken: the views see the new history ----------------


@pytest.mark.parametrize(
    "make_view",
    [
        lambda a: a.view(3),
        lambda a: a.reshape(3),
        lambda a: a.view(1, 3).permute(1, 0),
        lambda a: a.unsqueeze(0).squeeze(0),
        lambda a: a[:],
        lambda a: a[0:3],
        lambda a: a.view(3, 1).transpose(0, 1),
    ],
    ids=["view", "reshape", "permute", "unsqueeze-squeeze", "slice", "slice2", "transpose"],
)
def test_view_history_is_rebased_after_an_inplace_op_on_the_base(make_view):
    x = leaf([1.0, 2.0, 3.0])
    a = x * 1
    v = make_view(a)
    a.mul_(10)
    assert v.flatten().tolist() == [10.0, 20.0, 30.0]
    (v * v).sum().backward()  # v = 10 x: d/dx sum(100 x^2) = 200 x
    assert x.grad.tolist() == [200.0, 400.0, 600.0]


def test_issue_example_view_then_mul_():
    x = tinyconv.ones(3, requires_grad=True)
    a = x * 1
    v = a.view(3)
    a.mul_(10)
    v.sum().backward()
    assert x.grad.tolist() == [10.0, 10.0, 10.0]


def test_basic_index_view_sees_base_setitem():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    w = leaf([5.0])
    a = x * 2
    v = a[1:3]
    a[1:2] = w * w  # a = [2x0, w^2, 2x2, 2x3]
    assert v.tolist() == [25.0, 6.0]
    (v * tinyconv.tensor([1.0, 3.0], dtype=tinyconv.float64)).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 6.0, 0.0]
    assert w.grad.tolist() == [10.0]


def test_base_modified_under_no_grad_keeps_the_old_history():
    x = tinyconv.ones(3, requires_grad=True)
    a = x * 1
    v = a.view(3)
    with tinyconv.no_grad():
        a.mul_(10)
    v.sum().backward()  # untracked: the values changed, the history did not (PyTorch: 1)
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_view_of_plain_tensor_joins_the_graph_when_its_base_does():
    a = tinyconv.zeros(3, dtype=tinyconv.float64)
    v = a[:2]
    x = leaf([1.0, 2.0, 3.0])
    a.add_(x * x)
    assert v.requires_grad and not v.is_leaf
    v.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0, 0.0]


# -- in-place on a view: the base's history is rewritten ----------------------------------------


def test_inplace_on_view_of_view_rewrites_the_base():
    x = tinyconv.ones(3, requires_grad=True)
    a = x * 2
    v = a.view(3)
    v2 = v[1:]
    v2.mul_(3)
    assert a.tolist() == [2.0, 6.0, 6.0]
    assert a.grad_fn.name() == "CopySlices"
    a.sum().backward()
    assert x.grad.tolist() == [2.0, 6.0, 6.0]


def test_write_through_permute_and_squeezed_unsqueeze():
    x = tinyconv.arange(6.0).reshape(2, 3).requires_grad_()
    a = x * 1
    p = a.permute(1, 0)
    p[0] *= 5
    u = a.unsqueeze(0)
    u.squeeze(0)[1, 2] = 7.0
    assert a.tolist() == [[0.0, 1.0, 2.0], [15.0, 4.0, 7.0]]
    (a * a).sum().backward()
    assert x.grad.tolist() == [[0.0, 2.0, 4.0], [150.0, 8.0, 0.0]]


def test_overlapping_views_see_each_others_writes():
    x = tinyconv.arange(6.0).requires_grad_()
    a = x * 1
    v1 = a[1:4]
    v2 = a.view(2, 3)[:, 1]  # a[1] and a[4]; a[1] is in v1 too
    v1.mul_(2)
    v2.mul_(3)
    assert v1.tolist() == [6.0, 4.0, 6.0] and v2.tolist() == [6.0, 12.0]
    (v1 * v1).sum().backward(retain_graph=True)
    assert x.grad.tolist() == [0.0, 72.0, 16.0, 24.0, 0.0, 0.0]
    (v2.sum() + a.sum()).backward()
    assert x.grad.tolist() == [1.0, 84.0, 18.0, 26.0, 6.0, 1.0]


def test_zero_and_fill_through_a_view_cut_the_region():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    a = x * 3
    a.view(2, 2)[1].zero_()
    a[0:1].fill_(5.0)
    assert a.tolist() == [5.0, 6.0, 0.0, 0.0]
    a.sum().backward()
    assert x.grad.tolist() == [0.0, 3.0, 0.0, 0.0]


def test_view_zeroed_then_base_rewritten_follows_the_base():
    # the zeroed view stays in the base's graph; the later writes reach it through the base
    w = leaf([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    base = tinyconv.arange(6.0, dtype=tinyconv.float64).reshape(3, 2) * 1
    v0 = base[1:]
    v0.zero_()
    base.mul_(w.reshape(3, 2))
    base[...] = w.reshape(3, 2) * 2
    assert v0.requires_grad
    (v0 * v0).sum().backward()  # v0 = 2 w[2:]: d/dw sum(4 w^2) = 8 w
    assert w.grad.tolist() == [0.0, 0.0, 24.0, 32.0, 40.0, 48.0]


def test_clamp_and_setitem_through_reshape_view():
    x = leaf([[-2.0, -0.5], [0.5, 2.0]])
    a = x * 1
    a.reshape(4).clamp_(-1.0, 1.0)
    a.view(4)[3] = x[0, 0] * 10
    assert a.tolist() == [[-1.0, -0.5], [0.5, -20.0]]
    (a * a).sum().backward()
    # a00 clamped (0); a01, a10 inside (2a); a11 = 10 x00 -> 2 * 10 a11 into x00
    assert x.grad.tolist() == [[-400.0, -1.0], [1.0, 0.0]]


def test_writes_through_views_gradcheck():
    def f(x, w):
        a = x * 1.5
        v = a.view(3, 2).t()  # (2, 3), not contiguous
        v[1].mul_(w)  # the base's odd elements times w
        a.view(2, 3)[:, 0].add_(w.sum())
        return (a.exp() * v.sum()).sum()

    rng = np.random.default_rng(0)
    x = leaf(rng.normal(size=6))
    w = leaf(rng.normal(size=3))
    assert gradcheck(f, (x, w), atol=1e-6)


def test_view_rebase_gradcheck():
    def f(x):
        a = x.tanh()
        a = a * 1  # not Tanh's saved output
        v = a.view(2, 2)
        col = v[:, 1]
        a.mul_(x)
        col.mul_(3)
        return (v * v).sum() + col.sum()

    x = leaf(np.random.default_rng(1).normal(size=4))
    assert gradcheck(f, (x,), atol=1e-6)


# -- errors, as PyTorch raises them -------------------------------------------------------------


def test_inplace_on_view_of_leaf_raises():
    x = tinyconv.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[:2].mul_(2)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x.view(3)[0] = 1.0
    with tinyconv.no_grad():  # untracked, as an optimiser step: allowed
        x.view(3)[0] = 5.0
    assert x.tolist() == [5.0, 1.0, 1.0]


def test_view_made_under_no_grad_then_modified_with_grad_raises():
    x = tinyconv.ones(3, requires_grad=True)
    a = x * 1
    with tinyconv.no_grad():
        v = a[:2]
    with pytest.raises(RuntimeError, match="created in no_grad mode and is being modified inplace"):
        v.mul_(2)
    with tinyconv.no_grad():
        v.mul_(2)  # both under no_grad: fine
    assert a.tolist() == [2.0, 2.0, 1.0]


def test_view_made_under_no_grad_then_base_modified_raises_on_use():
    x = tinyconv.ones(3, requires_grad=True)
    a = x * 1
    with tinyconv.no_grad():
        v = a[:2]
    a.mul_(2)
    with pytest.raises(
        RuntimeError, match="its base or another view of its base has been modified"
    ):
        v.sum()


def test_expanded_view_inplace_raises():
    a = tinyconv.ones(2, 3, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        a[0].expand(2, 3).mul_(2)


@pytest.mark.parametrize(
    "split", [lambda a: a.split(2), lambda a: a.chunk(2), lambda a: a.unbind(0)]
)
def test_multi_output_views_inplace_raises_with_grad(split):
    a = tinyconv.arange(4.0).requires_grad_() * 1
    with pytest.raises(RuntimeError, match="returns several views"):
        split(a)[0].mul_(2)
    b = tinyconv.arange(4.0)
    split(b)[0].mul_(2)  # nothing needs a gradient: allowed
    assert b.tolist()[0] == 0.0 and b.tolist()[1] in (1.0, 2.0)


def test_saved_tensor_modified_through_a_view_raises():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    a = x.exp()  # Exp saves its output
    a[:2].mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        a.sum().backward()
    y = leaf([1.0, 2.0])
    b = y * 1
    s = b.view(2, 1) ** 2  # Pow saves its (view) input
    b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.sum().backward()


# -- batch_norm output modified in place --------------------------------------------------------


@pytest.mark.parametrize(
    "inplace",
    [
        lambda y: y.clamp_(-0.5, 0.5),
        lambda y: y.sub_(1.0),
        lambda y: y.__iadd__(2.0),
        lambda y: y.mul_(2.0),
    ],
)
def test_batch_norm_output_inplace_gradcheck(inplace):
    rng = np.random.default_rng(2)
    g = tinyconv.tensor(rng.normal(size=(3, 2, 2)), dtype=tinyconv.float64)

    def f(x):
        y = F.batch_norm(x, None, None, training=True)
        inplace(y)
        return (y * g).sum()

    x = leaf(rng.normal(size=(3, 2, 2)) * 2)
    assert gradcheck(f, (x,), atol=1e-6)


# -- random chains against PyTorch --------------------------------------------------------------

# Each step: (target, op). target: "base" or the number of an existing view; ops that make a
# view add one; in-place ops write into the target.
_VIEW_OPS = ["view", "reshape", "t", "slice", "row", "unsqueeze", "col"]
_INPLACE_OPS = ["mul_", "add_", "sub_", "setitem", "clamp_", "zero_", "div_"]


def _apply(lib, t, op, k, w):
    if op == "view":
        return t.view(-1) if t.dim() != 1 else t.view(t.shape[0], 1)
    if op == "reshape":
        return t.reshape(-1)
    if op == "t":
        return t.transpose(0, -1) if t.dim() >= 2 else t.unsqueeze(1).t()
    if op == "slice":
        return t[k % 2 :]
    if op == "row":
        return t[k % t.shape[0]]
    if op == "unsqueeze":
        return t.unsqueeze(0)
    if op == "col":
        return t[..., k % t.shape[-1]]
    n = t.numel()
    wv = w[:n].reshape(t.shape) if t.dim() else w[0]
    if op == "mul_":
        return t.mul_(wv)
    if op == "add_":
        return t.add_(wv * wv)
    if op == "sub_":
        return t.sub_(1.5)
    if op == "div_":
        return t.div_(wv * wv + 1)
    if op == "clamp_":
        return t.clamp_(-1.0, 1.0)
    if op == "zero_":
        return t.zero_()
    if op == "setitem":
        t[...] = wv * 2
        return t
    raise AssertionError(op)


def _run(lib, x0, w0, program):
    x = lib.tensor(x0, dtype=lib.float64, requires_grad=True)
    w = lib.tensor(w0, dtype=lib.float64, requires_grad=True)
    base = x * 1
    views = []
    for target, op, k in program:
        t = base if target is None or not views else views[target % len(views)]
        if t.numel() == 0:
            continue
        if op in _VIEW_OPS:
            if t.dim() == 0 and op in ("row", "col", "slice", "t"):
                continue
            views.append(_apply(lib, t, op, k, w))
        else:
            _apply(lib, t, op, k, w)
    outs = [base] + views
    loss = sum(((o * o).sum() * (i + 1)) for i, o in enumerate(outs))
    if not loss.requires_grad:  # every input's history was overwritten (e.g. zero_())
        return [o.detach().numpy().copy() for o in outs], np.zeros_like(x0), np.zeros_like(w0)
    loss.backward()
    return (
        [o.detach().numpy().copy() for o in outs],
        (x.grad.numpy().copy() if x.grad is not None else np.zeros_like(x0)),
        (w.grad.numpy().copy() if w.grad is not None else np.zeros_like(w0)),
    )


@pytest.mark.torch
@settings(max_examples=100, deadline=None)
@given(
    shape=st.sampled_from([(2, 3), (3, 2), (4,), (2, 2)]),
    program=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 5)),
            st.sampled_from(_VIEW_OPS + _INPLACE_OPS),
            st.integers(0, 3),
        ),
        min_size=1,
        max_size=7,
    ),
    seed=st.integers(0, 2**16),
)
def test_random_view_inplace_chains_match_torch(shape, program, seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x0 = rng.normal(size=shape)
    w0 = rng.normal(size=int(np.prod(shape)))

    def outcome(lib):
        try:
            return _run(lib, x0, w0, program)
        except RuntimeError as e:
            return type(e)

    want = outcome(torch)
    got = outcome(tinyconv)
    if isinstance(want, type) or isinstance(got, type):
        assert got is want, f"{program}: torch {want}, tinyconv {got}"
        return
    outs_t, gx_t, gw_t = want
    outs, gx, gw = got
    assert len(outs) == len(outs_t)
    for o, ot in zip(outs, outs_t, strict=True):
        np.testing.assert_allclose(o, ot, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gx, gx_t, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gw, gw_t, rtol=1e-10, atol=1e-12)


def test_view_grad_fn_is_current_after_base_inplace():
    x = leaf([1.0, 2.0, 3.0])
    a = x * 1
    v = a.view(3)
    old = v.grad_fn
    assert old.next_functions[0][0] is a.grad_fn
    a.mul_(2)
    assert v.grad_fn is not old  # re-derived from the base's new history, as PyTorch's
    assert v.grad_fn.next_functions[0][0] is a.grad_fn
    assert "grad_fn=" in repr(v) and not v.is_leaf


EMPTY_VIEW_WRITES = {
    "x[0:0].add_(1)": lambda x: x[0:0].add_(1),
    "x[0:0].zero_()": lambda x: x[0:0].zero_(),
    "x.view(-1)[0:0].mul_(2)": lambda x: x.view(-1)[0:0].mul_(2),
    "x[[]].add_(1)": lambda x: x[[]].add_(1),
    "x[0:0][...] = 1": lambda x: x[0:0].__setitem__(Ellipsis, 1),
    "x.reshape(3, 0)": lambda x: x.reshape(3, 0).add_(1),
}


@pytest.mark.torch
@pytest.mark.parametrize("case", list(EMPTY_VIEW_WRITES))
def test_inplace_on_an_empty_view_of_a_leaf_raises_as_pytorch(case):
    """An empty view is a view all the same (it shares no memory to tell); an index array's
    empty result is a copy, so writing to it is fine, as in PyTorch."""
    torch = pytest.importorskip("torch")
    got = []
    for T in (torch, tinyconv):
        x = (
            T.zeros(3, 0, requires_grad=True)
            if "reshape" in case
            else T.zeros(3, requires_grad=True)
        )
        try:
            EMPTY_VIEW_WRITES[case](x)
            got.append("ok")
        except RuntimeError:
            got.append("RuntimeError")
    assert got[1] == got[0]


@pytest.mark.torch
def test_inplace_on_an_expand_that_repeats_nothing_works_as_pytorch():
    """expand() to the same shape or with only new size-1 dims repeats no element, so PyTorch
    lets it be written in place (values and gradients flow to the base); a real expansion raises."""
    torch = pytest.importorskip("torch")
    w = np.array([[0.5, -1.0], [2.0, 3.0]])
    for sizes, op in [((-1, -1), "zero_"), ((1, 2, 2), "mul_"), ((2, 2, 2), "mul_")]:
        got = []
        for T in (torch, tinyconv):
            x = T.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=T.float64, requires_grad=True)
            a = x * 1
            try:
                e = a.expand(*sizes)
                e.zero_() if op == "zero_" else e.mul_(3.0)
                (a * T.tensor(w)).sum().backward()
                got.append((a.tolist(), x.grad.tolist()))
            except RuntimeError:
                got.append("RuntimeError")
        assert got[1] == got[0], sizes


@pytest.mark.parametrize(
    "write, expected_grad",
    [
        (lambda v: v.zero_(), 0.0),
        (lambda v: v.mul_(3), 7.5),  # 5 * 3 * d log(x)/dx at x = 2
    ],
)
def test_inplace_on_a_view_of_a_0d_tensor(write, expected_grad):
    # unsqueeze of a 0-d tensor is a view whose root has no dims to index by position
    x = tinyconv.tensor(2.0, dtype=tinyconv.float64, requires_grad=True)
    v = x.log().unsqueeze(0)
    write(v)
    (v.sum() * 5).backward()
    assert x.grad.item() == pytest.approx(expected_grad, rel=1e-12)


# Every activation and dropout that takes inplace=True, as a function and as a module: the
# input is overwritten and returned (F.relu and F.leaky_relu, nn.ReLU/LeakyReLU/Dropout once
# computed a new tensor and left the input alone: code that reads the input afterwards saw
# other numbers than PyTorch's).
INPLACE_ACTIVATIONS = {
    "relu": lambda T, y: T.nn.functional.relu(y, inplace=True),
    "leaky_relu": lambda T, y: T.nn.functional.leaky_relu(y, 0.2, inplace=True),
    "leaky_relu slope 0": lambda T, y: T.nn.functional.leaky_relu(y, 0.0, True),
    "leaky_relu negative slope": lambda T, y: T.nn.functional.leaky_relu(y, -0.2, True),
    "relu6": lambda T, y: T.nn.functional.relu6(y * 4, inplace=True),
    "hardtanh": lambda T, y: T.nn.functional.hardtanh(y, -0.5, 0.5, inplace=True),
    "elu": lambda T, y: T.nn.functional.elu(y, inplace=True),
    "selu": lambda T, y: T.nn.functional.selu(y, inplace=True),
    "celu": lambda T, y: T.nn.functional.celu(y, 2.0, inplace=True),
    "silu": lambda T, y: T.nn.functional.silu(y, inplace=True),
    "hardswish": lambda T, y: T.nn.functional.hardswish(y, inplace=True),
    "hardsigmoid": lambda T, y: T.nn.functional.hardsigmoid(y, inplace=True),
    "mish": lambda T, y: T.nn.functional.mish(y, inplace=True),
    "threshold": lambda T, y: T.nn.functional.threshold(y, 0.1, 20.0, inplace=True),
    "dropout p=1": lambda T, y: T.nn.functional.dropout(y, 1.0, inplace=True),
    "dropout1d p=1": lambda T, y: T.nn.functional.dropout1d(y, 1.0, inplace=True),
    "dropout2d p=1": lambda T, y: T.nn.functional.dropout2d(y.view(1, 3, 4, 1), 1.0, True),
    "nn.ReLU": lambda T, y: T.nn.ReLU(inplace=True)(y),
    "nn.LeakyReLU": lambda T, y: T.nn.LeakyReLU(0.3, inplace=True)(y),
    "nn.Dropout p=1": lambda T, y: T.nn.Dropout(1.0, inplace=True)(y),
    "nn.Dropout eval": lambda T, y: T.nn.Dropout(0.5, inplace=True).eval()(y),
    "nn.Hardtanh": lambda T, y: T.nn.Hardtanh(inplace=True)(y * 2),
    "nn.ELU": lambda T, y: T.nn.ELU(inplace=True)(y),
}


NAMES_MATCH = {"relu", "leaky_relu", "leaky_relu slope 0", "nn.ReLU", "nn.LeakyReLU", "dropout p=1"}


@pytest.mark.torch
@pytest.mark.parametrize("grad", [False, True])
@pytest.mark.parametrize("name", sorted(INPLACE_ACTIVATIONS))
def test_inplace_activations_write_their_input(name, grad):
    torch = pytest.importorskip("torch")
    x0 = np.array([[-1.5, -0.25, 0.0, 0.5], [1.0, -2.0, 3.0, 0.125], [2.5, -0.5, 0.75, -3.0]])
    w = np.linspace(-1.0, 2.0, 12).reshape(3, 4)
    got = []
    for T in (torch, tinyconv):
        x = T.tensor(x0, requires_grad=grad)
        y = x * 1 if grad else x
        out = INPLACE_ACTIVATIONS[name](T, y)
        res = [out.detach().numpy().copy(), y.detach().numpy().copy()]
        if grad:
            res.append(out.grad_fn.name() if out.grad_fn is not None else None)
            try:
                (out * T.tensor(w).reshape(out.shape)).sum().backward()
                res.append(x.grad.numpy().copy())
            except RuntimeError:
                res.append("RuntimeError")
        got.append(res)
    want, mine = got
    np.testing.assert_allclose(mine[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(mine[1], want[1], rtol=1e-12)  # the input was written
    if grad:
        if name in NAMES_MATCH:  # (other in-place nodes' names: see test_grad_fn_names)
            assert mine[2] == want[2]
        if isinstance(want[3], str) or isinstance(mine[3], str):
            assert mine[3] == want[3]
        else:
            np.testing.assert_allclose(mine[3], want[3], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "write",
    [
        lambda x: x[0].mul_(2),
        lambda x: x.t().add_(1),
        lambda x: x.view(-1).__setitem__(1, 5.0),
        lambda x: x.__setitem__((0, 1), 3.0),
    ],
)
def test_a_view_of_a_leaf_made_from_a_view_refuses_inplace_writes(write):
    # x is a view of a plain tensor that became a leaf by requires_grad_(): writing through a
    # view of x raises, as PyTorch's does, and x stays a leaf whose gradient is right (before,
    # the write went into the plain base's history and x.grad came out [[2, 2, 2], [0, 0, 0]])
    x = tinyconv.arange(6.0).reshape(2, 3).requires_grad_()
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        write(x)
    assert x.is_leaf and x.grad_fn is None
    x.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))
    with tinyconv.no_grad():  # (under no_grad the write is allowed)
        x[0].mul_(2)
    np.testing.assert_array_equal(x.detach().numpy(), [[0, 2, 4], [3, 4, 5]])
