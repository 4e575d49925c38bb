"""Nested containers of tensors (tuples, lists, dicts, namedtuples) flattened to a list of leaves
and rebuilt, as the function transforms need."""


class TreeSpec:
    """The structure of a nested container: its type, keys and children's specs; a leaf is
    ``TreeSpec(None, None, ())``."""

    __slots__ = ("type", "context", "children")

    def __init__(self, type_, context, children):
        self.type = type_
        self.context = context
        self.children = children

    @property
    def num_leaves(self):
        if self.type is None:
            return 1
        return sum(c.num_leaves for c in self.children)

    def __eq__(self, other):
        return (isinstance(other, TreeSpec) and self.type is other.type
                and self.context == other.context and self.children == other.children)

    def __repr__(self):
        if self.type is None:
            return "*"
        inner = ", ".join(repr(c) for c in self.children)
        return f"TreeSpec({self.type.__name__}, {self.context}, [{inner}])"


_LEAF = TreeSpec(None, None, ())


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def tree_flatten(tree):
    """Returns ``(leaves, spec)``."""
    leaves = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves):
    if isinstance(tree, (tuple, list)):
        children = tuple(_flatten(c, leaves) for c in tree)
        return TreeSpec(type(tree), None, children)
    if isinstance(tree, dict):
        keys = list(tree)
        children = tuple(_flatten(tree[k], leaves) for k in keys)
        return TreeSpec(type(tree), keys, children)
    leaves.append(tree)
    return _LEAF


def tree_unflatten(leaves, spec):
    """Rebuilds the container described by ``spec`` from ``leaves``."""
    it = iter(leaves)
    return _unflatten(it, spec)


def _unflatten(it, spec):
    if spec.type is None:
        return next(it)
    children = [_unflatten(it, c) for c in spec.children]
    if spec.type is dict or issubclass(spec.type, dict):
        return spec.type(zip(spec.context, children))
    if spec.type is tuple or spec.type is list:
        return spec.type(children)
    if issubclass(spec.type, tuple) and hasattr(spec.type, "_fields"):
        return spec.type(*children)
    return spec.type(children)


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_prefix(prefix, tree, spec=None):
    """Expand ``prefix`` (a container whose leaves apply to whole subtrees of ``tree``) to one
    value per leaf of ``tree``; None if the structures do not match."""
    out = []
    if not _broadcast(prefix, tree, out):
        return None
    return out


def _broadcast(prefix, tree, out):
    if not isinstance(prefix, (tuple, list, dict)):
        out.extend([prefix] * tree_flatten(tree)[1].num_leaves)
        return True
    if isinstance(prefix, dict):
        if not isinstance(tree, dict) or set(prefix) != set(tree):
            return False
        return all(_broadcast(prefix[k], tree[k], out) for k in tree)
    if not isinstance(tree, (tuple, list)) or len(prefix) != len(tree):
        return False
    if _is_namedtuple(prefix) != _is_namedtuple(tree) and not isinstance(prefix, (tuple, list)):
        return False
    return all(_broadcast(p, t, out) for p, t in zip(prefix, tree))
