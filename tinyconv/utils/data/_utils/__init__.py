"""`torch.utils.data._utils`: PyTorch's private home of the collate functions (defined in
its module `collate`), imported from there by some data code."""

from . import collate

__all__ = ["collate"]
