"""ChannelShuffle: interleave groups of channels (ShuffleNet)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..functional import channel_shuffle
from .module import Module

if TYPE_CHECKING:
    from ..._tensor import Tensor

__all__ = ["ChannelShuffle"]


class ChannelShuffle(Module):
    """Divide the channels of :math:`(N, C, *)` into ``groups`` groups and interleave them."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
