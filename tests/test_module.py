"""nn.Module's surface against PyTorch 2.13: containers, walking the tree, registration,
state dicts, dtype moves, training flags, attribute handling and reprs.

Most tests build the same model twice, once from tinyconv.nn and once from torch.nn (the
`make(nn)` functions take the namespace), and compare what the model code would see.
"""

from __future__ import annotations

import copy
import inspect
from collections import OrderedDict

import numpy as np
import pytest

import tinyconv
from tinyconv import nn


@pytest.fixture(scope="module")
def pt():
    return pytest.importorskip("torch")


def tensor_of(lib, arr):
    return lib.tensor(np.asarray(arr, dtype=np.float32))


def raises_like(fn_tc, fn_pt):
    """Both raise the same exception type (tinyconv's may be a subclass, e.g. IndexOutOfRange is
    an IndexError and a ValueError), or both return; the two exceptions, for messages."""
    out = []
    for fn in (fn_tc, fn_pt):
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            out.append(e)
        else:
            out.append(None)
    if out[1] is None:
        assert out[0] is None, out
    else:
        assert isinstance(out[0], type(out[1])), out
    return out


def same_repr(a, b):
    assert repr(a) == repr(b).replace("torch.", "tinyconv."), (repr(a), repr(b))


def copy_weights(tc_model, pt_model):
    tc_model.load_state_dict(
        {k: tinyconv.tensor(v.detach().numpy().copy()) for k, v in pt_model.state_dict().items()}
    )


# -- ModuleDict -------------------------------------------------------------------------------


def make_dict(lib_nn):
    return lib_nn.ModuleDict(
        OrderedDict(conv=lib_nn.Conv2d(1, 2, 3), act=lib_nn.ReLU(), fc=lib_nn.Linear(2, 3))
    )


def test_module_dict_mapping_surface(pt):
    a, b = make_dict(nn), make_dict(pt.nn)
    assert list(a) == list(b) == ["conv", "act", "fc"]
    assert list(a.keys()) == list(b.keys())
    assert [type(m).__name__ for m in a.values()] == [type(m).__name__ for m in b.values()]
    assert [k for k, _ in a.items()] == [k for k, _ in b.items()]
    assert len(a) == len(b) == 3
    assert ("act" in a, "nope" in a) == ("act" in b, "nope" in b) == (True, False)
    for d, lib in ((a, nn), (b, pt.nn)):
        d["pool"] = lib.MaxPool2d(2)
        d.update([("z", lib.Tanh()), ("act", lib.Sigmoid())])  # replaces act in place
        d.update({"y": lib.Identity(), "b": lib.Identity()})  # a dict: in its own order
        d.add_module("extra", lib.ReLU())
    assert list(a) == list(b) == ["conv", "act", "fc", "pool", "z", "y", "b", "extra"]
    assert type(a.pop("z")).__name__ == type(b.pop("z")).__name__ == "Tanh"
    del a["y"], b["y"]
    assert list(a) == list(b)
    same_repr(a, b)
    assert list(a.state_dict()) == list(b.state_dict())
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]
    copy_a, copy_b = nn.ModuleDict(a), pt.nn.ModuleDict(b)  # from another ModuleDict
    assert list(copy_a) == list(copy_b) and copy_a["conv"] is a["conv"]
    a.clear(), b.clear()
    assert len(a) == len(b) == 0


def test_module_dict_errors_match(pt):
    for bad in (
        lambda lib: lib.ModuleDict({"a": 1}),
        lambda lib: lib.ModuleDict([(1,)]),
        lambda lib: lib.ModuleDict([1]),
        lambda lib: lib.ModuleDict(3),
        lambda lib: lib.ModuleDict({"a": lib.ReLU()})["b"],
        lambda lib: lib.ModuleDict({"a.b": lib.ReLU()}),
        lambda lib: lib.ModuleDict()(1),
    ):
        raises_like(lambda bad=bad: bad(nn), lambda bad=bad: bad(pt.nn))


def test_module_dict_subclass_with_forward(pt):
    def make(lib):
        class Heads(lib.ModuleDict):
            def __init__(self):
                super().__init__({"a": lib.Linear(3, 2), "b": lib.Linear(3, 1)})

            def forward(self, x):
                return {k: m(x) for k, m in self.items()}

        return Heads()

    torch_ = pt
    a, b = make(nn), make(pt.nn)
    copy_weights(a, b)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    out_a, out_b = a(tinyconv.tensor(x)), b(torch_.tensor(x))
    for k in ("a", "b"):
        np.testing.assert_allclose(
            out_a[k].detach().numpy(), out_b[k].detach().numpy(), rtol=1e-5, atol=1e-6
        )
    same_repr(a, b)


