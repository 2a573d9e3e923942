"""Shared hypothesis strategies: configurations that are valid by construction."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# ---------------------------------------------------------------------------
# Pooling and padding configurations (tests/test_pool_pad_kernels.py)
# ---------------------------------------------------------------------------


class PoolConfig(NamedTuple):
    """A pooling problem that is valid by construction (PyTorch's rules)."""

    shape: tuple[int, int, int, int]  # (N, C, H, W)
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    ceil_mode: bool
    count_include_pad: bool
    divisor_override: int | None
    seed: int


@st.composite
def pool2d_configs(
    draw,
    dilation: bool = True,
    max_batch: int = 3,
    max_channels: int = 3,
    max_extra: int = 5,
) -> PoolConfig:
    """Kernel 1-4 (non-square), stride 1-3, padding <= kernel // 2, dilation 1-2
    (1 when ``dilation=False``, as for avg pooling), both ceil modes. H and W are
    at least the dilated kernel extent, so every window holds a real element."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (
        draw(st.integers(0, kernel[0] // 2)),
        draw(st.integers(0, kernel[1] // 2)),
    )
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    H = dil[0] * (kernel[0] - 1) + 1 + draw(st.integers(0, max_extra))
    W = dil[1] * (kernel[1] - 1) + 1 + draw(st.integers(0, max_extra))
    shape = (draw(st.integers(1, max_batch)), draw(st.integers(1, max_channels)), H, W)
    return PoolConfig(
        shape=shape,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        dilation=dil,
        ceil_mode=draw(st.booleans()),
        count_include_pad=draw(st.booleans()),
        divisor_override=draw(st.one_of(st.none(), st.integers(1, 9))),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


PAD_MODES = ("constant", "reflect", "replicate", "circular")


@st.composite
def pad_configs(draw, mode: str | None = None) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """(shape, pad, mode) for F.pad: rank 1-4, padding the last 1-3 dims, widths
    within each mode's limits (reflect < n, circular <= n, negative only for
    constant, never shrinking a dim below 1)."""
    mode = mode or draw(st.sampled_from(PAD_MODES))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=4)))
    pad: list[int] = []
    for i in range(draw(st.integers(1, min(3, len(shape))))):
        n = shape[-1 - i]  # PyTorch's pad tuple lists the last dim first
        if mode == "reflect":
            left, right = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        elif mode == "circular":
            left, right = draw(st.integers(0, n)), draw(st.integers(0, n))
        elif mode == "replicate":
            left, right = draw(st.integers(0, 3)), draw(st.integers(0, 3))
        else:
            left = draw(st.integers(-(n - 1), 3))
            right = draw(st.integers(-(n - 1 - max(-left, 0)), 3))
        pad += [left, right]
    return shape, tuple(pad), mode


# ---------------------------------------------------------------------------
# Packed sequences (tests/test_rnn_packing.py)
# ---------------------------------------------------------------------------


@st.composite
def packing_configs(draw, max_batch: int = 4, max_steps: int = 5) -> tuple:
    """(lengths, steps, batch_first, enforce_sorted): lengths in 1..steps (the padded input
    has `steps` steps, maybe more than the longest); sorted in decreasing order when
    enforce_sorted."""
    batch = draw(st.integers(1, max_batch))
    steps = draw(st.integers(1, max_steps))
    lengths = draw(st.lists(st.integers(1, steps), min_size=batch, max_size=batch))
    enforce_sorted = draw(st.booleans())
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    return lengths, steps, draw(st.booleans()), enforce_sorted


@st.composite
def recurrent_configs(draw) -> tuple:
    """(mode, steps, batch, input_size, hidden_size, bias, reverse, seed) for one recurrent
    layer and direction (tests/test_rnn.py: the one-op layer against the cells)."""
    mode = draw(st.sampled_from(["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]))
    return (
        mode,
        draw(st.integers(1, 5)),
        draw(st.integers(1, 3)),
        draw(st.integers(1, 4)),
        draw(st.integers(1, 4)),
        draw(st.booleans()),
        draw(st.booleans()),
        draw(st.integers(0, 2**16)),
    )


# ---------------------------------------------------------------------------
# Core tensors and autograd (tests/test_ops_grad.py, tests/test_tensor.py)
# ---------------------------------------------------------------------------


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4):
    """Small tensor shapes, 0-d included by default."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcastable_pairs(min_dims: int = 0, max_dims: int = 3, max_side: int = 3):
    """Two shapes that broadcast together: size-1 dims and missing leading dims on either side."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda b: b.input_shapes)


@st.composite
def broadcastable_to(draw, shape: tuple, allow_bigger: bool = True) -> tuple:
    """A shape that broadcasts with ``shape``: some leading dims dropped, some dims set to 1.
    With ``allow_bigger`` it may also add a leading dim or grow a size-1 dim (so the result
    of broadcasting can be bigger than ``shape``); without, it broadcasts *to* ``shape``."""
    keep = draw(st.integers(0, len(shape)))
    out = [1 if draw(st.integers(0, 3)) == 0 else s for s in shape[len(shape) - keep :]]
    if allow_bigger:
        out = [draw(st.integers(1, 3)) if s == 1 and draw(st.booleans()) else s for s in out]
        if keep == len(shape) and draw(st.integers(0, 4)) == 0:
            out.insert(0, draw(st.integers(1, 3)))
    return tuple(out)


# Value ranges that keep finite differences honest: "positive" for log, sqrt,
# pow bases and denominators; "nonzero" (|x| >= 0.1) for the kinks of abs and
# relu; "real" for smooth ops. eps is 1e-6, so 0.1 is far from any kink.
DOMAINS = {"real": (-2.0, 2.0), "positive": (0.5, 3.0), "nonzero": (0.1, 2.0)}


def _floats(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def float64_arrays(draw, shape, domain: str = "real") -> np.ndarray:
    """A float64 array of `shape` (a tuple or a strategy) with values in a safe domain."""
    if not isinstance(shape, tuple):
        shape = draw(shape)
    lo, hi = DOMAINS[domain]
    arr = draw(hnp.arrays(np.float64, shape, elements=_floats(lo, hi)))
    if domain == "nonzero":
        arr = arr * draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0])))
    return arr


@st.composite
def distinct_arrays(draw, shape, gap: float = 0.25) -> np.ndarray:
    """float64 values at least `gap` apart (no ties for max/min/sort), in random order."""
    if not isinstance(shape, tuple):
        shape = draw(shape)
    n = int(np.prod(shape, dtype=np.int64))
    order = np.array(draw(st.permutations(range(n))), dtype=np.float64)
    offset = draw(_floats(-1.0, 1.0))
    return ((order - n / 2) * gap + offset).reshape(shape)


@st.composite
def lattice_arrays(draw, shape, offset: float = 0.0, step: float = 0.5, k: int = 4) -> np.ndarray:
    """float64 values on the lattice `offset + step * {-k..k}`. Two arrays with
    offsets 0 and step / 2 never come closer than step / 2 (kinks of maximum,
    minimum and clamp stay far from the finite-difference step)."""
    if not isinstance(shape, tuple):
        shape = draw(shape)
    ints = draw(hnp.arrays(np.int64, shape, elements=st.integers(-k, k)))
    return offset + step * ints.astype(np.float64)


@st.composite
def tie_heavy_arrays(
    draw, max_dims: int = 3, max_side: int = 9, long_side: int = 60, nan: bool = True
) -> tuple[np.ndarray, int]:
    """(array, dim): a float64 array of few distinct small integers (so many ties), with
    some NaN, -0.0 and inf mixed in (when `nan`), and sometimes one side up to `long_side`
    (PyTorch's sort and selections change algorithm past 16 elements); and a dim of it."""
    shape = list(draw(st.lists(st.integers(1, max_side), min_size=1, max_size=max_dims)))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    if draw(st.booleans()):
        shape[dim] = draw(st.integers(17, long_side))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(0, draw(st.integers(1, 4)), shape).astype(np.float64)
    if nan:
        for value in (np.nan, -0.0, 0.0, np.inf):
            if draw(st.booleans()):
                x[rng.random(shape) < 0.2] = value
    return x, dim


LAYOUTS = ("contiguous", "transposed", "strided", "reversed")


@st.composite
def non_contiguous(draw, arr: np.ndarray, layouts=LAYOUTS) -> np.ndarray:
    """The same values as `arr`, in a memory layout drawn from `layouts`:
    Fortran order (a transposed array), every other element of a larger buffer,
    or negative strides. 0-d and one-element arrays stay as they are."""
    layout = draw(st.sampled_from(layouts))
    if layout == "transposed" and arr.ndim >= 2:
        return np.asfortranarray(arr)
    if layout == "strided" and arr.ndim >= 1:
        buf = np.full(arr.shape[:-1] + (2 * arr.shape[-1],), np.nan)
        buf[..., ::2] = arr
        return buf[..., ::2]
    if layout == "reversed" and arr.ndim >= 1:
        return arr[::-1].copy()[::-1]
    return np.array(arr)


# ---------------------------------------------------------------------------
# Convolution configurations (tests/test_conv_kernels.py)
# ---------------------------------------------------------------------------


class ConvConfig(NamedTuple):
    """A conv2d problem that is valid by construction, in the kernels' normalised form."""

    shape: tuple[int, int, int, int]  # x: (N, C, H, W)
    out_channels: int
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]  # ((top, bottom), (left, right))
    dilation: tuple[int, int]
    groups: int
    seed: int

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        """conv2d weight ``(O, C // groups, kh, kw)``."""
        return (self.out_channels, self.shape[1] // self.groups, *self.kernel_size)

    @property
    def args(self) -> tuple:
        """``(stride, padding, dilation, groups)``, as conv2d kernels take them."""
        return (self.stride, self.padding, self.dilation, self.groups)


@st.composite
def conv2d_configs(
    draw,
    max_batch: int = 3,
    max_channels: int = 4,
    max_kernel: int = 5,
    max_extra: int = 4,
    symmetric_padding: bool = False,
    pointwise: bool = False,
    depthwise: bool = False,
    max_stride: int = 3,
) -> ConvConfig:
    """Batch 1-3, channels 1-4 with groups dividing both in and out channels,
    kernel 1-5 (non-square), stride 1-3, padding 0-2 per side (asymmetric unless
    ``symmetric_padding``), dilation 1-2. H and W are chosen so the padded input
    holds at least one dilated kernel, plus 0..max_extra. ``pointwise`` gives
    1x1 kernels, stride 1, no padding. ``depthwise`` gives groups == in_channels
    (1..max_channels) and a channel multiplier of 1-3. ``max_stride=1``: stride 1 only."""
    if depthwise:
        groups = C = draw(st.integers(1, max_channels))
        O = C * draw(st.integers(1, 3))
    else:
        groups = draw(st.integers(1, max_channels))
        C = groups * draw(st.integers(1, max_channels // groups))
        O = groups * draw(st.integers(1, max_channels // groups))
    if pointwise:
        kernel, stride, padding = (1, 1), (1, 1), ((0, 0), (0, 0))
    else:
        kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
        stride = (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride)))
        if symmetric_padding:
            ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
            padding = ((ph, ph), (pw, pw))
        else:
            padding = (
                (draw(st.integers(0, 2)), draw(st.integers(0, 2))),
                (draw(st.integers(0, 2)), draw(st.integers(0, 2))),
            )
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    span = (dil[0] * (kernel[0] - 1) + 1, dil[1] * (kernel[1] - 1) + 1)
    H = max(1, span[0] - sum(padding[0])) + draw(st.integers(0, max_extra))
    W = max(1, span[1] - sum(padding[1])) + draw(st.integers(0, max_extra))
    return ConvConfig(
        shape=(draw(st.integers(1, max_batch)), C, H, W),
        out_channels=O,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        dilation=dil,
        groups=groups,
        seed=draw(st.integers(0, 2**32 - 1)),
    )


@st.composite
def winograd_configs(draw, max_channels: int = 5, max_extra: int = 9) -> ConvConfig:
    """3x3 kernel, stride 1, no dilation, one group (what Winograd takes); padding 0-2 per
    side, asymmetric; sizes from the smallest valid to max_extra more (tiles cut off)."""
    padding = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    H = max(1, 3 - sum(padding[0])) + draw(st.integers(0, max_extra))
    W = max(1, 3 - sum(padding[1])) + draw(st.integers(0, max_extra))
    return ConvConfig(
        shape=(draw(st.integers(1, 3)), draw(st.integers(1, max_channels)), H, W),
        out_channels=draw(st.integers(1, max_channels)),
        kernel_size=(3, 3),
        stride=(1, 1),
        padding=padding,
        dilation=(1, 1),
        groups=1,
        seed=draw(st.integers(0, 2**32 - 1)),
    )


# ---------------------------------------------------------------------------
# Adaptive pooling (tests/test_adaptive_pool.py)
# ---------------------------------------------------------------------------


@st.composite
def adaptive_pool_configs(
    draw, max_size: int = 9
) -> tuple[tuple[int, int, int, int], tuple[int, int], int]:
    """``(input shape, output size, seed)``: any sizes 1..max_size, so windows divide the
    input, do not divide it (uneven, overlapping windows) or outnumber its rows (repeats)."""
    shape = (
        draw(st.integers(1, 2)),
        draw(st.integers(1, 3)),
        draw(st.integers(1, max_size)),
        draw(st.integers(1, max_size)),
    )
    out = (draw(st.integers(1, max_size)), draw(st.integers(1, max_size)))
    return shape, out, draw(st.integers(0, 2**32 - 1))


# ---------------------------------------------------------------------------
# PyTorch indices (tests/test_indexing.py)
# ---------------------------------------------------------------------------


class IndexTensor(NamedTuple):
    """An index item that each library turns into its own tensor (`build_index`)."""

    array: np.ndarray


def build_index(index, make_tensor):
    """The concrete index for one library: IndexTensor items become make_tensor(array)."""
    if isinstance(index, IndexTensor):  # (a NamedTuple: test it before tuple)
        return make_tensor(index.array)
    if isinstance(index, tuple):
        return tuple(build_index(i, make_tensor) for i in index)
    return index


@st.composite
def torch_indices(draw, shape: tuple, max_items: int = 5):
    """An index that PyTorch accepts for a tensor of `shape`, by construction: ints (also
    as 0-d int tensors), slices with positive steps, None, at most one `...`, bools (Python
    and 0-d tensors), and integer index arrays (lists, numpy arrays, int64/int32 tensors)
    and bool masks (1-2 dims, as tensors, numpy arrays or lists) whose shapes broadcast
    together. Entries may be negative and repeat. Returns an index (a tuple, or one bare
    item) whose tensors are IndexTensor placeholders."""
    ndim = len(shape)
    kinds: list = []
    used = 0
    for _ in range(draw(st.integers(0, max_items))):
        options = ["none", "bool"] + (
            ["ellipsis"] if "ellipsis" not in (k for k, _ in kinds) else []
        )
        if used < ndim:
            options += ["int", "slice", "slice", "array", "array", "mask"]
        kind = draw(st.sampled_from(options))
        k = 0
        if kind in ("int", "slice", "array"):
            k = 1
        elif kind == "mask":
            k = draw(st.integers(1, min(2, ndim - used)))
        kinds.append((kind, k))
        used += k
    # the dims each item indexes: items after `...` index the last dims
    dims: list = []
    names = [k for k, _ in kinds]
    split = names.index("ellipsis") if "ellipsis" in names else len(kinds)
    d = 0
    for _, k in kinds[:split]:
        dims.append(tuple(range(d, d + k)))
        d += k
    d = ndim - sum(k for _, k in kinds[split:])
    for _, k in kinds[split:]:
        dims.append(tuple(range(d, d + k)))
        d += k
    # ints and index arrays need a dim with elements; fall back to a slice there
    kinds = [
        ("slice", 1) if kind in ("int", "array") and shape[ds[0]] == 0 else (kind, k)
        for (kind, k), ds in zip(kinds, dims, strict=True)
    ]
    masks = [i for i, (kind, _) in enumerate(kinds) if kind == "mask"]
    if masks:  # a mask's nonzero() count is its index length: all masks and arrays agree on it
        m = draw(st.integers(0, min(int(np.prod([shape[j] for j in dims[i]])) for i in masks)))
        bshape: tuple = (m,)
    else:
        bshape = tuple(draw(st.lists(st.integers(0, 3), max_size=2)))
    items = []
    for (kind, _), ds in zip(kinds, dims, strict=True):
        n = shape[ds[0]] if ds else 0
        if kind == "none":
            items.append(None)
        elif kind == "ellipsis":
            items.append(Ellipsis)
        elif kind == "bool":
            # a bool is an index array too, [0] or [] ([] broadcasts only with size 0 or 1)
            b = draw(st.booleans()) or not (bshape == () or bshape[-1] in (0, 1))
            items.append(IndexTensor(np.array(b)) if draw(st.booleans()) else b)
        elif kind == "int":
            i = draw(st.integers(-n, n - 1))
            items.append(IndexTensor(np.array(i)) if draw(st.integers(0, 3)) == 0 else i)
        elif kind == "slice":
            bound = st.one_of(st.none(), st.integers(-n - 2, n + 2))
            items.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, 3]))))
        elif kind == "array":
            # a shape that broadcasts to bshape: trailing dims 1 or equal, fewer dims allowed
            keep = draw(st.integers(min(1, len(bshape)), len(bshape)))
            ashape = tuple(
                s if draw(st.booleans()) else 1 for s in bshape[len(bshape) - keep :]
            ) or (1,)
            arr = np.asarray(draw(hnp.arrays(np.int64, ashape, elements=st.integers(-n, n - 1))))
            # (as a list, an empty array of 2+ dims would lose its shape: [[]] is (1, 0), [] is
            # (0,))
            form = draw(
                st.sampled_from(
                    ["ndarray", "int64", "int32"] + (["list"] if arr.size or arr.ndim == 1 else [])
                )
            )
            if form == "list":
                items.append(arr.tolist())
            elif form == "ndarray":
                items.append(arr)
            else:
                items.append(IndexTensor(arr.astype(form)))
        else:  # mask with exactly m True entries
            mshape = tuple(shape[j] for j in ds)
            size = int(np.prod(mshape))
            flat = np.zeros(size, dtype=bool)
            flat[list(draw(st.permutations(range(size))))[: bshape[0]]] = True
            mask = flat.reshape(mshape)
            # (a list or ndarray mask of 2+ dims with `...` is refused: see tinyconv/_indexing.py)
            form = draw(
                st.sampled_from(["tensor", "ndarray"] + (["list"] if mask.ndim == 1 else []))
                if mask.ndim == 1 or "ellipsis" not in names
                else st.just("tensor")
            )
            items.append(
                IndexTensor(mask)
                if form == "tensor"
                else mask
                if form == "ndarray"
                else mask.tolist()
            )
    if len(items) == 1 and not isinstance(items[0], list) and draw(st.booleans()):
        return items[0]  # a bare item, x[i] rather than x[(i,)]
    return tuple(items)


