"""PyTorch's module paths and process-wide switches that scripts touch around the model:
`torch.backends.*`, `torch.cuda`, `torch.cpu`, `torch.amp`'s autocast state and decorators,
`torch.nn.attention.sdpa_kernel`, `torch.distributed` in one process and DistributedSampler.
(tests/test_import_paths_torch.py compares them with PyTorch.)"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv.nn.attention import SDPBackend, sdpa_kernel
from tinyconv.utils.data.distributed import DistributedSampler

PATHS = [
    ("tinyconv.backends.cudnn", "benchmark"),
    ("tinyconv.backends.mps", "is_available"),
    ("tinyconv.backends.cuda", "sdp_kernel"),
    ("tinyconv.backends.cpu", "get_cpu_capability"),
    ("tinyconv.backends.mkldnn", "is_available"),
    ("tinyconv.backends.opt_einsum", "strategy"),
    ("tinyconv.cuda", "is_available"),
    ("tinyconv.cuda.amp", "GradScaler"),
    ("tinyconv.cpu.amp", "autocast"),
    ("tinyconv.amp", "custom_fwd"),
    ("tinyconv.nn.attention", "SDPBackend"),
    ("tinyconv.nn.common_types", "_size_2_t"),
    ("tinyconv.nn.utils.clip_grad", "clip_grad_norm_"),
    ("tinyconv.nn.utils.convert_parameters", "parameters_to_vector"),
    ("tinyconv.nn.parallel", "DistributedDataParallel"),
    ("tinyconv.utils.data.distributed", "DistributedSampler"),
    ("tinyconv.distributed", "init_process_group"),
    ("tinyconv.utils.hooks", "RemovableHandle"),
    ("tinyconv.utils.data._utils.collate", "default_collate"),
    ("tinyconv.autograd.function", "FunctionCtx"),
    ("tinyconv.optim.adamw", "AdamW"),
    ("tinyconv.optim.radam", "RAdam"),
    ("tinyconv.nn.parameter", "UninitializedParameter"),
    ("tinyconv.types", "Number"),
    ("tinyconv.compiler", "disable"),
    ("tinyconv._dynamo", "config"),
]


@pytest.mark.parametrize("module, name", PATHS)
def test_module_paths_import(module, name):
    assert hasattr(importlib.import_module(module), name)


def test_submodules_are_attributes_without_an_import():
    # PyTorch's packages import these, so `torch.nn.modules.conv._ConvNd` needs no import
    assert torch.nn.modules.batchnorm._BatchNorm is torch.nn.modules.batchnorm._BatchNorm
    assert torch.nn.parameter.Parameter is torch.nn.Parameter
    assert torch.nn.utils.clip_grad.clip_grad_norm_ is torch.nn.utils.clip_grad_norm_


def test_data_submodules_are_attributes_in_a_fresh_process():
    # (a fresh interpreter: in this one, other tests may have imported them already)
    code = (
        "import tinyconv as torch; d = torch.utils.data; "
        "assert d.sampler.SubsetRandomSampler is d.SubsetRandomSampler; "
        "assert d.dataset.Dataset is d.Dataset; "
        "assert d.dataloader.default_collate is d._utils.collate.default_collate"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr


def test_cudnn_flags_are_module_attributes_restored_by_flags():
    import tinyconv.backends.cudnn as cudnn

    old = cudnn.benchmark
    try:
        cudnn.benchmark = True
        assert torch.backends.cudnn.benchmark is True
        with cudnn.flags(enabled=False, deterministic=True):
            assert cudnn.enabled is False and cudnn.deterministic is True
            assert cudnn.benchmark is False  # flags' own default
        assert cudnn.enabled is True and cudnn.benchmark is True
    finally:
        cudnn.benchmark = old


def test_cuda_module_without_a_gpu():
    assert not torch.cuda.is_available() and torch.cuda.device_count() == 0
    assert torch.cuda.memory_allocated() == 0 and torch.cuda.empty_cache() is None
    with pytest.raises(AssertionError, match="not compiled with CUDA"):
        torch.cuda.current_device()
    with pytest.warns(UserWarning, match="CUDA is not available"):
        scaler = torch.cuda.amp.GradScaler()
    assert isinstance(scaler, torch.amp.GradScaler) and scaler.get_scale() == 1.0


def test_cpu_module():
    assert torch.cpu.is_available() and torch.cpu.device_count() == 1
    assert torch.cpu.current_device() == "cpu" and torch.cpu.synchronize() is None
    with pytest.warns(FutureWarning, match="deprecated"):
        ctx = torch.cpu.amp.autocast(enabled=False)
    with ctx:
        assert not torch.is_autocast_enabled("cpu")
    with pytest.warns(FutureWarning), pytest.raises(NotImplementedError, match="autocast"):
        torch.cpu.amp.autocast()


def test_autocast_state_queries():
    assert torch.is_autocast_enabled() is False
    assert torch.get_autocast_dtype("cpu") == torch.bfloat16
    assert torch.get_autocast_dtype("cuda") == torch.float16
    with torch.autocast("cpu", dtype=torch.float16, enabled=False):
        assert torch.get_autocast_dtype("cpu") == torch.float16
        with torch.autocast("cpu", enabled=False):
            assert torch.get_autocast_dtype("cpu") == torch.float16
    assert torch.get_autocast_dtype("cpu") == torch.bfloat16
    with pytest.raises(NotImplementedError):
        torch.set_autocast_enabled("cpu", True)
    torch.set_autocast_enabled("cuda", True)
    try:
        assert torch.is_autocast_enabled() and torch.is_autocast_enabled("cuda")
    finally:
        torch.set_autocast_enabled(False)
    assert not torch.is_autocast_enabled("cuda")
    with pytest.warns(DeprecationWarning):
        assert torch.is_autocast_cpu_enabled() is False
    with pytest.raises(RuntimeError, match="unknown device type"):
        torch.is_autocast_enabled("gpu0")


def test_custom_fwd_and_bwd_need_a_device_type_and_run_the_function():
    from tinyconv.amp import custom_bwd, custom_fwd

    with pytest.raises(TypeError):
        custom_fwd(lambda ctx, x: x)

    class Double(torch.autograd.Function):
        @staticmethod
        @custom_fwd(device_type="cpu", cast_inputs=torch.float32)
        def forward(ctx, x):
            return x * 2

        @staticmethod
        @custom_bwd(device_type="cpu")
        def backward(ctx, g):
            return g * 3

    x = torch.ones(2, requires_grad=True)
    Double.apply(x).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_sdpa_kernel_switches_and_the_no_kernel_error():
    q = torch.randn(1, 2, 3, 4)
    want = F.scaled_dot_product_attention(q, q, q)
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
        assert torch.backends.cuda.flash_sdp_enabled()
        assert not torch.backends.cuda.math_sdp_enabled()
        assert torch.equal(F.scaled_dot_product_attention(q, q, q), want)
    assert torch.backends.cuda.math_sdp_enabled()
    with sdpa_kernel(SDPBackend.EFFICIENT_ATTENTION), pytest.raises(RuntimeError, match="viable"):
        F.scaled_dot_product_attention(q, q, q)
    with pytest.raises(AssertionError, match="SDPBackend"):
        with sdpa_kernel("math"):
            pass
    with pytest.warns(FutureWarning), torch.backends.cuda.sdp_kernel(enable_math=False):
        assert not torch.backends.cuda.math_sdp_enabled()
    assert torch.backends.cuda.math_sdp_enabled()


@pytest.mark.parametrize("n", [1, 2, 7, 10, 16])
@pytest.mark.parametrize("replicas", [1, 3, 4, 12])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_shares_cover_the_dataset(n, replicas, drop_last):
    shares = [
        list(DistributedSampler(range(n), replicas, r, seed=5, drop_last=drop_last))
        for r in range(replicas)
    ]
    assert len({len(s) for s in shares}) == 1  # every rank the same count
    flat = sorted(i for s in shares for i in s)
    if drop_last:
        assert len(flat) == len(set(flat)) and len(flat) == n - n % replicas
    else:
        assert set(flat) == set(range(n)) and len(flat) == -(-n // replicas) * replicas


def test_distributed_sampler_epochs_and_errors():
    s = DistributedSampler(range(20), num_replicas=2, rank=0)
    first = list(s)
    assert list(s) == first
    s.set_epoch(1)
    assert list(s) != first  # (seeded: a fixed permutation, which differs from epoch 0's)
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="not been initialized"):
        DistributedSampler(range(4))


def test_distributed_in_one_process(monkeypatch):
    dist = torch.distributed
    assert dist.is_available() and not dist.is_initialized()
    with pytest.raises(ValueError, match="not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="RANK"):
        monkeypatch.delenv("RANK", raising=False)
        dist.init_process_group("gloo")
    with pytest.raises(NotImplementedError, match="world size must be 1"):
        dist.init_process_group("gloo", rank=0, world_size=2)
    monkeypatch.setitem(os.environ, "RANK", "0")
    monkeypatch.setitem(os.environ, "WORLD_SIZE", "1")
    dist.init_process_group()
    try:
        assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "gloo")
        with pytest.raises(ValueError, match="twice"):
            dist.init_process_group("gloo", rank=0, world_size=1)
        t = torch.tensor([1.0, 2.0])
        assert dist.all_reduce(t, op=dist.ReduceOp.AVG) is None and t.tolist() == [1.0, 2.0]
        assert dist.all_reduce(t, async_op=True).wait()
        out = [torch.zeros(2)]
        dist.all_gather(out, t * 3)
        assert out[0].tolist() == [3.0, 6.0]
        objs = [None]
        dist.all_gather_object(objs, {"a": 1})
        assert objs == [{"a": 1}]
        assert len(DistributedSampler(range(5))) == 5
        model = torch.nn.Linear(2, 1)
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        assert list(ddp.state_dict()) == ["module.weight", "module.bias"]
        x = torch.randn(4, 2)
        with ddp.no_sync():
            assert torch.equal(ddp(x), model(x))
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="not been initialized"):
        torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 1))


def test_cpu_only_tensor_queries_and_shared_memory():
    x = torch.ones(2, 3)
    assert not x.is_pinned() and not x.is_meta
    with pytest.raises(RuntimeError, match="no accelerator|none is available"):
        x.pin_memory()
    with pytest.raises(TypeError, match="bfloat16"):
        x.bfloat16()
    with pytest.warns(UserWarning, match="volatile"):
        assert x.volatile is False
    assert not x.is_shared()
    assert x.share_memory_() is x and x.is_shared() and x[0].is_shared()
    assert not (x + 1).is_shared()
    model = torch.nn.Linear(2, 2)
    assert model.share_memory() is model and model.weight.is_shared() and model.bias.is_shared()
    loader = torch.utils.data.DataLoader(torch.arange(4.0), batch_size=2, pin_memory=True)
    with pytest.warns(UserWarning, match="pin_memory"):
        assert [b.tolist() for b in loader] == [[0.0, 1.0], [2.0, 3.0]]


def test_dim_order_output_nr_and_as_subclass():
    x = torch.ones(2, 3, 4, 5)
    assert x.dim_order() == (0, 1, 2, 3)
    assert x.to(memory_format=torch.channels_last).dim_order() == (0, 2, 3, 1)
    assert x.permute(3, 1, 0, 2).dim_order() == (2, 1, 3, 0)

    class Pair(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return t * 2, t * 3

        @staticmethod
        def backward(ctx, a, b):
            return a * 2 + b * 3

    z = torch.ones(2, requires_grad=True)
    a, b = Pair.apply(z)
    assert (z.output_nr, (z * 2).output_nr, a.output_nr, b.output_nr) == (0, 0, 0, 1)

    class Marked(torch.Tensor):
        pass

    y = (z * 3).as_subclass(Marked)
    assert type(y) is Marked and y.grad_fn.name() == "AliasBackward0"
    (y * 2).sum().backward()
    assert z.grad.tolist() == [6.0, 6.0]
    with pytest.raises(TypeError, match="subclass of Tensor"):
        z.as_subclass(int)


def test_compiler_switches_leave_code_eager():
    @torch.compiler.disable
    def f(x):
        return x + 1

    assert f(1) == 2 and torch.compiler.disable(reason="why")(f) is f
    assert not torch.compiler.is_compiling() and torch._dynamo.is_compiling() is False
    old = torch._dynamo.config.cache_size_limit
    torch._dynamo.config.cache_size_limit = 64
    try:
        assert torch._dynamo.config.cache_size_limit == 64
    finally:
        torch._dynamo.config.cache_size_limit = old
    with pytest.raises(AttributeError):
        torch._dynamo.config.no_such_knob  # noqa: B018
    assert torch.nn.parameter.is_lazy(torch.nn.parameter.UninitializedParameter())
    assert not torch.nn.parameter.is_lazy(torch.nn.Parameter(torch.ones(1)))


def test_out_of_memory_error_is_there_to_be_caught():
    # (scripts catch torch.cuda.OutOfMemoryError around a batch; tinyconv never raises it)
    assert torch.OutOfMemoryError is torch.cuda.OutOfMemoryError
    assert issubclass(torch.OutOfMemoryError, RuntimeError)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        raise torch.OutOfMemoryError("out of memory")
