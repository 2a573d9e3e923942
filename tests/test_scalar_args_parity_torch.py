# ruff: noqa: E501  (the programs' own lines)
"""Numbers as arguments, and a few library hooks, as PyTorch 2.13 takes them; each run as a
program in both libraries (tests/program_harness.py compares every variable and the printed
text): a number first operand keeps its double value (torch.sub(0.1, x) with float64 x),
xlogy's and zeta's number operands too, xlogy(0, y) is +0, the range checks of numbers stored
into a dtype (alpha, exponents, fills, float16 writes), summaries with edgeitems=0, the ops with
no number overload, PyTorch's keyword spellings (tensor_split, split, max/min other=, pow
self=), the private names torchvision calls (torch._assert, torch._C, jit annotations,
_sample_dirichlet), out= on linalg and special functions, distributions' lazy parameters
first read under no_grad, KL of two transformed distributions, and checkpoints holding your
own objects."""

from __future__ import annotations

import argparse
import dataclasses
import importlib

import pytest
from program_harness import compare_program

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

PROGRAMS = {
    # torch.op(number, tensor): the number is a wrapped double, as in `number op tensor`
    "number_first_operand": """
import torch
x = torch.tensor([0.3, 2.0], dtype=torch.float64, requires_grad=True)
i = torch.tensor([3, 4])
h = torch.tensor([0.3, 2.0], dtype=torch.float16)
a = torch.add(0.1, x), torch.sub(0.1, x), torch.mul(0.1, x), torch.div(0.1, x)
b = torch.add(0.1, x, alpha=2), torch.sub(0.1, x, alpha=0.5), torch.rsub(x, 0.1), torch.rsub(x, 0.1, alpha=3)
c = torch.div(7.3, x, rounding_mode="trunc"), torch.div(0.1, x, rounding_mode="floor"), torch.subtract(0.1, x), torch.multiply(0.1, x)
d = torch.add(0.1, i), torch.sub(3, i, alpha=2), torch.rsub(i, 7, alpha=2), torch.add(0.1, h), torch.div(0.1, h)
names = [t.grad_fn.name() for t in (*a, *b, torch.rsub(x, x))]
exact = [t.tolist() for t in (*a, *b)]
sum(t.sum() for t in (*a, *b)).backward()
""",
    # xlogy/xlog1py/zeta: a number operand is made in the result's dtype; x == 0 gives +0
    "xlogy_numbers_and_zeros": """
import torch
x = torch.tensor([0.3, 2.0], dtype=torch.float64)
exact = [torch.special.xlogy(x, 0.1).tolist(), torch.special.xlog1py(x, 0.1).tolist(),
         torch.special.zeta(x + 2, 0.1).tolist(), torch.xlogy(x, 1e40).tolist()]
zx = torch.tensor([0.0, 0.0, 0.0, 1.0, 0.0], requires_grad=True)
zy = torch.tensor([0.5, 2.0, 0.0, 0.5, float("nan")], requires_grad=True)
r = torch.xlogy(zx, zy)
print(r, torch.xlogy(torch.zeros(2), 0.25), torch.xlogy(-2.0, torch.tensor([1.0])))
signs = r.detach().signbit().tolist()
r.sum().backward()
""",
    # numbers stored into a dtype: PyTorch's range checks (and float16 writes, unchecked)
    "number_range_checks": """
import torch
h = torch.tensor([1.0, 2.0], dtype=torch.float16)
u8 = torch.tensor([1, 2], dtype=torch.uint8)
i8 = torch.tensor([1, 2], dtype=torch.int8)
def outcome(f):
    try:
        r = f()
        return r.tolist() if r is not None else None
    except RuntimeError:
        return "RuntimeError"
def sset(t, i, v):
    t = t.clone()
    t[i] = v
    return t
seen = [outcome(f) for f in [
    lambda: sset(h, 0, 1e40), lambda: sset(h, 0, 70000), lambda: sset(h, h > 1, 1e40),
    lambda: sset(h, torch.tensor([0]), 1e40), lambda: sset(i8, 0, 300), lambda: sset(u8, 0, -1),
    lambda: h.clone().fill_(70000), lambda: torch.full((2,), 70000, dtype=torch.float16),
    lambda: torch.full_like(h, 70000), lambda: torch.add(u8, u8, alpha=300), lambda: torch.add(u8, u8, alpha=-2),
    lambda: torch.add(h, h, alpha=70000), lambda: torch.sub(u8, u8, alpha=300), lambda: torch.add(i8, i8, alpha=200),
    lambda: u8.clone().add_(u8, alpha=300), lambda: i8 ** 300, lambda: i8 ** 128, lambda: u8 ** 255,
    lambda: u8 ** 256, lambda: h ** 70000, lambda: h ** 1e40, lambda: i8 ** 300.0, lambda: 300 ** i8,
    lambda: torch.pow(i8, 300), lambda: i8.clone().pow_(300)]]
""",
    # edgeitems=0: PyTorch prints "[...]" for a summarised tensor and the size always
    "print_edgeitems_zero": """
import torch
for e, th in [(0, 5), (0, 1000), (1, 5)]:
    torch.set_printoptions(edgeitems=e, threshold=th)
    print(torch.arange(12))
    print(torch.tensor(3))
    print(torch.arange(24.).reshape(2, 3, 4))
    print(torch.arange(60).reshape(5, 12))
    print(torch.zeros(0, 3))
torch.set_printoptions(profile="default")
""",
    # ops without a number overload refuse one; PyTorch's keyword spellings are taken
    "tensor_only_ops_and_keywords": """
import torch
x = torch.tensor([0.3, 2.0])
refused = []
for f in [lambda: torch.maximum(x, 2.0), lambda: torch.minimum(2, x), lambda: x.maximum(1.0),
          lambda: x.minimum(1.0), lambda: torch.atan2(x, 0.1), lambda: torch.arctan2(2.0, x)]:
    try:
        f()
        refused.append(False)
    except TypeError:
        refused.append(True)
fm = torch._foreach_maximum([x, x * 2], 1.0), torch._foreach_minimum([x], 1.0)
y = torch.arange(10.).reshape(2, 5)
parts = [t.shape for t in torch.tensor_split(y, indices=(1,), dim=1)]
parts += [t.shape for t in y.tensor_split(sections=2, dim=1)]
parts += [t.shape for t in torch.tensor_split(y, tensor_indices_or_sections=torch.tensor([1, 3]), dim=1)]
parts += [t.shape for t in torch.split(y, split_size_or_sections=[2, 3], dim=1)]
parts += [t.shape for t in torch.split(tensor=y, split_size_or_sections=1)]
m = torch.max(y, other=y.flip(1)), y.min(other=y.flip(1)), torch.pow(self=2, exponent=x)
""",
    # the private names torchvision's code calls
    "library_hooks": """
import torch
import torch.jit.annotations
from torch.jit.annotations import BroadcastingList2
torch._assert(True, "fine")
try:
    torch._assert(False, "the message")
    failed = None
except AssertionError as e:
    failed = str(e)
tracing = torch._C._get_tracing_state()
torch._C._log_api_usage_once("torchvision.models.resnet")
decorated = torch.jit._script_if_tracing(lambda a: a + 1)(1)
torch.manual_seed(0)
d = torch._sample_dirichlet(torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 4.0]]))
g = torch._standard_gamma(torch.tensor([1.0, 2.0]), generator=torch.Generator().manual_seed(3))
""",
    # linalg.* and special.* write into out=
    "linalg_special_out": """
import torch
a = torch.tensor([[2.0, 1.0], [1.0, 3.0]])
o1, o2, o3, o4 = torch.empty(0), torch.empty(0), torch.empty(0), torch.empty(0)
torch.special.erf(torch.ones(2), out=o1)
torch.linalg.vector_norm(torch.ones(3), out=o2)
torch.linalg.inv(a, out=o3)
torch.special.xlogy(torch.ones(2), 3.0, out=o4)
s, ld = torch.empty(0), torch.empty(0)
r = torch.linalg.slogdet(a, out=(s, ld))
same = r.sign is s
""",
    # lazy parameters (probs from logits) computed under no_grad keep their graph
    "distribution_lazy_parameters": """
import torch
lg = torch.tensor([0.3, -0.5], requires_grad=True)
d = torch.distributions.Bernoulli(logits=lg)
torch.manual_seed(0)
s = d.sample()
d.entropy().sum().backward()
p = torch.tensor([0.4, 0.6], requires_grad=True)
c = torch.distributions.Categorical(probs=p)
with torch.no_grad():
    c.log_prob(torch.tensor(1))
lp = c.log_prob(torch.tensor(1))
lp.backward()
t = torch.tensor([0.4, 0.2], requires_grad=True)
m = torch.distributions.MixtureSameFamily(torch.distributions.Categorical(logits=t), torch.distributions.Normal(t, 1.0))
m.sample()
m.mean.backward()
""",
    # KL of two TransformedDistributions with equal transforms is the KL of their bases
    "kl_transformed": """
import torch
D = torch.distributions
exp = D.transforms.ExpTransform()
k1 = D.kl_divergence(D.TransformedDistribution(D.Normal(0.0, 1.0), [exp]), D.TransformedDistribution(D.Normal(1.0, 2.0), [exp]))
try:
    D.kl_divergence(D.Weibull(1.0, 2.0), D.Weibull(1.0, 3.0))
    other = "no error"
except NotImplementedError:
    other = "NotImplementedError"
sign = D.transforms.PowerTransform(2.0).sign
equal = D.transforms.PowerTransform(2.0) == D.transforms.PowerTransform(torch.tensor(2.0))
from torch.distributions.half_normal import HalfNormal
hn = HalfNormal(torch.tensor(2.0)).log_prob(torch.tensor(1.0))
""",
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_as_pytorchs(name):
    compare_program(PROGRAMS[name])


def test_float_of_a_tensor_that_requires_grad_warns_once(monkeypatch):
    import warnings

    import tinyconv

    tensor_module = importlib.import_module("tinyconv.tensor")  # (tinyconv.tensor: the function)
    monkeypatch.setattr(tensor_module, "_warned_float_of_grad", False)
    t = tinyconv.tensor(2.5, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not under no_grad (PyTorch's: nothing is recorded)
        with tinyconv.no_grad():
            assert float(t) == 2.5
    with pytest.warns(UserWarning, match="requires_grad=True to a scalar"):
        assert float(t) == 2.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once a process, and never for .item() or f-strings
        assert f"{t:.2f}" == "2.50" and "%.1f" % t == "2.5"  # noqa: UP031 and t.item() == 2.5 and float(t) == 2.5


@dataclasses.dataclass
class Config:  # (at module level, so pickle finds it by name, in either library)
    n_layer: int = 2
    scale: object = None


def test_checkpoint_with_your_own_objects(tmp_path):
    import tinyconv

    path = tmp_path / "ck.pt"
    tinyconv.save(
        {
            "w": tinyconv.zeros(2),
            "config": Config(scale=tinyconv.ones(3)),
            "args": argparse.Namespace(lr=0.1),
        },
        path,
    )
    back = torch.load(path, weights_only=False)  # PyTorch reads it, the nested tensor included
    assert back["config"].n_layer == 2 and back["config"].scale.tolist() == [1.0, 1.0, 1.0]
    assert back["args"].lr == 0.1 and back["w"].tolist() == [0.0, 0.0]
    with pytest.raises(TypeError, match="state_dict"):  # tinyconv's own objects: refused
        tinyconv.save({"model": tinyconv.nn.Linear(2, 2)}, tmp_path / "m.pt")
