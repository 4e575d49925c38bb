"""The backward engine: an iterative walk of the graph in dependency order.

No recursion anywhere, so a chain of any length works. Gradients flowing into a node from
several consumers are summed in arrival order, as they arrive (or, for a node that can, inside
its own backward: :func:`_apply_terms`).
"""

import threading

import numpy as np

from .. import _dtype as _dt
from .. import _tensor, _threads  # _tensor imports the core: read _tensor.Tensor at call time
from .._fperr import quiet_call
from .anomaly_mode import _AnomalyState, apply_checked
from .grad_mode import enable_grad
from .node import AccumulateGrad


def _collect_dependencies(roots):
    """Count, for every node reachable from ``roots``, how many edges point at it."""
    deps = {}
    stack = [n for n in roots if n is not None]
    roots = set(stack)
    while stack:
        for nxt, _ in stack.pop().next_functions:
            if nxt is None:
                continue
            if nxt in deps:
                deps[nxt] += 1
            else:  # first edge into nxt: walk on from it (a root is walked already)
                deps[nxt] = 1
                if nxt not in roots:
                    stack.append(nxt)
    return deps


def _make_root_grads(tensors, grad_tensors, what, graph=False):
    Tensor = _tensor.Tensor
    grads = []
    for t, g in zip(tensors, grad_tensors):
        if g is None:
            data = t._data
            if data.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar {what}")
            if data.dtype.kind not in "fc" and data.dtype != _dt._BF16_NP:
                raise RuntimeError("grad can be implicitly created only for real scalar outputs")
            ones = np.ones(data.shape, dtype=data.dtype)
            grads.append(_wrap(ones) if graph else ones)
        else:
            gd = g._data if isinstance(g, Tensor) else np.asarray(g, dtype=t._data.dtype)
            if gd.shape != t._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {_size(gd.shape)} and "
                    f"output[0] has a shape of {_size(t._data.shape)}.")
            if graph:
                gd = g if isinstance(g, Tensor) else Tensor._wrap(gd)
            grads.append(gd)
    return grads


def _size(shape):
    return f"torch.Size({list(shape)})"


def run_backward(tensors, grad_tensors, retain_graph, inputs=None, capture=False,
                 allow_unused=False, create_graph=False):
    """Propagate gradients from ``tensors``.

    With ``capture`` (``autograd.grad``) the gradients reaching ``inputs`` are returned instead
    of being accumulated into ``.grad``. With ``create_graph`` the gradients are Tensors and
    every node runs its formula on them with grad mode on, so the backward pass is recorded.
    """
    for t in tensors:
        if not t._requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn")
    # inf/nan in a gradient is a value, as in PyTorch (sqrt'(0), log'(0)): NumPy stays quiet.
    if create_graph:
        with enable_grad():
            return quiet_call(_run, tensors, grad_tensors, retain_graph, inputs, capture,
                              allow_unused, True)
    return quiet_call(_run, tensors, grad_tensors, retain_graph, inputs, capture, allow_unused,
                      False)


def _run(tensors, grad_tensors, retain_graph, inputs, capture, allow_unused, graph):
    plain = not (graph or inputs is not None or _AnomalyState.enabled)
    before = getattr(_background, "on", False)
    _background.on = plain
    try:
        return _walk(tensors, grad_tensors, retain_graph, inputs, capture, allow_unused, graph)
    finally:
        _background.on = before


#: ``on``: whether node formulas running on this thread may hand a leaf's gradient to a helper
#: thread (:class:`Background`): only while this thread's engine runs a plain backward (no
#: ``create_graph``, ``autograd.grad`` inputs or anomaly mode), which waits for them before it
#: returns. Per thread, so a backward on another thread never lends its setting.
_background = threading.local()


def background_allowed():
    """Whether a node's backward may return a :class:`Background` gradient now."""
    return getattr(_background, "on", False)


