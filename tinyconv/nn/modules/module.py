"""`torch.nn.modules.module`'s classes and global hooks: tinyconv.nn's, under PyTorch's module
path (`from torch.nn.modules.module import register_module_forward_hook`)."""

from .. import (
    Module,
)
from ..module import (
    _IncompatibleKeys,
    register_module_forward_hook,
    register_module_forward_pre_hook,
    register_module_full_backward_hook,
    register_module_full_backward_pre_hook,
)

__all__ = [
    "Module",
    "_IncompatibleKeys",
    "register_module_forward_hook",
    "register_module_forward_pre_hook",
    "register_module_full_backward_hook",
    "register_module_full_backward_pre_hook",
]
