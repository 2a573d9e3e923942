"""The per-op overhead paths (issue 14's edge and micro steps) give the plain paths' results.

tensor._binary's number fast path (no graph to record) against the same op recorded through
Function.apply, bit for bit; x ** 2's forward and backward shortcuts against a * a and
g * (2 a); and the engine's inlined steps (a node's backward, freeing its saved tensors, a
leaf's in-place gradient accumulation) against the semantics of the functions they inline:
hooks, post-accumulate hooks, create_graph gradients, saved-version and second-backward errors.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinyconv

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_square_fast_paths_equal_the_plain_power_bit_for_bit(dtype):
    # x ** 2 skips np.result_type in the forward (a * a) and its backward doubles a as a + a
    # instead of 2 * a (the Python 2 converted each call): the same bits, -0.0, inf and NaN
    # included, in the input's dtype
    from tinyconv.autograd.ops import _power

    rng = np.random.default_rng(0)
    values = np.concatenate([rng.standard_normal(50) * 100, SPECIAL, [6e4, -6e4, 1e-30]])
    a = values.astype(dtype)
    with np.errstate(all="ignore"):
        out = _power(a, 2)
        assert out.dtype == a.dtype
        assert np.array_equal(out.view(f"u{a.itemsize}"), (a * a).view(f"u{a.itemsize}"))
        x = tinyconv.tensor(a, requires_grad=True)
        g = rng.standard_normal(a.shape).astype(dtype)
        (x**2).backward(tinyconv.tensor(g))
        want = g * (2 * a)
    assert x.grad.dtype == x.dtype
    assert np.array_equal(
        x.grad.numpy().view(want.dtype.str.replace("f", "u")),
        want.view(want.dtype.str.replace("f", "u")),
    )


def test_inlined_grad_accumulation_is_accumulate_grads():
    # The walk adds a leaf's later gradients into its .grad in place itself (accumulate_grad's
    # usual case, inlined): the same .grad tensor and sums; a hook registered after the first
    # backward, a post-accumulate hook, and a .grad kept from a create_graph backward still
    # take accumulate_grad's paths
    x = tinyconv.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * 2).sum().backward()
    first = x.grad
    (x * 3).sum().backward()
    assert x.grad is first and x.grad.tolist() == [5.0, 5.0, 5.0]

    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()) or g * 10)
    (x * 1).sum().backward()
    assert seen == [[1.0, 1.0, 1.0]] and x.grad.tolist() == [15.0, 15.0, 15.0]

    y = tinyconv.tensor([1.0, 2.0], requires_grad=True)
    (y * y).sum().backward()
    after = []
    y.register_post_accumulate_grad_hook(lambda t: after.append(t.grad.tolist()))
    (y * 1).sum().backward()
    assert after == [[3.0, 5.0]]

    z = tinyconv.tensor([2.0], requires_grad=True)
    (z**3).sum().backward(create_graph=True)  # z.grad = 3 z^2, with a graph of its own
    kept = z.grad
    assert kept.requires_grad
    (z * 1).sum().backward()  # added in place, as PyTorch (grad mode is off): graph kept
    assert z.grad is kept and kept.tolist() == [13.0] and kept.requires_grad


def test_inlined_node_backward_still_checks_saved_versions_and_release():
    # The walk runs a built-in op's backward itself (Function._run_backward inlined): a saved
    # tensor changed in place and a second backward through a freed graph still raise
    a = tinyconv.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1
    c = b * b
    b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        c.sum().backward()
    d = (a * a).sum()
    d.backward()
    with pytest.raises(RuntimeError, match="second time"):
        d.backward()


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("reflected", [False, True])
@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_number_operand_fast_path_equals_the_recorded_op(op, reflected, dtype):
    # tensor op number with nothing to record calls the ufunc at once (tensor._binary's first
    # branch): the same bits and dtype as the op run through Function.apply (a tensor that
    # requires grad), and as quiet; an int tensor still promotes (1.5 * int tensor: float32)
    fns = {"+": lambda u, v: u + v, "-": lambda u, v: u - v, "*": lambda u, v: u * v}
    fns["/"] = lambda u, v: u / v
    with np.errstate(over="ignore"):  # (3e38 is inf in float16)
        values = np.array([*SPECIAL, 3e38, -3e38, 1e-30, 2.5, 65504.0]).astype(dtype)
    for number in (0.01, 2, -0.0, 0, np.inf, -3, 1e300, 10**19, 10**20, True):
        if op == "/" and reflected:
            continue  # (number / tensor is a reciprocal times the number: not this path)
        if number == 10**20:  # (past uint64: PyTorch's OverflowError, on both paths)
            for t in (tinyconv.tensor(values), tinyconv.tensor(values, requires_grad=True)):
                with pytest.raises(OverflowError):
                    fns[op](number, t) if reflected else fns[op](t, number)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            plain = tinyconv.tensor(values)
            graph = tinyconv.tensor(values, requires_grad=True)
            if type(number) is bool and op == "-":  # (refused, as PyTorch)
                with pytest.raises(TypeError):
                    fns[op](number, plain) if reflected else fns[op](plain, number)
                continue
            if reflected:
                fast, slow = fns[op](number, plain), fns[op](number, graph)
            else:
                fast, slow = fns[op](plain, number), fns[op](graph, number)
        assert fast.grad_fn is None and not fast.requires_grad and slow.grad_fn is not None
        assert fast.dtype == slow.dtype == plain.dtype
        bits = f"u{np.dtype(dtype).itemsize}"
        assert np.array_equal(fast.numpy().view(bits), slow.detach().numpy().view(bits))
    ints = tinyconv.tensor([1, 2, 3])
    assert (1.5 * ints).dtype == tinyconv.float32 and (ints * 2).dtype == tinyconv.int64
