"""``torch.utils.hooks``: the handle returned by every ``register_*_hook``."""

from ..autograd.node import _RemovableHandle as RemovableHandle  # noqa: F401
