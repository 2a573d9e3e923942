"""Exercise 2: conv2d forward as loops (channels and a batch; stride 1, no padding).

Read docs/conv_backprop.md, sections 2 and 3. Check with: python -m tinyconv.exercises 2
"""

import numpy as np


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """y[n, o, i, j] = b[o] + sum_{c, p, q} x[n, c, i + p, j + q] * w[o, c, p, q].

    x: (N, C, H, W), w: (O, C, kh, kw), b: (O,) -> y: (N, O, H - kh + 1, W - kw + 1)
    """
    raise NotImplementedError
