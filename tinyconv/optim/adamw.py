"""`torch.optim.adamw`'s AdamW under PyTorch's module path (defined in optim/adam.py)."""

from .adam import AdamW

__all__ = ["AdamW"]
