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

import random
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
    # autoaugment.py imports InterpolationMode from the package, whose __init__ star-imports
    # it (the loader's empty package does not); hand it over first.
    package.module("torchvision.transforms").InterpolationMode = module.InterpolationMode
    module.autoaugment = package.module("torchvision.transforms.autoaugment")
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


# --- colour, blur, geometry and augmentation policies --------------------------------------


def image_pair(kind: str, seed: int = 21) -> tuple[Any, Any]:
    """A small image in both libraries: 'float' (float32 (3, H, W) in [0, 1]), 'uint8'
    ((3, H, W)), 'dark' (uint8 in [60, 124)), 'batch' (uint8 (2, 3, H, W)), 'gray' (float32
    (1, H, W)), 'float64'."""
    if kind == "batch":
        arr = images(seed, (2, 3, 9, 10))
        return tinyconv.from_numpy(arr.copy()), torch.from_numpy(arr.copy())
    if kind in ("uint8", "dark"):
        shape = (20, 20, 3) if kind == "dark" else (11, 13, 3)
        arr = np.ascontiguousarray(images(seed, shape).transpose(2, 0, 1))
        if kind == "dark":  # a narrow histogram, which equalize and autocontrast stretch
            arr = arr // 4 + 60  # (equalize keeps a channel of under 256 pixels as it is)
        return tinyconv.from_numpy(arr.copy()), torch.from_numpy(arr.copy())
    ours, theirs = pair(images(seed, (11, 13, 1 if kind == "gray" else 3)))
    if kind == "float64":
        return ours.double(), theirs.double()
    return ours, theirs


def mode(lib: Any, name: str) -> Any:
    return lib.InterpolationMode[name]


# The float atol of BILINEAR rotate, affine and perspective (functions and classes). Their
# sampling grid is a float32 bmm of the pixel centres (x, y, 1) by a 3x2 matrix, which
# PyTorch's CPU hands to MKL, and MKL's code path depends on the CPU's vendor: for each
# x*a + y*b + c, on Intel CPUs y*b and c are fused multiply-adds into the rounded x*a, on
# AMD CPUs every product and every sum is rounded (each formula reproduced bit for bit;
# preloading an mkl_serv_intel_cpu_true that returns 1 turns the AMD machine's grid into
# the Intel one). So PyTorch's own sample coordinates move by a few float32 steps between
# machines, ~1e-6 pixel on these 11x13 images, and the images' values by that times their
# slope (up to 1 per pixel): tinyconv's differ from PyTorch's by up to 2.5e-6 on AMD, 1.2e-7
# on Intel. A wrong pixel convention, centre or fill is off by 1e-2 or more; uint8 results
# and NEAREST stay exact.
GRID_ATOL = 1e-5

# (function, args, image kinds, float atol). Bilinear sampling, blurring and pow sum or
# round in float32 in another order than PyTorch's kernels: equal to a float32 step or two
# (measured up to 1.8e-7; grid sampling see GRID_ATOL); uint8 results are exact, as are
# NEAREST and all integer work.
QUADS = [[0, 0], [12, 0], [12, 10], [0, 10]], [[1, 2], [11, 0], [10, 9], [2, 10]]
FUNCTIONAL_CASES = [
    ("adjust_brightness", (1.3,), 0.0),
    ("adjust_brightness", (0.4,), 0.0),
    ("adjust_contrast", (0.6,), 0.0),
    ("adjust_contrast", (1.7,), 0.0),
    ("adjust_saturation", (1.7,), 0.0),
    ("adjust_saturation", (0.0,), 0.0),
    ("adjust_hue", (0.23,), 0.0),
    ("adjust_hue", (-0.4,), 0.0),
    ("adjust_gamma", (0.7, 1.1), 1e-6),
    ("invert", (), 0.0),
    ("adjust_sharpness", (1.8,), 0.0),
    ("adjust_sharpness", (0.3,), 0.0),
    ("autocontrast", (), 0.0),
    ("gaussian_blur", ([3, 5], [0.8, 1.3]), 1e-6),
    ("gaussian_blur", (5,), 1e-6),
    ("gaussian_blur", ([3, 3], 2.0), 1e-6),
    ("rotate", (33.0,), 0.0),
    ("rotate", (33.0, "BILINEAR", True, None, [0.1, 0.2, 0.3]), GRID_ATOL),
    ("rotate", (-70.0, "NEAREST", True, [2, 3], [1.0]), 0.0),
    ("rotate", (90,), 0.0),
    ("affine", (20.0, [2, -1], 1.2, [10.0, 5.0]), 0.0),
    ("affine", (20.0, [2, -1], 0.8, 7.0, "BILINEAR", [0.5, 0.5, 0.5], [3, 4]), GRID_ATOL),
    ("affine", (-45, (1, 3), 1.0, [15.0], "NEAREST", 0.25), 0.0),
    ("perspective", QUADS, GRID_ATOL),
    ("perspective", (*QUADS, "NEAREST", [0.3, 0.3, 0.3]), 0.0),
]


