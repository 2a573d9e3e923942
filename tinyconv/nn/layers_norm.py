"""Normalization layers beyond batch and layer norm: GroupNorm, InstanceNorm1d/2d/3d,
LocalResponseNorm and RMSNorm (PyTorch's arguments, state-dict keys and reprs). Each calls its
tinyconv.nn.functional op; the batch norms and LayerNorm live in layers.py."""

from __future__ import annotations

import warnings
from typing import Any

from .._errors import TensorValueError
from ..creation import empty
from ..tensor import Tensor
from . import functional as F
from . import init
from .layers import _affine_parameters, _check_rank, _NormBase
from .module import Module, Parameter, _factory_dtype


class GroupNorm(Module):
    """Normalise `(N, C, *)` input over groups of `num_channels / num_groups` channels, per
    sample; learnable per-channel weight (ones) and bias (zeros) when `affine`."""

    __constants__ = ["num_groups", "num_channels", "eps", "affine"]

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        dt = _factory_dtype(device, dtype, "GroupNorm()")
        for n, v in (("num_groups", num_groups), ("num_channels", num_channels)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise TensorValueError(f"GroupNorm: {n} must be a positive integer, got {v!r}")
        if num_channels % num_groups:
            raise TensorValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                f"({num_groups})"
            )
        self.num_groups, self.num_channels, self.eps, self.affine = (
            num_groups,
            num_channels,
            eps,
            affine,
        )
        _affine_parameters(self, affine, bias, num_channels, dt)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class _InstanceNorm(_NormBase):
    """Shared by InstanceNorm1d/2d/3d. PyTorch's defaults differ from batch norm's: no affine
    parameters and no running stats unless asked for."""

    _spatial = 0  # spatial dims: the input is (N, C, *spatial) or unbatched (C, *spatial)
    _shape_names = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias
        )

    def _get_no_batch_dim(self) -> int:
        """The rank of an unbatched input, (C, *spatial) (each layer says; the lazy ones
        read `_spatial` too)."""
        raise NotImplementedError

    def _handle_no_batch_input(self, input: Tensor) -> Tensor:
        return self._apply_instance_norm(input.unsqueeze(0)).squeeze(0)

    def _apply_instance_norm(self, input: Tensor) -> Tensor:
        return F.instance_norm(
            input,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.0,
            self.eps,
        )

    def forward(self, input: Tensor) -> Tensor:
        # PyTorch's steps, each a method a subclass may override
        self._check_input_dim(input)
        name = type(self).__name__
        dim = input.ndim - self._get_no_batch_dim()
        if input.shape[dim] != self.num_features:
            if self.affine:
                raise TensorValueError(
                    f"{name}: expected input's size at dim={dim} to match num_features "
                    f"({self.num_features}), but got: {input.shape[dim]} (input shape "
                    f"{tuple(input.shape)})"
                )
            warnings.warn(  # as PyTorch: num_features is unused without affine parameters
                f"{name}: input's size at dim={dim} does not match num_features. You can "
                "silence this warning by not passing in num_features, which is not used "
                "because affine=False",
                stacklevel=2,
            )
        if input.ndim == self._get_no_batch_dim():
            return self._handle_no_batch_input(input)
        return self._apply_instance_norm(input)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of `(N, C, L)` or `(C, L)` input: each sample's channel over L."""

    _spatial = 1
    _shape_names = "a 2-D (C, L) or 3-D (N, C, L)"

    def _get_no_batch_dim(self) -> int:
        return self._spatial + 1

    def _check_input_dim(self, input: Tensor) -> None:
        _check_rank(self, input, (self._spatial + 1, self._spatial + 2), self._shape_names)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of `(N, C, H, W)` or `(C, H, W)` input, each sample's channel
    over (H, W)."""

    _spatial = 2
    _shape_names = "a 3-D (C, H, W) or 4-D (N, C, H, W)"

    def _get_no_batch_dim(self) -> int:
        return self._spatial + 1

    def _check_input_dim(self, input: Tensor) -> None:
        _check_rank(self, input, (self._spatial + 1, self._spatial + 2), self._shape_names)


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of `(N, C, D, H, W)` or `(C, D, H, W)` input."""

    _spatial = 3
    _shape_names = "a 4-D (C, D, H, W) or 5-D (N, C, D, H, W)"

    def _get_no_batch_dim(self) -> int:
        return self._spatial + 1

    def _check_input_dim(self, input: Tensor) -> None:
        _check_rank(self, input, (self._spatial + 1, self._spatial + 2), self._shape_names)


class LocalResponseNorm(Module):
    """Divide by `(k + alpha / size * sum of squares over `size` neighbouring channels) ** beta`
    (AlexNet's normalization); no parameters."""

    __constants__ = ["size", "alpha", "beta", "k"]

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class RMSNorm(Module):
    """Divide by the root mean square over the last dims `normalized_shape` (F.rms_norm),
    times a learnable weight (ones) when `elementwise_affine`; no bias, no centring.
    eps None: the machine epsilon of the input's (computing) dtype."""

    __constants__ = ["normalized_shape", "eps", "elementwise_affine"]

    def __init__(
        self,
        normalized_shape: Any,
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        dt = _factory_dtype(device, dtype, "RMSNorm()")
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(empty(self.normalized_shape, dtype=dt))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()  # (last, as PyTorch: a subclass's override sets the values)

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
