"""Collation, as torch.utils.data._utils.collate: how a list of samples becomes one batch.

`collate(batch, collate_fn_map=...)` looks the type of the batch's first sample up in
`collate_fn_map` (its exact type first, then the first entry it is an instance of) and calls
that function as fn(batch, collate_fn_map=collate_fn_map). Containers have no entry: mappings,
namedtuples and sequences are collated field by field, each field by `collate` again.
`default_collate` is `collate` with `default_collate_fn_map`: tensors are stacked along a new
first dimension, NumPy arrays and scalars become tensors, Python floats a float64 tensor, ints
an int64 one (bools a bool one), strings and bytes stay a list. Extending default_collate is
PyTorch's documented recipe: copy the map, add a type, call collate with it:

    def collate_point(batch, *, collate_fn_map=None):
        return tinyconv.tensor([[p.x, p.y] for p in batch])

    collate(batch, collate_fn_map={**default_collate_fn_map, Point: collate_point})
"""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ...._dtype import float64
from ....creation import as_tensor, tensor
from ....tensor import Tensor
from ....torch_functions import stack

__all__ = [
    "collate",
    "collate_float_fn",
    "collate_int_fn",
    "collate_numpy_array_fn",
    "collate_numpy_scalar_fn",
    "collate_str_fn",
    "collate_tensor_fn",
    "default_collate",
    "default_collate_err_msg_format",
    "default_collate_fn_map",
    "default_convert",
]

# NumPy dtypes of bytes, strings and objects (dtype.str such as '<U3', '|S2', '|O'): not
# numbers, so never made into tensors
np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)

CollateFnMap = dict[type | tuple[type, ...], Callable[..., Any]]


def default_convert(data: Any) -> Any:
    """What DataLoader does to each sample with batch_size=None: NumPy arrays and scalars
    become tensors (arrays of strings or objects stay as they are), containers are converted
    element by element (a mapping or a mutable sequence keeps its type; a tuple becomes a list,
    as PyTorch's)."""
    if isinstance(data, Tensor):
        return data
    if type(data).__module__ == "numpy" and not isinstance(data, (np.str_, np.bytes_)):
        if isinstance(data, np.ndarray) and np_str_obj_array_pattern.search(data.dtype.str):
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(elem: Any, values: dict) -> Any:
    """`values` in a mapping of elem's type: a copy of a mutable one updated (so a defaultdict
    keeps its default factory), elem's type built from a dict otherwise, a dict if that fails."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(values)
            return clone
        return type(elem)(values)
    except TypeError:
        return values


def _rebuild_sequence(elem: Any, values: list) -> Any:
    """`values` in a sequence of elem's type (a copy of a mutable one with its items replaced),
    a list if that fails."""
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, v in enumerate(values):
                clone[i] = v
            return clone
        return type(elem)(values)
    except TypeError:
        return values


def collate(batch: Any, *, collate_fn_map: CollateFnMap | None = None) -> Any:
    """Join a list of samples into a batch with the functions of `collate_fn_map` (keyed by
    the type of the samples; see the module docstring), collating containers field by field."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type, fn in collate_fn_map.items():
            if isinstance(elem, collate_type):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        fields = {
            key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem
        }
        return _rebuild_mapping(elem, fields)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(
            *(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch, strict=False))
        )
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(s) != size for s in batch):
            raise RuntimeError(
                "default_collate: each element in list of batch should be of equal size "
                f"(sample 0 has {size} fields, others {sorted({len(s) for s in batch})})"
            )
        # (each field as the tuple zip makes, as PyTorch's: a field of strings stays a tuple)
        fields = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch, strict=False)]
        if isinstance(elem, tuple):
            return fields  # a list, as PyTorch's (for X, y in loader unpacks it the same way)
        return _rebuild_sequence(elem, fields)
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch: Any, *, collate_fn_map: CollateFnMap | None = None) -> Tensor:
    """Tensors of one shape stacked along a new first dimension."""
    shapes = {tuple(t.shape) for t in batch}
    if len(shapes) > 1:
        raise RuntimeError(
            f"default_collate: can't stack samples of different shapes {sorted(shapes)} into a "
            "batch (stack expects each tensor to be equal size); pad them to one shape or pass "
            "a collate_fn"
        )
    return stack(list(batch), 0)


def collate_numpy_array_fn(batch: Any, *, collate_fn_map: CollateFnMap | None = None) -> Any:
    """NumPy arrays as tensors, then collated as tensors (arrays of strings or objects are
    refused)."""
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch: Any, *, collate_fn_map: CollateFnMap | None = None) -> Tensor:
    """NumPy scalars as one tensor of their dtype."""
    return as_tensor(batch)


def collate_float_fn(batch: Any, *, collate_fn_map: CollateFnMap | None = None) -> Tensor:
    """Python floats as a float64 tensor."""
    return tensor(batch, dtype=float64)


def collate_int_fn(batch: Any, *, collate_fn_map: CollateFnMap | None = None) -> Tensor:
    """Python ints as an int64 tensor (bools, which are ints, as a bool tensor)."""
    return tensor(batch)


def collate_str_fn(batch: Any, *, collate_fn_map: CollateFnMap | None = None) -> Any:
    """Strings and bytes as they come."""
    return batch


default_collate_fn_map: CollateFnMap = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch: Any) -> Any:
    """Join a list of samples into a batch, as PyTorch's default_collate: `collate` with
    `default_collate_fn_map` (tensors and NumPy arrays stacked along a new first dimension,
    numbers as tensors, strings kept, containers field by field; a tuple sample gives a list
    of batched fields). Anything else (None included) is a TypeError."""
    return collate(batch, collate_fn_map=default_collate_fn_map)
