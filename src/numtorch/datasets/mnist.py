"""MNIST and Fashion-MNIST (``torchvision.datasets.MNIST``) on the IDX file format.

Files live where torchvision keeps them: ``root/MNIST/raw/train-images-idx3-ubyte.gz`` … (gzip or
already extracted). ``MNIST`` falls back to a sample of 10,000 real digits shipped with numtorch
when no full copy is present and ``download`` is False; ``dataset.source`` tells which was used.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .._tensor import Tensor
from . import transforms
from .vision import StandardTransform, VisionDataset

__all__ = ["MNIST", "FashionMNIST", "read_idx", "read_image_file", "read_label_file"]

# IDX type codes → big-endian NumPy dtypes.
_IDX_TYPES = {
    0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_IMAGES_MAGIC = 0x803  # unsigned bytes, 3 dimensions
_LABELS_MAGIC = 0x801  # unsigned bytes, 1 dimension


# ---------------------------------------------------------------------------- IDX files
def _read_bytes(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise RuntimeError(f"{path}: corrupt gzip data ({e})") from None
    return raw


def _parse_idx(raw, name):
    """Decode IDX bytes into a native-endian ndarray; errors name the file ``name``."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise RuntimeError(f"{name}: not an IDX file (bad magic number {raw[:4].hex()!r})")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise RuntimeError(f"{name}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = math.prod(dims) * dtype.itemsize  # Python ints: 2**32 x 2**32 can't wrap to 0
    if len(raw) - header != expected:
        raise RuntimeError(
            f"{name}: IDX data has {len(raw) - header} bytes but dimensions {dims} need "
            f"{expected} (truncated or corrupt file)")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="))  # a writable native-endian copy


