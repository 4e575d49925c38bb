"""numtorch's counterpart of torchvision: ``utils``, ``models`` and ``io``.

``torchvision.datasets`` and ``torchvision.transforms`` live in :mod:`numtorch.datasets` and
:mod:`numtorch.datasets.transforms` (they predate this package) and are re-exported here, so
``numtorch.vision`` mirrors torchvision's top-level layout. Under ``numtorch run`` (see
:mod:`numtorch.compat`) ``import torchvision.X`` is served by ``numtorch.vision.X``.
"""

from .. import datasets
from ..datasets import transforms
from . import io, models, utils

__all__ = ["datasets", "io", "models", "transforms", "utils"]
