"""Pure NumPy kernels: the math of convolution, pooling and padding, with no Tensor and no graph.

conv.py holds the loop reference, the fast im2col path and the backward, side by side.
"""
