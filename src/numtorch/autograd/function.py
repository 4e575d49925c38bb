"""User-defined differentiable operations: ``torch.autograd.Function``."""

import numpy as np

from .. import _tensor  # _tensor imports the core: read _tensor.Tensor at call time
from .grad_mode import _GradState, no_grad
from .node import Node


class FunctionCtx:
    """The ``ctx`` object handed to ``forward`` and ``backward`` (it is the graph node)."""

    _materialize = True
    _holomorphic = False  # a custom backward gets the gradient as PyTorch passes it
    _saved = ()
    _non_diff = ()
    _dirty = ()

    def save_for_backward(self, *tensors):
        self._saved = tensors
        self.save_versions(*(t for t in tensors if t is not None))

    @property
    def saved_tensors(self):
        if self._versions is not None:
            self._check_saved()
        return self._saved

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_diff = tuple(id(t) for t in tensors)

    def set_materialize_grads(self, value):
        self._materialize = bool(value)


class BackwardCFunction(FunctionCtx, Node):
    """Graph node of a custom Function; its class is named ``<Function>Backward``."""

    _saved_fields = ("_saved",)
    _fn_cls = None
    _differentiable = True  # its backward is the user's code, run on Tensors under create_graph

    def backward(self, grads):
        Tensor = _tensor.Tensor
        if self.num_outputs == 1:
            grads = [grads]
        wrapped = []
        for g, shape, dtype in zip(grads, self._out_shapes, self._out_dtypes):
            if g is None and self._materialize:
                g = np.zeros(shape, dtype=dtype)
            wrapped.append(None if g is None else Tensor._wrap(g))
        with no_grad():
            result = self._gradients(self._fn_cls.backward(self, *wrapped))
        out = []
        for pos, shape in zip(self._tensor_positions, self._in_shapes):
            g = result[pos]
            if g is None:
                out.append(None)
                continue
            g = g._data if isinstance(g, Tensor) else np.asarray(g)
            if g.shape != shape:
                try:
                    g = np.broadcast_to(g, shape) if g.size == 1 else g.reshape(shape)
                except ValueError:
                    raise RuntimeError(
                        f"Function {type(self).__name__} returned an invalid gradient at index "
                        f"{pos} - got {list(g.shape)} but expected shape compatible with "
                        f"{list(shape)}") from None
            out.append(g)
        return tuple(out)

    def _gradients(self, result):
        """The user's backward result as a tuple of one entry per forward argument."""
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) != self._n_args:
            raise RuntimeError(
                f"function {type(self).__name__} returned an incorrect number of gradients "
                f"(expected {self._n_args}, got {len(result)})")
        return result

    def apply(self, grads):
        if self._versions is not None:
            self._check_saved()
        return self.backward(grads if self.num_outputs > 1 else grads[0])

    def apply_graph(self, grads):
        """``create_graph``: the user's backward runs on Tensors with grad mode on, so what it
        computes (from ``ctx.saved_tensors`` and the incoming grads) is recorded."""
        Tensor = _tensor.Tensor
        if self._versions is not None:
            self._check_saved()
        wrapped = []
        for g, shape, dtype in zip(grads, self._out_shapes, self._out_dtypes):
            if g is None and self._materialize:
                g = Tensor._wrap(np.zeros(shape, dtype=dtype))
            wrapped.append(g)
        result = self._gradients(self._fn_cls.backward(self, *wrapped))
        out = []
        for pos, shape in zip(self._tensor_positions, self._in_shapes):
            g = result[pos]
            if g is None:
                out.append(None)
                continue
            if not isinstance(g, Tensor):
                g = Tensor._wrap(np.asarray(g))
            if g._data.shape != shape:
                try:
                    g = g.expand(shape) if g._data.size == 1 else g.reshape(shape)
                except (ValueError, RuntimeError):
                    raise RuntimeError(
                        f"Function {type(self).__name__} returned an invalid gradient at index "
                        f"{pos} - got {list(g._data.shape)} but expected shape compatible with "
                        f"{list(shape)}") from None
            out.append(g)
        return tuple(out)


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,), {"_fn_cls": cls})


class Function(metaclass=_FunctionMeta):
    """Base class for custom ops: define ``forward(ctx, ...)`` and ``backward(ctx, *grads)``
    as static methods and call ``MyFn.apply(...)``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def setup_context(ctx, inputs, output):
        return None

    @classmethod
    def apply(cls, *args, **kwargs):
        Tensor = _tensor.Tensor
        ctx = cls._backward_cls()
        tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[i] for i in tensor_positions]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        record = _GradState.enabled and any(t._requires_grad for t in tensors)
        with no_grad():
            if cls.setup_context is not Function.setup_context:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        if not record:
            return output
        for d in ctx._dirty:
            if d.grad_fn is None and d._requires_grad:
                raise RuntimeError(
                    "a leaf Variable that requires grad has been used in an in-place operation.")
        single = not isinstance(output, tuple)
        outputs = (output,) if single else output
        ctx._n_args = len(args)
        ctx._tensor_positions = tensor_positions
        ctx._in_shapes = [t._data.shape for t in tensors]
        ctx.next_functions = tuple(t._edge() for t in tensors)
        ctx.num_outputs = len(outputs)
        ctx._out_shapes = [o._data.shape if isinstance(o, Tensor) else () for o in outputs]
        ctx._out_dtypes = [o._data.dtype if isinstance(o, Tensor) else np.float32
                           for o in outputs]
        results = []
        for i, o in enumerate(outputs):
            if isinstance(o, Tensor) and id(o) not in ctx._non_diff \
                    and o._data.dtype.kind in "fc":
                if any(o is t for t in tensors) and not any(o is d for d in ctx._dirty):
                    o = Tensor._wrap(o._data)  # returning an input: a view-like alias
                o._requires_grad = True
                o.grad_fn = ctx
                o._output_nr = i
            results.append(o)
        return results[0] if single else tuple(results)


class once_differentiable:
    def __new__(cls, fn):
        return fn
