"""as_strided: a view of a tensor's memory with any sizes, strides and offset, as PyTorch's.

The way learners build im2col by hand (``x.as_strided((N, C, OH, OW, kh, kw), ...)``), so
its gradient must be PyTorch's too. PyTorch's storage is the memory of the tensor a view was
taken from (its root), counted in elements from the root's first one; tinyconv's views keep
their root, so the same sizes, strides and offset describe the same elements.

Backward (PyTorch's rule): every output element's gradient goes to the storage position it
reads, summed where several read one position; each input element then takes the gradient
at its own position, divided by how many input elements share that position (an expanded
input). So a position both geometries see passes its gradient straight through, and a
position the input does not see drops it.
"""

from __future__ import annotations

import numpy as np

from .ops import Op


def _positions(size: tuple, stride: tuple, offset: int) -> np.ndarray:
    """The storage position of each element of a geometry: ``offset + sum_k i_k * stride_k``
    (an int64 array of shape ``size``)."""
    pos = np.full((1,) * len(size), offset, dtype=np.int64)
    for k, (n, s) in enumerate(zip(size, stride, strict=True)):
        step = np.arange(n, dtype=np.int64) * s
        pos = pos + step.reshape((1,) * k + (n,) + (1,) * (len(size) - k - 1))
    return np.broadcast_to(pos, size)


def maybe_overlapping(size: tuple, stride: tuple) -> bool:
    """PyTorch's test of whether two elements of a geometry may share a position: with the dims
    sorted by stride, some stride is no longer than the span of the dims before it (size-1
    dims, one element each, left out). False means the elements surely have their own
    positions."""
    span = 0
    for s, n in sorted(zip(stride, size, strict=True)):
        if n == 1:
            continue
        if s <= span:
            return True
        span += s * (n - 1)
    return False


def strided_gradient(
    grad: np.ndarray, out_geometry: tuple, in_geometry: tuple, count_geometry: tuple
) -> np.ndarray:
    """``grad`` (shape of ``out_geometry``) added into storage at the positions of
    ``out_geometry``, divided by how often ``count_geometry`` reads each position, and read
    back at the positions of ``in_geometry``: an array of ``in_geometry``'s shape.

    A geometry is ``(size, stride, offset)``. as_strided's gradient is this with
    count_geometry = in_geometry; its adjoint (the gradient of that gradient) swaps the
    first two.
    """
    (o_size, o_stride, o_off), (i_size, i_stride, i_off) = out_geometry, in_geometry
    if 0 in i_size or 0 in o_size:
        return np.zeros(i_size, grad.dtype)
    # As PyTorch: size-1 dims leave the output geometry; stride-0 dims (one position read
    # repeatedly) are summed first. Reversed, so the axes still to visit keep their numbers.
    size, stride = [], []
    for axis in reversed(range(len(o_size))):
        if o_size[axis] == 1:
            grad = grad.reshape(grad.shape[:axis] + grad.shape[axis + 1 :])
        elif o_stride[axis] == 0:
            grad = grad.sum(axis)
        else:
            size.insert(0, o_size[axis])
            stride.insert(0, o_stride[axis])
    out_pos = _positions(tuple(size), tuple(stride), o_off)
    in_pos = _positions(i_size, i_stride, i_off)
    storage = np.zeros(max(out_pos.max(initial=0), in_pos.max(initial=0)) + 1, grad.dtype)
    if maybe_overlapping(tuple(size), tuple(stride)):
        np.add.at(storage, out_pos.reshape(-1), grad.reshape(-1))  # in order, as index_add_
    else:
        storage[out_pos] = grad  # (a copy, as PyTorch's: a -0.0 stays -0.0)
    c_size, c_stride, c_off = count_geometry
    if maybe_overlapping(c_size, c_stride):
        count = np.bincount(
            _positions(c_size, c_stride, c_off).reshape(-1), minlength=storage.size
        )[: storage.size]
        storage = storage / count.astype(storage.dtype)
    return storage[in_pos]


class StridedView(Op):
    """``out = storage[offset + sum_k i_k * stride_k]``: the elements of ``a``'s root memory
    (``storage_size`` elements) that the geometry names, as a view of that memory.

    ``a_geometry`` is ``a``'s own ``(size, stride, offset)`` in that memory (where its first
    element sits tells where the storage starts). Overlapping views are read-only: a write
    would reach one memory location through several elements.
    """

    torch_name = "AsStridedBackward0"

    is_view = True
    always_view = True  # (it may name none of the input's own elements)

    @staticmethod
    def forward(ctx, a, size, stride, offset, a_geometry):
        ctx.geometry, ctx.a_geometry = (size, stride, offset), a_geometry
        item = a.itemsize
        start = a.__array_interface__["data"][0] - a_geometry[2] * item
        writable = a.flags.writeable and not maybe_overlapping(size, stride)
        view = np.asarray(
            _Memory(
                a,
                {
                    "data": (start + offset * item, not writable),
                    "shape": tuple(size),
                    "strides": tuple(s * item for s in stride),
                    "typestr": a.dtype.str,
                    "descr": a.dtype.descr,
                    "version": 3,
                },
            )
        )
        return view

    @staticmethod
    def backward(ctx, grad):
        g = strided_gradient(grad, ctx.geometry, ctx.a_geometry, ctx.a_geometry)
        return g, None, None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        g = StridedGradient.apply(grad, ctx.geometry, ctx.a_geometry, ctx.a_geometry)
        return g, None, None, None, None


class StridedGradient(Op):
    """``strided_gradient`` as an op, so a create_graph backward can differentiate it: linear
    in ``grad``, its own gradient is the same map with the first two geometries swapped."""

    torch_name = "AsStridedBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, out_geometry, in_geometry, count_geometry):
        ctx.geometries = (out_geometry, in_geometry, count_geometry)
        return strided_gradient(grad, out_geometry, in_geometry, count_geometry)

    @staticmethod
    def backward(ctx, grad):
        out_g, in_g, count_g = ctx.geometries
        return strided_gradient(grad, in_g, out_g, count_g), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        out_g, in_g, count_g = ctx.geometries
        return StridedGradient.apply(grad, in_g, out_g, count_g), None, None, None


class _Memory:
    """An object NumPy turns into an array over someone else's memory (``__array_interface__``);
    the array keeps it, and it keeps ``owner`` (whose memory that is) alive."""

    def __init__(self, owner: np.ndarray, interface: dict) -> None:
        self.owner = owner
        self.__array_interface__ = interface
