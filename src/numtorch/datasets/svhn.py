"""The Street View House Numbers dataset (``torchvision.datasets.SVHN``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .utils import check_integrity, download_url, verify_str_arg
from .vision import VisionDataset

__all__ = ["SVHN"]


class SVHN(VisionDataset):
    """`SVHN <http://ufldl.stanford.edu/housenumbers/>`_ Dataset (cropped digits).

    Label ``10`` of the files (the digit 0) becomes ``0``, so labels are in ``[0, 9]``.

    Args:
        root (str or pathlib.Path): directory holding (or receiving) ``<split>_32x32.mat``.
        split (string): ``"train"``, ``"test"`` or ``"extra"``.
        transform (callable, optional): applied to the PIL image.
        target_transform (callable, optional): applied to the label.
        download (bool, optional): download the split's file unless it is there.

    Reading the ``.mat`` files needs scipy.
    """

    split_list = {
        "train": ["http://ufldl.stanford.edu/housenumbers/train_32x32.mat", "train_32x32.mat",
                  "e26dedcc434d2e4c54c9b2d4a06d8373"],
        "test": ["http://ufldl.stanford.edu/housenumbers/test_32x32.mat", "test_32x32.mat",
                 "eb5a983be6a315427106f1b164d9cef3"],
        "extra": ["http://ufldl.stanford.edu/housenumbers/extra_32x32.mat", "extra_32x32.mat",
                  "a93ce644f1a588dc4d68dda5feec44a7"],
    }

    def __init__(self, root: str | Path, split: str = "train", transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = verify_str_arg(split, "split", tuple(self.split_list.keys()))
        self.url, self.filename, self.file_md5 = self.split_list[split]
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               "download it")
        try:
            import scipy.io as sio  # deferred: optional dependency (scipy)
        except ImportError:
            raise ImportError("SVHN reads MATLAB .mat files and needs scipy: pip install scipy") \
                from None
        loaded = sio.loadmat(os.path.join(self.root, self.filename))
        self.data = np.transpose(loaded["X"], (3, 2, 0, 1))
        self.labels = loaded["y"].astype(np.int64).squeeze()
        np.place(self.labels, self.labels == 10, 0)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """Return ``(image, target)``: a PIL image (after ``transform``) and the digit."""
        from PIL import Image  # deferred: optional dependency (Pillow)

        img, target = self.data[index], int(self.labels[index])
        img = Image.fromarray(np.transpose(img, (1, 2, 0)))
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def _check_integrity(self):
        return check_integrity(os.path.join(self.root, self.filename),
                               self.split_list[self.split][2])

    def download(self):
        """Fetch the split's ``.mat`` file (checked by MD5)."""
        download_url(self.url, self.root, self.filename, self.split_list[self.split][2])

    def extra_repr(self):
        return "Split: {split}".format(**self.__dict__)