def _walk(tensors, grad_tensors, retain_graph, inputs, capture, allow_unused, graph):
    root_grads = _make_root_grads(tensors, grad_tensors, "outputs", graph)

    pending = {}
    roots = []
    for t, g in zip(tensors, root_grads):
        if t._base is not None and t.grad_fn is not None:
            t._edge()  # a view whose base changed in place since: regenerate its history
        node = t.grad_fn if t.grad_fn is not None else t._grad_accumulator()
        nr = t._output_nr
        buf = pending.get(node)
        if buf is None:
            buf = pending[node] = [None] * node.num_outputs
            roots.append(node)
        buf[nr] = g if buf[nr] is None else buf[nr] + g

    # For autograd.grad: where to catch gradients, and which AccumulateGrad nodes to skip.
    targets = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            if t._base is not None and t.grad_fn is not None:
                t._edge()
            if t.grad_fn is not None:
                targets.setdefault((t.grad_fn, t._output_nr), []).append(i)
            elif t._requires_grad:
                targets.setdefault((t._grad_accumulator(), 0), []).append(i)
            else:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
    captured = [None] * (len(inputs) if inputs is not None else 0)

    deps = _collect_dependencies(roots)
    ready = [n for n in roots if deps.get(n, 0) == 0]
    summed = set()  # nodes given _Terms or a Deferred (see _apply_terms)
    plain = not (graph or targets or _AnomalyState.enabled)
    later = []  # AccumulateGrad nodes waiting for a Background gradient (see Background)
    while ready or later:
        if not ready:
            ready.append(later.pop(0))
        node = ready.pop()
        if node.__class__ is AccumulateGrad:
            g = pending[node][0]
            if g.__class__ is Background:
                if ready and not g.done() and not _hooked(node):
                    later.append(node)  # the helper computes it while the walk goes on
                    continue
                pending[node][0] = g.resolve()
            g = None
        grads = pending.pop(node)
        if node._pre_hooks or node._retained or node._node_pre_hooks:
            if summed and node in summed:
                _fold(grads)  # (the hooks see the sum)
            grads = _run_pre_hooks(node, grads, graph)
        if targets:
            for nr in range(node.num_outputs):
                hit = targets.get((node, nr))
                if hit is not None:
                    for i in hit:
                        captured[i] = grads[nr]
        if capture and node.__class__ is AccumulateGrad:
            results = ()
        else:
            if _AnomalyState.enabled:
                results = apply_checked(node, grads, graph)
            elif graph:
                results = node.apply_graph(grads)
            elif node.__class__ is AccumulateGrad:
                results = node.accumulate(grads)  # may keep an unshared gradient as .grad
            elif node._backward_into is not None and plain and not node._hooks:
                results = _apply_into(node, grads, deps, pending, summed)
            elif summed and node in summed:
                results = _apply_terms(node, grads)
            else:
                results = node.apply(grads)
            if results.__class__ is not tuple:
                results = (results,)
            if node._hooks:
                if not graph:
                    results = tuple(r.resolve() if r.__class__ is Background else r
                                    for r in results)
                wrap = _same if graph else _maybe_wrap
                for fn in tuple(node._hooks.values()):
                    fn(tuple(wrap(r) for r in results), tuple(wrap(g) for g in grads))
            if not retain_graph and node._versions is not None:
                node._release()
        for (nxt, nr), g in zip(node.next_functions, results):
            if nxt is None:
                continue
            if g is not None:
                buf = pending.get(nxt)
                if g.__class__ is Background and (buf is not None
                                                  or nxt.__class__ is not AccumulateGrad):
                    g = g.resolve()  # (only a leaf's first gradient waits for its helper)
                if buf is not None and buf[nr].__class__ is Background:
                    buf[nr] = buf[nr].resolve()
                if buf is None:
                    buf = pending[nxt] = [None] * nxt.num_outputs
                    buf[nr] = g
                elif buf[nr] is None:
                    buf[nr] = g
                elif nxt._backward_sum is None or not plain:
                    buf[nr] = buf[nr] + g
                elif buf[nr].__class__ is _Terms:
                    buf[nr].append(g)
                else:
                    buf[nr] = _Terms((buf[nr], g))
                    summed.add(nxt)
            left = deps[nxt] - 1
            deps[nxt] = left
            if left == 0:
                if nxt in pending:
                    ready.append(nxt)
                else:
                    _skip(nxt, deps, pending, ready)
        # hold no gradient past its node: AccumulateGrad.accumulate counts the references
        results = g = grads = None
    if inputs is not None:
        if not allow_unused:
            for g in captured:
                if g is None:
                    raise RuntimeError(
                        "One of the differentiated Tensors appears to not have been used in the "
                        "graph. Set allow_unused=True if this is the desired behavior.")
        return captured
    return None


class _Terms(list):
    """The gradients that several consumers sent to one output of a node, in arrival order,
    summed when the node runs (:func:`_apply_terms`)."""

    __slots__ = ()


class Deferred:
    """A gradient whose last step a node left to the node that receives it (see
    :func:`_apply_into`): ``backward(node)`` gives that node's results from it, or None;
    ``resolve()`` gives the gradient itself."""

    __slots__ = ()

    def backward(self, node):
        return None

    def resolve(self):
        raise NotImplementedError


class Background(Deferred):
    """A leaf's gradient that a helper thread computes (``numtorch._threads.Background``)
    while the engine walks on: a convolution's weight gradient, say, overlapping the batch norm
    and ReLU backwards that run on one thread. Sent only to an ``AccumulateGrad`` node, which
    the engine runs once the gradient is done, or when nothing else is ready; anything else
    gets it resolved first. The values are those of the computation done in place."""

    __slots__ = ("task",)

    def __init__(self, fn):
        self.task = _threads.Background(fn)

    def done(self):
        return self.task.done()

    def resolve(self):
        return self.task.result()


