"""Pure NumPy kernels: the math of convolution, pooling and padding, with no Tensor and no graph.

conv.py is the teaching convolution (the derivation, the loop references forward and
backward, the plain im2col path, the transposed convolution); conv_fast.py computes the
same sums with tuned layouts. ``conv_algorithm(name)`` picks which one runs.
"""

from . import memory
from .algorithms import conv_algorithm, conv_algorithms

memory.prime_heap()  # a training step's memory stays in the heap between steps (memory.py)

__all__ = ["conv_algorithm", "conv_algorithms"]
