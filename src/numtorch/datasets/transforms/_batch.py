"""Applying a known transform to a whole stacked batch at once (used by numtorch's datasets)."""

from ... import _dtype as dt
from ..._tensor import Tensor
from .transforms import Compose, Normalize, ToTensor


def _to_tensor_batch(x):
    """ToTensor on a batch ``(B, H, W)`` of uint8 tensors: ``(B, 1, H, W)``, same values."""
    out = x._data[:, None].astype(dt.get_default_dtype()._np, order="C")
    out /= out.dtype.type(255)
    return Tensor._wrap(out)


def _batched(transform):
    """A function applying ``transform`` to a stacked batch of ``H×W`` uint8 image tensors with
    exactly the per-sample results, or None when ``transform`` is not known to allow that.

    Recognised: ``None``, ``ToTensor()``, ``Compose([ToTensor(), Normalize(...), ...])``.
    Used by datasets to hand the DataLoader a whole collated batch at once.
    """
    if transform is None:
        return lambda x: x
    if type(transform) is ToTensor:
        return _to_tensor_batch
    if type(transform) is Compose:
        steps = list(transform.transforms)
        if not steps or type(steps[0]) is not ToTensor:
            return None
        if not all(type(t) is Normalize for t in steps[1:]):
            return None

        def run(x):
            x = _to_tensor_batch(x)
            for t in steps[1:]:
                x = t(x)
            return x

        return run
    return None
