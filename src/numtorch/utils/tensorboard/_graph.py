"""The graph ``SummaryWriter.add_graph`` writes: a TensorBoard ``GraphDef`` of one forward pass.

The model runs once with gradient recording on. Forward hooks name each leaf module's output by
the module's path (``Net/conv1``); the autograd graph then links those outputs to each other, to
the inputs (``input/input.N``) and to the operations done between modules (``Net/relu_2``), so
TensorBoard shows the layers in order with the functional ops that join them.
"""

from tensorboardX.proto.attr_value_pb2 import AttrValue
from tensorboardX.proto.graph_pb2 import GraphDef
from tensorboardX.proto.node_def_pb2 import NodeDef
from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboardX.proto.versions_pb2 import VersionDef

from ..._tensor import Tensor
from ...autograd import enable_grad
from ...autograd.node import AccumulateGrad


def _shape_attr(t):
    shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=s) for s in t.shape])
    return {"_output_shapes": AttrValue(list=AttrValue.ListValue(shape=[shape]))}


def _op_name(fn):
    name = type(fn).__name__
    for suffix in ("Backward0", "Backward1", "Backward"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.lower() or "op"


def graph_def(model, inputs):
    """Run ``model`` on ``inputs`` (a tensor or a tuple/list of them) and return its GraphDef."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    root = type(model).__name__
    nodes = []
    input_names = {}  # id(tensor) or id(AccumulateGrad) -> node name
    feed = []
    for i, x in enumerate(inputs):
        name = f"input/input.{i + 1}"
        if isinstance(x, Tensor) and x.is_floating_point():
            x = x.detach().requires_grad_()
            input_names[id(x._edge()[0])] = name
        if isinstance(x, Tensor):
            input_names[id(x)] = name
            nodes.append(NodeDef(name=name, op="IO Node", attr=_shape_attr(x)))
        feed.append(x)

    calls = {}  # id(output grad_fn) -> (node name, module, its tensor inputs, output)
    paths = {m: f"{root}/{n}" if n else root for n, m in model.named_modules()}
    handles = []

    def hook(module, args, output):
        if isinstance(output, Tensor) and output.grad_fn is not None:
            calls[id(output.grad_fn)] = (paths[module], module,
                                         [a for a in args if isinstance(a, Tensor)], output)

    for m in paths:
        if not any(True for _ in m.children()):
            handles.append(m.register_forward_hook(hook))
    try:
        with enable_grad():
            out = model(*feed)
    finally:
        for h in handles:
            h.remove()

    names = {}  # id(grad_fn) -> node name (None: a parameter or constant, not drawn)
    pending = []

    def visit_tensor(t):
        if id(t) in input_names:
            return input_names[id(t)]
        fn = t.grad_fn if t.grad_fn is not None else (t._acc if t._requires_grad else None)
        return visit(fn) if fn is not None else None

    def visit(fn):
        key = id(fn)
        if key in names:
            return names[key]
        if key in input_names:
            names[key] = input_names[key]
            return names[key]
        if isinstance(fn, AccumulateGrad):
            names[key] = None
            return None
        if key in calls:
            name, module, args, output = calls[key]
            names[key] = name
            srcs = [visit_tensor(a) for a in args]
            op = type(module).__name__
            attr = _shape_attr(output)
        else:
            name = f"\0{len(pending)}"  # numbered below, in the order the ops ran
            pending.append(f"{root}/{_op_name(fn)}")
            names[key] = name
            srcs = [visit(f) for f, _ in fn.next_functions if f is not None]
            op = type(fn).__name__
            attr = {}
        nodes.append(NodeDef(name=name, op=op, input=[s for s in srcs if s], attr=attr))
        return name

    outs = out if isinstance(out, (tuple, list)) else (out,)
    for i, o in enumerate(outs):
        if isinstance(o, Tensor):
            src = visit_tensor(o)
            nodes.append(NodeDef(name=f"output/output.{i + 1}", op="IO Node",
                                 input=[src] if src else [], attr=_shape_attr(o)))
    final = {}
    for node in nodes:  # post-order: every node comes after the nodes it reads
        if node.name.startswith("\0"):
            final[node.name] = f"{pending[int(node.name[1:])]}_{len(final) + 1}"
            node.name = final[node.name]
        node.input[:] = [final.get(i, i) for i in node.input]
    return GraphDef(node=nodes, versions=VersionDef(producer=22))
