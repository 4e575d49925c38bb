"""Datasets and image transforms (``torchvision.datasets`` / ``torchvision.transforms``)."""

from . import transforms
from .cifar import CIFAR10, CIFAR100
from .fakedata import FakeData
from .folder import DatasetFolder, ImageFolder
from .mnist import MNIST, FashionMNIST, read_idx, read_image_file, read_label_file
from .svhn import SVHN
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100", "DatasetFolder", "FakeData", "FashionMNIST", "ImageFolder",
           "MNIST", "SVHN", "VisionDataset", "read_idx", "read_image_file", "read_label_file",
           "transforms"]
