"""`torch.utils.data.dataset`'s names, for code that imports them from there (they live in
tinyconv.utils.data)."""

from . import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split

__all__ = ["ConcatDataset", "Dataset", "IterableDataset", "Subset", "TensorDataset", "random_split"]
