"""Image transforms, as torchvision.transforms, on Tensor images `(..., C, H, W)`.

    from tinyconv import datasets, transforms
    mnist = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = datasets.MNIST("data", train=True, transform=mnist)

Same names, arguments, defaults, reprs and numbers as torchvision 0.28 (tensor path), and the
random transforms draw what torchvision draws, so a seed gives the same crops and flips.
Differences: `ToTensor` passes a Tensor through (tinyconv's datasets already give it one);
there are no PIL images, so `ToPILImage`, `PILToTensor` and `functional.to_pil_image` do not
exist (asking for them raises AttributeError saying so).
"""

from typing import Any

from . import functional
from .functional import InterpolationMode
from .transforms import (
    CenterCrop,
    Compose,
    ConvertImageDtype,
    Grayscale,
    Lambda,
    Normalize,
    Pad,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomVerticalFlip,
    Resize,
    ToTensor,
)

__all__ = [
    "CenterCrop",
    "Compose",
    "ConvertImageDtype",
    "Grayscale",
    "InterpolationMode",
    "Lambda",
    "Normalize",
    "Pad",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "RandomVerticalFlip",
    "Resize",
    "ToTensor",
    "functional",
]


def __getattr__(name: str) -> Any:
    raise functional.missing_attribute(__name__, name, ("ToPILImage", "PILToTensor"))
