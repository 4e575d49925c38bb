"""``numtorch.save`` / ``numtorch.load``: PyTorch's checkpoint format, as ``torch.serialization``.

* :mod:`.writer` writes the zip format ``torch.save`` writes; any picklable object saves.
* :mod:`.archive` reads the zip archive, refusing hostile files (zip bombs, duplicate records,
  records of the wrong size, devices such as ``/dev/zero``).
* :mod:`.unpickler` reads ``data.pkl``: by default (``weights_only=True``) with a restricted
  unpickler that runs no code, or, when the caller opts in with ``weights_only=False``, with
  Python's own unpickler.
* :mod:`.safetensors` reads and writes Hugging Face's safetensors format.
"""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from .._device import check_device
from .._device import device as _device
from .._tensor import Tensor
from ._common import BF16, StorageType, damaged
from .archive import Archive, check_regular_file, check_regular_path
from .safetensors import load_safetensors, save_safetensors
from .unpickler import (
    _allowlist,
    _LoadedStorage,
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    load_full,
    load_weights_only,
    safe_globals,
    user_allowed_globals,
)
from .writer import DEFAULT_PROTOCOL, save

if TYPE_CHECKING:
    from ..types import FileLike

# Where load puts the tensors: a device, a device string, a {saved: wanted} dict or a function
# of (storage, location).
MapLocation: TypeAlias = "Callable[[Any, str], Any] | _device | str | dict[str, str] | None"

__all__ = ["save", "load", "save_safetensors", "load_safetensors", "add_safe_globals",
           "safe_globals", "get_safe_globals", "clear_safe_globals",
           "get_unsafe_globals_in_checkpoint", "DEFAULT_PROTOCOL"]

# The legacy pickle magic number that torch's pre-1.6 (non-zip) format starts with.
_LEGACY_MAGIC = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"
_TRUE = ("1", "y", "yes", "true")


def _location_mapper(map_location):
    """Turn ``map_location`` into ``f(storage_array, location) -> storage_array``."""
    if map_location is None:
        return None
    if isinstance(map_location, (str, _device)):
        check_device(map_location)
        return None
    if isinstance(map_location, dict):
        for dst in map_location.values():
            check_device(dst)
        return None
    if callable(map_location):
        def apply(flat, location):
            out = map_location(Tensor._wrap(flat), location)
            if isinstance(out, Tensor):
                out = out._data
            if out is None or out is flat:
                return flat
            out = np.asarray(out).reshape(-1)
            if out.dtype != flat.dtype or out.size != flat.size:
                raise RuntimeError("map_location must return the storage it was given")
            return out
        return apply
    raise ValueError(f"map_location should be a str, torch.device, dict or function, "
                     f"but got {type(map_location).__name__}")


_TORCH_DTYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                      "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                      "bool": "Bool", "complex64": "ComplexFloat",
                      "complex128": "ComplexDouble", BF16: "BFloat16"}


def _storage_loader(archive, name, map_fn):
    storages = {}

    def persistent_load(pid):
        if type(pid) is not tuple or len(pid) != 5:
            raise pickle.UnpicklingError("numtorch.load: only storages can be persistent ids")
        kind, stype, key, location, numel = pid
        if isinstance(kind, bytes):
            kind = kind.decode("ascii")
        if kind != "storage" or type(stype) is not StorageType or type(key) is not str \
                or type(location) is not str or type(numel) is not int or numel < 0:
            raise pickle.UnpicklingError(f"numtorch.load: malformed storage id {pid!r}")
        cached = storages.get((key, stype.name))
        if cached is not None:
            return cached
        np_dtype = stype.np_dtype
        dtype_name = _TORCH_DTYPE_NAMES.get(np_dtype if np_dtype is BF16 else np_dtype.name,
                                            stype.name)
        raw = archive.raw(key, numel * stype.itemsize,
                          f"{numel} elements * {stype.itemsize} bytes/element for dtype "
                          f"{dtype_name}")
        if np_dtype is BF16:
            flat = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            flat = raw.view(np_dtype)
        if map_fn is not None:
            flat = map_fn(flat, location)
        storage = storages[(key, stype.name)] = _LoadedStorage(flat)
        return storage

    return persistent_load


def _peek(fh, n):
    pos = fh.tell()
    head = fh.read(n)
    fh.seek(pos)
    return head


def _open_archive(fh, name, use_mmap):
    head = _peek(fh, len(_LEGACY_MAGIC))
    if not head:
        raise RuntimeError(f"numtorch.load: '{name}' is empty: it is not a PyTorch checkpoint "
                           "(was the save interrupted?)")
    if head.startswith(_LEGACY_MAGIC):
        raise RuntimeError(
            f"numtorch.load: '{name}' uses the legacy (pre-1.6, non-zip) torch.save format, "
            "which numtorch does not read; load and re-save it with a recent torch.save")
    return Archive(fh, name, use_mmap)


def _load_from(fh, name, map_fn, use_mmap, encoding, weights_only):
    archive = _open_archive(fh, name, use_mmap)
    data = archive.pickle_bytes()
    persistent_load = _storage_loader(archive, name, map_fn)
    if weights_only:
        return load_weights_only(data, persistent_load, name, encoding)
    return load_full(data, persistent_load, encoding)


