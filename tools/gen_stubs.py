"""Write the type stubs of numtorch's generated API: ``src/numtorch/_tensor.pyi`` (the Tensor
class with every method and property) and ``src/numtorch/__init__.pyi`` (the ``numtorch.*``
namespace).

Usage::

    PYTHONPATH=src python3 tools/gen_stubs.py            # rewrite both stubs
    PYTHONPATH=src python3 tools/gen_stubs.py --check    # exit 1, showing the diff, if stale

About 400 Tensor methods and 200 ``numtorch.*`` functions are attached at import time from the
op registry (``ops/_registry.OPS``, ``ops/__init__.py``), so editors and type checkers cannot see
them in the source. This script imports numtorch and writes a stub for everything it finds:

* a function that carries annotations (the hand-written methods of ``_tensor.py``, the creation
  functions, ``save``/``load`` ...) keeps them: Tensor methods are copied with their
  annotations (and ``typing.get_overloads``), namespace functions are re-exported from the module
  that defines them;
* an op function (plain, unannotated) gets a signature built from its parameters: each
  parameter name has one type in ``PARAM_TYPES`` (``dim`` is an int, ``keepdim`` a bool, ``other``
  a Tensor or a number ...), adjusted per op in ``OP_PARAM_TYPES``, and the result type comes
  from ``RETURNS`` (Tensor by default);
* what neither covers (overloads as torch has them: ``view(*shape)`` / ``view(dtype)``,
  ``max()`` / ``max(dim)``, the operators, closures made by ``ops/__init__.py``) is written out
  in ``MANUAL``.

A parameter name or attribute the tables do not know stops the script with its name, so a new
op cannot slip into the stub untyped. The output depends only on the code (no timestamp);
tests/test_stubs.py checks that the committed stubs are what this script writes now.
"""

import argparse
import ast
import difflib
import inspect
import re
import sys
import types
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import numtorch  # noqa: E402
from numtorch import _tensor  # noqa: E402
from numtorch.ops._registry import OPS  # noqa: E402

TENSOR_STUB = ROOT / "src" / "numtorch" / "_tensor.pyi"
INIT_STUB = ROOT / "src" / "numtorch" / "__init__.pyi"

T = "Tensor"
TN = "Tensor | Number"
DIMS = "_int | _size"

# ------------------------------------------------------------------------------ parameter types
#: The type of an op parameter, by name. ``| None`` is added where the default is None.
PARAM_TYPES = {
    # tensors
    "input": T, "index": T, "mask": T, "src": T, "source": T, "indices": T, "values": T,
    "tensor1": T, "tensor2": T, "t1": T, "t2": T, "mat1": T, "mat2": T, "vec": T, "vec2": T,
    "batch1": T, "batch2": T, "condition": T, "x1": T, "x2": T, "elements": T, "a": T,
    "b": T, "y": T, "x": T, "abs": T, "angle": T, "fweights": T, "aweights": T, "prepend": T,
    "append": T, "weights": T, "sorted_sequence": T, "operands": T, "tensors": "Sequence[Tensor]",
    # tensors or numbers
    "other": TN, "exponent": TN, "weight": TN, "end": TN, "test_elements": TN, "min": TN,
    "max": TN, "fill_value": "Number", "value": TN,
    # numbers
    "alpha": "Number", "beta": "Number", "correction": "Number", "rtol": "_float",
    "atol": "_float", "rcond": "_float", "eps": "_float", "nan": "_float", "posinf": "_float",
    "neginf": "_float", "dx": "_float", "p": "_float",
    # ints
    "dim": "_int", "offset": "_int", "diagonal": "_int", "k": "_int", "dim0": "_int",
    "dim1": "_int", "dim2": "_int", "start_dim": "_int", "end_dim": "_int", "chunks": "_int",
    "start": "_int", "length": "_int", "dimension": "_int", "size": "_int", "step": "_int",
    "n": "_int", "row": "_int", "col": "_int", "decimals": "_int", "N": "_int",
    "_stacklevel": "_int", "minlength": "_int", "bins": "_int", "output_size": "_int",
    # flags
    "keepdim": "_bool", "unbiased": "_bool", "equal_nan": "_bool", "descending": "_bool",
    "stable": "_bool", "largest": "_bool", "sorted": "_bool", "as_tuple": "_bool",
    "sparse_grad": "_bool", "assume_unique": "_bool", "invert": "_bool", "increasing": "_bool",
    "some": "_bool", "compute_uv": "_bool", "return_inverse": "_bool", "return_counts": "_bool",
    "requires_grad": "_bool", "non_blocking": "_bool", "right": "_bool", "copy": "_bool",
    # shapes and dims
    "shifts": DIMS, "dims": DIMS, "sizes": "_size", "shape": "_size", "destination": DIMS,
    "split_size_or_sections": DIMS, "indices_or_sections": "Tensor | _int | _size",
    "repeats": "Tensor | _int",
    # everything else
    "out": T, "dtype": "_dtype", "device": "_device", "layout": "_layout",
    "memory_format": "_memory_format", "rounding_mode": "_str", "reduce": "_str",
    "compute_mode": "_str", "equation": "_str", "side": "_str", "generator": "Generator",
    "args": "Any", "kwargs": "Any",
}

