"""DataParallel, as torch.nn.DataParallel (and torch.nn.parallel.DataParallel) on a machine
without GPUs: it wraps `module` and calls it directly.

PyTorch without an accelerator does exactly this: it keeps `module`, sets `device_ids` to
`[]` whatever was asked for, ignores `output_device` and `dim`, and forwards every call.
tinyconv only has the CPU, so that is the whole behaviour here. The wrapper is a Module with
one child named `module`, so its state_dict keys start with ``module.`` as PyTorch's do and
checkpoints saved from a DataParallel model load into one in either library.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    """Runs `module(*inputs, **kwargs)`; inputs and outputs keep their shapes (no scatter
    along `dim`: there is one device). `device_ids` is `[]`, as PyTorch's on the CPU."""

    def __init__(
        self,
        module: Module,
        device_ids: Sequence[Any] | None = None,
        output_device: Any = None,
        dim: int = 0,
    ) -> None:
        super().__init__()
        # PyTorch without a GPU keeps none of device_ids, output_device, dim (nor checks them)
        self.module = module
        self.device_ids: list = []

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)
