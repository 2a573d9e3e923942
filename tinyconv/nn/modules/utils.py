"""`tinyconv.nn.modules.utils`, as torch.nn.modules.utils: _single, _pair, _triple,
_quadruple (a number repeated into a tuple; an iterable made a tuple as it is)."""

from __future__ import annotations

import collections.abc
import itertools
from collections.abc import Callable
from typing import Any

__all__ = ["_ntuple", "_pair", "_quadruple", "_single", "_triple"]


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