#: Varargs that are a shape: ``view(2, 3)`` and ``view((2, 3))`` (two overloads).
SHAPE_VARARGS = {"shape", "sizes", "size", "dims"}

#: Per-op exceptions to PARAM_TYPES, by (op name, parameter name).
OP_PARAM_TYPES = {
    **{(op, "dim"): f"{DIMS} | None" for op in (
        "sum", "mean", "prod", "var", "std", "var_mean", "std_mean", "norm", "nanmean", "nansum",
        "count_nonzero", "squeeze", "all", "any")},
    ("logsumexp", "dim"): DIMS, ("amax", "dim"): DIMS, ("amin", "dim"): DIMS,
    ("select", "index"): "_int", ("where", "input"): TN, ("where", "other"): TN,
    **{(op, "other"): T for op in (
        "matmul", "dot", "inner", "kron", "cross", "view_as", "reshape_as", "expand_as",
        "equal", "allclose", "isclose", "dist", "type_as")},
    ("norm", "p"): "Number | _str | None", ("dist", "p"): "Number",
    ("cdist", "p"): "_float", ("clamp_min", "min"): TN, ("clamp_max", "max"): TN,
    ("logit", "eps"): "_float | None", ("tile", "dims"): "_size", ("rot90", "dims"): "_size",
    ("tensordot", "dims"): "_int | Sequence[Sequence[_int]]", ("unflatten", "sizes"): "_size",
    ("movedim", "source"): DIMS, ("moveaxis", "source"): DIMS,
    ("index_add", "source"): T, ("index_add_", "source"): T, ("masked_fill", "value"): TN,
    ("histc", "min"): "Number", ("histc", "max"): "Number",
    ("broadcast_shapes", "shapes"): DIMS, ("atleast_1d", "tensors"): T,
    ("atleast_2d", "tensors"): T, ("atleast_3d", "tensors"): T, ("block_diag", "tensors"): T,
    ("broadcast_tensors", "tensors"): T, ("cartesian_prod", "tensors"): T,
    ("meshgrid", "tensors"): T, ("meshgrid", "indexing"): "_str",
    ("scatter", "value"): "Number", ("new_full", "size"): "_size",
    ("new_tensor", "data"): "Any", ("median", "dim"): "_int",
    ("unique", "dim"): "_int", ("unique_consecutive", "dim"): "_int",
    ("searchsorted", "values"): TN, ("compile", "model"): "Any",
    ("bincount", "weights"): T, ("is_tensor", "obj"): "object",
    ("use_deterministic_algorithms", "mode"): "_bool",
    ("use_deterministic_algorithms", "warn_only"): "_bool",
}

#: Parameters an op function has (with a default) that torch's op of that name does not: the
#: unary bitwise_not/logical_not share the binary ops' signature, true_divide is div.
HIDDEN_PARAMS = {("bitwise_not", "other"), ("logical_not", "other"),
                 ("true_divide", "rounding_mode")}

#: Parameters that have a default in numtorch's function but none in torch's op (the binary
#: bitwise/logical ops share the unary ones' ``other=None``): the stub shows them required.
REQUIRED_PARAMS = {(op, "other") for op in (
    "bitwise_and", "bitwise_or", "bitwise_xor", "logical_and", "logical_or", "logical_xor")}

