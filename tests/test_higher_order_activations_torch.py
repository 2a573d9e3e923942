"""Higher-order gradients of the activations against PyTorch, exactly on their branch boundaries
(0, +-lambd, +-3, the threshold, min and max), where the first derivative takes one side and
PyTorch's double backward (its own formula in derivatives.yaml, not the derivative of the
first) may take the other; and the engine details a create_graph backward shows (which
gradients stay in the graph, the in-place and anomaly errors). float64, rtol 1e-12."""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

LIBS = {"torch": torch, "tinyconv": tinyconv}


def _np(t):
    return None if t is None else t.detach().numpy().copy()


def _orders(T, fn, arrays, v, order=3):
    """The output and, per order k, the gradients of sum(grad_{k-1} * u_k) with respect to the
    inputs and the output's weights v (None where unused), and whether each requires grad."""
    xs = [T.tensor(a, requires_grad=True) for a in arrays]
    w = T.tensor(v, requires_grad=True)
    out = fn(T, *xs)
    res = {"out": _np(out)}
    cur, ins = (out * w).sum(), [*xs, w]
    rs = np.random.RandomState(1)
    for k in range(1, order + 1):
        gs = T.autograd.grad(cur, ins, create_graph=k < order, allow_unused=True)
        res[f"g{k}"] = [_np(g) for g in gs]
        res[f"rg{k}"] = [None if g is None else g.requires_grad for g in gs]
        terms = [(g * T.tensor(rs.randn(*g.shape))).sum() for g in gs if g is not None]
        terms = [t for t in terms if t.requires_grad]
        if not terms:
            break
        cur = sum(terms[1:], terms[0])
    return res


def _assert_same(a, b, what):
    if isinstance(a, list):
        assert len(a) == len(b), what
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{what}[{i}]")
    elif a is None or b is None or isinstance(a, bool):
        assert a == b, f"{what}: torch {a}, tinyconv {b}"
    else:
        assert a.shape == b.shape, what
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=0, err_msg=what)


def F(T):
    return T.nn.functional


def B(*v):
    return np.array(v, dtype=np.float64)


