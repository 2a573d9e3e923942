"""tinyconv: a small autograd framework on NumPy, built around 2-D convolution.

The API follows PyTorch's names and semantics, so tutorial code runs with
`import tinyconv as torch` and `from tinyconv import nn`.

Reading order: autograd/ (the engine), kernels/conv.py (the convolution math; conv_fast.py is its
tuned twin), nn/functional/ (ops wired into autograd; conv.py for the convolution), nn/ and optim/
(training).
"""

import builtins
import math as _math
import warnings as _warnings

from . import _dtype as _dtype  # tinyconv._dtype holds the promotion rules
from . import _foreach as _foreach_ops  # torch._foreach_*: private in PyTorch, used by EMAs
from . import autograd
from . import version as _version
from ._dtype import (
    bfloat16,
    bool,
    double,
    float,
    float16,
    float32,
    float64,
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
from ._dtype import (
    public_default_dtype as get_default_dtype,
)
from ._errors import OutOfMemoryError
from ._printing import get_printoptions, set_printoptions
from ._rng import (
    Generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from ._rng import _default as default_generator
from ._storage import TypedStorage, UntypedStorage, is_storage, typename
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
    arange,
    as_tensor,
    asarray,
    bartlett_window,
    blackman_window,
    empty,
    empty_like,
    eye,
    from_numpy,
    frombuffer,
    full,
    full_like,
    hamming_window,
    hann_window,
    kaiser_window,
    linspace,
    logspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    scalar_tensor,
    tensor,
    zeros,
    zeros_like,
)
from .kernels.threads import (
    get_num_interop_threads,
    get_num_threads,
    set_num_interop_threads,
    set_num_threads,
)
from .special import gammainc as _gammainc
from .special import gammaincc as _gammaincc
from .special import i0  # (torch.i0 is torch.special.i0)
from .tensor import Device as device
from .tensor import MemoryFormat as memory_format
from .tensor import (
    Size,
    Tensor,
    channels_last,
    channels_last_3d,
    contiguous_format,
    layout,
    preserve_format,
    strided,
)
from .torch_functions import INPLACE_FUNCTIONS as _INPLACE_FUNCTIONS
from .torch_functions import (
    abs,
    abs_,
    absolute,
    acos,
    acosh,
    add,
    addcdiv,
    addcmul,
    addmm,
    addmv,
    all,
    allclose,
    amax,
    amin,
    aminmax,
    angle,
    any,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    argmax,
    argmin,
    argsort,
    argwhere,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    baddbmm,
    bernoulli,
    bincount,
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    block_diag,
    bmm,
    broadcast_tensors,
    broadcast_to,
    bucketize,
    cartesian_prod,
    cat,
    cdist,
    ceil,
    cholesky,
    chunk,
    clamp,
    clamp_max,
    clamp_max_,
    clamp_min,
    clamp_min_,
    clip,
    column_stack,
    combinations,
    concat,
    concatenate,
    copysign,
    corrcoef,
    cos,
    cosh,
    count_nonzero,
    cov,
    cross,
    cummax,
    cummin,
    cumprod,
    cumsum,
    deg2rad,
    det,
    diag,
    diag_embed,
    diagonal,
    diff,
    digamma,
    dist,
    div,
    divide,
    dot,
    dstack,
    einsum,
    eq,
    equal,
    erf,
    erfinv,
    exp,
    exp2,
    exp_,
    expm1,
    finfo,
    fix,
    flatten,
    flip,
    fliplr,
    flipud,
    floor,
    floor_divide,
    fmod,
    frac,
    gather,
    ge,
    ger,
    gt,
    histc,
    hstack,
    hypot,
    iinfo,
    index_add,
    index_copy,
    index_fill,
    index_reduce,
    index_select,
    inner,
    inverse,
    is_complex,
    is_floating_point,
    is_inference,
    is_tensor,
    isclose,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    kron,
    kthvalue,
    le,
    lerp,
    lgamma,
    log,
    log1p,
    log2,
    log10,
    log_,
    log_softmax,
    logaddexp,
    logaddexp2,
    logcumsumexp,
    logdet,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    logit,
    logsumexp,
    lt,
    masked_fill,
    masked_scatter,
    masked_select,
    matmul,
    matrix_exp,
    max,
    maximum,
    mean,
    median,
    meshgrid,
    min,
    minimum,
    mm,
    mode,
    moveaxis,
    movedim,
    msort,
    mul,
    mv,
    nan_to_num,
    nan_to_num_,
    nanmean,
    nanmedian,
    nanquantile,
    nansum,
    narrow,
    ne,
    neg,
    neg_,
    negative,
    nonzero,
    norm,
    numel,
    outer,
    permute,
    poisson,
    polygamma,
    pow,
    prod,
    qr,
    quantile,
    rad2deg,
    reciprocal,
    reciprocal_,
    relu,
    relu_,
    remainder,
    repeat_interleave,
    reshape,
    roll,
    rot90,
    round,
    row_stack,
    rsqrt,
    scatter,
    scatter_add,
    scatter_reduce,
    searchsorted,
    select,
    sgn,
    sigmoid,
    sigmoid_,
    sign,
    signbit,
    sin,
    sinh,
    slogdet,
    softmax,
    sort,
    split,
    sqrt,
    sqrt_,
    square,
    squeeze,
    stack,
    std,
    std_mean,
    sub,
    sum,
    svd,
    swapaxes,
    swapdims,
    t,
    take,
    take_along_dim,
    tan,
    tan_,
    tanh,
    tanh_,
    tensor_split,
    tensordot,
    tile,
    topk,
    trace,
    transpose,
    trapezoid,
    trapz,
    tril,
    triu,
    true_divide,
    trunc,
    unbind,
    unique,
    unique_consecutive,
    unsqueeze,
    var,
    var_mean,
    vdot,
    vstack,
    where,
    xlogy,
)
from .torch_functions_more import (
    addbmm,
    addmv_,
    addr,
    adjoint,
    alias_copy,
    as_strided,
    as_strided_copy,
    as_strided_scatter,
    broadcast_shapes,
    can_cast,
    chain_matmul,
    cholesky_inverse,
    cholesky_solve,
    clone,
    conj,
    conj_physical,
    conj_physical_,
    cosine_similarity,
    cumulative_trapezoid,
    detach,
    diagflat,
    diagonal_copy,
    diagonal_scatter,
    dsplit,
    empty_permuted,
    empty_strided,
    erfc,
    erfc_,
    expand_copy,
    float_power,
    fmax,
    fmin,
    frexp,
    frobenius_norm,
    gcd,
    gcd_,
    get_default_device,
    get_device,
    gradient,
    greater,
    greater_equal,
    hardshrink,
    heaviside,
    histogram,
    histogramdd,
    hsplit,
    imag,
    index_put,
    index_put_,
    is_conj,
    is_neg,
    is_nonzero,
    is_same_size,
    is_signed,
    isin,
    isreal,
    lcm,
    lcm_,
    ldexp,
    ldexp_,
    less,
    less_equal,
    lu,
    lu_solve,
    lu_unpack,
    matrix_power,
    multiply,
    narrow_copy,
    nextafter,
    nonzero_static,
    not_equal,
    nuclear_norm,
    orgqr,
    pairwise_distance,
    pdist,
    permute_copy,
    pinverse,
    positive,
    prelu,
    promote_types,
    put,
    ravel,
    real,
    renorm,
    resolve_conj,
    resolve_neg,
    result_type,
    rsub,
    select_copy,
    select_scatter,
    set_default_device,
    set_flush_denormal,
    sinc,
    sinc_,
    slice_copy,
    slice_scatter,
    split_copy,
    split_with_sizes,
    split_with_sizes_copy,
    squeeze_copy,
    subtract,
    t_copy,
    transpose_copy,
    triangular_solve,
    tril_indices,
    triu_indices,
    unbind_copy,
    unflatten,
    unfold_copy,
    unravel_index,
    unsafe_chunk,
    unsafe_split,
    unsafe_split_with_sizes,
    unsqueeze_copy,
    vander,
    view_copy,
    vsplit,
)
from .torch_version import TorchVersion as _TorchVersion

__all__ = [  # the public API (lazy: nn, optim, utils, datasets, kernels, viz, jit, save, load)
    "asarray",
    "scalar_tensor",
    "hann_window",
    "hamming_window",
    "blackman_window",
    "bartlett_window",
    "kaiser_window",
    "get_num_interop_threads",
    "set_num_interop_threads",
    "chain_matmul",
    "pinverse",
    "cholesky_solve",
    "cholesky_inverse",
    "triangular_solve",
    "lu",
    "lu_solve",
    "lu_unpack",
    "orgqr",
    "is_signed",
    "set_flush_denormal",
    "index_put",
    "index_put_",
    "put",
    "is_same_size",
    "split_with_sizes",
    "get_device",
    "hardshrink",
    "prelu",
    "addmv_",
    "ldexp_",
    "rsub",
    "addbmm",
    "addr",
    "broadcast_shapes",
    "can_cast",
    "clone",
    "cosine_similarity",
    "cumulative_trapezoid",
    "diagflat",
    "dropout",
    "dsplit",
    "erfc",
    "erfc_",
    "float_power",
    "fmax",
    "fmin",
    "frexp",
    "gcd",
    "gcd_",
    "greater",
    "greater_equal",
    "heaviside",
    "hsplit",
    "is_nonzero",
    "isin",
    "lcm",
    "lcm_",
    "ldexp",
    "less",
    "less_equal",
    "matrix_power",
    "multiply",
    "narrow_copy",
    "nextafter",
    "not_equal",
    "pairwise_distance",
    "pdist",
    "positive",
    "promote_types",
    "ravel",
    "renorm",
    "result_type",
    "select_scatter",
    "sinc",
    "sinc_",
    "slice_scatter",
    "subtract",
    "tril_indices",
    "triu_indices",
    "unflatten",
    "unravel_index",
    "vander",
    "vsplit",
    "set_printoptions",
    "initial_seed",
    "get_rng_state",
    "set_rng_state",
    "default_generator",
    "use_deterministic_algorithms",
    "get_deterministic_debug_mode",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "is_deterministic_algorithms_warn_only_enabled",
    "is_warn_always_enabled",
    "set_anomaly_enabled",
    "set_deterministic_debug_mode",
    "set_warn_always",
    "are_deterministic_algorithms_enabled",
    "set_float32_matmul_precision",
    "get_float32_matmul_precision",
    "compile",
    "FloatTensor",
    "DoubleTensor",
    "HalfTensor",
    "LongTensor",
    "IntTensor",
    "ShortTensor",
    "CharTensor",
    "ByteTensor",
    "BoolTensor",
    "logspace",
    "multinomial",
    "get_printoptions",
    "tensordot",
    "kron",
    "inner",
    "vdot",
    "cross",
    "diag_embed",
    "diagonal",
    "logaddexp",
    "logaddexp2",
    "take_along_dim",
    "unique_consecutive",
    "repeat_interleave",
    "cummax",
    "cummin",
    "logcumsumexp",
    "median",
    "nanmedian",
    "mode",
    "kthvalue",
    "quantile",
    "nanquantile",
    "aminmax",
    "msort",
    "sgn",
    "angle",
    "signbit",
    "copysign",
    "logit",
    "xlogy",
    "i0",
    "i0_",
    "igamma",
    "igammac",
    "mvlgamma",
    "tensor_split",
    "dist",
    "cdist",
    "meshgrid",
    "cartesian_prod",
    "combinations",
    "block_diag",
    "trapezoid",
    "trapz",
    "cov",
    "corrcoef",
    "bincount",
    "histc",
    "Function",
    "Generator",
    "OutOfMemoryError",
    "Size",
    "Tensor",
    "abs",
    "abs_",
    "accelerator",
    "acos",
    "add",
    "addcdiv",
    "addcmul",
    "addmm",
    "addmv",
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
    "argwhere",
    "as_tensor",
    "asin",
    "asinh",
    "acosh",
    "atanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "absolute",
    "deg2rad",
    "rad2deg",
    "atan",
    "atan2",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "autograd",
    "backends",
    "baddbmm",
    "bitwise_and",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "bmm",
    "bool",
    "broadcast_tensors",
    "broadcast_to",
    "bucketize",
    "cat",
    "ceil",
    "chunk",
    "clamp",
    "clamp_max",
    "clamp_max_",
    "clamp_min",
    "clamp_min_",
    "clip",
    "column_stack",
    "concat",
    "concatenate",
    "cos",
    "cosh",
    "count_nonzero",
    "cuda",
    "cumprod",
    "cumsum",
    "device",
    "diag",
    "diff",
    "div",
    "divide",
    "dot",
    "double",
    "dstack",
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
    "fliplr",
    "flipud",
    "float",
    "bfloat16",
    "float16",
    "float32",
    "float64",
    "floor",
    "floor_divide",
    "fmod",
    "frac",
    "from_numpy",
    "frombuffer",
    "full",
    "full_like",
    "gather",
    "ge",
    "ger",
    "get_default_dtype",
    "get_num_threads",
    "gt",
    "half",
    "hstack",
    "hypot",
    "index_select",
    "inference_mode",
    "int",
    "int16",
    "int32",
    "int64",
    "int8",
    "is_floating_point",
    "is_inference",
    "bernoulli",
    "poisson",
    "erfinv",
    "lgamma",
    "digamma",
    "polygamma",
    "index_add",
    "index_copy",
    "index_fill",
    "masked_scatter",
    "scatter_reduce",
    "index_reduce",
    "det",
    "inverse",
    "matrix_exp",
    "slogdet",
    "logdet",
    "is_complex",
    "finfo",
    "iinfo",
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
    "log10",
    "log1p",
    "log2",
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
    "masked_select",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mm",
    "moveaxis",
    "movedim",
    "mul",
    "mv",
    "nan_to_num",
    "nan_to_num_",
    "nanmean",
    "nansum",
    "narrow",
    "ne",
    "neg",
    "neg_",
    "negative",
    "no_grad",
    "nonzero",
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
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "reciprocal",
    "reciprocal_",
    "relu",
    "relu_",
    "remainder",
    "reshape",
    "roll",
    "rot90",
    "round",
    "row_stack",
    "rsqrt",
    "scatter",
    "scatter_add",
    "searchsorted",
    "seed",
    "select",
    "set_default_dtype",
    "set_default_tensor_type",
    "set_num_threads",
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
    "std_mean",
    "sub",
    "sum",
    "svd",
    "qr",
    "cholesky",
    "swapaxes",
    "swapdims",
    "t",
    "take",
    "tan",
    "tan_",
    "tanh",
    "tanh_",
    "tensor",
    "testing",
    "tile",
    "topk",
    "trace",
    "transpose",
    "tril",
    "triu",
    "true_divide",
    "trunc",
    "uint8",
    "unbind",
    "unique",
    "unsqueeze",
    "var",
    "var_mean",
    "vstack",
    "where",
    "zeros",
    "zeros_like",
]

from . import torch_functions as _torch_functions  # noqa: E402

for _name in _INPLACE_FUNCTIONS:  # (torch.sin_(x), torch.clamp_(x, 0, 1), ...)
    globals()[_name] = getattr(_torch_functions, _name)
__all__ += _INPLACE_FUNCTIONS

from . import torch_functions_nn as _torch_functions_nn  # noqa: E402

for _name in _torch_functions_nn.__all__:  # (torch.conv2d, torch.batch_norm, torch.kl_div, ...)
    globals()[_name] = getattr(_torch_functions_nn, _name)
__all__ += _torch_functions_nn.__all__

__all__ += [  # complex-number functions on real tensors, layouts, the default device
    "adjoint",
    "conj",
    "conj_physical",
    "conj_physical_",
    "detach",
    "as_strided",
    "TypedStorage",
    "UntypedStorage",
    "is_storage",
    "typename",
    "diagonal_scatter",
    "as_strided_scatter",
    "empty_permuted",
    "alias_copy",
    "as_strided_copy",
    "diagonal_copy",
    "expand_copy",
    "frobenius_norm",
    "nuclear_norm",
    "permute_copy",
    "select_copy",
    "slice_copy",
    "split_copy",
    "split_with_sizes_copy",
    "squeeze_copy",
    "t_copy",
    "transpose_copy",
    "unbind_copy",
    "unfold_copy",
    "unsafe_chunk",
    "unsafe_split",
    "unsafe_split_with_sizes",
    "unsqueeze_copy",
    "view_copy",
    "gradient",
    "empty_strided",
    "nonzero_static",
    "get_default_device",
    "histogram",
    "histogramdd",
    "imag",
    "is_conj",
    "is_neg",
    "isreal",
    "layout",
    "memory_format",
    "channels_last",
    "channels_last_3d",
    "contiguous_format",
    "preserve_format",
    "real",
    "resolve_conj",
    "resolve_neg",
    "set_default_device",
    "strided",
    "e",
    "inf",
    "nan",
    "newaxis",
    "pi",
    "range",
]

from .torch_functions_more import deprecated_range as range  # noqa: E402, A004  (torch.range)

# PyTorch's constants (torch.pi, torch.inf, ...): Python floats, and None for newaxis
e = _math.e
pi = _math.pi
inf = _math.inf
nan = _math.nan
newaxis = None

__version__ = _TorchVersion(_version.__version__)  # "2.13.0+tinyconv.0.1.0" (version.py)

dtype = type(float32)


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


_deterministic = [False, False]  # use_deterministic_algorithms(mode, warn_only)
_matmul_precision = ["highest"]


def use_deterministic_algorithms(
    mode: "builtins.bool", *, warn_only: "builtins.bool" = False
) -> None:
    """Recorded only: every tinyconv op is deterministic already."""
    _deterministic[:] = [builtins.bool(mode), builtins.bool(warn_only)]


def are_deterministic_algorithms_enabled() -> "builtins.bool":
    return _deterministic[0]


def is_deterministic_algorithms_warn_only_enabled() -> "builtins.bool":
    return _deterministic[1]


def set_deterministic_debug_mode(debug_mode: "builtins.int | str") -> None:
    """0 / 'default', 1 / 'warn', 2 / 'error': use_deterministic_algorithms off, on with
    warn_only, on (recorded only, as use_deterministic_algorithms)."""
    modes = {"default": 0, "warn": 1, "error": 2}
    if isinstance(debug_mode, str):
        if debug_mode not in modes:
            raise RuntimeError(
                "invalid value of debug_mode, expected one of `default`, `warn`, `error`, "
                f"but got {debug_mode}"
            )
        debug_mode = modes[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(
            f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}"
        )
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> "builtins.int":
    """0, 1 or 2: see set_deterministic_debug_mode."""
    return 0 if not _deterministic[0] else (1 if _deterministic[1] else 2)


_warn_always = [False]
from .autograd import anomaly as _anomaly  # noqa: E402


def set_warn_always(b: "builtins.bool") -> None:
    """Recorded only (PyTorch's C++ warnings are warned once; tinyconv's are Python's)."""
    _warn_always[0] = builtins.bool(b)


def is_warn_always_enabled() -> "builtins.bool":
    return _warn_always[0]


def is_anomaly_enabled() -> "builtins.bool":
    return _anomaly.is_anomaly_enabled()


def is_anomaly_check_nan_enabled() -> "builtins.bool":
    """Whether anomaly mode (when on) checks for NaN: PyTorch answers even while it is off."""
    return _anomaly._check_nan


def set_anomaly_enabled(enabled: "builtins.bool", check_nan: "builtins.bool" = True) -> None:
    _anomaly._set(enabled, check_nan)


def set_float32_matmul_precision(precision: str) -> None:
    """Recorded only: tinyconv's float32 matmuls are NumPy's, always at full precision."""
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(
            "set_float32_matmul_precision: expected 'highest', 'high' or 'medium', "
            f"got {precision!r}"
        )
    _matmul_precision[0] = precision


def get_float32_matmul_precision() -> str:
    return _matmul_precision[0]


def compile(model=None, **kwargs):  # noqa: A001 (PyTorch's name)
    """No compiler in tinyconv, with a UserWarning; the numbers are the eager ones. A function
    comes back as it is (as a decorator factory too); an nn.Module comes back wrapped, as
    PyTorch's OptimizedModule: it runs the module itself, passes attributes through, and its
    state_dict keys start with `_orig_mod.`, as those of a compiled PyTorch model do."""
    import warnings

    from ._compiled import OptimizedModule
    from .nn.module import Module

    def done(m):
        warnings.warn(
            "tinyconv.compile: tinyconv has no compiler; the model runs eagerly, unchanged",
            UserWarning,
            stacklevel=3,
        )
        return OptimizedModule(m) if isinstance(m, Module) else m

    return done if model is None else done(model)


class _LegacyTensorType(type):
    def __instancecheck__(cls, obj) -> "builtins.bool":
        return isinstance(obj, Tensor) and obj.dtype == cls._dtype


def _legacy(name: str, dt):
    def __new__(cls, *args):  # noqa: N807
        # FloatTensor([1, 2]) holds the data; FloatTensor(2, 3) and FloatTensor(Size([2, 3]))
        # are a new (2, 3) tensor, FloatTensor() an empty one
        if not args:
            args = (0,)
        if len(args) == 1 and not isinstance(args[0], (builtins.int, Size)):
            return tensor(args[0], dtype=dt)
        return zeros(args[0] if isinstance(args[0], Size) else args, dtype=dt)

    return _LegacyTensorType(
        name,
        (),
        {
            "__new__": __new__,
            "_dtype": dt,
            "__doc__": (
                f"Legacy constructor: {name}(data) or {name}(*sizes), a Tensor of dtype {dt}."
            ),
        },
    )


FloatTensor = _legacy("FloatTensor", float32)
DoubleTensor = _legacy("DoubleTensor", float64)
HalfTensor = _legacy("HalfTensor", float16)
LongTensor = _legacy("LongTensor", int64)
IntTensor = _legacy("IntTensor", int32)
ShortTensor = _legacy("ShortTensor", int16)
CharTensor = _legacy("CharTensor", int8)
ByteTensor = _legacy("ByteTensor", uint8)
BoolTensor = _legacy("BoolTensor", bool)


def i0_(input: Tensor) -> Tensor:
    return input.i0_()


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma function of dimension p (special.multigammaln)."""
    return input.mvlgamma(p)


def igamma(input: Tensor, other: Tensor) -> Tensor:
    """The regularized lower incomplete gamma function (special.gammainc)."""
    return _gammainc(input, other)


def igammac(input: Tensor, other: Tensor) -> Tensor:
    """The regularized upper incomplete gamma function (special.gammaincc)."""
    return _gammaincc(input, other)


def set_default_tensor_type(t: "type | str") -> None:
    """The older set_default_dtype, deprecated in PyTorch: a floating legacy tensor type
    (`DoubleTensor`) or its name (`'torch.DoubleTensor'`) sets the default dtype."""
    _warnings.warn(
        "set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
        "set_default_dtype() instead",
        UserWarning,
        stacklevel=2,
    )
    if isinstance(t, str):
        found = globals().get(t.rsplit(".", 1)[-1])
        if not isinstance(found, _LegacyTensorType) or t.split(".")[0] not in ("torch", "tinyconv"):
            raise TypeError(f"invalid type: '{t}'")
        t = found
    if not isinstance(t, _LegacyTensorType):
        raise TypeError(f"invalid type: {t!r}")
    if t._dtype not in (float16, float32, float64):
        raise TypeError("only floating-point types are supported as the default type")
    set_default_dtype(t._dtype)


def _lazy(name: str):
    import importlib

    return importlib.import_module(f".{name}", __name__)


for _name in _torch_functions.OUT_FUNCTIONS:  # (torch.exp(x, out=y), torch.max(x, 0, out=(v, i)))
    globals()[_name] = _torch_functions.accepting_out(globals()[_name], _name)


def __getattr__(
    name: str,
):  # nn, optim, kernels, viz, utils, datasets, transforms, jit, testing, save/load: on first use
    if name in (
        "nn",
        "optim",
        "kernels",
        "viz",
        "utils",
        "datasets",
        "transforms",
        "jit",
        "testing",
        "special",
        "linalg",
        "fft",
        "amp",
        "random",
        "func",
        "version",
        "distributions",
        "profiler",
        "backends",
        "cuda",
        "cpu",
        "distributed",
        "compiler",
        "_dynamo",
        "types",
        "hub",
    ):
        mod = _lazy(name)
        globals()[name] = mod
        return mod
    if name in ("autocast", "GradScaler"):  # (torch.GradScaler is torch.amp.GradScaler)
        return getattr(_lazy("amp"), name)
    if name.startswith(("is_autocast", "set_autocast", "get_autocast", "clear_autocast")):
        amp = _lazy("amp")
        if name in amp.TOP_LEVEL:
            return getattr(amp, name)
    if name == "vmap":  # torch.vmap is torch.func.vmap
        return _lazy("func").vmap
    if name in ("save", "load"):
        return getattr(_lazy("serialization"), name)
    if name in _COMPLEX_NAMES:
        raise AttributeError(
            f"tinyconv.{name} is not available: tinyconv has no complex dtypes (README, "
            "deliberate differences); a rotary embedding can use real cos and sin tensors"
        )
    raise AttributeError(f"module 'tinyconv' has no attribute {name!r}")


# PyTorch's names that make or take complex tensors (LLaMA's rotary embedding uses polar and
# view_as_complex): refused with a reason, not a bare "no attribute"
_COMPLEX_NAMES = frozenset(
    (
        "polar",
        "complex",
        "view_as_complex",
        "view_as_real",
        "stft",
        "istft",
        "complex32",
        "complex64",
        "complex128",
        "chalf",
        "cfloat",
        "cdouble",
    )
)


# NumPy warns where PyTorch quietly gives inf or nan ("overflow encountered in multiply" for
# tensor([1e30]) * 1e30). Every op's forward and the backward walk run with NumPy's warnings
# off (autograd/ieee.py); this filter keeps the rest of tinyconv's own code (optimizer steps,
# init) as quiet, for warnings raised from tinyconv's modules only (NumPy code of the user's
# still warns). Added once, when tinyconv is imported.
_warnings.filterwarnings(
    "ignore",
    message=r"(overflow|invalid value|divide by zero|underflow) encountered",
    category=RuntimeWarning,
    module=r"tinyconv(\.|$)",
)

# torch._foreach_add_ and friends (private names, so not in __all__)
globals().update({_n: getattr(_foreach_ops, _n) for _n in _foreach_ops.__all__})

# Private names that library code calls (torchvision's models, ops and transforms):
# torch._assert (a plain assert, symbolically traceable in PyTorch), torch._C's tracing and
# usage-logging hooks (no tracer, no logging here) and the gamma/Dirichlet samplers.
from . import _C  # noqa: E402, F401
from .distributions.dirichlet import _sample_dirichlet, _standard_gamma  # noqa: E402, F401


def _assert(condition: object, message: str) -> None:
    """torch._assert: `assert condition, message`."""
    assert condition, message
