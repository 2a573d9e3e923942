"""`torch.nn.utils.convert_parameters`'s functions under PyTorch's module path (defined in
tinyconv.nn.utils)."""

from . import parameters_to_vector, vector_to_parameters  # noqa: F401