# (name, fn over the library T, input arrays): the points sit on each branch boundary
BOUNDARY_CASES = [
    ("elu", lambda T, x: F(T).elu(x), [B(0, -0.0, 1e-300, -1e-300, 0.5, -0.5)]),
    ("elu_alpha2", lambda T, x: F(T).elu(x, 2.0), [B(0, 0.5, -0.5)]),
    ("elu_negative_alpha", lambda T, x: F(T).elu(x, -1.0), [B(0, 0.5, -0.5)]),
    ("celu_0.5", lambda T, x: F(T).celu(x, 0.5), [B(0, 0.5, -0.5)]),
    ("celu_0.3", lambda T, x: F(T).celu(x, 0.3), [B(0, 0.5, -0.5)]),
    ("selu", lambda T, x: F(T).selu(x), [B(0, 0.5, -0.5)]),
    ("elu_", lambda T, x: F(T).elu(x * 1, inplace=True), [B(0, 0.5, -0.5)]),
    ("elu_alpha2_", lambda T, x: F(T).elu(x * 1, 2.0, inplace=True), [B(0, 0.5, -0.5)]),
    ("celu_", lambda T, x: F(T).celu(x * 1, 0.5, inplace=True), [B(0, 0.5, -0.5)]),
    ("selu_", lambda T, x: F(T).selu(x * 1, inplace=True), [B(0, 0.5, -0.5)]),
    ("softplus", lambda T, x: F(T).softplus(x), [B(0, 20, 19.99, 20.01, -3)]),
    ("softplus_threshold0", lambda T, x: F(T).softplus(x, threshold=0.0), [B(0, 0.5, -0.5)]),
    ("softplus_beta2", lambda T, x: F(T).softplus(x, 2.0, 1.0), [B(0, 0.5, 0.25, -0.5)]),
    ("softplus_beta-1", lambda T, x: F(T).softplus(x, -1.0, 1.0), [B(0, -1, 1, 0.5, -0.5)]),
    ("prelu", lambda T, x, w: F(T).prelu(x, w), [B(0, 1, -1), B(0.25)]),
    (
        "prelu_channels",
        lambda T, x, w: F(T).prelu(x, w),
        [np.array([0.0, 1, -1, 2, -2, -0.0, 3, -0.5]).reshape(1, 2, 2, 2), B(0.25, -0.5)],
    ),
    ("rrelu_eval", lambda T, x: F(T).rrelu(x), [B(0, 1, -1)]),
    ("rrelu_eval_", lambda T, x: F(T).rrelu(x * 1, inplace=True), [B(0, 1, -1)]),
    ("leaky_relu", lambda T, x: F(T).leaky_relu(x, 0.1), [B(0, 1, -1)]),
    ("leaky_relu_negative", lambda T, x: F(T).leaky_relu(x, -0.5), [B(0, 1, -1)]),
    ("leaky_relu_slope1", lambda T, x: F(T).leaky_relu(x, 1.0), [B(0, 1, -1)]),
    ("leaky_relu_slope2", lambda T, x: F(T).leaky_relu(x, 2.0), [B(0, 1, -1)]),
    ("leaky_relu_", lambda T, x: F(T).leaky_relu(x * 1, 0.2, inplace=True), [B(0, 1, -1)]),
    ("relu", lambda T, x: F(T).relu(x), [B(0, 1, -1)]),
    ("relu_", lambda T, x: F(T).relu(x * 1, inplace=True), [B(0, 1, -1)]),
    ("hardtanh", lambda T, x: F(T).hardtanh(x), [B(0, 1, -1, 2, -2, 0.5)]),
    ("hardtanh_limits", lambda T, x: F(T).hardtanh(x, -0.5, 0.5), [B(0, 0.5, -0.5, 2)]),
    ("hardtanh_", lambda T, x: F(T).hardtanh(x * 1, inplace=True), [B(0, 1, -1, 0.5)]),
    ("relu6", lambda T, x: F(T).relu6(x), [B(0, 6, 3, -1, 7)]),
    ("hardswish", lambda T, x: F(T).hardswish(x), [B(0, 3, -3, 1, 4, -4)]),
    ("silu", lambda T, x: F(T).silu(x), [B(0, 1, -1)]),
    ("mish", lambda T, x: F(T).mish(x), [B(0, 1, -1)]),
    ("gelu_tanh", lambda T, x: F(T).gelu(x, approximate="tanh"), [B(0, 1, -1)]),
    ("logsigmoid", lambda T, x: F(T).logsigmoid(x), [B(0, 1, -1)]),
    ("softsign", lambda T, x: F(T).softsign(x), [B(0, -0.0, 1, -1)]),
    ("tanhshrink", lambda T, x: F(T).tanhshrink(x), [B(0, 1, -1)]),
    ("threshold", lambda T, x: F(T).threshold(x, 0.1, 20.0), [B(0, 0.1, -1, 1)]),
    ("threshold_", lambda T, x: F(T).threshold(x * 1, 0.0, 3.0, inplace=True), [B(0, 1, -1)]),
    ("hardshrink", lambda T, x: F(T).hardshrink(x), [B(0, 0.5, -0.5, 1, -1, 0.2)]),
    ("softshrink", lambda T, x: F(T).softshrink(x), [B(0, 0.5, -0.5, 1, -1, 0.2)]),
    ("softshrink_0", lambda T, x: F(T).softshrink(x, 0.0), [B(0, 0.5, -0.5)]),
    ("glu", lambda T, x: F(T).glu(x, 0), [B(0, 1, -1, 0, 2, -2)]),
]


@pytest.mark.parametrize(
    "fn, arrays", [c[1:] for c in BOUNDARY_CASES], ids=[c[0] for c in BOUNDARY_CASES]
)
def test_first_second_third_order_on_the_branch_boundaries(fn, arrays):
    shape = fn(torch, *[torch.tensor(a) for a in arrays]).shape
    v = np.random.RandomState(0).randn(*shape)
    want = _orders(torch, fn, arrays, v)
    got = _orders(tinyconv, fn, arrays, v)
    assert sorted(got) == sorted(want)
    for k in want:
        _assert_same(want[k], got[k], k)


