"""The engine's gathering of slice gradients (Function.add_grad_into): the gradients of
x[0], x[1], ..., split, chunk and unbind pieces added into one buffer give the plain
backward's numbers (a full-size zeros array per slice, summed), for every graph shape."""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv as torch
from tinyconv.autograd import ops


def _grads(build, *arrays, plain: bool, **backward):
    """Run build(*leaves) and backward; the leaves' gradients (plain: Index's own backward)."""
    saved = vars(ops.Index)["add_grad_into"]  # (the staticmethod itself)
    if plain:
        ops.Index.add_grad_into = None
    try:
        leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
        out = build(*leaves)
        out.backward(**backward)
        return [leaf.grad.numpy().copy() for leaf in leaves]
    finally:
        ops.Index.add_grad_into = saved


def _steps(x):  # a recurrence over time steps, as an RNN's loop
    x = x * 1.0
    h = None
    for t in range(x.shape[0]):
        h = x[t].tanh() if h is None else (x[t] + h * 0.5).tanh()
    return h.sum()


GRAPHS = {
    "time_steps": _steps,
    "chunk": lambda x: (lambda a, b: (a.relu() * 2 + b).sum())(*(x * 1.0).chunk(2, 1)),
    "split_sizes": lambda x: sum(
        (p * (i + 1)).sum() for i, p in enumerate((x + 0).split([1, 3, 2], 1))
    ),
    "unbind": lambda x: sum((p * p).sum() for p in (x * 1.0).unbind(0)),
    "slices_and_whole": lambda x: (lambda y: y[0].sum() * 3 + y.sum() + y[1:, 2].exp().sum())(
        x * 1.0
    ),
    "same_slice_twice": lambda x: (lambda y: (y[1] * y[1]).sum() + y[1].sum())(x * 1.0),
    "unique_mask": lambda x: (lambda y: y[y > 0].sum() + (y[0] * 2).sum())(x * 1.0),
    "repeated_index": lambda x: (lambda y: y[[0, 0, 1]].pow(2).sum() + y[0].sum())(x - 1),
    "step_slices": lambda x: (lambda y: y[::2].sum() + y[1::2].mul(3).sum() + y[:, ::3].sum())(
        x * 1.0
    ),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_gathered_slice_gradients_equal_the_plain_backward(name, dtype):
    a = np.random.default_rng(len(name)).standard_normal((5, 6, 3)).astype(dtype)
    fast = _grads(GRAPHS[name], a, plain=False)
    plain = _grads(GRAPHS[name], a, plain=True)
    np.testing.assert_array_equal(fast[0], plain[0])
    assert fast[0].dtype == dtype


def test_gathering_keeps_hooks_retain_grad_and_grad():
    a = np.arange(12.0).reshape(4, 3)
    seen = []
    for plain in (False, True):
        saved = vars(ops.Index)["add_grad_into"]
        if plain:
            ops.Index.add_grad_into = None
        try:
            x = torch.tensor(a, requires_grad=True)
            y = x * 2
            y.retain_grad()
            y.register_hook(lambda g: g * 10)  # the hook sees the gathered gradient
            loss = sum((y[i] * (i + 1)).sum() for i in range(4))
            (gx,) = torch.autograd.grad(loss, x, retain_graph=True)
            loss.backward()
            seen.append((gx.numpy(), x.grad.numpy(), y.grad.numpy()))
        finally:
            ops.Index.add_grad_into = saved
    for got, want in zip(seen[0], seen[1], strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(seen[0][1], 20 * np.repeat(np.arange(1.0, 5.0), 3).reshape(4, 3))


def test_gathering_does_not_write_into_a_gradient_it_does_not_own():
    # A hook hands the engine the user's own array H as s's gradient, and s = y + 0 passes it
    # on to y as it is: y[0]'s gradient must be added into a new array, not into H (the
    # engine adds in place only into arrays it made itself)
    for slice_first in (False, True):  # (either branch may run first: both orders)
        h = np.full((3, 4), 2.0)
        x = torch.tensor(np.ones((3, 4)), requires_grad=True)
        y = x * 3.0
        s = y + 0.0
        s.register_hook(lambda g, h=h: torch.from_numpy(h))  # (shares h)
        whole, part = s.sum(), (y[0] * 5.0).sum()
        (part + whole if slice_first else whole + part).backward()
        np.testing.assert_array_equal(h, np.full((3, 4), 2.0))
        np.testing.assert_array_equal(x.grad.numpy(), [[21.0] * 4, [6.0] * 4, [6.0] * 4])


def test_long_time_loop_backward_is_linear_in_the_steps():
    # 400 steps of a (400, 64, 32) input: the plain backward adds 400 full-size arrays
    # (O(steps^2) memory traffic); gathered, one buffer. Same numbers.
    a = np.random.default_rng(0).standard_normal((400, 64, 32)).astype(np.float32)
    fast = _grads(_steps, a, plain=False)
    plain = _grads(_steps, a, plain=True)
    np.testing.assert_array_equal(fast[0], plain[0])


def test_create_graph_through_slices_still_differentiates():
    x = torch.tensor(np.linspace(-1, 1, 6).reshape(3, 2), requires_grad=True)
    y = x * x
    loss = sum((y[i] ** 2).sum() for i in range(3))
    (g,) = torch.autograd.grad(loss, x, create_graph=True)
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 12 * x.detach().numpy() ** 2, rtol=1e-12)
