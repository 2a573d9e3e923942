"""DataParallel, as torch.nn.DataParallel (and torch.nn.parallel.DataParallel) on a machine
without GPUs: it wraps `module` and calls it directly.

PyTorch without an accelerator does exactly this: it keeps `module`, sets `device_ids` to
`[]` whatever was asked for, ignores `output_device` and `dim`, and forwards every call.
tinyconv only has the CPU, so that is the whole behaviour here. The wrapper is a Module with
one child named `module`, so its state_dict keys start with ``module.`` as PyTorch's do and
checkpoints saved from a DataParallel model load into one in either library.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from .. import _process_group
from .module import Module

__all__ = ["DataParallel", "DistributedDataParallel"]


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


class DistributedDataParallel(Module):
    """Data parallelism over the processes of `tinyconv.distributed`'s default group, which
    holds one process (world size 1): the gradients' mean over the ranks is this rank's
    gradient, so the wrapper calls `module` and leaves its gradients as they are. Needs
    `init_process_group` first, as PyTorch's. The child is named `module` (state_dict keys
    ``module.weight``, ...)."""

    def __init__(
        self,
        module: Module,
        device_ids: Sequence[Any] | None = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group: Any = None,
        bucket_cap_mb: Any = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
        delay_all_reduce_named_params: Any = None,
        param_to_hook_all_reduce: Any = None,
        mixed_precision: Any = None,
        device_mesh: Any = None,
        skip_all_reduce_unused_params: bool = False,
    ) -> None:
        super().__init__()
        if process_group is None:
            _process_group.require_default()
        if not any(p.requires_grad for p in module.parameters()):
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any parameter "
                "that requires a gradient."
            )
        self.module = module
        self.device_ids = None if device_ids is None else list(device_ids)
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Skip the gradients' all-reduce inside the block (there is none to skip here)."""
        yield
