"""Image transforms as callable objects, as torchvision.transforms (on Tensors only).

The classes that are `nn.Module`s in torchvision are `tinyconv.nn.Module`s here (so they fit
in an `nn.Sequential`); `Compose`, `ToTensor` and `Lambda` are plain callables, as there.
Random transforms draw from tinyconv's generator exactly the numbers torchvision draws from
PyTorch's (`rand(1) < p` for a flip, `randint(0, h - th + 1, size=(1,))` for a crop offset),
so after `tinyconv.manual_seed(s)` they crop and flip as torchvision does after
`torch.manual_seed(s)`. `RandomChoice` and `RandomOrder` pick with Python's `random` module,
as torchvision's do (so `random.seed` fixes them).
"""

from __future__ import annotations

import math
import numbers
import random
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import tinyconv

from .._dtype import float32
from .._errors import TensorValueError
from ..creation import empty, rand, randint, randperm, tensor
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


# --- choosing among transforms --------------------------------------------------------------


class RandomApply(Module):
    """Applies all of `transforms` in order with probability `p` (one `rand(1)` per call)."""

    def __init__(self, transforms: Sequence[Callable], p: float = 0.5) -> None:
        super().__init__()
        self.transforms, self.p = transforms, p

    def forward(self, img: Any) -> Any:
        if self.p < rand(1):
            return img
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        steps = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}(\n    p={self.p}{steps}\n)"


