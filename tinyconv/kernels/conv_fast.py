"""The fast convolution (algorithm "fast", the default): conv.py's maths, tuned layouts.

Same interface and same numbers as the plain path in ``conv.py`` (read that
first: this file changes how the work is laid out in memory, never what is
summed). ``tests/test_conv_kernels.py`` forces every layout chosen here and
checks it against the plain path and the loop references, forward and backward.

What each trick changes, and what it buys. ``python benchmarks/conv_tricks.py``
times conv2d forward + backward (float32, 1 thread, best of 7, variants
interleaved) with each trick switched off in turn. Measured when this module
was split from conv.py, on a 2-core machine shared with other jobs (load ~5:
two runs of the very same code path differ by up to 30%, so read only the
large effects), in ms:

    case                   small   c1     c2     c3     c4     1x1 (32,256,14,14)->64
    plain im2col (conv.py) 0.107   2.13   4.15   1094   191    13.9
    fast                   0.033   2.90   3.55    448   103    13.7
    - no tiny gathers      0.066      (same path)    (same path)
    - no stride phases         (same path)            122
    - no chunks                                 564   124
    - no scratch reuse                                113

So: the tiny gathers halve the small problems (3x faster than the plain
path); chunking, scratch reuse and the stride phases make the big ones
(c3, c4) 1.9-2.4x faster than the plain path. Flat rows and kept columns
showed no effect above the noise on these cases, the 1x1 direct GEMM none
against the plain path (whose im2col is a cheap copy for 1x1), and on c1
(one input channel) the plain path was faster than this one in every run
(2.0-2.1 ms against 2.9-3.1): a gap left for a quieter machine to confirm.

- Depthwise (groups == in_channels, any channel multiplier): depthwise.py,
  kw column-shifted copies of each image and one batched matmul per kernel
  row (per-channel columns of kh*kw rows before; its docstring has the
  numbers), no outer-product GEMM and no col2im in the stride-1 input
  gradient (a "full" correlation instead). First version measured (float32,
  1 thread, kernels alone, best of 10, load ~9 on 2 cores): (16, 64, 32, 32)
  3x3 pad 1 forward+backward 44 ms -> 9.2 ms (PyTorch 44 ms in the same run);
  stride 2: 7.1 ms (PyTorch 2.6 ms, whose strided depthwise backward is far
  faster than its stride-1 one).
- Winograd (3x3, stride 1, no dilation, one group, float; >= 128 in and out
  channels, outputs >= 4x4, enough tiles, one thread, see _WINOGRAD_M): winograd.py's
  F(2x2, 3x3) for the forward and the input gradient, 2.25x fewer multiplications
  (docs/winograd.md), with transforms as NumPy additions over channels-last
  blocks; the weight gradient stays with im2col (Winograd's, in float64 to
  round like im2col, was 1.2-1.3x slower). Its float32 error is within 2x of
  im2col's on every piece (docs/winograd.md's table, checked by test_docs).
  Measured fwd+bwd against these im2col layouts, 1 thread, best of 7 (load ~6
  on 2 cores): 64 channels 0.88-0.99x, 128 0.71-0.93x, 256 0.72-0.84x (4x4 to
  56x56 outputs); c3 (32, 64, 56, 56) -> 64 about 0.97x, (16, 128, 28, 28) ->
  128 0.78x. conv_algorithm("winograd") runs F(4x4, 3x3) for all three
  pieces on every such convolution: fewer multiplications still, but 3-7x
  im2col's float32 error (it made densenet121's float32 gradients 1e-3 off in
  the zoo test).
- Tiny problems (the seed exercises, e.g. (1, 3, 5, 5) with a 3x3 kernel):
  im2col and col2im become one cached integer gather each, so a call is a
  handful of NumPy calls instead of kh*kw slice-adds of a few numbers each
  (NumPy's per-call overhead, ~1-2 us, dominates there). With one image and
  one group the GEMMs are 2-D np.dot calls (~1.0 us against np.matmul's
  ~1.4-2.1 us on the batched views). The path's plan (output size, the size
  tests, the indices) is kept per call signature (_tiny_plan): forward +
  backward of (1, 3, 5, 5) * (2, 3, 3, 3) 19.5 -> 15.2 us.
- 1x1 kernels with stride 1 and no padding: x already is the column matrix;
  forward and input gradient are one batched GEMM, no im2col, no col2im.
- Batch last: a chunk of n images is laid out (C, H, W, n), so one kernel
  offset's pixels form runs of OW*n numbers and one GEMM covers the chunk
  (NumPy's copies and adds cost per contiguous run).
- Chunks and scratch buffers: columns are built a few MB at a time (a ResNet
  layer's would take hundreds of MB), into buffers reused from call to call
  (a fresh buffer costs a page fault per 4 KiB); small columns are kept from
  forward to backward, big ones rebuilt.
- Row parts (_row_parts): a forward chunk with columns past 768 KB builds them and runs
  its GEMM in parts of output rows, each part's columns still in L2 when the GEMM reads
  them; the same sums (to float32 rounding: see _row_parts for when bit for bit). c3's
  forward, 1 thread, thread CPU time on the loaded machine: 139-153 -> 113-130 ms.
- Stride phases (big strided convolutions): the padded input is split into
  its sh x sw phases so every kernel offset reads a contiguous block.
- Flat rows (big images, few per chunk): columns are built on the phase grid
  (Wq wide, not OW), so each (c, p, q) row is one contiguous run; the junk
  columns get zero gradient.
- Thin GEMMs over column blocks (_matmul_blocks): with at most 16 output
  channels, the forward's product and the input gradient's run as one batched
  GEMM over blocks of 400 columns (strided views, no copy), which OpenBLAS
  keeps in L2. c2 (64, 6, 14, 14) -> 16, 5x5, 1 thread: forward GEMM 0.42 ->
  0.28 ms, input-gradient GEMM 0.39 -> 0.31 ms.
- Input gradient by kernel rows (_input_grad_rows, stride 1, thin weights):
  g's kw shifted copies enter one GEMM, so the kw offsets of each kernel row are
  summed by BLAS and col2im shrinks from kh*kw slice-adds to kh. c2: GEMM +
  col2im 0.67 -> 0.55 ms.
- Input gradient as a forward convolution (_input_grad_as_forward, stride 1,
  more than 16 input channels, up to 32x32 outputs): the "full" correlation of
  g with the flipped, channel-swapped kernel, through the forward's im2col and
  GEMM instead of GEMM + col2im. The GEMM's inner dimension becomes O*kh*kw
  instead of O, which OpenBLAS runs faster. (16, 32, 32, 32) -> 32 3x3: 6.55
  -> 4.69 ms (the residual block's step 33.4 -> 30.7 ms). conv_transpose2d's
  stride-1 forward (the same map) too: 6.75 -> 4.82 ms on that shape.
- Weight gradient beside it (_weight_grad_beside): when the forward kept no
  columns, dW is computed from the input gradient's columns of g times x
  itself, so the backward builds no im2col columns of x; the same for
  depthwise.py's copies. (16, 32, 32, 32) -> 32 3x3 dX + dW: 10.2 -> 9.6 ms.
- Bias gradient as GEMVs with ones (channels.channel_sum, shared with batch
  norm): 0.037 -> 0.010 ms on c2's gradient, 1.04 -> 0.23-0.77 ms on c3's.
- Weight gradient as (cols @ G.T).T: the same GEMM with the K rows of the
  columns as the output's rows runs 1.2-1.9x faster (c2: 0.76 -> 0.43 ms),
  when a chunk has more windows than K; with fewer (ResNet's last stages) as
  G @ cols.T, whose result is already in w's layout (a big transposed copy cost
  7x the GEMM there).
- Columns up to _KEEP_COLS_BYTES (4 MB) are built in one chunk and kept from
  forward to backward, so the backward's im2col is skipped (a fresh array of
  a few MB costs no more than a reused one, as glibc serves it from the heap
  after the first; keeping many chunks' columns did not pay: fresh memory for
  the residual block's 20 MB made its step 20% slower). Not with thin weights
  (at most 16 output channels): their GEMMs run at the speed the columns come
  from cache, so they take chunks of about 1 MB, a core's L2 (_col_chunks),
  kept only when that is one chunk, and their dW is a sum of small-matrix
  GEMMs over column blocks (_weight_grad_blocks). c2 fwd+bwd, 1 thread, thread
  CPU time, median of 31-41 interleaved with PyTorch: 1.25-1.40x PyTorch's
  time -> 1.05-1.14x (0.78-0.87x the time before).

Together: c2 forward+backward, kernels alone, 1 thread, min of 100 on a busy
machine: 2.95 -> 1.89 ms (PyTorch's forward + convolution_backward: 1.72 ms).

- Threads (threads.py, ``tinyconv.set_num_threads``): the chunk loops of
  conv2d forward, backward (depthwise.py's too, through its ``over`` hook)
  and conv_transpose2d spread whole chunks of images
  over the pool, each thread with its own scratch buffers and a one-thread
  BLAS (blas_single); dW's chunk shares are added in chunk order, so the
  numbers are the same at any thread count. Only problems with 2+ chunks
  (c3, c4, the residual block's 3x3 layers) split; thin weights only from
  8 chunks, depthwise inputs only from 2 MB (_pool_pays, _DW_POOL_BYTES:
  c2's and LeNet's four chunks and c1 ran faster on one thread, with the
  one-thread BLAS and column blocks of 1 thread); one-chunk problems leave
  their GEMMs to the BLAS's own threads. Measured on the shared
  2-core machine under load 4-8 (kernels alone, fwd+bwd, median of 7-9
  interleaved): OpenBLAS's own 2 threads collapse when the cores are
  oversubscribed (c3 1.36 s at 1 thread -> 9.1 s; (16, 32, 32, 32) 3x3
  50 -> 282 ms; c4 294 ms -> 2.35 s) while the pool stays near the 1-thread
  time (1.41 s, 67 ms, 335 ms). On a quiet machine (2 threads, fwd+bwd,
  median of 7, im2col: Winograd off), the pool against OpenBLAS's own 2
  threads: c3 170 vs 190 ms, (16, 32, 32, 32) 3x3 12.7 vs 28.6 ms, c4 53 vs
  94 ms, (32, 128, 28, 28) 150 vs 170 ms, (8, 128, 16, 16) 14 vs 18 ms; but
  (8, 64, 16, 16) 8.2 vs 5.8 ms: for small problems the hand-off costs more.

"""

from __future__ import annotations

import functools
import math
import threading
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import channels, depthwise, threads, winograd
from .conv import IntPair, Padding2, conv2d_output_size, conv_transpose2d_output_size

