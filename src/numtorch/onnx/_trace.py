"""Recording a forward pass at numtorch's public API for the ONNX exporter.

While :func:`tracing` is active, the functions of ``numtorch``, ``numtorch.nn.functional``, the
methods and operators of :class:`~numtorch.Tensor` and ``Module.__call__`` are replaced by thin
wrappers (and put back in a ``finally``). A wrapper called from the model's code (not from inside
another recorded call) runs the real function, then asks the op's mapping in :data:`SYMBOLICS`
(or, for a layer that is one ONNX construct, :data:`MODULE_SYMBOLICS`) to write the ONNX nodes
computing the same result from the ONNX values of its inputs. Tensors are told apart by object
identity; every tensor seen is kept alive until the export ends, so identities are never reused.

Sizes read from a traced tensor (``x.size(0)``, ``x.shape``) are :class:`SymInt` when the export
has dynamic axes: ints that remember how to compute themselves in the graph, so that
``x.view(x.size(0), -1)`` reshapes by the batch size of the input the graph is run on.
"""

import inspect
import sys
import types
import warnings
from typing import Any

import numpy as np

import numtorch
import numtorch.nn.functional as F
from numtorch.nn import Module

from .._size import Size
from .._tensor import Tensor
from ._graph import Graph

__all__ = ["SYMBOLICS", "MODULE_SYMBOLICS", "MODULE_GUARDS", "symbolic", "module_symbolic",
           "Tracer", "SymInt", "TracerWarning", "ExportError", "tracing", "active"]

SYMBOLICS: dict[str, Any] = {}
MODULE_SYMBOLICS: dict[type, Any] = {}
# module class -> check run (untraced) before the module is traced through
MODULE_GUARDS: dict[type, Any] = {}

_ACTIVE = None


def active():
    """The tracer of the export under way, or None."""
    return _ACTIVE


class TracerWarning(Warning):
    """A Python value was read from a traced tensor: the graph treats it as a constant."""


class ExportError(RuntimeError):
    """The model cannot be exported as asked (an op without ONNX mapping, a wrong graph …)."""


def symbolic(*names):
    """Register an op mapping under the op's names (``'add'``, ``'Tensor.T'`` …)."""
    def register(fn):
        for name in names:
            SYMBOLICS[name] = fn
        return fn
    return register


def module_symbolic(*classes):
    def register(fn):
        for cls in classes:
            MODULE_SYMBOLICS[cls] = fn
        return fn
    return register


# Tensor operators and the op each one is.
_DUNDERS = {
    "__add__": "add", "__radd__": "radd", "__iadd__": "add_", "__sub__": "sub",
    "__rsub__": "rsub", "__isub__": "sub_", "__mul__": "mul", "__rmul__": "rmul",
    "__imul__": "mul_", "__truediv__": "div", "__rtruediv__": "rdiv", "__itruediv__": "div_",
    "__floordiv__": "floor_divide", "__rfloordiv__": "rfloor_divide", "__mod__": "remainder",
    "__pow__": "pow", "__rpow__": "rpow", "__matmul__": "matmul", "__rmatmul__": "rmatmul",
    "__neg__": "neg", "__pos__": "positive", "__abs__": "abs", "__invert__": "bitwise_not",
    "__and__": "bitwise_and", "__or__": "bitwise_or", "__xor__": "bitwise_xor",
    "__rand__": "bitwise_and", "__ror__": "bitwise_or", "__rxor__": "bitwise_xor",
    "__eq__": "eq", "__ne__": "ne", "__lt__": "lt", "__le__": "le", "__gt__": "gt",
    "__ge__": "ge", "__getitem__": "getitem", "__setitem__": "setitem",
    "__bool__": "__bool__", "__float__": "__float__", "__int__": "__int__",
    "__index__": "__index__", "__iter__": "__iter__", "__len__": "__len__",
    "__array__": "__array__",
}
# Methods that hand a tensor's data to Python: the trace keeps the value as a constant.
_DATA_LEAKS = {"__bool__", "__float__", "__int__", "__index__", "item", "tolist", "numpy",
               "__array__", "equal", "allclose", "is_nonzero", "__iter__"}
# Ops that draw random numbers: a constant drawn once would be a wrong graph.
_RANDOM = {"rand", "randn", "randint", "rand_like", "randn_like", "randint_like", "randperm",
           "bernoulli", "multinomial", "normal", "normal_", "uniform_", "bernoulli_",
           "exponential_", "random_", "cauchy_", "log_normal_", "geometric_", "rrelu"}
