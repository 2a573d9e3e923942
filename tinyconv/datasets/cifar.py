"""CIFAR-10 from its binary version (`cifar-10-binary.tar.gz`), never from the pickled one.

torchvision reads the "python version" of CIFAR-10, whose batches are pickles (loading
one runs whatever code it names). The dataset's authors also publish a binary version
with the same images: in `cifar-10-batches-bin/`, data_batch_1.bin .. data_batch_5.bin
(training) and test_batch.bin, each a run of 3,073-byte records: one label byte, then the
32x32 red channel, the green and the blue, each row by row. That is already (C, H, W).
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from ._download import check_md5
from ._download import download as _download
from .vision import VisionDataset

__all__ = ["CIFAR10"]

RECORD = 1 + 3 * 32 * 32


def read_cifar_bin(path: str) -> tuple[np.ndarray, np.ndarray]:
    """One binary batch file -> images (N, 3, 32, 32) uint8 and labels (N,) uint8."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD:
        raise RuntimeError(
            f"{path} is truncated or not a CIFAR-10 binary batch: {raw.size} bytes is not a "
            f"whole number of {RECORD}-byte records; delete it and download again "
            "(download=True)"
        )
    records = raw.reshape(-1, RECORD)
    labels = records[:, 0].copy()
    if labels.max() > 9:
        raise RuntimeError(
            f"{path} is not a CIFAR-10 batch: it has label {labels.max()} (labels are 0..9)"
        )
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


class CIFAR10(VisionDataset):
    """CIFAR-10: 50,000 training and 10,000 test colour images of 32x32 pixels in 10 classes.

    Item i is `(image, label)`: by default `image` is a float32 Tensor (3, 32, 32) with values
    in [0, 1] and `label` an int; torchvision hands `transform` a PIL image, tinyconv this tensor.
    `.data` is a uint8 NumPy array (N, 32, 32, 3) and `.targets` a list of ints, as in torchvision.
    Files live in `root/cifar-10-batches-bin/` (torchvision's pickled batches are not read).
    """

    mirrors: ClassVar[list[str]] = ["https://www.cs.toronto.edu/~kriz/"]
    resources: ClassVar[list[tuple[str, str]]] = [
        ("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530")
    ]
    base_folder = "cifar-10-batches-bin"
    train_list: ClassVar[list[str]] = [f"data_batch_{i}.bin" for i in range(1, 6)]
    test_list: ClassVar[list[str]] = ["test_batch.bin"]
    classes: ClassVar[list[str]] = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    timeout = 30.0

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        super().__init__(root, transform, target_transform)
        self.train = bool(train)
        if download:
            self.download()
        names = self.train_list if self.train else self.test_list
        missing = [n for n in names if not os.path.isfile(os.path.join(self.folder, n))]
        if missing:
            raise RuntimeError(
                f"CIFAR10: dataset not found: {', '.join(missing)} missing from {self.folder}. Use "
                f"CIFAR10(root={self.root!r}, download=True) to download it (needs a network), or "
                f"put {self.resources[0][0]} (from "
                f"{self.mirrors[0] if self.mirrors else 'a mirror'}) in {self.root} and pass "
                "download=True to unpack it"
            )
        parts = [read_cifar_bin(os.path.join(self.folder, n)) for n in names]
        self._images = np.concatenate([p[0] for p in parts])
        self._labels = np.concatenate([p[1] for p in parts]).astype(np.int64)
        meta = os.path.join(self.folder, "batches.meta.txt")
        if os.path.isfile(meta):
            with open(meta, encoding="ascii", errors="replace") as f:
                names_in_file = [line.strip() for line in f if line.strip()]
            if len(names_in_file) == 10:
                self.classes = names_in_file

    @property
    def folder(self) -> str:
        return os.path.join(self.root, self.base_folder)

    def _check_exists(self) -> bool:
        return all(
            os.path.isfile(os.path.join(self.folder, n)) for n in self.train_list + self.test_list
        )

    def download(self) -> None:
        """Fetch and verify the archive (unless the batches are already unpacked), then unpack
        them."""
        if self._check_exists():
            return
        filename, md5 = self.resources[0]
        archive = os.path.join(self.root, filename)
        if not check_md5(archive, md5):
            _download(filename, md5, list(self.mirrors), self.root, timeout=self.timeout)
        self._extract(archive)

    def _extract(self, archive: str) -> None:
        """Unpack only the expected regular files, by name, each via a temporary file and a
        rename."""
        wanted = {
            f"{self.base_folder}/{n}"
            for n in self.train_list + self.test_list + ["batches.meta.txt"]
        }
        os.makedirs(self.folder, exist_ok=True)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for member in tar:
                    if member.name not in wanted or not member.isfile():
                        continue  # never a path outside the folder, a link or a device
                    dest = os.path.join(self.folder, os.path.basename(member.name))
                    src = tar.extractfile(member)
                    tmp = dest + ".part"
                    with src, open(tmp, "wb") as out:
                        while chunk := src.read(1 << 20):
                            out.write(chunk)
                    os.replace(tmp, dest)
        except (tarfile.TarError, OSError, EOFError) as e:
            raise RuntimeError(
                f"CIFAR10: can't unpack {archive} ({type(e).__name__}: {e}); delete it and "
                "download it again"
            ) from None

    @property
    def data(self) -> np.ndarray:
        return self._images.transpose(0, 2, 3, 1)  # (N, H, W, C), torchvision's layout

    @property
    def targets(self) -> list[int]:
        return self._labels.tolist()
