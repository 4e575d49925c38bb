"""Turning a list of samples into a batch (``torch.utils.data.default_collate``)."""

import collections.abc
import copy
import numbers

import numpy as np

import numtorch

from ... import _dtype as dt
from ..._tensor import Tensor

__all__ = ["default_collate", "default_convert"]

_BAD_ELEM = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
             "lists; found {}")


def _as_tensor(array):
    """``torch.as_tensor`` for an ndarray: share memory when the dtype allows."""
    array = np.asarray(array)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    dt.from_numpy_dtype(array.dtype)  # TypeError for dtypes PyTorch has not
    return Tensor._wrap(array)


def _is_namedtuple(obj):
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def _rebuild_mapping(data, items):
    """A mapping of ``data``'s type holding ``items`` (a plain dict if that type can't)."""
    if type(data) is dict:
        return items
    try:
        if isinstance(data, collections.abc.MutableMapping):
            clone = copy.copy(data)  # keeps the type and its attributes (e.g. defaultdict)
            clone.update(items)
            return clone
        return type(data)(items)
    except TypeError:
        return items


def _rebuild_sequence(data, items):
    if isinstance(data, tuple):
        return list(items)
    try:
        return type(data)(items)
    except TypeError:
        return list(items)


def default_convert(data):
    """Convert NumPy arrays and scalars (also inside dicts, lists, tuples) to tensors.

    Used when automatic batching is off (``batch_size=None``). Tensors, numbers and strings pass
    through unchanged; arrays of strings or objects are left as they are; tuples become lists
    (namedtuples stay namedtuples).
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.bool_, np.number)):
        if isinstance(data, np.ndarray) and data.dtype.char in "SaUO":
            return data
        return _as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {k: default_convert(v) for k, v in data.items()})
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _stack_dtype(dtypes):
    """The dtype ``torch.stack`` gives tensors of ``dtypes`` (PyTorch's promotion rules)."""
    first = dtypes[0]
    if all(d == first for d in dtypes):
        return first
    floats = [d for d in dtypes if d.kind in "fc"]
    if floats and len(floats) < len(dtypes):  # mixed float and integer: floats win
        return np.result_type(*floats)
    return np.result_type(*dtypes)


def _collate_tensors(batch):
    arrays = [t._data for t in batch]
    shape = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 "
                f"and {list(a.shape)} at entry {i}")
    if any(t._requires_grad for t in batch):

        return numtorch.stack(batch, 0)
    out = np.stack(arrays, 0)
    dtype = _stack_dtype([a.dtype for a in arrays])
    return Tensor._wrap(out if out.dtype == dtype else out.astype(dtype))


def default_collate(batch):
    """Collate a list of samples into a batch, keeping the samples' structure.

    * tensors are stacked along a new first dimension (``Tensor`` of shape ``[B, *]``);
    * NumPy arrays are converted to tensors and stacked; NumPy scalars become a 1-D tensor;
    * Python ``float`` → ``float64`` tensor, ``int`` → ``int64`` tensor, ``bool`` → ``bool``;
    * strings and bytes are kept as they are (the batch stays a sequence of strings);
    * dicts, namedtuples, tuples and lists are collated field by field (tuples become lists).

    Example::

        >>> default_collate([(0, 1.5), (1, 2.5)])
        [tensor([0, 1]), tensor([1.5000, 2.5000], dtype=torch.float64)]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _collate_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.char in "SaUO":
            raise TypeError(_BAD_ELEM.format(elem.dtype))
        return _collate_tensors([_as_tensor(b) for b in batch])
    if isinstance(elem, (np.bool_, np.number)):
        return _as_tensor(np.array(batch))
    if isinstance(elem, float):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, bool):
        return Tensor._wrap(_python_scalars(batch, np.bool_))
    if isinstance(elem, int):
        return Tensor._wrap(_python_scalars(batch, np.int64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {k: default_collate([d[k] for d in batch]) for k in elem})
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return _rebuild_sequence(elem, [default_collate(s) for s in zip(*batch)])
    raise TypeError(_BAD_ELEM.format(type(elem)))


def _python_scalars(batch, np_dtype):
    """``torch.tensor(batch)`` for Python numbers: a float among ints gives float32."""
    if all(isinstance(b, (bool, int)) for b in batch):
        if np_dtype is np.bool_ and not all(isinstance(b, bool) for b in batch):
            np_dtype = np.int64
        return np.array(batch, dtype=np_dtype)
    if any(isinstance(b, complex) for b in batch):
        return np.array(batch, dtype=np.complex64)
    if all(isinstance(b, numbers.Real) for b in batch):
        return np.array(batch, dtype=dt.get_default_dtype()._np)
    return np.array(batch)
