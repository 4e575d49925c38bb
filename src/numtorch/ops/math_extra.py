"""Less common functions of the ``torch`` namespace: fused arithmetic, stacking, scans,
special functions, statistics, and the top-level aliases of ``torch.linalg``.

Most are composed from differentiable ops, so autograd comes free; elementwise functions whose
composition would allocate several temporaries have their own small backward node.
"""

import math
import warnings

import numpy as np

from .. import _dtype as dt
from .._size import Size
from .._tensor import Tensor
from ..autograd.grad_mode import _GradState
from ..autograd.node import Node
from . import elementwise as ew
from . import indexing as ix
from . import linalg as la
from . import reduction as rd
from . import shape as sh
from ._util import as_tensor_arg, attach, binary_operands, normalize_dims, shape_error, \
    unbroadcast, wrap_dim

_wrap = Tensor._wrap


# ---------------------------------------------------------------------------- linalg aliases
def _linalg():
    from .. import linalg
    return linalg


def det(input):
    """Alias of ``torch.linalg.det``."""
    return _linalg().det(input)


def inverse(input):
    """Alias of ``torch.linalg.inv``."""
    return _linalg().inv(input)


def slogdet(input):
    """``(sign, logabsdet)`` of square matrices (``torch.return_types.slogdet``)."""
    lg = _linalg()
    return lg.return_types.slogdet(*lg.slogdet(input))


def logdet(input):
    """Log-determinant; nan where the determinant is negative."""
    sign, logabs = _linalg().slogdet(input)
    return ix.where(ew.lt(sign, 0), _wrap(np.asarray(np.nan, logabs._data.dtype)), logabs)


def pinverse(input, rcond=1e-15):
    """Pseudo-inverse, singular values below ``rcond * S.max()`` dropped."""
    return _linalg().pinv(input, rtol=rcond)


def svd(input, some=True, compute_uv=True):
    """``(U, S, V)`` with ``V`` (not its transpose), reduced unless ``some=False``."""
    lg = _linalg()
    if not compute_uv:
        a = input._data
        m, n = a.shape[-2:]
        S = lg.svdvals(input)
        z = np.zeros(a.shape[:-2] + (m, m if not some else min(m, n)), a.dtype)
        zv = np.zeros(a.shape[:-2] + (n, n if not some else min(m, n)), a.dtype)
        return lg.return_types.svd(_wrap(z), S, _wrap(zv))
    U, S, Vh = lg.svd(input, full_matrices=not some)
    return lg.return_types.svd(U, S, sh.transpose(Vh, -2, -1))


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Alias of ``torch.nn.functional.cosine_similarity``."""
    from ..nn.functional import cosine_similarity as cs
    return cs(x1, x2, dim, eps)
