"""`tinyconv.backends.cuda`: CUDA's switches. The matmul precision flags are recorded only;
the scaled-dot-product-attention switches are those `F.scaled_dot_product_attention` reads
(on a CPU the math and flash kernels are the ones that can run)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

from ..nn.functional import attention as _attention


class _MatmulFlags:
    """`torch.backends.cuda.matmul`: reduced-precision switches (no effect on a CPU)."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()


def is_built() -> bool:
    return False


def preferred_linalg_library(backend: object = None) -> str:
    """No GPU linear algebra to choose between: 'Default'."""
    return "Default"


def _switch(name: str, on: bool) -> None:
    _attention.SDP_ENABLED[name] = bool(on)


def enable_flash_sdp(enabled: bool) -> None:
    _switch("flash", enabled)


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _switch("mem_efficient", enabled)


def enable_math_sdp(enabled: bool) -> None:
    _switch("math", enabled)


def enable_cudnn_sdp(enabled: bool) -> None:
    _switch("cudnn", enabled)


def flash_sdp_enabled() -> bool:
    return _attention.SDP_ENABLED["flash"]


def mem_efficient_sdp_enabled() -> bool:
    return _attention.SDP_ENABLED["mem_efficient"]


def math_sdp_enabled() -> bool:
    return _attention.SDP_ENABLED["math"]


def cudnn_sdp_enabled() -> bool:
    return _attention.SDP_ENABLED["cudnn"]


@contextlib.contextmanager
def sdp_kernel(
    enable_flash: bool = True,
    enable_math: bool = True,
    enable_mem_efficient: bool = True,
    enable_cudnn: bool = True,
) -> Iterator[None]:
    """Deprecated spelling of `nn.attention.sdpa_kernel`: the four switches for a `with`
    block, restored after it."""
    warnings.warn(
        "`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager "
        "will be removed. Please see `torch.nn.attention.sdpa_kernel()` for the new context "
        "manager, with updated signature.",
        FutureWarning,
        stacklevel=3,
    )
    saved = dict(_attention.SDP_ENABLED)
    _attention.SDP_ENABLED.update(
        flash=bool(enable_flash),
        math=bool(enable_math),
        mem_efficient=bool(enable_mem_efficient),
        cudnn=bool(enable_cudnn),
    )
    try:
        yield
    finally:
        _attention.SDP_ENABLED.update(saved)
