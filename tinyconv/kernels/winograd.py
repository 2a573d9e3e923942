"""Winograd convolution for 3x3 kernels, stride 1 (part of the fast algorithm).

The third way to compute conv.py's sum, after the loops and im2col; the
derivation, and why it needs fewer multiplications, is docs/winograd.md.
In short, for F(m x m, 3 x 3): cut the output into m x m tiles; the tile at
(ti, tj) reads an a x a patch d of the padded input (a = m + 2), and

    Y_tile = A^T [ sum over c of (G w[o, c] G^T) * (B^T d[c] B) ] A      (* elementwise)

The transforms B^T d B and G w G^T are fixed linear maps, and the sum over
channels of the elementwise products is a*a independent matrix products
(O x C) @ (C x tiles): a^2 multiplications per m^2 outputs and channel pair
instead of 9 per output, 2.25x fewer for F(2x2, 3x3), 4x for F(4x4, 3x3).

Layout, per chunk of n images (P = n * tiles per image):

- d: the overlapping a x a patches, an as_strided view of the padded input,
  copied once into (a*a, C*P) order;
- V = kron(B^T, B^T) @ d: the input transform as one matrix product with an
  (a^2 x a^2) matrix: BLAS does the additions, instead of ~2a NumPy passes
  over strided tiles (and one call, not one per channel: measured 3x faster
  at 2 BLAS threads on a loaded machine, where every call pays a hand-off);
- M[k] = U[k] @ V[k] for the a^2 points k: one batched matmul
  (a^2, O, C) @ (a^2, C, P);
- Y = kron(A^T, A^T) @ M: the output transform, (m^2, O*P), then one copy
  interleaves the tiles into (n, O, OH, OW).

Backward. The input gradient of a 3x3 stride-1 convolution is itself one
(conv.py's derivation: the full correlation of grad_out with the flipped
kernel, in and out channels swapped), so it runs ``conv3x3`` too. The
weight gradient is the adjoint of the forward's dependence on U: the same
V, the gradient tiles taken back through the output transform
(dM = kron(A, A) @ dY), dU[k] = dM[k] @ V[k]^T, and dw = G^T dU G.

Only floating dtypes come here: the transforms hold fractions such as 1/2
and 2/3, so an integer convolution would not be exact.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .conv import Padding2

# Interpolation points of F(m, 3) (plus the point at infinity). F(2, 3) with
# 0, 1, -1 rounds in float32 like im2col (measured: relative RMS error 2.7e-7
# against float64, im2col 3.1e-7, for a 64->64 channel 56x56 layer). For
# F(4, 3) the usual 0, +-1, +-2 give 1.8e-6; 0, +-1, 2, -1/2 give 1.2e-6.
POINTS = {2: (0.0, 1.0, -1.0), 4: (0.0, 1.0, -1.0, 2.0, -0.5)}


@functools.lru_cache(maxsize=8)
def transforms(points: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(B^T, G, A^T)`` of F(m, 3) for ``points`` (m + 1 of them), float64.

    F(m, 3) computes m outputs of a 1-D 3-tap correlation, ``y[i] = sum_k d[i + k] g[k]``,
    as ``A^T [(G g) * (B^T d)]``. docs/winograd.md derives it: A^T evaluates the output
    polynomial's coefficients at the points (a Vandermonde matrix, the last column for
    the point at infinity), G evaluates the kernel polynomial at them divided by the
    Lagrange denominators, and B^T is then the one matrix that makes the identity hold
    for every d and g: linear equations in its entries, solved here.
    """
    m, r = len(points) - 1, 3
    a = m + r - 1
    AT = np.zeros((m, a))
    G = np.zeros((a, r))
    for j, p in enumerate(points):
        AT[:, j] = [p**i for i in range(m)]
        denom = np.prod([p - q for q in points if q != p])
        G[j] = [p**k / denom for k in range(r)]
    AT[m - 1, a - 1] = G[a - 1, r - 1] = 1.0  # the point at infinity: leading coefficients
    # sum_j AT[i, j] G[j, k] BT[j, q] = [q == i + k] for every output i, tap k, input q
    eqs = np.einsum("ij,jk,jJ,qQ->ikqJQ", AT, G, np.eye(a), np.eye(a)).reshape(m * r * a, a * a)
    rhs = np.array([float(q == i + k) for i in range(m) for k in range(r) for q in range(a)])
    BT = np.linalg.solve(eqs.T @ eqs, eqs.T @ rhs).reshape(a, a)
    return BT, G, AT