# ---------------------------------------------------------------------------
# Normalization layers (tests/test_norm_layers.py)
# ---------------------------------------------------------------------------


@st.composite
def norm_configs(draw, min_spatial: int = 0, max_batch: int = 3) -> tuple[tuple[int, ...], int]:
    """``(shape (N, C, *spatial), num_groups)`` with C a multiple of num_groups; the spatial
    dims (0 to 2 of them) hold at least ``min_spatial`` elements (instance norm needs 2)."""
    groups = draw(st.integers(1, 3))
    C = groups * draw(st.integers(1, 2))
    N = draw(st.integers(1, max_batch))
    n_spatial = draw(st.integers(1 if min_spatial else 0, 2))
    spatial = tuple(draw(st.lists(st.integers(1, 4), min_size=n_spatial, max_size=n_spatial)))
    if int(np.prod(spatial, dtype=np.int64)) < min_spatial:
        spatial = spatial[:-1] + (min_spatial,)
    return (N, C) + spatial, groups


# ---------------------------------------------------------------------------
# interpolate (tests/test_interpolate.py)
# ---------------------------------------------------------------------------


class InterpConfig(NamedTuple):
    """An interpolate call valid by construction: the input shape and the keyword arguments."""

    shape: tuple[int, ...]
    kwargs: dict


