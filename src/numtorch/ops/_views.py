"""In-place changes and views under autograd: PyTorch's rebase of a base's history.

A view shares its base's memory and version counter. When an op changes the view in place
while gradients are recorded, the base's values change too, so the base's history becomes a
``CopySlices`` node: its gradient is the incoming gradient with the view's region replaced by
what the in-place op's own node sends back for the view's old value (and the op's other inputs
get their gradients from that node). The view's history becomes ``AsStridedBackward0`` of the
base's new history.

Any other view of the same base whose history is older than the base's latest in-place change
(the shared version counter moved on) gets the same ``AsStridedBackward0`` history the next time
it is used in a recorded op (``Tensor._edge``), as PyTorch regenerates it.
"""

import numpy as np

from ..autograd.node import _FREED, Node


def view_index(view, base):
    """For each element of ``view``, its flat (C-order) index into ``base``."""
    b, v = base._data, view._data
    if b.itemsize != v.itemsize:
        raise RuntimeError(
            "numtorch cannot rebase the history of a tensor after an in-place change of a view "
            "with another element type (view_as_real, .real, .imag) while gradients are "
            "recorded; change a .clone() of it instead.")
    item = b.itemsize
    delta = (v.__array_interface__["data"][0] - b.__array_interface__["data"][0]) // item
    v_off = _offsets(v) + delta
    if b.flags.c_contiguous:
        flat = v_off
        if flat.size and (flat.min() < 0 or flat.max() >= b.size):
            raise RuntimeError("numtorch: a view lies outside its base's memory")
        return flat
    b_off = _offsets(b).ravel()
    order = np.argsort(b_off, kind="stable")
    sorted_off = b_off[order]
    pos = np.searchsorted(sorted_off, v_off.ravel())
    pos = np.minimum(pos, max(len(sorted_off) - 1, 0))
    if v_off.size and np.any(sorted_off[pos] != v_off.ravel()):
        raise RuntimeError("numtorch: a view lies outside its base's memory")
    return order[pos].reshape(v.shape)


def _offsets(a):
    off = np.zeros(a.shape, dtype=np.int64)
    for d, (n, s) in enumerate(zip(a.shape, a.strides)):
        shape = [1] * a.ndim
        shape[d] = n
        off = off + (np.arange(n, dtype=np.int64) * (s // a.itemsize)).reshape(shape)
    return off


class AsStridedBackward0(Node):
    """A view recomputed from its base: the gradient is scattered into the base's shape."""

    _holomorphic = False  # a scatter: the same for real and complex gradients

    def backward(self, g):
        out = np.zeros(self.base_size, dtype=g.dtype)
        if self.unique:
            out[self.index.ravel()] = g.ravel()
        else:
            np.add.at(out, self.index.ravel(), g.ravel())
        return (out.reshape(self.base_shape),)


class CopySlices(Node):
    """The base's history after an in-place op on one of its views."""

    _holomorphic = False  # the wrapped node applies the complex convention itself

    def backward(self, g):
        flat = g.reshape(-1)
        index = self.index.ravel()
        res = self.inner.apply([flat[index].reshape(self.index.shape)])
        if res.__class__ is not tuple:
            res = (res,)
        base_grad = None
        if self.next_functions[0][0] is not None:
            base_grad = flat.copy()
            if res[0] is None:
                base_grad[index] = 0
            else:
                r = res[0]
                base_grad[index] = (r.real if r.dtype.kind == "c" and base_grad.dtype.kind != "c"
                                    else r).ravel()
            base_grad = base_grad.reshape(g.shape)
        return (base_grad,) + tuple(res[1:])

    def _release(self):
        inner = self.inner
        if inner._versions is not None and inner._versions is not _FREED:
            inner._release()
        self._versions = _FREED


def _as_strided_node(base_edge, index, base_shape):
    node = AsStridedBackward0()
    node.next_functions = (base_edge,)
    node.index = index
    node.base_shape = base_shape
    node.base_size = int(np.prod(base_shape))
    node.unique = np.unique(index).size == index.size
    return node


def rebase_view(view, inner):
    """``view`` was just changed in place by the op recorded as ``inner`` (whose first input is
    the view's old value): rebase its base's history and its own."""
    base = view._base
    index = view_index(view, base)
    node = CopySlices()
    node.inner = inner
    node.index = index
    node.next_functions = (base._edge(),) + tuple(inner.next_functions[1:])
    node._versions = []  # so the engine releases what the inner node saved
    base.grad_fn = node
    base._requires_grad = True
    base._output_nr = 0
    view.grad_fn = _as_strided_node((node, 0), index, base._data.shape)
    view._requires_grad = True
    view._output_nr = 0
    view._view_version = view._vbox[0]


def regenerate(view):
    """Give ``view`` (whose base changed in place since its history was recorded) the history
    ``AsStridedBackward0(base)``."""
    base = view._base
    edge = base._edge()
    view._view_version = view._vbox[0]
    if edge[0] is None:
        return
    view.grad_fn = _as_strided_node(edge, view_index(view, base), base._data.shape)
    view._output_nr = 0
