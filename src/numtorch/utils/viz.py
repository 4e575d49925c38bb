"""Pictures of the autograd graph.

``make_dot(loss, params=dict(net.named_parameters()))`` draws the backward graph of a tensor as
Graphviz does for torchviz: one box per ``grad_fn`` node named as PyTorch names it
(``AddmmBackward0``), light-blue boxes for leaf tensors with their names and shapes, a green box
for the output, and edges that follow ``next_functions`` from each input node to the node that
consumes it. ``print_graph(loss)`` prints the same graph as an indented tree for terminals.

The DOT text (``.source``) is built here, without any dependency. Turning it into an image needs
Graphviz: the ``graphviz`` Python package when it is installed, otherwise the ``dot`` program
called directly. Install both with ``pip install graphviz`` and your system's package manager
(``apt-get install graphviz``, ``brew install graphviz``, ``conda install graphviz``).

Example::

    >>> import numtorch as torch
    >>> from numtorch.utils.viz import make_dot, print_graph   # or numtorch.viz
    >>> x = torch.ones(3, requires_grad=True)
    >>> y = torch.ones(3, requires_grad=True)
    >>> z = (x + y) * (y + 5)
    >>> print_graph(z, params={"x": x, "y": y})
    output (3)
    └── MulBackward0
        ├── AddBackward0
        │   ├── AccumulateGrad: x (3)
        │   └── AccumulateGrad: y (3)
        └── AddBackward0
            └── AccumulateGrad: y (3)
    >>> make_dot(z, params={"x": x, "y": y}).render("z", format="svg")  # writes z.svg
    'z.svg'
"""

import contextlib
import os
import re
import shutil
import subprocess

import numpy as np

__all__ = ["Digraph", "ExecutableNotFound", "ModuleTrace", "graph_text", "make_dot",
           "print_graph", "record_modules"]

FORMATS = ("png", "svg", "pdf", "jpg", "jpeg", "gif", "bmp", "ps", "eps", "dot", "gv", "json",
           "plain")

_INSTALL_HINT = (
    "rendering the graph needs the Graphviz 'dot' program, which was not found on your PATH. "
    "Install Graphviz with your system's package manager (for example 'apt-get install "
    "graphviz', 'brew install graphviz' or 'conda install graphviz') and, optionally, the Python "
    "package with 'pip install graphviz'. The DOT text is available without it as '.source'.")

_NODE_ATTR = {"style": "filled", "shape": "box", "align": "left", "fontsize": "10",
              "ranksep": "0.1", "height": "0.2", "fontname": "monospace"}

# Node attributes that are bookkeeping, not information about the operation.
_HIDDEN_ATTRS = {"next_functions", "metadata_", "variable"}


class ExecutableNotFound(RuntimeError):
    """Raised when a graph is rendered and Graphviz's ``dot`` program is not available."""


# ----------------------------------------------------------------------------------- DOT text
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$|^-?(\.[0-9]+|[0-9]+(\.[0-9]*)?)$")


def _quote(text):
    """``text`` as a DOT identifier: bare when it can be, else a double-quoted string."""
    text = str(text)
    if _ID.match(text) and text not in ("graph", "node", "edge", "digraph", "subgraph",
                                         "strict"):
        return text
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _attr_list(attrs):
    return " ".join(f"{k}={_quote(v)}" for k, v in attrs.items())


