# ruff: noqa: E501  (the tutorial's own lines are kept as published)
"""Small generated-style programs (the kind a fuzzer or an LLM writes to test a PyTorch clone),
each run in PyTorch and, with only `torch` renamed, in tinyconv; every checked expression must
agree on raises-or-not, type, shape, dtype, requires_grad, strides and values, and the printed
text must match. Each case is one difference found and fixed (the comment says what was wrong).
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
import warnings

import numpy as np
import pytest

import tinyconv

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")


def _describe(v):
    mod = type(v).__module__.split(".")[0]
    name = type(v).__name__
    if mod in ("torch", "tinyconv") and name in ("Tensor", "Parameter"):
        return (
            "tensor",
            tuple(v.shape),
            str(v.dtype).split(".")[-1],
            v.requires_grad,
            tuple(v.stride()),
            v.detach().numpy().copy(),
        )
    if isinstance(v, list | tuple):
        return ("seq", name, [_describe(x) for x in v])
    if mod in ("torch", "tinyconv") and name == "Size":
        return ("size", tuple(v))
    if mod in ("torch", "tinyconv") and "dtype" in name.lower() or isinstance(v, np.dtype):
        return ("dtype", str(v).split(".")[-1])
    if isinstance(v, float):
        return ("float", v)
    return ("py", name, str(v).replace("tinyconv", "torch"))


def _same(a, b) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "tensor":
        if a[1:5] != b[1:5]:
            return False
        x, y = a[5], b[5]
        if x.dtype.kind == "f":
            return np.allclose(x, y, rtol=1e-5, atol=1e-6, equal_nan=True)
        return np.array_equal(x, y)
    if a[0] == "seq":
        return a[1] == b[1] and len(a[2]) == len(b[2]) and all(map(_same, a[2], b[2]))
    if a[0] == "float":
        return bool(np.isclose(a[1], b[1], rtol=1e-6, equal_nan=True))
    return a == b


def _run(src: str, lib: str) -> list:
    """Run the program: plain lines execute, lines starting with '>' are expressions whose
    values (or exceptions) are recorded, with what each step printed."""
    if lib == "tinyconv":
        src = re.sub(r"\btorch\b", "tinyconv", src)
    steps: list[tuple[str, str]] = []
    for line in textwrap.dedent(src).strip().splitlines():
        if line.startswith(">"):
            steps.append(("eval", line[1:].strip()))
        elif steps and steps[-1][0] == "exec":
            steps[-1] = ("exec", steps[-1][1] + "\n" + line)
        else:
            steps.append(("exec", line))
    ns: dict = {}
    out = []
    (torch if lib == "torch" else tinyconv).manual_seed(0)
    for kind, code in steps:
        buf = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stdout(buf):
            warnings.simplefilter("ignore")
            try:
                if kind == "exec":
                    exec(code, ns)  # noqa: S102  (the program is the test)
                    res = ("done",)
                else:
                    res = ("value", _describe(eval(code, ns)))  # noqa: S307
            except Exception as e:  # noqa: BLE001  (compared with PyTorch's verdict)
                res = ("raise", type(e).__name__)
        out.append((code, res, buf.getvalue().replace("tinyconv", "torch")))
        if kind == "exec" and res[0] == "raise":
            break
    return out


def same(src: str) -> None:
    """Assert that the program runs alike in PyTorch and tinyconv."""
    want, got = _run(src, "torch"), _run(src, "tinyconv")
    for (code, a, pa), (_, b, pb) in zip(want, got, strict=False):
        assert pa == pb, f"{code}: printed\n{pb}\nPyTorch printed\n{pa}"
        if a[0] == "raise" or b[0] == "raise":
            # tinyconv raises where PyTorch raises (a deliberate difference would be listed
            # in README; none is exercised here)
            assert a[0] == b[0], f"{code}: tinyconv {b}, PyTorch {a}"
            continue
        assert a[0] == b[0] and (a[0] == "done" or _same(a[1], b[1])), (
            f"{code}:\n tinyconv {b}\n PyTorch  {a}"
        )
    assert len(want) == len(got)


def test_bool_and_int_operands_promote_in_fmax_gcd():
    # fmax/fmin and gcd/lcm raised for a bool operand; PyTorch promotes it
    same("""
    import torch
    a = torch.tensor([1, 2, 3])
    b = torch.tensor([True, False, True])
    f = torch.tensor([1.5, float('nan'), -2.0])
    > torch.fmax(a, b)
    > torch.fmin(b, a)
    > torch.fmax(b, b)
    > torch.fmin(b, f)
    > torch.fmax(f, b)
    > torch.gcd(a, b)
    > torch.lcm(b, a)
    > torch.gcd(b, b)
    > torch.gcd(a, f)
    > torch.gcd(torch.tensor([4], dtype=torch.uint8), torch.tensor([6], dtype=torch.int8))
    """)


def test_shift_and_bitwise_by_python_int_out_of_dtype_range():
    # uint8 << -1 raised NumPy's OverflowError; PyTorch casts the int to the dtype, wrapping
    same("""
    import torch
    u = torch.tensor([1, 2, 255], dtype=torch.uint8)
    i8 = torch.tensor([-128, 3, 5], dtype=torch.int8)
    > u << -1
    > u >> -1
    > u << 257
    > u >> 300
    > u & 300
    > u & -1
    > u | -2
    > u ^ 256
    > i8 << 129
    > i8 >> -127
    > i8 & 300
    > 257 << u
    > -1 << u
    > torch.bitwise_left_shift(u, -1)
    > torch.tensor([True]) & 2
    > u << -1.0
    v = u.clone()
    v <<= -1
    > v
    w = i8.clone()
    w &= 300
    > w
    """)


def test_abs_of_bool_and_round_decimals_of_integers_raise():
    # PyTorch has no bool abs and no integer round with decimals; tinyconv computed them
    same("""
    import torch
    a = torch.tensor([1, -2, 3])
    b = torch.tensor([True, False])
    > torch.abs(b)
    > b.abs()
    > abs(b)
    > torch.round(a)
    > a.round()
    > torch.round(a, decimals=0)
    > torch.round(a, decimals=1)
    > a.round(decimals=-1)
    > torch.round(torch.tensor([1.2345, 12.355]), decimals=2)
    > torch.round(torch.tensor([0.5, 1.5, 2.5, -0.5]))
    > torch.tensor([1.26, 2.5]).round_(decimals=1)
    """)


def test_topk_indices_are_contiguous_and_nuclear_norm():
    # topk's indices had the strides of a slice of a larger array; norm(p='nuc') raised
    same("""
    import torch
    x = torch.tensor([[1.0, float('nan'), 3.0], [4.0, 5.0, 6.0]])
    > x.topk(2, dim=1)
    > x.topk(1, dim=0, largest=False)
    > x.topk(2, dim=1)[1].is_contiguous()
    z = torch.arange(24.).reshape(2, 3, 4)
    > torch.norm(z, p='nuc', dim=(1, 2))
    > torch.norm(z, p='nuc', dim=(2, 0))
    > torch.norm(z[0], p='nuc', keepdim=True)
    > z[1].norm(p='nuc')
    > torch.norm(z, p='nuc')
    > torch.norm(z, p=2, dim=(1, 2))
    """)


def test_nuclear_norm_gradient():
    a = np.random.default_rng(0).standard_normal((2, 3, 4))
    x = tinyconv.tensor(a, requires_grad=True)
    assert tinyconv.autograd.gradcheck(lambda t: t.norm(p="nuc", dim=(2, 0)), (x,))
    t = torch.tensor(a, requires_grad=True)
    torch.norm(t, p="nuc", dim=(1, 2)).sum().backward()
    tinyconv.norm(x, p="nuc", dim=(1, 2)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def _family(lib, name: str, rng) -> tuple:
    """One distribution of the family with float64 parameters (leaves requiring grad) of
    batch shape (2, 3), and those parameters."""
    D = lib.distributions
    made = []

    def leaf(a):
        made.append(lib.tensor(a, dtype=lib.float64, requires_grad=True))
        return made[-1]

    def pos():
        return leaf(rng.uniform(0.5, 3.0, (2, 3)))

    def real():
        return leaf(rng.uniform(-1.5, 1.5, (2, 3)))

    if name == "Uniform":
        low = rng.uniform(-0.4, 0.4, (2, 3))  # some inside [0, 1], some not: inf there
        d = D.Uniform(leaf(low), leaf(low + rng.uniform(0.2, 0.9, (2, 3))))
    else:
        d = {
            "Beta": lambda: D.Beta(pos(), pos()),
            "Exponential": lambda: D.Exponential(pos()),
            "Gamma": lambda: D.Gamma(pos(), pos()),
            "Laplace": lambda: D.Laplace(real(), pos()),
            "Normal": lambda: D.Normal(real(), pos()),
        }[name]()
    return d, made


FAMILIES = ["Beta", "Exponential", "Gamma", "Laplace", "Normal", "Uniform"]


@pytest.mark.parametrize("p_name", FAMILIES)
@pytest.mark.parametrize("q_name", FAMILIES)
def test_kl_divergence_across_families(p_name, q_name):
    # kl_divergence(Exponential, Gamma) and the other cross-family pairs PyTorch registers
    # raised NotImplementedError; values and gradients (where finite) are PyTorch's
    results = []
    for lib in (torch, tinyconv):
        rng = np.random.default_rng(3)
        (p, pp), (q, qp) = _family(lib, p_name, rng), _family(lib, q_name, rng)
        try:
            kl = lib.distributions.kl_divergence(p, q)
        except NotImplementedError:
            results.append(None)
            continue
        grads = []
        if kl.requires_grad:
            loss = kl.masked_fill(~kl.detach().isfinite(), 0.0).sum()
            grads = lib.autograd.grad(loss, pp + qp, allow_unused=True)
        results.append((kl.detach().numpy(), [None if g is None else g.numpy() for g in grads]))
    want, got = results
    assert (want is None) == (got is None), (want, got)
    if want is None:
        return
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10, atol=1e-12)
    assert len(got[1]) == len(want[1])
    for a, b in zip(got[1], want[1], strict=True):
        a = np.zeros_like(b) if a is None and b is not None else a
        b = np.zeros_like(a) if b is None and a is not None else b
        if a is not None:
            # (gradients through digamma meet PyTorch's trigamma, accurate to ~1e-9: README)
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-9)


def test_bernoulli_of_expanded_probabilities_is_contiguous():
    # bernoulli of an expanded tensor (Bernoulli.sample) had NumPy's empty_like strides (1, 3)
    same("""
    import torch
    p = torch.tensor([0.3, 0.9])
    > torch.bernoulli(p.expand(3, 2))
    > torch.distributions.Bernoulli(probs=p).sample((3,))
    > torch.distributions.Bernoulli(probs=p).sample((4, 1))
    > torch.bernoulli(torch.full((2, 3), 0.5))
    """)


def test_cat_stack_cumsum_masked_fill_of_transposed_inputs_are_contiguous():
    # NumPy keeps a transposed input's memory order through concatenate, stack, cumsum,
    # cumprod and where; PyTorch's results are contiguous there (so `.view` after them raised in
    # tinyconv), and channels-last when every input of cat/stack is channels-last
    same("""
    import torch
    x = torch.arange(12.).reshape(3, 4).t()
    > torch.cat([x, x])
    > torch.cat([x, x], 1).view(-1)
    > torch.stack([x, x])
    > torch.stack([x, x], 1).view(-1)
    > torch.hstack([x, x])
    > torch.vstack([x, x])
    > torch.dstack([x, x])
    > x.cumsum(0).view(-1)
    > x.cumprod(1)
    > x.masked_fill(x > 3, 0).view(-1)
    > torch.cat([x.int(), x.long()])
    c = torch.randn(2, 3, 4, 4).contiguous(memory_format=torch.channels_last)
    > torch.cat([c, c], 1)
    > torch.cat([c, c.contiguous()], 1)
    > torch.stack([c, c])
    > c.cumsum(1)
    > c.masked_fill(c > 0, 0)
    """)


def test_channels_last_kept_through_activations_pooling_norms_interpolate_pad():
    # these ops returned contiguous results for a channels-last input (PyTorch keeps it), and
    # relu/sigmoid/silu/gelu/softplus/erf of a transposed tensor came back contiguous
    same("""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    x = torch.randn(2, 3, 4, 4).contiguous(memory_format=torch.channels_last)
    cl = torch.channels_last
    > x.relu()
    > F.relu(x).is_contiguous(memory_format=cl)
    > F.gelu(x)
    > F.gelu(x, approximate='tanh')
    > F.silu(x)
    > x.sigmoid()
    > F.softplus(x)
    > torch.erf(x)
    > F.max_pool2d(x, 2)
    > F.max_pool2d(x, 2, return_indices=True)
    > F.avg_pool2d(x, 2)
    > F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
    > F.adaptive_avg_pool2d(x, 1)
    > F.adaptive_avg_pool2d(x, (2, 3))
    > F.adaptive_max_pool2d(x, 2, return_indices=True)
    > F.interpolate(x, scale_factor=2)
    > F.interpolate(x, scale_factor=2, mode='bilinear')
    > F.interpolate(x, size=(3, 5), mode='bilinear', align_corners=True)
    > F.interpolate(x, scale_factor=2, mode='bicubic')
    > F.interpolate(x, size=(2, 2), mode='area')
    > F.batch_norm(x, torch.zeros(3), torch.ones(3))
    > F.batch_norm(x, None, None, torch.ones(3), torch.zeros(3), training=True)
    > F.group_norm(x, 1)
    > nn.GroupNorm(3, 3)(x)
    > F.pad(x, (1, 1, 1, 1))
    > F.pad(x, (1, 2, 0, 1), mode='reflect')
    > F.pad(x, (1, 1, 1, 1), mode='replicate')
    > F.pad(x, (1, 1, 1, 1), mode='circular')
    > nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))(x)
    > F.layer_norm(x, (4, 4))
    > x.mean(1, keepdim=True)
    t = torch.arange(12.).reshape(3, 4).t()
    > t.relu()
    > t.sigmoid()
    > F.silu(t)
    > F.gelu(t)
    > F.softplus(t)
    > t.erf()
    > F.pad(t, (1, 1))
    > F.pad(t[None], (1, 1), mode='reflect')
    """)


def test_channels_last_gradients_and_values_match_contiguous_bits():
    # a channels-last input now reaches adaptive_avg_pool2d through the layers above, whose
    # means added in memory order: the same bits as contiguous are required
    def run(cl):
        tinyconv.manual_seed(0)
        nn = tinyconv.nn
        m = nn.Sequential(nn.GroupNorm(1, 3), nn.SiLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        x = tinyconv.tensor(np.random.default_rng(1).standard_normal((2, 3, 5, 7))).float()
        if cl:
            x = x.contiguous(memory_format=tinyconv.channels_last)
        x.requires_grad_()
        out = m(x)
        (out * tinyconv.tensor([[1.0, -2.0, 0.5]])).sum().backward()
        return out.detach().numpy(), x.grad.numpy()

    for a, b in zip(run(False), run(True), strict=True):
        assert np.array_equal(a, b)


# -- pytorch/tutorials: Hooks for autograd saved tensors
#    (intermediate_source/autograd_saved_tensors_hooks_tutorial.py), its code as published with
#    the prose left out; a manual_seed added at the top so both runs draw the same numbers.
SAVED_TENSORS_HOOKS = """
import torch
torch.manual_seed(0)

