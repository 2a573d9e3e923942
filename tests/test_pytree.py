"""tinyconv.utils._pytree (torch.utils._pytree): flatten, unflatten and map over nested
containers; the same leaves, specs (compared and printed) and errors as PyTorch's."""

from __future__ import annotations

import collections
import contextlib
import io

import pytest

import tinyconv
from tinyconv.utils import _pytree as pytree

NT = collections.namedtuple("NT", "x y")


def _trees(lib):
    return [
        None,
        5,
        [],
        (1,),
        {"b": 1, "a": (2, None, [3])},
        NT(1, [2]),
        collections.OrderedDict(a=1, b=[2]),
        collections.defaultdict(list, a=1),
        collections.deque([1, 2], maxlen=3),
        lib.max(lib.ones(2, 2), 0),
        [lib.ones(2), {"k": (lib.zeros(1),)}],
    ]


def _report(lib, p) -> str:
    """Everything a program would print about the library's pytrees."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for t in _trees(lib):
            leaves, spec = p.tree_flatten(t)
            print(len(leaves), repr(spec), spec.num_leaves, spec.num_nodes, spec.num_children)
            back = p.tree_unflatten(leaves, spec)
            print(type(back).__name__, p.tree_structure(back) == spec, spec.is_leaf())
        print(p.tree_map(lambda a, b: a + b, [1, (2, 3)], [10, (20, 30)]))
        print(p.tree_map(lambda a, b: (a, b), [1, 2], [[5, 6], {"q": 7}]))
        for bad in ([1, 2, 3], (1, 2), {"a": 1}):
            try:
                p.tree_map(lambda a, b: a, [1, 2], bad)
            except ValueError as e:
                print("ValueError", e)
        print(p.tree_map_only(int, lambda v: v * 10, [1, 2.0, "x", True]))
        print(p.tree_flatten((1, {"z": 2}), is_leaf=lambda v: isinstance(v, dict)))
        print(p.tree_all(lambda v: v > 0, [1, 2]), p.tree_any(lambda v: v > 1, [1, 2]))
        try:
            p.tree_unflatten([1], p.tree_structure([1, 2]))
        except ValueError as e:
            print("ValueError", e)
    return out.getvalue()


def test_flatten_unflatten_round_trips_and_maps():
    tree = {"w": [tinyconv.ones(2), (3, None)], "cfg": NT(1, {"lr": 0.1})}
    leaves, spec = pytree.tree_flatten(tree)
    assert leaves[1:] == [3, None, 1, 0.1] and spec.num_leaves == 5
    assert pytree.tree_unflatten(leaves, spec)["cfg"] == NT(1, {"lr": 0.1})
    doubled = pytree.tree_map_only(tinyconv.Tensor, lambda t: t * 2, tree)
    assert doubled["w"][0].tolist() == [2.0, 2.0] and doubled["w"][1] == (3, None)
    with pytest.raises(ValueError, match="arity"):
        pytree.tree_map(lambda a, b: a, [1], [1, 2])


def test_registered_classes_are_nodes():
    class Pair:
        def __init__(self, a, b):
            self.a, self.b = a, b

    pytree.register_pytree_node(
        Pair, lambda p: ([p.a, p.b], None), lambda children, _: Pair(*children)
    )
    try:
        got = pytree.tree_map(lambda v: v + 1, [Pair(1, 2)])
        assert (got[0].a, got[0].b) == (2, 3)
        with pytest.raises(ValueError, match="already registered"):
            pytree.register_pytree_node(Pair, None, None)
    finally:
        del pytree._NODES[Pair]


@pytest.mark.torch
def test_specs_leaves_and_errors_match_pytorchs():
    torch = pytest.importorskip("torch")
    import torch.utils._pytree as torch_pytree

    want = _report(torch, torch_pytree).replace("torch", "LIB")
    got = _report(tinyconv, pytree).replace("tinyconv", "LIB")
    assert got == want
