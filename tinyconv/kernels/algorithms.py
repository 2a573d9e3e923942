"""Choosing the convolution algorithm: the loop references, the plain im2col path, or the fast one.

    import tinyconv
    tinyconv.kernels.conv_algorithms()           # ('loops', 'im2col', 'fast', 'winograd')
    with tinyconv.kernels.conv_algorithm("loops"):
        loss = model(x).sum()                    # conv2d / conv_transpose2d run the loops...
        loss.backward()                          # ...and so does their backward
    tinyconv.kernels.conv_algorithm("im2col")    # a plain call switches until the next switch

All four compute the same sums (the tests hold them to 1e-10 in float64); they
differ in speed and in how readable the code is that a debugger steps into.
Winograd takes a different route to the same sum for 3x3 stride-1
convolutions (docs/winograd.md), so in float32 it rounds differently: F(4x4,
3x3) about 4x im2col's error (relative RMS 1.2e-6 against float64 for a
64-channel layer, im2col 3.1e-7), and over a deep network that compounds
(densenet121's float32 gradients: 1e-3 relative), so "fast" does not use it
by default; "winograd" runs it on every 3x3 stride-1 convolution.
The algorithm a convolution ran is recorded on its graph node (``algorithm``),
and its backward runs the same one; the trace and the graph view show it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from . import conv, conv_fast

if TYPE_CHECKING:
    from typing import Self


class ConvAlgorithm(NamedTuple):
    """One implementation of the four convolution kernels, all with conv_fast's signatures."""

    name: str
    summary: str
    conv2d_forward: Callable[
        ..., tuple
    ]  # (x, w, b, stride, padding, dilation, groups) -> (y, saved)
    conv2d_backward: Callable[..., tuple]  # (g, x, w, saved, stride, ..., need_*) -> grads
    conv_transpose2d_forward: Callable[..., Any]
    conv_transpose2d_backward: Callable[..., tuple]


def _loops_forward(x, w, b, stride, padding, dilation, groups):
    return conv.conv2d_reference(x, w, b, stride, padding, dilation, groups), None


def _loops_backward(
    grad_out,
    x,
    w,
    saved,
    stride,
    padding,
    dilation,
    groups,
    need_input=True,
    need_weight=True,
    need_bias=True,
):
    grads = conv.conv2d_backward_reference(grad_out, x, w, stride, padding, dilation, groups)
    return tuple(
        g if need else None
        for g, need in zip(grads, (need_input, need_weight, need_bias), strict=False)
    )


def _loops_transpose_backward(
    grad_out,
    x,
    w,
    stride,
    padding,
    output_padding,
    dilation,
    groups,
    need_input=True,
    need_weight=True,
    need_bias=True,
):
    grads = conv.conv_transpose2d_backward_reference(
        grad_out, x, w, stride, padding, output_padding, dilation, groups
    )
    return tuple(
        g if need else None
        for g, need in zip(grads, (need_input, need_weight, need_bias), strict=False)
    )


ALGORITHMS: dict[str, ConvAlgorithm] = {
    a.name: a
    for a in (
        ConvAlgorithm(
            "loops",
            "the definitions as Python loops (conv.py, *_reference)",
            _loops_forward,
            _loops_backward,
            conv.conv_transpose2d_reference,
            _loops_transpose_backward,
        ),
        ConvAlgorithm(
            "im2col",
            "im2col + one batched GEMM + col2im by slice-adds (conv.py)",
            conv.conv2d_forward,
            conv.conv2d_backward,
            conv.conv_transpose2d_forward,
            conv.conv_transpose2d_backward,
        ),
        ConvAlgorithm(
            "fast",
            "tuned layouts of the same GEMMs (conv_fast.py)",
            conv_fast.conv2d_forward,
            conv_fast.conv2d_backward,
            conv_fast.conv_transpose2d_forward,
            conv_fast.conv_transpose2d_backward,
        ),
        ConvAlgorithm(
            "winograd",
            "Winograd F(4x4, 3x3) for every 3x3 stride-1 conv2d, else fast (winograd.py)",
            functools.partial(conv_fast.conv2d_forward, winograd=4),
            functools.partial(conv_fast.conv2d_backward, winograd=4),
            conv_fast.conv_transpose2d_forward,
            conv_fast.conv_transpose2d_backward,
        ),
    )
}

current: ConvAlgorithm = ALGORITHMS["fast"]  # read by tinyconv.nn.functional at every convolution


def conv_algorithms() -> tuple[str, ...]:
    """The names ``conv_algorithm`` accepts: ``('loops', 'im2col', 'fast', 'winograd')``."""
    return tuple(ALGORITHMS)


class conv_algorithm:  # lower case: used like a function, as torch.no_grad is
    """Select the convolution algorithm: at once, and until the ``with`` block ends if used as one.

    ``name`` is one of ``conv_algorithms()``. It applies to conv2d and
    conv_transpose2d, forward and backward (a node's backward runs the
    algorithm its forward ran).
    """

    def __init__(self, name: str) -> None:
        global current
        if name not in ALGORITHMS:
            raise ValueError(
                f"conv_algorithm: name must be one of {conv_algorithms()}, got {name!r}"
            )
        self.name = name
        self._previous = current
        current = ALGORITHMS[name]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        global current
        current = self._previous

    def __repr__(self) -> str:
        return f"conv_algorithm({self.name!r})"
