"""``DistributedSampler``: each rank of a data-parallel job reads its own share of a dataset.

The shuffled order is PyTorch's, index for index: ``randperm(len(dataset))`` from a generator
seeded with ``seed + epoch``, and numtorch's generators give PyTorch's numbers. A job that mixes
numtorch and PyTorch ranks, or a numtorch job resumed from a PyTorch one, reads the same samples
on the same rank.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from ... import random
from .dataset import Dataset
from .sampler import Sampler, _T_co

__all__ = ["DistributedSampler"]


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
            g = random.Generator().manual_seed(self.seed + self.epoch)
            indices = random.randperm(g, len(self.dataset)).tolist()  # type: ignore[arg-type]
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
