"""The writer of PyTorch's zip checkpoint format (``torch.save`` since PyTorch 1.6).

Files are zip archives::

    <archive>/data.pkl              the object, pickled (protocol 2 by default)
    <archive>/data/<key>            the raw little-endian bytes of one storage
    <archive>/byteorder             b"little"
    <archive>/version               b"3\\n"
    <archive>/.format_version, <archive>/.storage_alignment, <archive>/.data/serialization_id

Tensors are pickled as ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, OrderedDict())`` where ``storage`` is a persistent id ``('storage',
torch.FloatStorage, key, 'cpu', numel)``. numtorch never imports torch: torch's global names are
written by a pickler that knows them by name, and numtorch's own classes and functions are
written under torch's module path (``numtorch.nn.modules.linear.Linear`` is stored as
``torch.nn.modules.linear.Linear``), so a whole module saved by numtorch loads in torch and the
other way round.
"""

from __future__ import annotations

import codecs
import io
import os
import pickle
import re
import secrets
import stat
import struct
import zipfile
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _dtype as dt
from .._device import device as _device
from .._size import Size
from .._tensor import Tensor
from ._common import STORAGE_NAMES

if TYPE_CHECKING:
    from ..types import FileLike

try:
    import fcntl
except ImportError:  # Windows: stale temporaries are not detected
    fcntl = None  # type: ignore[assignment]

DEFAULT_PROTOCOL = 2
STORAGE_ALIGNMENT = 64
FORMAT_VERSION = b"3\n"


class _TorchGlobal:
    """Stands for a torch global (``torch._utils._rebuild_tensor_v2`` …) written by name."""

    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module = module
        self.name = name

    def __call__(self, *args):  # pickle insists that a reduce function be callable
        raise TypeError(f"{self.module}.{self.name} is a placeholder for pickling")


_GLOBALS: dict[tuple[str, str], _TorchGlobal] = {}


def _torch_global(module, name):
    """The one ``_TorchGlobal`` for ``module.name`` (one object, so pickle memoizes it)."""
    key = (module, name)
    g = _GLOBALS.get(key)
    if g is None:
        g = _GLOBALS[key] = _TorchGlobal(module, name)
    return g


class _StorageRef:
    """One storage record of the archive: a flat array and the persistent id naming it."""

    __slots__ = ("key", "flat", "pid")

    def __init__(self, key, flat):
        self.key = key
        self.flat = flat
        storage_cls = _torch_global("torch", STORAGE_NAMES[flat.dtype.name])
        self.pid = ("storage", storage_cls, key, "cpu", flat.size)


# numtorch classes kept in another file than torch keeps them: (numtorch module, name) -> torch
# module (a test walks torch.nn and checks that every class numtorch has is written right).
_TORCH_MODULES = {
    **{("numtorch.nn.modules.normalization", f"BatchNorm{d}d"): "torch.nn.modules.batchnorm"
       for d in (1, 2, 3)},
    **{("numtorch.nn.modules.normalization", f"InstanceNorm{d}d"):
       "torch.nn.modules.instancenorm" for d in (1, 2, 3)},
    ("numtorch.nn.modules.transformer", "MultiheadAttention"): "torch.nn.modules.activation",
    ("numtorch.nn.parallel.sync_batchnorm", "SyncBatchNorm"): "torch.nn.modules.batchnorm",
    ("numtorch.nn.modules.lazy", "LazyLinear"): "torch.nn.modules.linear",
    **{("numtorch.nn.modules.lazy", f"Lazy{kind}{d}d"): "torch.nn.modules.conv"
       for kind in ("Conv", "ConvTranspose") for d in (1, 2, 3)},
    **{("numtorch.nn.modules.lazy", f"LazyBatchNorm{d}d"): "torch.nn.modules.batchnorm"
       for d in (1, 2, 3)},
    **{("numtorch.nn.modules.lazy", f"LazyInstanceNorm{d}d"): "torch.nn.modules.instancenorm"
       for d in (1, 2, 3)},
    **{("numtorch.nn.modules.padding", name): "torch.nn.modules.upsampling"
       for name in ("Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d")},
}


def torch_module_name(module, name=None):
    """torch's module path for the numtorch global ``module.name`` (others are unchanged)."""
    renamed = _TORCH_MODULES.get((module, name))
    if renamed is not None:
        return renamed
    if module == "numtorch" or module.startswith("numtorch."):
        return "torch" + module[len("numtorch"):]
    return module


