"""MNIST and Fashion-MNIST, read from their original IDX files, as torchvision.datasets.

The files live in `root/<ClassName>/raw/`, as torchvision keeps them: either the four
downloaded `.gz` files or the same files uncompressed (so a folder torchvision filled works).

IDX is a tiny format: two zero bytes, a byte for the element type (0x08 = unsigned byte),
a byte for the number of dimensions, each dimension as a big-endian uint32, then the
elements in C order. The images are (N, 28, 28) unsigned bytes, the labels (N,).
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from ..tensor import Tensor
from ._download import download as _download
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "read_idx"]

_IDX_TYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (gzip-compressed if its name ends in .gz) into an array of its shape.

    Raises RuntimeError naming the file if it is not a complete IDX file.
    """
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except (OSError, EOFError, zlib.error) as e:  # gzip's BadGzipFile is an OSError
        raise RuntimeError(
            f"can't read {path} ({type(e).__name__}: {e}); it is damaged: delete it and "
            "download it again (download=True)"
        ) from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise RuntimeError(
            f"{path} is not an IDX file (its first bytes are {data[:4]!r}, expected "
            "0x00 0x00 <type> <ndim>)"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise RuntimeError(f"{path} is truncated: its header is cut off")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    need = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != need:
        raise RuntimeError(
            f"{path} is truncated or damaged: its header promises shape {shape} "
            f"({need} bytes) but the file has {len(data)} bytes"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


class MNIST(VisionDataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images of 28x28 pixels.

    Item i is `(image, label)`: by default `image` is a float32 Tensor of shape (1, 28, 28) with
    values in [0, 1] (the pixel byte / 255, what `transforms.ToTensor()` gives in torchvision)
    and `label` an int. torchvision hands `transform` a PIL image; tinyconv hands it this tensor.
    `.data` is the uint8 Tensor (N, 28, 28), `.targets` the int64 Tensor (N,).

    download=True fetches the files listed in `resources` (name, MD5) from the first of
    `mirrors` that delivers each with the right MD5; files already there are not fetched again.
    """

    mirrors: ClassVar[list[str]] = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources: ClassVar[list[tuple[str, str]]] = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes: ClassVar[list[str]] = [
        "0 - zero",
        "1 - one",
        "2 - two",
        "3 - three",
        "4 - four",
        "5 - five",
        "6 - six",
        "7 - seven",
        "8 - eight",
        "9 - nine",
    ]
    timeout = 30.0  # seconds a mirror may stay silent before the next one is tried

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
        images, labels = self._load()
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise RuntimeError(
                f"{type(self).__name__}: the image file holds shape {images.shape} and the "
                f"label file shape {labels.shape}; expected (N, H, W) and (N,) with the same N"
            )
        self._images, self._labels = images, labels.astype(np.int64)

    # -- files ------------------------------------------------------------------------------
    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    def _split_files(self) -> list[str]:
        prefix = "train" if self.train else "t10k"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    def _find(self, stem: str) -> str | None:
        """The file for `stem`: the downloaded .gz, or torchvision's uncompressed copy."""
        for name in (stem + ".gz", stem):
            path = os.path.join(self.raw_folder, name)
            if os.path.isfile(path):
                return path
        return None

    def _check_exists(self) -> bool:
        return all(self._find(s) is not None for s in self._split_files())

    def _load(self) -> tuple[np.ndarray, np.ndarray]:
        paths = [self._find(s) for s in self._split_files()]
        if None in paths:
            missing = [
                s + ".gz" for s, p in zip(self._split_files(), paths, strict=False) if p is None
            ]
            name = type(self).__name__
            raise RuntimeError(
                f"{name}: dataset not found: {', '.join(missing)} missing from {self.raw_folder}. "
                f"Use {name}(root={self.root!r}, download=True) to download it (needs a network), "
                "or put the files there yourself (from "
                f"{self.mirrors[0] if self.mirrors else 'a mirror'})"
            )
        return read_idx(paths[0]), read_idx(paths[1])

    def download(self) -> None:
        """Fetch every file of `resources` not already in raw_folder with its right MD5."""
        for filename, md5 in self.resources:
            stem = filename.removesuffix(".gz")
            if not os.path.isfile(os.path.join(self.raw_folder, filename)) and os.path.isfile(
                os.path.join(self.raw_folder, stem)
            ):
                continue  # torchvision's uncompressed copy is here: use it
            _download(filename, md5, list(self.mirrors), self.raw_folder, timeout=self.timeout)

    # -- samples ----------------------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        return Tensor._make(self._images, None, False)

    @property
    def targets(self) -> Tensor:
        return Tensor._make(self._labels, None, False)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's format and sizes, ten kinds of clothing instead of
    digits."""

    mirrors: ClassVar[list[str]] = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources: ClassVar[list[tuple[str, str]]] = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes: ClassVar[list[str]] = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
