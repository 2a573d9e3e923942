"""Reference solution of exercise 5 (im2col, col2im, conv2d as one matrix product)."""

import numpy as np


def im2col(x_pad, kh, kw, stride):
    N, C, Hp, Wp = x_pad.shape
    OH, OW = (Hp - kh) // stride + 1, (Wp - kw) // stride + 1
    cols = np.zeros((N, C, kh, kw, OH, OW))
    for p in range(kh):
        for q in range(kw):
            cols[:, :, p, q] = x_pad[
                :, :, p : p + stride * (OH - 1) + 1 : stride, q : q + stride * (OW - 1) + 1 : stride
            ]
    return cols.reshape(N, C * kh * kw, OH * OW)


def col2im(dcols, x_pad_shape, kh, kw, stride):
    N, C, Hp, Wp = x_pad_shape
    OH, OW = (Hp - kh) // stride + 1, (Wp - kw) // stride + 1
    d = dcols.reshape(N, C, kh, kw, OH, OW)
    out = np.zeros(x_pad_shape)
    for p in range(kh):
        for q in range(kw):
            out[
                :, :, p : p + stride * (OH - 1) + 1 : stride, q : q + stride * (OW - 1) + 1 : stride
            ] += d[:, :, p, q]
    return out


def conv2d(x, w, b, stride, padding):
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    N = x.shape[0]
    O, C, kh, kw = w.shape
    OH, OW = (x_pad.shape[2] - kh) // stride + 1, (x_pad.shape[3] - kw) // stride + 1
    y = w.reshape(O, C * kh * kw) @ im2col(x_pad, kh, kw, stride) + b[:, None]
    return y.reshape(N, O, OH, OW)
