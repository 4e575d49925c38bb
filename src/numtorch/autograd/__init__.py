"""``numtorch.autograd``: reverse-mode automatic differentiation."""

from .. import _tensor
from . import functional, graph  # noqa: F401
from .anomaly_mode import detect_anomaly, set_detect_anomaly
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
from .gradcheck import GradcheckError, gradcheck
from .node import AccumulateGrad, Node

__all__ = ["Variable", "Function", "FunctionCtx", "backward", "grad", "no_grad", "enable_grad",
           "set_grad_enabled", "inference_mode", "gradcheck", "Node", "AccumulateGrad",
           "GradcheckError", "once_differentiable", "is_grad_enabled",
           "is_inference_mode_enabled", "detect_anomaly", "set_detect_anomaly"]


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


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of graph leaves."""
    if create_graph:
        raise NotImplementedError(
            "create_graph=True (higher-order gradients) is not supported by numtorch")
    tensors = _tensors(tensors)
    grads = _grads(grad_tensors if grad_tensors is not None else grad_variables, len(tensors))
    if inputs is not None:
        inputs = _tensors(inputs)
        captured = run_backward(tensors, grads, bool(retain_graph), inputs=inputs, capture=True,
                                allow_unused=True)
        for t, g in zip(inputs, captured):
            if g is None:
                continue
            t._grad_accumulator().apply([g])
        return
    run_backward(tensors, grads, bool(retain_graph))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return the gradients of ``outputs`` with respect to ``inputs`` (nothing is accumulated)."""
    if create_graph:
        raise NotImplementedError(
            "create_graph=True (higher-order gradients) is not supported by numtorch")
    outputs = _tensors(outputs)
    inputs = _tensors(inputs)
    grads = _grads(grad_outputs, len(outputs))
    captured = run_backward(outputs, grads, bool(retain_graph), inputs=inputs, capture=True,
                            allow_unused=bool(allow_unused) or materialize_grads)
    result = []
    for t, g in zip(inputs, captured):
        if g is None:
            result.append(_tensor.Tensor._wrap(np.zeros_like(t._data))
                          if materialize_grads else None)
        else:
            result.append(_tensor.Tensor._wrap(g if g.dtype == t._data.dtype
                                               else g.astype(t._data.dtype)))
    return tuple(result)


import numpy as np  # noqa: E402
