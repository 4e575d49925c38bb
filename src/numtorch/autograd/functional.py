"""``torch.autograd.functional``: Jacobians, Hessians and their products for functions of
tensors, computed with ``autograd.grad``.

``jvp`` uses the double-backward trick (the vjp ``u -> J^T u`` recorded with ``create_graph``,
then differentiated with respect to ``u`` along ``v``); where higher-order gradients are not
available it falls back to building ``J`` row by row. ``hvp`` returns ``H v`` computed as
``v^T H`` (the Hessian of a twice-differentiable function is symmetric), which needs one
double backward instead of three. ``vectorize=True`` gives the same values through the same
loop (numtorch has no batched backward), and ``strategy="forward-mode"`` the same Jacobian.
"""

import numpy as np

from .. import _tensor
from .. import autograd as _autograd  # the package imports this module: grad() at call time
from .grad_mode import _GradState, enable_grad, set_grad_enabled

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _no_double_backward(error):
    """Whether ``error`` says an op's gradient cannot be differentiated again (its backward is
    not written with differentiable ops, see ``autograd.node.DelayedError``)."""
    return isinstance(error, NotImplementedError) or (
        isinstance(error, RuntimeError)
        and "is not implemented with differentiable operations" in str(error))


def _as_tuple(inp, arg_name, fn_name):
    if isinstance(inp, _tensor.Tensor):
        return False, (inp,)
    if not isinstance(inp, tuple):
        raise TypeError(
            f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but "
            f"the given {arg_name} has type {type(inp)}.")
    for i, el in enumerate(inp):
        if not isinstance(el, _tensor.Tensor):
            raise TypeError(
                f"The element {i} of {arg_name} given to {fn_name} must be either a Tensor or a "
                f"tuple of Tensors but the given element has type {type(el)}.")
    return True, inp


def _tuple_postprocess(res, to_unpack):
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _preprocess(inputs, create_graph, need_graph):
    """Inputs this call differentiates with respect to: connected to the caller's graph when
    ``create_graph``, fresh leaves otherwise."""
    out = []
    for inp in inputs:
        if create_graph and inp._requires_grad:
            out.append(inp.view_as(inp))
        else:
            d = inp.detach()
            if need_graph:
                d.requires_grad_(True)
            out.append(d)
    return tuple(out)


def _postprocess(tensors, create_graph):
    if isinstance(tensors[0], _tensor.Tensor):
        return tuple(t if create_graph else t.detach() for t in tensors)
    return tuple(_postprocess(t, create_graph) for t in tensors)


