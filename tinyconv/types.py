"""`tinyconv.types`: the type aliases PyTorch's signatures use (`Number`, `_size`, ...), for
code that annotates with them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

from ._dtype import DType
from .tensor import Device as _DeviceClass
from .tensor import Size, Tensor

Number = Union[int, float, bool]  # noqa: UP007 (a runtime alias, as PyTorch's)
_int = int
_float = float
_bool = bool
_complex = complex
_dtype = DType
_device = _DeviceClass
_size = Union[Size, list[int], tuple[int, ...]]  # noqa: UP007
_layout = object
_qscheme = object
Device = Union[_DeviceClass, str, int, None]  # noqa: UP007 (torch.types.Device: what names a device)
IntLikeType = int
FloatLikeType = float
PySymInt = int
_TensorOrTensors = Union[Tensor, Sequence[Tensor]]  # noqa: UP007

__all__ = ["Device", "Number"]
