"""Backward-graph nodes.

Each recorded operation creates one ``Node`` whose class is named exactly as PyTorch names it
(``MulBackward0``, ``AddmmBackward0``, …). ``next_functions`` holds one ``(node, input_nr)`` edge
per differentiable input, ``(None, 0)`` where no gradient is needed. A leaf that requires grad is
reached through its ``AccumulateGrad`` node, which the leaf holds only weakly.

A node runs in one of two modes. ``apply`` (plain backward) hands its formula ndarrays and the
saved ndarrays. ``apply_graph`` (``create_graph=True``) hands the same formula Tensors, and the
saved values as Tensors that keep their place in the forward graph, so the gradient it computes
is itself recorded and can be differentiated again.
"""

import sys
import weakref
from collections import OrderedDict

from numpy import ndarray as _ndarray

from .. import _tensor  # _tensor imports the core: read _tensor.Tensor at call time
from .._dtype import _BY_NUMPY
from ..utils.hooks import RemovableHandle
from .grad_mode import _GradState

_FREED = object()
# node class -> names of the attributes its backward needs
_SAVED_FIELDS: dict[type, tuple[str, ...]] = {}

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

    Subclasses implement ``backward(grad)`` returning one gradient per entry of
    ``next_functions``. Nodes with several outputs set ``num_outputs`` and receive a list.
    Nodes made by an op declaration (``ops/_registry.py``) list their saved values in
    ``_saves`` and write ``backward`` with operations that work on ndarrays and on Tensors alike
    (``_differentiable = True``); older hand-written nodes keep arrays in ``_saved_fields`` and
    call ``save_versions``.
    """

    next_functions = ()
    num_outputs = 1
    _versions = None  # list of (version box, version, tensor or weakref, slot name) while saved
    _pre_hooks = None  # {handle id: (output_nr, fn)} from Tensor.register_hook on outputs
    _retained = None  # list of (output_nr, weakref to tensor) from Tensor.retain_grad
    _hooks = None  # {handle id: fn} from Node.register_hook
    _node_pre_hooks = None  # {handle id: fn} from Node.register_prehook
    metadata_ = None
    _saves = ()  # declared saved slots (op declarations)
    _slot_src = None  # slot name -> input index, ("out", k), ("aux", k), or None (private)
    _differentiable = False  # backward is made of ops that also run on Tensors
    # The formula is g * f'(inputs) for a function holomorphic in its inputs (or C-linear).
    # Given a complex gradient, such a node runs as conj(formula(conj(g))) = g * conj(f'),
    # PyTorch's convention for complex gradients; other nodes (abs, angle, conj, sgn, ...)
    # set False and write the convention into their formula.
    _holomorphic = True
    # ``_backward_sum(node, terms)``: the results of backward from the list of gradients that
    # several consumers sent to the node's only output, unsummed (real arrays; ``apply``'s
    # complex convention is not applied), or None to be given their sum (see
    # ``engine._apply_terms``); None: the engine sums them as they arrive.
    _backward_sum = None
    # ``_backward_into(node, nxt, grads)``: for a node whose only edge leads to ``nxt``, an
    # ``engine.Deferred`` standing for its result that ``nxt``'s backward finishes, or None to
    # run as usual (see ``engine._apply_into``).
    _backward_into = None

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    @property
    def metadata(self):
        if self.metadata_ is None:
            self.metadata_ = {}
        return self.metadata_

    def needs(self, i):
        """Whether input ``i`` of the recorded op needs a gradient."""
        return self.next_functions[i][0] is not None

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
            saved.append((vb, vb[0], t, None))
        if output is not None:
            vb = output._vbox
            if vb is None:
                vb = output._vbox = [0]
            saved.append((vb, vb[0], weakref.ref(output), None))
        self._versions = saved

    def _check_saved(self):
        versions = self._versions
        if versions is _FREED:
            raise RuntimeError(_FREED_MESSAGE)
        for vb, v, t, _ in versions:
            now = vb[0]
            if now != v:
                if isinstance(t, weakref.ref):
                    t = t()
                if t is None:
                    raise RuntimeError(
                        "one of the variables needed for gradient computation has been modified "
                        f"by an inplace operation: it is at version {now}; expected version {v} "
                        "instead.")
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
                    {f for c in cls.__mro__ for f in c.__dict__.get("_saved_fields", ())}
                    | set(cls._saves))
            d = self.__dict__
            for name in fields:
                if name in d:
                    d[name] = None
            self._versions = _FREED

    def apply(self, grads):
        if self._versions is not None:
            self._check_saved()
        if self.num_outputs == 1:
            g = grads[0]
            if g is not None and g.dtype.kind == "c" and self._holomorphic:
                return _conj_all(self.backward(g.conj()))
            return self.backward(g)
        if self._holomorphic and any(g is not None and g.dtype.kind == "c" for g in grads):
            return _conj_all(self.backward([None if g is None else g.conj() for g in grads]))
        return self.backward(grads)

    def apply_graph(self, grads):
        """Backward on Tensors (``create_graph=True``): the gradient computation is recorded."""
        if self._versions is not None:
            self._check_saved()
        if not self._differentiable:
            return _not_differentiable_twice(self, grads)
        ctx = _GraphCtx(self)
        if self._holomorphic and any(g is not None and g._data.dtype.kind == "c" for g in grads):
            grads = [None if g is None else g.conj() for g in grads]
            return _conj_all(type(self).backward(ctx, grads[0] if self.num_outputs == 1
                                                 else grads))
        return type(self).backward(ctx, grads[0] if self.num_outputs == 1 else grads)

    def _unpack(self, name):
        """A saved slot as a Tensor in its place in the graph (for ``apply_graph``)."""
        Tensor = _tensor.Tensor
        arr = self.__dict__.get(name)
        if arr is None or arr.__class__ is Tensor:
            return arr
        spec = self._slot_src.get(name)
        entry = None
        if spec is not None and self._versions:
            for e in self._versions:
                if e[3] == name:
                    entry = e
                    break
        if entry is None:
            return Tensor._wrap(arr)  # a private array or a number: a constant
        vb, _, src, _ = entry
        if spec.__class__ is int:
            if src._data is arr:
                return src
            if src._data.shape == arr.shape:
                return src.to(_BY_NUMPY[arr.dtype])
            if src._data.size == arr.size and src._data.dtype == arr.dtype:
                return src.reshape(arr.shape)  # saved as a reshaped view of the input
            raise RuntimeError(
                f"{type(self).__name__}: saved value {name!r} is not its input as recorded")
        if spec[0] == "aux":
            if src._data is arr:
                return src
            out = Tensor._wrap(arr)
            out._vbox = vb
            return out
        out = Tensor._wrap(arr)
        out._vbox = vb
        if arr.dtype.kind in "fc":
            out._requires_grad = True
            out.grad_fn = self
            out._output_nr = spec[1]
        return out

    def backward(self, grad):
        raise NotImplementedError

    def __call__(self, *grads):
        """Run this node's backward on gradients given as tensors (as PyTorch allows)."""
        Tensor = _tensor.Tensor
        result = self.apply([g._data if isinstance(g, Tensor) else g for g in grads])
        if not isinstance(result, tuple):
            result = (result,)
        return tuple(None if r is None else Tensor._wrap(r) for r in result)

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after this node computed its gradients."""
        if self._hooks is None:
            self._hooks = OrderedDict()
        handle = RemovableHandle(self._hooks)
        self._hooks[handle.id] = fn
        return handle

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` runs before this node computes its gradients."""
        if self._node_pre_hooks is None:
            self._node_pre_hooks = OrderedDict()
        handle = RemovableHandle(self._node_pre_hooks)
        self._node_pre_hooks[handle.id] = fn
        return handle

    def _add_tensor_pre_hook(self, output_nr, fn):
        if self._pre_hooks is None:
            self._pre_hooks = OrderedDict()
        handle = RemovableHandle(self._pre_hooks)
        self._pre_hooks[handle.id] = (output_nr, fn)
        return handle


