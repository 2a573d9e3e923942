"""More layers of PyTorch's nn (its constructor arguments, reprs and state-dict keys):
Embedding, EmbeddingBag, channel and alpha dropout (Dropout1d/2d/3d, AlphaDropout, ...),
Unflatten, PixelShuffle / PixelUnshuffle / ChannelShuffle, the padding layers, more activations
(PReLU, RReLU, SELU, CELU, GLU, ...) and losses (SmoothL1Loss, HuberLoss, KLDivLoss, the margin
losses). Each calls tinyconv.nn.functional."""

from __future__ import annotations

import builtins
from typing import Any

from .._errors import TensorValueError
from ..autograd import grad_mode
from ..creation import empty
from ..tensor import Tensor
from . import functional as F
from . import init
from .layers import _DropoutNd, _Loss, _WeightedLoss
from .module import Module, Parameter, _factory_dtype


class _PaddingIdxError(builtins.AssertionError, TensorValueError):
    """A padding_idx outside the table: PyTorch asserts (AssertionError); tinyconv raised
    ValueError, and this is both (and a RuntimeError, as TensorValueError)."""

    def __reduce__(self) -> tuple:
        return (builtins.AssertionError, self.args)


_PaddingIdxError.__name__ = _PaddingIdxError.__qualname__ = "AssertionError"
_PaddingIdxError.__module__ = "builtins"


def _fill_padding_idx_with_zero(module: Module) -> None:
    """Zero the padding_idx row of an Embedding's or EmbeddingBag's weight (no graph)."""
    if module.padding_idx is not None:
        with grad_mode.no_grad():
            module.weight[module.padding_idx].fill_(0)


