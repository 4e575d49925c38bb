"""Tensor storage in shared memory: a file in ``/dev/shm`` mapped into every process that uses it.

``share(tensor)`` moves a tensor's data into such a mapping (``Tensor.share_memory_``). A forked
child inherits the mapping; another process (a ``spawn`` child, the receiving end of a Queue)
maps the same file by name from the :func:`handle` the pickler sends, so every process reads and
writes the same memory. The file is removed when the process that made it drops the storage (or
exits); mappings made before that stay valid.
"""

import mmap
import os
import tempfile
import uuid
import weakref
from typing import Any

import numpy as np

__all__ = ["share", "is_shared", "handle", "rebuild"]


class SharedStorage(mmap.mmap):
    """A shared mapping that knows the file it maps."""


def _directory():
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        return shm
    return tempfile.gettempdir()


def _unlink(path, pid):
    if os.getpid() == pid:  # not in a forked child, which inherits this finalizer
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _map(path, nbytes):
    fd = os.open(path, os.O_RDWR)
    try:
        storage = SharedStorage(fd, nbytes)
    finally:
        os.close(fd)
    storage.path = path
    return storage


def _create(nbytes):
    nbytes = max(int(nbytes), 1)
    path = os.path.join(_directory(), f"numtorch_{os.getpid()}_{uuid.uuid4().hex[:16]}")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, nbytes)
    finally:
        os.close(fd)
    storage = _map(path, nbytes)
    weakref.finalize(storage, _unlink, path, os.getpid())
    return storage


def _storage_of(array):
    base = array
    while base is not None:
        if isinstance(base, SharedStorage):
            return base
        base = getattr(base, "base", None)
    return None


def is_shared(array):
    """Whether ``array`` lives in a shared mapping."""
    return _storage_of(array) is not None


def share(tensor):
    """Move ``tensor``'s data into shared memory (in place; a no-op when it is there)."""
    data = tensor._data
    if is_shared(data):
        return tensor
    storage = _create(data.nbytes)
    shared = np.ndarray(data.shape, dtype=data.dtype, buffer=storage)
    shared[...] = data
    tensor._data = shared
    return tensor


def handle(array):
    """What another process needs to map ``array``: ``(path, size, offset, dtype, shape,
    strides)``."""
    storage = _storage_of(array)
    start = np.frombuffer(storage, dtype=np.uint8).ctypes.data
    offset = array.__array_interface__["data"][0] - start
    return (storage.path, len(storage), offset, array.dtype.str, array.shape, array.strides)


_attached: weakref.WeakValueDictionary[Any, Any] = weakref.WeakValueDictionary()


def rebuild(path, size, offset, dtype, shape, strides):
    """The array of :func:`handle` in this process, mapped from the same file."""
    storage = _attached.get(path)
    if storage is None:
        try:
            storage = _map(path, size)
        except FileNotFoundError:
            raise RuntimeError(
                f"the shared memory of a tensor ({path}) is gone: the process that shared it "
                f"ended or dropped it before this process received it") from None
        _attached[path] = storage
    return np.ndarray(shape, dtype=np.dtype(dtype), buffer=storage, offset=offset,
                      strides=strides)
