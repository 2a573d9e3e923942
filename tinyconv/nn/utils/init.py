"""`torch.nn.utils.init`'s function under PyTorch's module path (defined in tinyconv.nn.utils)."""

from . import skip_init  # noqa: F401