# Tuning knobs, set by timing LeNet- and ResNet-size convolutions (see the
# functions that read them). The tests change them to reach every path.
# Build about this many bytes of columns at a time. 2 MB (was 8): a chunk's columns stay
# in cache from im2col to the GEMMs, and OpenBLAS runs thin products faster on fewer columns
# ((32, 288) @ (288, N) float32, 1 thread: 87 GFLOP/s at N = 512, 69 at 4096, 43 at 16384).
# Training step, 1 thread, CPU time, 8 MB / 2 MB: residual block (16, 32, 32, 32) 40.3 /
# 36.6 ms (4 chunks of 4 images / 16 of 1), c2 2.87 / 2.63, c4 114 / 105, lenet and
# ResNet-18 alike; c3's columns take 7.5 MB an image, one image a chunk either way.
_CHUNK_BYTES = 2 << 20
_KEEP_COLS_BYTES = 4 << 20  # the forward hands columns up to this size to the backward
_BIG_COLS = 1 << 15  # columns with this many entries get the big-problem layout...
_FLAT_MAX_RUN = 160  # ...with flat rows when a row of outputs (OW*n numbers) is shorter
# ...and the junk grid columns add at most this fraction of OW to the GEMMs. Flat rows pay on
# the residual block's (16, 32, 32, 32) 3x3 (4 images a chunk: runs of 128, 1/16 junk;
# fwd+bwd 1 thread 20.8 -> 17.3 ms), not on small images, whose junk columns the GEMMs
# pay for (ResNet-18 at 64x64, batch 8, fwd+bwd with / without flat rows: 512 channels 2x2
# 12.3 / 7.6 ms, 256 4x4 8.6 / 5.9, 64 16x16 9.0 / 7.8 (1/8 junk)), nor with runs of 224
# ((4, 64, 56, 56) 41.2 / 38.5 ms).
_FLAT_MAX_JUNK = 1 / 16
_SCRATCH_MIN_BYTES = 1 << 17  # temporaries from this size (malloc's mmap threshold) are reused
_TINY = 1 << 14  # images and columns of at most this many numbers (all images) take the tiny path
_DEPTHWISE = True  # groups == in_channels go to depthwise.py (off: the im2col layouts below)
_DW_CHUNK_BYTES = 4 << 20  # depthwise.py builds about this many bytes of copies at a time,
_DW_BATCH_INSIDE = 256  # with the images side by side up to this many output pixels per image
# At 2+ threads a depthwise batch that makes one chunk of copies (all of MobileNet's layers
# at batch 8) has its channels cut over the threads (same numbers) from this input size
_DW_SPLIT_BYTES = 1 << 16
# ...and depthwise.py's work goes over the pool at all only from this input size (below, it
# lost more in hand-offs and GIL waits than the second thread took off; 2 threads, kernels
# fwd+bwd, median, same process: (8, 32, 32, 32) 4.14 ms with the pool, 2.39 without; the
# c1 case (64, 1, 28, 28) -> 6 5x5, multiplier 6, 5.15 -> 2.94 ms (PyTorch 4.48); MobileNet's
# (8, 144, 56, 56) and (8, 32, 112, 112) keep it: 22.4 / 26.1, 18.7 / 19.3 ms)
_DW_POOL_BYTES = 2 << 20
_PW_ONE_GEMM_RATIO = 1  # 1x1 convs over all images at once when dW's products are bigger...
_PW_ONE_GEMM_W_BYTES = 1 << 20  # ...forward and dX only from this weight size too
# "fast" runs 3x3 stride-1 convolutions as Winograd F(m x m, 3x3) (0: never)... F(2x2): its
# float32 error is within 2x of im2col's on every piece (docs/winograd.md). F(4x4) saves more
# multiplications but rounds 3-7x worse than im2col, which compounded through densenet121's
# 120 layers (a few ReLUs flipped by the forward's rounding) to 1e-3 relative error in its
# float32 gradients (PyTorch: 5e-7); it stays behind conv_algorithm("winograd").
_WINOGRAD_M = 2
# ...on the forward and the input gradient (the weight gradient stays with im2col, see
# _winograd_backward), when in and out channels reach _WINOGRAD_MIN_CHANNELS and the
# output's height and width _WINOGRAD_MIN_SIZE. Below, the transforms cost more than the
# multiplications they save: measured fwd+bwd against im2col's, 1 thread, N*C*H*W ~2M:
# 32 channels 1.03-1.27x (4x4 to 56x56), 64 channels 0.88-0.99x, 128 0.71-0.93x, 256
# 0.72-0.84x; 2x2 outputs 1.06-1.15x. Since im2col's 2 MB column chunks, 64 channels no
# longer pay (quiet machine, 1 thread, fwd+bwd median of 7: c3 (32, 64, 56, 56) 299 vs
# 294-314 ms, (8, 64, 16, 16) 8.2 vs 8.0 ms); 128 still does ((32, 128, 28, 28) 232 vs 288 ms).
_WINOGRAD_MIN_CHANNELS = 128
# ...and only at one thread: winograd.py's transforms run on the calling thread, while
# im2col's chunk loop spreads over the pool (threads.py). At 2 threads (quiet machine, fwd+bwd
# median of 7) im2col won everywhere: c3 170 vs 260 ms, (32, 128, 28, 28) 150 vs 193 ms,
# (8, 128, 16, 16) 14 vs 24 ms, (8, 256, 8, 8) 14 vs 20 ms.
_WINOGRAD_MAX_THREADS = 1
_WINOGRAD_MIN_SIZE = 4
# ...and the batch's output tiles (N * ceil(OH/m) * ceil(OW/m)) times the fewer of the in
# and out channels reach this: the weight transform (float64, per call) and the a*a GEMMs'
# fixed costs need tiles to spread over, the more so the fewer channels the GEMMs have.
# Measured fwd+bwd against im2col's, float32, 1 thread, thread CPU time, median of 11
# interleaved (VGG-11's and ResNet-18's layers): 128 channels 64 tiles 1.45x, 128 tiles
# 1.02-1.10x, 256 tiles 0.98-1.01x, 512 tiles 0.97x; 256 channels 64 tiles 1.30-1.41x, 96
# 1.19x, 128 0.96-0.98x, 256 0.84x; 512 channels 64 tiles 0.96x, 128 0.74x. (A minimum of 64
# tiles, before, gave VGG-11's (4, 128, 8, 8) -> 256 and (4, 256, 8, 8) -> 256 to Winograd:
# 7.9 and 15.4 ms against im2col's 6.3 and 11.9, PyTorch 5.3 and 10.1.)
_WINOGRAD_MIN_TILE_CHANNELS = 128 * 256
# winograd.py transforms about this many bytes of patches at a time. 0.25 to 16 MB measured
# alike at 1 thread (F(2x2) on c3); the larger, the fewer BLAS calls, each of which pays a
# hand-off between threads at 2.
_WG_CHUNK_BYTES = 4 << 20


# GEMMs with at most this many output channels (per group) run over blocks of _GEMM_COLS
# columns (see _matmul_blocks), while the fast kernels run on one thread only: the blocks
# are too small for OpenBLAS to split, so at 2 threads they ran at the 1-thread speed,
# slower than the one wide 2-thread GEMM (c2 forward 0.28 vs 0.24 ms, input-gradient
# 0.31 vs 0.25 ms).
_THIN_GEMM = 16
_BLOCKS_MAX_THREADS = 1  # ...when threads.get_num_threads() is at most this
_THIN_CHUNK_BYTES = 1 << 20  # ...and their columns come in chunks of about this size
_THIN_SPLIT_CHUNKS = 8  # ...which go over the pool from this many chunks (_pool_pays)
_GEMM_COLS = 400
# The forward builds a chunk's columns and runs its GEMM in parts of output rows of at most
# this many bytes of columns, which stay in a core's L2 (_row_parts)...
_ROW_PART_BYTES = 768 << 10
# ...each part a product of at least this many multiply-adds (per group), where OpenBLAS
# runs its packed kernel (whose sums, on its SkylakeX kernel, do not depend on how the
# columns are cut)
_ROW_PART_MIN_MACS = 8 << 20
_ROWS_COL2IM = 16  # stride-1 input gradients with at most this many O/G: _input_grad_rows
# Stride-1 input gradients with at least this many input channels per group, outputs of at
# most _AS_FORWARD_MAX_PIXELS per image and at least _AS_FORWARD_MIN_WINDOWS in all, run as
# a forward convolution (_input_grad_as_forward).
_AS_FORWARD_MIN_CHANNELS = 17
_AS_FORWARD_MAX_PIXELS = 32 * 32
_AS_FORWARD_MIN_WINDOWS = 256


# --------------------------------------------------------------------------
# Fast path, part 1: memory layout, im2col and col2im
# --------------------------------------------------------------------------
#
# The fast path works on a chunk of n images at a time, and the chunk stays
# in one layout from the padded input through the columns and back:
#
#   phases (fh, fw, C, Hq, Wq, n):  phases[a, b, c, u, v, m] = x_pad[m, c, u*fh + a, v*fw + b]
#   cols (C*kh*kw, OH*OWg*n):  cols[(c, p, q), (i, j, m)] = x_pad[m, c, i*sh + p*dh, j*sw + q*dw]
#
# Three ideas, each there because numpy copies and adds go at the speed of
# their contiguous runs (a short run costs about as much as a long one):
#
# - Batch last. With the image index m fastest, the pixels one kernel offset
#   reads for all windows form runs of OW*n numbers instead of OW, and one
#   GEMM covers the whole chunk. For one image this is plain (C, H, W).
# - Phase split (big strided convs). Kernel offset p reads every sh-th row.
#   Splitting the padded input into its sh x sw phases (pixel (u, v) goes to
#   phase (u % sh, v % sw), position (u // sh, v // sw)) makes every offset
#   read a contiguous block of one phase. fh = fw = 1 means no split.
# - Flat rows (big images, few per chunk). The columns get one entry for
#   every *phase* column v < Wq, not only the OW real outputs (OWg = Wq, the
#   "grid" width, instead of OW). Then, for each (c, p, q), the entries over
#   (i, j, m) are one contiguous run of the phase array, OH*Wq*n long. The
#   extra Wq - OW grid columns are junk: the forward drops them, and the
#   backward feeds them zero gradient, so they add nothing anywhere. One spare
#   zero row at the bottom of each phase keeps the runs inside their channel.
#
# Measured: batch last halves col2im for LeNet's conv2; the phase split takes
# ~12% off the 7x7/2 ResNet stem; flat rows cut col2im 3x for a 56x56 3x3
# layer (whose junk columns cost 3.6% more GEMM). Small problems use none of
# this: one strided view and one copy (im2col) have the least Python overhead.


class _Plan(NamedTuple):
    """How one chunk of n images is laid out (see above)."""

    split: IntPair  # (fh, fw): the stride when phase-split, else (1, 1)
    flat: bool  # flat rows: columns on the phase grid
    phases_shape: tuple[int, ...]  # (fh, fw, C, Hq, Wq, n)
    grid_w: int  # OWg, the column grid's width: Wq when flat, else OW


