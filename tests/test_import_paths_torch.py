"""tests/test_import_paths.py's module paths and switches against PyTorch: a script that sets
and reads them prints the same in both, and DistributedSampler hands out PyTorch's indices."""

from __future__ import annotations

import pytest
from program_harness import compare_program

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")


@pytest.mark.parametrize("n", [1, 5, 10, 17])
@pytest.mark.parametrize("replicas", [1, 3, 8])
@pytest.mark.parametrize("shuffle, drop_last", [(True, False), (False, False), (True, True)])
def test_distributed_sampler_gives_pytorchs_indices(n, replicas, shuffle, drop_last):
    from torch.utils.data.distributed import DistributedSampler as Want

    from tinyconv.utils.data.distributed import DistributedSampler as Got

    for rank in range(replicas):
        for epoch in (0, 3):
            want = Want(range(n), replicas, rank, shuffle=shuffle, seed=7, drop_last=drop_last)
            got = Got(range(n), replicas, rank, shuffle=shuffle, seed=7, drop_last=drop_last)
            want.set_epoch(epoch)
            got.set_epoch(epoch)
            assert list(got) == list(want) and len(got) == len(want)


SWITCHES = """
import os
import warnings
import torch
import torch.backends.cudnn as cudnn
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.cuda.amp import GradScaler, autocast
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.common_types import _size_2_t
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.nn.utils.clip_grad import clip_grad_norm_
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

warnings.simplefilter("ignore")
cudnn.benchmark = True
print(torch.backends.cudnn.benchmark, cudnn.enabled, cudnn.is_available(), cudnn.version())
print(torch.backends.mps.is_available(), torch.backends.opt_einsum.enabled)
print(torch.cuda.is_available(), torch.cuda.device_count(), torch.cuda.memory_allocated())
print(torch.cpu.is_available(), torch.cpu.device_count(), torch.cpu.current_device())
print(torch.is_autocast_enabled(), torch.get_autocast_dtype("cpu"))
print(torch.get_autocast_dtype("cuda"))
with torch.autocast("cpu", dtype=torch.float16, enabled=False):
    print(torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"))
print(torch.amp.is_autocast_available("cpu"), torch.is_autocast_cache_enabled())
print(SDPBackend.MATH, repr(SDPBackend.FLASH_ATTENTION), int(SDPBackend.CUDNN_ATTENTION))
print(torch.backends.cuda.flash_sdp_enabled(), torch.backends.cuda.math_sdp_enabled())
cudnn.benchmark = False

torch.manual_seed(0)
q = torch.randn(2, 2, 5, 4)
with sdpa_kernel([SDPBackend.MATH]):
    print(torch.backends.cuda.flash_sdp_enabled(), torch.backends.cuda.math_sdp_enabled())
    attn = F.scaled_dot_product_attention(q, q, q, is_causal=True)
print(torch.backends.cuda.math_sdp_enabled())
try:
    with sdpa_kernel(SDPBackend.EFFICIENT_ATTENTION):
        F.scaled_dot_product_attention(q, q, q)
except RuntimeError as e:
    print("RuntimeError", str(e)[:40])

print(dist.is_available(), dist.is_initialized())
try:
    dist.get_world_size()
except ValueError as e:
    print("ValueError", e)
os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="29541", RANK="0", WORLD_SIZE="1")
dist.init_process_group(backend="gloo")
print(dist.get_rank(), dist.get_world_size(), dist.get_backend(), dist.ReduceOp.SUM)
model = DDP(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)))
data = TensorDataset(torch.randn(10, 4), torch.randint(0, 2, (10,)))
sampler = DistributedSampler(data, shuffle=True, seed=3)
loader = DataLoader(data, batch_size=4, sampler=sampler)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
scaler = GradScaler(enabled=False)
losses = []
for epoch in range(2):
    sampler.set_epoch(epoch)
    for x, y in loader:
        with autocast(enabled=False):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        scaler.scale(loss).backward()
        total = clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        reduced = loss.detach().clone()
        dist.all_reduce(reduced, op=dist.ReduceOp.SUM)
        losses.append(round(reduced.item() / dist.get_world_size(), 5))
gathered = [torch.zeros(2)]
dist.all_gather(gathered, torch.tensor([1.0, 2.0]))
objects = [None]
dist.all_gather_object(objects, {"losses": len(losses)})
print(losses, gathered, objects, list(model.state_dict())[:2])
dist.barrier()
dist.destroy_process_group()
print(dist.is_initialized())
weight = model.module[0].weight
"""


def test_switches_and_one_process_distributed_program():
    compare_program(SWITCHES, skip=("os", "warnings", "cudnn", "dist", "autocast"))


TENSOR_QUERIES = """
import warnings
import torch

warnings.simplefilter("ignore")
x = torch.ones(2, 3, 4, 5)
print(x.dim_order(), x.to(memory_format=torch.channels_last).dim_order())
print(x.permute(3, 1, 0, 2).dim_order(), torch.ones(1, 3, 1, 1).dim_order(), x[:, :1].dim_order())
print(x.is_pinned(), x.is_meta, x.volatile, x.is_shared())
x.share_memory_()
print(x.is_shared(), x[0].is_shared(), x.view(6, 20).is_shared(), (x + 1).is_shared())
torch.manual_seed(0)
model = torch.nn.Linear(2, 2).share_memory()
print(model.weight.is_shared(), model.bias.is_shared())
try:
    x.pin_memory()
except RuntimeError as e:
    print("RuntimeError", e)


class Pair(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t):
        return t * 2, t * 3, t * 4

    @staticmethod
    def backward(ctx, a, b, c):
        return a * 2 + b * 3 + c * 4


class Marked(torch.Tensor):
    pass


z = torch.ones(2, requires_grad=True)
outs = Pair.apply(z)
print(z.output_nr, (z * 2).output_nr, [o.output_nr for o in outs])
y = (z * 3).as_subclass(Marked)
print(type(y).__name__, y.grad_fn.name(), y.requires_grad)
(y * 2).sum().backward()
grad = z.grad
"""


def test_cpu_only_tensor_queries_program():
    compare_program(TENSOR_QUERIES, skip=("warnings", "y", "Marked", "Pair"))


SYNC_BATCHNORM = """
import torch
import torch.nn as nn

torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                    nn.Linear(36, 5), nn.BatchNorm1d(5, affine=False))
net[1].running_mean.fill_(0.5)
net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
print(net)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for step in range(3):
    x = torch.randn(4, 3, 5, 5)
    loss = net(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(step, round(loss.item(), 5))
net.eval()
out = net(torch.randn(2, 3, 5, 5))
bn = nn.SyncBatchNorm(3, momentum=None)
y = bn(torch.randn(2, 3, 4, 4, 2))
try:
    bn(torch.randn(3))
except ValueError as e:
    print("ValueError", e)
"""


def test_sync_batchnorm_in_one_process():
    compare_program(SYNC_BATCHNORM)
