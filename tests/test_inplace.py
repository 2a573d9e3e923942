"""In-place safety: version counters catch a saved tensor changed between forward and backward.

Every tensor carries a version counter (`_vc`, shared with its views). In-place ops
bump it; a node that saved a tensor for backward checks, at backward time, that the
version is unchanged, and otherwise raises a RuntimeError naming the op and the shape.
Updates through `.data` are invisible (as in PyTorch); updates under `no_grad` bump the
version, so they are fine between steps but caught between a forward and its backward.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv import nn, optim

# In-place ops on a non-leaf tensor (grad mode on), each given as (name, fn).
INPLACE_OPS = [
    ("add_", lambda t: t.add_(1.0)),
    ("sub_", lambda t: t.sub_(1.0)),
    ("mul_", lambda t: t.mul_(2.0)),
    ("div_", lambda t: t.div_(2.0)),
    ("+=", lambda t: t.__iadd__(1.0)),
    ("-=", lambda t: t.__isub__(1.0)),
    ("*=", lambda t: t.__imul__(2.0)),
    ("/=", lambda t: t.__itruediv__(2.0)),
    ("fill_", lambda t: t.fill_(0.5)),
    ("zero_", lambda t: t.zero_()),
    ("copy_", lambda t: t.copy_(torch.ones(t.shape))),
    ("clamp_", lambda t: t.clamp_(min=-0.1, max=0.1)),
    ("setitem", lambda t: t.__setitem__(0, 3.0)),
]


def leaf(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.standard_normal(shape).astype(np.float32) + 0.5, requires_grad=True)


def message(excinfo) -> str:
    return str(excinfo.value)


# -- a saved input or output changed after the forward: backward raises ------------------------


@pytest.mark.parametrize("name,modify", INPLACE_OPS, ids=[n for n, _ in INPLACE_OPS])
def test_mul_input_modified(name, modify):
    x, w = leaf(2, 3), leaf(2, 3, seed=1)
    h = x * 1.0  # a non-leaf, so it may be modified in place under grad mode
    y = h * w  # Mul saves h (for w's gradient) and w (for h's)
    modify(h)
    with pytest.raises(RuntimeError, match=r"MulBackward0") as e:
        y.sum().backward()
    assert "(2, 3)" in message(e)
    assert "in-place" in message(e) and "version" in message(e)


def test_mul_leaf_modified_under_no_grad_between_forward_and_backward():
    # An optimiser-style update of a weight after the forward that used it: caught.
    x, w = leaf(4), leaf(4, seed=1)
    y = x * w
    with torch.no_grad():
        w -= 0.1
    with pytest.raises(RuntimeError, match=r"MulBackward0.*shape \(4,\)"):
        y.sum().backward()


@pytest.mark.parametrize(
    "op,name",
    [
        ("exp", "ExpBackward0"),
        ("sigmoid", "SigmoidBackward0"),
        ("tanh", "TanhBackward0"),
        ("sqrt", "SqrtBackward0"),
    ],
)
def test_output_of_op_that_saves_its_output_modified(op, name):
    x = torch.tensor([[0.5, 1.0, 2.0]], requires_grad=True)
    y = getattr(x, op)()  # these ops save their output for backward
    y.mul_(2.0)
    with pytest.raises(RuntimeError, match=name) as e:
        y.sum().backward()
    assert "(1, 3)" in message(e)


def test_exp_input_modified_keeps_the_exact_gradient():
    # exp saves its output, not its input, so changing the input after the forward
    # does not invalidate backward (PyTorch agrees): the gradient is exp(x at forward).
    x = leaf(5)
    h = x * 1.0
    y = h.exp()
    expected = np.exp(h.detach().numpy().copy())
    h.add_(100.0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_exp_input_that_another_op_saved_is_caught():
    # Here exp's input is sigmoid's saved output: changing it must raise, naming sigmoid.
    x = leaf(3)
    s = x.sigmoid()
    y = s.exp()
    s.add_(1.0)
    with pytest.raises(RuntimeError, match=r"SigmoidBackward0.*shape \(3,\)"):
        y.sum().backward()


def test_exp_of_a_leaf_updated_under_no_grad_then_used_again():
    x = leaf(3)
    y = (x.exp() * x).sum()  # Mul saves x itself
    with torch.no_grad():
        x.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"MulBackward0.*\(3,\)"):
        y.backward()


@pytest.mark.parametrize("what", ["input", "weight", "input3d"])
def test_conv2d_saved_tensor_modified(what):
    x = leaf(1, 2, 6, 8)
    w = leaf(3, 2, 3, 3, seed=1)
    if what == "input3d":  # unbatched input: the saved (1, C, H, W) view shares the counter
        x = leaf(2, 6, 8)
    h = x * 1.0
    y = F.conv2d(h, w, padding=1)
    if what == "weight":
        with torch.no_grad():
            w.add_(1.0)
        shape = "(3, 2, 3, 3)"
    else:
        h.add_(1.0)
        shape = "(1, 2, 6, 8)"
    with pytest.raises(RuntimeError, match="ConvolutionBackward0") as e:
        y.sum().backward()
    assert shape in message(e)


def test_modification_caught_even_with_retain_graph():
    x = leaf(3)
    h = x * 1.0
    y = (h * h).sum()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy(), rtol=1e-6)  # d(h*h)/dx = 2h
    h.add_(1.0)
    with pytest.raises(RuntimeError, match="MulBackward0"):
        y.backward()


def test_message_reports_versions():
    x = leaf(3)
    h = x * 1.0
    y = h * x
    h.add_(1.0)
    h.add_(1.0)
    with pytest.raises(RuntimeError, match=r"at version 2; expected version 0"):
        y.sum().backward()


# -- views share the version counter ------------------------------------------------------------


@pytest.mark.parametrize(
    "make_view",
    [
        lambda t: t.view(-1),
        lambda t: t.reshape(6),
        lambda t: t[0],
        lambda t: t[:, 1:],
        lambda t: t.transpose(0, 1),
        lambda t: t.T,
        lambda t: t.unsqueeze(0),
        lambda t: t.permute(1, 0),
        lambda t: t.detach(),
    ],
    ids=[
        "view",
        "reshape",
        "int-index",
        "slice",
        "transpose",
        "T",
        "unsqueeze",
        "permute",
        "detach",
    ],
)
def test_views_share_the_version_counter(make_view):
    x = leaf(2, 3)
    y = x.exp()  # Exp saves y
    v = make_view(y)
    assert v._vc is y._vc
    with torch.no_grad():
        v.mul_(2.0)
    assert y._vc[0] == 1
    with pytest.raises(RuntimeError, match=r"ExpBackward0.*\(2, 3\)"):
        y.sum().backward()


def test_view_of_a_view_and_base_share_the_counter():
    x = leaf(2, 3)
    y = x.sigmoid()
    v = y.view(3, 2)[1:]
    with torch.no_grad():
        y.add_(1.0)  # modifying the base is seen through the view too
    assert v._vc[0] == 1
    z = x.sigmoid()
    w = z.view(6)[2:4]
    with torch.no_grad():
        w.zero_()  # and modifying a view of a view is seen by the base's saved output
    with pytest.raises(RuntimeError, match="SigmoidBackward0"):
        z.sum().backward()


def test_copies_do_not_share_the_counter():
    x = leaf(2, 3)
    y = x.exp()
    for copy in (y.clone(), y.T.reshape(6), y[[0, 1]], y[y > 0], y.float().double()):
        assert copy._vc is not y._vc
        with torch.no_grad():
            copy.add_(1.0)
    assert y._vc[0] == 0
    y.sum().backward()  # nothing that Exp saved changed
    np.testing.assert_allclose(x.grad.numpy(), np.exp(x.detach().numpy()), rtol=1e-6)


def test_data_does_not_share_the_counter():
    x = leaf(3)
    y = x.exp()
    y.data.mul_(2.0)  # through .data: invisible to autograd, as in PyTorch
    assert y._vc[0] == 0
    y.sum().backward()
    # Exp's backward reads the output it saved, which .data changed: 2 * exp(x), as PyTorch gives.
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(x.detach().numpy()), rtol=1e-6)


# -- updates that must stay allowed ------------------------------------------------------------


def test_weight_update_through_data_between_steps():
    torch.manual_seed(0)
    w = torch.randn(3, requires_grad=True)
    x = torch.tensor([1.0, 2.0, 3.0])
    losses = []
    for _ in range(5):
        loss = ((w * x).sum() - 1.0) ** 2
        loss.backward()
        residual = (w * x).sum().item() - 1.0  # w not updated yet
        np.testing.assert_allclose(w.grad.numpy(), 2 * residual * x.numpy(), rtol=1e-5)
        w.data -= 0.01 * w.grad.data  # the textbook update
        w.grad.data.zero_()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_weight_update_through_data_between_forward_and_backward_is_allowed():
    # PyTorch allows this (and computes with the new values); tinyconv too: no error.
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    w.data.add_(1.0)
    y.backward()
    assert w.grad.tolist() == [4.0, 6.0]  # 2 * w with the new values [2, 3], as PyTorch gives


def test_weight_update_under_no_grad_between_steps():
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    expected = np.array([1.0, -2.0], dtype=np.float32)
    for _ in range(3):
        loss = (w.exp() * w).sum()
        loss.backward()
        grad = np.exp(expected) * (1 + expected)  # d(w e^w)/dw = e^w (1 + w)
        np.testing.assert_allclose(w.grad.numpy(), grad, rtol=1e-6)
        expected = (expected - np.float32(0.1) * grad).astype(np.float32)
        with torch.no_grad():
            w -= 0.1 * w.grad
            w.grad.zero_()
    assert w._vc[0] == 3
    np.testing.assert_allclose(w.detach().numpy(), expected, rtol=1e-6)
    assert w.grad.tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda p: optim.SGD(p, lr=0.1),
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        lambda p: optim.Adam(p, lr=0.01),
        lambda p: optim.AdamW(p, lr=0.01),
    ],
    ids=["sgd", "sgd-nesterov", "adam", "adamw"],
)
def test_optimizer_steps_between_steps_do_not_raise(make_opt):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.Sigmoid(), nn.Flatten(), nn.Linear(32, 2)
    )
    opt = make_opt(model.parameters())
    x = torch.randn(2, 1, 4, 4)
    target = torch.tensor([0, 1])
    v0 = model[0].weight._vc[0]
    versions = []
    for _ in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), target)
        loss.backward()
        opt.step()
        versions.append(model[0].weight._vc[0] - v0)
    assert versions == [1, 2, 3]  # each step bumps the version, as PyTorch's optimisers do


def test_optimizer_step_between_forward_and_backward_raises():
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    # x requires grad, so the product saves the weight for dL/dx (with a constant x it saves
    # only x, and PyTorch's backward then runs without error)
    x = torch.randn(4, 3, requires_grad=True)
    model(x).sum().backward()
    loss = (model(x) ** 2).sum()
    opt.step()  # changes the weight that the pending backward saved
    with pytest.raises(RuntimeError, match=r"AddmmBackward0.*\(2, 3\)"):
        loss.backward()


def test_load_state_dict_between_forward_and_backward_raises():
    model = nn.Linear(3, 2)
    # (the input requires grad, so the product saved the weight, as PyTorch's does)
    loss = model(torch.ones(1, 3, requires_grad=True)).sum() * model.weight.sum()
    model.load_state_dict({k: v * 0 for k, v in model.state_dict().items()})
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        loss.backward()


def test_write_through_reshape_view_of_graph_tensor_gives_pytorchs_gradient():
    """h.view(...) *= 2 is traced back to h (CopySlices), as in PyTorch: x.grad = 2, not 1."""
    import tinyconv as torch

    x = torch.ones(3, requires_grad=True)
    h = x * 1
    v = h.view(3)
    v *= 2
    assert h.tolist() == [2.0, 2.0, 2.0]
    assert h.grad_fn.name() == "CopySlices"
    (h * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    y = torch.zeros(4)
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    y.view(2, 2)[0] = w
    assert y.requires_grad and y.tolist() == [1.0, 2.0, 0.0, 0.0]
    (y * torch.tensor([5.0, 6.0, 7.0, 8.0])).sum().backward()
    assert w.grad.tolist() == [5.0, 6.0]


def test_write_through_reshape_view_without_autograd_still_works():
    import tinyconv as torch

    z = torch.zeros(4)
    z.view(2, 2)[0] = 5.0
    assert z.tolist() == [5.0, 5.0, 0.0, 0.0]
    h = torch.ones(3, requires_grad=True) * 1
    with torch.no_grad():
        h.view(3).mul_(2)
    assert h.tolist() == [2.0, 2.0, 2.0]
