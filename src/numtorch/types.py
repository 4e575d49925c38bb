"""Type aliases for annotations (``torch.types``): what a shape, a dtype or a device argument
may be. Only type checkers and the generated stubs read them; numtorch itself imports this
module under ``typing.TYPE_CHECKING`` only.
"""

import builtins
import os
from typing import IO, TypeAlias

from ._device import device as _device_cls
from ._dtype import dtype as _dtype_cls
from ._size import Size

# The builtins under private names: Tensor has methods called ``int``, ``float`` and ``bool``,
# and inside its class body those names are the methods.
_int: TypeAlias = builtins.int
_float: TypeAlias = builtins.float
_bool: TypeAlias = builtins.bool
_complex: TypeAlias = builtins.complex
_str: TypeAlias = builtins.str

Number: TypeAlias = builtins.int | builtins.float | builtins.bool
_dtype: TypeAlias = _dtype_cls
_size: TypeAlias = Size | list[builtins.int] | tuple[builtins.int, ...]
# ``device("cpu")``, ``"cpu"`` or a device index.
_device: TypeAlias = _device_cls | builtins.str | builtins.int
Device: TypeAlias = _device | None
# Layouts and memory formats are the strings ``numtorch.strided`` / ``numtorch.channels_last``.
_layout: TypeAlias = builtins.str
_memory_format: TypeAlias = builtins.str

# What save/load accept as a file: a path or a binary file object.
FileLike: TypeAlias = builtins.str | os.PathLike[builtins.str] | IO[builtins.bytes]

__all__ = ["Device", "FileLike", "Number", "Size", "_bool", "_complex", "_device", "_dtype",
           "_float", "_int", "_layout", "_memory_format", "_size", "_str"]
