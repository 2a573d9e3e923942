# ruff: noqa: E501  (the programs' own lines)
"""nn.Module's state-dict machinery against PyTorch: the state-dict and load hooks (their
order, arguments and what they may change), get_extra_state/set_extra_state, set_submodule,
and the CPU-only build's answers (cuda() raises; is_sparse and friends are False)."""

from __future__ import annotations

import pytest
from program_harness import compare_program

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

STATE_DICT_HOOKS = """
import torch
import torch.nn as nn

torch.manual_seed(0)
calls = []


class Counter(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)
        self.steps = 0

    def forward(self, x):
        self.steps += 1
        return self.lin(x)

    def get_extra_state(self):
        return {"steps": self.steps}

    def set_extra_state(self, state):
        self.steps = state["steps"]


net = nn.Sequential(Counter(), nn.ReLU(), nn.Linear(2, 1))
net(torch.randn(4, 3))
net(torch.randn(4, 3))

net.register_state_dict_pre_hook(lambda m, prefix, keep_vars: calls.append(("pre", prefix, keep_vars)))
net[0].register_state_dict_pre_hook(lambda m, prefix, keep_vars: calls.append(("pre0", prefix)))


def drop_bias(module, sd, prefix, local_metadata):
    calls.append(("post", prefix, sorted(local_metadata)))
    del sd[prefix + "2.bias"]


net.register_state_dict_post_hook(drop_bias)
handle = net[2]._register_state_dict_hook(lambda m, sd, prefix, md: calls.append(("private", prefix)))
sd = net.state_dict()
print(list(sd), sd["0._extra_state"], calls)
handle.remove()
calls.clear()
bad = net.register_state_dict_post_hook(lambda m, sd, p, md: 1)
try:
    net.state_dict()
except RuntimeError as e:
    print("RuntimeError", e)
bad.remove()

fresh = nn.Sequential(Counter(), nn.ReLU(), nn.Linear(2, 1))


def rename(module, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
    calls.append(("load_pre", prefix, strict))
    if prefix + "old_weight" in state_dict:
        state_dict[prefix + "weight"] = state_dict.pop(prefix + "old_weight")


def forgive(module, keys):
    calls.append(("load_post", list(keys.missing_keys), list(keys.unexpected_keys)))
    keys.missing_keys.clear()


fresh[2].register_load_state_dict_pre_hook(rename)
fresh.register_load_state_dict_post_hook(forgive)
fresh[0].register_load_state_dict_post_hook(lambda m, keys: calls.append(("post0", list(keys.missing_keys))))
sd = dict(sd)
sd["2.old_weight"] = sd.pop("2.weight")
result = fresh.load_state_dict(sd)
print(result, fresh[0].steps, calls)
out = fresh(torch.ones(1, 3))
try:
    nn.Sequential(Counter()).load_state_dict({"0.lin.weight": torch.ones(2, 3), "0.lin.bias": torch.ones(2)})
except RuntimeError as e:
    print("RuntimeError", str(e).splitlines()[1])
plain = nn.Linear(2, 2)
try:
    plain.load_state_dict({**plain.state_dict(), "_extra_state": 1})
except RuntimeError as e:
    print("RuntimeError", str(e).splitlines()[1])
"""


def test_state_dict_hooks_and_extra_state():
    compare_program(STATE_DICT_HOOKS, skip=("handle", "bad", "calls"))


CPU_BUILD = """
import torch
import torch.nn as nn

torch.manual_seed(0)
x = torch.randn(3)
print(x.is_sparse, x.is_quantized, x.is_nested, x.is_mkldnn, x.is_mps, x.to_dense().equal(x))
for f in (lambda: x.cuda(), lambda: nn.Linear(2, 2).cuda()):
    try:
        f()
    except AssertionError as e:
        print("AssertionError", e)
net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Linear(3, 3), nn.ReLU()))
net.set_submodule("1.1", nn.Tanh())
net.set_submodule("1.0", nn.Linear(3, 1))
print(net)
for target, strict in (("", False), ("1.missing", True), ("0.weight", False)):
    try:
        net.set_submodule(target, nn.ReLU(), strict=strict)
    except (ValueError, AttributeError) as e:
        print(type(e).__name__, e)
y = net(torch.ones(1, 2))
"""


def test_cpu_build_answers_and_set_submodule():
    compare_program(CPU_BUILD)


OPTIMIZER_HOOKS = """
import torch
import torch.nn as nn
from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

torch.manual_seed(0)
calls = []
model = nn.Linear(3, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
g_pre = register_optimizer_step_pre_hook(lambda o, a, k: calls.append(("global pre", type(o).__name__)))
g_post = register_optimizer_step_post_hook(lambda o, a, k: calls.append(("global post", len(a))))
opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", len(a), sorted(k))))
opt.register_step_post_hook(lambda o, a, k: calls.append(("post",)))
counted = []


def closure():
    counted.append(1)
    opt.zero_grad()
    loss = model(torch.ones(4, 3)).pow(2).sum()
    loss.backward()
    return loss


def swap_closure(o, args, kwargs):
    return (args[0],), {"closure": closure}


h = opt.register_step_pre_hook(swap_closure)
loss = opt.step()
h.remove()
print(calls, round(loss.item(), 5), len(counted))
calls.clear()
closure()
opt.step()
g_pre.remove()
g_post.remove()
print(calls)
calls.clear()
opt.register_state_dict_pre_hook(lambda o: calls.append("sd pre"))
opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
opt.register_state_dict_post_hook(lambda o, sd: calls.append(("sd post", sorted(sd))), prepend=True)
sd = opt.state_dict()
print(sorted(sd), calls)
calls.clear()
fresh = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)


def lower_lr(o, sd):
    calls.append(("load pre", sorted(sd)))
    sd.pop("extra")
    sd["param_groups"][0]["lr"] = 0.01
    return sd


fresh.register_load_state_dict_pre_hook(lower_lr)
fresh.register_load_state_dict_post_hook(lambda o: calls.append(("load post", o.param_groups[0]["lr"])))
fresh.load_state_dict(sd)
print(calls, "extra" in sd)
closure()
fresh.step()
weight = model.weight
"""