@pytest.mark.parametrize(
    "fn",
    [
        lambda T, t: F(T).hardshrink(t),
        lambda T, t: F(T).softshrink(t),
        lambda T, t: F(T).threshold(t, 0.5, -2.0),
        lambda T, t: F(T).logsigmoid(t),
        lambda T, t: F(T).prelu(t, T.tensor([0.25], dtype=T.float64)),
    ],
    ids=["hardshrink", "softshrink", "threshold", "logsigmoid", "prelu"],
)
def test_output_layout_of_a_transposed_input(fn):
    def run(T):
        x = T.tensor(np.random.RandomState(0).randn(3, 4)).t()
        return fn(T, x).stride()

    want, got = _both(run)
    assert got == want


def test_elu_family_second_derivative_at_zero_is_the_linear_sides():
    # the hunt's case (r11): f'' at exactly 0 is 0 in PyTorch, f' there the x <= 0 side's
    for fn in (
        lambda T, t: F(T).elu(t),
        lambda T, t: F(T).celu(t, 0.5),
        lambda T, t: F(T).selu(t),
        lambda T, t: F(T).softplus(t, threshold=0.0),
    ):
        for T in (torch, tinyconv):
            x = T.tensor([0.0], dtype=T.float64, requires_grad=True)
            (g,) = T.autograd.grad(fn(T, x).sum(), x, create_graph=True)
            (h,) = T.autograd.grad(g.sum(), x)
            assert h.item() == 0.0 and g.item() != 0.0


def test_prelu_mixed_second_derivative_counts_only_negative_inputs():
    for T in (torch, tinyconv):
        x = T.tensor([0.0, 1.0, -1.0], dtype=T.float64, requires_grad=True)
        w = T.tensor([0.25], dtype=T.float64, requires_grad=True)
        (gx,) = T.autograd.grad(F(T).prelu(x, w).sum(), x, create_graph=True)
        assert gx.tolist() == [0.25, 1.0, 0.25]
        assert T.autograd.grad(gx.sum(), w)[0].tolist() == [1.0]


# -- the create_graph gradient stays in the graph -------------------------------------------


@pytest.mark.parametrize("name", ["prelu", "hardshrink", "softshrink", "threshold", "leaky"])
def test_piecewise_linear_gradient_stays_connected(name):
    def run(T):
        fns = {
            "prelu": lambda t: F(T).prelu(t, T.tensor([0.25])),
            "hardshrink": F(T).hardshrink,
            "softshrink": F(T).softshrink,
            "threshold": lambda t: F(T).threshold(t, 0.1, 0.0),
            "leaky": lambda t: F(T).leaky_relu(t, 0.1),
        }
        x = T.tensor([-1.5, -0.2, 0.3, 2.0, 0.5, 0.1, 0.0], requires_grad=True)
        (g,) = T.autograd.grad(fns[name](x).sum(), x, create_graph=True)
        g.pow(2).sum().backward()
        return g.requires_grad, type(g.grad_fn).__name__, _np(x.grad)

    want, got = run(torch), run(tinyconv)
    assert got[:2] == want[:2]
    np.testing.assert_array_equal(got[2], want[2])


def _penalty_grads(T, act):
    T.manual_seed(0)
    net = T.nn.Sequential(T.nn.Linear(4, 3), act(T), T.nn.Linear(3, 1)).double()
    inp = T.tensor(np.random.RandomState(3).randn(5, 4), requires_grad=True)
    # (the same weights in both libraries)
    with T.no_grad():
        for k, p in enumerate(net.parameters()):
            p.copy_(T.tensor(np.random.RandomState(10 + k).randn(*p.shape)))
    (g,) = T.autograd.grad(net(inp).sum(), inp, create_graph=True)
    (g.norm(dim=1) - 1).pow(2).mean().backward()
    return [_np(p.grad) for p in net.parameters()] + [_np(inp.grad)]