# Tensor attributes read as properties that are ops.
_PROPERTIES = ("T", "mT", "data", "H", "mH")


class SymInt(int):
    """An int read from a traced tensor's shape that can compute itself in the graph."""

    def __new__(cls, value, tracer, build):
        self = int.__new__(cls, value)
        self._tracer = tracer
        self._build = build
        self._name = None
        return self

    def onnx(self):
        """The name of a 1-D int64 value of one element holding this int."""
        if self._name is None:
            self._name = self._build()
        return self._name

    def _binary(self, other, op, value, swap=False):
        if isinstance(other, bool) or not isinstance(other, int):
            return NotImplemented
        tr = self._tracer

        def build():
            a = self.onnx()
            b = other.onnx() if isinstance(other, SymInt) else tr.ints([int(other)])
            return tr.node(op, [b, a] if swap else [a, b])
        return SymInt(value, tr, build)

    def __add__(self, o):
        return self._binary(o, "Add", int(self) + int(o)) if isinstance(o, int) else NotImplemented

    def __radd__(self, o):
        return self._binary(o, "Add", int(o) + int(self), True) if isinstance(o, int) else \
            NotImplemented

    def __sub__(self, o):
        return self._binary(o, "Sub", int(self) - int(o)) if isinstance(o, int) else NotImplemented

    def __rsub__(self, o):
        return self._binary(o, "Sub", int(o) - int(self), True) if isinstance(o, int) else \
            NotImplemented

    def __mul__(self, o):
        return self._binary(o, "Mul", int(self) * int(o)) if isinstance(o, int) else NotImplemented

    def __rmul__(self, o):
        return self._binary(o, "Mul", int(o) * int(self), True) if isinstance(o, int) else \
            NotImplemented

    def __floordiv__(self, o):
        # sizes are non-negative, where ONNX's truncating Div equals Python's floor division
        if isinstance(o, int) and int(self) >= 0 and int(o) > 0:
            return self._binary(o, "Div", int(self) // int(o))
        return int(self) // o

    def __neg__(self):
        tr = self._tracer
        return SymInt(-int(self), tr, lambda: tr.node("Neg", [self.onnx()]))

    def __repr__(self):
        return int.__repr__(int(self))

    __str__ = __repr__

    def __hash__(self):
        return int.__hash__(int(self))

    def __reduce__(self):
        return (int, (int(self),))


class _Patches:
    """Attribute replacements, undone in reverse order."""

    def __init__(self):
        self._undo = []

    def set(self, owner, name, value):
        namespace = vars(owner)
        self._undo.append((owner, name, name in namespace, namespace.get(name)))
        setattr(owner, name, value)

    def set_item(self, mapping, key, value):
        self._undo.append((mapping, key, key in mapping, mapping.get(key)))
        mapping[key] = value

    def undo(self):
        while self._undo:
            owner, name, had, old = self._undo.pop()
            if isinstance(owner, dict):
                if had:
                    owner[name] = old
                else:
                    owner.pop(name, None)
            elif had:
                setattr(owner, name, old)
            else:
                try:
                    delattr(owner, name)
                except AttributeError:
                    pass


def _tensors_in(obj, out):
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _tensors_in(item, out)
    elif isinstance(obj, dict):
        for item in obj.values():
            _tensors_in(item, out)
    return out


def _has_symint(obj):
    if isinstance(obj, SymInt):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_has_symint(o) for o in obj)
    if isinstance(obj, dict):
        return any(_has_symint(o) for o in obj.values())
    return False