def _validate_v(v, other, is_other_tuple):
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(
                f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if tuple(el_v.shape) != tuple(el_other.shape):
            prefix = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(
                f"{prefix}v has invalid size: should be {el_other.shape} but got {el_v.shape}.")


def _check_requires_grad(inputs, input_type, strict):
    if not strict:
        return
    for i, inp in enumerate(inputs):
        if inp is None or not inp._requires_grad:
            if input_type == "hessian":
                raise RuntimeError(
                    f"The hessian of the user-provided function with respect to input {i} is "
                    "independent of the input. This is not allowed in strict mode. You should "
                    "ensure that your function is thrice differentiable and that the hessian "
                    "depends on the inputs.")
            if input_type == "jacobian":
                raise RuntimeError(
                    "While computing the hessian, found that the jacobian of the user-provided "
                    f"function with respect to input {i} is independent of the input. This is "
                    "not allowed in strict mode. You should ensure that your function is twice "
                    "differentiable and that the jacobian depends on the inputs (this would be "
                    "violated by a linear function for example).")
            if input_type == "grad_inputs":
                raise RuntimeError(
                    f"The gradient with respect to input {i} is independent of the inputs of "
                    "the user-provided function.")
            raise RuntimeError(
                f"Output {i} of the user-provided function does not require gradients. The "
                "outputs must be computed in a differentiable manner from the input when running "
                "in strict mode.")


def _grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    grad = _autograd.grad
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o._requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return grad([o for o, _ in pairs], inputs, [g for _, g in pairs], allow_unused=True,
                create_graph=create_graph, retain_graph=retain_graph)


def _fill_in_zeros(grads, refs, strict, create_graph, stage):
    res = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                if stage == "back":
                    raise RuntimeError(
                        "The output of the user-provided function is independent of input "
                        f"{i}. This is not allowed in strict mode.")
                if stage == "back_trick":
                    raise RuntimeError(
                        "The gradient with respect to the input is independent of entry "
                        f"{i} in the grad_outputs when using the double backward trick to "
                        "compute forward mode gradients. This is not allowed in strict mode.")
                if stage == "double_back":
                    raise RuntimeError(
                        f"The jacobian of the user-provided function is independent of input "
                        f"{i}. This is not allowed in strict mode.")
                raise RuntimeError(
                    "The hessian of the user-provided function is independent of entry "
                    f"{i} in the grad_jacobian. This is not allowed in strict mode as it "
                    "prevents from using the double backward trick to replace forward mode AD.")
            g = _tensor.Tensor._wrap(np.zeros_like(ref._data))
        elif strict and create_graph and not g._requires_grad:
            if "double" not in stage:
                raise RuntimeError(
                    "The jacobian of the user-provided function is independent of input "
                    f"{i}. This is not allowed in strict mode when create_graph=True.")
            raise RuntimeError(
                "The hessian of the user-provided function is independent of input "
                f"{i}. This is not allowed in strict mode when create_graph=True.")
        res.append(g)
    return tuple(res)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """Compute the dot product between a vector ``v`` and the Jacobian of ``func`` at
    ``inputs``.

    Returns:
        ``(func_output, vjp)``: ``vjp`` has the structure of ``inputs``.
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _preprocess(inputs, create_graph, need_graph=True)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(
            outputs, "outputs of the user-provided function", "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        if v is not None:
            _, v = _as_tuple(v, "v", "vjp")
            v = _preprocess(v, create_graph, need_graph=False)
            _validate_v(v, outputs, is_outputs_tuple)
        elif len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the user-provided function returns a single "
                "Tensor with a single element.")
    with set_grad_enabled(True if create_graph else _GradState.enabled):
        grad_res = _grad(outputs, inputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "back")
    outputs = _postprocess(outputs, create_graph)
    result = _postprocess(result, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(result,
                                                                             is_inputs_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """Compute the dot product between the Jacobian of ``func`` at ``inputs`` and a vector
    ``v``.

    Returns:
        ``(func_output, jvp)``: ``jvp`` has the structure of the outputs.
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _preprocess(inputs, create_graph, need_graph=True)
        if v is not None:
            _, v = _as_tuple(v, "v", "jvp")
            v = _preprocess(v, create_graph, need_graph=False)
            _validate_v(v, inputs, is_inputs_tuple)
        elif len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the input to the user-provided function is a "
                "single Tensor with a single element.")
        else:
            v = (_tensor.Tensor._wrap(np.ones_like(inputs[0]._data)),)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(
            outputs, "outputs of the user-provided function", "jvp")
        _check_requires_grad(outputs, "outputs", strict)
        try:
            grad_outputs = tuple(_tensor.Tensor._wrap(np.zeros_like(o._data), requires_grad=True)
                                 for o in outputs)
            grad_inputs = _grad(outputs, inputs, grad_outputs, create_graph=True)
            _check_requires_grad(grad_inputs, "grad_inputs", strict)
            with set_grad_enabled(True if create_graph else _GradState.enabled):
                grad_res = _grad(grad_inputs, grad_outputs, v, create_graph=create_graph)
                result = _fill_in_zeros(grad_res, outputs, strict, create_graph, "back_trick")
        except (NotImplementedError, RuntimeError) as e:
            if not _no_double_backward(e):
                raise
            # An op without a differentiable backward: J row by row, then J @ v.
            jac = _jacobian_rows(outputs, inputs, create_graph, strict)
            result = []
            for o, rows in zip(outputs, jac):
                total = _tensor.Tensor._wrap(np.zeros(o.numel(), dtype=o._data.dtype))
                for j, t, x in zip(rows, v, inputs):
                    total = total + j.reshape(o.numel(), x.numel()) @ t.reshape(x.numel())
                result.append(total.reshape(tuple(o.shape)))
            result = tuple(result)
    outputs = _postprocess(outputs, create_graph)
    result = _postprocess(result, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(result,
                                                                             is_outputs_tuple)


def _jacobian_rows(outputs, inputs, create_graph, strict):
    """For each output, one Jacobian ``out.shape + in.shape`` per input: one backward pass per
    output element."""
    # deferred: cycle: ops builds on the autograd core (upward import, tests/test_import_layers.py)
    from ..ops.shape import stack
    jacobian = []
    for i, out in enumerate(outputs):
        columns = [[] for _ in inputs]
        n = out.numel()
        for e in range(n):
            basis = np.zeros(n, dtype=out._data.dtype)
            basis[e] = 1
            vj = _grad((out,), inputs, (_tensor.Tensor._wrap(basis.reshape(out._data.shape)),),
                       retain_graph=True, create_graph=create_graph)
            for k, (col, g, inp) in enumerate(zip(columns, vj, inputs)):
                if g is not None:
                    if strict and create_graph and not g._requires_grad:
                        raise RuntimeError(
                            "The jacobian of the user-provided function is independent of "
                            f"input {i}. This is not allowed in strict mode when "
                            "create_graph=True.")
                    col.append(g)
                else:
                    if strict:
                        raise RuntimeError(
                            f"Output {i} of the user-provided function is independent of input "
                            f"{k}. This is not allowed in strict mode.")
                    col.append(_tensor.Tensor._wrap(np.zeros_like(inp._data)))
        row = []
        for col, inp in zip(columns, inputs):
            shape = tuple(out.shape) + tuple(inp.shape)
            if n == 0:
                row.append(_tensor.Tensor._wrap(np.zeros(shape, dtype=out._data.dtype)))
            else:
                row.append(stack(col).reshape(shape))
        jacobian.append(tuple(row))
    return tuple(jacobian)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """Compute the Jacobian of ``func`` at ``inputs``.

    Returns:
        A Tensor when ``func`` has one input and one output; a tuple over inputs (or outputs)
        when there are several; a tuple (outputs) of tuples (inputs) when both are tuples.
        Entry ``[i][j]`` has shape ``output_i.shape + input_j.shape``.
    """
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
            'function has more outputs than inputs, "forward-mode" tends to be more performant. '
            'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and "
                "`strategy=\"forward-mode\"` are not supported together (yet). Please either "
                "set `create_graph=False` or `strategy=\"reverse-mode\"`.")
        if not vectorize:
            raise NotImplementedError(
                "Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
                "only implemented for `vectorize=True`.")
    if vectorize and strict:
        raise RuntimeError(
            "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
            "supported together. Please either set `strict=False` or `vectorize=False`.")
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _preprocess(inputs, create_graph, need_graph=True)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(
            outputs, "outputs of the user-provided function", "jacobian")
        _check_requires_grad(outputs, "outputs", strict)
        jac = _jacobian_rows(outputs, inputs, create_graph, strict)
    jac = _postprocess(jac, create_graph)
    result = _tuple_postprocess(jac, (is_outputs_tuple, is_inputs_tuple))
    if strategy == "forward-mode" and is_inputs_tuple:
        # PyTorch's forward-mode path returns lists where the reverse-mode one returns tuples.
        result = [list(r) for r in result] if is_outputs_tuple else list(result)
    return result


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """Compute the Hessian of the scalar function ``func`` at ``inputs``.

    Returns:
        A Tensor for a single input; for a tuple of inputs a tuple of tuples whose entry
        ``[i][j]`` has shape ``input_i.shape + input_j.shape``.
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def single_output(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict)
        if is_out_tuple or not isinstance(out, _tensor.Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError(
                "The Tensor returned by the function given to hessian should contain a single "
                "element")
        return out.squeeze()

    def jac_func(*inp):
        if outer_jacobian_strategy == "forward-mode":
            inp = tuple(t.requires_grad_(True) if not t._requires_grad else t for t in inp)
        jac = jacobian(single_output, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict,
                   vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))


def _single_output(func, inputs, name, strict):
    outputs = func(*inputs)
    is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", name)
    _check_requires_grad(outputs, "outputs", strict)
    if is_outputs_tuple or not isinstance(outputs[0], _tensor.Tensor):
        raise RuntimeError(f"The function given to {name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(
            f"The Tensor returned by the function given to {name} should contain a single element")
    return outputs


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """Compute the dot product between vector ``v`` and the Hessian of the scalar function
    ``func`` at ``inputs``.

    Returns:
        ``(func_output, vhp)``: ``vhp`` has the structure of ``inputs``.
    """
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """Compute the dot product between the Hessian of the scalar function ``func`` at
    ``inputs`` and vector ``v`` (equal to :func:`vhp`: the Hessian is symmetric).

    Returns:
        ``(func_output, hvp)``: ``hvp`` has the structure of ``inputs``.
    """
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func, inputs, v, create_graph, strict, name):
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", name)
        inputs = _preprocess(inputs, create_graph, need_graph=True)
        if v is not None:
            _, v = _as_tuple(v, "v", name)
            v = _preprocess(v, create_graph, need_graph=False)
            _validate_v(v, inputs, is_inputs_tuple)
        elif len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the input to the user-provided function is a "
                "single Tensor with a single element.")
        outputs = _single_output(func, inputs, name, strict)
        jac = _grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
    with set_grad_enabled(True if create_graph else _GradState.enabled):
        grad_res = _grad(jac, inputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "double_back")
    outputs = _postprocess(outputs, create_graph)
    result = _postprocess(result, create_graph)
    return _tuple_postprocess(outputs, False), _tuple_postprocess(result, is_inputs_tuple)
