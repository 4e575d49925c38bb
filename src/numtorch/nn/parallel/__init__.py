"""Data-parallel wrappers (``torch.nn.parallel``)."""

from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel
from .sync_batchnorm import SyncBatchNorm

__all__ = ["DataParallel", "DistributedDataParallel", "SyncBatchNorm", "data_parallel"]
