"""Sequence utilities, as torch.nn.utils.rnn: pad_sequence, the collate step of most
text and time-series loaders (variable-length samples padded into one batch tensor), and
PackedSequence with its pack/pad/unpack functions, which let RNN, LSTM and GRU skip the
padding."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable
from typing import Any

import numpy as np

from ... import _dtype
from ...autograd.ops import Op
from ...creation import full
from ...tensor import Tensor
from ...torch_functions import cat, stack

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


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


# -- packed sequences --------------------------------------------------------------------
# A batch of variable-length sequences, sorted longest first, stored time step after time
# step: data holds step 0 of every sequence, then step 1 of those at least 2 long, and so
# on; batch_sizes[t] is how many sequences are still running at step t. A recurrent layer
# then runs step t on the first batch_sizes[t] rows only, so no padding is ever computed
# and each sequence's final state is the state after its own last step.

_Fields = namedtuple(
    "PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"]
)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation that undoes ``permutation`` (1-D ints): ``out[permutation[i]] = i``;
    None for None (as torch.nn.utils.rnn.invert_permutation)."""
    return _invert_permutation(permutation)


def _invert_permutation(perm: Tensor | None) -> Tensor | None:
    """The permutation that undoes `perm` (int64, 1-D)."""
    if perm is None:
        return None
    inv = np.empty_like(perm._data)
    inv[perm._data] = np.arange(perm._data.size, dtype=perm._data.dtype)
    return Tensor._make(inv, None, False)


