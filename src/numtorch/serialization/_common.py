"""Names and errors shared by the writer, the archive reader and the unpicklers."""

import pickle

import numpy as np

from .. import _dtype as dt

# torch's legacy storage class name for each dtype numtorch has.
STORAGE_NAMES = {
    "float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
    "int64": "LongStorage", "int32": "IntStorage", "int16": "ShortStorage", "int8": "CharStorage",
    "uint8": "ByteStorage", "bool": "BoolStorage", "complex64": "ComplexFloatStorage",
    "complex128": "ComplexDoubleStorage",
}

# Where numtorch has a bfloat16 dtype, bfloat16 storages load as it; otherwise this marker
# stands for bfloat16 and its storages load as float32.
BF16 = "bfloat16"
HAS_BF16 = "bfloat16" in dt._BY_NAME
if HAS_BF16:
    STORAGE_NAMES["bfloat16"] = "BFloat16Storage"


class StorageType:
    """What a global like ``torch.FloatStorage`` loads as: a marker naming a dtype."""

    __slots__ = ("name", "np_dtype")

    def __init__(self, name, np_dtype):
        self.name = name
        self.np_dtype = np_dtype

    @property
    def itemsize(self):
        return 2 if self.np_dtype is BF16 else self.np_dtype.itemsize

    def __repr__(self):
        return f"torch.{self.name}"


STORAGE_TYPES = {name: StorageType(name, np.dtype(dt._BY_NAME[d]._np))
                 for d, name in STORAGE_NAMES.items()}
if not HAS_BF16:
    STORAGE_TYPES["BFloat16Storage"] = StorageType("BFloat16Storage", BF16)
STORAGE_TYPES["UntypedStorage"] = StorageType("UntypedStorage", np.dtype(np.uint8))


def damaged(name, detail):
    """The error for a file that is not a readable checkpoint."""
    return RuntimeError(
        f"numtorch.load: '{name}' is damaged or is not a PyTorch checkpoint ({detail})")


class NotAFile(pickle.UnpicklingError):
    """Raised for a path that is not a regular file (a device, FIFO or socket)."""
