"""Exercise 4: conv2d with stride and padding, forward and backward.

Read docs/conv_backprop.md, sections 4 and 5. Start from your exercise-3 code.
Check with: python -m tinyconv.exercises 4
"""

import numpy as np


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """y[n, o, i, j] = b[o] + sum_{c, p, q} x_pad[n, c, i*stride + p, j*stride + q] * w[o, c, p, q].

    x_pad is x with `padding` zeros on every side.
    x: (N, C, H, W), w: (O, C, kh, kw), b: (O,) -> y: (N, O, OH, OW) with
    OH = (H + 2*padding - kh) // stride + 1 (and OW likewise).
    """
    raise NotImplementedError


def conv2d_backward(
    g: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int, padding: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dL/dx, dL/dw, dL/db) for L = sum(g * conv2d(x, w, b, stride, padding)).

    g: (N, O, OH, OW) -> dx: (N, C, H, W) (the padding cropped off), dw: (O, C, kh, kw), db: (O,)
    """
    raise NotImplementedError
