"""Image transforms as functions of Tensors, as torchvision.transforms.functional.

An image is a Tensor `(..., C, H, W)` (or `(H, W)` where torchvision allows it); every
function returns a new Tensor (`normalize` and `erase` with `inplace=True` excepted) with
torchvision's values, dtype and shape. Integer images are filtered and resampled in float32
and rounded back, as torchvision's tensor path does; the geometric ones (`rotate`, `affine`,
`perspective`, `elastic_transform`) sample with `grid_sample`, so they take NEAREST or
BILINEAR only. There is no PIL path: tinyconv does not depend on Pillow, so a function
that torchvision runs on PIL images only (`to_pil_image`, `pil_to_tensor`, `to_grayscale`)
is not here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from enum import Enum
from typing import Any

import numpy as np

import tinyconv

from .. import _dtype
from .._errors import TensorValueError
from ..creation import as_tensor, from_numpy, linspace, ones, tensor
from ..nn import functional as F
from ..tensor import Tensor

_PIL_ONLY = ("to_pil_image", "pil_to_tensor", "to_grayscale")

__all__ = [
    "InterpolationMode",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_gamma",
    "adjust_hue",
    "adjust_saturation",
    "adjust_sharpness",
    "affine",
    "autocontrast",
    "center_crop",
    "convert_image_dtype",
    "crop",
    "elastic_transform",
    "equalize",
    "erase",
    "five_crop",
    "gaussian_blur",
    "get_dimensions",
    "get_image_num_channels",
    "get_image_size",
    "hflip",
    "invert",
    "normalize",
    "pad",
    "perspective",
    "posterize",
    "resize",
    "resized_crop",
    "rgb_to_grayscale",
    "rotate",
    "solarize",
    "ten_crop",
    "to_tensor",
    "vflip",
]


class InterpolationMode(Enum):
    """How `resize` samples the image (torchvision's names and values); tinyconv resizes
    tensors with NEAREST, NEAREST_EXACT, BILINEAR and BICUBIC (the others are PIL filters)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


# Pillow's integer filter constants, which torchvision accepts in place of the enum.
_MODE_OF_PIL_INT = {
    0: InterpolationMode.NEAREST,
    1: InterpolationMode.LANCZOS,
    2: InterpolationMode.BILINEAR,
    3: InterpolationMode.BICUBIC,
    4: InterpolationMode.BOX,
    5: InterpolationMode.HAMMING,
}


def interpolation_mode(value: Any, what: str) -> InterpolationMode:
    """An InterpolationMode, or Pillow's integer constant for one, as an InterpolationMode."""
    if isinstance(value, InterpolationMode):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value in _MODE_OF_PIL_INT:
        return _MODE_OF_PIL_INT[value]
    raise TypeError(
        f"{what}: interpolation must be an InterpolationMode or Pillow's integer constant for "
        f"one (0-5), got {value!r}"
    )


def _image(img: Any, what: str, min_dim: int = 2) -> Tensor:
    if not isinstance(img, Tensor):
        raise TypeError(
            f"{what}: img must be a Tensor image (..., C, H, W), got {type(img).__name__} "
            "(tinyconv has no PIL images; transforms.ToTensor() turns an ndarray into a Tensor)"
        )
    if img.ndim < min_dim:
        raise TypeError(
            f"{what}: img must have at least {min_dim} dimensions (..., H, W), got shape "
            f"{tuple(img.shape)}"
        )
    return img


def get_dimensions(img: Tensor) -> list[int]:
    """[channels, height, width] of an image `(..., C, H, W)`; an `(H, W)` image has 1 channel."""
    img = _image(img, "get_dimensions")
    channels = 1 if img.ndim == 2 else int(img.shape[-3])
    return [channels, int(img.shape[-2]), int(img.shape[-1])]


def get_image_size(img: Tensor) -> list[int]:
    """[width, height] of an image `(..., H, W)` (torchvision's order)."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img: Tensor) -> int:
    """The C of an image `(..., C, H, W)` (1 for `(H, W)`)."""
    return get_dimensions(img)[0]


def to_tensor(pic: Any) -> Tensor:
    """An ndarray `(H, W, C)` or `(H, W)` as a Tensor `(C, H, W)`: uint8 becomes the default
    float dtype divided by 255, any other dtype is kept (torchvision's rule for ndarrays).

    A Tensor is returned unchanged, unlike torchvision (which raises TypeError): tinyconv's
    datasets already hand `transform` what ToTensor would make of the image (float32
    `(C, H, W)` in [0, 1]), so a tutorial's `Compose([ToTensor(), Normalize(...)])` runs as is.
    """
    if isinstance(pic, Tensor):
        return pic
    if not isinstance(pic, np.ndarray):
        raise TypeError(
            f"to_tensor: pic must be an ndarray (H, W, C) or (H, W) or a Tensor, got "
            f"{type(pic).__name__} (tinyconv has no PIL images)"
        )
    if pic.ndim not in (2, 3):
        raise TensorValueError(
            f"to_tensor: pic must be 2- or 3-dimensional, got {pic.ndim} dimensions"
        )
    hwc = pic[:, :, None] if pic.ndim == 2 else pic
    chw = np.ascontiguousarray(hwc.transpose(2, 0, 1))
    if chw.dtype == np.uint8:
        default = _dtype.get_default_dtype()
        return from_numpy(chw.astype(default) / default.type(255))
    return from_numpy(chw)


# The largest value of an integer image's dtype (a float image's range is [0, 1]).
_INT_MAX = {
    np.dtype(np.uint8): 255,
    np.dtype(np.int8): 127,
    np.dtype(np.int16): 32767,
    np.dtype(np.uint16): 65535,
    np.dtype(np.int32): 2147483647,
    np.dtype(np.int64): 9223372036854775807,
}


def _max_value(dtype: np.dtype) -> int:
    return _INT_MAX.get(dtype, 1)  # torchvision's value for any other dtype


def convert_image_dtype(image: Tensor, dtype: Any = None) -> Tensor:
    """`image` in `dtype`, rescaled between the ranges: [0, 1] for floats, [0, max] for
    integers (float -> int multiplies by max + 1 - 1e-3 and truncates, as torchvision)."""
    image = _image(image, "convert_image_dtype", min_dim=0)
    # torchvision's default is torch.float, float32 whatever the default dtype is
    target = _dtype.as_dtype(np.float32 if dtype is None else dtype)
    source = _dtype.as_dtype(image.dtype)
    if source == target:
        return image
    if _dtype.is_floating(source):
        if _dtype.is_floating(target):
            return image.to(target)
        # float32 cannot hold int32/int64's maximum exactly, nor float64 int64's: the cast
        # could overflow, so torchvision refuses it.
        if (source == np.float32 and target in (np.int32, np.int64)) or (
            source == np.float64 and target == np.int64
        ):
            raise RuntimeError(
                f"convert_image_dtype: the cast from {image.dtype} to {_dtype.public(target)} "
                "cannot be performed safely"
            )
        return image.mul(float(_max_value(target)) + 1.0 - 1e-3).to(target)
    in_max = _max_value(source)
    if _dtype.is_floating(target):
        return image.to(target) / float(in_max)
    out_max = _max_value(target)
    if in_max > out_max:
        return image.div((in_max + 1) // (out_max + 1), rounding_mode="floor").to(target)
    return image.to(target) * ((out_max + 1) // (in_max + 1))


def normalize(
    tensor: Tensor, mean: Sequence[float], std: Sequence[float], inplace: bool = False
) -> Tensor:
    """`(tensor - mean) / std` per channel of a float image `(..., C, H, W)`; `mean` and `std`
    have C entries (or one). `inplace=True` writes the result into `tensor`."""
    img = _image(tensor, "normalize")
    if not img.is_floating_point():
        raise TypeError(f"normalize: tensor must be a float tensor, got {img.dtype}")
    if img.ndim < 3:
        raise TensorValueError(
            f"normalize: tensor must be an image (..., C, H, W), got shape {tuple(img.shape)}"
        )
    out = img if inplace else img.clone()
    mean_t = as_tensor(mean, dtype=img.dtype)
    std_t = as_tensor(std, dtype=img.dtype)
    if bool((std_t == 0).any()):
        raise TensorValueError(
            f"normalize: std evaluated to zero after conversion to {img.dtype} (std={std}), "
            "which would divide by zero"
        )
    if mean_t.ndim == 1:
        mean_t = mean_t.view(-1, 1, 1)
    if std_t.ndim == 1:
        std_t = std_t.view(-1, 1, 1)
    return out.sub_(mean_t).div_(std_t)


def hflip(img: Tensor) -> Tensor:
    """The image `(..., H, W)` mirrored left to right."""
    return _image(img, "hflip").flip(-1)


def vflip(img: Tensor) -> Tensor:
    """The image `(..., H, W)` mirrored top to bottom."""
    return _image(img, "vflip").flip(-2)


def _pad_sides(padding: Any, what: str) -> list[int]:
    """[left, right, top, bottom] from an int, or a sequence of 1, 2 (left/right, top/bottom)
    or 4 (left, top, right, bottom) ints."""
    if isinstance(padding, int) and not isinstance(padding, bool):
        return [padding] * 4
    if not isinstance(padding, (tuple, list)):
        raise TypeError(
            f"{what}: padding must be an int or a tuple/list of ints, got {type(padding).__name__}"
        )
    if len(padding) not in (1, 2, 4):
        raise TensorValueError(
            f"{what}: padding must be an int or a 1, 2, or 4 element tuple, got {len(padding)} "
            f"elements ({padding!r})"
        )
    if len(padding) == 1:
        return [padding[0]] * 4
    if len(padding) == 2:
        return [padding[0], padding[0], padding[1], padding[1]]
    left, top, right, bottom = padding
    return [left, right, top, bottom]


_PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


def _pad_symmetric(img: Tensor, sides: list[int]) -> Tensor:
    # Symmetric padding repeats the edge pixel (abc -> cba|abc|cba), which F.pad has no mode
    # for: gather rows and columns by index. Negative padding crops first.
    left, right, top, bottom = (max(-p, 0) for p in sides)
    img = img[..., top : img.shape[-2] - bottom, left : img.shape[-1] - right]
    left, right, top, bottom = (max(p, 0) for p in sides)

    def indices(n: int, before: int, after: int) -> Tensor:
        return tensor(
            list(range(before - 1, -1, -1)) + list(range(n)) + [-(i + 1) for i in range(after)]
        )

    rows = indices(int(img.shape[-2]), top, bottom)
    cols = indices(int(img.shape[-1]), left, right)
    if img.ndim == 3:
        return img[:, rows[:, None], cols[None, :]]
    if img.ndim == 4:
        return img[:, :, rows[:, None], cols[None, :]]
    raise RuntimeError(
        f"pad: padding_mode='symmetric' needs a 3-D or 4-D image, got shape {tuple(img.shape)}"
    )


def pad(
    img: Tensor, padding: Any, fill: float | None = 0, padding_mode: str = "constant"
) -> Tensor:
    """The image `(..., H, W)` padded on each side: `padding` is an int (all sides), (left/right,
    top/bottom) or (left, top, right, bottom); `padding_mode` is 'constant' (with `fill`),
    'edge', 'reflect' (dcb|abcd|cba) or 'symmetric' (cba|abcd|dcb)."""
    img = _image(img, "pad")
    fill = 0 if fill is None else fill
    if not isinstance(fill, (int, float)):
        raise TypeError(
            f"pad: fill must be a number for a Tensor image, got {type(fill).__name__} ({fill!r})"
        )
    if not isinstance(padding_mode, str):
        raise TypeError(f"pad: padding_mode must be a str, got {type(padding_mode).__name__}")
    sides = _pad_sides(padding, "pad")
    if padding_mode not in _PADDING_MODES:
        raise TensorValueError(
            f"pad: padding_mode must be one of 'constant', 'edge', 'reflect', 'symmetric', got "
            f"{padding_mode!r}"
        )
    if padding_mode == "symmetric":
        return _pad_symmetric(img, sides)
    batched = img if img.ndim >= 4 else img.unsqueeze(0)
    out_dtype = batched.dtype
    # F.pad's edge and reflect modes work on floats, so an integer image is padded as float32
    # and cast back, as torchvision does.
    cast = padding_mode != "constant" and not batched.is_floating_point()
    if cast:
        batched = batched.float()
    if padding_mode == "constant":
        out = F.pad(batched, sides, mode="constant", value=float(fill))
    else:
        out = F.pad(batched, sides, mode="replicate" if padding_mode == "edge" else "reflect")
    if cast:
        out = out.to(out_dtype)
    return out if img.ndim >= 4 else out.squeeze(0)


def crop(img: Tensor, top: int, left: int, height: int, width: int) -> Tensor:
    """The `height x width` window of the image `(..., H, W)` whose top-left corner is
    (top, left); where the window leaves the image it is filled with zeros."""
    img = _image(img, "crop")
    h, w = int(img.shape[-2]), int(img.shape[-1])
    bottom, right = top + height, left + width
    if left < 0 or top < 0 or right > w or bottom > h:
        inside = img[..., max(top, 0) : bottom, max(left, 0) : right]
        ltrb = [
            max(-left + min(0, right), 0),
            max(-top + min(0, bottom), 0),
            max(right - max(w, left), 0),
            max(bottom - max(h, top), 0),
        ]
        return pad(inside, ltrb, fill=0)
    return img[..., top:bottom, left:right]


def _pair(size: Any, what: str, name: str = "size") -> tuple[int, int]:
    """(h, w) from a number or a sequence of one or two."""
    if isinstance(size, numbers.Number) and not isinstance(size, bool):
        return int(size), int(size)  # type: ignore[call-overload]
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if not isinstance(size, Sequence) or len(size) != 2:
        raise TensorValueError(
            f"{what}: {name} must be an int or a sequence (h, w) of one or two ints, got {size!r}"
        )
    return size[0], size[1]


def center_crop(img: Tensor, output_size: Any) -> Tensor:
    """The central `output_size` (int or (h, w)) window of the image `(..., H, W)`, zero-padded
    first where the image is smaller."""
    img = _image(img, "center_crop")
    crop_h, crop_w = _pair(output_size, "center_crop", "output_size")
    _, h, w = get_dimensions(img)
    if crop_w > w or crop_h > h:
        img = pad(
            img,
            [
                (crop_w - w) // 2 if crop_w > w else 0,
                (crop_h - h) // 2 if crop_h > h else 0,
                (crop_w - w + 1) // 2 if crop_w > w else 0,
                (crop_h - h + 1) // 2 if crop_h > h else 0,
            ],
            fill=0,
        )
        _, h, w = get_dimensions(img)
        if (crop_h, crop_w) == (h, w):
            return img
    return crop(img, int(round((h - crop_h) / 2.0)), int(round((w - crop_w) / 2.0)), crop_h, crop_w)


def _resized_size(h: int, w: int, size: list[int], max_size: int | None) -> tuple[int, int]:
    """Output (h, w): `size` of two is (h, w); one is the shorter edge (aspect ratio kept, the
    longer edge truncated, then capped at `max_size`)."""
    if len(size) == 2:
        return size[0], size[1]
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size[0], int(size[0] * long / short)
    if max_size is not None:
        if max_size <= size[0]:
            raise TensorValueError(
                f"resize: max_size = {max_size} must be strictly greater than the requested size "
                f"for the smaller edge size = {size}"
            )
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if w <= h else (new_short, new_long)


def resize(
    img: Tensor,
    size: Any,
    interpolation: Any = InterpolationMode.BILINEAR,
    max_size: int | None = None,
    antialias: bool | None = True,
) -> Tensor:
    """The image `(..., H, W)` resized to `size`: (h, w), or an int for the shorter edge
    (aspect ratio kept). BILINEAR and BICUBIC with `antialias=True` (the default, as
    torchvision's) low-pass filter when shrinking (F.interpolate's antialias); NEAREST,
    NEAREST_EXACT and antialias=False sample as F.interpolate.
    An integer image is resized in float32 and rounded back, as torchvision does."""
    img = _image(img, "resize")
    mode = interpolation_mode(interpolation, "resize")
    if isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise TensorValueError(
                f"resize: size must be an int or a 1 or 2 element tuple/list, got {len(size)} "
                f"elements ({size!r})"
            )
        if max_size is not None and len(size) != 1:
            raise TensorValueError(
                "resize: max_size can only be given when size is the length of the smaller edge "
                f"(an int or a sequence of one), got size={size!r}"
            )
        sizes = list(size)
    elif isinstance(size, int) and not isinstance(size, bool):
        sizes = [size]
    else:
        raise TypeError(f"resize: size must be an int or a sequence, got {type(size).__name__}")
    if mode not in (
        InterpolationMode.NEAREST,
        InterpolationMode.NEAREST_EXACT,
        InterpolationMode.BILINEAR,
        InterpolationMode.BICUBIC,
    ):
        raise NotImplementedError(
            f"resize: interpolation {mode} is not implemented for tensors in tinyconv "
            "(NEAREST, NEAREST_EXACT, BILINEAR and BICUBIC are)"
        )
    _, h, w = get_dimensions(img)
    out_h, out_w = _resized_size(h, w, sizes, max_size)
    if (out_h, out_w) == (h, w):
        return img
    lead = tuple(img.shape[:-2])
    x = img.reshape(-1, 1, h, w) if img.ndim != 4 else img
    out_dtype = x.dtype
    if out_dtype not in (_dtype.public(np.dtype(np.float32)), _dtype.public(np.dtype(np.float64))):
        x = x.float()  # interpolation works on floats; the result is rounded back below
    smooth = mode in (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC)
    x = F.interpolate(
        x,
        size=(out_h, out_w),
        mode=mode.value,
        align_corners=False if smooth else None,
        antialias=bool(antialias) and smooth,
    )
    if mode is InterpolationMode.BICUBIC and out_dtype == _dtype.public(np.dtype(np.uint8)):
        x = x.clamp(min=0, max=255)  # (cubic overshoots; torchvision clamps before rounding)
    if x.dtype != out_dtype:
        x = x.round().to(out_dtype)
    return x.reshape(*lead, out_h, out_w) if img.ndim != 4 else x


def resized_crop(
    img: Tensor,
    top: int,
    left: int,
    height: int,
    width: int,
    size: Any,
    interpolation: Any = InterpolationMode.BILINEAR,
    antialias: bool | None = True,
) -> Tensor:
    """`crop(img, top, left, height, width)` resized to `size` (see `resize`)."""
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def rgb_to_grayscale(img: Tensor, num_output_channels: int = 1) -> Tensor:
    """Luma `0.2989 R + 0.587 G + 0.114 B` of an RGB image `(..., 3, H, W)` (a 1-channel image
    is copied), as `(..., 1, H, W)` or repeated into 3 channels; dtype kept."""
    img = _image(img, "rgb_to_grayscale")
    if img.ndim < 3:
        raise TypeError(
            f"rgb_to_grayscale: img must have at least 3 dimensions (..., C, H, W), got shape "
            f"{tuple(img.shape)}"
        )
    channels = int(img.shape[-3])
    if channels not in (1, 3):
        raise TypeError(f"rgb_to_grayscale: img must have 1 or 3 channels, got {channels}")
    if num_output_channels not in (1, 3):
        raise TensorValueError(
            f"rgb_to_grayscale: num_output_channels must be 1 or 3, got {num_output_channels!r}"
        )
    if channels == 3:
        r, g, b = img.unbind(-3)
        luma = (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(-3)
    else:
        luma = img.clone()
    return luma.expand(*img.shape) if num_output_channels == 3 else luma


# --- colour -------------------------------------------------------------------------------


def _color_image(img: Any, what: str, min_dim: int = 2) -> Tensor:
    """`img` checked as an image of 1 or 3 channels (torchvision's colour ops allow no other)."""
    img = _image(img, what)
    if img.ndim < min_dim:
        raise TypeError(
            f"{what}: img must have at least {min_dim} dimensions (..., C, H, W), got shape "
            f"{tuple(img.shape)}"
        )
    channels = get_dimensions(img)[0]
    if channels not in (1, 3):
        raise TypeError(f"{what}: img must have 1 or 3 channels, got {channels}")
    return img


def _bound(img: Tensor) -> int:
    """The largest value of the image's range: 1 for floats, the dtype's maximum for ints."""
    return _max_value(_dtype.as_dtype(img.dtype))


def _blend(img1: Tensor, img2: Tensor, ratio: float) -> Tensor:
    """`ratio * img1 + (1 - ratio) * img2`, clipped to the image range, in img1's dtype (an
    integer result is truncated, not rounded, as torchvision's cast does)."""
    ratio = float(ratio)
    mixed = ratio * img1 + (1.0 - ratio) * img2
    return mixed.clamp(0, _bound(img1)).to(img1.dtype)


def _non_negative(value: float, name: str, what: str) -> None:
    if value < 0:
        raise TensorValueError(f"{what}: {name} must be non-negative, got {value}")


def adjust_brightness(img: Tensor, brightness_factor: float) -> Tensor:
    """The image scaled by `brightness_factor` (0 gives black, 1 the image), clipped to its
    range."""
    _non_negative(brightness_factor, "brightness_factor", "adjust_brightness")
    img = _color_image(img, "adjust_brightness")
    return _blend(img, tinyconv.zeros_like(img), brightness_factor)


def adjust_contrast(img: Tensor, contrast_factor: float) -> Tensor:
    """The image blended with its mean grey level: `factor * img + (1 - factor) * mean`
    (0 gives a flat grey image, 1 the image)."""
    _non_negative(contrast_factor, "contrast_factor", "adjust_contrast")
    img = _color_image(img, "adjust_contrast")
    dtype = img.dtype if img.is_floating_point() else tinyconv.float32
    grey = rgb_to_grayscale(img) if get_dimensions(img)[0] == 3 else img
    mean = grey.to(dtype).mean(dim=(-3, -2, -1), keepdim=True)
    return _blend(img, mean, contrast_factor)


def adjust_saturation(img: Tensor, saturation_factor: float) -> Tensor:
    """The image blended with its greyscale version (0 gives grey, 1 the image, 2 doubles the
    saturation); a 1-channel image is returned as is."""
    _non_negative(saturation_factor, "saturation_factor", "adjust_saturation")
    img = _color_image(img, "adjust_saturation")
    if get_dimensions(img)[0] == 1:
        return img
    return _blend(img, rgb_to_grayscale(img), saturation_factor)


def _rgb_to_hsv(img: Tensor) -> Tensor:
    """Float RGB `(..., 3, H, W)` in [0, 1] -> HSV, each in [0, 1]."""
    r, g, b = img.unbind(-3)
    maxc = img.amax(dim=-3)
    minc = img.amin(dim=-3)
    grey = maxc == minc  # hue and saturation are 0 there; avoid dividing by 0
    chroma = maxc - minc
    ones_ = tinyconv.ones_like(maxc)
    s = chroma / tinyconv.where(grey, ones_, maxc)
    divisor = tinyconv.where(grey, ones_, chroma)
    rc, gc, bc = (maxc - r) / divisor, (maxc - g) / divisor, (maxc - b) / divisor
    # The hue sector is picked by which channel is the maximum (red first, then green).
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = tinyconv.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return tinyconv.stack((h, s, maxc), dim=-3)


def _hsv_to_rgb(img: Tensor) -> Tensor:
    """HSV `(..., 3, H, W)` -> RGB, choosing each channel from (v, p, q, t) by hue sector."""
    h, s, v = img.unbind(-3)
    sector = tinyconv.floor(h * 6.0)
    f = h * 6.0 - sector
    sector = sector.to(tinyconv.int32) % 6
    p = (v * (1.0 - s)).clamp(0.0, 1.0)
    q = (v * (1.0 - s * f)).clamp(0.0, 1.0)
    t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0)
    index = sector.unsqueeze(-3).to(tinyconv.int64)
    channels = [
        tinyconv.stack(choices, dim=-3).gather(-3, index).squeeze(-3)
        for choices in ((v, q, p, p, t, v), (t, v, v, q, p, p), (p, p, t, v, v, q))
    ]
    return tinyconv.stack(channels, dim=-3)


def adjust_hue(img: Tensor, hue_factor: float) -> Tensor:
    """The image with its hue shifted by `hue_factor` turns (in [-0.5, 0.5]) in HSV space; a
    1-channel image is returned as is. The pixel values must be non-negative."""
    if not -0.5 <= hue_factor <= 0.5:
        raise TensorValueError(f"adjust_hue: hue_factor must be in [-0.5, 0.5], got {hue_factor}")
    img = _color_image(img, "adjust_hue")
    if get_dimensions(img)[0] == 1:
        return img
    hsv = _rgb_to_hsv(convert_image_dtype(img, tinyconv.float32))
    h, s, v = hsv.unbind(-3)
    shifted = tinyconv.stack(((h + hue_factor) % 1.0, s, v), dim=-3)
    return convert_image_dtype(_hsv_to_rgb(shifted), img.dtype)


def adjust_gamma(img: Tensor, gamma: float, gain: float = 1) -> Tensor:
    """`gain * img ** gamma` on the image scaled to [0, 1], clipped, in the image's dtype."""
    img = _color_image(img, "adjust_gamma")
    if gamma < 0:
        raise TensorValueError(f"adjust_gamma: gamma must be non-negative, got {gamma}")
    x = img if img.is_floating_point() else convert_image_dtype(img, tinyconv.float32)
    return convert_image_dtype((gain * x.pow(gamma)).clamp(0, 1), img.dtype)


def invert(img: Tensor) -> Tensor:
    """`max - img`: the colours inverted (max is 1 for floats, 255 for uint8)."""
    img = _color_image(img, "invert", min_dim=3)
    return _bound(img) - img


def posterize(img: Tensor, bits: int) -> Tensor:
    """A uint8 image with only its `bits` (0 to 8) highest bits kept per channel."""
    if not 0 <= bits <= 8:
        raise TensorValueError(f"posterize: bits must be between 0 and 8, got {bits}")
    img = _color_image(img, "posterize", min_dim=3)
    if img.dtype != tinyconv.uint8:
        raise TypeError(f"posterize: img must be a uint8 image, got {img.dtype}")
    keep = (256 - 2 ** (8 - bits)) % 256  # the top `bits` bits set: 0b11100000 for bits=3
    return img & keep


def solarize(img: Tensor, threshold: float) -> Tensor:
    """Every pixel at or above `threshold` inverted."""
    img = _color_image(img, "solarize", min_dim=3)
    if threshold > _bound(img):
        raise TypeError(
            f"solarize: threshold must be at most the image's maximum value {_bound(img)}, "
            f"got {threshold}"
        )
    return tinyconv.where(img >= threshold, invert(img), img)


def _as_batch(img: Tensor, dtype: Any) -> tuple[Tensor, bool, Any]:
    """The image as `(N, C, H, W)` in `dtype`, whether it was unbatched, and its dtype."""
    squeeze = img.ndim < 4
    return (img.unsqueeze(0) if squeeze else img).to(dtype), squeeze, img.dtype


def _from_batch(img: Tensor, squeeze: bool, dtype: Any) -> Tensor:
    """Undoes `_as_batch`; an integer image is rounded, not truncated, back."""
    if squeeze:
        img = img.squeeze(0)
    if img.dtype != dtype:
        if not _dtype.is_floating(_dtype.as_dtype(dtype)):
            img = img.round()
        img = img.to(dtype)
    return img


def _work_dtype(img: Tensor) -> Any:
    """The dtype filters run in: the image's own if float, else float32."""
    return img.dtype if img.is_floating_point() else tinyconv.float32


def _fma_chain_3x3(batch: Tensor, kernel: Tensor) -> Tensor:
    """The float32 3x3 depthwise correlation (no padding) as PyTorch's CPU computes it for
    more than one channel: its oneDNN depthwise kernel (AVX2 and AVX-512 alike) sums the
    nine taps row by row into one accumulator, each a fused multiply-add rounded once to
    float32. Each step here is that fma: the product of two float32 numbers is exact in
    float64, so the sum is rounded once in float64, then to float32 (a double rounding that
    differs from the fma's only when the float64 sum lands exactly halfway between two
    float32 numbers). A convolution by matrix product left this to the BLAS kernel NumPy
    has: OpenBLAS's SkylakeX kernel happened to sum as oneDNN does, its Haswell kernel
    differed in the last bit. (One channel is an ordinary convolution to PyTorch, which
    runs a small one as im2col and MKL's GEMM, whose rounding depends on the CPU.)"""
    h, w = int(batch.shape[-2]) - 2, int(batch.shape[-1]) - 2
    wide = batch.double()
    taps = kernel.double().tolist()
    acc = None
    for i in range(3):
        for j in range(3):
            term = wide[..., i : i + h, j : j + w] * taps[i][j]
            acc = (term if acc is None else term + acc.double()).float()
    return acc


def _blurred_degenerate_image(img: Tensor) -> Tensor:
    """The image smoothed by the 3x3 kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 (the border
    pixels are kept)."""
    dtype = _work_dtype(img)
    kernel = ones((3, 3), dtype=dtype)
    kernel[1, 1] = 5.0
    kernel = kernel / kernel.sum()
    channels = int(img.shape[-3])
    batch, squeeze, out_dtype = _as_batch(img, dtype)
    if dtype == tinyconv.float32:
        smooth = _fma_chain_3x3(batch, kernel)
    else:
        smooth = F.conv2d(batch, kernel.expand(channels, 1, 3, 3), groups=channels)
    result = img.clone()
    result[..., 1:-1, 1:-1] = _from_batch(smooth, squeeze, out_dtype)
    return result


def adjust_sharpness(img: Tensor, sharpness_factor: float) -> Tensor:
    """The image blended with a smoothed copy: 0 blurs, 1 is the image, 2 sharpens."""
    _non_negative(sharpness_factor, "sharpness_factor", "adjust_sharpness")
    img = _color_image(img, "adjust_sharpness")
    if img.shape[-1] <= 2 or img.shape[-2] <= 2:
        return img
    return _blend(img, _blurred_degenerate_image(img), sharpness_factor)


def autocontrast(img: Tensor) -> Tensor:
    """Each channel stretched so that its darkest pixel is 0 and its lightest the maximum (a
    flat channel is left as is)."""
    img = _color_image(img, "autocontrast", min_dim=3)
    bound = _bound(img)
    dtype = _work_dtype(img)
    low = img.amin(dim=(-2, -1), keepdim=True).to(dtype)
    high = img.amax(dim=(-2, -1), keepdim=True).to(dtype)
    scale = bound / (high - low)
    flat = ~tinyconv.isfinite(scale)
    low = tinyconv.where(flat, tinyconv.zeros_like(low), low)
    scale = tinyconv.where(flat, tinyconv.ones_like(scale), scale)
    return ((img - low) * scale).clamp(0, bound).to(img.dtype)


def _equalize_channel(chan: np.ndarray) -> np.ndarray:
    """One uint8 channel mapped through its cumulative histogram, spread evenly over 0-255
    (PIL's ImageOps.equalize, which torchvision follows)."""
    hist = np.bincount(chan.reshape(-1), minlength=256).astype(np.int64)
    used = hist[hist != 0]
    step = int(used[:-1].sum()) // 255
    if step == 0:
        return chan
    lut = (np.cumsum(hist) + step // 2) // step
    lut = np.clip(np.concatenate(([0], lut[:-1])), 0, 255)
    return lut[chan.astype(np.int64)].astype(np.uint8)


def equalize(img: Tensor) -> Tensor:
    """Histogram equalisation of each channel of a uint8 image `(C, H, W)` or `(N, C, H, W)`."""
    img = _color_image(img, "equalize")
    if not 3 <= img.ndim <= 4:
        raise TypeError(f"equalize: img must have 3 or 4 dimensions, got shape {tuple(img.shape)}")
    if img.dtype != tinyconv.uint8:
        raise TypeError(f"equalize: img must be a uint8 image, got {img.dtype}")
    arr = img.numpy()
    flat = arr.reshape(-1, *arr.shape[-2:])
    out = np.stack([_equalize_channel(chan) for chan in flat]).reshape(arr.shape)
    return from_numpy(np.ascontiguousarray(out))


# --- erasing and blurring ------------------------------------------------------------------


def erase(img: Tensor, i: int, j: int, h: int, w: int, v: Tensor, inplace: bool = False) -> Tensor:
    """The image with its `h x w` window at (i, j) (top, left) set to `v` (broadcast)."""
    img = _image(img, "erase")
    out = img if inplace else img.clone()
    out[..., i : i + h, j : j + w] = v
    return out


def _gaussian_kernel1d(size: int, sigma: float, dtype: Any) -> Tensor:
    half = (size - 1) * 0.5
    x = linspace(-half, half, steps=size, dtype=dtype)
    pdf = (-0.5 * (x / sigma).pow(2)).exp()
    return pdf / pdf.sum()


def gaussian_blur(img: Tensor, kernel_size: Any, sigma: Any = None) -> Tensor:
    """The image convolved with a Gaussian kernel of `kernel_size` (int or (kx, ky), odd) and
    `sigma` (float or (sx, sy); default `0.3 * ((k - 1) * 0.5 - 1) + 0.8`), reflect-padded."""
    what = "gaussian_blur"
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError(
            f"{what}: kernel_size must be an int or a sequence of ints, got "
            f"{type(kernel_size).__name__}"
        )
    sizes = [kernel_size, kernel_size] if isinstance(kernel_size, int) else list(kernel_size)
    if len(sizes) != 2:
        raise TensorValueError(
            f"{what}: kernel_size as a sequence must have 2 values, got {len(sizes)}"
        )
    if any(k % 2 == 0 or k < 0 for k in sizes):
        raise TensorValueError(f"{what}: kernel_size must be odd and positive, got {sizes}")
    if sigma is None:
        sigma = [k * 0.15 + 0.35 for k in sizes]
    if not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(
            f"{what}: sigma must be a float or a sequence of floats, got {type(sigma).__name__}"
        )
    sigmas = [float(sigma)] * 2 if isinstance(sigma, (int, float)) else list(sigma)
    if len(sigmas) == 1:
        sigmas = sigmas * 2
    if len(sigmas) != 2:
        raise TensorValueError(f"{what}: sigma as a sequence must have 2 values, got {sigmas}")
    if any(s <= 0.0 for s in sigmas):
        raise TensorValueError(f"{what}: sigma must be positive, got {sigmas}")
    img = _image(img, what)
    dtype = _work_dtype(img)
    kx = _gaussian_kernel1d(sizes[0], sigmas[0], dtype)
    ky = _gaussian_kernel1d(sizes[1], sigmas[1], dtype)
    kernel = ky[:, None].mm(kx[None, :])
    channels = int(img.shape[-3])
    batch, squeeze, out_dtype = _as_batch(img, dtype)
    half_x, half_y = sizes[0] // 2, sizes[1] // 2
    batch = F.pad(batch, [half_x, half_x, half_y, half_y], mode="reflect")
    out = F.conv2d(batch, kernel.expand(channels, 1, *kernel.shape), groups=channels)
    return _from_batch(out, squeeze, out_dtype)


# --- geometry: images resampled through a grid -----------------------------------------------

_GRID_MODES = (InterpolationMode.NEAREST, InterpolationMode.BILINEAR)


def _grid_mode(interpolation: Any, what: str) -> str:
    mode = interpolation_mode(interpolation, what)
    if mode not in _GRID_MODES:
        raise TensorValueError(
            f"{what}: interpolation {mode} is not supported for tensors (NEAREST and BILINEAR are)"
        )
    return mode.value


def _check_fill(img: Tensor, fill: Any, what: str) -> None:
    channels = get_dimensions(img)[0]
    if fill is not None and not isinstance(fill, (int, float, tuple, list)):
        raise TypeError(
            f"{what}: fill must be a number or a sequence of numbers, got {type(fill).__name__}"
        )
    if isinstance(fill, (tuple, list)) and len(fill) > 1 and len(fill) != channels:
        raise TensorValueError(
            f"{what}: fill has {len(fill)} values but the image has {channels} channels"
        )


def _sample_grid(img: Tensor, grid: Tensor, mode: str, fill: Any) -> Tensor:
    """The image `(..., C, H, W)` read at `grid` (1, H', W', 2) by grid_sample, zeros outside;
    with `fill`, the outside is painted with it instead (through a sampled ones-channel)."""
    batch, squeeze, out_dtype = _as_batch(img, grid.dtype)
    n, _, h, w = batch.shape
    if n > 1:
        grid = grid.expand(n, *grid.shape[1:])
    if fill is not None:
        batch = tinyconv.cat((batch, ones((n, 1, h, w), dtype=batch.dtype)), dim=1)
    out = F.grid_sample(batch, grid, mode=mode, padding_mode="zeros", align_corners=False)
    if fill is not None:
        out, inside = out[:, :-1], out[:, -1:].expand(*out[:, :-1].shape)
        values = list(fill) if isinstance(fill, (tuple, list)) else [float(fill)]
        paint = tensor(values, dtype=out.dtype).view(1, len(values), 1, 1).expand(*out.shape)
        if mode == "nearest":
            out = tinyconv.where(inside < 0.5, paint, out)
        else:
            out = out * inside + (1.0 - inside) * paint
    return _from_batch(out, squeeze, out_dtype)


def _affine_grid(theta: Tensor, w: int, h: int, ow: int, oh: int) -> Tensor:
    """The sampling grid (1, oh, ow, 2) of `theta` (1, 2, 3), which maps output pixel centres
    (relative to the output's centre) to input pixels (relative to the input's centre); the
    result is normalised by the input's size, so `ow, oh` may differ from `w, h` (expand)."""
    base = tinyconv.empty(1, oh, ow, 3, dtype=theta.dtype)
    base[..., 0] = linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, steps=ow)
    base[..., 1] = linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, steps=oh).unsqueeze(-1)
    base[..., 2] = 1.0
    scaled = theta.transpose(1, 2) / tensor([0.5 * w, 0.5 * h], dtype=theta.dtype)
    return base.view(1, oh * ow, 3).bmm(scaled).view(1, oh, ow, 2)


def _inverse_affine_matrix(
    center: Sequence[float],
    angle: float,
    translate: Sequence[float],
    scale: float,
    shear: Sequence[float],
) -> list[float]:
    """The 2x3 matrix (row-major) taking output pixels back to input pixels for the affine map
    `T(translate) C R(angle) S(scale) Shear C^-1` about `center` (angles in degrees)."""
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    # rotation and shear (determinant 1): [[a, b], [c, d]]
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    # its inverse, divided by the scale, then composed with the translations
    m = [x / scale for x in (d, -b, 0.0, -c, a, 0.0)]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
    m[2] += cx
    m[5] += cy
    return m


def _centre_offset(img: Tensor, center: Any) -> list[float]:
    """`center` (x, y in pixels from the top-left corner) relative to the image centre."""
    if center is None:
        return [0.0, 0.0]
    _, height, width = get_dimensions(img)
    return [1.0 * (c - s * 0.5) for c, s in zip(center, (width, height), strict=False)]


def _expanded_size(matrix: list[float], w: int, h: int) -> tuple[int, int]:
    """(w, h) of the box that holds the whole image after `matrix` (for rotate's expand)."""
    corners = tensor(
        [
            [-0.5 * w, -0.5 * h, 1.0],
            [-0.5 * w, 0.5 * h, 1.0],
            [0.5 * w, 0.5 * h, 1.0],
            [0.5 * w, -0.5 * h, 1.0],
        ]
    )
    moved = corners.matmul(tensor(matrix, dtype=tinyconv.float32).view(2, 3).T)
    shift = tensor((w * 0.5, h * 0.5))
    low = moved.amin(dim=0) + shift
    high = moved.amax(dim=0) + shift
    tol = 1e-4  # cut the precision so that 1e-15 above an integer does not round up
    size = ((high / tol).trunc() * tol).ceil() - ((low / tol).trunc() * tol).floor()
    return int(size[0]), int(size[1])


def rotate(
    img: Tensor,
    angle: float,
    interpolation: Any = InterpolationMode.NEAREST,
    expand: bool = False,
    center: Sequence[int] | None = None,
    fill: Any = None,
) -> Tensor:
    """The image `(..., H, W)` rotated `angle` degrees counter-clockwise about `center` (the
    image centre by default); `expand` grows the output to hold the whole rotated image; the
    uncovered area is 0 or `fill`."""
    what = "rotate"
    mode = _grid_mode(interpolation, what)
    if not isinstance(angle, (int, float)):
        raise TypeError(f"{what}: angle must be an int or a float, got {type(angle).__name__}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError(f"{what}: center must be a sequence, got {type(center).__name__}")
    img = _image(img, what)
    _check_fill(img, fill, what)
    matrix = _inverse_affine_matrix(_centre_offset(img, center), -angle, [0.0, 0.0], 1.0, [0, 0])
    w, h = int(img.shape[-1]), int(img.shape[-2])
    ow, oh = _expanded_size(matrix, w, h) if expand else (w, h)
    theta = tensor(matrix, dtype=_work_dtype(img)).reshape(1, 2, 3)
    return _sample_grid(img, _affine_grid(theta, w, h, ow, oh), mode, fill)


def affine(
    img: Tensor,
    angle: float,
    translate: Sequence[int],
    scale: float,
    shear: Any,
    interpolation: Any = InterpolationMode.NEAREST,
    fill: Any = None,
    center: Sequence[int] | None = None,
) -> Tensor:
    """The image `(..., H, W)` rotated by `angle` degrees (clockwise), scaled, sheared (`shear`
    in degrees: a number for x, or (x, y)) about `center`, then shifted by `translate` pixels."""
    what = "affine"
    mode = _grid_mode(interpolation, what)
    if not isinstance(angle, (int, float)):
        raise TypeError(f"{what}: angle must be an int or a float, got {type(angle).__name__}")
    if not isinstance(translate, (list, tuple)):
        raise TypeError(f"{what}: translate must be a sequence, got {type(translate).__name__}")
    if len(translate) != 2:
        raise TensorValueError(f"{what}: translate must have 2 values, got {translate!r}")
    if scale <= 0.0:
        raise TensorValueError(f"{what}: scale must be positive, got {scale}")
    if not isinstance(shear, (numbers.Number, list, tuple)):
        raise TypeError(
            f"{what}: shear must be a number or a sequence of two, got {type(shear).__name__}"
        )
    shears = [shear, 0.0] if isinstance(shear, numbers.Number) else list(shear)
    if len(shears) == 1:
        shears = shears * 2
    if len(shears) != 2:
        raise TensorValueError(f"{what}: shear must have 2 values, got {shears}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError(f"{what}: center must be a sequence, got {type(center).__name__}")
    img = _image(img, what)
    _check_fill(img, fill, what)
    offset = _centre_offset(img, center)
    moved = [1.0 * t for t in translate]
    matrix = _inverse_affine_matrix(offset, float(angle), moved, scale, shears)
    w, h = int(img.shape[-1]), int(img.shape[-2])
    theta = tensor(matrix, dtype=_work_dtype(img)).reshape(1, 2, 3)
    return _sample_grid(img, _affine_grid(theta, w, h, w, h), mode, fill)


def _perspective_coeffs(startpoints: Any, endpoints: Any) -> list[float]:
    """(a, b, c, d, e, f, g, h) of the map taking each end point (x, y) to its start point
    ((a x + b y + c) / (g x + h y + 1), (d x + e y + f) / (g x + h y + 1)), solved by least
    squares in float64 and rounded to float32."""
    if len(startpoints) != 4 or len(endpoints) != 4:
        raise TensorValueError(
            f"perspective: startpoints and endpoints must hold four corners each, got "
            f"{len(startpoints)} and {len(endpoints)}"
        )
    rows = []
    for (x, y), (u, v) in zip(endpoints, startpoints, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=np.float64)
    b = np.array(startpoints, dtype=np.float64).reshape(8)
    solution = np.linalg.lstsq(a, b, rcond=None)[0]
    return solution.astype(np.float32).tolist()


def _perspective_grid(coeffs: list[float], ow: int, oh: int, dtype: Any) -> Tensor:
    theta1 = tensor([[coeffs[0:3], coeffs[3:6]]], dtype=dtype)
    theta2 = tensor([[[coeffs[6], coeffs[7], 1.0], [coeffs[6], coeffs[7], 1.0]]], dtype=dtype)
    base = tinyconv.empty(1, oh, ow, 3, dtype=dtype)
    base[..., 0] = linspace(0.5, ow - 0.5, steps=ow)
    base[..., 1] = linspace(0.5, oh - 0.5, steps=oh).unsqueeze(-1)
    base[..., 2] = 1.0
    points = base.view(1, oh * ow, 3)
    numerator = points.bmm(theta1.transpose(1, 2) / tensor([0.5 * ow, 0.5 * oh], dtype=dtype))
    denominator = points.bmm(theta2.transpose(1, 2))
    return (numerator / denominator - 1.0).view(1, oh, ow, 2)


def perspective(
    img: Tensor,
    startpoints: Sequence[Sequence[int]],
    endpoints: Sequence[Sequence[int]],
    interpolation: Any = InterpolationMode.BILINEAR,
    fill: Any = None,
) -> Tensor:
    """The image `(..., H, W)` warped so that the four `startpoints` corners ([top-left,
    top-right, bottom-right, bottom-left], (x, y) pixels) land on `endpoints`."""
    what = "perspective"
    coeffs = _perspective_coeffs(startpoints, endpoints)
    mode = _grid_mode(interpolation, what)
    img = _image(img, what)
    _check_fill(img, fill, what)
    grid = _perspective_grid(coeffs, int(img.shape[-1]), int(img.shape[-2]), _work_dtype(img))
    return _sample_grid(img, grid, mode, fill)


def elastic_transform(
    img: Tensor,
    displacement: Tensor,
    interpolation: Any = InterpolationMode.BILINEAR,
    fill: Any = None,
) -> Tensor:
    """The image `(..., H, W)` resampled at the identity grid plus `displacement`
    (1, H, W, 2), in grid_sample's normalised coordinates."""
    what = "elastic_transform"
    mode = _grid_mode(interpolation, what)
    if not isinstance(displacement, Tensor):
        raise TypeError(f"{what}: displacement must be a Tensor, got {type(displacement).__name__}")
    img = _image(img, what)
    h, w = int(img.shape[-2]), int(img.shape[-1])
    if tuple(displacement.shape) != (1, h, w, 2):
        raise TensorValueError(
            f"{what}: displacement must have shape {(1, h, w, 2)}, got {tuple(displacement.shape)}"
        )
    ys = linspace((-h + 1) / h, (h - 1) / h, h)
    xs = linspace((-w + 1) / w, (w - 1) / w, w)
    grid_y, grid_x = tinyconv.meshgrid(ys, xs, indexing="ij")
    identity = tinyconv.stack([grid_x, grid_y], -1).unsqueeze(0)
    return _sample_grid(img, identity + displacement, mode, fill)


# --- several crops -------------------------------------------------------------------------


def _crop_size(size: Any, what: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)  # type: ignore[call-overload]
    if isinstance(size, (tuple, list)) and len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise TensorValueError(f"{what}: size must be an int or (h, w), got {size!r}")
    return size[0], size[1]


def five_crop(img: Tensor, size: Any) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The four corner `size` crops and the central one: (top-left, top-right, bottom-left,
    bottom-right, centre)."""
    crop_h, crop_w = _crop_size(size, "five_crop")
    _, h, w = get_dimensions(_image(img, "five_crop"))
    if crop_w > w or crop_h > h:
        raise TensorValueError(
            f"five_crop: crop size {(crop_h, crop_w)} is bigger than the image {(h, w)}"
        )
    return (
        crop(img, 0, 0, crop_h, crop_w),
        crop(img, 0, w - crop_w, crop_h, crop_w),
        crop(img, h - crop_h, 0, crop_h, crop_w),
        crop(img, h - crop_h, w - crop_w, crop_h, crop_w),
        center_crop(img, [crop_h, crop_w]),
    )


def ten_crop(img: Tensor, size: Any, vertical_flip: bool = False) -> tuple[Tensor, ...]:
    """`five_crop` of the image, then `five_crop` of it mirrored (left-right, or top-bottom with
    `vertical_flip`)."""
    size = _crop_size(size, "ten_crop")
    flipped = vflip(img) if vertical_flip else hflip(img)
    return five_crop(img, size) + five_crop(flipped, size)


def missing_attribute(module: str, name: str, pil_only: tuple[str, ...]) -> AttributeError:
    """The error for `module.name`, saying why where `name` is one of torchvision's PIL-only
    names (tinyconv does not depend on Pillow)."""
    if name in pil_only:
        return AttributeError(
            f"{module} has no {name}: tinyconv does not depend on Pillow, so there are no PIL "
            "images (datasets hand transforms a float32 Tensor (C, H, W) in [0, 1]; "
            "rgb_to_grayscale works on Tensors)"
        )
    return AttributeError(f"module {module!r} has no attribute {name!r}")


def __getattr__(name: str) -> Any:
    raise missing_attribute(__name__, name, _PIL_ONLY)