class Tracer(Graph):
    """The graph under construction plus what the trace knows about the tensors it has seen."""

    def __init__(self, model, opset, symbolic_sizes, export_params):
        super().__init__(opset)
        self.model = model
        self.symbolic_sizes = symbolic_sizes
        self.export_params = export_params
        self.depth = 0
        self.values = {}  # id(tensor) -> (onnx name, tensor)
        self.params = {}  # id(tensor) -> (state_dict key, tensor)
        self.param_inputs = []  # keys of parameters used, when export_params=False
        self.scopes = {}  # onnx name -> module path where it was computed (for diagnostics)
        self.module_names = {id(m): name for name, m in model.named_modules()}
        self.module_stack = []
        self.out = None  # the eager result of the op being mapped
        self.op_name = None
        self._shapes = {}
        for key, tensor in model.state_dict(keep_vars=True).items():
            self.params.setdefault(id(tensor), (key, tensor))

    # ------------------------------------------------------------------ values
    def is_live(self, t):
        """Whether ``t`` is computed in the graph (from the inputs or the parameters)."""
        return id(t) in self.values or id(t) in self.params

    def register(self, tensor, name):
        self.values[id(tensor)] = (name, tensor)
        self.dtypes[name] = np.dtype(self.array(tensor).dtype)
        self.scopes[name] = self.scope

    def array(self, t):
        """The data of ``t`` as an ndarray (read without being traced)."""
        self.depth += 1
        try:
            return np.asarray(t.detach().numpy())
        finally:
            self.depth -= 1

    def v(self, t):
        """The ONNX name holding tensor ``t``: a traced value, a parameter or a constant."""
        entry = self.values.get(id(t))
        if entry is not None:
            return entry[0]
        param = self.params.get(id(t))
        if param is not None:
            key = param[0]
            if key not in self.initializers:
                if self.export_params:
                    self.const(self.array(t), name=key)
                else:
                    self.param_inputs.append(key)
                    self.initializers[key] = self.array(t)
            self.values[id(t)] = (key, t)
            self.dtypes[key] = self.initializers[key].dtype
            return key
        name = self.const(self.array(t))
        self.values[id(t)] = (name, t)
        return name

    def dtype(self, x):
        """The NumPy dtype of a tensor or of an ONNX value name."""
        if isinstance(x, str):
            return self.dtypes[x]
        return self.array(x).dtype

    def shape(self, x, start=None, end=None):
        if isinstance(x, str):
            return super().shape(x, start, end)
        return tuple(self.array(x).shape)

    def rank(self, t):
        return self.array(t).ndim

    def operand(self, x, dtype):
        """``x`` (tensor, Python number or SymInt) as an ONNX value of ``dtype``."""
        if isinstance(x, Tensor):
            return self.cast(self.v(x), dtype)
        if isinstance(x, SymInt):
            return self.cast(self.squeeze(x.onnx(), [0]), dtype, np.int64)
        return self.const(np.asarray(x, dtype=dtype))

    def dims(self, values):
        """A 1-D int64 value from ints and :class:`SymInt` (computed in the graph if needed)."""
        values = list(values)
        if not any(isinstance(v, SymInt) for v in values):
            return self.ints([int(v) for v in values])
        parts = [v.onnx() if isinstance(v, SymInt) else self.ints([int(v)]) for v in values]
        return parts[0] if len(parts) == 1 else self.node("Concat", parts, axis=0)

    def sym_dim(self, t, dim):
        """Dimension ``dim`` of traced tensor ``t`` as a :class:`SymInt`."""
        size = self.array(t).shape[dim]
        name = self.values[id(t)][0]

        def build():
            key = (name, dim)
            if key not in self._shapes:
                shape = self.shape(name)
                index = self.const(np.asarray(dim, dtype=np.int64))
                scalar = self.node("Gather", [shape, index], axis=0)
                self._shapes[key] = self.unsqueeze(scalar, [0])
            return self._shapes[key]
        return SymInt(size, self, build)

    # ------------------------------------------------------------------ recording
    def module_path(self):
        path = self.module_stack[-1] if self.module_stack else ""
        return path or type(self.model).__name__

    def unmapped(self, display):
        return ExportError(f"numtorch.onnx.export: no ONNX mapping for {display!r} "
                           f"(in module {self.module_path()!r})")

    def _live_args(self, args, kwargs):
        tensors = _tensors_in(list(args) + list(kwargs.values()), [])
        return any(self.is_live(t) for t in tensors) or _has_symint(args) or \
            _has_symint(kwargs)

    def call(self, display, key, fn, args, kwargs):
        live = self._live_args(args, kwargs)
        if not live and key in _RANDOM:
            raise self.unmapped(display)
        self.depth += 1
        try:
            out = fn(*args, **kwargs)
        finally:
            self.depth -= 1
        if not live:
            return out
        if key in _DATA_LEAKS:
            warnings.warn(f"{display}: converting a traced tensor to a Python value might cause "
                          "the trace to be incorrect. We can't record the data flow of Python "
                          "values, so this value will be treated as a constant in the future. "
                          "This means that the trace might not generalize to other inputs!",
                          TracerWarning, stacklevel=3)
            return out
        outputs = _tensors_in(out, [])
        if not outputs:
            return out
        inplace = key.endswith("_") and not key.endswith("__") or kwargs.get("inplace") is True
        base = key[:-1] if key.endswith("_") and not key.endswith("__") else key
        handler = SYMBOLICS.get(display) or SYMBOLICS.get(base)
        if handler is None or key in _RANDOM:
            raise self.unmapped(display)
        if inplace:
            self._check_inplace(display, outputs)
        self.emit(handler, outputs, out, args, kwargs, display)
        return out

    def emit(self, handler, outputs, out, args, kwargs, display):
        self.scope = self.module_stack[-1] if self.module_stack else ""
        self.out, self.op_name = out, display
        names = handler(self, *args, **kwargs)
        names = names if isinstance(names, (list, tuple)) else [names]
        if len(names) != len(outputs):
            raise ExportError(f"numtorch.onnx.export: the mapping of {display!r} gave "
                              f"{len(names)} outputs for {len(outputs)} (in module "
                              f"{self.module_path()!r})")
        for tensor, name in zip(outputs, names):
            if name is None:
                raise self.unmapped(display)
            want = self.array(tensor).dtype
            if name in self.dtypes and self.dtypes[name] != want:
                name = self.cast(name, want)
            self.register(tensor, name)

    def _check_inplace(self, display, outputs):
        for tensor in outputs:
            data = self.array(tensor)
            for other_id, (_, other) in list(self.values.items()) + list(self.params.items()):
                if other_id != id(tensor) and np.may_share_memory(data, self.array(other)):
                    raise ExportError(
                        f"numtorch.onnx.export: {display!r} changes in place a tensor that "
                        f"shares memory with another (a view or a parameter), which an ONNX "
                        f"graph cannot express (in module {self.module_path()!r})")

    def call_module(self, module, orig_call, args, kwargs):
        path = self.module_names.get(id(module), "")
        self.module_stack.append(path)
        try:
            guard = MODULE_GUARDS.get(type(module))
            if guard is not None:
                self.depth += 1
                try:
                    guard(self, module, *args, **kwargs)
                finally:
                    self.depth -= 1
            handler = self._module_handler(module)
            if handler is None or not self._live_args(args, kwargs):
                return orig_call(module, *args, **kwargs)
            self.depth += 1
            try:
                out = orig_call(module, *args, **kwargs)
            finally:
                self.depth -= 1
            outputs = _tensors_in(out, [])
            self.emit(lambda g, *a, **k: handler(g, module, *a, **k), outputs, out, args, kwargs,
                      _module_display(type(module)))
            return out
        finally:
            self.module_stack.pop()

    def _module_handler(self, module):
        if (module._forward_hooks or module._forward_pre_hooks or module._backward_hooks
                or getattr(module, "_backward_pre_hooks", None)):
            return None
        cls = type(module)
        for base in cls.__mro__:
            if base in MODULE_SYMBOLICS:
                return MODULE_SYMBOLICS[base] if cls.forward is base.forward else None
        return None