def test_optimizer_step_and_state_dict_hooks():
    compare_program(OPTIMIZER_HOOKS, skip=("g_pre", "g_post", "h", "calls", "counted", "sd"))


APPLY_OVERRIDE_AND_LEGACY_HOOK = """
import warnings
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class Detect(nn.Module):  # (YOLOv5's pattern: tensors of its own converted in _apply)
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.anchors = torch.zeros(2)

    def forward(self, x):
        return self.conv(x)

    def _apply(self, fn, *args, **kwargs):
        self = super()._apply(fn, *args, **kwargs)
        self.anchors = fn(self.anchors)
        return self


net = nn.Sequential(Detect(), nn.ReLU())
weight = net[0].conv.weight
dtypes = [str(net.double()[0].anchors.dtype), str(net.float()[0].anchors.dtype)]
dtypes.append(str(net.to(torch.float64)[0].anchors.dtype))
same_parameter = net[0].conv.weight is weight
net.float()
seen = []
net[0].conv.register_backward_hook(
    lambda m, gin, gout: seen.append(([None if g is None else list(g.shape) for g in gin], [list(g.shape) for g in gout]))
)
x = torch.randn(1, 3, 5, 5)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    net(x).sum().backward()
kinds = sorted({w.category.__name__ for w in caught})
grad_bias = net[0].conv.bias.grad
try:
    net[0].conv.register_full_backward_hook(lambda *a: None)
except RuntimeError as e:
    mixed = type(e).__name__
print(dtypes, same_parameter, seen, kinds, mixed)
"""


def test_apply_override_and_the_legacy_backward_hook():
    compare_program(APPLY_OVERRIDE_AND_LEGACY_HOOK)


LOSS_SHAPE_CHECKS = """
import torch
import torch.nn as nn
import torch.nn.functional as F

out = torch.zeros(4, 1)
labels = torch.tensor([0.0, 1.0, 1.0, 0.0])
caught = []
for call in (
    lambda: nn.BCEWithLogitsLoss()(out, labels),
    lambda: nn.BCELoss()(torch.sigmoid(out), labels),
    lambda: F.binary_cross_entropy(torch.tensor([0.5]), torch.tensor([2.0])),
    lambda: F.soft_margin_loss(out, labels),
    lambda: F.margin_ranking_loss(out, labels, torch.ones(4)),
    lambda: F.cosine_embedding_loss(torch.ones(4, 3), torch.ones(4, 3), torch.ones(4, 1)),
    lambda: F.dropout(torch.tensor([1, 2]), 0.5),
):
    try:
        call()
        caught.append(None)
    except (ValueError, RuntimeError) as e:
        caught.append(type(e).__name__)
ok = nn.BCEWithLogitsLoss()(out.squeeze(1), labels)
print(caught)
"""


def test_loss_shape_and_range_checks():
    compare_program(LOSS_SHAPE_CHECKS)


REGISTRIES_ARE_DICTS = """
import torch
import torch.nn as nn

torch.manual_seed(0)
net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
heads = nn.ModuleDict({"a": nn.ReLU(), "b": nn.Tanh()})
print(net._modules)
print(net[0]._parameters.keys(), type(net[0]._buffers).__name__)
print(heads.keys(), list(heads.values()), heads.items())
"""


def test_module_registries_print_as_pytorchs_dicts():
    compare_program(REGISTRIES_ARE_DICTS)


DEVICE_AND_PREFIX = """
import torch
import torch.nn as nn
from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present

reprs = [repr(nn.Conv2d(1, 1, 3, padding="valid")), repr(nn.Conv1d(1, 1, 3, padding="same"))]
wrapped = nn.DataParallel(nn.Linear(2, 1))
sd = wrapped.state_dict()
before = (list(sd), sorted(sd._metadata))
consume_prefix_in_state_dict_if_present(sd, "module.")
after = (list(sd), sorted(sd._metadata))
with torch.device("cpu"):
    made = torch.ones(2)
errors = []
for call in (lambda: torch.ones(2, device="cuda"), lambda: torch.zeros(1).to("cuda"), lambda: torch.randperm(3, device="cuda")):
    try:
        call()
    except AssertionError as e:
        errors.append(type(e).__name__)
print(reprs, before, after, made.device, errors)
"""


def test_device_context_cuda_errors_and_the_dataparallel_prefix():
    compare_program(DEVICE_AND_PREFIX)
