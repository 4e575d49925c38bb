"""numtorch.viz: the backward graph as DOT text, pictures and a text tree.

The structure of every drawn graph is compared with the graph PyTorch records for the same
computation (when torch is installed): the DOT edges, unrolled from the output, must give the
same tree of node names as PyTorch's ``next_functions``, which is what torchviz draws.
"""

import importlib.util
import re
import shutil
import sys
from pathlib import Path

import pytest
from tutorial_net import lenet

import numtorch
from numtorch import viz

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz 'dot' program not installed")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------- helpers
_NODE = re.compile(r'^\s*(n\d+) \[label=("(?:[^"\\]|\\.)*"|\S+)(.*)\]$')
_EDGE = re.compile(r"^\s*(n\d+) -> (n\d+)(.*)$")


def _unquote(text):
    if text.startswith('"'):
        text = text[1:-1]
        text = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)
    return text


def parse_dot(source):
    """Node labels, node attribute text and edges (tail, head, attrs) of our DOT output."""
    labels, attrs, edges = {}, {}, []
    for line in source.splitlines():
        m = _NODE.match(line)
        if m:
            labels[m.group(1)] = _unquote(m.group(2))
            attrs[m.group(1)] = m.group(3)
            continue
        m = _EDGE.match(line)
        if m:
            edges.append((m.group(1), m.group(2), m.group(3)))
    return labels, attrs, edges


def dot_tree(source, root_label_contains="darkolivegreen1"):
    """Unroll the DOT graph from the output node(s) into nested (label, children) tuples."""
    labels, attrs, edges = parse_dot(source)
    inputs = {}
    for tail, head, extra in edges:
        if "dir=none" not in extra:
            inputs.setdefault(head, []).append(tail)
    roots = [n for n in labels if root_label_contains in attrs[n]]

    def unroll(n):
        return (labels[n], tuple(unroll(t) for t in inputs.get(n, ())))

    return tuple(unroll(r) for r in roots)


def _size_str(shape):
    return "(" + ", ".join(str(s) for s in shape) + ")"


def torch_tree(outputs, names):
    """The same unrolled tree from PyTorch's own graph, labelled as torchviz labels it."""

    def var_label(t):
        name = names.get(id(t))
        return f"{name}\n {_size_str(t.shape)}" if name else _size_str(t.shape)

    def unroll(fn):
        kids = [unroll(n) for n, _ in fn.next_functions if n is not None]
        if hasattr(fn, "variable"):
            kids.append((var_label(fn.variable), ()))
        return (type(fn).__name__, tuple(kids))

    return tuple((var_label(o), (unroll(o.grad_fn),) if o.grad_fn is not None else ())
                 for o in outputs)


