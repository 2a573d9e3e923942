"""tinyconv.transforms against torchvision.transforms 0.28, run from torchvision's own source.

torchvision is never installed or imported: tests/zoo_loader.py reads `transforms.py` and
`functional.py` out of the torchvision wheel (as the model-zoo test does) and runs them against
PyTorch, with a stand-in `PIL` that only lets the modules load (the tests pass tensors and
ndarrays, never PIL images). Each transform must give torchvision's values, dtype and shape
on random uint8 images made float by ToTensor; the random ones, after the same seed, must
crop and flip the same way; reprs must match. Without the wheel the module skips (and CI,
which downloads it, fails on that skip).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.torch

torch = pytest.importorskip("torch")

from test_datasets import mnist_files, write  # noqa: E402
from zoo_loader import ZooPackage, wheel_or_skip  # noqa: E402

import tinyconv  # noqa: E402
from tinyconv import datasets, transforms  # noqa: E402
from tinyconv.transforms import functional as TF  # noqa: E402
from tinyconv.utils.data import DataLoader  # noqa: E402

WHEEL = wheel_or_skip("the transforms comparison needs torchvision's source")


@pytest.fixture(scope="module")
def tv() -> Any:
    """torchvision.transforms (classes and `.functional`), loaded from the wheel on PyTorch."""
    package = ZooPackage(WHEEL, "torch")
    module = package.module("torchvision.transforms.transforms")
    module.functional = package.module("torchvision.transforms.functional")
    return module


def images(seed: int, shape: tuple[int, ...] = (13, 17, 3)) -> np.ndarray:
    """A random uint8 image (H, W, C) or (H, W)."""
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def assert_same(ours: Any, theirs: Any, atol: float = 0.0) -> None:
    assert isinstance(ours, tinyconv.Tensor), type(ours)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    if atol:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=atol)
    else:
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def pair(arr: np.ndarray) -> tuple[Any, Any]:
    """The image through both libraries' ToTensor."""
    return transforms.ToTensor()(arr), torch_to_tensor(arr)


def torch_to_tensor(arr: np.ndarray) -> Any:
    img = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1) if arr.ndim == 3 else arr))
    return img.to(torch.get_default_dtype()).div(255) if img.dtype == torch.uint8 else img


@pytest.mark.parametrize(
    "arr",
    [images(0), images(1, (5, 7)), images(2, (4, 6, 1)), np.linspace(0, 1, 24).reshape(2, 3, 4)],
    ids=["uint8_hwc", "uint8_hw", "uint8_hw1", "float64"],
)
def test_to_tensor_matches(tv, arr):
    assert_same(transforms.ToTensor()(arr), tv.ToTensor()(arr))
    assert_same(TF.to_tensor(arr), tv.functional.to_tensor(arr))


CASES = [
    ("Normalize", ((0.1307,), (0.3081,)), {}, (28, 28, 1)),
    ("Normalize", ((0.49, 0.48, 0.45), (0.25, 0.24, 0.26)), {}, (9, 11, 3)),
    ("CenterCrop", (8,), {}, (13, 17, 3)),
    ("CenterCrop", ((20, 6),), {}, (13, 17, 3)),  # taller than the image: zero-padded
    ("CenterCrop", ((4, 7),), {}, (12, 16, 3)),
    ("Pad", (2,), {}, (6, 7, 3)),
    ("Pad", ((1, 2),), {"fill": 0.5}, (6, 7, 3)),
    ("Pad", ((1, 2, 3, 4),), {"padding_mode": "edge"}, (6, 7, 3)),
    ("Pad", ((3, 1, 2, 4),), {"padding_mode": "reflect"}, (6, 7, 3)),
    ("Pad", ((3, 1, 2, 4),), {"padding_mode": "symmetric"}, (6, 7, 3)),
    ("Pad", ((2, -1, 1, -2),), {"padding_mode": "symmetric"}, (6, 7, 3)),
    ("Grayscale", (), {}, (6, 7, 3)),
    ("Grayscale", (3,), {}, (6, 7, 3)),
    ("Grayscale", (3,), {}, (6, 7, 1)),
    ("ConvertImageDtype", (tinyconv.uint8,), {}, (6, 7, 3)),
    ("ConvertImageDtype", (tinyconv.int16,), {}, (6, 7, 3)),
    ("ConvertImageDtype", (tinyconv.float64,), {}, (6, 7, 3)),
    ("RandomHorizontalFlip", (1.0,), {}, (5, 6, 3)),
    ("RandomVerticalFlip", (1.0,), {}, (5, 6, 3)),
    ("Resize", ((9, 23),), {"interpolation": "NEAREST"}, (13, 17, 3)),
    ("Resize", (20,), {"interpolation": "NEAREST_EXACT"}, (13, 17, 3)),
    ("Resize", ((30, 40),), {"antialias": False}, (13, 17, 3)),
    ("Resize", ((5, 7),), {"antialias": False}, (13, 17, 3)),
]