# ------------------------------------------------------------------------------ result types
_SPLITS = "tuple[Tensor, ...]"
RETURNS = {
    **{name: f"return_types.{name}" for name in (
        "sort", "topk", "kthvalue", "mode", "cummax", "var_mean", "std_mean", "slogdet", "svd")},
    "cummin": "return_types.cummax",
    **dict.fromkeys(("allclose", "equal", "is_conj", "is_floating_point", "is_nonzero",
                     "is_tensor", "are_deterministic_algorithms_enabled"), "_bool"),
    **dict.fromkeys(("split", "chunk", "unbind", "tensor_split", "broadcast_tensors",
                     "meshgrid"), _SPLITS),
    "unique": "Tensor | tuple[Tensor, ...]", "unique_consecutive": "Tensor | tuple[Tensor, ...]",
    "broadcast_shapes": "Size", "numel": "_int", "get_num_interop_threads": "_int",
    "set_num_interop_threads": "None", "use_deterministic_algorithms": "None",
    **dict.fromkeys(("bincount", "clone", "histc", "searchsorted", "square", "index_add_",
                     "masked_fill_", "new_full", "new_tensor", "resize_", "scatter_", "zero_"), T),
    "compile": "Any", "get_num_threads": "_int", "set_num_threads": "None",
}

# ------------------------------------------------------------------------------ written out
_BINARY = "def {}(self, other: Tensor | Number) -> Tensor: ..."
_CASTS = ("float", "double", "half", "bfloat16", "long", "int", "short", "char", "byte", "bool")

MANUAL = {
    "view": """
@overload
def view(self, dtype: _dtype, /) -> Tensor: ...
@overload
def view(self, size: _size, /) -> Tensor: ...
@overload
def view(self, *size: _int) -> Tensor: ...""",
    **{name: f"""
@overload
def {name}(self) -> Tensor: ...
@overload
def {name}(self, dim: _int, keepdim: _bool = False) -> return_types.{name}: ...
@overload
def {name}(self, other: Tensor, /) -> Tensor: ...""" for name in ("max", "min")},
    "median": """
@overload
def median(self) -> Tensor: ...
@overload
def median(self, dim: _int, keepdim: _bool = False) -> return_types.median: ...""",
    "nonzero": """
@overload
def nonzero(self, *, as_tuple: Literal[False] = False) -> Tensor: ...
@overload
def nonzero(self, *, as_tuple: Literal[True]) -> tuple[Tensor, ...]: ...""",
    "to": """
@overload
def to(self, dtype: _dtype, non_blocking: _bool = False, copy: _bool = False) -> Tensor: ...
@overload
def to(self, device: _device | None = None, dtype: _dtype | None = None,
       non_blocking: _bool = False, copy: _bool = False) -> Tensor: ...
@overload
def to(self, other: Tensor, non_blocking: _bool = False, copy: _bool = False) -> Tensor: ...""",
    "where": "def where(self, condition: Tensor, other: Tensor | Number) -> Tensor: ...",
    "type_as": "def type_as(self, other: Tensor) -> Tensor: ...",
    "matrix_power": "def matrix_power(self, n: _int) -> Tensor: ...",
    "lerp": "def lerp(self, end: Tensor, weight: Tensor | Number) -> Tensor: ...",
    "lerp_": "def lerp_(self, end: Tensor, weight: Tensor | Number) -> Tensor: ...",
    **{f"addc{op}{s}": f"def addc{op}{s}(self, tensor1: Tensor, tensor2: Tensor, *, "
                       "value: Number = 1) -> Tensor: ..."
       for op in ("mul", "div") for s in ("", "_")},
    **{name: f"def {name}(self, memory_format: _memory_format | None = None) -> Tensor: ..."
       for name in _CASTS},
    **{f"new_{fill}": f"""
@overload
def new_{fill}(self, size: _size, /, *, dtype: _dtype | None = None,
              device: _device | None = None, requires_grad: _bool = False) -> Tensor: ...
@overload
def new_{fill}(self, *size: _int, dtype: _dtype | None = None, device: _device | None = None,
              requires_grad: _bool = False) -> Tensor: ..."""
       for fill in ("zeros", "ones", "empty")},
    "uniform_": """
def uniform_(self, from_: _float = 0.0, to: _float = 1.0, *,
             generator: Generator | None = None) -> Tensor: ...""",
    "normal_": """
def normal_(self, mean: _float = 0.0, std: _float = 1.0, *,
            generator: Generator | None = None) -> Tensor: ...""",
    "random_": """
@overload
def random_(self, to: _int, *, generator: Generator | None = None) -> Tensor: ...
@overload
def random_(self, from_: _int, to: _int | None, *, generator: Generator | None = None
            ) -> Tensor: ...""",
    "bernoulli_": "def bernoulli_(self, p: _float = 0.5, *, generator: Generator | None = None"
                  ") -> Tensor: ...",
    "exponential_": """
def exponential_(self, lambd: _float = 1.0, *,
                 generator: Generator | None = None) -> Tensor: ...""",
    "cauchy_": """
def cauchy_(self, median: _float = 0.0, sigma: _float = 1.0, *,
            generator: Generator | None = None) -> Tensor: ...""",
    "log_normal_": """
def log_normal_(self, mean: _float = 1.0, std: _float = 2.0, *,
                generator: Generator | None = None) -> Tensor: ...""",
    "geometric_": """
def geometric_(self, p: _float, *, generator: Generator | None = None) -> Tensor: ...""",
    "apply_": "def apply_(self, callable: Callable[[Any], Any]) -> Tensor: ...",
    "set_": "def set_(self, source: Tensor) -> Tensor: ...",
    "fill_": "def fill_(self, value: Tensor | Number) -> Tensor: ...",
    "copy_": "def copy_(self, src: Tensor | Any, non_blocking: _bool = False) -> Tensor: ...",
    "index_fill_": "def index_fill_(self, dim: _int, index: Tensor, value: Tensor | Number"
                   ") -> Tensor: ...",
    # operators
    **{f"__{op}__": _BINARY.format(f"__{op}__") for op in (
        "add", "radd", "iadd", "sub", "rsub", "isub", "mul", "rmul", "imul", "truediv",
        "rtruediv", "itruediv", "floordiv", "rfloordiv", "ifloordiv", "mod", "rmod", "imod",
        "pow", "rpow", "ipow", "and", "rand", "or", "ror", "xor", "rxor", "lt", "le", "gt",
        "ge")},
    "__matmul__": "def __matmul__(self, other: Tensor) -> Tensor: ...",
    "__rmatmul__": "def __rmatmul__(self, other: Tensor) -> Tensor: ...",
    # == and != give a Tensor, not a bool, as in torch
    "__eq__": "def __eq__(self, other: object) -> Tensor: ...  # type: ignore[override]",
    "__ne__": "def __ne__(self, other: object) -> Tensor: ...  # type: ignore[override]",
    "__hash__": "def __hash__(self) -> _int: ...",
    "__neg__": "def __neg__(self) -> Tensor: ...",
    "__pos__": "def __pos__(self) -> Tensor: ...",
    "__abs__": "def __abs__(self) -> Tensor: ...",
    "__invert__": "def __invert__(self) -> Tensor: ...",
    "__getitem__": "def __getitem__(self, indices: _Index) -> Tensor: ...",
    "__setitem__": "def __setitem__(self, indices: _Index, value: Tensor | Number) -> None: ...",
}

