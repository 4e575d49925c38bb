"""Utilities (``torch.utils``): data loading lives in :mod:`numtorch.utils.data`, activation
checkpointing in :mod:`numtorch.utils.checkpoint`."""

from . import checkpoint, data

__all__ = ["checkpoint", "data"]