def z_graph(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = lib.tensor([4.0, 5.0, 6.0], requires_grad=True)
    return x, y, (x + y) * (y + 5)


# ------------------------------------------------------------------- z = (x + y) * (y + 5)
def test_z_graph_nodes_and_edges():
    x, y, z = z_graph(numtorch)
    labels, attrs, edges = parse_dot(viz.make_dot(z, params={"x": x, "y": y}).source)
    by_label = {}
    for nid, label in labels.items():
        by_label.setdefault(label, []).append(nid)
    assert sorted(labels.values()) == sorted(
        ["(3)", "MulBackward0", "AddBackward0", "AddBackward0", "AccumulateGrad",
         "AccumulateGrad", "x\n (3)", "y\n (3)"])
    (out,), (mul,), (xn,), (yn,) = (by_label[k] for k in ("(3)", "MulBackward0", "x\n (3)",
                                                          "y\n (3)"))
    assert "darkolivegreen1" in attrs[out]
    assert "lightblue" in attrs[xn] and "lightblue" in attrs[yn]
    pairs = [(t, h) for t, h, _ in edges]
    acc_of = {h: t for t, h in pairs if t in (xn, yn)}  # variable -> its AccumulateGrad
    acc_x, acc_y = (h for t, h in pairs if t == xn), (h for t, h in pairs if t == yn)
    acc_x, acc_y = next(acc_x), next(acc_y)
    assert acc_of[acc_x] == xn and acc_of[acc_y] == yn
    add1, add2 = by_label["AddBackward0"]
    assert (mul, out) in pairs and (add1, mul) in pairs and (add2, mul) in pairs
    # y is one node with two edges: into both additions.
    assert [h for t, h in pairs if t == acc_y] == [add1, add2]
    assert [h for t, h in pairs if t == acc_x] == [add1]
    assert len(pairs) == 8


def test_z_graph_matches_pytorch():
    torch = pytest.importorskip("torch")
    x, y, z = z_graph(numtorch)
    tx, ty, tz = z_graph(torch)
    ours = dot_tree(viz.make_dot(z, params={"x": x, "y": y}).source)
    assert ours == torch_tree([tz], {id(tx): "x", id(ty): "y"})


def test_core_ops_graph_matches_pytorch():
    torch = pytest.importorskip("torch")

    def run(lib):
        lib.manual_seed(0)
        a = lib.randn(2, 3, requires_grad=True)
        w = lib.randn(3, 4, requires_grad=True)
        b = lib.randn(4, requires_grad=True)
        out = (a.mm(w) + b).relu().sum() * 2
        return {"a": a, "w": w, "b": b}, out

    params, out = run(numtorch)
    tparams, tout = run(torch)
    ours = dot_tree(viz.make_dot(out, params=params).source)
    assert ours == torch_tree([tout], {id(v): k for k, v in tparams.items()})


def test_labels_without_params_show_shapes_only():
    w = numtorch.randn(2, 5, requires_grad=True)
    out = (w * 3).sum(1)
    labels, _, _ = parse_dot(viz.make_dot(out).source)
    assert "(2, 5)" in labels.values() and "(2)" in labels.values()


def test_named_parameters_iterable_and_bad_params():
    w = numtorch.randn(2, requires_grad=True)
    src = viz.make_dot(w.exp(), params=[("weight", w)]).source
    assert '"weight\\n (2)"' in src
    with pytest.raises(TypeError):
        viz.make_dot(w.exp(), params={"weight": 3})
    with pytest.raises(TypeError):
        viz.make_dot(3.0)


def test_several_outputs_and_leaf_or_constant_outputs():
    x = numtorch.randn(3, requires_grad=True)
    a, b = x.sin(), x.cos()
    labels, attrs, edges = parse_dot(viz.make_dot((a, b), params={"x": x}).source)
    assert sorted(labels.values()).count("AccumulateGrad") == 1
    assert sum("darkolivegreen1" in v for v in attrs.values()) == 2
    # a leaf output is just its box; a tensor without grad too
    labels, _, edges = parse_dot(viz.make_dot(x, params={"x": x}).source)
    assert list(labels.values()) == ["x\n (3)"] and edges == []
    labels, _, edges = parse_dot(viz.make_dot(numtorch.zeros(2, 2)).source)
    assert list(labels.values()) == ["(2, 2)"] and edges == []


def test_show_attrs_and_show_saved():
    x = numtorch.randn(3, requires_grad=True)
    y = numtorch.randn(3, requires_grad=True)
    z = x * y
    src = viz.make_dot(z, show_attrs=True, show_saved=True).source
    labels, attrs, edges = parse_dot(src)
    mul = next(n for n, lab in labels.items() if lab.startswith("MulBackward0"))
    assert "\n---" in labels[mul]  # attributes listed under a rule
    saved = [n for n, a in attrs.items() if "orange" in a]
    assert len(saved) == 2
    assert all(labels[n].endswith("\n (3)") for n in saved)
    assert sorted((t, h) for t, h, e in edges if "dir=none" in e) == sorted(
        (n, mul) for n in saved)
    # after backward the saved arrays are freed: nothing saved to draw
    z.sum().backward()
    _, attrs, _ = parse_dot(viz.make_dot(z, show_saved=True).source)
    assert not any("orange" in a for a in attrs.values())
    plain = viz.make_dot(z).source
    assert "orange" not in plain and "---" not in plain


def test_dot_quoting():
    x = numtorch.randn(1, requires_grad=True)
    src = viz.make_dot(x.exp(), params={'we"ird\\name': x}).source
    labels, _, _ = parse_dot(src)
    assert 'we"ird\\name\n (1)' in labels.values()


def test_deep_graph_does_not_recurse():
    x = numtorch.ones(1, requires_grad=True)
    y = x
    for _ in range(1500):  # deeper than Python's recursion limit
        y = y * 1.0
    labels, _, edges = parse_dot(viz.make_dot(y).source)
    assert len(labels) == 1503 and len(edges) == 1502
    assert viz.graph_text(y).count("MulBackward0") == 1500


# -------------------------------------------------------------------------------- rendering
@needs_dot
@pytest.mark.parametrize("fmt, magic", [("png", PNG_MAGIC), ("svg", b"<svg"), ("pdf", b"%PDF")])
def test_render_formats(tmp_path, fmt, magic):
    x, y, z = z_graph(numtorch)
    out = viz.make_dot(z, params={"x": x, "y": y}).render(tmp_path / "z", format=fmt)
    assert out == str(tmp_path / f"z.{fmt}")
    data = Path(out).read_bytes()
    assert magic in data[:400]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"z.{fmt}"]  # source cleaned up


