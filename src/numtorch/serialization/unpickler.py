"""Unpicklers for ``data.pkl``: the restricted one (``weights_only=True``) and the full one.

The restricted unpickler is a small stack machine that never imports anything: a global is
looked up in an allowlist (tensor rebuild functions, storage types, dtypes, ``torch.Size``,
``torch.device``, ``collections.OrderedDict`` and a few builtins, plus what the user added with
:func:`add_safe_globals`) and replaced by numtorch's object; every other global raises
:class:`pickle.UnpicklingError` with torch's message and advice. This is
``torch.load(weights_only=True)``, the default.

The full unpickler (``weights_only=False``, an explicit opt-in) is Python's own unpickler: it
runs whatever the file asks for, as ``pickle.load`` does. torch's names are mapped to numtorch's
(``torch.nn.modules.linear.Linear`` loads as ``numtorch.nn.modules.linear.Linear``).
"""

import _compat_pickle
import collections
import importlib
import io
import pickle
import struct
from collections import OrderedDict
from typing import Any

import numpy as np

from .. import _dtype as dt
from .._device import device as _device
from .._size import Size
from .._tensor import Tensor
from ..nn.parameter import Parameter
from ._common import STORAGE_TYPES, StorageType, damaged
from .writer import torch_module_name

UNSAFE_MESSAGE = (
    "In PyTorch 2.6, we changed the default value of the `weights_only` argument in `torch.load` "
    "from `False` to `True`. Re-running `torch.load` with `weights_only` set to `False` will "
    "likely succeed, but it can result in arbitrary code execution. Do it only if you got the "
    "file from a trusted source.")
_DOCS_MESSAGE = (
    "\n\nCheck the documentation of torch.load to learn more about types accepted by default "
    "with weights_only https://pytorch.org/docs/stable/generated/torch.load.html.")


def weights_only_message(message):
    """torch's text around an error of the weights-only unpickler (with its advice)."""
    if "was not an allowed global by default." in message:
        text = ("Weights only load failed. This file can still be loaded, to do so you have two "
                "options, \033[1mdo those steps only if you trust the source of the "
                f"checkpoint\033[0m. \n\t(1) {UNSAFE_MESSAGE}\n\t(2) Alternatively, to load "
                "with `weights_only=True` please check the recommended steps in the following "
                "error message.\n\tWeightsUnpickler error: " + message)
    else:
        text = (f"Weights only load failed. {UNSAFE_MESSAGE}\nPlease file an issue with the "
                "following so that we can make `weights_only=True` compatible with your use "
                "case: WeightsUnpickler error: \n\n" + message)
    return text + _DOCS_MESSAGE


# ====================================================================== user-added safe globals
_safe_globals: list[Any] = []


def _check_safe_globals(safe_globals):
    if not isinstance(safe_globals, (list, tuple)):
        raise TypeError(f"safe_globals must be a list, but got {type(safe_globals).__name__}")
    for g in safe_globals:
        if isinstance(g, tuple):
            if len(g) != 2:
                raise ValueError("Expected tuple of length 2 (global, str of callable full "
                                 f"path), but got tuple of length: {len(g)}")
            if type(g[1]) is not str:
                raise TypeError("Expected second item in tuple to be str of callable full path, "
                                f"but got: {type(g[1])}")


def add_safe_globals(safe_globals):
    """Marks the given globals as safe for ``weights_only`` load.

    Functions in this list can be called during unpickling, classes can be instantiated and have
    their state set. Each item is a function or class, or a tuple ``(obj, "module.qualname")``
    giving the full path under which it appears in the checkpoint (by default
    ``{obj.__module__}.{obj.__qualname__}``; numtorch objects also match torch's path).

    Args:
        safe_globals (List[Union[Callable, Tuple[Callable, str]]]): globals to mark as safe.
    """
    _check_safe_globals(safe_globals)
    for g in safe_globals:
        if g not in _safe_globals:
            _safe_globals.append(g)


def get_safe_globals():
    """Returns the list of user-added globals that are safe for ``weights_only`` load."""
    return list(_safe_globals)


def clear_safe_globals():
    """Clears the list of globals that are safe for ``weights_only`` load."""
    _safe_globals.clear()


