"""Exercise 5: im2col, col2im, and the convolution as one matrix product.

Read docs/conv_backprop.md, section 3's "As matrix products". Check with:
python -m tinyconv.exercises 5
"""

import numpy as np


def im2col(x_pad: np.ndarray, kh: int, kw: int, stride: int) -> np.ndarray:
    """Every window as a column: cols[n, (c, p, q), (i, j)] = x_pad[n, c, i*stride + p, j*stride +
    q].

    x_pad: (N, C, Hp, Wp) -> cols: (N, C*kh*kw, OH*OW), rows in (c, p, q) order and
    columns in (i, j) order (row-major), OH = (Hp - kh) // stride + 1 (OW likewise).
    """
    raise NotImplementedError


def col2im(dcols: np.ndarray, x_pad_shape: tuple, kh: int, kw: int, stride: int) -> np.ndarray:
    """The backward of im2col: add every entry of dcols (N, C*kh*kw, OH*OW) back onto the pixel
    of x_pad it was copied from. Returns (N, C, Hp, Wp), the shape x_pad_shape."""
    raise NotImplementedError


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """Exercise 4's conv2d, as im2col and one matrix product: w.reshape(O, C*kh*kw) @ cols + b.

    x: (N, C, H, W), w: (O, C, kh, kw), b: (O,) -> y: (N, O, OH, OW)
    """
    raise NotImplementedError