# -- ModuleList -------------------------------------------------------------------------------


def make_list(lib_nn):
    return lib_nn.ModuleList([lib_nn.Linear(2, 2) for _ in range(3)] + [lib_nn.ReLU()])


def test_module_list_surface(pt):
    a, b = make_list(nn), make_list(pt.nn)
    same_repr(a, b)  # (0-2): 3 x Linear(...)
    assert isinstance(a[1:3], nn.ModuleList) and len(a[1:3]) == len(b[1:3]) == 2
    assert a[1:3][0] is a[1] and a[-1] is a[3]
    for m, lib in ((a, nn), (b, pt.nn)):
        m.append(lib.Tanh())
        m.extend([lib.Sigmoid(), lib.Identity()])
        m.insert(1, lib.ELU())
        m.insert(0, lib.GELU())
        m[2] = lib.ReLU6()
        del m[4]
        del m[::3]
        m += [lib.LeakyReLU()]
    same_repr(a, b)
    assert list(a._modules) == list(b._modules)
    assert type(a.pop(1)).__name__ == type(b.pop(1)).__name__
    assert [type(m).__name__ for m in a] == [type(m).__name__ for m in b]
    c, d = a + nn.ModuleList([nn.Tanh()]), b + pt.nn.ModuleList([pt.nn.Tanh()])
    same_repr(c, d)
    assert c[0] is a[0]
    assert list(a.state_dict()) == list(b.state_dict())
    assert "0" not in dir(a) and "append" in dir(a)


def test_module_list_errors_match(pt):
    for bad in (
        lambda lib: lib.ModuleList(3),
        lambda lib: lib.ModuleList([1]),
        lambda lib: lib.ModuleList([lib.ReLU()])[3],
        lambda lib: lib.ModuleList([lib.ReLU()])[-2],
        lambda lib: lib.ModuleList([lib.ReLU()])["a"],
        lambda lib: lib.ModuleList().append(3),
        lambda lib: lib.ModuleList()(1),
    ):
        raises_like(lambda bad=bad: bad(nn), lambda bad=bad: bad(pt.nn))


def test_module_list_insert_out_of_range_raises():
    # PyTorch leaves a gap ('5' after '0') or fails with KeyError; tinyconv refuses
    m = nn.ModuleList([nn.ReLU()])
    with pytest.raises(IndexError, match="index 5 is out of range for length 1"):
        m.insert(5, nn.Tanh())
    m.insert(-1, nn.Tanh())  # like list.insert
    assert [type(x).__name__ for x in m] == ["Tanh", "ReLU"]


# -- Sequential -------------------------------------------------------------------------------


def make_seq(lib_nn):
    return lib_nn.Sequential(
        OrderedDict(conv=lib_nn.Conv2d(1, 2, 3), act=lib_nn.ReLU(), pool=lib_nn.MaxPool2d(2))
    )


def test_sequential_indexing(pt):
    a, b = make_seq(nn), make_seq(pt.nn)
    assert type(a[0]).__name__ == type(a[-3]).__name__ == "Conv2d"
    assert a[-1] is a[2]
    sa, sb = a[1:], b[1:]
    assert isinstance(sa, nn.Sequential)
    assert list(sa._modules) == list(sb._modules) == ["act", "pool"]
    same_repr(sa, sb)
    assert len(a) == len(b) == 3
    for bad in (lambda s: s[3], lambda s: s[-4], lambda s: s["a"]):
        raises_like(lambda bad=bad: bad(a), lambda bad=bad: bad(b))


def test_sequential_editing(pt):
    a, b = make_seq(nn), make_seq(pt.nn)
    for s, lib in ((a, nn), (b, pt.nn)):
        del s[0]  # renumbers: '0', '1'
        s.append(lib.Flatten())
        s.insert(-1, lib.Tanh())
        s.insert(0, lib.Identity())
        s.extend([lib.Sigmoid()])
        s[1] = lib.ELU()
    same_repr(a, b)
    assert list(a._modules) == list(b._modules)
    assert type(a.pop(0)).__name__ == type(b.pop(0)).__name__
    same_repr(a, b)
    same_repr(a + a, b + b)
    same_repr(a * 2, b * 2)
    same_repr(2 * a, 2 * b)
    a *= 2
    b *= 2
    same_repr(a, b)
    a += nn.Sequential(nn.ReLU())
    b += pt.nn.Sequential(pt.nn.ReLU())
    same_repr(a, b)
    for bad in (
        lambda lib, s: s.insert(50, lib.Tanh()),
        lambda lib, s: s + 1,
        lambda lib, s: s * 0,
        lambda lib, s: s * 1.5,
        lambda lib, s: s.append(3),
        lambda lib, s: lib.Sequential(lib.ReLU(), 3),
    ):
        raises_like(lambda bad=bad: bad(nn, a), lambda bad=bad: bad(pt.nn, b))