@pytest.mark.parametrize(
    "act",
    [
        lambda T: T.nn.PReLU(3),
        lambda T: T.nn.Hardshrink(0.3),
        lambda T: T.nn.Softshrink(0.3),
        lambda T: T.nn.Threshold(0.1, 0.0),
        lambda T: T.nn.ELU(),
        lambda T: T.nn.Softplus(beta=2.0, threshold=1.0),
    ],
    ids=["PReLU", "Hardshrink", "Softshrink", "Threshold", "ELU", "Softplus"],
)
def test_gradient_penalty_gives_every_parameter_torchs_grad(act):
    want, got = _penalty_grads(torch, act), _penalty_grads(tinyconv, act)
    for i, (a, b) in enumerate(zip(want, got, strict=True)):
        _assert_same(a, b, f"grad {i}")


# -- in-place activations save their result ---------------------------------------------------


@pytest.mark.parametrize(
    "act",
    [
        lambda T, y: F(T).elu(y, inplace=True),
        lambda T, y: F(T).celu(y, inplace=True),
        lambda T, y: F(T).selu(y, inplace=True),
        lambda T, y: F(T).leaky_relu(y, 0.1, inplace=True),
        lambda T, y: F(T).rrelu(y, inplace=True),
        lambda T, y: F(T).elu_(y),
    ],
    ids=["elu", "celu", "selu", "leaky_relu", "rrelu", "elu_"],
)
def test_inplace_activation_then_inplace_op_fails_backward(act):
    for T in (torch, tinyconv):
        x = T.tensor([1.0, -2.0, 3.0], requires_grad=True)
        z = act(T, x * 1)
        z.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


def test_inplace_activation_backward_unchanged_without_a_later_write():
    def run(T):
        x = T.tensor([1.0, -2.0, 0.0, 3.0], dtype=T.float64, requires_grad=True)
        F(T).elu(x * 1, alpha=0.5, inplace=True).sum().backward()
        F(T).celu(x * 2, alpha=0.3, inplace=True).sum().backward()
        F(T).leaky_relu(x * 3, 0.2, inplace=True).sum().backward()
        return _np(x.grad)

    np.testing.assert_allclose(run(tinyconv), run(torch), rtol=1e-15)


# -- detect_anomaly flags NaN only ------------------------------------------------------------


def test_detect_anomaly_lets_an_inf_gradient_pass_and_flags_nan():
    for T in (torch, tinyconv):
        x = T.tensor([0.0, 1.0], requires_grad=True)
        with pytest.warns(UserWarning), T.autograd.detect_anomaly():
            x.sqrt().sum().backward()
        assert np.isinf(x.grad.numpy()[0])
        y = T.tensor([-1.0, 1.0], requires_grad=True)
        with pytest.warns(UserWarning), T.autograd.detect_anomaly():
            with pytest.raises(RuntimeError, match="SqrtBackward0"):
                y.sqrt().sum().backward()


# -- small engine details ---------------------------------------------------------------------


def _both(fn):
    """fn(torch), fn(tinyconv): the value, or the exception's type."""
    out = []
    for T in (torch, tinyconv):
        try:
            out.append(fn(T))
        except Exception as e:  # noqa: BLE001 (the comparison is the test)
            out.append(type(e).__name__)
    return out


@pytest.mark.parametrize(
    "f",
    [
        lambda T, x: T.addcmul(x, T.ones(2), T.ones(2)),
        lambda T, x: T.lerp(x, T.ones(2), 0.5),
        lambda T, x: T.addcmul(x, T.ones(2, requires_grad=True), T.ones(2)),
        lambda T, x: T.lerp(x, T.ones(2), T.full((2,), 0.5)),
    ],
    ids=["addcmul", "lerp", "addcmul_saves", "lerp_tensor_weight_saves"],
)
def test_second_backward_raises_only_where_torch_saved_tensors(f):
    def twice(T):
        x = T.tensor([1.0, 2.0], requires_grad=True)
        y = f(T, x).sum()
        y.backward()
        y.backward()
        return x.grad.tolist()

    want, got = _both(twice)
    assert got == want


