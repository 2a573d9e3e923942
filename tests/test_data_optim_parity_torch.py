# ruff: noqa: E501  (the programs' own lines)
"""Data loading, optimizers, schedulers and gradient utilities against PyTorch: each program
runs in both libraries (tinyconv aliased as torch) and must print the same and end with the
same values. Covered: get_total_norm / clip_grad_norm_ of order 0, clip_grad_value_ with a
negative value, parameters <-> vector edge cases; Dataset.__getitems__ in DataLoader and
Subset; default_convert / default_collate / collate with collate_fn_map; SequentialLR's state;
optimizers over named_parameters(); IterableDataset + IterableDataset; the RNNs'
_flat_weights; optimizer.required; and the exception types of bad arguments."""

from __future__ import annotations

import pytest
from program_harness import compare_program

pytestmark = pytest.mark.torch


@pytest.fixture(autouse=True)
def _torch():
    return pytest.importorskip("torch")


TOTAL_NORM_ORDERS = """
import torch
from torch.nn.utils import clip_grad_norm_, get_total_norm

grads = [torch.full((3,), 2.0), torch.full((2,), 2.0), torch.zeros(4)]
zero = get_total_norm(grads, 0)
two = get_total_norm(grads, 2)
one = get_total_norm(grads, 1.0)
three = get_total_norm(grads, 3)
inf = get_total_norm(grads, "inf")
ninf = get_total_norm(grads[:2], float("-inf"))
mixed = get_total_norm([torch.ones(2), torch.ones(3, dtype=torch.float64)], 2)
print(zero, two, one, three, inf, ninf, mixed.dtype)
ws = [torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))]
for w, g in zip(ws, ([0.5, -3.0, 2.0], [0.0, 0.0], [1.0, 0.0])):
    w.grad = torch.tensor(g)
clipped0 = clip_grad_norm_(ws, 1.5, norm_type=0)
g0 = [w.grad.clone() for w in ws]
clipped2 = clip_grad_norm_(ws, 1.0)
g2 = [w.grad.clone() for w in ws]
print(clipped0, clipped2)
"""


def test_total_norm_of_order_zero_counts_tensors():
    ns = compare_program(TOTAL_NORM_ORDERS)
    assert ns["zero"].item() == 2.0  # two tensors are not all zeros (not 5 non-zero elements)
    assert ns["clipped0"].item() == 2.0


VALUE_AND_VECTOR = """
import torch
from torch.nn.utils import clip_grad_value_, parameters_to_vector, vector_to_parameters

w = torch.nn.Parameter(torch.ones(4))
w.grad = torch.tensor([0.5, -3.0, 2.0, float("nan")])
clip_grad_value_([w], -1.0)
negative = w.grad.clone()
w.grad = torch.tensor([0.5, -3.0, 2.0, -0.25])
clip_grad_value_(w, 1)
positive = w.grad.clone()
ps = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))]
vector_to_parameters(torch.arange(7.0), ps)
loaded = [p.detach().clone() for p in ps]
for bad in (lambda: vector_to_parameters(torch.arange(4.0), ps),
            lambda: vector_to_parameters(torch.arange(4.0).reshape(2, 2), ps),
            lambda: vector_to_parameters([1.0] * 5, ps),
            lambda: parameters_to_vector([torch.arange(6.0).reshape(2, 3).t()]),
            lambda: parameters_to_vector([torch.arange(6.0).reshape(2, 3)[:, :2]])):
    try:
        bad()
        print("no error")
    except TypeError:
        print("TypeError")
    except RuntimeError:
        print("RuntimeError")
flat = parameters_to_vector([torch.ones(2, 2), torch.zeros(3)])
"""


def test_clip_grad_value_negative_and_vector_edge_cases():
    ns = compare_program(VALUE_AND_VECTOR)
    assert ns["negative"][:3].tolist() == [-1.0, -1.0, -1.0]
    assert ns["loaded"][1].tolist() == [2.0, 3.0, 4.0]  # the extra element is ignored


