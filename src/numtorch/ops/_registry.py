"""The one way to define a differentiable op: declare its node, record through it.

An op is a plain function (argument checks, dtype promotion, the array kernel) that ends with
``SomeBackward0.record(result, inputs, saved, **attrs)``. The node class is declared once with
:func:`formula`, from its backward formula and the names of what it saves; ``record`` is the
only place that checks grad mode, registers saved values for the in-place version check,
builds the edges and wraps the output. The formula is written with operators and the helpers
of ``ops/_formulas.py``, so the same text runs on ndarrays (plain backward) and on Tensors
(``create_graph=True``, which records the backward pass). :func:`op` declares the public names
of an op function (``numtorch.*`` export, Tensor methods, in-place variants); ``OPS`` and
``NODES`` list every declaration (docs, the registry test).

See docs/internals.md, "Defining an op".
"""

import weakref

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import _GradState
from ..autograd.node import _INFERENCE_SAVED_MESSAGE, Node

_new = object.__new__
_wrap = Tensor._wrap
_NO_EDGE = (None, 0)

NODES: "dict[str, type[OpNode]]" = {}  # node class name -> class
OPS: "list[OpInfo]" = []  # OpInfo of every declared op function, in declaration order


def out(k=0):
    """Saved-slot source: output ``k`` of the op (held weakly; version-checked)."""
    return ("out", k)


OUT = out(0)


def aux(k=0):
    """Saved-slot source: Tensor ``k`` of ``record``'s ``aux`` argument, an operand that gets no
    gradient (an index, a mask, a condition) but whose in-place change must be detected."""
    return ("aux", k)


class OpNode(Node):
    """Base of declared nodes; ``record`` (made by :func:`formula`) is the op's single
    recording step."""

    _differentiable = True
    _plan = ()  # ((slot name, source), ...) in the order ``record`` receives saved values
    _attrs = ()  # names of the non-array values, in the order ``record`` receives them


_RECORD_DOC = """Wrap ``result`` (an ndarray, or a tuple of them for a multi-output node) as the
op's output, recording this node when grad mode is on and an input requires grad.

``inputs``: the op's Tensor inputs in edge order (None for a non-Tensor operand).
``saved``: one value per declared slot, in declaration order (None: not needed this time), or
``()`` when nothing is saved. ``attrs``: one value per declared attribute (shapes, numbers,
flags the formula reads). ``aux``: Tensors without an edge that ``aux(k)`` slots come from.
"""


def _record_source(cls):
    """Source of ``cls.record``, specialised to its saved slots and attributes (the one
    recording step, written out per node so it costs no more than hand-written code)."""
    single = cls.num_outputs == 1
    lines = [
        "def record(result, inputs, saved=(), attrs=(), aux=()):",
        "    if _GradState.enabled:",
        "        for t in inputs:",
        "            if t is not None and t._requires_grad:",
        "                break",
        "        else:",
        "            t = None",
        "    else:",
        "        t = None",
        "    if t is None:",
    ]
    if single:
        lines += [
            "        if result.__class__ is not ndarray:",
            "            result = asarray(result)",
            "        res = _new(Tensor)",
            "        res._data = result",
            "        if _GradState.inference:",
            "            res._is_inference = True",
            "        return res",
        ]
    else:
        lines.append("        return tuple([_wrap(r) for r in result])")
    lines += [
        "    node = _new(cls)",
        "    n = len(inputs)",
        "    if n == 1:",
        "        node.next_functions = (t._edge(),)",
        "    elif n == 2:",
        "        a, b = inputs",
        "        node.next_functions = (_NO_EDGE if a is None else a._edge(),",
        "                               _NO_EDGE if b is None else b._edge())",
        "    else:",
        "        node.next_functions = tuple([_NO_EDGE if t is None else t._edge()",
        "                                     for t in inputs])",
    ]
    if single:
        lines += [
            "    if result.__class__ is not ndarray:",
            "        result = asarray(result)",
            "    res = outs = _new(Tensor)",
            "    res._data = result",
            "    res._requires_grad = True",
            "    res.grad_fn = node",
        ]
    else:
        lines += ["    res = outs = _wrap_outputs(result, node)"]
        if cls.num_outputs is None:
            lines += ["    node.num_outputs = len(outs)"]
    if cls._attrs:
        targets = ", ".join(f"node.{a}" for a in cls._attrs)
        lines.append(f"    {targets}{',' if len(cls._attrs) == 1 else ''} = attrs")
    if cls._plan:
        lines += ["    if saved:", "        versions = []"]
        for k, (name, src) in enumerate(cls._plan):
            lines += [f"        v = saved[{k}]", "        if v is not None:",
                      f"            node.{name} = v"]
            if src is None:
                continue
            if src.__class__ is int:
                lines.append(f"            t = inputs[{src}]")
            elif src[0] == "aux":
                lines.append(f"            t = aux[{src[1]}]")
            else:
                lines.append("            t = " + ("outs" if single else f"outs[{src[1]}]"))
            lines += [
                "            if t is not None:",
                "                if t._is_inference:",
                "                    raise RuntimeError(_INFERENCE_SAVED_MESSAGE)",
                "                vb = t._vbox",
                "                if vb is None:",
                "                    vb = t._vbox = [0]",
            ]
            if src.__class__ is tuple and src[0] == "out":
                lines.append("                t = _weakref(t) if t.grad_fn is node else t")
            lines.append(f"                versions.append((vb, vb[0], t, {name!r}))")
        lines.append("        node._versions = versions")
    lines.append("    return res")
    return "\n".join(lines) + "\n"