class RandomTransforms:
    """Base of the transforms that pick among `transforms` with Python's `random` module (as
    torchvision's do, so `random.seed` fixes them, not `manual_seed`)."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        if not isinstance(transforms, Sequence):
            raise TypeError(
                f"{type(self).__name__}: transforms must be a sequence, got "
                f"{type(transforms).__name__}"
            )
        self.transforms = transforms

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + "".join(f"\n    {t}" for t in self.transforms) + "\n)"


class RandomOrder(RandomTransforms):
    """Applies all of `transforms`, in an order shuffled by `random.shuffle`."""

    def __call__(self, img: Any) -> Any:
        order = list(range(len(self.transforms)))
        random.shuffle(order)
        for i in order:
            img = self.transforms[i](img)
        return img


class RandomChoice(RandomTransforms):
    """Applies one of `transforms`, picked by `random.choices` with weights `p` (default
    equal)."""

    def __init__(self, transforms: Sequence[Callable], p: Sequence[float] | None = None) -> None:
        super().__init__(transforms)
        if p is not None and not isinstance(p, Sequence):
            raise TypeError(f"RandomChoice: p must be a sequence, got {type(p).__name__}")
        self.p = p

    def __call__(self, *args: Any) -> Any:
        return random.choices(self.transforms, weights=self.p)[0](*args)

    def __repr__(self) -> str:
        return f"{super().__repr__()}(p={self.p})"


# --- colour -------------------------------------------------------------------------------


def _jitter_range(
    value: Any, name: str, center: float = 1.0, bound: tuple = (0, float("inf")), clip: bool = True
) -> tuple[float, float] | None:
    """[center - v, center + v] (its low end clipped at 0 if `clip`) from a number v, or a
    given (min, max); None when it would change nothing."""
    if isinstance(value, numbers.Number):
        if value < 0:
            raise TensorValueError(f"ColorJitter: {name} as a single number must be non-negative")
        low, high = center - float(value), center + float(value)  # type: ignore[arg-type]
        if clip:
            low = max(low, 0.0)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        low, high = float(value[0]), float(value[1])
    else:
        raise TypeError(
            f"ColorJitter: {name} must be a single number or a list/tuple of 2, got {value!r}"
        )
    if not bound[0] <= low <= high <= bound[1]:
        raise TensorValueError(
            f"ColorJitter: {name} values must be between {bound}, got {[low, high]}"
        )
    return None if low == high == center else (low, high)


def _uniform(low: Any, high: Any) -> float:
    """One float32 draw from U(low, high), as `torch.empty(1).uniform_(low, high)`."""
    return float(empty(1).uniform_(low, high).item())


class ColorJitter(Module):
    """Changes brightness, contrast, saturation and hue by random factors, in a random order.
    Each is a number v (factor drawn from [max(0, 1 - v), 1 + v], hue from [-v, v]) or a
    (min, max)."""

    def __init__(
        self, brightness: Any = 0, contrast: Any = 0, saturation: Any = 0, hue: Any = 0
    ) -> None:
        super().__init__()
        self.brightness = _jitter_range(brightness, "brightness")
        self.contrast = _jitter_range(contrast, "contrast")
        self.saturation = _jitter_range(saturation, "saturation")
        self.hue = _jitter_range(hue, "hue", center=0, bound=(-0.5, 0.5), clip=False)

    @staticmethod
    def get_params(
        brightness: Sequence[float] | None,
        contrast: Sequence[float] | None,
        saturation: Sequence[float] | None,
        hue: Sequence[float] | None,
    ) -> tuple[Tensor, float | None, float | None, float | None, float | None]:
        """The order (a permutation of 0-3) and the four factors (None where off): drawn as
        randperm(4), then one uniform per range that is on."""
        order = randperm(4)
        factors = [None if r is None else _uniform(r[0], r[1]) for r in (brightness, contrast)]
        factors += [None if r is None else _uniform(r[0], r[1]) for r in (saturation, hue)]
        return (order, *factors)  # type: ignore[return-value]

    def forward(self, img: Tensor) -> Tensor:
        order, *factors = self.get_params(self.brightness, self.contrast, self.saturation, self.hue)
        adjust = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)
        for i in order.tolist():
            if factors[i] is not None:
                img = adjust[i](img, factors[i])
        return img

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(brightness={self.brightness}, contrast={self.contrast}, "
            f"saturation={self.saturation}, hue={self.hue})"
        )


class RandomGrayscale(Module):
    """Turns the image grey with probability `p`, keeping its number of channels."""

    def __init__(self, p: float = 0.1) -> None:
        super().__init__()
        self.p = p

    def forward(self, img: Tensor) -> Tensor:
        channels = TF.get_dimensions(img)[0]
        if rand(1) < self.p:
            return TF.rgb_to_grayscale(img, num_output_channels=channels)
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class _RandomColorOp(Module):
    """Applies `_op(img, *args)` with probability `p`, drawing `rand(1)` every call."""

    _op: Callable[..., Tensor]

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def _args(self) -> tuple:
        return ()

    def forward(self, img: Tensor) -> Tensor:
        if rand(1).item() < self.p:
            return type(self)._op(img, *self._args())
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomInvert(_RandomColorOp):
    """Inverts the image's colours with probability `p`."""

    _op = staticmethod(TF.invert)


class RandomAutocontrast(_RandomColorOp):
    """Stretches each channel's range to the full one with probability `p`."""

    _op = staticmethod(TF.autocontrast)


class RandomEqualize(_RandomColorOp):
    """Equalises the histogram of a uint8 image with probability `p`."""

    _op = staticmethod(TF.equalize)


class RandomPosterize(_RandomColorOp):
    """Keeps only `bits` bits per channel of a uint8 image, with probability `p`."""

    _op = staticmethod(TF.posterize)

    def __init__(self, bits: int, p: float = 0.5) -> None:
        super().__init__(p)
        self.bits = bits

    def _args(self) -> tuple:
        return (self.bits,)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(bits={self.bits},p={self.p})"


class RandomSolarize(_RandomColorOp):
    """Inverts the pixels at or above `threshold`, with probability `p`."""

    _op = staticmethod(TF.solarize)

    def __init__(self, threshold: float, p: float = 0.5) -> None:
        super().__init__(p)
        self.threshold = threshold

    def _args(self) -> tuple:
        return (self.threshold,)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(threshold={self.threshold},p={self.p})"