def _module_display(cls):
    if cls.__module__.startswith("numtorch.nn."):
        return f"torch.nn.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


# ---------------------------------------------------------------------- installing the wrappers
def _function_wrapper(display, key, fn):
    def wrapper(*args, **kwargs):
        tr = _ACTIVE
        if tr is None or tr.depth:
            return fn(*args, **kwargs)
        return tr.call(display, key, fn, args, kwargs)
    wrapper.__name__ = getattr(fn, "__name__", key)
    wrapper.__qualname__ = getattr(fn, "__qualname__", key)
    wrapper.__doc__ = getattr(fn, "__doc__", None)
    wrapper.__wrapped__ = fn
    return wrapper


def _size_wrapper(fn):
    def size(self, dim=None):
        tr = _ACTIVE
        if tr is None or tr.depth or not tr.symbolic_sizes or id(self) not in tr.values:
            return fn(self, dim) if dim is not None else fn(self)
        if dim is not None:
            return tr.sym_dim(self, dim if dim >= 0 else dim + tr.rank(self))
        return Size(tr.sym_dim(self, i) for i in range(tr.rank(self)))
    return size


def _shape_property(prop):
    def get(self):
        tr = _ACTIVE
        if tr is None or tr.depth or not tr.symbolic_sizes or id(self) not in tr.values:
            return prop.fget(self)
        return Size(tr.sym_dim(self, i) for i in range(tr.rank(self)))
    return property(get, prop.fset)


def _tensor_property(name, prop):
    def get(self):
        tr = _ACTIVE
        if tr is None or tr.depth:
            return prop.fget(self)
        return tr.call(f"Tensor.{name}", f"Tensor.{name}", prop.fget, (self,), {})
    return property(get, prop.fset, prop.fdel, prop.__doc__)


