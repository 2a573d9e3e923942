"""`tinyconv.nn.modules.utils`, as torch.nn.modules.utils: _single, _pair, _triple,
_quadruple (a number repeated into a tuple; an iterable made a tuple as it is),
_reverse_repeat_tuple (a conv's padding in F.pad's order) and
consume_prefix_in_state_dict_if_present (a DataParallel checkpoint's "module." prefix off)."""

from __future__ import annotations

import collections.abc
import itertools
from collections.abc import Callable
from typing import Any

from ..layers import _reverse_repeat_tuple

__all__ = [
    "_ntuple",
    "_pair",
    "_quadruple",
    "_reverse_repeat_tuple",
    "_single",
    "_triple",
    "consume_prefix_in_state_dict_if_present",
]


def _ntuple(n: int, name: str = "parse") -> Callable[[Any], tuple]:
    def parse(x: Any) -> tuple:
        if isinstance(x, collections.abc.Iterable):
            return tuple(x)
        return tuple(itertools.repeat(x, n))

    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")


def consume_prefix_in_state_dict_if_present(state_dict: dict, prefix: str) -> None:
    """Strip ``prefix`` from the keys that start with it, in place (a checkpoint saved from a
    DataParallel model has "module." before every key), and from its ``_metadata`` keys."""
    for key in list(state_dict.keys()):
        if key.startswith(prefix):
            state_dict[key[len(prefix) :]] = state_dict.pop(key)
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:
        for key in list(metadata.keys()):
            # '' is the wrapper's own entry (kept), 'module' the model's, 'module.x...' the rest
            if key and (key == prefix.replace(".", "") or key.startswith(prefix)):
                metadata[key[len(prefix) :]] = metadata.pop(key)
