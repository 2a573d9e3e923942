"""`tinyconv.nn.modules`, as torch.nn.modules: the module classes under PyTorch's module
paths (`from torch.nn.modules.loss import _Loss` runs with only the import renamed). Each
submodule re-exports tinyconv.nn's classes; nothing is defined twice."""

# (PyTorch's package imports its submodules, so `nn.modules.batchnorm._BatchNorm` resolves
# without an import of its own)
import importlib as _importlib  # noqa: E402

from .. import *  # noqa: F403
from .. import __all__  # noqa: F401

for _name in (
    "activation",
    "batchnorm",
    "channelshuffle",
    "container",
    "conv",
    "distance",
    "dropout",
    "flatten",
    "fold",
    "instancenorm",
    "lazy",
    "linear",
    "loss",
    "module",
    "normalization",
    "padding",
    "pixelshuffle",
    "pooling",
    "rnn",
    "sparse",
    "transformer",
    "upsampling",
    "utils",
):
    _importlib.import_module(f"{__name__}.{_name}")
