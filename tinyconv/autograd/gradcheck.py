"""`torch.autograd.gradcheck`'s names under PyTorch's module path (defined in _gradcheck.py)."""

from ._gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]