def _hooked(node):
    """Whether anything observes when this AccumulateGrad node runs (hooks on the node or its
    leaf): it then runs in its place in the walk."""
    var = node.variable
    return bool(node._pre_hooks or node._retained or node._node_pre_hooks or node._hooks
                or var._hooks or var._post_acc_hooks)


def _apply_into(node, grads, deps, pending, summed):
    """``node.apply(grads)``, or, for a node whose class may leave its work to the next node
    (``Node._backward_into``: a ReLU to the batch norm that made its input, which recomputes
    the mask instead of reading the ReLU's saved result), the :class:`Deferred` it sends
    there. Only in a plain backward, only to a node that this edge alone sends a gradient to
    and that has no hooks: that node then runs next, through :func:`_apply_terms`."""
    edges = node.next_functions
    nxt = edges[0][0] if len(edges) == 1 else None
    # (the node's own refusal first: it is the cheap test, and the usual answer)
    later = None if nxt is None else node.__class__._backward_into(node, nxt, grads)
    if (later is not None and deps[nxt] == 1 and nxt not in pending and not nxt._hooks
            and not (nxt._pre_hooks or nxt._retained or nxt._node_pre_hooks)):
        if node._versions is not None:
            node._check_saved()  # (as apply would: before anything uses the saved values)
        summed.add(nxt)
        return (later,)
    if summed and node in summed:
        return _apply_terms(node, grads)
    return node.apply(grads)


def _apply_terms(node, grads):
    """``node.apply(grads)`` for a node whose class can compute its backward from the
    gradients several consumers sent to its output, unsummed (``Node._backward_sum``, e.g.
    ReLU adding two inside its own pass). Only such nodes get ``_Terms``, and only in a plain
    backward (no ``create_graph``, ``autograd.grad`` inputs or anomaly mode). The terms go to
    ``_backward_sum`` when nothing else looks at their sum (no node hooks; tensor hooks and
    ``retain_grad`` have summed them already); otherwise, or where it declines, they are
    summed in arrival order (``(a + b) + c``, as the engine sums other nodes' gradients)."""
    terms = grads[0]
    if len(grads) == 1 and not node._hooks:
        if terms.__class__ is _Terms:
            if node._versions is not None:
                node._check_saved()
            results = node.__class__._backward_sum(node, terms)
            if results is not None:
                return results
        elif isinstance(terms, Deferred):
            if node._versions is not None:
                node._check_saved()
            results = terms.backward(node)
            if results is not None:
                return results
    _fold(grads)
    return node.apply(grads)


def _fold(grads):
    """Each ``_Terms`` in ``grads`` summed in place, in arrival order."""
    for i, terms in enumerate(grads):
        if terms.__class__ is _Terms:
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            grads[i] = total
        elif isinstance(terms, Deferred):
            grads[i] = terms.resolve()


def _run_pre_hooks(node, grads, graph):
    """Tensor hooks, retain_grad and node pre-hooks on the gradients flowing into ``node``."""
    wrap, unwrap = (_same, _same) if graph else (_maybe_wrap, _data)
    if node._pre_hooks:
        for nr, fn in tuple(node._pre_hooks.values()):
            if grads[nr] is not None:
                out = fn(wrap(grads[nr]))
                if out is not None:
                    grads[nr] = unwrap(out)
    if node._retained:
        for nr, ref in node._retained:
            t = ref()
            g = grads[nr]
            if t is not None and g is not None:
                if graph:
                    t._grad = g if t._grad is None else t._grad + g
                elif t._grad is None:
                    t._grad = _wrap(g.copy())
                else:
                    t._grad._data = t._grad._data + g
    if node._node_pre_hooks:
        for fn in tuple(node._node_pre_hooks.values()):
            out = fn(tuple(wrap(g) for g in grads))
            if out is not None:
                grads = [None if g is None else unwrap(g) for g in out]
    return grads


def _skip(node, deps, pending, ready):
    """A node that received no gradient at all: release its dependents without running it."""
    stack = [node]
    while stack:
        n = stack.pop()
        for nxt, _ in n.next_functions:
            if nxt is None:
                continue
            left = deps[nxt] - 1
            deps[nxt] = left
            if left == 0:
                if nxt in pending:
                    ready.append(nxt)
                else:
                    stack.append(nxt)


def _wrap(array):
    Tensor = _tensor.Tensor
    return Tensor._wrap(array)


def _maybe_wrap(array):
    return None if array is None else _wrap(array)


def _same(x):
    return x


def _data(t):
    return t._data
