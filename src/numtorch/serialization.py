"""``numtorch.save`` / ``numtorch.load``: PyTorch's checkpoint format, loaded without running code.

Files are the zip archives that ``torch.save`` writes since PyTorch 1.6::

    <archive>/data.pkl              the object, pickled (protocol 2 by default)
    <archive>/data/<key>            the raw little-endian bytes of one storage
    <archive>/byteorder             b"little"
    <archive>/version               b"3\\n"
    <archive>/.format_version, <archive>/.storage_alignment, <archive>/.data/serialization_id

Tensors are pickled as ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, OrderedDict())`` where ``storage`` is a persistent id ``('storage',
torch.FloatStorage, key, 'cpu', numel)``, so ``torch.load(path, weights_only=True)`` reads what
numtorch writes and numtorch reads what torch writes. numtorch never imports torch: the global
names are written by a pickler that knows them by name.

Loading never executes anything from the file. The pickle is interpreted by a small stack machine
(:class:`_SafeUnpickler`) that resolves globals through an allowlist (tensor rebuild functions,
storage types, dtypes, ``torch.Size``, ``torch.device``, ``collections.OrderedDict`` and a few
builtins) and refuses every other global with :class:`pickle.UnpicklingError`. This is the
behaviour of ``torch.load(weights_only=True)``; numtorch uses it for ``weights_only=False`` too.

``save_safetensors`` / ``load_safetensors`` read and write Hugging Face's safetensors format.
"""

import codecs
import collections
import io
import json
import mmap as _mmap
import os
import pickle
import secrets
import stat
import struct
import zipfile
import zlib
from collections import OrderedDict

import numpy as np

from . import _dtype as dt
from ._device import check_device
from ._device import device as _device
from ._size import Size
from ._tensor import Tensor

__all__ = ["save", "load", "save_safetensors", "load_safetensors"]

_STORAGE_ALIGNMENT = 64
_FORMAT_VERSION = b"3\n"

# torch's legacy storage class name for each dtype numtorch has.
_STORAGE_NAMES = {
    "float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
    "int64": "LongStorage", "int32": "IntStorage", "int16": "ShortStorage", "int8": "CharStorage",
    "uint8": "ByteStorage", "bool": "BoolStorage", "complex64": "ComplexFloatStorage",
    "complex128": "ComplexDoubleStorage",
}
# The legacy pickle magic number that torch's pre-1.6 (non-zip) format starts with.
_LEGACY_MAGIC = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"


# ====================================================================================== saving
class _TorchGlobal:
    """Stands for a torch global (``torch._utils._rebuild_tensor_v2`` …) written by name."""

    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module = module
        self.name = name

    def __call__(self, *args):  # pickle insists that a reduce function be callable
        raise TypeError(f"{self.module}.{self.name} is a placeholder for pickling")


_GLOBALS = {}


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
        storage_cls = _torch_global("torch", _STORAGE_NAMES[flat.dtype.name])
        self.pid = ("storage", storage_cls, key, "cpu", flat.size)


# Non-torch globals the pickler may write: those numtorch.load accepts. torch's weights_only
# loader accepts them too except frozenset (and builtins.bytes, which save never writes).
_PLAIN_GLOBALS = {
    ("collections", "OrderedDict"), ("collections", "Counter"), ("builtins", "set"),
    ("builtins", "frozenset"), ("builtins", "complex"), ("builtins", "bytearray"),
    ("builtins", "bytes"), ("_codecs", "encode"),
}


