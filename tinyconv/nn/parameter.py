"""`tinyconv.nn.parameter`, as torch.nn.parameter: Parameter, Buffer, and the uninitialised
parameter and buffer of lazy modules."""

from .layers import (
    UninitializedBuffer,
    UninitializedParameter,
    UninitializedTensorMixin,
    is_lazy,
)
from .module import Buffer, Parameter

__all__ = [
    "Buffer",
    "Parameter",
    "UninitializedBuffer",
    "UninitializedParameter",
    "UninitializedTensorMixin",
    "is_lazy",
]
