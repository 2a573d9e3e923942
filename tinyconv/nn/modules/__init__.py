"""`tinyconv.nn.modules`, as torch.nn.modules: the module classes under PyTorch's module
paths (`from torch.nn.modules.loss import _Loss` runs with only the import renamed). Each
submodule re-exports tinyconv.nn's classes; nothing is defined twice."""

from .. import *  # noqa: F403
from .. import __all__  # noqa: F401