class PackedSequence(_Fields):
    """(data, batch_sizes, sorted_indices, unsorted_indices), as torch.nn.utils.rnn.

    data (sum(lengths), *): the sequences' steps interleaved time step by time step;
    batch_sizes (T,) int64: sequences still running at each step; sorted_indices (B,):
    the batch order data uses (None when the batch came sorted); unsorted_indices: its
    inverse, which puts results back in the caller's order. Build one with
    pack_padded_sequence or pack_sequence, not by hand."""

    def __new__(
        cls,
        data: Any,
        batch_sizes: Tensor | None = None,
        sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = _invert_permutation(sorted_indices)
        if batch_sizes is None:  # the old form: PackedSequence((data, batch_sizes))
            if not isinstance(data, (list, tuple)) or len(data) != 2:
                raise TypeError(
                    "PackedSequence: without batch_sizes, data must be a (data, batch_sizes) "
                    f"pair, got {type(data).__name__}"
                )
            data, batch_sizes = data
        for name, v in (("data", data), ("batch_sizes", batch_sizes)):
            if not isinstance(v, Tensor):
                raise TypeError(f"PackedSequence: {name} must be a Tensor, got {type(v).__name__}")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """data.to(...) (dtype or device); the indices stay int64. self when nothing changes."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self.to("cuda")

    def double(self) -> PackedSequence:
        return self.to(dtype=_dtype.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=_dtype.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=_dtype.float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=_dtype.int64)

    def int(self) -> PackedSequence:
        return self.to(dtype=_dtype.int32)

    def short(self) -> PackedSequence:
        return self.to(dtype=_dtype.int16)

    def char(self) -> PackedSequence:
        return self.to(dtype=_dtype.int8)

    def byte(self) -> PackedSequence:
        return self.to(dtype=_dtype.uint8)

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _step_rows(batch_sizes: np.ndarray) -> tuple:
    """(time, batch) index of each row of packed data: step t contributes batch_sizes[t] rows,
    the first batch_sizes[t] sequences of the (sorted) batch."""
    t = np.repeat(np.arange(batch_sizes.size), batch_sizes)
    starts = np.cumsum(batch_sizes) - batch_sizes
    b = np.arange(t.size) - np.repeat(starts, batch_sizes)
    return t, b


class _PackPadded(Op):
    """data = the rows input[t, b] with b < batch_sizes[t], step after step. input (T, B, *)
    ((B, T, *) with batch_first); backward scatters the gradient back, zeros at the padding."""

    torch_name = "PackPaddedSequenceBackward0"

    @staticmethod
    def forward(ctx, a, batch_sizes, batch_first):
        ctx.shape, ctx.batch_sizes, ctx.batch_first = a.shape, batch_sizes, batch_first
        t, b = _step_rows(batch_sizes)
        return a[b, t] if batch_first else a[t, b]

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        t, b = _step_rows(ctx.batch_sizes)
        if ctx.batch_first:
            out[b, t] = grad
        else:
            out[t, b] = grad
        return out, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        first, second = (1, 0) if ctx.batch_first else (0, 1)
        out = _PadPacked.apply(grad, ctx.batch_sizes, ctx.shape[first], ctx.shape[second], 0.0)
        return (out.transpose(0, 1) if ctx.batch_first else out), None, None


class _PadPacked(Op):
    """The padded (T, B, *) batch from packed data (T = total_length), padding_value where a
    sequence has ended; backward packs the gradient (the padding gets none)."""

    torch_name = "CopySlices"  # PyTorch fills a padded tensor slice by slice

    @staticmethod
    def forward(ctx, data, batch_sizes, total_length, batch, padding_value):
        ctx.batch_sizes = batch_sizes
        out = np.full((total_length, batch, *data.shape[1:]), padding_value, dtype=data.dtype)
        t, b = _step_rows(batch_sizes)
        out[t, b] = data
        return out

    @staticmethod
    def backward(ctx, grad):
        t, b = _step_rows(ctx.batch_sizes)
        return grad[t, b], None, None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        return _PackPadded.apply(grad, ctx.batch_sizes, False), None, None, None, None


_SORT_HINT = (
    "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You "
    "can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep "
    "this requirement"
)


def _lengths_array(lengths: Any, what: str) -> np.ndarray:
    """lengths (a Tensor or a sequence of numbers) as 1-D int64, truncated as PyTorch does."""
    raw = lengths._data if isinstance(lengths, Tensor) else lengths
    try:
        arr = np.asarray(raw)
        if arr.dtype.kind not in "biuf":
            raise TypeError
        arr = arr.astype(np.int64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{what}: lengths must be a 1-D int64 tensor or a list of ints, got {lengths!r}"
        ) from None
    if arr.ndim != 1:
        raise RuntimeError(
            f"{what}: 'lengths' argument should be a 1D CPU int64 tensor, but got {arr.ndim}D "
            "tensor"
        )
    return arr


def pack_padded_sequence(
    input: Tensor, lengths: Any, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch (T, B, *) ((B, T, *) with batch_first) of sequences with the given
    lengths (B,). enforce_sorted=True wants lengths in decreasing order; False sorts the
    batch (stably, longest first) and records the order in sorted_indices."""
    what = "pack_padded_sequence"
    if not isinstance(input, Tensor):
        raise TypeError(f"{what}: input must be a Tensor, got {type(input).__name__}")
    lens = _lengths_array(lengths, what)
    if input.ndim < 2:
        raise RuntimeError(
            f"{what}: input must have at least 2 dims (time and batch), got shape "
            f"{tuple(input.shape)}"
        )
    if input.numel() == 0:
        raise RuntimeError(f"{what}: Cannot pack empty tensors (input shape {tuple(input.shape)})")
    sorted_indices = None
    if not enforce_sorted:
        order = np.argsort(-lens, kind="stable")  # PyTorch's descending sort keeps ties in order
        lens = lens[order]
        sorted_indices = Tensor._make(order.astype(np.int64), None, False)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    if lens.size != batch:
        raise RuntimeError(
            f"{what}: Expected `len(lengths)` to be equal to batch_size, but got {lens.size} "
            f"(batch_size={batch})"
        )
    if lens[-1] <= 0:
        raise RuntimeError(
            f"{what}: Length of all samples has to be greater than 0, but found an element in "
            f"'lengths' that is <= 0 (lengths {lens.tolist()})"
        )
    if np.any(lens[1:] > lens[:-1]):
        raise RuntimeError(f"{what}: {_SORT_HINT} (lengths {lens.tolist()})")
    if lens[0] > steps:
        # (PyTorch reads past the end of the input here; tinyconv refuses: README)
        raise RuntimeError(
            f"{what}: the longest length is {int(lens[0])} but the input has only {steps} time "
            f"steps (input shape {tuple(input.shape)}, batch_first={batch_first})"
        )
    # batch_sizes[t]: how many lengths exceed t
    batch_sizes = np.count_nonzero(lens[None, :] > np.arange(lens[0])[:, None], axis=1)
    batch_sizes = batch_sizes.astype(np.int64)
    data = _PackPadded.apply(input, batch_sizes, bool(batch_first))
    return PackedSequence(data, Tensor._make(batch_sizes, None, False), sorted_indices, None)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """The inverse of pack_padded_sequence: (padded (T, B, *) or (B, T, *), lengths (B,)
    int64), in the caller's batch order. T is the longest length, or total_length."""
    what = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{what}: sequence must be a PackedSequence, got {type(sequence).__name__}")
    bs = sequence.batch_sizes._data.astype(np.int64)
    steps = bs.size
    if total_length is not None:
        if isinstance(total_length, bool) or not isinstance(total_length, (int, np.integer)):
            raise TypeError(
                f"{what}: total_length must be an int or None, got {type(total_length).__name__}"
            )
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{steps}"
            )
        steps = int(total_length)
    batch = int(bs[0]) if bs.size else 0
    padded = _PadPacked.apply(sequence.data, bs, steps, batch, padding_value)
    if batch_first:
        padded = padded.transpose(0, 1)
    # lengths[b]: how many steps have batch b running
    lens = np.count_nonzero(bs[:, None] > np.arange(batch)[None, :], axis=0).astype(np.int64)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lens = lens[sequence.unsorted_indices._data]
    return padded, Tensor._make(lens, None, False)


def pack_sequence(sequences: list, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) tensors: pad_sequence, then pack_padded_sequence."""
    seqs = list(sequences)
    lengths = [s.shape[0] if isinstance(s, Tensor) and s.ndim else 0 for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Any, batch_first: bool = False) -> list:
    """The list of sequences (L_i, *) cut from a padded batch (T, B, *) ((B, T, *) with
    batch_first). As PyTorch, without batch_first this transposes padded_sequences in place."""
    what = "unpad_sequence"
    if not isinstance(padded_sequences, Tensor):
        raise TypeError(
            f"{what}: padded_sequences must be a Tensor, got {type(padded_sequences).__name__}"
        )
    lens = _lengths_array(lengths, what)
    if not batch_first:
        padded_sequences.transpose_(0, 1)
    steps = np.arange(padded_sequences.shape[1])
    out = []
    for seq, n in zip(padded_sequences, lens.tolist(), strict=True):
        out.append(seq[Tensor._make(steps < n, None, False)])
    return out


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of sequences (L_i, *) in a PackedSequence, in the caller's order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
