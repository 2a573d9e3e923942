"""Image transforms as functions of Tensors, as torchvision.transforms.functional.

An image is a Tensor `(..., C, H, W)` (or `(H, W)` where torchvision allows it); every
function returns a new Tensor (`normalize(inplace=True)` excepted) with torchvision's values,
dtype and shape. There is no PIL path: tinyconv does not depend on Pillow, so a function
that torchvision runs on PIL images only (`to_pil_image`, `pil_to_tensor`, `to_grayscale`)
is not here.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from enum import Enum
from typing import Any

import numpy as np

from .. import _dtype
from .._errors import TensorValueError
from ..creation import as_tensor, from_numpy, tensor
from ..nn import functional as F
from ..tensor import Tensor

_PIL_ONLY = ("to_pil_image", "pil_to_tensor", "to_grayscale")

__all__ = [
    "InterpolationMode",
    "center_crop",
    "convert_image_dtype",
    "crop",
    "get_dimensions",
    "get_image_num_channels",
    "get_image_size",
    "hflip",
    "normalize",
    "pad",
    "resize",
    "resized_crop",
    "rgb_to_grayscale",
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
