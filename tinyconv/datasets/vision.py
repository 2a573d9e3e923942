"""VisionDataset: what MNIST and CIFAR10 share (as torchvision.datasets.VisionDataset).

A subclass fills `self._images` (uint8, (N, C, H, W) or (N, H, W)) and `self._labels`
(int64, (N,)); item i is then `(image, label)` with the image as a float32 Tensor (C, H, W)
in [0, 1] (the byte / 255, what torchvision's `transforms.ToTensor()` gives), passed through
`transform`, and the label as an int, passed through `target_transform`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from ..tensor import Tensor
from ..utils.data import Dataset

__all__ = ["VisionDataset"]


class VisionDataset(Dataset):
    classes: ClassVar[list[str]] = []
    _images: np.ndarray
    _labels: np.ndarray

    def __init__(
        self,
        root: str | os.PathLike,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
    ) -> None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(
                f"{type(self).__name__}: root must be a folder path (str or Path), got "
                f"{type(root).__name__}"
            )
        self.root = os.path.expanduser(os.fspath(root))
        self.transform, self.target_transform = transform, target_transform

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(
                f"{type(self).__name__}: index must be an int, got {type(index).__name__}"
            )
        n = len(self)
        if not -n <= index < n:
            raise IndexError(
                f"{type(self).__name__}: index {index} is out of range for {n} samples"
            )
        pixels = self._images[index]
        if pixels.ndim == 2:  # a grey (H, W) image gets its channel axis: (1, H, W)
            pixels = pixels[None]
        img: Any = Tensor._make(pixels.astype(np.float32) / np.float32(255), None, False)
        target: Any = int(self._labels[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self) -> str:
        return f"Split: {'Train' if getattr(self, 'train', True) else 'Test'}"

    def __repr__(self) -> str:
        lines = [
            f"Number of datapoints: {len(self)}",
            f"Root location: {self.root}",
            *self.extra_repr().splitlines(),
        ]
        if self.transform is not None:
            lines.append(f"Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"Target transform: {self.target_transform!r}")
        return "\n".join([f"Dataset {type(self).__name__}"] + ["    " + line for line in lines])
