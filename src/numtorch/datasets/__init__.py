"""Datasets and image transforms (``torchvision.datasets`` / ``torchvision.transforms``)."""

from . import transforms
from .mnist import MNIST, FashionMNIST, read_idx, read_image_file, read_label_file

__all__ = ["MNIST", "FashionMNIST", "read_idx", "read_image_file", "read_label_file",
           "transforms"]