def _conj_all(results):
    """Conjugate the complex gradients a formula returned (see ``Node._holomorphic``)."""
    if results.__class__ is not tuple:
        results = (results,)
    out = []
    for r in results:
        if r is not None:
            d = getattr(r, "_data", r)
            if d.dtype.kind == "c":
                r = r.conj()
        out.append(r)
    return tuple(out)


class _GraphCtx:
    """What a backward formula sees as ``ctx`` under ``create_graph``: saved slots as Tensors,
    everything else read from the node."""

    __slots__ = ("_node",)

    def __init__(self, node):
        self._node = node

    def __getattr__(self, name):
        node = self._node
        src = node._slot_src
        if src is not None and name in src:
            return node._unpack(name)
        return getattr(node, name)


class DelayedError(Node):
    """Stands for the gradient of a node whose backward is not written with differentiable
    ops: differentiating through it raises."""

    def __init__(self, what, n):
        self.what = what
        self.num_outputs = n

    def backward(self, grads):
        raise RuntimeError(
            f"the derivative of {self.what} is not implemented with differentiable operations "
            "in numtorch, so its gradient (create_graph=True) cannot be differentiated again")


def _not_differentiable_twice(node, grads):
    Tensor = _tensor.Tensor
    res = node.apply([None if g is None else g._data for g in grads])
    if res.__class__ is not tuple:
        res = (res,)
    edges = [g._edge() for g in grads if g is not None and g._requires_grad]
    edges += [e for e in node.next_functions if e[0] is not None]
    if not edges or not _GradState.enabled:
        return tuple(None if r is None else Tensor._wrap(r) for r in res)
    err = DelayedError(type(node).__name__, len(res))
    err.next_functions = tuple(edges)
    out = []
    for i, r in enumerate(res):
        if r is None:
            out.append(None)
            continue
        t = Tensor._wrap(r)
        if r.dtype.kind in "fc":
            t._requires_grad = True
            t.grad_fn = err
            t._output_nr = i
        out.append(t)
    return tuple(out)


