"""Datasets (``torch.utils.data.dataset``): map-style and iterable datasets, combinators."""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from ..._tensor import Tensor
from . import _random

if TYPE_CHECKING:
    from ...random import Generator

__all__ = [
    "Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset",
    "ChainDataset", "Subset", "random_split",
]

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)
_T_stack = TypeVar("_T_stack", tuple[Any, ...], dict[str, Any])


class Dataset(Generic[_T_co]):
    """An abstract map-style dataset: subclasses define ``__getitem__`` (and usually ``__len__``).

    ``dataset_a + dataset_b`` concatenates the two into a :class:`ConcatDataset`.
    """

    def __getitem__(self, index: Any) -> _T_co:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset[_T_co]) -> ConcatDataset[_T_co]:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[_T_co], Iterable[_T_co]):
    """An abstract dataset that is a stream: subclasses define ``__iter__``.

    With ``num_workers > 0`` every worker process gets a replica of the dataset; use
    :func:`numtorch.utils.data.get_worker_info` in ``__iter__`` to split the work between them.
    """

    def __iter__(self) -> Iterator[_T_co]:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: Dataset[_T_co]) -> ChainDataset:  # type: ignore[override]
        return ChainDataset([self, other])


class TensorDataset(Dataset[tuple[Tensor, ...]]):
    """A dataset wrapping tensors: sample ``i`` is ``tuple(t[i] for t in tensors)``.

    Args:
        *tensors (Tensor): tensors with the same size of the first dimension.
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not all(tensors[0].size(0) == t.size(0) for t in tensors):
            raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].size(0)

    def _fetch_collated(self, idx):
        """The default-collated batch at ``idx``: one fancy index per tensor (DataLoader fast
        path; declines tensors that require grad or are subclasses, which need ``stack``)."""
        if type(self).__getitem__ is not TensorDataset.__getitem__:
            return None  # a subclass decides what a sample is
        if not all(type(t) is Tensor and not t._requires_grad for t in self.tensors):
            return None
        return [Tensor._wrap(t._data[idx]) for t in self.tensors]


class StackDataset(Dataset[_T_stack]):
    """Stack several datasets of equal length sample by sample.

    ``StackDataset(a, b)[i] == (a[i], b[i])``;
    ``StackDataset(x=a, y=b)[i] == {"x": a[i], "y": b[i]}``.
    """

    def __init__(self, *args: Dataset[Any], **kwargs: Dataset[Any]) -> None:
        if args and kwargs:
            raise ValueError(
                "Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like "
                "input/output, but both types are given.")
        sources = args or tuple(kwargs.values())
        if not sources:
            raise ValueError("At least one dataset should be passed")
        self._length = len(sources[0])  # type: ignore[arg-type]
        if any(self._length != len(d) for d in sources):  # type: ignore[arg-type]
            raise ValueError("Size mismatch between datasets")
        self.datasets = args if args else kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


class ConcatDataset(Dataset[_T_co]):
    """Concatenation of map-style datasets: indices run through each dataset in turn.

    Attributes:
        cumulative_sizes (list of int): running totals of the datasets' lengths.
    """

    @staticmethod
    def cumsum(sequence: Iterable[Any]) -> list[int]:
        return list(itertools.accumulate(len(d) for d in sequence))

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> _T_co:
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx if dataset_idx == 0 else idx - self.cumulative_sizes[dataset_idx - 1]
        return self.datasets[dataset_idx][sample_idx]


class ChainDataset(IterableDataset):
    """Chain iterable datasets one after the other (lazily)."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator[Any]:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(d)  # type: ignore[arg-type]
        return total


class Subset(Dataset[_T_co]):
    """The samples of ``dataset`` at ``indices`` (in that order)."""

    def __init__(self, dataset: Dataset[_T_co], indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx: Any) -> _T_co:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list[_T_co]:
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            return getitems([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Dataset[_T], lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset[_T]]:
    """Randomly split ``dataset`` into non-overlapping :class:`Subset` s of the given lengths.

    ``lengths`` are either integers summing to ``len(dataset)`` or fractions summing to 1; with
    fractions each split gets ``floor(frac * len(dataset))`` samples and the remainder is dealt
    out one at a time, round-robin, from the first split on.

    Example::

        >>> g = numtorch.Generator().manual_seed(0)
        >>> train, val = random_split(range(10), [0.7, 0.3], generator=g)
    """
    n = len(dataset)  # type: ignore[arg-type]
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(int(math.floor(n * frac)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=2)
        lengths = sizes
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = _random.randperm(sum(lengths), generator).tolist()
    return [Subset(dataset, perm[end - size:end])
            for size, end in zip(lengths, itertools.accumulate(lengths))]


def _batch_source(dataset):
    """``(fetch_collated, row_map)`` for a dataset that can build a whole batch at once, or None.

    A dataset opts in by defining ``_fetch_collated(idx)``: given a 1-D int64 index array it
    returns exactly what ``default_collate([dataset[i] for i in idx])`` would, or None to decline.
    Subsets are looked through: ``row_map`` maps indices of ``dataset`` to indices of the
    underlying one (None: identity).
    """
    row_map = None
    while type(dataset) is Subset:
        idx = np.asarray(dataset.indices)
        if idx.dtype.kind not in "iu" or idx.ndim != 1:
            return None
        row_map = idx if row_map is None else idx[row_map]
        dataset = dataset.dataset
    fetch = getattr(dataset, "_fetch_collated", None)
    return None if fetch is None else (fetch, row_map)
