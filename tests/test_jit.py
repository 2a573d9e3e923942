"""tinyconv.jit: marking decorators return what they decorate, is_scripting/is_tracing are
False, script/trace return their argument with a warning that tinyconv runs eagerly."""

from __future__ import annotations

import typing
import warnings

import numpy as np
import pytest

import tinyconv
from tinyconv import jit, nn


def test_reachable_as_tinyconv_jit():
    assert tinyconv.jit is jit
    assert jit.Final is typing.Final


def test_is_scripting_and_is_tracing_are_false():
    assert jit.is_scripting() is False
    assert jit.is_tracing() is False


def test_marking_decorators_return_the_same_object():
    def f(x):
        return x + 1

    class Iface:
        pass

    for deco in (
        jit.unused,
        jit.export,
        jit.interface,
        jit._overload,
        jit._overload_method,
        jit.ignore,
        jit.ignore(drop=True),
        jit.ignore(),
        jit.script_if_tracing,
    ):
        assert deco(f) is f
    assert jit.interface(Iface) is Iface
    assert jit.annotate(list[int], [1]) == [1]


def test_model_code_written_for_torchscript_runs_eagerly():
    """The patterns torchvision's GoogLeNet and DenseNet use: overload stubs before the real
    method, @jit.unused helpers, branches on is_scripting()."""

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)

        @jit._overload_method
        def forward(self, x):  # type: (list) -> tinyconv.Tensor
            pass

        @jit._overload_method
        def forward(self, x):  # type: (tinyconv.Tensor) -> tinyconv.Tensor  # noqa: F811
            pass

        def forward(self, x):  # noqa: F811
            if isinstance(x, list):
                x = tinyconv.cat(x, 1)
            if jit.is_scripting():
                raise AssertionError("the TorchScript branch must not run")
            return self.helper(self.lin(x))

        @jit.unused
        def helper(self, y):
            return y * 2

    b = Block()
    x = tinyconv.randn(4, 3)
    np.testing.assert_array_equal(b(x).detach().numpy(), b([x[:, :1], x[:, 1:]]).detach().numpy())


def test_script_and_trace_return_the_module_and_warn():
    m = nn.Linear(3, 2)
    x = tinyconv.randn(5, 3)
    with pytest.warns(UserWarning, match="runs eagerly"):
        s = jit.script(m)
    assert s is m
    with pytest.warns(UserWarning, match="trace.*unchanged"):
        t = jit.trace(m, (x,))
    assert t is m

    def f(a):
        return a * 3

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert jit.script(f) is f
    assert len(caught) == 1 and caught[0].filename == __file__  # points at the caller's line