def _args(lib: Any, args: tuple) -> tuple:
    names = {"NEAREST", "BILINEAR"}
    return tuple(mode(lib, a) if isinstance(a, str) and a in names else a for a in args)


@pytest.mark.parametrize("kind", ["float", "uint8", "batch"])
@pytest.mark.parametrize("name,args,atol", FUNCTIONAL_CASES, ids=lambda c: str(c)[:40])
def test_functional_colour_and_geometry_match(tv, name, args, atol, kind):
    ours, theirs = image_pair(kind)
    out = getattr(TF, name)(ours, *_args(transforms, args))
    ref = getattr(tv.functional, name)(theirs, *_args(tv, args))
    assert_same(out, ref, atol=atol if kind == "float" else 0.0)


@pytest.mark.parametrize("kind", ["float", "uint8", "dark", "batch", "gray", "float64"])
def test_solarize_posterize_equalize_grayscale_match(tv, kind):
    ours, theirs = image_pair(kind)
    F = tv.functional
    threshold = 0.5 if ours.is_floating_point() else 100
    assert_same(TF.solarize(ours, threshold), F.solarize(theirs, threshold))
    assert_same(TF.invert(ours), F.invert(theirs))
    assert_same(TF.autocontrast(ours), F.autocontrast(theirs))
    assert_same(TF.adjust_brightness(ours, 1.5), F.adjust_brightness(theirs, 1.5))
    assert_same(TF.adjust_saturation(ours, 0.5), F.adjust_saturation(theirs, 0.5))
    assert_same(TF.adjust_hue(ours, 0.1), F.adjust_hue(theirs, 0.1))
    if kind != "gray":
        assert_same(TF.rgb_to_grayscale(ours, 3), F.rgb_to_grayscale(theirs, 3))
    if ours.dtype == tinyconv.uint8:
        for bits in (0, 1, 3, 8):
            assert_same(TF.posterize(ours, bits), F.posterize(theirs, bits))
        assert_same(TF.equalize(ours), F.equalize(theirs))
        flat = ours[..., :1, :, :].expand(*ours.shape).contiguous()  # one grey level: kept
        assert_same(TF.equalize(flat), F.equalize(theirs[..., :1, :, :].expand(theirs.shape)))


def test_erase_crops_elastic_and_linear_match(tv):
    ours, theirs = image_pair("float")
    F = tv.functional
    v = np.random.default_rng(3).random((3, 4, 5)).astype(np.float32)
    assert_same(
        TF.erase(ours, 2, 3, 4, 5, tinyconv.from_numpy(v)),
        F.erase(theirs, 2, 3, 4, 5, torch.from_numpy(v)),
    )
    before = ours.clone()
    assert_same(ours, theirs)  # not inplace: the input is untouched
    scratch = ours.clone()
    out = TF.erase(scratch, 1, 1, 2, 2, tinyconv.tensor([0.5]), inplace=True)
    assert out is scratch and not bool((scratch == before).all())
    for size in (4, [5], (6, 3)):
        for mine, ref in zip(TF.five_crop(ours, size), F.five_crop(theirs, size), strict=True):
            assert_same(mine, ref)
        ten = TF.ten_crop(ours, size, vertical_flip=True)
        assert len(ten) == 10
        for mine, ref in zip(ten, F.ten_crop(theirs, size, True), strict=True):
            assert_same(mine, ref)
    d = (np.random.default_rng(4).random((1, 11, 13, 2)).astype(np.float32) - 0.5) * 0.3
    for interp, fill, atol in [("BILINEAR", None, 1e-6), ("NEAREST", [0.2, 0.4, 0.6], 0.0)]:
        assert_same(
            TF.elastic_transform(ours, tinyconv.from_numpy(d), mode(transforms, interp), fill),
            F.elastic_transform(theirs, torch.from_numpy(d), mode(tv, interp), fill),
            atol=atol,
        )
    small, small_t = pair(images(6, (2, 3, 2)))
    m = np.random.default_rng(5).random((12, 12)).astype(np.float32)
    mean = np.random.default_rng(6).random(12).astype(np.float32)
    mine = transforms.LinearTransformation(tinyconv.from_numpy(m), tinyconv.from_numpy(mean))
    ref = tv.LinearTransformation(torch.from_numpy(m), torch.from_numpy(mean))
    assert_same(mine(small), ref(small_t), atol=1e-6)
    assert repr(mine) == repr(ref)


