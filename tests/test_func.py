"""tinyconv.func against torch.func (PyTorch 2.13): per-sample gradients of a small CNN with
functional_call + vmap(grad(...)), jacrev / jacfwd / hessian, vjp, argnums and has_aux, vmap's
in_dims / out_dims / randomness, composition with ordinary autograd, functional_call's
tie_weights / strict, and the errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinyconv
from tinyconv import func

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

TOL = {"rtol": 1e-12, "atol": 1e-12}


def fn_of(lib):
    return func if lib is tinyconv else torch.func


def arr(t):
    return t.detach().numpy()


def assert_tree_close(ours, theirs) -> None:
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for k in theirs:
            assert_tree_close(ours[k], theirs[k])
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            assert_tree_close(a, b)
    else:
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert ours.requires_grad == theirs.requires_grad
        np.testing.assert_allclose(arr(ours), arr(theirs), **TOL)


def both(run) -> None:
    """run(lib, fn, X) in both libraries on the same float64 data; results must agree."""
    x = np.random.default_rng(0).standard_normal((4, 3))
    results = [run(lib, fn_of(lib), lib.tensor(x)) for lib in (tinyconv, torch)]
    assert_tree_close(*results)


def cnn(lib):
    rng = np.random.default_rng(1)
    m = lib.nn.Sequential(
        lib.nn.Conv2d(1, 2, 3), lib.nn.Tanh(), lib.nn.Flatten(), lib.nn.Linear(8, 3)
    ).double()
    for p in m.parameters():
        p.data = lib.tensor(rng.standard_normal(tuple(p.shape)) * 0.5)
    return m


def test_per_sample_gradients_match_torch() -> None:
    """The torch.func tutorial: vmap(grad(loss of functional_call)) over a batch."""
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((5, 1, 4, 4)), rng.integers(0, 3, 5)
    results = []
    for lib in (tinyconv, torch):
        fn, model = fn_of(lib), cnn(lib)
        params = {k: v.detach() for k, v in model.named_parameters()}

        def loss(p, sample, target, model=model, lib=lib, fn=fn):
            out = fn.functional_call(model, p, (sample.unsqueeze(0),))
            return lib.nn.functional.cross_entropy(out, target.unsqueeze(0))

        per_sample = fn.vmap(fn.grad(loss), in_dims=(None, 0, 0))(
            params, lib.tensor(x), lib.tensor(y)
        )
        results.append(per_sample)
        assert model[0].weight.requires_grad  # the model's own parameters are back
    assert_tree_close(*results)
    # and equal to a per-sample loop of ordinary backward passes
    model = cnn(tinyconv)
    for i in range(5):
        model.zero_grad()
        out = model(tinyconv.tensor(x[i : i + 1]))
        tinyconv.nn.functional.cross_entropy(out, tinyconv.tensor(y[i : i + 1])).backward()
        for k, p in model.named_parameters():
            np.testing.assert_allclose(arr(results[0][k][i]), arr(p.grad), **TOL)


@pytest.mark.parametrize("which", ["jacrev", "jacfwd"])
def test_jacobians_match_torch(which: str) -> None:
    def run(lib, fn, X):
        jac = getattr(fn, which)
        return (
            jac(lambda a: a.sin() * a)(X[0]),  # elementwise: a diagonal
            jac(lambda a: a.exp())(X[:2]),  # (2, 3) -> (2, 3, 2, 3)
            jac(lambda a, b: (a * b).sum(0), argnums=(0, 1))(X[:2], X[2:]),
            jac(lambda d: {"s": (d["a"] * d["b"]).tanh()})({"a": X[0], "b": X[1]}),
            jac(lambda a: (a.cos(), a.sum()), has_aux=True)(X[0]),
            jac(lambda a: a.sum())(X[0]),  # 0-d output: the gradient's shape
        )

    both(run)


def test_hessian_vjp_grad_and_value_match_torch() -> None:
    def run(lib, fn, X):
        f = lambda a, b: ((a * b).sin() * a).sum()  # noqa: E731
        out, vjp_fn = fn.vjp(lambda a, b: (a * b, a.exp().sum()), X[0], X[1])
        out2, vjp_fn2, aux = fn.vjp(lambda a: (a.cos(), {"k": a * 3}), X[2], has_aux=True)
        return (
            fn.hessian(f)(X[0], X[1]),
            fn.hessian(f, argnums=1)(X[0], X[1]),
            out,
            vjp_fn((X[2], lib.tensor(2.0, dtype=lib.float64))),
            vjp_fn((X[3], lib.tensor(-1.0, dtype=lib.float64))),  # a second call
            (out2, vjp_fn2(X[3]), aux),
            fn.grad_and_value(f, argnums=(0, 1))(X[0], X[1]),
            fn.grad_and_value(lambda a: ((a**2).sum(), a * 2), has_aux=True)(X[0]),
            fn.grad(lambda a, b: (b**2).sum())(X[0], X[1]),  # unused argument: zeros
            fn.grad(lambda a: lib.tensor(1.0, dtype=lib.float64))(X[0]),
            fn.grad(fn.grad(lambda a: (a**3).sum()))(X[0, 0]),  # grad of grad
        )

    both(run)


def test_vmap_dims_match_torch() -> None:
    def run(lib, fn, X):
        return (
            fn.vmap(lambda a: a * a.sum())(X),
            fn.vmap(lambda a, b: a @ b, in_dims=(0, None))(X, X[0]),
            fn.vmap(lambda a: a.cumsum(0), in_dims=1)(X),
            fn.vmap(lambda a: a.cumsum(0), in_dims=-1, out_dims=1)(X),
            fn.vmap(lambda a: (a.exp(), a.sum()), out_dims=(1, 0))(X),
            fn.vmap(lambda d: d["a"] * d["b"], in_dims=({"a": 0, "b": None},))({"a": X, "b": X[0]}),
            fn.vmap(lambda a, n: a * n, in_dims=(0, None))(X, 3),
            fn.vmap(lambda a, *, k: a * k)(X, k=X[1]),  # keyword arguments pass whole
            fn.vmap(fn.vmap(lambda a: a.sin() * 2))(X),
            fn.vmap(lambda a: lib.tensor(2.0, dtype=lib.float64))(X),  # unbatched: broadcast
            fn.vmap(fn.jacrev(lambda a: a.sin().sum() * a))(X),
            fn.vmap(lambda a: a * 2)(X.clone().requires_grad_()),
        )

    both(run)


def test_jvp_matches_torch() -> None:
    """jvp: outputs and J @ v for pytrees, has_aux, an output not depending on the input,
    jvp of grad (the Hessian-vector product) and jvp inside vmap (NTK-vector products)."""

    def run(lib, fn, X):
        v = X[3] * 0.5 - 1.0
        f = lambda a, b: ((a * b).sin() * a).sum()  # noqa: E731
        return (
            fn.jvp(lambda a: a.sin() * a, (X[0],), (v,)),
            fn.jvp(lambda a, b: {"p": a * b, "q": (a @ b) * a}, (X[0], X[1]), (v, X[2])),
            fn.jvp(lambda a: (a.exp(), {"aux": a * 2}), (X[0],), (v,), has_aux=True),
            fn.jvp(lambda a: lib.zeros(2, dtype=lib.float64) + a.sum().detach(), (X[0],), (v,)),
            fn.jvp(fn.grad(f), (X[0], X[1]), (v, X[2])),
            fn.vmap(lambda t: fn.jvp(lambda a: a.tanh() * X[1], (X[0],), (t,))[1])(X[1:]),
        )

    both(run)


def test_jvp_keeps_outside_graphs_and_refuses_a_mixed_dtype_tangent() -> None:
    grads = []
    for lib in (tinyconv, torch):
        w = lib.tensor([0.5, -2.0, 3.0], dtype=lib.float64, requires_grad=True)
        x = lib.tensor([0.1, 0.2, 0.3], dtype=lib.float64)
        out, tangent = fn_of(lib).jvp(lambda a, w=w: (a * w).sin(), (x,), (x * 2,))
        assert out.requires_grad and tangent.requires_grad
        tangent.sum().backward()
        grads.append(arr(w.grad))
    np.testing.assert_allclose(*grads, **TOL)
    x = tinyconv.ones(2)
    with pytest.raises(
        RuntimeError, match="tangent of dtype tinyconv.float64 for a primal of dtype"
    ):
        func.jvp(lambda a: a * 2, (x,), (tinyconv.ones(2, dtype=tinyconv.float64),))


def test_stack_module_state_matches_torch() -> None:
    out = []
    for lib in (tinyconv, torch):
        lib.manual_seed(0)
        models = [
            lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.BatchNorm1d(2)).double() for _ in range(3)
        ]
        params, buffers = fn_of(lib).stack_module_state(models)
        for p in params.values():
            assert p.is_leaf and p.requires_grad and p.grad_fn is None
        x = lib.tensor(np.random.default_rng(4).standard_normal((3, 5, 3)))

        def fmodel(p, b, xb, model=models[0], lib=lib):
            return fn_of(lib).functional_call(model, (p, b), (xb,))

        ys = fn_of(lib).vmap(fmodel)(params, buffers, x)
        for i, m in enumerate(models):  # each model's own forward on its own batch
            np.testing.assert_allclose(arr(ys[i]), arr(m(x[i])), **TOL)
        out.append((params, buffers, ys))
    assert_tree_close(out[0][:2], out[1][:2])
    for bad, msg in (
        ([], "Expected at least one model, got 0"),
        ([tinyconv.nn.Linear(2, 2), tinyconv.nn.Conv1d(2, 2, 1)], "same class"),
        ([tinyconv.nn.Linear(2, 2), tinyconv.nn.Linear(2, 2).eval()], "training/eval mode"),
    ):
        with pytest.raises(RuntimeError, match=msg):
            func.stack_module_state(bad)
    frozen = [tinyconv.nn.Linear(2, 2), tinyconv.nn.Linear(2, 2)]
    frozen[1].weight.requires_grad_(False)
    with pytest.raises(RuntimeError, match="Expected weight from each model to have the same"):
        func.stack_module_state(frozen)


def test_composition_with_autograd_matches_torch() -> None:
    """Results keep a graph only when they depend on tensors outside the transform."""
    for_grads = []
    for lib in (tinyconv, torch):
        fn = fn_of(lib)
        x = lib.tensor(np.linspace(-1, 1, 3), requires_grad=True)
        w = lib.tensor(np.array([0.5, -2.0, 3.0]), requires_grad=True)
        g_closure = fn.grad(lambda a, w=w: (a * w).sin().sum())(x.detach())
        g_outer = fn.grad(lambda a: (a**3).sum())(x)
        value = fn.grad_and_value(lambda a: (a * 2).sum())(x.detach())[1]
        assert g_closure.requires_grad and g_outer.requires_grad and not value.requires_grad
        (g_closure.sum() + g_outer.sum()).backward()
        for_grads.append((arr(x.grad), arr(w.grad)))
    for a, b in zip(*for_grads, strict=True):
        np.testing.assert_allclose(a, b, **TOL)


def test_vmap_randomness() -> None:
    x = tinyconv.zeros(3, 2)
    with pytest.raises(RuntimeError, match="called random operation while in randomness error"):
        func.vmap(lambda a: a + tinyconv.rand(2))(x)
    tinyconv.manual_seed(0)
    same = func.vmap(lambda a: a + tinyconv.rand(2), randomness="same")(x)
    tinyconv.manual_seed(0)
    np.testing.assert_array_equal(same.numpy(), np.stack([tinyconv.rand(2).numpy()] * 3))
    tinyconv.manual_seed(0)
    different = func.vmap(lambda a: a + tinyconv.rand(2), randomness="different")(x)
    tinyconv.manual_seed(0)
    np.testing.assert_array_equal(different.numpy(), tinyconv.rand(3, 2).numpy())


BAD_CALLS = [
    ("vmap sizes", lambda lib, fn, x: fn.vmap(lambda a, b: a + b)(x, x[:2])),
    ("in_dims None", lambda lib, fn, x: fn.vmap(lambda a: a, in_dims=None)(x)),
    ("in_dims float", lambda lib, fn, x: fn.vmap(lambda a: a, in_dims=0.5)(x)),
    ("in_dims range", lambda lib, fn, x: fn.vmap(lambda a: a, in_dims=2)(x)),
    ("in_dims length", lambda lib, fn, x: fn.vmap(lambda a, b: a, in_dims=(0,))(x, x)),
    ("mapped int", lambda lib, fn, x: fn.vmap(lambda a, n: a, in_dims=(0, 0))(x, 3)),
    ("returns int", lambda lib, fn, x: fn.vmap(lambda a: 3)(x)),
    ("randomness", lambda lib, fn, x: fn.vmap(lambda a: a, randomness="foo")(x)),
    ("chunk_size", lambda lib, fn, x: fn.vmap(lambda a: a, chunk_size=0)(x)),
    ("grad of vector", lambda lib, fn, x: fn.grad(lambda a: a * 2)(x)),
    ("argnum range", lambda lib, fn, x: fn.grad(lambda a: a.sum(), argnums=2)(x)),
    ("argnums empty", lambda lib, fn, x: fn.grad(lambda a: a.sum(), argnums=())(x)),
    ("aux not tuple", lambda lib, fn, x: fn.grad(lambda a: a.sum(), has_aux=True)(x)),
    ("aux int", lambda lib, fn, x: fn.grad(lambda a: (a.sum(), 1), has_aux=True)(x)),
    ("float arg", lambda lib, fn, x: fn.grad(lambda a: a * 2)(3.0)),
    ("vjp shape", lambda lib, fn, x: fn.vjp(lambda a: a.sin(), x[0])[1](x[0, :1])),
]


@pytest.mark.parametrize("case", [c[1] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_errors_match_torch(case) -> None:
    caught = []
    for lib in (torch, tinyconv):
        with pytest.raises(Exception) as info:
            case(lib, fn_of(lib), lib.ones(3, 2, dtype=lib.float64))
        caught.append(info.value)
    assert type(caught[1]) is type(caught[0])
    # the first words of PyTorch's message (before any repr of the function or values)
    head = str(caught[0]).split("(")[0].split(":")[0]
    assert head in str(caught[1])


def linear_pair(lib):
    """A module with one Linear shared under two names (a tied weight) and a buffer."""
    m = lib.nn.Module()
    m.a = lib.nn.Linear(2, 2, bias=False).double()
    m.b = lib.nn.Linear(2, 2, bias=False).double()
    m.b.weight = m.a.weight
    m.a.weight.data = lib.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=lib.float64)
    m.register_buffer("scale", lib.tensor(2.0, dtype=lib.float64))
    m.forward = lambda x: m.a(x) + m.scale * m.b(x)
    return m


@pytest.mark.parametrize(
    "given, options",
    [
        ({"a.weight": "eye"}, {}),
        ({"b.weight": "eye"}, {}),
        ({"a.weight": "eye"}, {"tie_weights": False}),
        ({"a.weight": "eye", "b.weight": "eye", "scale": "three"}, {"tie_weights": False}),
        (({"a.weight": "eye"}, {"scale": "three"}), {"strict": True}),
        ({"a.weight": "eye", "scale": "three", "extra": "three"}, {}),
    ],
)
def test_functional_call_matches_torch(given, options: dict) -> None:
    x = np.random.default_rng(3).standard_normal((3, 2))
    outs = []
    for lib in (tinyconv, torch):
        m = linear_pair(lib)
        values = {"eye": lib.eye(2, dtype=lib.float64), "three": lib.tensor(3.0, dtype=lib.float64)}
        dicts = (
            tuple({k: values[v] for k, v in d.items()} for d in given)
            if isinstance(given, tuple)
            else {k: values[v] for k, v in given.items()}
        )
        outs.append(fn_of(lib).functional_call(m, dicts, lib.tensor(x), **options))
        assert isinstance(m.a.weight, lib.nn.Parameter) and float(m.scale) == 2.0
        assert not hasattr(m, "extra")
    np.testing.assert_allclose(arr(outs[0]), arr(outs[1]), **TOL)


def test_functional_call_errors_and_alias() -> None:
    for lib in (torch, tinyconv):
        fn, m = fn_of(lib), linear_pair(lib)
        eye = lib.eye(2, dtype=lib.float64)
        x = lib.ones(1, 2, dtype=lib.float64)
        with pytest.raises(ValueError, match="which are tied"):
            fn.functional_call(m, {"a.weight": eye, "b.weight": eye.clone()}, x)
        fn.functional_call(m, {"a.weight": eye, "b.weight": eye}, x)  # one tensor: no clash
        with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
            fn.functional_call(m, ({"a.weight": eye}, {"a.weight": eye}), x)
        with pytest.raises(ValueError, match="Expected parameter_and_buffer_dicts to be a dict"):
            fn.functional_call(m, 3, x)
        with pytest.raises(RuntimeError, match=r"Unexpected key\(s\): 'foo'"):
            fn.functional_call(m, {"a.weight": eye, "scale": eye, "foo": eye}, x, strict=True)
        with pytest.raises(RuntimeError, match=r"Missing key\(s\): 'scale'"):
            fn.functional_call(m, {"a.weight": eye}, x, strict=True)
        with pytest.raises((RuntimeError, ValueError)):  # a failing call still restores
            fn.functional_call(m, {"a.weight": lib.ones(3, 3, dtype=lib.float64)}, x)
        assert m.a.weight.shape == (2, 2) and isinstance(m.a.weight, lib.nn.Parameter)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = lib.nn.utils.stateless.functional_call(m, {"a.weight": eye}, (x,))
        assert [w.category for w in caught] == [FutureWarning]
        np.testing.assert_allclose(arr(out), [[3.0, 3.0]])