class RandomAdjustSharpness(_RandomColorOp):
    """Sharpens (factor > 1) or blurs (< 1) the image by `sharpness_factor`, with probability
    `p`."""

    _op = staticmethod(TF.adjust_sharpness)

    def __init__(self, sharpness_factor: float, p: float = 0.5) -> None:
        super().__init__(p)
        self.sharpness_factor = sharpness_factor

    def _args(self) -> tuple:
        return (self.sharpness_factor,)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sharpness_factor={self.sharpness_factor},p={self.p})"


# --- erasing and blurring ------------------------------------------------------------------


class RandomErasing(Module):
    """With probability `p`, sets a random rectangle (area a `scale` fraction of the image,
    aspect ratio log-uniform in `ratio`) to `value`: a number, one per channel, or 'random'
    (standard normal noise). Up to 10 tries to fit it, else the image is left as is."""

    def __init__(
        self,
        p: float = 0.5,
        scale: Sequence[float] = (0.02, 0.33),
        ratio: Sequence[float] = (0.3, 3.3),
        value: Any = 0,
        inplace: bool = False,
    ) -> None:
        super().__init__()
        what = "RandomErasing"
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError(
                f"{what}: value must be a number, 'random' or a sequence, got "
                f"{type(value).__name__}"
            )
        if isinstance(value, str) and value != "random":
            raise TensorValueError(f"{what}: a str value must be 'random', got {value!r}")
        if not isinstance(scale, Sequence):
            raise TypeError(f"{what}: scale must be a sequence, got {type(scale).__name__}")
        if not isinstance(ratio, Sequence):
            raise TypeError(f"{what}: ratio must be a sequence, got {type(ratio).__name__}")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("Scale and ratio should be of kind (min, max)", stacklevel=2)
        if scale[0] < 0 or scale[1] > 1:
            raise TensorValueError(f"{what}: scale must be between 0 and 1, got {scale!r}")
        if p < 0 or p > 1:
            raise TensorValueError(f"{what}: p must be between 0 and 1, got {p}")
        self.p, self.scale, self.ratio, self.value, self.inplace = p, scale, ratio, value, inplace

    @staticmethod
    def get_params(
        img: Tensor,
        scale: Sequence[float],
        ratio: Sequence[float],
        value: Sequence[float] | None = None,
    ) -> tuple[int, int, int, int, Tensor]:
        """(top, left, height, width, fill) of the rectangle (torchvision's draws, in order);
        (0, 0, H, W, img) when no rectangle fits in 10 tries."""
        channels, img_h, img_w = (int(n) for n in img.shape[-3:])
        area = img_h * img_w
        log_ratio = tensor(ratio).log()
        for _ in range(10):
            erase_area = area * empty(1).uniform_(scale[0], scale[1]).item()
            aspect = empty(1).uniform_(log_ratio[0], log_ratio[1]).exp().item()
            h = int(round(math.sqrt(erase_area * aspect)))
            w = int(round(math.sqrt(erase_area / aspect)))
            if not (h < img_h and w < img_w):
                continue
            if value is None:
                fill = empty(channels, h, w, dtype=float32).normal_()
            else:
                fill = tensor(value)[:, None, None]
            i = int(randint(0, img_h - h + 1, size=(1,)).item())
            j = int(randint(0, img_w - w + 1, size=(1,)).item())
            return i, j, h, w, fill
        return 0, 0, img_h, img_w, img

    def forward(self, img: Tensor) -> Tensor:
        if not rand(1) < self.p:
            return img
        if isinstance(self.value, str):
            value = None
        elif isinstance(self.value, (tuple, list)):
            value = [float(v) for v in self.value]
        else:
            value = [float(self.value)]
        channels = int(img.shape[-3])
        if value is not None and len(value) not in (1, channels):
            raise TensorValueError(
                f"RandomErasing: value must have 1 or {channels} (the image's channels) "
                f"entries, got {len(value)}"
            )
        i, j, h, w, fill = self.get_params(img, scale=self.scale, ratio=self.ratio, value=value)
        return TF.erase(img, i, j, h, w, fill, self.inplace)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(p={self.p}, scale={self.scale}, ratio={self.ratio}, "
            f"value={self.value}, inplace={self.inplace})"
        )