class Embedding(Module):
    """A lookup table: `weight (num_embeddings, embedding_dim)`, initialised N(0, 1) with the
    `padding_idx` row zero; input `(*)` integer indices, output `(*, embedding_dim)`."""

    __constants__ = [
        "num_embeddings",
        "embedding_dim",
        "padding_idx",
        "max_norm",
        "norm_type",
        "scale_grad_by_freq",
        "sparse",
    ]

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        dt = _factory_dtype(device, dtype, "Embedding()")
        for n, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise TensorValueError(f"Embedding: {n} must be a non-negative integer, got {v!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise _PaddingIdxError(
                    f"Embedding: padding_idx must be within num_embeddings ({num_embeddings}), "
                    f"got {padding_idx}"
                )
            padding_idx = padding_idx % num_embeddings
        if sparse:
            raise NotImplementedError(
                "Embedding: sparse=True (sparse gradients) is not supported by tinyconv"
            )
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dt), not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise TensorValueError(
                    f"Embedding: _weight must have shape ({num_embeddings}, {embedding_dim}), "
                    f"got {tuple(_weight.shape)}"
                )
            self.weight = Parameter(_weight.detach(), not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        _fill_padding_idx_with_zero(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding whose weight is (a copy of) `embeddings (num, dim)`; frozen (no
        gradient) unless freeze=False. The padding_idx row is kept as given."""
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise TensorValueError(
                "Embedding.from_pretrained: embeddings must be a 2-D Tensor (num_embeddings, "
                f"embedding_dim), got {getattr(embeddings, 'shape', type(embeddings).__name__)}"
            )
        rows, cols = embeddings.shape
        return cls(
            rows,
            cols,
            padding_idx,
            max_norm,
            norm_type,
            scale_grad_by_freq,
            sparse,
            _weight=embeddings,
            _freeze=freeze,
        )


class Dropout1d(_DropoutNd):
    """Zero whole channels of `(N, C, L)` / `(C, L)` input with probability p (training)."""

    _fn = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels of `(N, C, H, W)` input with probability p (training)."""

    _fn = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels of `(N, C, D, H, W)` / `(C, D, H, W)` input with probability p."""

    _fn = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Alpha dropout of each element (for SELU networks; training only); input of any shape.
    As PyTorch's, the module ignores `inplace` (its forward never writes into the input)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels of `(N, C, *)` input (training only); ignores
    `inplace`, as PyTorch's."""

    def forward(self, input: Tensor) -> Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training)


class Unflatten(Module):
    """Split dim `dim` into `unflattened_size` (Tensor.unflatten)."""

    __constants__ = ["dim", "unflattened_size"]

    def __init__(self, dim: int | str, unflattened_size: Any) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class PixelShuffle(Module):
    """`(*, C * r^2, H, W) -> (*, C, H * r, W * r)` (F.pixel_shuffle)."""

    __constants__ = ["upscale_factor"]

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class EmbeddingBag(Module):
    """Bags of indices reduced to one row each (F.embedding_bag): `weight (num_embeddings,
    embedding_dim)` initialised N(0, 1) with the padding_idx row zero; mode 'sum', 'mean'
    (default) or 'max'."""

    __constants__ = [
        "num_embeddings",
        "embedding_dim",
        "max_norm",
        "norm_type",
        "scale_grad_by_freq",
        "mode",
        "sparse",
        "include_last_offset",
        "padding_idx",
    ]

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Tensor | None = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        what = "EmbeddingBag"
        dt = _factory_dtype(device, dtype, "EmbeddingBag()")
        for n, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise TensorValueError(f"{what}: {n} must be a non-negative integer, got {v!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise _PaddingIdxError(
                    f"{what}: padding_idx must be within num_embeddings ({num_embeddings}), "
                    f"got {padding_idx}"
                )
            padding_idx = padding_idx % num_embeddings
        if mode not in ("sum", "mean", "max"):
            raise TensorValueError(f"{what}: mode must be 'sum', 'mean' or 'max', got {mode!r}")
        if sparse:
            raise NotImplementedError(f"{what}: sparse=True is not supported by tinyconv")
        if scale_grad_by_freq:
            raise NotImplementedError(
                f"{what}: scale_grad_by_freq=True is not supported by tinyconv"
            )
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset, self.padding_idx = include_last_offset, padding_idx
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dt))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise TensorValueError(
                    f"{what}: _weight must have shape ({num_embeddings}, {embedding_dim}), "
                    f"got {tuple(_weight.shape)}"
                )
            self.weight = Parameter(_weight.detach())

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        _fill_padding_idx_with_zero(self)

    def forward(
        self, input: Tensor, offsets: Tensor | None = None, per_sample_weights: Tensor | None = None
    ) -> Tensor:
        return F.embedding_bag(
            input,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.mode,
            self.sparse,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> EmbeddingBag:
        """An EmbeddingBag whose weight is `embeddings (num, dim)` (sharing its memory); frozen
        (no gradient) unless freeze=False."""
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise TensorValueError(
                "EmbeddingBag.from_pretrained: embeddings must be a 2-D Tensor (num_embeddings, "
                f"embedding_dim), got {getattr(embeddings, 'shape', type(embeddings).__name__)}"
            )
        rows, cols = embeddings.shape
        bag = cls(
            rows,
            cols,
            max_norm,
            norm_type,
            scale_grad_by_freq,
            mode,
            sparse,
            embeddings,
            include_last_offset,
            padding_idx,
        )
        bag.weight.requires_grad = not freeze
        return bag


class ChannelShuffle(Module):
    """`(N, C, *) -> (N, C, *)`, channels regrouped across `groups` (F.channel_shuffle)."""

    __constants__ = ["groups"]

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class PixelUnshuffle(Module):
    """`(*, C, H * r, W * r) -> (*, C * r^2, H, W)` (F.pixel_unshuffle)."""

    __constants__ = ["downscale_factor"]

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


# -- padding layers: F.pad with a fixed padding and mode ----------------------------------


class _PadNd(Module):
    """The padding layers' shared part: `padding` as 2 * `_dims` ints (the last dim's pair
    first, F.pad's order), and F.pad in the class's `_mode`."""

    __constants__ = ["padding"]
    _dims = 0  # how many trailing dims are padded
    _mode = "constant"

    def _padding_tuple(self, padding: Any) -> tuple:
        if isinstance(padding, (tuple, list)):
            if len(padding) != 2 * self._dims:
                raise TensorValueError(
                    f"{type(self).__name__}: padding must be an int or a tuple of "
                    f"{2 * self._dims} ints, got {padding!r}"
                )
            return tuple(padding)
        return (padding,) * (2 * self._dims)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


# PyTorch's bases: ConstantPad1d/2d/3d derive from _ConstantPadNd (and ZeroPad1d/2d/3d from
# ConstantPad1d/2d/3d), ReflectionPad*d from _ReflectionPadNd, and so on


class _ConstantPadNd(_PadNd):
    __constants__ = ["padding", "value"]

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ReflectionPadNd(_PadNd):
    _mode = "reflect"


class _ReplicationPadNd(_PadNd):
    _mode = "replicate"


class _CircularPadNd(_PadNd):
    _mode = "circular"


def _pad_layer(name: str, base: type, dims: int, doc: str) -> type:
    """A public padding layer of `dims` trailing dims: ConstantPad*d take (padding, value),
    the others the padding alone (ReflectionPad2d(2, 0.5) is a TypeError, not a silently
    unused value), as PyTorch's."""
    if base is _ConstantPadNd:

        def __init__(self: Any, padding: Any, value: float) -> None:
            _ConstantPadNd.__init__(self, value)
            self.padding = self._padding_tuple(padding)

    else:

        def __init__(self: Any, padding: Any) -> None:
            base.__init__(self)
            self.padding = self._padding_tuple(padding)

    return type(name, (base,), {"_dims": dims, "__init__": __init__, "__doc__": doc})


def _zero_pad_layer(name: str, base: type, doc: str) -> type:
    """ZeroPad1d/2d/3d: a ConstantPad1d/2d/3d of zeros whose repr shows the padding alone."""

    def __init__(self: Any, padding: Any) -> None:
        base.__init__(self, padding, 0.0)

    def extra_repr(self: Any) -> str:
        return f"{self.padding}"

    return type(name, (base,), {"__init__": __init__, "extra_repr": extra_repr, "__doc__": doc})


ConstantPad1d = _pad_layer("ConstantPad1d", _ConstantPadNd, 1, "Pad the last dim with value.")
ConstantPad2d = _pad_layer("ConstantPad2d", _ConstantPadNd, 2, "Pad the last 2 dims with value.")
ConstantPad3d = _pad_layer("ConstantPad3d", _ConstantPadNd, 3, "Pad the last 3 dims with value.")
ZeroPad1d = _zero_pad_layer("ZeroPad1d", ConstantPad1d, "Pad the last dim with zeros.")
ZeroPad2d = _zero_pad_layer("ZeroPad2d", ConstantPad2d, "Pad the last 2 dims with zeros.")
ZeroPad3d = _zero_pad_layer("ZeroPad3d", ConstantPad3d, "Pad the last 3 dims with zeros.")
ReflectionPad1d = _pad_layer("ReflectionPad1d", _ReflectionPadNd, 1, "Mirror-pad (no edge).")
ReflectionPad2d = _pad_layer("ReflectionPad2d", _ReflectionPadNd, 2, "Mirror-pad (no edge).")
ReflectionPad3d = _pad_layer("ReflectionPad3d", _ReflectionPadNd, 3, "Mirror-pad (no edge).")
ReplicationPad1d = _pad_layer("ReplicationPad1d", _ReplicationPadNd, 1, "Repeat the edge.")
ReplicationPad2d = _pad_layer("ReplicationPad2d", _ReplicationPadNd, 2, "Repeat the edge.")
ReplicationPad3d = _pad_layer("ReplicationPad3d", _ReplicationPadNd, 3, "Repeat the edge.")
CircularPad1d = _pad_layer("CircularPad1d", _CircularPadNd, 1, "Wrap around.")
CircularPad2d = _pad_layer("CircularPad2d", _CircularPadNd, 2, "Wrap around.")
CircularPad3d = _pad_layer("CircularPad3d", _CircularPadNd, 3, "Wrap around.")


# -- activations ----------------------------------------------------------------------------


class Softmin(Module):
    __constants__ = ["dim"]

    def __init__(self, dim: Any = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class _Plain(Module):
    """An activation without arguments (repr `Name()`)."""

    _fn: Any = None

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input)


class Softsign(_Plain):
    _fn = staticmethod(F.softsign)


class Tanhshrink(_Plain):
    _fn = staticmethod(F.tanhshrink)


class LogSigmoid(_Plain):
    _fn = staticmethod(F.logsigmoid)


class SELU(Module):
    __constants__ = ["inplace"]

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.selu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class CELU(Module):
    __constants__ = ["alpha", "inplace"]

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GLU(Module):
    __constants__ = ["dim"]

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Threshold(Module):
    __constants__ = ["threshold", "value", "inplace"]

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (
            ", inplace=True" if self.inplace else ""
        )


class _Shrink(Module):
    """Softshrink and Hardshrink: the threshold `lambd` (repr: its value). PyTorch's two are
    unrelated classes, so neither derives from the other here."""

    __constants__ = ["lambd"]

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def extra_repr(self) -> str:
        return str(self.lambd)


class Softshrink(_Shrink):
    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)


