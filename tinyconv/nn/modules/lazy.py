"""`torch.nn.modules.lazy`'s mixin: tinyconv.nn's, under PyTorch's module path (LazyLinear,
LazyConv2d, LazyBatchNorm2d, ... are instances of it)."""

from ..layers import LazyModuleMixin

__all__ = ["LazyModuleMixin"]
