"""Image transforms, as torchvision.transforms, on Tensor images `(..., C, H, W)`.

    from tinyconv import datasets, transforms
    mnist = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = datasets.MNIST("data", train=True, transform=mnist)

Same names, arguments, defaults, reprs and numbers as torchvision 0.28 (tensor path), and the
random transforms draw what torchvision draws, so a seed gives the same crops, flips, colour
jitter, rotations and augmentation policies (`AutoAugment`, `RandAugment`,
`TrivialAugmentWide` come from `transforms.autoaugment`, as in torchvision).
Differences: `ToTensor` passes a Tensor through (tinyconv's datasets already give it one);
there are no PIL images, so `ToPILImage`, `PILToTensor` and `functional.to_pil_image` do not
exist (asking for them raises AttributeError saying so).
"""

from typing import Any

from . import functional
from .autoaugment import AutoAugment, AutoAugmentPolicy, RandAugment, TrivialAugmentWide
from .functional import InterpolationMode
from .transforms import (
    CenterCrop,
    ColorJitter,
    Compose,
    ConvertImageDtype,
    ElasticTransform,
    FiveCrop,
    GaussianBlur,
    Grayscale,
    Lambda,
    LinearTransformation,
    Normalize,
    Pad,
    RandomAdjustSharpness,
    RandomAffine,
    RandomApply,
    RandomAutocontrast,
    RandomChoice,
    RandomCrop,
    RandomEqualize,
    RandomErasing,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomInvert,
    RandomOrder,
    RandomPerspective,
    RandomPosterize,
    RandomResizedCrop,
    RandomRotation,
    RandomSolarize,
    RandomVerticalFlip,
    Resize,
    TenCrop,
    ToTensor,
)

__all__ = [
    "AutoAugment",
    "AutoAugmentPolicy",
    "CenterCrop",
    "ColorJitter",
    "Compose",
    "ConvertImageDtype",
    "ElasticTransform",
    "FiveCrop",
    "GaussianBlur",
    "Grayscale",
    "InterpolationMode",
    "Lambda",
    "LinearTransformation",
    "Normalize",
    "Pad",
    "RandAugment",
    "RandomAdjustSharpness",
    "RandomAffine",
    "RandomApply",
    "RandomAutocontrast",
    "RandomChoice",
    "RandomCrop",
    "RandomEqualize",
    "RandomErasing",
    "RandomGrayscale",
    "RandomHorizontalFlip",
    "RandomInvert",
    "RandomOrder",
    "RandomPerspective",
    "RandomPosterize",
    "RandomResizedCrop",
    "RandomRotation",
    "RandomSolarize",
    "RandomVerticalFlip",
    "Resize",
    "TenCrop",
    "ToTensor",
    "TrivialAugmentWide",
    "functional",
]


def __getattr__(name: str) -> Any:
    raise functional.missing_attribute(__name__, name, ("ToPILImage", "PILToTensor"))