a = torch.randn(5, requires_grad=True)
b = torch.ones(5, requires_grad=True)
y = a * b

print(y.grad_fn._saved_self)
print(y.grad_fn._saved_other)

def f(x):
    return x * x

x = torch.randn(5, requires_grad=True)
y = f(f(f(x)))

a = torch.randn(5, requires_grad=True)
b = torch.ones(5, requires_grad=True)
y = a * b

print(y.grad_fn._saved_self is a)   # True
print(y.grad_fn._saved_other is b)  # True

a = torch.randn(5, requires_grad=True)
y = torch.exp(a)
print(y.grad_fn._saved_result.equal(y))  # True
print(y.grad_fn._saved_result is y)      # False

def pack_hook(x):
    print("Packing", x)
    return x

def unpack_hook(x):
    print("Unpacking", x)
    return x
a = torch.ones(5, requires_grad=True)
b = torch.ones(5, requires_grad=True) * 2

with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
    y = a * b

y.sum().backward()

x = torch.randn(5, requires_grad=True)
with torch.autograd.graph.saved_tensors_hooks(lambda x: x * 4, lambda x: x / 4):
    y = torch.pow(x, 2)
y.sum().backward()
assert(x.grad.equal(2 * x))

storage = []

def pack(x):
    storage.append(x)
    return len(storage) - 1

def unpack(x):
    return storage[x]

x = torch.randn(5, requires_grad=True)
with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
    y = x * x
y.sum().backward()

assert(x.grad.equal(2 * x))

def pack(x):
    delta = torch.randn(*x.size())
    return x - delta, lambda x: x + delta

def unpack(packed):
    x, f = packed
    return f(x)


x = torch.randn(5, requires_grad=True)
with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
    y = x * x
y.sum().backward()

assert(torch.allclose(x.grad, 2 * x))

x = torch.randn(5, requires_grad=True)
with torch.autograd.graph.saved_tensors_hooks(lambda x: repr(x), lambda x: eval("torch." + x)):
    y = x * x
y.sum().backward()
assert(torch.all(x.grad - 2 * x <= 1e-4))

def pack_hook(x):
    return (x.device, x.cpu())

def unpack_hook(packed):
    device, tensor = packed
    return tensor.to(device)

x = torch.randn(5, requires_grad=True)
with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
    y = x * x
y.sum().backward()

torch.allclose(x.grad, (2 * x))

import torch.nn as nn

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(5))

    def forward(self, x):
        with torch.autograd.graph.save_on_cpu(pin_memory=True):
            # some computation
            return self.w * x

x = torch.randn(5)
model = Model()
loss = model(x).sum()
loss.backward()

class SaveToCpu(nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, *args, **kwargs):
        with torch.autograd.graph.save_on_cpu(pin_memory=True):
            return self.module(*args, **kwargs)

model = nn.Sequential(
    nn.Linear(10, 100),
    SaveToCpu(nn.Linear(100, 100)),
    nn.Linear(100, 10),
)

x = torch.randn(10)
loss = model(x).sum()
loss.backward()

import uuid
tmp_dir = "temp"

def pack_hook(tensor):
    name = os.path.join(tmp_dir, str(uuid.uuid4()))
    torch.save(tensor, name)
    return name

