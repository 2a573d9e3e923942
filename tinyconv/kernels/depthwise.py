"""Depthwise convolution without im2col's per-group GEMMs (part of the fast algorithm).

A depthwise convolution (groups == in_channels, e.g. MobileNet's 3x3 layers)
has one input channel per group. The general fast path then runs one GEMM
per group whose inner dimension is kh*kw (9 for 3x3), and its input gradient
is an outer product (inner dimension 1) followed by col2im: for the
(16, 64, 32, 32) 3x3 case, 30 ms of a 44 ms forward+backward went into that
one outer product. The sum itself is short:

    y[n, c*m + j, i, k] = sum_{p, q} x_pad[n, c, i*sh + p*dh, k*sw + q*dw] * w[c*m + j, 0, p, q]

(m = out_channels / in_channels, the channel multiplier), so this module
computes it per channel, for a few images at a time:

- Per-channel columns. ``cols[n, c, t, l]`` holds, for kernel offset
  t = (p, q), the window of image n, channel c that offset reads (so only
  kh*kw rows per channel, no mixing of channels). Built a few images at a
  time so they stay in cache (one 3x3 image of 64 32x32 channels: 2.5 MB);
  building all 16 images' at once was 1.6x slower (measured).
- One batched matmul ``taps (C, m, T) @ cols (n, C, T, L)`` then does every
  channel's weighted sum: NumPy's float32 multiply with a per-channel
  broadcast factor ran at a third of the speed of a copy here, so copying
  the windows and letting BLAS multiply-add them beat kh*kw multiply-adds
  by about 2x.
- Flat rows (stride 1). The padded image gets a spare zero row; then offset
  (p, q)'s window is one contiguous run of the flattened image, OH*Wp long
  (Wp the padded width) instead of OH runs of OW. The output is computed on
  that Wp-wide grid and the Wp - OW junk columns of each row are dropped.

Backward:

- grad_x, stride 1: the "full" correlation of grad_out with the flipped
  kernel (conv.py's derivation), i.e. this same forward run on the zero-
  padded grad_out, with the sum over the multiplier j folded into the
  matmul (T = m*kh*kw rows per channel). Computed as gathers into each
  pixel, so a non-finite value reaches only the pixels whose windows hold it.
  Strided: col2im's slice-adds, one channel per group, one multiply-add per
  offset.
- grad_w[c*m + j, 0, t] = sum over n, l of grad_out[n, c, j, l] * cols[n, c, t, l]:
  one batched matmul per chunk of images, on exact (not flat-row) columns so
  that no junk column is ever multiplied.
"""

from __future__ import annotations

import numpy as np

from .conv import IntPair, Padding2