GETITEMS = """
import torch
from torch.utils.data import DataLoader, Dataset, StackDataset, Subset

calls = []


class Batched(Dataset):
    def __init__(self, n):
        self.x = torch.arange(float(n))

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        calls.append(("item", i))
        return self.x[i]

    def __getitems__(self, indices):
        calls.append(("items", list(indices)))
        return [self.x[i] * 10 for i in indices]


class Plain(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        calls.append(("plain", i))
        return i


batches = [b for b in DataLoader(Batched(5), batch_size=2)]
print(calls)
calls.clear()
single = [b for b in DataLoader(Batched(3), batch_size=None)]
print(calls)
calls.clear()
sub = Subset(Batched(6), [5, 0, 3])
sub_batches = [b for b in DataLoader(sub, batch_size=2)]
direct = sub.__getitems__([1, 2])
print(calls)
calls.clear()
plain_sub = Subset(Plain(), [4, 1])
plain_items = plain_sub.__getitems__([0, 1])
print(calls)
calls.clear()
stacked = [b for b in DataLoader(StackDataset(Batched(3), Subset(Plain(), [0, 1, 2])), batch_size=3)]
named = StackDataset(a=Batched(3), b=["p", "q", "r"]).__getitems__([2, 0])
print(calls, named)
try:
    class Custom(Subset):
        def __getitem__(self, i):
            return 0
    Custom(Plain(), [0])
except NotImplementedError as e:
    print("NotImplementedError", str(e).splitlines()[0])
"""


def test_dataloader_uses_getitems_and_subset_delegates():
    ns = compare_program(GETITEMS)
    assert ns["batches"][0].tolist() == [0.0, 10.0]  # through __getitems__ (x 10)
    assert ns["single"][1].item() == 1.0  # batch_size=None: __getitem__


COLLATE = """
import collections
import numpy as np
import torch
from torch.utils.data import default_collate, default_convert
from torch.utils.data._utils.collate import collate, default_collate_fn_map

scalar = default_convert(np.float64(2.0))
int_scalar = default_convert(np.int32(3))
converted = default_convert({"a": np.ones(2), "b": [np.float32(1.5), "s"], "c": (np.int64(1),)})
print(type(converted["b"]).__name__, type(converted["c"]).__name__, default_convert(np.array(["x"])))
dd = collections.defaultdict(list)
dd["x"] = 1.0
batch = default_collate([dd, dd])
print(type(batch).__name__, batch.default_factory, batch["missing"])
ordered = default_collate([collections.OrderedDict(b=1, a=2)] * 2)
print(type(ordered).__name__, list(ordered))
for bad in ([None, None], [object(), object()], [np.array(["a"]), np.array(["b"])]):
    try:
        default_collate(bad)
    except TypeError as e:
        print("TypeError", type(bad[0]).__name__)
mixed = default_collate([(1, "a", 2.0, True, np.float32(1)), (2, "b", 3.0, False, np.float32(2))])


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


def collate_point(batch, *, collate_fn_map=None):
    return torch.tensor([[p.x, p.y] for p in batch])


def collate_text(batch, *, collate_fn_map=None):
    return "|".join(batch)


extended = {**default_collate_fn_map, Point: collate_point, str: collate_text}
points = collate([{"p": Point(1, 2), "s": "a"}, {"p": Point(3, 4), "s": "b"}], collate_fn_map=extended)
tensors_only = collate([(torch.ones(2), torch.zeros(1))] * 2, collate_fn_map={torch.Tensor: default_collate_fn_map[torch.Tensor]})
print(points["s"], sorted(t.__name__ if isinstance(t, type) else str(t) for t in default_collate_fn_map if isinstance(t, type)))
try:
    collate([1, 2])
except TypeError:
    print("TypeError without a map")
try:
    default_collate([[1, 2], [3]])
except RuntimeError:
    print("RuntimeError unequal sizes")
"""