class safe_globals:
    """Context manager that adds certain globals as safe for ``weights_only`` load.

    Args:
        safe_globals: list of globals for weights_only load.
    """

    def __init__(self, safe_globals):
        _check_safe_globals(safe_globals)
        self.safe_globals = safe_globals

    def __enter__(self):
        self._added = [g for g in self.safe_globals if g not in _safe_globals]
        add_safe_globals(self._added)

    def __exit__(self, exc_type, exc, tb):
        for g in self._added:
            if g in _safe_globals:
                _safe_globals.remove(g)


def user_allowed_globals():
    """``"module.qualname"`` -> object for every user-added safe global."""
    out = {}
    for g in _safe_globals:
        if isinstance(g, tuple):
            obj, name = g
            out[name] = obj
            continue
        module = getattr(g, "__module__", None) or ""
        qualname = getattr(g, "__qualname__", None) or getattr(g, "__name__", "")
        out[f"{module}.{qualname}"] = g
        out[f"{torch_module_name(module, qualname)}.{qualname}"] = g
    return out


# ============================================================================ rebuild functions
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
    if not isinstance(data, Tensor):
        raise RuntimeError("numtorch.load: a Parameter's data is not a tensor")
    p = Parameter(data, bool(requires_grad))
    _set_safe_attributes(p, state)
    return p


def _rebuild_from_type_v2(func, new_type, args, state):
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
        "torch.storage.UntypedStorage": STORAGE_TYPES["UntypedStorage"],
    }
    for name, st in STORAGE_TYPES.items():
        allowed["torch." + name] = st
    for name in dir(dt):
        if _dtype_by_name(name) is not None:
            allowed["torch." + name] = getattr(dt, name)
    return allowed


_ALLOWED = None
_CALLABLE_IDS: frozenset[int] = frozenset()
_NEWOBJ_CLASSES = (OrderedDict, collections.Counter, set, frozenset, complex)


def _allowlist():
    global _ALLOWED, _CALLABLE_IDS
    if _ALLOWED is None:
        allowed = _allowed_globals()
        markers = (Tensor, allowed["torch.nn.parameter.Parameter"])
        _CALLABLE_IDS = frozenset(
            id(v) for v in allowed.values()
            if callable(v) and not isinstance(v, (dt.dtype, StorageType)) and v not in markers)
        _ALLOWED = allowed
    return _ALLOWED


class _Truncated(Exception):
    pass


class _SafeUnpickler:
    """A pickle interpreter that builds only what a checkpoint needs.

    It implements the pickle opcodes for containers, numbers and strings itself; a global is
    looked up in the allowlist and in the user-added safe globals, never imported; REDUCE and
    NEWOBJ call only allowlisted functions and classes; BUILD sets the attributes of an
    OrderedDict (the ``_metadata`` of a state_dict) or of an instance of a user-added class.
    Anything else raises :class:`pickle.UnpicklingError`.
    """

    def __init__(self, data, persistent_load, name, encoding="utf-8"):
        self._data = data
        self._pos = 0
        self._persistent_load = persistent_load
        self._name = name
        self._encoding = encoding
        self._allowed = _allowlist()
        self._user = user_allowed_globals()
        self._user_ids = {id(v) for v in self._user.values()}

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
                    raise damaged(self._name, f"unknown pickle opcode {bytes([op])!r} at byte "
                                               f"{self._pos - 1} of data.pkl")
                if handler is _stop:
                    return self._stack.pop()
                handler(self)
        except _Truncated:
            raise damaged(self._name, "data.pkl ends unexpectedly") from None
        except (IndexError, KeyError, TypeError, ValueError, AttributeError, OverflowError,
                struct.error, UnicodeDecodeError, RecursionError, MemoryError) as e:
            raise damaged(self._name, f"malformed data.pkl: {type(e).__name__}: {e}") from None

    def _find_class(self, module, name):
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        full = f"{module}.{name}"
        obj = self._allowed.get(full)
        if obj is None:
            obj = self._user.get(full)
        if obj is None:
            if full.startswith("builtins."):
                full = full[len("builtins."):]
            raise pickle.UnpicklingError(
                f"Unsupported global: GLOBAL {full} was not an allowed global by default. "
                f"Please use `torch.serialization.add_safe_globals([{full}])` or the "
                f"`torch.serialization.safe_globals([{full}])` context manager to allowlist "
                "this global if you trust this class/function.")
        return obj

    def _is_user_global(self, obj):
        return id(obj) in self._user_ids

    def _call(self, func, args, how):
        if id(func) not in _CALLABLE_IDS and not self._is_user_global(func):
            raise pickle.UnpicklingError(
                f"Trying to call reduce for unrecognized function {func!r}")
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
    if not isinstance(args, tuple):
        raise TypeError("NEWOBJ arguments must be a tuple")
    if any(cls is c for c in _NEWOBJ_CLASSES) or (
            isinstance(cls, type) and self._is_user_global(cls)):
        self._stack.append(cls.__new__(cls, *args))
    else:
        raise pickle.UnpicklingError(
            "Can only create new object for nn.Parameter or classes allowlisted via "
            f"`add_safe_globals` but got {cls!r}")


