"""Exercise 1: 1-D correlation and its backward.

Read docs/conv_backprop.md, section 1, then fill in the two functions below
(replace each `raise NotImplementedError` with your code) and check them:

    python -m tinyconv.exercises 1              # checks this file
    python -m tinyconv.exercises 1 my_copy.py   # or your own copy of it

Plain NumPy arrays in, plain NumPy arrays out; loops are fine (clear beats fast).
A worked solution is in ex1_solution.py: try first, then compare.
"""

import numpy as np


def corr1d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """y[i] = sum_p x[i + p] * w[p]: slide w (length k) along x (length H), no padding, stride 1.

    x: (H,), w: (k,) -> y: (H - k + 1,)
    """
    raise NotImplementedError


def corr1d_backward(g: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The gradients of L = sum(g * corr1d(x, w)): (dL/dx, dL/dw).

    g: (H - k + 1,) the gradient arriving from above; returns dx: (H,), dw: (k,)
    """
    raise NotImplementedError
