"""``Flatten`` and ``Unflatten``: reshape a range of dimensions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .module import Module

if TYPE_CHECKING:
    from ..._size import Size
    from ..._tensor import Tensor

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    r"""Flattens dimensions ``start_dim`` .. ``end_dim`` into one (by default all but the
    batch dimension): :math:`(N, *dims) \to (N, \prod *dims)`."""

    __constants__ = ["start_dim", "end_dim"]

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    r"""Expands dimension ``dim`` into ``unflattened_size`` (a tuple or list of ints, one of
    which may be -1): :math:`(*, S_{dim}, *) \to (*, U_1, ..., U_n, *)`."""

    __constants__ = ["dim", "unflattened_size"]

    def __init__(self, dim: int, unflattened_size: Size | list[int] | tuple[int, ...]) -> None:
        super().__init__()
        if isinstance(dim, int):
            self._require_int_sequence(unflattened_size)
        else:
            raise TypeError("invalid argument type for dim parameter")
        self.dim = dim
        self.unflattened_size = unflattened_size

    @staticmethod
    def _require_int_sequence(size):
        if not isinstance(size, (tuple, list)):
            raise TypeError(
                f"unflattened_size must be tuple of ints, but found type {type(size).__name__}")
        for i, s in enumerate(size):
            if not isinstance(s, int):
                raise TypeError("unflattened_size must be tuple of ints, but found element of "
                                f"type {type(s).__name__} at pos {i}")

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
