"""The building blocks of torchvision's models (``torchvision.ops``); numtorch provides the
layers its models use, not the detection operators (``nms``, ``roi_align`` …)."""

from .misc import Conv2dNormActivation

__all__ = ["Conv2dNormActivation"]