def unpack_hook(name):
    return torch.load(name)

import uuid
import os
import tempfile
tmp_dir_obj = tempfile.TemporaryDirectory()
tmp_dir = tmp_dir_obj.name

def pack_hook(tensor):
    name = os.path.join(tmp_dir, str(uuid.uuid4()))
    torch.save(tensor, name)
    return name

def unpack_hook(name):
    tensor = torch.load(name)
    os.remove(name)
    return tensor

x = torch.ones(5, requires_grad=True)
with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
    y = x.pow(2)
print(y.grad_fn._saved_self)
try:
    print(y.grad_fn._saved_self)
    print("Double access succeeded!")
except:
    print("Double access failed!")

class SelfDeletingTempFile():
    def __init__(self):
        self.name = os.path.join(tmp_dir, str(uuid.uuid4()))

    def __del__(self):
        os.remove(self.name)

def pack_hook(tensor):
    temp_file = SelfDeletingTempFile()
    torch.save(tensor, temp_file.name)
    return temp_file

def unpack_hook(temp_file):
    return torch.load(temp_file.name)

SAVE_ON_DISK_THRESHOLD = 1000

def pack_hook(x):
    if x.numel() < SAVE_ON_DISK_THRESHOLD:
        return x
    temp_file = SelfDeletingTempFile()
    torch.save(tensor, temp_file.name)
    return temp_file

def unpack_hook(tensor_or_sctf):
    if isinstance(tensor_or_sctf, torch.Tensor):
        return tensor_or_sctf
    return torch.load(tensor_or_sctf.name)

class SaveToDisk(nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, *args, **kwargs):
        with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
            return self.module(*args, **kwargs)

