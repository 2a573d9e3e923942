"""`torch.utils.data.distributed`: DistributedSampler, which hands each of `num_replicas`
processes its own share of a dataset's indices."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from ... import _process_group
from ..._rng import Generator
from ...creation import randperm
from . import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """Rank `rank`'s indices out of `num_replicas` (both default to the process group's).

    Each epoch the indices are shuffled with a generator seeded `seed + epoch` (call
    `set_epoch` before each epoch, as in PyTorch), padded by repeating the first ones to a
    multiple of `num_replicas` (or cut down to one with `drop_last`), and rank r takes every
    `num_replicas`-th index from position r. The same seed gives PyTorch's indices.
    """

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None:
            num_replicas = _process_group.require_default()["world_size"]
        if rank is None:
            rank = _process_group.require_default()["rank"]
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            # drop the tail so that every rank gets the same count
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            g = Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[: self.total_size]
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose shuffle the next iteration uses (seed + epoch)."""
        self.epoch = epoch
