"""Helpers shared by the distributions: broadcasting parameters, probs <-> logits."""

import numpy as np

from .. import _dtype as dt
from .._creation import zeros
from .._tensor import Tensor
from ..ops import elementwise as ew
from ..ops import reduction as red
from ..ops.indexing import scatter

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs",
           "probs_to_logits", "tril_matrix_to_vec", "vec_to_tril_matrix"]


def broadcast_all(*values):
    """Broadcast tensors and numbers to one shape; numbers take the tensors' float dtype."""
    if not all(isinstance(v, (Tensor, int, float, np.number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number, "
                         "torch.Tensor or objects implementing __torch_function__.")
    tensors = [v for v in values if isinstance(v, Tensor)]
    npd = tensors[0]._data.dtype if tensors else dt.get_default_dtype()._np
    values = [v if isinstance(v, Tensor) else Tensor._wrap(np.asarray(v, dtype=npd))
              for v in values]
    shape = np.broadcast_shapes(*(v._data.shape for v in values))
    return tuple(v if v._data.shape == shape else v.expand(shape) for v in values)


def _eps(t):
    return float(np.finfo(t._data.dtype).eps)


def clamp_probs(probs):
    """Clamp probabilities into the open interval ``(0, 1)``."""
    eps = _eps(probs)
    return ew.clamp(probs, eps, 1 - eps)


def logits_to_probs(logits, is_binary=False):
    """Logits to probabilities: sigmoid when ``is_binary``, else softmax over the last dim."""
    if is_binary:
        return ew.sigmoid(logits)
    return red.softmax(logits, -1)


def probs_to_logits(probs, is_binary=False):
    """Probabilities to logits (``log p - log1p(-p)`` when ``is_binary``, else ``log p``)."""
    ps = clamp_probs(probs)
    if is_binary:
        return ew.sub(ew.log(ps), ew.log1p(ew.neg(ps)))
    return ew.log(ps)


class lazy_property:
    """A property computed once, on first access, and then stored on the instance."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def tril_matrix_to_vec(mat, diag=0):
    """The lower triangle (from diagonal ``diag``) of the last two dims, as a vector."""
    n = mat.shape[-1]
    rows, cols = np.tril_indices(n, diag)
    return mat[..., Tensor._wrap(rows), Tensor._wrap(cols)]


def vec_to_tril_matrix(vec, diag=0):
    """Inverse of :func:`tril_matrix_to_vec`."""
    m = vec.shape[-1]
    n = int(round((-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1))
                   ** 0.5) / 2))
    rows, cols = np.tril_indices(n, diag)
    flat = rows * n + cols
    out = zeros(tuple(vec.shape[:-1]) + (n * n,), dtype=vec.dtype)
    out = _scatter_last(out, flat, vec)
    return out.reshape(tuple(vec.shape[:-1]) + (n, n))


def _scatter_last(out, flat, vec):
    idx = Tensor._wrap(np.broadcast_to(flat, tuple(vec.shape)).copy())
    return scatter(out, -1, idx, vec)
