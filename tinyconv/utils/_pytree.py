"""`torch.utils._pytree`: nested containers ("pytrees") flattened to a list of leaves and a
TreeSpec that rebuilds them, and `tree_map` over the leaves.

A node is a list, tuple, dict, OrderedDict, defaultdict, deque, namedtuple or one of the named
results of ops (`torch.return_types.max`, ...), or a class given to `register_pytree_node`;
anything else (a Tensor, a number, None, a string) is a leaf. A dict's children come in its
keys' order. TreeSpecs compare and print as PyTorch's.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from .._return_types import _types as _named_results

__all__ = [
    "LeafSpec",
    "PyTree",
    "TreeSpec",
    "register_pytree_node",
    "tree_all",
    "tree_all_only",
    "tree_any",
    "tree_any_only",
    "tree_flatten",
    "tree_iter",
    "tree_leaves",
    "tree_map",
    "tree_map_",
    "tree_map_only",
    "tree_structure",
    "tree_unflatten",
]

PyTree = Any


class _Node(NamedTuple):
    flatten: Callable  # node -> (children, context)
    unflatten: Callable  # (children, context) -> node


_NODES: dict[type, _Node] = {}


def register_pytree_node(
    cls: type,
    flatten_fn: Callable,
    unflatten_fn: Callable,
    *,
    serialized_type_name: str | None = None,
    to_dumpable_context: Callable | None = None,
    from_dumpable_context: Callable | None = None,
    flatten_with_keys_fn: Callable | None = None,
) -> None:
    """Make instances of cls nodes: flatten_fn(node) -> (children, context) and
    unflatten_fn(children, context) -> node."""
    if cls in _NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    _NODES[cls] = _Node(flatten_fn, unflatten_fn)


def _dict_flatten(d: dict) -> tuple:
    return list(d.values()), list(d.keys())


register_pytree_node(tuple, lambda t: (list(t), None), lambda c, _: tuple(c))
register_pytree_node(list, lambda t: (list(t), None), lambda c, _: list(c))
register_pytree_node(dict, _dict_flatten, lambda c, keys: dict(zip(keys, c, strict=True)))
register_pytree_node(
    collections.OrderedDict,
    _dict_flatten,
    lambda c, keys: collections.OrderedDict(zip(keys, c, strict=True)),
)
register_pytree_node(
    collections.defaultdict,
    lambda d: (list(d.values()), [d.default_factory, list(d.keys())]),
    lambda c, ctx: collections.defaultdict(ctx[0], zip(ctx[1], c, strict=True)),
)
register_pytree_node(
    collections.deque,
    lambda d: (list(d), d.maxlen),
    lambda c, maxlen: collections.deque(c, maxlen=maxlen),
)


def _kind(node: Any) -> tuple[type, str] | None:
    """(the type a spec records, the name it prints) of a node; None for a leaf."""
    cls = type(node)
    if cls in _NODES:
        return cls, cls.__name__
    if isinstance(node, tuple) and hasattr(cls, "_fields"):
        if getattr(_named_results, cls.__name__, None) is cls:
            return cls, cls.__name__  # (an op's named result: PyTorch's structseq)
        return cls, "namedtuple"
    return None


@dataclasses.dataclass(init=True, frozen=True, eq=True, repr=False)
class TreeSpec:
    """How a pytree is built: its node type, the context that type needs (a dict's keys, a
    namedtuple's class) and a spec per child."""

    type: Any
    context: Any
    children_specs: list

    def __post_init__(self) -> None:
        leaves = sum(s.num_leaves for s in self.children_specs)
        nodes = 1 + sum(s.num_nodes for s in self.children_specs)
        object.__setattr__(self, "num_leaves", leaves)
        object.__setattr__(self, "num_nodes", nodes)
        object.__setattr__(self, "num_children", len(self.children_specs))

    def is_leaf(self) -> bool:
        return self.type is None

    def _name(self) -> str:
        if self.type is None:
            return "*"
        if getattr(_named_results, self.type.__name__, None) is self.type:
            return self.type.__name__
        if self.type not in _NODES and hasattr(self.type, "_fields"):
            return "namedtuple"
        return self.type.__name__

    def __repr__(self, indent: int = 0) -> str:
        text = f"TreeSpec({self._name()}, {self._shown_context()}, ["
        if self.children_specs:
            indent += 2
            text += self.children_specs[0].__repr__(indent)
            text += "," if len(self.children_specs) > 1 else ""
            text += ",".join(
                "\n" + " " * indent + child.__repr__(indent) for child in self.children_specs[1:]
            )
        return text + "])"

    def _shown_context(self) -> Any:
        if self.type not in _NODES and hasattr(self.type, "_fields"):
            named = getattr(_named_results, self.type.__name__, None) is self.type
            return None if named else self.type
        return self.context

    def unflatten(self, leaves: Iterable[Any]) -> PyTree:
        """The pytree this spec describes, with `leaves` in its leaf positions."""
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(
                f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec "
                f"refers to a pytree that holds {self.num_leaves} items ({self!r})."
            )
        return self._build(iter(leaves))

    def _build(self, leaves: Any) -> PyTree:
        if self.type is None:
            return next(leaves)
        children = [spec._build(leaves) for spec in self.children_specs]
        node = _NODES.get(self.type)
        if node is not None:
            return node.unflatten(children, self.context)
        return self.type(*children)  # (a namedtuple or named result)


class LeafSpec(TreeSpec):
    """The spec of a leaf; prints as `*`."""

    def __init__(self) -> None:
        super().__init__(None, None, [])
        object.__setattr__(self, "num_leaves", 1)
        object.__setattr__(self, "num_nodes", 1)
        object.__setattr__(self, "num_children", 0)

    def __post_init__(self) -> None:
        pass

    def __repr__(self, indent: int = 0) -> str:
        return "*"


def _flatten(tree: PyTree, leaves: list, is_leaf: Callable | None) -> TreeSpec:
    kind = None if is_leaf is not None and is_leaf(tree) else _kind(tree)
    if kind is None:
        leaves.append(tree)
        return LeafSpec()
    cls = kind[0]
    node = _NODES.get(cls)
    if node is not None:
        children, context = node.flatten(tree)
    else:
        children, context = list(tree), cls
    specs = [_flatten(child, leaves, is_leaf) for child in children]
    return TreeSpec(cls, context, specs)


def tree_flatten(tree: PyTree, is_leaf: Callable | None = None) -> tuple[list, TreeSpec]:
    """(leaves, spec): the leaves left to right, and the spec that tree_unflatten rebuilds
    the tree from. is_leaf(x) True stops the descent at x."""
    leaves: list = []
    spec = _flatten(tree, leaves, is_leaf)
    return leaves, spec


def tree_unflatten(leaves: Iterable[Any], treespec: TreeSpec) -> PyTree:
    if not isinstance(treespec, TreeSpec):
        raise TypeError(
            f"tree_unflatten(leaves, treespec): Expected `treespec` to be instance of "
            f"TreeSpec but got item of type {type(treespec)}."
        )
    return treespec.unflatten(leaves)


def tree_leaves(tree: PyTree, is_leaf: Callable | None = None) -> list:
    return tree_flatten(tree, is_leaf)[0]


def tree_iter(tree: PyTree, is_leaf: Callable | None = None) -> Iterable[Any]:
    return iter(tree_leaves(tree, is_leaf))


def tree_structure(tree: PyTree, is_leaf: Callable | None = None) -> TreeSpec:
    return tree_flatten(tree, is_leaf)[1]


def _leaves_up_to(spec: TreeSpec, tree: PyTree) -> list:
    """tree's subtrees at spec's leaf positions (tree must have spec's nodes above them)."""
    if spec.type is None:
        return [tree]
    kind = _kind(tree)
    if kind is None or kind[0] is not spec.type:
        raise ValueError(
            f"Node type mismatch; expected {spec.type!r}, but got "
            f"{type(tree) if kind is None else kind[0]!r}."
        )
    node = _NODES.get(spec.type)
    children, context = node.flatten(tree) if node is not None else (list(tree), spec.type)
    if len(children) != spec.num_children:
        raise ValueError(
            f"Node arity mismatch; expected {spec.num_children}, but got {len(children)}."
        )
    if node is not None and context != spec.context:
        raise ValueError(f"Node context mismatch; expected {spec.context}, but got {context}.")
    out: list = []
    for child_spec, child in zip(spec.children_specs, children, strict=True):
        out.extend(_leaves_up_to(child_spec, child))
    return out


def tree_map(
    func: Callable, tree: PyTree, *rests: PyTree, is_leaf: Callable | None = None
) -> PyTree:
    """The tree with func(leaf, *the same position in each of rests) at every leaf (rests
    must have tree's structure, or subtrees where tree has leaves)."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [_leaves_up_to(spec, r) for r in rests]
    return spec.unflatten(func(*xs) for xs in zip(leaves, *others, strict=True))


def tree_map_(
    func: Callable, tree: PyTree, *rests: PyTree, is_leaf: Callable | None = None
) -> PyTree:
    """Call func on every leaf (with rests as tree_map) for its effect; returns tree."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [_leaves_up_to(spec, r) for r in rests]
    for xs in zip(leaves, *others, strict=True):
        func(*xs)
    return tree


def _only(types: Any, func: Callable) -> Callable:
    return lambda x: func(x) if isinstance(x, types) else x


def tree_map_only(
    type_or_types: Any, func: Callable, tree: PyTree, is_leaf: Callable | None = None
) -> PyTree:
    """tree_map that applies func only to leaves of the given type(s)."""
    return tree_map(_only(type_or_types, func), tree, is_leaf=is_leaf)


def tree_all(pred: Callable, tree: PyTree, is_leaf: Callable | None = None) -> bool:
    return all(map(pred, tree_leaves(tree, is_leaf)))


def tree_any(pred: Callable, tree: PyTree, is_leaf: Callable | None = None) -> bool:
    return any(map(pred, tree_leaves(tree, is_leaf)))


def tree_all_only(
    type_or_types: Any, pred: Callable, tree: PyTree, is_leaf: Callable | None = None
) -> bool:
    return all(pred(x) for x in tree_leaves(tree, is_leaf) if isinstance(x, type_or_types))


def tree_any_only(
    type_or_types: Any, pred: Callable, tree: PyTree, is_leaf: Callable | None = None
) -> bool:
    return any(pred(x) for x in tree_leaves(tree, is_leaf) if isinstance(x, type_or_types))
