"""Learned and random augmentation policies, as torchvision.transforms.autoaugment.

AutoAugment (Cubuk et al., 2019) applies one of 25 learned pairs of operations; RandAugment
(Cubuk et al., 2020) applies `num_ops` operations picked uniformly at one fixed magnitude;
TrivialAugmentWide (Müller and Hutter, 2021) applies one operation at a random magnitude.
They draw from tinyconv's generator what torchvision draws from PyTorch's, in the same order,
so a seed picks the same operations and magnitudes. The colour operations need uint8 images
for Posterize and Equalize, as in torchvision.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

from ..creation import arange, linspace, rand, randint, tensor
from ..nn import Module
from ..tensor import Tensor
from . import functional as TF
from .functional import InterpolationMode

__all__ = ["AutoAugment", "AutoAugmentPolicy", "RandAugment", "TrivialAugmentWide"]


def _apply_op(
    img: Tensor, op_name: str, magnitude: float, interpolation: Any, fill: list[float] | None
) -> Tensor:
    """One named operation at `magnitude` (its meaning depends on the operation)."""
    geometry = {"interpolation": interpolation, "fill": fill}
    if op_name == "ShearX":  # shears about the top-left corner, as PIL's does
        shear = [math.degrees(math.atan(magnitude)), 0.0]
        return TF.affine(img, 0.0, [0, 0], 1.0, shear, center=[0, 0], **geometry)
    if op_name == "ShearY":
        shear = [0.0, math.degrees(math.atan(magnitude))]
        return TF.affine(img, 0.0, [0, 0], 1.0, shear, center=[0, 0], **geometry)
    if op_name == "TranslateX":
        return TF.affine(img, 0.0, [int(magnitude), 0], 1.0, [0.0, 0.0], **geometry)
    if op_name == "TranslateY":
        return TF.affine(img, 0.0, [0, int(magnitude)], 1.0, [0.0, 0.0], **geometry)
    if op_name == "Rotate":
        return TF.rotate(img, magnitude, **geometry)
    colour = {
        "Brightness": lambda: TF.adjust_brightness(img, 1.0 + magnitude),
        "Color": lambda: TF.adjust_saturation(img, 1.0 + magnitude),
        "Contrast": lambda: TF.adjust_contrast(img, 1.0 + magnitude),
        "Sharpness": lambda: TF.adjust_sharpness(img, 1.0 + magnitude),
        "Posterize": lambda: TF.posterize(img, int(magnitude)),
        "Solarize": lambda: TF.solarize(img, magnitude),
        "AutoContrast": lambda: TF.autocontrast(img),
        "Equalize": lambda: TF.equalize(img),
        "Invert": lambda: TF.invert(img),
        "Identity": lambda: img,
    }
    if op_name not in colour:
        raise ValueError(f"The provided operator {op_name} is not recognized.")
    return colour[op_name]()


def _fill_list(fill: Any, channels: int) -> list[float] | None:
    if isinstance(fill, (int, float)):
        return [float(fill)] * channels
    if fill is not None:
        return [float(f) for f in fill]
    return None


def _posterize_bits(num_bins: int, levels: int) -> Tensor:
    """8 down to 8 - levels bits over `num_bins` magnitudes."""
    return 8 - (arange(num_bins) / ((num_bins - 1) / levels)).round().int()


def _space(
    num_bins: int,
    shear: float,
    translate: Any,
    rotate: float,
    enhance: float,
    bits: int,
    identity: bool,
) -> dict:
    """Operation name -> (magnitudes over the bins, whether the sign is random)."""
    none = tensor(0.0)
    space: dict[str, tuple[Tensor, bool]] = {"Identity": (none, False)} if identity else {}
    tx, ty = translate
    space |= {
        "ShearX": (linspace(0.0, shear, num_bins), True),
        "ShearY": (linspace(0.0, shear, num_bins), True),
        "TranslateX": (linspace(0.0, tx, num_bins), True),
        "TranslateY": (linspace(0.0, ty, num_bins), True),
        "Rotate": (linspace(0.0, rotate, num_bins), True),
        "Brightness": (linspace(0.0, enhance, num_bins), True),
        "Color": (linspace(0.0, enhance, num_bins), True),
        "Contrast": (linspace(0.0, enhance, num_bins), True),
        "Sharpness": (linspace(0.0, enhance, num_bins), True),
        "Posterize": (_posterize_bits(num_bins, bits), False),
        "Solarize": (linspace(255.0, 0.0, num_bins), False),
        "AutoContrast": (none, False),
        "Equalize": (none, False),
    }
    return space


def _image_space(num_bins: int, image_size: tuple[int, int], identity: bool) -> dict:
    """AutoAugment's and RandAugment's magnitudes (translations scale with the image)."""
    h, w = image_size
    translate = (150.0 / 331.0 * w, 150.0 / 331.0 * h)
    return _space(num_bins, 0.3, translate, 30.0, 0.9, 4, identity)


class AutoAugmentPolicy(Enum):
    """The datasets AutoAugment learned a policy on."""

    IMAGENET = "imagenet"
    CIFAR10 = "cifar10"
    SVHN = "svhn"


# (operation, probability, magnitude bin or None) pairs, as published for each dataset.
_POLICIES = {
    AutoAugmentPolicy.IMAGENET: [
        (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
        (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
        (("Solarize", 0.6, 3), ("Equalize", 0.6, None)),
        (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
        (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)),
        (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
        (("Rotate", 0.8, 8), ("Color", 0.4, 0)),
        (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
        (("Equalize", 0.0, None), ("Equalize", 0.8, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
        (("Color", 0.8, 8), ("Solarize", 0.8, 7)),
        (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
        (("ShearX", 0.6, 5), ("Equalize", 1.0, None)),
        (("Color", 0.4, 0), ("Equalize", 0.6, None)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
    ],
    AutoAugmentPolicy.CIFAR10: [
        (("Invert", 0.1, None), ("Contrast", 0.2, 6)),
        (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
        (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)),
        (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)),
        (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
        (("Color", 0.4, 3), ("Brightness", 0.6, 7)),
        (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
        (("Equalize", 0.6, None), ("Equalize", 0.5, None)),
        (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
        (("Color", 0.7, 7), ("TranslateX", 0.5, 8)),
        (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
        (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)),
        (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
        (("Solarize", 0.5, 2), ("Invert", 0.0, None)),
        (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.2, None), ("Equalize", 0.6, None)),
        (("Color", 0.9, 9), ("Equalize", 0.6, None)),
        (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)),
        (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
        (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)),
        (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)),
        (("Equalize", 0.8, None), ("Invert", 0.1, None)),
        (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
    ],
    AutoAugmentPolicy.SVHN: [
        (("ShearX", 0.9, 4), ("Invert", 0.2, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.6, None), ("Solarize", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("AutoContrast", 0.8, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.4, None)),
        (("ShearY", 0.9, 5), ("Solarize", 0.2, 6)),
        (("Invert", 0.9, None), ("AutoContrast", 0.8, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("Solarize", 0.3, 3)),
        (("ShearY", 0.8, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.9, None), ("TranslateY", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Contrast", 0.3, 3), ("Rotate", 0.8, 4)),
        (("Invert", 0.8, None), ("TranslateY", 0.0, 2)),
        (("ShearY", 0.7, 6), ("Solarize", 0.4, 8)),
        (("Invert", 0.6, None), ("Rotate", 0.8, 4)),
        (("ShearY", 0.3, 7), ("TranslateX", 0.9, 3)),
        (("ShearX", 0.1, 6), ("Invert", 0.6, None)),
        (("Solarize", 0.7, 2), ("TranslateY", 0.6, 7)),
        (("ShearY", 0.8, 4), ("Invert", 0.8, None)),
        (("ShearX", 0.7, 9), ("TranslateY", 0.8, 3)),
        (("ShearY", 0.8, 5), ("AutoContrast", 0.7, None)),
        (("ShearX", 0.7, 2), ("Invert", 0.1, None)),
    ],
}


class AutoAugment(Module):
    """Applies one of the `policy`'s 25 sub-policies (picked uniformly), each of whose two
    operations runs with its own probability at its magnitude (sign random where it has
    one): draws randint(25), rand(2), randint(2, (2,)) per call."""

    def __init__(
        self,
        policy: AutoAugmentPolicy = AutoAugmentPolicy.IMAGENET,
        interpolation: Any = InterpolationMode.NEAREST,
        fill: list[float] | None = None,
    ) -> None:
        super().__init__()
        if policy not in _POLICIES:
            raise ValueError(f"The provided policy {policy} is not recognized.")
        self.policy, self.fill = policy, fill
        self.interpolation = TF.interpolation_mode(interpolation, "AutoAugment")
        self.policies = _POLICIES[policy]

    def _augmentation_space(self, num_bins: int, image_size: tuple[int, int]) -> dict:
        space = _image_space(num_bins, image_size, identity=False)
        return space | {"Invert": (tensor(0.0), False)}

    @staticmethod
    def get_params(transform_num: int) -> tuple[int, Tensor, Tensor]:
        """(sub-policy index, the two operations' probabilities, their signs)."""
        policy_id = int(randint(transform_num, (1,)).item())
        return policy_id, rand((2,)), randint(2, (2,))

    def forward(self, img: Tensor) -> Tensor:
        channels, height, width = TF.get_dimensions(img)
        fill = _fill_list(self.fill, channels)
        policy_id, probs, signs = self.get_params(len(self.policies))
        space = self._augmentation_space(10, (height, width))
        for i, (op_name, p, magnitude_id) in enumerate(self.policies[policy_id]):
            if probs[i] <= p:
                magnitudes, signed = space[op_name]
                magnitude = 0.0 if magnitude_id is None else float(magnitudes[magnitude_id].item())
                if signed and signs[i] == 0:
                    magnitude = -magnitude
                img = _apply_op(img, op_name, magnitude, self.interpolation, fill)
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(policy={self.policy}, fill={self.fill})"


class RandAugment(Module):
    """Applies `num_ops` operations, each picked uniformly (randint) and applied at bin
    `magnitude` of `num_magnitude_bins`, with a random sign where it has one."""

    def __init__(
        self,
        num_ops: int = 2,
        magnitude: int = 9,
        num_magnitude_bins: int = 31,
        interpolation: Any = InterpolationMode.NEAREST,
        fill: list[float] | None = None,
    ) -> None:
        super().__init__()
        self.num_ops, self.magnitude, self.num_magnitude_bins = (
            num_ops,
            magnitude,
            num_magnitude_bins,
        )
        self.interpolation = TF.interpolation_mode(interpolation, "RandAugment")
        self.fill = fill

    def _augmentation_space(self, num_bins: int, image_size: tuple[int, int]) -> dict:
        return _image_space(num_bins, image_size, identity=True)

    def forward(self, img: Tensor) -> Tensor:
        channels, height, width = TF.get_dimensions(img)
        fill = _fill_list(self.fill, channels)
        space = self._augmentation_space(self.num_magnitude_bins, (height, width))
        names = list(space)
        for _ in range(self.num_ops):
            op_name = names[int(randint(len(space), (1,)).item())]
            magnitudes, signed = space[op_name]
            magnitude = float(magnitudes[self.magnitude].item()) if magnitudes.ndim > 0 else 0.0
            if signed and bool(randint(2, (1,))):
                magnitude = -magnitude
            img = _apply_op(img, op_name, magnitude, self.interpolation, fill)
        return img

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_ops={self.num_ops}, magnitude={self.magnitude}, "
            f"num_magnitude_bins={self.num_magnitude_bins}, interpolation={self.interpolation}, "
            f"fill={self.fill})"
        )