DETERMINISTIC_CLASSES = [
    ("FiveCrop", lambda lib: lib.FiveCrop(5)),
    ("FiveCrop_pair", lambda lib: lib.FiveCrop((4, 7))),
    ("TenCrop", lambda lib: lib.TenCrop([6])),
    ("TenCrop_vertical", lambda lib: lib.TenCrop((3, 5), vertical_flip=True)),
]


@pytest.mark.parametrize(
    "factory", [f for _, f in DETERMINISTIC_CLASSES], ids=[n for n, _ in DETERMINISTIC_CLASSES]
)
def test_multi_crop_classes_match(tv, factory):
    ours, theirs = image_pair("uint8")
    mine, ref = factory(transforms), factory(tv)
    crops, ref_crops = mine(ours), ref(theirs)
    assert isinstance(crops, tuple) and len(crops) == len(ref_crops)
    for a, b in zip(crops, ref_crops, strict=True):
        assert_same(a, b)
    assert repr(mine) == repr(ref)


# (id, factory(lib), image kind, float atol). `lib` is tinyconv.transforms or torchvision's.
RANDOM_CLASS_CASES = [
    # float32 hue/contrast arithmetic: equal to a float32 step or two (measured 3e-7)
    ("ColorJitter_all", lambda lib: lib.ColorJitter(0.4, 0.4, 0.4, 0.1), "float", 1e-6),
    (
        "ColorJitter_ranges",
        lambda lib: lib.ColorJitter((0.5, 0.9), [1.0, 1.5], 0, (-0.3, 0.2)),
        "uint8",
        0.0,
    ),
    ("ColorJitter_none", lambda lib: lib.ColorJitter(), "float", 0.0),
    ("ColorJitter_batch", lambda lib: lib.ColorJitter(brightness=0.3, hue=0.5), "batch", 0.0),
    (
        "RandomApply",
        lambda lib: lib.RandomApply([lib.ColorJitter(0.5), lib.RandomCrop(7)], p=0.6),
        "float",
        0.0,
    ),
    ("RandomGrayscale", lambda lib: lib.RandomGrayscale(0.5), "float", 0.0),
    ("RandomGrayscale_gray", lambda lib: lib.RandomGrayscale(p=0.7), "gray", 0.0),
    ("RandomErasing", lambda lib: lib.RandomErasing(p=0.8), "float", 0.0),
    (
        "RandomErasing_random",
        lambda lib: lib.RandomErasing(1.0, (0.1, 0.5), value="random"),
        "float",
        1e-6,  # tinyconv's normal_ is PyTorch's to an ulp (its float32 Box-Muller rounds)
    ),
    ("RandomErasing_rgb", lambda lib: lib.RandomErasing(0.9, value=(0.1, 0.2, 0.3)), "batch", 0.0),
    (
        "RandomErasing_misses",
        lambda lib: lib.RandomErasing(1.0, (0.9, 0.99), (3.0, 3.3)),
        "float",
        0.0,
    ),
    ("GaussianBlur", lambda lib: lib.GaussianBlur(3), "float", 1e-6),
    ("GaussianBlur_fixed", lambda lib: lib.GaussianBlur((5, 3), sigma=1.5), "uint8", 0.0),
    ("RandomRotation", lambda lib: lib.RandomRotation(40), "float", 0.0),
    (
        "RandomRotation_expand",
        lambda lib: lib.RandomRotation(
            (-90, 60), mode(lib, "BILINEAR"), expand=True, center=(3, 4), fill=(0.5, 0.6, 0.7)
        ),
        "float",
        GRID_ATOL,
    ),
    ("RandomAffine", lambda lib: lib.RandomAffine(25), "uint8", 0.0),
    (
        "RandomAffine_all",
        lambda lib: lib.RandomAffine(
            (-10, 30),
            translate=(0.2, 0.1),
            scale=(0.8, 1.2),
            shear=(-5, 5, 2, 8),
            interpolation=mode(lib, "BILINEAR"),
            fill=0.3,
            center=[5, 6],
        ),
        "float",
        GRID_ATOL,
    ),
    ("RandomAffine_shear", lambda lib: lib.RandomAffine(0, shear=12, fill=[1, 2, 3]), "batch", 0.0),
    ("RandomPerspective", lambda lib: lib.RandomPerspective(), "float", GRID_ATOL),
    (
        "RandomPerspective_nearest",
        lambda lib: lib.RandomPerspective(
            0.8, p=0.9, interpolation=mode(lib, "NEAREST"), fill=[9, 8, 7]
        ),
        "uint8",
        0.0,
    ),
    ("RandomInvert", lambda lib: lib.RandomInvert(), "float", 0.0),
    ("RandomPosterize", lambda lib: lib.RandomPosterize(3, p=0.6), "uint8", 0.0),
    ("RandomSolarize", lambda lib: lib.RandomSolarize(0.4), "float", 0.0),
    ("RandomAdjustSharpness", lambda lib: lib.RandomAdjustSharpness(2.5, 0.7), "batch", 0.0),
    ("RandomAutocontrast", lambda lib: lib.RandomAutocontrast(0.4), "dark", 0.0),
    ("RandomEqualize", lambda lib: lib.RandomEqualize(), "dark", 0.0),
    ("AutoAugment", lambda lib: lib.AutoAugment(), "uint8", 0.0),
    (
        "AutoAugment_cifar",
        lambda lib: lib.AutoAugment(lib.AutoAugmentPolicy.CIFAR10, fill=[128, 128, 128]),
        "uint8",
        0.0,
    ),
    (
        "AutoAugment_svhn",
        lambda lib: lib.AutoAugment(
            lib.AutoAugmentPolicy.SVHN, mode(lib, "BILINEAR"), fill=[0, 0, 0]
        ),
        "batch",
        0.0,
    ),
    ("RandAugment", lambda lib: lib.RandAugment(), "uint8", 0.0),
    ("RandAugment_3ops", lambda lib: lib.RandAugment(3, 5, 11, fill=[7, 7, 7]), "batch", 0.0),
    ("TrivialAugmentWide", lambda lib: lib.TrivialAugmentWide(), "uint8", 0.0),
    (
        "TrivialAugmentWide_bins",
        lambda lib: lib.TrivialAugmentWide(8, mode(lib, "BILINEAR"), fill=[50, 60, 70]),
        "uint8",
        0.0,
    ),
    # the blurred displacement is PyTorch's to float32 rounding (test_elastic_displacement),
    # which bilinear sampling scales by the image's slope: 1.5e-6 measured
    ("ElasticTransform", lambda lib: lib.ElasticTransform(sigma=1.2), "float", 1e-5),
    (
        "ElasticTransform_args",
        lambda lib: lib.ElasticTransform((20.0, 5.0), (1.5, 0.5), mode(lib, "NEAREST"), fill=0.5),
        "float",
        0.0,
    ),
]


