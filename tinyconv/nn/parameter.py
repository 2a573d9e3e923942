"""`tinyconv.nn.parameter`, as torch.nn.parameter: Parameter and Buffer."""

from .module import Buffer, Parameter

__all__ = ["Buffer", "Parameter"]
