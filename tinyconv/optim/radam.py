"""`torch.optim.radam`'s RAdam under PyTorch's module path (defined in optim/nadam.py)."""

from .nadam import RAdam

__all__ = ["RAdam"]
