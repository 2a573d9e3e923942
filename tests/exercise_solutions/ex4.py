"""Reference solution of exercise 4 (stride and padding, forward and backward)."""

import numpy as np


def conv2d(x, w, b, stride, padding):
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    N, _, Hp, Wp = x_pad.shape
    O, _, kh, kw = w.shape
    OH, OW = (Hp - kh) // stride + 1, (Wp - kw) // stride + 1
    y = np.zeros((N, O, OH, OW))
    for n in range(N):
        for o in range(O):
            for i in range(OH):
                for j in range(OW):
                    r, c = i * stride, j * stride
                    y[n, o, i, j] = b[o] + np.sum(x_pad[n, :, r : r + kh, c : c + kw] * w[o])
    return y


def conv2d_backward(g, x, w, stride, padding):
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    N, _, H, W = x.shape
    O, _, kh, kw = w.shape
    dx_pad, dw = np.zeros(x_pad.shape), np.zeros(w.shape)
    for n in range(N):
        for o in range(O):
            for i in range(g.shape[2]):
                for j in range(g.shape[3]):
                    r, c = i * stride, j * stride
                    dw[o] += g[n, o, i, j] * x_pad[n, :, r : r + kh, c : c + kw]
                    dx_pad[n, :, r : r + kh, c : c + kw] += g[n, o, i, j] * w[o]
    return dx_pad[:, :, padding : padding + H, padding : padding + W], dw, g.sum(axis=(0, 2, 3))