def test_default_convert_collate_and_collate_fn_map():
    ns = compare_program(COLLATE, skip=("dd", "extended"))
    assert str(ns["scalar"].dtype).endswith("float64") and ns["scalar"].item() == 2.0
    assert ns["points"]["p"].tolist() == [[1, 2], [3, 4]]


SEQUENTIAL_LR = """
import torch
from torch.optim.lr_scheduler import ExponentialLR, LinearLR, SequentialLR, StepLR

w = torch.nn.Parameter(torch.ones(1))
opt = torch.optim.SGD([w], lr=1.0)
seq = SequentialLR(opt, [LinearLR(opt, start_factor=0.5, total_iters=3), ExponentialLR(opt, gamma=0.9)], milestones=[3])
lrs = []
for _ in range(5):
    opt.step()
    seq.step()
    lrs.append(seq.get_last_lr()[0])
state = seq.state_dict()
counts = [s["_step_count"] for s in state["_schedulers"]]
epochs = [s["last_epoch"] for s in state["_schedulers"]]
print(counts, epochs, state["last_epoch"])
opt2 = torch.optim.SGD([w], lr=1.0)
seq2 = SequentialLR(opt2, [StepLR(opt2, 2), ExponentialLR(opt2, gamma=0.5)], milestones=[0])
lrs2 = [seq2.get_last_lr()[0]]
for _ in range(3):
    opt2.step()
    seq2.step()
    lrs2.append(seq2.get_last_lr()[0])
counts2 = [s["_step_count"] for s in seq2.state_dict()["_schedulers"]]
"""


def test_sequential_lr_sub_scheduler_step_counts():
    ns = compare_program(SEQUENTIAL_LR)
    assert ns["counts"] == [3, 3]


NAMED_PARAMETERS = """
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
opt = torch.optim.Adam(model.named_parameters(), lr=0.1)
model(torch.randn(4, 3)).sum().backward()
opt.step()
sd = opt.state_dict()
names = sd["param_groups"][0]["param_names"]
keys = list(sd["param_groups"][0])
print(names, keys[:2], keys[-1])
print(opt)
named = dict(model.named_parameters())
groups = torch.optim.SGD(
    [{"params": [(n, p) for n, p in named.items() if n.startswith("0.")], "lr": 0.5},
     {"params": [(n, p) for n, p in named.items() if n.startswith("2.")]}],
    lr=0.1, momentum=0.9)
group_names = [g["param_names"] for g in groups.state_dict()["param_groups"]]
for bad in (lambda: torch.optim.SGD([("0.weight", named["0.weight"]), named["0.bias"]], lr=0.1),
            lambda: torch.optim.SGD([{"params": [("0.weight", named["0.weight"])]}, {"params": [named["0.bias"]]}], lr=0.1),
            lambda: torch.optim.SGD([{"params": [named["0.weight"]]}, {"params": [("0.bias", named["0.bias"])]}], lr=0.1),
            lambda: torch.optim.SGD([{"params": {named["0.weight"]}}], lr=0.1)):
    try:
        bad()
    except (ValueError, TypeError) as e:
        print(type(e).__name__, e if isinstance(e, ValueError) else "")
# load_state_dict: names in the checkpoint replace the optimizer's; a checkpoint without names
# leaves them as they are
fresh = torch.optim.Adam(model.named_parameters(), lr=0.1)
sd_renamed = opt.state_dict()
sd_renamed["param_groups"][0]["param_names"] = ["a", "b", "c", "d"]
fresh.load_state_dict(sd_renamed)
loaded_names = fresh.param_groups[0]["param_names"]
unnamed = torch.optim.Adam(model.parameters(), lr=0.1)
unnamed_sd = unnamed.state_dict()
fresh.load_state_dict(unnamed_sd)
kept_names = fresh.param_groups[0]["param_names"]
unnamed.load_state_dict(opt.state_dict())
gained_names = unnamed.param_groups[0]["param_names"]
print(loaded_names, kept_names, gained_names)
"""


