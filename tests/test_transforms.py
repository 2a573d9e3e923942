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
        (lambda: TF.adjust_brightness(image(), -0.1), ValueError, "brightness_factor"),
        (lambda: TF.adjust_hue(image(), 0.7), ValueError, r"hue_factor must be in \[-0.5, 0.5\]"),
        (lambda: TF.adjust_contrast(image((2, 4, 4)), 1.2), TypeError, "1 or 3 channels, got 2"),
        (lambda: TF.posterize(image(), 3), TypeError, "uint8 image"),
        (lambda: TF.posterize(image().to(tinyconv.uint8), 9), ValueError, "between 0 and 8"),
        (lambda: TF.equalize(image()), TypeError, "uint8 image"),
        (lambda: TF.solarize(image(), 2.0), TypeError, "threshold"),
        (lambda: TF.invert(image((4, 4))), TypeError, "at least 3 dimensions"),
        (lambda: TF.gaussian_blur(image(), 4), ValueError, "odd and positive"),
        (lambda: TF.gaussian_blur(image(), 3, [0.0]), ValueError, "sigma must be positive"),
        (
            lambda: TF.rotate(image(), 10.0, transforms.InterpolationMode.BICUBIC),
            ValueError,
            "BICUBIC is not supported for tensors",
        ),
        (lambda: TF.rotate(image(), 10.0, "bilinear"), TypeError, "InterpolationMode"),
        (lambda: TF.rotate(np.zeros((3, 4, 4)), 10.0), TypeError, "no PIL images"),
        (lambda: TF.affine(image(), 0, [1], 1.0, 0), ValueError, "translate must have 2"),
        (lambda: TF.affine(image(), 0, [1, 1], 0.0, 0), ValueError, "scale must be positive"),
        (lambda: TF.rotate(image(), 5.0, fill=[1, 2]), ValueError, "fill has 2 values"),
        (lambda: TF.perspective(image(), [[0, 0]], [[1, 1]]), ValueError, "four corners"),
        (
            lambda: TF.elastic_transform(image(), tinyconv.zeros(1, 2, 2, 2)),
            ValueError,
            r"displacement must have shape \(1, 6, 7, 2\)",
        ),
        (lambda: TF.five_crop(image(), 8), ValueError, "bigger than the image"),
        (lambda: transforms.ColorJitter(brightness=-1), ValueError, "non-negative"),
        (lambda: transforms.ColorJitter(hue=(0.2, 0.7)), ValueError, "between"),
        (lambda: transforms.ColorJitter(contrast="x"), TypeError, "single number"),
        (lambda: transforms.RandomErasing(value="noise"), ValueError, "'random'"),
        (lambda: transforms.RandomErasing(scale=(0.5, 1.5)), ValueError, "between 0 and 1"),
        (
            lambda: transforms.RandomErasing(1.0, value=(1, 2))(image()),
            ValueError,
            "1 or 3",
        ),
        (lambda: transforms.GaussianBlur(4), ValueError, "odd and positive"),
        (lambda: transforms.GaussianBlur(3, sigma=(2.0, 1.0)), ValueError, r"\(min, max\)"),
        (lambda: transforms.RandomRotation(-5), ValueError, "must be positive"),
        (lambda: transforms.RandomRotation((1, 2, 3)), ValueError, "length 2"),
        (lambda: transforms.RandomAffine(0, translate=(0.5, 2)), ValueError, r"\[0, 1\]"),
        (lambda: transforms.RandomAffine(0, shear=(1, 2, 3)), ValueError, "length 2 or 4"),
        (lambda: transforms.RandomRotation(5, fill={"r": 1}), TypeError, "fill must be"),
        (lambda: transforms.ElasticTransform(alpha=5), TypeError, "alpha must be a float"),
        (lambda: transforms.RandomChoice(transforms.Pad(1)), TypeError, "must be a sequence"),
        (lambda: transforms.FiveCrop((1, 2, 3)), ValueError, r"\(h, w\)"),
        (
            lambda: transforms.LinearTransformation(tinyconv.zeros(3, 4), tinyconv.zeros(3)),
            ValueError,
            "must be square",
        ),
        (
            lambda: transforms.LinearTransformation(tinyconv.eye(5), tinyconv.zeros(5))(image()),
            ValueError,
            "126 values",
        ),
        (
            lambda: transforms.AutoAugment("imagenet"),
            ValueError,
            "policy imagenet is not recognized",
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


def test_new_transforms_keep_shape_dtype_and_range():
    """Every colour, blur and geometry transform keeps a uint8 image's dtype and range and a
    float image's shape, on single images and batches."""
    u8 = (image((2, 3, 8, 9), seed=3) * 255).to(tinyconv.uint8)
    steps = [
        transforms.ColorJitter(0.5, 0.5, 0.5, 0.2),
        transforms.RandomErasing(1.0),
        transforms.GaussianBlur(3),
        transforms.RandomRotation(30),
        transforms.RandomAffine(20, (0.1, 0.1), (0.9, 1.1), 10),
        transforms.RandomPerspective(p=1.0),
        transforms.RandomEqualize(1.0),
        transforms.RandomPosterize(2, 1.0),
        transforms.AutoAugment(),
        transforms.RandAugment(),
        transforms.TrivialAugmentWide(),
        transforms.ElasticTransform(alpha=5.0, sigma=1.0),
    ]
    tinyconv.manual_seed(0)
    for step in steps:
        for x in (u8, u8[0]):
            out = step(x)
            assert out.dtype == tinyconv.uint8 and tuple(out.shape) == tuple(x.shape), step
    flat = TF.autocontrast(tinyconv.full((3, 4, 4), 0.25))  # one level: left as it is
    assert bool((flat == 0.25).all())
    gray = transforms.RandomGrayscale(1.0)(image())
    assert tuple(gray.shape) == (3, 6, 7) and bool((gray[0] == gray[2]).all())


def test_hue_round_trip_and_known_colours():
    """A hue shift of 0 gives the image back (to float32 rounding); a third of a turn maps
    pure red to pure green and green to blue."""
    x = image((3, 5, 6), seed=8)
    np.testing.assert_allclose(TF.adjust_hue(x, 0.0).numpy(), x.numpy(), atol=1e-6)
    rgb = tinyconv.tensor([[[1.0, 0.0]], [[0.0, 1.0]], [[0.0, 0.0]]])  # red, green pixels
    shifted = TF.adjust_hue(rgb, 1 / 3).numpy()
    np.testing.assert_allclose(shifted[:, 0, 0], [0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(shifted[:, 0, 1], [0, 0, 1], atol=1e-6)


def test_rotate_by_right_angles_is_rot90_and_fill_paints_outside():
    x = image((1, 5, 5), seed=9)
    np.testing.assert_array_equal(TF.rotate(x, 90.0).numpy(), np.rot90(x.numpy(), 1, (1, 2)))
    np.testing.assert_array_equal(TF.rotate(x, 180.0).numpy(), x.numpy()[:, ::-1, ::-1])
    moved = TF.affine(x, 0.0, [2, 0], 1.0, 0.0, fill=[-1.0])
    np.testing.assert_array_equal(moved.numpy()[:, :, 2:], x.numpy()[:, :, :3])
    assert bool((moved[:, :, :2] == -1.0).all())
    wide = TF.rotate(image((1, 4, 8)), 90.0, expand=True)
    assert tuple(wide.shape) == (1, 8, 4)


def test_five_and_ten_crop_corners():
    x = tinyconv.arange(1 * 4 * 5).float().view(1, 4, 5)
    tl, tr, bl, br, center = TF.five_crop(x, 2)
    assert [t[0, 0, 0].item() for t in (tl, tr, bl, br, center)] == [0, 3, 10, 13, 7]
    ten = transforms.TenCrop(2)(x)
    assert len(ten) == 10 and ten[5][0, 0, 0].item() == 4.0  # top-left of the mirror image
