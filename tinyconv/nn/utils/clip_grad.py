"""`torch.nn.utils.clip_grad`'s functions under PyTorch's module path (defined in
tinyconv.nn.utils; nothing is defined twice)."""

from . import (  # noqa: F401
    clip_grad_norm,
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)