class GaussianBlur(Module):
    """Blurs with a `kernel_size` Gaussian whose sigma is drawn uniformly from `sigma`
    ((min, max), or one fixed number)."""

    def __init__(self, kernel_size: Any, sigma: Any = (0.1, 2.0)) -> None:
        super().__init__()
        self.kernel_size = _size_pair(kernel_size, "GaussianBlur", "kernel_size")
        if any(k <= 0 or k % 2 == 0 for k in self.kernel_size):
            raise TensorValueError(
                f"GaussianBlur: kernel_size values must be odd and positive, got {self.kernel_size}"
            )
        if isinstance(sigma, numbers.Number):
            if sigma <= 0:  # type: ignore[operator]
                raise TensorValueError(
                    f"GaussianBlur: a single sigma must be positive, got {sigma}"
                )
            sigma = (sigma, sigma)
        elif isinstance(sigma, Sequence) and len(sigma) == 2:
            if not 0.0 < sigma[0] <= sigma[1]:
                raise TensorValueError(
                    f"GaussianBlur: sigma must be positive and (min, max), got {sigma!r}"
                )
        else:
            raise TensorValueError(
                f"GaussianBlur: sigma must be a single number or a list/tuple of 2, got {sigma!r}"
            )
        self.sigma = sigma

    @staticmethod
    def get_params(sigma_min: float, sigma_max: float) -> float:
        """The sigma: one uniform float32 draw in [sigma_min, sigma_max]."""
        return empty(1).uniform_(sigma_min, sigma_max).item()

    def forward(self, img: Tensor) -> Tensor:
        sigma = self.get_params(self.sigma[0], self.sigma[1])
        return TF.gaussian_blur(img, self.kernel_size, [sigma, sigma])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, sigma={self.sigma})"


def _size_pair(size: Any, what: str, name: str) -> Any:
    """(n, n) from a number or a one-element sequence; a two-element sequence as given."""
    if isinstance(size, numbers.Number):
        return int(size), int(size)  # type: ignore[call-overload]
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise TensorValueError(f"{what}: {name} must be a number or (h, w), got {size!r}")
    return size


# --- geometry -----------------------------------------------------------------------------


def _check_sequence(x: Any, name: str, sizes: Sequence[int], what: str) -> None:
    lengths = " or ".join(str(n) for n in sizes)
    if not isinstance(x, Sequence):
        raise TypeError(f"{what}: {name} must be a sequence of length {lengths}, got {x!r}")
    if len(x) not in sizes:
        raise TensorValueError(f"{what}: {name} must be a sequence of length {lengths}, got {x!r}")


def _angle_range(x: Any, name: str, what: str, sizes: Sequence[int] = (2,)) -> list[float]:
    """[-x, x] from a number x >= 0, else the given sequence, as floats."""
    if isinstance(x, numbers.Number):
        if x < 0:  # type: ignore[operator]
            raise TensorValueError(f"{what}: {name} as a single number must be positive, got {x}")
        x = [-x, x]  # type: ignore[operator]
    else:
        _check_sequence(x, name, sizes, what)
    return [float(d) for d in x]


def _check_fill_arg(fill: Any, what: str) -> Any:
    if fill is None:
        return 0
    if not isinstance(fill, (Sequence, numbers.Number)):
        raise TypeError(f"{what}: fill must be a number or a sequence, got {type(fill).__name__}")
    return fill


def _fill_per_channel(fill: Any, channels: int) -> list[float]:
    if isinstance(fill, (int, float)):
        return [float(fill)] * channels
    return [float(f) for f in fill]


