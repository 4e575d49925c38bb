"""Utilities (``torch.utils``): data loading lives in :mod:`numtorch.utils.data`."""

from . import data

__all__ = ["data"]