@functools.lru_cache(maxsize=8)
def _kron(m: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(KB, KG, KA)``: the 2-D transforms of F(m x m, 3 x 3) on row-major flattened tiles.

    ``vec(B^T d B) = KB @ vec(d)``, ``vec(G w G^T) = KG @ vec(w)``, ``vec(A^T M A) = KA @ vec(M)``
    (``kron(P, P) @ vec(X) = vec(P X P^T)``).
    """
    BT, G, AT = transforms(POINTS[m])
    return tuple(np.kron(T, T).astype(dtype) for T in (BT, G, AT))


def weight_transform(w: np.ndarray, m: int) -> np.ndarray:
    """``U (a*a, O, C)``: ``G w[o, c] G^T`` for every (o, c) of ``w (O, C, 3, 3)``."""
    Co, C = w.shape[:2]
    _, KG, _ = _kron(m, w.dtype)
    return np.ascontiguousarray((KG @ w.reshape(Co * C, 9).T).reshape(-1, Co, C))


def _empty(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    return np.empty(shape, dtype)


def _tiling(in_size, padding: Padding2, m: int):
    """``(OH, OW, th, tw, Hx, Wx)``: output size, tiles per column/row, extended padded size."""
    (H, W), ((pt, pb), (pl, pr)) = in_size, padding
    OH, OW = H + pt + pb - 2, W + pl + pr - 2
    th, tw = -(-OH // m), -(-OW // m)  # the last tile may stick out past the output
    return OH, OW, th, tw, m * th + 2, m * tw + 2


# At least this many tiles per chunk: the a*a GEMMs (O x C) @ (C x tiles) of a chunk
# with fewer ran far below BLAS's rate (measured: F(4x4) on 14x14 images, 128 channels,
# 1 MB chunks of 48 tiles, was 1.4x slower than im2col).
_MIN_TILES = 512


def _chunk(N: int, C: int, a: int, tiles: int, itemsize: int, chunk_bytes: int) -> int:
    """Images per chunk: the transformed patches (a*a, C, tiles) of a chunk take ~chunk_bytes,
    and hold at least ``_MIN_TILES`` tiles."""
    return max(1, chunk_bytes // (C * a * a * tiles * itemsize), -(-_MIN_TILES // tiles))


def _input_tiles(xb, padding: Padding2, m: int, scratch) -> np.ndarray:
    """``V (a*a, C, P)``: ``B^T d B`` of every a x a patch of the padded images ``xb``."""
    n, C, H, W = xb.shape
    a = m + 2
    _, _, th, tw, Hx, Wx = _tiling((H, W), padding, m)
    (pt, _), (pl, _) = padding
    xp = scratch("wg_pad", (n, C, Hx, Wx), xb.dtype)
    xp.fill(0)  # the padding, and the zeros past the end that the last tiles read
    hh, ww = min(H, Hx - pt), min(W, Wx - pl)
    xp[:, :, pt : pt + hh, pl : pl + ww] = xb[:, :, :hh, :ww]
    s = xp.strides
    patches = as_strided(xp, (n, C, th, tw, a, a), (s[0], s[1], m * s[2], m * s[3], s[2], s[3]))
    d = scratch("wg_d", (a, a, C, n, th, tw), xb.dtype)
    d[...] = patches.transpose(4, 5, 1, 0, 2, 3)
    KB = _kron(m, xb.dtype)[0]
    P = n * th * tw
    # one GEMM (a*a, a*a) @ (a*a, C*P) for every patch of every channel
    V = np.matmul(KB, d.reshape(a * a, C * P), out=scratch("wg_v", (a * a, C * P), xb.dtype))
    return V.reshape(a * a, C, P)


def conv3x3(
    x: np.ndarray,
    w: np.ndarray,
    padding: Padding2,
    m: int,
    chunk_bytes: int,
    scratch=_empty,
) -> np.ndarray:
    """conv2d of ``x (N, C, H, W)`` with ``w (O, C, 3, 3)``, stride 1, no bias: ``(N, O, OH, OW)``.

    ``x`` and ``w`` share one floating dtype; F(m x m, 3 x 3), m in ``POINTS``.
    ``scratch(name, shape, dtype)`` gives the temporaries.
    """
    N, C, H, W = x.shape
    Co = w.shape[0]
    a = m + 2
    OH, OW, th, tw, _, _ = _tiling((H, W), padding, m)
    U = weight_transform(w, m)
    KA = _kron(m, x.dtype)[2]
    y = np.empty((N, Co, OH, OW), dtype=x.dtype)
    step = _chunk(N, C, a, th * tw, x.itemsize, chunk_bytes)
    for start in range(0, N, step):
        xb = x[start : start + step]
        n, P = len(xb), len(xb) * th * tw
        V = _input_tiles(xb, padding, m, scratch)
        # the a*a products (O, C) @ (C, P)
        M = np.matmul(U, V, out=scratch("wg_m", (a * a, Co, P), x.dtype))
        Y = np.matmul(KA, M.reshape(a * a, Co * P), out=scratch("wg_y", (m * m, Co * P), x.dtype))
        Y = Y.reshape(m, m, Co, n, th, tw).transpose(3, 2, 4, 0, 5, 1)  # (n, Co, th, m, tw, m)
        if OH == th * m and OW == tw * m:  # whole tiles: one copy interleaves them into y
            y[start : start + n].reshape(n, Co, th, m, tw, m)[...] = Y
        else:
            y[start : start + n] = Y.reshape(n, Co, th * m, tw * m)[:, :, :OH, :OW]
    return y


def weight_grad3x3(
    grad_out: np.ndarray,
    x: np.ndarray,
    padding: Padding2,
    m: int,
    chunk_bytes: int,
    scratch=_empty,
) -> np.ndarray:
    """``dL/dw (O, C, 3, 3)`` of ``conv3x3(x, w, padding)`` from ``grad_out (N, O, OH, OW)``.

    The forward is linear in ``U``: ``Y = KA @ (U @ V)`` per chunk, so
    ``dU = sum over chunks of (KA^T @ dY) @ V^T`` and ``dw = KG^T @ dU``.
    """
    N, C, H, W = x.shape
    Co = grad_out.shape[1]
    a = m + 2
    OH, OW, th, tw, _, _ = _tiling((H, W), padding, m)
    dtype = x.dtype
    _, KG, KA = _kron(m, dtype)
    dU = np.zeros((a * a, Co, C), dtype=dtype)
    step = _chunk(N, C, a, th * tw, x.itemsize, chunk_bytes)
    for start in range(0, N, step):
        xb, gb = x[start : start + step], grad_out[start : start + step]
        n, P = len(xb), len(xb) * th * tw
        V = _input_tiles(xb, padding, m, scratch)
        # dY (m, m, O, n, th, tw): the gradient tiles, zero where a tile sticks out
        dY = scratch("wg_y", (m, m, Co, n, th, tw), dtype)
        if OH == th * m and OW == tw * m:
            dY.transpose(3, 2, 4, 0, 5, 1)[...] = gb.reshape(n, Co, th, m, tw, m)
        else:
            dY.fill(0)
            full = dY.transpose(3, 2, 4, 0, 5, 1).reshape(n, Co, th * m, tw * m)
            full[:, :, :OH, :OW] = gb  # a copy (the reshape cannot be a view): write back
            dY.transpose(3, 2, 4, 0, 5, 1)[...] = full.reshape(n, Co, th, m, tw, m)
        dM = np.matmul(
            KA.T, dY.reshape(m * m, Co * P), out=scratch("wg_m", (a * a, Co * P), dtype)
        ).reshape(a * a, Co, P)
        dU += np.matmul(dM, V.transpose(0, 2, 1))  # (a*a, Co, P) @ (a*a, P, C)
    return (KG.T @ dU.reshape(a * a, Co * C)).T.reshape(Co, C, 3, 3)
