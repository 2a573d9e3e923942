"""`torch.utils.data._utils`: PyTorch's private home of the collate functions, imported from
there by some data code."""

from . import collate

__all__ = ["collate"]
