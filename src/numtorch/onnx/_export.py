"""``numtorch.onnx.export``: trace, write the ONNX model, check it, and check that it computes
what the model computes."""

import enum
import inspect
import os
import warnings

from .. import no_grad
from .._tensor import Tensor
from ..nn import Module
from ..version import __version__
from ._trace import ExportError, Tracer, tracing

__all__ = ["export", "TrainingMode", "OperatorExportTypes", "is_in_onnx_export"]

DEFAULT_OPSET = 17
MIN_OPSET = 17

_EXTRA_MESSAGE = ("numtorch.onnx.export needs the 'onnx' package (and 'onnxruntime' to run "
                  "the exported model), the optional extra numtorch[onnx]: "
                  "pip install 'numtorch[onnx]'")

_exporting = False


class TrainingMode(enum.IntEnum):
    """The mode the model is exported in (``torch.onnx.TrainingMode``)."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


class OperatorExportTypes(enum.IntEnum):
    """Kept for the signature of :func:`export`; only ``ONNX`` is supported."""

    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3


def is_in_onnx_export():
    """Whether an ONNX export is under way."""
    return _exporting


def _import_onnx():
    try:
        import onnx  # deferred: optional dependency (onnx)
    except ImportError as e:
        raise ImportError(_EXTRA_MESSAGE) from e
    return onnx


def _ir_version(opset):
    import onnx  # deferred: optional dependency (onnx)
    table = {17: 8, 18: 9, 19: 9, 20: 10, 21: 10}
    return table.get(opset, onnx.IR_VERSION)


# ---------------------------------------------------------------------- arguments
def _split_args(args, kwargs):
    if isinstance(args, Tensor):
        args = (args,)
    elif not isinstance(args, tuple):
        args = tuple(args) if isinstance(args, list) else (args,)
    kwargs = dict(kwargs or {})
    if args and isinstance(args[-1], dict):
        kwargs = {**args[-1], **kwargs}
        args = args[:-1]
    return args, kwargs


def _flatten(obj, out):
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _flatten(item, out)
    elif isinstance(obj, dict):
        for item in obj.values():
            _flatten(item, out)
    return out


def _replace(obj, new, counter):
    """``obj`` with its tensors replaced, in flattening order, by ``new``."""
    if isinstance(obj, Tensor):
        counter[0] += 1
        return new[counter[0] - 1]
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*[_replace(o, new, counter) for o in obj])
    if isinstance(obj, (list, tuple)):
        return type(obj)(_replace(o, new, counter) for o in obj)
    if isinstance(obj, dict):
        return {k: _replace(v, new, counter) for k, v in obj.items()}
    return obj


def _default_input_names(model, args, kwargs):
    try:
        params = list(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):
        params = []
    names = []
    for i, a in enumerate(args):
        n = len(_flatten(a, []))
        base = params[i] if i < len(params) else f"input_{i}"
        names += [base] if n == 1 else [f"{base}_{j}" for j in range(n)]
    for k, v in kwargs.items():
        n = len(_flatten(v, []))
        names += [k] if n == 1 else [f"{k}_{j}" for j in range(n)]
    return names


def _dynamic_axes(dynamic_axes, names):
    """``{name: {axis: dim_name}}`` from either form PyTorch accepts."""
    result = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in names:
            warnings.warn(f"Provided key {name} for dynamic axes is not a valid input/output "
                          "name", stacklevel=3)
            continue
        if isinstance(axes, dict):
            result[name] = {int(a): str(d) for a, d in axes.items()}
        else:
            result[name] = {int(a): f"{name}_dynamic_axes_{i + 1}" for i, a in enumerate(axes)}
    return result


# ---------------------------------------------------------------------- export
def export(model, args=(), f=None, *, kwargs=None, verbose=None, input_names=None,
           output_names=None, opset_version=None, dynamo=True, external_data=True,
           dynamic_shapes=None, custom_translation_table=None, report=False, optimize=True,
           verify=False, profile=False, dump_exported_program=False, artifacts_dir=".",
           export_params=True, keep_initializers_as_inputs=False, dynamic_axes=None,
           training=TrainingMode.EVAL, operator_export_type=OperatorExportTypes.ONNX,
           do_constant_folding=True, custom_opsets=None, export_modules_as_functions=False,
           autograd_inlining=True):
    r"""Export ``model`` to an ONNX file that ONNX Runtime (or any ONNX backend) can run.

    The forward pass is traced with ``args`` (a tensor, a tuple of arguments, optionally ending
    with a dict of keyword arguments) and ``kwargs``; each op is written as standard ONNX
    operators (``opset_version``, 17 by default) and the parameters and buffers become
    initializers named after the ``state_dict`` keys. Python control flow is recorded for the
    example input, as PyTorch's tracer does.

    Args:
        model: the :class:`~numtorch.nn.Module` to export (in eval mode unless ``training``
            says otherwise).
        args: the example inputs.
        f: a path or a binary file-like object to write to; when None the ``onnx.ModelProto``
            is returned instead.
        input_names, output_names: names of the graph's inputs and outputs, in order.
        opset_version: the ONNX opset (17 or newer).
        dynamic_axes: ``{name: {axis: dim_name}}`` or ``{name: [axis, ...]}``: the axes of the
            named inputs/outputs that are symbolic (a batch or sequence dimension), so that the
            model runs on other sizes.
        export_params: store the parameters in the file (else they are graph inputs).
        do_constant_folding, dynamo, optimize, verbose: accepted; the graph written is the same.

    Before writing, the model is checked with ``onnx.checker.check_model(full_check=True)`` and
    run (with ONNX Runtime, or ONNX's reference evaluator) on the example input and on an input
    with other values (and other sizes along the dynamic axes); an export whose graph would
    not reproduce the model raises instead of writing a wrong file.

    Raises:
        ImportError: the ``onnx`` package (``numtorch[onnx]``) is not installed.
        RuntimeError: an op has no ONNX mapping (the message names the op and the module), or
            the traced graph does not reproduce the model.
    """
    global _exporting
    onnx = _import_onnx()
    for option, value, default in (("dynamic_shapes", dynamic_shapes, None),
                                   ("custom_translation_table", custom_translation_table, None),
                                   ("custom_opsets", custom_opsets, None),
                                   ("export_modules_as_functions", export_modules_as_functions,
                                    False),
                                   ("keep_initializers_as_inputs", keep_initializers_as_inputs,
                                    False)):
        if value != default:
            raise NotImplementedError(f"numtorch.onnx.export: {option} is not supported by "
                                      "numtorch (use dynamic_axes for symbolic dimensions)"
                                      if option == "dynamic_shapes" else
                                      f"numtorch.onnx.export: {option} is not supported by "
                                      "numtorch")
    if operator_export_type != OperatorExportTypes.ONNX:
        raise NotImplementedError("numtorch.onnx.export: only OperatorExportTypes.ONNX is "
                                  "supported")
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"numtorch.onnx.export: opset_version {opset} is not supported; use "
                         f"{MIN_OPSET} to {newest}")
    if not isinstance(model, Module):
        raise TypeError(f"numtorch.onnx.export: expected a numtorch.nn.Module, got "
                        f"{type(model).__name__}")
    args, kwargs = _split_args(args, kwargs)
    inputs = _flatten(list(args) + list(kwargs.values()), [])
    names_in = list(input_names or [])
    defaults = _default_input_names(model, args, kwargs)
    if len(names_in) > len(inputs):
        raise ValueError(f"numtorch.onnx.export: {len(names_in)} input_names for "
                         f"{len(inputs)} tensor inputs")
    names_in += defaults[len(names_in):]

    was_training = [(m, m.training) for m in model.modules()]
    if training == TrainingMode.TRAINING:
        model.train()
    elif training == TrainingMode.EVAL:
        model.eval()
    _exporting = True
    try:
        proto = _build(onnx, model, args, kwargs, inputs, names_in, output_names, dynamic_axes,
                       opset, export_params)
    finally:
        _exporting = False
        for m, mode in was_training:
            m.training = mode
    if f is None:
        return proto
    data = proto.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            fh.write(data)
    else:
        f.write(data)
    return None


def _build(onnx, model, args, kwargs, inputs, names_in, output_names, dynamic_axes, opset,
           export_params):
    from onnx import helper  # deferred: optional dependency (onnx)

    # deferred: cycle: _modules and _ops import _export
    from . import _modules, _ops  # noqa: F401  (register the mappings)

    with no_grad():
        probe = model(*args, **kwargs)
    outputs = _flatten(probe, [])
    if not outputs:
        raise ExportError("numtorch.onnx.export: the model returned no tensor")
    names_out = list(output_names or [])
    if len(names_out) > len(outputs):
        raise ValueError(f"numtorch.onnx.export: {len(names_out)} output_names for "
                         f"{len(outputs)} tensor outputs")
    names_out += ["output" if len(outputs) == 1 else f"output_{i}"
                  for i in range(len(names_out), len(outputs))]
    axes = _dynamic_axes(dynamic_axes, set(names_in) | set(names_out))
    symbolic = any(axes.get(n) for n in names_in)

    tr = Tracer(model, opset, symbolic, export_params)
    for tensor, name in zip(inputs, names_in):
        if id(tensor) in tr.values:
            raise ValueError("numtorch.onnx.export: the same tensor is passed as two inputs")
        tr.register(tensor, name)
    with no_grad(), tracing(tr):
        out = model(*args, **kwargs)
    results = _flatten(out, [])
    result_names = []
    with no_grad():
        for tensor in results:
            result_names.append(tr.v(tensor))

    graph_inputs = []
    for tensor, name in zip(inputs, names_in):
        array = tr.array(tensor)
        dims = [axes.get(name, {}).get(i, s) for i, s in enumerate(array.shape)]
        graph_inputs.append(helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(array.dtype), dims))
    for key in tr.param_inputs:
        array = tr.initializers[key]
        graph_inputs.append(helper.make_tensor_value_info(
            key, helper.np_dtype_to_tensor_dtype(array.dtype), list(array.shape)))

    # Name the outputs: rename the value where a node makes it, else copy it with Identity.
    produced = {o for node in tr.nodes for o in node[2]}
    renames, seen = {}, set()
    for internal, name in zip(result_names, names_out):
        if internal in produced and internal not in seen and internal not in names_in:
            renames[internal] = name
        else:
            tr.nodes.append(("Identity", [renames.get(internal, internal)], [name], {}, ""))
        seen.add(internal)
    if renames:
        tr.nodes = [(op, [renames.get(i, i) for i in ins], [renames.get(o, o) for o in outs],
                     attrs, scope) for op, ins, outs, attrs, scope in tr.nodes]
    value_outputs = [helper.make_tensor_value_info(
        name, helper.np_dtype_to_tensor_dtype(tr.array(t).dtype), None)
        for t, name in zip(results, names_out)]
    graph = tr.to_proto(type(model).__name__, graph_inputs, value_outputs)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="numtorch", producer_version=_version())
    proto.ir_version = _ir_version(opset)
    _set_output_shapes(onnx, proto, results, names_out, axes, symbolic, tr)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as e:
        raise ExportError(f"numtorch.onnx.export: the graph written for {type(model).__name__} "
                          f"is not valid ONNX: {e}") from e
    from ._verify import verify  # deferred: cycle: _verify imports _export
    verify(proto, model, args, kwargs, inputs, names_in, results, names_out, axes, tr)
    return proto


def _set_output_shapes(onnx, proto, results, names_out, axes, symbolic, tr):
    inferred = onnx.shape_inference.infer_shapes(proto)
    shapes = {o.name: o.type.tensor_type for o in inferred.graph.output}
    for out, tensor, name in zip(proto.graph.output, results, names_out):
        t = shapes.get(name)
        concrete = tr.array(tensor).shape
        out.type.tensor_type.shape.Clear()
        dims = out.type.tensor_type.shape.dim
        inferred_dims = list(t.shape.dim) if t is not None and t.HasField("shape") else None
        for i, size in enumerate(concrete):
            dim = dims.add()
            if i in axes.get(name, {}):
                dim.dim_param = axes[name][i]
            elif inferred_dims is not None and i < len(inferred_dims):
                dim.CopyFrom(inferred_dims[i])
            elif not symbolic:
                dim.dim_value = size


def _version():
    return __version__


