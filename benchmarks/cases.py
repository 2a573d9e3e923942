"""The benchmark cases of issues 5 and 14, each written once for both libraries.

Every case function takes the library module as its first argument, spelled
``torch``, so the code is PyTorch code whichever library runs it: tinyconv is
called as ``torch`` here exactly as its users call it (``import tinyconv as
torch``). A case's ``setup(torch, data)`` builds that library's tensors from
NumPy arrays shared by both libraries (same values, same initialisation) and
returns the function that is timed; the timed function returns what it
computed, so the two libraries can be checked to agree before timing.

This module imports neither library: ``run.py`` pins the thread counts first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import models as M
import numpy as np

f32 = np.float32


def tensor(torch: Any, a: np.ndarray, requires_grad: bool = False) -> Any:
    """A library tensor holding a copy of `a` (so neither library shares NumPy's memory)."""
    return torch.tensor(np.array(a, copy=True), requires_grad=requires_grad)


def conv_flops(
    n: int,
    c: int,
    h: int,
    w: int,
    o: int,
    k: int,
    stride: int = 1,
    padding: int = 0,
    groups: int = 1,
) -> tuple[int, tuple[int, int]]:
    """Forward flops 2*N*O*OH*OW*(C/groups)*kh*kw (one multiply + one add per tap) and (OH, OW)."""
    oh = (h + 2 * padding - k) // stride + 1
    ow = (w + 2 * padding - k) // stride + 1
    return 2 * n * o * oh * ow * (c // groups) * k * k, (oh, ow)


# --------------------------------------------------------------------------
# edge: the 20-step edge-kernel training loop (the seed exercise, per-op overhead)
# --------------------------------------------------------------------------


def edge_loop(torch, x, y, w0, b0, steps=20, lr=0.01):
    """Learn the [[-1, 1]] kernel back: conv2d + bias, sum-of-squares loss, backward,
    in-place update under no_grad, zero the grads. One call is the whole 20-step loop."""
    F = torch.nn.functional
    weight = torch.tensor(w0, requires_grad=True)
    bias = torch.tensor(b0, requires_grad=True)
    for _ in range(steps):
        loss = ((F.conv2d(x, weight, bias) - y) ** 2).sum()
        loss.backward()
        with torch.no_grad():
            weight -= lr * weight.grad
            bias -= lr * bias.grad
        weight.grad.zero_()
        bias.grad.zero_()
    return loss, weight, bias


def edge_data(rng: np.random.Generator) -> dict:
    X = np.ones((1, 1, 6, 8), f32)
    X[..., 2:6] = 0  # a dark vertical band: two edges
    Y = X[..., 1:] - X[..., :-1]  # corr2d(X, [[-1, 1]])
    return {
        "X": X,
        "Y": Y,
        "w0": rng.standard_normal((1, 1, 1, 2)).astype(f32),
        "b0": np.zeros(1, f32),
    }


def edge_setup(torch, d):
    x, y = tensor(torch, d["X"]), tensor(torch, d["Y"])
    w0, b0 = d["w0"], d["b0"]
    return lambda: edge_loop(torch, x, y, w0, b0)


# --------------------------------------------------------------------------
# micro: a tiny op chain (per-op overhead of the engine)
# --------------------------------------------------------------------------


def micro_step(torch, a, b, c):
    ((a + b) * c).sum().backward()
    return a.grad, b.grad, c.grad


def micro_data(rng):
    return {k: rng.standard_normal(3).astype(f32) for k in "abc"}


def micro_setup(torch, d):
    a, b, c = (tensor(torch, d[k], requires_grad=True) for k in "abc")
    return lambda: micro_step(torch, a, b, c)


# --------------------------------------------------------------------------
# convolutions: forward, and forward+backward with grads to input, weight and bias
# --------------------------------------------------------------------------


def conv_forward(torch, x, w, b, stride, padding, groups=1):
    return torch.nn.functional.conv2d(x, w, b, stride=stride, padding=padding, groups=groups)


def conv_fwd_bwd(torch, x, w, b, stride, padding, groups=1):
    x.grad = w.grad = b.grad = None
    out = torch.nn.functional.conv2d(x, w, b, stride=stride, padding=padding, groups=groups)
    out.sum().backward()
    return x.grad, w.grad, b.grad


def conv_data(shape, o, k, stride=1, padding=0, groups=1):
    def make(rng):
        c = shape[1] // groups
        bound = 1.0 / np.sqrt(c * k * k)
        return {
            "x": rng.standard_normal(shape).astype(f32),
            "w": rng.uniform(-bound, bound, (o, c, k, k)).astype(f32),
            "b": rng.uniform(-bound, bound, o).astype(f32),
            "stride": stride,
            "padding": padding,
            "groups": groups,
        }

    return make


def conv_setup(step):
    def setup(torch, d):
        x, w, b = (tensor(torch, d[k], requires_grad=True) for k in "xwb")
        stride, padding, groups = d["stride"], d["padding"], d.get("groups", 1)
        return lambda: step(torch, x, w, b, stride, padding, groups)

    return setup


# --------------------------------------------------------------------------
# lenet: one training step of a LeNet-style network, batch 64, 28x28
# --------------------------------------------------------------------------


def lenet(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


LENET_SHAPES = [  # (name, shape) in nn.Sequential order; fan_in = prod(shape[1:])
    ("0.weight", (6, 1, 5, 5)),
    ("0.bias", (6,)),
    ("3.weight", (16, 6, 5, 5)),
    ("3.bias", (16,)),
    ("7.weight", (120, 400)),
    ("7.bias", (120,)),
    ("9.weight", (84, 120)),
    ("9.bias", (84,)),
    ("11.weight", (10, 84)),
    ("11.bias", (10,)),
]


def lenet_train_step(torch, model, optimizer, x, y):
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


def lenet_data(rng):
    init, fan_in = {}, 1
    for name, shape in LENET_SHAPES:
        if name.endswith("weight"):
            fan_in = int(np.prod(shape[1:]))
        bound = 1.0 / np.sqrt(fan_in)  # PyTorch's default init range, drawn once and shared
        init[name] = rng.uniform(-bound, bound, shape).astype(f32)
    return {
        "init": init,
        "x": rng.random((64, 1, 28, 28), dtype=f32),
        "y": rng.integers(0, 10, 64).astype(np.int64),
    }


def lenet_setup(torch, d):
    model = lenet(torch)
    params = dict(model.named_parameters())
    assert sorted(params) == sorted(d["init"]), sorted(params)
    with torch.no_grad():
        for name, value in d["init"].items():
            params[name].copy_(tensor(torch, value))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = tensor(torch, d["x"]), tensor(torch, d["y"])
    return lambda: lenet_train_step(torch, model, optimizer, x, y)


def lenet_flops(batch=64):
    """Nominal fwd+bwd flops: 3x the forward's conv and linear multiply-adds."""
    fwd = conv_flops(batch, 1, 28, 28, 6, 5, padding=2)[0] + conv_flops(batch, 6, 14, 14, 16, 5)[0]
    fwd += 2 * batch * (400 * 120 + 120 * 84 + 84 * 10)
    return 3 * fwd


# --------------------------------------------------------------------------
# resblock: one training step of a residual block (BatchNorm, skip connection)
# --------------------------------------------------------------------------


def resblock(torch, channels=32, classes=10):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the input (identity skip), ReLU, global average
    pool, linear: a ResNet basic block with a classifier head."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)
            self.fc = nn.Linear(channels, classes)

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = torch.relu(self.bn2(self.conv2(out)) + x)
            out = torch.nn.functional.adaptive_avg_pool2d(out, 1)
            return self.fc(torch.flatten(out, 1))

    return Block()


def init_params(torch, model, seed):
    """Overwrite every Conv2d and Linear weight and bias with values drawn in modules() order
    (the same in both libraries, since they run the same model code), uniform in PyTorch's
    default +-1/sqrt(fan_in); BatchNorm keeps its default weight 1, bias 0 in both."""
    rng = np.random.default_rng(seed)
    nn = torch.nn
    with torch.no_grad():
        for m in model.modules():
            if not isinstance(m, (nn.Conv2d, nn.Linear)):
                continue
            bound = 1.0 / np.sqrt(int(np.prod(tuple(m.weight.shape)[1:])))
            for p in (m.weight, m.bias):
                if p is not None:
                    value = rng.uniform(-bound, bound, tuple(p.shape)).astype(f32)
                    p.copy_(tensor(torch, value))


def train_step(torch, model, optimizer, x, y):
    """One SGD step: zero the grads, forward, cross-entropy, backward, update. Returns the
    loss and the classifier's gradients (for the two libraries' agreement check; the stem's
    gradient, 20 float32 layers down, differs by up to ~1e-3 relative in ResNet-18)."""
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    last = list(model.parameters())[-2:]
    return loss, last[0].grad, last[1].grad


def model_data(shape, classes):
    def make(rng):
        return {
            "x": rng.standard_normal(shape).astype(f32),
            "y": rng.integers(0, classes, shape[0]).astype(np.int64),
            "seed": int(rng.integers(2**31)),
        }

    return make


def model_setup(build, double=False):
    """The timed training step of model `build`; `double` runs it in float64 (the tests compare
    the two libraries that way, where float32 rounding through 20 layers would blur it)."""

    def setup(torch, d):
        model = build(torch)
        init_params(torch, model, d["seed"])
        if double:
            model.double()
            d = dict(d, x=d["x"].astype(np.float64))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x, y = tensor(torch, d["x"]), tensor(torch, d["y"])
        return lambda: train_step(torch, model, optimizer, x, y)

    return setup


def resblock_flops(n=16, c=32, hw=32):
    """Nominal fwd+bwd flops of the two convolutions (3x their forward)."""
    return 3 * 2 * conv_flops(n, c, hw, hw, c, 3, padding=1)[0]


# --------------------------------------------------------------------------
# gemm: the float32 matmul rate, the ceiling of the im2col formulation
# --------------------------------------------------------------------------


def gemm_data(a_shape, b_shape):
    def make(rng):
        a = rng.standard_normal(a_shape).astype(f32)
        b = rng.standard_normal(b_shape).astype(f32)
        return {"a": a, "b": b, "out": np.matmul(a, b)}

    return make


def numpy_gemm_setup(d):
    a, b, out = d["a"], d["b"], np.empty_like(d["out"])
    return lambda: np.matmul(a, b, out=out)


def torch_gemm_setup(torch, d):
    a, b = torch.from_numpy(d["a"].copy()), torch.from_numpy(d["b"].copy())
    out = torch.empty(d["out"].shape, dtype=torch.float32)
    return lambda: torch.matmul(a, b, out=out)


def gemm_flops(a_shape, b_shape):
    *batch, m, k = a_shape
    *batch_b, _, n = b_shape
    count = int(np.prod(np.broadcast_shapes(tuple(batch), tuple(batch_b)) or (1,)))
    return 2 * count * m * n * k


# --------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    group: str  # the --case name that selects it ("gemm" selects all gemm rows)
    description: str
    make_data: Callable[[np.random.Generator], dict]
    setup: Callable | None  # (torch_or_tinyconv, data) -> timed fn; None for gemm (NumPy side)
    flops: int = 0
    repeat: int = 30  # default number of timed samples per library
    target_ratio: float | None = None
    target_gemm_share: float | None = None
    numpy_setup: Callable | None = None  # gemm: the "tinyconv" column is NumPy itself
    torch_setup: Callable | None = None
    memory: bool = False  # also measure peak memory of one fwd+bwd in a fresh process
    target_memory_ratio: float | None = None  # tinyconv peak / PyTorch peak
    extra: dict = field(default_factory=dict)


def _conv_case(
    name,
    shape,
    o,
    k,
    stride=1,
    padding=0,
    groups=1,
    *,
    repeat,
    target_ratio,
    target_gemm=None,
    memory=False,
    target_memory_ratio=None,
):
    n, c, h, w = shape
    fwd, (oh, ow) = conv_flops(n, c, h, w, o, k, stride, padding, groups)
    desc = (
        f"conv fwd+bwd {shape}->{o} k{k}"
        + (f" s{stride}" if stride != 1 else "")
        + (f" p{padding}" if padding else "")
        + (f" groups={groups}" if groups != 1 else "")
        + f" -> {(n, o, oh, ow)}"
    )
    return Case(
        name,
        name,
        desc,
        conv_data(shape, o, k, stride, padding, groups),
        conv_setup(conv_fwd_bwd),
        flops=3 * fwd,
        repeat=repeat,
        target_ratio=target_ratio,
        target_gemm_share=target_gemm,
        memory=memory,
        target_memory_ratio=target_memory_ratio,
        extra={
            "x": shape,
            "weight": (o, c // groups, k, k),
            "stride": stride,
            "padding": padding,
            "groups": groups,
        },
    )


def _gemm_case(name, a_shape, b_shape, desc, repeat):
    return Case(
        name,
        "gemm",
        desc,
        gemm_data(a_shape, b_shape),
        None,
        flops=gemm_flops(a_shape, b_shape),
        repeat=repeat,
        numpy_setup=numpy_gemm_setup,
        torch_setup=torch_gemm_setup,
        extra={"a": a_shape, "b": b_shape},
    )


# --------------------------------------------------------------------------
# ops: single ops of the training step around the convolution, forward + backward
# --------------------------------------------------------------------------


def op_fwd_bwd(torch, op, inputs):
    """``op(torch, *inputs).sum().backward()``, gradients reset first; returns the output
    and the first input's gradient."""
    for t in inputs:
        if getattr(t, "requires_grad", False):
            t.grad = None
    out = op(torch, *inputs)
    out.sum().backward()
    return out, inputs[0].grad


def op_case(name, what, op, shapes, repeat=20, index=None):
    """A Case timing ``op`` forward + backward on float32 inputs of ``shapes`` (requiring
    grad); ``index=(shape, high)`` adds an int64 input in [0, high) after them."""

    def make(rng):
        d = {f"x{i}": rng.standard_normal(shape).astype(f32) for i, shape in enumerate(shapes)}
        if index is not None:
            d["index"] = rng.integers(0, index[1], index[0]).astype(np.int64)
        return d

    def setup(torch, d):
        torch.manual_seed(0)  # (dropout: the same masks in both libraries)
        inputs = [tensor(torch, d[f"x{i}"], requires_grad=True) for i in range(len(shapes))]
        if index is not None:
            inputs.append(tensor(torch, d["index"]))
        return lambda: op_fwd_bwd(torch, op, inputs)

    return Case(name, "ops", what, make, setup, repeat=repeat)


_OPS_SHAPE = (32, 64, 32, 32)  # 2M numbers, 8 MB in float32

OP_CASES = [
    op_case(
        "op_gelu",
        "F.gelu fwd+bwd, (32, 64, 32, 32)",
        lambda t, x: t.nn.functional.gelu(x),
        [_OPS_SHAPE],
    ),
    op_case(
        "op_layer_norm",
        "F.layer_norm over the last 128 of (64, 128, 128), weight and bias, fwd+bwd",
        lambda t, x, w, b: t.nn.functional.layer_norm(x, (128,), w, b),
        [(64, 128, 128), (128,), (128,)],
    ),
    *(
        op_case(f"op_{name}", f"F.{call} fwd+bwd, (32, 64, 32, 32)", fn, [_OPS_SHAPE])
        for name, call, fn in (
            ("softplus", "softplus", lambda t, x: t.nn.functional.softplus(x)),
            ("leaky_relu", "leaky_relu(x, 0.1)", lambda t, x: t.nn.functional.leaky_relu(x, 0.1)),
            ("silu", "silu", lambda t, x: t.nn.functional.silu(x)),
        )
    ),
    op_case(
        "op_dropout",
        "F.dropout p=0.5 (training) fwd+bwd, (32, 64, 32, 32), same seed",
        lambda t, x: t.nn.functional.dropout(x, 0.5),
        [_OPS_SHAPE],
        repeat=10,
    ),
    op_case(
        "op_softmax",
        "F.softmax over the last dim of (256, 1024), fwd+bwd",
        lambda t, x: t.nn.functional.softmax(x, -1),
        [(256, 1024)],
    ),
    op_case(
        "op_topk",
        "torch.topk(x, 10, dim=1) values of (256, 1024), fwd+bwd",
        lambda t, x: t.topk(x, 10, 1)[0],
        [(256, 1024)],
    ),
    op_case(
        "op_embedding",
        "F.embedding of (64, 128) indices into a (1000, 256) weight, fwd+bwd",
        lambda t, w, i: t.nn.functional.embedding(i, w),
        [(1000, 256)],
        index=((64, 128), 1000),
    ),
]

SMALL = {"shape": (1, 3, 5, 5), "o": 2, "k": 3, "stride": 2, "padding": 1}
_small_fwd = conv_flops(1, 3, 5, 5, 2, 3, 2, 1)[0]

CASES: list[Case] = [
    Case(
        "edge",
        "edge",
        "20-step edge-kernel loop: conv2d (1,1,6,8)*(1,1,1,2)+bias, SSE loss, "
        "backward, no_grad update, zero grads",
        edge_data,
        edge_setup,
        repeat=40,
        target_ratio=0.5,
    ),
    Case(
        "micro",
        "micro",
        "((a + b) * c).sum().backward() on 3-element float32 tensors",
        micro_data,
        micro_setup,
        repeat=50,
        target_ratio=0.5,
    ),
    Case(
        "small_conv_fwd",
        "small_conv_fwd",
        "conv2d forward (1,3,5,5)*(2,3,3,3) s2 p1",
        conv_data(**SMALL),
        conv_setup(conv_forward),
        flops=_small_fwd,
        repeat=50,
        target_ratio=0.5,
    ),
    Case(
        "small_conv_fwdbwd",
        "small_conv_fwdbwd",
        "conv2d fwd+bwd (1,3,5,5)*(2,3,3,3) s2 p1",
        conv_data(**SMALL),
        conv_setup(conv_fwd_bwd),
        flops=3 * _small_fwd,
        repeat=50,
        target_ratio=0.5,
    ),
    _conv_case("c1", (64, 1, 28, 28), 6, 5, repeat=30, target_ratio=1.0),
    _conv_case("c2", (64, 6, 14, 14), 16, 5, repeat=30, target_ratio=1.0),
    _conv_case(
        "depthwise",
        (16, 64, 32, 32),
        64,
        3,
        padding=1,
        groups=64,
        repeat=20,
        target_ratio=1.0,
    ),
    _conv_case(
        "c3",
        (32, 64, 56, 56),
        64,
        3,
        padding=1,
        repeat=7,
        target_ratio=1.0,
        memory=True,
        target_memory_ratio=1.0,
    ),
    _conv_case(
        "c4",
        (8, 3, 224, 224),
        64,
        7,
        stride=2,
        padding=3,
        repeat=7,
        target_ratio=1.0,
        memory=True,
    ),
    Case(
        "lenet",
        "lenet",
        "LeNet training step, batch 64, 28x28: forward, cross-entropy, backward, SGD momentum step",
        lenet_data,
        lenet_setup,
        flops=lenet_flops(),
        repeat=20,
        target_ratio=1.0,
    ),
    Case(
        "resblock",
        "resblock",
        "residual block training step, (16,32,32,32): conv3x3-BN-ReLU-conv3x3-BN + skip, ReLU, "
        "global avg-pool, linear, cross-entropy, backward, SGD momentum step",
        model_data((16, 32, 32, 32), 10),
        model_setup(resblock),
        flops=resblock_flops(),
        repeat=15,
        target_ratio=1.0,
    ),
    *(
        Case(
            name,
            "models",
            f"{name} training step (models.py, torchvision's layer structure), batch 8, 3x64x64, "
            "1000 classes: forward, cross-entropy, backward, SGD momentum step",
            model_data((8, 3, 64, 64), 1000),
            model_setup(M.MODELS[name]),
            repeat=7,
            target_ratio=1.0,
            memory=True,
        )
        for name in M.MODELS
    ),
    *OP_CASES,
    _gemm_case(
        "gemm_2048",
        (2048, 2048),
        (2048, 2048),
        "float32 matmul 2048x2048 @ 2048x2048 (the reference rate for '% GEMM')",
        repeat=7,
    ),
    _gemm_case(
        "gemm_c3",
        (64, 576),
        (576, 32 * 56 * 56),
        "float32 matmul (64x576) @ (576x100352): c3's forward as one im2col GEMM",
        repeat=7,
    ),
    _gemm_case(
        "gemm_c3_batched",
        (64, 576),
        (32, 576, 56 * 56),
        "float32 matmul (64x576) @ (32x576x3136): c3's forward as one GEMM per image",
        repeat=7,
    ),
]

GROUPS = list(dict.fromkeys(c.group for c in CASES))
REFERENCE_GEMM = "gemm_2048"


def to_numpy_list(results) -> list[np.ndarray]:
    """What a timed function returned (tensors of either library) as NumPy arrays."""
    return [np.array(r.detach().numpy()) for r in results]