_SKIP_FUNCTIONS = {"is_grad_enabled", "set_grad_enabled", "no_grad", "enable_grad",
                   "inference_mode", "get_default_dtype", "set_default_dtype", "manual_seed",
                   "seed", "initial_seed", "is_tensor", "compile", "set_printoptions",
                   "save", "load", "from_numpy"}
_SKIP_METHODS = {"size", "dim", "ndimension", "numel", "nelement", "element_size", "type",
                 "is_floating_point", "is_complex", "is_contiguous", "register_hook",
                 "retain_grad", "backward", "requires_grad_", "data_ptr", "untyped_storage",
                 "storage", "get_device", "cpu", "cuda", "is_shared", "share_memory_",
                 "is_set_to", "stride", "storage_offset", "zero_grad", "pin_memory"}


def _install(tracer, patches):

    originals = {}  # id(original function) -> wrapper

    def wrap(owner, name, display, key):
        fn = inspect.getattr_static(owner, name, None)
        if not callable(fn) or isinstance(fn, type) or name.startswith("_") and \
                name not in _DUNDERS:
            return
        if id(fn) in originals and owner is not Tensor:
            wrapper = originals[id(fn)][1]
        else:
            wrapper = _function_wrapper(display, key, fn)
            originals.setdefault(id(fn), (fn, wrapper))
        patches.set(owner, name, wrapper)

    for name, fn in list(vars(numtorch).items()):
        if isinstance(fn, (types.FunctionType, types.BuiltinFunctionType)) and \
                name not in _SKIP_FUNCTIONS and not name.startswith("_"):
            wrap(numtorch, name, f"torch.{name}", name)
    for name, fn in list(vars(F).items()):
        if isinstance(fn, types.FunctionType) and not name.startswith("_"):
            wrap(F, name, f"torch.nn.functional.{name}", name)
    # Methods may live on Tensor or on a base class; the wrappers go on Tensor itself.
    tensor_attrs = {name: inspect.getattr_static(Tensor, name) for name in dir(Tensor)}
    for name, fn in tensor_attrs.items():
        if name in _DUNDERS:
            if isinstance(fn, types.FunctionType):
                wrap(Tensor, name, f"Tensor.{name}", _DUNDERS[name])
        elif isinstance(fn, types.FunctionType) and not name.startswith("_") and \
                name not in _SKIP_METHODS:
            wrap(Tensor, name, f"Tensor.{name}", name)
    patches.set(Tensor, "size", _size_wrapper(tensor_attrs["size"]))
    patches.set(Tensor, "shape", _shape_property(tensor_attrs["shape"]))
    for name in _PROPERTIES:
        prop = tensor_attrs.get(name)
        if isinstance(prop, property):
            patches.set(Tensor, name, _tensor_property(name, prop))

    # Functions reached by a name bound elsewhere (``from numtorch.nn.functional import relu``,
    # ``self.activation = F.gelu``) are replaced there too.
    module_names = {type(m).__module__ for m in tracer.model.modules()}
    for mod_name, mod in list(sys.modules.items()):
        if mod is None or not (mod_name.startswith("numtorch.") or mod_name in module_names):
            continue
        if mod_name.startswith("numtorch.onnx") or mod_name.startswith("numtorch.ops") or \
                mod_name.startswith("numtorch.autograd") or mod_name == "numtorch._tensor":
            continue
        namespace = getattr(mod, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for name, value in list(namespace.items()):
            entry = originals.get(id(value))
            if entry is not None and entry[0] is value:
                patches.set_item(namespace, name, entry[1])
    for module in tracer.model.modules():
        for name, value in list(vars(module).items()):
            entry = originals.get(id(value))
            if entry is not None and entry[0] is value:
                patches.set_item(vars(module), name, entry[1])

    orig_call = vars(Module)["__call__"]

    def module_call(self, *args, **kwargs):
        tr = _ACTIVE
        if tr is None or tr.depth:
            return orig_call(self, *args, **kwargs)
        return tr.call_module(self, orig_call, args, kwargs)
    patches.set(Module, "__call__", module_call)


class tracing:
    """Context manager: ``tracer`` records what runs inside."""

    def __init__(self, tracer):
        self.tracer = tracer
        self.patches = _Patches()

    def __enter__(self):
        global _ACTIVE
        if _ACTIVE is not None:
            raise RuntimeError("numtorch.onnx.export: an export is already in progress")
        try:
            _install(self.tracer, self.patches)
        except BaseException:
            self.patches.undo()
            raise
        _ACTIVE = self.tracer
        return self.tracer

    def __exit__(self, *exc):
        global _ACTIVE
        _ACTIVE = None
        self.patches.undo()
        return False