def _op_newobj_ex(self):
    kwargs = self._stack.pop()
    if kwargs:
        raise pickle.UnpicklingError("numtorch.load: NEWOBJ_EX with keyword arguments")
    _op_newobj(self)


def _op_build(self):
    state = self._stack.pop()
    inst = self._stack[-1]
    if type(inst) in (OrderedDict, collections.Counter):
        if type(state) is not dict or not all(type(k) is str for k in state):
            raise pickle.UnpicklingError("numtorch.load: an OrderedDict's state must be a dict "
                                         "of attribute names")
        inst.__dict__.update(state)
    elif self._is_user_global(type(inst)):
        setstate = getattr(inst, "__setstate__", None)
        if setstate is not None:
            setstate(state)
            return
        slotstate = None
        if isinstance(state, tuple) and len(state) == 2:
            state, slotstate = state
        if state:
            inst.__dict__.update(state)
        if slotstate:
            for k, v in slotstate.items():
                setattr(inst, k, v)
    else:
        raise pickle.UnpicklingError(
            "Can only build Tensor, Parameter, OrderedDict or types allowlisted via "
            f"`add_safe_globals`, but got {type(inst)}")


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




def load_weights_only(data, persistent_load, name, encoding="utf-8"):
    """Unpickle ``data`` (the bytes of data.pkl) with the restricted unpickler."""
    try:
        return _SafeUnpickler(data, persistent_load, name, encoding).load()
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(weights_only_message(str(e))) from None


def _lookup(module, name):
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _numtorch_global(module, name):
    """The numtorch object for the torch global ``module.name``.

    numtorch keeps some classes in another file than torch (``BatchNorm2d`` is in
    ``nn/modules/normalization.py``), so when torch's module path has no such name the
    enclosing packages are tried (``numtorch.nn.modules``, then ``numtorch.nn``).
    """
    parts = ("numtorch" + module[len("torch"):]).split(".")
    for end in range(len(parts), 0, -1):
        try:
            return _lookup(".".join(parts[:end]), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(
        f"numtorch.load: the checkpoint refers to {module}.{name}, which numtorch does not "
        "provide")


class _FullUnpickler(pickle.Unpickler):
    """Python's unpickler, with torch's globals resolved to numtorch's objects."""

    def __init__(self, file, persistent_load, allowed, **kwargs):
        super().__init__(file, **kwargs)
        self._load_storage = persistent_load
        self._allowed = allowed

    def persistent_load(self, pid):
        return self._load_storage(pid)

    def find_class(self, module, name):
        obj = self._allowed.get(f"{module}.{name}")
        if obj is not None:
            return obj
        if module == "torch" or module.startswith("torch."):
            return _numtorch_global(module, name)
        return super().find_class(module, name)


def load_full(data, persistent_load, encoding="utf-8"):
    """Unpickle ``data`` with Python's unpickler (``weights_only=False``): runs code."""
    torch_names = {k: v for k, v in _allowlist().items() if k.startswith("torch.")}
    return _FullUnpickler(io.BytesIO(data), persistent_load, torch_names,
                          encoding=encoding).load()
