"""Utilities, as torch.utils: `tinyconv.utils.data` holds Dataset, DataLoader and random_split;
`tinyconv.utils.progress` shows progress with tqdm where installed, plain lines otherwise."""
from . import data, progress

__all__ = ["data", "progress"]
