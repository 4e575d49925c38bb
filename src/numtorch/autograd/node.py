"""Backward-graph nodes.

Each recorded operation creates one ``Node`` whose class is named exactly as PyTorch names it
(``MulBackward0``, ``AddmmBackward0``, …). ``next_functions`` holds one ``(node, input_nr)`` edge
per differentiable input, ``(None, 0)`` where no gradient is needed. A leaf that requires grad is
reached through its ``AccumulateGrad`` node.
"""

import weakref

_FREED = object()
_SAVED_FIELDS = {}  # node class -> names of the attributes its backward needs

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward.")


_INFERENCE_SAVED_MESSAGE = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
    "inference mode in computation tracked by autograd. To work around this, you can make a clone "
    "to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead of "
    "`torch.inference_mode()`.")


class Node:
    """Base class of every backward node.

    Subclasses implement ``backward(grad)`` returning one gradient (ndarray or None) per entry of
    ``next_functions``. Nodes with several outputs set ``num_outputs`` and receive a list.
    Tensors saved for backward are registered with ``save_versions`` so an in-place change is
    detected and the saved values can be freed after backward.
    """

    next_functions = ()
    num_outputs = 1
    _versions = None  # tuple of (tensor, version) while saved; _FREED once released
    _pre_hooks = None  # list of (output_nr, fn) from Tensor.register_hook on outputs
    _retained = None  # list of (output_nr, weakref to tensor) from Tensor.retain_grad
    _hooks = None  # Node.register_hook
    _node_pre_hooks = None  # Node.register_prehook
    metadata_ = None

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    @property
    def metadata(self):
        if self.metadata_ is None:
            self.metadata_ = {}
        return self.metadata_

    def save_versions(self, *tensors, output=None):
        """Remember the version of each tensor whose values this node keeps for backward.

        ``output`` is this node's own result when backward reuses it; it is held weakly so the
        graph does not keep its outputs alive.
        """
        saved = []
        for t in tensors:
            if t._is_inference:
                raise RuntimeError(_INFERENCE_SAVED_MESSAGE)
            vb = t._vbox
            if vb is None:
                vb = t._vbox = [0]
            saved.append((vb, vb[0], t))
        if output is not None:
            vb = output._vbox
            if vb is None:
                vb = output._vbox = [0]
            saved.append((vb, vb[0], weakref.ref(output)))
        self._versions = saved

    def _check_saved(self):
        versions = self._versions
        if versions is _FREED:
            raise RuntimeError(_FREED_MESSAGE)
        for vb, v, t in versions:
            now = vb[0]
            if now != v:
                if isinstance(t, weakref.ref):
                    t = t()
                kind = t.type()
                shape = list(t.shape)
                origin = (f"output {t._output_nr} of {type(t.grad_fn).__name__}"
                          if t.grad_fn is not None else "a leaf tensor")
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: [{kind} {shape}], which is {origin}, is at version {now}; "
                    f"expected version {v} instead. Hint: the backtrace further above can also "
                    "show the operation that failed to compute its gradient.")

    def _release(self):
        """Free what this node saved for backward (called unless retain_graph=True)."""
        versions = self._versions
        if versions is not None and versions is not _FREED:
            cls = type(self)
            fields = _SAVED_FIELDS.get(cls)
            if fields is None:
                fields = _SAVED_FIELDS[cls] = tuple(
                    {f for c in cls.__mro__ for f in c.__dict__.get("_saved_fields", ())})
            for name in fields:
                setattr(self, name, None)
            self._versions = _FREED

    def apply(self, grads):
        if self._versions is not None:
            self._check_saved()
        if self.num_outputs == 1:
            return self.backward(grads[0])
        return self.backward(grads)

    def backward(self, grad):
        raise NotImplementedError

    def __call__(self, *grads):
        """Run this node's backward on gradients given as tensors (as PyTorch allows)."""
        from .._tensor import Tensor
        result = self.apply([g._data if isinstance(g, Tensor) else g for g in grads])
        if not isinstance(result, tuple):
            result = (result,)
        return tuple(None if r is None else Tensor._wrap(r) for r in result)

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after this node computed its gradients."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _RemovableHandle(self._hooks, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` runs before this node computes its gradients."""
        if self._node_pre_hooks is None:
            self._node_pre_hooks = []
        self._node_pre_hooks.append(fn)
        return _RemovableHandle(self._node_pre_hooks, fn)

    def _add_tensor_pre_hook(self, output_nr, fn):
        if self._pre_hooks is None:
            self._pre_hooks = []
        entry = (output_nr, fn)
        self._pre_hooks.append(entry)
        return _RemovableHandle(self._pre_hooks, entry)


class AccumulateGrad(Node):
    """Accumulates the incoming gradient into ``variable.grad`` of a leaf tensor."""

    def __init__(self, variable):
        self.variable = variable

    def backward(self, grad):
        var = self.variable
        if var._hooks:
            for hook in var._hooks:
                out = hook(_wrap(grad))
                if out is not None:
                    grad = out._data
        data = var._data
        if grad.shape != data.shape:
            raise RuntimeError(
                f"Function AccumulateGrad returned an invalid gradient - got {list(grad.shape)} "
                f"but expected shape compatible with {list(data.shape)}")
        current = var._grad
        if current is None:
            # A copy: the incoming array may also be another leaf's gradient (x + y passes one
            # array to both), and .grad is accumulated into in place by later backwards.
            var._grad = _wrap(grad.astype(data.dtype, copy=True))
        else:
            cd = current._data
            if cd.dtype == grad.dtype or cd.dtype.kind == "f":
                cd += grad
                current._bump_version()
            else:
                current._data = cd + grad
        if var._post_acc_hooks:
            for hook in var._post_acc_hooks:
                hook(var)
        return ()


def _wrap(array):
    from .._tensor import Tensor
    return Tensor._wrap(array)


class _RemovableHandle:
    __slots__ = ("_list", "_item")

    def __init__(self, lst, item):
        self._list = lst
        self._item = item

    def remove(self):
        try:
            self._list.remove(self._item)
        except ValueError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
