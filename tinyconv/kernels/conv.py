"""2-D convolution and transposed convolution, the teaching kernel: pure NumPy, no graph.

This file reads top to bottom: the maths; the loop references, forward and
backward, each written as the sum it is; the plain vectorised path (im2col, one
batched matrix product, col2im); and the transposed convolution, which is the
input gradient run as a forward. ``docs/conv_backprop.md`` walks through it.
The same interface, tuned for speed, is ``conv_fast.py``; pick either (or the
loops) with ``tinyconv.kernels.conv_algorithm("loops" | "im2col" | "fast")``.

Arguments arrive validated and normalised by ``tinyconv.nn.functional``:

- ``x`` is ``(N, C, H, W)`` (always batched);
- conv2d ``w`` is ``(O, C // groups, kh, kw)``; conv_transpose2d ``w`` is
  ``(C_in, O // groups, kh, kw)`` (PyTorch's layouts); ``b`` is ``(O,)`` or None;
- ``stride`` and ``dilation`` are int pairs ``(sh, sw)``;
- conv2d ``padding`` is ``((top, bottom), (left, right))`` (asymmetric padding
  is how padding='same' works with even kernels); conv_transpose2d ``padding``
  is ``(ph, pw)`` and ``output_padding`` is ``(oph, opw)``.

Float and integer dtypes both work: the result has dtype ``np.result_type(x, w)``.
Gradients come back in the dtype and shape of the array they belong to.

The maths
---------
For one group (groups come at the end), with ``x_pad`` the zero-padded input::

    y[n,o,i,j] = b[o] + sum_{c,p,q} x_pad[n, c, i*sh + p*dh, j*sw + q*dw] * w[o,c,p,q]

Every output is the dot product of the kernel with one window of the input.
Copy each window into a column ("im2col"), ``cols[(c,p,q), (i,j)] =
x_pad[c, i*sh + p*dh, j*sw + q*dw]``, and the whole convolution is one matrix
product ``Y = Wm @ cols`` with ``Wm = w.reshape(O, C*kh*kw)`` (``Y`` is ``y`` as a
``(O, OH*OW)`` matrix; the names are those of docs/conv_backprop.md's notation table).

Differentiate, with ``g = dL/dy`` (the shape of y):

- bias: y[n,o,i,j] holds b[o] once, so ``dL/db[o] = sum_{n,i,j} g[n,o,i,j]``.
- weight: w[o,c,p,q] multiplies the pixel at offset (p, q) of every window, so
  ``dL/dw[o,c,p,q] = sum_{n,i,j} g[n,o,i,j] * x_pad[n,c, i*sh + p*dh, j*sw + q*dw]``:
  the correlation of the input with g, g's taps ``stride`` apart and the
  result sampled ``dilation`` apart. In columns ``dWm = gm @ cols.T`` (``gm``: g as a matrix), with
  the very columns the forward built.
- input: x_pad[n,c,u,v] is read by every (o, p, q, i, j) with
  ``u = i*sh + p*dh`` and ``v = j*sw + q*dw``, so

      dL/dx_pad[n,c,u,v] = sum over those (o, p, q, i, j) of g[n,o,i,j] * w[o,c,p,q].

  Spread g out by putting ``stride - 1`` zeros between its entries (g_up,
  with g_up[i*sh] = g[i]); then ``dL/dx_pad[u] = sum_p g_up[u - p*dh] * w[p]``
  (one axis shown): the "full" correlation of g_up with the kernel flipped in
  (p, q), in and out channels swapped (it sums over o and gives one map per
  c). That is a *transposed convolution*. In columns: ``dcols = Wm.T @ gm``
  holds what each pixel of each window receives, and "col2im" adds every
  entry back onto the pixel it was copied from (windows overlap, so their
  contributions add). Cropping the padding off gives dL/dx.

What the options change:

- stride s: window origins step by s; in the backward g is spread s apart
  (the inserted zeros), so input pixels that no window reaches get 0.
- padding: the forward reads x_pad; the backward computes dL/dx_pad and crops
  it, since the padding pixels are constants.
- dilation d: the kernel taps sit d apart, in every formula above.
- groups G: the channels split into G independent convolutions, Wm is block
  diagonal, and every matrix product above becomes a batch of G products.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

IntPair = tuple[int, int]
Padding2 = tuple[IntPair, IntPair]
Grads = tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]


def conv2d_output_size(
    H: int, W: int, kernel_size: IntPair, stride: IntPair, padding: Padding2, dilation: IntPair
) -> IntPair:
    """``(OH, OW)`` of a conv2d: ``floor((H + pt + pb - d*(k-1) - 1) / s) + 1`` per axis."""
    (kh, kw), (sh, sw), ((pt, pb), (pl, pr)), (dh, dw) = kernel_size, stride, padding, dilation
    return (
        (H + pt + pb - dh * (kh - 1) - 1) // sh + 1,
        (W + pl + pr - dw * (kw - 1) - 1) // sw + 1,
    )


def conv_transpose2d_output_size(
    H: int,
    W: int,
    kernel_size: IntPair,
    stride: IntPair,
    padding: IntPair,
    output_padding: IntPair,
    dilation: IntPair,
) -> IntPair:
    """``(OH, OW)`` of a conv_transpose2d: ``(H-1)*s - 2p + d*(k-1) + output_padding + 1``."""
    (kh, kw), (sh, sw), (ph, pw), (oph, opw), (dh, dw) = (
        kernel_size,
        stride,
        padding,
        output_padding,
        dilation,
    )
    return (
        (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1,
        (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1,
    )


def pad_input(x: np.ndarray, padding: Padding2) -> np.ndarray:
    """``x (N, C, H, W)`` with zeros around: ``(N, C, H + pt + pb, W + pl + pr)``."""
    (pt, pb), (pl, pr) = padding
    return np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))


# --------------------------------------------------------------------------
# Loop references: the definitions, one sum per gradient (algorithm "loops")
# --------------------------------------------------------------------------


def corr2d(X: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Textbook 2-D cross-correlation of one image ``(H, W)`` with one kernel ``(h, w)``.

    Stride 1, no padding; returns ``(H - h + 1, W - w + 1)``.
    """
    X, K = np.asarray(X), np.asarray(K)
    h, w = K.shape
    Y = np.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1), dtype=np.result_type(X, K))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