def library(lib: Any, tv: Any) -> Any:
    """tinyconv.transforms, or torchvision's classes with the autoaugment ones beside them."""
    if lib is transforms:
        return transforms
    ns = type("tv", (), {})()
    for name in dir(tv):
        setattr(ns, name, getattr(tv, name))
    for name in ("AutoAugment", "AutoAugmentPolicy", "RandAugment", "TrivialAugmentWide"):
        setattr(ns, name, getattr(tv.autoaugment, name))
    return ns


@pytest.mark.parametrize(
    "case,factory,kind,atol", RANDOM_CLASS_CASES, ids=[c[0] for c in RANDOM_CLASS_CASES]
)
def test_random_classes_draw_as_torchvision(tv, case, factory, kind, atol):
    """After the same seed, eight calls give torchvision's images, the generators are left in
    the same state (the same numbers were drawn), and the reprs agree."""
    ours, theirs = image_pair(kind)
    mine, ref = factory(transforms), factory(library(tv, tv))
    assert repr(mine) == repr(ref)
    tinyconv.manual_seed(99)
    torch.manual_seed(99)
    outputs = set()
    for _ in range(8):
        out = mine(ours)
        assert_same(out, ref(theirs), atol=atol)
        outputs.add(out.numpy().tobytes())
    assert tinyconv.rand(1).item() == torch.rand(1).item()
    # the draws change the image (except where nothing is jittered or nothing fits)
    unchanging = ("ColorJitter_none", "RandomErasing_misses", "RandomGrayscale_gray")
    unchanging += ("GaussianBlur_fixed",)  # one sigma: the same blur every call
    assert (len(outputs) == 1) == (case in unchanging)


