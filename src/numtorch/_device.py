"""``torch.device``. Only the CPU exists; asking for another device fails clearly."""

from __future__ import annotations


class device:
    __slots__ = ("type", "index")

    def __init__(self, type: str | int | device = "cpu", index: int | None = None) -> None:
        if isinstance(type, device):
            index = type.index
            type = type.type
        type = str(type)
        if ":" in type:
            type, idx = type.split(":", 1)
            index = int(idx)
        if type not in ("cpu", "cuda", "mps", "meta"):
            raise RuntimeError(
                "Expected one of cpu, cuda, mps, meta device type at start of device string: "
                f"{type}")
        self.type: str = type
        self.index: int | None = index

    def __repr__(self) -> str:
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def check_device(d: device | str | int | None) -> device:
    """Return the CPU device, or raise PyTorch's error for an unavailable device."""
    if d is None:
        return CPU
    d = d if isinstance(d, device) else device(d)
    if d.type != "cpu":
        raise RuntimeError(
            f"Device '{d}' is not available: numtorch runs on the CPU only "
            "(torch.cuda.is_available() is False). Use device='cpu'.")
    return CPU
