"""tinyconv's global random-number stream (engine level: Tensor.uniform_/normal_ draw from it;
tinyconv.creation re-exports manual_seed and seed)."""

from __future__ import annotations

from typing import Any

import numpy as np

_seed = int(np.random.SeedSequence().entropy % (2**63))  # (PyTorch also starts from a random one)
_generator = np.random.default_rng(_seed)


def _rng() -> np.random.Generator:
    """The current global generator (replaced, not reseeded, by manual_seed)."""
    return _generator


def manual_seed(seed: int) -> np.random.Generator:
    """Seed tinyconv's random numbers (rand, randn, init, dropout)."""
    global _generator, _seed
    _seed = int(seed)
    _generator = np.random.default_rng(_seed)
    return _generator


def initial_seed() -> int:
    """The seed of the global stream (the last manual_seed, else the random one it began with)."""
    return _seed


def seed() -> int:
    """Seed the global stream from fresh entropy; returns the seed used."""
    s = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(s)
    return s


def multinomial_indices(
    weights: np.ndarray, num_samples: int, replacement: bool, generator: Any, what: str
) -> np.ndarray:
    """Indices drawn by weight from each row of `weights` (1-D or 2-D, non-negative, a nonzero
    sum per row), int64 of shape (num_samples,) or (rows, num_samples)."""
    if weights.ndim not in (1, 2):
        raise RuntimeError(f"{what}: prob_dist must be 1 or 2 dim, got {weights.ndim} dims")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
        raise RuntimeError(f"{what}: num_samples must be a positive integer, got {num_samples!r}")
    w = np.atleast_2d(weights).astype(np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise RuntimeError(f"{what}: probability tensor contains either inf, nan or element < 0")
    sums = w.sum(axis=1)
    if np.any(sums <= 0):
        raise RuntimeError(f"{what}: invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > w.shape[1]:
        raise RuntimeError(
            f"{what}: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
            f"({num_samples} > {w.shape[1]})"
        )
    if not replacement and np.any(np.count_nonzero(w, axis=1) < num_samples):
        raise RuntimeError(
            f"{what}: fewer nonzero weights than num_samples ({num_samples}) in some row, "
            "so they cannot be drawn without replacement"
        )
    g = generator or _generator
    rows = [g.choice(w.shape[1], num_samples, replace=replacement, p=row / row.sum()) for row in w]
    out = np.stack(rows).astype(np.int64)
    return out[0] if weights.ndim == 1 else out
