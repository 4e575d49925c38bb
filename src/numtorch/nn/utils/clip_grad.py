"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_``."""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _as_list(tensors: Tensor | Iterable[Tensor]) -> list[Tensor]:
    if isinstance(tensors, Tensor):
        return [tensors]
    return list(tensors)


def _vector_norm(array, norm_type):
    """The ``norm_type``-norm of all entries of ``array`` (as a 0-d array of its dtype)."""
    if norm_type == 2 and array.dtype.kind != "c":  # a * a is |a| * |a|: no abs pass
        return np.sqrt(np.sum(array * array))
    a = np.abs(array)
    if norm_type == float("inf"):
        return a.max(initial=0)
    if norm_type == -float("inf"):
        return a.min()
    if norm_type == 0:
        return np.asarray((a != 0).sum(), dtype=array.dtype)
    if norm_type == 1:
        return a.sum()
    p = array.dtype.type(norm_type)
    return np.sum(a ** p) ** (1 / p)


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` together, as if concatenated into one vector."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return Tensor._wrap(np.asarray(0.0, dtype=np.float32))
    norms = np.stack([np.asarray(_vector_norm(t._data, norm_type)) for t in tensors])
    total = np.asarray(_vector_norm(norms, norm_type), dtype=tensors[0]._data.dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the gradients "
            "by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return Tensor._wrap(total)


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                          total_norm: Tensor, foreach: bool | None = None) -> None:
    """Scale the gradients of ``parameters`` by ``max_norm / (total_norm + 1e-6)`` if below 1."""
    params = _as_list(parameters)
    grads = [p._grad for p in params if p._grad is not None]
    if not grads:
        return
    total = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    with no_grad():
        for g in grads:
            g._data *= g._data.dtype.type(coef)
            g._bump_version()


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    r"""Clip the gradient norm of an iterable of parameters, in place.

    The norm is computed over all gradients together, as if they were concatenated into a
    single vector; if it exceeds ``max_norm`` every gradient is scaled by
    ``max_norm / (total_norm + 1e-6)``.

    Args:
        parameters: a Tensor or an iterable of Tensors whose gradients are clipped
        max_norm: max norm of the gradients
        norm_type: type of the p-norm (``'inf'`` for the infinity norm). Default ``2.0``.
        error_if_nonfinite: raise if the total norm is nan or inf. Default ``False``.
        foreach: accepted for compatibility (ignored).

    Returns:
        Total norm of the parameter gradients (viewed as a single vector).
    """
    params = _as_list(parameters)
    grads = [p._grad for p in params if p._grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`clip_grad_norm_`."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    r"""Clamp every gradient of ``parameters`` to ``[-clip_value, clip_value]``, in place."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            g = p._grad
            if g is not None:
                np.clip(g._data, -clip_value, clip_value, out=g._data)
                g._bump_version()
