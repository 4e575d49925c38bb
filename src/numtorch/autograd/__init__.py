"""``numtorch.autograd``: reverse-mode automatic differentiation."""

from .. import _tensor
from . import graph  # noqa: F401
from .engine import run_backward
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .node import AccumulateGrad, Node

__all__ = ["Variable", "Function", "FunctionCtx", "backward", "grad", "no_grad", "enable_grad",
           "set_grad_enabled", "inference_mode", "gradcheck", "gradgradcheck", "Node",
           "AccumulateGrad", "GradcheckError", "once_differentiable", "is_grad_enabled",
           "is_inference_mode_enabled"]


class _VariableMeta(type):
    def __instancecheck__(cls, instance):
        return isinstance(instance, _tensor.Tensor)


class Variable(metaclass=_VariableMeta):
    """The pre-0.4 wrapper, kept as PyTorch keeps it: ``Variable(t)`` returns ``t`` itself
    (optionally marked ``requires_grad``), and every tensor is a ``Variable``."""

    def __new__(cls, data, requires_grad=False, volatile=False):
        if requires_grad:
            data.requires_grad_(True)
        return data


def _tensors(x):
    if isinstance(x, _tensor.Tensor):
        return [x]
    return list(x)


def _grads(grad_tensors, n):
    if grad_tensors is None:
        return [None] * n
    if isinstance(grad_tensors, _tensor.Tensor):
        return [grad_tensors]
    return list(grad_tensors)


_warned = {"create_graph": False}


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of graph leaves.

    With ``create_graph=True`` the backward pass is recorded, so the accumulated ``.grad``
    tensors can be differentiated again.
    """
    if retain_graph is None:
        retain_graph = create_graph
    tensors = _tensors(tensors)
    grads = _grads(grad_tensors if grad_tensors is not None else grad_variables, len(tensors))
    if create_graph and not _warned["create_graph"]:
        _warned["create_graph"] = True  # once per process, as PyTorch's TORCH_WARN_ONCE
        warnings.warn(
            "Using backward() with create_graph=True will create a reference cycle between the "
            "parameter and its gradient which can cause a memory leak. We recommend using "
            "autograd.grad when creating the graph to avoid this. If you have to use this "
            "function, make sure to reset the .grad fields of your parameters to None after use "
            "to break the cycle and avoid the leak.", UserWarning, stacklevel=3)
    if inputs is not None:
        inputs = _tensors(inputs)
        captured = run_backward(tensors, grads, bool(retain_graph), inputs=inputs, capture=True,
                                allow_unused=True, create_graph=create_graph)
        for t, g in zip(inputs, captured):
            if g is None:
                continue
            acc = t._grad_accumulator()
            if create_graph:
                with enable_grad():
                    acc.apply_graph([g])
            else:
                acc.apply([g])
        return
    run_backward(tensors, grads, bool(retain_graph), create_graph=create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return the gradients of ``outputs`` with respect to ``inputs`` (nothing is accumulated).

    With ``create_graph=True`` the returned gradients carry a graph and can be differentiated
    again (gradient penalties, Hessian-vector products, …).
    """
    if retain_graph is None:
        retain_graph = create_graph
    outputs = _tensors(outputs)
    inputs = _tensors(inputs)
    grads = _grads(grad_outputs, len(outputs))
    captured = run_backward(outputs, grads, bool(retain_graph), inputs=inputs, capture=True,
                            allow_unused=bool(allow_unused) or materialize_grads,
                            create_graph=create_graph)
    result = []
    for t, g in zip(inputs, captured):
        if g is None:
            result.append(_tensor.Tensor._wrap(np.zeros_like(t._data))
                          if materialize_grads else None)
        elif create_graph:
            result.append(g if g._data.dtype == t._data.dtype else g.to(t.dtype))
        else:
            result.append(_tensor.Tensor._wrap(g if g.dtype == t._data.dtype
                                               else g.astype(t._data.dtype)))
    return tuple(result)


import warnings  # noqa: E402

import numpy as np  # noqa: E402
