"""Bad input to the core gives TypeError/ValueError/RuntimeError naming the problem and the
shapes or types involved, never a bare NumPy traceback (issue 2, "Bad input")."""
from __future__ import annotations

import operator
import re

import numpy as np
import pytest

import tinyconv as torch


def shapes_named(*shapes: tuple) -> str:
    """A regex matching the shapes in order, each printed as a tuple, anything between."""
    return ".*".join(re.escape(str(tuple(s))) for s in shapes)


# ---------------------------------------------------------------------------
# the list in issue 2
# ---------------------------------------------------------------------------

BROADCASTING = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow,
    "maximum": torch.maximum, "minimum": torch.minimum, "==": operator.eq, "<": operator.lt,
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
    [((2, 3), (2, 3), "3 vs 2"), ((3,), (4,), "3 vs 4"), ((5, 2, 3), (4, 1), "3 vs 4"), ((2,), (3, 2), "2 vs 3")],
)
def test_matmul_inner_sizes_differ(sa, sb, inner):
    with pytest.raises(ValueError, match=shapes_named(sa, sb) + ".*inner.*" + inner):
        torch.ones(sa) @ torch.ones(sb)
    with pytest.raises(ValueError, match="inner"):
        torch.matmul(torch.ones(sa), torch.ones(sb))


def test_matmul_batch_dimensions_that_do_not_broadcast():
    with pytest.raises(ValueError, match=shapes_named((2, 2, 3), (3, 3, 4)) + r".*batch.*\(2,\).*\(3,\)"):
        torch.ones(2, 2, 3) @ torch.ones(3, 3, 4)


def test_matmul_zero_dim_and_mm_rank():
    with pytest.raises(ValueError, match=r"at least 1 dimension.*\(\).*\(2, 3\)"):
        torch.tensor(1.0) @ torch.ones(2, 3)
    with pytest.raises(ValueError, match=r"mm.*2-D.*\(2, 3\).*\(3,\)"):
        torch.ones(2, 3).mm(torch.ones(3))


@pytest.mark.parametrize("method", ["view", "reshape"])
@pytest.mark.parametrize(("new", "holds"), [((4, 2), "8"), ((7,), "7"), ((-1, 4), None), ((6, -1, 2), None)])
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
    with pytest.raises(ValueError, match=rf"item.*one element.*{re.escape(str(shape))}.*{n} elements"):
        torch.ones(shape).item()


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ([[1, 2], [3]], r"data\[1\] is of length 1 but data\[0\] is of length 2"),
        ([[[1.0], [2.0]], [[3.0]]], r"data\[1\] is of shape \(1, 1\) but data\[0\] is of shape \(2, 1\)"),
        ([1, [2]], r"data\[1\] is of length 1 but data\[0\] is a number"),
        ([[[1, 2], [3, 4]], [[1, 2], [3]]], r"data\[1\]\[1\] is of length 1 but data\[1\]\[0\] is of length 2"),
    ],
)
def test_ragged_nested_list(data, where):
    with pytest.raises(ValueError, match=r"tensor\(\).*rectangular.*ragged.*" + where):
        torch.tensor(data)


# ---------------------------------------------------------------------------
# more of the same kind
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"), [(["a", "b"], "<U1"), (None, "NoneType"), ({1: 2}, "dict"), ([object()], "object")]
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
        (lambda x: x.sum(dim=2), "sum", 2, 2), (lambda x: x.mean(-3), "mean", -3, 2),
        (lambda x: x.size(5), "size", 5, 2), (lambda x: x.transpose(0, 3), "transpose", 3, 2),
        (lambda x: x.unsqueeze(4), "unsqueeze", 4, 3), (lambda x: x.max(dim=2), "max", 2, 2),
        (lambda x: x.argmax(7), "argmax", 7, 2), (lambda x: torch.cat([x, x], dim=2), "cat", 2, 2),
        (lambda x: x.flip(2), "flip", 2, 2), (lambda x: x.squeeze(-3), "squeeze", -3, 2),
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
        assert info.value.__cause__ is None or not isinstance(info.value.__cause__, np.exceptions.AxisError)
        assert re.match(r"^(add|matmul|view\(\)|item\(\)|tensor\(\)|index|zeros\(\))", str(info.value)), \
            str(info.value)


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
    with pytest.raises(RuntimeError, match=r"Product\.backward.*shape \(2, 2\) for input 1.*shape \(3,\)"):
        out.backward()


def test_user_function_forward_returning_a_non_tensor():
    class Bad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.numpy() * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    with pytest.raises(TypeError, match="Bad.forward must return a Tensor, got ndarray"):
        Bad.apply(torch.ones(2, requires_grad=True))