_INTERP_MODES = {
    3: ("nearest", "nearest-exact", "linear", "area"),
    4: ("nearest", "nearest-exact", "bilinear", "bicubic", "area"),
    5: ("nearest", "nearest-exact", "trilinear"),
}


@st.composite
def interpolate_configs(draw, max_side: int = 5) -> InterpConfig:
    """Rank 3-5 input, a mode valid for it, and a size or a scale factor (possibly per axis,
    possibly recomputed) whose output is non-empty; align_corners drawn for the linear modes
    and bicubic."""
    rank = draw(st.integers(3, 5))
    mode = draw(st.sampled_from(_INTERP_MODES[rank]))
    spatial = tuple(draw(st.integers(1, max_side if rank < 5 else 3)) for _ in range(rank - 2))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + spatial
    kwargs: dict = {"mode": mode}
    if mode in ("linear", "bilinear", "bicubic", "trilinear"):
        kwargs["align_corners"] = draw(st.booleans())
    if draw(st.booleans()):
        sizes = tuple(draw(st.integers(1, 2 * max_side if rank < 5 else 4)) for _ in spatial)
        kwargs["size"] = sizes if draw(st.booleans()) or len(set(sizes)) > 1 else sizes[0]
    else:
        factors = st.sampled_from([0.5, 0.75, 1.0, 1.3, 1.5, 2.0, 2.5, 3.0])
        scales = []
        for n in spatial:
            s = draw(factors.filter(lambda f, n=n: int(n * f) >= 1))
            scales.append(s)
        kwargs["scale_factor"] = tuple(scales) if len(set(scales)) > 1 else scales[0]
        kwargs["recompute_scale_factor"] = draw(st.sampled_from([None, True, False]))
    return InterpConfig(shape, kwargs)


