"""`torch.utils.data._utils.collate`'s functions under PyTorch's module path (defined in
tinyconv.utils.data)."""

from .. import default_collate, default_convert

__all__ = ["default_collate", "default_convert"]