def build(lib: Any, name: str, args: tuple, kwargs: dict) -> Any:
    """Instantiate `lib.name`, mapping tinyconv dtypes / mode names to the library's own."""
    if lib is not transforms:
        args = tuple(
            getattr(torch, str(a).split(".")[-1]) if isinstance(a, tinyconv.dtype) else a
            for a in args
        )
    if "interpolation" in kwargs:
        kwargs = dict(kwargs, interpolation=lib.InterpolationMode[kwargs["interpolation"]])
    return getattr(lib, name)(*args, **kwargs)


@pytest.mark.parametrize("name,args,kwargs,shape", CASES)
def test_transform_matches_torchvision(tv, name, args, kwargs, shape):
    ours, theirs = pair(images(hash((name, shape)) % 1000, shape))
    mine, ref = build(transforms, name, args, kwargs), build(tv, name, args, kwargs)
    # bilinear sums in float32 in another order than PyTorch's kernel: equal to rounding
    bilinear = name == "Resize" and "interpolation" not in kwargs
    assert_same(mine(ours), ref(theirs), atol=1e-6 if bilinear else 0.0)
    assert repr(mine) == repr(ref)


@pytest.mark.parametrize("size", [(5, 7), (9, 4), (13, 40), (26, 8), 6])
def test_resize_antialias_matches(tv, size):
    """Antialiased bilinear resize (torchvision's default), shrinking and growing. In float64
    it is torchvision's to 1e-13; in float32 (F.interpolate's antialias: PyTorch's float32
    weights, summed tap by tap where PyTorch's compiled loop may fuse the multiply-adds) its
    error against torchvision's float64 result is no larger than torchvision's own float32
    error or two float32 steps at 1.0, whichever is larger (measured: 1.75e-7 against 1.15e-7)."""
    ours, theirs = pair(images(7, (13, 17, 3)))
    ref64 = tv.Resize(size)(theirs.double())
    assert_same(transforms.Resize(size)(ours.double()), ref64, atol=1e-13)
    ours32, theirs32 = transforms.Resize(size)(ours), tv.Resize(size)(theirs)
    assert_same(ours32, theirs32, atol=2e-6)
    our_err = np.abs(ours32.numpy() - ref64.numpy()).max()
    their_err = np.abs(theirs32.numpy() - ref64.numpy()).max()
    assert our_err <= max(their_err, 2.0**-22), (our_err, their_err)
    assert repr(transforms.Resize(size)) == repr(tv.Resize(size))


def test_resize_uint8_and_batches(tv):
    """A uint8 image is resized in float and rounded back; leading dims are kept."""
    x = images(3, (2, 3, 11, 9)).astype(np.uint8)
    for size, antialias in [((5, 4), True), ((15, 20), True), ((6, 5), False)]:
        assert_same(
            TF.resize(tinyconv.from_numpy(x), list(size), antialias=antialias),
            tv.functional.resize(torch.from_numpy(x), list(size), antialias=antialias),
        )


def test_functional_forms_match(tv):
    ours, theirs = pair(images(11, (10, 12, 3)))
    F = tv.functional
    assert_same(TF.hflip(ours), F.hflip(theirs))
    assert_same(TF.vflip(ours), F.vflip(theirs))
    for box in [(2, 3, 5, 4), (-2, 8, 6, 7), (7, -3, 6, 20)]:  # inside, then partly outside
        assert_same(TF.crop(ours, *box), F.crop(theirs, *box))
    assert_same(TF.center_crop(ours, [7]), F.center_crop(theirs, [7]))
    assert_same(TF.pad(ours, [1, 2], fill=1.0), F.pad(theirs, [1, 2], fill=1.0))
    assert_same(
        TF.normalize(ours, [0.5, 0.4, 0.3], [0.2, 0.3, 0.4]),
        F.normalize(theirs, [0.5, 0.4, 0.3], [0.2, 0.3, 0.4]),
    )
    assert_same(TF.resize(ours, [6, 5]), F.resize(theirs, [6, 5]), atol=1e-6)
    assert_same(TF.resize(ours, 20, max_size=22), F.resize(theirs, 20, max_size=22), atol=1e-6)
    assert_same(
        TF.resized_crop(ours, 1, 2, 7, 8, [4, 4]),
        F.resized_crop(theirs, 1, 2, 7, 8, [4, 4]),
        atol=1e-6,
    )
    assert_same(TF.rgb_to_grayscale(ours), F.rgb_to_grayscale(theirs))
    assert TF.get_dimensions(ours) == F.get_dimensions(theirs)
    assert TF.get_image_size(ours) == F.get_image_size(theirs)
    u8_ours, u8_theirs = (
        TF.convert_image_dtype(ours, tinyconv.uint8),
        F.convert_image_dtype(theirs, torch.uint8),
    )
    assert_same(u8_ours, u8_theirs)
    assert_same(TF.convert_image_dtype(u8_ours), F.convert_image_dtype(u8_theirs))
    assert_same(
        TF.convert_image_dtype(u8_ours, tinyconv.int32),
        F.convert_image_dtype(u8_theirs, torch.int32),
    )
    i32 = TF.convert_image_dtype(u8_ours, tinyconv.int32)
    assert_same(
        TF.convert_image_dtype(i32, tinyconv.uint8),
        F.convert_image_dtype(F.convert_image_dtype(u8_theirs, torch.int32), torch.uint8),
    )