class _CheckpointPickler(pickle._Pickler):
    """A pickler that writes numtorch tensors the way torch writes its tensors.

    It is the pure-Python pickler because only that one lets a subclass write a global by name
    (the C pickler imports the module to check the name).
    """

    def __init__(self, file, protocol):
        super().__init__(file, protocol, fix_imports=False)
        self.storages = {}  # (address, nbytes, dtype) -> _StorageRef

    def persistent_id(self, obj):
        if type(obj) is _StorageRef:
            return obj.pid
        return None

    def save(self, obj, save_persistent_id=True):
        cls = type(obj)
        atomic = _ATOMIC_SAVERS.get(cls)
        if atomic is not None:  # fast path: numbers and None are never memoized
            atomic(self, obj)
            return
        if cls is dt.dtype:
            obj, cls = _torch_global("torch", obj.name), _TorchGlobal
        if cls is _TorchGlobal:
            self._write_global(obj, obj.module, obj.name)
            return
        if isinstance(obj, (np.number, np.bool_)):
            obj = obj.item()  # NumPy scalars are stored as Python numbers
        elif cls is bytes and not obj and self.proto < 3 and id(obj) not in self.memo:
            # pickle writes b"" as builtins.bytes(), which torch's weights_only load refuses
            self.save_reduce(codecs.encode, ("", "latin1"), obj=obj)
            return
        super().save(obj, save_persistent_id)

    def _write_global(self, obj, module, name):
        memo = self.memo.get(id(obj))
        if memo is not None:
            self.write(self.get(memo[0]))
            return
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode())
        self.memoize(obj)

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None) or ""
        name = name or getattr(obj, "__qualname__", None)
        torch_module = torch_module_name(module, name)
        if torch_module != module:
            self._write_global(obj, torch_module, name)
            return
        super().save_global(obj, name)

    def reducer_override(self, obj):
        cls = type(obj)
        if isinstance(obj, Tensor):
            return self._reduce_tensor(obj)
        if cls is Size:
            return _torch_global("torch", "Size"), (tuple(obj),)
        if cls is _device:
            return _torch_global("torch", "device"), (str(obj),)
        return NotImplemented

    def _reduce_tensor(self, t):
        flat, offset, stride = _storage_layout(t._data)
        key = (_address(flat), flat.nbytes, flat.dtype.str)
        ref = self.storages.get(key)
        if ref is None:
            ref = self.storages[key] = _StorageRef(str(len(self.storages)), flat)
        requires_grad = bool(t._requires_grad)
        args = (ref, offset, tuple(t._data.shape), stride)
        if getattr(type(t), "_is_param", False):
            data = (_torch_global("torch._utils", "_rebuild_tensor_v2"),
                    args + (False, OrderedDict()))
            return (_torch_global("torch._utils", "_rebuild_parameter"),
                    (_Reduced(data), requires_grad, OrderedDict()))
        return _torch_global("torch._utils", "_rebuild_tensor_v2"), args + (
            requires_grad, OrderedDict())


# pickle's pure-Python Pickler (typeshed does not list its save_* methods)
_P: Any = pickle._Pickler
_ATOMIC_SAVERS = {float: _P.save_float, int: _P.save_long, bool: _P.save_bool,
                  type(None): _P.save_none}


class _Reduced:
    """An object whose pickled form is a given ``(callable, args)`` pair."""

    __slots__ = ("rv",)

    def __init__(self, rv):
        self.rv = rv

    def __reduce__(self):
        return self.rv


def _address(a):
    return a.__array_interface__["data"][0]


def _contiguous_stride(shape):
    stride, acc = [], 1
    for n in reversed(shape):
        stride.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(stride))


def _flat_memory(root, np_dtype):
    """A 1-D view of all of ``root``'s memory as ``np_dtype``, or None when there is none."""
    if root.flags.c_contiguous:
        flat = root.reshape(-1)
    elif root.flags.f_contiguous:
        flat = root.T.reshape(-1)
    else:
        return None
    if flat.dtype != np_dtype:
        try:
            flat = flat.view(np_dtype)
        except ValueError:
            return None
    return flat


