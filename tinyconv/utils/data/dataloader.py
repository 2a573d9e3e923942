"""`torch.utils.data.dataloader`'s names, for code that imports them from there (they live in
tinyconv.utils.data)."""

from . import DataLoader, default_collate, default_convert

__all__ = ["DataLoader", "default_collate", "default_convert"]
