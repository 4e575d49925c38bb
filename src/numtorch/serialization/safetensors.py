"""Hugging Face's safetensors format: an 8-byte header length, a JSON header, the raw bytes.

The reader trusts nothing in the header: element counts are computed with Python integers (a
shape of 2**32 x 2**32 does not wrap around to 0), offsets must match shape and dtype and lie
inside the file, tensors may not overlap, and a header nested too deeply for the JSON parser is
refused as malformed.
"""

import json
import math
import os
import struct

import numpy as np

from .. import _dtype as dt
from .._tensor import Tensor
from ._common import BF16 as _BF16
from ._common import HAS_BF16
from .archive import check_regular_path
from .writer import atomic_write

_ST_CODES = {
    "float16": "F16", "float32": "F32", "float64": "F64", "int8": "I8", "int16": "I16",
    "int32": "I32", "int64": "I64", "uint8": "U8", "bool": "BOOL", "complex64": "C64",
}
if HAS_BF16:
    _ST_CODES["bfloat16"] = "BF16"
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

    atomic_write(path, write)


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
            code = info["dtype"]
            np_dtype = _ST_DTYPES.get(code, _BF16 if code == "BF16" else None)
            shape = tuple(info["shape"])
            begin, end = info["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise _st_error(path, f"malformed entry for {name!r}") from None
        if np_dtype is None:
            raise _st_error(path, f"unsupported dtype {code!r} for {name!r}")
        if not all(type(n) is int and n >= 0 for n in shape + (begin, end)):
            raise _st_error(path, f"bad shape or offsets for {name!r}")
        itemsize = 2 if np_dtype is _BF16 else np_dtype.itemsize
        if end - begin != math.prod(shape) * itemsize or end > data_len:
            raise _st_error(path, f"offsets of {name!r} don't match its shape and dtype")
        entries.append((name, np_dtype, shape, begin, end))
    entries.sort(key=lambda e: (e[3], e[4]))
    for prev, cur in zip(entries, entries[1:]):
        if cur[3] < prev[4]:
            raise _st_error(path, f"{prev[0]!r} and {cur[0]!r} overlap")
    return entries


def load_safetensors(path):
    """Loads a safetensors file into a ``dict`` of tensors (in file order).

    BF16 tensors load as bfloat16, or as float32 where numtorch has no bfloat16. Raises
    ``RuntimeError`` for a damaged or malformed file.
    """
    path = os.fspath(path)
    check_regular_path(path)
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
        except RecursionError:
            raise _st_error(path, "the header is nested too deeply") from None
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