class Digraph:
    """A directed graph in Graphviz's DOT language, renderable to an image.

    Returned by :func:`make_dot`. ``source`` is the DOT text; :meth:`render` and :meth:`pipe`
    run Graphviz on it. In a Jupyter notebook the graph shows itself as an SVG picture.
    """

    def __init__(self, source):
        self.source = source

    def __str__(self):
        return self.source

    def __repr__(self):
        lines = self.source.count("\n")
        return f"<numtorch.utils.viz.Digraph with {lines} lines of DOT source>"

    def pipe(self, format="svg"):
        """Return the graph rendered in ``format`` as bytes."""
        fmt = _check_format(format)
        if fmt in ("dot", "gv"):
            return self.source.encode()
        return _run_dot(self.source, fmt)

    def save(self, filename):
        """Write the DOT source to ``filename`` and return the path."""
        filename = os.fspath(filename)
        with open(filename, "w", encoding="utf-8") as f:
            f.write(self.source)
        return filename

    def render(self, filename="graph", format="png", cleanup=True, directory=None):
        """Render the graph to a file and return the path of the rendered file.

        As with the ``graphviz`` package, the DOT source is saved to ``filename`` and the picture
        to ``filename.<format>``; ``cleanup=True`` removes the source afterwards (unlike
        ``graphviz``, whose default keeps it: here the picture is what was asked for, and
        ``.source`` or :meth:`save` give the text). A ``filename`` that already ends in
        ``.<format>`` is used as is for the picture.

        Args:
            filename (str or path): where to write.
            format (str): ``'png'``, ``'svg'``, ``'pdf'`` or another Graphviz output format.
            cleanup (bool): delete the DOT source file after rendering. Default: ``True``.
            directory (str, optional): folder that ``filename`` is relative to.
        """
        fmt = _check_format(format)
        filename = os.fspath(filename)
        if directory is not None:
            filename = os.path.join(os.fspath(directory), filename)
        stem, ext = os.path.splitext(filename)
        if ext.lower() == "." + fmt:
            source_path, out_path = stem, filename
        else:
            source_path, out_path = filename, f"{filename}.{fmt}"
        parent = os.path.dirname(out_path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        data = self.pipe(fmt)
        if not cleanup:
            self.save(source_path)
        with open(out_path, "wb") as f:
            f.write(data)
        return out_path

    def _repr_svg_(self):
        return self.pipe("svg").decode("utf-8")

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return {"image/svg+xml": self._repr_svg_()}
        except ExecutableNotFound:
            return {"text/plain": self.source}


def _check_format(format):
    fmt = str(format).lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown format: {format!r} (expected one of {', '.join(FORMATS)})")
    return fmt


def _run_dot(source, fmt):
    """Render DOT ``source`` to ``fmt`` bytes with the graphviz package or the dot program.

    Either way a missing ``dot`` raises :class:`ExecutableNotFound` and a failing one a
    :class:`RuntimeError` with its message.
    """
    try:
        import graphviz  # deferred: optional dependency (graphviz)
    except ImportError:
        graphviz = None
    if graphviz is not None:
        try:
            return graphviz.Source(source).pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            raise ExecutableNotFound(_INSTALL_HINT) from None
        except subprocess.CalledProcessError as e:  # graphviz.CalledProcessError
            raise _dot_failed(e.returncode, e.stderr) from None
    exe = shutil.which("dot")
    if exe is None:
        raise ExecutableNotFound(_INSTALL_HINT)
    proc = subprocess.run([exe, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True,
                          check=False)
    if proc.returncode != 0:
        raise _dot_failed(proc.returncode, proc.stderr)
    return proc.stdout


def _dot_failed(status, stderr):
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    return RuntimeError(f"dot failed (exit status {status}): {(stderr or '').strip()}")


# ------------------------------------------------------------------------------ graph walking
def _size_str(shape):
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


def _param_names(params):
    """Map ``id(tensor)`` to its name for a dict or an iterable of ``(name, tensor)`` pairs."""
    if params is None:
        return {}
    items = params.items() if hasattr(params, "items") else params
    names = {}
    for name, value in items:
        if not hasattr(value, "shape"):
            raise TypeError(f"params must map names to tensors, but {name!r} maps to "
                            f"{type(value).__name__}")
        names[id(value)] = str(name)
    return names


def _var_label(tensor, names):
    name = names.get(id(tensor), "")
    return f"{name}\n {_size_str(tensor.shape)}" if name else _size_str(tensor.shape)


def _as_outputs(output):
    if isinstance(output, (list, tuple)):
        return list(output)
    return [output]


def _walk(roots):
    """Every node reachable from ``roots`` once, depth first in ``next_functions`` order."""
    seen = set()
    order = []
    stack = list(reversed([r for r in roots if r is not None]))
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        order.append(fn)
        for nxt, _ in reversed(getattr(fn, "next_functions", ())):
            if nxt is not None and id(nxt) not in seen:
                stack.append(nxt)
    return order


def _node_attrs(fn, max_attr_chars):
    """The non-tensor attributes an operation keeps (strides, shapes, scalars)."""
    saved = _saved_fields(fn)
    attrs = {}
    for key, value in vars(fn).items():
        if key.startswith("_") or key in _HIDDEN_ATTRS or key in saved or callable(value):
            continue
        if isinstance(value, np.ndarray) or hasattr(value, "grad_fn"):
            text = "[saved tensor]"
        else:
            text = str(value)
        if len(text) > max_attr_chars:
            text = text[:max_attr_chars - 3] + "..."
        attrs[key] = text
    return attrs


def _saved_fields(fn):
    fields = list(getattr(type(fn), "_saves", ()))  # declared nodes (ops/_registry.py)
    for cls in type(fn).__mro__:
        fields.extend(cls.__dict__.get("_saved_fields", ()))
    return fields


def _fn_label(fn, show_attrs, max_attr_chars):
    name = type(fn).__name__
    if not show_attrs:
        return name
    attrs = _node_attrs(fn, max_attr_chars)
    if not attrs:
        return name
    width = max(len(k) for k in attrs)
    rows = [f"{k.ljust(width)}: {v}" for k, v in attrs.items()]
    rule = "-" * max(len(name), *(len(r) for r in rows))
    return "\n".join([name, rule, *rows])


class _DotBuilder:
    """Collects nodes and edges (numbered in the order they are added), then writes DOT text."""

    def __init__(self):
        self._ids = {}  # id(obj) -> (DOT id, obj); holding obj keeps every id(obj) unique
        self.nodes = []  # (id(obj), DOT id, attrs)
        self._edges = []  # (id(tail), id(head), attrs)

    def has(self, obj):
        return id(obj) in self._ids

    def node(self, obj, label, **attrs):
        nid = f"n{len(self._ids)}"
        self._ids[id(obj)] = (nid, obj)
        self.nodes.append((id(obj), nid, {"label": label, **attrs}))
        return nid

    def edge(self, tail, head, **attrs):
        self._edges.append((id(tail), id(head), attrs))

    @property
    def edges(self):
        return [(self._ids[t][0], self._ids[h][0], a) for t, h, a in self._edges]

    def source(self, clusters=None):
        n = len(self.nodes)
        size = max(12, int(0.15 * n + 0.999))
        lines = ["digraph {",
                 f"\tgraph [size={_quote(f'{size},{size}')}]",
                 f"\tnode [{_attr_list(_NODE_ATTR)}]"]
        placed = set()
        if clusters is not None:
            lines.extend(clusters.dot_lines(self, placed))
        for key, nid, attrs in self.nodes:
            if key not in placed:
                lines.append(f"\t{nid} [{_attr_list(attrs)}]")
        for tail, head, attrs in self.edges:
            extra = f" [{_attr_list(attrs)}]" if attrs else ""
            lines.append(f"\t{tail} -> {head}{extra}")
        lines.append("}")
        return "\n".join(lines) + "\n"


def make_dot(output, params=None, show_attrs=False, show_saved=False, max_attr_chars=50,
             modules=None):
    r"""Draw the backward graph of ``output`` as a Graphviz :class:`Digraph`.

    Each ``grad_fn`` node reachable from ``output`` becomes a box named as PyTorch names it;
    each leaf tensor that gradients flow into is a light-blue box labelled with its name from
    ``params`` and its shape (``conv1.weight\n (6, 1, 5, 5)``), attached to its
    ``AccumulateGrad`` node; the output is a green box with its shape. Edges follow
    ``next_functions``: from each input's node to the node that consumes it.

    Args:
        output (Tensor or sequence of Tensors): the result(s) whose graph to draw.
        params (dict, optional): names for tensors, e.g. ``dict(net.named_parameters())``.
        show_attrs (bool): list the non-tensor attributes each node keeps for backward
            (shapes, strides, scalars) under its name.
        show_saved (bool): draw the arrays each node saved for backward as orange boxes.
        max_attr_chars (int): truncate attribute values longer than this.
        modules (ModuleTrace, optional): from :func:`record_modules`; groups the nodes each
            module's forward created into a labelled cluster (the forward view).

    Returns:
        Digraph: ``.source`` is the DOT text; ``.render(path, format='png')`` writes a picture.
    """
    names = _param_names(params)
    outputs = _as_outputs(output)
    dot = _DotBuilder()
    roots = []
    for out in outputs:
        if not hasattr(out, "grad_fn"):
            raise TypeError(f"make_dot expects tensors, got {type(out).__name__}")
        if dot.has(out):
            continue
        dot.node(out, _var_label(out, names), fillcolor="darkolivegreen1")
        if out.grad_fn is not None:
            roots.append(out.grad_fn)
    for fn in _walk(roots):
        dot.node(fn, _fn_label(fn, show_attrs, max_attr_chars))
        if show_saved:
            _add_saved(dot, fn)
        for nxt, _ in getattr(fn, "next_functions", ()):
            if nxt is not None:
                dot.edge(nxt, fn)
        var = getattr(fn, "variable", None)
        if var is not None:
            if not dot.has(var):
                dot.node(var, _var_label(var, names), fillcolor="lightblue")
            dot.edge(var, fn)
    for out in outputs:
        if out.grad_fn is not None:
            dot.edge(out.grad_fn, out)
    return Digraph(dot.source(modules))


def _add_saved(dot, fn):
    versions = getattr(fn, "_versions", None)
    if not isinstance(versions, list):
        return  # nothing saved, or already freed by backward
    for field in _saved_fields(fn):
        value = getattr(fn, field, None)
        arrays = value if isinstance(value, (list, tuple)) else [value]
        for i, arr in enumerate(arrays):
            if not isinstance(arr, np.ndarray):
                continue
            label = field if len(arrays) == 1 else f"{field}[{i}]"
            if not dot.has(arr):
                dot.node(arr, f"{label}\n {_size_str(arr.shape)}", fillcolor="orange")
            dot.edge(arr, fn, dir="none")


# ------------------------------------------------------------------------------- text tree
def graph_text(tensor, params=None, ascii=False):
    """The backward graph of ``tensor`` as an indented tree (the text :func:`print_graph` prints).

    The first line is the tensor's shape; below it each node lists the nodes its gradient flows
    to (its ``next_functions``). Leaf tensors appear as ``AccumulateGrad: name (shape)``. A node
    reached a second time is shown once more by name with ``(shown above)`` instead of its inputs.

    Args:
        tensor (Tensor): the tensor whose graph to show.
        params (dict, optional): names for leaf tensors, e.g. ``dict(net.named_parameters())``.
        ascii (bool): use ``|--`` and ``` `-- ``` instead of box-drawing characters.
    """
    names = _param_names(params)
    branch, last, pipe, blank = (("|-- ", "`-- ", "|   ", "    ") if ascii
                                 else ("├── ", "└── ", "│   ", "    "))
    name = names.get(id(tensor))
    head = f"{name} {_size_str(tensor.shape)}" if name else f"output {_size_str(tensor.shape)}"
    lines = [head]
    if tensor.grad_fn is None:
        lines[0] += " (leaf)" if tensor.requires_grad else " (no grad_fn)"
        return "\n".join(lines)
    expanded = set()
    stack = [(tensor.grad_fn, "", True)]
    while stack:
        fn, prefix, is_last = stack.pop()
        label = _text_label(fn, names)
        children = [n for n, _ in getattr(fn, "next_functions", ()) if n is not None]
        if children and id(fn) in expanded:
            label += " (shown above)"
            children = []
        expanded.add(id(fn))
        lines.append(prefix + (last if is_last else branch) + label)
        inner = prefix + (blank if is_last else pipe)
        for i in range(len(children) - 1, -1, -1):
            stack.append((children[i], inner, i == len(children) - 1))
    return "\n".join(lines)


def _text_label(fn, names):
    label = type(fn).__name__
    var = getattr(fn, "variable", None)
    if var is not None:
        name = names.get(id(var))
        label += f": {name} {_size_str(var.shape)}" if name else f": {_size_str(var.shape)}"
    return label


def print_graph(tensor, params=None, ascii=False, file=None):
    """Print the backward graph of ``tensor`` as an indented tree (see :func:`graph_text`)."""
    print(graph_text(tensor, params=params, ascii=ascii), file=file)


# ----------------------------------------------------------------------------- forward view
class _Call:
    """One call of a module's forward, and the graph nodes it created."""

    def __init__(self, name, module, done_before, stop_nodes, stop_leaves):
        self.name = name
        self.module = module
        self.done_before = done_before  # how many calls had finished when this one started
        self.stop_nodes = stop_nodes
        self.stop_leaves = stop_leaves
        self.nodes = []
        self.parent = None


class ModuleTrace:
    """The module calls recorded by :func:`record_modules`, for ``make_dot(modules=...)``."""

    def __init__(self):
        self.calls = []  # finished calls, in the order they finished
        self._open = []  # calls in progress (a stack)

    def _pre(self, name, module, args):
        stop_nodes, stop_leaves = set(), set()
        for a in _tensors_in(args):
            if a.grad_fn is not None:
                stop_nodes.add(id(a.grad_fn))
            else:
                stop_leaves.add(id(a))
        call = _Call(name, module, len(self.calls), stop_nodes, stop_leaves)
        if self._open:
            call.parent = self._open[-1]
        self._open.append(call)

    def _post(self, output):
        call = self._open.pop()
        outside = set(call.stop_nodes)
        for earlier in self.calls[:call.done_before]:
            outside.update(id(n) for n in earlier.nodes)
        roots = [t.grad_fn for t in _tensors_in(output) if t.grad_fn is not None]
        stack, seen = list(roots), set()
        while stack:
            fn = stack.pop()
            if id(fn) in seen or id(fn) in outside:
                continue
            var = getattr(fn, "variable", None)
            if var is not None and id(var) in call.stop_leaves:
                continue
            seen.add(id(fn))
            call.nodes.append(fn)
            stack.extend(n for n, _ in getattr(fn, "next_functions", ()) if n is not None)
        self.calls.append(call)

    def dot_lines(self, dot, placed):
        """DOT ``subgraph cluster_…`` blocks, nested as the module calls were."""
        owner = {}
        for call in self.calls:  # inner calls finish first: keep the innermost owner
            for fn in call.nodes:
                owner.setdefault(id(fn), call)
                var = getattr(fn, "variable", None)
                if var is not None:
                    owner.setdefault(id(var), call)
        members = {id(c): [] for c in self.calls}
        for key, nid, attrs in dot.nodes:
            call = owner.get(key)
            if call is not None:
                members[id(call)].append((nid, attrs))
                placed.add(key)
        children = {id(c): [] for c in self.calls}
        tops = []
        for call in self.calls:
            if call.parent is not None and id(call.parent) in children:
                children[id(call.parent)].append(call)
            else:
                tops.append(call)
        lines = []
        stack = [(c, 1, False) for c in reversed(tops)]
        counter = 0
        while stack:
            call, depth, closing = stack.pop()
            indent = "\t" * depth
            if closing:
                lines.append(indent + "}")
                continue
            label = f"{call.name}: {type(call.module).__name__}" if call.name else \
                type(call.module).__name__
            lines.append(f"{indent}subgraph cluster_{counter} {{")
            counter += 1
            lines.append(f"{indent}\tlabel={_quote(label)} style=dashed fontname=monospace")
            for nid, attrs in members[id(call)]:
                lines.append(f"{indent}\t{nid} [{_attr_list(attrs)}]")
            stack.append((call, depth, True))
            stack.extend((c, depth + 1, False) for c in reversed(children[id(call)]))
        return lines


def _tensors_in(value):
    """The tensors inside a (nested) tuple, list or dict of module inputs or outputs."""
    found = []
    stack = [value]
    while stack:
        v = stack.pop()
        if hasattr(v, "grad_fn") and hasattr(v, "shape"):
            found.append(v)
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
    return found


@contextlib.contextmanager
def record_modules(model):
    """Record which module created which graph nodes during the forward passes in the block.

    Pass the result to ``make_dot(..., modules=trace)`` to draw each module as a cluster::

        with record_modules(net) as trace:
            loss = criterion(net(x), y)
        make_dot(loss, params=dict(net.named_parameters()), modules=trace)
    """
    trace = ModuleTrace()
    handles = []
    for name, module in model.named_modules():
        def pre(mod, args, _name=name):
            trace._pre(_name, mod, args)

        def post(mod, args, output):
            trace._post(output)

        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    try:
        yield trace
    finally:
        for h in handles:
            h.remove()
