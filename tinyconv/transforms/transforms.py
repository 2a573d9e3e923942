"""Image transforms as callable objects, as torchvision.transforms (on Tensors only).

The classes that are `nn.Module`s in torchvision are `tinyconv.nn.Module`s here (so they fit
in an `nn.Sequential`); `Compose`, `ToTensor` and `Lambda` are plain callables, as there.
Random transforms draw from tinyconv's generator exactly the numbers torchvision draws from
PyTorch's (`rand(1) < p` for a flip, `randint(0, h - th + 1, size=(1,))` for a crop offset),
so after `tinyconv.manual_seed(s)` they crop and flip as torchvision does after
`torch.manual_seed(s)`.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .._errors import TensorValueError
from ..creation import empty, rand, randint, tensor
from ..nn import Module
from ..tensor import Tensor
from . import functional as TF
from .functional import InterpolationMode


class Compose:
    """Applies `transforms` one after another: `Compose([ToTensor(), Normalize(m, s)])(img)`."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = transforms

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + "".join(f"\n    {t}" for t in self.transforms) + "\n)"


class ToTensor:
    """ndarray `(H, W, C)` or `(H, W)` -> Tensor `(C, H, W)` (uint8 scaled to [0, 1]); a Tensor
    passes through unchanged (see `functional.to_tensor`)."""

    def __call__(self, pic: Any) -> Tensor:
        return TF.to_tensor(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Lambda:
    """Wraps a callable `lambd` as a transform."""

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: lambd must be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ConvertImageDtype(Module):
    """Converts an image to `dtype`, rescaling its range (see `functional.convert_image_dtype`)."""

    def __init__(self, dtype: Any) -> None:
        super().__init__()
        self.dtype = dtype

    def forward(self, image: Tensor) -> Tensor:
        return TF.convert_image_dtype(image, self.dtype)


class Normalize(Module):
    """`(x - mean[c]) / std[c]` per channel of a float image `(..., C, H, W)`."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        super().__init__()
        self.mean, self.std, self.inplace = mean, std, inplace

    def forward(self, tensor: Tensor) -> Tensor:
        return TF.normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class Resize(Module):
    """Resizes an image `(..., H, W)` to `size` ((h, w), or an int for the shorter edge); see
    `functional.resize`."""

    def __init__(
        self,
        size: Any,
        interpolation: Any = InterpolationMode.BILINEAR,
        max_size: int | None = None,
        antialias: bool | None = True,
    ) -> None:
        super().__init__()
        if not isinstance(size, (int, Sequence)):
            raise TypeError(f"Resize: size must be an int or a sequence, got {type(size).__name__}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise TensorValueError(f"Resize: a sequence size must have 1 or 2 values, got {size!r}")
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = TF.interpolation_mode(interpolation, "Resize")

    def forward(self, img: Tensor) -> Tensor:
        return TF.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(size={self.size}, interpolation={self.interpolation.value}, "
            f"max_size={self.max_size}, antialias={self.antialias})"
        )


class CenterCrop(Module):
    """Crops the central `size` (int or (h, w)) window, zero-padding a smaller image."""

    def __init__(self, size: Any) -> None:
        super().__init__()
        self.size = TF._pair(size, "CenterCrop")

    def forward(self, img: Tensor) -> Tensor:
        return TF.center_crop(img, self.size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


def _check_padding(padding: Any, fill: Any, padding_mode: Any, what: str) -> None:
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError(
            f"{what}: padding must be an int or a tuple/list, got {type(padding).__name__}"
        )
    if not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError(f"{what}: fill must be a number or a tuple, got {type(fill).__name__}")
    if padding_mode not in TF._PADDING_MODES:
        raise TensorValueError(
            f"{what}: padding_mode must be one of 'constant', 'edge', 'reflect', 'symmetric', "
            f"got {padding_mode!r}"
        )
    if isinstance(padding, Sequence) and len(padding) not in (1, 2, 4):
        raise TensorValueError(
            f"{what}: padding must be an int or a 1, 2, or 4 element tuple, got {len(padding)} "
            f"elements ({padding!r})"
        )


class Pad(Module):
    """Pads each side of the image (see `functional.pad` for `padding` and `padding_mode`)."""

    def __init__(self, padding: Any, fill: Any = 0, padding_mode: str = "constant") -> None:
        super().__init__()
        _check_padding(padding, fill, padding_mode, "Pad")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def forward(self, img: Tensor) -> Tensor:
        return TF.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(padding={self.padding}, fill={self.fill}, "
            f"padding_mode={self.padding_mode})"
        )


class RandomCrop(Module):
    """Crops a random `size` window (after padding by `padding`, and, with `pad_if_needed`,
    up to `size`); the offsets are drawn as torchvision draws them."""

    def __init__(
        self,
        size: Any,
        padding: Any = None,
        pad_if_needed: bool = False,
        fill: Any = 0,
        padding_mode: str = "constant",
    ) -> None:
        super().__init__()
        self.size = tuple(TF._pair(size, "RandomCrop"))
        if padding is not None:
            _check_padding(padding, fill, padding_mode, "RandomCrop")
        elif padding_mode not in TF._PADDING_MODES:
            raise TensorValueError(
                "RandomCrop: padding_mode must be one of 'constant', 'edge', 'reflect', "
                f"'symmetric', got {padding_mode!r}"
            )
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    @staticmethod
    def get_params(img: Tensor, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """(top, left, height, width) of a uniformly random `output_size` window of `img`."""
        _, h, w = TF.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise TensorValueError(
                f"RandomCrop: required crop size {(th, tw)} is larger than input image size "
                f"{(h, w)}"
            )
        if (h, w) == (th, tw):
            return 0, 0, h, w  # nothing is drawn, as in torchvision
        i = int(randint(0, h - th + 1, size=(1,)).item())
        j = int(randint(0, w - tw + 1, size=(1,)).item())
        return i, j, th, tw

    def forward(self, img: Tensor) -> Tensor:
        if self.padding is not None:
            img = TF.pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = TF.get_dimensions(img)
        if self.pad_if_needed and width < self.size[1]:
            img = TF.pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            img = TF.pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        return TF.crop(img, *self.get_params(img, self.size))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class _RandomFlip(Module):
    """Applies `_flip` with probability `p`, drawing `rand(1)` every call (as torchvision)."""

    _flip: Callable[[Tensor], Tensor]

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def forward(self, img: Tensor) -> Tensor:
        return type(self)._flip(img) if bool(rand(1) < self.p) else img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomHorizontalFlip(_RandomFlip):
    """Mirrors the image `(..., H, W)` left to right with probability `p`."""

    _flip = staticmethod(TF.hflip)


class RandomVerticalFlip(_RandomFlip):
    """Mirrors the image `(..., H, W)` top to bottom with probability `p`."""

    _flip = staticmethod(TF.vflip)


class RandomResizedCrop(Module):
    """Crops a random window (area a `scale` fraction of the image, aspect ratio log-uniform
    in `ratio`) and resizes it to `size`; up to 10 tries, then a central crop."""

    def __init__(
        self,
        size: Any,
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
        interpolation: Any = InterpolationMode.BILINEAR,
        antialias: bool | None = True,
    ) -> None:
        super().__init__()
        self.size = TF._pair(size, "RandomResizedCrop")
        if not isinstance(scale, Sequence):
            raise TypeError(f"RandomResizedCrop: scale must be a sequence, got {scale!r}")
        if not isinstance(ratio, Sequence):
            raise TypeError(f"RandomResizedCrop: ratio must be a sequence, got {ratio!r}")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("Scale and ratio should be of kind (min, max)", stacklevel=2)
        self.interpolation = TF.interpolation_mode(interpolation, "RandomResizedCrop")
        self.antialias, self.scale, self.ratio = antialias, scale, ratio

    @staticmethod
    def get_params(
        img: Tensor, scale: Sequence[float], ratio: Sequence[float]
    ) -> tuple[int, int, int, int]:
        """(top, left, height, width) of the random window (torchvision's draws, in order)."""
        _, height, width = TF.get_dimensions(img)
        area = height * width
        log_ratio = tensor(ratio).log()  # float32, as torchvision's torch.tensor(ratio)
        for _ in range(10):
            target_area = area * empty(1).uniform_(scale[0], scale[1]).item()
            aspect = empty(1).uniform_(log_ratio[0], log_ratio[1]).exp().item()
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                i = int(randint(0, height - h + 1, size=(1,)).item())
                j = int(randint(0, width - w + 1, size=(1,)).item())
                return i, j, h, w
        in_ratio = width / height
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def forward(self, img: Tensor) -> Tensor:
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return TF.resized_crop(img, i, j, h, w, self.size, self.interpolation, self.antialias)

    def __repr__(self) -> str:
        scale = tuple(round(s, 4) for s in self.scale)
        ratio = tuple(round(r, 4) for r in self.ratio)
        return (
            f"{type(self).__name__}(size={self.size}, scale={scale}, ratio={ratio}, "
            f"interpolation={self.interpolation.value}, antialias={self.antialias})"
        )


class Grayscale(Module):
    """RGB image `(..., 3, H, W)` -> its luma, 1 or 3 (equal) channels."""

    def __init__(self, num_output_channels: int = 1) -> None:
        super().__init__()
        self.num_output_channels = num_output_channels

    def forward(self, img: Tensor) -> Tensor:
        return TF.rgb_to_grayscale(img, num_output_channels=self.num_output_channels)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_output_channels={self.num_output_channels})"
