"""Bad input raises TypeError, ValueError or RuntimeError (never a bare NumPy error) with a
message naming the argument at fault, what was expected and what came in.

Two parts, by subject:
- the tensor core: broadcasting, matmul, views, backward, creation, dtypes, indexing, dims,
  user Functions (each a test of its own, shapes and types checked in the message);
- the table for convolution, pooling, padding, nn, optim, losses and checkpoints: every row
  is one bad call, checked with a regex that names the argument. Each row is tagged with
  where the requirement comes from: the "Bad input" lists of issue 2 (core, met here through
  the nn/functional/optim API), issue 3 (convolution and pooling) and issue 4 (training), or
  "more" for the ones found beyond those lists.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pytest

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv import nn, optim
from tinyconv.serialization import CheckpointError

# ===========================================================================================
# the tensor core
# ===========================================================================================


def shapes_named(*shapes: tuple) -> str:
    """A regex matching the shapes in order, each printed as a tuple, anything between."""
    return ".*".join(re.escape(str(tuple(s))) for s in shapes)


# ---------------------------------------------------------------------------
# the list in issue 2
# ---------------------------------------------------------------------------

BROADCASTING = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
    "maximum": torch.maximum,
    "minimum": torch.minimum,
    "==": operator.eq,
    "<": operator.lt,
    ">=": operator.ge,
}


@pytest.mark.parametrize("name", list(BROADCASTING))
def test_shapes_that_do_not_broadcast(name):
    op = BROADCASTING[name]
    a, b = torch.ones(2, 3), torch.ones(4)
    with pytest.raises(ValueError, match=r"broadcast") as info:
        op(a, b)
    assert "(2, 3)" in str(info.value) and "(4,)" in str(info.value)
    with pytest.raises(ValueError, match=r"broadcast"):
        op(b, a)


def test_shapes_that_do_not_broadcast_with_grad_and_numpy():
    a = torch.ones(2, 3, requires_grad=True)
    with pytest.raises(ValueError, match=shapes_named((2, 3), (3, 2)) + ".*broadcast"):
        a * np.ones((3, 2))
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\).*broadcast"):
        np.ones((3, 2)) - a  # reflected: the operands in the order written
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(5,\).*broadcast"):
        a.add(torch.ones(5))


def test_inplace_shapes_that_do_not_fit():
    x = torch.ones(3)
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\).*broadcast"):
        x += torch.ones(2)
    with pytest.raises(RuntimeError, match=r"\+=.*\(2, 3\).*\(3,\)"):
        x += torch.ones(2, 3)  # broadcasts, but the result doesn't fit back into x
    with pytest.raises(RuntimeError, match=r"float32.*int64"):
        y = torch.ones(3, dtype=torch.int64)
        y += 1.5
    assert x.tolist() == [1.0, 1.0, 1.0]


def test_where_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"where.*\(2, 3\).*\(2, 3\).*\(4,\).*broadcast"):
        torch.where(torch.ones(2, 3) > 0, torch.ones(2, 3), torch.ones(4))


@pytest.mark.parametrize(
    ("sa", "sb", "inner"),
    [
        ((2, 3), (2, 3), "3 vs 2"),
        ((3,), (4,), "3 vs 4"),
        ((5, 2, 3), (4, 1), "3 vs 4"),
        ((2,), (3, 2), "2 vs 3"),
    ],
)
def test_matmul_inner_sizes_differ(sa, sb, inner):
    with pytest.raises(ValueError, match=shapes_named(sa, sb) + ".*inner.*" + inner):
        torch.ones(sa) @ torch.ones(sb)
    with pytest.raises(ValueError, match="inner"):
        torch.matmul(torch.ones(sa), torch.ones(sb))


def test_matmul_batch_dimensions_that_do_not_broadcast():
    with pytest.raises(
        ValueError, match=shapes_named((2, 2, 3), (3, 3, 4)) + r".*batch.*\(2,\).*\(3,\)"
    ):
        torch.ones(2, 2, 3) @ torch.ones(3, 3, 4)


def test_matmul_zero_dim_and_mm_rank():
    with pytest.raises(ValueError, match=r"at least 1 dimension.*\(\).*\(2, 3\)"):
        torch.tensor(1.0) @ torch.ones(2, 3)
    with pytest.raises(ValueError, match=r"mm.*2-D.*\(2, 3\).*\(3,\)"):
        torch.ones(2, 3).mm(torch.ones(3))


@pytest.mark.parametrize("method", ["view", "reshape"])
@pytest.mark.parametrize(
    ("new", "holds"), [((4, 2), "8"), ((7,), "7"), ((-1, 4), None), ((6, -1, 2), None)]
)
def test_view_to_a_different_element_count(method, new, holds):
    x = torch.ones(2, 3)
    with pytest.raises(ValueError, match=re.escape(str(new)) + r".*\(2, 3\).*6 elements") as info:
        getattr(x, method)(*new)
    if holds:
        assert f"holds {holds}" in str(info.value)


def test_view_needing_a_copy():
    with pytest.raises(RuntimeError, match=r"view.*\(6,\).*\(3, 2\).*contiguous.*reshape"):
        torch.ones(2, 3).T.view(6)
    assert torch.ones(2, 3).T.reshape(6).shape == (6,)  # reshape copies instead


def test_view_with_two_minus_ones():
    with pytest.raises(ValueError, match=r"only one dimension can be -1.*\(-1, -1\)"):
        torch.ones(2, 3).view(-1, -1)


def test_backward_on_non_scalar_without_gradient():
    y = torch.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"backward.*scalar.*\(2, 3\).*gradient"):
        y.backward()


def test_gradient_of_a_different_shape():
    y = torch.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"gradient has shape \(6,\).*tensor has shape \(2, 3\)"):
        y.backward(torch.ones(6))


@pytest.mark.parametrize(
    ("make", "dtype"),
    [
        (lambda: torch.tensor([1, 2], requires_grad=True), "int64"),
        (lambda: torch.tensor([1, 2], dtype=torch.int32).requires_grad_(), "int32"),
        (lambda: torch.zeros(2, dtype=torch.bool, requires_grad=True), "bool"),
        (lambda: torch.arange(3, requires_grad=True), "int64"),
        (lambda: torch.ones(2, dtype=torch.int64, requires_grad=True), "int64"),
    ],
)
def test_requires_grad_on_integer_tensor(make, dtype):
    with pytest.raises(RuntimeError, match=rf"floating point.*tinyconv\.{dtype}"):
        make()


@pytest.mark.parametrize(("shape", "n"), [((2,), 2), ((2, 2), 4), ((0,), 0)])
def test_item_on_more_than_one_element(shape, n):
    with pytest.raises(
        ValueError, match=rf"item.*one element.*{re.escape(str(shape))}.*{n} elements"
    ):
        torch.ones(shape).item()


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ([[1, 2], [3]], r"data\[1\] is of length 1 but data\[0\] is of length 2"),
        (
            [[[1.0], [2.0]], [[3.0]]],
            r"data\[1\] is of shape \(1, 1\) but data\[0\] is of shape \(2, 1\)",
        ),
        ([1, [2]], r"data\[1\] is of length 1 but data\[0\] is a number"),
        (
            [[[1, 2], [3, 4]], [[1, 2], [3]]],
            r"data\[1\]\[1\] is of length 1 but data\[1\]\[0\] is of length 2",
        ),
    ],
)
def test_ragged_nested_list(data, where):
    with pytest.raises(ValueError, match=r"tensor\(\).*rectangular.*ragged.*" + where):
        torch.tensor(data)


# ---------------------------------------------------------------------------
# more of the same kind
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [(["a", "b"], "<U1"), (None, "NoneType"), ({1: 2}, "dict"), ([object()], "object")],
)
def test_tensor_from_unsupported_data(data, kind):
    with pytest.raises(TypeError, match=rf"tensor\(\).*{re.escape(kind)}"):
        torch.tensor(data)


@pytest.mark.parametrize("other", ["a", None, object()])
def test_unsupported_operand_types(other):
    with pytest.raises(TypeError, match=rf"unsupported operand.*{type(other).__name__}"):
        torch.ones(2) + other
    with pytest.raises(TypeError, match="unsupported operand"):
        torch.ones(2) * other


@pytest.mark.parametrize(
    ("call", "what", "dim", "ndim"),
    [
        (lambda x: x.sum(dim=2), "sum", 2, 2),
        (lambda x: x.mean(-3), "mean", -3, 2),
        (lambda x: x.size(5), "size", 5, 2),
        (lambda x: x.transpose(0, 3), "transpose", 3, 2),
        (lambda x: x.unsqueeze(4), "unsqueeze", 4, 3),
        (lambda x: x.max(dim=2), "max", 2, 2),
        (lambda x: x.argmax(7), "argmax", 7, 2),
        (lambda x: torch.cat([x, x], dim=2), "cat", 2, 2),
        (lambda x: x.flip(2), "flip", 2, 2),
        (lambda x: x.squeeze(-3), "squeeze", -3, 2),
    ],
)
def test_dim_out_of_range(call, what, dim, ndim):
    with pytest.raises(IndexError, match=rf"dim {dim} is out of range.*{ndim} dimension") as info:
        call(torch.ones(2, 3))
    assert isinstance(info.value, ValueError)  # also a ValueError, for the project's convention
    assert str(info.value).startswith(what)


def test_repeated_dims():
    with pytest.raises(ValueError, match=r"sum.*\(0, -2\).*twice"):
        torch.ones(2, 3).sum((0, -2))
    with pytest.raises(ValueError, match=r"permute.*\(0, 0\).*permutation.*\(2, 3\)"):
        torch.ones(2, 3).permute(0, 0)


def test_cat_and_stack_shapes():
    with pytest.raises(ValueError, match=r"cat.*dimension 0.*\(2, 3\).*tensor 1.*\(2, 4\)"):
        torch.cat([torch.ones(2, 3), torch.ones(2, 4)])
    with pytest.raises(ValueError, match=r"cat.*\(2, 3\).*\(3,\)"):
        torch.cat([torch.ones(2, 3), torch.ones(3)])
    with pytest.raises(ValueError, match=r"stack.*same shape.*\(2,\).*tensor 2.*\(3,\)"):
        torch.stack([torch.ones(2), torch.ones(2), torch.ones(3)])
    with pytest.raises(TypeError, match="cat.*list or tuple.*Tensor"):
        torch.cat(torch.ones(2))
    with pytest.raises(ValueError, match="cat.*non-empty"):
        torch.cat([])


def test_expand_and_repeat():
    with pytest.raises(ValueError, match=r"expand.*size 3.*existing size 2.*dimension 0.*\(2, 3\)"):
        torch.ones(2, 3).expand(3, 3)
    with pytest.raises(ValueError, match=r"expand.*\(3,\).*\(2, 3\)"):
        torch.ones(2, 3).expand(3)
    with pytest.raises(ValueError, match=r"repeat.*2 repeat counts.*\(2,\)"):
        torch.ones(2, 3).repeat(2)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: torch.zeros(2, dtype="foo"), "dtype.*'foo'"),
        (lambda: torch.zeros(2, dtype=np.complex64), "complex64 is not supported"),
        (lambda: torch.ones(2).to(np.complex128), "complex128 is not supported"),
        (lambda: torch.ones(2).to(dtype=object), "not supported"),
    ],
)
def test_bad_dtype(make, message):
    with pytest.raises(TypeError, match=message):
        make()


@pytest.mark.parametrize(
    ("make", "exc", "message"),
    [
        (lambda: torch.zeros(2.5), TypeError, r"zeros\(\).*integers.*2\.5"),
        (lambda: torch.ones(2, "3"), TypeError, r"ones\(\).*integers"),
        (lambda: torch.zeros(-1), ValueError, r"zeros\(\).*non-negative.*\(-1,\)"),
        (lambda: torch.randn(2, -3), ValueError, r"randn\(\).*non-negative.*\(2, -3\)"),
        (lambda: torch.full(3.5, 1.0), TypeError, r"full\(\).*integers"),
        (lambda: torch.arange(0, 1, 0), ValueError, r"arange\(\).*step.*nonzero"),
        (lambda: torch.normal(0.0, -1.0, (2,)), ValueError, r"normal\(\).*std.*-1\.0"),
        (lambda: torch.from_numpy([1.0]), TypeError, r"from_numpy\(\).*ndarray.*list"),
    ],
)
def test_bad_creation_arguments(make, exc, message):
    with pytest.raises(exc, match=message):
        make()


@pytest.mark.parametrize(
    ("index", "exc", "message"),
    [
        (5, IndexError, r"index 5.*\(2, 3\).*out of bounds"),
        ((0, 0, 0), IndexError, r"\(2, 3\).*too many indices"),
        (0.5, TypeError, r"invalid index of type float"),
        (torch.tensor([0.5]), TypeError, "long, int or bool"),
        (np.array([0.5]), TypeError, "integer or bool"),
        ("a", TypeError, "invalid index of type str"),
        (slice(None, None, -1), ValueError, r"negative slice steps.*flip"),
        (torch.tensor([0, 7]), IndexError, r"\(2, 3\).*out of bounds"),
    ],
)
def test_bad_indices(index, exc, message):
    x = torch.ones(2, 3, requires_grad=True)
    with pytest.raises(exc, match=message):
        x[index]
    with pytest.raises(exc, match=message):
        x.detach()[index] = 1.0


def test_setitem_value_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"__setitem__.*\(2,\).*\(2, 3\)"):
        torch.ones(2, 3)[0] = torch.ones(2)


@pytest.mark.parametrize(
    ("convert", "exc", "message"),
    [
        (bool, RuntimeError, r"bool\(\).*2 elements.*\(2,\).*ambiguous"),
        (float, ValueError, r"float\(\).*one-element.*\(2,\)"),
        (int, ValueError, r"int\(\).*one-element.*\(2,\)"),
    ],
)
def test_python_number_of_many_elements(convert, exc, message):
    with pytest.raises(exc, match=message):
        convert(torch.ones(2))


def test_len_and_iter_of_zero_dim():
    with pytest.raises(TypeError, match="len.*0-d"):
        len(torch.tensor(1.0))
    with pytest.raises(TypeError, match="iteration over a 0-d"):
        list(torch.tensor(1.0))


def test_numpy_of_tensor_requiring_grad():
    with pytest.raises(RuntimeError, match=r"numpy\(\).*requires grad.*detach\(\)"):
        torch.ones(2, requires_grad=True).numpy()


def test_devices_other_than_cpu():
    with pytest.raises(RuntimeError, match="CPU only.*'cuda'"):
        torch.ones(2).to("cuda")
    with pytest.raises(RuntimeError, match="CPU only.*'cuda:0'"):
        torch.tensor([1.0], device="cuda:0")


def test_integer_input_to_float_reductions():
    with pytest.raises(RuntimeError, match=r"mean\(\).*floating point.*int64"):
        torch.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError, match=r"var\(\).*floating point.*int64"):
        torch.tensor([1, 2]).var()


def test_other_argument_errors():
    with pytest.raises(TypeError, match=r"where\(\).*condition.*bool.*float32"):
        torch.where(torch.ones(2), torch.ones(2), torch.zeros(2))
    with pytest.raises(ValueError, match=r"clamp\(\).*min and max"):
        torch.ones(2).clamp()
    with pytest.raises(ValueError, match=r"flatten\(\).*start_dim \(2\).*end_dim \(1\)"):
        torch.ones(2, 3, 4).flatten(2, 1)
    with pytest.raises(RuntimeError, match=r"max\(\).*empty"):
        torch.zeros(0).max()
    with pytest.raises(TypeError, match=r"negation.*bool"):
        -torch.tensor([True])
    with pytest.raises(RuntimeError, match=r"copy_\(\).*\(2,\).*\(3,\)"):
        torch.ones(3).copy_(torch.ones(2))
    with pytest.raises(ValueError, match=r"t\(\).*<= 2 dimensions.*\(2, 2, 2\)"):
        torch.ones(2, 2, 2).t()


def test_errors_are_not_bare_numpy_errors():
    # every message names the operation that failed, so the user knows where to look
    cases = [
        lambda: torch.ones(2, 3) + torch.ones(4),
        lambda: torch.ones(2, 3) @ torch.ones(2, 3),
        lambda: torch.ones(2, 3).view(4),
        lambda: torch.ones(2).item(),
        lambda: torch.tensor([[1], [2, 3]]),
        lambda: torch.ones(2, 3)[9],
        lambda: torch.zeros(-2),
    ]
    for make in cases:
        with pytest.raises((TypeError, ValueError, RuntimeError)) as info:
            make()
        assert info.value.__cause__ is None or not isinstance(
            info.value.__cause__, np.exceptions.AxisError
        )
        assert re.match(
            r"^(add|matmul|view\(\)|item\(\)|tensor\(\)|index|zeros\(\))", str(info.value)
        ), str(info.value)


def _product_with_backward(bw):
    class Product(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, grad):
            return bw(grad)

    return Product


def test_user_function_backward_returning_too_few_gradients():
    x, y = torch.ones(2, 3, requires_grad=True), torch.ones(3, requires_grad=True)
    out = _product_with_backward(lambda g: g).apply(x, y).sum()
    with pytest.raises(RuntimeError, match=r"Product\.backward returned 1 gradient.*2 input"):
        out.backward()


def test_user_function_backward_returning_a_wrong_shape():
    x, y = torch.ones(2, 3, requires_grad=True), torch.ones(3, requires_grad=True)
    out = _product_with_backward(lambda g: (g, g[:, :2])).apply(x, y).sum()
    with pytest.raises(
        RuntimeError, match=r"Product\.backward.*shape \(2, 2\) for input 1.*shape \(3,\)"
    ):
        out.backward()


def test_user_function_forward_returning_a_non_tensor():
    class Bad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            # (forward sees x itself, which requires grad: numpy() needs detach(), as in PyTorch)
            return x.detach().numpy() * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    with pytest.raises(TypeError, match="Bad.forward must return a Tensor or a tuple, got ndarray"):
        Bad.apply(torch.ones(2, requires_grad=True))


# ===========================================================================================
# the table: convolution, pooling, padding, nn, optim, losses, checkpoints
# ===========================================================================================


class Case(NamedTuple):
    tag: str  # which requirement: "issue2: ...", "issue3: ...", "issue4: ...", "more: ..."
    call: Callable[[], Any]
    exc: type
    match: str  # a regex that names the argument (and usually the values/shapes)


def x4(c=3, h=5, w=5, n=1, **kw):
    return torch.randn(n, c, h, w, **kw)


def w4(o=2, c=3, kh=3, kw=3, **kw_):
    return torch.randn(o, c, kh, kw, **kw_)


def params():
    return nn.Linear(2, 2).parameters()


class NoSuperParam(nn.Module):
    def __init__(self):
        self.weight = nn.Parameter(torch.ones(2))


class NoSuperModule(nn.Module):
    def __init__(self):
        self.conv = nn.Conv2d(1, 1, 3)


class NoSuperBuffer(nn.Module):
    def __init__(self):
        self.register_buffer("running_mean", torch.zeros(2))


class NoSuperAtAll(nn.Module):
    def __init__(self, n):
        self.n = n  # plain attributes work; the module machinery doesn't


def bad_state_dict():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    sd = model.state_dict()
    del sd["0.bias"]
    sd["2.weight"] = torch.ones(1)
    sd["1.weight"] = torch.ones(2, 2)
    model.load_state_dict(sd)


def mismatch_non_strict():
    model = nn.Linear(2, 3)
    model.load_state_dict({"weight": torch.ones(3, 3)}, strict=True)


def two_groups_sharing(model):
    optim.SGD([{"params": model.parameters()}, {"params": [model.weight]}], lr=0.1)


def opt_load(sd, momentum=0.0):
    opt = optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1, momentum=momentum)
    opt.load_state_dict(sd)


def reduction_none_backward():
    x = torch.randn(2, 3, requires_grad=True)
    F.cross_entropy(x, torch.tensor([0, 1]), reduction="none").backward()


def wrong_gradient_shape():
    x = torch.randn(2, 3, requires_grad=True)
    F.cross_entropy(x, torch.tensor([0, 1]), reduction="none").backward(torch.ones(3))


def save_to(obj, name="x.ckpt"):
    def call():
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            torch.save(obj, f"{d}/{name}")

    return call


def load_bytes(data: bytes):
    def call():
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            with open(f"{d}/bad.ckpt", "wb") as f:
                f.write(data)
            torch.load(f"{d}/bad.ckpt")

    return call


def npy_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, np.arange(3))
    return buf.getvalue()


ints = torch.int64

CASES: list[Case] = [
    # ---- issue 2 (core), met through the nn / functional / optim API
    # ---------------------------------
    Case(
        "issue2: shapes that don't broadcast",
        lambda: F.mse_loss(torch.randn(2, 3), torch.randn(4)),
        ValueError,
        r"mse_loss: input shape \(2, 3\) and target shape \(4,\) don't broadcast",
    ),
    Case(
        "issue2: shapes that don't broadcast",
        lambda: nn.L1Loss()(torch.randn(2, 3), torch.randn(3, 2)),
        ValueError,
        r"l1_loss: input shape \(2, 3\) and target shape \(3, 2\)",
    ),
    Case(
        "issue2: matmul inner sizes differ",
        lambda: nn.Linear(4, 3)(torch.randn(2, 5)),
        ValueError,
        r"linear: input's last dimension must be in_features=4, got input shape \(2, 5\)",
    ),
    Case(
        "issue2: matmul inner sizes differ",
        lambda: F.linear(torch.randn(2, 3), torch.randn(4, 2)),
        ValueError,
        r"in_features=2.*\(2, 3\).*weight shape \(4, 2\)",
    ),
    Case(
        "issue2: view to a different element count",
        lambda: F.conv2d(x4(), w4()).view(-1, 7),
        ValueError,
        r"view\(\): shape \(-1, 7\).*\(1, 2, 3, 3\)",
    ),
    Case(
        "issue2: backward on a non-scalar without gradient",
        reduction_none_backward,
        RuntimeError,
        r"backward\(\).*scalar.*shape \(2,\).*gradient",
    ),
    Case(
        "issue2: gradient of the wrong shape",
        wrong_gradient_shape,
        RuntimeError,
        r"gradient has shape \(3,\).*shape \(2,\)",
    ),
    Case(
        "issue2: requires_grad on an integer tensor",
        lambda: nn.Parameter(torch.tensor([1, 2])),
        RuntimeError,
        r"requires_grad.*floating point.*tinyconv\.int64",
    ),
    Case(
        "issue2: item() of more than one element",
        lambda: F.mse_loss(torch.randn(3), torch.zeros(3), reduction="none").item(),
        ValueError,
        r"item\(\).*one element.*\(3,\)",
    ),
    Case(
        "issue2: ragged nested list",
        lambda: F.cross_entropy(torch.randn(2, 3), [[0, 1], [2]]),
        ValueError,
        r"cross_entropy: target.*rectangular.*ragged",
    ),
    Case(
        "issue2: ragged nested list",
        lambda: F.mse_loss(torch.randn(2), [1.0, [2.0]]),
        ValueError,
        r"mse_loss: target.*ragged",
    ),
    # ---- issue 3: convolution and pooling
    # -----------------------------------------------------------
    Case(
        "issue3: channel mismatch",
        lambda: F.conv2d(x4(c=4), w4()),
        ValueError,
        r"conv2d: input has 4 channels but weight expects 3 \(weight shape \(2, 3, 3, 3\), "
        r"groups=1\)",
    ),
    Case(
        "issue3: channel mismatch",
        lambda: F.conv2d(x4(c=4), w4(o=4, c=1), groups=2),
        ValueError,
        r"input has 4 channels but weight expects 2 .*groups=2",
    ),
    Case(
        "issue3: channel mismatch",
        lambda: nn.Conv2d(3, 8, 3)(x4(c=1)),
        ValueError,
        r"input has 1 channels but weight expects 3",
    ),
    Case(
        "issue3: channel mismatch",
        lambda: nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect")(x4(c=2)),
        ValueError,
        r"input has 2 channels but weight expects 3",
    ),
    Case(
        "issue3: channel mismatch",
        lambda: F.conv_transpose2d(x4(c=2), w4(o=3, c=2)),
        ValueError,
        r"conv_transpose2d: input has 2 channels but weight expects 3",
    ),
    Case(
        "issue3: channels not divisible by groups",
        lambda: F.conv2d(x4(c=4), w4(o=3, c=2), groups=2),
        ValueError,
        r"out_channels \(3.*divisible by groups=2",
    ),
    Case(
        "issue3: channels not divisible by groups",
        lambda: nn.Conv2d(3, 6, 3, groups=2),
        ValueError,
        r"Conv2d: in_channels \(3\) must be divisible by groups \(2\)",
    ),
    Case(
        "issue3: channels not divisible by groups",
        lambda: nn.Conv2d(4, 6, 3, groups=4),
        ValueError,
        r"out_channels \(6\) must be divisible by groups \(4\)",
    ),
    Case(
        "issue3: channels not divisible by groups",
        lambda: F.conv_transpose2d(x4(), w4(o=3, c=2), groups=2),
        ValueError,
        r"conv_transpose2d: in_channels \(3\) must be divisible by groups=2",
    ),
    Case(
        "issue3: channels not divisible by groups",
        lambda: nn.ConvTranspose2d(3, 2, 3, groups=2),
        ValueError,
        r"ConvTranspose2d: in_channels \(3\) must be divisible by groups",
    ),
    Case(
        "issue3: kernel larger than the padded input",
        lambda: F.conv2d(x4(h=2, w=2), w4()),
        ValueError,
        r"kernel height 3.*larger than the padded input height 2",
    ),
    Case(
        "issue3: kernel larger than the padded input",
        lambda: F.conv2d(x4(h=9, w=4), w4(), dilation=2),
        ValueError,
        r"kernel width 3 \(dilated to 5\).*padded input width 4",
    ),
    Case(
        "issue3: kernel larger than the padded input",
        lambda: F.conv2d(x4(h=1, w=1), w4(), padding=(0, 1)),
        ValueError,
        r"kernel height 3.*padded input height 1.*padding=\(0, 1\)",
    ),
    Case(
        "issue3: kernel larger than the padded input",
        lambda: nn.Conv2d(3, 2, 7)(x4()),
        ValueError,
        r"kernel height 7.*larger than the padded input height 5",
    ),
    Case(
        "issue3: stride or dilation <= 0",
        lambda: F.conv2d(x4(), w4(), stride=0),
        ValueError,
        r"conv2d: stride must be positive, got 0",
    ),
    Case(
        "issue3: stride or dilation <= 0",
        lambda: F.conv2d(x4(), w4(), stride=(1, -1)),
        ValueError,
        r"stride must be positive, got \(1, -1\)",
    ),
    Case(
        "issue3: stride or dilation <= 0",
        lambda: F.conv2d(x4(), w4(), dilation=0),
        ValueError,
        r"dilation must be positive, got 0",
    ),
    Case(
        "issue3: stride or dilation <= 0",
        lambda: F.conv2d(x4(), w4(), dilation=(-2, 1)),
        ValueError,
        r"dilation must be positive",
    ),
    Case(
        "issue3: stride or dilation <= 0",
        lambda: F.conv_transpose2d(x4(), w4(o=3, c=2), stride=0),
        ValueError,
        r"conv_transpose2d: stride must be positive",
    ),
    Case(
        "issue3: stride or dilation <= 0",
        lambda: F.max_pool2d(x4(), 2, stride=0),
        ValueError,
        r"max_pool2d: stride must be positive",
    ),
    Case(
        "issue3: stride or dilation <= 0",
        lambda: F.avg_pool2d(x4(), 2, stride=-1),
        ValueError,
        r"avg_pool2d: stride must be positive",
    ),
    Case(
        "issue3: stride or dilation <= 0",
        lambda: F.max_pool2d(x4(), 2, dilation=0),
        ValueError,
        r"max_pool2d: dilation must be positive",
    ),
    Case(
        "issue3: stride or dilation <= 0",
        lambda: nn.Conv2d(3, 2, 3, stride=0),
        ValueError,
        r"Conv2d: stride must be positive",
    ),
    Case(
        "issue3: stride or dilation <= 0",
        lambda: nn.Conv2d(3, 2, 3, dilation=-1),
        ValueError,
        r"Conv2d: dilation must be positive",
    ),
    Case(
        "issue3: negative padding",
        lambda: F.conv2d(x4(), w4(), padding=-1),
        ValueError,
        r"conv2d: padding must be non-negative, got -1",
    ),
    Case(
        "issue3: negative padding",
        lambda: F.conv2d(x4(), w4(), padding=(0, -2)),
        ValueError,
        r"padding must be non-negative, got \(0, -2\)",
    ),
    Case(
        "issue3: negative padding",
        lambda: F.conv_transpose2d(x4(), w4(o=3, c=2), padding=-1),
        ValueError,
        r"conv_transpose2d: padding must be non-negative",
    ),
    Case(
        "issue3: negative padding",
        lambda: F.max_pool2d(x4(), 2, padding=-1),
        ValueError,
        r"max_pool2d: padding must be non-negative",
    ),
    Case(
        "issue3: negative padding",
        lambda: F.avg_pool2d(x4(), 2, padding=(-1, 0)),
        ValueError,
        r"avg_pool2d: padding must be non-negative",
    ),
    Case(
        "issue3: negative padding",
        lambda: nn.Conv2d(3, 2, 3, padding=-1),
        ValueError,
        r"Conv2d: padding must be non-negative",
    ),
    Case(
        "issue3: unknown padding string",
        lambda: F.conv2d(x4(), w4(), padding="full"),
        ValueError,
        r"padding must be an int, a pair, 'valid' or 'same', got 'full'",
    ),
    Case(
        "issue3: unknown padding string",
        lambda: nn.Conv2d(3, 2, 3, padding="SAME"),
        ValueError,
        r"Conv2d: padding must be .*'same', got 'SAME'",
    ),
    Case(
        "issue3: 'same' with stride > 1",
        lambda: F.conv2d(x4(), w4(), padding="same", stride=2),
        ValueError,
        r"padding='same' needs stride 1, got stride=\(2, 2\)",
    ),
    Case(
        "issue3: 'same' with stride > 1",
        lambda: F.conv2d(x4(), w4(), padding="same", stride=(1, 3)),
        ValueError,
        r"padding='same' needs stride 1",
    ),
    Case(
        "issue3: 'same' with stride > 1",
        lambda: nn.Conv2d(3, 2, 3, padding="same", stride=2),
        ValueError,
        r"Conv2d: padding='same' needs stride 1",
    ),
    Case(
        "issue3: input of the wrong rank",
        lambda: F.conv2d(torch.randn(5, 5), w4()),
        ValueError,
        r"conv2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got shape \(5, 5\)",
    ),
    Case(
        "issue3: input of the wrong rank",
        lambda: F.conv2d(torch.randn(1, 1, 3, 5, 5), w4()),
        ValueError,
        r"conv2d: expected a 3-D .* input, got shape \(1, 1, 3, 5, 5\)",
    ),
    Case(
        "issue3: input of the wrong rank",
        lambda: F.conv_transpose2d(torch.randn(3), w4()),
        ValueError,
        r"conv_transpose2d: expected a 3-D .* input, got shape \(3,\)",
    ),
    Case(
        "issue3: input of the wrong rank",
        lambda: F.max_pool2d(torch.randn(5, 5), 2),
        ValueError,
        r"max_pool2d: expected a 3-D .* input, got shape \(5, 5\)",
    ),
    Case(
        "issue3: input of the wrong rank",
        lambda: F.avg_pool2d(torch.randn(1, 1, 1, 4, 4), 2),
        ValueError,
        r"avg_pool2d: expected a 3-D .* input",
    ),
    Case(
        "issue3: input of the wrong rank",
        lambda: F.adaptive_avg_pool2d(torch.randn(4), 2),
        ValueError,
        r"adaptive_avg_pool2d: expected a 3-D .* input, got shape \(4,\)",
    ),
    Case(
        "issue3: input of the wrong rank",
        lambda: nn.MaxPool2d(2)(torch.randn(8)),
        ValueError,
        r"max_pool2d: expected a 3-D",
    ),
    Case(
        "issue3: weight of the wrong rank",
        lambda: F.conv2d(x4(), torch.randn(3, 3, 3)),
        ValueError,
        r"conv2d: weight must be 4-D \(out_channels, in_channels/groups, kH, kW\), got shape \(3, "
        r"3, 3\)",
    ),
    Case(
        "issue3: weight of the wrong rank",
        lambda: F.conv_transpose2d(x4(), torch.randn(3, 2, 1, 3, 3)),
        ValueError,
        r"conv_transpose2d: weight must be 4-D",
    ),
    Case(
        "issue3: weight of the wrong rank",  # (a 1-D weight is PyTorch's mv: allowed)
        lambda: F.linear(torch.randn(2, 3), torch.randn(2, 3, 3)),
        ValueError,
        r"linear: weight must be 2-D",
    ),
    Case(
        "issue3: bias length not out_channels",
        lambda: F.conv2d(x4(), w4(), torch.randn(3)),
        ValueError,
        r"conv2d: bias must have shape \(2,\) \(one per output channel\), got \(3,\)",
    ),
    Case(
        "issue3: bias length not out_channels",
        lambda: F.conv2d(x4(), w4(), torch.randn(2, 1)),
        ValueError,
        r"bias must have shape \(2,\).*got \(2, 1\)",
    ),
    Case(
        "issue3: bias length not out_channels",
        lambda: F.conv_transpose2d(x4(), w4(o=3, c=2), torch.randn(3)),
        ValueError,
        r"conv_transpose2d: bias must have shape \(2,\)",
    ),
    Case(
        "issue3: bias length not out_channels",
        lambda: F.linear(torch.randn(2, 3), torch.randn(4, 3), torch.randn(3)),
        ValueError,
        r"linear: bias must have shape \(4,\)",
    ),
    Case(
        "issue3: pooling padding above half the kernel",
        lambda: F.max_pool2d(x4(), 2, padding=2),
        ValueError,
        r"max_pool2d: padding \(2, 2\) should be at most half of kernel_size \(2, 2\)",
    ),
    Case(
        "issue3: pooling padding above half the kernel",
        lambda: F.avg_pool2d(x4(), 3, padding=(0, 2)),
        ValueError,
        r"avg_pool2d: padding \(0, 2\) should be at most half of kernel_size \(3, 3\)",
    ),
    Case(
        "issue3: pooling padding above half the kernel",
        lambda: nn.MaxPool2d((4, 2), padding=(2, 2))(x4()),
        ValueError,
        r"max_pool2d: padding \(2, 2\) should be at most half of kernel_size \(4, 2\)",
    ),
    Case(
        "issue3: mixed float/int when gradients are needed",
        lambda: F.conv2d(x4(requires_grad=True), torch.ones(2, 3, 3, 3, dtype=ints)),
        TypeError,
        r"conv2d: input dtype tinyconv\.float32 and weight dtype tinyconv\.int64 must be the same",
    ),
    Case(
        "issue3: mixed float/int when gradients are needed",
        lambda: F.conv2d(torch.ones(1, 3, 5, 5, dtype=ints), w4(requires_grad=True)),
        TypeError,
        r"input dtype tinyconv\.int64 and weight dtype tinyconv\.float32",
    ),
    Case(
        "issue3: mixed float/int when gradients are needed",
        lambda: F.conv2d(x4(), w4(), torch.ones(2, dtype=ints)),
        TypeError,
        r"input dtype tinyconv\.float32 and bias dtype tinyconv\.int64",
    ),
    Case(
        "issue3: mixed float/int when gradients are needed",
        lambda: F.conv2d(x4(dtype=torch.float64), w4()),
        TypeError,
        r"input dtype tinyconv\.float64 and weight dtype tinyconv\.float32",
    ),
    # ---- issue 4: training
    # ----------------------------------------------------------------------------
    Case(
        "issue4: Module without super().__init__()",
        NoSuperParam,
        RuntimeError,
        r"cannot assign parameter 'weight' before "
        r"Module.__init__\(\).*super\(\).__init__\(\).*NoSuperParam",
    ),
    Case(
        "issue4: Module without super().__init__()",
        NoSuperModule,
        AttributeError,
        r"cannot assign module 'conv' before Module.__init__\(\)",
    ),
    Case(
        "issue4: Module without super().__init__()",
        NoSuperBuffer,
        RuntimeError,
        r"cannot assign buffer 'running_mean' before Module.__init__\(\)",
    ),
    Case(
        "issue4: Module without super().__init__()",
        lambda: list(NoSuperAtAll(3).parameters()),
        RuntimeError,
        r"NoSuperAtAll was not initialised.*super\(\).__init__\(\)",
    ),
    Case(
        "issue4: load_state_dict missing/unexpected/mismatched keys, all named",
        bad_state_dict,
        RuntimeError,
        r'(?s)Missing key\(s\) in state_dict: "0\.bias".*Unexpected key\(s\) in state_dict: '
        r'"2\.weight".*size mismatch for 1\.weight: copying a param with shape '
        r"tinyconv\.Size\(\[2, 2\]\) from checkpoint, the shape in current model is "
        r"tinyconv\.Size\(\[1, 3\]\)",
    ),
    Case(
        "issue4: load_state_dict missing/unexpected/mismatched keys, all named",
        lambda: nn.Linear(2, 3).load_state_dict({}),
        RuntimeError,
        r'Missing key\(s\) in state_dict: "weight", "bias"',
    ),
    Case(
        "issue4: load_state_dict missing/unexpected/mismatched keys, all named",
        lambda: nn.Linear(2, 3).load_state_dict(
            {**nn.Linear(2, 3).state_dict(), "scale": torch.ones(1), "shift": torch.ones(1)}
        ),
        RuntimeError,
        r'Unexpected key\(s\) in state_dict: "scale", "shift"',
    ),
    Case(
        "issue4: load_state_dict missing/unexpected/mismatched keys, all named",
        mismatch_non_strict,
        RuntimeError,
        r"size mismatch for weight: copying a param with shape tinyconv\.Size\(\[3, 3\]\) "
        r"from checkpoint, the shape in current model is tinyconv\.Size\(\[3, 2\]\)",
    ),
    Case(
        "issue4: optimiser with no parameters",
        lambda: optim.SGD([], lr=0.1),
        ValueError,
        r"SGD: got an empty parameter list",
    ),
    Case(
        "issue4: optimiser with no parameters",
        lambda: optim.Adam(nn.ReLU().parameters()),
        ValueError,
        r"Adam: got an empty parameter list",
    ),
    Case(
        "issue4: optimiser with no parameters",
        lambda: optim.SGD(nn.Sequential(nn.ReLU(), nn.Flatten()).parameters(), lr=1),
        ValueError,
        r"empty parameter list \(did the model register any parameters",
    ),
    Case(
        "issue4: negative lr",
        lambda: optim.SGD(params(), lr=-0.1),
        ValueError,
        r"SGD: invalid learning rate lr=-0\.1",
    ),
    Case(
        "issue4: negative lr",
        lambda: optim.Adam(params(), lr=-1e-3),
        ValueError,
        r"Adam: invalid learning rate lr=-0\.001",
    ),
    Case(
        "issue4: negative lr",
        lambda: optim.AdamW(params(), lr=-1),
        ValueError,
        r"AdamW: invalid learning rate",
    ),
    Case(
        "issue4: negative lr",
        lambda: optim.SGD([{"params": params(), "lr": -2}], lr=0.1),
        ValueError,
        r"invalid learning rate lr=-2",
    ),
    Case(
        "issue4: cross-entropy target out of range",
        lambda: F.cross_entropy(torch.randn(2, 3), torch.tensor([0, 3])),
        ValueError,
        r"cross_entropy: target 3 is out of range for 3 classes",
    ),
    Case(
        "issue4: cross-entropy target out of range",
        lambda: F.cross_entropy(torch.randn(2, 3), torch.tensor([-1, 0])),
        ValueError,
        r"target -1 is out of range for 3 classes",
    ),
    Case(
        "issue4: cross-entropy target out of range",
        lambda: nn.CrossEntropyLoss()(
            torch.randn(2, 4, 3, 3), torch.full((2, 3, 3), 4, dtype=ints)
        ),
        ValueError,
        r"target 4 is out of range for 4 classes",
    ),
    Case(
        "issue4: cross-entropy target out of range",
        lambda: F.nll_loss(torch.randn(2, 3), torch.tensor([0, 7])),
        ValueError,
        r"nll_loss: target 7 is out of range for 3 classes",
    ),
    Case(
        "issue4: cross-entropy target out of range",
        lambda: F.cross_entropy(torch.randn(3), torch.tensor(3)),
        ValueError,
        r"target 3 is out of range for 3 classes",
    ),
    Case(
        "more: a class target out of range is an IndexError too, as PyTorch's",
        lambda: F.cross_entropy(torch.randn(2, 3), torch.tensor([0, 3])),
        IndexError,
        r"cross_entropy: target 3 is out of range for 3 classes",
    ),
    Case(
        "more: a class target out of range is an IndexError too, as PyTorch's",
        lambda: F.nll_loss(torch.randn(2, 3, 4), torch.full((2, 4), -2, dtype=ints)),
        IndexError,
        r"nll_loss: target -2 is out of range for 3 classes",
    ),
    # ---- more: found beyond the issues' lists
    # ------------------------------------------------------------
    Case(
        "more: pool kernel larger than input",
        lambda: F.max_pool2d(torch.randn(1, 1, 2, 2), 3),
        ValueError,
        r"max_pool2d: the output would be empty.*input shape \(1, 1, 2, 2\), kernel_size \(3, 3\)",
    ),
    Case(
        "more: pool kernel larger than input",
        lambda: F.avg_pool2d(torch.randn(1, 1, 2, 5), (3, 1)),
        ValueError,
        r"avg_pool2d: the output would be empty.*kernel_size \(3, 1\)",
    ),
    Case(
        "more: pool kernel larger than input",
        lambda: F.max_pool2d(torch.randn(1, 1, 3, 3), 2, dilation=3),
        ValueError,
        r"output would be empty.*kernel_size \(2, 2\)",
    ),
    Case(
        "more: conv_transpose output_padding too large",
        lambda: F.conv_transpose2d(x4(), w4(o=3, c=2), stride=2, output_padding=2),
        ValueError,
        r"output_padding \(2, 2\) must be smaller than either stride \(2, 2\) or dilation \(1, 1\)",
    ),
    Case(
        "more: conv_transpose output_padding too large",
        lambda: F.conv_transpose2d(x4(), w4(o=3, c=2), output_padding=(0, 1)),
        ValueError,
        r"output_padding \(0, 1\) must be smaller",
    ),
    Case(
        "more: conv_transpose output_padding too large",
        lambda: nn.ConvTranspose2d(3, 2, 3, stride=2)(x4(), output_size=(20, 20)),
        ValueError,
        r"ConvTranspose2d: output_size \(20, 20\) can't be reached.*\[11, 12\]",
    ),
    Case(
        "more: conv_transpose empty output",
        lambda: F.conv_transpose2d(x4(h=1, w=1), w4(o=3, c=2, kh=1, kw=1), padding=2),
        ValueError,
        r"conv_transpose2d: the output would be empty.*padding \(2, 2\)",
    ),
    Case(
        "more: empty kernel",
        lambda: F.conv2d(x4(), w4(kh=0)),
        ValueError,
        r"conv2d: weight shape \(2, 3, 0, 3\) has a zero size.*kernel size must all be at least 1",
    ),
    Case(
        "more: zero input channels",
        lambda: F.conv2d(x4(c=0), w4(c=0)),
        ValueError,
        r"weight shape \(2, 0, 3, 3\) has a zero size; out_channels, in_channels/groups",
    ),
    Case(
        "more: zero output channels",
        lambda: F.conv2d(x4(), w4(o=0)),
        ValueError,
        r"conv2d: weight shape \(0, 3, 3, 3\) has a zero size",
    ),
    Case(
        "more: empty height or width",
        lambda: F.conv2d(x4(h=0), w4(kh=1, kw=1), padding=1),
        ValueError,
        r"conv2d: input shape \(1, 3, 0, 5\) has an empty height or width",
    ),
    Case(
        "more: empty height or width",
        lambda: F.max_pool2d(x4(w=0), 1),
        ValueError,
        r"max_pool2d: input shape \(1, 3, 5, 0\) has an empty height or width",
    ),
    Case(
        "more: empty height or width",
        lambda: F.conv_transpose2d(x4(h=0), w4(o=3, c=2, kh=5)),
        ValueError,
        r"conv_transpose2d: input shape \(1, 3, 0, 5\) has an empty height or width",
    ),
    Case(
        "more: groups not a positive int",
        lambda: F.conv2d(x4(), w4(), groups=0),
        ValueError,
        r"groups must be a positive integer, got 0",
    ),
    Case(
        "more: groups not a positive int",
        lambda: F.conv2d(x4(), w4(), groups=1.5),
        ValueError,
        r"groups must be a positive integer, got 1\.5",
    ),
    Case(
        "more: stride not an int pair",
        lambda: F.conv2d(x4(), w4(), stride=(1, 1, 1)),
        ValueError,
        r"stride must be an int or a pair of ints, got \(1, 1, 1\)",
    ),
    Case(
        "more: stride not an int pair",
        lambda: F.conv2d(x4(), w4(), stride=1.0),
        TypeError,
        r"stride must be an int or a pair of ints, got 1\.0",
    ),
    Case(
        "more: stride not an int pair",
        lambda: F.max_pool2d(x4(), "2"),
        TypeError,
        r"kernel_size must be an int or a pair of ints, got '2'",
    ),
    Case(
        "more: kernel_size <= 0",
        lambda: F.max_pool2d(x4(), 0),
        ValueError,
        r"kernel_size must be positive",
    ),
    Case(
        "more: kernel_size <= 0",
        lambda: nn.Conv2d(3, 2, 0),
        ValueError,
        r"Conv2d: kernel_size must be positive",
    ),
    Case(
        "more: kernel_size <= 0",
        lambda: nn.Conv2d(3, 2, (3, -1)),
        ValueError,
        r"Conv2d: kernel_size must be positive, got \(3, -1\)",
    ),
    Case(
        "more: input not a Tensor",
        lambda: F.conv2d(np.ones((1, 3, 5, 5)), w4()),
        TypeError,
        r"conv2d: input must be a Tensor, got ndarray",
    ),
    Case(
        "more: input not a Tensor",
        lambda: F.conv2d(x4(), [[1.0]]),
        TypeError,
        r"conv2d: weight must be a Tensor",
    ),
    Case(
        "more: input not a Tensor",
        lambda: F.max_pool2d([[1.0]], 2),
        TypeError,
        r"max_pool2d: input must be a Tensor",
    ),
    Case(
        "more: input not a Tensor",
        lambda: F.cross_entropy(np.zeros((2, 3)), torch.tensor([0, 1])),
        TypeError,
        r"cross_entropy: input must be a Tensor",
    ),
    Case(
        "more: integer input to avg_pool2d",
        lambda: F.avg_pool2d(torch.ones(1, 1, 4, 4, dtype=ints), 2),
        TypeError,
        r"avg_pool2d: input must be a floating point tensor, got tinyconv\.int64",
    ),
    Case(
        "more: divisor_override <= 0",
        lambda: F.avg_pool2d(x4(), 2, divisor_override=0),
        ValueError,
        r"divisor_override must be positive",
    ),
    Case(
        "more: adaptive max pool of integers",
        lambda: F.adaptive_max_pool2d(torch.ones(1, 1, 4, 4, dtype=ints), 2),
        TypeError,
        r"adaptive_max_pool2d: input must be a floating point tensor, got tinyconv\.int64",
    ),
    Case(
        "more: adaptive pool output_size of 3 numbers",
        lambda: F.adaptive_max_pool2d(x4(), (1, 2, 3)),
        ValueError,
        r"adaptive_max_pool2d: output_size must be an int or a pair, got \(1, 2, 3\)",
    ),
    Case(
        "more: adaptive max pool of an empty channel axis",
        lambda: F.adaptive_max_pool2d(torch.ones(1, 0, 4, 4), 2),
        RuntimeError,
        r"adaptive_max_pool2d: input shape \(1, 0, 4, 4\) has an empty channel",
    ),
    Case(
        "more: adaptive pool of an empty height",
        lambda: F.adaptive_avg_pool2d(torch.ones(1, 2, 0, 4), 2),
        RuntimeError,
        r"adaptive_avg_pool2d: input shape \(1, 2, 0, 4\) has an empty height or width",
    ),
    Case(
        "more: adaptive pool output_size < 0",
        lambda: F.adaptive_avg_pool2d(x4(), -1),
        ValueError,
        r"output_size must be non-negative",
    ),
    Case(
        "more: pad of odd length",
        lambda: F.pad(x4(), (1, 1, 1)),
        ValueError,
        r"pad: pad must be a tuple of even length.*got \(1, 1, 1\)",
    ),
    Case(
        "more: pad of odd length", lambda: F.pad(x4(), 1), ValueError, r"pad: pad must be a tuple"
    ),
    Case(
        "more: pad mode unknown",
        lambda: F.pad(x4(), (1, 1), mode="zeros"),
        ValueError,
        r"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got 'zeros'",
    ),
    Case(
        "more: reflect pad too large",
        lambda: F.pad(x4(), (5, 5, 0, 0), mode="reflect"),
        ValueError,
        r"reflect padding \(5, 5\) must be smaller than the input size 5",
    ),
    Case(
        "more: circular pad too large",
        lambda: F.pad(x4(), (0, 0, 6, 0), mode="circular"),
        ValueError,
        r"circular padding \(6, 0\) must be at most the input size 5",
    ),
    Case(
        "more: pad covers too many dims",
        lambda: F.pad(torch.randn(3), (1, 1, 1, 1)),
        ValueError,
        r"pad \(1, 1, 1, 1\) covers 2 dims but the input has shape \(3,\)",
    ),
    Case(
        "more: pad entries not ints",
        lambda: F.pad(x4(), (1.0, 1)),
        TypeError,
        r"pad entries must be integers",
    ),
    Case(
        "more: negative pad crops too much",
        lambda: F.pad(x4(), (-3, -3)),
        ValueError,
        r"padding \(-3, -3\) crops more than the input size 5",
    ),
    Case(
        "more: negative pad in reflect mode",
        lambda: F.pad(x4()[0], (-2, -3), mode="reflect"),
        ValueError,
        r"input \(size 5 of dim 2\) is too small: padding \(-2, -3\) leaves an output size of 0",
    ),
    Case(
        "more: Conv2d padding_mode unknown",
        lambda: nn.Conv2d(3, 2, 3, padding_mode="zero"),
        ValueError,
        r"Conv2d: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got 'zero'",
    ),
    Case(
        "more: Conv2d channels <= 0",
        lambda: nn.Conv2d(0, 2, 3),
        ValueError,
        r"Conv2d: in_channels must be a positive integer, got 0",
    ),
    Case(
        "more: Conv2d channels <= 0",
        lambda: nn.Conv2d(3, -2, 3),
        ValueError,
        r"Conv2d: out_channels must be a positive integer",
    ),
    Case(
        "more: Linear with wrong in_features",
        lambda: nn.Sequential(nn.Flatten(), nn.Linear(24, 10))(x4()),
        ValueError,
        r"in_features=24, got input shape \(1, 75\).*flatten",
    ),
    Case(
        "more: Linear with wrong in_features",
        lambda: nn.Linear(4, 3)(torch.tensor(1.0)),
        ValueError,
        r"in_features=4, got input shape \(\)",
    ),
    Case(
        "more: Linear sizes invalid",
        lambda: nn.Linear(-1, 3),
        ValueError,
        r"Linear: in_features must be a non-negative integer, got -1",
    ),
    Case(
        "more: Linear sizes invalid",
        lambda: nn.Linear(2, 2.5),
        ValueError,
        r"Linear: out_features must be",
    ),
    Case(
        "more: mixed dtypes in linear",
        lambda: F.linear(torch.randn(2, 3), torch.randn(4, 3, dtype=torch.float64)),
        TypeError,
        r"linear: input dtype tinyconv\.float32 and weight dtype tinyconv\.float64",
    ),
    Case(
        "more: dropout p out of range",
        lambda: nn.Dropout(1.5),
        ValueError,
        r"Dropout: p must be between 0 and 1",
    ),
    Case(
        "more: dropout p out of range",
        lambda: F.dropout(x4(), -0.1),
        ValueError,
        r"dropout: p must be between",
    ),
    Case(
        "more: cross-entropy target of wrong dtype",
        lambda: F.cross_entropy(torch.randn(2, 3), torch.tensor([True, False])),
        TypeError,
        r"expected target dtype to be Long or Byte, but got Bool \(class-index targets must be "
        r"int64",
    ),
    Case(
        "more: cross-entropy target of wrong dtype",
        lambda: F.cross_entropy(torch.randn(2, 3), torch.tensor([0.0, 1.0])),
        TypeError,  # (PyTorch reads a float target of the index shape as a bad class index)
        r"expected target dtype to be Long or Byte, but got Float",
    ),
    Case(
        "more: cross-entropy target of wrong dtype",
        lambda: F.nll_loss(torch.randn(2, 3), torch.tensor([0.0, 1.0])),
        TypeError,
        r"nll_loss: expected target dtype to be Long or Byte, but got Float",
    ),
    Case(
        "more: cross-entropy target of wrong shape",
        lambda: F.cross_entropy(torch.randn(2, 3), torch.tensor([0, 1, 2])),
        ValueError,
        r"target shape \(3,\) doesn't match input shape \(2, 3\) \(expected target shape \(2,\)\)",
    ),
    Case(
        "more: cross-entropy target of wrong shape",
        lambda: F.cross_entropy(torch.randn(2, 3, 4), torch.zeros(2, 3, dtype=ints)),
        ValueError,
        r"target shape \(2, 3\) doesn't match input shape \(2, 3, 4\) \(expected target shape \(2, "
        r"4\)\)",
    ),
    Case(
        "more: cross-entropy input without a class dim",
        lambda: F.cross_entropy(torch.tensor(1.0), torch.tensor(0)),
        ValueError,
        r"cross_entropy: input must have a class dimension",
    ),
    Case(
        "more: cross-entropy integer logits",
        lambda: F.cross_entropy(torch.ones(2, 3, dtype=ints), torch.tensor([0, 1])),
        TypeError,
        r"cross_entropy: input \(the logits\) must be a floating point tensor, got tinyconv\.int64",
    ),
    Case(
        "more: cross-entropy with no classes",
        lambda: F.cross_entropy(torch.randn(2, 0), torch.zeros(2, 0)),
        ValueError,
        r"cross_entropy: input shape \(2, 0\) has no classes",
    ),
    Case(
        "more: cross-entropy with no classes",
        lambda: F.nll_loss(torch.randn(0), torch.tensor(0), ignore_index=0),
        ValueError,
        r"nll_loss: input shape \(0,\) has no classes",
    ),
    Case(
        "more: nll_loss of integers",
        lambda: F.nll_loss(torch.ones(2, 3, dtype=ints), torch.tensor([0, 1])),
        TypeError,
        r"nll_loss: input must be a floating point tensor, got tinyconv\.int64",
    ),
    Case(
        "more: class weight of wrong shape",
        lambda: F.cross_entropy(torch.randn(2, 3), torch.rand(2, 3), weight=torch.ones(())),
        ValueError,
        r"cross_entropy: weight must have shape \(3,\), one per class, got \(\)",
    ),
    Case(
        "more: loss reduction unknown",
        lambda: F.cross_entropy(torch.randn(2, 3), torch.tensor([0, 1]), reduction="avg"),
        ValueError,
        r"cross_entropy: reduction must be 'mean', 'sum' or 'none', got 'avg'",
    ),
    Case(
        "more: loss reduction unknown",
        lambda: nn.MSELoss(reduction="batchmean")(torch.randn(2), torch.randn(2)),
        ValueError,
        r"mse_loss: reduction must be 'mean', 'sum' or 'none', got 'batchmean'",
    ),
    Case(
        "more: loss reduction unknown",
        lambda: F.binary_cross_entropy_with_logits(torch.randn(2), torch.rand(2), reduction=None),
        ValueError,
        r"reduction must be .* got None",
    ),
    Case(
        "more: label_smoothing out of range",
        lambda: F.cross_entropy(torch.randn(2, 3), torch.tensor([0, 1]), label_smoothing=1.5),
        ValueError,
        r"label_smoothing must be in \[0, 1\], got 1\.5",
    ),
    Case(
        "more: class weight of wrong shape",
        lambda: F.cross_entropy(torch.randn(2, 3), torch.tensor([0, 1]), weight=torch.ones(4)),
        ValueError,
        r"weight must have shape \(3,\), one per class, got \(4,\)",
    ),
    Case(
        "more: BCE input not probabilities",
        lambda: F.binary_cross_entropy(torch.tensor([1.5]), torch.ones(1)),
        ValueError,
        r"binary_cross_entropy: input must hold probabilities in \[0, 1\]",
    ),
    Case(
        "more: BCE weight of wrong shape",
        lambda: F.binary_cross_entropy(torch.rand(2, 3), torch.rand(2, 3), weight=torch.ones(4)),
        ValueError,
        r"binary_cross_entropy: weight shape \(4,\) doesn't broadcast to the loss's shape \(2, 3\)",
    ),
    Case(
        "more: BCE weight of wrong shape",
        lambda: F.binary_cross_entropy_with_logits(
            torch.rand(2, 3), torch.rand(2, 3), weight=torch.ones(3, 1)
        ),
        ValueError,
        r"weight shape \(3, 1\) doesn't broadcast",
    ),
    Case(
        "more: pos_weight of wrong shape",
        lambda: nn.BCEWithLogitsLoss(pos_weight=torch.ones(4))(torch.rand(2, 3), torch.rand(2, 3)),
        ValueError,
        r"pos_weight shape \(4,\) doesn't broadcast with input shape \(2, 3\)",
    ),
    Case(
        "more: softmax of integers",
        lambda: F.softmax(torch.ones(3, dtype=ints), 0),
        TypeError,
        r"softmax: input must be a floating point tensor",
    ),
    Case(
        "more: softmax dim out of range",
        lambda: F.log_softmax(torch.ones(2, 3), 2),
        ValueError,
        r"log_softmax: dim 2 is out of range for a tensor with 2 dimension",
    ),
    Case(
        "more: one_hot class out of range",
        lambda: F.one_hot(torch.tensor([0, 5]), 3),
        ValueError,
        r"one_hot: class values must be in \[0, 3\)",
    ),
    Case(
        "more: one_hot of floats",
        lambda: F.one_hot(torch.tensor([0.0]), 3),
        TypeError,
        r"one_hot: tensor must hold integer class indices",
    ),
    Case(
        "more: one_hot of floats is a RuntimeError too, as PyTorch's",
        lambda: F.one_hot(torch.tensor([0.0]), 3),
        RuntimeError,
        r"one_hot: tensor must hold integer class indices",
    ),
    Case(
        "more: optimiser given one Tensor",
        lambda: optim.SGD(torch.ones(2, requires_grad=True), lr=0.1),
        TypeError,
        r"SGD: params must be an iterable of Tensors or dicts, got a single Tensor",
    ),
    Case(
        "more: optimiser given non-Tensors",
        lambda: optim.SGD([1.0, 2.0], lr=0.1),
        TypeError,
        r"SGD: can only optimize Tensors, got float",
    ),
    Case(
        "more: optimiser given a non-leaf",
        lambda: optim.SGD([torch.ones(2, requires_grad=True) * 2], lr=0.1),
        ValueError,
        r"can't optimize a non-leaf Tensor",
    ),
    Case(
        "more: parameter in two groups",
        lambda: two_groups_sharing(nn.Linear(2, 2)),
        ValueError,
        r"parameters appear in more than one parameter group",
    ),
    Case(
        "more: lr not a number",
        lambda: optim.SGD(params(), lr="0.1"),
        ValueError,
        r"invalid learning rate lr='0.1'",
    ),
    Case(
        "more: bad optimiser hyperparameters",
        lambda: optim.SGD(params(), lr=0.1, momentum=-0.5),
        ValueError,
        r"SGD: invalid momentum -0\.5",
    ),
    Case(
        "more: bad optimiser hyperparameters",
        lambda: optim.SGD(params(), lr=0.1, weight_decay=-1),
        ValueError,
        r"SGD: invalid weight_decay -1",
    ),
    Case(
        "more: bad optimiser hyperparameters",
        lambda: optim.SGD(params(), lr=0.1, nesterov=True),
        ValueError,
        r"SGD: nesterov momentum needs momentum > 0",
    ),
    Case(
        "more: bad optimiser hyperparameters",
        lambda: optim.Adam(params(), betas=(0.9, 1.0)),
        ValueError,
        r"Adam: Invalid beta parameter at index 1: 1\.0 \(betas\[1\] must be in \[0, 1\)\)",
    ),
    Case(
        "more: bad optimiser hyperparameters",
        lambda: optim.Adam(params(), eps=-1e-8),
        ValueError,
        r"Adam: invalid eps",
    ),
    Case(
        "more: bad optimiser hyperparameters",
        lambda: optim.AdamW(params(), weight_decay=-0.1),
        ValueError,
        r"AdamW: invalid weight_decay",
    ),
    Case(
        "more: optimiser load_state_dict mismatch",
        lambda: opt_load({"state": {}}),
        ValueError,
        r"SGD.load_state_dict: state_dict must be a dict with keys 'state' and 'param_groups'",
    ),
    Case(
        "more: optimiser load_state_dict mismatch",
        lambda: opt_load({"state": {}, "param_groups": []}),
        ValueError,
        r"the checkpoint has 0 parameter groups, this optimizer has 1",
    ),
    Case(
        "more: optimiser load_state_dict mismatch",
        lambda: opt_load({"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}]}),
        ValueError,
        r"parameter group 0 has 1 parameters in the checkpoint but 2 here",
    ),
    Case(
        "more: optimiser load_state_dict mismatch",
        lambda: opt_load(
            {
                "state": {5: {"momentum_buffer": torch.ones(2)}},
                "param_groups": [{"lr": 0.1, "params": [0, 1]}],
            }
        ),
        ValueError,
        r"state for parameter index 5, but this optimizer has 2 parameters",
    ),
    Case(
        "more: optimiser load_state_dict mismatch",
        lambda: opt_load(
            {
                "state": {0: {"momentum_buffer": torch.ones(5)}},
                "param_groups": [{"lr": 0.1, "momentum": 0.9, "params": [0, 1]}],
            },
            0.9,
        ),
        ValueError,
        r"state 'momentum_buffer' of parameter 0 has shape \(5,\) but should have \(2, 2\) for "
        r"a parameter of shape \(2, 2\)",
    ),
    Case(
        "more: load_state_dict of a non-dict",
        lambda: nn.Linear(2, 3).load_state_dict([1, 2]),
        TypeError,
        r"load_state_dict: state_dict must be a dict of name -> tensor, got list",
    ),
    Case(
        "more: assigning a Tensor to a parameter",
        lambda: setattr(nn.Linear(2, 2), "weight", torch.ones(2, 2)),
        TypeError,
        r"cannot assign Tensor as parameter 'weight' \(a Parameter or None is expected\)",
    ),
    Case(
        "more: assigning a non-Module to a submodule",
        lambda: setattr(nn.Sequential(nn.ReLU()), "0", "relu"),
        TypeError,
        r"cannot assign str as child module '0'",
    ),
    Case(
        "more: register_buffer of a non-Tensor",
        lambda: nn.Linear(2, 2).register_buffer("b", [1, 2]),
        TypeError,
        r"register_buffer: 'b' must be a Tensor or None, got list",
    ),
    Case(
        "more: Parameter of a non-Tensor",
        lambda: nn.Parameter(np.ones(2)),
        TypeError,
        r"Parameter: data must be a Tensor, got ndarray",
    ),
    Case(
        "more: Sequential of a non-Module",
        lambda: nn.Sequential(nn.ReLU(), 3),
        TypeError,
        r"Sequential: argument 1 is a int, not a Module",
    ),
    Case(
        "more: Sequential index out of range",
        lambda: nn.Sequential(nn.ReLU())[3],
        ValueError,
        r"Sequential: index 3 is out of range for 1 entries",
    ),
    Case(
        "more: Module.to a GPU",
        lambda: nn.Linear(2, 2).to("cuda"),
        RuntimeError,
        r"Module.to\(\): tinyconv runs on the CPU only, got device 'cuda'",
    ),
    Case(
        "more: Module.to an integer dtype",
        lambda: nn.Linear(2, 2).to(ints),
        TypeError,
        r"Module.to\(\): only floating dtypes are allowed, got tinyconv\.int64",
    ),
    Case(
        "more: train() with a non-bool",
        lambda: nn.Linear(2, 2).train("yes"),
        ValueError,
        r"train\(\): mode must be a bool",
    ),
    # ---- checkpoints
    # ------------------------------------------------------------------------------------
    Case(
        "more: checkpoint of an unsupported object",
        save_to({"act": print}),
        TypeError,
        r"save: can't store obj\['act'\] of type builtin_function_or_method",
    ),
    Case(
        "more: checkpoint of an object array",
        save_to({"a": np.array([None], dtype=object)}),
        TypeError,
        r"save: can't store obj\['a'\], an array of dtype object",
    ),
    Case(
        "more: checkpoint into a missing folder",
        save_to({"a": 1}, "missing/dir/x.ckpt"),
        CheckpointError,
        r"save: can't write checkpoint .*missing/dir/x\.ckpt: folder .* does not exist",
    ),
    Case(
        "more: load of a missing file",
        lambda: torch.load("/nonexistent/model.ckpt"),
        CheckpointError,
        r"load: can't open checkpoint /nonexistent/model\.ckpt",
    ),
    Case(
        "more: load of a truncated file",
        load_bytes(b"PK\x03\x04\x14\x00"),
        CheckpointError,
        r"load: .*bad\.ckpt is not a tinyconv checkpoint",
    ),
    Case(
        "more: load of a .npy file",
        load_bytes(npy_bytes()),
        CheckpointError,
        r"load: .*bad\.ckpt is not a tinyconv checkpoint",
    ),
    Case(
        "more: load of a pickle",
        load_bytes(b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00}\x94."),
        CheckpointError,
        r"load: .*bad\.ckpt is a pickle file, which tinyconv never unpickles",
    ),
]


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{i:03d}-{c.tag.split(':')[1].strip()}" for i, c in enumerate(CASES)]
)
def test_bad_input(case: Case):
    with pytest.raises(case.exc, match=case.match) as info:
        case.call()
    err = info.value
    assert isinstance(err, (TypeError, ValueError, RuntimeError)), (
        f"{type(err).__name__} is not one of the three"
    )
    assert str(err).strip(), "the message must not be empty"
    # never a NumPy error dressed up: tinyconv's messages start by naming the function or argument
    assert "numpy" not in type(err).__module__


# Every item of the "Bad input" lists of issues 2, 3 and 4 has at least one row above.
ISSUE_ITEMS = [
    "issue2: shapes that don't broadcast",
    "issue2: matmul inner sizes differ",
    "issue2: view to a different element count",
    "issue2: backward on a non-scalar without gradient",
    "issue2: gradient of the wrong shape",
    "issue2: requires_grad on an integer tensor",
    "issue2: item() of more than one element",
    "issue2: ragged nested list",
    "issue3: channel mismatch",
    "issue3: channels not divisible by groups",
    "issue3: kernel larger than the padded input",
    "issue3: stride or dilation <= 0",
    "issue3: negative padding",
    "issue3: unknown padding string",
    "issue3: 'same' with stride > 1",
    "issue3: input of the wrong rank",
    "issue3: weight of the wrong rank",
    "issue3: bias length not out_channels",
    "issue3: pooling padding above half the kernel",
    "issue3: mixed float/int when gradients are needed",
    "issue4: Module without super().__init__()",
    "issue4: load_state_dict missing/unexpected/mismatched keys, all named",
    "issue4: optimiser with no parameters",
    "issue4: negative lr",
    "issue4: cross-entropy target out of range",
]


def test_every_issue_item_has_a_row():
    tags = {c.tag for c in CASES}
    assert [item for item in ISSUE_ITEMS if item not in tags] == []
    assert {t for t in tags if not t.startswith("more:")} == set(ISSUE_ITEMS)


def test_module_without_super_init_is_an_attribute_error_too():
    # PyTorch raises AttributeError here; tinyconv's error is both, so either `except` catches it.
    with pytest.raises(AttributeError, match="before Module.__init__"):
        NoSuperParam()


def test_unknown_module_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match=r"'Linear' object has no attribute 'wieght'"):
        nn.Linear(2, 2).wieght  # noqa: B018


def test_failed_optimizer_load_changes_nothing():
    opt = optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError):
        opt.load_state_dict(
            {"state": {7: {}}, "param_groups": [{"lr": 5.0, "momentum": 0.9, "params": [0, 1]}]}
        )
    assert opt.param_groups[0]["lr"] == 0.1


def test_readme_error_messages_are_real():
    """The two messages quoted in the README's "When things go wrong" are what tinyconv prints."""
    import re
    from pathlib import Path

    text = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text(encoding="utf-8")
    section = text.split("## When things go wrong", 1)[1].split("\n## ", 1)[0]
    quoted = re.findall(r"```text\n(.*?)\n```", section, re.DOTALL)
    assert len(quoted) == 2

    def message(call):
        try:
            call()
        except (ValueError, RuntimeError) as e:
            return f"{type(e).__name__}: {e}"
        raise AssertionError("no error")

    def inplace():
        x = torch.randn(4, requires_grad=True)
        y = x.sigmoid()
        loss = (y * 2).sum()
        y.add_(1)
        loss.backward()

    assert quoted[0] == message(lambda: nn.Conv2d(3, 8, kernel_size=3)(torch.randn(1, 1, 28, 28)))
    assert quoted[1] == message(inplace)


def test_bad_argument_errors_are_caught_as_runtime_error_too():
    """PyTorch raises RuntimeError for most bad shapes and values inside ops (ValueError for
    some): tinyconv's ValueErrors are both, so `except RuntimeError` code runs unchanged;
    they still print and pickle as ValueError."""
    import pickle
    import traceback

    with pytest.raises(RuntimeError, match="inner sizes differ"):
        torch.ones(2, 3) @ torch.ones(2, 3)
    with pytest.raises(ValueError, match="inner sizes differ"):
        torch.ones(2, 3) @ torch.ones(2, 3)
    try:
        F.conv2d(torch.ones(1, 1, 5, 5), torch.ones(8, 3, 3, 3))
    except RuntimeError as e:
        shown = "".join(traceback.format_exception_only(type(e), e))
        assert shown.startswith("ValueError: conv2d: input has 1 channels")
        assert type(pickle.loads(pickle.dumps(e))) is ValueError
    else:
        raise AssertionError("conv2d accepted 1 channel for a 3-channel weight")