# ---------------------------------------------------------------------------
# 1-D convolution and pooling (tests/test_layers_1d.py)
# ---------------------------------------------------------------------------


class Conv1dConfig(NamedTuple):
    shape: tuple[int, int, int]  # (N, C, L)
    out_channels: int
    kernel_size: int
    stride: int
    padding: int | str
    dilation: int
    groups: int

    @property
    def weight_shape(self) -> tuple[int, int, int]:
        return (self.out_channels, self.shape[1] // self.groups, self.kernel_size)


@st.composite
def conv1d_configs(draw, max_channels: int = 4, allow_same: bool = True) -> Conv1dConfig:
    """A conv1d valid by construction: groups dividing both channel counts, kernel 1-4, stride
    1-3, padding 0-2 (or 'same' with stride 1, or 'valid'), dilation 1-2, L long enough."""
    groups = draw(st.integers(1, max_channels))
    C = groups * draw(st.integers(1, max_channels // groups))
    O = groups * draw(st.integers(1, max_channels // groups))
    k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    padding: int | str = draw(st.integers(0, 2))
    if allow_same and draw(st.integers(0, 3)) == 0:
        padding = draw(st.sampled_from(["same", "valid"]))
        if padding == "same":
            s = 1
    pad = 0 if isinstance(padding, str) else padding
    L = max(1, d * (k - 1) + 1 - 2 * pad) + draw(st.integers(0, 4))
    return Conv1dConfig((draw(st.integers(1, 2)), C, L), O, k, s, padding, d, groups)


@st.composite
def pool1d_configs(draw, dilation: bool = True) -> tuple:
    """``(shape (N, C, L), kernel_size, stride, padding, dilation, ceil_mode)`` valid for
    max_pool1d / avg_pool1d (PyTorch's rules: padding <= kernel_size // 2, a non-empty output;
    with ceil_mode, the last window starts inside the input or the left padding)."""
    k = draw(st.integers(1, 4))
    s = draw(st.integers(1, 3))
    p = draw(st.integers(0, k // 2))
    d = draw(st.integers(1, 2)) if dilation else 1
    L = max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 5))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), L)
    return shape, k, s, p, d, draw(st.booleans())


@st.composite
def diagonal_configs(draw) -> tuple:
    """(shape, offset, dim1, dim2) for Tensor.diagonal: dims distinct (negative ones too),
    offsets past either edge included (an empty diagonal)."""
    shape = draw(shapes(min_dims=2, max_dims=4, max_side=4))
    n = len(shape)
    d1, d2 = draw(
        st.lists(st.integers(-n, n - 1), min_size=2, max_size=2, unique_by=lambda d: d % n)
    )
    offset = draw(st.integers(-5, 5))
    return shape, offset, d1, d2


@st.composite
def unpool2d_configs(draw) -> tuple:
    """``(shape (N, C, h, w), kernel, stride, padding, output (H, W), indices)`` for
    max_unpool2d: the output size anywhere in PyTorch's allowed range (strictly within one
    stride of the default), indices distinct within each plane (so unpooling is a function
    whose finite differences are its gradient)."""
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    h, w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    out = []
    for i, ki, si, pi in zip((h, w), k, s, p, strict=True):
        default = (i - 1) * si - 2 * pi + ki
        size = draw(st.integers(max(default - si + 1, 1), max(default + si - 1, 1)))
        assume(default - si < size < default + si)  # (a default of 0 at stride 1: no size)
        out.append(size)
    H, W = out
    assume(H * W >= h * w)  # room for distinct indices
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    idx = np.stack([rng.permutation(H * W)[: h * w] for _ in range(n * c)])
    return (n, c, h, w), k, s, p, (H, W), idx.reshape(n, c, h, w).astype(np.int64)


# ---------------------------------------------------------------------------
# grid_sample (tests/test_sampling.py)
# ---------------------------------------------------------------------------


class GridSampleConfig(NamedTuple):
    """A grid_sample call valid by construction: input shape, grid (float64) and options."""

    shape: tuple[int, ...]  # (N, C, *spatial)
    grid: np.ndarray  # (N, *out, d)
    mode: str
    padding_mode: str
    align_corners: bool


def _normalize(c: np.ndarray, n: int, align_corners: bool) -> np.ndarray:
    """Normalised coordinates of pixel coordinates c on an axis of n pixels."""
    if align_corners:
        return 2 * c / (n - 1) - 1 if n > 1 else c
    return (2 * c + 1) / n - 1


@st.composite
def grid_sample_configs(draw, smooth: bool = True, max_side: int = 5) -> GridSampleConfig:
    """4-D (every mode) or 5-D (bilinear, nearest) input and a grid reaching past the borders
    (two reflections deep). smooth=True keeps every sample at least 0.05 pixel from the
    places the output is not differentiable in the grid (pixel centres, half-way points,
    borders and reflection planes: all on the half-pixel lattice), so finite differences
    see one smooth piece; smooth=False puts samples exactly on that lattice (or on -1, 0, 1)
    too, the cases where PyTorch's one-sided choices must be matched."""
    rank = draw(st.sampled_from([4, 4, 5]))
    d = rank - 2
    mode = draw(
        st.sampled_from(["bilinear", "nearest", "bicubic"] if d == 2 else ["bilinear", "nearest"])
    )
    padding_mode = draw(st.sampled_from(["zeros", "border", "reflection"]))
    align_corners = draw(st.booleans())
    side = max_side if d == 2 else 3
    spatial = tuple(draw(st.integers(1, side)) for _ in range(d))
    n = draw(st.integers(1, 2))
    out = tuple(draw(st.integers(1, 4 if d == 2 else 2)) for _ in range(d))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    grid = np.empty((n, *out, d))
    for a in range(d):  # grid[..., a] reads spatial axis d - 1 - a
        size = spatial[d - 1 - a]
        half = rng.integers(-2 * size - 2, 4 * size + 2, (n, *out)).astype(np.float64) / 2
        offset = rng.uniform(0.05, 0.45, (n, *out))
        if not smooth:
            offset = np.where(rng.random((n, *out)) < 0.5, 0.0, offset)
        grid[..., a] = _normalize(half + offset, size, align_corners)
        if not smooth:
            special = rng.random((n, *out)) < 0.2
            grid[..., a] = np.where(special, rng.choice([-1.0, 0.0, 1.0], (n, *out)), grid[..., a])
    return GridSampleConfig(
        (n, draw(st.integers(1, 3)), *spatial), grid, mode, padding_mode, align_corners
    )


# ---------------------------------------------------------------------------
# CTC loss problems (tests/test_ctc_loss.py)
# ---------------------------------------------------------------------------


class CtcProblem(NamedTuple):
    """A CTC problem: logits (T, N, C) float64 (take log_softmax for log-probabilities),
    padded targets (N, S) int64 (class indices other than the blank, -1 past each target's
    length), and the lengths (N,)."""

    logits: np.ndarray
    targets: np.ndarray
    input_lengths: np.ndarray
    target_lengths: np.ndarray
    blank: int


def ctc_min_frames(target: np.ndarray) -> int:
    """The fewest frames an alignment of `target` needs: one per label, plus a blank
    between each pair of equal neighbours."""
    return len(target) + int(np.sum(target[1:] == target[:-1]))


@st.composite
def ctc_problems(
    draw, max_t: int = 6, max_n: int = 3, max_c: int = 4, max_s: int = 3, feasible: bool = False
) -> CtcProblem:
    """Small CTC problems. With feasible=True every sample has an alignment (finite loss):
    its input length is at least its target's ctc_min_frames. Otherwise input lengths are
    anything in [0, T], so some targets are impossible (loss inf)."""
    T = draw(st.integers(1, max_t))
    N = draw(st.integers(1, max_n))
    C = draw(st.integers(2, max_c))
    blank = draw(st.integers(0, C - 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    S = draw(st.integers(0, max_s))
    # labels drawn from the C - 1 non-blank classes; a small C makes repeats common
    labels = rng.integers(0, C - 1, (N, S))
    labels = labels + (labels >= blank)
    target_lengths = rng.integers(0, S + 1, N)
    input_lengths = rng.integers(0, T + 1, N)
    if feasible:
        for n in range(N):
            # shorten the target until it fits in T frames, then give it enough frames
            while ctc_min_frames(labels[n, : target_lengths[n]]) > T:
                target_lengths[n] -= 1
            need = ctc_min_frames(labels[n, : target_lengths[n]])
            input_lengths[n] = rng.integers(max(need, 1), T + 1)
    targets = np.where(np.arange(S) < target_lengths[:, None], labels, -1)
    logits = rng.normal(size=(T, N, C)) * draw(st.sampled_from([0.5, 1.0, 3.0]))
    return CtcProblem(logits, targets.astype(np.int64), input_lengths, target_lengths, blank)


# ---------------------------------------------------------------------------
# 3-D convolution configurations (tests/test_conv3d.py)
# ---------------------------------------------------------------------------


class Conv3dConfig(NamedTuple):
    """A conv3d problem that is valid by construction (PyTorch's rules)."""

    shape: tuple[int, int, int, int, int]  # (N, C, D, H, W)
    out_channels: int
    kernel_size: tuple[int, int, int]
    stride: tuple[int, int, int]
    padding: tuple[tuple[int, int], tuple[int, int], tuple[int, int]]  # (before, after) per axis
    dilation: tuple[int, int, int]
    groups: int
    seed: int

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """conv3d weight ``(O, C // groups, kd, kh, kw)``."""
        return (self.out_channels, self.shape[1] // self.groups, *self.kernel_size)

    @property
    def args(self) -> tuple:
        """``(stride, padding, dilation, groups)``, as the conv3d kernels take them."""
        return (self.stride, self.padding, self.dilation, self.groups)

    @property
    def sym_padding(self) -> tuple[int, int, int]:
        """The before-padding of each axis (F.conv3d's int triple; symmetric configs only)."""
        return tuple(p[0] for p in self.padding)

    @property
    def out_size(self) -> tuple[int, int, int]:
        return tuple(
            (n + p[0] + p[1] - d * (k - 1) - 1) // s + 1
            for n, p, k, s, d in zip(
                self.shape[2:], self.padding, self.kernel_size, self.stride, self.dilation,
                strict=True,
            )
        )  # fmt: skip


@st.composite
def conv3d_configs(
    draw,
    max_batch: int = 2,
    max_channels: int = 4,
    max_kernel: int = 3,
    max_extra: int = 2,
    symmetric_padding: bool = False,
) -> Conv3dConfig:
    """Small conv3d problems: batch 1-max_batch, channels up to max_channels with groups
    dividing both, kernel 1-max_kernel per axis, stride 1-2, padding 0-1 per side
    (asymmetric unless ``symmetric_padding``), dilation 1-2; each input side holds at least
    one dilated kernel of the padded input, plus 0..max_extra."""
    groups = draw(st.integers(1, max_channels))
    C = groups * draw(st.integers(1, max_channels // groups))
    O = groups * draw(st.integers(1, max_channels // groups))
    kernel = tuple(draw(st.integers(1, max_kernel)) for _ in range(3))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(3))
    if symmetric_padding:
        padding = tuple((p, p) for p in (draw(st.integers(0, 1)) for _ in range(3)))
    else:
        padding = tuple((draw(st.integers(0, 1)), draw(st.integers(0, 1))) for _ in range(3))
    dil = tuple(draw(st.integers(1, 2)) for _ in range(3))
    sizes = tuple(
        max(1, d * (k - 1) + 1 - sum(p)) + draw(st.integers(0, max_extra))
        for k, d, p in zip(kernel, dil, padding, strict=True)
    )
    return Conv3dConfig(
        shape=(draw(st.integers(1, max_batch)), C, *sizes),
        out_channels=O,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        dilation=dil,
        groups=groups,
        seed=draw(st.integers(0, 2**32 - 1)),
    )


class Pool3dConfig(NamedTuple):
    """A 3-D pooling problem that is valid by construction (PyTorch's rules)."""

    shape: tuple[int, int, int, int, int]  # (N, C, D, H, W)
    kernel_size: tuple[int, int, int]
    stride: tuple[int, int, int]
    padding: tuple[int, int, int]
    dilation: tuple[int, int, int]
    ceil_mode: bool
    count_include_pad: bool
    divisor_override: int | None
    seed: int


@st.composite
def pool3d_configs(draw, dilation: bool = True, max_batch: int = 2) -> Pool3dConfig:
    """Kernel 1-3, stride 1-3, padding up to half the kernel, dilation 1-2 (1 unless
    ``dilation``) per axis; each input side holds one dilated window of the padded input,
    plus 0..2."""
    k = tuple(draw(st.integers(1, 3)) for _ in range(3))
    s = tuple(draw(st.integers(1, 3)) for _ in range(3))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    d = tuple(draw(st.integers(1, 2)) if dilation else 1 for _ in range(3))
    sizes = tuple(
        max(1, di * (ki - 1) + 1 - 2 * pi) + draw(st.integers(0, 2))
        for ki, pi, di in zip(k, p, d, strict=True)
    )
    return Pool3dConfig(
        shape=(draw(st.integers(1, max_batch)), draw(st.integers(1, 2)), *sizes),
        kernel_size=k,
        stride=s,
        padding=p,
        dilation=d,
        ceil_mode=draw(st.booleans()),
        count_include_pad=draw(st.booleans()),
        divisor_override=draw(st.one_of(st.none(), st.integers(1, 5))),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


# ---------------------------------------------------------------------------
# Linear algebra (tests/test_linalg_more.py)
# ---------------------------------------------------------------------------


def conditioned_matrix(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """(..., m, n) float64 matrices U diag(s) V^T with orthonormal U, V and singular values
    spread over [1, 3] (condition number <= 3, gaps >= 0.1): finite differences at eps 1e-6 stay
    accurate to ~1e-9, and rank-dependent functions (pinv, lstsq) are smooth there."""
    *batch, m, n = shape
    k = min(m, n)
    u = np.linalg.qr(rng.standard_normal((*batch, m, m)))[0][..., :, :k]
    v = np.linalg.qr(rng.standard_normal((*batch, n, n)))[0][..., :, :k]
    s = 1 + 2 * (np.arange(k)[::-1] + rng.uniform(0, 0.5, (*batch, k))) / max(k, 1)
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


@st.composite
def linalg_matrices(draw, square: bool = False, max_side: int = 4, batch: bool = True):
    """A well-conditioned float64 matrix of a drawn (batch, m, n) shape (see
    conditioned_matrix); square=True gives m == n."""
    m = draw(st.integers(1, max_side))
    n = m if square else draw(st.integers(1, max_side))
    b = tuple(draw(st.lists(st.integers(1, 2), max_size=2))) if batch else ()
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return conditioned_matrix(rng, b + (m, n))


@st.composite
def cholesky_factors(draw, max_side: int = 4, batch: bool = True):
    """A lower-triangular float64 factor with diagonal in [1, 2] and small off-diagonal
    entries (a well-conditioned A = L L^T), and the seed's rng for right-hand sides."""
    n = draw(st.integers(1, max_side))
    b = tuple(draw(st.lists(st.integers(1, 2), max_size=2))) if batch else ()
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    low = np.tril(0.3 * rng.standard_normal(b + (n, n)), -1)
    return low + np.eye(n) * rng.uniform(1, 2, b + (n, 1)), rng


# ---------------------------------------------------------------------------
# TensorBoard images (tests/test_tensorboard.py)
# ---------------------------------------------------------------------------


@st.composite
def image_batches(draw, max_n: int = 11, max_side: int = 5) -> tuple[np.ndarray, str]:
    """(images, dataformats) for SummaryWriter.add_images: N (N, C, H, W) or (N, H, W, C)
    images, C 1, 3 or 4, as floats a little outside [0, 1] or as uint8."""
    n = draw(st.integers(1, max_n))
    c = draw(st.sampled_from([1, 3, 4]))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        batch = rng.integers(0, 256, (n, c, h, w), dtype=np.uint8)
    else:
        batch = rng.uniform(-0.2, 1.2, (n, c, h, w)).astype(draw(st.sampled_from(["f4", "f8"])))
    if draw(st.booleans()):
        return batch.transpose(0, 2, 3, 1), "NHWC"
    return batch, "NCHW"


# ---------------------------------------------------------------------------
# as_strided geometries (tests/test_as_strided.py, tests/test_as_strided_torch.py)
# ---------------------------------------------------------------------------


class StridedConfig(NamedTuple):
    """A base tensor, a view of it taken first (``view``: 'none', 'slice', 'transpose' or
    'expand'), and an as_strided geometry that fits the base's memory."""

    base_size: int
    view: str
    size: tuple[int, ...]
    stride: tuple[int, ...]
    offset: int | None  # None: the view's own offset


@st.composite
def strided_configs(draw, max_dims: int = 3, overlap: bool = True) -> StridedConfig:
    """Geometries of up to ``max_dims`` dims inside a base of up to 24 elements: zero and
    overlapping strides (windows, broadcasts) unless ``overlap`` is False, in which case
    the strides are a permutation of a contiguous layout (distinct elements), spread by a
    gap."""
    view = draw(st.sampled_from(["none", "slice", "transpose", "expand"]))
    ndim = draw(st.integers(0, max_dims))
    if overlap:
        size = tuple(draw(st.lists(st.integers(0, 3), min_size=ndim, max_size=ndim)))
        stride = tuple(draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim)))
    else:
        size = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
        order = draw(st.permutations(range(ndim)))
        gap = draw(st.integers(1, 2))
        stride, step = [0] * ndim, gap
        for axis in reversed(order):
            stride[axis] = step
            step *= size[axis] + gap - 1
        stride = tuple(stride)
    span = sum((n - 1) * s for n, s in zip(size, stride, strict=True)) + 1 if all(size) else 0
    assume(span <= 24)
    base_size = draw(st.integers(max(span, 6) if view != "none" else max(span, 1), 24))
    offset = draw(st.one_of(st.none(), st.integers(0, base_size - span)))
    if offset is None and view == "slice":
        assume(2 + span <= base_size)  # the slice starts 2 elements in
    return StridedConfig(base_size, view, size, stride, offset)


@st.composite
def fractional_pool_configs(draw, max_side: int = 9) -> tuple:
    """``(shape (N, C, H, W), kernel (kh, kw), output (OH, OW), samples (N, C, 2))`` for
    fractional max pooling: every output window fits (OH + kh - 1 <= H), samples in [0, 1)."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(2, max_side)), draw(st.integers(2, max_side))
    kh, kw = draw(st.integers(1, h - 1)), draw(st.integers(1, w - 1))
    oh, ow = draw(st.integers(1, h - kh + 1)), draw(st.integers(1, w - kw + 1))
    u = draw(st.lists(st.floats(0, 0.999), min_size=n * c * 2, max_size=n * c * 2))
    return (n, c, h, w), (kh, kw), (oh, ow), np.array(u).reshape(n, c, 2)
