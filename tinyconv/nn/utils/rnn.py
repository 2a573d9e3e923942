"""Sequence utilities, as torch.nn.utils.rnn: pad_sequence, the collate step of most
text and time-series loaders (variable-length samples padded into one batch tensor)."""

from __future__ import annotations

from collections.abc import Iterable

from ...creation import full
from ...tensor import Tensor
from ...torch_functions import cat, stack

__all__ = ["pad_sequence"]


def pad_sequence(
    sequences: Iterable[Tensor] | Tensor,
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Pad tensors of shapes (L_i, *) to the longest L and stack them: (L, B, *), or (B, L, *)
    with batch_first. padding_side 'right' puts the padding after each sequence, 'left'
    before. The result has the first sequence's dtype; gradients flow back to every sequence
    (the padding is a constant)."""
    what = "pad_sequence"
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"{what}: padding_side must be 'left' or 'right', got {padding_side!r}")
    seqs = list(sequences)  # (a Tensor is read as the sequences along its first dim, as PyTorch)
    if not seqs:
        raise RuntimeError(f"{what}: received an empty list of sequences")
    for i, s in enumerate(seqs):
        if not isinstance(s, Tensor):
            raise TypeError(f"{what}: sequence {i} must be a Tensor, got {type(s).__name__}")
        if s.ndim == 0:
            raise RuntimeError(f"{what}: sequence {i} is 0-d; each must have shape (L, *)")
    first = seqs[0]
    trailing = tuple(first.shape[1:])
    for i, s in enumerate(seqs):
        # (PyTorch copies each into its slot, so a broadcastable shape would pass there; a
        # different shape is almost always a bug, so tinyconv refuses it: README)
        if tuple(s.shape[1:]) != trailing:
            raise RuntimeError(
                f"{what}: sequence {i} has shape {tuple(s.shape)}, but sequence 0 has "
                f"{tuple(first.shape)}; all must share the dims after the first"
            )
    dtype = first.dtype
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        if s._data.dtype != first._data.dtype:
            s = s.to(dtype)
        gap = longest - s.shape[0]
        if gap:
            fill = full((gap, *trailing), padding_value, dtype=dtype)
            s = cat([s, fill] if padding_side == "right" else [fill, s])
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)
