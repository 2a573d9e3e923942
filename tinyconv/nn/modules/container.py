"""`torch.nn.modules.container`'s classes: tinyconv.nn's, under PyTorch's module path."""

from .. import (
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)

__all__ = [
    "ModuleDict",
    "ModuleList",
    "ParameterDict",
    "ParameterList",
    "Sequential",
]