def test_normalize_inplace_writes_into_the_input(tv):
    ours, theirs = pair(images(12, (4, 5, 3)))
    out = transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), inplace=True)(ours)
    ref = tv.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), inplace=True)(theirs)
    assert out is ours and ref is theirs
    assert_same(ours, theirs)


RANDOM_CASES = [
    ("RandomHorizontalFlip", (), {}),
    ("RandomVerticalFlip", (0.3,), {}),
    ("RandomCrop", (8,), {}),
    ("RandomCrop", (32,), {"padding": 4}),
    ("RandomCrop", ((10, 6),), {"padding": (1, 2), "padding_mode": "reflect"}),
    ("RandomCrop", (20,), {"pad_if_needed": True, "fill": 0.25}),
    ("RandomCrop", ((13, 17),), {}),  # the whole image: nothing is drawn
    ("RandomResizedCrop", (8,), {}),
    ("RandomResizedCrop", ((6, 9),), {"scale": (0.5, 0.9), "ratio": (0.5, 2.0)}),
    ("RandomResizedCrop", (5,), {"scale": (0.9, 1.0), "ratio": (4.0, 5.0)}),  # falls back
]


@pytest.mark.parametrize("name,args,kwargs", RANDOM_CASES)
def test_random_transforms_draw_as_torchvision(tv, name, args, kwargs):
    """After the same seed, twelve calls crop and flip as torchvision's, and the generators
    are left in the same state (the same numbers were drawn)."""
    shape = (32, 32, 3) if kwargs.get("padding") == 4 else (13, 17, 3)
    ours, theirs = pair(images(5, shape))
    mine, ref = build(transforms, name, args, kwargs), build(tv, name, args, kwargs)
    tinyconv.manual_seed(1234)
    torch.manual_seed(1234)
    for _ in range(12):
        assert_same(mine(ours), ref(theirs), atol=1e-6 if name == "RandomResizedCrop" else 0.0)
    assert tinyconv.rand(1).item() == torch.rand(1).item()
    assert repr(mine) == repr(ref)


def test_compose_repr_and_sequence(tv):
    def steps(lib: Any) -> Any:
        return lib.Compose(
            [
                lib.ToTensor(),
                lib.RandomCrop(8, padding=2),
                lib.RandomHorizontalFlip(),
                lib.Normalize((0.5, 0.4, 0.3), (0.2, 0.2, 0.2)),
                lib.Lambda(lambda x: x * 2),
            ]
        )

    assert repr(steps(transforms)) == repr(steps(tv))
    arr = images(9, (10, 10, 3))
    tinyconv.manual_seed(0)
    torch.manual_seed(0)
    for _ in range(5):
        assert_same(steps(transforms)(arr), steps(tv)(arr))


def test_tutorial_pipeline_gives_torchvisions_batches(tv, tmp_path):
    """A tutorial's MNIST pipeline with augmentation: tinyconv.datasets.MNIST (on generated
    IDX files, no download) through Compose and a shuffling DataLoader, against torchvision's
    transforms on the same images as ToTensor gives them and PyTorch's DataLoader: after the
    same seed, identical batches (same order, crops, flips)."""
    files, arrays = mnist_files(n_train=40)
    write(tmp_path / "MNIST" / "raw", files)
    raw, labels = arrays["train"]

    def pipeline(lib: Any) -> Any:
        return lib.Compose(
            [
                lib.ToTensor(),
                lib.RandomCrop(28, padding=4),
                lib.RandomHorizontalFlip(),
                lib.Normalize((0.1307,), (0.3081,)),
            ]
        )

    class TorchMNIST(torch.utils.data.Dataset):  # what torchvision's MNIST hands its transform
        def __len__(self) -> int:
            return len(raw)

        def __getitem__(self, i: int) -> tuple[Any, int]:
            return pipeline_tv(raw[i][:, :, None]), int(labels[i])

    pipeline_tv = pipeline(tv)
    train = datasets.MNIST(tmp_path, train=True, transform=pipeline(transforms))
    ours = DataLoader(train, batch_size=16, shuffle=True)
    theirs = torch.utils.data.DataLoader(TorchMNIST(), batch_size=16, shuffle=True)
    tinyconv.manual_seed(7)
    torch.manual_seed(7)
    batches = 0
    for (x, y), (tx, ty) in zip(ours, theirs, strict=True):
        assert_same(x, tx)
        assert_same(y, ty)
        batches += 1
    assert batches == 3
