"""Exercise 3: conv2d backward, for the input, the weight and the bias (stride 1, no padding).

Read docs/conv_backprop.md, section 3 (and the one rule at its top). Copy your conv2d
from exercise 2 into this file: the checker also runs gradcheck on the pair (your
backward against finite differences of your forward).
Check with: python -m tinyconv.exercises 3
"""

import numpy as np


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Your exercise-2 forward: x (N, C, H, W), w (O, C, kh, kw), b (O,) -> y (N, O, OH, OW)."""
    raise NotImplementedError


def conv2d_backward(
    g: np.ndarray, x: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dL/dx, dL/dw, dL/db) for L = sum(g * conv2d(x, w, b)).

    g: (N, O, OH, OW) -> dx: (N, C, H, W), dw: (O, C, kh, kw), db: (O,)
    """
    raise NotImplementedError