def read_idx(path: str | os.PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into a NumPy array.

    Args:
        path (str or PathLike): the file.
        expected_magic (int, optional): the magic number the file must have, e.g. ``0x803``
            for MNIST images and ``0x801`` for labels.

    Raises:
        RuntimeError: the file is not a valid IDX file (the message names the file).
    """
    raw = _read_bytes(path)
    return _check_magic(_parse_idx(raw, path), raw, path, expected_magic)


def _check_magic(data, raw, name, expected_magic):
    magic = int.from_bytes(raw[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise RuntimeError(
            f"{name}: magic number {magic:#x} where {expected_magic:#x} was expected")
    return data


def read_image_file(path: str | os.PathLike) -> Tensor:
    """An MNIST image file as a uint8 tensor of shape ``(N, 28, 28)``."""
    return Tensor._wrap(read_idx(path, _IMAGES_MAGIC))


def read_label_file(path: str | os.PathLike) -> Tensor:
    """An MNIST label file as an int64 tensor of shape ``(N,)``."""
    return Tensor._wrap(read_idx(path, _LABELS_MAGIC).astype(np.int64))


@functools.cache
def _read_embedded(filename):
    """The embedded sample's array (cached: treat as read-only, copy before handing out)."""
    raw = resources.files(__package__).joinpath("_data", filename).read_bytes()
    return _parse_idx(gzip.decompress(raw), filename)


# ---------------------------------------------------------------------------- download
def _md5(path, chunk_size=1 << 20):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _ChecksumError(RuntimeError):
    """A downloaded file whose MD5 is not the published one."""


def _download_url(url, path, md5, timeout=30):
    """Fetch ``url`` to ``path`` and check its MD5; a partial or wrong file is removed."""
    tmp = path + ".part"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
        if _md5(tmp) != md5:
            raise _ChecksumError("MD5 checksum mismatch (file corrupted in transfer)")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# ---------------------------------------------------------------------------- datasets
class MNIST(VisionDataset):
    """The MNIST handwritten digits (``torchvision.datasets.MNIST``).

    Args:
        root (str or PathLike): directory holding ``MNIST/raw/``.
        train (bool): the training split (60,000 images) if True, else the test split (10,000).
        transform (callable, optional): applied to each image, a ``28×28`` uint8 tensor
            (torchvision passes a PIL image; :class:`~numtorch.datasets.transforms.ToTensor`
            accepts both).
        target_transform (callable, optional): applied to each label (a Python int).
        download (bool): fetch the files from the mirrors (MD5-checked) if they are missing.

    With no full copy under ``root`` and ``download=False`` the embedded sample of 10,000 real
    MNIST digits is used instead: its first 8,000 for ``train=True``, its last 2,000 otherwise.

    Attributes:
        data (Tensor): uint8 images, ``N×28×28``.
        targets (Tensor): int64 labels, ``N``.
        source (str): ``'full'`` (files under ``root``) or ``'embedded'`` (the shipped sample).
    """

    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = [
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
        "7 - seven", "8 - eight", "9 - nine",
    ]
    embedded_files: tuple[str, str] | None = ("mnist-10k-images-idx3-ubyte.gz",
                                              "mnist-10k-labels-idx1-ubyte.gz")
    embedded_train_size = 8000
    _repr_indent = 4

    def __init__(self, root: str | Path, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        self.root = os.path.expanduser(os.fspath(root)) if root is not None else None
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        has_transform = transform is not None or target_transform is not None
        self.transforms = StandardTransform(transform, target_transform) if has_transform else None
        if download:
            self.download()
        if self._check_exists():
            self.data, self.targets = self._load_full()
            self.source = "full"
        elif self.embedded_files is not None and not download:
            self.data, self.targets = self._load_embedded()
            self.source = "embedded"
        else:
            raise RuntimeError("Dataset not found. You can use download=True to download it")

    # -------------------------------------------------------------- files
    @property
    def raw_folder(self):
        return os.path.join(self.root or "", self.__class__.__name__, "raw")

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def _split_files(self):
        prefix = "train" if self.train else "t10k"
        return [name for name, _ in self.resources if name.startswith(prefix)]

    def _find(self, filename):
        """The path of ``filename`` (``.gz``) or its extracted twin in ``raw_folder``, or None."""
        if self.root is None:
            return None
        for name in (filename, filename[: -len(".gz")]):
            path = os.path.join(self.raw_folder, name)
            if os.path.isfile(path):
                return path
        return None

    def _check_exists(self):
        return all(self._find(f) is not None for f in self._split_files())

    def _load_full(self):
        images, labels = (self._find(f) for f in self._split_files())
        data, targets = read_image_file(images), read_label_file(labels)
        if data.shape[0] != targets.shape[0]:
            raise RuntimeError(
                f"{images} has {data.shape[0]} images but {labels} has {targets.shape[0]} labels")
        return data, targets

    def _load_embedded(self):
        images, labels = (_read_embedded(f) for f in self.embedded_files)
        n = self.embedded_train_size
        part = slice(None, n) if self.train else slice(n, None)
        return Tensor._wrap(images[part].copy()), Tensor._wrap(labels[part].astype(np.int64))

    def download(self):
        """Download the four files into ``raw_folder`` unless they are there already."""
        if self.root is None:
            raise RuntimeError("download=True needs a root directory to download into")
        if all(self._find(f) is not None for f, _ in self.resources):
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            if self._find(filename) is not None:
                continue
            errors = []
            for mirror in self.mirrors:
                url = mirror + filename
                try:
                    _download_url(url, os.path.join(self.raw_folder, filename), md5)
                    break
                except (urllib.error.URLError, OSError, _ChecksumError) as e:
                    errors.append(f"  {url}: {getattr(e, 'reason', e)}")
            else:
                raise RuntimeError(
                    f"Error downloading {filename}: no mirror could be reached (offline?)\n"
                    + "\n".join(errors)
                    + f"\nCopy the files into {self.raw_folder} by hand, or use download=False"
                    + (" to fall back to the embedded 10,000-digit sample."
                       if self.embedded_files else "."))

    # -------------------------------------------------------------- samples
    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """Return ``(image, target)``: the transformed image and the class index."""
        img = Tensor._wrap(self.data._data[index].copy())  # a fresh image, as torchvision's
        target = int(self.targets._data[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data._data)

    def _fetch_collated(self, idx):
        """The default-collated batch at ``idx`` built at once (DataLoader fast path), or None
        when a transform or an overridden ``__getitem__`` needs the per-sample path."""
        if type(self).__getitem__ is not MNIST.__getitem__ or self.target_transform is not None:
            return None
        batch_transform = transforms._batched(self.transform)
        if batch_transform is None:
            return None
        images = batch_transform(Tensor._wrap(self.data._data[idx]))
        return [images, Tensor._wrap(self.targets._data[idx].astype(np.int64))]

    def extra_repr(self) -> str:
        split = "Train" if self.train is True else "Test"
        return f"Split: {split}" + ("\nSource: embedded sample" if self.source == "embedded"
                                    else "")

    def __repr__(self):
        body = [f"Number of datapoints: {len(self)}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if self.transforms is not None:
            body += [repr(self.transforms)]  # torchvision indents only its first line
        lines = [f"Dataset {self.__class__.__name__}"]
        return "\n".join(lines + [" " * self._repr_indent + line for line in body])


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (``torchvision.datasets.FashionMNIST``): same format as MNIST.

    There is no embedded sample: the files must be under ``root/FashionMNIST/raw/`` or
    ``download=True`` must fetch them.
    """

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
    embedded_files = None
