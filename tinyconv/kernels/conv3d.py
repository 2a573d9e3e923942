"""3-D convolution and transposed convolution, built on the 2-D kernels: pure NumPy, no graph.

Read ``conv.py`` first: this file adds one idea to it. Arguments arrive validated and
normalised by ``tinyconv.nn.functional``:

- ``x`` is ``(N, C, D, H, W)`` (always batched);
- conv3d ``w`` is ``(O, C // groups, kd, kh, kw)``; conv_transpose3d ``w`` is
  ``(C_in, O // groups, kd, kh, kw)`` (PyTorch's layouts); ``b`` is ``(O,)`` or None;
- ``stride`` and ``dilation`` are int triples ``(sd, sh, sw)``;
- conv3d ``padding`` is ``((front, back), (top, bottom), (left, right))``; conv_transpose3d
  ``padding`` is ``(pd, ph, pw)`` and ``output_padding`` ``(opd, oph, opw)``.

The idea: a 3-D convolution is a 2-D one with more channels
---------------------------------------------------------------
For one group, with ``x_pad`` the zero-padded input::

    y[n,o,t,i,j] = b[o] + sum_{r,c,p,q} x_pad[n,c, t*sd + r*dd, i*sh + p*dh, j*sw + q*dw]
                                        * w[o,c,r,p,q]

Fix the output depth t. The sum over the depth tap r and the channel c runs over the
kd*C depth slices ``x_pad[n, c, t*sd + r*dd]``, each an (H, W) image; call the stack of
them, indexed by the pair (r, c), the image ``X2[(n, t), (r, c)]``. Then::

    y[n,o,t,i,j] = b[o] + sum_{(r,c),p,q} X2[(n,t), (r,c), i*sh + p*dh, j*sw + q*dw]
                                          * W2[o, (r,c), p, q]

with ``W2[o, (r, c), p, q] = w[o, c, r, p, q]``: exactly conv2d (conv.py's first formula)
of a batch of N*OD images with kd*C channels. So conv3d is

    unfold_depth (the depth part of im2col: kd slices per output depth, one copy)
    -> conv2d (the selected 2-D algorithm, its fast paths included)
    -> the (N*OD, O, OH, OW) result read as (N, O, OD, OH, OW).

With groups, the channel pairs are ordered (group, r, c) so that conv2d's groups see
their own kd*C/G channels: one conv2d with the same groups.

Cost: X2 holds every input slice once per depth tap that reads it, about kd/sd times
the input (the 2-D kernel then builds its kh*kw columns from it in chunks, as for any
conv2d). Measured, (2, 4, 8, 16, 16) -> 8 channels, 3x3x3, padding 1, float32,
forward + backward at 1 thread: 1.02 ms, PyTorch 1.29 ms in the same process.

Backward follows without new maths. conv2d's backward gives dL/dX2 and dL/dW2; W2 is w
reordered, so dL/dw is dL/dW2 ordered back; X2 copied each input slice once per
(t, r) that read it, so dL/dx adds the slices' gradients back onto the depth they came
from (``fold_depth``: the adjoint of ``unfold_depth``, kd strided slice-adds, the depth
part of col2im) and crops the depth padding.

The transposed convolution is conv3d's input gradient run forwards, so it is the same
three steps backwards: conv_transpose2d of the (N*D, C_in, H, W) slices with W2 gives
the gradient of every X2 image, and fold_depth sums them onto the output's depth;
its backward is unfold_depth of grad_out and conv_transpose2d's backward.

The loop references below are the definitions, written independently of all this;
the tests hold the 2-D route to them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .conv import IntPair

IntTriple = tuple[int, int, int]
Padding3 = tuple[IntPair, IntPair, IntPair]
Grads = tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]


def conv3d_output_size(
    shape: IntTriple,
    kernel_size: IntTriple,
    stride: IntTriple,
    padding: Padding3,
    dilation: IntTriple,
) -> IntTriple:
    """``(OD, OH, OW)`` of a conv3d of input sizes ``shape = (D, H, W)``:
    ``floor((L + p0 + p1 - d*(k-1) - 1) / s) + 1`` per axis."""
    return tuple(
        (n + p[0] + p[1] - d * (k - 1) - 1) // s + 1
        for n, k, s, p, d in zip(shape, kernel_size, stride, padding, dilation, strict=True)
    )


def conv_transpose3d_output_size(
    shape: IntTriple,
    kernel_size: IntTriple,
    stride: IntTriple,
    padding: IntTriple,
    output_padding: IntTriple,
    dilation: IntTriple,
) -> IntTriple:
    """``(OD, OH, OW)`` of a conv_transpose3d: ``(L-1)*s - 2p + d*(k-1) + output_padding + 1``."""
    return tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, k, s, p, op, d in zip(
            shape, kernel_size, stride, padding, output_padding, dilation, strict=True
        )
    )


# --------------------------------------------------------------------------
# Loop references: the definitions (the tests compare everything with these)
# --------------------------------------------------------------------------


def _window3(a: np.ndarray, t: int, i: int, j: int, k: IntTriple, s: IntTriple, d: IntTriple):
    """The taps window (t, i, j) reads from ``a (..., D, H, W)``: ``(..., kd, kh, kw)``, a view."""
    return a[
        ...,
        t * s[0] : t * s[0] + d[0] * (k[0] - 1) + 1 : d[0],
        i * s[1] : i * s[1] + d[1] * (k[1] - 1) + 1 : d[1],
        j * s[2] : j * s[2] + d[2] * (k[2] - 1) + 1 : d[2],
    ]


def _pad3(x: np.ndarray, padding: Padding3) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), *padding))


def conv3d_reference(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntTriple,
    padding: Padding3,
    dilation: IntTriple,
    groups: int,
) -> np.ndarray:
    """Loop reference: ``x (N, C, D, H, W)``, ``w (O, C//groups, kd, kh, kw)`` ->
    ``(N, O, OD, OH, OW)``; ``y[n, o, t, i, j] = b[o] + sum(window(t, i, j) * w[o])``."""
    N = x.shape[0]
    O, C_g = w.shape[:2]
    k = w.shape[2:]
    out = conv3d_output_size(x.shape[2:], k, stride, padding, dilation)
    O_g = O // groups
    x_pad = _pad3(x, padding)
    y = np.zeros((N, O, *out), dtype=np.result_type(x, w))
    for n in range(N):
        for o in range(O):
            c0 = (o // O_g) * C_g  # the first input channel o sees
            for t, i, j in np.ndindex(*out):
                window = _window3(x_pad[n, c0 : c0 + C_g], t, i, j, k, stride, dilation)
                y[n, o, t, i, j] = (window * w[o]).sum()
            if b is not None:
                y[n, o] += b[o]
    return y


def conv3d_backward_reference(
    grad_out: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride: IntTriple,
    padding: Padding3,
    dilation: IntTriple,
    groups: int,
) -> Grads:
    """Loop reference of conv3d's gradients ``(grad_x, grad_w, grad_b)``: every window
    (n, o, t, i, j) with ``g = grad_out[n, o, t, i, j]`` gives ``grad_b[o] += g``,
    ``grad_w[o] += g * window`` and ``grad_x_pad[window] += g * w[o]``."""
    N = x.shape[0]
    O, C_g = w.shape[:2]
    k = w.shape[2:]
    O_g = O // groups
    x_pad = _pad3(x, padding)
    grad_x_pad = np.zeros(x_pad.shape, dtype=np.result_type(grad_out, w))
    grad_w = np.zeros(w.shape, dtype=np.result_type(grad_out, x))
    grad_b = np.zeros(O, dtype=grad_out.dtype)
    for n in range(N):
        for o in range(O):
            c0 = (o // O_g) * C_g
            for t, i, j in np.ndindex(*grad_out.shape[2:]):
                g = grad_out[n, o, t, i, j]
                grad_b[o] += g
                grad_w[o] += g * _window3(x_pad[n, c0 : c0 + C_g], t, i, j, k, stride, dilation)
                _window3(grad_x_pad[n, c0 : c0 + C_g], t, i, j, k, stride, dilation)[...] += (
                    g * w[o]
                )
    D, H, W = x.shape[2:]
    (pf, _), (pt, _), (pl, _) = padding
    grad_x = grad_x_pad[:, :, pf : pf + D, pt : pt + H, pl : pl + W]  # crop the constant padding
    return grad_x.astype(x.dtype), grad_w.astype(w.dtype), grad_b


def conv_transpose3d_reference(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntTriple,
    padding: IntTriple,
    output_padding: IntTriple,
    dilation: IntTriple,
    groups: int,
) -> np.ndarray:
    """Loop reference: ``x (N, C_in, D, H, W)``, ``w (C_in, O//groups, kd, kh, kw)`` ->
    ``(N, O, OD, OH, OW)``. Every input voxel adds ``value * w[c]`` onto a window of the
    padded output; the padding is then cropped off."""
    N, C = x.shape[:2]
    O_g = w.shape[1]
    k = w.shape[2:]
    out = conv_transpose3d_output_size(x.shape[2:], k, stride, padding, output_padding, dilation)
    C_g = C // groups
    y_pad = np.zeros(
        (N, O_g * groups, *(o + 2 * p for o, p in zip(out, padding, strict=True))),
        dtype=np.result_type(x, w),
    )
    for n in range(N):
        for c in range(C):
            o0 = (c // C_g) * O_g  # the first output channel c feeds
            for t, i, j in np.ndindex(*x.shape[2:]):
                window = _window3(y_pad[n, o0 : o0 + O_g], t, i, j, k, stride, dilation)
                window += x[n, c, t, i, j] * w[c]  # a view: this adds into y_pad
    (pd, ph, pw), (OD, OH, OW) = padding, out
    y = y_pad[:, :, pd : pd + OD, ph : ph + OH, pw : pw + OW]
    if b is not None:
        y = y + b.reshape(-1, 1, 1, 1)
    return np.ascontiguousarray(y)


def conv_transpose3d_backward_reference(
    grad_out: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride: IntTriple,
    padding: IntTriple,
    output_padding: IntTriple,
    dilation: IntTriple,
    groups: int,
) -> Grads:
    """Loop reference of conv_transpose3d's gradients: with ``window`` the window of the
    padded grad_out that x[n, c, t, i, j] fed, ``grad_x[n, c, t, i, j] = sum(window * w[c])``
    and ``grad_w[c] += x[n, c, t, i, j] * window``."""
    N, C = x.shape[:2]
    O_g = w.shape[1]
    k = w.shape[2:]
    C_g = C // groups
    g_pad = _pad3(grad_out, tuple((p, p) for p in padding))  # cropped voxels got no gradient
    grad_x = np.zeros(x.shape, dtype=np.result_type(grad_out, w))
    grad_w = np.zeros(w.shape, dtype=np.result_type(grad_out, x))
    for n in range(N):
        for c in range(C):
            o0 = (c // C_g) * O_g
            for t, i, j in np.ndindex(*x.shape[2:]):
                window = _window3(g_pad[n, o0 : o0 + O_g], t, i, j, k, stride, dilation)
                grad_x[n, c, t, i, j] = (window * w[c]).sum()
                grad_w[c] += x[n, c, t, i, j] * window
    grad_b = grad_out.sum(axis=(0, 2, 3, 4))
    return grad_x.astype(x.dtype), grad_w.astype(w.dtype), grad_b


# --------------------------------------------------------------------------
# The depth part of im2col / col2im, and the reorderings
# --------------------------------------------------------------------------


def unfold_depth(
    x: np.ndarray, kd: int, out_d: int, sd: int, dd: int, pad_d: IntPair, groups: int
) -> np.ndarray:
    """``x (N, C, D, H, W)`` -> the images ``X2 (N*out_d, G*kd*C/G, H, W)``:
    ``X2[(n, t), (g, r, c)] = x_pad[n, (g, c), t*sd + r*dd]``, x_pad padded in depth only."""
    N, C, _, H, W = x.shape
    G = groups
    if pad_d != (0, 0):
        x = np.pad(x, ((0, 0), (0, 0), pad_d, (0, 0), (0, 0)))
    xg = x.reshape(N, G, C // G, x.shape[2], H, W)
    X2 = np.empty((N, out_d, G, kd, C // G, H, W), dtype=x.dtype)
    for r in range(kd):
        # depth tap r of every output depth t: slices r*dd, r*dd + sd, ...: one strided slice
        taps = xg[:, :, :, r * dd : r * dd + sd * (out_d - 1) + 1 : sd]
        X2[:, :, :, r] = taps.transpose(0, 3, 1, 2, 4, 5)
    return X2.reshape(N * out_d, G * kd * (C // G), H, W)


def fold_depth(
    X2: np.ndarray, x_shape: tuple[int, ...], kd: int, sd: int, dd: int, pad_d: IntPair, groups: int
) -> np.ndarray:
    """Adjoint of ``unfold_depth``: add ``X2 (N*out_d, G*kd*C/G, H, W)`` back onto the depth
    slices they were copied from, ``(N, C, D, H, W)`` (the depth padding's share cropped)."""
    N, C, D, H, W = x_shape
    G = groups
    out_d = X2.shape[0] // N if N else 0
    X2 = X2.reshape(N, out_d, G, kd, C // G, H, W)
    (p0, p1) = pad_d
    x_pad = np.zeros((N, G, C // G, D + p0 + p1, H, W), dtype=X2.dtype)
    for r in range(kd):
        x_pad[:, :, :, r * dd : r * dd + sd * (out_d - 1) + 1 : sd] += X2[:, :, :, r].transpose(
            0, 2, 3, 1, 4, 5
        )
    return np.ascontiguousarray(x_pad[:, :, :, p0 : p0 + D].reshape(N, C, D, H, W))


def weight_2d(w: np.ndarray) -> np.ndarray:
    """``(A, B, kd, kh, kw)`` -> ``(A, kd*B, kh, kw)``: ``W2[a, (r, b)] = w[a, b, r]``."""
    A, B, kd, kh, kw = w.shape
    return w.transpose(0, 2, 1, 3, 4).reshape(A, kd * B, kh, kw)


def weight_3d(w2: np.ndarray, kd: int) -> np.ndarray:
    """Inverse of ``weight_2d``: ``(A, kd*B, kh, kw)`` -> ``(A, B, kd, kh, kw)``."""
    A, _, kh, kw = w2.shape
    return np.ascontiguousarray(w2.reshape(A, kd, -1, kh, kw).transpose(0, 2, 1, 3, 4))


def _depth_to_batch(a: np.ndarray) -> np.ndarray:
    """``(N, C, D, H, W)`` -> ``(N*D, C, H, W)``: every depth slice an image."""
    N, C, D, H, W = a.shape
    return a.transpose(0, 2, 1, 3, 4).reshape(N * D, C, H, W)


def _batch_to_depth(a: np.ndarray, N: int, D: int) -> np.ndarray:
    """``(N*D, C, H, W)`` -> ``(N, C, D, H, W)``, C-ordered."""
    _, C, H, W = a.shape
    return np.ascontiguousarray(a.reshape(N, D, C, H, W).transpose(0, 2, 1, 3, 4))


# --------------------------------------------------------------------------
# conv3d and conv_transpose3d through a 2-D algorithm's kernels
# --------------------------------------------------------------------------


def conv3d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntTriple,
    padding: Padding3,
    dilation: IntTriple,
    groups: int,
    conv2d_forward: Callable[..., tuple],
) -> tuple[np.ndarray, object]:
    """conv3d as one conv2d (``conv2d_forward``: a 2-D algorithm's, with conv_fast's
    signature): ``(y (N, O, OD, OH, OW), saved)``; pass ``saved`` on to ``conv3d_backward``."""
    kd = w.shape[2]
    OD = conv3d_output_size(x.shape[2:], w.shape[2:], stride, padding, dilation)[0]
    X2 = unfold_depth(x, kd, OD, stride[0], dilation[0], padding[0], groups)
    y2, cols = conv2d_forward(X2, weight_2d(w), b, stride[1:], padding[1:], dilation[1:], groups)
    return _batch_to_depth(y2, x.shape[0], OD), cols


def conv3d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    saved: object,
    stride: IntTriple,
    padding: Padding3,
    dilation: IntTriple,
    groups: int,
    conv2d_backward: Callable[..., tuple],
    need_input: bool = True,
    need_weight: bool = True,
    need_bias: bool = True,
) -> Grads:
    """Gradients of conv3d ``(grad_x, grad_w, grad_b)`` (None where not needed): conv2d's
    backward on the unfolded images, then fold_depth and the weight reordered back."""
    kd, OD = w.shape[2], grad_out.shape[2]
    X2 = unfold_depth(x, kd, OD, stride[0], dilation[0], padding[0], groups)
    gx2, gw2, grad_b = conv2d_backward(
        _depth_to_batch(grad_out),
        X2,
        weight_2d(w),
        saved,
        stride[1:],
        padding[1:],
        dilation[1:],
        groups,
        need_input=need_input,
        need_weight=need_weight,
        need_bias=need_bias,
    )
    grad_x = grad_w = None
    if need_input:
        grad_x = fold_depth(gx2, x.shape, kd, stride[0], dilation[0], padding[0], groups)
    if need_weight:
        grad_w = weight_3d(gw2, kd)
    return grad_x, grad_w, grad_b


def conv_transpose3d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntTriple,
    padding: IntTriple,
    output_padding: IntTriple,
    dilation: IntTriple,
    groups: int,
    conv_transpose2d_forward: Callable[..., np.ndarray],
) -> np.ndarray:
    """``x (N, C_in, D, H, W)``, ``w (C_in, O//groups, kd, kh, kw)`` -> ``(N, O, OD, OH, OW)``:
    conv_transpose2d of the depth slices gives every unfolded image's share, fold_depth
    adds them up (the input gradient of the conv3d whose output x is)."""
    N = x.shape[0]
    kd = w.shape[2]
    O = w.shape[1] * groups
    out = conv_transpose3d_output_size(
        x.shape[2:], w.shape[2:], stride, padding, output_padding, dilation
    )
    y2 = conv_transpose2d_forward(
        _depth_to_batch(x),
        weight_2d(w),
        None,  # the 2-D op's channels are (group, r, o): the bias goes on after the fold
        stride[1:],
        padding[1:],
        output_padding[1:],
        dilation[1:],
        groups,
    )
    y = fold_depth(y2, (N, O, *out), kd, stride[0], dilation[0], (padding[0],) * 2, groups)
    if b is not None:
        y += b.reshape(O, 1, 1, 1)
    return y


def conv_transpose3d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride: IntTriple,
    padding: IntTriple,
    output_padding: IntTriple,
    dilation: IntTriple,
    groups: int,
    conv_transpose2d_backward: Callable[..., tuple],
    need_input: bool = True,
    need_weight: bool = True,
    need_bias: bool = True,
) -> Grads:
    """Gradients of conv_transpose3d ``(grad_x, grad_w, grad_b)``: unfold_depth of grad_out
    (only the x.shape[2] output depths x fed; output_padding slices fed none), then
    conv_transpose2d's backward."""
    kd, D = w.shape[2], x.shape[2]
    g2 = unfold_depth(grad_out, kd, D, stride[0], dilation[0], (padding[0],) * 2, groups)
    gx2, gw2, grad_b = conv_transpose2d_backward(
        g2,
        _depth_to_batch(x),
        weight_2d(w),
        stride[1:],
        padding[1:],
        output_padding[1:],
        dilation[1:],
        groups,
        need_input=need_input,
        need_weight=need_weight,
        need_bias=False,
    )
    if need_bias:
        grad_b = grad_out.sum(axis=(0, 2, 3, 4))
    grad_x = _batch_to_depth(gx2, x.shape[0], D) if need_input else None
    grad_w = weight_3d(gw2, kd) if need_weight else None
    return grad_x, grad_w, grad_b
