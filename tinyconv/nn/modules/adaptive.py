"""`torch.nn.modules.adaptive`'s class: tinyconv.nn's, under PyTorch's module path."""

from .. import AdaptiveLogSoftmaxWithLoss

__all__ = ["AdaptiveLogSoftmaxWithLoss"]