def _storage_layout(arr):
    """Describe ``arr`` as ``(flat, offset, stride)``: a view of the 1-D array ``flat``.

    ``flat`` covers the whole base array that ``arr`` views, so tensors viewing one base array
    (slices, transposes, tied weights) share one storage record, as they share one storage in
    torch. Arrays that cannot be described that way (negative strides, odd byte strides,
    big-endian data) are stored as a contiguous copy.
    """
    itemsize = arr.dtype.itemsize
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    root = arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    flat = _flat_memory(root, arr.dtype)
    if flat is not None:
        delta = _address(arr) - _address(flat)
        if delta % itemsize == 0 and all(s >= 0 and s % itemsize == 0 for s in arr.strides):
            offset = delta // itemsize
            stride = tuple(s // itemsize for s in arr.strides)
            last = offset + sum((n - 1) * s for n, s in zip(arr.shape, stride))
            if arr.size == 0 or (offset >= 0 and last < flat.size):
                return flat, offset, stride
    flat = np.ascontiguousarray(arr).reshape(-1)
    return flat, 0, _contiguous_stride(arr.shape)


def _archive_name(f):
    if isinstance(f, (str, os.PathLike)):
        stem = os.path.splitext(os.path.basename(os.fspath(f)))[0]
        if stem and "/" not in stem and "\\" not in stem:
            return stem
    return "archive"


def _write_record(zf, fileobj, name, data, align):
    """Write one stored (uncompressed) zip entry; with ``align`` its bytes start on a
    64-byte boundary of the file, as torch aligns storages (padding in the local header)."""
    view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = len(view)
    zip64 = info.file_size * 1.05 > zipfile.ZIP64_LIMIT
    if align:
        try:
            pos = fileobj.tell()
        except (AttributeError, OSError):
            pos = None
        if pos is not None:
            header = 30 + len(name.encode("utf-8")) + 4 + (20 if zip64 else 0)
            pad = -(pos + header) % STORAGE_ALIGNMENT
            info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
    with zf.open(info, "w", force_zip64=zip64) as w:
        w.write(view)


def _write_archive(fileobj, archive, pickled, storages, byteorder_record=True):
    with zipfile.ZipFile(fileobj, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        _write_record(zf, fileobj, f"{archive}/data.pkl", pickled, False)
        _write_record(zf, fileobj, f"{archive}/.format_version", b"1", False)
        _write_record(zf, fileobj, f"{archive}/.storage_alignment",
                      str(STORAGE_ALIGNMENT).encode(), False)
        if byteorder_record:
            _write_record(zf, fileobj, f"{archive}/byteorder", b"little", False)
        for ref in storages:
            _write_record(zf, fileobj, f"{archive}/data/{ref.key}",
                          ref.flat.view(np.uint8), True)
        _write_record(zf, fileobj, f"{archive}/version", FORMAT_VERSION, False)
        _write_record(zf, fileobj, f"{archive}/.data/serialization_id",
                      str(secrets.randbits(128)).zfill(40).encode(), False)


def _remove_stale_temporaries(directory, base):
    """Delete ``.BASE.<hex>.tmp`` files left by saves to this path that were killed.

    A save holds an exclusive ``flock`` on its temporary until it is renamed, so a temporary
    whose lock can be taken belongs to no running save (the kernel drops the lock of a killed
    process). Without ``fcntl`` nothing is removed.
    """
    if fcntl is None:
        return
    pattern = re.compile(r"\." + re.escape(base) + r"\.[0-9a-f]{12}\.tmp\Z")
    try:
        names = [n for n in os.listdir(directory) if pattern.match(n)]
    except OSError:
        return
    for name in names:
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.unlink(path)
        except OSError:  # locked by a save in progress, or already gone
            pass
        finally:
            os.close(fd)


def atomic_write(path, write):
    """Call ``write(fileobj)`` on a temporary file next to ``path``, then rename it over
    ``path``: an interrupted save leaves any previous file at ``path`` untouched, an exception
    removes the temporary, and the temporaries of earlier killed saves are removed."""
    path = os.fspath(path)
    if os.path.islink(path):
        path = os.path.realpath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise RuntimeError(f"Parent directory {directory} does not exist.")
    base = os.path.basename(path)
    _remove_stale_temporaries(directory, base)
    tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
            try:
                os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))  # keep an old file's mode
            except FileNotFoundError:
                pass
            os.replace(tmp, path)  # while still locked: a cleaner never sees it unlocked
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save(obj: object, f: FileLike, pickle_module: Any = None,
         pickle_protocol: int = DEFAULT_PROTOCOL, _use_new_zipfile_serialization: bool = True,
         _disable_byteorder_record: bool = False) -> None:
    """Saves an object to a disk file in PyTorch's checkpoint format.

    Any picklable object can be saved. Tensors are stored as separate records that
    ``torch.load(weights_only=True)`` reads; tensors that view one NumPy base array share one
    storage in the file, so views and tied weights stay shared. Other objects (a whole
    ``nn.Module``, NumPy arrays, your own classes) are pickled and load only with
    ``weights_only=False`` or after :func:`add_safe_globals`, as in torch.

    Args:
        obj: the object to save.
        f: a path (``str`` or ``os.PathLike``) or a writable binary file object. A path is
            written atomically: to a temporary file in the same directory, then renamed.
        pickle_module: ignored (numtorch writes its own pickle).
        pickle_protocol: pickle protocol for ``data.pkl`` (default 2, as torch).
    """
    if not _use_new_zipfile_serialization:
        raise NotImplementedError("numtorch.save writes only the zip checkpoint format")
    if not 2 <= pickle_protocol <= pickle.HIGHEST_PROTOCOL:
        raise ValueError(f"pickle_protocol must be between 2 and {pickle.HIGHEST_PROTOCOL}")
    buf = io.BytesIO()
    pickler = _CheckpointPickler(buf, pickle_protocol)
    pickler.dump(obj)
    storages = list(pickler.storages.values())
    archive = _archive_name(f)

    def write(fileobj):
        _write_archive(fileobj, archive, buf.getvalue(), storages,
                       not _disable_byteorder_record)

    if isinstance(f, (str, os.PathLike)):
        atomic_write(f, write)
    else:
        write(f)
