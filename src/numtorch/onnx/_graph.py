"""The ONNX graph being written: nodes, initializers and the helpers the op mappings share.

Nodes are kept as plain tuples while tracing; :meth:`Graph.to_proto` turns them into an
``onnx.GraphProto`` at the end, dropping the nodes no graph output depends on.
"""

import numpy as np

INT64_MAX = 2**63 - 1

# The Reduce* ops that take ``axes`` as an input (rather than an attribute) from this opset on.
_AXES_AS_INPUT = {"ReduceSum": 13, "ReduceMean": 18, "ReduceMax": 18, "ReduceMin": 18,
                  "ReduceProd": 18, "ReduceL2": 18, "ReduceLogSumExp": 18}


class Graph:
    """An ONNX graph under construction for one opset."""

    def __init__(self, opset):
        self.opset = opset
        self.nodes = []  # (op_type, inputs, outputs, attributes, scope)
        self.initializers = {}  # name -> ndarray
        self.dtypes = {}  # value name -> NumPy dtype, where known
        self.scope = ""
        self._count = 0
        self._small = {}  # (dtype, shape, bytes) -> initializer name, to share small constants

    # ------------------------------------------------------------------ building blocks
    def fresh(self, hint):
        self._count += 1
        prefix = "/" + self.scope.replace(".", "/") + "/" if self.scope else "/"
        return f"{prefix}{hint}_output_{self._count}"

    def node(self, op_type, inputs, outputs=1, **attributes):
        """Append one node; returns its output name (or the list of them when ``outputs > 1``)."""
        names = [self.fresh(op_type) for _ in range(outputs)]
        attributes = {k: v for k, v in attributes.items() if v is not None}
        self.nodes.append((op_type, list(inputs), names, attributes, self.scope))
        return names[0] if outputs == 1 else names

    def const(self, value, dtype=None, name=None):
        """An initializer holding ``value``; small constants with equal contents are shared."""
        array = np.asarray(value, dtype=dtype)
        if array.dtype == np.float64 and dtype is None and not isinstance(value, np.ndarray):
            array = array.astype(np.float32)
        if name is None:
            key = None
            if array.size <= 16:
                key = (array.dtype.str, array.shape, array.tobytes())
                if key in self._small:
                    return self._small[key]
            self._count += 1
            name = f"onnx::Constant_{self._count}"
            if key is not None:
                self._small[key] = name
        self.initializers[name] = np.array(array, order="C")  # ascontiguousarray makes 0-d 1-d
        self.dtypes[name] = array.dtype
        return name

    def ints(self, values):
        """A 1-D int64 constant."""
        return self.const(np.asarray(list(values), dtype=np.int64))

    # ------------------------------------------------------------------ common patterns
    def cast(self, name, dtype, from_dtype=None):
        dtype = np.dtype(dtype)
        from_dtype = from_dtype if from_dtype is not None else self.dtypes.get(name)
        if from_dtype is not None and np.dtype(from_dtype) == dtype:
            return name
        from onnx import helper  # deferred: optional dependency (onnx)
        out = self.node("Cast", [name], to=helper.np_dtype_to_tensor_dtype(dtype))
        self.dtypes[out] = dtype
        return out

    def reduce(self, op_type, x, axes, keepdims):
        """``op_type`` (ReduceMean, ReduceSum …) over ``axes`` in the opset's form."""
        axes = [int(a) for a in axes]
        if self.opset >= _AXES_AS_INPUT[op_type]:
            return self.node(op_type, [x, self.ints(axes)], keepdims=int(keepdims))
        return self.node(op_type, [x], axes=axes, keepdims=int(keepdims))

    def unsqueeze(self, x, axes):
        return self.node("Unsqueeze", [x, self.ints(axes)])

    def squeeze(self, x, axes):
        return self.node("Squeeze", [x, self.ints(axes)])

    def shape(self, x, start=None, end=None):
        return self.node("Shape", [x], start=start, end=end)

    def transpose(self, x, perm):
        if list(perm) == list(range(len(perm))):
            return x
        return self.node("Transpose", [x], perm=[int(p) for p in perm])

    # ------------------------------------------------------------------ the result
    def to_proto(self, name, inputs, outputs, keep_initializers=()):
        """The ``GraphProto``; ``inputs``/``outputs`` are ``ValueInfoProto`` lists."""
        from onnx import helper, numpy_helper  # deferred: optional dependency (onnx)
        needed = {o.name for o in outputs}
        kept = []
        for node in reversed(self.nodes):
            if any(o in needed for o in node[2]):
                kept.append(node)
                needed.update(i for i in node[1] if i)
        kept.reverse()
        node_protos = []
        for i, (op_type, ins, outs, attrs, scope) in enumerate(kept):
            attrs = {k: numpy_helper.from_array(v) if isinstance(v, np.ndarray) else v
                     for k, v in attrs.items()}
            label = "/" + scope.replace(".", "/") + "/" if scope else "/"
            node_protos.append(helper.make_node(op_type, ins, outs, name=f"{label}{op_type}_{i}",
                                                **attrs))
        input_names = {i.name for i in inputs}
        initializers = [numpy_helper.from_array(array, name)
                        for name, array in self.initializers.items()
                        if (name in needed or name in keep_initializers)
                        and name not in input_names]
        return helper.make_graph(node_protos, name, inputs, outputs, initializers)
