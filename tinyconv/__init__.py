"""tinyconv: a small autograd framework on NumPy, built around 2-D convolution.

The API follows PyTorch's names and semantics, so tutorial code runs with
`import tinyconv as torch` and `from tinyconv import nn`.

Reading order: autograd/ (the engine), kernels/conv.py (the convolution math; conv_fast.py is its tuned twin),
nn/functional/ (ops wired into autograd; conv.py for the convolution), nn/ and optim/ (training).
"""
import builtins

from . import _dtype as _dtype  # tinyconv._dtype holds the promotion rules
from . import autograd
from ._dtype import (
    bool,
    double,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    short,
    uint8,
)
from ._rng import manual_seed, seed
from .autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .autograd.function import Function
from .creation import (
    Generator,
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .tensor import Device as device
from .tensor import Size, Tensor
from .torch_functions import (
    abs,
    abs_,
    acos,
    add,
    addcdiv,
    addcmul,
    all,
    allclose,
    amax,
    amin,
    any,
    arccos,
    arcsin,
    arctan,
    arctan2,
    argmax,
    argmin,
    argsort,
    asin,
    atan,
    atan2,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    cat,
    ceil,
    chunk,
    clamp,
    clamp_max,
    clamp_max_,
    clamp_min,
    clamp_min_,
    clip,
    concat,
    concatenate,
    cos,
    cosh,
    cumprod,
    cumsum,
    diff,
    div,
    dot,
    einsum,
    eq,
    equal,
    erf,
    exp,
    exp2,
    exp_,
    expm1,
    fix,
    flatten,
    flip,
    floor,
    frac,
    gather,
    ge,
    ger,
    gt,
    index_select,
    is_floating_point,
    is_tensor,
    isclose,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    le,
    lerp,
    log,
    log1p,
    log2,
    log10,
    log_,
    log_softmax,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    logsumexp,
    lt,
    masked_fill,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    mul,
    nan_to_num,
    nan_to_num_,
    narrow,
    ne,
    neg,
    neg_,
    negative,
    norm,
    numel,
    outer,
    permute,
    pow,
    prod,
    reciprocal,
    reciprocal_,
    relu,
    relu_,
    reshape,
    roll,
    round,
    rsqrt,
    scatter,
    scatter_add,
    sigmoid,
    sigmoid_,
    sign,
    sin,
    sinh,
    softmax,
    sort,
    split,
    sqrt,
    sqrt_,
    square,
    squeeze,
    stack,
    std,
    sub,
    sum,
    t,
    tanh,
    tanh_,
    tile,
    topk,
    transpose,
    tril,
    triu,
    trunc,
    unbind,
    unsqueeze,
    var,
    where,
)

__all__ = [  # the public API (lazy: nn, optim, utils, datasets, kernels, viz, jit, save, load)
    "Function",
    "Generator",
    "Size",
    "Tensor",
    "abs",
    "abs_",
    "accelerator",
    "acos",
    "add",
    "addcdiv",
    "addcmul",
    "all",
    "allclose",
    "amax",
    "amin",
    "any",
    "arange",
    "arccos",
    "arcsin",
    "arctan",
    "arctan2",
    "argmax",
    "argmin",
    "argsort",
    "as_tensor",
    "asin",
    "atan",
    "atan2",
    "autograd",
    "backends",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "bool",
    "cat",
    "ceil",
    "chunk",
    "clamp",
    "clamp_max",
    "clamp_max_",
    "clamp_min",
    "clamp_min_",
    "clip",
    "concat",
    "concatenate",
    "cos",
    "cosh",
    "cuda",
    "cumprod",
    "cumsum",
    "device",
    "diff",
    "div",
    "dot",
    "double",
    "dtype",
    "einsum",
    "empty",
    "empty_like",
    "enable_grad",
    "eq",
    "equal",
    "erf",
    "exp",
    "exp2",
    "exp_",
    "expm1",
    "eye",
    "fix",
    "flatten",
    "flip",
    "float",
    "float16",
    "float32",
    "float64",
    "floor",
    "frac",
    "from_numpy",
    "full",
    "full_like",
    "gather",
    "ge",
    "ger",
    "get_default_dtype",
    "gt",
    "half",
    "index_select",
    "inference_mode",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "is_floating_point",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "is_tensor",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "le",
    "lerp",
    "linspace",
    "log",
    "log1p",
    "log2",
    "log10",
    "log_",
    "log_softmax",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "logsumexp",
    "long",
    "lt",
    "manual_seed",
    "masked_fill",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mm",
    "mul",
    "nan_to_num",
    "nan_to_num_",
    "narrow",
    "ne",
    "neg",
    "neg_",
    "negative",
    "no_grad",
    "norm",
    "normal",
    "numel",
    "ones",
    "ones_like",
    "outer",
    "permute",
    "pow",
    "prod",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "reciprocal",
    "reciprocal_",
    "relu",
    "relu_",
    "reshape",
    "roll",
    "round",
    "rsqrt",
    "scatter",
    "scatter_add",
    "seed",
    "set_default_dtype",
    "set_grad_enabled",
    "short",
    "sigmoid",
    "sigmoid_",
    "sign",
    "sin",
    "sinh",
    "softmax",
    "sort",
    "split",
    "sqrt",
    "sqrt_",
    "square",
    "squeeze",
    "stack",
    "std",
    "sub",
    "sum",
    "t",
    "tanh",
    "tanh_",
    "tensor",
    "testing",
    "tile",
    "topk",
    "transpose",
    "tril",
    "triu",
    "trunc",
    "uint8",
    "unbind",
    "unsqueeze",
    "var",
    "where",
    "zeros",
    "zeros_like",
]

__version__ = "0.1.0"

dtype = type(float32)


class cuda:
    """`tinyconv.cuda.is_available()` is False: there is only the CPU."""

    @staticmethod
    def is_available() -> "builtins.bool":
        return False

    @staticmethod
    def device_count() -> "builtins.int":
        return 0


class accelerator:
    """`tinyconv.accelerator.is_available()` is False and `current_accelerator()` None: CPU only.

    Newer PyTorch tutorials pick the device with
    `torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"`.
    """

    @staticmethod
    def is_available() -> "builtins.bool":
        return False

    @staticmethod
    def current_accelerator(check_available: "builtins.bool" = False) -> None:
        return None

    @staticmethod
    def device_count() -> "builtins.int":
        return 0


class backends:
    """`tinyconv.backends.mps.is_available()` is False (older tutorials' device choice);
    `backends.cudnn` flags can be set and are ignored."""

    class mps:
        @staticmethod
        def is_available() -> "builtins.bool":
            return False

        @staticmethod
        def is_built() -> "builtins.bool":
            return False

    class cudnn:
        enabled = False
        benchmark = False
        deterministic = False

        @staticmethod
        def is_available() -> "builtins.bool":
            return False


def _lazy(name: str):
    import importlib
    return importlib.import_module(f".{name}", __name__)


def __getattr__(name: str):  # nn, optim, kernels, viz, utils, datasets, jit, testing, save/load load on first use
    if name in ("nn", "optim", "kernels", "viz", "utils", "datasets", "jit", "testing"):
        mod = _lazy(name)
        globals()[name] = mod
        return mod
    if name in ("save", "load"):
        return getattr(_lazy("serialization"), name)
    raise AttributeError(f"module 'tinyconv' has no attribute {name!r}")
