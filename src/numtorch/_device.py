"""``torch.device``. Only the CPU exists; asking for another device fails clearly."""


class device:
    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        type = str(type)
        if ":" in type:
            type, idx = type.split(":", 1)
            index = int(idx)
        if type not in ("cpu", "cuda", "mps", "meta"):
            raise RuntimeError(
                "Expected one of cpu, cuda, mps, meta device type at start of device string: "
                f"{type}")
        self.type = type
        self.index = index

    def __repr__(self):
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))


CPU = device("cpu")


def check_device(d):
    """Return the CPU device, or raise PyTorch's error for an unavailable device."""
    if d is None:
        return CPU
    d = d if isinstance(d, device) else device(d)
    if d.type != "cpu":
        raise RuntimeError(
            f"Device '{d}' is not available: numtorch runs on the CPU only "
            "(torch.cuda.is_available() is False). Use device='cpu'.")
    return CPU
