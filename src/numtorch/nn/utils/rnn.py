"""``torch.nn.utils.rnn``: padding and packing of variable-length sequences.

A :class:`PackedSequence` stores the time steps of a batch of sequences, sorted longest first,
one after the other: ``data[offset_t : offset_t + batch_sizes[t]]`` holds step ``t`` of the
``batch_sizes[t]`` sequences still running. The recurrent layers accept it directly.
All functions here are composed from differentiable ops, so gradients flow through them.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Self

import numpy as np

from ..._tensor import Tensor
from ...ops.padding import pad as _pad
from ...ops.shape import cat, stack

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


class PackedSequence(namedtuple("PackedSequence_",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    r"""Holds the data and the list of ``batch_sizes`` of a packed sequence.

    Build it with :func:`pack_padded_sequence` or :func:`pack_sequence`, never by hand.
    ``sorted_indices`` orders the original batch longest first and ``unsorted_indices`` undoes
    that (both ``None`` when the batch came sorted).
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _map_data(self, fn):
        return type(self)(fn(self.data), self.batch_sizes, self.sorted_indices,
                          self.unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> Self:
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else type(self)(
            data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self, *args: Any, **kwargs: Any) -> Self:
        return self

    def double(self) -> Self:
        return self._map_data(lambda d: d.double())

    def float(self) -> Self:
        return self._map_data(lambda d: d.float())

    def half(self) -> Self:
        return self._map_data(lambda d: d.half())

    @property
    def is_cuda(self):
        return False

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    inverse = np.empty_like(permutation._data)
    inverse[permutation._data] = np.arange(permutation._data.size)
    return Tensor._wrap(inverse)


def _lengths_array(lengths: Any) -> Any:
    if isinstance(lengths, Tensor):
        return np.asarray(lengths._data, dtype=np.int64).reshape(-1)
    return np.asarray(lengths, dtype=np.int64).reshape(-1)


def pack_padded_sequence(input: Tensor, lengths: Tensor | list[int], batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    r"""Packs a padded batch of variable-length sequences.

    Args:
        input: padded batch of shape :math:`(T, B, *)` (:math:`(B, T, *)` if ``batch_first``)
        lengths: the length of each sequence (a list or a 1-D CPU int64 tensor)
        batch_first: whether ``input`` has the batch dimension first
        enforce_sorted: if ``True``, ``lengths`` must be sorted in decreasing order; if
            ``False``, the batch is sorted here and the order is remembered

    Returns:
        a :class:`PackedSequence`
    """
    lens = _lengths_array(lengths)
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability.")
        sorted_indices = None
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = Tensor._wrap(order.astype(np.int64))
    if batch_first:
        input = input.transpose(0, 1)
    if sorted_indices is not None:
        input = input.index_select(1, sorted_indices)
    if lens.size and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if lens.size and lens[0] > input.shape[0]:
        raise RuntimeError(f"Expected sequence length to be larger than or equal to {lens[0]}"
                           f" but got {input.shape[0]}")
    batch_sizes = [int((lens > t).sum()) for t in range(int(lens[0]))]
    data = cat([input[t, :bs] for t, bs in enumerate(batch_sizes)], 0)
    return PackedSequence(data, Tensor._wrap(np.asarray(batch_sizes, dtype=np.int64)),
                          sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    r"""Pads a packed batch back into a tensor; the inverse of :func:`pack_padded_sequence`.

    Returns:
        ``(padded, lengths)``: the padded batch :math:`(T, B, *)` (or :math:`(B, T, *)`) in the
        original batch order, and each sequence's length as an int64 tensor.
    """
    data, batch_sizes_t, sorted_indices, unsorted_indices = sequence
    batch_sizes = [int(b) for b in batch_sizes_t.tolist()]
    batch, steps = batch_sizes[0], len(batch_sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {steps}")
    rows, offset = [], 0
    trailing = [0, 0] * (data.dim() - 1)
    for bs in batch_sizes:
        step = data[offset:offset + bs]
        if bs < batch:
            step = _pad(step, trailing + [0, batch - bs], value=padding_value)
        rows.append(step)
        offset += bs
    padded = stack(rows, 0)
    if total_length is not None and total_length > steps:
        padded = _pad(padded, trailing + [0, 0, 0, total_length - steps], value=padding_value)
    bs_arr = np.asarray(batch_sizes)
    lengths = np.array([(bs_arr > b).sum() for b in range(batch)], dtype=np.int64)
    if unsorted_indices is not None:
        padded = padded.index_select(1, unsorted_indices)
        lengths = lengths[unsorted_indices._data]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, Tensor._wrap(lengths)


def pad_sequence(sequences: Tensor | list[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    r"""Pads a list of tensors of shapes :math:`(L_i, *)` with ``padding_value`` to the longest.

    Returns :math:`(T, B, *)`, or :math:`(B, T, *)` with ``batch_first=True``. ``padding_side``
    is ``'right'`` (default) or ``'left'``.
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    rows = list(sequences.unbind(0) if isinstance(sequences, Tensor) else sequences)
    longest = max(s.shape[0] for s in rows)
    padded = []
    for s in rows:
        missing = longest - s.shape[0]
        if missing:
            trailing = [0, 0] * (s.dim() - 1)
            side = [0, missing] if padding_side == "right" else [missing, 0]
            s = _pad(s, trailing + side, value=padding_value)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor,
                   batch_first: bool = False) -> list[Tensor]:
    """Splits a padded batch into the list of its unpadded sequences."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:int(n)] for seq, n in zip(padded_sequences, _lengths_array(lengths))]


def pack_sequence(sequences: list[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Packs a list of variable-length tensors (``pad_sequence`` then ``pack_padded_sequence``)."""
    lengths = [s.size(0) for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Unpacks a :class:`PackedSequence` into a list of variable-length tensors."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)

