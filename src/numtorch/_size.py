"""``torch.Size``: a tuple of ints that prints as PyTorch prints it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, SupportsIndex, overload


class Size(tuple[int, ...]):
    """The shape of a tensor; ``Size([6, 1, 5, 5])`` prints ``torch.Size([6, 1, 5, 5])``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    @overload
    def __getitem__(self, item: SupportsIndex) -> int: ...
    @overload
    def __getitem__(self, item: slice) -> Size: ...

    def __getitem__(self, item: SupportsIndex | slice) -> int | Size:
        if isinstance(item, slice):
            return Size(tuple.__getitem__(self, item))
        return tuple.__getitem__(self, item)

    def __add__(self, other: Iterable[int]) -> Size:  # type: ignore[override]
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other: Iterable[int]) -> Size:
        return Size(tuple(other) + tuple(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Size, (tuple(self),))
