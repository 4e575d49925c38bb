"""Random images for trying a pipeline without data (``torchvision.datasets.FakeData``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _creation
from ..random import Generator
from .vision import VisionDataset

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """A fake dataset that returns randomly generated images and returns them as PIL images

    Args:
        size (int, optional): Size of the dataset. Default: 1000 images
        image_size(tuple, optional): Size of the returned images. Default: (3, 224, 224)
        num_classes(int, optional): Number of classes in the dataset. Default: 10
        transform (callable, optional): A function/transform that takes in a PIL image
            and returns a transformed version. E.g, ``transforms.RandomCrop``
        target_transform (callable, optional): A function/transform that takes in the
            target and transforms it.
        random_offset (int): Offsets the index-based random seed used to
            generate each image. Default: 0

    Item ``i`` is torchvision's item ``i``: ``randn(*image_size)`` and then the target
    ``randint(0, num_classes, (1,))`` from a generator seeded with ``i + random_offset`` (its
    own, so the global random state is untouched), the image converted like ``ToPILImage``
    (``x * 255`` truncated, wrapped to uint8). ``target_transform`` receives the target as a
    0-dim tensor, whose ``item()`` is returned.
    """

    def __init__(self, size: int = 1000, image_size: tuple[int, int, int] = (3, 224, 224),
                 num_classes: int = 10, transform: Callable | None = None,
                 target_transform: Callable | None = None, random_offset: int = 0) -> None:
        super().__init__(transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """Return ``(image, target)``: a PIL image (after ``transform``) and a class index."""
        if index >= len(self):
            raise IndexError(f"{self.__class__.__name__} index out of range")
        try:
            from PIL import Image  # deferred: optional dependency (Pillow)
        except ImportError:
            raise ImportError("FakeData yields PIL images and needs Pillow: pip install pillow") \
                from None
        generator = Generator().manual_seed(index + self.random_offset)
        noise = _creation.randn(*self.image_size, generator=generator).numpy()
        target = _creation.randint(0, self.num_classes, (1,), generator=generator)[0]
        pixels = ((noise * np.float32(255)).astype(np.int64) & 0xFF).astype(np.uint8)
        if pixels.ndim == 3:
            pixels = pixels.transpose(1, 2, 0)
            if pixels.shape[2] == 1:
                pixels = pixels[:, :, 0]
        img = Image.fromarray(np.ascontiguousarray(pixels))
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target.item()

    def __len__(self) -> int:
        return self.size