class TrivialAugmentWide(Module):
    """Applies one operation, picked uniformly, at a magnitude bin picked uniformly (wider
    ranges than RandAugment's), with a random sign where it has one."""

    def __init__(
        self,
        num_magnitude_bins: int = 31,
        interpolation: Any = InterpolationMode.NEAREST,
        fill: list[float] | None = None,
    ) -> None:
        super().__init__()
        self.num_magnitude_bins = num_magnitude_bins
        self.interpolation = TF.interpolation_mode(interpolation, "TrivialAugmentWide")
        self.fill = fill

    def _augmentation_space(self, num_bins: int) -> dict:
        return _space(num_bins, 0.99, (32.0, 32.0), 135.0, 0.99, 6, identity=True)

    def forward(self, img: Tensor) -> Tensor:
        channels, _, _ = TF.get_dimensions(img)
        fill = _fill_list(self.fill, channels)
        space = self._augmentation_space(self.num_magnitude_bins)
        op_name = list(space)[int(randint(len(space), (1,)).item())]
        magnitudes, signed = space[op_name]
        magnitude = 0.0
        if magnitudes.ndim > 0:
            magnitude = float(magnitudes[randint(len(magnitudes), (1,))].item())
        if signed and bool(randint(2, (1,))):
            magnitude = -magnitude
        return _apply_op(img, op_name, magnitude, self.interpolation, fill)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_magnitude_bins={self.num_magnitude_bins}, "
            f"interpolation={self.interpolation}, fill={self.fill})"
        )