#: Properties and class attributes without annotations in the source, and the instance
#: attributes the package's own code reads (``_data``).
ATTRIBUTES = {
    "real": ("property", T), "imag": ("property", T),
    "grad_fn": ("attr", "Node | None"), "__array_priority__": ("attr", "_int"),
    "_data": ("attr", "np.ndarray"), "_requires_grad": ("attr", "_bool"),
    "_grad": ("attr", "Tensor | None"), "_output_nr": ("attr", "_int"),
    "_vbox": ("attr", "list[_int] | None"), "_base": ("attr", "Tensor | None"),
    "_acc": ("attr", "Callable[[], AccumulateGrad | None] | None"),
    "_hooks": ("attr", "list[Callable[[Tensor], Tensor | None]] | None"),
    "_post_acc_hooks": ("attr", "list[Callable[[Tensor], None]] | None"),
    "_retains_grad": ("attr", "_bool"), "_is_param": ("attr", "_bool"),
    "_view_version": ("attr", "_int"), "_is_inference": ("attr", "_bool"),
}

#: ``numtorch.*`` functions defined in numtorch/__init__.py itself.
MANUAL_EXPORTS = {
    **{name: f"def {name}(*args: Any) -> Tensor: ..." for name in (
        "FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "ByteTensor", "BoolTensor")},
    **{name: MANUAL[name].strip().replace("(self", "(input: Tensor")
       for name in ("max", "min", "median")},
    # one tensor in, one out; several in, a tuple out
    **{f"atleast_{n}d": f"""
@overload
def atleast_{n}d(tensor: Tensor, /) -> Tensor: ...
@overload
def atleast_{n}d(*tensors: Tensor) -> tuple[Tensor, ...]: ...""".strip() for n in (1, 2, 3)},
}

#: Named tuples of the ops that return several tensors (``numtorch.return_types``).
RETURN_TYPES = {
    "max": ("values", "indices"), "min": ("values", "indices"), "sort": ("values", "indices"),
    "topk": ("values", "indices"), "median": ("values", "indices"),
    "mode": ("values", "indices"), "kthvalue": ("values", "indices"),
    "cummax": ("values", "indices"), "var_mean": ("var", "mean"), "std_mean": ("std", "mean"),
    "aminmax": ("min", "max"), "slogdet": ("sign", "logabsdet"), "svd": ("U", "S", "V"),
}

SKIPPED = {"__dict__", "__weakref__", "__module__", "__doc__", "__qualname__",
           "__firstlineno__", "__static_attributes__", "__annotations__"}


# ------------------------------------------------------------------------------ rendering
def _default(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        return repr(value)
    return "..."


MISSING = []  # "op(param)" without a type in the tables


def _param_type(op, param):
    key = (op, param.name)
    if key in OP_PARAM_TYPES:
        ann = OP_PARAM_TYPES[key]
    elif param.name in PARAM_TYPES:
        ann = PARAM_TYPES[param.name]
    else:
        MISSING.append(f"{op}({param.name})")
        ann = "Any"
    if param.default is None and "None" not in ann.split(" | ") and key not in REQUIRED_PARAMS:
        ann += " | None"
    return ann


def _annotated(fn):
    return bool(getattr(fn, "__annotations__", None))


def _render_params(op, params, annotated):
    """The parameter list (without ``self``), PEP 570/3102 markers included."""
    out, kw_marker, last_posonly = [], False, False
    for p in params:
        if p.kind is p.POSITIONAL_ONLY:
            last_posonly = True
        elif last_posonly:
            out.append("/")
            last_posonly = False
        if annotated:
            ann = p.annotation if p.annotation is not p.empty else "Any"
            ann = ann if isinstance(ann, str) else inspect.formatannotation(ann)
        else:
            ann = _param_type(op, p)
        if p.kind is p.VAR_POSITIONAL:
            out.append(f"*{p.name}: {ann}")
            kw_marker = True
        elif p.kind is p.VAR_KEYWORD:
            out.append(f"**{p.name}: {ann}")
        else:
            if p.kind is p.KEYWORD_ONLY and not kw_marker:
                out.append("*")
                kw_marker = True
            text = f"{p.name}: {ann}"
            if p.default is not p.empty and (op, p.name) not in REQUIRED_PARAMS:
                text += f" = {_default(p.default)}"
            out.append(text)
    if last_posonly:
        out.append("/")
    return out


def _def(name, params, ret, method):
    """One ``def`` line, wrapped at 100 columns (4 fewer for a method) with aligned arguments."""
    args = (["self"] if method else []) + params
    line = f"def {name}({', '.join(args)}) -> {ret}: ..."
    width = 96 if method else 100
    if len(line) <= width:
        return line
    head = f"def {name}("
    rows, cur = [], head
    for i, arg in enumerate(args):
        piece = arg + ("," if i < len(args) - 1 else f") -> {ret}: ...")
        if cur != head and len(cur) + 1 + len(piece) > width:
            rows.append(cur)
            cur = " " * len(head) + piece
        else:
            cur += ("" if cur == head else " ") + piece
    rows.append(cur)
    return "\n".join(rows)


def _signature_defs(name, fn, method, drop=(), ret=None):
    """Stub lines for ``fn`` exposed as ``name`` (a method when ``method``: first parameter
    dropped). Shape varargs get the two overloads torch has."""
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    if method:
        params = params[1:]
    params = [p for p in params if p.name not in drop]
    annotated = _annotated(fn)
    if annotated:
        r = sig.return_annotation
        ret = r if isinstance(r, str) else ("Any" if r is sig.empty else
                                            inspect.formatannotation(r))
    elif ret is None:
        ret = RETURNS.get(fn.__name__ if name.endswith("_") else name, T)
    var = [p for p in params if p.kind is p.VAR_POSITIONAL]
    if var and var[0].name in SHAPE_VARARGS and not annotated:
        v = var[0]
        at = params.index(v)
        before = _render_params(name, params[:at], False)  # a function's input
        rest = _render_params(name, params[at + 1:], False)  # "*" and keywords, if any
        seq = [f"{v.name}: {'_size' if v.name != 'dims' else DIMS}"] + ([] if before else ["/"])
        return ["@overload", _def(name, before + seq + rest, ret, method),
                "@overload", _def(name, before + [f"*{v.name}: _int"] + rest[1:], ret, method)]
    return [_def(name, _render_params(fn.__name__ if not annotated else name, params,
                                      annotated), ret, method)]


def _op_defs(name, info, method, inplace=False):
    # Tensor methods have no ``out=`` in torch (numtorch's accept it, as the function they are);
    # underscore parameters (``_stacklevel``) are nobody's API.
    sig_params = inspect.signature(info.fn).parameters
    drop = tuple(n for n in sig_params if n.startswith("_") or (n == "out" and method)
                 or (name, n) in HIDDEN_PARAMS)
    ret = T if inplace else None
    if any(p.kind is p.VAR_POSITIONAL and p.name in SHAPE_VARARGS for p in sig_params.values()):
        return _signature_defs(name, info.fn, method, drop, ret)
    # parameter types are looked up under the op's own name (OP_PARAM_TYPES keys)
    params = list(sig_params.values())[1 if method else 0:]
    params = [p for p in params if p.name not in drop]
    key = info.fn.__name__
    if ret is None:
        ret = RETURNS.get(name, RETURNS.get(key, T))
    for p in params:
        if (name, p.name) in OP_PARAM_TYPES and (key, p.name) not in OP_PARAM_TYPES:
            key = name
    rendered = _render_params(key, params, False)
    return [_def(name, rendered, ret, method)]


def _indent(lines, n=4):
    lines = [part for line in lines for part in line.split("\n")]
    return [(" " * n + line) if line else "" for line in lines]


def _manual(name):
    return MANUAL[name].strip("\n").splitlines()


def _tensor_members():
    """name -> stub lines of every attribute of Tensor, in name order."""
    registry = {}
    for info in OPS:
        for name in info.methods:
            registry[name] = (info, False)
        for name in info.inplace:
            registry[name] = (info, True)
    members = {}
    names = {n for n in vars(numtorch.Tensor) if n not in SKIPPED} | {"_data"}
    for name in sorted(names):
        attr = inspect.getattr_static(numtorch.Tensor, name, None)
        if name in MANUAL:
            members[name] = _manual(name)
        elif name in ATTRIBUTES:
            kind, ann = ATTRIBUTES[name]
            if kind == "property":
                members[name] = ["@property", f"def {name}(self) -> {ann}: ..."]
            else:
                members[name] = [f"{name}: {ann}"]
        elif isinstance(attr, property):
            members[name] = _property(name, attr)
        elif name in registry and getattr(numtorch.Tensor, name) is registry[name][0].fn:
            members[name] = _op_defs(name, registry[name][0], True)
        elif name in registry and registry[name][1]:
            members[name] = _op_defs(name, registry[name][0], True, inplace=True)
        elif isinstance(attr, classmethod):
            members[name] = ["@classmethod"] + _signature_defs(name, attr.__func__, True)
        elif isinstance(attr, types.FunctionType):
            members[name] = _function(name, attr)
        else:
            raise SystemExit(f"gen_stubs: Tensor.{name} ({type(attr).__name__}) has no stub: "
                             "add it to MANUAL or ATTRIBUTES")
    return members


def _property(name, prop):
    fget = prop.fget
    ann = fget.__annotations__.get("return") if _annotated(fget) else None
    if ann is None:
        raise SystemExit(f"gen_stubs: property Tensor.{name} has no return annotation")
    lines = ["@property", f"def {name}(self) -> {ann}: ..."]
    if prop.fset is not None:
        value = prop.fset.__annotations__.get("value", "Any")
        lines += [f"@{name}.setter", f"def {name}(self, value: {value}) -> None: ..."]
    return lines


def _function(name, fn):
    if fn.__module__ == "numtorch._tensor":
        overloads = typing.get_overloads(fn)
        if overloads:
            lines = []
            for o in overloads:
                lines += ["@overload"] + _signature_defs(name, o, True)
            return lines
        if not _annotated(fn) and name not in ("__init__",):
            raise SystemExit(f"gen_stubs: Tensor.{name} in _tensor.py has no annotations")
        return _signature_defs(name, fn, True)
    if not _annotated(fn) and name not in RETURNS:
        MISSING.append(f"Tensor.{name}(-> result type in RETURNS, or MANUAL)")
    return _signature_defs(name, fn, True)


TENSOR_HEADER = '''\
# Generated by tools/gen_stubs.py from the Tensor class and the op registry; do not edit.
# Regenerate with `PYTHONPATH=src python tools/gen_stubs.py`.
from builtins import bool as _bool
from builtins import complex as _complex
from builtins import float as _float
from builtins import int as _int
from builtins import str as _str
from collections.abc import Callable, Iterator, Sequence
from types import EllipsisType
from typing import Any, Literal, NamedTuple, TypeAlias, overload

import numpy as np

from .random import Generator
from .types import Number, _device, _dtype, _memory_format, _size
{imports}
_Index: TypeAlias = (
    None | _int | slice | Tensor | Sequence[Any] | tuple[Any, ...] | EllipsisType | np.ndarray
)
'''


def _source_imports(body):
    """``from .x import y`` lines for the names ``body`` uses that _tensor.py imports (at module
    level or under TYPE_CHECKING) and the fixed header does not: the hand-written hints name
    Size, Node, the hook handle ... wherever _tensor.py gets them from."""
    fixed = set(re.findall(r"import (?:.* as )?(\w+)$", TENSOR_HEADER, re.M))
    fixed |= {"Callable", "Iterator", "Sequence", "Any", "Literal", "NamedTuple", "TypeAlias",
              "overload", "Number", "_device", "_dtype", "_memory_format", "_size"}
    tree = ast.parse(Path(_tensor.__file__).read_text(encoding="utf-8"))
    nodes = [n for n in tree.body if isinstance(n, ast.ImportFrom)]
    for n in tree.body:
        if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test):
            nodes += [m for m in n.body if isinstance(m, ast.ImportFrom)]
    lines = set()
    for node in nodes:
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            bound = alias.asname or alias.name
            if bound not in fixed and re.search(rf"\b{re.escape(bound)}\b", body):
                asname = f" as {alias.asname}" if alias.asname else ""
                lines.add(f"from {module} import {alias.name}{asname}")
    return sorted(lines)


def tensor_stub():
    lines = ["", "", "class return_types:",
              '    """Named tuples of the ops that return several tensors."""', ""]
    for name, fields in RETURN_TYPES.items():
        lines.append(f"    class {name}(NamedTuple):")
        lines += [f"        {f}: Tensor" for f in fields]
        lines.append("")
    lines += ["", "class Tensor:", f'    """{numtorch.Tensor.__doc__}"""', ""]
    for member in _tensor_members().values():
        lines += _indent(member)
    lines += ["", "", "_LEGACY_NAMES: dict[_str, _str]", ""]
    for fn in (_tensor._rebuild_tensor, _tensor._wrap_dim):
        lines += _signature_defs(fn.__name__, fn, False)
    body = "\n".join(lines) + "\n"
    imports = "".join(line + "\n" for line in _source_imports(body))
    return TENSOR_HEADER.format(imports=imports) + body


# ------------------------------------------------------------------------------ numtorch.*
INIT_HEADER = '''\
# Generated by tools/gen_stubs.py from the numtorch namespace; do not edit.
# Regenerate with `PYTHONPATH=src python tools/gen_stubs.py`.
"""numtorch: PyTorch's programming model on NumPy."""

from builtins import bool as _bool
from builtins import float as _float
from builtins import int as _int
from builtins import str as _str
from collections.abc import Sequence
from typing import Any, overload

from ._size import Size as Size
from ._tensor import Tensor as Tensor
from ._tensor import return_types as return_types
from .random import Generator as Generator
from .types import Number, _layout, _memory_format, _size
from .types import _device as _DeviceArg
'''

_INIT_DONE = {"Size", "Tensor", "return_types", "Generator"}


def _bound_in_init():
    """The names numtorch/__init__.py binds itself (imports, assignments, defs)."""
    tree = ast.parse(Path(numtorch.__file__).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            # ``from .random import seed`` / ``from . import ops as _ops`` bind the submodule
            names |= ({node.module.split(".")[0]} if node.module else
                      {a.name for a in node.names})
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
    return names


def _namespace_names():
    """numtorch's public names as a fresh ``import numtorch`` has them. A submodule imported
    since (``numtorch.cli``) is an attribute of the package too, but not part of its namespace;
    names that __init__.py puts in with ``globals()`` (the ops' exports) are."""
    bound = _bound_in_init()
    names = {n for n, v in vars(numtorch).items()
             if (not n.startswith("_") or n.startswith("_foreach"))
             and (not isinstance(v, types.ModuleType) or n in bound)}
    return sorted(names | set(numtorch._LAZY_MODULES) | set(numtorch._LAZY_FUNCTIONS))


def _defining_module(name, obj):
    """The module of numtorch that defines ``obj`` under ``name`` (or under its own name)."""
    mod = getattr(obj, "__module__", None)
    for candidate in (mod, "numtorch._dtype", "numtorch.random"):
        if candidate and candidate.startswith("numtorch.") and candidate in sys.modules:
            module = sys.modules[candidate]
            for attr in (name, getattr(obj, "__name__", None)):
                if attr and getattr(module, attr, None) is obj:
                    return candidate, attr
    return None, None


def init_stub():
    exports = {n: info for info in OPS for n in info.exports}
    lines = INIT_HEADER.splitlines() + [""]
    modules, reexports, defs, constants = [], [], [], []
    for name in _namespace_names():
        if name in _INIT_DONE:
            continue
        if name in numtorch._LAZY_MODULES:
            modules.append(f"from . import {name} as {name}")
            continue
        if name in numtorch._LAZY_FUNCTIONS:
            module = numtorch._LAZY_FUNCTIONS[name]
            reexports.append(f"from .{module} import {name} as {name}")
            continue
        obj = getattr(numtorch, name)
        if isinstance(obj, types.ModuleType) and name.startswith("_"):
            continue
        if isinstance(obj, types.ModuleType):
            modules.append(f"from . import {name} as {name}")
        elif name in MANUAL_EXPORTS:
            defs.append(MANUAL_EXPORTS[name])
        elif name in exports and exports[name].fn is obj:
            defs += _op_defs(name, exports[name], False)
        elif isinstance(obj, types.FunctionType) and obj.__module__ == "numtorch":
            # defined in numtorch/__init__.py itself: nothing to re-export it from
            if not _annotated(obj) and name not in RETURNS:
                MISSING.append(f"{name}(-> result type in RETURNS)")
            defs += _signature_defs(name, obj, False)
        elif isinstance(obj, (float, str)):
            constants.append(f"{name}: _{type(obj).__name__}")  # numtorch.float is a dtype
        else:
            module, attr = _defining_module(name, obj)
            if module is None:
                raise SystemExit(f"gen_stubs: numtorch.{name} ({type(obj).__name__}) has no "
                                 "stub: add it to MANUAL_EXPORTS")
            fn = obj if isinstance(obj, types.FunctionType) else None
            if name.startswith("_foreach"):
                # the optimizers' list ops, made in a loop by _foreach.py
                ret = "Sequence[Tensor]" if name.endswith("_") else "tuple[Tensor, ...]"
                defs.append(_def(name, ["self: Sequence[Tensor]", "*args: Any",
                                        "**kwargs: Any"], ret, False))
                continue
            if fn is not None and not _annotated(fn):
                # unannotated and not an op: typed from the tables, result type required
                if name not in RETURNS:
                    MISSING.append(f"{name}(-> result type in RETURNS)")
                defs += _signature_defs(name, fn, False)
            else:
                rel = module[len("numtorch"):]
                reexports.append(f"from {rel} import {attr} as {name}")
    # the private modules named above are attributes of the package too (``from .. import
    # _dtype`` inside numtorch)
    private = sorted({line.split()[1][1:].split(".")[0] for line in reexports} - {""})
    modules += [f"from . import {m} as {m}" for m in private
                if m.startswith("_")]
    lines += modules + [""] + reexports + [""] + constants + ["", ""]
    # here ``_dtype`` and ``_device`` are the modules: the types are ``dtype`` and _DeviceArg
    lines += [re.sub(r"\b_device\b", "_DeviceArg", re.sub(r"\b_dtype\b", "dtype", d))
              for d in defs]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare the committed stubs with the output; exit 1 if stale")
    args = parser.parse_args(argv)
    stale = False
    outputs = ((TENSOR_STUB, tensor_stub()), (INIT_STUB, init_stub()))
    if MISSING:
        raise SystemExit("gen_stubs: no type for these parameters (add them to PARAM_TYPES or "
                         "OP_PARAM_TYPES): " + ", ".join(sorted(set(MISSING))))
    for path, text in outputs:
        if args.check:
            old = path.read_text(encoding="utf-8") if path.exists() else ""
            if old != text:
                stale = True
                rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                sys.stdout.writelines(difflib.unified_diff(
                    old.splitlines(keepends=True), text.splitlines(keepends=True),
                    f"{rel} (committed)", f"{rel} (generated)"))
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("stubs are stale: run `PYTHONPATH=src python tools/gen_stubs.py`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
