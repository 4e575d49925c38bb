"""Reading a checkpoint's zip archive without trusting what it says about itself.

A checkpoint can be hostile: a zip bomb (a small deflated record that inflates to gigabytes),
duplicate record names (two ``data.pkl``: which one is read depends on the reader), records
that are longer or shorter than the tensors that use them, or a path that is a device such as
``/dev/zero``. The reader refuses each of them before it allocates memory: a storage record is
inflated only up to the size the pickle declares for it (numel × itemsize) and must have exactly
that size; a deflated ``data.pkl`` inflates to at most :data:`MAX_INFLATED_PICKLE` bytes.
"""

import mmap as _mmap
import os
import stat
import struct
import zipfile
import zlib

import numpy as np

from ._common import NotAFile, damaged

# A deflated data.pkl may inflate to this many bytes (torch never deflates records; stored
# records are bounded by the size of the file itself).
MAX_INFLATED_PICKLE = 64 << 20
# Small bookkeeping records (byteorder, version, …).
_MAX_SMALL_RECORD = 1 << 16

_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
               struct.error, UnicodeDecodeError, NotImplementedError, zlib.error, RuntimeError)


def check_regular_file(fd, name, streams_ok=False):
    """Refuse anything but a regular file: a device such as ``/dev/zero`` never ends. With
    ``streams_ok``, pipes and sockets (which end when the writer closes them) are accepted."""
    try:
        mode = os.fstat(fd).st_mode
    except (OSError, TypeError, ValueError):
        return
    if streams_ok and (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return
    if not stat.S_ISREG(mode):
        raise NotAFile(f"numtorch.load: '{name}' is not a regular file (a device, FIFO or "
                       "socket); only checkpoint files can be loaded")


def check_regular_path(path):
    """Like :func:`check_regular_file` for a path, before it is opened (opening a FIFO blocks)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # open() raises the right error
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise NotAFile(f"numtorch.load: '{path}' is not a regular file (a device, FIFO or "
                       "socket); only checkpoint files can be loaded")


def _file_size(fh):
    try:
        return os.fstat(fh.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        pos = fh.tell()
        end = fh.seek(0, os.SEEK_END)
        fh.seek(pos)
        return end


class Archive:
    """Reads the records of a checkpoint zip archive."""

    def __init__(self, fh, name, use_mmap):
        self._fh = fh
        self._name = name
        self._size = _file_size(fh)
        try:
            self._zip = zipfile.ZipFile(fh)
            infolist = self._zip.infolist()
        except _ZIP_ERRORS as e:
            raise damaged(name, f"not a readable zip archive: {e}") from None
        infos = {}
        for info in infolist:
            if info.filename in infos:
                raise damaged(name, f"the zip archive holds two records named "
                                    f"{info.filename!r}")
            if info.compress_type == zipfile.ZIP_STORED and \
                    info.header_offset + info.file_size > self._size:
                raise damaged(name, f"record {info.filename} is larger than the file")
            infos[info.filename] = info
        pickles = [n for n in infos if n.endswith("/data.pkl") and n.count("/") == 1]
        if not pickles:
            raise damaged(name, "the zip archive has no data.pkl record")
        if len(pickles) > 1:
            raise damaged(name, "the zip archive holds more than one data.pkl record")
        self._prefix = pickles[0][: -len("data.pkl")]
        if self._prefix + "constants.pkl" in infos:
            raise RuntimeError(f"numtorch.load: '{name}' is a TorchScript archive "
                               "(torch.jit.save); numtorch can only load torch.save checkpoints")
        self._infos = infos
        order = self._read("byteorder", _MAX_SMALL_RECORD, b"little")
        if order != b"little":
            raise RuntimeError(f"numtorch.load: '{name}' stores {order!r}-endian data; numtorch "
                               "reads little-endian checkpoints only")
        self._mmap = None
        if use_mmap:
            self._mmap = _mmap.mmap(fh.fileno(), 0, access=_mmap.ACCESS_COPY)
        self._raw = {}

    def _read(self, record, limit, default=None):
        """The bytes of ``record``, refusing a deflated record that inflates past ``limit``."""
        info = self._infos.get(self._prefix + record)
        if info is None:
            if default is not None:
                return default
            raise damaged(self._name, f"missing record {record}")
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > limit:
            raise damaged(self._name, f"record {record} would inflate to {info.file_size} "
                                      f"bytes, more than the {limit} numtorch allows")
        try:
            with self._zip.open(info) as r:
                data = r.read(info.file_size)
        except _ZIP_ERRORS as e:
            raise damaged(self._name, f"record {record} is unreadable: {e}") from None
        if len(data) != info.file_size:
            raise damaged(self._name, f"record {record} is truncated")
        return data

    def pickle_bytes(self):
        """The bytes of data.pkl."""
        return self._read("data.pkl", MAX_INFLATED_PICKLE)

    def _data_offset(self, info):
        self._fh.seek(info.header_offset)
        header = self._fh.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise damaged(self._name, f"bad zip entry header for {info.filename}")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        return info.header_offset + 30 + name_len + extra_len

    def raw(self, key, nbytes, what):
        """The bytes of record ``data/<key>`` as a uint8 array (read once, then shared).

        ``nbytes`` is the size the pickle declares for the storage; a record of any other size
        is refused before anything is inflated or read. ``what`` describes it for the error
        (``"24 elements * 4 bytes/element for dtype Float"``).
        """
        record = f"data/{key}"
        info = self._infos.get(self._prefix + record)
        if info is None:
            raise damaged(self._name, f"missing storage record {record}")
        n = info.file_size
        if n != nbytes:
            raise RuntimeError(
                f"numtorch.load: '{self._name}': record size ({n} bytes) of {record} does not "
                f"match expected size ({nbytes} bytes = {what})")
        arr = self._raw.get(key)
        if arr is not None:
            return arr
        if info.compress_type != zipfile.ZIP_STORED:
            arr = np.frombuffer(bytearray(self._read(record, nbytes)), np.uint8)
        elif self._mmap is not None:
            start = self._data_offset(info)
            if start + n > len(self._mmap):
                raise damaged(self._name, f"storage record {record} is truncated")
            arr = np.frombuffer(self._mmap, np.uint8, count=n, offset=start)
        else:
            arr = np.empty(n, np.uint8)
            self._fh.seek(self._data_offset(info))
            view, got = memoryview(arr), 0
            while got < n:
                k = self._fh.readinto(view[got:])
                if not k:
                    raise damaged(self._name, f"storage record {record} is truncated")
                got += k
            if zlib.crc32(arr) != info.CRC:
                raise damaged(self._name, f"checksum mismatch in storage record {record}")
        self._raw[key] = arr
        return arr