def test_optimizers_take_named_parameters():
    ns = compare_program(NAMED_PARAMETERS, skip=("named",))
    assert ns["names"] == ["0.weight", "0.bias", "2.weight", "2.bias"]


CHAIN_AND_RNN = """
import torch
import torch.nn as nn
from torch.utils.data import ChainDataset, DataLoader, IterableDataset


class Count(IterableDataset):
    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __iter__(self):
        return iter(range(self.start, self.stop))


both = Count(0, 3) + Count(10, 12)
print(type(both).__name__, isinstance(both, ChainDataset), list(both))
chained = [b.tolist() for b in DataLoader(both, batch_size=2)]
three = list(both + Count(20, 21))
torch.manual_seed(0)
lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=2)
gru = nn.GRU(2, 3, bias=False)
rnn = nn.RNN(2, 3, num_layers=2)
for m in (lstm, gru, rnn):
    print(m._flat_weights_names)
    print([tuple(w.shape) for w in m._flat_weights], all(w is getattr(m, n) for w, n in zip(m._flat_weights, m._flat_weights_names)))
gru.weight_hh_l0 = nn.Parameter(torch.zeros(9, 3))
print(gru._flat_weights[1] is gru.weight_hh_l0)
"""


def test_iterable_dataset_sum_and_rnn_flat_weights():
    ns = compare_program(CHAIN_AND_RNN)
    assert ns["chained"] == [[0, 1], [2, 10], [11]]


REQUIRED = """
import torch
from torch.optim.optimizer import Optimizer, required


class OldSGD(Optimizer):
    def __init__(self, params, lr=required, momentum=0.0):
        if lr is not required and lr < 0.0:
            raise ValueError("Invalid learning rate")
        super().__init__(params, dict(lr=lr, momentum=momentum))

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                p.data.add_(p.grad, alpha=-group["lr"])


print(repr(required))
w = torch.nn.Parameter(torch.ones(2))
v = torch.nn.Parameter(torch.ones(3))
try:
    OldSGD([w])
except ValueError as e:
    print("ValueError", e)
opt = OldSGD([{"params": [w], "lr": 0.5}, {"params": [v], "lr": 0.1}])
(w.sum() + 2 * v.sum()).backward()
opt.step()
group_lrs = [g["lr"] for g in opt.param_groups]
no_lr = Optimizer([torch.nn.Parameter(torch.ones(1))], {"momentum": 0.9})
print(no_lr.param_groups[0]["momentum"])
"""


def test_required_hyperparameter():
    ns = compare_program(REQUIRED)
    assert ns["w"].tolist() == [0.5, 0.5]


BAD_ARGUMENTS = """
import torch
from torch.utils.data import ConcatDataset, TensorDataset

w = torch.nn.Parameter(torch.ones(2))
cat = ConcatDataset([TensorDataset(torch.ones(5))] * 2)
for bad in (lambda: torch.optim.Adam([w], lr="a"),
            lambda: torch.optim.SGD([w], lr="0.1"),
            lambda: torch.optim.SGD([w], lr=None),
            lambda: torch.optim.RMSprop([w], lr="a"),
            lambda: torch.optim.LBFGS([w]).step(),
            lambda: TensorDataset(torch.ones(3), torch.ones(2)),
            lambda: cat[-11],
            lambda: ConcatDataset([])):
    try:
        bad()
        print("no error")
    except Exception as e:
        print(type(e).__name__)
last = cat[-10][0]
"""


def test_bad_argument_exception_types():
    compare_program(BAD_ARGUMENTS)


LBFGS_QUIET = """
import warnings
import torch

torch.set_default_dtype(torch.float64)
X = torch.linspace(-1, 1, 12).reshape(6, 2)
Y = X @ torch.tensor([1.5, -0.5]) + 0.25
w = torch.nn.Parameter(torch.zeros(2))
b = torch.nn.Parameter(torch.zeros(()))
results = []
for line_search in (None, "strong_wolfe"):
    opt = torch.optim.LBFGS([w, b], lr=0.5, max_iter=4, line_search_fn=line_search)

    def closure():
        opt.zero_grad()
        loss = ((X @ w + b - Y) ** 2).mean()
        loss.backward()
        return loss

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        losses = [opt.step(closure).item() for _ in range(3)]
    results.append(losses)
    print([str(c.message).splitlines()[0] for c in caught])
"""


