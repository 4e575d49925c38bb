"""``torch.nn.modules.upsampling``: the upsampling layers (defined in :mod:`.padding`)."""

from .padding import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]
