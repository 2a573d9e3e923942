"""`torch.nn.modules.distance`'s classes: tinyconv.nn's, under PyTorch's module path."""

from .. import (
    CosineSimilarity,
    PairwiseDistance,
)

__all__ = [
    "CosineSimilarity",
    "PairwiseDistance",
]