def _plan(x_shape, rows: int, out_size: IntPair, stride: IntPair, padding: Padding2) -> _Plan:
    """Lay out a chunk ``x_shape = (n, C, H, W)`` whose columns have ``rows`` rows (C*kh*kw)."""
    n, C, H, W = x_shape
    OH, OW = out_size
    (pt, pb), (pl, pr) = padding
    big = rows * OH * OW * n >= _BIG_COLS
    fh, fw = stride if big else (1, 1)
    Wq = -(-(W + pl + pr) // fw)  # ceil division
    flat = big and OW * n < _FLAT_MAX_RUN and Wq - OW <= _FLAT_MAX_JUNK * OW
    Hq = -(-(H + pt + pb) // fh) + flat  # + the spare zero row of flat runs
    return _Plan((fh, fw), flat, (fh, fw, C, Hq, Wq, n), Wq if flat else OW)


def _scratch(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised array for a temporary that never leaves this module.

    A fresh multi-megabyte array costs one page fault per 4 KiB page (the OS
    zeroes each new page), which for LeNet-size convolutions costs as much as
    the arithmetic. So each big temporary reuses one buffer per role (and per
    thread) from call to call; small ones are plain ``np.empty``.

    The view of a buffer for one (role, shape, dtype) is kept too (per thread), and handed
    out again while that buffer lasts: working it out (dtype, size, three NumPy calls) took
    ~2-3 us, a dict lookup ~0.2 us, and c2's forward + backward asks 44 times, the residual
    block's training step ~210 times.
    """
    views = getattr(_scratch_views, "kept", None)
    if views is None:
        views = _scratch_views.kept = {}
    key = (name, shape, dtype, _SCRATCH_MIN_BYTES)
    try:
        view = views[key]
    except KeyError:
        pass
    except TypeError:  # (a shape given as a list: not kept)
        key = None
    else:  # the kept view, or the dtype of a small temporary
        return view if type(view) is np.ndarray else np.empty(shape, view)
    dt = np.dtype(dtype)
    nbytes = dt.itemsize * math.prod(shape)
    if nbytes < _SCRATCH_MIN_BYTES:
        if key is not None and len(views) < _SCRATCH_VIEWS_MAX:
            views[key] = dt
        return np.empty(shape, dt)
    buf = getattr(_scratch_buffers, name, None)
    if buf is None or buf.nbytes < nbytes:
        buf = np.empty(nbytes, np.uint8)
        setattr(_scratch_buffers, name, buf)
        for old in [k for k, v in views.items() if k[0] == name and type(v) is np.ndarray]:
            del views[old]  # views of the old buffer: let it go
    view = buf[:nbytes].view(dt).reshape(shape)
    if key is not None:
        if len(views) >= _SCRATCH_VIEWS_MAX:
            views.clear()
        views[key] = view
    return view


_scratch_buffers = threading.local()
# .kept: {(role, shape, dtype, _SCRATCH_MIN_BYTES): the view, or the dtype of a small one}
_scratch_views = threading.local()
_SCRATCH_VIEWS_MAX = 256  # views kept per thread (a model's layers ask for a few shapes each)


def _matmul_blocks(a: np.ndarray, b: np.ndarray, out: np.ndarray, thin: bool = False) -> np.ndarray:
    """``out (G, R, M) = a (G, R, K) @ b (G, K, M)``, as one batched GEMM over column blocks.

    When the weight matrix is thin (at most ``_THIN_GEMM`` output channels, the rows of the
    forward's product or the inner dimension of the input gradient's), OpenBLAS runs the
    product 1.3-2.4x faster cut into blocks of ``_GEMM_COLS`` columns than as one wide GEMM
    (it keeps a block of packed columns in L2; 1 thread, float32, min of 40): c2's forward
    (16, 150) x 6400 0.42 -> 0.28 ms, its input gradient (150, 16) x 6400 0.39 -> 0.31 ms,
    c1-like (6, 25) x 50176 0.65 -> 0.27 ms. Wider weights gain nothing or lose up to 10%
    ((64, 576) x 3640, (64, 147) x 12544), so they keep the one GEMM. The blocks are strided
    views of the same arrays (no copy): the same sums, in the same order. ``thin=True``: the
    caller knows the product is one of those (see _input_grad_rows).
    """
    G, R, M = out.shape
    cb = _GEMM_COLS
    nb = M // cb
    if (min(a.shape[1:]) > _THIN_GEMM and not thin) or nb < 2 or not _blocks_pay():
        return np.matmul(a, b, out=out)
    m = nb * cb
    K = b.shape[1]
    np.matmul(
        a[:, None],
        b[:, :, :m].reshape(G, K, nb, cb).transpose(0, 2, 1, 3),
        out=out[:, :, :m].reshape(G, R, nb, cb).transpose(0, 2, 1, 3),
    )
    if m < M:
        np.matmul(a, b[:, :, m:], out=out[:, :, m:])
    return out


def _blocks_pay() -> bool:
    """Whether GEMMs over column blocks pay: when the BLAS runs them on one thread (one
    thread set, or a chunk in the pool under threads.blas_single). A 2-thread BLAS does not
    split blocks this small, so a wide GEMM it can split runs faster there."""
    return threads.get_num_threads() <= _BLOCKS_MAX_THREADS or threads.blas_one_thread()


def _weight_grad_blocks(cols: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``cols (G, K, M) @ g (G, O/G, M).T`` -> ``(G, K, O/G)``: dW of one chunk, transposed.

    With thin weights (at most ``_THIN_GEMM`` output channels) and at least two blocks, as
    a sum of GEMMs over blocks of ``_GEMM_COLS`` of the M columns: OpenBLAS runs each
    ``(K, 400) @ (400, O/G)`` with its small-matrix kernel (no packing) when g's block is
    C-ordered, so g is transposed into a scratch buffer first (a g.T view takes the slower
    path). c2's chunk (150, 1600) x 16, float32, 1 thread, thread CPU time, median of 300:
    123 -> 84 us with the copy. The blocks' products are added in order, and the choice
    never depends on the thread count (unlike _matmul_blocks', whose blocks give the one
    GEMM's very sums): the same numbers at any thread count.
    """
    G, K, M = cols.shape
    Og = g.shape[1]
    cb = _GEMM_COLS
    nb = M // cb
    if Og > _THIN_GEMM or nb < 2:
        return np.matmul(cols, g.transpose(0, 2, 1))
    gt = _scratch("grad_t", (G, M, Og), g.dtype)
    np.copyto(gt, g.transpose(0, 2, 1))
    m = nb * cb
    parts = np.matmul(
        cols[:, :, :m].reshape(G, K, nb, cb).transpose(0, 2, 1, 3),
        gt[:, :m].reshape(G, nb, cb, Og),
    )  # (G, nb, K, O/G)
    out = parts[:, 0].copy()
    for i in range(1, nb):
        out += parts[:, i]
    if m < M:
        out += np.matmul(cols[:, :, m:], gt[:, m:])
    return out


def _chunks(N: int, bytes_per_image: int, chunk_bytes: int | None = None) -> list[slice]:
    """Split the batch so each chunk's columns take about ``chunk_bytes`` (default
    ``_CHUNK_BYTES``).

    Columns are kh*kw times the input's size: a ResNet layer's would take
    hundreds of MB at once, a few images' take a few MB. An even number of
    chunks of near-equal size (16 images of 6 per chunk: 4, 4, 4, 4, not 6, 6,
    4), so two threads get equal shares; the split never depends on the thread
    count (nor, then, do the numbers).
    """
    step = max(1, (_CHUNK_BYTES if chunk_bytes is None else chunk_bytes) // max(1, bytes_per_image))
    if step >= N:
        return [slice(0, N)]
    count = -(-N // step)  # ceil division
    count = min(N, count + count % 2)
    size, extra = divmod(N, count)
    bounds = [i * size + min(i, extra) for i in range(count + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


# Outputs of at least this many pixels an image go one image a chunk (_col_chunks): then
# x, y and grad_out are used in their own NCHW layout, with no batch-last transposes
# (_grad_columns, _matmul_to_nchw), which cost most where a chunk held a few images of few
# channels: runs of n numbers. Measured fwd+bwd (dX only where x needs it), float32, 1
# thread, thread CPU time, median of 11 interleaved, before -> after (PyTorch): VGG's first
# layer (4, 3, 32, 32) -> 64 3x3 2.03 -> 1.22 ms (1.31), (4, 3, 64, 64) -> 64 3x3 5.70 ->
# 3.78 (2.51), ResNet-18's stem at 64x64 (8, 3, 64, 64) -> 64 7x7/2 9.27 -> 7.37 (4.34),
# (8, 3, 64, 64) -> 32 3x3/2 1.82 -> 1.20 (1.17); alike on (4, 64, 32, 32) -> 64 (16.4,
# 16.1) and (8, 16, 32, 32) -> 16 (4.7, 4.5). Smaller outputs keep batch last (256: mixed).
_ONE_IMAGE_PIXELS = 1024


def _col_chunks(
    N: int, bytes_per_image: int, out_per_group: int, pixels: int = 0
) -> tuple[list[slice], bool]:
    """``(chunks, keep)``: the batch's chunks for im2col columns of ``bytes_per_image``, and
    whether the forward keeps them for the backward (then they are one chunk).

    Columns up to ``_KEEP_COLS_BYTES`` make one chunk, kept; bigger ones come in chunks
    of about ``_CHUNK_BYTES``, rebuilt by the backward. With thin weights (at most
    ``_THIN_GEMM`` output channels per group) the GEMMs do little work per column, so
    they run at the speed the columns come from cache: then chunks of about
    ``_THIN_CHUNK_BYTES`` (a core's 1 MB L2), kept only when that is one chunk. c2
    (64, 6, 14, 14) -> 16 5x5 (3.8 MB of columns): one kept chunk -> four chunks of 16
    images, forward + backward 1 thread, thread CPU time, median of 41 interleaved:
    2.79-2.92 -> 2.33-2.40 ms (PyTorch 2.07-2.18); at 2 threads too few to share over
    the pool (_pool_pays). Wider weights gained nothing measurable from the smaller chunks.
    Outputs of ``pixels`` >= ``_ONE_IMAGE_PIXELS`` an image: one image a chunk, not kept.
    """
    if N > 1 and pixels >= _ONE_IMAGE_PIXELS:
        return [slice(i, i + 1) for i in range(N)], False
    keep_bytes, chunk_bytes = _KEEP_COLS_BYTES, _CHUNK_BYTES
    if out_per_group <= _THIN_GEMM:
        keep_bytes = min(keep_bytes, _THIN_CHUNK_BYTES)
        chunk_bytes = min(chunk_bytes, _THIN_CHUNK_BYTES)
    if N * bytes_per_image <= keep_bytes:
        return [slice(0, N)], True
    return _chunks(N, bytes_per_image, chunk_bytes), False


def _over_threads(run, chunks: list[slice], split: bool = True) -> list:
    """``[run([chunk]) for chunk in chunks]``, the chunks spread over the pool's threads.

    Each chunk's results are its own (its images' outputs, its share of dW,
    added up by the caller in chunk order), and the chunks are those of one
    thread: the same numbers at any thread count. The threads' GEMMs run with a
    single-threaded BLAS (two 2-thread BLAS calls at once would ask 4 threads of
    2 cores); when the BLAS cannot be limited (no threadpoolctl), everything
    stays on this thread and the BLAS's own threads share the GEMMs instead.
    ``split=False`` (small problems, see _pool_pays): all the chunks on this thread, with
    the one-thread BLAS and the column blocks of one thread.
    """
    if len(chunks) < 2 or threads.get_num_threads() < 2 or not threads.can_limit_blas():
        return [run(chunks)]
    with threads.blas_single():
        if not split:
            return [run(chunks)]
        return threads.parallel_map(lambda chunk: run([chunk]), chunks)


def _pool_pays(chunks: list[slice], out_per_group: int) -> bool:
    """Whether a convolution's chunks go over the pool at 2+ threads (``_over_threads``).

    Not thin weights' (at most ``_THIN_GEMM`` outputs per group) in fewer than
    ``_THIN_SPLIT_CHUNKS`` chunks: their chunks are a few hundred microseconds of many small
    NumPy calls (column blocks, _input_grad_rows, _weight_grad_blocks), and on the 2-core
    KVM machine the second thread cost more in hand-offs and waits for the GIL than it took
    off. Measured at 2 threads, same process, the whole case (median of 60, interleaved,
    this process prioritised over the machine's other jobs): c2 3.73 ms with the pool, 2.32
    ms with its four chunks on one thread (PyTorch 1.54); LeNet's step 7.94 -> 6.91 ms
    (PyTorch 6.05); (32, 16, 28, 28) -> 16 3x3 in 16 chunks kept the pool (kernels fwd+bwd
    12.3 ms with it, 15.0 without).
    """
    return out_per_group > _THIN_GEMM or len(chunks) >= _THIN_SPLIT_CHUNKS


def _dw_over(x: np.ndarray):
    """depthwise.py's ``over``: the pool for inputs from ``_DW_POOL_BYTES``, else this thread
    (with the one-thread BLAS), as for thin convolutions (_pool_pays)."""
    if x.nbytes >= _DW_POOL_BYTES:
        return _over_threads
    return lambda run, chunks: _over_threads(run, chunks, split=False)


def _phase_rows(H: int, pad: int, f: int) -> list[tuple[int, int, int, int]]:
    """One axis split f ways: ``(phase a, first x row r in it, r's position u, row count)``."""
    rows = []
    for a in range(f):
        r = (a - pad) % f  # x row r is padded row r + pad, which must be = a (mod f)
        rows.append((a, r, (r + pad) // f, len(range(r, H, f))))
    return rows


def _to_phases(x: np.ndarray, padding: Padding2, plan: _Plan) -> np.ndarray:
    """``(n, C, H, W)`` -> zero-padded, batch-last, phase-split ``(fh, fw, C, Hq, Wq, n)``."""
    n, _, H, W = x.shape
    (pt, pb), (pl, pr) = padding
    fh, fw = plan.split
    xt = x.transpose(1, 2, 3, 0)  # (C, H, W, n): batch last
    padded = pt or pb or pl or pr or plan.flat
    if n == 1 and fh == fw == 1 and not padded:
        return xt[None, None]  # one unpadded image is already in this layout: no copy
    phases = _scratch("phases", plan.phases_shape, x.dtype)
    if fh == fw == 1:
        if padded:
            phases.fill(0)  # the padding (and the spare row) read as zero
        phases[0, 0, :, pt : pt + H, pl : pl + W] = xt
        return phases
    phases.fill(0)
    for a, r, u, nr in _phase_rows(H, pt, fh):
        for b, c, v, nc in _phase_rows(W, pl, fw):
            phases[a, b, :, u : u + nr, v : v + nc] = xt[:, r::fh, c::fw]
    return phases


def _from_phases(phases: np.ndarray, padding: Padding2, out: np.ndarray) -> None:
    """Adjoint of ``_to_phases``: the unpadded part of ``phases`` into ``out (n, C, H, W)``."""
    H, W = out.shape[2:]
    (pt, _), (pl, _) = padding
    fh, fw = phases.shape[:2]
    if fh == fw == 1:
        out[...] = phases[0, 0, :, pt : pt + H, pl : pl + W].transpose(3, 0, 1, 2)
        return
    for a, r, u, nr in _phase_rows(H, pt, fh):
        for b, c, v, nc in _phase_rows(W, pl, fw):
            out[:, :, r::fh, c::fw] = phases[a, b, :, u : u + nr, v : v + nc].transpose(3, 0, 1, 2)


def _taps(phases: np.ndarray, kernel_size, out_size, stride, dilation, flat: bool):
    """For each kernel offset (p, q): a view of the phase-array pixels it reads.

    Offset p reads padded rows ``p*dh + i*sh`` (i < OH): row
    ``(p*dh) // fh + i * (sh // fh)`` of phase ``(p*dh) % fh``. The view is
    ``(C, OH, OW, n)``, or with flat rows ``(C, OH*Wq*n)``.
    """
    fh, fw, C, Hq, Wq, n = phases.shape
    (kh, kw), (OH, OW), (sh, sw), (dh, dw) = kernel_size, out_size, stride, dilation
    sh, sw = sh // fh, sw // fw  # stride inside a phase
    for p in range(kh):
        a, u = (p * dh) % fh, (p * dh) // fh
        for q in range(kw):
            b, v = (q * dw) % fw, (q * dw) // fw
            if flat:
                # One run from pixel (u, v) on: past a row's end it wraps into the
                # next row, which is what makes the junk grid columns.
                start = (u * Wq + v) * n
                yield (
                    p,
                    q,
                    phases[a, b].reshape(C, Hq * Wq * n)[:, start : start + OH * Wq * n],
                )
            else:
                yield (
                    p,
                    q,
                    phases[
                        a,
                        b,
                        :,
                        u : u + sh * (OH - 1) + 1 : sh,
                        v : v + sw * (OW - 1) + 1 : sw,
                    ],
                )


def _strided_view(a: np.ndarray, shape, strides) -> np.ndarray:
    """Read-only ``as_strided(a, shape, strides)``, without its ~2 us of overhead when it can."""
    if a.flags.c_contiguous:  # then a's buffer starts at a's first element
        return np.ndarray(shape, a.dtype, a, 0, strides)
    return as_strided(a, shape, strides, writeable=False)


def im2col(
    phases: np.ndarray,
    kernel_size: IntPair,
    out_size: IntPair,
    stride: IntPair,
    dilation: IntPair,
    flat: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Columns ``(C*kh*kw, OH*OWg*n)`` of a phase array ``(fh, fw, C, Hq, Wq, n)``.

    ``cols[(c, p, q), (i, j, m)] = x_pad[m, c, i*sh + p*dh, j*sw + q*dw]``.
    """
    fh, fw, C, _, Wq, n = phases.shape
    (kh, kw), (OH, OW) = kernel_size, out_size
    if out is None:
        out = np.empty((C * kh * kw, OH * (Wq if flat else OW) * n), dtype=phases.dtype)
    cols = out.reshape((C, kh, kw, -1) if flat else (C, kh, kw, OH, OW, n))
    if fh == fw == 1 and not flat:
        # One strided *view* shows all windows side by side without copying
        # (they overlap in memory); copyto makes the one real copy.
        (sh, sw), (dh, dw) = stride, dilation
        src = phases[0, 0]
        sC, sH, sW, sN = src.strides
        np.copyto(
            cols,
            _strided_view(
                src,
                (C, kh, kw, OH, OW, n),
                (sC, dh * sH, dw * sW, sh * sH, sw * sW, sN),
            ),
        )
    elif fh == fw == 1:
        # Flat rows, no phase split: tap (p, q) is the run of OH*Wq*n numbers from
        # pixel (p*dh, q*dw) on, so all kh*kw runs are one strided view (one copy, not
        # kh*kw: with one image a chunk, the residual block makes 64 of them a step)
        (dh, dw), n_run = dilation, Wq * n
        src = phases[0, 0].reshape(C, -1)
        sC, s1 = src.strides
        np.copyto(
            cols,
            _strided_view(src, cols.shape, (sC, dh * n_run * s1, dw * n * s1, s1)),
        )
    else:
        for p, q, taps in _taps(phases, kernel_size, out_size, stride, dilation, flat):
            cols[:, p, q] = taps
    return out


def col2im(
    cols: np.ndarray,
    phases_shape: tuple[int, ...],
    kernel_size: IntPair,
    out_size: IntPair,
    stride: IntPair,
    dilation: IntPair,
    flat: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Adjoint of ``im2col``: add ``cols (C*kh*kw, OH*OWg*n)`` into a phase array.

    Every entry goes back to the pixel it was copied from; overlapping windows
    add up. One slice-add per kernel offset (p, q) covers all windows at once.
    Pixels no window reaches stay 0.
    """
    (kh, kw), (OH, OW), C, n = kernel_size, out_size, phases_shape[2], phases_shape[5]
    phases = np.empty(phases_shape, cols.dtype) if out is None else out
    phases.fill(0)
    cols = cols.reshape((C, kh, kw, -1) if flat else (C, kh, kw, OH, OW, n))
    for p, q, taps in _taps(phases, kernel_size, out_size, stride, dilation, flat):
        taps += cols[:, p, q]
    return phases


def _grad_columns(t: np.ndarray, grid_w: int) -> np.ndarray:
    """``(n, O, OH, OW)`` -> ``(O, OH*OWg*n)``: batch last, zero on the junk grid columns."""
    n, O, OH, OW = t.shape
    if n == 1 and grid_w == OW:
        return np.ascontiguousarray(t[0]).reshape(O, -1)  # a view when t is contiguous
    g = _scratch("grad_cols", (O, OH, grid_w, n), t.dtype)
    g[:, :, OW:] = 0  # junk columns get zero gradient, so they add nothing
    g[:, :, :OW] = t.transpose(1, 2, 3, 0)
    return g.reshape(O, -1)


def _matmul_to_nchw(
    a: np.ndarray, b: np.ndarray, bias: np.ndarray | None, out: np.ndarray, grid_w: int
) -> None:
    """``out (n, O, OH, OW) = a (G, O/G, K) @ b (G, K, OH*OWg*n) + bias``, stored NCHW.

    The bias goes in while this chunk of y is still in cache, not in a later
    pass over all of y.
    """
    n, O, OH, OW = out.shape
    if n == 1 and grid_w == OW:  # then the product is already NCHW: write it straight into out
        np.matmul(a, b, out=out.reshape(a.shape[0], a.shape[1], OH * OW))
        if bias is not None:
            out += bias.reshape(O, 1, 1)
    else:
        prod = _scratch("gemm", (a.shape[0], a.shape[1], b.shape[2]), out.dtype)
        _matmul_blocks(a, b, prod)
        prod = prod.reshape(O, OH, grid_w, n)[:, :, :OW].transpose(3, 0, 1, 2)
        if bias is None:
            out[...] = prod
        else:
            np.add(prod, bias.reshape(O, 1, 1), out=out)


def _row_parts(plan: _Plan, OH: int, M: int, K: int, itemsize: int) -> list[tuple[int, int]]:
    """The output rows ``[(r0, r1), ...]`` in which to build a forward chunk's columns and
    run its GEMM, ``(M, K) @ (K, columns)`` per group; one part: the whole chunk at once.

    A chunk whose columns pass ``_ROW_PART_BYTES`` is cut by output rows into parts of
    about that size (no phase split: a part's columns are then a contiguous range of the
    chunk's), so each part's columns stay in L2 from im2col to the GEMM instead of
    going out to L3 and back. Measured, c3's forward (32, 64, 56, 56) -> 64 3x3 (7.5 MB
    of columns an image), thread CPU time, 1 thread, median of 7 on the loaded machine:
    whole chunks 153 ms, 768 KB parts 130 ms, 512 KB parts 135 ms.

    Every part stays at or above ``_ROW_PART_MIN_MACS`` multiply-adds: below 28*512*512,
    OpenBLAS may run a product through its direct or small-matrix kernels (no packing),
    whose sums can round differently. At or above it, on OpenBLAS's SkylakeX kernel, each
    output column is the same packed-kernel dot product whether the columns come whole or
    in parts, so the numbers are those of the whole chunk. Its Haswell kernel (AVX2
    machines) rounds a column by its place among the columns it is given, so there parts
    and whole agree to float32 rounding only. Either way the parts do not depend on the
    thread count, nor do the numbers. (That leaves the residual block's
    (16, 32, 32, 32) -> 32 whole: its 1.25 MB of columns an image make 10M multiply-adds;
    there, 2 parts ran 14% faster at 2 threads but 1-4% slower at 1, and took the direct
    kernel.)
    Thin weights (at most ``_THIN_GEMM`` outputs) keep their column blocks (_matmul_blocks).
    """
    n, gw = plan.phases_shape[5], plan.grid_w
    if plan.split != (1, 1):
        return [(0, OH)]
    count = min(OH, -(-K * OH * gw * n * itemsize // _ROW_PART_BYTES))
    while count > 1 and M * K * (OH // count) * gw * n < _ROW_PART_MIN_MACS:
        count -= 1
    return [(i * OH // count, (i + 1) * OH // count) for i in range(count)]


def _rows_to_nchw(W_mat, phases, rows, kernel_size, out_size, stride, dilation, plan, bias, out):
    """``out (n, O, OH, OW)``: _matmul_to_nchw's product, built part by part of output rows
    (``rows``, from _row_parts): each part's im2col columns, then its GEMM."""
    n, O, OH, OW = out.shape
    G, _, K = W_mat.shape
    gw = plan.grid_w
    direct = n == 1 and gw == OW  # the product is NCHW already: into out itself
    prod = (
        out.reshape(G, O // G, OH * OW)
        if direct
        else _scratch("gemm", (G, O // G, OH * gw * n), out.dtype)
    )
    for r0, r1 in rows:
        part = phases[:, :, :, r0 * stride[0] :]  # the rows whose windows make output row r0 on
        shape = (K * G, (r1 - r0) * gw * n)
        cols = im2col(
            part, kernel_size, (r1 - r0, OW), stride, dilation, plan.flat,
            out=_scratch("cols", shape, phases.dtype),
        )  # fmt: skip
        np.matmul(W_mat, cols.reshape(G, K, -1), out=prod[:, :, r0 * gw * n : r1 * gw * n])
    if direct:
        if bias is not None:
            out += bias.reshape(O, 1, 1)
        return
    prod = prod.reshape(O, OH, gw, n)[:, :, :OW].transpose(3, 0, 1, 2)
    if bias is None:
        out[...] = prod
    else:
        np.add(prod, bias.reshape(O, 1, 1), out=out)


def _is_pointwise(w: np.ndarray, stride: IntPair, padding: Padding2, in_size, out_size) -> bool:
    """1x1 kernel, stride 1, no padding: x itself is the column matrix."""
    return (
        w.shape[2] == w.shape[3] == 1
        and stride == (1, 1)
        and in_size == out_size
        and padding == ((0, 0), (0, 0))
    )


def _pointwise_one_gemm(N: int, O: int, C: int, HW: int, itemsize: int, reads_w: bool) -> bool:
    """Whether a 1x1 convolution (``O`` x ``C`` per group) runs as one GEMM over all images.

    Per image, dW's products are N (O, C) matrices summed afterwards, and the forward and
    dX read W once per image. On small images with many channels (MobileNetV2's and
    ShuffleNetV2's last layers, 2x2 at batch 8) that is more memory than the images
    themselves: then the images go side by side (two small transposing copies) and each
    product is one GEMM. Measured (1 thread, float32, min of 30, fwd / bwd ms):
    (8, 320, 2, 2) -> 1280 0.76 / 2.40 -> 0.35 / 0.71, (8, 464, 2, 2) -> 1024 0.93 / 3.86
    -> 0.39 / 0.82, (8, 160, 2, 2) -> 960 bwd 0.47 -> 0.28, but its forward 0.10 -> 0.15
    (its W, 0.6 MB, stays in cache from image to image): so the forward and dX take it
    only for a W of at least ``_PW_ONE_GEMM_W_BYTES``; (8, 144, 16, 16) -> 24 and bigger
    images are 1.3-2.6x slower this way.
    """
    if O * C <= HW * (O + C) * _PW_ONE_GEMM_RATIO:  # dW's N products no bigger than the copies
        return False
    return not reads_w or O * C * itemsize >= _PW_ONE_GEMM_W_BYTES


def _images_inside(a: np.ndarray, G: int) -> np.ndarray:
    """``a (N, G*R, H, W)`` as ``(G, R, N*H*W)``, each channel's images side by side (a copy)."""
    N, CR, H, W = a.shape
    out = np.empty((G, CR // G, N, H * W), a.dtype)
    out[...] = a.reshape(N, G, CR // G, H * W).transpose(1, 2, 0, 3)
    return out.reshape(G, CR // G, N * H * W)


def _images_back(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``a (G, R, N*H*W)`` back to ``shape = (N, G*R, H, W)`` (a copy), _images_inside undone."""
    N, CR, H, W = shape
    out = np.empty(shape, a.dtype)
    out.reshape(N, a.shape[0], a.shape[1], H * W)[...] = a.reshape(
        a.shape[0], a.shape[1], N, H * W
    ).transpose(2, 0, 1, 3)
    return out


def _is_depthwise(x_shape, w_shape, groups: int) -> bool:
    """One input channel per group (groups == in_channels): depthwise.py's direct path."""
    return _DEPTHWISE and groups == x_shape[1] and w_shape[1] == 1


def _dw_parts(x: np.ndarray) -> int:
    """Into how many runs depthwise.py may cut a one-chunk batch's channels (threads)."""
    big = x.nbytes >= max(_DW_SPLIT_BYTES, _DW_POOL_BYTES)
    return threads.get_num_threads() if big else 1


def _winograd_m(x, w, stride, padding, dilation, groups, out_size, forced: int | None) -> int:
    """The m of the Winograd F(m x m, 3x3) to run, or 0 for none.

    Winograd needs a 3x3 kernel, stride 1, no dilation, one group and one floating dtype;
    padding at most 2 on every side, so that the input gradient is a Winograd convolution
    too (its padding is 2 - padding). ``forced`` (algorithm "winograd") takes every such
    convolution; else "fast" takes those with enough channels and tiles for the transforms
    to pay.
    Tiny problems never get here: the tiny gathers come first.
    """
    N, C, H, W = x.shape
    (pt, pb), (pl, pr) = padding
    if not (
        w.shape[2:] == (3, 3)
        and stride == (1, 1)
        and dilation == (1, 1)
        and groups == 1
        and x.dtype == w.dtype
        and x.dtype in (np.float32, np.float64)
        and max(pt, pb, pl, pr) <= 2
        and out_size == (H + pt + pb - 2, W + pl + pr - 2)
        and min(out_size) > 0
        and N > 0
    ):
        return 0
    if forced is not None:
        return forced
    m = _WINOGRAD_M
    if (
        min(C, w.shape[0]) < _WINOGRAD_MIN_CHANNELS
        or threads.get_num_threads() > _WINOGRAD_MAX_THREADS
        or min(out_size) < _WINOGRAD_MIN_SIZE
        or not m
        or N * -(-out_size[0] // m) * -(-out_size[1] // m) * min(C, w.shape[0])
        < _WINOGRAD_MIN_TILE_CHANNELS
    ):
        return 0
    return m


def _winograd_backward(grad_out, x, w, padding, m, need_input, need_weight, forced):
    """``(grad_x, grad_w)`` of a Winograd-eligible convolution: grad_x by winograd.py; grad_w
    by winograd.py when Winograd is ``forced`` (algorithm "winograd"), else by the im2col
    layouts. winograd.py's weight gradient runs in float64 to round like im2col (in float32
    it rounded up to 2.6x worse, docs/winograd.md), and so measured 1.2-1.3x slower than
    im2col's (c3 and (16, 128, 28, 28) -> 128, 1 thread): im2col is both exact and faster."""
    g = np.ascontiguousarray(grad_out, dtype=x.dtype)
    grad_x = grad_w = None
    if need_input:
        # the full correlation with the flipped kernel, channels swapped (conv.py)
        w_t = _flipped_transposed(w, 1)
        pad_t = _full_padding(padding, (3, 3), (1, 1))
        grad_x = winograd.conv3x3(g, w_t, pad_t, m, _WG_CHUNK_BYTES, _scratch)
    if need_weight and forced:
        grad_w = winograd.weight_grad3x3(g, x, padding, m, _WG_CHUNK_BYTES, _scratch)
    elif need_weight:  # winograd=0: no Winograd, the im2col layouts
        one = (1, 1)
        grad_w = conv2d_backward(g, x, w, None, one, padding, one, 1, False, True, False, 0)[1]
    return grad_x, grad_w


# --------------------------------------------------------------------------
# Fast path, part 2: tiny problems, im2col and col2im as cached gathers
# --------------------------------------------------------------------------
#
# When the images and their columns hold only a few thousand numbers (the
# seed exercise, a 5x5 test image), the layout machinery above costs more
# than the arithmetic: col2im alone is kh*kw slice-adds of a handful of numbers,
# each ~2 us of NumPy call overhead. So for tiny problems the work of finding
# which pixel goes where is done once per shape, and cached as integer indices:
#
# - im2col is one gather: ``cols[n, e] = x_flat[n, src[e]]``, where
#   ``e = (c, p, q, i, j)`` numbers the column entries of one image and
#   x_flat holds its C*H*W pixels, plus one extra 0 for the entries that
#   read padding (if any do).
# - col2im, the adjoint, is a gather too: ``readers[:, u]`` lists the column
#   entries that copied pixel u (at most kh*kw of them), filled up with the
#   index of an extra 0 entry; pixel u's gradient is the sum of those
#   entries. These are the same sums as the slice adds (no np.add.at), and a
#   NaN or inf stays in the pixels and windows it belongs to.
#
# Columns are (N, C*kh*kw, OH*OW) here, image first, unlike the batch-last
# layout above; forward and backward decide the path by the same test.


def _is_tiny(x_shape, w_shape, out_size) -> bool:
    """Whether the images and their columns are small enough for the gathers."""
    N, C, H, W = x_shape
    kh, kw = w_shape[2:]
    return N * C * max(H * W, kh * kw * out_size[0] * out_size[1]) <= _TINY


@functools.lru_cache(maxsize=64)
def _tiny_indices(in_shape, kernel_size, out_size, stride, padding, dilation):
    """``(src, readers, padded)`` for one image of shape ``in_shape = (C, H, W)`` (see above)."""
    C, H, W = in_shape
    (kh, kw), (OH, OW), (sh, sw), ((pt, pb), (pl, pr)), (dh, dw) = (
        kernel_size,
        out_size,
        stride,
        padding,
        dilation,
    )
    pixels = C * H * W
    # Number the pixels of the padded image; padding is "pixel" `pixels`, the extra 0.
    ids = np.full((C, H + pt + pb, W + pl + pr), pixels, dtype=np.intp)
    ids[:, pt : pt + H, pl : pl + W] = np.arange(pixels).reshape(C, H, W)
    # im2col of the numbers (the way the loop reference reads windows)
    src = np.empty((C, kh, kw, OH, OW), dtype=np.intp)
    for p in range(kh):
        for q in range(kw):
            src[:, p, q] = ids[
                :,
                p * dh : p * dh + sh * (OH - 1) + 1 : sh,
                q * dw : q * dw + sw * (OW - 1) + 1 : sw,
            ]
    src = src.reshape(-1)
    # Invert it: for each pixel, the column entries that read it.
    lists: list[list[int]] = [[] for _ in range(pixels + 1)]
    for e, u in enumerate(src.tolist()):
        lists[u].append(e)
    # As a table (width, pixels): row r holds every pixel's r-th reader, so the sum
    # over readers adds whole rows (a reduction along a short last axis is slow).
    width = max([len(r) for r in lists[:pixels]] + [1])
    readers = np.full((width, pixels), src.size, dtype=np.intp)  # src.size: the extra 0 entry
    for u in range(pixels):
        readers[: len(lists[u]), u] = lists[u]
    padded = bool(lists[pixels])  # whether any entry reads padding
    return src, readers, padded


def _with_zero(a: np.ndarray) -> np.ndarray:
    """``a (N, M)`` with a column of zeros appended: ``(N, M + 1)``."""
    out = np.zeros((a.shape[0], a.shape[1] + 1), dtype=a.dtype)
    out[:, :-1] = a
    return out


def _tiny_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a (M, K) @ b (K, P)`` for the tiny path's one-image, one-group GEMMs.

    np.dot takes ~1.0 us for them where np.matmul on the batched 4-D views takes ~1.4-2.1 us
    (np.matmul or @ on the 2-D arrays ~1.7 us): (2, 27) @ (27, 9) and its two transposed
    products, float32, 1 thread; the same BLAS products. With K == 1 (an outer product)
    np.dot's BLAS call raises a spurious 'invalid value' warning on an inf that np.matmul
    does not (1 * inf is inf), so np.matmul keeps that case.
    """
    return np.dot(a, b) if a.shape[1] > 1 else np.matmul(a, b)


def _tiny_im2col(x: np.ndarray, src: np.ndarray, padded: bool) -> np.ndarray:
    """Columns ``(N, C*kh*kw*OH*OW)`` of ``x (N, C, H, W)``: one gather."""
    N, C, H, W = x.shape
    x_flat = x.reshape(N, C * H * W)
    return (_with_zero(x_flat) if padded else x_flat).take(src, axis=1)


def _tiny_plan(x, w, stride, padding, dilation, groups) -> tuple | None:
    """``(out_size, src, readers, padded)`` when conv2d of these operands takes the tiny path
    (not a 1x1 convolution, images and columns within ``_TINY``), else None.

    Kept per call signature (shapes and options, and the _TINY knob): a training loop asks
    the same questions at every step, and answering them (output size, the 1x1 and size
    tests, the indices' cache) took ~2.5 us a call, as long as the tiny GEMM. Measured on
    issue 14's small case, (1, 3, 5, 5) * (2, 3, 3, 3) s2 p1, kernels alone: forward ~11 ->
    ~8.5 us, backward ~18 -> ~15.5 us. Options that are not hashable (lists) skip the cache
    and the tiny path (the general path takes any sequence).
    """
    key = (x.shape, w.shape, stride, padding, dilation, groups, _TINY)
    try:
        return _tiny_plans[key]
    except KeyError:
        pass
    except TypeError:  # (an unhashable option)
        return None
    out_size = conv2d_output_size(x.shape[2], x.shape[3], w.shape[2:], stride, padding, dilation)
    plan = None
    if not _is_pointwise(w, stride, padding, x.shape[2:], out_size) and _is_tiny(
        x.shape, w.shape, out_size
    ):
        indices = _tiny_indices(x.shape[1:], w.shape[2:], out_size, stride, padding, dilation)
        plan = (out_size, *indices)
    if len(_tiny_plans) >= _TINY_PLANS_MAX:  # full: the oldest signature makes room
        _tiny_plans.pop(next(iter(_tiny_plans)), None)
    _tiny_plans[key] = plan
    return plan


_tiny_plans: dict[tuple, tuple | None] = {}
_TINY_PLANS_MAX = 256  # signatures kept, the oldest dropped first


def _tiny_conv2d_forward(x, w, b, groups, plan):
    """conv2d for tiny problems: gather the columns, one batched GEMM, output NCHW.
    ``plan`` is ``_tiny_plan``'s."""
    (OH, OW), src, _, padded = plan
    N = x.shape[0]
    O, C_g, kh, kw = w.shape
    G, K = groups, C_g * kh * kw
    cols = _tiny_im2col(x, src, padded)
    if N == 1 and G == 1:  # one image, one group: a 2-D np.dot (_tiny_dot)
        y = _tiny_dot(w.reshape(O, K), cols.reshape(K, OH * OW)).reshape(N, O, OH, OW)
    else:
        # (G, O/G, K) @ (N, G, K, OH*OW) -> (N, G, O/G, OH*OW), which is NCHW
        y = np.matmul(w.reshape(G, O // G, K), cols.reshape(N, G, K, OH * OW))
        y = y.reshape(N, O, OH, OW)
    if b is not None:
        y += b.reshape(O, 1, 1)
    return y, cols


def _tiny_conv2d_backward(grad_out, x, w, cols, groups, plan, need_input, need_weight):
    """``(grad_x, grad_w)`` of the tiny forward: the GEMMs, and col2im as a gather and a sum.
    ``plan`` is ``_tiny_plan``'s, for grad_out's output size."""
    (OH, OW), src, readers, padded = plan
    N = x.shape[0]
    O, C_g, kh, kw = w.shape
    G, K = groups, C_g * kh * kw
    one = N == 1 and G == 1  # one image, one group: 2-D np.dot (_tiny_dot)
    g = grad_out.reshape(O, OH * OW) if one else grad_out.reshape(N, G, O // G, OH * OW)
    grad_x = grad_w = None
    if need_weight:
        if cols is None:
            cols = _tiny_im2col(x, src, padded)
        # dW = sum over images of G[n] @ cols[n].T
        if one:
            grad_w = _tiny_dot(g, cols.reshape(K, OH * OW).T).reshape(w.shape)
        elif N == 1:
            gw = np.matmul(g[0], cols.reshape(G, K, OH * OW).transpose(0, 2, 1))
            grad_w = gw.reshape(w.shape)
        else:
            # One GEMM per group over all images' windows, (O/G, N*OH*OW) @ (N*OH*OW, K),
            # instead of one per image and a sum: with one window per image those were outer
            # products, which np.matmul runs without BLAS (InceptionAux's 5x5 conv on a 5x5
            # map, 4 images, 768 x 3200 weights, 1 thread: 48 ms -> 0.5 ms). The copies are
            # of g and the columns, both within _TINY.
            gt = g.transpose(1, 2, 0, 3).reshape(G, O // G, N * OH * OW)
            ct = cols.reshape(N, G, K, OH * OW).transpose(1, 0, 3, 2).reshape(G, -1, K)
            grad_w = np.matmul(gt, ct).reshape(w.shape)
        grad_w = grad_w.astype(w.dtype, copy=False)
    if need_input:
        # dcols = W.T @ G; then each pixel sums the column entries that copied it
        if one:
            dcols = _tiny_dot(w.reshape(O, K).T, g).reshape(N, K * OH * OW)
        else:
            dcols = np.matmul(w.reshape(G, O // G, K).transpose(0, 2, 1), g)
            dcols = dcols.reshape(N, G * K * OH * OW)
        grad_x = np.add.reduce(_with_zero(dcols).take(readers, axis=1), axis=1)
        grad_x = grad_x.reshape(x.shape).astype(x.dtype, copy=False)
    return grad_x, grad_w


# --------------------------------------------------------------------------
# conv2d: fast forward
# --------------------------------------------------------------------------


def conv2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: IntPair,
    padding: Padding2,
    dilation: IntPair,
    groups: int,
    winograd: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Fast conv2d: ``x (N, C, H, W)``, ``w (O, C//groups, kh, kw)``, ``b (O,)`` -> ``(y, cols)``.

    ``y`` is ``(N, O, OH, OW)``. ``cols`` are the im2col columns, for
    ``conv2d_backward`` to reuse (pass them on as they are) when they are
    small; else None, and the backward rebuilds them: cheaper than holding big
    columns from forward to backward (fresh memory is slow, see ``_scratch``).
    ``winograd=m`` runs every convolution Winograd can take as F(m x m, 3x3)
    (algorithm "winograd"); None leaves the choice to the size rules.
    """
    plan = _tiny_plan(x, w, stride, padding, dilation, groups)
    if plan is not None:  # (before Winograd, as in _conv2d_forward)
        return _tiny_conv2d_forward(x, w, b, groups, plan)
    out_size = conv2d_output_size(x.shape[2], x.shape[3], w.shape[2:], stride, padding, dilation)
    return _conv2d_forward(x, w, b, stride, padding, dilation, groups, out_size, winograd)


def _conv2d_forward(
    x, w, b, stride, padding, dilation, groups, out_size, winograd_m=None, also=None
):
    """conv2d_forward's work; ``also(batch, cols, plan)``, if given, runs on each chunk's
    im2col columns while they are in cache (im2col layouts only: not the other paths)."""
    N, C, H, W = x.shape
    O, C_g, kh, kw = w.shape
    OH, OW = out_size
    G, K = groups, C_g * kh * kw
    W_mat = w.reshape(G, O // G, K)  # block-diagonal W: one (O/G, K) block per group

    cols = None
    if _is_pointwise(w, stride, padding, (H, W), out_size):
        if _pointwise_one_gemm(N, O // G, C_g, H * W, w.itemsize, reads_w=True):
            # W @ [X[0] ... X[N-1]]: one GEMM over all the images' pixels (see there)
            y = _images_back(np.matmul(W_mat, _images_inside(x, G)), (N, O, H, W))
        else:
            # Y[n] = W @ X[n] for all images at once: batched GEMM straight into NCHW
            y = np.matmul(W_mat, x.reshape(N, G, C_g, H * W)).reshape(N, O, H, W)
        if b is not None:
            y += b.reshape(O, 1, 1)
    elif _is_tiny(x.shape, w.shape, out_size):
        indices = _tiny_indices(x.shape[1:], (kh, kw), out_size, stride, padding, dilation)
        y, cols = _tiny_conv2d_forward(x, w, b, groups, (out_size, *indices))
    elif m := _winograd_m(x, w, stride, padding, dilation, groups, out_size, winograd_m):
        y = winograd.conv3x3(x, w, padding, m, _WG_CHUNK_BYTES, _scratch)
        if b is not None:
            y += b.reshape(O, 1, 1)
    elif _is_depthwise(x.shape, w.shape, groups):
        y = depthwise.depthwise_forward(
            x,
            w,
            b,
            stride,
            padding,
            dilation,
            out_size,
            _DW_CHUNK_BYTES,
            _DW_BATCH_INSIDE,
            _scratch,
            _dw_over(x),
            _dw_parts(x),
        )
    else:
        y = np.empty((N, O, OH, OW), dtype=np.result_type(x, w))
        # Columns up to _KEEP_COLS_BYTES are built in one chunk and kept for the backward,
        # which then skips its im2col; thin weights take chunks of about 1 MB instead, kept
        # only when that is one chunk (_col_chunks: c2 runs four, rebuilt, 0.8x the time)
        chunks, keep = _col_chunks(N, C * kh * kw * OH * OW * x.itemsize, O // G, OH * OW)

        def run(batches: list[slice]) -> np.ndarray | None:
            """One thread's chunks: im2col, GEMM, into y (each image's output is its own)."""
            cols = None
            for batch in batches:
                xb = x[batch]
                plan = _plan(xb.shape, C * kh * kw, out_size, stride, padding)
                whole = keep or also or O // G <= _THIN_GEMM  # (thin: _matmul_blocks' blocks)
                rows = [(0, OH)] if whole else _row_parts(plan, OH, O // G, K, x.itemsize)
                if len(rows) > 1:  # in L2-sized parts of output rows (_row_parts)
                    _rows_to_nchw(
                        W_mat, _to_phases(xb, padding, plan), rows, (kh, kw), out_size,
                        stride, dilation, plan, b, y[batch],
                    )  # fmt: skip
                    continue
                shape = (C * kh * kw, OH * plan.grid_w * len(xb))
                out = None if keep else _scratch("cols", shape, x.dtype)
                cols = im2col(
                    _to_phases(xb, padding, plan),
                    (kh, kw),
                    out_size,
                    stride,
                    dilation,
                    plan.flat,
                    out=out,
                )
                _matmul_to_nchw(W_mat, cols.reshape(G, K, -1), b, y[batch], plan.grid_w)
                if also is not None:
                    also(batch, cols, plan)
            return cols

        cols = _over_threads(run, chunks, _pool_pays(chunks, O // G))[-1]
        if not keep:
            cols = None
    return y, cols


# --------------------------------------------------------------------------
# conv2d: backward
# --------------------------------------------------------------------------


def _input_grad(
    g, W_mat, out, kernel_size, out_size, stride, padding, dilation, plan, w_rows=None
) -> None:
    """``out (n, C, H, W) = dL/dx`` from batch-last ``g (G, O/G, OH*OWg*n)``: GEMM, col2im, crop.

    ``W_mat`` is ``(G, O/G, C/G*kh*kw)``, ``out_size`` is ``(OH, OW)``; ``w_rows``, if given,
    is ``_rows_weight(W_mat, kernel_size)`` (made once for all chunks, see _input_grad_rows).
    This is also the whole of conv_transpose2d's forward.
    """
    G, _, K = W_mat.shape
    dtype = np.result_type(W_mat, g)
    if _rows_path(W_mat, stride) and not plan.flat:
        phases = _scratch("phases", plan.phases_shape, dtype)
        if w_rows is None:
            w_rows = _rows_weight(W_mat, kernel_size)
        _input_grad_rows(g, w_rows, phases[0, 0], kernel_size, out_size, dilation)
        _from_phases(phases, padding, out)
        return
    # W.T @ G: for every window, what each of its pixels receives
    dcols = _matmul_blocks(W_mat.transpose(0, 2, 1), g, _scratch("cols", (G, K, g.shape[2]), dtype))
    phases = col2im(
        dcols,
        plan.phases_shape,
        kernel_size,
        out_size,
        stride,
        dilation,
        plan.flat,
        out=_scratch("phases", plan.phases_shape, dtype),
    )
    _from_phases(phases, padding, out)  # crop the padding off, back to (n, C, H, W)


def _input_grad_rows(g, w_rows, dst, kernel_size, out_size, dilation) -> None:
    """Stride-1 ``_input_grad`` with the kernel's columns summed by the GEMM (thin weights).

    ``dst (C, Hq, Wq, n)`` (the padded input, batch last) receives
    ``sum_{p,q,o} W[o, c, p, q] * g[o, i, j, m]`` at ``(c, i + p*dh, j + q*dw, m)``.
    col2im adds kh*kw slices of the columns; here the kw offsets q of one kernel row
    are folded into the GEMM: ``g_q[(o, q), (i, x, m)] = g[o, i, x - q*dw, m]`` (zero
    outside the outputs) are g's shifted copies, and one GEMM with the weights as
    ``((c, p), (o, q))`` gives, per kernel row p, a whole ``(C, OH, Wq, n)`` block;
    kh slice-adds place them. The GEMM does Wq/OW times more multiplications (the
    zeros), the adds are kw times fewer, and the shifted copies of g are small when
    there are few output channels. c2 (64, 6, 14, 14) -> 16, 5x5, 1 thread, min of
    100: GEMM + col2im 0.67 ms -> 0.55 ms. The same sums; only their order differs.
    ``w_rows`` is ``_rows_weight(W_mat, kernel_size)``, the weights as ``((c, p), (o, q))``.
    """
    G, Ckh, Okw = w_rows.shape
    kh, kw = kernel_size
    OH, OW = out_size
    _, dw = dilation
    C, Hq, Wq, n = dst.shape
    Cg, Og = Ckh // kh, Okw // kw
    O = G * Og
    dtype = dst.dtype
    # g on a grid (kw-1)*dw wider on each side, zero around the outputs
    span = (kw - 1) * dw
    gpad = _scratch("gpad", (O, OH, Wq + span, n), dtype)
    gpad[:, :, :span] = 0
    gpad[:, :, span + OW :] = 0
    gpad[:, :, span : span + OW] = g.reshape(O, OH, OW, n)
    # g_q[o, q, i, x, m] = gpad[o, i, x + span - q*dw, m]: one strided view, one copy. The
    # view straight from gpad's buffer (gpad is C-contiguous; the view starts at column
    # span): as_strided's Python wrapper took ~15 us a call of the ~80 a chunk costs
    sO, sI, sX, sM = gpad.strides
    shifted = np.ndarray((O, kw, OH, Wq, n), dtype, gpad, span * sX, (sO, -dw * sX, sI, sX, sM))
    g_q = _scratch("gcols", (O, kw, OH, Wq, n), dtype)
    np.copyto(g_q, shifted)
    rows = _matmul_blocks(
        w_rows.astype(dtype, copy=False),
        g_q.reshape(G, Og * kw, OH * Wq * n),
        _scratch("cols", (G, Cg * kh, OH * Wq * n), dtype),
        thin=_THIN_GEMM > 0,  # (its inner dimension O/G*kw is past the threshold)
    ).reshape(C, kh, OH, Wq, n)  # (G, Cg) is C
    dst.fill(0)
    dh = dilation[0]
    for p in range(kh):
        dst[:, p * dh : p * dh + OH] += rows[:, p]


def _rows_path(W_mat: np.ndarray, stride: IntPair) -> bool:
    """Whether _input_grad takes _input_grad_rows (when its chunk's plan has no flat rows)."""
    return stride == (1, 1) and W_mat.shape[1] <= _ROWS_COL2IM


def _rows_weight(W_mat: np.ndarray, kernel_size: IntPair) -> np.ndarray:
    """``W_mat (G, O/G, C/G*kh*kw)`` as ``(G, (c, p), (o, q))``, _input_grad_rows' weights (a
    copy: made once per call, not once per chunk, ~8 us each)."""
    G, Og, K = W_mat.shape
    kh, kw = kernel_size
    Cg = K // (kh * kw)
    return W_mat.reshape(G, Og, Cg, kh, kw).transpose(0, 2, 3, 1, 4).reshape(G, Cg * kh, Og * kw)


def _flipped_transposed(w: np.ndarray, groups: int) -> np.ndarray:
    """The weight ``(C, O/G, kh, kw)`` of the "full" correlation that maps grad_out to grad_x:
    w ``(O, C/G, kh, kw)`` flipped in both kernel axes, in and out channels swapped per group."""
    O, C_g, kh, kw = w.shape
    blocks = w.reshape(groups, O // groups, C_g, kh, kw)[..., ::-1, ::-1]
    return np.ascontiguousarray(blocks.transpose(0, 2, 1, 3, 4)).reshape(
        groups * C_g, O // groups, kh, kw
    )


def _full_padding(padding: Padding2, kernel_size: IntPair, dilation: IntPair) -> Padding2:
    """The "full" correlation's padding: ``dilation * (k - 1) - padding`` on each side."""
    (pt, pb), (pl, pr) = padding
    span_h, span_w = dilation[0] * (kernel_size[0] - 1), dilation[1] * (kernel_size[1] - 1)
    return (span_h - pt, span_h - pb), (span_w - pl, span_w - pr)


def _input_grad_as_forward(
    N: int, C_g: int, kernel_size, out_size, stride, padding, dilation
) -> bool:
    """Whether a stride-1 input gradient runs as a forward convolution of grad_out.

    dL/dx is the "full" correlation of grad_out with the flipped kernel, channels swapped
    (conv.py's derivation): for stride 1 a plain convolution with padding d*(k-1) - p, so
    the forward's im2col + GEMM computes it instead of GEMM + col2im. Its GEMM has the C/G
    input channels as rows and (O/G)*kh*kw as inner dimension, where col2im's has kh*kw*C/G
    rows and only O/G inner: OpenBLAS runs the long inner dimension faster, and im2col's
    copies cost less than col2im's adds. Measured (float32, 1 thread, best of 5, ms,
    col2im -> as forward): (16, 32, 32, 32) -> 32 3x3 6.55 -> 4.69 (2 threads 4.17 -> 2.81),
    (8, 64, 16, 16) 2.97 -> 2.23, (8, 128, 8, 8) 2.12 -> 1.77, (8, 256, 4, 4) 1.85 -> 1.62,
    (32, 64, 28, 28) 31.2 -> 23.2, (16, 64, 32, 32) 5x5 63.2 -> 47.6. Thin ones (C/G <= 16
    rows: c2's 6, 3 RGB channels) were 1.3-2.5x slower, and 56x56 outputs gained nothing
    (c3 95 vs 98 ms), so those keep col2im. So do batches of few windows (N*OH*OW < 256):
    the flipped copy of the weight costs more than the GEMM saves there (ResNet-18's last
    stage at 64x64, (8, 512, 2, 2): 2.2 -> 3.7 ms, 1.4 ms of it the copy). Padding past
    d*(k-1) (some inputs reach no window) would need a negative padding: col2im too.
    """
    (pt, pb), (pl, pr) = padding
    span_h, span_w = dilation[0] * (kernel_size[0] - 1), dilation[1] * (kernel_size[1] - 1)
    return (
        stride == (1, 1)
        and C_g >= _AS_FORWARD_MIN_CHANNELS
        and out_size[0] * out_size[1] <= _AS_FORWARD_MAX_PIXELS
        and N * out_size[0] * out_size[1] >= _AS_FORWARD_MIN_WINDOWS
        and max(pt, pb) <= span_h
        and max(pl, pr) <= span_w
    )


def _weight_grad_beside(x: np.ndarray, groups: int, tail: tuple[int, int, int], shares: dict):
    """The ``also`` of an input gradient run as a forward: each chunk's share of dW into
    ``shares[first image]`` (``(G, C/G, *tail)``, tail = (O/G, kh, kw)), from the chunk's
    columns of grad_out.

    Those columns hold, for kernel offset (p', q') = (kh-1-p, kw-1-q), grad_out padded by
    d*(k-1) - padding at every pixel of x's grid, and

        dW[o, c, p, q] = sum over n, u, v of x[n, c, u, v] * g_pad[n, o, u + p'*dh, v + q'*dw]

    (docs/conv_backprop.md's weight gradient, indexed by x's pixels instead of the outputs):
    one GEMM of x, batch last on the same grid (zero in its junk columns), with those
    columns. So the backward builds no im2col columns of x, only this one copy of it. The
    sum holds every (output, offset) pair whose pixel lies inside x, plus pairs of x with
    zeros (padding of grad_out) and of zeros with the junk columns: exact while x and
    grad_out are finite. An inf or NaN always shows in the result (each value of x meets
    every offset), and the caller then runs the usual dW.

    The GEMM runs as (columns @ x.T), K rows of the output and the pixels as the long
    contraction, as the usual dW does. Measured against the usual dW (im2col of x), dX + dW,
    float32, 1 thread, min of 25 in thread CPU time on the loaded machine, 3x3 pad 1:
    (16, 32, 32, 32) -> 32 10.2 -> 9.6 ms, (8, 64, 16, 16) -> 64 5.9-6.1 -> 5.1-5.4,
    (32, 64, 28, 28) -> 64 49.7-50.7 -> 47.6-49.7, (8, 128, 8, 8) -> 128 alike (4.0-4.6).
    (x @ columns.T, the other way round, was 10-20% slower than the usual dW.)
    """

    def also(batch: slice, cols: np.ndarray, plan: _Plan) -> None:
        xc = _grad_columns(x[batch], plan.grid_w)  # (C, H*grid_w*n), zero junk columns
        C, P = xc.shape
        gc = cols.reshape(groups, -1, P)  # (G, (O/G)*kh*kw, P)
        share = np.matmul(gc, xc.reshape(groups, C // groups, P).transpose(0, 2, 1))
        shares[batch.start] = share.transpose(0, 2, 1).reshape(groups, C // groups, *tail)

    return also


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
    winograd: int | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients of conv2d: ``grad_out (N, O, OH, OW)`` -> ``(grad_x, grad_w, grad_b)``.

    Shapes are those of x, w and ``(O,)``; None for those not needed. ``cols``
    is what ``conv2d_forward`` returned (None: rebuild them here).
    """
    grad_b = channels.channel_sum(grad_out) if need_bias else None
    plan = _tiny_plan(x, w, stride, padding, dilation, groups)
    if plan is not None and plan[0] == grad_out.shape[2:]:
        grad_x, grad_w = _tiny_conv2d_backward(
            grad_out, x, w, cols, groups, plan, need_input, need_weight
        )
        return grad_x, grad_w, grad_b
    N, C, H, W = x.shape
    O, C_g, kh, kw = w.shape
    OH, OW = grad_out.shape[2:]
    G, K = groups, C_g * kh * kw
    W_mat = w.reshape(G, O // G, K)

    pointwise = _is_pointwise(w, stride, padding, (H, W), (OH, OW))
    if not pointwise and _is_tiny(x.shape, w.shape, (OH, OW)):
        # (grad_out of another size than conv2d's formula: conv_transpose2d's output_padding)
        indices = _tiny_indices(x.shape[1:], (kh, kw), (OH, OW), stride, padding, dilation)
        grad_x, grad_w = _tiny_conv2d_backward(
            grad_out, x, w, cols, groups, ((OH, OW), *indices), need_input, need_weight
        )
        return grad_x, grad_w, grad_b
    if not pointwise and (
        m := _winograd_m(x, w, stride, padding, dilation, groups, (OH, OW), winograd)
    ):
        grad_x, grad_w = _winograd_backward(
            grad_out, x, w, padding, m, need_input, need_weight, winograd is not None
        )
        return grad_x, grad_w, grad_b
    if not pointwise and _is_depthwise(x.shape, w.shape, groups):
        grad_x, grad_w = depthwise.depthwise_backward(
            grad_out,
            x,
            w,
            stride,
            padding,
            dilation,
            need_input,
            need_weight,
            _DW_CHUNK_BYTES,
            _DW_BATCH_INSIDE,
            _scratch,
            _dw_over(x),
            _dw_parts(x),
        )
        return grad_x, grad_w, grad_b
    if (
        need_input
        and not pointwise
        and _input_grad_as_forward(N, C_g, (kh, kw), (OH, OW), stride, padding, dilation)
    ):
        # dW from the same columns of grad_out, when the forward kept no columns of x
        fused = (
            need_weight
            and cols is None
            and x.dtype == grad_out.dtype == w.dtype
            and depthwise.windows_read_input(H, OH, 1, padding[0][0], dilation[0], kh)
            and depthwise.windows_read_input(W, OW, 1, padding[1][0], dilation[1], kw)
        )
        shares: dict[int, np.ndarray] = {}
        grad_x, _ = _conv2d_forward(
            grad_out,
            _flipped_transposed(w, G),
            None,
            (1, 1),
            _full_padding(padding, (kh, kw), dilation),
            dilation,
            G,
            (H, W),
            0,  # no Winograd (_winograd_backward took those this algorithm runs)
            _weight_grad_beside(x, G, (O // G, kh, kw), shares) if fused else None,
        )
        grad_x = grad_x.astype(x.dtype, copy=False)
        need_input = False  # done: the rest computes dW only
        if shares:
            # shares[start] (G, C/G, O/G, kh, kw) holds dW flipped, channels swapped; summed
            # in chunk order (the same numbers at any thread count)
            dw_t = sum(shares[k] for k in sorted(shares))
            dw_t = dw_t[..., ::-1, ::-1].transpose(0, 2, 1, 3, 4)  # (G, O/G, C/G, kh, kw)
            # exact while x and grad_out are finite (see _weight_grad_beside); else col2im's
            if np.isfinite(dw_t).all():
                grad_w = np.ascontiguousarray(dw_t).reshape(w.shape)
                return grad_x, grad_w, grad_b
    else:
        grad_x = np.empty(x.shape, dtype=x.dtype) if need_input else None
    grad_w = None
    if pointwise and _pointwise_one_gemm(N, O // G, C_g, H * W, w.itemsize, reads_w=False):
        # the images side by side: dW = G @ X.T one GEMM over all their pixels, and
        # dX = W.T @ G (through _images_inside, see _pointwise_one_gemm)
        g = _images_inside(grad_out, G)
        if need_weight:
            grad_w = np.matmul(g, _images_inside(x, G).transpose(0, 2, 1))
        if need_input:
            gx = np.matmul(W_mat.transpose(0, 2, 1), g)
            grad_x[...] = _images_back(gx, x.shape)
    elif pointwise:
        g = np.ascontiguousarray(grad_out).reshape(N, G, O // G, H * W)
        if need_weight:  # dW = sum over images of G[n] @ X[n].T
            x_mat = x.reshape(N, G, C_g, H * W)
            grad_w = np.matmul(g, x_mat.transpose(0, 1, 3, 2)).sum(axis=0)
        if need_input:  # dX[n] = W.T @ G[n], written straight into grad_x
            np.matmul(
                W_mat.transpose(0, 2, 1),
                g,
                out=grad_x.reshape(N, G, C_g, H * W),
                casting="unsafe",
            )
    elif need_weight or need_input:
        chunks = (
            [slice(0, N)]
            if cols is not None
            else _col_chunks(N, K * G * OH * OW * x.itemsize, O // G, OH * OW)[0]
        )
        # dW = G @ cols.T: the correlation of the input with grad_out. When a chunk has more
        # windows than cols has rows (K), it runs as (cols @ G.T).T: OpenBLAS runs the long
        # contraction 1.2-1.9x faster with the K rows of cols as the output's rows (1
        # thread, c2 (16, 150) x 6400: 0.76 -> 0.43 ms; c3 chunk (64, 576) x 3640: 5.6 ->
        # 3.7 ms; c4 (64, 147) x 12544: 3.5 -> 3.2 ms), and the (K, O) result is small
        # enough to transpose. With few windows (ResNet's last stages: (512, 4608) x 32 at
        # 2x2) both orders run alike, and the transposed copy of a big (K, O) result cost
        # 7x the GEMM (1 thread: 1.9 ms GEMM, 14 ms copy), so G @ cols.T writes dW in w's
        # own layout, which is also the layout .grad must have.
        transposed = OH * OW * (chunks[0].stop - chunks[0].start) > K
        w_rows = _rows_weight(W_mat, (kh, kw)) if need_input and _rows_path(W_mat, stride) else None

        def run(batches: list[slice]) -> list[np.ndarray]:
            """One thread's chunks: grad_x into its images, and each chunk's share of dW."""
            parts = []
            for batch in batches:
                xb = x[batch]
                plan = _plan(xb.shape, C * kh * kw, (OH, OW), stride, padding)
                g = _grad_columns(grad_out[batch], plan.grid_w).reshape(G, O // G, -1)
                if need_weight:
                    chunk_cols = cols
                    if cols is None:  # not kept by the forward: rebuild this chunk's columns
                        out = _scratch("cols", (C * kh * kw, g.shape[2]), x.dtype)
                        chunk_cols = im2col(
                            _to_phases(xb, padding, plan),
                            (kh, kw),
                            (OH, OW),
                            stride,
                            dilation,
                            plan.flat,
                            out=out,
                        )
                    chunk_cols = chunk_cols.reshape(G, K, -1)
                    if transposed:  # (G, K, O/G)
                        parts.append(_weight_grad_blocks(chunk_cols, g))
                    else:  # (G, O/G, K)
                        parts.append(np.matmul(g, chunk_cols.transpose(0, 2, 1)))
                if need_input:
                    _input_grad(
                        g,
                        W_mat,
                        grad_x[batch],
                        (kh, kw),
                        (OH, OW),
                        stride,
                        padding,
                        dilation,
                        plan,
                        w_rows,
                    )
            return parts

        # each chunk's share of dW in chunk order, whatever the thread count: the same sum
        split = _pool_pays(chunks, O // G)
        parts = [chunk_dw for part in _over_threads(run, chunks, split) for chunk_dw in part]
        if need_weight:
            grad_w = parts[0]  # a fresh array from np.matmul
            for chunk_dw in parts[1:]:
                grad_w += chunk_dw
            if transposed:
                grad_w = np.ascontiguousarray(grad_w.transpose(0, 2, 1))
    if need_weight:
        # C-ordered, w's layout: the layout PyTorch gives .grad (the engine copies a leaf's
        # first gradient into the leaf's layout; a C-ordered one is a plain copy)
        grad_w = grad_w.astype(w.dtype, copy=False).reshape(w.shape)
    return grad_x, grad_w, grad_b


# --------------------------------------------------------------------------
# conv_transpose2d: conv2d's input gradient, run forward
# --------------------------------------------------------------------------


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
    """Transposed conv: ``x (N, C_in, H, W)``, ``w (C_in, O//groups, kh, kw)`` -> ``(N, O, OH, OW)``

    Exactly conv2d's input gradient: x plays grad_out, and w is the weight of
    a conv2d from O channels to C_in channels whose input has size (OH, OW).
    """
    N, C_in, H, W = x.shape
    _, O_g, kh, kw = w.shape
    O = O_g * groups
    OH, OW = conv_transpose2d_output_size(H, W, (kh, kw), stride, padding, output_padding, dilation)
    pad = ((padding[0], padding[0]), (padding[1], padding[1]))
    if output_padding == (0, 0) and _input_grad_as_forward(
        N, O_g, (kh, kw), (H, W), stride, pad, dilation
    ):
        # conv2d's input gradient as a forward convolution (see _input_grad_as_forward)
        y, _ = _conv2d_forward(
            x,
            _flipped_transposed(w, groups),
            b,
            (1, 1),
            _full_padding(pad, (kh, kw), dilation),
            dilation,
            groups,
            (OH, OW),
            0,
        )
        return y
    y = np.empty((N, O, OH, OW), dtype=np.result_type(x, w))
    W_mat = w.reshape(groups, C_in // groups, O_g * kh * kw)
    w_rows = _rows_weight(W_mat, (kh, kw)) if _rows_path(W_mat, stride) else None

    def run(batches: list[slice]) -> None:
        for batch in batches:
            yb = y[batch]  # the input of the conv2d whose input gradient this is
            plan = _plan(yb.shape, O * kh * kw, (H, W), stride, pad)
            g = _grad_columns(x[batch], plan.grid_w).reshape(groups, C_in // groups, -1)
            _input_grad(g, W_mat, yb, (kh, kw), (H, W), stride, pad, dilation, plan, w_rows)

    _over_threads(run, _chunks(N, O * kh * kw * H * W * y.itemsize))
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
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients of conv_transpose2d: ``grad_out (N, O, OH, OW)`` -> ``(grad_x, grad_w, grad_b)``.

    The forward is ``y = T(x, w)``, T being conv2d's input-gradient map, i.e.
    the adjoint of ``conv2d(., w)``: ``<T(x, w), g> = <x, conv2d(g, w)>``.
    So grad_x is conv2d forward of grad_out, and grad_w is conv2d's weight
    gradient with the roles swapped (input grad_out, "grad_output" x); both
    use the same columns of grad_out.
    """
    H, W = x.shape[2:]
    pad = ((padding[0], padding[0]), (padding[1], padding[1]))
    grad_b = channels.channel_sum(grad_out) if need_bias else None
    grad_x, cols = None, None
    if need_input:
        # Output size (H, W), not the formula: output_padding rows fed no window.
        grad_x, cols = _conv2d_forward(grad_out, w, None, stride, pad, dilation, groups, (H, W))
        grad_x = grad_x.astype(x.dtype, copy=False)
    grad_w = None
    if need_weight:
        _, grad_w, _ = conv2d_backward(
            x,
            grad_out,
            w,
            cols,
            stride,
            pad,
            dilation,
            groups,
            need_input=False,
            need_weight=True,
            need_bias=False,
        )
    return grad_x, grad_w, grad_b
