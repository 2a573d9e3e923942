"""The convolution's gradients as functions, as torch.nn.grad: `conv2d_input` (a transposed
convolution of the output gradient) and `conv2d_weight` (a convolution of the input with the
output gradient), and their 1-D and 3-D twins. All are differentiable; conv2d's and conv3d's
create_graph backward is exactly these."""

from .functional.conv import conv1d_input, conv1d_weight, conv2d_input, conv2d_weight
from .functional.conv3d import conv3d_input, conv3d_weight

__all__ = [
    "conv1d_input",
    "conv1d_weight",
    "conv2d_input",
    "conv2d_weight",
    "conv3d_input",
    "conv3d_weight",
]
