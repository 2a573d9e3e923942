"""tinyconv: a small autograd framework on NumPy, built around 2-D convolution.

The API follows PyTorch's names and semantics, so tutorial code runs with
`import tinyconv as torch` and `from tinyconv import nn`.

Reading order: autograd/ (the engine), kernels/conv.py (the convolution math),
nn/functional.py (ops wired into autograd), nn/ and optim/ (training).
"""
from . import _dtype
from ._dtype import (
    bool, double, float, float16, float32, float64, get_default_dtype, half, int, int8, int16,
    int32, int64, long, set_default_dtype, short, uint8,
)
from .tensor import Device as device
from .tensor import Size, Tensor
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .autograd import inference_mode, is_inference_mode_enabled  # noqa: F401
from .autograd.function import Function
from .creation import Generator  # noqa: F401
from .creation import (
    arange, as_tensor, empty, eye, from_numpy, full, full_like, linspace, manual_seed, normal, ones,
    ones_like, rand, rand_like, randint, randn, randn_like, randperm, seed, tensor, zeros, zeros_like,
)
from .functions import (  # noqa: F401
    abs, add, all, allclose, amax, amin, any, argmax, argmin, cat, chunk, clamp, clip, concat,
    concatenate, cos, div, dot, equal, exp, flatten, flip, is_floating_point, is_tensor, isclose,
    isfinite, isnan, log, max, maximum, mean, min, minimum, mm, mul, numel, permute, pow, relu,
    reshape, sigmoid, sign, sin, split, sqrt, square, squeeze, stack, std, sub, sum, t, tanh,
    transpose, unbind, unsqueeze, var, where,
)
from .functions import log_softmax, matmul, norm, prod, softmax  # noqa: F401
from . import autograd  # noqa: E402

__version__ = "0.1.0"

dtype = type(float32)


class cuda:  # noqa: N801  (PyTorch's spelling; tinyconv runs on the CPU only)
    """`tinyconv.cuda.is_available()` is False: there is only the CPU."""

    @staticmethod
    def is_available() -> "builtins.bool":  # noqa: F821
        return False

    @staticmethod
    def device_count() -> "builtins.int":  # noqa: F821
        return 0


class accelerator:  # noqa: N801  (PyTorch's spelling)
    """`tinyconv.accelerator.is_available()` is False and `current_accelerator()` None: CPU only.

    Newer PyTorch tutorials pick the device with
    `torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"`.
    """

    @staticmethod
    def is_available() -> "builtins.bool":  # noqa: F821
        return False

    @staticmethod
    def current_accelerator(check_available: "builtins.bool" = False) -> None:  # noqa: F821
        return None

    @staticmethod
    def device_count() -> "builtins.int":  # noqa: F821
        return 0


class backends:  # noqa: N801
    """`tinyconv.backends.mps.is_available()` is False (older tutorials' device choice);
    `backends.cudnn` flags can be set and are ignored."""

    class mps:  # noqa: N801
        @staticmethod
        def is_available() -> "builtins.bool":  # noqa: F821
            return False

        @staticmethod
        def is_built() -> "builtins.bool":  # noqa: F821
            return False

    class cudnn:  # noqa: N801
        enabled = False
        benchmark = False
        deterministic = False

        @staticmethod
        def is_available() -> "builtins.bool":  # noqa: F821
            return False


def _lazy(name: str):
    import importlib
    return importlib.import_module(f".{name}", __name__)


def __getattr__(name: str):  # nn, optim, kernels, viz, utils, save/load load on first use
    if name in ("nn", "optim", "kernels", "viz", "utils"):
        mod = _lazy(name)
        globals()[name] = mod
        return mod
    if name in ("save", "load"):
        return getattr(_lazy("serialization"), name)
    raise AttributeError(f"module 'tinyconv' has no attribute {name!r}")
