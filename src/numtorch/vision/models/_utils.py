"""Small helpers shared by the model builders."""

from functools import partial

from ...datasets.transforms._presets import ImageClassification
from ._api import Weights


class _Meta(dict):
    """The ``meta`` of a weights entry; says so when asked for what numtorch does not ship."""

    def __missing__(self, key):
        if key == "categories":
            raise KeyError("categories: numtorch does not ship torchvision's list of the 1000 "
                           "ImageNet class names; load your own list (class indices are "
                           "torchvision's)")
        raise KeyError(key)


def _weights(url, num_params, min_size, **transform_args):
    """A :class:`Weights` for an ImageNet-1k classifier checkpoint."""
    return Weights(url=url, transforms=partial(ImageClassification, crop_size=224,
                                               **transform_args),
                   meta=_Meta(num_params=num_params, min_size=min_size, num_classes=1000))


def _make_divisible(v, divisor, min_value=None):
    """``v`` rounded to a multiple of ``divisor``, never below 90% of ``v``."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v
