"""VGG (Simonyan & Zisserman, "Very Deep Convolutional Networks"), as torchvision builds it."""

from typing import Any

from ... import Tensor, flatten, nn
from ._api import (
    WeightsEnum,
    _load_weights,
    _ovewrite_named_param,
    handle_legacy_interface,
    register_model,
)
from ._utils import _weights

__all__ = ["VGG", "VGG11_Weights", "VGG11_BN_Weights", "VGG16_Weights", "VGG16_BN_Weights",
           "vgg11", "vgg11_bn", "vgg16", "vgg16_bn"]


class VGG(nn.Module):
    """``features`` (convolutions), 7x7 adaptive average pooling and a three-layer classifier."""

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes))
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)  # type: ignore[arg-type]
                    nn.init.constant_(m.bias, 0)  # type: ignore[arg-type]
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        x = flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def make_layers(cfg: list[str | int], batch_norm: bool = False) -> nn.Sequential:
    """3x3 convolutions (+ BatchNorm) + ReLU for each width in ``cfg``, 2x2 max pooling for
    each ``"M"``."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))  # type: ignore[arg-type]
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))  # type: ignore[arg-type]
            layers.append(nn.ReLU(inplace=True))
            in_channels = v  # type: ignore[assignment]
    return nn.Sequential(*layers)


cfgs = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
          "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512,
          512, 512, 512, "M"],
}


def _vgg(cfg, batch_norm, weights, progress, **kwargs):
    if weights is not None:
        kwargs["init_weights"] = False
        _ovewrite_named_param(kwargs, "num_classes", weights.meta["num_classes"])
    model = VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **kwargs)
    if weights is not None:
        _load_weights(model, weights, progress)
    return model


_URL = "https://download.pytorch.org/models/"


class VGG11_Weights(WeightsEnum):
    IMAGENET1K_V1 = _weights(_URL + "vgg11-8a719046.pth", 132863336, (32, 32))
    DEFAULT = IMAGENET1K_V1


class VGG11_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _weights(_URL + "vgg11_bn-6002323d.pth", 132868840, (32, 32))
    DEFAULT = IMAGENET1K_V1


class VGG16_Weights(WeightsEnum):
    IMAGENET1K_V1 = _weights(_URL + "vgg16-397923af.pth", 138357544, (32, 32))
    # the convolutions of a Lua Torch port: BGR-like means, inputs scaled to [0, 255]; its
    # classifier is not trained
    IMAGENET1K_FEATURES = _weights(_URL + "vgg16_features-amdegroot-88682ab5.pth", 138357544,
                                   (32, 32), mean=(0.48235, 0.45882, 0.40784),
                                   std=(1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0))
    DEFAULT = IMAGENET1K_V1


class VGG16_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _weights(_URL + "vgg16_bn-6c64b313.pth", 138365992, (32, 32))
    DEFAULT = IMAGENET1K_V1


@register_model()
@handle_legacy_interface(VGG11_Weights.IMAGENET1K_V1)
def vgg11(*, weights: VGG11_Weights | None = None, progress: bool = True,
          **kwargs: Any) -> VGG:
    """VGG-11 (configuration "A") from `Very Deep Convolutional Networks for Large-Scale Image
    Recognition <https://arxiv.org/abs/1409.1556>`__.

    Args:
        weights (VGG11_Weights or str, optional): pretrained weights (read from the torch hub
            cache). Default: ``None``.
        progress (bool): report a download on stderr. Default: ``True``.
        **kwargs: passed to :class:`VGG` (``num_classes``, ``dropout`` …).
    """
    return _vgg("A", False, VGG11_Weights.verify(weights), progress, **kwargs)


@register_model()
@handle_legacy_interface(VGG11_BN_Weights.IMAGENET1K_V1)
def vgg11_bn(*, weights: VGG11_BN_Weights | None = None, progress: bool = True,
             **kwargs: Any) -> VGG:
    """VGG-11 with batch normalization. Arguments as for :func:`vgg11`."""
    return _vgg("A", True, VGG11_BN_Weights.verify(weights), progress, **kwargs)


@register_model()
@handle_legacy_interface(VGG16_Weights.IMAGENET1K_V1)
def vgg16(*, weights: VGG16_Weights | None = None, progress: bool = True,
          **kwargs: Any) -> VGG:
    """VGG-16 (configuration "D"). Arguments as for :func:`vgg11`."""
    return _vgg("D", False, VGG16_Weights.verify(weights), progress, **kwargs)


@register_model()
@handle_legacy_interface(VGG16_BN_Weights.IMAGENET1K_V1)
def vgg16_bn(*, weights: VGG16_BN_Weights | None = None, progress: bool = True,
             **kwargs: Any) -> VGG:
    """VGG-16 with batch normalization. Arguments as for :func:`vgg11`."""
    return _vgg("D", True, VGG16_BN_Weights.verify(weights), progress, **kwargs)
