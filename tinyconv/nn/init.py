"""Weight initialisation, in place and untracked, as torch.nn.init."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .. import _dtype
from .. import _rng as _random
from .._errors import DtypeNotImplementedError, TensorValueError
from .._rng import _gen
from ..autograd import grad_mode
from ..creation import randperm
from ..tensor import Tensor

# the functions whose gain is 1 (an int, as PyTorch returns it)
_LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


def calculate_gain(nonlinearity: str, param: Any = None) -> float:
    """The std gain that keeps activations' variance steady through `nonlinearity`: PyTorch's
    values and types (the int 1 for the linear functions and sigmoid, floats elsewhere)."""
    if nonlinearity in _LINEAR_FNS:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        # (as PyTorch: a Python int or float only; True is an int but not a slope)
        elif (isinstance(param, int) and not isinstance(param, bool)) or isinstance(param, float):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """fan_in = in_features * receptive field; fan_out = out_features * receptive field."""
    if tensor.ndim < 2:
        raise TensorValueError(
            "fan in and fan out need a tensor with at least 2 dims, got shape "
            f"{tuple(tensor.shape)}"
        )
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    """fan_in or fan_out of `tensor` by `mode` (any case, as PyTorch)."""
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    with grad_mode.no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    with grad_mode.no_grad():
        return tensor.normal_(mean, std, generator=generator)


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Any = None,
) -> Tensor:
    """Fill with N(mean, std^2) values conditioned on a <= x <= b (`a`, `b` are absolute bounds,
    not multiples of std), any shape, by PyTorch 2.13's two rejection samplers (so the same seed
    gives its values): when [a, b] holds more than 0.3 of the mass, normal draws of the whole
    tensor, those outside redrawn from a fresh whole-tensor draw until none is; otherwise
    uniform candidates on [a, b] accepted where log(uniform) <= their log density relative
    to its peak on [a, b]."""
    if not std > 0:
        raise TensorValueError(f"trunc_normal_: std must be positive, got {std!r}")
    if not a < b:
        raise TensorValueError(
            f"trunc_normal_: the bounds must satisfy a < b, got a={a!r}, b={b!r}"
        )

    def cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            UserWarning,
            stacklevel=2,
        )
    gen, dt = _gen(generator), tensor._data.dtype
    if dt.kind != "f":
        raise TypeError(f"trunc_normal_: expected a floating point tensor, got {tensor.dtype}")
    # PyTorch draws into the tensor itself first, then into empty_like(tensor) buffers (dense,
    # dims in the tensor's memory order): each draw runs along its target's memory, so a
    # transposed or channels-last tensor gets its numbers in memory order, as normal_ and
    # uniform_ on it do
    order = sorted(range(tensor.ndim), key=lambda d: -abs(tensor._data.strides[d]))
    buffer = np.empty([tensor._data.shape[d] for d in order], dt).transpose(np.argsort(order))

    def normal(target: np.ndarray) -> np.ndarray:
        return _random.fill_in_memory_order(
            target, lambda shape, contiguous: _random.normal(gen, shape, dt, mean, std, contiguous)
        )

    def uniform(target: np.ndarray, low: float = 0.0, high: float = 1.0) -> np.ndarray:
        return _random.fill_in_memory_order(
            target, lambda shape, _: _random.uniform(gen, shape, dt, low, high)
        )

    if cdf((b - mean) / std) - cdf((a - mean) / std) > 0.3:
        lo, hi = dt.type(a), dt.type(b)  # the bounds as the tensor's dtype holds them
        values = normal(tensor._data)
        while True:
            outside = (values < lo) | (values > hi)
            if not outside.any():
                break
            values = np.where(outside, normal(buffer), values)
    else:
        log_peak = -0.5 * ((max(a, min(mean, b)) - mean) / std) ** 2

        def log_density(x: np.ndarray) -> np.ndarray:  # in the tensor's dtype, as PyTorch
            return ((x - dt.type(mean)) / dt.type(std)) ** 2 * dt.type(-0.5) - dt.type(log_peak)

        def rejected(x: np.ndarray) -> np.ndarray:
            with np.errstate(divide="ignore"):
                return np.log(uniform(buffer)) > log_density(x)

        values = uniform(tensor._data, a, b)
        pending = rejected(values)
        while pending.any():
            candidates = uniform(buffer, a, b)
            values = np.where(pending, candidates, values)
            pending = np.where(pending, rejected(candidates), pending)
    return _overwrite(tensor, values)


def constant_(tensor: Tensor, val: float) -> Tensor:
    with grad_mode.no_grad():
        return tensor.fill_(val)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def _empty_noop(tensor: Tensor) -> bool:
    """A tensor with a zero-size dim has no fan to scale by: initializing it does nothing, as in
    PyTorch."""
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)
        return True
    return False


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """U(-bound, bound) with bound = gain * sqrt(3 / fan). nn.Conv2d uses a = sqrt(5): bound =
    1/sqrt(fan_in)."""
    if _empty_noop(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)  # (before the gain, as PyTorch checks them)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    if _empty_noop(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)  # (before the gain, as PyTorch checks them)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """A (semi-)orthogonal matrix times `gain`, as PyTorch: the tensor seen as (rows, rest),
    filled from the QR factorisation of a standard normal matrix (Q's columns signed by R's
    diagonal, so the result is uniform over the orthogonal matrices). rows <= rest: the rows
    are orthonormal; otherwise the columns."""
    if tensor.ndim < 2:
        raise TensorValueError(
            f"orthogonal_: only tensors with 2 or more dimensions are supported, got shape "
            f"{tuple(tensor.shape)}"
        )
    if tensor.numel() == 0:  # nothing to fill (PyTorch returns it as it is)
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    # PyTorch's draw: standard normals of the tensor's dtype in (rows, cols) order
    flat = _random.normal(_gen(generator), (rows, cols), tensor._data.dtype)
    if flat.dtype == np.float16:  # (PyTorch's QR has no half kernel: it raises after the draw)
        raise DtypeNotImplementedError(
            f'"geqrf_cpu" not implemented for {_dtype.scalar_type_name(flat.dtype)!r}'
        )
    flat = flat.astype(np.float64)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))  # (a column whose R entry is 0 keeps sign 0: measure zero)
    if rows < cols:
        q = q.T
    with grad_mode.no_grad():
        return tensor.copy_(Tensor(q.reshape(tuple(tensor.shape)) * gain))


def _overwrite(tensor: Tensor, values: np.ndarray) -> Tensor:
    """Write `values` into `tensor` in place (no graph), as the other initialisers do."""
    with grad_mode.no_grad():
        return tensor.copy_(Tensor._make(values.astype(tensor._data.dtype), None, False))


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix, into a 2-D tensor (ones on the diagonal, zeros elsewhere)."""
    if tensor.ndim != 2:
        raise TensorValueError(
            f"eye_: only tensors with 2 dimensions are supported, got {tensor.ndim}"
        )
    return _overwrite(tensor, np.eye(*tensor._data.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """The identity convolution kernel, into a 3-, 4- or 5-D weight (out, in, *k): output
    channel i of each of `groups` groups passes input channel i through unchanged (a 1 at the
    kernel's centre), as far as min(out // groups, in) reaches."""
    d = tensor.ndim
    if d not in (3, 4, 5):
        raise TensorValueError(
            f"dirac_: only tensors with 3, 4 or 5 dimensions are supported, got {d}"
        )
    shape = tensor._data.shape
    if shape[0] % groups != 0:
        raise TensorValueError(f"dirac_: dim 0 ({shape[0]}) must be divisible by groups ({groups})")
    out_per = shape[0] // groups
    w = np.zeros(shape)
    centre = tuple(k // 2 for k in shape[2:])
    for g in range(groups):
        for i in range(min(out_per, shape[1])):
            w[(g * out_per + i, i) + centre] = 1.0
    return _overwrite(tensor, w)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator: Any = None) -> Tensor:
    """A sparse 2-D matrix: normals N(0, std^2), then in each column ceil(sparsity * rows)
    entries, picked by a random permutation, set to zero (PyTorch's draws, in its order)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    with grad_mode.no_grad():
        tensor.normal_(0, std, generator=generator)
        for col_idx in range(cols):
            # (PyTorch draws the permutations from the default generator, whatever `generator`)
            row_indices = randperm(rows)
            tensor[row_indices[:num_zeros], col_idx] = 0
    return tensor


def _deprecated(new: Any) -> Any:
    """PyTorch's pre-0.4 name of an initialiser (no trailing underscore): warns, then calls it."""
    old = new.__name__[:-1]

    def deprecated(*args: Any, **kwargs: Any) -> Tensor:
        warnings.warn(
            f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new.__name__}`.",
            FutureWarning,
            stacklevel=2,
        )
        return new(*args, **kwargs)

    deprecated.__name__ = deprecated.__qualname__ = old
    deprecated.__doc__ = f"Deprecated: use nn.init.{new.__name__}."
    return deprecated


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