net = nn.DataParallel(SaveToDisk(Model()))
"""


def test_saved_tensors_hooks_tutorial(monkeypatch):
    # torch.autograd.graph was missing; grad_fn._saved_self / _saved_other / _saved_result too
    from test_tutorials_torch import compare_runs

    _, out = compare_runs([SAVED_TENSORS_HOOKS], monkeypatch, floats="float32", skip=("tmp_dir",))
    assert out.count("Packing") == 2 and out.count("Unpacking") == 2
    assert "Double access failed!" in out


HOOKED_OPS = [
    "x * x",
    "x * w[0]",
    "x.exp()",
    "x.sin()",
    "x.log()",
    "x.pow(2)",
    "x ** 3",
    "x @ x.t()",
    "x.relu()",
    "x.sigmoid()",
    "x.tanh()",
    "x.log_softmax(1)",
    "x.softmax(1)",
    "x.amax(1)",
    "x / w[:2, :3]",
    "x.abs()",
    "x.norm()",
    "F.gelu(x)",
    "F.silu(x)",
    "x.cumsum(1)",
    "x.sum()",
    "x.view(6)",
    "torch.cat([x, x])",
    "x.exp().log()",
    "x.matmul(w.t())",
]


@pytest.mark.parametrize("expr", HOOKED_OPS)
def test_saved_tensors_hooks_see_what_pytorch_packs(expr):
    # which tensors each op hands to the pack hook (shape, whose output, in order), that
    # backward uses the unpack hook's tensor, and that both run once per saved tensor
    def run(T):
        F = T.nn.functional  # noqa: F841  (the expressions use it)
        T.manual_seed(0)
        x = T.randn(2, 3, requires_grad=True)
        w = T.randn(4, 3, requires_grad=True)
        log = []

        def pack(t):
            name = t.grad_fn.name() if t.grad_fn is not None else t.requires_grad
            log.append(("pack", tuple(t.shape), name, t is x or t is w))
            return t.detach() * 4

        def unpack(p):
            log.append(("unpack",))
            return p / 4

        with T.autograd.graph.saved_tensors_hooks(pack, unpack):
            out = eval(expr.replace("torch.", "T."))  # noqa: S307
        (out * T.arange(out.numel()).reshape(out.shape).cos()).sum().backward()
        return log, x.grad.numpy(), w.grad

    (log_t, gx_t, gw_t), (log_c, gx_c, gw_c) = run(torch), run(tinyconv)
    assert log_c == log_t
    np.testing.assert_allclose(gx_c, gx_t, rtol=1e-5, atol=1e-6)
    assert (gw_c is None) == (gw_t is None)
    if gw_t is not None:
        np.testing.assert_allclose(gw_c.numpy(), gw_t.numpy(), rtol=1e-5, atol=1e-6)


def test_saved_tensors_hooks_semantics():
    same("""
    import torch
    calls = []
    def pack(t):
        calls.append('pack')
        t * t  # ops inside a pack hook save nothing through it
        return t
    def unpack(t):
        calls.append('unpack')
        return t
    a = torch.ones(3, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = a.exp()
    > list(calls)
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    > list(calls)
    > a.grad
    inner = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: 1 / 0, lambda t: t):
        with torch.autograd.graph.saved_tensors_hooks(lambda t: inner.append(t) or t, lambda t: t):
            y = a.sin()
    > len(inner)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: 3):
        y = a.exp()
    > y.sum().backward()
    with torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t.double()):
        y = a.exp()
    a.grad = None
    y.sum().backward()
    > a.grad
    b = a.exp()
    with torch.autograd.graph.saved_tensors_hooks(lambda t: t.clone(), lambda t: t):
        z = b * b
    with torch.no_grad():
        b.mul_(2)
    a.grad = None
    z.sum().backward()  # (a packed tensor is not checked for in-place changes)
    > a.grad
    c = a.exp()
    z = c * c
    with torch.no_grad():
        c.mul_(2)
    > z.sum().backward()
    with torch.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
        try:
            with torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                pass
            refused = False
        except RuntimeError as e:
            refused = str(e)
    > refused
    class Sq(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t * t
        @staticmethod
        def backward(ctx, g):
            t, = ctx.saved_tensors
            return 2 * t * g
    seen = []
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: seen.append(t is x) or t * 10, lambda t: t / 10):
        o = Sq.apply(x)
    o.sum().backward()
    > seen
    > x.grad
    with torch.autograd.graph.save_on_cpu():
        q = (x * x.exp()).sum()
    x.grad = None
    g, = torch.autograd.grad(q, x, create_graph=True)
    > g
    g.sum().backward()
    > x.grad
    y = x.pow(3)
    > y.grad_fn._saved_self is x
    > y.grad_fn._saved_result
    e = x.exp()
    > e.grad_fn._saved_result.equal(e)
    > e.grad_fn._saved_result is e
    m = x * e
    > m.grad_fn._saved_other.grad_fn.name()
    m.sum().backward()
    > m.grad_fn._saved_self
    """)


def test_zero_dim_results_stay_zero_dim():
    # (np.ascontiguousarray makes a 0-d array 1-d: the contiguity fixes above must not)
    same("""
    import torch
    x = torch.tensor(0.25, requires_grad=True)
    > x.masked_fill(x > 1, 0.0)
    > x.cumsum(0)
    > x.cumprod(0)
    > x.topk(1)
    > torch.stack([x, x])
    > torch.nn.functional.hardshrink(x)
    > torch.where(x > 0)
    """)


def test_tensor_of_one_element_tensors_reads_them_as_numbers():
    # torch.tensor([t1, t2]) of (1,)-shaped tensors gave shape (2, 1) (NumPy nested their
    # dims); PyTorch reads each as a number, and refuses longer ones
    same("""
    import torch
    import numpy as np
    > torch.tensor([torch.tensor([1.0]), torch.tensor([2.0])])
    > torch.tensor([torch.tensor([[1.0]]), torch.tensor([[2.0]])])
    > torch.tensor([torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])])
    > torch.tensor([[torch.tensor([1]), 2]])
    > torch.tensor([torch.tensor(1), torch.tensor(2.5)])
    > torch.tensor([torch.tensor(1, dtype=torch.int8), torch.tensor(2, dtype=torch.int8)])
    > torch.tensor([torch.tensor(1.0, dtype=torch.float64)])
    > torch.tensor([torch.tensor([]), torch.tensor([])])
    > torch.tensor([[torch.tensor(1.0), torch.tensor(2.0)], [3.0, 4.0]])
    > torch.tensor([torch.tensor([1.5]), 2], dtype=torch.float64)
    > torch.as_tensor([torch.tensor([1.0]), torch.tensor([2.0])])
    > torch.tensor([np.array([1.0]), np.array([2.0])])
    losses = [torch.tensor([0.5]) * i for i in range(3)]
    > torch.tensor(losses).mean()
    """)


def test_base_is_the_viewed_tensor():
    # x._base gave tinyconv's internal view record (a tuple), so `v._base is x` was False
    same("""
    import torch
    a = torch.ones(3, 4)
    b = a.view(12)
    c = a[1:]
    d = c.t()
    e = a.clone()
    > b._base is a
    > c._base is a
    > d._base is a
    > a._base is None
    > e._base is None
    > a.unbind(0)[0]._base is a
    > a.split(2, 1)[1]._base is a
    > a.detach()._base is None
    > a[[0, 1]]._base is None
    w = torch.ones(3, requires_grad=True)
    v = w[:2]
    > v._base is w
    """)


def test_advanced_index_and_where_results_are_contiguous():
    # x[:, [0, 2]] and torch.where(cond) came back strided (NumPy's layouts)
    same("""
    import torch
    x = torch.arange(24.).reshape(2, 3, 4)
    > x[:, [0, 2]]
    > x[:, :, [1, 3]]
    > x[:, [0, 1], [1, 2]]
    > x[:, torch.tensor([True, False, True])]
    > x[..., torch.tensor([1, 2])]
    > x[:, torch.tensor([[0, 1], [1, 0]])]
    > x[:, [0, 2]].view(-1)
    > torch.where(x > 5)
    > torch.where(x[0] > 2)[1].view(-1)
    """)


def test_sparse_init():
    # nn.init.sparse_ was missing: PyTorch's draws (normal_, then one randperm per column)
    same("""
    import torch
    import torch.nn as nn
    torch.manual_seed(0)
    > nn.init.sparse_(torch.empty(4, 3), sparsity=0.5)
    > nn.init.sparse_(torch.empty(5, 2), sparsity=0.1, std=2.0)
    > torch.rand(2)
    > nn.init.sparse_(torch.empty(2, 2, 2), 0.5)
    """)


def test_return_type_reprs_and_split_node_names():
    # linalg.slogdet printed as torch.return_types.slogdet, histogram without its module;
    # split/chunk/unbind showed SliceBackward0/SelectBackward0
    same("""
    import torch
    A = torch.tensor([[2.0, 1.0], [1.0, 3.0]])
    print(torch.linalg.slogdet(A))
    print(torch.slogdet(A))
    print(torch.histogram(torch.tensor([1.0, 2.0, 1.0]), bins=2))
    x = torch.ones(4, 2, requires_grad=True)
    print(x.split(2))
    print(x.split([1, 3]))
    print(x.chunk(2, 1))
    print(x.unbind(1))
    print(torch.ones(0, 2, requires_grad=True).chunk(2))
    print(torch.tensor_split(x, 2))
    """)


def test_gradient():
    # torch.gradient was missing
    same("""
    import torch
    > torch.gradient(torch.tensor([1, 2, 4, 7]))
    > torch.gradient(torch.tensor([[1., 2, 4], [2, 5, 9]]), spacing=2.0)
    > torch.gradient(torch.tensor([[1., 2, 4], [2, 5, 9]]), spacing=[2.0], dim=1)
    > torch.gradient(torch.tensor([[1., 2, 4], [2, 5, 9]]), spacing=[2.0, 0.5])
    > torch.gradient(torch.tensor([1., 2, 4, 7]), spacing=(torch.tensor([0., 1, 3, 4]),))
    > torch.gradient(torch.tensor([1., 2, 4, 7]), spacing=(torch.tensor([0., 1, 3, 4]),), edge_order=2)
    > torch.gradient(torch.tensor([1., 2, 4, 7, 3], dtype=torch.float64), dim=0, edge_order=2)
    > torch.gradient(torch.tensor([1., 2]), edge_order=2)
    > torch.gradient(torch.tensor([1., 2, 4, 7]), spacing=[1.0, 2.0])
    > torch.gradient(torch.arange(12.).reshape(3, 4) ** 2, dim=(0, 1), edge_order=2)
    x = torch.tensor([1., 2, 4, 7], requires_grad=True)
    g = torch.gradient(x)[0]
    (g * torch.tensor([1., -2., 3., 0.5])).sum().backward()
    > x.grad
    """)


def test_vector_to_parameters_makes_views_of_the_vector():
    # vector_to_parameters copied into the parameters; PyTorch sets their data to views of
    # the vector (later writes to it show in the parameters; old state_dict values stay)
    same("""
    import torch
    import torch.nn as nn
    torch.manual_seed(0)
    m = nn.Linear(2, 2)
    sd = m.state_dict()
    vec = torch.arange(6.0)
    nn.utils.vector_to_parameters(vec, m.parameters())
    > m.weight, m.bias
    > sd['weight']
    vec.mul_(10)
    > m.weight
    nn.utils.vector_to_parameters(torch.ones(6, dtype=torch.float64), m.parameters())
    > m.bias
    > nn.utils.parameters_to_vector(m.parameters())
    """)


def test_copysign_result_modified_in_place_raises_in_backward():
    # (found by tests/test_torch_fuzz.py) PyTorch's copysign saves self and its result
    same("""
    import torch
    x0 = torch.tensor(-0.132, dtype=torch.float64, requires_grad=True)
    x3 = torch.tensor(0.362, dtype=torch.float64, requires_grad=True)
    v3 = x3.copysign(-1.0)
    v3.add_(x0)
    > (v3 * 2).sum().backward()
    y = torch.tensor([1.0, -2.0], requires_grad=True)
    w = y * 1
    z = w.copysign(torch.tensor([-1.0, 1.0]))
    w.mul_(2)
    > z.sum().backward()
    u = y * 1
    u.copysign_(-1.0)
    > u.sum().backward()
    > y.grad
    """)


def test_more_distributions():
    # Poisson, Geometric, Chi2, LogNormal and HalfNormal were missing: PyTorch's samples
    # for the same seed, log_prob, entropy, moments, cdf/icdf and shapes
    same("""
    import torch
    import torch.distributions as D
    torch.manual_seed(0)
    p = D.Poisson(torch.tensor([0.5, 3.0, 12.0]))
    > p.sample((2,))
    > p.log_prob(torch.tensor([0.0, 2.0, 15.0]))
    > p.mean, p.mode, p.variance, p.batch_shape
    > D.Poisson(4.0).sample((3,))
    > D.kl_divergence(p, D.Poisson(torch.tensor([1.0, 1.0, 1.0])))
    > D.kl_divergence(D.Bernoulli(torch.tensor([0.2, 0.5, 0.9])), p)
    > D.kl_divergence(p, D.Bernoulli(torch.tensor(0.5)))
    > D.kl_divergence(D.Geometric(torch.tensor([0.2, 0.7])), D.Geometric(torch.tensor([0.5, 0.5])))
    > D.kl_divergence(D.HalfNormal(torch.tensor([1.0, 2.0])), D.HalfNormal(torch.tensor(1.5)))
    > D.kl_divergence(D.LogNormal(0.0, 1.0), D.LogNormal(torch.tensor([0.5]), torch.tensor([2.0])))
    > D.kl_divergence(D.LogNormal(0.0, 1.0), D.HalfNormal(1.0))
    > D.kl_divergence(D.Chi2(torch.tensor(3.0)), D.Chi2(torch.tensor(2.0)))
    g = D.Geometric(torch.tensor([0.2, 0.9, 1.0]))
    > g.sample((3,))
    > g.log_prob(torch.tensor([0.0, 2.0, 0.0]))
    > g.entropy()
    > g.mean, g.variance, g.mode, g.logits
    > D.Geometric(logits=torch.tensor([0.0, -1.0])).sample((2,))
    > D.Geometric(torch.tensor([0.0]))
    c = D.Chi2(torch.tensor([1.0, 3.0]))
    > c.sample((2,))
    > c.log_prob(torch.tensor([0.5, 2.0]))
    > c.df, c.mean, c.variance, c.entropy()
    > D.Chi2(4.0).rsample().shape
    > c.expand((2, 2)).df
    ln = D.LogNormal(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.5]))
    > ln.sample((3,))
    > ln.rsample()
    > ln.log_prob(torch.tensor([0.5, 3.0]))
    > ln.mean, ln.variance, ln.mode, ln.entropy(), ln.loc, ln.scale
    > ln.cdf(torch.tensor([1.0, 2.0])), ln.icdf(torch.tensor([0.3, 0.9]))
    > ln.expand((4, 2)).sample().shape
    h = D.HalfNormal(torch.tensor([1.0, 2.0]))
    > h.sample((3,))
    > h.log_prob(torch.tensor([0.5, -1.0]))
    > h.mean, h.variance, h.entropy(), h.scale
    > h.cdf(torch.tensor([0.5, 1.0])), h.icdf(torch.tensor([0.5, 0.9]))
    > D.HalfNormal(1.0).rsample((2,))
    """)


def _new_distribution(D, name: str, a, b):
    if name == "LogNormal":
        return D.LogNormal(a, b)
    if name == "HalfNormal":
        return D.HalfNormal(b)
    if name == "Chi2":
        return D.Chi2(b * 3)
    if name == "Poisson":
        return D.Poisson(b * 2)
    return D.Geometric(probs=b / 2)


@pytest.mark.parametrize("name", ["LogNormal", "HalfNormal", "Chi2", "Poisson", "Geometric"])
def test_more_distributions_gradients(name):
    # log_prob and entropy gradients against PyTorch's (float64), rsample's through the params
    outs = []
    for lib in (torch, tinyconv):
        D = lib.distributions
        a = lib.tensor([0.3, 1.7], dtype=lib.float64, requires_grad=True)
        b = lib.tensor([0.8, 1.4], dtype=lib.float64, requires_grad=True)
        value = lib.tensor([0.6, 2.0], dtype=lib.float64)
        d = _new_distribution(D, name, a, b)
        if name in ("Poisson", "Geometric"):
            value = lib.tensor([0.0, 3.0], dtype=lib.float64)
        loss = (d.log_prob(value) * lib.tensor([1.0, -0.5], dtype=lib.float64)).sum()
        if name != "Poisson":
            loss = loss + d.entropy().sum()
        ga = lib.autograd.grad(loss, [a, b], allow_unused=True)
        outs.append([None if g is None else g.numpy() for g in ga])
    for g, w in zip(outs[1], outs[0], strict=True):
        assert (g is None) == (w is None)
        if w is not None:
            np.testing.assert_allclose(g, w, rtol=1e-8, atol=1e-10)


def test_function_mark_dirty():
    # ctx.mark_dirty was missing: the caller's tensor comes back, its history through the node
    same("""
    import torch
    class Double(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x.mul_(2)
        @staticmethod
        def backward(ctx, g):
            return g * 2
    w = torch.tensor([1.0, -3.0], requires_grad=True)
    v = w.exp()
    r = Double.apply(v)
    > r is v
    > v.grad_fn.name()
    > v._version
    > v
    (v * v).sum().backward()
    > w.grad
    > Double.apply(torch.ones(2, requires_grad=True))
    u = torch.ones(2)
    > Double.apply(u) is u
    > u
    with torch.no_grad():
        q = w * 1
        d = Double.apply(q)
    > d.requires_grad, d is q, q._version
    """)


def test_torch_nn_modules_import_paths():
    # `from torch.nn.parameter import Parameter` and `torch.nn.modules.<file>` imports failed
    same("""
    import torch
    from torch.nn.parameter import Parameter
    from torch.nn.modules.module import Module
    from torch.nn.modules.loss import _Loss, _WeightedLoss, MSELoss
    from torch.nn.modules.batchnorm import _BatchNorm
    from torch.nn.modules.conv import _ConvNd
    from torch.nn.modules.utils import _pair, _single, _triple
    from torch.nn.modules.linear import Linear
    import torch.nn.functional as F

    class Huberish(_Loss):
        def __init__(self, delta=1.0, reduction='mean'):
            super().__init__(reduction=reduction)
            self.delta = delta
        def forward(self, a, b):
            return F.huber_loss(a, b, reduction=self.reduction, delta=self.delta)

    class WeightedMSE(_WeightedLoss):
        def forward(self, a, b):
            return (self.weight * (a - b) ** 2).sum()

    torch.manual_seed(0)
    lin = Linear(3, 2)
    x = torch.randn(4, 3)
    > Huberish(0.5)(lin(x), torch.zeros(4, 2))
    > Huberish(reduction='sum').reduction
    > WeightedMSE(torch.tensor([1.0, 2.0]))(lin(x), torch.zeros(4, 2))
    > list(WeightedMSE(torch.tensor([1.0, 2.0])).state_dict())
    > isinstance(MSELoss(), _Loss), isinstance(torch.nn.BatchNorm2d(2), _BatchNorm)
    > isinstance(torch.nn.Conv2d(1, 1, 3), _ConvNd), isinstance(lin, Module)
    > _pair(3), _pair((1, 2)), _single(4), _triple([1, 2, 3])
    > isinstance(lin.weight, Parameter)
    > Parameter(torch.ones(2))
    """)


def test_tensor_type_names():
    # x.type('torch.IntTensor') and x.type(torch.IntTensor) raised; int8/int16/uint8/float16
    # tensors' type() gave the dtype's name
    same("""
    import torch
    x = torch.tensor([1.5, -2.7])
    > x.type('torch.IntTensor')
    > x.type('torch.DoubleTensor')
    > x.type('torch.ByteTensor')
    > x.type(torch.LongTensor)
    > x.type(torch.float16)
    > x.type('int32')
    > [torch.tensor([1], dtype=d).type() for d in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float16, torch.float32, torch.float64, torch.bool)]
    """)


def test_grad_mode_decorators_on_functions_and_generators():
    # `@torch.set_grad_enabled(False)` raised TypeError after switching grad off for good; a
    # `@torch.no_grad()` generator ran its body with grad on (and its caller's loop off)
    same("""
    import torch
    x = torch.randn(3, requires_grad=True)
    @torch.set_grad_enabled(False)
    def f(x):
        return x * 2
    > torch.is_grad_enabled()
    > f(x).requires_grad
    > torch.is_grad_enabled()
    > repr(torch.set_grad_enabled(True))
    @torch.no_grad()
    def gen(x):
        for i in range(2):
            print(torch.is_grad_enabled())
            yield x * i
        return 'done'
    r = []
    for y in gen(x):
        print('loop', torch.is_grad_enabled())
        r.append(y)
    > [t.requires_grad for t in r]
    @torch.enable_grad()
    def gen2(x):
        yield x * 2
        yield x * 3
    with torch.no_grad():
        r2 = list(gen2(x))
        > torch.is_grad_enabled()
    > [t.requires_grad for t in r2]
    @torch.inference_mode()
    def gen3(x):
        yield x * 2
    > [t.requires_grad for t in gen3(x)]
    g = gen(x)
    > next(g).requires_grad
    g.close()
    > torch.is_grad_enabled()
    """)


def test_grad_assignment_and_detach_of_views_are_checked():
    # assigning a .grad of another shape or dtype was accepted (the next accumulation then
    # broadcast or promoted), and detach_() of a view cut a history that is re-derived from
    # its base; PyTorch raises for all three
    same("""
    import torch
    x = torch.randn(3, requires_grad=True)
    > setattr(x, 'grad', torch.zeros(2))
    > setattr(x, 'grad', torch.zeros(3, dtype=torch.float64))
    > setattr(x, 'grad', 3)
    > setattr(x, 'grad', torch.ones(3))
    (x * 2).sum().backward()
    > x.grad
    > setattr(x, 'grad', None)
    > x.grad
    i = torch.arange(3)
    > setattr(i, 'grad', torch.zeros(3, dtype=torch.int64))
    > x[0:2].detach_()
    > torch.randn(3)[1:].detach_()
    y = x * 2
    > y.view(3).detach_()
    y.detach_()
    > y.requires_grad, y.is_leaf
    m = torch.nn.Linear(2, 2)
    m(torch.randn(1, 2)).sum().backward()
    m.zero_grad(set_to_none=False)
    > m.weight.grad
    """)


def test_jacobian_forward_mode_strategy():
    # strategy="forward-mode" raised NotImplementedError; PyTorch's values, its layout (columns
    # contiguous), its containers (lists for a tuple of inputs) and its refusals
    same("""
    import torch
    from torch.autograd.functional import jacobian, hessian
    def exp_adder(x, y):
        return 2 * x.exp() + 3 * y
    xy = (torch.rand(2), torch.rand(3, 2))
    > jacobian(exp_adder, xy, vectorize=True, strategy="forward-mode")
    > jacobian(exp_adder, xy, strategy="forward-mode")
    > jacobian(exp_adder, xy, vectorize=True, strict=True, strategy="forward-mode")
    > jacobian(exp_adder, xy, vectorize=True, create_graph=True, strategy="forward-mode")
    > jacobian(lambda x: (x.exp(), x.sum() * 2), torch.rand(2, 3), vectorize=True, strategy="forward-mode")
    > jacobian(lambda x, y: (x.exp() * y.sum(), x.sum() * 2), (torch.rand(2, 3), torch.rand(4)), vectorize=True, strategy="forward-mode")
    > jacobian(lambda x: x.sum(), torch.rand(2, 3), vectorize=True, strategy="forward-mode")
    > jacobian(lambda x: x.exp(), torch.rand(2, 3, dtype=torch.float64), vectorize=True, strategy="forward-mode")
    > hessian(lambda x: x.pow(3).sum(), torch.rand(2, 3), outer_jacobian_strategy="forward-mode")
    > torch.func.jacfwd(torch.sin)(torch.randn(4)).stride()
    > torch.func.jacfwd(lambda a, b: a.sum() * b, argnums=(0, 1))(torch.randn(4), torch.randn(2, 3))
    > torch.func.hessian(lambda a: (a ** 3).sum())(torch.randn(2, 3)).stride()
    """)


def test_node_hooks_and_metadata():
    # grad_fn.register_hook / register_prehook / metadata were missing (the "Backward hooks"
    # section of PyTorch's autograd notes)
    same("""
    import torch
    import torch.nn.functional as F
    x = torch.randn(3, requires_grad=True)
    w = torch.randn(3, requires_grad=True)
    y = x * w
    def post(gi, go):
        print('post', len(gi), [g is None for g in gi], go[0])
        return (gi[0] * 10, None)
    h = y.grad_fn.register_hook(post)
    y.register_hook(lambda g: g + 1)
    _ = y.grad_fn.register_prehook(lambda go: print('pre', go[0]))
    y.sum().backward()
    > x.grad, w.grad
    h.remove()
    x.grad = w.grad = None
    y = x * w
    _ = y.grad_fn.register_prehook(lambda go: (go[0] * 3,))
    _ = y.grad_fn.register_prehook(lambda go: (go[0] + 1,))
    y.sum().backward()
    > x.grad, w.grad
    z = x.exp().sum()
    _ = z.grad_fn.register_hook(lambda gi, go: (gi[0] * 2,))
    g, = torch.autograd.grad(z, x, create_graph=True)
    > g, g.requires_grad
    img = torch.randn(1, 2, 5, 5, requires_grad=True)
    c = F.conv2d(img, torch.randn(3, 2, 3, 3, requires_grad=True), torch.randn(3))
    _ = c.grad_fn.register_hook(lambda gi, go: print([None if g is None else tuple(g.shape) for g in gi]))
    c.sum().backward()
    q = x * 2
    _ = q.grad_fn.register_hook(lambda gi, go: (gi[0],))
    > q.sum().backward()
    q2 = x * 2
    _ = q2.grad_fn.register_hook(lambda gi, go: 5)
    > q2.sum().backward()
    q3 = x.sin()
    q3.grad_fn.metadata['k'] = 1
    > q3.grad_fn.metadata
    """)


def test_autograd_backward_of_several_tensors_and_leaf_only_attributes():
    # torch.autograd.backward([a, b], ...) raised AttributeError; `t.data = 3` was accepted;
    # `nonleaf.requires_grad = True` was accepted (PyTorch's setter refuses either value on a
    # non-leaf; requires_grad_(True) there is fine); load_state_dict's result class is named
    # _IncompatibleKeys, as PyTorch's
    same("""
    import torch
    x = torch.randn(3, requires_grad=True)
    a = x * 2
    b = x.sin()
    torch.autograd.backward([a.sum(), b.sum()], retain_graph=True)
    > x.grad
    x.grad = None
    torch.autograd.backward([a, b], [torch.ones(3), torch.full((3,), 2.0)], inputs=[x])
    > x.grad
    > torch.autograd.backward([a, b], [torch.ones(3)])
    > torch.autograd.backward([a.sum(), torch.ones(1)])
    > torch.autograd.backward((x * 3).sum(), inputs=[])
    x.grad = None
    torch.autograd.backward((x * 3).sum(), grad_variables=torch.tensor(2.0))
    > x.grad
    > setattr(x, 'data', 3)
    > setattr(x, 'data', [1.0, 2.0, 3.0])
    x.data = torch.zeros(2)
    > x, x.requires_grad
    c = x * 2
    > setattr(c, 'requires_grad', True)
    > setattr(c, 'requires_grad', False)
    > c.requires_grad_(True).requires_grad
    > c.requires_grad_(False)
    m = torch.nn.Linear(2, 2)
    > type(m.load_state_dict(m.state_dict())).__name__
    > m.load_state_dict(m.state_dict())
    """)


def test_grad_with_batched_grad_outputs():
    # autograd.grad(..., is_grads_batched=True) raised NotImplementedError
    same("""
    import torch
    x = torch.randn(3, requires_grad=True)
    w = torch.randn(3, requires_grad=True)
    a = x.exp() * w
    > torch.autograd.grad(a, x, grad_outputs=torch.eye(3), is_grads_batched=True, retain_graph=True)
    > torch.autograd.grad([a, a.sum()], (x, w), grad_outputs=[torch.eye(3), torch.ones(3)], is_grads_batched=True, retain_graph=True)
    g = torch.autograd.grad(a, x, grad_outputs=torch.eye(3), is_grads_batched=True, create_graph=True)[0]
    > g, g.requires_grad
    g.sum().backward()
    > x.grad, w.grad
    > torch.autograd.grad(a, x, grad_outputs=torch.eye(3), is_grads_batched=True)
    """)


def test_graph_walk_sees_pytorchs_node_class_names():
    # type(grad_fn).__name__ was tinyconv's class (`Mul`, `Sum`, `ShownNode`, a user's `Sq`),
    # not PyTorch's node name (`MulBackward0`, `SumBackward1`, `TBackward0`, `SqBackward`)
    same("""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    class Sq(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x
        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 2 * x * g
    def walk(fn, depth=0, seen=None):
        seen = set() if seen is None else seen
        if fn is None:
            print('  ' * depth + 'None')
            return
        print('  ' * depth + type(fn).__name__ + ' ' + fn.name() + ' ' + fn.__class__.__name__)
        if fn in seen:
            return
        seen.add(fn)
        for nxt, _ in fn.next_functions:
            walk(nxt, depth + 1, seen)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2, 3))
    out = net(torch.randn(2, 1, 4, 4))
    loss = F.cross_entropy(out, torch.tensor([0, 2])) + Sq.apply(out).mean() + F.mse_loss(out, torch.zeros(2, 3))
    walk(loss.grad_fn)
    h = torch.randn(3, requires_grad=True)
    y = h.sum(0) + h.sum() + h[0] + h[1:].sum() + h.view(3, 1).squeeze(1).sum() + torch.tanh(h).prod()
    walk(y.grad_fn)
    > isinstance(y.grad_fn, torch.autograd.graph.Node), isinstance(y.grad_fn.next_functions[0][0], torch.autograd.graph.Node)
    """)


def test_custom_functions_under_func_transforms_follow_pytorchs_rules():
    # inside torch.func transforms tinyconv ran any autograd.Function; PyTorch requires the
    # setup_context style, a vmap rule (generate_vmap_rule or a vmap staticmethod) under vmap
    # and jacfwd, and a jvp staticmethod under jvp and jacfwd
    same("""
    import torch
    class Old(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2
        @staticmethod
        def backward(ctx, g):
            return g * 2
    class Split(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return x.exp()
        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(output)
        @staticmethod
        def backward(ctx, g):
            out, = ctx.saved_tensors
            return g * out
    class Gen(Split):
        generate_vmap_rule = True
    x = torch.randn(3)
    > torch.func.grad(lambda x: Old.apply(x).sum())(x)
    > torch.vmap(Old.apply)(torch.randn(2, 3))
    > torch.func.grad(lambda x: Split.apply(x).sum())(x)
    > torch.func.vjp(Split.apply, x)[1](torch.ones(3))
    > torch.func.jacrev(Split.apply)(x)
    > torch.vmap(Split.apply)(torch.randn(2, 3))
    > torch.vmap(Gen.apply)(torch.randn(2, 3))
    > torch.func.jacfwd(Split.apply)(x)
    > torch.func.jacfwd(Gen.apply)(x)
    > torch.func.jvp(Gen.apply, (x,), (torch.ones(3),))
    > torch.vmap(torch.func.grad(lambda x: Split.apply(x).sum()))(torch.randn(2, 3))
    > torch.vmap(torch.func.grad(lambda x: Gen.apply(x).sum()))(torch.randn(2, 3))
    > torch.autograd.functional.jacobian(Old.apply, x)
    > torch.vmap(lambda a: (a.sum(), a * 2), out_dims=(0, 1))(torch.randn(4, 3))
    > torch.vmap(lambda a: a * 2, out_dims=-1)(torch.randn(2, 3, 4))
    """)


def test_function_apply_keywords_linearize_and_gradcheck_options():
    # Function.apply(x, k=3.0) raised TypeError (PyTorch binds keywords to forward's
    # parameters, and fills in defaults for the setup_context style); func.linearize was
    # missing; gradcheck refused float32 inputs (PyTorch warns and checks) and PyTorch's
    # options (check_batched_grad, nondet_tol, check_grad_dtypes, ...)
    same("""
    import torch
    from torch.func import linearize
    from torch.autograd import gradcheck, gradgradcheck
    class S(torch.autograd.Function):
        @staticmethod
        def forward(x, k=2.0):
            return x * k
        @staticmethod
        def setup_context(ctx, inputs, output):
            print('inputs', len(inputs), inputs[1:])
            ctx.k = inputs[1]
        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None
    class O(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, k=2.0):
            print('needs', ctx.needs_input_grad)
            return x * k
        @staticmethod
        def backward(ctx, g):
            return g * 2
    x = torch.randn(3, requires_grad=True)
    S.apply(x).sum().backward()
    S.apply(x, k=3.0).sum().backward()
    S.apply(k=3.0, x=x).sum().backward()
    O.apply(x).sum().backward()
    > x.grad
    > O.apply(x, k=3.0).sum().backward()
    > O.apply(x, z=3.0)
    > S.apply(x, 1.0, 2.0)
    out, f = linearize(torch.sin, torch.randn(3))
    > out, f(torch.ones(3))
    > f(torch.ones(2))
    _, f2 = linearize(lambda a, b: a * b.exp(), torch.randn(3), torch.randn(3))
    > f2(torch.ones(3), torch.full((3,), 2.0))
    y = torch.randn(3, requires_grad=True)
    > gradcheck(torch.sin, (y,), eps=1e-3, atol=1e-2, rtol=1e-2)
    > gradcheck(torch.sin, (y,), raise_exception=False, nondet_tol=1e-9, check_undefined_grad=False, check_batched_grad=True)
    yd = torch.randn(3, dtype=torch.float64, requires_grad=True)
    > gradcheck(torch.sin, (yd,), check_grad_dtypes=True, check_batched_grad=True)
    > gradcheck(torch.sin, (yd,), check_backward_ad=False)
    > gradgradcheck(torch.sin, (yd,), check_batched_grad=True, gen_non_contig_grad_outputs=True)
    > gradcheck(lambda t: t.float().double(), (yd,), check_grad_dtypes=True)
    """)


def test_retain_grad_follows_in_place_changes():
    # after retain_grad() and an in-place op on the tensor (or a write into it through a view
    # or an index), .grad was the gradient of the old value; PyTorch's is the new value's
    same("""
    import torch
    x = torch.tensor([1., 2., 3.], requires_grad=True)
    w = x * 1
    w.retain_grad()
    w.mul_(5)
    w.sum().backward()
    > w.grad, x.grad, w.retains_grad
    x.grad = None
    b = x * 1
    b.retain_grad()
    b[0] = 5
    (b * torch.tensor([1., 2., 3.])).sum().backward()
    > b.grad, x.grad
    x.grad = None
    c = x * 1
    c.retain_grad()
    c[0:2].mul_(2)
    (c * torch.tensor([1., 2., 3.])).sum().backward()
    > c.grad, x.grad
    x.grad = None
    e = x * 1
    e.retain_grad()
    e.add_(1)
    e.exp_()
    e.sum().backward()
    > e.grad, x.grad
    x.grad = None
    f = x * 1
    g = f[1:]
    g.retain_grad()
    f.mul_(3)
    g.sum().backward()
    > g.grad, x.grad
    """)


def test_global_module_hooks_import_path_and_user_node_repr():
    # `from torch.nn.modules.module import register_module_forward_hook` failed (the hooks
    # lived only in tinyconv.nn.module); a user's Function node printed without PyTorch's
    # module path (torch.autograd.function.ABackward)
    same("""
    import torch
    import torch.nn as nn
    from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook, register_module_full_backward_hook, _IncompatibleKeys
    seen = []
    h1 = register_module_forward_hook(lambda m, i, o: seen.append(('f', type(m).__name__)))
    h2 = register_module_forward_pre_hook(lambda m, i: seen.append(('pre', type(m).__name__)))
    h3 = register_module_full_backward_hook(lambda m, gi, go: seen.append(('b', type(m).__name__)))
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    net(torch.randn(1, 2, requires_grad=True)).sum().backward()
    h1.remove(); h2.remove(); h3.remove()
    net(torch.randn(1, 2))
    > seen
    > isinstance(net.load_state_dict(net.state_dict()), _IncompatibleKeys)
    class Twice(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2
        @staticmethod
        def backward(ctx, g):
            return g * 2
    y = Twice.apply(torch.ones(2, requires_grad=True))
    > repr(y.grad_fn).split(' object at')[0], y.grad_fn.name(), type(y.grad_fn).__name__
    > repr(Twice.apply).split(' of ')[0]
    """)


def test_second_backward_raises_where_pytorchs_node_saved_tensors():
    # a second backward without retain_graph ran through nodes whose PyTorch counterparts save
    # index or mask tensors (tinyconv kept them as plain attributes, not freed): PyTorch raises
    same("""
    import torch
    import torch.nn.functional as F
    def twice(f):
        x = torch.randn(2, 3, requires_grad=True)
        y = f(x)
        y.sum().backward()
        y.sum().backward()
        return x.grad
    > twice(lambda x: x[[0, 1]])
    > twice(lambda x: x[x > 0])
    > twice(lambda x: x.max(0)[0])
    > twice(lambda x: x.sort(1)[0])
    > twice(lambda x: x.topk(2, 1)[0])
    > twice(lambda x: x.gather(0, torch.tensor([[0, 1, 0]])))
    > twice(lambda x: torch.where(x > 0, x, torch.zeros(1)))
    > twice(lambda x: x.masked_fill(x > 0, 0.0))
    > twice(lambda x: x.index_select(1, torch.tensor([0, 2])))
    > twice(lambda x: F.max_pool1d(x.unsqueeze(0), 2))
    > twice(lambda x: F.avg_pool1d(x.unsqueeze(0), 2))
    > twice(lambda x: F.embedding(torch.tensor([1, 0]), x))
    > twice(lambda x: x[0:1] * 2 + x[1])
    > twice(lambda x: x.sum(0) + x.t().reshape(6)[:3])
    """)


def same_errors(src: str) -> None:
    """`same`, and where PyTorch raises, tinyconv's exception is an instance of PyTorch's
    exception class (tinyconv may raise a subclass of both: ValueError and RuntimeError)."""
    same(src)
    want, got = _run_errors(src, "torch"), _run_errors(src, "tinyconv")
    for (code, a), (_, b) in zip(want, got, strict=True):
        if a is not None:
            assert b is not None and isinstance(b, type(a)), (
                f"{code}: PyTorch raises {type(a).__name__}: {a}; tinyconv {b!r}"
            )


def _run_errors(src: str, lib: str) -> list:
    """Each '>' expression's exception (None if it ran), the other lines executed."""
    if lib == "tinyconv":
        src = re.sub(r"\btorch\b", "tinyconv", src)
    ns: dict = {}
    out = []
    block: list[str] = []
    for line in textwrap.dedent(src).strip().splitlines():
        if not line.startswith(">"):
            block.append(line)
            continue
        exec("\n".join(block), ns)  # noqa: S102  (the program is the test)
        block = []
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                eval(line[1:].strip(), ns)  # noqa: S307
            out.append((line, None))
        except Exception as e:  # noqa: BLE001  (compared with PyTorch's)
            out.append((line, e))
    return out


def test_ops_without_a_kernel_for_the_dtype_raise_not_implemented():
    # tinyconv raised TypeError or RuntimeError where PyTorch raises NotImplementedError (its
    # '"bitwise_and_cpu" not implemented for 'Float''); `except NotImplementedError` missed them
    same_errors("""
    import torch
    f = torch.tensor([1.5, -2.0])
    i = torch.tensor([3, 4])
    b = torch.tensor([True, False])
    > f & 1
    > f | i
    > i ^ f
    > f.bitwise_not()
    > b % b
    > b // b
    > b ** b
    > b.clamp(False, True)
    > b.floor()
    > b.round()
    > i.frac()
    > i.lerp(i, 0.5)
    > torch.logaddexp(i, i)
    > torch.fmod(b, b)
    > torch.softmax(i, 0)
    > i.logcumsumexp(0)
    > i.hardshrink()
    > i.hypot(i)
    > i.nextafter(i)
    > torch.special.gammainc(i, i)
    > torch.arange(3, dtype=torch.bool)
    > torch.linspace(0, 1, 3, dtype=torch.bool)
    > torch.logspace(0, 2, 3, dtype=torch.bool)
    > torch.bincount(f)
    > torch.bincount(b)
    > torch.histc(i)
    > b @ b
    > torch.mm(b.view(1, 2), b.view(2, 1))
    > torch.einsum('ij,jk->ik', b.view(1, 2), b.view(2, 1))
    > torch.einsum('i,i->i', b, b)
    """)


def test_in_place_integer_results_cast_within_their_category():
    # uint8 += int8 tensor raised ("int16 can't be cast to uint8": NumPy's same_kind rule);
    # PyTorch only refuses a cast down a category (float into int, int into bool)
    same_errors("""
    import torch
    x = torch.tensor([1, 200], dtype=torch.uint8)
    x += torch.tensor([1, 100], dtype=torch.int8)
    > x
    y = torch.tensor([1, 2], dtype=torch.int8)
    y.mul_(torch.tensor([300, 2], dtype=torch.int16))
    > y
    > torch.add(x, torch.tensor([1, -2], dtype=torch.int8), out=x)
    z = torch.tensor([1, 2])
    > z.add_(1.5)
    w = torch.tensor([True, False])
    > w.add_(torch.tensor([1, 0]))
    """)


def test_einsum_single_operand_sums_give_int64_and_repeated_subscripts_match():
    # an integer einsum that sums kept its dtype (PyTorch's lowering to sum() gives int64);
    # 'ii->i' of a (2, 1) tensor broadcast the repeated subscript instead of raising
    same_errors("""
    import torch
    a = torch.tensor([[7, 1], [2, 6]], dtype=torch.int16)
    b = torch.tensor([[True, False], [True, True]])
    > torch.einsum('ij->', a)
    > torch.einsum('ij->j', a)
    > torch.einsum('ii', a)
    > torch.einsum('ii->i', a)
    > torch.einsum('ij->ji', a)
    > torch.einsum('ij->', b)
    > torch.einsum('ij->ji', b)
    > torch.einsum('ij,jk->ik', a, a)
    """)
    with pytest.raises(RuntimeError, match="repeated"):
        tinyconv.einsum("ii->i", tinyconv.ones(2, 1))
    with pytest.raises(RuntimeError):
        torch.einsum("ii->i", torch.ones(2, 1))


def test_empty_inputs_median_expand_write_and_zero_dim_split():
    # median of an empty integer tensor raised (NaN into an integer); an in-place op on an
    # empty expanded view was refused as overlapping; split/chunk of a 0-d tensor raised
    # Python's IndexError
    same_errors("""
    import torch
    > torch.median(torch.zeros(0, dtype=torch.int64))
    > torch.median(torch.zeros(0, dtype=torch.int32))
    > torch.median(torch.zeros(0, dtype=torch.int16))
    > torch.nanmedian(torch.zeros(0, dtype=torch.uint8))
    > torch.median(torch.zeros(0))
    > torch.zeros(1, 0).expand(3, 0).neg_().shape
    x = torch.zeros(1, 4)
    v = x.expand(3, 4)[:, :0]
    v.mul_(2)
    > x
    > torch.tensor(1.0).split(1, 0)
    > torch.tensor(1.0).chunk(1, 0)
    """)


def test_contractions_and_grids_check_shapes_and_dtypes_as_pytorch():
    # tensordot refused a contracted dim of size 1 against a longer one (PyTorch sums it) and
    # read dims past the operands; inner broadcast its last dims; cross broadcast the size-3
    # dim, mixed dtypes and ranks; meshgrid, cartesian_prod and isclose mixed dtypes
    same_errors("""
    import torch
    a = torch.tensor([[-7, 4, 0, 1], [-6, 9, 7, -5]])
    > torch.tensordot(a, torch.tensor([-1]), dims=1)
    > torch.tensordot(torch.ones(2, 1, 3), torch.ones(4, 3, 2), dims=([1, 2], [0, 1]))
    > torch.tensordot(a, a.T, dims=3)
    > torch.inner(torch.ones(4, 3, 3), torch.ones(4, 1, 1))
    > torch.inner(torch.ones(2, 3), torch.ones(4, 3))
    > torch.cross(torch.ones(3), torch.ones(3, dtype=torch.int64), dim=0)
    > torch.cross(torch.ones(2, 3), torch.ones(3), dim=-1)
    > torch.cross(torch.ones(3, 3), torch.ones(1, 3), dim=0)
    > torch.cross(torch.ones(2, 3), torch.ones(1, 3), dim=-1)
    > torch.linalg.cross(torch.ones(2, 3), torch.ones(1, 1))
    > torch.meshgrid(torch.ones(2), torch.ones(2, dtype=torch.int64), indexing='ij')
    > torch.cartesian_prod(torch.ones(2), torch.ones(2, dtype=torch.int64))
    > torch.isclose(torch.ones(2), torch.ones(2, dtype=torch.int64))
    > torch.isclose(torch.ones(2), 1.0)
    > torch.isclose(torch.ones(2), torch.tensor([1.0, 1.1]))
    """)


def test_index_values_and_index_tensors_are_checked_as_pytorch():
    # x[i] = [1, 2] (a list, tuple or ndarray) was written; PyTorch raises TypeError, before
    # reading the index. A float index tensor raised TypeError (PyTorch: IndexError), and
    # __index__ of several elements ValueError (PyTorch: TypeError). Several `...` were
    # refused; PyTorch's each skip the dims the other items leave.
    same_errors("""
    import torch
    import numpy as np
    x = torch.arange(24).reshape(2, 3, 4)
    def put(i, v):
        y = x.clone()
        y[i] = v
        return y
    > put(0, [1, 2, 3, 4])
    > put(slice(0, 1), (1, 2, 3, 4))
    > put(0, np.array([1, 2, 3, 4]))
    > put(5, [1, 2])
    > put(0, np.float64(2.5))
    > put(0, torch.tensor([1, 2, 3, 4]))
    > x[torch.tensor([0.0])]
    > x[torch.tensor([0], dtype=torch.int16)]
    > range(5)[torch.tensor([1, 2])]
    > torch.tensor([1, 2]).__index__()
    > range(5)[torch.tensor([2])]
    > x[..., 0, ...]
    > x[0, ..., ...]
    > x[..., None, ...]
    > x[..., torch.tensor([0, 1]), ...]
    > x[..., 1, ..., 2]
    > x[0, ..., 1, ...]
    > x[..., 0, ..., 0, 0]
    > put((..., 0, ...), 5)
    """)


def test_zero_dim_and_empty_edge_cases_of_shape_ops():
    # narrow/unflatten of a 0-d tensor raised Python's IndexError (an internal tuple index);
    # flatten(1) of one passed; relu of bools passed; combinations(r=0) gave shape (1, 0);
    # // and % by a zero divisor raised though the broadcast result is empty; cummin's results
    # were strided; integer addcdiv and float_power with a bool exponent differed
    same_errors("""
    import torch
    s = torch.tensor(1.5)
    > s.narrow(0, 0, 1)
    > s.unflatten(0, (1, -1))
    > s.flatten(1)
    > s.flatten(-1, 0)
    > torch.tensor([True, False]).relu()
    > torch.combinations(torch.tensor([1.0, 2.0, 3.0]), 0)
    > torch.combinations(torch.tensor([1.0, 2.0, 3.0]), 0, with_replacement=True)
    > torch.zeros(3, 0, 3, dtype=torch.int64) // torch.zeros(1, 1, 1, dtype=torch.int64)
    > torch.zeros(3, 0, dtype=torch.int64) % 0
    > torch.tensor([1, 2]) % torch.tensor([0, 1])
    > torch.cummin(torch.tensor([[9, 4, 5], [7, 5, 2]], dtype=torch.uint8), 0)
    > torch.cummax(torch.tensor([[1.0, 4.0], [7.0, 2.0]]), 0)
    > torch.addcdiv(torch.ones(2), torch.tensor([1, 2]), torch.tensor([1, 2]))
    > torch.addcdiv(torch.ones(2), torch.tensor([1.0, 2.0]), torch.tensor([1, 2]))
    > torch.float_power(torch.tensor([2, 3]), True)
    """)


def test_numbers_operands_and_promotion_of_several_tensors():
    # a list or tuple operand (t + [1, 2]) was read as a tensor, PyTorch raises TypeError; a
    # tensor of several elements as alpha/value/fill_value leaked NumPy's errors (PyTorch:
    # TypeError) and a 0-d one counted with its dtype; addcmul folded the promotion pairwise
    # (int8 with a 0-d float64 and a float32 gave float64); out-of-place masked_fill did not
    # broadcast self; bool shifts computed; copy_ and binary ops leaked NumPy's broadcast
    # ValueError (PyTorch: RuntimeError)
    same_errors("""
    import torch
    import numpy as np
    t = torch.tensor([1.0, 2.0])
    i8 = torch.tensor([1, 0, 3], dtype=torch.int8)
    > t + [1, 2]
    > t * (1.0, 2.0)
    > torch.add(t, [1, 2])
    > t + np.ones(2)
    > torch.add(t, t, alpha=torch.tensor([2.0]))
    > torch.add(t, t, alpha=torch.tensor(2.0))
    > torch.add(t.half(), -0.5, alpha=torch.tensor(2, dtype=torch.int8))
    > torch.add(t, t, alpha=torch.tensor(True))
    > torch.full((2,), torch.tensor([2.0]))
    > torch.full_like(t, torch.tensor([2.0, 3.0]))
    > t.new_full((3,), torch.tensor([2.0]))
    > torch.addcmul(t, t, t, value=torch.tensor([2.0, 1.0]))
    > torch.addcmul(i8, torch.tensor(2, dtype=torch.float64), i8.float())
    > torch.addcmul(i8, torch.tensor(2.0), torch.tensor(2, dtype=torch.float64))
    > torch.tensor(2, dtype=torch.int32).masked_fill(torch.tensor([True, False, True]), 5)
    > torch.tensor([True]) << 1
    > torch.tensor([1]) << True
    > torch.tensor(2).copy_(i8)
    > torch.sub(t, torch.tensor([True, False]), alpha=2)
    > torch.dot(torch.ones(1, 3), torch.ones(3))
    > torch.ones(2, 3).isclose(torch.ones(4))
    > torch.gcd(torch.ones(2, 3, dtype=torch.int64), torch.ones(4, dtype=torch.int64))
    > torch.xlogy(torch.ones(2, 3), torch.ones(4))
    > torch.special.xlog1py(torch.ones(2, 3), torch.ones(4))
    > torch.special.zeta(torch.ones(2, 3), torch.ones(4))
    > torch.einsum('i,i->', torch.ones(3, dtype=torch.float64), torch.ones(3))
    > torch.einsum('i,i->i', torch.ones(3, dtype=torch.float64), torch.ones(3))
    > torch.einsum('ij,jk->ik', torch.ones(2, 0), torch.ones(1, 3))
    """)


def test_zero_dim_dims_and_empty_inputs_of_selections():
    # stride(0) and roll(1, 0) of a 0-d tensor passed, prod(-2) of one too (PyTorch raises
    # IndexError); tensor_split of one raised Python's IndexError; quantile of an empty tensor
    # gave an empty result; kthvalue's k out of range raised IndexError (PyTorch:
    # RuntimeError); softmax of an empty integer tensor raised
    same_errors("""
    import torch
    s = torch.tensor(2.5)
    > s.stride(0)
    > s.stride()
    > s.roll(1, 0)
    > s.roll(1)
    > s.prod(-2)
    > s.prod(0)
    > s.tensor_split(2)
    > torch.zeros(2, 0).quantile(0.5, 0)
    > torch.zeros(0).nanquantile(0.5)
    > torch.ones(3).kthvalue(5)
    > torch.zeros(0, 2, dtype=torch.int64).softmax(0)
    > torch.zeros(0, 2, dtype=torch.int64).log_softmax(2)
    """)


def test_number_bounds_and_number_first_operands_take_the_result_dtype():
    # clip(-1, 1e20) of a uint8 tensor wrapped -1 to 255 although the result is float32;
    # xlogy(2.5, float16 tensor) gave float32 (the number counted as a float32 tensor);
    # prod(dim) of a 0-d integer tensor kept its dtype (PyTorch: int64); histc of a
    # non-finite range leaked NumPy's ValueError
    same_errors("""
    import torch
    u = torch.tensor([7, 0, 200], dtype=torch.uint8)
    > u.clip(-1, 1e20)
    > u.clamp(-1, 10)
    > u.clamp(min=-1)
    > u.clamp(-1.0, 10)
    > torch.xlogy(2.5, torch.tensor([2.0, 3.0], dtype=torch.float16))
    > torch.special.xlogy(2, torch.tensor([2.0, 0.0], dtype=torch.float64))
    > torch.xlogy(2, torch.tensor([2, 3]))
    > torch.prod(torch.tensor(True), -1)
    > torch.prod(torch.tensor(3, dtype=torch.int8), 0)
    > torch.prod(torch.tensor(3, dtype=torch.int8), 0, dtype=torch.int16)
    > torch.histc(torch.tensor([float('nan')]), bins=4)
    """)
