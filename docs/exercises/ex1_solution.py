"""Exercise 1, worked: 1-D correlation and its backward (try it yourself before reading this).

Each function is the formula of docs/conv_backprop.md, section 1, written as a loop.
Check it the way you check your own: python -m tinyconv.exercises 1 docs/exercises/ex1_solution.py
"""

import numpy as np


def corr1d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """y[i] = sum_p x[i + p] * w[p]; x: (H,), w: (k,) -> y: (H - k + 1,)."""
    H, k = len(x), len(w)
    y = np.zeros(H - k + 1)
    for i in range(H - k + 1):  # one output per window position
        for p in range(k):  # one term per tap
            y[i] += x[i + p] * w[p]
    return y


def corr1d_backward(g: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dL/dx, dL/dw) for L = sum(g * corr1d(x, w)); g: (H - k + 1,)."""
    k = len(w)
    dx = np.zeros(len(x))
    dw = np.zeros(k)
    # The forward's loop again: every term x[i + p] * w[p] of y[i] sends g[i] times
    # "what it was multiplied by" to each factor. This is the one rule, term by term:
    #   dL/dw[p] = sum_i g[i] * x[i + p]   (the correlation of x with g)
    #   dL/dx[u] = sum_p g[u - p] * w[p]   (a full correlation of g with w flipped)
    for i in range(len(g)):
        for p in range(k):
            dw[p] += g[i] * x[i + p]
            dx[i + p] += g[i] * w[p]
    return dx, dw
