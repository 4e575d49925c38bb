"""``DistributedSampler``: each rank of a data-parallel job reads its own share of a dataset.

The shuffled order is PyTorch's, index for index: PyTorch draws ``torch.randperm(len(dataset))``
from a ``torch.Generator`` seeded with ``seed + epoch`` (a Mersenne Twister, MT19937) and
numtorch's generators use another stream, so the permutation is computed here with PyTorch's
algorithm on NumPy's MT19937 seeded the same way. A job that mixes numtorch and PyTorch ranks, or
a numtorch job resumed from a PyTorch one, reads the same samples on the same rank.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from .dataset import Dataset
from .sampler import Sampler, _T_co

__all__ = ["DistributedSampler"]


def _mt19937_randperm(n, seed):
    """``torch.randperm(n, generator=torch.Generator().manual_seed(seed))`` as a list.

    PyTorch seeds MT19937 with the low 32 bits of the seed (``init_genrand``) and shuffles
    ``range(n)`` front to back: position ``i`` swaps with ``i + random() % (n - i)``, where
    ``random()`` is the next 32-bit output (a 64-bit one, two outputs high word first, for
    ``n`` of ``2**32 / 20`` and more).
    """
    # RandomState seeds MT19937 with init_genrand, and a draw over the full uint32 range is
    # the generator's raw output.
    mt = np.random.RandomState(int(seed) & 0xFFFFFFFF)
    steps = max(n - 1, 0)
    wide = n >= (2**32 - 1) // 20
    raw = mt.randint(0, 2**32, size=2 * steps if wide else steps, dtype=np.uint32)
    raw = raw.astype(np.uint64)
    if wide:
        raw = (raw[0::2] << np.uint64(32)) | raw[1::2]
    spans = np.arange(n, n - steps, -1, dtype=np.uint64)
    offsets = (raw % spans).astype(np.int64) if steps else np.zeros(0, np.int64)
    perm = list(range(n))
    for i, z in enumerate(offsets.tolist()):
        j = i + z
        perm[i], perm[j] = perm[j], perm[i]
    return perm


class DistributedSampler(Sampler[_T_co]):
    """Restricts data loading to the share of ``dataset`` that belongs to rank ``rank``.

    Rank ``r`` of ``num_replicas`` gets indices ``r, r + num_replicas, …`` of the (shuffled)
    order; without ``drop_last`` the order is padded with its first indices so that every rank
    gets the same number of samples. Call :meth:`set_epoch` at the start of each epoch to get a
    new order.

    Args:
        dataset: dataset used for sampling.
        num_replicas (int, optional): number of ranks (the process group's size by default).
        rank (int, optional): rank of this process (from the process group by default).
        shuffle (bool): shuffle the indices. Default: ``True``
        seed (int): seed of the shuffle, the same on every rank. Default: ``0``
        drop_last (bool): drop the tail instead of padding, so that the data divides evenly.
            Default: ``False``
    """

    def __init__(self, dataset: Dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            # deferred: startup time (numtorch.distributed only when rank or world size is not
            # given)
            from ... import distributed as dist
            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            if num_replicas is None:
                num_replicas = dist.get_world_size()
            if rank is None:
                rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        if self.drop_last and len(self.dataset) % self.num_replicas != 0:  # type: ignore[arg-type]
            self.num_samples = math.ceil((len(self.dataset) - self.num_replicas)  # type: ignore[arg-type]
                                         / self.num_replicas)
        else:
            self.num_samples = math.ceil(len(self.dataset) / self.num_replicas)  # type: ignore[arg-type]
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[_T_co]:
        if self.shuffle:
            indices = _mt19937_randperm(len(self.dataset), self.seed + self.epoch)  # type: ignore[arg-type]
        else:
            indices = list(range(len(self.dataset)))  # type: ignore[arg-type]
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch: with ``shuffle``, each epoch has its own order (the same on every
        rank)."""
        self.epoch = epoch