class RandomRotation(Module):
    """Rotates by an angle drawn uniformly from `degrees` ((min, max), or d for (-d, d)); see
    `functional.rotate` for the other arguments."""

    def __init__(
        self,
        degrees: Any,
        interpolation: Any = InterpolationMode.NEAREST,
        expand: bool = False,
        center: Sequence[int] | None = None,
        fill: Any = 0,
    ) -> None:
        super().__init__()
        self.interpolation = TF.interpolation_mode(interpolation, "RandomRotation")
        self.degrees = _angle_range(degrees, "degrees", "RandomRotation")
        if center is not None:
            _check_sequence(center, "center", (2,), "RandomRotation")
        self.center, self.expand = center, expand
        self.fill = _check_fill_arg(fill, "RandomRotation")

    @staticmethod
    def get_params(degrees: Sequence[float]) -> float:
        """The angle: one uniform float32 draw in `degrees`."""
        return _uniform(float(degrees[0]), float(degrees[1]))

    def forward(self, img: Tensor) -> Tensor:
        fill = _fill_per_channel(self.fill, TF.get_dimensions(img)[0])
        angle = self.get_params(self.degrees)
        return TF.rotate(img, angle, self.interpolation, self.expand, self.center, fill)

    def __repr__(self) -> str:
        s = (
            f"{type(self).__name__}(degrees={self.degrees}, "
            f"interpolation={self.interpolation.value}, expand={self.expand}"
        )
        if self.center is not None:
            s += f", center={self.center}"
        return s + f", fill={self.fill})"