def test_bernoulli_of_probabilities_that_require_grad():
    def run(T):
        p = T.tensor([0.3, 0.6], requires_grad=True)
        b = T.bernoulli(p)
        b.sum().backward()
        return b.requires_grad, type(b.grad_fn).__name__, p.grad.tolist()

    want, got = _both(run)
    assert got == want


@pytest.mark.parametrize(
    "hook",
    [
        lambda T, t: T.zeros(2),
        lambda T, t: t.grad,
        lambda T, t: 5,
        lambda T, t: t.add_(t.grad, alpha=-0.5),  # (the leaf itself: fine)
        lambda T, t: None,
    ],
    ids=["other_tensor", "its_grad", "number", "itself", "none"],
)
def test_post_accumulate_grad_hook_result_is_checked(hook):
    def run(T):
        x = T.tensor([1.0, 2.0], requires_grad=True)
        x.register_post_accumulate_grad_hook(lambda t: hook(T, t))
        try:
            (x * 2).sum().backward()
        except (RuntimeError, TypeError) as e:
            return type(e).__name__, str(e)
        return x.tolist()

    want, got = _both(run)
    assert got == want


def test_expanded_leaf_grad_is_contiguous():
    def run(T):
        y = T.ones(3).expand(2, 3).requires_grad_()
        (y * 2).sum().backward()
        t = T.ones(3, 2).t().requires_grad_()  # (dense: its .grad keeps its strides)
        (t * 2).sum().backward()
        return y.grad.stride(), y.grad.is_contiguous(), t.grad.stride()

    want, got = _both(run)
    assert got == want


def test_pack_hook_runs_with_grad_disabled():
    def run(T):
        x = T.tensor([1.0, 2.0], dtype=T.float64, requires_grad=True)
        seen = []

        def pack(t):
            seen.append(T.is_grad_enabled())
            return t

        with T.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            y = x.exp()
        y.sum().backward()
        return seen, _np(x.grad)

    (want, wgrad), (got, grad) = _both(run)
    assert got == want == [False]
    np.testing.assert_allclose(grad, wgrad, rtol=1e-12)


def test_unbind_outputs_are_numbered():
    def run(T):
        x = T.ones(3, 2, requires_grad=True)
        a, b, c = x.unbind(0)
        s = x.split(1)
        z = c * 2
        return (
            (a.output_nr, b.output_nr, c.output_nr),
            z.grad_fn.next_functions[0][1],
            s[2].output_nr,
            (x * 1).output_nr,
        )

    want, got = _both(run)
    assert got == want


# -- a custom Function returning a view of its input ------------------------------------------


def _custom_view_functions(T):
    class V(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.view(-1)

        @staticmethod
        def backward(ctx, g):
            return g.view(2, 2) * 5

    class Id(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    class Fresh(T.autograd.Function):  # (a new tensor: in-place is fine)
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 5

    return V, Id, Fresh


@pytest.mark.parametrize("k", [0, 1])
def test_custom_function_view_output_modified_in_place_raises(k):
    for T in (torch, tinyconv):
        fn = _custom_view_functions(T)[k]
        x = T.ones(2, 2, requires_grad=True)
        y = fn.apply(x * 1)
        with pytest.raises(RuntimeError, match=f"Output 0 of {fn.__name__} is a view"):
            y.mul_(2)


def test_custom_function_fresh_output_modified_in_place_is_fine():
    def run(T):
        fresh = _custom_view_functions(T)[2]
        x = T.ones(2, 2, requires_grad=True)
        y = fresh.apply(x * 1)
        y.mul_(2)
        y.sum().backward()
        with T.no_grad():
            view = _custom_view_functions(T)[0].apply(x * 1)
            view.mul_(2)  # (no grad mode: nothing to protect)
        return x.grad.tolist(), view.tolist()

    want, got = _both(run)
    assert got == want
