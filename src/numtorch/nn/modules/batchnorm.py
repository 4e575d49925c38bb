"""``torch.nn.modules.batchnorm``: the batch-norm layers (defined in :mod:`.normalization`)."""

from .lazy import LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, _BatchNorm

__all__ = ["BatchNorm1d", "LazyBatchNorm1d", "BatchNorm2d", "LazyBatchNorm2d", "BatchNorm3d",
           "LazyBatchNorm3d"]

_BatchNorm = _BatchNorm


def __getattr__(name):
    # SyncBatchNorm lives with DistributedDataParallel in nn.parallel; it is loaded on first use
    # (nn.parallel imports these modules, so a module-level import would be circular).
    if name == "SyncBatchNorm":
        # deferred: cycle: nn.parallel imports nn.modules
        from ..parallel.sync_batchnorm import SyncBatchNorm
        return SyncBatchNorm
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