def _window(
    a: np.ndarray, i: int, j: int, kernel_size: IntPair, stride: IntPair, dilation: IntPair
) -> np.ndarray:
    """The taps window (i, j) reads from ``a (..., H, W)``: ``(..., kh, kw)``, a view."""
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    return a[
        ..., i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw
    ]


def conv2d_reference(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntPair,
    padding: Padding2,
    dilation: IntPair,
    groups: int,
) -> np.ndarray:
    """Loop reference: ``x (N, C, H, W)``, ``w (O, C//groups, kh, kw)`` -> ``y (N, O, OH, OW)``.

    ``y[n, o, i, j] = b[o] + sum_{c, p, q} window(i, j)[c, p, q] * w[o, c, p, q]``.
    """
    N, _, H, W = x.shape
    O, C_g, kh, kw = w.shape
    OH, OW = conv2d_output_size(H, W, (kh, kw), stride, padding, dilation)
    O_g = O // groups  # output channels per group
    x_pad = pad_input(x, padding)
    y = np.zeros((N, O, OH, OW), dtype=np.result_type(x, w))
    for n in range(N):
        for o in range(O):
            c0 = (o // O_g) * C_g  # the first input channel o sees
            for i in range(OH):
                for j in range(OW):
                    window = _window(x_pad[n, c0 : c0 + C_g], i, j, (kh, kw), stride, dilation)
                    y[n, o, i, j] = (window * w[o]).sum()
            if b is not None:
                y[n, o] += b[o]
    return y


def conv2d_backward_reference(
    grad_out: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride: IntPair,
    padding: Padding2,
    dilation: IntPair,
    groups: int,
) -> Grads:
    """Loop reference of the gradients: ``grad_out (N, O, OH, OW)`` -> ``(grad_x, grad_w, grad_b)``.

    Each window (n, o, i, j) contributed ``window * w[o]`` to y, so with
    ``g = grad_out[n, o, i, j]``:
    ``grad_b[o] += g``, ``grad_w[o] += g * window``, and ``grad_x_pad[window] += g * w[o]``;
    summed over all windows, these are the three sums derived above.
    """
    N, _, H, W = x.shape
    O, C_g, kh, kw = w.shape
    OH, OW = grad_out.shape[2:]
    O_g = O // groups
    (pt, _), (pl, _) = padding
    x_pad = pad_input(x, padding)
    grad_x_pad = np.zeros(x_pad.shape, dtype=np.result_type(grad_out, w))
    grad_w = np.zeros(w.shape, dtype=np.result_type(grad_out, x))
    grad_b = np.zeros(O, dtype=grad_out.dtype)
    for n in range(N):
        for o in range(O):
            c0 = (o // O_g) * C_g
            for i in range(OH):
                for j in range(OW):
                    g = grad_out[n, o, i, j]
                    grad_b[o] += g
                    window = _window(x_pad[n, c0 : c0 + C_g], i, j, (kh, kw), stride, dilation)
                    grad_w[o] += g * window
                    # the same pixels, in the gradient of x_pad: a view, added to in place
                    _window(grad_x_pad[n, c0 : c0 + C_g], i, j, (kh, kw), stride, dilation)[
                        ...
                    ] += g * w[o]
    grad_x = grad_x_pad[
        :, :, pt : pt + H, pl : pl + W
    ]  # the padding was a constant: crop its gradient
    return grad_x.astype(x.dtype), grad_w.astype(w.dtype), grad_b


def conv_transpose2d_reference(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntPair,
    padding: IntPair,
    output_padding: IntPair,
    dilation: IntPair,
    groups: int,
) -> np.ndarray:
    """Loop reference for conv_transpose2d: ``x (N, C_in, H, W)``, ``w (C_in, O//groups, kh, kw)``.

    Returns ``(N, O, OH, OW)``. PyTorch's definition, as a scatter: every input
    pixel adds ``value * w[c]`` onto a (strided, dilated) window of the padded
    output; the padding is then cropped off.
    """
    N, C, H, W = x.shape
    _, O_g, kh, kw = w.shape
    (ph, pw) = padding
    OH, OW = conv_transpose2d_output_size(H, W, (kh, kw), stride, padding, output_padding, dilation)
    C_g = C // groups  # input channels per group
    y_pad = np.zeros((N, O_g * groups, OH + 2 * ph, OW + 2 * pw), dtype=np.result_type(x, w))
    for n in range(N):
        for c in range(C):
            o0 = (c // C_g) * O_g  # the first output channel c feeds
            for i in range(H):
                for j in range(W):
                    window = _window(y_pad[n, o0 : o0 + O_g], i, j, (kh, kw), stride, dilation)
                    window += x[n, c, i, j] * w[c]  # a view: this adds into y_pad
    y = y_pad[:, :, ph : ph + OH, pw : pw + OW]
    if b is not None:
        y = y + b.reshape(-1, 1, 1)
    return np.ascontiguousarray(y)


def conv_transpose2d_backward_reference(
    grad_out: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride: IntPair,
    padding: IntPair,
    output_padding: IntPair,
    dilation: IntPair,
    groups: int,
) -> Grads:
    """Loop reference of conv_transpose2d's gradients: ``(grad_x, grad_w, grad_b)``.

    x[n, c, i, j] added ``x[n, c, i, j] * w[c]`` onto window (i, j) of the padded
    output, so with ``window`` the same window of the padded ``grad_out``:
    ``grad_x[n, c, i, j] = sum(window * w[c])`` and ``grad_w[c] += x[n, c, i, j] * window``.
    """
    N, C, H, W = x.shape
    _, O_g, kh, kw = w.shape
    (ph, pw) = padding
    C_g = C // groups
    g_pad = pad_input(grad_out, ((ph, ph), (pw, pw)))  # the cropped rows got no gradient
    grad_x = np.zeros(x.shape, dtype=np.result_type(grad_out, w))
    grad_w = np.zeros(w.shape, dtype=np.result_type(grad_out, x))
    for n in range(N):
        for c in range(C):
            o0 = (c // C_g) * O_g
            for i in range(H):
                for j in range(W):
                    window = _window(g_pad[n, o0 : o0 + O_g], i, j, (kh, kw), stride, dilation)
                    grad_x[n, c, i, j] = (window * w[c]).sum()
                    grad_w[c] += x[n, c, i, j] * window
    grad_b = grad_out.sum(axis=(0, 2, 3))
    return grad_x.astype(x.dtype), grad_w.astype(w.dtype), grad_b


# --------------------------------------------------------------------------
# The plain vectorised path: im2col, one batched GEMM, col2im (algorithm "im2col")
# --------------------------------------------------------------------------


def im2col(
    x_pad: np.ndarray, kernel_size: IntPair, out_size: IntPair, stride: IntPair, dilation: IntPair
) -> np.ndarray:
    """Columns ``(N, C*kh*kw, OH*OW)`` of a padded input ``(N, C, Hp, Wp)``.

    ``cols[n, (c, p, q), (i, j)] = x_pad[n, c, i*sh + p*dh, j*sw + q*dw]``.
    ``sliding_window_view`` shows every (dilated) window without copying;
    slicing picks the strided windows and the dilated taps; one reshape copies.
    """
    N, C = x_pad.shape[:2]
    (kh, kw), (OH, OW), (sh, sw), (dh, dw) = kernel_size, out_size, stride, dilation
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)  # what one dilated window covers
    win = sliding_window_view(x_pad, span, axis=(2, 3))  # (N, C, Hp-span+1, Wp-span+1, *span)
    # every sh-th window, every dh-th tap: (N, C, OH, OW, kh, kw)
    win = win[:, :, : sh * (OH - 1) + 1 : sh, : sw * (OW - 1) + 1 : sw, ::dh, ::dw]
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(N, C * kh * kw, OH * OW)


def col2im(
    dcols: np.ndarray,
    x_pad_shape: tuple[int, ...],
    kernel_size: IntPair,
    out_size: IntPair,
    stride: IntPair,
    dilation: IntPair,
) -> np.ndarray:
    """Adjoint of ``im2col``: add ``dcols (N, C*kh*kw, OH*OW)`` back into ``(N, C, Hp, Wp)``.

    Kernel offset (p, q) read the pixels ``x_pad[:, :, p*dh + i*sh, q*dw + j*sw]``
    of all windows (i, j) at once: one strided slice. So col2im is one
    slice-add per offset; where windows overlap, their entries add up.
    """
    N, C = x_pad_shape[:2]
    (kh, kw), (OH, OW), (sh, sw), (dh, dw) = kernel_size, out_size, stride, dilation
    dcols = dcols.reshape(N, C, kh, kw, OH, OW)
    out = np.zeros(x_pad_shape, dtype=dcols.dtype)
    for p in range(kh):
        for q in range(kw):
            # the pixels offset (p, q) read in every window: one strided slice
            rows = slice(p * dh, p * dh + sh * (OH - 1) + 1, sh)
            cols = slice(q * dw, q * dw + sw * (OW - 1) + 1, sw)
            out[:, :, rows, cols] += dcols[:, :, p, q]
    return out


def _gemm(w: np.ndarray, cols: np.ndarray, groups: int) -> np.ndarray:
    """``Y = Wm @ cols`` for every image and group: ``(N, O, OH*OW)``.

    ``w (O, C/G, kh, kw)`` becomes G blocks ``(G, O/G, K)``; the columns
    ``(N, C*kh*kw, L)`` split into ``(N, G, K, L)``; one batched matmul.
    """
    O, N, L = w.shape[0], cols.shape[0], cols.shape[2]
    W_mat = w.reshape(groups, O // groups, -1)
    return np.matmul(W_mat, cols.reshape(N, groups, -1, L)).reshape(N, O, L)


def _weight_grad(
    g: np.ndarray, cols: np.ndarray, w_shape: tuple[int, ...], groups: int
) -> np.ndarray:
    """``dWm = sum over images of gm @ cols.T``: ``g (N, O, L)``, ``cols (N, C*kh*kw, L)``."""
    N, O, L = g.shape
    g = g.reshape(N, groups, O // groups, L)
    cols = cols.reshape(N, groups, -1, L)
    return np.matmul(g, cols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(w_shape)


def input_grad(
    g: np.ndarray,
    w: np.ndarray,
    x_shape: tuple[int, ...],
    stride: IntPair,
    padding: Padding2,
    dilation: IntPair,
    groups: int,
) -> np.ndarray:
    """dL/dx ``(N, C, H, W)`` of a conv2d from ``g = dL/dy (N, O, OH, OW)``: GEMM, col2im, crop.

    ``dcols = Wm.T @ gm`` is what each pixel of each window receives; col2im
    adds it onto the pixels; the padding's share is cropped off. This is
    also the whole of conv_transpose2d's forward.
    """
    N, C, H, W = x_shape
    O, _, kh, kw = w.shape
    OH, OW = g.shape[2:]
    (pt, pb), (pl, pr) = padding
    W_mat = w.reshape(groups, O // groups, -1)
    dcols = np.matmul(W_mat.transpose(0, 2, 1), g.reshape(N, groups, O // groups, OH * OW))
    x_pad_shape = (N, C, H + pt + pb, W + pl + pr)
    grad_pad = col2im(dcols, x_pad_shape, (kh, kw), (OH, OW), stride, dilation)
    return grad_pad[:, :, pt : pt + H, pl : pl + W]


def conv2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntPair,
    padding: Padding2,
    dilation: IntPair,
    groups: int,
) -> tuple[np.ndarray, np.ndarray]:
    """conv2d by im2col + GEMM: ``(y (N, O, OH, OW), cols)``; ``cols`` feed the weight gradient."""
    N, _, H, W = x.shape
    O, _, kh, kw = w.shape
    OH, OW = conv2d_output_size(H, W, (kh, kw), stride, padding, dilation)
    cols = im2col(pad_input(x, padding), (kh, kw), (OH, OW), stride, dilation)
    y = _gemm(w, cols, groups).reshape(N, O, OH, OW)
    if b is not None:
        y += b.reshape(O, 1, 1)
    return y, cols


def conv2d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    cols: np.ndarray | None,
    stride: IntPair,
    padding: Padding2,
    dilation: IntPair,
    groups: int,
    need_input: bool = True,
    need_weight: bool = True,
    need_bias: bool = True,
) -> Grads:
    """Gradients of conv2d: ``grad_out (N, O, OH, OW)`` -> ``(grad_x, grad_w, grad_b)``.

    Shapes are those of x, w and ``(O,)``; None for a gradient not needed.
    ``cols`` are the forward's columns (None: build them again).
    """
    N, O, OH, OW = grad_out.shape
    g = grad_out.reshape(N, O, OH * OW)
    grad_x = grad_w = grad_b = None
    if need_bias:
        grad_b = grad_out.sum(axis=(0, 2, 3))
    if need_weight:
        if cols is None:
            cols = im2col(pad_input(x, padding), w.shape[2:], (OH, OW), stride, dilation)
        grad_w = _weight_grad(g, cols, w.shape, groups).astype(w.dtype, copy=False)
    if need_input:
        grad_x = input_grad(grad_out, w, x.shape, stride, padding, dilation, groups)
        grad_x = grad_x.astype(x.dtype, copy=False)
    return grad_x, grad_w, grad_b


# --------------------------------------------------------------------------
# conv_transpose2d: conv2d's input gradient, run forward
# --------------------------------------------------------------------------
#
# conv_transpose2d(x, w) is the map g -> dL/dx of a conv2d whose weight is w
# (C_in output channels, O input channels) and whose input has the transposed
# output's size. Its own backward is then conv2d's forward (for dL/dx) and
# conv2d's weight gradient with the roles swapped (for dL/dw).


def conv_transpose2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntPair,
    padding: IntPair,
    output_padding: IntPair,
    dilation: IntPair,
    groups: int,
) -> np.ndarray:
    """``x (N, C_in, H, W)``, ``w (C_in, O//groups, kh, kw)`` -> ``(N, O, OH, OW)``: transposed
    conv.

    w is the weight of a conv2d from O channels to C_in, and this is its input gradient.
    """
    N, _, H, W = x.shape
    O = w.shape[1] * groups
    OH, OW = conv_transpose2d_output_size(
        H, W, w.shape[2:], stride, padding, output_padding, dilation
    )
    pad = ((padding[0], padding[0]), (padding[1], padding[1]))
    y = input_grad(x, w, (N, O, OH, OW), stride, pad, dilation, groups)
    y = np.ascontiguousarray(y, dtype=np.result_type(x, w))
    if b is not None:
        y += b.reshape(O, 1, 1)
    return y


def conv_transpose2d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride: IntPair,
    padding: IntPair,
    output_padding: IntPair,
    dilation: IntPair,
    groups: int,
    need_input: bool = True,
    need_weight: bool = True,
    need_bias: bool = True,
) -> Grads:
    """Gradients of conv_transpose2d: ``grad_out (N, O, OH, OW)`` -> ``(grad_x, grad_w, grad_b)``.

    grad_x is conv2d(grad_out, w) and grad_w the conv2d weight gradient with
    input grad_out and "grad_output" x; both read the same columns of grad_out.
    Only the (H, W) windows that x fed exist (output_padding rows fed none).
    """
    N, C_in, H, W = x.shape
    pad = ((padding[0], padding[0]), (padding[1], padding[1]))
    cols = im2col(pad_input(grad_out, pad), w.shape[2:], (H, W), stride, dilation)
    grad_x = grad_w = grad_b = None
    if need_input:
        grad_x = _gemm(w, cols, groups).reshape(x.shape).astype(x.dtype, copy=False)
    if need_weight:
        grad_w = _weight_grad(x.reshape(N, C_in, H * W), cols, w.shape, groups)
        grad_w = grad_w.astype(w.dtype, copy=False)
    if need_bias:
        grad_b = grad_out.sum(axis=(0, 2, 3))
    return grad_x, grad_w, grad_b
