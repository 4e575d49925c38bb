"""``torch.autograd.graph``: the node type as users import it."""

from .node import Node  # noqa: F401