class RandomAffine(Module):
    """A random affine map keeping the centre: angle from `degrees`, shifts up to `translate`
    (fractions of width and height), scale from `scale`, shear from `shear` (x range, or x
    and y ranges); see `functional.affine`."""

    def __init__(
        self,
        degrees: Any,
        translate: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
        shear: Any = None,
        interpolation: Any = InterpolationMode.NEAREST,
        fill: Any = 0,
        center: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        what = "RandomAffine"
        self.interpolation = TF.interpolation_mode(interpolation, what)
        self.degrees = _angle_range(degrees, "degrees", what)
        if translate is not None:
            _check_sequence(translate, "translate", (2,), what)
            if not all(0.0 <= t <= 1.0 for t in translate):
                raise TensorValueError(f"{what}: translate values must be in [0, 1]")
        if scale is not None:
            _check_sequence(scale, "scale", (2,), what)
            if any(s <= 0 for s in scale):
                raise TensorValueError(f"{what}: scale values must be positive, got {scale!r}")
        self.translate, self.scale = translate, scale
        self.shear = None if shear is None else _angle_range(shear, "shear", what, (2, 4))
        self.fill = _check_fill_arg(fill, what)
        if center is not None:
            _check_sequence(center, "center", (2,), what)
        self.center = center

    @staticmethod
    def get_params(
        degrees: Sequence[float],
        translate: Sequence[float] | None,
        scale_ranges: Sequence[float] | None,
        shears: Sequence[float] | None,
        img_size: Sequence[int],
    ) -> tuple[float, tuple[int, int], float, tuple[float, float]]:
        """(angle, (tx, ty), scale, (shear_x, shear_y)), drawn in that order (only the ranges
        that are given draw)."""
        angle = _uniform(float(degrees[0]), float(degrees[1]))
        translations = (0, 0)
        if translate is not None:
            max_dx = float(translate[0] * img_size[0])
            max_dy = float(translate[1] * img_size[1])
            translations = (
                int(round(_uniform(-max_dx, max_dx))),
                int(round(_uniform(-max_dy, max_dy))),
            )
        scale = 1.0 if scale_ranges is None else _uniform(scale_ranges[0], scale_ranges[1])
        shear_x = shear_y = 0.0
        if shears is not None:
            shear_x = _uniform(shears[0], shears[1])
            if len(shears) == 4:
                shear_y = _uniform(shears[2], shears[3])
        return angle, translations, scale, (shear_x, shear_y)

    def forward(self, img: Tensor) -> Tensor:
        channels, height, width = TF.get_dimensions(img)
        fill = _fill_per_channel(self.fill, channels)
        params = self.get_params(
            self.degrees, self.translate, self.scale, self.shear, [width, height]
        )
        return TF.affine(
            img, *params, interpolation=self.interpolation, fill=fill, center=self.center
        )

    def __repr__(self) -> str:
        s = f"{type(self).__name__}(degrees={self.degrees}"
        for name in ("translate", "scale", "shear"):
            if getattr(self, name) is not None:
                s += f", {name}={getattr(self, name)}"
        if self.interpolation != InterpolationMode.NEAREST:
            s += f", interpolation={self.interpolation.value}"
        if self.fill != 0:
            s += f", fill={self.fill}"
        if self.center is not None:
            s += f", center={self.center}"
        return s + ")"


class RandomPerspective(Module):
    """With probability `p`, moves each corner inwards by a random amount (up to
    `distortion_scale` of half the width/height) and warps the image to match."""

    def __init__(
        self,
        distortion_scale: float = 0.5,
        p: float = 0.5,
        interpolation: Any = InterpolationMode.BILINEAR,
        fill: Any = 0,
    ) -> None:
        super().__init__()
        self.p, self.distortion_scale = p, distortion_scale
        self.interpolation = TF.interpolation_mode(interpolation, "RandomPerspective")
        self.fill = _check_fill_arg(fill, "RandomPerspective")

    @staticmethod
    def get_params(
        width: int, height: int, distortion_scale: float
    ) -> tuple[list[list[int]], list[list[int]]]:
        """(start corners, end corners), clockwise from the top-left; each end corner is two
        randint draws (x then y), corners in the order top-left, top-right, bottom-right,
        bottom-left."""
        dx = int(distortion_scale * (width // 2))
        dy = int(distortion_scale * (height // 2))

        def draw(low: int, high: int) -> int:
            return int(randint(low, high, size=(1,)).item())

        near_x, far_x = (0, dx + 1), (width - dx - 1, width)
        near_y, far_y = (0, dy + 1), (height - dy - 1, height)
        ends = []
        for xs, ys in ((near_x, near_y), (far_x, near_y), (far_x, far_y), (near_x, far_y)):
            x = draw(*xs)
            ends.append([x, draw(*ys)])
        starts = [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]]
        return starts, ends

    def forward(self, img: Tensor) -> Tensor:
        channels, height, width = TF.get_dimensions(img)
        fill = _fill_per_channel(self.fill, channels)
        if rand(1) < self.p:
            starts, ends = self.get_params(width, height, self.distortion_scale)
            return TF.perspective(img, starts, ends, self.interpolation, fill)
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class ElasticTransform(Module):
    """Displaces every pixel by smooth random noise: uniform [-1, 1] per pixel, blurred with a
    Gaussian of `sigma`, scaled by `alpha` (pixels, per axis)."""

    def __init__(
        self,
        alpha: Any = 50.0,
        sigma: Any = 5.0,
        interpolation: Any = InterpolationMode.BILINEAR,
        fill: Any = 0,
    ) -> None:
        super().__init__()
        self.alpha = self._float_pair(alpha, "alpha")
        self.sigma = self._float_pair(sigma, "sigma")
        self.interpolation = TF.interpolation_mode(interpolation, "ElasticTransform")
        if isinstance(fill, (int, float)):
            fill = [float(fill)]
        elif isinstance(fill, (list, tuple)):
            fill = [float(f) for f in fill]
        else:
            raise TypeError(
                f"ElasticTransform: fill must be a number or a list/tuple of them, got "
                f"{type(fill).__name__}"
            )
        self.fill = fill

    @staticmethod
    def _float_pair(value: Any, name: str) -> Any:
        if not isinstance(value, (float, Sequence)):
            raise TypeError(
                f"ElasticTransform: {name} must be a float or a sequence of floats, got "
                f"{type(value).__name__}"
            )
        if isinstance(value, float):
            return [value, value]
        if len(value) != 2:
            raise TensorValueError(
                f"ElasticTransform: {name} as a sequence must have length 2, got {len(value)}"
            )
        if not all(isinstance(v, float) for v in value):
            raise TypeError(f"ElasticTransform: {name} must be a sequence of floats, got {value!r}")
        return value

    @staticmethod
    def get_params(alpha: Sequence[float], sigma: Sequence[float], size: Sequence[int]) -> Tensor:
        """The displacement (1, H, W, 2): x noise drawn (and blurred) first, then y."""
        height, width = size
        parts = []
        for axis, extent in ((0, width), (1, height)):
            noise = rand([1, 1, height, width]) * 2 - 1
            if sigma[axis] > 0.0:
                k = int(8 * sigma[axis] + 1)
                k += 1 - k % 2  # odd
                noise = TF.gaussian_blur(noise, [k, k], list(sigma))
            parts.append(noise * alpha[axis] / extent)
        return tinyconv.cat(parts, 1).permute(0, 2, 3, 1)

    def forward(self, tensor: Tensor) -> Tensor:
        _, height, width = TF.get_dimensions(tensor)
        displacement = self.get_params(self.alpha, self.sigma, [height, width])
        return TF.elastic_transform(tensor, displacement, self.interpolation, self.fill)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(alpha={self.alpha}, sigma={self.sigma}, "
            f"interpolation={self.interpolation}, fill={self.fill})"
        )


# --- several crops, and a fixed linear map ---------------------------------------------------


class FiveCrop(Module):
    """The four corner crops and the central crop of `size`, as a tuple of 5 images."""

    def __init__(self, size: Any) -> None:
        super().__init__()
        self.size = _size_pair(size, "FiveCrop", "size")

    def forward(self, img: Tensor) -> tuple[Tensor, ...]:
        return TF.five_crop(img, self.size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


class TenCrop(Module):
    """`FiveCrop` of the image and of its mirror image (vertical with `vertical_flip`)."""

    def __init__(self, size: Any, vertical_flip: bool = False) -> None:
        super().__init__()
        self.size = _size_pair(size, "TenCrop", "size")
        self.vertical_flip = vertical_flip

    def forward(self, img: Tensor) -> tuple[Tensor, ...]:
        return TF.ten_crop(img, self.size, self.vertical_flip)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, vertical_flip={self.vertical_flip})"


class LinearTransformation(Module):
    """`(x.flatten() - mean_vector) @ transformation_matrix`, reshaped back (e.g. ZCA
    whitening); the matrix is (D, D) for images of D = C * H * W values."""

    def __init__(self, transformation_matrix: Tensor, mean_vector: Tensor) -> None:
        super().__init__()
        what = "LinearTransformation"
        shape = tuple(transformation_matrix.shape)
        if shape[0] != shape[1]:
            raise TensorValueError(f"{what}: transformation_matrix must be square, got {shape}")
        if mean_vector.shape[0] != shape[0]:
            raise TensorValueError(
                f"{what}: mean_vector has {mean_vector.shape[0]} entries but "
                f"transformation_matrix is {shape}"
            )
        if transformation_matrix.dtype != mean_vector.dtype:
            raise TensorValueError(
                f"{what}: transformation_matrix ({transformation_matrix.dtype}) and mean_vector "
                f"({mean_vector.dtype}) must have the same dtype"
            )
        self.transformation_matrix, self.mean_vector = transformation_matrix, mean_vector

    def forward(self, tensor: Tensor) -> Tensor:
        shape = tuple(tensor.shape)
        n = shape[-3] * shape[-2] * shape[-1]
        if n != self.transformation_matrix.shape[0]:
            raise TensorValueError(
                f"LinearTransformation: the image has {shape[-3]} x {shape[-2]} x {shape[-1]} = "
                f"{n} values but transformation_matrix is {tuple(self.transformation_matrix.shape)}"
            )
        flat = tensor.view(-1, n) - self.mean_vector
        return flat.mm(self.transformation_matrix.to(flat.dtype)).view(*shape)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(transformation_matrix={self.transformation_matrix.tolist()}, "
            f"mean_vector={self.mean_vector.tolist()})"
        )