@needs_dot
def test_render_keeps_source_and_accepts_full_filename(tmp_path):
    _, _, z = z_graph(numtorch)
    dot = viz.make_dot(z)
    out = dot.render(str(tmp_path / "pic.png"), format="png", cleanup=False)
    assert out == str(tmp_path / "pic.png")
    assert Path(out).read_bytes()[:8] == PNG_MAGIC
    assert (tmp_path / "pic").read_text() == dot.source
    out = dot.render("g", directory=tmp_path / "sub", format="svg")
    assert out == str(tmp_path / "sub" / "g.svg")


@needs_dot
def test_render_without_graphviz_package_calls_dot(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz -> ImportError
    _, _, z = z_graph(numtorch)
    dot = viz.make_dot(z)
    out = dot.render(tmp_path / "z", format="png")
    assert Path(out).read_bytes()[:8] == PNG_MAGIC
    svg = dot._repr_svg_()
    assert "<svg" in svg and "MulBackward0" in svg
    assert "image/svg+xml" in dot._repr_mimebundle_()


def test_clear_error_without_graphviz(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    _, _, z = z_graph(numtorch)
    dot = viz.make_dot(z)
    assert dot.source.startswith("digraph {") and "MulBackward0" in dot.source
    with pytest.raises(viz.ExecutableNotFound, match="Graphviz"):
        dot.render(tmp_path / "z", format="png")
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        dot.pipe("svg")
    assert dot._repr_mimebundle_() == {"text/plain": dot.source}
    assert list(tmp_path.iterdir()) == []
    # DOT output itself needs no Graphviz
    assert dot.pipe("dot") == dot.source.encode()


@needs_dot
@pytest.mark.parametrize("graphviz_package", [True, False])
def test_dot_failure_is_a_runtime_error_with_or_without_graphviz_package(monkeypatch,
                                                                        graphviz_package):
    if not graphviz_package:
        monkeypatch.setitem(sys.modules, "graphviz", None)
    elif importlib.util.find_spec("graphviz") is None:
        pytest.skip("the graphviz package is not installed")
    with pytest.raises(RuntimeError, match=r"dot failed \(exit status 1\): .*syntax error"):
        viz.Digraph("digraph { a -> }").pipe("svg")


def test_unknown_format():
    _, _, z = z_graph(numtorch)
    with pytest.raises(ValueError, match="unknown format"):
        viz.make_dot(z).render("z", format="docx")


# -------------------------------------------------------------------------------- text tree
def test_print_graph_z(capsys):
    x, y, z = z_graph(numtorch)
    viz.print_graph(z, params={"x": x, "y": y})
    assert capsys.readouterr().out == (
        "output (3)\n"
        "└── MulBackward0\n"
        "    ├── AddBackward0\n"
        "    │   ├── AccumulateGrad: x (3)\n"
        "    │   └── AccumulateGrad: y (3)\n"
        "    └── AddBackward0\n"
        "        └── AccumulateGrad: y (3)\n")


def test_graph_text_shared_node_ascii_and_leaves():
    x = numtorch.randn(2, requires_grad=True)
    a = x.exp()
    b = a * a
    assert viz.graph_text(b, ascii=True) == (
        "output (2)\n"
        "`-- MulBackward0\n"
        "    |-- ExpBackward0\n"
        "    |   `-- AccumulateGrad: (2)\n"
        "    `-- ExpBackward0 (shown above)")
    assert viz.graph_text(x, params={"x": x}) == "x (2) (leaf)"
    assert viz.graph_text(numtorch.zeros(3)) == "output (3) (no grad_fn)"


# ------------------------------------------------------------------------------- the LeNet
def lenet_loss(lib):
    lib.manual_seed(0)
    net = lenet(lib)
    x = lib.randn(1, 1, 32, 32)
    target = lib.randn(10).view(1, -1)
    loss = lib.nn.MSELoss()(net(x), target)
    return net, x, loss


@pytest.fixture
def seed_lenet():
    return lenet_loss(numtorch)


def test_lenet_dot_nodes_edges_and_labels(seed_lenet):
    net, _, loss = seed_lenet
    src = viz.make_dot(loss, params=dict(net.named_parameters())).source
    labels, attrs, edges = parse_dot(src)
    names = sorted(labels.values())
    expected_counts = {"MseLossBackward0": 1, "AddmmBackward0": 3, "TBackward0": 3,
                       "ReluBackward0": 4, "ViewBackward0": 1,
                       "MaxPool2DWithIndicesBackward0": 2, "ConvolutionBackward0": 2,
                       "AccumulateGrad": 10}
    for name, count in expected_counts.items():
        assert names.count(name) == count, name
    for label in ["conv1.weight\n (6, 1, 5, 5)", "conv1.bias\n (6)",
                  "conv2.weight\n (16, 6, 5, 5)", "conv2.bias\n (16)",
                  "fc1.weight\n (120, 400)", "fc1.bias\n (120)", "fc2.weight\n (84, 120)",
                  "fc2.bias\n (84)", "fc3.weight\n (10, 84)", "fc3.bias\n (10)", "()"]:
        assert label in names, label
    # 1 output + 16 operation nodes + 10 AccumulateGrad + 10 parameters
    assert len(labels) == 37
    # every edge: 16 op nodes' inputs + 10 variable->AccumulateGrad + 1 into the output
    assert len(edges) == 36
    tree = dot_tree(src)
    assert tree[0][0] == "()" and tree[0][1][0][0] == "MseLossBackward0"
    addmm = tree[0][1][0][1][0]
    assert addmm[0] == "AddmmBackward0"
    assert [k[0] for k in addmm[1]] == ["AccumulateGrad", "ReluBackward0", "TBackward0"]
    assert addmm[1][0][1][0][0] == "fc3.bias\n (10)"


def test_lenet_graph_matches_pytorch(seed_lenet):
    torch = pytest.importorskip("torch")
    net, _, loss = seed_lenet
    tnet, _, tloss = lenet_loss(torch)
    ours = dot_tree(viz.make_dot(loss, params=dict(net.named_parameters())).source)
    theirs = torch_tree([tloss], {id(p): n for n, p in tnet.named_parameters()})
    assert ours == theirs


@needs_dot
def test_lenet_renders_png(seed_lenet, tmp_path):
    net, _, loss = seed_lenet
    out = viz.make_dot(loss, params=dict(net.named_parameters())).render(
        tmp_path / "lenet", format="png")
    data = Path(out).read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 1000


def test_lenet_print_graph(seed_lenet):
    net, _, loss = seed_lenet
    text = viz.graph_text(loss, params=dict(net.named_parameters()))
    lines = text.splitlines()
    assert lines[:3] == ["output ()", "└── MseLossBackward0", "    └── AddmmBackward0"]
    assert "        ├── AccumulateGrad: fc3.bias (10)" in lines
    assert text.count("ConvolutionBackward0") == 2
    assert "AccumulateGrad: conv1.bias (6)" in text
    assert lines[-2:] == ["        └── TBackward0",
                          "            └── AccumulateGrad: fc3.weight (10, 84)"]
    assert "(shown above)" not in text  # a chain: nothing is reached twice


def test_lenet_forward_view_clusters(seed_lenet):
    net, x, _ = seed_lenet
    with viz.record_modules(net) as trace:
        out = net(x)
    src = viz.make_dot(out, params=dict(net.named_parameters()), modules=trace).source
    clusters = re.findall(r"subgraph cluster_\d+ \{\n\t+label=\"?([^\"\n]+?)\"? style", src)
    assert clusters == ["Net", "conv1: Conv2d", "conv2: Conv2d", "fc1: Linear", "fc2: Linear",
                        "fc3: Linear"]
    conv1 = src[src.index('label="conv1: Conv2d"'):]
    conv1 = conv1[:conv1.index("}")]
    assert "ConvolutionBackward0" in conv1 and "conv1.weight" in conv1
    assert "conv2" not in conv1 and "Relu" not in conv1
    fc1 = src[src.index('label="fc1: Linear"'):]
    fc1 = fc1[:fc1.index("}")]
    assert fc1.count("AddmmBackward0") == 1 and fc1.count("TBackward0") == 1
    # the functional ops belong to the model itself, not to a layer
    net_block = src[src.index("label=Net"):src.index("subgraph cluster_1")]
    assert "MaxPool2DWithIndicesBackward0" in net_block and "ViewBackward0" in net_block
    # same graph as without clusters
    assert dot_tree(src) == dot_tree(viz.make_dot(out, dict(net.named_parameters())).source)
    # hooks are removed afterwards
    with viz.record_modules(net) as trace2:
        pass
    net(x)
    assert trace2.calls == []


def test_forward_view_nested_sequential():
    nn = numtorch.nn
    net = nn.Sequential(nn.Linear(4, 3), nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2)))
    with viz.record_modules(net) as trace:
        out = net(numtorch.randn(5, 4)).sum()
    assert [(c.name, len(c.nodes)) for c in trace.calls] == [
        ("0", 4), ("1.0", 4), ("1.1", 4), ("1", 8), ("", 12)]
    src = viz.make_dot(out, params=dict(net.named_parameters()), modules=trace).source
    labels = re.findall(r"label=(\"[^\"]+\"|\S+) style=dashed", src)
    assert labels == ["Sequential", '"0: Linear"', '"1: Sequential"', '"1.0: Linear"',
                      '"1.1: Linear"']
    inner = src[src.index('"1: Sequential"'):]
    assert inner.count("AddmmBackward0") == 2 and "1.1.weight" in inner
    assert "0.weight" not in inner.replace("1.0.weight", "").replace("1.1.weight", "")
    # SumBackward0 ran outside the model: not in any cluster
    outside = src[src.rindex("\t}\n"):]
    assert "SumBackward0" in outside
    assert dot_tree(src) == dot_tree(viz.make_dot(out, dict(net.named_parameters())).source)
