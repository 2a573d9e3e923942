"""tinyconv.transforms without PyTorch: what ToTensor makes of ndarrays and Tensors, the
errors for bad arguments, gradients through the transforms, and the tutorial pipeline on
tinyconv.datasets.MNIST. The comparisons with torchvision are in
test_transforms_torchvision.py."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from test_datasets import mnist_files, write

import tinyconv
from tinyconv import datasets, nn, transforms
from tinyconv.autograd import gradcheck
from tinyconv.transforms import functional as TF
from tinyconv.utils.data import DataLoader


def image(shape=(3, 6, 7), seed=0, dtype=np.float32) -> tinyconv.Tensor:
    return tinyconv.from_numpy(np.random.default_rng(seed).random(shape).astype(dtype))


def test_to_tensor_of_ndarrays_and_tensors():
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)  # (H, W, C)
    out = transforms.ToTensor()(arr)
    assert out.dtype == tinyconv.float32 and tuple(out.shape) == (4, 2, 3)
    np.testing.assert_array_equal(out.numpy(), arr.transpose(2, 0, 1).astype(np.float32) / 255)
    assert tuple(TF.to_tensor(arr[:, :, 0]).shape) == (1, 2, 3)
    assert TF.to_tensor(np.zeros((2, 3), np.float64)).dtype == tinyconv.float64  # kept
    # A Tensor (what tinyconv's datasets hand a transform) passes through untouched.
    t = image()
    assert transforms.ToTensor()(t) is t
    with pytest.raises(TypeError, match="pic must be an ndarray"):
        TF.to_tensor([[1, 2]])
    with pytest.raises(ValueError, match="2- or 3-dimensional, got 4"):
        TF.to_tensor(np.zeros((1, 2, 3, 4), np.uint8))


def test_pil_only_names_are_absent_and_say_why():
    for module, name in [
        (transforms, "ToPILImage"),
        (transforms, "PILToTensor"),
        (TF, "to_pil_image"),
    ]:
        with pytest.raises(AttributeError, match="does not depend on Pillow"):
            getattr(module, name)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        transforms.Nope  # noqa: B018


@pytest.mark.parametrize(
    "call,error,message",
    [
        (
            lambda: transforms.Normalize((0.5,), (0.5,))(
                image(dtype=np.float64).to(tinyconv.uint8)
            ),
            TypeError,
            "float tensor",
        ),
        (
            lambda: transforms.Normalize((0.5,), (0.0,))(image()),
            ValueError,
            "std evaluated to zero",
        ),
        (lambda: TF.normalize(image((6, 7)), [0.5], [0.5]), ValueError, r"\(\.\.\., C, H, W\)"),
        (lambda: transforms.Pad(1, padding_mode="wrap"), ValueError, "padding_mode must be one of"),
        (lambda: transforms.Pad((1, 2, 3)), ValueError, "1, 2, or 4 element"),
        (lambda: transforms.Pad("1"), TypeError, "padding must be"),
        (lambda: TF.pad(image(), 1, fill=(1, 2, 3)), TypeError, "fill must be a number"),
        (lambda: transforms.RandomCrop(8)(image()), ValueError, r"crop size \(8, 8\) is larger"),
        (lambda: transforms.RandomCrop(3, padding_mode="zeros"), ValueError, "padding_mode"),
        (lambda: transforms.Lambda(3), TypeError, "lambd must be callable"),
        (lambda: transforms.Resize(2.5), TypeError, "size must be an int or a sequence"),
        (lambda: transforms.Resize((1, 2, 3)), ValueError, "1 or 2 values"),
        (lambda: transforms.Resize(4, interpolation="bilinear"), TypeError, "InterpolationMode"),
        (
            lambda: transforms.Resize(4, transforms.InterpolationMode.BOX)(image()),
            NotImplementedError,
            "BOX",
        ),
        (lambda: TF.resize(image(), [4, 5], max_size=9), ValueError, "max_size can only be given"),
        (lambda: TF.resize(image(), 8, max_size=8), ValueError, "strictly greater"),
        (lambda: transforms.Grayscale()(image((2, 4, 4))), TypeError, "1 or 3 channels, got 2"),
        (
            lambda: transforms.Grayscale(2)(image()),
            ValueError,
            "num_output_channels must be 1 or 3",
        ),
        (
            lambda: TF.convert_image_dtype(image(), tinyconv.int32),
            RuntimeError,
            "cannot be performed safely",
        ),
        (lambda: transforms.CenterCrop((1, 2, 3)), ValueError, r"sequence \(h, w\)"),
        (lambda: TF.hflip(np.zeros((3, 4, 4))), TypeError, "Tensor image"),
        (lambda: TF.vflip(image((4,))), TypeError, "at least 2 dimensions"),
        (
            lambda: TF.pad(image((1, 1, 1, 3, 3)), 1, padding_mode="symmetric"),
            RuntimeError,
            "3-D or 4-D",
        ),
    ],
)
def test_bad_arguments_raise_naming_them(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_transforms_are_modules_and_fit_in_sequential():
    pipeline = nn.Sequential(
        transforms.CenterCrop(4), transforms.Normalize((0.5,) * 3, (0.25,) * 3)
    )
    x = image()
    np.testing.assert_array_equal(
        pipeline(x).numpy(), (x.numpy()[:, 1:5, 2:6] - np.float32(0.5)) / np.float32(0.25)
    )
    assert repr(transforms.ConvertImageDtype(tinyconv.float64)) == "ConvertImageDtype()"


def test_pad_modes_on_a_row():
    row = tinyconv.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    expect = {
        "constant": [9, 9, 1, 2, 3, 4, 9, 9],
        "edge": [1, 1, 1, 2, 3, 4, 4, 4],
        "reflect": [3, 2, 1, 2, 3, 4, 3, 2],
        "symmetric": [2, 1, 1, 2, 3, 4, 4, 3],
    }
    for mode, values in expect.items():
        out = TF.pad(row, [2, 0], fill=9, padding_mode=mode)
        assert out.numpy()[0, 0].tolist() == values, mode


def test_integer_images_keep_their_dtype():
    u8 = tinyconv.from_numpy(np.arange(48, dtype=np.uint8).reshape(3, 4, 4))
    assert TF.pad(u8, 1, padding_mode="reflect").dtype == tinyconv.uint8
    assert TF.resize(u8, [2, 2]).dtype == tinyconv.uint8
    assert TF.rgb_to_grayscale(u8).dtype == tinyconv.uint8
    assert TF.convert_image_dtype(u8).dtype == tinyconv.float32


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: TF.resize(x, [3, 5]),  # antialiased shrink
        lambda x: TF.resize(x, [9, 11]),  # growth
        lambda x: TF.pad(x, [2, 1, 0, 3], padding_mode="symmetric"),
        lambda x: TF.pad(x, 2, padding_mode="reflect"),
        lambda x: TF.center_crop(x, [8, 5]),
        lambda x: TF.normalize(x, [0.1, 0.2, 0.3], [0.5, 2.0, 4.0]),
        lambda x: TF.rgb_to_grayscale(x, 3),
    ],
)
def test_gradients_flow_through_the_transforms(fn):
    x = image((3, 6, 7), seed=3, dtype=np.float64).requires_grad_()
    assert gradcheck(fn, (x,), eps=1e-6, atol=1e-6, rtol=1e-6)


def test_tutorial_pipeline_on_mnist(tmp_path):
    """`from tinyconv import datasets, transforms` and a tutorial's MNIST pipeline, as is."""
    files, arrays = mnist_files()
    write(tmp_path / "MNIST" / "raw", files)
    mnist = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = datasets.MNIST(tmp_path, train=True, transform=mnist)
    x, y = next(iter(DataLoader(train, batch_size=5)))
    assert tuple(x.shape) == (5, 1, 28, 28) and x.dtype == tinyconv.float32
    pixels = arrays["train"][0][:5, None].astype(np.float32) / np.float32(255)
    expected = (pixels - np.float32(0.1307)) / np.float32(0.3081)
    np.testing.assert_array_equal(x.numpy(), expected)
    assert y.tolist() == arrays["train"][1][:5].tolist()


