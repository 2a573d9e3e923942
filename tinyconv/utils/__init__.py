"""Utilities, as torch.utils: `tinyconv.utils.data` holds Dataset, DataLoader and random_split."""
from . import data

__all__ = ["data"]