def test_sequential_runs_in_order_and_deletion_keeps_weights(pt):
    a, b = make_seq(nn), make_seq(pt.nn)
    copy_weights(a, b)
    x = np.random.default_rng(1).standard_normal((2, 1, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(
        a(tinyconv.tensor(x)).detach().numpy(),
        b(pt.tensor(x)).detach().numpy(),
        rtol=1e-6,
        atol=1e-6,  # (float32: an output of 0.0026 sums terms of about 0.3; CI saw 1.4e-8 off)
    )
    conv = a[0]
    del a[1]
    assert a[0] is conv and list(a.state_dict()) == ["0.weight", "0.bias"]


# -- ParameterList / ParameterDict ------------------------------------------------------------


def test_parameter_list(pt):
    def make(lib):
        return lib.nn.ParameterList(
            [lib.nn.Parameter(lib.zeros(2, 3)), lib.ones(3), lib.zeros(1, dtype=lib.float64)]
        )

    a, b = make(tinyconv), make(pt)
    assert all(isinstance(p, nn.Parameter) for p in a)
    assert [p.requires_grad for p in a] == [p.requires_grad for p in b]
    assert list(a.state_dict()) == list(b.state_dict()) == ["0", "1", "2"]
    same_repr(a, b)
    for m, lib in ((a, tinyconv), (b, pt)):
        m.append(lib.ones(4))
        m[0] = lib.ones(5)
        m.extend([lib.zeros(2)])
    assert [tuple(p.shape) for p in a] == [tuple(p.shape) for p in b]
    assert [tuple(p.shape) for p in a[1:4:2]] == [tuple(p.shape) for p in b[1:4:2]]
    assert len(a) == len(b) == 5
    same_repr(a, b)

    class Holder:  # in a model: keys 'ps.0', ...
        pass

    ma, mb = nn.Module(), pt.nn.Module()
    ma.ps, mb.ps = a, b
    assert list(ma.state_dict()) == list(mb.state_dict())
    assert len(list(ma.parameters())) == len(list(mb.parameters())) == 5
    same_repr(ma, mb)
    for bad in (lambda m: m[7], lambda m: m(1), lambda m: m.extend(3)):
        raises_like(lambda bad=bad: bad(a), lambda bad=bad: bad(b))


def test_parameter_dict(pt):
    def make(lib):
        return lib.nn.ParameterDict(
            {"b": lib.zeros(2), "a": lib.nn.Parameter(lib.ones(3, dtype=lib.float64))}
        )

    a, b = make(tinyconv), make(pt)
    assert list(a) == list(b) == ["a", "b"]  # a plain dict is added in sorted order
    assert list(a.state_dict()) == list(b.state_dict())
    same_repr(a, b)
    for d, lib in ((a, tinyconv), (b, pt)):
        d["z"] = lib.ones(1)
        d.update(OrderedDict(y=lib.ones(2), c=lib.ones(3)))  # an OrderedDict keeps its order
        d.setdefault("d", lib.zeros(2))
        d.setdefault("a", lib.zeros(9))
    assert list(a) == list(b)
    assert list(a.keys()) == list(b.keys())
    assert [tuple(v.shape) for v in a.values()] == [tuple(v.shape) for v in b.values()]
    assert a.get("nope") is None and a.get("a") is a["a"]
    assert a.popitem()[0] == b.popitem()[0]
    assert tuple(a.pop("z").shape) == tuple(b.pop("z").shape)
    assert ("y" in a, "z" in a) == ("y" in b, "z" in b)
    assert list(reversed(a)) == list(reversed(b))
    assert list(a.copy()) == list(b.copy())
    assert list(a | make(tinyconv)) == list(b | make(pt))
    assert list(a.fromkeys(["p", "q"])) == ["p", "q"]
    del a["a"], b["a"]
    same_repr(a, b)
    for bad in (lambda d: d["nope"], lambda d: d[3], lambda d: d(1), lambda d: d.update(3)):
        raises_like(lambda bad=bad: bad(a), lambda bad=bad: bad(b))
    a.clear()
    assert len(a) == 0 and list(a.state_dict()) == []


# -- walking the tree -------------------------------------------------------------------------


def make_shared(lib_nn):
    """A model that reaches one Linear twice and ties a weight."""

    class Net(lib_nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = lib_nn.Sequential(lib_nn.Conv2d(1, 2, 3), lib_nn.BatchNorm2d(2))
            self.fc = lib_nn.Linear(4, 4)
            self.again = self.fc
            self.head = lib_nn.Linear(4, 4)
            self.head.weight = self.fc.weight
            self.register_buffer("scale", self.fc.bias.detach() * 0 + 2)
            self.register_buffer("cache", self.fc.bias.detach() * 0, persistent=False)

        def forward(self, x):
            return x

    return Net()


def test_named_modules_parameters_buffers(pt):
    a, b = make_shared(nn), make_shared(pt.nn)

    def names(it):
        return [n for n, _ in it]

    for kw in ({}, {"prefix": "m"}, {"remove_duplicate": False}):
        assert names(a.named_modules(**kw)) == names(b.named_modules(**kw))
    for kw in ({}, {"prefix": "m"}, {"recurse": False}, {"remove_duplicate": False}):
        assert names(a.named_parameters(**kw)) == names(b.named_parameters(**kw)), kw
        assert names(a.named_buffers(**kw)) == names(b.named_buffers(**kw)), kw
    assert names(a.named_children()) == names(b.named_children())
    assert len(list(a.parameters())) == len(list(b.parameters()))  # the tied weight once
    assert len(list(a.parameters(recurse=False))) == len(list(b.parameters(recurse=False)))
    assert len(list(a.buffers())) == len(list(b.buffers()))
    assert len(list(a.modules())) == len(list(b.modules()))
    assert len(list(a.children())) == len(list(b.children()))
    memo_a, memo_b = {a.fc}, {b.fc}  # a memo passed in skips what it holds
    assert names(a.named_modules(memo_a)) == names(b.named_modules(memo_b))


def test_apply_visits_children_first(pt):
    a, b = make_shared(nn), make_shared(pt.nn)
    seen_a, seen_b = [], []
    assert a.apply(lambda m: seen_a.append(type(m).__name__)) is a
    b.apply(lambda m: seen_b.append(type(m).__name__))
    assert seen_a == seen_b


def test_get_submodule_parameter_buffer(pt):
    a, b = make_shared(nn), make_shared(pt.nn)
    assert a.get_submodule("enc.1") is a.enc[1]
    assert a.get_submodule("") is a
    assert a.get_parameter("enc.0.weight") is a.enc[0].weight
    assert a.get_buffer("enc.1.running_mean") is a.enc[1].running_mean
    for target in ("enc.5", "enc.0.weight", "fc.nope", "x.y"):
        ea, eb = raises_like(
            lambda t=target: a.get_submodule(t), lambda t=target: b.get_submodule(t)
        )
        assert str(ea) == str(eb)
    for target in ("enc.1.running_mean", "enc.1.nope", "enc.7.weight", "fc.weight"):
        ea, eb = raises_like(
            lambda t=target: a.get_parameter(t), lambda t=target: b.get_parameter(t)
        )
        assert str(ea) == str(eb)
        ea, eb = raises_like(lambda t=target: a.get_buffer(t), lambda t=target: b.get_buffer(t))
        assert str(ea) == str(eb)


# -- registration and attributes --------------------------------------------------------------


def test_register_errors_match(pt):
    for bad in (
        lambda lib: lib.nn.Linear(2, 2).register_buffer("weight", lib.zeros(1)),
        lambda lib: lib.nn.Linear(2, 2).register_buffer("a.b", lib.zeros(1)),
        lambda lib: lib.nn.Linear(2, 2).register_buffer("", lib.zeros(1)),
        lambda lib: lib.nn.Linear(2, 2).register_buffer(3, lib.zeros(1)),
        lambda lib: lib.nn.Linear(2, 2).register_buffer("q", 3),
        lambda lib: lib.nn.Linear(2, 2).register_parameter("q", lib.zeros(1)),
        lambda lib: lib.nn.Linear(2, 2).register_parameter("training", None),
        lambda lib: lib.nn.Linear(2, 2).register_parameter("a.b", None),
        lambda lib: lib.nn.Linear(2, 2).register_parameter("q", lib.nn.Parameter(lib.zeros(1)) * 2),
        lambda lib: lib.nn.Linear(2, 2).add_module("weight", lib.nn.ReLU()),
        lambda lib: lib.nn.Linear(2, 2).add_module("a.b", lib.nn.ReLU()),
        lambda lib: lib.nn.Linear(2, 2).add_module("", lib.nn.ReLU()),
        lambda lib: lib.nn.Linear(2, 2).add_module("x", 3),
        lambda lib: lib.nn.Linear(2, 2).register_module("x", 3),
        lambda lib: setattr(lib.nn.Linear(2, 2), "weight", lib.zeros(2, 2)),
        lambda lib: setattr(lib.nn.Sequential(lib.nn.ReLU()), "0", 3),
        lambda lib: lib.nn.Linear(2, 2).train(1),
        lambda lib: lib.nn.Module()(1),
        lambda lib: lib.nn.Linear(2, 2).nope,
    ):
        raises_like(lambda bad=bad: bad(tinyconv), lambda bad=bad: bad(pt))


def test_setattr_delattr_move_between_registries(pt):
    for lib in (tinyconv, pt):
        m = lib.nn.Module()
        m.x = lib.nn.Parameter(lib.zeros(2))
        m.register_buffer("b", lib.zeros(1))
        m.b = lib.ones(1)  # stays a buffer
        assert list(m._buffers) == ["b"] and float(m.b.sum()) == 1
        with pytest.raises(TypeError):  # a parameter slot takes a Parameter or None
            m.x = lib.nn.Linear(1, 1)
        m.sub = lib.nn.Linear(1, 1)
        m.sub = lib.nn.Parameter(lib.zeros(1))  # a module slot becomes a parameter
        assert list(m._parameters) == ["x", "sub"] and list(m._modules) == []
        del m.sub
        m.x = None  # a parameter slot holds None
        assert "x" in m._parameters and m.x is None
        m.plain = 3
        m.plain = lib.nn.Parameter(lib.zeros(1))  # a plain attribute becomes a parameter
        assert "plain" in m._parameters and "plain" not in m.__dict__
        del m.plain, m.b, m.x
        assert not m._parameters and not m._buffers
        m.register_buffer("c", None)
        assert m.c is None and list(m.state_dict()) == []
        d = dir(lib.nn.Sequential(lib.nn.Linear(1, 1)))
        assert "0" not in d and "forward" in d and "_modules" in d
        assert "weight" in dir(lib.nn.Linear(1, 1))


def test_private_registries_are_pytorchs(pt):
    a, b = make_shared(nn), make_shared(pt.nn)
    for attr in ("_parameters", "_buffers", "_modules"):
        assert list(getattr(a, attr)) == list(getattr(b, attr))
        assert isinstance(getattr(a, attr), dict)
    assert a._non_persistent_buffers_set == b._non_persistent_buffers_set == {"cache"}
    for attr in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"):
        assert isinstance(getattr(a, attr), OrderedDict) and not getattr(a, attr)


# -- training flag, grads, dtypes -------------------------------------------------------------


def test_train_eval_propagate_and_return_self(pt):
    def make(lib_nn):
        class Block(lib_nn.Module):
            def __init__(self):
                super().__init__()
                self.bn = lib_nn.BatchNorm2d(2)
                self.calls = []

            def train(self, mode=True):  # an override is called by the parent's train()
                self.calls.append(mode)
                return super().train(mode)

        return lib_nn.Sequential(Block(), lib_nn.Sequential(lib_nn.Dropout()))

    a, b = make(nn), make(pt.nn)
    assert a.eval() is a and a.train() is a
    b.eval(), b.train()
    assert a[0].calls == b[0].calls == [False, True]
    a.train(False), b.train(False)
    assert [m.training for m in a.modules()] == [m.training for m in b.modules()]


def test_zero_grad_and_requires_grad(pt):
    for lib in (tinyconv, pt):
        m = lib.nn.Linear(2, 2)
        m(lib.ones(1, 2)).sum().backward()
        m.zero_grad(set_to_none=False)
        assert float(m.weight.grad.abs().sum()) == 0 and m.weight.grad.requires_grad is False
        m.zero_grad()
        assert m.weight.grad is None
        assert m.requires_grad_(False) is m
        assert [p.requires_grad for p in m.parameters()] == [False, False]


def test_dtype_moves(pt):
    def dtypes(m):
        return [str(t.dtype).split(".")[-1] for t in list(m.parameters()) + list(m.buffers())]

    for method, args in (
        ("half", ()),
        ("double", ()),
        ("float", ()),
        ("to", ("float64",)),
        ("type", ("float64",)),
    ):
        a, b = make_seq(nn), make_seq(pt.nn)
        a.add_module("bn", nn.BatchNorm2d(2))
        b.add_module("bn", pt.nn.BatchNorm2d(2))
        w = a[0].weight
        if method != "float":
            out_a = getattr(a, method)(*(getattr(tinyconv, x) for x in args))
            getattr(b, method)(*(getattr(pt, x) for x in args))
        else:
            out_a = a.double().float()
            b.double().float()
        assert out_a is a and a[0].weight is w  # the same Parameter objects, converted
        assert dtypes(a) == dtypes(b), method  # type() converts num_batches_tracked too
    raises_like(lambda: nn.Linear(1, 1).to(tinyconv.int64), lambda: pt.nn.Linear(1, 1).to(pt.int64))


# -- state dicts ------------------------------------------------------------------------------


def test_state_dict_keys_prefix_keep_vars(pt):
    a, b = make_shared(nn), make_shared(pt.nn)
    assert list(a.state_dict()) == list(b.state_dict())  # shared module under both names
    assert "cache" not in a.state_dict()
    assert list(a.state_dict(prefix="m.")) == list(b.state_dict(prefix="m."))
    assert list(a.state_dict(prefix="m")) == list(b.state_dict(prefix="m"))
    assert a.state_dict(keep_vars=True)["fc.weight"] is a.fc.weight
    sd = a.state_dict()
    assert sd["fc.weight"].requires_grad is False and sd["fc.weight"] is not a.fc.weight
    dest = OrderedDict()
    assert a.state_dict(destination=dest) is dest
    # PyTorch's deprecated positional form: (destination, prefix, keep_vars)
    assert list(a.state_dict(OrderedDict(), "p.")) == list(b.state_dict(OrderedDict(), "p."))


def test_load_state_dict_results_and_errors(pt):
    res_a = nn.Linear(2, 3).load_state_dict(nn.Linear(2, 3).state_dict())
    res_b = pt.nn.Linear(2, 3).load_state_dict(pt.nn.Linear(2, 3).state_dict())
    assert repr(res_a) == repr(res_b) == "<All keys matched successfully>"
    assert res_a.missing_keys == [] and tuple(res_a) == ([], [])

    def partial(lib):
        return {"weight": lib.zeros(3, 2), "x": lib.zeros(1)}

    res_a = nn.Linear(2, 3).load_state_dict(partial(tinyconv), strict=False)
    res_b = pt.nn.Linear(2, 3).load_state_dict(partial(pt), strict=False)
    assert repr(res_a) == repr(res_b)
    assert res_a.missing_keys == ["bias"] and res_a.unexpected_keys == ["x"]

    for sd in (
        lambda lib: {"weight": lib.zeros(2, 2), "x": lib.zeros(1)},
        lambda lib: {"weight": lib.zeros(2, 2), "bias": lib.zeros(3)},
        lambda lib: {"bias": lib.zeros(3)},
    ):
        for strict in (True, False):
            ea, eb = raises_like(
                lambda sd=sd, s=strict: nn.Linear(2, 3).load_state_dict(sd(tinyconv), strict=s),
                lambda sd=sd, s=strict: pt.nn.Linear(2, 3).load_state_dict(sd(pt), strict=s),
            )
            if ea is not None:
                assert str(ea) == str(eb).replace("torch.", "tinyconv.")

    # nested: unexpected keys under a child, missing keys by full name
    a, b = make_shared(nn), make_shared(pt.nn)
    sd_a = {k: v for k, v in a.state_dict().items() if k != "enc.1.running_var"}
    sd_b = {k: v for k, v in b.state_dict().items() if k != "enc.1.running_var"}
    sd_a["enc.1.extra"], sd_b["enc.1.extra"] = tinyconv.zeros(1), pt.zeros(1)
    ra, rb = a.load_state_dict(sd_a, strict=False), b.load_state_dict(sd_b, strict=False)
    assert repr(ra) == repr(rb)


def test_load_state_dict_copies_values_and_assign(pt):
    a, b = make_shared(nn), make_shared(pt.nn)
    copy_weights(a, b)
    w = a.fc.weight
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(a.state_dict()[k].numpy(), v.numpy())
    assert a.fc.weight is w  # copied into, not replaced
    new = {k: v * 0 + 1 for k, v in a.state_dict().items()}
    a.load_state_dict(new, assign=True)
    assert a.fc.weight is not w and isinstance(a.fc.weight, nn.Parameter)
    assert a.fc.weight.requires_grad and float(a.fc.weight.sum()) == 16


def test_load_state_dict_assign_takes_the_checkpoints_tensors(pt):
    # (assign=True puts the given tensors in, dtype and memory included; requires_grad stays
    # the module's)
    seen = []
    for lib in (tinyconv, pt):
        m = lib.nn.Linear(2, 1)
        m.bias.requires_grad_(False)
        w = lib.ones(1, 2, dtype=lib.float64)
        m.load_state_dict({"weight": w, "bias": lib.zeros(1)}, assign=True)
        bn = lib.nn.BatchNorm1d(2)
        sd = bn.state_dict()
        sd["running_mean"] = mean = lib.tensor([1.0, 2.0], dtype=lib.float64)
        bn.load_state_dict(sd, assign=True)
        seen.append(
            (
                str(m.weight.dtype).split(".")[-1],
                type(m.weight).__name__,
                m.weight.data_ptr() == w.data_ptr(),
                m.weight.requires_grad,
                m.bias.requires_grad,
                bn.running_mean is mean,
            )
        )
    assert seen[0] == seen[1] == ("float64", "Parameter", True, True, False, True)


def _versioned(lib_nn):
    """A module that bumped its state layout to version 2 and checks it on load, the way
    torchvision's MNASNet does: PyTorch's _load_from_state_dict signature, called through."""

    class Versioned(lib_nn.Module):
        _version = 2

        def __init__(self):
            super().__init__()
            self.fc = lib_nn.Linear(2, 3)
            self.seen = []

        def _load_from_state_dict(
            self, state_dict, prefix, local_metadata, strict, missing, unexpected, errors
        ):
            self.seen.append((prefix, local_metadata.get("version"), strict))
            super()._load_from_state_dict(
                state_dict, prefix, local_metadata, strict, missing, unexpected, errors
            )

    return lib_nn.Sequential(Versioned())


def test_state_dict_metadata_and_load_from_state_dict_protocol(pt):
    a, b = _versioned(nn), _versioned(pt.nn)
    sd_a, sd_b = a.state_dict(), b.state_dict()
    want = {"": {"version": 1}, "0": {"version": 2}, "0.fc": {"version": 1}}
    assert sd_a._metadata == sd_b._metadata == want
    for model, sd in ((a, sd_a), (b, sd_b)):
        model.load_state_dict(sd)  # with its metadata: the subclass sees its version
        model.load_state_dict(dict(sd))  # a plain dict has none: version None, as PyTorch
        model.load_state_dict(sd, assign=True)
    assert a[0].seen == b[0].seen == [("0.", 2, True), ("0.", None, True), ("0.", 2, True)]
    # assign reaches _load_from_state_dict through local_metadata, as in PyTorch
    w = a[0].fc.weight
    a.load_state_dict(a.state_dict(), assign=True)
    assert a[0].fc.weight is not w


class Shared(nn.Module):
    """make_shared's model at module level, so pickle can find its class."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.again = self.fc
        self.head = nn.Linear(4, 4)
        self.head.weight = self.fc.weight
        self.register_buffer("cache", nn.Parameter(tinyconv.zeros(1)).detach(), persistent=False)

    def forward(self, x):
        return x


def test_deepcopy_and_pickle_keep_registries():
    import pickle

    a = Shared()
    a.register_forward_hook(lambda m, i, o: None)
    for b in (copy.deepcopy(a), pickle.loads(pickle.dumps(Shared()))):
        assert list(b.state_dict()) == list(a.state_dict())
        assert b._non_persistent_buffers_set == {"cache"}
        assert b.again is b.fc and b.head.weight is b.fc.weight


# -- repr ------------------------------------------------------------------------------------


def test_nested_repr_is_pytorchs(pt):
    def make(lib_nn):
        class Block(lib_nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = lib_nn.Conv2d(2, 2, 3, padding=1, bias=False)
                self.pool = lib_nn.MaxPool2d(2)
                self.skip = None

            def extra_repr(self):
                return "stride=1\nwidth=2"

        class Net(lib_nn.Module):
            def __init__(self):
                super().__init__()
                self.stem = lib_nn.Sequential(lib_nn.Conv2d(1, 2, 3), lib_nn.ReLU())
                self.blocks = lib_nn.ModuleList([Block(), Block()])
                self.heads = lib_nn.ModuleDict({"cls": lib_nn.Linear(2, 10)})
                self.empty = lib_nn.Sequential()

        return Net()

    same_repr(make(nn), make(pt.nn))


# -- save / load with PyTorch's call signature ------------------------------------------------


def test_state_dict_round_trip_through_save_and_load(tmp_path):
    import io

    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.LazyLinear(3))
    model(tinyconv.randn(2, 1, 5, 5))  # materialise the lazy layer
    sd = model.state_dict()
    buf = io.BytesIO()
    tinyconv.save(sd, buf)  # a file object, as torch.save(obj, f)
    tinyconv.save(sd, tmp_path / "model.pt")  # a path
    for source in (io.BytesIO(buf.getvalue()), tmp_path / "model.pt", str(tmp_path / "model.pt")):
        back = tinyconv.load(source, map_location="cpu", weights_only=True)
        assert type(back) is OrderedDict and list(back) == list(sd)
        for k, v in sd.items():
            assert type(back[k]) is tinyconv.Tensor and back[k].dtype == v.dtype
            np.testing.assert_array_equal(back[k].numpy(), v.numpy())
        fresh = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(18, 3))
        assert repr(fresh.load_state_dict(back)) == "<All keys matched successfully>"
        x = tinyconv.randn(2, 1, 5, 5)
        np.testing.assert_array_equal(
            fresh.eval()(x).detach().numpy(), model.eval()(x).detach().numpy()
        )


# Classes whose PyTorch __init__ takes *args/**kwargs (nothing to compare) or is internal.
_SIGNATURE_SKIP = {"Parameter", "UninitializedParameter", "RNN", "RNNCellBase", "Sampler"}


def _signature_pairs(torch):
    import torch.utils.data as torch_data

    import tinyconv.utils.data as our_data

    for theirs, ours in (
        (torch.nn, tinyconv.nn),
        (torch.optim, tinyconv.optim),
        (torch.optim.lr_scheduler, tinyconv.optim.lr_scheduler),
        (torch_data, our_data),
    ):
        for name in sorted(dir(ours)):
            mine, ref = getattr(ours, name), getattr(theirs, name, None)
            if name[0] == "_" or name in _SIGNATURE_SKIP or not inspect.isclass(mine):
                continue
            if inspect.isclass(ref):
                yield name, mine, ref


@pytest.mark.torch
def test_constructors_take_pytorchs_arguments_in_its_order():
    """Ported code passes constructor arguments by position and by name: every nn, optim,
    lr_scheduler and utils.data class tinyconv shares with PyTorch takes PyTorch's
    parameters, the positional ones in PyTorch's order (nn.CrossEntropyLoss(w, None, -1)
    sets ignore_index; nn.ReflectionPad2d(2, 0.5) is a TypeError in both)."""
    torch = pytest.importorskip("torch")
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    checked = 0
    for name, mine, ref in _signature_pairs(torch):
        theirs = inspect.signature(ref.__init__).parameters
        ours = inspect.signature(mine.__init__).parameters
        if any(p.kind == p.VAR_POSITIONAL for p in theirs.values()):
            continue
        assert set(ours) == set(theirs), name
        assert [n for n, p in ours.items() if p.kind in positional] == [
            n for n, p in theirs.items() if p.kind in positional
        ], name
        checked += 1
    assert checked > 130
    w = [1.0, 2.0, 3.0]
    assert tinyconv.nn.CrossEntropyLoss(tinyconv.tensor(w), None, -1).ignore_index == -1
    with pytest.raises(TypeError):
        tinyconv.nn.ReflectionPad2d(2, 0.5)


@pytest.mark.torch
def test_hardtanh_deprecated_min_value_max_value_as_pytorch():
    torch = pytest.importorskip("torch")
    x = [-5.0, -0.5, 0.0, 2.5, 5.0]
    with pytest.warns(FutureWarning, match="min_value"):
        mine = tinyconv.nn.Hardtanh(min_value=-2.0, max_value=3.0)
    with pytest.warns(FutureWarning):
        ref = torch.nn.Hardtanh(min_value=-2.0, max_value=3.0)
    assert repr(mine) == repr(ref)
    assert (
        mine(tinyconv.tensor(x)).tolist()
        == ref(torch.tensor(x)).tolist()
        == [-2.0, -0.5, 0.0, 2.5, 3.0]
    )