def test_tinyconv_transforms_loads_on_first_use():
    # as tinyconv.datasets: `import tinyconv` then `tinyconv.transforms` (a fresh interpreter,
    # where nothing has imported the package yet)
    code = "import tinyconv; print(tinyconv.transforms.Compose([]).transforms)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_convert_image_dtype_defaults_to_float32_whatever_the_default_dtype():
    image = tinyconv.tensor([[[0, 255]]], dtype=tinyconv.uint8)
    previous = tinyconv.get_default_dtype()
    tinyconv.set_default_dtype(tinyconv.float64)
    try:
        out = TF.convert_image_dtype(image)
    finally:
        tinyconv.set_default_dtype(previous)
    assert out.dtype == tinyconv.float32
    assert out.tolist() == [[[0.0, 1.0]]]


def test_resize_bicubic_is_antialiased_interpolate_clamped_for_uint8():
    """BICUBIC as torchvision resizes tensors: F.interpolate(bicubic, antialias) on floats;
    a uint8 image goes through float32, is clamped to [0, 255] (the cubic overshoots) and
    rounded back."""
    F = tinyconv.nn.functional
    x = image((3, 12, 10), seed=3)
    got = transforms.Resize((5, 4), transforms.InterpolationMode.BICUBIC)(x)
    want = F.interpolate(x[None], size=(5, 4), mode="bicubic", align_corners=False, antialias=True)
    np.testing.assert_array_equal(got.numpy(), want[0].numpy())
    u8 = tinyconv.from_numpy((np.indices((1, 4, 4)).sum(0) % 2 == 0).astype(np.uint8) * 255)
    got8 = TF.resize(u8, [9, 9], transforms.InterpolationMode.BICUBIC)
    ref = F.interpolate(u8[None].float(), size=(9, 9), mode="bicubic", antialias=True)[0]
    assert got8.dtype == tinyconv.uint8
    np.testing.assert_array_equal(
        got8.numpy(), ref.clamp(0, 255).round().to(tinyconv.uint8).numpy()
    )
    assert ref.max().item() > 255 or ref.min().item() < 0  # (the clamp mattered)
