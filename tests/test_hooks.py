"""Module hooks against PyTorch 2.13: what each hook receives (shapes, values), what a returned
value replaces, the order of calls, and removal through the handle.

Every test runs the same code on tinyconv and on torch (the `lib` argument) with identical
weights, records what the hooks saw as NumPy arrays, and compares the two records.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinyconv
from tinyconv import nn


@pytest.fixture(scope="module")
def pt():
    return pytest.importorskip("torch")


def make_cnn(lib):
    """A small CNN: conv -> bn -> relu -> a residual block -> pool -> linear."""
    lnn = lib.nn

    class Block(lnn.Module):
        def __init__(self):
            super().__init__()
            self.conv = lnn.Conv2d(3, 3, 3, padding=1, bias=False)
            self.relu = lnn.ReLU()

        def forward(self, x):
            return self.relu(self.conv(x) + x)

    class Net(lnn.Module):
        def __init__(self):
            super().__init__()
            self.conv = lnn.Conv2d(2, 3, 3, padding=1)
            self.bn = lnn.BatchNorm2d(3)
            self.act = lnn.ReLU()
            self.block = Block()
            self.pool = lnn.AdaptiveAvgPool2d(1)
            self.flat = lnn.Flatten()
            self.fc = lnn.Linear(3, 4)

        def forward(self, x):
            x = self.act(self.bn(self.conv(x)))
            return self.fc(self.flat(self.pool(self.block(x))))

    return Net()


def pair(pt):
    """(tinyconv model, torch model) with the same weights (float64: exact comparisons)."""
    pt.manual_seed(0)
    b = make_cnn(pt).double()
    a = make_cnn(tinyconv).double()
    a.load_state_dict({k: tinyconv.tensor(v.numpy().copy()) for k, v in b.state_dict().items()})
    return a, b


X = np.random.default_rng(0).standard_normal((2, 2, 5, 5))


def arr(t):
    if t is None:
        return None
    return t.detach().numpy().copy()


def same_records(ra, rb):
    assert len(ra) == len(rb), (ra, rb)
    for x, y in zip(ra, rb, strict=True):
        if isinstance(x, tuple):
            assert isinstance(y, tuple) and len(x) == len(y), (x, y)
            same_records(list(x), list(y))
        elif isinstance(x, np.ndarray):
            assert x.shape == y.shape and x.dtype == y.dtype, (x.shape, y.shape)
            np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)
        else:
            assert x == y, (x, y)


def record(x):
    return tuple(arr(t) if t is None or hasattr(t, "detach") else t for t in x)


def run_both(pt, body):
    """body(lib, model, x, log) on both; the two logs and results compared."""
    out = []
    for lib, model in zip((tinyconv, pt), pair(pt), strict=True):
        log: list = []
        x = lib.tensor(X.copy(), requires_grad=True)
        res = body(lib, model, x, log)
        out.append((log, res))
    same_records(out[0][0], out[1][0])
    return out


# -- forward pre-hooks and forward hooks ------------------------------------------------------


def test_forward_hooks_arguments_and_order(pt):
    def body(lib, m, x, log):
        for name, sub in m.named_modules():
            sub.register_forward_pre_hook(
                lambda mod, args, name=name: log.extend([f"pre {name}", *record(args)])
            )
            sub.register_forward_hook(
                lambda mod, args, out, name=name: log.extend(
                    [f"post {name}", *record(args), arr(out)]
                )
            )
        y = m(x)
        return arr(y)

    (_, ya), (_, yb) = run_both(pt, body)
    np.testing.assert_allclose(ya, yb, rtol=1e-10)


def test_forward_hooks_replace_args_and_output(pt):
    def body(lib, m, x, log):
        m.conv.register_forward_pre_hook(lambda mod, args: args[0] * 2)  # not a tuple: wrapped
        m.fc.register_forward_pre_hook(lambda mod, args: (args[0] + 1,))
        m.block.register_forward_hook(lambda mod, args, out: out - 0.5)
        m.fc.register_forward_hook(lambda mod, args, out: log.append(arr(out)))
        m.fc.register_forward_hook(lambda mod, args, out: out * 3)
        m.fc.register_forward_hook(lambda mod, args, out: log.append(arr(out)))
        y = m(x)
        y.sum().backward()
        log.append(arr(x.grad))
        log.append(arr(m.conv.weight.grad))
        return None

    run_both(pt, body)


def test_forward_hooks_with_kwargs_prepend_and_always_call(pt):
    def body(lib, m, x, log):
        class Scale(lib.nn.Module):
            def forward(self, x, scale=1.0):
                if scale < 0:
                    raise ValueError("negative scale")
                return x * scale

        s = Scale()

        def pre_kw(mod, args, kwargs):
            log.append(("pre_kw", kwargs.get("scale")))
            return args, {"scale": kwargs.get("scale", 1.0) * 2}

        s.register_forward_pre_hook(pre_kw, with_kwargs=True)
        s.register_forward_pre_hook(lambda mod, args: log.append("first"), prepend=True)
        s.register_forward_hook(
            lambda mod, args, kwargs, out: log.append(("post_kw", kwargs["scale"], arr(out))),
            with_kwargs=True,
        )
        s.register_forward_hook(lambda mod, args, out: log.append("plain"))
        s.register_forward_hook(
            lambda mod, args, out: log.append(("always", out is None)), always_call=True
        )
        s(x, scale=1.5)
        with pytest.raises(ValueError, match="negative scale"):
            s(x, scale=-1.0)
        bad = lib.nn.Identity()
        bad.register_forward_pre_hook(lambda mod, args, kwargs: 3, with_kwargs=True)
        with pytest.raises(RuntimeError):
            bad(x)
        return None

    run_both(pt, body)


def test_handles_remove_and_context_manager(pt):
    def body(lib, m, x, log):
        h1 = m.fc.register_forward_hook(lambda mod, a, o: log.append("h1"))
        h2 = m.fc.register_forward_hook(lambda mod, a, o: log.append("h2"), always_call=True)
        m(x)
        h1.remove()
        h1.remove()  # twice is harmless
        m(x)
        h2.remove()
        m(x)
        with m.fc.register_forward_pre_hook(lambda mod, a: log.append("ctx")):
            m(x)
        m(x)
        log.append(len(m.fc._forward_hooks) + len(m.fc._forward_pre_hooks))
        log.append(len(m.fc._forward_hooks_always_called))
        return None

    run_both(pt, body)


def test_global_forward_hooks(pt):
    from tinyconv.nn import module as tc_module

    def body(lib, m, x, log):
        mod = tc_module if lib is tinyconv else pt.nn.modules.module
        h1 = mod.register_module_forward_pre_hook(lambda mm, a: log.append(type(mm).__name__))
        h2 = mod.register_module_forward_hook(lambda mm, a, o: log.append(arr(o).shape))
        m.fc.register_forward_hook(lambda mm, a, o: log.append("local"))
        try:
            m(x)
        finally:
            h1.remove()
            h2.remove()
        m(x)  # removed: nothing more
        return None

    run_both(pt, body)


# -- backward hooks ---------------------------------------------------------------------------


def test_full_backward_hooks_arguments_and_order(pt):
    def body(lib, m, x, log):
        for name, sub in m.named_modules():
            sub.register_full_backward_pre_hook(
                lambda mod, go, name=name: log.extend([f"bpre {name}", *record(go)])
            )
            sub.register_full_backward_hook(
                lambda mod, gi, go, name=name: log.extend([f"bwd {name}", *record(gi), *record(go)])
            )
        m(x).pow(2).sum().backward()
        log.append(arr(x.grad))
        log.extend(arr(p.grad) for p in m.parameters())
        return None

    run_both(pt, body)


def test_full_backward_hook_replaces_grad_input(pt):
    def body(lib, m, x, log):
        m.block.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0.5,))
        m.fc.register_full_backward_pre_hook(lambda mod, go: (go[0] + 1,))
        m.conv.register_full_backward_hook(lambda mod, gi, go: log.append(record(gi)))
        m(x).sum().backward()
        log.append(arr(x.grad))
        log.extend(arr(p.grad) for p in m.parameters())
        return None

    run_both(pt, body)


def test_backward_hooks_several_inputs_and_outputs(pt):
    def body(lib, m, x, log):
        class Two(lib.nn.Module):
            def forward(self, a, idx, b, s):
                return a[idx] * 2 * s, b * 3, a.sum()

        t = Two()
        t.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", record(go))))
        t.register_full_backward_hook(
            lambda mod, gi, go: log.append(("full", record(gi), record(go)))
        )
        a = lib.tensor(X[0].copy(), requires_grad=True)
        b = lib.tensor(X[1].copy().astype(np.float32), requires_grad=True)  # another dtype
        c = lib.tensor(X[1].copy())  # no gradient: zeros in grad_input
        p, q, r = t(a, lib.tensor([1, 0]), b, 2.0)
        (p.sum() + q.sum()).backward()  # r unused: None in grad_output
        log.append((arr(a.grad), arr(b.grad)))
        p, q, r = t(a, lib.tensor([0]), c, 1.0)
        (p.sum() * 2 + r).backward()
        log.append(arr(a.grad))
        log.append((p.dtype == a.dtype, q.dtype == c.dtype, q.requires_grad))
        return None

    run_both(pt, body)


def test_backward_hook_when_no_input_requires_grad(pt):
    def body(lib, m, x, log):
        m.conv.register_full_backward_hook(
            lambda mod, gi, go: log.append(("conv", record(gi), record(go)))
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m(lib.tensor(X.copy())).sum().backward()  # the input needs no gradient
        return None

    run_both(pt, body)


def test_backward_hook_errors_match(pt):
    def attempts(lib):
        x = lib.ones(1, 2, requires_grad=True)
        out = []
        for hook in (
            lambda mod, gi, go: (None, None),  # wrong count
            lambda mod, gi, go: (lib.ones(3),),  # wrong shape
        ):
            lin = lib.nn.Linear(2, 2)
            lin.register_full_backward_hook(hook)
            try:
                lin(x).sum().backward()
            except Exception as e:  # noqa: BLE001
                out.append(type(e).__name__)
            else:
                out.append(None)
        lin = lib.nn.Linear(2, 2)
        lin.register_full_backward_pre_hook(lambda mod, go: (None, None))
        try:
            lin(x).sum().backward()
        except RuntimeError:
            out.append("RuntimeError")
        lin = lib.nn.Linear(2, 2)
        lin.register_full_backward_hook(lambda mod, gi, go: (lib.ones(1, 2),))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                lin(lib.ones(1, 2)).sum().backward()
            except RuntimeError:
                out.append("RuntimeError")
        return out

    assert attempts(tinyconv) == attempts(pt)


def probe_calls(lib) -> list:
    seen: list = []
    xx = lib.ones(2, requires_grad=True)

    class Probe(lib.nn.Module):
        def forward(self, x):
            seen.append((x is xx, x.requires_grad))
            return x * 2

    p = Probe()
    h = p.register_full_backward_hook(lambda *a: seen.append("hook"))
    y = p(xx)
    seen.append(type(y.grad_fn).__name__.startswith("BackwardHookFunction"))
    y.sum().backward()
    with lib.no_grad():
        seen.append(p(xx).requires_grad)
    h.remove()
    p(xx).sum().backward()
    return seen


def test_backward_hook_sees_a_new_input_tensor_and_removal(pt):
    # forward sees a new Tensor (the hook node's output); under no_grad and after removal,
    # the input itself
    expected = [(False, True), True, "hook", (True, True), False, (True, True)]
    assert probe_calls(tinyconv) == probe_calls(pt) == expected


def test_no_hooks_means_no_extra_nodes():
    lin = nn.Linear(2, 2)
    x = tinyconv.ones(1, 2, requires_grad=True)
    assert type(lin(x).grad_fn).__name__ != "BackwardHookFunction"
    h = lin.register_full_backward_hook(lambda *a: None)
    assert lin(x).grad_fn.name() == "BackwardHookFunctionBackward"
    h.remove()
    assert lin(x).grad_fn.name() != "BackwardHookFunctionBackward"


def hooked_twice(lib) -> list:
    """A hooked module under create_graph and under retain_graph: the hooks run once per
    backward that passes the module's outputs (not in the second pass of a double backward)."""

    class Cube(lib.nn.Module):
        def forward(self, x):
            return x * x * x

    m, log = Cube(), []
    m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", record(go))))
    m.register_full_backward_hook(
        lambda mod, gi, go: log.append(("full", gi[0].requires_grad, record(gi))) or (gi[0] * 2,)
    )
    x = lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64, requires_grad=True)
    (g,) = lib.autograd.grad(m(x).sum(), x, create_graph=True)
    log.append(("g", arr(g), g.requires_grad))
    g.sum().backward()
    log.append(("x.grad", arr(x.grad)))
    y = m(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    log.append(("x.grad", arr(x.grad)))
    return log


def test_backward_hooks_under_create_graph_and_retain_graph(pt):
    same_records(hooked_twice(tinyconv), hooked_twice(pt))


def packed_double_backward(lib) -> list:
    """Two inputs of different dtypes and two outputs (the packed path) under create_graph."""

    class Two(lib.nn.Module):
        def forward(self, a, b):
            return a * a * b, (b * 3).sum()

    m, log = Two(), []
    m.register_full_backward_hook(lambda mod, gi, go: log.append(record(gi)) or (gi[0] * 2, gi[1]))
    a = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    b = lib.tensor([3.0, -1.0], dtype=lib.float32, requires_grad=True)
    p, q = m(a, b)
    ga, gb = lib.autograd.grad(p.sum() + q, (a, b), create_graph=True)
    (ga.sum() + gb.sum()).backward()
    return [*log, arr(ga), arr(gb), arr(a.grad), arr(b.grad)]


def test_packed_backward_hooks_under_create_graph(pt):
    same_records(packed_double_backward(tinyconv), packed_double_backward(pt))


def _hooked_inplace_cases(lib):
    nn = lib.nn
    lin = nn.Linear(3, 3)
    lin.register_full_backward_hook(lambda m, gi, go: None)
    x = lib.randn(2, 3, requires_grad=True)

    class Doubles(nn.Module):
        def forward(self, a):
            return a.mul_(2)

    m = Doubles()
    m.register_full_backward_hook(lambda m, gi, go: None)

    def under_no_grad():
        out = lin(x)
        with lib.no_grad():
            out.add_(1)

    def setitem():
        out = lin(x)
        out[0] = 0

    def called_under_no_grad():
        with lib.no_grad():
            lin(x).add_(1)

    return [
        lambda: lin(x).add_(1),
        lambda: lin(x).relu_(),
        lambda: lin(x)[0].add_(1),
        lambda: lin(x).view(6).add_(1),
        setitem,
        lambda: lin(lib.randn(2, 3)).add_(1),  # (the parameters need grad: threaded all the same)
        lambda: m(x * 1),  # the hooked module's input, written inside its forward
        under_no_grad,
        called_under_no_grad,
        lambda: lin(x).detach().add_(1),
        lambda: lin(x).clone().add_(1),
        lambda: lin(x).data.add_(1),
    ]


def test_inplace_on_a_hooked_modules_tensors_raises_as_in_pytorch():
    """Grad-CAM-style code registering a full backward hook on a conv followed by
    nn.ReLU(inplace=True) raises in PyTorch ('Output 0 of BackwardHookFunction is a view and
    is being modified inplace'): the same cases raise here, the same others run."""
    torch = pytest.importorskip("torch")
    outcomes = []
    for lib in (torch, tinyconv):
        row = []
        for case in _hooked_inplace_cases(lib):
            try:
                case()
                row.append("ok")
            except RuntimeError as e:
                assert "is a view and is being modified inplace" in str(e)
                row.append("raises")
        outcomes.append(row)
    assert outcomes[1] == outcomes[0]
    assert outcomes[0] == ["raises"] * 7 + ["ok"] * 5
