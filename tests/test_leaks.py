"""No leaks: long training loops keep memory flat, and a graph is freed as soon as its output is.

The graph must be freed by reference counting alone (no reference cycles): the checks
below run with the cyclic garbage collector disabled and then assert that it would have
found nothing to collect.
"""

from __future__ import annotations

import gc
import os
import tracemalloc
import weakref

import numpy as np
import pytest

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv import nn, optim
from tinyconv.autograd import detect_anomaly


def rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def memory_growth(step, warmup: int, steps: int) -> tuple[int, int | None]:
    """(tracemalloc growth, RSS growth) in bytes over `steps` calls after `warmup` calls."""
    for i in range(warmup):
        step(i)
    gc.collect()
    rss0 = rss_bytes()
    tracemalloc.start()
    try:
        step(warmup)  # the first traced step may allocate caches that then stay
        base, _ = tracemalloc.get_traced_memory()
        for i in range(warmup + 1, warmup + steps):
            step(i)
        gc.collect()
        now, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss1 = rss_bytes()
    return now - base, (None if rss0 is None else rss1 - rss0)


MB = 1 << 20


# -- long loops
# -------------------------------------------------------------------------------------


def test_edge_example_5000_steps_flat_memory():
    # The edge-kernel exercise: learn K = [[-1, 1]] from the 6x8 image, plain gradient descent on
    # .data.
    X = torch.ones(1, 1, 6, 8)
    X[:, :, :, 2:6] = 0
    Y = F.conv2d(X, torch.tensor([[[[-1.0, 1.0]]]]))
    torch.manual_seed(0)
    w = torch.randn(1, 1, 1, 2, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    losses = []

    def step(i):
        loss = ((F.conv2d(X, w, b) - Y) ** 2).sum()
        loss.backward()
        w.data -= 0.01 * w.grad.data
        b.data -= 0.01 * b.grad.data
        w.grad.zero_()
        b.grad.zero_()
        if i % 1000 == 0:
            losses.append(loss.item())

    traced, rss = memory_growth(step, warmup=100, steps=5000)
    assert traced < 256 * 1024, f"tracemalloc grew by {traced / 1024:.0f} KiB over 5000 steps"
    if rss is not None:
        assert rss < 20 * MB, f"RSS grew by {rss / MB:.1f} MiB"
    assert losses[-1] < 1e-6 < losses[0]  # and it really trained
    np.testing.assert_allclose(w.detach().numpy().ravel(), [-1.0, 1.0], atol=1e-3)


class LeNet(nn.Module):
    """The LeNet of examples/lenet_digits.py (8x8 digits), with a dropout layer too."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(0.25)
        self.fc1 = nn.Linear(32 * 2 * 2, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = self.drop(torch.flatten(x, 1))
        return self.fc2(F.relu(self.fc1(x)))


@pytest.mark.parametrize(
    "make_opt, steps",
    [(lambda p: optim.Adam(p, lr=1e-3), 200), (lambda p: optim.SGD(p, lr=0.05, momentum=0.9), 60)],
    ids=["adam-200", "sgd-60"],
)
def test_lenet_steps_flat_memory(make_opt, steps):
    torch.manual_seed(0)
    model = LeNet()
    opt = make_opt(model.parameters())
    rng = np.random.default_rng(0)
    batches = [
        (
            torch.tensor(rng.random((64, 1, 8, 8), dtype=np.float32)),
            torch.tensor(rng.integers(0, 10, 64)),
        )
        for _ in range(4)
    ]
    losses = []

    def step(i):
        x, y = batches[i % len(batches)]
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())

    traced, rss = memory_growth(step, warmup=10, steps=steps)
    assert traced < 2 * MB, f"tracemalloc grew by {traced / MB:.2f} MiB over {steps} LeNet steps"
    if rss is not None:
        assert rss < 20 * MB, f"RSS grew by {rss / MB:.1f} MiB"
    assert np.mean(losses[-20:]) < np.mean(losses[:20])  # it learned the (memorisable) batches
    assert len(opt.state) == len(list(model.parameters()))


def test_no_growth_when_forward_only_or_under_no_grad():
    torch.manual_seed(0)
    model = LeNet().eval()
    x = torch.randn(16, 1, 8, 8)

    def step(i):
        model(x).sum()  # graph built, then dropped without backward
        with torch.no_grad():
            model(x)

    traced, _ = memory_growth(step, warmup=5, steps=100)
    assert traced < 512 * 1024, f"tracemalloc grew by {traced / 1024:.0f} KiB"


# -- graphs are freed with their output, by reference counting alone
# ------------------------------------


class NoCycles:
    """Within the block, the cyclic GC is off; afterwards it must find nothing to collect."""

    def __enter__(self):
        gc.collect()
        gc.disable()
        return self

    def __exit__(self, *exc):
        self.found = gc.collect()  # objects in unreachable cycles made inside the block
        gc.enable()


def refs_to_graph(out):
    """Weak references to every node reachable from `out` (and to `out` itself)."""
    refs, stack, seen = [weakref.ref(out)], [out.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or isinstance(node, torch.Tensor):
            continue
        seen.add(id(node))
        refs.append(weakref.ref(node))
        stack.extend(node.edges)
    return refs


def alive(refs) -> int:
    return sum(r() is not None for r in refs)


def build_chain():
    a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = torch.tensor([4.0, 5.0, 6.0], requires_grad=True)
    return ((a + b) * b).exp().log().sum(), (a, b)


def build_conv_net():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 3 * 4, 3),
    )
    x = torch.randn(2, 1, 6, 8, requires_grad=True)
    return F.cross_entropy(model(x), torch.tensor([0, 2])), (model, x)


def build_views_and_inplace():
    a = torch.randn(4, 4, requires_grad=True)
    h = a * 2
    v = h[1:3].transpose(0, 1)
    v = v.reshape(-1).unsqueeze(0)
    h2 = h.clone()
    h2[0] = v[0, :4]  # CopySlices node
    h2 += 1.0  # in-place: rebased history
    return (h2.sigmoid() * h.tanh()).mean(), (a,)


def build_losses():
    x = torch.randn(3, 4, requires_grad=True)
    t = torch.rand(3, 4)
    loss = (
        F.binary_cross_entropy_with_logits(x, t)
        + F.binary_cross_entropy(x.sigmoid(), t)
        + F.mse_loss(x, t)
        + F.nll_loss(F.log_softmax(x, 1), torch.tensor([0, 1, 3]))
    )
    y, idx = F.max_pool2d(x.reshape(1, 1, 3, 4), 2, return_indices=True)
    return loss + y.sum() + F.avg_pool2d(x.reshape(1, 3, 4), 2).sum(), (x, idx)


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * grad


def build_user_function():
    x = torch.randn(5, requires_grad=True)
    return Square.apply(x.tanh()).sum(), (x,)


BUILDERS = [build_chain, build_conv_net, build_views_and_inplace, build_losses, build_user_function]


@pytest.mark.parametrize("build", BUILDERS, ids=[b.__name__[6:] for b in BUILDERS])
@pytest.mark.parametrize("how", ["no-backward", "backward", "retain-graph", "anomaly-mode"])
def test_graph_is_freed_with_its_output(build, how):
    with NoCycles() as gcheck:
        if how == "anomaly-mode":
            with detect_anomaly():
                out, keep = build()
                out.backward()
        else:
            out, keep = build()
            if how == "backward":
                out.backward()
            elif how == "retain-graph":
                out.backward(retain_graph=True)
                out.backward()
        refs = refs_to_graph(out)
        assert alive(refs) > 2
        del out
        assert alive(refs) == 0, f"{alive(refs)} graph objects outlived their output"
    assert gcheck.found == 0, (
        f"freeing the graph needed the cycle collector ({gcheck.found} objects)"
    )
    leaves = [t for t in keep if isinstance(t, torch.Tensor) and t.requires_grad]
    if how != "no-backward":
        assert all(t.grad is not None for t in leaves)  # the results stay, the graph goes


def test_graph_kept_alive_only_by_its_output():
    with NoCycles() as gcheck:
        out, _ = build_conv_net()
        mid = out.grad_fn.edges[0]
        ref = weakref.ref(mid)
        del mid
        assert ref() is not None  # still needed: the output holds it
        out.backward()
        assert ref() is not None  # backward doesn't free nodes the output still reaches...
        del out
        assert ref() is None  # ...the output going does
    assert gcheck.found == 0


def test_retain_grad_and_saved_output_do_not_make_cycles():
    with NoCycles() as gcheck:
        x = torch.randn(3, requires_grad=True)
        h = x.exp()  # Exp saves its own output
        h.retain_grad()  # the node points back at h (weakly)
        out = (h * h).sum()
        out.backward()
        refs = refs_to_graph(out) + [weakref.ref(h)]
        del out, h
        assert alive(refs) == 0
    assert gcheck.found == 0


def test_failed_backward_frees_the_graph():
    with NoCycles() as gcheck:
        x = torch.randn(3, requires_grad=True)
        h = x * 1.0
        out = (h * x).sum()
        h.add_(1.0)
        refs = refs_to_graph(out)
        try:
            out.backward()
        except RuntimeError as e:
            assert "MulBackward0" in str(e)
        else:
            raise AssertionError("the in-place change was not caught")
        del out, h
        assert alive(refs) == 0
    assert gcheck.found == 0


def test_checkpoint_round_trip_does_not_leak(tmp_path):
    model = LeNet()
    opt = optim.Adam(model.parameters())
    model(torch.randn(2, 1, 8, 8)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.npz"

    def step(i):
        torch.save({"model": model.state_dict(), "optim": opt.state_dict()}, path)
        ckpt = torch.load(path)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optim"])

    traced, _ = memory_growth(step, warmup=3, steps=40)
    assert traced < 512 * 1024, (
        f"tracemalloc grew by {traced / 1024:.0f} KiB over 40 save/load rounds"
    )
