"""`torch.nn.modules.channelshuffle`'s classes: tinyconv.nn's, under PyTorch's module path."""

from .. import (
    ChannelShuffle,
)

__all__ = [
    "ChannelShuffle",
]
