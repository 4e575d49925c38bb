"""Complex views: view_as_real, view_as_complex and conj, each the other's gradient.

PyTorch's convention for complex gradients holds throughout: the gradient of a real loss with
respect to ``z = x + iy`` is ``dL/dx + i dL/dy``, so the gradient through ``view_as_real`` is
``view_as_complex`` of the incoming gradient and the gradient of ``conj`` is its ``conj``.
"""

import numpy as np

from ._formulas import is_array
from ._registry import declare, formula

__all__ = ["view_as_real", "view_as_complex", "conj", "resolve_conj", "is_conj"]

_REAL = {np.dtype(np.complex64): np.dtype(np.float32),
         np.dtype(np.complex128): np.dtype(np.float64)}
_COMPLEX = {v: k for k, v in _REAL.items()}


def _as_real(x):
    return np.ascontiguousarray(x).view(_REAL[x.dtype]).reshape(*x.shape, 2)


def _as_complex(x):
    return np.ascontiguousarray(x).view(_COMPLEX[x.dtype]).reshape(x.shape[:-1])


@formula("ViewAsRealBackward0")
def ViewAsRealBackward0(ctx, g):
    return (_as_complex(g) if is_array(g) else view_as_complex(g),)


@formula("ViewAsComplexBackward0")
def ViewAsComplexBackward0(ctx, g):
    return (_as_real(g) if is_array(g) else view_as_real(g),)


@formula("ConjBackward0")
def ConjBackward0(ctx, g):
    return (np.conj(g) if is_array(g) else conj(g),)


def view_as_real(input):
    """A real view of a complex tensor, the real and imaginary parts in a last dim of size 2."""
    x = input._data
    if x.dtype not in _REAL:
        raise RuntimeError("view_as_real is only supported for complex tensors")
    out = _as_real(x)
    result = ViewAsRealBackward0.record(out, (input,))
    if np.shares_memory(out, x):
        input._share_version(result)
    return result


def view_as_complex(input):
    """A complex view of a real tensor whose last dim (of size 2) holds real and imaginary."""
    x = input._data
    if x.dtype not in _COMPLEX:
        raise RuntimeError(f"view_as_complex is only supported for float and double tensors, "
                           f"but got a tensor of scalar type: {input.dtype}")
    if x.ndim == 0 or x.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    out = _as_complex(x)
    result = ViewAsComplexBackward0.record(out, (input,))
    if np.shares_memory(out, x):
        input._share_version(result)
    return result


def conj(input):
    """The complex conjugate (a real tensor is returned as is)."""
    x = input._data
    if x.dtype.kind != "c":
        return input
    return ConjBackward0.record(np.conj(x), (input,))


declare(view_as_real, method=False, nodes=(ViewAsRealBackward0,))
declare(view_as_complex, method=False, nodes=(ViewAsComplexBackward0,))
declare(conj, nodes=(ConjBackward0,))



def resolve_conj(input):
    """``input`` itself: numtorch's conj is computed at once, never a lazy conjugate view."""
    return input


def is_conj(input):
    """False: no numtorch tensor is a lazy conjugate view."""
    return False


declare(resolve_conj)
declare(is_conj)
