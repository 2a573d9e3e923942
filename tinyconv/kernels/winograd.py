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

Layout, per block of tiles (whole images when they are small, else a band of
tile rows of one image, about 1 MB of transformed patches):

- the block's padded pixels channels last, columns split by phase
  (n, rows, m, tw + 1, C), so that every strided slice below is a long
  contiguous run;
- V = B^T d B one axis at a time: a handful of whole-array NumPy additions
  over strided slices (F(2x2, 3x3)'s B^T and A^T hold only 0 and +-1),
  giving (a*a, P, C) for P tiles;
- M[k] = U[k] @ V[k]^T for the a^2 points k: one batched matmul
  (a^2, O, C) @ (a^2, C, P), where the multiplications are;
- Y = A^T M A the same way, then m*m strided copies put the tiles' pixels
  into (n, O, OH, OW).

Backward. The input gradient of a 3x3 stride-1 convolution is itself one
(conv.py's derivation: the full correlation of grad_out with the flipped
kernel, in and out channels swapped), so it runs ``conv3x3`` too. The
weight gradient is the adjoint of the forward's dependence on U: the same
V, the gradient tiles taken back through the output transform
(dM = A dY A^T), dU[k] = dM[k] @ V[k], and dw = G^T dU G, all in float64
(docs/winograd.md, accuracy: float32 left it up to 2.6x im2col's error).

Only floating dtypes come here: the transforms hold fractions such as 1/2
and 2/3, so an integer convolution would not be exact.
"""

from __future__ import annotations

import functools

import numpy as np

from .conv import Padding2

# Interpolation points of F(m, 3) (plus the point at infinity). F(2, 3) with 0, 1, -1
# rounds in float32 within 2x of im2col (docs/winograd.md has the table). For F(4, 3),
# 0, +-1, 2, -1/2 round 3-7x worse than im2col, the usual 0, +-1, +-2 5-8x.
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
def _rows(m: int) -> tuple[tuple, tuple, tuple]:
    """``(B^T, A^T, A)`` of F(m, 3) as rows of ``(coefficient, index)`` pairs, zeros left out.

    The separable passes below loop over these: a row of F(2, 3)'s transforms has two or
    three entries, all +-1, so it costs one or two NumPy additions.
    """
    BT, _, AT = transforms(POINTS[m])

    def rows(T):
        snapped = np.where(np.isclose(T, np.round(T), rtol=0, atol=1e-12), np.round(T), T)
        return tuple(tuple((float(c), k) for k, c in enumerate(r) if c != 0) for r in snapped)

    return rows(BT), rows(AT), rows(AT.T)


def _combine(out: np.ndarray, terms, scratch) -> np.ndarray:
    """``out = sum of c * t`` over the ``(c, t)`` pairs in ``terms``, without temporaries for
    c = +-1 (F(2x2)'s transforms have no other coefficients)."""
    terms = sorted(terms, key=lambda ct: ct[0] != 1)  # a +1 term first, if there is one
    (c0, t0), rest = terms[0], terms[1:]
    if c0 == 1 and rest and abs(rest[0][0]) == 1:  # the first two terms in one pass
        (c1, t1), rest = rest[0], rest[1:]
        (np.add if c1 == 1 else np.subtract)(t0, t1, out=out)
    elif c0 == 1:
        np.copyto(out, t0)
    else:
        np.multiply(t0, c0, out=out)
    for c, t in rest:
        if c == 1:
            np.add(out, t, out=out)
        elif c == -1:
            np.subtract(out, t, out=out)
        else:
            out += np.multiply(t, c, out=scratch("wg_tmp", t.shape, t.dtype))
    return out


@functools.lru_cache(maxsize=8)
def _kron_g(m: int) -> np.ndarray:
    """``KG = kron(G, G)``: ``vec(G w G^T) = KG @ vec(w)`` on row-major flattened 3x3 kernels
    (``kron(P, P) @ vec(X) = vec(P X P^T)``), float64."""
    G = transforms(POINTS[m])[1]
    return np.kron(G, G)


def weight_transform(w: np.ndarray, m: int) -> np.ndarray:
    """``U (a*a, O, C)``: ``G w[o, c] G^T`` for every (o, c) of ``w (O, C, 3, 3)``.

    Computed in float64 and rounded once: it is small (a*a*O*C numbers), and G's fractions
    would otherwise round twice."""
    Co, C = w.shape[:2]
    U = _kron_g(m) @ w.reshape(Co * C, 9).T.astype(np.float64)
    return np.ascontiguousarray(U.reshape(-1, Co, C), dtype=w.dtype)


def _empty(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    return np.empty(shape, dtype)


def _tiling(in_size, padding: Padding2, m: int) -> tuple[int, int, int, int]:
    """``(OH, OW, th, tw)``: output size and tiles per column/row."""
    (H, W), ((pt, pb), (pl, pr)) = in_size, padding
    OH, OW = H + pt + pb - 2, W + pl + pr - 2
    return OH, OW, -(-OH // m), -(-OW // m)  # the last tile may stick out past the output


# At least this many tiles per block: the a*a GEMMs (tiles x C) @ (C x O) of a block with
# fewer ran below BLAS's rate (measured, 64 channels, 1 thread: 64 GFLOP/s at 64 tiles,
# 78 at 256, 83 at 512 and 784).
_MIN_TILES = 256


def _blocks(N: int, th: int, tw: int, C: int, a: int, itemsize: int, chunk_bytes: int):
    """``(images, first tile row, end tile row)`` blocks whose transformed patches
    ``(a*a, tiles, C)`` take about ``chunk_bytes`` (but hold at least ``_MIN_TILES`` tiles):
    whole images when they fit, else bands of tile rows of one image."""
    tiles = max(_MIN_TILES, chunk_bytes // (a * a * C * itemsize))
    if tiles >= th * tw:
        n = tiles // (th * tw)
        return [(slice(i, i + n), 0, th) for i in range(0, N, n)]
    rows = max(1, tiles // tw)
    return [(slice(i, i + 1), t, min(th, t + rows)) for i in range(N) for t in range(0, th, rows)]


def _input_tiles(xb, padding: Padding2, m: int, t0: int, t1: int, scratch, dtype=None):
    """``V (a*a, P, C)``: ``B^T d B`` of every a x a patch d of the padded images ``xb`` in
    tile rows ``t0 <= ti < t1``; P = n * (t1 - t0) * tw tiles in (image, tile row, tile
    column) order. In ``dtype`` (default: xb's)."""
    dtype = xb.dtype if dtype is None else dtype
    n, C, H, W = xb.shape
    a = m + 2
    _, _, _, tw = _tiling((H, W), padding, m)
    th = t1 - t0
    (pt, _), (pl, _) = padding
    # The block's padded rows m*t0 .. m*t1 + 1, channels last and columns split by phase
    # (padded column m*k + s at [..., s, k, :]): (n, m*th + 2, m, tw + 1, C). Then every pass
    # below reads and writes contiguous runs of at least tw*C numbers: NumPy's strided loops
    # cost per run, and over NCHW's runs of one tile row they were 5-10x slower than
    # contiguous ones. Each (P, C) block of V comes out in place for the GEMM.
    xp = scratch("wg_pad", (n, m * th + 2, m, tw + 1, C), dtype)
    r0, r1 = max(0, m * t0 - pt), min(H, m * t1 + 2 - pt)  # the rows of x in the block
    u0, u1 = r0 + pt - m * t0, r1 + pt - m * t0
    xp[:, :u0] = xp[:, u1:] = 0
    for s in range(m):
        k0, k1 = max(0, -(-(pl - s) // m)), -(-(pl + W - s) // m)  # the columns of x
        xp[:, u0:u1, s, :k0] = xp[:, u0:u1, s, k1:] = 0
        w0 = m * k0 + s - pl
        xp[:, u0:u1, s, k0:k1] = xb[:, :, r0:r1, w0::m].transpose(0, 2, 3, 1)
    BT, _, _ = _rows(m)
    # B^T d B one axis at a time: down the columns, Z[i] = sum_p BT[i, p] times row p of
    # every tile (a strided slice of whole image rows), then along the rows
    Z = scratch("wg_z", (a, n, th, m, tw + 1, C), dtype)
    for i, row in enumerate(BT):
        _combine(Z[i], [(c, xp[:, p : p + m * th : m]) for c, p in row], scratch)
    V = scratch("wg_v", (a, a, n, th, tw, C), dtype)
    for j, row in enumerate(BT):  # column q of tile tj is column tj + q // m of phase q % m
        for i in range(a):
            terms = [(c, Z[i][:, :, q % m, q // m : q // m + tw]) for c, q in row]
            _combine(V[i, j], terms, scratch)
    return V.reshape(a * a, n * th * tw, C)


def _output_tiles(M: np.ndarray, y: np.ndarray, m: int, t0: int, t1: int, scratch) -> None:
    """Tile rows ``t0 <= ti < t1`` of ``y (n, O, OH, OW)``: ``A^T M A`` of every tile, from
    ``M (a*a, O, P)``, cut to size."""
    n, Co, _, OW = y.shape
    a, th, tw = m + 2, t1 - t0, -(-OW // m)
    M = M.reshape(a, a, Co, n, th, tw)
    _, AT, _ = _rows(m)
    R = scratch("wg_r", (a, m, Co, n, th, tw), M.dtype)
    for i in range(a):
        for s, row in enumerate(AT):
            _combine(R[i, s], [(c, M[i, j]) for c, j in row], scratch)
    Y = scratch("wg_y", (Co, n, th, tw), M.dtype)
    for r, row in enumerate(AT):  # output pixel (m*ti + r, m*tj + s) of every tile
        for s in range(m):
            _combine(Y, [(c, R[i, s]) for c, i in row], scratch)
            out = y[:, :, m * t0 + r : m * t1 : m, s::m]
            out[...] = Y[:, :, : out.shape[2], : out.shape[3]].transpose(1, 0, 2, 3)


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
    OH, OW, th, tw = _tiling((H, W), padding, m)
    U = weight_transform(w, m)
    y = np.empty((N, Co, OH, OW), dtype=x.dtype)
    for images, t0, t1 in _blocks(N, th, tw, C, a, x.itemsize, chunk_bytes):
        V = _input_tiles(x[images], padding, m, t0, t1, scratch)
        # the a*a products (O, C) @ (C, P): where the multiplications are
        M = np.matmul(
            U, V.transpose(0, 2, 1), out=scratch("wg_m", (a * a, Co, V.shape[1]), x.dtype)
        )
        _output_tiles(M, y[images], m, t0, t1, scratch)
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

    The forward is linear in ``U``: ``Y = A^T (V @ U^T) A`` per block of tiles, so
    ``dU = sum over blocks of (A dY A^T)^T @ V`` and ``dw = G^T dU G``.
    """
    N, C, H, W = x.shape
    Co = grad_out.shape[1]
    a = m + 2
    OH, OW, th, tw = _tiling((H, W), padding, m)
    _, _, A = _rows(m)
    # In float64 throughout, whatever the input dtype: dU sums products of transformed tiles
    # (larger than the pixels they came from) over every tile of the batch, and G^T dU G
    # then cancels much of them. float32 GEMMs left dw 1.7-2.2x im2col's float32 error
    # (F(2x2); F(4x4) 5-7x); float64 ones (exact transforms of float32 data, half the GEMM
    # rate) 0.3-1x.
    dtype = np.float64
    dU = np.zeros((a * a, Co, C))
    for images, t0, t1 in _blocks(N, th, tw, C, a, x.itemsize, chunk_bytes):
        gb, n, tb = grad_out[images], len(range(N)[images]), t1 - t0
        V = _input_tiles(x[images], padding, m, t0, t1, scratch, dtype)
        # the gradient tiles by pixel within the tile: pixel (m*ti + r, m*tj + s) at
        # [r, s, :, :, ti, tj], zero where a tile sticks out past the output
        gp = scratch("wg_g", (m, m, Co, n, tb, tw), dtype)
        for r in range(m):
            for s in range(m):
                g_rs = gb[:, :, m * t0 + r : m * t1 : m, s::m].transpose(1, 0, 2, 3)
                hr, ws = g_rs.shape[2:]
                gp[r, s, :, :, :hr, :ws] = g_rs
                gp[r, s, :, :, hr:] = gp[r, s, :, :, :hr, ws:] = 0
        # dM = A dY A^T, the adjoint of the output transform, one axis at a time
        Q = scratch("wg_q", (m, a, Co, n, tb, tw), dtype)
        for r in range(m):
            for j, row in enumerate(A):
                _combine(Q[r, j], [(c, gp[r, s]) for c, s in row], scratch)
        dM = scratch("wg_m", (a, a, Co, n, tb, tw), dtype)
        for i, row in enumerate(A):
            for j in range(a):
                _combine(dM[i, j], [(c, Q[r, j]) for c, r in row], scratch)
        dM = dM.reshape(a * a, Co, n * tb * tw)
        dU += np.matmul(dM, V)  # (a*a, Co, P) @ (a*a, P, C)
    # (vec(G^T dU G) = KG^T vec(dU)), as rows of dw: C-ordered, the layout of .grad
    dw = (dU.reshape(a * a, Co * C).T @ _kron_g(m)).reshape(Co, C, 3, 3)
    return dw.astype(x.dtype, copy=False)
