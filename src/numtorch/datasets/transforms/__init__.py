"""Image transforms (``torchvision.transforms``): the classes of :mod:`.transforms` and the
functions of :mod:`.functional`."""

from . import functional
from ._batch import _batched
from .transforms import (
                         CenterCrop,
                         ColorJitter,
                         Compose,
                         ConvertImageDtype,
                         GaussianBlur,
                         Grayscale,
                         InterpolationMode,
                         Lambda,
                         Normalize,
                         Pad,
                         PILToTensor,
                         RandomApply,
                         RandomChoice,
                         RandomCrop,
                         RandomErasing,
                         RandomGrayscale,
                         RandomHorizontalFlip,
                         RandomOrder,
                         RandomResizedCrop,
                         RandomRotation,
                         RandomVerticalFlip,
                         Resize,
                         ToPILImage,
                         ToTensor,
)

__all__ = [
    "CenterCrop", "ColorJitter", "Compose", "ConvertImageDtype", "GaussianBlur", "Grayscale",
    "InterpolationMode", "Lambda", "Normalize", "PILToTensor", "Pad", "RandomApply",
    "RandomChoice", "RandomCrop", "RandomErasing", "RandomGrayscale", "RandomHorizontalFlip",
    "RandomOrder", "RandomResizedCrop", "RandomRotation", "RandomVerticalFlip", "Resize",
    "ToPILImage", "ToTensor", "functional",
]

_ = _batched  # used by numtorch.datasets.mnist