def _chunks(N: int, bytes_per_image: int, chunk_bytes: int) -> list[slice]:
    """Split the batch so each chunk's columns take about ``chunk_bytes``."""
    step = max(1, chunk_bytes // max(1, bytes_per_image))
    return [slice(i, min(i + step, N)) for i in range(0, N, step)]


def _empty(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """The default ``scratch``: a fresh array (conv_fast passes its reused buffers instead)."""
    return np.empty(shape, dtype)


def _padded(x, pad_hw: Padding2, extra_rows: int, dtype, scratch=_empty, name="dw_pad"):
    """``x (..., H, W)`` zero-padded, with ``extra_rows`` more zero rows at the bottom."""
    *lead, H, W = x.shape
    (pt, pb), (pl, pr) = pad_hw
    xp = scratch(name, (*lead, H + pt + pb + extra_rows, W + pl + pr), dtype)
    xp.fill(0)
    xp[..., pt : pt + H, pl : pl + W] = x
    return xp


def _columns(xp, kernel, out_size, stride, dilation, flat: bool, scratch=_empty) -> np.ndarray:
    """Per-channel columns of ``xp (n, C, M, Hp, Wp)``: ``(n, C, M*kh*kw, L)``.

    ``cols[b, c, (j, p, q), l]`` is ``xp[b, c, j, i*sh + p*dh, k*sw + q*dw]`` for output
    ``l = (i, k)``; with ``flat`` (stride 1 only) ``l`` runs over the Wp-wide grid
    (L = OH*Wp, junk columns k >= OW), else over the outputs (L = OH*OW).
    """
    n, C, M, Hp, Wp = xp.shape
    (kh, kw), (OH, OW), (sh, sw), (dh, dw) = kernel, out_size, stride, dilation
    L = OH * (Wp if flat else OW)
    cols = scratch("dw_cols", (n, C, M, kh * kw, L), xp.dtype)
    flat_xp = xp.reshape(n, C, M, Hp * Wp) if flat else None
    for p in range(kh):
        for q in range(kw):
            t = p * kw + q
            if flat:
                start = p * dh * Wp + q * dw
                cols[:, :, :, t] = flat_xp[..., start : start + L]
            else:
                cols[:, :, :, t].reshape(n, C, M, OH, OW)[...] = xp[
                    ...,
                    p * dh : p * dh + sh * (OH - 1) + 1 : sh,
                    q * dw : q * dw + sw * (OW - 1) + 1 : sw,
                ]
    return cols.reshape(n, C, M * kh * kw, L)


def _correlate(xp, taps, kernel, out_size, stride, dilation, out, chunk_bytes, scratch) -> None:
    """``out (N, C, m, OH, OW) = taps (C, m, M*kh*kw) @ columns of xp (N, C, M, Hp, Wp)``.

    For stride 1, ``xp`` must hold the spare zero row of the flat runs.
    """
    N, C, M, Hp, Wp = xp.shape
    OH, OW = out_size
    flat = stride == (1, 1)
    grid_w = Wp if flat else OW
    bytes_per_image = C * M * kernel[0] * kernel[1] * OH * grid_w * xp.itemsize
    for batch in _chunks(N, bytes_per_image, chunk_bytes):
        cols = _columns(xp[batch], kernel, out_size, stride, dilation, flat, scratch)
        res = np.matmul(
            taps,
            cols,
            out=scratch("dw_res", (*cols.shape[:2], len(taps[0]), cols.shape[3]), out.dtype),
        )
        # (n, C, m, L): every channel's weighted sum of windows
        out[batch] = res.reshape(*res.shape[:3], OH, grid_w)[..., :OW]


def depthwise_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntPair,
    padding: Padding2,
    dilation: IntPair,
    out_size: IntPair,
    chunk_bytes: int,
    scratch=_empty,
) -> np.ndarray:
    """Depthwise conv2d (groups C): ``x (N, C, H, W)``, ``w (C*m, 1, kh, kw)`` -> ``y``.

    ``y`` is ``(N, C*m, OH, OW)``. ``scratch(name, shape, dtype)`` gives the temporaries
    (conv_fast's reused buffers); columns are built about ``chunk_bytes`` at a time.
    """
    N, C, H, W = x.shape
    C_out, _, kh, kw = w.shape
    m = C_out // C
    OH, OW = out_size
    dtype = np.result_type(x, w)
    taps = np.ascontiguousarray(w.reshape(C, m, kh * kw), dtype=dtype)
    xp = _padded(
        x[:, :, None], padding, int(stride == (1, 1)), dtype, scratch
    )  # (N, C, 1, Hp[+1], Wp)
    y = np.empty((N, C, m, OH, OW), dtype=dtype)
    _correlate(xp, taps, (kh, kw), out_size, stride, dilation, y, chunk_bytes, scratch)
    y = y.reshape(N, C_out, OH, OW)
    if b is not None:
        y += b.reshape(C_out, 1, 1)
    return y


def depthwise_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride: IntPair,
    padding: Padding2,
    dilation: IntPair,
    need_input: bool,
    need_weight: bool,
    chunk_bytes: int,
    scratch=_empty,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(grad_x, grad_w)`` of ``depthwise_forward`` from ``grad_out (N, C*m, OH, OW)``."""
    N, C, H, W = x.shape
    C_out, _, kh, kw = w.shape
    m = C_out // C
    OH, OW = grad_out.shape[2:]
    (pt, pb), (pl, pr) = padding
    dh, dw = dilation
    g = grad_out.reshape(N, C, m, OH, OW)
    grad_x = grad_w = None
    if need_input:
        dtype = np.result_type(grad_out, w)
        taps = w.reshape(C, m, kh, kw).astype(dtype, copy=False)
        if stride == (1, 1):
            # gx[u, v] = sum_{j,p,q} g[j, u + pt - p*dh, v + pl - q*dw] * w[j, p, q], g zero
            # outside its grid: a stride-1 correlation of gp (g shifted by eh - pt rows and
            # ew - pl columns, clipped: rows outside gp feed no pixel) with the flipped taps.
            eh, ew = (kh - 1) * dh, (kw - 1) * dw
            gp = scratch("dw_pad", (N, C, m, H + eh + 1, W + ew), dtype)  # + the spare row
            gp.fill(0)
            r0, c0 = eh - pt, ew - pl  # where g[0, 0] lands in gp
            i0, k0 = max(0, -r0), max(0, -c0)
            i1, k1 = min(OH, H + eh - r0), min(OW, W + ew - c0)
            if i1 > i0 and k1 > k0:
                gp[..., r0 + i0 : r0 + i1, c0 + k0 : c0 + k1] = g[..., i0:i1, k0:k1]
            # (a contiguous copy: a reversed view has negative strides, which BLAS cannot take,
            # and np.matmul would fall back to its own loops, 10x slower)
            flipped = np.ascontiguousarray(taps[:, :, ::-1, ::-1]).reshape(C, 1, m * kh * kw)
            gx = np.empty((N, C, 1, H, W), dtype=dtype)
            _correlate(gp, flipped, (kh, kw), (H, W), (1, 1), dilation, gx, chunk_bytes, scratch)
            grad_x = gx.reshape(N, C, H, W)
        else:
            # col2im with one channel per group: each offset's window receives g times its tap
            gxp = np.zeros((N, C, H + pt + pb, W + pl + pr), dtype=dtype)
            sh, sw = stride
            for p in range(kh):
                for q in range(kw):
                    window = gxp[
                        ...,
                        p * dh : p * dh + sh * (OH - 1) + 1 : sh,
                        q * dw : q * dw + sw * (OW - 1) + 1 : sw,
                    ]
                    for j in range(m):
                        window += g[:, :, j] * taps[:, j, p, q, None, None]
            grad_x = gxp[:, :, pt : pt + H, pl : pl + W]
        grad_x = np.ascontiguousarray(grad_x, dtype=x.dtype)
    if need_weight:
        dtype = np.result_type(x, grad_out)
        xp = _padded(x[:, :, None], padding, 0, dtype, scratch)
        g_rows = np.ascontiguousarray(g, dtype=dtype).reshape(N, C, m, OH * OW)
        gw = np.zeros((C, m, kh * kw), dtype=dtype)
        for batch in _chunks(N, C * kh * kw * OH * OW * xp.itemsize, chunk_bytes):
            cols = _columns(xp[batch], (kh, kw), (OH, OW), stride, dilation, False, scratch)
            # per channel: grad_out rows (m, L) @ window rows (L, T), summed over the images
            gw += np.matmul(g_rows[batch], cols.transpose(0, 1, 3, 2)).sum(axis=0)
        grad_w = gw.reshape(w.shape).astype(w.dtype, copy=False)
    return grad_x, grad_w