def test_lbfgs_reads_the_loss_without_a_warning():
    # PyTorch's step reads float(loss) under no_grad: no "Converting a tensor with
    # requires_grad=True to a scalar" warning (tinyconv's is once a process: re-armed here)
    import tinyconv.tensor

    tinyconv.tensor._warned_float_of_grad = False
    compare_program(LBFGS_QUIET)


LOADER_OPTIONS = """
import torch
from torch.utils.data import DataLoader, TensorDataset

ds = TensorDataset(torch.arange(10.0))
for make in (lambda: DataLoader(ds, timeout=-1),
             lambda: DataLoader(ds, prefetch_factor=2),
             lambda: DataLoader(ds, num_workers=2, prefetch_factor=-1),
             lambda: DataLoader(ds, persistent_workers=True),
             lambda: DataLoader(ds, multiprocessing_context="spawn"),
             lambda: DataLoader(ds, num_workers=2, multiprocessing_context="nope"),
             lambda: DataLoader(ds, num_workers=2, multiprocessing_context=3)):
    try:
        make()
        print("no error")
    except (ValueError, TypeError) as e:
        print(type(e).__name__)
loader = DataLoader(ds, batch_size=3)
for attr in ("batch_size", "sampler", "drop_last", "dataset", "batch_sampler", "persistent_workers", "num_workers"):
    try:
        setattr(loader, attr, getattr(loader, attr))
        print("set", attr)
    except ValueError as e:
        print("ValueError", e)
print(loader.prefetch_factor, loader.multiprocessing_context, repr(loader.pin_memory_device), loader.in_order)
with_workers = DataLoader(ds, batch_size=4, num_workers=2, prefetch_factor=None)
print(with_workers.prefetch_factor)
batches = [b[0] for b in loader]
"""


def test_dataloader_checks_process_options_and_freezes_batching():
    import warnings

    with warnings.catch_warnings():  # (PyTorch's "suggested max number of worker" warning)
        warnings.simplefilter("ignore", UserWarning)
        ns = compare_program(LOADER_OPTIONS)
    assert len(ns["batches"]) == 4


SAMPLER_CHECKS = """
import numpy as np
import torch
from torch.utils.data import (BatchSampler, ConcatDataset, RandomSampler, TensorDataset,
                              WeightedRandomSampler, random_split)

torch.manual_seed(0)
for make in (lambda: RandomSampler(range(5), replacement=1),
             lambda: RandomSampler(range(0)),
             lambda: RandomSampler([], replacement=True),
             lambda: BatchSampler(range(3), 2, 1),
             lambda: TensorDataset(torch.tensor(1.0)),
             lambda: len(TensorDataset()),
             lambda: random_split(range(10), [3.0, 7.0]),
             lambda: random_split(range(10), [3, 6])):
    try:
        make()
        print("no error")
    except Exception as e:
        print(type(e).__name__)
# WeightedRandomSampler keeps float64 Tensor weights
ws = WeightedRandomSampler(np.array([0.2, 0.8], dtype=np.float32), 5)
weights = ws.weights
print(type(ws.weights).__name__, ws.weights.dtype)
for weights_, n, replacement in (([0.0, 0.0], 2, True), ([1.0, 2.0], 3, False), ([-1.0, 2.0], 2, True)):
    try:  # (PyTorch raises when drawing, tinyconv already when the sampler is made)
        list(WeightedRandomSampler(weights_, n, replacement=replacement))
    except RuntimeError:
        print("RuntimeError")
drawn = list(ws)
# the global stream stays PyTorch's after the checks above
after = list(RandomSampler(range(40), replacement=True, num_samples=35))
# integer tensor lengths, as PyTorch's slicing takes them
split = [s.indices for s in random_split(range(10), torch.tensor([3, 7]), generator=torch.Generator().manual_seed(0))]
cat = ConcatDataset([range(3), range(4)])
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    old_name = cat.cummulative_sizes
print(old_name, [c.category.__name__ for c in caught])
"""