def _resolve_weights_only(weights_only, pickle_module):
    explicit = weights_only is not None
    if not explicit:
        weights_only = pickle_module is None
    force_on = os.getenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "0").lower() in _TRUE
    force_off = os.getenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "0").lower() in _TRUE
    if force_on and force_off:
        raise RuntimeError(
            "Only one of `TORCH_FORCE_WEIGHTS_ONLY_LOAD` or `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD` "
            "should be set, but both were set.")
    if force_on:
        weights_only = True
    elif force_off and not explicit:
        warnings.warn(
            "Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected, since the"
            "`weights_only` argument was not explicitly passed to `torch.load`, forcing "
            "weights_only=False.", UserWarning, stacklevel=3)
        weights_only = False
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    return weights_only


def load(f: FileLike, map_location: MapLocation = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None,
         **pickle_load_args: Any) -> Any:
    """Loads an object saved with :func:`torch.save` or :func:`numtorch.save` from a file.

    Tensors come back as numtorch tensors on the CPU (whatever device they were saved from);
    tensors that shared a storage when saved share one NumPy buffer after loading. A path
    ending in ``.safetensors`` is read with :func:`load_safetensors`, as torch does.

    .. warning::
        ``weights_only=False`` uses Python's unpickler, which can run arbitrary code from the
        file. Use it only for files from a trusted source.

    Args:
        f: a path (``str`` or ``os.PathLike``) or a readable, seekable binary file object.
        map_location: ``None``, ``'cpu'``, ``torch.device('cpu')``, a dict mapping saved
            locations to ``'cpu'``, or a function ``(storage, location) -> storage``.
        pickle_module: only ``None`` (or :mod:`pickle`, with ``weights_only=False``).
        weights_only: if True (the default unless ``pickle_module`` is given), only tensors,
            parameters, dtypes, ``torch.Size``, ``torch.device``, plain containers, numbers,
            strings and the globals added with :func:`add_safe_globals` load; any other global
            raises :class:`pickle.UnpicklingError` with torch's advice. bfloat16 storages load
            as float32.
        mmap: if True, storages are memory-mapped (copy-on-write) instead of read; ``f`` must
            be a path.
        pickle_load_args: ``encoding`` for Python 2 strings (default ``'utf-8'``).

    Raises:
        pickle.UnpicklingError: the checkpoint names a global that is not allowed, or ``f`` is
            not a regular file (a device, FIFO or socket).
        RuntimeError: the file is empty, truncated, damaged, a zip bomb, or not a checkpoint.
    """
    weights_only = _resolve_weights_only(weights_only, pickle_module)
    if pickle_load_args and weights_only:
        warnings.warn("pickle_load_args only works if `weights_only=False`.", stacklevel=2)
    encoding = pickle_load_args.pop("encoding", "utf-8")
    if pickle_load_args:
        raise TypeError(f"load() got unexpected keyword arguments {sorted(pickle_load_args)}")
    if isinstance(f, (str, os.PathLike)) and os.fspath(f).endswith(".safetensors"):
        if isinstance(map_location, dict):
            raise RuntimeError(
                "Loading safetensors file with dict map_location is not supported. "
                "Use a device string or torch.device instead.")
        if callable(map_location) and not isinstance(map_location, (str, _device)):
            raise RuntimeError(
                "Loading safetensors file with callable map_location is not supported. "
                "Use a device string or torch.device instead.")
        _location_mapper(map_location)
        return load_safetensors(f)
    map_fn = _location_mapper(map_location)
    if isinstance(f, (str, os.PathLike)):
        name = os.fspath(f)
        check_regular_path(name)
        with open(name, "rb") as fh:
            check_regular_file(fh.fileno(), name)
            return _load_from(fh, name, map_fn, bool(mmap), encoding, weights_only)
    if mmap:
        raise ValueError("f must be a file path in order to use the mmap argument")
    name = getattr(f, "name", None) or type(f).__name__
    try:
        fd = f.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    if fd is not None:
        check_regular_file(fd, name, streams_ok=True)
    if not (hasattr(f, "seekable") and f.seekable()):
        f = io.BytesIO(f.read())
    return _load_from(f, name, map_fn, False, encoding, weights_only)


def get_unsafe_globals_in_checkpoint(f):
    """Returns the globals in the checkpoint ``f`` that ``weights_only`` load would refuse.

    The pickle is disassembled statically: nothing is loaded and no code runs.

    Args:
        f: a path or a binary file object holding a checkpoint saved with ``torch.save``.

    Returns:
        A list of ``"module.name"`` strings.
    """
    if isinstance(f, (str, os.PathLike)):
        check_regular_path(os.fspath(f))
        with open(f, "rb") as fh:
            data = _open_archive(fh, os.fspath(f), False).pickle_bytes()
    else:
        data = _open_archive(f, getattr(f, "name", "archive"), False).pickle_bytes()
    safe = set(_allowlist()) | set(user_allowed_globals())
    found, strings = [], []
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name == "GLOBAL":
                found.append(arg.replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(f"{strings[-2]}.{strings[-1]}")
            if isinstance(arg, str):
                strings.append(arg)
    except ValueError as e:
        raise damaged(getattr(f, "name", f), f"malformed data.pkl: {e}") from None
    return sorted({g for g in found if g not in safe})

