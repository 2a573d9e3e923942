"""`torch.nn.modules.sparse`'s classes: tinyconv.nn's, under PyTorch's module path."""

from .. import (
    Embedding,
    EmbeddingBag,
)

__all__ = [
    "Embedding",
    "EmbeddingBag",
]
