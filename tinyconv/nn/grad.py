"""The convolution's gradients as functions, as torch.nn.grad: `conv2d_input` (a transposed
convolution of the output gradient) and `conv2d_weight` (a convolution of the input with the
output gradient). Both are differentiable; conv2d's create_graph backward is exactly these."""

from .functional.conv import conv2d_input, conv2d_weight

__all__ = ["conv2d_input", "conv2d_weight"]