class _CheckpointPickler(pickle._Pickler):
    """A pickler that writes numtorch tensors the way torch writes its tensors.

    It is the pure-Python pickler because only that one lets a subclass write a global by name
    (the C pickler imports the module to check the name). Checkpoints hold few Python objects
    (tensor bytes go to separate records), so its speed does not matter.
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
            self._save_torch_global(obj)
            return
        if isinstance(obj, (np.number, np.bool_)):
            obj = obj.item()  # NumPy scalars are stored as Python numbers
        elif cls is bytes and not obj and self.proto < 3 and id(obj) not in self.memo:
            # pickle writes b"" as builtins.bytes(), which torch's weights_only load refuses
            self.save_reduce(codecs.encode, ("", "latin1"), obj=obj)
            return
        super().save(obj, save_persistent_id)

    def _save_torch_global(self, g):
        memo = self.memo.get(id(g))
        if memo is not None:
            self.write(self.get(memo[0]))
            return
        self.write(pickle.GLOBAL + f"{g.module}\n{g.name}\n".encode())
        self.memoize(g)

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None)
        qualname = name or getattr(obj, "__qualname__", None)
        if (module, qualname) not in _PLAIN_GLOBALS:
            what = f"{module}.{qualname}" if module else repr(obj)
            raise pickle.PicklingError(
                f"numtorch.save can't store {what}: numtorch.load only rebuilds tensors, "
                "parameters, dtypes, sizes, devices and plain containers (dict, OrderedDict, "
                "list, tuple, set) of numbers, strings and None, so it would refuse this global. "
                "Save a state_dict() instead of a whole object.")
        super().save_global(obj, name)

    def reducer_override(self, obj):
        cls = type(obj)
        if isinstance(obj, Tensor):
            return self._reduce_tensor(obj)
        if cls is Size:
            return _torch_global("torch", "Size"), (tuple(obj),)
        if cls is _device:
            return _torch_global("torch", "device"), (str(obj),)
        if cls is np.ndarray:
            raise pickle.PicklingError(
                "numtorch.save can't store a numpy.ndarray (numtorch.load and torch.load with "
                "weights_only=True would refuse it); convert it with numtorch.from_numpy().")
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


_ATOMIC_SAVERS = {float: pickle._Pickler.save_float, int: pickle._Pickler.save_long,
                  bool: pickle._Pickler.save_bool, type(None): pickle._Pickler.save_none}


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
            pad = -(pos + header) % _STORAGE_ALIGNMENT
            info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
    with zf.open(info, "w", force_zip64=zip64) as w:
        w.write(view)


def _write_archive(fileobj, archive, pickled, storages, byteorder_record=True):
    with zipfile.ZipFile(fileobj, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        _write_record(zf, fileobj, f"{archive}/data.pkl", pickled, False)
        _write_record(zf, fileobj, f"{archive}/.format_version", b"1", False)
        _write_record(zf, fileobj, f"{archive}/.storage_alignment",
                      str(_STORAGE_ALIGNMENT).encode(), False)
        if byteorder_record:
            _write_record(zf, fileobj, f"{archive}/byteorder", b"little", False)
        for ref in storages:
            _write_record(zf, fileobj, f"{archive}/data/{ref.key}",
                          ref.flat.view(np.uint8), True)
        _write_record(zf, fileobj, f"{archive}/version", _FORMAT_VERSION, False)
        _write_record(zf, fileobj, f"{archive}/.data/serialization_id",
                      str(secrets.randbits(128)).zfill(40).encode(), False)


def _atomic_write(path, write):
    """Call ``write(fileobj)`` on a temporary file next to ``path``, then rename it over
    ``path``: an interrupted save leaves any previous file at ``path`` untouched."""
    path = os.fspath(path)
    if os.path.islink(path):
        path = os.path.realpath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise RuntimeError(f"Parent directory {directory} does not exist.")
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))  # keep an old file's mode
        except FileNotFoundError:
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Saves an object to a disk file in PyTorch's checkpoint format.

    ``torch.load`` reads the result (also with ``weights_only=True``). Tensors that view one
    NumPy base array share one storage in the file, so views and tied weights stay shared.

    Args:
        obj: what to save: tensors, parameters, dtypes, ``torch.Size``, and dicts,
            ``OrderedDict``\\ s, lists, tuples and sets of them, numbers, strings and None
            (state_dicts and optimizer state_dicts).
        f: a path (``str`` or ``os.PathLike``) or a writable binary file object. A path is
            written atomically: to a temporary file in the same directory, then renamed.
        pickle_module: ignored (numtorch writes its own pickle).
        pickle_protocol: pickle protocol for ``data.pkl`` (default 2, as torch).

    Raises:
        pickle.PicklingError: ``obj`` holds something ``load`` would refuse (arbitrary classes,
            functions, NumPy arrays).
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
        _atomic_write(f, write)
    else:
        write(f)


# ===================================================================================== loading
def _damaged(name, detail):
    return RuntimeError(
        f"numtorch.load: '{name}' is damaged or is not a PyTorch checkpoint ({detail})")


class _StorageType:
    """What a global like ``torch.FloatStorage`` loads as: a marker naming a dtype."""

    __slots__ = ("name", "np_dtype")

    def __init__(self, name, np_dtype):
        self.name = name
        self.np_dtype = np_dtype

    def __repr__(self):
        return f"torch.{self.name}"


_BF16 = "bfloat16"  # loaded as float32 (numtorch has no bfloat16)
_STORAGE_TYPES = {name: _StorageType(name, np.dtype(dt._BY_NAME[d]._np))
                  for d, name in _STORAGE_NAMES.items()}
_STORAGE_TYPES["BFloat16Storage"] = _StorageType("BFloat16Storage", _BF16)
_STORAGE_TYPES["UntypedStorage"] = _StorageType("UntypedStorage", np.dtype(np.uint8))


class _LoadedStorage:
    """A storage read from the archive: a flat array that loaded tensors view."""

    __slots__ = ("flat",)

    def __init__(self, flat):
        self.flat = flat

    def view(self, offset, size, stride):
        """The ndarray ``flat[offset:]`` seen with ``size`` and ``stride`` (in elements)."""
        flat = self.flat
        try:
            offset = int(offset)
            size = tuple(int(n) for n in size)
            stride = tuple(int(s) for s in stride)
        except (TypeError, ValueError):
            raise RuntimeError("numtorch.load: malformed tensor size or stride") from None
        if len(size) != len(stride) or offset < 0 or min(size + stride, default=0) < 0:
            raise RuntimeError(f"numtorch.load: invalid tensor layout size={size} "
                               f"stride={stride} offset={offset}")
        if 0 in size:
            return np.empty(size, flat.dtype)
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= flat.size:
            raise RuntimeError(
                f"numtorch.load: tensor of size {size}, stride {stride} and offset {offset} "
                f"lies outside its storage of {flat.size} elements (the file is damaged)")
        item = flat.itemsize
        return np.ndarray(size, flat.dtype, buffer=flat, offset=offset * item,
                          strides=tuple(s * item for s in stride))


def _set_safe_attributes(t, state):
    """Restore plain Python attributes a torch tensor carried; never touch numtorch's own."""
    if not isinstance(state, dict):
        return
    for k, v in state.items():
        if isinstance(k, str) and not k.startswith("_") and not hasattr(type(t), k):
            t.__dict__[k] = v


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    if type(storage) is not _LoadedStorage:
        raise RuntimeError("numtorch.load: a tensor's storage is not a storage record")
    t = Tensor._wrap(storage.view(storage_offset, size, stride))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _rebuild_tensor_v2(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    from .nn.parameter import Parameter
    if not isinstance(data, Tensor):
        raise RuntimeError("numtorch.load: a Parameter's data is not a tensor")
    p = Parameter(data, bool(requires_grad))
    _set_safe_attributes(p, state)
    return p


def _rebuild_from_type_v2(func, new_type, args, state):
    from .nn.parameter import Parameter
    if id(func) not in _CALLABLE_IDS or not isinstance(args, tuple):
        raise pickle.UnpicklingError(
            f"numtorch.load: _rebuild_from_type_v2 got a disallowed function {func!r}")
    t = func(*args)
    if not isinstance(t, Tensor):
        raise pickle.UnpicklingError("numtorch.load: _rebuild_from_type_v2 must rebuild a tensor")
    if new_type is Parameter and not isinstance(t, Parameter):
        t = Parameter(t, t.requires_grad)
    elif new_type is not Tensor and new_type is not Parameter:
        raise pickle.UnpicklingError(
            f"numtorch.load: can't rebuild a tensor of type {new_type!r}")
    _set_safe_attributes(t, state)
    return t


def _encode(text, encoding="utf-8"):
    """``_codecs.encode`` as protocol-2 pickles use it for bytes, restricted to latin-1."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("numtorch.load: _codecs.encode only decodes latin-1 bytes")
    return text.encode("latin-1")


def _bytes(*args):
    if args:
        raise pickle.UnpicklingError("numtorch.load: bytes() only makes empty bytes")
    return b""


def _bytearray(data=b""):
    if not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError("numtorch.load: bytearray() only copies bytes")
    return bytearray(data)


def _size(dims=()):
    dims = tuple(dims)
    if not all(type(d) is int for d in dims):
        raise TypeError("torch.Size() takes an iterable of 'int'")
    return Size(dims)


def _dtype_by_name(name):
    d = getattr(dt, name, None)
    return d if isinstance(d, dt.dtype) else None


def _allowed_globals():
    """``"module.name"`` -> the object numtorch substitutes for it."""
    from .nn.parameter import Parameter
    allowed = {
        "collections.OrderedDict": OrderedDict,
        "collections.Counter": collections.Counter,
        "builtins.set": set,
        "builtins.frozenset": frozenset,
        "builtins.complex": complex,
        "builtins.bytearray": _bytearray,
        "builtins.bytes": _bytes,
        "_codecs.encode": _encode,
        "torch.Size": _size,
        "torch.device": _device,
        "torch.Tensor": Tensor,
        "torch.nn.parameter.Parameter": Parameter,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_tensor": _rebuild_tensor,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
        "torch.storage.UntypedStorage": _STORAGE_TYPES["UntypedStorage"],
    }
    for name, st in _STORAGE_TYPES.items():
        allowed["torch." + name] = st
    for name in dir(dt):
        if _dtype_by_name(name) is not None:
            allowed["torch." + name] = getattr(dt, name)
    return allowed


_ALLOWED = None
_CALLABLE_IDS = frozenset()
_NEWOBJ_CLASSES = (OrderedDict, collections.Counter, set, frozenset, complex)


def _allowlist():
    global _ALLOWED, _CALLABLE_IDS
    if _ALLOWED is None:
        allowed = _allowed_globals()
        markers = (Tensor, allowed["torch.nn.parameter.Parameter"])
        _CALLABLE_IDS = frozenset(
            id(v) for v in allowed.values()
            if callable(v) and not isinstance(v, (dt.dtype, _StorageType)) and v not in markers)
        _ALLOWED = allowed
    return _ALLOWED


class _Truncated(Exception):
    pass


class _SafeUnpickler:
    """A pickle interpreter that builds only what a checkpoint needs.

    It implements the pickle opcodes for containers, numbers and strings itself; a global is
    looked up in an allowlist and replaced by numtorch's object (never imported); REDUCE and
    NEWOBJ call only allowlisted functions; BUILD only sets attributes of an OrderedDict (the
    ``_metadata`` of a state_dict). Anything else raises :class:`pickle.UnpicklingError`.
    """

    def __init__(self, data, persistent_load, name, encoding="utf-8"):
        self._data = data
        self._pos = 0
        self._persistent_load = persistent_load
        self._name = name
        self._encoding = encoding
        self._allowed = _allowlist()

    # -------------------------------------------------------------------- reading the stream
    def _take(self, n):
        start = self._pos
        end = start + n
        if end > len(self._data):
            raise _Truncated
        self._pos = end
        return self._data[start:end]

    def _line(self):
        end = self._data.find(b"\n", self._pos)
        if end < 0:
            raise _Truncated
        line = self._data[self._pos:end]
        self._pos = end + 1
        return line

    def _unpack(self, fmt, n):
        return struct.unpack(fmt, self._take(n))[0]

    def _pop_mark(self):
        items = self._stack
        self._stack = self._marks.pop()
        return items

    # -------------------------------------------------------------------------------- driver
    def load(self):
        self._stack, self._marks, self._memo = [], [], {}
        dispatch = _DISPATCH
        data = self._data
        try:
            while True:
                if self._pos >= len(data):
                    raise _Truncated
                op = data[self._pos]
                self._pos += 1
                handler = dispatch.get(op)
                if handler is None:
                    raise _damaged(self._name, f"unknown pickle opcode {bytes([op])!r} at byte "
                                               f"{self._pos - 1} of data.pkl")
                if handler is _stop:
                    return self._stack.pop()
                handler(self)
        except _Truncated:
            raise _damaged(self._name, "data.pkl ends unexpectedly") from None
        except (IndexError, KeyError, TypeError, ValueError, AttributeError, OverflowError,
                struct.error, UnicodeDecodeError, RecursionError, MemoryError) as e:
            raise _damaged(self._name, f"malformed data.pkl: {type(e).__name__}: {e}") from None

    def _find_class(self, module, name):
        if module == "__builtin__":
            module = "builtins"
        full = f"{module}.{name}"
        obj = self._allowed.get(full)
        if obj is None:
            raise pickle.UnpicklingError(
                f"Unsupported global: GLOBAL {full} is not allowed. numtorch.load only "
                "rebuilds tensors, parameters, dtypes, sizes, devices and plain containers, and "
                "never runs code from a checkpoint (weights_only=False does not change this).")
        return obj

    def _call(self, func, args, how):
        if id(func) not in _CALLABLE_IDS:
            raise pickle.UnpicklingError(f"numtorch.load: {how} of {func!r} is not allowed")
        if not isinstance(args, tuple):
            raise TypeError(f"{how} arguments must be a tuple")
        return func(*args)


def _stop(self):  # handled in the driver loop
    raise AssertionError


def _op_proto(self):
    if self._take(1)[0] > pickle.HIGHEST_PROTOCOL:
        raise ValueError("unsupported pickle protocol")


def _op_frame(self):
    self._take(8)


def _op_mark(self):
    self._marks.append(self._stack)
    self._stack = []


def _op_pop(self):
    if self._stack:
        self._stack.pop()
    else:
        self._pop_mark()


def _op_pop_mark(self):
    self._pop_mark()


def _op_dup(self):
    self._stack.append(self._stack[-1])


def _push(value):
    def op(self):
        self._stack.append(value)
    return op


def _op_int(self):
    line = self._line()
    self._stack.append(line == b"01" if line in (b"00", b"01") else int(line))


def _op_long(self):
    self._stack.append(int(self._line().rstrip(b"L")))


def _op_binint(self):
    self._stack.append(self._unpack("<i", 4))


def _op_binint1(self):
    self._stack.append(self._take(1)[0])


def _op_binint2(self):
    self._stack.append(self._unpack("<H", 2))


def _op_long1(self):
    n = self._take(1)[0]
    self._stack.append(int.from_bytes(self._take(n), "little", signed=True))


def _op_long4(self):
    n = self._unpack("<i", 4)
    if n < 0:
        raise ValueError("negative LONG4 length")
    self._stack.append(int.from_bytes(self._take(n), "little", signed=True))


def _op_float(self):
    self._stack.append(float(self._line()))


def _op_binfloat(self):
    self._stack.append(self._unpack(">d", 8))


def _sized(length_fmt, nbytes, kind):
    def op(self):
        n = self._unpack(length_fmt, nbytes) if nbytes > 1 else self._take(1)[0]
        if n < 0:
            raise ValueError("negative length")
        raw = self._take(n)
        if kind == "str":
            value = raw.decode("utf-8", "surrogatepass")
        elif kind == "bytes":
            value = raw
        elif kind == "bytearray":
            value = bytearray(raw)
        else:  # Python 2 str
            value = raw if self._encoding == "bytes" else raw.decode(self._encoding)
        self._stack.append(value)
    return op


def _op_unicode(self):
    self._stack.append(self._line().decode("raw-unicode-escape"))


def _op_empty_list(self):
    self._stack.append([])


def _op_empty_dict(self):
    self._stack.append({})


def _op_empty_set(self):
    self._stack.append(set())


def _op_list(self):
    items = self._pop_mark()
    self._stack.append(items)


def _op_dict(self):
    items = self._pop_mark()
    self._stack.append({items[i]: items[i + 1] for i in range(0, len(items) - 1, 2)})


def _op_tuple(self):
    items = tuple(self._pop_mark())
    self._stack.append(items)


def _tuple_n(n):
    def op(self):
        stack = self._stack
        if len(stack) < n:
            raise IndexError("stack underflow")
        items = tuple(stack[len(stack) - n:])
        del stack[len(stack) - n:]
        stack.append(items)
    return op


def _op_frozenset(self):
    items = frozenset(self._pop_mark())
    self._stack.append(items)


def _check_type(obj, types, what):
    if type(obj) not in types:
        raise pickle.UnpicklingError(
            f"numtorch.load: can only {what}, but got {type(obj).__name__}")


_DICTS = (dict, OrderedDict, collections.Counter)


def _op_append(self):
    item = self._stack.pop()
    _check_type(self._stack[-1], (list,), "append to a list")
    self._stack[-1].append(item)


def _op_appends(self):
    items = self._pop_mark()
    _check_type(self._stack[-1], (list,), "append to a list")
    self._stack[-1].extend(items)


def _op_setitem(self):
    value = self._stack.pop()
    key = self._stack.pop()
    _check_type(self._stack[-1], _DICTS, "set items of a dict")
    self._stack[-1][key] = value


def _op_setitems(self):
    items = self._pop_mark()
    target = self._stack[-1]
    _check_type(target, _DICTS, "set items of a dict")
    for i in range(0, len(items) - 1, 2):
        target[items[i]] = items[i + 1]


def _op_additems(self):
    items = self._pop_mark()
    _check_type(self._stack[-1], (set,), "add items to a set")
    self._stack[-1].update(items)


def _op_get(self):
    self._stack.append(self._memo[int(self._line())])


def _op_binget(self):
    self._stack.append(self._memo[self._take(1)[0]])


def _op_long_binget(self):
    self._stack.append(self._memo[self._unpack("<I", 4)])


def _op_put(self):
    self._memo[int(self._line())] = self._stack[-1]


def _op_binput(self):
    self._memo[self._take(1)[0]] = self._stack[-1]


def _op_long_binput(self):
    self._memo[self._unpack("<I", 4)] = self._stack[-1]


def _op_memoize(self):
    self._memo[len(self._memo)] = self._stack[-1]


def _op_global(self):
    module = self._line().decode("utf-8")
    name = self._line().decode("utf-8")
    self._stack.append(self._find_class(module, name))


def _op_stack_global(self):
    name = self._stack.pop()
    module = self._stack.pop()
    if type(module) is not str or type(name) is not str:
        raise pickle.UnpicklingError("numtorch.load: STACK_GLOBAL requires str")
    self._stack.append(self._find_class(module, name))


def _op_reduce(self):
    args = self._stack.pop()
    self._stack[-1] = self._call(self._stack[-1], args, "calling")


def _op_newobj(self):
    args = self._stack.pop()
    cls = self._stack.pop()
    if not any(cls is c for c in _NEWOBJ_CLASSES) or not isinstance(args, tuple):
        raise pickle.UnpicklingError(f"numtorch.load: can't create a new object of {cls!r}")
    self._stack.append(cls.__new__(cls, *args))


def _op_newobj_ex(self):
    kwargs = self._stack.pop()
    if kwargs:
        raise pickle.UnpicklingError("numtorch.load: NEWOBJ_EX with keyword arguments")
    _op_newobj(self)


def _op_build(self):
    state = self._stack.pop()
    inst = self._stack[-1]
    if type(inst) not in (OrderedDict, collections.Counter) or type(state) is not dict or \
            not all(type(k) is str for k in state):
        raise pickle.UnpicklingError(
            "numtorch.load: can only restore attributes of an OrderedDict, but got "
            f"{type(inst).__name__}")
    inst.__dict__.update(state)


def _op_binpersid(self):
    self._stack.append(self._persistent_load(self._stack.pop()))


def _op_inst(self):
    module = self._line().decode("utf-8")
    name = self._line().decode("utf-8")
    self._find_class(module, name)  # names a forbidden global first
    raise pickle.UnpicklingError(f"numtorch.load: opcode INST ({module}.{name}) is not allowed")


def _refuse(opname):
    def op(self):
        raise pickle.UnpicklingError(f"numtorch.load: pickle opcode {opname} is not allowed")
    return op


_DISPATCH = {
    pickle.PROTO[0]: _op_proto, pickle.FRAME[0]: _op_frame, pickle.STOP[0]: _stop,
    pickle.MARK[0]: _op_mark, pickle.POP[0]: _op_pop, pickle.POP_MARK[0]: _op_pop_mark,
    pickle.DUP[0]: _op_dup,
    pickle.NONE[0]: _push(None), pickle.NEWTRUE[0]: _push(True), pickle.NEWFALSE[0]: _push(False),
    pickle.INT[0]: _op_int, pickle.LONG[0]: _op_long, pickle.BININT[0]: _op_binint,
    pickle.BININT1[0]: _op_binint1, pickle.BININT2[0]: _op_binint2,
    pickle.LONG1[0]: _op_long1, pickle.LONG4[0]: _op_long4,
    pickle.FLOAT[0]: _op_float, pickle.BINFLOAT[0]: _op_binfloat,
    pickle.BINUNICODE[0]: _sized("<I", 4, "str"),
    pickle.SHORT_BINUNICODE[0]: _sized("<B", 1, "str"),
    pickle.BINUNICODE8[0]: _sized("<Q", 8, "str"), pickle.UNICODE[0]: _op_unicode,
    pickle.BINBYTES[0]: _sized("<I", 4, "bytes"),
    pickle.SHORT_BINBYTES[0]: _sized("<B", 1, "bytes"),
    pickle.BINBYTES8[0]: _sized("<Q", 8, "bytes"),
    pickle.BYTEARRAY8[0]: _sized("<Q", 8, "bytearray"),
    pickle.BINSTRING[0]: _sized("<i", 4, "py2str"),
    pickle.SHORT_BINSTRING[0]: _sized("<B", 1, "py2str"),
    pickle.EMPTY_LIST[0]: _op_empty_list, pickle.EMPTY_DICT[0]: _op_empty_dict,
    pickle.EMPTY_SET[0]: _op_empty_set, pickle.EMPTY_TUPLE[0]: _push(()),
    pickle.LIST[0]: _op_list, pickle.DICT[0]: _op_dict, pickle.TUPLE[0]: _op_tuple,
    pickle.TUPLE1[0]: _tuple_n(1), pickle.TUPLE2[0]: _tuple_n(2), pickle.TUPLE3[0]: _tuple_n(3),
    pickle.FROZENSET[0]: _op_frozenset,
    pickle.APPEND[0]: _op_append, pickle.APPENDS[0]: _op_appends,
    pickle.SETITEM[0]: _op_setitem, pickle.SETITEMS[0]: _op_setitems,
    pickle.ADDITEMS[0]: _op_additems,
    pickle.GET[0]: _op_get, pickle.BINGET[0]: _op_binget, pickle.LONG_BINGET[0]: _op_long_binget,
    pickle.PUT[0]: _op_put, pickle.BINPUT[0]: _op_binput, pickle.LONG_BINPUT[0]: _op_long_binput,
    pickle.MEMOIZE[0]: _op_memoize,
    pickle.GLOBAL[0]: _op_global, pickle.STACK_GLOBAL[0]: _op_stack_global,
    pickle.REDUCE[0]: _op_reduce, pickle.NEWOBJ[0]: _op_newobj,
    pickle.NEWOBJ_EX[0]: _op_newobj_ex, pickle.BUILD[0]: _op_build,
    pickle.BINPERSID[0]: _op_binpersid, pickle.INST[0]: _op_inst,
    pickle.OBJ[0]: _refuse("OBJ"), pickle.PERSID[0]: _refuse("PERSID"),
    pickle.EXT1[0]: _refuse("EXT1"), pickle.EXT2[0]: _refuse("EXT2"),
    pickle.EXT4[0]: _refuse("EXT4"), pickle.STRING[0]: _refuse("STRING"),
    pickle.NEXT_BUFFER[0]: _refuse("NEXT_BUFFER"),
    pickle.READONLY_BUFFER[0]: _refuse("READONLY_BUFFER"),
}


class _Archive:
    """Reads the records of a checkpoint zip archive."""

    def __init__(self, fh, name, use_mmap):
        self._fh = fh
        self._name = name
        try:
            self._zip = zipfile.ZipFile(fh)
            infos = {i.filename: i for i in self._zip.infolist()}
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
                struct.error, UnicodeDecodeError, NotImplementedError) as e:
            raise _damaged(name, f"not a readable zip archive: {e}") from None
        pickles = [n for n in infos if n.endswith("/data.pkl") and n.count("/") == 1]
        if not pickles:
            raise _damaged(name, "the zip archive has no data.pkl record")
        self._prefix = pickles[0][: -len("data.pkl")]
        if self._prefix + "constants.pkl" in infos:
            raise RuntimeError(f"numtorch.load: '{name}' is a TorchScript archive "
                               "(torch.jit.save); numtorch can only load torch.save checkpoints")
        self._infos = infos
        order = self._read_small("byteorder", b"little")
        if order != b"little":
            raise RuntimeError(f"numtorch.load: '{name}' stores {order!r}-endian data; numtorch "
                               "reads little-endian checkpoints only")
        self._mmap = None
        if use_mmap:
            self._mmap = _mmap.mmap(fh.fileno(), 0, access=_mmap.ACCESS_COPY)
        self._raw = {}

    def _read_small(self, record, default=None):
        info = self._infos.get(self._prefix + record)
        if info is None:
            if default is not None:
                return default
            raise _damaged(self._name, f"missing record {record}")
        try:
            return self._zip.read(info)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error, ValueError,
                NotImplementedError, RuntimeError) as e:
            raise _damaged(self._name, f"record {record} is unreadable: {e}") from None

    def pickle_bytes(self):
        return self._read_small("data.pkl")

    def _data_offset(self, info):
        self._fh.seek(info.header_offset)
        header = self._fh.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise _damaged(self._name, f"bad zip entry header for {info.filename}")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        return info.header_offset + 30 + name_len + extra_len

    def raw(self, key):
        """The bytes of record ``data/<key>`` as a uint8 array (read once, then shared)."""
        arr = self._raw.get(key)
        if arr is not None:
            return arr
        record = f"data/{key}"
        info = self._infos.get(self._prefix + record)
        if info is None:
            raise _damaged(self._name, f"missing storage record {record}")
        n = info.file_size
        if info.compress_type != zipfile.ZIP_STORED:
            arr = np.frombuffer(bytearray(self._read_small(record)), np.uint8)
        elif self._mmap is not None:
            start = self._data_offset(info)
            if start + n > len(self._mmap):
                raise _damaged(self._name, f"storage record {record} is truncated")
            arr = np.frombuffer(self._mmap, np.uint8, count=n, offset=start)
        else:
            arr = np.empty(n, np.uint8)
            self._fh.seek(self._data_offset(info))
            view, got = memoryview(arr), 0
            while got < n:
                k = self._fh.readinto(view[got:])
                if not k:
                    raise _damaged(self._name, f"storage record {record} is truncated")
                got += k
            if zlib.crc32(arr) != info.CRC:
                raise _damaged(self._name, f"checksum mismatch in storage record {record}")
        self._raw[key] = arr
        return arr


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


def _storage_loader(archive, name, map_fn):
    storages = {}

    def persistent_load(pid):
        if type(pid) is not tuple or len(pid) != 5:
            raise pickle.UnpicklingError("numtorch.load: only storages can be persistent ids")
        kind, stype, key, location, numel = pid
        if isinstance(kind, bytes):
            kind = kind.decode("ascii")
        if kind != "storage" or type(stype) is not _StorageType or type(key) is not str \
                or type(location) is not str or type(numel) is not int or numel < 0:
            raise pickle.UnpicklingError(f"numtorch.load: malformed storage id {pid!r}")
        cached = storages.get((key, stype.name))
        if cached is not None:
            return cached
        raw = archive.raw(key)
        np_dtype = stype.np_dtype
        if np_dtype is _BF16:
            need = numel * 2
            bits = raw[:need].view(np.uint16) if len(raw) >= need else None
            flat = None if bits is None else (bits.astype(np.uint32) << 16).view(np.float32)
        else:
            need = numel * np_dtype.itemsize
            flat = raw[:need].view(np_dtype) if len(raw) >= need else None
        if flat is None:
            raise _damaged(name, f"storage record data/{key} holds {len(raw)} bytes, "
                                 f"fewer than its {numel} elements need")
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


def _load_from(fh, name, map_fn, use_mmap, encoding):
    head = _peek(fh, len(_LEGACY_MAGIC))
    if not head:
        raise RuntimeError(f"numtorch.load: '{name}' is empty: it is not a PyTorch checkpoint "
                           "(was the save interrupted?)")
    if head.startswith(_LEGACY_MAGIC):
        raise RuntimeError(
            f"numtorch.load: '{name}' uses the legacy (pre-1.6, non-zip) torch.save format, "
            "which numtorch does not read; load and re-save it with a recent torch.save")
    archive = _Archive(fh, name, use_mmap)
    unpickler = _SafeUnpickler(archive.pickle_bytes(), _storage_loader(archive, name, map_fn),
                               name, encoding)
    return unpickler.load()


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Loads an object saved with :func:`torch.save` or :func:`numtorch.save` from a file.

    Tensors come back as numtorch tensors on the CPU (whatever device they were saved from);
    tensors that shared a storage when saved share one NumPy buffer after loading.

    .. note::
        numtorch never executes code from a checkpoint. ``data.pkl`` is interpreted with an
        allowlist like ``torch.load(weights_only=True)``: tensors, parameters, dtypes,
        ``torch.Size``, ``torch.device`` and plain containers, numbers and strings load; any
        other global raises :class:`pickle.UnpicklingError`. ``weights_only=False`` is accepted
        for compatibility and changes nothing. bfloat16 storages load as float32.

    Args:
        f: a path (``str`` or ``os.PathLike``) or a readable, seekable binary file object.
        map_location: ``None``, ``'cpu'``, ``torch.device('cpu')``, a dict mapping saved
            locations to ``'cpu'``, or a function ``(storage, location) -> storage``.
        pickle_module: ignored.
        weights_only: accepted for compatibility; loading is always restricted.
        mmap: if True, storages are memory-mapped (copy-on-write) instead of read; ``f`` must
            be a path.
        pickle_load_args: ``encoding`` for Python 2 strings (default ``'utf-8'``).

    Raises:
        pickle.UnpicklingError: the checkpoint names a global numtorch refuses to load.
        RuntimeError: the file is empty, truncated, damaged or not a zip checkpoint.
    """
    encoding = pickle_load_args.pop("encoding", "utf-8")
    if pickle_load_args:
        raise TypeError(f"load() got unexpected keyword arguments {sorted(pickle_load_args)}")
    map_fn = _location_mapper(map_location)
    if isinstance(f, (str, os.PathLike)):
        name = os.fspath(f)
        with open(name, "rb") as fh:
            return _load_from(fh, name, map_fn, bool(mmap), encoding)
    if mmap:
        raise ValueError("f must be a file path in order to use the mmap argument")
    name = getattr(f, "name", None) or type(f).__name__
    if not (hasattr(f, "seekable") and f.seekable()):
        f = io.BytesIO(f.read())
    return _load_from(f, name, map_fn, False, encoding)


# ================================================================================ safetensors
_ST_CODES = {
    "float16": "F16", "float32": "F32", "float64": "F64", "int8": "I8", "int16": "I16",
    "int32": "I32", "int64": "I64", "uint8": "U8", "bool": "BOOL", "complex64": "C64",
}
_ST_DTYPES = {code: np.dtype(dt._BY_NAME[name]._np) for name, code in _ST_CODES.items()}
_ST_MAX_HEADER = 100_000_000


def save_safetensors(tensors, path, metadata=None):
    """Saves a ``dict`` of tensors to ``path`` in the safetensors format (atomically).

    Args:
        tensors: ``{name: Tensor}``; names are strings, tensors are stored as contiguous copies.
        path: a path (``str`` or ``os.PathLike``).
        metadata: optional ``{str: str}`` stored under ``"__metadata__"``.
    """
    if not isinstance(tensors, dict):
        raise TypeError(f"tensors must be a dict, not {type(tensors).__name__}")
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError("metadata must be a dict of str to str")
    arrays = []
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be str, not {type(name).__name__}")
        if not isinstance(t, Tensor):
            raise TypeError(f"{name!r} is a {type(t).__name__}, not a Tensor")
        if t._data.dtype.name not in _ST_CODES:
            raise ValueError(f"safetensors can't store {t.dtype} ({name!r})")
        arrays.append((name, np.ascontiguousarray(t._data, t._data.dtype.newbyteorder("<"))))
    # Largest alignment first, then by name, as the safetensors library lays tensors out.
    arrays.sort(key=lambda item: (-item[1].dtype.itemsize, item[0]))
    header = {} if metadata is None else {"__metadata__": dict(metadata)}
    offset = 0
    for name, a in arrays:
        header[name] = {"dtype": _ST_CODES[a.dtype.name], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)

    def write(fh):
        fh.write(struct.pack("<Q", len(blob)))
        fh.write(blob)
        for _, a in arrays:
            fh.write(memoryview(a.reshape(-1).view(np.uint8)))

    _atomic_write(path, write)


def _st_error(path, detail):
    return RuntimeError(f"load_safetensors: '{path}' is not a valid safetensors file ({detail})")


def _st_entries(header, path, data_len):
    """Validate the JSON header; return [(name, dtype, shape, begin, end)] by offset."""
    if not isinstance(header, dict):
        raise _st_error(path, "the header is not a JSON object")
    entries = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            np_dtype = _ST_DTYPES.get(info["dtype"]) if info["dtype"] != "BF16" else _BF16
            shape = tuple(info["shape"])
            begin, end = info["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise _st_error(path, f"malformed entry for {name!r}") from None
        if np_dtype is None:
            raise _st_error(path, f"unsupported dtype {info['dtype']!r} for {name!r}")
        if not all(type(n) is int and n >= 0 for n in shape + (begin, end)):
            raise _st_error(path, f"bad shape or offsets for {name!r}")
        itemsize = 2 if np_dtype is _BF16 else np_dtype.itemsize
        if end - begin != int(np.prod(shape, dtype=np.int64)) * itemsize or end > data_len:
            raise _st_error(path, f"offsets of {name!r} don't match its shape and dtype")
        entries.append((name, np_dtype, shape, begin, end))
    entries.sort(key=lambda e: (e[3], e[4]))
    for prev, cur in zip(entries, entries[1:]):
        if cur[3] < prev[4]:
            raise _st_error(path, f"{prev[0]!r} and {cur[0]!r} overlap")
    return entries


def load_safetensors(path):
    """Loads a safetensors file into a ``dict`` of tensors (in file order).

    BF16 tensors load as float32 (numtorch has no bfloat16). Raises ``RuntimeError`` for a
    damaged or malformed file.
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(8)
        if len(head) < 8:
            raise _st_error(path, "file too short")
        n = struct.unpack("<Q", head)[0]
        if n > _ST_MAX_HEADER or n > size - 8:
            raise _st_error(path, "header length out of range")
        try:
            header = json.loads(fh.read(n).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise _st_error(path, f"the header is not JSON: {e}") from None
        out = {}
        for name, np_dtype, shape, begin, end in _st_entries(header, path, size - 8 - n):
            raw = np.empty(end - begin, np.uint8)
            fh.seek(8 + n + begin)
            if fh.readinto(memoryview(raw)) != end - begin:
                raise _st_error(path, f"data of {name!r} is truncated")
            if np_dtype is _BF16:
                arr = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
            else:
                arr = raw.view(np_dtype)
            out[name] = Tensor._wrap(arr.reshape(shape))
    return out