@pytest.mark.parametrize("name", ["RandomChoice", "RandomOrder"])
def test_python_random_pickers_match(tv, name):
    """RandomChoice and RandomOrder pick with Python's `random`, as torchvision's do: after
    the same `random.seed`, the same picks."""
    ours, theirs = image_pair("float")

    def build_it(lib: Any) -> Any:
        steps = [lib.RandomVerticalFlip(1.0), lib.Pad(1), lib.CenterCrop(7), lib.Grayscale(3)]
        if name == "RandomChoice":
            return lib.RandomChoice(steps, p=[0.1, 0.2, 0.3, 0.4])
        return lib.RandomOrder(steps)

    mine, ref = build_it(transforms), build_it(tv)
    assert repr(mine) == repr(ref)
    shapes = set()
    for seed in range(8):
        random.seed(seed)
        out = mine(ours)
        random.seed(seed)
        assert_same(out, ref(theirs))
        shapes.add((tuple(out.shape), out.numpy().tobytes()))
    assert len(shapes) > 1  # the picks vary with the seed
    equal = transforms.RandomChoice([transforms.Pad(1), transforms.CenterCrop(3)])
    assert repr(equal) == repr(tv.RandomChoice([tv.Pad(1), tv.CenterCrop(3)]))


@pytest.mark.parametrize(
    "factory",
    [
        lambda lib: lib.ColorJitter.get_params((0.5, 1.5), None, (0.2, 0.3), (-0.1, 0.1)),
        lambda lib: lib.RandomAffine.get_params(
            [-5.0, 5.0], [0.1, 0.3], [0.5, 2.0], [1, 2, 3, 4], [20, 10]
        ),
        lambda lib: lib.RandomPerspective.get_params(17, 13, 0.6),
        lambda lib: lib.RandomRotation.get_params([-20.0, 50.0]),
        lambda lib: lib.GaussianBlur.get_params(0.2, 3.0),
        lambda lib: lib.AutoAugment.get_params(25),
    ],
)
def test_get_params_match(tv, factory):
    tinyconv.manual_seed(5)
    torch.manual_seed(5)
    for _ in range(3):
        mine, ref = factory(transforms), factory(library(tv, tv))
        assert _plain(mine) == _plain(ref)
    assert tinyconv.rand(1).item() == torch.rand(1).item()


def test_elastic_displacement_matches(tv):
    """ElasticTransform's displacement: the same uniform noise, blurred and scaled."""
    tinyconv.manual_seed(8)
    torch.manual_seed(8)
    for alpha, sigma in [([50.0, 50.0], [1.0, 1.4]), ((3.0, 9.0), (0.0, 0.0))]:
        mine = transforms.ElasticTransform.get_params(alpha, sigma, [11, 12])
        ref = tv.ElasticTransform.get_params(list(alpha), list(sigma), [11, 12])
        assert_same(mine, ref, atol=1e-6)  # blur rounding (1e-7), times alpha / width ~ 4
    assert tinyconv.rand(1).item() == torch.rand(1).item()


def _plain(x: Any) -> Any:
    if isinstance(x, (tuple, list)):
        return [_plain(v) for v in x]
    if hasattr(x, "tolist"):
        return x.tolist()
    return x


def test_random_transforms_in_a_compose_pipeline(tv):
    """A typical augmentation pipeline on float images, batch after batch."""

    def steps(lib: Any) -> Any:
        return lib.Compose(
            [
                lib.ToTensor(),
                lib.RandomApply([lib.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
                lib.RandomGrayscale(p=0.2),
                lib.RandomRotation(15),
                lib.GaussianBlur(3),
                lib.RandomErasing(),
            ]
        )

    assert repr(steps(transforms)) == repr(steps(tv))
    arr = images(9, (10, 12, 3))
    mine, ref = steps(transforms), steps(tv)
    tinyconv.manual_seed(3)
    torch.manual_seed(3)
    for _ in range(6):
        assert_same(mine(arr), ref(arr), atol=1e-6)
    assert tinyconv.rand(1).item() == torch.rand(1).item()
