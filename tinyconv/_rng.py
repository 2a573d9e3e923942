"""tinyconv's global random-number stream (engine level: Tensor.uniform_/normal_ draw from it;
tinyconv.creation re-exports manual_seed and seed)."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def _rng() -> np.random.Generator:
    """The current global generator (replaced, not reseeded, by manual_seed)."""
    return _generator


def manual_seed(seed: int) -> np.random.Generator:
    """Seed tinyconv's random numbers (rand, randn, init, dropout)."""
    global _generator
    _generator = np.random.default_rng(int(seed))
    return _generator


def seed() -> int:
    """Seed the global stream from fresh entropy; returns the seed used."""
    s = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(s)
    return s
