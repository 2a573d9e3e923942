"""`tinyconv.backends`: the switches of PyTorch's `torch.backends.*`, for scripts that set or
read them. tinyconv computes with NumPy and its BLAS whatever they say, so the GPU
libraries' flags (cudnn, cuda.matmul) are recorded only; `mps`, `cudnn` and the other
libraries PyTorch may be built with report themselves unavailable. The attention switches
(`cuda.enable_math_sdp(...)`, `nn.attention.sdpa_kernel`) are read by
`F.scaled_dot_product_attention`, which raises, as PyTorch's CPU build does, when none of the
kernels a CPU has (math, flash) is left on.
"""

from . import cpu, cuda, cudnn, mha, mkl, mkldnn, mps, nnpack, openmp, opt_einsum

__all__ = [
    "cpu",
    "cuda",
    "cudnn",
    "mha",
    "mkl",
    "mkldnn",
    "mps",
    "nnpack",
    "openmp",
    "opt_einsum",
]