def _wrap_outputs(result, node):
    outs = []
    for i, r in enumerate(result):
        if r.__class__ is not np.ndarray:
            r = np.asarray(r)
        o = _new(Tensor)
        o._data = r
        if r.dtype.kind in "fc":
            o._requires_grad = True
            o.grad_fn = node
            o._output_nr = i
        outs.append(o)
    return tuple(outs)


def _make_record(cls):
    namespace = {"_GradState": _GradState, "ndarray": np.ndarray, "asarray": np.asarray,
                 "_new": _new, "Tensor": Tensor, "_wrap": _wrap, "_NO_EDGE": _NO_EDGE,
                 "_wrap_outputs": _wrap_outputs, "_weakref": weakref.ref, "cls": cls,
                 "_INFERENCE_SAVED_MESSAGE": _INFERENCE_SAVED_MESSAGE}
    exec(compile(_record_source(cls), f"<record {cls.__name__}>", "exec"), namespace)
    record = namespace["record"]
    record.__doc__ = _RECORD_DOC
    record.__qualname__ = f"{cls.__name__}.record"
    return staticmethod(record)


def formula(name, saves=None, attrs=(), outputs=1, base=OpNode):
    """Declare a node class from its backward formula.

    ``name`` is PyTorch's node class name (``"MulBackward0"``). ``saves`` maps each saved slot
    to where its value comes from:

    * an input index (``0`` is the first entry of ``record``'s ``inputs``),
    * an output (``OUT`` or ``out(k)``),
    * a Tensor operand without gradient (``aux(k)``: an index, a mask, a condition),
    * ``None``: an array private to the node (made in the forward, reachable by nothing else).

    Input, output and aux sources are version-checked, and come back as their Tensors under
    ``create_graph``. ``attrs`` names the non-array values ``record`` stores on the node
    (shapes, numbers, flags), in the order ``record`` receives them.

    ``outputs``: the number of outputs, or None for as many as ``result`` holds (split).

    The formula is ``fn(ctx, grad)`` (a list of grads when ``outputs != 1``) returning a tuple
    with one gradient per input, None where ``ctx.needs(i)`` is false; it becomes the node's
    ``backward`` method.
    """
    saves = dict(saves or {})

    def declare(fn):
        body = {"backward": fn, "_saves": tuple(saves), "_slot_src": saves,
                "_plan": tuple(saves.items()), "_attrs": tuple(attrs), "__doc__": fn.__doc__,
                "__module__": fn.__module__}
        body.update(dict.fromkeys(saves))  # a slot not saved this time reads as None
        if outputs != 1:
            body["num_outputs"] = outputs
        cls = type(name, (base,), body)
        cls.record = _make_record(cls)
        if name in NODES:
            raise RuntimeError(f"node {name} is declared twice")
        NODES[name] = cls
        return cls

    return declare


class OpInfo:
    """The public names of one op function."""

    __slots__ = ("fn", "name", "exports", "methods", "inplace", "ufunc", "nodes")

    def __init__(self, fn, name, exports, methods, inplace, ufunc, nodes):
        self.fn, self.name, self.exports, self.methods = fn, name, exports, methods
        self.inplace, self.ufunc, self.nodes = inplace, ufunc, nodes

    @property
    def keeps_input(self):
        """Whether a node of this op saves its first input (an in-place variant then records on
        a copy of the tensor's old value). Unknown (no ``nodes``): assumed."""
        if not self.nodes:
            return True
        return any(src == 0 for node in self.nodes for _, src in node._plan)

    def __repr__(self):
        return f"OpInfo({self.name})"


def _names(value, default):
    if value is True:
        return (default,)
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def declare(fn, name=None, *, export=True, method=True, inplace=None, ufunc=None, nodes=()):
    """Declare the public names of op function ``fn`` and return it.

    ``export``: ``numtorch.<name>`` (True: ``name``, by default the function's name; or a name
    or tuple of names; False: none). ``method``: Tensor method name(s), same convention (the
    function is called with the tensor as its first argument). ``inplace``: in-place Tensor
    method name(s) (``"mul_"``), generated from the function by ``ops/__init__.py``; ``ufunc``:
    a NumPy ufunc that writes the in-place result directly when nothing records. ``nodes``:
    the node classes the function records (the in-place variant copies the old value only when
    one of them saves input 0).
    """
    n = name or fn.__name__
    OPS.append(OpInfo(fn, n, _names(export, n), _names(method, n), _names(inplace, None),
                      ufunc, tuple(nodes)))
    return fn


def op(name=None, **names):
    """Decorator form of :func:`declare`."""
    def decorate(fn):
        return declare(fn, name, **names)
    return decorate
