"""Running the exported graph against the model before the file is written.

A trace records one run; an op the exporter could not see (a function reached by a path that
was not intercepted, a tensor's data read into Python) would leave a constant where the graph
must compute. So the graph is run on the example input and on an input with other values (and
other sizes along the dynamic axes) and compared with the model's own outputs; any difference
fails the export rather than writing a wrong graph.
"""

import numpy as np

from .. import from_numpy, no_grad
from ._export import _flatten, _replace
from ._trace import ExportError

__all__ = ["verify", "session"]


def session(proto):
    """A callable ``run(output_names, feeds)`` for ``proto``: ONNX Runtime when installed, else
    ONNX's reference evaluator."""
    try:
        import onnxruntime as ort  # deferred: optional dependency (onnxruntime)
    except ImportError:
        from onnx.reference import ReferenceEvaluator  # deferred: optional dependency (onnx)
        evaluator = ReferenceEvaluator(proto)
        return lambda names, feeds: evaluator.run(names, feeds)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    sess = ort.InferenceSession(proto.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])
    return sess.run


def _guarded(run):
    def guarded(names, feeds):
        try:
            return run(names, feeds)
        except Exception as e:
            raise ExportError(f"numtorch.onnx.export: the traced graph does not reproduce the "
                              f"model: running it on an input of other values or sizes failed "
                              f"({e}); the forward pass depends on something the trace "
                              "recorded as a constant") from e
    guarded.__wrapped__ = run
    return guarded


def _eager(model, args, kwargs, new_inputs):
    tensors = [from_numpy(np.ascontiguousarray(a)) for a in new_inputs]
    counter = [0]
    new_args = _replace(tuple(args), tensors, counter)
    new_kwargs = _replace(dict(kwargs), tensors, counter)
    with no_grad():
        out = model(*new_args, **new_kwargs)
    return [np.asarray(t.detach().numpy()) for t in _flatten(out, [])]


def _close(got, want):
    if got.shape != want.shape:
        return False
    if want.dtype.kind in "biu":
        return np.array_equal(got, want)
    finite = np.isfinite(want)
    scale = float(np.max(np.abs(want[finite]))) if finite.any() else 1.0
    return bool(np.allclose(got, want, rtol=1e-3, atol=1e-5 * max(scale, 1.0), equal_nan=True))


def _other_values(array):
    """Other valid values: ids and masks moved by one place, floats also rescaled."""
    out = np.roll(array.reshape(-1), 1).reshape(array.shape) if array.size > 1 else array.copy()
    if array.dtype.kind == "f":
        out = (out * -0.75 + 0.125).astype(array.dtype)
    return out


def _resized(array, axes, delta):
    for axis in axes:
        n = array.shape[axis]
        m = n + delta
        if m < 1:
            return None
        array = np.take(array, np.arange(m) % n, axis=axis)
    return array


def _first_difference(proto, tr, feeds):
    """The first traced value (in the order of the trace) whose graph value differs from the
    value the model computed, as ``(module path, value name)``; None if none differs."""
    from onnx import helper  # deferred: optional dependency (onnx)
    names = [name for name, tensor in tr.values.values()
             if name in tr.scopes and name not in feeds]
    debug = type(proto)()
    debug.CopyFrom(proto)
    known = {o.name for o in debug.graph.output}
    produced = {o for node in debug.graph.node for o in node.output}
    extra = [n for n in names if n in produced and n not in known]
    for n in extra:
        debug.graph.output.append(helper.make_tensor_value_info(
            n, helper.np_dtype_to_tensor_dtype(tr.dtypes[n]), None))
    try:
        got = session(debug)(extra, feeds)
    except Exception:
        return None
    by_name = {name: tensor for name, tensor in tr.values.values()}
    for n, value in zip(extra, got):
        if not _close(np.asarray(value), tr.array(by_name[n])):
            return tr.scopes.get(n) or type(tr.model).__name__, n
    return None


def verify(proto, model, args, kwargs, inputs, names_in, results, names_out, axes, tr):
    run = _guarded(session(proto))
    params = {key: tr.initializers[key] for key in tr.param_inputs}
    originals = [tr.array(t) for t in inputs]
    expected = [tr.array(t) for t in results]
    feeds = {**dict(zip(names_in, originals)), **params}
    try:
        got = run.__wrapped__(names_out, feeds)
    except Exception as e:
        raise ExportError(f"numtorch.onnx.export: the exported graph fails to run on the example "
                          f"input ({e}); please report this as a numtorch bug") from e
    for name, g, want in zip(names_out, got, expected):
        if not _close(np.asarray(g), want):
            where = _first_difference(proto, tr, feeds)
            hint = f" (first differing value {where[1]!r} in module {where[0]!r})" if where \
                else ""
            raise ExportError(f"numtorch.onnx.export: the exported graph does not reproduce "
                              f"output {name!r} of the model on the example input{hint}; "
                              "please report this as a numtorch bug")
    # Other values, and other sizes along the dynamic axes.
    dynamic = [sorted(axes.get(n, {})) for n in names_in]
    attempts = [0]
    if any(dynamic):
        attempts = [1, -1]
    last_error = None
    for delta in attempts:
        new = []
        for array, dims in zip(originals, dynamic):
            resized = _resized(array, dims, delta) if delta else array
            if resized is None:
                new = None
                break
            new.append(_other_values(resized))
        if new is None:
            continue
        try:
            want = _eager(model, args, kwargs, new)
        except Exception as e:  # the model does not accept this size: try the other one
            last_error = e
            continue
        got = run(names_out, {**dict(zip(names_in, new)), **params})
        for name, g, w in zip(names_out, got, want):
            if not _close(np.asarray(g), w):
                what = "values and sizes along the dynamic axes" if delta else "values"
                raise ExportError(
                    f"numtorch.onnx.export: the traced graph does not reproduce output "
                    f"{name!r} for an input with other {what}: the forward pass depends on "
                    "something the trace recorded as a constant (Python control flow or "
                    "Python numbers computed from tensor data or sizes, or an operation the "
                    "exporter could not see)")
        return
    if last_error is not None:
        raise ExportError(f"numtorch.onnx.export: cannot check the dynamic axes: the model "
                          f"fails on an input of another size along them ({last_error})")
