"""`tinyconv.nn.parameter`, as torch.nn.parameter: Parameter, Buffer, and the uninitialised
parameter of lazy modules."""

from typing import Any

from .layers import UninitializedParameter
from .module import Buffer, Parameter

__all__ = ["Buffer", "Parameter", "UninitializedParameter", "is_lazy"]


def is_lazy(param: Any) -> bool:
    """Whether param is a lazy module's parameter whose shape is not known yet."""
    return isinstance(param, UninitializedParameter)