def test_sampler_and_dataset_argument_checks():
    ns = compare_program(SAMPLER_CHECKS)
    assert ns["split"][0] == [4, 1, 7]


SCHEDULER_NEW_GROUP = """
import warnings
import torch
from torch.optim import lr_scheduler as S

warnings.simplefilter("ignore")
lrs = {}
for name, make in [("step", lambda o: S.StepLR(o, 2, 0.5)),
                   ("cos", lambda o: S.CosineAnnealingLR(o, 5)),
                   ("lambda", lambda o: S.LambdaLR(o, lambda e: 0.9 ** e)),
                   ("mult", lambda o: S.MultiplicativeLR(o, lambda e: 0.8)),
                   ("cyclic", lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=2)),
                   ("warm", lambda o: S.CosineAnnealingWarmRestarts(o, 3)),
                   ("linear", lambda o: S.LinearLR(o, 0.5, total_iters=4))]:
    a = torch.nn.Parameter(torch.ones(2))
    b = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([a], lr=0.1, momentum=0.9)
    sched = make(opt)
    seen = []
    try:
        for i in range(6):
            opt.step()
            if i == 2:  # a group added after the scheduler was made
                opt.add_param_group({"params": [b], "lr": 0.7})
            sched.step()
            seen.append([g["lr"] for g in opt.param_groups])
        print(name, "ok")
    except ValueError:
        print(name, "ValueError at step", i)
    seen.append([g["lr"] for g in opt.param_groups])
    seen.append([g.get("momentum") for g in opt.param_groups])
    lrs[name] = seen
"""


def test_schedulers_raise_for_a_group_added_later():
    ns = compare_program(SCHEDULER_NEW_GROUP)
    assert len(ns["lrs"]["lambda"]) == 4  # two steps, then ValueError (not a silent 0.7)


LOADER_ITERATOR = """
import torch
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

torch.manual_seed(0)
loader = DataLoader(TensorDataset(torch.arange(10.0)), batch_size=3, shuffle=True)
it = iter(loader)
first = next(it)
print(len(it), iter(it) is it, len(iter(DataLoader(range(7), batch_size=None))))
rest = list(it)
print(len(rest))


class Stream(IterableDataset):
    def __iter__(self):
        return iter(range(5))

    def __len__(self):
        return 5


stream = iter(DataLoader(Stream(), batch_size=2))
try:
    len(stream)
except TypeError:
    print("TypeError")
streamed = list(stream)
"""


def test_dataloader_iterator_has_a_length():
    ns = compare_program(LOADER_ITERATOR)
    assert len(ns["rest"]) == 3


LBFGS_STATE = """
import torch

torch.set_default_dtype(torch.float64)
X = torch.linspace(-1, 1, 12).reshape(6, 2)
Y = X @ torch.tensor([1.5, -0.5]) + 0.25
w = torch.nn.Parameter(torch.zeros(2))
opt = torch.optim.LBFGS([w], lr=0.8, max_iter=3, history_size=2)


def closure():
    opt.zero_grad()
    loss = ((X @ w - Y) ** 2).mean() + 0.01 * (w ** 4).sum()
    loss.backward()
    return loss


opt.step(closure)
early = opt.state_dict()  # PyTorch's holds the live state: later steps show in it
state = opt.state[w]
print({k: type(v).__name__ for k, v in state.items()})
print({k: type(v[0]).__name__ for k, v in state.items() if isinstance(v, list) and v})
print(early["state"][0] is state, state["d"].norm().item() > 0)
opt.step(closure)
"""


def test_lbfgs_state_holds_tensors():
    ns = compare_program(LBFGS_STATE)
    assert ns["early"]["state"][0]["n_iter"] > 3  # the second step's iterations count too