class CopyBackwards(Node):
    """The copy PyTorch makes of the first gradient accumulated under ``create_graph``."""

    _differentiable = True

    def backward(self, g):
        return (g,)


class AccumulateGrad(Node):
    """Accumulates the incoming gradient into ``variable.grad`` of a leaf tensor."""

    _holomorphic = False

    def __init__(self, variable):
        self.variable = variable

    def backward(self, grad):
        var = self.variable
        if var._hooks:
            for hook in tuple(var._hooks.values()):
                out = hook(_wrap(grad))
                if out is not None:
                    grad = out._data
        data = var._data
        if grad.dtype.kind == "c" and data.dtype.kind != "c":
            grad = grad.real  # a real leaf of a complex computation, as in PyTorch
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
            for hook in tuple(var._post_acc_hooks.values()):
                hook(var)
        return ()

    def accumulate(self, grads):
        """``backward(grads[0])`` for the engine, whose list ``grads`` holds its only reference
        to the gradient: a gradient that nothing else references (a fresh product or sum, not
        a view of a shared buffer nor another leaf's gradient), in the leaf's dtype and strides,
        becomes ``.grad`` without the copy (PyTorch steals such a gradient too)."""
        var = self.variable
        if var._grad is None and not var._hooks and _STEAL:
            grad = grads[0]
            data = var._data
            # references to grad: the list, the name ``grad`` and getrefcount's argument
            if (grad.__class__ is _ndarray and _refs(grad) == 3 and grad.shape == data.shape
                    and grad.dtype == data.dtype and grad.strides == data.strides
                    and grad.flags.writeable):
                base = grad.base
                if base is None or (base.__class__ is _ndarray and base.nbytes == grad.nbytes
                                    and _refs(base) == 3):  # the view's, ``base``'s, the arg's
                    del base
                    var._grad = _wrap(grad)
                    if var._post_acc_hooks:
                        for hook in tuple(var._post_acc_hooks.values()):
                            hook(var)
                    return ()
        return self.backward(grads[0])

    def apply_graph(self, grads):
        """``create_graph``: ``.grad`` becomes a Tensor with history, as in PyTorch."""
        grad = grads[0]
        var = self.variable
        if var._hooks:
            for hook in tuple(var._hooks.values()):
                out = hook(grad)
                if out is not None:
                    grad = out
        data = var._data
        if grad._data.dtype.kind == "c" and data.dtype.kind != "c":
            grad = grad.real
        if grad._data.shape != data.shape:
            raise RuntimeError(
                f"Function AccumulateGrad returned an invalid gradient - got "
                f"{list(grad._data.shape)} but expected shape compatible with {list(data.shape)}")
        current = var._grad
        if current is None:
            new = _wrap(grad._data.astype(data.dtype, copy=True))
            if grad._requires_grad:
                node = CopyBackwards()
                node.next_functions = (grad._edge(),)
                new._requires_grad = True
                new.grad_fn = node
            var._grad = new
        else:
            var._grad = current + grad
        if var._post_acc_hooks:
            for hook in tuple(var._post_acc_hooks.values()):
                hook(var)
        return ()


def _wrap(array):
    Tensor = _tensor.Tensor
    return Tensor._wrap(array)


_refs = sys.getrefcount
# Reference counts say who else holds an array only where every holder counts one: CPython up to
# 3.13 (3.14 may borrow references on the stack, which would make a shared array look unshared).
_STEAL = sys.implementation.name == "cpython" and sys.version_info < (3, 14)