class Hardshrink(_Shrink):
    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)


class PReLU(Module):
    """x where x > 0, else a * x, with a learnable slope a: one (num_parameters=1) or one per
    channel; initialised to `init`."""

    __constants__ = ["num_parameters"]

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        dt = _factory_dtype(device, dtype, "PReLU()")
        if isinstance(num_parameters, bool) or not isinstance(num_parameters, int):
            raise TypeError(f"PReLU: num_parameters must be an int, got {num_parameters!r}")
        if num_parameters < 1:
            raise TensorValueError(f"PReLU: num_parameters must be positive, got {num_parameters}")
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(empty(num_parameters, dtype=dt))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with grad_mode.no_grad():
            self.weight.fill_(self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Randomized leaky ReLU: x where x > 0, else a * x, a drawn from U(lower, upper) per
    element in training, (lower + upper) / 2 in evaluation."""

    __constants__ = ["lower", "upper", "inplace"]

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (
            ", inplace=True" if self.inplace else ""
        )


# -- losses ---------------------------------------------------------------------------------


class SmoothL1Loss(_Loss):
    __constants__ = ["reduction"]

    def __init__(
        self,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
        beta: float = 1.0,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    __constants__ = ["reduction", "delta"]

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    __constants__ = ["reduction"]

    def __init__(
        self,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
        log_target: bool = False,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


# -- distances, ranking, embedding and likelihood losses (functional: nn/functional/losses.py) --


class CosineSimilarity(Module):
    __constants__ = ["dim", "eps"]

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    __constants__ = ["norm", "eps", "keepdim"]

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class MarginRankingLoss(_Loss):
    __constants__ = ["margin", "reduction"]

    def __init__(
        self,
        margin: float = 0.0,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.margin_ranking_loss(input1, input2, target, self.margin, reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    __constants__ = ["margin", "reduction"]

    def __init__(
        self,
        margin: float = 1.0,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    __constants__ = ["reduction"]

    def __init__(
        self, size_average: Any = None, reduce: Any = None, reduction: str = "mean"
    ) -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    __constants__ = ["reduction"]

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_soft_margin_loss(input, target, self.weight, reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss (F.multi_margin_loss); `weight` (one per class) is a buffer."""

    __constants__ = ["p", "margin", "reduction"]

    def __init__(
        self,
        p: int = 1,
        margin: float = 1.0,
        weight: Tensor | None = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2):
            raise TensorValueError(f"MultiMarginLoss: p must be 1 or 2, got {p!r}")
        if weight is not None and weight.dim() != 1:
            raise TensorValueError(
                f"MultiMarginLoss: weight must be 1-D (one per class), got shape "
                f"{tuple(weight.shape)}"
            )
        self.p, self.margin = p, margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multi_margin_loss(
            input,
            target,
            p=self.p,
            margin=self.margin,
            weight=self.weight,
            reduction=self.reduction,
        )


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss (F.multilabel_margin_loss)."""

    __constants__ = ["reduction"]

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    __constants__ = ["margin", "reduction"]

    def __init__(
        self,
        margin: float = 0.0,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.cosine_embedding_loss(
            input1, input2, target, self.margin, reduction=self.reduction
        )


class TripletMarginLoss(_Loss):
    __constants__ = ["margin", "p", "eps", "swap", "reduction"]

    def __init__(
        self,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_loss(
            anchor,
            positive,
            negative,
            self.margin,
            self.p,
            self.eps,
            self.swap,
            reduction=self.reduction,
        )


class PoissonNLLLoss(_Loss):
    __constants__ = ["log_input", "full", "eps", "reduction"]

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        size_average: Any = None,
        eps: float = 1e-8,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: Tensor, target: Tensor) -> Tensor:
        return F.poisson_nll_loss(
            log_input, target, self.log_input, self.full, eps=self.eps, reduction=self.reduction
        )


class GaussianNLLLoss(_Loss):
    __constants__ = ["full", "eps", "reduction"]

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.full, self.eps = full, eps

    def forward(self, input: Tensor, target: Tensor, var: Any) -> Tensor:
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class CTCLoss(_Loss):
    """The connectionist temporal classification loss (F.ctc_loss): log_probs (T, N, C) or
    (T, C), targets padded (N, S) or concatenated, and the two lengths."""

    __constants__ = ["blank", "reduction"]

    def __init__(
        self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False
    ) -> None:
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(
        self, log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any
    ) -> Tensor:
        return F.ctc_loss(
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            self.blank,
            self.reduction,
            self.zero_infinity,
        )
